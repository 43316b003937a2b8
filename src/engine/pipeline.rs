//! The build pipeline with the bytecode cache: parse, split the program into units (the top
//! level, and each top-level function with the functions nested in it), take every unit whose
//! position-free AST is cached from the cache, compile and optimize the others, reassemble the
//! chunk tree in a fixed order, and link.

use std::rc::Rc;
use std::time::{Duration, Instant};

use super::cache::{CompileCache, Tier};
use super::{Build, Options, PhaseTimings, observe};
use crate::bytecode::chunk::Chunk;
use crate::compile::cache::{CachedUnit, UnitKey, UnitKind, UnitPassFigures, key_salt};
use crate::compile::lower::{Lowerer, top_level_units};
use crate::compile::optimize::{self, PassStats};
use crate::diag::Diagnostic;
use crate::syntax::ast::{AstFunc, AstProgram};
use crate::syntax::ast_hash::{self, UnitEncoding};
use crate::syntax::span::Span;
use crate::syntax::{self};
use crate::trace::{Phase, TraceEvent};
use crate::vm::program;

/// Where a unit's code came from in one build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum UnitSource {
    /// Compiled and optimized in this build.
    Compiled,
    /// Taken from the in-memory cache.
    Memory,
    /// Taken from the disk cache.
    Disk,
}

/// One unit of a build.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct UnitReport {
    /// `<main>` for the top level, else the function's name (`<anonymous>` for literals).
    pub name: String,
    /// The cache key, as 32 hex digits.
    pub key: String,
    /// Where its code came from.
    pub source: UnitSource,
    /// Compile and optimize time of the unit when it was compiled (now, or when cached), in
    /// microseconds.
    pub compile_us: u64,
    /// Instructions after optimization (nested functions included).
    pub instructions: usize,
    /// The file it is written in (index in load order; 0 is the main file).
    #[serde(skip)]
    pub file: u32,
}

/// What one build did, unit by unit.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct BuildReport {
    /// Every unit, the top level first, then the functions in `children` order.
    pub units: Vec<UnitReport>,
    /// Time spent hashing units and consulting the cache (lookups, span resolution, stores).
    pub cache_time: Duration,
}

impl BuildReport {
    /// Units compiled in this build.
    pub fn compiled(&self) -> usize {
        self.count(UnitSource::Compiled)
    }

    /// Units taken from memory.
    pub fn memory_hits(&self) -> usize {
        self.count(UnitSource::Memory)
    }

    /// Units taken from disk.
    pub fn disk_hits(&self) -> usize {
        self.count(UnitSource::Disk)
    }

    fn count(&self, source: UnitSource) -> usize {
        self.units.iter().filter(|u| u.source == source).count()
    }
}

/// One unit's code, resolved to absolute spans.
pub(super) struct UnitCode {
    pub(super) optimized: Chunk,
    pub(super) unoptimized: Chunk,
    pub(super) figures: Vec<UnitPassFigures>,
}

enum UnitAst<'a> {
    Top,
    Function(&'a AstFunc),
}

/// Parses and builds `src` through `cache`; on failure returns every diagnostic found.
pub fn build_with_cache(
    src: &str,
    options: &Options,
    cache: &mut CompileCache,
) -> Result<(Build, BuildReport), Vec<Diagnostic>> {
    let sink = &options.sink;
    observe::lex_phase(sink, src);
    let t0 = Instant::now();
    let (ast, diags) = observe::phase(sink, Phase::Parse, || syntax::parse(src));
    let parse = t0.elapsed();
    if !diags.is_empty() {
        return Err(diags);
    }
    let (mut build, report) = build_parsed(ast, src.len(), options, cache)?;
    build.timings.parse = parse;
    Ok((build, report))
}

/// Builds an already parsed program (whose source is `source_len` bytes long) through `cache`.
pub fn build_parsed(
    ast: AstProgram,
    source_len: usize,
    options: &Options,
    cache: &mut CompileCache,
) -> Result<(Build, BuildReport), Vec<Diagnostic>> {
    let salt = key_salt(&options.passes);
    let funcs = top_level_units(&ast);
    let mut timings = PhaseTimings::default();
    let mut report = BuildReport::default();
    let mut diags = Vec::new();
    let mut codes: Vec<Option<UnitCode>> = Vec::with_capacity(funcs.len() + 1);
    let units = std::iter::once(UnitAst::Top).chain(funcs.iter().map(|f| UnitAst::Function(f)));
    // A run to the end without a cache looks nothing up: no keys (issue 13, M8).
    let lean = options.run_only && !cache.is_enabled();
    for unit in units {
        let t_hash = Instant::now();
        let (kind, encoding) = match unit {
            UnitAst::Top => (UnitKind::Top, (!lean).then(|| ast_hash::encode_top(&ast, source_len, &salt))),
            UnitAst::Function(func) => (UnitKind::Function, (!lean).then(|| ast_hash::encode_func(func, &salt))),
        };
        let key = UnitKey(encoding.as_ref().map_or(0, |e| e.hash));
        let resolved = encoding.as_ref().and_then(|e| lookup_unit(cache, options, kind, e, funcs.len()));
        report.cache_time += t_hash.elapsed();
        let (code, source, compile_us) = match resolved {
            Some(((optimized, unoptimized), entry, tier)) => {
                let figures = entry.pass_figures.clone();
                let source = match tier {
                    Tier::Memory => UnitSource::Memory,
                    Tier::Disk => UnitSource::Disk,
                };
                (Some(UnitCode { optimized, unoptimized, figures }), source, entry.compile_micros)
            }
            None => {
                let compiled = compile_unit(&unit, &ast, source_len, &funcs, options, lean, &mut timings, &mut diags);
                let micros = compiled.as_ref().map_or(0, |(_, us)| *us);
                if let (Some((code, micros)), Some(encoding)) = (&compiled, &encoding) {
                    let t_store = Instant::now();
                    store(cache, key, kind, encoding, code, *micros);
                    report.cache_time += t_store.elapsed();
                }
                (compiled.map(|(code, _)| code), UnitSource::Compiled, micros)
            }
        };
        let name = match unit {
            UnitAst::Top => "<main>".to_string(),
            UnitAst::Function(func) => func.name.as_ref().map_or("<anonymous>", |n| n.name.as_str()).to_string(),
        };
        let instructions = code.as_ref().map_or(0, |c| c.optimized.total_len());
        let key = if encoding.is_some() { key.to_string() } else { String::new() };
        report.units.push(UnitReport { name, key, source, compile_us, instructions, file: 0 });
        codes.push(code);
    }
    if !diags.is_empty() {
        return Err(diags);
    }
    let mut codes = codes.into_iter().map(|c| c.ok_or_else(Vec::new)).collect::<Result<Vec<_>, _>>()?.into_iter();
    let Some(top) = codes.next() else { return Err(Vec::new()) };
    let mut pass_stats: Vec<PassStats> =
        options.passes.iter().map(|p| PassStats { pass: p.name(), ..PassStats::default() }).collect();
    let (mut chunk, mut unoptimized) = (top.optimized, top.unoptimized);
    add_figures(&mut pass_stats, &top.figures);
    for code in codes {
        add_figures(&mut pass_stats, &code.figures);
        chunk.children.push(code.optimized);
        unoptimized.children.push(code.unoptimized);
    }
    observe::opt_passes(&options.sink, &pass_stats);
    let t_link = Instant::now();
    let program = observe::phase(&options.sink, Phase::Link, || Rc::new(program::link(&chunk)));
    timings.link = t_link.elapsed();
    Ok((Build { ast, unoptimized, chunk, pass_stats, program, timings, modules: Vec::new() }, report))
}

pub(super) fn add_figures(totals: &mut [PassStats], figures: &[UnitPassFigures]) {
    for (total, f) in totals.iter_mut().zip(figures) {
        f.add_to(total);
    }
}

/// Compiles and optimizes one unit; returns its code and its compile time in microseconds.
/// `lean`: keep no unoptimized code (see [`Options::run_only`]).
fn compile_unit(
    unit: &UnitAst<'_>,
    ast: &AstProgram,
    source_len: usize,
    funcs: &[&AstFunc],
    options: &Options,
    lean: bool,
    timings: &mut PhaseTimings,
    diags: &mut Vec<Diagnostic>,
) -> Option<(UnitCode, u64)> {
    let t_compile = Instant::now();
    let (chunk, unit_diags) = observe::phase(&options.sink, Phase::Compile, || match unit {
        UnitAst::Top => {
            let (chunk, d) = Lowerer::compile_top_unit(ast, Span::new(0, source_len), funcs);
            (Some(chunk), d)
        }
        UnitAst::Function(func) => Lowerer::compile_function_unit(func),
    });
    let compile = t_compile.elapsed();
    timings.compile += compile;
    if !unit_diags.is_empty() {
        diags.extend(unit_diags);
        return None;
    }
    let unoptimized = chunk?;
    let t_opt = Instant::now();
    // Only the debugger's views, `dis`, `stats` and the cache read the unoptimized code.
    let (mut optimized, unoptimized) = if lean {
        let empty = empty_tree(&unoptimized);
        (unoptimized, empty)
    } else {
        (unoptimized.clone(), unoptimized)
    };
    let stats = observe::phase(&options.sink, Phase::Optimize, || optimize::optimize(&mut optimized, &options.passes));
    let optimize = t_opt.elapsed();
    timings.optimize += optimize;
    let figures = stats.iter().map(UnitPassFigures::from_stats).collect();
    let micros = duration_us(compile + optimize);
    Some((UnitCode { optimized, unoptimized, figures }, micros))
}

/// A cached unit found for `encoding` (its code with the unit's own spans), or `None`; the hit
/// or miss is reported to the trace, whose events carry the low 64 bits of the 128-bit key.
pub(super) fn lookup_unit(
    cache: &mut CompileCache,
    options: &Options,
    kind: UnitKind,
    encoding: &UnitEncoding,
    n_functions: usize,
) -> Option<((Chunk, Chunk), Rc<CachedUnit>, Tier)> {
    let cached = cache.lookup(UnitKey(encoding.hash), kind, &encoding.spans, n_functions);
    let resolved = cached.and_then(|(entry, tier)| Some((entry.resolve(&encoding.spans)?, entry, tier)));
    if cache.is_enabled() {
        let short = encoding.hash as u64;
        options.sink.emit(&match resolved {
            Some(_) => TraceEvent::CacheHit { key: short },
            None => TraceEvent::CacheMiss { key: short },
        });
    }
    resolved
}

pub(super) fn store(
    cache: &mut CompileCache,
    key: UnitKey,
    kind: UnitKind,
    enc: &UnitEncoding,
    code: &UnitCode,
    micros: u64,
) {
    if !cache.is_enabled() {
        return;
    }
    match CachedUnit::new(kind, &enc.spans, &code.optimized, &code.unoptimized, code.figures.clone(), micros) {
        Some(unit) => cache.insert(key, unit),
        None => cache.note_uncacheable(),
    }
}

/// A tree of chunks shaped like `chunk` (names, kinds, spans) with no code.
fn empty_tree(chunk: &Chunk) -> Chunk {
    let mut empty = Chunk::new(chunk.name.clone(), chunk.is_top, chunk.span);
    empty.children = chunk.children.iter().map(empty_tree).collect();
    empty
}

/// A duration in whole microseconds (saturating).
pub fn duration_us(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}
