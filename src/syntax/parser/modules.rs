//! The statements of MODULES.md §3: `use` (use-all, alias, named) and `export` (a declaration,
//! a name, a list of names, or a `use`).
//!
//! `use` and `export` are lexed as identifiers and recognised here by their text, like the
//! other statement words; `as` and `from` are contextual and mean something only at their
//! places below. Both statements are parsed wherever they appear, and reported when they are
//! not at the top level of the file (the caret under the keyword).

use super::{PResult, PStmt, Parser};
use crate::diag::Diagnostic;
use crate::syntax::ast::{AstIdent, AstStmt, AstStmtKind, AstUse, UseForm};
use crate::syntax::lexer::{Tok, unescape};
use crate::syntax::token::Token;

/// The words that begin one of these statements.
pub(super) const MODULE_WORDS: &[&str] = &["use", "export"];

impl Parser<'_> {
    /// True if the current token is the identifier `word`.
    fn at_module_word(&self, word: &str) -> bool {
        self.cur.token == Token::Ident && self.text(self.cur.span) == word
    }

    /// `use_stmt | export_stmt`, the current token being `use` or `export`.
    pub(super) fn module_stmt(&mut self) -> PResult<PStmt> {
        let kw = self.cur;
        let word = self.text(kw.span);
        if self.stmt_nesting != 1 {
            let message = format!("syntax error: '{word}' is only allowed at the top level of a file");
            let diag = Diagnostic::error("E0140", message, kw.span).with_label("not at the top level");
            self.report(diag);
        }
        if word == "use" { self.use_stmt(false) } else { self.export_stmt() }
    }

    /// `use_stmt = "use" module_path [ "as" identifier ] | "use" "{" name_list "}" "from" module_path`.
    fn use_stmt(&mut self, reexport: bool) -> PResult<PStmt> {
        let kw = self.bump();
        let form_names = if self.at(Token::LBrace) { Some(self.name_list()?) } else { None };
        if form_names.is_some() {
            if !self.at_module_word("from") {
                return Err(self.expected("'from' after the names"));
            }
            self.bump();
        }
        let (path, path_span) = self.module_path()?;
        let form = match form_names {
            Some(names) => UseForm::Named(names),
            None if self.at_module_word("as") && !self.cur.newline_before => {
                self.bump();
                UseForm::Alias(self.declared_name("module alias")?)
            }
            None => UseForm::All,
        };
        self.end_statement()?;
        let stmt = AstStmtKind::Use(AstUse { form, path, path_span, reexport });
        self.stmt(stmt, kw.span.start, 1)
    }

    /// `module_path = string`: the path text and the literal's span.
    fn module_path(&mut self) -> PResult<(String, crate::syntax::span::Span)> {
        if !self.at(Token::Str) {
            return Err(self.expected("a module path (a string literal)"));
        }
        let tok = self.bump();
        let path = unescape(self.text(tok.span));
        if path.is_empty() {
            let diag = Diagnostic::error("E0141", "syntax error: empty module path", tok.span)
                .with_label("no path in this string");
            return Err(self.fail(diag));
        }
        Ok((path, tok.span))
    }

    /// `"{" identifier { "," identifier } [ "," ] "}"`.
    fn name_list(&mut self) -> PResult<Vec<AstIdent>> {
        let open: Tok = self.bump();
        let saved = self.open_bracket();
        let res = self.name_list_items(open);
        self.close_bracket(saved);
        res
    }

    fn name_list_items(&mut self, open: Tok) -> PResult<Vec<AstIdent>> {
        let mut names = Vec::new();
        loop {
            if self.at(Token::RBrace) && !names.is_empty() {
                break;
            }
            names.push(self.declared_name("name")?);
            if self.at(Token::Comma) {
                self.bump();
                continue;
            }
            break;
        }
        self.expect_closing(Token::RBrace, open)?;
        Ok(names)
    }

    /// `export_stmt = "export" (export_decl | identifier | "{" name_list "}" | use_stmt)`.
    fn export_stmt(&mut self) -> PResult<PStmt> {
        let kw = self.bump();
        if self.at_module_word("use") {
            return self.use_stmt(true);
        }
        if self.at(Token::LBrace) {
            let names = self.name_list()?;
            self.end_statement()?;
            self.exports.extend(names);
            return self.stmt(AstStmtKind::Block(Vec::new()), kw.span.start, 1);
        }
        if self.at(Token::Ident) && !is_declaration_word(self.text(self.cur.span)) {
            let name = self.declared_name("name to export")?;
            self.end_statement()?;
            self.exports.push(name);
            return self.stmt(AstStmtKind::Block(Vec::new()), kw.span.start, 1);
        }
        let (stmt, h) = self.statement_kind()?;
        match declared_by(&stmt) {
            Some(name) => self.exports.push(name),
            None => {
                let diag = Diagnostic::error(
                    "E0142",
                    "syntax error: expected a declaration or a name after 'export'",
                    stmt.span,
                )
                .with_label("this cannot be exported");
                return Err(self.fail(diag));
            }
        }
        Ok((stmt, h))
    }
}

/// Words that start a declaration another spec defines (CONTRACTS.md §2), parsed by the
/// ordinary statement rule after `export`.
fn is_declaration_word(word: &str) -> bool {
    matches!(word, "contract" | "entity" | "protocol")
}

/// The name an exported declaration declares.
fn declared_by(stmt: &AstStmt) -> Option<AstIdent> {
    match &stmt.kind {
        AstStmtKind::Let { name, .. } => Some(name.clone()),
        AstStmtKind::Func(func) => func.name.clone(),
        _ => None,
    }
}
