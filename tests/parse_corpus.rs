//! The parser accepts every program of `../shared/conformance/` and `../shared/bench/` that is
//! not meant to fail at compile time, and reports a syntax error for those that are.
//! Programs of pending ranges (`tests/pending_ranges.txt`) are counted and printed as pending.

mod common;

use std::path::Path;

use common::{PendingTally, conformance_dir, pending_for, pending_ranges};
use zexus_tui::diag::render::render_all;
use zexus_tui::syntax::parser::parse;

/// The top-level `.zx` files of `dir` with their text, sorted by name.
fn programs(dir: &Path) -> Vec<(String, String)> {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
    let mut files: Vec<(String, String)> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "zx"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p.file_stem().unwrap_or_default().to_string_lossy().into_owned(), text)
        })
        .collect();
    files.sort();
    files
}

#[test]
fn corpus_and_benchmarks_parse() {
    let Some(corpus) = conformance_dir() else {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("../shared/conformance is missing, and CI=true requires it");
        }
        eprintln!("../shared/conformance not found; nothing checked");
        return;
    };
    let bench = corpus.join("../bench");
    let pending = pending_ranges();
    let mut tally = PendingTally::default();
    let mut checked = 0;
    for (dir, is_corpus) in [(corpus.as_path(), true), (bench.as_path(), false)] {
        if !dir.is_dir() {
            continue;
        }
        for (name, src) in programs(dir) {
            let (_, diags) = parse(&src);
            let expected_err = is_corpus
                .then(|| std::fs::read_to_string(dir.join(format!("{name}.err"))).ok())
                .flatten()
                .map(|e| e.trim_end().to_string());
            let ok = match &expected_err {
                // A program meant to fail may fail here or later; one whose expected error is a
                // syntax error must fail here.
                Some(err) if err.contains("syntax error") => !diags.is_empty(),
                Some(_) => true,
                None => diags.is_empty(),
            };
            if let Some(range) = is_corpus.then(|| pending_for(&name, &pending)).flatten() {
                if !ok {
                    tally.note(&name, range);
                }
                continue;
            }
            let rendered = render_all(&diags, &name, &src);
            assert!(ok, "{name} (expected error: {expected_err:?}):\n{rendered}");
            checked += 1;
        }
    }
    tally.report("parse_corpus");
    assert!(checked >= 80, "only {checked} programs checked");
}
