//! The disk tier of the bytecode cache end to end: entries persist between runs, and damaged
//! or foreign entries are ignored, counted and replaced while the program still runs.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{Outcome, run_bin};
use serde_json::Value;

const PROGRAM: &str = "\
action double(x) { return x * 2 }
action greet(name) {
    let make = function(suffix) { return \"hi \" + name + suffix }
    return make(\"!\")
}
let inc = function(n) { return n + 1 }
print(double(21), greet(\"zx\"), inc(1))
STATE[\"k\"] = double(5)
";

const OUTPUT: &str = "42 hi zx! 2\n";

/// Units of `PROGRAM`: the top level, `double`, `greet` (with its literal) and `inc`.
const UNITS: u64 = 4;

fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("p.zx"), PROGRAM).expect("write program");
    dir
}

fn stats(dir: &Path, extra: &[&str]) -> (Value, Outcome) {
    let mut args = vec!["stats", "--json", "--cache-dir", "cache"];
    args.extend_from_slice(extra);
    args.push("p.zx");
    let out = run_bin(&args, dir, Duration::from_secs(20));
    assert_eq!(out.code, Some(0), "stderr: {}", out.stderr);
    let json: Value = serde_json::from_str(&out.stdout).expect("stats --json prints JSON");
    (json, out)
}

fn num(v: &Value, path: &str) -> u64 {
    v.pointer(path).and_then(Value::as_u64).unwrap_or_else(|| panic!("no number at {path} in {v}"))
}

fn entries(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir.join("cache"))
        .expect("cache dir exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "zxc"))
        .collect();
    files.sort();
    files
}

#[test]
fn second_run_takes_every_unit_from_disk() {
    let dir = setup();
    let (first, out) = stats(dir.path(), &[]);
    assert_eq!(out.stderr, OUTPUT, "with --json the program's output goes to stderr");
    assert_eq!(num(&first, "/session/units"), UNITS);
    assert_eq!(num(&first, "/session/units_compiled"), UNITS);
    assert_eq!(num(&first, "/cache/misses"), UNITS);
    assert_eq!(num(&first, "/cache/disk_writes"), UNITS);
    assert_eq!(entries(dir.path()).len() as u64, UNITS);

    let (second, out) = stats(dir.path(), &[]);
    assert_eq!(out.stderr, OUTPUT);
    assert_eq!(num(&second, "/session/units_disk_hits"), UNITS);
    assert_eq!(num(&second, "/session/units_compiled"), 0);
    assert_eq!(num(&second, "/cache/disk_hits"), UNITS);
    assert_eq!(num(&second, "/cache/misses"), 0);
    assert_eq!(second.pointer("/cache/hit_rate").and_then(Value::as_f64), Some(1.0));
    assert_eq!(num(&second, "/cache/disk_errors"), 0);
    assert_eq!(second.pointer("/session/cache_mode").and_then(Value::as_str), Some("memory+disk"));
    let sources: Vec<&str> = second
        .pointer("/session/unit_list")
        .and_then(Value::as_array)
        .expect("unit list")
        .iter()
        .filter_map(|u| u.get("source").and_then(Value::as_str))
        .collect();
    assert_eq!(sources, ["disk"; UNITS as usize]);
    // The optimizer figures and the run itself do not depend on where the code came from.
    assert_eq!(first.pointer("/optimizer"), second.pointer("/optimizer"));
    assert_eq!(first.pointer("/vm"), second.pointer("/vm"));
    assert_eq!(first.pointer("/blockchain"), second.pointer("/blockchain"));
}

#[test]
fn run_with_a_cache_dir_keeps_runs_contract() {
    let dir = setup();
    for _ in 0..2 {
        let out = run_bin(&["run", "--cache-dir", "cache", "p.zx"], dir.path(), Duration::from_secs(20));
        assert_eq!(out.code, Some(0));
        assert_eq!(out.stdout, OUTPUT);
        assert_eq!(out.stderr, "");
    }
    assert_eq!(entries(dir.path()).len() as u64, UNITS);
}

fn damage_all(dir: &Path, damage: impl Fn(Vec<u8>) -> Vec<u8>) {
    for path in entries(dir) {
        let bytes = std::fs::read(&path).expect("read entry");
        std::fs::write(&path, damage(bytes)).expect("write entry");
    }
}

fn check_damage_is_ignored(damage: impl Fn(Vec<u8>) -> Vec<u8>) {
    let dir = setup();
    stats(dir.path(), &[]);
    damage_all(dir.path(), damage);
    let (json, out) = stats(dir.path(), &[]);
    assert_eq!(out.stderr, OUTPUT, "the program still runs");
    assert_eq!(num(&json, "/cache/disk_errors"), UNITS);
    assert_eq!(num(&json, "/cache/disk_hits"), 0);
    assert_eq!(num(&json, "/session/units_compiled"), UNITS);
    // The damaged entries were replaced: the next run hits every unit again.
    let (json, _) = stats(dir.path(), &[]);
    assert_eq!(num(&json, "/cache/disk_hits"), UNITS);
    assert_eq!(num(&json, "/cache/disk_errors"), 0);
}

#[test]
fn garbage_entries_are_ignored_and_counted() {
    check_damage_is_ignored(|_| b"this is not a cache entry at all".to_vec());
}

#[test]
fn truncated_entries_are_ignored_and_counted() {
    check_damage_is_ignored(|bytes| bytes[..bytes.len() / 2].to_vec());
}

#[test]
fn wrong_version_entries_are_ignored_and_counted() {
    check_damage_is_ignored(|mut bytes| {
        bytes[8] = bytes[8].wrapping_add(1);
        bytes
    });
}

#[test]
fn flipped_payload_bytes_are_ignored_and_counted() {
    check_damage_is_ignored(|mut bytes| {
        let at = bytes.len() - 10;
        bytes[at] ^= 0x01;
        bytes
    });
}

#[test]
fn empty_entries_are_ignored_and_counted() {
    check_damage_is_ignored(|_| Vec::new());
}

#[test]
fn an_unusable_cache_dir_is_a_warning_and_the_program_runs() {
    let dir = setup();
    std::fs::write(dir.path().join("cache"), "a file, not a directory").expect("write");
    let out = run_bin(&["run", "--cache-dir", "cache", "p.zx"], dir.path(), Duration::from_secs(20));
    assert_eq!(out.code, Some(0));
    assert_eq!(out.stdout, OUTPUT);
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{}", out.stderr);
    assert!(lines[0].starts_with("warning: bytecode cache directory unusable"), "{}", out.stderr);
}

#[test]
fn no_cache_compiles_everything_and_writes_nothing() {
    let dir = setup();
    let out = run_bin(&["stats", "--json", "--no-cache", "p.zx"], dir.path(), Duration::from_secs(20));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let json: Value = serde_json::from_str(&out.stdout).expect("JSON");
    assert_eq!(json.pointer("/session/cache_mode").and_then(Value::as_str), Some("off"));
    assert_eq!(num(&json, "/cache/lookups"), 0);
    assert_eq!(num(&json, "/session/units_compiled"), UNITS);
    assert!(!dir.path().join("cache").exists());
}

#[test]
fn stats_table_goes_to_stderr_and_output_to_stdout() {
    let dir = setup();
    let out = run_bin(&["stats", "p.zx"], dir.path(), Duration::from_secs(20));
    assert_eq!(out.code, Some(0));
    assert_eq!(out.stdout, OUTPUT);
    for section in ["session:", "cache:", "optimizer:", "vm:", "per opcode:", "blockchain:", "jit:"] {
        assert!(out.stderr.contains(section), "missing {section}:\n{}", out.stderr);
    }
    assert!(out.stderr.contains("    k = 10\n"), "{}", out.stderr);
    assert!(out.stderr.contains("loops_compiled"), "{}", out.stderr);
}

#[test]
fn stats_json_has_the_documented_fields() {
    let dir = setup();
    let (json, _) = stats(dir.path(), &[]);
    for path in [
        "/format_version",
        "/outcome/status",
        "/session/timings_us/parse",
        "/session/timings_us/run",
        "/optimizer/passes/0/folded",
        "/optimizer/reduction_pct",
        "/vm/instructions",
        "/vm/per_opcode/0/count",
        "/vm/max_stack_depth",
        "/blockchain/gas_used",
        "/blockchain/state/0/key",
        "/blockchain/open_transactions",
        "/jit/loops_compiled",
        "/cache/compile_time_saved_us",
    ] {
        assert!(json.pointer(path).is_some(), "missing {path} in {json}");
    }
    let per_op: u64 = json
        .pointer("/vm/per_opcode")
        .and_then(Value::as_array)
        .expect("per_opcode")
        .iter()
        .filter_map(|c| c.get("count").and_then(Value::as_u64))
        .sum();
    assert_eq!(per_op, num(&json, "/vm/instructions"), "per-opcode counts add up to the instruction count");
}

#[test]
fn well_formed_entries_with_bad_bytecode_fail_the_verifier() {
    use zexus_tui::bytecode::op::Op;
    use zexus_tui::compile::cache::UnitKey;
    use zexus_tui::compile::cache::format::{decode, encode};

    let dir = setup();
    stats(dir.path(), &[]);
    for path in entries(dir.path()) {
        let stem = path.file_stem().and_then(|s| s.to_str()).expect("hex name");
        let key = UnitKey(u128::from_str_radix(stem, 16).expect("hex key"));
        let mut unit = decode(key, &std::fs::read(&path).expect("read")).expect("a valid entry");
        // A load from a slot far outside the frame: checksum and format are fine, the code is not.
        unit.optimized.code.insert(0, Op::LoadLocal { slot: 60_000 });
        unit.optimized.spans.insert(0, unit.optimized.spans[0]);
        std::fs::write(&path, encode(key, &unit)).expect("write");
    }
    let (json, out) = stats(dir.path(), &[]);
    assert_eq!(out.stderr, OUTPUT);
    assert_eq!(num(&json, "/cache/disk_errors"), UNITS);
    assert_eq!(num(&json, "/session/units_compiled"), UNITS);
}
