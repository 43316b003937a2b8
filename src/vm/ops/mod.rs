//! The bodies of the interpreter's opcodes, out of [`Vm::dispatch`](super::interp::Vm), grouped by
//! family. Each handler takes the running frame (`fr`, the stack from the frame's base up) and
//! the instruction's operands, and returns `Err` with the error to locate when the instruction
//! fails: a [`Fault`] where the stack top the instruction leaves depends on where it failed, a
//! bare `VmError` where it is the instruction's own top. The dispatch arm charges gas, calls the
//! handler, takes the branch or skips the fused instruction the handler's result asks for, and
//! maps a failure to its location. Handlers that switch frames (calls, returns) still live in
//! `dispatch`, where the frame reload is specialised per site.

use super::error::VmError;

pub(super) mod calls;
pub(super) mod chain;
pub(super) mod containers;
pub(super) mod loops;
pub(super) mod members;
pub(super) mod modules;
pub(super) mod output;
pub(super) mod vars;

/// A failed instruction: the stack top it leaves (relative to the frame's base) and the error.
pub(in crate::vm) type Fault = (u32, VmError);
