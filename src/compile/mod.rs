//! AST to bytecode: name resolution, lowering, and (in `optimize`) the bytecode passes.
//!
//! Architecture invariant: `compile` depends on `syntax`, `bytecode` and the pure value
//! operations of `vm::value` only; it never runs programs.

pub mod lower;
pub mod optimize;
pub mod scope;

use crate::bytecode::chunk::Chunk;
use crate::diag::Diagnostic;
use crate::syntax::ast::AstProgram;
use crate::syntax::span::Span;

/// Compiles a parsed program to its top-level chunk (functions are its children).
pub fn compile_program(program: &AstProgram, source_len: usize) -> (Chunk, Vec<Diagnostic>) {
    lower::Lowerer::compile_top(program, Span::new(0, source_len))
}
