//! A function's listings, made when first read (issue 13, M8). Opening a program used to
//! disassemble every function in every optimizer stage and replay the optimizer over the whole
//! program before the first frame (seconds and hundreds of megabytes for 100,000 lines); the
//! TUI shows one function at a time. So a [`FunctionInfo`](super::FunctionInfo) keeps a copy
//! of its function's code (without the nested functions' code) and its file, and derives the
//! rows, the pass stages and the pc map on first use, each once. What is known without a
//! listing (the number of instructions, the line of an instruction) needs none.

use std::fmt;
use std::ops::Deref;
use std::sync::{Arc, OnceLock};

use super::PassListing;
use crate::bytecode::chunk::Chunk;
use crate::bytecode::disasm::{self, ListingRow};
use crate::compile::optimize::{Pass, history};
use crate::engine::files::FileText;

/// One function's code and what is derived from it on demand.
pub(super) struct FunctionCode {
    optimized: Chunk,
    unoptimized: Option<Chunk>,
    passes: Vec<Pass>,
    file: Arc<FileText>,
    optimized_rows: OnceLock<Vec<ListingRow>>,
    unoptimized_rows: OnceLock<Vec<ListingRow>>,
    history: OnceLock<History>,
}

/// What the optimizer's replay of one function gives.
struct History {
    unoptimized_map: Vec<Option<u32>>,
    mapped: bool,
    passes: Vec<PassListing>,
}

impl FunctionCode {
    /// The code of `optimized` and `unoptimized` (nested functions by name only).
    pub(super) fn new(
        optimized: &Chunk,
        unoptimized: Option<&Chunk>,
        passes: &[Pass],
        file: Arc<FileText>,
    ) -> Arc<Self> {
        Arc::new(FunctionCode {
            optimized: shallow(optimized),
            unoptimized: unoptimized.map(shallow),
            passes: passes.to_vec(),
            file,
            optimized_rows: OnceLock::new(),
            unoptimized_rows: OnceLock::new(),
            history: OnceLock::new(),
        })
    }

    /// Instructions of the optimized code.
    pub(super) fn optimized_len(&self) -> usize {
        self.optimized.code.len()
    }

    /// Instructions of the unoptimized code.
    pub(super) fn unoptimized_len(&self) -> usize {
        self.unoptimized.as_ref().map_or(0, |c| c.code.len())
    }

    /// 1-based source line of optimized instruction `pc` (0 when out of range), as its listing
    /// row gives it.
    pub(super) fn line_of(&self, pc: usize) -> u32 {
        match self.optimized.spans.get(pc) {
            Some(span) => self.file.map.line_index(span.start) as u32 + 1,
            None => 0,
        }
    }

    fn optimized_rows(&self) -> &Vec<ListingRow> {
        self.optimized_rows.get_or_init(|| disasm::rows(&self.optimized, &self.file.source, &self.file.map))
    }

    fn unoptimized_rows(&self) -> &Vec<ListingRow> {
        self.unoptimized_rows.get_or_init(|| {
            self.unoptimized.as_ref().map(|c| disasm::rows(c, &self.file.source, &self.file.map)).unwrap_or_default()
        })
    }

    fn history(&self) -> &History {
        self.history.get_or_init(|| {
            let Some(unoptimized) = &self.unoptimized else {
                return History { unoptimized_map: Vec::new(), mapped: false, passes: Vec::new() };
            };
            // Passes rewrite each function on its own, so replaying one function (its nested
            // functions empty) gives the stages the whole program's replay gives it.
            let replayed = history::replay(unoptimized, &self.optimized, &self.passes);
            let Some(h) = replayed.first() else {
                return History { unoptimized_map: Vec::new(), mapped: false, passes: Vec::new() };
            };
            let (src, map) = (&self.file.source, &self.file.map);
            History {
                unoptimized_map: h.final_pc_of_unoptimized(),
                mapped: h.matches_build,
                passes: h
                    .stages
                    .iter()
                    .filter_map(|stage| {
                        Some(PassListing {
                            pass: stage.pass?.name(),
                            rows: disasm::rows(&stage.chunk, src, map),
                            origins: stage.origins.clone(),
                        })
                    })
                    .collect(),
            }
        })
    }
}

/// `chunk` without its nested functions' code: each child keeps its name, kind and span (a
/// listing names the function a `MAKE_CLOSURE` makes).
fn shallow(chunk: &Chunk) -> Chunk {
    let Chunk {
        name,
        is_top,
        arity,
        min_arity,
        n_slots,
        code,
        consts,
        spans,
        slot_names,
        cell_slots,
        captures,
        free_names,
        globals,
        children,
        loops,
        span,
        part_spans,
        handlers,
    } = chunk;
    Chunk {
        name: name.clone(),
        is_top: *is_top,
        arity: *arity,
        min_arity: *min_arity,
        n_slots: *n_slots,
        code: code.clone(),
        consts: consts.clone(),
        spans: spans.clone(),
        slot_names: slot_names.clone(),
        cell_slots: cell_slots.clone(),
        captures: captures.clone(),
        free_names: free_names.clone(),
        globals: globals.clone(),
        children: children.iter().map(|c| Chunk::new(c.name.clone(), c.is_top, c.span)).collect(),
        loops: loops.clone(),
        span: *span,
        part_spans: part_spans.clone(),
        handlers: handlers.clone(),
    }
}

/// A part of a function's listings, derived when first read; `len` (the number of
/// instructions it describes) is known without deriving it.
pub struct Lazy<T: 'static> {
    code: Arc<FunctionCode>,
    get: fn(&FunctionCode) -> &T,
    len: usize,
}

impl<T> Lazy<T> {
    /// The number of instructions this part describes (without deriving it).
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when it describes no instruction.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl<T> Deref for Lazy<T> {
    type Target = T;

    fn deref(&self) -> &T {
        (self.get)(&self.code)
    }
}

impl<T> Clone for Lazy<T> {
    fn clone(&self) -> Self {
        Lazy { code: self.code.clone(), get: self.get, len: self.len }
    }
}

impl<T: fmt::Debug> fmt::Debug for Lazy<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).fmt(f)
    }
}

impl<T: serde::Serialize> serde::Serialize for Lazy<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (**self).serialize(s)
    }
}

/// The lazily derived parts of one function's [`FunctionInfo`](super::FunctionInfo).
pub(super) struct Parts {
    pub(super) optimized: Lazy<Vec<ListingRow>>,
    pub(super) unoptimized: Lazy<Vec<ListingRow>>,
    pub(super) unoptimized_map: Lazy<Vec<Option<u32>>>,
    pub(super) mapped: Lazy<bool>,
    pub(super) passes: Lazy<Vec<PassListing>>,
}

impl Parts {
    pub(super) fn of(code: &Arc<FunctionCode>) -> Parts {
        let (o, u) = (code.optimized_len(), code.unoptimized_len());
        let lazy = |get, len| Lazy { code: code.clone(), get, len };
        Parts {
            optimized: lazy(FunctionCode::optimized_rows, o),
            unoptimized: lazy(FunctionCode::unoptimized_rows, u),
            unoptimized_map: Lazy { code: code.clone(), get: |c| &c.history().unoptimized_map, len: u },
            mapped: Lazy { code: code.clone(), get: |c| &c.history().mapped, len: o },
            passes: Lazy { code: code.clone(), get: |c| &c.history().passes, len: code.passes.len() },
        }
    }
}

impl super::FunctionInfo {
    /// 1-based source line of optimized instruction `pc` (0 when out of range), without
    /// making the listing.
    pub fn line_of(&self, pc: u32) -> u32 {
        self.optimized.code.line_of(pc as usize)
    }
}

impl<'a, T> IntoIterator for &'a Lazy<Vec<T>> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        (**self).iter()
    }
}
