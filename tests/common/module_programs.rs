//! A generator of multi-file programs (MODULES.md) for the differential tests: a main file and
//! one to four modules with a small acyclic import graph (module `i` may import modules
//! `j > i`, by use-all, alias or named import), exported values and functions that use what
//! they import, private state changed through exported functions, top-level prints that show
//! the run order, and a main file that calls across files.
//!
//! A program is one string: the main file, then each module after a line `//@file NAME`, so a
//! failing case is one replayable file. [`split`] reads it back.

#![allow(dead_code)]

use proptest::prelude::*;

/// The marker line that starts each module's text.
pub const FILE_MARK: &str = "//@file ";

/// How a file imports one module.
#[derive(Debug, Clone, Copy)]
pub enum Form {
    All,
    Alias,
    Named,
}

fn form() -> impl Strategy<Value = Form> {
    prop_oneof![Just(Form::All), Just(Form::Alias), Just(Form::Named)]
}

/// A small integer expression over `x` and the names in `refs`.
fn expr(refs: Vec<String>) -> impl Strategy<Value = String> {
    let mut leaves: Vec<BoxedStrategy<String>> =
        vec![(0i64..10).prop_map(|n| n.to_string()).boxed(), Just("x".to_string()).boxed()];
    if !refs.is_empty() {
        leaves.push(proptest::sample::select(refs).boxed());
    }
    let leaf = proptest::strategy::Union::new(leaves);
    leaf.prop_recursive(3, 12, 2, |inner| {
        // Mostly safe divisions (the divisor is at least 1), sometimes a raw one, so that
        // errors out of a module's function are compared too.
        let op = prop_oneof![4 => Just("+"), 4 => Just("-"), 3 => Just("*"), 2 => Just("/1"), 2 => Just("%1"), 1 => Just("/")];
        (inner.clone(), op, inner).prop_map(|(a, op, b)| match op {
            "/1" => format!("({a} / ({b} * {b} + 1))"),
            "%1" => format!("({a} % ({b} * {b} + 1))"),
            _ => format!("({a} {op} {b})"),
        })
    })
}

/// The name module `j` is reached by in a file that imported it with `form`.
fn reach(j: usize, form: Form, name: &str) -> String {
    match form {
        Form::Alias => format!("a{j}.{name}{j}"),
        Form::All | Form::Named => format!("{name}{j}"),
    }
}

fn use_line(j: usize, form: Form) -> String {
    match form {
        Form::All => format!("use \"./m{j}.zx\"\n"),
        Form::Alias => format!("use \"./m{j}.zx\" as a{j}\n"),
        Form::Named => format!("use {{ v{j}, f{j}, g{j} }} from \"./m{j}.zx\"\n"),
    }
}

/// Module `i` of `n`, importing `deps` (each `(j, form)` with `j > i`).
fn module(i: usize, deps: Vec<(usize, Form)>) -> impl Strategy<Value = String> {
    let refs: Vec<String> =
        deps.iter().flat_map(|&(j, f)| [reach(j, f, "v"), format!("{}(x)", reach(j, f, "f"))]).collect();
    (expr(Vec::new()), expr(refs), any::<bool>()).prop_map(move |(init, body, print_first)| {
        let mut s = String::new();
        if print_first {
            s.push_str(&format!("print(\"m{i} starts\")\n"));
        }
        for &(j, f) in &deps {
            s.push_str(&use_line(j, f));
        }
        s.push_str(&format!("let hidden{i} = {i}\n"));
        // There is no `x` at the top level: the module's private variable stands in.
        s.push_str(&format!("export let v{i} = {}\n", init.replace('x', &format!("hidden{i}"))));
        s.push_str(&format!("export action f{i}(x) {{ return {body} }}\n"));
        s.push_str(&format!("export action g{i}() {{ hidden{i} = hidden{i} + 1\n  return hidden{i} }}\n"));
        s.push_str(&format!("print(\"m{i} ends\", v{i})\n"));
        s
    })
}

/// One call the main file makes, as a statement.
fn call(j: usize, form: Form) -> impl Strategy<Value = String> {
    (0i64..6, 0u8..5).prop_map(move |(k, what)| match what {
        0 => format!("print({}({k}))\n", reach(j, form, "f")),
        1 => format!("print({}())\n", reach(j, form, "g")),
        2 => format!("print({})\n", reach(j, form, "v")),
        3 => format!(
            "let s{j}_{k} = 0\nfor each i in range({k} * 40) {{ s{j}_{k} = s{j}_{k} + {}(i) % 7 }}\nprint(s{j}_{k})\n",
            reach(j, form, "f")
        ),
        _ => match form {
            Form::Alias => format!("print(typeof(a{j}), a{j}, a{j} == a{j})\n"),
            _ => format!("print(typeof({}))\n", reach(j, form, "f")),
        },
    })
}

/// A whole program (main file and modules) in the one-string form.
pub fn program() -> impl Strategy<Value = String> {
    (1usize..=4)
        .prop_flat_map(|n| {
            // deps[i]: which later modules module i imports, and how.
            let graph =
                (0..n).map(move |i| proptest::collection::vec((any::<bool>(), form()), n - i - 1)).collect::<Vec<_>>();
            let main_forms = proptest::collection::vec((any::<bool>(), form()), n);
            (graph, main_forms).prop_flat_map(move |(graph, main_forms)| {
                let deps: Vec<Vec<(usize, Form)>> = graph
                    .iter()
                    .enumerate()
                    .map(|(i, row)| {
                        row.iter().enumerate().filter(|(_, (on, _))| *on).map(|(k, (_, f))| (i + 1 + k, *f)).collect()
                    })
                    .collect();
                let mut used: Vec<(usize, Form)> =
                    main_forms.iter().enumerate().filter(|(_, (on, _))| *on).map(|(j, (_, f))| (j, *f)).collect();
                if used.is_empty() {
                    used.push((0, main_forms[0].1));
                }
                let modules: Vec<_> = deps.into_iter().enumerate().map(|(i, d)| module(i, d)).collect();
                let calls: Vec<_> = used.iter().map(|&(j, f)| proptest::collection::vec(call(j, f), 1..4)).collect();
                (modules, calls, Just(used))
            })
        })
        .prop_map(|(modules, calls, used)| {
            let mut main = String::from("print(\"main starts\", __MODULE__, is_main())\n");
            for (&(j, f), cs) in used.iter().zip(&calls) {
                main.push_str(&use_line(j, f));
                cs.iter().for_each(|c| main.push_str(c));
            }
            let mut out = main;
            for (i, m) in modules.iter().enumerate() {
                out.push_str(&format!("{FILE_MARK}m{i}.zx\n{m}"));
            }
            out
        })
}

/// The files of a program in the one-string form: `(name, text)`, the main file first.
pub fn split(input: &str) -> Vec<(String, String)> {
    let mut files = vec![("main.zx".to_string(), String::new())];
    for line in input.split_inclusive('\n') {
        match line.strip_prefix(FILE_MARK) {
            Some(name) => files.push((name.trim().to_string(), String::new())),
            None => files.last_mut().expect("main").1.push_str(line),
        }
    }
    files
}
