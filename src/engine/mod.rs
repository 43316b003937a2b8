//! The engine: one debugging/profiling session over one program. It owns the pipeline
//! (parse, compile, optimize, link), the VM, and the policies around it (JIT, cache, limits),
//! and it is what the CLI subcommands and the TUI drive.
//!
//! Architecture invariant: the engine knows nothing about terminals; it reads the clock but
//! performs no file I/O (the CLI reads files and hands over text and writers).

use std::io::Write;
use std::rc::Rc;
use std::time::{Duration, Instant};

use crate::bytecode::chunk::Chunk;
use crate::compile;
use crate::compile::optimize::{self, Pass, PassStats};
use crate::diag::Diagnostic;
use crate::syntax::{self, ast::AstProgram};
use crate::vm::interp::{Halt, Vm, VmConfig};
use crate::vm::program::{self, Program};

pub mod debug;
pub mod snapshot;

/// Everything that shapes a session.
#[derive(Debug, Clone)]
pub struct Options {
    /// VM limits.
    pub vm: VmConfig,
    /// Optimizer passes to run, in order.
    pub passes: Vec<Pass>,
}

impl Default for Options {
    fn default() -> Self {
        Options { vm: VmConfig::default(), passes: optimize::passes_for_level(2) }
    }
}

/// Wall-clock time spent in each phase of the pipeline.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct PhaseTimings {
    /// Lexing and parsing.
    pub parse: Duration,
    /// AST to bytecode.
    pub compile: Duration,
    /// Optimizer passes.
    pub optimize: Duration,
    /// Linking into a runnable program.
    pub link: Duration,
}

/// A compiled program and the artefacts of every stage.
#[derive(Debug)]
pub struct Build {
    /// The parsed program.
    pub ast: AstProgram,
    /// The bytecode as compiled, before optimization.
    pub unoptimized: Chunk,
    /// The bytecode that runs (after the optimizer).
    pub chunk: Chunk,
    /// Figures of each optimizer pass.
    pub pass_stats: Vec<PassStats>,
    /// The linked program.
    pub program: Rc<Program>,
    /// Time per phase.
    pub timings: PhaseTimings,
}

/// Parses and compiles `src`; on failure returns every diagnostic found.
pub fn build(src: &str, options: &Options) -> Result<Build, Vec<Diagnostic>> {
    let t0 = Instant::now();
    let (ast, diags) = syntax::parse(src);
    let parse = t0.elapsed();
    if !diags.is_empty() {
        return Err(diags);
    }
    let t1 = Instant::now();
    let (chunk, diags) = compile::compile_program(&ast, src.len());
    let compile = t1.elapsed();
    if !diags.is_empty() {
        return Err(diags);
    }
    let t2 = Instant::now();
    let unoptimized = chunk.clone();
    let mut chunk = chunk;
    let pass_stats = optimize::optimize(&mut chunk, &options.passes);
    let optimize = t2.elapsed();
    let t3 = Instant::now();
    let program = Rc::new(program::link(&chunk));
    let link = t3.elapsed();
    Ok(Build { ast, unoptimized, chunk, pass_stats, program, timings: PhaseTimings { parse, compile, optimize, link } })
}

/// What the JIT did in a session (all zero while the JIT is off or unavailable).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct JitSummary {
    /// True when this build contains the x86-64 JIT.
    pub available: bool,
    /// True when the JIT is switched on for this session.
    pub enabled: bool,
    /// Back-edges after which a loop is compiled.
    pub threshold: u64,
    /// Loops compiled to native code.
    pub loops_compiled: u64,
    /// Compilations attempted (including refused ones).
    pub compilations: u64,
    /// Entries into native code.
    pub entries: u64,
    /// Exits from native code through a guard (type, overflow, unsupported instruction).
    pub bailouts: u64,
    /// Loops that kept bailing out and stay interpreted.
    pub blacklisted: u64,
    /// Bytes of native code generated.
    pub native_bytes: u64,
    /// Time spent compiling, in microseconds.
    pub compile_time_us: u64,
}

/// One program being run.
pub struct Session {
    /// The build the VM runs.
    pub build: Build,
    /// The VM.
    pub vm: Vm,
    /// Source, name and captured output, for snapshots.
    pub capture: snapshot::Capture,
}

impl Session {
    /// Builds `src` and prepares a VM that prints to `out`.
    pub fn new(src: &str, options: &Options, out: Box<dyn Write>) -> Result<Session, Vec<Diagnostic>> {
        let build = build(src, options)?;
        let vm = Vm::new(build.program.clone(), options.vm.clone(), out);
        Ok(Session { build, vm, capture: snapshot::Capture::new(src) })
    }

    /// What the JIT did so far.
    pub fn jit_summary(&self) -> JitSummary {
        JitSummary { threshold: self.vm.config.hot_threshold, ..JitSummary::default() }
    }

    /// Runs to the end (or the first error).
    pub fn run_to_end(&mut self) -> Halt {
        loop {
            match self.vm.run(u64::MAX) {
                Halt::Budget => continue,
                other => return other,
            }
        }
    }
}
