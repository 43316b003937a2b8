//! JIT policy: whether a session compiles hot loops, and the hook through which the VM reaches
//! the JIT (the VM never imports `jit`). The hook times each compilation, since the engine is
//! the layer that owns the clock.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Instant;

use crate::trace::{EventSink, TraceEvent};

use crate::jit::{self, Jit, JitInfo, JitLoopStatus};
use crate::vm::hooks::{LoopCall, LoopCompiler, LoopExit, LoopRun};
use crate::vm::program::Proto;
use crate::vm::value::Value;

use super::JitSummary;

/// How a session uses the JIT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JitPolicy {
    /// Compile hot loops (`--no-jit` clears it). Ignored where the JIT is not built.
    pub enabled: bool,
}

impl Default for JitPolicy {
    fn default() -> Self {
        JitPolicy { enabled: true }
    }
}

/// The JIT shared between the VM (through [`JitHook`]) and the session (for statistics).
pub type SharedJit = Rc<RefCell<Jit>>;

/// The [`LoopCompiler`] the engine installs in the VM.
pub struct JitHook {
    jit: SharedJit,
    sink: EventSink,
}

impl JitHook {
    /// A hook over `jit` that reports compilations and bail-outs to `sink`.
    pub fn new(jit: SharedJit, sink: EventSink) -> JitHook {
        JitHook { jit, sink }
    }
}

impl LoopCompiler for JitHook {
    fn compile(&mut self, proto: &Rc<Proto>, loop_id: u16, stack: &[Value], base: usize) -> bool {
        self.sink.emit(&TraceEvent::JitCompileStart { func: proto.id, loop_id });
        let started = Instant::now();
        let mut jit = self.jit.borrow_mut();
        let res = jit.compile(proto, loop_id, stack, base);
        let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        jit.note_compile_time(proto, loop_id, micros);
        if self.sink.has_listeners() {
            let native_bytes = jit.loop_info(proto.id, loop_id).map_or(0, |l| l.native_bytes);
            let reason = res.as_ref().err().map(String::as_str);
            self.sink.emit(&TraceEvent::JitCompileEnd {
                func: proto.id,
                loop_id,
                compiled: res.is_ok(),
                native_bytes,
                reason,
            });
        }
        res.is_ok()
    }

    fn run(&mut self, call: LoopCall<'_>) -> (LoopExit, LoopRun) {
        let mut jit = self.jit.borrow_mut();
        if !self.sink.has_listeners() {
            return jit.run(call);
        }
        let (proto, loop_id) = (Rc::clone(call.proto), call.loop_id);
        let before = jit.loop_info(proto.id, loop_id).map_or(0, |l| l.bailouts);
        let started = Instant::now();
        let res = jit.run(call);
        let ns = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        let instructions = res.1.instructions;
        self.sink.emit(&TraceEvent::NativeRun { func: proto.id, loop_id, instructions, ns });
        if let Some(info) = jit.loop_info(proto.id, loop_id)
            && info.bailouts > before
        {
            let pc = match res.0 {
                LoopExit::Resume { pc } | LoopExit::OutOfFuel { pc } => pc,
            };
            let reason =
                info.exits.iter().find(|e| e.pc == pc && e.kind == "bailout").map_or("bail-out", |e| e.reason.as_str());
            self.sink.emit(&TraceEvent::JitBailout { func: proto.id, loop_id, pc, reason });
        }
        res
    }
}

/// Folds the JIT's per-loop figures into the session summary.
pub fn summarize(info: &JitInfo, enabled: bool, threshold: u64) -> JitSummary {
    let mut s = JitSummary { available: jit::AVAILABLE, enabled, threshold, ..JitSummary::default() };
    for l in &info.loops {
        s.compilations += l.compilations;
        s.entries += l.entries;
        s.bailouts += l.bailouts;
        s.native_bytes += l.native_bytes;
        s.compile_time_us += l.compile_time_us;
        match l.status {
            JitLoopStatus::Compiled => s.loops_compiled += 1,
            JitLoopStatus::Blacklisted(_) => {
                s.loops_compiled += 1;
                s.blacklisted += 1;
            }
            JitLoopStatus::Refused(_) => {}
        }
    }
    s
}
