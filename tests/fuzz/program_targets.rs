//! Targets fed with source text: the front end on arbitrary bytes and token soup, the
//! compiler and optimizer (verified after every pass), the VM on generated programs, and the
//! -O0/-O1/-O2 and JIT differentials.

use proptest::prelude::*;
use zexus_tui::bytecode::verify::verify;
use zexus_tui::compile::optimize::{self, passes_for_level};
use zexus_tui::engine::cache::CompileCache;
use zexus_tui::engine::jit_policy::JitPolicy;
use zexus_tui::engine::{Session, pipeline};
use zexus_tui::vm::interp::Halt;

use crate::common::inproc::{Behaviour, SharedBuf, behaviour};
use crate::common::{jit_programs, programs};
use crate::harness::count;
use crate::mutate::{apply_bytes, byte_edits};
use crate::rich;
use crate::seeds::{self, MemStore, options};

const TOKENS: &[&str] = &[
    "let",
    "x",
    "y",
    "=",
    "(",
    ")",
    "{",
    "}",
    "[",
    "]",
    ",",
    ";",
    "\n",
    "if",
    "else",
    "elif",
    "while",
    "for",
    "each",
    "in",
    "action",
    "function",
    "return",
    "print",
    "1",
    "2.5",
    "\"s\"",
    "+",
    "-",
    "*",
    "/",
    "%",
    "**",
    "==",
    "<",
    "and",
    "or",
    "not",
    "!",
    "?",
    ":",
    ".",
    "STATE",
    "TX_BEGIN",
    "TX_COMMIT",
    "TX_REVERT",
    "HASH",
    "VERIFY",
    "break",
    "continue",
    "const",
    "//",
    "/*",
    "*/",
    "#",
    "+=",
    "null",
    "true",
    "9223372036854775807",
    "len",
    "push",
];

/// Token soup from the language's own vocabulary (reaches deeper parser states than bytes).
pub fn token_soup() -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::sample::select(TOKENS), 0..80).prop_map(|parts| parts.join(" "))
}

/// A seed program with some lines deleted, duplicated, swapped or replaced by another seed's.
pub fn mutated_program() -> impl Strategy<Value = String> {
    let seeds = seeds::programs();
    let n = seeds.len().max(1);
    (0..n, 0..n, proptest::collection::vec((0u8..4, any::<u32>(), any::<u32>()), 1..6)).prop_map(
        move |(i, j, edits)| {
            let mut lines: Vec<String> =
                seeds.get(i).map(|s| s.lines().map(str::to_string).collect()).unwrap_or_default();
            let donor: Vec<&str> = seeds.get(j).map(|s| s.lines().collect()).unwrap_or_default();
            for (kind, a, b) in edits {
                let len = lines.len();
                if len == 0 {
                    break;
                }
                let (at, other) = (a as usize % len, b as usize % len);
                match kind {
                    0 => {
                        lines.remove(at);
                    }
                    1 => lines.insert(at, lines[other].clone()),
                    2 => lines.swap(at, other),
                    _ => {
                        if !donor.is_empty() {
                            lines.insert(at, donor[b as usize % donor.len()].to_string());
                        }
                    }
                }
            }
            lines.join("\n")
        },
    )
}

/// A seed program with byte-level damage.
pub fn damaged_program() -> impl Strategy<Value = Vec<u8>> {
    let seeds = seeds::programs();
    let n = seeds.len().max(1);
    (0..n, byte_edits(8)).prop_map(move |(i, edits)| {
        let mut bytes = seeds.get(i).map(|s| s.as_bytes().to_vec()).unwrap_or_default();
        apply_bytes(&mut bytes, &edits);
        bytes
    })
}

/// Programs that parse: generated (two generators), seeds and mutated seeds.
pub fn parsed_programs() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => rich::program(),
        2 => programs::program(),
        2 => mutated_program(),
        1 => token_soup(),
    ]
    .prop_map(String::into_bytes)
}

fn text(input: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(input)
}

fn no_internal_error(b: &Behaviour, what: &str) -> Result<(), String> {
    if b.end.contains("internal error") {
        return Err(format!("{what} ended in an internal error: {}", b.end));
    }
    Ok(())
}

/// `front_end`: any bytes lex, parse and render their diagnostics; whatever parses builds, and
/// whatever builds passes the verifier and runs (with a step limit) without an internal error.
pub fn check_front_end(input: &[u8]) -> Result<(), String> {
    let src = text(input);
    let (_, diags) = zexus_tui::syntax::parse(&src);
    for d in &diags {
        let rendered = zexus_tui::diag::render::render(d, "fuzz.zx", &src);
        if !rendered.contains("syntax error") {
            return Err(format!("a parse diagnostic without `syntax error`:\n{rendered}"));
        }
    }
    if !diags.is_empty() {
        count("syntax error");
        return Ok(());
    }
    count("parsed");
    match zexus_tui::engine::build(&src, &options(2, 20_000)) {
        Ok(build) => {
            verify(&build.chunk, None).map_err(|e| format!("the compiler's own code fails the verifier: {e}"))?
        }
        Err(diags) => {
            for d in &diags {
                let _ = zexus_tui::diag::render::render(d, "fuzz.zx", &src);
            }
            return Ok(());
        }
    }
    no_internal_error(&behaviour(&src, &options(2, 20_000)), "the program")
}

/// `compiler`: every program that parses compiles to code that passes the verifier, before
/// optimization and after every single pass at every level; the engine's build and a build
/// reloaded from a disk cache give that same code.
pub fn check_compiler(input: &[u8]) -> Result<(), String> {
    let src = text(input);
    let (ast, diags) = zexus_tui::syntax::parse(&src);
    if !diags.is_empty() {
        return Ok(());
    }
    let (top, diags) = zexus_tui::compile::compile_program(&ast, src.len());
    if !diags.is_empty() {
        count("compile error");
        return Ok(());
    }
    count("compiled");
    verify(&top, None).map_err(|e| format!("unoptimized code fails the verifier: {e}"))?;
    for level in [1u8, 2] {
        let mut chunk = top.clone();
        for pass in passes_for_level(level) {
            optimize::optimize(&mut chunk, &[pass]);
            verify(&chunk, None)
                .map_err(|e| format!("-O{level}: code after pass {} fails the verifier: {e}", pass.name()))?;
        }
    }
    for level in [0u8, 1, 2] {
        let opts = options(level, 1000);
        let build = zexus_tui::engine::build(&src, &opts).map_err(|d| format!("-O{level}: does not build: {d:?}"))?;
        verify(&build.chunk, None).map_err(|e| format!("-O{level}: built code fails the verifier: {e}"))?;
        verify(&build.unoptimized, None).map_err(|e| format!("-O{level}: unoptimized code fails the verifier: {e}"))?;
        // Through a disk cache: the second build loads every unit and must give the same code.
        let store = MemStore::default();
        let mut first = CompileCache::default().with_store(Box::new(store.clone()));
        let (a, _) = pipeline::build_with_cache(&src, &opts, &mut first).map_err(|d| format!("{d:?}"))?;
        let mut second = CompileCache::default().with_store(Box::new(store.clone()));
        let (b, report) = pipeline::build_with_cache(&src, &opts, &mut second).map_err(|d| format!("{d:?}"))?;
        if a.chunk != b.chunk || a.unoptimized != b.unoptimized {
            return Err(format!("-O{level}: code reloaded from the disk cache differs from the compiled code"));
        }
        if a.chunk != build.chunk {
            return Err(format!("-O{level}: the cached pipeline and the plain build differ"));
        }
        if report.compiled() > 0 && second.stats().disk_errors > 0 {
            return Err(format!("-O{level}: the cache rejected its own files: {:?}", second.last_disk_error()));
        }
    }
    Ok(())
}

fn run_sliced(src: &str, opts: &zexus_tui::engine::Options, slice: u64) -> Option<Behaviour> {
    let buf = SharedBuf::default();
    let mut session = Session::builder(src).options(opts).output(Box::new(buf.clone())).build().ok()?;
    let end = loop {
        match session.vm.run(slice) {
            Halt::Budget => continue,
            Halt::Error(e) => break format!("error at {}: {}", e.span.start, e.message),
            Halt::Finished => break "ok".to_string(),
        }
    };
    session.vm.flush();
    let output = String::from_utf8_lossy(&buf.0.borrow()).into_owned();
    Some(Behaviour { output, end })
}

/// `vm`: generated programs run (step limit, memory cap) without a panic or an internal error,
/// and behave the same run to the end, run in small slices, and with the JIT compiling every
/// loop at once.
pub fn check_vm(input: &[u8]) -> Result<(), String> {
    let src = text(input);
    let opts = options(2, 100_000);
    let reference = behaviour(&src, &opts);
    if reference.end.starts_with("syntax") {
        count("did not compile");
        return Ok(());
    }
    count(if reference.end == "ok" {
        "finished"
    } else if reference.end.contains("step limit") {
        "step limit"
    } else {
        "runtime error"
    });
    no_internal_error(&reference, "the run")?;
    let sliced = run_sliced(&src, &opts, 7).ok_or("the program builds once but not twice")?;
    if sliced != reference {
        return Err(format!("running in slices of 7 differs:\n{reference:?}\n{sliced:?}"));
    }
    let mut jit = opts.clone();
    jit.jit = JitPolicy { enabled: true };
    jit.vm.hot_threshold = 1;
    let jitted = behaviour(&src, &jit);
    if jitted != reference {
        return Err(format!("the JIT changes behaviour:\n{reference:?}\n{jitted:?}"));
    }
    Ok(())
}

/// `optimizer_differential`: generated programs behave identically at -O0, -O1 and -O2.
pub fn check_optimizer_differential(input: &[u8]) -> Result<(), String> {
    let src = text(input);
    let reference = behaviour(&src, &options(0, 200_000));
    // Instruction counts differ between levels, so a run cut off by the step limit is not
    // comparable.
    if reference.end.contains("step limit") {
        count("step limit");
        return Ok(());
    }
    count("compared");
    for level in [1, 2] {
        let other = behaviour(&src, &options(level, 200_000));
        if other.end.contains("step limit") {
            continue;
        }
        if other != reference {
            return Err(format!("-O0 and -O{level} differ:\n{reference:?}\n{other:?}"));
        }
    }
    Ok(())
}

/// The JIT target's input: `seed level mode` as text.
pub fn jit_input() -> impl Strategy<Value = Vec<u8>> {
    (any::<u64>(), prop_oneof![Just(0u8), Just(2u8)], 0u8..8)
        .prop_map(|(seed, level, mode)| format!("{seed} {level} {mode}").into_bytes())
}

/// `jit_differential`: the JIT generator's loop programs behave exactly alike with and without
/// the JIT (output, error, instruction count, gas), also with gas and step limits and slices.
pub fn check_jit_differential(input: &[u8]) -> Result<(), String> {
    let text = text(input);
    let mut parts = text.split_whitespace().map(|p| p.parse::<u64>());
    let (Some(Ok(seed)), Some(Ok(level)), Some(Ok(mode))) = (parts.next(), parts.next(), parts.next()) else {
        return Err(format!("not a `seed level mode` input: {text:?}"));
    };
    jit_programs::check(seed, jit_programs::limits_for(seed, level as u8, mode as u8))
}
