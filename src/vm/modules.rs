//! Modules at run time (MODULES.md §6, §9): the program's module table, module values and
//! the reads and writes made through them.
//!
//! Each file's globals are ordinary program globals; a module's are named `X@N` (its name
//! `N` after the `@`, which no identifier contains), so the files of a program never share a
//! global. A module value reads its module's exported globals through this table.

use std::rc::Rc;

use super::error::{ErrorKind, VmError};
use super::value::{ModuleRef, Value};

/// One module of a program (every file but the main one), in load order.
#[derive(Debug, Clone, Default)]
pub struct ModuleInfo {
    /// The module name `N(M)` (what `__MODULE__` and `print(m)` show).
    pub name: String,
    /// The display path `D(M)` (what diagnostics show).
    pub display: String,
    /// The function that runs its top level (index into `Program::protos`).
    pub proto: u32,
    /// Its export list: each name and the program global that holds it.
    pub exports: Vec<(String, u32)>,
}

/// The global name of `name` in the file whose namespace is `ns` (`""` for the main file).
pub fn global_name(name: &str, ns: &str) -> String {
    if ns.is_empty() { name.to_string() } else { format!("{name}@{ns}") }
}

/// The name as written and the namespace of a program global (`("x", "")` for the main
/// file's `x`).
pub fn split_global(global: &str) -> (&str, &str) {
    match global.split_once('@') {
        Some((name, ns)) => (name, ns),
        None => (global, ""),
    }
}

/// The module value of module `index`.
pub fn module_value(modules: &[ModuleInfo], index: u32) -> Option<Value> {
    let info = modules.get(index as usize)?;
    Some(Value::Module(Rc::new(ModuleRef { index, name: info.name.clone() })))
}

/// The global that `m.name` reads, or the error for a name the module does not export.
pub fn member_slot(modules: &[ModuleInfo], m: &ModuleRef, name: &str) -> Result<u32, VmError> {
    let info = modules
        .get(m.index as usize)
        .ok_or_else(|| VmError::new(ErrorKind::TypeError, "internal error: no such module"))?;
    match info.exports.iter().find(|(n, _)| n == name) {
        Some((_, slot)) => Ok(*slot),
        None => Err(VmError::new(
            ErrorKind::UndefinedVariable,
            format!("undefined variable: module {} does not export '{name}'", info.display),
        )),
    }
}

/// The value read from an exported global (`undefined variable` while it has none).
pub fn member_value(v: Option<&Value>, name: &str) -> Result<Value, VmError> {
    match v {
        Some(Value::Undef) | None => {
            Err(VmError::new(ErrorKind::UndefinedVariable, format!("undefined variable '{name}'")))
        }
        Some(v) => Ok(v.clone()),
    }
}

/// The error of `m.name = v`.
pub fn assign_error(modules: &[ModuleInfo], m: &ModuleRef, name: &str) -> VmError {
    let display = modules.get(m.index as usize).map_or(m.name.as_str(), |i| i.display.as_str());
    VmError::new(ErrorKind::TypeError, format!("type error: cannot assign to member '{name}' of module {display}"))
}
