//! Helpers shared by the integration tests: run the built binary like a user does.

#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use wait_timeout::ChildExt;

pub mod inproc;
pub mod jit_programs;
pub mod programs;

/// What one run of the binary produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Captured stdout.
    pub stdout: String,
    /// Captured stderr.
    pub stderr: String,
    /// Exit code (`None` if killed by a signal or the timeout).
    pub code: Option<i32>,
    /// True if the run hit the time limit.
    pub timed_out: bool,
}

/// Path of the built `zexus-tui` binary.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_zexus-tui"))
}

/// The shared conformance folder, if present.
pub fn conformance_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance");
    dir.is_dir().then_some(dir)
}

/// Runs the binary with `args` in `cwd`, no stdin, killing it after `timeout`.
pub fn run_bin(args: &[&str], cwd: &Path, timeout: Duration) -> Outcome {
    let mut child = Command::new(bin())
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the test binary must start");
    let mut out_pipe = child.stdout.take().expect("stdout is piped");
    let mut err_pipe = child.stderr.take().expect("stderr is piped");
    let out_thread = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out_pipe.read_to_end(&mut s);
        s
    });
    let err_thread = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err_pipe.read_to_end(&mut s);
        s
    });
    let (code, timed_out) = match child.wait_timeout(timeout).expect("wait must work") {
        Some(status) => (status.code(), false),
        None => {
            let _ = child.kill();
            let _ = child.wait();
            (None, true)
        }
    };
    let stdout = String::from_utf8_lossy(&out_thread.join().unwrap_or_default()).into_owned();
    let stderr = String::from_utf8_lossy(&err_thread.join().unwrap_or_default()).into_owned();
    Outcome { stdout, stderr, code, timed_out }
}
