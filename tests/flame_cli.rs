//! The headless twins of the TUI's flame view and export menu, run as a user runs them:
//! `zexus-tui flame` (the function table and call tree, `--json` the `FlameView`), the `flame`
//! field of `snapshot --json`, and `zexus-tui export` (every format into one directory, each
//! file checked to parse).

use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_zexus-tui");

fn sample(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples").join(name).display().to_string()
}

fn run(args: &[&str]) -> (String, String, i32) {
    let out = Command::new(BIN).args(args).output().expect("the binary runs");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text:.2000}"))
}

/// fib(n) calls fib 2·F(n+1) − 1 times (F the Fibonacci numbers).
fn fib_calls(n: u64) -> u64 {
    let (mut a, mut b) = (0u64, 1u64);
    for _ in 0..n + 1 {
        (a, b) = (b, a + b);
    }
    2 * a - 1
}

fn function<'a>(view: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    view["functions"].as_array().and_then(|f| f.iter().find(|r| r["name"] == name)).unwrap_or(&serde_json::Value::Null)
}

#[test]
fn flame_counts_every_call_of_fib() {
    let (out, err, code) = run(&["flame", "--json", &sample("fib.zx")]);
    assert_eq!(code, 0, "{err}");
    let view = json(&out);
    assert_eq!(fib_calls(20), 21_891);
    let fib = function(&view, "fib");
    assert_eq!(fib["calls"], fib_calls(20), "{fib}");
    // The tree: fib(20) is one call, each level down doubles until the leaves thin out, and
    // the calls of every fib stack add up to the table's figure.
    let nodes = view["nodes"].as_array().cloned().unwrap_or_default();
    let fib_nodes: Vec<&serde_json::Value> = nodes.iter().filter(|n| n["name"] == "fib").collect();
    assert_eq!(fib_nodes.len(), 20, "fib(20) down to fib(1): twenty depths");
    let by_depth: Vec<u64> = fib_nodes.iter().map(|n| n["calls"].as_u64().unwrap_or(0)).collect();
    assert_eq!(&by_depth[..4], [1, 2, 4, 8]);
    assert_eq!(by_depth.iter().sum::<u64>(), fib_calls(20));
    // Every instruction is in the tree, and the debugger's own counter agrees.
    let (snap, err, code) = run(&["snapshot", "--json", &sample("fib.zx")]);
    assert_eq!(code, 0, "{err}");
    let snap = json(&snap);
    assert_eq!(view["total_instructions"], snap["counters"]["instructions"]);
    let self_sum: u64 = nodes.iter().map(|n| n["self_instructions"].as_u64().unwrap_or(0)).sum();
    assert_eq!(view["total_instructions"], self_sum);
    // `snapshot --json` carries the same figures (timings aside).
    assert_eq!(function(&snap["flame"], "fib")["calls"], fib_calls(20));
    assert_eq!(snap["flame"]["total_instructions"], view["total_instructions"]);
    assert_eq!(snap["flame"]["nodes"].as_array().map(Vec::len), Some(nodes.len()));
}

#[test]
fn flame_text_is_sorted_by_the_chosen_column() {
    let (out, err, code) = run(&["flame", "--sort", "calls", "--top", "5", &sample("fib.zx")]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("flame: "), "{out}");
    assert!(out.contains("functions (sorted by calls):"), "{out}");
    let rows: Vec<&str> = out.lines().skip_while(|l| !l.starts_with("functions")).skip(2).take(2).collect();
    assert!(rows[0].trim_start().starts_with("21,891") && rows[0].ends_with("fib"), "{rows:?}");
    assert!(rows[1].ends_with("<main>"), "{rows:?}");
    assert!(out.contains("… 16 more stacks (--top N shows more)"), "{out}");
    let (_, err, code) = run(&["flame", "--sort", "speed", &sample("fib.zx")]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown sort key 'speed' (keys: total, self, calls, native, time, name)"), "{err}");
}

#[test]
fn flame_tells_native_from_interpreted_work() {
    let (out, err, code) = run(&["flame", "--json", &sample("jit_states.zx")]);
    assert_eq!(code, 0, "{err}");
    let view = json(&out);
    let (snap, _, _) = run(&["snapshot", "--json", &sample("jit_states.zx")]);
    let snap = json(&snap);
    assert_eq!(view["native_instructions"], snap["counters"]["jit_instructions"], "the JIT's own count");
    let compiled = function(&view, "compiled");
    let refused = function(&view, "refused");
    assert_eq!(refused["native_instructions"], 0, "a refused loop is interpreted: {refused}");
    if zexus_tui::jit::AVAILABLE {
        let (native, own) = (compiled["native_instructions"].as_u64(), compiled["self_instructions"].as_u64());
        assert!(native.zip(own).is_some_and(|(n, s)| n * 10 > s * 9), "a compiled loop runs natively: {compiled}");
        assert!(compiled["native_ns"].as_u64().is_some_and(|ns| ns > 0), "native time is measured: {compiled}");
    }
}

#[test]
fn export_writes_every_format_and_each_parses() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out_dir = dir.path().join("out");
    let (_, err, code) = run(&["export", "--dir", &out_dir.display().to_string(), &sample("jit_states.zx")]);
    assert_eq!(code, 0, "{err}");
    assert!(err.starts_with(&format!("export: wrote 5 files to {}", out_dir.display())), "{err}");
    let read = |name: &str| std::fs::read_to_string(out_dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let (snap, _, _) = run(&["snapshot", "--json", &sample("jit_states.zx")]);
    let total = json(&snap)["counters"]["instructions"].as_u64().unwrap_or(0);
    assert!(total > 0);

    let trace = json(&read("trace.json"));
    let events = trace["traceEvents"].as_array().cloned().unwrap_or_default();
    assert!(events.iter().any(|e| e["name"] == "compiled" && e["ph"] == "B"), "calls in the Chrome trace");

    let speedscope = json(&read("profile.speedscope.json"));
    assert_eq!(speedscope["$schema"], "https://www.speedscope.app/file-format-schema.json");
    let frames = speedscope["shared"]["frames"].as_array().map_or(0, Vec::len);
    let profile = &speedscope["profiles"][0];
    assert_eq!(profile["type"], "sampled");
    let weights: u64 = profile["weights"].as_array().map_or(0, |w| w.iter().filter_map(|x| x.as_u64()).sum());
    assert_eq!(weights, total, "every instruction weighs in once");
    for stack in profile["samples"].as_array().cloned().unwrap_or_default() {
        let ok = stack.as_array().is_some_and(|s| s.iter().all(|f| f.as_u64().is_some_and(|f| (f as usize) < frames)));
        assert!(ok, "a sample names known frames: {stack}");
    }
    assert_eq!(speedscope["profiles"][1]["unit"], "nanoseconds");

    let collapsed = read("stacks.collapsed");
    let mut sum = 0;
    for line in collapsed.lines() {
        let (stack, count) = line.rsplit_once(' ').unwrap_or_else(|| panic!("`STACK COUNT`: {line:?}"));
        assert!(stack.starts_with("<main>") && !stack.contains(";;"), "{line:?}");
        sum += count.parse::<u64>().unwrap_or_else(|_| panic!("a count: {line:?}"));
    }
    assert_eq!(sum, total, "{collapsed}");
    assert!(collapsed.lines().any(|l| l.starts_with("<main>;refused;square ")), "{collapsed}");

    let stats = json(&read("stats.json"));
    assert_eq!(stats["outcome"]["status"], "finished");
    assert_eq!(stats["vm"]["instructions"].as_u64(), Some(total), "{stats:#}");

    let profile = json(&read("profile.json"));
    assert!(profile["functions"].as_array().is_some_and(|f| f.iter().any(|r| r.to_string().contains("square"))));

    // A directory that is a file is refused with the reason, and nothing is written.
    let file = dir.path().join("plain");
    std::fs::write(&file, "x").expect("write");
    let (_, err, code) = run(&["export", "--dir", &file.display().to_string(), &sample("fib.zx")]);
    assert_eq!(code, 1);
    assert!(err.contains("exists and is not a directory"), "{err}");
}
