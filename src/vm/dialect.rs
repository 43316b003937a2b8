//! Semantics of the instructions DIALECT.md adds: membership (`in`), the two-variable
//! for-each and the default-parameter check. The dispatch loop's arms call these functions.

use std::rc::Rc;

use super::error::{ErrorKind, VmError};
use super::value::{self, Value};

fn type_err(msg: String) -> VmError {
    VmError::new(ErrorKind::TypeError, msg)
}

/// `needle in haystack` (DIALECT.md §7.2): a key of a map (the needle must be a string), an
/// element `==` of a list, a substring of a string (the needle must be a string).
pub fn contains(needle: &Value, haystack: &Value) -> Result<bool, VmError> {
    match (haystack, needle) {
        (Value::Map(m), Value::Str(k)) => Ok(m.borrow().contains_key(&**k)),
        (Value::Map(_), other) => {
            Err(type_err(format!("type error: 'in' a map needs a string key, got {}", other.type_name())))
        }
        (Value::List(l), _) => {
            let items = l.borrow();
            for item in items.iter() {
                if value::values_equal(item, needle)? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        (Value::Str(s), Value::Str(sub)) => Ok(s.contains(&***sub)),
        (Value::Str(_), other) => {
            Err(type_err(format!("type error: 'in' a string needs a string, got {}", other.type_name())))
        }
        (other, _) => Err(type_err(format!("type error: cannot test membership in {}", other.type_name()))),
    }
}

/// The sequence a two-variable for-each walks: the list itself, the characters of a string,
/// a snapshot of a map's keys.
pub fn iteration_seq(v: &Value) -> Result<Value, VmError> {
    match v {
        Value::List(_) => Ok(v.clone()),
        Value::Str(s) => Ok(Value::list(s.chars().map(|c| Value::Str(Rc::new(c.to_string()))).collect())),
        Value::Map(m) => Ok(Value::list(m.borrow().keys().map(|k| Value::Str(k.clone())).collect())),
        other => Err(type_err(format!("type error: cannot iterate over {}", other.type_name()))),
    }
}

/// One step of a two-variable for-each at position `pos` of `seq` (from `iteration_seq` of
/// `source`): the index and element of a list or string, or the key and its current value
/// of a map (`null` if the key has gone). `None` when the loop is done.
pub fn step2(seq: &Value, pos: usize, source: &Value) -> Option<(Value, Value)> {
    let Value::List(l) = seq else { return None };
    let item = l.borrow().get(pos).cloned()?;
    match source {
        Value::Map(m) => {
            let v = match &item {
                Value::Str(k) => m.borrow().get(&**k).cloned().unwrap_or(Value::Null),
                _ => Value::Null,
            };
            Some((item, v))
        }
        _ => Some((Value::Int(pos as i64), item)),
    }
}

/// True when a parameter slot holds an argument (directly, or inside its cell).
pub fn is_bound(slot: &Value) -> bool {
    match slot {
        Value::Undef => false,
        Value::Cell(c) => !matches!(*c.borrow(), Value::Undef),
        _ => true,
    }
}
