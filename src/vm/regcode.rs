//! The interpreter's executable form of a function: every bytecode instruction re-encoded with
//! the frame positions of the values it reads and writes.
//!
//! The bytecode is a stack machine, but the stack depth before every instruction is the same
//! on every path (the verifier's rule), so where each operand lives is known before the program
//! runs. The linker turns each [`Op`] into an [`XOp`] naming those positions (relative to the
//! frame's base), and the dispatch loop addresses values directly instead of moving a stack
//! pointer at run time. The translation is one to one: `XOp` number `pc` stands for `Op` number
//! `pc`, so pcs, spans, breakpoints, gas and instruction counts are those of the bytecode.
//!
//! Frame layout (positions relative to the base): the slots `0..n_slots`, then the operands
//! from `operand_base` up (`operand_base` is `n_slots`, except in the top-level frame, whose
//! slots are the globals and which therefore starts its operands above every global).

use crate::bytecode::handlers::Handler;
use crate::bytecode::op::{Cmp, Depths, Op, OpCode, stack_depths};

/// A value's position in a frame, relative to its base.
pub type Pos = u32;

/// One instruction with its operand positions. Each variant stands for the [`Op`] variant of
/// the same name; where that op pops or pushes, the fields say where. `a`/`at` name the lowest
/// stack position the instruction reads (its operands follow it upwards); `dst` is where a
/// pushed value goes; `src` is where a popped value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XOp {
    /// `Op::Const`.
    Const { dst: Pos, idx: u32 },
    /// `Op::Int`.
    Int { dst: Pos, value: i32 },
    /// `Op::Null`.
    Null { dst: Pos },
    /// `Op::True`.
    True { dst: Pos },
    /// `Op::False`.
    False { dst: Pos },
    /// `Op::Pop`.
    Pop { src: Pos },
    /// `Op::Dup`: copies `dst - 1` to `dst`.
    Dup { dst: Pos },
    /// `Op::Dup2`: copies `dst - 2, dst - 1` to `dst, dst + 1`.
    Dup2 { dst: Pos },
    /// `Op::Nop`.
    Nop,
    /// `Op::LoadLocal`.
    LoadLocal { dst: Pos, slot: u16 },
    /// `Op::StoreLocal`.
    StoreLocal { slot: u16, src: Pos },
    /// `Op::LoadGlobal` (the index is absolute in the value stack).
    LoadGlobal { dst: Pos, idx: u32 },
    /// `Op::StoreGlobal`.
    StoreGlobal { src: Pos, idx: u32 },
    /// `Op::LoadCell`.
    LoadCell { dst: Pos, slot: u16 },
    /// `Op::StoreCell`.
    StoreCell { slot: u16, src: Pos },
    /// `Op::LoadFree`.
    LoadFree { dst: Pos, idx: u16 },
    /// `Op::StoreFree`.
    StoreFree { idx: u16, src: Pos },
    /// `Op::CheckConst`.
    CheckConst { src: Pos, name: u32 },
    /// `Op::Add`: `a` and `a + 1` in, the result at `a`.
    Add { a: Pos },
    /// `Op::Sub`.
    Sub { a: Pos },
    /// `Op::Mul`.
    Mul { a: Pos },
    /// `Op::Div`.
    Div { a: Pos },
    /// `Op::Mod`.
    Mod { a: Pos },
    /// `Op::Pow`.
    Pow { a: Pos },
    /// `Op::Neg`.
    Neg { a: Pos },
    /// `Op::Not`.
    Not { a: Pos },
    /// `Op::ToBool`.
    ToBool { a: Pos },
    /// `Op::Eq`.
    Eq { a: Pos },
    /// `Op::Ne`.
    Ne { a: Pos },
    /// `Op::Lt`, `Op::Le`, `Op::Gt`, `Op::Ge`.
    Compare { cmp: Cmp, a: Pos },
    /// `Op::Jump`.
    Jump { target: u32 },
    /// `Op::JumpIfFalse`.
    JumpIfFalse { src: Pos, target: u32 },
    /// `Op::JumpIfTrue`.
    JumpIfTrue { src: Pos, target: u32 },
    /// `Op::LoopBack`.
    LoopBack { target: u32, loop_id: u16 },
    /// `Op::ForNext`.
    ForNext { slot: u16, dst: Pos, exit: u32 },
    /// `Op::ForPrep`.
    ForPrep { slot: u16, src: Pos },
    /// `Op::In`.
    In { a: Pos },
    /// `Op::JumpIfNotNull`.
    JumpIfNotNull { src: Pos, target: u32 },
    /// `Op::ForPrep2`.
    ForPrep2 { slot: u16, src: Pos },
    /// `Op::ForNext2`: the key at `dst`, the element at `dst + 1`.
    ForNext2 { slot: u16, dst: Pos, exit: u32 },
    /// `Op::JumpIfBound`.
    JumpIfBound { slot: u16, target: u32 },
    /// `Op::Call`: the callee at `at`, its arguments above it.
    Call { at: Pos, argc: u16 },
    /// `Op::CallMethod`: the receiver at `at`, the arguments above it.
    CallMethod { at: Pos, name: u32, argc: u16 },
    /// `Op::Return`.
    Return { src: Pos },
    /// `Op::ReturnNull`; `top` is the stack top before it.
    ReturnNull { top: Pos },
    /// `Op::MakeClosure`.
    MakeClosure { dst: Pos, proto: u32 },
    /// `Op::This`.
    This { dst: Pos },
    /// `Op::Emit`: the arguments from `at` up.
    Emit { at: Pos, name: u32, argc: u16 },
    /// `Op::NewEntity`: the type at `at`, the pairs above it.
    NewEntity { at: Pos, name: u32, n: u16 },
    /// `Op::UseModule`.
    UseModule { dst: Pos, module: u32 },
    /// `Op::LoadModule`.
    LoadModule { dst: Pos, module: u32 },
    /// `Op::ImportLoad`.
    ImportLoad { dst: Pos, idx: u32 },
    /// `Op::ImportStore`.
    ImportStore { src: Pos, idx: u32 },
    /// `Op::Halt`.
    Halt,
    /// `Op::MakeList`: the `n` items from `at` up, the list at `at`.
    MakeList { at: Pos, n: u32 },
    /// `Op::MakeMap`: the `n` pairs from `at` up, the map at `at`.
    MakeMap { at: Pos, n: u32 },
    /// `Op::Index`.
    Index { at: Pos },
    /// `Op::SetIndex`.
    SetIndex { at: Pos },
    /// `Op::GetMember`.
    GetMember { at: Pos, name: u32 },
    /// `Op::SetMember`.
    SetMember { at: Pos, name: u32 },
    /// `Op::Print`.
    Print { at: Pos, n: u16 },
    /// `Op::StateGet`.
    StateGet { at: Pos },
    /// `Op::StateSet`.
    StateSet { at: Pos },
    /// `Op::TxBegin`.
    TxBegin,
    /// `Op::TxCommit`.
    TxCommit,
    /// `Op::TxRevert`.
    TxRevert,
    /// `Op::Hash`.
    Hash { at: Pos },
    /// `Op::Verify`.
    Verify { at: Pos },
    /// `Op::LoadLocal2`: slots `a`, `b` to `dst`, `dst + 1`.
    LoadLocal2 { dst: Pos, a: u16, b: u16 },
    /// `Op::AddLocalImm`.
    AddLocalImm { slot: u16, imm: i32 },
    /// `Op::AddLocalLocal`.
    AddLocalLocal { dst: u16, src: u16 },
    /// `Op::AddImm`.
    AddImm { a: Pos, imm: i32 },
    /// `Op::SubImm`.
    SubImm { a: Pos, imm: i32 },
    /// `Op::JumpIfNotLt` .. `Op::JumpIfNotGe`: `a` and `a + 1` compared.
    JumpIfNot { cmp: Cmp, a: Pos, target: u32 },
    /// `Op::JumpIfNotEq`.
    JumpIfNotEq { a: Pos, target: u32 },
    /// `Op::JumpIfNotNe`.
    JumpIfNotNe { a: Pos, target: u32 },
    /// `Op::BranchLocals`.
    BranchLocals { cmp: Cmp, a: u16, b: u16, target: u16 },
    /// `Op::BranchLocalImm`.
    BranchLocalImm { cmp: Cmp, a: u16, imm: i16, target: u16 },
    /// `Op::TryBegin`.
    TryBegin { slot: u16 },
    /// `Op::TryEnd`.
    TryEnd,
    /// `Op::Throw`.
    Throw { src: Pos },
    /// `Op::Require`: the condition at `at`, the message (if any) above it.
    Require { at: Pos, has_msg: bool },
    /// `Op::Revert`: the message (if any) at `at`.
    Revert { at: Pos, has_msg: bool },
    /// `Op::Reraise`.
    Reraise { src: Pos },
    /// An instruction no path reaches (or whose stack depth is inconsistent, which verified
    /// bytecode never has); executing it is an internal error.
    Trap,

    // --- pairs (see [`fuse`]): the first instruction, which also runs the next one when that
    // is cheap and cannot fail; the next instruction keeps its own form for jumps into it.
    /// `LoadLocal { dst, slot }`, then `AddImm { a: dst, imm }`.
    LoadLocalAddImm { dst: Pos, slot: u16, imm: i32 },
    /// `LoadLocal { dst, slot }`, then `SubImm { a: dst, imm }`.
    LoadLocalSubImm { dst: Pos, slot: u16, imm: i32 },
    /// `LoadLocal { dst, slot }`, then `Return { src: dst }`.
    ReturnLocal { dst: Pos, slot: u16 },
    /// `Add { a }`, then `Return { src: a }`.
    AddReturn { a: Pos },
    /// `Int { dst: a + 1, value }`, then `Mod { a }` (`value` is not 0).
    ModImm { a: Pos, value: i32 },
    /// `LoadLocal2 { dst, a, b }`, then `Add { a: dst }`.
    AddLocals { dst: Pos, a: u16, b: u16 },
    /// `AddLocalImm { slot, imm }`, then a `LoopBack` (read from the next instruction).
    AddLocalImmLoop { slot: u16, imm: i32 },
    /// `LoadLocal2 { dst, a, b }`, then `Add { a: dst }` and `Return { src: dst }` (a triple:
    /// `return a + b;`).
    ReturnAddLocals { dst: Pos, a: u16, b: u16 },
}

const _: () = assert!(std::mem::size_of::<XOp>() <= 12);

impl XOp {
    /// The bytecode opcode the instruction stands for (a pair stands for its first
    /// instruction). Its gas is that opcode's gas in the table.
    #[inline(always)]
    pub fn code(&self) -> OpCode {
        use OpCode as C;
        match *self {
            XOp::Const { .. } => C::Const,
            XOp::Int { .. } | XOp::ModImm { .. } => C::Int,
            XOp::Null { .. } => C::Null,
            XOp::True { .. } => C::True,
            XOp::False { .. } => C::False,
            XOp::Pop { .. } => C::Pop,
            XOp::Dup { .. } => C::Dup,
            XOp::Dup2 { .. } => C::Dup2,
            XOp::Nop | XOp::Trap => C::Nop,
            XOp::LoadLocal { .. } | XOp::LoadLocalAddImm { .. } | XOp::LoadLocalSubImm { .. } => C::LoadLocal,
            XOp::ReturnLocal { .. } => C::LoadLocal,
            XOp::StoreLocal { .. } => C::StoreLocal,
            XOp::LoadGlobal { .. } => C::LoadGlobal,
            XOp::StoreGlobal { .. } => C::StoreGlobal,
            XOp::LoadCell { .. } => C::LoadCell,
            XOp::StoreCell { .. } => C::StoreCell,
            XOp::LoadFree { .. } => C::LoadFree,
            XOp::StoreFree { .. } => C::StoreFree,
            XOp::CheckConst { .. } => C::CheckConst,
            XOp::Add { .. } | XOp::AddReturn { .. } => C::Add,
            XOp::Sub { .. } => C::Sub,
            XOp::Mul { .. } => C::Mul,
            XOp::Div { .. } => C::Div,
            XOp::Mod { .. } => C::Mod,
            XOp::Pow { .. } => C::Pow,
            XOp::Neg { .. } => C::Neg,
            XOp::Not { .. } => C::Not,
            XOp::ToBool { .. } => C::ToBool,
            XOp::Eq { .. } => C::Eq,
            XOp::Ne { .. } => C::Ne,
            XOp::Compare { cmp, .. } => cmp.op().code(),
            XOp::Jump { .. } => C::Jump,
            XOp::JumpIfFalse { .. } => C::JumpIfFalse,
            XOp::JumpIfTrue { .. } => C::JumpIfTrue,
            XOp::LoopBack { .. } => C::LoopBack,
            XOp::ForNext { .. } => C::ForNext,
            XOp::ForPrep { .. } => C::ForPrep,
            XOp::In { .. } => C::In,
            XOp::JumpIfNotNull { .. } => C::JumpIfNotNull,
            XOp::ForPrep2 { .. } => C::ForPrep2,
            XOp::ForNext2 { .. } => C::ForNext2,
            XOp::JumpIfBound { .. } => C::JumpIfBound,
            XOp::Call { .. } => C::Call,
            XOp::CallMethod { .. } => C::CallMethod,
            XOp::Return { .. } => C::Return,
            XOp::ReturnNull { .. } => C::ReturnNull,
            XOp::MakeClosure { .. } => C::MakeClosure,
            XOp::This { .. } => C::This,
            XOp::Emit { .. } => C::Emit,
            XOp::NewEntity { .. } => C::NewEntity,
            XOp::UseModule { .. } => C::UseModule,
            XOp::LoadModule { .. } => C::LoadModule,
            XOp::ImportLoad { .. } => C::ImportLoad,
            XOp::ImportStore { .. } => C::ImportStore,
            XOp::Halt => C::Halt,
            XOp::MakeList { .. } => C::MakeList,
            XOp::MakeMap { .. } => C::MakeMap,
            XOp::Index { .. } => C::Index,
            XOp::SetIndex { .. } => C::SetIndex,
            XOp::GetMember { .. } => C::GetMember,
            XOp::SetMember { .. } => C::SetMember,
            XOp::Print { .. } => C::Print,
            XOp::StateGet { .. } => C::StateGet,
            XOp::StateSet { .. } => C::StateSet,
            XOp::TxBegin => C::TxBegin,
            XOp::TxCommit => C::TxCommit,
            XOp::TxRevert => C::TxRevert,
            XOp::Hash { .. } => C::Hash,
            XOp::Verify { .. } => C::Verify,
            XOp::TryBegin { .. } => C::TryBegin,
            XOp::TryEnd => C::TryEnd,
            XOp::Throw { .. } => C::Throw,
            XOp::Require { .. } => C::Require,
            XOp::Revert { .. } => C::Revert,
            XOp::Reraise { .. } => C::Reraise,
            XOp::LoadLocal2 { .. } | XOp::AddLocals { .. } | XOp::ReturnAddLocals { .. } => C::LoadLocal2,
            XOp::AddLocalImm { .. } | XOp::AddLocalImmLoop { .. } => C::AddLocalImm,
            XOp::AddLocalLocal { .. } => C::AddLocalLocal,
            XOp::AddImm { .. } => C::AddImm,
            XOp::SubImm { .. } => C::SubImm,
            XOp::JumpIfNot { .. } => C::JumpIfNotLt,
            XOp::JumpIfNotEq { .. } => C::JumpIfNotEq,
            XOp::JumpIfNotNe { .. } => C::JumpIfNotNe,
            XOp::BranchLocals { .. } => C::BranchLocals,
            XOp::BranchLocalImm { .. } => C::BranchLocalImm,
        }
    }

    /// Gas of the instruction: that of the bytecode instruction it stands for (constant per
    /// variant, so the dispatch loop's gas charge folds to an immediate).
    #[inline(always)]
    pub fn gas(&self) -> u64 {
        self.code().gas()
    }
}

/// A function's executable form.
#[derive(Debug, Clone, Default)]
pub struct RegCode {
    /// One instruction per bytecode instruction.
    pub ops: Vec<XOp>,
    /// The stack top (first free position) before each instruction, and after the last one.
    pub top: Vec<Pos>,
    /// Where the operands start.
    pub operand_base: Pos,
    /// Positions the frame may use: at least every `top` plus what any instruction pushes.
    pub frame_size: Pos,
}

impl RegCode {
    /// The stack top before instruction `pc` (the operand base for unreachable ones).
    #[inline]
    pub fn top_at(&self, pc: usize) -> Pos {
        self.top.get(pc).copied().unwrap_or(self.operand_base)
    }
}

/// Translates a function's bytecode; its operands start at `operand_base`.
pub fn translate(code: &[Op], operand_base: u32) -> RegCode {
    translate_with_handlers(code, &[], operand_base)
}

/// Translates a function's bytecode with its exception table (whose handlers are entries of
/// the code besides pc 0); its operands start at `operand_base`.
pub fn translate_with_handlers(code: &[Op], handlers: &[Handler], operand_base: u32) -> RegCode {
    let Depths { depth, broken, .. } = stack_depths(code, handlers);
    let mut ops = Vec::with_capacity(code.len());
    let mut top = Vec::with_capacity(code.len() + 1);
    let mut frame_size = operand_base;
    for (pc, op) in code.iter().enumerate() {
        let (x, t) = match (depth[pc], broken[pc]) {
            (Some(d), false) => match operand_base.checked_add(d) {
                Some(o) => (lower(*op, o), o),
                None => (XOp::Trap, operand_base),
            },
            _ => (XOp::Trap, operand_base),
        };
        let (pops, pushes) = op.stack_effect();
        let high = t.saturating_sub(pops).saturating_add(pushes);
        frame_size = frame_size.max(t).max(high);
        ops.push(x);
        top.push(t);
    }
    top.push(operand_base);
    fuse(&mut ops);
    RegCode { ops, top, operand_base, frame_size }
}

/// Gas of the instructions after the first of a pair or triple (what its fast path adds).
pub fn second_gas(x: XOp) -> u64 {
    use OpCode as C;
    match x {
        XOp::LoadLocalAddImm { .. } => C::AddImm.gas(),
        XOp::LoadLocalSubImm { .. } => C::SubImm.gas(),
        XOp::ReturnLocal { .. } | XOp::AddReturn { .. } => C::Return.gas(),
        XOp::ModImm { .. } => C::Mod.gas(),
        XOp::AddLocals { .. } => C::Add.gas(),
        XOp::AddLocalImmLoop { .. } => C::LoopBack.gas(),
        XOp::ReturnAddLocals { .. } => C::Add.gas() + C::Return.gas(),
        _ => 0,
    }
}

/// Pairs adjacent instructions that call-heavy code and loops run back to back (and one
/// triple, `return a + b;`). The pair replaces only the first instruction; the others keep
/// their own form, so a jump to them, single-stepping (which runs pairs as their first
/// instruction alone) and the pair's slow cases (which also run just the first instruction and
/// let the next run on its own) all see the bytecode's instructions. A pair therefore never
/// changes what a program does, only how many dispatches it takes.
fn fuse(ops: &mut [XOp]) {
    for i in 0..ops.len().saturating_sub(1) {
        let pair = match (ops[i], ops[i + 1]) {
            (XOp::LoadLocal { dst, slot }, XOp::AddImm { a, imm }) if a == dst => {
                XOp::LoadLocalAddImm { dst, slot, imm }
            }
            (XOp::LoadLocal { dst, slot }, XOp::SubImm { a, imm }) if a == dst => {
                XOp::LoadLocalSubImm { dst, slot, imm }
            }
            (XOp::LoadLocal { dst, slot }, XOp::Return { src }) if src == dst => XOp::ReturnLocal { dst, slot },
            (XOp::Add { a }, XOp::Return { src }) if src == a => XOp::AddReturn { a },
            (XOp::Int { dst, value }, XOp::Mod { a }) if dst == a.wrapping_add(1) && value != 0 => {
                XOp::ModImm { a, value }
            }
            (XOp::LoadLocal2 { dst, a, b }, XOp::Add { a: x }) if x == dst => match ops.get(i + 2) {
                Some(XOp::Return { src }) if *src == dst => XOp::ReturnAddLocals { dst, a, b },
                _ => XOp::AddLocals { dst, a, b },
            },
            (XOp::AddLocalImm { slot, imm }, XOp::LoopBack { .. }) => XOp::AddLocalImmLoop { slot, imm },
            _ => continue,
        };
        ops[i] = pair;
    }
}

/// The executable form of `op`, the stack top before it being `o`.
fn lower(op: Op, o: Pos) -> XOp {
    // Positions below the top; the depth analysis guarantees they exist.
    let below = |n: u32| o.saturating_sub(n);
    match op {
        Op::Const { idx } => XOp::Const { dst: o, idx },
        Op::Int { value } => XOp::Int { dst: o, value },
        Op::Null => XOp::Null { dst: o },
        Op::True => XOp::True { dst: o },
        Op::False => XOp::False { dst: o },
        Op::Pop => XOp::Pop { src: below(1) },
        Op::Dup => XOp::Dup { dst: o },
        Op::Dup2 => XOp::Dup2 { dst: o },
        Op::Nop => XOp::Nop,
        Op::LoadLocal { slot } => XOp::LoadLocal { dst: o, slot },
        Op::StoreLocal { slot } => XOp::StoreLocal { slot, src: below(1) },
        Op::LoadGlobal { idx } => XOp::LoadGlobal { dst: o, idx },
        Op::StoreGlobal { idx } => XOp::StoreGlobal { src: below(1), idx },
        Op::LoadCell { slot } => XOp::LoadCell { dst: o, slot },
        Op::StoreCell { slot } => XOp::StoreCell { slot, src: below(1) },
        Op::LoadFree { idx } => XOp::LoadFree { dst: o, idx },
        Op::StoreFree { idx } => XOp::StoreFree { idx, src: below(1) },
        Op::CheckConst { name } => XOp::CheckConst { src: below(1), name },
        Op::Add => XOp::Add { a: below(2) },
        Op::Sub => XOp::Sub { a: below(2) },
        Op::Mul => XOp::Mul { a: below(2) },
        Op::Div => XOp::Div { a: below(2) },
        Op::Mod => XOp::Mod { a: below(2) },
        Op::Pow => XOp::Pow { a: below(2) },
        Op::Neg => XOp::Neg { a: below(1) },
        Op::Not => XOp::Not { a: below(1) },
        Op::ToBool => XOp::ToBool { a: below(1) },
        Op::Eq => XOp::Eq { a: below(2) },
        Op::Ne => XOp::Ne { a: below(2) },
        Op::Lt | Op::Le | Op::Gt | Op::Ge => match Cmp::of(op) {
            Some(cmp) => XOp::Compare { cmp, a: below(2) },
            None => XOp::Trap,
        },
        Op::Jump { target } => XOp::Jump { target },
        Op::JumpIfFalse { target } => XOp::JumpIfFalse { src: below(1), target },
        Op::JumpIfTrue { target } => XOp::JumpIfTrue { src: below(1), target },
        Op::LoopBack { target, loop_id } => XOp::LoopBack { target, loop_id },
        Op::ForNext { slot, exit } => XOp::ForNext { slot, dst: o, exit },
        Op::ForPrep { slot } => XOp::ForPrep { slot, src: below(1) },
        Op::In => XOp::In { a: below(2) },
        Op::JumpIfNotNull { target } => XOp::JumpIfNotNull { src: below(1), target },
        Op::ForPrep2 { slot } => XOp::ForPrep2 { slot, src: below(1) },
        Op::ForNext2 { slot, exit } => XOp::ForNext2 { slot, dst: o, exit },
        Op::JumpIfBound { slot, target } => XOp::JumpIfBound { slot, target },
        Op::Call { argc } => XOp::Call { at: below(u32::from(argc) + 1), argc },
        Op::CallMethod { name, argc } => XOp::CallMethod { at: below(u32::from(argc) + 1), name, argc },
        Op::Return => XOp::Return { src: below(1) },
        Op::ReturnNull => XOp::ReturnNull { top: o },
        Op::MakeClosure { proto } => XOp::MakeClosure { dst: o, proto },
        Op::This => XOp::This { dst: o },
        Op::Emit { name, argc } => XOp::Emit { at: below(u32::from(argc)), name, argc },
        Op::NewEntity { name, n } => XOp::NewEntity { at: below(1 + 2 * u32::from(n)), name, n },
        Op::UseModule { module } => XOp::UseModule { dst: o, module },
        Op::LoadModule { module } => XOp::LoadModule { dst: o, module },
        Op::ImportLoad { idx } => XOp::ImportLoad { dst: o, idx },
        Op::ImportStore { idx } => XOp::ImportStore { src: below(1), idx },
        Op::Halt => XOp::Halt,
        Op::MakeList { n } => XOp::MakeList { at: below(n), n },
        Op::MakeMap { n } => XOp::MakeMap { at: below(n.saturating_mul(2)), n },
        Op::Index => XOp::Index { at: below(2) },
        Op::SetIndex => XOp::SetIndex { at: below(3) },
        Op::GetMember { name } => XOp::GetMember { at: below(1), name },
        Op::SetMember { name } => XOp::SetMember { at: below(2), name },
        Op::Print { n } => XOp::Print { at: below(u32::from(n)), n },
        Op::StateGet => XOp::StateGet { at: below(1) },
        Op::StateSet => XOp::StateSet { at: below(2) },
        Op::TxBegin => XOp::TxBegin,
        Op::TxCommit => XOp::TxCommit,
        Op::TxRevert => XOp::TxRevert,
        Op::Hash => XOp::Hash { at: below(1) },
        Op::Verify => XOp::Verify { at: below(2) },
        Op::TryBegin { slot } => XOp::TryBegin { slot },
        Op::TryEnd => XOp::TryEnd,
        Op::Throw => XOp::Throw { src: below(1) },
        Op::Require { has_msg } => XOp::Require { at: below(1 + u32::from(has_msg)), has_msg },
        Op::Revert { has_msg } => XOp::Revert { at: below(u32::from(has_msg)), has_msg },
        Op::Reraise => XOp::Reraise { src: below(1) },
        Op::LoadLocal2 { a, b } => XOp::LoadLocal2 { dst: o, a, b },
        Op::AddLocalImm { slot, imm } => XOp::AddLocalImm { slot, imm },
        Op::AddLocalLocal { dst, src } => XOp::AddLocalLocal { dst, src },
        Op::AddImm { imm } => XOp::AddImm { a: below(1), imm },
        Op::SubImm { imm } => XOp::SubImm { a: below(1), imm },
        Op::JumpIfNotLt { target } => XOp::JumpIfNot { cmp: Cmp::Lt, a: below(2), target },
        Op::JumpIfNotLe { target } => XOp::JumpIfNot { cmp: Cmp::Le, a: below(2), target },
        Op::JumpIfNotGt { target } => XOp::JumpIfNot { cmp: Cmp::Gt, a: below(2), target },
        Op::JumpIfNotGe { target } => XOp::JumpIfNot { cmp: Cmp::Ge, a: below(2), target },
        Op::JumpIfNotEq { target } => XOp::JumpIfNotEq { a: below(2), target },
        Op::JumpIfNotNe { target } => XOp::JumpIfNotNe { a: below(2), target },
        Op::BranchLocals { cmp, a, b, target } => XOp::BranchLocals { cmp, a, b, target },
        Op::BranchLocalImm { cmp, a, imm, target } => XOp::BranchLocalImm { cmp, a, imm, target },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operands_get_the_positions_the_stack_would_give_them() {
        // f(n - 1) + 2 in a function with one slot: operands start at 1.
        let code = [
            Op::LoadGlobal { idx: 0 },
            Op::LoadLocal { slot: 0 },
            Op::SubImm { imm: 1 },
            Op::Call { argc: 1 },
            Op::Int { value: 2 },
            Op::Add,
            Op::Return,
        ];
        let rc = translate(&code, 1);
        assert_eq!(
            rc.ops,
            vec![
                XOp::LoadGlobal { dst: 1, idx: 0 },
                XOp::LoadLocalSubImm { dst: 2, slot: 0, imm: 1 },
                XOp::SubImm { a: 2, imm: 1 },
                XOp::Call { at: 1, argc: 1 },
                XOp::Int { dst: 2, value: 2 },
                XOp::AddReturn { a: 1 },
                XOp::Return { src: 1 },
            ]
        );
        assert_eq!(rc.top, vec![1, 2, 3, 3, 2, 3, 2, 1]);
        assert_eq!(rc.frame_size, 3);
    }

    #[test]
    fn for_each_exits_without_the_element_and_dead_code_traps() {
        let code =
            [Op::ForNext { slot: 0, exit: 3 }, Op::Pop, Op::Jump { target: 0 }, Op::ReturnNull, Op::Int { value: 1 }];
        let rc = translate(&code, 2);
        assert_eq!(rc.ops[0], XOp::ForNext { slot: 0, dst: 2, exit: 3 });
        assert_eq!(rc.ops[1], XOp::Pop { src: 2 });
        assert_eq!(rc.ops[3], XOp::ReturnNull { top: 2 });
        assert_eq!(rc.ops[4], XOp::Trap, "no path reaches it");
    }

    #[test]
    fn gas_is_the_bytecode_gas() {
        let code = [
            Op::Const { idx: 0 },
            Op::LoadLocal2 { a: 0, b: 1 },
            Op::JumpIfNotGe { target: 4 },
            Op::Hash,
            Op::Call { argc: 0 },
            Op::BranchLocalImm { cmp: Cmp::Le, a: 0, imm: 3, target: 7 },
            Op::Gt,
            Op::Return,
        ];
        let rc = translate(&code, 2);
        for (x, op) in rc.ops.iter().zip(&code) {
            if *x != XOp::Trap {
                assert_eq!(x.gas(), op.gas(), "{op:?}");
            }
        }
    }

    #[test]
    fn pairs_keep_the_second_instruction() {
        let code = [
            Op::LoadLocal2 { a: 0, b: 1 },
            Op::Add,
            Op::Int { value: 7 },
            Op::Mod,
            Op::Int { value: 0 },
            Op::Mod,
            Op::LoadLocal { slot: 0 },
            Op::Return,
        ];
        let rc = translate(&code, 2);
        assert_eq!(rc.ops[0], XOp::AddLocals { dst: 2, a: 0, b: 1 });
        assert_eq!(rc.ops[1], XOp::Add { a: 2 });
        assert_eq!(rc.ops[2], XOp::ModImm { a: 2, value: 7 });
        assert_eq!(rc.ops[3], XOp::Mod { a: 2 });
        assert_eq!(rc.ops[4], XOp::Int { dst: 3, value: 0 }, "no pair for a zero divisor");
        assert_eq!(rc.ops[6], XOp::ReturnLocal { dst: 3, slot: 0 });
        assert_eq!(second_gas(rc.ops[6]), Op::Return.gas());
        assert_eq!(rc.ops[0].gas() + second_gas(rc.ops[0]), Op::LoadLocal2 { a: 0, b: 1 }.gas() + Op::Add.gas());
        let ret = translate(&[Op::LoadLocal2 { a: 0, b: 1 }, Op::Add, Op::Return], 2);
        assert_eq!(ret.ops[0], XOp::ReturnAddLocals { dst: 2, a: 0, b: 1 });
        assert_eq!(ret.ops[1], XOp::AddReturn { a: 2 });
        let looped = translate(&[Op::AddLocalImm { slot: 0, imm: 1 }, Op::LoopBack { target: 0, loop_id: 0 }], 1);
        assert_eq!(looped.ops[0], XOp::AddLocalImmLoop { slot: 0, imm: 1 });
        assert_eq!(looped.ops[1], XOp::LoopBack { target: 0, loop_id: 0 });
    }

    #[test]
    fn inconsistent_depths_trap() {
        let code = [Op::True, Op::JumpIfTrue { target: 3 }, Op::Int { value: 1 }, Op::Halt];
        let rc = translate(&code, 0);
        assert_eq!(rc.ops[3], XOp::Trap);
    }
}
