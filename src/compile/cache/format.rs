//! The on-disk form of one cached unit: a small binary envelope (magic, format version, key,
//! payload length, checksum) around a postcard (compact serde binary) payload. Decoding never
//! trusts the bytes: anything foreign, truncated, of another version, or damaged is an error
//! value, never a panic. Chunk trees are stored flat (each chunk names its parent), so decoding
//! never recurses, and nesting deeper than the parser allows is rejected.
//!
//! Layout (integers little-endian):
//!
//! | offset | size | field                                             |
//! |--------|------|---------------------------------------------------|
//! | 0      | 8    | magic `ZXBCACHE`                                  |
//! | 8      | 4    | format version ([`FORMAT_VERSION`])               |
//! | 12     | 16   | unit key                                          |
//! | 28     | 8    | payload length                                    |
//! | 36     | 16   | SipHash-1-3 128 of the payload                    |
//! | 52     | n    | payload: the unit, chunk trees flattened          |

use siphasher::sip128::{Hasher128, SipHasher13};
use std::hash::Hasher;

use super::{CachedUnit, UnitKey, UnitKind, UnitPassFigures};
use crate::bytecode::chunk::Chunk;
use crate::syntax::parser::MAX_NESTING;

/// First bytes of every cache file.
pub const MAGIC: &[u8; 8] = b"ZXBCACHE";

/// Version of the file layout and payload schema (4: chunks carry an exception table and
/// the number of required parameters).
pub const FORMAT_VERSION: u32 = 5;

const HEADER_LEN: usize = 52;

/// Why a cache file was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// Not a cache file at all.
    #[error("not a zexus-tui cache file")]
    Foreign,
    /// A cache file of another format version.
    #[error("cache format version {0}, expected {FORMAT_VERSION}")]
    WrongVersion(u32),
    /// Shorter than its header says.
    #[error("truncated cache file")]
    Truncated,
    /// Longer than its header says.
    #[error("trailing bytes after the cache entry")]
    Trailing,
    /// The payload does not match its checksum.
    #[error("checksum mismatch")]
    Checksum,
    /// The file holds another key's entry.
    #[error("entry for another key")]
    KeyMismatch,
    /// The payload is not a valid entry.
    #[error("malformed entry: {0}")]
    Payload(String),
}

fn checksum(payload: &[u8]) -> [u8; 16] {
    let mut h = SipHasher13::new_with_keys(0x5a58_4243_4143_4845, FORMAT_VERSION as u64);
    h.write(payload);
    h.finish128().as_bytes()
}

/// One chunk of a flattened tree (pre-order): the chunk without its children, and the index
/// of its parent (`u32::MAX` for the root).
#[derive(serde::Serialize, serde::Deserialize)]
struct FlatChunk {
    parent: u32,
    chunk: Chunk,
}

/// The payload: a [`CachedUnit`] with its two chunk trees flattened.
#[derive(serde::Serialize, serde::Deserialize)]
struct Payload {
    kind: UnitKind,
    n_spans: u32,
    constraints: Vec<(u32, u32)>,
    optimized: Vec<FlatChunk>,
    unoptimized: Vec<FlatChunk>,
    pass_figures: Vec<UnitPassFigures>,
    compile_micros: u64,
}

/// A copy of `chunk` without its children.
fn without_children(chunk: &Chunk) -> Chunk {
    let mut out = Chunk::new(chunk.name.clone(), chunk.is_top, chunk.span);
    out.arity = chunk.arity;
    out.min_arity = chunk.min_arity;
    out.n_slots = chunk.n_slots;
    out.code = chunk.code.clone();
    out.consts = chunk.consts.clone();
    out.spans = chunk.spans.clone();
    out.slot_names = chunk.slot_names.clone();
    out.cell_slots = chunk.cell_slots.clone();
    out.captures = chunk.captures.clone();
    out.free_names = chunk.free_names.clone();
    out.globals = chunk.globals.clone();
    out.loops = chunk.loops.clone();
    out.part_spans = chunk.part_spans.clone();
    out.handlers = chunk.handlers.clone();
    out
}

fn flatten(root: &Chunk) -> Vec<FlatChunk> {
    let mut out = Vec::new();
    let mut work = vec![(root, u32::MAX)];
    while let Some((chunk, parent)) = work.pop() {
        let me = out.len() as u32;
        out.push(FlatChunk { parent, chunk: without_children(chunk) });
        work.extend(chunk.children.iter().rev().map(|c| (c, me)));
    }
    out
}

fn unflatten(flat: Vec<FlatChunk>) -> Result<Chunk, FormatError> {
    let bad = |why: &str| FormatError::Payload(why.to_string());
    let mut depth = Vec::with_capacity(flat.len());
    let mut parents = Vec::with_capacity(flat.len());
    let mut chunks: Vec<Option<Chunk>> = Vec::with_capacity(flat.len());
    for (i, f) in flat.into_iter().enumerate() {
        let d = if i == 0 {
            if f.parent != u32::MAX {
                return Err(bad("the first chunk is not the root"));
            }
            0
        } else {
            let p = f.parent as usize;
            if p >= i {
                return Err(bad("a chunk's parent does not precede it"));
            }
            depth.get(p).copied().unwrap_or(usize::MAX).saturating_add(1)
        };
        if d > MAX_NESTING {
            return Err(bad("functions nested too deeply"));
        }
        if !f.chunk.children.is_empty() {
            return Err(bad("a flattened chunk has children"));
        }
        depth.push(d);
        parents.push(f.parent as usize);
        chunks.push(Some(f.chunk));
    }
    // Every chunk's descendants follow it, so moving chunks into their parents from the back
    // completes each chunk before it moves; children arrive last first.
    for i in (1..chunks.len()).rev() {
        let child = chunks.get_mut(i).and_then(Option::take).ok_or_else(|| bad("missing chunk"))?;
        let parent = parents.get(i).copied().ok_or_else(|| bad("missing parent"))?;
        let slot = chunks.get_mut(parent).and_then(Option::as_mut).ok_or_else(|| bad("missing parent"))?;
        slot.children.push(child);
    }
    let mut root = chunks.into_iter().next().flatten().ok_or_else(|| bad("no chunks"))?;
    let mut work = vec![&mut root];
    while let Some(chunk) = work.pop() {
        chunk.children.reverse();
        work.extend(chunk.children.iter_mut());
    }
    Ok(root)
}

/// Encodes `unit` stored under `key`.
pub fn encode(key: UnitKey, unit: &CachedUnit) -> Vec<u8> {
    let payload = Payload {
        kind: unit.kind,
        n_spans: unit.n_spans,
        constraints: unit.constraints.clone(),
        optimized: flatten(&unit.optimized),
        unoptimized: flatten(&unit.unoptimized),
        pass_figures: unit.pass_figures.clone(),
        compile_micros: unit.compile_micros,
    };
    let payload = postcard::to_stdvec(&payload).unwrap_or_default();
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&key.0.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&checksum(&payload));
    out.extend_from_slice(&payload);
    out
}

fn field<const N: usize>(bytes: &[u8], at: usize) -> Result<[u8; N], FormatError> {
    bytes.get(at..at + N).and_then(|s| s.try_into().ok()).ok_or(FormatError::Truncated)
}

/// Decodes a cache file expected to hold the entry for `key`.
pub fn decode(key: UnitKey, bytes: &[u8]) -> Result<CachedUnit, FormatError> {
    let magic: [u8; 8] = field(bytes, 0).map_err(|_| FormatError::Foreign)?;
    if &magic != MAGIC {
        return Err(FormatError::Foreign);
    }
    let version = u32::from_le_bytes(field(bytes, 8)?);
    if version != FORMAT_VERSION {
        return Err(FormatError::WrongVersion(version));
    }
    let stored_key = u128::from_le_bytes(field(bytes, 12)?);
    let len = u64::from_le_bytes(field(bytes, 28)?);
    let sum: [u8; 16] = field(bytes, 36)?;
    let payload = bytes.get(HEADER_LEN..).ok_or(FormatError::Truncated)?;
    let len = usize::try_from(len).map_err(|_| FormatError::Truncated)?;
    if payload.len() < len {
        return Err(FormatError::Truncated);
    }
    if payload.len() > len {
        return Err(FormatError::Trailing);
    }
    if checksum(payload) != sum {
        return Err(FormatError::Checksum);
    }
    if stored_key != key.0 {
        return Err(FormatError::KeyMismatch);
    }
    let p: Payload = postcard::from_bytes(payload).map_err(|e| FormatError::Payload(e.to_string()))?;
    Ok(CachedUnit {
        kind: p.kind,
        n_spans: p.n_spans,
        constraints: p.constraints,
        optimized: unflatten(p.optimized)?,
        unoptimized: unflatten(p.unoptimized)?,
        pass_figures: p.pass_figures,
        compile_micros: p.compile_micros,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bytecode::chunk::{Chunk, Const};
    use crate::bytecode::op::Op;
    use crate::compile::cache::UnitKind;
    use crate::syntax::span::Span;

    fn sample() -> CachedUnit {
        let mut chunk = Chunk::new(None, true, Span { start: 0, end: 0 });
        chunk.code = vec![Op::Const { idx: 0 }, Op::Pop, Op::Halt];
        chunk.spans = vec![Span { start: 1, end: 1 }; 3];
        chunk.consts = vec![Const::Float(f64::INFINITY), Const::Str("x".into())];
        CachedUnit {
            kind: UnitKind::Top,
            n_spans: 2,
            constraints: vec![(0, 1)],
            optimized: chunk.clone(),
            unoptimized: chunk,
            pass_figures: Vec::new(),
            compile_micros: 12,
        }
    }

    #[test]
    fn nested_trees_round_trip_in_order() {
        let mut unit = sample();
        let leaf = |name: &str| Chunk::new(Some(name.to_string()), false, Span::default());
        let mut a = leaf("a");
        a.children = vec![leaf("a1"), leaf("a2")];
        unit.optimized.children = vec![a, leaf("b"), leaf("c")];
        let key = UnitKey(3);
        assert_eq!(decode(key, &encode(key, &unit)), Ok(unit));
    }

    #[test]
    fn nesting_deeper_than_the_parser_allows_is_rejected() {
        let mut unit = sample();
        let mut chain = Chunk::new(None, false, Span::default());
        for _ in 0..MAX_NESTING + 1 {
            let mut parent = Chunk::new(None, false, Span::default());
            parent.children.push(chain);
            chain = parent;
        }
        unit.optimized.children.push(chain);
        let key = UnitKey(4);
        assert_eq!(
            decode(key, &encode(key, &unit)),
            Err(FormatError::Payload("functions nested too deeply".to_string()))
        );
    }

    #[test]
    fn round_trips_including_non_finite_floats() {
        let key = UnitKey(0xfeed);
        let bytes = encode(key, &sample());
        assert_eq!(decode(key, &bytes), Ok(sample()));
    }

    #[test]
    fn rejects_damage_of_every_kind() {
        let key = UnitKey(7);
        let bytes = encode(key, &sample());
        assert_eq!(decode(key, b"garbage"), Err(FormatError::Foreign));
        assert_eq!(decode(key, &[]), Err(FormatError::Foreign));
        assert_eq!(decode(key, &bytes[..bytes.len() - 3]), Err(FormatError::Truncated));
        assert_eq!(decode(key, &bytes[..20]), Err(FormatError::Truncated));
        let mut wrong_version = bytes.clone();
        wrong_version[8] = 99;
        assert_eq!(decode(key, &wrong_version), Err(FormatError::WrongVersion(99)));
        let mut flipped = bytes.clone();
        let last = flipped.len() - 2;
        flipped[last] ^= 0x20;
        assert_eq!(decode(key, &flipped), Err(FormatError::Checksum));
        assert_eq!(decode(UnitKey(8), &bytes), Err(FormatError::KeyMismatch));
        let mut longer = bytes.clone();
        longer.push(b'x');
        assert_eq!(decode(key, &longer), Err(FormatError::Trailing));
    }

    #[test]
    fn a_valid_envelope_with_a_bad_payload_is_an_error() {
        let key = UnitKey(1);
        let payload = b"\x00\x05garbage";
        let mut bytes = Vec::new();
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        bytes.extend_from_slice(&key.0.to_le_bytes());
        bytes.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        bytes.extend_from_slice(&checksum(payload));
        bytes.extend_from_slice(payload);
        assert!(matches!(decode(key, &bytes), Err(FormatError::Payload(_))));
    }
}
