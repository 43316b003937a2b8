//! Bytecode: the instruction set, code objects with their line tables, and the disassembler.
//!
//! Architecture invariant: `bytecode` depends only on `syntax::span`; it knows nothing of how
//! programs are compiled or run.

pub mod chunk;
pub mod disasm;
pub mod handlers;
pub mod op;
pub mod verify;
