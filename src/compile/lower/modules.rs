//! Lowering of `use` (MODULES.md §6, §8) and the per-file name spaces of a multi-file program.
//!
//! Each file's globals are program globals of their own: a module's global `x` is named
//! `x@N` (see `vm::modules::global_name`), the main file's keeps its name, so single-file
//! programs compile exactly as before. A `use` statement becomes
//!
//! ```text
//! USE_MODULE m      ; run the module's top level unless it already ran (9 gas)
//! POP               ; (1 gas: a use costs 10, as a call, BLOCKCHAIN.md §7a)
//! IMPORT_LOAD x@N   ; use-all / named: copy each bound export (a snapshot, §8.1; no gas)
//! IMPORT_STORE x
//! LOAD_MODULE m     ; alias: the module value (§8.3; no gas)
//! IMPORT_STORE m
//! ```
//!
//! which the loader's checks make safe: imported names are never assigned elsewhere (§10).

use std::collections::HashMap;

use super::{Lowerer, Result};
use crate::bytecode::op::Op;
use crate::diag::Diagnostic;
use crate::syntax::ast::{AstUse, UseForm};
use crate::syntax::span::Span;
use crate::vm::modules::global_name;

/// What the compiler needs to know about the file it compiles.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FileCtx {
    /// The namespace of its globals (`""` for the main file, else its module name).
    pub ns: String,
    /// The module each of its `use` statements names, by the start of the path string.
    pub uses: HashMap<u32, UseTarget>,
}

/// The module a `use` statement names, as the loader resolved it.
#[derive(Debug, Clone, PartialEq)]
pub struct UseTarget {
    /// Its index in the program's module table.
    pub module: u32,
    /// Its namespace (module name).
    pub ns: String,
    /// Its export list (what a use-all binds).
    pub exports: Vec<String>,
}

impl FileCtx {
    /// The program global that holds `name` written in this file.
    pub fn global(&self, name: &str) -> String {
        global_name(name, &self.ns)
    }
}

impl Lowerer {
    /// `use "p"`, `use "p" as m`, `use { a, b } from "p"` (and their `export use` forms).
    pub(super) fn use_stmt(&mut self, u: &AstUse) -> Result<()> {
        let span = u.path_span;
        let Some(target) = self.file.uses.get(&span.start).cloned() else {
            // Only a program loaded by `engine::loader` has its `use` statements resolved; the
            // debugger (TUI, `snapshot`) still builds one file.
            let msg =
                "syntax error: this command runs one file: `use` needs `run`, `dis`, `profile`, `trace` or `stats`";
            return Err(Diagnostic::error("E0190", msg, span).with_label("module not loaded"));
        };
        self.emit(Op::UseModule { module: target.module }, span);
        self.emit(Op::Pop, span);
        match &u.form {
            UseForm::Alias(alias) => {
                self.emit(Op::LoadModule { module: target.module }, span);
                self.bind(&alias.name, alias.span)
            }
            UseForm::All => {
                for name in &target.exports {
                    self.load_foreign(&global_name(name, &target.ns), span)?;
                    self.bind(name, span)?;
                }
                Ok(())
            }
            UseForm::Named(names) => {
                for id in names {
                    self.load_foreign(&global_name(&id.name, &target.ns), id.span)?;
                    self.bind(&id.name, id.span)?;
                }
                Ok(())
            }
        }
    }

    /// Stores the value on top into this file's `name` (no const check: imports are read-only
    /// by the loader's rule, and never constants of this file).
    fn bind(&mut self, name: &str, span: Span) -> Result<()> {
        if self.stack[self.stack.len() - 1].chunk.is_top {
            // The main file's globals are its top-level slots; the global table entry below
            // names the same program global.
            self.top_slot(name, span)?;
        }
        let idx = self.global_entry(&self.file.global(name));
        self.emit(Op::ImportStore { idx }, span);
        Ok(())
    }

    /// Loads the program global `global`, already qualified with its file's namespace.
    fn load_foreign(&mut self, global: &str, span: Span) -> Result<()> {
        let idx = self.global_entry(global);
        self.emit(Op::ImportLoad { idx }, span);
        Ok(())
    }

    /// The index of program global `global` in the current chunk's global table.
    fn global_entry(&mut self, global: &str) -> u32 {
        let state = self.top();
        let next = state.globals.len() as u32;
        *state.globals.entry(global.to_string()).or_insert(next)
    }
}
