//! The engine: one debugging/profiling session over one program. It owns the pipeline
//! (parse, compile, optimize, link), the VM, and the policies around it (JIT, cache, limits),
//! and it is what the CLI subcommands and the TUI drive.
//!
//! Architecture invariant: the engine knows nothing about terminals; it reads the clock but
//! performs no file I/O (the CLI reads files and hands over text and writers).

pub mod builder;
pub mod cache;
pub mod counts;
pub mod files;
pub mod flame;
pub mod jit_policy;
pub mod loader;
pub mod observe;
pub mod output;
pub mod pipeline;
pub mod program_build;
pub mod recorder;
pub mod session_cache;
pub mod stats;
pub mod timeline;

use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;
use std::time::Duration;

use crate::bytecode::chunk::Chunk;
use crate::compile::optimize::{self, Pass, PassStats};
use crate::diag::Diagnostic;
use crate::jit::{Jit, JitInfo};
use crate::syntax::ast::AstProgram;
use crate::trace::EventSink;
use crate::vm::interp::{Halt, Vm, VmConfig};
use crate::vm::program::Program;

pub mod debug;
pub mod snapshot;

/// Everything that shapes a session.
#[derive(Debug, Clone)]
pub struct Options {
    /// VM limits.
    pub vm: VmConfig,
    /// Optimizer passes to run, in order.
    pub passes: Vec<Pass>,
    /// Whether hot loops are compiled to native code.
    pub jit: jit_policy::JitPolicy,
    /// Where the pipeline, the VM, the JIT and the cache report events (disabled by default).
    pub sink: EventSink,
    /// A headless run to the end (`run`): with the cache off, the build keeps no unoptimized
    /// code (`Build::unoptimized` is a tree of empty chunks) and computes no unit keys (the
    /// report's are empty), which only the debugger's views, `dis`, `stats` and the cache
    /// read (issue 13, M8).
    pub run_only: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            vm: VmConfig::default(),
            passes: optimize::passes_for_level(2),
            jit: jit_policy::JitPolicy::default(),
            sink: EventSink::default(),
            run_only: false,
        }
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
    /// The modules of a multi-file program, in load order (empty for one file).
    pub modules: Vec<ModuleBuild>,
}

/// The code of one module of a multi-file program.
#[derive(Debug)]
pub struct ModuleBuild {
    /// `N(M)`.
    pub name: String,
    /// `D(M)`.
    pub display: String,
    /// Its top level (a function chunk) with its functions, as run.
    pub chunk: Chunk,
    /// The same before optimization.
    pub unoptimized: Chunk,
}

/// Parses and compiles `src` without a cache; on failure returns every diagnostic found.
pub fn build(src: &str, options: &Options) -> Result<Build, Vec<Diagnostic>> {
    pipeline::build_with_cache(src, options, &mut cache::CompileCache::disabled()).map(|(build, _)| build)
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
    /// Loops compiled to native code (including those later blacklisted).
    pub loops_compiled: u64,
    /// Compilations attempted (including refused ones).
    pub compilations: u64,
    /// Entries into native code from the interpreter (native code going on after a fuel exit is the same entry; ARCHITECTURE.md, `jit/`).
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
    /// The JIT, when this session uses it.
    jit: Option<jit_policy::SharedJit>,
    /// The bytecode cache, the options and the output sink, kept for reloads.
    pub(crate) reload: session_cache::ReloadState,
    /// The event stream this session reports to (from [`Options::sink`]).
    pub sink: EventSink,
    run_started: bool,
    /// Source, name and captured output, for snapshots.
    pub text: snapshot::SessionText,
}

impl Session {
    /// A VM for `build` printing to `out`, with the JIT installed when `options` ask for it.
    pub(crate) fn new_vm(build: &Build, options: &Options, out: Box<dyn Write>) -> (Vm, Option<jit_policy::SharedJit>) {
        let mut vm = Vm::new(build.program.clone(), options.vm.clone(), out);
        observe::attach(&mut vm, &options.sink);
        let jit = (options.jit.enabled && crate::jit::AVAILABLE).then(|| Rc::new(RefCell::new(Jit::new())));
        if let Some(jit) = &jit {
            vm.set_jit(Some(Box::new(jit_policy::JitHook::new(jit.clone(), options.sink.clone()))));
        }
        (vm, jit)
    }

    /// What the JIT did so far.
    pub fn jit_summary(&self) -> JitSummary {
        jit_policy::summarize(&self.jit_info(), self.jit.is_some(), self.vm.config.hot_threshold)
    }

    /// Everything the JIT did so far, per loop (empty when the JIT is off).
    pub fn jit_info(&self) -> JitInfo {
        match &self.jit {
            Some(jit) => jit.borrow().info(),
            None => JitInfo { available: crate::jit::AVAILABLE, loops: Vec::new() },
        }
    }

    /// Runs to the end (or the first error).
    pub fn run_to_end(&mut self) -> Halt {
        if self.sink.is_enabled() {
            return self.run_observed();
        }
        loop {
            match self.vm.run(u64::MAX) {
                Halt::Budget => continue,
                other => return other,
            }
        }
    }
}
