//! The one way to make a [`Session`]: [`Session::builder`] and its options (the compile
//! options, where the program prints, whether its output is captured for snapshots, the
//! bytecode cache, the display name).

use std::io::Write;

use super::cache::CompileCache;
use super::output::OutputLog;
use super::pipeline::build_with_cache;
use super::session_cache::{ReloadState, SharedOut};
use super::snapshot::SessionText;
use super::{Options, Session};
use crate::diag::Diagnostic;

/// How to make a session; [`SessionBuilder::build`] compiles the source and prepares the VM.
///
/// Defaults: [`Options::default`], output discarded, a fresh in-memory cache, the name
/// `<program>`.
pub struct SessionBuilder {
    src: String,
    name: String,
    options: Options,
    out: Option<Box<dyn Write>>,
    capture: bool,
    cache: CompileCache,
    program: Option<std::rc::Rc<super::loader::LoadedProgram>>,
    parsed: Option<crate::syntax::ast::AstProgram>,
}

impl Session {
    /// Starts making a session over `src`.
    pub fn builder(src: &str) -> SessionBuilder {
        SessionBuilder {
            src: src.to_string(),
            name: "<program>".to_string(),
            options: Options::default(),
            out: None,
            capture: false,
            cache: CompileCache::default(),
            program: None,
            parsed: None,
        }
    }
}

impl SessionBuilder {
    /// The options to build and run with.
    pub fn options(mut self, options: &Options) -> SessionBuilder {
        self.options = options.clone();
        self
    }

    /// Where the program prints (replaces [`SessionBuilder::capture_output`]).
    pub fn output(mut self, out: Box<dyn Write>) -> SessionBuilder {
        self.out = Some(out);
        self.capture = false;
        self
    }

    /// Keeps the program's output for snapshots instead of printing it (replaces
    /// [`SessionBuilder::output`]).
    pub fn capture_output(mut self) -> SessionBuilder {
        self.out = None;
        self.capture = true;
        self
    }

    /// The program's display name in messages and snapshots (its path, or `<demo>`).
    pub fn name(mut self, name: &str) -> SessionBuilder {
        self.name = name.to_string();
        self
    }

    /// Builds through `cache` (off, or with a disk tier) instead of a fresh in-memory one.
    /// Builds `ast`, the builder's source as the loader already parsed it (a one-file program),
    /// instead of parsing the source again (issue 13, M8). Ignored when someone listens to the
    /// pipeline's events (a trace has a parse phase) or a multi-file program is given.
    pub fn parsed(mut self, ast: Option<crate::syntax::ast::AstProgram>) -> SessionBuilder {
        self.parsed = ast;
        self
    }

    /// Builds the loaded multi-file program `program` (whose main file's text is the
    /// builder's source) instead of parsing the source alone.
    pub fn program(mut self, program: std::rc::Rc<super::loader::LoadedProgram>) -> SessionBuilder {
        self.program = Some(program);
        self
    }

    /// [`SessionBuilder::program`] when there is a multi-file program.
    pub fn program_opt(mut self, program: Option<std::rc::Rc<super::loader::LoadedProgram>>) -> SessionBuilder {
        self.program = program;
        self
    }

    pub fn cache(mut self, cache: CompileCache) -> SessionBuilder {
        self.cache = cache;
        self
    }

    /// Compiles the source and prepares a VM paused before its first instruction; on failure
    /// returns every diagnostic found.
    pub fn build(self) -> Result<Session, Vec<Diagnostic>> {
        let SessionBuilder { src, name, options, out, capture, mut cache, program, parsed } = self;
        crate::vm::clock::install_wall_clock(super::observe::system_wall_clock);
        let (build, report) = match &program {
            Some(p) => super::program_build::build_loaded(p, &options, &mut cache)?,
            None => match parsed {
                Some(ast) if !options.sink.has_listeners() => {
                    super::pipeline::build_parsed(ast, src.len(), &options, &mut cache)?
                }
                _ => build_with_cache(&src, &options, &mut cache)?,
            },
        };
        let log = capture.then(OutputLog::default);
        let out: Box<dyn Write> = match (&log, out) {
            (Some(log), _) => Box::new(log.clone()),
            (None, Some(out)) => out,
            (None, None) => Box::new(std::io::sink()),
        };
        let out = SharedOut::new(out);
        let (vm, jit) = Session::new_vm(&build, &options, Box::new(out.clone()));
        let sink = options.sink.clone();
        let reload = ReloadState { cache, options, out, last_build: report, builds: 1, changed: Vec::new() };
        let mut text = SessionText::from_source(src);
        if let Some(p) = &program {
            text.files = super::files::ProgramFiles::loaded(p);
        }
        text.set_name(&name);
        text.output = log;
        Ok(Session { build, vm, jit, reload, sink, run_started: false, text })
    }
}
