//! The VM thread. The session holds `Rc`s, so it is built on this thread from the source text
//! and never leaves it; only plain data crosses: [`Request`]s in, [`SessionSnapshot`]s out.
//!
//! The thread runs the debugger in slices sized to take a few milliseconds, checks for
//! requests between slices without blocking, and publishes a snapshot into a one-slot mailbox
//! (newer replaces older) at most every ~30 ms while running and at once when it stops. It
//! never waits for the UI, and a pause takes effect within one slice.
//!
//! Requests that produce an answer other than a snapshot (the trace export, a restart from an
//! edited file) answer with a [`Notice`] in a second mailbox; the thread does that work itself
//! (writing the file), so the UI never waits for it.

use std::cell::RefCell;
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::diag::Diagnostic;
use crate::diag::files::SourceFiles;
use std::rc::Rc;

use super::pace::{Pace, Speed};
use crate::engine::Options;
use crate::engine::cache::CompileCache;
use crate::engine::debug::{BreakOptions, Debugger, Goal, Reverse, Watched, break_list};
use crate::engine::loader::LoadedProgram;
use crate::engine::recorder::EventBreak;
use crate::engine::snapshot::{BreakRow, Breakpoint, ErrorView, ProgramInfo, RunStatus, SessionSnapshot};
use crate::vm::error::ErrorKind;

/// Name of the VM thread (the panic hook recognises it).
pub const VM_THREAD: &str = "zexus-vm";

/// Publish at most this often while running.
const PUBLISH_EVERY: Duration = Duration::from_millis(30);

/// Sample instructions per second this often.
const SAMPLE_EVERY: Duration = Duration::from_millis(100);

/// How long one slice should take.
const SLICE_MIN: Duration = Duration::from_millis(2);
const SLICE_MAX: Duration = Duration::from_millis(8);

/// Samples of instructions per second kept.
const IPS_SAMPLES: usize = 240;

/// What the UI asks of the VM thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Run toward a goal.
    Start(Goal),
    /// Continue if paused, pause if running.
    TogglePause,
    /// Set or clear a breakpoint.
    ToggleBreakpoint(Breakpoint),
    /// Watch `NAME` or `STATE["key"]` (resolved in the innermost frame).
    SetWatch(String),
    /// Set a breakpoint written `[FILE:]LINE [ignore N] [if COND]` (as `snapshot --break`).
    SetBreakpoint(String),
    /// Turn the break on a VM event on or off.
    ToggleEventBreak(EventBreak),
    /// Turn the break on a contract event on with a filter (a contract, action or event name).
    SetEventBreak(EventBreak, Option<String>),
    /// Turn these event breaks on without a notice (the demo's, at start).
    ArmEventBreaks(Vec<EventBreak>),
    /// Start over: from the program's file as it is now if it has one (so edits are
    /// recompiled and the rest comes from the cache), else from the same source.
    Restart,
    /// Write the Chrome trace of the run so far to this file.
    ExportTrace(PathBuf),
    /// Write every export format of the run so far into this directory (the export menu).
    ExportAll(PathBuf),
    /// Evaluate a Zexus expression in call frame `frame` (0 = outermost; `None` = innermost)
    /// and answer with a notice (gdb's `print`).
    Evaluate(String, Option<usize>),
    /// Delete an entry of the breakpoint list (enabled or not).
    DeleteBreak(BreakRow),
    /// Enable (true) or disable an entry of the breakpoint list; a disabled one stays listed.
    EnableBreak(BreakRow, bool),
    /// Add a watch expression, re-evaluated at every stop (gdb's `display`).
    Display(String),
    /// Remove a watch expression.
    Undisplay(String),
    /// Run at this speed from now on (see `tui::pace`).
    SetSpeed(Speed),
    /// Continue until the next VM event of any kind (every event break on for this run, the
    /// user's own set back once it stops).
    RunToEvent,
    /// Run a goal backward (time travel).
    Reverse(Reverse),
    /// Travel to the state after this many instructions.
    TravelTo(u64),
    /// Travel this many instructions back.
    Back(u64),
    /// Stop the thread.
    Quit,
}

/// A one-line answer from the VM thread for the status line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice(pub String);

/// The latest snapshot, replaced by each publish.
type Mailbox = Arc<Mutex<Option<Arc<SessionSnapshot>>>>;

/// Notices not yet shown.
type Notices = Arc<Mutex<Vec<Notice>>>;

/// The UI's handle on the VM thread.
pub struct Worker {
    tx: Sender<Request>,
    mailbox: Mailbox,
    notices: Notices,
    handle: Option<JoinHandle<()>>,
}

/// Makes the session's bytecode cache on the VM thread (a cache holds `Rc`s, so it cannot be
/// built on the UI thread and sent); the CLI supplies it to honour `--no-cache` and
/// `--cache-dir`.
#[derive(Clone)]
pub struct CacheFactory(pub Arc<dyn Fn() -> CompileCache + Send + Sync>);

impl std::fmt::Debug for CacheFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CacheFactory")
    }
}

/// Loads the program from its files as they are now, on the VM thread (a loaded program holds
/// `Rc`s): the main file's text and, for a multi-file program, every file (`engine::loader`);
/// or why not, in one line (`D:LINE:COL: message`). The CLI supplies it; restarts call it again.
#[derive(Clone)]
pub struct ProgramLoader(pub Arc<dyn Fn() -> LoadResult + Send + Sync>);

/// What a [`ProgramLoader`] returns: the main file's text and the multi-file program, if any.
pub type LoadResult = Result<(String, Option<Rc<LoadedProgram>>), LoadFailure>;

/// Why a [`ProgramLoader`] could not load the program.
#[derive(Debug, Clone, Default)]
pub struct LoadFailure {
    /// In one line (`D:LINE:COL: message`, or why the file cannot be read).
    pub summary: String,
    /// The diagnostics as `run` prints them (empty if the file cannot be read).
    pub rendered: String,
    /// Line and column of the first diagnostic when it is in the main file.
    pub main_at: Option<(u32, u32)>,
    /// The main file's text, when it could be read.
    pub text: Option<String>,
}

impl std::fmt::Debug for ProgramLoader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProgramLoader")
    }
}

/// Where the program came from, for restarts.
struct Origin {
    /// The file to re-read on restart (none for the demo).
    path: Option<PathBuf>,
    /// Loads every file of the program again (a program with modules).
    loader: Option<ProgramLoader>,
}

impl Worker {
    /// Starts the VM thread on `src`; returns the build's diagnostics if it does not compile.
    /// With `run`, the program starts running at once instead of paused at its first line.
    pub fn spawn(name: &str, src: &str, options: &Options, run: bool) -> Result<Worker, Vec<Diagnostic>> {
        Worker::spawn_file(name, None, src, options, run, None)
    }

    /// [`Worker::spawn_file`] for a program that `loader` loads (with its modules), on start
    /// and on each restart. `first` is the text of a one-file program the caller has just
    /// loaded and checked: the first build takes it instead of loading the file again
    /// (issue 13, M8); restarts still go through `loader`.
    pub fn spawn_program(
        name: &str,
        path: PathBuf,
        loader: ProgramLoader,
        first: Option<String>,
        options: &Options,
        run: bool,
        cache: Option<CacheFactory>,
    ) -> Result<Worker, Vec<Diagnostic>> {
        let origin = Origin { path: Some(path), loader: Some(loader) };
        match first {
            Some(src) => Worker::start(name, origin, Some(src), options, run, cache),
            None => Worker::start(name, origin, None, options, run, cache),
        }
    }

    /// [`Worker::spawn`] for a program read from `path` (re-read on each restart), building
    /// through the cache `cache` makes (an in-memory cache without one).
    pub fn spawn_file(
        name: &str,
        path: Option<PathBuf>,
        src: &str,
        options: &Options,
        run: bool,
        cache: Option<CacheFactory>,
    ) -> Result<Worker, Vec<Diagnostic>> {
        Worker::start(name, Origin { path, loader: None }, Some(src.to_string()), options, run, cache)
    }

    /// `src`: the text to build first (`None`: what the origin's loader loads).
    fn start(
        name: &str,
        origin: Origin,
        src: Option<String>,
        options: &Options,
        run: bool,
        cache: Option<CacheFactory>,
    ) -> Result<Worker, Vec<Diagnostic>> {
        let (tx, rx) = mpsc::channel();
        let (ready_tx, ready_rx) = mpsc::sync_channel(1);
        let mailbox: Mailbox = Arc::new(Mutex::new(None));
        let notices: Notices = Arc::new(Mutex::new(Vec::new()));
        // The event sink is thread-local (it holds `Rc`s): send the plain settings and build the
        // options, with the VM thread's own sink, on the other side.
        let (vm_config, passes, jit) = (options.vm.clone(), options.passes.clone(), options.jit);
        let (name, out, notes) = (name.to_string(), mailbox.clone(), notices.clone());
        let handle = std::thread::Builder::new()
            .name(VM_THREAD.to_string())
            // Values are dropped iteratively (`vm::value::ListCell`) and every recursive walk is
            // bounded, so a moderate stack is enough (issue 13, M9).
            .stack_size(64 << 20)
            .spawn(move || {
                let options = Options { vm: vm_config, passes, jit, ..Options::default() };
                let cache = cache.map(|make| (make.0)()).unwrap_or_default();
                let loaded = match (src, &origin.loader) {
                    (Some(src), _) => Ok((src, None)),
                    (None, Some(load)) => (load.0)(),
                    (None, None) => Ok((String::new(), None)),
                };
                let (src, program, broken) = match loaded {
                    Ok((src, program)) => (src, program, None),
                    // A file that reads but does not build: the debugger opens on it anyway,
                    // an empty program standing in, so that it can be fixed and restarted.
                    Err(failure) if failure.text.is_some() => (String::new(), None, Some(Broken::new(failure))),
                    Err(failure) => {
                        let _ =
                            ready_tx.send(Err(vec![Diagnostic::error("E0001", failure.summary, Default::default())]));
                        return;
                    }
                };
                let sources = program.as_ref().map(|p| p.sources());
                let (debugger, broken) = match Debugger::with_program(&name, &src, program, &options, cache) {
                    Ok(d) => (d, broken),
                    // One that parses but does not compile (`break` outside a loop...) too,
                    // when it has a file to fix.
                    Err(diags) if origin.path.is_some() => {
                        let failure = compile_failure(&name, &src, sources.as_ref(), &diags);
                        match Debugger::with_program(&name, "", None, &options, CompileCache::default()) {
                            Ok(d) => (d, Some(Broken::new(failure))),
                            Err(_) => {
                                let _ = ready_tx.send(Err(diags));
                                return;
                            }
                        }
                    }
                    Err(diags) => {
                        let _ = ready_tx.send(Err(diags));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(()));
                let run = run && broken.is_none();
                let out = Outboxes { snapshots: out, notices: notes, origin, broken: RefCell::new(broken) };
                vm_loop(debugger, rx, out, run);
            })
            .map_err(|e| {
                vec![Diagnostic::error("E0001", format!("cannot start the VM thread: {e}"), Default::default())]
            })?;
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(Worker { tx, mailbox, notices, handle: Some(handle) }),
            Ok(Err(diags)) => Err(diags),
            Err(_) => Err(vec![Diagnostic::error("E0001", "the VM thread failed to start", Default::default())]),
        }
    }

    /// Sends a request (ignored once the thread has stopped).
    pub fn send(&self, request: Request) {
        let _ = self.tx.send(request);
    }

    /// The newest snapshot published since the last call, if any.
    pub fn take_snapshot(&self) -> Option<Arc<SessionSnapshot>> {
        self.mailbox.lock().ok()?.take()
    }

    /// Notices published since the last call, oldest first.
    pub fn take_notices(&self) -> Vec<Notice> {
        self.notices.lock().map(|mut n| std::mem::take(&mut *n)).unwrap_or_default()
    }

    /// True while the thread runs.
    pub fn is_alive(&self) -> bool {
        self.handle.as_ref().is_some_and(|h| !h.is_finished())
    }

    /// Asks the thread to stop and waits up to `timeout` for it (a thread stuck in one long
    /// operation is left behind; the process exit ends it).
    pub fn shutdown(mut self, timeout: Duration) {
        self.send(Request::Quit);
        let deadline = Instant::now() + timeout;
        if let Some(handle) = self.handle.take() {
            while !handle.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            if handle.is_finished() {
                let _ = handle.join();
            }
        }
    }
}

/// Instructions-per-second samples.
struct IpsMeter {
    samples: Vec<u64>,
    last_at: Duration,
    last_instructions: u64,
}

impl IpsMeter {
    /// Records a sample if one is due; returns true if it did.
    fn sample(&mut self, now: Duration, instructions: u64) -> bool {
        let dt = now.saturating_sub(self.last_at);
        if dt < SAMPLE_EVERY {
            return false;
        }
        let done = instructions.saturating_sub(self.last_instructions);
        let ips = (done as u128 * 1_000_000 / dt.as_micros().max(1)) as u64;
        if self.samples.len() >= IPS_SAMPLES {
            self.samples.remove(0);
        }
        self.samples.push(ips);
        self.last_at = now;
        self.last_instructions = instructions;
        true
    }
}

/// Where the VM thread publishes.
struct Outboxes {
    snapshots: Mailbox,
    notices: Notices,
    origin: Origin,
    /// The program as it is on disk when it does not build (the debugger then runs an empty
    /// program in its place); cleared by a restart that builds.
    broken: RefCell<Option<Broken>>,
}

/// A program that does not build, shown instead of the empty program that stands in for it:
/// its text in the source pane, the first error in place, every diagnostic in the output pane.
struct Broken {
    failure: LoadFailure,
    /// The program info the snapshots show, made from the first one.
    program: Option<Arc<ProgramInfo>>,
}

/// Why a program that loaded does not compile, as a [`LoadFailure`] for [`Broken`]: the first
/// diagnostic in one line, every diagnostic as `run` prints them, where the first is when it
/// is in the main file.
fn compile_failure(name: &str, src: &str, sources: Option<&SourceFiles>, diags: &[Diagnostic]) -> LoadFailure {
    let first = diags.first();
    let in_main = |d: &&Diagnostic| sources.is_none_or(|s| s.file_of(d.span.start) == 0);
    let main_at = first.filter(in_main).map(|d| {
        let pos = crate::syntax::span::SourceMap::new(src).line_col(src, d.span.start);
        (pos.line, pos.col)
    });
    let (summary, rendered) = match sources {
        Some(files) => (files.summary(diags), files.render_all(diags)),
        None => {
            let message = first.map_or("error", |d| d.message.as_str());
            let summary = match main_at {
                Some((line, col)) => format!("{name}:{line}:{col}: {message}"),
                None => message.to_string(),
            };
            (summary, crate::diag::render::render_all(diags, name, src))
        }
    };
    LoadFailure { summary, rendered, main_at, text: Some(src.to_string()) }
}

impl Broken {
    fn new(failure: LoadFailure) -> Broken {
        Broken { failure, program: None }
    }

    /// Makes `snap` (of the stand-in program) show the program that does not build.
    fn patch(&mut self, snap: &mut SessionSnapshot) {
        let failure = &self.failure;
        let program = self.program.get_or_insert_with(|| {
            let text = failure.text.clone().unwrap_or_default();
            let mut p = (*snap.program).clone();
            p.line_count = text.lines().count();
            if let Some(f) = p.files.first_mut() {
                f.source = text.clone();
                f.line_count = p.line_count;
            }
            p.source = text;
            Arc::new(p)
        });
        snap.program = program.clone();
        snap.status = RunStatus::Failed;
        snap.location = None;
        snap.frames.clear();
        let (line, col) = self.failure.main_at.unwrap_or((0, 0));
        // The summary without its `D:LINE:COL: ` (the pane says where).
        let summary = &self.failure.summary;
        let message = match self.failure.main_at.map(|(l, c)| format!(":{l}:{c}: ")) {
            Some(at) => summary.split_once(&at).map_or(summary.as_str(), |(_, m)| m),
            None => summary.as_str(),
        };
        snap.error = Some(ErrorView {
            kind: ErrorKind::Compile,
            message: message.to_string(),
            file: 0,
            line,
            col,
            traceback: Vec::new(),
            rendered: self.failure.rendered.clone(),
        });
        snap.stop_reason = Some("does not compile: fix it, then r restarts".to_string());
        snap.warnings = self.failure.rendered.lines().map(crate::sanitize::clean_keep_width).collect();
    }
}

impl Outboxes {
    fn notice(&self, text: String) {
        if let Ok(mut n) = self.notices.lock() {
            n.push(Notice(text));
        }
    }
}

/// A breakpoint-list entry the user disabled: taken out of the debugger, kept to be put back.
enum Disabled {
    Line(Breakpoint, BreakOptions),
    Watch(Watched),
}

impl Disabled {
    fn row(&self, debugger: &Debugger) -> BreakRow {
        match self {
            Disabled::Line(bp, options) => break_list::line_row(debugger, *bp, options, false),
            Disabled::Watch(what) => break_list::watch_row(what, None, false),
        }
    }
}

/// Enables or disables, or deletes (`enable` `None`), the breakpoint-list entry `row`.
fn change_break(debugger: &mut Debugger, state: &mut RunState, row: &BreakRow, enable: Option<bool>) {
    let disabled_at = state.disabled.iter().position(|d| {
        let r = d.row(debugger);
        r.line == row.line && r.watch == row.watch
    });
    match (disabled_at, enable) {
        (Some(i), Some(true)) => match state.disabled.remove(i) {
            Disabled::Line(bp, options) => debugger.set_breakpoint(bp, options),
            Disabled::Watch(what) => debugger.add_watch(what),
        },
        (Some(i), None) => drop(state.disabled.remove(i)),
        (Some(_), Some(false)) => {}
        (None, enable) => {
            if let Some(bp) = row.line {
                let options = debugger.break_options(&bp);
                if debugger.delete_breakpoint(bp) && enable == Some(false) {
                    state.disabled.push(Disabled::Line(bp, options));
                }
            }
            let watched = row
                .watch
                .as_ref()
                .and_then(|name| debugger.watches().map(|(w, _)| w.clone()).find(|w| w.describe() == *name));
            if let Some(what) = watched
                && debugger.delete_watch(&what)
                && enable == Some(false)
            {
                state.disabled.push(Disabled::Watch(what));
            }
        }
    }
}

/// What the VM thread keeps between requests about how the current run goes.
#[derive(Default)]
struct RunState {
    pace: Pace,
    /// The user's event breaks (with filters) to put back once a run to the next VM event stops.
    restore_events: Option<(Vec<EventBreak>, Vec<(EventBreak, String)>)>,
    /// Watch expressions, in the order they were added.
    displays: Vec<String>,
    /// Disabled line breakpoints (with their options) and watchpoints, listed but not set.
    disabled: Vec<Disabled>,
    /// Their values at the instruction count they were last evaluated at (evaluated again
    /// only when the program moved or the list changed).
    displayed: Option<(u64, Vec<crate::engine::snapshot::Binding>)>,
}

impl RunState {
    /// Continues: one line at a time if animating, else a run toward `goal`.
    fn go(&mut self, debugger: &mut Debugger, goal: Goal) {
        self.pace.restart(debugger.session().vm.counters.instructions);
        self.pace.animating = goal == Goal::Continue && matches!(self.pace.speed, Speed::Animate(_));
        if !self.pace.animating {
            debugger.start(goal);
        }
    }

    /// After the debugger stopped: the next animated line if it was one, and the user's event
    /// breaks back after a run to the next event.
    fn stopped(&mut self, debugger: &mut Debugger) {
        if self.pace.animating {
            if debugger.stop_reason() == Some("step") && !debugger.is_done() {
                self.pace.line_done();
            } else {
                self.pace.animating = false;
            }
        }
        self.restore_events(debugger);
    }

    /// Puts the user's event breaks back after a run to the next VM event.
    fn restore_events(&mut self, debugger: &mut Debugger) {
        if let Some((on, filters)) = self.restore_events.take() {
            for event in EventBreak::ALL {
                let filter = filters.iter().find(|(e, _)| *e == event).map(|(_, f)| f.clone());
                debugger.set_event_break(event, on.contains(&event), filter);
            }
        }
    }
}

fn vm_loop(mut debugger: Debugger, rx: Receiver<Request>, out: Outboxes, run: bool) {
    let clock = Instant::now();
    let mut meter = IpsMeter { samples: Vec::new(), last_at: Duration::ZERO, last_instructions: 0 };
    let mut budget: u64 = 20_000;
    let mut last_publish = Instant::now();
    let mut state = RunState::default();
    if run {
        state.go(&mut debugger, Goal::Continue);
    }
    publish(&debugger, &out, clock, &meter, &mut state);
    loop {
        let mut dirty = false;
        let first = if debugger.is_running() {
            match rx.try_recv() {
                Ok(r) => Some(r),
                Err(TryRecvError::Empty) => None,
                Err(TryRecvError::Disconnected) => return,
            }
        } else {
            match rx.recv_timeout(state.pace.wait(SAMPLE_EVERY)) {
                Ok(r) => Some(r),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => return,
            }
        };
        if let Some(request) = first {
            let mut next = Some(request);
            while let Some(request) = next {
                if !handle(&mut debugger, request, &out, &mut state) {
                    return;
                }
                dirty = true;
                next = rx.try_recv().ok();
            }
        }
        if state.pace.line_due() && !debugger.is_running() && !debugger.is_done() {
            debugger.start(Goal::StepInto);
        }
        if debugger.is_running() {
            let allowed = state.pace.allowance(budget, debugger.session().vm.counters.instructions);
            if allowed == 0 {
                // Throttled: nothing is due yet.
                std::thread::sleep(Duration::from_millis(2));
            } else {
                let started = Instant::now();
                if debugger.advance(allowed) {
                    dirty = true;
                    state.stopped(&mut debugger);
                }
                let took = started.elapsed();
                if allowed == budget && took < SLICE_MIN {
                    budget = (budget * 2).min(1 << 26);
                } else if took > SLICE_MAX {
                    budget = (budget / 2).max(1_000);
                }
            }
        }
        let instructions = debugger.session().vm.counters.instructions;
        let sampled = meter.sample(clock.elapsed(), instructions);
        let due = debugger.is_running() && last_publish.elapsed() >= PUBLISH_EVERY;
        if dirty || due || (sampled && !debugger.is_running()) {
            publish(&debugger, &out, clock, &meter, &mut state);
            last_publish = Instant::now();
        }
    }
}

/// Applies one request; false means stop the thread.
fn handle(debugger: &mut Debugger, request: Request, out: &Outboxes, state: &mut RunState) -> bool {
    let runs = matches!(request, Request::Start(_) | Request::TogglePause | Request::RunToEvent);
    if runs && out.broken.borrow().is_some() {
        out.notice("the program does not compile: fix it, then r restarts".to_string());
        return true;
    }
    match request {
        Request::Start(goal) => state.go(debugger, goal),
        Request::TogglePause => {
            if state.pace.animating {
                state.pace.animating = false;
                debugger.pause();
                out.notice("paused".to_string());
            } else if debugger.is_running() {
                debugger.pause();
                state.restore_events(debugger);
            } else {
                state.go(debugger, Goal::Continue);
            }
        }
        Request::SetSpeed(speed) => {
            let animate = matches!(speed, Speed::Animate(_));
            state.pace.speed = speed;
            state.pace.restart(debugger.session().vm.counters.instructions);
            if state.pace.animating && !animate {
                // From line by line to a run: continue.
                state.pace.animating = false;
                debugger.start(Goal::Continue);
            } else if !state.pace.animating && animate && debugger.is_running() {
                // A run becomes line by line.
                debugger.pause();
                state.pace.animating = true;
            }
        }
        Request::Evaluate(expr, frame) => {
            let vm = &debugger.session().vm;
            let frame = frame.unwrap_or(vm.frames.len().saturating_sub(1));
            let shown = crate::sanitize::clean(&expr);
            match crate::engine::debug::eval::eval_preview(vm, frame, &expr) {
                Ok(value) => out.notice(format!("{shown} = {}", crate::sanitize::clean(&value))),
                Err(why) => out.notice(format!("{shown}: {}", crate::sanitize::clean(&why))),
            }
        }
        Request::DeleteBreak(row) => {
            change_break(debugger, state, &row, None);
            out.notice(format!("deleted {}", crate::sanitize::clean(&row.what)));
        }
        Request::EnableBreak(row, on) => {
            change_break(debugger, state, &row, Some(on));
            let what = if on { "enabled" } else { "disabled" };
            out.notice(format!("{what} {}", crate::sanitize::clean(&row.what)));
        }
        Request::Display(expr) => {
            if !state.displays.contains(&expr) {
                out.notice(format!("watching {}", crate::sanitize::clean(&expr)));
                state.displays.push(expr);
                state.displayed = None;
            }
        }
        Request::Undisplay(expr) => {
            let before = state.displays.len();
            state.displays.retain(|e| *e != expr);
            state.displayed = None;
            let what = if state.displays.len() < before { "no longer watching" } else { "was not watching" };
            out.notice(format!("{what} {}", crate::sanitize::clean(&expr)));
        }
        Request::RunToEvent => {
            let on: Vec<EventBreak> = debugger.event_breaks().copied().collect();
            let filters = debugger.event_filters().map(|(e, f)| (*e, f.clone())).collect();
            for event in EventBreak::ALL {
                debugger.set_event_break(event, true, None);
            }
            state.restore_events = Some((on, filters));
            state.pace.animating = false;
            state.pace.restart(debugger.session().vm.counters.instructions);
            debugger.start(Goal::Continue);
        }
        Request::ToggleBreakpoint(bp) => {
            debugger.toggle_breakpoint(bp);
        }
        Request::SetWatch(text) => match crate::engine::debug::Watched::parse(&text, &debugger.session().vm) {
            Err(e) => out.notice(format!("watchpoint not set: {e}")),
            Ok(what) => {
                let name = what.describe();
                debugger.add_watch(what);
                out.notice(format!("watching {name}"));
            }
        },
        Request::SetBreakpoint(text) => match crate::engine::debug::parse_break(&text) {
            Err(e) => out.notice(format!("breakpoint not set: {e}")),
            Ok(spec) => {
                let files = debugger.session().files();
                let file = match spec.file.as_deref() {
                    None => Some(0),
                    Some(name) => crate::engine::debug::break_file(files, name),
                };
                match file {
                    None => out.notice(format!(
                        "breakpoint not set: the program has no file {}",
                        spec.file.unwrap_or_default()
                    )),
                    Some(file) => {
                        let bp = Breakpoint::Line { file, line: spec.line };
                        let place = match (file, files.files.get(file as usize)) {
                            (1.., Some(f)) => format!("{}:{}", f.display, spec.line),
                            _ => format!("line {}", spec.line),
                        };
                        let what = format!("breakpoint at {place}{}", spec.options.describe());
                        debugger.set_breakpoint(bp, spec.options);
                        out.notice(what);
                    }
                }
            }
        },
        Request::ToggleEventBreak(event) => {
            let on = debugger.toggle_event_break(event);
            out.notice(format!("break when {}: {}", event.describe(), if on { "on" } else { "off" }));
        }
        Request::ArmEventBreaks(events) => {
            for event in events {
                debugger.set_event_break(event, true, None);
            }
        }
        Request::SetEventBreak(event, filter) => {
            let only = filter.as_ref().map(|f| format!(" (only {f})")).unwrap_or_default();
            debugger.set_event_break(event, true, filter);
            out.notice(format!("break when {}{only}: on", event.describe()));
        }
        Request::Restart => {
            state.pace.animating = false;
            state.restore_events(debugger);
            restart(debugger, out);
        }
        Request::ExportTrace(path) => out.notice(export_trace(debugger, &path)),
        Request::ExportAll(dir) => out.notice(export_all(debugger, &dir)),
        Request::Reverse(goal) => {
            state.pace.animating = false;
            debugger.pause();
            debugger.reverse(goal);
        }
        Request::TravelTo(k) => {
            state.pace.animating = false;
            debugger.pause();
            debugger.travel_to(k);
        }
        Request::Back(n) => {
            state.pace.animating = false;
            debugger.pause();
            debugger.travel_to(debugger.position().saturating_sub(n));
        }
        Request::Quit => return false,
    }
    true
}

/// Restarts from the file as it is now (or the same source); a file that no longer reads or
/// compiles keeps the current program and says why.
fn restart(debugger: &mut Debugger, out: &Outboxes) {
    if let Some(load) = &out.origin.loader {
        return restart_program(debugger, out, load);
    }
    let Some(path) = &out.origin.path else {
        // The same source built before, so a rebuild cannot fail; keep the old one if it does.
        let _ = debugger.restart();
        return;
    };
    let src = match crate::input::read_source(path) {
        Ok(src) => src,
        Err(msg) => {
            let why = msg.strip_prefix("error: ").unwrap_or(&msg);
            out.notice(format!("restart: {why}; kept the loaded program"));
            let _ = debugger.restart();
            return;
        }
    };
    match debugger.restart_with(&src) {
        Ok(()) => {
            if out.broken.borrow_mut().take().is_some() {
                out.notice("restart: the program compiles now".to_string());
            }
        }
        Err(diags) if out.broken.borrow().is_some() => {
            let failure = compile_failure(&path.display().to_string(), &src, None, &diags);
            out.notice(format!("restart: still does not compile ({})", failure.summary));
            *out.broken.borrow_mut() = Some(Broken::new(failure));
            let _ = debugger.restart();
        }
        Err(diags) => {
            let first = diags.first().map(|d| d.message.clone()).unwrap_or_default();
            out.notice(format!("restart: the file does not compile ({first}); kept the loaded program"));
            let _ = debugger.restart();
        }
    }
}

/// [`restart`] for a program with modules: every file is loaded again, and only the changed
/// units of the changed files are recompiled.
fn restart_program(debugger: &mut Debugger, out: &Outboxes, load: &ProgramLoader) {
    let kept = "kept the loaded program";
    let res = match (load.0)() {
        Ok((src, None)) => debugger.restart_with(&src).map_err(|d| (d, None)),
        Ok((_, Some(program))) => {
            let sources = program.sources();
            debugger.restart_with_program(program).map_err(|d| (d, Some(sources)))
        }
        // Still (or again) not building while the debugger shows a program that does not:
        // show the file as it is now.
        Err(failure) if failure.text.is_some() && out.broken.borrow().is_some() => {
            out.notice(format!("restart: still does not compile ({})", failure.summary));
            *out.broken.borrow_mut() = Some(Broken::new(failure));
            let _ = debugger.restart();
            return;
        }
        Err(failure) => {
            let why = failure.summary.strip_prefix("error: ").unwrap_or(&failure.summary);
            out.notice(format!("restart: {why}; {kept}"));
            let _ = debugger.restart();
            return;
        }
    };
    if res.is_ok() && out.broken.borrow_mut().take().is_some() {
        out.notice("restart: the program compiles now".to_string());
    }
    if let Err((diags, sources)) = res {
        let first = match &sources {
            Some(files) => files.summary(&diags),
            None => diags.first().map(|d| d.message.clone()).unwrap_or_default(),
        };
        // Showing a program that does not build: show the file as it is now instead.
        let text = out.origin.path.as_ref().and_then(|p| crate::input::read_source(p).ok());
        if let (Some(text), true) = (text, out.broken.borrow().is_some()) {
            let name = out.origin.path.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
            let failure = compile_failure(&name, &text, sources.as_ref(), &diags);
            out.notice(format!("restart: still does not compile ({})", failure.summary));
            *out.broken.borrow_mut() = Some(Broken::new(failure));
        } else {
            out.notice(format!("restart: the program does not compile ({first}); {kept}"));
        }
        let _ = debugger.restart();
    }
}

/// Writes the trace; returns the status-line message.
fn export_trace(debugger: &Debugger, path: &std::path::Path) -> String {
    let mut summary = None;
    let res = crate::atomic_file::write(path, |file| {
        let mut file = std::io::BufWriter::new(file);
        summary = Some(debugger.export_trace(&mut file)?);
        std::io::Write::flush(&mut file)
    })
    .and_then(|()| summary.ok_or_else(|| "nothing written".to_string()));
    match res {
        Ok(summary) => {
            let cut = if summary.truncated { ", truncated at the event limit" } else { "" };
            format!("exported Chrome trace ({} events{cut}) to {}", summary.events_kept, path.display())
        }
        Err(e) => format!("export failed: {}: {e}", path.display()),
    }
}

/// Writes every export format into `dir`; returns the status-line message.
fn export_all(debugger: &Debugger, dir: &std::path::Path) -> String {
    let files = match debugger.export_files() {
        Ok(f) => f,
        Err(e) => return format!("export failed: {e}"),
    };
    let named: Vec<(&str, &[u8])> = files.iter().map(|f| (f.name, f.bytes.as_slice())).collect();
    match crate::atomic_file::write_files(dir, &named) {
        Ok(written) => {
            let names: Vec<&str> = files.iter().map(|f| f.name).collect();
            format!("exported {} files to {}: {}", written.len(), dir.display(), names.join(", "))
        }
        Err(e) => format!("export failed: {e}"),
    }
}

fn publish(debugger: &Debugger, out: &Outboxes, clock: Instant, meter: &IpsMeter, state: &mut RunState) {
    let mailbox = &out.snapshots;
    let mut snap = debugger.snapshot();
    snap.break_list.extend(state.disabled.iter().map(|d| d.row(debugger)));
    // Watch expressions are evaluated where the program stands still.
    if !state.displays.is_empty() && !debugger.is_running() {
        let at = snap.counters.instructions;
        if state.displayed.as_ref().is_none_or(|(when, _)| *when != at) {
            let values = crate::engine::debug::eval::displays(&debugger.session().vm, &state.displays);
            state.displayed = Some((at, values));
        }
    }
    // While it runs, the values of the last stop stay on screen.
    if !state.displays.is_empty() {
        snap.displays = state.displayed.as_ref().map(|(_, v)| v.clone()).unwrap_or_default();
    }
    // Between two animated lines the debugger is paused, but the run goes on.
    if state.pace.animating && snap.status == RunStatus::Paused {
        snap.status = RunStatus::Running;
        snap.stop_reason = None;
    }
    if let Some(broken) = out.broken.borrow_mut().as_mut() {
        broken.patch(&mut snap);
    }
    snap.clock_us = clock.elapsed().as_micros() as u64;
    snap.ips_history = meter.samples.clone();
    if let Ok(mut slot) = mailbox.lock() {
        *slot = Some(Arc::new(snap));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::recorder::EventBreak;
    use crate::engine::snapshot::RunStatus;

    fn wait_for(worker: &Worker, mut pred: impl FnMut(&SessionSnapshot) -> bool) -> Arc<SessionSnapshot> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(s) = worker.take_snapshot()
                && pred(&s)
            {
                return s;
            }
            assert!(Instant::now() < deadline, "timed out waiting for a snapshot");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn an_endless_loop_runs_and_pauses() {
        let src = "let i = 0\nwhile (true) {\n  i = i + 1\n}\n";
        let worker = Worker::spawn("spin.zx", src, &Options::default(), false).expect("builds");
        wait_for(&worker, |s| s.status == RunStatus::Paused);
        worker.send(Request::TogglePause);
        wait_for(&worker, |s| s.status == RunStatus::Running && s.counters.instructions > 1_000);
        worker.send(Request::TogglePause);
        let paused = wait_for(&worker, |s| s.status == RunStatus::Paused);
        assert_eq!(paused.stop_reason.as_deref(), Some("paused"));
        worker.shutdown(Duration::from_secs(5));
    }

    #[test]
    fn restart_rereads_the_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("p.zx");
        std::fs::write(&path, "action f() { return 1 }\nprint(f())\n").expect("write");
        let src = std::fs::read_to_string(&path).expect("read");
        let worker =
            Worker::spawn_file("p.zx", Some(path.clone()), &src, &Options::default(), true, None).expect("builds");
        wait_for(&worker, |s| s.status == RunStatus::Finished && s.output == ["1"]);
        worker.send(Request::ToggleEventBreak(EventBreak::CacheMiss));
        std::fs::write(&path, "action f() { return 2 }\nprint(f())\n").expect("write");
        worker.send(Request::Restart);
        let snap = wait_for(&worker, |s| s.stop_reason.as_deref() == Some("cache miss: recompiled f"));
        assert_eq!(snap.cache.as_ref().map(|c| (c.last_hits, c.last_units)), Some((1, 2)));
        worker.send(Request::TogglePause);
        wait_for(&worker, |s| s.status == RunStatus::Finished && s.output == ["2"]);
        // A broken edit keeps the loaded program and says why.
        std::fs::write(&path, "action f( {\n").expect("write");
        worker.send(Request::Restart);
        let deadline = Instant::now() + Duration::from_secs(60);
        let notice = loop {
            if let Some(n) = worker.take_notices().into_iter().find(|n| n.0.starts_with("restart:")) {
                break n.0;
            }
            assert!(Instant::now() < deadline, "no notice");
            std::thread::sleep(Duration::from_millis(5));
        };
        assert!(notice.contains("does not compile") && notice.ends_with("kept the loaded program"), "{notice}");
        worker.shutdown(Duration::from_secs(5));
    }

    #[test]
    fn build_errors_come_back_as_diagnostics() {
        let err = Worker::spawn("bad.zx", "let = 1\n", &Options::default(), false).err().expect("fails");
        assert!(!err.is_empty());
    }

    /// The next notice the worker sends (within a minute).
    fn next_notice(worker: &Worker) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(n) = worker.take_notices().pop() {
                return n.0;
            }
            assert!(Instant::now() < deadline, "no notice");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn the_trace_export_is_answered_with_a_notice() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("trace.json");
        let src = "action f(x) { return x * 2 }\nlet i = 0\nwhile (i < 500) { i = i + f(1) - 1 }\nprint(i)\n";
        let worker = Worker::spawn("t.zx", src, &Options::default(), true).expect("builds");
        wait_for(&worker, |s| s.status == RunStatus::Finished);
        worker.send(Request::ExportTrace(path.clone()));
        let notice = next_notice(&worker);
        assert!(notice.starts_with("exported Chrome trace ("), "{notice}");
        assert!(notice.ends_with(&format!("events) to {}", path.display())), "{notice}");
        let doc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("written")).expect("JSON");
        let calls = doc["traceEvents"].as_array().map_or(0, |a| a.iter().filter(|e| e["name"] == "f").count());
        assert_eq!(calls, 1000, "500 calls, each begun and ended");
        let bad = dir.path().join("no/such/dir/t.json");
        worker.send(Request::ExportTrace(bad.clone()));
        let notice = next_notice(&worker);
        assert!(notice.starts_with(&format!("export failed: {}", bad.display())), "{notice}");
        worker.shutdown(Duration::from_secs(5));
    }

    #[test]
    fn the_export_menu_writes_every_format_into_its_directory() {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = dir.path().join("export/nested");
        let src = "action f(x) { return x * 2 }\nlet i = 0\nwhile (i < 50) { i = i + f(1) - 1 }\nprint(i)\n";
        let worker = Worker::spawn("t.zx", src, &Options::default(), true).expect("builds");
        wait_for(&worker, |s| s.status == RunStatus::Finished);
        worker.send(Request::ExportAll(out.clone()));
        let notice = next_notice(&worker);
        assert!(notice.starts_with(&format!("exported 5 files to {}: trace.json, ", out.display())), "{notice}");
        let collapsed = std::fs::read_to_string(out.join("stacks.collapsed")).expect("written");
        assert!(collapsed.lines().any(|l| l.starts_with("<main>;f ")), "{collapsed}");
        let plain = dir.path().join("plain");
        std::fs::write(&plain, "x").expect("write");
        worker.send(Request::ExportAll(plain.clone()));
        let notice = next_notice(&worker);
        assert!(notice.starts_with("export failed: ") && notice.contains("not a directory"), "{notice}");
        worker.shutdown(Duration::from_secs(5));
    }

    #[test]
    fn a_throttled_run_keeps_to_its_speed() {
        let src = "let i = 0\nwhile (true) {\n  i = i + 1\n}\n";
        let worker = Worker::spawn("spin.zx", src, &Options::default(), false).expect("builds");
        wait_for(&worker, |s| s.status == RunStatus::Paused);
        worker.send(Request::SetSpeed(Speed::Instructions(1_000)));
        let started = Instant::now();
        worker.send(Request::TogglePause);
        wait_for(&worker, |s| s.status == RunStatus::Running && s.counters.instructions > 200);
        worker.send(Request::TogglePause);
        let paused = wait_for(&worker, |s| s.status == RunStatus::Paused);
        let allowed = 1_000.0 * started.elapsed().as_secs_f64() + 1_000.0;
        assert!((paused.counters.instructions as f64) < allowed, "{} instructions", paused.counters.instructions);
        worker.shutdown(Duration::from_secs(5));
    }

    #[test]
    fn animating_steps_one_line_at_a_time_and_pauses() {
        let src = "let i = 0\nwhile (true) {\n  i = i + 1\n}\n";
        let worker = Worker::spawn("spin.zx", src, &Options::default(), false).expect("builds");
        wait_for(&worker, |s| s.status == RunStatus::Paused);
        worker.send(Request::SetSpeed(Speed::Animate(20)));
        worker.send(Request::Start(Goal::Continue));
        // Shown as running between lines, and the lines come one at a time.
        let mut lines = Vec::new();
        let running = wait_for(&worker, |s| {
            if let Some(l) = s.location {
                lines.push(l.line);
            }
            s.status == RunStatus::Running && s.counters.instructions > 20
        });
        assert!(
            running.counters.instructions < 10_000,
            "{} instructions: not a free run",
            running.counters.instructions
        );
        assert!(lines.iter().any(|&l| l == 3), "{lines:?}");
        worker.send(Request::TogglePause);
        let paused = wait_for(&worker, |s| s.status == RunStatus::Paused);
        std::thread::sleep(Duration::from_millis(100));
        let later = worker.take_snapshot().unwrap_or(paused.clone());
        assert_eq!(later.counters.instructions, paused.counters.instructions, "no line after the pause");
        worker.shutdown(Duration::from_secs(5));
    }

    #[test]
    fn run_to_the_next_vm_event_stops_there_and_puts_the_event_breaks_back() {
        let src = "let i = 0\nwhile (i < 1000) {\n  i = i + 1\n}\nprint(i / 0)\n";
        let worker = Worker::spawn("hot.zx", src, &Options::default(), false).expect("builds");
        wait_for(&worker, |s| s.status == RunStatus::Paused);
        worker.send(Request::RunToEvent);
        let stop = wait_for(&worker, |s| s.status == RunStatus::Paused && s.counters.instructions > 0);
        assert!(
            stop.stop_reason.as_deref().is_some_and(|r| r.starts_with("JIT compiled loop")),
            "{:?}",
            stop.stop_reason
        );
        assert!(stop.event_breaks.is_empty(), "the user's (empty) set is back: {:?}", stop.event_breaks);
        worker.send(Request::Start(Goal::Continue));
        let end = wait_for(&worker, |s| s.status == RunStatus::Failed);
        assert!(end.error.is_some());
        worker.shutdown(Duration::from_secs(5));
    }

    #[test]
    fn watch_expressions_are_evaluated_at_each_stop_and_print_answers() {
        let src = "let total = 0\nlet i = 0\nwhile (i < 3) {\n  total = total + i\n  i = i + 1\n}\n";
        let worker = Worker::spawn("w.zx", src, &Options::default(), false).expect("builds");
        wait_for(&worker, |s| s.status == RunStatus::Paused);
        worker.send(Request::ToggleBreakpoint(Breakpoint::main_line(5)));
        worker.send(Request::Display("total * 10".to_string()));
        worker.send(Request::Start(Goal::Continue));
        let first = wait_for(&worker, |s| s.location.is_some_and(|l| l.line == 5) && !s.displays.is_empty());
        assert_eq!(first.displays[0].value, "0");
        worker.send(Request::Start(Goal::Continue));
        wait_for(&worker, |s| s.displays.first().is_some_and(|d| d.value == "10"));
        worker.send(Request::Evaluate("i + 100".to_string(), None));
        let notice = next_notice(&worker);
        let notice = if notice.starts_with("watching") { next_notice(&worker) } else { notice };
        assert_eq!(notice, "i + 100 = 101");
        worker.send(Request::Undisplay("total * 10".to_string()));
        wait_for(&worker, |s| s.displays.is_empty());
        worker.shutdown(Duration::from_secs(5));
    }

    #[test]
    fn a_disabled_breakpoint_is_listed_but_does_not_stop_and_comes_back_enabled() {
        let src = "let i = 0\nwhile (i < 3) {\n  i = i + 1\n}\nprint(i)\n";
        let worker = Worker::spawn("b.zx", src, &Options::default(), false).expect("builds");
        wait_for(&worker, |s| s.status == RunStatus::Paused);
        worker.send(Request::ToggleBreakpoint(Breakpoint::main_line(3)));
        let listed = wait_for(&worker, |s| s.break_list.len() == 1);
        let row = listed.break_list[0].clone();
        assert!(row.enabled && row.what == "line 3", "{row:?}");
        worker.send(Request::EnableBreak(row.clone(), false));
        let off = wait_for(&worker, |s| s.break_list.first().is_some_and(|r| !r.enabled));
        assert!(off.breakpoints.is_empty(), "not set in the debugger while disabled");
        worker.send(Request::EnableBreak(off.break_list[0].clone(), true));
        wait_for(&worker, |s| s.break_list.first().is_some_and(|r| r.enabled));
        worker.send(Request::Start(Goal::Continue));
        let stop = wait_for(&worker, |s| s.status == RunStatus::Paused && s.counters.instructions > 0);
        assert_eq!(stop.location.map(|l| l.line), Some(3), "enabled again: it stops");
        worker.send(Request::DeleteBreak(stop.break_list[0].clone()));
        wait_for(&worker, |s| s.break_list.is_empty());
        worker.send(Request::Start(Goal::Continue));
        wait_for(&worker, |s| s.status == RunStatus::Finished);
        worker.shutdown(Duration::from_secs(5));
    }

    #[test]
    fn a_file_that_does_not_compile_opens_with_its_error_and_rebuilds_on_restart() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("p.zx");
        std::fs::write(&path, "let x = 1\nbreak\n").expect("write");
        let src = std::fs::read_to_string(&path).expect("read");
        let worker = Worker::spawn_file("p.zx", Some(path.clone()), &src, &Options::default(), false, None)
            .expect("opens though it does not compile");
        let broken = wait_for(&worker, |s| s.status == RunStatus::Failed);
        let err = broken.error.as_ref().expect("the error in place");
        assert_eq!((err.kind, err.line, err.col), (ErrorKind::Compile, 2, 1));
        assert!(broken.program.source.contains("break"), "the file's text is shown");
        std::fs::write(&path, "let x = 1\nprint(x)\n").expect("fix");
        worker.send(Request::Restart);
        wait_for(&worker, |s| s.status == RunStatus::Paused && s.error.is_none());
        worker.shutdown(Duration::from_secs(5));
    }
}
