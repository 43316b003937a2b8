//! The terminal UI: a live visual debugger and profiler over one session. This module owns the
//! terminal (raw mode, alternate screen, mouse capture) and the run loop; `app` holds the state
//! and drawing, `worker` the VM thread, `panes` the views.
//!
//! Architecture invariant: the TUI reads the session only through `SessionSnapshot`s published
//! by the VM thread, and changes it only through `worker::Request`s; the terminal is restored
//! on every exit path (normal, error, panic, Ctrl-C, SIGTERM, SIGHUP).

pub mod app;
pub mod event;
pub mod keys;
pub mod pace;
pub mod panes;
pub mod sanitize;
pub mod theme;
pub mod worker;

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::terminal::{EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode};
use crossterm::{cursor, execute};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

use crate::diag::render;
use crate::engine::Options;
use app::{App, AppConfig, TerminalRequest};
use theme::Theme;
use worker::Worker;

/// Time between frames (~30 fps).
const FRAME: Duration = Duration::from_millis(33);

/// Everything the TUI starts with.
#[derive(Debug, Clone)]
pub struct TuiConfig {
    /// Display name of the program (its path, or `<demo>`).
    pub name: String,
    /// The program's file, re-read on restart (none for the demo).
    pub path: Option<PathBuf>,
    /// Loads a program with modules (all its files) on the VM thread, at start and on restart.
    pub loader: Option<worker::ProgramLoader>,
    /// The files of a program with modules, to render its build errors.
    pub sources: Option<crate::diag::files::SourceFiles>,
    /// True when the caller loaded `source` as a one-file program without error: the VM
    /// thread's first build takes it instead of loading the file again (issue 13, M8).
    pub loaded_one_file: bool,
    /// Makes the bytecode cache (an in-memory one if none).
    pub cache: Option<worker::CacheFactory>,
    /// Its source text.
    pub source: String,
    /// Session options.
    pub options: Options,
    /// Themes to cycle through (the first is used).
    pub themes: Vec<Theme>,
    /// Start with mouse capture.
    pub mouse: bool,
    /// Where `e` writes the trace.
    pub export_path: PathBuf,
    /// Start running at once instead of paused at the first line.
    pub run: bool,
    /// VM events to break on from the start (the demo arms some).
    pub arm: Vec<crate::engine::recorder::EventBreak>,
    /// A first status-line message (the demo says what to press).
    pub hint: Option<String>,
}

static TERMINAL_ACTIVE: AtomicBool = AtomicBool::new(false);
static HOOK: Once = Once::new();
static VM_PANIC: Mutex<Option<String>> = Mutex::new(None);

/// Puts the terminal back: raw mode off, main screen, mouse released, cursor shown. Safe to
/// call any number of times from anywhere.
pub fn restore_terminal() {
    if TERMINAL_ACTIVE.swap(false, Ordering::SeqCst) {
        let mut out = io::stdout();
        let _ = execute!(out, DisableMouseCapture, LeaveAlternateScreen, cursor::Show);
        let _ = disable_raw_mode();
        let _ = out.flush();
    }
}

/// Takes the terminal back after a stop: raw mode, alternate screen, hidden cursor and mouse
/// capture if it was on. The caller redraws the whole screen.
fn resume_terminal(mouse: bool) -> io::Result<()> {
    enable_raw_mode()?;
    TERMINAL_ACTIVE.store(true, Ordering::SeqCst);
    let mut out = io::stdout();
    execute!(out, EnterAlternateScreen, cursor::Hide)?;
    if mouse {
        execute!(out, EnableMouseCapture)?;
    }
    Ok(())
}

/// Suspends to the shell (Ctrl-Z or SIGTSTP): restores the terminal, stops the process, and
/// when it continues (`fg`) takes the terminal back and clears it for a full redraw.
fn suspend(
    terminal: &mut Terminal<CrosstermBackend<io::Stdout>>,
    signals: &event::Signals,
    mouse: bool,
) -> io::Result<()> {
    restore_terminal();
    signals.stop_now()?;
    let _ = signals.take_continue();
    resume_terminal(mouse)?;
    terminal.clear()
}

/// Restores the terminal when dropped.
struct TerminalGuard;

impl TerminalGuard {
    fn enter(mouse: bool) -> io::Result<TerminalGuard> {
        install_panic_hook();
        enable_raw_mode()?;
        TERMINAL_ACTIVE.store(true, Ordering::SeqCst);
        let guard = TerminalGuard;
        let mut out = io::stdout();
        execute!(out, EnterAlternateScreen, cursor::Hide)?;
        if mouse {
            execute!(out, EnableMouseCapture)?;
        }
        Ok(guard)
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

/// A panic on the UI thread restores the terminal before the message is printed; a panic on
/// the VM thread is recorded (the UI shows it) instead of printed over the screen.
fn install_panic_hook() {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().name() == Some(worker::VM_THREAD) && TERMINAL_ACTIVE.load(Ordering::SeqCst) {
                if let Ok(mut slot) = VM_PANIC.lock() {
                    *slot = Some(info.to_string());
                }
                return;
            }
            restore_terminal();
            previous(info);
        }));
    });
}

/// Runs the TUI until the user quits. Exit codes: 0 after `q`, 1 if the program does not
/// compile or the terminal fails, 2 if stdout is not a terminal, 128+N after signal N.
pub fn run(config: TuiConfig) -> ExitCode {
    if !io::stdout().is_terminal() {
        eprintln!(
            "error: the visual debugger needs a terminal on stdout; use `zexus-tui run FILE` to run headless \
             or `zexus-tui snapshot FILE` to print the debugger's view"
        );
        return ExitCode::from(2);
    }
    let spawned = match (&config.loader, &config.path) {
        (Some(loader), Some(path)) => Worker::spawn_program(
            &config.name,
            path.clone(),
            loader.clone(),
            // A one-file program was loaded and checked by the caller: build its text.
            config.loaded_one_file.then(|| config.source.clone()),
            &config.options,
            config.run,
            config.cache.clone(),
        ),
        _ => Worker::spawn_file(
            &config.name,
            config.path.clone(),
            &config.source,
            &config.options,
            config.run,
            config.cache.clone(),
        ),
    };
    let worker = match spawned {
        Ok(w) => w,
        Err(diags) => {
            let text = match &config.sources {
                Some(files) => files.render_all(&diags),
                None => render::render_all(&diags, &config.name, &config.source),
            };
            eprintln!("{}", crate::sanitize::clean_keep_width(text.trim_end()));
            return ExitCode::from(1);
        }
    };
    if !config.arm.is_empty() {
        worker.send(worker::Request::ArmEventBreaks(config.arm.clone()));
    }
    let signals = match event::Signals::install() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: cannot install signal handlers: {e}");
            return ExitCode::from(1);
        }
    };
    let code = match TerminalGuard::enter(config.mouse) {
        Ok(guard) => {
            let code = run_loop(&config, &worker, &signals);
            drop(guard);
            code
        }
        Err(e) => {
            restore_terminal();
            Err(e)
        }
    };
    worker.shutdown(Duration::from_millis(500));
    match code {
        Ok(None) => ExitCode::SUCCESS,
        Ok(Some(sig)) => ExitCode::from((128 + sig).clamp(0, 255) as u8),
        Err(e) => {
            eprintln!("error: terminal: {e}");
            ExitCode::from(1)
        }
    }
}

/// The frame loop; returns the signal that ended it, if one did.
fn run_loop(config: &TuiConfig, worker: &Worker, signals: &event::Signals) -> io::Result<Option<i32>> {
    let mut terminal = Terminal::new(CrosstermBackend::new(io::stdout()))?;
    terminal.clear()?;
    let mut app = App::new(AppConfig {
        themes: config.themes.clone(),
        mouse: config.mouse,
        export_path: config.export_path.clone(),
    });
    if let Some(hint) = &config.hint {
        app.apply(keys::Action::Status(hint.clone()));
    }
    let mut reported_death = false;
    loop {
        if let Some(sig) = signals.caught() {
            return Ok(Some(sig));
        }
        if signals.take_stop() {
            suspend(&mut terminal, signals, app.mouse())?;
        } else if signals.take_continue() {
            // Continued after a stop that was not ours (`kill -STOP`): the shell may have
            // reset the terminal, so take it back.
            resume_terminal(app.mouse())?;
            terminal.clear()?;
        }
        if let Some(snap) = worker.take_snapshot() {
            app.update(snap);
        }
        for notice in worker.take_notices() {
            app.apply(app::Action::Status(notice.0));
        }
        if !reported_death && !worker.is_alive() {
            reported_death = true;
            let why = VM_PANIC.lock().ok().and_then(|s| s.clone()).unwrap_or_else(|| "no reason given".to_string());
            app.apply(app::Action::Status(format!("internal error: the VM thread stopped: {why}")));
        }
        terminal.draw(|frame| app.render(frame.area(), frame.buffer_mut()))?;
        let deadline = Instant::now() + FRAME;
        while let Some(ev) = event::next(deadline)? {
            match ev {
                event::Event::Key(key) => app.on_key(key),
                event::Event::Mouse(mouse) => app.on_mouse(mouse),
                event::Event::Resize => {}
            }
            for request in app.outbox.drain(..) {
                worker.send(request);
            }
            let requests: Vec<TerminalRequest> = app.terminal_requests.drain(..).collect();
            for request in requests {
                match request {
                    TerminalRequest::Mouse(true) => execute!(io::stdout(), EnableMouseCapture)?,
                    TerminalRequest::Mouse(false) => execute!(io::stdout(), DisableMouseCapture)?,
                    TerminalRequest::Suspend => suspend(&mut terminal, signals, app.mouse())?,
                }
            }
            if app.quit {
                return Ok(None);
            }
            if signals.caught().is_some() || signals.stop_pending() {
                break;
            }
        }
    }
}
