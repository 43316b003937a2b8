//! Runtime values: a 16-byte tagged enum whose layout the JIT relies on, plus the pure
//! operations on values (arithmetic, comparison, equality, display) shared by the VM and the
//! constant folder, so a folded program cannot behave differently from an unfolded one. It also
//! defines the runtime function object (`Proto`, built by `program::link`), because values and
//! function objects contain each other.

use std::cell::{Cell, RefCell};
use std::fmt::Write as _;
use std::rc::Rc;

use indexmap::IndexMap;

use super::error::{ErrorKind, VmError};
use super::regcode::RegCode;
use crate::bytecode::chunk::{Capture, LoopInfo};
use crate::bytecode::op::Op;
use crate::syntax::span::Span;

/// A shared, mutable list.
pub type ListRef = Rc<ListCell>;
/// A shared, mutable, insertion-ordered map with string keys.
pub type MapRef = Rc<MapCell>;

/// The contents of a list: a `RefCell<Vec<Value>>` (it derefs to one, and has its layout)
/// whose drop is iterative, so a list nested a million levels deep is freed without deep
/// recursion and the run thread needs no huge stack for it (issue 13, M9).
#[repr(transparent)]
#[derive(Debug, Default)]
pub struct ListCell(pub RefCell<Vec<Value>>);

/// The contents of a map, dropped iteratively like [`ListCell`].
#[repr(transparent)]
#[derive(Debug, Default)]
pub struct MapCell(pub RefCell<IndexMap<Rc<String>, Value>>);

impl std::ops::Deref for ListCell {
    type Target = RefCell<Vec<Value>>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::Deref for MapCell {
    type Target = RefCell<IndexMap<Rc<String>, Value>>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl Drop for ListCell {
    fn drop(&mut self) {
        drop_shallow(std::mem::take(self.0.get_mut()));
    }
}

impl Drop for MapCell {
    fn drop(&mut self) {
        let entries = std::mem::take(self.0.get_mut());
        drop_shallow(entries.into_values().collect());
    }
}

/// Drops `pending` without recursing into nested containers: a list or map this was the last
/// owner of gives its contents to `pending` before it is freed (empty), so the walk uses a
/// heap worklist instead of the stack.
fn drop_shallow(mut pending: Vec<Value>) {
    while let Some(value) = pending.pop() {
        match value {
            Value::List(list) => {
                if let Ok(cell) = Rc::try_unwrap(list) {
                    let mut cell = cell;
                    pending.append(cell.0.get_mut());
                }
            }
            Value::Map(map) => {
                if let Ok(cell) = Rc::try_unwrap(map) {
                    let mut cell = cell;
                    pending.extend(std::mem::take(cell.0.get_mut()).into_values());
                }
            }
            other => drop(other),
        }
    }
}
/// A captured variable shared between a frame and its closures.
pub type CellRef = Rc<RefCell<Value>>;

/// Run-time counters of one loop.
#[derive(Debug, Default)]
pub struct LoopCounter {
    /// Back-edges taken (iterations after the first).
    pub iterations: Cell<u64>,
    /// Set once the engine has decided this loop's fate (compiled, or refused); the VM then
    /// calls the hook at every back-edge only while `compiled` is set.
    pub decided: Cell<bool>,
    /// True while native code exists for this loop.
    pub compiled: Cell<bool>,
}

/// A function ready to run.
#[derive(Debug)]
pub struct Proto {
    /// Index of this function in [`Program::protos`].
    pub id: u32,
    /// Function name (`None` for anonymous functions and the top level).
    pub name: Option<String>,
    /// True for the top-level code.
    pub is_top: bool,
    /// Number of parameters.
    pub arity: u16,
    /// Number of parameters without a default.
    pub min_arity: u16,
    /// Frame slots, parameters included.
    pub n_slots: u32,
    /// Instructions, with global and function indices resolved to program-wide ones.
    pub code: Vec<Op>,
    /// The same instructions with their operands' frame positions, as the interpreter runs
    /// them (see [`regcode`]).
    pub exec: RegCode,
    /// Constant pool as values.
    pub consts: Vec<Value>,
    /// Absolute source span of every instruction.
    pub spans: Vec<Span>,
    /// Slot names (for errors and the debugger).
    pub slot_names: Vec<String>,
    /// Slots that hold cells.
    pub cell_slots: Vec<u16>,
    /// How closures of this function capture from the creating frame.
    pub captures: Vec<Capture>,
    /// Names of the captured variables.
    pub free_names: Vec<String>,
    /// Loops of this function.
    pub loops: Vec<LoopInfo>,
    /// Per-loop counters, indexed like `loops`.
    pub loop_counters: Vec<LoopCounter>,
    /// Span of the whole function.
    pub span: Span,
    /// Spans of the parts of superinstructions, by pc.
    pub part_spans: std::collections::HashMap<u32, Vec<Span>>,
    /// The exception table (ERRORS.md), innermost entries first.
    pub handlers: Vec<crate::bytecode::handlers::Handler>,
    /// The qualified name of a module's function (`f@D`, `<module D>`; MODULES.md §13.3), which
    /// listings, profiles, traces and tracebacks show; `None` in the main file.
    pub qualified: Option<String>,
}

impl Proto {
    /// Name for listings and tracebacks.
    pub fn display_name(&self) -> &str {
        if let Some(q) = &self.qualified {
            return q;
        }
        match (&self.name, self.is_top) {
            (_, true) => "<main>",
            (Some(n), false) => n,
            (None, false) => "<anonymous>",
        }
    }
}

/// A user function together with the variables it captured.
#[derive(Debug)]
pub struct Closure {
    /// The compiled function.
    pub proto: Rc<Proto>,
    /// Captured variables, in the order of `proto.captures`.
    pub upvalues: Box<[CellRef]>,
    /// The current instance captured when the closure was made (CONTRACTS.md §4.3): the
    /// registry number of a contract instance (`Instance::id`), 0 for none.
    pub this: u32,
    /// True for a bound action (`c.inc` without a call, CONTRACTS.md §4.4): calling it is an
    /// action call on instance `this`.
    pub bound: bool,
}

/// A contract instance (CONTRACTS.md §4): its type, number and storage. Storage is
/// transactional through the ledger's contract journal (`vm/contract.rs`).
pub struct Instance {
    /// The contract type (an [`Obj::Contract`]).
    pub ty: Rc<Obj>,
    /// `k` of the id `C#k`.
    pub number: u32,
    /// The registry number (index + 1 in the ledger's instance list).
    pub id: u32,
    /// One value per state member, in declaration order.
    pub storage: RefCell<Vec<Value>>,
    /// False once the creation was reverted.
    pub alive: Cell<bool>,
    /// The journal frame that last snapshotted this storage (0: none).
    pub snap: Cell<u64>,
}

/// A contract type: state members, actions (closures made at declaration), the member
/// initializer function and the protocols it claims to implement.
pub struct ContractType {
    /// The declared name.
    pub name: String,
    /// State member names, in declaration order.
    pub members: IndexMap<String, ()>,
    /// Actions by name.
    pub actions: IndexMap<String, Rc<Closure>>,
    /// `C.<members>`: sets every member initializer on `this`.
    pub init_members: Rc<Closure>,
    /// The `implements` list: protocol values (or the name, as a string, when unbound).
    pub implements: Vec<Value>,
}

/// An entity type (CONTRACTS.md §9): field names and their constant defaults.
pub struct EntityType {
    /// The declared name.
    pub name: String,
    /// Fields in declaration order with their default: a constant (deep-copied per
    /// construction), or, where `code` is set, a function `E.<f>` evaluated per construction.
    pub fields: IndexMap<String, Value>,
    /// Per field: the default is code to run (a zero-argument function), not a constant.
    pub code: Vec<bool>,
}

/// An entity record: its type and its fields (shared by reference like maps).
pub struct Entity {
    /// The entity type (an [`Obj::EntityType`]).
    pub ty: Rc<Obj>,
    /// Field values in declaration order.
    pub fields: RefCell<Vec<Value>>,
}

/// The heap objects of CONTRACTS.md: instances, entities and the declared types.
pub enum Obj {
    /// `<contract C#k>`
    Instance(Instance),
    /// `Name { f: v }`
    Entity(Entity),
    /// `<contract C>`
    Contract(ContractType),
    /// `<entity E>`
    EntityType(EntityType),
    /// `<protocol P>` with its signatures (action name, parameter count).
    Protocol(String, Vec<(String, usize)>),
}

impl std::fmt::Debug for Obj {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&obj_label(self))
    }
}

impl std::fmt::Debug for Instance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}#{}", type_label(&self.ty), self.number)
    }
}

fn type_label(ty: &Obj) -> &str {
    match ty {
        Obj::Contract(c) => &c.name,
        Obj::EntityType(e) => &e.name,
        Obj::Protocol(n, _) => n,
        Obj::Instance(_) | Obj::Entity(_) => "?",
    }
}

impl Instance {
    /// `C#k`.
    pub fn label(&self) -> String {
        format!("{}#{}", type_label(&self.ty), self.number)
    }

    /// The contract type.
    pub fn contract(&self) -> Option<&ContractType> {
        match &*self.ty {
            Obj::Contract(c) => Some(c),
            _ => None,
        }
    }
}

impl Entity {
    /// The entity type.
    pub fn entity_type(&self) -> Option<&EntityType> {
        match &*self.ty {
            Obj::EntityType(e) => Some(e),
            _ => None,
        }
    }
}

/// The display form of a non-entity object (entities display their fields).
pub fn obj_label(o: &Obj) -> String {
    match o {
        Obj::Instance(i) => format!("<contract {}>", i.label()),
        Obj::Entity(e) => format!("<{} record>", type_label(&e.ty)),
        Obj::Contract(c) => format!("<contract {}>", c.name),
        Obj::EntityType(e) => format!("<entity {}>", e.name),
        Obj::Protocol(n, _) => format!("<protocol {n}>"),
    }
}

/// A Zexus value.
///
/// Layout contract (checked by `jit::abi` tests): `#[repr(C, u8)]`, 16 bytes, the tag byte at
/// offset 0 and the 8-byte payload at offset 8. Tags below [`Value::FIRST_HEAP_TAG`] own no heap
/// memory, so generated code may overwrite such a slot without running a destructor.
#[derive(Debug, Clone, Default)]
#[repr(C, u8)]
pub enum Value {
    /// A declared local that has not been assigned yet (never visible to programs).
    #[default]
    Undef = 0,
    /// `null`
    Null = 1,
    /// `true` / `false`
    Bool(bool) = 2,
    /// 64-bit signed integer.
    Int(i64) = 3,
    /// IEEE-754 double.
    Float(f64) = 4,
    /// A builtin function, by index into the builtin table.
    Builtin(u8) = 5,
    /// Immutable string.
    Str(Rc<String>) = 6,
    /// Mutable list (reference semantics).
    List(ListRef) = 7,
    /// Mutable map (reference semantics).
    Map(MapRef) = 8,
    /// User function or closure.
    Func(Rc<Closure>) = 9,
    /// A captured variable's box (only ever in frame slots, never visible to programs).
    Cell(CellRef) = 10,
    /// A contract instance, an entity record, or a declared type (CONTRACTS.md).
    Obj(Rc<Obj>) = 11,
    /// A module value (MODULES.md §9): what `use "p" as m` binds.
    Module(Rc<ModuleRef>) = 12,
}

/// Which module a module value stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleRef {
    /// Index into the program's module table (`Program::modules`).
    pub index: u32,
    /// The module name `N(M)`, as programs see it.
    pub name: String,
}

const _: () = assert!(std::mem::size_of::<Value>() == 16);

impl Value {
    /// Tag of [`Value::Int`].
    pub const TAG_INT: u8 = 3;
    /// Tag of [`Value::Float`].
    pub const TAG_FLOAT: u8 = 4;
    /// Tag of [`Value::Bool`].
    pub const TAG_BOOL: u8 = 2;
    /// Tag of [`Value::Null`].
    pub const TAG_NULL: u8 = 1;
    /// Tags at or above this own heap memory.
    pub const FIRST_HEAP_TAG: u8 = 6;

    /// The tag byte (the discriminant).
    pub fn tag(&self) -> u8 {
        match self {
            Value::Undef => 0,
            Value::Null => 1,
            Value::Bool(_) => 2,
            Value::Int(_) => 3,
            Value::Float(_) => 4,
            Value::Builtin(_) => 5,
            Value::Str(_) => 6,
            Value::List(_) => 7,
            Value::Map(_) => 8,
            Value::Func(_) => 9,
            Value::Cell(_) => 10,
            Value::Obj(_) => 11,
            Value::Module(_) => 12,
        }
    }

    /// A string value.
    pub fn str(s: &str) -> Value {
        Value::Str(Rc::new(s.to_string()))
    }

    /// A new list value.
    pub fn list(items: Vec<Value>) -> Value {
        Value::List(Rc::new(ListCell(RefCell::new(items))))
    }

    /// A new map value.
    pub fn map(entries: IndexMap<Rc<String>, Value>) -> Value {
        Value::Map(Rc::new(MapCell(RefCell::new(entries))))
    }

    /// The `typeof` name.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Undef | Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Int(_) => "integer",
            Value::Float(_) => "float",
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Map(_) => "map",
            Value::Func(_) | Value::Builtin(_) | Value::Cell(_) => "function",
            Value::Obj(o) => match &**o {
                Obj::Instance(_) => "contract",
                Obj::Entity(_) => "entity",
                Obj::Contract(_) | Obj::EntityType(_) | Obj::Protocol(..) => "type",
            },
            Value::Module(_) => "module",
        }
    }

    /// Truthiness: `false null 0 0.0 "" [] {}` are falsy; NaN is truthy.
    #[inline]
    pub fn truthy(&self) -> bool {
        match self {
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Null | Value::Undef => false,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::List(l) => !l.borrow().is_empty(),
            Value::Map(m) => !m.borrow().is_empty(),
            Value::Func(_) | Value::Builtin(_) | Value::Cell(_) | Value::Obj(_) | Value::Module(_) => true,
        }
    }
}

/// Deepest container nesting that display, equality, hashing and copying will walk.
pub const MAX_VALUE_DEPTH: usize = 2_000;

/// Largest string or list (in bytes or elements) an operation may create.
pub const DEFAULT_MAX_ALLOC: usize = 1 << 30;

type VResult<T> = Result<T, VmError>;

fn type_error(msg: impl Into<String>) -> VmError {
    VmError::new(ErrorKind::TypeError, format!("type error: {}", msg.into()))
}

fn overflow() -> VmError {
    VmError::new(ErrorKind::IntegerOverflow, "integer overflow")
}

fn div_zero() -> VmError {
    VmError::new(ErrorKind::DivisionByZero, "division by zero")
}

/// Error for a string or list that would exceed the memory cap.
pub fn out_of_memory(bytes: usize) -> VmError {
    VmError::new(ErrorKind::OutOfMemory, format!("out of memory: a value of {bytes} bytes exceeds the memory cap"))
}

// ---------------------------------------------------------------------------------------------
// Display and repr
// ---------------------------------------------------------------------------------------------

pub use crate::text::{format_float, repr_str};

struct Walker {
    /// Pointers of the containers currently being walked (cycle detection).
    open: Vec<*const ()>,
    /// Longest output allowed: a list that holds the same list many times over displays
    /// exponentially larger than it is, so the size is checked while writing.
    cap: usize,
}

impl Walker {
    fn new(cap: usize) -> Walker {
        Walker { open: Vec::new(), cap }
    }

    fn check_size(&self, out: &str) -> VResult<()> {
        if out.len() > self.cap { Err(out_of_memory(out.len())) } else { Ok(()) }
    }

    fn enter(&mut self, ptr: *const ()) -> VResult<()> {
        if self.open.contains(&ptr) {
            return Err(VmError::new(ErrorKind::CyclicValue, "cyclic value: a list or map contains itself"));
        }
        if self.open.len() >= MAX_VALUE_DEPTH {
            return Err(VmError::new(
                ErrorKind::CyclicValue,
                "value nested too deeply: lists and maps may nest at most 2000 levels here",
            ));
        }
        self.open.push(ptr);
        Ok(())
    }

    fn leave(&mut self) {
        self.open.pop();
    }

    fn write(&mut self, v: &Value, repr: bool, out: &mut String) -> VResult<()> {
        match v {
            Value::Undef | Value::Null => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Value::Float(f) => format_float(*f, out),
            Value::Str(s) => {
                if repr {
                    repr_str(s, out)
                } else {
                    out.push_str(s)
                }
            }
            Value::List(l) => {
                self.enter(Rc::as_ptr(l) as *const ())?;
                out.push('[');
                for (i, item) in l.borrow().iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    self.write(item, true, out)?;
                    self.check_size(out)?;
                }
                out.push(']');
                self.leave();
            }
            Value::Map(m) => {
                self.enter(Rc::as_ptr(m) as *const ())?;
                out.push('{');
                for (i, (k, item)) in m.borrow().iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    repr_str(k, out);
                    out.push_str(": ");
                    self.write(item, true, out)?;
                    self.check_size(out)?;
                }
                out.push('}');
                self.leave();
            }
            Value::Func(c) => match &c.proto.name {
                Some(name) => {
                    let _ = write!(out, "<function {name}>");
                }
                None => out.push_str("<function>"),
            },
            Value::Builtin(id) => {
                let _ = write!(out, "<function {}>", super::builtin_names::builtin_name(*id));
            }
            Value::Cell(c) => {
                let inner = c.borrow().clone();
                self.write(&inner, repr, out)?;
            }
            Value::Obj(o) => match &**o {
                Obj::Entity(e) => {
                    self.enter(Rc::as_ptr(o) as *const ())?;
                    let _ = write!(out, "{} {{", type_label(&e.ty));
                    let names: Vec<String> =
                        e.entity_type().map(|t| t.fields.keys().cloned().collect()).unwrap_or_default();
                    let fields = e.fields.borrow();
                    if fields.is_empty() {
                        out.push('}');
                    } else {
                        for (i, v) in fields.iter().enumerate() {
                            out.push_str(if i == 0 { " " } else { ", " });
                            out.push_str(names.get(i).map(String::as_str).unwrap_or("?"));
                            out.push_str(": ");
                            self.write(v, true, out)?;
                            self.check_size(out)?;
                        }
                        out.push_str(" }");
                    }
                    self.leave();
                }
                other => out.push_str(&obj_label(other)),
            },
            Value::Module(m) => {
                let _ = write!(out, "<module {}>", m.name);
            }
        }
        Ok(())
    }
}

/// Appends the display form of `v` (what `print` writes), failing with `out of memory` once
/// `out` would grow past [`DEFAULT_MAX_ALLOC`].
pub fn display_into(v: &Value, out: &mut String) -> VResult<()> {
    display_into_capped(v, out, DEFAULT_MAX_ALLOC)
}

/// [`display_into`] with the memory cap `max_alloc` (bytes of `out`).
pub fn display_into_capped(v: &Value, out: &mut String, max_alloc: usize) -> VResult<()> {
    let mut walker = Walker::new(max_alloc);
    walker.write(v, false, out)?;
    walker.check_size(out)
}

/// The display form of `v` as a new string.
pub fn display(v: &Value) -> VResult<String> {
    let mut out = String::new();
    display_into(v, &mut out)?;
    Ok(out)
}

/// The repr form of `v` (strings quoted), as used inside containers.
pub fn repr(v: &Value) -> VResult<String> {
    let mut out = String::new();
    let mut walker = Walker::new(DEFAULT_MAX_ALLOC);
    walker.write(v, true, &mut out)?;
    walker.check_size(&out)?;
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Equality and ordering
// ---------------------------------------------------------------------------------------------

/// Exact comparison of an integer with a float (`None` when the float is NaN).
pub fn cmp_int_float(i: i64, f: f64) -> Option<std::cmp::Ordering> {
    use std::cmp::Ordering;
    if f.is_nan() {
        return None;
    }
    if f >= 9_223_372_036_854_775_808.0 {
        return Some(Ordering::Less);
    }
    if f < -9_223_372_036_854_775_808.0 {
        return Some(Ordering::Greater);
    }
    let t = f.trunc();
    // `t` is integral and in range, so the cast is exact.
    let ti = t as i64;
    match i.cmp(&ti) {
        Ordering::Equal => {
            let frac = f - t;
            if frac > 0.0 {
                Some(Ordering::Less)
            } else if frac < 0.0 {
                Some(Ordering::Greater)
            } else {
                Some(Ordering::Equal)
            }
        }
        other => Some(other),
    }
}

/// `a == b` (LANGUAGE.md §4.4). Fails only on cyclic values.
pub fn values_equal(a: &Value, b: &Value) -> VResult<bool> {
    eq_walk(a, b, &mut Walker::new(usize::MAX))
}

fn eq_walk(a: &Value, b: &Value, w: &mut Walker) -> VResult<bool> {
    Ok(match (a, b) {
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::Int(x), Value::Float(y)) | (Value::Float(y), Value::Int(x)) => {
            cmp_int_float(*x, *y) == Some(std::cmp::Ordering::Equal)
        }
        (Value::Null | Value::Undef, Value::Null | Value::Undef) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Str(x), Value::Str(y)) => x == y,
        (Value::List(x), Value::List(y)) => {
            w.enter(Rc::as_ptr(x) as *const ())?;
            let (xs, ys) = (x.borrow(), y.borrow());
            let mut same = xs.len() == ys.len();
            if same {
                for (p, q) in xs.iter().zip(ys.iter()) {
                    if !eq_walk(p, q, w)? {
                        same = false;
                        break;
                    }
                }
            }
            w.leave();
            same
        }
        (Value::Map(x), Value::Map(y)) => {
            w.enter(Rc::as_ptr(x) as *const ())?;
            let (xs, ys) = (x.borrow(), y.borrow());
            let mut same = xs.len() == ys.len();
            if same {
                for (k, p) in xs.iter() {
                    match ys.get(k) {
                        Some(q) if eq_walk(p, q, w)? => {}
                        _ => {
                            same = false;
                            break;
                        }
                    }
                }
            }
            w.leave();
            same
        }
        (Value::Func(x), Value::Func(y)) => {
            Rc::ptr_eq(x, y) || (x.bound && y.bound && x.this == y.this && Rc::ptr_eq(&x.proto, &y.proto))
        }
        (Value::Builtin(x), Value::Builtin(y)) => x == y,
        (Value::Obj(x), Value::Obj(y)) => match (&**x, &**y) {
            (Obj::Entity(p), Obj::Entity(q)) => {
                if Rc::ptr_eq(x, y) {
                    return Ok(true);
                }
                if !Rc::ptr_eq(&p.ty, &q.ty) {
                    return Ok(false);
                }
                w.enter(Rc::as_ptr(x) as *const ())?;
                let (ps, qs) = (p.fields.borrow(), q.fields.borrow());
                let mut same = ps.len() == qs.len();
                if same {
                    for (a, b) in ps.iter().zip(qs.iter()) {
                        if !eq_walk(a, b, w)? {
                            same = false;
                            break;
                        }
                    }
                }
                w.leave();
                same
            }
            _ => Rc::ptr_eq(x, y),
        },
        (Value::Module(x), Value::Module(y)) => x.index == y.index,
        _ => false,
    })
}

/// Orders two numbers or two strings (`<`, `<=`, `>`, `>=`); anything else is a type error.
/// Returns `None` when a NaN is involved (every ordered comparison is then false).
pub fn compare(a: &Value, b: &Value) -> VResult<Option<std::cmp::Ordering>> {
    use std::cmp::Ordering;
    Ok(match (a, b) {
        (Value::Int(x), Value::Int(y)) => Some(x.cmp(y)),
        (Value::Float(x), Value::Float(y)) => x.partial_cmp(y),
        (Value::Int(x), Value::Float(y)) => cmp_int_float(*x, *y),
        (Value::Float(x), Value::Int(y)) => cmp_int_float(*y, *x).map(Ordering::reverse),
        (Value::Str(x), Value::Str(y)) => Some(x.as_str().cmp(y.as_str())),
        _ => {
            return Err(type_error(format!("cannot compare {} and {}", a.type_name(), b.type_name())));
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Arithmetic
// ---------------------------------------------------------------------------------------------

fn num_pair(a: &Value, b: &Value) -> Option<(f64, f64)> {
    let x = match a {
        Value::Int(i) => *i as f64,
        Value::Float(f) => *f,
        _ => return None,
    };
    let y = match b {
        Value::Int(i) => *i as f64,
        Value::Float(f) => *f,
        _ => return None,
    };
    Some((x, y))
}

fn arith_type_error(op: &str, a: &Value, b: &Value) -> VmError {
    type_error(format!("unsupported operand types for {op}: {} and {}", a.type_name(), b.type_name()))
}

/// `a + b`: numbers add; with a string on either side, concatenation of display forms.
pub fn add(a: &Value, b: &Value, max_alloc: usize) -> VResult<Value> {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => x.checked_add(*y).map(Value::Int).ok_or_else(overflow),
        (Value::Str(x), Value::Str(y)) => {
            let len = x.len() + y.len();
            if len > max_alloc {
                return Err(out_of_memory(len));
            }
            let mut s = String::with_capacity(len);
            s.push_str(x);
            s.push_str(y);
            Ok(Value::Str(Rc::from(s)))
        }
        (Value::Str(_), _) | (_, Value::Str(_)) => {
            let mut s = String::new();
            display_into_capped(a, &mut s, max_alloc)?;
            display_into_capped(b, &mut s, max_alloc)?;
            if s.len() > max_alloc {
                return Err(out_of_memory(s.len()));
            }
            Ok(Value::Str(Rc::from(s)))
        }
        (Value::List(x), Value::List(y)) => {
            // DIALECT.md §10: a new list, the left operand's elements then the right's.
            let len = x.borrow().len() + y.borrow().len();
            if len.saturating_mul(std::mem::size_of::<Value>()) > max_alloc {
                return Err(out_of_memory(len.saturating_mul(std::mem::size_of::<Value>())));
            }
            let mut items = Vec::with_capacity(len);
            items.extend(x.borrow().iter().cloned());
            items.extend(y.borrow().iter().cloned());
            Ok(Value::list(items))
        }
        _ => match num_pair(a, b) {
            Some((x, y)) => Ok(Value::Float(x + y)),
            None => Err(arith_type_error("+", a, b)),
        },
    }
}

/// `a - b`
pub fn sub(a: &Value, b: &Value) -> VResult<Value> {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => x.checked_sub(*y).map(Value::Int).ok_or_else(overflow),
        _ => match num_pair(a, b) {
            Some((x, y)) => Ok(Value::Float(x - y)),
            None => Err(arith_type_error("-", a, b)),
        },
    }
}

fn repeat(s: &str, n: i64, max_alloc: usize) -> VResult<Value> {
    if n <= 0 || s.is_empty() {
        return Ok(Value::str(""));
    }
    let total = (s.len() as u128) * (n as u128);
    if total > max_alloc as u128 {
        return Err(out_of_memory(usize::try_from(total).unwrap_or(usize::MAX)));
    }
    Ok(Value::Str(Rc::from(s.repeat(n as usize))))
}

/// `a * b`: numbers multiply; string times integer repeats.
pub fn mul(a: &Value, b: &Value, max_alloc: usize) -> VResult<Value> {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => x.checked_mul(*y).map(Value::Int).ok_or_else(overflow),
        (Value::Str(s), Value::Int(n)) | (Value::Int(n), Value::Str(s)) => repeat(s, *n, max_alloc),
        _ => match num_pair(a, b) {
            Some((x, y)) => Ok(Value::Float(x * y)),
            None => Err(arith_type_error("*", a, b)),
        },
    }
}

/// `a / b`: always a float; a zero divisor is `division by zero`.
pub fn div(a: &Value, b: &Value) -> VResult<Value> {
    match num_pair(a, b) {
        Some((_, y)) if y == 0.0 => Err(div_zero()),
        Some((x, y)) => Ok(Value::Float(x / y)),
        None => Err(arith_type_error("/", a, b)),
    }
}

/// Floored integer modulo (sign follows the divisor); `b` must be non-zero.
#[inline]
pub fn int_mod(x: i64, y: i64) -> i64 {
    let r = x.wrapping_rem(y);
    if r != 0 && ((r < 0) != (y < 0)) { r + y } else { r }
}

/// `a % b`: floored modulo.
pub fn modulo(a: &Value, b: &Value) -> VResult<Value> {
    match (a, b) {
        (Value::Int(_), Value::Int(0)) => Err(div_zero()),
        (Value::Int(x), Value::Int(y)) => Ok(Value::Int(int_mod(*x, *y))),
        _ => match num_pair(a, b) {
            Some((_, y)) if y == 0.0 => Err(div_zero()),
            Some((x, y)) => {
                let r = x % y;
                Ok(Value::Float(if r != 0.0 && ((r < 0.0) != (y < 0.0)) { r + y } else { r }))
            }
            None => Err(arith_type_error("%", a, b)),
        },
    }
}

/// `a ** b`: integer for a non-negative integer exponent, else float.
pub fn pow(a: &Value, b: &Value) -> VResult<Value> {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) if *y >= 0 => match *x {
            0 => Ok(Value::Int(if *y == 0 { 1 } else { 0 })),
            1 => Ok(Value::Int(1)),
            -1 => Ok(Value::Int(if y % 2 == 0 { 1 } else { -1 })),
            _ => {
                let exp = u32::try_from(*y).map_err(|_| overflow())?;
                x.checked_pow(exp).map(Value::Int).ok_or_else(overflow)
            }
        },
        _ => match num_pair(a, b) {
            Some((x, y)) => Ok(Value::Float(x.powf(y))),
            None => Err(arith_type_error("**", a, b)),
        },
    }
}

/// Unary `-`.
pub fn neg(a: &Value) -> VResult<Value> {
    match a {
        Value::Int(x) => x.checked_neg().map(Value::Int).ok_or_else(overflow),
        Value::Float(f) => Ok(Value::Float(-f)),
        _ => Err(type_error(format!("bad operand type for unary -: {}", a.type_name()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(x: f64) -> String {
        let mut s = String::new();
        format_float(x, &mut s);
        s
    }

    #[test]
    fn float_display_follows_python_repr() {
        assert_eq!(f(1.0), "1.0");
        assert_eq!(f(-0.0), "-0.0");
        assert_eq!(f(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(f(1e16), "1e+16");
        assert_eq!(f(1e-5), "1e-05");
        assert_eq!(f(1.5e-7), "1.5e-07");
        assert_eq!(f(0.0001), "0.0001");
        assert_eq!(f(123456789012345678.0), "1.2345678901234568e+17");
        assert_eq!(f(f64::INFINITY), "inf");
        assert_eq!(f(f64::NAN), "nan");
        assert_eq!(f(1e300), "1e+300");
    }

    #[test]
    fn modulo_is_floored() {
        assert_eq!(int_mod(-7, 3), 2);
        assert_eq!(int_mod(7, -3), -2);
        assert_eq!(int_mod(i64::MIN, -1), 0);
    }

    #[test]
    fn int_float_comparison_is_exact() {
        use std::cmp::Ordering::*;
        assert_eq!(cmp_int_float(9007199254740993, 9007199254740992.0), Some(Greater));
        assert_eq!(cmp_int_float(1, 1.0), Some(Equal));
        assert_eq!(cmp_int_float(1, 1.5), Some(Less));
        assert_eq!(cmp_int_float(i64::MAX, 9.3e18), Some(Less));
    }
}
