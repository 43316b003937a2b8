//! The interpreter: a stack machine that runs on an instruction budget and returns a halt
//! reason, so that callers (the CLI, the TUI's VM thread, tests) can pause, inspect and resume.

use std::cell::{Cell, RefCell};
use std::io::Write;
use std::rc::Rc;

use super::builtins::{self, MethodOutcome};
use super::chain::{self, Ledger};
use super::error::{ErrorKind, RuntimeError, VmError};
use super::exec_counts::ExecCounts;
use super::hooks::{LoopCompiler, LoopExit, Observer, VmEvent};
use super::program::{Program, Proto};
use super::value::{self, Closure, Value};
use crate::bytecode::chunk::Capture;
use crate::bytecode::op::{MAX_OP_GAS, Op};
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
}

impl Default for VmConfig {
    fn default() -> Self {
        VmConfig {
            max_depth: 10_000,
            max_steps: None,
            gas_limit: None,
            max_alloc: value::DEFAULT_MAX_ALLOC,
            hot_threshold: 100,
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

enum Exit {
    Fuel,
    Finished,
    Error(RuntimeError),
}

/// The virtual machine.
pub struct Vm {
    /// The program being run.
    pub program: Rc<Program>,
    /// Value stack: globals first, then each frame's slots and operands.
    pub stack: Vec<Value>,
    /// Call frames; `frames[0]` is the top level.
    pub frames: Vec<Frame>,
    /// STATE and open transactions.
    pub ledger: Ledger,
    /// Limits.
    pub config: VmConfig,
    /// Run counters.
    pub counters: VmCounters,
    /// Warnings produced at the end of the run.
    pub warnings: Vec<String>,
    out: Box<dyn Write>,
    observer: Option<Box<dyn Observer>>,
    jit: Option<Box<dyn LoopCompiler>>,
    finished: bool,
    failed: Option<RuntimeError>,
    output_closed: bool,
    /// Exact per-instruction counts, kept only once [`Vm::enable_exec_counts`] was called.
    exec_counts: Option<Box<ExecCounts>>,
    /// Set (through a clone from [`Vm::interrupt_flag`]) to make `run` return early at the next
    /// safe point: after a hot loop was compiled or left native code, or after `TX_REVERT`.
    interrupt: Rc<Cell<bool>>,
}

/// Below this much fuel, `run` steps instruction by instruction.
const FAST_MIN_FUEL: u64 = 1 << 16;

/// Result type of operations inside the dispatch loop.
type OpResult<T> = Result<T, VmError>;

#[cold]
fn internal(msg: &str) -> VmError {
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
            frames: Vec::with_capacity(64),
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
        };
        let n = (main.n_slots as usize).max(vm.stack.len());
        vm.stack.resize(n, Value::Undef);
        vm.frames.push(Frame { proto: main, ip: 0, base: 0 });
        vm
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
                if left == 0 {
                    let err = VmError::new(
                        ErrorKind::StepLimit,
                        format!("step limit exceeded: the program ran {max} instructions (--max-steps)"),
                    );
                    return self.halt_error(err);
                }
                fuel = fuel.min(left);
            }
            if let Some(limit) = self.config.gas_limit {
                let safe = limit.saturating_sub(self.counters.gas) / MAX_OP_GAS;
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
            match exit {
                Exit::Fuel if self.interrupt.get() => return Halt::Budget,
                Exit::Fuel => {}
                Exit::Finished => {
                    self.finish();
                    return Halt::Finished;
                }
                Exit::Error(e) => {
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
            obs.event(self.counters.gas, &VmEvent::Error { error, depth });
        }
    }

    fn halt_error(&mut self, err: VmError) -> Halt {
        let ip = self.frames.last().map(|f| f.ip + 1).unwrap_or(0);
        let e = self.locate(err, ip);
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

    /// Turns an operation error into a located runtime error. `ip` is the index just past the
    /// failing instruction in the innermost frame. Open transactions are reverted.
    #[cold]
    fn locate(&mut self, err: VmError, ip: usize) -> RuntimeError {
        self.ledger.revert_all();
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

    fn write_line(&mut self, line: &str) -> OpResult<()> {
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
        VmError::new(ErrorKind::UndefinedVariable, format!("undefined variable '{name}'"))
    }

    fn pop(&mut self) -> Value {
        self.stack.pop().unwrap_or_default()
    }

    /// The dispatch loop. Runs at most `*fuel` instructions.
    ///
    /// With `EXACT`, fuel is checked before every instruction (single-stepping, tracing, the
    /// last instructions before a limit). Otherwise instructions are counted per straight-line
    /// block, at taken jumps, calls and returns, and the loop stops at a block boundary once
    /// the remaining fuel could not cover the longest block of the running function.
    fn execute<const EXACT: bool>(&mut self, fuel: &mut u64) -> Exit {
        let program = self.program.clone();
        let max_alloc = self.config.max_alloc;
        let mut gas = self.counters.gas;
        // Kept in registers; written back on every exit.
        let mut fuel_left = *fuel;
        // Position state of the running frame, shared with the macros below.
        let mut ip: usize;
        let mut block_start: usize;
        let mut code_len: u64;
        let mut proto_id: u32;
        // Records the run `block_start..$end` of the running function when counting is on.
        macro_rules! count_run {
            ($end:expr) => {
                if let Some(counts) = self.exec_counts.as_deref_mut() {
                    counts.record(proto_id, block_start, $end);
                }
            };
        }
        macro_rules! fail {
            ($ip:expr, $err:expr) => {{
                let err = $err;
                count_run!($ip);
                self.counters.gas = gas;
                if let Some(f) = self.frames.last_mut() {
                    f.ip = $ip;
                }
                if !EXACT {
                    fuel_left = fuel_left.saturating_sub(($ip).saturating_sub(block_start) as u64);
                }
                *fuel = fuel_left;
                return Exit::Error(self.locate(err, $ip));
            }};
        }
        macro_rules! account {
            () => {
                count_run!(ip);
                if !EXACT {
                    fuel_left = fuel_left.saturating_sub((ip - block_start) as u64);
                }
            };
        }
        macro_rules! jump {
            ($target:expr) => {{
                account!();
                ip = $target;
                block_start = ip;
                if !EXACT && fuel_left < code_len {
                    if let Some(f) = self.frames.last_mut() {
                        f.ip = ip;
                    }
                    self.counters.gas = gas;
                    *fuel = fuel_left;
                    return Exit::Fuel;
                }
            }};
        }
        macro_rules! tri {
            ($ip:expr, $e:expr) => {
                match $e {
                    Ok(v) => v,
                    Err(err) => fail!($ip, err),
                }
            };
        }
        'frame: loop {
            let Some(frame) = self.frames.last() else {
                self.counters.gas = gas;
                *fuel = fuel_left;
                return Exit::Finished;
            };
            // Borrow the function from the program (cloned once per `execute`) rather than
            // cloning its `Rc` at every call and return.
            let proto: &Rc<Proto> = match program.protos.get(frame.proto.id as usize) {
                Some(p) if Rc::ptr_eq(p, &frame.proto) => p,
                _ => {
                    self.counters.gas = gas;
                    *fuel = fuel_left;
                    let err = internal("frame function is not part of the program");
                    return Exit::Error(self.locate(err, frame_ip_plus_one(&self.frames)));
                }
            };
            let base = frame.base;
            ip = frame.ip;
            proto_id = proto.id;
            let code: &[Op] = &proto.code;
            code_len = code.len() as u64 + 1;
            block_start = ip;
            if !EXACT && fuel_left < code_len {
                self.counters.gas = gas;
                *fuel = fuel_left;
                return Exit::Fuel;
            }
            loop {
                if EXACT && fuel_left == 0 {
                    count_run!(ip);
                    if let Some(f) = self.frames.last_mut() {
                        f.ip = ip;
                    }
                    self.counters.gas = gas;
                    *fuel = 0;
                    return Exit::Fuel;
                }
                if EXACT {
                    fuel_left -= 1;
                }
                let Some(&op) = code.get(ip) else {
                    fail!(ip + 1, internal("instruction pointer out of range"));
                };
                ip += 1;
                match op {
                    Op::Const { idx } => {
                        gas += op.gas();
                        let v = proto.consts.get(idx as usize).cloned().unwrap_or(Value::Null);
                        self.stack.push(v);
                    }
                    Op::Int { value } => {
                        gas += op.gas();
                        self.stack.push(Value::Int(value as i64));
                    }
                    Op::Null => {
                        gas += op.gas();
                        self.stack.push(Value::Null);
                    }
                    Op::True => {
                        gas += op.gas();
                        self.stack.push(Value::Bool(true));
                    }
                    Op::False => {
                        gas += op.gas();
                        self.stack.push(Value::Bool(false));
                    }
                    Op::Pop => {
                        gas += op.gas();
                        discard(self.pop());
                    }
                    Op::Dup => {
                        gas += op.gas();
                        let v = self.stack.last().cloned().unwrap_or(Value::Undef);
                        self.stack.push(v);
                    }
                    Op::Dup2 => {
                        gas += op.gas();
                        let n = self.stack.len();
                        if n < 2 {
                            fail!(ip, internal("stack underflow"));
                        }
                        let a = self.stack[n - 2].clone();
                        let b = self.stack[n - 1].clone();
                        self.stack.push(a);
                        self.stack.push(b);
                    }
                    Op::Nop => {
                        gas += op.gas();
                    }
                    Op::LoadLocal { slot } => {
                        gas += op.gas();
                        let v = match self.stack.get(base + slot as usize) {
                            Some(Value::Int(x)) => Value::Int(*x),
                            Some(Value::Undef) | None => {
                                fail!(ip, self.undefined(slot_name(&proto, slot)))
                            }
                            Some(v) => v.clone(),
                        };
                        self.stack.push(v);
                    }
                    Op::StoreLocal { slot } => {
                        gas += op.gas();
                        let v = self.pop();
                        match self.stack.get_mut(base + slot as usize) {
                            Some(dst) => overwrite(dst, v),
                            None => fail!(ip, internal("slot out of range")),
                        }
                    }
                    Op::LoadGlobal { idx } => {
                        gas += op.gas();
                        let v = match self.stack.get(idx as usize) {
                            Some(Value::Undef) | None => {
                                let name =
                                    self.program.global_names.get(idx as usize).map(String::as_str).unwrap_or("?");
                                fail!(ip, self.undefined(name))
                            }
                            Some(v) => v.clone(),
                        };
                        self.stack.push(v);
                    }
                    Op::StoreGlobal { idx } => {
                        gas += op.gas();
                        let v = self.pop();
                        match self.stack.get_mut(idx as usize) {
                            Some(dst) => overwrite(dst, v),
                            None => fail!(ip, internal("global out of range")),
                        }
                    }
                    Op::LoadCell { slot } => {
                        gas += op.gas();
                        let v = match self.stack.get(base + slot as usize) {
                            Some(Value::Cell(c)) => c.borrow().clone(),
                            _ => Value::Undef,
                        };
                        if let Value::Undef = v {
                            fail!(ip, self.undefined(slot_name(&proto, slot)));
                        }
                        self.stack.push(v);
                    }
                    Op::StoreCell { slot } => {
                        gas += op.gas();
                        let v = self.pop();
                        match self.stack.get(base + slot as usize) {
                            Some(Value::Cell(c)) => *c.borrow_mut() = v,
                            _ => fail!(ip, internal("cell slot holds no cell")),
                        }
                    }
                    Op::LoadFree { idx } => {
                        gas += op.gas();
                        let v = match self.upvalue(base, idx) {
                            Some(c) => c.borrow().clone(),
                            None => Value::Undef,
                        };
                        if let Value::Undef = v {
                            let name = proto.free_names.get(idx as usize).map(String::as_str).unwrap_or("?");
                            fail!(ip, self.undefined(name));
                        }
                        self.stack.push(v);
                    }
                    Op::StoreFree { idx } => {
                        gas += op.gas();
                        let v = self.pop();
                        match self.upvalue(base, idx) {
                            Some(c) => *c.borrow_mut() = v,
                            None => fail!(ip, internal("captured variable missing")),
                        }
                    }
                    Op::CheckConst { name } => {
                        gas += op.gas();
                        let flag = self.pop();
                        if let Value::Bool(true) = flag {
                            let name = match proto.consts.get(name as usize) {
                                Some(Value::Str(s)) => s.to_string(),
                                _ => "?".to_string(),
                            };
                            fail!(
                                ip,
                                VmError::new(ErrorKind::ConstAssign, format!("cannot assign to constant '{name}'"))
                            );
                        }
                    }
                    Op::Add => {
                        gas += op.gas();
                        let b = self.pop();
                        let Some(a) = self.stack.last_mut() else { fail!(ip, internal("stack underflow")) };
                        if let (Value::Int(x), Value::Int(y)) = (&mut *a, &b) {
                            match x.checked_add(*y) {
                                Some(r) => {
                                    *x = r;
                                    std::mem::forget(b);
                                }
                                None => fail!(ip, VmError::new(ErrorKind::IntegerOverflow, "integer overflow")),
                            }
                        } else {
                            *a = tri!(ip, value::add(a, &b, max_alloc));
                        }
                    }
                    Op::Sub => {
                        gas += op.gas();
                        let b = self.pop();
                        let Some(a) = self.stack.last_mut() else { fail!(ip, internal("stack underflow")) };
                        if let (Value::Int(x), Value::Int(y)) = (&mut *a, &b) {
                            match x.checked_sub(*y) {
                                Some(r) => {
                                    *x = r;
                                    std::mem::forget(b);
                                }
                                None => fail!(ip, VmError::new(ErrorKind::IntegerOverflow, "integer overflow")),
                            }
                        } else {
                            *a = tri!(ip, value::sub(a, &b));
                        }
                    }
                    Op::Mul => {
                        gas += op.gas();
                        let b = self.pop();
                        let Some(a) = self.stack.last_mut() else { fail!(ip, internal("stack underflow")) };
                        *a = tri!(ip, value::mul(a, &b, max_alloc));
                    }
                    Op::Div => {
                        gas += op.gas();
                        let b = self.pop();
                        let Some(a) = self.stack.last_mut() else { fail!(ip, internal("stack underflow")) };
                        *a = tri!(ip, value::div(a, &b));
                    }
                    Op::Mod => {
                        gas += op.gas();
                        let b = self.pop();
                        let Some(a) = self.stack.last_mut() else { fail!(ip, internal("stack underflow")) };
                        if let (Value::Int(x), Value::Int(y)) = (&*a, &b) {
                            if *y != 0 {
                                *a = Value::Int(value::int_mod(*x, *y));
                                continue;
                            }
                        }
                        *a = tri!(ip, value::modulo(a, &b));
                    }
                    Op::Pow => {
                        gas += op.gas();
                        let b = self.pop();
                        let Some(a) = self.stack.last_mut() else { fail!(ip, internal("stack underflow")) };
                        *a = tri!(ip, value::pow(a, &b));
                    }
                    Op::Neg => {
                        gas += op.gas();
                        let Some(a) = self.stack.last_mut() else { fail!(ip, internal("stack underflow")) };
                        *a = tri!(ip, value::neg(a));
                    }
                    Op::Not => {
                        gas += op.gas();
                        let Some(a) = self.stack.last_mut() else { fail!(ip, internal("stack underflow")) };
                        *a = Value::Bool(!a.truthy());
                    }
                    Op::ToBool => {
                        gas += op.gas();
                        let Some(a) = self.stack.last_mut() else { fail!(ip, internal("stack underflow")) };
                        *a = Value::Bool(a.truthy());
                    }
                    Op::Eq | Op::Ne => {
                        gas += op.gas();
                        let b = self.pop();
                        let Some(a) = self.stack.last_mut() else { fail!(ip, internal("stack underflow")) };
                        let eq = match (&*a, &b) {
                            (Value::Int(x), Value::Int(y)) => x == y,
                            _ => tri!(ip, value::values_equal(a, &b)),
                        };
                        overwrite(a, Value::Bool(eq == matches!(op, Op::Eq)));
                        discard(b);
                    }
                    Op::Lt | Op::Le | Op::Gt | Op::Ge => {
                        gas += op.gas();
                        let b = self.pop();
                        let Some(a) = self.stack.last_mut() else { fail!(ip, internal("stack underflow")) };
                        let res = tri!(ip, ordered(op, a, &b));
                        overwrite(a, Value::Bool(res));
                        discard(b);
                    }
                    Op::Jump { target } => {
                        gas += op.gas();
                        jump!(target as usize);
                    }
                    Op::JumpIfFalse { target } => {
                        gas += op.gas();
                        let c = self.pop();
                        let truthy = c.truthy();
                        discard(c);
                        if !truthy {
                            jump!(target as usize);
                        }
                    }
                    Op::JumpIfTrue { target } => {
                        gas += op.gas();
                        let c = self.pop();
                        let truthy = c.truthy();
                        discard(c);
                        if truthy {
                            jump!(target as usize);
                        }
                    }
                    Op::LoopBack { target, loop_id } => {
                        gas += op.gas();
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
                            if let Some(f) = self.frames.last_mut() {
                                f.ip = ip;
                            }
                            self.hot_loop(proto, loop_id, base, &mut fuel_left);
                            gas = self.counters.gas;
                            if self.interrupt.get() {
                                *fuel = fuel_left;
                                return Exit::Fuel;
                            }
                            continue 'frame;
                        }
                    }
                    Op::ForPrep { slot } => {
                        gas += op.gas();
                        let iterable = self.pop();
                        let seq = tri!(ip, iteration_list(iterable));
                        let at = base + slot as usize;
                        if at + 1 >= self.stack.len() {
                            fail!(ip, internal("loop slot out of range"));
                        }
                        self.stack[at] = seq;
                        self.stack[at + 1] = Value::Int(0);
                    }
                    Op::ForNext { slot, exit } => {
                        gas += op.gas();
                        let at = base + slot as usize;
                        let pos = match self.stack.get(at + 1) {
                            Some(Value::Int(p)) => *p as usize,
                            _ => usize::MAX,
                        };
                        let item = match self.stack.get(at) {
                            Some(Value::List(l)) => l.borrow().get(pos).cloned(),
                            _ => None,
                        };
                        match item {
                            Some(v) => {
                                self.stack[at + 1] = Value::Int(pos as i64 + 1);
                                self.stack.push(v);
                            }
                            None => jump!(exit as usize),
                        }
                    }
                    Op::Call { argc } => {
                        gas += op.gas();
                        let callee_at = match self.stack.len().checked_sub(argc as usize + 1) {
                            Some(i) => i,
                            None => fail!(ip, internal("stack underflow")),
                        };
                        match &self.stack[callee_at] {
                            Value::Func(c) => {
                                let callee = c.proto.clone();
                                if let Some(f) = self.frames.last_mut() {
                                    f.ip = ip;
                                }
                                self.counters.gas = gas;
                                tri!(ip, self.push_frame(callee, callee_at, argc));
                                account!();
                                continue 'frame;
                            }
                            Value::Builtin(id) => {
                                let id = *id;
                                self.counters.builtin_calls += 1;
                                let res = builtins::call_builtin(id, &self.stack[callee_at + 1..], max_alloc);
                                let v = tri!(ip, res);
                                self.stack.truncate(callee_at);
                                self.stack.push(v);
                            }
                            other => {
                                let msg = format!("not callable: {} is not a function", other.type_name());
                                fail!(ip, VmError::new(ErrorKind::NotCallable, msg))
                            }
                        }
                    }
                    Op::CallMethod { name, argc } => {
                        gas += op.gas();
                        let recv_at = match self.stack.len().checked_sub(argc as usize + 1) {
                            Some(i) => i,
                            None => fail!(ip, internal("stack underflow")),
                        };
                        let name = match proto.consts.get(name as usize) {
                            Some(Value::Str(s)) => s.clone(),
                            _ => fail!(ip, internal("method name is not a string")),
                        };
                        self.counters.builtin_calls += 1;
                        let recv = self.stack[recv_at].clone();
                        let outcome =
                            tri!(ip, builtins::call_method(&recv, &name, &self.stack[recv_at + 1..], max_alloc));
                        match outcome {
                            MethodOutcome::Value(v) => {
                                self.stack.truncate(recv_at);
                                self.stack.push(v);
                            }
                            MethodOutcome::CallValue(Value::Func(c)) => {
                                self.stack[recv_at] = Value::Func(c.clone());
                                if let Some(f) = self.frames.last_mut() {
                                    f.ip = ip;
                                }
                                self.counters.gas = gas;
                                tri!(ip, self.push_frame(c.proto.clone(), recv_at, argc));
                                account!();
                                continue 'frame;
                            }
                            MethodOutcome::CallValue(Value::Builtin(id)) => {
                                let v = tri!(ip, builtins::call_builtin(id, &self.stack[recv_at + 1..], max_alloc));
                                self.stack.truncate(recv_at);
                                self.stack.push(v);
                            }
                            MethodOutcome::CallValue(_) => {
                                fail!(ip, VmError::new(ErrorKind::NotCallable, "not callable"))
                            }
                        }
                    }
                    Op::Return | Op::ReturnNull => {
                        gas += op.gas();
                        let result = if matches!(op, Op::Return) { self.pop() } else { Value::Null };
                        if self.frames.len() <= 1 {
                            fail!(ip, internal("return from the top level"));
                        }
                        if let Some(obs) = self.observer.as_mut() {
                            obs.event(gas, &VmEvent::Return { proto: &proto, depth: self.frames.len() - 1 });
                        }
                        self.frames.pop();
                        let keep = base.saturating_sub(1);
                        while self.stack.len() > keep {
                            discard(self.pop());
                        }
                        self.stack.push(result);
                        account!();
                        continue 'frame;
                    }
                    Op::MakeClosure { proto: idx } => {
                        gas += op.gas();
                        let Some(child) = self.program.protos.get(idx as usize).cloned() else {
                            fail!(ip, internal("function index out of range"));
                        };
                        let mut upvalues = Vec::with_capacity(child.captures.len());
                        for cap in &child.captures {
                            let cell = match *cap {
                                Capture::Cell(slot) => match self.stack.get(base + slot as usize) {
                                    Some(Value::Cell(c)) => Some(c.clone()),
                                    _ => None,
                                },
                                Capture::Free(i) => self.upvalue(base, i),
                            };
                            match cell {
                                Some(c) => upvalues.push(c),
                                None => fail!(ip, internal("captured variable is not a cell")),
                            }
                        }
                        let closure = Closure { proto: child, upvalues: upvalues.into_boxed_slice() };
                        self.stack.push(Value::Func(Rc::new(closure)));
                    }
                    Op::Halt => {
                        gas += op.gas();
                        if let Some(f) = self.frames.last_mut() {
                            f.ip = ip - 1;
                        }
                        account!();
                        self.counters.gas = gas;
                        *fuel = fuel_left;
                        return Exit::Finished;
                    }
                    Op::MakeList { n } => {
                        gas += op.gas();
                        let start = match self.stack.len().checked_sub(n as usize) {
                            Some(s) => s,
                            None => fail!(ip, internal("stack underflow")),
                        };
                        let items: Vec<Value> = self.stack.drain(start..).collect();
                        self.stack.push(Value::list(items));
                    }
                    Op::MakeMap { n } => {
                        gas += op.gas();
                        let start = match self.stack.len().checked_sub(2 * n as usize) {
                            Some(s) => s,
                            None => fail!(ip, internal("stack underflow")),
                        };
                        let mut map = indexmap::IndexMap::with_capacity(n as usize);
                        let mut items = self.stack.drain(start..);
                        while let (Some(k), Some(v)) = (items.next(), items.next()) {
                            if let Value::Str(k) = k {
                                map.insert(k, v);
                            }
                        }
                        drop(items);
                        self.stack.push(Value::map(map));
                    }
                    Op::Index => {
                        gas += op.gas();
                        let idx = self.pop();
                        let Some(obj) = self.stack.last_mut() else { fail!(ip, internal("stack underflow")) };
                        *obj = tri!(ip, index_get(obj, &idx));
                    }
                    Op::SetIndex => {
                        gas += op.gas();
                        let v = self.pop();
                        let idx = self.pop();
                        let obj = self.pop();
                        tri!(ip, index_set(&obj, &idx, v));
                    }
                    Op::GetMember { name } => {
                        gas += op.gas();
                        let key = proto.consts.get(name as usize).cloned().unwrap_or(Value::Null);
                        let Some(obj) = self.stack.last_mut() else { fail!(ip, internal("stack underflow")) };
                        *obj = tri!(ip, member_get(obj, &key));
                    }
                    Op::SetMember { name } => {
                        gas += op.gas();
                        let key = proto.consts.get(name as usize).cloned().unwrap_or(Value::Null);
                        let v = self.pop();
                        let obj = self.pop();
                        tri!(ip, member_set(&obj, &key, v));
                    }
                    Op::Print { n } => {
                        gas += op.gas();
                        let start = self.stack.len().saturating_sub(n as usize);
                        let mut line = String::new();
                        for (i, v) in self.stack[start..].iter().enumerate() {
                            if i > 0 {
                                line.push(' ');
                            }
                            tri!(ip, value::display_into_capped(v, &mut line, max_alloc));
                        }
                        self.stack.truncate(start);
                        tri!(ip, self.write_line(&line));
                    }
                    Op::StateGet => {
                        gas += op.gas();
                        let key = self.pop();
                        let key = tri!(ip, state_key(&key));
                        let v = self.ledger.get(&key).map(chain::from_data).unwrap_or(Value::Null);
                        if let Some(obs) = self.observer.as_mut() {
                            obs.event(
                                gas,
                                &VmEvent::StateAccess { write: false, key: &key, depth: self.ledger.depth() },
                            );
                        }
                        self.stack.push(v);
                    }
                    Op::StateSet => {
                        gas += op.gas();
                        let v = self.pop();
                        let key = self.pop();
                        let key = tri!(ip, state_key(&key));
                        let data = tri!(ip, chain::to_data(&v));
                        if let Some(obs) = self.observer.as_mut() {
                            obs.event(
                                gas,
                                &VmEvent::StateAccess { write: true, key: &key, depth: self.ledger.depth() },
                            );
                        }
                        self.ledger.set(key, data);
                    }
                    Op::TxBegin => {
                        gas += op.gas();
                        tri!(ip, self.ledger.begin());
                        if let Some(obs) = self.observer.as_mut() {
                            obs.event(gas, &VmEvent::TxBegin { depth: self.ledger.depth() });
                        }
                    }
                    Op::TxCommit => {
                        gas += op.gas();
                        let keys = tri!(ip, self.ledger.commit());
                        if let Some(obs) = self.observer.as_mut() {
                            obs.event(gas, &VmEvent::TxCommit { depth: self.ledger.depth(), keys: &keys });
                        }
                    }
                    Op::TxRevert => {
                        gas += op.gas();
                        let keys = tri!(ip, self.ledger.revert());
                        if let Some(obs) = self.observer.as_mut() {
                            obs.event(gas, &VmEvent::TxRevert { depth: self.ledger.depth(), keys: &keys });
                        }
                        if self.interrupt.get() {
                            account!();
                            if let Some(f) = self.frames.last_mut() {
                                f.ip = ip;
                            }
                            self.counters.gas = gas;
                            *fuel = fuel_left;
                            return Exit::Fuel;
                        }
                    }
                    Op::Hash => {
                        gas += op.gas();
                        let v = self.pop();
                        let hex = tri!(ip, chain::hash_value(&v));
                        self.stack.push(Value::Str(Rc::new(hex)));
                    }
                    Op::Verify => {
                        gas += op.gas();
                        let msg = self.pop();
                        let cond = self.pop();
                        if !cond.truthy() {
                            let text = match &msg {
                                Value::Str(s) => s.to_string(),
                                other => chain::canon_value(other),
                            };
                            fail!(ip, VmError::new(ErrorKind::VerifyFailed, format!("VERIFY failed: {text}")));
                        }
                    }
                    Op::LoadLocal2 { a, b } => {
                        gas += op.gas();
                        for (part, slot) in [(0u8, a), (1, b)] {
                            let v = match self.stack.get(base + slot as usize) {
                                Some(Value::Int(x)) => Value::Int(*x),
                                Some(Value::Undef) | None => {
                                    fail!(ip, self.undefined(slot_name(&proto, slot)).in_part(part))
                                }
                                Some(v) => v.clone(),
                            };
                            self.stack.push(v);
                        }
                    }
                    Op::AddLocalImm { slot, imm } => {
                        gas += op.gas();
                        let at = base + slot as usize;
                        match self.stack.get_mut(at) {
                            Some(Value::Int(x)) => match x.checked_add(imm as i64) {
                                Some(r) => *x = r,
                                None => {
                                    fail!(ip, VmError::new(ErrorKind::IntegerOverflow, "integer overflow").in_part(2))
                                }
                            },
                            Some(Value::Undef) | None => {
                                fail!(ip, self.undefined(slot_name(&proto, slot)).in_part(0))
                            }
                            Some(other) => {
                                let r = tri!(
                                    ip,
                                    value::add(other, &Value::Int(imm as i64), max_alloc).map_err(|e| e.in_part(2))
                                );
                                *other = r;
                            }
                        }
                    }
                    Op::AddLocalLocal { dst, src } => {
                        gas += op.gas();
                        if let (Some(Value::Int(y)), true) = (self.stack.get(base + src as usize), src != dst) {
                            let y = *y;
                            if let Some(Value::Int(x)) = self.stack.get_mut(base + dst as usize) {
                                match x.checked_add(y) {
                                    Some(r) => *x = r,
                                    None => fail!(
                                        ip,
                                        VmError::new(ErrorKind::IntegerOverflow, "integer overflow").in_part(2)
                                    ),
                                }
                                continue;
                            }
                        }
                        // The unfused code reads `dst` first, so an undefined `dst` is reported first.
                        if let Some(Value::Undef) | None = self.stack.get(base + dst as usize) {
                            fail!(ip, self.undefined(slot_name(&proto, dst)).in_part(0))
                        }
                        let rhs = match self.stack.get(base + src as usize) {
                            Some(Value::Undef) | None => {
                                fail!(ip, self.undefined(slot_name(&proto, src)).in_part(1))
                            }
                            Some(v) => v.clone(),
                        };
                        match self.stack.get_mut(base + dst as usize) {
                            Some(Value::Undef) | None => {
                                fail!(ip, self.undefined(slot_name(&proto, dst)).in_part(0))
                            }
                            Some(lhs) => {
                                if let (Value::Int(x), Value::Int(y)) = (&*lhs, &rhs) {
                                    match x.checked_add(*y) {
                                        Some(r) => *lhs = Value::Int(r),
                                        None => fail!(
                                            ip,
                                            VmError::new(ErrorKind::IntegerOverflow, "integer overflow").in_part(2)
                                        ),
                                    }
                                } else {
                                    let r = tri!(ip, value::add(lhs, &rhs, max_alloc).map_err(|e| e.in_part(2)));
                                    *lhs = r;
                                }
                            }
                        }
                    }
                    Op::AddImm { imm } | Op::SubImm { imm } => {
                        gas += op.gas();
                        let Some(a) = self.stack.last_mut() else { fail!(ip, internal("stack underflow")) };
                        let add = matches!(op, Op::AddImm { .. });
                        if let Value::Int(x) = a {
                            let r = if add { x.checked_add(imm as i64) } else { x.checked_sub(imm as i64) };
                            match r {
                                Some(r) => *x = r,
                                None => {
                                    fail!(ip, VmError::new(ErrorKind::IntegerOverflow, "integer overflow").in_part(1))
                                }
                            }
                        } else {
                            let b = Value::Int(imm as i64);
                            let r = if add { value::add(a, &b, max_alloc) } else { value::sub(a, &b) };
                            *a = tri!(ip, r.map_err(|e| e.in_part(1)));
                        }
                    }
                    Op::JumpIfNotLt { target }
                    | Op::JumpIfNotLe { target }
                    | Op::JumpIfNotGt { target }
                    | Op::JumpIfNotGe { target } => {
                        gas += op.gas();
                        let b = self.pop();
                        let a = self.pop();
                        let holds = match (&a, &b) {
                            (Value::Int(x), Value::Int(y)) => {
                                let r = match op {
                                    Op::JumpIfNotLt { .. } => x < y,
                                    Op::JumpIfNotLe { .. } => x <= y,
                                    Op::JumpIfNotGt { .. } => x > y,
                                    _ => x >= y,
                                };
                                std::mem::forget(a);
                                std::mem::forget(b);
                                r
                            }
                            _ => {
                                let r = tri!(ip, ordered(fused_compare(op), &a, &b));
                                discard(a);
                                discard(b);
                                r
                            }
                        };
                        if !holds {
                            jump!(target as usize);
                        }
                    }
                    Op::BranchLocals { cmp, a, b, target } => {
                        gas += op.gas();
                        let holds = match (self.stack.get(base + a as usize), self.stack.get(base + b as usize)) {
                            (Some(Value::Int(x)), Some(Value::Int(y))) => cmp.ints(*x, *y),
                            (Some(Value::Undef) | None, _) => {
                                fail!(ip, self.undefined(slot_name(&proto, a)).in_part(0))
                            }
                            (_, Some(Value::Undef) | None) => {
                                fail!(ip, self.undefined(slot_name(&proto, b)).in_part(1))
                            }
                            (Some(x), Some(y)) => tri!(ip, ordered(cmp.op(), x, y).map_err(|e| e.in_part(2))),
                        };
                        if !holds {
                            jump!(target as usize);
                        }
                    }
                    Op::BranchLocalImm { cmp, a, imm, target } => {
                        gas += op.gas();
                        let holds = match self.stack.get(base + a as usize) {
                            Some(Value::Int(x)) => cmp.ints(*x, imm as i64),
                            Some(Value::Undef) | None => fail!(ip, self.undefined(slot_name(&proto, a)).in_part(0)),
                            Some(x) => {
                                tri!(ip, ordered(cmp.op(), x, &Value::Int(imm as i64)).map_err(|e| e.in_part(2)))
                            }
                        };
                        if !holds {
                            jump!(target as usize);
                        }
                    }
                    Op::JumpIfNotEq { target } | Op::JumpIfNotNe { target } => {
                        gas += op.gas();
                        let b = self.pop();
                        let a = self.pop();
                        let eq = match (&a, &b) {
                            (Value::Int(x), Value::Int(y)) => x == y,
                            _ => tri!(ip, value::values_equal(&a, &b)),
                        };
                        if eq != matches!(op, Op::JumpIfNotEq { .. }) {
                            jump!(target as usize);
                        }
                    }
                }
            }
        }
    }

    fn upvalue(&self, base: usize, idx: u16) -> Option<value::CellRef> {
        match self.stack.get(base.checked_sub(1)?) {
            Some(Value::Func(c)) => c.upvalues.get(idx as usize).cloned(),
            _ => None,
        }
    }

    /// Enters `callee` whose arguments are the `argc` values above `callee_at`.
    #[inline(always)]
    fn push_frame(&mut self, callee: Rc<Proto>, callee_at: usize, argc: u16) -> OpResult<()> {
        if callee.arity != argc {
            return Err(VmError::new(
                ErrorKind::WrongArgumentCount,
                format!(
                    "wrong number of arguments: {}() takes {} but {} were given",
                    callee.display_name(),
                    callee.arity,
                    argc
                ),
            ));
        }
        let depth = self.frames.len();
        if depth > self.config.max_depth {
            return Err(VmError::new(
                ErrorKind::StackOverflow,
                format!("stack overflow: more than {} nested calls", self.config.max_depth),
            ));
        }
        let base = callee_at + 1;
        let top = base + callee.n_slots as usize;
        if top > self.stack.len() {
            self.stack.resize(top, Value::Undef);
        }
        for &slot in &callee.cell_slots {
            let at = base + slot as usize;
            let inner = std::mem::take(&mut self.stack[at]);
            let inner = if (slot as usize) < argc as usize { inner } else { Value::Undef };
            self.stack[at] = Value::Cell(Rc::new(RefCell::new(inner)));
        }
        self.counters.calls += 1;
        if depth > self.counters.max_depth {
            self.counters.max_depth = depth;
        }
        if self.stack.len() > self.counters.max_stack {
            self.counters.max_stack = self.stack.len();
        }
        if let Some(obs) = self.observer.as_mut() {
            let args = &self.stack[base..base + argc as usize];
            obs.event(self.counters.gas, &VmEvent::Call { proto: &callee, depth, args });
        }
        self.frames.push(Frame { proto: callee, ip: 0, base });
        Ok(())
    }

    /// A loop's back-edge crossed the hot threshold, or the loop has native code.
    #[cold]
    fn hot_loop(&mut self, proto: &Rc<Proto>, loop_id: u16, base: usize, fuel: &mut u64) {
        let Some(counter) = proto.loop_counters.get(loop_id as usize) else {
            return;
        };
        if !counter.decided.get() {
            counter.decided.set(true);
            if let Some(obs) = self.observer.as_mut() {
                obs.event(
                    self.counters.gas,
                    &VmEvent::LoopHot { proto, loop_id, iterations: counter.iterations.get() },
                );
            }
            let compiled = match self.jit.as_mut() {
                Some(jit) => jit.compile(proto, loop_id, &self.stack, base),
                None => false,
            };
            counter.compiled.set(compiled);
        }
        if !counter.compiled.get() || *fuel == 0 || self.interrupt.get() {
            return;
        }
        let Some(jit) = self.jit.as_mut() else { return };
        let (exit, run) = jit.run(proto, loop_id, &mut self.stack, base, *fuel);
        self.counters.jit_entries += 1;
        self.counters.jit_instructions += run.instructions;
        self.counters.gas += run.gas;
        // The native code's instructions are counted by `run` through the fuel it consumed.
        *fuel = fuel.saturating_sub(run.instructions);
        let pc = match exit {
            LoopExit::Resume { pc } | LoopExit::OutOfFuel { pc } => pc,
        };
        if let Some(f) = self.frames.last_mut() {
            f.ip = pc as usize;
        }
    }
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

fn frame_ip_plus_one(frames: &[Frame]) -> usize {
    frames.last().map(|f| f.ip + 1).unwrap_or(0)
}

fn slot_name(proto: &Proto, slot: u16) -> &str {
    proto.slot_names.get(slot as usize).map(String::as_str).unwrap_or("?")
}

fn fused_compare(op: Op) -> Op {
    match op {
        Op::JumpIfNotLt { .. } => Op::Lt,
        Op::JumpIfNotLe { .. } => Op::Le,
        Op::JumpIfNotGt { .. } => Op::Gt,
        _ => Op::Ge,
    }
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
    let sym = match op {
        Op::Lt => "<",
        Op::Le => "<=",
        Op::Gt => ">",
        _ => ">=",
    };
    let ord = value::compare(a, b, sym)?;
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

fn index_get(obj: &Value, idx: &Value) -> OpResult<Value> {
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
        (other, _) => Err(type_err(format!("cannot index {}", other.type_name()))),
    }
}

fn index_set(obj: &Value, idx: &Value, v: Value) -> OpResult<()> {
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
        (other, _) => Err(type_err(format!("cannot index-assign into {}", other.type_name()))),
    }
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

fn state_key(key: &Value) -> OpResult<String> {
    match key {
        Value::Str(s) => Ok(s.to_string()),
        other => Err(VmError::new(ErrorKind::State, format!("STATE key must be a string, got {}", other.type_name()))),
    }
}
