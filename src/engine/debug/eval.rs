//! Evaluating a Zexus expression in a stopped frame: the condition of a conditional
//! breakpoint (and the building block of watch expressions and the expression prompt).
//!
//! The expression is compiled with the ordinary compiler as a one-line program
//! `let %r = (EXPR)`; its free names are globals of that small program, and before it runs
//! each one is given the value of the frame's local of that name, else the debugged program's
//! global of that name. It runs on a VM of its own with a copy of STATE, its output thrown
//! away and a step limit, so a condition cannot print, write STATE, use the program's gas or
//! hang the debugger.

use std::rc::Rc;

use crate::diag::Severity;
use crate::vm::interp::{Halt, Vm, VmConfig};
use crate::vm::preview::preview;
use crate::vm::value::Value;

/// The most instructions one evaluation may run.
pub const EVAL_STEP_LIMIT: u64 = 100_000;

/// The most list items and map entries one evaluation copies out of the program.
const MAX_COPIED: usize = 100_000;

/// The global the expression's value is left in (not a name a program can spell).
const RESULT: &str = "__zexus_eval_result";

/// The value of `expr` in frame `frame` (0 = outermost) of `vm`, or a message saying why it
/// could not be evaluated (a compile error, a runtime error, the step limit).
pub fn eval_in_frame(vm: &Vm, frame: usize, expr: &str) -> Result<Value, String> {
    if expr.trim().is_empty() {
        return Err("empty expression".to_string());
    }
    if expr.contains('\n') {
        return Err("an expression is one line".to_string());
    }
    let src = format!("let {RESULT} = ({expr})\n");
    let (ast, diags) = crate::syntax::parse(&src);
    if let Some(d) = diags.iter().find(|d| d.severity == Severity::Error) {
        return Err(d.message.clone());
    }
    if !is_single_let(&ast) {
        return Err("not a single expression".to_string());
    }
    let (chunk, diags) = crate::compile::compile_program(&ast, src.len());
    if let Some(d) = diags.iter().find(|d| d.severity == Severity::Error) {
        return Err(d.message.clone());
    }
    let mut program = crate::vm::program::link(&chunk);
    let Some(result_idx) = program.global_names.iter().position(|n| n == RESULT) else {
        return Err("internal error: no result global".to_string());
    };
    for (idx, name) in program.global_names.clone().iter().enumerate() {
        if idx == result_idx || name.starts_with('%') {
            continue;
        }
        if let Some(v) = lookup(vm, frame, name)
            && let Some(slot) = program.global_init.get_mut(idx)
        {
            let mut budget = MAX_COPIED;
            *slot = copy_value(&v, &mut budget).map_err(|e| format!("`{name}`: {e}"))?;
        }
    }
    let config = VmConfig { max_steps: Some(EVAL_STEP_LIMIT), ..VmConfig::default() };
    let mut eval = Vm::new(Rc::new(program), config, Box::new(std::io::sink()));
    eval.ledger = vm.ledger.clone();
    match eval.run(EVAL_STEP_LIMIT + 1) {
        Halt::Finished => {}
        Halt::Error(e) => return Err(e.message),
        Halt::Budget => return Err(format!("did not finish in {EVAL_STEP_LIMIT} instructions")),
    }
    match eval.stack().get(result_idx) {
        Some(Value::Undef) | None => Err("internal error: no result".to_string()),
        Some(v) => Ok(v.clone()),
    }
}

/// `expr` evaluated as a condition: its truth, or why it could not be evaluated.
pub fn condition_holds(vm: &Vm, frame: usize, expr: &str) -> Result<bool, String> {
    eval_in_frame(vm, frame, expr).map(|v| v.truthy())
}

/// `expr`'s value as the debugger's views show values.
pub fn eval_preview(vm: &Vm, frame: usize, expr: &str) -> Result<String, String> {
    eval_in_frame(vm, frame, expr).map(|v| preview(&v))
}

/// Watch expressions (gdb's `display`) in the innermost frame of `vm`: each expression with
/// its value, or `⚠ ` and why it has none.
pub fn displays(vm: &Vm, exprs: &[String]) -> Vec<crate::engine::snapshot::Binding> {
    let frame = vm.frames.len().saturating_sub(1);
    let show = |expr: &String| {
        let value = eval_preview(vm, frame, expr).unwrap_or_else(|why| format!("⚠ {why}"));
        crate::engine::snapshot::Binding { name: expr.clone(), value }
    };
    exprs.iter().map(show).collect()
}

/// The value `name` has in frame `frame`: its local (the latest-declared slot of that name
/// that holds a value), else the program's global.
pub fn lookup(vm: &Vm, frame: usize, name: &str) -> Option<Value> {
    let stack = vm.stack();
    if let Some(f) = vm.frames.get(frame) {
        let names = &f.proto.slot_names;
        for (slot, slot_name) in names.iter().enumerate().rev() {
            if slot_name == name
                && let Some(v) = stack.get(f.base + slot)
                && !matches!(v, Value::Undef)
            {
                return Some(v.clone());
            }
        }
    }
    let idx = vm.program.global_names.iter().position(|n| n == name)?;
    match stack.get(idx)? {
        Value::Undef => None,
        v => Some(v.clone()),
    }
}

/// A copy of `v` the evaluation may change freely: lists and maps are copied deeply (the
/// program's own stay untouched); functions, contract instances and modules belong to the
/// debugged program's code and registries, so an expression cannot use them.
fn copy_value(v: &Value, budget: &mut usize) -> Result<Value, String> {
    copy_nested(v, budget, 0)
}

/// [`copy_value`] at nesting `depth`: a value nested deeper than the VM allows (or a list that
/// contains itself) is refused instead of recursing without end.
fn copy_nested(v: &Value, budget: &mut usize, depth: usize) -> Result<Value, String> {
    if depth > crate::vm::value::MAX_VALUE_DEPTH {
        return Err("nested too deeply (or contains itself) to copy for an expression".to_string());
    }
    let copy_value = |x: &Value, budget: &mut usize| copy_nested(x, budget, depth + 1);
    Ok(match v {
        Value::List(items) => {
            let items = items.0.borrow();
            *budget = budget.checked_sub(items.len()).ok_or("too large to copy for an expression")?;
            Value::list(items.iter().map(|x| copy_value(x, budget)).collect::<Result<_, _>>()?)
        }
        Value::Map(entries) => {
            let entries = entries.0.borrow();
            *budget = budget.checked_sub(entries.len()).ok_or("too large to copy for an expression")?;
            let mut out = indexmap::IndexMap::with_capacity(entries.len());
            for (k, x) in entries.iter() {
                out.insert(k.clone(), copy_value(x, budget)?);
            }
            Value::map(out)
        }
        Value::Cell(cell) => copy_value(&cell.borrow(), budget)?,
        Value::Func(_) | Value::Obj(_) | Value::Module(_) => {
            return Err("functions, contract instances and modules cannot be used in an expression".to_string());
        }
        other => other.clone(),
    })
}

fn is_single_let(ast: &crate::syntax::ast::AstProgram) -> bool {
    ast.stmts.len() == 1
}

#[cfg(test)]
mod cyclic_tests {
    use super::*;

    #[test]
    fn a_list_that_contains_itself_is_refused_not_recursed_into() {
        // On a stack as large as the TUI worker's (tui/worker.rs), where the debugger runs.
        let run = || {
            let list = Value::list(vec![Value::Int(1)]);
            if let Value::List(items) = &list {
                items.0.borrow_mut().push(list.clone());
            }
            let mut budget = MAX_COPIED;
            let result = copy_value(&list, &mut budget).map(|_| ());
            if let Value::List(items) = &list {
                items.0.borrow_mut().clear(); // break the cycle so the test does not leak it
            }
            result
        };
        let handle = std::thread::Builder::new().stack_size(64 << 20).spawn(run).expect("test thread");
        let err = handle.join().expect("no overflow").expect_err("a cycle cannot be copied");
        assert!(err.contains("contains itself"), "{err}");
    }
}
