//! The golden-program harness: every `.zx` under `tests/golden/` and under
//! `../shared/conformance/` is run through the binary the way a user runs it, and judged on
//! exact stdout, exit status, and (with a `.err` file) an expected substring of stderr.
//! Each program also runs in every execution tier; all tiers must print the same bytes.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{Outcome, PendingRange, PendingTally, conformance_dir, pending_for, pending_ranges, run_bin};

/// The execution tiers every program is run in; the first is the reference.
/// `-O0` and `-O1` check that the optimizer never changes what a program prints; `no-jit` and
/// `jit-threshold-1` that the JIT never does.
const TIERS: &[(&str, &[&str])] = &[
    ("default", &[]),
    ("O0", &["-O0"]),
    ("O1", &["-O1"]),
    ("no-jit", &["--no-jit"]),
    ("jit-threshold-1", &["--jit-threshold", "1"]),
    // Run twice with one disk cache: the second run, judged here, loads every unit from it.
    (CACHE_HIT, &[]),
];

/// The tier whose judged run is a cache hit: `--cache-dir` in a fresh folder, run once to fill
/// it, then again.
const CACHE_HIT: &str = "cache-hit";

struct Case {
    name: String,
    path: PathBuf,
    /// Extra command-line arguments from a first line `// args: ...`.
    args: Vec<String>,
    expected_out: String,
    expected_err: Option<String>,
}

/// Collects the `.zx` programs with a `.out` under `dir`; below it only if `recurse` (the corpus's
/// `modules/` folder holds imported files, not tests).
fn collect(dir: &Path, prefix: &str, recurse: bool, cases: &mut Vec<Case>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            if !recurse {
                continue;
            }
            let sub = format!("{prefix}{}/", path.file_name().unwrap_or_default().to_string_lossy());
            collect(&path, &sub, recurse, cases);
            continue;
        }
        if path.extension().and_then(|e| e.to_str()) != Some("zx") {
            continue;
        }
        let out_path = path.with_extension("out");
        let Ok(expected_out) = std::fs::read_to_string(&out_path) else {
            continue;
        };
        let expected_err = std::fs::read_to_string(path.with_extension("err"))
            .ok()
            .map(|s| s.trim_end_matches(['\n', '\r']).to_string());
        let name = format!("{prefix}{}", path.file_stem().unwrap_or_default().to_string_lossy());
        let source = std::fs::read_to_string(&path).unwrap_or_default();
        let args = source
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("// args:"))
            .map(|a| a.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default();
        cases.push(Case { name, path, args, expected_out, expected_err });
    }
}

fn known_divergences() -> BTreeMap<String, String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/known_divergences.txt");
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| match l.split_once(char::is_whitespace) {
            Some((name, why)) => (name.to_string(), why.trim().to_string()),
            None => (l.to_string(), String::new()),
        })
        .collect()
}

fn judge(case: &Case, out: &Outcome) -> Result<(), String> {
    if out.timed_out {
        return Err("timed out".into());
    }
    let Some(code) = out.code else {
        return Err(format!("killed by a signal\nstderr:\n{}", out.stderr));
    };
    if out.stderr.contains("panicked") || code == 101 {
        return Err(format!("crashed (exit {code})\nstderr:\n{}", out.stderr));
    }
    if out.stdout != case.expected_out {
        return Err(format!(
            "stdout differs\n--- expected\n{}--- got\n{}--- stderr\n{}",
            case.expected_out, out.stdout, out.stderr
        ));
    }
    match &case.expected_err {
        Some(want) => {
            if code == 0 {
                return Err(format!("expected failure with '{want}', but exit status was 0"));
            }
            if !out.stderr.contains(want.as_str()) {
                return Err(format!("stderr lacks '{want}'\nstderr:\n{}", out.stderr));
            }
        }
        None => {
            if code != 0 {
                return Err(format!("exit status {code}\nstderr:\n{}", out.stderr));
            }
        }
    }
    Ok(())
}

fn run_suite(cases: &[Case], label: &str, pending: &[PendingRange]) {
    let divergences = known_divergences();
    let mut failures = Vec::new();
    let mut passed = 0;
    let mut tally = PendingTally::default();
    let mut pending_passing = Vec::new();
    for case in cases {
        let dir = case.path.parent().unwrap_or(Path::new("."));
        let file = case.path.file_name().unwrap_or_default().to_string_lossy().to_string();
        let mut reference: Option<Outcome> = None;
        let mut problem = None;
        for (tier, flags) in TIERS {
            let mut args = vec!["run"];
            args.extend_from_slice(flags);
            args.extend(case.args.iter().map(String::as_str));
            args.push(&file);
            let cache = tempfile::tempdir().expect("temp dir");
            let cache_dir = cache.path().to_string_lossy().into_owned();
            if *tier == CACHE_HIT {
                args.splice(1..1, ["--cache-dir", cache_dir.as_str()]);
                let _ = run_bin(&args, dir, Duration::from_secs(20));
            }
            let out = run_bin(&args, dir, Duration::from_secs(20));
            if let Err(why) = judge(case, &out) {
                problem = Some(format!("[{tier}] {why}"));
                break;
            }
            match &reference {
                None => reference = Some(out),
                Some(r) if r.stdout != out.stdout || r.code != out.code => {
                    problem = Some(format!("tier {tier} disagrees with the default tier"));
                    break;
                }
                Some(_) => {}
            }
        }
        if let Some(range) = pending_for(&case.name, pending) {
            match problem {
                None => pending_passing.push(case.name.clone()),
                Some(_) => tally.note(&case.name, range),
            }
            continue;
        }
        match problem {
            None => passed += 1,
            Some(why) => {
                if let Some(reason) = divergences.get(&case.name) {
                    eprintln!("known divergence {}: {reason}\n  {why}", case.name);
                } else {
                    failures.push(format!("{}: {why}", case.name));
                }
            }
        }
    }
    let judged = cases.len() - tally.names.len() - pending_passing.len();
    eprintln!("{label}: {passed}/{judged} programs passed in all tiers");
    if !pending.is_empty() {
        tally.report(label);
        eprintln!(
            "{label}: {} programs of pending ranges already pass: {}",
            pending_passing.len(),
            pending_passing.join(" ")
        );
    }
    if !failures.is_empty() {
        panic!("{} of {} {label} programs failed:\n\n{}", failures.len(), cases.len(), failures.join("\n\n"));
    }
}

#[test]
fn conformance_corpus() {
    let Some(dir) = conformance_dir() else {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("../shared/conformance is missing, and CI=true requires it");
        }
        eprintln!("../shared/conformance not found; skipping");
        return;
    };
    let mut cases = Vec::new();
    collect(&dir, "", false, &mut cases);
    assert!(!cases.is_empty(), "no conformance programs found in {}", dir.display());
    run_suite(&cases, "conformance", &pending_ranges());
}

#[test]
fn project_golden_programs() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut cases = Vec::new();
    collect(&dir, "", true, &mut cases);
    assert!(!cases.is_empty(), "no golden programs in tests/golden");
    run_suite(&cases, "golden", &[]);
}

/// The pending list is well formed: every line a range inside one extension family, naming its
/// issue (reading it panics otherwise), and the core range is never pending.
#[test]
fn pending_ranges_are_family_ranges_with_an_issue() {
    for range in pending_ranges() {
        assert!(range.first > 80, "the core range 001-080 is never pending: {range:?}");
    }
    let core = PendingRange { first: 101, last: 149, why: "#14".into() };
    assert!(pending_for("001_comments", std::slice::from_ref(&core)).is_none());
    assert!(pending_for("149_exponent_floats", std::slice::from_ref(&core)).is_some());
    assert!(pending_for("150_try_catch", std::slice::from_ref(&core)).is_none());
}
