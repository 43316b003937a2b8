//! The instruction set. This file is the VM's specification: every opcode with its operands,
//! its stack effect, its gas cost and its name, declared in one place.
//!
//! Conventions: a *slot* is an index into the current frame (`base + slot`); in the top-level
//! chunk the frame slots are the globals. A *global* index is absolute (`stack[idx]`), used by
//! functions to reach globals. Jump *targets* are absolute instruction indices in the same chunk.

/// The comparison of a fused compare-and-branch instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Cmp {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl Cmp {
    /// The operator as written in source.
    pub fn symbol(self) -> &'static str {
        match self {
            Cmp::Lt => "<",
            Cmp::Le => "<=",
            Cmp::Gt => ">",
            Cmp::Ge => ">=",
        }
    }

    /// The plain comparison instruction.
    pub fn op(self) -> Op {
        match self {
            Cmp::Lt => Op::Lt,
            Cmp::Le => Op::Le,
            Cmp::Gt => Op::Gt,
            Cmp::Ge => Op::Ge,
        }
    }

    /// The comparison performed by a plain comparison instruction, if it is one.
    pub fn of(op: Op) -> Option<Cmp> {
        match op {
            Op::Lt => Some(Cmp::Lt),
            Op::Le => Some(Cmp::Le),
            Op::Gt => Some(Cmp::Gt),
            Op::Ge => Some(Cmp::Ge),
            _ => None,
        }
    }

    /// Evaluates the comparison on two integers.
    #[inline(always)]
    pub fn ints(self, a: i64, b: i64) -> bool {
        match self {
            Cmp::Lt => a < b,
            Cmp::Le => a <= b,
            Cmp::Gt => a > b,
            Cmp::Ge => a >= b,
        }
    }
}

/// One instruction. Variants carry compact operands; `size_of::<Op>() == 8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Op {
    // --- constants and stack -------------------------------------------------------------
    /// Push constant `idx` of the chunk's pool. `-> k`
    Const { idx: u32 },
    /// Push a small integer. `-> int`
    Int { value: i32 },
    /// Push `null`. `-> null`
    Null,
    /// Push `true`. `-> true`
    True,
    /// Push `false`. `-> false`
    False,
    /// Discard the top of the stack. `a ->`
    Pop,
    /// Duplicate the top of the stack. `a -> a a`
    Dup,
    /// Duplicate the top two values. `a b -> a b a b`
    Dup2,
    /// Do nothing (left behind by optimizer passes; costs no gas).
    Nop,

    // --- variables -----------------------------------------------------------------------
    /// Push frame slot `slot`; an unassigned slot is `undefined variable`. `-> v`
    LoadLocal { slot: u16 },
    /// Pop into frame slot `slot`. `v ->`
    StoreLocal { slot: u16 },
    /// Push global `idx` (absolute stack index). `-> v`
    LoadGlobal { idx: u32 },
    /// Pop into global `idx`. `v ->`
    StoreGlobal { idx: u32 },
    /// Push the value inside the cell in frame slot `slot` (a captured local). `-> v`
    LoadCell { slot: u16 },
    /// Pop into the cell in frame slot `slot`. `v ->`
    StoreCell { slot: u16 },
    /// Push captured variable `idx` of the running closure. `-> v`
    LoadFree { idx: u16 },
    /// Pop into captured variable `idx` of the running closure. `v ->`
    StoreFree { idx: u16 },
    /// Pop a const flag; if it is set, fail with `cannot assign to constant` (name in const `name`). `flag ->`
    CheckConst { name: u32 },

    // --- operators -----------------------------------------------------------------------
    /// `a b -> (a + b)` (numbers add; a string on either side concatenates).
    Add,
    /// `a b -> (a - b)`
    Sub,
    /// `a b -> (a * b)` (string times integer repeats).
    Mul,
    /// `a b -> (a / b)`, always a float.
    Div,
    /// `a b -> (a % b)`, floored.
    Mod,
    /// `a b -> (a ** b)`
    Pow,
    /// `a -> (-a)`
    Neg,
    /// `a -> (not a)`
    Not,
    /// `a -> bool(a)` (truthiness, for `&&`/`||` results).
    ToBool,
    /// `a b -> (a == b)`
    Eq,
    /// `a b -> (a != b)`
    Ne,
    /// `a b -> (a < b)`
    Lt,
    /// `a b -> (a <= b)`
    Le,
    /// `a b -> (a > b)`
    Gt,
    /// `a b -> (a >= b)`
    Ge,

    // --- control flow --------------------------------------------------------------------
    /// Jump forward or backward to `target` (not a loop back-edge). `->`
    Jump { target: u32 },
    /// Pop; jump to `target` if falsy. `c ->`
    JumpIfFalse { target: u32 },
    /// Pop; jump to `target` if truthy. `c ->`
    JumpIfTrue { target: u32 },
    /// A loop's back-edge: jump to the loop header `target` and count the iteration for loop
    /// `loop_id` (hot-loop detection and JIT entry happen here). `->`
    LoopBack { target: u32, loop_id: u16 },
    /// for-each step: with the iterable in slot `slot` and the position in `slot + 1`, push the
    /// next element and advance, or jump to `exit` when done. `-> elem` or `->`
    ForNext { slot: u16, exit: u32 },
    /// for-each set-up: pop the iterable, store it (a key snapshot for maps) in `slot` and the
    /// position 0 in `slot + 1`; a non-iterable value is a type error. `iterable ->`
    ForPrep { slot: u16 },

    // --- functions -----------------------------------------------------------------------
    /// Call the function below the `argc` arguments. `f a1..an -> result`
    Call { argc: u16 },
    /// Call method `name` (const index) on the receiver below the arguments.
    /// `recv a1..an -> result`
    CallMethod { name: u32, argc: u16 },
    /// Return the top of the stack from the current function. `v ->`
    Return,
    /// Return `null` from the current function. `->`
    ReturnNull,
    /// Create a closure of function `proto`, capturing per its capture list. `-> f`
    MakeClosure { proto: u32 },
    /// End of the top-level chunk. `->`
    Halt,

    // --- containers and output -----------------------------------------------------------
    /// Build a list from the top `n` values. `a1..an -> [a1..an]`
    MakeList { n: u32 },
    /// Build a map from the top `n` key/value pairs. `k1 v1..kn vn -> {k1: v1..}`
    MakeMap { n: u32 },
    /// `obj i -> obj[i]`
    Index,
    /// `obj i v ->` with `obj[i] = v`.
    SetIndex,
    /// `obj -> obj.name` (maps only; `name` is a const index).
    GetMember { name: u32 },
    /// `obj v ->` with `obj.name = v`.
    SetMember { name: u32 },
    /// Print the top `n` values separated by spaces, then a newline. `a1..an ->`
    Print { n: u16 },

    // --- blockchain (BLOCKCHAIN.md §7; semantics in vm/chain.rs; never JIT-compiled) -----
    /// `key -> STATE[key]`
    StateGet,
    /// `key value ->` with `STATE[key] = value`.
    StateSet,
    /// Open a (nested) transaction. `->`
    TxBegin,
    /// Commit the innermost transaction. `->`
    TxCommit,
    /// Discard the innermost transaction. `->`
    TxRevert,
    /// `v -> sha256(canon(v))` as 64 lowercase hex characters.
    Hash,
    /// `cond msg ->`; a falsy `cond` fails with `VERIFY failed: msg`.
    Verify,

    // --- errors (ERRORS.md; semantics in vm/unwind.rs; never JIT-compiled) -----------------
    /// Enter a `try` statement: record the transaction depth in frame slot `slot`. `->`
    TryBegin { slot: u16 },
    /// The try body ended normally or by `return`/`break`/`continue` (gas only). `->`
    TryEnd,
    /// Raise the value on top as an error. `v ->` (never falls through)
    Throw,
    /// `cond [msg] ->`; a falsy `cond` fails with `Requirement failed[: msg]`.
    Require { has_msg: bool },
    /// `[msg] ->`; fails with `Transaction reverted[: msg]`. (never falls through)
    Revert { has_msg: bool },
    /// Raise again the pending error whose token is on top (end of a finally body run
    /// because of an error). `token ->` (never falls through)
    Reraise,

    // --- superinstructions (made by the peephole pass; each equals the sequence named) -----
    /// `LoadLocal a; LoadLocal b`. `-> a b`
    LoadLocal2 { a: u16, b: u16 },
    /// `LoadLocal slot; Int imm; Add; StoreLocal slot` (`slot += imm`). `->`
    AddLocalImm { slot: u16, imm: i32 },
    /// `LoadLocal dst; LoadLocal src; Add; StoreLocal dst` (`dst += src`). `->`
    AddLocalLocal { dst: u16, src: u16 },
    /// `Int imm; Add`. `a -> (a + imm)`
    AddImm { imm: i32 },
    /// `Int imm; Sub`. `a -> (a - imm)`
    SubImm { imm: i32 },
    /// `Lt; JumpIfFalse target`. `a b ->`
    JumpIfNotLt { target: u32 },
    /// `Le; JumpIfFalse target`. `a b ->`
    JumpIfNotLe { target: u32 },
    /// `Gt; JumpIfFalse target`. `a b ->`
    JumpIfNotGt { target: u32 },
    /// `Ge; JumpIfFalse target`. `a b ->`
    JumpIfNotGe { target: u32 },
    /// `Eq; JumpIfFalse target`. `a b ->`
    JumpIfNotEq { target: u32 },
    /// `Ne; JumpIfFalse target`. `a b ->`
    JumpIfNotNe { target: u32 },
    /// `LoadLocal a; LoadLocal b; <cmp>; JumpIfFalse target`: jump unless `a cmp b`. `->`
    BranchLocals { cmp: Cmp, a: u16, b: u16, target: u16 },
    /// `LoadLocal a; Int imm; <cmp>; JumpIfFalse target`: jump unless `a cmp imm`. `->`
    BranchLocalImm { cmp: Cmp, a: u16, imm: i16, target: u16 },
}

const _: () = assert!(std::mem::size_of::<Op>() == 8);

/// Worst-case gas of one instruction (HASH); used to schedule exact gas checks.
pub const MAX_OP_GAS: u64 = 50;

impl Op {
    /// The opcode's name as shown in listings.
    pub fn name(&self) -> &'static str {
        use Op::*;
        match self {
            Const { .. } => "LOAD_CONST",
            Int { .. } => "LOAD_INT",
            Null => "LOAD_NULL",
            True => "LOAD_TRUE",
            False => "LOAD_FALSE",
            Pop => "POP",
            Dup => "DUP",
            Dup2 => "DUP2",
            Nop => "NOP",
            LoadLocal { .. } => "LOAD_LOCAL",
            StoreLocal { .. } => "STORE_LOCAL",
            LoadGlobal { .. } => "LOAD_GLOBAL",
            StoreGlobal { .. } => "STORE_GLOBAL",
            LoadCell { .. } => "LOAD_CELL",
            StoreCell { .. } => "STORE_CELL",
            LoadFree { .. } => "LOAD_FREE",
            StoreFree { .. } => "STORE_FREE",
            CheckConst { .. } => "CHECK_CONST",
            Add => "ADD",
            Sub => "SUB",
            Mul => "MUL",
            Div => "DIV",
            Mod => "MOD",
            Pow => "POW",
            Neg => "NEG",
            Not => "NOT",
            ToBool => "TO_BOOL",
            Eq => "EQ",
            Ne => "NE",
            Lt => "LT",
            Le => "LE",
            Gt => "GT",
            Ge => "GE",
            Jump { .. } => "JUMP",
            JumpIfFalse { .. } => "JUMP_IF_FALSE",
            JumpIfTrue { .. } => "JUMP_IF_TRUE",
            LoopBack { .. } => "LOOP_BACK",
            ForNext { .. } => "FOR_NEXT",
            ForPrep { .. } => "FOR_PREP",
            Call { .. } => "CALL",
            CallMethod { .. } => "CALL_METHOD",
            Return => "RETURN",
            ReturnNull => "RETURN_NULL",
            MakeClosure { .. } => "MAKE_CLOSURE",
            Halt => "HALT",
            MakeList { .. } => "MAKE_LIST",
            MakeMap { .. } => "MAKE_MAP",
            Index => "INDEX",
            SetIndex => "SET_INDEX",
            GetMember { .. } => "GET_MEMBER",
            SetMember { .. } => "SET_MEMBER",
            Print { .. } => "PRINT",
            StateGet => "STATE_GET",
            StateSet => "STATE_SET",
            TxBegin => "TX_BEGIN",
            TxCommit => "TX_COMMIT",
            TxRevert => "TX_REVERT",
            Hash => "HASH",
            Verify => "VERIFY",
            TryBegin { .. } => "SETUP_TRY",
            TryEnd => "POP_TRY",
            Throw => "THROW",
            Require { .. } => "REQUIRE",
            Revert { .. } => "REVERT",
            Reraise => "RERAISE",
            LoadLocal2 { .. } => "LOAD_LOCAL2",
            AddLocalImm { .. } => "ADD_LOCAL_IMM",
            AddLocalLocal { .. } => "ADD_LOCAL_LOCAL",
            AddImm { .. } => "ADD_IMM",
            SubImm { .. } => "SUB_IMM",
            JumpIfNotLt { .. } => "JUMP_IF_NOT_LT",
            JumpIfNotLe { .. } => "JUMP_IF_NOT_LE",
            JumpIfNotGt { .. } => "JUMP_IF_NOT_GT",
            JumpIfNotGe { .. } => "JUMP_IF_NOT_GE",
            JumpIfNotEq { .. } => "JUMP_IF_NOT_EQ",
            JumpIfNotNe { .. } => "JUMP_IF_NOT_NE",
            BranchLocals { .. } => "BRANCH_LOCALS",
            BranchLocalImm { .. } => "BRANCH_LOCAL_IMM",
        }
    }

    #[inline(always)]
    /// Gas charged before the instruction runs (BLOCKCHAIN.md §7 and §7a). A superinstruction
    /// costs the sum of the instructions it replaces, so gas is independent of fusion.
    pub fn gas(&self) -> u64 {
        use Op::*;
        match self {
            Const { .. } | Int { .. } | Null | True | False | Pop | Dup | Dup2 => 1,
            Nop | CheckConst { .. } | ToBool | Halt | Return | ReturnNull => 0,
            LoadLocal { .. } | LoadGlobal { .. } | LoadCell { .. } | LoadFree { .. } => 2,
            StoreLocal { .. } | StoreGlobal { .. } | StoreCell { .. } | StoreFree { .. } => 3,
            Add | Sub | Neg | Not => 3,
            Mul => 5,
            Div | Mod | Print { .. } | Call { .. } | CallMethod { .. } => 10,
            Pow => 20,
            Eq | Ne | Lt | Le | Gt | Ge => 2,
            Jump { .. } | JumpIfFalse { .. } | JumpIfTrue { .. } | LoopBack { .. } => 3,
            ForNext { .. } => 3,
            ForPrep { .. } => 1,
            MakeClosure { .. } => 1,
            MakeList { .. } | MakeMap { .. } | Index | SetIndex | GetMember { .. } | SetMember { .. } => 3,
            StateGet => 20,
            StateSet => 30,
            TxBegin => 20,
            TxCommit => 30,
            TxRevert => 20,
            Hash => 50,
            Verify => 5,
            TryBegin { .. } => 3,
            TryEnd => 2,
            Throw | Require { .. } | Revert { .. } => 5,
            Reraise => 0,
            LoadLocal2 { .. } => 4,
            AddLocalImm { .. } => 2 + 1 + 3 + 3,
            AddLocalLocal { .. } => 2 + 2 + 3 + 3,
            AddImm { .. } | SubImm { .. } => 1 + 3,
            JumpIfNotLt { .. } | JumpIfNotLe { .. } | JumpIfNotGt { .. } | JumpIfNotGe { .. } => 2 + 3,
            JumpIfNotEq { .. } | JumpIfNotNe { .. } => 2 + 3,
            BranchLocals { .. } => 2 + 2 + 2 + 3,
            BranchLocalImm { .. } => 2 + 1 + 2 + 3,
        }
    }

    /// How many values the instruction pops and pushes (for the verifier and stack-depth
    /// analysis). Calls report their arguments plus the callee/receiver.
    pub fn stack_effect(&self) -> (u32, u32) {
        use Op::*;
        match *self {
            Const { .. } | Int { .. } | Null | True | False => (0, 1),
            Pop => (1, 0),
            Dup => (1, 2),
            Dup2 => (2, 4),
            Nop | Halt | Jump { .. } | LoopBack { .. } | ReturnNull | TxBegin | TxCommit | TxRevert => (0, 0),
            LoadLocal { .. } | LoadGlobal { .. } | LoadCell { .. } | LoadFree { .. } => (0, 1),
            StoreLocal { .. } | StoreGlobal { .. } | StoreCell { .. } | StoreFree { .. } => (1, 0),
            CheckConst { .. } => (1, 0),
            Add | Sub | Mul | Div | Mod | Pow | Eq | Ne | Lt | Le | Gt | Ge => (2, 1),
            Neg | Not | ToBool => (1, 1),
            JumpIfFalse { .. } | JumpIfTrue { .. } => (1, 0),
            ForNext { .. } => (0, 1),
            ForPrep { .. } => (1, 0),
            Call { argc } => (argc as u32 + 1, 1),
            CallMethod { argc, .. } => (argc as u32 + 1, 1),
            Return => (1, 0),
            MakeClosure { .. } => (0, 1),
            MakeList { n } => (n, 1),
            MakeMap { n } => (n.saturating_mul(2), 1),
            Index => (2, 1),
            SetIndex => (3, 0),
            GetMember { .. } => (1, 1),
            SetMember { .. } => (2, 0),
            Print { n } => (n as u32, 0),
            StateGet => (1, 1),
            StateSet => (2, 0),
            Hash => (1, 1),
            Verify => (2, 0),
            TryBegin { .. } | TryEnd => (0, 0),
            Throw | Reraise => (1, 0),
            Require { has_msg } => (1 + u32::from(has_msg), 0),
            Revert { has_msg } => (u32::from(has_msg), 0),
            LoadLocal2 { .. } => (0, 2),
            AddLocalImm { .. } | AddLocalLocal { .. } => (0, 0),
            AddImm { .. } | SubImm { .. } => (1, 1),
            JumpIfNotLt { .. } | JumpIfNotLe { .. } | JumpIfNotGt { .. } | JumpIfNotGe { .. } => (2, 0),
            JumpIfNotEq { .. } | JumpIfNotNe { .. } => (2, 0),
            BranchLocals { .. } | BranchLocalImm { .. } => (0, 0),
        }
    }

    /// The jump target, for instructions that may transfer control within the chunk.
    pub fn jump_target(&self) -> Option<u32> {
        use Op::*;
        match *self {
            Jump { target }
            | JumpIfFalse { target }
            | JumpIfTrue { target }
            | LoopBack { target, .. }
            | JumpIfNotLt { target }
            | JumpIfNotLe { target }
            | JumpIfNotGt { target }
            | JumpIfNotGe { target }
            | JumpIfNotEq { target }
            | JumpIfNotNe { target } => Some(target),
            ForNext { exit, .. } => Some(exit),
            BranchLocals { target, .. } | BranchLocalImm { target, .. } => Some(target as u32),
            _ => None,
        }
    }

    /// Replaces the jump target with `new` (for passes that renumber instructions). Returns
    /// false, leaving the instruction unchanged, if it has no target or `new` does not fit its
    /// operand.
    pub fn set_jump_target(&mut self, new: u32) -> bool {
        use Op::*;
        match self {
            Jump { target }
            | JumpIfFalse { target }
            | JumpIfTrue { target }
            | LoopBack { target, .. }
            | JumpIfNotLt { target }
            | JumpIfNotLe { target }
            | JumpIfNotGt { target }
            | JumpIfNotGe { target }
            | JumpIfNotEq { target }
            | JumpIfNotNe { target } => *target = new,
            ForNext { exit, .. } => *exit = new,
            BranchLocals { target, .. } | BranchLocalImm { target, .. } => match u16::try_from(new) {
                Ok(t) => *target = t,
                Err(_) => return false,
            },
            _ => return false,
        }
        true
    }

    /// True if control never falls through to the next instruction.
    pub fn is_terminator(&self) -> bool {
        matches!(
            self,
            Op::Jump { .. }
                | Op::LoopBack { .. }
                | Op::Return
                | Op::ReturnNull
                | Op::Halt
                | Op::Throw
                | Op::Revert { .. }
                | Op::Reraise
        )
    }

    /// Where control may go after this instruction at `pc`, each with the operand-stack depth
    /// there, given the depth once its operands are popped (`after_pop`) and once its results
    /// are pushed (`after`). The for-each step pushes an element only when it falls through.
    pub fn successors<D: Copy>(&self, pc: usize, after_pop: D, after: D) -> [Option<(usize, D)>; 2] {
        match *self {
            Op::ForNext { exit, .. } => [Some((pc + 1, after)), Some((exit as usize, after_pop))],
            _ => [
                (!self.is_terminator()).then_some((pc + 1, after)),
                self.jump_target().map(|target| (target as usize, after)),
            ],
        }
    }

    /// True for the opcodes of ERRORS.md (raising, and the `try` bookkeeping), which the
    /// optimizer must not move, fold or remove.
    pub fn is_error_op(&self) -> bool {
        matches!(
            self,
            Op::TryBegin { .. } | Op::TryEnd | Op::Throw | Op::Require { .. } | Op::Revert { .. } | Op::Reraise
        )
    }

    /// True for the blockchain opcodes, which the optimizer must not move, fold or remove.
    pub fn is_chain(&self) -> bool {
        matches!(self, Op::StateGet | Op::StateSet | Op::TxBegin | Op::TxCommit | Op::TxRevert | Op::Hash | Op::Verify)
    }
}
