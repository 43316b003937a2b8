//! Builtin functions and methods (LANGUAGE.md §6).

use std::rc::Rc;

use super::builtin_names::NAMES;
pub use super::builtin_names::{builtin_id, builtin_name};
use super::clock;
use super::contract;
use super::dialect;
use super::error::{ErrorKind, VmError};
use super::methods_ext;
use super::value::{Value, compare, display_into_capped, out_of_memory, values_equal};

type BResult = Result<Value, VmError>;
type BuiltinFn = fn(&[Value], usize) -> BResult;

/// The builtin implementations, indexed by the ids of [`super::builtin_names::NAMES`] (same
/// order; the array length makes a missing entry a compile error). The second argument is the
/// allocation cap.
const BUILTINS: [BuiltinFn; NAMES.len()] = [
    b_len,
    b_str,
    b_int,
    b_float,
    b_typeof,
    b_push,
    b_append,
    b_keys,
    b_values,
    b_range,
    b_sort,
    b_slice,
    b_abs,
    b_sqrt,
    // DIALECT.md §11.
    dialect::b_string,
    dialect::b_first,
    dialect::b_last,
    dialect::b_min,
    dialect::b_max,
    dialect::b_pow,
    dialect::b_map,
    dialect::b_filter,
    dialect::b_reduce,
    // CONTRACTS.md.
    contract::b_events,
    contract::b_contract,
    contract::b_entity,
    contract::b_protocol,
    b_is_main_true,
    b_is_main_false,
    clock::b_time,
    clock::b_timestamp,
    b_slice_syntax,
    b_length,
];

fn b_is_main_true(args: &[Value], _: usize) -> BResult {
    arity("is_main", args, 0, 0)?;
    Ok(Value::Bool(true))
}

fn b_is_main_false(args: &[Value], _: usize) -> BResult {
    arity("is_main", args, 0, 0)?;
    Ok(Value::Bool(false))
}

/// The higher-order builtin `id` stands for, if it is one (the interpreter runs these itself,
/// calling the callback in ordinary frames).
pub fn higher_order(id: u8) -> Option<dialect::HofKind> {
    dialect::HofKind::of(builtin_name(id))
}

/// Calls builtin `id` with `args`.
pub fn call_builtin(id: u8, args: &[Value], max_alloc: usize) -> BResult {
    match BUILTINS.get(id as usize) {
        Some(f) => f(args, max_alloc),
        None => Err(VmError::new(ErrorKind::NotCallable, "not callable: unknown builtin")),
    }
}

fn type_error(msg: String) -> VmError {
    VmError::new(ErrorKind::TypeError, format!("type error: {msg}"))
}

fn arity(name: &str, args: &[Value], min: usize, max: usize) -> Result<(), VmError> {
    if args.len() < min || args.len() > max {
        let expected = if min == max { format!("{min}") } else { format!("{min} to {max}") };
        return Err(VmError::new(
            ErrorKind::WrongArgumentCount,
            format!("wrong number of arguments: {name}() takes {expected}, got {}", args.len()),
        ));
    }
    Ok(())
}

fn cannot_convert(what: &Value, to: &str) -> VmError {
    let shown = super::value::repr(what).unwrap_or_else(|_| what.type_name().to_string());
    VmError::new(ErrorKind::CannotConvert, format!("cannot convert {shown} to {to}"))
}

fn b_len(args: &[Value], _: usize) -> BResult {
    length_of("len", args)
}

/// `length(x)`: exactly `len(x)`, under the name the reference also accepts.
fn b_length(args: &[Value], _: usize) -> BResult {
    length_of("length", args)
}

fn length_of(name: &str, args: &[Value]) -> BResult {
    arity(name, args, 1, 1)?;
    Ok(Value::Int(match &args[0] {
        Value::Str(s) => s.chars().count() as i64,
        Value::List(l) => l.borrow().len() as i64,
        Value::Map(m) => m.borrow().len() as i64,
        other => return Err(type_error(format!("{name}() of {}", other.type_name()))),
    }))
}

fn b_str(args: &[Value], max_alloc: usize) -> BResult {
    arity("str", args, 1, 1)?;
    let mut out = String::new();
    display_into_capped(&args[0], &mut out, max_alloc)?;
    Ok(Value::Str(Rc::new(out)))
}

fn parse_int_text(s: &str) -> Option<Result<i64, VmError>> {
    let t = s.trim_matches(|c: char| c.is_ascii_whitespace());
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(t.parse::<i64>().map_err(|_| VmError::new(ErrorKind::IntegerOverflow, "integer overflow")))
}

fn b_int(args: &[Value], _: usize) -> BResult {
    arity("int", args, 1, 1)?;
    match &args[0] {
        Value::Int(i) => Ok(Value::Int(*i)),
        Value::Bool(b) => Ok(Value::Int(*b as i64)),
        Value::Float(f) if f.is_finite() => {
            let t = f.trunc();
            if (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&t) {
                Ok(Value::Int(t as i64))
            } else {
                Err(VmError::new(ErrorKind::IntegerOverflow, "integer overflow"))
            }
        }
        Value::Str(s) => match parse_int_text(s) {
            Some(res) => res.map(Value::Int),
            None => Err(cannot_convert(&args[0], "integer")),
        },
        other => Err(cannot_convert(other, "integer")),
    }
}

fn parse_float_text(s: &str) -> Option<f64> {
    let t = s.trim_matches(|c: char| c.is_ascii_whitespace());
    let body = t.strip_prefix(['+', '-']).unwrap_or(t);
    let (int_part, frac) = match body.split_once('.') {
        Some((a, b)) => (a, Some(b)),
        None => (body, None),
    };
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if !digits(int_part) || frac.is_some_and(|f| !digits(f)) {
        return None;
    }
    t.parse::<f64>().ok()
}

fn b_float(args: &[Value], _: usize) -> BResult {
    arity("float", args, 1, 1)?;
    match &args[0] {
        Value::Int(i) => Ok(Value::Float(*i as f64)),
        Value::Float(f) => Ok(Value::Float(*f)),
        Value::Str(s) => parse_float_text(s).map(Value::Float).ok_or_else(|| cannot_convert(&args[0], "float")),
        other => Err(cannot_convert(other, "float")),
    }
}

fn b_typeof(args: &[Value], _: usize) -> BResult {
    arity("typeof", args, 1, 1)?;
    Ok(Value::str(args[0].type_name()))
}

fn expect_list<'a>(name: &str, v: &'a Value) -> Result<&'a super::value::ListRef, VmError> {
    match v {
        Value::List(l) => Ok(l),
        other => Err(type_error(format!("{name}() expects a list, got {}", other.type_name()))),
    }
}

fn expect_map<'a>(name: &str, v: &'a Value) -> Result<&'a super::value::MapRef, VmError> {
    match v {
        Value::Map(m) => Ok(m),
        other => Err(type_error(format!("{name}() expects a map, got {}", other.type_name()))),
    }
}

fn check_len(len: usize, max_alloc: usize) -> Result<(), VmError> {
    if len.saturating_mul(16) > max_alloc {
        return Err(out_of_memory(len.saturating_mul(16)));
    }
    Ok(())
}

fn b_push(args: &[Value], max_alloc: usize) -> BResult {
    arity("push", args, 2, 2)?;
    let list = expect_list("push", &args[0])?;
    let mut items = list.borrow().clone();
    check_len(items.len() + 1, max_alloc)?;
    items.push(args[1].clone());
    Ok(Value::list(items))
}

fn b_append(args: &[Value], max_alloc: usize) -> BResult {
    arity("append", args, 2, 2)?;
    let list = expect_list("append", &args[0])?;
    let len = list.borrow().len();
    check_len(len + 1, max_alloc)?;
    list.borrow_mut().push(args[1].clone());
    Ok(args[0].clone())
}

fn b_keys(args: &[Value], _: usize) -> BResult {
    arity("keys", args, 1, 1)?;
    let map = expect_map("keys", &args[0])?;
    Ok(map_keys(map))
}

fn map_keys(map: &super::value::MapRef) -> Value {
    Value::list(map.borrow().keys().map(|k| Value::Str(k.clone())).collect())
}

fn map_values(map: &super::value::MapRef) -> Value {
    Value::list(map.borrow().values().cloned().collect())
}

fn b_values(args: &[Value], _: usize) -> BResult {
    arity("values", args, 1, 1)?;
    let map = expect_map("values", &args[0])?;
    Ok(map_values(map))
}

fn int_arg(name: &str, v: &Value) -> Result<i64, VmError> {
    match v {
        Value::Int(i) => Ok(*i),
        other => Err(type_error(format!("{name}() expects an integer, got {}", other.type_name()))),
    }
}

fn b_range(args: &[Value], max_alloc: usize) -> BResult {
    arity("range", args, 1, 3)?;
    let (start, stop, step) = match args.len() {
        1 => (0, int_arg("range", &args[0])?, 1),
        2 => (int_arg("range", &args[0])?, int_arg("range", &args[1])?, 1),
        _ => (int_arg("range", &args[0])?, int_arg("range", &args[1])?, int_arg("range", &args[2])?),
    };
    if step == 0 {
        return Err(type_error("range step must not be zero".to_string()));
    }
    let count: i128 = if step > 0 {
        ((stop as i128 - start as i128) + step as i128 - 1).div_euclid(step as i128)
    } else {
        ((start as i128 - stop as i128) + (-(step as i128)) - 1).div_euclid(-(step as i128))
    };
    let count = count.max(0) as usize;
    check_len(count, max_alloc)?;
    let mut items = Vec::with_capacity(count);
    let mut x = start as i128;
    for _ in 0..count {
        items.push(Value::Int(x as i64));
        x += step as i128;
    }
    Ok(Value::list(items))
}

fn b_sort(args: &[Value], _: usize) -> BResult {
    arity("sort", args, 1, 1)?;
    let list = expect_list("sort", &args[0])?;
    let mut items = list.borrow().clone();
    let all_numbers = items.iter().all(|v| matches!(v, Value::Int(_)) || matches!(v, Value::Float(f) if !f.is_nan()));
    let all_strings = items.iter().all(|v| matches!(v, Value::Str(_)));
    if !all_numbers && !all_strings {
        return Err(type_error("sort() needs a list of numbers or a list of strings".to_string()));
    }
    items.sort_by(|a, b| compare(a, b).ok().flatten().unwrap_or(std::cmp::Ordering::Equal));
    Ok(Value::list(items))
}

fn clamp_index(i: i64, len: usize) -> usize {
    let len = len as i64;
    let i = if i < 0 { i.saturating_add(len) } else { i };
    i.clamp(0, len) as usize
}

fn b_slice(args: &[Value], _: usize) -> BResult {
    arity("slice", args, 2, 3)?;
    let list = expect_list("slice", &args[0])?;
    let items = list.borrow();
    let start = clamp_index(int_arg("slice", &args[1])?, items.len());
    let end = match args.get(2) {
        Some(v) => clamp_index(int_arg("slice", v)?, items.len()),
        None => items.len(),
    };
    Ok(Value::list(if start >= end { Vec::new() } else { items[start..end].to_vec() }))
}

/// `x[a:b]` (the parser's `%slice(x, a, b)`): the elements, or for a string the characters,
/// from `a` up to before `b`; a `null` bound is the start (resp. the end), negative bounds count
/// from the end, and bounds are clamped, as for `slice`.
fn b_slice_syntax(args: &[Value], _: usize) -> BResult {
    arity("%slice", args, 3, 3)?;
    let bound = |v: &Value, len: usize, default: usize| match v {
        Value::Null => Ok(default),
        Value::Int(i) => Ok(clamp_index(*i, len)),
        other => Err(type_error(format!("slice bounds must be integers, got {}", other.type_name()))),
    };
    let range = |len: usize| -> Result<std::ops::Range<usize>, VmError> {
        let (start, end) = (bound(&args[1], len, 0)?, bound(&args[2], len, len)?);
        Ok(if start >= end { 0..0 } else { start..end })
    };
    match &args[0] {
        Value::List(l) => {
            let items = l.borrow();
            let r = range(items.len())?;
            Ok(Value::list(items[r].to_vec()))
        }
        Value::Str(s) => {
            let r = range(s.chars().count())?;
            Ok(Value::Str(Rc::new(s.chars().skip(r.start).take(r.len()).collect())))
        }
        other => Err(type_error(format!("cannot slice {}", other.type_name()))),
    }
}

fn b_abs(args: &[Value], _: usize) -> BResult {
    arity("abs", args, 1, 1)?;
    match &args[0] {
        Value::Int(i) => {
            i.checked_abs().map(Value::Int).ok_or_else(|| VmError::new(ErrorKind::IntegerOverflow, "integer overflow"))
        }
        Value::Float(f) => Ok(Value::Float(f.abs())),
        other => Err(type_error(format!("abs() of {}", other.type_name()))),
    }
}

fn b_sqrt(args: &[Value], _: usize) -> BResult {
    arity("sqrt", args, 1, 1)?;
    match &args[0] {
        Value::Int(i) => Ok(Value::Float((*i as f64).sqrt())),
        Value::Float(f) => Ok(Value::Float(f.sqrt())),
        other => Err(type_error(format!("sqrt() of {}", other.type_name()))),
    }
}

/// What a method call turned into.
pub enum MethodOutcome {
    /// The method ran and produced a value.
    Value(Value),
    /// `map.name(args)` where `map["name"]` holds a function: the VM must call it.
    CallValue(Value),
}

fn method_arity(recv: &Value, name: &str, args: &[Value], n: usize) -> Result<(), VmError> {
    if args.len() != n {
        return Err(VmError::new(
            ErrorKind::WrongArgumentCount,
            format!("wrong number of arguments: {}.{name}() takes {n}, got {}", recv.type_name(), args.len()),
        ));
    }
    Ok(())
}

fn str_arg<'a>(recv: &Value, name: &str, v: &'a Value) -> Result<&'a str, VmError> {
    match v {
        Value::Str(s) => Ok(s),
        other => Err(type_error(format!("{}.{name}() expects a string, got {}", recv.type_name(), other.type_name()))),
    }
}

/// Calls method `name` on `recv`.
pub fn call_method(recv: &Value, name: &str, args: &[Value], max_alloc: usize) -> Result<MethodOutcome, VmError> {
    use MethodOutcome::Value as V;
    match recv {
        Value::Str(s) => match name {
            "upper" => {
                method_arity(recv, name, args, 0)?;
                Ok(V(Value::Str(Rc::new(s.to_uppercase()))))
            }
            "lower" => {
                method_arity(recv, name, args, 0)?;
                Ok(V(Value::Str(Rc::new(s.to_lowercase()))))
            }
            "trim" => {
                method_arity(recv, name, args, 0)?;
                Ok(V(Value::str(s.trim())))
            }
            "contains" => {
                method_arity(recv, name, args, 1)?;
                Ok(V(Value::Bool(s.contains(str_arg(recv, name, &args[0])?))))
            }
            "replace" => {
                method_arity(recv, name, args, 2)?;
                let old = str_arg(recv, name, &args[0])?;
                let new = str_arg(recv, name, &args[1])?;
                if old.is_empty() {
                    return Ok(V(recv.clone()));
                }
                let count = s.matches(old).count();
                let len = s.len() - count * old.len() + count * new.len();
                if len > max_alloc {
                    return Err(out_of_memory(len));
                }
                Ok(V(Value::Str(Rc::new(s.replace(old, new)))))
            }
            "split" => {
                method_arity(recv, name, args, 1)?;
                let sep = str_arg(recv, name, &args[0])?;
                let parts: Vec<Value> = if sep.is_empty() {
                    s.chars().map(|c| Value::Str(Rc::new(c.to_string()))).collect()
                } else {
                    s.split(sep).map(Value::str).collect()
                };
                Ok(V(Value::list(parts)))
            }
            _ => match methods_ext::string_method(recv, s, name, args) {
                Some(r) => r.map(V),
                None => Err(type_error(format!("string has no method {name}()"))),
            },
        },
        Value::List(l) => match name {
            "push" => {
                method_arity(recv, name, args, 1)?;
                let len = l.borrow().len();
                check_len(len + 1, max_alloc)?;
                l.borrow_mut().push(args[0].clone());
                Ok(V(recv.clone()))
            }
            "pop" => {
                method_arity(recv, name, args, 0)?;
                let popped = l.borrow_mut().pop();
                popped.map(V).ok_or_else(|| {
                    VmError::new(ErrorKind::IndexOutOfRange, "index out of range: pop() on an empty list")
                })
            }
            "contains" => {
                method_arity(recv, name, args, 1)?;
                let items = l.borrow().clone();
                for item in &items {
                    if values_equal(item, &args[0])? {
                        return Ok(V(Value::Bool(true)));
                    }
                }
                Ok(V(Value::Bool(false)))
            }
            "join" => {
                method_arity(recv, name, args, 1)?;
                let sep = str_arg(recv, name, &args[0])?;
                let items = l.borrow().clone();
                let mut out = String::new();
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(sep);
                    }
                    display_into_capped(item, &mut out, max_alloc)?;
                    if out.len() > max_alloc {
                        return Err(out_of_memory(out.len()));
                    }
                }
                Ok(V(Value::Str(Rc::new(out))))
            }
            _ => match methods_ext::list_method(recv, &l.borrow(), name, args, max_alloc) {
                Some(r) => r.map(V),
                None => Err(type_error(format!("list has no method {name}()"))),
            },
        },
        Value::Map(m) => match name {
            "has" => {
                method_arity(recv, name, args, 1)?;
                let key = str_arg(recv, name, &args[0])?;
                Ok(V(Value::Bool(m.borrow().contains_key(&key.to_string()))))
            }
            "get" => {
                if args.len() != 2 {
                    method_arity(recv, name, args, 1)?;
                }
                let key = str_arg(recv, name, &args[0])?;
                let default = args.get(1).cloned().unwrap_or(Value::Null);
                Ok(V(m.borrow().get(&key.to_string()).cloned().unwrap_or(default)))
            }
            "keys" => {
                method_arity(recv, name, args, 0)?;
                Ok(V(map_keys(m)))
            }
            "values" => {
                method_arity(recv, name, args, 0)?;
                Ok(V(map_values(m)))
            }
            _ => {
                let f = m.borrow().get(&name.to_string()).cloned();
                match f {
                    Some(f @ (Value::Func(_) | Value::Builtin(_))) => Ok(MethodOutcome::CallValue(f)),
                    Some(other) => Err(VmError::new(
                        ErrorKind::NotCallable,
                        format!("not callable: map entry \"{name}\" is {}", other.type_name()),
                    )),
                    None => match methods_ext::map_method(recv, m, name, args) {
                        Some(r) => r.map(V),
                        None => Err(VmError::new(
                            ErrorKind::NotCallable,
                            format!("not callable: map has no entry \"{name}\""),
                        )),
                    },
                }
            }
        },
        other => Err(type_error(format!("{} has no method {name}()", other.type_name()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vm::value::repr;

    const CAP: usize = 1 << 20;

    fn call(name: &str, args: &[Value]) -> BResult {
        call_builtin(builtin_id(name).unwrap_or_else(|| panic!("no builtin {name}")), args, CAP)
    }

    fn shown(r: BResult) -> String {
        match r {
            Ok(v) => repr(&v).unwrap_or_default(),
            Err(e) => format!("error {:?}: {}", e.kind, e.message),
        }
    }

    fn ints(xs: &[i64]) -> Value {
        Value::list(xs.iter().map(|&i| Value::Int(i)).collect())
    }

    #[test]
    fn each_id_runs_the_implementation_of_its_name() {
        // Every builtin takes at least one argument, so a call with none names the function
        // that ran: a misordered implementation table fails here.
        for (id, name) in NAMES.iter().enumerate() {
            // CONTRACTS.md's builtins: `events` is run by the interpreter (it reads the event
            // log), the `%` declaration builtins only ever get the parser's arguments.
            if *name == "events" || name.starts_with('%') {
                let err = call_builtin(id as u8, &[], CAP).expect_err("no arguments");
                let kinds = [ErrorKind::NotCallable, ErrorKind::TypeError, ErrorKind::WrongArgumentCount];
                assert!(kinds.contains(&err.kind), "{name}");
                continue;
            }
            if *name == "time" || *name == "timestamp" {
                // The clock takes no arguments: one extra names it, none reads the clock.
                let err = call_builtin(id as u8, &[Value::Null], CAP).expect_err("one argument");
                assert!(err.message.contains(&format!("{name}()")), "id {id} ran: {}", err.message);
                // A session built by another test may have installed the real clock first; the
                // first installation wins, so either reads after 2020 (in either unit).
                super::super::clock::install_wall_clock(|| std::time::Duration::from_millis(1_700_000_000_123));
                let now = call_builtin(id as u8, &[], CAP).ok();
                assert!(matches!(now, Some(Value::Int(t)) if t >= 1_700_000_000), "{name}: {now:?}");
                continue;
            }
            if *name == "is_main" {
                // The one builtin of no arguments (MODULES.md §11): one extra names it.
                let err = call_builtin(id as u8, &[Value::Null], CAP).expect_err("one argument");
                assert!(err.message.contains("is_main()"), "id {id} ran: {}", err.message);
                let answer = call_builtin(id as u8, &[], CAP).ok();
                assert!(
                    matches!(answer, Some(Value::Bool(b)) if b == (id as u8 != super::super::builtin_names::IS_MAIN_IN_MODULE))
                );
                continue;
            }
            let err = call_builtin(id as u8, &[], CAP).expect_err("no arguments");
            assert_eq!(err.kind, ErrorKind::WrongArgumentCount, "{name}");
            assert!(err.message.contains(&format!("{name}()")), "id {id} ({name}) ran: {}", err.message);
        }
        let unknown = call_builtin(NAMES.len() as u8, &[], CAP);
        assert!(matches!(unknown, Err(e) if e.kind == ErrorKind::NotCallable));
    }

    #[test]
    fn len_counts_characters_items_and_entries_and_refuses_numbers() {
        assert_eq!(shown(call("len", &[Value::str("héllo")])), "5");
        assert_eq!(shown(call("len", &[ints(&[1, 2, 3])])), "3");
        assert!(shown(call("len", &[Value::Int(3)])).starts_with("error TypeError"));
        assert!(shown(call("len", &[])).starts_with("error WrongArgumentCount"));
    }

    #[test]
    fn int_and_float_accept_surrounding_ascii_whitespace_only() {
        assert_eq!(shown(call("int", &[Value::str(" -42\n")])), "-42");
        assert_eq!(shown(call("int", &[Value::Float(-2.9)])), "-2");
        assert!(shown(call("int", &[Value::str("4 2")])).starts_with("error CannotConvert"));
        assert!(shown(call("int", &[Value::str("\u{a0}1")])).starts_with("error CannotConvert"));
        assert!(shown(call("int", &[Value::str("99999999999999999999")])).starts_with("error IntegerOverflow"));
        assert_eq!(shown(call("float", &[Value::str(" 1.5 ")])), "1.5");
        assert!(shown(call("float", &[Value::str("1e5")])).starts_with("error CannotConvert"));
        assert!(shown(call("float", &[Value::str(".5")])).starts_with("error CannotConvert"));
    }

    #[test]
    fn range_counts_both_ways_and_respects_the_memory_cap() {
        assert_eq!(shown(call("range", &[Value::Int(3)])), "[0, 1, 2]");
        assert_eq!(shown(call("range", &[Value::Int(5), Value::Int(0), Value::Int(-2)])), "[5, 3, 1]");
        assert_eq!(shown(call("range", &[Value::Int(3), Value::Int(1)])), "[]");
        assert!(shown(call("range", &[Value::Int(0), Value::Int(1), Value::Int(0)])).starts_with("error TypeError"));
        let huge = call_builtin(builtin_id("range").unwrap_or(0), &[Value::Int(i64::MAX)], CAP);
        assert!(matches!(huge, Err(e) if e.kind == ErrorKind::OutOfMemory));
    }

    #[test]
    fn push_copies_and_append_mutates() {
        let xs = ints(&[1]);
        assert_eq!(shown(call("push", &[xs.clone(), Value::Int(2)])), "[1, 2]");
        assert_eq!(shown(Ok(xs.clone())), "[1]", "push leaves its argument alone");
        call("append", &[xs.clone(), Value::Int(3)]).ok();
        assert_eq!(shown(Ok(xs)), "[1, 3]", "append changes the list in place");
    }

    #[test]
    fn sort_slice_abs_and_sqrt() {
        assert_eq!(
            shown(call("sort", &[Value::list(vec![Value::Int(3), Value::Float(1.5), Value::Int(2)])])),
            "[1.5, 2, 3]"
        );
        assert!(
            shown(call("sort", &[Value::list(vec![Value::Int(1), Value::str("a")])])).starts_with("error TypeError")
        );
        assert_eq!(shown(call("slice", &[ints(&[1, 2, 3, 4]), Value::Int(-3), Value::Int(100)])), "[2, 3, 4]");
        assert_eq!(shown(call("slice", &[ints(&[1, 2]), Value::Int(2), Value::Int(1)])), "[]");
        assert!(shown(call("abs", &[Value::Int(i64::MIN)])).starts_with("error IntegerOverflow"));
        assert_eq!(shown(call("sqrt", &[Value::Int(9)])), "3.0");
    }

    #[test]
    fn methods_check_their_arity_and_receiver() {
        let upper = call_method(&Value::str("ab"), "upper", &[], CAP);
        assert!(matches!(upper, Ok(MethodOutcome::Value(v)) if repr(&v).is_ok_and(|s| s == "\"AB\"")));
        let wrong = call_method(&Value::str("ab"), "upper", &[Value::Int(1)], CAP);
        assert!(matches!(wrong, Err(e) if e.kind == ErrorKind::WrongArgumentCount));
        let empty = call_method(&ints(&[]), "pop", &[], CAP);
        assert!(matches!(empty, Err(e) if e.kind == ErrorKind::IndexOutOfRange));
        let none = call_method(&Value::Int(1), "upper", &[], CAP);
        assert!(matches!(none, Err(e) if e.kind == ErrorKind::TypeError));
    }
}
