//! `zexus-tui profile FILE`: runs a program with the profiler attached, then reports top
//! functions, hottest lines and instructions, and hot loops.
//!
//! Streams (the rule of every headless command, docs/json.md): with `--json`, the report (the
//! JSON documented in docs/json.md) goes to stdout and the program's output to stderr; without,
//! the program's output goes to stdout and the text report to stderr after it. `-o FILE`
//! writes the report to FILE instead.

use std::cell::RefCell;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::rc::Rc;

use clap::Args;

use super::RunOpts;
use crate::engine::{Options, Session, observe};
use crate::trace::Profiler;
use crate::trace::report::{LoopJitFigures, ProfileReport};

/// Arguments of `profile`.
#[derive(Debug, Args)]
pub struct ProfileArgs {
    /// The program.
    pub file: PathBuf,
    /// Print the report as JSON on stdout (the program's output then goes to stderr;
    /// `format_version` 1, fields in docs/json.md).
    #[arg(long)]
    pub json: bool,
    /// Write the report to FILE instead of stderr.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Rows per section in the text report.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub top: usize,
    /// Do not count each instruction (no line or instruction figures).
    #[arg(long)]
    pub no_instructions: bool,
    /// Count instructions through one event per instruction, single-stepping the VM and
    /// keeping loops out of native code (many times slower; the counts are the same).
    #[arg(long, conflicts_with = "no_instructions")]
    pub instruction_events: bool,
    #[command(flatten)]
    pub opts: RunOpts,
    /// Arguments passed to the program as `__ARGS__` (everything after FILE).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

/// Runs `profile`.
pub fn run(args: &ProfileArgs) -> ExitCode {
    if let Some(output) = &args.output
        && crate::atomic_file::same_file(output, &args.file)
    {
        eprintln!("error: the output {} is the program itself; choose another -o path", output.display());
        return ExitCode::from(2);
    }
    let main = match super::module_fs::load_main(&args.file) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let (path, src) = (main.path.clone(), main.src.clone());
    let sink = observe::live_sink();
    // By default the counts come from the VM's exact block counts, which keep the JIT on.
    let profiler = if args.instruction_events { Profiler::new() } else { Profiler::calls_only() };
    let profiler = Rc::new(RefCell::new(profiler));
    sink.attach(profiler.clone());
    let options = Options { sink, ..args.opts.options_with_args(&args.args) };
    // With `--json` stdout carries only the report.
    let out = if args.json { super::stdout::program_stderr() } else { super::stdout::program_stdout() };
    let mut session =
        match Session::builder(&src).program_opt(main.program.clone()).options(&options).output(out).build() {
            Ok(s) => s,
            Err(diags) => return main.report(&diags),
        };
    let exact_counts = !args.no_instructions && !args.instruction_events;
    if exact_counts {
        session.enable_exec_counts();
    }
    let code = super::run_to_end_with_state(&args.opts, &mut session, &main);
    session.sink.detach_all();
    let mut profile = profiler.borrow().profile();
    if exact_counts && let Some(counts) = session.exec_counts() {
        profile.set_exec_counts(counts);
    }
    let mut data = match &main.program {
        Some(_) => ProfileReport::new_in(&profile, &session.build.program, &main.sources, &path),
        None => ProfileReport::new(&profile, &session.build.program, &src, &path),
    };
    let figures: Vec<LoopJitFigures> = session
        .jit_info()
        .loops
        .iter()
        .map(|l| LoopJitFigures {
            function_id: l.proto_id,
            loop_id: l.loop_id,
            entries: l.entries,
            bailouts: l.bailouts,
            native_instructions: l.native_instructions,
        })
        .collect();
    data.set_jit(&figures);
    let text = if args.json {
        match serde_json::to_string_pretty(&data) {
            Ok(s) => s + "\n",
            Err(e) => {
                eprintln!("error: cannot encode the profile: {e}");
                return ExitCode::from(1);
            }
        }
    } else {
        // The hottest lines quote the program's source: never raw.
        crate::sanitize::clean_lines(&data.render_text(args.top))
    };
    let written = match &args.output {
        Some(file) => crate::atomic_file::write(file, |f| f.write_all(text.as_bytes()))
            .map_err(|why| (file.display().to_string(), why)),
        None if args.json => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes()).and_then(|()| out.flush()).map_err(|e| ("stdout".to_string(), e.to_string()))
        }
        None => {
            let mut err = std::io::stderr().lock();
            // Separate the report from the program's own diagnostics.
            let _ = writeln!(err);
            err.write_all(text.as_bytes()).map_err(|e| ("stderr".to_string(), e.to_string()))
        }
    };
    if let Err((name, e)) = written {
        eprintln!("error: cannot write the profile to {name}: {e}");
        return ExitCode::from(1);
    }
    code
}
