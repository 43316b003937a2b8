//! `zexus-tui trace FILE -o OUT`: runs a program and writes its trace: the Chrome Trace Event
//! Format (default; Perfetto UI, chrome://tracing), speedscope's evented profile, or the raw
//! event stream as JSON Lines. Program output goes to stdout; one summary line to stderr.

use std::cell::RefCell;
use std::fs::File;
use std::io::{self, BufWriter};
use std::path::PathBuf;
use std::process::ExitCode;
use std::rc::Rc;

use clap::{Args, ValueEnum};

use super::RunOpts;
use crate::engine::{Options, Session, observe};
use crate::trace::chrome::ChromeTraceWriter;
use crate::trace::jsonl::JsonLinesWriter;
use crate::trace::speedscope::{FrameInfo, SpeedscopeWriter};
use crate::trace::{EventSink, SharedListener};
use crate::vm::program::Program;

/// Output formats of `trace`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TraceFormat {
    /// Chrome Trace Event Format (JSON object form).
    Chrome,
    /// speedscope evented profile (flame graphs).
    Speedscope,
    /// The raw event stream, one JSON object per line.
    Events,
}

/// Arguments of `trace`.
#[derive(Debug, Args)]
pub struct TraceArgs {
    /// The program.
    pub file: PathBuf,
    /// Where to write the trace.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = TraceFormat::Chrome)]
    pub format: TraceFormat,
    /// Keep at most N events (the file says when it was truncated).
    #[arg(long, value_name = "N", default_value_t = 1_000_000)]
    pub trace_limit: u64,
    /// With `--format events`: one event per executed instruction (slow).
    #[arg(long)]
    pub instructions: bool,
    #[command(flatten)]
    pub opts: RunOpts,
    /// Arguments passed to the program as `__ARGS__` (everything after FILE).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

type Out = BufWriter<File>;

enum Writer {
    Chrome(Rc<RefCell<ChromeTraceWriter<Out>>>),
    Speedscope(Rc<RefCell<SpeedscopeWriter>>, Out),
    Events(Rc<RefCell<JsonLinesWriter<Out>>>),
}

impl Writer {
    fn new(args: &TraceArgs, file: Out, name: &str) -> Writer {
        match args.format {
            TraceFormat::Chrome => {
                Writer::Chrome(Rc::new(RefCell::new(ChromeTraceWriter::new(file, args.trace_limit))))
            }
            TraceFormat::Speedscope => {
                let limit = usize::try_from(args.trace_limit).unwrap_or(usize::MAX);
                Writer::Speedscope(Rc::new(RefCell::new(SpeedscopeWriter::new(name, limit))), file)
            }
            TraceFormat::Events => {
                Writer::Events(Rc::new(RefCell::new(JsonLinesWriter::new(file, args.trace_limit, args.instructions))))
            }
        }
    }

    fn listener(&self) -> SharedListener {
        match self {
            Writer::Chrome(w) => w.clone(),
            Writer::Speedscope(w, _) => w.clone(),
            Writer::Events(w) => w.clone(),
        }
    }

    fn name_functions(&self, program: &Program, main: &super::module_fs::LoadedMain) {
        // Each function's file and line (a multi-file program's spans name their file).
        let files = crate::engine::files::ProgramFiles::single(&main.path, &main.src);
        let files = if main.program.is_some() {
            let mut f = crate::engine::files::ProgramFiles {
                files: main
                    .sources
                    .files
                    .iter()
                    .map(|s| crate::engine::files::FileText::new(&s.name, &s.display, &s.text, s.base))
                    .collect(),
            };
            f.files[0].display = main.path.clone();
            f
        } else {
            files
        };
        let at = |p: &crate::vm::program::Proto| {
            let (file, lc) = files.locate(p.span.start);
            (files.get(file).display.clone(), lc.line)
        };
        match self {
            Writer::Chrome(w) => {
                let mut w = w.borrow_mut();
                w.set_function_names(program.protos.iter().map(|p| p.display_name().to_string()).collect());
                if files.is_multi() {
                    w.set_function_files(program.protos.iter().map(|p| at(p).0).collect());
                }
            }
            Writer::Speedscope(w, _) => {
                let frames = program
                    .protos
                    .iter()
                    .map(|p| {
                        let (file, line) = at(p);
                        FrameInfo { name: p.display_name().to_string(), file: Some(file), line: Some(line) }
                    })
                    .collect();
                w.borrow_mut().set_frames(frames);
            }
            Writer::Events(_) => {}
        }
    }

    /// Completes the file; returns a short description of what was written.
    fn finish(self) -> io::Result<String> {
        match self {
            Writer::Chrome(w) => {
                let s = w.borrow_mut().finish()?;
                let cut =
                    if s.truncated { format!(" (truncated: {} dropped)", s.events_dropped) } else { String::new() };
                Ok(format!("{} events{cut}, Chrome trace format", s.events_kept))
            }
            Writer::Speedscope(w, file) => {
                let w = w.borrow();
                w.write_to(file)?;
                let cut =
                    if w.dropped() > 0 { format!(" (truncated: {} dropped)", w.dropped()) } else { String::new() };
                Ok(format!("speedscope profile{cut}"))
            }
            Writer::Events(w) => {
                w.borrow_mut().finish()?;
                Ok("event stream (JSON Lines)".to_string())
            }
        }
    }
}

/// Runs `trace`.
pub fn run(args: &TraceArgs) -> ExitCode {
    let main = match super::module_fs::load_main(&args.file) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let (path, src) = (main.path.clone(), main.src.clone());
    let shown = args.output.display().to_string();
    if crate::atomic_file::same_file(&args.output, &args.file) {
        eprintln!("error: the output {shown} is the program itself; choose another -o path");
        return ExitCode::from(2);
    }
    // The trace streams into a temporary file that replaces the output only once complete.
    let pending = crate::atomic_file::Pending::create(&args.output);
    let (pending, file) = match pending.and_then(|mut p| {
        let file = p.file().try_clone().map_err(|e| e.to_string())?;
        Ok((p, file))
    }) {
        Ok((p, f)) => (p, BufWriter::with_capacity(1 << 20, f)),
        Err(e) => {
            eprintln!("error: cannot create {shown}: {e}");
            return ExitCode::from(1);
        }
    };
    let writer = Writer::new(args, file, &path);
    let sink: EventSink = observe::live_sink();
    sink.attach(writer.listener());
    let options = Options { sink, ..args.opts.options_with_args(&args.args) };
    let out = super::stdout::program_stdout();
    let (code, session) =
        match Session::builder(&src).program_opt(main.program.clone()).options(&options).output(out).build() {
            Ok(mut session) => {
                writer.name_functions(&session.build.program, &main);
                let code = super::run_to_end_with_state(&args.opts, &mut session, &main);
                (code, Some(session))
            }
            Err(diags) => (main.report(&diags), None),
        };
    options.sink.detach_all();
    drop(session);
    match writer.finish().map_err(|e| e.to_string()).and_then(|what| pending.commit().map(|()| what)) {
        Ok(what) => {
            eprintln!("trace: wrote {shown}: {what}");
            code
        }
        Err(e) => {
            eprintln!("error: cannot write {shown}: {e}");
            ExitCode::from(1)
        }
    }
}
