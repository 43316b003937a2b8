//! The virtual machine: values, linked programs, the interpreter and its register form of the
//! bytecode, builtins and the blockchain primitives.
//!
//! Architecture invariant: `vm` never imports `jit`, `engine`, `tui` or `cli`; the JIT reaches
//! it only through the [`hooks::LoopCompiler`] trait, and nothing here performs file I/O.

pub mod builtin_names;
pub mod builtins;
pub mod chain;
pub mod clock;
pub mod contract;
pub mod dialect;
pub mod error;
pub mod exec_counts;
pub mod hooks;
pub mod interp;
pub mod methods_ext;
pub mod modules;
mod ops;
pub mod preview;
pub mod program;
pub mod regcode;
pub mod value;
