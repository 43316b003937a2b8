//! The debugger and the reports as a chain debugger user sees them (issue 15): the gas report
//! of `profile` and `stats`, the contract breaks of `snapshot --break-on`, and the contract
//! calls track of the Chrome trace, on samples/token.zx (a transfer that fails its `require`).

mod common;

use std::path::Path;
use std::time::Duration;

use common::run_bin;

const T: Duration = Duration::from_secs(60);

fn samples() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/samples"))
}

#[test]
fn profile_shows_gas_per_action_with_the_reverted_call() {
    let out = run_bin(&["profile", "token.zx"], samples(), T);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let report = out.stderr;
    let table = report.split("Gas per contract action").nth(1).expect("a gas report section");
    let rows: Vec<Vec<&str>> =
        table.lines().skip(2).take_while(|l| !l.trim().is_empty()).map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(rows[0], ["Token.transfer", "2", "1", "427", "190", "213", "237", "65"], "{table}");
    let names: Vec<&str> = rows.iter().map(|r| r[0]).collect();
    assert_eq!(names, ["Token.transfer", "Token.balance_of", "Token.mint", "Token.<new>"]);
    let out = run_bin(&["profile", "--json", "token.zx"], samples(), T);
    let json: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON report on stdout");
    assert_eq!(json["actions"][0]["action"], "Token.transfer");
    assert_eq!(json["actions"][0]["reverted"], 1);
    assert_eq!(json["actions"][2]["calls"], 1, "{}", json["actions"]);
}

#[test]
fn stats_has_the_same_gas_report_in_every_tier() {
    let mut reports = Vec::new();
    for tier in [&[][..], &["--no-jit"], &["--jit-threshold", "1"], &["-O0"]] {
        let mut args = vec!["stats", "--json"];
        args.extend_from_slice(tier);
        args.push("token.zx");
        let out = run_bin(&args, samples(), T);
        assert_eq!(out.code, Some(0), "{}", out.stderr);
        let json: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON stats");
        reports.push((tier, json["blockchain"]["actions"].clone()));
    }
    let first = &reports[0].1;
    assert_eq!(first[0]["action"], "Token.transfer");
    assert_eq!(first[0]["calls"], 2);
    assert_eq!(first[0]["reverted"], 1);
    for (tier, r) in &reports {
        // -O0 runs more instructions; calls and outcomes agree everywhere.
        let calls = |v: &serde_json::Value| {
            v.as_array().map(|a| {
                a.iter().map(|r| (r["action"].clone(), r["calls"].clone(), r["reverted"].clone())).collect::<Vec<_>>()
            })
        };
        assert_eq!(calls(r), calls(first), "tier {tier:?}");
    }
    let out = run_bin(&["stats", "token.zx"], samples(), T);
    assert!(out.stderr.contains("gas per contract action (external calls):"), "{}", out.stderr);
}

#[test]
fn snapshot_breaks_on_contract_events_and_their_filters() {
    let cases = [
        ("require-failed", "require failed: Requirement failed: insufficient balance in Token.transfer (line 15)"),
        ("require-failed:Token.transfer", "require failed: Requirement failed: insufficient balance"),
        ("event-emitted", "event emitted: Mint(\"alice\", 100) from Token#1 (line 11)"),
        ("event-emitted:Transfer", "event emitted: Transfer(\"alice\", \"bob\", 30) from Token#1 (line 17)"),
        ("action-reverted:transfer", "action call Token.transfer reverted"),
        ("require-failed:Token.mint", "finished"),
    ];
    for (spec, expected) in cases {
        let out = run_bin(&["snapshot", "--break-on", spec, "token.zx"], samples(), T);
        assert_eq!(out.code, Some(0), "{spec}: {}", out.stderr);
        let status = out.stdout.lines().find(|l| l.starts_with("status")).unwrap_or_default().to_string();
        assert!(status.contains(expected), "{spec}: {status}");
        let shown = spec.split_once(':').map_or(spec.to_string(), |(n, f)| format!("{n}:{f}"));
        assert!(out.stdout.contains(&format!("break on     {shown}")), "{spec}: {}", out.stdout);
    }
    // The stop at the failed require shows the write it is about to discard.
    let out = run_bin(&["snapshot", "--break-on", "require-failed", "token.zx"], samples(), T);
    assert!(
        out.stdout.contains(r#"Token#1.balances: {"alice": 70, "bob": 30} → {"alice": 70, "bob": -470, "carol": 500}"#)
    );
    assert!(
        out.stdout.contains("#1 Token.transfer line 15 pc 29 (2 operands, external call in tx 1)"),
        "{}",
        out.stdout
    );
    // An uncaught failure leaves its frames, marked reverted.
    let dir = tempfile::tempdir().expect("temp dir");
    let program = dir.path().join("v.zx");
    std::fs::write(&program, "contract V {\n state b = 1\n action w() { b = 2; require(false, \"x\") }\n}\nV().w()\n")
        .expect("write");
    let out = run_bin(&["snapshot", "v.zx"], dir.path(), T);
    assert!(out.stdout.contains("#1 V.w line 3 pc 5 (0 operands, reverted)"), "{}", out.stdout);
    assert!(out.stdout.contains("last rollback discarded\n  V#1.b: 1 → 2"), "{}", out.stdout);
    let out = run_bin(&["snapshot", "--break-on", "action-reverted", "token.zx"], samples(), T);
    assert!(
        out.stdout.contains(
            r#"discarded Token#1.balances: {"alice": 70, "bob": 30} → {"alice": 70, "bob": -470, "carol": 500}"#
        ),
        "{}",
        out.stdout
    );
    for bad in ["jit:Token", "require-failed:", "reverted"] {
        let out = run_bin(&["snapshot", "--break-on", bad, "token.zx"], samples(), T);
        assert_eq!(out.code, Some(2), "{bad}: {}", out.stderr);
    }
}

#[test]
fn the_chrome_trace_has_one_slice_per_action_call_with_its_outcome() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("t.json");
    let file_s = file.to_string_lossy().to_string();
    let out = run_bin(&["trace", "-o", &file_s, "token.zx"], samples(), T);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).expect("trace")).expect("JSON");
    let ends: Vec<(String, String, u64)> = doc["traceEvents"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["tid"] == 4 && e["ph"] == "E")
        .map(|e| {
            let a = &e["args"];
            (
                format!("{}.{}", a["contract"].as_str().unwrap_or(""), a["action"].as_str().unwrap_or("")),
                a["outcome"].as_str().unwrap_or("").to_string(),
                a["gas"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    let outcomes: Vec<(&str, &str)> = ends.iter().map(|(n, o, _)| (n.as_str(), o.as_str())).collect();
    assert_eq!(
        outcomes,
        [
            ("Token.<new>", "committed"),
            ("Token.mint", "committed"),
            ("Token.transfer", "committed"),
            ("Token.transfer", "reverted"),
            ("Token.balance_of", "committed"),
            ("Token.balance_of", "committed"),
            ("Token.balance_of", "committed"),
        ]
    );
    assert_eq!(ends[3].2, 190, "the reverted call's gas");
    let begins =
        doc["traceEvents"].as_array().map_or(0, |a| a.iter().filter(|e| e["tid"] == 4 && e["ph"] == "B").count());
    assert_eq!(begins, ends.len(), "every slice is closed");
}

/// The `action_call` / `action_end` events of a program, as `+name` and `-name outcome`.
fn action_events(src: &str, instructions: bool) -> Vec<String> {
    use std::cell::RefCell;
    use std::rc::Rc;
    use zexus_tui::engine::{Options, Session};
    use zexus_tui::trace::{EventSink, FakeClock, Listener, TraceEvent};

    #[derive(Default)]
    struct Seen(Vec<String>, bool);
    impl Listener for Seen {
        fn on_event(&mut self, _: u64, event: &TraceEvent<'_>) {
            match *event {
                TraceEvent::ActionCall { name, .. } => self.0.push(format!("+{name}")),
                TraceEvent::ActionEnd { name, outcome, .. } => self.0.push(format!("-{name} {}", outcome.name())),
                _ => {}
            }
        }
        fn wants_instructions(&self) -> bool {
            self.1
        }
    }
    let seen = Rc::new(RefCell::new(Seen(Vec::new(), instructions)));
    let sink = EventSink::new(Rc::new(FakeClock::new()));
    sink.attach(seen.clone());
    let options = Options { sink, ..Options::default() };
    let mut session = Session::builder(src).options(&options).output(Box::new(Vec::new())).build().expect("compiles");
    let _ = session.run_to_end();
    seen.borrow().0.clone()
}

#[test]
fn the_tracker_finds_external_calls_and_their_outcomes_at_every_depth() {
    // A calls B, B fails and A catches it: B reverted, A committed. A helper called internally
    // right after an explicit TX_BEGIN is not an external call. A construction with `init` is
    // one call. An uncaught failure reverts every open call, innermost first.
    let src = r#"
contract B {
    state n = 0
    action bad() { n = 1; require(false, "no") }
}
contract A {
    state b = null
    state notes = []
    action init(x) { this.b = x }
    action go() {
        try { b.bad() } catch (e) { notes.push("caught") }
        TX_BEGIN()
        helper()
        TX_COMMIT()
        return len(notes)
    }
    action helper() { notes.push("h") }
    action boom() { b.bad() }
}
let a = A(B())
a.go()
a.boom()
"#;
    let expected = [
        "+B.<new>",
        "-B.<new> committed",
        "+A.<new>",
        "-A.<new> committed",
        "+A.go",
        "+B.bad",
        "-B.bad reverted",
        "-A.go committed",
        "+A.boom",
        "+B.bad",
        "-B.bad reverted",
        "-A.boom reverted",
    ];
    assert_eq!(action_events(src, false), expected);
    assert_eq!(action_events(src, true), expected, "the same with one event per instruction");
}
