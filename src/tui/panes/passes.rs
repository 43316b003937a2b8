//! The optimizer pass by pass, a view of the bytecode pane: choose a pass (`[` `]`) and see
//! every function's listing before it (left) and after it (right). Instructions the pass
//! removed are marked `-` on the left, instructions it created or changed `+` on the right,
//! and the rows the cursor's instruction came from are highlighted on the left. The same data
//! prints headless with `zexus-tui dis --by-pass`.

use std::collections::HashMap;
use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};

use super::{Command, Overlay, Scroll, fill_row, put, put_raw};
use crate::bytecode::disasm::ListingRow;
use crate::engine::snapshot::{FunctionInfo, SessionSnapshot};
use crate::tui::keys::{self, Action};
use crate::tui::theme::Theme;

/// One row of a flattened stage: a function header or an instruction index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Row {
    Header(u32),
    Instr(u32, usize),
}

/// What the pass did to one function.
#[derive(Debug, Default)]
struct Marks {
    /// Per instruction before the pass: true if the pass removed or rewrote it (it does not
    /// survive unchanged).
    removed: Vec<bool>,
    /// Per instruction after the pass: true if the pass created or changed it.
    changed: Vec<bool>,
    /// Per instruction after the pass: the instructions before it that it came from.
    sources: Vec<Vec<usize>>,
}

/// The pass-by-pass view.
#[derive(Default)]
pub struct PassesView {
    /// The pass shown (0-based).
    pub pass: usize,
    before: Vec<Row>,
    after: Vec<Row>,
    before_starts: Vec<usize>,
    marks: Vec<Marks>,
    scroll: Scroll,
    built_for: Option<(usize, usize)>,
    snap: Option<Arc<SessionSnapshot>>,
}

/// The rows of function `info` at `stage` (0: unoptimized; `k`: after the `k`-th pass).
fn stage_rows(info: &FunctionInfo, stage: usize) -> Option<&[ListingRow]> {
    if stage == 0 { Some(&info.unoptimized) } else { info.passes.get(stage - 1).map(|p| p.rows.as_slice()) }
}

/// The unoptimized pcs instruction `idx` of `stage` stands for.
fn stage_origins(info: &FunctionInfo, stage: usize, idx: usize) -> Vec<u32> {
    if stage == 0 {
        vec![idx as u32]
    } else {
        info.passes.get(stage - 1).and_then(|p| p.origins.get(idx)).cloned().unwrap_or_default()
    }
}

fn same_instruction(a: &ListingRow, b: &ListingRow) -> bool {
    a.opcode == b.opcode && a.operand == b.operand
}

impl PassesView {
    /// How many passes the program went through.
    pub fn pass_count(snap: &SessionSnapshot) -> usize {
        snap.program.functions.first().map_or(0, |f| f.passes.len())
    }

    /// Rebuilds the rows and marks for the chosen pass, if the snapshot's program or the pass
    /// changed.
    fn rebuild(&mut self, snap: &Arc<SessionSnapshot>) {
        let key = (Arc::as_ptr(&snap.program) as usize, self.pass);
        if self.built_for == Some(key) {
            return;
        }
        self.built_for = Some(key);
        let (before, after) = (self.pass, self.pass + 1);
        self.before.clear();
        self.after.clear();
        self.before_starts.clear();
        self.marks.clear();
        for f in &snap.program.functions {
            let (Some(b), Some(a)) = (stage_rows(f, before), stage_rows(f, after)) else {
                self.marks.push(Marks::default());
                self.before_starts.push(self.before.len());
                continue;
            };
            self.before_starts.push(self.before.len());
            self.before.push(Row::Header(f.id));
            self.before.extend((0..b.len()).map(|i| Row::Instr(f.id, i)));
            self.after.push(Row::Header(f.id));
            self.after.extend((0..a.len()).map(|i| Row::Instr(f.id, i)));
            // Where each unoptimized pc lives before the pass.
            let mut home: HashMap<u32, usize> = HashMap::new();
            for i in 0..b.len() {
                for origin in stage_origins(f, before, i) {
                    home.insert(origin, i);
                }
            }
            let mut removed = vec![true; b.len()];
            let mut changed = Vec::with_capacity(a.len());
            let mut sources = Vec::with_capacity(a.len());
            for (i, row) in a.iter().enumerate() {
                let mut from: Vec<usize> =
                    stage_origins(f, after, i).iter().filter_map(|o| home.get(o).copied()).collect();
                from.dedup();
                let unchanged = from.len() == 1
                    && from.first().and_then(|&j| b.get(j)).is_some_and(|old| same_instruction(old, row));
                if unchanged && let Some(r) = from.first().and_then(|&j| removed.get_mut(j)) {
                    *r = false;
                }
                changed.push(!unchanged);
                sources.push(from);
            }
            self.marks.push(Marks { removed, changed, sources });
        }
    }

    /// Handles the view's keys: `[` `]` (or ← →) choose the pass; navigation moves the cursor.
    /// Returns a status message when the pass changes.
    fn handle_key(&mut self, key: KeyEvent, snap: &Arc<SessionSnapshot>) -> Option<Option<String>> {
        let n = PassesView::pass_count(snap);
        if let Some(nav) = keys::nav(&key) {
            self.scroll.nav(nav, self.after.len());
            return Some(None);
        }
        let step: i64 = match key.code {
            KeyCode::Char(']') | KeyCode::Right => 1,
            KeyCode::Char('[') | KeyCode::Left => -1,
            _ => return None,
        };
        if n == 0 {
            return Some(Some("no optimizer passes (-O0)".to_string()));
        }
        self.pass = (self.pass as i64 + step).rem_euclid(n as i64) as usize;
        self.rebuild(snap);
        self.scroll.cursor = self.scroll.cursor.min(self.after.len().saturating_sub(1));
        let name = snap.program.functions.first().and_then(|f| f.passes.get(self.pass)).map_or("?", |p| p.pass);
        Some(Some(format!("pass {} of {n}: {name}", self.pass + 1)))
    }

    /// A click on row `row`.
    pub fn click(&mut self, row: u16) {
        self.scroll.click(row, self.after.len());
    }

    /// The title detail: which pass, and what it did.
    pub fn detail(&self, snap: &SessionSnapshot) -> String {
        let n = PassesView::pass_count(snap);
        let Some(name) = snap.program.functions.first().and_then(|f| f.passes.get(self.pass)).map(|p| p.pass) else {
            return "· passes".to_string();
        };
        let mut what = Vec::new();
        if let Some(s) = snap.program.pass_stats.get(self.pass) {
            for (k, label) in [
                (s.removed, "removed"),
                (s.folded, "folded"),
                (s.branches_resolved, "branches"),
                (s.jumps_threaded, "jumps"),
                (s.fused, "fused"),
            ] {
                if k > 0 {
                    what.push(format!("{k} {label}"));
                }
            }
        }
        let what = if what.is_empty() { "no change".to_string() } else { what.join(", ") };
        format!("· pass {}/{n} {name}: {what} · [ ] pass", self.pass + 1)
    }

    /// Draws before (left) and after (right) into `inner`.
    fn render_with(&self, snap: &SessionSnapshot, inner: Rect, buf: &mut Buffer, theme: &Theme, focused: bool) {
        if PassesView::pass_count(snap) == 0 {
            super::placeholder(buf, inner, &["no optimizer passes ran (-O0)"], theme);
            return;
        }
        let half = inner.width / 2;
        let left = Rect { width: half.saturating_sub(1), ..inner };
        let right = Rect { x: inner.x + half, width: inner.width - half, ..inner };
        for y in inner.top()..inner.bottom() {
            put_raw(buf, inner.x + half.saturating_sub(1), y, "│", 1, Style::new().fg(theme.border).bg(theme.bg));
        }
        let window = self.scroll.window(self.after.len(), inner.height as usize);
        let cursor_sources: (Option<u32>, Vec<usize>) = match self.after.get(self.scroll.cursor) {
            Some(Row::Instr(f, i)) => {
                (Some(*f), self.marks.get(*f as usize).and_then(|m| m.sources.get(*i)).cloned().unwrap_or_default())
            }
            _ => (None, Vec::new()),
        };
        // Align the left side so the cursor's first source sits beside it.
        let anchor = match (self.after.get(self.scroll.cursor), cursor_sources.1.first()) {
            (Some(Row::Instr(f, _)), Some(&j)) => self.before_starts.get(*f as usize).map(|s| s + 1 + j),
            (Some(Row::Instr(f, _) | Row::Header(f)), None) => self.before_starts.get(*f as usize).copied(),
            _ => None,
        }
        .unwrap_or(0);
        let screen_row = self.scroll.cursor.saturating_sub(window.start);
        let left_start = anchor.saturating_sub(screen_row);
        let left_window = left_start..(left_start + inner.height as usize).min(self.before.len());
        self.render_side(snap, false, left_window, left, buf, theme, None, &cursor_sources);
        let cursor = focused.then_some(self.scroll.cursor);
        self.render_side(snap, true, window, right, buf, theme, cursor, &cursor_sources);
    }

    #[allow(clippy::too_many_arguments)]
    fn render_side(
        &self,
        snap: &SessionSnapshot,
        after: bool,
        window: std::ops::Range<usize>,
        area: Rect,
        buf: &mut Buffer,
        theme: &Theme,
        cursor: Option<usize>,
        cursor_sources: &(Option<u32>, Vec<usize>),
    ) {
        let rows = if after { &self.after } else { &self.before };
        let stage = if after { self.pass + 1 } else { self.pass };
        for (row_index, idx) in window.enumerate() {
            let y = area.y + row_index as u16;
            if y >= area.bottom() {
                break;
            }
            let Some(row) = rows.get(idx) else { break };
            let right = area.right();
            match *row {
                Row::Header(f) => {
                    let info = snap.function(f);
                    let n = info.and_then(|i| stage_rows(i, stage)).map_or(0, <[ListingRow]>::len);
                    let name = info.map_or("?", |i| i.name.as_str());
                    let style = if cursor == Some(idx) { theme.cursor() } else { theme.text() };
                    fill_row(buf, area, y, style);
                    let x =
                        put(buf, area.x, y, &format!("── {name} ({n} instr) "), area.width, style.fg(theme.heading));
                    let rest = "─".repeat(right.saturating_sub(x) as usize);
                    put_raw(buf, x, y, &rest, right.saturating_sub(x), style.fg(theme.border));
                }
                Row::Instr(f, i) => {
                    let Some(info) = snap.function(f) else { continue };
                    let Some(lr) = stage_rows(info, stage).and_then(|r| r.get(i)) else { continue };
                    let marks = self.marks.get(f as usize);
                    let (mark, mark_color) = if after {
                        match marks.and_then(|m| m.changed.get(i)).copied() {
                            Some(true) => ("+", Some(theme.diff_added)),
                            _ => (" ", None),
                        }
                    } else {
                        match marks.and_then(|m| m.removed.get(i)).copied() {
                            Some(true) => ("-", Some(theme.diff_removed)),
                            _ => (" ", None),
                        }
                    };
                    let is_source = !after && cursor_sources.0 == Some(f) && cursor_sources.1.contains(&i);
                    let style = if cursor == Some(idx) {
                        theme.cursor()
                    } else if is_source {
                        theme.mapping()
                    } else {
                        theme.text()
                    };
                    fill_row(buf, area, y, style);
                    let mark_style = match mark_color {
                        Some(c) => style.fg(c).add_modifier(Modifier::BOLD),
                        None => style,
                    };
                    let mut x = put_raw(buf, area.x, y, mark, area.width, mark_style);
                    let head = format!("{}{:>4} {:>4}  ", if lr.is_target { ">" } else { " " }, lr.pc, lr.line);
                    x = put_raw(buf, x, y, &head, right.saturating_sub(x), style.fg(theme.line_number));
                    let opcode_style = match mark_color {
                        Some(c) => style.fg(c),
                        None => style.fg(theme.opcode),
                    };
                    x = put_raw(buf, x, y, &format!("{:<16} ", lr.opcode), right.saturating_sub(x), opcode_style);
                    let mut tail = format!("{:<8}", lr.operand);
                    if !lr.comment.is_empty() {
                        tail.push_str(" ; ");
                        tail.push_str(&lr.comment);
                    }
                    put(buf, x, y, tail.trim_end(), right.saturating_sub(x), style);
                }
            }
        }
    }
}

impl Overlay for PassesView {
    fn update(&mut self, snap: &Arc<SessionSnapshot>) {
        self.snap = Some(snap.clone());
        self.rebuild(snap);
    }

    fn render(&self, area: Rect, buf: &mut Buffer, theme: &Theme, focused: bool) {
        if let Some(snap) = &self.snap {
            self.render_with(snap, area, buf, theme, focused);
        }
    }

    fn handle(&mut self, key: KeyEvent) -> Option<Option<Action>> {
        let snap = self.snap.clone()?;
        self.handle_key(key, &snap).map(|message| message.map(Action::Status))
    }

    fn commands(&self) -> &'static [Command] {
        &[("v", "view"), ("[ ]", "pass")]
    }

    fn scroll(&mut self, lines: i32) {
        self.scroll.move_by(lines, self.after.len());
    }
}
