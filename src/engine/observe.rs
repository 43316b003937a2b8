//! The engine's side of observability: the system clock, phase events around the pipeline,
//! installing the VM bridge, and running a session in slices that report counters.

use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::Session;
use crate::compile::optimize::PassStats;
use crate::syntax;
use crate::trace::{Clock, EventSink, Phase, RunOutcome, TraceEvent, VmBridge};
use crate::vm::interp::{Halt, Vm};

/// Instructions between two [`TraceEvent::Counters`] samples when a session runs observed.
pub const SAMPLE_EVERY: u64 = 10_000;

/// The system's wall clock since the Unix epoch (a clock set before 1970 reads as the epoch):
/// what the VM's `time()` and `timestamp()` read once [`crate::vm::clock::install_wall_clock`]
/// installed it.
pub fn system_wall_clock() -> Duration {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default()
}

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
        // Yielding, so that slicing the run does not change what native code runs.
        let halt = self.vm.run_yielding(budget);
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

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;
    use crate::engine::Options;
    use crate::trace::chrome::ChromeTraceWriter;
    use crate::trace::{FakeClock, Profiler};

    const STEP_NS: u64 = 1000;

    /// A session on a stepping fake clock with `listener` attached before the build.
    fn session_with(src: &str, listener: crate::trace::SharedListener) -> Session {
        let sink = EventSink::new(Rc::new(FakeClock::stepping(STEP_NS)));
        sink.attach(listener);
        let options = Options { sink, ..Options::default() };
        match Session::builder(src).options(&options).build() {
            Ok(session) => session,
            Err(diags) => panic!("does not compile: {diags:?}"),
        }
    }

    #[test]
    fn recursive_calls_are_timed_on_the_fake_clock() {
        let src = "action f(n) { if (n == 0) { return 0; } return f(n - 1); }\nf(3);\n";
        let profiler = Rc::new(RefCell::new(Profiler::new()));
        let mut session = session_with(src, profiler.clone());
        assert!(matches!(session.run_to_end(), Halt::Finished));
        let profile = profiler.borrow().profile();
        let f = &profile.functions[1];
        // Four calls; the clock ticks once per timed event: call f(3), f(2), f(1), f(0), then
        // four returns, so the outermost activation spans 7 ticks.
        assert_eq!(f.calls, 4);
        assert_eq!(f.inclusive.ns, 7 * STEP_NS);
        assert_eq!(f.exclusive.ns, f.inclusive.ns, "f calls only itself");
        let main = &profile.functions[0];
        assert_eq!(main.inclusive.ns, main.exclusive.ns + f.inclusive.ns);
        assert_eq!(main.inclusive.instructions, session.vm.counters.instructions);
        assert_eq!(f.inclusive.instructions, f.exclusive.instructions);
        assert_eq!(profile.instructions, session.vm.counters.instructions);
        assert_eq!(profile.gas, session.vm.counters.gas);
        assert_eq!(profile.outcome, Some(RunOutcome::Finished));
        // Parse, compile, optimize, link and the separate lexing pass were each timed.
        let phases: Vec<Phase> = profile.phases.iter().map(|(p, _)| *p).collect();
        assert_eq!(phases, [Phase::Lex, Phase::Parse, Phase::Compile, Phase::Optimize, Phase::Link]);
    }

    /// The text report, on the fake clock (one microsecond per timed event). Instruction
    /// counts follow the compiler and optimizer: update the literal when they change.
    #[test]
    fn profile_report_reads_well() {
        let src = "action sq(x) {\n  return x * x;\n}\nlet t = 0;\nlet i = 0;\nwhile (i < 150) {\n  t = t + sq(i);\n  i = i + 1;\n}\nprint(t);\n";
        let profiler = Rc::new(RefCell::new(Profiler::new()));
        let mut session = session_with(src, profiler.clone());
        assert!(matches!(session.run_to_end(), Halt::Finished));
        let profile = profiler.borrow().profile();
        let report = crate::trace::report::ProfileReport::new(&profile, &session.build.program, src, "sq.zx");
        let text = report.render_text(3);
        let expected = "\
== profile: sq.zx ==
run: finished, 1660 instructions, 150 calls, gas 7682, 0.307 ms
phases: lex 0.001 ms, parse 0.001 ms, compile 0.002 ms, optimize 0.002 ms, link 0.001 ms

Top functions (by self time)
  function      calls      incl ms      self ms  self %    self instrs   line
  <main>            1        0.307        0.157   51.1%           1210      1
  sq              150        0.150        0.150   48.9%            450      1

Hottest lines
    line       instrs      %  source
       7          750  45.2%  t = t + sq(i);
       2          450  27.1%  return x * x;
       6          301  18.1%  while (i < 150) {

Hottest instructions
         count  function    pc  op                 line
           151  <main>       6  BRANCH_LOCAL_IMM      6
           150  <main>       7  LOAD_LOCAL2           7
           150  <main>       8  LOAD_LOCAL            7

Hot loops
  function     loop   line   iterations  status      entries bail-outs       native  source
  <main>          0      6          150  interpreted       0         0            0  while (i < 150) {
";
        assert_eq!(text, expected, "actual:\n{text}");
    }

    #[test]
    fn a_disabled_sink_installs_no_observer() {
        let options = Options::default();
        let mut session = match Session::builder("print(1);").options(&options).build() {
            Ok(s) => s,
            Err(diags) => panic!("{diags:?}"),
        };
        assert!(session.vm.take_observer().is_none());
        assert!(matches!(session.run_to_end(), Halt::Finished));
    }

    #[test]
    fn slices_report_counters_and_a_single_run_end() {
        let src = "let i = 0;\nwhile (i < 30000) { i = i + 1; }\nprint(i);\n";
        let out = Rc::new(RefCell::new(crate::trace::jsonl::JsonLinesWriter::new(Vec::new(), 10_000, false)));
        let mut session = session_with(src, out.clone());
        assert!(matches!(session.run_to_end(), Halt::Finished));
        // Running a finished session again reports nothing new.
        assert!(matches!(session.run_slice(10), Halt::Finished));
        let mut writer = out.borrow_mut();
        assert!(writer.finish().is_ok());
        let text = String::from_utf8(std::mem::take(writer.get_mut())).unwrap_or_default();
        let count = |kind: &str| text.lines().filter(|l| l.contains(&format!("\"type\":\"{kind}\""))).count();
        assert_eq!(count("run_start"), 1);
        assert_eq!(count("run_end"), 1);
        assert!(count("counters") >= 10, "a sample every {SAMPLE_EVERY} instructions:\n{text}");
        assert_eq!(count("loop_hot"), 1);
    }

    #[test]
    fn chrome_trace_of_an_error_closes_its_slices() {
        let src = "action g(x) { return 1 / x; }\naction f(x) { return g(x); }\nf(0);\n";
        let writer = Rc::new(RefCell::new(ChromeTraceWriter::new(Vec::new(), 1000)));
        let mut session = session_with(src, writer.clone());
        assert!(matches!(session.run_to_end(), Halt::Error(_)));
        let mut writer = writer.borrow_mut();
        assert!(writer.finish().is_ok_and(|s| !s.truncated));
        let text = String::from_utf8(std::mem::take(writer.get_mut())).unwrap_or_default();
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        let vm: Vec<(String, String)> = doc["traceEvents"]
            .as_array()
            .map(|evs| {
                evs.iter()
                    .filter(|e| e["tid"] == 1 && (e["ph"] == "B" || e["ph"] == "E"))
                    .map(|e| (e["ph"].as_str().unwrap_or("").to_string(), e["name"].as_str().unwrap_or("").to_string()))
                    .collect()
            })
            .unwrap_or_default();
        let expected: Vec<(String, String)> =
            [("B", "<main>"), ("B", "f"), ("B", "g"), ("E", "g"), ("E", "f"), ("E", "<main>")]
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect();
        assert_eq!(vm, expected);
    }
}
