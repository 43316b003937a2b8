//! What the debugger records from its session's event stream while it runs: the Chrome trace
//! of the run so far (bounded), the call tree of the flame graph and the profiler's figures,
//! and the VM events it may be asked to stop on.
//!
//! The [`Recorder`] is a [`Listener`] on the session's sink, attached before the program is
//! built so that the trace starts with the pipeline's phases. Events the user chose to break
//! on are queued for the debugger and raise the VM's interrupt flag, so the VM returns at its
//! next safe point (right after the compilation, the native run or the `TX_REVERT`) instead of
//! at the end of a long slice.

use std::cell::{Cell, RefCell};
use std::io::{self, Write};
use std::rc::Rc;

use serde::Serialize;

use crate::trace::chrome::{ChromeSummary, ChromeTraceWriter};
use crate::trace::flame::FlameRecorder;
use crate::trace::{ActionOutcome, Listener, TraceEvent};
use crate::trace::{Profile, Profiler};
use crate::vm::error::ErrorKind;

/// How the message of a failed `require` begins (ERRORS.md §5.1).
const REQUIRE_FAILED: &str = "Requirement failed";

/// Trace events the debugger keeps (about 130 bytes each); past this, the trace says it was
/// truncated (`otherData.truncated`) and records only the ends of slices already open.
pub const TRACE_EVENT_LIMIT: u64 = 100_000;

/// Reverted action calls kept for the contracts pane.
const MAX_REVERTED: usize = 8;

/// Pending stop events kept at most (older ones are dropped).
const MAX_PENDING: usize = 16;

/// A VM event the debugger can stop on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventBreak {
    /// A hot loop was compiled to native code (stops before the native code first runs).
    JitCompiled,
    /// Native code bailed out to the interpreter (stops where the interpreter resumes).
    Bailout,
    /// A restart recompiled units the bytecode cache did not have.
    CacheMiss,
    /// The program is about to fail (stops before the failing instruction, by replaying the
    /// run up to it).
    RuntimeError,
    /// A transaction was rolled back by `TX_REVERT` (stops after it).
    TxRollback,
    /// A `catch` or `finally` is about to handle an error (stops at the raising instruction,
    /// with the frames it unwinds still there, by replaying the run up to it).
    Caught,
    /// A `require` fails (stops at it, before its rollback, by replaying the run up to it).
    RequireFailed,
    /// An external action call is reverted (stops right after its rollback).
    ActionReverted,
    /// An `emit` appended an event (stops right after it, by replaying the slice it was in).
    EventEmitted,
}

impl EventBreak {
    /// Every event, in menu order.
    pub const ALL: [EventBreak; 9] = [
        EventBreak::JitCompiled,
        EventBreak::Bailout,
        EventBreak::CacheMiss,
        EventBreak::RuntimeError,
        EventBreak::TxRollback,
        EventBreak::Caught,
        EventBreak::RequireFailed,
        EventBreak::ActionReverted,
        EventBreak::EventEmitted,
    ];

    /// True for the contract events, whose break takes a filter (a contract, action or event
    /// name).
    pub fn takes_filter(self) -> bool {
        matches!(self, EventBreak::RequireFailed | EventBreak::ActionReverted | EventBreak::EventEmitted)
    }

    /// Short name for the status bar.
    pub fn name(self) -> &'static str {
        match self {
            EventBreak::JitCompiled => "jit",
            EventBreak::Bailout => "bail",
            EventBreak::CacheMiss => "miss",
            EventBreak::RuntimeError => "error",
            EventBreak::TxRollback => "rollback",
            EventBreak::Caught => "catch",
            EventBreak::RequireFailed => "require-failed",
            EventBreak::ActionReverted => "action-reverted",
            EventBreak::EventEmitted => "event-emitted",
        }
    }

    /// What it stops on, for menus and help.
    pub fn describe(self) -> &'static str {
        match self {
            EventBreak::JitCompiled => "a loop is JIT-compiled",
            EventBreak::Bailout => "native code bails out",
            EventBreak::CacheMiss => "a restart misses the cache",
            EventBreak::RuntimeError => "before a runtime error",
            EventBreak::TxRollback => "a transaction rolls back",
            EventBreak::Caught => "an error is caught",
            EventBreak::RequireFailed => "a require fails",
            EventBreak::ActionReverted => "an action call reverts",
            EventBreak::EventEmitted => "an event is emitted",
        }
    }

    /// Where the debugger stops, for menus.
    pub fn detail(self) -> &'static str {
        match self {
            EventBreak::JitCompiled => "before its native code first runs",
            EventBreak::Bailout => "where the interpreter resumes",
            EventBreak::CacheMiss => "at the start, naming recompiled units",
            EventBreak::RuntimeError => "replays up to the failing instruction",
            EventBreak::TxRollback => "right after TX_REVERT",
            EventBreak::Caught => "replays up to the throw, frames intact",
            EventBreak::RequireFailed => "at the require, pending writes still there",
            EventBreak::ActionReverted => "after its rollback, lists the discards",
            EventBreak::EventEmitted => "right after the emit",
        }
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// A VM event that happened while its break was on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Happened {
    /// Loop `loop_id` of function `func` now runs as native code.
    JitCompiled {
        /// Function (proto id).
        func: u32,
        /// Loop index.
        loop_id: u16,
    },
    /// Native code of loop `loop_id` of `func` left through a guard at `pc`.
    Bailout {
        /// Function (proto id).
        func: u32,
        /// Loop index.
        loop_id: u16,
        /// Where the interpreter resumed.
        pc: u32,
        /// Why (`type guard: 'x' holds a string`, `integer overflow`, ...).
        reason: String,
    },
    /// A unit was compiled because the cache did not have it.
    CacheMiss,
    /// A catch or finally of the frame at `to_depth` will handle the error raised by
    /// instruction `pc` of `func` at `from_depth`, the `instructions`-th instruction run.
    Caught {
        /// Function (proto id) of the raising instruction.
        func: u32,
        /// The raising instruction.
        pc: u32,
        /// Instructions run, the raising one included.
        instructions: u64,
        /// The error's message.
        message: String,
        /// Depth of the raising frame.
        from_depth: u32,
        /// Depth of the handler's frame.
        to_depth: u32,
    },
    /// A `require` failed in function `func` (at `pc`; `None` for an uncaught error, which
    /// is where the VM stopped) as the `instructions`-th instruction.
    RequireFailed {
        /// Function and pc of the failing `require`, when known from the event.
        at: Option<(u32, u32)>,
        /// Instructions run, the failing one included.
        instructions: u64,
        /// `Requirement failed: ...`.
        message: String,
    },
    /// An external action call `name` (`Token.transfer`) was reverted.
    ActionReverted {
        /// `Contract.action`.
        name: String,
        /// Gas the call used.
        gas: u64,
        /// Instructions it ran.
        instructions: u64,
    },
    /// `TX_REVERT` discarded a transaction with these many keys written.
    TxRollback {
        /// Depth after the rollback.
        depth: u32,
        /// Keys discarded.
        keys: usize,
    },
}

/// The listener: a bounded Chrome trace plus the queue of stop events.
#[derive(Debug)]
pub struct Recorder {
    trace: ChromeTraceWriter<Vec<u8>>,
    names: Vec<String>,
    breaks: u16,
    pending: Vec<Happened>,
    interrupt: Option<Rc<Cell<bool>>>,
    muted: bool,
    /// The latest reverted action calls (recorded also while muted), oldest first.
    reverted: Vec<String>,
    /// The call tree of the flame graph (`engine::flame`).
    flame: FlameRecorder,
    /// The profiler's per-function figures (for the profile export).
    profiler: Profiler,
}

/// The recorder shared between the sink and the debugger.
pub type SharedRecorder = Rc<RefCell<Recorder>>;

impl Default for Recorder {
    fn default() -> Self {
        Recorder::new()
    }
}

impl Recorder {
    /// An empty recorder with no breaks on.
    pub fn new() -> Recorder {
        Recorder {
            trace: ChromeTraceWriter::new(Vec::new(), TRACE_EVENT_LIMIT),
            names: Vec::new(),
            breaks: 0,
            pending: Vec::new(),
            interrupt: None,
            muted: false,
            reverted: Vec::new(),
            flame: FlameRecorder::new(),
            profiler: Profiler::calls_only(),
        }
    }

    /// The flame graph's call tree so far.
    pub fn flame(&self) -> &FlameRecorder {
        &self.flame
    }

    /// The run resumes at `now_ns` after a stop: the flame graph charges no frame for the
    /// time it was paused.
    pub fn resume_clock(&mut self, now_ns: u64) {
        self.flame.resume_clock(now_ns);
    }

    /// The profile so far (calls, time and instructions per function).
    pub fn profile(&self) -> Profile {
        self.profiler.profile()
    }

    /// Starts a new trace (after a restart), keeping the breaks.
    pub fn restart_trace(&mut self) {
        self.trace = ChromeTraceWriter::new(Vec::new(), TRACE_EVENT_LIMIT);
        self.trace.set_function_names(self.names.clone());
        self.pending.clear();
        self.reverted.clear();
        self.flame.reset();
        self.profiler = Profiler::calls_only();
    }

    /// The latest reverted action calls, oldest first (`Token.transfer (190 gas, ...)`).
    pub fn reverted_calls(&self) -> &[String] {
        &self.reverted
    }

    /// Forgets the reverted calls (the run starts over).
    pub fn clear_reverted(&mut self) {
        self.reverted.clear();
    }

    /// Names the program's functions in the trace (by proto id).
    pub fn set_function_names(&mut self, names: Vec<String>) {
        self.trace.set_function_names(names.clone());
        self.names = names;
    }

    /// Names the file of each function (a multi-file program), written in its calls' `args`.
    pub fn set_function_files(&mut self, files: Vec<String>) {
        self.trace.set_function_files(files);
    }

    /// The VM flag to raise when a break event happens.
    pub fn set_interrupt(&mut self, flag: Rc<Cell<bool>>) {
        self.interrupt = Some(flag);
    }

    /// While muted (a replay), nothing is traced and nothing stops.
    pub fn set_muted(&mut self, muted: bool) {
        self.muted = muted;
    }

    /// Turns the break on `event` on or off.
    pub fn set_break(&mut self, event: EventBreak, on: bool) {
        if on {
            self.breaks |= event.bit();
        } else {
            self.breaks &= !event.bit();
        }
    }

    /// True if the break on `event` is on.
    pub fn breaks_on(&self, event: EventBreak) -> bool {
        self.breaks & event.bit() != 0
    }

    /// Takes the queued stop events, oldest first.
    pub fn take_pending(&mut self) -> Vec<Happened> {
        std::mem::take(&mut self.pending)
    }

    /// Writes the complete trace so far (a Chrome Trace Event Format document) to `out`; the
    /// recording goes on.
    pub fn export(&self, out: &mut dyn Write) -> io::Result<ChromeSummary> {
        let (bytes, summary) = self.trace.finished_copy();
        out.write_all(&bytes)?;
        out.flush()?;
        Ok(summary)
    }

    fn queue(&mut self, event: EventBreak, happened: Happened) {
        if !self.breaks_on(event) {
            return;
        }
        if self.pending.len() >= MAX_PENDING {
            self.pending.remove(0);
        }
        self.pending.push(happened);
        if let Some(flag) = &self.interrupt {
            flag.set(true);
        }
    }
}

impl Listener for Recorder {
    fn on_event(&mut self, at_ns: u64, event: &TraceEvent<'_>) {
        if let TraceEvent::ActionEnd { name, outcome: ActionOutcome::Reverted, gas_used, instructions, .. } = *event {
            if self.reverted.len() >= MAX_REVERTED {
                self.reverted.remove(0);
            }
            self.reverted.push(format!("{name} ({gas_used} gas, {instructions} instructions)"));
        }
        if self.muted {
            return;
        }
        self.trace.on_event(at_ns, event);
        self.flame.on_event(at_ns, event);
        self.profiler.on_event(at_ns, event);
        match *event {
            TraceEvent::JitCompileEnd { func, loop_id, compiled: true, .. } => {
                self.queue(EventBreak::JitCompiled, Happened::JitCompiled { func, loop_id });
            }
            TraceEvent::JitBailout { func, loop_id, pc, reason } => {
                let happened = Happened::Bailout { func, loop_id, pc, reason: reason.to_string() };
                self.queue(EventBreak::Bailout, happened);
            }
            TraceEvent::CacheMiss { .. } => self.queue(EventBreak::CacheMiss, Happened::CacheMiss),
            TraceEvent::TxRollback { depth, keys } => {
                self.queue(EventBreak::TxRollback, Happened::TxRollback { depth, keys: keys.0.len() });
            }
            TraceEvent::Caught { message, thrown: None, func, pc, instructions, .. }
                if message.starts_with(REQUIRE_FAILED) =>
            {
                let happened =
                    Happened::RequireFailed { at: Some((func, pc)), instructions, message: message.to_string() };
                self.queue(EventBreak::RequireFailed, happened);
            }
            TraceEvent::Error { kind: ErrorKind::RequireFailed, message, instructions, .. } => {
                let happened = Happened::RequireFailed { at: None, instructions, message: message.to_string() };
                self.queue(EventBreak::RequireFailed, happened);
            }
            TraceEvent::ActionEnd { name, outcome: ActionOutcome::Reverted, gas_used, instructions, .. } => {
                let happened = Happened::ActionReverted { name: name.to_string(), gas: gas_used, instructions };
                self.queue(EventBreak::ActionReverted, happened);
            }
            _ => {}
        }
        if let TraceEvent::Caught { message, thrown, func, pc, from_depth, to_depth, instructions, .. } = *event {
            let message = match thrown {
                Some(value) => format!("throw {}", value.text()),
                None => message.to_string(),
            };
            let happened = Happened::Caught { func, pc, instructions, message, from_depth, to_depth };
            self.queue(EventBreak::Caught, happened);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_chosen_events_stop_and_raise_the_flag() {
        let flag = Rc::new(Cell::new(false));
        let mut r = Recorder::new();
        r.set_interrupt(flag.clone());
        r.on_event(0, &TraceEvent::JitBailout { func: 0, loop_id: 0, pc: 3, reason: "overflow" });
        assert!(r.take_pending().is_empty() && !flag.get());
        r.set_break(EventBreak::Bailout, true);
        assert!(r.breaks_on(EventBreak::Bailout) && !r.breaks_on(EventBreak::JitCompiled));
        r.on_event(1, &TraceEvent::JitBailout { func: 0, loop_id: 0, pc: 3, reason: "overflow" });
        assert!(flag.get());
        let expected = Happened::Bailout { func: 0, loop_id: 0, pc: 3, reason: "overflow".to_string() };
        assert_eq!(r.take_pending(), vec![expected]);
        r.set_muted(true);
        flag.set(false);
        r.on_event(2, &TraceEvent::JitBailout { func: 0, loop_id: 0, pc: 3, reason: "overflow" });
        assert!(!flag.get());
    }

    #[test]
    fn the_export_is_a_complete_document_and_recording_goes_on() {
        let mut r = Recorder::new();
        r.set_function_names(vec!["<main>".to_string()]);
        r.on_event(0, &TraceEvent::RunStart);
        let mut first = Vec::new();
        let summary = r.export(&mut first).expect("exports");
        let doc: serde_json::Value = serde_json::from_slice(&first).expect("JSON");
        assert_eq!(summary.events_kept, 2, "the run slice, begun and closed");
        assert_eq!(doc["otherData"]["truncated"], false);
        r.on_event(1000, &TraceEvent::Print { text: "hi" });
        let mut second = Vec::new();
        r.export(&mut second).expect("exports");
        let doc: serde_json::Value = serde_json::from_slice(&second).expect("JSON");
        let names: Vec<&str> = doc["traceEvents"]
            .as_array()
            .map(|a| a.iter().filter(|e| e["ph"] != "M").filter_map(|e| e["name"].as_str()).collect())
            .unwrap_or_default();
        assert_eq!(names, ["<main>", "print", "<main>"]);
    }
}
