//! The bytecode optimizer: independent passes, each a function `fn(&mut Chunk) -> PassStats`
//! that only rewrites instructions in place (removed ones become `Nop`); `compact` then drops
//! the `Nop`s and renumbers jumps, loops and the line table, so every surviving instruction
//! keeps the span it came from.

pub mod cfg;
pub mod dce;
pub mod fold;
pub mod history;
pub mod peephole;
pub mod report;

use crate::bytecode::chunk::Chunk;

/// Figures one pass reports.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct PassStats {
    /// Pass name.
    pub pass: &'static str,
    /// Instructions removed (net).
    pub removed: usize,
    /// Constant expressions folded.
    pub folded: usize,
    /// Jumps retargeted or removed.
    pub jumps_threaded: usize,
    /// Superinstructions formed.
    pub fused: usize,
    /// Constant conditions resolved.
    pub branches_resolved: usize,
}

impl PassStats {
    fn new(pass: &'static str) -> PassStats {
        PassStats { pass, ..PassStats::default() }
    }

    fn add(&mut self, other: &PassStats) {
        self.removed += other.removed;
        self.folded += other.folded;
        self.jumps_threaded += other.jumps_threaded;
        self.fused += other.fused;
        self.branches_resolved += other.branches_resolved;
    }
}

/// A named optimizer pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Pass {
    /// Constant folding (expressions and conditions).
    Fold,
    /// Dead-code elimination.
    Dce,
    /// Peephole: jump threading, jump-to-next, push/pop pairs, superinstructions.
    Peephole,
}

impl Pass {
    /// Every pass, in the order they run.
    pub const ALL: [Pass; 3] = [Pass::Fold, Pass::Dce, Pass::Peephole];

    /// The pass's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Pass::Fold => "fold",
            Pass::Dce => "dce",
            Pass::Peephole => "peephole",
        }
    }

    /// Parses a pass name.
    pub fn from_name(name: &str) -> Option<Pass> {
        Pass::ALL.into_iter().find(|p| p.name() == name)
    }

    fn run(self, chunk: &mut Chunk) -> PassStats {
        match self {
            Pass::Fold => fold::run(chunk),
            Pass::Dce => dce::run(chunk),
            Pass::Peephole => peephole::run(chunk),
        }
    }
}

/// The passes for an optimization level: `-O0` none, `-O1` folding and DCE, `-O2` all.
pub fn passes_for_level(level: u8) -> Vec<Pass> {
    match level {
        0 => Vec::new(),
        1 => vec![Pass::Fold, Pass::Dce],
        _ => Pass::ALL.to_vec(),
    }
}

/// Optimizes `chunk` and all its children with `passes`; returns the figures per pass,
/// summed over all chunks. Each pass runs to a fixed point (bounded) before the next.
pub fn optimize(chunk: &mut Chunk, passes: &[Pass]) -> Vec<PassStats> {
    let mut totals: Vec<PassStats> = passes.iter().map(|p| PassStats::new(p.name())).collect();
    optimize_into(chunk, passes, &mut totals);
    totals
}

fn optimize_into(chunk: &mut Chunk, passes: &[Pass], totals: &mut [PassStats]) {
    for (pass, total) in passes.iter().zip(totals.iter_mut()) {
        // Each sweep may enable another (a fold makes a new constant); stop at a fixed point.
        for _ in 0..8 {
            let mut stats = pass.run(chunk);
            stats.removed = cfg::compact(chunk);
            let changed = stats != PassStats::new(pass.name());
            total.add(&stats);
            if !changed {
                break;
            }
        }
    }
    for child in &mut chunk.children {
        optimize_into(child, passes, totals);
    }
}
