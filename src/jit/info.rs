//! What the JIT did, per loop and per instruction, as plain data for the TUI, `stats` and
//! `dis --jit` (available on every architecture; empty where the JIT is not built).

/// The fate of one hot loop.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "state", content = "reason", rename_all = "snake_case")]
pub enum JitLoopStatus {
    /// Native code exists and runs.
    Compiled,
    /// The compiler declined the loop (one-line reason, e.g. `unsupported instruction CALL at pc 12`).
    Refused(String),
    /// The loop kept bailing out and stays interpreted (reason of the last bail-out).
    Blacklisted(String),
}

/// How often control left native code through one exit, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct JitExitCount {
    /// Instruction where the interpreter resumed.
    pub pc: u32,
    /// `bailout`, `loop_exit` or `fuel`.
    pub kind: &'static str,
    /// One-line reason (for bail-outs), e.g. `integer overflow`.
    pub reason: String,
    /// Times taken.
    pub count: u64,
}

/// The native code of a compiled loop, for listings.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct JitCodeListing {
    /// Address the code runs at.
    pub address: u64,
    /// The machine code.
    pub bytes: Vec<u8>,
    /// Offset into `bytes` where each bytecode instruction's code starts, by pc, in order.
    pub pc_offsets: Vec<(u32, usize)>,
    /// Offset where the cold exit stubs begin.
    pub stubs_at: usize,
}

/// One loop the JIT considered.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct JitLoopInfo {
    /// Function (proto) index.
    pub proto_id: u32,
    /// Function name for display.
    pub function: String,
    /// Loop index within the function.
    pub loop_id: u16,
    /// First instruction of the loop.
    pub header: u32,
    /// The loop's back-edge (last instruction of the region).
    pub back_edge: u32,
    /// Compiled, refused or blacklisted.
    pub status: JitLoopStatus,
    /// Compilations attempted.
    pub compilations: u64,
    /// Entries into native code from the interpreter (native code going on after a fuel exit is the same entry; ARCHITECTURE.md, `jit/`).
    pub entries: u64,
    /// Exits through a guard, an overflow check or an unsupported instruction.
    pub bailouts: u64,
    /// Bytecode instructions run as native code.
    pub native_instructions: u64,
    /// Bytes of machine code.
    pub native_bytes: u64,
    /// Time spent compiling, in microseconds.
    pub compile_time_us: u64,
    /// Exits taken, by site.
    pub exits: Vec<JitExitCount>,
    /// The machine code (compiled loops only).
    pub code: Option<JitCodeListing>,
    /// Variables kept in registers, as `name:register`.
    pub registers: Vec<String>,
}

impl JitLoopInfo {
    /// True if `pc` of function `proto_id` lies in this loop's region.
    pub fn contains(&self, proto_id: u32, pc: u32) -> bool {
        self.proto_id == proto_id && pc >= self.header && pc <= self.back_edge
    }
}

/// JIT facts about one instruction.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct JitInstrInfo {
    /// True if the instruction lies in a loop that currently has native code.
    pub compiled: bool,
    /// Bail-outs at this instruction, by reason.
    pub bailouts: Vec<(String, u64)>,
}

/// Everything the JIT did in a session.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct JitInfo {
    /// True when this build contains the x86-64 JIT.
    pub available: bool,
    /// Every loop that turned hot, in the order they did.
    pub loops: Vec<JitLoopInfo>,
}

impl JitInfo {
    /// JIT facts about instruction `pc` of function `proto_id`.
    pub fn instruction(&self, proto_id: u32, pc: u32) -> JitInstrInfo {
        let mut out = JitInstrInfo::default();
        for l in self.loops.iter().filter(|l| l.proto_id == proto_id) {
            if l.contains(proto_id, pc) && l.status == JitLoopStatus::Compiled {
                out.compiled = true;
            }
            for e in l.exits.iter().filter(|e| e.pc == pc && e.kind == "bailout") {
                match out.bailouts.iter_mut().find(|(r, _)| *r == e.reason) {
                    Some((_, n)) => *n += e.count,
                    None => out.bailouts.push((e.reason.clone(), e.count)),
                }
            }
        }
        out
    }

    /// Loops that currently have native code.
    pub fn compiled_loops(&self) -> usize {
        self.loops.iter().filter(|l| l.status == JitLoopStatus::Compiled).count()
    }
}
