//! The VM's outward-facing hooks: events for observers (profiler, tracer, debugger) and the
//! trait through which the engine installs the JIT without the VM importing it.

use std::rc::Rc;

use super::error::RuntimeError;
use super::program::Proto;
use super::value::Value;

/// What happened inside the VM. Emitted only when an observer is attached; instruction events
/// only when the observer asks for them.
#[derive(Debug, Clone)]
pub enum VmEvent<'a> {
    /// About to execute instruction `pc` of `proto` at call depth `depth`.
    Instr { proto: &'a Rc<Proto>, pc: u32, depth: usize },
    /// A user function was entered; `args` are its arguments; `instructions` were executed
    /// before it (the call included).
    Call { proto: &'a Rc<Proto>, depth: usize, args: &'a [Value], instructions: u64 },
    /// A user function returned; `instructions` were executed up to here (the return
    /// included).
    Return { proto: &'a Rc<Proto>, depth: usize, instructions: u64 },
    /// A line was printed (without its newline).
    Print { text: &'a str },
    /// A loop crossed the hot threshold.
    LoopHot { proto: &'a Rc<Proto>, loop_id: u16, iterations: u64 },
    /// A transaction was opened; `depth` is the depth after the opcode.
    TxBegin { depth: usize },
    /// A transaction was committed; `keys` were merged.
    TxCommit { depth: usize, keys: &'a [String] },
    /// A transaction was reverted; `keys` were discarded.
    TxRevert { depth: usize, keys: &'a [String] },
    /// STATE was read or written.
    StateAccess { write: bool, key: &'a str, depth: usize },
    /// The program failed; `depth` is the call depth of the failing frame. Frames are not
    /// popped afterwards, so observers close every open activation here.
    Error { error: &'a RuntimeError, depth: usize, instructions: u64 },
    /// A catchable error raised by instruction `pc` of `proto` at depth `from_depth` is about
    /// to be handled by a `catch` (or, with `finally`, a finally body) at depth `to_depth`;
    /// the frames above it are still there. `thrown` is the value of a `throw`;
    /// `instructions` counts the raising instruction.
    Caught {
        error: &'a RuntimeError,
        thrown: Option<&'a Value>,
        proto: &'a Rc<Proto>,
        pc: u32,
        from_depth: usize,
        to_depth: usize,
        finally: bool,
        instructions: u64,
    },
}

/// A listener for [`VmEvent`]s.
pub trait Observer {
    /// Receives one event.
    fn event(&mut self, vm_gas: u64, event: &VmEvent<'_>);
    /// Whether the observer wants an event before every instruction (slow; for tracing and
    /// exact per-instruction counts).
    fn wants_instructions(&self) -> bool {
        false
    }
}

/// How a compiled loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoopExit {
    /// Resume interpretation at `pc` (the loop exited, or a guard failed there).
    Resume { pc: u32 },
    /// The fuel given to the native code ran out; resume at `pc`.
    OutOfFuel { pc: u32 },
}

/// Counts reported by native code so that steps and gas stay exact.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoopRun {
    /// Bytecode instructions the native code stood for.
    pub instructions: u64,
    /// Gas those instructions cost.
    pub gas: u64,
}

/// The JIT as the VM sees it (installed by the engine).
pub trait LoopCompiler {
    /// Loop `loop_id` of `proto` became hot: try to compile it, speculating on the values the
    /// frame (slot 0 at `base` of the value `stack`) holds now. Returns true if native code
    /// now exists for it.
    fn compile(&mut self, proto: &Rc<Proto>, loop_id: u16, stack: &[Value], base: usize) -> bool;
    /// Runs the compiled loop from its header (see [`LoopCall`]). Never called for a loop `compile` refused; may clear the
    /// loop's `compiled` flag to blacklist it.
    fn run(&mut self, call: LoopCall<'_>) -> (LoopExit, LoopRun);
}

/// One entry into a compiled loop: loop `loop_id` of `proto`, on the frame at `base` of the
/// value `stack` (globals at its bottom, its last element the top), with at most `fuel`
/// instructions; operands the interpreter expects at the exit pc go to `pending`, bottom first.
#[derive(Debug)]
pub struct LoopCall<'a> {
    /// The function whose loop runs.
    pub proto: &'a Rc<Proto>,
    /// Which of its loops.
    pub loop_id: u16,
    /// The value stack up to its top.
    pub stack: &'a mut [Value],
    /// Where the frame's slot 0 is.
    pub base: usize,
    /// Instructions the native code may run.
    pub fuel: u64,
    /// Operands for the interpreter to push before it resumes.
    pub pending: &'a mut Vec<Value>,
    /// `None` for an entry from the interpreter at the loop header; `Some(pc)` to go on where
    /// the previous run left at fuel checkpoint `pc` (`LoopExit::OutOfFuel`), with nothing
    /// interpreted since: the same entry, continued.
    pub resume: Option<u32>,
}
