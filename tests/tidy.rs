//! The tidy test: checks the "Architecture Invariant" lines of ARCHITECTURE.md against the
//! tree, and the hygiene of the tests themselves.
//!
//! `RULES` is the one table: each row names a phrase of an invariant line and how it is
//! checked (an import rule by module prefix, a forbidden token, where `unsafe` may appear, or
//! the test that checks a claim no text search can). Every invariant line must be claimed by
//! some row and every row's phrase must still be in the document, so the table and the
//! document cannot drift apart. A new invariant is one new row.
//!
//! Source rules look at code outside comments and outside a file's trailing `#[cfg(test)]`
//! module (unit tests may import what they test with); `unsafe` is looked for everywhere.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// How one invariant is checked.
enum Check {
    /// Code under any of `modules` (paths under `src/`, by prefix: `vm` is `vm.rs` and
    /// `vm/**`) never names `crate::X` for any `X` in `forbidden` (by path prefix).
    ImportsNot { modules: &'static [&'static str], forbidden: &'static [&'static str] },
    /// Code under `module` names only `crate::` paths starting with one of `allowed`.
    ImportsOnly { module: &'static str, allowed: &'static [&'static str] },
    /// Code under any of `modules` contains none of `tokens` (whole words).
    TokensNot { modules: &'static [&'static str], tokens: &'static [&'static str], what: &'static str },
    /// `unsafe` blocks, functions, impls and traits appear only in these files.
    UnsafeOnlyIn { files: &'static [&'static str] },
    /// `text` appears in some file under `under` (a compile-time assertion, say).
    Present { under: &'static str, text: &'static str },
    /// No text search can check it; this test does (the file must define `fn name`).
    Test { file: &'static str, name: &'static str },
    /// Not checked mechanically; the reason says how it is kept.
    Review { why: &'static str },
}

struct Rule {
    /// A phrase of the invariant line this row checks (whitespace-normalised).
    claim: &'static str,
    check: Check,
}

const NO_FILE_IO: &[&str] = &["std::fs", "fs::read", "fs::write", "File::open", "File::create", "OpenOptions"];
const NO_CLOCK: &[&str] = &["Instant", "SystemTime"];

const RULES: &[Rule] = &[
    Rule {
        claim: "`keys.rs` imports nothing from `tui`",
        check: Check::ImportsNot { modules: &["tui/keys"], forbidden: &["tui"] },
    },
    Rule {
        claim: "panes and overlays import `keys`, never `app`",
        check: Check::ImportsNot { modules: &["tui/panes"], forbidden: &["tui::app"] },
    },
    Rule {
        claim: "`syntax` knows nothing about bytecode, the VM or the terminal",
        check: Check::ImportsNot {
            modules: &["syntax"],
            forbidden: &["bytecode", "compile", "vm", "jit", "engine", "trace", "tui", "cli"],
        },
    },
    Rule {
        claim: "`syntax` knows nothing about bytecode, the VM or the terminal",
        check: Check::TokensNot { modules: &["syntax"], tokens: &["crossterm", "ratatui"], what: "a terminal crate" },
    },
    Rule {
        claim: "every AST the parser returns is at most `MAX_NESTING` (256) deep",
        check: Check::Test { file: "src/syntax/parser.rs", name: "depth_nested_parens" },
    },
    Rule {
        claim: "`bytecode` depends only on `syntax::span`, `syntax::limits` and `text`",
        check: Check::ImportsOnly {
            module: "bytecode",
            allowed: &["bytecode", "syntax::span", "syntax::limits", "text"],
        },
    },
    Rule {
        claim: "`compile` imports from `vm` only the pure operator functions of `vm::value`",
        check: Check::ImportsNot {
            modules: &["compile"],
            forbidden: &[
                "vm::interp",
                "vm::program",
                "vm::builtins",
                "vm::chain",
                "vm::hooks",
                "vm::regcode",
                "vm::Vm",
            ],
        },
    },
    Rule {
        claim: "`compile` imports from `vm` only the pure operator functions of `vm::value`",
        check: Check::ImportsNot { modules: &["compile"], forbidden: &["jit", "engine", "trace", "tui", "cli"] },
    },
    Rule {
        claim: "`vm` never imports `jit`, `engine`, `tui` or `cli`",
        check: Check::ImportsNot { modules: &["vm"], forbidden: &["jit", "engine", "tui", "cli", "trace"] },
    },
    Rule {
        claim: "`vm` never imports `jit`, `engine`, `tui` or `cli`, and performs no file I/O",
        check: Check::TokensNot { modules: &["vm"], tokens: NO_FILE_IO, what: "file I/O" },
    },
    Rule {
        claim: "the engine knows nothing about terminals and performs no file I/O",
        check: Check::ImportsNot { modules: &["engine"], forbidden: &["tui", "cli"] },
    },
    Rule {
        claim: "the engine knows nothing about terminals and performs no file I/O",
        check: Check::TokensNot {
            modules: &["engine"],
            tokens: &[
                "crossterm",
                "ratatui",
                "std::fs",
                "fs::read",
                "fs::write",
                "File::open",
                "File::create",
                "OpenOptions",
            ],
            what: "a terminal crate or file I/O",
        },
    },
    Rule {
        claim: "no I/O and no clock in the cache",
        check: Check::TokensNot {
            modules: &["compile/cache", "syntax/ast_hash.rs", "bytecode/verify.rs"],
            tokens: &[
                "std::fs",
                "fs::read",
                "fs::write",
                "File::open",
                "File::create",
                "OpenOptions",
                "Instant",
                "SystemTime",
            ],
            what: "I/O or a clock",
        },
    },
    Rule {
        claim: "a `try` whose body raises nothing runs three instructions beyond its body",
        check: Check::Test {
            file: "tests/errors_cost.rs",
            name: "a_try_that_raises_nothing_costs_three_instructions_per_entry",
        },
    },
    Rule {
        claim: "a cache hit yields exactly the chunk a fresh compile of the current source would",
        check: Check::Test { file: "tests/cache_reload.rs", name: "conformance_programs_survive_the_cache_unchanged" },
    },
    Rule {
        claim: "nothing read from disk runs without passing `verify`",
        check: Check::Test {
            file: "tests/cli_cache.rs",
            name: "well_formed_entries_with_bad_bytecode_fail_the_verifier",
        },
    },
    Rule { claim: "only `jit/exec.rs` contains `unsafe`", check: Check::UnsafeOnlyIn { files: &["jit/exec.rs"] } },
    Rule { claim: "the VM never imports the JIT", check: Check::ImportsNot { modules: &["vm"], forbidden: &["jit"] } },
    Rule {
        claim: "native code charges exactly the instructions and gas the interpreter would",
        check: Check::Test { file: "tests/jit_engine.rs", name: "counters_match_the_interpreter" },
    },
    Rule {
        claim: "`trace` reads no clock (the engine passes a `Clock`) and opens no files",
        check: Check::TokensNot {
            modules: &["trace"],
            tokens: &[
                "Instant",
                "SystemTime",
                "std::fs",
                "fs::read",
                "fs::write",
                "File::open",
                "File::create",
                "OpenOptions",
            ],
            what: "a clock or file I/O",
        },
    },
    Rule {
        claim: "it never imports `engine`, `compile`, `jit`, `tui` or `cli`",
        check: Check::ImportsNot { modules: &["trace"], forbidden: &["engine", "compile", "jit", "tui", "cli"] },
    },
    Rule {
        claim: "counting never forces single-stepping",
        check: Check::Test { file: "src/engine/counts.rs", name: "counts_are_exact_with_and_without_native_code" },
    },
    Rule {
        claim: "The VM's interrupt flag (event breakpoints) is checked only after a JIT compile",
        check: Check::Review { why: "a property of the dispatch loop's structure; see vm/interp.rs" },
    },
    Rule {
        claim: "the recorder does no file I/O",
        check: Check::TokensNot { modules: &["engine"], tokens: NO_FILE_IO, what: "file I/O" },
    },
    Rule {
        claim: "The pc map maps nothing unless the replayed optimizer reproduces",
        check: Check::Test { file: "src/compile/optimize/history.rs", name: "a_different_build_maps_nothing" },
    },
    Rule {
        claim: "a snapshot holds no `Rc` and no reference into the VM; it is `Send + Sync + Clone`",
        check: Check::Present { under: "src/engine", text: "fn plain<T: Send + Sync + Clone + 'static>()" },
    },
    Rule {
        claim: "the session lives only on the VM thread",
        check: Check::Review {
            why: "the worker thread owns the Session; Session is !Send (it holds Rc), so the compiler enforces it",
        },
    },
    Rule {
        claim: "every string from the program passes through `sanitize::clean`",
        check: Check::Test { file: "tests/tui_render.rs", name: "output_is_sanitized" },
    },
    Rule {
        claim: "the terminal is restored on every exit path",
        check: Check::Test { file: "tests/tui_tmux.rs", name: "ctrl_c_sigterm_and_sighup_restore_the_terminal" },
    },
    Rule {
        claim: "every TUI view has a headless twin fed by the same engine data",
        check: Check::Review {
            why: "a design rule for new panes; tests/tui_render.rs and tests/cli_dis.rs cover the existing twins",
        },
    },
    Rule {
        claim: "every target's input is a byte string",
        check: Check::Review { why: "the fuzz harness's target signature (tests/fuzz/harness.rs) takes &[u8]" },
    },
    Rule {
        claim: "the targets use only the crate's public API and never compare timings",
        check: Check::Review { why: "tests/fuzz is an integration test, so only the public API is reachable" },
    },
    // Rules the issue asks for beyond the lines above (stated in ARCHITECTURE.md's
    // cross-cutting section, "Layering of effects").
    Rule {
        claim: "`engine`, `vm`, `trace`, `compile`, `syntax` and `bytecode` perform no file I/O",
        check: Check::TokensNot {
            modules: &["engine", "vm", "trace", "compile", "syntax", "bytecode"],
            tokens: NO_FILE_IO,
            what: "file I/O",
        },
    },
    Rule {
        claim: "`trace`, `vm` and `compile` read no clock",
        check: Check::TokensNot { modules: &["trace", "vm", "compile"], tokens: NO_CLOCK, what: "a clock" },
    },
];

/// Known breaches of a rule, each with the reason and the work that removes it. A row that
/// no longer matches anything fails the test, so a fixed breach must be deleted here.
/// (rule claim, file under src/, text of the offending line, why)
const KNOWN_BREACHES: &[(&str, &str, &str, &str)] = &[];

/// Tests that read the conformance folder but may skip when it is missing, because they do
/// not check the corpus but only take extra inputs from it. (file under tests/, why)
const OPTIONAL_CORPUS_READERS: &[(&str, &str)] =
    &[("fuzz/seeds.rs", "the conformance programs only add fuzz seeds to samples/ and tests/fuzz/corpus")];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// One source file: its path under `src/` (with `/`), its code (comments blanked, the
/// trailing test module cut off) and its full text.
struct Source {
    rel: String,
    code: String,
    full: String,
}

/// Blanks `//` comments (keeping line breaks, so offsets keep their line numbers).
fn strip_comments(text: &str) -> String {
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) if !l[..i].contains('"') => &l[..i],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Cuts the code at the first `#[cfg(test)]` that opens an inline module (`mod tests {`;
/// house style puts it at the end of the file).
fn without_test_module(code: &str) -> &str {
    let lines: Vec<&str> = code.lines().collect();
    let mut offset = 0;
    for (i, l) in lines.iter().enumerate() {
        if l.trim() == "#[cfg(test)]"
            && lines.get(i + 1).is_some_and(|n| n.trim_start().starts_with("mod ") && n.trim_end().ends_with('{'))
        {
            return &code[..offset];
        }
        offset += l.len() + 1;
    }
    code
}

fn sources() -> Vec<Source> {
    let src = root().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files
        .into_iter()
        .map(|p| {
            let full = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()));
            let rel = p.strip_prefix(&src).unwrap_or(&p).to_string_lossy().replace('\\', "/");
            let stripped = strip_comments(&full);
            let code = without_test_module(&stripped).to_string();
            Source { rel, code, full }
        })
        .collect()
}

/// True if `rel` (a path under src/) belongs to `module` (`vm` is `vm.rs` and `vm/**`;
/// `jit/exec.rs` is that file).
fn in_module(rel: &str, module: &str) -> bool {
    rel == module || rel == format!("{module}.rs") || rel.strip_prefix(module).is_some_and(|rest| rest.starts_with('/'))
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset].matches('\n').count() + 1
}

fn line_text(text: &str, line: usize) -> &str {
    text.lines().nth(line - 1).unwrap_or("").trim()
}

/// Expands a use tree (`a::{b, c::{d}}`) into paths (`a::b`, `a::c::d`).
fn expand_tree(tree: &str) -> Vec<String> {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        return vec![tree.split_whitespace().next().unwrap_or("").trim_end_matches("::").to_string()];
    };
    let prefix = tree[..open].trim();
    let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .filter(|p| !p.trim().is_empty())
        .flat_map(expand_tree)
        .map(|p| if p == "self" { prefix.trim_end_matches("::").to_string() } else { format!("{prefix}{p}") })
        .collect()
}

/// Every `crate::` path the code names, with the line it starts on.
fn crate_paths(code: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        if at > 0 && code[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        let rest = &code[at + "crate::".len()..];
        let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':' || c == '{')).unwrap_or(rest.len());
        let tree = if rest[..end].contains('{') {
            // A group: take it to its closing brace.
            let mut depth = 0;
            let mut stop = rest.len();
            for (i, c) in rest.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            stop = i + 1;
                            break;
                        }
                    }
                    ';' if depth == 0 => {
                        stop = i;
                        break;
                    }
                    _ => {}
                }
            }
            &rest[..stop]
        } else {
            &rest[..end]
        };
        for path in expand_tree(tree) {
            out.push((line_of(code, at), path));
        }
    }
    out
}

/// True if `path` (after `crate::`) is `module` or inside it.
fn path_in(path: &str, module: &str) -> bool {
    path == module || path.strip_prefix(module).is_some_and(|rest| rest.starts_with("::"))
}

fn has_token(line: &str, token: &str) -> bool {
    let word = |c: char| c.is_alphanumeric() || c == '_';
    line.match_indices(token).any(|(i, _)| {
        let before = line[..i].chars().next_back();
        let after = line[i + token.len()..].chars().next();
        let glued_before = token.starts_with(word) && before.is_some_and(word);
        let glued_after = token.ends_with(word) && after.is_some_and(word);
        !glued_before && !glued_after
    })
}

fn is_unsafe_use(line: &str) -> bool {
    line.match_indices("unsafe").any(|(i, _)| {
        let before = line[..i].chars().next_back();
        let after = line[i + "unsafe".len()..].trim_start();
        !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '"')
            && ["{", "fn ", "impl", "extern", "trait"].iter().any(|k| after.starts_with(k))
    })
}

fn normalise(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The invariant statements of ARCHITECTURE.md, each with its line number.
fn invariants(doc: &str) -> Vec<(usize, String)> {
    let lines: Vec<&str> = doc.lines().collect();
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let t = l.trim_start();
        let Some(body) =
            t.strip_prefix("**Architecture Invariant:**").or_else(|| t.strip_prefix("Architecture Invariant:"))
        else {
            continue;
        };
        let mut text = body.to_string();
        for next in &lines[i + 1..] {
            let n = next.trim();
            if n.is_empty() || n.starts_with("**") || n.starts_with('#') || n.starts_with("Architecture Invariant:") {
                break;
            }
            text.push(' ');
            text.push_str(n);
        }
        out.push((i + 1, normalise(&text)));
    }
    out
}

/// Checks one rule; returns the breaches as `file:line: text` with the rule they break.
fn check_rule(rule: &Rule, sources: &[Source]) -> Vec<(String, usize, String)> {
    let mut hits = Vec::new();
    match &rule.check {
        Check::ImportsNot { modules, forbidden } => {
            for s in sources.iter().filter(|s| modules.iter().any(|m| in_module(&s.rel, m))) {
                for (line, path) in crate_paths(&s.code) {
                    if let Some(f) = forbidden.iter().find(|f| path_in(&path, &f.replace('/', "::"))) {
                        hits.push((s.rel.clone(), line, format!("imports `crate::{path}` (no `crate::{f}` here)")));
                    }
                }
            }
        }
        Check::ImportsOnly { module, allowed } => {
            for s in sources.iter().filter(|s| in_module(&s.rel, module)) {
                for (line, path) in crate_paths(&s.code) {
                    if !allowed.iter().any(|a| path_in(&path, a)) {
                        hits.push((s.rel.clone(), line, format!("imports `crate::{path}` (only {allowed:?} allowed)")));
                    }
                }
            }
        }
        Check::TokensNot { modules, tokens, what } => {
            for s in sources.iter().filter(|s| modules.iter().any(|m| in_module(&s.rel, m))) {
                for (i, l) in s.code.lines().enumerate() {
                    if let Some(t) = tokens.iter().find(|t| has_token(l, t)) {
                        hits.push((s.rel.clone(), i + 1, format!("`{t}` is {what}")));
                    }
                }
            }
        }
        Check::UnsafeOnlyIn { files } => {
            for s in sources.iter().filter(|s| !files.iter().any(|f| in_module(&s.rel, f))) {
                for (i, l) in strip_comments(&s.full).lines().enumerate() {
                    if is_unsafe_use(l) {
                        hits.push((s.rel.clone(), i + 1, "`unsafe` outside the JIT's code-buffer module".into()));
                    }
                }
            }
        }
        Check::Present { under, text } => {
            let mut files = Vec::new();
            rust_files(&root().join(under), &mut files);
            if !files.iter().any(|p| std::fs::read_to_string(p).is_ok_and(|t| t.contains(text))) {
                hits.push((under.to_string(), 0, format!("no file contains `{text}`")));
            }
        }
        Check::Test { file, name } => {
            let text = std::fs::read_to_string(root().join(file)).unwrap_or_default();
            if !text.contains(&format!("fn {name}(")) {
                hits.push((file.to_string(), 0, format!("the test `{name}` that checks this is gone")));
            }
        }
        Check::Review { why } => {
            if why.trim().is_empty() {
                hits.push(("tests/tidy.rs".into(), 0, "a reviewed invariant needs the reason it holds".into()));
            }
        }
    }
    hits
}

#[test]
fn architecture_invariants_hold() {
    let doc = std::fs::read_to_string(root().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let stated = invariants(&doc);
    assert!(stated.len() >= 10, "found only {} invariant lines in ARCHITECTURE.md", stated.len());
    let sources = sources();
    assert!(sources.len() > 20, "only {} source files found", sources.len());
    let mut failures = Vec::new();
    for (line, text) in &stated {
        if !RULES.iter().any(|r| text.contains(&normalise(r.claim))) {
            failures
                .push(format!("ARCHITECTURE.md:{line}: no row of tests/tidy.rs RULES checks this invariant: {text}"));
        }
    }
    let mut breaches_used = BTreeSet::new();
    for rule in RULES {
        if !stated.iter().any(|(_, t)| t.contains(&normalise(rule.claim))) {
            failures.push(format!(
                "tests/tidy.rs: the rule for \"{}\" checks a claim ARCHITECTURE.md no longer makes",
                rule.claim
            ));
            continue;
        }
        for (file, line, what) in check_rule(rule, &sources) {
            let text = sources.iter().find(|s| s.rel == file).map(|s| line_text(&s.full, line)).unwrap_or("");
            let known = KNOWN_BREACHES
                .iter()
                .position(|(claim, f, t, _)| *claim == rule.claim && *f == file && text.contains(t));
            if let Some(k) = known {
                breaches_used.insert(k);
                continue;
            }
            let place = if line == 0 { file.clone() } else { format!("src/{file}:{line}") };
            failures.push(format!("{place}: {what}: `{text}`\n    breaks the invariant \"{}\"", rule.claim));
        }
    }
    for (i, (claim, file, text, _)) in KNOWN_BREACHES.iter().enumerate() {
        if !breaches_used.contains(&i) {
            failures.push(format!(
                "tests/tidy.rs KNOWN_BREACHES: src/{file} no longer breaks \"{claim}\" with `{text}`; delete the row"
            ));
        }
    }
    assert!(failures.is_empty(), "{} architecture problem(s):\n{}", failures.len(), failures.join("\n"));
}

/// Every `.rs` file under tests/ (and src/, whose unit tests live there), with its path.
fn test_and_source_files() -> Vec<(String, String)> {
    let mut files = Vec::new();
    rust_files(&root().join("tests"), &mut files);
    rust_files(&root().join("src"), &mut files);
    files
        .into_iter()
        .map(|p| {
            let rel = p.strip_prefix(root()).unwrap_or(&p).to_string_lossy().replace('\\', "/");
            (rel, std::fs::read_to_string(&p).unwrap_or_default())
        })
        .collect()
}

#[test]
fn tests_use_no_absolute_paths() {
    // Built at run time so that this file does not match itself.
    let roots: Vec<String> = ["work", "home", "Users", "root"].iter().map(|r| format!("\"/{r}/")).collect();
    let mut hits = Vec::new();
    for (rel, text) in test_and_source_files() {
        for (i, l) in text.lines().enumerate() {
            if let Some(r) = roots.iter().find(|r| l.contains(r.as_str())) {
                hits.push(format!("{rel}:{}: absolute path {r}...: `{}`", i + 1, l.trim()));
            }
        }
    }
    assert!(hits.is_empty(), "tests must find their files from CARGO_MANIFEST_DIR:\n{}", hits.join("\n"));
}

/// The function (by brace matching) that encloses byte `at`, as a slice of `text`.
fn enclosing_fn(text: &str, at: usize) -> &str {
    let start = text[..at].rfind("fn ").unwrap_or(0);
    let mut depth = 0;
    let mut opened = false;
    for (i, c) in text[start..].char_indices() {
        match c {
            '{' => {
                depth += 1;
                opened = true;
            }
            '}' => {
                depth -= 1;
                if opened && depth == 0 {
                    return &text[start..start + i + 1];
                }
            }
            _ => {}
        }
    }
    &text[start..]
}

#[test]
fn conformance_readers_cannot_pass_having_checked_nothing() {
    let mut problems = Vec::new();
    let mut readers = 0;
    for (rel, text) in test_and_source_files() {
        if rel == "tests/tidy.rs" || rel == "tests/common/mod.rs" {
            continue;
        }
        let text = strip_comments(&text);
        let optional = OPTIONAL_CORPUS_READERS.iter().any(|(f, _)| rel == format!("tests/{f}"));
        let mut seen = BTreeSet::new();
        for needle in ["conformance_dir()", "shared/conformance\"", "join(\"conformance\")"] {
            for (at, _) in text.match_indices(needle) {
                let body = enclosing_fn(&text, at);
                if !seen.insert(body.as_ptr() as usize) {
                    continue;
                }
                readers += 1;
                let skips = body.contains("return") || body.contains("else {") || body.contains("Err(_) =>");
                let ci = body.contains("\"CI\"") && body.contains("panic!");
                if skips && !ci && !optional {
                    let line = line_of(&text, at);
                    problems.push(format!(
                        "{rel}:{line}: reads the conformance folder and can skip without a CI=true panic \
                         (do it the way tests/golden.rs `conformance_corpus` does)"
                    ));
                }
            }
        }
    }
    assert!(readers >= 3, "found only {readers} conformance readers; has the folder's helper moved?");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
