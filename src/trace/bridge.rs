//! The VM's observer that feeds the event stream: it turns each borrowed [`VmEvent`] into a
//! [`TraceEvent`] and emits it through an [`EventSink`], with the `action_call` and
//! `action_end` events an [`ActionTracker`] finds around external contract calls.

use crate::bytecode::op::Op;
use crate::vm::hooks::{Observer, VmEvent};

use super::actions::{ActionReport, ActionTracker};
use super::event::{ArgList, KeyList, TraceEvent, ValueText};
use super::sink::EventSink;

/// Installed by the engine as the VM's observer whenever an enabled sink is in use.
#[derive(Debug, Clone)]
pub struct VmBridge {
    sink: EventSink,
    actions: ActionTracker,
}

impl VmBridge {
    /// A bridge emitting into `sink`.
    pub fn new(sink: EventSink) -> VmBridge {
        VmBridge { sink, actions: ActionTracker::default() }
    }

    fn report(&self, r: &ActionReport) {
        let ev = match r.outcome {
            None => TraceEvent::ActionCall {
                func: r.func,
                name: &r.name,
                depth: r.depth,
                tx_depth: r.tx_depth,
                gas: r.gas,
                instructions: r.instructions,
            },
            Some(outcome) => TraceEvent::ActionEnd {
                func: r.func,
                name: &r.name,
                depth: r.depth,
                outcome,
                gas_used: r.gas,
                instructions: r.instructions,
            },
        };
        self.sink.emit(&ev);
    }
}

fn depth32(depth: usize) -> u32 {
    u32::try_from(depth).unwrap_or(u32::MAX)
}

impl Observer for VmBridge {
    fn event(&mut self, vm_gas: u64, event: &VmEvent<'_>) {
        let (begins, ends) = self.actions.observe(vm_gas, event);
        if let Some(r) = &begins {
            self.report(r);
        }
        let failed = matches!(event, VmEvent::Error { .. });
        if failed {
            for r in &ends {
                self.report(r);
            }
        }
        let ev = match *event {
            VmEvent::Instr { proto, pc, depth } => TraceEvent::Instr {
                func: proto.id,
                pc,
                depth: depth32(depth),
                op: proto.code.get(pc as usize).copied().unwrap_or(Op::Nop),
            },
            VmEvent::Call { proto, depth, args, instructions } => {
                let n_params = (proto.arity as usize).min(proto.slot_names.len());
                TraceEvent::Call {
                    func: proto.id,
                    name: proto.display_name(),
                    depth: depth32(depth),
                    gas: vm_gas,
                    instructions,
                    args: ArgList { names: proto.slot_names.get(..n_params).unwrap_or(&[]), values: args },
                }
            }
            VmEvent::Return { proto, depth, instructions } => TraceEvent::Return {
                func: proto.id,
                name: proto.display_name(),
                depth: depth32(depth),
                gas: vm_gas,
                instructions,
            },
            VmEvent::Print { text } => TraceEvent::Print { text },
            VmEvent::LoopHot { proto, loop_id, iterations } => {
                TraceEvent::LoopHot { func: proto.id, loop_id, iterations }
            }
            VmEvent::TxBegin { depth } => TraceEvent::TxBegin { depth: depth32(depth) },
            VmEvent::TxCommit { depth, keys } => TraceEvent::TxCommit { depth: depth32(depth), keys: KeyList(keys) },
            VmEvent::TxRevert { depth, keys } => TraceEvent::TxRollback { depth: depth32(depth), keys: KeyList(keys) },
            VmEvent::StateAccess { write, key, depth } => TraceEvent::StateAccess { write, key, depth: depth32(depth) },
            VmEvent::Caught { error, thrown, proto, pc, from_depth, to_depth, finally, instructions } => {
                TraceEvent::Caught {
                    message: &error.message,
                    thrown: thrown.map(ValueText),
                    func: proto.id,
                    pc,
                    from_depth: depth32(from_depth),
                    to_depth: depth32(to_depth),
                    finally,
                    instructions,
                }
            }
            VmEvent::Error { error, depth, instructions } => TraceEvent::Error {
                kind: error.kind,
                message: &error.message,
                depth: depth32(depth),
                gas: vm_gas,
                instructions,
            },
        };
        self.sink.emit(&ev);
        if !failed {
            for r in &ends {
                self.report(r);
            }
        }
    }

    fn wants_instructions(&self) -> bool {
        self.sink.wants_instructions()
    }
}
