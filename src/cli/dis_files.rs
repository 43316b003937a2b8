//! `dis` of a multi-file program (MODULES.md §14): the main file's units as for one file, then
//! each module's in load order, named by qualified name, with lines of their own file.

use std::process::ExitCode;

use super::module_fs::LoadedMain;
use super::{DisMode, RunOpts};
use crate::engine::cache::CompileCache;
use crate::engine::files::localized;
use crate::engine::loader::LoadedProgram;
use crate::engine::program_build::build_loaded;

/// Lists every file's units.
pub fn cmd_dis_program(main: &LoadedMain, program: &LoadedProgram, opts: &RunOpts, mode: DisMode) -> ExitCode {
    let build = match build_loaded(program, &opts.options(), &mut CompileCache::disabled()) {
        Ok((build, _)) => build,
        Err(diags) => return main.report(&diags),
    };
    let report = crate::compile::optimize::report::render_dis;
    let mut text = report(&build.unoptimized, &build.chunk, &build.pass_stats, &main.src, mode);
    for (m, f) in build.modules.iter().zip(program.files.iter().skip(1)) {
        let before = localized(&m.unoptimized, f.base, &f.display);
        let after = localized(&m.chunk, f.base, &f.display);
        text.push_str(&report(&before, &after, &[], &f.text, mode));
    }
    use std::io::Write;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    ExitCode::SUCCESS
}
