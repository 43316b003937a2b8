//! Helpers shared by the integration tests: run the built binary like a user does.

#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use wait_timeout::ChildExt;

pub mod inproc;
pub mod jit_programs;
pub mod module_programs;
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

/// One line of `tests/pending_ranges.txt`: corpus programs numbered `first..=last` belong to a
/// family whose issue has not landed yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingRange {
    pub first: u32,
    pub last: u32,
    /// The rest of the line: the issue and what the family is.
    pub why: String,
}

/// The extension-family ranges of the corpus (its README); nothing outside them may be pending.
pub const FAMILY_RANGES: &[(u32, u32)] = &[(101, 149), (150, 179), (201, 249), (301, 339)];

/// Reads `tests/pending_ranges.txt`. A missing file means nothing is pending; a malformed line,
/// a line without an issue (`#N`), or a range outside the family ranges is a test failure.
pub fn pending_ranges() -> Vec<PendingRange> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/pending_ranges.txt");
    let Ok(text) = std::fs::read_to_string(&path) else { return Vec::new() };
    let mut ranges = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (range, why) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let why = why.trim().to_string();
        let parsed = range.split_once('-').and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)));
        let Some((first, last)) = parsed else {
            panic!("tests/pending_ranges.txt:{}: '{range}' is not FIRST-LAST", n + 1);
        };
        assert!(
            why.starts_with('#') && why[1..].starts_with(|c: char| c.is_ascii_digit()),
            "tests/pending_ranges.txt:{}: a pending range names its issue (#N)",
            n + 1
        );
        assert!(
            FAMILY_RANGES.iter().any(|&(a, b)| a <= first && last <= b && first <= last),
            "tests/pending_ranges.txt:{}: {first}-{last} is not inside one extension family's range",
            n + 1
        );
        ranges.push(PendingRange { first, last, why });
    }
    ranges
}

/// The pending range a corpus program (`NNN_topic`) falls in, if any.
pub fn pending_for<'a>(name: &str, ranges: &'a [PendingRange]) -> Option<&'a PendingRange> {
    let number: u32 = name.split('_').next()?.parse().ok()?;
    ranges.iter().find(|r| r.first <= number && number <= r.last)
}

/// Counts and prints the pending programs of one corpus-reading test, so none is silently skipped.
#[derive(Debug, Default)]
pub struct PendingTally {
    pub names: Vec<String>,
}

impl PendingTally {
    pub fn note(&mut self, name: &str, range: &PendingRange) {
        eprintln!("pending {name}: {}", range.why);
        self.names.push(name.to_string());
    }

    pub fn report(&self, label: &str) {
        eprintln!("{label}: {} programs pending (tests/pending_ranges.txt)", self.names.len());
    }
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
