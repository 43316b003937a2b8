//! Hostile inputs: whatever a user feeds the binary gives a clear error or a clean run in
//! bounded time — never a panic, a hang or a Rust stack overflow.

mod common;

use std::time::Duration;

use common::{Outcome, run_bin};

fn run_src(src: &[u8], args: &[&str], limit: Duration) -> Outcome {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("prog.zx"), src).expect("write program");
    let mut all = vec!["run"];
    all.extend_from_slice(args);
    all.push("prog.zx");
    run_bin(&all, dir.path(), limit)
}

fn assert_clean_failure(out: &Outcome, needle: &str) {
    assert!(!out.timed_out, "timed out");
    assert_eq!(out.code, Some(1), "stderr: {}", out.stderr);
    assert!(out.stderr.contains(needle), "stderr lacks {needle:?}: {}", out.stderr);
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
}

#[test]
fn hundred_thousand_nested_parentheses() {
    let src = format!("print({}1{})\n", "(".repeat(100_000), ")".repeat(100_000));
    let out = run_src(src.as_bytes(), &[], Duration::from_secs(30));
    assert_clean_failure(&out, "nested too deeply");
}

#[test]
fn hundred_thousand_nested_blocks() {
    let src = format!("{}{}\n", "{".repeat(100_000), "}".repeat(100_000));
    let out = run_src(src.as_bytes(), &[], Duration::from_secs(30));
    assert_clean_failure(&out, "nested too deeply");
    let ifs = format!("{}print(1){}\n", "if (true) {".repeat(100_000), "}".repeat(100_000));
    let out = run_src(ifs.as_bytes(), &[], Duration::from_secs(30));
    assert_clean_failure(&out, "nested too deeply");
}

#[test]
fn fifty_megabyte_source_runs_in_bounded_time() {
    let body = "total = total + 1 // padding comment to make the line longer\n";
    let n = 50 * 1024 * 1024 / body.len();
    let mut src = String::with_capacity(n * body.len() + 64);
    src.push_str("let total = 0\n");
    for _ in 0..n {
        src.push_str(body);
    }
    src.push_str("print(total)\n");
    let out = run_src(src.as_bytes(), &[], Duration::from_secs(180));
    assert!(!out.timed_out, "a 50 MB program must be handled in bounded time");
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout, format!("{n}\n"));
}

#[test]
fn too_many_globals_is_a_clear_error() {
    let src: String = (0..70_000).map(|i| format!("let v{i} = {i}\n")).collect();
    let out = run_src(src.as_bytes(), &[], Duration::from_secs(60));
    assert_clean_failure(&out, "too many variables");
}

#[test]
fn huge_values_hit_the_memory_cap() {
    let out = run_src(b"let s = \"ab\" * 2000000000\n", &[], Duration::from_secs(30));
    assert_clean_failure(&out, "out of memory");
    let out = run_src(b"let xs = range(4000000000)\n", &[], Duration::from_secs(30));
    assert_clean_failure(&out, "out of memory");
    let out = run_src(
        b"let s = \"x\"\nwhile (true) { s = s + s }\n",
        &["--memory-limit", "1000000"],
        Duration::from_secs(30),
    );
    assert_clean_failure(&out, "out of memory");
    let out =
        run_src(b"let xs = []\nwhile (true) { xs.push(1) }\n", &["--memory-limit", "160000"], Duration::from_secs(30));
    assert_clean_failure(&out, "out of memory");
}

#[test]
fn deeply_nested_and_cyclic_values() {
    let deep = b"let a = []\nlet i = 0\nwhile (i < 1000000) { a = [a]; i = i + 1 }\nprint(len(a))\nprint(a)\n";
    let out = run_src(deep, &[], Duration::from_secs(60));
    assert_clean_failure(&out, "nested too deeply");
    assert_eq!(out.stdout, "1\n");
    let cyclic = b"let a = [1]\na.push(a)\nprint(a)\n";
    assert_clean_failure(&run_src(cyclic, &[], Duration::from_secs(30)), "cyclic value");
    let cyclic_map = b"let m = {}\nm[\"self\"] = m\nprint(m == m)\n";
    assert_clean_failure(&run_src(cyclic_map, &[], Duration::from_secs(30)), "cyclic value");
    let cyclic_state = b"let m = {}\nm[\"self\"] = m\nSTATE[\"m\"] = m\n";
    assert_clean_failure(&run_src(cyclic_state, &[], Duration::from_secs(30)), "cyclic value");
}

#[test]
fn control_characters_and_odd_whitespace_in_source() {
    let out = run_src(b"print(\"a\\u0007\")\r\nprint(1)\r\n\tprint(2)\x0b\n", &[], Duration::from_secs(30));
    assert!(!out.timed_out);
    assert!(out.code == Some(0) || out.code == Some(1), "{out:?}");
    assert!(!out.stderr.contains("panicked"));
}

#[test]
fn shared_sublists_hit_the_memory_cap_when_displayed() {
    // 2^40 elements in display form, a few kilobytes in memory: str, print, + and join must
    // stop at the cap instead of aborting on a huge allocation.
    let build = "let a = [1]\nlet i = 0\nwhile (i < 40) { a = [a, a]\n i = i + 1 }\nprint(\"built\")\n";
    for show in ["print(len(str(a)))", "print(a)", "print(\"\" + a)", "print([a].join(\",\"))", "print({\"k\": a})"] {
        let src = format!("{build}{show}\n");
        let out = run_src(src.as_bytes(), &["--memory-limit", "1000000"], Duration::from_secs(60));
        assert_clean_failure(&out, "out of memory");
        assert_eq!(out.stdout, "built\n", "{show}");
    }
}
