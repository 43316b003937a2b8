//! Builds a loaded multi-file program (`engine::loader`) through the bytecode cache: every
//! file's units (its top level, each top-level function) are keyed by the file's own content,
//! so an edit to one module recompiles only that module's changed units (MODULES.md §14).
//!
//! A unit's key covers what its code depends on beyond its AST: the file's namespace (its
//! globals are named `x@N`) and, for a top level, the module index and export list of every
//! `use` it contains.

use std::rc::Rc;
use std::time::Instant;

use super::cache::{CompileCache, Tier};
use super::loader::{LoadedFile, LoadedProgram};
use super::pipeline::{BuildReport, UnitCode, UnitReport, UnitSource, add_figures, duration_us, lookup_unit, store};
use super::{Build, ModuleBuild, Options, PhaseTimings, observe};
use crate::bytecode::chunk::Chunk;
use crate::compile::cache::{UnitKey, UnitKind, UnitPassFigures, key_salt};
use crate::compile::lower::{FileCtx, Lowerer, top_level_units};
use crate::compile::optimize::{self, PassStats};
use crate::diag::Diagnostic;
use crate::syntax::ast_hash;
use crate::trace::Phase;
use crate::vm::program::{self, FileNames, LinkModule};

/// Builds every file of `loaded`; on failure returns every diagnostic found.
pub fn build_loaded(
    loaded: &LoadedProgram,
    options: &Options,
    cache: &mut CompileCache,
) -> Result<(Build, BuildReport), Vec<Diagnostic>> {
    let mut timings = PhaseTimings::default();
    let mut report = BuildReport::default();
    let mut diags = Vec::new();
    let mut pass_stats: Vec<PassStats> =
        options.passes.iter().map(|p| PassStats { pass: p.name(), ..PassStats::default() }).collect();
    let mut built = Vec::with_capacity(loaded.files.len());
    for (i, file) in loaded.files.iter().enumerate() {
        built.push(build_file(file, i as u32, options, cache, &mut timings, &mut report, &mut diags, &mut pass_stats));
    }
    if !diags.is_empty() {
        return Err(diags);
    }
    let built: Vec<(Chunk, Chunk)> = built.into_iter().collect::<Option<Vec<_>>>().ok_or_else(Vec::new)?;
    observe::opt_passes(&options.sink, &pass_stats);
    let mut files = built.into_iter();
    let Some((chunk, unoptimized)) = files.next() else { return Err(Vec::new()) };
    let modules: Vec<ModuleBuild> = files
        .zip(loaded.files.iter().skip(1))
        .map(|((chunk, unoptimized), f)| ModuleBuild {
            name: f.name.clone(),
            display: f.display.clone(),
            chunk,
            unoptimized,
        })
        .collect();
    let link_modules: Vec<LinkModule<'_>> = modules
        .iter()
        .zip(loaded.files.iter().skip(1))
        .map(|(m, f)| LinkModule {
            chunk: &m.chunk,
            name: m.name.clone(),
            display: m.display.clone(),
            exports: f.exports.clone(),
        })
        .collect();
    let names: Vec<FileNames> = loaded
        .files
        .iter()
        .map(|f| FileNames {
            ns: f.name.clone(),
            file: f.canonical.display().to_string(),
            dir: f.canonical.parent().map(|d| d.display().to_string()).unwrap_or_default(),
        })
        .collect();
    let t_link = Instant::now();
    let linked = observe::phase(&options.sink, Phase::Link, || {
        Rc::new(program::link_with_modules(&chunk, &link_modules, &names))
    });
    timings.link = t_link.elapsed();
    let ast = loaded.files[0].ast.clone();
    Ok((Build { ast, unoptimized, chunk, pass_stats, program: linked, timings, modules }, report))
}

/// The cache salt of one file's units.
fn salt_for(options: &Options, ctx: &FileCtx, top: bool) -> Vec<u8> {
    let mut salt = key_salt(&options.passes);
    salt.extend_from_slice(format!(";ns={}", ctx.ns).as_bytes());
    if top {
        let mut uses: Vec<_> = ctx.uses.iter().collect();
        uses.sort_by_key(|(k, _)| **k);
        for (_, t) in uses {
            salt.extend_from_slice(format!(";use={}:{}:{}", t.module, t.ns, t.exports.join(",")).as_bytes());
        }
    }
    salt
}

/// One file's chunk tree (optimized, unoptimized), its units taken from the cache or compiled.
#[allow(clippy::too_many_arguments)]
fn build_file(
    file: &LoadedFile,
    index: u32,
    options: &Options,
    cache: &mut CompileCache,
    timings: &mut PhaseTimings,
    report: &mut BuildReport,
    diags: &mut Vec<Diagnostic>,
    pass_stats: &mut [PassStats],
) -> Option<(Chunk, Chunk)> {
    let is_main = index == 0;
    let ast = &file.ast;
    let funcs = top_level_units(ast);
    let extent = file.extent();
    let mut codes: Vec<Option<UnitCode>> = Vec::with_capacity(funcs.len() + 1);
    for unit in 0..=funcs.len() {
        let t_hash = Instant::now();
        let top = unit == 0;
        let salt = salt_for(options, &file.ctx, top);
        let (kind, encoding) = if top {
            (UnitKind::Top, ast_hash::encode_top_in(ast, extent, &salt))
        } else {
            (UnitKind::Function, ast_hash::encode_func(funcs[unit - 1], &salt))
        };
        let key = UnitKey(encoding.hash);
        let resolved = lookup_unit(cache, options, kind, &encoding, funcs.len());
        report.cache_time += t_hash.elapsed();
        let (code, source, compile_us) = match resolved {
            Some(((optimized, unoptimized), entry, tier)) => {
                let source = if tier == Tier::Memory { UnitSource::Memory } else { UnitSource::Disk };
                (
                    Some(UnitCode { optimized, unoptimized, figures: entry.pass_figures.clone() }),
                    source,
                    entry.compile_micros,
                )
            }
            None => {
                let compiled = compile(file, is_main, unit, &funcs, options, timings, diags);
                let micros = compiled.as_ref().map_or(0, |(_, us)| *us);
                if let Some((code, micros)) = &compiled {
                    store(cache, key, kind, &encoding, code, *micros);
                }
                (compiled.map(|(code, _)| code), UnitSource::Compiled, micros)
            }
        };
        let plain = if top {
            if is_main { "<main>".to_string() } else { "<module>".to_string() }
        } else {
            funcs[unit - 1].name.as_ref().map_or("<anonymous>", |n| n.name.as_str()).to_string()
        };
        let name = match (is_main, top) {
            (true, _) => plain,
            (false, true) => format!("<module {}>", file.display),
            (false, false) => format!("{plain}@{}", file.display),
        };
        let instructions = code.as_ref().map_or(0, |c| c.optimized.total_len());
        report.units.push(UnitReport { name, key: key.to_string(), source, compile_us, instructions, file: index });
        codes.push(code);
    }
    let mut codes = codes.into_iter().collect::<Option<Vec<_>>>()?.into_iter();
    let top = codes.next()?;
    add_figures(pass_stats, &top.figures);
    let (mut chunk, mut unoptimized) = (top.optimized, top.unoptimized);
    for code in codes {
        add_figures(pass_stats, &code.figures);
        chunk.children.push(code.optimized);
        unoptimized.children.push(code.unoptimized);
    }
    Some((chunk, unoptimized))
}

fn compile(
    file: &LoadedFile,
    is_main: bool,
    unit: usize,
    funcs: &[&crate::syntax::ast::AstFunc],
    options: &Options,
    timings: &mut PhaseTimings,
    diags: &mut Vec<Diagnostic>,
) -> Option<(UnitCode, u64)> {
    let t_compile = Instant::now();
    let ctx = file.ctx.clone();
    let (chunk, unit_diags) = observe::phase(&options.sink, Phase::Compile, || {
        if unit == 0 {
            let (c, d) = if is_main {
                Lowerer::compile_main_unit(&file.ast, file.extent(), funcs, ctx)
            } else {
                Lowerer::compile_module_unit(&file.ast, file.extent(), funcs, ctx)
            };
            (Some(c), d)
        } else {
            Lowerer::compile_function_unit_in(funcs[unit - 1], ctx)
        }
    });
    let compile = t_compile.elapsed();
    timings.compile += compile;
    if !unit_diags.is_empty() {
        diags.extend(unit_diags);
        return None;
    }
    let unoptimized = chunk?;
    let t_opt = Instant::now();
    let mut optimized = unoptimized.clone();
    let stats = observe::phase(&options.sink, Phase::Optimize, || optimize::optimize(&mut optimized, &options.passes));
    let optimize = t_opt.elapsed();
    timings.optimize += optimize;
    let figures = stats.iter().map(UnitPassFigures::from_stats).collect();
    Some((UnitCode { optimized, unoptimized, figures }, duration_us(compile + optimize)))
}
