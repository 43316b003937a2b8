//! The interpreter: runs the bytecode (in the register form of `vm::regcode`) on an instruction
//! budget and returns a halt reason, so that callers (the CLI, the TUI's VM thread, tests) can
//! pause, inspect and resume.

use std::cell::{Cell, RefCell};
use std::io::Write;
use std::rc::Rc;

use super::builtins::{self, MethodOutcome};
use super::chain::Ledger;
use super::contract::{self, ActionCall, CallStage, Member};
use super::dialect;
use super::error::{ErrorKind, RuntimeError, VmError};
use super::exec_counts::ExecCounts;
use super::hooks::{LoopCall, LoopCompiler, LoopExit, Observer, VmEvent};
use super::modules;
use super::ops;
use super::program::{Program, Proto};
use super::regcode::{self, XOp};
use super::value::{self, Closure, ModuleRef, Obj, Value};
use crate::bytecode::op::{Cmp, MAX_OP_GAS, Op};
use crate::diag::TraceFrame;

/// Limits and policies of one run.
#[derive(Debug, Clone)]
pub struct VmConfig {
    /// Maximum call depth (function frames); call number `max_depth + 1` is `stack overflow`.
    pub max_depth: usize,
    /// Stop with an error after this many instructions.
    pub max_steps: Option<u64>,
    /// Gas limit (gas is always counted).
    pub gas_limit: Option<u64>,
    /// Largest string (bytes) or list (elements x 16) one operation may create.
    pub max_alloc: usize,
    /// Back-edges after which a loop is hot.
    pub hot_threshold: u64,
    /// The program arguments (`__ARGS__`, MODULES.md §11).
    pub args: Vec<String>,
}

impl Default for VmConfig {
    fn default() -> Self {
        VmConfig {
            max_depth: 10_000,
            max_steps: None,
            gas_limit: None,
            max_alloc: value::DEFAULT_MAX_ALLOC,
            hot_threshold: 100,
            args: Vec::new(),
        }
    }
}

/// One activation record.
#[derive(Debug, Clone)]
pub struct Frame {
    /// The running function.
    pub proto: Rc<Proto>,
    /// Next instruction to execute.
    pub ip: usize,
    /// Index of slot 0 in the value stack (the callee sits at `base - 1`).
    pub base: usize,
}

/// A call-stack entry as the dispatch loop keeps it: no reference count to maintain, and
/// written field by field.
#[derive(Debug, Clone, Copy)]
struct CallRec {
    /// Index of the function in the program.
    proto: u32,
    /// Next instruction to execute.
    ip: usize,
    /// Index of slot 0 in the value stack.
    base: usize,
    /// The frame's current instance (CONTRACTS.md §4.3): an instance registry number, 0 for
    /// none.
    this: u32,
}

/// Why [`Vm::run`] returned.
#[derive(Debug, Clone, PartialEq)]
pub enum Halt {
    /// The program ran to its end.
    Finished,
    /// The instruction budget was used up; call `run` again to continue.
    Budget,
    /// The program failed.
    Error(RuntimeError),
}

/// Counters kept for every run (cheap: no per-instruction work beyond the dispatch).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct VmCounters {
    /// Bytecode instructions executed (including those run as native code).
    pub instructions: u64,
    /// Gas used.
    pub gas: u64,
    /// User function calls.
    pub calls: u64,
    /// Builtin and method calls.
    pub builtin_calls: u64,
    /// Deepest call depth reached.
    pub max_depth: usize,
    /// Largest value-stack size reached (sampled at calls).
    pub max_stack: usize,
    /// Instructions executed as native code.
    pub jit_instructions: u64,
    /// Entries into native code.
    pub jit_entries: u64,
}

/// What a returning function hands back.
enum Returned {
    /// The value at this frame position.
    At(u32),
    /// `null`.
    Null,
    /// An integer computed by the returning instruction.
    Int(i64),
}

enum Exit {
    Fuel,
    Finished,
    Error(RuntimeError),
}

/// The virtual machine.
pub struct Vm {
    /// The program being run.
    pub program: Rc<Program>,
    /// Storage of the value stack: globals first, then each frame's slots and operands, up to
    /// `sp`; the slots from `sp` on are spare room that owns no heap memory.
    stack: Vec<Value>,
    /// The value stack's top (one past its last value).
    sp: usize,
    /// Call frames; `frames[0]` is the top level. Up to date whenever [`Vm::run`] is not
    /// running (the dispatch loop works on its own records and mirrors them here on the way
    /// out).
    pub frames: Vec<Frame>,
    /// The dispatch loop's call stack: `calls[..depth]` (storage beyond `depth` is reused).
    calls: Vec<CallRec>,
    /// Number of live entries of `calls`.
    depth: usize,
    /// Entries of `calls` from this index up may differ from `frames` (the innermost entry's
    /// `ip` always may).
    dirty: usize,
    /// STATE and open transactions.
    pub ledger: Ledger,
    /// Limits.
    pub config: VmConfig,
    /// Run counters.
    pub counters: VmCounters,
    /// Warnings produced at the end of the run.
    pub warnings: Vec<String>,
    out: Box<dyn Write>,
    pub(super) observer: Option<Box<dyn Observer>>,
    jit: Option<Box<dyn LoopCompiler>>,
    finished: bool,
    failed: Option<RuntimeError>,
    output_closed: bool,
    /// Exact per-instruction counts, kept only once [`Vm::enable_exec_counts`] was called.
    exec_counts: Option<Box<ExecCounts>>,
    /// Pending `map`/`filter`/`reduce` calls whose callback is running, innermost last
    /// (DIALECT.md §11; see `dialect::HofCall`).
    hof_calls: Vec<dialect::HofCall>,
    /// Set (through a clone from [`Vm::interrupt_flag`]) to make `run` return early at the next
    /// safe point: after a hot loop was compiled or left native code, or after `TX_REVERT`.
    interrupt: Rc<Cell<bool>>,
    /// The error in flight and the errors waiting for their finally bodies (vm/unwind.rs).
    errs: unwind::ErrorState,
    /// External action calls and constructions whose callee runs, innermost last (each one
    /// transaction, CONTRACTS.md §6; finished by `resume_action!` when the callee returns).
    action_calls: Vec<ActionCall>,
    /// Whether each module of the program has started running (MODULES.md §6.1).
    pub modules_run: Vec<bool>,
    /// A compiled loop whose native code left at a fuel checkpoint for want of fuel: the next
    /// `run` goes on there in native code, as the same entry, if nothing ran since.
    native_pause: Option<NativePause>,
    /// Set by [`Vm::run_yielding`].
    yielding: bool,
}

/// Where native code left for want of fuel (see `Vm::native_pause`).
#[derive(Debug, Clone, Copy)]
struct NativePause {
    proto: u32,
    loop_id: u16,
    /// The fuel checkpoint it left at (the next instruction of the frame).
    pc: u32,
    depth: usize,
    base: usize,
    /// `counters.instructions` when it left (set by `run` once the dispatch loop is out).
    at: Option<u64>,
}

#[path = "unwind.rs"]
mod unwind;

/// Below this much fuel, `run` steps instruction by instruction.
const FAST_MIN_FUEL: u64 = 1 << 16;

/// Result type of operations inside the dispatch loop.
type OpResult<T> = Result<T, VmError>;

#[cold]
pub(super) fn internal(msg: &str) -> VmError {
    VmError::new(ErrorKind::TypeError, format!("internal error: {msg}"))
}

impl Vm {
    /// A VM ready to run `program` from the start, printing to `out`.
    pub fn new(program: Rc<Program>, config: VmConfig, out: Box<dyn Write>) -> Vm {
        let stack = program.global_init.clone();
        let main = program.main().clone();
        let mut vm = Vm {
            program,
            stack,
            sp: 0,
            frames: Vec::with_capacity(64),
            calls: Vec::with_capacity(64),
            depth: 1,
            dirty: 1,
            ledger: Ledger::default(),
            config,
            counters: VmCounters::default(),
            warnings: Vec::new(),
            out,
            observer: None,
            jit: None,
            finished: false,
            failed: None,
            output_closed: false,
            exec_counts: None,
            interrupt: Rc::new(Cell::new(false)),
            hof_calls: Vec::new(),
            errs: unwind::ErrorState::default(),
            action_calls: Vec::new(),
            modules_run: Vec::new(),
            native_pause: None,
            yielding: false,
        };
        vm.modules_run = vec![false; vm.program.modules.len()];
        let args = Value::list(vm.config.args.iter().map(|a| Value::str(a)).collect());
        for &g in &vm.program.args_globals {
            if let Some(slot) = vm.stack.get_mut(g as usize) {
                *slot = args.clone();
            }
        }
        let n = (main.n_slots as usize).max(vm.stack.len());
        vm.stack.resize(n, Value::Undef);
        vm.sp = n;
        vm.calls.push(CallRec { proto: main.id, ip: 0, base: 0, this: 0 });
        vm.frames.push(Frame { proto: main, ip: 0, base: 0 });
        vm
    }

    /// The value stack up to its top: globals first, then each frame's slots and operands.
    pub fn stack(&self) -> &[Value] {
        self.stack.get(..self.sp).unwrap_or(&self.stack)
    }

    /// Attaches an observer (profiler, tracer, debugger).
    pub fn set_observer(&mut self, observer: Option<Box<dyn Observer>>) {
        self.observer = observer;
    }

    /// Takes the observer back out.
    pub fn take_observer(&mut self) -> Option<Box<dyn Observer>> {
        self.observer.take()
    }

    /// Installs the loop compiler (the JIT).
    pub fn set_jit(&mut self, jit: Option<Box<dyn LoopCompiler>>) {
        self.jit = jit;
    }

    /// Takes the loop compiler back out.
    pub fn take_jit(&mut self) -> Option<Box<dyn LoopCompiler>> {
        self.jit.take()
    }

    /// Starts counting how often each instruction runs (from now on; see [`ExecCounts`]).
    pub fn enable_exec_counts(&mut self) {
        if self.exec_counts.is_none() {
            let lens = self.program.protos.iter().map(|p| p.code.len());
            self.exec_counts = Some(Box::new(ExecCounts::new(lens)));
        }
    }

    /// The interpreter's execution counts, if counting is on (native code keeps its own).
    pub fn exec_counts(&self) -> Option<&ExecCounts> {
        self.exec_counts.as_deref()
    }

    /// The flag that, once set, makes [`Vm::run`] return [`Halt::Budget`] at the next safe
    /// point (for the debugger's stops on VM events). Whoever sets it clears it.
    pub fn interrupt_flag(&self) -> Rc<Cell<bool>> {
        self.interrupt.clone()
    }

    /// True once the program has finished or failed.
    pub fn is_done(&self) -> bool {
        self.finished || self.failed.is_some()
    }

    /// The error the program failed with, if any.
    pub fn failure(&self) -> Option<&RuntimeError> {
        self.failed.as_ref()
    }

    /// The pc of the next instruction of the innermost frame.
    pub fn current_pc(&self) -> Option<(Rc<Proto>, usize)> {
        self.frames.last().map(|f| (f.proto.clone(), f.ip))
    }

    /// Flushes program output.
    pub fn flush(&mut self) {
        let _ = self.out.flush();
    }

    /// Runs until the program ends, fails, or `budget` instructions have executed.
    pub fn run(&mut self, budget: u64) -> Halt {
        if self.finished {
            return Halt::Finished;
        }
        if let Some(e) = &self.failed {
            return Halt::Error(e.clone());
        }
        let mut remaining = budget;
        loop {
            if remaining == 0 {
                return Halt::Budget;
            }
            let mut fuel = remaining;
            if let Some(max) = self.config.max_steps {
                let left = max.saturating_sub(self.counters.instructions);
                // HALT only ends the run and does not count against the limit: a program
                // that ran exactly `max` instructions of its own finishes.
                let at_halt = || self.frames.last().is_some_and(|f| matches!(f.proto.code.get(f.ip), Some(Op::Halt)));
                if left == 0 && !at_halt() {
                    let err = VmError::new(
                        ErrorKind::StepLimit,
                        format!("step limit exceeded: the program ran {max} instructions (--max-steps)"),
                    );
                    return self.halt_error(err);
                }
                fuel = fuel.min(left.max(1));
            }
            if let Some(limit) = self.config.gas_limit {
                let safe = limit.saturating_sub(self.counters.gas) / (MAX_OP_GAS + contract::MAX_EXTRA_GAS);
                if safe == 0 {
                    if let Some(err) = self.check_gas_exactly(limit) {
                        return self.halt_error(err);
                    }
                    fuel = 1;
                } else {
                    fuel = fuel.min(safe);
                }
            }
            if self.observer.as_ref().is_some_and(|o| o.wants_instructions()) {
                self.emit_instr_event();
                fuel = 1;
            }
            if let Some(pause) = self.native_pause.take() {
                match self.resume_native(pause, fuel) {
                    Some((n, paused)) => {
                        self.counters.instructions += n;
                        remaining = remaining.saturating_sub(n);
                        if self.interrupt.get() {
                            return Halt::Budget;
                        }
                        if !paused || n > 0 {
                            continue;
                        }
                        // Too little fuel left for native code to go on: a yielding run ends
                        // its slice here (the next one goes on natively) once it has done
                        // something; otherwise the interpreter runs the rest.
                        if self.yielding && remaining < budget {
                            return Halt::Budget;
                        }
                        self.native_pause = None;
                    }
                    None => {}
                }
            }
            let before = fuel;
            let mut exit =
                if fuel > FAST_MIN_FUEL { self.execute::<false>(&mut fuel) } else { self.execute::<true>(&mut fuel) };
            if matches!(exit, Exit::Fuel) && fuel == before {
                // The fast path could not start a block within this budget: step exactly.
                fuel = fuel.min(FAST_MIN_FUEL);
                let exact_before = fuel;
                exit = self.execute::<true>(&mut fuel);
                fuel = before - (exact_before - fuel);
            }
            let used = before - fuel;
            self.counters.instructions += used;
            remaining = remaining.saturating_sub(used);
            if let Some(p) = self.native_pause.as_mut()
                && p.at.is_none()
            {
                p.at = Some(self.counters.instructions);
            }
            match exit {
                Exit::Fuel if self.interrupt.get() => return Halt::Budget,
                Exit::Fuel => {}
                Exit::Finished => {
                    self.finish();
                    return Halt::Finished;
                }
                Exit::Error(e) => {
                    // A handler may catch it (vm/unwind.rs); the loop then resumes there.
                    let Some(e) = self.unwind(e) else {
                        // A rollback while unwinding (a failed action call, a `try`'s
                        // transactions) may have asked to stop, as after `TX_REVERT`.
                        if self.interrupt.get() {
                            return Halt::Budget;
                        }
                        continue;
                    };
                    self.emit_error_event(&e);
                    self.failed = Some(e.clone());
                    self.flush();
                    return Halt::Error(e);
                }
            }
        }
    }

    fn check_gas_exactly(&self, limit: u64) -> Option<VmError> {
        let frame = self.frames.last()?;
        let op = frame.proto.code.get(frame.ip)?;
        if self.counters.gas + op.gas() > limit {
            return Some(VmError::new(
                ErrorKind::OutOfGas,
                format!("out of gas: used {} of {} at {}", self.counters.gas, limit, op.name()),
            ));
        }
        None
    }

    fn emit_instr_event(&mut self) {
        if let (Some(obs), Some(frame)) = (self.observer.as_mut(), self.frames.last()) {
            obs.event(
                self.counters.gas,
                &VmEvent::Instr { proto: &frame.proto, pc: frame.ip as u32, depth: self.frames.len() - 1 },
            );
        }
    }

    #[cold]
    fn emit_error_event(&mut self, error: &RuntimeError) {
        if let Some(obs) = self.observer.as_mut() {
            let depth = self.frames.len().saturating_sub(1);
            let instructions = self.counters.instructions;
            obs.event(self.counters.gas, &VmEvent::Error { error, depth, instructions });
        }
    }

    fn halt_error(&mut self, err: VmError) -> Halt {
        let ip = self.frames.last().map(|f| f.ip + 1).unwrap_or(0);
        let e = self.locate(err, ip);
        // Only resource limits halt here; they are never caught (ERRORS.md §8).
        self.ledger.revert_all();
        self.emit_error_event(&e);
        self.failed = Some(e.clone());
        self.flush();
        Halt::Error(e)
    }

    fn finish(&mut self) {
        self.finished = true;
        let open = self.ledger.revert_all();
        if open > 0 {
            self.warnings.push(format!("warning: {open} open transaction(s) reverted at end of program"));
        }
        self.flush();
    }

    /// Brings `frames` up to date with the dispatch loop's call records.
    fn sync_frames(&mut self) {
        let depth = self.depth.min(self.calls.len());
        let low = self.dirty.min(depth).min(self.frames.len());
        self.frames.truncate(low);
        for rec in self.calls.get(low..depth).unwrap_or_default() {
            let Some(proto) = self.program.protos.get(rec.proto as usize) else { break };
            self.frames.push(Frame { proto: proto.clone(), ip: rec.ip, base: rec.base });
        }
        if let (Some(f), Some(rec)) = (self.frames.last_mut(), depth.checked_sub(1).and_then(|i| self.calls.get(i))) {
            f.ip = rec.ip;
        }
        self.dirty = depth;
    }

    /// Turns an operation error into a located runtime error. `ip` is the index just past the
    /// failing instruction in the innermost frame. Transactions are left to the unwinder.
    #[cold]
    fn locate(&mut self, err: VmError, ip: usize) -> RuntimeError {
        self.sync_frames();
        let pc = ip.saturating_sub(1);
        let span = self
            .frames
            .last()
            .and_then(|f| {
                let part = err.part.and_then(|p| f.proto.part_spans.get(&(pc as u32))?.get(p as usize).copied());
                part.or_else(|| f.proto.spans.get(pc).copied())
            })
            .unwrap_or_default();
        let mut traceback = Vec::new();
        for i in 1..self.frames.len() {
            let caller = &self.frames[i - 1];
            let call_site = caller.proto.spans.get(caller.ip.saturating_sub(1)).copied().unwrap_or_default();
            traceback.push(TraceFrame { function: self.frames[i].proto.display_name().to_string(), call_site });
        }
        RuntimeError { kind: err.kind, message: err.message, span, traceback }
    }

    pub(super) fn write_line(&mut self, line: &str) -> OpResult<()> {
        if let Some(obs) = self.observer.as_mut() {
            obs.event(self.counters.gas, &VmEvent::Print { text: line });
        }
        if self.output_closed {
            return Ok(());
        }
        let res = self.out.write_all(line.as_bytes()).and_then(|_| self.out.write_all(b"\n"));
        match res {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                self.output_closed = true;
                Ok(())
            }
            Err(e) => Err(VmError::new(ErrorKind::TypeError, format!("cannot write output: {e}"))),
        }
    }

    fn undefined(&self, name: &str) -> VmError {
        // A module's globals are `x@N`; the message names the variable as written.
        let name = modules::split_global(name).0;
        VmError::new(ErrorKind::UndefinedVariable, format!("undefined variable '{name}'"))
    }

    /// Runs at most `*fuel` instructions. The value stack is moved out of `self` for the
    /// duration, so that the dispatch loop can hold slices of it next to `&mut self`.
    fn execute<const EXACT: bool>(&mut self, fuel: &mut u64) -> Exit {
        let program = self.program.clone();
        let mut stack = std::mem::take(&mut self.stack);
        // Counting gets its own copy of the fast loop, so that the plain one pays nothing for
        // it; single-stepping checks at run time.
        let exit = match (EXACT, self.exec_counts.is_some()) {
            (true, _) => self.dispatch::<true, true>(&program, &mut stack, fuel),
            (false, true) => self.dispatch::<false, true>(&program, &mut stack, fuel),
            (false, false) => self.dispatch::<false, false>(&program, &mut stack, fuel),
        };
        self.stack = stack;
        self.sync_frames();
        exit
    }

    /// Whether the innermost open transaction is the implicit one of the running external
    /// action call (or below it), which an explicit `TX_COMMIT`/`TX_REVERT` may not end.
    pub(super) fn call_owns_innermost_tx(&self) -> bool {
        self.action_calls.iter().rev().find(|c| c.is_transaction()).is_some_and(|c| self.ledger.depth() <= c.floor + 1)
    }

    /// The dispatch loop over `vec`, the value stack taken out of `self`. Runs at most `*fuel`
    /// instructions.
    ///
    /// With `EXACT`, fuel is checked before every instruction (single-stepping, tracing, the
    /// last instructions before a limit). Otherwise instructions are counted per straight-line
    /// block, at taken jumps, calls and returns, and the loop stops at a block boundary once
    /// the remaining fuel could not cover the longest block of the running function. With
    /// `COUNT`, every run of instructions charged for is also recorded in `exec_counts` (when
    /// that is on).
    ///
    /// The loop runs each function's [`RegCode`](super::regcode::RegCode), whose instructions
    /// name the frame positions of their operands, so there is no stack pointer to maintain.
    /// The running frame (its function, its code from the next instruction on, and the stack
    /// split at its base into the frame and what lies below it) lives in locals that are
    /// reloaded only when a call, a return or native code switches frames; calls and returns
    /// update `self.calls`, and `self.frames` is brought up to date when the loop exits.
    /// `vec` is storage that grows on demand. Positions at and above a frame's current stack
    /// top never own heap memory (scalars may linger there), so storing into them needs no
    /// destructor and reading a scalar out of them needs no write. Values are moved by writing
    /// integers in place and by swapping, never through a temporary: a 16-byte `Value`
    /// assembled in memory and copied whole stalls store forwarding, which used to cost more
    /// than the instructions around it.
    fn dispatch<const EXACT: bool, const COUNT: bool>(
        &mut self,
        program: &Program,
        vec: &mut Vec<Value>,
        fuel: &mut u64,
    ) -> Exit {
        let max_alloc = self.config.max_alloc;
        let mut gas = self.counters.gas;
        // Kept in registers; written back on every exit.
        let mut fuel_left = *fuel;
        // The globals and the callers' frames (the running closure last), and the running
        // frame from its base up.
        let mut below: &mut [Value];
        let mut fr: &mut [Value];
        // The running frame, shared with the macros below.
        let mut proto: &Rc<Proto>;
        let mut code: &[XOp];
        let mut base: usize;
        // The code from the next instruction on, and its length when the block started.
        let mut rest: &[XOp];
        let mut block_rest: usize;
        // Index of the next instruction.
        macro_rules! ip {
            () => {
                code.len() - rest.len()
            };
        }
        // The stack top before instruction `$pc` of the running frame (absolute).
        macro_rules! top_at {
            ($pc:expr) => {
                base + proto.exec.top_at($pc) as usize
            };
        }
        // Records `$ip` as the running frame's position.
        macro_rules! set_ip {
            ($ip:expr) => {{
                let at: usize = $ip;
                if let Some(c) = self.depth.checked_sub(1).and_then(|i| self.calls.get_mut(i)) {
                    c.ip = at;
                }
            }};
        }
        // Records the run of instructions from the block's start to `$end` (exclusive) when
        // counting is on: wherever fuel is charged for a block, the block is counted.
        macro_rules! count_run {
            ($end:expr) => {
                if COUNT && let Some(counts) = self.exec_counts.as_deref_mut() {
                    counts.record(proto.id, code.len() - block_rest, $end);
                }
            };
        }
        macro_rules! fail_with {
            ($ip:expr, $top:expr, $err:expr) => {{
                let err = $err;
                let at: usize = $ip;
                count_run!(at);
                self.sp = $top;
                set_ip!(at);
                if !EXACT {
                    fuel_left = fuel_left.saturating_sub(at.saturating_sub(code.len() - block_rest) as u64);
                }
                self.counters.gas = gas;
                *fuel = fuel_left;
                return Exit::Error(self.locate(err, at));
            }};
        }
        // Fails the current instruction with `$err`, the stack top (relative) then being `$top`
        // (what the instruction had popped before failing is gone).
        macro_rules! fail {
            ($top:expr, $err:expr) => {{
                let top = base + ($top) as usize;
                fail_with!(ip!(), top, $err)
            }};
        }
        macro_rules! tri {
            ($top:expr, $e:expr) => {
                match $e {
                    Ok(v) => v,
                    Err(err) => fail!($top, err),
                }
            };
        }
        // Writes the state back and returns; the stack top is the static one at `ip`.
        macro_rules! leave {
            ($exit:expr) => {{
                self.sp = top_at!(ip!());
                self.counters.gas = gas;
                *fuel = fuel_left;
                return $exit;
            }};
        }
        macro_rules! account {
            () => {
                count_run!(ip!());
                if !EXACT {
                    fuel_left = fuel_left.saturating_sub((block_rest - rest.len()) as u64);
                }
            };
        }
        // Splits the stack at `base` for a frame of `$size` positions, growing the storage if
        // it is too short.
        macro_rules! rebase {
            ($size:expr) => {{
                let need = base + ($size) as usize;
                if need > vec.len() {
                    grow(vec, need);
                }
                let at = base.min(vec.len());
                let (b, f) = vec.split_at_mut(at);
                below = b;
                fr = f;
            }};
        }
        // Makes the innermost call record the running frame.
        macro_rules! load_frame {
            () => {{
                let Some(f) = self.depth.checked_sub(1).and_then(|i| self.calls.get(i)).copied() else {
                    self.counters.gas = gas;
                    *fuel = fuel_left;
                    return Exit::Finished;
                };
                let Some(p) = program.protos.get(f.proto as usize) else {
                    self.counters.gas = gas;
                    *fuel = fuel_left;
                    return Exit::Error(self.locate(internal("frame function is not part of the program"), f.ip + 1));
                };
                proto = p;
                base = f.base;
                code = &p.exec.ops;
                rest = code.get(f.ip..).unwrap_or_default();
                block_rest = rest.len();
                rebase!(p.exec.frame_size);
                if !EXACT && fuel_left <= code.len() as u64 {
                    leave!(Exit::Fuel);
                }
            }};
        }
        macro_rules! jump {
            ($target:expr) => {{
                account!();
                rest = code.get($target..).unwrap_or_default();
                block_rest = rest.len();
                if !EXACT && fuel_left <= code.len() as u64 {
                    set_ip!(ip!());
                    leave!(Exit::Fuel);
                }
            }};
        }
        // The value at frame position `$pos`.
        macro_rules! get {
            ($pos:expr) => {
                fr.get(($pos) as usize)
            };
        }
        macro_rules! get_mut {
            ($pos:expr) => {
                fr.get_mut(($pos) as usize)
            };
        }
        // Stores into position `$pos`, at or above the stack top (so nothing to drop there).
        macro_rules! put {
            ($pos:expr, $v:expr) => {{
                let v = $v;
                if let Some(slot) = get_mut!($pos) {
                    put(slot, v);
                }
            }};
        }
        // Stores the integer `$x` into position `$pos`, at or above the stack top.
        macro_rules! put_int {
            ($pos:expr, $x:expr) => {{
                let x: i64 = $x;
                if let Some(slot) = get_mut!($pos) {
                    put_int(slot, x);
                }
            }};
        }
        // The slot `$slot` of the frame (below the stack top) and the position `$dst` (at the
        // top), so that a value can be copied or moved between them in place.
        macro_rules! slot_and_top {
            ($slot:expr, $dst:expr) => {
                match fr.split_at_mut_checked(($dst) as usize) {
                    Some((lo, hi)) => (lo.get_mut(($slot) as usize), hi.first_mut()),
                    None => (None, None),
                }
            };
        }
        // `LoadLocal`.
        macro_rules! load_local {
            ($dst:expr, $slot:expr) => {{
                let (dst, slot): (u32, u16) = ($dst, $slot);
                match slot_and_top!(slot, dst) {
                    (Some(Value::Undef) | None, _) | (_, None) => {
                        fail!(dst, self.undefined(slot_name(proto, slot)))
                    }
                    (Some(v), Some(to)) => put_clone(to, v),
                }
            }};
        }
        // `LoadLocal2`.
        macro_rules! load_local2 {
            ($dst:expr, $a:expr, $b:expr) => {{
                let (dst, a, b): (u32, u16, u16) = ($dst, $a, $b);
                for (part, slot) in [(0u8, a), (1, b)] {
                    let to = dst + u32::from(part);
                    match slot_and_top!(slot, to) {
                        (Some(Value::Undef) | None, _) | (_, None) => {
                            fail!(to, self.undefined(slot_name(proto, slot)).in_part(part))
                        }
                        (Some(v), Some(top)) => put_clone(top, v),
                    }
                }
            }};
        }
        // `Add`.
        macro_rules! add {
            ($a:expr) => {{
                let a: u32 = $a;
                let (x, y) = pair!(a);
                if let (Value::Int(i), Value::Int(j)) = (&mut *x, &*y) {
                    match i.checked_add(*j) {
                        Some(r) => *i = r,
                        None => fail!(a + 1, VmError::new(ErrorKind::IntegerOverflow, "integer overflow")),
                    }
                } else {
                    let y = std::mem::take(y);
                    *x = tri!(a + 1, value::add(x, &y, max_alloc));
                }
            }};
        }
        // `AddLocalImm`.
        macro_rules! add_local_imm {
            ($slot:expr, $imm:expr) => {{
                let (slot, imm): (u16, i32) = ($slot, $imm);
                match get_mut!(slot) {
                    Some(Value::Int(x)) => match x.checked_add(imm as i64) {
                        Some(r) => *x = r,
                        None => fail!(
                            proto.exec.top_at(ip!() - 1),
                            VmError::new(ErrorKind::IntegerOverflow, "integer overflow").in_part(2)
                        ),
                    },
                    Some(Value::Undef) | None => {
                        fail!(proto.exec.top_at(ip!() - 1), self.undefined(slot_name(proto, slot)).in_part(0))
                    }
                    Some(other) => {
                        let r = tri!(
                            proto.exec.top_at(ip!() - 1),
                            value::add(other, &Value::Int(imm as i64), max_alloc).map_err(|e| e.in_part(2))
                        );
                        *other = r;
                    }
                }
            }};
        }
        // `LoopBack`.
        macro_rules! loop_back {
            ($target:expr, $loop_id:expr) => {{
                let (target, loop_id): (u32, u16) = ($target, $loop_id);
                // Count the iteration before the jump, which may end this slice.
                let hot = match proto.loop_counters.get(loop_id as usize) {
                    Some(counter) => {
                        let n = counter.iterations.get() + 1;
                        counter.iterations.set(n);
                        n >= self.config.hot_threshold && (!counter.decided.get() || counter.compiled.get())
                    }
                    None => false,
                };
                jump!(target as usize);
                if hot {
                    self.counters.gas = gas;
                    set_ip!(ip!());
                    let mut top = top_at!(ip!());
                    self.hot_loop(proto, loop_id, base, vec, &mut top, &mut fuel_left);
                    gas = self.counters.gas;
                    load_frame!();
                    if self.interrupt.get() || self.native_pause.is_some() {
                        leave!(Exit::Fuel);
                    }
                }
            }};
        }
        // Moves the value out of position `$pos`, which falls above the stack top.
        macro_rules! take {
            ($pos:expr) => {
                match get_mut!($pos) {
                    Some(v) => std::mem::take(v),
                    None => Value::Undef,
                }
            };
        }
        // Drops the heap values in positions `$from..$to` (falling above the stack top).
        macro_rules! release {
            ($from:expr, $to:expr) => {{
                if let Some(dead) = fr.get_mut(($from) as usize..($to) as usize) {
                    release(dead);
                }
            }};
        }
        // The two operands at `$a`, `$a + 1`, in place.
        macro_rules! pair {
            ($a:expr) => {{
                let a = ($a) as usize;
                match fr.get_mut(a..a + 2) {
                    Some([x, y]) => (x, y),
                    _ => fail!($a, internal("stack underflow")),
                }
            }};
        }
        // Enters `callee`, whose arguments are the `argc` values above position `at`.
        macro_rules! enter {
            ($callee:expr, $at:expr, $argc:expr) => {
                enter!($callee, $at, $argc, 0)
            };
            ($callee:expr, $at:expr, $argc:expr, $this:expr) => {{
                let callee: &Rc<Proto> = $callee;
                let this: u32 = $this;
                let callee_at: usize = $at as usize;
                let n_args = $argc as usize;
                let o = callee_at + n_args + 1;
                if n_args > callee.arity as usize || n_args < callee.min_arity as usize {
                    fail!(o, wrong_argument_count(callee, n_args));
                }
                let depth = self.depth;
                if depth > self.config.max_depth {
                    fail!(o, stack_overflow(self.config.max_depth));
                }
                set_ip!(ip!());
                self.dirty = self.dirty.min(depth - 1);
                account!();
                base += callee_at + 1;
                let n_slots = callee.n_slots as usize;
                let top = base + n_slots;
                rebase!((callee.exec.frame_size as usize).max(n_slots));
                // Locals other than the parameters start unassigned.
                if let Some(locals) = fr.get_mut(n_args..n_slots) {
                    for v in locals {
                        put(v, Value::Undef);
                    }
                }
                if !callee.cell_slots.is_empty() {
                    box_cells(fr, n_args, &callee.cell_slots);
                }
                self.counters.calls += 1;
                if depth > self.counters.max_depth {
                    self.counters.max_depth = depth;
                }
                if top > self.counters.max_stack {
                    self.counters.max_stack = top;
                }
                if let Some(obs) = self.observer.as_mut() {
                    let args = fr.get(..n_args).unwrap_or(&[]);
                    // Fuel was charged up to here: what this slice used so far, plus before.
                    let instructions = self.counters.instructions + fuel.saturating_sub(fuel_left);
                    obs.event(gas, &VmEvent::Call { proto: callee, depth, args, instructions });
                }
                match self.calls.get_mut(depth) {
                    Some(c) => {
                        c.proto = callee.id;
                        c.ip = 0;
                        c.base = base;
                        c.this = this;
                    }
                    None => self.calls.push(CallRec { proto: callee.id, ip: 0, base, this }),
                }
                self.depth = depth + 1;
                proto = callee;
                code = &callee.exec.ops;
                rest = code;
                block_rest = rest.len();
                if !EXACT && fuel_left <= code.len() as u64 {
                    leave!(Exit::Fuel);
                }
            }};
        }
        // Drives the higher-order call `$call` (a `dialect::HofCall`) of the running frame:
        // builtin callbacks run here, a user-function callback is entered as an ordinary call
        // (charged as one, DIALECT.md §13a) and the call waits in `self.hof_calls` until the
        // callback returns to this frame (see `op_return!`).
        macro_rules! hof_drive {
            ($call:expr, $returned:expr) => {{
                let mut call: dialect::HofCall = $call;
                let mut returned: Option<Value> = $returned;
                loop {
                    match call.step(returned.take()) {
                        dialect::HofStep::Done(v) => {
                            let at = call.at;
                            release!(at, at + 1);
                            put!(at, v);
                            break;
                        }
                        dialect::HofStep::Call(args) => {
                            let at = call.at;
                            let n = args.len() as u32;
                            gas += Op::Call { argc: 0 }.gas();
                            match call.f.clone() {
                                Value::Builtin(id) => {
                                    self.counters.builtin_calls += 1;
                                    returned = Some(tri!(at + 1, builtins::call_builtin(id, &args, max_alloc)));
                                }
                                Value::Func(c) => {
                                    let callee = match program.protos.get(c.proto.id as usize) {
                                        Some(p) if Rc::ptr_eq(p, &c.proto) => p,
                                        _ => fail!(at + 1, internal("function is not part of the program")),
                                    };
                                    let need = (at + n + 1) as usize;
                                    if need > fr.len() {
                                        rebase!(need);
                                        debug_assert!(below.len() == base);
                                    }
                                    release!(at, at + 1 + n);
                                    put!(at, Value::Func(c.clone()));
                                    for (i, a) in args.into_iter().enumerate() {
                                        put!(at + 1 + i as u32, a);
                                    }
                                    self.hof_calls.push(call);
                                    if c.bound {
                                        // A bound action: an action call like any other.
                                        let Some(inst) = self.ledger.contracts.instance(c.this).cloned() else {
                                            fail!(at + 1, internal("bound action without an instance"))
                                        };
                                        action_call!(inst, c.clone(), at, n as u16);
                                    } else {
                                        enter!(callee, at, n, c.this);
                                    }
                                    break;
                                }
                                _ => fail!(at + 1, internal("callback is not a function")),
                            }
                        }
                    }
                }
            }};
        }
        // Leaves the running function with `result`; `$top` is the stack top once the result
        // is taken.
        // `$result` is the result's position, or `None` for `null`; `$top` is the stack top
        // without the result.
        macro_rules! op_return {
            ($result:expr, $top:expr) => {{
                let result: Returned = $result;
                let top: u32 = $top;
                if self.depth <= 1 {
                    if let Returned::At(src) = result {
                        discard(take!(src));
                    }
                    fail!(top, internal("return from the top level"));
                }
                account!();
                if let Some(obs) = self.observer.as_mut() {
                    let instructions = self.counters.instructions + fuel.saturating_sub(fuel_left);
                    obs.event(gas, &VmEvent::Return { proto, depth: self.depth - 1, instructions });
                }
                self.depth -= 1;
                self.dirty = self.dirty.min(self.depth);
                // The result takes the callee's place below the frame (swapped in place, so no
                // value travels through a temporary), and the frame's values go.
                let Some(callee) = below.last_mut() else { fail!(top, internal("return without a callee")) };
                let end = match result {
                    Returned::At(src) => match fr.get_mut(src as usize) {
                        Some(res) => {
                            std::mem::swap(callee, res);
                            top + 1
                        }
                        None => {
                            overwrite(callee, Value::Null);
                            top
                        }
                    },
                    // A plain assignment: its destructor call drops the callee, and the integer
                    // is stored in place.
                    Returned::Int(x) => {
                        *callee = Value::Int(x);
                        top
                    }
                    Returned::Null => {
                        overwrite(callee, Value::Null);
                        top
                    }
                };
                release!(0, end);
                load_frame!();
                // An external call returns its (copied) result before a pending `map` takes it.
                resume_action!();
                resume_hof!();
            }};
        }
        // Feeds a returned callback's result (at the call's position) to the pending
        // higher-order call of the running frame, if there is one: a callback frame lies
        // above it while the callback runs, so the call is pending exactly when its frame runs.
        // Checked after every return, and when the loop starts (a slice may end between the
        // return and the check).
        macro_rules! resume_hof {
            () => {
                if self.hof_calls.last().is_some_and(|h| h.depth == self.depth)
                    && let Some(call) = self.hof_calls.pop()
                {
                    let res = take!(call.at);
                    hof_drive!(call, Some(res));
                }
            };
        }
        // The running frame's current instance (CONTRACTS.md §4.3).
        macro_rules! cur_this {
            () => {
                self.depth.checked_sub(1).and_then(|i| self.calls.get(i)).map_or(0, |c| c.this)
            };
        }
        // Calls action `$action` of instance `$inst` with the `$argc` arguments above `$at`:
        // internal when the running frame's instance is `$inst` (no copies, no transaction),
        // else external: the arguments are copied and a transaction begins (CONTRACTS.md §6),
        // finished by `resume_action!` when the action returns.
        macro_rules! action_call {
            ($inst:expr, $action:expr, $at:expr, $argc:expr) => {{
                let inst_obj: Rc<Obj> = $inst;
                let action: Rc<Closure> = $action;
                let at: u32 = $at;
                let argc: u16 = $argc;
                let o = at + u32::from(argc) + 1;
                let Obj::Instance(inst) = &*inst_obj else { fail!(o, internal("not a contract instance")) };
                tri!(o, contract::check_alive(inst));
                let id = inst.id;
                let callee = match program.protos.get(action.proto.id as usize) {
                    Some(p) if Rc::ptr_eq(p, &action.proto) => p,
                    _ => fail!(o, internal("function is not part of the program")),
                };
                let n_args = argc as usize;
                if n_args > callee.arity as usize || n_args < callee.min_arity as usize {
                    fail!(o, wrong_argument_count(callee, n_args));
                }
                if id != cur_this!() {
                    for i in at + 1..o {
                        if let Some(slot) = get_mut!(i) {
                            let copy = tri!(o, contract::deep_copy(slot));
                            *slot = copy;
                        }
                    }
                    gas += contract::EXTERNAL_BEGIN_GAS;
                    let floor = self.ledger.depth();
                    tri!(o, self.ledger.begin());
                    if let Some(obs) = self.observer.as_mut() {
                        obs.event(gas, &VmEvent::TxBegin { depth: self.ledger.depth() });
                    }
                    let name = callee.display_name().to_string();
                    self.action_calls.push(ActionCall { depth: self.depth, at, floor, name, stage: CallStage::Action });
                }
                if let Some(slot) = get_mut!(at) {
                    *slot = Value::Func(action.clone());
                }
                enter!(callee, at, argc, id);
            }};
        }
        // Calls the value `$f` (placed at `$at`) as an ordinary function: a bound action is an
        // action call, a closure runs with its captured instance, a builtin runs here.
        macro_rules! call_value {
            ($f:expr, $at:expr, $argc:expr, $not_callable:expr) => {{
                let f: Value = $f;
                let at: u32 = $at;
                let argc: u16 = $argc;
                let o = at + u32::from(argc) + 1;
                match f {
                    Value::Func(c) if c.bound => {
                        let Some(inst) = self.ledger.contracts.instance(c.this).cloned() else {
                            fail!(o, internal("bound action without an instance"))
                        };
                        action_call!(inst, c, at, argc);
                    }
                    Value::Func(c) => {
                        let callee = match program.protos.get(c.proto.id as usize) {
                            Some(p) if Rc::ptr_eq(p, &c.proto) => p,
                            _ => fail!(o, internal("function is not part of the program")),
                        };
                        let this = c.this;
                        if let Some(slot) = get_mut!(at) {
                            *slot = Value::Func(c);
                        }
                        enter!(callee, at, argc, this);
                    }
                    Value::Builtin(id) => {
                        let args = fr.get(at as usize + 1..o as usize).unwrap_or(&[]);
                        let v = tri!(o, builtins::call_builtin(id, args, max_alloc));
                        release!(at, o);
                        put!(at, v);
                    }
                    _ => fail!(o, $not_callable),
                }
            }};
        }
        // Finishes the external call `$call` whose result (or whose constructed `$inst`) goes
        // to `$at`: the call must leave no transaction of its own open; its transaction
        // commits and the result is copied out.
        macro_rules! finish_call {
            ($call:expr, $at:expr, $inst:expr) => {{
                let call: ActionCall = $call;
                let at: u32 = $at;
                let inst: Option<Rc<Obj>> = $inst;
                let open = self.ledger.depth().saturating_sub(call.floor + 1);
                if open > 0 {
                    let msg = format!("action {} returned with {open} open transaction(s)", call.name);
                    fail!(at + 1, VmError::new(ErrorKind::Transaction, msg));
                }
                let keys = tri!(at + 1, self.ledger.commit());
                gas += contract::EXTERNAL_COMMIT_GAS;
                if let Some(obs) = self.observer.as_mut() {
                    obs.event(gas, &VmEvent::TxCommit { depth: self.ledger.depth(), keys: &keys });
                }
                let result = take!(at);
                let out = match inst {
                    Some(inst) => {
                        discard(result);
                        Value::Obj(inst)
                    }
                    None => tri!(at, contract::deep_copy(&result)),
                };
                put!(at, out);
            }};
        }
        // Leaves the entity `$made` (a `contract::NewEntity`) at `$at`, first running its code
        // defaults one by one as ordinary calls in the global scope (`CallStage::EntityDefaults`).
        macro_rules! new_entity {
            ($made:expr, $at:expr) => {{
                let (entity, pending): contract::NewEntity = $made;
                let at: u32 = $at;
                match pending.first().map(|(_, f)| f.clone()) {
                    None => put!(at, Value::Obj(entity)),
                    Some(f) => {
                        let callee = match program.protos.get(f.proto.id as usize) {
                            Some(p) if Rc::ptr_eq(p, &f.proto) => p,
                            _ => fail!(at, internal("function is not part of the program")),
                        };
                        let floor = self.ledger.depth();
                        let stage = CallStage::EntityDefaults { entity, pending };
                        self.action_calls.push(ActionCall { depth: self.depth, at, floor, name: String::new(), stage });
                        put!(at, Value::Func(f));
                        enter!(callee, at, 0, 0);
                    }
                }
            }};
        }
        // After a return: finishes the pending external call of the running frame, if the
        // return came back from it (or runs `init` after a construction's initializers).
        macro_rules! resume_action {
            () => {
                if self.action_calls.last().is_some_and(|a| a.depth == self.depth)
                    && let Some(call) = self.action_calls.pop()
                {
                    let at = call.at;
                    match call.stage {
                        CallStage::Action => finish_call!(call, at, None),
                        CallStage::Members { ref inst, ref args } => {
                            let inst = inst.clone();
                            let args = args.clone();
                            discard(take!(at));
                            let init = match &*inst {
                                Obj::Instance(i) => i.contract().and_then(|c| c.actions.get("init")).cloned(),
                                _ => None,
                            };
                            let n = args.len();
                            let accepts = init
                                .as_ref()
                                .is_some_and(|f| n <= f.proto.arity as usize && n >= f.proto.min_arity as usize);
                            match init {
                                Some(init) if accepts => {
                                    let callee = match program.protos.get(init.proto.id as usize) {
                                        Some(p) if Rc::ptr_eq(p, &init.proto) => p,
                                        _ => fail!(at, internal("function is not part of the program")),
                                    };
                                    let need = at as usize + n + 1;
                                    if need > fr.len() {
                                        rebase!(need);
                                        debug_assert!(below.len() == base);
                                    }
                                    put!(at, Value::Func(init.clone()));
                                    for (k, a) in args.into_iter().enumerate() {
                                        put!(at + 1 + k as u32, a);
                                    }
                                    let id = match &*inst {
                                        Obj::Instance(i) => i.id,
                                        _ => 0,
                                    };
                                    let next = ActionCall { stage: CallStage::Init { inst }, ..call };
                                    self.action_calls.push(next);
                                    enter!(callee, at, n as u16, id);
                                }
                                _ if n == 0 => {
                                    put!(at, Value::Null);
                                    finish_call!(call, at, Some(inst));
                                }
                                _ => {
                                    let err = match &init {
                                        Some(f) => wrong_argument_count(&f.proto, n),
                                        None => VmError::new(
                                            ErrorKind::WrongArgumentCount,
                                            format!(
                                                "wrong number of arguments: {}() takes 0 but {n} were given",
                                                call.name
                                            ),
                                        ),
                                    };
                                    fail!(at, err);
                                }
                            }
                        }
                        CallStage::Init { ref inst } => {
                            let inst = inst.clone();
                            finish_call!(call, at, Some(inst));
                        }
                        CallStage::EntityDefaults { entity, mut pending } => {
                            let v = take!(at);
                            if !pending.is_empty() {
                                let (i, _) = pending.remove(0);
                                contract::set_field(&entity, i, v);
                            }
                            new_entity!((entity, pending), at);
                        }
                    }
                }
            };
        }
        load_frame!();
        resume_action!();
        resume_hof!();
        loop {
            if EXACT && fuel_left == 0 {
                count_run!(ip!());
                set_ip!(ip!());
                leave!(Exit::Fuel);
            }
            if EXACT {
                fuel_left -= 1;
            }
            let [xop, tail @ ..] = rest else {
                let at = ip!();
                let top = top_at!(at);
                fail_with!(at + 1, top, internal("instruction pointer out of range"));
            };
            rest = tail;
            match *xop {
                XOp::Const { dst, idx } => {
                    gas += xop.gas();
                    let v = proto.consts.get(idx as usize).cloned().unwrap_or(Value::Null);
                    put!(dst, v);
                }
                XOp::Int { dst, value } => {
                    gas += xop.gas();
                    put_int!(dst, value as i64);
                }
                XOp::Null { dst } => {
                    gas += xop.gas();
                    put!(dst, Value::Null);
                }
                XOp::True { dst } => {
                    gas += xop.gas();
                    put!(dst, Value::Bool(true));
                }
                XOp::False { dst } => {
                    gas += xop.gas();
                    put!(dst, Value::Bool(false));
                }
                XOp::Pop { src } => {
                    gas += xop.gas();
                    discard(take!(src));
                }
                XOp::Dup { dst } => {
                    gas += xop.gas();
                    if let (Some(v), Some(to)) = slot_and_top!(dst.wrapping_sub(1), dst) {
                        put_clone(to, v);
                    }
                }
                XOp::Dup2 { dst } => {
                    gas += xop.gas();
                    let (a, b) = match dst.checked_sub(2) {
                        Some(src) => match fr.get(src as usize..dst as usize) {
                            Some([a, b]) => (a.clone(), b.clone()),
                            _ => fail!(dst, internal("stack underflow")),
                        },
                        None => fail!(dst, internal("stack underflow")),
                    };
                    put!(dst, a);
                    put!(dst + 1, b);
                }
                XOp::Nop => {
                    gas += xop.gas();
                }
                XOp::LoadLocal { dst, slot } => {
                    gas += xop.gas();
                    load_local!(dst, slot);
                }
                XOp::StoreLocal { slot, src } => {
                    gas += xop.gas();
                    match slot_and_top!(slot, src) {
                        (Some(dst), Some(v)) => store(dst, v),
                        _ => fail!(src, internal("slot out of range")),
                    }
                }
                XOp::LoadGlobal { dst, idx } => {
                    gas += xop.gas();
                    let g = idx as usize;
                    // Cloned straight into place: globals lie below the running frame, except in
                    // the top level, where they are its slots.
                    let (src, to) = if g < base {
                        (below.get(g), fr.get_mut(dst as usize))
                    } else {
                        match fr.split_at_mut_checked(dst as usize) {
                            Some((lo, hi)) => (lo.get(g - base), hi.first_mut()),
                            None => (None, None),
                        }
                    };
                    match (src, to) {
                        (Some(Value::Undef) | None, _) | (_, None) => {
                            let name = program.global_names.get(idx as usize).map(String::as_str).unwrap_or("?");
                            fail!(dst, self.undefined(name))
                        }
                        (Some(v), Some(to)) => put_clone(to, v),
                    }
                }
                XOp::ImportLoad { dst, idx } => {
                    gas += xop.gas();
                    let g = idx as usize;
                    let v = if g < base { below.get(g) } else { fr.get(g - base) };
                    let Some(v) = v.cloned() else { fail!(dst, internal("global out of range")) };
                    put!(dst, v);
                }
                XOp::StoreGlobal { src, idx } | XOp::ImportStore { src, idx } => {
                    gas += xop.gas();
                    let g = idx as usize;
                    let (dst, v) = if g < base {
                        (below.get_mut(g), fr.get_mut(src as usize))
                    } else {
                        slot_and_top!(g - base, src)
                    };
                    match (dst, v) {
                        (Some(dst), Some(v)) => store(dst, v),
                        _ => fail!(src, internal("global out of range")),
                    }
                }
                XOp::LoadCell { dst, slot } => {
                    gas += xop.gas();
                    let v = match get!(slot) {
                        Some(Value::Cell(c)) => c.borrow().clone(),
                        _ => Value::Undef,
                    };
                    if let Value::Undef = v {
                        fail!(dst, self.undefined(slot_name(proto, slot)));
                    }
                    put!(dst, v);
                }
                XOp::StoreCell { slot, src } => {
                    gas += xop.gas();
                    let v = take!(src);
                    match get!(slot) {
                        Some(Value::Cell(c)) => *c.borrow_mut() = v,
                        _ => fail!(src, internal("cell slot holds no cell")),
                    }
                }
                XOp::LoadFree { dst, idx } => {
                    gas += xop.gas();
                    let v = match upvalue(below, idx) {
                        Some(c) => c.borrow().clone(),
                        None => Value::Undef,
                    };
                    if let Value::Undef = v {
                        let name = proto.free_names.get(idx as usize).map(String::as_str).unwrap_or("?");
                        fail!(dst, self.undefined(name));
                    }
                    put!(dst, v);
                }
                XOp::StoreFree { idx, src } => {
                    gas += xop.gas();
                    let v = take!(src);
                    match upvalue(below, idx) {
                        Some(c) => *c.borrow_mut() = v,
                        None => fail!(src, internal("captured variable missing")),
                    }
                }
                XOp::CheckConst { src, name } => {
                    gas += xop.gas();
                    let flag = take!(src);
                    if let Value::Bool(true) = flag {
                        let name = match proto.consts.get(name as usize) {
                            Some(Value::Str(s)) => s.to_string(),
                            _ => "?".to_string(),
                        };
                        fail!(src, VmError::new(ErrorKind::ConstAssign, format!("cannot assign to constant '{name}'")));
                    }
                    discard(flag);
                }
                XOp::Add { a } => {
                    gas += xop.gas();
                    add!(a);
                }
                XOp::Sub { a } => {
                    gas += xop.gas();
                    let (x, y) = pair!(a);
                    if let (Value::Int(i), Value::Int(j)) = (&mut *x, &*y) {
                        match i.checked_sub(*j) {
                            Some(r) => *i = r,
                            None => fail!(a + 1, VmError::new(ErrorKind::IntegerOverflow, "integer overflow")),
                        }
                    } else {
                        let y = std::mem::take(y);
                        *x = tri!(a + 1, value::sub(x, &y));
                    }
                }
                XOp::Mul { a } => {
                    gas += xop.gas();
                    let (x, y) = pair!(a);
                    let y = std::mem::take(y);
                    *x = tri!(a + 1, value::mul(x, &y, max_alloc));
                }
                XOp::Div { a } => {
                    gas += xop.gas();
                    let (x, y) = pair!(a);
                    let y = std::mem::take(y);
                    *x = tri!(a + 1, value::div(x, &y));
                }
                XOp::Mod { a } => {
                    gas += xop.gas();
                    let (x, y) = pair!(a);
                    if let (Value::Int(i), Value::Int(j)) = (&*x, &*y)
                        && *j != 0
                    {
                        *x = Value::Int(value::int_mod(*i, *j));
                        continue;
                    }
                    let y = std::mem::take(y);
                    *x = tri!(a + 1, value::modulo(x, &y));
                }
                XOp::Pow { a } => {
                    gas += xop.gas();
                    let (x, y) = pair!(a);
                    let y = std::mem::take(y);
                    *x = tri!(a + 1, value::pow(x, &y));
                }
                XOp::Neg { a } => {
                    gas += xop.gas();
                    let Some(x) = get_mut!(a) else { fail!(a, internal("stack underflow")) };
                    *x = tri!(a + 1, value::neg(x));
                }
                XOp::Not { a } => {
                    gas += xop.gas();
                    if let Some(x) = get_mut!(a) {
                        *x = Value::Bool(!x.truthy());
                    }
                }
                XOp::ToBool { a } => {
                    gas += xop.gas();
                    if let Some(x) = get_mut!(a) {
                        *x = Value::Bool(x.truthy());
                    }
                }
                XOp::Eq { a } | XOp::Ne { a } => {
                    gas += xop.gas();
                    let (x, y) = pair!(a);
                    let y = std::mem::take(y);
                    let eq = match (&*x, &y) {
                        (Value::Int(i), Value::Int(j)) => i == j,
                        _ => tri!(a + 1, value::values_equal(x, &y)),
                    };
                    overwrite(x, Value::Bool(eq == matches!(*xop, XOp::Eq { .. })));
                    discard(y);
                }
                XOp::Compare { cmp, a } => {
                    gas += xop.gas();
                    let (x, y) = pair!(a);
                    let y = std::mem::take(y);
                    let res = tri!(a + 1, ordered(cmp.op(), x, &y));
                    overwrite(x, Value::Bool(res));
                    discard(y);
                }
                XOp::Jump { target } => {
                    gas += xop.gas();
                    jump!(target as usize);
                }
                XOp::JumpIfFalse { src, target } => {
                    gas += xop.gas();
                    let c = take!(src);
                    let truthy = c.truthy();
                    discard(c);
                    if !truthy {
                        jump!(target as usize);
                    }
                }
                XOp::JumpIfTrue { src, target } => {
                    gas += xop.gas();
                    let c = take!(src);
                    let truthy = c.truthy();
                    discard(c);
                    if truthy {
                        jump!(target as usize);
                    }
                }
                XOp::LoopBack { target, loop_id } => {
                    gas += xop.gas();
                    loop_back!(target, loop_id);
                }
                XOp::ForPrep { slot, src } => {
                    gas += xop.gas();
                    let iterable = take!(src);
                    let seq = tri!(src, iteration_list(iterable));
                    match fr.get_mut(slot as usize..src as usize) {
                        Some([list, pos, ..]) => {
                            *list = seq;
                            *pos = Value::Int(0);
                        }
                        _ => fail!(src, internal("loop slot out of range")),
                    }
                }
                XOp::ForNext { slot, dst, exit } => {
                    gas += xop.gas();
                    let at = slot as usize;
                    let pos = match fr.get(at + 1) {
                        Some(Value::Int(p)) => *p as usize,
                        _ => usize::MAX,
                    };
                    let item = match fr.get(at) {
                        Some(Value::List(l)) => l.borrow().get(pos).cloned(),
                        _ => None,
                    };
                    match item {
                        Some(v) => {
                            if let Some(p) = fr.get_mut(at + 1) {
                                *p = Value::Int(pos as i64 + 1);
                            }
                            put!(dst, v);
                        }
                        None => jump!(exit as usize),
                    }
                }
                XOp::In { a } => {
                    gas += xop.gas();
                    let (x, y) = pair!(a);
                    let y = std::mem::take(y);
                    let found = tri!(a + 1, dialect::contains(x, &y));
                    *x = Value::Bool(found);
                }
                XOp::JumpIfNotNull { src, target } => {
                    gas += xop.gas();
                    if matches!(get!(src), Some(Value::Null)) {
                        discard(take!(src));
                    } else {
                        jump!(target as usize);
                    }
                }
                XOp::ForPrep2 { slot, src } => {
                    gas += xop.gas();
                    let iterable = take!(src);
                    let seq = tri!(src, dialect::iteration_seq(&iterable));
                    match fr.get_mut(slot as usize..src as usize) {
                        Some([list, pos, source, ..]) => {
                            *list = seq;
                            *pos = Value::Int(0);
                            *source = iterable;
                        }
                        _ => fail!(src, internal("loop slot out of range")),
                    }
                }
                XOp::ForNext2 { slot, dst, exit } => {
                    gas += xop.gas();
                    let at = slot as usize;
                    let step = match fr.get(at..at + 3) {
                        Some([seq, Value::Int(p), source]) => {
                            dialect::step2(seq, *p as usize, source).map(|kv| (kv, *p as usize))
                        }
                        _ => None,
                    };
                    match step {
                        Some(((k, v), p)) => {
                            if let Some(pos) = fr.get_mut(at + 1) {
                                *pos = Value::Int(p as i64 + 1);
                            }
                            put!(dst, k);
                            put!(dst + 1, v);
                        }
                        None => jump!(exit as usize),
                    }
                }
                XOp::JumpIfBound { slot, target } => {
                    gas += xop.gas();
                    if get!(slot).is_some_and(dialect::is_bound) {
                        jump!(target as usize);
                    }
                }
                XOp::Call { at, argc } => {
                    gas += xop.gas();
                    let o = at + u32::from(argc) + 1;
                    match get!(at) {
                        Some(Value::Func(c)) if c.bound => {
                            let c = c.clone();
                            call_value!(Value::Func(c), at, argc, internal("not callable"));
                        }
                        Some(Value::Func(c)) => {
                            let callee = match program.protos.get(c.proto.id as usize) {
                                Some(p) if Rc::ptr_eq(p, &c.proto) => p,
                                _ => fail!(o, internal("function is not part of the program")),
                            };
                            let this = c.this;
                            enter!(callee, at, argc, this);
                        }
                        Some(Value::Builtin(id)) if *id == crate::vm::builtin_names::EVENTS_ID => {
                            self.counters.builtin_calls += 1;
                            let args = fr.get(at as usize + 1..o as usize).unwrap_or(&[]);
                            let v = tri!(o, self.ledger.contracts.events_value(args));
                            release!(at, o);
                            put!(at, v);
                        }
                        Some(Value::Obj(obj)) => {
                            let obj = obj.clone();
                            match &*obj {
                                Obj::Contract(c) => {
                                    // Construction (CONTRACTS.md §4.2): copied arguments, one
                                    // transaction, the initializers, then `init`.
                                    let mut args = Vec::with_capacity(argc as usize);
                                    for i in at + 1..o {
                                        let v = take!(i);
                                        args.push(tri!(at + 1, contract::deep_copy(&v)));
                                    }
                                    gas += contract::NEW_INSTANCE_GAS + contract::EXTERNAL_BEGIN_GAS;
                                    let floor = self.ledger.depth();
                                    tri!(at + 1, self.ledger.begin());
                                    if let Some(obs) = self.observer.as_mut() {
                                        obs.event(gas, &VmEvent::TxBegin { depth: self.ledger.depth() });
                                    }
                                    let inst = tri!(at + 1, self.ledger.contracts.create(&obj));
                                    tri!(at + 1, contract::check_protocols(c));
                                    let members = c.init_members.clone();
                                    let callee = match program.protos.get(members.proto.id as usize) {
                                        Some(p) if Rc::ptr_eq(p, &members.proto) => p,
                                        _ => fail!(at + 1, internal("function is not part of the program")),
                                    };
                                    let id = match &*inst {
                                        Obj::Instance(i) => i.id,
                                        _ => 0,
                                    };
                                    let name = format!("{}.init", c.name);
                                    let stage = CallStage::Members { inst, args };
                                    self.action_calls.push(ActionCall { depth: self.depth, at, floor, name, stage });
                                    if let Some(slot) = get_mut!(at) {
                                        *slot = Value::Func(members);
                                    }
                                    enter!(callee, at, 0, id);
                                }
                                Obj::EntityType(_) => {
                                    gas += Op::NewEntity { name: 0, n: 0 }.gas();
                                    let args = fr.get(at as usize + 1..o as usize).unwrap_or(&[]);
                                    let made = tri!(o, contract::construct_positional(&obj, args));
                                    release!(at, o);
                                    new_entity!(made, at);
                                }
                                _ => {
                                    let msg = format!("not callable: {}", Value::Obj(obj.clone()).type_name());
                                    fail!(o, VmError::new(ErrorKind::NotCallable, msg))
                                }
                            }
                        }
                        Some(Value::Builtin(id)) if builtins::higher_order(*id).is_some() => {
                            let kind = builtins::higher_order(*id);
                            self.counters.builtin_calls += 1;
                            let args = fr.get(at as usize + 1..o as usize).unwrap_or(&[]);
                            let Some(kind) = kind else { fail!(o, internal("not a higher-order builtin")) };
                            let call = tri!(o, dialect::HofCall::start(kind, args, at, self.depth));
                            release!(at + 1, o);
                            hof_drive!(call, None);
                        }
                        Some(Value::Builtin(id)) => {
                            let id = *id;
                            self.counters.builtin_calls += 1;
                            let args = fr.get(at as usize + 1..o as usize).unwrap_or(&[]);
                            let v = tri!(o, builtins::call_builtin(id, args, max_alloc));
                            release!(at, o);
                            put!(at, v);
                        }
                        Some(other) => {
                            let msg = format!("not callable: {} is not a function", other.type_name());
                            fail!(o, VmError::new(ErrorKind::NotCallable, msg))
                        }
                        None => fail!(o, internal("stack underflow")),
                    }
                }
                XOp::CallMethod { at, name, argc } => {
                    gas += xop.gas();
                    let o = at + u32::from(argc) + 1;
                    let name = match proto.consts.get(name as usize) {
                        Some(Value::Str(s)) => s.clone(),
                        _ => fail!(o, internal("method name is not a string")),
                    };
                    let recv = get!(at).cloned().unwrap_or_default();
                    if let Value::Obj(obj) = &recv {
                        let obj = obj.clone();
                        match &*obj {
                            Obj::Instance(inst) => match tri!(o, contract::lookup(inst, &name)) {
                                Member::Action(a) => action_call!(obj.clone(), a, at, argc),
                                Member::State(_) => {
                                    gas += contract::MEMBER_GET_EXTRA_GAS;
                                    let this = cur_this!();
                                    let f =
                                        tri!(o, contract::get_member(&mut self.ledger.contracts, &obj, &name, this));
                                    call_value!(f, at, argc, contract::state_not_callable(inst, &name));
                                }
                            },
                            _ => {
                                let f = tri!(o, contract::get_member(&mut self.ledger.contracts, &obj, &name, 0));
                                call_value!(
                                    f,
                                    at,
                                    argc,
                                    VmError::new(
                                        ErrorKind::NotCallable,
                                        format!("not callable: '{name}' is not a function")
                                    )
                                );
                            }
                        }
                        continue;
                    }
                    self.counters.builtin_calls += 1;
                    let args = fr.get(at as usize + 1..o as usize).unwrap_or(&[]);
                    if let (Value::List(_), Some(kind)) = (&recv, dialect::HofKind::of(&name)) {
                        let mut all = Vec::with_capacity(args.len() + 1);
                        all.push(recv.clone());
                        all.extend_from_slice(args);
                        let call = tri!(o, dialect::HofCall::start(kind, &all, at, self.depth));
                        release!(at, o);
                        hof_drive!(call, None);
                        continue;
                    }
                    let outcome = match &recv {
                        // `m.f(args)`: the exported value, called without a receiver.
                        Value::Module(m) => {
                            MethodOutcome::CallValue(tri!(o, module_read(&program, m, &name, below, fr, base)))
                        }
                        _ => tri!(o, builtins::call_method(&recv, &name, args, max_alloc)),
                    };
                    match outcome {
                        MethodOutcome::Value(v) => {
                            release!(at, o);
                            put!(at, v);
                        }
                        MethodOutcome::CallValue(Value::Func(c)) => {
                            let callee = match program.protos.get(c.proto.id as usize) {
                                Some(p) if Rc::ptr_eq(p, &c.proto) => p,
                                _ => fail!(o, internal("function is not part of the program")),
                            };
                            if let Some(slot) = get_mut!(at) {
                                *slot = Value::Func(c.clone());
                            }
                            enter!(callee, at, argc, c.this);
                        }
                        MethodOutcome::CallValue(Value::Builtin(id)) => {
                            let args = fr.get(at as usize + 1..o as usize).unwrap_or(&[]);
                            let v = tri!(o, builtins::call_builtin(id, args, max_alloc));
                            release!(at, o);
                            put!(at, v);
                        }
                        MethodOutcome::CallValue(_) => {
                            fail!(o, VmError::new(ErrorKind::NotCallable, "not callable"))
                        }
                    }
                }
                XOp::Return { src } => {
                    gas += xop.gas();
                    op_return!(Returned::At(src), src);
                }
                XOp::ReturnNull { top } => {
                    gas += xop.gas();
                    op_return!(Returned::Null, top);
                }
                XOp::UseModule { dst, module } => {
                    gas += xop.gas();
                    let m = module as usize;
                    let (Some(ran), Some(info)) = (self.modules_run.get(m).copied(), program.modules.get(m)) else {
                        fail!(dst, internal("module index out of range"));
                    };
                    if ran {
                        put!(dst, Value::Null);
                    } else {
                        self.modules_run[m] = true;
                        let Some(callee) = program.protos.get(info.proto as usize) else {
                            fail!(dst, internal("module function is not part of the program"));
                        };
                        let closure = Closure { proto: callee.clone(), upvalues: Box::new([]), this: 0, bound: false };
                        put!(dst, Value::Func(Rc::new(closure)));
                        enter!(callee, dst, 0);
                    }
                }
                XOp::LoadModule { dst, module } => {
                    gas += xop.gas();
                    tri!(dst, ops::modules::op_load_module(program, fr, dst, module));
                }
                XOp::MakeClosure { dst, proto: idx } => {
                    gas += xop.gas();
                    let this = self.calls.get(self.depth - 1).map_or(0, |c| c.this);
                    tri!(dst, ops::calls::op_make_closure(program, below, fr, dst, idx, this));
                }
                XOp::Halt => {
                    gas += xop.gas();
                    account!();
                    let at = ip!() - 1;
                    set_ip!(at);
                    self.sp = top_at!(at);
                    self.counters.gas = gas;
                    *fuel = fuel_left;
                    return Exit::Finished;
                }
                XOp::MakeList { at, n } => {
                    gas += xop.gas();
                    ops::containers::op_make_list(fr, at, n);
                }
                XOp::MakeMap { at, n } => {
                    gas += xop.gas();
                    ops::containers::op_make_map(fr, at, n);
                }
                XOp::Index { at } => {
                    gas += xop.gas();
                    if let Err((top, err)) = ops::containers::op_index(fr, at) {
                        fail!(top, err);
                    }
                }
                XOp::SetIndex { at } => {
                    gas += xop.gas();
                    tri!(at, ops::containers::op_set_index(fr, at));
                }
                XOp::GetMember { at, name } => {
                    gas += xop.gas();
                    let key = proto.consts.get(name as usize).cloned().unwrap_or(Value::Null);
                    if let (Some(Value::Module(m)), Value::Str(k)) = (get!(at), &key) {
                        let v = tri!(at + 1, module_read(&program, &m.clone(), k, below, fr, base));
                        if let Some(obj) = get_mut!(at) {
                            *obj = v;
                        }
                        continue;
                    }
                    if let (Some(Value::Obj(obj)), Value::Str(key)) = (get!(at), &key) {
                        let obj = obj.clone();
                        if matches!(&*obj, Obj::Instance(_)) {
                            gas += contract::MEMBER_GET_EXTRA_GAS;
                        }
                        let this = cur_this!();
                        let v = tri!(at + 1, contract::get_member(&mut self.ledger.contracts, &obj, key, this));
                        if let Some(slot) = get_mut!(at) {
                            *slot = v;
                        }
                    } else {
                        let Some(obj) = get_mut!(at) else { fail!(at, internal("stack underflow")) };
                        *obj = tri!(at + 1, member_get(obj, &key));
                    }
                }
                XOp::SetMember { at, name } => {
                    gas += xop.gas();
                    let key = proto.consts.get(name as usize).cloned().unwrap_or(Value::Null);
                    let v = take!(at + 1);
                    let obj = take!(at);
                    if let (Value::Module(m), Value::Str(k)) = (&obj, &key) {
                        fail!(at, modules::assign_error(&program.modules, m, k));
                    }
                    if let (Value::Obj(obj), Value::Str(key)) = (&obj, &key) {
                        if matches!(&**obj, Obj::Instance(_)) {
                            gas += contract::MEMBER_SET_EXTRA_GAS;
                        }
                        let this = cur_this!();
                        tri!(at, contract::set_member(&mut self.ledger.contracts, obj, key, v, this));
                    } else {
                        tri!(at, member_set(&obj, &key, v));
                    }
                }
                XOp::This { dst } => {
                    gas += xop.gas();
                    match self.ledger.contracts.instance(cur_this!()).cloned() {
                        Some(inst) => put!(dst, Value::Obj(inst)),
                        None => fail!(dst, self.undefined("this")),
                    }
                }
                XOp::Emit { at, name, argc } => {
                    gas += xop.gas();
                    let o = at + u32::from(argc);
                    let Some(Value::Str(event)) = proto.consts.get(name as usize) else {
                        fail!(o, internal("event name is not a string"))
                    };
                    let args = fr.get(at as usize..o as usize).unwrap_or(&[]);
                    let this = cur_this!();
                    tri!(o, self.ledger.contracts.emit(event, this, args));
                    release!(at, o);
                }
                XOp::NewEntity { at, name, n } => {
                    gas += xop.gas();
                    let Some(Value::Str(written)) = proto.consts.get(name as usize) else {
                        fail!(at + 1 + 2 * u32::from(n), internal("entity name is not a string"))
                    };
                    let ty = take!(at);
                    let mut given = Vec::with_capacity(n as usize);
                    for k in 0..u32::from(n) {
                        let key = take!(at + 1 + 2 * k);
                        let v = take!(at + 2 + 2 * k);
                        if let Value::Str(key) = key {
                            given.push((key, v));
                        }
                    }
                    let made = tri!(at, contract::construct(&ty, written, given));
                    new_entity!(made, at);
                }
                XOp::Print { at, n } => {
                    gas += xop.gas();
                    if let Err((top, err)) = ops::output::op_print(self, fr, at, n, max_alloc) {
                        fail!(top, err);
                    }
                }
                XOp::StateGet { at } => {
                    gas += xop.gas();
                    tri!(at, self.op_state_get(fr, at, gas));
                }
                XOp::StateSet { at } => {
                    gas += xop.gas();
                    tri!(at, self.op_state_set(fr, at, gas));
                }
                XOp::TxBegin => {
                    gas += xop.gas();
                    tri!(proto.exec.top_at(ip!() - 1), self.op_tx_begin(gas));
                }
                XOp::TxCommit => {
                    gas += xop.gas();
                    tri!(proto.exec.top_at(ip!() - 1), self.op_tx_commit(gas));
                }
                XOp::TxRevert => {
                    gas += xop.gas();
                    tri!(proto.exec.top_at(ip!() - 1), self.op_tx_revert(gas));
                    if self.interrupt.get() {
                        account!();
                        set_ip!(ip!());
                        leave!(Exit::Fuel);
                    }
                }
                XOp::Hash { at } => {
                    gas += xop.gas();
                    tri!(at, ops::chain::op_hash(fr, at));
                }
                XOp::Verify { at } => {
                    gas += xop.gas();
                    tri!(at, ops::chain::op_verify(fr, at));
                }
                XOp::LoadLocal2 { dst, a, b } => {
                    gas += xop.gas();
                    load_local2!(dst, a, b);
                }
                XOp::AddLocalImm { slot, imm } => {
                    gas += xop.gas();
                    add_local_imm!(slot, imm);
                }
                XOp::AddLocalLocal { dst, src } => {
                    gas += xop.gas();
                    if let (Some(Value::Int(y)), true) = (get!(src), src != dst) {
                        let y = *y;
                        if let Some(Value::Int(x)) = get_mut!(dst) {
                            match x.checked_add(y) {
                                Some(r) => *x = r,
                                None => fail!(
                                    proto.exec.top_at(ip!() - 1),
                                    VmError::new(ErrorKind::IntegerOverflow, "integer overflow").in_part(2)
                                ),
                            }
                            continue;
                        }
                    }
                    let top = proto.exec.top_at(ip!() - 1);
                    // The unfused code reads `dst` first, so an undefined `dst` is reported first.
                    if let Some(Value::Undef) | None = get!(dst) {
                        fail!(top, self.undefined(slot_name(proto, dst)).in_part(0))
                    }
                    let rhs = match get!(src) {
                        Some(Value::Undef) | None => {
                            fail!(top, self.undefined(slot_name(proto, src)).in_part(1))
                        }
                        Some(v) => v.clone(),
                    };
                    match get_mut!(dst) {
                        Some(Value::Undef) | None => {
                            fail!(top, self.undefined(slot_name(proto, dst)).in_part(0))
                        }
                        Some(lhs) => {
                            if let (Value::Int(x), Value::Int(y)) = (&*lhs, &rhs) {
                                match x.checked_add(*y) {
                                    Some(r) => *lhs = Value::Int(r),
                                    None => fail!(
                                        top,
                                        VmError::new(ErrorKind::IntegerOverflow, "integer overflow").in_part(2)
                                    ),
                                }
                            } else {
                                let r = tri!(top, value::add(lhs, &rhs, max_alloc).map_err(|e| e.in_part(2)));
                                *lhs = r;
                            }
                        }
                    }
                }
                XOp::AddImm { a, imm } | XOp::SubImm { a, imm } => {
                    gas += xop.gas();
                    let add = matches!(*xop, XOp::AddImm { .. });
                    let Some(x) = get_mut!(a) else { fail!(a, internal("stack underflow")) };
                    if let Value::Int(i) = x {
                        let r = if add { i.checked_add(imm as i64) } else { i.checked_sub(imm as i64) };
                        match r {
                            Some(r) => *i = r,
                            None => {
                                fail!(a + 1, VmError::new(ErrorKind::IntegerOverflow, "integer overflow").in_part(1))
                            }
                        }
                    } else {
                        let b = Value::Int(imm as i64);
                        let r = if add { value::add(x, &b, max_alloc) } else { value::sub(x, &b) };
                        *x = tri!(a + 1, r.map_err(|e| e.in_part(1)));
                    }
                }
                XOp::JumpIfNot { cmp, a, target } => {
                    gas += xop.gas();
                    let (x, y) = pair!(a);
                    let holds = match (&*x, &*y) {
                        (Value::Int(i), Value::Int(j)) => int_cmp(cmp, *i, *j),
                        _ => {
                            let (x, y) = (std::mem::take(x), std::mem::take(y));
                            let r = tri!(a, ordered(cmp.op(), &x, &y));
                            discard(x);
                            discard(y);
                            r
                        }
                    };
                    if !holds {
                        jump!(target as usize);
                    }
                }
                XOp::BranchLocals { cmp, a, b, target } => {
                    gas += xop.gas();
                    let holds = match (get!(a), get!(b)) {
                        (Some(Value::Int(x)), Some(Value::Int(y))) => int_cmp(cmp, *x, *y),
                        (Some(Value::Undef) | None, _) => {
                            fail!(proto.exec.top_at(ip!() - 1), self.undefined(slot_name(proto, a)).in_part(0))
                        }
                        (_, Some(Value::Undef) | None) => {
                            fail!(proto.exec.top_at(ip!() - 1), self.undefined(slot_name(proto, b)).in_part(1))
                        }
                        (Some(x), Some(y)) => {
                            tri!(proto.exec.top_at(ip!() - 1), ordered(cmp.op(), x, y).map_err(|e| e.in_part(2)))
                        }
                    };
                    if !holds {
                        jump!(target as usize);
                    }
                }
                XOp::BranchLocalImm { cmp, a, imm, target } => {
                    gas += xop.gas();
                    let holds = match get!(a) {
                        Some(Value::Int(x)) => int_cmp(cmp, *x, imm as i64),
                        Some(Value::Undef) | None => {
                            fail!(proto.exec.top_at(ip!() - 1), self.undefined(slot_name(proto, a)).in_part(0))
                        }
                        Some(x) => tri!(
                            proto.exec.top_at(ip!() - 1),
                            ordered(cmp.op(), x, &Value::Int(imm as i64)).map_err(|e| e.in_part(2))
                        ),
                    };
                    if !holds {
                        jump!(target as usize);
                    }
                }
                XOp::JumpIfNotEq { a, target } | XOp::JumpIfNotNe { a, target } => {
                    gas += xop.gas();
                    let (x, y) = pair!(a);
                    let eq = match (&*x, &*y) {
                        (Value::Int(i), Value::Int(j)) => i == j,
                        _ => {
                            let (x, y) = (std::mem::take(x), std::mem::take(y));
                            tri!(a, value::values_equal(&x, &y))
                        }
                    };
                    if eq != matches!(*xop, XOp::JumpIfNotEq { .. }) {
                        jump!(target as usize);
                    }
                }
                // Pairs: the fast path runs both instructions and skips the second; anything
                // else (single-stepping, other types, overflow) runs the first one alone.
                XOp::LoadLocalAddImm { dst, slot, imm } | XOp::LoadLocalSubImm { dst, slot, imm } => {
                    gas += xop.gas();
                    if !EXACT && let (Some(&Value::Int(x)), [_, tail @ ..]) = (get!(slot), rest) {
                        let add = matches!(*xop, XOp::LoadLocalAddImm { .. });
                        let r = if add { x.checked_add(imm as i64) } else { x.checked_sub(imm as i64) };
                        if let Some(r) = r {
                            put_int!(dst, r);
                            gas += regcode::second_gas(*xop);
                            rest = tail;
                            continue;
                        }
                    }
                    load_local!(dst, slot);
                }
                XOp::ReturnLocal { dst, slot } => {
                    gas += xop.gas();
                    if !EXACT
                        && self.depth > 1
                        && let (Some(&Value::Int(x)), [_, tail @ ..]) = (get!(slot), rest)
                    {
                        gas += regcode::second_gas(*xop);
                        rest = tail;
                        op_return!(Returned::Int(x), dst);
                        continue;
                    }
                    load_local!(dst, slot);
                }
                XOp::AddReturn { a } => {
                    gas += xop.gas();
                    let at = a as usize;
                    if !EXACT
                        && self.depth > 1
                        && let (Some([Value::Int(x), Value::Int(y)]), [_, tail @ ..]) = (fr.get(at..at + 2), rest)
                        && let Some(r) = x.checked_add(*y)
                    {
                        gas += regcode::second_gas(*xop);
                        rest = tail;
                        op_return!(Returned::Int(r), a);
                        continue;
                    }
                    add!(a);
                }
                XOp::ModImm { a, value } => {
                    gas += xop.gas();
                    if !EXACT && let (Some(Value::Int(x)), [_, tail @ ..]) = (get_mut!(a), rest) {
                        *x = value::int_mod(*x, value as i64);
                        gas += regcode::second_gas(*xop);
                        rest = tail;
                        continue;
                    }
                    put_int!(a + 1, value as i64);
                }
                XOp::AddLocals { dst, a, b } => {
                    gas += xop.gas();
                    if !EXACT
                        && let (Some(&Value::Int(x)), Some(&Value::Int(y)), [_, tail @ ..]) = (get!(a), get!(b), rest)
                        && let Some(r) = x.checked_add(y)
                    {
                        put_int!(dst, r);
                        gas += regcode::second_gas(*xop);
                        rest = tail;
                        continue;
                    }
                    load_local2!(dst, a, b);
                }
                XOp::ReturnAddLocals { dst, a, b } => {
                    gas += xop.gas();
                    if !EXACT
                        && self.depth > 1
                        && let (Some(&Value::Int(x)), Some(&Value::Int(y)), [_, _, tail @ ..]) =
                            (get!(a), get!(b), rest)
                        && let Some(r) = x.checked_add(y)
                    {
                        gas += regcode::second_gas(*xop);
                        rest = tail;
                        op_return!(Returned::Int(r), dst);
                        continue;
                    }
                    load_local2!(dst, a, b);
                }
                XOp::AddLocalImmLoop { slot, imm } => {
                    gas += xop.gas();
                    if !EXACT
                        && let [XOp::LoopBack { target, loop_id }, tail @ ..] = rest
                        && let Some(Value::Int(x)) = get_mut!(slot)
                        && let Some(r) = x.checked_add(imm as i64)
                    {
                        *x = r;
                        gas += regcode::second_gas(*xop);
                        rest = tail;
                        loop_back!(*target, *loop_id);
                        continue;
                    }
                    add_local_imm!(slot, imm);
                }
                // ERRORS.md: each arm calls its function in vm/unwind.rs.
                XOp::TryBegin { slot } => {
                    gas += xop.gas();
                    let d = self.ledger.depth() as i64;
                    if let Some(v) = get_mut!(slot) {
                        overwrite(v, Value::Int(d));
                    }
                }
                XOp::TryEnd => {
                    gas += xop.gas();
                }
                XOp::Throw { src } => {
                    gas += xop.gas();
                    let v = take!(src);
                    fail!(src, self.op_throw(v));
                }
                XOp::Require { at, has_msg } => {
                    gas += xop.gas();
                    let msg = if has_msg { Some(take!(at + 1)) } else { None };
                    let cond = take!(at);
                    tri!(at, Vm::op_require(&cond, msg.as_ref()));
                }
                XOp::Revert { at, has_msg } => {
                    gas += xop.gas();
                    let msg = if has_msg { Some(take!(at)) } else { None };
                    fail!(at, Vm::op_revert(msg.as_ref()));
                }
                XOp::Reraise { src } => {
                    gas += xop.gas();
                    let token = take!(src);
                    fail!(src, self.op_reraise(&token));
                }
                XOp::Trap => {
                    gas += xop.gas();
                    let top = proto.exec.top_at(ip!() - 1);
                    fail!(top, internal("unreachable instruction"));
                }
            }
        }
    }

    /// A loop's back-edge crossed the hot threshold, or the loop has native code. `stack` is
    /// the value stack with its top at `*sp`; operands the native code leaves are pushed.
    #[cold]
    fn hot_loop(
        &mut self,
        proto: &Rc<Proto>,
        loop_id: u16,
        base: usize,
        stack: &mut Vec<Value>,
        sp: &mut usize,
        fuel: &mut u64,
    ) {
        let Some(counter) = proto.loop_counters.get(loop_id as usize) else {
            return;
        };
        let top = (*sp).min(stack.len());
        if !counter.decided.get() {
            counter.decided.set(true);
            if let Some(obs) = self.observer.as_mut() {
                obs.event(
                    self.counters.gas,
                    &VmEvent::LoopHot { proto, loop_id, iterations: counter.iterations.get() },
                );
            }
            let compiled = match self.jit.as_mut() {
                Some(jit) => jit.compile(proto, loop_id, &stack[..top], base),
                None => false,
            };
            counter.compiled.set(compiled);
        }
        if !counter.compiled.get() || *fuel == 0 || self.interrupt.get() {
            return;
        }
        let Some(jit) = self.jit.as_mut() else { return };
        let mut pending = Vec::new();
        let (exit, run) = jit.run(LoopCall {
            proto,
            loop_id,
            stack: &mut stack[..top],
            base,
            fuel: *fuel,
            pending: &mut pending,
            resume: None,
        });
        let mut at = top;
        for v in pending {
            if at >= stack.len() {
                grow(stack, at + 1);
            }
            if let Some(slot) = stack.get_mut(at) {
                put(slot, v);
                at += 1;
            }
        }
        *sp = at;
        self.counters.jit_entries += 1;
        self.counters.jit_instructions += run.instructions;
        self.counters.gas += run.gas;
        // The native code's instructions are counted by `run` through the fuel it consumed.
        *fuel = fuel.saturating_sub(run.instructions);
        let pc = match exit {
            LoopExit::Resume { pc } => pc,
            LoopExit::OutOfFuel { pc } => {
                // The dispatch loop leaves (see `loop_back!`) and `run` goes on natively.
                let depth = self.depth;
                self.native_pause = Some(NativePause { proto: proto.id, loop_id, pc, depth, base, at: None });
                pc
            }
        };
        if let Some(c) = self.depth.checked_sub(1).and_then(|i| self.calls.get_mut(i)) {
            c.ip = pc as usize;
        }
    }

    /// Goes on in native code where a loop left at a fuel checkpoint (`pause`), if the VM is
    /// still exactly there, with at most `fuel` instructions. Returns the instructions run and
    /// whether it left for want of fuel again; `None` if the pause no longer applies.
    #[cold]
    fn resume_native(&mut self, pause: NativePause, fuel: u64) -> Option<(u64, bool)> {
        if pause.at != Some(self.counters.instructions) || self.depth != pause.depth {
            return None;
        }
        let rec = *self.calls.get(self.depth.checked_sub(1)?)?;
        if rec.proto != pause.proto || rec.ip != pause.pc as usize || rec.base != pause.base {
            return None;
        }
        let proto = self.program.protos.get(pause.proto as usize)?.clone();
        let jit = self.jit.as_mut()?;
        let top = self.sp.min(self.stack.len());
        let mut pending = Vec::new();
        let (exit, run) = jit.run(LoopCall {
            proto: &proto,
            loop_id: pause.loop_id,
            stack: &mut self.stack[..top],
            base: pause.base,
            fuel,
            pending: &mut pending,
            resume: Some(pause.pc),
        });
        let mut at = top;
        for v in pending {
            if at >= self.stack.len() {
                grow(&mut self.stack, at + 1);
            }
            if let Some(slot) = self.stack.get_mut(at) {
                put(slot, v);
                at += 1;
            }
        }
        self.sp = at;
        self.counters.jit_instructions += run.instructions;
        self.counters.gas += run.gas;
        let (pc, paused) = match exit {
            LoopExit::Resume { pc } => (pc, false),
            LoopExit::OutOfFuel { pc } => (pc, true),
        };
        if let Some(c) = self.calls.get_mut(self.depth - 1) {
            c.ip = pc as usize;
        }
        if let Some(f) = self.frames.last_mut() {
            f.ip = pc as usize;
        }
        if paused {
            self.native_pause =
                Some(NativePause { pc, at: Some(self.counters.instructions + run.instructions), ..pause });
        }
        Some((run.instructions, paused))
    }

    /// As [`Vm::run`], but the run may end before the budget is spent where native code left
    /// a loop for want of fuel, so that the next run goes on in native code instead of
    /// interpreting the rest of the iteration: a debugger slicing a free run into budgets
    /// then runs the same instructions natively as one `run` to the end.
    pub fn run_yielding(&mut self, budget: u64) -> Halt {
        self.yielding = true;
        let halt = self.run(budget);
        self.yielding = false;
        halt
    }
}

/// Grows the value stack's storage to at least `need` slots (by doubling).
#[cold]
#[inline(never)]
fn grow(stack: &mut Vec<Value>, need: usize) {
    let n = need.max(stack.len().saturating_mul(2)).max(64);
    stack.resize(n, Value::Undef);
}

/// Moves the value out of frame position `pos`, which falls above the stack top (`Undef` if the
/// frame is shorter); what `take!` does in `dispatch`, for the handlers in `vm::ops`.
#[inline(always)]
pub(super) fn take(fr: &mut [Value], pos: u32) -> Value {
    match fr.get_mut(pos as usize) {
        Some(v) => std::mem::take(v),
        None => Value::Undef,
    }
}

/// Stores `v` into a slot at or above the stack top, which owns no heap memory by the stack
/// discipline of [`Vm::dispatch`]. A plain assignment: the old value's destructor runs but has
/// nothing to free, and unlike a replace through a temporary it lets the compiler store the tag
/// and the payload straight into the slot.
#[inline(always)]
pub(super) fn put(dst: &mut Value, v: Value) {
    debug_assert!(dst.tag() < Value::FIRST_HEAP_TAG, "heap value above the stack top");
    *dst = v;
}

/// `a cmp b` on integers without a jump on `cmp` (the comparison is a mask of the orders it
/// accepts).
#[inline(always)]
fn int_cmp(cmp: Cmp, a: i64, b: i64) -> bool {
    let accepts: u8 = match cmp {
        Cmp::Lt => 0b001,
        Cmp::Le => 0b011,
        Cmp::Gt => 0b100,
        Cmp::Ge => 0b110,
    };
    let order = u8::from(a < b) | (u8::from(a == b) << 1) | (u8::from(a > b) << 2);
    accepts & order != 0
}

/// Stores the integer `x` into a slot at or above the stack top: when the slot already holds an
/// integer (the common case, as positions are reused by the same code over and over), only the
/// payload is written.
#[inline(always)]
fn put_int(dst: &mut Value, x: i64) {
    match dst {
        Value::Int(p) => *p = x,
        other => put(other, Value::Int(x)),
    }
}

/// Drops the heap values among `slots` (which are about to fall above the stack top); scalars
/// may stay.
#[inline(always)]
pub(super) fn release(slots: &mut [Value]) {
    for v in slots {
        if v.tag() >= Value::FIRST_HEAP_TAG {
            match std::mem::take(v) {
                // Functions are the common case (every call leaves its callee here): drop the
                // `Rc` inline rather than through the generic destructor.
                Value::Func(f) => drop(f),
                other => drop(other),
            }
        }
    }
}

/// Clones `v` into a slot at or above the stack top (see [`put`]), integers and functions
/// (the values calls move around) without going through a temporary.
#[inline(always)]
fn put_clone(dst: &mut Value, v: &Value) {
    match v {
        Value::Int(x) => put_int(dst, *x),
        Value::Func(f) => {
            let f = f.clone();
            put(dst, Value::Func(f));
        }
        other => put(dst, other.clone()),
    }
}

/// Moves the value at `src` (the stack top, about to be popped) into the variable `dst`,
/// dropping the variable's old value: integers in place, anything else by swapping, so that
/// no value travels through a temporary.
#[inline(always)]
fn store(dst: &mut Value, src: &mut Value) {
    match (dst, src) {
        (Value::Int(d), Value::Int(s)) => *d = *s,
        (dst, src) => {
            std::mem::swap(dst, src);
            if src.tag() >= Value::FIRST_HEAP_TAG {
                drop(std::mem::take(src));
            }
        }
    }
}

/// Wraps a new frame's captured slots in cells: parameters keep their argument, other locals
/// start unassigned.
#[cold]
fn box_cells(frame: &mut [Value], n_args: usize, cell_slots: &[u16]) {
    for &slot in cell_slots {
        if let Some(v) = frame.get_mut(slot as usize) {
            let inner = std::mem::take(v);
            let inner = if (slot as usize) < n_args { inner } else { Value::Undef };
            *v = Value::Cell(Rc::new(RefCell::new(inner)));
        }
    }
}

/// The captured variable `idx` of the running closure, the last value `below` its frame.
pub(super) fn upvalue(below: &[Value], idx: u16) -> Option<value::CellRef> {
    match below.last() {
        Some(Value::Func(c)) => c.upvalues.get(idx as usize).cloned(),
        _ => None,
    }
}

#[cold]
fn wrong_argument_count(callee: &Proto, n_args: usize) -> VmError {
    let takes = if callee.min_arity < callee.arity {
        format!("{} to {}", callee.min_arity, callee.arity)
    } else {
        callee.arity.to_string()
    };
    VmError::new(
        ErrorKind::WrongArgumentCount,
        format!("wrong number of arguments: {}() takes {takes} but {n_args} were given", callee.display_name()),
    )
}

#[cold]
fn stack_overflow(max_depth: usize) -> VmError {
    VmError::new(ErrorKind::StackOverflow, format!("stack overflow: more than {max_depth} nested calls"))
}

/// Drops a value, skipping the out-of-line destructor for values that own no heap memory.
#[inline(always)]
fn discard(v: Value) {
    if v.tag() < Value::FIRST_HEAP_TAG {
        // Nothing to free: scalars own no memory, so forgetting them leaks nothing.
        std::mem::forget(v);
    } else {
        drop(v);
    }
}

/// Stores `v` into `dst`, running the old value's destructor only when it owns memory.
#[inline(always)]
fn overwrite(dst: &mut Value, v: Value) {
    discard(std::mem::replace(dst, v));
}

fn slot_name(proto: &Proto, slot: u16) -> &str {
    proto.slot_names.get(slot as usize).map(String::as_str).unwrap_or("?")
}

fn ordered(op: Op, a: &Value, b: &Value) -> OpResult<bool> {
    use std::cmp::Ordering::*;
    if let (Value::Int(x), Value::Int(y)) = (a, b) {
        return Ok(match op {
            Op::Lt => x < y,
            Op::Le => x <= y,
            Op::Gt => x > y,
            _ => x >= y,
        });
    }
    let ord = value::compare(a, b)?;
    Ok(match (op, ord) {
        (_, None) => false,
        (Op::Lt, Some(o)) => o == Less,
        (Op::Le, Some(o)) => o != Greater,
        (Op::Gt, Some(o)) => o == Greater,
        (_, Some(o)) => o != Less,
    })
}

fn type_err(msg: String) -> VmError {
    VmError::new(ErrorKind::TypeError, format!("type error: {msg}"))
}

fn out_of_range(i: i64, len: usize) -> VmError {
    VmError::new(ErrorKind::IndexOutOfRange, format!("index out of range: index {i} for length {len}"))
}

fn resolve_index(i: i64, len: usize) -> Option<usize> {
    let idx = if i < 0 { i.checked_add(len as i64)? } else { i };
    if idx >= 0 && (idx as usize) < len { Some(idx as usize) } else { None }
}

fn iteration_list(v: Value) -> OpResult<Value> {
    match v {
        Value::List(_) => Ok(v),
        Value::Str(s) => Ok(Value::list(s.chars().map(|c| Value::Str(Rc::new(c.to_string()))).collect())),
        Value::Map(m) => Ok(Value::list(m.borrow().keys().map(|k| Value::Str(k.clone())).collect())),
        other => Err(type_err(format!("cannot iterate over {}", other.type_name()))),
    }
}

pub(super) fn index_get(obj: &Value, idx: &Value) -> OpResult<Value> {
    match (obj, idx) {
        (Value::List(l), Value::Int(i)) => {
            let items = l.borrow();
            match resolve_index(*i, items.len()) {
                Some(at) => Ok(items[at].clone()),
                None => Err(out_of_range(*i, items.len())),
            }
        }
        (Value::Str(s), Value::Int(i)) => {
            let len = s.chars().count();
            match resolve_index(*i, len) {
                Some(at) => Ok(Value::Str(Rc::new(s.chars().nth(at).map(String::from).unwrap_or_default()))),
                None => Err(out_of_range(*i, len)),
            }
        }
        (Value::Map(m), Value::Str(k)) => Ok(m.borrow().get(&**k).cloned().unwrap_or(Value::Null)),
        (Value::List(_) | Value::Str(_), other) => {
            Err(type_err(format!("{} index must be an integer, got {}", obj.type_name(), other.type_name())))
        }
        (Value::Map(_), other) => Err(type_err(format!("map key must be a string, got {}", other.type_name()))),
        (Value::Obj(o), key) => contract::index_get(o, key),
        (other, _) => Err(type_err(format!("cannot index {}", other.type_name()))),
    }
}

pub(super) fn index_set(obj: &Value, idx: &Value, v: Value) -> OpResult<()> {
    match (obj, idx) {
        (Value::List(l), Value::Int(i)) => {
            let mut items = l.borrow_mut();
            let len = items.len();
            match resolve_index(*i, len) {
                Some(at) => {
                    items[at] = v;
                    Ok(())
                }
                None => Err(out_of_range(*i, len)),
            }
        }
        (Value::Map(m), Value::Str(k)) => {
            m.borrow_mut().insert(k.clone(), v);
            Ok(())
        }
        (Value::List(_), other) => Err(type_err(format!("list index must be an integer, got {}", other.type_name()))),
        (Value::Map(_), other) => Err(type_err(format!("map key must be a string, got {}", other.type_name()))),
        (Value::Str(_), _) => Err(type_err("strings are immutable: cannot assign into a string".to_string())),
        (Value::Obj(o), key) => contract::index_set(o, key, v),
        (other, _) => Err(type_err(format!("cannot index-assign into {}", other.type_name()))),
    }
}

/// `m.name` on a module value: its module's exported global, read now.
fn module_read(
    program: &Program,
    m: &ModuleRef,
    name: &str,
    below: &[Value],
    fr: &[Value],
    base: usize,
) -> OpResult<Value> {
    let g = modules::member_slot(&program.modules, m, name)? as usize;
    let v = if g < base { below.get(g) } else { fr.get(g - base) };
    modules::member_value(v, name)
}

fn member_get(obj: &Value, key: &Value) -> OpResult<Value> {
    match (obj, key) {
        (Value::Map(m), Value::Str(k)) => Ok(m.borrow().get(&**k).cloned().unwrap_or(Value::Null)),
        (other, Value::Str(k)) => Err(type_err(format!("{} has no member '{k}'", other.type_name()))),
        _ => Err(internal("member name is not a string")),
    }
}

fn member_set(obj: &Value, key: &Value, v: Value) -> OpResult<()> {
    match (obj, key) {
        (Value::Map(m), Value::Str(k)) => {
            m.borrow_mut().insert(k.clone(), v);
            Ok(())
        }
        (other, Value::Str(k)) => Err(type_err(format!("cannot set member '{k}' on {}", other.type_name()))),
        _ => Err(internal("member name is not a string")),
    }
}

pub(super) fn state_key(key: &Value) -> OpResult<String> {
    match key {
        Value::Str(s) => Ok(s.to_string()),
        other => Err(VmError::new(ErrorKind::State, format!("STATE key must be a string, got {}", other.type_name()))),
    }
}
