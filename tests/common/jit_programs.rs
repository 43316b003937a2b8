//! The JIT differential generator: randomly generated loop programs (integer arithmetic near
//! the overflow edges, nested loops, branches, variables changing type mid-loop,
//! break/continue, loops inside functions), each run with and without the JIT and compared on
//! output, error, instruction count and gas.

#![allow(dead_code)]

use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;

use zexus_tui::compile::optimize;
use zexus_tui::engine::jit_policy::JitPolicy;
use zexus_tui::engine::{Options, Session};
use zexus_tui::vm::interp::{Halt, VmConfig};

/// A writer the test can read back.
#[derive(Clone, Default)]
pub struct Shared(pub Rc<RefCell<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Everything observable about one run.
#[derive(Debug, PartialEq)]
pub struct Observed {
    /// Everything printed.
    pub stdout: String,
    /// How the run ended.
    pub halt: String,
    /// Instructions executed.
    pub instructions: u64,
    /// Gas used.
    pub gas: u64,
}

/// The limits of one run.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Optimization level.
    pub level: u8,
    /// Gas limit, if any.
    pub gas_limit: Option<u64>,
    /// Step limit, if any.
    pub max_steps: Option<u64>,
    /// Instruction slice of each `run` call (none: run to the end).
    pub slice: Option<u64>,
}

/// Runs `src` with or without the JIT; returns what it did and the number of native entries.
pub fn run(src: &str, jit: bool, limits: Limits) -> (Observed, u64) {
    run_sliced(src, jit, limits, false)
}

/// [`run`], with the slices run by `Vm::run_yielding` when `yielding` (as the debugger runs
/// them: a slice may end early where native code paused, and the next goes on natively).
pub fn run_sliced(src: &str, jit: bool, limits: Limits, yielding: bool) -> (Observed, u64) {
    let options = Options {
        vm: VmConfig {
            gas_limit: limits.gas_limit,
            max_steps: limits.max_steps,
            // A small memory cap: a string doubling in a loop must fail early, not fill the
            // output buffer with gigabytes.
            max_alloc: 1 << 20,
            hot_threshold: if jit { 1 } else { 100 },
            ..VmConfig::default()
        },
        passes: optimize::passes_for_level(limits.level),
        jit: JitPolicy { enabled: jit },
        ..Options::default()
    };
    let out = Shared::default();
    let mut session = match Session::builder(src).options(&options).output(Box::new(out.clone())).build() {
        Ok(s) => s,
        Err(diags) => panic!("generated program does not compile: {diags:?}\n{src}"),
    };
    let halt = match limits.slice {
        None => session.run_to_end(),
        Some(slice) => loop {
            let halt = if yielding { session.vm.run_yielding(slice) } else { session.vm.run(slice) };
            match halt {
                Halt::Budget => continue,
                other => break other,
            }
        },
    };
    session.vm.flush();
    let stdout = String::from_utf8_lossy(&out.0.borrow()).into_owned();
    let entries = session.jit_summary().entries;
    let observed = Observed {
        stdout,
        halt: format!("{halt:?}"),
        instructions: session.vm.counters.instructions,
        gas: session.vm.counters.gas,
    };
    (observed, entries)
}

/// A small deterministic generator (the proptest seed drives it).
struct Gen {
    state: u64,
}

impl Gen {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        self.state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

const INT_VARS: &[&str] = &["a", "b", "c"];

fn literal(g: &mut Gen) -> String {
    match g.below(10) {
        0 => "9223372036854775807".to_string(),
        1 => "4611686018427387904".to_string(),
        2 => format!("{}.5", g.below(5)),
        3 => "0".to_string(),
        4 => "-1".to_string(),
        _ => (g.below(20) as i64 - 5).to_string(),
    }
}

fn atom(g: &mut Gen, vars: &[&str]) -> String {
    match g.below(10) {
        0..=2 => literal(g),
        3 => "i".to_string(),
        4 if vars.contains(&"j") => "j".to_string(),
        5 => g.pick(&["f", "t"]).to_string(),
        _ => g.pick(INT_VARS).to_string(),
    }
}

fn expr(g: &mut Gen, depth: u32, vars: &[&str]) -> String {
    if depth == 0 || g.chance(35) {
        return atom(g, vars);
    }
    match g.below(12) {
        0 => format!("-{}", atom(g, vars)),
        1 => format!("!({})", expr(g, depth - 1, vars)),
        2 => format!("({} ? {} : {})", cond(g, depth - 1, vars), expr(g, depth - 1, vars), expr(g, depth - 1, vars)),
        _ => {
            let op = g.pick(&["+", "-", "*", "+", "-", "*", "/", "%", "+"]);
            format!("({} {op} {})", expr(g, depth - 1, vars), expr(g, depth - 1, vars))
        }
    }
}

fn cond(g: &mut Gen, depth: u32, vars: &[&str]) -> String {
    match g.below(8) {
        0 => format!("({} && {})", cond(g, depth.saturating_sub(1), vars), cond(g, depth.saturating_sub(1), vars)),
        1 => format!("({} || {})", cond(g, depth.saturating_sub(1), vars), cond(g, depth.saturating_sub(1), vars)),
        2 => "t".to_string(),
        _ => {
            let op = g.pick(&["<", "<=", ">", ">=", "==", "!="]);
            format!("{} {op} {}", expr(g, depth.min(1), vars), expr(g, depth.min(1), vars))
        }
    }
}

fn stmt(g: &mut Gen, depth: u32, vars: &[&str], out: &mut String, indent: &str, in_nested: bool) {
    let v = g.pick(INT_VARS);
    match g.below(20) {
        0..=5 => out.push_str(&format!("{indent}{v} = {};\n", expr(g, 2, vars))),
        6 => out.push_str(&format!("{indent}{v} += {};\n", atom(g, vars))),
        7 => out.push_str(&format!("{indent}{v} = {v} + 1;\n")),
        8 => out.push_str(&format!("{indent}{v} = ({v} * 3 + {}) % 1000003;\n", atom(g, vars))),
        9 => {
            // A type change mid-loop: int to float, or to a string.
            let rhs = g.pick(&["0.5", "\"s\"", "f", "t", "a > b"]);
            out.push_str(&format!("{indent}if (i == {}) {{ {v} = {rhs}; }}\n", g.below(6)));
        }
        10 => out.push_str(&format!("{indent}f = f * 1.5 + {};\n", atom(g, vars))),
        11 => out.push_str(&format!("{indent}t = {};\n", cond(g, 1, vars))),
        12 if depth > 0 => {
            out.push_str(&format!("{indent}if ({}) {{\n", cond(g, 1, vars)));
            let inner = format!("{indent}  ");
            for _ in 0..1 + g.below(3) {
                stmt(g, depth - 1, vars, out, &inner, in_nested);
            }
            if g.chance(50) {
                out.push_str(&format!("{indent}}} else {{\n"));
                stmt(g, depth - 1, vars, out, &inner, in_nested);
            }
            out.push_str(&format!("{indent}}}\n"));
        }
        13 => {
            let kw = g.pick(&["break", "continue"]);
            out.push_str(&format!("{indent}if ({}) {{ {kw}; }}\n", cond(g, 1, vars)));
        }
        14 if depth > 0 && !in_nested => {
            out.push_str(&format!("{indent}let j = 0;\n{indent}while (j < {}) {{\n", 1 + g.below(12)));
            let inner = format!("{indent}  ");
            out.push_str(&format!("{inner}j = j + 1;\n"));
            let mut nested_vars = vars.to_vec();
            nested_vars.push("j");
            for _ in 0..1 + g.below(3) {
                stmt(g, depth - 1, &nested_vars, out, &inner, true);
            }
            out.push_str(&format!("{indent}}}\n"));
        }
        15 if g.chance(20) => out.push_str(&format!("{indent}print({v});\n")),
        16 => out.push_str(&format!("{indent}c = g({v});\n")),
        17 => out.push_str(&format!("{indent}s = s + \"x\";\n")),
        _ => out.push_str(&format!("{indent}{v} = {v} - {};\n", atom(g, vars))),
    }
}

/// The program for `seed`.
pub fn program(seed: u64) -> String {
    let mut g = Gen { state: seed | 1 };
    let mut out = String::new();
    out.push_str(&format!("let a = {};\nlet b = {};\nlet c = {};\n", literal(&mut g), g.below(9), g.below(4)));
    out.push_str("let f = 1.5;\nlet t = true;\nlet s = \"\";\nlet i = 0;\n");
    // A function whose loop reads and writes globals (LOAD_GLOBAL/STORE_GLOBAL).
    out.push_str("function g(n) {\n  let k = 0;\n  let r = 0;\n  while (k < 5) {\n    r = r + k * b;\n    k = k + 1;\n  }\n  b = b + 1;\n  return r + n % 7;\n}\n");
    let n = 1 + g.below(40);
    out.push_str(&format!("while (i < {n}) {{\n  i = i + 1;\n"));
    for _ in 0..1 + g.below(5) {
        stmt(&mut g, 2, &[], &mut out, "  ", false);
    }
    out.push_str("}\nprint(a, b, c, f, t, i, s);\n");
    out
}

/// Runs the program for `seed` with and without the JIT and compares the runs.
pub fn check(seed: u64, limits: Limits) -> Result<(), String> {
    let src = program(seed);
    let (reference, _) = run(&src, false, limits);
    let (jitted, _) = run(&src, true, limits);
    if reference != jitted {
        return Err(format!(
            "JIT and interpreter differ:\n{reference:?}\n{jitted:?}\nprogram:\n{src}\nlimits: {limits:?}"
        ));
    }
    if limits.slice.is_some() {
        // Slices that end where native code paused and go on natively at the next run.
        let (yielding, _) = run_sliced(&src, true, limits, true);
        if reference != yielding {
            return Err(format!(
                "JIT in yielding slices and interpreter differ:\n{reference:?}\n{yielding:?}\nprogram:\n{src}\nlimits: {limits:?}"
            ));
        }
    }
    Ok(())
}

/// The limits the random differential test uses for `seed`, `level` and `mode` (0..8).
pub fn limits_for(seed: u64, level: u8, mode: u8) -> Limits {
    match mode {
        0 => Limits { level, gas_limit: Some(200 + seed % 5000), max_steps: None, slice: None },
        1 => Limits { level, gas_limit: None, max_steps: Some(50 + seed % 2000), slice: None },
        2 => Limits { level, gas_limit: None, max_steps: None, slice: Some(1 + seed % 37) },
        _ => Limits { level, gas_limit: None, max_steps: None, slice: None },
    }
}
