//! Blockchain primitives (BLOCKCHAIN.md): the STATE store with its transaction overlays, the
//! canonical form hashed by HASH, and the deep copies that give STATE value semantics.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::rc::Rc;

use indexmap::IndexMap;
use sha2::{Digest, Sha256};

use super::contract::ContractWorld;
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
    /// Contract storage, instances and the event log (CONTRACTS.md §6.3): every overlay has
    /// one journal frame there, opened, merged and discarded with it.
    pub contracts: ContractWorld,
    /// Refuse writes that a `--state` file could not hold (NaN, infinities) at the write.
    json_only: bool,
}

fn chain_error(kind: ErrorKind, msg: impl Into<String>) -> VmError {
    VmError::new(kind, msg)
}

impl Ledger {
    /// A ledger whose committed state is `entries`.
    pub fn with_committed(entries: BTreeMap<String, Data>) -> Ledger {
        Ledger { committed: entries, overlays: Vec::new(), contracts: ContractWorld::default(), json_only: false }
    }

    /// A ledger that will be saved to a `--state` file: [`Ledger::store`] refuses a value JSON
    /// cannot hold at the write, not after the whole run.
    pub fn for_state_file(entries: BTreeMap<String, Data>) -> Ledger {
        Ledger { committed: entries, overlays: Vec::new(), contracts: ContractWorld::default(), json_only: true }
    }

    /// [`Ledger::set`] for a program's STATE write: with a state file, a value holding NaN or
    /// an infinity is a runtime error here (BLOCKCHAIN.md: saving it would fail).
    pub fn store(&mut self, key: String, value: Data) -> Result<(), VmError> {
        if self.json_only {
            data_to_json(&value, &format!("STATE[{key:?}]"))
                .map_err(|why| chain_error(ErrorKind::State, format!("cannot save STATE to the state file: {why}")))?;
        }
        self.set(key, value);
        Ok(())
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

    /// The writes of each open transaction, outermost first: key, the value it shadows (what
    /// the transactions below it and the committed state hold; `None` if unset) and the
    /// pending value (for the debugger's old → new).
    pub fn overlay_writes(&self) -> Vec<Vec<(&str, Option<&Data>, &Data)>> {
        let below = |depth: usize, key: &str| {
            self.overlays[..depth].iter().rev().find_map(|o| o.get(key)).or_else(|| self.committed.get(key))
        };
        let overlays = self.overlays.iter().enumerate();
        overlays.map(|(i, o)| o.iter().map(|(k, new)| (k.as_str(), below(i, k), new)).collect()).collect()
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
        self.contracts.begin();
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
        self.contracts.commit();
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
        self.contracts.revert();
        if self.contracts.record_discards {
            self.note_state_discards(&top);
        }
        Ok(top.into_keys().collect())
    }

    /// Records the STATE writes of the discarded overlay `top` (old is the value below it).
    fn note_state_discards(&mut self, top: &BTreeMap<String, Data>) {
        let writes = top
            .iter()
            .take(super::contract::MAX_DISCARDED)
            .map(|(key, d)| super::contract::DiscardedWrite {
                key: {
                    let mut k = String::from("STATE[");
                    crate::text::repr_str(key, &mut k);
                    k.push(']');
                    k
                },
                old: self.get(key).map_or(Value::Null, from_data),
                new: from_data(d),
            })
            .collect();
        self.contracts.note_discarded(writes);
    }

    /// Discards every open transaction (after an error, or at program end); returns how many.
    pub fn revert_all(&mut self) -> usize {
        let n = self.overlays.len();
        for _ in 0..n {
            self.contracts.revert();
            if let Some(top) = self.overlays.pop()
                && self.contracts.record_discards
            {
                self.note_state_discards(&top);
            }
        }
        n
    }
}

/// Deepest nesting of lists and maps a STATE value may have: a list of scalars is 1 level.
///
/// One limit for the three places STATE data passes: a STATE write refuses a deeper value,
/// the saver never writes one and the loader rejects a file holding one. It stays below
/// serde_json's recursion limit (128, counting the file's top-level object), so everything
/// that is saved loads again.
pub const MAX_STATE_DEPTH: usize = 100;

/// Deep-copies a program value into STATE data (for HASH and messages: values may nest up to
/// `MAX_VALUE_DEPTH` levels).
pub fn to_data(v: &Value) -> Result<Data, VmError> {
    DataCopier { open: Vec::new(), for_state: false }.copy(v)
}

/// Deep-copies a program value for a STATE write: it may nest at most [`MAX_STATE_DEPTH`]
/// levels, so that the file it is saved to can be read back.
pub fn to_state_data(v: &Value) -> Result<Data, VmError> {
    DataCopier { open: Vec::new(), for_state: true }.copy(v)
}

/// The walk of [`to_data`]: the containers on the current path tell a cycle (a container
/// inside itself) from a value that is merely deep.
struct DataCopier {
    open: Vec<*const ()>,
    /// True for a STATE write ([`MAX_STATE_DEPTH`]), false otherwise ([`MAX_VALUE_DEPTH`]).
    for_state: bool,
}

impl DataCopier {
    fn enter(&mut self, ptr: *const ()) -> Result<(), VmError> {
        if self.open.contains(&ptr) {
            return Err(cyclic());
        }
        if self.for_state && self.open.len() >= MAX_STATE_DEPTH {
            return Err(chain_error(
                ErrorKind::State,
                format!(
                    "STATE value nested too deeply: lists and maps in STATE may nest at most {MAX_STATE_DEPTH} levels"
                ),
            ));
        }
        if self.open.len() >= MAX_VALUE_DEPTH {
            return Err(chain_error(
                ErrorKind::CyclicValue,
                format!("value nested too deeply: lists and maps may nest at most {MAX_VALUE_DEPTH} levels here"),
            ));
        }
        self.open.push(ptr);
        Ok(())
    }

    fn copy(&mut self, v: &Value) -> Result<Data, VmError> {
        Ok(match v {
            Value::Undef | Value::Null => Data::Null,
            Value::Bool(b) => Data::Bool(*b),
            Value::Int(i) => Data::Int(*i),
            Value::Float(f) => Data::Float(*f),
            Value::Str(s) => Data::Str(s.to_string()),
            Value::List(l) => {
                self.enter(Rc::as_ptr(l) as *const ())?;
                let items = l.try_borrow().map_err(|_| cyclic())?;
                let out = items.iter().map(|x| self.copy(x)).collect::<Result<_, _>>()?;
                self.open.pop();
                Data::List(out)
            }
            Value::Map(m) => {
                self.enter(Rc::as_ptr(m) as *const ())?;
                let entries = m.try_borrow().map_err(|_| cyclic())?;
                let mut out = IndexMap::with_capacity(entries.len());
                for (k, x) in entries.iter() {
                    out.insert(k.to_string(), self.copy(x)?);
                }
                self.open.pop();
                Data::Map(out)
            }
            Value::Func(_) | Value::Builtin(_) | Value::Cell(_) => {
                return Err(chain_error(ErrorKind::State, "cannot store a function in STATE"));
            }
            Value::Obj(_) => {
                let what = match v.type_name() {
                    "type" => "a type",
                    "entity" => "an entity",
                    _ => "a contract",
                };
                return Err(chain_error(ErrorKind::State, format!("cannot store {what} in STATE")));
            }
            Value::Module(_) => return Err(chain_error(ErrorKind::State, "cannot store a module in STATE")),
        })
    }
}

fn cyclic() -> VmError {
    chain_error(ErrorKind::CyclicValue, "cyclic value: cannot store a list or map that contains itself in STATE")
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
    data_from_json_at(v, 0)
}

fn too_deep_in_file() -> String {
    format!("a value is nested more than {MAX_STATE_DEPTH} levels deep (the STATE nesting limit)")
}

fn data_from_json_at(v: &serde_json::Value, depth: usize) -> Result<Data, String> {
    let container = matches!(v, serde_json::Value::Array(_) | serde_json::Value::Object(_));
    if container && depth >= MAX_STATE_DEPTH {
        return Err(too_deep_in_file());
    }
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
        serde_json::Value::Array(items) => {
            Data::List(items.iter().map(|x| data_from_json_at(x, depth + 1)).collect::<Result<_, _>>()?)
        }
        serde_json::Value::Object(entries) => {
            let mut out = IndexMap::with_capacity(entries.len());
            for (k, v) in entries {
                out.insert(k.clone(), data_from_json_at(v, depth + 1)?);
            }
            Data::Map(out)
        }
    })
}

/// Converts STATE data to JSON; floats always keep a fraction or exponent so they reload as
/// floats. NaN and infinities have no JSON form: an error names the path to the value.
/// Data nested deeper than [`MAX_STATE_DEPTH`] is refused, so a saved file always loads.
pub fn data_to_json(d: &Data, path: &str) -> Result<serde_json::Value, String> {
    data_to_json_at(d, path, 0)
}

fn data_to_json_at(d: &Data, path: &str, depth: usize) -> Result<serde_json::Value, String> {
    if matches!(d, Data::List(_) | Data::Map(_)) && depth >= MAX_STATE_DEPTH {
        return Err(format!("{path} is nested more than {MAX_STATE_DEPTH} levels deep (the STATE nesting limit)"));
    }
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
                .map(|(i, x)| data_to_json_at(x, &format!("{path}[{i}]"), depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        Data::Map(entries) => {
            let mut out = serde_json::Map::with_capacity(entries.len());
            for (k, v) in entries {
                out.insert(k.clone(), data_to_json_at(v, &format!("{path}[{k:?}]"), depth + 1)?);
            }
            serde_json::Value::Object(out)
        }
    })
}

/// Parses a `--state` file: a JSON object of committed entries. A key given twice in one
/// object is an error (JSON parsers disagree on which one wins).
pub fn state_from_json_text(text: &str) -> Result<BTreeMap<String, Data>, String> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
    let serde_json::Value::Object(entries) = value else {
        return Err("the top level must be a JSON object of STATE entries".to_string());
    };
    serde_json::from_str::<NoDuplicateEntries>(text).map_err(|e| e.to_string())?;
    let mut out = BTreeMap::new();
    for (k, v) in &entries {
        out.insert(k.clone(), data_from_json(v).map_err(|e| format!("entry {k:?}: {e}"))?);
    }
    Ok(out)
}

/// A `--state` document walked only to find a key given twice in one object; the error names
/// the entry it is in.
struct NoDuplicateEntries;

impl<'de> serde::Deserialize<'de> for NoDuplicateEntries {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NoDuplicateEntries)
    }
}

impl<'de> serde::de::Visitor<'de> for NoDuplicateEntries {
    type Value = NoDuplicateEntries;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self, A::Error> {
        use serde::de::Error as _;
        let mut seen = std::collections::HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                return Err(A::Error::custom(format!("duplicate entry {key:?}")));
            }
            map.next_value::<NoDuplicateKeys>().map_err(|e| A::Error::custom(format!("entry {key:?}: {e}")))?;
        }
        Ok(self)
    }
}

/// A JSON value walked only to find a key given twice in one object.
struct NoDuplicateKeys;

impl<'de> serde::Deserialize<'de> for NoDuplicateKeys {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NoDuplicateKeys)
    }
}

impl<'de> serde::de::Visitor<'de> for NoDuplicateKeys {
    type Value = NoDuplicateKeys;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self, E> {
        Ok(self)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self, E> {
        Ok(self)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self, E> {
        Ok(self)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self, E> {
        Ok(self)
    }
    fn visit_str<E>(self, _: &str) -> Result<Self, E> {
        Ok(self)
    }
    fn visit_unit<E>(self) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self, A::Error> {
        while seq.next_element::<NoDuplicateKeys>()?.is_some() {}
        Ok(self)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self, A::Error> {
        let mut seen = std::collections::HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                return Err(serde::de::Error::custom(format!("duplicate key {key:?}")));
            }
            map.next_value::<NoDuplicateKeys>()?;
        }
        Ok(self)
    }
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
