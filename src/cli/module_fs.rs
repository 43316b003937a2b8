//! The file system as the program loader sees it (`engine::loader::ModuleFs`), and the one
//! way subcommands load a program: the main file, then every module it reaches.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::rc::Rc;

use crate::diag::files::SourceFiles;
use crate::engine::loader::{self, LoadedProgram, ModuleFs, PathKind};

/// The real file system.
pub struct RealFs;

impl ModuleFs for RealFs {
    fn kind(&self, path: &Path) -> PathKind {
        match std::fs::metadata(path) {
            Ok(m) if m.is_file() => PathKind::File,
            Ok(m) if m.is_dir() => PathKind::Dir,
            _ => PathKind::Missing,
        }
    }

    fn canonical(&self, path: &Path) -> Option<PathBuf> {
        std::fs::canonicalize(path).ok()
    }

    fn read(&self, path: &Path) -> Result<String, String> {
        let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
        String::from_utf8(bytes).map_err(|_| "not valid UTF-8".to_string())
    }
}

/// A program ready to build: the main file's path and text, and, when it imports modules,
/// the whole loaded program.
pub struct LoadedMain {
    /// The main file as given.
    pub path: String,
    /// Its text.
    pub src: String,
    /// Every file, when the program has modules (`None` for one file).
    pub program: Option<Rc<LoadedProgram>>,
    /// The files for rendering diagnostics (a program with modules; empty for one file, whose
    /// diagnostics are rendered in `src`).
    pub sources: SourceFiles,
    /// The main file's AST as the loader parsed it, for a one-file program (taken by the
    /// commands that build it once, `SessionBuilder::parsed`).
    pub parsed: Option<crate::syntax::ast::AstProgram>,
}

impl LoadedMain {
    /// Renders diagnostics in their files.
    pub fn render(&self, diags: &[crate::diag::Diagnostic]) -> String {
        match &self.program {
            Some(_) => self.sources.render_all(diags),
            None => crate::diag::render::render_all(diags, &self.path, &self.src),
        }
    }

    /// Ends a headless run like `cli::finish`, rendering a runtime error in its file.
    pub fn finish(&self, session: &mut crate::engine::Session, halt: &crate::vm::interp::Halt) -> ExitCode {
        if self.program.is_none() {
            return super::finish(session, halt, &self.path, &self.src);
        }
        session.vm.flush();
        for w in &session.vm.warnings {
            eprintln!("{w}");
        }
        match halt {
            crate::vm::interp::Halt::Error(e) => self.report(&[e.to_diagnostic()]),
            _ => ExitCode::SUCCESS,
        }
    }

    /// Prints diagnostics on stderr; returns exit status 1.
    pub fn report(&self, diags: &[crate::diag::Diagnostic]) -> ExitCode {
        eprintln!("{}", self.render(diags).trim_end());
        ExitCode::from(1)
    }
}

/// The program at `file` loaded again (the TUI's restarts): the main file's text and, when
/// it imports modules, the whole program; or a one-line reason (`D:LINE:COL: message`).
pub fn reload_program(file: &Path) -> crate::tui::worker::LoadResult {
    use crate::tui::worker::LoadFailure;
    let src = crate::input::read_source(file).map_err(|why| LoadFailure { summary: why, ..LoadFailure::default() })?;
    match loader::load(&RealFs, file, src.clone()) {
        Ok(p) => Ok((src, (p.files.len() > 1).then(|| Rc::new(p)))),
        Err((diags, sources)) => {
            let at = diags.first().filter(|d| sources.file_of(d.span.start) == 0).map(|d| {
                let main = sources.files.first().map_or(src.as_str(), |f| f.text.as_str());
                let pos = crate::syntax::span::SourceMap::new(main).line_col(main, d.span.start);
                (pos.line, pos.col)
            });
            let rendered = if sources.files.len() > 1 {
                sources.render_all(&diags)
            } else {
                crate::diag::render::render_all(&diags, &file.display().to_string(), &src)
            };
            Err(LoadFailure { summary: sources.summary(&diags), rendered, main_at: at, text: Some(src) })
        }
    }
}

/// [`load_main`] for the visual debugger: a program that reads but does not compile (a syntax
/// error, a missing module) is not an error here, since the debugger opens on it with the
/// diagnostics in place; only a file that cannot be read is. Returns whether it compiles.
pub fn load_main_or_broken(file: &Path) -> Result<(LoadedMain, bool), ExitCode> {
    let (path, src) = super::load(file)?;
    match loader::load(&RealFs, file, src.clone()) {
        Ok(p) => {
            let sources = p.sources();
            let program = (p.files.len() > 1).then(|| Rc::new(p));
            Ok((LoadedMain { path, src, program, sources, parsed: None }, true))
        }
        Err((_, sources)) => Ok((LoadedMain { path, src, program: None, sources, parsed: None }, false)),
    }
}

/// Reads `file` and loads every module it reaches (MODULES.md §5); errors are printed.
pub fn load_main(file: &Path) -> Result<LoadedMain, ExitCode> {
    let (path, src) = super::load(file)?;
    match loader::load(&RealFs, file, src) {
        Ok(mut p) => {
            if p.files.len() > 1 {
                let sources = p.sources();
                let src = p.files[0].text.clone();
                return Ok(LoadedMain { path, src, program: Some(Rc::new(p)), sources, parsed: None });
            }
            // One file: its text and AST move out of the loaded program (no copies).
            let main = p.files.swap_remove(0);
            let sources = SourceFiles { files: Vec::new() };
            Ok(LoadedMain { path, src: main.text, program: None, sources, parsed: Some(main.ast) })
        }
        Err((diags, sources)) => {
            let src = sources.files.first().map(|f| f.text.clone()).unwrap_or_default();
            let text = if sources.files.len() > 1 {
                sources.render_all(&diags)
            } else {
                crate::diag::render::render_all(&diags, &path, &src)
            };
            eprintln!("{}", text.trim_end());
            Err(ExitCode::from(1))
        }
    }
}
