//! Output opcodes: `PRINT`.

use super::super::error::VmError;
use super::super::interp::{Vm, release};
use super::super::value::{self, Value};

/// `PRINT`: writes the `n` values from `at` on, separated by spaces, as one line. On failure,
/// the stack top the instruction leaves (relative) and the error.
#[inline(always)]
pub(in crate::vm) fn op_print(
    vm: &mut Vm,
    fr: &mut [Value],
    at: u32,
    n: u16,
    max_alloc: usize,
) -> Result<(), (u32, VmError)> {
    let o = at + u32::from(n);
    let mut line = String::new();
    let items = fr.get(at as usize..o as usize).unwrap_or(&[]);
    for (i, v) in items.iter().enumerate() {
        if i > 0 {
            line.push(' ');
        }
        value::display_into_capped(v, &mut line, max_alloc).map_err(|e| (o, e))?;
    }
    if let Some(dead) = fr.get_mut(at as usize..o as usize) {
        release(dead);
    }
    vm.write_line(&line).map_err(|e| (at, e))
}
