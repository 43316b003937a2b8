//! Lowering of CONTRACTS.md's own nodes: `this`/`self` (`LOAD_THIS`), `emit` (`EMIT`) and
//! entity construction `Name { f: v }` (`NEW_ENTITY`).
//!
//! Declarations need no lowering of their own: the parser turns `contract`, `entity`/`data`/
//! `event` and `protocol` declarations into hoisted `const` bindings of calls to the
//! declaration builtins (`%contract`, `%entity`, `%protocol`), whose action bodies are
//! ordinary function literals, and rewrites bare member names in actions to `this.name`
//! (see `syntax/parser/contracts.rs`). Member reads, writes and action calls are the ordinary
//! `GET_MEMBER`, `SET_MEMBER` and `CALL_METHOD`, which the VM resolves on instances.

use super::{Lowerer, Result, limit_error};
use crate::bytecode::op::Op;
use crate::syntax::ast::{AstExpr, AstIdent};
use crate::syntax::span::Span;

impl Lowerer {
    /// `emit Name(args)`: the arguments left to right, then `EMIT name argc`.
    pub(super) fn emit_stmt(&mut self, name: &AstIdent, args: &[AstExpr]) -> Result<()> {
        for a in args {
            self.expr(a)?;
        }
        let argc = u16::try_from(args.len()).map_err(|_| limit_error("event arguments", name.span))?;
        let idx = self.str_const(&name.name, name.span)?;
        self.emit(Op::Emit { name: idx, argc }, name.span);
        Ok(())
    }

    /// `Name { f: v, ... }`: the type, then each (name, value) pair in source order, then
    /// `NEW_ENTITY`.
    pub(super) fn construct(
        &mut self,
        ty: &AstExpr,
        name: &AstIdent,
        fields: &[(String, Span, AstExpr)],
        span: Span,
    ) -> Result<()> {
        self.expr(ty)?;
        for (key, key_span, value) in fields {
            let idx = self.str_const(key, *key_span)?;
            self.emit(Op::Const { idx }, *key_span);
            self.expr(value)?;
        }
        let n = u16::try_from(fields.len()).map_err(|_| limit_error("entity fields", span))?;
        let idx = self.str_const(&name.name, name.span)?;
        self.emit(Op::NewEntity { name: idx, n }, span);
        Ok(())
    }
}
