//! Property tests ("fuzzing" on stable Rust): the front end on arbitrary input, the state
//! loader on arbitrary JSON, and differential runs of generated programs across optimization
//! levels. The case count is small by default; set `ZEXUS_FUZZ_CASES` for a long run.

mod common;

use common::inproc::behaviour;
use common::programs;
use proptest::prelude::*;
use zexus_tui::compile::optimize::passes_for_level;
use zexus_tui::engine::Options;
use zexus_tui::vm::interp::VmConfig;

fn cases(default: u32) -> u32 {
    std::env::var("ZEXUS_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn options(level: u8) -> Options {
    Options {
        vm: VmConfig { max_steps: Some(200_000), max_alloc: 1 << 20, ..VmConfig::default() },
        passes: passes_for_level(level),
        ..Options::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(512), failure_persistence: None, ..ProptestConfig::default() })]

    /// The lexer, parser and renderer accept any text without panicking, and every
    /// diagnostic they produce renders.
    #[test]
    fn front_end_never_panics_on_arbitrary_text(src in ".{0,400}") {
        let (_, diags) = zexus_tui::syntax::parse(&src);
        for d in &diags {
            let text = zexus_tui::diag::render::render(d, "fuzz.zx", &src);
            prop_assert!(text.contains("syntax error"));
        }
    }

    /// Token soup built from the language's own vocabulary reaches deeper parser states.
    #[test]
    fn front_end_never_panics_on_token_soup(parts in proptest::collection::vec(proptest::sample::select(&[
        "let", "x", "=", "(", ")", "{", "}", "[", "]", ",", ";", "\n", "if", "else", "elif", "while",
        "for", "each", "in", "action", "function", "return", "print", "1", "2.5", "\"s\"", "+", "-",
        "*", "/", "**", "==", "<", "and", "not", "?", ":", ".", "STATE", "TX_BEGIN", "HASH", "VERIFY",
        "break", "continue", "const", "//", "/*", "*/", "#",
    ][..]), 0..80)) {
        let src = parts.join(" ");
        let (_, diags) = zexus_tui::syntax::parse(&src);
        for d in &diags {
            let _ = zexus_tui::diag::render::render(d, "fuzz.zx", &src);
        }
        // Whatever parses must also compile and link without panicking.
        if diags.is_empty() {
            let _ = zexus_tui::engine::build(&src, &Options::default());
        }
    }

    /// The `--state` loader rejects or accepts any text without panicking.
    #[test]
    fn state_loader_never_panics(text in ".{0,200}") {
        let _ = zexus_tui::vm::chain::state_from_json_text(&text);
    }

    /// Generated programs behave identically at -O0, -O1 and -O2: same output, same error at the
    /// same place.
    #[test]
    fn optimizer_levels_agree_on_generated_programs(src in programs::program()) {
        let reference = behaviour(&src, &options(0));
        // Instruction counts differ between levels, so a run cut off by the step limit is not
        // comparable.
        prop_assume!(!reference.end.contains("step limit"));
        for level in [1, 2] {
            let other = behaviour(&src, &options(level));
            prop_assume!(!other.end.contains("step limit"));
            prop_assert_eq!(&reference, &other, "-O0 and -O{} differ on:\n{}", level, src);
        }
    }
}
