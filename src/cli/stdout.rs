//! The program's standard output for headless runs: when the reader goes away (`| head -1`),
//! the run ends at once, quietly, with exit status 0 (ripgrep's rule), instead of running on
//! with its output discarded.

use std::io::{self, Write};

/// Wraps a stream: a write or flush that fails with a broken pipe ends the process with 0.
/// (A `--state` file is then not saved: the run did not finish; its lock is released by exit.)
pub struct ExitOnClosedPipe<W: Write>(pub W);

fn closed(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::BrokenPipe
}

impl<W: Write> Write for ExitOnClosedPipe<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.0.write(buf) {
            Err(e) if closed(&e) => std::process::exit(0),
            other => other,
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.0.flush() {
            Err(e) if closed(&e) => std::process::exit(0),
            other => other,
        }
    }
}

/// The program's output on stdout, buffered.
pub fn program_stdout() -> Box<dyn Write> {
    Box::new(io::BufWriter::new(ExitOnClosedPipe(io::stdout())))
}

/// The program's output on stderr (for `--json` modes), buffered.
pub fn program_stderr() -> Box<dyn Write> {
    Box::new(io::BufWriter::new(ExitOnClosedPipe(io::stderr())))
}
