//! Lowers the AST of one unit (the top level, or a function with its nested functions) to
//! bytecode, resolving every name statically to a frame slot, a cell, a captured variable or a
//! global (LANGUAGE.md §5.2).

// A `Diagnostic` is large, but an error ends lowering of the unit, so the size of the `Err`
// variant costs nothing on the path that matters.
#![allow(clippy::result_large_err)]

use std::collections::{BTreeSet, HashMap};
use std::rc::Rc;

use indexmap::{IndexMap, IndexSet};

use super::scope::{captured_by_children, children_of_stmts, const_flag_name, declared_names};
use crate::bytecode::chunk::{Capture, Chunk, Const, LoopInfo};
use crate::bytecode::op::Op;
use crate::diag::Diagnostic;
use crate::syntax::ast::*;
use crate::syntax::span::Span;

/// Where a name lives, as seen from the function being compiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Var {
    /// A plain frame slot (in the top level: a global).
    Slot(u16),
    /// A frame slot holding a cell.
    Cell(u16),
    /// A captured variable of the running closure.
    Free(u16),
    /// A global reached from inside a function (index into the chunk's `globals`).
    Global(u32),
}

struct LoopCtx {
    /// Index of the `LoopBack` (where `continue` jumps), known once the body is compiled.
    continues: Vec<usize>,
    breaks: Vec<usize>,
    /// Number of enclosing `try` statements of the function when the loop began.
    tries: usize,
}

#[derive(Hash, PartialEq, Eq)]
enum ConstKey {
    Int(i64),
    Float(u64),
    Str(String),
}

struct FuncState {
    chunk: Chunk,
    /// Declared names and their slots (the top level: every global it uses).
    slots: IndexMap<String, u16>,
    /// Declared names of this function (for const-flag ownership).
    declared: IndexSet<String>,
    cells: BTreeSet<String>,
    frees: IndexMap<String, u16>,
    globals: IndexMap<String, u32>,
    loops: Vec<LoopCtx>,
    consts: HashMap<ConstKey, u32>,
    hidden_counter: u32,
    /// The `try` statements being lowered, innermost last.
    tries: Vec<TryCtx>,
}

/// Compiles one unit. Nested functions become `children`.
pub struct Lowerer {
    stack: Vec<FuncState>,
    diags: Vec<Diagnostic>,
    /// When compiling the top level as a unit on its own: the index of every function it
    /// creates (by address), which `MakeClosure` names instead of compiling the body.
    deferred: Option<HashMap<usize, u32>>,
    /// The file being compiled (its namespace and resolved `use` statements).
    file: Rc<FileCtx>,
}

type Result<T> = std::result::Result<T, Diagnostic>;

mod contracts;
mod errors;
pub mod modules;
use errors::{ExitKind, TryCtx};
pub use modules::{FileCtx, UseTarget};

fn limit_error(what: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0190", format!("syntax error: too many {what}"), span)
        .with_label(format!("this exceeds the limit on {what}"))
}

impl Lowerer {
    /// Compiles the top-level statements of a program into the top-level chunk. Top-level
    /// functions are compiled into `children` as well.
    ///
    /// This is the whole-program path; the unit-wise path ([`Lowerer::compile_top_unit`] and
    /// [`Lowerer::compile_function_unit`], reassembled by `compile::compile_program`) must
    /// produce exactly the same chunk tree.
    pub fn compile_top(program: &AstProgram, span: Span) -> (Chunk, Vec<Diagnostic>) {
        Lowerer::compile_top_with(program, span, None)
    }

    /// Compiles the top level as a unit of its own: the function `units[i]` (see
    /// [`top_level_units`]) is created by `MakeClosure { proto: i }` and not compiled, and the
    /// chunk's `children` stay empty until the units are reassembled.
    pub fn compile_top_unit(program: &AstProgram, span: Span, units: &[&AstFunc]) -> (Chunk, Vec<Diagnostic>) {
        let index = units.iter().enumerate().map(|(i, f)| (func_address(f), i as u32)).collect();
        Lowerer::compile_top_with(program, span, Some(index))
    }

    /// Compiles one top-level function, with the functions nested inside it, as a unit of its
    /// own. Its code does not depend on the top level: its free names are globals.
    pub fn compile_function_unit(func: &AstFunc) -> (Option<Chunk>, Vec<Diagnostic>) {
        Lowerer::compile_function_unit_in(func, Rc::default())
    }

    /// [`Lowerer::compile_function_unit`] for a function of the file `file`.
    pub fn compile_function_unit_in(func: &AstFunc, file: Rc<FileCtx>) -> (Option<Chunk>, Vec<Diagnostic>) {
        let mut lw = Lowerer { stack: Vec::new(), diags: Vec::new(), deferred: None, file };
        // The same stack shape as in the whole-program path: an (empty) top level below.
        let top = Chunk::new(None, true, func.span);
        lw.stack.push(FuncState::new(top, IndexSet::new(), BTreeSet::new()));
        match lw.function(func) {
            Ok(chunk) => (Some(chunk), lw.diags),
            Err(d) => {
                lw.diags.push(d);
                (None, lw.diags)
            }
        }
    }

    /// Compiles the top level of the main file of a multi-file program (as
    /// [`Lowerer::compile_top_unit`], with its `use` statements resolved by `file`).
    pub fn compile_main_unit(
        program: &AstProgram,
        span: Span,
        units: &[&AstFunc],
        file: Rc<FileCtx>,
    ) -> (Chunk, Vec<Diagnostic>) {
        let index = units.iter().enumerate().map(|(i, f)| (func_address(f), i as u32)).collect();
        let mut lw = Lowerer { stack: Vec::new(), diags: Vec::new(), deferred: Some(index), file };
        lw.top_body(program, span)
    }

    /// Compiles the top level of a module as a unit of its own: a function of no parameters
    /// named `<module>` whose names are all globals of the module's namespace (MODULES.md §6).
    pub fn compile_module_unit(
        program: &AstProgram,
        span: Span,
        units: &[&AstFunc],
        file: Rc<FileCtx>,
    ) -> (Chunk, Vec<Diagnostic>) {
        let index = units.iter().enumerate().map(|(i, f)| (func_address(f), i as u32)).collect();
        let mut lw = Lowerer { stack: Vec::new(), diags: Vec::new(), deferred: Some(index), file };
        let chunk = Chunk::new(Some("<module>".to_string()), false, span);
        lw.stack.push(FuncState::new(chunk, IndexSet::new(), BTreeSet::new()));
        if let Err(d) = lw.body(&program.stmts) {
            lw.diags.push(d);
        }
        let end = Span::new(span.end as usize, span.end as usize);
        lw.emit(Op::ReturnNull, end);
        let state = lw.stack.pop();
        let chunk = state.map(FuncState::finish).unwrap_or_else(|| Chunk::new(None, false, span));
        (chunk, lw.diags)
    }

    fn compile_top_with(
        program: &AstProgram,
        span: Span,
        deferred: Option<HashMap<usize, u32>>,
    ) -> (Chunk, Vec<Diagnostic>) {
        let mut lw = Lowerer { stack: Vec::new(), diags: Vec::new(), deferred, file: Rc::default() };
        lw.top_body(program, span)
    }

    fn top_body(&mut self, program: &AstProgram, span: Span) -> (Chunk, Vec<Diagnostic>) {
        let lw = self;
        let declared = declared_names(&[], &program.stmts);
        lw.stack.push(FuncState::new(Chunk::new(None, true, span), declared, BTreeSet::new()));
        // The top level's declared names become its first slots, in order of appearance, so
        // listings are stable; other referenced globals are added as they are met.
        let names: Vec<String> = lw.top().declared.iter().cloned().collect();
        for name in names {
            if let Err(d) = lw.top_slot(&name, span) {
                lw.diags.push(d);
                return (
                    lw.stack.pop().map(|s| s.chunk).unwrap_or_else(|| Chunk::new(None, true, span)),
                    std::mem::take(&mut lw.diags),
                );
            }
        }
        if let Err(d) = lw.body(&program.stmts) {
            lw.diags.push(d);
        }
        let end = Span::new(span.end as usize, span.end as usize);
        lw.emit(Op::Halt, end);
        let state = lw.stack.pop();
        let chunk = state.map(FuncState::finish).unwrap_or_else(|| Chunk::new(None, true, span));
        (chunk, std::mem::take(&mut lw.diags))
    }

    fn top(&mut self) -> &mut FuncState {
        let last = self.stack.len() - 1;
        &mut self.stack[last]
    }

    fn emit(&mut self, op: Op, span: Span) -> usize {
        let chunk = &mut self.top().chunk;
        chunk.code.push(op);
        chunk.spans.push(span);
        chunk.code.len() - 1
    }

    fn here(&mut self) -> u32 {
        self.top().chunk.code.len() as u32
    }

    fn patch(&mut self, at: usize, target: u32) {
        self.top().chunk.code[at].set_jump_target(target);
    }

    fn constant(&mut self, key: ConstKey, span: Span) -> Result<u32> {
        let state = self.top();
        if let Some(&idx) = state.consts.get(&key) {
            return Ok(idx);
        }
        let idx = u32::try_from(state.chunk.consts.len()).map_err(|_| limit_error("constants", span))?;
        state.chunk.consts.push(match &key {
            ConstKey::Int(i) => Const::Int(*i),
            ConstKey::Float(bits) => Const::Float(f64::from_bits(*bits)),
            ConstKey::Str(s) => Const::Str(s.clone()),
        });
        state.consts.insert(key, idx);
        Ok(idx)
    }

    fn str_const(&mut self, s: &str, span: Span) -> Result<u32> {
        self.constant(ConstKey::Str(s.to_string()), span)
    }

    fn top_slot(&mut self, name: &str, span: Span) -> Result<u16> {
        let state = self.top();
        if let Some(&slot) = state.slots.get(name) {
            return Ok(slot);
        }
        let slot = u16::try_from(state.slots.len()).map_err(|_| limit_error("variables in one scope", span))?;
        state.slots.insert(name.to_string(), slot);
        Ok(slot)
    }

    // ---- name resolution -------------------------------------------------------------------

    /// Resolves `name` from the innermost function; returns the variable and the stack level of
    /// the function that owns it (`None` for globals).
    fn resolve(&mut self, name: &str, span: Span) -> Result<(Var, Option<usize>)> {
        let level = self.stack.len() - 1;
        if self.stack[level].chunk.is_top {
            return Ok((Var::Slot(self.top_slot(name, span)?), None));
        }
        if let Some(v) = self.local_var(level, name) {
            return Ok((v, Some(level)));
        }
        if let Some(&idx) = self.stack[level].frees.get(name) {
            let owner = self.owner_of(level, name);
            return Ok((Var::Free(idx), owner));
        }
        // Search enclosing functions (never the top level: its names are globals).
        let mut found = None;
        for j in (0..level).rev() {
            if self.stack[j].chunk.is_top {
                break;
            }
            if self.stack[j].slots.contains_key(name) {
                found = Some(j);
                break;
            }
        }
        match found {
            Some(owner) => {
                let idx = self.capture_chain(owner, level, name, span)?;
                Ok((Var::Free(idx), Some(owner)))
            }
            None => {
                let global = self.file.global(name);
                let state = &mut self.stack[level];
                let next = state.globals.len() as u32;
                let idx = *state.globals.entry(global).or_insert(next);
                Ok((Var::Global(idx), None))
            }
        }
    }

    fn owner_of(&self, level: usize, name: &str) -> Option<usize> {
        (0..level).rev().find(|&j| !self.stack[j].chunk.is_top && self.stack[j].slots.contains_key(name))
    }

    fn local_var(&self, level: usize, name: &str) -> Option<Var> {
        let state = &self.stack[level];
        let slot = *state.slots.get(name)?;
        Some(if state.cells.contains(name) { Var::Cell(slot) } else { Var::Slot(slot) })
    }

    /// Threads a captured variable from the function at `owner` down to `level`, adding it to
    /// the free variables of every function in between. Returns its index at `level`.
    fn capture_chain(&mut self, owner: usize, level: usize, name: &str, span: Span) -> Result<u16> {
        let mut source = match self.stack[owner].slots.get(name) {
            Some(&slot) => Capture::Cell(slot),
            None => Capture::Cell(0),
        };
        for j in owner + 1..=level {
            let state = &mut self.stack[j];
            let idx = match state.frees.get(name) {
                Some(&idx) => idx,
                None => {
                    let idx = u16::try_from(state.frees.len()).map_err(|_| limit_error("captured variables", span))?;
                    state.frees.insert(name.to_string(), idx);
                    state.chunk.captures.push(source);
                    state.chunk.free_names.push(name.to_string());
                    idx
                }
            };
            source = Capture::Free(idx);
        }
        match source {
            Capture::Free(idx) => Ok(idx),
            Capture::Cell(_) => Err(limit_error("captured variables", span)),
        }
    }

    fn load(&mut self, name: &str, span: Span) -> Result<()> {
        let (var, _) = self.resolve(name, span)?;
        let op = match var {
            Var::Slot(slot) => Op::LoadLocal { slot },
            Var::Cell(slot) => Op::LoadCell { slot },
            Var::Free(idx) => Op::LoadFree { idx },
            Var::Global(idx) => Op::LoadGlobal { idx },
        };
        self.emit(op, span);
        Ok(())
    }

    /// Emits the const check (when `name` may be constant) and the store of the value on top.
    fn store(&mut self, name: &str, span: Span) -> Result<()> {
        let (var, owner) = self.resolve(name, span)?;
        let flag = const_flag_name(name);
        let needs_check = match (var, owner) {
            (Var::Global(_), _) => true,
            (_, Some(level)) => self.stack[level].declared.contains(&flag),
            (_, None) => self.stack[0].declared.contains(&flag),
        };
        if needs_check {
            self.load(&flag, span)?;
            let name_idx = self.str_const(name, span)?;
            self.emit(Op::CheckConst { name: name_idx }, span);
        }
        self.store_plain(var, span);
        Ok(())
    }

    fn store_plain(&mut self, var: Var, span: Span) {
        let op = match var {
            Var::Slot(slot) => Op::StoreLocal { slot },
            Var::Cell(slot) => Op::StoreCell { slot },
            Var::Free(idx) => Op::StoreFree { idx },
            Var::Global(idx) => Op::StoreGlobal { idx },
        };
        self.emit(op, span);
    }

    fn mark_const(&mut self, name: &str, span: Span) -> Result<()> {
        let flag = const_flag_name(name);
        let (var, _) = self.resolve(&flag, span)?;
        self.emit(Op::True, span);
        self.store_plain(var, span);
        Ok(())
    }

    fn hidden_slot_pair(&mut self, span: Span) -> Result<u16> {
        self.hidden_loop_slots(span, false)
    }

    /// Consecutive hidden slots of a for-each loop: the sequence and the position, plus the
    /// iterable itself when `with_source` (two-variable loops).
    fn hidden_loop_slots(&mut self, span: Span, with_source: bool) -> Result<u16> {
        let state = self.top();
        let n = state.hidden_counter;
        state.hidden_counter += 1;
        let mut names = vec![format!("%for{n}"), format!("%for{n}.pos")];
        if with_source {
            names.push(format!("%for{n}.src"));
        }
        if self.top().chunk.is_top {
            let slot = self.top_slot(&names[0], span)?;
            for (i, name) in names.iter().enumerate().skip(1) {
                let next = self.top_slot(name, span)?;
                if u32::from(next) != u32::from(slot) + i as u32 {
                    return Err(limit_error("variables in one scope", span));
                }
            }
            Ok(slot)
        } else {
            let state = self.top();
            let slot = u16::try_from(state.slots.len()).map_err(|_| limit_error("variables in one function", span))?;
            if usize::from(slot) + names.len() > usize::from(u16::MAX) {
                return Err(limit_error("variables in one function", span));
            }
            for (i, name) in names.into_iter().enumerate() {
                state.slots.insert(name, slot + i as u16);
            }
            Ok(slot)
        }
    }

    // ---- statements ------------------------------------------------------------------------

    /// Compiles a function or program body: hoisted declarations first, then the statements.
    fn body(&mut self, stmts: &[AstStmt]) -> Result<()> {
        for stmt in stmts {
            if let AstStmtKind::Func(func) = &stmt.kind {
                self.closure(func)?;
                if let Some(name) = &func.name {
                    self.store(&name.name, name.span)?;
                }
            }
        }
        for stmt in stmts {
            if matches!(stmt.kind, AstStmtKind::Func(_)) {
                continue;
            }
            self.stmt(stmt)?;
        }
        Ok(())
    }

    fn block(&mut self, stmts: &[AstStmt]) -> Result<()> {
        stmts.iter().try_for_each(|s| self.stmt(s))
    }

    fn stmt(&mut self, stmt: &AstStmt) -> Result<()> {
        let span = stmt.span;
        match &stmt.kind {
            AstStmtKind::Let { name, is_const, value } => {
                self.expr(value)?;
                // A `let`/`const` over a constant is reported at the statement's keyword, as
                // the spec's model does (ARCHITECTURE.md, language decisions).
                self.store(&name.name, span)?;
                if *is_const {
                    self.mark_const(&name.name, name.span)?;
                }
            }
            AstStmtKind::Func(func) => {
                // Declarations nested in blocks are bound when reached.
                self.closure(func)?;
                if let Some(name) = &func.name {
                    self.store(&name.name, name.span)?;
                }
            }
            AstStmtKind::If { branches, else_body } => self.if_stmt(branches, else_body.as_deref())?,
            AstStmtKind::While { cond, body } => self.while_stmt(cond, body, span)?,
            AstStmtKind::ForEach { var, key: None, iterable, body } => self.for_stmt(var, iterable, body, span)?,
            AstStmtKind::ForEach { var, key: Some(key), iterable, body } => {
                self.for2_stmt(key, var, iterable, body, span)?
            }
            AstStmtKind::Break if self.in_try() => self.exit_stmt(ExitKind::Break, None, span)?,
            AstStmtKind::Continue if self.in_try() => self.exit_stmt(ExitKind::Continue, None, span)?,
            AstStmtKind::Return(value) if self.in_try() => {
                self.exit_stmt(ExitKind::Return { value: value.is_some() }, value.as_ref(), span)?
            }
            AstStmtKind::Break => {
                let at = self.emit(Op::Jump { target: 0 }, span);
                if let Some(l) = self.top().loops.last_mut() {
                    l.breaks.push(at);
                }
            }
            AstStmtKind::Continue => {
                let at = self.emit(Op::Jump { target: 0 }, span);
                if let Some(l) = self.top().loops.last_mut() {
                    l.continues.push(at);
                }
            }
            AstStmtKind::Return(value) => match value {
                Some(e) => {
                    self.expr(e)?;
                    self.emit(Op::Return, span);
                }
                None => {
                    self.emit(Op::ReturnNull, span);
                }
            },
            AstStmtKind::Print(args) => {
                for a in args {
                    self.expr(a)?;
                }
                let n = u16::try_from(args.len()).map_err(|_| limit_error("print arguments", span))?;
                self.emit(Op::Print { n }, span);
            }
            AstStmtKind::Assign { target, op, op_span, value } => self.assign(target, *op, *op_span, value)?,
            AstStmtKind::Expr(e) => {
                self.expr(e)?;
                self.emit(Op::Pop, span);
            }
            AstStmtKind::Block(body) => self.block(body)?,
            AstStmtKind::StateSet { key, op, op_span, value } => {
                self.expr(key)?;
                if *op != AssignOp::Set {
                    self.emit(Op::Dup, *op_span);
                    self.emit(Op::StateGet, key.span);
                    self.expr(value)?;
                    self.emit(compound_op(*op), *op_span);
                } else {
                    self.expr(value)?;
                }
                self.emit(Op::StateSet, *op_span);
            }
            AstStmtKind::TxBegin => {
                self.emit(Op::TxBegin, span);
            }
            AstStmtKind::TxCommit => {
                self.emit(Op::TxCommit, span);
            }
            AstStmtKind::TxRevert => {
                self.emit(Op::TxRevert, span);
            }
            AstStmtKind::Verify { cond, message } => {
                self.expr(cond)?;
                match message {
                    Some(m) => self.expr(m)?,
                    None => {
                        let idx = self.str_const("verification failed", span)?;
                        self.emit(Op::Const { idx }, span);
                    }
                }
                self.emit(Op::Verify, span);
            }
            AstStmtKind::Try { body, catch, finally } => self.try_stmt(body, catch.as_ref(), finally.as_ref(), span)?,
            AstStmtKind::Throw { value, kw } => self.throw_stmt(value, *kw)?,
            AstStmtKind::Require { cond, message, kw } => self.require_stmt(cond, message.as_ref(), *kw)?,
            AstStmtKind::Revert { message, kw } => self.revert_stmt(message.as_ref(), *kw)?,
            AstStmtKind::Emit { name, args } => self.emit_stmt(name, args)?,
            AstStmtKind::Use(u) => self.use_stmt(u)?,
        }
        Ok(())
    }

    fn if_stmt(&mut self, branches: &[(AstExpr, Vec<AstStmt>)], else_body: Option<&[AstStmt]>) -> Result<()> {
        let mut ends = Vec::new();
        for (i, (cond, body)) in branches.iter().enumerate() {
            self.expr(cond)?;
            let skip = self.emit(Op::JumpIfFalse { target: 0 }, cond.span);
            self.block(body)?;
            let last = i + 1 == branches.len() && else_body.is_none();
            if !last {
                ends.push(self.emit(Op::Jump { target: 0 }, cond.span));
            }
            let here = self.here();
            self.patch(skip, here);
        }
        if let Some(body) = else_body {
            self.block(body)?;
        }
        let end = self.here();
        for at in ends {
            self.patch(at, end);
        }
        Ok(())
    }

    fn begin_loop(&mut self) {
        let tries = self.top().tries.len();
        self.top().loops.push(LoopCtx { continues: Vec::new(), breaks: Vec::new(), tries });
    }

    /// Emits the back-edge to `header`, patches `continue`/`break`, and records the loop.
    fn end_loop(&mut self, header: u32, span: Span) -> Result<()> {
        let loop_id =
            u16::try_from(self.top().chunk.loops.len()).map_err(|_| limit_error("loops in one function", span))?;
        let back = self.emit(Op::LoopBack { target: header, loop_id }, span);
        let exit = self.here();
        let ctx = self.top().loops.pop();
        if let Some(ctx) = ctx {
            for at in ctx.continues {
                self.patch(at, back as u32);
            }
            for at in ctx.breaks {
                self.patch(at, exit);
            }
        }
        self.top().chunk.loops.push(LoopInfo { header, back_edge: back as u32, exit });
        Ok(())
    }

    fn while_stmt(&mut self, cond: &AstExpr, body: &[AstStmt], span: Span) -> Result<()> {
        let header = self.here();
        self.expr(cond)?;
        let exit_jump = self.emit(Op::JumpIfFalse { target: 0 }, cond.span);
        self.begin_loop();
        self.block(body)?;
        self.end_loop(header, span)?;
        let exit = self.here();
        self.patch(exit_jump, exit);
        Ok(())
    }

    fn for_stmt(&mut self, var: &AstIdent, iterable: &AstExpr, body: &[AstStmt], span: Span) -> Result<()> {
        self.expr(iterable)?;
        let slot = self.hidden_slot_pair(span)?;
        self.emit(Op::ForPrep { slot }, iterable.span);
        let header = self.here();
        let next = self.emit(Op::ForNext { slot, exit: 0 }, var.span);
        self.store(&var.name, var.span)?;
        self.begin_loop();
        self.block(body)?;
        self.end_loop(header, span)?;
        let exit = self.here();
        self.patch(next, exit);
        Ok(())
    }

    /// `for each key, var in iterable`: like `for_stmt`, with the index or key stored too.
    fn for2_stmt(
        &mut self,
        key: &AstIdent,
        var: &AstIdent,
        iterable: &AstExpr,
        body: &[AstStmt],
        span: Span,
    ) -> Result<()> {
        self.expr(iterable)?;
        let slot = self.hidden_loop_slots(span, true)?;
        self.emit(Op::ForPrep2 { slot }, iterable.span);
        let header = self.here();
        let next = self.emit(Op::ForNext2 { slot, exit: 0 }, var.span);
        self.store(&var.name, var.span)?;
        self.store(&key.name, key.span)?;
        self.begin_loop();
        self.block(body)?;
        self.end_loop(header, span)?;
        let exit = self.here();
        self.patch(next, exit);
        Ok(())
    }

    fn assign(&mut self, target: &AstTarget, op: AssignOp, op_span: Span, value: &AstExpr) -> Result<()> {
        match target {
            AstTarget::Name(id) => {
                if op != AssignOp::Set {
                    self.load(&id.name, id.span)?;
                    self.expr(value)?;
                    self.emit(compound_op(op), op_span);
                } else {
                    self.expr(value)?;
                }
                self.store(&id.name, id.span)
            }
            AstTarget::Index { object, index, bracket } => {
                self.expr(object)?;
                self.expr(index)?;
                if op != AssignOp::Set {
                    self.emit(Op::Dup2, *bracket);
                    self.emit(Op::Index, *bracket);
                    self.expr(value)?;
                    self.emit(compound_op(op), op_span);
                } else {
                    self.expr(value)?;
                }
                self.emit(Op::SetIndex, *bracket);
                Ok(())
            }
            AstTarget::Member { object, name } => {
                self.expr(object)?;
                let idx = self.str_const(&name.name, name.span)?;
                if op != AssignOp::Set {
                    self.emit(Op::Dup, name.span);
                    self.emit(Op::GetMember { name: idx }, name.span);
                    self.expr(value)?;
                    self.emit(compound_op(op), op_span);
                } else {
                    self.expr(value)?;
                }
                self.emit(Op::SetMember { name: idx }, name.span);
                Ok(())
            }
        }
    }

    // ---- expressions -----------------------------------------------------------------------

    fn expr(&mut self, e: &AstExpr) -> Result<()> {
        let span = e.span;
        match &e.kind {
            AstExprKind::Int(i) => {
                match i32::try_from(*i) {
                    Ok(value) => self.emit(Op::Int { value }, span),
                    Err(_) => {
                        let idx = self.constant(ConstKey::Int(*i), span)?;
                        self.emit(Op::Const { idx }, span)
                    }
                };
            }
            AstExprKind::Float(f) => {
                let idx = self.constant(ConstKey::Float(f.to_bits()), span)?;
                self.emit(Op::Const { idx }, span);
            }
            AstExprKind::Str(s) => {
                let idx = self.str_const(s, span)?;
                self.emit(Op::Const { idx }, span);
            }
            AstExprKind::Bool(true) => {
                self.emit(Op::True, span);
            }
            AstExprKind::Bool(false) => {
                self.emit(Op::False, span);
            }
            AstExprKind::Null => {
                self.emit(Op::Null, span);
            }
            AstExprKind::Name(name) => self.load(name, span)?,
            AstExprKind::List(items) => {
                for item in items {
                    self.expr(item)?;
                }
                let n = u32::try_from(items.len()).map_err(|_| limit_error("list elements", span))?;
                self.emit(Op::MakeList { n }, span);
            }
            AstExprKind::Map(entries) => {
                for (key, key_span, value) in entries {
                    let idx = self.str_const(key, *key_span)?;
                    self.emit(Op::Const { idx }, *key_span);
                    self.expr(value)?;
                }
                let n = u32::try_from(entries.len()).map_err(|_| limit_error("map entries", span))?;
                self.emit(Op::MakeMap { n }, span);
            }
            AstExprKind::Func(func) => self.closure(func)?,
            AstExprKind::Unary { op, op_span, operand } => {
                self.expr(operand)?;
                self.emit(
                    match op {
                        UnOp::Neg => Op::Neg,
                        UnOp::Not => Op::Not,
                    },
                    *op_span,
                );
            }
            AstExprKind::Binary { op, op_span, lhs, rhs } => {
                self.expr(lhs)?;
                self.expr(rhs)?;
                self.emit(binary_op(*op), *op_span);
            }
            AstExprKind::Logic { op, lhs, rhs } => {
                self.expr(lhs)?;
                let short = match op {
                    LogicOp::And => self.emit(Op::JumpIfFalse { target: 0 }, lhs.span),
                    LogicOp::Or => self.emit(Op::JumpIfTrue { target: 0 }, lhs.span),
                };
                self.expr(rhs)?;
                self.emit(Op::ToBool, rhs.span);
                let done = self.emit(Op::Jump { target: 0 }, rhs.span);
                let here = self.here();
                self.patch(short, here);
                self.emit(if *op == LogicOp::And { Op::False } else { Op::True }, lhs.span);
                let end = self.here();
                self.patch(done, end);
            }
            AstExprKind::Coalesce { lhs, rhs } => {
                self.expr(lhs)?;
                let keep = self.emit(Op::JumpIfNotNull { target: 0 }, lhs.span);
                self.expr(rhs)?;
                let end = self.here();
                self.patch(keep, end);
            }
            AstExprKind::Ternary { cond, then, otherwise } => {
                self.expr(cond)?;
                let skip = self.emit(Op::JumpIfFalse { target: 0 }, cond.span);
                self.expr(then)?;
                let done = self.emit(Op::Jump { target: 0 }, then.span);
                let here = self.here();
                self.patch(skip, here);
                self.expr(otherwise)?;
                let end = self.here();
                self.patch(done, end);
            }
            AstExprKind::Call { callee, args, paren } => {
                self.expr(callee)?;
                for a in args {
                    self.expr(a)?;
                }
                let argc = u16::try_from(args.len()).map_err(|_| limit_error("call arguments", *paren))?;
                self.emit(Op::Call { argc }, *paren);
            }
            AstExprKind::MethodCall { receiver, name, args, paren } => {
                self.expr(receiver)?;
                for a in args {
                    self.expr(a)?;
                }
                let argc = u16::try_from(args.len()).map_err(|_| limit_error("call arguments", *paren))?;
                let name = self.str_const(&name.name, name.span)?;
                self.emit(Op::CallMethod { name, argc }, *paren);
            }
            AstExprKind::Index { object, index, bracket } => {
                self.expr(object)?;
                self.expr(index)?;
                self.emit(Op::Index, *bracket);
            }
            AstExprKind::Member { object, name } => {
                self.expr(object)?;
                let idx = self.str_const(&name.name, name.span)?;
                self.emit(Op::GetMember { name: idx }, name.span);
            }
            AstExprKind::StateGet { key, bracket } => {
                self.expr(key)?;
                self.emit(Op::StateGet, *bracket);
            }
            AstExprKind::Hash { value, paren } => {
                self.expr(value)?;
                self.emit(Op::Hash, *paren);
            }
            AstExprKind::This => {
                self.emit(Op::This, span);
            }
            AstExprKind::Construct { ty, name, fields } => self.construct(ty, name, fields, span)?,
        }
        Ok(())
    }

    /// Compiles `func` as a child of the current chunk and emits `MakeClosure`.
    fn closure(&mut self, func: &Rc<AstFunc>) -> Result<()> {
        if self.stack.len() == 1
            && let Some(index) = &self.deferred
        {
            let proto = index
                .get(&func_address(func))
                .copied()
                .ok_or_else(|| limit_error("functions (internal: unit not planned)", func.span))?;
            self.emit(Op::MakeClosure { proto }, func.span);
            return Ok(());
        }
        let chunk = self.function(func)?;
        let state = self.top();
        let proto = u32::try_from(state.chunk.children.len()).map_err(|_| limit_error("functions", func.span))?;
        state.chunk.children.push(chunk);
        self.emit(Op::MakeClosure { proto }, func.span);
        Ok(())
    }

    /// Compiles one function body into its own chunk.
    pub fn function(&mut self, func: &AstFunc) -> Result<Chunk> {
        let params: Vec<String> = func.params.iter().map(|p| p.name.clone()).collect();
        let declared = declared_names(&params, &func.body);
        let captured = captured_by_children(func);
        let cells: BTreeSet<String> = declared.iter().filter(|n| captured.contains(*n)).cloned().collect();
        let mut chunk = Chunk::new(func.name.as_ref().map(|n| n.name.clone()), false, func.span);
        chunk.arity = u16::try_from(params.len()).map_err(|_| limit_error("parameters", func.span))?;
        chunk.min_arity = chunk.arity.saturating_sub(u16::try_from(func.defaults.len()).unwrap_or(u16::MAX));
        let mut state = FuncState::new(chunk, declared.clone(), cells);
        for name in &declared {
            let slot =
                u16::try_from(state.slots.len()).map_err(|_| limit_error("variables in one function", func.span))?;
            state.slots.insert(name.clone(), slot);
        }
        self.stack.push(state);
        // Const flags start cleared, so checks before the `const` statement see "not constant".
        let flags: Vec<String> = declared.iter().filter(|n| n.starts_with("%const:")).cloned().collect();
        for flag in flags {
            self.emit(Op::False, func.span);
            if let Ok((var, _)) = self.resolve(&flag, func.span) {
                self.store_plain(var, func.span);
            }
        }
        let res = self.defaults(func).and_then(|()| self.body(&func.body));
        let end = Span::new(func.span.end.saturating_sub(1) as usize, func.span.end as usize);
        self.emit(Op::ReturnNull, end);
        let state = self.stack.pop();
        res?;
        state.map(FuncState::finish).ok_or_else(|| limit_error("functions", func.span))
    }
}

impl Lowerer {
    /// The prologue of a function with defaulted parameters: for each, left to right, its
    /// default is evaluated and stored when the call did not pass it (DIALECT.md §5).
    fn defaults(&mut self, func: &AstFunc) -> Result<()> {
        let first = func.params.len().saturating_sub(func.defaults.len());
        for (param, default) in func.params[first..].iter().zip(&func.defaults) {
            let slot = match self.resolve(&param.name, param.span)? {
                (Var::Slot(slot) | Var::Cell(slot), _) => slot,
                _ => return Err(limit_error("parameters (internal: parameter is not a slot)", param.span)),
            };
            let given = self.emit(Op::JumpIfBound { slot, target: 0 }, param.span);
            self.expr(default)?;
            self.store(&param.name, param.span)?;
            let here = self.here();
            self.patch(given, here);
        }
        Ok(())
    }
}

/// The functions the top level of `program` creates, in the order the whole-program path
/// numbers them: hoisted declarations first, then the others in order of appearance. Each is
/// one compilation unit (with the functions nested inside it).
pub fn top_level_units(program: &AstProgram) -> Vec<&AstFunc> {
    let mut units = Vec::new();
    for stmt in &program.stmts {
        if let AstStmtKind::Func(func) = &stmt.kind {
            units.push(&**func);
        }
    }
    for stmt in &program.stmts {
        if !matches!(stmt.kind, AstStmtKind::Func(_)) {
            children_of_stmts(std::slice::from_ref(stmt), &mut units);
        }
    }
    units
}

/// Identity of a function node (its address), for matching planned units.
fn func_address(func: &AstFunc) -> usize {
    func as *const AstFunc as usize
}

impl FuncState {
    fn new(chunk: Chunk, declared: IndexSet<String>, cells: BTreeSet<String>) -> FuncState {
        FuncState {
            chunk,
            slots: IndexMap::new(),
            declared,
            cells,
            frees: IndexMap::new(),
            globals: IndexMap::new(),
            loops: Vec::new(),
            consts: HashMap::new(),
            hidden_counter: 0,
            tries: Vec::new(),
        }
    }

    fn finish(mut self) -> Chunk {
        self.chunk.n_slots = self.slots.len() as u32;
        self.chunk.slot_names = self.slots.keys().cloned().collect();
        self.chunk.cell_slots =
            self.slots.iter().filter(|(name, _)| self.cells.contains(*name)).map(|(_, &slot)| slot).collect();
        self.chunk.globals = self.globals.keys().cloned().collect();
        self.chunk
    }
}

fn binary_op(op: BinOp) -> Op {
    match op {
        BinOp::Add => Op::Add,
        BinOp::Sub => Op::Sub,
        BinOp::Mul => Op::Mul,
        BinOp::Div => Op::Div,
        BinOp::Mod => Op::Mod,
        BinOp::Pow => Op::Pow,
        BinOp::Eq => Op::Eq,
        BinOp::Ne => Op::Ne,
        BinOp::Lt => Op::Lt,
        BinOp::Le => Op::Le,
        BinOp::Gt => Op::Gt,
        BinOp::Ge => Op::Ge,
        BinOp::In => Op::In,
    }
}

fn compound_op(op: AssignOp) -> Op {
    match op {
        AssignOp::Set | AssignOp::Add => Op::Add,
        AssignOp::Sub => Op::Sub,
        AssignOp::Mul => Op::Mul,
        AssignOp::Div => Op::Div,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn top(src: &str) -> Chunk {
        let (ast, diags) = crate::syntax::parse(src);
        assert!(diags.is_empty(), "{diags:?}");
        let (chunk, diags) = Lowerer::compile_top(&ast, Span::new(0, src.len()));
        assert!(diags.is_empty(), "{diags:?}");
        chunk
    }

    #[test]
    fn top_level_names_are_frame_slots_in_order_of_declaration() {
        let c = top("let x = 1\nlet y = x\nprint(y)");
        assert_eq!(c.slot_names, ["x", "y"]);
        assert_eq!(
            c.code,
            vec![
                Op::Int { value: 1 },
                Op::StoreLocal { slot: 0 },
                Op::LoadLocal { slot: 0 },
                Op::StoreLocal { slot: 1 },
                Op::LoadLocal { slot: 1 },
                Op::Print { n: 1 },
                Op::Halt
            ]
        );
        assert_eq!(c.spans.len(), c.code.len(), "one span per instruction");
    }

    #[test]
    fn functions_use_slots_for_their_names_and_globals_for_the_rest() {
        let c = top("let g = 1\naction f(a) { let b = a + g\n return b }");
        let f = &c.children[0];
        assert_eq!((f.arity, f.slot_names.as_slice()), (1, &["a".to_string(), "b".to_string()][..]));
        assert!(f.code.contains(&Op::LoadLocal { slot: 0 }));
        let g = f.globals.iter().position(|n| n == "g").expect("g is a global of f") as u32;
        assert!(f.code.contains(&Op::LoadGlobal { idx: g }), "{:?}", f.code);
        assert_eq!(f.code.last(), Some(&Op::ReturnNull), "an implicit return ends every function");
    }

    #[test]
    fn a_captured_local_lives_in_a_cell_and_the_closure_reads_it_as_a_free_name() {
        let c = top("action outer() { let n = 0\n return function() { n = n + 1\n return n } }");
        let outer = &c.children[0];
        let n = outer.slot_names.iter().position(|s| s == "n").expect("slot n") as u16;
        assert!(outer.cell_slots.contains(&n));
        assert!(outer.code.contains(&Op::StoreCell { slot: n }), "{:?}", outer.code);
        let inner = &outer.children[0];
        assert_eq!(inner.free_names, ["n"]);
        assert!(inner.code.contains(&Op::LoadFree { idx: 0 }) && inner.code.contains(&Op::StoreFree { idx: 0 }));
    }

    #[test]
    fn a_while_loop_records_its_header_back_edge_and_exit_and_break_jumps_to_the_exit() {
        let c = top("let i = 0\nwhile i < 3 {\n if i == 1 { break }\n i = i + 1\n}\nprint(i)");
        assert_eq!(c.loops.len(), 1);
        let l = c.loops[0];
        assert_eq!(c.code[l.back_edge as usize], Op::LoopBack { target: l.header, loop_id: 0 });
        assert_eq!(l.exit, l.back_edge + 1);
        assert!(c.code.contains(&Op::Jump { target: l.exit }), "the break: {:?}", c.code);
        assert!(c.code.contains(&Op::JumpIfFalse { target: l.exit }), "the condition: {:?}", c.code);
    }

    #[test]
    fn const_keeps_a_hidden_flag_and_checks_it_on_assignment() {
        let c = top("const k = 1\nk = 2");
        assert!(c.slot_names.iter().any(|s| s == "%const:k"), "{:?}", c.slot_names);
        assert!(c.code.iter().any(|op| matches!(op, Op::CheckConst { .. })), "{:?}", c.code);
    }

    #[test]
    fn too_many_print_arguments_is_a_diagnostic_not_a_panic() {
        let src = format!("print({})", vec!["1"; 70_000].join(","));
        let (ast, diags) = crate::syntax::parse(&src);
        assert!(diags.is_empty());
        let (_, diags) = Lowerer::compile_top(&ast, Span::new(0, src.len()));
        assert_eq!(diags.len(), 1);
        assert_eq!(diags[0].code, "E0190");
        assert!(diags[0].message.contains("print arguments"), "{}", diags[0].message);
    }
}
