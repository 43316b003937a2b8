//! The instruction set. This file is the VM's specification: every opcode with its operands,
//! its stack effect, its gas cost and its name, declared in one place.
//!
//! Conventions: a *slot* is an index into the current frame (`base + slot`); in the top-level
//! chunk the frame slots are the globals. A *global* index is absolute (`stack[idx]`), used by
//! functions to reach globals. Jump *targets* are absolute instruction indices in the same chunk.

use super::handlers::Handler;

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

/// How the x86-64 loop JIT handles an opcode (read by `jit/plan.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Jit {
    /// `jit/x64.rs` emits native code for it (when the operand types allow).
    Inline,
    /// Native code calls a runtime helper for it (none yet; the JIT issue adds them).
    Call,
    /// Never compiled: a loop containing it stays in the interpreter, for this reason.
    Refused(&'static str),
}

/// Where control goes after an instruction (read by the verifier, the stack-depth walk, the
/// optimizer's control-flow passes and the listing's target marks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Falls through to the next instruction.
    Next,
    /// Never falls through and has no target in the chunk (returns, halts).
    End,
    /// Always jumps to the target.
    Goto(u32),
    /// Falls through or jumps to the target.
    Branch(u32),
    /// The for-each step: falls through pushing an element, or jumps to the exit pushing none.
    ForNext(u32),
    /// `??`'s test: falls through having popped its operand, or jumps to the target keeping it.
    KeepOnJump(u32),
}

macro_rules! op_flow {
    (Next) => {
        Flow::Next
    };
    (End) => {
        Flow::End
    };
    ($kind:ident, $t:ident) => {
        Flow::$kind(u32::from($t))
    };
}

macro_rules! op_set_target {
    ($new:ident) => {
        false
    };
    ($new:ident, $t:ident) => {
        match TryFrom::try_from($new) {
            Ok(v) => {
                *$t = v;
                true
            }
            Err(_) => false,
        }
    };
}

/// The opcode table. Each row declares one opcode: its variant and operands (with the doc
/// comment that states its stack effect), its listing name, its gas (BLOCKCHAIN.md §7/§7a), the
/// number of values it pops and pushes, its control flow (`Next`, `End`, or `Goto`/`Branch`/
/// `ForNext` naming the operand that holds the target) and how the JIT treats it. Everything
/// else (`Op`, `OpCode`, `name`, `gas`, `stack_effect`, `flow`, `jump_target`,
/// `set_jump_target`, `successors`, `jit`) is generated from it.
macro_rules! define_ops {
    ($(
        $(#[doc = $doc:literal])*
        $name:ident $({ $($field:ident : $fty:ty),* $(,)? })?
            => $text:literal, gas $gas:expr, stack $stack:expr, $flow:ident $(($tf:ident))?, jit $jit:expr;
    )*) => {
        /// One instruction. Variants carry compact operands; `size_of::<Op>() == 8`. The
        /// variant order and operands are the cache's encoding: a row added anywhere but at
        /// the end, or a changed operand, needs `compile::cache::format::FORMAT_VERSION` bumped.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        pub enum Op {
            $( $(#[doc = $doc])* $name $({ $($field: $fty),* })?, )*
        }

        /// An opcode without its operands (one per [`Op`] variant).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum OpCode {
            $( #[doc = concat!("[`Op::", stringify!($name), "`].")] $name, )*
        }

        impl OpCode {
            /// Every opcode, in table order.
            pub const ALL: &'static [OpCode] = &[$(OpCode::$name),*];

            /// The opcode's name as shown in listings.
            pub const fn name(self) -> &'static str {
                match self { $(OpCode::$name => $text,)* }
            }

            /// Gas charged before the instruction runs.
            #[inline(always)]
            pub const fn gas(self) -> u64 {
                match self { $(OpCode::$name => $gas,)* }
            }

            /// How the JIT treats the opcode.
            pub const fn jit(self) -> Jit {
                match self { $(OpCode::$name => $jit,)* }
            }
        }

        impl Op {
            /// The opcode without its operands.
            #[inline(always)]
            pub const fn code(&self) -> OpCode {
                match self { $(Op::$name { .. } => OpCode::$name,)* }
            }

            /// How many values the instruction pops and pushes (for the stack-depth walk).
            /// Calls report their arguments plus the callee/receiver.
            #[allow(unused_variables)]
            pub fn stack_effect(&self) -> (u32, u32) {
                match *self { $(Op::$name { $($($field),*)? } => $stack,)* }
            }

            /// Where control goes after the instruction.
            #[allow(unused_variables)]
            pub fn flow(&self) -> Flow {
                match *self { $(Op::$name { $($($field),*)? } => op_flow!($flow $(, $tf)?),)* }
            }

            /// The operands as a listing shows them: each field's value in declaration order,
            /// separated by spaces (a comparison is shown in the comment, not here).
            #[allow(unused_variables, unused_mut)]
            pub fn operand_text(&self) -> String {
                let mut out = String::new();
                match *self {
                    $(Op::$name { $($($field),*)? } => { $($( ListOperand::push_to(&$field, &mut out); )*)? })*
                }
                out
            }

            /// Replaces the jump target with `new` (for passes that renumber instructions).
            /// Returns false, leaving the instruction unchanged, if it has no target or `new`
            /// does not fit its operand.
            #[allow(unused_variables)]
            pub fn set_jump_target(&mut self, new: u32) -> bool {
                match self { $(Op::$name { $($($field),*)? } => op_set_target!(new $(, $tf)?),)* }
            }
        }
    };
}

/// How an operand appears in a listing's operand column.
trait ListOperand {
    fn push_to(&self, out: &mut String);
}

macro_rules! list_number {
    ($($t:ty),*) => {$(
        impl ListOperand for $t {
            fn push_to(&self, out: &mut String) {
                if !out.is_empty() {
                    out.push(' ');
                }
                out.push_str(&self.to_string());
            }
        }
    )*};
}
list_number!(u16, u32, i16, i32);

impl ListOperand for bool {
    /// A flag operand (`REQUIRE`/`REVERT` with a message) shows as `msg` when set.
    fn push_to(&self, out: &mut String) {
        if *self {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str("msg");
        }
    }
}

impl ListOperand for Cmp {
    fn push_to(&self, _: &mut String) {}
}

const NOT_YET: Jit = Jit::Refused("no native code yet");
const CALLS: Jit = Jit::Refused("calls leave the loop");
const CHAIN: Jit = Jit::Refused("blockchain operations are never compiled");
const ERRORS: Jit = Jit::Refused("errors are raised and handled by the interpreter");
const CONTRACTS: Jit = Jit::Refused("contract operations touch the ledger and are never compiled");
const MODULES: Jit = Jit::Refused("modules are run by the interpreter");

define_ops! {
    // --- constants and stack -------------------------------------------------------------
    /// Push constant `idx` of the chunk's pool. `-> k`
    Const { idx: u32 } => "LOAD_CONST", gas 1, stack (0, 1), Next, jit Jit::Inline;
    /// Push a small integer. `-> int`
    Int { value: i32 } => "LOAD_INT", gas 1, stack (0, 1), Next, jit Jit::Inline;
    /// Push `null`. `-> null`
    Null => "LOAD_NULL", gas 1, stack (0, 1), Next, jit Jit::Refused("null constant");
    /// Push `true`. `-> true`
    True => "LOAD_TRUE", gas 1, stack (0, 1), Next, jit Jit::Inline;
    /// Push `false`. `-> false`
    False => "LOAD_FALSE", gas 1, stack (0, 1), Next, jit Jit::Inline;
    /// Discard the top of the stack. `a ->`
    Pop => "POP", gas 1, stack (1, 0), Next, jit Jit::Inline;
    /// Duplicate the top of the stack. `a -> a a`
    Dup => "DUP", gas 1, stack (1, 2), Next, jit Jit::Inline;
    /// Duplicate the top two values. `a b -> a b a b`
    Dup2 => "DUP2", gas 1, stack (2, 4), Next, jit Jit::Inline;
    /// Do nothing (left behind by optimizer passes; costs no gas).
    Nop => "NOP", gas 0, stack (0, 0), Next, jit Jit::Inline;

    // --- variables -----------------------------------------------------------------------
    /// Push frame slot `slot`; an unassigned slot is `undefined variable`. `-> v`
    LoadLocal { slot: u16 } => "LOAD_LOCAL", gas 2, stack (0, 1), Next, jit Jit::Inline;
    /// Pop into frame slot `slot`. `v ->`
    StoreLocal { slot: u16 } => "STORE_LOCAL", gas 3, stack (1, 0), Next, jit Jit::Inline;
    /// Push global `idx` (absolute stack index). `-> v`
    LoadGlobal { idx: u32 } => "LOAD_GLOBAL", gas 2, stack (0, 1), Next, jit Jit::Inline;
    /// Pop into global `idx`. `v ->`
    StoreGlobal { idx: u32 } => "STORE_GLOBAL", gas 3, stack (1, 0), Next, jit Jit::Inline;
    /// Push the value inside the cell in frame slot `slot` (a captured local). `-> v`
    LoadCell { slot: u16 } => "LOAD_CELL", gas 2, stack (0, 1), Next, jit NOT_YET;
    /// Pop into the cell in frame slot `slot`. `v ->`
    StoreCell { slot: u16 } => "STORE_CELL", gas 3, stack (1, 0), Next, jit NOT_YET;
    /// Push captured variable `idx` of the running closure. `-> v`
    LoadFree { idx: u16 } => "LOAD_FREE", gas 2, stack (0, 1), Next, jit NOT_YET;
    /// Pop into captured variable `idx` of the running closure. `v ->`
    StoreFree { idx: u16 } => "STORE_FREE", gas 3, stack (1, 0), Next, jit NOT_YET;
    /// Pop a const flag; if it is set, fail with `cannot assign to constant` (name in const `name`). `flag ->`
    CheckConst { name: u32 } => "CHECK_CONST", gas 0, stack (1, 0), Next, jit Jit::Inline;

    // --- operators -----------------------------------------------------------------------
    /// `a b -> (a + b)` (numbers add; a string on either side concatenates).
    Add => "ADD", gas 3, stack (2, 1), Next, jit Jit::Inline;
    /// `a b -> (a - b)`
    Sub => "SUB", gas 3, stack (2, 1), Next, jit Jit::Inline;
    /// `a b -> (a * b)` (string times integer repeats).
    Mul => "MUL", gas 5, stack (2, 1), Next, jit Jit::Inline;
    /// `a b -> (a / b)`, always a float.
    Div => "DIV", gas 10, stack (2, 1), Next, jit Jit::Inline;
    /// `a b -> (a % b)`, floored.
    Mod => "MOD", gas 10, stack (2, 1), Next, jit Jit::Inline;
    /// `a b -> (a ** b)`
    Pow => "POW", gas 20, stack (2, 1), Next, jit NOT_YET;
    /// `a -> (-a)`
    Neg => "NEG", gas 3, stack (1, 1), Next, jit Jit::Inline;
    /// `a -> (not a)`
    Not => "NOT", gas 3, stack (1, 1), Next, jit Jit::Inline;
    /// `a -> bool(a)` (truthiness, for `&&`/`||` results).
    ToBool => "TO_BOOL", gas 0, stack (1, 1), Next, jit Jit::Inline;
    /// `a b -> (a == b)`
    Eq => "EQ", gas 2, stack (2, 1), Next, jit Jit::Inline;
    /// `a b -> (a != b)`
    Ne => "NE", gas 2, stack (2, 1), Next, jit Jit::Inline;
    /// `a b -> (a < b)`
    Lt => "LT", gas 2, stack (2, 1), Next, jit Jit::Inline;
    /// `a b -> (a <= b)`
    Le => "LE", gas 2, stack (2, 1), Next, jit Jit::Inline;
    /// `a b -> (a > b)`
    Gt => "GT", gas 2, stack (2, 1), Next, jit Jit::Inline;
    /// `a b -> (a >= b)`
    Ge => "GE", gas 2, stack (2, 1), Next, jit Jit::Inline;
    /// `a b -> (a in b)`: a key of a map, an element of a list, a substring of a string
    /// (DIALECT.md §7.2).
    In => "IN", gas 2, stack (2, 1), Next, jit NOT_YET;

    // --- control flow --------------------------------------------------------------------
    /// Jump forward or backward to `target` (not a loop back-edge). `->`
    Jump { target: u32 } => "JUMP", gas 3, stack (0, 0), Goto(target), jit Jit::Inline;
    /// Pop; jump to `target` if falsy. `c ->`
    JumpIfFalse { target: u32 } => "JUMP_IF_FALSE", gas 3, stack (1, 0), Branch(target), jit Jit::Inline;
    /// Pop; jump to `target` if truthy. `c ->`
    JumpIfTrue { target: u32 } => "JUMP_IF_TRUE", gas 3, stack (1, 0), Branch(target), jit Jit::Inline;
    /// A loop's back-edge: jump to the loop header `target` and count the iteration for loop
    /// `loop_id` (hot-loop detection and JIT entry happen here). `->`
    LoopBack { target: u32, loop_id: u16 } => "LOOP_BACK", gas 3, stack (0, 0), Goto(target), jit Jit::Inline;
    /// for-each step: with the iterable in slot `slot` and the position in `slot + 1`, push the
    /// next element and advance, or jump to `exit` when done. `-> elem` or `->`
    ForNext { slot: u16, exit: u32 } => "FOR_NEXT", gas 3, stack (0, 1), ForNext(exit), jit NOT_YET;
    /// for-each set-up: pop the iterable, store it (a key snapshot for maps) in `slot` and the
    /// position 0 in `slot + 1`; a non-iterable value is a type error. `iterable ->`
    ForPrep { slot: u16 } => "FOR_PREP", gas 1, stack (1, 0), Next, jit NOT_YET;

    // --- DIALECT.md (semantics in vm/dialect.rs) -------------------------------------------
    /// `a ?? b`: if the top is not `null`, jump to `target` keeping it; otherwise pop it and
    /// fall through (to the code of `b`). `v -> v` (jump) or `v ->`
    JumpIfNotNull { target: u32 } => "JUMP_IF_NOT_NULL", gas 3, stack (1, 1), KeepOnJump(target), jit NOT_YET;
    /// Two-variable for-each set-up: as `ForPrep`, and the iterable itself in `slot + 2`.
    /// `iterable ->`
    ForPrep2 { slot: u16 } => "FOR_PREP2", gas 1, stack (1, 0), Next, jit NOT_YET;
    /// Two-variable for-each step: push the index (the key of a map) and the element (the
    /// value read now) and advance, or jump to `exit` when done. `-> key elem` or `->`
    ForNext2 { slot: u16, exit: u32 } => "FOR_NEXT2", gas 3, stack (0, 2), ForNext(exit), jit NOT_YET;
    /// Function prologue of a defaulted parameter: jump to `target` when frame slot `slot`
    /// holds a value (the caller passed the argument), so its default is evaluated only when
    /// it did not (DIALECT.md §5). `->`
    JumpIfBound { slot: u16, target: u32 } => "JUMP_IF_BOUND", gas 0, stack (0, 0), Branch(target), jit NOT_YET;

    // --- functions -----------------------------------------------------------------------
    /// Call the function below the `argc` arguments. `f a1..an -> result`
    Call { argc: u16 } => "CALL", gas 10, stack (u32::from(argc) + 1, 1), Next, jit CALLS;
    /// Call method `name` (const index) on the receiver below the arguments.
    /// `recv a1..an -> result`
    CallMethod { name: u32, argc: u16 } => "CALL_METHOD", gas 10, stack (u32::from(argc) + 1, 1), Next, jit CALLS;
    /// Return the top of the stack from the current function. `v ->`
    Return => "RETURN", gas 0, stack (1, 0), End, jit CALLS;
    /// Return `null` from the current function. `->`
    ReturnNull => "RETURN_NULL", gas 0, stack (0, 0), End, jit CALLS;
    /// Create a closure of function `proto`, capturing per its capture list. `-> f`
    MakeClosure { proto: u32 } => "MAKE_CLOSURE", gas 1, stack (0, 1), Next, jit NOT_YET;
    /// End of the top-level chunk. `->`
    Halt => "HALT", gas 0, stack (0, 0), End, jit CALLS;

    // --- containers and output -----------------------------------------------------------
    /// Build a list from the top `n` values. `a1..an -> [a1..an]`
    MakeList { n: u32 } => "MAKE_LIST", gas 3, stack (n, 1), Next, jit NOT_YET;
    /// Build a map from the top `n` key/value pairs. `k1 v1..kn vn -> {k1: v1..}`
    MakeMap { n: u32 } => "MAKE_MAP", gas 3, stack (n.saturating_mul(2), 1), Next, jit NOT_YET;
    /// `obj i -> obj[i]`
    Index => "INDEX", gas 3, stack (2, 1), Next, jit NOT_YET;
    /// `obj i v ->` with `obj[i] = v`.
    SetIndex => "SET_INDEX", gas 3, stack (3, 0), Next, jit NOT_YET;
    /// `obj -> obj.name` (maps only; `name` is a const index).
    GetMember { name: u32 } => "GET_MEMBER", gas 3, stack (1, 1), Next, jit NOT_YET;
    /// `obj v ->` with `obj.name = v`.
    SetMember { name: u32 } => "SET_MEMBER", gas 3, stack (2, 0), Next, jit NOT_YET;
    /// Print the top `n` values separated by spaces, then a newline. `a1..an ->`
    Print { n: u16 } => "PRINT", gas 10, stack (u32::from(n), 0), Next, jit NOT_YET;

    // --- blockchain (BLOCKCHAIN.md §7; semantics in vm/chain.rs; never JIT-compiled) -----
    /// `key -> STATE[key]`
    StateGet => "STATE_GET", gas 20, stack (1, 1), Next, jit CHAIN;
    /// `key value ->` with `STATE[key] = value`.
    StateSet => "STATE_SET", gas 30, stack (2, 0), Next, jit CHAIN;
    /// Open a (nested) transaction. `->`
    TxBegin => "TX_BEGIN", gas 20, stack (0, 0), Next, jit CHAIN;
    /// Commit the innermost transaction. `->`
    TxCommit => "TX_COMMIT", gas 30, stack (0, 0), Next, jit CHAIN;
    /// Discard the innermost transaction. `->`
    TxRevert => "TX_REVERT", gas 20, stack (0, 0), Next, jit CHAIN;
    /// `v -> sha256(canon(v))` as 64 lowercase hex characters.
    Hash => "HASH", gas 50, stack (1, 1), Next, jit CHAIN;
    /// `cond msg ->`; a falsy `cond` fails with `VERIFY failed: msg`.
    Verify => "VERIFY", gas 5, stack (2, 0), Next, jit CHAIN;

    // --- errors (ERRORS.md; semantics in vm/unwind.rs; never JIT-compiled) -----------------
    /// Enter a `try` statement: record the transaction depth in frame slot `slot`. `->`
    TryBegin { slot: u16 } => "SETUP_TRY", gas 3, stack (0, 0), Next, jit ERRORS;
    /// The try body ended normally or by `return`/`break`/`continue` (gas only). `->`
    TryEnd => "POP_TRY", gas 2, stack (0, 0), Next, jit ERRORS;
    /// Raise the value on top as an error. `v ->` (never falls through)
    Throw => "THROW", gas 5, stack (1, 0), End, jit ERRORS;
    /// `cond [msg] ->`; a falsy `cond` fails with `Requirement failed[: msg]`.
    Require { has_msg: bool } => "REQUIRE", gas 5, stack (1 + u32::from(has_msg), 0), Next, jit ERRORS;
    /// `[msg] ->`; fails with `Transaction reverted[: msg]`. (never falls through)
    Revert { has_msg: bool } => "REVERT", gas 5, stack (u32::from(has_msg), 0), End, jit ERRORS;
    /// Raise again the pending error whose token is on top (end of a finally body run
    /// because of an error). `token ->` (never falls through)
    Reraise => "RERAISE", gas 0, stack (1, 0), End, jit ERRORS;

    // --- contracts (CONTRACTS.md; semantics in vm/contract.rs and vm/interp/contract_ops;
    // never JIT-compiled). Member reads, writes and action calls on instances are
    // GET_MEMBER/SET_MEMBER/CALL_METHOD, charged the difference to §11's costs at run time.
    /// Push the frame's current instance (`this`/`self`). `-> this`
    This => "LOAD_THIS", gas 2, stack (0, 1), Next, jit CONTRACTS;
    /// Append an event named by const `name` with the top `argc` values as its arguments.
    /// `a1..an ->`
    Emit { name: u32, argc: u16 } => "EMIT", gas 10, stack (u32::from(argc), 0), Next, jit CONTRACTS;
    /// Build an entity of the type below `n` (name, value) pairs; const `name` is the type's
    /// name as written (for the error when it is not an entity type). `ty k1 v1..kn vn -> e`
    NewEntity { name: u32, n: u16 } => "NEW_ENTITY", gas 3, stack (1 + 2 * u32::from(n), 1), Next, jit CONTRACTS;

    // --- superinstructions (made by the peephole pass; each equals the sequence named and
    // costs the sum of its gas, so gas is independent of fusion) ----------------------------
    /// `LoadLocal a; LoadLocal b`. `-> a b`
    LoadLocal2 { a: u16, b: u16 } => "LOAD_LOCAL2", gas 2 + 2, stack (0, 2), Next, jit Jit::Inline;
    /// `LoadLocal slot; Int imm; Add; StoreLocal slot` (`slot += imm`). `->`
    AddLocalImm { slot: u16, imm: i32 } => "ADD_LOCAL_IMM", gas 2 + 1 + 3 + 3, stack (0, 0), Next, jit Jit::Inline;
    /// `LoadLocal dst; LoadLocal src; Add; StoreLocal dst` (`dst += src`). `->`
    AddLocalLocal { dst: u16, src: u16 } => "ADD_LOCAL_LOCAL", gas 2 + 2 + 3 + 3, stack (0, 0), Next, jit Jit::Inline;
    /// `Int imm; Add`. `a -> (a + imm)`
    AddImm { imm: i32 } => "ADD_IMM", gas 1 + 3, stack (1, 1), Next, jit Jit::Inline;
    /// `Int imm; Sub`. `a -> (a - imm)`
    SubImm { imm: i32 } => "SUB_IMM", gas 1 + 3, stack (1, 1), Next, jit Jit::Inline;
    /// `Lt; JumpIfFalse target`. `a b ->`
    JumpIfNotLt { target: u32 } => "JUMP_IF_NOT_LT", gas 2 + 3, stack (2, 0), Branch(target), jit Jit::Inline;
    /// `Le; JumpIfFalse target`. `a b ->`
    JumpIfNotLe { target: u32 } => "JUMP_IF_NOT_LE", gas 2 + 3, stack (2, 0), Branch(target), jit Jit::Inline;
    /// `Gt; JumpIfFalse target`. `a b ->`
    JumpIfNotGt { target: u32 } => "JUMP_IF_NOT_GT", gas 2 + 3, stack (2, 0), Branch(target), jit Jit::Inline;
    /// `Ge; JumpIfFalse target`. `a b ->`
    JumpIfNotGe { target: u32 } => "JUMP_IF_NOT_GE", gas 2 + 3, stack (2, 0), Branch(target), jit Jit::Inline;
    /// `Eq; JumpIfFalse target`. `a b ->`
    JumpIfNotEq { target: u32 } => "JUMP_IF_NOT_EQ", gas 2 + 3, stack (2, 0), Branch(target), jit Jit::Inline;
    /// `Ne; JumpIfFalse target`. `a b ->`
    JumpIfNotNe { target: u32 } => "JUMP_IF_NOT_NE", gas 2 + 3, stack (2, 0), Branch(target), jit Jit::Inline;
    /// `LoadLocal a; LoadLocal b; <cmp>; JumpIfFalse target`: jump unless `a cmp b`. `->`
    BranchLocals { cmp: Cmp, a: u16, b: u16, target: u16 } => "BRANCH_LOCALS", gas 2 + 2 + 2 + 3, stack (0, 0), Branch(target), jit Jit::Inline;
    /// `LoadLocal a; Int imm; <cmp>; JumpIfFalse target`: jump unless `a cmp imm`. `->`
    BranchLocalImm { cmp: Cmp, a: u16, imm: i16, target: u16 } => "BRANCH_LOCAL_IMM", gas 2 + 1 + 2 + 3, stack (0, 0), Branch(target), jit Jit::Inline;

    // --- modules (MODULES.md §6; semantics in vm/modules.rs; never JIT-compiled) -----------
    /// Run module `module`'s top level in a frame of its own unless it already ran; the
    /// frame's result (or null) is pushed. With the `POP` after it, a `use` costs 10 gas, and
    /// its bindings below cost nothing (MODULES.md §12). `-> null`
    UseModule { module: u32 } => "USE_MODULE", gas 9, stack (0, 1), Next, jit MODULES;
    /// `-> m`, the module value of module `module`.
    LoadModule { module: u32 } => "LOAD_MODULE", gas 0, stack (0, 1), Next, jit MODULES;
    /// `-> g`: global `idx` (chunk global table), even when it has no value (a use's snapshot).
    ImportLoad { idx: u32 } => "IMPORT_LOAD", gas 0, stack (0, 1), Next, jit MODULES;
    /// `v ->` into global `idx` (chunk global table): a name a use statement binds.
    ImportStore { idx: u32 } => "IMPORT_STORE", gas 0, stack (1, 0), Next, jit MODULES;
}

const _: () = assert!(std::mem::size_of::<Op>() == 8);

/// Number of opcodes in the table.
pub const OP_COUNT: usize = OpCode::ALL.len();

/// Worst-case gas of one instruction (HASH); used to schedule exact gas checks.
pub const MAX_OP_GAS: u64 = {
    let mut max = 0;
    let mut i = 0;
    while i < OpCode::ALL.len() {
        if OpCode::ALL[i].gas() > max {
            max = OpCode::ALL[i].gas();
        }
        i += 1;
    }
    max
};

impl Op {
    /// The opcode's name as shown in listings.
    pub fn name(&self) -> &'static str {
        self.code().name()
    }

    /// Gas charged before the instruction runs (BLOCKCHAIN.md §7 and §7a). A superinstruction
    /// costs the sum of the instructions it replaces, so gas is independent of fusion.
    #[inline(always)]
    pub fn gas(&self) -> u64 {
        self.code().gas()
    }

    /// How the JIT treats the instruction.
    pub fn jit(&self) -> Jit {
        self.code().jit()
    }

    /// The jump target, for instructions that may transfer control within the chunk.
    pub fn jump_target(&self) -> Option<u32> {
        match self.flow() {
            Flow::Goto(t) | Flow::Branch(t) | Flow::ForNext(t) | Flow::KeepOnJump(t) => Some(t),
            Flow::Next | Flow::End => None,
        }
    }

    /// True if control never falls through to the next instruction.
    pub fn is_terminator(&self) -> bool {
        matches!(self.flow(), Flow::Goto(_) | Flow::End)
    }

    /// Where control may go after this instruction at `pc`, each with the operand-stack depth
    /// there, given the depth once its operands are popped (`after_pop`) and once its results
    /// are pushed (`after`). The for-each step pushes an element only when it falls through.
    pub fn successors<D: Copy>(&self, pc: usize, after_pop: D, after: D) -> [Option<(usize, D)>; 2] {
        match self.flow() {
            Flow::Next => [Some((pc + 1, after)), None],
            Flow::End => [None, None],
            Flow::Goto(t) => [None, Some((t as usize, after))],
            Flow::Branch(t) => [Some((pc + 1, after)), Some((t as usize, after))],
            Flow::ForNext(t) => [Some((pc + 1, after)), Some((t as usize, after_pop))],
            Flow::KeepOnJump(t) => [Some((pc + 1, after_pop)), Some((t as usize, after))],
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
        matches!(
            self,
            Op::StateGet
                | Op::StateSet
                | Op::TxBegin
                | Op::TxCommit
                | Op::TxRevert
                | Op::Hash
                | Op::Verify
                | Op::Emit { .. }
                | Op::NewEntity { .. }
        )
    }
}

/// Stack depth (operands above the operand base) before each instruction, from the one walk
/// the verifier and the register-form linker share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Depths {
    /// The depth before each instruction; `None` where no path from the entry arrives.
    pub depth: Vec<Option<u32>>,
    /// The first fault found, if any: the instruction and what is wrong there.
    pub fault: Option<(usize, DepthFault)>,
    /// Instructions that a fault makes unusable (a conflicting merge or an underflow).
    pub broken: Vec<bool>,
}

/// What the stack-depth walk found wrong at one instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DepthFault {
    /// Control runs past the last instruction.
    OffTheEnd,
    /// Two paths arrive with different depths (this one, and the one seen first).
    Merge { here: u32, seen: u32 },
    /// The instruction pops more than the stack holds.
    Underflow { pops: u32, depth: u32 },
}

/// Abstract interpretation of the stack depth over the control-flow graph. A conflict keeps
/// the first depth seen; every fault is marked in `broken`, the first one is reported.
pub fn stack_depths(code: &[Op], handlers: &[Handler]) -> Depths {
    let mut depth: Vec<Option<u32>> = vec![None; code.len()];
    let mut broken = vec![false; code.len()];
    let mut fault = None;
    let note = |fault: &mut Option<(usize, DepthFault)>, pc: usize, f: DepthFault| {
        if fault.is_none() {
            *fault = Some((pc, f));
        }
    };
    let mut work = vec![(0usize, 0u32)];
    // A handler starts with the value the unwinder pushes above its `try`'s depth.
    work.extend(handlers.iter().map(|h| (h.target as usize, h.depth.saturating_add(1))));
    while let Some((pc, d)) = work.pop() {
        let Some(op) = code.get(pc) else {
            note(&mut fault, pc, DepthFault::OffTheEnd);
            continue;
        };
        match depth[pc] {
            Some(seen) => {
                if seen != d {
                    broken[pc] = true;
                    note(&mut fault, pc, DepthFault::Merge { here: d, seen });
                }
                continue;
            }
            None => depth[pc] = Some(d),
        }
        let (pops, pushes) = op.stack_effect();
        let Some(after_pop) = d.checked_sub(pops) else {
            broken[pc] = true;
            note(&mut fault, pc, DepthFault::Underflow { pops, depth: d });
            continue;
        };
        let after = after_pop.saturating_add(pushes);
        work.extend(op.successors(pc, after_pop, after).into_iter().flatten());
    }
    Depths { depth, fault, broken }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_covers_every_opcode_once() {
        let mut names: Vec<&str> = OpCode::ALL.iter().map(|c| c.name()).collect();
        assert_eq!(names.len(), OP_COUNT);
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), OP_COUNT, "listing names are unique");
        assert_eq!(MAX_OP_GAS, 50);
        assert_eq!(Op::Hash.gas(), MAX_OP_GAS);
    }

    #[test]
    fn flow_and_targets_come_from_the_table() {
        let mut op = Op::BranchLocals { cmp: Cmp::Lt, a: 0, b: 1, target: 3 };
        assert_eq!(op.jump_target(), Some(3));
        assert!(op.set_jump_target(9));
        assert_eq!(op.jump_target(), Some(9));
        assert!(!op.set_jump_target(70_000), "does not fit a u16 target");
        assert!(!Op::Add.clone().set_jump_target(1));
        assert!(Op::Jump { target: 0 }.is_terminator());
        assert!(Op::Return.is_terminator());
        assert!(!Op::JumpIfFalse { target: 0 }.is_terminator());
        assert_eq!(Op::ForNext { slot: 0, exit: 5 }.successors(1, 0u32, 1), [Some((2, 1)), Some((5, 0))]);
        assert_eq!(Op::Call { argc: 2 }.stack_effect(), (3, 1));
    }

    #[test]
    fn the_depth_walk_reports_the_first_fault() {
        let ok = stack_depths(&[Op::Int { value: 1 }, Op::Pop, Op::Halt], &[]);
        assert_eq!(ok.depth, vec![Some(0), Some(1), Some(0)]);
        assert_eq!(ok.fault, None);
        let under = stack_depths(&[Op::Pop, Op::Halt], &[]);
        assert_eq!(under.fault, Some((0, DepthFault::Underflow { pops: 1, depth: 0 })));
        let off = stack_depths(&[Op::Nop], &[]);
        assert_eq!(off.fault, Some((1, DepthFault::OffTheEnd)));
    }
}
