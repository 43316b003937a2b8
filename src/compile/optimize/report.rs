//! Human-readable optimizer reports: the `dis` views (before, after, diff, side by side) and the
//! per-pass figures.

use std::fmt::Write as _;

use super::PassStats;
use crate::bytecode::chunk::Chunk;
use crate::bytecode::disasm::{ListingRow, format_row, listing, rows};
use crate::syntax::span::SourceMap;

/// The figures of an optimization: per pass and in total.
pub fn pass_report(before: &Chunk, after: &Chunk, stats: &[PassStats]) -> String {
    let mut out = String::from("optimizer:\n");
    let _ = writeln!(
        out,
        "  {:<10} {:>8} {:>8} {:>8} {:>8} {:>8}",
        "pass", "removed", "folded", "branches", "threaded", "fused"
    );
    for s in stats {
        let _ = writeln!(
            out,
            "  {:<10} {:>8} {:>8} {:>8} {:>8} {:>8}",
            s.pass, s.removed, s.folded, s.branches_resolved, s.jumps_threaded, s.fused
        );
    }
    let (b, a) = (before.total_len(), after.total_len());
    let pct = if b == 0 { 0.0 } else { 100.0 * (b as f64 - a as f64) / b as f64 };
    let _ = writeln!(out, "  total: {b} -> {a} instructions ({pct:.1}% fewer)");
    out
}

/// How `dis` shows the listings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisMode {
    /// Unoptimized only.
    Before,
    /// Optimized only.
    After,
    /// Unified diff.
    Diff,
    /// Two columns.
    SideBySide,
}

/// A listing row without its pc, for diffs (pcs shift when a pass removes code; without them
/// the diff shows only real changes).
pub fn format_row_without_pc(row: &ListingRow) -> String {
    let mut t = format!("{:>4}  {:<16} {:<8}", row.line, row.opcode, row.operand);
    if !row.comment.is_empty() {
        let _ = write!(t, " ; {}", row.comment);
    }
    t.trim_end().to_string()
}

/// Appends the unified diff of two texts to `out`, one `-`, `+` or ` ` line per line.
pub fn unified_diff(old: &str, new: &str, out: &mut String) {
    let diff = similar::TextDiff::from_lines(old, new);
    for change in diff.iter_all_changes() {
        let sign = match change.tag() {
            similar::ChangeTag::Delete => "-",
            similar::ChangeTag::Insert => "+",
            similar::ChangeTag::Equal => " ",
        };
        let _ = write!(out, "{sign}{change}");
    }
}

fn chunk_rows_text(chunk: &Chunk, src: &str, map: &SourceMap, with_pc: bool) -> Vec<String> {
    let format = if with_pc { format_row } else { format_row_without_pc };
    rows(chunk, src, map).iter().map(format).collect()
}

/// The `dis` output in one of its modes, followed by the optimizer figures.
pub fn render_dis(before: &Chunk, after: &Chunk, stats: &[PassStats], src: &str, mode: DisMode) -> String {
    let map = SourceMap::new(src);
    let mut out = String::new();
    match mode {
        DisMode::Before => out.push_str(&listing(before, src)),
        DisMode::After => out.push_str(&listing(after, src)),
        DisMode::Diff | DisMode::SideBySide => {
            // The optimizer never adds or removes functions, so the two trees have one shape.
            for (b, a) in before.preorder().into_iter().zip(after.preorder()) {
                let _ = writeln!(out, "== {} ({} -> {} instructions) ==", a.display_name(), b.code.len(), a.code.len());
                if mode == DisMode::Diff {
                    let old = chunk_rows_text(b, src, &map, false).join("\n") + "\n";
                    let new = chunk_rows_text(a, src, &map, false).join("\n") + "\n";
                    unified_diff(&old, &new, &mut out);
                } else {
                    let left = chunk_rows_text(b, src, &map, true);
                    let right = chunk_rows_text(a, src, &map, true);
                    let width = left.iter().map(|l| l.chars().count()).max().unwrap_or(0).max(20);
                    let _ = writeln!(out, "{:<width$} | after", "before");
                    for i in 0..left.len().max(right.len()) {
                        let l = left.get(i).map(String::as_str).unwrap_or("");
                        let r = right.get(i).map(String::as_str).unwrap_or("");
                        let _ = writeln!(out, "{:<width$} | {}", l, r);
                    }
                }
                out.push('\n');
            }
        }
    }
    out.push_str(&pass_report(before, after, stats));
    out
}
