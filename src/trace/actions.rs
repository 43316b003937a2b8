//! Action calls in the VM's event stream: which calls are external contract calls (one
//! transaction each, CONTRACTS.md §6) and how each one ended.
//!
//! The VM reports no action call of its own; the [`ActionTracker`] reads it off the events it
//! already sends. An external call opens its implicit transaction and enters its callee in the
//! same instruction, with no gas charged in between, so it is a `TxBegin` directly followed by
//! a `Call` at the same gas. Any other call after a `TX_BEGIN()` charges its call instruction
//! first, so the gas differs. The call commits with the `TxCommit` back to the depth below
//! its transaction after its frame returned (a construction's `init` runs between), and it is
//! reverted by the `TxRevert` that discards its transaction (an error caught outside it) or by
//! an uncaught `Error`.

use std::collections::BTreeMap;
use std::rc::Rc;

use crate::vm::contract::EXTERNAL_BEGIN_GAS;
use crate::vm::hooks::VmEvent;
use crate::vm::program::Proto;

use super::event::ActionOutcome;

/// One external call whose transaction is open.
#[derive(Debug, Clone)]
struct OpenAction {
    func: u32,
    name: String,
    depth: u32,
    tx_depth: u32,
    gas_start: u64,
    instructions_start: u64,
    /// Instructions counted when its frame returned (it then waits for the commit).
    returned_at: Option<u64>,
}

/// A call the tracker saw begin or end, for the bridge to report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionReport {
    /// The callee's proto id.
    pub func: u32,
    /// `Contract.action` (`Contract.<new>` for a construction).
    pub name: String,
    /// Depth of the callee's frame.
    pub depth: u32,
    /// Transaction depth inside the call.
    pub tx_depth: u32,
    /// `None` when the call begins; its outcome when it ends.
    pub outcome: Option<ActionOutcome>,
    /// Gas so far (begin) or gas the call used (end).
    pub gas: u64,
    /// Instructions so far (begin) or instructions the call executed (end).
    pub instructions: u64,
}

/// The state machine that finds external calls in the event stream.
#[derive(Debug, Clone, Default)]
pub struct ActionTracker {
    /// Set by a `TxBegin` (gas, transaction depth); cleared by every other event.
    begun: Option<(u64, u32)>,
    open: Vec<OpenAction>,
    /// Instructions counted at the last caught error (the end of the calls it reverts).
    caught_at: u64,
}

/// `Contract.<new>` for a construction's member initializers, else the display name.
fn action_name(proto: &Proto) -> String {
    let name = proto.display_name();
    match name.split_once(".<members>") {
        Some((contract, rest)) => format!("{contract}.<new>{rest}"),
        None => name.to_string(),
    }
}

fn depth32(depth: usize) -> u32 {
    u32::try_from(depth).unwrap_or(u32::MAX)
}

impl ActionTracker {
    /// Feeds one VM event (`vm_gas` used so far): the report of a call that begins at it, to
    /// send before the event, and of the calls that end at it, to send after it (`Error`
    /// excepted: the calls it reverts end before the error closes every activation).
    pub fn observe(&mut self, vm_gas: u64, event: &VmEvent<'_>) -> (Option<ActionReport>, Vec<ActionReport>) {
        match *event {
            VmEvent::TxBegin { depth } => {
                self.tx_begin(vm_gas, depth32(depth));
                (None, Vec::new())
            }
            VmEvent::Call { proto, depth, instructions, .. } => {
                (self.call(proto, depth32(depth), vm_gas, instructions), Vec::new())
            }
            VmEvent::Return { depth, instructions, .. } => {
                self.returned(depth32(depth), instructions);
                (None, Vec::new())
            }
            VmEvent::Caught { instructions, .. } => {
                self.caught(instructions);
                (None, Vec::new())
            }
            VmEvent::TxCommit { depth, .. } => (None, self.committed(depth32(depth), vm_gas).into_iter().collect()),
            VmEvent::TxRevert { depth, .. } => (None, self.reverted(depth32(depth), vm_gas)),
            VmEvent::Error { instructions, .. } => (None, self.failed(vm_gas, instructions)),
            VmEvent::Instr { .. } => (None, Vec::new()),
            _ => {
                self.other();
                (None, Vec::new())
            }
        }
    }

    /// A transaction began at `tx_depth` with `gas` used so far.
    pub fn tx_begin(&mut self, gas: u64, tx_depth: u32) {
        self.begun = Some((gas, tx_depth));
    }

    /// Any event but a `TxBegin` or `Call`.
    pub fn other(&mut self) {
        self.begun = None;
    }

    /// `proto` is entered at `depth`: returns the begin report if this is an external call.
    pub fn call(&mut self, proto: &Rc<Proto>, depth: u32, gas: u64, instructions: u64) -> Option<ActionReport> {
        let begun = self.begun.take();
        if let Some(top) = self.open.last_mut()
            && top.depth == depth
            && top.returned_at.is_some()
        {
            // A construction's `init` after its initializers: the same call goes on.
            top.returned_at = None;
        }
        let (begin_gas, tx_depth) = begun.filter(|(g, _)| *g == gas)?;
        let open = OpenAction {
            func: proto.id,
            name: action_name(proto),
            depth,
            tx_depth,
            gas_start: begin_gas.saturating_sub(EXTERNAL_BEGIN_GAS),
            instructions_start: instructions,
            returned_at: None,
        };
        let report = ActionReport {
            func: open.func,
            name: open.name.clone(),
            depth,
            tx_depth,
            outcome: None,
            gas,
            instructions,
        };
        self.open.push(open);
        Some(report)
    }

    /// The frame at `depth` returned after `instructions`.
    pub fn returned(&mut self, depth: u32, instructions: u64) {
        self.begun = None;
        if let Some(top) = self.open.last_mut()
            && top.depth == depth
        {
            top.returned_at = Some(instructions);
        }
    }

    /// A catch or finally will handle an error raised after `instructions`.
    pub fn caught(&mut self, instructions: u64) {
        self.begun = None;
        self.caught_at = instructions;
    }

    /// A commit brought the transaction depth to `tx_depth`: the call it finishes, if any.
    pub fn committed(&mut self, tx_depth: u32, gas: u64) -> Option<ActionReport> {
        self.begun = None;
        let top = self.open.last()?;
        let returned = top.returned_at?;
        if top.tx_depth != tx_depth + 1 {
            return None;
        }
        let top = self.open.pop()?;
        Some(end(top, ActionOutcome::Committed, gas, returned))
    }

    /// A revert brought the transaction depth to `tx_depth`: the calls whose transaction it
    /// discarded, innermost first.
    pub fn reverted(&mut self, tx_depth: u32, gas: u64) -> Vec<ActionReport> {
        self.begun = None;
        let mut out = Vec::new();
        while let Some(top) = self.open.last()
            && top.tx_depth > tx_depth
        {
            let Some(top) = self.open.pop() else { break };
            let at = top.returned_at.unwrap_or(self.caught_at).max(top.instructions_start);
            out.push(end(top, ActionOutcome::Reverted, gas, at));
        }
        out
    }

    /// The program failed after `instructions`: every open call is reverted, innermost first.
    pub fn failed(&mut self, gas: u64, instructions: u64) -> Vec<ActionReport> {
        self.caught_at = instructions;
        self.reverted(0, gas)
    }
}

fn end(call: OpenAction, outcome: ActionOutcome, gas: u64, instructions: u64) -> ActionReport {
    ActionReport {
        func: call.func,
        name: call.name,
        depth: call.depth,
        tx_depth: call.tx_depth,
        outcome: Some(outcome),
        gas: gas.saturating_sub(call.gas_start),
        instructions: instructions.saturating_sub(call.instructions_start),
    }
}

/// What the external calls of one action cost (a gas report row).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ActionCost {
    /// External calls that ended (committed or reverted).
    pub calls: u64,
    /// Of those, the reverted ones.
    pub reverted: u64,
    /// Gas of all of them, implicit begin and commit included.
    pub gas: u64,
    /// The cheapest call's gas.
    pub min_gas: u64,
    /// The dearest call's gas.
    pub max_gas: u64,
    /// Instructions of all of them.
    pub instructions: u64,
}

/// The gas report: per `Contract.action`, what its external calls cost.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct ActionCosts(pub BTreeMap<String, ActionCost>);

impl ActionCosts {
    /// Counts one ended call (begin reports are ignored).
    pub fn add(&mut self, r: &ActionReport) {
        let Some(outcome) = r.outcome else { return };
        let row = self.0.entry(r.name.clone()).or_default();
        row.min_gas = if row.calls == 0 { r.gas } else { row.min_gas.min(r.gas) };
        row.max_gas = row.max_gas.max(r.gas);
        row.calls += 1;
        row.reverted += u64::from(outcome == ActionOutcome::Reverted);
        row.gas = row.gas.saturating_add(r.gas);
        row.instructions = row.instructions.saturating_add(r.instructions);
    }
}
