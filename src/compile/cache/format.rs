//! The on-disk form of one cached unit: a small binary envelope (magic, format version, key,
//! payload length, checksum) around a JSON payload. Decoding never trusts the bytes: anything
//! foreign, truncated, of another version, or damaged is an error value, never a panic.
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
//! | 52     | n    | payload: [`CachedUnit`] as JSON                   |

use siphasher::sip128::{Hasher128, SipHasher13};
use std::hash::Hasher;

use super::{CachedUnit, UnitKey};

/// First bytes of every cache file.
pub const MAGIC: &[u8; 8] = b"ZXBCACHE";

/// Version of the file layout and payload schema.
pub const FORMAT_VERSION: u32 = 1;

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

/// Encodes `unit` stored under `key`.
pub fn encode(key: UnitKey, unit: &CachedUnit) -> Vec<u8> {
    let payload = serde_json::to_vec(unit).unwrap_or_default();
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
    serde_json::from_slice(payload).map_err(|e| FormatError::Payload(e.to_string()))
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
        let payload = b"{\"kind\":\"Top\"}";
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
