//! Linked programs: the chunk tree flattened into runtime function objects (`Proto`), with
//! constants turned into values, chunk-local global tables mapped to program slots, and
//! per-loop counters for hot-loop detection.

use std::rc::Rc;

use indexmap::IndexMap;

use super::builtin_names;
use super::modules::{ModuleInfo, global_name, split_global};
use super::regcode::{self, RegCode};
use super::value::Value;
/// The runtime function object and its loop counters live with [`Value`] (a value may hold a
/// closure of a `Proto`, and a `Proto` holds values), so that the two files do not import
/// each other.
pub use super::value::{LoopCounter, Proto};
use crate::bytecode::chunk::{Chunk, Const};
use crate::bytecode::op::Op;

/// A linked program.
#[derive(Debug)]
pub struct Program {
    /// Every function; index 0 is the top level.
    pub protos: Vec<Rc<Proto>>,
    /// Names of the global slots (`stack[0..globals.len()]`).
    pub global_names: Vec<String>,
    /// Initial values of the globals (builtins, or undefined).
    pub global_init: Vec<Value>,
    /// Every module (each file but the main one), in load order (MODULES.md).
    pub modules: Vec<super::modules::ModuleInfo>,
    /// The globals that hold `__ARGS__` (one per file that reads it; the VM stores one list in all).
    pub args_globals: Vec<u32>,
}

impl Program {
    /// The top-level function.
    pub fn main(&self) -> &Rc<Proto> {
        &self.protos[0]
    }

    /// Resets every loop counter (before a fresh run of the same program).
    pub fn reset_counters(&self) {
        for p in &self.protos {
            for c in &p.loop_counters {
                c.iterations.set(0);
                c.decided.set(false);
                c.compiled.set(false);
            }
        }
    }
}

/// Links a top-level chunk (with its nested children) into a program. `base` is added to every
/// span (chunks from the cache carry unit-relative spans).
pub fn link(top: &Chunk) -> Program {
    link_with_modules(top, &[], &[])
}

/// Links the main file's chunk tree and each module's (its top level as a function, with its
/// functions as children) into one program; `files` gives the file builtins (MODULES.md §11)
/// of each namespace.
pub fn link_with_modules(top: &Chunk, modules: &[LinkModule<'_>], files: &[FileNames]) -> Program {
    let mut globals: IndexMap<String, ()> = IndexMap::new();
    for name in &top.slot_names {
        globals.insert(name.clone(), ());
    }
    let mut protos = Vec::new();
    let mut next_id = 0u32;
    link_chunk(top, &mut globals, &mut protos, &mut next_id);
    let mut infos = Vec::with_capacity(modules.len());
    let mut owners: Vec<(u32, String)> = Vec::new();
    for m in modules {
        let first = next_id;
        let proto = link_chunk(m.chunk, &mut globals, &mut protos, &mut next_id);
        owners.extend((first..next_id).map(|id| (id, m.display.clone())));
        let exports =
            m.exports.iter().map(|x| (x.clone(), globals.insert_full(global_name(x, &m.name), ()).0 as u32)).collect();
        infos.push(ModuleInfo { name: m.name.clone(), display: m.display.clone(), proto, exports });
    }
    protos.sort_by_key(|p: &Rc<Proto>| p.id);
    let global_names: Vec<String> = globals.into_keys().collect();
    for p in &mut protos {
        // Each `Rc` is still unique here. The top level's slots are the globals, so its
        // operands start above every global the program names.
        if let Some(p) = Rc::get_mut(p) {
            if let Some((_, display)) = owners.iter().find(|(id, _)| *id == p.id) {
                p.qualified = Some(match p.name.as_deref() {
                    Some("<module>") => format!("<module {display}>"),
                    Some(n) => format!("{n}@{display}"),
                    None => format!("<anonymous>@{display}"),
                });
            }
            let operand_base = if p.is_top { p.n_slots.max(global_names.len() as u32) } else { p.n_slots };
            p.exec = regcode::translate_with_handlers(&p.code, &p.handlers, operand_base);
        }
    }
    let global_init = global_names.iter().map(|n| initial_value(n, files)).collect();
    let args_globals =
        (0..global_names.len() as u32).filter(|&i| split_global(&global_names[i as usize]).0 == "__ARGS__").collect();
    Program { protos, global_names, global_init, modules: infos, args_globals }
}

/// The value a global starts with: a builtin, a file builtin, a cleared const flag, or none.
fn initial_value(global: &str, files: &[FileNames]) -> Value {
    let (name, ns) = split_global(global);
    if name.starts_with("%const:") {
        // Const flags start cleared: the name is not (yet) a constant.
        return Value::Bool(false);
    }
    let file = files.iter().find(|f| f.ns == ns);
    match name {
        "__MODULE__" => Value::str(if ns.is_empty() { "__main__" } else { ns }),
        "is_main" if !ns.is_empty() => Value::Builtin(builtin_names::IS_MAIN_IN_MODULE),
        "__file__" | "__FILE__" => file.map_or(Value::Undef, |f| Value::str(&f.file)),
        "__DIR__" => file.map_or(Value::Undef, |f| Value::str(&f.dir)),
        _ => builtin_names::builtin_id(name).map_or(Value::Undef, Value::Builtin),
    }
}

/// One module handed to the linker.
pub struct LinkModule<'a> {
    /// Its top level (a function chunk) with its functions as children.
    pub chunk: &'a Chunk,
    /// `N(M)`, also the namespace of its globals.
    pub name: String,
    /// `D(M)`.
    pub display: String,
    /// Its export list.
    pub exports: Vec<String>,
}

/// The file builtins of one file (MODULES.md §11).
#[derive(Debug, Clone, Default)]
pub struct FileNames {
    /// The namespace of its globals (`""` for the main file, else `N(M)`).
    pub ns: String,
    /// The canonical absolute path (`__file__`).
    pub file: String,
    /// Its directory (`__DIR__`).
    pub dir: String,
}

fn link_chunk(chunk: &Chunk, globals: &mut IndexMap<String, ()>, out: &mut Vec<Rc<Proto>>, next_id: &mut u32) -> u32 {
    let id = *next_id;
    *next_id += 1;
    let child_ids: Vec<u32> = chunk.children.iter().map(|c| link_chunk(c, globals, out, next_id)).collect();
    let global_ids: Vec<u32> = chunk
        .globals
        .iter()
        .map(|name| {
            let (idx, _) = globals.insert_full(name.clone(), ());
            idx as u32
        })
        .collect();
    let code = chunk
        .code
        .iter()
        .map(|op| match *op {
            Op::LoadGlobal { idx } => Op::LoadGlobal { idx: global_ids.get(idx as usize).copied().unwrap_or(idx) },
            Op::StoreGlobal { idx } => Op::StoreGlobal { idx: global_ids.get(idx as usize).copied().unwrap_or(idx) },
            Op::ImportLoad { idx } => Op::ImportLoad { idx: global_ids.get(idx as usize).copied().unwrap_or(idx) },
            Op::ImportStore { idx } => Op::ImportStore { idx: global_ids.get(idx as usize).copied().unwrap_or(idx) },
            Op::MakeClosure { proto } => {
                Op::MakeClosure { proto: child_ids.get(proto as usize).copied().unwrap_or(proto) }
            }
            other => other,
        })
        .collect();
    let consts = chunk
        .consts
        .iter()
        .map(|c| match c {
            Const::Int(i) => Value::Int(*i),
            Const::Float(f) => Value::Float(*f),
            Const::Str(s) => Value::Str(Rc::new(s.clone())),
        })
        .collect();
    out.push(Rc::new(Proto {
        id,
        name: chunk.name.clone(),
        is_top: chunk.is_top,
        arity: chunk.arity,
        min_arity: chunk.min_arity,
        n_slots: chunk.n_slots,
        code,
        exec: RegCode::default(),
        consts,
        spans: chunk.spans.clone(),
        slot_names: chunk.slot_names.clone(),
        cell_slots: chunk.cell_slots.clone(),
        captures: chunk.captures.clone(),
        free_names: chunk.free_names.clone(),
        loops: chunk.loops.clone(),
        loop_counters: chunk.loops.iter().map(|_| LoopCounter::default()).collect(),
        span: chunk.span,
        part_spans: chunk.part_spans.iter().cloned().collect(),
        handlers: chunk.handlers.clone(),
        qualified: None,
    }));
    id
}
