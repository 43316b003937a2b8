//! A generator of contract programs (CONTRACTS.md) for the differential targets: a few
//! instances of one contract linked into call chains, external calls that fail at a random
//! depth (by `require`, `revert`, `throw` or a runtime error) and are caught at another depth
//! or not at all, internal calls caught inside the action, explicit transactions around calls
//! and inside actions, constructions inside reverted transactions, entities stored in
//! members, and events. Every program ends by printing every instance's storage, the STATE
//! keys the actions write and the event log, so a target that compares behaviour compares
//! storage, STATE and events after every rollback. Programs always compile.

use proptest::prelude::*;
use proptest::sample::select;

/// How the chosen failing depth fails.
const FAILS: &[&str] = &[
    "require(false, \"r\" + str(depth))",
    "revert(\"v\")",
    "throw {\"depth\": depth}",
    "hits = hits / 0",
    "require(depth < 0)",
];

/// The contract every program uses; `{fail}` is one of [`FAILS`].
const PRELUDE: &str = r#"entity Rec { a = 0, b = [] }
contract Node {
    state hits = 0
    state trail = []
    state peer = null
    state rec = Rec{}
    action link(p) { peer = p }
    action work(depth, fail_at, catch_at, tag) {
        hits += 1
        trail.push(tag + str(depth))
        STATE["w" + str(depth)] = tag
        emit Work(depth, tag)
        if depth == fail_at { {fail} }
        if peer == null || depth >= 6 { return hits }
        if depth == catch_at {
            try { return peer.work(depth + 1, fail_at, catch_at, tag) } catch (e) { emit Caught(depth); return -1 }
        }
        return peer.work(depth + 1, fail_at, catch_at, tag)
    }
    action helper(k) { hits += k; trail.push(k); if k > 3 { require(false, "too big") } return hits }
    action internal(k) { try { return helper(k) } catch (e) { return "caught inside" } }
    action tx_inside(k) {
        TX_BEGIN()
        hits += k
        if k % 2 == 0 { TX_COMMIT() } else { TX_REVERT() }
        return hits
    }
    action leak() { TX_BEGIN(); hits = 1000 }
    action keep(r) { rec = r; rec.b.push(len(trail)); return rec }
}
"#;

fn call() -> impl Strategy<Value = String> {
    (0usize..4, 1u8..8, 0u8..7, select(&["a", "b", "c"][..]))
        .prop_map(|(i, fail_at, catch_at, tag)| format!("nodes[{i}].work(1, {fail_at}, {catch_at}, \"{tag}\")"))
}

fn stmt() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        4 => call().prop_map(|c| format!("try {{ print({c}) }} catch (e) {{ print(\"caught\", e) }}")),
        1 => call().prop_map(|c| format!("print({c})")),
        2 => (0usize..4, 0i64..6).prop_map(|(i, k)| format!("print(nodes[{i}].internal({k}))")),
        1 => (0usize..4, 0i64..6).prop_map(|(i, k)| format!("print(nodes[{i}].tx_inside({k}))")),
        1 => (0usize..4).prop_map(|i| format!("try {{ nodes[{i}].leak() }} catch (e) {{ print(e) }}")),
        1 => (0usize..4, 0usize..4).prop_map(|(i, j)| format!("nodes[{i}].link(nodes[{j}])")),
        1 => (0usize..4, 0i64..9).prop_map(|(i, a)| format!("let r{a} = Rec{{a: {a}}}\nprint(nodes[{i}].keep(r{a}), r{a})")),
        1 => (0i64..9).prop_map(|k| format!("emit Top({k})")),
        1 => call().prop_map(|c| format!(
            "TX_BEGIN()\nlet tmp = Node()\ntmp.link(nodes[0])\ntry {{ {} }} catch (e) {{ print(\"tmp\", e) }}\nTX_REVERT()\n\
             try {{ tmp.helper(1) }} catch (e) {{ print(e) }}",
            c.replacen("nodes[0]", "tmp", 1).replacen("nodes[1]", "tmp", 1).replacen("nodes[2]", "tmp", 1).replacen("nodes[3]", "tmp", 1)
        )),
    ];
    leaf.prop_recursive(2, 12, 4, |inner| {
        (proptest::collection::vec(inner, 1..4), any::<bool>()).prop_map(|(body, commit)| {
            let end = if commit { "TX_COMMIT()" } else { "TX_REVERT()" };
            format!("TX_BEGIN()\n{}\n{end}", body.join("\n"))
        })
    })
}

/// A whole contract program.
pub fn program() -> impl Strategy<Value = String> {
    (select(FAILS), proptest::collection::vec((0usize..4, 0usize..4), 0..5), proptest::collection::vec(stmt(), 1..10))
        .prop_map(|(fail, links, stmts)| {
            let mut src = PRELUDE.replace("{fail}", fail);
            src.push_str("let nodes = [Node(), Node(), Node(), Node()]\n");
            for (i, j) in links {
                src.push_str(&format!("nodes[{i}].link(nodes[{j}])\n"));
            }
            for st in stmts {
                src.push_str(&st);
                src.push('\n');
            }
            src.push_str(
                "for each n in nodes { print(n, n.hits, n.trail, n.rec) }\n\
                 print(STATE[\"w1\"], STATE[\"w2\"], STATE[\"w3\"], STATE[\"w4\"], STATE[\"w5\"], STATE[\"w6\"])\n\
                 print(events())\n",
            );
            src
        })
}

#[cfg(test)]
mod tests {
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::TestRunner;

    use crate::common::inproc::behaviour;
    use zexus_tui::engine::Options;

    #[test]
    fn generated_contract_programs_compile_run_and_roll_back() {
        let mut runner = TestRunner::deterministic();
        let (mut finished, mut caught) = (0, 0);
        for _ in 0..60 {
            let src = super::program().new_tree(&mut runner).expect("a program").current();
            let b = behaviour(&src, &Options::default());
            if std::env::var("ZEXUS_FUZZ_DEBUG").is_ok() {
                eprintln!("{src}\n=> {b:?}\n");
            }
            assert!(!b.end.starts_with("syntax"), "{}\n{src}", b.end);
            assert!(!b.end.contains("internal error"), "{}\n{src}", b.end);
            finished += usize::from(b.end == "ok");
            caught += usize::from(b.output.contains("caught"));
        }
        assert!(finished >= 20, "only {finished} of 60 contract programs ran to the end");
        assert!(caught >= 20, "only {caught} of 60 contract programs caught a failed call");
    }
}
