//! Every sample in samples/ runs, so none can go stale. The samples that demonstrate a runtime
//! error must fail with a located error; all others must succeed and print something.

mod common;

use std::path::Path;
use std::time::Duration;

#[test]
fn every_sample_runs() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("samples/ exists")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".zx"))
        .collect();
    names.sort();
    assert!(names.len() >= 6, "expected at least 6 samples, found {names:?}");
    for name in names {
        // spin.zx runs for minutes by design (for the debugger): cap it and expect the cap.
        if name == "spin.zx" {
            let out = common::run_bin(&["run", "--max-steps", "5000000", &name], &dir, Duration::from_secs(60));
            assert_eq!(out.code, Some(1), "{name}: {}", out.stderr);
            assert!(out.stderr.contains("step limit exceeded"), "{name}: {}", out.stderr);
            continue;
        }
        let out = common::run_bin(&["run", &name], &dir, Duration::from_secs(60));
        // The TUI's demo ends with a runtime error on purpose, to show one in place.
        if name.contains("error") || name == "demo.zx" {
            assert_eq!(out.code, Some(1), "{name}: {}", out.stderr);
            assert!(out.stderr.contains(&format!("--> {name}:")), "{name}: {}", out.stderr);
        } else {
            assert_eq!(out.code, Some(0), "{name}: {}", out.stderr);
            assert!(!out.stdout.is_empty(), "{name} printed nothing");
        }
    }
}
