//! The `zexus-tui` binary: parse arguments, run on a thread with a known stack size, exit.

use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use clap::Parser;

/// Stack sizes tried for the run thread, largest first. Values are dropped iteratively
/// (`vm::value::ListCell`) and every recursive walk is bounded (the parser's `MAX_NESTING`,
/// the value walks' `MAX_VALUE_DEPTH`), so 16 MiB is enough even in a debug build (the
/// hostile tests pass with it); the first size leaves a wide margin. Under a tight
/// address-space limit (`ulimit -v`) the smaller one is tried, with a warning.
const STACK_SIZES: [usize; 2] = [64 << 20, 16 << 20];

fn main() -> ExitCode {
    let cli = Arc::new(Mutex::new(Some(zexus_tui::cli::Cli::parse())));
    let mut refused = Vec::new();
    for size in STACK_SIZES {
        let slot = cli.clone();
        let spawned = std::thread::Builder::new().stack_size(size).spawn(move || {
            let cli = slot.lock().ok().and_then(|mut c| c.take());
            cli.map(zexus_tui::cli::run)
        });
        match spawned {
            Ok(handle) => {
                if let Some((first, why)) = refused.first() {
                    eprintln!(
                        "warning: could not reserve a {} stack for the run thread ({why}; is `ulimit -v` set?); \
                         running with {}",
                        mib(*first),
                        mib(size)
                    );
                }
                return match handle.join() {
                    Ok(Some(code)) => code,
                    _ => {
                        eprintln!("error: internal error (the run thread failed)");
                        ExitCode::from(101)
                    }
                };
            }
            Err(e) => refused.push((size, e.to_string())),
        }
    }
    let why = refused.last().map(|(_, why)| why.as_str()).unwrap_or("unknown reason");
    eprintln!(
        "error: cannot start the run thread: even a {} stack was refused ({why}); \
         raise the address-space limit (`ulimit -v`)",
        mib(STACK_SIZES[STACK_SIZES.len() - 1])
    );
    ExitCode::from(101)
}

fn mib(bytes: usize) -> String {
    if bytes >= 1 << 30 { format!("{} GiB", bytes >> 30) } else { format!("{} MiB", bytes >> 20) }
}
