//! The TUI's command-line contract without a terminal: the `snapshot` subcommand (text and
//! JSON), the refusal to start without a terminal, theme errors before raw mode, and a smoke
//! run of every sample under the debugger.

mod common;

use std::path::Path;
use std::time::Duration;

use common::run_bin;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

const LONG: Duration = Duration::from_secs(120);

#[test]
fn snapshot_json_at_a_breakpoint() {
    let out = run_bin(&["snapshot", "samples/bank.zx", "--json", "--break", "4"], repo(), LONG);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let json: serde_json::Value = serde_json::from_str(&out.stdout).expect("snapshot JSON parses");
    assert_eq!(json["format_version"], 1);
    assert_eq!(json["status"], "paused");
    assert_eq!(json["stop_reason"], "breakpoint at line 4");
    assert_eq!(json["location"]["line"], 4);
    assert_eq!(json["frames"].as_array().map(Vec::len), Some(2));
    assert_eq!(json["frames"][1]["name"], "transfer");
    assert_eq!(json["frames"][1]["locals"][2]["value"], "30");
    assert_eq!(json["transactions"][0]["depth"], 1);
    assert_eq!(json["state"][0]["name"], "alice");
    assert_eq!(json["breakpoints"][0], serde_json::json!({"kind": "line", "line": 4}));
    assert!(json["program"]["functions"][1]["optimized"].as_array().is_some_and(|a| !a.is_empty()));
    assert!(json["program"]["functions"][1]["unoptimized"].as_array().is_some_and(|a| !a.is_empty()));
    assert_eq!(json["program"]["pass_stats"].as_array().map(Vec::len), Some(3));
    // A fresh session: every unit (the top level and each function) missed the cache.
    assert_eq!(json["cache"]["enabled"], true);
    assert_eq!(json["cache"]["builds"], 1);
    assert_eq!(json["cache"]["hits"], 0);
    assert!(json["cache"]["misses"].as_u64().is_some_and(|n| n >= 2), "{}", json["cache"]);
    assert_eq!(json["cache"]["entries"], json["cache"]["misses"]);
    assert!(json["cache"]["memory_bytes"].as_u64().is_some_and(|n| n > 0), "{}", json["cache"]);
    let off = run_bin(&["snapshot", "samples/bank.zx", "--json", "--no-cache"], repo(), LONG);
    let off: serde_json::Value = serde_json::from_str(&off.stdout).expect("snapshot JSON parses");
    assert_eq!(off["cache"]["enabled"], false);
    assert_eq!(json["jit"]["available"], cfg!(target_arch = "x86_64"));
}

#[test]
fn snapshot_text_of_a_failed_program() {
    let out = run_bin(&["snapshot", "samples/runtime_error.zx"], repo(), LONG);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stdout.contains("status       failed (runtime error)"), "{}", out.stdout);
    assert!(out.stdout.contains("error        line 4 col 12: division by zero"), "{}", out.stdout);
    assert!(out.stdout.contains("  | 4.0"), "{}", out.stdout);
}

#[test]
fn snapshot_steps_stop_exactly() {
    let out = run_bin(&["snapshot", "samples/hot_loop.zx", "--json", "--steps", "1234"], repo(), LONG);
    let json: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
    assert_eq!(json["counters"]["instructions"], 1234);
    assert_eq!(json["status"], "paused");
}

#[test]
fn the_demo_ends_in_its_runtime_error() {
    let out = run_bin(&["snapshot", "samples/demo.zx"], repo(), LONG);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stdout.contains("division by zero"), "{}", out.stdout);
    assert!(out.stdout.contains("hot, interpreted") || out.stdout.contains("compiled"), "{}", out.stdout);
    assert!(out.stdout.contains("round 12 pipeline"), "{}", out.stdout);
}

#[test]
fn every_sample_runs_under_the_debugger() {
    let mut names: Vec<_> = std::fs::read_dir(repo().join("samples"))
        .expect("samples")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "zx"))
        .collect();
    names.sort();
    assert!(names.len() >= 8, "{names:?}");
    for path in names {
        let file = path.to_string_lossy().into_owned();
        let out = run_bin(&["snapshot", &file, "--steps", "200000"], repo(), LONG);
        assert_eq!(out.code, Some(0), "{file}: {}", out.stderr);
        assert!(out.stdout.starts_with("program "), "{file}: {}", out.stdout);
    }
}

#[test]
fn snapshot_writes_the_debuggers_chrome_trace() {
    let dir = tempfile::tempdir().expect("temp dir");
    let trace = dir.path().join("t.json");
    let file = repo().join("samples/fib.zx");
    let out = run_bin(&["snapshot", &file.to_string_lossy(), "--trace", &trace.to_string_lossy()], dir.path(), LONG);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stderr.contains("trace: wrote"), "{}", out.stderr);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&trace).expect("written")).expect("trace JSON");
    let events = json["traceEvents"].as_array().cloned().unwrap_or_default();
    assert!(events.iter().any(|e| e["name"] == "parse" && e["ph"] == "B"), "phases");
    assert!(events.iter().any(|e| e["name"] == "fib" && e["ph"] == "B" && e["cat"] == "call"), "calls");
    assert!(events.iter().any(|e| e["name"] == "<main>" && e["ph"] == "E"), "the run ends");
}

#[test]
fn snapshot_breaks_on_vm_events() {
    let out = run_bin(&["snapshot", "samples/hot_loop.zx", "--break-on", "jit"], repo(), LONG);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    if cfg!(target_arch = "x86_64") {
        assert!(out.stdout.contains("status       paused (JIT compiled loop at line"), "{}", out.stdout);
    }
    assert!(out.stdout.contains("break on     jit"), "{}", out.stdout);
    let out = run_bin(&["snapshot", "samples/runtime_error.zx", "--break-on", "error"], repo(), LONG);
    assert!(
        out.stdout.contains("status       paused (before runtime error: division by zero (line 4))"),
        "{}",
        out.stdout
    );
    let out = run_bin(&["snapshot", "samples/fib.zx", "--break-on", "nope"], repo(), LONG);
    assert_eq!(out.code, Some(2));
    assert!(out.stderr.contains("unknown event 'nope'"), "{}", out.stderr);
}

#[test]
fn dis_counts_are_exact_on_both_listings_with_the_jit() {
    let out = run_bin(&["dis", "--counts", "samples/hot_loop.zx"], repo(), LONG);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    // The inner loop body (line 7) runs 300 x 300 times, most of it as native code.
    let body: Vec<&str> = out.stdout.lines().filter(|l| l.contains("  7  MOD")).collect();
    assert_eq!(body.len(), 2, "one MOD in each listing: {}", out.stdout);
    assert!(body.iter().all(|l| l.trim_start().starts_with("90000 ")), "{body:?}");
    assert!(
        out.stdout.contains("     7         90000          720000      acc = (acc + i * j + 7) % 1000003;"),
        "{}",
        out.stdout
    );
    // Unoptimized instructions fused into others show their superinstruction's count.
    assert!(
        out.stdout.lines().any(|l| l.trim_start().starts_with("90300 ") && l.contains("JUMP_IF_FALSE")),
        "{}",
        out.stdout
    );
}

#[test]
fn dis_passes_shows_what_each_pass_changed() {
    let out = run_bin(&["dis", "--by-pass", "samples/hot_loop.zx"], repo(), LONG);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stdout.contains("#### pass 1 of 3: fold ####"), "{}", out.stdout);
    assert!(
        out.stdout.contains("#### pass 3 of 3: peephole ####\n== <main> (38 -> 24 instructions) =="),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("+   4  BRANCH_LOCAL_IMM 1 300 20 ; unless i < 300 to 20"), "{}", out.stdout);
    let out = run_bin(&["dis", "--by-pass", "-O0", "samples/hot_loop.zx"], repo(), LONG);
    assert!(out.stdout.contains("no optimizer passes (-O0)"), "{}", out.stdout);
}

#[test]
fn snapshot_says_why_each_loop_is_or_is_not_compiled() {
    let out = run_bin(&["snapshot", "samples/jit_states.zx"], repo(), LONG);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    if cfg!(target_arch = "x86_64") {
        for expected in [
            "compiled:7 loop 0: 5000 iterations, threshold 100: compiled, 1 entries",
            "refused:19 loop 0: 500 iterations, threshold 100: hot, interpreted (not compiled: unsupported instruction CALL at pc 8)",
            "bails:31 loop 0: 5000 iterations, threshold 100: compiled, 10 entries, 9 bail-outs: type guard: 'x' holds a float (x9)",
            "blacklisted:43 loop 0: 5000 iterations, threshold 100: blacklisted after 8 bail-outs: type guard: 'x' holds a string at pc 4",
        ] {
            assert!(out.stdout.contains(expected), "{expected}\n{}", out.stdout);
        }
    }
    let out = run_bin(&["snapshot", "samples/jit_states.zx", "--no-jit"], repo(), LONG);
    assert!(
        out.stdout
            .contains("compiled:7 loop 0: 5000 iterations, threshold 100: hot, interpreted: the JIT is off (--no-jit)"),
        "{}",
        out.stdout
    );
}

#[test]
fn the_tui_needs_a_terminal() {
    let out = run_bin(&["samples/fib.zx"], repo(), LONG);
    assert_eq!(out.code, Some(2));
    assert!(out.stderr.contains("needs a terminal"), "{}", out.stderr);
    assert!(out.stdout.is_empty());
}

#[test]
fn a_broken_theme_names_the_field() {
    let dir = tempfile::tempdir().expect("temp dir");
    let theme = dir.path().join("bad.json");
    std::fs::write(&theme, r#"{"base": "light", "cursor_bg": "blurple"}"#).expect("write");
    let fib = repo().join("samples/fib.zx");
    let out = run_bin(&["--theme", &theme.to_string_lossy(), &fib.to_string_lossy()], dir.path(), LONG);
    assert_eq!(out.code, Some(1));
    assert!(out.stderr.contains("field `cursor_bg`"), "{}", out.stderr);
    let out = run_bin(&["--theme", "solarized", &fib.to_string_lossy()], dir.path(), LONG);
    assert_eq!(out.code, Some(1));
    assert!(out.stderr.contains("unknown theme \"solarized\""), "{}", out.stderr);
}

#[test]
fn snapshot_conditional_and_counted_breakpoints() {
    let dir = tempfile::tempdir().expect("temp dir");
    let src = "action down(n) {\n  if n == 0 {\n    return 0\n  }\n  return down(n - 1) + 1\n}\nprint(down(500))\n";
    std::fs::write(dir.path().join("down.zx"), src).expect("write");
    let snap = |extra: &[&str]| {
        let mut args = vec!["snapshot", "down.zx", "--json"];
        args.extend_from_slice(extra);
        let out = run_bin(&args, dir.path(), LONG);
        assert_eq!(out.code, Some(0), "{}", out.stderr);
        serde_json::from_str::<serde_json::Value>(&out.stdout).expect("snapshot JSON parses")
    };
    let json = snap(&["--break", "2 if n == 0"]);
    assert_eq!(json["stop_reason"], "breakpoint at line 2 (n == 0)");
    assert_eq!(json["frames"].as_array().map(Vec::len), Some(502));
    let json = snap(&["--tbreak", "2 ignore 4"]);
    assert_eq!(json["stop_reason"], "breakpoint at line 2, hit 5, temporary breakpoint deleted");
    assert_eq!(json["frames"].as_array().map(Vec::len), Some(6));
    assert_eq!(json["breakpoints"].as_array().map(Vec::len), Some(0));
    let json = snap(&["--break", "2 if m == 0"]);
    let why = json["stop_reason"].as_str().unwrap_or_default().to_string();
    assert!(why.starts_with("breakpoint at line 2: error in condition `m == 0`: "), "{why}");
    let out = run_bin(&["snapshot", "down.zx", "--break", "2 if "], dir.path(), LONG);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
}

#[test]
fn snapshot_watchpoint_on_state_shows_old_and_new() {
    let out = run_bin(&["snapshot", "samples/bank.zx", "--json", "--watch", "STATE[\"alice\"]"], repo(), LONG);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let json: serde_json::Value = serde_json::from_str(&out.stdout).expect("snapshot JSON parses");
    assert_eq!(json["stop_reason"], "watchpoint STATE[\"alice\"]: (unset) → 100 (line 13)");
    assert_eq!(json["location"]["line"], 14);
    let out = run_bin(&["snapshot", "samples/bank.zx", "--watch", "nope"], repo(), LONG);
    assert_eq!(out.code, Some(2));
    assert!(out.stderr.contains("no local or global named 'nope'"), "{}", out.stderr);
}

/// Watch expressions (gdb's `display`): evaluated in the innermost frame where the snapshot
/// stops, in the text and in the JSON, with why one has no value.
#[test]
fn snapshot_displays_watch_expressions() {
    let args = ["snapshot", "samples/runtime_error.zx", "--break", "4", "--display", "a / b", "--display", "xs"];
    let out = run_bin(&args, repo(), LONG);
    assert!(out.stdout.contains("displays     2 (in the innermost frame)"), "{}", out.stdout);
    assert!(out.stdout.contains("  a / b = 4.0"), "{}", out.stdout);
    assert!(out.stdout.contains("  xs = ⚠ undefined variable 'xs'"), "{}", out.stdout);
    let json = run_bin(&[&args[..], &["--json"]].concat(), repo(), LONG);
    let json: serde_json::Value = serde_json::from_str(&json.stdout).expect("snapshot JSON parses");
    assert_eq!(json["displays"][0]["name"], "a / b");
    assert_eq!(json["displays"][0]["value"], "4.0");
}
