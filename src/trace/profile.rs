//! Profile aggregation: a [`Listener`] that counts instructions per function and pc, calls per
//! function, and inclusive and exclusive time, gas and instructions per function, with
//! recursion handled so that a function's inclusive figures count only its outermost
//! activation.

use std::collections::BTreeMap;

use super::actions::{ActionCosts, ActionReport};
use super::event::{FuncId, Phase, RunOutcome, TraceEvent};
use super::sink::Listener;

/// Time, gas and instructions at one moment (or elapsed between two).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Cost {
    /// Nanoseconds.
    pub ns: u64,
    /// Gas.
    pub gas: u64,
    /// Instructions (from the counts that call, return and error events carry, and one by
    /// one when instruction events are on).
    pub instructions: u64,
}

impl Cost {
    fn since(self, start: Cost) -> Cost {
        Cost {
            ns: self.ns.saturating_sub(start.ns),
            gas: self.gas.saturating_sub(start.gas),
            instructions: self.instructions.saturating_sub(start.instructions),
        }
    }

    fn add(&mut self, other: Cost) {
        self.ns = self.ns.saturating_add(other.ns);
        self.gas = self.gas.saturating_add(other.gas);
        self.instructions = self.instructions.saturating_add(other.instructions);
    }
}

/// What one function cost.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct FuncProfile {
    /// Display name (from the first call seen; `<main>` for function 0).
    pub name: String,
    /// Times the function was entered (1 for the top level).
    pub calls: u64,
    /// Cost of the function and everything it called, counting only outermost activations
    /// of recursive functions.
    pub inclusive: Cost,
    /// Cost of the function's own instructions, callees excluded.
    pub exclusive: Cost,
    /// Executions of each instruction, indexed by pc (empty without instruction events).
    pub pc_counts: Vec<u64>,
}

/// What happened to one loop, as seen in the event stream.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct LoopEvents {
    /// Back-edges counted when the loop became hot (None if it never did).
    pub hot_at: Option<u64>,
    /// Outcome of the JIT's attempt, if one was reported.
    pub compiled: Option<bool>,
    /// Why the JIT refused the loop, if it said.
    pub refused_because: Option<String>,
    /// Native code bytes reported by the JIT.
    pub native_bytes: u64,
    /// Exits from native code through a guard.
    pub bailouts: u64,
}

/// A finished (or snapshotted) profile.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Profile {
    /// Per function, indexed by [`FuncId`] (functions never entered have `calls == 0`).
    pub functions: Vec<FuncProfile>,
    /// Per loop, keyed by (function, loop index).
    pub loops: BTreeMap<(FuncId, u16), LoopEvents>,
    /// Nanoseconds spent in each pipeline phase (summed over units), in the order each first ended.
    pub phases: Vec<(Phase, u64)>,
    /// How the run ended (None while it runs).
    pub outcome: Option<RunOutcome>,
    /// The error message, if the run failed.
    pub error: Option<String>,
    /// Instructions executed (from the VM's counters at the end, else as counted).
    pub instructions: u64,
    /// Gas used.
    pub gas: u64,
    /// Nanoseconds from the start of the run to its end (or the latest event).
    pub run_ns: u64,
    /// Whether instructions were counted one by one.
    pub counted_instructions: bool,
    /// The gas report: per contract action, its external calls (from `action_end` events).
    pub actions: ActionCosts,
}

impl Profile {
    /// Takes per-instruction counts from the VM's exact execution counts (per function id,
    /// per pc; see `engine::counts`) instead of instruction events, which need single-stepping.
    pub fn set_exec_counts(&mut self, counts: Vec<Vec<u64>>) {
        for (id, per_pc) in counts.into_iter().enumerate() {
            if self.functions.len() <= id {
                if per_pc.iter().all(|&n| n == 0) {
                    continue;
                }
                self.functions.resize_with(id + 1, FuncProfile::default);
            }
            if let Some(f) = self.functions.get_mut(id) {
                f.pc_counts = per_pc;
            }
        }
        self.counted_instructions = true;
    }
}

#[derive(Debug, Clone, Copy)]
struct Activation {
    func: FuncId,
    start: Cost,
    callees: Cost,
}

/// The profiler. Attach it to an [`super::EventSink`] in a `Rc<RefCell<_>>` and read
/// [`Profiler::profile`] after (or during) the run.
#[derive(Debug, Clone, Default)]
pub struct Profiler {
    count_instructions: bool,
    functions: Vec<FuncProfile>,
    /// Activations on the stack per function (to credit inclusive cost only once).
    active: Vec<u32>,
    stack: Vec<Activation>,
    now: Cost,
    run_start_ns: Option<u64>,
    loops: BTreeMap<(FuncId, u16), LoopEvents>,
    phases: Vec<(Phase, u64)>,
    open_phases: Vec<(Phase, u64)>,
    outcome: Option<RunOutcome>,
    error: Option<String>,
    final_instructions: Option<u64>,
    actions: ActionCosts,
}

impl Profiler {
    /// A profiler that also counts every instruction (exact per-pc and per-line counts; the
    /// VM runs several times slower).
    pub fn new() -> Profiler {
        Profiler { count_instructions: true, ..Profiler::default() }
    }

    /// A profiler of calls, time, gas and per-function instructions, without per-instruction
    /// counts (cheap; [`Profile::set_exec_counts`] can add them from the VM's block counts).
    pub fn calls_only() -> Profiler {
        Profiler::default()
    }

    fn func_mut(&mut self, func: FuncId) -> &mut FuncProfile {
        let idx = func as usize;
        if self.functions.len() <= idx {
            self.functions.resize_with(idx + 1, FuncProfile::default);
            self.active.resize(idx + 1, 0);
        }
        &mut self.functions[idx]
    }

    fn enter(&mut self, func: FuncId, name: &str) {
        let now = self.now;
        let stats = self.func_mut(func);
        stats.calls += 1;
        if stats.name.is_empty() {
            stats.name = name.to_string();
        }
        if let Some(active) = self.active.get_mut(func as usize) {
            *active += 1;
        }
        self.stack.push(Activation { func, start: now, callees: Cost::default() });
    }

    fn leave(&mut self) {
        let Some(act) = self.stack.pop() else { return };
        let elapsed = self.now.since(act.start);
        let own = elapsed.since(act.callees);
        if let Some(parent) = self.stack.last_mut() {
            parent.callees.add(elapsed);
        }
        let outermost = match self.active.get_mut(act.func as usize) {
            Some(active) => {
                *active = active.saturating_sub(1);
                *active == 0
            }
            None => true,
        };
        let stats = self.func_mut(act.func);
        stats.exclusive.add(own);
        if outermost {
            stats.inclusive.add(elapsed);
        }
    }

    fn ensure_main(&mut self) {
        if self.stack.is_empty() && self.outcome.is_none() {
            if self.run_start_ns.is_none() {
                self.run_start_ns = Some(self.now.ns);
            }
            self.enter(0, "<main>");
        }
    }

    fn unwind_all(&mut self) {
        while !self.stack.is_empty() {
            self.leave();
        }
    }

    /// The profile so far. Activations still open are closed at the latest event's time in
    /// the copy, so a paused run gives a consistent snapshot.
    pub fn profile(&self) -> Profile {
        let mut copy = self.clone();
        copy.unwind_all();
        let run_ns = copy.now.ns.saturating_sub(copy.run_start_ns.unwrap_or(copy.now.ns));
        Profile {
            functions: copy.functions,
            loops: copy.loops,
            phases: copy.phases,
            outcome: copy.outcome,
            error: copy.error,
            instructions: copy.final_instructions.unwrap_or(copy.now.instructions),
            gas: copy.now.gas,
            run_ns,
            counted_instructions: copy.count_instructions,
            actions: copy.actions,
        }
    }
}

impl Listener for Profiler {
    fn on_event(&mut self, at_ns: u64, event: &TraceEvent<'_>) {
        self.now.ns = self.now.ns.max(at_ns);
        match *event {
            TraceEvent::Instr { func, pc, .. } => {
                self.ensure_main();
                self.now.instructions += 1;
                let counts = &mut self.func_mut(func).pc_counts;
                let idx = pc as usize;
                if counts.len() <= idx {
                    counts.resize(idx + 1, 0);
                }
                counts[idx] += 1;
            }
            TraceEvent::Call { func, name, gas, instructions, .. } => {
                self.ensure_main();
                self.now.gas = self.now.gas.max(gas);
                self.now.instructions = self.now.instructions.max(instructions);
                self.enter(func, name);
            }
            TraceEvent::Return { gas, instructions, .. } => {
                self.now.gas = self.now.gas.max(gas);
                self.now.instructions = self.now.instructions.max(instructions);
                // The top-level activation only ends with the run.
                if self.stack.len() > 1 {
                    self.leave();
                }
            }
            TraceEvent::RunStart => {
                self.run_start_ns = Some(at_ns);
                self.outcome = None;
                self.ensure_main();
            }
            TraceEvent::Error { message, gas, instructions, .. } => {
                self.now.gas = self.now.gas.max(gas);
                self.now.instructions = self.now.instructions.max(instructions);
                self.error = Some(message.to_string());
                self.outcome = Some(RunOutcome::Error);
                self.unwind_all();
            }
            TraceEvent::RunEnd { outcome, instructions, gas } => {
                self.now.gas = self.now.gas.max(gas);
                self.final_instructions = Some(instructions);
                self.now.instructions = self.now.instructions.max(instructions);
                self.unwind_all();
                self.outcome = Some(outcome);
            }
            TraceEvent::Counters { gas, .. } => self.now.gas = self.now.gas.max(gas),
            TraceEvent::PhaseBegin { phase } => self.open_phases.push((phase, at_ns)),
            TraceEvent::PhaseEnd { phase } => {
                if let Some(pos) = self.open_phases.iter().rposition(|(p, _)| *p == phase) {
                    let (_, start) = self.open_phases.remove(pos);
                    let took = at_ns.saturating_sub(start);
                    // A phase that runs once per compiled unit is reported as its total.
                    match self.phases.iter_mut().find(|(p, _)| *p == phase) {
                        Some((_, total)) => *total += took,
                        None => self.phases.push((phase, took)),
                    }
                }
            }
            TraceEvent::LoopHot { func, loop_id, iterations } => {
                self.loops.entry((func, loop_id)).or_default().hot_at = Some(iterations);
            }
            TraceEvent::JitCompileEnd { func, loop_id, compiled, native_bytes, reason } => {
                let entry = self.loops.entry((func, loop_id)).or_default();
                entry.compiled = Some(compiled);
                entry.native_bytes = native_bytes;
                entry.refused_because = reason.map(str::to_string);
            }
            TraceEvent::JitBailout { func, loop_id, .. } => {
                self.loops.entry((func, loop_id)).or_default().bailouts += 1;
            }
            TraceEvent::ActionEnd { func, name, depth, outcome, gas_used, instructions } => {
                let report = ActionReport {
                    func,
                    name: name.to_string(),
                    depth,
                    tx_depth: 0,
                    outcome: Some(outcome),
                    gas: gas_used,
                    instructions,
                };
                self.actions.add(&report);
            }
            _ => {}
        }
    }

    fn wants_instructions(&self) -> bool {
        self.count_instructions
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::event::ArgList;

    fn call(p: &mut Profiler, at: u64, func: FuncId, name: &str) {
        p.on_event(at, &TraceEvent::Call { func, name, depth: 0, gas: 0, instructions: 0, args: ArgList::EMPTY });
    }

    fn ret(p: &mut Profiler, at: u64, func: FuncId) {
        p.on_event(at, &TraceEvent::Return { func, name: "", depth: 0, gas: 0, instructions: 0 });
    }

    fn instr(p: &mut Profiler, func: FuncId, pc: u32) {
        p.on_event(0, &TraceEvent::Instr { func, pc, depth: 0, op: crate::bytecode::op::Op::Nop });
    }

    #[test]
    fn recursion_counts_inclusive_time_once() {
        // main 0..100; f 10..90 calls f 20..80 which calls g 30..40.
        let mut p = Profiler::new();
        p.on_event(0, &TraceEvent::RunStart);
        call(&mut p, 10, 1, "f");
        call(&mut p, 20, 1, "f");
        call(&mut p, 30, 2, "g");
        ret(&mut p, 40, 2);
        ret(&mut p, 80, 1);
        ret(&mut p, 90, 1);
        p.on_event(100, &TraceEvent::RunEnd { outcome: RunOutcome::Finished, instructions: 5, gas: 9 });
        let prof = p.profile();
        let f = &prof.functions[1];
        assert_eq!((f.calls, f.inclusive.ns, f.exclusive.ns), (2, 80, 70));
        let g = &prof.functions[2];
        assert_eq!((g.calls, g.inclusive.ns, g.exclusive.ns), (1, 10, 10));
        let main = &prof.functions[0];
        assert_eq!((main.name.as_str(), main.calls, main.inclusive.ns, main.exclusive.ns), ("<main>", 1, 100, 20));
        assert_eq!((prof.run_ns, prof.instructions, prof.gas), (100, 5, 9));
        assert_eq!(prof.outcome, Some(RunOutcome::Finished));
    }

    #[test]
    fn instructions_are_attributed_inclusively_and_exclusively() {
        let mut p = Profiler::new();
        p.on_event(0, &TraceEvent::RunStart);
        instr(&mut p, 0, 0);
        call(&mut p, 1, 1, "f");
        instr(&mut p, 1, 0);
        instr(&mut p, 1, 1);
        instr(&mut p, 1, 1);
        ret(&mut p, 2, 1);
        instr(&mut p, 0, 1);
        let prof = p.profile();
        assert_eq!(prof.functions[1].pc_counts, vec![1, 2]);
        assert_eq!(prof.functions[1].exclusive.instructions, 3);
        assert_eq!(prof.functions[0].inclusive.instructions, 5);
        assert_eq!(prof.functions[0].exclusive.instructions, 2);
        assert_eq!(prof.outcome, None);
    }

    #[test]
    fn an_error_closes_every_activation() {
        let mut p = Profiler::new();
        p.on_event(0, &TraceEvent::RunStart);
        call(&mut p, 10, 1, "outer");
        call(&mut p, 20, 2, "inner");
        p.on_event(
            50,
            &TraceEvent::Error {
                kind: crate::vm::error::ErrorKind::DivisionByZero,
                message: "division by zero",
                depth: 2,
                gas: 3,
                instructions: 1,
            },
        );
        p.on_event(60, &TraceEvent::RunEnd { outcome: RunOutcome::Error, instructions: 1, gas: 3 });
        let prof = p.profile();
        assert_eq!(prof.functions[2].inclusive.ns, 30);
        assert_eq!(prof.functions[1].inclusive.ns, 40);
        assert_eq!(prof.functions[1].exclusive.ns, 10);
        assert_eq!(prof.functions[0].inclusive.ns, 50);
        assert_eq!(prof.error.as_deref(), Some("division by zero"));
        assert_eq!(prof.outcome, Some(RunOutcome::Error));
    }

    #[test]
    fn phases_and_loops_are_recorded() {
        let mut p = Profiler::calls_only();
        assert!(!p.wants_instructions());
        p.on_event(5, &TraceEvent::PhaseBegin { phase: Phase::Parse });
        p.on_event(12, &TraceEvent::PhaseEnd { phase: Phase::Parse });
        p.on_event(13, &TraceEvent::LoopHot { func: 0, loop_id: 1, iterations: 100 });
        p.on_event(14, &TraceEvent::JitBailout { func: 0, loop_id: 1, pc: 3, reason: "type" });
        let prof = p.profile();
        assert_eq!(prof.phases, vec![(Phase::Parse, 7)]);
        let lp = prof.loops.get(&(0, 1)).cloned().unwrap_or_default();
        assert_eq!((lp.hot_at, lp.bailouts), (Some(100), 1));
    }
}
