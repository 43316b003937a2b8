//! Dead-code elimination: instructions no path reaches (code after `return`, `break`,
//! `continue`, branches folded away) and values pushed only to be popped.

use super::PassStats;
use super::cfg::{entries, jump_targets, straight, successors};
use crate::bytecode::chunk::Chunk;
use crate::bytecode::op::Op;

fn is_pure_push(op: &Op) -> bool {
    matches!(op, Op::Const { .. } | Op::Int { .. } | Op::Null | Op::True | Op::False | Op::Dup | Op::MakeClosure { .. })
}

/// Runs one sweep of dead-code elimination.
pub fn run(chunk: &mut Chunk) -> PassStats {
    let stats = PassStats::new("dce");
    let n = chunk.code.len();
    let mut reachable = vec![false; n];
    // Catch and finally bodies are reachable through the exception table.
    let mut work: Vec<usize> = entries(chunk).collect();
    while let Some(pc) = work.pop() {
        if pc >= n || reachable[pc] {
            continue;
        }
        reachable[pc] = true;
        work.extend(successors(&chunk.code[pc], pc));
    }
    for (pc, live) in reachable.iter().enumerate() {
        if !live {
            chunk.code[pc] = Op::Nop;
        }
    }
    let targets = jump_targets(chunk);
    for pc in 0..n.saturating_sub(1) {
        if is_pure_push(&chunk.code[pc]) && chunk.code[pc + 1] == Op::Pop && straight(&targets, pc, 2) {
            chunk.code[pc] = Op::Nop;
            chunk.code[pc + 1] = Op::Nop;
        }
    }
    stats
}
