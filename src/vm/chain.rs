//! Blockchain primitives (BLOCKCHAIN.md): the STATE store with its transaction overlays, the
//! canonical form hashed by HASH, and the deep copies that give STATE value semantics.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::rc::Rc;

use indexmap::IndexMap;
use sha2::{Digest, Sha256};

use super::error::{ErrorKind, VmError};
use super::value::{MAX_VALUE_DEPTH, Value};

/// A value stored in STATE: plain data, deep-copied in and out.
#[derive(Debug, Clone, PartialEq)]
pub enum Data {
    /// `null`
    Null,
    /// boolean
    Bool(bool),
    /// integer
    Int(i64),
    /// float
    Float(f64),
    /// string
    Str(String),
    /// list
    List(Vec<Data>),
    /// map (insertion-ordered)
    Map(IndexMap<String, Data>),
}

/// Maximum number of nested open transactions.
pub const MAX_TX_DEPTH: usize = 256;

/// STATE: committed entries plus a stack of open transaction overlays.
#[derive(Debug, Default, Clone)]
pub struct Ledger {
    committed: BTreeMap<String, Data>,
    overlays: Vec<BTreeMap<String, Data>>,
}

fn chain_error(kind: ErrorKind, msg: impl Into<String>) -> VmError {
    VmError::new(kind, msg)
}

impl Ledger {
    /// A ledger whose committed state is `entries`.
    pub fn with_committed(entries: BTreeMap<String, Data>) -> Ledger {
        Ledger { committed: entries, overlays: Vec::new() }
    }

    /// The committed state, sorted by key.
    pub fn committed(&self) -> &BTreeMap<String, Data> {
        &self.committed
    }

    /// Number of open transactions.
    pub fn depth(&self) -> usize {
        self.overlays.len()
    }

    /// Keys written in each open transaction, outermost first (for the debugger).
    pub fn overlay_keys(&self) -> Vec<Vec<String>> {
        self.overlays.iter().map(|o| o.keys().cloned().collect()).collect()
    }

    /// Reads `key` through the overlays, newest first.
    pub fn get(&self, key: &str) -> Option<&Data> {
        self.overlays.iter().rev().find_map(|o| o.get(key)).or_else(|| self.committed.get(key))
    }

    /// Writes `key` into the innermost overlay, or the committed state outside transactions.
    pub fn set(&mut self, key: String, value: Data) {
        match self.overlays.last_mut() {
            Some(top) => top.insert(key, value),
            None => self.committed.insert(key, value),
        };
    }

    /// Opens a transaction.
    pub fn begin(&mut self) -> Result<(), VmError> {
        if self.overlays.len() >= MAX_TX_DEPTH {
            return Err(chain_error(ErrorKind::Transaction, "transaction nesting too deep (limit 256)"));
        }
        self.overlays.push(BTreeMap::new());
        Ok(())
    }

    /// Commits the innermost transaction into the one below (or the committed state);
    /// returns the keys merged.
    pub fn commit(&mut self) -> Result<Vec<String>, VmError> {
        let top = self
            .overlays
            .pop()
            .ok_or_else(|| chain_error(ErrorKind::Transaction, "TX_COMMIT without active transaction"))?;
        let keys = top.keys().cloned().collect();
        let dest = match self.overlays.last_mut() {
            Some(below) => below,
            None => &mut self.committed,
        };
        dest.extend(top);
        Ok(keys)
    }

    /// Discards the innermost transaction; returns the keys discarded.
    pub fn revert(&mut self) -> Result<Vec<String>, VmError> {
        let top = self
            .overlays
            .pop()
            .ok_or_else(|| chain_error(ErrorKind::Transaction, "TX_REVERT without active transaction"))?;
        Ok(top.into_keys().collect())
    }

    /// Discards every open transaction (after an error, or at program end); returns how many.
    pub fn revert_all(&mut self) -> usize {
        let n = self.overlays.len();
        self.overlays.clear();
        n
    }
}

/// Deep-copies a program value into STATE data.
pub fn to_data(v: &Value) -> Result<Data, VmError> {
    to_data_at(v, 0)
}

fn to_data_at(v: &Value, depth: usize) -> Result<Data, VmError> {
    if depth > MAX_VALUE_DEPTH {
        return Err(chain_error(
            ErrorKind::CyclicValue,
            "cyclic value: cannot store a list or map that contains itself in STATE",
        ));
    }
    Ok(match v {
        Value::Undef | Value::Null => Data::Null,
        Value::Bool(b) => Data::Bool(*b),
        Value::Int(i) => Data::Int(*i),
        Value::Float(f) => Data::Float(*f),
        Value::Str(s) => Data::Str(s.to_string()),
        Value::List(l) => {
            let items = l.try_borrow().map_err(|_| cyclic())?;
            Data::List(items.iter().map(|x| to_data_at(x, depth + 1)).collect::<Result<_, _>>()?)
        }
        Value::Map(m) => {
            let entries = m.try_borrow().map_err(|_| cyclic())?;
            let mut out = IndexMap::with_capacity(entries.len());
            for (k, x) in entries.iter() {
                out.insert(k.to_string(), to_data_at(x, depth + 1)?);
            }
            Data::Map(out)
        }
        Value::Func(_) | Value::Builtin(_) | Value::Cell(_) => {
            return Err(chain_error(ErrorKind::State, "cannot store a function in STATE"));
        }
        Value::Module(_) => return Err(chain_error(ErrorKind::State, "cannot store a module in STATE")),
    })
}

fn cyclic() -> VmError {
    chain_error(ErrorKind::CyclicValue, "cyclic value")
}

/// Deep-copies STATE data into a fresh program value.
pub fn from_data(d: &Data) -> Value {
    match d {
        Data::Null => Value::Null,
        Data::Bool(b) => Value::Bool(*b),
        Data::Int(i) => Value::Int(*i),
        Data::Float(f) => Value::Float(*f),
        Data::Str(s) => Value::Str(Rc::new(s.clone())),
        Data::List(items) => Value::list(items.iter().map(from_data).collect()),
        Data::Map(entries) => Value::map(entries.iter().map(|(k, v)| (Rc::new(k.clone()), from_data(v))).collect()),
    }
}

// ---------------------------------------------------------------------------------------------
// JSON form of STATE (for `--state FILE`)
// ---------------------------------------------------------------------------------------------

/// Converts a JSON value to STATE data: integers stay integers, numbers with a fraction or
/// exponent become floats.
pub fn data_from_json(v: &serde_json::Value) -> Result<Data, String> {
    Ok(match v {
        serde_json::Value::Null => Data::Null,
        serde_json::Value::Bool(b) => Data::Bool(*b),
        serde_json::Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Data::Int(i)
            } else if n.is_u64() {
                return Err(format!("integer {n} is out of the 64-bit range"));
            } else {
                Data::Float(n.as_f64().ok_or_else(|| format!("number {n} is not representable"))?)
            }
        }
        serde_json::Value::String(s) => Data::Str(s.clone()),
        serde_json::Value::Array(items) => Data::List(items.iter().map(data_from_json).collect::<Result<_, _>>()?),
        serde_json::Value::Object(entries) => {
            let mut out = IndexMap::with_capacity(entries.len());
            for (k, v) in entries {
                out.insert(k.clone(), data_from_json(v)?);
            }
            Data::Map(out)
        }
    })
}

/// Converts STATE data to JSON; floats always keep a fraction or exponent so they reload as
/// floats. NaN and infinities have no JSON form: an error names the path to the value.
pub fn data_to_json(d: &Data, path: &str) -> Result<serde_json::Value, String> {
    Ok(match d {
        Data::Null => serde_json::Value::Null,
        Data::Bool(b) => serde_json::Value::Bool(*b),
        Data::Int(i) => serde_json::Value::from(*i),
        Data::Float(f) => match serde_json::Number::from_f64(*f) {
            Some(n) => serde_json::Value::Number(n),
            None => return Err(format!("{path} holds {}, which JSON cannot represent", crate::text::float_text(*f))),
        },
        Data::Str(s) => serde_json::Value::String(s.clone()),
        Data::List(items) => serde_json::Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, x)| data_to_json(x, &format!("{path}[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        Data::Map(entries) => {
            let mut out = serde_json::Map::with_capacity(entries.len());
            for (k, v) in entries {
                out.insert(k.clone(), data_to_json(v, &format!("{path}[{k:?}]"))?);
            }
            serde_json::Value::Object(out)
        }
    })
}

/// Parses a `--state` file: a JSON object of committed entries.
pub fn state_from_json_text(text: &str) -> Result<BTreeMap<String, Data>, String> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
    let serde_json::Value::Object(entries) = value else {
        return Err("the top level must be a JSON object of STATE entries".to_string());
    };
    let mut out = BTreeMap::new();
    for (k, v) in &entries {
        out.insert(k.clone(), data_from_json(v).map_err(|e| format!("entry {k:?}: {e}"))?);
    }
    Ok(out)
}

/// Renders committed STATE as the text of a `--state` file (pretty JSON, keys sorted).
pub fn state_to_json_text(state: &BTreeMap<String, Data>) -> Result<String, String> {
    let mut out = serde_json::Map::with_capacity(state.len());
    for (k, v) in state {
        out.insert(k.clone(), data_to_json(v, &format!("STATE[{k:?}]"))?);
    }
    let mut text = serde_json::to_string_pretty(&serde_json::Value::Object(out)).map_err(|e| e.to_string())?;
    text.push('\n');
    Ok(text)
}

// ---------------------------------------------------------------------------------------------
// HASH
// ---------------------------------------------------------------------------------------------

/// `HASH(v)`: SHA-256 of the canonical form of `v` (BLOCKCHAIN.md §5), as lowercase hex.
pub fn hash_value(v: &Value) -> Result<String, VmError> {
    let data = match v {
        Value::Func(_) | Value::Builtin(_) => {
            return Err(chain_error(ErrorKind::TypeError, "type error: cannot hash a function"));
        }
        Value::Module(_) => return Err(chain_error(ErrorKind::TypeError, "type error: cannot hash a module")),
        other => to_data(other).map_err(|e| {
            if e.kind == ErrorKind::State {
                chain_error(ErrorKind::TypeError, "type error: cannot hash a function")
            } else {
                e
            }
        })?,
    };
    let mut canon_text = String::new();
    canon(&data, &mut canon_text);
    let digest = Sha256::digest(canon_text.as_bytes());
    let mut hex = String::with_capacity(64);
    for b in digest.iter() {
        let _ = write!(hex, "{b:02x}");
    }
    Ok(hex)
}

/// The canonical text of a value (top level: strings unquoted).
pub fn canon(d: &Data, out: &mut String) {
    match d {
        Data::Null => out.push_str("null"),
        Data::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Data::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Data::Float(f) => {
            let _ = write!(out, "{f:?}");
        }
        Data::Str(s) => out.push_str(s),
        Data::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canon_json(item, out);
            }
            out.push(']');
        }
        Data::Map(entries) => {
            let mut sorted: Vec<(&String, &Data)> = entries.iter().collect();
            sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push('{');
            for (i, (k, v)) in sorted.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json_str(k, out);
                out.push(':');
                canon_json(v, out);
            }
            out.push('}');
        }
    }
}

fn canon_json(d: &Data, out: &mut String) {
    match d {
        Data::Str(s) => json_str(s, out),
        other => canon(other, out),
    }
}

fn json_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Canonical text of a VERIFY message that is not a string.
pub fn canon_value(v: &Value) -> String {
    let mut out = String::new();
    match to_data(v) {
        Ok(d) => canon(&d, &mut out),
        Err(_) => out.push_str(v.type_name()),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(v: Value) -> String {
        hash_value(&v).unwrap_or_default()
    }

    #[test]
    fn hash_test_vectors() {
        assert_eq!(h(Value::str("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(h(Value::Int(42)), "73475cb40a568e8da8a045ced110137e159f890ac4da883b6b17dc651b3a8049");
        assert_eq!(h(Value::str("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_eq!(h(Value::str("héllo")), "3c48591d8d098a4538f5e013dfcf406e948eac4d3277b10bf614e295d6068179");
        assert_eq!(h(Value::Bool(true)), "b5bea41b6c623f7c09f1bf24dcae58ebab3c0cdd90ad966bc43a45b44867e12b");
        assert_eq!(h(Value::Float(1.5)), "9f29a130438b81170b92a42650f9a94291ecad60bd47af2a3886e75f7f728725");
        let mut m = IndexMap::new();
        m.insert(Rc::new("a".to_string()), Value::Int(1));
        assert_eq!(h(Value::map(m)), "015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862");
        assert_eq!(
            h(Value::list(vec![Value::Int(1), Value::Int(2)])),
            "49a64717d5d4cb19952e6eac2946415cf6879adacf9908e7d872332d32c6e684"
        );
    }

    #[test]
    fn nested_commit_then_outer_revert_discards_both() {
        let mut l = Ledger::default();
        l.set("a".into(), Data::Int(1));
        l.begin().unwrap();
        l.set("b".into(), Data::Int(2));
        l.begin().unwrap();
        l.set("c".into(), Data::Int(3));
        l.commit().unwrap();
        assert_eq!(l.get("c"), Some(&Data::Int(3)));
        l.revert().unwrap();
        assert_eq!(l.get("a"), Some(&Data::Int(1)));
        assert_eq!(l.get("b"), None);
        assert_eq!(l.get("c"), None);
    }
}
