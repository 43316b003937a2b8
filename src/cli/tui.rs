//! `zexus-tui [FILE]`: open the visual debugger on a program, or on the built-in demo.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use std::sync::Arc;

use super::RunOpts;
use super::cache_dir::DirStore;
use crate::engine::cache::CompileCache;
use crate::engine::recorder::EventBreak;
use crate::tui::worker::{CacheFactory, ProgramLoader};
use crate::tui::{self, TuiConfig, theme::Theme};

/// The demo program opened when no file is given.
pub const DEMO: &str = include_str!("../../samples/demo.zx");

/// What the demo's status line says first.
const DEMO_HINT: &str =
    "demo: space runs and stops at the JIT compile and the rollback · < > speed · E next VM event · ? keys";

/// Options of the visual debugger.
#[derive(Debug, Args, Clone, Default)]
pub struct TuiOpts {
    /// Colour theme: dark, light, high-contrast, or a JSON theme file (`t` switches).
    #[arg(long, value_name = "NAME|FILE", default_value = "dark")]
    pub theme: String,
    /// Do not capture the mouse (the default: the terminal keeps selecting and copying text;
    /// `m` toggles capture).
    #[arg(long, overrides_with = "mouse")]
    pub no_mouse: bool,
    /// Capture the mouse: click to focus and select, wheel to scroll (`m` toggles it).
    #[arg(long, overrides_with = "no_mouse")]
    pub mouse: bool,
    /// The directory the export menu (`e`) proposes for every format of the session (made
    /// when written; editable in the menu) [default: zexus-export-<program>-<UTC time>].
    #[arg(long, value_name = "DIR")]
    pub export: Option<PathBuf>,
    /// Start running at once instead of paused before the first instruction.
    #[arg(long)]
    pub autorun: bool,
}

/// Loads the chosen theme, followed by the other built-in themes for `t` to cycle through.
pub fn themes(spec: &str) -> Result<Vec<Theme>, String> {
    let first = Theme::load(spec).map_err(|e| format!("error: {e}"))?;
    let mut all = vec![first];
    for (name, _) in tui::theme::BUILTIN {
        if all[0].name != name {
            all.push(Theme::builtin(name).map_err(|e| format!("error: {e}"))?);
        }
    }
    Ok(all)
}

/// The bytecode cache `--no-cache` and `--cache-dir` ask for, made on the VM thread. The
/// directory is checked here, before the terminal is taken over, so a problem is a plain
/// error message.
fn cache_factory(opts: &RunOpts) -> Result<CacheFactory, String> {
    if let Some(dir) = &opts.cache_dir {
        DirStore::open(dir).map_err(|why| format!("error: bytecode cache directory unusable ({why})"))?;
    }
    let (off, dir) = (opts.no_cache, opts.cache_dir.clone());
    Ok(CacheFactory(Arc::new(move || {
        if off {
            return CompileCache::disabled();
        }
        let cache = CompileCache::default();
        match dir.as_deref().map(DirStore::open) {
            Some(Ok(store)) => cache.with_store(Box::new(store)),
            _ => cache,
        }
    })))
}

/// Opens the TUI on `file` (or the demo), the program's `__ARGS__` being `args`. The file is
/// read here first, so a file that cannot be read is reported before the terminal is taken
/// over; the VM thread loads it (with its modules) for itself and on each restart, and a
/// program that does not compile opens with its diagnostics shown (see `tui::worker`).
pub fn cmd_tui(file: Option<&Path>, run_opts: &RunOpts, opts: &TuiOpts, args: Vec<String>) -> ExitCode {
    let themes = match themes(&opts.theme) {
        Ok(t) => t,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(1);
        }
    };
    let mut sources = None;
    let mut loaded_one_file = false;
    let (name, source, stem) = match file {
        // A program that does not compile opens too, with its diagnostics in place, so that it
        // can be fixed and `r` restarts it.
        Some(path) => match super::module_fs::load_main_or_broken(path) {
            Ok((main, loads)) => {
                let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
                loaded_one_file = loads && main.program.is_none();
                if main.program.is_some() {
                    sources = Some(main.sources);
                }
                (main.path, main.src, stem)
            }
            Err(code) => return code,
        },
        None => ("<demo>".to_string(), DEMO.to_string(), "demo".to_string()),
    };
    // Always through the loader, so that a `use` added before a restart loads its module.
    let loader = match file {
        Some(path) => {
            let path = path.to_path_buf();
            Some(ProgramLoader(Arc::new(move || super::module_fs::reload_program(&path))))
        }
        _ => None,
    };
    let export_path =
        opts.export.clone().unwrap_or_else(|| super::flame::default_export_dir(&stem, super::flame::now_secs()));
    if let Some(path) = file
        && crate::atomic_file::same_file(&export_path, path)
    {
        eprintln!(
            "error: the export path {} is the program itself; choose another --export path",
            export_path.display()
        );
        return ExitCode::from(2);
    }
    let cache = match cache_factory(run_opts) {
        Ok(f) => f,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(1);
        }
    };
    let mut options = run_opts.options();
    options.vm.args = args;
    tui::run(TuiConfig {
        name,
        path: file.map(Path::to_path_buf),
        loader,
        sources,
        loaded_one_file,
        cache: Some(cache),
        source,
        options,
        themes,
        mouse: opts.mouse && !opts.no_mouse,
        export_path,
        run: opts.autorun,
        // The demo is there to be watched: it stops where the JIT compiles its loop and where
        // its transaction rolls back, and says so.
        arm: if file.is_none() { vec![EventBreak::JitCompiled, EventBreak::TxRollback] } else { Vec::new() },
        hint: file.is_none().then(|| DEMO_HINT.to_string()),
    })
}
