//! The token set of Zexus, recognised by one `logos`-derived enum.
//!
//! Tokens carry no text: identifiers and strings are read back from the source through the
//! token's span (see `lexer::unescape` for string contents), which keeps a token at 16 bytes.

use logos::{Lexer, Logos, Skip};

/// What went wrong while recognising one token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LexError {
    /// A character that starts no token.
    #[default]
    UnexpectedChar,
    /// An integer literal above `i64::MAX`.
    IntTooLarge,
    /// A number followed directly by a letter or `_` (`1abc`, `1e3`).
    BadNumberSuffix,
    /// A float without digits before the dot (`.5`).
    LeadingDot,
    /// A string literal without its closing quote on the same line.
    UnterminatedString,
    /// A `/*` comment without its closing `*/`.
    UnterminatedComment,
    /// A float literal whose value does not fit a double (`1e400`, DIALECT.md §9).
    FloatTooLarge,
}

/// State threaded through the logos lexer between tokens.
#[derive(Debug, Clone, Copy, Default)]
pub struct LexExtras {
    /// Set when a line break (or a multi-line block comment) was skipped since the last token.
    pub newline: bool,
}

/// One Zexus token.
#[derive(Logos, Debug, Clone, Copy, PartialEq)]
#[logos(error = LexError)]
#[logos(extras = LexExtras)]
#[logos(skip r"[ \t\r\x0C]+")]
#[logos(skip(r"\n", newline))]
#[logos(skip(r"(//|#)[^\n]*", logos::skip, allow_greedy = true))]
#[logos(skip(r"/\*", block_comment))]
pub enum Token {
    // Literals.
    /// A decimal integer literal, already range-checked.
    #[regex("[0-9]+", int_literal)]
    Int(i64),
    /// A float literal `digits.digits`, optionally with an exponent, or `digits` with an
    /// exponent (`1e3`, `2.5E-3`; DIALECT.md §9).
    #[regex(r"[0-9]+\.[0-9]+", float_literal)]
    #[regex(r"[0-9]+(\.[0-9]+)?[eE][+-]?[0-9]+", float_literal, priority = 10)]
    Float(f64),
    /// A string literal (quotes included in the span; see `lexer::unescape`).
    #[token("\"", string_literal)]
    #[token("'", string_literal)]
    Str,
    /// An identifier `[A-Za-z_][A-Za-z0-9_]*` that is not a core keyword.
    #[regex("[A-Za-z_][A-Za-z0-9_]*")]
    Ident,

    // Core keywords (section 1.3).
    /// `let`
    #[token("let")]
    Let,
    /// `const`
    #[token("const")]
    Const,
    /// `action`
    #[token("action")]
    Action,
    /// `function`
    #[token("function")]
    Function,
    /// `return`
    #[token("return")]
    Return,
    /// `if`
    #[token("if")]
    If,
    /// `elif`
    #[token("elif")]
    Elif,
    /// `else`
    #[token("else")]
    Else,
    /// `while`
    #[token("while")]
    While,
    /// `for`
    #[token("for")]
    For,
    /// `each`
    #[token("each")]
    Each,
    /// `in`
    #[token("in")]
    In,
    /// `break`
    #[token("break")]
    Break,
    /// `continue`
    #[token("continue")]
    Continue,
    /// `print`
    #[token("print")]
    Print,
    /// `true`
    #[token("true")]
    True,
    /// `false`
    #[token("false")]
    False,
    /// `null`
    #[token("null")]
    Null,
    /// `and` (same as `&&`)
    #[token("and")]
    And,
    /// `or` (same as `||`)
    #[token("or")]
    Or,
    /// `not` (same as `!`)
    #[token("not")]
    Not,
    /// `lambda` (reserved, never valid in core programs)
    #[token("lambda")]
    Lambda,

    // Operators (section 1.5).
    /// `+`
    #[token("+")]
    Plus,
    /// `-`
    #[token("-")]
    Minus,
    /// `*`
    #[token("*")]
    Star,
    /// `/`
    #[token("/")]
    Slash,
    /// `%`
    #[token("%")]
    Percent,
    /// `**`
    #[token("**")]
    StarStar,
    /// `==`
    #[token("==")]
    EqEq,
    /// `!=`
    #[token("!=")]
    NotEq,
    /// `<`
    #[token("<")]
    Lt,
    /// `<=`
    #[token("<=")]
    Le,
    /// `>`
    #[token(">")]
    Gt,
    /// `>=`
    #[token(">=")]
    Ge,
    /// `&&`
    #[token("&&")]
    AmpAmp,
    /// `||`
    #[token("||")]
    PipePipe,
    /// `!`
    #[token("!")]
    Bang,
    /// `=`
    #[token("=")]
    Assign,
    /// `+=`
    #[token("+=")]
    PlusAssign,
    /// `-=`
    #[token("-=")]
    MinusAssign,
    /// `*=`
    #[token("*=")]
    StarAssign,
    /// `/=`
    #[token("/=")]
    SlashAssign,

    // Punctuation.
    /// `(`
    #[token("(")]
    LParen,
    /// `)`
    #[token(")")]
    RParen,
    /// `[`
    #[token("[")]
    LBracket,
    /// `]`
    #[token("]")]
    RBracket,
    /// `{`
    #[token("{")]
    LBrace,
    /// `}`
    #[token("}")]
    RBrace,
    /// `,`
    #[token(",")]
    Comma,
    /// `:`
    #[token(":")]
    Colon,
    /// `.`
    #[token(".")]
    Dot,
    /// `;`
    #[token(";")]
    Semi,
    /// `?`
    #[token("?")]
    Question,
    /// `??` (null-coalescing, DIALECT.md §7.1)
    #[token("??")]
    QuestionQuestion,
    /// `=>` (arrow function, DIALECT.md §6)
    #[token("=>")]
    FatArrow,
    /// `->` (return-type annotation, DIALECT.md §4)
    #[token("->")]
    Arrow,

    // Malformed input, reported as errors by the callbacks.
    /// Never produced: a digit run glued to a word (`1abc`, `1.5e3`) is an error.
    #[regex("[0-9]+(\\.[0-9]+)?[A-Za-z_][A-Za-z0-9_]*", bad_number_suffix)]
    /// Never produced: `.5` is an error (write `0.5`).
    #[regex(r"\.[0-9]+", leading_dot)]
    BadNumber,

    // Synthetic tokens, never produced by logos itself.
    /// Stands for a token the lexer could not recognise (its diagnostic is already reported).
    Error,
    /// The end of the source.
    Eof,
}

/// Records a skipped line break.
fn newline(lex: &mut Lexer<Token>) -> Skip {
    lex.extras.newline = true;
    Skip
}

/// Skips a `/* ... */` comment; one that spans lines counts as a line break.
fn block_comment(lex: &mut Lexer<Token>) -> Result<Skip, LexError> {
    let rest = lex.remainder();
    match rest.find("*/") {
        Some(end) => {
            if rest[..end].contains('\n') {
                lex.extras.newline = true;
            }
            lex.bump(end + 2);
            Ok(Skip)
        }
        None => {
            lex.bump(rest.len());
            Err(LexError::UnterminatedComment)
        }
    }
}

/// Parses a decimal integer, rejecting values above `i64::MAX`.
fn int_literal(lex: &mut Lexer<Token>) -> Result<i64, LexError> {
    lex.slice().parse::<i64>().map_err(|_| LexError::IntTooLarge)
}

/// Parses a float literal; one too large for a double is an error (one too small rounds to 0).
fn float_literal(lex: &mut Lexer<Token>) -> Result<f64, LexError> {
    match lex.slice().parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(_) => Err(LexError::FloatTooLarge),
        Err(_) => Err(LexError::UnexpectedChar),
    }
}

/// Rejects a number glued to a word.
fn bad_number_suffix(_lex: &mut Lexer<Token>) -> Result<(), LexError> {
    Err(LexError::BadNumberSuffix)
}

/// Rejects a float that starts with `.`.
fn leading_dot(_lex: &mut Lexer<Token>) -> Result<(), LexError> {
    Err(LexError::LeadingDot)
}

/// Scans the rest of a string literal after its opening quote, up to the matching quote.
///
/// A backslash escapes the next character (so `\"` does not close the string); a raw line
/// break or the end of the source before the closing quote is an error.
fn string_literal(lex: &mut Lexer<Token>) -> Result<(), LexError> {
    let quote = lex.slice().as_bytes().first().copied().unwrap_or(b'"');
    let rest = lex.remainder().as_bytes();
    let mut i = 0;
    while i < rest.len() {
        match rest[i] {
            b'\\' => {
                if rest.get(i + 1).is_some_and(|&b| b != b'\n' && b.is_ascii()) {
                    i += 2;
                } else {
                    i += 1;
                }
            }
            b'\n' => break,
            b if b == quote => {
                lex.bump(i + 1);
                return Ok(());
            }
            _ => i += 1,
        }
    }
    // Stop before the line break (or at the end of the source) so the span stays on one line.
    lex.bump(i);
    Err(LexError::UnterminatedString)
}

impl Token {
    /// How the token reads in a diagnostic (`'('`, `identifier`, `end of file`).
    pub fn describe(&self) -> &'static str {
        match self {
            Token::Int(_) => "integer literal",
            Token::Float(_) => "float literal",
            Token::Str => "string literal",
            Token::Ident => "identifier",
            Token::Error | Token::BadNumber => "invalid token",
            Token::Eof => "end of file",
            other => other.text(),
        }
    }

    /// The fixed source text of a keyword, operator or punctuation token (`""` otherwise).
    pub fn text(&self) -> &'static str {
        match self {
            Token::Let => "'let'",
            Token::Const => "'const'",
            Token::Action => "'action'",
            Token::Function => "'function'",
            Token::Return => "'return'",
            Token::If => "'if'",
            Token::Elif => "'elif'",
            Token::Else => "'else'",
            Token::While => "'while'",
            Token::For => "'for'",
            Token::Each => "'each'",
            Token::In => "'in'",
            Token::Break => "'break'",
            Token::Continue => "'continue'",
            Token::Print => "'print'",
            Token::True => "'true'",
            Token::False => "'false'",
            Token::Null => "'null'",
            Token::And => "'and'",
            Token::Or => "'or'",
            Token::Not => "'not'",
            Token::Lambda => "'lambda'",
            Token::Plus => "'+'",
            Token::Minus => "'-'",
            Token::Star => "'*'",
            Token::Slash => "'/'",
            Token::Percent => "'%'",
            Token::StarStar => "'**'",
            Token::EqEq => "'=='",
            Token::NotEq => "'!='",
            Token::Lt => "'<'",
            Token::Le => "'<='",
            Token::Gt => "'>'",
            Token::Ge => "'>='",
            Token::AmpAmp => "'&&'",
            Token::PipePipe => "'||'",
            Token::Bang => "'!'",
            Token::Assign => "'='",
            Token::PlusAssign => "'+='",
            Token::MinusAssign => "'-='",
            Token::StarAssign => "'*='",
            Token::SlashAssign => "'/='",
            Token::LParen => "'('",
            Token::RParen => "')'",
            Token::LBracket => "'['",
            Token::RBracket => "']'",
            Token::LBrace => "'{'",
            Token::RBrace => "'}'",
            Token::Comma => "','",
            Token::Colon => "':'",
            Token::Dot => "'.'",
            Token::Semi => "';'",
            Token::Question => "'?'",
            Token::QuestionQuestion => "'??'",
            Token::FatArrow => "'=>'",
            Token::Arrow => "'->'",
            _ => "",
        }
    }

    /// True for the core keywords of section 1.3, which can never be names.
    pub fn is_keyword(&self) -> bool {
        matches!(
            self,
            Token::Let
                | Token::Const
                | Token::Action
                | Token::Function
                | Token::Return
                | Token::If
                | Token::Elif
                | Token::Else
                | Token::While
                | Token::For
                | Token::Each
                | Token::In
                | Token::Break
                | Token::Continue
                | Token::Print
                | Token::True
                | Token::False
                | Token::Null
                | Token::And
                | Token::Or
                | Token::Not
                | Token::Lambda
        )
    }

    /// True for tokens that may follow `.` or be a bare map key: identifiers and keywords.
    pub fn is_word(&self) -> bool {
        *self == Token::Ident || self.is_keyword()
    }
}
