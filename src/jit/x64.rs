//! Code generation: a planned loop becomes x86-64 machine code, emitted with `dynasm!`.
//!
//! Register roles (fixed for every loop):
//! - `r15` the [`JitContext`](super::abi::JitContext), `r14` frame slot 0, `r13` stack slot 0
//!   (the globals), `r12` fuel left (counting down from the context's fuel, so a checkpoint is
//!   one compare with an immediate), `rbx` gas used;
//! - `rax`, `rcx`, `rdx`, `xmm0`-`xmm2` scratch inside one instruction;
//! - `rbp rsi rdi r8-r11`: typed loop variables (the most used ones) and operand-stack temps.
//!
//! Operands are tracked in a virtual stack: constants and variable reads stay lazy until an
//! instruction consumes them, so `i < n` becomes one `cmp`. At labels the stack is canonical
//! (operand `d` in temp register `d`, or in spill slot `d`). Every exit (a failed guard, an
//! overflow, the end of the loop, an empty fuel tank) goes through a cold stub that stores the
//! pending operands into the context, corrects the instruction and gas counts, and jumps to
//! the shared epilogue, which writes register-held variables back to their slots.
//!
//! Instructions and gas are charged once per *charge group*: a block and the blocks that
//! follow it only by falling through a conditional branch that leaves the loop (the loop test
//! and the body behind it are one group, one `sub` and one `add` per iteration). An exit before
//! the end of a group gives back what was charged for the instructions it skips. With block
//! counting on, every block is its own group.

// `dynasm!` converts dynamic register numbers with `From`, which clippy flags for `u8`.
#![allow(clippy::useless_conversion)]

use std::collections::HashMap;

use dynasmrt::{DynamicLabel, DynasmApi, DynasmLabelApi, dynasm, x64::Assembler};

use super::abi::{
    CTX_BLOCK_COUNTS, CTX_FRAME, CTX_FUEL, CTX_GAS, CTX_GLOBALS, CTX_INSTRUCTIONS, CTX_N_PENDING, CTX_PENDING,
    CTX_RESUME, CTX_SPILL, PENDING_SIZE, VALUE_PAYLOAD, VALUE_SIZE, VALUE_TAG,
};
use super::exec::JitCode;
use super::plan::{BailReason, ExitKind, Flow, Home, Plan, Ty, VarKind, VarRef, transfer};
use crate::bytecode::op::{Cmp, Op};
use crate::vm::program::Proto;
use crate::vm::value::Value;

macro_rules! asm {
    ($ops:expr ; $($t:tt)*) => {
        dynasm!($ops ; .arch x64 ; $($t)*)
    };
}

const RAX: u8 = 0;
const RCX: u8 = 1;
/// Base register of frame slots.
const FRAME: u8 = 14;
/// Base register of absolute stack indices.
const GLOBALS: u8 = 13;

/// One exit site of a compiled loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExitSite {
    /// Where the interpreter resumes.
    pub pc: u32,
    /// Why control left native code.
    pub kind: ExitKind,
    /// True if the exit leaves in the middle of a block whose entry was already counted, so
    /// the instructions from `pc` to the block's end were counted but did not run.
    pub partial: bool,
}

/// A loop compiled to machine code.
#[derive(Debug)]
pub struct Compiled {
    /// The executable code.
    pub code: JitCode,
    /// Exit sites, indexed by the value the code returns.
    pub exits: Vec<ExitSite>,
    /// Native offset at which each bytecode instruction's code starts, in order.
    pub pc_offsets: Vec<(u32, usize)>,
    /// Native offset of the first exit stub (everything after is cold code).
    pub stubs_at: usize,
    /// Fuel checkpoints other than the header where the code can start again after a fuel
    /// exit there (empty operand stack, charged on their own): a context's `resume` of `k`
    /// starts at `resume_points[k - 1]`.
    pub resume_points: Vec<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Loc {
    /// A constant (payload bits).
    Imm(u64),
    /// The current value of a variable.
    Var(usize),
    /// The operand's canonical home (temp register or spill slot of its depth).
    Home,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Entry {
    ty: Ty,
    loc: Loc,
}

#[derive(Debug, Clone, Copy)]
enum Rhs {
    Reg(u8),
    Imm(i32),
}

#[derive(Debug, Clone, Copy)]
enum Alu {
    Add,
    Sub,
    Mul,
    Cmp,
}

struct Stub {
    label: DynamicLabel,
    id: u32,
    /// An in-place `reg += rhs` / `reg -= rhs` that overflowed, to undo first.
    undo: Option<(Alu, u8, Rhs)>,
    stack: Vec<Entry>,
    adj_instructions: u64,
    adj_gas: u64,
    write_back: bool,
}

struct Emitter<'a> {
    ops: Assembler,
    /// Count block entries (in the context's `block_counts`).
    counting: bool,
    plan: &'a Plan,
    proto: &'a Proto,
    stack: Vec<Entry>,
    labels: HashMap<u32, DynamicLabel>,
    exits: Vec<ExitSite>,
    stubs: Vec<Stub>,
    pc_offsets: Vec<(u32, usize)>,
    /// Block starts charged with the block before them (see the module docs).
    merged: std::collections::BTreeSet<u32>,
    /// See [`Compiled::resume_points`].
    resume_points: Vec<u32>,
}

/// Compiles a planned loop. Errors are refusals (one-line reasons). With `counting`, the code
/// also counts entries into each block of the plan (in `plan.block_starts` order) in the
/// context's `block_counts`, which must then point to one counter per block.
pub fn compile(proto: &Proto, plan: &Plan, counting: bool) -> Result<Compiled, String> {
    let ops = Assembler::new().map_err(|e| format!("cannot allocate code memory: {e}"))?;
    let mut em = Emitter {
        ops,
        counting,
        plan,
        proto,
        stack: Vec::new(),
        labels: HashMap::new(),
        exits: Vec::new(),
        stubs: Vec::new(),
        pc_offsets: Vec::new(),
        merged: if counting { Default::default() } else { merged_blocks(proto, plan) },
        resume_points: Vec::new(),
    };
    for &pc in &plan.block_starts {
        let label = em.ops.new_dynamic_label();
        em.labels.insert(pc, label);
    }
    em.prologue();
    em.body();
    let stubs_at = em.ops.offset().0;
    em.emit_stubs();
    em.epilogue();
    let Emitter { ops, exits, pc_offsets, resume_points, .. } = em;
    let buffer = ops.finalize().map_err(|_| "internal error: code generation failed".to_string())?;
    Ok(Compiled { code: JitCode::new(buffer, dynasmrt::AssemblyOffset(0)), exits, pc_offsets, stubs_at, resume_points })
}

/// Block starts reached only by falling through a conditional branch whose target lies outside
/// the loop: they can be charged together with the block before them.
fn merged_blocks(proto: &Proto, plan: &Plan) -> std::collections::BTreeSet<u32> {
    let region = plan.header..=plan.back_edge;
    let code = |pc: u32| proto.code.get(pc as usize);
    let targets: std::collections::BTreeSet<u32> = region.clone().filter_map(|pc| code(pc)?.jump_target()).collect();
    let mut merged = std::collections::BTreeSet::new();
    for pc in plan.header..plan.back_edge {
        let Some(op) = code(pc) else { continue };
        let Some(target) = op.jump_target() else { continue };
        let conditional = !matches!(op, Op::Jump { .. } | Op::LoopBack { .. });
        let next = pc + 1;
        if conditional
            && !region.contains(&target)
            && plan.block_starts.contains(&next)
            && !plan.checkpoints.contains_key(&next)
            && !targets.contains(&next)
        {
            merged.insert(next);
        }
    }
    merged
}

fn var_base_disp(at: VarRef) -> (u8, i32) {
    match at {
        VarRef::Frame(s) => (FRAME, s as i32 * VALUE_SIZE),
        VarRef::Abs(i) => (GLOBALS, i as i32 * VALUE_SIZE),
    }
}

fn fits_i32(bits: u64) -> Option<i32> {
    i32::try_from(bits as i64).ok()
}

impl Emitter<'_> {
    // --- small helpers ---------------------------------------------------------------------

    fn var_addr(&self, v: usize) -> (u8, i32) {
        self.plan.vars.get(v).map(|var| var_base_disp(var.at)).unwrap_or((FRAME, 0))
    }

    fn var_home(&self, v: usize) -> Home {
        self.plan.vars.get(v).map(|var| var.home).unwrap_or(Home::Slot)
    }

    fn var_kind(&self, v: usize) -> VarKind {
        self.plan.vars.get(v).map(|var| var.kind).unwrap_or(VarKind::Dynamic(None))
    }

    /// The type a variable holds at this point of the plan (integers when unknown).
    fn var_ty(&self, v: usize) -> Ty {
        match self.var_kind(v) {
            VarKind::Typed(t) | VarKind::Dynamic(Some(t)) => t,
            VarKind::Dynamic(None) => Ty::Int,
        }
    }

    fn temp(&self, depth: usize) -> Option<u8> {
        self.plan.temps.get(depth).copied()
    }

    fn spill_disp(depth: usize) -> i32 {
        CTX_SPILL + 8 * depth as i32
    }

    fn types(&self) -> Vec<Ty> {
        self.stack.iter().map(|e| e.ty).collect()
    }

    /// The last instruction of the charge group of `pc`.
    fn group_end(&self, pc: u32) -> u32 {
        let mut end = self.plan.block_end(pc);
        while self.merged.contains(&(end + 1)) {
            end = self.plan.block_end(end + 1);
        }
        end
    }

    /// Instructions and gas of `pc..=end of its charge group` (charged at the group's start but
    /// not run when an exit leaves before `pc`).
    fn adjustment(&self, pc: u32) -> (u64, u64) {
        let end = self.group_end(pc);
        let mut n = 0;
        let mut gas = 0;
        for p in pc..=end {
            if let Some(op) = self.proto.code.get(p as usize) {
                n += 1;
                gas += op.gas();
            }
        }
        (n, gas)
    }

    fn label(&mut self, pc: u32) -> DynamicLabel {
        // Every branch target inside the loop is a block start and so already has a label; a
        // missing one would stay unbound, and finalizing would then fail (a refusal).
        match self.labels.get(&pc) {
            Some(l) => *l,
            None => {
                let l = self.ops.new_dynamic_label();
                self.labels.insert(pc, l);
                l
            }
        }
    }

    /// Registers an exit site and its stub; returns the label to jump to.
    fn exit(&mut self, pc: u32, kind: ExitKind, stack: Vec<Entry>, adj: (u64, u64), write_back: bool) -> DynamicLabel {
        let id = self.exits.len() as u32;
        self.exits.push(ExitSite { pc, kind, partial: adj.0 > 0 });
        let label = self.ops.new_dynamic_label();
        self.stubs.push(Stub { label, id, undo: None, stack, adj_instructions: adj.0, adj_gas: adj.1, write_back });
        label
    }

    /// What falling out of the charge group after instruction `pc` gives back: the
    /// instructions charged for the rest of the group.
    fn leave_group(&self, pc: u32) -> (u64, u64) {
        if self.merged.contains(&(pc + 1)) { self.adjustment(pc + 1) } else { (0, 0) }
    }

    /// An exit before `pc` runs, with the operand stack `pre`.
    fn bail(&mut self, pc: u32, reason: BailReason, pre: &[Entry]) -> DynamicLabel {
        let adj = self.adjustment(pc);
        self.exit(pc, ExitKind::Bailout(reason), pre.to_vec(), adj, true)
    }

    // --- moving values ---------------------------------------------------------------------

    /// Loads the payload of `e` (at `depth`) into `dst`.
    fn load_gpr(&mut self, dst: u8, depth: usize, e: Entry) {
        match e.loc {
            Loc::Imm(bits) => match fits_i32(bits) {
                Some(i) => asm!(self.ops ; mov Rq(dst), i),
                None => asm!(self.ops ; mov Rq(dst), QWORD bits as i64),
            },
            Loc::Var(v) => match self.var_home(v) {
                Home::Reg(r) => {
                    if r != dst {
                        asm!(self.ops ; mov Rq(dst), Rq(r));
                    }
                }
                Home::Slot => {
                    let (b, d) = self.var_addr(v);
                    if e.ty == Ty::Bool {
                        asm!(self.ops ; movzx Rd(dst), BYTE [Rq(b) + d + VALUE_PAYLOAD]);
                    } else {
                        asm!(self.ops ; mov Rq(dst), QWORD [Rq(b) + d + VALUE_PAYLOAD]);
                    }
                }
            },
            Loc::Home => match self.temp(depth) {
                Some(r) => {
                    if r != dst {
                        asm!(self.ops ; mov Rq(dst), Rq(r));
                    }
                }
                None => {
                    let d = Self::spill_disp(depth);
                    asm!(self.ops ; mov Rq(dst), QWORD [r15 + d]);
                }
            },
        }
    }

    /// A register holding the payload of `e`, loading it into `scratch` if needed.
    fn reg_of(&mut self, depth: usize, e: Entry, scratch: u8) -> u8 {
        match e.loc {
            Loc::Var(v) => {
                if let Home::Reg(r) = self.var_home(v) {
                    return r;
                }
            }
            Loc::Home => {
                if let Some(r) = self.temp(depth) {
                    return r;
                }
            }
            Loc::Imm(_) => {}
        }
        self.load_gpr(scratch, depth, e);
        scratch
    }

    fn rhs_of(&mut self, depth: usize, e: Entry, scratch: u8) -> Rhs {
        if let Loc::Imm(bits) = e.loc
            && let Some(i) = fits_i32(bits)
        {
            return Rhs::Imm(i);
        }
        Rhs::Reg(self.reg_of(depth, e, scratch))
    }

    /// Loads `e` as a double into `xmm{x}` (integers are converted).
    fn load_xmm(&mut self, x: u8, depth: usize, e: Entry) {
        if e.ty == Ty::Float {
            match e.loc {
                Loc::Var(v) if self.var_home(v) == Home::Slot => {
                    let (b, d) = self.var_addr(v);
                    asm!(self.ops ; movsd Rx(x), QWORD [Rq(b) + d + VALUE_PAYLOAD]);
                }
                Loc::Home if self.temp(depth).is_none() => {
                    let d = Self::spill_disp(depth);
                    asm!(self.ops ; movsd Rx(x), QWORD [r15 + d]);
                }
                _ => {
                    let r = self.reg_of(depth, e, RAX);
                    asm!(self.ops ; movq Rx(x), Rq(r));
                }
            }
        } else {
            let r = self.reg_of(depth, e, RAX);
            asm!(self.ops ; cvtsi2sd Rx(x), Rq(r));
        }
    }

    /// Stores `rax` as the result at `depth` and pushes it.
    fn push_gpr(&mut self, depth: usize, ty: Ty) {
        match self.temp(depth) {
            Some(r) => asm!(self.ops ; mov Rq(r), rax),
            None => {
                let d = Self::spill_disp(depth);
                asm!(self.ops ; mov QWORD [r15 + d], rax);
            }
        }
        self.stack.truncate(depth);
        self.stack.push(Entry { ty, loc: Loc::Home });
    }

    /// Stores `xmm0` as the float result at `depth` and pushes it.
    fn push_xmm(&mut self, depth: usize) {
        match self.temp(depth) {
            Some(r) => asm!(self.ops ; movq Rq(r), xmm0),
            None => {
                let d = Self::spill_disp(depth);
                asm!(self.ops ; movsd QWORD [r15 + d], xmm0);
            }
        }
        self.stack.truncate(depth);
        self.stack.push(Entry { ty: Ty::Float, loc: Loc::Home });
    }

    /// Moves the operand at `depth` into its home.
    fn materialize(&mut self, depth: usize) {
        let Some(&e) = self.stack.get(depth) else { return };
        if e.loc == Loc::Home {
            return;
        }
        match self.temp(depth) {
            Some(r) => self.load_gpr(r, depth, e),
            None => {
                let src = self.reg_of(depth, e, RAX);
                let d = Self::spill_disp(depth);
                asm!(self.ops ; mov QWORD [r15 + d], Rq(src));
            }
        }
        if let Some(slot) = self.stack.get_mut(depth) {
            slot.loc = Loc::Home;
        }
    }

    fn canonicalize(&mut self) {
        for d in 0..self.stack.len() {
            self.materialize(d);
        }
    }

    /// Before variable `v` changes, operands that still read it lazily get their own copy.
    fn flush_var(&mut self, v: usize) {
        for d in 0..self.stack.len() {
            if self.stack.get(d).map(|e| e.loc) == Some(Loc::Var(v)) {
                self.materialize(d);
            }
        }
    }

    /// Writes register `src` (payload of type `ty`) into variable `v`.
    fn write_var(&mut self, v: usize, src: u8, ty: Ty) {
        match (self.var_kind(v), self.var_home(v)) {
            (VarKind::Typed(_), Home::Reg(r)) => {
                if r != src {
                    asm!(self.ops ; mov Rq(r), Rq(src));
                }
            }
            (VarKind::Typed(_), Home::Slot) => {
                let (b, d) = self.var_addr(v);
                asm!(self.ops ; mov QWORD [Rq(b) + d + VALUE_PAYLOAD], Rq(src));
            }
            (VarKind::Dynamic(_), _) => {
                let (b, d) = self.var_addr(v);
                let tag = ty.tag() as i8;
                asm!(self.ops
                    ; mov BYTE [Rq(b) + d + VALUE_TAG], tag
                    ; mov QWORD [Rq(b) + d + VALUE_PAYLOAD], Rq(src)
                );
            }
        }
    }

    /// For a dynamic variable: bail out unless it currently holds a `ty`.
    fn guard_var(&mut self, pc: u32, v: usize, pre: &[Entry]) {
        if let VarKind::Dynamic(Some(t)) = self.var_kind(v) {
            let (b, d) = self.var_addr(v);
            let tag = t.tag() as i8;
            let fail = self.bail(pc, BailReason::TypeGuard(v), pre);
            asm!(self.ops
                ; cmp BYTE [Rq(b) + d + VALUE_TAG], tag
                ; jne =>fail
            );
        }
    }

    fn alu(&mut self, op: Alu, dst: u8, rhs: Rhs) {
        match (op, rhs) {
            (Alu::Add, Rhs::Reg(r)) => asm!(self.ops ; add Rq(dst), Rq(r)),
            (Alu::Add, Rhs::Imm(i)) => asm!(self.ops ; add Rq(dst), i),
            (Alu::Sub, Rhs::Reg(r)) => asm!(self.ops ; sub Rq(dst), Rq(r)),
            (Alu::Sub, Rhs::Imm(i)) => asm!(self.ops ; sub Rq(dst), i),
            (Alu::Mul, Rhs::Reg(r)) => asm!(self.ops ; imul Rq(dst), Rq(r)),
            (Alu::Mul, Rhs::Imm(i)) => asm!(self.ops ; imul Rq(dst), Rq(dst), i),
            (Alu::Cmp, Rhs::Reg(r)) => asm!(self.ops ; cmp Rq(dst), Rq(r)),
            (Alu::Cmp, Rhs::Imm(i)) => asm!(self.ops ; cmp Rq(dst), i),
        }
    }

    // --- structure -------------------------------------------------------------------------

    fn prologue(&mut self) {
        asm!(self.ops
            ; push rbp
            ; push rbx
            ; push r12
            ; push r13
            ; push r14
            ; push r15
            ; mov r15, rdi
            ; mov r14, QWORD [r15 + CTX_FRAME]
            ; mov r13, QWORD [r15 + CTX_GLOBALS]
            ; mov r12, QWORD [r15 + CTX_FUEL]
            ; xor ebx, ebx
        );
        let header = self.plan.header;
        // Entry guards: every typed variable must hold its type.
        for v in 0..self.plan.vars.len() {
            if let VarKind::Typed(t) = self.var_kind(v) {
                let (b, d) = self.var_addr(v);
                let tag = t.tag() as i8;
                let fail = self.exit(header, ExitKind::Bailout(BailReason::TypeGuard(v)), Vec::new(), (0, 0), false);
                asm!(self.ops
                    ; cmp BYTE [Rq(b) + d + VALUE_TAG], tag
                    ; jne =>fail
                );
            }
        }
        for v in 0..self.plan.vars.len() {
            if let (VarKind::Typed(t), Home::Reg(r)) = (self.var_kind(v), self.var_home(v)) {
                let (b, d) = self.var_addr(v);
                if t == Ty::Bool {
                    asm!(self.ops ; movzx Rd(r), BYTE [Rq(b) + d + VALUE_PAYLOAD]);
                } else {
                    asm!(self.ops ; mov Rq(r), QWORD [Rq(b) + d + VALUE_PAYLOAD]);
                }
            }
        }
        // Going on after a fuel exit at an inner checkpoint (the variables were written back
        // there and hold their types: the caller checked them): jump straight to it.
        let resumable: Vec<u32> = self
            .plan
            .checkpoints
            .keys()
            .copied()
            .filter(|&pc| pc != header && !self.merged.contains(&pc) && self.plan.state(pc).is_some_and(Vec::is_empty))
            .collect();
        for (k, &pc) in resumable.iter().enumerate() {
            let at = self.label(pc);
            let k = k as i32 + 1;
            asm!(self.ops
                ; cmp QWORD [r15 + CTX_RESUME], k
                ; je =>at
            );
        }
        self.resume_points = resumable;
        let start = self.label(header);
        asm!(self.ops ; jmp =>start);
    }

    fn epilogue(&mut self) {
        asm!(self.ops ; ->exit_write_back:);
        for v in 0..self.plan.vars.len() {
            if let (VarKind::Typed(_), Home::Reg(r)) = (self.var_kind(v), self.var_home(v)) {
                let (b, d) = self.var_addr(v);
                asm!(self.ops ; mov QWORD [Rq(b) + d + VALUE_PAYLOAD], Rq(r));
            }
        }
        asm!(self.ops
            ; ->exit_plain:
            ; mov rcx, QWORD [r15 + CTX_FUEL]
            ; sub rcx, r12
            ; mov QWORD [r15 + CTX_INSTRUCTIONS], rcx
            ; mov QWORD [r15 + CTX_GAS], rbx
            ; pop r15
            ; pop r14
            ; pop r13
            ; pop r12
            ; pop rbx
            ; pop rbp
            ; ret
        );
    }

    fn emit_stubs(&mut self) {
        let stubs = std::mem::take(&mut self.stubs);
        for stub in stubs {
            let label = stub.label;
            asm!(self.ops ; =>label);
            if let Some((alu, reg, rhs)) = stub.undo {
                let inverse = if matches!(alu, Alu::Add) { Alu::Sub } else { Alu::Add };
                self.alu(inverse, reg, rhs);
            }
            for (i, e) in stub.stack.iter().enumerate() {
                let at = CTX_PENDING + PENDING_SIZE * i as i32;
                let tag = e.ty.tag() as i32;
                let src = self.reg_of(i, *e, RAX);
                asm!(self.ops
                    ; mov QWORD [r15 + at], tag
                    ; mov QWORD [r15 + at + 8], Rq(src)
                );
            }
            let n = stub.stack.len() as i32;
            let id = stub.id as i32;
            let adj_i = stub.adj_instructions as i32;
            let adj_g = stub.adj_gas as i32;
            asm!(self.ops ; mov QWORD [r15 + CTX_N_PENDING], n);
            if adj_i != 0 {
                asm!(self.ops ; add r12, adj_i);
            }
            if adj_g != 0 {
                asm!(self.ops ; sub rbx, adj_g);
            }
            asm!(self.ops ; mov eax, id);
            if stub.write_back {
                asm!(self.ops ; jmp ->exit_write_back);
            } else {
                asm!(self.ops ; jmp ->exit_plain);
            }
        }
    }

    fn body(&mut self) {
        let plan = self.plan;
        let mut live = false;
        for pc in plan.header..=plan.back_edge {
            let Some(planned) = plan.state(pc).cloned() else {
                live = false;
                continue;
            };
            if plan.block_starts.contains(&pc) {
                if live {
                    self.canonicalize();
                    if self.types() != planned {
                        let stack = self.stack.clone();
                        let adj = if self.merged.contains(&pc) { self.adjustment(pc) } else { (0, 0) };
                        let fail = self.exit(pc, ExitKind::Bailout(BailReason::Join), stack, adj, true);
                        asm!(self.ops ; jmp =>fail);
                    }
                }
                let label = self.label(pc);
                asm!(self.ops ; =>label);
                self.stack = planned.iter().map(|&ty| Entry { ty, loc: Loc::Home }).collect();
                if let Some(&dist) = plan.checkpoints.get(&pc) {
                    let stack = self.stack.clone();
                    let fuel = self.exit(pc, ExitKind::Fuel, stack, (0, 0), true);
                    let dist = dist as i32;
                    asm!(self.ops
                        ; cmp r12, dist
                        ; jb =>fuel
                    );
                }
                if !self.merged.contains(&pc) {
                    let (n, gas) = self.adjustment(pc);
                    let (n, gas) = (n as i32, gas as i32);
                    asm!(self.ops ; sub r12, n);
                    if gas != 0 {
                        asm!(self.ops ; add rbx, gas);
                    }
                }
                if self.counting {
                    // The block is entered: count it (rax is free at block starts).
                    let at = 8 * plan.block_starts.range(..pc).count() as i32;
                    asm!(self.ops
                        ; mov rax, QWORD [r15 + CTX_BLOCK_COUNTS]
                        ; add QWORD [rax + at], 1
                    );
                }
            } else if !live {
                continue;
            }
            self.pc_offsets.push((pc, self.ops.offset().0));
            let Some(op) = self.proto.code.get(pc as usize).copied() else {
                live = false;
                continue;
            };
            live = self.op(pc, op);
        }
    }

    /// Follows a jump from `from` to `target` with the current (post-instruction) stack.
    fn edge_label(&mut self, from: u32, target: u32) -> DynamicLabel {
        let stack = self.stack.clone();
        if !self.plan.contains(target) {
            let adj = self.leave_group(from);
            return self.exit(target, ExitKind::LoopExit, stack, adj, true);
        }
        if self.plan.state(target) != Some(&self.types()) {
            return self.exit(target, ExitKind::Bailout(BailReason::Join), stack, (0, 0), true);
        }
        self.label(target)
    }

    // --- instructions ----------------------------------------------------------------------

    /// Emits one instruction; returns true if control falls through to the next one.
    fn op(&mut self, pc: u32, op: Op) -> bool {
        let pre = self.stack.clone();
        let types = self.types();
        let plan = self.plan;
        let lookup = |at: VarRef| plan.var_of(at).and_then(|v| plan.vars.get(v).map(|var| (v, var.kind)));
        let effect = match transfer(&op, &types, self.proto, &lookup) {
            Ok(e) => e,
            Err(reason) => {
                let fail = self.bail(pc, reason, &pre);
                asm!(self.ops ; jmp =>fail);
                return false;
            }
        };
        let n = self.stack.len();
        let var_at = |at: VarRef| plan.var_of(at).unwrap_or(0);
        let frame = |slot: u16| if plan.is_top { VarRef::Abs(slot as u32) } else { VarRef::Frame(slot) };
        match op {
            Op::Const { idx } => {
                let (ty, bits) = match self.proto.consts.get(idx as usize) {
                    Some(Value::Int(i)) => (Ty::Int, *i as u64),
                    Some(Value::Float(f)) => (Ty::Float, f.to_bits()),
                    Some(Value::Bool(b)) => (Ty::Bool, *b as u64),
                    _ => (Ty::Int, 0),
                };
                self.stack.push(Entry { ty, loc: Loc::Imm(bits) });
            }
            Op::Int { value } => self.stack.push(Entry { ty: Ty::Int, loc: Loc::Imm(value as i64 as u64) }),
            Op::True => self.stack.push(Entry { ty: Ty::Bool, loc: Loc::Imm(1) }),
            Op::False => self.stack.push(Entry { ty: Ty::Bool, loc: Loc::Imm(0) }),
            Op::Nop => {}
            Op::Pop => {
                self.stack.pop();
            }
            Op::Dup => self.dup(n - 1, n),
            Op::Dup2 => {
                self.dup(n - 2, n);
                self.dup(n - 1, n + 1);
            }
            Op::LoadLocal { .. } | Op::LoadGlobal { .. } => {
                let at = match op {
                    Op::LoadLocal { slot } => frame(slot),
                    Op::LoadGlobal { idx } => VarRef::Abs(idx),
                    _ => return false,
                };
                let v = var_at(at);
                self.guard_var(pc, v, &pre);
                self.stack.push(Entry { ty: effect.pushes[0], loc: Loc::Var(v) });
            }
            Op::LoadLocal2 { a, b } => {
                let (va, vb) = (var_at(frame(a)), var_at(frame(b)));
                self.guard_var(pc, va, &pre);
                self.guard_var(pc, vb, &pre);
                self.stack.push(Entry { ty: effect.pushes[0], loc: Loc::Var(va) });
                self.stack.push(Entry { ty: effect.pushes[1], loc: Loc::Var(vb) });
            }
            Op::StoreLocal { .. } | Op::StoreGlobal { .. } => {
                let at = match op {
                    Op::StoreLocal { slot } => frame(slot),
                    Op::StoreGlobal { idx } => VarRef::Abs(idx),
                    _ => return false,
                };
                let v = var_at(at);
                let e = pre[n - 1];
                if let VarKind::Dynamic(_) = self.var_kind(v) {
                    let (b, d) = self.var_addr(v);
                    let fail = self.bail(pc, BailReason::HeapSlot(v), &pre);
                    let heap = Value::FIRST_HEAP_TAG as i8;
                    asm!(self.ops
                        ; cmp BYTE [Rq(b) + d + VALUE_TAG], heap
                        ; jae =>fail
                    );
                }
                self.stack.pop();
                if e.loc != Loc::Var(v) {
                    self.flush_var(v);
                    let src = self.reg_of(n - 1, e, RAX);
                    self.write_var(v, src, e.ty);
                }
            }
            Op::CheckConst { .. } => {
                let e = pre[n - 1];
                let r = self.reg_of(n - 1, e, RAX);
                let fail = self.bail(pc, BailReason::ConstFlag, &pre);
                asm!(self.ops
                    ; test Rq(r), Rq(r)
                    ; jnz =>fail
                );
                self.stack.pop();
            }
            Op::Add | Op::Sub | Op::Mul => {
                let (a, b) = (pre[n - 2], pre[n - 1]);
                let alu = match op {
                    Op::Add => Alu::Add,
                    Op::Sub => Alu::Sub,
                    _ => Alu::Mul,
                };
                self.arith(pc, alu, a, b, n - 2, &pre);
            }
            Op::Div => {
                let (a, b) = (pre[n - 2], pre[n - 1]);
                self.load_xmm(0, n - 2, a);
                let fail = self.bail(pc, BailReason::DivisionByZero, &pre);
                if b.ty == Ty::Int {
                    let r = self.reg_of(n - 1, b, RCX);
                    asm!(self.ops
                        ; test Rq(r), Rq(r)
                        ; jz =>fail
                        ; cvtsi2sd xmm1, Rq(r)
                    );
                } else {
                    self.load_xmm(1, n - 1, b);
                    let ok = self.ops.new_dynamic_label();
                    asm!(self.ops
                        ; xorpd xmm2, xmm2
                        ; ucomisd xmm1, xmm2
                        ; jp =>ok
                        ; je =>fail
                        ; =>ok
                    );
                }
                asm!(self.ops ; divsd xmm0, xmm1);
                self.push_xmm(n - 2);
            }
            Op::Mod => {
                let (a, b) = (pre[n - 2], pre[n - 1]);
                if let (Ty::Int, Loc::Imm(bits)) = (b.ty, b.loc)
                    && let Some(d) = fits_i32(bits).filter(|&d| d >= 2)
                {
                    self.load_gpr(RAX, n - 2, a);
                    self.mod_const(d);
                    self.push_gpr(n - 2, Ty::Int);
                    return true;
                }
                self.load_gpr(RAX, n - 2, a);
                self.load_gpr(RCX, n - 1, b);
                let fail = self.bail(pc, BailReason::DivisionByZero, &pre);
                let divide = self.ops.new_dynamic_label();
                let done = self.ops.new_dynamic_label();
                asm!(self.ops
                    ; test rcx, rcx
                    ; jz =>fail
                    ; cmp rcx, -1
                    ; jne =>divide
                    ; xor eax, eax
                    ; jmp =>done
                    ; =>divide
                    ; cqo
                    ; idiv rcx
                    ; mov rax, rdx
                    ; test rdx, rdx
                    ; jz =>done
                    ; xor rdx, rcx
                    ; jns =>done
                    ; add rax, rcx
                    ; =>done
                );
                self.push_gpr(n - 2, Ty::Int);
            }
            Op::AddImm { imm } | Op::SubImm { imm } => {
                let a = pre[n - 1];
                let b = Entry { ty: Ty::Int, loc: Loc::Imm(imm as i64 as u64) };
                let alu = if matches!(op, Op::AddImm { .. }) { Alu::Add } else { Alu::Sub };
                self.arith(pc, alu, a, b, n - 1, &pre);
            }
            Op::Neg => {
                let a = pre[n - 1];
                self.load_gpr(RAX, n - 1, a);
                if a.ty == Ty::Int {
                    let fail = self.bail(pc, BailReason::Overflow, &pre);
                    asm!(self.ops
                        ; neg rax
                        ; jo =>fail
                    );
                } else {
                    asm!(self.ops ; btc rax, 63);
                }
                self.push_gpr(n - 1, a.ty);
            }
            Op::Not | Op::ToBool => {
                let a = pre[n - 1];
                self.truth(n - 1, a);
                if matches!(op, Op::Not) {
                    asm!(self.ops ; xor eax, 1);
                }
                self.push_gpr(n - 1, Ty::Bool);
            }
            Op::Eq | Op::Ne | Op::Lt | Op::Le | Op::Gt | Op::Ge => {
                let (a, b) = (pre[n - 2], pre[n - 1]);
                self.compare_value(op, a, b, n - 2);
            }
            Op::Jump { target } | Op::LoopBack { target, .. } => {
                self.canonicalize();
                let to = self.edge_label(pc, target);
                asm!(self.ops ; jmp =>to);
                return false;
            }
            Op::JumpIfFalse { target } | Op::JumpIfTrue { target } => {
                let c = pre[n - 1];
                self.stack.pop();
                self.canonicalize();
                let to = self.edge_label(pc, target);
                let on_true = matches!(op, Op::JumpIfTrue { .. });
                if c.ty == Ty::Float {
                    self.load_xmm(0, n - 1, c);
                    asm!(self.ops
                        ; xorpd xmm1, xmm1
                        ; ucomisd xmm0, xmm1
                    );
                    if on_true {
                        asm!(self.ops
                            ; jp =>to
                            ; jne =>to
                        );
                    } else {
                        let skip = self.ops.new_dynamic_label();
                        asm!(self.ops
                            ; jp =>skip
                            ; je =>to
                            ; =>skip
                        );
                    }
                } else {
                    let r = self.reg_of(n - 1, c, RAX);
                    asm!(self.ops ; test Rq(r), Rq(r));
                    if on_true {
                        asm!(self.ops ; jnz =>to);
                    } else {
                        asm!(self.ops ; jz =>to);
                    }
                }
            }
            Op::JumpIfNotLt { target }
            | Op::JumpIfNotLe { target }
            | Op::JumpIfNotGt { target }
            | Op::JumpIfNotGe { target }
            | Op::JumpIfNotEq { target }
            | Op::JumpIfNotNe { target } => {
                let (a, b) = (pre[n - 2], pre[n - 1]);
                self.stack.truncate(n - 2);
                self.canonicalize();
                let to = self.edge_label(pc, target);
                self.fused_branch(op, a, b, n - 2, to);
            }
            Op::BranchLocals { .. } | Op::BranchLocalImm { .. } => {
                // The same code as `LoadLocal a; LoadLocal b (or Int imm); JumpIfNot<cmp>`.
                let (cmp, a, rhs, target) = match op {
                    Op::BranchLocals { cmp, a, b, target } => (cmp, a, Ok(b), target),
                    Op::BranchLocalImm { cmp, a, imm, target } => (cmp, a, Err(imm), target),
                    _ => return false,
                };
                let va = var_at(frame(a));
                self.guard_var(pc, va, &pre);
                let ea = Entry { ty: self.var_ty(va), loc: Loc::Var(va) };
                let eb = match rhs {
                    Ok(b) => {
                        let vb = var_at(frame(b));
                        self.guard_var(pc, vb, &pre);
                        Entry { ty: self.var_ty(vb), loc: Loc::Var(vb) }
                    }
                    Err(imm) => Entry { ty: Ty::Int, loc: Loc::Imm(imm as i64 as u64) },
                };
                self.canonicalize();
                let target = target as u32;
                let to = self.edge_label(pc, target);
                let jump = match cmp {
                    Cmp::Lt => Op::JumpIfNotLt { target },
                    Cmp::Le => Op::JumpIfNotLe { target },
                    Cmp::Gt => Op::JumpIfNotGt { target },
                    Cmp::Ge => Op::JumpIfNotGe { target },
                };
                self.fused_branch(jump, ea, eb, n, to);
            }
            Op::AddLocalImm { slot, imm } => {
                let v = var_at(frame(slot));
                self.guard_var(pc, v, &pre);
                let ty = match self.var_kind(v) {
                    VarKind::Typed(t) | VarKind::Dynamic(Some(t)) => t,
                    VarKind::Dynamic(None) => Ty::Int,
                };
                let a = Entry { ty, loc: Loc::Var(v) };
                let b = Entry { ty: Ty::Int, loc: Loc::Imm(imm as i64 as u64) };
                self.update_var(pc, v, a, b, &pre);
            }
            Op::AddLocalLocal { dst, src } => {
                let (vd, vs) = (var_at(frame(dst)), var_at(frame(src)));
                self.guard_var(pc, vd, &pre);
                self.guard_var(pc, vs, &pre);
                let ty_of = |k: VarKind| match k {
                    VarKind::Typed(t) | VarKind::Dynamic(Some(t)) => t,
                    VarKind::Dynamic(None) => Ty::Int,
                };
                let a = Entry { ty: ty_of(self.var_kind(vd)), loc: Loc::Var(vd) };
                let b = Entry { ty: ty_of(self.var_kind(vs)), loc: Loc::Var(vs) };
                self.update_var(pc, vd, a, b, &pre);
            }
            _ => {
                let fail = self.bail(pc, BailReason::Unsupported(op.name()), &pre);
                asm!(self.ops ; jmp =>fail);
                return false;
            }
        }
        !matches!(effect.flow, Flow::Goto(_))
    }

    /// Pushes a copy of the operand at `from` as a new operand at `depth`.
    fn dup(&mut self, from: usize, depth: usize) {
        let Some(&e) = self.stack.get(from) else { return };
        match e.loc {
            Loc::Imm(_) | Loc::Var(_) => self.stack.push(e),
            Loc::Home => {
                self.load_gpr(RAX, from, e);
                self.push_gpr(depth, e.ty);
            }
        }
    }

    /// `a op b` for `+ - *` with the result pushed at `depth`.
    fn arith(&mut self, pc: u32, alu: Alu, a: Entry, b: Entry, depth: usize, pre: &[Entry]) {
        if a.ty == Ty::Int && b.ty == Ty::Int {
            self.int_op(pc, alu, a, b, depth, pre);
            self.push_gpr(depth, Ty::Int);
        } else {
            self.float_op(alu, a, b, depth);
            self.push_xmm(depth);
        }
    }

    /// Integer `rax = a op b`, bailing out on overflow.
    fn int_op(&mut self, pc: u32, alu: Alu, a: Entry, b: Entry, depth: usize, pre: &[Entry]) {
        self.load_gpr(RAX, depth, a);
        let rhs = self.rhs_of(depth + 1, b, RCX);
        self.alu(alu, RAX, rhs);
        let fail = self.bail(pc, BailReason::Overflow, pre);
        asm!(self.ops ; jo =>fail);
    }

    /// Float `xmm0 = a op b` (integers converted).
    fn float_op(&mut self, alu: Alu, a: Entry, b: Entry, depth: usize) {
        self.load_xmm(0, depth, a);
        self.load_xmm(1, depth + 1, b);
        match alu {
            Alu::Add => asm!(self.ops ; addsd xmm0, xmm1),
            Alu::Sub => asm!(self.ops ; subsd xmm0, xmm1),
            _ => asm!(self.ops ; mulsd xmm0, xmm1),
        }
    }

    /// `rax = rax mod d` (floored: the result has the sign of `d`) for a constant `d >= 2`. A
    /// dividend in `0..2^32`, the common case, takes no division: its remainder is computed
    /// directly by two multiplications (see [`fastmod_multiplier`]); any other divides.
    fn mod_const(&mut self, d: i32) {
        let c = fastmod_multiplier(d as u32) as i64;
        let general = self.ops.new_dynamic_label();
        let done = self.ops.new_dynamic_label();
        asm!(self.ops
            ; mov rdx, rax
            ; shr rdx, 32
            ; jnz =>general
            ; mov rcx, QWORD c
            ; imul rax, rcx
            ; mov ecx, d
            ; mul rcx
            ; mov rax, rdx
            ; jmp =>done
            ; =>general
            ; mov ecx, d
            ; cqo
            ; idiv rcx
            ; mov rax, rdx
            ; test rdx, rdx
            ; jns =>done
            ; add rax, rcx
            ; =>done
        );
    }

    /// `v = a + b` where `a` reads `v` (the fused updates).
    fn update_var(&mut self, pc: u32, v: usize, a: Entry, b: Entry, pre: &[Entry]) {
        let depth = self.stack.len();
        // An integer held in a register is updated in place; on overflow the stub subtracts
        // `b` again (exact in two's complement) before the variable is written back.
        if let (Ty::Int, Ty::Int, Loc::Var(va), VarKind::Typed(Ty::Int), Home::Reg(r)) =
            (a.ty, b.ty, a.loc, self.var_kind(v), self.var_home(v))
            && va == v
        {
            self.flush_var(v);
            let rhs = self.rhs_of(depth + 1, b, RCX);
            if !matches!(rhs, Rhs::Reg(x) if x == r) {
                self.alu(Alu::Add, r, rhs);
                let fail = self.bail(pc, BailReason::Overflow, pre);
                if let Some(stub) = self.stubs.last_mut() {
                    stub.undo = Some((Alu::Add, r, rhs));
                }
                asm!(self.ops ; jo =>fail);
                return;
            }
        }
        let ty = if a.ty == Ty::Int && b.ty == Ty::Int {
            self.int_op(pc, Alu::Add, a, b, depth, pre);
            Ty::Int
        } else {
            self.float_op(Alu::Add, a, b, depth);
            asm!(self.ops ; movq rax, xmm0);
            Ty::Float
        };
        self.flush_var(v);
        self.write_var(v, RAX, ty);
    }

    /// `eax = truthy(a)` (0 or 1).
    fn truth(&mut self, depth: usize, a: Entry) {
        match a.ty {
            Ty::Float => {
                self.load_xmm(0, depth, a);
                asm!(self.ops
                    ; xorpd xmm1, xmm1
                    ; ucomisd xmm0, xmm1
                    ; setne al
                    ; setp cl
                    ; or al, cl
                    ; movzx eax, al
                );
            }
            Ty::Int => {
                let r = self.reg_of(depth, a, RAX);
                asm!(self.ops
                    ; test Rq(r), Rq(r)
                    ; setne al
                    ; movzx eax, al
                );
            }
            Ty::Bool => self.load_gpr(RAX, depth, a),
        }
    }

    /// A comparison whose boolean result is pushed at `depth`.
    fn compare_value(&mut self, op: Op, a: Entry, b: Entry, depth: usize) {
        let is_eq = matches!(op, Op::Eq | Op::Ne);
        if is_eq && a.ty != b.ty {
            // Booleans never equal numbers (mixed int/float was refused by the planner).
            let ne = matches!(op, Op::Ne) as u64;
            self.stack.truncate(depth);
            self.stack.push(Entry { ty: Ty::Bool, loc: Loc::Imm(ne) });
            return;
        }
        if a.ty == Ty::Float {
            self.load_xmm(0, depth, a);
            self.load_xmm(1, depth + 1, b);
            match op {
                Op::Lt => asm!(self.ops ; ucomisd xmm1, xmm0 ; seta al),
                Op::Le => asm!(self.ops ; ucomisd xmm1, xmm0 ; setae al),
                Op::Gt => asm!(self.ops ; ucomisd xmm0, xmm1 ; seta al),
                Op::Ge => asm!(self.ops ; ucomisd xmm0, xmm1 ; setae al),
                Op::Eq => asm!(self.ops ; ucomisd xmm0, xmm1 ; sete al ; setnp cl ; and al, cl),
                _ => asm!(self.ops ; ucomisd xmm0, xmm1 ; setne al ; setp cl ; or al, cl),
            }
        } else {
            let ra = self.reg_of(depth, a, RAX);
            let rhs = self.rhs_of(depth + 1, b, RCX);
            self.alu(Alu::Cmp, ra, rhs);
            match op {
                Op::Lt => asm!(self.ops ; setl al),
                Op::Le => asm!(self.ops ; setle al),
                Op::Gt => asm!(self.ops ; setg al),
                Op::Ge => asm!(self.ops ; setge al),
                Op::Eq => asm!(self.ops ; sete al),
                _ => asm!(self.ops ; setne al),
            }
        }
        asm!(self.ops ; movzx eax, al);
        self.push_gpr(depth, Ty::Bool);
    }

    /// A fused compare-and-branch: jump to `to` unless `a op b` holds.
    fn fused_branch(&mut self, op: Op, a: Entry, b: Entry, depth: usize, to: DynamicLabel) {
        let is_eq = matches!(op, Op::JumpIfNotEq { .. } | Op::JumpIfNotNe { .. });
        if is_eq && a.ty != b.ty {
            // A boolean never equals a number: `==` is false, `!=` is true.
            if matches!(op, Op::JumpIfNotEq { .. }) {
                asm!(self.ops ; jmp =>to);
            }
            return;
        }
        if a.ty == Ty::Float {
            self.load_xmm(0, depth, a);
            self.load_xmm(1, depth + 1, b);
            match op {
                Op::JumpIfNotLt { .. } => asm!(self.ops ; ucomisd xmm1, xmm0 ; jbe =>to),
                Op::JumpIfNotLe { .. } => asm!(self.ops ; ucomisd xmm1, xmm0 ; jb =>to),
                Op::JumpIfNotGt { .. } => asm!(self.ops ; ucomisd xmm0, xmm1 ; jbe =>to),
                Op::JumpIfNotGe { .. } => asm!(self.ops ; ucomisd xmm0, xmm1 ; jb =>to),
                Op::JumpIfNotEq { .. } => asm!(self.ops ; ucomisd xmm0, xmm1 ; jne =>to ; jp =>to),
                _ => {
                    let skip = self.ops.new_dynamic_label();
                    asm!(self.ops ; ucomisd xmm0, xmm1 ; jp =>skip ; je =>to ; =>skip);
                }
            }
            return;
        }
        let ra = self.reg_of(depth, a, RAX);
        let rhs = self.rhs_of(depth + 1, b, RCX);
        self.alu(Alu::Cmp, ra, rhs);
        match op {
            Op::JumpIfNotLt { .. } => asm!(self.ops ; jge =>to),
            Op::JumpIfNotLe { .. } => asm!(self.ops ; jg =>to),
            Op::JumpIfNotGt { .. } => asm!(self.ops ; jle =>to),
            Op::JumpIfNotGe { .. } => asm!(self.ops ; jl =>to),
            Op::JumpIfNotEq { .. } => asm!(self.ops ; jne =>to),
            _ => asm!(self.ops ; je =>to),
        }
    }
}

/// The multiplier `c = ceil(2^64 / d)` with which `n % d == ((c * n mod 2^64) * d) >> 64` for
/// all `n` and `d >= 2` below 2^32 (Lemire, Kaser and Kurz, "Faster remainder by direct
/// computation", 2019, with N = 32 and F = 64).
fn fastmod_multiplier(d: u32) -> u64 {
    (u64::MAX / d as u64).wrapping_add(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The instruction sequence of `mod_const`, on 128-bit integers.
    fn floor_mod_by_magic(n: i64, d: i64) -> i64 {
        if !(0..1 << 32).contains(&n) {
            let r = n % d;
            return if r < 0 { r + d } else { r };
        }
        let low = fastmod_multiplier(d as u32).wrapping_mul(n as u64);
        ((low as u128 * d as u128) >> 64) as i64
    }

    #[test]
    fn magic_modulo_is_floored_modulo() {
        let mut divisors: Vec<i64> = (2..=300).collect();
        divisors.extend([641, 1000, 1024, 4096, 65_537, 1_000_003, 1 << 30, i32::MAX as i64 - 1, i32::MAX as i64]);
        let mut values: Vec<i64> = (-1000..=1000).collect();
        values.extend([
            u32::MAX as i64,
            1 << 32,
            (1 << 32) + 1,
            (1 << 31) - 1,
            1 << 31,
            i64::MIN,
            i64::MIN + 1,
            i64::MAX,
            i64::MAX - 1,
            1 << 62,
            -(1 << 62),
            9_223_372_036_854_775_000,
        ]);
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..2000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            values.push(x as i64);
            values.push((x >> 32) as i64);
        }
        for &d in &divisors {
            for &n in &values {
                assert_eq!(floor_mod_by_magic(n, d), n.rem_euclid(d), "{n} mod {d}");
            }
        }
    }
}
