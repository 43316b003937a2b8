//! The bytecode verifier: checks that code from an untrusted place (the on-disk cache) cannot
//! make the VM misbehave. Every operand must be in range (constants, slots, globals, captured
//! variables, children, loops, jump targets), the stack depth must be the same on every path
//! into an instruction and never negative, and the last instruction must be a terminator.

use super::chunk::{Capture, Chunk, Const};
use super::op::{DepthFault, Op, stack_depths};

/// Largest frame the verifier accepts (slot operands are 16-bit).
pub const MAX_SLOTS: u32 = 1 << 16;

/// Why a chunk was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid bytecode in {function}{}: {message}", pc.map(|p| format!(" at pc {p}")).unwrap_or_default())]
pub struct VerifyError {
    /// Display name of the offending chunk.
    pub function: String,
    /// The offending instruction, if one is to blame.
    pub pc: Option<u32>,
    /// What is wrong.
    pub message: String,
}

/// Facts about the chunk that creates the one being checked (for its capture list).
struct Parent<'a> {
    n_slots: u32,
    cell_slots: &'a [u16],
    n_captures: usize,
}

/// Verifies `chunk` and all its children. `external_children` is the number of functions a
/// top-level unit's `MakeClosure` may name when its children are kept apart (the cache's top
/// unit); `None` means the chunk's own `children`. The root has no parent, so it captures
/// nothing.
pub fn verify(chunk: &Chunk, external_children: Option<usize>) -> Result<(), VerifyError> {
    check_chunk(chunk, None, external_children, true)
}

fn check_chunk(
    chunk: &Chunk,
    parent: Option<&Parent<'_>>,
    external_children: Option<usize>,
    is_root: bool,
) -> Result<(), VerifyError> {
    let v = Verifier { chunk };
    if chunk.is_top && !is_root {
        return Err(v.error(None, "a nested function is marked as the top level"));
    }
    if chunk.n_slots > MAX_SLOTS {
        return Err(v.error(None, format!("{} frame slots (at most {MAX_SLOTS})", chunk.n_slots)));
    }
    if u32::from(chunk.arity) > chunk.n_slots {
        return Err(v.error(None, "more parameters than frame slots"));
    }
    if chunk.min_arity > chunk.arity {
        return Err(v.error(None, "more required parameters than parameters"));
    }
    if chunk.slot_names.len() != chunk.n_slots as usize {
        return Err(v.error(None, "slot names do not match the frame size"));
    }
    if chunk.spans.len() != chunk.code.len() {
        return Err(v.error(None, "line table and code differ in length"));
    }
    if chunk.free_names.len() != chunk.captures.len() {
        return Err(v.error(None, "captured names do not match the capture list"));
    }
    match chunk.code.last() {
        None => return Err(v.error(None, "empty code")),
        Some(op) if !op.is_terminator() => {
            return Err(v.error(Some(chunk.code.len() - 1), "the last instruction is not a terminator"));
        }
        Some(_) => {}
    }
    if let Some(&slot) = chunk.cell_slots.iter().find(|&&s| u32::from(s) >= chunk.n_slots) {
        return Err(v.error(None, format!("cell slot {slot} out of range")));
    }
    v.check_captures(parent)?;
    v.check_loops()?;
    if let Some((pc, _)) = chunk.part_spans.iter().find(|(pc, _)| *pc as usize >= chunk.code.len()) {
        return Err(v.error(None, format!("part spans for pc {pc} past the end")));
    }
    if external_children.is_some() && !chunk.children.is_empty() {
        return Err(v.error(None, "a unit with external functions has children of its own"));
    }
    let n_children = external_children.unwrap_or(chunk.children.len());
    for (pc, op) in chunk.code.iter().enumerate() {
        v.check_operands(pc, op, n_children)?;
    }
    v.check_handler_bounds()?;
    let depths = v.check_stack()?;
    v.check_handler_depths(&depths)?;
    let me = Parent { n_slots: chunk.n_slots, cell_slots: &chunk.cell_slots, n_captures: chunk.captures.len() };
    for child in &chunk.children {
        check_chunk(child, Some(&me), None, false)?;
    }
    Ok(())
}

struct Verifier<'a> {
    chunk: &'a Chunk,
}

impl Verifier<'_> {
    #[cold]
    fn error(&self, pc: Option<usize>, message: impl Into<String>) -> VerifyError {
        VerifyError {
            function: self.chunk.display_name().to_string(),
            pc: pc.and_then(|p| u32::try_from(p).ok()),
            message: message.into(),
        }
    }

    fn check_captures(&self, parent: Option<&Parent<'_>>) -> Result<(), VerifyError> {
        for capture in &self.chunk.captures {
            let ok = match (capture, parent) {
                (_, None) => false,
                (Capture::Cell(slot), Some(p)) => u32::from(*slot) < p.n_slots && p.cell_slots.contains(slot),
                (Capture::Free(idx), Some(p)) => (*idx as usize) < p.n_captures,
            };
            if !ok {
                return Err(self.error(None, format!("capture {capture:?} does not exist in the creating function")));
            }
        }
        Ok(())
    }

    fn check_loops(&self) -> Result<(), VerifyError> {
        let len = self.chunk.code.len() as u64;
        for (id, l) in self.chunk.loops.iter().enumerate() {
            if u64::from(l.header) >= len || u64::from(l.back_edge) >= len || u64::from(l.exit) > len {
                return Err(self.error(None, format!("loop {id} points outside the code")));
            }
        }
        Ok(())
    }

    fn slot(&self, pc: usize, slot: u16) -> Result<(), VerifyError> {
        if u32::from(slot) < self.chunk.n_slots {
            Ok(())
        } else {
            Err(self.error(Some(pc), format!("slot {slot} out of range ({} slots)", self.chunk.n_slots)))
        }
    }

    fn pair(&self, pc: usize, slot: u16) -> Result<(), VerifyError> {
        if u32::from(slot) + 1 < self.chunk.n_slots {
            Ok(())
        } else {
            Err(self.error(Some(pc), format!("slot pair {slot} out of range")))
        }
    }

    fn cell(&self, pc: usize, slot: u16) -> Result<(), VerifyError> {
        self.slot(pc, slot)?;
        if self.chunk.cell_slots.contains(&slot) {
            Ok(())
        } else {
            Err(self.error(Some(pc), format!("slot {slot} is not a cell")))
        }
    }

    fn konst(&self, pc: usize, idx: u32) -> Result<&Const, VerifyError> {
        self.chunk.consts.get(idx as usize).ok_or_else(|| self.error(Some(pc), format!("constant {idx} out of range")))
    }

    fn name(&self, pc: usize, idx: u32) -> Result<(), VerifyError> {
        match self.konst(pc, idx)? {
            Const::Str(_) => Ok(()),
            _ => Err(self.error(Some(pc), format!("constant {idx} is not a name"))),
        }
    }

    fn check_operands(&self, pc: usize, op: &Op, n_children: usize) -> Result<(), VerifyError> {
        let chunk = self.chunk;
        if let Some(target) = op.jump_target()
            && target as usize >= chunk.code.len()
        {
            return Err(self.error(Some(pc), format!("jump target {target} outside the code")));
        }
        match *op {
            Op::Const { idx } => self.konst(pc, idx).map(|_| ()),
            Op::LoadLocal { slot } | Op::StoreLocal { slot } | Op::AddLocalImm { slot, .. } | Op::TryBegin { slot } => {
                self.slot(pc, slot)
            }
            Op::LoadLocal2 { a, b } => self.slot(pc, a).and_then(|_| self.slot(pc, b)),
            Op::AddLocalLocal { dst, src } => self.slot(pc, dst).and_then(|_| self.slot(pc, src)),
            Op::LoadCell { slot } | Op::StoreCell { slot } => self.cell(pc, slot),
            Op::LoadGlobal { idx } | Op::StoreGlobal { idx } | Op::ImportLoad { idx } | Op::ImportStore { idx } => {
                if (idx as usize) < chunk.globals.len() {
                    Ok(())
                } else {
                    Err(self.error(Some(pc), format!("global {idx} out of range")))
                }
            }
            Op::LoadFree { idx } | Op::StoreFree { idx } => {
                if (idx as usize) < chunk.captures.len() {
                    Ok(())
                } else {
                    Err(self.error(Some(pc), format!("captured variable {idx} out of range")))
                }
            }
            Op::CheckConst { name }
            | Op::GetMember { name }
            | Op::SetMember { name }
            | Op::CallMethod { name, .. }
            | Op::Emit { name, .. }
            | Op::NewEntity { name, .. } => self.name(pc, name),
            Op::LoopBack { loop_id, .. } => match chunk.loops.get(loop_id as usize) {
                Some(_) => Ok(()),
                None => Err(self.error(Some(pc), format!("loop {loop_id} out of range"))),
            },
            Op::ForNext { slot, .. } | Op::ForPrep { slot } => self.pair(pc, slot),
            Op::ForNext2 { slot, .. } | Op::ForPrep2 { slot } => self.pair(pc, slot.saturating_add(1)),
            Op::JumpIfBound { slot, .. } => self.slot(pc, slot),
            Op::MakeClosure { proto } => {
                if (proto as usize) < n_children {
                    Ok(())
                } else {
                    Err(self.error(Some(pc), format!("function {proto} out of range")))
                }
            }
            Op::Halt if !chunk.is_top => Err(self.error(Some(pc), "HALT outside the top level")),
            _ => Ok(()),
        }
    }

    /// The exception table (ERRORS.md): every range and handler inside the code, the
    /// transaction-depth slot in the frame, no handler inside its own range, and a handler's
    /// depth at most the depth of every instruction it protects (so unwinding only drops
    /// operands). The handlers' own depths are checked with the rest of the stack.
    fn check_handler_bounds(&self) -> Result<(), VerifyError> {
        let len = self.chunk.code.len();
        for (i, h) in self.chunk.handlers.iter().enumerate() {
            if h.start >= h.end || h.end as usize > len || h.target as usize >= len {
                return Err(self.error(None, format!("handler {i} points outside the code")));
            }
            if h.covers(h.target) {
                return Err(self.error(Some(h.target as usize), format!("handler {i} lies inside its own range")));
            }
            if u32::from(h.tx_slot) >= self.chunk.n_slots {
                return Err(self.error(None, format!("handler {i}: slot {} out of range", h.tx_slot)));
            }
        }
        Ok(())
    }

    /// The second half of the exception-table checks, once the stack depths are known.
    fn check_handler_depths(&self, depths: &[Option<u32>]) -> Result<(), VerifyError> {
        for (i, h) in self.chunk.handlers.iter().enumerate() {
            for pc in h.start..h.end {
                if let Some(d) = depths.get(pc as usize).copied().flatten()
                    && d < h.depth
                {
                    return Err(self.error(
                        Some(pc as usize),
                        format!("stack depth {d} inside handler {i}'s range, below its depth {}", h.depth),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The stack depth must be the same on every path and never negative, from pc 0 and from
    /// every handler (which starts with one value above its `try`'s depth). The walk is the
    /// one the register-form linker uses, [`stack_depths`]. Returns the depth before each
    /// instruction (`None` where nothing arrives).
    fn check_stack(&self) -> Result<Vec<Option<u32>>, VerifyError> {
        let code = &self.chunk.code;
        let depths = stack_depths(code, &self.chunk.handlers);
        let Some((pc, fault)) = depths.fault else { return Ok(depths.depth) };
        let message = match fault {
            DepthFault::OffTheEnd => "control runs off the end of the code".to_string(),
            DepthFault::Merge { here, seen } => format!("stack depth {here} here, but {seen} on another path"),
            DepthFault::Underflow { pops, depth } => {
                let name = code.get(pc).map(Op::name).unwrap_or("?");
                format!("{name} pops {pops} values from a stack of {depth}")
            }
        };
        Err(self.error(Some(pc), message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bytecode::chunk::LoopInfo;
    use crate::syntax::span::Span;

    fn chunk(code: Vec<Op>) -> Chunk {
        let mut c = Chunk::new(None, true, Span::default());
        c.spans = vec![Span::default(); code.len()];
        c.code = code;
        c.n_slots = 2;
        c.slot_names = vec!["a".into(), "b".into()];
        c.consts = vec![Const::Int(1), Const::Str("x".into())];
        c
    }

    fn check(code: Vec<Op>) -> Result<(), String> {
        verify(&chunk(code), None).map_err(|e| e.to_string())
    }

    #[test]
    fn accepts_well_formed_code() {
        assert_eq!(check(vec![Op::Const { idx: 0 }, Op::StoreLocal { slot: 1 }, Op::Halt]), Ok(()));
        let mut c = chunk(vec![Op::Int { value: 1 }, Op::JumpIfFalse { target: 3 }, Op::Nop, Op::Halt]);
        assert_eq!(verify(&c, None), Ok(()));
        c.code = vec![Op::True, Op::JumpIfFalse { target: 3 }, Op::LoopBack { target: 0, loop_id: 0 }, Op::Halt];
        c.spans = vec![Span::default(); 4];
        c.loops = vec![LoopInfo { header: 0, back_edge: 2, exit: 3 }];
        assert_eq!(verify(&c, None), Ok(()));
    }

    #[test]
    fn checks_exception_tables() {
        use crate::bytecode::handlers::{Handler, HandlerKind};
        // try { throw 1 } catch (b) { } with the tx depth in slot a.
        let code =
            vec![Op::TryBegin { slot: 0 }, Op::Int { value: 1 }, Op::Throw, Op::StoreLocal { slot: 1 }, Op::Halt];
        let good = Handler { start: 1, end: 3, target: 3, depth: 0, tx_slot: 0, kind: HandlerKind::Catch };
        let with = |h: Handler| {
            let mut c = chunk(code.clone());
            c.handlers = vec![h];
            verify(&c, None).map_err(|e| e.to_string())
        };
        assert_eq!(with(good), Ok(()));
        let cases = [
            (Handler { target: 9, ..good }, "points outside the code"),
            (Handler { end: 1, ..good }, "points outside the code"),
            (Handler { start: 1, end: 4, ..good }, "inside its own range"),
            (Handler { tx_slot: 5, ..good }, "slot 5 out of range"),
            (Handler { depth: 1, ..good }, "below its depth"),
        ];
        for (h, want) in cases {
            let got = with(h).expect_err(want);
            assert!(got.contains(want), "{h:?}: {got}");
        }
    }

    #[test]
    fn rejects_out_of_range_operands() {
        let cases = [
            (vec![Op::Const { idx: 9 }, Op::Pop, Op::Halt], "constant 9 out of range"),
            (vec![Op::LoadLocal { slot: 2 }, Op::Pop, Op::Halt], "slot 2 out of range"),
            (vec![Op::LoadGlobal { idx: 0 }, Op::Pop, Op::Halt], "global 0 out of range"),
            (vec![Op::LoadFree { idx: 0 }, Op::Pop, Op::Halt], "captured variable 0 out of range"),
            (vec![Op::MakeClosure { proto: 0 }, Op::Pop, Op::Halt], "function 0 out of range"),
            (vec![Op::Jump { target: 7 }, Op::Halt], "jump target 7 outside the code"),
            (vec![Op::LoopBack { target: 0, loop_id: 3 }, Op::Halt], "loop 3 out of range"),
            (vec![Op::CheckConst { name: 0 }, Op::Halt], "constant 0 is not a name"),
            (vec![Op::ForPrep { slot: 1 }, Op::Halt], "slot pair 1 out of range"),
            (vec![Op::LoadCell { slot: 0 }, Op::Pop, Op::Halt], "slot 0 is not a cell"),
        ];
        for (code, want) in cases {
            let got = check(code.clone()).expect_err("must be rejected");
            assert!(got.contains(want), "{code:?}: {got}");
        }
    }

    #[test]
    fn rejects_bad_stacks_and_endings() {
        let underflow = check(vec![Op::Pop, Op::Halt]).expect_err("underflow");
        assert!(underflow.contains("pops 1 values from a stack of 0"), "{underflow}");
        // One path reaches pc 3 with one value, the other with none.
        let merge =
            check(vec![Op::True, Op::JumpIfTrue { target: 3 }, Op::Int { value: 1 }, Op::Halt]).expect_err("merge");
        assert!(merge.contains("stack depth"), "{merge}");
        let fall = check(vec![Op::Int { value: 1 }, Op::Pop]).expect_err("no terminator");
        assert!(fall.contains("not a terminator"), "{fall}");
        assert!(check(vec![]).expect_err("empty").contains("empty code"));
        let mut c = chunk(vec![Op::Halt]);
        c.spans.clear();
        assert!(verify(&c, None).is_err());
    }

    #[test]
    fn checks_children_and_their_captures() {
        let mut top = chunk(vec![Op::MakeClosure { proto: 0 }, Op::Pop, Op::Halt]);
        let mut child = chunk(vec![Op::LoadFree { idx: 0 }, Op::Return]);
        child.is_top = false;
        child.captures = vec![Capture::Cell(1)];
        child.free_names = vec!["b".into()];
        top.children.push(child);
        let err = verify(&top, None).expect_err("slot 1 is not a cell of the parent");
        assert!(err.message.contains("does not exist"), "{err}");
        top.cell_slots = vec![1];
        assert_eq!(verify(&top, None), Ok(()));
        assert!(verify(&top, Some(1)).is_err(), "external children and own children together");
        top.children.clear();
        assert_eq!(verify(&top, Some(1)), Ok(()));
    }
}
