//! Command-line interface: clap arguments ("low"), validated into a configuration ("high"),
//! and one function per subcommand. The only layer besides the TUI that touches files.

pub mod flame;
pub mod profile;
pub mod trace;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

pub mod cache_dir;
pub mod module_fs;
pub mod snapshot;
pub mod state_file;
pub mod stats;
pub mod stdout;
pub mod tui;

pub use crate::compile::optimize::report::DisMode;
use crate::compile::optimize::{self, Pass};
use crate::diag::render;
use crate::engine::cache::CompileCache;
use crate::engine::{self, Options, Session};
use crate::vm::interp::{Halt, VmConfig};

mod dis_files;
mod dis_jit;
mod dis_views;

/// zexus-tui: run, inspect and profile Zexus programs.
#[derive(Debug, Parser)]
#[command(name = "zexus-tui", version, about, args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// Program to open in the visual debugger (the built-in demo if omitted).
    pub file: Option<PathBuf>,
    /// Arguments passed to the program as `__ARGS__` (everything after FILE).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, requires = "file")]
    pub args: Vec<String>,
    #[command(flatten)]
    pub run_opts: RunOpts,
    #[command(flatten)]
    pub tui_opts: tui::TuiOpts,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a program headless: its output on stdout, diagnostics on stderr.
    Run {
        #[command(flatten)]
        opts: RunOpts,
        /// The program.
        file: PathBuf,
        /// Arguments passed to the program as `__ARGS__` (everything after FILE).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Print the bytecode listing of a program, before and after optimization.
    Dis {
        /// The program.
        file: PathBuf,
        /// Show only the unoptimized listing.
        #[arg(long, conflicts_with_all = ["after", "diff"])]
        before: bool,
        /// Show only the optimized listing.
        #[arg(long, conflicts_with = "diff")]
        after: bool,
        /// Show a unified diff from the unoptimized to the optimized listing.
        #[arg(long)]
        diff: bool,
        /// Run the program (output discarded) and show each loop the JIT compiled: its
        /// bytecode and the machine code it became.
        #[arg(long, conflicts_with_all = ["before", "after", "diff"])]
        jit: bool,
        /// Run the program (output discarded) and show how many times each instruction ran, in
        /// both listings, and each source line (the debugger's heat columns).
        #[arg(long, conflicts_with_all = ["before", "after", "diff", "jit"])]
        counts: bool,
        /// Show what each optimizer pass changed, as a diff of each function's listing before
        /// and after it.
        /// (`--passes LIST` selects the passes to run.)
        #[arg(long = "by-pass", conflicts_with_all = ["before", "after", "diff", "jit", "counts"])]
        by_pass: bool,
        #[command(flatten)]
        opts: RunOpts,
    },
    /// Run a program and report the statistics of the run (session, cache, optimizer, VM,
    /// blockchain, JIT): the program's output on stdout and the table on stderr, or with
    /// `--json` the statistics as JSON on stdout and the program's output on stderr.
    Stats {
        /// The program.
        file: PathBuf,
        /// Print the statistics as one JSON object on stdout (program output goes to stderr).
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        opts: RunOpts,
        /// Arguments passed to the program as `__ARGS__` (everything after FILE).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Run a program and report where the time went: functions, lines, instructions, loops.
    Profile(profile::ProfileArgs),
    /// Run a program and write its trace (Chrome/Perfetto JSON, speedscope, or raw events).
    Trace(trace::TraceArgs),
    /// Run a program under the debugger headless and print what the TUI would show.
    Snapshot(snapshot::SnapshotArgs),
    /// Run a program under the debugger headless and print its flame graph's figures: the
    /// function table and the call tree (what the TUI's `P` view shows).
    Flame(flame::FlameArgs),
    /// Run a program under the debugger headless and write every export format of the
    /// session into one directory (what the TUI's `e` menu writes).
    Export(flame::ExportArgs),
}

/// Options shared by the subcommands that build or run a program.
#[derive(Debug, Args, Clone, Default)]
pub struct RunOpts {
    /// Stop with an error after N executed instructions.
    #[arg(long, value_name = "N")]
    pub max_steps: Option<u64>,
    /// Maximum call depth (default 10000).
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub max_depth: usize,
    /// Stop with `out of gas` when gas use would exceed N.
    #[arg(long, value_name = "N")]
    pub gas_limit: Option<u64>,
    /// Largest string or list, in bytes, one operation may create (`out of memory` beyond).
    #[arg(long, value_name = "BYTES", default_value_t = crate::vm::value::DEFAULT_MAX_ALLOC)]
    pub memory_limit: usize,
    /// Load committed STATE from this JSON file at start and save it back (atomically) when
    /// the program ends without error.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// If another run holds the `--state` file, wait for it to finish (the default is to fail
    /// at once with an error).
    #[arg(long, requires = "state")]
    pub state_wait: bool,
    /// Optimization level: 0 (none), 1 (fold, dce), 2 (all passes; the default).
    #[arg(short = 'O', value_name = "LEVEL", default_value_t = 2, value_parser = clap::value_parser!(u8).range(0..=2))]
    pub opt_level: u8,
    /// Run exactly these optimizer passes, comma-separated (fold, dce, peephole); overrides -O.
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = parse_pass)]
    pub passes: Option<Vec<Pass>>,
    /// Interpret everything: never compile hot loops to native code.
    #[arg(long)]
    pub no_jit: bool,
    /// Loop back-edges after which a loop is hot and gets compiled (default 100).
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub jit_threshold: u64,
    /// Keep compiled units in DIR across runs (the disk tier of the bytecode cache).
    #[arg(long, value_name = "DIR", conflicts_with = "no_cache")]
    pub cache_dir: Option<PathBuf>,
    /// Turn the bytecode cache off (every unit is compiled).
    #[arg(long)]
    pub no_cache: bool,
}

fn parse_pass(name: &str) -> Result<Pass, String> {
    Pass::from_name(name.trim()).ok_or_else(|| {
        let all: Vec<&str> = Pass::ALL.iter().map(|p| p.name()).collect();
        format!("unknown pass '{name}' (passes: {})", all.join(", "))
    })
}

impl RunOpts {
    /// The engine options these flags select, the program's `__ARGS__` being `args`.
    pub fn options_with_args(&self, args: &[String]) -> Options {
        let mut options = self.options();
        options.vm.args = args.to_vec();
        options
    }

    /// The engine options these flags select.
    pub fn options(&self) -> Options {
        Options {
            vm: VmConfig {
                max_depth: self.max_depth,
                max_steps: self.max_steps,
                gas_limit: self.gas_limit,
                max_alloc: self.memory_limit,
                hot_threshold: self.jit_threshold,
                args: Vec::new(),
            },
            passes: self.passes.clone().unwrap_or_else(|| optimize::passes_for_level(self.opt_level)),
            jit: engine::jit_policy::JitPolicy { enabled: !self.no_jit },
            ..Options::default()
        }
    }
}

pub use crate::input::read_source;

/// Entry point after argument parsing.
pub fn run(cli: Cli) -> ExitCode {
    let refused = match &cli.command {
        Some(Command::Dis { opts, .. }) => refuse_state(opts, "`dis`"),
        Some(Command::Snapshot(args)) => refuse_state(&args.opts, "`snapshot`"),
        Some(Command::Flame(args)) => refuse_state(&args.opts, "`flame`"),
        Some(Command::Export(args)) => refuse_state(&args.opts, "`export`"),
        None => refuse_state(&cli.run_opts, "the visual debugger"),
        _ => None,
    };
    if let Some(code) = refused {
        return code;
    }
    match cli.command {
        Some(Command::Run { file, opts, args }) => cmd_run(&file, &opts, args),
        Some(Command::Profile(args)) => profile::run(&args),
        Some(Command::Trace(args)) => trace::run(&args),
        Some(Command::Stats { file, json, opts, args }) => stats::cmd_stats(&file, &opts, json, &args),
        Some(Command::Dis { file, jit: true, opts, .. }) => dis_jit::cmd_dis_jit(&file, &opts),
        Some(Command::Dis { file, counts: true, opts, .. }) => dis_views::cmd_dis_counts(&file, &opts),
        Some(Command::Dis { file, by_pass: true, opts, .. }) => dis_views::cmd_dis_passes(&file, &opts),
        Some(Command::Dis { file, before, after, diff, opts, .. }) => {
            let mode = if before {
                DisMode::Before
            } else if after {
                DisMode::After
            } else if diff {
                DisMode::Diff
            } else {
                DisMode::SideBySide
            };
            cmd_dis(&file, &opts, mode)
        }
        Some(Command::Snapshot(args)) => snapshot::cmd_snapshot(&args),
        Some(Command::Flame(args)) => flame::cmd_flame(&args),
        Some(Command::Export(args)) => flame::cmd_export(&args),
        None => tui::cmd_tui(cli.file.as_deref(), &cli.run_opts, &cli.tui_opts, cli.args),
    }
}

pub(crate) fn load(file: &std::path::Path) -> Result<(String, String), ExitCode> {
    // The name shown in diagnostics and reports: a file name may hold escape sequences too.
    let path = crate::sanitize::clean(&file.display().to_string());
    match read_source(file) {
        Ok(src) => Ok((path, src)),
        Err(msg) => {
            eprintln!("{}", crate::sanitize::clean(&msg));
            Err(ExitCode::from(1))
        }
    }
}

/// The bytecode cache `opts` ask for. An unusable cache directory is a one-line warning; the
/// program then runs with the in-memory cache only.
fn make_cache(opts: &RunOpts) -> CompileCache {
    if opts.no_cache {
        return CompileCache::disabled();
    }
    let cache = CompileCache::default();
    match &opts.cache_dir {
        None => cache,
        Some(dir) => match cache_dir::DirStore::open(dir) {
            Ok(store) => cache.with_store(Box::new(store)),
            Err(why) => {
                eprintln!("warning: bytecode cache directory unusable ({why}); running without the disk cache");
                cache
            }
        },
    }
}

/// The cache for `run`: the one `opts` ask for with a disk tier, none without.
fn run_cache(opts: &RunOpts) -> CompileCache {
    if opts.cache_dir.is_none() { CompileCache::disabled() } else { make_cache(opts) }
}

/// Ends a headless run: flushes the program's output, prints the VM's warnings on stderr and
/// turns the halt into the exit code (a runtime error rendered with its caret and traceback).
pub(crate) fn finish(session: &mut Session, halt: &Halt, path: &str, src: &str) -> ExitCode {
    session.vm.flush();
    for w in &session.vm.warnings {
        eprintln!("{w}");
    }
    match halt {
        Halt::Error(e) => report(&[e.to_diagnostic()], path, src),
        _ => ExitCode::SUCCESS,
    }
}

pub(crate) fn report(diags: &[crate::diag::Diagnostic], path: &str, src: &str) -> ExitCode {
    let mut err = std::io::stderr().lock();
    let text = render::render_all(diags, path, src);
    let _ = writeln!(err, "{}", crate::sanitize::clean_keep_width(text.trim_end()));
    ExitCode::from(1)
}

fn cmd_run(file: &std::path::Path, opts: &RunOpts, args: Vec<String>) -> ExitCode {
    let mut main = match module_fs::load_main(file) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let out = stdout::program_stdout();
    let mut options = opts.options();
    options.vm.args = args;
    options.run_only = true;
    // A single headless run never looks a unit up twice, except identical units in one
    // program, so without a disk tier the in-memory cache only doubles the memory a large
    // program takes (issue 13, M8); `stats`, the TUI and `--cache-dir` keep it.
    let built = Session::builder(&main.src)
        .program_opt(main.program.clone())
        .parsed(main.parsed.take())
        .options(&options)
        .output(out)
        .cache(run_cache(opts))
        .build();
    let mut session = match built {
        Ok(s) => s,
        Err(diags) => return main.report(&diags),
    };
    let state = match attach_state(opts, &mut session) {
        Ok(state) => state,
        Err(code) => return code,
    };
    let halt = session.run_to_end();
    session.vm.flush();
    for w in &session.vm.warnings {
        eprintln!("{w}");
    }
    let code = match &halt {
        Halt::Error(e) => main.report(&[e.to_diagnostic()]),
        _ => ExitCode::SUCCESS,
    };
    if session.cache_stats().disk_write_errors > 0
        && let Some(why) = session.cache_warning()
    {
        eprintln!("warning: bytecode cache: {why}");
    }
    save_state(state.as_ref(), &session, &halt, code)
}

/// Runs `session` to its end with the `--state` file of `opts` attached, reports the program's
/// end as `main` does, and saves STATE: the exit code (the state file's own when it cannot be
/// opened or saved).
pub(crate) fn run_to_end_with_state(opts: &RunOpts, session: &mut Session, main: &module_fs::LoadedMain) -> ExitCode {
    let state = match attach_state(opts, session) {
        Ok(state) => state,
        Err(code) => return code,
    };
    let halt = session.run_to_end();
    let code = main.finish(session, &halt);
    save_state(state.as_ref(), session, &halt, code)
}

/// Opens the run's `--state` file, if any: locks it (see `state_file`), and starts the
/// session's STATE from it. The error has been printed.
pub(crate) fn attach_state(opts: &RunOpts, session: &mut Session) -> Result<Option<state_file::StateFile>, ExitCode> {
    let Some(path) = &opts.state else { return Ok(None) };
    match state_file::StateFile::open(path, opts.state_wait) {
        Ok((file, committed)) => {
            session.vm.ledger = crate::vm::chain::Ledger::for_state_file(committed);
            Ok(Some(file))
        }
        Err(msg) => {
            eprintln!("{msg}");
            Err(ExitCode::from(1))
        }
    }
}

/// Saves committed STATE to the run's `--state` file when the program ended without error;
/// returns `code`, or 1 if the save failed.
pub(crate) fn save_state(
    file: Option<&state_file::StateFile>,
    session: &Session,
    halt: &Halt,
    code: ExitCode,
) -> ExitCode {
    if let (Some(file), false) = (file, matches!(halt, Halt::Error(_)))
        && let Err(msg) = file.save(session.vm.ledger.committed())
    {
        eprintln!("{msg}");
        return ExitCode::from(1);
    }
    code
}

/// `--state` with a command that does not run a program to its end: a clear error.
fn refuse_state(opts: &RunOpts, what: &str) -> Option<ExitCode> {
    opts.state.as_ref().map(|_| {
        eprintln!("error: --state is not supported by {what}; use `run`, `stats`, `profile` or `trace` to run with a state file");
        ExitCode::from(2)
    })
}

fn cmd_dis(file: &std::path::Path, opts: &RunOpts, mode: DisMode) -> ExitCode {
    let main = match module_fs::load_main(file) {
        Ok(x) => x,
        Err(code) => return code,
    };
    if let Some(program) = &main.program {
        return dis_files::cmd_dis_program(&main, program, opts, mode);
    }
    let (path, src) = (main.path, main.src);
    let build = match engine::build(&src, &opts.options()) {
        Ok(build) => build,
        Err(diags) => return report(&diags, &path, &src),
    };
    let text =
        crate::compile::optimize::report::render_dis(&build.unoptimized, &build.chunk, &build.pass_stats, &src, mode);
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(crate::sanitize::clean_lines(&text).as_bytes());
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// clap's own consistency checks (unique argument names, valid conflicts), which otherwise
    /// run only in debug builds and only when a command line reaches the broken subcommand.
    #[test]
    fn command_line_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
