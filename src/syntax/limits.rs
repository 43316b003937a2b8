//! Limits shared by the parser and the bytecode loader, in a leaf module both can import.

/// The maximum height of any AST the parser returns, counting statement and expression
/// nesting; also the deepest nesting of functions the bytecode loader accepts.
///
/// Deeper input is rejected with one "nested too deeply" syntax error.
pub const MAX_NESTING: usize = 256;
