//! Pipeline benchmarks, stage by stage, on a generated 1 000-line program (the one
//! `benches/cache.rs` uses): lexing, parsing, lowering, optimizing, linking; and the VM on a
//! small recursive program.
//!
//! Run with `cargo bench --bench pipeline`.

use std::fmt::Write as _;
use std::rc::Rc;

use zexus_tui::compile::{self, optimize};
use zexus_tui::engine::{self, Options};
use zexus_tui::syntax::{self, lexer};
use zexus_tui::vm::interp::{Halt, Vm, VmConfig};
use zexus_tui::vm::program;

fn main() {
    divan::main();
}

/// About `lines` lines of functions with loops, branches, closures, maps and STATE.
fn program(lines: usize) -> String {
    let mut src = String::new();
    let mut n = 0;
    while src.lines().count() + 4 < lines {
        let _ = write!(
            src,
            "action work{n}(limit, label) {{
    let total = 0
    let i = 0
    while i < limit {{
        if i % 3 == 0 {{ total += i * {n} + 2 * 3 }} else {{ total -= 1 }}
        i += 1
    }}
    let scale = function(x) {{ return x * 2 + limit }}
    let info = {{\"name\": label + \"-{n}\", \"value\": scale(total)}}
    STATE[\"k{n}\"] = len(info.name)
    return info.value
}}
"
        );
        n += 1;
    }
    src.push_str("let sum = 0\n");
    for i in 0..n {
        let _ = writeln!(src, "sum += work{i}({}, \"w\")", i % 5 + 1);
    }
    src.push_str("print(sum)\n");
    src
}

#[divan::bench]
fn lex(bencher: divan::Bencher) {
    let src = program(1000);
    bencher.bench_local(|| lexer::tokenize(divan::black_box(&src)));
}

#[divan::bench]
fn parse(bencher: divan::Bencher) {
    let src = program(1000);
    bencher.bench_local(|| syntax::parse(divan::black_box(&src)));
}

#[divan::bench]
fn lower(bencher: divan::Bencher) {
    let src = program(1000);
    let (ast, _) = syntax::parse(&src);
    bencher.bench_local(|| compile::compile_program(divan::black_box(&ast), src.len()));
}

#[divan::bench]
fn optimize_o2(bencher: divan::Bencher) {
    let src = program(1000);
    let (ast, _) = syntax::parse(&src);
    let (chunk, _) = compile::compile_program(&ast, src.len());
    let passes = optimize::passes_for_level(2);
    bencher.with_inputs(|| chunk.clone()).bench_local_refs(|c| optimize::optimize(c, &passes));
}

#[divan::bench]
fn link(bencher: divan::Bencher) {
    let src = program(1000);
    let build = engine::build(&src, &Options::default()).expect("builds");
    bencher.bench_local(|| program::link(divan::black_box(&build.chunk)));
}

#[divan::bench]
fn vm_fib20(bencher: divan::Bencher) {
    let src = "action fib(n) { if n < 2 { return n } return fib(n - 1) + fib(n - 2) }\nprint(fib(20))\n";
    let build = engine::build(src, &Options::default()).expect("builds");
    let prog = build.program.clone();
    bencher.bench_local(|| {
        prog.reset_counters();
        let mut vm = Vm::new(Rc::clone(&prog), VmConfig::default(), Box::new(std::io::sink()));
        assert!(matches!(vm.run(u64::MAX), Halt::Finished));
        vm.counters.instructions
    });
}
