//! The debugger's contract breaks (CONTRACTS.md §12): "require failed", "action call
//! reverted" and "event emitted", each with an optional filter, and the discarded writes a
//! rollback's stop message lists.
//!
//! A filter names a contract (`Token`), an action (`transfer`, `Token.transfer`), an instance
//! (`Token#1`) or, for "event emitted", an event (`Transfer`); without one every occurrence
//! stops. A failed `require` is found in the event stream (a `caught` or `error` event with
//! its message) and replayed to like any runtime error. An action call's revert is an
//! `action_end` event; the VM stops right after the rollback (the interrupt is checked after a
//! catch), or ends with the uncaught error. An `emit` raises no event: a slice in which the
//! world's emit counter moved is replayed (same build, events muted) up to its start and then
//! stepped until the matching `emit` has run.

use super::{Debugger, Replay};
use crate::engine::recorder::EventBreak;
use crate::vm::preview::preview;

/// Discarded writes listed in a stop message at most.
const MAX_LISTED: usize = 6;

impl Debugger {
    /// True if `event`'s filter (if any) is one of `names`.
    pub(super) fn filter_matches(&self, event: EventBreak, names: &[&str]) -> bool {
        match self.event_filters.get(&event) {
            None => true,
            Some(f) => names.iter().any(|n| !n.is_empty() && n == f),
        }
    }

    /// The names a function is known by: `Token.transfer`, `Token`, `transfer`.
    pub(super) fn function_names(&self, func: u32) -> Vec<String> {
        let Some(p) = self.session.vm.program.protos.get(func as usize) else { return Vec::new() };
        action_names(p.display_name())
    }

    /// The text of the writes the reverts since the last call discarded, or `None`.
    pub(super) fn discarded_text(&mut self) -> Option<String> {
        let writes = self.session.vm.ledger.contracts.take_discarded();
        if writes.is_empty() {
            return None;
        }
        let mut parts: Vec<String> = writes
            .iter()
            .take(MAX_LISTED)
            .map(|w| format!("{}: {} → {}", w.key, preview(&w.old), preview(&w.new)))
            .collect();
        if writes.len() > MAX_LISTED {
            parts.push(format!("{} more", writes.len() - MAX_LISTED));
        }
        let text = parts.join("; ");
        self.last_rollback = Some(text.clone());
        Some(text)
    }

    /// The stop message of a reverted action call (after its rollback).
    pub(super) fn reverted_reason(&mut self, name: &str, gas: u64, instructions: u64) -> String {
        let discarded = self.discarded_text().unwrap_or_else(|| "nothing written".to_string());
        let line = self.session.location().map_or(0, |l| l.line);
        format!(
            "action call {name} reverted (now at line {line}; {gas} gas, {instructions} instructions); discarded {discarded}"
        )
    }

    /// After the VM ran with the emit counter at `before`: the stop message if an `emit`
    /// since then matches the "event emitted" break (checked after single steps).
    pub(super) fn emit_check(&self, before: u64) -> Option<String> {
        if !self.event_breaks.contains(&EventBreak::EventEmitted) {
            return None;
        }
        let world = &self.session.vm.ledger.contracts;
        if world.emitted <= before {
            return None;
        }
        let record = world.events.last()?;
        let frame = self.session.vm.frames.last().map(|f| f.proto.display_name().to_string()).unwrap_or_default();
        let source = record.source.clone().unwrap_or_default();
        let contract = source.split('#').next().unwrap_or("").to_string();
        let mut names = action_names(&frame);
        names.extend([record.name.clone(), source.clone(), contract]);
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        if !self.filter_matches(EventBreak::EventEmitted, &names) {
            return None;
        }
        let args: Vec<String> = record.args.iter().map(preview).collect();
        let from = if source.is_empty() { "top level".to_string() } else { source };
        let line = self.session.location().map_or(0, |l| l.line);
        Some(format!("event emitted: {}({}) from {from} (line {line})", record.name, args.join(", ")))
    }

    /// A free-run slice that began after `instructions` instructions with the emit counter at
    /// `before` moved it to `after`: replays up to the slice's start, then steps through its
    /// emits.
    pub(super) fn begin_emit_replay(&mut self, instructions: u64, before: u64, after: u64) {
        self.replay =
            Some(Replay { until: instructions, at: (0, 0), reason: String::new(), emits: Some((before, after)) });
        self.mute_and_rewind();
    }

    /// The stepping part of an emit replay, from `before` emits toward `after`: true if it
    /// stopped (at a matching emit), with the replay over once the slice's emits are passed.
    pub(super) fn step_emits(&mut self, budget: u64, before: u64, after: u64) -> bool {
        for _ in 0..budget.max(1) {
            let seen = self.session.vm.ledger.contracts.emitted;
            if seen >= after || self.is_done() {
                self.end_replay();
                return false;
            }
            let halt = self.run_vm(1, false);
            self.interrupt.set(false);
            if let Some(reason) = self.emit_check(seen) {
                self.end_replay();
                return self.stop(reason);
            }
            if !matches!(halt, crate::vm::interp::Halt::Budget) {
                self.end_replay();
                return self.after_halt(halt);
            }
        }
        let _ = before;
        false
    }
}

/// `Token.transfer` as the names a filter may use: itself, `Token`, `transfer`.
pub(super) fn action_names(name: &str) -> Vec<String> {
    let mut out = vec![name.to_string()];
    if let Some((contract, action)) = name.split_once('.') {
        out.push(contract.to_string());
        out.push(action.to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::engine::Options;
    use crate::engine::debug::{Debugger, Goal};
    use crate::engine::recorder::EventBreak;
    use crate::engine::snapshot::RunStatus;

    const TOKEN: &str = include_str!("../../../samples/token.zx");

    const UNCAUGHT: &str = "contract V {\n  state balance = 100\n  action withdraw(n) {\n    \
                            this.balance = this.balance - n\n    require(this.balance >= 0, \"insufficient\")\n    \
                            return this.balance\n  }\n}\nlet v = V()\nprint(v.withdraw(60))\nprint(v.withdraw(60))\n";

    fn debugger(src: &str, event: EventBreak, filter: Option<&str>) -> Debugger {
        let mut d = Debugger::new("t.zx", src, &Options::default()).expect("builds");
        d.set_event_break(event, true, filter.map(str::to_string));
        d
    }

    #[test]
    fn a_failed_require_stops_at_it_with_the_pending_writes_then_a_step_rolls_back() {
        let mut d = debugger(TOKEN, EventBreak::RequireFailed, None);
        assert!(d.run_to_stop(Goal::Continue, 10_000_000));
        assert_eq!(
            d.stop_reason(),
            Some("require failed: Requirement failed: insufficient balance in Token.transfer (line 15)")
        );
        let snap = d.snapshot();
        assert_eq!(snap.location.map(|l| l.line), Some(15));
        assert_eq!(snap.frames.last().map(|f| f.name.as_str()), Some("Token.transfer"));
        assert_eq!(snap.output, vec!["transfer 30: true"], "the replay printed the output once");
        let pending: Vec<&String> = snap.transactions.iter().flat_map(|t| &t.members).collect();
        assert_eq!(
            pending,
            [r#"Token#1.balances: {"alice": 70, "bob": 30} → {"alice": 70, "bob": -470, "carol": 500}"#]
        );
        // One step runs the require: the call's transaction is rolled back, the catch is next.
        assert!(d.run_to_stop(Goal::StepInstruction, 1_000));
        let snap = d.snapshot();
        assert!(snap.transactions.is_empty(), "{:?}", snap.transactions);
        assert_eq!(snap.location.map(|l| l.line), Some(26), "at the catch");
        let balances = snap.contracts[0].members.iter().find(|m| m.name == "balances").map(|m| m.value.clone());
        assert_eq!(balances.as_deref(), Some(r#"{"alice": 70, "bob": 30}"#));
        assert!(d.run_to_stop(Goal::Continue, 10_000_000));
        assert_eq!(d.stop_reason(), Some("finished"));
    }

    #[test]
    fn an_uncaught_failed_require_stops_before_the_error_and_continuing_fails() {
        let mut d = debugger(UNCAUGHT, EventBreak::RequireFailed, Some("V.withdraw"));
        assert!(d.run_to_stop(Goal::Continue, 10_000_000));
        assert_eq!(d.stop_reason(), Some("require failed: Requirement failed: insufficient in V.withdraw (line 5)"));
        assert_eq!(d.snapshot().output, vec!["40"]);
        assert_eq!(d.snapshot().status, RunStatus::Paused);
        assert!(d.run_to_stop(Goal::Continue, 10_000_000));
        assert_eq!(d.stop_reason(), Some("runtime error"));
    }

    #[test]
    fn a_filter_that_names_another_action_does_not_stop() {
        for filter in ["mint", "Vault", "Token.mint"] {
            let mut d = debugger(TOKEN, EventBreak::RequireFailed, Some(filter));
            assert!(d.run_to_stop(Goal::Continue, 10_000_000));
            assert_eq!(d.stop_reason(), Some("finished"), "filter {filter}");
        }
        for filter in ["transfer", "Token", "Token.transfer"] {
            let mut d = debugger(TOKEN, EventBreak::RequireFailed, Some(filter));
            assert!(d.run_to_stop(Goal::Continue, 10_000_000));
            assert!(d.stop_reason().is_some_and(|r| r.starts_with("require failed")), "filter {filter}");
        }
    }

    #[test]
    fn a_reverted_call_stops_after_its_rollback_listing_what_it_discarded() {
        let mut d = debugger(TOKEN, EventBreak::ActionReverted, Some("Token.transfer"));
        assert!(d.run_to_stop(Goal::Continue, 10_000_000));
        assert_eq!(
            d.stop_reason(),
            Some(
                "action call Token.transfer reverted (now at line 26; 190 gas, 30 instructions); discarded \
                 Token#1.balances: {\"alice\": 70, \"bob\": 30} → {\"alice\": 70, \"bob\": -470, \"carol\": 500}"
            )
        );
        assert!(d.snapshot().transactions.is_empty());
        let mut d = debugger(UNCAUGHT, EventBreak::ActionReverted, None);
        assert!(d.run_to_stop(Goal::Continue, 10_000_000));
        let reason = d.stop_reason().unwrap_or_default().to_string();
        assert!(reason.starts_with("action call V.withdraw reverted"), "{reason}");
        assert!(reason.ends_with("discarded V#1.balance: 40 → -20"), "{reason}");
        assert_eq!(d.snapshot().status, RunStatus::Failed);
    }

    #[test]
    fn an_emit_stops_right_after_it_and_the_filter_picks_the_event() {
        let mut d = debugger(TOKEN, EventBreak::EventEmitted, None);
        assert!(d.run_to_stop(Goal::Continue, 10_000_000));
        assert_eq!(d.stop_reason(), Some("event emitted: Mint(\"alice\", 100) from Token#1 (line 11)"));
        assert_eq!(d.snapshot().events_len, 1);
        assert!(d.run_to_stop(Goal::Continue, 10_000_000));
        assert_eq!(d.stop_reason(), Some("event emitted: Transfer(\"alice\", \"bob\", 30) from Token#1 (line 17)"));
        assert!(d.run_to_stop(Goal::Continue, 10_000_000));
        assert_eq!(d.stop_reason(), Some("finished"), "the reverted transfer emitted nothing");
        let mut d = debugger(TOKEN, EventBreak::EventEmitted, Some("Transfer"));
        assert!(d.run_to_stop(Goal::Continue, 10_000_000));
        assert!(d.stop_reason().is_some_and(|r| r.starts_with("event emitted: Transfer")));
        assert_eq!(d.snapshot().events_len, 2);
        assert_eq!(d.snapshot().output, Vec::<String>::new());
    }

    #[test]
    fn a_rollback_stop_lists_the_discarded_state_writes() {
        let src = "STATE[\"a\"] = 1\nTX_BEGIN()\nSTATE[\"a\"] = 5\nTX_REVERT()\nprint(STATE[\"a\"])\n";
        let mut d = debugger(src, EventBreak::TxRollback, None);
        assert!(d.run_to_stop(Goal::Continue, 10_000_000));
        assert_eq!(d.stop_reason(), Some("transaction rolled back at line 4 (depth 0); discarded STATE[\"a\"]: 1 → 5"));
    }
}
