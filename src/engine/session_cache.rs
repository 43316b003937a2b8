//! The session's side of the bytecode cache: building through it, and reloading a changed
//! program in the same session so that only the units whose AST changed are recompiled (the
//! cache lives as long as the session, across reloads).

use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;

use super::cache::{CacheStats, CompileCache};
use super::files::ProgramFiles;
use super::loader::LoadedProgram;
use super::pipeline::{BuildReport, build_with_cache};
use super::program_build::build_loaded;
use super::{Build, Options, Session};
use crate::diag::Diagnostic;

/// One output sink shared by the VMs of successive reloads.
#[derive(Clone)]
pub struct SharedOut(Rc<RefCell<Box<dyn Write>>>);

impl SharedOut {
    /// Wraps `out`.
    pub fn new(out: Box<dyn Write>) -> SharedOut {
        SharedOut(Rc::new(RefCell::new(out)))
    }
}

impl Write for SharedOut {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.0.borrow_mut().write_all(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.borrow_mut().flush()
    }
}

/// What a session keeps to rebuild its program.
pub struct ReloadState {
    /// The bytecode cache (memory, and disk if configured).
    pub cache: CompileCache,
    /// The options the session was created with.
    pub options: Options,
    /// The output sink every VM of the session prints to.
    pub out: SharedOut,
    /// What the latest build did, unit by unit.
    pub last_build: BuildReport,
    /// Builds so far (1 after creation; each successful reload adds one).
    pub builds: u64,
    /// The files whose text changed in the latest reload (by display path; new files too).
    pub changed: Vec<String>,
}

impl Session {
    /// Replaces the program with `new_src`, recompiling only the units whose AST changed, and
    /// prepares a fresh VM (printing to the same output) to run it from the start. On failure
    /// the session keeps its current program and returns the diagnostics.
    pub fn reload(&mut self, new_src: &str) -> Result<&BuildReport, Vec<Diagnostic>> {
        let (build, report) = {
            let state = &mut self.reload;
            build_with_cache(new_src, &state.options, &mut state.cache)?
        };
        self.replace_build(build, report, ProgramFiles::single("", new_src))
    }

    /// [`Session::reload`] for a multi-file program loaded again (`engine::loader`): every
    /// file's units go through the cache, so only the changed units of changed files are
    /// recompiled.
    pub fn reload_program(&mut self, program: &LoadedProgram) -> Result<&BuildReport, Vec<Diagnostic>> {
        let (build, report) = {
            let state = &mut self.reload;
            build_loaded(program, &state.options, &mut state.cache)?
        };
        self.replace_build(build, report, ProgramFiles::loaded(program))
    }

    fn replace_build(
        &mut self,
        build: Build,
        report: BuildReport,
        files: ProgramFiles,
    ) -> Result<&BuildReport, Vec<Diagnostic>> {
        self.vm.flush();
        self.report_stopped();
        let (vm, jit) = Session::new_vm(&build, &self.reload.options, Box::new(self.reload.out.clone()));
        self.vm = vm;
        self.jit = jit;
        self.run_started = false;
        self.build = build;
        let changed = files
            .files
            .iter()
            .enumerate()
            .filter(|(i, f)| {
                // The main file is matched by position (its display name is the session's).
                let old = if *i == 0 { Some(0) } else { self.text.files.by_display(&f.display) };
                old.is_none_or(|o| self.text.files.get(o).source != f.source)
            })
            .map(|(i, f)| if i == 0 { self.text.name.clone() } else { f.display.clone() })
            .collect();
        self.reload.changed = changed;
        self.text.reset(files);
        if self.text.counting {
            self.enable_exec_counts();
        }
        self.reload.last_build = report;
        self.reload.builds += 1;
        Ok(&self.reload.last_build)
    }

    /// Starts the same build over in a fresh VM, without rebuilding (so without cache
    /// lookups): for replaying a run up to a point. Output captured so far is cleared, and
    /// execution counting stays on if it was.
    pub fn rewind(&mut self) {
        self.vm.flush();
        self.build.program.reset_counters();
        let (vm, jit) = Session::new_vm(&self.build, &self.reload.options, Box::new(self.reload.out.clone()));
        self.vm = vm;
        self.jit = jit;
        self.run_started = false;
        self.text.clear_output();
        if self.text.counting {
            self.enable_exec_counts();
        }
    }

    /// What the latest build (creation or reload) did, unit by unit.
    pub fn last_build(&self) -> &BuildReport {
        &self.reload.last_build
    }

    /// The cache's figures, cumulative over the session.
    pub fn cache_stats(&self) -> CacheStats {
        self.reload.cache.stats()
    }

    /// The most recent disk-cache problem, if any (for a warning).
    pub fn cache_warning(&self) -> Option<&str> {
        self.reload.cache.last_disk_error()
    }

    /// Builds so far (creation and successful reloads).
    pub fn builds(&self) -> u64 {
        self.reload.builds
    }
}
