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

/// Which higher-order builtin a [`HofCall`] runs (DIALECT.md §11).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HofKind {
    /// `map(list, f)`
    Map,
    /// `filter(list, f)`
    Filter,
    /// `reduce(list, f)` / `reduce(list, f, init)`
    Reduce,
}

impl HofKind {
    /// The builtin's name.
    pub fn name(self) -> &'static str {
        match self {
            HofKind::Map => "map",
            HofKind::Filter => "filter",
            HofKind::Reduce => "reduce",
        }
    }

    /// The kind of builtin or list method `name`.
    pub fn of(name: &str) -> Option<HofKind> {
        match name {
            "map" => Some(HofKind::Map),
            "filter" => Some(HofKind::Filter),
            "reduce" => Some(HofKind::Reduce),
            _ => None,
        }
    }
}

/// A running `map`/`filter`/`reduce`: the VM calls the callback once per element and feeds
/// each result back with [`HofCall::step`]. A user-function callback runs in an ordinary frame
/// (so gas, stepping, tracebacks and the JIT see it as any call); the state waits in the VM's
/// stack of pending higher-order calls meanwhile.
#[derive(Debug)]
pub struct HofCall {
    kind: HofKind,
    list: super::value::ListRef,
    /// The callback.
    pub f: Value,
    /// Next element to visit.
    pos: usize,
    /// `reduce`'s accumulator.
    acc: Value,
    /// The element whose callback is running (`filter` keeps it when the result is truthy).
    current: Value,
    out: Vec<Value>,
    /// Frame position of the call (where the result goes).
    pub at: u32,
    /// Call depth of the frame that made the call.
    pub depth: usize,
}

/// What the VM does next for a [`HofCall`].
pub enum HofStep {
    /// Call the callback with these arguments and feed the result back.
    Call(Vec<Value>),
    /// The call is complete with this result.
    Done(Value),
}

impl HofCall {
    /// Checks the arguments of `kind(args)` (`recv` first for the list methods) and sets up
    /// the call: the first argument must be a list (`type error`), the callback a function
    /// (`not callable`), and `reduce` of an empty list needs an initial value (`empty list`).
    pub fn start(kind: HofKind, args: &[Value], at: u32, depth: usize) -> Result<HofCall, VmError> {
        let name = kind.name();
        let (min, max) = if kind == HofKind::Reduce { (2, 3) } else { (2, 2) };
        if args.len() < min || args.len() > max {
            let expected = if min == max { format!("{min}") } else { format!("{min} to {max}") };
            return Err(VmError::new(
                ErrorKind::WrongArgumentCount,
                format!("wrong number of arguments: {name}() takes {expected}, got {}", args.len()),
            ));
        }
        let list = match &args[0] {
            Value::List(l) => l.clone(),
            other => return Err(type_err(format!("type error: {name}() expects a list, got {}", other.type_name()))),
        };
        let f = args[1].clone();
        if !matches!(f, Value::Func(_) | Value::Builtin(_)) {
            return Err(VmError::new(
                ErrorKind::NotCallable,
                format!("not callable: the callback of {name}() is {}, not a function", f.type_name()),
            ));
        }
        let mut call =
            HofCall { kind, list, f, pos: 0, acc: Value::Null, current: Value::Null, out: Vec::new(), at, depth };
        if kind == HofKind::Reduce {
            match args.get(2) {
                Some(init) => call.acc = init.clone(),
                None => {
                    let first = call.list.borrow().first().cloned();
                    match first {
                        Some(v) => {
                            call.acc = v;
                            call.pos = 1;
                        }
                        None => {
                            return Err(type_err_kind(
                                ErrorKind::EmptyList,
                                "empty list: reduce() of an empty list with no initial value",
                            ));
                        }
                    }
                }
            }
        }
        Ok(call)
    }

    /// Feeds the callback's result for the previous element (`None` at the start) and says
    /// what comes next. Elements are read one at a time, so the length is re-read each step.
    pub fn step(&mut self, returned: Option<Value>) -> HofStep {
        if let Some(res) = returned {
            match self.kind {
                HofKind::Map => self.out.push(res),
                HofKind::Filter => {
                    if res.truthy() {
                        self.out.push(std::mem::take(&mut self.current));
                    }
                }
                HofKind::Reduce => self.acc = res,
            }
        }
        let next = self.list.borrow().get(self.pos).cloned();
        let Some(item) = next else {
            return HofStep::Done(match self.kind {
                HofKind::Reduce => std::mem::take(&mut self.acc),
                _ => Value::list(std::mem::take(&mut self.out)),
            });
        };
        self.pos += 1;
        match self.kind {
            HofKind::Map => HofStep::Call(vec![item]),
            HofKind::Filter => {
                self.current = item.clone();
                HofStep::Call(vec![item])
            }
            HofKind::Reduce => HofStep::Call(vec![std::mem::take(&mut self.acc), item]),
        }
    }
}

fn type_err_kind(kind: ErrorKind, msg: &str) -> VmError {
    VmError::new(kind, msg)
}

// ---- the builtins of DIALECT.md §11 --------------------------------------------------------

fn arity(name: &str, args: &[Value], min: usize, max: usize) -> Result<(), VmError> {
    if args.len() < min || args.len() > max {
        let expected = match (min, max) {
            _ if min == max => format!("{min}"),
            (_, usize::MAX) => format!("at least {min}"),
            _ => format!("{min} to {max}"),
        };
        return Err(VmError::new(
            ErrorKind::WrongArgumentCount,
            format!("wrong number of arguments: {name}() takes {expected}, got {}", args.len()),
        ));
    }
    Ok(())
}

/// `string(x)`: the display form, exactly `str(x)`.
pub fn b_string(args: &[Value], max_alloc: usize) -> Result<Value, VmError> {
    arity("string", args, 1, 1)?;
    let mut out = String::new();
    value::display_into_capped(&args[0], &mut out, max_alloc)?;
    Ok(Value::Str(Rc::new(out)))
}

fn first_or_last(name: &str, args: &[Value], last: bool) -> Result<Value, VmError> {
    arity(name, args, 1, 1)?;
    match &args[0] {
        Value::List(l) => {
            let items = l.borrow();
            let item = if last { items.last() } else { items.first() };
            Ok(item.cloned().unwrap_or(Value::Null))
        }
        other => Err(type_err(format!("type error: {name}() expects a list, got {}", other.type_name()))),
    }
}

/// `first(list)`
pub fn b_first(args: &[Value], _: usize) -> Result<Value, VmError> {
    first_or_last("first", args, false)
}

/// `last(list)`
pub fn b_last(args: &[Value], _: usize) -> Result<Value, VmError> {
    first_or_last("last", args, true)
}

/// The smallest (`want` = `Less`) or largest (`Greater`) of the arguments, or of the elements
/// of a single list argument; ties keep the first.
fn extreme(name: &str, args: &[Value], want: std::cmp::Ordering) -> Result<Value, VmError> {
    arity(name, args, 1, usize::MAX)?;
    let mut items: Vec<Value> = match args {
        [Value::List(l)] => {
            let items = l.borrow().clone();
            if items.is_empty() {
                return Err(VmError::new(ErrorKind::EmptyList, format!("empty list: {name}() of an empty list")));
            }
            items
        }
        [other] => {
            return Err(type_err(format!(
                "type error: {name}() of one argument expects a list, got {}",
                other.type_name()
            )));
        }
        _ => args.to_vec(),
    };
    let numbers = items.iter().all(|v| matches!(v, Value::Int(_)) || matches!(v, Value::Float(f) if !f.is_nan()));
    let strings = items.iter().all(|v| matches!(v, Value::Str(_)));
    if !numbers && !strings {
        return Err(type_err(format!("type error: {name}() needs all numbers or all strings")));
    }
    let mut best = 0;
    for i in 1..items.len() {
        if value::compare(&items[i], &items[best])? == Some(want) {
            best = i;
        }
    }
    Ok(items.swap_remove(best))
}

/// `min(...)`
pub fn b_min(args: &[Value], _: usize) -> Result<Value, VmError> {
    extreme("min", args, std::cmp::Ordering::Less)
}

/// `max(...)`
pub fn b_max(args: &[Value], _: usize) -> Result<Value, VmError> {
    extreme("max", args, std::cmp::Ordering::Greater)
}

/// `pow(a, b)`: exactly `a ** b`.
pub fn b_pow(args: &[Value], _: usize) -> Result<Value, VmError> {
    arity("pow", args, 2, 2)?;
    value::pow(&args[0], &args[1])
}

/// `map`, `filter`, `reduce` reached without the VM's callback machinery: only builtin
/// callbacks can run here (the interpreter intercepts every call of these builtins itself).
pub fn b_higher_order(kind: HofKind, args: &[Value], max_alloc: usize) -> Result<Value, VmError> {
    let mut call = HofCall::start(kind, args, 0, 0)?;
    let mut returned = None;
    loop {
        match call.step(returned.take()) {
            HofStep::Done(v) => return Ok(v),
            HofStep::Call(args) => match &call.f {
                Value::Builtin(id) => returned = Some(super::builtins::call_builtin(*id, &args, max_alloc)?),
                _ => {
                    return Err(VmError::new(
                        ErrorKind::NotCallable,
                        format!("not callable: {}() cannot call a function from here", kind.name()),
                    ));
                }
            },
        }
    }
}

/// `map(list, f)` outside the interpreter's interception (builtin callbacks only).
pub fn b_map(args: &[Value], max_alloc: usize) -> Result<Value, VmError> {
    b_higher_order(HofKind::Map, args, max_alloc)
}

/// `filter(list, f)` (see [`b_map`]).
pub fn b_filter(args: &[Value], max_alloc: usize) -> Result<Value, VmError> {
    b_higher_order(HofKind::Filter, args, max_alloc)
}

/// `reduce(list, f[, init])` (see [`b_map`]).
pub fn b_reduce(args: &[Value], max_alloc: usize) -> Result<Value, VmError> {
    b_higher_order(HofKind::Reduce, args, max_alloc)
}
