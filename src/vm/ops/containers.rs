//! Container opcodes: `MAKE_LIST`, `MAKE_MAP`, `INDEX`, `SET_INDEX`.

use super::super::error::VmError;
use super::super::interp::{index_get, index_set, internal, put, take};
use super::super::value::Value;

/// `MAKE_LIST`: replaces the `n` values from `at` on by a list of them.
#[inline(always)]
pub(in crate::vm) fn op_make_list(fr: &mut [Value], at: u32, n: u32) {
    let from = at as usize;
    let items: Vec<Value> =
        fr.get_mut(from..from + n as usize).unwrap_or_default().iter_mut().map(std::mem::take).collect();
    if let Some(slot) = fr.get_mut(from) {
        put(slot, Value::list(items));
    }
}

/// `MAKE_MAP`: replaces the `n` key/value pairs from `at` on by a map of them.
#[inline(always)]
pub(in crate::vm) fn op_make_map(fr: &mut [Value], at: u32, n: u32) {
    let from = at as usize;
    let mut map = indexmap::IndexMap::with_capacity(n as usize);
    let mut items = fr.get_mut(from..from + 2 * n as usize).unwrap_or_default().iter_mut().map(std::mem::take);
    while let (Some(k), Some(v)) = (items.next(), items.next()) {
        if let Value::Str(k) = k {
            map.insert(k, v);
        }
    }
    if let Some(slot) = fr.get_mut(from) {
        put(slot, Value::map(map));
    }
}

/// `INDEX`: replaces the container at `at` by its element at the index at `at + 1`. On failure,
/// the stack top the instruction leaves (relative) and the error.
#[inline(always)]
pub(in crate::vm) fn op_index(fr: &mut [Value], at: u32) -> Result<(), (u32, VmError)> {
    let idx = take(fr, at + 1);
    let Some(obj) = fr.get_mut(at as usize) else { return Err((at, internal("stack underflow"))) };
    *obj = index_get(obj, &idx).map_err(|e| (at + 1, e))?;
    Ok(())
}

/// `SET_INDEX`: stores the value at `at + 2` at the index at `at + 1` of the container at `at`.
#[inline(always)]
pub(in crate::vm) fn op_set_index(fr: &mut [Value], at: u32) -> Result<(), VmError> {
    let v = take(fr, at + 2);
    let idx = take(fr, at + 1);
    let obj = take(fr, at);
    index_set(&obj, &idx, v)
}
