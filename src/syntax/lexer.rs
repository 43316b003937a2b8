//! Turns source text into tokens with spans and line-break flags, reporting lexical errors.

use logos::Logos;

use super::span::Span;
use super::token::{LexError, LexExtras, Token};
use crate::diag::Diagnostic;

/// The lexer keeps at most this many diagnostics (it still lexes the rest of the source).
pub const MAX_LEX_DIAGNOSTICS: usize = 50;

/// A token with its span and whether a line break precedes it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tok {
    /// The token kind (and literal value for numbers).
    pub token: Token,
    /// Where it was written.
    pub span: Span,
    /// True when a line break, or a block comment spanning lines, lies between this token
    /// and the previous one.
    pub newline_before: bool,
}

/// Tokenises all of `src`. The result always ends with one `Token::Eof`.
///
/// Lexing continues past errors: each bad token stands in the token list as `Token::Error`
/// and is reported once (up to [`MAX_LEX_DIAGNOSTICS`] reports).
pub fn tokenize(src: &str) -> (Vec<Tok>, Vec<Diagnostic>) {
    let mut lexer = Lexer::new(src);
    let mut toks = Vec::new();
    loop {
        let tok = lexer.next_tok();
        toks.push(tok);
        if tok.token == Token::Eof {
            break;
        }
    }
    (toks, lexer.into_diagnostics())
}

/// A streaming lexer: hands out one token at a time so the parser needs no token vector.
pub struct Lexer<'src> {
    inner: logos::Lexer<'src, Token>,
    diagnostics: Vec<Diagnostic>,
    finished: bool,
}

impl<'src> Lexer<'src> {
    /// A lexer positioned at the start of `src`.
    pub fn new(src: &'src str) -> Lexer<'src> {
        Lexer { inner: Token::lexer_with_extras(src, LexExtras::default()), diagnostics: Vec::new(), finished: false }
    }

    /// The next token; after the end of the source it keeps returning `Token::Eof`.
    pub fn next_tok(&mut self) -> Tok {
        if self.finished {
            return self.eof();
        }
        match self.inner.next() {
            None => {
                self.finished = true;
                self.eof()
            }
            Some(res) => {
                let range = self.inner.span();
                let span = Span::new(range.start, range.end);
                let newline_before = std::mem::take(&mut self.inner.extras.newline);
                let token = match res {
                    Ok(token) => token,
                    Err(err) => {
                        if self.diagnostics.len() < MAX_LEX_DIAGNOSTICS {
                            let slice = self.inner.slice();
                            self.diagnostics.push(lex_error(err, slice, span));
                        }
                        Token::Error
                    }
                };
                Tok { token, span, newline_before }
            }
        }
    }

    /// Lexical diagnostics reported so far.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }

    /// Consumes the lexer, returning its diagnostics.
    pub fn into_diagnostics(self) -> Vec<Diagnostic> {
        self.diagnostics
    }

    /// The end-of-file token, placed at the end of the source.
    fn eof(&mut self) -> Tok {
        let end = self.inner.source().len();
        let newline_before = std::mem::take(&mut self.inner.extras.newline);
        Tok { token: Token::Eof, span: Span::new(end, end), newline_before }
    }
}

/// Builds the diagnostic for one lexical error.
fn lex_error(err: LexError, slice: &str, span: Span) -> Diagnostic {
    let (code, message, label) = match err {
        LexError::UnexpectedChar => {
            let shown = slice.chars().next().map(|c| c.escape_debug().to_string());
            let message = match shown {
                Some(c) => format!("syntax error: unexpected character '{c}'"),
                None => "syntax error: unexpected character".to_string(),
            };
            ("E0101", message, "not valid here")
        }
        LexError::IntTooLarge => {
            ("E0102", "syntax error: integer literal too large".to_string(), "above 9223372036854775807")
        }
        LexError::BadNumberSuffix => (
            "E0103",
            format!("syntax error: invalid number literal '{slice}'"),
            "a number cannot be followed directly by a letter or '_'",
        ),
        LexError::LeadingDot => {
            ("E0103", format!("syntax error: invalid number literal '{slice}'"), "write a digit before the '.'")
        }
        LexError::UnterminatedString => {
            ("E0104", "syntax error: unterminated string".to_string(), "the closing quote must be on the same line")
        }
        LexError::UnterminatedComment => {
            ("E0105", "syntax error: unterminated block comment".to_string(), "this '/*' has no closing '*/'")
        }
        LexError::FloatTooLarge => {
            ("E0106", "syntax error: float literal too large".to_string(), "beyond the largest double")
        }
    };
    let span = match err {
        // Point at the opening `/*` rather than at the whole rest of the file.
        LexError::UnterminatedComment => Span { start: span.start, end: span.start.saturating_add(2) },
        _ => span,
    };
    Diagnostic::error(code, message, span).with_label(label)
}

/// The value of a string literal written as `raw` (quotes included), with escapes processed.
///
/// Known escapes are `\n \t \r \\ \" \' \0`; any other `\x` stays the two characters.
pub fn unescape(raw: &str) -> String {
    let inner = raw.get(1..raw.len().saturating_sub(1)).unwrap_or("");
    if !inner.contains('\\') {
        return inner.to_string();
    }
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('\\') => out.push('\\'),
            Some('"') => out.push('"'),
            Some('\'') => out.push('\''),
            Some('0') => out.push('\0'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Renders the tokens of `src`, one per line, followed by any diagnostics.
    fn dump(src: &str) -> String {
        let (toks, diags) = tokenize(src);
        let mut out = String::new();
        for tok in &toks {
            let text = src.get(tok.span.start as usize..tok.span.end as usize).unwrap_or("");
            let nl = if tok.newline_before { "⏎ " } else { "" };
            out.push_str(&format!("{nl}{:?} {}..{} {text:?}\n", tok.token, tok.span.start, tok.span.end));
        }
        for d in &diags {
            out.push_str(&format!("{} {} @{}..{}\n", d.code, d.message, d.span.start, d.span.end));
        }
        out
    }

    fn check(src: &str, expect: &str) {
        assert_eq!(dump(src).trim_end(), expect.trim_end(), "for source {src:?}");
    }

    #[test]
    fn sample_tokens() {
        insta::assert_snapshot!(dump("let x = 3.14 // c\nprint(x ** 2, \"a\\n\")\n"), @r#"
        Let 0..3 "let"
        Ident 4..5 "x"
        Assign 6..7 "="
        Float(3.14) 8..12 "3.14"
        ⏎ Print 18..23 "print"
        LParen 23..24 "("
        Ident 24..25 "x"
        StarStar 26..28 "**"
        Int(2) 29..30 "2"
        Comma 30..31 ","
        Str 32..37 "\"a\\n\""
        RParen 37..38 ")"
        ⏎ Eof 39..39 ""
        "#);
    }

    #[test]
    fn operators_and_keywords() {
        check(
            "a&&b||!c and or not += -= *= /= != <= >= == % { } [ ] : ; ? . lambda",
            r#"Ident 0..1 "a"
AmpAmp 1..3 "&&"
Ident 3..4 "b"
PipePipe 4..6 "||"
Bang 6..7 "!"
Ident 7..8 "c"
And 9..12 "and"
Or 13..15 "or"
Not 16..19 "not"
PlusAssign 20..22 "+="
MinusAssign 23..25 "-="
StarAssign 26..28 "*="
SlashAssign 29..31 "/="
NotEq 32..34 "!="
Le 35..37 "<="
Ge 38..40 ">="
EqEq 41..43 "=="
Percent 44..45 "%"
LBrace 46..47 "{"
RBrace 48..49 "}"
LBracket 50..51 "["
RBracket 52..53 "]"
Colon 54..55 ":"
Semi 56..57 ";"
Question 58..59 "?"
Dot 60..61 "."
Lambda 62..68 "lambda"
Eof 68..68 """#,
        );
    }

    #[test]
    fn comments_and_newlines() {
        check(
            "a # x\nb /* one line */ c /* two\nlines */ d",
            r#"Ident 0..1 "a"
⏎ Ident 6..7 "b"
Ident 23..24 "c"
⏎ Ident 41..42 "d"
Eof 42..42 """#,
        );
    }

    #[test]
    fn lexical_errors() {
        check(
            "9223372036854775807 9223372036854775808 1abc 1ex .5 @ \"open\nx /* never",
            r#"Int(9223372036854775807) 0..19 "9223372036854775807"
Error 20..39 "9223372036854775808"
Error 40..44 "1abc"
Error 45..48 "1ex"
Error 49..51 ".5"
Error 52..53 "@"
Error 54..59 "\"open"
⏎ Ident 60..61 "x"
Error 62..70 "/* never"
Eof 70..70 ""
E0102 syntax error: integer literal too large @20..39
E0103 syntax error: invalid number literal '1abc' @40..44
E0103 syntax error: invalid number literal '1ex' @45..48
E0103 syntax error: invalid number literal '.5' @49..51
E0101 syntax error: unexpected character '@' @52..53
E0104 syntax error: unterminated string @54..59
E0105 syntax error: unterminated block comment @62..64"#,
        );
    }

    #[test]
    fn exponent_floats_and_dialect_operators() {
        check(
            "1e3 2.5E-3 6.02e+23 1e400 1e 1e+ 1.5ex a ?? b => c -> d",
            r#"Float(1000.0) 0..3 "1e3"
Float(0.0025) 4..10 "2.5E-3"
Float(6.02e23) 11..19 "6.02e+23"
Error 20..25 "1e400"
Error 26..28 "1e"
Error 29..31 "1e"
Plus 31..32 "+"
Error 33..38 "1.5ex"
Ident 39..40 "a"
QuestionQuestion 41..43 "??"
Ident 44..45 "b"
FatArrow 46..48 "=>"
Ident 49..50 "c"
Arrow 51..53 "->"
Ident 54..55 "d"
Eof 55..55 ""
E0106 syntax error: float literal too large @20..25
E0103 syntax error: invalid number literal '1e' @26..28
E0103 syntax error: invalid number literal '1e' @29..31
E0103 syntax error: invalid number literal '1.5ex' @33..38"#,
        );
    }

    #[test]
    fn non_ascii_is_one_error_per_char() {
        check(
            "é'é'",
            r#"Error 0..2 "é"
Str 2..6 "'é'"
Eof 6..6 ""
E0101 syntax error: unexpected character 'é' @0..2"#,
        );
    }

    #[test]
    fn escapes() {
        assert_eq!(unescape(r#""a\nb\t\\\"\'\0\q""#), "a\nb\t\\\"'\0\\q");
        assert_eq!(unescape("'plain'"), "plain");
        assert_eq!(unescape(r#""\"""#), "\"");
    }
}
