//! The `trace` and `profile` subcommands end to end: run the binary, parse what it wrote back
//! with serde_json, and check the format contracts (required fields, strict nesting and
//! monotonic timestamps per track, truncation, call counts).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{Outcome, run_bin};
use serde_json::Value as Json;

const TIMEOUT: Duration = Duration::from_secs(120);

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples")
}

fn run_in(dir: &Path, args: &[&str]) -> Outcome {
    let out = run_bin(args, dir, TIMEOUT);
    assert!(!out.timed_out, "timed out: {args:?}");
    out
}

fn write(dir: &Path, name: &str, src: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, src).unwrap_or_else(|e| panic!("cannot write {name}: {e}"));
    path.display().to_string()
}

fn read_json(path: &Path) -> Json {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// What the structural check found in a Chrome trace.
#[derive(Debug, Default)]
struct ChromeFacts {
    /// Complete slices (B/E pairs) per name.
    slices: BTreeMap<String, usize>,
    /// Slice names per tid.
    slice_tids: BTreeMap<String, u64>,
    /// Instant event names.
    instants: Vec<String>,
    /// Counter names.
    counters: Vec<String>,
    /// Thread names by tid.
    threads: BTreeMap<u64, String>,
    /// Process name.
    process: Option<String>,
    /// Events other than metadata.
    timed_events: usize,
}

/// Checks the Chrome Trace Event Format contract and returns what the trace contains.
fn check_chrome(doc: &Json) -> ChromeFacts {
    assert_eq!(doc["displayTimeUnit"], "ms");
    let events = doc["traceEvents"].as_array().expect("traceEvents is an array");
    let mut facts = ChromeFacts::default();
    let mut open: BTreeMap<u64, Vec<(String, f64)>> = BTreeMap::new();
    let mut last_ts: BTreeMap<u64, f64> = BTreeMap::new();
    for (i, ev) in events.iter().enumerate() {
        let name = ev["name"].as_str().unwrap_or_else(|| panic!("event {i} has no name: {ev}")).to_string();
        let ph = ev["ph"].as_str().unwrap_or_else(|| panic!("event {i} has no ph: {ev}"));
        let pid = ev["pid"].as_u64().unwrap_or_else(|| panic!("event {i} has no integer pid: {ev}"));
        let tid = ev["tid"].as_u64().unwrap_or_else(|| panic!("event {i} has no integer tid: {ev}"));
        assert!((1..100).contains(&pid) && (1..100).contains(&tid), "small pid/tid from 1: {ev}");
        let ts = ev["ts"].as_f64().unwrap_or_else(|| panic!("event {i} has no numeric ts: {ev}"));
        if ph == "M" {
            let label = ev["args"]["name"].as_str().map(str::to_string);
            match name.as_str() {
                "process_name" => facts.process = label,
                "thread_name" => {
                    facts.threads.insert(tid, label.unwrap_or_default());
                }
                _ => {}
            }
            continue;
        }
        facts.timed_events += 1;
        assert!(ts >= 0.0, "negative ts: {ev}");
        let prev = last_ts.entry(tid).or_insert(0.0);
        assert!(ts >= *prev, "ts goes back on tid {tid} at event {i}: {ts} < {prev}: {ev}");
        *prev = ts;
        match ph {
            "B" => {
                open.entry(tid).or_default().push((name.clone(), ts));
                facts.slice_tids.insert(name, tid);
            }
            "E" => {
                let stack = open.entry(tid).or_default();
                let (begun, start) = stack.pop().unwrap_or_else(|| panic!("E without B on tid {tid}: {ev}"));
                assert_eq!(begun, name, "E closes another slice on tid {tid}: {ev}");
                assert!(ts >= start, "slice ends before it starts: {ev}");
                *facts.slices.entry(name).or_default() += 1;
            }
            "i" | "I" => {
                assert!(matches!(ev["s"].as_str(), Some("t" | "p" | "g")), "instant scope: {ev}");
                facts.instants.push(name);
            }
            "C" => {
                assert!(ev["args"].as_object().is_some_and(|a| a.values().all(Json::is_number)), "counter args: {ev}");
                facts.counters.push(name);
            }
            "X" => panic!("this exporter writes B/E pairs, not X: {ev}"),
            other => panic!("unexpected phase {other}: {ev}"),
        }
    }
    for (tid, stack) in &open {
        assert!(stack.is_empty(), "slices left open on tid {tid}: {stack:?}");
    }
    facts
}

#[test]
fn fib_trace_is_a_valid_nested_chrome_trace() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fib = samples().join("fib.zx");
    let out = run_in(dir.path(), &["trace", fib.to_str().unwrap_or_default(), "-o", "trace.json"]);
    assert_eq!(out.code, Some(0), "stderr: {}", out.stderr);
    assert_eq!(out.stdout, "6765\n");
    assert!(out.stderr.contains("trace: wrote trace.json"), "stderr: {}", out.stderr);
    let doc = read_json(&dir.path().join("trace.json"));
    let facts = check_chrome(&doc);
    assert_eq!(facts.slices.get("fib"), Some(&21891), "one slice per call");
    assert_eq!(facts.slices.get("<main>"), Some(&1));
    assert_eq!(facts.process.as_deref(), Some("zexus-tui"));
    assert_eq!(facts.threads.get(&1).map(String::as_str), Some("VM"));
    assert_eq!(facts.threads.get(&2).map(String::as_str), Some("pipeline"));
    assert_eq!(facts.threads.get(&3).map(String::as_str), Some("JIT"));
    // The program has two compilation units (the top level and fib), each compiled and
    // optimized on its own.
    for (phase, count) in [("lex", 1), ("parse", 1), ("compile", 2), ("optimize", 2), ("link", 1)] {
        assert_eq!(facts.slices.get(phase), Some(&count), "phase {phase}");
        assert_eq!(facts.slice_tids.get(phase), Some(&2), "phase {phase} on the pipeline track");
    }
    assert_eq!(facts.slice_tids.get("fib"), Some(&1));
    for counter in ["instructions", "stack depth", "gas"] {
        assert!(facts.counters.iter().any(|c| c == counter), "counter {counter}");
    }
    assert!(facts.instants.iter().any(|i| i == "print"));
    assert!(facts.instants.iter().any(|i| i == "pass peephole"));
    // The outermost call carries its argument.
    let events = doc["traceEvents"].as_array().expect("array");
    let first_fib = events.iter().find(|e| e["name"] == "fib" && e["ph"] == "B").expect("a fib slice");
    assert_eq!(first_fib["args"]["n"], "20");
    assert_eq!(first_fib["args"]["depth"], 1);
    let other = &doc["otherData"];
    assert_eq!(other["truncated"], false);
    assert_eq!(other["events_dropped"], 0);
    assert_eq!(other["events_kept"].as_u64(), Some(facts.timed_events as u64));
}

const NESTED_ERROR: &str = "\
action leaf(x) {
  return 10 / x;
}
action middle(x) {
  return leaf(x - 1) + 1;
}
action top(x) {
  return middle(x) * 2;
}
print(top(3));
print(top(1));
print(\"unreachable\");
";

#[test]
fn a_runtime_error_in_nested_calls_still_closes_every_slice() {
    let dir = tempfile::tempdir().expect("tempdir");
    let prog = write(dir.path(), "nested.zx", NESTED_ERROR);
    let out = run_in(dir.path(), &["trace", &prog, "-o", "err.json"]);
    assert_eq!(out.code, Some(1), "stderr: {}", out.stderr);
    assert_eq!(out.stdout, "12.0\n");
    assert!(out.stderr.contains("division by zero"), "stderr: {}", out.stderr);
    let doc = read_json(&dir.path().join("err.json"));
    let facts = check_chrome(&doc);
    for name in ["top", "middle", "leaf"] {
        assert_eq!(facts.slices.get(name), Some(&2), "{name}: one finished call and one cut by the error");
    }
    assert!(facts.instants.iter().any(|i| i == "runtime error"));
    let events = doc["traceEvents"].as_array().expect("array");
    let err = events.iter().find(|e| e["name"] == "runtime error").expect("error instant");
    assert_eq!(err["args"]["kind"], "division_by_zero");
    assert_eq!(err["args"]["depth"], 3);
    // The slices cut by the error end where the error happened.
    let err_ts = err["ts"].as_f64().unwrap_or(-1.0);
    let last_leaf_end = events.iter().rfind(|e| e["name"] == "leaf" && e["ph"] == "E").expect("leaf end");
    assert_eq!(last_leaf_end["ts"].as_f64(), Some(err_ts));
}

#[test]
fn trace_limit_bounds_an_endless_program() {
    let dir = tempfile::tempdir().expect("tempdir");
    let prog = write(
        dir.path(),
        "endless.zx",
        "action step(n) { return n + 1; }\nlet i = 0;\nwhile (true) { i = step(i); }\n",
    );
    let out = run_in(dir.path(), &["trace", &prog, "-o", "cut.json", "--trace-limit", "500", "--max-steps", "2000000"]);
    assert_eq!(out.code, Some(1), "stderr: {}", out.stderr);
    assert!(out.stderr.contains("step limit exceeded"), "stderr: {}", out.stderr);
    assert!(out.stderr.contains("truncated"), "stderr: {}", out.stderr);
    let doc = read_json(&dir.path().join("cut.json"));
    let facts = check_chrome(&doc);
    let other = &doc["otherData"];
    assert_eq!(other["truncated"], true);
    assert_eq!(other["trace_limit"], 500);
    assert!(other["events_dropped"].as_u64().unwrap_or(0) > 100_000, "{other}");
    // The limit, plus the ends of the slices open when it was reached, plus the note.
    assert!(facts.timed_events <= 500 + 8, "{} events", facts.timed_events);
    assert!(facts.instants.iter().any(|i| i == "trace truncated"));
    let size = std::fs::metadata(dir.path().join("cut.json")).map(|m| m.len()).unwrap_or(u64::MAX);
    assert!(size < 200_000, "file stays small: {size} bytes");
}

#[test]
fn speedscope_export_has_balanced_frames() {
    let dir = tempfile::tempdir().expect("tempdir");
    let prog = write(dir.path(), "nested.zx", NESTED_ERROR);
    let out = run_in(dir.path(), &["trace", &prog, "-o", "ss.json", "--format", "speedscope"]);
    assert_eq!(out.code, Some(1), "stderr: {}", out.stderr);
    let doc = read_json(&dir.path().join("ss.json"));
    assert_eq!(doc["$schema"], "https://www.speedscope.app/file-format-schema.json");
    let frames = doc["shared"]["frames"].as_array().expect("frames");
    let names: Vec<&str> = frames.iter().filter_map(|f| f["name"].as_str()).collect();
    assert_eq!(names, ["<main>", "top", "middle", "leaf"]);
    let profile = &doc["profiles"][0];
    assert_eq!(profile["type"], "evented");
    assert_eq!(profile["unit"], "nanoseconds");
    let mut stack = Vec::new();
    let mut last = 0;
    let mut opened = 0;
    for ev in profile["events"].as_array().expect("events") {
        let at = ev["at"].as_u64().expect("at");
        assert!(at >= last, "at goes back: {ev}");
        last = at;
        let frame = ev["frame"].as_u64().expect("frame");
        match ev["type"].as_str() {
            Some("O") => {
                stack.push(frame);
                opened += 1;
            }
            Some("C") => assert_eq!(stack.pop(), Some(frame), "close matches open: {ev}"),
            other => panic!("unexpected event type {other:?}"),
        }
    }
    assert!(stack.is_empty());
    assert_eq!(opened, 7, "main + 2 x (top, middle, leaf)");
    assert!(profile["endValue"].as_u64().unwrap_or(0) >= last);
}

#[test]
fn event_stream_is_json_lines_with_header_and_summary() {
    let dir = tempfile::tempdir().expect("tempdir");
    let prog = write(dir.path(), "tx.zx", "TX_BEGIN();\nSTATE[\"k\"] = 1;\nTX_COMMIT();\nprint(STATE[\"k\"]);\n");
    let out = run_in(dir.path(), &["trace", &prog, "-o", "ev.jsonl", "--format", "events"]);
    assert_eq!(out.code, Some(0), "stderr: {}", out.stderr);
    assert_eq!(out.stdout, "1\n");
    let text = std::fs::read_to_string(dir.path().join("ev.jsonl")).expect("events file");
    let records: Vec<Json> = text.lines().map(|l| serde_json::from_str(l).expect("each line is JSON")).collect();
    assert_eq!(records.first().map(|r| r["type"].clone()), Some(Json::from("header")));
    assert_eq!(records.first().map(|r| r["data"]["format_version"].clone()), Some(Json::from(1)));
    assert_eq!(records.last().map(|r| r["type"].clone()), Some(Json::from("summary")));
    let kinds: Vec<&str> = records.iter().filter_map(|r| r["type"].as_str()).collect();
    for kind in ["phase_begin", "opt_pass", "run_start", "tx_begin", "state_access", "tx_commit", "print", "run_end"] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
    let commit = records.iter().find(|r| r["type"] == "tx_commit").expect("commit");
    assert_eq!(commit["data"]["keys"], serde_json::json!(["k"]));
    let mut last = 0;
    for r in &records[1..records.len() - 1] {
        let at = r["at_ns"].as_u64().expect("at_ns");
        assert!(at >= last);
        last = at;
    }
}

#[test]
fn profile_of_fib_lists_fib_first_with_every_call() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fib = samples().join("fib.zx");
    let fib = fib.to_str().unwrap_or_default();
    let out = run_in(dir.path(), &["profile", fib]);
    assert_eq!(out.code, Some(0), "stderr: {}", out.stderr);
    assert_eq!(out.stdout, "6765\n", "the report does not go to stdout");
    let top_row = out
        .stderr
        .lines()
        .skip_while(|l| !l.starts_with("Top functions"))
        .nth(2)
        .unwrap_or_else(|| panic!("no function table in:\n{}", out.stderr));
    let cols: Vec<&str> = top_row.split_whitespace().collect();
    assert_eq!(cols.first(), Some(&"fib"), "row: {top_row}");
    assert_eq!(cols.get(1), Some(&"21891"), "row: {top_row}");
    assert!(out.stderr.contains("Hottest lines"));
    assert!(out.stderr.contains("return fib(n - 1) + fib(n - 2);"));

    let out = run_in(dir.path(), &["profile", fib, "--json", "-o", "p.json"]);
    assert_eq!(out.code, Some(0), "stderr: {}", out.stderr);
    let doc = read_json(&dir.path().join("p.json"));
    assert_eq!(doc["format_version"], 1);
    assert_eq!(doc["outcome"], "finished");
    let top = &doc["functions"][0];
    assert_eq!(top["name"], "fib");
    assert_eq!(top["calls"], 21891);
    assert_eq!(top["line"], 2);
    assert_eq!(doc["totals"]["calls"], 21891);
    let total = doc["totals"]["instructions"].as_u64().expect("instructions");
    let main = doc["functions"].as_array().and_then(|f| f.iter().find(|f| f["name"] == "<main>")).expect("main");
    assert_eq!(main["inclusive_instructions"].as_u64(), Some(total));
    let fib_excl = top["exclusive_instructions"].as_u64().unwrap_or(0);
    let main_excl = main["exclusive_instructions"].as_u64().unwrap_or(0);
    assert_eq!(fib_excl + main_excl, total);
    assert_eq!(top["inclusive_instructions"].as_u64(), Some(fib_excl), "recursion counted once");
    let line_sum: u64 = doc["lines"].as_array().expect("lines").iter().filter_map(|l| l["count"].as_u64()).sum();
    assert_eq!(line_sum, total);
    assert_eq!(doc["lines"][0]["line"], 4);
}

#[test]
fn profile_reports_hot_loops_and_survives_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hot = samples().join("hot_loop.zx");
    let out = run_in(dir.path(), &["profile", hot.to_str().unwrap_or_default(), "--json", "-o", "h.json"]);
    assert_eq!(out.code, Some(0), "stderr: {}", out.stderr);
    let doc = read_json(&dir.path().join("h.json"));
    let inner = &doc["loops"][0];
    assert_eq!(inner["header_line"], 6);
    assert_eq!(inner["iterations"], 90000);
    assert_eq!(inner["hot"], true);
    assert!(matches!(inner["status"].as_str(), Some("compiled" | "interpreted")), "{inner}");

    let prog = write(dir.path(), "nested.zx", NESTED_ERROR);
    let out = run_in(dir.path(), &["profile", &prog, "--json", "-o", "e.json"]);
    assert_eq!(out.code, Some(1), "stderr: {}", out.stderr);
    let doc = read_json(&dir.path().join("e.json"));
    assert_eq!(doc["outcome"], "error");
    assert_eq!(doc["error"], "division by zero");
    let calls: BTreeMap<String, u64> = doc["functions"]
        .as_array()
        .expect("functions")
        .iter()
        .map(|f| (f["name"].as_str().unwrap_or_default().to_string(), f["calls"].as_u64().unwrap_or(0)))
        .collect();
    assert_eq!(calls.get("leaf"), Some(&2));
    assert_eq!(calls.get("<main>"), Some(&1));
}

/// The profile's figures without the time columns and in a fixed order: functions by id,
/// instruction and line rows sorted, the totals.
fn profile_figures(doc: &Json) -> (Vec<Json>, Vec<String>, Vec<String>, Json) {
    let strip = |v: &Json| {
        let mut v = v.clone();
        if let Some(map) = v.as_object_mut() {
            map.retain(|k, _| !k.ends_with("_ns"));
        }
        v
    };
    let mut functions: Vec<Json> = doc["functions"].as_array().expect("functions").iter().map(strip).collect();
    functions.sort_by_key(|f| f["id"].as_u64());
    let sorted = |key: &str| {
        let mut rows: Vec<String> = doc[key].as_array().expect(key).iter().map(|r| r.to_string()).collect();
        rows.sort();
        rows
    };
    // The JIT's figures differ by design: `--instruction-events` keeps loops out of native code.
    let mut totals = strip(&doc["totals"]);
    if let Some(map) = totals.as_object_mut() {
        map.retain(|k, _| !matches!(k.as_str(), "jit_entries" | "jit_bailouts" | "native_instructions"));
    }
    (functions, sorted("instructions"), sorted("lines"), totals)
}

/// `profile` counts instructions from the VM's block counts (the JIT stays on); those must be
/// exactly what one event per instruction, single-stepping, counts: per instruction, per line,
/// and per function inclusive and exclusive, on recursion, hot loops (compiled, bailing out,
/// blacklisted) and a runtime error.
#[test]
fn profile_counts_match_one_event_per_instruction() {
    let dir = tempfile::tempdir().expect("tempdir");
    let nested = write(dir.path(), "nested.zx", NESTED_ERROR);
    let programs = [
        samples().join("fib.zx").to_string_lossy().into_owned(),
        samples().join("hot_loop.zx").to_string_lossy().into_owned(),
        samples().join("jit_states.zx").to_string_lossy().into_owned(),
        samples().join("bank.zx").to_string_lossy().into_owned(),
        nested,
    ];
    for prog in &programs {
        let fast = run_in(dir.path(), &["profile", prog, "--json", "-o", "fast.json"]);
        let slow = run_in(dir.path(), &["profile", prog, "--instruction-events", "--json", "-o", "slow.json"]);
        assert_eq!(fast.code, slow.code, "{prog}: {} / {}", fast.stderr, slow.stderr);
        let fast = read_json(&dir.path().join("fast.json"));
        let slow = read_json(&dir.path().join("slow.json"));
        assert_eq!(fast["totals"]["counted_instructions"], true, "{prog}");
        assert!(!fast["instructions"].as_array().expect("rows").is_empty(), "{prog}");
        assert_eq!(profile_figures(&fast), profile_figures(&slow), "{prog}");
    }
}
