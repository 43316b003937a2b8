//! Code objects as the compiler produces them (position-independent, serializable, cacheable)
//! and the side tables that travel with them.

use serde::{Deserialize, Serialize};

use super::handlers::Handler;
use super::op::Op;
use crate::syntax::span::Span;

/// A constant-pool entry. Equality is by value for integers and strings and by bit pattern
/// for floats, so a NaN constant equals itself (a chunk equals its round trip through the
/// cache) and `0.0` and `-0.0` stay two constants.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Const {
    /// An integer.
    Int(i64),
    /// A float (serialized as its bit pattern, so infinities and NaN round-trip).
    Float(#[serde(with = "float_bits")] f64),
    /// A string.
    Str(String),
}

impl PartialEq for Const {
    fn eq(&self, other: &Const) -> bool {
        match (self, other) {
            (Const::Int(a), Const::Int(b)) => a == b,
            (Const::Float(a), Const::Float(b)) => a.to_bits() == b.to_bits(),
            (Const::Str(a), Const::Str(b)) => a == b,
            _ => false,
        }
    }
}

/// Serde helpers storing an `f64` as its IEEE-754 bits.
mod float_bits {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(x.to_bits())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        u64::deserialize(d).map(f64::from_bits)
    }
}

/// Bounded decoding of nested chunks: serde decodes `children` recursively, so bytes that
/// claim a deeper tree than the parser can produce are rejected before they exhaust the stack.
mod nesting {
    use std::cell::Cell;

    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer};

    use super::Chunk;
    use crate::syntax::limits::MAX_NESTING;

    thread_local! {
        /// Chunks being decoded on this thread, outermost first.
        static DEPTH: Cell<usize> = const { Cell::new(0) };
    }

    /// One level of decoding; leaving it (also by an error) pops the level.
    struct Level;

    impl Drop for Level {
        fn drop(&mut self) {
            DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
        }
    }

    pub fn children<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Chunk>, D::Error> {
        let depth = DEPTH.with(|c| {
            c.set(c.get().saturating_add(1));
            c.get()
        });
        let _level = Level;
        if depth > MAX_NESTING {
            return Err(D::Error::custom("functions nested too deeply"));
        }
        Vec::<Chunk>::deserialize(d)
    }
}

/// Where a closure's captured variable comes from, in the frame that creates the closure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Capture {
    /// The cell in the creating frame's slot.
    Cell(u16),
    /// The creating closure's own captured variable.
    Free(u16),
}

/// A loop of the chunk: its header (where `LoopBack` jumps to) and its exit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LoopInfo {
    /// First instruction of the loop (the condition).
    pub header: u32,
    /// The `LoopBack` instruction closing the loop.
    pub back_edge: u32,
    /// First instruction after the loop.
    pub exit: u32,
}

/// One compiled function (or the top-level code).
///
/// Operand conventions: `LoadGlobal`/`StoreGlobal` indices point into `globals` (a
/// chunk-local table of names; the linker maps them to program slots), `MakeClosure` indices
/// point into `children`, and in the top-level chunk the frame slots *are* the globals, named
/// by `slot_names`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chunk {
    /// Function name (`None` for anonymous functions and the top level).
    pub name: Option<String>,
    /// True for the top-level chunk.
    pub is_top: bool,
    /// Number of parameters.
    pub arity: u16,
    /// Number of parameters without a default (DIALECT.md §5): a call passes at least
    /// `min_arity` and at most `arity` arguments.
    pub min_arity: u16,
    /// Frame slots (parameters first, then locals and hidden loop slots).
    pub n_slots: u32,
    /// The instructions.
    pub code: Vec<Op>,
    /// The constant pool.
    pub consts: Vec<Const>,
    /// Line table: the source span of every instruction (`spans.len() == code.len()`).
    pub spans: Vec<Span>,
    /// Names of the frame slots (hidden slots start with `%`).
    pub slot_names: Vec<String>,
    /// Slots that hold cells because nested functions capture them.
    pub cell_slots: Vec<u16>,
    /// How a closure of this chunk captures its free variables from the creating frame.
    pub captures: Vec<Capture>,
    /// Names of the captured variables, in capture order.
    pub free_names: Vec<String>,
    /// Global names used by `LoadGlobal`/`StoreGlobal` in this chunk.
    pub globals: Vec<String>,
    /// Nested functions created by `MakeClosure`.
    #[serde(deserialize_with = "nesting::children")]
    pub children: Vec<Chunk>,
    /// The loops, indexed by `LoopBack::loop_id`.
    pub loops: Vec<LoopInfo>,
    /// Span of the whole function (or program).
    pub span: Span,
    /// For superinstructions: the spans of the instructions they replaced, in order, so an
    /// error in any part points exactly where the unfused code would have pointed.
    pub part_spans: Vec<(u32, Vec<Span>)>,
    /// The exception table (see [`super::handlers`]), innermost entries first.
    pub handlers: Vec<Handler>,
}

impl Chunk {
    /// An empty chunk.
    pub fn new(name: Option<String>, is_top: bool, span: Span) -> Chunk {
        Chunk {
            name,
            is_top,
            arity: 0,
            min_arity: 0,
            n_slots: 0,
            code: Vec::new(),
            consts: Vec::new(),
            spans: Vec::new(),
            slot_names: Vec::new(),
            cell_slots: Vec::new(),
            captures: Vec::new(),
            free_names: Vec::new(),
            globals: Vec::new(),
            children: Vec::new(),
            loops: Vec::new(),
            span,
            part_spans: Vec::new(),
            handlers: Vec::new(),
        }
    }

    /// Name for listings and tracebacks.
    pub fn display_name(&self) -> &str {
        match (&self.name, self.is_top) {
            (_, true) => "<main>",
            (Some(n), false) => n,
            (None, false) => "<anonymous>",
        }
    }

    /// This chunk and every nested chunk in pre-order (parents first, children in order): the
    /// order the linker numbers functions in, so index `i` is proto `i`.
    pub fn preorder(&self) -> Vec<&Chunk> {
        fn walk<'a>(chunk: &'a Chunk, out: &mut Vec<&'a Chunk>) {
            out.push(chunk);
            for child in &chunk.children {
                walk(child, out);
            }
        }
        let mut out = Vec::new();
        walk(self, &mut out);
        out
    }

    /// Total instructions in this chunk and all nested chunks.
    pub fn total_len(&self) -> usize {
        self.code.len() + self.children.iter().map(Chunk::total_len).sum::<usize>()
    }
}
