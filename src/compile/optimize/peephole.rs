//! Peephole rewrites: jump threading, removal of jumps to the next instruction, and
//! superinstructions for the commonest sequences (each documented in `bytecode::op`).

use super::PassStats;
use super::cfg::{jump_targets, straight};
use crate::bytecode::chunk::Chunk;
use crate::bytecode::op::{Cmp, Op};

/// Follows a chain of unconditional `Jump`s from `target` (bounded, so cycles terminate).
fn final_target(code: &[Op], mut target: u32) -> u32 {
    for _ in 0..16 {
        match code.get(target as usize) {
            Some(Op::Jump { target: next }) if *next != target => target = *next,
            _ => break,
        }
    }
    target
}

fn thread_jumps(chunk: &mut Chunk, stats: &mut PassStats) {
    let snapshot = chunk.code.clone();
    for (pc, op) in chunk.code.iter_mut().enumerate() {
        if matches!(op, Op::LoopBack { .. }) {
            continue;
        }
        if let Some(t) = op.jump_target() {
            let new = final_target(&snapshot, t);
            if new != t && op.set_jump_target(new) {
                stats.jumps_threaded += 1;
            }
        }
        // A jump to a return is that return.
        if let Op::Jump { target } = *op {
            match snapshot.get(target as usize) {
                Some(ret @ (Op::ReturnNull | Op::Halt)) if target as usize != pc => {
                    *op = *ret;
                    stats.jumps_threaded += 1;
                }
                _ => {}
            }
        }
    }
    // A jump to the very next instruction does nothing.
    for pc in 0..chunk.code.len() {
        if let Op::Jump { target } = chunk.code[pc] {
            let next_live = (pc + 1..chunk.code.len()).find(|&i| chunk.code[i] != Op::Nop).unwrap_or(chunk.code.len());
            if target as usize == next_live || target as usize == pc + 1 {
                chunk.code[pc] = Op::Nop;
                stats.jumps_threaded += 1;
            }
        }
    }
}

/// Replaces `len` instructions at `pc` with `fused`, keeping their spans as part spans.
fn fuse(chunk: &mut Chunk, pc: usize, len: usize, fused: Op, main_part: usize, stats: &mut PassStats) {
    let parts: Vec<_> = chunk.spans[pc..pc + len].to_vec();
    chunk.code[pc] = fused;
    chunk.spans[pc] = parts[main_part];
    for i in 1..len {
        chunk.code[pc + i] = Op::Nop;
    }
    chunk.part_spans.push((pc as u32, parts));
    stats.fused += 1;
}

fn superinstructions(chunk: &mut Chunk, stats: &mut PassStats) {
    let targets = jump_targets(chunk);
    let mut pc = 0;
    while pc < chunk.code.len() {
        let window = |i: usize| chunk.code.get(pc + i).copied();
        let fits = |len: usize| pc + len <= chunk.code.len() && straight(&targets, pc, len);
        // if/while on a comparison of locals, or of a local and a small constant
        if fits(4)
            && let (Some(Op::LoadLocal { slot: a }), Some(second), Some(cmp_op), Some(Op::JumpIfFalse { target })) =
                (window(0), window(1), window(2), window(3))
        {
            let fused = match (Cmp::of(cmp_op), second, u16::try_from(target)) {
                (Some(cmp), Op::LoadLocal { slot: b }, Ok(target)) => Some(Op::BranchLocals { cmp, a, b, target }),
                (Some(cmp), Op::Int { value }, Ok(target)) => {
                    i16::try_from(value).ok().map(|imm| Op::BranchLocalImm { cmp, a, imm, target })
                }
                _ => None,
            };
            if let Some(fused) = fused {
                fuse(chunk, pc, 4, fused, 2, stats);
                pc += 4;
                continue;
            }
        }
        // x = x + imm ; x = x + y
        if fits(4)
            && let (Some(Op::LoadLocal { slot: a }), Some(second), Some(Op::Add), Some(Op::StoreLocal { slot: d })) =
                (window(0), window(1), window(2), window(3))
            && a == d
        {
            let fused = match second {
                Op::Int { value } => Some(Op::AddLocalImm { slot: a, imm: value }),
                Op::LoadLocal { slot: src } => Some(Op::AddLocalLocal { dst: a, src }),
                _ => None,
            };
            if let Some(fused) = fused {
                fuse(chunk, pc, 4, fused, 2, stats);
                pc += 4;
                continue;
            }
        }
        if fits(2) {
            let fused = match (window(0), window(1)) {
                (Some(Op::LoadLocal { slot: a }), Some(Op::LoadLocal { slot: b })) => {
                    Some((Op::LoadLocal2 { a, b }, 0))
                }
                (Some(Op::Int { value }), Some(Op::Add)) => Some((Op::AddImm { imm: value }, 1)),
                (Some(Op::Int { value }), Some(Op::Sub)) => Some((Op::SubImm { imm: value }, 1)),
                (Some(cmp), Some(Op::JumpIfFalse { target })) => match cmp {
                    Op::Lt => Some((Op::JumpIfNotLt { target }, 0)),
                    Op::Le => Some((Op::JumpIfNotLe { target }, 0)),
                    Op::Gt => Some((Op::JumpIfNotGt { target }, 0)),
                    Op::Ge => Some((Op::JumpIfNotGe { target }, 0)),
                    Op::Eq => Some((Op::JumpIfNotEq { target }, 0)),
                    Op::Ne => Some((Op::JumpIfNotNe { target }, 0)),
                    _ => None,
                },
                _ => None,
            };
            if let Some((fused, main)) = fused {
                fuse(chunk, pc, 2, fused, main, stats);
                pc += 2;
                continue;
            }
        }
        pc += 1;
    }
}

/// Runs one peephole sweep.
pub fn run(chunk: &mut Chunk) -> PassStats {
    let mut stats = PassStats::new("peephole");
    thread_jumps(chunk, &mut stats);
    superinstructions(chunk, &mut stats);
    stats
}
