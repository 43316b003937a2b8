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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::span::Span;

    fn chunk(code: Vec<Op>) -> Chunk {
        let mut c = Chunk::new(None, false, Span::new(0, 0));
        c.spans = (0..code.len()).map(|i| Span::new(i, i + 1)).collect();
        c.code = code;
        c
    }

    #[test]
    fn a_jump_to_a_jump_goes_to_the_final_target() {
        let mut c = chunk(vec![
            Op::True,
            Op::JumpIfFalse { target: 3 },
            Op::ReturnNull,
            Op::Jump { target: 5 },
            Op::ReturnNull,
            Op::Int { value: 1 },
            Op::Return,
        ]);
        let stats = run(&mut c);
        assert_eq!(c.code[1], Op::JumpIfFalse { target: 5 });
        assert!(stats.jumps_threaded >= 1);
    }

    #[test]
    fn a_jump_to_a_return_is_that_return() {
        let mut c = chunk(vec![Op::Jump { target: 2 }, Op::Pop, Op::Jump { target: 3 }, Op::ReturnNull]);
        run(&mut c);
        // pc 0 is threaded to the return at 3 and becomes it; so does pc 2.
        assert_eq!(c.code, vec![Op::ReturnNull, Op::Pop, Op::ReturnNull, Op::ReturnNull]);
    }

    #[test]
    fn a_jump_to_the_next_live_instruction_goes() {
        let mut c = chunk(vec![Op::Jump { target: 2 }, Op::Nop, Op::Pop, Op::ReturnNull]);
        let stats = run(&mut c);
        assert_eq!(c.code, vec![Op::Nop, Op::Nop, Op::Pop, Op::ReturnNull]);
        assert_eq!(stats.jumps_threaded, 1);
    }

    #[test]
    fn a_loop_back_edge_is_never_threaded() {
        let mut c = chunk(vec![Op::Jump { target: 2 }, Op::LoopBack { target: 0, loop_id: 0 }, Op::Halt]);
        c.loops.push(crate::bytecode::chunk::LoopInfo { header: 0, back_edge: 1, exit: 2 });
        run(&mut c);
        assert_eq!(c.code[1], Op::LoopBack { target: 0, loop_id: 0 });
    }

    #[test]
    fn comparisons_of_locals_become_one_branch_that_keeps_the_part_spans() {
        let mut c = chunk(vec![
            Op::LoadLocal { slot: 0 },
            Op::LoadLocal { slot: 1 },
            Op::Lt,
            Op::JumpIfFalse { target: 5 },
            Op::ReturnNull,
            Op::ReturnNull,
        ]);
        let stats = run(&mut c);
        assert_eq!(stats.fused, 1);
        assert_eq!(c.code[0], Op::BranchLocals { cmp: Cmp::Lt, a: 0, b: 1, target: 5 });
        assert_eq!(&c.code[1..4], &[Op::Nop, Op::Nop, Op::Nop]);
        assert_eq!(c.spans[0], Span::new(2, 3), "the comparison's span is the main one");
        assert_eq!(c.part_spans, vec![(0, (0..4).map(|i| Span::new(i, i + 1)).collect())]);
    }

    #[test]
    fn a_constant_outside_i16_does_not_make_a_branch_with_an_immediate() {
        let mut c = chunk(vec![
            Op::LoadLocal { slot: 0 },
            Op::Int { value: 40_000 },
            Op::Ge,
            Op::JumpIfFalse { target: 5 },
            Op::ReturnNull,
            Op::ReturnNull,
        ]);
        run(&mut c);
        assert!(!c.code.iter().any(|op| matches!(op, Op::BranchLocalImm { .. })), "{:?}", c.code);
        assert!(c.code.contains(&Op::JumpIfNotGe { target: 5 }), "{:?}", c.code);
    }

    #[test]
    fn an_add_into_the_same_local_fuses_and_into_another_does_not() {
        let mut c = chunk(vec![
            Op::LoadLocal { slot: 2 },
            Op::Int { value: 7 },
            Op::Add,
            Op::StoreLocal { slot: 2 },
            Op::LoadLocal { slot: 2 },
            Op::LoadLocal { slot: 3 },
            Op::Add,
            Op::StoreLocal { slot: 2 },
            Op::LoadLocal { slot: 2 },
            Op::Int { value: 7 },
            Op::Add,
            Op::StoreLocal { slot: 1 },
            Op::ReturnNull,
        ]);
        run(&mut c);
        assert_eq!(c.code[0], Op::AddLocalImm { slot: 2, imm: 7 });
        assert_eq!(c.code[4], Op::AddLocalLocal { dst: 2, src: 3 });
        // Into slot 1: only `7 +` fuses, as ADD_IMM.
        assert_eq!(
            &c.code[8..12],
            &[Op::LoadLocal { slot: 2 }, Op::AddImm { imm: 7 }, Op::Nop, Op::StoreLocal { slot: 1 }]
        );
    }

    #[test]
    fn nothing_fuses_across_a_jump_target() {
        let code = vec![Op::LoadLocal { slot: 0 }, Op::LoadLocal { slot: 1 }, Op::Pop, Op::Pop, Op::Jump { target: 1 }];
        let mut c = chunk(code.clone());
        assert_eq!(run(&mut c).fused, 0);
        assert_eq!(c.code, code);
    }
}
