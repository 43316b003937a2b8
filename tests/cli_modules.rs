//! Multi-file programs through the binary (MODULES.md): arguments after FILE, display paths
//! when the main file is given with a directory, carets of load errors, `dis` per file and
//! profiles naming files.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{Outcome, run_bin};

fn write(dir: &Path, files: &[(&str, &str)]) {
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
}

fn run(dir: &Path, args: &[&str]) -> Outcome {
    run_bin(args, dir, Duration::from_secs(30))
}

const LIB: &str = "export let greeting = \"hi\"\nexport action ratio(a, b) {\n  return a / b\n}\n";

#[test]
fn words_after_the_file_are_the_programs_arguments() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), &[("p.zx", "print(__ARGS__, len(__ARGS__))\n")]);
    let out = run(dir.path(), &["run", "p.zx", "a", "-b", "--no-jit"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout, "[\"a\", \"-b\", \"--no-jit\"] 3\n");
}

#[test]
fn a_main_file_in_a_directory_names_modules_by_display_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    let main = "use \"./lib/m.zx\" as m\nprint(m.greeting, m)\nprint(m.ratio(1, 0))\n";
    write(dir.path(), &[("app/main.zx", main), ("app/lib/m.zx", LIB)]);
    let out = run(dir.path(), &["run", "app/main.zx"]);
    assert_eq!(out.code, Some(1));
    assert_eq!(out.stdout, "hi <module lib/m.zx>\n", "the module name is relative to the main file");
    assert!(out.stderr.contains(" --> app/lib/m.zx:3:12"), "{}", out.stderr);
    assert!(out.stderr.contains("  in ratio@app/lib/m.zx, called at app/main.zx:3:14"), "{}", out.stderr);
}

#[test]
fn load_errors_point_at_the_opening_quote_and_print_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), &[("p.zx", "print(\"never\")\nuse \"./lib/x.zx\"\n"), ("lib/x.zx", "use \"./missing\"\n")]);
    let out = run(dir.path(), &["run", "p.zx"]);
    assert_eq!(out.code, Some(1));
    assert_eq!(out.stdout, "");
    let expected = "\
error: syntax error: module not found: \"./missing\"
 --> lib/x.zx:1:5
  |
1 | use \"./missing\"
  |     ^ no such file
  |
  = note: lib/x.zx is imported at p.zx:2:5
";
    assert_eq!(out.stderr, expected);
}

#[test]
fn dis_lists_every_file_and_profile_names_files() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), &[("p.zx", "use { ratio } from \"./m.zx\"\nprint(ratio(6, 3))\n"), ("m.zx", LIB)]);
    let out = run(dir.path(), &["dis", "--after", "p.zx"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let headers: Vec<&str> = out.stdout.lines().filter(|l| l.starts_with("== ")).collect();
    assert_eq!(headers.len(), 3, "{}", out.stdout);
    assert!(headers[0].starts_with("== <main> "));
    assert!(headers[1].starts_with("== <module m.zx> "));
    assert!(headers[2].starts_with("== ratio@m.zx "));
    assert!(out.stdout.contains("USE_MODULE"));
    let out = run(dir.path(), &["profile", "p.zx"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stderr.contains("ratio@m.zx"), "{}", out.stderr);
    assert!(out.stderr.contains("m.zx:3"), "lines of the module are named by file: {}", out.stderr);
}

const MAIN: &str = "use { ratio } from \"./lib/m.zx\"\nlet x = ratio(6, 3)\nprint(x, __ARGS__)\n";

#[test]
fn snapshot_breaks_in_a_module_and_names_files() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), &[("p.zx", MAIN), ("lib/m.zx", LIB)]);
    let out = run(dir.path(), &["snapshot", "p.zx", "--break", "lib/m.zx:3"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stdout.contains("status       paused (breakpoint at lib/m.zx:3)"), "{}", out.stdout);
    assert!(out.stdout.contains("files        2: p.zx, lib/m.zx"), "{}", out.stdout);
    assert!(out.stdout.contains("location     ratio@lib/m.zx file lib/m.zx line 3"), "{}", out.stdout);
    assert!(out.stdout.contains("  #1 ratio@lib/m.zx lib/m.zx:3 pc"), "{}", out.stdout);
    assert!(out.stdout.contains("  lib/m.zx: 0 of 2 units from the cache (first build)"), "{}", out.stdout);
    // JSON: the file table, the breakpoint's file and the frame's file.
    let out = run(dir.path(), &["snapshot", "p.zx", "--json", "--break", "lib/m.zx:3"]);
    let snap: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
    assert_eq!(snap["program"]["files"][1]["display"], "lib/m.zx");
    assert_eq!(snap["breakpoints"][0], serde_json::json!({"kind": "line", "file": 1, "line": 3}));
    assert_eq!(snap["location"]["file"], 1);
    // A file the program does not have is a usage error.
    let out = run(dir.path(), &["snapshot", "p.zx", "--break", "lib/nope.zx:3"]);
    assert_eq!(out.code, Some(2));
    assert!(out.stderr.contains("the program has no file lib/nope.zx (files: p.zx, lib/m.zx)"), "{}", out.stderr);
}

#[test]
fn snapshot_and_run_report_a_module_syntax_error_alike() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), &[("p.zx", MAIN), ("lib/m.zx", "export action ratio(a, b) {\n  return (a / b\n}\n")]);
    let run_out = run(dir.path(), &["run", "p.zx"]);
    let snap_out = run(dir.path(), &["snapshot", "p.zx"]);
    assert_eq!((run_out.code, snap_out.code), (Some(1), Some(1)));
    assert_eq!(snap_out.stdout, "");
    assert_eq!(run_out.stderr, snap_out.stderr);
    assert!(run_out.stderr.contains(" --> lib/m.zx:2:16"), "{}", run_out.stderr);
    assert!(run_out.stderr.contains("= note: lib/m.zx is imported at p.zx:1:20"), "{}", run_out.stderr);
}

#[test]
fn every_command_that_runs_a_program_passes_arguments() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), &[("p.zx", MAIN), ("lib/m.zx", LIB)]);
    let expected = "2.0 [\"a\", \"-b\"]";
    for cmd in ["run", "stats", "profile"] {
        let out = run(dir.path(), &[cmd, "p.zx", "a", "-b"]);
        assert_eq!(out.code, Some(0), "{cmd}: {}", out.stderr);
        assert_eq!(out.stdout.trim_end(), expected, "{cmd}");
    }
    let out = run(dir.path(), &["trace", "-o", "t.json", "p.zx", "a", "-b"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout.trim_end(), expected);
    let out = run(dir.path(), &["snapshot", "p.zx", "a", "-b"]);
    assert!(out.stdout.contains(&format!("  | {expected}")), "{}", out.stdout);
}

#[test]
fn chrome_trace_calls_name_their_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), &[("p.zx", MAIN), ("lib/m.zx", LIB)]);
    let out = run(dir.path(), &["trace", "-o", "t.json", "p.zx"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("t.json")).expect("trace")).expect("JSON");
    let events = doc["traceEvents"].as_array().cloned().unwrap_or_default();
    let call = events.iter().find(|e| e["name"] == "ratio@lib/m.zx" && e["ph"] == "B").expect("the call");
    assert_eq!(call["args"]["file"], "lib/m.zx");
    let module = events.iter().find(|e| e["name"] == "<module lib/m.zx>" && e["ph"] == "B").expect("the module");
    assert_eq!(module["args"]["file"], "lib/m.zx");
}
