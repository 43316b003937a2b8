//! The engine-level event stream and its consumers: event types (serde), the listener trait
//! and fan-out sink, the VM bridge, profile aggregation and the exporters (Chrome trace,
//! speedscope, JSON Lines).
//!
//! How it fits together: the engine creates an [`EventSink`] with a [`Clock`], listeners
//! attach to it, and the engine passes the sink (in `engine::Options`) to everything that
//! reports: the pipeline emits phase and optimizer events, the [`VmBridge`] (installed as the
//! VM's observer) turns VM hooks into [`TraceEvent`]s, and the JIT and the bytecode cache
//! emit their own events through a clone of the same sink. With the default (disabled) sink
//! no observer is installed and the VM pays nothing beyond its existing `Option` checks.
//!
//! Event types and fields (JSON Lines envelope `{"at_ns", "type", "data"}`):
//! `phase_begin`/`phase_end` {phase}; `opt_pass` {pass, removed, folded, jumps_threaded,
//! fused, branches_resolved}; `run_start`; `run_end` {outcome, instructions, gas}; `instr`
//! {func, pc, depth, op}; `call` {func, name, depth, gas, args}; `return` {func, name, depth,
//! gas}; `error` {kind, message, depth, gas}; `print` {text}; `loop_hot` {func, loop_id,
//! iterations}; `jit_compile_start` {func, loop_id}; `jit_compile_end` {func, loop_id,
//! compiled, native_bytes, reason}; `jit_bailout` {func, loop_id, pc, reason}; `cache_hit` /
//! `cache_miss` {key}; `tx_begin` {depth}; `tx_commit` / `tx_rollback` {depth, keys};
//! `action_call` {func, name, depth, tx_depth, gas, instructions} and `action_end` {func,
//! name, depth, outcome (`committed` / `reverted`), gas_used, instructions}, around each
//! external contract call (inferred by the [`VmBridge`], see there);
//! `state_access` {write, key, depth}; `counters` {instructions, gas, gas_limit, depth}.
//!
//! Emitting from engine code (the JIT's `LoopCompiler`, the bytecode cache): keep a clone of
//! `options.sink` and emit; on a disabled sink this is one branch.
//!
//! ```text
//! let sink = options.sink.clone();
//! sink.emit(&TraceEvent::JitCompileStart { func: proto.id, loop_id });
//! // ... compile ...
//! sink.emit(&TraceEvent::JitCompileEnd { func: proto.id, loop_id, compiled, native_bytes, reason: None });
//! sink.emit(&TraceEvent::CacheHit { key: ast_hash });
//! ```
//!
//! Listening (the TUI, a test): create `EventSink::new(clock)`, attach an
//! `Rc<RefCell<impl Listener>>` before `SessionBuilder::build` (to see the pipeline phases),
//! pass the sink in `Options::sink`, and drive the run with `Session::run_slice`; a [`Profiler`] gives
//! a consistent snapshot at any time through [`Profiler::profile`].
//!
//! Architecture invariant: nothing here reads the clock or opens files; time comes from the
//! [`Clock`] the engine passes in, and exporters write to any `io::Write` they are given.

pub mod actions;
pub mod bridge;
pub mod chrome;
pub mod clock;
pub mod event;
pub mod flame;
pub mod jsonl;
pub mod profile;
pub mod report;
pub mod sink;
pub mod speedscope;

pub use bridge::VmBridge;
pub use clock::{Clock, FakeClock};
pub use event::{ActionOutcome, FuncId, Phase, RunOutcome, TraceEvent};
pub use profile::{Profile, Profiler};
pub use sink::{EventSink, Listener, SharedListener};
