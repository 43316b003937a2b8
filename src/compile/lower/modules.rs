//! Lowering of `use` (MODULES.md §6, §8) and the per-file name spaces of a multi-file program.
//!
//! Each file's globals are program globals of their own: a module's global `x` is named
//! `x@N` (see `vm::modules::global_name`), the main file's keeps its name, so single-file
//! programs compile exactly as before. A `use` statement becomes
//!
//! ```text
//! USE_MODULE m      ; run the module's top level unless it already ran (10 gas)
//! POP
//! LOAD_GLOBAL x@N   ; use-all / named: copy each bound export (a snapshot, §8.1)
//! STORE x
//! LOAD_MODULE m     ; alias: the module value (§8.3)
//! STORE m
//! ```
//!
//! which the loader's checks make safe: imported names are never assigned elsewhere (§10).

use std::collections::HashMap;

use super::{Lowerer, Result, Var};
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
            return Err(Diagnostic::error("E0190", "syntax error: internal: module not loaded", span));
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
        let (var, _) = self.resolve(name, span)?;
        self.store_plain(var, span);
        Ok(())
    }

    /// Loads the program global `global`, already qualified with its file's namespace.
    fn load_foreign(&mut self, global: &str, span: Span) -> Result<()> {
        let level = self.stack.len() - 1;
        if self.stack[level].chunk.is_top {
            let slot = self.top_slot(global, span)?;
            self.emit(Op::LoadLocal { slot }, span);
        } else {
            let state = &mut self.stack[level];
            let next = state.globals.len() as u32;
            let idx = *state.globals.entry(global.to_string()).or_insert(next);
            let _ = Var::Global(idx);
            self.emit(Op::LoadGlobal { idx }, span);
        }
        Ok(())
    }
}
