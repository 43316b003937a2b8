//! Position-free hashing of compilation units: a canonical encoding of the AST that leaves out
//! every absolute position, plus the list of spans met on the way (pre-order), so cached
//! bytecode can name its spans by index and get exact positions back from the current AST.
//!
//! A *unit* is either the top level of a program (with every function it creates reduced to an
//! opaque marker) or one top-level function together with the functions nested inside it.
//! Nested functions belong to their enclosing unit because their compiled forms depend on each
//! other through captured variables; a top-level function captures nothing (free names there
//! are globals), so its code does not depend on the top level, and the top level's code does
//! not depend on function bodies.

use std::hash::Hasher;

use siphasher::sip128::{Hasher128, SipHasher13};

use super::ast::*;
use super::span::Span;

/// The canonical form of one unit: its 128-bit hash and the spans of the walk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitEncoding {
    /// SipHash-1-3 (128 bits) of the salt and the position-free encoding.
    pub hash: u128,
    /// Every span met during the walk, in pre-order (derived spans included; see the walk
    /// functions). Two ASTs with the same hash produce span lists of the same length whose
    /// entries correspond position by position.
    pub spans: Vec<Span>,
}

/// Encodes the top level of `program` (whose text is `source_len` bytes long). Functions are
/// opaque: only their names and spans are part of the encoding.
///
/// The span list starts with the whole program (`0..source_len`) and the end-of-program span
/// (`source_len..source_len`), the two spans the compiler derives for the top level.
pub fn encode_top(program: &AstProgram, source_len: usize, salt: &[u8]) -> UnitEncoding {
    encode_top_in(program, Span::new(0, source_len), salt)
}

/// Encodes the top level of a file that occupies `extent` of the program's offsets (a module
/// of a multi-file program starts past the files before it).
pub fn encode_top_in(program: &AstProgram, extent: Span, salt: &[u8]) -> UnitEncoding {
    let mut walk = Walk::new(salt, true);
    walk.tag(Tag::Top);
    walk.span(extent);
    walk.span(Span { start: extent.end, end: extent.end });
    walk.stmts(&program.stmts);
    walk.finish()
}

/// Encodes one function and everything nested inside it.
///
/// The span list starts with the function's span and the span of its last byte (the closing
/// brace, where the implicit `return null` points).
pub fn encode_func(func: &AstFunc, salt: &[u8]) -> UnitEncoding {
    let mut walk = Walk::new(salt, false);
    walk.tag(Tag::Unit);
    walk.func_full(func);
    walk.finish()
}

/// Node tags of the encoding (one byte each), so that different shapes never collide.
#[derive(Clone, Copy)]
#[repr(u8)]
enum Tag {
    Top = 1,
    Unit,
    Func,
    OpaqueFunc,
    Ident,
    NoIdent,
    List,
    // Statements.
    Let,
    FuncStmt,
    If,
    While,
    ForEach,
    Break,
    Continue,
    Return,
    ReturnNone,
    Print,
    Assign,
    ExprStmt,
    Block,
    StateSet,
    TxBegin,
    TxCommit,
    TxRevert,
    Verify,
    NoMessage,
    NoElse,
    // Targets.
    TargetName,
    TargetIndex,
    TargetMember,
    // Expressions.
    Int,
    Float,
    Str,
    Bool,
    Null,
    Name,
    ListExpr,
    MapExpr,
    FuncExpr,
    Unary,
    Binary,
    Logic,
    Ternary,
    Call,
    MethodCall,
    Index,
    Member,
    StateGet,
    Hash,
    // DIALECT.md.
    Coalesce,
    ForEachTwo,
    // ERRORS.md statements (appended so earlier tags keep their codes).
    Try,
    Catch,
    NoCatch,
    NoCatchVar,
    Finally,
    NoFinally,
    Throw,
    Require,
    Revert,
    // CONTRACTS.md (appended likewise).
    Emit,
    This,
    Construct,
    Use,
}

struct Walk {
    /// The encoding, hashed in one go at the end (one large write is much cheaper for SipHash
    /// than thousands of small ones).
    buf: Vec<u8>,
    spans: Vec<Span>,
    /// True when encoding the top level: every function met is opaque.
    opaque_funcs: bool,
}

impl Walk {
    fn new(salt: &[u8], opaque_funcs: bool) -> Walk {
        let mut buf = Vec::with_capacity(4096);
        buf.extend_from_slice(&(salt.len() as u64).to_le_bytes());
        buf.extend_from_slice(salt);
        Walk { buf, spans: Vec::with_capacity(1024), opaque_funcs }
    }

    fn finish(self) -> UnitEncoding {
        let mut hasher = SipHasher13::new_with_keys(0x7a65_7875_735f_6263, 0x6361_6368_655f_7631);
        hasher.write(&self.buf);
        UnitEncoding { hash: hasher.finish128().as_u128(), spans: self.spans }
    }

    fn byte(&mut self, b: u8) {
        self.buf.push(b);
    }

    fn word(&mut self, w: u64) {
        self.buf.extend_from_slice(&w.to_le_bytes());
    }

    fn tag(&mut self, tag: Tag) {
        self.byte(tag as u8);
    }

    fn span(&mut self, span: Span) {
        self.spans.push(span);
    }

    fn len(&mut self, n: usize) {
        self.word(n as u64);
    }

    fn text(&mut self, s: &str) {
        self.len(s.len());
        self.buf.extend_from_slice(s.as_bytes());
    }

    fn ident(&mut self, id: &AstIdent) {
        self.tag(Tag::Ident);
        self.text(&id.name);
        self.span(id.span);
    }

    fn opt_ident(&mut self, id: Option<&AstIdent>) {
        match id {
            Some(id) => self.ident(id),
            None => self.tag(Tag::NoIdent),
        }
    }

    fn func(&mut self, func: &AstFunc) {
        if self.opaque_funcs {
            self.tag(Tag::OpaqueFunc);
            self.span(func.span);
            self.opt_ident(func.name.as_ref());
        } else {
            self.func_full(func);
        }
    }

    fn func_full(&mut self, func: &AstFunc) {
        let AstFunc { name, params, defaults, body, span } = func;
        self.tag(Tag::Func);
        self.span(*span);
        self.span(Span::new(span.end.saturating_sub(1) as usize, span.end as usize));
        self.opt_ident(name.as_ref());
        self.len(params.len());
        for p in params {
            self.ident(p);
        }
        self.exprs(defaults);
        self.stmts(body);
    }

    fn stmts(&mut self, stmts: &[AstStmt]) {
        self.tag(Tag::List);
        self.len(stmts.len());
        for s in stmts {
            self.stmt(s);
        }
    }

    fn stmt(&mut self, stmt: &AstStmt) {
        self.span(stmt.span);
        match &stmt.kind {
            AstStmtKind::Let { name, is_const, value } => {
                self.tag(Tag::Let);
                self.byte(u8::from(*is_const));
                self.ident(name);
                self.expr(value);
            }
            AstStmtKind::Func(func) => {
                self.tag(Tag::FuncStmt);
                self.func(func);
            }
            AstStmtKind::If { branches, else_body } => {
                self.tag(Tag::If);
                self.len(branches.len());
                for (cond, body) in branches {
                    self.expr(cond);
                    self.stmts(body);
                }
                match else_body {
                    Some(body) => self.stmts(body),
                    None => self.tag(Tag::NoElse),
                }
            }
            AstStmtKind::While { cond, body } => {
                self.tag(Tag::While);
                self.expr(cond);
                self.stmts(body);
            }
            AstStmtKind::ForEach { var, key, iterable, body } => {
                match key {
                    Some(key) => {
                        self.tag(Tag::ForEachTwo);
                        self.ident(key);
                    }
                    None => self.tag(Tag::ForEach),
                }
                self.ident(var);
                self.expr(iterable);
                self.stmts(body);
            }
            AstStmtKind::Break => self.tag(Tag::Break),
            AstStmtKind::Continue => self.tag(Tag::Continue),
            AstStmtKind::Return(value) => match value {
                Some(e) => {
                    self.tag(Tag::Return);
                    self.expr(e);
                }
                None => self.tag(Tag::ReturnNone),
            },
            AstStmtKind::Print(args) => {
                self.tag(Tag::Print);
                self.exprs(args);
            }
            AstStmtKind::Assign { target, op, op_span, value } => {
                self.tag(Tag::Assign);
                self.byte(assign_code(*op));
                self.span(*op_span);
                self.target(target);
                self.expr(value);
            }
            AstStmtKind::Expr(e) => {
                self.tag(Tag::ExprStmt);
                self.expr(e);
            }
            AstStmtKind::Block(body) => {
                self.tag(Tag::Block);
                self.stmts(body);
            }
            AstStmtKind::StateSet { key, op, op_span, value } => {
                self.tag(Tag::StateSet);
                self.byte(assign_code(*op));
                self.span(*op_span);
                self.expr(key);
                self.expr(value);
            }
            AstStmtKind::TxBegin => self.tag(Tag::TxBegin),
            AstStmtKind::TxCommit => self.tag(Tag::TxCommit),
            AstStmtKind::TxRevert => self.tag(Tag::TxRevert),
            AstStmtKind::Verify { cond, message } => {
                self.tag(Tag::Verify);
                self.expr(cond);
                match message {
                    Some(m) => self.expr(m),
                    None => self.tag(Tag::NoMessage),
                }
            }
            AstStmtKind::Try { body, catch, finally } => {
                self.tag(Tag::Try);
                self.stmts(body);
                match catch {
                    Some(c) => {
                        self.tag(Tag::Catch);
                        self.span(c.kw);
                        match &c.var {
                            Some(v) => self.ident(v),
                            None => self.tag(Tag::NoCatchVar),
                        }
                        self.stmts(&c.body);
                    }
                    None => self.tag(Tag::NoCatch),
                }
                match finally {
                    Some(f) => {
                        self.tag(Tag::Finally);
                        self.span(f.kw);
                        self.stmts(&f.body);
                    }
                    None => self.tag(Tag::NoFinally),
                }
            }
            AstStmtKind::Throw { value, kw } => {
                self.tag(Tag::Throw);
                self.span(*kw);
                self.expr(value);
            }
            AstStmtKind::Require { cond, message, kw } => {
                self.tag(Tag::Require);
                self.span(*kw);
                self.expr(cond);
                match message {
                    Some(m) => self.expr(m),
                    None => self.tag(Tag::NoMessage),
                }
            }
            AstStmtKind::Revert { message, kw } => {
                self.tag(Tag::Revert);
                self.span(*kw);
                match message {
                    Some(m) => self.expr(m),
                    None => self.tag(Tag::NoMessage),
                }
            }
            AstStmtKind::Emit { name, args } => {
                self.tag(Tag::Emit);
                self.ident(name);
                self.exprs(args);
            }
            AstStmtKind::Use(u) => {
                self.tag(Tag::Use);
                self.text(&u.path);
                self.span(u.path_span);
                self.byte(u8::from(u.reexport));
                match &u.form {
                    UseForm::All => self.byte(0),
                    UseForm::Alias(id) => {
                        self.byte(1);
                        self.ident(id);
                    }
                    UseForm::Named(ids) => {
                        self.byte(2);
                        self.len(ids.len());
                        ids.iter().for_each(|id| self.ident(id));
                    }
                }
            }
        }
    }

    fn target(&mut self, target: &AstTarget) {
        match target {
            AstTarget::Name(id) => {
                self.tag(Tag::TargetName);
                self.ident(id);
            }
            AstTarget::Index { object, index, bracket } => {
                self.tag(Tag::TargetIndex);
                self.span(*bracket);
                self.expr(object);
                self.expr(index);
            }
            AstTarget::Member { object, name } => {
                self.tag(Tag::TargetMember);
                self.expr(object);
                self.ident(name);
            }
        }
    }

    fn exprs(&mut self, exprs: &[AstExpr]) {
        self.len(exprs.len());
        for e in exprs {
            self.expr(e);
        }
    }

    fn expr(&mut self, e: &AstExpr) {
        self.span(e.span);
        match &e.kind {
            AstExprKind::Int(i) => {
                self.tag(Tag::Int);
                self.word(*i as u64);
            }
            AstExprKind::Float(f) => {
                self.tag(Tag::Float);
                self.word(f.to_bits());
            }
            AstExprKind::Str(s) => {
                self.tag(Tag::Str);
                self.text(s);
            }
            AstExprKind::Bool(b) => {
                self.tag(Tag::Bool);
                self.byte(u8::from(*b));
            }
            AstExprKind::Null => self.tag(Tag::Null),
            AstExprKind::Name(name) => {
                self.tag(Tag::Name);
                self.text(name);
            }
            AstExprKind::List(items) => {
                self.tag(Tag::ListExpr);
                self.exprs(items);
            }
            AstExprKind::Map(entries) => {
                self.tag(Tag::MapExpr);
                self.len(entries.len());
                for (key, key_span, value) in entries {
                    self.text(key);
                    self.span(*key_span);
                    self.expr(value);
                }
            }
            AstExprKind::Func(func) => {
                self.tag(Tag::FuncExpr);
                self.func(func);
            }
            AstExprKind::Unary { op, op_span, operand } => {
                self.tag(Tag::Unary);
                self.byte(match op {
                    UnOp::Neg => 0,
                    UnOp::Not => 1,
                });
                self.span(*op_span);
                self.expr(operand);
            }
            AstExprKind::Binary { op, op_span, lhs, rhs } => {
                self.tag(Tag::Binary);
                self.byte(binary_code(*op));
                self.span(*op_span);
                self.expr(lhs);
                self.expr(rhs);
            }
            AstExprKind::Logic { op, lhs, rhs } => {
                self.tag(Tag::Logic);
                self.byte(match op {
                    LogicOp::And => 0,
                    LogicOp::Or => 1,
                });
                self.expr(lhs);
                self.expr(rhs);
            }
            AstExprKind::Coalesce { lhs, rhs } => {
                self.tag(Tag::Coalesce);
                self.expr(lhs);
                self.expr(rhs);
            }
            AstExprKind::Ternary { cond, then, otherwise } => {
                self.tag(Tag::Ternary);
                self.expr(cond);
                self.expr(then);
                self.expr(otherwise);
            }
            AstExprKind::Call { callee, args, paren } => {
                self.tag(Tag::Call);
                self.span(*paren);
                self.expr(callee);
                self.exprs(args);
            }
            AstExprKind::MethodCall { receiver, name, args, paren } => {
                self.tag(Tag::MethodCall);
                self.span(*paren);
                self.expr(receiver);
                self.ident(name);
                self.exprs(args);
            }
            AstExprKind::Index { object, index, bracket } => {
                self.tag(Tag::Index);
                self.span(*bracket);
                self.expr(object);
                self.expr(index);
            }
            AstExprKind::Member { object, name } => {
                self.tag(Tag::Member);
                self.expr(object);
                self.ident(name);
            }
            AstExprKind::StateGet { key, bracket } => {
                self.tag(Tag::StateGet);
                self.span(*bracket);
                self.expr(key);
            }
            AstExprKind::Hash { value, paren } => {
                self.tag(Tag::Hash);
                self.span(*paren);
                self.expr(value);
            }
            AstExprKind::This => self.tag(Tag::This),
            AstExprKind::Construct { ty, name, fields } => {
                self.tag(Tag::Construct);
                self.expr(ty);
                self.ident(name);
                self.len(fields.len());
                for (key, key_span, value) in fields {
                    self.text(key);
                    self.span(*key_span);
                    self.expr(value);
                }
            }
        }
    }
}

fn assign_code(op: AssignOp) -> u8 {
    match op {
        AssignOp::Set => 0,
        AssignOp::Add => 1,
        AssignOp::Sub => 2,
        AssignOp::Mul => 3,
        AssignOp::Div => 4,
    }
}

fn binary_code(op: BinOp) -> u8 {
    match op {
        BinOp::Add => 0,
        BinOp::Sub => 1,
        BinOp::Mul => 2,
        BinOp::Div => 3,
        BinOp::Mod => 4,
        BinOp::Pow => 5,
        BinOp::Eq => 6,
        BinOp::Ne => 7,
        BinOp::Lt => 8,
        BinOp::Le => 9,
        BinOp::Gt => 10,
        BinOp::Ge => 11,
        BinOp::In => 12,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::parse;

    fn top(src: &str) -> UnitEncoding {
        let (ast, diags) = parse(src);
        assert!(diags.is_empty(), "{diags:?}");
        encode_top(&ast, src.len(), b"test")
    }

    fn first_func(src: &str) -> UnitEncoding {
        let (ast, diags) = parse(src);
        assert!(diags.is_empty(), "{diags:?}");
        let func = ast
            .stmts
            .iter()
            .find_map(|s| match &s.kind {
                AstStmtKind::Func(f) => Some(f.clone()),
                _ => None,
            })
            .expect("a function");
        encode_func(&func, b"test")
    }

    #[test]
    fn whitespace_and_comments_do_not_change_the_hash() {
        let a = top("let x = 1 + 2\nprint(x)\n");
        let b = top("// comment\nlet   x =1+2\n\n\nprint( x )");
        assert_eq!(a.hash, b.hash);
        assert_eq!(a.spans.len(), b.spans.len());
        assert_ne!(a.spans, b.spans);
    }

    #[test]
    fn different_code_changes_the_hash() {
        assert_ne!(top("let x = 1").hash, top("let x = 2").hash);
        assert_ne!(top("let x = 1").hash, top("const x = 1").hash);
        assert_ne!(top("print(a + b)").hash, top("print(a - b)").hash);
        assert_ne!(top("let x = \"ab\"").hash, top("let x = \"a\" + \"b\"").hash);
    }

    #[test]
    fn the_salt_changes_the_hash() {
        let (ast, _) = parse("let x = 1");
        assert_ne!(encode_top(&ast, 9, b"O0").hash, encode_top(&ast, 9, b"O2").hash);
    }

    #[test]
    fn function_bodies_are_opaque_to_the_top_level() {
        let a = top("action f() { return 1 }\nprint(f())");
        let b = top("action f() { let y = 2\n return y * 3 }\nprint(f())");
        assert_eq!(a.hash, b.hash);
        let c = top("action g() { return 1 }\nprint(f())");
        assert_ne!(a.hash, c.hash);
    }

    #[test]
    fn moving_a_function_keeps_its_hash() {
        let a = first_func("action f(a) { return a * 2 }");
        let b = first_func("\n\n\nlet z = 1\naction f(a) {\n  return a * 2\n}");
        assert_eq!(a.hash, b.hash);
        assert_eq!(a.spans.len(), b.spans.len());
        let c = first_func("action f(a) { return a * 3 }");
        assert_ne!(a.hash, c.hash);
    }
}
