//! Variable and stack opcodes: `DUP2`, `IMPORT_LOAD`, the cells, the free variables and
//! `CHECK_CONST`. (The constants, `POP`, `DUP`, the locals and the globals stay arms of
//! `Vm::dispatch` for now: as handlers here they cost nested_loops 5% and calls 2.6% more
//! instructions interpreted; BENCHMARKS.md "Issue 11: the dispatch split".)

use super::super::error::{ErrorKind, VmError};
use super::super::interp::{discard, internal, put, slot_name, take, undefined, upvalue};
use super::super::program::Proto;
use super::super::value::Value;
use super::Fault;

/// Stores `v` into position `dst`, at or above the stack top.
#[inline(always)]
pub(in crate::vm) fn op_put(fr: &mut [Value], dst: u32, v: Value) {
    if let Some(slot) = fr.get_mut(dst as usize) {
        put(slot, v);
    }
}

/// `DUP2`: copies the two values below `dst` to `dst`, `dst + 1`.
#[inline(always)]
pub(in crate::vm) fn op_dup2(fr: &mut [Value], dst: u32) -> Result<(), Fault> {
    let (a, b) = match dst.checked_sub(2) {
        Some(src) => match fr.get(src as usize..dst as usize) {
            Some([a, b]) => (a.clone(), b.clone()),
            _ => return Err((dst, internal("stack underflow"))),
        },
        None => return Err((dst, internal("stack underflow"))),
    };
    op_put(fr, dst, a);
    op_put(fr, dst + 1, b);
    Ok(())
}

/// `IMPORT_LOAD`: copies global `idx` (an imported binding, maybe still undefined) to `dst`.
#[inline(always)]
pub(in crate::vm) fn op_import_load(
    below: &[Value],
    fr: &mut [Value],
    base: usize,
    dst: u32,
    idx: u32,
) -> Result<(), Fault> {
    let g = idx as usize;
    let v = if g < base { below.get(g) } else { fr.get(g - base) };
    let Some(v) = v.cloned() else { return Err((dst, internal("global out of range"))) };
    op_put(fr, dst, v);
    Ok(())
}

/// `LOAD_CELL`: copies the value in the cell in slot `slot` to `dst`.
#[inline(always)]
pub(in crate::vm) fn op_load_cell(fr: &mut [Value], proto: &Proto, dst: u32, slot: u16) -> Result<(), Fault> {
    let v = match fr.get(slot as usize) {
        Some(Value::Cell(c)) => c.borrow().clone(),
        _ => Value::Undef,
    };
    if let Value::Undef = v {
        return Err((dst, undefined(slot_name(proto, slot))));
    }
    op_put(fr, dst, v);
    Ok(())
}

/// `STORE_CELL`: moves the value at `src` into the cell in slot `slot`.
#[inline(always)]
pub(in crate::vm) fn op_store_cell(fr: &mut [Value], slot: u16, src: u32) -> Result<(), Fault> {
    let v = take(fr, src);
    match fr.get(slot as usize) {
        Some(Value::Cell(c)) => {
            *c.borrow_mut() = v;
            Ok(())
        }
        _ => Err((src, internal("cell slot holds no cell"))),
    }
}

/// `LOAD_FREE`: copies the value of the running closure's captured variable `idx` to `dst`.
#[inline(always)]
pub(in crate::vm) fn op_load_free(
    below: &[Value],
    fr: &mut [Value],
    proto: &Proto,
    dst: u32,
    idx: u16,
) -> Result<(), Fault> {
    let v = match upvalue(below, idx) {
        Some(c) => c.borrow().clone(),
        None => Value::Undef,
    };
    if let Value::Undef = v {
        let name = proto.free_names.get(idx as usize).map(String::as_str).unwrap_or("?");
        return Err((dst, undefined(name)));
    }
    op_put(fr, dst, v);
    Ok(())
}

/// `STORE_FREE`: moves the value at `src` into the running closure's captured variable `idx`.
#[inline(always)]
pub(in crate::vm) fn op_store_free(below: &[Value], fr: &mut [Value], idx: u16, src: u32) -> Result<(), Fault> {
    let v = take(fr, src);
    match upvalue(below, idx) {
        Some(c) => {
            *c.borrow_mut() = v;
            Ok(())
        }
        None => Err((src, internal("captured variable missing"))),
    }
}

/// `CHECK_CONST`: fails when the flag at `src` says the variable named by constant `name` is
/// a constant.
#[inline(always)]
pub(in crate::vm) fn op_check_const(fr: &mut [Value], proto: &Proto, src: u32, name: u32) -> Result<(), Fault> {
    let flag = take(fr, src);
    if let Value::Bool(true) = flag {
        let name = match proto.consts.get(name as usize) {
            Some(Value::Str(s)) => s.to_string(),
            _ => "?".to_string(),
        };
        return Err((src, VmError::new(ErrorKind::ConstAssign, format!("cannot assign to constant '{name}'"))));
    }
    discard(flag);
    Ok(())
}
