//! The statements of ERRORS.md §1: `try`/`catch`/`finally`, `throw`, `require` and `revert`.
//!
//! Their words are lexed as identifiers and recognised here by their text, like the blockchain
//! forms; as reserved words they can never be names. The bodies are parsed with the ordinary
//! block rule, so whatever block forms it accepts they accept too.

use super::{Failed, PResult, PStmt, Parser, infix_binding_power};
use crate::diag::Diagnostic;
use crate::syntax::ast::{AstCatch, AstExpr, AstFinally, AstStmtKind};
use crate::syntax::span::Span;
use crate::syntax::token::Token;

/// The words that begin (or continue) one of these statements.
pub(super) const ERROR_WORDS: &[&str] = &["try", "catch", "finally", "throw", "require", "revert"];

impl Parser<'_> {
    /// True if the current token is the identifier `word`.
    fn at_word(&self, word: &str) -> bool {
        self.cur.token == Token::Ident && self.text(self.cur.span) == word
    }

    /// The statement starting with the identifier `word`, if it is one of ERRORS.md's.
    pub(super) fn errors_stmt(&mut self, word: &str) -> Option<PResult<PStmt>> {
        Some(match word {
            "try" => self.try_stmt(),
            "throw" => self.throw_stmt(),
            "require" => self.require_stmt(),
            "revert" => self.revert_stmt(),
            "catch" | "finally" => {
                let message = format!("syntax error: unexpected '{word}'");
                let diag = Diagnostic::error("E0110", message, self.cur.span)
                    .with_label("not directly after a try block or a catch block");
                Err(self.fail(diag))
            }
            _ => return None,
        })
    }

    /// `try_stmt = "try" block ( catch_clause [ finally_clause ] | finally_clause )`.
    fn try_stmt(&mut self) -> PResult<PStmt> {
        let kw = self.bump();
        let (body, mut height) = self.block()?;
        let mut catch = None;
        if self.at_word("catch") {
            let catch_kw = self.bump();
            let var = if self.at(Token::LParen) {
                let open = self.bump();
                let var = self.declared_name("catch variable name")?;
                self.expect_closing(Token::RParen, open)?;
                Some(var)
            } else if self.at(Token::LBrace) {
                None
            } else {
                Some(self.declared_name("catch variable name")?)
            };
            let (catch_body, h) = self.block()?;
            height = height.max(h);
            catch = Some(AstCatch { var, body: catch_body, kw: catch_kw.span });
        }
        let mut finally = None;
        if self.at_word("finally") {
            let finally_kw = self.bump();
            let (finally_body, h) = self.block()?;
            height = height.max(h);
            finally = Some(AstFinally { body: finally_body, kw: finally_kw.span });
        }
        if catch.is_none() && finally.is_none() {
            let (_, span) = self.found();
            let diag =
                Diagnostic::error("E0110", "syntax error: expected 'catch' or 'finally' after the try block", span)
                    .with_label("a try statement needs a catch or a finally clause");
            return Err(self.fail(diag));
        }
        self.stmt(AstStmtKind::Try { body, catch, finally }, kw.span.start, height + 1)
    }

    /// `throw_stmt = "throw" expression`, the expression starting on the same line.
    fn throw_stmt(&mut self) -> PResult<PStmt> {
        let kw = self.bump();
        if self.cur.newline_before || matches!(self.cur.token, Token::Semi | Token::RBrace | Token::Eof) {
            let diag = Diagnostic::error("E0110", "syntax error: throw needs a value", kw.span)
                .with_label("expected a value on the same line");
            return Err(self.fail(diag));
        }
        let (value, h) = self.expression()?;
        self.end_statement()?;
        self.stmt(AstStmtKind::Throw { value, kw: kw.span }, kw.span.start, h + 1)
    }

    /// The parenthesised arguments of `require` / `revert`, checked against `min..=max`.
    fn errors_args(&mut self, name: &str, min: usize, max: usize, arity: &str) -> PResult<(Vec<AstExpr>, usize, Span)> {
        let kw = self.bump();
        if !self.at(Token::LParen) || self.at_line_break() {
            let message = format!("syntax error: expected '(' after {name}");
            let diag = Diagnostic::error("E0110", message, self.cur.span).with_label("expected '('");
            return Err(self.fail(diag));
        }
        let open = self.bump();
        let (args, h, _) = self.call_args(open)?;
        if args.len() < min || args.len() > max {
            let diag = Diagnostic::error("E0141", format!("syntax error: {arity}"), kw.span)
                .with_label("wrong number of arguments");
            self.report(diag);
        }
        let continues = !self.at_line_break()
            && (self.cur.token == Token::Question
                || matches!(self.cur.token, Token::LParen | Token::LBracket | Token::Dot)
                || self.cur.token.is_assign_op()
                || infix_binding_power(&self.cur.token).is_some());
        if continues {
            self.report_statement_only(name, kw.span);
            return Err(Failed);
        }
        self.end_statement()?;
        Ok((args, h, kw.span))
    }

    /// `require_stmt = "require" "(" expression [ "," expression ] ")"`.
    fn require_stmt(&mut self) -> PResult<PStmt> {
        let (args, h, kw) = self.errors_args("require", 1, 2, "require takes 1 or 2 arguments")?;
        let mut args = args.into_iter();
        let cond = args.next().unwrap_or(AstExpr { kind: crate::syntax::ast::AstExprKind::Null, span: kw });
        let message = args.next();
        self.stmt(AstStmtKind::Require { cond: Box::new(cond), message, kw }, kw.start, h + 1)
    }

    /// `revert_stmt = "revert" "(" [ expression ] ")"`.
    fn revert_stmt(&mut self) -> PResult<PStmt> {
        let (args, h, kw) = self.errors_args("revert", 0, 1, "revert takes 0 or 1 arguments")?;
        let message = args.into_iter().next();
        self.stmt(AstStmtKind::Revert { message, kw }, kw.start, h + 1)
    }
}

#[cfg(test)]
mod tests {
    use crate::syntax::parser::parse;

    /// The messages of the diagnostics for `src`.
    fn errors(src: &str) -> Vec<String> {
        parse(src).1.into_iter().map(|d| d.message).collect()
    }

    fn dump(src: &str) -> String {
        crate::syntax::parser::tests::dump(src).trim_end().replace('\n', "; ")
    }

    #[test]
    fn try_forms_parse() {
        assert_eq!(dump("try { throw 1 } catch (e) { print(e) }"), "(try {(throw 1)} (catch e {(print e)}))");
        assert_eq!(dump("try { }\ncatch e { }\nfinally { }"), "(try {} (catch e {}) (finally {}))");
        assert_eq!(dump("try { } catch { } print(1)"), "(try {} (catch {})); (print 1)");
        assert_eq!(dump("try { } finally { }"), "(try {} (finally {}))");
        assert_eq!(dump("require(x, \"m\"); revert(); revert(1)"), "(require x \"m\"); (revert); (revert 1)");
    }

    #[test]
    fn try_errors_are_syntax_errors() {
        let cases = [
            ("try { }", "expected 'catch' or 'finally' after the try block"),
            ("catch (e) { }", "unexpected 'catch'"),
            ("finally { }", "unexpected 'finally'"),
            ("throw\n1", "throw needs a value"),
            ("require()", "require takes 1 or 2 arguments"),
            ("require(1, 2, 3)", "require takes 1 or 2 arguments"),
            ("revert(1, 2)", "revert takes 0 or 1 arguments"),
            ("require 1", "expected '(' after require"),
            ("let x = require(1)", "require() is a statement"),
            ("f(throw 1)", "expected an expression"),
            ("try { } catch (if) { }", "keyword"),
            ("try { } catch (STATE) { }", "STATE is reserved"),
            ("let finally = 1", "reserved word"),
            ("let revert = 1", "reserved word"),
        ];
        for (src, want) in cases {
            let got = errors(src);
            assert!(got.iter().any(|m| m.contains(want) && m.contains("syntax error")), "{src:?}: {got:?}");
        }
    }

    #[test]
    fn members_and_keys_may_use_the_words() {
        assert!(errors("let m = {revert: 1, finally: 2}\nprint(m.finally, m.revert)").is_empty());
    }
}
