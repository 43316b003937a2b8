//! `dis` end to end: the optimizer's folding and its figures, as a user sees them.

mod common;

use std::time::Duration;

use common::run_bin;

const SEED: &str = "let a = 10 + 20; let b = 5 * 6; let result = a + b;\n";

fn dis(args: &[&str]) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("seed.zx"), SEED).expect("write program");
    let mut all = vec!["dis"];
    all.extend_from_slice(args);
    all.push("seed.zx");
    let out = run_bin(&all, dir.path(), Duration::from_secs(20));
    assert_eq!(out.code, Some(0), "stderr: {}", out.stderr);
    out.stdout
}

fn instructions(listing: &str) -> Vec<String> {
    listing
        .lines()
        .filter(|l| l.trim_start().chars().next().is_some_and(|c| c.is_ascii_digit()))
        .map(|l| l.split_whitespace().skip(2).collect::<Vec<_>>().join(" "))
        .collect()
}

#[test]
fn seed_program_folds_both_constants() {
    let after = dis(&["--after"]);
    let ops = instructions(&after);
    assert_eq!(
        ops,
        [
            "LOAD_INT 30",
            "STORE_LOCAL 0 ; a",
            "LOAD_INT 30",
            "STORE_LOCAL 1 ; b",
            "LOAD_LOCAL2 0 1 ; a, b",
            "ADD",
            "STORE_LOCAL 2 ; result",
            "HALT"
        ],
        "{after}"
    );
    assert!(!after.contains("MUL"), "{after}");
}

#[test]
fn seed_program_reports_the_reduction() {
    let text = dis(&[]);
    assert!(text.contains("== <main> (13 -> 8 instructions) =="), "{text}");
    assert!(text.contains("total: 13 -> 8 instructions (38.5% fewer)"), "{text}");
    let fold = text.lines().find(|l| l.trim_start().starts_with("fold")).expect("a fold row");
    let figures: Vec<&str> = fold.split_whitespace().collect();
    assert_eq!(figures, ["fold", "4", "2", "0", "0", "0"], "{text}");
}

#[test]
fn seed_program_unoptimized_at_o0() {
    let before = instructions(&dis(&["-O0", "--after"]));
    assert_eq!(before.len(), 13);
    assert_eq!(before.first().map(String::as_str), Some("LOAD_INT 10"));
    assert!(before.iter().any(|op| op == "MUL"));
}
