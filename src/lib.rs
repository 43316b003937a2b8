//! zexus-tui: a terminal profiler and visual debugger for the Zexus scripting language,
//! with its own front end, bytecode compiler, optimizer, cache, VM and JIT.
#![deny(unsafe_code)]

pub mod atomic_file;
pub mod bytecode;
pub mod cli;
pub mod compile;
pub mod diag;
pub mod engine;
pub mod input;
pub mod jit;
pub mod sanitize;
pub mod syntax;
pub mod text;
pub mod trace;
pub mod tui;
pub mod vm;
