//! The canonical dump of a debugged VM's state, the yardstick of time travel: the state at
//! instruction k reached forward must dump exactly as the state reached by travelling back.
//!
//! It covers every frame's function and pc, the whole value stack (globals, locals, operands)
//! with lists and maps written out in full and shared ones named once (`#3=[...]`, later `#3`,
//! numbered in the order met, so aliasing is compared too), STATE and the open transactions,
//! the contract world as the views show it, the whole captured output, the counters and gas,
//! the exact execution counts, and the JIT's per-loop state (loop counters, compiled, refused
//! or blacklisted, entries, exits, bail-outs, native instructions), leaving out only what
//! differs between two identical runs: compile times and code addresses.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::Debugger;
use crate::vm::value::Value;

/// Nesting written out before a container is cut (deeper values are `…`).
const MAX_DUMP_DEPTH: usize = 64;

impl Debugger {
    /// The canonical text of the whole VM state (see the module docs).
    pub fn state_dump(&self) -> String {
        let vm = &self.session.vm;
        let mut out = String::new();
        let _ = writeln!(out, "position {}", vm.counters.instructions);
        let _ = writeln!(out, "counters {:?}", vm.counters);
        let _ = writeln!(out, "done {} failed {:?}", vm.is_done(), vm.failure().map(|e| e.to_string()));
        for (i, f) in vm.frames.iter().enumerate() {
            let _ = writeln!(out, "frame {i} {} pc {} base {}", f.proto.display_name(), f.ip, f.base);
        }
        let mut seen = HashMap::new();
        for (i, v) in vm.stack().iter().enumerate() {
            let mut text = String::new();
            dump_value(v, &mut text, &mut seen, 0);
            let _ = writeln!(out, "stack {i} {text}");
        }
        let _ = writeln!(out, "modules run {:?}", vm.modules_run);
        let mut state = String::new();
        for (k, d) in vm.ledger.committed() {
            state.clear();
            crate::vm::chain::canon(d, &mut state);
            let _ = writeln!(out, "state {k:?} = {state}");
        }
        for (depth, keys) in vm.ledger.overlay_keys().iter().enumerate() {
            let _ = writeln!(out, "transaction {depth} writes {keys:?}");
        }
        for key in vm.ledger.overlay_keys().concat() {
            state.clear();
            if let Some(d) = vm.ledger.get(&key) {
                crate::vm::chain::canon(d, &mut state);
            }
            let _ = writeln!(out, "pending {key:?} = {state}");
        }
        let _ = writeln!(out, "emitted {}", vm.ledger.contracts.emitted);
        if let Some(log) = &self.session.text.output {
            let (lines, total) = log.tail(usize::MAX);
            let _ = writeln!(out, "output {total} lines");
            for line in lines {
                let _ = writeln!(out, "| {line}");
            }
        }
        for p in &vm.program.protos {
            for (i, c) in p.loop_counters.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "loop {} #{i} iterations {} decided {} compiled {}",
                    p.display_name(),
                    c.iterations.get(),
                    c.decided.get(),
                    c.compiled.get()
                );
            }
        }
        for l in self.session.jit_info().loops {
            let _ = writeln!(
                out,
                "jit {} #{} {:?} compilations {} entries {} bailouts {} native {} bytes {} exits {:?} registers {:?}",
                l.function,
                l.loop_id,
                l.status,
                l.compilations,
                l.entries,
                l.bailouts,
                l.native_instructions,
                l.native_bytes,
                l.exits,
                l.registers
            );
        }
        // The views' data: contracts, events, transactions, locals and the exact counts.
        let snap = self.session.snapshot();
        let _ = writeln!(out, "contracts {:?}", snap.contracts);
        let _ = writeln!(out, "events {} {:?}", snap.events_len, snap.events);
        let _ = writeln!(out, "transactions {:?}", snap.transactions);
        let _ = writeln!(out, "frames {:?}", snap.frames);
        let _ = writeln!(out, "error {:?}", snap.error);
        let _ = writeln!(out, "last rollback {:?}", self.last_rollback);
        if let Some(p) = &snap.profile {
            let _ = writeln!(out, "counts {:?}", p.instructions);
        }
        out
    }
}

/// Writes `v` in full, naming each list, map, cell, closure and object the first time it is
/// met (`#N=`) and referring to it by number afterwards.
fn dump_value(v: &Value, out: &mut String, seen: &mut HashMap<usize, usize>, depth: usize) {
    if depth > MAX_DUMP_DEPTH {
        out.push('…');
        return;
    }
    let ptr = match v {
        Value::List(l) => Some(std::rc::Rc::as_ptr(l) as *const () as usize),
        Value::Map(m) => Some(std::rc::Rc::as_ptr(m) as *const () as usize),
        Value::Cell(c) => Some(std::rc::Rc::as_ptr(c) as *const () as usize),
        Value::Func(f) => Some(std::rc::Rc::as_ptr(f) as *const () as usize),
        Value::Obj(o) => Some(std::rc::Rc::as_ptr(o) as *const () as usize),
        _ => None,
    };
    if let Some(ptr) = ptr {
        if let Some(n) = seen.get(&ptr) {
            let _ = write!(out, "#{n}");
            return;
        }
        let n = seen.len() + 1;
        seen.insert(ptr, n);
        let _ = write!(out, "#{n}=");
    }
    match v {
        Value::List(l) => match l.try_borrow() {
            Ok(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    dump_value(item, out, seen, depth + 1);
                }
                out.push(']');
            }
            Err(_) => out.push_str("[borrowed]"),
        },
        Value::Map(m) => match m.try_borrow() {
            Ok(entries) => {
                out.push('{');
                for (i, (k, item)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    crate::text::repr_str(k, out);
                    out.push_str(": ");
                    dump_value(item, out, seen, depth + 1);
                }
                out.push('}');
            }
            Err(_) => out.push_str("{borrowed}"),
        },
        Value::Cell(c) => match c.try_borrow() {
            Ok(inner) => {
                out.push_str("cell(");
                dump_value(&inner, out, seen, depth + 1);
                out.push(')');
            }
            Err(_) => out.push_str("cell(borrowed)"),
        },
        Value::Func(f) => {
            let _ = write!(out, "fn {} this {} bound {} [", f.proto.display_name(), f.this, f.bound);
            for (i, c) in f.upvalues.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                dump_value(&Value::Cell(c.clone()), out, seen, depth + 1);
            }
            out.push(']');
        }
        other => out.push_str(&crate::vm::preview::preview(other)),
    }
}
