//! A generator of well-formed Zexus programs that reach the whole VM: strings and their
//! methods, lists, maps, builtins, closures over locals, recursion, STATE with nested
//! transactions, HASH and VERIFY, constants, statements that raise every kind of runtime
//! error, and try/catch/finally around throw, require and revert raised a few frames deep and
//! around transactions the error rolls back (ERRORS.md). Expressions are typed (numbers, strings, lists, maps, conditions) so most programs
//! run a good while; a few statements mix types or fail on purpose. Programs always compile.

use proptest::prelude::*;
use proptest::sample::select;

type S = BoxedStrategy<String>;

fn pick(items: &'static [&'static str]) -> S {
    select(items).prop_map(str::to_string).boxed()
}

fn num_leaf() -> S {
    prop_oneof![
        6 => (-20i64..20).prop_map(|i| i.to_string()),
        1 => pick(&["9223372036854775807", "4611686018427387904", "3037000499", "-9223372036854775807"]),
        2 => (-100i32..100, 0u8..4).prop_map(|(i, f)| format!("{i}.{}", f * 25)),
        6 => pick(&["a", "b", "len(s)", "len(xs)", "len(m)", "counter(1)", "STATE[\"n\"]"]),
    ]
    .boxed()
}

fn str_leaf() -> S {
    pick(&["\"ab\"", "\"\"", "\"x y\"", "\"é\\n\\t\\\"q\\\"\"", "\"1\"", "\" 42 \"", "s", "s", "c", "typeof(xs)"])
}

/// Typed expressions: numbers, strings, lists, maps and conditions, built together.
struct Exprs {
    num: S,
    text: S,
    list: S,
    map: S,
    cond: S,
    any: S,
}

fn exprs(depth: u32) -> Exprs {
    if depth == 0 {
        let num = num_leaf();
        let text = str_leaf();
        let list = pick(&["xs", "[1, 2, 3]", "[]", "[\"b\", \"a\"]", "range(4)", "f(1)"]);
        let map = pick(&["m", "{\"k\": 1, n: [2], \"\": null}", "{}"]);
        let cond = pick(&["true", "false", "(a < 3)", "(len(xs) > 1)", "m.has(\"k\")", "s.contains(\"a\")"]);
        let any = prop_oneof![num.clone(), text.clone(), list.clone(), map.clone(), cond.clone(), pick(&["null", "f"])]
            .boxed();
        return Exprs { num, text, list, map, cond, any };
    }
    let e = exprs(depth - 1);
    let (n, t, l, m, c, any) = (e.num, e.text, e.list, e.map, e.cond, e.any);
    let num = prop_oneof![
        4 => n.clone(),
        4 => (n.clone(), pick(&["+", "-", "*", "+", "-"]), n.clone()).prop_map(|(x, op, y)| format!("({x} {op} {y})")),
        1 => (n.clone(), pick(&["/", "%"]), n.clone()).prop_map(|(x, op, y)| format!("({x} {op} (abs({y}) + 1))")),
        1 => (n.clone(), 0u8..5).prop_map(|(x, k)| format!("(({x}) % 5) ** {k}")),
        1 => n.clone().prop_map(|x| format!("(-{x})")),
        2 => (pick(&["abs", "int", "twice", "rec"]), n.clone()).prop_map(|(name, x)| match name.as_str() {
            "rec" => format!("rec(abs({x}) % 20)"),
            _ => format!("{name}({x})"),
        }),
        1 => l.clone().prop_map(|x| format!("len({x})")),
        1 => t.clone().prop_map(|x| format!("len({x})")),
        1 => (c.clone(), n.clone(), n.clone()).prop_map(|(k, x, y)| format!("({k} ? {x} : {y})")),
        1 => (n.clone(), n.clone()).prop_map(|(x, y)| format!("make_adder({x})({y})")),
        1 => n.clone().prop_map(|x| format!("(function(v) {{ return v * 2 }})({x})")),
        1 => n.clone().prop_map(|x| format!("sqrt(abs({x}))")),
    ]
    .boxed();
    let text = prop_oneof![
        3 => t.clone(),
        2 => (t.clone(), t.clone()).prop_map(|(x, y)| format!("({x} + {y})")),
        2 => any.clone().prop_map(|x| format!("str({x})")),
        1 => any.clone().prop_map(|x| format!("typeof({x})")),
        1 => any.clone().prop_map(|x| format!("HASH({x})")),
        2 => (t.clone(), pick(&["upper()", "lower()", "trim()", "replace(\"a\", \"bc\")"]))
            .prop_map(|(x, m)| format!("{x}.{m}")),
        1 => l.clone().prop_map(|x| format!("{x}.join(\",\")")),
        1 => (t.clone(), 0u8..4).prop_map(|(x, k)| format!("({x} * {k})")),
        1 => (c.clone(), t.clone(), t.clone()).prop_map(|(k, x, y)| format!("({k} ? {x} : {y})")),
    ]
    .boxed();
    let list = prop_oneof![
        3 => l.clone(),
        2 => (any.clone(), any.clone()).prop_map(|(x, y)| format!("[{x}, {y}]")),
        1 => (l.clone(), any.clone()).prop_map(|(x, y)| format!("push({x}, {y})")),
        1 => n.clone().prop_map(|x| format!("range(int(abs({x})) % 7)")),
        1 => (n.clone(), n.clone()).prop_map(|(x, y)| format!("sort([{x}, {y}, 3])")),
        1 => (l.clone(), n.clone(), n.clone()).prop_map(|(x, i, j)| format!("slice({x}, int({i}), int({j}))")),
        1 => t.clone().prop_map(|x| format!("{x}.split(\" \")")),
        1 => m.clone().prop_map(|x| format!("keys({x})")),
        1 => m.clone().prop_map(|x| format!("values({x})")),
        1 => any.clone().prop_map(|x| format!("f({x})")),
    ]
    .boxed();
    let map = prop_oneof![
        3 => m.clone(),
        2 => (any.clone(), any.clone()).prop_map(|(x, y)| format!("{{\"p\": {x}, q: {y}}}")),
    ]
    .boxed();
    let cond = prop_oneof![
        2 => c.clone(),
        3 => (n.clone(), pick(&["<", "<=", ">", ">=", "==", "!="]), n.clone())
            .prop_map(|(x, op, y)| format!("({x} {op} {y})")),
        1 => (t.clone(), pick(&["==", "!=", "<"]), t.clone()).prop_map(|(x, op, y)| format!("({x} {op} {y})")),
        1 => (any.clone(), any.clone()).prop_map(|(x, y)| format!("({x} == {y})")),
        1 => (c.clone(), pick(&["&&", "||", "and", "or"]), c.clone()).prop_map(|(x, op, y)| format!("({x} {op} {y})")),
        1 => c.clone().prop_map(|x| format!("(not {x})")),
        1 => (l.clone(), any.clone()).prop_map(|(x, y)| format!("{x}.contains({y})")),
        1 => (m.clone(), t.clone()).prop_map(|(x, y)| format!("{x}.has({y})")),
    ]
    .boxed();
    let any = prop_oneof![
        3 => num.clone(),
        2 => text.clone(),
        2 => list.clone(),
        1 => map.clone(),
        1 => cond.clone(),
        1 => (t, l).prop_map(|(k, x)| format!("m.get({k}) ?? {x}").replace(" ?? ", " == null ? [] : ")),
    ]
    .boxed();
    Exprs { num, text, list, map, cond, any }
}

/// Statements that change a variable without changing its type (mostly), print, or touch
/// STATE.
fn simple_stmt() -> S {
    let e = exprs(2);
    let data = prop_oneof![e.num.clone(), e.text.clone(), e.list.clone(), e.map.clone()].boxed();
    prop_oneof![
        3 => e.num.clone().prop_map(|x| format!("a = {x}")),
        1 => e.num.clone().prop_map(|x| format!("b = {x}")),
        2 => e.num.clone().prop_map(|x| format!("a += {x}")),
        2 => e.text.clone().prop_map(|x| format!("s = {x}")),
        1 => e.text.clone().prop_map(|x| format!("s += {x}")),
        1 => e.any.clone().prop_map(|x| format!("c = {x}")),
        1 => e.list.clone().prop_map(|x| format!("xs = {x}")),
        1 => e.map.clone().prop_map(|x| format!("m = {x}")),
        4 => e.any.clone().prop_map(|x| format!("print({x})")),
        1 => (e.any.clone(), e.num.clone()).prop_map(|(x, y)| format!("print({x}, {y})")),
        1 => e.any.clone().prop_map(|x| format!("print [{x}]")),
        2 => e.any.clone().prop_map(|x| format!("xs.push({x})")),
        1 => e.any.clone().prop_map(|x| format!("append(xs, {x})")),
        1 => Just("if (len(xs) > 0) { c = xs.pop() }".to_string()),
        1 => e.any.clone().prop_map(|x| format!("if (len(xs) > 0) {{ xs[len(xs) - 1] = {x} }}")),
        1 => (e.text.clone(), e.any.clone()).prop_map(|(k, x)| format!("m[{k}] = {x}")),
        1 => e.any.clone().prop_map(|x| format!("m.k = {x}")),
        2 => (pick(&["\"k1\"", "\"k2\"", "\"\"", "s"]), data).prop_map(|(k, x)| format!("STATE[{k}] = {x}")),
        1 => e.num.clone().prop_map(|x| format!("STATE[\"n\"] += {x}")),
        1 => (e.cond.clone(), e.text.clone()).prop_map(|(c, msg)| format!("VERIFY({c} || true, {msg})")),
        1 => (0u32..1_000_000, e.any.clone()).prop_map(|(n, x)| format!("const K{n} = {x}")),
        // ERRORS.md: raised a few frames deep, or here; caught when inside a `try` below.
        1 => (0u8..4).prop_map(|k| format!("a += thrower({k})")),
        1 => e.num.clone().prop_map(|x| format!("a = guarded({x})")),
        1 => prop_oneof![
            e.any.clone().prop_map(|x| format!("throw {x}")),
            e.text.clone().prop_map(|x| format!("revert({x})")),
            (e.cond.clone(), e.text.clone()).prop_map(|(c, m)| format!("require({c}, {m})")),
        ],
        // Type changes and failures on purpose (each ends the run, so they are rare).
        1 => prop_oneof![
            e.text.clone().prop_map(|x| format!("a = {x}")),
            (e.any.clone(), pick(&["+", "-", "*", "/", "<", "%"]), e.any.clone())
                .prop_map(|(x, op, y)| format!("print({x} {op} {y})")),
            pick(&[
                "print(1 / 0)", "print(nosuch)", "print(5(1))", "print(twice(1, 2))", "print([][3])",
                "print(int(\"x\"))", "print(9223372036854775807 + 1)", "print(rec(100000))", "print(range(1, 5, 0))",
                "STATE[1] = 2", "STATE[\"f\"] = f", "let cyc = [1]\ncyc.push(cyc)\nprint(cyc)", "VERIFY(false, \"no\")",
                "TX_COMMIT();", "TX_REVERT();", "TX_BEGIN();", "print(s.nosuch())", "for each q in 5 { print(q) }",
            ]),
        ],
    ]
    .boxed()
}

/// A random statement (may contain nested blocks, bounded loops and functions).
pub fn stmt() -> impl Strategy<Value = String> {
    simple_stmt().prop_recursive(3, 16, 4, |inner| {
        let block = proptest::collection::vec(inner.clone(), 0..4).prop_map(|b| b.join("\n"));
        let e = exprs(1);
        prop_oneof![
            (e.cond.clone(), block.clone(), e.cond.clone(), block.clone(), block.clone()).prop_map(|(c, t, c2, t2, f)| {
                format!("if ({c}) {{\n{t}\n}} elif ({c2}) {{\n{t2}\n}} else {{\n{f}\n}}")
            }),
            (1u8..20, block.clone(), select(&["", "if (@K == 3) { continue }", "if (@K == 7) { break }"][..]))
                .prop_map(|(n, b, ctl)| format!("let @K = 0\nwhile (@K < {n}) {{\n@K = @K + 1\n{ctl}\n{b}\n}}")),
            (prop_oneof![e.list.clone(), e.map.clone(), e.text.clone()], block.clone())
                .prop_map(|(x, b)| format!("for each item in {x} {{\nc = item\n{b}\n}}")),
            (block.clone(), e.num.clone()).prop_map(|(b, x)| {
                // A function whose local is captured and updated by a closure.
                format!(
                    "action local_fn(p) {{\nlet q = p\nlet h = function(z) {{ q = q + z\nreturn q }}\n{b}\nh({x})\nreturn q\n}}\nc = local_fn(a)"
                )
            }),
            (block.clone(), any::<bool>()).prop_map(|(b, commit)| {
                let end = if commit { "TX_COMMIT();" } else { "TX_REVERT();" };
                format!("TX_BEGIN();\n{b}\n{end}")
            }),
            // try/catch/finally, alone and around a transaction the error rolls back.
            (block.clone(), block.clone())
                .prop_map(|(b, h)| format!("try {{\n{b}\n}} catch (e) {{\nprint(\"caught\", typeof(e))\n{h}\n}}")),
            (block.clone(), block.clone(), block.clone()).prop_map(|(b, h, f)| {
                format!("try {{\n{b}\n}} catch (e) {{\nc = typeof(e)\n{h}\n}} finally {{\nprint(\"finally\", a)\n{f}\n}}")
            }),
            (block.clone(), 0u8..4).prop_map(|(b, k)| {
                format!(
                    "try {{\nTX_BEGIN();\nSTATE[\"n\"] += 1\n{b}\nprint(thrower({k}))\nTX_COMMIT();\n}} catch {{\nprint(\"rolled back\", STATE[\"n\"])\n}}"
                )
            }),
        ]
    })
}

/// A whole program: a prelude defining every variable and helper, random statements, then a
/// print of every variable and of STATE.
pub fn program() -> impl Strategy<Value = String> {
    proptest::collection::vec(stmt(), 1..12).prop_map(|stmts| {
        let mut src = String::from(
            "let a = 1\nlet b = 2.5\nlet c = \"c\"\nlet s = \"a b\"\nlet xs = [0, 1]\nlet m = {\"k\": 1}\n\
             let f = function(v) { return [v] }\n\
             action twice(v) { return v + v }\n\
             action rec(n) { if (n <= 0) { return 0 } return rec(n - 1) + 1 }\n\
             action thrower(n) { if (n <= 0) { throw \"thrown \" + str(n) } return thrower(n - 1) + 1 }\n\
             action guarded(v) { require(v < 5, \"big\")\nreturn v }\n\
             function make_adder(n) { return function(x) { return x + n } }\n\
             action make_counter() { let n = 0\nreturn function(d) { n = n + d\nreturn n } }\n\
             let counter = make_counter()\nSTATE[\"n\"] = 0\n",
        );
        for st in stmts {
            src.push_str(&st);
            src.push('\n');
        }
        let mut src = crate::common::programs::number_loops(&src);
        src.push_str(
            "print(a, b, c, s, xs, m, typeof(f))\nprint(STATE[\"k1\"], STATE[\"k2\"], STATE[\"n\"], HASH([a, s, xs]))\n",
        );
        src
    })
}
