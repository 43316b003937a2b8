//! A generator of random, well-formed Zexus programs for property tests: integer and float
//! arithmetic with overflow edges, strings, lists, maps, branches, bounded loops, functions,
//! closures and variables whose type changes mid-loop, and the dialect of DIALECT.md (colon
//! blocks and inline suites, lambdas and arrows, defaults, `??`, `in`, two-variable loops,
//! `map`/`filter`/`reduce` with callbacks). Programs may fail at run time; the tests compare
//! behaviour, not success.

#![allow(dead_code)]

use proptest::prelude::*;

const VARS: &[&str] = &["a", "b", "c", "s", "xs"];

fn literal() -> impl Strategy<Value = String> {
    prop_oneof![
        (-20i64..20).prop_map(|i| i.to_string()),
        prop_oneof![
            Just("9223372036854775807".to_string()),
            Just("4611686018427387904".to_string()),
            Just("3037000499".to_string()),
            Just("1000000007".to_string()),
        ],
        (-100i32..100, 0u8..4).prop_map(|(i, f)| format!("{}.{}", i, f * 25)),
        prop_oneof![Just("\"ab\"".to_string()), Just("\"\"".to_string()), Just("\"x y\"".to_string())],
        prop_oneof![Just("true".to_string()), Just("false".to_string()), Just("null".to_string())],
        Just("[1, 2, 3]".to_string()),
        Just("{\"k\": 1}".to_string()),
        prop_oneof![Just("1e3".to_string()), Just("2.5e-3".to_string()), Just("[]".to_string())],
    ]
}

fn var() -> impl Strategy<Value = String> {
    proptest::sample::select(VARS).prop_map(str::to_string)
}

/// A random expression of bounded depth.
pub fn expr() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![3 => literal(), 4 => var()];
    leaf.prop_recursive(4, 24, 3, |inner| {
        prop_oneof![
            (
                inner.clone(),
                proptest::sample::select(
                    &["+", "-", "*", "/", "%", "**", "==", "!=", "<", "<=", ">", ">=", "&&", "||"][..]
                ),
                inner.clone()
            )
                .prop_map(|(l, op, r)| format!("({l} {op} {r})")),
            inner.clone().prop_map(|e| format!("(-{e})")),
            inner.clone().prop_map(|e| format!("(not {e})")),
            (inner.clone(), inner.clone(), inner.clone()).prop_map(|(c, t, f)| format!("({c} ? {t} : {f})")),
            (inner.clone(), inner.clone()).prop_map(|(l, i)| format!("{l}[{i}]")),
            inner.clone().prop_map(|e| format!("len({e})")),
            inner.clone().prop_map(|e| format!("str({e})")),
            inner.clone().prop_map(|e| format!("int({e})")),
            inner.clone().prop_map(|e| format!("typeof({e})")),
            inner.clone().prop_map(|e| format!("twice({e})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("[{a}, {b}]")),
            // DIALECT.md.
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} ?? {b})")),
            (inner.clone(), proptest::sample::select(&["[1, \"ab\", 3.5]", "\"ab x\"", "{\"k\": 1}", "xs"][..]))
                .prop_map(|(a, b)| format!("({a} in {b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("([{a}] + [{b}])")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("map([{a}, {b}], x => x + 1)")),
            inner.clone().prop_map(|e| format!("filter(xs, (x) => x != {e})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("reduce([{a}, {b}, 2], lambda p, q: p * q)")),
            inner.clone().prop_map(|e| format!("xs.map(string).reduce((p, q) => p + q, {e})")),
            inner.clone().prop_map(|e| format!("(lambda v: v * 2)({e})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("with_default({a}) + with_default({a}, {b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("max({a}, {b})")),
            inner.clone().prop_map(|e| format!("min([{e}, 1])")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("pow({a}, {b})")),
            inner.clone().prop_map(|e| format!("first([{e}]) ?? last(xs)")),
        ]
    })
}

/// Indents every line of `block` one level deeper (for a colon body), or gives an empty body
/// one statement.
fn indented(block: &str) -> String {
    if block.trim().is_empty() {
        return "    s = s".to_string();
    }
    block.lines().map(|l| format!("    {l}")).collect::<Vec<_>>().join("\n")
}

/// A random statement (may contain nested blocks and bounded loops).
pub fn stmt() -> impl Strategy<Value = String> {
    let simple = prop_oneof![
        (var(), expr()).prop_map(|(v, e)| format!("{v} = {e}")),
        (var(), expr()).prop_map(|(v, e)| format!("let {v} = {e}")),
        expr().prop_map(|e| format!("print({e})")),
        (var(), expr()).prop_map(|(v, e)| format!("{v} += {e}")),
        expr().prop_map(|e| format!("xs.push({e})")),
        (expr(), expr()).prop_map(|(i, e)| format!("xs[{i}] = {e}")),
    ];
    simple.prop_recursive(3, 16, 4, |inner| {
        let block = proptest::collection::vec(inner.clone(), 0..4).prop_map(|b| b.join("\n"));
        prop_oneof![
            (expr(), block.clone(), block.clone())
                .prop_map(|(c, t, f)| format!("if ({c}) {{\n{t}\n}} else {{\n{f}\n}}")),
            (
                1u8..30,
                block.clone(),
                proptest::sample::select(&["", "if (@K == 3) { continue }", "if (@K == 7) { break }"][..])
            )
                .prop_map(|(n, b, ctl)| format!("let @K = 0\nwhile (@K < {n}) {{\n@K = @K + 1\n{ctl}\n{b}\n}}")),
            (block.clone()).prop_map(|b| format!("for each item in [1, \"two\", 3.5] {{\nc = item\n{b}\n}}")),
            (block.clone())
                .prop_map(|b| format!("action local_fn(p) {{\nlet q = p\n{b}\nreturn q\n}}\nc = local_fn(a)")),
            // DIALECT.md: colon blocks (nested ones indent relative to their header), inline
            // suites, two-variable loops, colon functions with defaults.
            (expr(), block.clone(), block.clone()).prop_map(|(c, t, f)| format!(
                "if ({c}):\n{}\nelse:\n{}",
                indented(&t),
                indented(&f)
            )),
            (expr(), expr()).prop_map(|(c, e)| format!("if ({c}): s = s + str({e}); a = a\nelif a: print \"elif\"")),
            (block.clone()).prop_map(|b| format!(
                "for each key, val in {{\"p\": 1, \"q\": [2]}}:\n    c = key\n    print key, val ?? c\n{}",
                indented(&b)
            )),
            (1u8..20, block.clone()).prop_map(|(n, b)| format!(
                "let @K = 0\nwhile @K < {n}:\n    @K += 1\n    if @K == 5: continue\n{}",
                indented(&b)
            )),
            (block).prop_map(|b| format!(
                "action colon_fn(p, q = p ?? 1) -> int:\n    let r = q\n{}\n    return [p, r]\nc = colon_fn(a)",
                indented(&b)
            )),
        ]
    })
}

/// A whole program: a prelude defining every variable, then random statements, then a print
/// of every variable.
pub fn program() -> impl Strategy<Value = String> {
    proptest::collection::vec(stmt(), 1..12).prop_map(|stmts| {
        let mut src = String::from(
            "let a = 1\nlet b = 2.5\nlet c = \"c\"\nlet s = \"\"\nlet xs = [0]\naction twice(v) { return v + v }\n\
             action with_default(v, w = v) { return [v, w] }\n",
        );
        for st in stmts {
            src.push_str(&st);
            src.push('\n');
        }
        let mut src = number_loops(&src);
        src.push_str("print(a, b, c, s, xs)\n");
        src
    })
}

/// Gives every loop of a generated program its own counter, so nested loops terminate: each
/// `let @K = 0` opens counter `kN` (numbered in order), and the `@K`s after it name that one.
pub fn number_loops(src: &str) -> String {
    let mut numbered = String::with_capacity(src.len());
    let mut loop_no = 0;
    for (i, piece) in src.split("let @K = 0").enumerate() {
        if i > 0 {
            loop_no += 1;
            numbered.push_str(&format!("let k{loop_no} = 0"));
        }
        numbered.push_str(&piece.replace("@K", &format!("k{loop_no}")));
    }
    numbered
}
