//! The JIT through the engine API: what gets compiled, refused and blacklisted, what the
//! per-loop and per-instruction figures say, and that `--no-jit` really interprets (x86-64
//! only, where the JIT is built).
#![cfg(target_arch = "x86_64")]

use std::path::Path;

use zexus_tui::engine::jit_policy::JitPolicy;
use zexus_tui::engine::{Options, Session};
use zexus_tui::jit::JitLoopStatus;
use zexus_tui::vm::interp::{Halt, VmConfig};

fn session(src: &str, jit: bool, threshold: u64) -> Session {
    let options = Options {
        vm: VmConfig { hot_threshold: threshold, ..VmConfig::default() },
        jit: JitPolicy { enabled: jit },
        ..Options::default()
    };
    match Session::builder(src).options(&options).build() {
        Ok(s) => s,
        Err(d) => panic!("does not compile: {d:?}"),
    }
}

fn finished(s: &mut Session) {
    let halt = s.run_to_end();
    assert_eq!(halt, Halt::Finished);
}

#[test]
fn the_seed_hot_loop_compiles_exactly_one_loop() {
    let src = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/sum150.zx"))
        .expect("samples/sum150.zx is part of the repository");
    let mut s = session(&src, true, 100);
    finished(&mut s);
    let summary = s.jit_summary();
    assert!(summary.available && summary.enabled);
    assert_eq!(summary.threshold, 100);
    assert_eq!(summary.loops_compiled, 1);
    assert_eq!(summary.compilations, 1);
    assert_eq!(summary.entries, 1);
    assert_eq!(summary.bailouts, 0);
    assert!(summary.native_bytes > 0);
    // 100 back-edges interpreted, then the remaining 50 iterations natively.
    assert!(s.vm.counters.jit_instructions > 0);
    let info = s.jit_info();
    assert_eq!(info.loops.len(), 1);
    let l = &info.loops[0];
    assert_eq!(l.status, JitLoopStatus::Compiled);
    assert!(info.instruction(l.proto_id, l.header).compiled);
    assert!(!info.instruction(l.proto_id, l.back_edge + 1).compiled);
}

#[test]
fn counters_match_the_interpreter() {
    let src = "let n = 0;\nlet i = 0;\nwhile (i < 5000) { n = n + i * 2; i = i + 1; }\nprint(n);\n";
    let mut jit = session(src, true, 1);
    let mut interp = session(src, false, 1);
    finished(&mut jit);
    finished(&mut interp);
    assert_eq!(jit.vm.counters.instructions, interp.vm.counters.instructions);
    assert_eq!(jit.vm.counters.gas, interp.vm.counters.gas);
    assert!(jit.vm.counters.jit_instructions > 4900 * 5);
    assert_eq!(interp.vm.counters.jit_instructions, 0);
    assert_eq!(interp.jit_summary().loops_compiled, 0);
    assert!(!interp.jit_summary().enabled);
}

#[test]
fn loops_with_calls_are_refused_with_a_reason() {
    let src =
        "function f() { return 1; }\nlet t = 0;\nlet k = 0;\nwhile (k < 300) { t = t + f(); k = k + 1; }\nprint(t);\n";
    let mut s = session(src, true, 100);
    finished(&mut s);
    let info = s.jit_info();
    let reason = match &info.loops[0].status {
        JitLoopStatus::Refused(r) => r.clone(),
        other => panic!("expected a refusal, got {other:?}"),
    };
    assert!(reason.starts_with("unsupported instruction CALL at pc "), "{reason}");
    assert_eq!(s.jit_summary().loops_compiled, 0);
    assert_eq!(s.jit_summary().compilations, 1);
}

#[test]
fn a_loop_that_keeps_bailing_out_is_blacklisted_and_still_correct() {
    let src = "let s = \"\";\nlet i = 0;\nwhile (i < 1000) {\n  if (i % 2 == 0) { s = s + \"x\"; }\n  i = i + 1;\n}\nprint(len(s), i);\n";
    let mut s = session(src, true, 1);
    finished(&mut s);
    let summary = s.jit_summary();
    assert_eq!(summary.blacklisted, 1);
    assert!(summary.bailouts >= zexus_tui::jit::BLACKLIST_AFTER);
    let info = s.jit_info();
    let l = &info.loops[0];
    assert!(matches!(&l.status, JitLoopStatus::Blacklisted(r) if r.contains("holds a string")), "{:?}", l.status);
    // The bail-outs are attributed to the instruction that reads `s`.
    let at = l.exits.iter().find(|e| e.kind == "bailout").map(|e| e.pc).expect("a bail-out exit");
    let per_instr = info.instruction(l.proto_id, at);
    assert_eq!(per_instr.bailouts.len(), 1);
    assert!(per_instr.bailouts[0].0.contains("'s' holds a string"));
    // Blacklisted: no longer entered, yet the program's result is right.
    let out = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    struct W(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);
    impl std::io::Write for W {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let options = Options { vm: VmConfig { hot_threshold: 1, ..VmConfig::default() }, ..Options::default() };
    let mut again = Session::builder(src).options(&options).output(Box::new(W(out.clone()))).build().expect("compiles");
    finished(&mut again);
    again.vm.flush();
    assert_eq!(String::from_utf8_lossy(&out.borrow()), "500 1000\n");
    assert_eq!(again.jit_summary().entries, zexus_tui::jit::BLACKLIST_AFTER);
}

#[test]
fn overflow_bails_out_to_the_interpreter_error() {
    let src = "let x = 9223372036854775000;\nlet i = 0;\nwhile (i < 2000) { x = x + 1; i = i + 1; }\nprint(x);\n";
    let mut s = session(src, true, 1);
    let halt = s.run_to_end();
    match halt {
        Halt::Error(e) => assert_eq!(e.message, "integer overflow"),
        other => panic!("expected an overflow, got {other:?}"),
    }
    let info = s.jit_info();
    assert!(info.loops[0].exits.iter().any(|e| e.kind == "bailout" && e.reason == "integer overflow"));
}

#[test]
fn small_budgets_pause_native_code_exactly() {
    let src = "let n = 0;\nlet i = 0;\nwhile (i < 3000) { n = n + i; i = i + 1; }\nprint(n);\n";
    let mut s = session(src, true, 1);
    let mut reference = session(src, false, 1);
    // Step both in identical slices: after every slice they have run the same instructions.
    loop {
        let a = s.vm.run(37);
        let b = reference.vm.run(37);
        assert_eq!(a, b);
        assert_eq!(s.vm.counters.instructions, reference.vm.counters.instructions);
        assert_eq!(s.vm.counters.gas, reference.vm.counters.gas);
        assert_eq!(s.vm.current_pc().map(|(_, pc)| pc), reference.vm.current_pc().map(|(_, pc)| pc));
        if a != Halt::Budget {
            break;
        }
    }
    let info = s.jit_info();
    assert!(info.loops[0].exits.iter().any(|e| e.kind == "fuel"));
}

#[test]
fn the_gas_limit_fails_at_the_same_instruction() {
    let src = "let n = 0;\nlet i = 0;\nwhile (i < 100000) { n = n + i; i = i + 1; }\nprint(n);\n";
    for limit in [1000u64, 12345, 99999] {
        let run = |jit: bool| {
            let options = Options {
                vm: VmConfig { hot_threshold: 1, gas_limit: Some(limit), ..VmConfig::default() },
                jit: JitPolicy { enabled: jit },
                ..Options::default()
            };
            let mut s = Session::builder(src).options(&options).build().expect("compiles");
            let halt = s.run_to_end();
            (format!("{halt:?}"), s.vm.counters.instructions, s.vm.counters.gas)
        };
        let (with, without) = (run(true), run(false));
        assert!(with.0.contains("out of gas"), "{}", with.0);
        assert_eq!(with, without);
    }
}

/// A `Write` whose bytes the test reads afterwards.
#[derive(Clone, Default)]
struct Shared(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);

impl std::io::Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs `src` with the JIT in slices of `slice` (`run_yielding` when `yielding`, else the exact
/// `run`), or in one run for `None`; returns the output and the figures.
fn sliced(src: &str, slice: Option<u64>, yielding: bool) -> (String, u64, u64, u64, u64, u64) {
    let out = Shared::default();
    let options = Options { vm: VmConfig { hot_threshold: 2, ..VmConfig::default() }, ..Options::default() };
    let mut s = Session::builder(src).options(&options).output(Box::new(out.clone())).build().expect("builds");
    let halt = loop {
        let h = match slice {
            None => s.vm.run(u64::MAX),
            Some(n) if yielding => s.vm.run_yielding(n),
            Some(n) => s.vm.run(n),
        };
        if h != Halt::Budget {
            break h;
        }
    };
    assert_eq!(halt, Halt::Finished);
    s.vm.flush();
    let text = String::from_utf8(out.0.borrow().clone()).expect("utf-8");
    let c = &s.vm.counters;
    let bailouts = s.jit_summary().bailouts;
    let inner_fuel_exits: u64 = s
        .jit_info()
        .loops
        .iter()
        .flat_map(|l| l.exits.iter().filter(move |e| e.kind == "fuel" && e.pc != l.header))
        .map(|e| e.count)
        .sum();
    INNER_FUEL_EXITS.with(|n| n.set(inner_fuel_exits));
    (text, c.instructions, c.gas, c.jit_instructions, c.jit_entries, bailouts)
}

thread_local! {
    /// Fuel exits at a checkpoint other than the loop header in the last `sliced` run.
    static INNER_FUEL_EXITS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

#[test]
fn a_sliced_run_goes_on_in_native_code_as_the_same_entry() {
    // Nested loops: the outer one compiles with the inner loop's head as a fuel checkpoint, so
    // slices end there as well as at the header; a float turns up late for a bail-out.
    let src = "let total = 0;\nlet i = 0;\nwhile (i < 300) {\n  let j = 0;\n  while (j < 40) {\n    total = (total + i * j) % 1000003;\n    j = j + 1;\n  }\n  i = i + 1;\n}\nlet x = 0;\nlet k = 0;\nwhile (k < 5000) {\n  x = x + 1;\n  if (k == 4990) { x = 0.5; }\n  k = k + 1;\n}\nprint(total, x);\n";
    let whole = sliced(src, None, false);
    assert!(whole.3 > 0, "native code ran: {whole:?}");
    for slice in [97, 1_000, 4_099, 100_000] {
        let yielding = sliced(src, Some(slice), true);
        assert_eq!(
            yielding, whole,
            "yielding slices of {slice}: same output, instructions, gas, native instructions, entries and bail-outs"
        );
        if slice == 97 {
            assert!(INNER_FUEL_EXITS.with(|n| n.get()) > 0, "slices ended at the inner loop's head and went on there");
        }
        // Exact slices run exactly `slice` instructions each: the same results, with the tail
        // of an iteration interpreted at each slice end.
        let exact = sliced(src, Some(slice), false);
        assert_eq!((&exact.0, exact.1, exact.2), (&whole.0, whole.1, whole.2), "exact slices of {slice}");
    }
}

#[test]
fn the_static_pre_check_names_the_refusal_before_the_loop_turns_hot() {
    // On every sample (modules aside, whose loops are the same kinds): a loop the code alone
    // condemns is refused with the same words once hot, and no loop it passes is refused for
    // a reason it could have seen.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let mut condemned = 0;
    for entry in std::fs::read_dir(&dir).expect("samples/") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|x| x != "zx") || path.ends_with("modules.zx") {
            continue;
        }
        let src = std::fs::read_to_string(&path).expect("sample");
        let mut s = session(&src, true, 100);
        let _ = s.run_to_end();
        let info = s.jit_info();
        for l in &info.loops {
            let proto = &s.vm.program.protos[l.proto_id as usize];
            let told = zexus_tui::jit::static_refusal(proto, l.loop_id);
            match (&l.status, &told) {
                (JitLoopStatus::Refused(why), Some(said)) => {
                    assert_eq!(why, said, "{}: loop {} of {}", path.display(), l.loop_id, l.function);
                    condemned += 1;
                }
                (JitLoopStatus::Refused(why), None) => assert!(
                    !why.starts_with("unsupported instruction") && !why.contains("try"),
                    "{}: {why} could have been told from the code",
                    path.display()
                ),
                (_, Some(said)) => panic!("{}: {said}, yet loop {} compiled", path.display(), l.loop_id),
                (_, None) => {}
            }
        }
    }
    assert!(condemned > 0, "jit_states.zx has a loop refused for a CALL");
}
