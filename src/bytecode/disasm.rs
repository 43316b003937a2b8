//! The one listing format, used by `dis`, the bytecode pane and golden files:
//! `pc  line  OPCODE  operand  ; comment`, with `>` marking jump targets.

use std::collections::HashSet;
use std::fmt::Write as _;

use super::chunk::{Chunk, Const};
use super::handlers::HandlerKind;
use super::op::{Flow, Op};
use crate::syntax::span::SourceMap;

/// One row of a listing.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ListingRow {
    /// Instruction index.
    pub pc: u32,
    /// 1-based source line.
    pub line: u32,
    /// True if some jump lands here.
    pub is_target: bool,
    /// Opcode name.
    pub opcode: &'static str,
    /// Operand text.
    pub operand: String,
    /// Comment (constant values, names, targets).
    pub comment: String,
}

fn const_text(c: &Const) -> String {
    match c {
        Const::Int(i) => i.to_string(),
        Const::Float(f) => {
            let mut s = String::new();
            crate::text::format_float(*f, &mut s);
            s
        }
        Const::Str(s) => {
            let mut out = String::new();
            crate::text::repr_str(s, &mut out);
            out
        }
    }
}

/// Operand and comment text of one instruction. The operand column comes from the opcode
/// table ([`Op::operand_text`]); the comment names what the operands refer to.
pub fn describe(op: &Op, chunk: &Chunk) -> (String, String) {
    let operand = match *op {
        // The loop id is in the comment only.
        Op::LoopBack { target, .. } => target.to_string(),
        _ => op.operand_text(),
    };
    (operand, comment(op, chunk))
}

fn comment(op: &Op, chunk: &Chunk) -> String {
    let name = |idx: usize, names: &[String]| names.get(idx).cloned().unwrap_or_else(|| "?".into());
    let konst = |idx: u32| chunk.consts.get(idx as usize).map(const_text).unwrap_or_else(|| "?".into());
    let slot = |s: u16| name(s as usize, &chunk.slot_names);
    match *op {
        Op::Const { idx } => konst(idx),
        Op::LoadLocal { slot: s }
        | Op::StoreLocal { slot: s }
        | Op::LoadCell { slot: s }
        | Op::StoreCell { slot: s } => slot(s),
        Op::LoadGlobal { idx } | Op::StoreGlobal { idx } | Op::ImportLoad { idx } | Op::ImportStore { idx } => {
            name(idx as usize, &chunk.globals)
        }
        Op::LoadFree { idx } | Op::StoreFree { idx } => name(idx as usize, &chunk.free_names),
        Op::CheckConst { name }
        | Op::GetMember { name }
        | Op::SetMember { name }
        | Op::Emit { name, .. }
        | Op::NewEntity { name, .. } => konst(name),
        Op::LoopBack { target, loop_id } => format!("loop {loop_id} to {target}"),
        Op::ForNext { slot: s, exit } => format!("{}, exit to {exit}", slot(s)),
        Op::ForPrep { slot: s } | Op::ForPrep2 { slot: s } | Op::TryBegin { slot: s } => slot(s),
        Op::ForNext2 { slot: s, exit } => format!("{}, exit to {exit}", slot(s)),
        Op::JumpIfBound { slot: s, target } => format!("{} given, to {target}", slot(s)),
        Op::CallMethod { name, .. } => {
            format!(".{}", chunk.consts.get(name as usize).map(const_text).unwrap_or_default().trim_matches('"'))
        }
        Op::MakeClosure { proto } => {
            chunk.children.get(proto as usize).map(|c| format!("<function {}>", c.display_name())).unwrap_or_default()
        }
        Op::LoadLocal2 { a, b } => format!("{}, {}", slot(a), slot(b)),
        Op::AddLocalImm { slot: s, imm } => format!("{} += {imm}", slot(s)),
        Op::AddLocalLocal { dst, src } => format!("{} += {}", slot(dst), slot(src)),
        Op::BranchLocals { cmp, a, b, target } => {
            format!("unless {} {} {} to {target}", slot(a), cmp.symbol(), slot(b))
        }
        Op::BranchLocalImm { cmp, a, imm, target } => format!("unless {} {} {imm} to {target}", slot(a), cmp.symbol()),
        _ => match op.flow() {
            Flow::Goto(target) | Flow::Branch(target) | Flow::KeepOnJump(target) => format!("to {target}"),
            _ => String::new(),
        },
    }
}

fn handler_kind(kind: HandlerKind) -> &'static str {
    match kind {
        HandlerKind::Catch => "catch",
        HandlerKind::Finally => "finally",
    }
}

/// The rows of one chunk's listing (not its children).
pub fn rows(chunk: &Chunk, src: &str, map: &SourceMap) -> Vec<ListingRow> {
    let mut targets: HashSet<u32> = chunk.code.iter().filter_map(Op::jump_target).collect();
    targets.extend(chunk.handlers.iter().map(|h| h.target));
    chunk
        .code
        .iter()
        .enumerate()
        .map(|(pc, op)| {
            let span = chunk.spans.get(pc).copied().unwrap_or_default();
            let (operand, mut comment) = describe(op, chunk);
            // Handler entries are marked where they start (ERRORS.md).
            for h in chunk.handlers.iter().filter(|h| h.target as usize == pc) {
                let note = format!("{} handler for {}..{}", handler_kind(h.kind), h.start, h.end);
                comment = if comment.is_empty() { note } else { format!("{comment}; {note}") };
            }
            ListingRow {
                pc: pc as u32,
                line: map.line_col(src, span.start).line,
                is_target: targets.contains(&(pc as u32)),
                opcode: op.name(),
                operand,
                comment,
            }
        })
        .collect()
}

/// Formats one row.
pub fn format_row(row: &ListingRow) -> String {
    let mut line = format!(
        "{}{:>4}  {:>4}  {:<16} {:<8}",
        if row.is_target { ">" } else { " " },
        row.pc,
        row.line,
        row.opcode,
        row.operand
    );
    if !row.comment.is_empty() {
        let _ = write!(line, " ; {}", row.comment);
    }
    line.trim_end().to_string()
}

/// The full listing of a chunk and, after it, each of its children (depth first).
pub fn listing(chunk: &Chunk, src: &str) -> String {
    let map = SourceMap::new(src);
    let mut out = String::new();
    write_chunk(chunk, src, &map, &mut out);
    out
}

fn write_chunk(chunk: &Chunk, src: &str, map: &SourceMap, out: &mut String) {
    let _ = writeln!(
        out,
        "== {} (params {}, slots {}, {} instructions) ==",
        chunk.display_name(),
        chunk.arity,
        chunk.n_slots,
        chunk.code.len()
    );
    for row in rows(chunk, src, map) {
        out.push_str(&format_row(&row));
        out.push('\n');
    }
    if !chunk.handlers.is_empty() {
        out.push_str("  handlers (innermost first):\n");
        for h in &chunk.handlers {
            let slot = chunk.slot_names.get(h.tx_slot as usize).map(String::as_str).unwrap_or("?");
            let _ = writeln!(
                out,
                "    {:>4}..{:<4} -> {:<4} {:<7} depth {}, tx depth in {slot}",
                h.start,
                h.end,
                h.target,
                handler_kind(h.kind),
                h.depth
            );
        }
    }
    for child in &chunk.children {
        out.push('\n');
        write_chunk(child, src, map, out);
    }
}
