//! The debugger: a session plus breakpoints and a stepping goal, advanced in bounded slices
//! so that its caller (the TUI's VM thread, the headless `snapshot` command) stays in control.
//!
//! Stepping and breakpoints single-step the VM (`Vm::run(1)`) and look at the position between
//! steps; a free run with no breakpoints runs whole budgets. Positions are judged *before* an
//! instruction runs: a line breakpoint fires when execution enters its line (the line changes
//! within a frame, or a call enters a function at that line), an instruction breakpoint when
//! the instruction is next. The position the debugger is stopped at never stops it again.
//!
//! Breaks on VM events ([`EventBreak`]) come from the session's event stream through the
//! [`Recorder`], which raises the VM's interrupt flag so a free run stops right after the
//! event. A runtime error cannot be seen coming, so the break on it replays the run from the
//! start (same build, fresh VM, events muted) up to the instruction before the failing one:
//! programs are deterministic, and the replay checks it stopped where the error happened.
//!
//! The debugger also keeps exact execution counts on, and records the run's Chrome trace
//! ([`Debugger::export_trace`]).

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};
use std::rc::Rc;

use super::cache::CompileCache;
use super::loader::LoadedProgram;
use super::pipeline::UnitSource;
use super::recorder::{EventBreak, Happened, Recorder, SharedRecorder};
use super::snapshot::{Breakpoint, RunStatus, SessionSnapshot};
use super::{Options, Session, observe};
use crate::diag::Diagnostic;
use crate::trace::chrome::ChromeSummary;
use crate::trace::{RunOutcome, TraceEvent};
use crate::vm::interp::Halt;

pub mod break_list;
mod contract_breaks;
pub mod eval;
mod export;

/// Nanoseconds between two counter samples in the trace while running.
const COUNTERS_EVERY_NS: u64 = 50_000_000;

/// What the debugger runs toward.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Goal {
    /// Run until a breakpoint, the end, or a pause.
    Continue,
    /// Execute one instruction.
    StepInstruction,
    /// Execute one instruction, a call with the whole callee (gdb's `nexti`): run until the
    /// depth is back at or above the start's.
    NextInstruction,
    /// Run until the source line changes, entering calls (gdb's `step`): a new line in the
    /// same frame, a called function's first line, or the caller's line after a return.
    StepInto,
    /// Run until the source line changes at the same or a shallower call depth.
    StepLine,
    /// Run until the current function returns.
    StepOut,
    /// Run until execution enters this line of this file (or a breakpoint).
    RunToLine {
        /// The file (index in the snapshot's `program.files`; 0 is the main file).
        file: u32,
        /// The 1-based line.
        line: u32,
    },
    /// Run until this instruction is next (or a breakpoint).
    RunToInstruction {
        /// Function index.
        function: u32,
        /// Instruction index.
        pc: u32,
    },
}

/// What makes a breakpoint stop, beyond being reached (gdb's `condition`, `ignore` and
/// `tbreak`). A plain breakpoint has the default: stop every time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BreakOptions {
    /// A Zexus expression evaluated in the stopped frame (its locals, the globals and STATE);
    /// the breakpoint stops only when it is truthy. A condition that does not compile or
    /// raises stops, and the stop reason says why.
    pub condition: Option<String>,
    /// Hits to pass over before stopping (`ignore N`: stop on hit N + 1).
    pub ignore: u64,
    /// Delete the breakpoint when it first stops.
    pub temporary: bool,
}

impl BreakOptions {
    /// How these options read after a breakpoint's place: ` if n == 0, ignore 3, once`.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        if let Some(c) = &self.condition {
            out.push_str(&format!(" if {c}"));
        }
        if self.ignore > 0 {
            out.push_str(&format!(" (ignore {})", self.ignore));
        }
        if self.temporary {
            out.push_str(" (temporary)");
        }
        out
    }
}

/// A breakpoint as `snapshot --break` and the TUI's breakpoint prompt write it: where, and the options after it.
#[derive(Debug, Clone)]
pub struct BreakSpec {
    /// The file as written (a display path or module name), `None` for the main file.
    pub file: Option<String>,
    /// The 1-based line.
    pub line: u32,
    /// Condition, ignore count, temporariness.
    pub options: BreakOptions,
}

/// `[FILE:]LINE [ignore N] [if COND]` (gdb's `break LINE if COND` and `ignore`; in the place
/// the last colon splits, so a file name may hold colons; COND is a Zexus expression and runs
/// to the end of the text).
pub fn parse_break(text: &str) -> Result<BreakSpec, String> {
    let (head, condition) = match text.split_once(" if ") {
        Some((head, cond)) if !cond.trim().is_empty() => (head, Some(cond.trim().to_string())),
        Some(_) => return Err(format!("'{text}': `if` needs a condition")),
        None => (text, None),
    };
    let (place, ignore) = match head.split_once(" ignore ") {
        Some((place, n)) => {
            let n: u64 = n.trim().parse().map_err(|_| format!("'{text}': expected `ignore N` with a count N"))?;
            (place, n)
        }
        None => (head, 0),
    };
    let place = place.trim();
    let (file, line) = match place.rsplit_once(':') {
        Some((file, line)) => (Some(file.to_string()), line),
        None => (None, place),
    };
    let line: u32 =
        line.trim().parse().map_err(|_| format!("expected [FILE:]LINE [ignore N] [if COND], got '{text}'"))?;
    Ok(BreakSpec { file, line, options: BreakOptions { condition, ignore, temporary: false } })
}

/// The index of the file `--break FILE:LINE` names: its display path or its module name.
pub fn break_file(program: &crate::engine::files::ProgramFiles, file: &str) -> Option<u32> {
    let by_name = || program.files.iter().position(|f| !f.name.is_empty() && f.name == file).map(|i| i as u32);
    program.by_display(file).or_else(by_name)
}

/// What a watchpoint watches (gdb's `watch`): the run stops when its value changes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Watched {
    /// A global of the program.
    Global(String),
    /// A local of the frame at this depth (1 = the outermost frame); the watchpoint goes out
    /// of scope, and is deleted with a stop, when that frame returns.
    Local {
        /// The local's name.
        name: String,
        /// The frame's depth (number of frames, that frame included).
        depth: usize,
    },
    /// `STATE[key]` (the pending value inside a transaction).
    State(String),
}

impl Watched {
    /// `NAME` or `STATE["key"]` as typed, resolved in the innermost frame of `vm`: a local
    /// of that frame if it has a slot of that name, else a global.
    pub fn parse(text: &str, vm: &crate::vm::interp::Vm) -> Result<Watched, String> {
        let text = text.trim();
        if let Some(rest) = text.strip_prefix("STATE[").and_then(|r| r.strip_suffix(']')) {
            let key = rest.trim();
            let key = key
                .strip_prefix('"')
                .and_then(|k| k.strip_suffix('"'))
                .ok_or_else(|| format!("expected STATE[\"key\"], got '{text}'"))?;
            return Ok(Watched::State(key.to_string()));
        }
        let ident = !text.is_empty()
            && text.chars().all(|c| c.is_alphanumeric() || c == '_')
            && !text.starts_with(|c: char| c.is_ascii_digit());
        if !ident {
            return Err(format!("expected NAME or STATE[\"key\"], got '{text}'"));
        }
        if let Some(f) = vm.frames.last()
            && vm.frames.len() > 1
            && f.proto.slot_names.iter().any(|n| n == text)
        {
            return Ok(Watched::Local { name: text.to_string(), depth: vm.frames.len() });
        }
        if vm.program.global_names.iter().any(|n| n == text) {
            return Ok(Watched::Global(text.to_string()));
        }
        Err(format!("no local or global named '{text}' here"))
    }

    /// How the stop reason names it.
    pub fn describe(&self) -> String {
        match self {
            Watched::Global(name) | Watched::Local { name, .. } => name.clone(),
            Watched::State(key) => format!("STATE[{key:?}]"),
        }
    }

    /// Its value now as the views preview values (`None`: unset or out of scope).
    fn value(&self, vm: &crate::vm::interp::Vm) -> Option<String> {
        match self {
            Watched::State(key) => vm.ledger.get(key).map(crate::vm::preview::data_preview),
            Watched::Global(name) => eval::lookup(vm, 0, name).map(|v| crate::vm::preview::preview(&v)),
            Watched::Local { name, depth } => {
                let frame = depth.checked_sub(1)?;
                if vm.frames.len() < *depth {
                    return None;
                }
                eval::lookup(vm, frame, name).map(|v| crate::vm::preview::preview(&v))
            }
        }
    }
}

/// A watchpoint and the value it last saw.
#[derive(Debug, Clone)]
struct Watch {
    what: Watched,
    last: Option<String>,
}

/// Where the VM is, as the debugger compares positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pos {
    function: u32,
    pc: u32,
    file: u32,
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

/// A replay toward the instruction that raises an error (a runtime error, or one a `catch`
/// will handle).
#[derive(Debug, Clone)]
struct Replay {
    /// Instructions to run before stopping.
    until: u64,
    /// Where the error happens: function and pc of the raising instruction.
    at: (u32, u32),
    /// The stop reason once there.
    reason: String,
    /// For an emit replay (`at` and `reason` unused): the emit counter at the replayed
    /// slice's start and end.
    emits: Option<(u64, u64)>,
}

/// A session under the debugger's control.
pub struct Debugger {
    session: Session,
    src: String,
    /// The multi-file program being debugged (`None` for one file), rebuilt by restarts.
    program: Option<Rc<LoadedProgram>>,
    /// Per function, per instruction: file and source line.
    lines: Vec<Vec<(u32, u32)>>,
    breakpoints: BTreeSet<Breakpoint>,
    /// Conditions, ignore counts and temporariness of the breakpoints that have them.
    break_options: BTreeMap<Breakpoint, BreakOptions>,
    /// Watchpoints, in the order they were set.
    watches: Vec<Watch>,
    /// How often each breakpoint was reached (its condition held) since the last restart.
    break_hits: BTreeMap<Breakpoint, u64>,
    event_breaks: BTreeSet<EventBreak>,
    /// Filters of the contract breaks (a contract, action or event name).
    event_filters: BTreeMap<EventBreak, String>,
    /// What the latest rollback discarded.
    last_rollback: Option<String>,
    active: Option<Active>,
    stop_reason: Option<String>,
    recorder: SharedRecorder,
    /// The VM's interrupt flag (replaced with the VM on restarts).
    interrupt: Rc<Cell<bool>>,
    last_counters_ns: u64,
    replay: Option<Replay>,
    /// The instruction count at which a runtime error was already replayed to.
    replayed_error: Option<u64>,
}

impl Debugger {
    /// Builds `src` (named `name` in messages) paused before its first instruction.
    ///
    /// The session reports to `options.sink` if it is enabled, else to a sink of its own on the
    /// system clock; either way the debugger's recorder listens from the start of the build.
    pub fn new(name: &str, src: &str, options: &Options) -> Result<Debugger, Vec<Diagnostic>> {
        Debugger::with_cache(name, src, options, CompileCache::default())
    }

    /// [`Debugger::new`] building (and rebuilding on restarts) through `cache`.
    pub fn with_cache(
        name: &str,
        src: &str,
        options: &Options,
        cache: CompileCache,
    ) -> Result<Debugger, Vec<Diagnostic>> {
        Debugger::with_program(name, src, None, options, cache)
    }

    /// [`Debugger::with_cache`] for the multi-file program `program` when there is one (its
    /// main file's text is `src`); restarts rebuild it.
    pub fn with_program(
        name: &str,
        src: &str,
        program: Option<Rc<LoadedProgram>>,
        options: &Options,
        cache: CompileCache,
    ) -> Result<Debugger, Vec<Diagnostic>> {
        let recorder: SharedRecorder = Rc::new(RefCell::new(Recorder::new()));
        let sink = if options.sink.is_enabled() { options.sink.clone() } else { observe::live_sink() };
        sink.attach(recorder.clone());
        let options = Options { sink, ..options.clone() };
        let mut session = Session::builder(src)
            .program_opt(program.clone())
            .name(name)
            .options(&options)
            .capture_output()
            .cache(cache)
            .build()?;
        session.enable_exec_counts();
        let lines = line_tables(&session);
        let interrupt = session.vm.interrupt_flag();
        let mut debugger = Debugger {
            session,
            src: src.to_string(),
            program,
            lines,
            breakpoints: BTreeSet::new(),
            break_options: BTreeMap::new(),
            break_hits: BTreeMap::new(),
            watches: Vec::new(),
            event_breaks: BTreeSet::new(),
            event_filters: BTreeMap::new(),
            last_rollback: None,
            active: None,
            stop_reason: Some("start".to_string()),
            recorder,
            interrupt,
            last_counters_ns: 0,
            replay: None,
            replayed_error: None,
        };
        debugger.attach_recorder();
        Ok(debugger)
    }

    /// Points the recorder at the current VM and program.
    fn attach_recorder(&mut self) {
        self.interrupt = self.session.vm.interrupt_flag();
        self.session.vm.ledger.contracts.record_discards = true;
        let names = self.session.vm.program.protos.iter().map(|p| p.display_name().to_string()).collect();
        let files = self.session.files();
        let file_of =
            |p: &std::rc::Rc<crate::vm::program::Proto>| files.get(files.file_of(p.span.start)).display.clone();
        let owners: Vec<String> =
            if files.is_multi() { self.session.vm.program.protos.iter().map(file_of).collect() } else { Vec::new() };
        if let Ok(mut r) = self.recorder.try_borrow_mut() {
            r.set_function_names(names);
            r.set_function_files(owners);
            r.set_interrupt(self.interrupt.clone());
        }
    }

    /// The session being debugged.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// Starts over: the same source reloaded in the same session (so every unit comes from
    /// the bytecode cache), paused at the start. Breakpoints are kept.
    pub fn restart(&mut self) -> Result<(), Vec<Diagnostic>> {
        if let Some(program) = self.program.clone() {
            return self.restart_with_program(program);
        }
        let src = self.src.clone();
        self.restart_with(&src)
    }

    /// [`Debugger::restart_with`] for a multi-file program loaded again from its files as they
    /// are now. Line breakpoints stay in their files, found by display path (those in a file
    /// the program no longer has are dropped).
    pub fn restart_with_program(&mut self, program: Rc<LoadedProgram>) -> Result<(), Vec<Diagnostic>> {
        let old: Vec<String> = self.session.files().files.iter().map(|f| f.display.clone()).collect();
        self.restart_by(|s| s.reload_program(&program).map(|_| ()))?;
        self.src = program.files.first().map(|f| f.text.clone()).unwrap_or_default();
        self.program = Some(program);
        let files = self.session.files();
        let remap = |bp: Breakpoint| match bp {
            Breakpoint::Line { file, line } => {
                let display = old.get(file as usize)?;
                // The main file keeps its index whatever its display name.
                let file = if file == 0 { 0 } else { files.by_display(display)? };
                Some(Breakpoint::Line { file, line })
            }
            other => Some(other),
        };
        self.breakpoints = std::mem::take(&mut self.breakpoints).into_iter().filter_map(remap).collect();
        self.break_options =
            std::mem::take(&mut self.break_options).into_iter().filter_map(|(bp, o)| Some((remap(bp)?, o))).collect();
        Ok(())
    }

    /// Starts over on `src` (the program's file as it is now): units whose code did not change
    /// come from the bytecode cache, the others are recompiled. Paused at the start, with the
    /// breakpoints kept; on a compile error the current program stays.
    pub fn restart_with(&mut self, src: &str) -> Result<(), Vec<Diagnostic>> {
        self.restart_by(|s| s.reload(src).map(|_| ()))?;
        self.src = src.to_string();
        self.program = None;
        Ok(())
    }

    fn restart_by(
        &mut self,
        reload: impl FnOnce(&mut Session) -> Result<(), Vec<Diagnostic>>,
    ) -> Result<(), Vec<Diagnostic>> {
        // The abandoned run ends in the old trace; the new trace starts with the rebuild.
        self.session.report_stopped();
        self.session.run_started = false;
        if let Ok(mut r) = self.recorder.try_borrow_mut() {
            r.set_muted(false);
            r.restart_trace();
        }
        reload(&mut self.session)?;
        self.lines = line_tables(&self.session);
        self.attach_recorder();
        self.active = None;
        self.replay = None;
        self.replayed_error = None;
        self.last_rollback = None;
        self.break_hits.clear();
        let vm = &self.session.vm;
        self.watches.retain(|w| !matches!(w.what, Watched::Local { .. }));
        for w in &mut self.watches {
            w.last = w.what.value(vm);
        }
        let missed = self.take_events().into_iter().any(|h| h == Happened::CacheMiss);
        self.stop_reason = Some(if missed { self.cache_miss_reason() } else { "restarted".to_string() });
        Ok(())
    }

    fn cache_miss_reason(&self) -> String {
        let units: Vec<&str> = self
            .session
            .last_build()
            .units
            .iter()
            .filter(|u| u.source == UnitSource::Compiled)
            .map(|u| u.name.as_str())
            .collect();
        format!("cache miss: recompiled {}", if units.is_empty() { "?".to_string() } else { units.join(", ") })
    }

    /// Breakpoints, sorted.
    pub fn breakpoints(&self) -> impl Iterator<Item = &Breakpoint> {
        self.breakpoints.iter()
    }

    /// Watches `what`: the run stops after the instruction that changes its value.
    pub fn add_watch(&mut self, what: Watched) {
        let last = what.value(&self.session.vm);
        self.watches.retain(|w| w.what != what);
        self.watches.push(Watch { what, last });
    }

    /// Stops watching `what`; returns true if it was watched.
    pub fn delete_watch(&mut self, what: &Watched) -> bool {
        let n = self.watches.len();
        self.watches.retain(|w| &w.what != what);
        self.watches.len() != n
    }

    /// The watchpoints with the value each last saw.
    pub fn watches(&self) -> impl Iterator<Item = (&Watched, Option<&str>)> {
        self.watches.iter().map(|w| (&w.what, w.last.as_deref()))
    }

    /// Sets `bp` with `options` (replacing any options it had); its hit count starts at 0.
    pub fn set_breakpoint(&mut self, bp: Breakpoint, options: BreakOptions) {
        self.breakpoints.insert(bp);
        self.break_hits.remove(&bp);
        if options == BreakOptions::default() {
            self.break_options.remove(&bp);
        } else {
            self.break_options.insert(bp, options);
        }
    }

    /// Deletes `bp` with its options; returns true if it was set.
    pub fn delete_breakpoint(&mut self, bp: Breakpoint) -> bool {
        self.break_options.remove(&bp);
        self.break_hits.remove(&bp);
        self.breakpoints.remove(&bp)
    }

    /// The options of `bp` (the default for a plain breakpoint).
    pub fn break_options(&self, bp: &Breakpoint) -> BreakOptions {
        self.break_options.get(bp).cloned().unwrap_or_default()
    }

    /// How often `bp` was reached with its condition holding since the last restart.
    pub fn break_hits(&self, bp: &Breakpoint) -> u64 {
        self.break_hits.get(bp).copied().unwrap_or(0)
    }

    /// Sets `bp` if it is not set, clears it if it is; returns true if it is now set.
    pub fn toggle_breakpoint(&mut self, bp: Breakpoint) -> bool {
        if self.breakpoints.contains(&bp) {
            self.delete_breakpoint(bp);
            false
        } else {
            self.breakpoints.insert(bp);
            true
        }
    }

    /// Turns the break on `event` on if it is off and off if it is on; returns true if on.
    pub fn toggle_event_break(&mut self, event: EventBreak) -> bool {
        let on = !self.event_breaks.remove(&event);
        if on {
            self.event_breaks.insert(event);
        } else {
            self.event_filters.remove(&event);
        }
        if let Ok(mut r) = self.recorder.try_borrow_mut() {
            r.set_break(event, on);
        }
        on
    }

    /// Turns the break on `event` on with `filter` (a contract, action or event name; `None`
    /// for every occurrence), or off.
    pub fn set_event_break(&mut self, event: EventBreak, on: bool, filter: Option<String>) {
        match filter.filter(|f| on && !f.is_empty()) {
            Some(f) => self.event_filters.insert(event, f),
            None => self.event_filters.remove(&event),
        };
        if on != self.event_breaks.contains(&event) {
            self.toggle_event_break(event);
        }
    }

    /// The filters of the breaks that have one.
    pub fn event_filters(&self) -> impl Iterator<Item = (&EventBreak, &String)> {
        self.event_filters.iter()
    }

    /// The VM events the debugger stops on.
    pub fn event_breaks(&self) -> impl Iterator<Item = &EventBreak> {
        self.event_breaks.iter()
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
            if !self.session.run_started {
                self.session.run_started = true;
                self.session.sink.emit(&TraceEvent::RunStart);
                self.counters_event();
            } else if let Ok(mut r) = self.recorder.try_borrow_mut() {
                // The time paused is nobody's: the flame graph's clock starts again here.
                r.resume_clock(self.session.sink.now_ns());
            }
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
    /// stopped (goal reached, breakpoint, VM event, end of program) during this slice.
    pub fn advance(&mut self, budget: u64) -> bool {
        let stopped = self.advance_inner(budget);
        let _ = self.discarded_text();
        let now = self.session.sink.now_ns();
        if stopped || now.saturating_sub(self.last_counters_ns) >= COUNTERS_EVERY_NS {
            self.last_counters_ns = now;
            self.counters_event();
        }
        stopped
    }

    fn advance_inner(&mut self, budget: u64) -> bool {
        let Some(active) = self.active else { return false };
        if self.replay.is_some() {
            return self.advance_replay(budget);
        }
        let free_run = active.goal == Goal::Continue && self.breakpoints.is_empty() && self.watches.is_empty();
        if free_run {
            let (instructions, emitted) = (self.session.vm.counters.instructions, self.emitted());
            let halt = self.session.vm.run_yielding(budget.max(1));
            if let Some(reason) = self.event_stop() {
                if !matches!(halt, Halt::Budget) {
                    self.after_halt(halt);
                }
                return self.stop(reason);
            }
            if self.replay.is_some() {
                return false;
            }
            if self.event_breaks.contains(&EventBreak::EventEmitted) && self.emitted() > emitted {
                self.begin_emit_replay(instructions, emitted, self.emitted());
                return false;
            }
            return self.after_halt(halt);
        }
        let mut prev = active.prev;
        let mut steps = active.steps;
        for _ in 0..budget.max(1) {
            let Some(cur) = self.pos() else { break };
            if steps > 0
                && let Some(reason) = self.stop_check(&active, prev, cur, steps)
            {
                return self.stop(reason);
            }
            let emitted = self.emitted();
            let halt = self.session.vm.run(1);
            steps += 1;
            prev = cur;
            if let Some(reason) = self.event_stop().or_else(|| self.emit_check(emitted)) {
                if !matches!(halt, Halt::Budget) {
                    self.after_halt(halt);
                }
                return self.stop(reason);
            }
            if self.replay.is_some() {
                return false;
            }
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

    /// Runs the replay toward the instruction before a runtime error.
    fn advance_replay(&mut self, budget: u64) -> bool {
        let Some(replay) = self.replay.clone() else { return false };
        let left = replay.until.saturating_sub(self.session.vm.counters.instructions);
        if let (Some((before, after)), 0) = (replay.emits, left) {
            return self.step_emits(budget, before, after);
        }
        // Yielding: never past `until`, and native code goes on across slices as in the run
        // being replayed.
        let halt = if left == 0 { Halt::Budget } else { self.session.vm.run_yielding(budget.max(1).min(left)) };
        self.interrupt.set(false);
        if self.session.vm.counters.instructions < replay.until && matches!(halt, Halt::Budget) {
            return false;
        }
        if replay.emits.is_some() && matches!(halt, Halt::Budget) {
            return false;
        }
        self.end_replay();
        let here = self.pos().map(|p| (p.function, p.pc));
        if matches!(halt, Halt::Budget) && here == Some(replay.at) {
            return self.stop(replay.reason);
        }
        // The replay went elsewhere (the program is not deterministic): carry on normally.
        if matches!(halt, Halt::Budget) { false } else { self.after_halt(halt) }
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

    /// Writes the Chrome trace of the run so far (Trace Event Format JSON, which Perfetto and
    /// chrome://tracing open) to `out`. At most [`super::recorder::TRACE_EVENT_LIMIT`] events
    /// are kept per run; `otherData.truncated` says when more happened.
    pub fn export_trace(&self, out: &mut dyn Write) -> io::Result<ChromeSummary> {
        match self.recorder.try_borrow() {
            Ok(r) => r.export(out),
            Err(_) => Err(io::Error::other("the trace is busy")),
        }
    }

    /// The session's snapshot plus the debugger's status, stop reason and breakpoints.
    pub fn snapshot(&self) -> SessionSnapshot {
        let mut snap = self.session.snapshot();
        if snap.status == RunStatus::Paused && self.is_running() {
            snap.status = RunStatus::Running;
        }
        snap.stop_reason = if self.is_running() { None } else { self.stop_reason.clone() };
        snap.breakpoints = self.breakpoints.iter().copied().collect();
        snap.break_list = self.break_rows();
        snap.event_breaks = self.event_breaks.iter().copied().collect();
        snap.event_filters = self.event_filters.iter().map(|(e, f)| (*e, f.clone())).collect();
        snap.last_rollback = self.last_rollback.clone();
        snap.reverted_calls = self.recorder.try_borrow().map(|r| r.reverted_calls().to_vec()).unwrap_or_default();
        snap.flame = Some(self.flame_view());
        snap
    }

    /// The world's emit counter.
    fn emitted(&self) -> u64 {
        self.session.vm.ledger.contracts.emitted
    }

    /// Ends a replay: events are recorded again.
    fn end_replay(&mut self) {
        self.replay = None;
        if let Ok(mut r) = self.recorder.try_borrow_mut() {
            r.set_muted(false);
        }
    }

    fn stop(&mut self, reason: String) -> bool {
        self.active = None;
        self.stop_reason = Some(reason);
        true
    }

    fn take_events(&mut self) -> Vec<Happened> {
        self.recorder.try_borrow_mut().map(|mut r| r.take_pending()).unwrap_or_default()
    }

    /// After the VM returned: the reason to stop for a VM event the user breaks on, if any.
    fn event_stop(&mut self) -> Option<String> {
        if !self.interrupt.replace(false) {
            return None;
        }
        // A caught error already replayed to (the user continued from its throw) is passed.
        let replayed = self.replayed_error;
        let happened = self.take_events().into_iter().find(|h| match h {
            Happened::Caught { instructions, .. } => Some(*instructions) != replayed,
            Happened::RequireFailed { at, instructions, .. } => {
                let func = at.map(|(f, _)| f).or_else(|| self.session.location().map(|l| l.function));
                let names = func.map(|f| self.function_names(f)).unwrap_or_default();
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                Some(*instructions) != replayed && self.filter_matches(EventBreak::RequireFailed, &names)
            }
            Happened::ActionReverted { name, .. } => {
                let names = contract_breaks::action_names(name);
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                self.filter_matches(EventBreak::ActionReverted, &names)
            }
            _ => true,
        })?;
        let loop_header = |func: u32, loop_id: u16| -> u32 {
            let proto = self.session.vm.program.protos.get(func as usize);
            proto.and_then(|p| p.loops.get(loop_id as usize)).map_or(0, |l| l.header)
        };
        Some(match happened {
            Happened::JitCompiled { func, loop_id } => {
                format!("JIT compiled loop at {}", self.at_pc(func, loop_header(func, loop_id)))
            }
            Happened::Bailout { func, pc, reason, .. } => {
                format!("bail-out: {reason} ({})", self.at_pc(func, pc))
            }
            Happened::CacheMiss => self.cache_miss_reason(),
            Happened::TxRollback { depth, keys } => {
                let at = self.pos().map_or("line 0".to_string(), |p| self.at_pc(p.function, p.pc.saturating_sub(1)));
                let discarded = self.discarded_text().unwrap_or_else(|| format!("{keys} keys"));
                format!("transaction rolled back at {at} (depth {depth}); discarded {discarded}")
            }
            Happened::ActionReverted { name, gas, instructions } => self.reverted_reason(&name, gas, instructions),
            Happened::RequireFailed { at, instructions, message } => {
                let at = at.or_else(|| self.session.location().map(|l| (l.function, l.pc)));
                let (func, pc) = at?;
                if instructions == 0 {
                    return None;
                }
                let name = self.function_names(func).into_iter().next().unwrap_or_default();
                let reason = format!("require failed: {message} in {name} ({})", self.at_pc(func, pc));
                self.begin_replay(instructions, (func, pc), reason);
                return None;
            }
            Happened::Caught { func, pc, instructions, message, from_depth, to_depth } => {
                if instructions == 0 {
                    return None;
                }
                let frames = from_depth.saturating_sub(to_depth);
                let reason = format!(
                    "error caught: {message} ({}, unwinding {frames} frame{} to the handler)",
                    self.at_pc(func, pc),
                    if frames == 1 { "" } else { "s" }
                );
                self.begin_replay(instructions, (func, pc), reason);
                return None;
            }
        })
    }

    fn after_halt(&mut self, halt: Halt) -> bool {
        match halt {
            Halt::Budget => false,
            Halt::Finished => {
                self.run_end(RunOutcome::Finished);
                self.stop("finished".to_string())
            }
            Halt::Error(e) => {
                let n = self.session.vm.counters.instructions;
                let replay =
                    self.event_breaks.contains(&EventBreak::RuntimeError) && self.replayed_error != Some(n) && n > 0;
                if replay && let Some(loc) = self.session.location() {
                    let reason =
                        format!("before runtime error: {} ({})", e.message, self.where_line(loc.file, loc.line));
                    self.begin_replay(n, (loc.function, loc.pc), reason);
                    return false;
                }
                self.run_end(RunOutcome::Error);
                self.stop("runtime error".to_string())
            }
        }
    }

    /// Starts the run over (same build, fresh VM, events muted) to stop before the `n`-th
    /// instruction, which raises an error at `at`; `n` is never replayed to twice.
    fn begin_replay(&mut self, n: u64, at: (u32, u32), reason: String) {
        self.replayed_error = Some(n);
        self.replay = Some(Replay { until: n - 1, at, reason, emits: None });
        self.mute_and_rewind();
    }

    /// Starts the run over with events muted (the replay's start).
    fn mute_and_rewind(&mut self) {
        if let Ok(mut r) = self.recorder.try_borrow_mut() {
            r.set_muted(true);
            r.clear_reverted();
        }
        self.last_rollback = None;
        self.session.rewind();
        self.attach_recorder();
        self.session.run_started = true;
    }

    fn run_end(&mut self, outcome: RunOutcome) {
        if self.session.run_started {
            let c = &self.session.vm.counters;
            self.session.sink.emit(&TraceEvent::RunEnd { outcome, instructions: c.instructions, gas: c.gas });
        }
    }

    fn counters_event(&self) {
        if !self.session.run_started {
            return;
        }
        let c = &self.session.vm.counters;
        self.session.sink.emit(&TraceEvent::Counters {
            instructions: c.instructions,
            gas: c.gas,
            gas_limit: self.session.vm.config.gas_limit,
            depth: u32::try_from(self.session.vm.frames.len().saturating_sub(1)).unwrap_or(u32::MAX),
        });
    }

    /// File and line of instruction `pc` of `function`.
    fn line_of(&self, function: u32, pc: u32) -> (u32, u32) {
        self.lines.get(function as usize).and_then(|l| l.get(pc as usize)).copied().unwrap_or((0, 0))
    }

    /// `line N` in a one-file program, `D:N` in a multi-file one.
    fn where_line(&self, file: u32, line: u32) -> String {
        let files = self.session.files();
        if files.is_multi() { format!("{}:{line}", files.get(file).display) } else { format!("line {line}") }
    }

    /// [`Debugger::where_line`] of instruction `pc` of `function`.
    fn at_pc(&self, function: u32, pc: u32) -> String {
        let (file, line) = self.line_of(function, pc);
        self.where_line(file, line)
    }

    fn pos(&self) -> Option<Pos> {
        let frame = self.session.vm.frames.last()?;
        let function = frame.proto.id;
        let (file, line) = self.line_of(function, frame.ip as u32);
        Some(Pos { function, pc: frame.ip as u32, file, line, depth: self.session.vm.frames.len() })
    }

    /// Whether to stop before executing at `cur`, having just executed at `prev`.
    fn stop_check(&mut self, active: &Active, prev: Pos, cur: Pos, steps: u64) -> Option<String> {
        let start = active.start;
        match active.goal {
            Goal::StepInstruction if steps >= 1 => return Some("step".to_string()),
            Goal::NextInstruction if steps >= 1 && cur.depth <= start.depth => return Some("step".to_string()),
            Goal::StepInto if cur.depth != start.depth || cur.line != start.line || cur.file != start.file => {
                return Some("step".to_string());
            }
            Goal::StepLine if cur.depth < start.depth || (cur.depth == start.depth && cur.line != start.line) => {
                return Some("step".to_string());
            }
            Goal::StepOut if cur.depth < start.depth => return Some("step out".to_string()),
            Goal::RunToLine { file, line } if cur.file == file && cur.line == line && enters_line(prev, cur) => {
                return Some(format!("reached {}", self.where_line(file, line)));
            }
            Goal::RunToInstruction { function, pc } if cur.function == function && cur.pc == pc => {
                return Some(format!("reached pc {pc}"));
            }
            _ => {}
        }
        if let Some(why) = self.watch_check(prev) {
            return Some(why);
        }
        if self.breakpoints.is_empty() {
            return None;
        }
        let at_pc = Breakpoint::Instruction { function: cur.function, pc: cur.pc };
        if self.breakpoints.contains(&at_pc)
            && let Some(why) = self.breakpoint_hit(at_pc, format!("breakpoint at pc {}", cur.pc))
        {
            return Some(why);
        }
        let at_line = Breakpoint::Line { file: cur.file, line: cur.line };
        if enters_line(prev, cur) && self.breakpoints.contains(&at_line) {
            let place = format!("breakpoint at {}", self.where_line(cur.file, cur.line));
            return self.breakpoint_hit(at_line, place);
        }
        None
    }

    /// The stop reason if a watched value changed (old → new, and the line of the instruction
    /// that changed it, `prev`), or a watched local's frame
    /// returned (the watchpoint is then deleted, as gdb does).
    fn watch_check(&mut self, prev: Pos) -> Option<String> {
        let at = self.where_line(prev.file, prev.line);
        let vm = &self.session.vm;
        for i in 0..self.watches.len() {
            let w = &mut self.watches[i];
            if let Watched::Local { depth, .. } = w.what
                && vm.frames.len() < depth
            {
                let name = w.what.describe();
                self.watches.remove(i);
                return Some(format!("watchpoint {name} deleted: its frame returned"));
            }
            let now = w.what.value(vm);
            if now != w.last {
                let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "(unset)".to_string());
                let why = format!("watchpoint {}: {} → {} ({at})", w.what.describe(), show(&w.last), show(&now));
                w.last = now;
                return Some(why);
            }
        }
        None
    }

    /// A set breakpoint `bp` was reached: the stop reason if it stops (its condition holds or
    /// fails to evaluate, and its ignore count is used up), counting the hit and deleting a
    /// temporary breakpoint that stops.
    fn breakpoint_hit(&mut self, bp: Breakpoint, place: String) -> Option<String> {
        let Some(options) = self.break_options.get(&bp).cloned() else {
            *self.break_hits.entry(bp).or_insert(0) += 1;
            return Some(place);
        };
        let mut reason = place;
        if let Some(cond) = &options.condition {
            let frame = self.session.vm.frames.len().saturating_sub(1);
            match eval::condition_holds(&self.session.vm, frame, cond) {
                Ok(false) => return None,
                Ok(true) => reason.push_str(&format!(" ({cond})")),
                // gdb's rule: a condition that cannot be evaluated stops, saying so.
                Err(e) => {
                    *self.break_hits.entry(bp).or_insert(0) += 1;
                    return Some(format!("{reason}: error in condition `{cond}`: {e}"));
                }
            }
        }
        let hits = self.break_hits.entry(bp).or_insert(0);
        *hits += 1;
        if *hits <= options.ignore {
            return None;
        }
        if options.ignore > 0 {
            reason.push_str(&format!(", hit {hits}"));
        }
        if options.temporary {
            self.delete_breakpoint(bp);
            reason.push_str(", temporary breakpoint deleted");
        }
        Some(reason)
    }
}

/// True if moving from `prev` to `cur` enters `cur.line`: a call into a function, or a line
/// change within the same frame. Returning to a caller resumes a line; it does not enter it.
fn enters_line(prev: Pos, cur: Pos) -> bool {
    cur.depth > prev.depth || (cur.depth == prev.depth && (cur.line != prev.line || cur.function != prev.function))
}

fn line_tables(session: &Session) -> Vec<Vec<(u32, u32)>> {
    let files = session.files();
    session
        .vm
        .program
        .protos
        .iter()
        .map(|p| {
            p.spans
                .iter()
                .map(|s| {
                    let (file, lc) = files.locate(s.start);
                    (file, lc.line)
                })
                .collect()
        })
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

    const LOOP_LONG: &str =
        "let total = 0\nlet i = 0\nwhile (i < 5000) {\n  total = total + i\n  i = i + 1\n}\nprint(total)\n";

    fn debugger(src: &str) -> Debugger {
        Debugger::new("t.zx", src, &Options::default()).expect("builds")
    }

    fn line(d: &Debugger) -> u32 {
        d.snapshot().location.map(|l| l.line).unwrap_or(0)
    }

    const DOWN: &str = "action down(n) {\n  if n == 0 {\n    return 0\n  }\n  return down(n - 1) + 1\n}\nlet k = 7\nprint(down(500))\n";

    #[test]
    fn a_conditional_breakpoint_stops_a_500_deep_recursion_at_its_base_case() {
        let mut d = debugger(DOWN);
        d.set_breakpoint(
            Breakpoint::main_line(2),
            BreakOptions { condition: Some("n == 0".into()), ..Default::default() },
        );
        assert!(d.run_to_stop(Goal::Continue, 10_000_000));
        assert_eq!(d.stop_reason(), Some("breakpoint at line 2 (n == 0)"));
        assert_eq!(d.session().vm.frames.len(), 502);
        assert_eq!(eval::eval_preview(&d.session().vm, 501, "n + k").as_deref(), Ok("7"));
        // The outer frames see their own `n`.
        assert_eq!(eval::eval_preview(&d.session().vm, 1, "n").as_deref(), Ok("500"));
        assert_eq!(d.break_hits(&Breakpoint::main_line(2)), 1);
    }

    #[test]
    fn an_ignore_count_stops_on_the_following_hit_and_a_temporary_breakpoint_goes() {
        let mut d = debugger(DOWN);
        let bp = Breakpoint::main_line(2);
        d.set_breakpoint(bp, BreakOptions { ignore: 9, temporary: true, ..Default::default() });
        assert!(d.run_to_stop(Goal::Continue, 10_000_000));
        assert_eq!(d.stop_reason(), Some("breakpoint at line 2, hit 10, temporary breakpoint deleted"));
        assert_eq!(eval::eval_preview(&d.session().vm, d.session().vm.frames.len() - 1, "n").as_deref(), Ok("491"));
        assert_eq!(d.breakpoints().count(), 0);
        assert!(d.run_to_stop(Goal::Continue, 10_000_000));
        assert!(d.is_done());
    }

    #[test]
    fn a_condition_that_fails_stops_and_says_why() {
        let mut d = debugger(DOWN);
        d.set_breakpoint(
            Breakpoint::main_line(2),
            BreakOptions { condition: Some("n ==".into()), ..Default::default() },
        );
        assert!(d.run_to_stop(Goal::Continue, 10_000_000));
        let why = d.stop_reason().unwrap_or_default().to_string();
        assert!(why.starts_with("breakpoint at line 2: error in condition `n ==`: "), "{why}");
        let mut d = debugger(DOWN);
        d.set_breakpoint(
            Breakpoint::main_line(2),
            BreakOptions { condition: Some("n / 0 == 1".into()), ..Default::default() },
        );
        assert!(d.run_to_stop(Goal::Continue, 10_000_000));
        let why = d.stop_reason().unwrap_or_default().to_string();
        assert!(why.contains("error in condition `n / 0 == 1`: division by zero"), "{why}");
    }

    #[test]
    fn a_condition_cannot_print_write_state_or_hang() {
        let src = "let i = 0\nwhile i < 3 {\n  i = i + 1\n}\nprint(i)\n";
        let mut d = debugger(src);
        let cond = "(function() { print(\"x\"); STATE[\"k\"] = 1; return true })()";
        d.set_breakpoint(Breakpoint::main_line(3), BreakOptions { condition: Some(cond.into()), ..Default::default() });
        assert!(d.run_to_stop(Goal::Continue, 1_000_000));
        assert_eq!(d.stop_reason(), Some(format!("breakpoint at line 3 ({cond})").as_str()));
        assert!(d.session().vm.ledger.get("k").is_none());
        let spin = "(function() { while true { } })()";
        let r = eval::eval_in_frame(&d.session().vm, 0, spin);
        assert!(matches!(&r, Err(e) if e.contains("step") || e.contains("instructions")), "{r:?}");
        d.set_breakpoint(Breakpoint::main_line(3), BreakOptions::default());
        assert!(d.run_to_stop(Goal::Continue, 1_000_000));
        assert!(d.run_to_stop(Goal::Continue, 1_000_000));
        assert!(d.run_to_stop(Goal::Continue, 1_000_000));
        assert!(d.is_done());
        let out = d.snapshot().output.concat();
        assert!(out.contains('3') && !out.contains('x'), "{out:?}");
    }

    #[test]
    fn an_expression_changes_copies_of_lists_and_refuses_functions() {
        let src = "let xs = [1, 2]\naction f() { return 1 }\nprint(len(xs))\n";
        let mut d = debugger(src);
        d.toggle_breakpoint(Breakpoint::main_line(3));
        assert!(d.run_to_stop(Goal::Continue, 1_000_000));
        let vm = &d.session().vm;
        assert!(eval::eval_preview(vm, 0, "xs.push(9)").is_ok());
        assert_eq!(eval::eval_preview(vm, 0, "len(xs)").as_deref(), Ok("2"));
        let e = eval::eval_preview(vm, 0, "f()").unwrap_err();
        assert!(e.contains("cannot be used in an expression"), "{e}");
    }

    #[test]
    fn a_watchpoint_on_state_stops_where_it_changes_showing_old_and_new() {
        let src = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/samples/bank.zx")).expect("sample");
        let mut d = debugger(&src);
        let what = Watched::parse("STATE[\"alice\"]", &d.session().vm).expect("parses");
        d.add_watch(what);
        assert!(d.run_to_stop(Goal::Continue, 10_000_000));
        assert_eq!(d.stop_reason(), Some("watchpoint STATE[\"alice\"]: (unset) → 100 (line 13)"));
        assert!(d.run_to_stop(Goal::Continue, 10_000_000));
        let why = d.stop_reason().unwrap_or_default().to_string();
        assert!(why.starts_with("watchpoint STATE[\"alice\"]: 100 → "), "{why}");
        assert!(!why.ends_with("→ 100"), "{why}");
    }

    #[test]
    fn watchpoints_on_a_global_and_a_local() {
        let src =
            "let g = 1\naction f(n) {\n  let t = n\n  t = t * 2\n  g = g + t\n  return t\n}\nf(3)\nf(4)\nprint(g)\n";
        let mut d = debugger(src);
        d.add_watch(Watched::parse("g", &d.session().vm).expect("global"));
        assert!(d.run_to_stop(Goal::Continue, 1_000_000));
        assert_eq!(d.stop_reason(), Some("watchpoint g: (unset) → 1 (line 1)"));
        assert!(d.run_to_stop(Goal::Continue, 1_000_000));
        assert_eq!(d.stop_reason(), Some("watchpoint g: 1 → 7 (line 5)"));
        assert!(d.run_to_stop(Goal::Continue, 1_000_000));
        assert_eq!(d.stop_reason(), Some("watchpoint g: 7 → 15 (line 5)"));
        d.delete_watch(&Watched::Global("g".into()));
        // A local of f, set inside f's second call: stops on its change, then when f returns.
        let mut d = debugger(src);
        d.toggle_breakpoint(Breakpoint::main_line(4));
        assert!(d.run_to_stop(Goal::Continue, 1_000_000));
        d.toggle_breakpoint(Breakpoint::main_line(4));
        let t = Watched::parse("t", &d.session().vm).expect("local");
        assert_eq!(t, Watched::Local { name: "t".into(), depth: 2 });
        d.add_watch(t);
        assert!(d.run_to_stop(Goal::Continue, 1_000_000));
        assert_eq!(d.stop_reason(), Some("watchpoint t: 3 → 6 (line 4)"));
        assert!(d.run_to_stop(Goal::Continue, 1_000_000));
        assert_eq!(d.stop_reason(), Some("watchpoint t deleted: its frame returned"));
        assert_eq!(d.watches().count(), 0);
        assert!(Watched::parse("nope", &d.session().vm).is_err());
    }

    #[test]
    fn step_into_enters_a_call_and_next_instruction_steps_over_it() {
        let src = "action f(n) {\n  return n + 1\n}\nlet a = f(1)\nprint(a)\n";
        let mut d = debugger(src);
        assert!(d.run_to_stop(Goal::StepInto, 1_000));
        assert_eq!(line(&d), 4);
        assert!(d.run_to_stop(Goal::StepInto, 1_000));
        assert_eq!((line(&d), d.session().vm.frames.len()), (2, 2));
        assert!(d.run_to_stop(Goal::StepInto, 1_000));
        assert_eq!((line(&d), d.session().vm.frames.len()), (4, 1));
        // nexti over the CALL: one stop, back at depth 1 past the call.
        let mut d = debugger(src);
        d.run_to_stop(Goal::StepInto, 1_000);
        let mut calls = 0;
        while d.session().vm.frames.len() == 1 && !d.is_done() && calls < 20 {
            let before = d.session().vm.counters.instructions;
            assert!(d.run_to_stop(Goal::NextInstruction, 1_000));
            assert_eq!(d.session().vm.frames.len(), 1, "nexti never stops inside f");
            calls += 1;
            if d.session().vm.counters.instructions - before > 1 {
                break;
            }
        }
        assert!(d.session().vm.counters.calls >= 1 && calls < 20);
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
        d.toggle_breakpoint(Breakpoint::main_line(4));
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
        assert!(d.run_to_stop(Goal::RunToLine { file: 0, line: 7 }, 100_000));
        assert_eq!(line(&d), 7);
        assert_eq!(d.stop_reason(), Some("reached line 7"));
    }

    #[test]
    fn step_out_returns_to_the_caller() {
        let src = "action f(x) {\n  let y = x * 2\n  return y\n}\nlet r = f(3)\nprint(r)\n";
        let mut d = debugger(src);
        d.toggle_breakpoint(Breakpoint::main_line(2));
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
        d.toggle_breakpoint(Breakpoint::main_line(5));
        assert!(d.run_to_stop(Goal::Continue, 10_000));
        d.restart().expect("restarts");
        let snap = d.snapshot();
        assert_eq!(snap.counters.instructions, 0);
        assert_eq!(snap.breakpoints, vec![Breakpoint::main_line(5)]);
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

    #[test]
    fn breaks_when_a_loop_is_compiled_and_before_it_runs_natively() {
        if !crate::jit::AVAILABLE {
            return;
        }
        let mut d = debugger(LOOP_LONG);
        assert!(d.toggle_event_break(EventBreak::JitCompiled));
        assert!(d.run_to_stop(Goal::Continue, 10_000_000));
        assert_eq!(d.stop_reason(), Some("JIT compiled loop at line 3"));
        let snap = d.snapshot();
        assert_eq!(snap.status, RunStatus::Paused);
        assert_eq!(snap.counters.jit_instructions, 0, "stopped before native code ran");
        assert_eq!(snap.event_breaks, vec![EventBreak::JitCompiled]);
        assert!(d.run_to_stop(Goal::Continue, 10_000_000));
        assert_eq!(d.stop_reason(), Some("finished"));
        assert!(d.snapshot().counters.jit_instructions > 0);
    }

    #[test]
    fn breaks_on_a_bail_out_where_the_interpreter_resumes() {
        if !crate::jit::AVAILABLE {
            return;
        }
        let src =
            "let x = 0\nlet i = 0\nwhile (i < 1000) {\n  x = x + 1\n  if (i == 500) { x = \"s\" }\n  i = i + 1\n}\n";
        let mut d = debugger(src);
        d.toggle_event_break(EventBreak::Bailout);
        assert!(d.run_to_stop(Goal::Continue, 10_000_000));
        let reason = d.stop_reason().unwrap_or_default().to_string();
        assert_eq!(reason, "bail-out: unsupported string constant (line 5)");
        assert_eq!(line(&d), 5, "stopped where the interpreter resumes");
        assert_eq!(d.snapshot().jit.bailouts, 1);
    }

    #[test]
    fn breaks_after_a_rollback() {
        let src = "STATE[\"a\"] = 1\nTX_BEGIN()\nSTATE[\"a\"] = 2\nTX_REVERT()\nprint(STATE[\"a\"])\n";
        let mut d = debugger(src);
        d.toggle_event_break(EventBreak::TxRollback);
        assert!(d.run_to_stop(Goal::Continue, 10_000));
        assert_eq!(d.stop_reason(), Some("transaction rolled back at line 4 (depth 0); discarded STATE[\"a\"]: 1 → 2"));
        assert_eq!(line(&d), 5);
        assert!(d.run_to_stop(Goal::Continue, 10_000));
        assert_eq!(d.snapshot().output, vec!["1"]);
    }

    #[test]
    fn breaks_before_a_runtime_error_by_replaying() {
        let src =
            "let i = 0\nlet t = 0\nwhile (i < 300) { t = t + i; i = i + 1 }\nprint(t)\nlet z = t - t\nprint(t / z)\n";
        let mut d = debugger(src);
        d.toggle_event_break(EventBreak::RuntimeError);
        assert!(d.run_to_stop(Goal::Continue, 10_000_000));
        assert_eq!(d.stop_reason(), Some("before runtime error: division by zero (line 6)"));
        let snap = d.snapshot();
        assert_eq!(snap.status, RunStatus::Paused);
        assert_eq!(snap.location.map(|l| l.line), Some(6));
        assert_eq!(snap.output, vec!["44850"], "the replay printed the output once");
        assert_eq!(snap.operands.first().map(String::as_str), Some("0"), "the divisor is on the stack");
        assert!(d.run_to_stop(Goal::Continue, 10_000));
        assert_eq!(d.snapshot().status, RunStatus::Failed);
        assert_eq!(d.stop_reason(), Some("runtime error"));
    }

    #[test]
    fn breaks_on_a_caught_throw_at_the_throw_with_its_frames() {
        let src = "action c(n) {\n  if n > 2 { throw \"deep \" + str(n) }\n  return c(n + 1)\n}\n\
                   print(\"start\")\ntry {\n  c(1)\n} catch (e) {\n  print(\"caught\", e)\n}\n\
                   try { c(3) } catch { print(\"again\") }\n";
        let mut d = debugger(src);
        d.toggle_event_break(EventBreak::Caught);
        assert!(d.run_to_stop(Goal::Continue, 10_000_000));
        assert_eq!(d.stop_reason(), Some("error caught: throw \"deep 3\" (line 2, unwinding 3 frames to the handler)"));
        let snap = d.snapshot();
        assert_eq!(snap.status, RunStatus::Paused);
        assert_eq!(snap.location.map(|l| l.line), Some(2));
        assert_eq!(snap.frames.len(), 4, "<main> and three frames of c, not yet unwound");
        assert_eq!(snap.output, vec!["start"], "the replay printed the output once");
        // Continuing runs the throw into the catch; the next caught error stops again.
        assert!(d.run_to_stop(Goal::Continue, 10_000_000));
        assert_eq!(d.stop_reason(), Some("error caught: throw \"deep 3\" (line 2, unwinding 1 frame to the handler)"));
        assert_eq!(d.snapshot().output, vec!["start", "caught deep 3"]);
        assert!(d.run_to_stop(Goal::Continue, 10_000_000));
        assert_eq!(d.stop_reason(), Some("finished"));
        assert_eq!(d.snapshot().output, vec!["start", "caught deep 3", "again"]);
    }

    #[test]
    fn a_restart_of_an_edited_program_breaks_on_its_cache_misses() {
        let src = "action f(x) { return x + 1 }\naction g(x) { return x * 2 }\nprint(f(1), g(2))\n";
        let mut d = debugger(src);
        d.toggle_event_break(EventBreak::CacheMiss);
        d.restart().expect("restarts");
        assert_eq!(d.stop_reason(), Some("restarted"));
        let edited = src.replace("x * 2", "x * 3");
        d.restart_with(&edited).expect("restarts");
        assert_eq!(d.stop_reason(), Some("cache miss: recompiled g"));
        assert!(d.run_to_stop(Goal::Continue, 10_000));
        assert_eq!(d.snapshot().output, vec!["2 6"]);
    }

    #[test]
    fn the_trace_export_holds_the_phases_and_calls_of_the_run() {
        let src = "action f(x) { return x + 1 }\nlet i = 0\nwhile (i < 3) { print(f(i)); i = i + 1 }\n";
        let mut d = debugger(src);
        assert!(d.run_to_stop(Goal::Continue, 10_000));
        let mut out = Vec::new();
        let summary = d.export_trace(&mut out).expect("exports");
        let doc: serde_json::Value = serde_json::from_slice(&out).expect("JSON");
        let events = doc["traceEvents"].as_array().cloned().unwrap_or_default();
        assert_eq!(summary.events_kept as usize, events.iter().filter(|e| e["ph"] != "M").count());
        let has = |name: &str, ph: &str| events.iter().any(|e| e["name"] == name && e["ph"] == ph);
        assert!(has("parse", "B") && has("link", "E"), "pipeline phases");
        assert!(has("<main>", "B") && has("<main>", "E"), "the run");
        assert_eq!(events.iter().filter(|e| e["name"] == "f" && e["ph"] == "B").count(), 3, "calls");
        assert_eq!(doc["otherData"]["truncated"], false);
        // A restart starts a new trace, beginning with the rebuild (from the cache).
        d.restart().expect("restarts");
        let mut out = Vec::new();
        d.export_trace(&mut out).expect("exports");
        let doc: serde_json::Value = serde_json::from_slice(&out).expect("JSON");
        let events = doc["traceEvents"].as_array().cloned().unwrap_or_default();
        assert!(events.iter().any(|e| e["name"] == "cache hit"));
        assert!(!events.iter().any(|e| e["name"] == "f"));
    }

    #[test]
    fn a_restart_rebuilds_from_the_cache() {
        let mut d = debugger("action f(x) { return x }\nprint(f(1))\n");
        let first = d.snapshot().cache.expect("cache figures");
        assert_eq!((first.hits, first.misses, first.builds, first.last_hits), (0, 2, 1, 0));
        d.restart().expect("restarts");
        let second = d.snapshot().cache.expect("cache figures");
        assert_eq!((second.hits, second.misses, second.builds), (2, 2, 2));
        assert_eq!((second.last_hits, second.last_units), (2, 2));
        assert_eq!(second.entries, 2);
        assert!((second.hit_rate() - 0.5).abs() < 1e-9);
    }

    #[test]
    fn counts_are_on_in_the_debugger() {
        let mut d = debugger(LOOP);
        assert!(d.run_to_stop(Goal::Continue, 10_000));
        let snap = d.snapshot();
        let profile = snap.profile.expect("counts");
        assert_eq!(profile.line_hits[4], 5, "the loop body ran five times");
        assert_eq!(profile.line_hits[7], 1);
        assert_eq!(profile.instructions.iter().flatten().sum::<u64>(), snap.counters.instructions);
    }

    /// Multi-file programs, loaded from an in-memory file system.
    mod multi_file {
        use std::collections::HashMap;
        use std::path::{Path, PathBuf};

        use super::*;
        use crate::engine::loader::{self, ModuleFs, PathKind};

        /// Files under `/p`, the working directory.
        struct MemFs(HashMap<PathBuf, String>);

        impl MemFs {
            fn abs(path: &Path) -> PathBuf {
                Path::new("/p").join(path)
            }
        }

        impl ModuleFs for MemFs {
            fn kind(&self, path: &Path) -> PathKind {
                if self.0.contains_key(&MemFs::abs(path)) { PathKind::File } else { PathKind::Missing }
            }
            fn canonical(&self, path: &Path) -> Option<PathBuf> {
                let abs = MemFs::abs(path);
                self.0.contains_key(&abs).then_some(abs)
            }
            fn read(&self, path: &Path) -> Result<String, String> {
                self.0.get(&MemFs::abs(path)).cloned().ok_or_else(|| "missing".to_string())
            }
        }

        const MAIN: &str = "use { area } from \"./m/shapes.zx\"\nuse { mean } from \"./m/stats.zx\"\n\
                            let a = area(3)\nprint(a, mean([a, 1]))\n";
        const SHAPES: &str = "export action area(side) {\n  let a = side * side\n  return a\n}\n";
        const STATS: &str = "export action mean(xs) {\n  return (xs[0] + xs[1]) / 2\n}\n";

        fn load(main: &str, shapes: &str) -> Rc<LoadedProgram> {
            let fs = MemFs(HashMap::from([
                (PathBuf::from("/p/main.zx"), main.to_string()),
                (PathBuf::from("/p/m/shapes.zx"), shapes.to_string()),
                (PathBuf::from("/p/m/stats.zx"), STATS.to_string()),
            ]));
            Rc::new(loader::load(&fs, Path::new("main.zx"), main.to_string()).map_err(|(d, _)| d).expect("loads"))
        }

        fn debugger() -> Debugger {
            let program = load(MAIN, SHAPES);
            Debugger::with_program("main.zx", MAIN, Some(program), &Options::default(), CompileCache::default())
                .expect("builds")
        }

        #[test]
        fn steps_into_a_module_function_and_out() {
            let mut d = debugger();
            assert!(d.run_to_stop(Goal::RunToLine { file: 0, line: 3 }, 10_000));
            assert_eq!(d.stop_reason(), Some("reached main.zx:3"));
            let mut steps = 0;
            while d.snapshot().location.map(|l| l.file) == Some(0) {
                assert!(d.run_to_stop(Goal::StepInstruction, 10));
                steps += 1;
                assert!(steps < 20, "never entered the module");
            }
            let snap = d.snapshot();
            let loc = snap.location.expect("a location");
            assert_eq!((snap.file_name(loc.file), loc.line), ("m/shapes.zx", 2));
            assert_eq!(snap.function(loc.function).map(|f| (f.name.as_str(), f.file)), Some(("area@m/shapes.zx", 1)));
            let frames: Vec<(String, u32, u32)> =
                snap.frames.iter().map(|f| (f.name.clone(), f.file, f.line)).collect();
            assert_eq!(frames, [("<main>".to_string(), 0, 3), ("area@m/shapes.zx".to_string(), 1, 2)]);
            assert!(d.run_to_stop(Goal::StepOut, 10_000));
            let loc = d.snapshot().location.expect("a location");
            assert_eq!((loc.file, loc.line), (0, 3));
        }

        #[test]
        fn a_module_breakpoint_follows_its_file_across_restarts() {
            let mut d = debugger();
            d.toggle_breakpoint(Breakpoint::Line { file: 2, line: 2 });
            assert!(d.run_to_stop(Goal::Continue, 10_000));
            assert_eq!(d.stop_reason(), Some("breakpoint at m/stats.zx:2"));
            // The main file now imports stats first: the module's index changes, the
            // breakpoint stays in m/stats.zx.
            let swapped = "use { mean } from \"./m/stats.zx\"\nuse { area } from \"./m/shapes.zx\"\n\
                           let a = area(3)\nprint(a, mean([a, 1]))\n";
            d.restart_with_program(load(swapped, SHAPES)).expect("restarts");
            assert_eq!(d.snapshot().breakpoints, vec![Breakpoint::Line { file: 1, line: 2 }]);
            assert!(d.run_to_stop(Goal::Continue, 10_000));
            assert_eq!(d.stop_reason(), Some("breakpoint at m/stats.zx:2"));
            assert!(d.run_to_stop(Goal::Continue, 10_000));
            assert_eq!(d.snapshot().output, vec!["9 5.0"]);
        }

        #[test]
        fn a_restart_after_a_module_edit_recompiles_only_that_file() {
            let mut d = debugger();
            d.toggle_event_break(EventBreak::CacheMiss);
            d.restart_with_program(load(MAIN, &SHAPES.replace("side * side", "side * side + 0"))).expect("restarts");
            assert_eq!(d.stop_reason(), Some("cache miss: recompiled area@m/shapes.zx"));
            let snap = d.snapshot();
            let cache = snap.cache.as_ref().expect("cache figures");
            let files: Vec<(u32, u64, u64, bool)> =
                cache.files.iter().map(|f| (f.file, f.units, f.hits, f.changed)).collect();
            assert_eq!(files, [(0, 1, 1, false), (1, 2, 1, true), (2, 2, 2, false)]);
            assert_eq!(cache.files[1].why(cache.builds), "file changed: recompiled area@m/shapes.zx");
            assert!(d.run_to_stop(Goal::Continue, 10_000));
            assert_eq!(d.snapshot().output, vec!["9 5.0"]);
            let profile = d.snapshot().profile.expect("counts");
            assert_eq!(profile.line_hits_in(1, 2), 1, "line 2 of m/shapes.zx ran once");
        }
    }
}
