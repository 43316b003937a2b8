//! Dead-code elimination: instructions no path reaches (code after `return`, `break`,
//! `continue`, branches folded away) and values pushed only to be popped.

use super::PassStats;
use super::cfg::{entries, jump_targets, straight};
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
        work.extend(chunk.code[pc].successors(pc, (), ()).into_iter().flatten().map(|(next, ())| next));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::span::Span;

    fn chunk(code: Vec<Op>) -> Chunk {
        let mut c = Chunk::new(None, false, Span::new(0, 0));
        c.spans = vec![Span::default(); code.len()];
        c.code = code;
        c
    }

    #[test]
    fn code_no_path_reaches_becomes_nop() {
        let mut c = chunk(vec![
            Op::Jump { target: 3 },
            Op::Int { value: 1 }, // skipped by the jump
            Op::Print { n: 1 },
            Op::Null,
            Op::Return,
            Op::Int { value: 2 }, // after the return
            Op::Return,
        ]);
        run(&mut c);
        assert_eq!(c.code, vec![Op::Jump { target: 3 }, Op::Nop, Op::Nop, Op::Null, Op::Return, Op::Nop, Op::Nop]);
    }

    #[test]
    fn a_pure_push_followed_by_pop_is_removed_unless_the_pop_is_a_jump_target() {
        let mut c = chunk(vec![Op::Int { value: 1 }, Op::Pop, Op::ReturnNull]);
        run(&mut c);
        assert_eq!(c.code, vec![Op::Nop, Op::Nop, Op::ReturnNull]);

        let kept = vec![
            Op::True,
            Op::JumpIfFalse { target: 3 },
            Op::Int { value: 1 },
            Op::Pop, // a target: the other path pops something else
            Op::ReturnNull,
        ];
        let mut c = chunk(kept.clone());
        run(&mut c);
        assert_eq!(c.code, kept);
    }

    #[test]
    fn a_push_with_effects_is_kept() {
        let code = vec![Op::LoadGlobal { idx: 0 }, Op::Pop, Op::ReturnNull];
        let mut c = chunk(code.clone());
        c.globals.push("g".into());
        run(&mut c);
        assert_eq!(c.code, code, "reading a global may fail (undefined), so it stays");
    }
}
