//! Reliability (issue 13): committed STATE is never lost, no input is read without bound, the
//! terminal and the user's files are never left worse off. Each test runs the binary as a user
//! does and is named after the defect it covers (H1, H2, M1, ...).

mod common;

use std::path::Path;
use std::time::Duration;

use common::{Outcome, run_bin};

const LIMIT: Duration = Duration::from_secs(30);

/// Writes `files` (name, text) into a fresh directory.
fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).expect("write file");
    }
    dir
}

fn run_in(dir: &Path, args: &[&str]) -> Outcome {
    run_bin(args, dir, LIMIT)
}

fn assert_no_panic(out: &Outcome) {
    assert!(!out.timed_out, "timed out: {out:?}");
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
}

/// A program that stores a list nested `levels` deep under STATE["d"] after STATE["keep"].
fn nested_state_program(levels: usize) -> String {
    format!("let x = []\nlet i = 1\nwhile (i < {levels}) {{ x = [x]; i = i + 1; }}\nSTATE[\"keep\"] = 1\nSTATE[\"d\"] = x\n")
}

#[test]
fn h1_a_state_value_too_deep_to_reload_is_refused_at_the_write() {
    let dir = dir_with(&[("d.zx", &nested_state_program(127)), ("keep.zx", "print(STATE[\"keep\"])\n")]);
    let first = run_in(dir.path(), &["run", "--state", "s.json", "d.zx"]);
    assert_no_panic(&first);
    assert_eq!(first.code, Some(1), "a STATE value nested 127 levels must be refused: {first:?}");
    assert!(first.stderr.contains("nested too deeply"), "{}", first.stderr);
    assert!(first.stderr.contains("d.zx:5:"), "located at the write: {}", first.stderr);
    // Nothing unreadable was saved: the next run loads the file (or starts empty).
    let second = run_in(dir.path(), &["run", "--state", "s.json", "keep.zx"]);
    assert_eq!(second.code, Some(0), "{second:?}");
}

#[test]
fn h1_a_state_value_at_the_limit_saves_and_loads_again() {
    // 100 levels of lists: the documented limit (chain::MAX_STATE_DEPTH).
    let dir = dir_with(&[
        ("d.zx", &nested_state_program(100)),
        ("read.zx", "let d = STATE[\"d\"]\nlet n = 0\nwhile (len(d) > 0) { n = n + 1; d = d[0]; }\nprint(n + 1)\nprint(STATE[\"keep\"])\n"),
    ]);
    let first = run_in(dir.path(), &["run", "--state", "s.json", "d.zx"]);
    assert_eq!(first.code, Some(0), "{first:?}");
    let second = run_in(dir.path(), &["run", "--state", "s.json", "read.zx"]);
    assert_eq!(second.code, Some(0), "{second:?}");
    assert_eq!(second.stdout, "100\n1\n");
}

#[test]
fn h1_a_state_file_nested_past_the_limit_is_a_clear_error() {
    let deep = format!("{{\"d\": {}1{}}}\n", "[".repeat(101), "]".repeat(101));
    let dir = dir_with(&[("s.json", &deep), ("p.zx", "print(1)\n")]);
    let out = run_in(dir.path(), &["run", "--state", "s.json", "p.zx"]);
    assert_no_panic(&out);
    assert_eq!(out.code, Some(1));
    assert!(out.stderr.contains("nested more than 100 levels"), "{}", out.stderr);
}

#[test]
fn l7_a_deep_acyclic_value_is_not_called_cyclic() {
    let src = "let x = []\nlet i = 0\nwhile (i < 2100) { x = [x]; i = i + 1; }\nprint(HASH(x))\n";
    let dir = dir_with(&[("p.zx", src)]);
    let out = run_in(dir.path(), &["run", "p.zx"]);
    assert_no_panic(&out);
    assert_eq!(out.code, Some(1));
    assert!(out.stderr.contains("nested too deeply"), "{}", out.stderr);
    assert!(!out.stderr.contains("cyclic"), "{}", out.stderr);
}

fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo").arg(path).status().expect("mkfifo runs");
    assert!(status.success(), "mkfifo {}", path.display());
}

#[test]
fn h2_a_device_as_the_program_is_refused_before_reading() {
    let dir = dir_with(&[]);
    for args in [&["run", "/dev/zero"][..], &["dis", "/dev/urandom"], &["stats", "/dev/zero"], &["profile", "/dev/zero"]] {
        let out = run_bin(args, dir.path(), Duration::from_secs(10));
        assert_no_panic(&out);
        assert_eq!(out.code, Some(1), "{args:?}: {out:?}");
        assert!(out.stderr.contains("is a character device, not a regular file"), "{args:?}: {}", out.stderr);
    }
}

#[test]
fn h2_a_device_as_the_theme_is_refused() {
    let dir = dir_with(&[("p.zx", "print(1)\n")]);
    let out = run_bin(&["--theme", "/dev/zero", "p.zx"], dir.path(), Duration::from_secs(10));
    assert_no_panic(&out);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.contains("not a regular file"), "{}", out.stderr);
}

#[test]
fn h2_a_program_over_the_size_limit_is_refused_by_its_size() {
    let dir = dir_with(&[]);
    // A sparse file: 65 MiB of zero bytes that cost no disk space (the limit is 64 MiB).
    let big = std::fs::File::create(dir.path().join("big.zx")).expect("create");
    big.set_len(65 << 20).expect("set_len");
    let out = run_in(dir.path(), &["run", "big.zx"]);
    assert_no_panic(&out);
    assert_eq!(out.code, Some(1));
    assert!(out.stderr.contains("larger than the limit of 67108864 bytes (64 MiB)"), "{}", out.stderr);
}

#[test]
fn h2_a_state_file_over_the_size_limit_is_refused_by_its_size() {
    let dir = dir_with(&[("p.zx", "print(1)\n")]);
    let big = std::fs::File::create(dir.path().join("s.json")).expect("create");
    big.set_len(257 << 20).expect("set_len");
    let out = run_in(dir.path(), &["run", "--state", "s.json", "p.zx"]);
    assert_no_panic(&out);
    assert_eq!(out.code, Some(1));
    assert!(out.stderr.contains("larger than the limit"), "{}", out.stderr);
}

#[test]
fn m6_a_fifo_as_the_program_or_the_state_file_does_not_block() {
    let dir = dir_with(&[("p.zx", "print(1)\n")]);
    mkfifo(&dir.path().join("f.zx"));
    mkfifo(&dir.path().join("s.json"));
    for args in [&["run", "f.zx"][..], &["run", "--state", "s.json", "p.zx"]] {
        let out = run_bin(args, dir.path(), Duration::from_secs(10));
        assert!(!out.timed_out, "{args:?} blocked on a FIFO");
        assert_eq!(out.code, Some(1), "{args:?}: {out:?}");
        assert!(out.stderr.contains("is a FIFO, not a regular file"), "{args:?}: {}", out.stderr);
    }
}

/// Runs `p.zx` once with a cache directory and returns the entry files it wrote.
fn cache_entries(dir: &Path) -> Vec<std::path::PathBuf> {
    let out = run_in(dir, &["run", "--cache-dir", "cache", "p.zx"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let mut entries: Vec<_> = std::fs::read_dir(dir.join("cache"))
        .expect("cache dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "zxc"))
        .collect();
    entries.sort();
    assert!(!entries.is_empty(), "the first run writes cache entries");
    entries
}

const CACHE_PROGRAM: &str = "action f(n) { return n * 2 }\nprint(f(21))\n";

#[test]
fn m6_a_fifo_as_a_cache_entry_is_a_miss_not_a_hang() {
    let dir = dir_with(&[("p.zx", CACHE_PROGRAM)]);
    for entry in cache_entries(dir.path()) {
        std::fs::remove_file(&entry).expect("remove");
        mkfifo(&entry);
    }
    let out = run_bin(&["run", "--cache-dir", "cache", "p.zx"], dir.path(), Duration::from_secs(10));
    assert!(!out.timed_out, "a FIFO cache entry blocked the run");
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(out.stdout, "42\n");
}

#[test]
fn m7_a_huge_or_device_cache_entry_is_refused_before_reading() {
    let dir = dir_with(&[("p.zx", CACHE_PROGRAM)]);
    let entries = cache_entries(dir.path());
    for (i, entry) in entries.iter().enumerate() {
        std::fs::remove_file(entry).expect("remove");
        if i % 2 == 0 {
            std::os::unix::fs::symlink("/dev/zero", entry).expect("symlink");
        } else {
            std::fs::File::create(entry).expect("create").set_len(400 << 20).expect("sparse");
        }
    }
    let out = run_bin(&["stats", "--json", "--cache-dir", "cache", "p.zx"], dir.path(), Duration::from_secs(20));
    assert!(!out.timed_out, "a device cache entry was read");
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(out.stderr, "42\n", "the program output goes to stderr with --json");
    assert!(out.stdout.contains(&format!("\"disk_errors\": {}", entries.len())), "{}", out.stdout);
    assert!(out.stdout.contains("\"disk_hits\": 0"), "{}", out.stdout);
}

#[test]
fn l8_a_byte_order_mark_at_the_start_is_skipped() {
    let dir = dir_with(&[("p.zx", "\u{feff}print(1)\n")]);
    let out = run_in(dir.path(), &["run", "p.zx"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(out.stdout, "1\n");
}
