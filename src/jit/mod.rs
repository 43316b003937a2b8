//! The baseline JIT: hot loops compiled to x86-64 machine code, behind a safe API.
//!
//! [`Jit::compile`] analyses a loop (`plan`), speculating on the types its variables hold when
//! it turns hot, and emits native code (`x64`) that works directly on the VM's frame slots.
//! [`Jit::run`] executes it on the VM's value stack with a fuel budget and reports how it left:
//! the loop ended, fuel ran out, or a guard failed, in which case the interpreter resumes at
//! exactly the failing instruction with the operand stack it expects. Loops that keep bailing
//! out are blacklisted. Every figure is kept for [`Jit::info`].
//!
//! Architecture invariant: `unsafe` lives only in `exec.rs`; this module and the emitter are
//! safe code. The JIT is built on x86-64 only; elsewhere [`Jit`] refuses every loop.

pub mod abi;
pub mod disasm;
pub mod info;

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
pub mod exec;
#[cfg(target_arch = "x86_64")]
pub mod plan;
#[cfg(target_arch = "x86_64")]
pub mod x64;

use std::collections::HashMap;

pub use info::{JitCodeListing, JitExitCount, JitInfo, JitInstrInfo, JitLoopInfo, JitLoopStatus};

/// Why loop `loop_id` of `proto` will be refused whatever values it meets, known before it
/// turns hot (`plan::static_refusal`); `None` when only its values can tell, or where the JIT
/// is not built.
pub fn static_refusal(proto: &Proto, loop_id: u16) -> Option<String> {
    #[cfg(target_arch = "x86_64")]
    {
        let info = proto.loops.get(loop_id as usize)?;
        plan::static_refusal(proto, info.header, info.back_edge)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (proto, loop_id);
        None
    }
}

use crate::vm::hooks::{LoopCall, LoopExit, LoopRun};
use crate::vm::program::Proto;
use crate::vm::value::Value;

/// True when this build contains the native-code JIT.
pub const AVAILABLE: bool = cfg!(target_arch = "x86_64");

/// Most instructions one entry into native code may run before it returns to the interpreter
/// (so that a caller running with a huge budget still regains control now and then).
pub const SLICE: u64 = 1 << 26;

/// Bail-outs after which a loop that does little native work between them is blacklisted.
pub const BLACKLIST_AFTER: u64 = 8;

/// Native instructions per bail-out below which a loop counts as "keeps bailing out".
pub const BLACKLIST_WORK: u64 = 64;

#[cfg(target_arch = "x86_64")]
struct Native {
    plan: plan::Plan,
    compiled: x64::Compiled,
    /// Exit counts, indexed like `compiled.exits`.
    exit_counts: Vec<u64>,
    /// Entries into each block (in `plan.block_starts` order), when compiled with counting.
    block_counts: Option<Vec<u64>>,
    /// Frame slots the loop touches must lie below `base + frame_len`.
    frame_len: usize,
    /// Absolute stack indices the loop touches must lie below this.
    abs_len: usize,
}

struct LoopEntry {
    info: JitLoopInfo,
    /// Instruction counts of native code this loop had before it was recompiled, by pc.
    retired_counts: Vec<(u32, u64)>,
    #[cfg(target_arch = "x86_64")]
    native: Option<Native>,
}

/// The JIT: compiled loops and their statistics.
#[derive(Default)]
pub struct Jit {
    loops: HashMap<(u32, u16), LoopEntry>,
    order: Vec<(u32, u16)>,
    /// Compile loops that count how often each of their instructions runs.
    counting: bool,
}

impl std::fmt::Debug for Jit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jit").field("loops", &self.order.len()).finish()
    }
}

impl Jit {
    /// A JIT with nothing compiled yet.
    pub fn new() -> Jit {
        Jit::default()
    }

    fn entry(&mut self, proto: &Proto, loop_id: u16) -> &mut LoopEntry {
        let key = (proto.id, loop_id);
        if !self.loops.contains_key(&key) {
            self.order.push(key);
        }
        self.loops.entry(key).or_insert_with(|| {
            let (header, back_edge) =
                proto.loops.get(loop_id as usize).map(|l| (l.header, l.back_edge)).unwrap_or((0, 0));
            LoopEntry {
                info: JitLoopInfo {
                    proto_id: proto.id,
                    function: proto.display_name().to_string(),
                    loop_id,
                    header,
                    back_edge,
                    status: JitLoopStatus::Refused("not compiled yet".to_string()),
                    compilations: 0,
                    entries: 0,
                    bailouts: 0,
                    native_instructions: 0,
                    native_bytes: 0,
                    compile_time_us: 0,
                    exits: Vec::new(),
                    code: None,
                    registers: Vec::new(),
                },
                retired_counts: Vec::new(),
                #[cfg(target_arch = "x86_64")]
                native: None,
            }
        })
    }

    /// Makes loops compiled from now on count how often each of their instructions runs
    /// (one memory increment per block entered; see [`Jit::add_instruction_counts`]).
    pub fn set_counting(&mut self, on: bool) {
        self.counting = on;
    }

    /// Adds the instructions native code ran to `counts` (per proto id, per pc), exactly:
    /// each block's entries count for every instruction of the block, minus, for every exit
    /// that left in the middle of a block, the instructions it skipped. Loops compiled without
    /// counting add nothing.
    pub fn add_instruction_counts(&self, counts: &mut [Vec<u64>]) {
        for entry in self.loops.values() {
            let Some(per_pc) = counts.get_mut(entry.info.proto_id as usize) else { continue };
            let mut add = |pc: u32, n: u64| {
                if let Some(c) = per_pc.get_mut(pc as usize) {
                    *c = c.wrapping_add(n);
                }
            };
            for &(pc, n) in &entry.retired_counts {
                add(pc, n);
            }
            #[cfg(target_arch = "x86_64")]
            if let Some(native) = &entry.native {
                for (pc, n) in native_counts(native) {
                    add(pc, n);
                }
            }
        }
    }

    /// The figures of one loop, if the JIT has seen it.
    pub fn loop_info(&self, proto_id: u32, loop_id: u16) -> Option<&JitLoopInfo> {
        self.loops.get(&(proto_id, loop_id)).map(|e| &e.info)
    }

    /// Compiles loop `loop_id` of `proto`, speculating on the values the frame (at `base` in
    /// `stack`) holds now. Returns the refusal reason if the loop is not compiled.
    pub fn compile(&mut self, proto: &Proto, loop_id: u16, stack: &[Value], base: usize) -> Result<(), String> {
        let counting = self.counting;
        let entry = self.entry(proto, loop_id);
        entry.info.compilations += 1;
        #[cfg(target_arch = "x86_64")]
        if let Some(old) = entry.native.take() {
            entry.retired_counts.extend(native_counts(&old));
        }
        let res = compile_native(proto, loop_id, stack, base, counting);
        match res {
            #[cfg(target_arch = "x86_64")]
            Ok(native) => {
                entry.info.status = JitLoopStatus::Compiled;
                entry.info.native_bytes = native.compiled.code.bytes().len() as u64;
                entry.info.code = Some(JitCodeListing {
                    address: native.compiled.code.address(),
                    bytes: native.compiled.code.bytes().to_vec(),
                    pc_offsets: native.compiled.pc_offsets.clone(),
                    stubs_at: native.compiled.stubs_at,
                });
                entry.info.registers = native
                    .plan
                    .vars
                    .iter()
                    .filter_map(|v| match v.home {
                        plan::Home::Reg(r) => Some(format!("{}:{}", v.name, disasm::register_name(r))),
                        plan::Home::Slot => None,
                    })
                    .collect();
                entry.native = Some(native);
                Ok(())
            }
            #[cfg(not(target_arch = "x86_64"))]
            Ok(never) => match never {},
            Err(reason) => {
                entry.info.status = JitLoopStatus::Refused(reason.clone());
                Err(reason)
            }
        }
    }

    /// Records the time a compilation took (measured by the engine, which owns the clock).
    pub fn note_compile_time(&mut self, proto: &Proto, loop_id: u16, micros: u64) {
        let entry = self.entry(proto, loop_id);
        entry.info.compile_time_us = entry.info.compile_time_us.saturating_add(micros);
    }

    /// Runs the compiled loop on the frame at `base` of `stack` (the value stack up to its
    /// top), for at most `fuel` instructions. Pending operands are appended to `pending`, for
    /// the interpreter to push before it resumes at the returned pc. Blacklists the loop (clearing its
    /// `compiled` flag) when it keeps bailing out.
    pub fn run(&mut self, call: LoopCall<'_>) -> (LoopExit, LoopRun) {
        let header = call.proto.loops.get(call.loop_id as usize).map(|l| l.header).unwrap_or(0);
        let Some(entry) = self.loops.get_mut(&(call.proto.id, call.loop_id)) else {
            return (LoopExit::Resume { pc: call.resume.unwrap_or(header) }, LoopRun::default());
        };
        // One entry per entry from the interpreter: going on after a fuel exit (the end of a
        // budget slice or of a `SLICE`) is the same entry.
        if call.resume.is_none() {
            entry.info.entries += 1;
        }
        run_native(entry, call)
    }

    /// A snapshot of everything the JIT did.
    pub fn info(&self) -> JitInfo {
        JitInfo {
            available: AVAILABLE,
            loops: self.order.iter().filter_map(|k| self.loops.get(k)).map(|e| e.info.clone()).collect(),
        }
    }
}

#[cfg(target_arch = "x86_64")]
fn compile_native(proto: &Proto, loop_id: u16, stack: &[Value], base: usize, counting: bool) -> Result<Native, String> {
    let Some(info) = proto.loops.get(loop_id as usize) else {
        return Err("unknown loop".to_string());
    };
    let plan = plan::plan(proto, info.header, info.back_edge, stack, base)?;
    let compiled = x64::compile(proto, &plan, counting)?;
    let block_counts = counting.then(|| vec![0; plan.block_starts.len()]);
    let mut frame_len = 0;
    let mut abs_len = 0;
    for v in &plan.vars {
        match v.at {
            plan::VarRef::Frame(s) => frame_len = frame_len.max(s as usize + 1),
            plan::VarRef::Abs(i) => abs_len = abs_len.max(i as usize + 1),
        }
    }
    let exit_counts = vec![0; compiled.exits.len()];
    Ok(Native { plan, compiled, exit_counts, block_counts, frame_len, abs_len })
}

/// The instructions a loop's native code ran, by pc (nothing if it was compiled without
/// counting).
#[cfg(target_arch = "x86_64")]
fn native_counts(native: &Native) -> Vec<(u32, u64)> {
    let Some(blocks) = &native.block_counts else { return Vec::new() };
    let plan = &native.plan;
    let mut per_pc: std::collections::BTreeMap<u32, u64> = std::collections::BTreeMap::new();
    for (&start, &entries) in plan.block_starts.iter().zip(blocks) {
        if entries == 0 {
            continue;
        }
        for pc in start..=plan.block_end(start) {
            let c = per_pc.entry(pc).or_default();
            *c = c.wrapping_add(entries);
        }
    }
    for (site, &taken) in native.compiled.exits.iter().zip(&native.exit_counts) {
        if !site.partial || taken == 0 {
            continue;
        }
        for pc in site.pc..=plan.block_end(site.pc) {
            let c = per_pc.entry(pc).or_default();
            *c = c.wrapping_sub(taken);
        }
    }
    per_pc.into_iter().filter(|(_, n)| *n != 0).collect()
}

#[cfg(not(target_arch = "x86_64"))]
fn compile_native(_: &Proto, _: u16, _: &[Value], _: usize, _: bool) -> Result<std::convert::Infallible, String> {
    Err("the JIT is only built for x86-64".to_string())
}

#[cfg(target_arch = "x86_64")]
fn run_native(entry: &mut LoopEntry, call: LoopCall<'_>) -> (LoopExit, LoopRun) {
    let LoopCall { proto, loop_id, stack, base, fuel, pending, resume } = call;
    let header = entry.info.header;
    let start = resume.unwrap_or(header);
    let Some(native) = entry.native.as_mut() else {
        return (LoopExit::Resume { pc: start }, LoopRun::default());
    };
    let frame_ok = base.checked_add(native.frame_len).is_some_and(|end| end <= stack.len());
    if !frame_ok || native.abs_len > stack.len() || entry.info.status != JitLoopStatus::Compiled {
        return (LoopExit::Resume { pc: start }, LoopRun::default());
    }
    let resume_at = match resume {
        None => 0,
        Some(pc) if pc == header => 0,
        Some(pc) => match native.compiled.resume_points.iter().position(|&p| p == pc) {
            // The entry guards exit at the header, so they must hold before starting elsewhere.
            Some(k) if variables_hold_their_types(&native.plan, stack, base) => k as u64 + 1,
            _ => return (LoopExit::Resume { pc }, LoopRun::default()),
        },
    };
    let stack_ptr = stack.as_mut_ptr();
    let mut ctx = abi::JitContext::new(stack_ptr.wrapping_add(base), stack_ptr, fuel.min(SLICE));
    ctx.resume = resume_at;
    if let Some(blocks) = native.block_counts.as_mut() {
        ctx.block_counts = blocks.as_mut_ptr();
    }
    let id = native.compiled.code.call(&mut ctx);
    let run = LoopRun { instructions: ctx.instructions, gas: ctx.gas };
    pending.extend(ctx.pending_values());
    entry.info.native_instructions += run.instructions;
    let Some(site) = native.compiled.exits.get(id as usize) else {
        // Generated code only returns indices of its exit table.
        return (LoopExit::Resume { pc: header }, run);
    };
    if let Some(n) = native.exit_counts.get_mut(id as usize) {
        *n += 1;
    }
    let pc = site.pc;
    let (kind, reason) = match &site.kind {
        plan::ExitKind::LoopExit => ("loop_exit", String::new()),
        plan::ExitKind::Fuel => ("fuel", String::new()),
        plan::ExitKind::Bailout(r) => ("bailout", runtime_reason(r, &native.plan, stack, base)),
    };
    match entry.info.exits.iter_mut().find(|e| e.pc == pc && e.kind == kind && e.reason == reason) {
        Some(e) => e.count += 1,
        None => entry.info.exits.push(JitExitCount { pc, kind, reason: reason.clone(), count: 1 }),
    }
    match site.kind {
        plan::ExitKind::LoopExit => (LoopExit::Resume { pc }, run),
        plan::ExitKind::Fuel => (LoopExit::OutOfFuel { pc }, run),
        plan::ExitKind::Bailout(_) => {
            entry.info.bailouts += 1;
            let b = entry.info.bailouts;
            if b >= BLACKLIST_AFTER && entry.info.native_instructions < b.saturating_mul(BLACKLIST_WORK) {
                entry.info.status = JitLoopStatus::Blacklisted(format!("{reason} at pc {pc}"));
                if let Some(counter) = proto.loop_counters.get(loop_id as usize) {
                    counter.compiled.set(false);
                }
            }
            (LoopExit::Resume { pc }, run)
        }
    }
}

/// Whether every variable the plan typed holds its type (what the entry guards check).
#[cfg(target_arch = "x86_64")]
fn variables_hold_their_types(plan: &plan::Plan, stack: &[Value], base: usize) -> bool {
    plan.vars.iter().all(|v| match v.kind {
        plan::VarKind::Typed(t) => {
            let at = match v.at {
                plan::VarRef::Frame(s) => base.checked_add(s as usize),
                plan::VarRef::Abs(i) => Some(i as usize),
            };
            at.and_then(|i| stack.get(i)).and_then(plan::Ty::of) == Some(t)
        }
        plan::VarKind::Dynamic(_) => true,
    })
}

#[cfg(not(target_arch = "x86_64"))]
fn run_native(entry: &mut LoopEntry, _: LoopCall<'_>) -> (LoopExit, LoopRun) {
    (LoopExit::Resume { pc: entry.info.header }, LoopRun::default())
}

/// The reason of a bail-out, completed with what the variable holds now.
#[cfg(target_arch = "x86_64")]
fn runtime_reason(reason: &plan::BailReason, plan: &plan::Plan, stack: &[Value], base: usize) -> String {
    let holds = |v: usize| -> Option<String> {
        let var = plan.vars.get(v)?;
        let at = match var.at {
            plan::VarRef::Frame(s) => base.checked_add(s as usize)?,
            plan::VarRef::Abs(i) => i as usize,
        };
        let value = stack.get(at)?;
        let what = if matches!(value, Value::Undef) { "undefined" } else { value.type_name() };
        Some(format!("type guard: '{}' holds {} {what}", var.name, article(what)))
    };
    match reason {
        plan::BailReason::TypeGuard(v) => holds(*v).unwrap_or_else(|| plan::describe_reason(reason, &plan.vars)),
        other => plan::describe_reason(other, &plan.vars),
    }
}

/// "a" or "an" for a type name.
pub fn article(word: &str) -> &'static str {
    if word.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" }
}
