//! The fuzz harness: runs one target's property over generated inputs (a fixed case count by
//! default, or for `ZEXUS_FUZZ_SECONDS` seconds), replays its stored corpus and regression
//! inputs first, saves any failing input for replay, and stops the process on a hang.
//!
//! Every target's input is a byte string, so one file format serves generated cases, the
//! corpus and the reproducers. Environment:
//!
//! - `ZEXUS_FUZZ_CASES`: cases per target (default: the target's own small count);
//! - `ZEXUS_FUZZ_SECONDS`: run each target for this long instead, in batches, and print the count;
//! - `ZEXUS_FUZZ_SEED`: fix the random seed (default: a fresh one each run, printed on failure);
//! - `ZEXUS_FUZZ_REPORT`: a file the one-line summary of each target is appended to;
//! - `ZEXUS_FUZZ_HANG_SECONDS`: a case running longer than this is a hang (default 300).

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::io::Write;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use proptest::strategy::Strategy;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestError, TestRunner};

/// One fuzz target: its name (also the name of its corpus and regression folders) and the
/// property every input must satisfy.
pub struct Target {
    /// Name of the target, its test and its folders.
    pub name: &'static str,
    /// Cases of an ordinary `cargo test` run.
    pub default_cases: u32,
    /// The property: `Err` (or a panic) is a failure.
    pub check: fn(&[u8]) -> Result<(), String>,
    /// Folders of `tests/fuzz/corpus` whose files are inputs of this target (replayed first,
    /// and the seeds its mutators start from).
    pub corpus: &'static [&'static str],
}

/// The folder of this harness (`tests/fuzz`).
pub fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz")
}

/// The files of `tests/fuzz/<kind>/<target>`, sorted by name (none if the folder is missing).
pub fn files(kind: &str, target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = fuzz_dir().join(kind).join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else { return Vec::new() };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_file()).collect();
    paths.sort();
    paths
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| !n.to_string_lossy().starts_with('.')))
        .filter_map(|p| std::fs::read(&p).ok().map(|bytes| (p, bytes)))
        .collect()
}

thread_local! {
    /// Outcome counters of the target running on this thread (what the cases reached).
    static OUTCOMES: std::cell::RefCell<std::collections::BTreeMap<&'static str, u64>> =
        const { std::cell::RefCell::new(std::collections::BTreeMap::new()) };
}

/// Counts one case that reached `outcome` (shown in the target's summary line, so a run shows
/// how many cases got past the decoder, the verifier, and so on).
pub fn count(outcome: &'static str) {
    OUTCOMES.with(|o| *o.borrow_mut().entry(outcome).or_default() += 1);
}

fn outcomes() -> String {
    OUTCOMES.with(|o| o.borrow().iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", "))
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

/// The case currently running on one target's thread, watched for hangs.
struct Watch {
    target: &'static str,
    started: Instant,
    input: Vec<u8>,
}

type Slots = Mutex<HashMap<&'static str, Arc<Mutex<Option<Watch>>>>>;

fn watch_slots() -> &'static Slots {
    static SLOTS: OnceLock<Slots> = OnceLock::new();
    SLOTS.get_or_init(|| {
        let limit = Duration::from_secs(env_u64("ZEXUS_FUZZ_HANG_SECONDS").unwrap_or(300));
        let _ = std::thread::Builder::new().name("fuzz-watchdog".into()).spawn(move || watchdog(limit));
        Mutex::new(HashMap::new())
    })
}

/// Stops the whole process when a case runs past `limit`, after saving its input: a hang
/// cannot be caught like a panic, and a fuzz run must not sit there silently.
fn watchdog(limit: Duration) {
    loop {
        std::thread::sleep(Duration::from_secs(1));
        let slots: Vec<_> = watch_slots().lock().map(|s| s.values().cloned().collect()).unwrap_or_default();
        for slot in slots {
            let Ok(guard) = slot.lock() else { continue };
            if let Some(w) = guard.as_ref()
                && w.started.elapsed() > limit
            {
                let path = save_failure(w.target, &w.input);
                eprintln!(
                    "fuzz target {}: a case ran for more than {} s (a hang); input saved to {}\n{}",
                    w.target,
                    limit.as_secs(),
                    path.display(),
                    preview(&w.input)
                );
                std::process::exit(101);
            }
        }
    }
}

fn slot_for(target: &'static str) -> Arc<Mutex<Option<Watch>>> {
    let mut slots = watch_slots().lock().unwrap_or_else(|e| e.into_inner());
    slots.entry(target).or_default().clone()
}

/// Where a failing input of `target` is written (under cargo's per-test temporary folder).
fn save_failure(target: &str, input: &[u8]) -> PathBuf {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    h.write(input);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz-failures").join(target);
    let path = dir.join(format!("{:016x}", h.finish()));
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(&path, input);
    path
}

/// A printable excerpt of an input.
pub fn preview(input: &[u8]) -> String {
    let text = String::from_utf8_lossy(input);
    let mut out: String = text.chars().take(3000).collect();
    if out.len() < text.len() {
        out.push_str("\n[...]");
    }
    out
}

/// Runs `check` on `input`, turning a panic into an error.
fn guarded(target: &Target, input: &[u8]) -> Result<(), String> {
    match std::panic::catch_unwind(AssertUnwindSafe(|| (target.check)(input))) {
        Ok(res) => res,
        Err(payload) => {
            let msg = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "a panic".to_string());
            Err(format!("panicked: {msg}"))
        }
    }
}

/// Replays every stored input of `target` (its corpus and its regressions); returns how many.
pub fn replay(target: &Target) -> usize {
    let mut n = 0;
    let stored = target.corpus.iter().map(|dir| ("corpus", *dir)).chain([("regressions", target.name)]);
    for (kind, dir) in stored {
        for (path, bytes) in files(kind, dir) {
            if let Err(why) = guarded(target, &bytes) {
                panic!("fuzz target {}: stored input {} fails: {why}", target.name, path.display());
            }
            n += 1;
        }
    }
    n
}

fn fresh_seed() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(Instant::now().elapsed().as_nanos());
    h.finish()
}

/// Runs `target`: replays its stored inputs, then generated ones from `strategy`, for the
/// default case count or for `ZEXUS_FUZZ_SECONDS`. Panics (failing the test) on the first
/// failure, after shrinking it and saving it.
pub fn run<S>(target: &Target, strategy: S)
where
    S: Strategy<Value = Vec<u8>>,
{
    let started = Instant::now();
    let stored = replay(target);
    let seconds = env_u64("ZEXUS_FUZZ_SECONDS");
    let cases = env_u64("ZEXUS_FUZZ_CASES").map_or(target.default_cases, |c| c.clamp(1, u64::from(u32::MAX)) as u32);
    let seed = env_u64("ZEXUS_FUZZ_SEED").unwrap_or_else(fresh_seed);
    let deadline = seconds.map(|s| started + Duration::from_secs(s));
    let slot = slot_for(target.name);
    let mut executed: u64 = 0;
    let mut batch_no: u64 = 0;
    loop {
        let batch = match deadline {
            None => cases,
            Some(_) => cases.max(64),
        };
        let config = Config {
            cases: batch,
            failure_persistence: None,
            rng_seed: RngSeed::Fixed(seed.wrapping_add(batch_no.wrapping_mul(0x9E37_79B9_7F4A_7C15))),
            max_global_rejects: batch.saturating_mul(4).max(1024),
            ..Config::default()
        };
        let mut runner = TestRunner::new(config);
        let result = runner.run(&strategy, |input| {
            if let Ok(mut w) = slot.lock() {
                *w = Some(Watch { target: target.name, started: Instant::now(), input: input.clone() });
            }
            let res = (target.check)(&input);
            if let Ok(mut w) = slot.lock() {
                *w = None;
            }
            res.map_err(TestCaseError::fail)
        });
        if let Ok(mut w) = slot.lock() {
            *w = None;
        }
        match result {
            Ok(()) => executed += u64::from(batch),
            Err(TestError::Fail(why, input)) => {
                let path = save_failure(target.name, &input);
                panic!(
                    "fuzz target {}: failure after {executed} cases (seed {seed}, batch {batch_no}): {why}\n\
                     minimal input saved to {}\nto keep it as a regression test: cp {} tests/fuzz/regressions/{}/\n\
                     input:\n{}",
                    target.name,
                    path.display(),
                    path.display(),
                    target.name,
                    preview(&input)
                );
            }
            Err(TestError::Abort(why)) => panic!("fuzz target {}: aborted: {why}", target.name),
        }
        batch_no += 1;
        match deadline {
            Some(d) if Instant::now() < d => continue,
            _ => break,
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let line = format!(
        "fuzz target {}: {executed} cases (+{stored} stored inputs) in {elapsed:.0} s, no failure (seed {seed}, peak RSS {} MiB; {})",
        target.name,
        peak_rss_kib().map_or("?".to_string(), |k| (k / 1024).to_string()),
        outcomes()
    );
    eprintln!("{line}");
    if let Ok(path) = std::env::var("ZEXUS_FUZZ_REPORT")
        && let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(path)
    {
        let _ = writeln!(f, "{line}");
    }
    if let (Some(kib), Some(limit)) = (peak_rss_kib(), env_u64("ZEXUS_FUZZ_MAX_RSS_MIB")) {
        assert!(
            kib / 1024 <= limit,
            "fuzz target {}: peak RSS {} MiB over the {limit} MiB limit",
            target.name,
            kib / 1024
        );
    }
}

/// The process's peak resident memory (Linux), in KiB.
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
