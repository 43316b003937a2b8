//! The declarations and statements of CONTRACTS.md: `contract`, `entity`/`data`/`event`,
//! `protocol`, `emit`, and the construction `Name { f: v }`.
//!
//! Their words are contextual (CONTRACTS.md §1): each is special only as the first word of a
//! statement directly followed, on the same line, by an identifier; everywhere else it is an
//! ordinary name.
//!
//! Declarations are desugared here, so no later pass knows them: a declaration becomes
//! `const Name = %contract(...)` (resp. `%entity`, `%protocol`), a call of a declaration
//! builtin whose arguments are the member names, the member initializer function
//! `C.<members>` and the actions as function literals named `C.m`; [`hoist`] then moves these
//! bindings to the front of the program (protocols, entities, contracts, each in source
//! order). Inside a contract body, `this`/`self` become [`AstExprKind::This`] and a bare name
//! that is a member and not a local becomes `this.name` (a call `m(...)` becomes
//! `this.m(...)`), by the static rule of CONTRACTS.md §4.3.

use std::collections::HashSet;
use std::rc::Rc;

use super::{PResult, PStmt, Parser};
use crate::diag::Diagnostic;
use crate::syntax::ast::*;
use crate::syntax::span::Span;
use crate::syntax::token::Token;

/// The words that may begin a declaration or an `emit`.
const DECL_WORDS: &[&str] = &["contract", "entity", "data", "event", "protocol", "emit"];

/// The builtins the declarations call.
const CONTRACT_BUILTIN: &str = "%contract";
const ENTITY_BUILTIN: &str = "%entity";
const PROTOCOL_BUILTIN: &str = "%protocol";

fn expr(kind: AstExprKind, span: Span) -> AstExpr {
    AstExpr { kind, span }
}

fn str_expr(s: &str, span: Span) -> AstExpr {
    expr(AstExprKind::Str(s.to_string()), span)
}

fn list_expr(items: Vec<AstExpr>, span: Span) -> AstExpr {
    expr(AstExprKind::List(items), span)
}

fn builtin_call(builtin: &str, args: Vec<AstExpr>, span: Span) -> AstExpr {
    let callee = Box::new(expr(AstExprKind::Name(builtin.to_string()), span));
    expr(AstExprKind::Call { callee, args, paren: span }, span)
}

fn duplicate(what: String, span: Span) -> Diagnostic {
    Diagnostic::error("E0122", format!("syntax error: {what}"), span).with_label("already declared")
}

impl Parser<'_> {
    /// True when the current identifier starts a declaration or an `emit`: one of their
    /// words directly followed, on the same line, by an identifier.
    pub(super) fn at_contracts_stmt(&mut self) -> bool {
        let word = self.text(self.cur.span);
        let next = self.peek2();
        DECL_WORDS.contains(&word) && next.token == Token::Ident && !next.newline_before
    }

    /// The declaration or `emit` statement at the current identifier (see
    /// [`Parser::at_contracts_stmt`]).
    pub(super) fn contracts_stmt(&mut self) -> PResult<PStmt> {
        let word = self.text(self.cur.span);
        if word == "emit" {
            return self.emit_stmt();
        }
        if self.depth > 0 || self.in_function {
            let kind = if word == "data" || word == "event" { "entity" } else { word };
            let message = format!("syntax error: {kind} declarations are only allowed at the top level");
            let diag = Diagnostic::error("E0110", message, self.cur.span).with_label("not at the top level");
            self.report(diag);
        }
        match word {
            "contract" => self.contract_decl(),
            "protocol" => self.protocol_decl(),
            _ => self.entity_decl(),
        }
    }

    /// `emit_stmt = "emit" identifier ( "(" [ args ] ")" | "{" entries "}" )`.
    fn emit_stmt(&mut self) -> PResult<PStmt> {
        let kw = self.bump();
        let name_tok = self.bump();
        let name = AstIdent { name: self.text(name_tok.span).to_string(), span: name_tok.span };
        let (args, h) = if self.at(Token::LParen) && !self.cur.newline_before {
            let open = self.bump();
            let (args, h, _) = self.call_args(open)?;
            (args, h)
        } else if self.at(Token::LBrace) && !self.cur.newline_before {
            let (map, h) = self.map_lit()?;
            (vec![map], h)
        } else {
            return Err(self.expected("'(' or '{' after the event name"));
        };
        self.end_statement()?;
        self.stmt(AstStmtKind::Emit { name, args }, kw.span.start, h + 1)
    }

    /// After an identifier `name` in expression position: `Name { f: v, ... }` when a `{`
    /// follows on the same line and constructions are allowed here (not directly in the
    /// header of `if`, `elif`, `while` or `for each ... in`).
    pub(super) fn construct_follows(&self) -> bool {
        self.at(Token::LBrace)
            && !self.cur.newline_before
            && self.no_construct_at.is_none_or(|at| self.open_brackets > at)
    }

    /// `construct = identifier "{" [ centry { "," centry } [ "," ] ] "}"`, the name consumed.
    pub(super) fn construct(&mut self, name: AstIdent) -> PResult<super::PExpr> {
        let (map, h) = self.map_lit()?;
        let AstExprKind::Map(fields) = map.kind else { return Err(self.expected("a construction")) };
        let mut seen = HashSet::new();
        for (key, span, _) in &fields {
            if !seen.insert(key.clone()) {
                self.report(duplicate(format!("duplicate field '{key}'"), *span));
            }
        }
        let span = name.span.to(map.span);
        let ty = Box::new(expr(AstExprKind::Name(name.name.clone()), name.span));
        self.node(AstExprKind::Construct { ty, name: Box::new(name), fields }, span, h + 1)
    }

    /// Runs `f` with constructions disallowed at the current bracket depth (a condition).
    pub(super) fn without_construct<T>(&mut self, f: impl FnOnce(&mut Self) -> T) -> T {
        let saved = self.no_construct_at.replace(self.open_brackets);
        let res = f(self);
        self.no_construct_at = saved;
        res
    }

    /// A declared type or member name (an identifier).
    fn decl_name(&mut self, what: &str) -> PResult<AstIdent> {
        if self.cur.token != Token::Ident {
            return Err(self.expected(&format!("a {what}")));
        }
        let tok = self.bump();
        Ok(AstIdent { name: self.text(tok.span).to_string(), span: tok.span })
    }

    /// Skips `;` and reports whether the closing `}` of a body is next.
    fn body_item_end(&mut self) -> bool {
        while self.at(Token::Semi) || self.at(Token::Comma) {
            self.bump();
        }
        self.at(Token::RBrace) || self.at(Token::Eof)
    }

    /// `contract_decl` (CONTRACTS.md §2).
    fn contract_decl(&mut self) -> PResult<PStmt> {
        let kw = self.bump();
        let name = self.decl_name("contract name")?;
        let mut implements = Vec::new();
        if self.cur.token == Token::Ident && self.text(self.cur.span) == "implements" {
            self.bump();
            loop {
                let p = self.decl_name("protocol name")?;
                implements.push(expr(AstExprKind::Name(p.name), p.span));
                if !self.at(Token::Comma) {
                    break;
                }
                self.bump();
            }
        }
        let open = self.expect(Token::LBrace, "to open the contract body")?;
        let mut members: Vec<(AstIdent, Option<AstExpr>)> = Vec::new();
        let mut actions: Vec<Rc<AstFunc>> = Vec::new();
        let mut height = 0;
        while !self.fatal && !self.body_item_end() {
            let start = self.consumed;
            match self.member_decl(&mut members, &mut actions) {
                Ok(h) => height = height.max(h),
                Err(_) if self.fatal => return Err(super::Failed),
                Err(_) => {
                    // Resynchronise at the next item of the body, as statement lists do.
                    self.synchronize();
                    if self.consumed == start {
                        self.bump();
                    }
                }
            }
        }
        self.expect_closing(Token::RBrace, open)?;
        self.prev_was_block_end = true;
        let span = Span { start: kw.span.start, end: self.prev_end };
        let value = self.desugar_contract(&name, members, actions, implements, span);
        let kind = AstStmtKind::Let { name, is_const: true, value };
        self.stmt(kind, kw.span.start, height + 4)
    }

    /// One `member_decl` of a contract body; returns its height.
    fn member_decl(
        &mut self,
        members: &mut Vec<(AstIdent, Option<AstExpr>)>,
        actions: &mut Vec<Rc<AstFunc>>,
    ) -> PResult<usize> {
        let mut height = 0;
        {
            let word = self.text(self.cur.span);
            let next = self.peek2();
            match self.cur.token {
                Token::Action | Token::Function => {
                    let (stmt, h) = self.func_decl()?;
                    height = height.max(h);
                    if let AstStmtKind::Func(f) = stmt.kind {
                        actions.push(f);
                    }
                }
                Token::Ident if word == "state" && next.token == Token::LBrace => {
                    self.bump();
                    let (block, h) = self.map_lit()?;
                    height = height.max(h);
                    if let AstExprKind::Map(entries) = block.kind {
                        for (key, span, value) in entries {
                            members.push((AstIdent { name: key, span }, Some(value)));
                        }
                    }
                }
                Token::Ident if matches!(word, "state" | "data" | "persistent") && next.token == Token::Ident => {
                    self.bump();
                    if word == "persistent" {
                        if self.text(self.cur.span) != "storage" {
                            return Err(self.expected("'storage' after 'persistent'"));
                        }
                        self.bump();
                    }
                    let member = self.decl_name("member name")?;
                    if self.at(Token::Colon) {
                        self.bump();
                        self.type_annotation()?;
                    }
                    let init = if self.at(Token::Assign) {
                        self.bump();
                        let (value, h) = self.expression()?;
                        height = height.max(h);
                        Some(value)
                    } else {
                        None
                    };
                    members.push((member, init));
                }
                _ => {
                    let diag = Diagnostic::error(
                        "E0110",
                        "syntax error: expected a member declaration in contract body",
                        self.cur.span,
                    )
                    .with_label("only state members and actions may appear here");
                    return Err(self.fail(diag));
                }
            }
        }
        Ok(height)
    }

    /// `const C = %contract("C", [members], C.<members>, {actions}, [protocols])`.
    fn desugar_contract(
        &mut self,
        name: &AstIdent,
        members: Vec<(AstIdent, Option<AstExpr>)>,
        actions: Vec<Rc<AstFunc>>,
        implements: Vec<AstExpr>,
        span: Span,
    ) -> AstExpr {
        let c = &name.name;
        let mut names = HashSet::new();
        for (m, _) in &members {
            if !names.insert(m.name.clone()) {
                self.report(duplicate(format!("duplicate member '{}' in contract {c}", m.name), m.span));
            }
        }
        for f in &actions {
            if let Some(n) = &f.name
                && !names.insert(n.name.clone())
            {
                self.report(duplicate(format!("duplicate member '{}' in contract {c}", n.name), n.span));
            }
        }
        let mut rw = Rewriter { members: &names, diags: Vec::new() };
        for f in &actions {
            if let Some(n) = &f.name {
                rw.declare(n, &mut HashSet::new());
            }
        }
        let mut init_body = Vec::new();
        let mut member_names = Vec::new();
        for (m, init) in members {
            member_names.push(str_expr(&m.name, m.span));
            if let Some(mut value) = init {
                rw.expr(&mut value, &HashSet::new());
                let target = AstTarget::Member { object: Box::new(expr(AstExprKind::This, m.span)), name: m.clone() };
                let kind = AstStmtKind::Assign { target, op: AssignOp::Set, op_span: m.span, value };
                init_body.push(AstStmt { kind, span: m.span });
            }
        }
        let init_name = AstIdent { name: format!("{c}.<members>"), span: name.span };
        let init = AstFunc { name: Some(init_name), params: Vec::new(), defaults: Vec::new(), body: init_body, span };
        let mut entries = Vec::new();
        for f in actions {
            let mut f = (*f).clone();
            rw.func(&mut f, &HashSet::new());
            let Some(action) = f.name.clone() else { continue };
            f.name = Some(AstIdent { name: format!("{c}.{}", action.name), span: action.span });
            let fspan = f.span;
            entries.push((action.name, action.span, expr(AstExprKind::Func(Rc::new(f)), fspan)));
        }
        let diags = std::mem::take(&mut rw.diags);
        for d in diags {
            self.report(d);
        }
        let args = vec![
            str_expr(c, name.span),
            list_expr(member_names, span),
            expr(AstExprKind::Func(Rc::new(init)), span),
            expr(AstExprKind::Map(entries), span),
            list_expr(implements, span),
        ];
        builtin_call(CONTRACT_BUILTIN, args, span)
    }

    /// `entity_decl = ("entity" | "data" | "event") identifier "{" fields "}"`.
    fn entity_decl(&mut self) -> PResult<PStmt> {
        let kw = self.bump();
        let name = self.decl_name("entity name")?;
        let open = self.expect(Token::LBrace, "to open the entity body")?;
        let saved = std::mem::replace(&mut self.ignore_newlines, false);
        let res = self.entity_fields(&name);
        self.ignore_newlines = saved;
        let (fields, defaults, height) = res?;
        self.expect_closing(Token::RBrace, open)?;
        self.prev_was_block_end = true;
        let span = Span { start: kw.span.start, end: self.prev_end };
        // A constant default is stored as its value; any other becomes a function `E.<f>`
        // run for each construction that omits the field (CONTRACTS.md §9).
        let mut values = Vec::new();
        let mut code = Vec::new();
        for (field, default) in fields.iter().zip(defaults) {
            let is_code = !is_constant(&default);
            code.push(expr(AstExprKind::Bool(is_code), default.span));
            if !is_code {
                values.push(default);
                continue;
            }
            let AstExprKind::Str(f) = &field.kind else { continue };
            let dspan = default.span;
            let body = vec![AstStmt { kind: AstStmtKind::Return(Some(default)), span: dspan }];
            let fname = AstIdent { name: format!("{}.<{f}>", name.name), span: dspan };
            let func = AstFunc { name: Some(fname), params: Vec::new(), defaults: Vec::new(), body, span: dspan };
            values.push(expr(AstExprKind::Func(Rc::new(func)), dspan));
        }
        let args = vec![
            str_expr(&name.name, name.span),
            list_expr(fields, span),
            list_expr(values, span),
            list_expr(code, span),
        ];
        let value = builtin_call(ENTITY_BUILTIN, args, span);
        self.stmt(AstStmtKind::Let { name, is_const: true, value }, kw.span.start, height + 3)
    }

    /// The fields of an entity body, with their defaults (`null` when absent).
    fn entity_fields(&mut self, entity: &AstIdent) -> PResult<(Vec<AstExpr>, Vec<AstExpr>, usize)> {
        let mut fields = Vec::new();
        let mut defaults = Vec::new();
        let mut seen = HashSet::new();
        let mut height = 0;
        while !self.fatal && !self.body_item_end() {
            if !self.cur.token.is_word() {
                return Err(self.expected("a field name"));
            }
            let tok = self.bump();
            let field = self.text(tok.span).to_string();
            if !seen.insert(field.clone()) {
                self.report(duplicate(format!("duplicate field '{field}' in entity {}", entity.name), tok.span));
            }
            if self.at(Token::Colon) {
                self.bump();
                self.type_annotation()?;
            }
            let default = if self.at(Token::Assign) {
                self.bump();
                let (value, h) = self.expression()?;
                height = height.max(h);
                value
            } else {
                expr(AstExprKind::Null, tok.span)
            };
            fields.push(str_expr(&field, tok.span));
            defaults.push(default);
            if !(self.at(Token::Comma) || self.at(Token::Semi) || self.at(Token::RBrace) || self.cur.newline_before) {
                return Err(self.expected("',', ';' or a new line after the field"));
            }
        }
        Ok((fields, defaults, height))
    }

    /// `protocol_decl = "protocol" identifier "{" { signature [";"] } "}"`.
    fn protocol_decl(&mut self) -> PResult<PStmt> {
        let kw = self.bump();
        let name = self.decl_name("protocol name")?;
        let open = self.expect(Token::LBrace, "to open the protocol body")?;
        let mut names = Vec::new();
        let mut arities = Vec::new();
        while !self.fatal && !self.body_item_end() {
            if !matches!(self.cur.token, Token::Action | Token::Function) {
                return Err(self.expected("an action signature"));
            }
            self.bump();
            let action = self.decl_name("action name")?;
            let params = self.params()?;
            if self.at(Token::Arrow) {
                self.bump();
                self.type_annotation()?;
            }
            names.push(str_expr(&action.name, action.span));
            arities.push(expr(AstExprKind::Int(params.names.len() as i64), action.span));
        }
        self.expect_closing(Token::RBrace, open)?;
        self.prev_was_block_end = true;
        let span = Span { start: kw.span.start, end: self.prev_end };
        let args = vec![str_expr(&name.name, name.span), list_expr(names, span), list_expr(arities, span)];
        let value = builtin_call(PROTOCOL_BUILTIN, args, span);
        self.stmt(AstStmtKind::Let { name, is_const: true, value }, kw.span.start, 3)
    }
}

/// True for a default that is a constant: a literal, a negated number, or a list or map of
/// constants (evaluating it has no effect and reads no variable).
fn is_constant(e: &AstExpr) -> bool {
    match &e.kind {
        AstExprKind::Int(_)
        | AstExprKind::Float(_)
        | AstExprKind::Str(_)
        | AstExprKind::Bool(_)
        | AstExprKind::Null => true,
        AstExprKind::Unary { op: UnOp::Neg, operand, .. } => {
            matches!(operand.kind, AstExprKind::Int(_) | AstExprKind::Float(_))
        }
        AstExprKind::List(items) => items.iter().all(is_constant),
        AstExprKind::Map(entries) => entries.iter().all(|(_, _, v)| is_constant(v)),
        _ => false,
    }
}

/// The builtin a desugared declaration statement calls, if `stmt` is one.
fn declaration_kind(stmt: &AstStmt) -> Option<&'static str> {
    let AstStmtKind::Let { is_const: true, value, .. } = &stmt.kind else { return None };
    let AstExprKind::Call { callee, .. } = &value.kind else { return None };
    match &callee.kind {
        AstExprKind::Name(n) if n == PROTOCOL_BUILTIN => Some(PROTOCOL_BUILTIN),
        AstExprKind::Name(n) if n == ENTITY_BUILTIN => Some(ENTITY_BUILTIN),
        AstExprKind::Name(n) if n == CONTRACT_BUILTIN => Some(CONTRACT_BUILTIN),
        _ => None,
    }
}

/// Hoists the desugared declarations of the top level (CONTRACTS.md §3) to its front:
/// protocols, then entities, then contracts, each group in source order. Reports two
/// top-level declarations of one name (also against named functions).
pub(super) fn hoist(stmts: &mut Vec<AstStmt>, diags: &mut Vec<Diagnostic>) {
    // Name -> whether a type declaration (not only named functions) used it.
    let mut seen: std::collections::HashMap<String, bool> = std::collections::HashMap::new();
    for stmt in stmts.iter() {
        let (name, is_type) = match (&stmt.kind, declaration_kind(stmt)) {
            (AstStmtKind::Let { name, .. }, Some(_)) => (name, true),
            (AstStmtKind::Func(f), _) => match &f.name {
                Some(n) => (n, false),
                None => continue,
            },
            _ => continue,
        };
        // Two named functions of one name stay valid (the later one wins, LANGUAGE.md).
        match seen.get_mut(&name.name) {
            Some(earlier) if *earlier || is_type => {
                diags.push(duplicate(format!("duplicate declaration of '{}'", name.name), name.span));
            }
            Some(_) => {}
            None => {
                seen.insert(name.name.clone(), is_type);
            }
        }
    }
    let mut front = Vec::new();
    for kind in [PROTOCOL_BUILTIN, ENTITY_BUILTIN, CONTRACT_BUILTIN] {
        let mut i = 0;
        while i < stmts.len() {
            if declaration_kind(&stmts[i]) == Some(kind) {
                front.push(stmts.remove(i));
            } else {
                i += 1;
            }
        }
    }
    if !front.is_empty() {
        front.append(stmts);
        *stmts = front;
    }
}

/// Rewrites a contract body's code: `this`/`self` to [`AstExprKind::This`], bare member
/// names that are not locals to `this.name`, and reports declarations of `this`/`self`.
struct Rewriter<'a> {
    members: &'a HashSet<String>,
    diags: Vec<Diagnostic>,
}

fn this_at(span: Span) -> Box<AstExpr> {
    Box::new(expr(AstExprKind::This, span))
}

impl Rewriter<'_> {
    fn declare(&mut self, name: &AstIdent, locals: &mut HashSet<String>) {
        if name.name == "this" || name.name == "self" {
            let message = format!("syntax error: cannot declare '{}' inside a contract body", name.name);
            self.diags.push(
                Diagnostic::error("E0123", message, name.span).with_label("this/self mean the current instance here"),
            );
        }
        locals.insert(name.name.clone());
    }

    fn is_member(&self, name: &str, locals: &HashSet<String>) -> bool {
        self.members.contains(name) && !locals.contains(name)
    }

    fn func(&mut self, f: &mut AstFunc, outer: &HashSet<String>) {
        let mut locals = outer.clone();
        for p in &f.params {
            self.declare(p, &mut locals);
        }
        self.collect(&f.body, &mut locals);
        for d in &mut f.defaults {
            self.expr(d, &locals);
        }
        self.stmts(&mut f.body, &locals);
    }

    /// The names a function body declares (as `compile::scope::declared_names` counts them).
    fn collect(&mut self, stmts: &[AstStmt], locals: &mut HashSet<String>) {
        for stmt in stmts {
            match &stmt.kind {
                AstStmtKind::Let { name, .. } => self.declare(name, locals),
                AstStmtKind::Func(f) => {
                    if let Some(n) = &f.name {
                        self.declare(n, locals);
                    }
                }
                AstStmtKind::ForEach { var, key, body, .. } => {
                    if let Some(k) = key {
                        self.declare(k, locals);
                    }
                    self.declare(var, locals);
                    self.collect(body, locals);
                }
                AstStmtKind::If { branches, else_body } => {
                    for (_, b) in branches {
                        self.collect(b, locals);
                    }
                    if let Some(b) = else_body {
                        self.collect(b, locals);
                    }
                }
                AstStmtKind::While { body, .. } | AstStmtKind::Block(body) => self.collect(body, locals),
                AstStmtKind::Try { body, catch, finally } => {
                    self.collect(body, locals);
                    if let Some(c) = catch {
                        if let Some(v) = &c.var {
                            self.declare(v, locals);
                        }
                        self.collect(&c.body, locals);
                    }
                    if let Some(f) = finally {
                        self.collect(&f.body, locals);
                    }
                }
                _ => {}
            }
        }
    }

    fn stmts(&mut self, stmts: &mut [AstStmt], locals: &HashSet<String>) {
        for s in stmts {
            self.stmt(s, locals);
        }
    }

    fn opt(&mut self, e: &mut Option<AstExpr>, locals: &HashSet<String>) {
        if let Some(e) = e {
            self.expr(e, locals);
        }
    }

    fn stmt(&mut self, stmt: &mut AstStmt, locals: &HashSet<String>) {
        match &mut stmt.kind {
            AstStmtKind::Let { value, .. } => self.expr(value, locals),
            AstStmtKind::Func(f) => {
                let f = Rc::make_mut(f);
                self.func(f, locals);
            }
            AstStmtKind::If { branches, else_body } => {
                for (c, b) in branches {
                    self.expr(c, locals);
                    self.stmts(b, locals);
                }
                if let Some(b) = else_body {
                    self.stmts(b, locals);
                }
            }
            AstStmtKind::While { cond, body } => {
                self.expr(cond, locals);
                self.stmts(body, locals);
            }
            AstStmtKind::ForEach { iterable, body, .. } => {
                self.expr(iterable, locals);
                self.stmts(body, locals);
            }
            AstStmtKind::Return(e) => self.opt(e, locals),
            AstStmtKind::Print(args) | AstStmtKind::Emit { args, .. } => {
                args.iter_mut().for_each(|a| self.expr(a, locals));
            }
            AstStmtKind::Assign { target, value, .. } => {
                self.expr(value, locals);
                match target {
                    AstTarget::Name(id) if self.is_member(&id.name, locals) => {
                        *target = AstTarget::Member { object: this_at(id.span), name: id.clone() };
                    }
                    AstTarget::Name(_) => {}
                    AstTarget::Index { object, index, .. } => {
                        self.expr(object, locals);
                        self.expr(index, locals);
                    }
                    AstTarget::Member { object, .. } => self.expr(object, locals),
                }
            }
            AstStmtKind::Expr(e) | AstStmtKind::Throw { value: e, .. } => self.expr(e, locals),
            AstStmtKind::Block(b) => self.stmts(b, locals),
            AstStmtKind::StateSet { key, value, .. } => {
                self.expr(key, locals);
                self.expr(value, locals);
            }
            AstStmtKind::Verify { cond, message } | AstStmtKind::Require { cond, message, .. } => {
                self.expr(cond, locals);
                self.opt(message, locals);
            }
            AstStmtKind::Revert { message, .. } => self.opt(message, locals),
            AstStmtKind::Try { body, catch, finally } => {
                self.stmts(body, locals);
                if let Some(c) = catch {
                    self.stmts(&mut c.body, locals);
                }
                if let Some(f) = finally {
                    self.stmts(&mut f.body, locals);
                }
            }
            AstStmtKind::Break
            | AstStmtKind::Continue
            | AstStmtKind::TxBegin
            | AstStmtKind::TxCommit
            | AstStmtKind::TxRevert
            | AstStmtKind::Use(_) => {}
        }
    }

    fn expr(&mut self, e: &mut AstExpr, locals: &HashSet<String>) {
        let span = e.span;
        match &mut e.kind {
            AstExprKind::Name(n) if (n == "this" || n == "self") && !locals.contains(n.as_str()) => {
                e.kind = AstExprKind::This;
            }
            AstExprKind::Name(n) if self.is_member(n, locals) => {
                let name = AstIdent { name: n.clone(), span };
                e.kind = AstExprKind::Member { object: this_at(span), name };
            }
            AstExprKind::Call { callee, args, paren } => {
                args.iter_mut().for_each(|a| self.expr(a, locals));
                if let AstExprKind::Name(n) = &callee.kind
                    && self.is_member(n, locals)
                {
                    let name = AstIdent { name: n.clone(), span: callee.span };
                    let args = std::mem::take(args);
                    let paren = *paren;
                    e.kind =
                        AstExprKind::MethodCall { receiver: this_at(name.span), name: Box::new(name), args, paren };
                } else {
                    self.expr(callee, locals);
                }
            }
            AstExprKind::Func(f) => {
                let f = Rc::make_mut(f);
                self.func(f, locals);
            }
            AstExprKind::List(items) => items.iter_mut().for_each(|x| self.expr(x, locals)),
            AstExprKind::Map(entries) => entries.iter_mut().for_each(|(_, _, v)| self.expr(v, locals)),
            AstExprKind::Unary { operand, .. } => self.expr(operand, locals),
            AstExprKind::Binary { lhs, rhs, .. }
            | AstExprKind::Logic { lhs, rhs, .. }
            | AstExprKind::Coalesce { lhs, rhs } => {
                self.expr(lhs, locals);
                self.expr(rhs, locals);
            }
            AstExprKind::Ternary { cond, then, otherwise } => {
                self.expr(cond, locals);
                self.expr(then, locals);
                self.expr(otherwise, locals);
            }
            AstExprKind::MethodCall { receiver, args, .. } => {
                self.expr(receiver, locals);
                args.iter_mut().for_each(|a| self.expr(a, locals));
            }
            AstExprKind::Index { object, index, .. } => {
                self.expr(object, locals);
                self.expr(index, locals);
            }
            AstExprKind::Member { object, .. } => self.expr(object, locals),
            AstExprKind::StateGet { key: x, .. } | AstExprKind::Hash { value: x, .. } => self.expr(x, locals),
            AstExprKind::Construct { ty, fields, .. } => {
                self.expr(ty, locals);
                fields.iter_mut().for_each(|(_, _, v)| self.expr(v, locals));
            }
            AstExprKind::Int(_)
            | AstExprKind::Float(_)
            | AstExprKind::Str(_)
            | AstExprKind::Bool(_)
            | AstExprKind::Null
            | AstExprKind::Name(_)
            | AstExprKind::This => {}
        }
    }
}
