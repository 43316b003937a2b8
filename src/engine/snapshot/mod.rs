//! The view model: plain-data snapshots of a session (`SessionSnapshot`), everything the TUI
//! panes and the headless `snapshot` command show, as owned strings and numbers that can cross
//! threads. `build.rs` builds them from a session.
//!
//! The static half (source, listings before, after and between optimizer passes, the pc map
//! between them, optimizer figures) is built once per build and shared behind an `Arc`; the
//! dynamic half (frames, stacks, STATE, counters, output, execution counts, loops and their
//! JIT fate, the JIT's machine code, cache figures) is rebuilt on every call to
//! [`Session::snapshot`]. Execution counts are `None` unless the session counts
//! ([`Session::enable_exec_counts`]; the debugger always does).

mod build;
mod lazy;

use std::sync::Arc;

use serde::Serialize;

use super::JitSummary;
use super::recorder::EventBreak;
use crate::bytecode::disasm::ListingRow;
use crate::compile::optimize::PassStats;
use crate::vm::error::ErrorKind;
use crate::vm::interp::VmCounters;
pub use build::SessionText;
pub use lazy::Lazy;

/// Version of the snapshot JSON contract; bumped on any incompatible change.
pub const SNAPSHOT_FORMAT_VERSION: u32 = 1;

/// Operand-stack entries kept per snapshot (the top ones).
pub const MAX_OPERANDS: usize = 32;

/// STATE entries kept per snapshot (the first ones by key).
pub const MAX_STATE_ENTRIES: usize = 200;

/// Output lines kept per snapshot (the last ones).
pub const MAX_OUTPUT_LINES: usize = 500;

/// Whether the program is running, stopped in the debugger, or done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Executing instructions.
    Running,
    /// Stopped by the debugger (at the start, after a step, at a breakpoint, by the user).
    Paused,
    /// Ran to its end.
    Finished,
    /// Stopped with a runtime error.
    Failed,
}

impl RunStatus {
    /// Upper-case label for status lines.
    pub fn label(self) -> &'static str {
        match self {
            RunStatus::Running => "RUNNING",
            RunStatus::Paused => "PAUSED",
            RunStatus::Finished => "FINISHED",
            RunStatus::Failed => "FAILED",
        }
    }
}

/// A debugger breakpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Breakpoint {
    /// Stop when execution enters this 1-based source line of this file.
    Line {
        /// The file (index in [`ProgramInfo::files`]; 0, the main file, is left out of the
        /// JSON).
        #[serde(skip_serializing_if = "is_main_file")]
        file: u32,
        /// The line.
        line: u32,
    },
    /// Stop before executing this instruction of the optimized code.
    Instruction {
        /// Function index (as in [`ProgramInfo::functions`]).
        function: u32,
        /// Instruction index.
        pc: u32,
    },
}

impl Breakpoint {
    /// A line breakpoint in the main file.
    pub fn main_line(line: u32) -> Breakpoint {
        Breakpoint::Line { file: 0, line }
    }
}

fn is_main_file(file: &u32) -> bool {
    *file == 0
}

/// One file of the program.
#[derive(Debug, Clone, Serialize)]
pub struct FileInfo {
    /// `N(F)` (MODULES.md §4.3): `""` for the main file.
    pub name: String,
    /// `D(F)`: how the debugger names the file (the main file: the program's display name).
    pub display: String,
    /// Its text.
    pub source: String,
    /// Number of lines.
    pub line_count: usize,
}

/// The static half of a snapshot: what does not change while the program runs.
#[derive(Debug, Clone, Serialize)]
pub struct ProgramInfo {
    /// Display name of the program (its path, or `<demo>`).
    pub name: String,
    /// The main file's source text.
    pub source: String,
    /// Number of source lines of the main file.
    pub line_count: usize,
    /// Every file of the program: the main file first, then the modules in load order.
    pub files: Vec<FileInfo>,
    /// Every function, in program order (index 0 is the top level).
    pub functions: Vec<FunctionInfo>,
    /// What each optimizer pass did.
    pub pass_stats: Vec<PassStats>,
    /// Instructions before optimization, all functions.
    pub unoptimized_len: usize,
    /// Instructions after optimization, all functions.
    pub optimized_len: usize,
}

/// One function's code after one optimizer pass.
#[derive(Debug, Clone, Serialize)]
pub struct PassListing {
    /// The pass.
    pub pass: &'static str,
    /// The code after it.
    pub rows: Vec<ListingRow>,
    /// For each row, the unoptimized pcs it stands for (itself, then parts fused into it).
    pub origins: Vec<Vec<u32>>,
}

/// The listings of one function.
#[derive(Debug, Clone, Serialize)]
pub struct FunctionInfo {
    /// Index in [`ProgramInfo::functions`] (the VM's proto id).
    pub id: u32,
    /// Display name (`<main>` for the top level; `f@D`, `<module D>` in module `D`).
    pub name: String,
    /// The file it is written in (index in [`ProgramInfo::files`]); its listing rows give
    /// lines of that file.
    pub file: u32,
    /// Parameters.
    pub arity: u16,
    /// Frame slots.
    pub slots: u32,
    /// The code that runs (after the optimizer). This and the fields below are derived when
    /// first read (`lazy.rs`); their `len()` is known before.
    pub optimized: Lazy<Vec<ListingRow>>,
    /// The code as compiled (before the optimizer).
    pub unoptimized: Lazy<Vec<ListingRow>>,
    /// For each unoptimized pc, the optimized pc it became or was fused into (`null` where it
    /// was removed or folded away, and everywhere if the mapping could not be traced).
    pub unoptimized_map: Lazy<Vec<Option<u32>>>,
    /// True if the optimizer's pc mapping was traced (see `compile::optimize::history`).
    pub mapped: Lazy<bool>,
    /// The code after each optimizer pass, in order (not in the JSON snapshot; `dis --by-pass`
    /// prints it).
    #[serde(skip)]
    pub passes: Lazy<Vec<PassListing>>,
}

impl FunctionInfo {
    /// The unoptimized pcs that became optimized instruction `pc` (empty if none traced).
    pub fn unoptimized_of(&self, pc: u32) -> impl Iterator<Item = u32> + '_ {
        self.unoptimized_map.iter().enumerate().filter(move |(_, m)| **m == Some(pc)).map(|(u, _)| u as u32)
    }
}

/// The innermost position of the program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Location {
    /// Function index.
    pub function: u32,
    /// The file of that function (index in [`ProgramInfo::files`]).
    pub file: u32,
    /// Instruction index: the next one to run (or the failing one after an error).
    pub pc: u32,
    /// 1-based source line of that instruction, in its file.
    pub line: u32,
    /// 1-based column of that instruction.
    pub col: u32,
    /// Call depth (1 at the top level).
    pub depth: usize,
}

/// A named value, as display text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Binding {
    /// The name (or STATE key).
    pub name: String,
    /// The value's repr, truncated to [`MAX_VALUE_PREVIEW`] characters.
    pub value: String,
}

/// One contract instance and its members.
#[derive(Debug, Clone, Serialize)]
pub struct ContractView {
    /// `C#k`.
    pub id: String,
    /// Members in declaration order.
    pub members: Vec<Binding>,
}

/// One call frame.
#[derive(Debug, Clone, Serialize)]
pub struct FrameView {
    /// Function index.
    pub function: u32,
    /// Function name.
    pub name: String,
    /// The file of the function (index in [`ProgramInfo::files`]).
    pub file: u32,
    /// The instruction this frame is at (for callers: the call in progress).
    pub pc: u32,
    /// Source line of `pc`, in the function's file.
    pub line: u32,
    /// Named slots that hold a value (hidden compiler slots are left out).
    pub locals: Vec<Binding>,
    /// Operands on this frame's part of the value stack.
    pub operand_count: usize,
    /// For the callee frame of an external contract call: the transaction depth inside it.
    #[serde(default)]
    pub transaction: Option<usize>,
}

/// One open transaction.
#[derive(Debug, Clone, Serialize)]
pub struct TxView {
    /// 1 for the outermost.
    pub depth: usize,
    /// Keys written in it so far.
    pub keys: Vec<String>,
    /// The same writes as `"key": old → new` (old `unset` for a new key), in key order.
    #[serde(default)]
    pub writes: Vec<String>,
    /// Contract members it changed so far, as `C#k.member: old → new`.
    pub members: Vec<String>,
}

/// How a transaction's row names its pending writes: ` (no writes yet)`, ` (1 pending write)`.
pub fn pending(n: usize) -> String {
    match n {
        0 => " (no writes yet)".to_string(),
        1 => " (1 pending write)".to_string(),
        n => format!(" ({n} pending writes)"),
    }
}

/// One entry of the debugger's breakpoint list (see `engine::debug::break_list`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BreakRow {
    /// The line (or instruction) breakpoint, if it is one.
    pub line: Option<Breakpoint>,
    /// The watchpoint's expression (`STATE["alice"]`, a name), if it is one.
    pub watch: Option<String>,
    /// How the list shows it: `line 17 if n == 0`, `watch STATE["alice"] = 100`.
    pub what: String,
    /// Times it stopped (its condition holding) since the last restart.
    pub hits: u64,
    /// False for a disabled entry: listed, but it does not stop the run.
    pub enabled: bool,
}

/// The error a program failed with.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorView {
    /// Category.
    pub kind: ErrorKind,
    /// Message.
    pub message: String,
    /// The file of the failing operation (index in [`ProgramInfo::files`]).
    pub file: u32,
    /// 1-based line of the failing operation, in its file.
    pub line: u32,
    /// 1-based column.
    pub col: u32,
    /// Call chain, outermost first: function and the line it was called from (in the file of
    /// the call).
    pub traceback: Vec<(String, u32)>,
    /// The rustc-style rendering (as `zexus-tui run` prints it).
    pub rendered: String,
}

/// How far a loop is on its way to native code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LoopState {
    /// Below the hot threshold.
    Cold,
    /// Crossed the threshold; interpreted because the JIT is off or not in this build.
    Hot,
    /// Crossed the threshold; interpreted because the JIT declined it (see the reason).
    Refused,
    /// Running as native code (it may have bailed out now and then: see the bail-outs).
    Compiled,
    /// Was compiled, kept bailing out, and stays interpreted (see the reason).
    Blacklisted,
}

impl LoopState {
    /// True for the states whose code ran, or runs, as native code.
    pub fn was_compiled(self) -> bool {
        matches!(self, LoopState::Compiled | LoopState::Blacklisted)
    }
}

/// One loop and its counters.
#[derive(Debug, Clone, Serialize)]
pub struct LoopView {
    /// Function index.
    pub function: u32,
    /// Function name.
    pub function_name: String,
    /// The file of the function (index in [`ProgramInfo::files`]).
    pub file: u32,
    /// Loop index within the function.
    pub loop_id: u16,
    /// First instruction of the loop.
    pub header_pc: u32,
    /// The closing `LoopBack`.
    pub back_edge_pc: u32,
    /// Source line of the header, in its file.
    pub header_line: u32,
    /// Back-edges taken so far (interpreted and native).
    pub iterations: u64,
    /// Back-edges after which the loop is hot.
    pub threshold: u64,
    /// Cold, hot, refused, compiled or blacklisted.
    pub state: LoopState,
    /// Why it is not compiled (refused, blacklisted, JIT off), or, for a compiled loop that
    /// bailed out, the commonest bail-out: one line, e.g. `type guard: 'x' holds a string`.
    /// For a cold loop: why the JIT will refuse it when it turns hot, if the code alone tells
    /// (`jit::static_refusal`, e.g. `unsupported instruction CALL at pc 8`).
    pub reason: Option<String>,
    /// Entries into native code from the interpreter (native code going on after a fuel exit is the same entry; ARCHITECTURE.md, `jit/`).
    pub entries: u64,
    /// Exits from its native code through a guard.
    pub bailouts: u64,
    /// Bytecode instructions its native code ran.
    pub native_instructions: u64,
    /// Bytes of machine code (0 if never compiled).
    pub native_bytes: u64,
}

impl LoopView {
    /// Iterations left before the loop becomes hot (0 once it is).
    pub fn remaining(&self) -> u64 {
        self.threshold.saturating_sub(self.iterations)
    }
}

/// Bytecode-cache figures, cumulative over the session (across restarts), and what the latest
/// build took from the cache.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CacheView {
    /// False when the cache is off (`--no-cache`).
    pub enabled: bool,
    /// Builds so far (1, plus one per restart).
    pub builds: u64,
    /// Units of the latest build.
    pub last_units: u64,
    /// Units of the latest build that came from the cache.
    pub last_hits: u64,
    /// Lookups that found a compiled chunk.
    pub hits: u64,
    /// Lookups that compiled.
    pub misses: u64,
    /// Entries held.
    pub entries: u64,
    /// Bytes held.
    pub memory_bytes: u64,
    /// Entries evicted.
    pub evictions: u64,
    /// What the latest build took from the cache, file by file (empty for a one-file program).
    pub files: Vec<FileCacheView>,
}

/// What the latest build did with one file's units.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FileCacheView {
    /// The file (index in [`ProgramInfo::files`]).
    pub file: u32,
    /// Its units (its top level and each top-level function).
    pub units: u64,
    /// Units taken from the cache (memory or disk).
    pub hits: u64,
    /// The units compiled (misses), by name.
    pub compiled: Vec<String>,
    /// True when the file's text changed since the previous build (always false on the first).
    pub changed: bool,
}

impl FileCacheView {
    /// Why the file's units were compiled or not, in a few words.
    pub fn why(&self, builds: u64) -> String {
        match (self.compiled.is_empty(), builds > 1, self.changed) {
            (true, _, _) => "all from the cache".to_string(),
            (false, false, _) => "first build".to_string(),
            (false, true, true) => format!("file changed: recompiled {}", self.compiled.join(", ")),
            (false, true, false) => format!("an import changed: recompiled {}", self.compiled.join(", ")),
        }
    }
}

impl CacheView {
    /// Hits over lookups, 0 to 1 (0 with no lookups).
    pub fn hit_rate(&self) -> f64 {
        let total = self.hits + self.misses;
        if total == 0 { 0.0 } else { self.hits as f64 / total as f64 }
    }
}

/// Exact execution counts (interpreted and native runs together; see `engine::counts`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct ProfileView {
    /// Per function, per instruction of the optimized code: times executed.
    pub instructions: Vec<Vec<u64>>,
    /// Per 1-based source line of the main file (index 0 unused): instructions executed on it.
    pub lines: Vec<u64>,
    /// Per 1-based source line of the main file (index 0 unused): times the line ran (the
    /// count of its most-executed instruction).
    pub line_hits: Vec<u64>,
    /// The same two figures for each module, in load order (file `i + 1` is `modules[i]`;
    /// empty for a one-file program).
    pub modules: Vec<LineCounts>,
    /// The largest instruction count (the top of the heat scale).
    pub max_instruction: u64,
    /// The largest line hit count.
    pub max_line_hits: u64,
}

/// Per-line figures of one file.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LineCounts {
    /// Per 1-based line (index 0 unused): instructions executed on it.
    pub lines: Vec<u64>,
    /// Per 1-based line (index 0 unused): times the line ran.
    pub line_hits: Vec<u64>,
}

impl ProfileView {
    /// Times line `line` of file `file` ran (0 when out of range).
    pub fn line_hits_in(&self, file: u32, line: u32) -> u64 {
        let hits = match file {
            0 => Some(&self.line_hits),
            _ => self.modules.get(file as usize - 1).map(|m| &m.line_hits),
        };
        hits.and_then(|h| h.get(line as usize)).copied().unwrap_or(0)
    }

    /// Times instruction `pc` of function `function` ran (0 when out of range).
    pub fn count(&self, function: u32, pc: u32) -> u64 {
        self.instructions.get(function as usize).and_then(|c| c.get(pc as usize)).copied().unwrap_or(0)
    }
}

/// Per-instruction JIT information and the machine code of every compiled loop.
#[derive(Debug, Clone, Default, Serialize)]
pub struct JitView {
    /// Per function, per instruction: true where the instruction belongs to a compiled loop.
    pub compiled: Vec<Vec<bool>>,
    /// The native code of each loop that was compiled (still, or before it was blacklisted).
    pub native: Vec<NativeListing>,
}

impl JitView {
    /// The native code of loop `loop_id` of `function`, if it was compiled.
    pub fn native_of(&self, function: u32, loop_id: u16) -> Option<&NativeListing> {
        self.native.iter().find(|n| n.function == function && n.loop_id == loop_id)
    }
}

/// The disassembled machine code of one compiled loop (as `dis --jit` prints it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NativeListing {
    /// Function index.
    pub function: u32,
    /// Loop index within the function.
    pub loop_id: u16,
    /// Address the code runs at.
    pub address: u64,
    /// Size of the code in bytes.
    pub bytes: usize,
    /// Decoded instructions in address order.
    pub rows: Vec<NativeRow>,
}

/// One machine instruction of a compiled loop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NativeRow {
    /// Offset from the start of the code.
    pub offset: usize,
    /// The bytecode instruction it implements (`None` in the entry code and the exit stubs).
    pub pc: Option<u32>,
    /// True in the cold exit stubs and epilogue.
    pub cold: bool,
    /// Intel-syntax text.
    pub text: String,
}

/// Everything the debugger shows, as plain data.
#[derive(Debug, Clone, Serialize)]
pub struct SessionSnapshot {
    /// Layout version ([`SNAPSHOT_FORMAT_VERSION`]).
    pub format_version: u32,
    /// The zexus-tui version that wrote it (as the trace formats carry it).
    pub version: &'static str,
    /// Source, listings and optimizer figures (shared between snapshots).
    #[serde(serialize_with = "serialize_arc")]
    pub program: Arc<ProgramInfo>,
    /// Running, paused, finished or failed.
    pub status: RunStatus,
    /// Why the debugger stopped (`step`, `breakpoint at line 7`, ...), if it did.
    pub stop_reason: Option<String>,
    /// The innermost position, if the program has not finished.
    pub location: Option<Location>,
    /// Call frames, outermost first.
    pub frames: Vec<FrameView>,
    /// The innermost frame's operands, top first, at most [`MAX_OPERANDS`].
    pub operands: Vec<String>,
    /// All operands of the innermost frame.
    pub operand_count: usize,
    /// Global variables that hold a value (builtins and hidden slots left out).
    pub globals: Vec<Binding>,
    /// Committed STATE, sorted by key, at most [`MAX_STATE_ENTRIES`].
    pub state: Vec<Binding>,
    /// Committed STATE entries in all.
    pub state_len: usize,
    /// Open transactions, outermost first.
    pub transactions: Vec<TxView>,
    /// Contract instances that exist (CONTRACTS.md §12), by contract name then number, at
    /// most [`MAX_STATE_ENTRIES`], with their storage as it is now (pending writes included).
    pub contracts: Vec<ContractView>,
    /// The event log's last records (at most [`MAX_STATE_ENTRIES`]), oldest first.
    pub events: Vec<String>,
    /// Records in the event log in all.
    pub events_len: usize,
    /// Instructions, gas, calls, depth.
    pub counters: VmCounters,
    /// The gas limit, if any.
    pub gas_limit: Option<u64>,
    /// The last lines the program printed, at most [`MAX_OUTPUT_LINES`].
    pub output: Vec<String>,
    /// Lines printed in all.
    pub output_total: u64,
    /// Warnings the VM produced at the end of the run.
    pub warnings: Vec<String>,
    /// The breakpoint list: line breakpoints, then watchpoints (the TUI adds its disabled
    /// ones).
    pub break_list: Vec<BreakRow>,
    /// Watch expressions (gdb's `display`) evaluated in the innermost frame at this stop: the
    /// expression and its value, or `⚠ ` and why it has none.
    pub displays: Vec<Binding>,
    /// The runtime error, if the program failed.
    pub error: Option<ErrorView>,
    /// Every loop of the program with its counters.
    pub loops: Vec<LoopView>,
    /// Breakpoints set in the debugger.
    pub breakpoints: Vec<Breakpoint>,
    /// The VM events the debugger stops on.
    pub event_breaks: Vec<EventBreak>,
    /// What the latest rollback discarded (`C#k.member: old → new; ...`), from the debugger.
    #[serde(default)]
    pub last_rollback: Option<String>,
    /// The latest reverted action calls, oldest first, from the debugger.
    #[serde(default)]
    pub reverted_calls: Vec<String>,
    /// Filters of the contract breaks that have one (a contract, action or event name).
    #[serde(default)]
    pub event_filters: Vec<(EventBreak, String)>,
    /// What the JIT did.
    pub jit: JitSummary,
    /// Per-instruction JIT information; `None` until the JIT lands.
    pub jit_code: Option<JitView>,
    /// Bytecode-cache statistics; `None` until the cache lands.
    pub cache: Option<CacheView>,
    /// Execution counts; `None` until the profiler lands.
    pub profile: Option<ProfileView>,
    /// The flame graph and function table of the run so far (`engine::flame`; the
    /// debugger's snapshots have it).
    #[serde(default)]
    pub flame: Option<crate::engine::flame::FlameView>,
    /// Microseconds since the session started, by the publisher's clock (0 when unknown).
    pub clock_us: u64,
    /// Recent instructions-per-second samples, oldest first (filled by the publisher).
    pub ips_history: Vec<u64>,
    /// The time-travel timeline: position, the run's furthest point, marked events (filled
    /// by the debugger; empty for a plain session).
    #[serde(default)]
    pub timeline: crate::engine::timeline::Timeline,
}

// Snapshots cross from the VM thread to the UI thread: they must stay plain, sendable data.
const _: fn() = || {
    fn plain<T: Send + Sync + Clone + 'static>() {}
    plain::<SessionSnapshot>();
};

fn serialize_arc<S: serde::Serializer, T: Serialize>(value: &Arc<T>, serializer: S) -> Result<S::Ok, S::Error> {
    T::serialize(value, serializer)
}

impl SessionSnapshot {
    /// The function of `id`, if it exists.
    pub fn function(&self, id: u32) -> Option<&FunctionInfo> {
        self.program.functions.get(id as usize)
    }

    /// The display path of file `file` (the program's name when out of range).
    pub fn file_name(&self, file: u32) -> &str {
        self.program.files.get(file as usize).map_or(self.program.name.as_str(), |f| f.display.as_str())
    }

    /// True for a program of more than one file.
    pub fn is_multi_file(&self) -> bool {
        self.program.files.len() > 1
    }

    /// `D:LINE` when the program has several files, else `line LINE`.
    pub fn where_line(&self, file: u32, line: u32) -> String {
        if self.is_multi_file() { format!("{}:{line}", self.file_name(file)) } else { format!("line {line}") }
    }
}
