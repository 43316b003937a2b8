//! The binary as a user runs it: exit codes, diagnostics on stderr, and hostile inputs.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{Outcome, run_bin};

fn run_src(src: &[u8], args: &[&str]) -> Outcome {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("prog.zx"), src).expect("write program");
    let mut all = vec!["run"];
    all.extend_from_slice(args);
    all.push("prog.zx");
    run_bin(&all, dir.path(), Duration::from_secs(30))
}

#[test]
fn syntax_errors_are_reported_with_carets_and_exit_1() {
    let out = run_src(b"print(\"never\")\nlet x = (1 + 2\nprint(x)\nlet = 4\n", &[]);
    assert_eq!(out.code, Some(1));
    assert_eq!(out.stdout, "", "a program with syntax errors prints nothing");
    let expected = "\
error: syntax error: expected ')' to close '(', found end of line
 --> prog.zx:2:15
  |
2 | let x = (1 + 2
  |               ^ expected ')'

error: syntax error: expected a variable name, found '='
 --> prog.zx:4:5
  |
4 | let = 4
  |     ^ expected a variable name
";
    assert_eq!(out.stderr, expected);
}

#[test]
fn runtime_error_in_a_function_has_location_caret_and_traceback() {
    let out = run_src(
        b"action ratio(a, b) {\n  return a / b\n}\naction avg(xs) {\n  return ratio(10, len(xs))\n}\nprint(avg([1]))\nprint(avg([]))\n",
        &[],
    );
    assert_eq!(out.code, Some(1));
    assert_eq!(out.stdout, "10.0\n", "output printed before the error is kept");
    let expected = "\
error: division by zero
 --> prog.zx:2:12
  |
2 |   return a / b
  |            ^
  in avg, called at prog.zx:8:10
  in ratio, called at prog.zx:5:15
";
    assert_eq!(out.stderr, expected);
}

#[test]
fn endless_recursion_is_a_stack_overflow_error_not_a_crash() {
    let out = run_src(b"action f(n) { return f(n + 1) }\nf(0)\n", &[]);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(out.stderr.starts_with("error: stack overflow"), "{}", out.stderr);
    assert!(out.stderr.contains("more frames"), "long tracebacks are elided: {}", out.stderr);
    assert!(!out.stderr.contains("panicked"));
}

#[test]
fn recursion_depth_limit_is_exactly_max_depth() {
    let prog = b"action down(n) { if (n == 0) { return 0 } return down(n - 1) }\nprint(down(9999))\n";
    let ok = run_src(prog, &[]);
    assert_eq!(ok.stdout, "0\n", "{}", ok.stderr);
    let too_deep =
        run_src(b"action down(n) { if (n == 0) { return 0 } return down(n - 1) }\nprint(down(10000))\n", &[]);
    assert!(too_deep.stderr.contains("stack overflow"), "{}", too_deep.stderr);
    let lowered = run_src(prog, &["--max-depth", "100"]);
    assert!(lowered.stderr.contains("stack overflow"), "{}", lowered.stderr);
}

#[test]
fn missing_file_is_one_line_and_exit_1() {
    let out = run_bin(&["run", "no/such/file.zx"], Path::new("."), Duration::from_secs(10));
    assert_eq!(out.code, Some(1));
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.contains("no/such/file.zx"));
}

#[test]
fn directory_invalid_utf8_and_empty_files() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = run_bin(&["run", "."], dir.path(), Duration::from_secs(10));
    assert_eq!(out.code, Some(1));
    assert!(out.stderr.contains("is a directory"), "{}", out.stderr);

    let bad = run_src(b"print(1)\n\xff\xfe\n", &[]);
    assert_eq!(bad.code, Some(1));
    assert!(bad.stderr.contains("not valid UTF-8"), "{}", bad.stderr);

    let empty = run_src(b"", &[]);
    assert_eq!((empty.code, empty.stdout.as_str(), empty.stderr.as_str()), (Some(0), "", ""));
}

#[test]
fn bad_arguments_exit_2() {
    let out = run_bin(&["run", "--no-such-flag", "x.zx"], Path::new("."), Duration::from_secs(10));
    assert_eq!(out.code, Some(2));
    let out = run_bin(&["run", "-O7", "x.zx"], Path::new("."), Duration::from_secs(10));
    assert_eq!(out.code, Some(2));
    let out = run_bin(&["run", "--passes", "fold,nope", "x.zx"], Path::new("."), Duration::from_secs(10));
    assert_eq!(out.code, Some(2));
    assert!(out.stderr.contains("unknown pass"), "{}", out.stderr);
}

#[test]
fn max_steps_stops_an_endless_loop() {
    let out = run_src(b"let i = 0\nwhile (true) { i = i + 1 }\n", &["--max-steps", "100000"]);
    assert_eq!(out.code, Some(1));
    assert!(out.stderr.contains("step limit exceeded"), "{}", out.stderr);
}

#[test]
fn closed_stdout_is_not_an_error() {
    use std::io::Read;
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("p.zx"), "let i = 0\nwhile (i < 200000) { print(i); i = i + 1 }\n").expect("write");
    let mut child = Command::new(common::bin())
        .args(["run", "p.zx"])
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut first = [0u8; 16];
    let mut stdout = child.stdout.take().expect("stdout");
    stdout.read_exact(&mut first).expect("some output");
    drop(stdout);
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(0), "a broken pipe ends the run quietly");
}
