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

use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::diag::Diagnostic;
use std::rc::Rc;

use crate::engine::Options;
use crate::engine::cache::CompileCache;
use crate::engine::debug::{Debugger, Goal};
use crate::engine::loader::LoadedProgram;
use crate::engine::recorder::EventBreak;
use crate::engine::snapshot::{Breakpoint, SessionSnapshot};

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
    /// Start over: from the program's file as it is now if it has one (so edits are
    /// recompiled and the rest comes from the cache), else from the same source.
    Restart,
    /// Write the Chrome trace of the run so far to this file.
    ExportTrace(PathBuf),
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
pub type LoadResult = Result<(String, Option<Rc<LoadedProgram>>), String>;

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
                let (src, program) = match loaded {
                    Ok(x) => x,
                    Err(why) => {
                        let _ = ready_tx.send(Err(vec![Diagnostic::error("E0001", why, Default::default())]));
                        return;
                    }
                };
                let debugger = match Debugger::with_program(&name, &src, program, &options, cache) {
                    Ok(d) => {
                        let _ = ready_tx.send(Ok(()));
                        d
                    }
                    Err(diags) => {
                        let _ = ready_tx.send(Err(diags));
                        return;
                    }
                };
                vm_loop(debugger, rx, Outboxes { snapshots: out, notices: notes, origin }, run);
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
}

impl Outboxes {
    fn notice(&self, text: String) {
        if let Ok(mut n) = self.notices.lock() {
            n.push(Notice(text));
        }
    }
}

fn vm_loop(mut debugger: Debugger, rx: Receiver<Request>, out: Outboxes, run: bool) {
    let mailbox = &out.snapshots;
    let clock = Instant::now();
    let mut meter = IpsMeter { samples: Vec::new(), last_at: Duration::ZERO, last_instructions: 0 };
    let mut budget: u64 = 20_000;
    let mut last_publish = Instant::now();
    if run {
        debugger.start(Goal::Continue);
    }
    publish(&debugger, mailbox, clock, &meter);
    loop {
        let mut dirty = false;
        let first = if debugger.is_running() {
            match rx.try_recv() {
                Ok(r) => Some(r),
                Err(TryRecvError::Empty) => None,
                Err(TryRecvError::Disconnected) => return,
            }
        } else {
            match rx.recv_timeout(SAMPLE_EVERY) {
                Ok(r) => Some(r),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => return,
            }
        };
        if let Some(request) = first {
            let mut next = Some(request);
            while let Some(request) = next {
                if !handle(&mut debugger, request, &out) {
                    return;
                }
                dirty = true;
                next = rx.try_recv().ok();
            }
        }
        if debugger.is_running() {
            let started = Instant::now();
            if debugger.advance(budget) {
                dirty = true;
            }
            let took = started.elapsed();
            if took < SLICE_MIN {
                budget = (budget * 2).min(1 << 26);
            } else if took > SLICE_MAX {
                budget = (budget / 2).max(1_000);
            }
        }
        let instructions = debugger.session().vm.counters.instructions;
        let sampled = meter.sample(clock.elapsed(), instructions);
        let due = debugger.is_running() && last_publish.elapsed() >= PUBLISH_EVERY;
        if dirty || due || (sampled && !debugger.is_running()) {
            publish(&debugger, mailbox, clock, &meter);
            last_publish = Instant::now();
        }
    }
}

/// Applies one request; false means stop the thread.
fn handle(debugger: &mut Debugger, request: Request, out: &Outboxes) -> bool {
    match request {
        Request::Start(goal) => debugger.start(goal),
        Request::TogglePause => {
            if debugger.is_running() {
                debugger.pause();
            } else {
                debugger.start(Goal::Continue);
            }
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
        Request::SetEventBreak(event, filter) => {
            let only = filter.as_ref().map(|f| format!(" (only {f})")).unwrap_or_default();
            debugger.set_event_break(event, true, filter);
            out.notice(format!("break when {}{only}: on", event.describe()));
        }
        Request::Restart => restart(debugger, out),
        Request::ExportTrace(path) => out.notice(export_trace(debugger, &path)),
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
    if let Err(diags) = debugger.restart_with(&src) {
        let first = diags.first().map(|d| d.message.clone()).unwrap_or_default();
        out.notice(format!("restart: the file does not compile ({first}); kept the loaded program"));
        let _ = debugger.restart();
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
        Err(why) => {
            let why = why.strip_prefix("error: ").unwrap_or(&why);
            out.notice(format!("restart: {why}; {kept}"));
            let _ = debugger.restart();
            return;
        }
    };
    if let Err((diags, sources)) = res {
        let first = match &sources {
            Some(files) => files.summary(&diags),
            None => diags.first().map(|d| d.message.clone()).unwrap_or_default(),
        };
        out.notice(format!("restart: the program does not compile ({first}); {kept}"));
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

fn publish(debugger: &Debugger, mailbox: &Mailbox, clock: Instant, meter: &IpsMeter) {
    let mut snap = debugger.snapshot();
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
}
