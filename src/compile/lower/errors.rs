//! Lowering of ERRORS.md's statements: `try`/`catch`/`finally` as exception-table entries
//! (see `bytecode::handlers`), `throw`, `require`, `revert`, and `return`/`break`/`continue`
//! leaving a `try`.
//!
//! Shape of `try B catch (e) C finally F` (each clause optional but not both):
//!
//! ```text
//!     SETUP_TRY %tx            record the transaction depth
//!   B                          protected: catch handler (or finally handler without catch)
//!     POP_TRY
//!     fin = 0; JUMP finally    (JUMP end without finally)
//!   catch:                     the error value is pushed here
//!     STORE e | POP            protected, with C, by the finally handler
//!   C
//!     fin = 0; JUMP finally    (nothing without finally: falls through to end)
//!   finally_error:             a token for the pending error is pushed here
//!     STORE %pending; fin = 1
//!   finally:
//!   F                          one copy, whichever way it was entered
//!     fin == 0 -> end; fin == 1 -> RERAISE %pending; fin == k -> the k-th pending exit
//!   end:
//! ```
//!
//! A `return`, `break` or `continue` that leaves a `try` with a finally body stores its exit
//! number in `fin` (the return value in the function's `%ret` slot) and jumps to the finally
//! body; the dispatch after it continues the exit outward, through the next enclosing finally
//! body if there is one. So a finally body exists once in the bytecode, and every pc of it
//! belongs to one place in the source.

use super::{Lowerer, Result};
use crate::bytecode::handlers::{Handler, HandlerKind};
use crate::bytecode::op::Op;
use crate::diag::Diagnostic;
use crate::syntax::ast::{AstCatch, AstExpr, AstFinally, AstStmt};
use crate::syntax::span::Span;

/// Which part of its `try` statement is being lowered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Body,
    Catch,
    Finally,
}

/// A pending exit through a finally body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ExitKind {
    Break,
    Continue,
    /// `return`; with a value, the value is in the function's `%ret` slot.
    Return {
        value: bool,
    },
}

/// A `try` statement being lowered.
pub(super) struct TryCtx {
    phase: Phase,
    /// Slot of the exit number (`None` without a finally body).
    fin_slot: Option<u16>,
    /// Exits waiting for the finally body, numbered from 2.
    exits: Vec<ExitKind>,
    /// Jumps to the start of the finally body, patched once it is emitted.
    to_finally: Vec<usize>,
}

fn finally_error(what: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0122", format!("syntax error: '{what}' cannot leave a finally block"), span)
        .with_label("a finally body can only end normally or by an error")
}

impl Lowerer {
    /// True while lowering the inside of a `try` statement of the current function.
    pub(super) fn in_try(&mut self) -> bool {
        !self.top().tries.is_empty()
    }

    /// A hidden frame slot named `%try<n>.<what>` (in the top level: a hidden global).
    fn hidden_slot(&mut self, n: u32, what: &str, span: Span) -> Result<u16> {
        self.new_slot(format!("%try{n}.{what}"), span)
    }

    fn new_slot(&mut self, name: String, span: Span) -> Result<u16> {
        if self.top().chunk.is_top {
            return self.top_slot(&name, span);
        }
        let state = self.top();
        if let Some(&slot) = state.slots.get(&name) {
            return Ok(slot);
        }
        let slot =
            u16::try_from(state.slots.len()).map_err(|_| super::limit_error("variables in one function", span))?;
        state.slots.insert(name, slot);
        Ok(slot)
    }

    /// `try body [catch] [finally]`.
    pub(super) fn try_stmt(
        &mut self,
        body: &[AstStmt],
        catch: Option<&AstCatch>,
        finally: Option<&AstFinally>,
        span: Span,
    ) -> Result<()> {
        let n = self.top().hidden_counter;
        self.top().hidden_counter += 1;
        let tx_slot = self.hidden_slot(n, "tx", span)?;
        let fin_slot = match finally {
            Some(f) => Some(self.hidden_slot(n, "fin", f.kw)?),
            None => None,
        };
        let pending_slot = match finally {
            Some(f) => Some(self.hidden_slot(n, "pending", f.kw)?),
            None => None,
        };
        // The statement's span stands for its bookkeeping (every span must be one the unit
        // hash walks, for the cache).
        let try_kw = span;
        self.emit(Op::TryBegin { slot: tx_slot }, try_kw);
        self.top().tries.push(TryCtx { phase: Phase::Body, fin_slot, exits: Vec::new(), to_finally: Vec::new() });
        let body_start = self.here();
        self.block(body)?;
        let body_end = self.here();
        self.emit(Op::TryEnd, try_kw);
        let mut to_end = Vec::new();
        self.leave_normally(fin_slot, try_kw, &mut to_end);

        let mut entries = Vec::new();
        let mut catch_range = None;
        if let Some(c) = catch {
            let catch_target = self.here();
            entries.push((body_start, body_end, catch_target, HandlerKind::Catch));
            if let Some(ctx) = self.top().tries.last_mut() {
                ctx.phase = Phase::Catch;
            }
            match &c.var {
                Some(var) => self.store(&var.name, var.span)?,
                None => {
                    self.emit(Op::Pop, c.kw);
                }
            }
            self.block(&c.body)?;
            let catch_end = self.here();
            catch_range = Some((catch_target, catch_end));
            if finally.is_some() {
                self.leave_normally(fin_slot, c.kw, &mut to_end);
            }
        }
        if let (Some(f), Some(fin), Some(pending)) = (finally, fin_slot, pending_slot) {
            let error_target = self.here();
            match catch_range {
                Some((start, end)) => entries.push((start, end, error_target, HandlerKind::Finally)),
                None => entries.push((body_start, body_end, error_target, HandlerKind::Finally)),
            }
            self.emit(Op::StoreLocal { slot: pending }, f.kw);
            self.emit(Op::Int { value: 1 }, f.kw);
            self.emit(Op::StoreLocal { slot: fin }, f.kw);
            let finally_start = self.here();
            for at in to_end.drain(..) {
                self.patch(at, finally_start);
            }
            let (to_finally, exits) = match self.top().tries.last_mut() {
                Some(ctx) => {
                    ctx.phase = Phase::Finally;
                    (std::mem::take(&mut ctx.to_finally), ctx.exits.clone())
                }
                None => (Vec::new(), Vec::new()),
            };
            for at in to_finally {
                self.patch(at, finally_start);
            }
            self.block(&f.body)?;
            self.top().tries.pop();
            // The dispatch on the exit number.
            self.emit(Op::LoadLocal { slot: fin }, f.kw);
            to_end.push(self.emit(Op::JumpIfFalse { target: 0 }, f.kw));
            self.emit(Op::LoadLocal { slot: fin }, f.kw);
            self.emit(Op::Int { value: 1 }, f.kw);
            self.emit(Op::Eq, f.kw);
            let skip = self.emit(Op::JumpIfFalse { target: 0 }, f.kw);
            self.emit(Op::LoadLocal { slot: pending }, f.kw);
            self.emit(Op::Reraise, f.kw);
            let mut next = self.here();
            self.patch(skip, next);
            for (i, exit) in exits.iter().enumerate() {
                let code = i32::try_from(i + 2).map_err(|_| super::limit_error("exits from one try", f.kw))?;
                self.emit(Op::LoadLocal { slot: fin }, f.kw);
                self.emit(Op::Int { value: code }, f.kw);
                self.emit(Op::Eq, f.kw);
                let skip = self.emit(Op::JumpIfFalse { target: 0 }, f.kw);
                self.exit_through(*exit, f.kw)?;
                next = self.here();
                self.patch(skip, next);
            }
        } else {
            self.top().tries.pop();
        }
        let end = self.here();
        for at in to_end {
            self.patch(at, end);
        }
        let depth = 0;
        let chunk = &mut self.top().chunk;
        for (start, end, target, kind) in entries {
            if start < end {
                chunk.handlers.push(Handler { start, end, target, depth, tx_slot, kind });
            }
        }
        Ok(())
    }

    /// The normal end of a try or catch body: `fin = 0` and a jump to the finally body (or to
    /// the end of the statement), recorded in `to_end`.
    fn leave_normally(&mut self, fin_slot: Option<u16>, span: Span, to_end: &mut Vec<usize>) {
        if let Some(fin) = fin_slot {
            self.emit(Op::Int { value: 0 }, span);
            self.emit(Op::StoreLocal { slot: fin }, span);
        }
        to_end.push(self.emit(Op::Jump { target: 0 }, span));
    }

    /// `return [value]`, `break` or `continue` inside a `try` statement of this function.
    pub(super) fn exit_stmt(&mut self, kind: ExitKind, value: Option<&AstExpr>, span: Span) -> Result<()> {
        let floor = self.exit_floor(kind);
        let word = match kind {
            ExitKind::Break => "break",
            ExitKind::Continue => "continue",
            ExitKind::Return { .. } => "return",
        };
        if self.top().tries[floor..].iter().any(|t| t.phase == Phase::Finally) {
            return Err(finally_error(word, span));
        }
        if let Some(e) = value {
            self.expr(e)?;
            let crosses_finally = self.top().tries.iter().any(|t| t.fin_slot.is_some());
            if crosses_finally {
                let slot = self.new_slot("%ret".to_string(), span)?;
                self.emit(Op::StoreLocal { slot }, span);
            } else {
                // No finally body on the way: the value stays on the stack for `Return`.
                let n = self.top().tries.len();
                for i in (0..n).rev() {
                    if self.top().tries[i].phase == Phase::Body {
                        self.emit(Op::TryEnd, span);
                    }
                }
                self.emit(Op::Return, span);
                return Ok(());
            }
        }
        self.exit_through(kind, span)
    }

    /// Index of the first `try` an exit of `kind` leaves (the ones from it on are left).
    fn exit_floor(&mut self, kind: ExitKind) -> usize {
        match kind {
            ExitKind::Return { .. } => 0,
            ExitKind::Break | ExitKind::Continue => self.top().loops.last().map_or(0, |l| l.tries),
        }
    }

    /// Continues an exit from the innermost open `try` outward: `POP_TRY` for every try body
    /// left, until a finally body must run first (jump there with the exit's number) or
    /// nothing is left (perform the exit).
    fn exit_through(&mut self, kind: ExitKind, span: Span) -> Result<()> {
        let floor = self.exit_floor(kind);
        let n = self.top().tries.len();
        for i in (floor..n).rev() {
            let (phase, fin_slot) = {
                let ctx = &self.top().tries[i];
                (ctx.phase, ctx.fin_slot)
            };
            if phase == Phase::Body {
                self.emit(Op::TryEnd, span);
            }
            if let Some(fin) = fin_slot {
                let ctx = &mut self.top().tries[i];
                ctx.exits.push(kind);
                let code =
                    i32::try_from(ctx.exits.len() + 1).map_err(|_| super::limit_error("exits from one try", span))?;
                self.emit(Op::Int { value: code }, span);
                self.emit(Op::StoreLocal { slot: fin }, span);
                let jump = self.emit(Op::Jump { target: 0 }, span);
                self.top().tries[i].to_finally.push(jump);
                return Ok(());
            }
        }
        match kind {
            ExitKind::Break | ExitKind::Continue => {
                let at = self.emit(Op::Jump { target: 0 }, span);
                if let Some(l) = self.top().loops.last_mut() {
                    if kind == ExitKind::Break {
                        l.breaks.push(at);
                    } else {
                        l.continues.push(at);
                    }
                }
            }
            ExitKind::Return { value: true } => {
                let slot = self.new_slot("%ret".to_string(), span)?;
                self.emit(Op::LoadLocal { slot }, span);
                self.emit(Op::Return, span);
            }
            ExitKind::Return { value: false } => {
                self.emit(Op::ReturnNull, span);
            }
        }
        Ok(())
    }

    /// `throw value`.
    pub(super) fn throw_stmt(&mut self, value: &AstExpr, kw: Span) -> Result<()> {
        self.expr(value)?;
        self.emit(Op::Throw, kw);
        Ok(())
    }

    /// `require(cond [, msg])`: both operands are evaluated, then checked.
    pub(super) fn require_stmt(&mut self, cond: &AstExpr, message: Option<&AstExpr>, kw: Span) -> Result<()> {
        self.expr(cond)?;
        if let Some(m) = message {
            self.expr(m)?;
        }
        self.emit(Op::Require { has_msg: message.is_some() }, kw);
        Ok(())
    }

    /// `revert([msg])`.
    pub(super) fn revert_stmt(&mut self, message: Option<&AstExpr>, kw: Span) -> Result<()> {
        if let Some(m) = message {
            self.expr(m)?;
        }
        self.emit(Op::Revert { has_msg: message.is_some() }, kw);
        Ok(())
    }
}
