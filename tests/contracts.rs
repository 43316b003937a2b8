//! CONTRACTS.md's tricky rules end to end, in process: copies at the contract boundary,
//! rollback of storage, STATE and the event log at every call depth, internal against external
//! calls (behaviour and gas), reverted creations, and calls returning with open transactions.

mod common;

use common::inproc::{Behaviour, behaviour};
use zexus_tui::engine::{Options, Session};
use zexus_tui::vm::interp::Halt;

fn run(src: &str) -> Behaviour {
    behaviour(src, &Options::default())
}

fn output(src: &str) -> String {
    let b = run(src);
    assert_eq!(b.end, "ok", "program failed; output so far:\n{}", b.output);
    b.output
}

/// Gas used by a program that must run to its end.
fn gas(src: &str) -> u64 {
    let mut session = match Session::builder(src).options(&Options::default()).output(Box::new(Vec::new())).build() {
        Ok(s) => s,
        Err(d) => panic!("program must compile: {d:?}"),
    };
    let halt = session.run_to_end();
    assert!(matches!(halt, Halt::Finished), "{halt:?}");
    session.vm.counters.gas
}

#[test]
fn values_cross_the_boundary_by_copy_and_stay_shared_inside() {
    let out = output(
        r#"
        contract Box {
            state items = []
            state meta = {"n": 0}
            action put(xs) { this.items = xs; return this.items }
            action live() { let t = this.items; t.push("in"); return len(this.items) }
            action alias() { this.meta = this.items; this.meta.push("m"); return len(this.items) }
        }
        let b = Box()
        let mine = [1]
        let back = b.put(mine)
        mine.push(2)
        back.push(3)
        print(b.items, mine, back)
        print(b.live(), b.items)
        print(b.alias(), b.items, b.meta)
        let read = b.items
        read.push("outside")
        print(b.items)
        "#,
    );
    assert_eq!(
        out, "[1] [1, 2] [1, 3]\n2 [1, \"in\"]\n2 [1, \"in\"] [1, \"in\", \"m\"]\n[1, \"in\"]\n",
        "arguments, results and external reads are copies; internal reads are the stored value; \
         a member write stores a copy"
    );
}

/// A chain of `depth` vaults where the innermost call fails; the call at level `catch_at`
/// (0 = the top level) catches. Everything below the catching level is rolled back, the
/// levels above keep their writes, and so do STATE and the event log.
fn chain_program(depth: usize, catch_at: usize) -> String {
    format!(
        r#"
        contract Vault {{
            state hits = 0
            action step(chain, i, depth, catch_at) {{
                this.hits += 1
                STATE["level" + str(i)] = i
                emit Step(i)
                if i == depth {{ require(false, "bottom") }}
                if i == catch_at {{
                    try {{ chain[i].step(chain, i + 1, depth, catch_at) }} catch (e) {{ emit Caught(i) }}
                }} else {{
                    chain[i].step(chain, i + 1, depth, catch_at)
                }}
                return this.hits
            }}
        }}
        let chain = []
        for each i in range({n}) {{ chain.push(Vault()) }}
        if {catch_at} == 0 {{
            try {{ chain[0].step(chain, 1, {depth}, {catch_at}) }} catch (e) {{ emit Caught(0) }}
        }} else {{
            chain[0].step(chain, 1, {depth}, {catch_at})
        }}
        let hits = []
        for each v in chain {{ hits.push(v.hits) }}
        let levels = []
        for each i in range(1, {n} + 1) {{ levels.push(STATE["level" + str(i)]) }}
        let evs = []
        for each ev in events() {{ evs.push(ev["event"] + str(ev["args"][0])) }}
        print(hits, levels, evs)
        "#,
        n = depth + 1,
    )
}

#[test]
fn a_failed_call_rolls_back_at_every_depth_and_nothing_above_the_catch() {
    for depth in 1..=4 {
        for catch_at in 0..depth {
            let out = output(&chain_program(depth, catch_at));
            // Levels 1..=catch_at ran to completion; levels above the catch were undone.
            let n = depth + 1;
            let hits: Vec<String> = (0..n).map(|v| if v < catch_at { "1" } else { "0" }.to_string()).collect();
            let levels: Vec<String> =
                (1..=n).map(|i| if i <= catch_at { i.to_string() } else { "null".to_string() }).collect();
            let mut evs: Vec<String> = (1..=catch_at).map(|i| format!("\"Step{i}\"")).collect();
            evs.push(format!("\"Caught{catch_at}\""));
            let expected = format!("[{}] [{}] [{}]\n", hits.join(", "), levels.join(", "), evs.join(", "));
            assert_eq!(out, expected, "depth {depth}, caught at {catch_at}");
        }
    }
}

#[test]
fn an_internal_call_joins_the_callers_transaction_and_an_external_one_is_its_own() {
    let out = output(
        r#"
        contract A {
            state n = 0
            action bump_and_fail() { this.n += 1; require(false) }
            action internal() {
                try { this.bump_and_fail() } catch (e) { }
                return this.n
            }
            action external(other) {
                try { other.bump_and_fail() } catch (e) { }
                return other.n
            }
        }
        let a = A()
        let b = A()
        print(a.internal(), a.n)
        print(a.external(b), b.n)
        "#,
    );
    // Internal: no transaction of its own, and the try inside the action opened none either,
    // so the write before the failure stays. External: the call's own transaction is undone.
    assert_eq!(out, "1 1\n0 0\n");
}

#[test]
fn gas_of_internal_and_external_calls_follows_section_11() {
    let base = "contract C { action a() { } action b() { } action c() { a() } }\nlet c = C()\n";
    let with_b = gas(&format!("{base}c.b()\n"));
    let with_c = gas(&format!("{base}c.c()\n"));
    let with_b_and_a = gas(&format!("{base}c.b()\nc.a()\n"));
    // Internal: LOAD_THIS 2 + CALL_METHOD 10 + POP 1.
    assert_eq!(with_c - with_b, 13);
    // External: LOAD_LOCAL 2 + CALL_METHOD 10 + implicit begin 20 and commit 30 + POP 1.
    assert_eq!(with_b_and_a - with_b, 63);
    // A construction: the call 10, the instance 50, begin 20, commit 30.
    let none = gas("contract C { }\n");
    let one = gas("contract C { }\nC()\n");
    assert_eq!(one - none, 2 + 10 + 50 + 20 + 30 + 1);
}

#[test]
fn an_instance_whose_creation_was_reverted_no_longer_exists() {
    let b = run(r#"
        contract C {
            state n = 0
            action inc() { this.n += 1 }
        }
        TX_BEGIN()
        let c = C()
        c.inc()
        TX_REVERT()
        print(c, c == c, typeof(c))
        c.inc()
        "#);
    assert_eq!(b.output, "<contract C#1> true contract\n");
    assert!(b.end.contains("contract C#1 no longer exists (its creation was reverted)"), "{}", b.end);
}

#[test]
fn a_call_returning_with_open_transactions_fails_and_rolls_back() {
    let b = run(r#"
        contract C {
            state n = 0
            action leak() { this.n = 5; TX_BEGIN(); STATE["k"] = 1 }
            action close_outer() { TX_COMMIT() }
        }
        let c = C()
        try { c.leak() } catch (e) { print(e) }
        print(c.n, STATE["k"])
        try { c.close_outer() } catch (e) { print(e) }
        TX_BEGIN()
        c.leak()
        "#);
    assert_eq!(
        b.output,
        "action C.leak returned with 1 open transaction(s)\n0 null\nTX_COMMIT without active transaction\n"
    );
    assert!(b.end.contains("returned with 1 open transaction(s)"), "{}", b.end);
}

#[test]
fn construction_runs_initializers_then_init_in_one_transaction() {
    let out = output(
        r#"
        let order = []
        action note(x) { order.push(x); return x }
        contract T {
            state a = note("a")
            state b = note(this.a + "b")
            action init(x) { note("init " + x); emit Made(x) }
        }
        contract Bad {
            state a = note("bad a")
            action init() { require(false, "no") }
        }
        let t = T("t")
        try { Bad() } catch (e) { print(e) }
        let t2 = T()
        print(order, t.b, t2.b, events())
        "#,
    );
    assert_eq!(
        out,
        "Requirement failed: no\n[\"a\", \"ab\", \"init t\", \"bad a\", \"a\", \"ab\"] ab ab \
         [{\"event\": \"Made\", \"contract\": \"T#1\", \"args\": [\"t\"]}]\n"
    );
}

/// The journal makes a transaction's frame only when contract code first runs at its depth
/// (`ContractWorld::top_frame`); these are the orders in which a lazily made frame must still
/// give the same rollback as one made at `TX_BEGIN`.
#[test]
fn rollback_is_exact_when_outer_transactions_never_touched_a_contract() {
    let out = output(
        r#"
        contract Counter {
            state n = 0
            action bump() { this.n += 1; emit Bumped(this.n); return this.n }
        }
        let c = Counter()
        TX_BEGIN()
        TX_BEGIN()
        c.bump()
        TX_COMMIT()
        TX_REVERT()
        print("inner commit, outer revert:", c.n, len(events("Bumped")))
        TX_BEGIN()
        TX_BEGIN()
        c.bump()
        TX_COMMIT()
        c.bump()
        TX_BEGIN()
        c.bump()
        TX_REVERT()
        print("inside:", c.n, len(events("Bumped")))
        TX_COMMIT()
        print("committed:", c.n, len(events("Bumped")))
        TX_BEGIN()
        let d = Counter()
        TX_BEGIN()
        TX_COMMIT()
        TX_REVERT()
        try { print(d.n) } catch (e) { print("reverted creation:", e) }
        "#,
    );
    assert_eq!(
        out,
        "inner commit, outer revert: 0 0\ninside: 2 2\ncommitted: 2 2\n\
         reverted creation: contract Counter#2 no longer exists (its creation was reverted)\n"
    );
}
