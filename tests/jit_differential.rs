//! Differential test of the JIT: randomly generated loop programs (integer arithmetic near the
//! overflow edges, nested loops, branches, variables changing type mid-loop, break/continue,
//! loops inside functions) must behave exactly alike with and without the JIT, at -O0 and -O2:
//! same output, same error (message and location), same instruction count and same gas. Some
//! cases also run with a gas limit, a step limit, or in small instruction slices (so native
//! code runs out of fuel mid-loop).
//!
//! The random half of this test is the `jit_differential` fuzz target (tests/fuzz); this file
//! keeps the checks on the generator itself and the hand-written edge cases.

mod common;

use common::jit_programs::{Limits, program, run, run_sliced};

/// The generator really produces loops the JIT enters (otherwise the test would prove
/// nothing).
#[test]
fn generated_programs_exercise_native_code() {
    let mut entered = 0;
    for seed in 1..=50u64 {
        let limits = Limits { level: 2, gas_limit: None, max_steps: None, slice: None };
        let (_, entries) = run(&program(seed * 7919), true, limits);
        if entries > 0 {
            entered += 1;
        }
    }
    assert!(entered >= 20, "only {entered} of 50 generated programs entered native code");
}

/// Hand-written edge cases, each compared the same way.
#[test]
fn edge_cases_match_the_interpreter() {
    let cases = [
        // Overflow in the middle of a native loop.
        "let x = 9223372036854775800;\nlet i = 0;\nwhile (i < 100) { x = x + 1; i = i + 1; }\nprint(x);\n",
        // int becomes float, then string, mid-loop.
        "let x = 1;\nlet i = 0;\nwhile (i < 300) { if (i == 150) { x = x + 0.5; } if (i == 200) { x = \"s\"; } i = i + 1; }\nprint(x, i);\n",
        // Division and modulo by zero.
        "let x = 10;\nlet i = 0;\nwhile (i < 300) { x = x + 100 % (150 - i); i = i + 1; }\nprint(x);\n",
        "let x = 10;\nlet i = 0;\nwhile (i < 300) { x = x + 100 / (150 - i); i = i + 1; }\nprint(x);\n",
        // Floor modulo with negative operands, and MIN % -1.
        "let x = 0;\nlet i = -150;\nwhile (i < 150) { x = x + (i * 7) % 13 + i % -4 + (-9223372036854775807 - 1) % -1; i = i + 1; }\nprint(x);\n",
        // Modulo by constants (native code divides only outside 0..2^32): negative
        // dividends, dividends past 2^32, and divisors up to i32::MAX.
        "let x = 0;\nlet i = -150;\nwhile (i < 150) { x = (x + i * 4294967291) % 1000003 + (i * 65537) % 2 + (i * i * i) % 2147483647 + (i + 4294967296) % 7; i = i + 1; }\nprint(x);\n",
        // Floats with NaN comparisons.
        "let x = 0.0;\nlet n = 0.0 / 1.0;\nlet i = 0;\nwhile (i < 200) { if (x < 50.5) { x = x + 1.25; } else { x = x - 0.5; } i = i + 1; }\nprint(x);\n",
        // Nested loops (both compiled), break and continue.
        "let acc = 0;\nlet i = 0;\nwhile (i < 60) { let j = 0; while (j < 60) { j = j + 1; if (j % 7 == 0) { continue; } if (j > 50) { break; } acc = (acc + i * j + 7) % 1000003; } i = i + 1; }\nprint(acc);\n",
        // A print inside the loop (unsupported: bail-outs, then blacklisting).
        "let i = 0;\nwhile (i < 150) { if (i % 50 == 0) { print(i); } i = i + 1; }\nprint(i);\n",
        // A loop in a function using globals.
        "let total = 0;\nfunction f(n) { let k = 0; while (k < n) { total = total + k; k = k + 1; } return total; }\nprint(f(200), f(300));\n",
        // Constant reassignment inside a loop fails at the same place.
        "const K = 5;\nlet i = 0;\nwhile (i < 200) { i = i + 1; if (i == 150) { K = 6; } }\nprint(i);\n",
        // Booleans: ==, !=, not, &&, ||.
        "let t = true;\nlet n = 0;\nlet i = 0;\nwhile (i < 200) { t = !t; if (t == (i % 2 == 1) && t != false || i == 3) { n = n + 1; } i = i + 1; }\nprint(n, t);\n",
        // Deep expressions: operands spill out of registers.
        "let a = 3;\nlet b = 5;\nlet c = 7;\nlet x = 0;\nlet i = 0;\nwhile (i < 200) { x = (a + (b * (c - (a + (b * (c + (i - (a * (b + (c - i)))))))))) % 100003; i = i + 1; }\nprint(x);\n",
        // Many variables (some stay in their slots), floats and booleans among them.
        "let a = 1;\nlet b = 2;\nlet c = 3;\nlet d = 4;\nlet e = 5;\nlet f = 0.5;\nlet g = 1.5;\nlet t = false;\nlet i = 0;\nwhile (i < 300) { a = a + b; b = b + c; c = c + d; d = d + e; e = (e + a) % 1009; f = f * 0.5 + g; g = g + f / 3.0; t = !t && f < g || i % 3 == 0; a = a % 10007; b = b % 10009; c = c % 10037; d = d % 10039; i = i + 1; }\nprint(a, b, c, d, e, f, g, t);\n",
        // Undefined variable read inside the loop.
        "let i = 0;\nwhile (i < 200) { i = i + 1; if (i == 120) { print(zz); } }\n",
    ];
    for src in cases {
        for level in [0u8, 2] {
            for slice in [None, Some(3), Some(97)] {
                let limits = Limits { level, gas_limit: None, max_steps: None, slice };
                let (reference, _) = run(src, false, limits);
                let (jitted, _) = run(src, true, limits);
                assert_eq!(reference, jitted, "program:\n{src}\nlimits: {limits:?}");
                if slice.is_some() {
                    let (yielding, _) = run_sliced(src, true, limits, true);
                    assert_eq!(reference, yielding, "yielding slices, program:\n{src}\nlimits: {limits:?}");
                }
            }
        }
    }
}
