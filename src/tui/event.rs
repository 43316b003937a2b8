//! Input for the run loop: terminal events read with a deadline (so frames stay on time),
//! termination signals (SIGTERM, SIGHUP, SIGINT) turned into a flag the loop checks, so the
//! terminal is restored on every way out, and job control (SIGTSTP, SIGCONT) turned into flags
//! the loop answers by suspending and resuming the terminal, as helix does.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crossterm::event::{self, Event as TermEvent, KeyEvent, KeyEventKind, MouseEvent};

/// Something the run loop reacts to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A key was pressed.
    Key(KeyEvent),
    /// The mouse did something.
    Mouse(MouseEvent),
    /// The terminal changed size (the next frame adapts).
    Resize,
}

/// Waits for the next event until `deadline`; `None` when the deadline passed first.
pub fn next(deadline: Instant) -> io::Result<Option<Event>> {
    loop {
        let timeout = deadline.saturating_duration_since(Instant::now());
        if !event::poll(timeout)? {
            return Ok(None);
        }
        match event::read()? {
            TermEvent::Key(key) if key.kind != KeyEventKind::Release => return Ok(Some(Event::Key(key))),
            TermEvent::Mouse(mouse) => return Ok(Some(Event::Mouse(mouse))),
            TermEvent::Resize(_, _) => return Ok(Some(Event::Resize)),
            _ => {
                if Instant::now() >= deadline {
                    return Ok(None);
                }
            }
        }
    }
}

/// Termination signals caught since installation, and job-control signals not yet handled.
pub struct Signals {
    caught: Arc<AtomicUsize>,
    /// SIGTSTP arrived (`kill -TSTP`; Ctrl-Z itself is a key in raw mode).
    stop: Arc<AtomicBool>,
    /// SIGCONT arrived (after any stop, ours or `kill -STOP`).
    cont: Arc<AtomicBool>,
}

impl Signals {
    /// Installs flag-setting handlers for SIGTERM, SIGHUP and SIGINT (the handlers only store
    /// the signal number; the run loop does the restoring).
    pub fn install() -> io::Result<Signals> {
        let caught = Arc::new(AtomicUsize::new(0));
        #[cfg(unix)]
        for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGHUP, signal_hook::consts::SIGINT] {
            signal_hook::flag::register_usize(sig, caught.clone(), sig as usize)?;
        }
        spawn_watchdog(caught.clone())?;
        let stop = Arc::new(AtomicBool::new(false));
        let cont = Arc::new(AtomicBool::new(false));
        #[cfg(unix)]
        {
            signal_hook::flag::register(signal_hook::consts::SIGTSTP, stop.clone())?;
            signal_hook::flag::register(signal_hook::consts::SIGCONT, cont.clone())?;
        }
        Ok(Signals { caught, stop, cont })
    }

    /// True once per SIGTSTP: the run loop should suspend.
    pub fn take_stop(&self) -> bool {
        self.stop.swap(false, Ordering::SeqCst)
    }

    /// Whether a SIGTSTP is waiting (without taking it).
    pub fn stop_pending(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// True once per SIGCONT: the run loop should take the terminal back and redraw.
    pub fn take_continue(&self) -> bool {
        self.cont.swap(false, Ordering::SeqCst)
    }

    /// Stops the process as the default SIGTSTP action would (the caller has restored the
    /// terminal); returns after SIGCONT.
    pub fn stop_now(&self) -> io::Result<()> {
        #[cfg(unix)]
        signal_hook::low_level::raise(signal_hook::consts::SIGSTOP)?;
        Ok(())
    }

    /// The signal caught, if any.
    pub fn caught(&self) -> Option<i32> {
        match self.caught.load(Ordering::Relaxed) {
            0 => None,
            sig => Some(sig as i32),
        }
    }
}

/// How long the run loop may take to wind down after a termination signal before the
/// watchdog ends the process itself.
const GRACE: Duration = Duration::from_secs(2);

/// Ends the process if a termination signal is not acted on within [`GRACE`]. The run loop
/// normally returns within one frame; but when the terminal hangs up (a closed tmux pane, a
/// dropped ssh link), crossterm's reader can spin inside `poll` on a tty that reads EOF forever
/// and never gets back to the loop. The watchdog then restores what it can and exits with
/// 128 + the signal, like the orderly path.
fn spawn_watchdog(caught: Arc<AtomicUsize>) -> io::Result<()> {
    std::thread::Builder::new().name("zexus-signals".to_string()).spawn(move || {
        let sig = loop {
            match caught.load(Ordering::Relaxed) {
                0 => std::thread::sleep(Duration::from_millis(50)),
                sig => break sig,
            }
        };
        std::thread::sleep(GRACE);
        super::restore_terminal();
        std::process::exit((128 + sig as i32).clamp(0, 255));
    })?;
    Ok(())
}
