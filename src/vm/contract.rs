//! Contracts, entities and events (CONTRACTS.md): the instance registry, the contract journal
//! that makes storage and the event log transactional together with STATE (the ledger's
//! overlay stack drives it, see `chain::Ledger`), deep copies at the contract boundary, member
//! and field access, and the declaration builtins (`%contract`, `%entity`, `%protocol`).
//!
//! Transactions: every open STATE overlay has one journal frame, made lazily: `TX_BEGIN` only
//! counts the depth, and the frame of a depth exists from the first storage access, instance
//! creation or `emit` at that depth (a transaction that touches no contract, the common case
//! in STATE-only code, costs an increment). The first access to an instance's storage inside
//! a frame snapshots the storage (a deep copy) into the frame; reverting the frame restores the
//! snapshots (newest first, so the oldest wins), marks the instances created inside it as gone
//! and truncates the event log to its length when the frame began. Committing appends the
//! frame's snapshots and creations to the frame below, or relabels it as the frame below when
//! that one was never made (nothing happened at that depth before, so its snapshots are that
//! depth's too), or drops it at the outermost level, exactly as an overlay merges into the one
//! below.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use indexmap::IndexMap;

use super::error::{ErrorKind, VmError};
use super::value::{Closure, ContractType, Entity, EntityType, Instance, MAX_VALUE_DEPTH, Obj, Value};

/// One `emit` record of the event log.
#[derive(Debug, Clone)]
pub struct EventRecord {
    /// The event name.
    pub name: String,
    /// `C#k` of the current instance, `None` outside contract code.
    pub source: Option<String>,
    /// Deep copies of the arguments.
    pub args: Vec<Value>,
}

#[derive(Debug, Clone, Default)]
struct JournalFrame {
    id: u64,
    /// The transaction depth (1 = outermost) this frame journals.
    level: usize,
    /// Storage snapshots taken in this frame, oldest first.
    touched: Vec<(Rc<Obj>, Vec<Value>)>,
    /// Instances created in this frame.
    created: Vec<Rc<Obj>>,
    /// Length of the event log when the frame began.
    events_len: usize,
}

/// One write a revert discarded (for the debugger): the member (`C#k.member`) or STATE key,
/// the value it goes back to and the value that was thrown away.
#[derive(Debug, Clone)]
pub struct DiscardedWrite {
    /// `Token#1.balances`, or `STATE["key"]`.
    pub key: String,
    /// The value restored.
    pub old: Value,
    /// The value discarded.
    pub new: Value,
}

/// Most discarded writes kept between two [`ContractWorld::take_discarded`] calls.
pub const MAX_DISCARDED: usize = 64;

/// Every contract instance of the run, the event log and the journal of open transactions.
#[derive(Debug, Clone, Default)]
pub struct ContractWorld {
    /// All instances ever created, by `Instance::id - 1`.
    pub instances: Vec<Rc<Obj>>,
    /// Instances created so far per contract name (CONTRACTS.md §4.2, §13).
    counters: HashMap<String, u32>,
    /// The event log, oldest first.
    pub events: Vec<EventRecord>,
    /// The frames made so far, by increasing `level` (depths where nothing happened have none).
    frames: Vec<JournalFrame>,
    last_frame_id: u64,
    /// Open transactions.
    depth: usize,
    /// `emit`s so far in this run; never decreases, also when a revert drops records (the
    /// debugger's "event emitted" break watches it).
    pub emitted: u64,
    /// While true (the debugger sets it), every revert records what it discards.
    pub record_discards: bool,
    /// The writes discarded by the reverts since the last `take_discarded`, innermost
    /// transaction first (at most [`MAX_DISCARDED`]).
    discarded: Vec<DiscardedWrite>,
}

impl ContractWorld {
    /// A transaction began (called by `Ledger::begin`); its frame is made when first needed.
    pub fn begin(&mut self) {
        self.depth += 1;
    }

    /// The frame of the innermost transaction, made now if this depth has none yet; `None`
    /// outside transactions.
    fn top_frame(&mut self) -> Option<&mut JournalFrame> {
        if self.depth == 0 {
            return None;
        }
        if self.frames.last().is_none_or(|f| f.level != self.depth) {
            self.last_frame_id += 1;
            let frame = JournalFrame {
                id: self.last_frame_id,
                level: self.depth,
                events_len: self.events.len(),
                ..JournalFrame::default()
            };
            self.frames.push(frame);
        }
        self.frames.last_mut()
    }

    /// Takes the innermost transaction's frame off the journal, if it was ever made.
    fn pop_top_frame(&mut self) -> Option<JournalFrame> {
        match self.frames.last() {
            Some(f) if f.level == self.depth => self.frames.pop(),
            _ => None,
        }
    }

    /// The innermost transaction committed: its journal merges into the frame below.
    pub fn commit(&mut self) {
        if self.depth == 0 {
            return;
        }
        let top = self.pop_top_frame();
        self.depth -= 1;
        let Some(mut top) = top else { return };
        if self.depth == 0 {
            return;
        }
        match self.frames.last_mut() {
            Some(below) if below.level == self.depth => {
                below.touched.extend(top.touched);
                below.created.extend(top.created);
            }
            _ => {
                top.level = self.depth;
                self.frames.push(top);
            }
        }
    }

    /// The innermost transaction was reverted: storage, creations and events go back.
    pub fn revert(&mut self) {
        if self.depth == 0 {
            return;
        }
        let top = self.pop_top_frame();
        self.depth -= 1;
        let Some(top) = top else { return };
        if self.record_discards {
            let writes = frame_writes(&top);
            self.note_discarded(writes);
        }
        for (obj, snapshot) in top.touched.into_iter().rev() {
            if let Obj::Instance(inst) = &*obj {
                *inst.storage.borrow_mut() = snapshot;
                inst.snap.set(0);
            }
        }
        for obj in &top.created {
            if let Obj::Instance(inst) = &**obj {
                inst.alive.set(false);
            }
        }
        self.events.truncate(top.events_len);
    }

    /// Per open transaction, outermost first: the members whose value differs from the one
    /// they had when the transaction first touched their instance, as (`C#k.member`, old,
    /// now) — the pending writes the debugger shows.
    pub fn pending_writes(&self) -> Vec<Vec<(String, Value, Value)>> {
        let mut out = vec![Vec::new(); self.depth];
        for f in &self.frames {
            out[f.level - 1] = frame_writes(f).into_iter().map(|w| (w.key, w.old, w.new)).collect();
        }
        out
    }

    /// Records writes a revert discards (called by `revert` and by `Ledger::revert` for
    /// STATE keys while [`ContractWorld::record_discards`] is on).
    pub fn note_discarded(&mut self, writes: Vec<DiscardedWrite>) {
        let room = MAX_DISCARDED.saturating_sub(self.discarded.len());
        self.discarded.extend(writes.into_iter().take(room));
    }

    /// The writes discarded since the last call, innermost transaction first.
    pub fn take_discarded(&mut self) -> Vec<DiscardedWrite> {
        std::mem::take(&mut self.discarded)
    }

    /// Snapshots `obj`'s storage in the innermost frame unless it already holds one.
    pub fn touch(&mut self, obj: &Rc<Obj>) -> Result<(), VmError> {
        let Obj::Instance(inst) = &**obj else { return Ok(()) };
        let Some(top) = self.top_frame() else { return Ok(()) };
        if inst.snap.get() == top.id {
            return Ok(());
        }
        let copy = inst.storage.borrow().iter().map(deep_copy).collect::<Result<Vec<_>, _>>()?;
        top.touched.push((obj.clone(), copy));
        inst.snap.set(top.id);
        Ok(())
    }

    /// Creates the next instance of contract type `ty`, every member `null`.
    pub fn create(&mut self, ty: &Rc<Obj>) -> Result<Rc<Obj>, VmError> {
        let Obj::Contract(c) = &**ty else { return Err(type_error("not a contract type".to_string())) };
        let count = self.counters.entry(c.name.clone()).or_insert(0);
        *count += 1;
        let id = u32::try_from(self.instances.len() + 1).map_err(|_| type_error("too many instances".into()))?;
        let inst = Instance {
            ty: ty.clone(),
            number: *count,
            id,
            storage: RefCell::new(vec![Value::Null; c.members.len()]),
            alive: Cell::new(true),
            snap: Cell::new(0),
        };
        let obj = Rc::new(Obj::Instance(inst));
        self.instances.push(obj.clone());
        if let Some(top) = self.top_frame() {
            top.created.push(obj.clone());
        }
        Ok(obj)
    }

    /// The instance with registry number `id`.
    pub fn instance(&self, id: u32) -> Option<&Rc<Obj>> {
        id.checked_sub(1).and_then(|i| self.instances.get(i as usize))
    }

    /// The id (`C#k`) of the instance with registry number `id`.
    pub fn label(&self, id: u32) -> Option<String> {
        match self.instance(id).map(|o| &**o) {
            Some(Obj::Instance(i)) => Some(i.label()),
            _ => None,
        }
    }

    /// `emit`: appends a record with deep copies of `args`.
    pub fn emit(&mut self, name: &str, source: u32, args: &[Value]) -> Result<(), VmError> {
        let args = args.iter().map(deep_copy).collect::<Result<Vec<_>, _>>()?;
        let source = self.label(source);
        // The frame records the log's length before this record, so a revert drops it.
        self.top_frame();
        self.events.push(EventRecord { name: name.to_string(), source, args });
        self.emitted += 1;
        Ok(())
    }

    /// `events()` / `events(name)`: a new list of new maps.
    pub fn events_value(&self, args: &[Value]) -> Result<Value, VmError> {
        let filter = match args {
            [] => None,
            [Value::Str(s)] => Some(s.as_str()),
            [_] => return Err(type_error("events() needs a string".to_string())),
            _ => {
                return Err(VmError::new(
                    ErrorKind::WrongArgumentCount,
                    format!("wrong number of arguments: events() takes 0 to 1, got {}", args.len()),
                ));
            }
        };
        let mut out = Vec::new();
        for ev in self.events.iter().filter(|e| filter.is_none_or(|f| f == e.name)) {
            let mut m = IndexMap::new();
            m.insert(Rc::new("event".to_string()), Value::str(&ev.name));
            m.insert(Rc::new("contract".to_string()), ev.source.as_deref().map(Value::str).unwrap_or(Value::Null));
            let args = ev.args.iter().map(deep_copy).collect::<Result<Vec<_>, _>>()?;
            m.insert(Rc::new("args".to_string()), Value::list(args));
            out.push(Value::map(m));
        }
        Ok(Value::list(out))
    }
}

/// The members of the instances `frame` touched whose value differs from the snapshot it took.
fn frame_writes(frame: &JournalFrame) -> Vec<DiscardedWrite> {
    let mut writes = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (obj, snapshot) in &frame.touched {
        let Obj::Instance(inst) = &**obj else { continue };
        let Some(c) = inst.contract() else { continue };
        if !seen.insert(inst.id) {
            continue;
        }
        let now = inst.storage.borrow();
        for ((name, _), (old, new)) in c.members.iter().zip(snapshot.iter().zip(now.iter())) {
            if !super::value::values_equal(old, new).unwrap_or(false) {
                let key = format!("{}.{name}", inst.label());
                writes.push(DiscardedWrite { key, old: old.clone(), new: new.clone() });
            }
        }
    }
    writes
}

fn type_error(msg: String) -> VmError {
    VmError::new(ErrorKind::TypeError, format!("type error: {msg}"))
}

fn cyclic() -> VmError {
    VmError::new(ErrorKind::CyclicValue, "cyclic value: a value that contains itself crosses a contract boundary")
}

/// The deep copy of CONTRACTS.md §5: lists, maps and entities are copied at every level;
/// everything else (instances included) is shared. A value containing itself is `cyclic value`.
pub fn deep_copy(v: &Value) -> Result<Value, VmError> {
    copy_at(v, 0)
}

fn copy_at(v: &Value, depth: usize) -> Result<Value, VmError> {
    if depth > MAX_VALUE_DEPTH {
        return Err(cyclic());
    }
    Ok(match v {
        Value::List(l) => {
            let items = l.try_borrow_mut().map_err(|_| cyclic())?;
            let copied = items.iter().map(|x| copy_at(x, depth + 1)).collect::<Result<Vec<_>, _>>()?;
            Value::list(copied)
        }
        Value::Map(m) => {
            let entries = m.try_borrow_mut().map_err(|_| cyclic())?;
            let mut out = IndexMap::with_capacity(entries.len());
            for (k, x) in entries.iter() {
                out.insert(k.clone(), copy_at(x, depth + 1)?);
            }
            Value::map(out)
        }
        Value::Obj(o) => match &**o {
            Obj::Entity(e) => {
                let fields = e.fields.try_borrow_mut().map_err(|_| cyclic())?;
                let copied = fields.iter().map(|x| copy_at(x, depth + 1)).collect::<Result<Vec<_>, _>>()?;
                Value::Obj(Rc::new(Obj::Entity(Entity { ty: e.ty.clone(), fields: RefCell::new(copied) })))
            }
            _ => v.clone(),
        },
        other => other.clone(),
    })
}

/// `contract C#k no longer exists (its creation was reverted)`.
pub fn check_alive(inst: &Instance) -> Result<(), VmError> {
    if inst.alive.get() {
        return Ok(());
    }
    Err(VmError::new(
        ErrorKind::TypeError,
        format!("contract {} no longer exists (its creation was reverted)", inst.label()),
    ))
}

/// `unknown member 'x' of contract C`.
pub fn unknown_member(c: &ContractType, name: &str) -> VmError {
    VmError::new(ErrorKind::TypeError, format!("unknown member '{name}' of contract {}", c.name))
}

fn unknown_field(t: &EntityType, name: &str) -> VmError {
    VmError::new(ErrorKind::TypeError, format!("unknown field '{name}' of entity {}", t.name))
}

/// A member of an instance as an operation sees it.
pub enum Member {
    /// A state member's storage slot.
    State(usize),
    /// An action.
    Action(Rc<Closure>),
}

/// Looks member `name` up in instance `inst` (checking that it still exists).
pub fn lookup(inst: &Instance, name: &str) -> Result<Member, VmError> {
    check_alive(inst)?;
    let Some(c) = inst.contract() else { return Err(type_error("not a contract instance".into())) };
    if let Some(i) = c.members.get_index_of(name) {
        return Ok(Member::State(i));
    }
    match c.actions.get(name) {
        Some(a) => Ok(Member::Action(a.clone())),
        None => Err(unknown_member(c, name)),
    }
}

/// A bound action: the action closure with `this` set to the instance.
pub fn bind(action: &Closure, inst: &Instance) -> Value {
    Value::Func(Rc::new(Closure {
        proto: action.proto.clone(),
        upvalues: action.upvalues.clone(),
        this: inst.id,
        bound: true,
    }))
}

/// Reads `obj.name`: an instance member (internal when `this` is the instance, else a deep
/// copy), an entity field, or a type error for a declared type.
pub fn get_member(world: &mut ContractWorld, obj: &Rc<Obj>, name: &str, this: u32) -> Result<Value, VmError> {
    match &**obj {
        Obj::Instance(inst) => match lookup(inst, name)? {
            Member::State(i) => {
                world.touch(obj)?;
                let v = inst.storage.borrow().get(i).cloned().unwrap_or(Value::Null);
                if this == inst.id { Ok(v) } else { deep_copy(&v) }
            }
            Member::Action(a) => Ok(bind(&a, inst)),
        },
        Obj::Entity(_) => entity_get(obj, name),
        _ => Err(type_error(format!("type has no member '{name}'"))),
    }
}

/// Writes `obj.name = v` (a member write stores a deep copy; outside its actions it is an
/// error).
pub fn set_member(world: &mut ContractWorld, obj: &Rc<Obj>, name: &str, v: Value, this: u32) -> Result<(), VmError> {
    match &**obj {
        Obj::Instance(inst) => {
            let member = lookup(inst, name)?;
            let c = inst.contract().ok_or_else(|| type_error("not a contract instance".into()))?;
            match member {
                Member::Action(_) => Err(VmError::new(
                    ErrorKind::TypeError,
                    format!("cannot assign to action '{name}' of contract {}", c.name),
                )),
                Member::State(_) if this != inst.id => Err(VmError::new(
                    ErrorKind::TypeError,
                    format!("cannot assign to member '{name}' of contract {} outside its actions", c.name),
                )),
                Member::State(i) => {
                    let v = deep_copy(&v)?;
                    world.touch(obj)?;
                    if let Some(slot) = inst.storage.borrow_mut().get_mut(i) {
                        *slot = v;
                    }
                    Ok(())
                }
            }
        }
        Obj::Entity(_) => entity_set(obj, name, v),
        _ => Err(type_error(format!("type has no member '{name}'"))),
    }
}

/// `e[key]` on an object: a string key on an entity is its field; anything else is a type error.
pub fn index_key(obj: &Obj, key: &Value) -> Result<String, VmError> {
    match (obj, key) {
        (Obj::Entity(_), Value::Str(s)) => Ok(s.to_string()),
        (Obj::Entity(_), other) => Err(type_error(format!("entity index must be a string, not {}", other.type_name()))),
        (Obj::Instance(_), _) => Err(type_error("cannot index contract".to_string())),
        (_, _) => Err(type_error("cannot index type".to_string())),
    }
}

/// Builds an entity of type `ty` (`written` is the name as written, for the error) from named
/// fields; omitted fields get fresh copies of their defaults.
pub fn construct(ty: &Value, written: &str, given: Vec<(Rc<String>, Value)>) -> Result<NewEntity, VmError> {
    let (obj, t) = entity_type(ty, written)?;
    let mut fields: Vec<Option<Value>> = vec![None; t.fields.len()];
    for (k, v) in given {
        match t.fields.get_index_of(k.as_str()) {
            Some(i) => fields[i] = Some(v),
            None => return Err(unknown_field(t, &k)),
        }
    }
    finish_entity(obj, t, fields)
}

/// `E(a1, ..., an)`: values in field order, the rest defaults.
pub fn construct_positional(ty: &Rc<Obj>, args: &[Value]) -> Result<NewEntity, VmError> {
    let Obj::EntityType(t) = &**ty else { return Err(type_error("not an entity type".into())) };
    if args.len() > t.fields.len() {
        return Err(VmError::new(
            ErrorKind::WrongArgumentCount,
            format!(
                "wrong number of arguments: {}() has {} fields but {} were given",
                t.name,
                t.fields.len(),
                args.len()
            ),
        ));
    }
    let mut fields: Vec<Option<Value>> = vec![None; t.fields.len()];
    for (i, a) in args.iter().enumerate() {
        fields[i] = Some(a.clone());
    }
    finish_entity(ty, t, fields)
}

fn entity_type<'a>(ty: &'a Value, written: &str) -> Result<(&'a Rc<Obj>, &'a EntityType), VmError> {
    match ty {
        Value::Obj(o) => match &**o {
            Obj::EntityType(t) => Ok((o, t)),
            _ => Err(type_error(format!("{written} is not an entity type"))),
        },
        _ => Err(type_error(format!("{written} is not an entity type"))),
    }
}

/// A new entity and the omitted fields whose default is code, in declaration order (the
/// interpreter runs each and stores its result, see [`CallStage::EntityDefaults`]).
pub type NewEntity = (Rc<Obj>, Vec<(usize, Rc<Closure>)>);

fn finish_entity(obj: &Rc<Obj>, t: &EntityType, fields: Vec<Option<Value>>) -> Result<NewEntity, VmError> {
    let mut out = Vec::with_capacity(fields.len());
    let mut pending = Vec::new();
    for (i, (given, default)) in fields.into_iter().zip(t.fields.values()).enumerate() {
        out.push(match given {
            Some(v) => v,
            None => match default {
                Value::Func(f) if t.code.get(i).copied().unwrap_or(false) => {
                    pending.push((i, f.clone()));
                    Value::Null
                }
                other => deep_copy(other)?,
            },
        });
    }
    let entity = Rc::new(Obj::Entity(Entity { ty: obj.clone(), fields: RefCell::new(out) }));
    Ok((entity, pending))
}

/// Stores the value of a code default into field `i` of `entity`.
pub fn set_field(entity: &Obj, i: usize, v: Value) {
    if let Obj::Entity(e) = entity
        && let Some(slot) = e.fields.borrow_mut().get_mut(i)
    {
        *slot = v;
    }
}

/// The protocol check of CONTRACTS.md §8 for contract `c`.
pub fn check_protocols(c: &ContractType) -> Result<(), VmError> {
    for p in &c.implements {
        let (pname, sigs) = match p {
            Value::Obj(o) => match &**o {
                Obj::Protocol(n, s) => (n, s),
                other => return Err(type_error(format!("{} is not a protocol", type_name_of(other)))),
            },
            Value::Str(name) => {
                return Err(VmError::new(ErrorKind::UndefinedVariable, format!("undefined variable '{name}'")));
            }
            other => return Err(type_error(format!("{} is not a protocol", other.type_name()))),
        };
        for (m, n) in sigs {
            let ok = c.actions.get(m).is_some_and(|a| a.proto.arity as usize == *n);
            if !ok {
                return Err(VmError::new(
                    ErrorKind::TypeError,
                    format!("contract {} does not implement {pname}.{m}", c.name),
                ));
            }
        }
    }
    Ok(())
}

fn type_name_of(o: &Obj) -> String {
    match o {
        Obj::Contract(c) => c.name.clone(),
        Obj::EntityType(e) => e.name.clone(),
        other => super::value::obj_label(other),
    }
}

fn decl_arg_error() -> VmError {
    VmError::new(ErrorKind::TypeError, "internal error: malformed declaration")
}

fn strings(v: &Value) -> Result<Vec<String>, VmError> {
    match v {
        Value::List(l) => l
            .borrow()
            .iter()
            .map(|x| match x {
                Value::Str(s) => Ok(s.to_string()),
                _ => Err(decl_arg_error()),
            })
            .collect(),
        _ => Err(decl_arg_error()),
    }
}

/// `%contract(name, members, init_members, actions, implements)`: a contract type.
pub fn b_contract(args: &[Value], _: usize) -> Result<Value, VmError> {
    let [Value::Str(name), members, Value::Func(init), Value::Map(actions), Value::List(implements)] = args else {
        return Err(decl_arg_error());
    };
    let members = strings(members)?.into_iter().map(|m| (m, ())).collect();
    let mut acts = IndexMap::new();
    for (k, v) in actions.borrow().iter() {
        let Value::Func(c) = v else { return Err(decl_arg_error()) };
        acts.insert(k.to_string(), c.clone());
    }
    Ok(Value::Obj(Rc::new(Obj::Contract(ContractType {
        name: name.to_string(),
        members,
        actions: acts,
        init_members: init.clone(),
        implements: implements.borrow().clone(),
    }))))
}

/// `%entity(name, fields, defaults)`: an entity type.
pub fn b_entity(args: &[Value], _: usize) -> Result<Value, VmError> {
    let [Value::Str(name), fields, Value::List(defaults), Value::List(code)] = args else {
        return Err(decl_arg_error());
    };
    let fields = strings(fields)?.into_iter().zip(defaults.borrow().iter().cloned()).collect();
    let code = code.borrow().iter().map(Value::truthy).collect();
    Ok(Value::Obj(Rc::new(Obj::EntityType(EntityType { name: name.to_string(), fields, code }))))
}

/// `%protocol(name, actions, arities)`: a protocol.
pub fn b_protocol(args: &[Value], _: usize) -> Result<Value, VmError> {
    let [Value::Str(name), names, Value::List(arities)] = args else { return Err(decl_arg_error()) };
    let mut sigs = Vec::new();
    for (n, a) in strings(names)?.into_iter().zip(arities.borrow().iter()) {
        let Value::Int(a) = a else { return Err(decl_arg_error()) };
        sigs.push((n, usize::try_from(*a).unwrap_or(0)));
    }
    Ok(Value::Obj(Rc::new(Obj::Protocol(name.to_string(), sigs))))
}

/// `events` reached as a plain builtin (the interpreter calls [`ContractWorld::events_value`]).
pub fn b_events(_: &[Value], _: usize) -> Result<Value, VmError> {
    Err(VmError::new(ErrorKind::NotCallable, "not callable: events() needs the running program"))
}

/// Every instance that still exists, sorted by contract name then number, with its members
/// in declaration order (for `stats` and the debugger).
pub fn existing_instances(world: &ContractWorld) -> Vec<(String, Vec<(String, Value)>)> {
    let mut out: Vec<(String, u32, String, Vec<(String, Value)>)> = Vec::new();
    for obj in &world.instances {
        let Obj::Instance(inst) = &**obj else { continue };
        let Some(c) = inst.contract() else { continue };
        if !inst.alive.get() {
            continue;
        }
        let storage = inst.storage.borrow();
        let members = c.members.keys().cloned().zip(storage.iter().cloned()).collect();
        out.push((c.name.clone(), inst.number, inst.label(), members));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    out.into_iter().map(|(_, _, id, members)| (id, members)).collect()
}

/// Gas of creating an instance, before its initializers (CONTRACTS.md §11).
pub const NEW_INSTANCE_GAS: u64 = 50;
/// Gas of an external call's implicit `TX_BEGIN`.
pub const EXTERNAL_BEGIN_GAS: u64 = 20;
/// Gas of an external call's implicit `TX_COMMIT`.
pub const EXTERNAL_COMMIT_GAS: u64 = 30;
/// Gas of reading or writing a member on top of the map access the opcode is charged for
/// (`GET_MEMBER` 20 and `SET_MEMBER` 30 in §11, against 3 in the table).
pub const MEMBER_GET_EXTRA_GAS: u64 = 17;
/// See [`MEMBER_GET_EXTRA_GAS`].
pub const MEMBER_SET_EXTRA_GAS: u64 = 27;

/// The most gas one instruction may charge beyond its table gas (a construction: instance,
/// implicit begin, and the commit of a call that returns at the same instruction). The gas
/// limit's fast path schedules with it; the dynamic part of an instruction is checked
/// against the limit before the next instruction (ARCHITECTURE.md, language decisions).
pub const MAX_EXTRA_GAS: u64 = NEW_INSTANCE_GAS + EXTERNAL_BEGIN_GAS + EXTERNAL_COMMIT_GAS;

/// What a pending external call does when its callee returns.
#[derive(Debug)]
pub enum CallStage {
    /// An action call: commit, copy the result out.
    Action,
    /// A construction whose member initializers are running; `init` may follow with `args`.
    Members {
        /// The new instance.
        inst: Rc<Obj>,
        /// The (copied) constructor arguments.
        args: Vec<Value>,
    },
    /// A construction whose `init` is running.
    Init {
        /// The new instance.
        inst: Rc<Obj>,
    },
    /// An entity construction whose code defaults run (no transaction): the running one is
    /// the first of `pending`.
    EntityDefaults {
        /// The new entity.
        entity: Rc<Obj>,
        /// Field index and default function, in declaration order.
        pending: Vec<(usize, Rc<Closure>)>,
    },
}

impl ActionCall {
    /// True for the records of external calls (each one transaction).
    pub fn is_transaction(&self) -> bool {
        !matches!(self.stage, CallStage::EntityDefaults { .. })
    }
}

/// An external call (one transaction, CONTRACTS.md §6) whose callee frame is running; the
/// interpreter finishes it when a return comes back to `depth`.
#[derive(Debug)]
pub struct ActionCall {
    /// The caller's call depth.
    pub depth: usize,
    /// The callee's position in the caller's frame (where the result goes).
    pub at: u32,
    /// The ledger depth before the call's implicit `TX_BEGIN`.
    pub floor: usize,
    /// `C.m`, for the open-transactions error.
    pub name: String,
    /// What remains to do.
    pub stage: CallStage,
}

/// `e[key]` read on an object (only entities may be indexed, by field name).
pub fn index_get(obj: &Rc<Obj>, key: &Value) -> Result<Value, VmError> {
    let name = index_key(obj, key)?;
    entity_get(obj, &name)
}

/// `e[key] = v` on an object.
pub fn index_set(obj: &Rc<Obj>, key: &Value, v: Value) -> Result<(), VmError> {
    let name = index_key(obj, key)?;
    entity_set(obj, &name, v)
}

fn entity_get(obj: &Rc<Obj>, name: &str) -> Result<Value, VmError> {
    let Obj::Entity(e) = &**obj else { return Err(type_error("not an entity".into())) };
    let Some(t) = e.entity_type() else { return Err(type_error("not an entity".into())) };
    match t.fields.get_index_of(name) {
        Some(i) => Ok(e.fields.borrow().get(i).cloned().unwrap_or(Value::Null)),
        None => Err(unknown_field(t, name)),
    }
}

fn entity_set(obj: &Rc<Obj>, name: &str, v: Value) -> Result<(), VmError> {
    let Obj::Entity(e) = &**obj else { return Err(type_error("not an entity".into())) };
    let Some(t) = e.entity_type() else { return Err(type_error("not an entity".into())) };
    match t.fields.get_index_of(name) {
        Some(i) => {
            if let Some(slot) = e.fields.borrow_mut().get_mut(i) {
                *slot = v;
            }
            Ok(())
        }
        None => Err(unknown_field(t, name)),
    }
}

/// The error for calling state member `name` that does not hold a function.
pub fn state_not_callable(inst: &Instance, name: &str) -> VmError {
    let c = inst.contract().map(|c| c.name.as_str()).unwrap_or("?");
    VmError::new(
        ErrorKind::NotCallable,
        format!("not callable: '{name}' is a state member of contract {c}, not an action"),
    )
}
