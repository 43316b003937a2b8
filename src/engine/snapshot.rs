//! Plain-data snapshots of a session (`SessionSnapshot`): everything the TUI panes and the
//! headless `snapshot` command show, as owned strings and numbers that can cross threads.
//!
//! The static half (source, listings before, after and between optimizer passes, the pc map
//! between them, optimizer figures) is built once per build and shared behind an `Arc`; the
//! dynamic half (frames, stacks, STATE, counters, output, execution counts, loops and their
//! JIT fate, the JIT's machine code, cache figures) is rebuilt on every call to
//! [`Session::snapshot`]. Execution counts are `None` unless the session counts
//! ([`Session::enable_exec_counts`]; the debugger always does).

use std::cell::{OnceCell, RefCell};
use std::collections::VecDeque;
use std::io::Write;
use std::rc::Rc;
use std::sync::Arc;

use serde::Serialize;

use super::cache::CompileCache;
use super::recorder::EventBreak;
use super::{JitSummary, Options, Session};
use crate::bytecode::chunk::Chunk;
use crate::bytecode::disasm::{self, ListingRow};
use crate::compile::optimize::{PassStats, history};
use crate::diag::{Diagnostic, render};
use crate::jit::disasm::NativeSection;
use crate::jit::{JitCodeListing, JitLoopInfo, JitLoopStatus};
use crate::syntax::span::SourceMap;
use crate::vm::chain::Data;
use crate::vm::error::ErrorKind;
use crate::vm::interp::VmCounters;
use crate::vm::value::{self, Value};

/// Version of the snapshot JSON contract; bumped on any incompatible change.
pub const SNAPSHOT_FORMAT_VERSION: u32 = 1;

/// Longest preview of one value, in characters.
pub const MAX_VALUE_PREVIEW: usize = 120;

/// Operand-stack entries kept per snapshot (the top ones).
pub const MAX_OPERANDS: usize = 32;

/// STATE entries kept per snapshot (the first ones by key).
pub const MAX_STATE_ENTRIES: usize = 200;

/// Output lines kept per snapshot (the last ones).
pub const MAX_OUTPUT_LINES: usize = 500;

/// Output lines the session's capture buffer keeps.
const OUTPUT_BUFFER_LINES: usize = 10_000;

/// Longest output line kept, in bytes (longer lines are cut).
const MAX_OUTPUT_LINE_BYTES: usize = 4_096;

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
    /// Stop when execution enters this 1-based source line.
    Line {
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

/// The static half of a snapshot: what does not change while the program runs.
#[derive(Debug, Clone, Serialize)]
pub struct ProgramInfo {
    /// Display name of the program (its path, or `<demo>`).
    pub name: String,
    /// The source text.
    pub source: String,
    /// Number of source lines.
    pub line_count: usize,
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
    /// Display name (`<main>` for the top level).
    pub name: String,
    /// Parameters.
    pub arity: u16,
    /// Frame slots.
    pub slots: u32,
    /// The code that runs (after the optimizer).
    pub optimized: Vec<ListingRow>,
    /// The code as compiled (before the optimizer).
    pub unoptimized: Vec<ListingRow>,
    /// For each unoptimized pc, the optimized pc it became or was fused into (`null` where it
    /// was removed or folded away, and everywhere if the mapping could not be traced).
    pub unoptimized_map: Vec<Option<u32>>,
    /// True if the optimizer's pc mapping was traced (see `compile::optimize::history`).
    pub mapped: bool,
    /// The code after each optimizer pass, in order (not in the JSON snapshot; `dis --by-pass`
    /// prints it).
    #[serde(skip)]
    pub passes: Vec<PassListing>,
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
    /// Instruction index: the next one to run (or the failing one after an error).
    pub pc: u32,
    /// 1-based source line of that instruction.
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

/// One call frame.
#[derive(Debug, Clone, Serialize)]
pub struct FrameView {
    /// Function index.
    pub function: u32,
    /// Function name.
    pub name: String,
    /// The instruction this frame is at (for callers: the call in progress).
    pub pc: u32,
    /// Source line of `pc`.
    pub line: u32,
    /// Named slots that hold a value (hidden compiler slots are left out).
    pub locals: Vec<Binding>,
    /// Operands on this frame's part of the value stack.
    pub operand_count: usize,
}

/// One open transaction.
#[derive(Debug, Clone, Serialize)]
pub struct TxView {
    /// 1 for the outermost.
    pub depth: usize,
    /// Keys written in it so far.
    pub keys: Vec<String>,
}

/// The error a program failed with.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorView {
    /// Category.
    pub kind: ErrorKind,
    /// Message.
    pub message: String,
    /// 1-based line of the failing operation.
    pub line: u32,
    /// 1-based column.
    pub col: u32,
    /// Call chain, outermost first: function and the line it was called from.
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
    /// Loop index within the function.
    pub loop_id: u16,
    /// First instruction of the loop.
    pub header_pc: u32,
    /// The closing `LoopBack`.
    pub back_edge_pc: u32,
    /// Source line of the header.
    pub header_line: u32,
    /// Back-edges taken so far (interpreted and native).
    pub iterations: u64,
    /// Back-edges after which the loop is hot.
    pub threshold: u64,
    /// Cold, hot, refused, compiled or blacklisted.
    pub state: LoopState,
    /// Why it is not compiled (refused, blacklisted, JIT off), or, for a compiled loop that
    /// bailed out, the commonest bail-out: one line, e.g. `type guard: 'x' holds a string`.
    pub reason: Option<String>,
    /// Entries into its native code.
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
    /// Per 1-based source line (index 0 unused): instructions executed on it.
    pub lines: Vec<u64>,
    /// Per 1-based source line (index 0 unused): times the line ran (the count of its
    /// most-executed instruction).
    pub line_hits: Vec<u64>,
    /// The largest instruction count (the top of the heat scale).
    pub max_instruction: u64,
    /// The largest line hit count.
    pub max_line_hits: u64,
}

impl ProfileView {
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
    /// [`SNAPSHOT_FORMAT_VERSION`].
    pub format_version: u32,
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
    /// The runtime error, if the program failed.
    pub error: Option<ErrorView>,
    /// Every loop of the program with its counters.
    pub loops: Vec<LoopView>,
    /// Breakpoints set in the debugger.
    pub breakpoints: Vec<Breakpoint>,
    /// The VM events the debugger stops on.
    pub event_breaks: Vec<EventBreak>,
    /// What the JIT did.
    pub jit: JitSummary,
    /// Per-instruction JIT information; `None` until the JIT lands.
    pub jit_code: Option<JitView>,
    /// Bytecode-cache statistics; `None` until the cache lands.
    pub cache: Option<CacheView>,
    /// Execution counts; `None` until the profiler lands.
    pub profile: Option<ProfileView>,
    /// Microseconds since the session started, by the publisher's clock (0 when unknown).
    pub clock_us: u64,
    /// Recent instructions-per-second samples, oldest first (filled by the publisher).
    pub ips_history: Vec<u64>,
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
}

/// Program output captured for the debugger: complete lines (the last ones) plus a count.
///
/// Cloning shares the buffer; one clone is handed to the VM as its writer.
#[derive(Debug, Clone, Default)]
pub struct OutputLog(Rc<RefCell<OutputBuffer>>);

#[derive(Debug, Default)]
struct OutputBuffer {
    lines: VecDeque<String>,
    partial: Vec<u8>,
    total: u64,
}

impl OutputBuffer {
    fn push_line(&mut self, bytes: &[u8]) {
        let line = String::from_utf8_lossy(bytes).into_owned();
        if self.lines.len() >= OUTPUT_BUFFER_LINES {
            self.lines.pop_front();
        }
        self.lines.push_back(line);
        self.total += 1;
    }
}

impl OutputLog {
    /// Forgets everything printed so far (after a restart).
    pub fn clear(&self) {
        *self.0.borrow_mut() = OutputBuffer::default();
    }

    /// The last `n` complete lines and the number of lines printed in all.
    pub fn tail(&self, n: usize) -> (Vec<String>, u64) {
        let buf = self.0.borrow();
        let skip = buf.lines.len().saturating_sub(n);
        (buf.lines.iter().skip(skip).cloned().collect(), buf.total)
    }
}

impl Write for OutputLog {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let mut buf = self.0.borrow_mut();
        let mut rest = bytes;
        while let Some(at) = rest.iter().position(|&b| b == b'\n') {
            let (head, tail) = rest.split_at(at);
            let mut line = std::mem::take(&mut buf.partial);
            let room = MAX_OUTPUT_LINE_BYTES.saturating_sub(line.len());
            line.extend_from_slice(&head[..head.len().min(room)]);
            buf.push_line(&line);
            rest = &tail[1..];
        }
        let room = MAX_OUTPUT_LINE_BYTES.saturating_sub(buf.partial.len());
        buf.partial.extend_from_slice(&rest[..rest.len().min(room)]);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What a session keeps for snapshots: its source, name, captured output and the static half
/// of the snapshot (built on first use).
#[derive(Debug, Default)]
pub struct Capture {
    name: String,
    source: String,
    output: Option<OutputLog>,
    program: OnceCell<Arc<ProgramInfo>>,
    map: OnceCell<SourceMap>,
    /// Disassembled native code, by function, loop and code address (decoded once).
    native: RefCell<Vec<NativeListing>>,
    /// Execution counting is on (and is switched on again in the VM of every reload).
    pub(crate) counting: bool,
}

impl Capture {
    /// A capture of `source` (output not captured).
    pub fn new(source: &str) -> Capture {
        Capture {
            name: "<program>".to_string(),
            source: source.to_string(),
            output: None,
            program: OnceCell::new(),
            map: OnceCell::new(),
            native: RefCell::new(Vec::new()),
            counting: false,
        }
    }

    /// Forgets the output captured so far.
    pub fn clear_output(&self) {
        if let Some(log) = &self.output {
            log.clear();
        }
    }

    /// Starts over on `source` after a reload: the name stays, captured output is cleared.
    pub fn reset(&mut self, source: &str) {
        self.source = source.to_string();
        self.program = OnceCell::new();
        self.map = OnceCell::new();
        if let Some(log) = &self.output {
            log.clear();
        }
    }
}

impl Session {
    /// Builds `src` with the program's output captured for snapshots (nothing is printed).
    /// `name` is the program's display name (its path, or `<demo>`).
    pub fn new_captured(name: &str, src: &str, options: &Options) -> Result<Session, Vec<Diagnostic>> {
        Session::new_captured_with_cache(name, src, options, CompileCache::default())
    }

    /// [`Session::new_captured`] building through `cache` (off, or with a disk tier).
    pub fn new_captured_with_cache(
        name: &str,
        src: &str,
        options: &Options,
        cache: CompileCache,
    ) -> Result<Session, Vec<Diagnostic>> {
        let log = OutputLog::default();
        let mut session = Session::with_cache(src, options, Box::new(log.clone()), cache)?;
        session.capture.name = name.to_string();
        session.capture.output = Some(log);
        Ok(session)
    }

    /// The source text the session was built from.
    pub fn source(&self) -> &str {
        &self.capture.source
    }

    /// Line index of the source (built on first use).
    pub fn source_map(&self) -> &SourceMap {
        self.capture.map.get_or_init(|| SourceMap::new(&self.capture.source))
    }

    /// The static half of the snapshot, built on first use.
    pub fn program_info(&self) -> Arc<ProgramInfo> {
        self.capture.program.get_or_init(|| Arc::new(build_program_info(self))).clone()
    }

    /// Source line of instruction `pc` of function `function` (0 when out of range).
    pub fn line_of(&self, function: u32, pc: u32) -> u32 {
        let info = self.program_info();
        info.functions.get(function as usize).and_then(|f| f.optimized.get(pc as usize)).map(|r| r.line).unwrap_or(0)
    }

    /// The innermost position, if the program has not finished.
    pub fn location(&self) -> Option<Location> {
        let frame = self.vm.frames.last()?;
        let pc = if self.vm.failure().is_some() { frame.ip.saturating_sub(1) } else { frame.ip };
        let span = frame.proto.spans.get(pc).copied().unwrap_or_default();
        let lc = self.source_map().line_col(&self.capture.source, span.start);
        Some(Location {
            function: frame.proto.id,
            pc: pc as u32,
            line: lc.line,
            col: lc.col,
            depth: self.vm.frames.len(),
        })
    }

    /// A snapshot of everything the debugger shows. Status is `Paused` while the program can
    /// still run; the caller (the debugger) overrides it while running.
    pub fn snapshot(&self) -> SessionSnapshot {
        let program = self.program_info();
        let vm = &self.vm;
        let status = if vm.failure().is_some() {
            RunStatus::Failed
        } else if vm.is_done() {
            RunStatus::Finished
        } else {
            RunStatus::Paused
        };
        let (output, output_total) = match &self.capture.output {
            Some(log) => log.tail(MAX_OUTPUT_LINES),
            None => (Vec::new(), 0),
        };
        let (operands, operand_count) = self.operands();
        let (state, state_len) = self.state_entries();
        let profile = self.profile_view(&program.functions, program.line_count);
        let loops = self.loop_views(profile.as_ref());
        SessionSnapshot {
            format_version: SNAPSHOT_FORMAT_VERSION,
            status,
            stop_reason: None,
            location: self.location(),
            frames: self.frame_views(&program),
            operands,
            operand_count,
            globals: self.globals(),
            state,
            state_len,
            transactions: vm
                .ledger
                .overlay_keys()
                .into_iter()
                .enumerate()
                .map(|(i, keys)| TxView { depth: i + 1, keys })
                .collect(),
            counters: vm.counters.clone(),
            gas_limit: vm.config.gas_limit,
            output,
            output_total,
            warnings: vm.warnings.clone(),
            error: self.error_view(),
            loops,
            breakpoints: Vec::new(),
            event_breaks: Vec::new(),
            jit: self.jit_summary(),
            jit_code: Some(self.jit_view(&program)),
            cache: Some(self.cache_view()),
            profile,
            clock_us: 0,
            ips_history: Vec::new(),
            program,
        }
    }

    /// Which instructions run as native code, and the machine code of every compiled loop.
    fn jit_view(&self, program: &ProgramInfo) -> JitView {
        let info = self.jit_info();
        let compiled = program
            .functions
            .iter()
            .map(|f| (0..f.optimized.len() as u32).map(|pc| info.instruction(f.id, pc).compiled).collect())
            .collect();
        let mut cache = self.capture.native.borrow_mut();
        let mut native = Vec::new();
        for l in &info.loops {
            let Some(code) = &l.code else { continue };
            let known =
                cache.iter().find(|n| n.function == l.proto_id && n.loop_id == l.loop_id && n.address == code.address);
            let listing = match known {
                Some(n) => n.clone(),
                None => {
                    let listing = native_listing(l.proto_id, l.loop_id, code);
                    cache.push(listing.clone());
                    listing
                }
            };
            native.push(listing);
        }
        JitView { compiled, native }
    }

    fn cache_view(&self) -> CacheView {
        let stats = self.cache_stats();
        let last = self.last_build();
        CacheView {
            enabled: stats.enabled,
            builds: self.builds(),
            last_units: last.units.len() as u64,
            last_hits: (last.memory_hits() + last.disk_hits()) as u64,
            hits: stats.hits,
            misses: stats.misses,
            entries: stats.entries,
            memory_bytes: stats.memory_bytes,
            evictions: stats.evictions,
        }
    }

    fn frame_views(&self, program: &ProgramInfo) -> Vec<FrameView> {
        let vm = &self.vm;
        let n = vm.frames.len();
        vm.frames
            .iter()
            .enumerate()
            .map(|(i, frame)| {
                let innermost = i + 1 == n;
                let pc = if innermost && vm.failure().is_none() { frame.ip } else { frame.ip.saturating_sub(1) };
                let proto = &frame.proto;
                let line = program
                    .functions
                    .get(proto.id as usize)
                    .and_then(|f| f.optimized.get(pc))
                    .map(|r| r.line)
                    .unwrap_or(0);
                let locals = proto
                    .slot_names
                    .iter()
                    .enumerate()
                    .filter(|(_, name)| !name.starts_with('%'))
                    .filter_map(|(slot, name)| {
                        let v = vm.stack().get(frame.base + slot)?;
                        let v = match v {
                            Value::Cell(c) => c.try_borrow().ok()?.clone(),
                            other => other.clone(),
                        };
                        (!matches!(v, Value::Undef)).then(|| Binding { name: name.clone(), value: preview(&v) })
                    })
                    .collect();
                let (start, end) = self.operand_range(i);
                FrameView {
                    function: proto.id,
                    name: proto.display_name().to_string(),
                    pc: pc as u32,
                    line,
                    locals,
                    operand_count: end.saturating_sub(start),
                }
            })
            .collect()
    }

    /// Value-stack range of frame `i`'s operands.
    fn operand_range(&self, i: usize) -> (usize, usize) {
        let vm = &self.vm;
        let Some(frame) = vm.frames.get(i) else { return (0, 0) };
        let mut start = frame.base + frame.proto.n_slots as usize;
        if i == 0 {
            start = start.max(vm.program.global_names.len());
        }
        let end = match vm.frames.get(i + 1) {
            // The callee itself sits just below the next frame's slots.
            Some(next) => next.base.saturating_sub(1),
            None => vm.stack().len(),
        };
        (start.min(end), end)
    }

    fn operands(&self) -> (Vec<String>, usize) {
        let n = self.vm.frames.len();
        if n == 0 {
            return (Vec::new(), 0);
        }
        let (start, end) = self.operand_range(n - 1);
        let items = self.vm.stack().get(start..end).unwrap_or(&[]);
        (items.iter().rev().take(MAX_OPERANDS).map(preview).collect(), items.len())
    }

    fn globals(&self) -> Vec<Binding> {
        let vm = &self.vm;
        vm.program
            .global_names
            .iter()
            .enumerate()
            .filter(|(_, name)| !name.starts_with('%'))
            .filter_map(|(idx, name)| match vm.stack().get(idx)? {
                Value::Undef | Value::Builtin(_) => None,
                v => Some(Binding { name: name.clone(), value: preview(v) }),
            })
            .collect()
    }

    fn state_entries(&self) -> (Vec<Binding>, usize) {
        let committed = self.vm.ledger.committed();
        let entries = committed
            .iter()
            .take(MAX_STATE_ENTRIES)
            .map(|(k, d)| Binding { name: k.clone(), value: data_preview(d) })
            .collect();
        (entries, committed.len())
    }

    fn error_view(&self) -> Option<ErrorView> {
        let err = self.vm.failure()?;
        let src = &self.capture.source;
        let map = self.source_map();
        let lc = map.line_col(src, err.span.start);
        let rendered = render::render(&err.to_diagnostic(), &self.capture.name, src);
        Some(ErrorView {
            kind: err.kind,
            message: err.message.clone(),
            line: lc.line,
            col: lc.col,
            traceback: err
                .traceback
                .iter()
                .map(|t| (t.function.clone(), map.line_col(src, t.call_site.start).line))
                .collect(),
            rendered,
        })
    }

    /// Every loop. With execution counts, `iterations` counts native iterations too (the
    /// back-edge's count); without, only the interpreter's.
    fn loop_views(&self, profile: Option<&ProfileView>) -> Vec<LoopView> {
        let src = &self.capture.source;
        let map = self.source_map();
        let threshold = self.vm.config.hot_threshold;
        let jit = self.jit_info();
        let jit_on = self.jit.is_some();
        let mut out = Vec::new();
        for proto in &self.vm.program.protos {
            for (i, (info, counter)) in proto.loops.iter().zip(&proto.loop_counters).enumerate() {
                let span = proto.spans.get(info.header as usize).copied().unwrap_or_default();
                let counted = profile.map_or(0, |p| p.count(proto.id, info.back_edge));
                let iterations = counter.iterations.get().max(counted);
                let seen = jit.loops.iter().find(|l| l.proto_id == proto.id && l.loop_id == i as u16);
                let hot = counter.decided.get() || iterations >= threshold;
                let (state, reason) = match seen.map(|l| &l.status) {
                    _ if counter.compiled.get() => (LoopState::Compiled, seen.and_then(commonest_bailout)),
                    Some(JitLoopStatus::Blacklisted(why)) => (LoopState::Blacklisted, Some(why.clone())),
                    Some(JitLoopStatus::Refused(why)) if hot => (LoopState::Refused, Some(why.clone())),
                    _ if hot && !jit.available => (LoopState::Hot, Some("the JIT is not in this build".to_string())),
                    _ if hot && !jit_on => (LoopState::Hot, Some("the JIT is off (--no-jit)".to_string())),
                    _ if hot => (LoopState::Hot, None),
                    _ => (LoopState::Cold, None),
                };
                out.push(LoopView {
                    function: proto.id,
                    function_name: proto.display_name().to_string(),
                    loop_id: i as u16,
                    header_pc: info.header,
                    back_edge_pc: info.back_edge,
                    header_line: map.line_col(src, span.start).line,
                    iterations,
                    threshold,
                    state,
                    reason,
                    entries: seen.map_or(0, |l| l.entries),
                    bailouts: seen.map_or(0, |l| l.bailouts),
                    native_instructions: seen.map_or(0, |l| l.native_instructions),
                    native_bytes: seen.map_or(0, |l| l.native_bytes),
                });
            }
        }
        out
    }
}

/// Disassembles a loop's machine code, tagging each instruction with its bytecode pc. Branch
/// targets are shown as offsets from the start of the code (as if it ran at address 0), so a
/// listing reads the same in every run.
fn native_listing(function: u32, loop_id: u16, code: &JitCodeListing) -> NativeListing {
    let mut rows = Vec::new();
    let at_zero = JitCodeListing { address: 0, ..code.clone() };
    for (section, lines) in crate::jit::disasm::sections(&at_zero) {
        let (pc, cold) = match section {
            NativeSection::Prologue => (None, false),
            NativeSection::Instr(pc) => (Some(pc), false),
            NativeSection::Stubs => (None, true),
        };
        rows.extend(lines.into_iter().map(|l| NativeRow { offset: l.offset, pc, cold, text: short_targets(&l.text) }));
    }
    NativeListing { function, loop_id, address: code.address, bytes: code.bytes.len(), rows }
}

/// Drops the leading zeros of 16-digit hex operands (`jne 000000000000014Ch` -> `jne 14Ch`).
fn short_targets(text: &str) -> String {
    text.split(' ')
        .map(|word| {
            let digits = word.strip_suffix('h').unwrap_or("");
            if digits.len() == 16 && digits.chars().all(|c| c.is_ascii_hexdigit()) {
                let kept = digits.trim_start_matches('0');
                let kept = if kept.is_empty() { "0" } else { kept };
                // Intel syntax needs a leading digit.
                if kept.starts_with(|c: char| c.is_ascii_alphabetic()) {
                    format!("0{kept}h")
                } else {
                    format!("{kept}h")
                }
            } else {
                word.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The reason of a loop's most frequent bail-out, with its count if it happened more than once.
fn commonest_bailout(l: &JitLoopInfo) -> Option<String> {
    let top = l.exits.iter().filter(|e| e.kind == "bailout").max_by_key(|e| e.count)?;
    Some(if top.count > 1 { format!("{} (x{})", top.reason, top.count) } else { top.reason.clone() })
}

fn build_program_info(session: &Session) -> ProgramInfo {
    let src = &session.capture.source;
    let map = session.source_map();
    let mut optimized = Vec::new();
    flatten(&session.build.chunk, &mut optimized);
    let mut unoptimized = Vec::new();
    flatten(&session.build.unoptimized, &mut unoptimized);
    let passes = &session.reload.options.passes;
    let histories = history::replay(&session.build.unoptimized, &session.build.chunk, passes);
    let functions = optimized
        .iter()
        .enumerate()
        .map(|(i, chunk)| {
            let history = histories.get(i);
            FunctionInfo {
                id: i as u32,
                name: chunk.display_name().to_string(),
                arity: chunk.arity,
                slots: chunk.n_slots,
                optimized: disasm::rows(chunk, src, map),
                unoptimized: unoptimized.get(i).map(|c| disasm::rows(c, src, map)).unwrap_or_default(),
                unoptimized_map: history.map(|h| h.final_pc_of_unoptimized()).unwrap_or_default(),
                mapped: history.is_some_and(|h| h.matches_build),
                passes: history
                    .map(|h| {
                        h.stages
                            .iter()
                            .filter_map(|stage| {
                                Some(PassListing {
                                    pass: stage.pass?.name(),
                                    rows: disasm::rows(&stage.chunk, src, map),
                                    origins: stage.origins.clone(),
                                })
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            }
        })
        .collect();
    ProgramInfo {
        name: session.capture.name.clone(),
        source: src.clone(),
        line_count: map.line_count(),
        functions,
        pass_stats: session.build.pass_stats.clone(),
        unoptimized_len: session.build.unoptimized.total_len(),
        optimized_len: session.build.chunk.total_len(),
    }
}

/// Chunks in pre-order, the order the linker numbers them in.
fn flatten<'a>(chunk: &'a Chunk, out: &mut Vec<&'a Chunk>) {
    out.push(chunk);
    for child in &chunk.children {
        flatten(child, out);
    }
}

/// A bounded repr of a value: containers show their first elements, long text is cut.
pub fn preview(v: &Value) -> String {
    let mut out = String::new();
    preview_into(v, &mut out, 0);
    truncate_chars(out, MAX_VALUE_PREVIEW)
}

fn preview_into(v: &Value, out: &mut String, depth: usize) {
    if out.len() > MAX_VALUE_PREVIEW * 4 {
        out.push('…');
        return;
    }
    match v {
        Value::Str(s) => {
            let cut: String = s.chars().take(MAX_VALUE_PREVIEW).collect();
            crate::text::repr_str(&cut, out);
        }
        Value::List(l) => match l.try_borrow() {
            Ok(items) => bounded_seq(out, depth, ('[', ']'), items.len(), items.iter(), |item, out| {
                preview_into(item, out, depth + 1)
            }),
            Err(_) => out.push_str("[…]"),
        },
        Value::Map(m) => match m.try_borrow() {
            Ok(entries) => bounded_seq(out, depth, ('{', '}'), entries.len(), entries.iter(), |(k, item), out| {
                crate::text::repr_str(k, out);
                out.push_str(": ");
                preview_into(item, out, depth + 1);
            }),
            Err(_) => out.push_str("{…}"),
        },
        Value::Cell(c) => match c.try_borrow() {
            Ok(inner) => preview_into(&inner, out, depth),
            Err(_) => out.push('…'),
        },
        Value::Undef => out.push_str("<undefined>"),
        scalar => match value::repr(scalar) {
            Ok(text) => out.push_str(&text),
            Err(_) => out.push('?'),
        },
    }
}

/// Writes a container's first elements between `delims`: past depth 3 a non-empty container is
/// `[…]`, and after 16 elements or a long enough text the rest is counted, not shown.
fn bounded_seq<T>(
    out: &mut String,
    depth: usize,
    (open, close): (char, char),
    len: usize,
    items: impl Iterator<Item = T>,
    mut each: impl FnMut(T, &mut String),
) {
    if depth >= 3 && len > 0 {
        out.push(open);
        out.push('…');
        out.push(close);
        return;
    }
    out.push(open);
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        if i >= 16 || out.len() > MAX_VALUE_PREVIEW * 2 {
            out.push_str(&format!("… {} more", len - i));
            break;
        }
        each(item, out);
    }
    out.push(close);
}

/// A bounded repr of a STATE value.
pub fn data_preview(d: &Data) -> String {
    let mut out = String::new();
    data_into(d, &mut out, 0);
    truncate_chars(out, MAX_VALUE_PREVIEW)
}

fn data_into(d: &Data, out: &mut String, depth: usize) {
    match d {
        Data::Null => out.push_str("null"),
        Data::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Data::Int(i) => out.push_str(&i.to_string()),
        Data::Float(f) => crate::text::format_float(*f, out),
        Data::Str(s) => {
            let cut: String = s.chars().take(MAX_VALUE_PREVIEW).collect();
            crate::text::repr_str(&cut, out);
        }
        Data::List(items) => {
            bounded_seq(out, depth, ('[', ']'), items.len(), items.iter(), |item, out| data_into(item, out, depth + 1))
        }
        Data::Map(entries) => bounded_seq(out, depth, ('{', '}'), entries.len(), entries.iter(), |(k, item), out| {
            crate::text::repr_str(k, out);
            out.push_str(": ");
            data_into(item, out, depth + 1);
        }),
    }
}

fn truncate_chars(s: String, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((at, _)) => {
            let mut cut = s[..at].to_string();
            cut.push('…');
            cut
        }
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_log_splits_lines_and_keeps_partial() {
        let mut log = OutputLog::default();
        let _ = log.write_all(b"a\nbc");
        let _ = log.write_all(b"d\n\ne");
        let (lines, total) = log.tail(10);
        assert_eq!(lines, vec!["a", "bcd", ""]);
        assert_eq!(total, 3);
        let (last, _) = log.tail(1);
        assert_eq!(last, vec![""]);
    }

    #[test]
    fn preview_bounds_long_lists() {
        let v = Value::list((0..1000).map(Value::Int).collect());
        let p = preview(&v);
        assert!(p.starts_with("[0, 1, 2"), "{p}");
        assert!(p.contains("more"), "{p}");
        assert!(p.chars().count() <= MAX_VALUE_PREVIEW + 1, "{p}");
    }

    #[test]
    fn snapshot_lists_every_function_in_linker_order() {
        let src = "action f(x) { return x + 1; }\naction g() { return f(2); }\nprint(g());\n";
        let session = Session::new_captured("t.zx", src, &Options::default()).expect("builds");
        let snap = session.snapshot();
        for proto in &session.vm.program.protos {
            let info = snap.function(proto.id).expect("function listed");
            assert_eq!(info.optimized.len(), proto.code.len(), "{}", info.name);
            assert_eq!(info.name, proto.display_name());
        }
        assert_eq!(snap.status, RunStatus::Paused);
        assert_eq!(snap.location.map(|l| l.pc), Some(0));
    }
}
