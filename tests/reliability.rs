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
