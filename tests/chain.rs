//! Blockchain primitives end to end: `--state` files (atomic saves, corrupt files), rollback
//! of nested transactions on errors, and the end-of-program warning.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::run_bin;
use zexus_tui::cli::state_file;
use zexus_tui::engine::{Options, Session};
use zexus_tui::vm::chain::Data;
use zexus_tui::vm::interp::Halt;

fn run_program(src: &str) -> (Session, Halt) {
    let mut session = match Session::builder(src).options(&Options::default()).output(Box::new(Vec::new())).build() {
        Ok(s) => s,
        Err(d) => panic!("program must compile: {d:?}"),
    };
    let halt = session.run_to_end();
    (session, halt)
}

#[test]
fn failure_inside_nested_transaction_restores_state_before_outer_begin() {
    let (session, halt) = run_program(
        r#"
        STATE["a"] = 1;
        STATE["keep"] = "x";
        action inner() {
          TX_BEGIN();
          STATE["a"] = 3;
          STATE["new"] = true;
          STATE["b"] = 1 / 0;
        }
        TX_BEGIN();
        STATE["a"] = 2;
        TX_BEGIN();
        STATE["c"] = [1, 2];
        TX_COMMIT();
        inner();
        "#,
    );
    assert!(matches!(halt, Halt::Error(ref e) if e.message.contains("division by zero")), "{halt:?}");
    let expected: BTreeMap<String, Data> =
        [("a".to_string(), Data::Int(1)), ("keep".to_string(), Data::Str("x".into()))].into_iter().collect();
    assert_eq!(session.vm.ledger.committed(), &expected);
    assert_eq!(session.vm.ledger.depth(), 0);
}

#[test]
fn failed_verify_reverts_and_committed_state_is_as_before() {
    let (session, halt) = run_program(
        r#"
        STATE["balance"] = 50;
        TX_BEGIN();
        STATE["balance"] = STATE["balance"] - 100;
        VERIFY(STATE["balance"] >= 0, "insufficient funds");
        TX_COMMIT();
        "#,
    );
    assert!(matches!(halt, Halt::Error(ref e) if e.message == "VERIFY failed: insufficient funds"));
    assert_eq!(session.vm.ledger.committed().get("balance"), Some(&Data::Int(50)));
}

#[test]
fn open_transactions_at_end_are_reverted_with_a_warning() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("open.zx");
    std::fs::write(&file, "STATE[\"k\"] = 1;\nTX_BEGIN();\nSTATE[\"k\"] = 2;\nprint(STATE[\"k\"]);\n").expect("write");
    let out = run_bin(&["run", "open.zx"], dir.path(), Duration::from_secs(20));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout, "2\n");
    assert!(out.stderr.contains("warning: 1 open transaction(s) reverted at end of program"), "{}", out.stderr);
}

#[test]
fn state_file_round_trips_and_keeps_floats_as_floats() {
    let dir = tempfile::tempdir().expect("temp dir");
    let prog = dir.path().join("p.zx");
    std::fs::write(&prog, "let n = STATE[\"n\"];\nif (n == null) { n = 0; }\nSTATE[\"n\"] = n + 1;\nSTATE[\"f\"] = 2.0;\nprint(STATE[\"n\"], typeof(STATE[\"f\"]));\n")
        .expect("write");
    for expected in ["1 float\n", "2 float\n", "3 float\n"] {
        let out = run_bin(&["run", "--state", "s.json", "p.zx"], dir.path(), Duration::from_secs(20));
        assert_eq!(out.code, Some(0), "{}", out.stderr);
        assert_eq!(out.stdout, expected);
    }
    let saved = std::fs::read_to_string(dir.path().join("s.json")).expect("state saved");
    assert!(saved.contains("\"f\": 2.0"), "{saved}");
    assert!(saved.contains("\"n\": 3"), "{saved}");
}

#[test]
fn interrupted_save_leaves_the_old_file_intact() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("state.json");
    let old = "{\n  \"balance\": 1000\n}\n";
    std::fs::write(&path, old).expect("write old state");
    let new_state: BTreeMap<String, Data> =
        [("balance".to_string(), Data::Int(900)), ("owner".to_string(), Data::Str("alice".repeat(1000)))]
            .into_iter()
            .collect();
    let res = state_file::save_with(&path, &new_state, |file, bytes| {
        use std::io::Write;
        file.write_all(&bytes[..bytes.len() / 2])?;
        Err(std::io::Error::other("simulated crash half-way through the write"))
    });
    let err = res.expect_err("the save must fail");
    assert!(err.contains("simulated crash"), "{err}");
    assert_eq!(std::fs::read_to_string(&path).expect("old file readable"), old);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .expect("list dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name() != "state.json")
        .collect();
    assert!(leftovers.is_empty(), "temporary files left behind: {leftovers:?}");
    // A save that completes replaces the file.
    state_file::save(&path, &new_state).expect("save");
    assert!(std::fs::read_to_string(&path).expect("new file").contains("\"balance\": 900"));
}

#[test]
fn corrupt_state_file_is_an_error_and_is_left_untouched() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("p.zx"), "STATE[\"x\"] = 1;\nprint(\"ran\");\n").expect("write");
    for corrupt in ["{\"balance\": ", "[1, 2, 3]", "\u{0}\u{1}garbage", "{\"n\": 18446744073709551615}"] {
        let path = dir.path().join("s.json");
        std::fs::write(&path, corrupt).expect("write corrupt");
        let out = run_bin(&["run", "--state", "s.json", "p.zx"], dir.path(), Duration::from_secs(20));
        assert_eq!(out.code, Some(1), "{corrupt:?}: {}", out.stderr);
        assert!(out.stderr.contains("state file s.json is corrupt"), "{}", out.stderr);
        assert_eq!(out.stdout, "", "the program must not run on a corrupt state file");
        assert_eq!(std::fs::read_to_string(&path).expect("still there"), corrupt);
    }
}

#[test]
fn unsavable_float_is_an_error_and_the_file_is_untouched() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("p.zx"), "STATE[\"x\"] = 10.0 ** 400;\n").expect("write");
    let old = "{\"x\": 1}";
    std::fs::write(dir.path().join("s.json"), old).expect("write state");
    let out = run_bin(&["run", "--state", "s.json", "p.zx"], dir.path(), Duration::from_secs(20));
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(out.stderr.contains("inf"), "{}", out.stderr);
    assert_eq!(std::fs::read_to_string(dir.path().join("s.json")).expect("state"), old);
}

#[test]
fn read_only_state_file_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("p.zx"), "print(1);\n").expect("write");
    let path = dir.path().join("s.json");
    std::fs::write(&path, "{}").expect("write state");
    let mut perms = std::fs::metadata(&path).expect("meta").permissions();
    perms.set_readonly(true);
    std::fs::set_permissions(&path, perms).expect("chmod");
    let out = run_bin(&["run", "--state", "s.json", "p.zx"], dir.path(), Duration::from_secs(20));
    assert_eq!(out.code, Some(1));
    assert!(out.stderr.contains("read-only"), "{}", out.stderr);
}
