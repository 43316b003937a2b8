//! Runtime errors: a small error value raised by operations, and the located error that
//! leaves the VM (message, span of the failing instruction, Zexus traceback).

use crate::diag::{Diagnostic, TraceFrame};
use crate::syntax::span::Span;

/// Category of a runtime error; the message carries the details.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// `x / 0`, `x % 0`.
    DivisionByZero,
    /// Reading a name that has no value.
    UndefinedVariable,
    /// Calling something that is not a function.
    NotCallable,
    /// List or string index outside the valid range; `pop()` on an empty list.
    IndexOutOfRange,
    /// Argument count differs from parameter count.
    WrongArgumentCount,
    /// Operator or builtin applied to the wrong types.
    TypeError,
    /// Assignment to a `const`.
    ConstAssign,
    /// `int("x")`, `float("x")`.
    CannotConvert,
    /// 64-bit integer overflow.
    IntegerOverflow,
    /// Call depth limit exceeded.
    StackOverflow,
    /// A list or map that contains itself was printed, compared, hashed or stored.
    CyclicValue,
    /// A string or list larger than the memory cap.
    OutOfMemory,
    /// The `--max-steps` limit was reached.
    StepLimit,
    /// Gas limit exceeded (BLOCKCHAIN.md §7).
    OutOfGas,
    /// A failed `VERIFY`.
    VerifyFailed,
    /// Transaction misuse: commit/revert without a transaction, nesting too deep.
    Transaction,
    /// A STATE key or value of the wrong kind.
    State,
    /// `min([])`, `max([])`, `reduce([], f)` (DIALECT.md §13).
    EmptyList,
    /// A value raised by `throw` (ERRORS.md §3).
    Thrown,
    /// A failed `require` (ERRORS.md §5.1).
    RequireFailed,
    /// `revert` (ERRORS.md §5.2).
    Reverted,
    /// The program does not compile. Never raised by the VM: the debugger's view of a build
    /// that failed (a syntax error, a missing module), shown until a restart builds.
    Compile,
}

/// An error raised by an operation, not yet located in the source.
#[derive(Debug, Clone, PartialEq)]
pub struct VmError {
    /// The category.
    pub kind: ErrorKind,
    /// The full message, e.g. `division by zero`.
    pub message: String,
    /// For superinstructions: which replaced instruction failed (index into its part spans).
    pub part: Option<u8>,
}

impl VmError {
    /// The same error, attributed to part `part` of a superinstruction.
    pub fn in_part(mut self, part: u8) -> VmError {
        self.part = Some(part);
        self
    }

    /// A new error.
    #[cold]
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> VmError {
        VmError { kind, message: message.into(), part: None }
    }
}

/// A runtime error located at the failing instruction, with the Zexus call stack.
#[derive(Debug, Clone, PartialEq)]
pub struct RuntimeError {
    /// The category.
    pub kind: ErrorKind,
    /// The message.
    pub message: String,
    /// Span of the failing operator, call, index or name.
    pub span: Span,
    /// Frames from the outermost call to the innermost, each with its call site.
    pub traceback: Vec<TraceFrame>,
}

impl RuntimeError {
    /// The error as a diagnostic ready for rendering.
    pub fn to_diagnostic(&self) -> Diagnostic {
        let mut diag = Diagnostic::error("E0301", self.message.clone(), self.span);
        diag.traceback = self.traceback.clone();
        diag
    }
}

impl std::fmt::Display for RuntimeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}
