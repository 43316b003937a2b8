//! Module opcodes: `LOAD_MODULE` (`USE_MODULE` runs the module's body, a frame switch, and stays in
//! `Vm::dispatch`).

use super::super::error::VmError;
use super::super::interp::{internal, put};
use super::super::modules;
use super::super::program::Program;
use super::super::value::Value;

/// `LOAD_MODULE`: puts the module value of module `module` at `dst`.
#[inline(always)]
pub(in crate::vm) fn op_load_module(program: &Program, fr: &mut [Value], dst: u32, module: u32) -> Result<(), VmError> {
    let v = modules::module_value(&program.modules, module).ok_or_else(|| internal("module index out of range"))?;
    if let Some(slot) = fr.get_mut(dst as usize) {
        put(slot, v);
    }
    Ok(())
}
