//! Function opcodes that do not switch frames: `MAKE_CLOSURE`. (`CALL`, `CALL_METHOD` and the
//! returns switch frames and stay in `Vm::dispatch`, where the frame reload is specialised per
//! site; see BENCHMARKS.md "Issue 11: the dispatch split".)

use std::rc::Rc;

use super::super::error::VmError;
use super::super::interp::{internal, put, upvalue};
use super::super::program::Program;
use super::super::value::{Closure, Value};
use crate::bytecode::chunk::Capture;

/// `MAKE_CLOSURE`: puts at `dst` a closure of function `idx` over the cells it captures (from
/// the running frame's slots or the running closure's upvalues, `below`'s last value), bound to
/// the running frame's instance `this`.
#[inline(always)]
pub(in crate::vm) fn op_make_closure(
    program: &Program,
    below: &[Value],
    fr: &mut [Value],
    dst: u32,
    idx: u32,
    this: u32,
) -> Result<(), VmError> {
    let child = program.protos.get(idx as usize).cloned().ok_or_else(|| internal("function index out of range"))?;
    let mut upvalues = Vec::with_capacity(child.captures.len());
    for cap in &child.captures {
        let cell = match *cap {
            Capture::Cell(slot) => match fr.get(slot as usize) {
                Some(Value::Cell(c)) => Some(c.clone()),
                _ => None,
            },
            Capture::Free(i) => upvalue(below, i),
        };
        upvalues.push(cell.ok_or_else(|| internal("captured variable is not a cell"))?);
    }
    let closure = Closure { proto: child, upvalues: upvalues.into_boxed_slice(), this, bound: false };
    if let Some(slot) = fr.get_mut(dst as usize) {
        put(slot, Value::Func(Rc::new(closure)));
    }
    Ok(())
}
