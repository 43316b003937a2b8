//! Raising and catching (ERRORS.md): the semantics of the error opcodes and the unwinder that
//! moves a located error to the innermost handler of the exception tables, across frames.
//!
//! The dispatch loop knows nothing of handlers: an error leaves it as usual (located once, on
//! the way out), and [`Vm::unwind`] then looks the failing pc up in the running function's
//! table, then each caller's call site in its own, discards the frames in between, reverts
//! the transactions opened since the handling `try` began, pushes the error value (or, for a
//! finally body, a token for the pending error) and lets the loop resume at the handler. A
//! `try` that raises nothing therefore costs its two bookkeeping instructions and no more.
//!
//! At most one error is in flight at a time; the value a `throw` raised travels next to it in
//! [`ErrorState::thrown`]. Errors waiting for their finally body to end are kept in
//! [`ErrorState::pending`], found again by the token `RERAISE` pops.

use std::collections::HashMap;
use std::rc::Rc;

use super::{Vm, release};
use crate::bytecode::handlers::{self, HandlerKind};
use crate::vm::error::{ErrorKind, RuntimeError, VmError};
use crate::vm::hooks::VmEvent;
use crate::vm::value::{self, Value};

/// An error whose finally body is running.
#[derive(Debug, Clone)]
struct PendingError {
    /// The token the finally body holds.
    token: i64,
    /// The error with its original location and traceback.
    error: RuntimeError,
    /// The thrown value, for a `throw`.
    thrown: Option<Value>,
}

/// The unwinder's state in the VM.
#[derive(Debug, Default)]
pub(super) struct ErrorState {
    /// The value of the `throw` whose error is leaving the dispatch loop.
    thrown: Option<Value>,
    /// A pending error raised again by `RERAISE` (replaces the placeholder error it fails with).
    reraised: Option<PendingError>,
    /// Errors whose finally bodies run, by the handling frame's base and the handler's pc (at
    /// most one per finally body and frame, so a finally body that raises its own error leaves
    /// nothing behind for long).
    pending: HashMap<(usize, u32), PendingError>,
    /// The last token handed out.
    last_token: i64,
}

/// True for the resource limits of ERRORS.md §8, which no handler catches.
pub fn is_fatal(kind: ErrorKind) -> bool {
    matches!(kind, ErrorKind::StackOverflow | ErrorKind::OutOfGas | ErrorKind::StepLimit | ErrorKind::OutOfMemory)
}

/// The message of an uncaught thrown value: `uncaught exception: ` and its display form.
fn uncaught_message(v: &Value) -> String {
    let shown = value::display(v).unwrap_or_else(|_| "<cyclic value>".to_string());
    format!("uncaught exception: {shown}")
}

/// The message of `require` / `revert`: `head`, then `: ` and the display form of the message.
fn with_message(head: &str, msg: Option<&Value>) -> Result<String, VmError> {
    match msg {
        None => Ok(head.to_string()),
        Some(v) => Ok(format!("{head}: {}", value::display(v)?)),
    }
}

impl Vm {
    /// `THROW`: the error that leaves the dispatch loop for the thrown value `v`.
    #[cold]
    pub(super) fn op_throw(&mut self, v: Value) -> VmError {
        self.errs.thrown = Some(v);
        VmError::new(ErrorKind::Thrown, "uncaught exception")
    }

    /// `REQUIRE`: `Ok` when `cond` is truthy, else `Requirement failed[: msg]`.
    pub(super) fn op_require(cond: &Value, msg: Option<&Value>) -> Result<(), VmError> {
        if cond.truthy() {
            return Ok(());
        }
        require_failed(msg)
    }

    /// `REVERT`: always `Transaction reverted[: msg]`.
    #[cold]
    pub(super) fn op_revert(msg: Option<&Value>) -> VmError {
        match with_message("Transaction reverted", msg) {
            Ok(text) => VmError::new(ErrorKind::Reverted, text),
            Err(e) => e,
        }
    }

    /// `RERAISE`: the pending error of token `token`, raised again as it was.
    #[cold]
    pub(super) fn op_reraise(&mut self, token: &Value) -> VmError {
        let Value::Int(token) = *token else {
            return VmError::new(ErrorKind::TypeError, "internal error: RERAISE without a pending error");
        };
        let key = self.errs.pending.iter().find(|(_, p)| p.token == token).map(|(k, _)| *k);
        match key.and_then(|k| self.errs.pending.remove(&k)) {
            Some(p) => {
                let placeholder = VmError::new(p.error.kind, p.error.message.clone());
                self.errs.reraised = Some(p);
                placeholder
            }
            None => VmError::new(ErrorKind::TypeError, "internal error: RERAISE without a pending error"),
        }
    }

    /// The open external calls (CONTRACTS.md §6), outermost first: the index in `frames` of
    /// each callee's frame and the transaction depth inside the call (for the debugger).
    pub fn external_calls(&self) -> Vec<(usize, usize)> {
        self.action_calls.iter().filter(|c| c.is_transaction()).map(|c| (c.depth, c.floor + 1)).collect()
    }

    /// Moves the error `err` that just left the dispatch loop to its handler. Returns `None`
    /// when a handler will run (the loop resumes there), or the error, complete with its
    /// message, when nothing catches it; open transactions are then all reverted.
    #[cold]
    pub(super) fn unwind(&mut self, err: RuntimeError) -> Option<RuntimeError> {
        let (err, thrown) = match self.errs.reraised.take() {
            Some(p) => (p.error, p.thrown),
            None => (err, self.errs.thrown.take()),
        };
        if !is_fatal(err.kind) {
            for i in (0..self.frames.len()).rev() {
                let frame = &self.frames[i];
                let pc = frame.ip.saturating_sub(1) as u32;
                if let Some(h) = handlers::find(&frame.proto.handlers, pc).copied() {
                    self.report_caught(i, h, &err, thrown.as_ref());
                    self.enter_handler(i, h, err, thrown);
                    return None;
                }
            }
        }
        let mut err = err;
        if let Some(v) = &thrown {
            err.message = uncaught_message(v);
        }
        self.ledger.revert_all();
        Some(err)
    }

    /// Tells the observer that the handler `h` of frame `frame_idx` catches `err`, before any
    /// frame is discarded (the debugger's catch breakpoint and the trace's `caught` event).
    fn report_caught(&mut self, frame_idx: usize, h: handlers::Handler, err: &RuntimeError, thrown: Option<&Value>) {
        let Some(obs) = self.observer.as_mut() else { return };
        let Some(top) = self.frames.last() else { return };
        obs.event(
            self.counters.gas,
            &VmEvent::Caught {
                error: err,
                thrown,
                proto: &top.proto,
                pc: top.ip.saturating_sub(1) as u32,
                from_depth: self.frames.len() - 1,
                to_depth: frame_idx,
                finally: h.kind == HandlerKind::Finally,
                instructions: self.counters.instructions,
            },
        );
    }

    /// Discards the frames above `frame_idx`, reverts the transactions above the handler's
    /// `try`, and makes the handler the next instruction with the error value pushed.
    fn enter_handler(&mut self, frame_idx: usize, h: handlers::Handler, err: RuntimeError, thrown: Option<Value>) {
        // Close the activations of the discarded frames for observers, innermost first.
        for j in (frame_idx + 1..self.frames.len()).rev() {
            if let Some(obs) = self.observer.as_mut() {
                let instructions = self.counters.instructions;
                obs.event(self.counters.gas, &VmEvent::Return { proto: &self.frames[j].proto, depth: j, instructions });
            }
        }
        self.frames.truncate(frame_idx + 1);
        let (base, proto) = match self.frames.last() {
            Some(f) => (f.base, f.proto.clone()),
            None => return,
        };
        // Pending errors of the discarded frames can never be raised again.
        self.errs.pending.retain(|(b, _), _| *b <= base);
        // Transactions opened since the `try` began (ERRORS.md §6).
        let recorded = match self.stack.get(base + h.tx_slot as usize) {
            Some(Value::Int(d)) => usize::try_from(*d).unwrap_or(0),
            _ => 0,
        };
        while self.ledger.depth() > recorded {
            let Ok(keys) = self.ledger.revert() else { break };
            if let Some(obs) = self.observer.as_mut() {
                obs.event(self.counters.gas, &VmEvent::TxRevert { depth: self.ledger.depth(), keys: &keys });
            }
        }
        let value = match h.kind {
            HandlerKind::Catch => thrown.unwrap_or_else(|| Value::Str(Rc::new(err.message.clone()))),
            HandlerKind::Finally => {
                self.errs.last_token += 1;
                let token = self.errs.last_token;
                self.errs.pending.insert((base, h.target), PendingError { token, error: err, thrown });
                Value::Int(token)
            }
        };
        // The handler's operand stack: the `try`'s depth, then the pushed value.
        let at = base + proto.exec.operand_base as usize + h.depth as usize;
        let top = base + proto.exec.top_at(h.target as usize) as usize;
        let end = self.sp.max(top).min(self.stack.len());
        if let Some(dead) = self.stack.get_mut(at.min(end)..end) {
            release(dead);
        }
        if at >= self.stack.len() {
            self.stack.resize(at + 1, Value::Undef);
        }
        self.stack[at] = value;
        self.sp = top;
        if let Some(f) = self.frames.last_mut() {
            f.ip = h.target as usize;
        }
        self.depth = frame_idx + 1;
        // External calls whose caller is the handling frame or above were abandoned (their
        // transactions were reverted just above).
        let depth = self.depth;
        self.action_calls.retain(|c| c.depth < depth);
        // Likewise a `map`/`filter`/`reduce` whose callback the error left.
        self.hof_calls.retain(|c| c.depth < depth);
        if let Some(rec) = self.calls.get_mut(frame_idx) {
            rec.ip = h.target as usize;
        }
        self.dirty = self.depth;
    }
}

#[cold]
fn require_failed(msg: Option<&Value>) -> Result<(), VmError> {
    match with_message("Requirement failed", msg) {
        Ok(text) => Err(VmError::new(ErrorKind::RequireFailed, text)),
        Err(e) => Err(e),
    }
}
