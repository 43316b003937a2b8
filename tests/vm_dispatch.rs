//! The interpreter's fast dispatch against its exact single-stepping mode: runs that take the
//! block-counted fast path (where paired instructions run together) must print, fail, count
//! and charge exactly like runs stepped one instruction at a time (where pairs run as single
//! instructions), including the slow cases of every pair and the operand stack left by an
//! error.

mod common;

use common::inproc::SharedBuf;
use zexus_tui::engine::jit_policy::JitPolicy;
use zexus_tui::engine::{Options, Session};
use zexus_tui::vm::interp::{Halt, VmConfig};

/// Everything observable about a finished run.
#[derive(Debug, PartialEq, Eq)]
struct Run {
    output: String,
    end: String,
    instructions: u64,
    gas: u64,
    calls: u64,
    max_depth: usize,
    max_stack: usize,
    stack_len: usize,
}

/// Runs `src` (interpreted) in slices of `slice` instructions, or to the end with `None`.
fn run(src: &str, slice: Option<u64>, config: &VmConfig) -> Run {
    let options = Options { vm: config.clone(), jit: JitPolicy { enabled: false }, ..Options::default() };
    let buf = SharedBuf::default();
    let mut session = match Session::builder(src).options(&options).output(Box::new(buf.clone())).build() {
        Ok(s) => s,
        Err(d) => panic!("does not compile: {d:?}\n{src}"),
    };
    let halt = match slice {
        None => session.run_to_end(),
        Some(n) => loop {
            match session.vm.run(n) {
                Halt::Budget => continue,
                other => break other,
            }
        },
    };
    session.vm.flush();
    let end = match halt {
        Halt::Error(e) => format!("error at {}..{}: {} {:?}", e.span.start, e.span.end, e.message, e.traceback),
        other => format!("{other:?}"),
    };
    let c = &session.vm.counters;
    Run {
        output: String::from_utf8_lossy(&buf.0.borrow()).into_owned(),
        end,
        instructions: c.instructions,
        gas: c.gas,
        calls: c.calls,
        max_depth: c.max_depth,
        max_stack: c.max_stack,
        stack_len: session.vm.stack().len(),
    }
}

/// Programs around calls, returns and the paired instructions, fast and slow cases alike.
const PROGRAMS: &[(&str, &str)] = &[
    ("fib", "action fib(n) { if (n < 2) { return n; } return fib(n - 1) + fib(n - 2); }\nprint(fib(15));\n"),
    (
        "calls",
        "action add(a, b) { return a + b; }\naction inc(x) { return add(x, 1); }\nlet acc = 0;\nlet i = 0;\n\
         while (i < 300) { acc = add(acc, i % 7); acc = inc(acc); i = i + 1; }\nprint(acc);\n",
    ),
    ("sub_float", "action f(x) { return x - 1; }\nprint(f(2.5));\nprint(f(5));\nprint(f(\"s\"));\n"),
    ("add_overflow", "action f(x) { return x + 1; }\nprint(f(1));\nprint(f(9223372036854775807));\n"),
    ("sub_overflow", "action f(x) { return x - 2; }\nprint(f(-9223372036854775807));\n"),
    ("return_local", "action id(s) { return s; }\nprint(id(\"hi\"), id([1, 2]), id(null), id(3), id(1.5));\n"),
    (
        "add_return",
        "action add(a, b) { return a + b; }\nprint(add(\"a\", \"b\"), add(1, 2), add(1.5, 2), add(\"n\", 1));\n\
         print(add(9223372036854775807, 1));\n",
    ),
    ("add_return_type", "action add(a, b) { return a + b; }\nprint(add(1, 2));\nprint(add(true, 2));\n"),
    ("mod_imm", "let i = 10;\nlet f = 10.5;\nprint(i % 7, f % 7, -i % 7);\nlet s = \"x\";\nprint(s % 7);\n"),
    (
        "add_locals",
        "action cat(a, b) { let c = a + b; return c; }\nprint(cat(1, 2), cat(\"x\", \"y\"), cat(0.5, 1));\n\
         print(cat(9223372036854775807, 9));\n",
    ),
    ("undefined_in_pair", "action f() { let z = y - 1; let y = 2; return z; }\nprint(f());\n"),
    ("overflow_depth", "action r(n) { return r(n + 1); }\nr(0);\n"),
    (
        "closures",
        "action counter() { let n = 0; action step(k) { n = n + k; return n; } return step; }\n\
         let c = counter();\nc(1);\nc(2);\nprint(c(3));\n",
    ),
    ("traceback", "action inner(x) { return 10 / (x - x); }\naction outer(y) { return inner(y) + 1; }\nouter(4);\n"),
    ("wrong_arity", "action f(a, b) { return a; }\nprint(f(1));\n"),
    ("not_callable", "let x = 3;\nprint(x(1));\n"),
    (
        "builtins_and_methods",
        "let l = [3, 1, 2];\nprint(len(l), str(l), l.len());\naction k(v) { return len(v); }\nprint(k(\"abc\"));\n",
    ),
    (
        "for_each_and_return",
        "action first_big(xs) { for each x in xs { if (x > 2) { return x; } } return null; }\n\
         print(first_big([1, 2, 3, 4]), first_big([1]));\n",
    ),
    (
        "nested_returns",
        "action a(x) { return b(x) + 1; }\naction b(x) { return c(x) * 2; }\naction c(x) { return x - 1; }\nprint(a(5));\n",
    ),
    ("loop_float_step", "let x = 0.5;\nlet n = 0;\nwhile (x < 5) { x = x + 1; n = n + 1; }\nprint(x, n);\n"),
    ("loop_overflow", "let i = 9223372036854775800;\nwhile (i > 0) { i = i + 3; }\nprint(i);\n"),
    ("loop_string_step", "let s = \"a\";\nlet k = 0;\nwhile (k < 3) { s = s + 1; k = k + 1; }\nprint(s);\n"),
    // DIALECT.md: callbacks of map/filter/reduce run in ordinary frames and resume the pending
    // call when they return, which a slice may end between.
    (
        "higher_order",
        "let xs = range(20)\nprint map(xs, x => x * x), filter(xs, x => x % 3 == 0)\n\
         print xs.reduce((a, x) => a + x), reduce(map(xs, string), (a, s) => a + s, \"\")\n\
         print map(range(3), i => map(range(i), j => j + i)), map(xs, str)\n",
    ),
    ("higher_order_error", "action f(x) { return 10 / (x - 3) }\nprint map(range(5), f)\n"),
    (
        "defaults_and_dialect",
        "action f(a, b = a + 1, c = [b]) { return [a, b, c] }\nprint f(1), f(1, 5), f(1, 2, 3)\n\
         let m = {\"k\": 1}\nfor each k, v in m { print k, v, k in m, m[\"z\"] ?? 0 }\n",
    ),
    // ERRORS.md: unwinding across frames, finally on every exit, rethrow, tx reverts.
    (
        "throw_across_frames",
        "action c(n) { if (n % 3 == 0) { throw [n]; } return n; }\naction b(n) { return c(n) + 1; }\n\
         let s = 0;\nlet i = 0;\nwhile (i < 60) { try { s = s + b(i); } catch (e) { s = s - e[0]; } i = i + 1; }\nprint(s);\n",
    ),
    (
        "finally_exits",
        "action f(x) { try { if (x > 1) { return x; } throw \"low\"; } catch (e) { return e; } finally { print(\"f\", x); } }\n\
         print(f(1), f(5));\nfor each i in [1, 2, 3] { try { if (i == 2) { continue; } print(i); } finally { print(\"fin\", i); } }\n",
    ),
    (
        "rethrow_and_replace",
        "action g() { try { throw \"a\"; } finally { let z = 0; print(1 / z); } }\n\
         try { g(); } catch (e) { print(e); }\ntry { try { throw 1; } catch (e) { throw e + 1; } } catch (e) { print(e); }\n",
    ),
    (
        "tx_revert_at_catch",
        "STATE[\"k\"] = 1;\naction w() { TX_BEGIN(); STATE[\"k\"] = 2; require(false, \"no\"); }\n\
         try { w(); } catch (e) { print(e, STATE[\"k\"]); }\n",
    ),
    ("uncaught_through_finally", "action f() { try { throw {\"a\": 1}; } finally { print(\"x\"); } }\nf();\n"),
];

#[test]
fn fast_runs_match_single_stepping() {
    let config = VmConfig { max_depth: 200, ..VmConfig::default() };
    for (name, src) in PROGRAMS {
        let fast = run(src, None, &config);
        let stepped = run(src, Some(1), &config);
        assert_eq!(fast, stepped, "{name}: fast run and single-stepping differ");
        let sliced = run(src, Some(7), &config);
        assert_eq!(fast, sliced, "{name}: fast run and 7-instruction slices differ");
    }
}

#[test]
fn pairs_and_calls_print_what_the_language_says() {
    let config = VmConfig { max_depth: 200, ..VmConfig::default() };
    let expect = [
        ("fib", "610\n", "Finished"),
        ("sub_float", "1.5\n4\n", "type error"),
        ("add_overflow", "2\n", "integer overflow"),
        ("return_local", "hi [1, 2] null 3 1.5\n", "Finished"),
        ("add_return", "ab 3 3.5 n1\n", "integer overflow"),
        ("mod_imm", "3 3.5 4\n", "type error"),
        ("add_locals", "3 xy 1.5\n", "integer overflow"),
        ("undefined_in_pair", "", "undefined variable 'y'"),
        ("overflow_depth", "", "stack overflow"),
        ("closures", "6\n", "Finished"),
        ("traceback", "", "division by zero"),
        ("loop_float_step", "5.5 5\n", "Finished"),
        ("loop_overflow", "", "integer overflow"),
        ("loop_string_step", "a111\n", "Finished"),
    ];
    for (name, out, end) in expect {
        let src = PROGRAMS.iter().find(|(n, _)| *n == name).map(|(_, s)| *s).unwrap_or_default();
        let r = run(src, None, &config);
        assert_eq!(r.output, out, "{name}");
        assert!(r.end.contains(end), "{name}: {}", r.end);
    }
}

#[test]
fn limits_stop_at_the_same_instruction_in_every_mode() {
    let src = PROGRAMS.iter().find(|(n, _)| *n == "calls").map(|(_, s)| *s).unwrap_or_default();
    let full = run(src, None, &VmConfig::default());
    for limit in [1, 97, full.gas / 3, full.gas - 1] {
        let config = VmConfig { gas_limit: Some(limit), ..VmConfig::default() };
        let fast = run(src, None, &config);
        assert!(fast.end.contains("out of gas"), "{limit}: {}", fast.end);
        assert_eq!(fast, run(src, Some(1), &config), "gas limit {limit}");
    }
    // `full.instructions` counts HALT, which does not count against the limit: the last
    // limit that stops the program is two fewer (issue 13, L10).
    for steps in [1, 50, full.instructions / 2, full.instructions - 2] {
        let config = VmConfig { max_steps: Some(steps), ..VmConfig::default() };
        let fast = run(src, None, &config);
        assert!(fast.end.contains("step limit"), "{steps}: {}", fast.end);
        assert_eq!(fast.instructions, steps);
        assert_eq!(fast, run(src, Some(1), &config), "step limit {steps}");
    }
}
