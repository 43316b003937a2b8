//! Moves every span of a parsed file by a fixed offset. The files of a multi-file program
//! are parsed on their own (offsets from 0) and then placed at disjoint offsets, so that one
//! span names its file as well as its place (MODULES.md §13; `diag::files` maps back).

use std::rc::Rc;

use super::ast::*;
use super::span::Span;

/// Adds `delta` to every span of `program` (and of its export list).
pub fn shift_program(program: &mut AstProgram, delta: u32) {
    if delta == 0 {
        return;
    }
    let mut s = Shift(delta);
    program.stmts.iter_mut().for_each(|st| s.stmt(st));
    program.exports.iter_mut().for_each(|id| s.ident(id));
}

struct Shift(u32);

impl Shift {
    fn span(&self, span: &mut Span) {
        span.start = span.start.saturating_add(self.0);
        span.end = span.end.saturating_add(self.0);
    }

    fn ident(&self, id: &mut AstIdent) {
        self.span(&mut id.span);
    }

    fn stmts(&mut self, stmts: &mut [AstStmt]) {
        stmts.iter_mut().for_each(|st| self.stmt(st));
    }

    fn func(&mut self, func: &mut Rc<AstFunc>) {
        // Fresh from the parser, every function node has one owner.
        let f = Rc::make_mut(func);
        self.span(&mut f.span);
        if let Some(n) = &mut f.name {
            self.ident(n);
        }
        f.params.iter_mut().for_each(|p| self.ident(p));
        f.defaults.iter_mut().for_each(|d| self.expr(d));
        self.stmts(&mut f.body);
    }

    fn stmt(&mut self, stmt: &mut AstStmt) {
        self.span(&mut stmt.span);
        match &mut stmt.kind {
            AstStmtKind::Let { name, value, .. } => {
                self.ident(name);
                self.expr(value);
            }
            AstStmtKind::Func(f) => self.func(f),
            AstStmtKind::If { branches, else_body } => {
                for (c, b) in branches {
                    self.expr(c);
                    self.stmts(b);
                }
                if let Some(b) = else_body {
                    self.stmts(b);
                }
            }
            AstStmtKind::While { cond, body } => {
                self.expr(cond);
                self.stmts(body);
            }
            AstStmtKind::ForEach { var, key, iterable, body } => {
                self.ident(var);
                if let Some(k) = key {
                    self.ident(k);
                }
                self.expr(iterable);
                self.stmts(body);
            }
            AstStmtKind::Break
            | AstStmtKind::Continue
            | AstStmtKind::TxBegin
            | AstStmtKind::TxCommit
            | AstStmtKind::TxRevert => {}
            AstStmtKind::Return(v) => {
                if let Some(v) = v {
                    self.expr(v);
                }
            }
            AstStmtKind::Print(args) => args.iter_mut().for_each(|a| self.expr(a)),
            AstStmtKind::Assign { target, op_span, value, .. } => {
                self.target(target);
                self.span(op_span);
                self.expr(value);
            }
            AstStmtKind::Expr(e) => self.expr(e),
            AstStmtKind::Block(b) => self.stmts(b),
            AstStmtKind::StateSet { key, op_span, value, .. } => {
                self.expr(key);
                self.span(op_span);
                self.expr(value);
            }
            AstStmtKind::Verify { cond, message } => {
                self.expr(cond);
                if let Some(m) = message {
                    self.expr(m);
                }
            }
            AstStmtKind::Try { body, catch, finally } => {
                self.stmts(body);
                if let Some(c) = catch {
                    if let Some(v) = &mut c.var {
                        self.ident(v);
                    }
                    self.span(&mut c.kw);
                    self.stmts(&mut c.body);
                }
                if let Some(f) = finally {
                    self.span(&mut f.kw);
                    self.stmts(&mut f.body);
                }
            }
            AstStmtKind::Throw { value, kw } => {
                self.expr(value);
                self.span(kw);
            }
            AstStmtKind::Require { cond, message, kw } => {
                self.expr(cond);
                if let Some(m) = message {
                    self.expr(m);
                }
                self.span(kw);
            }
            AstStmtKind::Revert { message, kw } => {
                if let Some(m) = message {
                    self.expr(m);
                }
                self.span(kw);
            }
            AstStmtKind::Emit { name, args } => {
                self.ident(name);
                args.iter_mut().for_each(|a| self.expr(a));
            }
            AstStmtKind::Use(u) => {
                self.span(&mut u.path_span);
                match &mut u.form {
                    UseForm::All => {}
                    UseForm::Alias(id) => self.ident(id),
                    UseForm::Named(ids) => ids.iter_mut().for_each(|id| self.ident(id)),
                }
            }
        }
    }

    fn target(&mut self, target: &mut AstTarget) {
        match target {
            AstTarget::Name(id) => self.ident(id),
            AstTarget::Index { object, index, bracket } => {
                self.expr(object);
                self.expr(index);
                self.span(bracket);
            }
            AstTarget::Member { object, name } => {
                self.expr(object);
                self.ident(name);
            }
        }
    }

    fn expr(&mut self, e: &mut AstExpr) {
        self.span(&mut e.span);
        match &mut e.kind {
            AstExprKind::Int(_)
            | AstExprKind::Float(_)
            | AstExprKind::Str(_)
            | AstExprKind::Bool(_)
            | AstExprKind::Null
            | AstExprKind::This
            | AstExprKind::Name(_) => {}
            AstExprKind::Construct { ty, name, fields } => {
                self.expr(ty);
                self.ident(name);
                for (_, span, v) in fields {
                    self.span(span);
                    self.expr(v);
                }
            }
            AstExprKind::List(items) => items.iter_mut().for_each(|x| self.expr(x)),
            AstExprKind::Map(entries) => {
                for (_, span, v) in entries {
                    self.span(span);
                    self.expr(v);
                }
            }
            AstExprKind::Func(f) => self.func(f),
            AstExprKind::Unary { op_span, operand, .. } => {
                self.span(op_span);
                self.expr(operand);
            }
            AstExprKind::Binary { op_span, lhs, rhs, .. } => {
                self.span(op_span);
                self.expr(lhs);
                self.expr(rhs);
            }
            AstExprKind::Logic { lhs, rhs, .. } | AstExprKind::Coalesce { lhs, rhs } => {
                self.expr(lhs);
                self.expr(rhs);
            }
            AstExprKind::Ternary { cond, then, otherwise } => {
                self.expr(cond);
                self.expr(then);
                self.expr(otherwise);
            }
            AstExprKind::Call { callee, args, paren } => {
                self.expr(callee);
                args.iter_mut().for_each(|a| self.expr(a));
                self.span(paren);
            }
            AstExprKind::MethodCall { receiver, name, args, paren } => {
                self.expr(receiver);
                self.ident(name);
                args.iter_mut().for_each(|a| self.expr(a));
                self.span(paren);
            }
            AstExprKind::Index { object, index, bracket } => {
                self.expr(object);
                self.expr(index);
                self.span(bracket);
            }
            AstExprKind::Member { object, name } => {
                self.expr(object);
                self.ident(name);
            }
            AstExprKind::StateGet { key, bracket } => {
                self.expr(key);
                self.span(bracket);
            }
            AstExprKind::Hash { value, paren } => {
                self.expr(value);
                self.span(paren);
            }
        }
    }
}
