//! Time travel reproduces the run: the state at instruction k reached forward (`snapshot
//! --steps K --dump`) is, byte for byte, the state reached by running to the end and
//! travelling back to k (`snapshot --dump --at K`), for every sample and every conformance
//! program, at instruction 1, 10%, 50% and 90% of the run, 1,000 before its end (before a
//! runtime error for the failing ones) and at the end itself. The dump is the whole VM state:
//! every frame's pc, the value stack with aliasing, STATE and open transactions, output,
//! counters and gas, exact counts, the JIT's loop states.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{PendingTally, conformance_dir, pending_for, pending_ranges, run_bin};

const POINTS: [&str; 6] = ["1", "10%", "50%", "90%", "end-1000", "end"];

/// The program arguments a corpus program names on its first line (`// args: a b`).
fn program_args(path: &Path) -> Vec<String> {
    let source = std::fs::read_to_string(path).unwrap_or_default();
    source
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("// args:"))
        .map(|a| a.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default()
}

/// Splits `snapshot --at ...` output into (k, dump) sections.
fn sections(out: &str) -> Vec<(u64, String)> {
    let mut res: Vec<(u64, String)> = Vec::new();
    for line in out.split_inclusive('\n') {
        if let Some(rest) = line.strip_prefix("== instruction ") {
            let k = rest.split_whitespace().next().and_then(|k| k.parse().ok()).expect("a position");
            res.push((k, String::new()));
        } else if let Some((_, text)) = res.last_mut() {
            text.push_str(line);
        }
    }
    res
}

/// Checks one program in `dir` with `extra` options; returns a failure description.
fn check(dir: &Path, file: &str, extra: &[&str]) -> Result<usize, String> {
    let args = program_args(&dir.join(file));
    let mut back: Vec<String> = vec!["snapshot".into(), file.into(), "--dump".into()];
    back.extend(extra.iter().map(|s| s.to_string()));
    for p in POINTS {
        back.push(format!("--at={p}"));
    }
    back.extend(args.iter().cloned());
    let back_refs: Vec<&str> = back.iter().map(String::as_str).collect();
    let out = run_bin(&back_refs, dir, Duration::from_secs(120));
    if out.code != Some(0) {
        // A program that does not compile has no run to travel in.
        if out.stderr.contains("syntax error") || out.stderr.contains("error[") {
            return Ok(0);
        }
        return Err(format!("{file}: snapshot --at failed ({:?}): {}", out.code, out.stderr));
    }
    let travelled = sections(&out.stdout);
    if travelled.len() != POINTS.len() {
        return Err(format!("{file}: expected {} sections, got {}", POINTS.len(), travelled.len()));
    }
    let mut checked = 0;
    for (k, dump) in &travelled {
        let steps = format!("--steps={k}");
        let mut fwd: Vec<&str> = vec!["snapshot", file, "--dump", &steps];
        fwd.extend(extra.iter().copied());
        fwd.extend(args.iter().map(String::as_str));
        let out = run_bin(&fwd, dir, Duration::from_secs(120));
        if out.code != Some(0) {
            return Err(format!("{file}: snapshot --steps {k} failed: {}", out.stderr));
        }
        if &out.stdout != dump {
            let diff: Vec<String> = out
                .stdout
                .lines()
                .zip(dump.lines())
                .filter(|(a, b)| a != b)
                .take(4)
                .map(|(a, b)| format!("  forward:  {a}\n  backward: {b}"))
                .collect();
            return Err(format!("{file} at instruction {k} ({extra:?}): states differ\n{}", diff.join("\n")));
        }
        checked += 1;
    }
    Ok(checked)
}

fn zx_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "zx"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_sample_travels_back_to_the_state_it_had() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let mut failures = Vec::new();
    let mut checked = 0;
    for path in zx_files(&dir) {
        let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
        // spin.zx runs for minutes by design: travel within its first two million instructions.
        let extra: &[&str] = if name == "spin.zx" { &["--max-steps", "2000000"] } else { &[] };
        for tier in [&[][..], &["--jit-threshold", "1"][..], &["--no-jit"][..]] {
            let opts: Vec<&str> = extra.iter().chain(tier.iter()).copied().collect();
            match check(&dir, &name, &opts) {
                Ok(n) => checked += n,
                Err(e) => failures.push(e),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(checked >= 13 * 6, "only {checked} states compared");
}

#[test]
fn every_conformance_program_travels_back_to_the_state_it_had() {
    let Some(dir) = conformance_dir() else {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("../shared/conformance is missing, and CI=true requires it");
        }
        eprintln!("../shared/conformance not found; skipping");
        return;
    };
    let pending = pending_ranges();
    let mut tally = PendingTally::default();
    let mut failures = Vec::new();
    let mut checked = 0;
    for path in zx_files(&dir) {
        let name = path.file_stem().unwrap_or_default().to_string_lossy().into_owned();
        if let Some(range) = pending_for(&name, &pending) {
            tally.note(&name, range);
            continue;
        }
        let file = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
        match check(&dir, &file, &[]) {
            Ok(n) => checked += n,
            Err(e) => failures.push(e),
        }
    }
    tally.report("time travel");
    assert!(failures.is_empty(), "{} programs differ:\n{}", failures.len(), failures.join("\n\n"));
    assert!(checked > 100 * 6, "only {checked} states compared");
}
