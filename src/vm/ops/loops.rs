//! The `for` loops' set-up opcodes: `FOR_PREP`, `FOR_PREP2` (run once per loop; `FOR_NEXT` and
//! `FOR_NEXT2`, run once per iteration, stay arms of `Vm::dispatch` with the other branches).

use super::super::dialect;
use super::super::interp::{internal, iteration_list, take};
use super::super::value::Value;
use super::Fault;

/// `FOR_PREP`: the list to iterate, from the value at `src`, and position 0 into slots
/// `slot`, `slot + 1`.
#[inline(always)]
pub(in crate::vm) fn op_for_prep(fr: &mut [Value], slot: u16, src: u32) -> Result<(), Fault> {
    let iterable = take(fr, src);
    let seq = iteration_list(iterable).map_err(|e| (src, e))?;
    match fr.get_mut(slot as usize..src as usize) {
        Some([list, pos, ..]) => {
            *list = seq;
            *pos = Value::Int(0);
            Ok(())
        }
        _ => Err((src, internal("loop slot out of range"))),
    }
}

/// `FOR_PREP2`: like `FOR_PREP` for a two-variable loop, keeping the source in `slot + 2`.
#[inline(always)]
pub(in crate::vm) fn op_for_prep2(fr: &mut [Value], slot: u16, src: u32) -> Result<(), Fault> {
    let iterable = take(fr, src);
    let seq = dialect::iteration_seq(&iterable).map_err(|e| (src, e))?;
    match fr.get_mut(slot as usize..src as usize) {
        Some([list, pos, source, ..]) => {
            *list = seq;
            *pos = Value::Int(0);
            *source = iterable;
            Ok(())
        }
        _ => Err((src, internal("loop slot out of range"))),
    }
}
