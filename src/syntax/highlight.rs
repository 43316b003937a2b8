//! Syntax classes for colouring source lines: keywords, numbers, strings and comments, from
//! the same logos lexer the parser uses, one line at a time (so a pane colours only the lines
//! it shows). Lexing a line alone loses only one thing, whether it starts inside a `/* */`
//! comment, which the caller carries from the line before (see [`BlockComments`]).

use std::ops::Range;

use logos::Logos;

use super::token::Token;

/// What a piece of a line is, for colouring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// A keyword, including the contextual ones (`try`, `contract`, `use`...) and the
    /// blockchain primitives (`STATE`, `TX_BEGIN`...).
    Keyword,
    /// A number literal, `true`, `false` or `null`.
    Literal,
    /// A string literal.
    String,
    /// A comment.
    Comment,
}

/// Words that are keywords where the parser expects them, though the lexer reads them as
/// identifiers (DIALECT.md, ERRORS.md, CONTRACTS.md, MODULES.md, BLOCKCHAIN.md).
const SOFT_KEYWORDS: &[&str] = &[
    "try",
    "catch",
    "finally",
    "throw",
    "require",
    "revert",
    "use",
    "export",
    "from",
    "as",
    "contract",
    "entity",
    "data",
    "event",
    "protocol",
    "emit",
    "this",
    "STATE",
    "TX_BEGIN",
    "TX_COMMIT",
    "TX_REVERT",
    "HASH",
    "VERIFY",
];

fn token_class(token: &Token, text: &str) -> Option<Class> {
    use Token::*;
    match token {
        Int(_) | Float(_) | True | False | Null => Some(Class::Literal),
        Str => Some(Class::String),
        Let | Const | Action | Function | Return | If | Elif | Else | While | For | Each | In | Break | Continue
        | Print | And | Or | Not | Lambda => Some(Class::Keyword),
        Ident if SOFT_KEYWORDS.contains(&text) => Some(Class::Keyword),
        _ => None,
    }
}

/// The classed byte ranges of `line` (no line break in it), in order; text outside them is
/// plain. `in_comment` says whether the line starts inside a block comment, and is left saying
/// whether the next one does.
pub fn classify(line: &str, in_comment: &mut bool) -> Vec<(Range<usize>, Class)> {
    let mut out = Vec::new();
    let mut start = 0;
    if *in_comment {
        match line.find("*/") {
            Some(end) => {
                out.push((0..end + 2, Class::Comment));
                start = end + 2;
                *in_comment = false;
            }
            None => return vec![(0..line.len(), Class::Comment)],
        }
    }
    let rest = &line[start..];
    let mut lexer = Token::lexer(rest);
    let mut gap_start = 0;
    while let Some(result) = lexer.next() {
        let span = lexer.span();
        // Comments are skipped by the lexer: they sit in the gaps between tokens.
        if let Some(found) = comment_in(&rest[gap_start..span.start], in_comment) {
            out.push((start + gap_start + found.start..start + gap_start + found.end, Class::Comment));
        }
        gap_start = span.end;
        match result {
            Ok(token) => {
                if let Some(class) = token_class(&token, lexer.slice()) {
                    out.push((start + span.start..start + span.end, class));
                }
            }
            // An unterminated string colours as a string to the end of the line; an unclosed
            // block comment as a comment that goes on into the next line.
            Err(super::token::LexError::UnterminatedString) => {
                out.push((start + span.start..line.len(), Class::String));
                return out;
            }
            Err(super::token::LexError::UnterminatedComment) => {
                let at = rest[span.start..].find("/*").map_or(span.start, |i| span.start + i);
                out.push((start + at..line.len(), Class::Comment));
                *in_comment = true;
                return out;
            }
            Err(_) => {}
        }
    }
    if let Some(found) = comment_in(&rest[gap_start..], in_comment) {
        out.push((start + gap_start + found.start..start + gap_start + found.end, Class::Comment));
    }
    out
}

/// The comment in a gap between tokens (or after the last), if it has one.
fn comment_in(gap: &str, in_comment: &mut bool) -> Option<Range<usize>> {
    let line = ["//", "#"].iter().filter_map(|m| gap.find(m)).min();
    let block = gap.find("/*");
    match (line, block) {
        (Some(l), b) if b.is_none_or(|b| l < b) => Some(l..gap.len()),
        (_, Some(b)) => match gap[b + 2..].find("*/") {
            // A closed block comment in the gap ends before the next token; take the rest of
            // the gap (it holds only spaces or more comments).
            Some(_) => Some(b..gap.len()),
            None => {
                *in_comment = true;
                Some(b..gap.len())
            }
        },
        _ => None,
    }
}

/// Whether each line of a text starts inside a block comment, found in one pass when a file is
/// shown, so that any line can then be coloured alone.
#[derive(Debug, Default, Clone)]
pub struct BlockComments {
    /// Line indexes (0-based) that start inside a block comment, in order.
    inside: Vec<u32>,
}

impl BlockComments {
    /// Scans `lines` (cheaply: only lines containing `/*` or inside a comment are lexed).
    pub fn scan<'a>(lines: impl IntoIterator<Item = &'a str>) -> BlockComments {
        let mut inside = Vec::new();
        let mut in_comment = false;
        for (i, line) in lines.into_iter().enumerate() {
            if in_comment {
                inside.push(i as u32);
            }
            if in_comment || line.contains("/*") {
                classify(line, &mut in_comment);
            }
        }
        BlockComments { inside }
    }

    /// Whether line `index` (0-based) starts inside a block comment.
    pub fn starts_inside(&self, index: usize) -> bool {
        self.inside.binary_search(&(index as u32)).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classes(line: &str) -> Vec<(&str, Class)> {
        let mut in_comment = false;
        classify(line, &mut in_comment).into_iter().map(|(r, c)| (&line[r], c)).collect()
    }

    #[test]
    fn keywords_literals_strings_and_comments() {
        assert_eq!(
            classes("let x = \"hi\" + 42; // done"),
            vec![
                ("let", Class::Keyword),
                ("\"hi\"", Class::String),
                ("42", Class::Literal),
                ("// done", Class::Comment)
            ]
        );
        assert_eq!(classes("try { STATE[\"a\"] = null; }")[0], ("try", Class::Keyword));
        assert_eq!(classes("x = 1 # hash comment").last(), Some(&("# hash comment", Class::Comment)));
        assert_eq!(classes("print(\"open"), vec![("print", Class::Keyword), ("\"open", Class::String)]);
    }

    #[test]
    fn block_comments_carry_across_lines() {
        let lines = ["let a = 1; /* starts", "still inside", "ends */ let b = 2;", "let c = 3;"];
        let blocks = BlockComments::scan(lines);
        assert_eq!((0..4).map(|i| blocks.starts_inside(i)).collect::<Vec<_>>(), vec![false, true, true, false]);
        let mut inside = true;
        let third = classify(lines[2], &mut inside);
        assert_eq!(&lines[2][third[0].0.clone()], "ends */");
        assert_eq!(third[1].1, Class::Keyword);
        assert!(!inside);
        let mut one_line = false;
        let spans = classify("a /* x */ + b", &mut one_line);
        assert_eq!(spans.len(), 1);
        assert!(!one_line);
    }
}
