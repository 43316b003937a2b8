//! Bytecode cache benchmarks on a generated 1 000-line program: a full compile (lowering and
//! all optimizer passes, then linking) against a memory-cache hit (hashing every unit, lookup,
//! span resolution, linking) and a disk-tier hit (decoding, verifying, resolving, linking).
//! Parsing is common to every path and benchmarked on its own.
//!
//! Run with `cargo bench --bench cache`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::rc::Rc;

use zexus_tui::compile::cache::UnitKey;
use zexus_tui::engine::Options;
use zexus_tui::engine::cache::{CacheStore, CompileCache};
use zexus_tui::engine::pipeline::{build_parsed, build_with_cache};
use zexus_tui::syntax::{self, ast::AstProgram};

fn main() {
    divan::main();
}

/// A program of about `lines` lines: functions with loops, branches, closures, strings, maps
/// and STATE, and top-level code that calls them.
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
        if i % 3 == 0 {{
            total += i * {n} + 2 * 3
        }} elif i % 3 == 1 {{
            total -= 1
        }} else {{
            total = total + (10 - 4) / 2
        }}
        i += 1
    }}
    let scale = function(x) {{ return x * {k} + limit }}
    let info = {{\"name\": label + \"-{n}\", \"value\": scale(total)}}
    for each key in [\"a\", \"b\"] {{ STATE[key + \"{n}\"] = len(info.name) }}
    return info.value
}}
",
            k = n % 7 + 1
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

struct Fixture {
    src: String,
    ast: AstProgram,
}

fn fixture() -> Fixture {
    let src = program(1000);
    let (ast, diags) = syntax::parse(&src);
    assert!(diags.is_empty(), "the generated program must parse");
    Fixture { src, ast }
}

#[divan::bench]
fn parse(bencher: divan::Bencher) {
    let f = fixture();
    bencher.bench_local(|| syntax::parse(divan::black_box(&f.src)));
}

/// Lowering, every optimizer pass and linking, with the cache off.
#[divan::bench]
fn full_compile(bencher: divan::Bencher) {
    let f = fixture();
    let options = Options::default();
    bencher
        .with_inputs(|| f.ast.clone())
        .bench_local_values(|ast| build_parsed(ast, f.src.len(), &options, &mut CompileCache::disabled()));
}

/// Every unit from the in-memory cache.
#[divan::bench]
fn memory_hit(bencher: divan::Bencher) {
    let f = fixture();
    let options = Options::default();
    let mut cache = CompileCache::default();
    let warm = build_with_cache(&f.src, &options, &mut cache).map(|(_, r)| r.compiled());
    assert_eq!(
        warm,
        Ok(f.ast.stmts.iter().filter(|s| matches!(s.kind, syntax::ast::AstStmtKind::Func(_))).count() + 1)
    );
    let cache = RefCell::new(cache);
    bencher.with_inputs(|| f.ast.clone()).bench_local_values(|ast| {
        let res = build_parsed(ast, f.src.len(), &options, &mut cache.borrow_mut());
        debug_assert!(res.as_ref().is_ok_and(|(_, r)| r.compiled() == 0));
        res
    });
}

/// A disk tier kept in memory (no file system), to time decoding and verifying.
#[derive(Clone, Default)]
struct MemStore(Rc<RefCell<HashMap<UnitKey, Vec<u8>>>>);

impl CacheStore for MemStore {
    fn load(&mut self, key: UnitKey) -> Result<Option<Vec<u8>>, String> {
        Ok(self.0.borrow().get(&key).cloned())
    }
    fn save(&mut self, key: UnitKey, bytes: &[u8]) -> Result<(), String> {
        self.0.borrow_mut().insert(key, bytes.to_vec());
        Ok(())
    }
    fn describe(&self) -> String {
        "memory".into()
    }
}

/// Every unit from the disk tier (a cold memory cache in front of a warm store).
#[divan::bench]
fn disk_hit(bencher: divan::Bencher) {
    let f = fixture();
    let options = Options::default();
    let store = MemStore::default();
    let mut warm = CompileCache::default().with_store(Box::new(store.clone()));
    let _ = build_with_cache(&f.src, &options, &mut warm);
    bencher
        .with_inputs(|| (f.ast.clone(), CompileCache::default().with_store(Box::new(store.clone()))))
        .bench_local_values(|(ast, mut cache)| {
            // The cache is returned so that dropping it is not timed.
            let res = build_parsed(ast, f.src.len(), &options, &mut cache);
            (res, cache)
        });
}

/// Hashing every unit (the position-free encoding and its span lists): the floor of a hit.
#[divan::bench]
fn hash_units(bencher: divan::Bencher) {
    let f = fixture();
    let salt = zexus_tui::compile::cache::key_salt(&Options::default().passes);
    bencher.bench_local(|| {
        let funcs = zexus_tui::compile::lower::top_level_units(&f.ast);
        let top = syntax::ast_hash::encode_top(&f.ast, f.src.len(), &salt);
        let rest: Vec<_> = funcs.iter().map(|func| syntax::ast_hash::encode_func(func, &salt)).collect();
        (top, rest)
    });
}

/// Linking the optimized chunk tree into a runnable program: common to every path.
#[divan::bench]
fn link(bencher: divan::Bencher) {
    let f = fixture();
    let build = zexus_tui::engine::build(&f.src, &Options::default()).expect("builds");
    bencher.bench_local(|| zexus_tui::vm::program::link(divan::black_box(&build.chunk)));
}
