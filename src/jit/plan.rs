//! Loop analysis before code generation: which variables the loop touches and with what types
//! (speculated from the values they hold when the loop turns hot), the operand-stack types at
//! every instruction, where control can leave native code, and the fuel checkpoints.
//!
//! The type rules live here once ([`transfer`]); the emitter follows them, so the analysis and
//! the generated code cannot disagree about what an instruction does.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::bytecode::op::{Jit, Op};
use crate::vm::program::Proto;
use crate::vm::value::Value;

/// Largest loop (in instructions) the JIT compiles.
pub const MAX_REGION: usize = 4096;

/// A static type of a value native code handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ty {
    /// 64-bit integer.
    Int,
    /// IEEE double.
    Float,
    /// Boolean (payload 0 or 1).
    Bool,
}

impl Ty {
    /// The value tag of this type.
    pub fn tag(self) -> u8 {
        match self {
            Ty::Int => Value::TAG_INT,
            Ty::Float => Value::TAG_FLOAT,
            Ty::Bool => Value::TAG_BOOL,
        }
    }

    /// The language's name of this type.
    pub fn name(self) -> &'static str {
        match self {
            Ty::Int => "integer",
            Ty::Float => "float",
            Ty::Bool => "boolean",
        }
    }

    /// The type of a value, if native code can hold it.
    pub fn of(v: &Value) -> Option<Ty> {
        match v {
            Value::Int(_) => Some(Ty::Int),
            Value::Float(_) => Some(Ty::Float),
            Value::Bool(_) => Some(Ty::Bool),
            _ => None,
        }
    }
}

/// Where a variable lives in the value stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum VarRef {
    /// A frame slot (`stack[base + slot]`).
    Frame(u16),
    /// An absolute stack index (a global; also every top-level slot).
    Abs(u32),
}

/// How native code treats a variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VarKind {
    /// Always of this type inside the loop: checked once on entry, then kept unboxed.
    Typed(Ty),
    /// Its type may change: every load is guarded (against the type it had when the loop was
    /// compiled, if native code can hold that type) and every store checks the slot owns no
    /// heap memory.
    Dynamic(Option<Ty>),
}

/// Where a typed variable is kept while native code runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Home {
    /// In this general-purpose register (written back to the slot on every exit).
    Reg(u8),
    /// In the slot itself.
    Slot,
}

/// One variable the loop reads or writes.
#[derive(Debug, Clone)]
pub struct Var {
    /// Its location.
    pub at: VarRef,
    /// Its name (for reasons and listings).
    pub name: String,
    /// Its treatment.
    pub kind: VarKind,
    /// Where native code keeps it.
    pub home: Home,
    /// The type name it had when the loop was compiled.
    pub observed: &'static str,
    /// Uses weighted by loop depth (for register allocation).
    pub weight: u64,
}

/// Why native code hands control back to the interpreter before the loop is done.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BailReason {
    /// The instruction has no native implementation.
    Unsupported(&'static str),
    /// The operand types have no native implementation.
    OperandTypes(&'static str, String),
    /// A string, null or other unsupported constant.
    Constant(&'static str),
    /// A variable's type differs from the speculated one (checked on entry or at a load).
    TypeGuard(usize),
    /// A variable holds a value native code cannot represent.
    UnsupportedValue(usize),
    /// Integer overflow (the interpreter raises the error).
    Overflow,
    /// Division or modulo by zero (the interpreter raises the error).
    DivisionByZero,
    /// A store into a slot that owns heap memory.
    HeapSlot(usize),
    /// An assignment to a constant (the interpreter raises the error).
    ConstFlag,
    /// Two paths reach an instruction with different operand stacks.
    Join,
}

/// How control leaves native code at an exit site.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ExitKind {
    /// The loop ended normally (a jump out of the loop).
    LoopExit,
    /// Fuel ran out at a checkpoint.
    Fuel,
    /// A guard failed or an unsupported operation was reached.
    Bailout(BailReason),
}

/// The control effect of one instruction.
#[derive(Debug, Clone, PartialEq)]
pub enum Flow {
    /// Continue at the next instruction.
    Next,
    /// Continue at the next instruction or jump to the target.
    Branch(u32),
    /// Jump to the target.
    Goto(u32),
}

/// The static effect of one instruction on typed operands: values popped, types pushed, the
/// control flow, and the guards it needs. `Err` is an unconditional exit.
#[derive(Debug, Clone, PartialEq)]
pub struct Effect {
    /// Operands popped.
    pub pops: usize,
    /// Types pushed.
    pub pushes: Vec<Ty>,
    /// Control flow.
    pub flow: Flow,
    /// Variable stores, with the stored type (checked against the variable's kind).
    pub stores: Vec<(usize, Ty)>,
}

/// A loop ready for code generation.
#[derive(Debug, Clone)]
pub struct Plan {
    /// First instruction (the loop header).
    pub header: u32,
    /// The loop's own back-edge.
    pub back_edge: u32,
    /// Variables, indexed by [`Plan::var_of`].
    pub vars: Vec<Var>,
    /// Index of a variable by location.
    pub var_index: HashMap<VarRef, usize>,
    /// Operand-stack types on entry to each instruction of the region (`None`: never reached
    /// by native code).
    pub states: Vec<Option<Vec<Ty>>>,
    /// Instructions where a block starts (labels; counts are charged there).
    pub block_starts: BTreeSet<u32>,
    /// Checkpoints (targets of backward jumps), with the most instructions native code may run
    /// from there before the next checkpoint or exit.
    pub checkpoints: BTreeMap<u32, u64>,
    /// Registers for operand-stack depths (deeper operands spill to the context).
    pub temps: Vec<u8>,
    /// Deepest operand stack.
    pub max_depth: usize,
    /// Is this the top-level chunk (frame slots are globals)?
    pub is_top: bool,
}

/// Registers the planner hands out, in order of preference.
pub const POOL: [u8; 7] = [5, 6, 7, 8, 9, 10, 11];

impl Plan {
    /// The state index of `pc`, if it lies in the loop.
    pub fn index(&self, pc: u32) -> Option<usize> {
        if pc < self.header || pc > self.back_edge { None } else { Some((pc - self.header) as usize) }
    }

    /// True if `pc` lies inside the loop.
    pub fn contains(&self, pc: u32) -> bool {
        self.index(pc).is_some()
    }

    /// The operand types on entry to `pc`, if native code reaches it.
    pub fn state(&self, pc: u32) -> Option<&Vec<Ty>> {
        self.states.get(self.index(pc)?)?.as_ref()
    }

    /// The variable at a slot or global operand.
    pub fn var_of(&self, at: VarRef) -> Option<usize> {
        self.var_index.get(&at).copied()
    }

    /// The last instruction of the block containing `pc`.
    pub fn block_end(&self, pc: u32) -> u32 {
        match self.block_starts.range(pc + 1..).next() {
            Some(&next) => next - 1,
            None => self.back_edge,
        }
    }
}

/// Normalizes a slot operand.
fn frame_var(is_top: bool, slot: u16) -> VarRef {
    if is_top { VarRef::Abs(slot as u32) } else { VarRef::Frame(slot) }
}

/// Normalizes a global operand (globals are absolute stack indices in every chunk).
fn abs_var(idx: u32) -> VarRef {
    VarRef::Abs(idx)
}

/// The variables an instruction reads or writes.
pub fn var_refs(op: &Op, is_top: bool) -> Vec<VarRef> {
    match *op {
        Op::LoadLocal { slot } | Op::StoreLocal { slot } | Op::AddLocalImm { slot, .. } => {
            vec![frame_var(is_top, slot)]
        }
        Op::LoadGlobal { idx } | Op::StoreGlobal { idx } => vec![abs_var(idx)],
        Op::LoadLocal2 { a, b } => vec![frame_var(is_top, a), frame_var(is_top, b)],
        Op::AddLocalLocal { dst, src } => vec![frame_var(is_top, dst), frame_var(is_top, src)],
        Op::BranchLocals { a, b, .. } => vec![frame_var(is_top, a), frame_var(is_top, b)],
        Op::BranchLocalImm { a, .. } => vec![frame_var(is_top, a)],
        _ => Vec::new(),
    }
}

/// Result type of `+ - *` on two numbers.
fn arith(a: Ty, b: Ty) -> Option<Ty> {
    match (a, b) {
        (Ty::Int, Ty::Int) => Some(Ty::Int),
        (Ty::Float | Ty::Int, Ty::Float | Ty::Int) => Some(Ty::Float),
        _ => None,
    }
}

/// True if `a < b` and friends have a native implementation.
pub fn ordered_ok(a: Ty, b: Ty) -> bool {
    matches!((a, b), (Ty::Int, Ty::Int) | (Ty::Float, Ty::Float))
}

/// True if `a == b` has a native implementation (mixed integer/float equality does not).
pub fn equality_ok(a: Ty, b: Ty) -> bool {
    !matches!((a, b), (Ty::Int, Ty::Float) | (Ty::Float, Ty::Int))
}

fn types_text(a: Ty, b: Ty) -> String {
    format!("{} and {}", a.name(), b.name())
}

/// The static effect of `op` at `pc` on the typed stack `stack`, given the variables' kinds.
pub fn transfer(
    op: &Op,
    stack: &[Ty],
    proto: &Proto,
    var_of: &dyn Fn(VarRef) -> Option<(usize, VarKind)>,
) -> Result<Effect, BailReason> {
    let is_top = proto.is_top;
    let n = stack.len();
    let top = |k: usize| -> Option<Ty> { n.checked_sub(k + 1).and_then(|i| stack.get(i).copied()) };
    let need = |k: usize| -> Result<(), BailReason> {
        if n < k { Err(BailReason::Unsupported("operand stack underflow")) } else { Ok(()) }
    };
    let simple = |pops: usize, pushes: Vec<Ty>| Ok(Effect { pops, pushes, flow: Flow::Next, stores: Vec::new() });
    let load = |at: VarRef| -> Result<(usize, Ty), BailReason> {
        match var_of(at) {
            Some((v, VarKind::Typed(t))) => Ok((v, t)),
            Some((v, VarKind::Dynamic(Some(t)))) => Ok((v, t)),
            Some((v, VarKind::Dynamic(None))) => Err(BailReason::UnsupportedValue(v)),
            None => Err(BailReason::Unsupported("unknown variable")),
        }
    };
    let var_index = |at: VarRef| var_of(at).map(|(v, _)| v).ok_or(BailReason::Unsupported("unknown variable"));
    match *op {
        Op::Const { idx } => match proto.consts.get(idx as usize).and_then(Ty::of) {
            Some(t) => simple(0, vec![t]),
            None => Err(BailReason::Constant("string constant")),
        },
        Op::Int { .. } => simple(0, vec![Ty::Int]),
        Op::True | Op::False => simple(0, vec![Ty::Bool]),
        Op::Nop => simple(0, vec![]),
        Op::Pop => {
            need(1)?;
            simple(1, vec![])
        }
        Op::Dup => match top(0) {
            Some(a) => simple(1, vec![a, a]),
            None => Err(BailReason::Unsupported("operand stack underflow")),
        },
        Op::Dup2 => match (top(1), top(0)) {
            (Some(a), Some(b)) => simple(2, vec![a, b, a, b]),
            _ => Err(BailReason::Unsupported("operand stack underflow")),
        },
        Op::LoadLocal { slot } => simple(0, vec![load(frame_var(is_top, slot))?.1]),
        Op::LoadGlobal { idx } => simple(0, vec![load(abs_var(idx))?.1]),
        Op::LoadLocal2 { a, b } => {
            let ta = load(frame_var(is_top, a))?.1;
            let tb = load(frame_var(is_top, b))?.1;
            simple(0, vec![ta, tb])
        }
        Op::StoreLocal { slot } => {
            let t = top(0).ok_or(BailReason::Unsupported("operand stack underflow"))?;
            let v = var_index(frame_var(is_top, slot))?;
            Ok(Effect { pops: 1, pushes: vec![], flow: Flow::Next, stores: vec![(v, t)] })
        }
        Op::StoreGlobal { idx } => {
            let t = top(0).ok_or(BailReason::Unsupported("operand stack underflow"))?;
            let v = var_index(abs_var(idx))?;
            Ok(Effect { pops: 1, pushes: vec![], flow: Flow::Next, stores: vec![(v, t)] })
        }
        Op::CheckConst { .. } => match top(0) {
            Some(Ty::Bool) => simple(1, vec![]),
            _ => Err(BailReason::Unsupported("CHECK_CONST")),
        },
        Op::Add | Op::Sub | Op::Mul | Op::Div | Op::Mod => {
            need(2)?;
            let (a, b) = (top(1).unwrap_or(Ty::Bool), top(0).unwrap_or(Ty::Bool));
            let res = match op {
                Op::Div => arith(a, b).map(|_| Ty::Float),
                Op::Mod => (a == Ty::Int && b == Ty::Int).then_some(Ty::Int),
                _ => arith(a, b),
            };
            match res {
                Some(t) => simple(2, vec![t]),
                None => Err(BailReason::OperandTypes(op.name(), types_text(a, b))),
            }
        }
        Op::AddImm { .. } | Op::SubImm { .. } => match top(0) {
            Some(t @ (Ty::Int | Ty::Float)) => simple(1, vec![t]),
            Some(t) => Err(BailReason::OperandTypes(op.name(), types_text(t, Ty::Int))),
            None => Err(BailReason::Unsupported("operand stack underflow")),
        },
        Op::Neg => match top(0) {
            Some(t @ (Ty::Int | Ty::Float)) => simple(1, vec![t]),
            Some(t) => Err(BailReason::OperandTypes("NEG", t.name().to_string())),
            None => Err(BailReason::Unsupported("operand stack underflow")),
        },
        Op::Not | Op::ToBool => {
            need(1)?;
            simple(1, vec![Ty::Bool])
        }
        Op::Eq | Op::Ne => {
            need(2)?;
            let (a, b) = (top(1).unwrap_or(Ty::Bool), top(0).unwrap_or(Ty::Bool));
            if equality_ok(a, b) {
                simple(2, vec![Ty::Bool])
            } else {
                Err(BailReason::OperandTypes(op.name(), types_text(a, b)))
            }
        }
        Op::Lt | Op::Le | Op::Gt | Op::Ge => {
            need(2)?;
            let (a, b) = (top(1).unwrap_or(Ty::Bool), top(0).unwrap_or(Ty::Bool));
            if ordered_ok(a, b) {
                simple(2, vec![Ty::Bool])
            } else {
                Err(BailReason::OperandTypes(op.name(), types_text(a, b)))
            }
        }
        Op::Jump { target } | Op::LoopBack { target, .. } => {
            Ok(Effect { pops: 0, pushes: vec![], flow: Flow::Goto(target), stores: vec![] })
        }
        Op::JumpIfFalse { target } | Op::JumpIfTrue { target } => {
            need(1)?;
            Ok(Effect { pops: 1, pushes: vec![], flow: Flow::Branch(target), stores: vec![] })
        }
        Op::JumpIfNotLt { target }
        | Op::JumpIfNotLe { target }
        | Op::JumpIfNotGt { target }
        | Op::JumpIfNotGe { target } => {
            need(2)?;
            let (a, b) = (top(1).unwrap_or(Ty::Bool), top(0).unwrap_or(Ty::Bool));
            if ordered_ok(a, b) {
                Ok(Effect { pops: 2, pushes: vec![], flow: Flow::Branch(target), stores: vec![] })
            } else {
                Err(BailReason::OperandTypes(op.name(), types_text(a, b)))
            }
        }
        Op::JumpIfNotEq { target } | Op::JumpIfNotNe { target } => {
            need(2)?;
            let (a, b) = (top(1).unwrap_or(Ty::Bool), top(0).unwrap_or(Ty::Bool));
            if equality_ok(a, b) {
                Ok(Effect { pops: 2, pushes: vec![], flow: Flow::Branch(target), stores: vec![] })
            } else {
                Err(BailReason::OperandTypes(op.name(), types_text(a, b)))
            }
        }
        Op::BranchLocals { a, b, target, .. } => {
            let (_, ta) = load(frame_var(is_top, a))?;
            let (_, tb) = load(frame_var(is_top, b))?;
            if ordered_ok(ta, tb) {
                Ok(Effect { pops: 0, pushes: vec![], flow: Flow::Branch(target as u32), stores: vec![] })
            } else {
                Err(BailReason::OperandTypes(op.name(), types_text(ta, tb)))
            }
        }
        Op::BranchLocalImm { a, target, .. } => {
            let (_, ta) = load(frame_var(is_top, a))?;
            if ordered_ok(ta, Ty::Int) {
                Ok(Effect { pops: 0, pushes: vec![], flow: Flow::Branch(target as u32), stores: vec![] })
            } else {
                Err(BailReason::OperandTypes(op.name(), types_text(ta, Ty::Int)))
            }
        }
        Op::AddLocalImm { slot, .. } => {
            let (v, t) = load(frame_var(is_top, slot))?;
            match t {
                Ty::Int | Ty::Float => Ok(Effect { pops: 0, pushes: vec![], flow: Flow::Next, stores: vec![(v, t)] }),
                Ty::Bool => Err(BailReason::OperandTypes(op.name(), types_text(t, Ty::Int))),
            }
        }
        Op::AddLocalLocal { dst, src } => {
            let (v, a) = load(frame_var(is_top, dst))?;
            let (_, b) = load(frame_var(is_top, src))?;
            match arith(a, b) {
                Some(t) => Ok(Effect { pops: 0, pushes: vec![], flow: Flow::Next, stores: vec![(v, t)] }),
                None => Err(BailReason::OperandTypes(op.name(), types_text(a, b))),
            }
        }
        Op::Null => Err(BailReason::Constant("null constant")),
        other => Err(BailReason::Unsupported(other.name())),
    }
}

/// True for instructions that never have native code, whatever the operand types (the
/// opcode table's `jit` column says so).
pub fn never_native(op: &Op) -> bool {
    matches!(op.jit(), Jit::Refused(_))
}

/// Why a loop is not compiled.
pub type Refusal = String;

/// The refusal `plan` will give for loop `header..=back_edge` of `proto` whatever values it
/// meets, told from the code alone (before the loop turns hot): a malformed or oversized loop,
/// a `try` or raising instruction in it, or every path from the header to the back-edge
/// passing an instruction that never has native code (a `CALL`, ...). The same words as
/// `plan`'s refusal. `None` when only the values can tell (the loop may still be refused
/// then, e.g. for a type it meets).
pub fn static_refusal(proto: &Proto, header: u32, back_edge: u32) -> Option<Refusal> {
    let code = &proto.code;
    if header > back_edge || back_edge as usize >= code.len() {
        return Some("malformed loop".to_string());
    }
    let len = (back_edge - header + 1) as usize;
    if len > MAX_REGION {
        return Some(format!("loop too large ({len} instructions, at most {MAX_REGION})"));
    }
    let region = &code[header as usize..=back_edge as usize];
    if let Some((i, op)) = region.iter().enumerate().find(|(_, op)| op.is_error_op()) {
        return Some(format!(
            "the loop contains {} at pc {} (try statements and raising stay interpreted)",
            op.name(),
            header + i as u32
        ));
    }
    let in_loop = |pc: u32| header <= pc && pc <= back_edge;
    let partly_inside = |h: &crate::bytecode::handlers::Handler| {
        let overlaps = h.start <= back_edge && h.end > header;
        let around = h.start <= header && h.end > back_edge;
        in_loop(h.target) || (overlaps && !around)
    };
    if proto.handlers.iter().any(partly_inside) {
        return Some("the loop contains a try statement (handlers stay interpreted)".to_string());
    }
    // Can the back-edge be reached from the header without passing an instruction that never
    // has native code? (Native code leaves at such an instruction, so a loop whose every path
    // passes one never reaches its back-edge natively.)
    let mut seen = vec![false; len];
    let mut work = vec![header];
    while let Some(pc) = work.pop() {
        let i = (pc - header) as usize;
        if seen[i] {
            continue;
        }
        seen[i] = true;
        let op = &region[i];
        if never_native(op) {
            continue;
        }
        if pc == back_edge {
            return None;
        }
        for (next, ()) in op.successors(pc as usize, (), ()).into_iter().flatten() {
            if let Ok(next) = u32::try_from(next)
                && in_loop(next)
                && next != header
            {
                work.push(next);
            }
        }
    }
    let (i, op) = region.iter().enumerate().find(|(_, op)| never_native(op))?;
    Some(format!("unsupported instruction {} at pc {}", op.name(), header + i as u32))
}

/// Analyses loop `header..=back_edge` of `proto`, speculating on the current values of the
/// frame (`stack`, frame at `base`).
pub fn plan(proto: &Proto, header: u32, back_edge: u32, stack: &[Value], base: usize) -> Result<Plan, Refusal> {
    let code = &proto.code;
    if header > back_edge || back_edge as usize >= code.len() {
        return Err("malformed loop".to_string());
    }
    let len = (back_edge - header + 1) as usize;
    if len > MAX_REGION {
        return Err(format!("loop too large ({len} instructions, at most {MAX_REGION})"));
    }
    let region = &code[header as usize..=back_edge as usize];
    // ERRORS.md §9: native code never enters a handler. A loop holding a `try` statement or an
    // instruction that raises by design is left to the interpreter; a loop merely inside a try
    // body runs natively, since native code leaves at any instruction that would fail and the
    // interpreter raises there.
    let in_loop = |pc: u32| header <= pc && pc <= back_edge;
    if let Some((i, op)) = region.iter().enumerate().find(|(_, op)| op.is_error_op()) {
        return Err(format!(
            "the loop contains {} at pc {} (try statements and raising stay interpreted)",
            op.name(),
            header + i as u32
        ));
    }
    // A `try` around the whole loop is fine; one that starts, ends or handles inside it is not.
    let partly_inside = |h: &crate::bytecode::handlers::Handler| {
        let overlaps = h.start <= back_edge && h.end > header;
        let around = h.start <= header && h.end > back_edge;
        in_loop(h.target) || (overlaps && !around)
    };
    if proto.handlers.iter().any(partly_inside) {
        return Err("the loop contains a try statement (handlers stay interpreted)".to_string());
    }

    // Variables, with their observed types.
    let mut vars: Vec<Var> = Vec::new();
    let mut var_index: HashMap<VarRef, usize> = HashMap::new();
    for op in region {
        for at in var_refs(op, proto.is_top) {
            if var_index.contains_key(&at) {
                continue;
            }
            let abs = match at {
                VarRef::Frame(s) => base.checked_add(s as usize),
                VarRef::Abs(i) => Some(i as usize),
            };
            let current = abs.and_then(|i| stack.get(i));
            let Some(current) = current else {
                return Err("a variable lies outside the value stack".to_string());
            };
            let disp_ok = match at {
                VarRef::Frame(s) => (s as i64) * 16 + 16 <= i32::MAX as i64,
                VarRef::Abs(i) => (i as i64) * 16 + 16 <= i32::MAX as i64,
            };
            if !disp_ok {
                return Err("variable index too large".to_string());
            }
            let name = match at {
                VarRef::Frame(s) => proto.slot_names.get(s as usize).cloned(),
                VarRef::Abs(i) if proto.is_top => proto.slot_names.get(i as usize).cloned(),
                VarRef::Abs(_) => None,
            }
            .unwrap_or_else(|| format!("{at:?}"));
            let kind = match Ty::of(current) {
                Some(t) => VarKind::Typed(t),
                None => VarKind::Dynamic(None),
            };
            let observed = if matches!(current, Value::Undef) { "undefined" } else { current.type_name() };
            var_index.insert(at, vars.len());
            vars.push(Var { at, name, kind, home: Home::Slot, observed, weight: 0 });
        }
    }

    // Type fixpoint: a typed variable that is stored a different type becomes dynamic.
    let mut states;
    loop {
        let kinds: Vec<VarKind> = vars.iter().map(|v| v.kind).collect();
        let lookup = |at: VarRef| var_index.get(&at).map(|&i| (i, kinds[i]));
        let (st, demote) = propagate(proto, header, back_edge, &lookup);
        states = st;
        if demote.is_empty() {
            break;
        }
        for v in demote {
            if let Some(var) = vars.get_mut(v)
                && let VarKind::Typed(t) = var.kind
            {
                var.kind = VarKind::Dynamic(Some(t));
            }
        }
    }

    let back_state = states.get(len - 1).and_then(|s| s.as_ref());
    if back_state.is_none() {
        // Every path leaves native code before the back-edge. Name the first instruction that
        // never has native code, else the first reason native code stops.
        if let Some((i, op)) = region.iter().enumerate().find(|(_, op)| never_native(op)) {
            return Err(format!("unsupported instruction {} at pc {}", op.name(), header + i as u32));
        }
        let kinds: Vec<VarKind> = vars.iter().map(|v| v.kind).collect();
        let lookup = |at: VarRef| var_index.get(&at).map(|&i| (i, kinds[i]));
        for (i, op) in region.iter().enumerate() {
            let Some(stack) = states.get(i).and_then(|s| s.as_ref()) else { continue };
            if let Err(reason) = transfer(op, stack, proto, &lookup) {
                let pc = header + i as u32;
                return Err(format!("{} at pc {pc}", describe_reason(&reason, &vars)));
            }
        }
        return Err("the loop never reaches its back-edge in native code".to_string());
    }

    // Blocks, checkpoints and the deepest stack.
    let mut block_starts = BTreeSet::new();
    let mut checkpoints = BTreeSet::new();
    block_starts.insert(header);
    checkpoints.insert(header);
    let mut max_depth = 0;
    for (i, op) in region.iter().enumerate() {
        let pc = header + i as u32;
        if let Some(s) = states.get(i).and_then(|s| s.as_ref()) {
            max_depth = max_depth.max(s.len() + 2);
        }
        if let Some(t) = op.jump_target() {
            if t >= header && t <= back_edge {
                block_starts.insert(t);
                if t <= pc {
                    checkpoints.insert(t);
                }
            }
            if pc < back_edge {
                block_starts.insert(pc + 1);
            }
        }
    }
    if max_depth > crate::jit::abi::MAX_OPERANDS {
        return Err(format!("operand stack too deep ({max_depth})"));
    }

    // Longest run of instructions from each checkpoint to the next checkpoint or exit.
    let kinds: Vec<VarKind> = vars.iter().map(|v| v.kind).collect();
    let lookup = |at: VarRef| var_index.get(&at).map(|&i| (i, kinds[i]));
    let mut dist = vec![0u64; len];
    for i in (0..len).rev() {
        let Some(stack) = states.get(i).and_then(|s| s.as_ref()) else { continue };
        let pc = header + i as u32;
        let op = &region[i];
        let Ok(effect) = transfer(op, stack, proto, &lookup) else { continue };
        let mut succ = Vec::new();
        match effect.flow {
            Flow::Next => succ.push(pc + 1),
            Flow::Branch(t) => {
                succ.push(pc + 1);
                succ.push(t);
            }
            Flow::Goto(t) => succ.push(t),
        }
        let mut best = 0;
        for s in succ {
            if s > pc && s <= back_edge && !checkpoints.contains(&s) {
                best = best.max(dist[(s - header) as usize]);
            }
        }
        dist[i] = 1 + best;
    }
    let checkpoints: BTreeMap<u32, u64> =
        checkpoints.into_iter().map(|c| (c, dist.get((c - header) as usize).copied().unwrap_or(0))).collect();

    // Register allocation: weight uses by loop depth.
    let inner: Vec<(u32, u32)> = proto
        .loops
        .iter()
        .filter(|l| l.header >= header && l.back_edge <= back_edge)
        .map(|l| (l.header, l.back_edge))
        .collect();
    for (i, op) in region.iter().enumerate() {
        let pc = header + i as u32;
        let depth = inner.iter().filter(|(h, b)| pc >= *h && pc <= *b).count() as u32;
        let w = 16u64.saturating_pow(depth.min(8));
        for at in var_refs(op, proto.is_top) {
            if let Some(&v) = var_index.get(&at) {
                vars[v].weight = vars[v].weight.saturating_add(w);
            }
        }
    }
    let mut typed: Vec<usize> = (0..vars.len()).filter(|&v| matches!(vars[v].kind, VarKind::Typed(_))).collect();
    typed.sort_by(|a, b| vars[*b].weight.cmp(&vars[*a].weight).then(a.cmp(b)));
    let wanted_temps = max_depth.saturating_sub(2).clamp(2, 3);
    let n_var_regs = typed.len().min(POOL.len() - wanted_temps);
    for (k, &v) in typed.iter().take(n_var_regs).enumerate() {
        vars[v].home = Home::Reg(POOL[k]);
    }
    let temps = POOL[n_var_regs..].to_vec();

    Ok(Plan {
        header,
        back_edge,
        vars,
        var_index,
        states,
        block_starts,
        checkpoints,
        temps,
        max_depth,
        is_top: proto.is_top,
    })
}

/// Forward propagation of operand-stack types over the loop. Returns the state at each
/// instruction and the typed variables that are stored a value of another type.
fn propagate(
    proto: &Proto,
    header: u32,
    back_edge: u32,
    lookup: &dyn Fn(VarRef) -> Option<(usize, VarKind)>,
) -> (Vec<Option<Vec<Ty>>>, Vec<usize>) {
    let len = (back_edge - header + 1) as usize;
    let mut states: Vec<Option<Vec<Ty>>> = vec![None; len];
    let mut demote = Vec::new();
    let mut work = BTreeSet::new();
    states[0] = Some(Vec::new());
    work.insert(header);
    while let Some(pc) = work.pop_first() {
        let i = (pc - header) as usize;
        let Some(stack) = states[i].clone() else { continue };
        let Some(op) = proto.code.get(pc as usize) else { continue };
        let Ok(effect) = transfer(op, &stack, proto, lookup) else { continue };
        for &(v, t) in &effect.stores {
            if let Some((_, VarKind::Typed(vt))) = var_kind_of(lookup, proto, op, v)
                && vt != t
                && !demote.contains(&v)
            {
                demote.push(v);
            }
        }
        let mut out = stack;
        out.truncate(out.len().saturating_sub(effect.pops));
        out.extend_from_slice(&effect.pushes);
        let mut succ = Vec::new();
        match effect.flow {
            Flow::Next => succ.push(pc + 1),
            Flow::Branch(t) => {
                succ.push(pc + 1);
                succ.push(t);
            }
            Flow::Goto(t) => succ.push(t),
        }
        for s in succ {
            if s < header || s > back_edge {
                continue;
            }
            let si = (s - header) as usize;
            if states[si].is_none() {
                states[si] = Some(out.clone());
                work.insert(s);
            }
        }
    }
    (states, demote)
}

fn var_kind_of(
    lookup: &dyn Fn(VarRef) -> Option<(usize, VarKind)>,
    proto: &Proto,
    op: &Op,
    v: usize,
) -> Option<(usize, VarKind)> {
    var_refs(op, proto.is_top).into_iter().filter_map(lookup).find(|(i, _)| *i == v)
}

/// A one-line description of a bail-out reason.
pub fn describe_reason(reason: &BailReason, vars: &[Var]) -> String {
    let name = |v: usize| vars.get(v).map(|v| v.name.as_str()).unwrap_or("?");
    match reason {
        BailReason::Unsupported(op) => format!("unsupported instruction {op}"),
        BailReason::OperandTypes(op, types) => format!("unsupported operand types for {op}: {types}"),
        BailReason::Constant(what) => format!("unsupported {what}"),
        BailReason::TypeGuard(v) => format!("type guard on '{}'", name(*v)),
        BailReason::UnsupportedValue(v) => {
            let observed = vars.get(*v).map(|v| v.observed).unwrap_or("?");
            format!("type guard: '{}' holds {} {observed}", name(*v), crate::jit::article(observed))
        }
        BailReason::Overflow => "integer overflow".to_string(),
        BailReason::DivisionByZero => "division by zero".to_string(),
        BailReason::HeapSlot(v) => format!("store into '{}', which holds a heap value", name(*v)),
        BailReason::ConstFlag => "assignment to a constant".to_string(),
        BailReason::Join => "operand stacks differ where paths meet".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::rc::Rc;

    use super::*;
    use crate::compile::optimize;

    /// The top-level proto of `src`, compiled and optimized as a session would.
    fn main_proto(src: &str) -> Rc<Proto> {
        let (ast, diags) = crate::syntax::parse(src);
        assert!(diags.is_empty(), "{diags:?}");
        let (mut chunk, diags) = crate::compile::compile_program(&ast, src.len());
        assert!(diags.is_empty(), "{diags:?}");
        optimize::optimize(&mut chunk, &optimize::passes_for_level(2));
        crate::vm::program::link(&chunk).main().clone()
    }

    /// Plans the first loop of `src`'s top level with the top-level slots holding `values`.
    fn plan_first_loop(src: &str, values: &[Value]) -> Result<Plan, Refusal> {
        let proto = main_proto(src);
        let l = proto.loops[0];
        let mut stack = values.to_vec();
        stack.resize(proto.n_slots as usize, Value::Null);
        plan(&proto, l.header, l.back_edge, &stack, 0)
    }

    fn kind_of(p: &Plan, name: &str) -> VarKind {
        p.vars.iter().find(|v| v.name == name).unwrap_or_else(|| panic!("no variable {name}: {:?}", p.vars)).kind
    }

    const SUM: &str = "let i = 0\nlet s = 0\nwhile i < 100 {\n s = s + i\n i = i + 1\n}\n";

    #[test]
    fn an_integer_loop_is_accepted_with_its_variables_typed_and_in_registers() {
        let p = plan_first_loop(SUM, &[Value::Int(0), Value::Int(0)]).expect("plans");
        assert_eq!(kind_of(&p, "i"), VarKind::Typed(Ty::Int));
        assert_eq!(kind_of(&p, "s"), VarKind::Typed(Ty::Int));
        assert!(p.vars.iter().all(|v| matches!(v.home, Home::Reg(_))), "{:?}", p.vars);
        assert!(p.checkpoints.contains_key(&p.header), "the header is a fuel checkpoint");
        assert!(p.state(p.back_edge).is_some(), "native code reaches the back-edge");
    }

    #[test]
    fn types_are_guessed_from_the_values_the_variables_hold() {
        let p = plan_first_loop(SUM, &[Value::Int(0), Value::Float(0.5)]).expect("plans");
        assert_eq!(kind_of(&p, "s"), VarKind::Typed(Ty::Float));
        let flag = "let i = 0\nlet f = true\nwhile i < 10 {\n f = !f\n i = i + 1\n}\n";
        let p = plan_first_loop(flag, &[Value::Int(0), Value::Bool(true)]).expect("plans");
        assert_eq!(kind_of(&p, "f"), VarKind::Typed(Ty::Bool));
    }

    #[test]
    fn a_variable_stored_another_type_becomes_dynamic() {
        let src = "let i = 0\nlet x = 0\nwhile i < 10 {\n x = x + 0.5\n i = i + 1\n}\n";
        let p = plan_first_loop(src, &[Value::Int(0), Value::Int(0)]).expect("plans");
        assert_eq!(kind_of(&p, "x"), VarKind::Dynamic(Some(Ty::Int)));
        assert_eq!(kind_of(&p, "i"), VarKind::Typed(Ty::Int));
    }

    #[test]
    fn a_loop_whose_every_path_calls_is_refused_naming_the_instruction() {
        let src = "let i = 0\nwhile i < 10 {\n print(i)\n i = i + 1\n}\n";
        let err = plan_first_loop(src, &[Value::Int(0)]).expect_err("refused");
        assert!(err.starts_with("unsupported instruction PRINT at pc "), "{err}");
    }

    #[test]
    fn a_loop_on_a_value_native_code_cannot_hold_is_refused_with_the_reason() {
        let src = "let i = 0\nlet s = \"\"\nwhile i < 10 {\n s = s + \"x\"\n i = i + 1\n}\n";
        let err = plan_first_loop(src, &[Value::Int(0), Value::str("")]).expect_err("refused");
        assert!(err.contains("string") && err.contains(" at pc "), "{err}");
    }

    #[test]
    fn malformed_regions_and_missing_frames_are_refused_not_panics() {
        let proto = main_proto(SUM);
        let l = proto.loops[0];
        assert_eq!(plan(&proto, l.back_edge, l.header, &[], 0).err().as_deref(), Some("malformed loop"));
        assert_eq!(plan(&proto, 0, proto.code.len() as u32, &[], 0).err().as_deref(), Some("malformed loop"));
        let err = plan(&proto, l.header, l.back_edge, &[], 0).expect_err("no frame");
        assert_eq!(err, "a variable lies outside the value stack");
    }

    #[test]
    fn the_never_native_list_agrees_with_transfer() {
        let proto = main_proto(SUM);
        let none = |_: VarRef| None;
        for op in [Op::Print { n: 1 }, Op::Call { argc: 0 }, Op::MakeList { n: 0 }] {
            assert!(never_native(&op), "{op:?}");
            assert!(matches!(transfer(&op, &[Ty::Int], &proto, &none), Err(BailReason::Unsupported(_))), "{op:?}");
        }
        assert!(!never_native(&Op::Add));
        let add = transfer(&Op::Add, &[Ty::Int, Ty::Float], &proto, &none).expect("int + float is native");
        assert_eq!((add.pops, add.pushes), (2, vec![Ty::Float]));
        assert!(matches!(transfer(&Op::Add, &[Ty::Bool, Ty::Int], &proto, &none), Err(BailReason::OperandTypes(..))));
    }
}
