//! The JIT's command-line surface: `--no-jit`, `--jit-threshold N` and `dis --jit`, run through
//! the built binary.

mod common;

use std::path::Path;
use std::time::Duration;

use common::run_bin;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn jit_flags_do_not_change_output() {
    for flags in [&["--no-jit"][..], &["--jit-threshold", "1"], &[]] {
        let mut args = vec!["run"];
        args.extend_from_slice(flags);
        args.push("samples/sum150.zx");
        let out = run_bin(&args, root(), Duration::from_secs(20));
        assert_eq!(out.code, Some(0), "{flags:?}: {}", out.stderr);
        assert_eq!(out.stdout, "11175\n", "{flags:?}");
    }
}

#[cfg(target_arch = "x86_64")]
#[test]
fn dis_jit_shows_bytecode_and_machine_code() {
    let out = run_bin(&["dis", "--jit", "samples/sum150.zx"], root(), Duration::from_secs(20));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let text = &out.stdout;
    assert!(text.contains("== loop 0 of <main> (pc "), "{text}");
    assert!(text.contains("compiled, "), "{text}");
    assert!(text.contains("BRANCH_LOCAL_IMM"), "the fused loop test is compiled: {text}");
    // Machine code disassembled by iced-x86: the loop test and the overflow guard.
    assert!(text.contains("jge "), "{text}");
    assert!(text.contains("jo "), "{text}");
    assert_eq!(text.matches("== loop ").count(), 1, "{text}");
}

/// Two runs of `dis --jit` print the same listing but for compile times: branch targets are
/// offsets into the loop's code, not the code buffer's address (which moves from run to run).
#[cfg(target_arch = "x86_64")]
#[test]
fn dis_jit_listings_diff_cleanly() {
    let listing = || {
        let out = run_bin(&["dis", "--jit", "samples/jit_states.zx"], root(), Duration::from_secs(30));
        assert_eq!(out.code, Some(0), "{}", out.stderr);
        out.stdout.lines().map(|l| l.split(", compile time").next().unwrap_or(l).to_string()).collect::<Vec<_>>()
    };
    let (first, second) = (listing(), listing());
    assert!(first.iter().any(|l| l.contains("jne ")), "{first:?}");
    assert_eq!(first, second);
    // Every branch target is an offset inside the code (a few kilobytes), not an address.
    for line in first.iter().filter(|l| l.contains(" j")) {
        if let Some(target) = line.rsplit(' ').next().and_then(|t| t.strip_suffix('h')) {
            if let Ok(at) = u64::from_str_radix(target, 16) {
                assert!(at < 0x10000, "branch target {at:#x} is an address: {line}");
            }
        }
    }
}

#[test]
fn dis_jit_without_the_jit_says_so() {
    let out = run_bin(&["dis", "--jit", "--no-jit", "samples/sum150.zx"], root(), Duration::from_secs(20));
    assert_eq!(out.code, Some(0));
    assert!(out.stdout.contains("switched off"), "{}", out.stdout);
}

#[test]
fn the_threshold_must_be_a_number() {
    let out = run_bin(&["run", "--jit-threshold", "many", "samples/sum150.zx"], root(), Duration::from_secs(20));
    assert_eq!(out.code, Some(2));
}
