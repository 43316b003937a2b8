//! Control-flow facts the passes share (jump targets, successors) and `compact`, which removes
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

/// Successors of the instruction at `pc`.
pub fn successors(op: &Op, pc: usize) -> impl Iterator<Item = usize> {
    let next = if op.is_terminator() { None } else { Some(pc + 1) };
    let jump = op.jump_target().map(|t| t as usize);
    next.into_iter().chain(jump)
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
