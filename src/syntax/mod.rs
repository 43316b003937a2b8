//! Source text to AST: spans, tokens (logos), the lexer and the Pratt parser.
//!
//! Architecture invariant: `syntax` knows nothing about bytecode, the VM or the terminal.

pub mod ast;
pub mod ast_hash;
pub mod highlight;
pub mod lexer;
pub mod limits;
pub mod parser;
pub mod shift;
pub mod span;
pub mod token;

pub use parser::parse;
