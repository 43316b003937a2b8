//! A `try` whose body raises nothing costs three instructions beyond its body (`SETUP_TRY`,
//! `POP_TRY` and the jump over its handlers) and no handler search: the exception table is
//! read only while an error unwinds (ARCHITECTURE.md, `bytecode`).

mod common;

use std::time::Duration;

use common::run_bin;

fn stats(src: &str) -> serde_json::Value {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("p.zx"), src).expect("write");
    let out = run_bin(&["stats", "--json", "p.zx"], dir.path(), Duration::from_secs(20));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    serde_json::from_str(&out.stdout).expect("stats --json prints one JSON object")
}

fn count(stats: &serde_json::Value, op: &str) -> u64 {
    stats["vm"]["per_opcode"]
        .as_array()
        .expect("per_opcode")
        .iter()
        .find(|e| e["op"] == op)
        .and_then(|e| e["count"].as_u64())
        .unwrap_or(0)
}

#[test]
fn a_try_that_raises_nothing_costs_three_instructions_per_entry() {
    let body = "let x = 0\nlet i = 0\nwhile (i < 50) {\n  BODY\n  i = i + 1\n}\nprint(x)\n";
    let plain = stats(&body.replace("BODY", "x = x + i * 2"));
    let guarded = stats(&body.replace("BODY", "try { x = x + i * 2 } catch (e) { print(e) }"));
    let n = |s: &serde_json::Value| s["vm"]["instructions"].as_u64().expect("instructions");
    assert_eq!(n(&guarded) - n(&plain), 3 * 50, "three instructions per try entered");
    assert_eq!(count(&guarded, "SETUP_TRY"), 50);
    assert_eq!(count(&guarded, "POP_TRY"), 50);
    let gas = |s: &serde_json::Value| s["blockchain"]["gas_used"].as_u64().expect("gas");
    assert_eq!(gas(&guarded) - gas(&plain), (3 + 2 + 3) * 50, "SETUP_TRY 3 + POP_TRY 2 + JUMP 3");
}
