//! Layering checks for the observability code: `trace` and `vm` never read the clock or
//! touch files, and `trace` imports nothing above it (engine, cli, tui) nor its siblings
//! (compile, jit).

use std::path::Path;

fn sources(dir: &str) -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(dir);
    let mut files: Vec<(String, String)> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", root.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap_or_default();
            (p.display().to_string(), text)
        })
        .collect();
    files.sort();
    files
}

fn code_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().filter(|(_, l)| !l.trim_start().starts_with("//")).map(|(i, l)| (i + 1, l))
}

fn assert_absent(dir: &str, forbidden: &[&str]) {
    let files = sources(dir);
    assert!(!files.is_empty(), "no sources under src/{dir}");
    let mut hits = Vec::new();
    for (path, text) in &files {
        for (n, line) in code_lines(text) {
            for word in forbidden {
                if line.contains(word) {
                    hits.push(format!("{path}:{n}: `{word}` in: {}", line.trim()));
                }
            }
        }
    }
    assert!(hits.is_empty(), "layering violations:\n{}", hits.join("\n"));
}

#[test]
fn trace_reads_no_clock_and_no_files_and_imports_nothing_above_it() {
    assert_absent(
        "trace",
        &[
            "Instant",
            "SystemTime",
            "std::fs",
            "File::",
            "crate::engine",
            "crate::cli",
            "crate::tui",
            "crate::jit",
            "crate::compile",
        ],
    );
}

#[test]
fn vm_reads_no_clock_and_knows_no_listener() {
    assert_absent("vm", &["Instant", "SystemTime", "std::fs", "crate::trace", "crate::engine"]);
}
