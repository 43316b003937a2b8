//! AST to bytecode: name resolution, lowering, the bytecode passes (in `optimize`), and the
//! unit cache's position-independent form of compiled code (in `cache`).
//!
//! Architecture invariant: `compile` depends on `syntax`, `bytecode` and the pure value
//! operations of `vm::value` only; it never runs programs, reads the clock or touches files.

pub mod cache;
pub mod lower;
pub mod optimize;
pub mod scope;

use crate::bytecode::chunk::Chunk;
use crate::diag::Diagnostic;
use crate::syntax::ast::AstProgram;
use crate::syntax::span::Span;

/// Compiles a parsed program to its top-level chunk (functions are its children).
///
/// The program is compiled unit by unit (the top level, then each top-level function with the
/// functions nested inside it; see [`lower::top_level_units`]) and reassembled, exactly as the
/// bytecode cache does it, so cached and uncached builds cannot differ.
pub fn compile_program(program: &AstProgram, source_len: usize) -> (Chunk, Vec<Diagnostic>) {
    let units = lower::top_level_units(program);
    let span = Span::new(0, source_len);
    let (mut top, mut diags) = lower::Lowerer::compile_top_unit(program, span, &units);
    for func in units {
        let (chunk, unit_diags) = lower::Lowerer::compile_function_unit(func);
        diags.extend(unit_diags);
        top.children.push(chunk.unwrap_or_else(|| Chunk::new(None, false, func.span)));
    }
    (top, diags)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_wise_compile_equals_whole_program_compile() {
        let src = "let k = 3\naction f(a) { let g = function(b) { return a + b + k }\n return g(1) }\n\
                   let h = function(x) { return f(x) * 2 }\nif k > 1 { action inner() { return k } print(inner()) }\n\
                   print(h(4))\nconst c = 1\n";
        let (ast, diags) = crate::syntax::parse(src);
        assert!(diags.is_empty());
        let (units, d1) = compile_program(&ast, src.len());
        let (whole, d2) = lower::Lowerer::compile_top(&ast, Span::new(0, src.len()));
        assert!(d1.is_empty() && d2.is_empty());
        assert_eq!(units.children.len(), 3);
        assert_eq!(units, whole);
    }
}
