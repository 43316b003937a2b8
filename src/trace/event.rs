//! The engine-level event stream: one enum for everything the pipeline, the VM, the JIT and
//! the cache report, serializable as the `{"type": ..., "data": ...}` envelope of the JSON
//! Lines export.

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

use crate::bytecode::op::Op;
use crate::text;
use crate::vm::error::ErrorKind;
use crate::vm::value::Value;

/// Index of a function in the linked program (`Proto::id`); 0 is the top level.
pub type FuncId = u32;

/// A stage of the pipeline that runs before the VM (JIT compilations have their own events).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Tokenizing alone (measured by a separate pass; the parser lexes on the fly).
    Lex,
    /// Lexing and parsing to the AST.
    Parse,
    /// AST to bytecode.
    Compile,
    /// The optimizer passes.
    Optimize,
    /// Linking the chunks into a runnable program.
    Link,
}

impl Phase {
    /// The phase's name, as in the JSON forms.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Lex => "lex",
            Phase::Parse => "parse",
            Phase::Compile => "compile",
            Phase::Optimize => "optimize",
            Phase::Link => "link",
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunOutcome {
    /// The program ran to its end.
    Finished,
    /// The program failed with a runtime error.
    Error,
    /// The caller stopped running it (instruction budget, user interrupt).
    Stopped,
}

/// How an external action call (one transaction, CONTRACTS.md §6) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionOutcome {
    /// The callee returned and its transaction committed.
    Committed,
    /// An error left the callee and its transaction was rolled back.
    Reverted,
}

impl ActionOutcome {
    /// `committed` / `reverted`.
    pub fn name(self) -> &'static str {
        match self {
            ActionOutcome::Committed => "committed",
            ActionOutcome::Reverted => "reverted",
        }
    }
}

/// The arguments of a call, borrowed from the VM's stack; serialized (and summarized) only
/// when a listener asks, as a map from parameter name to a short rendering of the value.
#[derive(Debug, Clone, Copy)]
pub struct ArgList<'a> {
    /// Parameter names (may be shorter than `values` for malformed programs).
    pub names: &'a [String],
    /// Argument values.
    pub values: &'a [Value],
}

impl<'a> ArgList<'a> {
    /// An empty argument list.
    pub const EMPTY: ArgList<'static> = ArgList { names: &[], values: &[] };

    /// `(name, rendering)` pairs; unnamed arguments are called `argN`.
    pub fn pairs(&self) -> impl Iterator<Item = (String, String)> + 'a {
        let names = self.names;
        self.values.iter().enumerate().map(move |(i, v)| {
            let name = names.get(i).cloned().unwrap_or_else(|| format!("arg{i}"));
            (name, summarize_value(v, ARG_TEXT_LIMIT))
        })
    }

    /// The arguments as one short line, e.g. `n=20, xs=list(len=3)`.
    pub fn summary(&self) -> String {
        let parts: Vec<String> = self.pairs().map(|(n, v)| format!("{n}={v}")).collect();
        parts.join(", ")
    }
}

impl Serialize for ArgList<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.values.len()))?;
        for (name, value) in self.pairs() {
            map.serialize_entry(&name, &value)?;
        }
        map.end()
    }
}

/// A value shown in an event, serialized as a bounded rendering (as arguments are).
#[derive(Debug, Clone, Copy)]
pub struct ValueText<'a>(pub &'a Value);

impl ValueText<'_> {
    /// The bounded rendering.
    pub fn text(&self) -> String {
        summarize_value(self.0, ARG_TEXT_LIMIT)
    }
}

impl Serialize for ValueText<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text())
    }
}

/// STATE keys touched by a commit or rollback, serialized as a list of at most
/// [`KEY_LIST_LIMIT`] keys.
#[derive(Debug, Clone, Copy)]
pub struct KeyList<'a>(pub &'a [String]);

/// Most keys a serialized [`KeyList`] shows.
pub const KEY_LIST_LIMIT: usize = 16;

impl Serialize for KeyList<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let shown = self.0.len().min(KEY_LIST_LIMIT);
        let mut seq = serializer.serialize_seq(Some(shown))?;
        for key in self.0.iter().take(shown) {
            seq.serialize_element(key)?;
        }
        seq.end()
    }
}

fn serialize_op_name<S: Serializer>(op: &Op, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(op.name())
}

/// Longest rendering of one argument value, in characters.
pub const ARG_TEXT_LIMIT: usize = 40;

/// A short, bounded, side-effect-free rendering of a value: scalars as in `print`, strings in
/// repr form cut at `limit` characters, containers and functions by kind and size only.
pub fn summarize_value(v: &Value, limit: usize) -> String {
    let mut out = String::new();
    match v {
        Value::Undef => out.push_str("undefined"),
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => out.push_str(&i.to_string()),
        Value::Float(f) => text::format_float(*f, &mut out),
        Value::Builtin(_) => out.push_str("<builtin>"),
        Value::Module(m) => out.push_str(&format!("<module {}>", m.name)),
        Value::Str(s) => {
            let cut: String = s.chars().take(limit).collect();
            text::repr_str(&cut, &mut out);
            if cut.len() < s.len() {
                out.push('…');
            }
        }
        Value::List(l) => match l.try_borrow() {
            Ok(items) => out.push_str(&format!("list(len={})", items.len())),
            Err(_) => out.push_str("list"),
        },
        Value::Map(m) => match m.try_borrow() {
            Ok(entries) => out.push_str(&format!("map(len={})", entries.len())),
            Err(_) => out.push_str("map"),
        },
        Value::Func(c) => out.push_str(&format!("<action {}>", c.proto.display_name())),
        Value::Cell(c) => match c.try_borrow() {
            Ok(inner) if !matches!(&*inner, Value::Cell(_)) => return summarize_value(&inner, limit),
            _ => out.push_str("<cell>"),
        },
        Value::Obj(o) => out.push_str(&crate::vm::value::obj_label(o)),
    }
    out
}

/// One event of the stream. Borrowed data lives only for the call that delivers the event;
/// a listener that keeps anything copies it.
///
/// Serialized adjacently tagged: `{"type": "call", "data": {"func": 1, ...}}`. Field names
/// are part of the JSON Lines contract (see the module documentation of `trace`).
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
pub enum TraceEvent<'a> {
    /// A pipeline phase started.
    PhaseBegin {
        /// Which phase.
        phase: Phase,
    },
    /// A pipeline phase ended.
    PhaseEnd {
        /// Which phase.
        phase: Phase,
    },
    /// One optimizer pass finished (figures summed over all functions).
    OptPass {
        /// Pass name (`fold`, `dce`, `peephole`).
        pass: &'a str,
        /// Instructions removed.
        removed: u64,
        /// Constant expressions folded.
        folded: u64,
        /// Jumps retargeted or removed.
        jumps_threaded: u64,
        /// Superinstructions formed.
        fused: u64,
        /// Constant conditions resolved.
        branches_resolved: u64,
    },
    /// The program is about to run (the top-level code is function 0, `<main>`).
    RunStart,
    /// The run ended.
    RunEnd {
        /// How it ended.
        outcome: RunOutcome,
        /// Instructions executed in total.
        instructions: u64,
        /// Gas used in total.
        gas: u64,
    },
    /// About to execute one instruction (only delivered when some listener wants
    /// instructions; carries the timestamp of the previous timed event).
    Instr {
        /// The running function.
        func: FuncId,
        /// Index of the instruction in that function.
        pc: u32,
        /// Call depth (0 is the top level).
        depth: u32,
        /// The instruction (serialized as its opcode name, as in listings).
        #[serde(serialize_with = "serialize_op_name")]
        op: Op,
    },
    /// A user function was entered.
    Call {
        /// The callee.
        func: FuncId,
        /// Its display name.
        name: &'a str,
        /// Depth of the new frame (the top level is 0, its callees 1).
        depth: u32,
        /// Gas used so far.
        gas: u64,
        /// Instructions executed so far (the call included).
        instructions: u64,
        /// The arguments.
        args: ArgList<'a>,
    },
    /// A user function returned.
    Return {
        /// The function returning.
        func: FuncId,
        /// Its display name.
        name: &'a str,
        /// Depth of the frame being left.
        depth: u32,
        /// Gas used so far.
        gas: u64,
        /// Instructions executed so far (the return included).
        instructions: u64,
    },
    /// The program failed; every open activation ends here.
    Error {
        /// Error category.
        kind: ErrorKind,
        /// The message.
        message: &'a str,
        /// Depth of the failing frame.
        depth: u32,
        /// Gas used so far.
        gas: u64,
        /// Instructions executed so far.
        instructions: u64,
    },
    /// A catchable error is about to be handled by a `catch` or `finally` (ERRORS.md): the
    /// frames between the raising one and the handler's are unwound after this event.
    Caught {
        /// The error's message (`Requirement failed: ...`; for a `throw`, `uncaught exception`,
        /// with the value in `thrown`).
        message: &'a str,
        /// The value of a `throw`, if the error is one.
        thrown: Option<ValueText<'a>>,
        /// The function that raised it.
        func: FuncId,
        /// The raising instruction.
        pc: u32,
        /// Depth of the raising frame.
        from_depth: u32,
        /// Depth of the frame whose handler runs.
        to_depth: u32,
        /// True if a finally body (not a catch) receives it.
        finally: bool,
        /// Instructions executed so far (the raising one included).
        instructions: u64,
    },
    /// The program printed a line (without its newline).
    Print {
        /// The text.
        text: &'a str,
    },
    /// A loop crossed the hot threshold.
    LoopHot {
        /// The function holding the loop.
        func: FuncId,
        /// Index into the function's loop table.
        loop_id: u16,
        /// Back-edges taken so far.
        iterations: u64,
    },
    /// The JIT started compiling a loop.
    JitCompileStart {
        /// The function holding the loop.
        func: FuncId,
        /// The loop.
        loop_id: u16,
    },
    /// The JIT finished compiling a loop (successfully or not).
    JitCompileEnd {
        /// The function holding the loop.
        func: FuncId,
        /// The loop.
        loop_id: u16,
        /// True if native code now exists for it.
        compiled: bool,
        /// Bytes of native code generated.
        native_bytes: u64,
        /// Why compilation was refused, if it was.
        reason: Option<&'a str>,
    },
    /// Native code left through a guard and the interpreter resumed.
    JitBailout {
        /// The function holding the loop.
        func: FuncId,
        /// The loop.
        loop_id: u16,
        /// Where the interpreter resumes.
        pc: u32,
        /// Which guard failed (type, overflow, unsupported instruction...).
        reason: &'a str,
    },
    /// One entry into a compiled loop's native code ended (by leaving the loop, a bail-out or
    /// the end of its fuel); emitted after the run, so its instructions are already in the
    /// counts of the next event that carries them. The flame graph tells interpreted from
    /// native work with it.
    NativeRun {
        /// The function holding the loop.
        func: FuncId,
        /// The loop.
        loop_id: u16,
        /// Bytecode instructions the native code stood for.
        instructions: u64,
        /// Nanoseconds the native code ran.
        ns: u64,
    },
    /// The bytecode cache had the program.
    CacheHit {
        /// The cache key (hash of the AST).
        key: u64,
    },
    /// The bytecode cache did not have the program.
    CacheMiss {
        /// The cache key (hash of the AST).
        key: u64,
    },
    /// A transaction was opened; `depth` is the nesting after it.
    TxBegin {
        /// Transaction depth after the instruction.
        depth: u32,
    },
    /// The innermost transaction was committed.
    TxCommit {
        /// Transaction depth after the instruction.
        depth: u32,
        /// Keys merged (at most [`KEY_LIST_LIMIT`] shown when serialized).
        keys: KeyList<'a>,
    },
    /// The innermost transaction was rolled back (`TX_REVERT`).
    TxRollback {
        /// Transaction depth after the instruction.
        depth: u32,
        /// Keys discarded (at most [`KEY_LIST_LIMIT`] shown when serialized).
        keys: KeyList<'a>,
    },
    /// An external action call (or a construction, `C.<new>`) began: its implicit
    /// transaction is open and its callee is about to be entered (the `call` event follows).
    ActionCall {
        /// The callee (an action, or a construction's `C.<members>`).
        func: FuncId,
        /// `Contract.action` (`Contract.<new>` for a construction).
        name: &'a str,
        /// Depth of the callee's frame.
        depth: u32,
        /// Transaction depth inside the call.
        tx_depth: u32,
        /// Gas used so far (the implicit begin included).
        gas: u64,
        /// Instructions executed so far (the call included).
        instructions: u64,
    },
    /// An external action call ended: committed after its return, or reverted by an error.
    ActionEnd {
        /// The callee.
        func: FuncId,
        /// `Contract.action`.
        name: &'a str,
        /// Depth of the callee's frame.
        depth: u32,
        /// Committed or reverted.
        outcome: ActionOutcome,
        /// Gas the call used, its implicit begin and commit included.
        gas_used: u64,
        /// Instructions the call executed (the instructions of every frame it entered).
        instructions: u64,
    },
    /// STATE was read or written.
    StateAccess {
        /// True for a write.
        write: bool,
        /// The key.
        key: &'a str,
        /// Transaction depth.
        depth: u32,
    },
    /// A sample of the run's counters (the engine emits one every few thousand instructions,
    /// and at the start and end of the run); this is the gas event.
    Counters {
        /// Instructions executed so far.
        instructions: u64,
        /// Gas used so far.
        gas: u64,
        /// The gas limit, if any.
        gas_limit: Option<u64>,
        /// Current call depth.
        depth: u32,
    },
}

impl TraceEvent<'_> {
    /// The event's `type` tag as serialized.
    pub fn kind(&self) -> &'static str {
        match self {
            TraceEvent::PhaseBegin { .. } => "phase_begin",
            TraceEvent::PhaseEnd { .. } => "phase_end",
            TraceEvent::OptPass { .. } => "opt_pass",
            TraceEvent::RunStart => "run_start",
            TraceEvent::RunEnd { .. } => "run_end",
            TraceEvent::Instr { .. } => "instr",
            TraceEvent::Call { .. } => "call",
            TraceEvent::Return { .. } => "return",
            TraceEvent::Error { .. } => "error",
            TraceEvent::Caught { .. } => "caught",
            TraceEvent::Print { .. } => "print",
            TraceEvent::LoopHot { .. } => "loop_hot",
            TraceEvent::JitCompileStart { .. } => "jit_compile_start",
            TraceEvent::JitCompileEnd { .. } => "jit_compile_end",
            TraceEvent::JitBailout { .. } => "jit_bailout",
            TraceEvent::NativeRun { .. } => "native_run",
            TraceEvent::CacheHit { .. } => "cache_hit",
            TraceEvent::CacheMiss { .. } => "cache_miss",
            TraceEvent::TxBegin { .. } => "tx_begin",
            TraceEvent::TxCommit { .. } => "tx_commit",
            TraceEvent::TxRollback { .. } => "tx_rollback",
            TraceEvent::ActionCall { .. } => "action_call",
            TraceEvent::ActionEnd { .. } => "action_end",
            TraceEvent::StateAccess { .. } => "state_access",
            TraceEvent::Counters { .. } => "counters",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::rc::Rc;

    #[test]
    fn events_serialize_in_the_envelope() {
        let names = vec!["n".to_string()];
        let values = vec![Value::Int(20)];
        let ev = TraceEvent::Call {
            func: 1,
            name: "fib",
            depth: 1,
            gas: 7,
            instructions: 12,
            args: ArgList { names: &names, values: &values },
        };
        let json = serde_json::to_string(&ev).unwrap_or_default();
        assert_eq!(
            json,
            r#"{"type":"call","data":{"func":1,"name":"fib","depth":1,"gas":7,"instructions":12,"args":{"n":"20"}}}"#
        );
        assert_eq!(ev.kind(), "call");
        let json = serde_json::to_string(&TraceEvent::RunStart).unwrap_or_default();
        assert_eq!(json, r#"{"type":"run_start"}"#);
    }

    #[test]
    fn values_are_summarized_briefly() {
        assert_eq!(summarize_value(&Value::Float(2.0), 10), "2.0");
        let long = Value::Str(Rc::new("abcdefghijkl".to_string()));
        assert_eq!(summarize_value(&long, 4), "\"abcd\"…");
        let list = Value::list(vec![Value::Null, Value::Bool(true)]);
        assert_eq!(summarize_value(&list, 10), "list(len=2)");
        let args = ArgList { names: &[], values: &[Value::Int(1), Value::Null] };
        assert_eq!(args.summary(), "arg0=1, arg1=null");
    }
}
