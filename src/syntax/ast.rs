//! The abstract syntax tree. Every node carries the span of the source it came from.

use std::rc::Rc;

use super::span::Span;

/// A name with the span where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct AstIdent {
    /// The identifier's text.
    pub name: String,
    /// Where it was written.
    pub span: Span,
}

/// A whole program: the top-level statements of one file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AstProgram {
    /// Top-level statements in source order.
    pub stmts: Vec<AstStmt>,
    /// Names the file's `export` statements add to its export list (MODULES.md §7), in source
    /// order, with where each was written; `export use` adds its names when resolved.
    pub exports: Vec<AstIdent>,
}

/// The three forms of `use` (MODULES.md §3).
#[derive(Debug, Clone, PartialEq)]
pub enum UseForm {
    /// `use "p"`: every exported name.
    All,
    /// `use "p" as m`: the module value.
    Alias(AstIdent),
    /// `use { a, b } from "p"`: the listed names.
    Named(Vec<AstIdent>),
}

/// A `use` statement (or the `use` of an `export use`).
#[derive(Debug, Clone, PartialEq)]
pub struct AstUse {
    /// What it binds.
    pub form: UseForm,
    /// The path text (escapes processed).
    pub path: String,
    /// The path string literal, quotes included (where its errors point).
    pub path_span: Span,
    /// True for `export use`: every name it binds is also exported.
    pub reexport: bool,
}

/// A function declaration or literal (`action f(a) { ... }`, `function(a) { ... }`).
#[derive(Debug, Clone, PartialEq)]
pub struct AstFunc {
    /// The declared name; `None` for an anonymous function literal.
    pub name: Option<AstIdent>,
    /// Parameters in order (the parser rejects duplicates).
    pub params: Vec<AstIdent>,
    /// Default expressions of the last `defaults.len()` parameters, in order (DIALECT.md §5:
    /// once a parameter has a default every later one has one, so the defaulted parameters
    /// are always a suffix). Evaluated at call time, in the callee's scope.
    pub defaults: Vec<AstExpr>,
    /// Statements of the body.
    pub body: Vec<AstStmt>,
    /// From the `action`/`function` keyword to the closing `}`.
    pub span: Span,
}

/// A statement and its span.
#[derive(Debug, Clone, PartialEq)]
pub struct AstStmt {
    /// What kind of statement.
    pub kind: AstStmtKind,
    /// The statement's full extent.
    pub span: Span,
}

/// Assignment operators: `=`, `+=`, `-=`, `*=`, `/=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AssignOp {
    /// `=`
    Set,
    /// `+=`
    Add,
    /// `-=`
    Sub,
    /// `*=`
    Mul,
    /// `/=`
    Div,
}

/// The left-hand side of an assignment.
#[derive(Debug, Clone, PartialEq)]
pub enum AstTarget {
    /// `x = ...`
    Name(AstIdent),
    /// `a[i] = ...`; `bracket` is the span of the `[` (where index errors point).
    Index { object: Box<AstExpr>, index: Box<AstExpr>, bracket: Span },
    /// `a.name = ...` (same as `a["name"] = ...`).
    Member { object: Box<AstExpr>, name: AstIdent },
}

/// Kinds of statements. Rare variants box their largest field, so that a statement node is as
/// small as the common ones need (issue 13, M8; `tests::node_sizes`).
#[derive(Debug, Clone, PartialEq)]
pub enum AstStmtKind {
    /// `let x = e` or `const x = e` (a type annotation is parsed and dropped).
    Let { name: AstIdent, is_const: bool, value: AstExpr },
    /// A named `action`/`function` declaration (always has `name`).
    Func(Rc<AstFunc>),
    /// `if c {..} elif c2 {..} else {..}`: one `(condition, body)` per `if`/`elif`.
    If { branches: Vec<(AstExpr, Vec<AstStmt>)>, else_body: Option<Vec<AstStmt>> },
    /// `while c { .. }`
    While { cond: AstExpr, body: Vec<AstStmt> },
    /// `for each x in e { .. }` (also `for x in e`); with two variables, `for each k, x in e`,
    /// `key` is the first (the index of a list or string, the key of a map) and `var` the
    /// element (DIALECT.md §8).
    ForEach { var: AstIdent, key: Option<AstIdent>, iterable: Box<AstExpr>, body: Vec<AstStmt> },
    /// `break`
    Break,
    /// `continue`
    Continue,
    /// `return` or `return e`.
    Return(Option<AstExpr>),
    /// `print(a, b)` or `print e`; `paren` is the span of the `print` keyword.
    Print(Vec<AstExpr>),
    /// `target op value`. `op_span` is the span of the assignment operator.
    Assign { target: AstTarget, op: AssignOp, op_span: Span, value: AstExpr },
    /// An expression evaluated for its effects.
    Expr(AstExpr),
    /// A bare `{ ... }` block (creates no scope).
    Block(Vec<AstStmt>),
    /// `STATE[key] op value` (blockchain; `op_span` is the assignment operator).
    StateSet { key: Box<AstExpr>, op: AssignOp, op_span: Span, value: AstExpr },
    /// `TX_BEGIN()`
    TxBegin,
    /// `TX_COMMIT()`
    TxCommit,
    /// `TX_REVERT()`
    TxRevert,
    /// `VERIFY(cond)` or `VERIFY(cond, msg)`.
    Verify { cond: Box<AstExpr>, message: Option<AstExpr> },
    /// `try {..} catch (e) {..} finally {..}` (ERRORS.md §1.2); at least one of the clauses.
    Try { body: Vec<AstStmt>, catch: Option<AstCatch>, finally: Option<AstFinally> },
    /// `throw value`; `kw` is the span of the `throw` keyword (where an uncaught error points).
    Throw { value: AstExpr, kw: Span },
    /// `require(cond)` or `require(cond, msg)`; `kw` is the span of the keyword.
    Require { cond: Box<AstExpr>, message: Option<AstExpr>, kw: Span },
    /// `revert()` or `revert(msg)`; `kw` is the span of the keyword.
    Revert { message: Option<AstExpr>, kw: Span },
    /// `emit Name(args)` or `emit Name { k: v }` (one map argument) (CONTRACTS.md §7.2).
    Emit { name: AstIdent, args: Vec<AstExpr> },
    /// `use ...` (MODULES.md §3); only at the top level of a file.
    Use(AstUse),
}

/// The catch clause of a `try` statement.
#[derive(Debug, Clone, PartialEq)]
pub struct AstCatch {
    /// The catch variable (`None` for `catch { }`).
    pub var: Option<AstIdent>,
    /// Statements of the catch body.
    pub body: Vec<AstStmt>,
    /// The span of the `catch` keyword.
    pub kw: Span,
}

/// The finally clause of a `try` statement.
#[derive(Debug, Clone, PartialEq)]
pub struct AstFinally {
    /// Statements of the finally body.
    pub body: Vec<AstStmt>,
    /// The span of the `finally` keyword.
    pub kw: Span,
}

/// Binary operators (not the short-circuit ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Mod,
    /// `**`
    Pow,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `in` (membership, DIALECT.md §7.2)
    In,
}

/// Short-circuit operators; both always produce a boolean.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogicOp {
    /// `&&` / `and`
    And,
    /// `||` / `or`
    Or,
}

/// Prefix operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnOp {
    /// `-x`
    Neg,
    /// `!x` / `not x`
    Not,
}

/// An expression and its span.
#[derive(Debug, Clone, PartialEq)]
pub struct AstExpr {
    /// What kind of expression.
    pub kind: AstExprKind,
    /// The expression's full extent.
    pub span: Span,
}

/// Kinds of expressions (the names of method calls and constructions are boxed to keep every
/// node small, issue 13, M8).
#[derive(Debug, Clone, PartialEq)]
pub enum AstExprKind {
    /// Integer literal (already range-checked by the lexer/parser).
    Int(i64),
    /// Float literal.
    Float(f64),
    /// String literal with escapes already processed.
    Str(String),
    /// `true` / `false`
    Bool(bool),
    /// `null`
    Null,
    /// A variable reference.
    Name(String),
    /// `[a, b, c]`
    List(Vec<AstExpr>),
    /// `{"k": v, name: v}`: keys are strings (a bare identifier key is its name).
    Map(Vec<(String, Span, AstExpr)>),
    /// `function(a, b) { ... }` (anonymous; `name` is `None`).
    Func(Rc<AstFunc>),
    /// Prefix operator; `op_span` is the operator token.
    Unary { op: UnOp, op_span: Span, operand: Box<AstExpr> },
    /// Binary operator; `op_span` is the operator token (where runtime errors point).
    Binary { op: BinOp, op_span: Span, lhs: Box<AstExpr>, rhs: Box<AstExpr> },
    /// `&&`, `||`, `and`, `or`.
    Logic { op: LogicOp, lhs: Box<AstExpr>, rhs: Box<AstExpr> },
    /// `a ?? b` (DIALECT.md §7.1): `a` unless it is `null`, when `b` is evaluated instead.
    Coalesce { lhs: Box<AstExpr>, rhs: Box<AstExpr> },
    /// `c ? a : b`
    Ternary { cond: Box<AstExpr>, then: Box<AstExpr>, otherwise: Box<AstExpr> },
    /// `f(args)`; `paren` is the span of the `(` (where call errors point).
    Call { callee: Box<AstExpr>, args: Vec<AstExpr>, paren: Span },
    /// `x.name(args)`; `paren` is the span of the `(`.
    MethodCall { receiver: Box<AstExpr>, name: Box<AstIdent>, args: Vec<AstExpr>, paren: Span },
    /// `a[i]`; `bracket` is the span of the `[`.
    Index { object: Box<AstExpr>, index: Box<AstExpr>, bracket: Span },
    /// `a.name` (not followed by a call).
    Member { object: Box<AstExpr>, name: AstIdent },
    /// `STATE[key]` (blockchain read).
    StateGet { key: Box<AstExpr>, bracket: Span },
    /// `HASH(value)`; `paren` is the span of the `(`.
    Hash { value: Box<AstExpr>, paren: Span },
    /// `this` / `self` inside a contract body: the current instance (CONTRACTS.md §4.3).
    This,
    /// `Name { f: v, ... }` (CONTRACTS.md §9): `ty` is the name read as a variable, `name`
    /// the name as written (for the error when it is not an entity type).
    Construct { ty: Box<AstExpr>, name: Box<AstIdent>, fields: Vec<(String, Span, AstExpr)> },
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The AST's node sizes (issue 13, M8: a large program's memory is mostly its statement
    /// and expression nodes). `cargo test --lib node_sizes -- --nocapture` prints them.
    #[test]
    fn node_sizes() {
        let sizes = [
            ("AstStmt", std::mem::size_of::<AstStmt>()),
            ("AstStmtKind", std::mem::size_of::<AstStmtKind>()),
            ("AstExpr", std::mem::size_of::<AstExpr>()),
            ("AstExprKind", std::mem::size_of::<AstExprKind>()),
            ("AstTarget", std::mem::size_of::<AstTarget>()),
            ("AstIdent", std::mem::size_of::<AstIdent>()),
        ];
        for (name, size) in sizes {
            println!("{name}: {size} bytes");
        }
        // 184 and 80 before the rare variants' large fields were boxed.
        assert!(std::mem::size_of::<AstStmt>() <= 128, "a statement node grew");
        assert!(std::mem::size_of::<AstExpr>() <= 56, "an expression node grew");
    }
}
