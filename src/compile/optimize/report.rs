//! Human-readable optimizer reports: the `dis` views (before, after, diff, side by side) and the
//! per-pass figures.

use std::fmt::Write as _;

use super::PassStats;
use crate::bytecode::chunk::Chunk;
use crate::bytecode::disasm::{format_row, listing, rows};
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

fn chunk_rows_text(chunk: &Chunk, src: &str, map: &SourceMap, with_pc: bool) -> Vec<String> {
    rows(chunk, src, map)
        .iter()
        .map(|r| {
            if with_pc {
                format_row(r)
            } else {
                let mut t = format!("{:>4}  {:<16} {:<8}", r.line, r.opcode, r.operand);
                if !r.comment.is_empty() {
                    let _ = write!(t, " ; {}", r.comment);
                }
                t.trim_end().to_string()
            }
        })
        .collect()
}

fn walk_pairs<'a>(before: &'a Chunk, after: &'a Chunk, out: &mut Vec<(&'a Chunk, &'a Chunk)>) {
    out.push((before, after));
    for (b, a) in before.children.iter().zip(after.children.iter()) {
        walk_pairs(b, a, out);
    }
}

/// The `dis` output in one of its modes (`before`, `after`, `diff`, `side-by-side`), followed by
/// the optimizer figures.
pub fn render_dis(before: &Chunk, after: &Chunk, stats: &[PassStats], src: &str, mode: &str) -> String {
    let map = SourceMap::new(src);
    let mut out = String::new();
    match mode {
        "before" => out.push_str(&listing(before, src)),
        "after" => out.push_str(&listing(after, src)),
        _ => {
            let mut pairs = Vec::new();
            walk_pairs(before, after, &mut pairs);
            for (b, a) in pairs {
                let _ = writeln!(out, "== {} ({} -> {} instructions) ==", a.display_name(), b.code.len(), a.code.len());
                if mode == "diff" {
                    let old = chunk_rows_text(b, src, &map, false).join("\n") + "\n";
                    let new = chunk_rows_text(a, src, &map, false).join("\n") + "\n";
                    let diff = similar::TextDiff::from_lines(&old, &new);
                    for change in diff.iter_all_changes() {
                        let sign = match change.tag() {
                            similar::ChangeTag::Delete => "-",
                            similar::ChangeTag::Insert => "+",
                            similar::ChangeTag::Equal => " ",
                        };
                        let _ = write!(out, "{sign}{change}");
                    }
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
