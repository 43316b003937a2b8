//! Time travel: the debugger goes back to any instruction count k of the run by re-executing
//! the program from its start, and runs the reverse goals (gdb's `reverse-stepi`,
//! `reverse-step`, `reverse-next`, `reverse-finish`, `reverse-continue`) on top.
//!
//! The VM is deterministic (the only exception: `time()` and `timestamp()`, which read the
//! wall clock), so the state after k instructions is a function of the program and k alone,
//! with one refinement: the JIT's entry and fuel-exit counts depend on where the run was cut
//! into slices (`Vm::run(budget)` calls). The [`History`] therefore records every slice the
//! run was cut into, run-length encoded, and a travel re-executes with the same cuts, so the
//! state reached backward is the state the run had (output, STATE, transactions, counts, the
//! JIT's loops), checked by `tests/time_travel.rs` on every sample and conformance program.
//!
//! One cut is not reproduced exactly: a slice a bail-out break ended (inside native code's
//! exit) is re-executed as a budget, which native code leaves through fuel, so the JIT's exit
//! and bail-out counts at that cut may differ (the VM's values, pcs, output and STATE do not).
//!
//! Re-execution starts from the beginning each time: no checkpoints of the VM are kept, so
//! time travel costs no memory beyond the slice history (16 bytes per distinct slice run, at
//! most [`MAX_SLICE_RUNS`] of them) and the timeline's marks. Output is not printed twice: the
//! captured output buffer starts empty on the re-execution and ends exactly as it was at k.
//! The trace the debugger records is not written again for instructions it already holds.
//!
//! The reverse goals other than the instruction step find their target by re-executing a
//! window before k one instruction at a time (1,024 instructions, then 8 times more each
//! round until the start), looking for the last position before k where the forward goal
//! would have stopped, then travel there.

use super::{Debugger, Pos, Watched, enters_line};
use crate::engine::recorder::MarkKind;
use crate::engine::snapshot::Breakpoint;
use crate::engine::timeline::{Timeline, TimelineMark};
use crate::vm::interp::Halt;

/// Distinct slice runs the history keeps; past this, adjacent runs are merged (the state at
/// a travel target then matches the original run in everything but the JIT's entry and
/// fuel-exit counts).
pub const MAX_SLICE_RUNS: usize = 1 << 20;

/// The first window a reverse goal re-executes instruction by instruction.
const FIRST_WINDOW: u64 = 1_024;

/// A reverse goal: where the matching forward goal, run from there, would have stopped here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reverse {
    /// Back one instruction (gdb's `reverse-stepi`).
    Instruction,
    /// Back to the start of the previous line entered in any frame, a called function's
    /// included (`reverse-step`).
    StepInto,
    /// Back to the start of the previous line of this frame or a caller, stepping back over
    /// calls (`reverse-next`).
    StepLine,
    /// Back to the call of the current function, in its caller (`reverse-finish`).
    StepOut,
    /// Back to the previous breakpoint, watchpoint change or marked VM event, or the start
    /// (`reverse-continue`).
    Continue,
}

/// How the run got where it is: the slices the run was cut into from its start to the
/// furthest point it reached (re-running behind that point replaces the cuts it covers), and
/// where the VM is on that path.
#[derive(Debug, Clone, Default)]
pub(super) struct History {
    /// The slices from the start to the horizon, run-length encoded: `(slice, times)`.
    slices: Vec<(Slice, u64)>,
    /// The current position on the path.
    end: u64,
    /// The furthest position reached since the run's start (what the slices add up to).
    pub(super) horizon: u64,
    /// The marked VM events, up to the horizon.
    pub(super) timeline: Timeline,
    /// True once the VM ran behind the horizon with cuts of its own since the last replay.
    diverged: bool,
    /// JIT-compile marks placed at the end of their slice, still to be placed exactly:
    /// (the slice's start, its end, the loop).
    unplaced: Vec<(u64, u64, (u32, u16))>,
}

/// One cut of the run: how many instructions it ran, and how it was asked to run them. A
/// yielding slice (`Vm::run_yielding`, a free run's) may end before its budget where native
/// code leaves a loop for want of fuel; replayed with the same budget it ends at the same
/// place, native code included. `budget` 0: a plain `Vm::run` of exactly `len`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Slice {
    len: u64,
    budget: u64,
    /// A replay's last piece, up to its target (see [`Slice::to_target`]); never recorded.
    to_target: bool,
}

impl Slice {
    /// A plain slice of exactly `len` instructions.
    fn plain(len: u64) -> Slice {
        Slice { len, budget: 0, to_target: false }
    }

    /// The last piece of a replay, `len` instructions to its target, from where a run to the
    /// target would have cut its slices differently from the recorded run: yielding slices of
    /// at most `cap` (the recorded slice's budget), each of what is left, as a forward run to
    /// the target cuts them (`cap` 0: one plain run).
    fn to_target(len: u64, cap: u64) -> Slice {
        Slice { len, budget: cap, to_target: true }
    }
}

/// A JIT-compile mark is placed exactly (by re-executing its slice one instruction at a time)
/// only when its slice ended within this many instructions of the start and was at most
/// [`PLACE_SLICE_LIMIT`] long: the cost stays a fraction of a second.
const PLACE_END_LIMIT: u64 = 4_000_000;

/// See [`PLACE_END_LIMIT`].
const PLACE_SLICE_LIMIT: u64 = 1_000_000;

impl History {
    /// A slice of `n` instructions ran from the current position. Behind the horizon the
    /// recorded path stays as it is: the slice's cuts differ from the path's, so the state it
    /// reaches is marked diverged and the debugger rebuilds it along the path where it stops.
    /// `halted`: the program ended in it (a free run's last slice, replayed as a run to its
    /// end the way a forward run to that point ends, see [`Slice::to_target`]).
    fn record(&mut self, n: u64, yielding_budget: Option<u64>, halted: bool) {
        if n == 0 {
            return;
        }
        if self.end >= self.horizon {
            let budget = yielding_budget.unwrap_or(0);
            push_run(&mut self.slices, (Slice { len: n, budget, to_target: halted && budget > 0 }, 1));
            if self.slices.len() > MAX_SLICE_RUNS {
                self.merge();
            }
        } else {
            self.diverged = true;
        }
        self.end += n;
        self.horizon = self.horizon.max(self.end);
    }

    /// Halves the runs by merging neighbours (loses the exact cuts, see [`MAX_SLICE_RUNS`]).
    fn merge(&mut self) {
        let merged: Vec<(Slice, u64)> = self
            .slices
            .chunks(2)
            .map(|pair| (Slice::plain(pair.iter().map(|(s, times)| s.len * times).sum()), 1))
            .collect();
        self.slices = merged;
    }

    /// The slices that lead from the start to `target`: the recorded ones, the last one cut
    /// (and one slice from the horizon on, for a target past it).
    fn prefix(&self, target: u64) -> Vec<(Slice, u64)> {
        let mut plan = Vec::new();
        let mut at = 0u64;
        for &(slice, times) in &self.slices {
            if at >= target {
                break;
            }
            // A recorded slice is replayed as it was while a run to the target would have
            // asked for the same: a yielding one while its whole budget is left before the
            // target, a plain one while it ends at the target or before.
            let left = target - at;
            let mut whole = match slice.budget {
                0 => left / slice.len,
                budget if left >= budget => (left - budget) / slice.len + 1,
                _ => 0,
            }
            .min(times);
            // A slice that ends exactly at the target is replayed as recorded too: the same
            // budget ends it at the same place (a place_marks replay back to where a slice
            // stopped relies on it).
            if whole < times && left - whole * slice.len == slice.len {
                whole += 1;
            }
            if whole > 0 {
                push_run(&mut plan, (slice, whole));
                at += slice.len * whole;
            }
            if whole < times && at < target {
                push_run(&mut plan, (Slice::to_target(target - at, slice.budget), 1));
                at = target;
            }
        }
        if at < target {
            push_run(&mut plan, (Slice::to_target(target - at, 0), 1));
        }
        plan
    }

    /// The VM starts over: the position is 0; the path, the horizon and the marks stay.
    pub(super) fn rewind(&mut self) {
        self.end = 0;
    }

    /// Bytes the history holds (for the benchmark's memory figure).
    pub(super) fn bytes(&self) -> usize {
        self.slices.capacity() * std::mem::size_of::<(Slice, u64)>()
            + self.timeline.marks.iter().map(|m| std::mem::size_of::<TimelineMark>() + m.label.len()).sum::<usize>()
    }
}

/// Appends a run, merging it into the last one when the lengths agree.
fn push_run(runs: &mut Vec<(Slice, u64)>, (slice, times): (Slice, u64)) {
    if slice.len == 0 || times == 0 {
        return;
    }
    match runs.last_mut() {
        Some((s, t)) if *s == slice => *t += times,
        _ => runs.push((slice, times)),
    }
}

impl Debugger {
    /// Runs the VM for at most `budget` instructions, recording the slice. Behind the horizon
    /// (after a travel back) a slice ends at the horizon at the latest, and the trace is not
    /// written again.
    /// A `yielding` slice is a free run's (see [`Slice`]); a step runs exactly its budget.
    pub(super) fn run_vm(&mut self, budget: u64, yielding: bool) -> Halt {
        let before = self.session.vm.counters.instructions;
        let horizon = self.history.horizon;
        let behind = before < horizon;
        let budget = if behind { budget.min(horizon - before) } else { budget };
        if let Ok(mut r) = self.recorder.try_borrow_mut() {
            r.set_tracing(!behind);
        }
        let halt = if yielding { self.yielding_slice(budget) } else { self.session.vm.run(budget) };
        let after = self.session.vm.counters.instructions;
        // A yielding slice is replayed with its budget (it ends where it ended: its budget
        // spent, native code yielding, the program's end); one a break's interrupt cut short
        // is replayed as exactly what it ran.
        let cut = self.interrupt.get();
        self.history.record(after - before, (yielding && !cut).then_some(budget), !matches!(halt, Halt::Budget));
        self.collect_marks(!behind, before);
        halt
    }

    /// Moves the recorder's marks to the timeline (only those of new ground: marks seen while
    /// re-running instructions are already there).
    pub(super) fn collect_marks(&mut self, new_ground: bool, slice_start: u64) {
        let marks = self.recorder.try_borrow_mut().map(|mut r| r.take_marks()).unwrap_or_default();
        if !new_ground {
            return;
        }
        let here = self.session.vm.counters.instructions;
        for m in marks {
            let at = m.instructions.unwrap_or(here);
            if let (None, Some(l)) = (m.instructions, m.compiled_loop)
                && here > slice_start + 1
                && here <= PLACE_END_LIMIT
                && here - slice_start <= PLACE_SLICE_LIMIT
            {
                self.history.unplaced.push((slice_start, here, l));
            }
            self.history.timeline.push(TimelineMark { at, kind: m.kind, label: m.label });
        }
    }

    /// Places the JIT-compile marks of the last slices exactly: re-executes to each one's slice
    /// start along the path, steps until the loop's fate is decided (the compile happens in the
    /// interpreter, at the back-edge that made the loop hot, wherever the slices were cut),
    /// then rebuilds the state where the debugger is. Keeps the goal and the stop reason.
    pub(super) fn place_marks(&mut self) {
        if self.history.unplaced.is_empty() || self.history.diverged || self.replay.is_some() {
            return;
        }
        // A slice a bail-out break cut short ends inside native code's exit; re-executed as a
        // budget it would leave through fuel instead, so the state here is not rebuilt then.
        if self.event_breaks.contains(&crate::engine::recorder::EventBreak::Bailout) {
            self.history.unplaced.clear();
            return;
        }
        let unplaced = std::mem::take(&mut self.history.unplaced);
        let (active, reason, here) = (self.active.take(), self.stop_reason.take(), self.position());
        for (start, end, (func, loop_id)) in unplaced {
            self.replay_to(start);
            let _ = self.recorder.try_borrow_mut().map(|mut r| r.set_muted(true));
            let decided = |d: &Debugger| {
                let p = d.session.vm.program.protos.get(func as usize);
                p.and_then(|p| p.loop_counters.get(loop_id as usize)).is_some_and(|c| c.decided.get())
            };
            while self.position() < end && !decided(self) {
                if !matches!(self.session.vm.run(1), Halt::Budget) {
                    break;
                }
            }
            let _ = self.recorder.try_borrow_mut().map(|mut r| r.set_muted(false));
            let exact = self.position();
            let found = decided(self);
            let marks = &mut self.history.timeline.marks;
            if found && let Some(m) = marks.iter_mut().find(|m| m.kind == MarkKind::JitCompile && m.at == end) {
                m.at = exact;
                marks.sort_by_key(|m| m.at);
            }
        }
        self.replay_to(here);
        self.active = active;
        self.stop_reason = reason;
    }

    /// Instructions executed to reach the current state (the position k).
    pub fn position(&self) -> u64 {
        self.session.vm.counters.instructions
    }

    /// The furthest position the run reached since its start.
    pub fn horizon(&self) -> u64 {
        self.history.horizon.max(self.position())
    }

    /// The timeline as the views show it.
    pub fn timeline(&self) -> Timeline {
        Timeline {
            position: self.position(),
            horizon: self.horizon(),
            marks: self.history.timeline.marks.clone(),
            record_bytes: self.history.bytes() as u64,
        }
    }

    /// Goes to the state after `target` instructions (at most the horizon): the program is
    /// re-executed from its start with the run's own slice cuts, events muted, output
    /// captured afresh. Paused there (stop reason `time travel`; the timeline says where);
    /// returns the position reached.
    pub fn travel_to(&mut self, target: u64) -> u64 {
        let target = target.min(self.horizon());
        self.replay_to(target);
        self.stop_reason = Some("time travel".to_string());
        self.position()
    }

    /// Runs exactly `n` instructions as yielding slices of at most `cap`, each with what is
    /// left as its budget (see [`Debugger::yielding_slice`]).
    fn run_yielding_to(&mut self, n: u64, cap: u64) -> Halt {
        let end = self.session.vm.counters.instructions + n;
        loop {
            let left = end.saturating_sub(self.session.vm.counters.instructions);
            if left == 0 {
                return Halt::Budget;
            }
            let halt = self.yielding_slice(left.min(cap));
            if !matches!(halt, Halt::Budget) {
                return halt;
            }
        }
    }

    /// One yielding slice of `budget` (`Vm::run_yielding`). Native code yields at once when the
    /// budget is smaller than one of its iterations; the budget then runs in the interpreter,
    /// exactly, so that a slice always makes progress.
    fn yielding_slice(&mut self, budget: u64) -> Halt {
        let before = self.session.vm.counters.instructions;
        let halt = self.session.vm.run_yielding(budget);
        if matches!(halt, Halt::Budget) && self.session.vm.counters.instructions == before {
            return self.session.vm.run(budget);
        }
        halt
    }

    /// Re-executes from the start to `target` along the recorded cuts (no stop reason set).
    fn replay_to(&mut self, target: u64) {
        let plan = self.history.prefix(target);
        self.active = None;
        self.replay = None;
        self.mute_and_rewind();
        'plan: for (slice, times) in plan {
            for _ in 0..times {
                let halt = match (slice.budget, slice.to_target) {
                    (0, _) => self.session.vm.run(slice.len),
                    (cap, true) => self.run_yielding_to(slice.len, cap),
                    (budget, false) => self.yielding_slice(budget),
                };
                self.interrupt.set(false);
                // What the run showed as the last rollback after each of its slices.
                let _ = self.discarded_text();
                if !matches!(halt, Halt::Budget) {
                    break 'plan;
                }
            }
        }
        self.history.end = self.position();
        self.history.diverged = false;
        self.end_replay();
        let _ = self.take_events();
        let _ = self.recorder.try_borrow_mut().map(|mut r| r.take_marks());
        let vm = &self.session.vm;
        for w in &mut self.watches {
            w.last = w.what.value(vm);
        }
    }

    /// After the VM ran behind the horizon with cuts of its own: rebuilds the state at the
    /// same position along the recorded path, keeping the goal and the stop reason, so that
    /// going forward again shows what the run showed (the JIT's entry counts included).
    pub(super) fn rejoin_path(&mut self) {
        if !self.history.diverged || self.replay.is_some() {
            return;
        }
        let (active, reason) = (self.active.take(), self.stop_reason.take());
        self.replay_to(self.position());
        self.active = active;
        self.stop_reason = reason;
    }

    /// Runs `goal` backward; returns true if the debugger moved. The stop reason says where
    /// it went (or why it could not).
    pub fn reverse(&mut self, goal: Reverse) -> bool {
        let k = self.position();
        if k == 0 {
            self.stop_reason = Some("at the start of the run: nothing before it".to_string());
            return false;
        }
        let target = match goal {
            Reverse::Instruction => Some(k - 1),
            Reverse::StepOut if self.pos().is_none_or(|p| p.depth <= 1) => None,
            _ => self.find_reverse_target(goal, k),
        };
        let Some(target) = target else {
            self.stop_reason = Some("reverse step out: the top level has no caller".to_string());
            return false;
        };
        self.replay_to(target);
        let what = match goal {
            Reverse::Instruction => "reverse step",
            Reverse::StepInto => "reverse step into",
            Reverse::StepLine => "reverse next",
            Reverse::StepOut => "reverse step out",
            Reverse::Continue => "reverse continue",
        };
        let why = self.reverse_why.take().map(|w| format!(": {w}")).unwrap_or_default();
        self.stop_reason = Some(format!("{what}{why}"));
        true
    }

    /// The position `goal` goes back to from `k`, searching windows of growing size.
    fn find_reverse_target(&mut self, goal: Reverse, k: u64) -> Option<u64> {
        let saved = self.history.clone();
        let marked = match goal {
            Reverse::Continue => self.history.timeline.mark_before(k).map(|m| (m.at, m.kind, m.label.clone())),
            _ => None,
        };
        let floor = marked.as_ref().map_or(0, |m| m.0);
        let mut window = FIRST_WINDOW;
        // With nothing to look for in the instructions, the last mark is the target.
        let nothing_to_scan = self.breakpoints.is_empty() && self.watches.is_empty();
        let found = loop {
            if goal == Reverse::Continue && nothing_to_scan {
                break None;
            }
            let start = k.saturating_sub(window).max(floor);
            self.replay_to(start);
            if let Some(found) = self.scan(goal, start, k) {
                break Some(found);
            }
            if start <= floor {
                break None;
            }
            window = window.saturating_mul(8);
        };
        self.history = saved;
        match (goal, found) {
            (_, Some((at, why))) => {
                self.reverse_why = why;
                Some(at)
            }
            (Reverse::Continue, None) => {
                let (at, why) = match marked {
                    Some((at, kind, label)) => (at, format!("{} ({label})", kind.describe())),
                    None => (0, "the start of the run".to_string()),
                };
                self.reverse_why = Some(why);
                Some(at)
            }
            (Reverse::StepInto | Reverse::StepLine, None) => Some(0),
            _ => None,
        }
    }

    /// Steps from `start` (the current position) to `k`, returning the last position before
    /// `k` where `goal`'s forward twin would have stopped, with a note for the stop reason.
    fn scan(&mut self, goal: Reverse, start: u64, k: u64) -> Option<(u64, Option<String>)> {
        let mut prev = self.pos()?;
        let mut found: Option<(u64, Option<String>)> = None;
        // Per depth (index = depth - 1) in the frames alive now: the last line entered there
        // (reverse next) and where the frame was entered (reverse step out).
        let mut lines: Vec<Option<u64>> = vec![None; prev.depth];
        let mut entries: Vec<Option<u64>> = vec![None; prev.depth];
        if start == 0 {
            lines[0] = Some(0);
            if goal == Reverse::StepInto {
                found = Some((0, None));
            }
        }
        let mut watched: Vec<Option<String>> = self.watches.iter().map(|w| w.what.value(&self.session.vm)).collect();
        let _ = self.recorder.try_borrow_mut().map(|mut r| r.set_muted(true));
        let mut at = start;
        while at < k && !self.is_done() {
            let halt = self.session.vm.run(1);
            self.interrupt.set(false);
            at = self.position();
            let Some(cur) = self.pos() else { break };
            lines.resize(cur.depth, None);
            entries.resize(cur.depth, None);
            let entered = enters_line(prev, cur);
            if cur.depth > prev.depth
                && let Some(e) = entries.last_mut()
            {
                *e = Some(at);
            }
            if at < k {
                match goal {
                    Reverse::StepInto if entered => found = Some((at, None)),
                    Reverse::StepLine if entered => {
                        if let Some(l) = lines.last_mut() {
                            *l = Some(at);
                        }
                    }
                    Reverse::Continue => {
                        if let Some(why) = self.reverse_stop(prev, cur, &mut watched) {
                            found = Some((at, Some(why)));
                        }
                    }
                    _ => {}
                }
            }
            prev = cur;
            if !matches!(halt, Halt::Budget) {
                break;
            }
        }
        let _ = self.recorder.try_borrow_mut().map(|mut r| r.set_muted(false));
        match goal {
            Reverse::StepLine => lines.iter().flatten().copied().max().map(|at| (at, None)),
            Reverse::StepOut => {
                if prev.depth <= 1 {
                    return None;
                }
                entries.last().copied().flatten().map(|e| (e - 1, None))
            }
            _ => found,
        }
    }

    /// Whether the forward run would stop at `cur` for a breakpoint or watchpoint (conditions
    /// are evaluated; ignore counts and hit counts play no part backward).
    fn reverse_stop(&mut self, prev: Pos, cur: Pos, watched: &mut [Option<String>]) -> Option<String> {
        let vm = &self.session.vm;
        let mut why = None;
        for (w, last) in self.watches.iter().zip(watched.iter_mut()) {
            let now = w.what.value(vm);
            if now != *last {
                if !matches!(w.what, Watched::Local { depth, .. } if vm.frames.len() < depth) {
                    let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "(unset)".to_string());
                    why = Some(format!("watchpoint {}: {} → {}", w.what.describe(), show(last), show(&now)));
                }
                *last = now;
            }
        }
        if why.is_some() {
            return why;
        }
        let at_pc = Breakpoint::Instruction { function: cur.function, pc: cur.pc };
        let at_line = Breakpoint::Line { file: cur.file, line: cur.line };
        let hit = if self.breakpoints.contains(&at_pc) {
            Some((at_pc, format!("breakpoint at pc {}", cur.pc)))
        } else if enters_line(prev, cur) && self.breakpoints.contains(&at_line) {
            Some((at_line, format!("breakpoint at {}", self.where_line(cur.file, cur.line))))
        } else {
            None
        };
        let (bp, place) = hit?;
        match self.break_options.get(&bp).and_then(|o| o.condition.clone()) {
            None => Some(place),
            Some(cond) => {
                let frame = vm.frames.len().saturating_sub(1);
                match super::eval::condition_holds(vm, frame, &cond) {
                    Ok(false) => None,
                    Ok(true) => Some(format!("{place} ({cond})")),
                    Err(e) => Some(format!("{place}: error in condition `{cond}`: {e}")),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Options;
    use crate::engine::debug::Goal;

    fn debugger(src: &str) -> Debugger {
        Debugger::new("t.zx", src, &Options::default()).expect("builds")
    }

    #[test]
    fn the_plan_follows_the_recorded_cuts_and_a_rerun_behind_the_horizon_keeps_them() {
        let mut h = History::default();
        for n in [5, 5, 5, 3, 100] {
            h.record(n, None, false);
        }
        let p = |v: &[(u64, u64)]| v.iter().map(|&(len, times)| (Slice::plain(len), times)).collect::<Vec<_>>();
        let t = |mut v: Vec<(Slice, u64)>, last: u64| {
            v.push((Slice::to_target(last, 0), 1));
            v
        };
        assert_eq!(h.prefix(12), t(p(&[(5, 2)]), 2));
        assert_eq!(h.prefix(18), p(&[(5, 3), (3, 1)]));
        assert_eq!(h.prefix(50), t(p(&[(5, 3), (3, 1)]), 32));
        assert_eq!(h.prefix(200), t(p(&[(5, 3), (3, 1), (100, 1)]), 82));
        assert_eq!(h.prefix(0), p(&[]));
        // Back at 7, a run of 10 instructions (to 17) leaves the path as it was.
        h.end = 7;
        h.record(10, None, false);
        assert_eq!(h.slices, p(&[(5, 3), (3, 1), (100, 1)]));
        assert_eq!((h.end, h.horizon, h.diverged), (17, 118, true));
        // Yielding slices keep their budget; they are replayed as recorded while their whole
        // budget is left before the target, and the rest is cut as a run to the target cuts it.
        let mut y = History::default();
        y.record(70, Some(100), false);
        y.record(100, Some(100), false);
        let recorded = Slice { len: 70, budget: 100, to_target: false };
        assert_eq!(y.prefix(170), vec![(recorded, 1), (Slice { len: 100, budget: 100, to_target: false }, 1)]);
        assert_eq!(y.prefix(120), vec![(recorded, 1), (Slice::to_target(50, 100), 1)]);
        assert_eq!(y.prefix(99), vec![(Slice::to_target(99, 100), 1)], "99 < the first budget");
        assert_eq!(y.prefix(70), vec![(recorded, 1)], "a slice ending at the target is replayed as recorded");
    }

    const CALLS: &str = "action f(x) {\n  let y = x * 2\n  return y\n}\nlet a = f(1)\nlet b = f(2)\nprint(a + b)\n";

    fn line(d: &Debugger) -> u32 {
        d.snapshot().location.map(|l| l.line).unwrap_or(0)
    }

    #[test]
    fn travel_back_and_forth_gives_the_same_state_and_prints_once() {
        let mut d = debugger(CALLS);
        assert!(d.run_to_stop(Goal::StepInstruction, 10));
        assert!(d.run_to_stop(Goal::RunToLine { file: 0, line: 6 }, 1000));
        let at = d.position();
        let dump = d.state_dump();
        assert!(d.run_to_stop(Goal::Continue, 1000));
        assert_eq!(d.snapshot().output, vec!["6"]);
        let end = d.position();
        assert_eq!(d.travel_to(at), at);
        assert_eq!(d.state_dump(), dump);
        assert!(d.snapshot().output.is_empty(), "nothing printed yet at {at}");
        assert_eq!(d.stop_reason(), Some("time travel"));
        assert_eq!((d.timeline().position, d.timeline().horizon), (at, end));
        assert!(d.run_to_stop(Goal::Continue, 1000));
        assert_eq!(d.snapshot().output, vec!["6"], "printed once");
        assert_eq!(d.position(), end);
    }

    #[test]
    fn reverse_next_steps_back_over_a_call_and_reverse_step_into_enters_it() {
        let mut d = debugger(CALLS);
        assert!(d.run_to_stop(Goal::RunToLine { file: 0, line: 7 }, 1000));
        assert!(d.reverse(Reverse::StepLine));
        assert_eq!((line(&d), d.session().vm.frames.len()), (6, 1), "{:?}", d.stop_reason());
        assert!(d.reverse(Reverse::StepLine));
        assert_eq!((line(&d), d.session().vm.frames.len()), (5, 1));
        // From line 6's start, reverse step into goes into the first call's last line.
        assert!(d.run_to_stop(Goal::StepLine, 1000));
        assert_eq!(line(&d), 6);
        assert!(d.reverse(Reverse::StepInto));
        assert_eq!((line(&d), d.session().vm.frames.len()), (3, 2), "{:?}", d.stop_reason());
        // Reverse step out goes to the call in line 5.
        assert!(d.reverse(Reverse::StepOut));
        assert_eq!((line(&d), d.session().vm.frames.len()), (5, 1));
        assert!(d.run_to_stop(Goal::StepInstruction, 10));
        assert_eq!(d.session().vm.frames.len(), 2, "the next instruction was the call");
        assert!(!d.reverse(Reverse::StepOut) || d.session().vm.frames.len() == 1);
    }

    #[test]
    fn reverse_continue_stops_at_the_previous_breakpoint_hit() {
        let src = "let t = 0\nlet i = 0\nwhile i < 5 {\n  t = t + i\n  i = i + 1\n}\nprint(t)\n";
        let mut d = debugger(src);
        d.toggle_breakpoint(Breakpoint::main_line(4));
        assert!(d.run_to_stop(Goal::Continue, 10_000));
        assert!(d.run_to_stop(Goal::Continue, 10_000));
        assert!(d.run_to_stop(Goal::Continue, 10_000));
        let third = d.state_dump();
        assert!(d.run_to_stop(Goal::Continue, 10_000));
        assert!(d.reverse(Reverse::Continue));
        assert_eq!(d.state_dump(), third);
        assert!(d.stop_reason().unwrap_or_default().starts_with("reverse continue: breakpoint at line 4"));
        assert_eq!(eval_i(&d), "2");
        d.toggle_breakpoint(Breakpoint::main_line(4));
        assert!(d.reverse(Reverse::Continue));
        assert_eq!(d.position(), 0);
        assert!(d.stop_reason().unwrap_or_default().contains("the start of the run"));
    }

    #[test]
    fn reverse_continue_stops_where_a_watched_value_last_changed() {
        let src = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/samples/bank.zx")).expect("sample");
        let mut d = debugger(&src);
        d.add_watch(Watched::State("alice".into()));
        assert!(d.run_to_stop(Goal::Continue, 1_000_000));
        assert!(d.run_to_stop(Goal::Continue, 1_000_000));
        let first_transfer = d.state_dump();
        assert!(d.stop_reason().unwrap_or_default().starts_with("watchpoint STATE[\"alice\"]: 100 → 70"));
        // On to the end (the reverted transfer changes the pending value twice more).
        while d.run_to_stop(Goal::Continue, 1_000_000) && !d.is_done() {}
        assert!(d.reverse(Reverse::Continue));
        let why = d.stop_reason().unwrap_or_default().to_string();
        // The revert restores the value: the watchpoint's change and the rollback's mark meet.
        assert!(why.starts_with("reverse continue: rollback") || why.contains("watchpoint"), "{why}");
        let mut back = 1;
        while d.state_dump() != first_transfer {
            assert!(d.reverse(Reverse::Continue), "{:?}", d.stop_reason());
            back += 1;
            assert!(back < 10, "never came back to the first transfer's write");
        }
        assert!(d.stop_reason().unwrap_or_default().contains("100 → 70"), "{:?}", d.stop_reason());
    }

    fn eval_i(d: &Debugger) -> String {
        super::super::eval::eval_preview(&d.session().vm, 0, "i").unwrap_or_default()
    }

    #[test]
    fn post_mortem_back_and_forward_to_the_error() {
        let src = "let i = 0\nlet t = 0\nwhile (i < 300) { t = t + i; i = i + 1 }\nprint(t)\nprint(t / (t - t))\n";
        let mut d = debugger(src);
        assert!(d.run_to_stop(Goal::Continue, 10_000_000));
        assert!(d.is_done());
        let end = d.position();
        let failed = d.state_dump();
        for _ in 0..3 {
            assert!(d.reverse(Reverse::Instruction));
        }
        assert_eq!(d.position(), end - 3);
        assert!(!d.is_done());
        assert_eq!(d.travel_to(end), end);
        assert!(d.is_done());
        assert_eq!(d.state_dump(), failed);
        let tl = d.timeline();
        assert!(tl.marks.iter().any(|m| m.kind == MarkKind::Error && m.at == end), "{:?}", tl.marks);
    }
}
