//! The bodies of the interpreter's opcodes, out of [`Vm::dispatch`](super::interp::Vm), grouped by
//! family. Each handler takes the running frame (`fr`, the stack from the frame's base up) and
//! the instruction's operands, and returns `Err` with the error to locate when the instruction
//! fails; the dispatch arm charges gas, calls the handler and maps a failure to the stack top the
//! instruction leaves. Handlers that switch frames (calls, returns) still live in `dispatch`,
//! where the frame reload is specialised per site.

pub(super) mod calls;
pub(super) mod chain;
pub(super) mod containers;
pub(super) mod modules;
pub(super) mod output;
