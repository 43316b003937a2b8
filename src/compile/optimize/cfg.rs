//! Control-flow facts the passes share (jump targets; successors are `Op::successors`) and `compact`, which removes
//! `Nop`s and renumbers everything that refers to instruction indices.

use crate::bytecode::chunk::{Chunk, LoopInfo};
use crate::bytecode::handlers;
use crate::bytecode::op::Op;

/// `is_target[pc]` is true if a jump, loop or for-loop exit lands on `pc`.
pub fn jump_targets(chunk: &Chunk) -> Vec<bool> {
    let mut targets = vec![false; chunk.code.len() + 1];
    for op in &chunk.code {
        if let Some(t) = op.jump_target()
            && let Some(slot) = targets.get_mut(t as usize)
        {
            *slot = true;
        }
    }
    for l in &chunk.loops {
        for pc in [l.header, l.exit] {
            if let Some(slot) = targets.get_mut(pc as usize) {
                *slot = true;
            }
        }
    }
    // A handler is entered from anywhere in its range, and the ends of a protected range must
    // stay instruction boundaries: no rewrite may merge code inside a `try` with code outside.
    for h in &chunk.handlers {
        for pc in [h.start, h.end, h.target] {
            if let Some(slot) = targets.get_mut(pc as usize) {
                *slot = true;
            }
        }
    }
    targets
}

/// Where control may start besides pc 0: the handlers of the exception table.
pub fn entries(chunk: &Chunk) -> impl Iterator<Item = usize> + '_ {
    std::iter::once(0).chain(chunk.handlers.iter().map(|h| h.target as usize))
}

/// True if none of `pc + 1 ..= pc + len - 1` is a jump target (so `pc..pc+len` is straight-line
/// code that may be rewritten as a unit).
pub fn straight(targets: &[bool], pc: usize, len: usize) -> bool {
    (pc + 1..pc + len).all(|i| !targets.get(i).copied().unwrap_or(true))
}

/// Removes every `Nop`, remapping jump targets, loops, spans and part spans. A target that
/// pointed at a removed instruction moves to the next surviving one; a loop whose back edge
/// was removed is dropped. Returns how many instructions were removed.
pub fn compact(chunk: &mut Chunk) -> usize {
    let n = chunk.code.len();
    let mut new_index = vec![0u32; n + 1];
    let mut kept = 0u32;
    for (slot, op) in new_index.iter_mut().zip(&chunk.code) {
        *slot = kept;
        if *op != Op::Nop {
            kept += 1;
        }
    }
    new_index[n] = kept;
    let removed = n - kept as usize;
    if removed == 0 {
        return 0;
    }
    let remap = |t: u32| new_index.get(t as usize).copied().unwrap_or(kept);
    // A loop whose back edge was removed is dead code (after a `return`, say): drop it, or its
    // header would point past the end, and renumber the surviving loops.
    let mut loop_ids: Vec<Option<u16>> = Vec::with_capacity(chunk.loops.len());
    let mut loops = Vec::with_capacity(chunk.loops.len());
    for l in &chunk.loops {
        let alive = chunk.code.get(l.back_edge as usize).is_some_and(|op| *op != Op::Nop);
        let new_id = u16::try_from(loops.len()).ok().filter(|_| alive);
        loop_ids.push(new_id);
        if new_id.is_some() {
            loops.push(LoopInfo { header: remap(l.header), back_edge: remap(l.back_edge), exit: remap(l.exit) });
        }
    }
    let mut code = Vec::with_capacity(kept as usize);
    let mut spans = Vec::with_capacity(kept as usize);
    for (pc, op) in chunk.code.iter().enumerate() {
        if *op == Op::Nop {
            continue;
        }
        let mut op = *op;
        if let Some(t) = op.jump_target() {
            // Compaction only moves targets down, so a narrow operand still fits.
            op.set_jump_target(remap(t));
        }
        if let Op::LoopBack { target, loop_id } = op {
            let loop_id = loop_ids.get(usize::from(loop_id)).copied().flatten().unwrap_or(loop_id);
            op = Op::LoopBack { target, loop_id };
        }
        code.push(op);
        spans.push(chunk.spans.get(pc).copied().unwrap_or_default());
    }
    chunk.loops = loops;
    chunk.part_spans = std::mem::take(&mut chunk.part_spans)
        .into_iter()
        .filter(|(pc, _)| chunk.code.get(*pc as usize).is_some_and(|op| *op != Op::Nop))
        .map(|(pc, s)| (remap(pc), s))
        .collect();
    handlers::renumber(&mut chunk.handlers, remap);
    chunk.code = code;
    chunk.spans = spans;
    removed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::span::Span;

    /// A top-level chunk whose instruction `pc` has the span `pc..pc+1`.
    fn chunk(code: Vec<Op>) -> Chunk {
        let mut c = Chunk::new(None, true, Span::new(0, 0));
        c.spans = (0..code.len()).map(|i| Span::new(i, i + 1)).collect();
        c.code = code;
        c
    }

    #[test]
    fn jump_targets_include_loop_headers_and_exits() {
        let mut c = chunk(vec![Op::Int { value: 1 }, Op::JumpIfFalse { target: 3 }, Op::Pop, Op::Halt]);
        c.loops.push(LoopInfo { header: 0, back_edge: 2, exit: 2 });
        let t = jump_targets(&c);
        assert_eq!(t, vec![true, false, true, true, false]);
        assert!(straight(&t, 0, 2), "pc 1 is not a target");
        assert!(!straight(&t, 1, 2), "pc 2 is a target, so 1..3 is not straight");
    }

    #[test]
    fn successors_follow_fall_through_and_jumps() {
        let successors = |op: &Op, pc: usize| -> Vec<usize> {
            op.successors(pc, (), ()).into_iter().flatten().map(|(next, ())| next).collect()
        };
        assert_eq!(successors(&Op::Pop, 4), vec![5]);
        assert_eq!(successors(&Op::JumpIfFalse { target: 9 }, 4), vec![5, 9]);
        assert_eq!(successors(&Op::Jump { target: 1 }, 4), vec![1]);
        assert!(successors(&Op::Halt, 4).is_empty());
    }

    #[test]
    fn compact_drops_nops_and_renumbers_jumps_spans_and_loops() {
        let mut c = chunk(vec![
            Op::Nop,
            Op::Int { value: 1 },
            Op::Nop,
            Op::JumpIfFalse { target: 5 },
            Op::LoopBack { target: 1, loop_id: 0 },
            Op::Halt,
        ]);
        c.loops.push(LoopInfo { header: 1, back_edge: 4, exit: 5 });
        assert_eq!(compact(&mut c), 2);
        assert_eq!(
            c.code,
            vec![Op::Int { value: 1 }, Op::JumpIfFalse { target: 3 }, Op::LoopBack { target: 0, loop_id: 0 }, Op::Halt]
        );
        assert_eq!(c.spans, vec![Span::new(1, 2), Span::new(3, 4), Span::new(4, 5), Span::new(5, 6)]);
        assert_eq!(c.loops, vec![LoopInfo { header: 0, back_edge: 2, exit: 3 }]);
        assert_eq!(compact(&mut c), 0, "nothing left to remove");
    }

    #[test]
    fn compact_drops_a_loop_whose_back_edge_was_removed_and_renumbers_the_rest() {
        let mut c = chunk(vec![
            Op::Nop, // was loop 0's back edge
            Op::Int { value: 1 },
            Op::LoopBack { target: 1, loop_id: 1 },
            Op::Halt,
        ]);
        c.loops.push(LoopInfo { header: 0, back_edge: 0, exit: 1 });
        c.loops.push(LoopInfo { header: 1, back_edge: 2, exit: 3 });
        compact(&mut c);
        assert_eq!(c.loops, vec![LoopInfo { header: 0, back_edge: 1, exit: 2 }]);
        assert_eq!(c.code[1], Op::LoopBack { target: 0, loop_id: 0 });
    }

    #[test]
    fn a_target_on_a_removed_instruction_moves_to_the_next_survivor() {
        let mut c = chunk(vec![Op::Jump { target: 2 }, Op::Pop, Op::Nop, Op::Halt]);
        compact(&mut c);
        assert_eq!(c.code, vec![Op::Jump { target: 2 }, Op::Pop, Op::Halt]);
    }
}
