//! The engine's side of observability: the system clock, phase events around the pipeline,
//! installing the VM bridge, and running a session in slices that report counters.

use std::rc::Rc;
use std::time::Instant;

use super::Session;
use crate::compile::optimize::PassStats;
use crate::syntax;
use crate::trace::{Clock, EventSink, Phase, RunOutcome, TraceEvent, VmBridge};
use crate::vm::interp::{Halt, Vm};

/// Instructions between two [`TraceEvent::Counters`] samples when a session runs observed.
pub const SAMPLE_EVERY: u64 = 10_000;

/// The system's monotonic clock (the only implementation of [`Clock`] that reads real time).
#[derive(Debug, Clone, Copy)]
pub struct MonotonicClock {
    origin: Instant,
}

impl MonotonicClock {
    /// A clock whose origin is now.
    pub fn new() -> MonotonicClock {
        MonotonicClock { origin: Instant::now() }
    }
}

impl Default for MonotonicClock {
    fn default() -> Self {
        MonotonicClock::new()
    }
}

impl Clock for MonotonicClock {
    fn now_us(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    fn now_ns(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}

/// An enabled sink on the system clock, ready for listeners.
pub fn live_sink() -> EventSink {
    EventSink::new(Rc::new(MonotonicClock::new()))
}

/// Runs `f` between a begin and an end event of `phase`.
pub(super) fn phase<T>(sink: &EventSink, phase: Phase, f: impl FnOnce() -> T) -> T {
    sink.emit(&TraceEvent::PhaseBegin { phase });
    let res = f();
    sink.emit(&TraceEvent::PhaseEnd { phase });
    res
}

/// Times tokenizing alone, for the trace's `lex` slice. The parser lexes on the fly, so
/// this costs one extra lexing pass and runs only when someone listens.
pub(super) fn lex_phase(sink: &EventSink, src: &str) {
    if sink.has_listeners() {
        phase(sink, Phase::Lex, || syntax::lexer::tokenize(src));
    }
}

/// Reports each optimizer pass's figures.
pub(super) fn opt_passes(sink: &EventSink, stats: &[PassStats]) {
    for s in stats {
        sink.emit(&TraceEvent::OptPass {
            pass: s.pass,
            removed: s.removed as u64,
            folded: s.folded as u64,
            jumps_threaded: s.jumps_threaded as u64,
            fused: s.fused as u64,
            branches_resolved: s.branches_resolved as u64,
        });
    }
}

/// Installs the bridge as the VM's observer when `sink` is enabled.
pub(super) fn attach(vm: &mut Vm, sink: &EventSink) {
    if sink.is_enabled() {
        vm.set_observer(Some(Box::new(VmBridge::new(sink.clone()))));
    }
}

impl Session {
    fn counters_event(&self) {
        let c = &self.vm.counters;
        self.sink.emit(&TraceEvent::Counters {
            instructions: c.instructions,
            gas: c.gas,
            gas_limit: self.vm.config.gas_limit,
            depth: u32::try_from(self.vm.frames.len().saturating_sub(1)).unwrap_or(u32::MAX),
        });
    }

    /// Runs at most `budget` instructions, reporting to the session's sink: `run_start` before
    /// the first slice, a `counters` sample after each, and `run_end` when the program ends.
    pub fn run_slice(&mut self, budget: u64) -> Halt {
        if !self.run_started {
            self.run_started = true;
            self.sink.emit(&TraceEvent::RunStart);
            self.counters_event();
        }
        let was_done = self.vm.is_done();
        let halt = self.vm.run(budget);
        if !was_done {
            self.counters_event();
            let outcome = match halt {
                Halt::Finished => Some(RunOutcome::Finished),
                Halt::Error(_) => Some(RunOutcome::Error),
                Halt::Budget => None,
            };
            if let Some(outcome) = outcome {
                let c = &self.vm.counters;
                self.sink.emit(&TraceEvent::RunEnd { outcome, instructions: c.instructions, gas: c.gas });
            }
        }
        halt
    }

    /// Tells listeners the run was abandoned before its end (closes open activations).
    pub fn report_stopped(&mut self) {
        if self.run_started && !self.vm.is_done() {
            let c = &self.vm.counters;
            self.sink.emit(&TraceEvent::RunEnd {
                outcome: RunOutcome::Stopped,
                instructions: c.instructions,
                gas: c.gas,
            });
        }
    }

    pub(super) fn run_observed(&mut self) -> Halt {
        loop {
            match self.run_slice(SAMPLE_EVERY) {
                Halt::Budget => continue,
                other => return other,
            }
        }
    }
}
