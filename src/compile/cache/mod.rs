//! The bytecode cache's data model: unit keys, cached units in position-independent form, and
//! the conversions between absolute spans and span indices. The LRU lives in `lru`, the
//! on-disk encoding in `format`; the engine owns the policy (and the clock, and the disk).
//!
//! A cached chunk names each of its spans by index into the unit's span list (see
//! `syntax::ast_hash`): `Span { start: i, end: i }` stands for `spans[i]`. Several walk
//! positions may hold the same span in the source the unit was compiled from (a statement and
//! the expression it consists of, say); the cached form then names the first of them, and the
//! entry records that the others must still be equal to it for the entry to apply
//! ([`CachedUnit::constraints`]). So a hit gives exactly the spans a fresh compile would give.

pub mod format;
pub mod lru;

use std::collections::HashMap;

use super::optimize::{Pass, PassStats};
use crate::bytecode::chunk::Chunk;
use crate::syntax::span::Span;

/// Bumped whenever lowering or an optimizer pass changes what it emits, so that cached code
/// from an older compiler is never used.
pub const COMPILER_REVISION: u32 = 1;

/// The 128-bit key of one unit: the hash of its position-free AST, the compiler version and
/// the optimizer settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UnitKey(pub u128);

impl std::fmt::Display for UnitKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

/// The salt mixed into every unit hash: compiler version and revision, and the passes in order.
pub fn key_salt(passes: &[Pass]) -> Vec<u8> {
    let mut salt = format!("zexus-tui {} rev {COMPILER_REVISION};passes=", env!("CARGO_PKG_VERSION"));
    for pass in passes {
        salt.push_str(pass.name());
        salt.push(',');
    }
    salt.into_bytes()
}

/// Whether a unit is the top level or a top-level function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum UnitKind {
    /// The top level (its `MakeClosure` operands index the program's function units).
    Top,
    /// A top-level function with the functions nested inside it.
    Function,
}

/// The figures of the optimizer passes on one unit (in the order of the passes in the key).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UnitPassFigures {
    /// Instructions removed.
    pub removed: u64,
    /// Constant expressions folded.
    pub folded: u64,
    /// Jumps threaded.
    pub jumps_threaded: u64,
    /// Superinstructions formed.
    pub fused: u64,
    /// Constant branches resolved.
    pub branches_resolved: u64,
}

impl UnitPassFigures {
    /// The figures of one [`PassStats`].
    pub fn from_stats(stats: &PassStats) -> UnitPassFigures {
        UnitPassFigures {
            removed: stats.removed as u64,
            folded: stats.folded as u64,
            jumps_threaded: stats.jumps_threaded as u64,
            fused: stats.fused as u64,
            branches_resolved: stats.branches_resolved as u64,
        }
    }

    /// Adds these figures to `stats`.
    pub fn add_to(&self, stats: &mut PassStats) {
        let size = |x: u64| usize::try_from(x).unwrap_or(usize::MAX);
        stats.removed = stats.removed.saturating_add(size(self.removed));
        stats.folded = stats.folded.saturating_add(size(self.folded));
        stats.jumps_threaded = stats.jumps_threaded.saturating_add(size(self.jumps_threaded));
        stats.fused = stats.fused.saturating_add(size(self.fused));
        stats.branches_resolved = stats.branches_resolved.saturating_add(size(self.branches_resolved));
    }
}

/// One compiled unit in position-independent form.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CachedUnit {
    /// Top level or function.
    pub kind: UnitKind,
    /// Length of the unit's span list when it was compiled.
    pub n_spans: u32,
    /// Pairs `(i, j)` of span-list positions that held equal spans when the unit was compiled
    /// and were merged into `i`; the entry applies only while `spans[i] == spans[j]`.
    pub constraints: Vec<(u32, u32)>,
    /// The optimized code (spans as indices).
    pub optimized: Chunk,
    /// The code before optimization (spans as indices), for listings.
    pub unoptimized: Chunk,
    /// What each optimizer pass did to this unit.
    pub pass_figures: Vec<UnitPassFigures>,
    /// How long compiling and optimizing this unit took, in microseconds (the time a hit saves).
    pub compile_micros: u64,
}

impl CachedUnit {
    /// Makes the cached form of a freshly compiled unit. Returns `None` if some span of the code
    /// is not in `spans` (the unit is then simply not cached).
    pub fn new(
        kind: UnitKind,
        spans: &[Span],
        optimized: &Chunk,
        unoptimized: &Chunk,
        pass_figures: Vec<UnitPassFigures>,
        compile_micros: u64,
    ) -> Option<CachedUnit> {
        let mut classes: HashMap<Span, (u32, Vec<u32>), SpanHash> =
            HashMap::with_capacity_and_hasher(spans.len(), SpanHash::default());
        for (i, span) in spans.iter().enumerate() {
            let i = u32::try_from(i).ok()?;
            classes.entry(*span).and_modify(|(_, rest)| rest.push(i)).or_insert((i, Vec::new()));
        }
        let mut used: Vec<u32> = Vec::new();
        let mut to_index = |span: Span| -> Option<Span> {
            let (first, rest) = classes.get(&span)?;
            if !rest.is_empty() {
                used.push(*first);
            }
            Some(Span { start: *first, end: *first })
        };
        let optimized = map_spans(optimized, &mut to_index)?;
        let unoptimized = map_spans(unoptimized, &mut to_index)?;
        used.sort_unstable();
        used.dedup();
        let mut constraints = Vec::new();
        for first in used {
            let Some(span) = spans.get(first as usize) else { continue };
            if let Some((_, rest)) = classes.get(span) {
                constraints.extend(rest.iter().map(|&other| (first, other)));
            }
        }
        Some(CachedUnit {
            kind,
            n_spans: u32::try_from(spans.len()).ok()?,
            constraints,
            optimized,
            unoptimized,
            pass_figures,
            compile_micros,
        })
    }

    /// True if this entry applies to a unit whose span list is `spans` (same length, and the
    /// merged positions still equal).
    pub fn applies_to(&self, spans: &[Span]) -> bool {
        spans.len() == self.n_spans as usize
            && self.constraints.iter().all(|&(a, b)| spans.get(a as usize) == spans.get(b as usize))
    }

    /// The optimized and unoptimized code with the absolute spans of `spans`, or `None` if an
    /// index is out of range (a damaged entry).
    pub fn resolve(&self, spans: &[Span]) -> Option<(Chunk, Chunk)> {
        let mut to_abs = |s: Span| spans.get(s.start as usize).copied();
        Some((map_spans(&self.optimized, &mut to_abs)?, map_spans(&self.unoptimized, &mut to_abs)?))
    }

    /// Approximate heap size in bytes, for the memory cache's byte limit.
    pub fn approx_bytes(&self) -> usize {
        std::mem::size_of::<CachedUnit>()
            + self.constraints.len() * 8
            + self.pass_figures.len() * std::mem::size_of::<UnitPassFigures>()
            + chunk_bytes(&self.optimized)
            + chunk_bytes(&self.unoptimized)
    }
}

/// A copy of `chunk` (and its children) with every span passed through `f`.
/// The hash of a span key: the two offsets as one 64-bit word through the MurmurHash3
/// finalizer (a bijection, so distinct spans never share a full hash). Storing a 100,000-line
/// program's units with the standard SipHash took most of the debugger's open time
/// (issue 13, M8).
type SpanHash = std::hash::BuildHasherDefault<SpanHasher>;

/// See [`SpanHash`].
#[derive(Default)]
struct SpanHasher(u64);

impl std::hash::Hasher for SpanHasher {
    fn finish(&self) -> u64 {
        let mut x = self.0;
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
        x ^= x >> 33;
        x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        x ^ (x >> 33)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u32(&mut self, x: u32) {
        self.0 = (self.0 << 32) | u64::from(x);
    }
}

fn map_spans(chunk: &Chunk, f: &mut impl FnMut(Span) -> Option<Span>) -> Option<Chunk> {
    let mut out = Chunk::new(chunk.name.clone(), chunk.is_top, f(chunk.span)?);
    out.arity = chunk.arity;
    out.min_arity = chunk.min_arity;
    out.n_slots = chunk.n_slots;
    out.code = chunk.code.clone();
    out.consts = chunk.consts.clone();
    out.spans = chunk.spans.iter().map(|s| f(*s)).collect::<Option<Vec<_>>>()?;
    out.slot_names = chunk.slot_names.clone();
    out.cell_slots = chunk.cell_slots.clone();
    out.captures = chunk.captures.clone();
    out.free_names = chunk.free_names.clone();
    out.globals = chunk.globals.clone();
    out.children = chunk.children.iter().map(|c| map_spans(c, f)).collect::<Option<Vec<_>>>()?;
    out.loops = chunk.loops.clone();
    out.part_spans = chunk
        .part_spans
        .iter()
        .map(|(pc, parts)| Some((*pc, parts.iter().map(|s| f(*s)).collect::<Option<Vec<_>>>()?)))
        .collect::<Option<Vec<_>>>()?;
    out.handlers = chunk.handlers.clone();
    Some(out)
}

fn chunk_bytes(chunk: &Chunk) -> usize {
    let strings = |v: &[String]| v.iter().map(|s| s.len() + std::mem::size_of::<String>()).sum::<usize>();
    let consts: usize = chunk
        .consts
        .iter()
        .map(|c| match c {
            crate::bytecode::chunk::Const::Str(s) => 24 + s.len(),
            _ => 24,
        })
        .sum();
    std::mem::size_of::<Chunk>()
        + chunk.name.as_ref().map_or(0, |n| n.len())
        + chunk.code.len() * std::mem::size_of::<crate::bytecode::op::Op>()
        + chunk.spans.len() * std::mem::size_of::<Span>()
        + consts
        + strings(&chunk.slot_names)
        + strings(&chunk.free_names)
        + strings(&chunk.globals)
        + chunk.cell_slots.len() * 2
        + chunk.captures.len() * 4
        + chunk.loops.len() * 12
        + chunk.handlers.len() * std::mem::size_of::<crate::bytecode::handlers::Handler>()
        + chunk.part_spans.iter().map(|(_, p)| 32 + p.len() * 8).sum::<usize>()
        + chunk.children.iter().map(chunk_bytes).sum::<usize>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::lower::{Lowerer, top_level_units};
    use crate::syntax::ast_hash::encode_func;

    fn unit(src: &str) -> (Chunk, Vec<Span>) {
        let (ast, diags) = crate::syntax::parse(src);
        assert!(diags.is_empty());
        let funcs = top_level_units(&ast);
        let func = funcs.first().expect("a function");
        let (chunk, _) = Lowerer::compile_function_unit(func);
        (chunk.expect("compiles"), encode_func(func, b"t").spans)
    }

    #[test]
    fn moved_unit_gets_its_new_spans() {
        let (old, old_spans) = unit("action f(a) { print(a + 1) }");
        let entry = CachedUnit::new(UnitKind::Function, &old_spans, &old, &old, Vec::new(), 5).expect("cacheable");
        let (new, new_spans) = unit("\n\nlet q = 1\naction f(a) {\n    print(a + 1)\n}");
        assert!(entry.applies_to(&new_spans));
        let (resolved, _) = entry.resolve(&new_spans).expect("in range");
        assert_eq!(resolved, new);
        assert_ne!(resolved, old);
    }

    #[test]
    fn merged_spans_that_split_make_the_entry_not_apply() {
        // Without a semicolon the statement and its call share a span; with one they differ.
        let (old, old_spans) = unit("action f() { g() }");
        let entry = CachedUnit::new(UnitKind::Function, &old_spans, &old, &old, Vec::new(), 5).expect("cacheable");
        assert!(!entry.constraints.is_empty());
        let (&(first, other), _) = entry.constraints.split_first().expect("a constraint");
        let mut moved = old_spans.clone();
        moved[other as usize] = Span::new(1000, 1001);
        assert!(!entry.applies_to(&moved));
        assert!(entry.applies_to(&old_spans));
        assert_eq!(old_spans[first as usize], old_spans[other as usize]);
    }
}
