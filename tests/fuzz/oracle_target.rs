//! `model_oracle`: generated programs run through the binary, as a user runs it, and through
//! the spec's executable model (`../shared/spec/model/zx_model.py`) must print the same bytes,
//! exit the same way and report the same kind of error on the same line (the first two
//! stderr lines: `error: MESSAGE` and `--> FILE:LINE:COL`, see [`message_kind`]). The model
//! knows neither gas nor `--max-steps`: a program that does not end within two million steps
//! here, or that the model cannot finish in its time limit, is counted, never compared.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use proptest::prelude::*;
use wait_timeout::ChildExt;

use crate::harness::count;

/// Where the model lives; the test fails (never passes vacuously) when it is missing.
pub fn model_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/spec/model/zx_model.py")
}

/// What one implementation did with a program.
#[derive(Debug, PartialEq, Eq)]
struct Ran {
    stdout: String,
    failed: bool,
    /// `error: ...` and ` --> file:line:col`, when it failed.
    error_head: Vec<String>,
}

fn run(cmd: &mut Command, limit: Duration) -> Result<Option<Ran>, String> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {cmd:?}: {e}"))?;
    let (stdout, stderr) = (child.stdout.take(), child.stderr.take());
    let read = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut text);
            }
            String::from_utf8_lossy(&text).into_owned()
        })
    };
    let (out, err) = (read(stdout.map(|p| Box::new(p) as _)), read(stderr.map(|p| Box::new(p) as _)));
    let Some(status) = child.wait_timeout(limit).map_err(|e| e.to_string())? else {
        let _ = child.kill();
        let _ = child.wait();
        return Ok(None);
    };
    let (stdout, stderr) = (out.join().unwrap_or_default(), err.join().unwrap_or_default());
    if status.code().is_none() {
        return Err(format!("{cmd:?} was killed by a signal:\n{stderr}"));
    }
    let failed = !status.success();
    let error_head = if failed {
        stderr
            .lines()
            .map(str::trim_start)
            .filter(|l| l.starts_with("error") || l.starts_with("--> "))
            .take(2)
            .map(message_kind)
            .collect()
    } else {
        Vec::new()
    };
    Ok(Some(Ran { stdout, failed, error_head }))
}

/// Where LANGUAGE.md §7 (with the families' tables) says messages begin; the wording after
/// that is the implementation's (the model says `got int` where BLOCKCHAIN.md says `got
/// integer`, `cannot compare list and string`, ...).
const MESSAGE_KINDS: &[&str] = &[
    "syntax error",
    "division by zero",
    "undefined variable",
    "not callable",
    "index out of range",
    "wrong number of arguments",
    "type error",
    "cannot assign to constant",
    "cannot convert",
    "integer overflow",
    "cyclic value",
    "stack overflow",
    "empty list",
    "uncaught exception",
    "Requirement failed",
    "Transaction reverted",
    "VERIFY failed",
    "STATE key must be a string",
    "cannot store",
    "TX_COMMIT without active transaction",
    "TX_REVERT without active transaction",
    "transaction nesting too deep",
    "out of memory",
    "step limit exceeded",
    "out of gas",
];

/// The part of a report line the spec fixes: the kind a message begins with (the whole
/// message if it is none of them), and a position's file and line (the column of an error
/// inside a statement differs: the model points at the statement, we at the operator, index
/// or name being evaluated, as LANGUAGE.md §7 asks).
fn message_kind(line: &str) -> String {
    if let Some(message) = line.strip_prefix("error: ") {
        let kind = MESSAGE_KINDS.iter().find(|k| message.starts_with(*k)).copied().unwrap_or(message);
        return format!("error: {kind}");
    }
    match line.rsplit_once(':') {
        Some((file_line, _col)) => file_line.to_string(),
        None => line.to_string(),
    }
}

/// The property: the binary and the model agree on `input`.
pub fn check_model_oracle(input: &[u8]) -> Result<(), String> {
    let src = String::from_utf8_lossy(input);
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    std::fs::write(dir.path().join("case.zx"), src.as_bytes()).map_err(|e| e.to_string())?;
    let ours = run(
        Command::new(env!("CARGO_BIN_EXE_zexus-tui"))
            .args(["run", "--max-steps", "2000000", "case.zx"])
            .current_dir(dir.path()),
        Duration::from_secs(20),
    )?
    .ok_or("zexus-tui did not finish in 20 s")?;
    if ours.stdout.contains("internal error") || ours.error_head.iter().any(|l| l.contains("internal error")) {
        return Err(format!("internal error: {ours:?}"));
    }
    if ours.error_head.first().is_some_and(|l| l.contains("step limit") || l.contains("too deep")) {
        // Limits the model does not model (LANGUAGE.md's call depth, --max-steps).
        count("limit (not compared)");
        return Ok(());
    }
    let Some(model) =
        run(Command::new("python3").arg(model_path()).arg("case.zx").current_dir(dir.path()), Duration::from_secs(30))?
    else {
        count("model too slow (not compared)");
        return Ok(());
    };
    if model.error_head.first().is_some_and(|l| l.contains("RecursionError") || l.contains("too deep")) {
        count("limit (not compared)");
        return Ok(());
    }
    // The model reports some errors (a cyclic value's display) without a position line; only
    // the message is compared then.
    let (mut ours, mut model) = (ours, model);
    let shown = ours.error_head.len().min(model.error_head.len()).max(1);
    ours.error_head.truncate(shown);
    model.error_head.truncate(shown);
    if ours != model {
        return Err(format!("zexus-tui and the spec's model differ\nours:  {ours:?}\nmodel: {model:?}"));
    }
    count(if ours.failed { "agreed on an error" } else { "agreed on output" });
    Ok(())
}

/// Programs for the oracle: the rich generator's (with try/catch, throw, require and
/// transactions) and the contract generator's (calls failing and caught at every depth,
/// storage, STATE and events printed after the rollbacks). Not the dialect generator's: it
/// declares colon-block functions inside loop bodies, which the model does not bind (a model
/// bug: LANGUAGE.md §5.4 binds a nested declaration when reached; the corpus and the spec's
/// examples agree with us).
pub fn oracle_inputs() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![2 => crate::rich::program(), 1 => crate::contracts_gen::program()].prop_map(String::into_bytes)
}
