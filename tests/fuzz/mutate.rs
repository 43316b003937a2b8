//! Mutators: byte-level edits (bit flips, truncation, insertion, interesting integers) and
//! JSON-level edits (fields removed, retyped, renamed, added), each a list of small recipes
//! that proptest generates and shrinks.

use proptest::prelude::*;
use serde_json::Value as Json;

/// One byte-level edit: a kind and two numbers whose meaning depends on the kind.
pub type ByteEdit = (u8, u32, u32);

/// Recipes of byte-level edits.
pub fn byte_edits(max: usize) -> impl Strategy<Value = Vec<ByteEdit>> {
    proptest::collection::vec((0u8..10, any::<u32>(), any::<u32>()), 1..=max)
}

const INTERESTING: [u64; 10] = [0, 1, 0x7f, 0x80, 0xff, 0xffff, 0x7fff_ffff, 0xffff_ffff, 1 << 62, u64::MAX];

/// Applies `edits` to `bytes` (positions are taken modulo the current length).
pub fn apply_bytes(bytes: &mut Vec<u8>, edits: &[ByteEdit]) {
    for &(kind, a, b) in edits {
        let len = bytes.len();
        let at = if len == 0 { 0 } else { a as usize % len };
        match kind {
            0 | 1 if len > 0 => bytes[at] ^= 1 << (b % 8),
            2 if len > 0 => bytes[at] = b as u8,
            3 => bytes.insert(at, b as u8),
            4 if len > 0 => {
                bytes.remove(at);
            }
            5 => bytes.truncate(at),
            6 if len > 0 => {
                let n = (b as usize % 16).min(len - at);
                let piece: Vec<u8> = bytes[at..at + n].to_vec();
                let to = b as usize % (len + 1);
                bytes.splice(to..to, piece);
            }
            7 => {
                // An interesting little-endian integer of 1, 2, 4 or 8 bytes.
                let value = INTERESTING[b as usize % INTERESTING.len()].to_le_bytes();
                let width = [1, 2, 4, 8][(b as usize / 16) % 4];
                for (i, byte) in value.iter().take(width).enumerate() {
                    if let Some(slot) = bytes.get_mut(at + i) {
                        *slot = *byte;
                    }
                }
            }
            8 => {
                // A huge postcard varint (a length field claiming billions of items).
                let varint = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f];
                let n = 1 + b as usize % varint.len();
                bytes.splice(at..(at + 1).min(len), varint[..n].iter().copied());
            }
            _ if len > 0 => bytes[at] = bytes[at].wrapping_add(b as u8 | 1),
            _ => bytes.push(b as u8),
        }
    }
}

/// A random JSON value of bounded size: every JSON type, extreme numbers, odd strings.
pub fn json_value() -> impl Strategy<Value = Json> {
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        any::<i64>().prop_map(Json::from),
        any::<u64>().prop_map(Json::from),
        prop_oneof![
            Just(f64::MAX),
            Just(f64::MIN_POSITIVE),
            Just(5e-324),
            Just(-0.0),
            Just(1e300),
            Just(0.1),
            any::<f64>()
        ]
        .prop_map(|f| serde_json::Number::from_f64(f).map_or(Json::Null, Json::Number)),
        json_string().prop_map(Json::String),
        proptest::sample::select(
            &["red", "dark gray", "#ff0000", "#FFF", "#12345g", "255", "256", "-1", "", " blue "][..]
        )
        .prop_map(|s| Json::String(s.to_string())),
    ];
    leaf.prop_recursive(6, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Json::Array),
            proptest::collection::vec((json_string(), inner), 0..6)
                .prop_map(|entries| Json::Object(entries.into_iter().collect())),
        ]
    })
}

/// Strings for JSON: empty, unicode, control characters, quotes and escapes.
pub fn json_string() -> impl Strategy<Value = String> {
    prop_oneof!["[a-z_]{0,8}", ".{0,12}", Just("\u{0}\u{1f}\"\\\u{2028}\u{10ffff}".to_string()), Just("é".repeat(40)),]
}

/// JSON text for loaders that take text: a value, or damaged or extreme text.
pub fn json_text() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => json_value().prop_map(|v| v.to_string()),
        2 => (json_value(), 1usize..400).prop_map(|(v, depth)| {
            // Deep nesting around a value: past serde_json's recursion limit at times.
            format!("{{\"k\": {}{v}{}}}", "[".repeat(depth), "]".repeat(depth))
        }),
        2 => proptest::sample::select(&[
            "NaN", "Infinity", "-Infinity", "1e400", "-1e400", "18446744073709551616", "-9223372036854775809",
            "9223372036854775808", "-0", "1.7976931348623157e309", "0.0000000000000000000001e-400", "{\"a\": NaN}",
            "{\"a\": 1e999}", "{\"a\": 18446744073709551615}", "{\"a\": -9223372036854775808}", "{\"a\": 1, \"a\": 2}",
            "{\"a\": \"\\ud800\"}", "{\"\": []}", "[]", "\"\"", "null", "", " ", "{", "}", "{\"a\":}",
        ][..]).prop_map(str::to_string),
        1 => (json_value(), byte_edits(4)).prop_map(|(v, edits)| {
            let mut bytes = v.to_string().into_bytes();
            apply_bytes(&mut bytes, &edits);
            String::from_utf8_lossy(&bytes).into_owned()
        }),
    ]
}

/// One edit of a JSON object: a kind, a field choice and a replacement value.
pub type FieldEdit = (u8, u32, Json);

/// Recipes of field edits.
pub fn field_edits() -> impl Strategy<Value = Vec<FieldEdit>> {
    proptest::collection::vec((0u8..5, any::<u32>(), json_value()), 1..4)
}

/// Applies `edits` to the object `obj` whose known field names are `fields`.
pub fn apply_fields(obj: &mut serde_json::Map<String, Json>, fields: &[&str], edits: &[FieldEdit]) {
    for (kind, pick, value) in edits {
        let keys: Vec<String> = obj.keys().cloned().collect();
        let existing = (!keys.is_empty()).then(|| keys[*pick as usize % keys.len()].clone());
        let known = fields[*pick as usize % fields.len()].to_string();
        match kind {
            0 => {
                if let Some(k) = existing {
                    obj.remove(&k);
                }
            }
            1 => {
                obj.insert(existing.unwrap_or(known), value.clone());
            }
            2 => {
                // A typo: the field renamed.
                if let Some(k) = existing {
                    let v = obj.remove(&k).unwrap_or(Json::Null);
                    obj.insert(format!("{k}x"), v);
                }
            }
            3 => {
                obj.insert(known, value.clone());
            }
            _ => {
                obj.insert(known, Json::String(format!("{}", value).chars().take(12).collect()));
            }
        }
    }
}
