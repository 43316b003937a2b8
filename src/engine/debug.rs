//! The debugger: a session plus breakpoints and a stepping goal, advanced in bounded slices
//! so that its caller (the TUI's VM thread, the headless `snapshot` command) stays in control.
//!
//! Stepping and breakpoints single-step the VM (`Vm::run(1)`) and look at the position between
//! steps; a free run with no breakpoints runs whole budgets. Positions are judged *before* an
//! instruction runs: a line breakpoint fires when execution enters its line (the line changes
//! within a frame, or a call enters a function at that line), an instruction breakpoint when
//! the instruction is next. The position the debugger is stopped at never stops it again.

use std::collections::BTreeSet;

use super::snapshot::{Breakpoint, RunStatus, SessionSnapshot};
use super::{Options, Session};
use crate::diag::Diagnostic;
use crate::vm::interp::Halt;

/// What the debugger runs toward.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Goal {
    /// Run until a breakpoint, the end, or a pause.
    Continue,
    /// Execute one instruction.
    StepInstruction,
    /// Run until the source line changes at the same or a shallower call depth.
    StepLine,
    /// Run until the current function returns.
    StepOut,
    /// Run until execution enters this line (or a breakpoint).
    RunToLine(u32),
    /// Run until this instruction is next (or a breakpoint).
    RunToInstruction {
        /// Function index.
        function: u32,
        /// Instruction index.
        pc: u32,
    },
}

/// Where the VM is, as the debugger compares positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pos {
    function: u32,
    pc: u32,
    line: u32,
    depth: usize,
}

/// A goal being run toward, with the position it started from.
#[derive(Debug, Clone, Copy)]
struct Active {
    goal: Goal,
    start: Pos,
    /// The position of the last instruction executed toward the goal.
    prev: Pos,
    steps: u64,
}

/// A session under the debugger's control.
pub struct Debugger {
    session: Session,
    src: String,
    /// Per function, per instruction: source line.
    lines: Vec<Vec<u32>>,
    breakpoints: BTreeSet<Breakpoint>,
    active: Option<Active>,
    stop_reason: Option<String>,
}

impl Debugger {
    /// Builds `src` (named `name` in messages) paused before its first instruction.
    pub fn new(name: &str, src: &str, options: &Options) -> Result<Debugger, Vec<Diagnostic>> {
        let session = Session::new_captured(name, src, options)?;
        let lines = line_tables(&session);
        Ok(Debugger {
            session,
            src: src.to_string(),
            lines,
            breakpoints: BTreeSet::new(),
            active: None,
            stop_reason: Some("start".to_string()),
        })
    }

    /// The session being debugged.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// Starts over: the same source reloaded in the same session (so every unit comes from
    /// the bytecode cache), paused at the start. Breakpoints are kept.
    pub fn restart(&mut self) -> Result<(), Vec<Diagnostic>> {
        let src = self.src.clone();
        self.session.reload(&src)?;
        self.lines = line_tables(&self.session);
        self.active = None;
        self.stop_reason = Some("restarted".to_string());
        Ok(())
    }

    /// Breakpoints, sorted.
    pub fn breakpoints(&self) -> impl Iterator<Item = &Breakpoint> {
        self.breakpoints.iter()
    }

    /// Sets `bp` if it is not set, clears it if it is; returns true if it is now set.
    pub fn toggle_breakpoint(&mut self, bp: Breakpoint) -> bool {
        if self.breakpoints.remove(&bp) {
            false
        } else {
            self.breakpoints.insert(bp);
            true
        }
    }

    /// True while a goal is being run toward.
    pub fn is_running(&self) -> bool {
        self.active.is_some()
    }

    /// True once the program finished or failed.
    pub fn is_done(&self) -> bool {
        self.session.vm.is_done()
    }

    /// Starts running toward `goal` (does nothing once the program is done).
    pub fn start(&mut self, goal: Goal) {
        if self.is_done() {
            return;
        }
        if let Some(start) = self.pos() {
            self.active = Some(Active { goal, start, prev: start, steps: 0 });
            self.stop_reason = None;
        }
    }

    /// Stops running toward the current goal.
    pub fn pause(&mut self) {
        if self.active.take().is_some() {
            self.stop_reason = Some("paused".to_string());
        }
    }

    /// Runs toward the goal for at most `budget` instructions. Returns true if the debugger
    /// stopped (goal reached, breakpoint, end of program) during this slice.
    pub fn advance(&mut self, budget: u64) -> bool {
        let Some(active) = self.active else { return false };
        let free_run = active.goal == Goal::Continue && self.breakpoints.is_empty();
        if free_run {
            let halt = self.session.vm.run(budget.max(1));
            return self.after_halt(halt);
        }
        let mut prev = active.prev;
        let mut steps = active.steps;
        for _ in 0..budget.max(1) {
            let Some(cur) = self.pos() else { break };
            if steps > 0
                && let Some(reason) = self.stop_check(&active, prev, cur, steps)
            {
                self.active = None;
                self.stop_reason = Some(reason);
                return true;
            }
            let halt = self.session.vm.run(1);
            steps += 1;
            prev = cur;
            if !matches!(halt, Halt::Budget) {
                return self.after_halt(halt);
            }
        }
        if let Some(a) = self.active.as_mut() {
            a.steps = steps;
            a.prev = prev;
        }
        false
    }

    /// Runs toward `goal` until it stops or `max_instructions` ran; returns true if it stopped.
    pub fn run_to_stop(&mut self, goal: Goal, max_instructions: u64) -> bool {
        self.start(goal);
        let mut left = max_instructions;
        while self.is_running() && left > 0 {
            let slice = left.min(100_000);
            if self.advance(slice) {
                return true;
            }
            left -= slice;
        }
        !self.is_running()
    }

    /// Why the debugger last stopped.
    pub fn stop_reason(&self) -> Option<&str> {
        self.stop_reason.as_deref()
    }

    /// The session's snapshot plus the debugger's status, stop reason and breakpoints.
    pub fn snapshot(&self) -> SessionSnapshot {
        let mut snap = self.session.snapshot();
        if snap.status == RunStatus::Paused && self.is_running() {
            snap.status = RunStatus::Running;
        }
        snap.stop_reason = if self.is_running() { None } else { self.stop_reason.clone() };
        snap.breakpoints = self.breakpoints.iter().copied().collect();
        snap
    }

    fn after_halt(&mut self, halt: Halt) -> bool {
        match halt {
            Halt::Budget => false,
            Halt::Finished => {
                self.active = None;
                self.stop_reason = Some("finished".to_string());
                true
            }
            Halt::Error(_) => {
                self.active = None;
                self.stop_reason = Some("runtime error".to_string());
                true
            }
        }
    }

    fn pos(&self) -> Option<Pos> {
        let frame = self.session.vm.frames.last()?;
        let function = frame.proto.id;
        let line = self.lines.get(function as usize).and_then(|l| l.get(frame.ip)).copied().unwrap_or(0);
        Some(Pos { function, pc: frame.ip as u32, line, depth: self.session.vm.frames.len() })
    }

    /// Whether to stop before executing at `cur`, having just executed at `prev`.
    fn stop_check(&self, active: &Active, prev: Pos, cur: Pos, steps: u64) -> Option<String> {
        let start = active.start;
        match active.goal {
            Goal::StepInstruction if steps >= 1 => return Some("step".to_string()),
            Goal::StepLine if cur.depth < start.depth || (cur.depth == start.depth && cur.line != start.line) => {
                return Some("step".to_string());
            }
            Goal::StepOut if cur.depth < start.depth => return Some("step out".to_string()),
            Goal::RunToLine(line) if cur.line == line && enters_line(prev, cur) => {
                return Some(format!("reached line {line}"));
            }
            Goal::RunToInstruction { function, pc } if cur.function == function && cur.pc == pc => {
                return Some(format!("reached pc {pc}"));
            }
            _ => {}
        }
        if self.breakpoints.is_empty() {
            return None;
        }
        let at_pc = Breakpoint::Instruction { function: cur.function, pc: cur.pc };
        if self.breakpoints.contains(&at_pc) {
            return Some(format!("breakpoint at pc {}", cur.pc));
        }
        let at_line = Breakpoint::Line { line: cur.line };
        if enters_line(prev, cur) && self.breakpoints.contains(&at_line) {
            return Some(format!("breakpoint at line {}", cur.line));
        }
        None
    }
}

/// True if moving from `prev` to `cur` enters `cur.line`: a call into a function, or a line
/// change within the same frame. Returning to a caller resumes a line; it does not enter it.
fn enters_line(prev: Pos, cur: Pos) -> bool {
    cur.depth > prev.depth || (cur.depth == prev.depth && (cur.line != prev.line || cur.function != prev.function))
}

fn line_tables(session: &Session) -> Vec<Vec<u32>> {
    let src = session.source();
    let map = session.source_map();
    session
        .vm
        .program
        .protos
        .iter()
        .map(|p| p.spans.iter().map(|s| map.line_col(src, s.start).line).collect())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOOP: &str = "\
let total = 0
let i = 0
while (i < 5) {
  total = total + i
  i = i + 1
}
print(total)
";

    fn debugger(src: &str) -> Debugger {
        Debugger::new("t.zx", src, &Options::default()).expect("builds")
    }

    fn line(d: &Debugger) -> u32 {
        d.snapshot().location.map(|l| l.line).unwrap_or(0)
    }

    #[test]
    fn step_instruction_advances_pc_by_one() {
        let mut d = debugger(LOOP);
        assert!(d.run_to_stop(Goal::StepInstruction, 10));
        assert_eq!(d.snapshot().location.map(|l| l.pc), Some(1));
        assert_eq!(d.snapshot().counters.instructions, 1);
        assert_eq!(d.stop_reason(), Some("step"));
    }

    #[test]
    fn step_line_moves_to_the_next_line() {
        let mut d = debugger(LOOP);
        assert_eq!(line(&d), 1);
        assert!(d.run_to_stop(Goal::StepLine, 1000));
        assert_eq!(line(&d), 2);
        assert!(d.run_to_stop(Goal::StepLine, 1000));
        assert_eq!(line(&d), 3);
    }

    #[test]
    fn line_breakpoint_stops_each_iteration() {
        let mut d = debugger(LOOP);
        d.toggle_breakpoint(Breakpoint::Line { line: 4 });
        let mut hits = 0;
        while d.run_to_stop(Goal::Continue, 100_000) && !d.is_done() {
            assert_eq!(line(&d), 4);
            assert_eq!(d.stop_reason(), Some("breakpoint at line 4"));
            hits += 1;
        }
        assert_eq!(hits, 5);
        assert_eq!(d.snapshot().status, RunStatus::Finished);
        assert_eq!(d.snapshot().output, vec!["10"]);
    }

    #[test]
    fn instruction_breakpoint_and_run_to_cursor() {
        let mut d = debugger(LOOP);
        d.toggle_breakpoint(Breakpoint::Instruction { function: 0, pc: 3 });
        assert!(d.run_to_stop(Goal::Continue, 100_000));
        assert_eq!(d.snapshot().location.map(|l| l.pc), Some(3));
        assert!(!d.toggle_breakpoint(Breakpoint::Instruction { function: 0, pc: 3 }));
        assert!(d.run_to_stop(Goal::RunToLine(7), 100_000));
        assert_eq!(line(&d), 7);
        assert_eq!(d.stop_reason(), Some("reached line 7"));
    }

    #[test]
    fn step_out_returns_to_the_caller() {
        let src = "action f(x) {\n  let y = x * 2\n  return y\n}\nlet r = f(3)\nprint(r)\n";
        let mut d = debugger(src);
        d.toggle_breakpoint(Breakpoint::Line { line: 2 });
        assert!(d.run_to_stop(Goal::Continue, 10_000));
        assert_eq!(line(&d), 2);
        assert_eq!(d.snapshot().frames.len(), 2);
        assert!(d.run_to_stop(Goal::StepOut, 10_000));
        assert_eq!(d.snapshot().frames.len(), 1);
        assert_eq!(line(&d), 5);
    }

    #[test]
    fn runtime_error_is_reported_in_the_snapshot() {
        let mut d = debugger("let a = 1\nlet b = 0\nprint(a / b)\n");
        assert!(d.run_to_stop(Goal::Continue, 10_000));
        let snap = d.snapshot();
        assert_eq!(snap.status, RunStatus::Failed);
        let err = snap.error.expect("error view");
        assert_eq!(err.line, 3);
        assert!(err.message.contains("division by zero"), "{}", err.message);
        assert_eq!(snap.location.map(|l| l.line), Some(3));
    }

    #[test]
    fn restart_resets_the_program_and_keeps_breakpoints() {
        let mut d = debugger(LOOP);
        d.toggle_breakpoint(Breakpoint::Line { line: 5 });
        assert!(d.run_to_stop(Goal::Continue, 10_000));
        d.restart().expect("restarts");
        let snap = d.snapshot();
        assert_eq!(snap.counters.instructions, 0);
        assert_eq!(snap.breakpoints, vec![Breakpoint::Line { line: 5 }]);
    }

    #[test]
    fn pause_takes_effect_between_slices() {
        let mut d = debugger("let i = 0\nwhile (true) { i = i + 1 }\n");
        d.start(Goal::Continue);
        assert!(!d.advance(100_000));
        assert_eq!(d.snapshot().status, RunStatus::Running);
        d.pause();
        assert_eq!(d.snapshot().status, RunStatus::Paused);
        assert_eq!(d.stop_reason(), Some("paused"));
    }
}
