//! Convenience methods outside LANGUAGE.md §6's table that real Zexus programs call and the
//! reference implements (`xs.is_empty()`, `m.size()`, `s.starts_with(p)` ...). They are tried
//! only after the core methods, so no core method changes; on a map a same-named entry wins
//! (`{"count": f}.count()` still calls `f`). ARCHITECTURE.md, "Language decisions", lists them.

use std::rc::Rc;

use super::builtins::{builtin_id, call_builtin};
use super::error::{ErrorKind, VmError};
use super::value::{MapRef, Value, values_equal};

type Outcome = Option<Result<Value, VmError>>;

fn arity(recv: &Value, name: &str, args: &[Value], min: usize, max: usize) -> Result<(), VmError> {
    if args.len() < min || args.len() > max {
        let expected = if min == max { format!("{min}") } else { format!("{min} to {max}") };
        return Err(VmError::new(
            ErrorKind::WrongArgumentCount,
            format!("wrong number of arguments: {}.{name}() takes {expected}, got {}", recv.type_name(), args.len()),
        ));
    }
    Ok(())
}

fn str_arg<'a>(recv: &Value, name: &str, v: &'a Value) -> Result<&'a str, VmError> {
    match v {
        Value::Str(s) => Ok(s),
        other => Err(VmError::new(
            ErrorKind::TypeError,
            format!("type error: {}.{name}() expects a string, got {}", recv.type_name(), other.type_name()),
        )),
    }
}

/// Runs builtin `name` with the receiver as first argument (`xs.sort()` is `sort(xs)`).
fn as_builtin(name: &str, recv: &Value, args: &[Value], max_alloc: usize) -> Result<Value, VmError> {
    let mut all = Vec::with_capacity(args.len() + 1);
    all.push(recv.clone());
    all.extend_from_slice(args);
    let id = builtin_id(name).ok_or_else(|| VmError::new(ErrorKind::NotCallable, "not callable: unknown builtin"))?;
    call_builtin(id, &all, max_alloc)
}

fn int(n: usize) -> Value {
    Value::Int(n as i64)
}

/// A string method of this module, or `None` when `name` is not one.
pub fn string_method(recv: &Value, s: &str, name: &str, args: &[Value]) -> Outcome {
    let run = || -> Result<Value, VmError> {
        match name {
            "len" | "length" | "size" => {
                arity(recv, name, args, 0, 0)?;
                Ok(int(s.chars().count()))
            }
            "is_empty" => {
                arity(recv, name, args, 0, 0)?;
                Ok(Value::Bool(s.is_empty()))
            }
            "strip" => {
                arity(recv, name, args, 0, 0)?;
                Ok(Value::str(s.trim()))
            }
            "starts_with" | "startsWith" => {
                arity(recv, name, args, 1, 1)?;
                Ok(Value::Bool(s.starts_with(str_arg(recv, name, &args[0])?)))
            }
            "ends_with" | "endsWith" => {
                arity(recv, name, args, 1, 1)?;
                Ok(Value::Bool(s.ends_with(str_arg(recv, name, &args[0])?)))
            }
            // The character index of the first occurrence, or -1.
            _ => {
                arity(recv, name, args, 1, 1)?;
                let sub = str_arg(recv, name, &args[0])?;
                Ok(match s.find(sub) {
                    Some(byte) => int(s[..byte].chars().count()),
                    None => Value::Int(-1),
                })
            }
        }
    };
    matches!(
        name,
        "len"
            | "length"
            | "size"
            | "is_empty"
            | "strip"
            | "starts_with"
            | "startsWith"
            | "ends_with"
            | "endsWith"
            | "index_of"
            | "indexOf"
            | "find"
    )
    .then(run)
}

/// A list method of this module, or `None` when `name` is not one.
pub fn list_method(recv: &Value, items: &[Value], name: &str, args: &[Value], max_alloc: usize) -> Outcome {
    let run = || -> Result<Value, VmError> {
        match name {
            "len" | "length" | "size" => {
                arity(recv, name, args, 0, 0)?;
                Ok(int(items.len()))
            }
            "is_empty" => {
                arity(recv, name, args, 0, 0)?;
                Ok(Value::Bool(items.is_empty()))
            }
            // `count()` is the length; `count(v)` the number of elements equal to `v`.
            "count" => {
                arity(recv, name, args, 0, 1)?;
                let Some(wanted) = args.first() else { return Ok(int(items.len())) };
                let mut n = 0;
                for item in items {
                    if values_equal(item, wanted)? {
                        n += 1;
                    }
                }
                Ok(int(n))
            }
            "index_of" | "indexOf" => {
                arity(recv, name, args, 1, 1)?;
                for (i, item) in items.iter().enumerate() {
                    if values_equal(item, &args[0])? {
                        return Ok(int(i));
                    }
                }
                Ok(Value::Int(-1))
            }
            // A new list; the receiver is unchanged.
            "reverse" => {
                arity(recv, name, args, 0, 0)?;
                Ok(Value::list(items.iter().rev().cloned().collect()))
            }
            // `first`, `last`, `sort`, `slice`: the builtins of the same name.
            _ => as_builtin(name, recv, args, max_alloc),
        }
    };
    matches!(
        name,
        "len"
            | "length"
            | "size"
            | "is_empty"
            | "count"
            | "index_of"
            | "indexOf"
            | "reverse"
            | "first"
            | "last"
            | "sort"
            | "slice"
    )
    .then(run)
}

/// A map method of this module, or `None` when `name` is not one (the caller has already
/// found no entry called `name`).
pub fn map_method(recv: &Value, m: &MapRef, name: &str, args: &[Value]) -> Outcome {
    let run = || -> Result<Value, VmError> {
        match name {
            "len" | "length" | "size" | "count" => {
                arity(recv, name, args, 0, 0)?;
                Ok(int(m.borrow().len()))
            }
            "is_empty" => {
                arity(recv, name, args, 0, 0)?;
                Ok(Value::Bool(m.borrow().is_empty()))
            }
            "contains" => {
                arity(recv, name, args, 1, 1)?;
                let key = str_arg(recv, name, &args[0])?;
                Ok(Value::Bool(m.borrow().contains_key(&key.to_string())))
            }
            // A new list of `[key, value]` pairs in insertion order.
            "entries" => {
                arity(recv, name, args, 0, 0)?;
                let pairs =
                    m.borrow().iter().map(|(k, v)| Value::list(vec![Value::Str(Rc::clone(k)), v.clone()])).collect();
                Ok(Value::list(pairs))
            }
            // Removes the key in place (keeping the others' order); whether it was there.
            _ => {
                arity(recv, name, args, 1, 1)?;
                let key = str_arg(recv, name, &args[0])?;
                Ok(Value::Bool(m.borrow_mut().shift_remove(&key.to_string()).is_some()))
            }
        }
    };
    matches!(name, "len" | "length" | "size" | "count" | "is_empty" | "contains" | "entries" | "delete" | "remove")
        .then(run)
}
