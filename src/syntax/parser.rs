//! The Zexus parser: recursive descent for statements, Pratt parsing for expressions.
//!
//! The parser pulls tokens from a streaming [`Lexer`], never fails as a whole, and
//! resynchronises at statement boundaries so one run reports several errors. It also bounds
//! the height of every tree it builds by [`MAX_NESTING`], so neither it nor later passes that
//! recurse over the AST (the compiler, `Drop`) can overflow the stack.
//!
//! Statement termination (LANGUAGE.md sections 1.2 and 9): a statement ends at `;`, at a line
//! break once it is complete, before a `}`, at the end of the file, or right after a block's
//! closing `}`. Newlines are ignored inside `(`, `[` and map `{`; elsewhere a line break stops
//! every *optional* continuation (binary operators, `?`, calls, indexing, `.`), while tokens the
//! grammar *requires* (an operand after an operator, `=` after `let x`, `:` of a ternary,
//! `elif`/`else`, a block's `{`) may come on a later line.

use std::collections::VecDeque;
use std::rc::Rc;

use super::ast::*;
use super::lexer::{Lexer, Tok, unescape};
use super::span::Span;
use super::token::Token;
use crate::diag::Diagnostic;

mod contracts;
mod errors;
mod modules;

pub use super::limits::MAX_NESTING;

/// The parser stops after this many diagnostics (lexical ones included).
const MAX_DIAGNOSTICS: usize = 50;

/// Words reserved for later extensions: they may not be declared, assigned or read as names.
const RESERVED_WORDS: &[&str] = &[
    "log", "require", "tx", "use", "export", "try", "catch", "throw", "async", "await", "match", "enum", "finally",
    "revert",
];

/// The blockchain names of BLOCKCHAIN.md section 1, usable only in their own forms.
/// The hidden builtin a slice `x[a:b]` calls (its `%` name cannot be written in programs).
const SLICE_BUILTIN: &str = "%slice";

/// The inside of `[...]` after an expression: `x[i]` or `x[a:b]`.
enum Subscript {
    Index(Box<AstExpr>),
    Slice(Option<Box<AstExpr>>, Option<Box<AstExpr>>),
}

const CHAIN_NAMES: &[&str] = &["STATE", "TX_BEGIN", "TX_COMMIT", "TX_REVERT", "HASH", "VERIFY"];

/// Parses a whole program. Never fails: syntax errors come back as diagnostics (sorted by
/// position, at most about 50), next to whatever part of the program could be parsed.
pub fn parse(src: &str) -> (AstProgram, Vec<Diagnostic>) {
    let mut parser = Parser::new(src);
    let (mut stmts, _height) = parser.statement_list(false);
    contracts::hoist(&mut stmts, &mut parser.diags);
    let Parser { lexer, diags, exports, .. } = parser;
    let mut all = lexer.into_diagnostics();
    all.extend(diags);
    all.sort_by_key(|d| d.span.start);
    all.truncate(MAX_DIAGNOSTICS);
    (AstProgram { stmts, exports }, all)
}

/// What an infix token does once its left operand is parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InfixOp {
    /// An arithmetic or comparison operator.
    Binary(BinOp),
    /// `&&`/`and` or `||`/`or`.
    Logic(LogicOp),
    /// The `?` of `c ? a : b`.
    Ternary,
    /// `??` (DIALECT.md §7.1).
    Coalesce,
}

/// Binding power of the operand of a prefix operator (`-`, `!`, `not`).
///
/// It lies between `*` (15/16) and `**` (19/18), so `-2 ** 2` is `-(2 ** 2)` and
/// `not a == b` is `(not a) == b`.
const PREFIX_BP: u8 = 17;

/// The single precedence table of Zexus (LANGUAGE.md section 2.1).
///
/// Returns the operator with its left and right binding powers. The Pratt loop keeps folding
/// an operator into the left operand while its left power is at least the current minimum, and
/// parses the right operand with the right power as the new minimum. So `left < right` makes an
/// operator left-associative and `left > right` right-associative. Levels, loosest first:
/// ternary `?:` (right), `??`, `||`/`or`, `&&`/`and`, `==` `!=`, `<` `<=` `>` `>=` `in`, `+` `-`,
/// `*` `/` `%` (all left), then the prefix operators at [`PREFIX_BP`], then `**` (right; its
/// right operand may itself start with a prefix operator, as in `2 ** -1`). Calls, indexing
/// and `.` bind tightest and are handled by the postfix rule.
pub fn infix_binding_power(token: &Token) -> Option<(InfixOp, u8, u8)> {
    use InfixOp::{Binary, Logic};
    let res = match token {
        Token::Question => (InfixOp::Ternary, 2, 1),
        Token::QuestionQuestion => (InfixOp::Coalesce, 3, 4),
        Token::PipePipe | Token::Or => (Logic(LogicOp::Or), 5, 6),
        Token::AmpAmp | Token::And => (Logic(LogicOp::And), 7, 8),
        Token::EqEq => (Binary(BinOp::Eq), 9, 10),
        Token::NotEq => (Binary(BinOp::Ne), 9, 10),
        Token::Lt => (Binary(BinOp::Lt), 11, 12),
        Token::Le => (Binary(BinOp::Le), 11, 12),
        Token::Gt => (Binary(BinOp::Gt), 11, 12),
        Token::Ge => (Binary(BinOp::Ge), 11, 12),
        Token::In => (Binary(BinOp::In), 11, 12),
        Token::Plus => (Binary(BinOp::Add), 13, 14),
        Token::Minus => (Binary(BinOp::Sub), 13, 14),
        Token::Star => (Binary(BinOp::Mul), 15, 16),
        Token::Slash => (Binary(BinOp::Div), 15, 16),
        Token::Percent => (Binary(BinOp::Mod), 15, 16),
        Token::StarStar => (Binary(BinOp::Pow), 19, 18),
        _ => return None,
    };
    Some(res)
}

/// Marks a failed parse whose diagnostic has already been recorded.
#[derive(Debug)]
struct Failed;

/// Result of one parsing rule.
type PResult<T> = Result<T, Failed>;

/// An expression with the height of its tree.
type PExpr = (AstExpr, usize);

/// One `key: value` entry of a map literal, with the key's span.
type MapEntry = (String, Span, AstExpr);

/// A statement with the height of its tree.
type PStmt = (AstStmt, usize);

/// Recursive-descent parser state.
struct Parser<'src> {
    src: &'src str,
    lexer: Lexer<'src>,
    /// The current (not yet consumed) token.
    cur: Tok,
    /// Lookahead past `cur`, filled on demand (arrow functions need to see past a `(...)`).
    peeked: VecDeque<Tok>,
    /// End of the last consumed token (where "found end of line" errors point).
    prev_end: u32,
    /// True when the last consumed token was a block's closing `}`.
    prev_was_block_end: bool,
    /// Number of tokens consumed so far (to detect progress).
    consumed: u64,
    /// Value of `consumed` when the current statement started.
    stmt_start: u64,
    /// Byte offset where the current statement started.
    stmt_start_offset: u32,
    diags: Vec<Diagnostic>,
    /// Current recursion depth of blocks and expressions.
    depth: usize,
    /// Set once parsing must stop (nesting limit or too many errors).
    fatal: bool,
    /// True inside `(`, `[` or a map's `{`, where line breaks mean nothing.
    ignore_newlines: bool,
    /// Brackets open since the innermost block started.
    open_brackets: u32,
    /// `open_brackets` when the last error was reported (used by recovery).
    open_brackets_at_error: u32,
    in_function: bool,
    in_loop: bool,
    /// The body indentation B of the innermost indented block being parsed (DIALECT.md §1),
    /// or `None` in a free-form context (the top level, a brace block).
    block_indent: Option<&'src str>,
    /// While parsing the header of `if`/`elif`/`while`/`for each`: the bracket depth at its
    /// start, where `Name {` opens the body rather than a construction (CONTRACTS.md §2).
    no_construct_at: Option<u32>,
    /// Statements being parsed, the current one included (1 at the top level of the file).
    stmt_nesting: u32,
    /// Names added to the export list by `export` statements (MODULES.md §7).
    exports: Vec<AstIdent>,
}

impl<'src> Parser<'src> {
    fn new(src: &'src str) -> Parser<'src> {
        let mut lexer = Lexer::new(src);
        let cur = lexer.next_tok();
        Parser {
            src,
            lexer,
            cur,
            peeked: VecDeque::new(),
            prev_end: 0,
            prev_was_block_end: false,
            consumed: 0,
            stmt_start: 0,
            stmt_start_offset: 0,
            diags: Vec::new(),
            depth: 0,
            fatal: false,
            ignore_newlines: false,
            open_brackets: 0,
            open_brackets_at_error: 0,
            in_function: false,
            in_loop: false,
            block_indent: None,
            no_construct_at: None,
            stmt_nesting: 0,
            exports: Vec::new(),
        }
    }

    // ----- Token access -----

    /// Consumes the current token and returns it.
    fn bump(&mut self) -> Tok {
        let next = match self.peeked.pop_front() {
            Some(tok) => tok,
            None => self.lexer.next_tok(),
        };
        let tok = std::mem::replace(&mut self.cur, next);
        if tok.token != Token::Eof {
            self.prev_end = tok.span.end;
            self.consumed += 1;
        }
        self.prev_was_block_end = false;
        if self.lexer.diagnostics().len() + self.diags.len() >= MAX_DIAGNOSTICS {
            self.fatal = true;
        }
        tok
    }

    /// The token after the current one.
    fn peek2(&mut self) -> Tok {
        self.peek_at(0)
    }

    /// The token `n + 1` places after the current one.
    fn peek_at(&mut self, n: usize) -> Tok {
        while self.peeked.len() <= n {
            let tok = self.lexer.next_tok();
            self.peeked.push_back(tok);
            if tok.token == Token::Eof {
                return tok;
            }
        }
        self.peeked[n]
    }

    /// True if the current token is `token`.
    fn at(&self, token: Token) -> bool {
        self.cur.token == token
    }

    /// True when a line break before the current token ends the construct being parsed.
    fn at_line_break(&self) -> bool {
        self.cur.newline_before && !self.ignore_newlines
    }

    /// The source text of `span`.
    fn text(&self, span: Span) -> &'src str {
        self.src.get(span.start as usize..span.end as usize).unwrap_or("")
    }

    // ----- Diagnostics -----

    /// Records a diagnostic without failing the current rule.
    fn report(&mut self, diag: Diagnostic) {
        self.open_brackets_at_error = self.open_brackets;
        self.diags.push(diag);
        if self.lexer.diagnostics().len() + self.diags.len() >= MAX_DIAGNOSTICS {
            self.fatal = true;
        }
    }

    /// Records a diagnostic and fails the current rule.
    fn fail(&mut self, diag: Diagnostic) -> Failed {
        self.report(diag);
        Failed
    }

    /// Records a "expected ..." diagnostic and fails, staying silent when the problem is a
    /// follow-up of a lexical error in the same statement (already reported).
    fn fail_unless_cascade(&mut self, diag: Diagnostic) -> Failed {
        let lexical = self.at(Token::Error)
            || self.lexer.diagnostics().last().is_some_and(|d| d.span.start >= self.stmt_start_offset);
        if lexical {
            self.open_brackets_at_error = self.open_brackets;
            return Failed;
        }
        self.fail(diag)
    }

    /// How the current token reads in "found ..." and where such an error should point.
    fn found(&self) -> (String, Span) {
        let at_end = Span { start: self.prev_end, end: self.prev_end };
        match self.cur.token {
            Token::Eof => ("end of file".to_string(), at_end),
            _ if self.cur.newline_before && self.consumed != self.stmt_start => ("end of line".to_string(), at_end),
            Token::Ident => (format!("'{}'", self.text(self.cur.span)), self.cur.span),
            other => (other.describe().to_string(), self.cur.span),
        }
    }

    /// Fails with "expected WHAT, found ...", unless the current token is a lexical error
    /// (already reported).
    fn expected(&mut self, what: &str) -> Failed {
        let (found, span) = self.found();
        let diag = Diagnostic::error("E0110", format!("syntax error: expected {what}, found {found}"), span)
            .with_label(format!("expected {what}"));
        self.fail_unless_cascade(diag)
    }

    /// Consumes `token` (which may follow a line break) or fails with "expected 'token'".
    fn expect(&mut self, token: Token, context: &str) -> PResult<Tok> {
        if self.at(token) {
            return Ok(self.bump());
        }
        let what = if context.is_empty() { token.text().to_string() } else { format!("{} {context}", token.text()) };
        Err(self.expected(&what))
    }

    /// Consumes the closing `close` of a bracket opened at `open`, or fails with
    /// "expected ')' to close '('".
    fn expect_closing(&mut self, close: Token, open: Tok) -> PResult<Tok> {
        if self.at(close) {
            return Ok(self.bump());
        }
        let (found, span) = self.found();
        let unclosed = self.cur.newline_before || self.at(Token::Eof);
        let message = format!("syntax error: expected {} to close {}, found {found}", close.text(), open.token.text());
        let diag = Diagnostic::error("E0112", message, span).with_label(format!("expected {}", close.text()));
        let failed = self.fail_unless_cascade(diag);
        if unclosed {
            // The bracket was most likely never closed: recover as if it had been.
            self.open_brackets_at_error = self.open_brackets.saturating_sub(1);
        }
        Err(failed)
    }

    // ----- Nesting limits -----

    /// Enters one level of recursion, failing fatally past [`MAX_NESTING`].
    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            self.depth -= 1;
            return Err(self.too_deep(self.cur.span));
        }
        Ok(())
    }

    /// Reports the nesting limit once and stops the parse.
    fn too_deep(&mut self, span: Span) -> Failed {
        if !self.fatal {
            let diag = Diagnostic::error("E0130", "syntax error: expression nested too deeply", span)
                .with_label(format!("more than {MAX_NESTING} levels of nesting"));
            self.diags.push(diag);
        }
        self.fatal = true;
        Failed
    }

    /// Builds an expression node of height `height`, enforcing [`MAX_NESTING`].
    fn node(&mut self, kind: AstExprKind, span: Span, height: usize) -> PResult<PExpr> {
        if height > MAX_NESTING {
            return Err(self.too_deep(span));
        }
        Ok((AstExpr { kind, span }, height))
    }

    /// Builds a statement node of height `height`, enforcing [`MAX_NESTING`].
    fn stmt(&mut self, kind: AstStmtKind, start: u32, height: usize) -> PResult<PStmt> {
        let span = Span { start, end: self.prev_end.max(start) };
        if height > MAX_NESTING {
            return Err(self.too_deep(span));
        }
        Ok((AstStmt { kind, span }, height))
    }

    /// Enters a bracket, where line breaks are insignificant; returns the state to restore.
    fn open_bracket(&mut self) -> bool {
        self.open_brackets += 1;
        std::mem::replace(&mut self.ignore_newlines, true)
    }

    /// Leaves a bracket entered with [`Parser::open_bracket`].
    fn close_bracket(&mut self, saved: bool) {
        self.open_brackets -= 1;
        self.ignore_newlines = saved;
    }

    // ----- Statements -----

    /// `{ statement }` until `}` (inside a block) or the end of the file.
    fn statement_list(&mut self, in_block: bool) -> (Vec<AstStmt>, usize) {
        let mut stmts = Vec::new();
        let mut height = 0;
        while !self.fatal {
            match self.cur.token {
                Token::Eof => break,
                Token::RBrace if in_block => break,
                Token::RBrace => {
                    let diag = Diagnostic::error("E0110", "syntax error: unexpected '}'", self.cur.span)
                        .with_label("no block is open here");
                    self.report(diag);
                    self.bump();
                    continue;
                }
                Token::Semi => {
                    self.bump();
                    continue;
                }
                _ => {}
            }
            self.stmt_start = self.consumed;
            self.stmt_start_offset = self.cur.span.start;
            match self.statement() {
                Ok((stmt, h)) => {
                    height = height.max(h);
                    stmts.push(stmt);
                }
                Err(Failed) => {
                    if self.fatal {
                        break;
                    }
                    self.synchronize();
                    if self.consumed == self.stmt_start {
                        self.bump();
                    }
                }
            }
        }
        // Exact capacity: a large program's memory is mostly statement lists (issue 13, M8).
        stmts.shrink_to_fit();
        (stmts, height)
    }

    /// Skips tokens after an error up to the next statement boundary: a `;` (consumed), a
    /// line break, a `}` (not consumed) or the end of the file. Brackets that were open at
    /// the error, or that open while skipping, must close first.
    fn synchronize(&mut self) {
        let mut balance = self.open_brackets_at_error.saturating_sub(self.open_brackets);
        while !self.fatal {
            let tok = self.cur;
            if balance == 0 {
                match tok.token {
                    Token::Eof | Token::RBrace => return,
                    Token::Semi => {
                        self.bump();
                        return;
                    }
                    _ if tok.newline_before && self.consumed != self.stmt_start => return,
                    _ => {}
                }
            }
            match tok.token {
                Token::Eof => return,
                Token::LParen | Token::LBracket | Token::LBrace => balance += 1,
                Token::RParen | Token::RBracket | Token::RBrace => balance = balance.saturating_sub(1),
                _ => {}
            }
            self.bump();
        }
    }

    /// Requires the end of a simple statement: `;`, a line break, `}`, the end of the file,
    /// or a preceding block `}`.
    fn end_statement(&mut self) -> PResult<()> {
        match self.cur.token {
            Token::Semi => {
                self.bump();
                Ok(())
            }
            Token::RBrace | Token::Eof => Ok(()),
            _ if self.cur.newline_before || self.prev_was_block_end => Ok(()),
            _ => Err(self.expected("end of statement (';' or a new line)")),
        }
    }

    /// One statement.
    fn statement(&mut self) -> PResult<PStmt> {
        self.stmt_nesting += 1;
        let res = match self.cur.token {
            Token::Ident if modules::MODULE_WORDS.contains(&self.text(self.cur.span)) => self.module_stmt(),
            _ => self.statement_kind(),
        };
        self.stmt_nesting -= 1;
        res
    }

    /// One statement other than `use` and `export`.
    fn statement_kind(&mut self) -> PResult<PStmt> {
        let next = match self.cur.token {
            Token::Function | Token::Action | Token::Ident => self.peek2().token,
            _ => Token::Eof,
        };
        let declaration = self.cur.token == Token::Ident && next == Token::Ident && self.at_contracts_stmt();
        if self.cur.token == Token::Ident && self.at_verify_stmt(next) {
            return self.verify_stmt();
        }
        match self.cur.token {
            Token::Let | Token::Const => self.let_stmt(),
            Token::Action if next != Token::LParen => self.func_decl(),
            Token::Function if next != Token::LParen => self.func_decl(),
            Token::If => self.if_stmt(),
            Token::While => self.while_stmt(),
            Token::For => self.for_stmt(),
            Token::Break | Token::Continue => self.loop_jump_stmt(),
            Token::Return => self.return_stmt(),
            Token::Print => self.print_stmt(),
            Token::LBrace => self.block_stmt(),
            Token::Elif | Token::Else => {
                let message = format!("syntax error: {} without a matching 'if'", self.cur.token.text());
                let diag = Diagnostic::error("E0110", message, self.cur.span).with_label("no 'if' before this");
                Err(self.fail(diag))
            }
            Token::Ident if declaration => self.contracts_stmt(),
            Token::Ident if next == Token::LParen => match self.text(self.cur.span) {
                "TX_BEGIN" | "TX_COMMIT" | "TX_REVERT" | "VERIFY" => self.chain_stmt(),
                word => match self.errors_stmt(word) {
                    Some(res) => res,
                    None => self.expr_or_assign_stmt(),
                },
            },
            Token::Ident if errors::ERROR_WORDS.contains(&self.text(self.cur.span)) => {
                let word = self.text(self.cur.span);
                self.errors_stmt(word).unwrap_or_else(|| self.expr_or_assign_stmt())
            }
            _ => self.expr_or_assign_stmt(),
        }
    }

    /// `let_stmt = ("let" | "const") identifier [ ":" type_name ] "=" expression`.
    fn let_stmt(&mut self) -> PResult<PStmt> {
        let kw = self.bump();
        let is_const = kw.token == Token::Const;
        let name = self.declared_name(if is_const { "constant name" } else { "variable name" })?;
        if self.at(Token::Colon) {
            self.bump();
            self.type_annotation()?;
        }
        self.expect(Token::Assign, "")?;
        let (value, h) = self.expression()?;
        self.end_statement()?;
        self.stmt(AstStmtKind::Let { name, is_const, value }, kw.span.start, h + 1)
    }

    /// `func_decl = ("action" | "function") identifier [ "(" [ params ] ")" ] [ "->" type ] body`
    /// (DIALECT.md §3: the parameter list may be omitted; the body may be a colon suite).
    fn func_decl(&mut self) -> PResult<PStmt> {
        let kw = self.bump();
        let name = self.declared_name("function name")?;
        let params = if self.at(Token::LParen) { self.params()? } else { Params::default() };
        let (body, h) = self.function_body(kw.span.start, true)?;
        let span = Span { start: kw.span.start, end: self.prev_end };
        let func = AstFunc { name: Some(name), params: params.names, defaults: params.defaults, body, span };
        self.stmt(AstStmtKind::Func(Rc::new(func)), kw.span.start, h.max(params.height) + 1)
    }

    /// An optional `-> type`, then the body of a function: a brace block, or (for a named
    /// declaration, `colon_ok`) a colon suite whose reference indentation is that of the line
    /// holding `start`.
    fn function_body(&mut self, start: u32, colon_ok: bool) -> PResult<(Vec<AstStmt>, usize)> {
        if self.at(Token::Arrow) {
            self.bump();
            self.type_annotation()?;
        }
        let saved = (self.in_function, self.in_loop);
        self.in_function = true;
        self.in_loop = false;
        let res = if colon_ok { self.body(start).map(|(b, h, _)| (b, h)) } else { self.block() };
        (self.in_function, self.in_loop) = saved;
        res
    }

    /// `"(" [ params ] ")"`, rejecting duplicates.
    fn params(&mut self) -> PResult<Params> {
        let open = self.expect(Token::LParen, "to start the parameter list")?;
        let saved = self.open_bracket();
        let res = self.param_names(open);
        self.close_bracket(saved);
        res
    }

    /// The parameters and the closing `)`: `param = identifier [ ":" type ] [ "=" expression ]`.
    fn param_names(&mut self, open: Tok) -> PResult<Params> {
        let mut params = Params::default();
        while !self.at(Token::RParen) {
            let param = self.declared_name("parameter name")?;
            self.check_duplicate_param(&params.names, &param);
            if self.at(Token::Colon) {
                self.bump();
                self.type_annotation()?;
            }
            if self.at(Token::Assign) {
                self.bump();
                let (default, h) = self.expression()?;
                params.height = params.height.max(h);
                params.defaults.push(default);
            } else if !params.defaults.is_empty() {
                let diag = Diagnostic::error(
                    "E0125",
                    "syntax error: non-default parameter follows default parameter",
                    param.span,
                )
                .with_label("give this parameter a default too, or move it before the defaulted ones");
                self.report(diag);
            }
            params.names.push(param);
            if self.at(Token::Comma) {
                self.bump();
            } else if !self.at(Token::RParen) {
                return Err(self.expected("',' or ')' in the parameter list"));
            }
        }
        self.expect_closing(Token::RParen, open)?;
        Ok(params)
    }

    /// Reports `param` if an earlier parameter has its name.
    fn check_duplicate_param(&mut self, earlier: &[AstIdent], param: &AstIdent) {
        if earlier.iter().any(|other| other.name == param.name) {
            let message = format!("syntax error: duplicate parameter '{}'", param.name);
            let diag = Diagnostic::error("E0122", message, param.span).with_label("already declared");
            self.report(diag);
        }
    }

    /// `type = type_name | "(" type { "," type } ")"`, `type_name = word { "." word }`.
    /// Annotations have no effect (DIALECT.md §4): the type is checked for form and dropped.
    fn type_annotation(&mut self) -> PResult<()> {
        if self.at(Token::LParen) {
            let open = self.bump();
            let saved = self.open_bracket();
            let res = self.type_list(open);
            self.close_bracket(saved);
            return res;
        }
        if !self.cur.token.is_word() {
            return Err(self.expected("a type"));
        }
        self.bump();
        while self.at(Token::Dot) && !self.at_line_break() {
            self.bump();
            if !self.cur.token.is_word() {
                return Err(self.expected("a type name after '.'"));
            }
            self.bump();
        }
        Ok(())
    }

    /// The types of a tuple type and its `)`.
    fn type_list(&mut self, open: Tok) -> PResult<()> {
        loop {
            self.type_annotation()?;
            if !self.at(Token::Comma) {
                break;
            }
            self.bump();
        }
        self.expect_closing(Token::RParen, open)?;
        Ok(())
    }

    /// A name being declared (variable, constant, parameter, function, loop variable).
    ///
    /// Keywords fail; reserved words and blockchain names are reported but accepted so that
    /// parsing continues normally.
    fn declared_name(&mut self, what: &str) -> PResult<AstIdent> {
        let tok = self.cur;
        if tok.token.is_keyword() {
            let message = format!("syntax error: {} is a keyword and cannot be used as a name", tok.token.text());
            let diag = Diagnostic::error("E0123", message, tok.span).with_label(format!("expected a {what}"));
            return Err(self.fail(diag));
        }
        if tok.token != Token::Ident {
            return Err(self.expected(&format!("a {what}")));
        }
        self.bump();
        let name = self.text(tok.span);
        self.check_name_use(name, tok.span, true);
        Ok(AstIdent { name: name.to_string(), span: tok.span })
    }

    /// Reports a reserved word or blockchain name used as a name.
    fn check_name_use(&mut self, name: &str, span: Span, declared: bool) {
        if CHAIN_NAMES.contains(&name) {
            let message = if declared {
                format!("syntax error: {name} is reserved and cannot be declared")
            } else {
                format!("syntax error: {name} is reserved and cannot be used as a value")
            };
            let diag = Diagnostic::error("E0140", message, span).with_label(chain_usage(name));
            self.report(diag);
        } else if RESERVED_WORDS.contains(&name) {
            let message = format!("syntax error: '{name}' is a reserved word and cannot be used as a name");
            let diag = Diagnostic::error("E0123", message, span).with_label("reserved for later extensions");
            self.report(diag);
        }
    }

    /// `if_stmt = "if" expression block { ("elif" | "else" "if") expression block } [ "else" block ]`.
    fn if_stmt(&mut self) -> PResult<PStmt> {
        let kw = self.bump();
        let mut height = 0;
        let mut branches = Vec::new();
        let (cond, ch) = self.condition()?;
        let (body, bh, mut indented) = self.body(kw.span.start)?;
        height = height.max(ch).max(bh);
        branches.push((cond, body));
        let mut else_body = None;
        loop {
            if !matches!(self.cur.token, Token::Elif | Token::Else) || !self.clause_continues(kw.span.start, indented) {
                break;
            }
            let is_elif = match self.cur.token {
                Token::Elif => true,
                Token::Else => self.peek2().token == Token::If,
                _ => false,
            };
            if is_elif {
                if self.bump().token == Token::Else {
                    self.bump();
                }
                let (cond, ch) = self.condition()?;
                let (body, bh, ind) = self.body(kw.span.start)?;
                indented = ind;
                height = height.max(ch).max(bh);
                branches.push((cond, body));
            } else {
                self.bump();
                let (body, bh, _) = self.body(kw.span.start)?;
                height = height.max(bh);
                else_body = Some(body);
                break;
            }
        }
        branches.shrink_to_fit();
        self.stmt(AstStmtKind::If { branches, else_body }, kw.span.start, height + 1)
    }

    /// The condition of `if`, `elif` or `while`, with or without parentheses.
    fn condition(&mut self) -> PResult<PExpr> {
        if self.at(Token::LBrace) || self.at(Token::Colon) {
            // A `{` here is the body, not a map literal: the condition is missing.
            return Err(self.expected("a condition"));
        }
        self.without_construct(|p| p.expression())
    }

    /// `while_stmt = "while" expression block`.
    fn while_stmt(&mut self) -> PResult<PStmt> {
        let kw = self.bump();
        let (cond, ch) = self.condition()?;
        let (body, bh) = self.loop_body(kw.span.start)?;
        self.stmt(AstStmtKind::While { cond, body }, kw.span.start, ch.max(bh) + 1)
    }

    /// `for_stmt = "for" [ "each" ] identifier [ "," identifier ] "in" expression body`.
    fn for_stmt(&mut self) -> PResult<PStmt> {
        let kw = self.bump();
        if self.at(Token::Each) {
            self.bump();
        }
        let mut var = self.declared_name("loop variable name")?;
        let mut key = None;
        if self.at(Token::Comma) {
            self.bump();
            let second = self.declared_name("loop variable name")?;
            if second.name == var.name {
                let message = format!("syntax error: duplicate loop variable '{}'", second.name);
                let diag = Diagnostic::error("E0122", message, second.span).with_label("already declared");
                self.report(diag);
            }
            key = Some(std::mem::replace(&mut var, second));
        }
        self.expect(Token::In, "after the loop variable")?;
        let (iterable, ih) = self.without_construct(|p| p.expression())?;
        let (body, bh) = self.loop_body(kw.span.start)?;
        self.stmt(AstStmtKind::ForEach { var, key, iterable: Box::new(iterable), body }, kw.span.start, ih.max(bh) + 1)
    }

    /// A loop's body, parsed with `break`/`continue` allowed.
    fn loop_body(&mut self, start: u32) -> PResult<(Vec<AstStmt>, usize)> {
        let saved = self.in_loop;
        self.in_loop = true;
        let res = self.body(start);
        self.in_loop = saved;
        res.map(|(body, h, _)| (body, h))
    }

    /// `"break"` or `"continue"`, valid only inside a loop of the same function.
    fn loop_jump_stmt(&mut self) -> PResult<PStmt> {
        let kw = self.bump();
        if !self.in_loop {
            let message = format!("syntax error: {} outside a loop", kw.token.text());
            let diag = Diagnostic::error("E0120", message, kw.span).with_label("not inside a loop of this function");
            self.report(diag);
        }
        self.end_statement()?;
        let kind = if kw.token == Token::Break { AstStmtKind::Break } else { AstStmtKind::Continue };
        self.stmt(kind, kw.span.start, 1)
    }

    /// `return_stmt = "return" [ expression ]`, the expression starting on the same line.
    fn return_stmt(&mut self) -> PResult<PStmt> {
        let kw = self.bump();
        if !self.in_function {
            let diag = Diagnostic::error("E0121", "syntax error: 'return' outside a function", kw.span)
                .with_label("not inside a function");
            self.report(diag);
        }
        let ends = self.cur.newline_before || matches!(self.cur.token, Token::Semi | Token::RBrace | Token::Eof);
        let (value, h) = if ends {
            (None, 0)
        } else {
            let (value, h) = self.expression()?;
            (Some(value), h)
        };
        self.end_statement()?;
        self.stmt(AstStmtKind::Return(value), kw.span.start, h + 1)
    }

    /// `print_stmt = "print" ( "(" [ args ] ")" | expression )`.
    fn print_stmt(&mut self) -> PResult<PStmt> {
        let kw = self.bump();
        if self.cur.newline_before || matches!(self.cur.token, Token::Semi | Token::RBrace | Token::Eof) {
            return Err(self.expected("'(' or an expression after 'print'"));
        }
        if self.at(Token::LParen) {
            let open = self.bump();
            let (args, h, _) = self.call_args(open)?;
            if !self.cur.newline_before
                && !matches!(self.cur.token, Token::Semi | Token::RBrace | Token::Eof | Token::Error)
            {
                let (found, span) = self.found();
                let message = format!("syntax error: expected end of statement after 'print(...)', found {found}");
                let diag = Diagnostic::error("E0111", message, span)
                    .with_label("'print (' always starts the parenthesised form")
                    .with_note("to print a larger expression, wrap all of it: print((1 + 2) * 3)");
                return Err(self.fail(diag));
            }
            self.end_statement()?;
            return self.stmt(AstStmtKind::Print(args), kw.span.start, h + 1);
        }
        // DIALECT.md §2: `print e1, e2, ...`; a line ending in `,` continues the list.
        let mut values = Vec::new();
        let mut height = 0;
        loop {
            let (value, h) = self.expression()?;
            height = height.max(h);
            values.push(value);
            if !self.at(Token::Comma) || self.at_line_break() {
                break;
            }
            self.bump();
        }
        self.end_statement()?;
        self.stmt(AstStmtKind::Print(values), kw.span.start, height + 1)
    }

    /// A `{ ... }` block at the start of a statement.
    fn block_stmt(&mut self) -> PResult<PStmt> {
        let start = self.cur.span.start;
        let (body, h) = self.block()?;
        self.stmt(AstStmtKind::Block(body), start, h + 1)
    }

    /// `block = "{" { statement } "}"`.
    fn block(&mut self) -> PResult<(Vec<AstStmt>, usize)> {
        let open = self.expect(Token::LBrace, "to start a block")?;
        self.enter()?;
        let saved = (self.ignore_newlines, self.open_brackets, self.stmt_start, self.stmt_start_offset);
        let saved_indent = self.block_indent.take();
        self.ignore_newlines = false;
        self.open_brackets = 0;
        let (stmts, height) = self.statement_list(true);
        (self.ignore_newlines, self.open_brackets, self.stmt_start, self.stmt_start_offset) = saved;
        self.block_indent = saved_indent;
        self.depth -= 1;
        if self.fatal {
            return Err(Failed);
        }
        self.expect_closing(Token::RBrace, open)?;
        self.prev_was_block_end = true;
        Ok((stmts, height))
    }

    // ----- Bodies: brace blocks and colon suites (DIALECT.md §1) -----

    /// `body = block | ":" suite`: the body of a block statement that begins at byte `start`
    /// (whose line's indentation is the reference indentation R). Returns the statements,
    /// their height and whether the body was an indented block.
    ///
    /// This is the one entry point for statement bodies; compound statements of other
    /// families can call it for their own clauses.
    fn body(&mut self, start: u32) -> PResult<(Vec<AstStmt>, usize, bool)> {
        if !self.at(Token::Colon) {
            if !self.at(Token::LBrace) {
                return Err(self.expected("'{' or ':' to start the body"));
            }
            let (stmts, h) = self.block()?;
            return Ok((stmts, h, false));
        }
        let colon = self.bump();
        let reference = self.line_indent(start);
        if !self.cur.newline_before && !self.at(Token::Eof) {
            let (stmts, h) = self.inline_suite()?;
            return Ok((stmts, h, false));
        }
        let (stmts, h) = self.indented_block(colon, reference)?;
        Ok((stmts, h, true))
    }

    /// The leading spaces and tabs of the line holding byte `at`.
    fn line_indent(&self, at: u32) -> &'src str {
        let at = (at as usize).min(self.src.len());
        let line_start = self.src.get(..at).and_then(|s| s.rfind('\n')).map_or(0, |i| i + 1);
        let line = self.src.get(line_start..).unwrap_or("");
        let width = line.bytes().take_while(|b| *b == b' ' || *b == b'\t').count();
        line.get(..width).unwrap_or("")
    }

    /// True when the current token is a line start (DIALECT.md §1.2): the first token of a
    /// line that does not begin inside a block comment.
    fn at_line_start(&self) -> bool {
        if self.at(Token::Eof) {
            return false;
        }
        let at = self.cur.span.start as usize;
        let line_start = self.src.get(..at).and_then(|s| s.rfind('\n')).map_or(0, |i| i + 1);
        if self.consumed == 0 {
            return !starts_inside_comment(self.src, 0, line_start);
        }
        if (self.prev_end as usize) > line_start {
            return false;
        }
        !starts_inside_comment(self.src, self.prev_end as usize, line_start)
    }

    /// Whether an `elif`/`else` (the current token) continues the `if` that begins at byte
    /// `start` (DIALECT.md §1.4, §1.5; LANGUAGE.md §9). In a free-form context a line break
    /// before it never ends the statement, unless the previous clause was an indented block
    /// (then its dedent decides, as inside an indented block).
    fn clause_continues(&mut self, start: u32, after_indented: bool) -> bool {
        if !self.cur.newline_before || !self.at_line_start() {
            return true;
        }
        if self.block_indent.is_none() && !after_indented {
            return true;
        }
        self.line_indent(self.cur.span.start) == self.line_indent(start)
    }

    /// True when the current token starts a compound statement, which may not follow a body's
    /// `:` on its line.
    fn at_compound_start(&mut self) -> bool {
        match self.cur.token {
            Token::If | Token::While | Token::For | Token::LBrace => true,
            Token::Action | Token::Function => self.peek2().token != Token::LParen,
            _ => false,
        }
    }

    /// `inline_suite = simple_stmt { ";" simple_stmt } [ ";" ]`: the statements that start on
    /// the line of the body's `:` (DIALECT.md §1.1).
    fn inline_suite(&mut self) -> PResult<(Vec<AstStmt>, usize)> {
        self.enter()?;
        let res = self.inline_suite_inner();
        self.depth -= 1;
        res
    }

    fn inline_suite_inner(&mut self) -> PResult<(Vec<AstStmt>, usize)> {
        let mut stmts = Vec::new();
        let mut height = 0;
        let saved = (self.stmt_start, self.stmt_start_offset);
        loop {
            if self.at_compound_start() {
                let diag = Diagnostic::error(
                    "E0150",
                    "syntax error: only simple statements may follow ':' on the same line",
                    self.cur.span,
                )
                .with_label("a compound statement needs an indented block")
                .with_note("put it on its own line, indented below the ':'");
                return Err(self.fail(diag));
            }
            self.stmt_start = self.consumed;
            self.stmt_start_offset = self.cur.span.start;
            let (stmt, h) = self.statement()?;
            height = height.max(h);
            stmts.push(stmt);
            while self.at(Token::Semi) && !self.cur.newline_before {
                self.bump();
            }
            if self.cur.newline_before || matches!(self.cur.token, Token::RBrace | Token::Eof) {
                break;
            }
        }
        (self.stmt_start, self.stmt_start_offset) = saved;
        Ok((stmts, height))
    }

    /// An indented block after a body's `:` that ends its line; `reference` is R (DIALECT.md
    /// §1.3-§1.5).
    fn indented_block(&mut self, colon: Tok, reference: &'src str) -> PResult<(Vec<AstStmt>, usize)> {
        let first = self.cur;
        if first.token == Token::Eof || first.token == Token::RBrace {
            let span = if first.token == Token::Eof { colon.span } else { first.span };
            return Err(self.indent_error("expected an indented block", span, "the body of this ':' is missing"));
        }
        let indent = self.line_indent(first.span.start);
        if !deeper(indent, reference) {
            return Err(if reference.starts_with(indent) {
                self.indent_error("expected an indented block", first.span, "indent this line below the ':'")
            } else {
                self.indent_error("inconsistent indentation", first.span, "tabs and spaces do not compare")
            });
        }
        self.enter()?;
        let saved = (self.ignore_newlines, self.open_brackets, self.stmt_start, self.stmt_start_offset);
        let saved_indent = self.block_indent.replace(indent);
        self.ignore_newlines = false;
        self.open_brackets = 0;
        let res = self.indented_statements(indent, reference);
        (self.ignore_newlines, self.open_brackets, self.stmt_start, self.stmt_start_offset) = saved;
        self.block_indent = saved_indent;
        self.depth -= 1;
        if self.fatal {
            return Err(Failed);
        }
        Ok(res)
    }

    /// The statements of an indented block of body indentation `indent`, up to its end.
    fn indented_statements(&mut self, indent: &'src str, reference: &'src str) -> (Vec<AstStmt>, usize) {
        let mut stmts = Vec::new();
        let mut height = 0;
        while !self.fatal {
            match self.cur.token {
                Token::Eof | Token::RBrace => break,
                Token::Semi => {
                    self.bump();
                    continue;
                }
                _ => {}
            }
            if self.at_line_start() {
                let here = self.line_indent(self.cur.span.start);
                if deeper(here, indent) {
                    let span = self.cur.span;
                    let _ = self.indent_error("unexpected indent", span, "deeper than the block's other lines");
                } else if here != indent {
                    // A dedent: the block ends; its owner may continue only at R or to its left.
                    if here != reference && !deeper(reference, here) {
                        let span = self.cur.span;
                        let _ = self.indent_error("inconsistent indentation", span, "matches no enclosing block");
                    }
                    break;
                }
            }
            self.stmt_start = self.consumed;
            self.stmt_start_offset = self.cur.span.start;
            match self.statement() {
                Ok((stmt, h)) => {
                    height = height.max(h);
                    stmts.push(stmt);
                }
                Err(Failed) => {
                    if self.fatal {
                        break;
                    }
                    self.synchronize();
                    if self.consumed == self.stmt_start {
                        self.bump();
                    }
                }
            }
        }
        (stmts, height)
    }

    /// Reports an indentation error (once per position) and returns the failure.
    fn indent_error(&mut self, what: &str, span: Span, label: &str) -> Failed {
        let repeated = self.diags.last().is_some_and(|d| d.span == span && d.message.contains(what));
        if !repeated {
            let diag = Diagnostic::error("E0151", format!("syntax error: {what}"), span).with_label(label.to_string());
            self.report(diag);
        }
        Failed
    }

    /// `TX_BEGIN()`, `TX_COMMIT()`, `TX_REVERT()` or `VERIFY(c [, msg])` as a statement.
    fn chain_stmt(&mut self) -> PResult<PStmt> {
        let name_tok = self.bump();
        let name = self.text(name_tok.span);
        let open = self.bump();
        let (mut args, h, _) = self.call_args(open)?;
        let kind = match name {
            "VERIFY" => {
                if args.is_empty() || args.len() > 2 {
                    self.report_arity(name_tok.span, "VERIFY takes 1 or 2 arguments");
                }
                let mut drained = args.drain(..);
                let cond = drained.next().unwrap_or(AstExpr { kind: AstExprKind::Null, span: name_tok.span });
                let message = drained.next();
                AstStmtKind::Verify { cond: Box::new(cond), message }
            }
            _ => {
                if !args.is_empty() {
                    self.report_arity(name_tok.span, &format!("{name} takes no arguments"));
                }
                match name {
                    "TX_BEGIN" => AstStmtKind::TxBegin,
                    "TX_COMMIT" => AstStmtKind::TxCommit,
                    _ => AstStmtKind::TxRevert,
                }
            }
        };
        let continues = !self.at_line_break()
            && (self.cur.token == Token::Question
                || matches!(self.cur.token, Token::LParen | Token::LBracket | Token::Dot)
                || self.cur.token.is_assign_op()
                || infix_binding_power(&self.cur.token).is_some());
        if continues {
            self.report_statement_only(name, name_tok.span);
            return Err(Failed);
        }
        self.end_statement()?;
        self.stmt(kind, name_tok.span.start, h + 1)
    }

    /// True at `verify` directly followed, on the same line, by a token that starts an
    /// operand and cannot continue an expression (a name, a literal, `!`, `not`): the
    /// reference's `verify condition, "message"` (ARCHITECTURE.md, language decisions).
    /// `verify(...)`, `verify - x` or `verify = 1` stay ordinary uses of the name.
    fn at_verify_stmt(&mut self, next: Token) -> bool {
        let opens_operand = matches!(
            next,
            Token::Ident
                | Token::Int(_)
                | Token::Float(_)
                | Token::Str
                | Token::True
                | Token::False
                | Token::Null
                | Token::Bang
                | Token::Not
        );
        opens_operand && self.text(self.cur.span) == "verify" && !self.peek2().newline_before
    }

    /// `verify condition [, message]`: exactly `VERIFY(condition[, message])` (BLOCKCHAIN.md
    /// §6, whose rationale names this spelling of the reference).
    fn verify_stmt(&mut self) -> PResult<PStmt> {
        let word = self.bump();
        let (cond, ch) = self.expression()?;
        let (message, mh) = if self.at(Token::Comma) {
            self.bump();
            let (message, h) = self.expression()?;
            (Some(message), h)
        } else {
            (None, 0)
        };
        self.end_statement()?;
        self.stmt(AstStmtKind::Verify { cond: Box::new(cond), message }, word.span.start, ch.max(mh) + 1)
    }

    /// Reports a blockchain form called with the wrong number of arguments.
    fn report_arity(&mut self, span: Span, text: &str) {
        let diag =
            Diagnostic::error("E0141", format!("syntax error: {text}"), span).with_label("wrong number of arguments");
        self.report(diag);
    }

    /// Reports a statement-only blockchain form used inside an expression.
    fn report_statement_only(&mut self, name: &str, span: Span) {
        let diag = Diagnostic::error("E0142", format!("syntax error: {name}() is a statement"), span)
            .with_label("cannot be used inside an expression");
        self.report(diag);
    }

    /// `assign_stmt` or `expr_stmt`.
    fn expr_or_assign_stmt(&mut self) -> PResult<PStmt> {
        let start = self.cur.span.start;
        let (expr, h) = self.expression()?;
        let Some(op) = assign_op(&self.cur.token).filter(|_| !self.cur.newline_before) else {
            self.end_statement()?;
            return self.stmt(AstStmtKind::Expr(expr), start, h + 1);
        };
        let op_tok = self.bump();
        let (value, vh) = self.expression()?;
        let height = h.max(vh) + 1;
        let kind = match self.assign_target(expr)? {
            Target::Plain(target) => AstStmtKind::Assign { target, op, op_span: op_tok.span, value },
            Target::State(key) => AstStmtKind::StateSet { key: Box::new(key), op, op_span: op_tok.span, value },
        };
        self.end_statement()?;
        self.stmt(kind, start, height)
    }

    /// Turns the left side of an assignment into a target, rejecting non-targets.
    fn assign_target(&mut self, expr: AstExpr) -> PResult<Target> {
        let span = expr.span;
        match expr.kind {
            AstExprKind::Name(name) => Ok(Target::Plain(AstTarget::Name(AstIdent { name, span }))),
            AstExprKind::StateGet { key, .. } => Ok(Target::State(*key)),
            AstExprKind::Index { object, index, bracket } => {
                self.check_not_state_copy(&object)?;
                Ok(Target::Plain(AstTarget::Index { object, index, bracket }))
            }
            AstExprKind::Member { object, name } => {
                self.check_not_state_copy(&object)?;
                Ok(Target::Plain(AstTarget::Member { object, name }))
            }
            _ => {
                let diag = Diagnostic::error("E0124", "syntax error: cannot assign to this expression", span)
                    .with_label("not a variable, index or member");
                Err(self.fail(diag))
            }
        }
    }

    /// Rejects assignment through a value read from STATE (`STATE["k"][0] = v`).
    fn check_not_state_copy(&mut self, object: &AstExpr) -> PResult<()> {
        let mut cur = object;
        loop {
            match &cur.kind {
                AstExprKind::Index { object, .. } | AstExprKind::Member { object, .. } => cur = object,
                AstExprKind::StateGet { .. } => break,
                _ => return Ok(()),
            }
        }
        let message = "syntax error: cannot assign through a read of STATE: modify a copy: read the value, change it, write it back";
        let diag = Diagnostic::error("E0143", message, object.span).with_label("this is a copy of the stored value");
        Err(self.fail(diag))
    }

    // ----- Expressions -----
    //
    // The rules on the recursive path (`expr_bp` down to `primary` and back) are kept small
    // and delegate each alternative to its own function: unoptimised builds give every local
    // of a function its own stack slot, and `MAX_NESTING` levels must fit in a 2 MiB stack.

    /// `expression = ternary`.
    fn expression(&mut self) -> PResult<PExpr> {
        self.expr_bp(0)
    }

    /// Pratt loop: a prefix expression, then infix operators binding at least `min_bp`.
    fn expr_bp(&mut self, min_bp: u8) -> PResult<PExpr> {
        self.enter()?;
        let res = self.expr_bp_inner(min_bp);
        self.depth -= 1;
        res
    }

    fn expr_bp_inner(&mut self, min_bp: u8) -> PResult<PExpr> {
        let mut lhs = self.unary()?;
        while let Some((op, r_bp)) = self.next_infix(min_bp) {
            lhs = self.infix(lhs, op, r_bp)?;
        }
        Ok(lhs)
    }

    /// The infix operator at the current token, if it continues an expression of `min_bp`.
    fn next_infix(&self, min_bp: u8) -> Option<(InfixOp, u8)> {
        if self.fatal || self.at_line_break() {
            return None;
        }
        let (op, l_bp, r_bp) = infix_binding_power(&self.cur.token)?;
        (l_bp >= min_bp).then_some((op, r_bp))
    }

    /// Parses the right side of infix operator `op` (the current token) and folds it with `lhs`.
    #[inline(never)]
    fn infix(&mut self, lhs: PExpr, op: InfixOp, r_bp: u8) -> PResult<PExpr> {
        let (lhs, lh) = lhs;
        let op_tok = self.bump();
        let (kind, span, height) = match op {
            InfixOp::Ternary => {
                let (then, th) = self.expression()?;
                self.expect(Token::Colon, "in the conditional expression")?;
                let (otherwise, oh) = self.expr_bp(r_bp)?;
                let span = lhs.span.to(otherwise.span);
                let kind =
                    AstExprKind::Ternary { cond: Box::new(lhs), then: Box::new(then), otherwise: Box::new(otherwise) };
                (kind, span, lh.max(th).max(oh))
            }
            InfixOp::Binary(op) => {
                let (rhs, rh) = self.expr_bp(r_bp)?;
                let span = lhs.span.to(rhs.span);
                let kind = AstExprKind::Binary { op, op_span: op_tok.span, lhs: Box::new(lhs), rhs: Box::new(rhs) };
                (kind, span, lh.max(rh))
            }
            InfixOp::Logic(op) => {
                let (rhs, rh) = self.expr_bp(r_bp)?;
                let span = lhs.span.to(rhs.span);
                let kind = AstExprKind::Logic { op, lhs: Box::new(lhs), rhs: Box::new(rhs) };
                (kind, span, lh.max(rh))
            }
            InfixOp::Coalesce => {
                let (rhs, rh) = self.expr_bp(r_bp)?;
                let span = lhs.span.to(rhs.span);
                let kind = AstExprKind::Coalesce { lhs: Box::new(lhs), rhs: Box::new(rhs) };
                (kind, span, lh.max(rh))
            }
        };
        self.node(kind, span, height + 1)
    }

    /// `unary = ("-" | "!" | "not") unary | power` (the power part is in the Pratt loop).
    fn unary(&mut self) -> PResult<PExpr> {
        match self.cur.token {
            Token::Minus => self.prefix(UnOp::Neg),
            Token::Bang | Token::Not => self.prefix(UnOp::Not),
            _ => self.postfix(),
        }
    }

    /// A prefix operator and its operand.
    #[inline(never)]
    fn prefix(&mut self, op: UnOp) -> PResult<PExpr> {
        let op_tok = self.bump();
        let (operand, h) = self.expr_bp(PREFIX_BP)?;
        let span = op_tok.span.to(operand.span);
        let kind = AstExprKind::Unary { op, op_span: op_tok.span, operand: Box::new(operand) };
        self.node(kind, span, h + 1)
    }

    /// `postfix = primary { "(" [ args ] ")" | "[" expression "]" | "." word }`.
    fn postfix(&mut self) -> PResult<PExpr> {
        let mut expr = self.primary()?;
        while !self.fatal && !self.at_line_break() {
            expr = match self.cur.token {
                Token::LParen => self.call_suffix(expr)?,
                Token::LBracket => self.index_suffix(expr)?,
                Token::Dot => self.member_suffix(expr)?,
                _ => break,
            };
        }
        Ok(expr)
    }

    /// `callee "(" args ")"`; a call on `x.name` becomes a method call.
    #[inline(never)]
    fn call_suffix(&mut self, callee: PExpr) -> PResult<PExpr> {
        let (callee, height) = callee;
        let open = self.bump();
        let (args, ah, close) = self.call_args(open)?;
        let span = callee.span.to(close);
        match callee.kind {
            // A method call replaces its member node: its children are the receiver (one
            // level below the member) and the arguments.
            AstExprKind::Member { object, name } => {
                let kind = AstExprKind::MethodCall { receiver: object, name: Box::new(name), args, paren: open.span };
                self.node(kind, span, height.max(ah + 1))
            }
            other => {
                let callee = Box::new(AstExpr { kind: other, span: callee.span });
                let kind = AstExprKind::Call { callee, args, paren: open.span };
                self.node(kind, span, height.max(ah) + 1)
            }
        }
    }

    /// `object "[" expression "]"`, or a slice `object "[" [a] ":" [b] "]"` (ARCHITECTURE.md,
    /// language decisions), which becomes a call of the hidden builtin `%slice(object, a, b)`
    /// with `null` for a missing bound; its errors point at the `[`.
    #[inline(never)]
    fn index_suffix(&mut self, object: PExpr) -> PResult<PExpr> {
        let (object, height) = object;
        let open = self.bump();
        let saved = self.open_bracket();
        let inner = self.subscript(open);
        self.close_bracket(saved);
        let (subscript, ih) = inner?;
        let span = object.span.to(Span { start: open.span.start, end: self.prev_end });
        let object = Box::new(object);
        let kind = match subscript {
            Subscript::Index(index) => AstExprKind::Index { object, index, bracket: open.span },
            Subscript::Slice(start, end) => {
                let null = || AstExpr { kind: AstExprKind::Null, span: open.span };
                let bound = |b: Option<Box<AstExpr>>| b.map_or_else(null, |b| *b);
                let callee = Box::new(AstExpr { kind: AstExprKind::Name(SLICE_BUILTIN.to_string()), span: open.span });
                AstExprKind::Call { callee, args: vec![*object, bound(start), bound(end)], paren: open.span }
            }
        };
        self.node(kind, span, height.max(ih) + 1)
    }

    /// What follows `[` up to and including its `]`: an index or the bounds of a slice (boxed,
    /// to keep this recursive path's frames small).
    #[inline(never)]
    fn subscript(&mut self, open: Tok) -> PResult<(Subscript, usize)> {
        let (start, sh) = if self.at(Token::Colon) { (None, 0) } else { self.boxed_expression()? };
        let start = match start {
            Some(index) if !self.at(Token::Colon) => {
                self.expect_closing(Token::RBracket, open)?;
                return Ok((Subscript::Index(index), sh));
            }
            bound => bound,
        };
        self.bump();
        let (end, eh) = if self.at(Token::RBracket) { (None, 0) } else { self.boxed_expression()? };
        self.expect_closing(Token::RBracket, open)?;
        Ok((Subscript::Slice(start, end), sh.max(eh)))
    }

    #[inline(never)]
    fn boxed_expression(&mut self) -> PResult<(Option<Box<AstExpr>>, usize)> {
        let (e, h) = self.expression()?;
        Ok((Some(Box::new(e)), h))
    }

    /// `object "." word`.
    #[inline(never)]
    fn member_suffix(&mut self, object: PExpr) -> PResult<PExpr> {
        let (object, height) = object;
        self.bump();
        let name = self.member_name()?;
        let span = object.span.to(name.span);
        let kind = AstExprKind::Member { object: Box::new(object), name };
        self.node(kind, span, height + 1)
    }

    /// One expression inside brackets opened by `open`, followed by its `close`.
    fn bracketed(&mut self, open: Tok, close: Token) -> PResult<PExpr> {
        let saved = self.open_bracket();
        let res = self.bracketed_inner(open, close);
        self.close_bracket(saved);
        res
    }

    fn bracketed_inner(&mut self, open: Tok, close: Token) -> PResult<PExpr> {
        let inner = self.expression()?;
        self.expect_closing(close, open)?;
        Ok(inner)
    }

    /// The word after `.`: any identifier or keyword.
    fn member_name(&mut self) -> PResult<AstIdent> {
        if self.cur.token.is_word() {
            let tok = self.bump();
            return Ok(AstIdent { name: self.text(tok.span).to_string(), span: tok.span });
        }
        Err(self.expected("a member name after '.'"))
    }

    /// `"(" [ expression { "," expression } [ "," ] ] ")"` after `open` was consumed; returns
    /// the arguments, their height and the span of the `)`.
    fn call_args(&mut self, open: Tok) -> PResult<(Vec<AstExpr>, usize, Span)> {
        let saved = self.open_bracket();
        let res = self.call_args_inner(open);
        self.close_bracket(saved);
        res
    }

    fn call_args_inner(&mut self, open: Tok) -> PResult<(Vec<AstExpr>, usize, Span)> {
        let (args, h) = self.expr_list(Token::RParen, "argument list")?;
        let close = self.expect_closing(Token::RParen, open)?;
        Ok((args, h, close.span))
    }

    /// Comma-separated expressions up to (not including) `close`; a trailing comma is allowed.
    fn expr_list(&mut self, close: Token, what: &str) -> PResult<(Vec<AstExpr>, usize)> {
        let mut items = Vec::new();
        let mut height = 0;
        while !self.at(close) {
            let (item, h) = self.expression()?;
            height = height.max(h);
            items.push(item);
            if self.at(Token::Comma) {
                self.bump();
            } else if !self.at(close) {
                if self.at(Token::Eof) || self.cur.newline_before {
                    // Let the caller report the missing closing bracket.
                    break;
                }
                return Err(self.expected(&format!("',' or {} in the {what}", close.text())));
            }
        }
        items.shrink_to_fit();
        Ok((items, height))
    }

    /// `primary = literal | identifier | "(" expression ")" | list_lit | map_lit | func_lit`,
    /// plus the blockchain forms `STATE[k]` and `HASH(v)`.
    fn primary(&mut self) -> PResult<PExpr> {
        let arrow = match self.cur.token {
            Token::Ident => self.peek2().token == Token::FatArrow,
            Token::LParen => self.paren_starts_arrow(),
            _ => false,
        };
        if arrow {
            return self.arrow_fn();
        }
        match self.cur.token {
            Token::Ident => self.name_expr(),
            Token::LParen => self.paren_expr(),
            Token::LBracket => self.list_lit(),
            Token::LBrace => self.map_lit(),
            Token::Function | Token::Action => self.func_lit(),
            Token::Lambda => self.lambda(),
            _ => self.literal(),
        }
    }

    /// True when the current `(` starts an arrow function: its matching `)` is directly
    /// followed by `=>` (DIALECT.md §6).
    fn paren_starts_arrow(&mut self) -> bool {
        let mut depth = 0usize;
        let mut n = 0;
        loop {
            let tok = if n == 0 { self.cur } else { self.peek_at(n - 1) };
            n += 1;
            match tok.token {
                Token::LParen | Token::LBracket | Token::LBrace => depth += 1,
                Token::RParen | Token::RBracket | Token::RBrace => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return tok.token == Token::RParen && self.peek_at(n - 1).token == Token::FatArrow;
                    }
                }
                Token::Eof => return false,
                _ => {}
            }
        }
    }

    /// `arrow_fn = ( "(" [ params ] ")" | identifier ) "=>" fn_body`.
    #[inline(never)]
    fn arrow_fn(&mut self) -> PResult<PExpr> {
        let start = self.cur.span.start;
        let params = if self.at(Token::LParen) {
            self.params()?
        } else {
            let name = self.declared_name("parameter name")?;
            Params { names: vec![name], ..Params::default() }
        };
        self.expect(Token::FatArrow, "")?;
        self.fn_body(start, params)
    }

    /// `lambda = "lambda" ( "(" [ params ] ")" | [ identifier { "," identifier } ] )
    /// ( ":" expression | "=>" fn_body )`.
    #[inline(never)]
    fn lambda(&mut self) -> PResult<PExpr> {
        let kw = self.bump();
        let params = if self.at(Token::LParen) {
            self.params()?
        } else {
            let mut params = Params::default();
            while self.at(Token::Ident) {
                let name = self.declared_name("parameter name")?;
                self.check_duplicate_param(&params.names, &name);
                params.names.push(name);
                if !self.at(Token::Comma) {
                    break;
                }
                self.bump();
                if !self.at(Token::Ident) {
                    return Err(self.expected("a parameter name"));
                }
            }
            params
        };
        if self.at(Token::FatArrow) {
            self.bump();
            return self.fn_body(kw.span.start, params);
        }
        self.expect(Token::Colon, "or '=>' after the lambda's parameters")?;
        self.expression_body(kw.span.start, params)
    }

    /// `fn_body = block | expression` after `=>`; a `{` always starts a block.
    fn fn_body(&mut self, start: u32, params: Params) -> PResult<PExpr> {
        if !self.at(Token::LBrace) {
            return self.expression_body(start, params);
        }
        let (body, h) = self.function_body(start, false)?;
        let span = Span { start, end: self.prev_end };
        let func = AstFunc { name: None, params: params.names, defaults: params.defaults, body, span };
        self.node(AstExprKind::Func(Rc::new(func)), span, h.max(params.height) + 1)
    }

    /// An expression body: the function returns the value of one complete expression.
    fn expression_body(&mut self, start: u32, params: Params) -> PResult<PExpr> {
        let saved = (self.in_function, self.in_loop);
        (self.in_function, self.in_loop) = (true, false);
        let res = self.expression();
        (self.in_function, self.in_loop) = saved;
        let (value, h) = res?;
        let span = Span { start, end: value.span.end };
        let ret = AstStmt { span: value.span, kind: AstStmtKind::Return(Some(value)) };
        let func = AstFunc { name: None, params: params.names, defaults: params.defaults, body: vec![ret], span };
        self.node(AstExprKind::Func(Rc::new(func)), span, h.max(params.height) + 2)
    }

    /// A literal (or a lexical error token, which stands for `null`).
    #[inline(never)]
    fn literal(&mut self) -> PResult<PExpr> {
        let tok = self.cur;
        let kind = match tok.token {
            Token::Int(v) => AstExprKind::Int(v),
            Token::Float(v) => AstExprKind::Float(v),
            Token::Str => AstExprKind::Str(unescape(self.text(tok.span))),
            Token::True => AstExprKind::Bool(true),
            Token::False => AstExprKind::Bool(false),
            Token::Null => AstExprKind::Null,
            // The lexer already reported this token; stand in a null to avoid follow-up errors.
            Token::Error => AstExprKind::Null,
            _ => return Err(self.expected("an expression")),
        };
        self.bump();
        Ok((AstExpr { kind, span: tok.span }, 1))
    }

    /// An identifier in expression position, including the blockchain names.
    #[inline(never)]
    fn name_expr(&mut self) -> PResult<PExpr> {
        let tok = self.bump();
        let name = self.text(tok.span);
        let same_line = !self.at_line_break();
        match name {
            "STATE" if self.at(Token::LBracket) => self.state_get(tok),
            "HASH" if self.at(Token::LParen) && same_line => self.hash_expr(tok),
            "TX_BEGIN" | "TX_COMMIT" | "TX_REVERT" | "VERIFY" if self.at(Token::LParen) && same_line => {
                self.report_statement_only(name, tok.span);
                let open = self.bump();
                let (_, _, close) = self.call_args(open)?;
                Ok((AstExpr { kind: AstExprKind::Null, span: tok.span.to(close) }, 1))
            }
            "require" | "revert" if self.at(Token::LParen) && same_line => {
                self.report_statement_only(name, tok.span);
                let open = self.bump();
                let (_, _, close) = self.call_args(open)?;
                Ok((AstExpr { kind: AstExprKind::Null, span: tok.span.to(close) }, 1))
            }
            "throw" => {
                let diag = Diagnostic::error("E0110", "syntax error: expected an expression, found 'throw'", tok.span)
                    .with_label("throw is a statement");
                Err(self.fail(diag))
            }
            _ if self.construct_follows() => self.construct(AstIdent { name: name.to_string(), span: tok.span }),
            _ => {
                self.check_name_use(name, tok.span, false);
                Ok((AstExpr { kind: AstExprKind::Name(name.to_string()), span: tok.span }, 1))
            }
        }
    }

    /// `STATE "[" expression "]"` after `STATE` (`name`) was consumed.
    #[inline(never)]
    fn state_get(&mut self, name: Tok) -> PResult<PExpr> {
        let open = self.bump();
        let (key, h) = self.bracketed(open, Token::RBracket)?;
        let span = Span { start: name.span.start, end: self.prev_end };
        let kind = AstExprKind::StateGet { key: Box::new(key), bracket: open.span };
        self.node(kind, span, h + 1)
    }

    /// `HASH "(" expression ")"` after `HASH` (`name`) was consumed.
    #[inline(never)]
    fn hash_expr(&mut self, name: Tok) -> PResult<PExpr> {
        let open = self.bump();
        let (args, h, close) = self.call_args(open)?;
        if args.len() != 1 {
            self.report_arity(name.span, "HASH takes exactly 1 argument");
        }
        let value = args.into_iter().next().unwrap_or(AstExpr { kind: AstExprKind::Null, span: name.span });
        let kind = AstExprKind::Hash { value: Box::new(value), paren: open.span };
        self.node(kind, name.span.to(close), h + 1)
    }

    /// `"(" expression ")"`.
    #[inline(never)]
    fn paren_expr(&mut self) -> PResult<PExpr> {
        let open = self.bump();
        self.bracketed(open, Token::RParen)
    }

    /// `list_lit = "[" [ expression { "," expression } [ "," ] ] "]"`.
    #[inline(never)]
    fn list_lit(&mut self) -> PResult<PExpr> {
        let open = self.bump();
        let saved = self.open_bracket();
        let res = self.list_items(open);
        self.close_bracket(saved);
        let (items, h) = res?;
        let span = Span { start: open.span.start, end: self.prev_end };
        self.node(AstExprKind::List(items), span, h + 1)
    }

    fn list_items(&mut self, open: Tok) -> PResult<(Vec<AstExpr>, usize)> {
        let items = self.expr_list(Token::RBracket, "list")?;
        self.expect_closing(Token::RBracket, open)?;
        Ok(items)
    }

    /// `map_lit = "{" [ entry { "," entry } [ "," ] ] "}"`.
    #[inline(never)]
    fn map_lit(&mut self) -> PResult<PExpr> {
        let open = self.bump();
        let saved = self.open_bracket();
        let res = self.map_entries(open);
        self.close_bracket(saved);
        let (entries, h) = res?;
        let span = Span { start: open.span.start, end: self.prev_end };
        self.node(AstExprKind::Map(entries), span, h + 1)
    }

    /// The entries of a map literal and its `}`; `entry = (string | word) ":" expression`.
    fn map_entries(&mut self, open: Tok) -> PResult<(Vec<MapEntry>, usize)> {
        let mut entries = Vec::new();
        let mut height = 0;
        while !self.at(Token::RBrace) && !self.at(Token::Eof) {
            let (key, key_span) = self.map_key()?;
            self.expect(Token::Colon, "after the map key")?;
            let (value, vh) = self.expression()?;
            height = height.max(vh);
            entries.push((key, key_span, value));
            if self.at(Token::Comma) {
                self.bump();
            } else if !self.at(Token::RBrace) && !self.at(Token::Eof) {
                return Err(self.expected("',' or '}' in the map"));
            }
        }
        self.expect_closing(Token::RBrace, open)?;
        entries.shrink_to_fit();
        Ok((entries, height))
    }

    /// A map key: a string literal or any word (its name).
    fn map_key(&mut self) -> PResult<(String, Span)> {
        let tok = self.cur;
        let key = match tok.token {
            Token::Str => unescape(self.text(tok.span)),
            t if t.is_word() => self.text(tok.span).to_string(),
            _ => return Err(self.expected("a map key (a string or a name)")),
        };
        self.bump();
        Ok((key, tok.span))
    }

    /// `func_lit = ("function" | "action") "(" [ params ] ")" [ "->" type ] block`.
    #[inline(never)]
    fn func_lit(&mut self) -> PResult<PExpr> {
        let kw = self.bump();
        let params = self.params()?;
        let (body, h) = self.function_body(kw.span.start, false)?;
        let span = Span { start: kw.span.start, end: self.prev_end };
        let func = AstFunc { name: None, params: params.names, defaults: params.defaults, body, span };
        self.node(AstExprKind::Func(Rc::new(func)), span, h.max(params.height) + 1)
    }
}

/// The left side of an assignment after validation.
enum Target {
    /// A variable, index or member target.
    Plain(AstTarget),
    /// `STATE[key]`.
    State(AstExpr),
}

/// The assignment operator a token stands for.
fn assign_op(token: &Token) -> Option<AssignOp> {
    match token {
        Token::Assign => Some(AssignOp::Set),
        Token::PlusAssign => Some(AssignOp::Add),
        Token::MinusAssign => Some(AssignOp::Sub),
        Token::StarAssign => Some(AssignOp::Mul),
        Token::SlashAssign => Some(AssignOp::Div),
        _ => None,
    }
}

/// How a blockchain name may be used (the label of its diagnostics).
fn chain_usage(name: &str) -> &'static str {
    match name {
        "STATE" => "use STATE[key] to read and STATE[key] = value to write",
        "HASH" => "use HASH(value)",
        "VERIFY" => "use VERIFY(condition) or VERIFY(condition, message) as a statement",
        "TX_BEGIN" => "use TX_BEGIN() as a statement",
        "TX_COMMIT" => "use TX_COMMIT() as a statement",
        _ => "use TX_REVERT() as a statement",
    }
}

/// The parameters of a function: names, the defaults of the last ones, and the height of
/// the defaults.
#[derive(Default)]
struct Params {
    names: Vec<AstIdent>,
    defaults: Vec<AstExpr>,
    height: usize,
}

/// True when indentation `a` is deeper than `b`: it starts with `b` and is longer (DIALECT.md
/// §1.2; there is no tab width).
fn deeper(a: &str, b: &str) -> bool {
    a.len() > b.len() && a.starts_with(b)
}

/// True when the line starting at byte `line_start` begins inside a block comment opened in
/// the whitespace and comments that run from byte `from` (the end of the previous token).
fn starts_inside_comment(src: &str, from: usize, line_start: usize) -> bool {
    let bytes = src.as_bytes();
    let mut i = from;
    while i < line_start {
        match (bytes.get(i), bytes.get(i + 1)) {
            (Some(b'/'), Some(b'*')) => match src.get(i + 2..).and_then(|rest| rest.find("*/")) {
                Some(end) => {
                    let close = i + 2 + end + 2;
                    if close > line_start {
                        return true;
                    }
                    i = close;
                }
                None => return true,
            },
            (Some(b'/'), Some(b'/')) | (Some(b'#'), _) => match src.get(i..).and_then(|rest| rest.find('\n')) {
                Some(nl) => i += nl + 1,
                None => return false,
            },
            (Some(_), _) => i += 1,
            (None, _) => return false,
        }
    }
    false
}

impl Token {
    /// True for `=`, `+=`, `-=`, `*=`, `/=`.
    pub fn is_assign_op(&self) -> bool {
        assign_op(self).is_some()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Renders a program as one S-expression per statement, then its diagnostics.
    pub(crate) fn dump(src: &str) -> String {
        let (program, diags) = parse(src);
        let mut out = String::new();
        for stmt in &program.stmts {
            write_stmt(&mut out, stmt);
            out.push('\n');
        }
        for d in &diags {
            out.push_str(&format!("{} {} @{}..{}\n", d.code, d.message, d.span.start, d.span.end));
        }
        out
    }

    fn write_block(out: &mut String, stmts: &[AstStmt]) {
        out.push('{');
        for (i, stmt) in stmts.iter().enumerate() {
            if i > 0 {
                out.push_str("; ");
            }
            write_stmt(out, stmt);
        }
        out.push('}');
    }

    fn write_func(out: &mut String, func: &AstFunc) {
        out.push_str("(fn");
        if let Some(name) = &func.name {
            out.push_str(&format!(" {}", name.name));
        }
        let params: Vec<&str> = func.params.iter().map(|p| p.name.as_str()).collect();
        out.push_str(&format!(" ({})", params.join(" ")));
        for default in &func.defaults {
            out.push_str(" =");
            write_expr(out, default);
        }
        out.push(' ');
        write_block(out, &func.body);
        out.push(')');
    }

    fn write_stmt(out: &mut String, stmt: &AstStmt) {
        match &stmt.kind {
            AstStmtKind::Let { name, is_const, value } => {
                out.push_str(if *is_const { "(const " } else { "(let " });
                out.push_str(&name.name);
                out.push(' ');
                write_expr(out, value);
                out.push(')');
            }
            AstStmtKind::Func(func) => write_func(out, func),
            AstStmtKind::If { branches, else_body } => {
                out.push_str("(if");
                for (cond, body) in branches {
                    out.push(' ');
                    write_expr(out, cond);
                    out.push(' ');
                    write_block(out, body);
                }
                if let Some(body) = else_body {
                    out.push_str(" else ");
                    write_block(out, body);
                }
                out.push(')');
            }
            AstStmtKind::While { cond, body } => {
                out.push_str("(while ");
                write_expr(out, cond);
                out.push(' ');
                write_block(out, body);
                out.push(')');
            }
            AstStmtKind::ForEach { var, key, iterable, body } => {
                match key {
                    Some(key) => out.push_str(&format!("(for {} {} ", key.name, var.name)),
                    None => out.push_str(&format!("(for {} ", var.name)),
                }
                write_expr(out, iterable);
                out.push(' ');
                write_block(out, body);
                out.push(')');
            }
            AstStmtKind::Break => out.push_str("(break)"),
            AstStmtKind::Continue => out.push_str("(continue)"),
            AstStmtKind::Return(value) => {
                out.push_str("(return");
                if let Some(value) = value {
                    out.push(' ');
                    write_expr(out, value);
                }
                out.push(')');
            }
            AstStmtKind::Print(args) => {
                out.push_str("(print");
                for arg in args {
                    out.push(' ');
                    write_expr(out, arg);
                }
                out.push(')');
            }
            AstStmtKind::Assign { target, op, value, .. } => {
                out.push_str(&format!("({op:?} "));
                match target {
                    AstTarget::Name(name) => out.push_str(&name.name),
                    AstTarget::Index { object, index, .. } => {
                        out.push_str("(index ");
                        write_expr(out, object);
                        out.push(' ');
                        write_expr(out, index);
                        out.push(')');
                    }
                    AstTarget::Member { object, name } => {
                        out.push_str("(. ");
                        write_expr(out, object);
                        out.push_str(&format!(" {})", name.name));
                    }
                }
                out.push(' ');
                write_expr(out, value);
                out.push(')');
            }
            AstStmtKind::Expr(expr) => write_expr(out, expr),
            AstStmtKind::Block(body) => write_block(out, body),
            AstStmtKind::StateSet { key, op, value, .. } => {
                out.push_str(&format!("(state-set {op:?} "));
                write_expr(out, key);
                out.push(' ');
                write_expr(out, value);
                out.push(')');
            }
            AstStmtKind::TxBegin => out.push_str("(tx-begin)"),
            AstStmtKind::TxCommit => out.push_str("(tx-commit)"),
            AstStmtKind::TxRevert => out.push_str("(tx-revert)"),
            AstStmtKind::Verify { cond, message } => {
                out.push_str("(verify ");
                write_expr(out, cond);
                if let Some(message) = message {
                    out.push(' ');
                    write_expr(out, message);
                }
                out.push(')');
            }
            AstStmtKind::Try { body, catch, finally } => {
                out.push_str("(try ");
                write_block(out, body);
                if let Some(c) = catch {
                    out.push_str(" (catch");
                    if let Some(v) = &c.var {
                        out.push(' ');
                        out.push_str(&v.name);
                    }
                    out.push(' ');
                    write_block(out, &c.body);
                    out.push(')');
                }
                if let Some(f) = finally {
                    out.push_str(" (finally ");
                    write_block(out, &f.body);
                    out.push(')');
                }
                out.push(')');
            }
            AstStmtKind::Throw { value, .. } => {
                out.push_str("(throw ");
                write_expr(out, value);
                out.push(')');
            }
            AstStmtKind::Require { cond, message, .. } => {
                out.push_str("(require ");
                write_expr(out, cond);
                if let Some(message) = message {
                    out.push(' ');
                    write_expr(out, message);
                }
                out.push(')');
            }
            AstStmtKind::Revert { message, .. } => {
                out.push_str("(revert");
                if let Some(message) = message {
                    out.push(' ');
                    write_expr(out, message);
                }
                out.push(')');
            }
            AstStmtKind::Emit { name, args } => {
                out.push_str(&format!("(emit {}", name.name));
                write_args(out, args);
                out.push(')');
            }
            AstStmtKind::Use(u) => out.push_str(&format!("(use {:?})", u.path)),
        }
    }

    fn write_args(out: &mut String, args: &[AstExpr]) {
        for arg in args {
            out.push(' ');
            write_expr(out, arg);
        }
    }

    fn write_expr(out: &mut String, expr: &AstExpr) {
        match &expr.kind {
            AstExprKind::Int(v) => out.push_str(&v.to_string()),
            AstExprKind::Float(v) => out.push_str(&format!("{v:?}")),
            AstExprKind::Str(s) => out.push_str(&format!("{s:?}")),
            AstExprKind::Bool(b) => out.push_str(&b.to_string()),
            AstExprKind::Null => out.push_str("null"),
            AstExprKind::Name(name) => out.push_str(name),
            AstExprKind::List(items) => {
                out.push_str("(list");
                write_args(out, items);
                out.push(')');
            }
            AstExprKind::Map(entries) => {
                out.push_str("(map");
                for (key, _, value) in entries {
                    out.push_str(&format!(" {key:?}:"));
                    write_expr(out, value);
                }
                out.push(')');
            }
            AstExprKind::Func(func) => write_func(out, func),
            AstExprKind::Unary { op, operand, .. } => {
                out.push_str(match op {
                    UnOp::Neg => "(neg ",
                    UnOp::Not => "(not ",
                });
                write_expr(out, operand);
                out.push(')');
            }
            AstExprKind::Binary { op, lhs, rhs, .. } => {
                out.push_str(&format!("({op:?} "));
                write_expr(out, lhs);
                out.push(' ');
                write_expr(out, rhs);
                out.push(')');
            }
            AstExprKind::Logic { op, lhs, rhs } => {
                out.push_str(&format!("({op:?} "));
                write_expr(out, lhs);
                out.push(' ');
                write_expr(out, rhs);
                out.push(')');
            }
            AstExprKind::Coalesce { lhs, rhs } => {
                out.push_str("(?? ");
                write_expr(out, lhs);
                out.push(' ');
                write_expr(out, rhs);
                out.push(')');
            }
            AstExprKind::Ternary { cond, then, otherwise } => {
                out.push_str("(? ");
                write_expr(out, cond);
                out.push(' ');
                write_expr(out, then);
                out.push(' ');
                write_expr(out, otherwise);
                out.push(')');
            }
            AstExprKind::Call { callee, args, .. } => {
                out.push_str("(call ");
                write_expr(out, callee);
                write_args(out, args);
                out.push(')');
            }
            AstExprKind::MethodCall { receiver, name, args, .. } => {
                out.push_str(&format!("(method {} ", name.name));
                write_expr(out, receiver);
                write_args(out, args);
                out.push(')');
            }
            AstExprKind::Index { object, index, .. } => {
                out.push_str("(index ");
                write_expr(out, object);
                out.push(' ');
                write_expr(out, index);
                out.push(')');
            }
            AstExprKind::Member { object, name } => {
                out.push_str("(. ");
                write_expr(out, object);
                out.push_str(&format!(" {})", name.name));
            }
            AstExprKind::StateGet { key, .. } => {
                out.push_str("(state-get ");
                write_expr(out, key);
                out.push(')');
            }
            AstExprKind::Hash { value, .. } => {
                out.push_str("(hash ");
                write_expr(out, value);
                out.push(')');
            }
            AstExprKind::This => out.push_str("this"),
            AstExprKind::Construct { name, fields, .. } => {
                out.push_str(&format!("(construct {}", name.name));
                for (k, _, v) in fields {
                    out.push_str(&format!(" {k}:"));
                    write_expr(out, v);
                }
                out.push(')');
            }
        }
    }

    /// Parses `src` and compares the S-expression dump with an inline snapshot.
    macro_rules! check {
        ($src:expr, @$expect:literal) => {
            insta::assert_snapshot!(dump($src), @$expect)
        };
    }

    #[test]
    fn dialect_colon_blocks() {
        check!("action add(a, b):\n    return a + b\nif add(2, 3) > 4:\n    print \"big\"\nelse:\n    print \"small\"", @r#"
        (fn add (a b) {(return (Add a b))})
        (if (Gt (call add 2 3) 4) {(print "big")} else {(print "small")})
        "#);
    }

    #[test]
    fn dialect_colon_inline_suites_and_elif() {
        check!("action sign(n):\n    if n < 0: return \"neg\"\n    elif n == 0: return \"zero\"\n    else: return \"pos\"\nif true: print \"one\"; print \"two\"", @r#"
        (fn sign (n) {(if (Lt n 0) {(return "neg")} (Eq n 0) {(return "zero")} else {(return "pos")})})
        (if true {(print "one"); (print "two")})
        "#);
    }

    #[test]
    fn dialect_colon_else_binds_by_indentation() {
        check!("if a:\n    if b:\n        print 1\nelse:\n    print 2", @r#"(if a {(if b {(print 1)})} else {(print 2)})"#);
    }

    #[test]
    fn dialect_colon_mixed_with_braces() {
        check!("action check(age):\n    if (age >= 18) {\n        return 1\n    } else:\n        return 2\naction f() {\n    for each x in [1, 2]:\n        print x\n}", @r#"
        (fn check (age) {(if (Ge age 18) {(return 1)} else {(return 2)})})
        (fn f () {(for x (list 1 2) {(print x)})})
        "#);
    }

    #[test]
    fn dialect_colon_comment_and_continuation_lines() {
        check!("if a:\n    // c\n\n    /* c */ x = 1\n    y = y +\n  2\n    z = 3", @r#"(if a {(Set x 1); (Set y (Add y 2)); (Set z 3)})"#);
    }

    #[test]
    fn dialect_colon_ternary_in_header() {
        check!("while a ? b : c:\n    x = {k: 1}", @r#"(while (? a b c) {(Set x (map "k":1))})"#);
    }

    #[test]
    fn dialect_err_colon_expected_indented_block() {
        check!("if true:\nprint \"x\"\nif x:", @r#"
        (print "x")
        E0151 syntax error: expected an indented block @9..14
        E0151 syntax error: expected an indented block @23..24
        "#);
    }

    #[test]
    fn dialect_err_colon_unexpected_indent() {
        check!("action f():\n    let a = 1\n      return a", @r#"
        (fn f () {(let a 1); (return a)})
        E0151 syntax error: unexpected indent @32..38
        "#);
    }

    #[test]
    fn dialect_err_colon_inconsistent_indentation() {
        check!("if true:\n        print \"a\"\n    print \"b\"\nif a:\n\tx = 1\n    y = 2", @r#"
        (if true {(print "a")})
        (print "b")
        (if a {(Set x 1)})
        (Set y 2)
        E0151 syntax error: inconsistent indentation @31..36
        E0151 syntax error: inconsistent indentation @58..59
        "#);
    }

    #[test]
    fn dialect_err_colon_compound_after_colon() {
        check!("if a: if b: x()\nwhile c: { }", @r#"
        E0150 syntax error: only simple statements may follow ':' on the same line @6..8
        E0150 syntax error: only simple statements may follow ':' on the same line @25..26
        "#);
    }

    #[test]
    fn dialect_print_comma_lists() {
        check!("print \"a\", b, c + 1\nprint a,\n  b\nprint {\"k\": 1}, f(2)", @r#"
        (print "a" b (Add c 1))
        (print a b)
        (print (map "k":1) (call f 2))
        "#);
    }

    #[test]
    fn dialect_err_print_trailing_comma() {
        check!("print a,\nprint (a), b", @r#"
        E0110 syntax error: expected an expression, found end of line @8..8
        E0111 syntax error: expected end of statement after 'print(...)', found ',' @18..19
        "#);
    }

    #[test]
    fn dialect_annotations_and_defaults() {
        check!("action f(a: int, b: list.Item = [], c = a + 1) -> (int, str) { return a }\nlet x: string = 1\nconst Y: action = 2", @r#"
        (fn f (a b c) =(list) =(Add a 1) {(return a)})
        (let x 1)
        (const Y 2)
        "#);
    }

    #[test]
    fn dialect_err_defaults_and_annotations() {
        check!("action f(a = 1, b) { }\naction g(a: ) { }\naction h() -> { }", @r#"
        (fn f (a b) =1 {})
        E0125 syntax error: non-default parameter follows default parameter @16..17
        E0110 syntax error: expected a type, found ')' @35..36
        E0110 syntax error: expected a type, found '{' @55..56
        "#);
    }

    #[test]
    fn dialect_action_without_params_and_action_literal() {
        check!("action banner { return 1 }\naction b2: return 2\nfunction b3 -> int { return 3 }\nlet t = action(f, v) { return f(v) }", @r#"
        (fn banner () {(return 1)})
        (fn b2 () {(return 2)})
        (fn b3 () {(return 3)})
        (let t (fn (f v) {(return (call f v))}))
        "#);
    }

    #[test]
    fn dialect_lambdas_and_arrows() {
        check!("let a = lambda x, y: x + y\nlet b = lambda: 42\nlet c = lambda(x) => { return x }\nlet d = (x, y = 1) => x > 0 ? y : -y\nlet e = x => x + 1\nf(lambda x, y: x)\nf((lambda x: x), y)\nlet g = () => ({\"a\": 1})\nlet h = (a) + (b)", @r#"
        (let a (fn (x y) {(return (Add x y))}))
        (let b (fn () {(return 42)}))
        (let c (fn (x) {(return x)}))
        (let d (fn (x y) =1 {(return (? (Gt x 0) y (neg y)))}))
        (let e (fn (x) {(return (Add x 1))}))
        (call f (fn (x y) {(return x)}))
        (call f (fn (x) {(return x)}) y)
        (let g (fn () {(return (map "a":1))}))
        (let h (Add a b))
        "#);
    }

    #[test]
    fn dialect_coalesce_and_in_precedence() {
        check!("x = null ?? 2 + 3\ny = 1 ?? 2 || 3\nz = false ? 1 : null ?? 7\nw = 1 + 1 in [2]\nv = not k in m\nu = x == 1 in xs\nt = a ?? b ?? c", @r#"
        (Set x (?? null (Add 2 3)))
        (Set y (?? 1 (Or 2 3)))
        (Set z (? false 1 (?? null 7)))
        (Set w (In (Add 1 1) (list 2)))
        (Set v (In (not k) m))
        (Set u (Eq x (In 1 xs)))
        (Set t (?? (?? a b) c))
        "#);
    }

    #[test]
    fn dialect_for_each_two_variables() {
        check!("for each i, x in xs { }\nfor k, v in m:\n    print k\nfor each b in k in m { }\nfor each x, x in xs { }", @r#"
        (for i x xs {})
        (for k v m {(print k)})
        (for b (In k m) {})
        (for x x xs {})
        E0122 syntax error: duplicate loop variable 'x' @88..89
        "#);
    }

    #[test]
    fn precedence_power_binds_tighter_than_minus() {
        check!("-2 ** 2", @r#"(neg (Pow 2 2))"#);
    }

    #[test]
    fn precedence_power_right_assoc() {
        check!("2 ** 3 ** 2", @r#"(Pow 2 (Pow 3 2))"#);
    }

    #[test]
    fn precedence_unary_minus_then_add() {
        check!("-3 + 5", @r#"(Add (neg 3) 5)"#);
    }

    #[test]
    fn precedence_minus_minus() {
        check!("2 - -3", @r#"(Sub 2 (neg 3))"#);
    }

    #[test]
    fn precedence_not_binds_tighter_than_eq() {
        check!("not a == b", @r#"(Eq (not a) b)"#);
    }

    #[test]
    fn precedence_power_with_negative_exponent() {
        check!("2 ** -1 * 3", @r#"(Mul (Pow 2 (neg 1)) 3)"#);
    }

    #[test]
    fn precedence_full_ladder() {
        check!("a || b && c == d < e + f * g ** h", @r#"(Or a (And b (Eq c (Lt d (Add e (Mul f (Pow g h)))))))"#);
    }

    #[test]
    fn precedence_comparisons_left_assoc() {
        check!("a < b < c", @r#"(Lt (Lt a b) c)"#);
    }

    #[test]
    fn precedence_ternary_right_assoc() {
        check!("let x = a ? b : c ? d : e", @r#"(let x (? a b (? c d e)))"#);
    }

    #[test]
    fn precedence_logic_words() {
        check!("x = a and b or not c", @r#"(Set x (Or (And a b) (not c)))"#);
    }

    #[test]
    fn postfix_forms() {
        check!("a.b(1)[2].c.d(e)(f)", @r#"(call (method d (. (index (method b a 1) 2) c) e) f)"#);
    }

    #[test]
    fn postfix_keyword_members_and_keys() {
        check!("print(m.state, m.if, {if: 1, \"s\": 2, while: 3,})", @r#"(print (. m state) (. m if) (map "if":1 "s":2 "while":3))"#);
    }

    #[test]
    fn statements_basic() {
        check!("let x: int = 1; const Y = 2\naction f(a, b) { return a + b }\nfunction g() { return }\nprint x\nprint(x, Y)\nprint()\n;;\n{ let z = 3 }", @r#"
        (let x 1)
        (const Y 2)
        (fn f (a b) {(return (Add a b))})
        (fn g () {(return)})
        (print x)
        (print x Y)
        (print)
        {(let z 3)}
        "#);
    }

    #[test]
    fn if_elif_else_on_new_lines() {
        check!("if (a) {\n  print(1)\n}\nelif b {\n  print(2)\n}\nelse if c { print(3) }\nelse {\n  print(4)\n}", @r#"(if a {(print 1)} b {(print 2)} c {(print 3)} else {(print 4)})"#);
    }

    #[test]
    fn loops() {
        check!("while i < 3 { i += 1; if i == 2 { continue } }\nfor each x in xs { break }\nfor y in [1, 2,] { print y }", @r#"
        (while (Lt i 3) {(Add i 1); (if (Eq i 2) {(continue)})})
        (for x xs {(break)})
        (for y (list 1 2) {(print y)})
        "#);
    }

    #[test]
    fn newline_continues_after_operator_and_inside_brackets() {
        check!("let x =\n  5 +\n  6\nprint(1,\n  2\n  + 3)\nlet l = [\n 1,\n 2\n]", @r#"
        (let x (Add 5 6))
        (print 1 (Add 2 3))
        (let l (list 1 2))
        "#);
    }

    #[test]
    fn newline_before_operator_starts_new_statement() {
        check!("x\n- 1\ny\n.z", @r#"
        x
        (neg 1)
        y
        E0110 syntax error: expected an expression, found '.' @8..9
        "#);
    }

    #[test]
    fn block_end_allows_next_statement() {
        check!("action f(c) { if (c) { return 1 } return 2 }", @r#"(fn f (c) {(if c {(return 1)}); (return 2)})"#);
    }

    #[test]
    fn function_literal_block_end_allows_next_statement() {
        check!("let f = function() { return 1 } print(f())", @r#"
        (let f (fn () {(return 1)}))
        (print (call f))
        "#);
    }

    #[test]
    fn return_operand_must_be_on_same_line() {
        check!("action f() {\n  return\n  x\n}", @r#"(fn f () {(return); x})"#);
    }

    #[test]
    fn function_literal_in_call_args() {
        check!("apply(function(x) { return x * 2 }, 3)\nlet add = function(a, b) {\n  return a + b\n}", @r#"
        (call apply (fn (x) {(return (Mul x 2))}) 3)
        (let add (fn (a b) {(return (Add a b))}))
        "#);
    }

    #[test]
    fn compound_assignment_targets() {
        check!("x += 1\nxs[0] -= 2\nm.k *= 3\nm[\"a\"][\"b\"] /= 4", @r#"
        (Add x 1)
        (Sub (index xs 0) 2)
        (Mul (. m k) 3)
        (Div (index (index m "a") "b") 4)
        "#);
    }

    #[test]
    fn blockchain_forms() {
        check!("STATE[\"balance\"] = 1000;\nTX_BEGIN();\nSTATE[\"b\"] += STATE[\"b\"] - 100;\nTX_COMMIT(); TX_REVERT()\nVERIFY(x >= 0, \"msg\")\nVERIFY(ok)\nprint(HASH(\"abc\"), STATE[\"k\"][0])\nSTATE[\"k\"].push(1)", @r#"
        (state-set Set "balance" 1000)
        (tx-begin)
        (state-set Add "b" (Sub (state-get "b") 100))
        (tx-commit)
        (tx-revert)
        (verify (Ge x 0) "msg")
        (verify ok)
        (print (hash "abc") (index (state-get "k") 0))
        (method push (state-get "k") 1)
        "#);
    }

    #[test]
    fn err_print_paren_then_operator() {
        check!("print (1 + 2) * 3", @r#"E0111 syntax error: expected end of statement after 'print(...)', found '*' @14..15"#);
    }

    #[test]
    fn err_print_without_operand() {
        check!("print\nx", @r#"
        x
        E0110 syntax error: expected '(' or an expression after 'print', found end of line @5..5
        "#);
    }

    #[test]
    fn err_two_statements_on_one_line() {
        check!("let x = 1 let y = 2", @r#"E0110 syntax error: expected end of statement (';' or a new line), found 'let' @10..13"#);
    }

    #[test]
    fn err_unclosed_paren_at_end_of_line() {
        check!("let x = (1 + 2\nprint(x)", @r#"
        (print x)
        E0112 syntax error: expected ')' to close '(', found end of line @14..14
        "#);
    }

    #[test]
    fn err_unclosed_call_at_end_of_file() {
        check!("print(fib(n", @r#"E0112 syntax error: expected ')' to close '(', found end of file @11..11"#);
    }

    #[test]
    fn err_unclosed_block() {
        check!("if x {\n  print(1)\n", @r#"E0112 syntax error: expected '}' to close '{', found end of file @17..17"#);
    }

    #[test]
    fn err_stray_close_brace() {
        check!("}\nprint(1)", @r#"
        (print 1)
        E0110 syntax error: unexpected '}' @0..1
        "#);
    }

    #[test]
    fn err_break_continue_outside_loop() {
        check!("break\nwhile true { action f() { continue } }\ncontinue", @r#"
        (break)
        (while true {(fn f () {(continue)})})
        (continue)
        E0120 syntax error: 'break' outside a loop @0..5
        E0120 syntax error: 'continue' outside a loop @32..40
        E0120 syntax error: 'continue' outside a loop @45..53
        "#);
    }

    #[test]
    fn err_return_at_top_level() {
        check!("return 1", @r#"
        (return 1)
        E0121 syntax error: 'return' outside a function @0..6
        "#);
    }

    #[test]
    fn err_duplicate_parameter() {
        check!("action f(a, b, a) { }", @r#"
        (fn f (a b a) {})
        E0122 syntax error: duplicate parameter 'a' @15..16
        "#);
    }

    #[test]
    fn err_keyword_as_name() {
        check!("let if = 1\naction while() {}\nfunction f(null) {}", @r#"
        E0123 syntax error: 'if' is a keyword and cannot be used as a name @4..6
        E0123 syntax error: 'while' is a keyword and cannot be used as a name @18..23
        E0123 syntax error: 'null' is a keyword and cannot be used as a name @40..44
        "#);
    }

    #[test]
    fn err_reserved_word_as_name() {
        check!("let async = 1\naction f(log) {}\nfor each match in xs {}\nawait = 3", @r#"
        (let async 1)
        (fn f (log) {})
        (for match xs {})
        (Set await 3)
        E0123 syntax error: 'async' is a reserved word and cannot be used as a name @4..9
        E0123 syntax error: 'log' is a reserved word and cannot be used as a name @23..26
        E0123 syntax error: 'match' is a reserved word and cannot be used as a name @40..45
        E0123 syntax error: 'await' is a reserved word and cannot be used as a name @55..60
        "#);
    }

    #[test]
    fn err_lambda() {
        check!("let f = lambda(x) => x", @r#"(let f (fn (x) {(return x)}))"#);
    }

    #[test]
    fn err_assign_to_non_target() {
        check!("1 = 2\nf() = 3\na + b = 4", @r#"
        E0124 syntax error: cannot assign to this expression @0..1
        E0124 syntax error: cannot assign to this expression @6..9
        E0124 syntax error: cannot assign to this expression @14..19
        "#);
    }

    #[test]
    fn err_no_percent_assign() {
        check!("x %= 2\ny **= 2", @r#"
        E0110 syntax error: expected an expression, found '=' @3..4
        E0110 syntax error: expected an expression, found '=' @11..12
        "#);
    }

    #[test]
    fn err_chain_names_declared_or_values() {
        check!("let STATE = 1\nlet f = HASH\nSTATE\naction VERIFY() {}", @r#"
        (let STATE 1)
        (let f HASH)
        STATE
        (fn VERIFY () {})
        E0140 syntax error: STATE is reserved and cannot be declared @4..9
        E0140 syntax error: HASH is reserved and cannot be used as a value @22..26
        E0140 syntax error: STATE is reserved and cannot be used as a value @27..32
        E0140 syntax error: VERIFY is reserved and cannot be declared @40..46
        "#);
    }

    #[test]
    fn err_chain_arity() {
        check!("TX_BEGIN(1)\nHASH()\nprint(HASH(1, 2))\nVERIFY()\nVERIFY(a, b, c)", @r#"
        (tx-begin)
        (hash null)
        (print (hash 1))
        (verify null)
        (verify a b)
        E0141 syntax error: TX_BEGIN takes no arguments @0..8
        E0141 syntax error: HASH takes exactly 1 argument @12..16
        E0141 syntax error: HASH takes exactly 1 argument @25..29
        E0141 syntax error: VERIFY takes 1 or 2 arguments @37..43
        E0141 syntax error: VERIFY takes 1 or 2 arguments @46..52
        "#);
    }

    #[test]
    fn err_chain_statement_only() {
        check!("TX_BEGIN() + 1\nx = TX_BEGIN()\nprint(VERIFY(1))\nTX_COMMIT().x", @r#"
        (Set x null)
        (print null)
        E0142 syntax error: TX_BEGIN() is a statement @0..8
        E0142 syntax error: TX_BEGIN() is a statement @19..27
        E0142 syntax error: VERIFY() is a statement @36..42
        E0142 syntax error: TX_COMMIT() is a statement @47..56
        "#);
    }

    #[test]
    fn err_state_misuse() {
        check!("STATE.x\nSTATE(1)\nSTATE[\"k\"][0] = 1\nSTATE[\"k\"].x = 2", @r#"
        (. STATE x)
        (call STATE 1)
        E0140 syntax error: STATE is reserved and cannot be used as a value @0..5
        E0140 syntax error: STATE is reserved and cannot be used as a value @8..13
        E0143 syntax error: cannot assign through a read of STATE: modify a copy: read the value, change it, write it back @17..27
        E0143 syntax error: cannot assign through a read of STATE: modify a copy: read the value, change it, write it back @35..45
        "#);
    }

    #[test]
    fn err_lexical_in_statement_no_cascade() {
        check!("let x = 1abc + 2\nlet y = \"open\nprint(.5)\nlet z = 99999999999999999999\nx = 1 @ 2", @r#"
        (let x (Add null 2))
        (let y null)
        (print null)
        (let z null)
        E0103 syntax error: invalid number literal '1abc' @8..12
        E0104 syntax error: unterminated string @25..30
        E0103 syntax error: invalid number literal '.5' @37..39
        E0102 syntax error: integer literal too large @49..69
        E0101 syntax error: unexpected character '@' @76..77
        "#);
    }

    #[test]
    fn err_recovery_reports_each_bad_line() {
        check!("let = 1\nprint(1)\nlet y = * 2\nprint(2)\nif { }\nprint(3)", @r#"
        (print 1)
        (print 2)
        (print 3)
        E0110 syntax error: expected a variable name, found '=' @4..5
        E0110 syntax error: expected an expression, found '*' @25..26
        E0110 syntax error: expected a condition, found '{' @41..42
        "#);
    }

    #[test]
    fn err_else_without_if() {
        check!("else { }", @r#"E0110 syntax error: 'else' without a matching 'if' @0..4"#);
    }

    #[test]
    fn err_map_key() {
        check!("let m = {1: 2}", @r#"E0110 syntax error: expected a map key (a string or a name), found integer literal @9..10"#);
    }

    #[test]
    fn err_unclosed_comment_and_string_newline() {
        check!("print(1)\n/* never closed", @r#"
        (print 1)
        null
        E0105 syntax error: unterminated block comment @9..11
        "#);
    }

    /// Height of an expression tree (tests only; trees are at most `MAX_NESTING` high).
    fn expr_height(expr: &AstExpr) -> usize {
        let children: Vec<&AstExpr> = match &expr.kind {
            AstExprKind::List(items) => items.iter().collect(),
            AstExprKind::Map(entries) => entries.iter().map(|(_, _, v)| v).collect(),
            AstExprKind::Func(func) => return 1 + stmts_height(&func.body),
            AstExprKind::Unary { operand, .. } => vec![operand],
            AstExprKind::Binary { lhs, rhs, .. } | AstExprKind::Logic { lhs, rhs, .. } => {
                vec![lhs, rhs]
            }
            AstExprKind::Ternary { cond, then, otherwise } => vec![cond, then, otherwise],
            AstExprKind::Call { callee, args, .. } => std::iter::once(&**callee).chain(args).collect(),
            AstExprKind::MethodCall { receiver, args, .. } => std::iter::once(&**receiver).chain(args).collect(),
            AstExprKind::Index { object, index, .. } => vec![object, index],
            AstExprKind::Member { object, .. } => vec![object],
            AstExprKind::StateGet { key, .. } => vec![key],
            AstExprKind::Hash { value, .. } => vec![value],
            AstExprKind::Construct { ty, fields, .. } => {
                std::iter::once(&**ty).chain(fields.iter().map(|(_, _, v)| v)).collect()
            }
            _ => Vec::new(),
        };
        1 + children.into_iter().map(expr_height).max().unwrap_or(0)
    }

    fn stmts_height(stmts: &[AstStmt]) -> usize {
        stmts.iter().map(stmt_height).max().unwrap_or(0)
    }

    fn stmt_height(stmt: &AstStmt) -> usize {
        let (exprs, blocks): (Vec<&AstExpr>, Vec<&[AstStmt]>) = match &stmt.kind {
            AstStmtKind::Let { value, .. } => (vec![value], vec![]),
            AstStmtKind::Func(func) => (vec![], vec![&func.body]),
            AstStmtKind::If { branches, else_body } => (
                branches.iter().map(|(c, _)| c).collect(),
                branches.iter().map(|(_, b)| b.as_slice()).chain(else_body.as_deref()).collect(),
            ),
            AstStmtKind::While { cond, body } => (vec![cond], vec![body]),
            AstStmtKind::ForEach { iterable, body, .. } => (vec![iterable], vec![body]),
            AstStmtKind::Return(value) => (value.iter().collect(), vec![]),
            AstStmtKind::Print(args) => (args.iter().collect(), vec![]),
            AstStmtKind::Assign { target, value, .. } => {
                let mut exprs = vec![value];
                match target {
                    AstTarget::Name(_) => {}
                    AstTarget::Index { object, index, .. } => exprs.extend([&**object, &**index]),
                    AstTarget::Member { object, .. } => exprs.push(object),
                }
                (exprs, vec![])
            }
            AstStmtKind::Expr(expr) => (vec![expr], vec![]),
            AstStmtKind::Block(body) => (vec![], vec![body]),
            AstStmtKind::StateSet { key, value, .. } => (vec![key, value], vec![]),
            AstStmtKind::Verify { cond, message } => (std::iter::once(&**cond).chain(message).collect(), vec![]),
            _ => (vec![], vec![]),
        };
        let e = exprs.into_iter().map(expr_height).max().unwrap_or(0);
        let b = blocks.into_iter().map(stmts_height).max().unwrap_or(0);
        1 + e.max(b)
    }

    /// Parses `src` on a thread with the default 2 MiB test stack and returns the diagnostics'
    /// messages, checking that the returned tree respects `MAX_NESTING`.
    fn parse_on_small_stack(src: String) -> Vec<String> {
        let handle = std::thread::Builder::new().stack_size(2 << 20).spawn(move || {
            let started = std::time::Instant::now();
            let (program, diags) = parse(&src);
            assert!(stmts_height(&program.stmts) <= MAX_NESTING);
            assert!(started.elapsed().as_secs() < 10, "parsing took {:?}", started.elapsed());
            diags.into_iter().map(|d| d.message).collect::<Vec<_>>()
        });
        match handle.map(|h| h.join()) {
            Ok(Ok(messages)) => messages,
            _ => panic!("parser thread failed"),
        }
    }

    /// Asserts that `src` gives exactly one "nested too deeply" error.
    fn assert_too_deep(src: String) {
        let messages = parse_on_small_stack(src);
        assert_eq!(messages, vec!["syntax error: expression nested too deeply".to_string()]);
    }

    const N: usize = 100_000;

    #[test]
    fn depth_long_left_assoc_chain() {
        assert_too_deep(format!("x = {}1", "1 + ".repeat(N)));
    }

    #[test]
    fn depth_nested_parens() {
        assert_too_deep(format!("x = {}1{}", "(".repeat(N), ")".repeat(N)));
    }

    #[test]
    fn depth_nested_blocks() {
        assert_too_deep(format!("{}{}", "{".repeat(N), "}".repeat(N)));
    }

    #[test]
    fn depth_prefix_operators() {
        assert_too_deep(format!("print({}1)", "-".repeat(N)));
        assert_too_deep(format!("print({}1)", "not ".repeat(N)));
    }

    #[test]
    fn depth_nested_lists() {
        assert_too_deep(format!("x = {}{}", "[".repeat(N), "]".repeat(N)));
    }

    #[test]
    fn depth_nested_ifs() {
        assert_too_deep(format!("{}{}", "if x {\n".repeat(N), "}\n".repeat(N)));
    }

    #[test]
    fn depth_other_chains() {
        assert_too_deep(format!("x = {}2", "2 ** ".repeat(N)));
        assert_too_deep(format!("x = a{}", ".b".repeat(N)));
        assert_too_deep(format!("x = f{}", "()".repeat(N)));
        assert_too_deep(format!("x = {}c", "a ? b : ".repeat(N)));
        assert_too_deep(format!("x = {}", "{a: ".repeat(N)));
        assert_too_deep(format!("x = {}", "function() { return ".repeat(N)));
        assert_too_deep(format!("x = {}1", "a[".repeat(N)));
        assert_too_deep(format!("x = {}1", "f(".repeat(N)));
        assert_too_deep(format!("x = {}1", "HASH(".repeat(N)));
        assert_too_deep(format!("x = {}1", "STATE[".repeat(N)));
        assert_too_deep(format!("x = {}1", "m.f(".repeat(N)));
        assert_too_deep(format!("action f() {{ {} }}", "while x { for y in z { ".repeat(N)));
    }

    #[test]
    fn depth_just_below_the_limit_is_fine() {
        for src in [
            format!("x = {}1{}", "(".repeat(250), ")".repeat(250)),
            format!("x = {}1", "1 + ".repeat(250)),
            format!("x = {}1{}", "f(".repeat(250), ")".repeat(250)),
            format!("x = {}1{}", "m.f(".repeat(250), ")".repeat(250)),
            format!("x = {}1{}", "{a: ".repeat(250), "}".repeat(250)),
            format!("{}{}", "if x {\n".repeat(120), "}\n".repeat(120)),
            format!("x = {}1{}", "[".repeat(250), "]".repeat(250)),
            format!("action f() {{ return {}1{} }}", "f(".repeat(120), ")".repeat(120)),
            format!("let f = {}1{}", "function() { return ".repeat(80), " }".repeat(80)),
        ] {
            assert_eq!(parse_on_small_stack(src), Vec::<String>::new());
        }
    }

    #[test]
    fn large_input_parses_in_linear_time() {
        let src = "let x = [1, 2.5, \"s\", {a: 1}]\nx[0] += f(x) * 2 - -3\n// comment\n".repeat(20_000);
        let started = std::time::Instant::now();
        let (program, diags) = parse(&src);
        assert!(diags.is_empty());
        assert_eq!(program.stmts.len(), 40_000);
        assert!(started.elapsed().as_secs() < 10);
    }

    #[test]
    fn many_errors_are_capped() {
        let messages = parse_on_small_stack("let = 1\n".repeat(10_000));
        assert!(messages.len() <= MAX_DIAGNOSTICS && messages.len() >= 40, "{}", messages.len());
        let messages = parse_on_small_stack("@".repeat(1_000_000));
        assert!(!messages.is_empty() && messages.len() <= MAX_DIAGNOSTICS);
    }

    #[test]
    fn rendered_syntax_errors() {
        let render = |src: &str| {
            let (_, diags) = parse(src);
            crate::diag::render::render_all(&diags, "example.zx", src)
        };
        insta::assert_snapshot!(render("let x = (1 + 2\nprint(x)\n"), @r"
        error: syntax error: expected ')' to close '(', found end of line
         --> example.zx:1:15
          |
        1 | let x = (1 + 2
          |               ^ expected ')'
        ");
        insta::assert_snapshot!(render("print (1 + 2) * 3\nTX_BEGIN() + 1\n"), @r"
        error: syntax error: expected end of statement after 'print(...)', found '*'
         --> example.zx:1:15
          |
        1 | print (1 + 2) * 3
          |               ^ 'print (' always starts the parenthesised form
          |
          = note: to print a larger expression, wrap all of it: print((1 + 2) * 3)

        error: syntax error: TX_BEGIN() is a statement
         --> example.zx:2:1
          |
        2 | TX_BEGIN() + 1
          | ^^^^^^^^ cannot be used inside an expression
        ");
    }
}
