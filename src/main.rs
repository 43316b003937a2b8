//! The `zexus-tui` binary: parse arguments, run on a thread with a large stack, exit.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = zexus_tui::cli::Cli::parse();
    // Deeply nested values are dropped recursively; a large stack keeps that safe.
    let worker = std::thread::Builder::new().stack_size(1 << 30).spawn(move || zexus_tui::cli::run(cli));
    match worker.map(|h| h.join()) {
        Ok(Ok(code)) => code,
        _ => {
            eprintln!("error: internal error (the run thread failed)");
            ExitCode::from(101)
        }
    }
}
