//! docs/json.md against the real outputs: every field it documents for `stats --json`,
//! `profile --json` and `snapshot --json` is present in their output on the samples, every
//! field they print is documented, each document carries `format_version` and `version`, and
//! the streams rule holds (with `--json`, JSON alone on stdout and the program's output on
//! stderr; without, the program's output on stdout and the report on stderr).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;

fn run(args: &[&str]) -> (String, String) {
    let out = common::run_bin(args, Path::new(env!("CARGO_MANIFEST_DIR")), std::time::Duration::from_secs(300));
    (out.stdout, out.stderr)
}

fn json_of(args: &[&str]) -> Value {
    let (out, err) = run(args);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: stdout is one JSON document ({e})\n{out}\n{err}"))
}

/// Every field path of `v`: `a.b` for a field of an object, `a[]` for the elements of a list.
fn paths(v: &Value, at: &str, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(fields) => {
            for (k, x) in fields {
                let p = if at.is_empty() { k.clone() } else { format!("{at}.{k}") };
                out.insert(p.clone());
                paths(x, &p, out);
            }
        }
        Value::Array(items) => {
            for x in items {
                paths(x, &format!("{at}[]"), out);
            }
        }
        _ => {}
    }
}

/// The documented paths of each section of docs/json.md (`## \`stats --json\`` ...).
fn documented() -> BTreeMap<String, BTreeSet<String>> {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/json.md")).expect("docs/json.md");
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut section = None;
    for line in text.lines() {
        if let Some(h) = line.strip_prefix("## ") {
            section = h.strip_prefix('`').and_then(|h| h.split_once(" --json`")).map(|(cmd, _)| cmd.to_string());
            continue;
        }
        if let (Some(s), Some(rest)) = (&section, line.strip_prefix("| `")) {
            let path = rest.split('`').next().expect("a path").to_string();
            assert!(out.entry(s.clone()).or_default().insert(path.clone()), "{s}: {path} documented twice");
        }
    }
    out
}

#[test]
fn every_documented_field_is_present_and_every_field_is_documented() {
    let runs: [(&str, Vec<Vec<&str>>); 3] = [
        (
            "stats",
            ["jit_states", "token", "modules", "bank", "demo"]
                .iter()
                .map(|s| vec!["stats", "--json", leak(format!("samples/{s}.zx"))])
                .collect(),
        ),
        (
            "profile",
            ["jit_states", "token", "modules", "demo"]
                .iter()
                .map(|s| vec!["profile", "--json", leak(format!("samples/{s}.zx"))])
                .collect(),
        ),
        (
            "snapshot",
            vec![
                vec!["snapshot", "--json", "samples/jit_states.zx"],
                vec!["snapshot", "--json", "samples/demo.zx"],
                vec!["snapshot", "--json", "samples/modules.zx"],
                vec!["snapshot", "--json", "--break", "5", "samples/bank.zx"],
                vec!["snapshot", "--json", "--break-on", "require-failed", "samples/token.zx"],
            ],
        ),
    ];
    let docs = documented();
    assert_eq!(docs.keys().map(String::as_str).collect::<Vec<_>>(), ["profile", "snapshot", "stats"]);
    for (cmd, commands) in runs {
        let mut seen = BTreeSet::new();
        for args in &commands {
            let v = json_of(args);
            assert_eq!(v["format_version"].as_u64(), Some(1), "{args:?}: format_version");
            assert_eq!(v["version"].as_str(), Some(env!("CARGO_PKG_VERSION")), "{args:?}: version");
            paths(&v, "", &mut seen);
        }
        let documented = &docs[cmd];
        let missing: Vec<_> = documented.difference(&seen).collect();
        let undocumented: Vec<_> = seen.difference(documented).collect();
        assert!(missing.is_empty(), "{cmd} --json: documented in docs/json.md but not in the output: {missing:?}");
        assert!(undocumented.is_empty(), "{cmd} --json: in the output but not in docs/json.md: {undocumented:?}");
    }
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

#[test]
fn json_goes_to_stdout_and_the_programs_output_to_stderr() {
    // jit_states.zx prints `compiled 482239` first.
    let printed = "compiled 482239";
    for cmd in ["stats", "profile"] {
        let (out, err) = run(&[cmd, "--json", "samples/jit_states.zx"]);
        let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{cmd} --json: stdout is JSON ({e})"));
        assert!(v.is_object());
        assert!(err.contains(printed), "{cmd} --json: the program's output on stderr:\n{err}");
        let (out, err) = run(&[cmd, "samples/jit_states.zx"]);
        assert!(out.starts_with(printed), "{cmd}: the program's output on stdout:\n{out}");
        let report = if cmd == "stats" { "== statistics ==" } else { "== profile:" };
        assert!(err.contains(report) && !out.contains(report), "{cmd}: the report on stderr:\n{err}");
    }
    let (out, _) = run(&["snapshot", "--json", "samples/jit_states.zx"]);
    let v: Value = serde_json::from_str(&out).expect("snapshot --json: stdout is JSON");
    assert!(v["output"].as_array().is_some_and(|o| o.iter().any(|l| l == printed)), "the output is in the snapshot");
}
