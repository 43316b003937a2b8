//! The full statistics of one run (`zexus-tui stats`): session, cache, optimizer, VM,
//! blockchain and JIT figures, as one serializable record whose field names are a contract.
//!
//! Per-opcode counts come from an [`Observer`] that asks for an event before every
//! instruction, so the VM single-steps while statistics are collected; normal runs pay nothing.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Instant;

use super::cache::CacheStats;
use super::pipeline::{UnitReport, duration_us};
use super::{JitSummary, Session};
use crate::compile::optimize::PassStats;
use crate::trace::actions::{ActionCosts, ActionTracker};
use crate::trace::report::{ActionRow, action_rows};
use crate::vm::hooks::{Observer, VmEvent};
use crate::vm::interp::Halt;
use crate::vm::value;
use crate::vm::{chain, contract};

/// Version of the [`RunStats`] JSON layout; bumped when a field is renamed or removed.
pub const STATS_FORMAT_VERSION: u32 = 1;

/// Everything `stats` reports about one run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RunStats {
    /// Layout version ([`STATS_FORMAT_VERSION`]).
    pub format_version: u32,
    /// The zexus-tui version that wrote it (as the trace formats carry it).
    pub version: &'static str,
    /// How the program ended.
    pub outcome: OutcomeStats,
    /// The session: units and phase timings.
    pub session: SessionStats,
    /// The bytecode cache.
    pub cache: CacheStats,
    /// The optimizer.
    pub optimizer: OptimizerStats,
    /// The VM.
    pub vm: VmStats,
    /// The blockchain primitives.
    pub blockchain: ChainStats,
    /// The JIT (all zero until it lands).
    pub jit: JitSummary,
}

/// How the program ended.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OutcomeStats {
    /// `finished` or `error` (`paused` in an export of a run that can go on).
    pub status: &'static str,
    /// The runtime error's message, if the program failed.
    pub error: Option<String>,
}

/// Phase timings in microseconds.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct TimingsUs {
    /// Lexing and parsing.
    pub parse: u64,
    /// Hashing units and consulting the cache.
    pub cache: u64,
    /// Lowering the units that missed.
    pub compile: u64,
    /// Optimizing the units that missed.
    pub optimize: u64,
    /// Linking.
    pub link: u64,
    /// Running (with per-instruction counting on).
    pub run: u64,
}

/// The session's figures.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SessionStats {
    /// `off`, `memory` or `memory+disk`.
    pub cache_mode: &'static str,
    /// Units in the program (the top level plus its functions).
    pub units: usize,
    /// Units compiled in the latest build.
    pub units_compiled: usize,
    /// Units taken from the memory cache in the latest build.
    pub units_memory_hits: usize,
    /// Units taken from the disk cache in the latest build.
    pub units_disk_hits: usize,
    /// Builds so far in the session.
    pub builds: u64,
    /// Phase timings of the latest build and the run.
    pub timings_us: TimingsUs,
    /// Every unit of the latest build.
    pub unit_list: Vec<UnitReport>,
}

/// The optimizer's figures.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OptimizerStats {
    /// Per pass, in the order they ran (summed over all units).
    pub passes: Vec<PassStats>,
    /// Instructions before optimization (all functions).
    pub instructions_before: usize,
    /// Instructions after optimization.
    pub instructions_after: usize,
    /// `100 * (before - after) / before`.
    pub reduction_pct: f64,
}

/// Executions of one opcode.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OpCount {
    /// Opcode name as in listings.
    pub op: &'static str,
    /// Times executed.
    pub count: u64,
}

/// The VM's figures.
#[derive(Debug, Clone, serde::Serialize)]
pub struct VmStats {
    /// Instructions executed.
    pub instructions: u64,
    /// User function calls.
    pub calls: u64,
    /// Builtin and method calls.
    pub builtin_calls: u64,
    /// Deepest call depth.
    pub max_call_depth: usize,
    /// Largest value-stack size (sampled at calls).
    pub max_stack_depth: usize,
    /// Instructions run as native code.
    pub jit_instructions: u64,
    /// Executions per opcode, most frequent first (ties by name).
    pub per_opcode: Vec<OpCount>,
}

/// One committed STATE entry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StateEntry {
    /// The key.
    pub key: String,
    /// The value, as `repr` shows it (strings quoted).
    pub value: String,
}

/// The blockchain figures.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ChainStats {
    /// Gas used by the run.
    pub gas_used: u64,
    /// Committed STATE at the end, sorted by key.
    pub state: Vec<StateEntry>,
    /// Transactions still open when the program ended (they are reverted).
    pub open_transactions: usize,
    /// Contract instances that exist at the end (CONTRACTS.md §12), by contract name, then
    /// number, each with its members in declaration order.
    pub contracts: Vec<InstanceEntry>,
    /// The event log at the end, one `repr` of each `events()` record.
    pub events: Vec<String>,
    /// The gas report: per contract action, its external calls (calls, reverted calls, gas,
    /// instructions), dearest first.
    pub actions: Vec<ActionRow>,
}

/// One contract instance at the end of a run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct InstanceEntry {
    /// `C#k`.
    pub id: String,
    /// Its members and their values (`repr`).
    pub members: Vec<StateEntry>,
}

#[derive(Default)]
struct Counts {
    per_op: HashMap<&'static str, u64>,
    tx_depth: usize,
    actions: ActionTracker,
    action_costs: ActionCosts,
}

/// Follows the transaction depth and the external contract calls (the gas report). (Per-opcode counts come from the exact block counts, which
/// keep hot loops in native code, not from one event per instruction.)
struct TxDepthWatcher(Rc<RefCell<Counts>>);

impl Observer for TxDepthWatcher {
    fn event(&mut self, gas: u64, event: &VmEvent<'_>) {
        let mut counts = self.0.borrow_mut();
        if let VmEvent::TxBegin { depth } | VmEvent::TxCommit { depth, .. } | VmEvent::TxRevert { depth, .. } = event {
            counts.tx_depth = *depth;
        }
        let (_, ended) = counts.actions.observe(gas, event);
        for r in &ended {
            counts.action_costs.add(r);
        }
    }
}

impl Session {
    /// Runs the program to its end as `run` does (hot loops in native code), with exact
    /// execution counts on for the per-opcode figures, and gathers the statistics. Any
    /// observer attached before is set aside for the run and put back afterwards.
    pub fn run_with_stats(&mut self) -> (Halt, RunStats) {
        let counts = Rc::new(RefCell::new(Counts::default()));
        self.enable_exec_counts();
        let previous = self.vm.take_observer();
        self.vm.set_observer(Some(Box::new(TxDepthWatcher(counts.clone()))));
        let t_run = Instant::now();
        let halt = self.run_to_end();
        let run_us = duration_us(t_run.elapsed());
        self.vm.set_observer(previous);
        self.vm.flush();
        let mut counts = counts.take();
        for (id, per_pc) in self.exec_counts().unwrap_or_default().iter().enumerate() {
            let Some(proto) = self.build.program.protos.get(id) else { continue };
            for (op, &n) in proto.code.iter().zip(per_pc).filter(|(_, n)| **n > 0) {
                *counts.per_op.entry(op.name()).or_insert(0) += n;
            }
        }
        let stats = self.collect_stats(&halt, run_us, counts);
        (halt, stats)
    }

    /// The statistics of the run so far, running nothing (the TUI's export menu): the outcome
    /// is `paused` while the program can still run, the per-opcode figures come from the exact
    /// counts when counting is on, and the gas report is empty (it needs `run_with_stats`'s
    /// observer from the start).
    pub fn stats_so_far(&self, run_us: u64) -> RunStats {
        let halt = match self.vm.failure() {
            Some(e) => Halt::Error(e.clone()),
            None => Halt::Finished,
        };
        let mut counts = Counts::default();
        for (id, per_pc) in self.exec_counts().unwrap_or_default().iter().enumerate() {
            let Some(proto) = self.build.program.protos.get(id) else { continue };
            for (op, &n) in proto.code.iter().zip(per_pc).filter(|(_, n)| **n > 0) {
                *counts.per_op.entry(op.name()).or_insert(0) += n;
            }
        }
        let mut stats = self.collect_stats(&halt, run_us, counts);
        if self.vm.failure().is_none() && !self.vm.is_done() {
            stats.outcome.status = "paused";
        }
        stats
    }

    fn collect_stats(&self, halt: &Halt, run_us: u64, counts: Counts) -> RunStats {
        let outcome = match halt {
            Halt::Error(e) => OutcomeStats { status: "error", error: Some(e.message.clone()) },
            _ => OutcomeStats { status: "finished", error: None },
        };
        let cache = self.cache_stats();
        let report = self.last_build();
        let t = &self.build.timings;
        let session = SessionStats {
            cache_mode: match (cache.enabled, cache.disk.is_some()) {
                (false, _) => "off",
                (true, false) => "memory",
                (true, true) => "memory+disk",
            },
            units: report.units.len(),
            units_compiled: report.compiled(),
            units_memory_hits: report.memory_hits(),
            units_disk_hits: report.disk_hits(),
            builds: self.builds(),
            timings_us: TimingsUs {
                parse: duration_us(t.parse),
                cache: duration_us(report.cache_time),
                compile: duration_us(t.compile),
                optimize: duration_us(t.optimize),
                link: duration_us(t.link),
                run: run_us,
            },
            unit_list: report.units.clone(),
        };
        let (before, after) = (self.build.unoptimized.total_len(), self.build.chunk.total_len());
        let optimizer = OptimizerStats {
            passes: self.build.pass_stats.clone(),
            instructions_before: before,
            instructions_after: after,
            reduction_pct: if before == 0 { 0.0 } else { 100.0 * (before as f64 - after as f64) / before as f64 },
        };
        let c = &self.vm.counters;
        let mut per_opcode: Vec<OpCount> = counts.per_op.into_iter().map(|(op, count)| OpCount { op, count }).collect();
        per_opcode.sort_by(|a, b| b.count.cmp(&a.count).then(a.op.cmp(b.op)));
        let vm = VmStats {
            instructions: c.instructions,
            calls: c.calls,
            builtin_calls: c.builtin_calls,
            max_call_depth: c.max_depth,
            max_stack_depth: c.max_stack,
            jit_instructions: c.jit_instructions,
            per_opcode,
        };
        let state = self
            .vm
            .ledger
            .committed()
            .iter()
            .map(|(key, data)| StateEntry {
                key: key.clone(),
                value: value::repr(&chain::from_data(data)).unwrap_or_else(|_| "<unprintable>".to_string()),
            })
            .collect();
        let world = &self.vm.ledger.contracts;
        let contracts = contract::existing_instances(world)
            .into_iter()
            .map(|(id, members)| InstanceEntry {
                id,
                members: members
                    .into_iter()
                    .map(|(key, v)| StateEntry {
                        key,
                        value: value::repr(&v).unwrap_or_else(|_| "<unprintable>".to_string()),
                    })
                    .collect(),
            })
            .collect();
        let events = match world.events_value(&[]) {
            Ok(value::Value::List(l)) => {
                l.borrow().iter().map(|e| value::repr(e).unwrap_or_else(|_| "<unprintable>".to_string())).collect()
            }
            _ => Vec::new(),
        };
        let actions = action_rows(&counts.action_costs);
        let blockchain =
            ChainStats { gas_used: c.gas, state, open_transactions: counts.tx_depth, contracts, events, actions };
        RunStats {
            format_version: STATS_FORMAT_VERSION,
            version: env!("CARGO_PKG_VERSION"),
            outcome,
            session,
            cache,
            optimizer,
            vm,
            blockchain,
            jit: self.jit_summary(),
        }
    }
}
