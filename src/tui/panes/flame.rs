//! The flame view (`P`): the run's call tree as a flame graph, or the function table, over
//! the whole screen, redrawn from every snapshot while the program runs.
//!
//! The graph is drawn top down (an icicle): `<main>` on the first row, each callee below its
//! caller, a bar's width its share of the zoomed frame's instructions. The part of a bar that
//! ran as native code is drawn in the JIT colour at its right end, the interpreted part in the
//! sparkline colour, so the two are told apart at a glance (and the detail line gives the
//! figures). The selection and the zoom are kept as paths of function ids, so they survive
//! the tree growing under them.

use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};

use super::{Command, Overlay, Scroll, fill_row, frame, put, put_raw, thousands, title};
use crate::engine::flame::{FlameNode, FlameView, FunctionRow, SortKey};
use crate::engine::snapshot::SessionSnapshot;
use crate::tui::keys;
use crate::tui::keys::Action;
use crate::tui::theme::Theme;

/// What the view shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlameMode {
    /// The flame graph.
    Graph,
    /// The function table.
    Table,
}

/// The flame view.
pub struct FlameOverlay {
    snap: Option<Arc<SessionSnapshot>>,
    /// Graph or table.
    pub mode: FlameMode,
    /// The zoomed frame, as function ids from `<main>` (empty: the whole run).
    zoom: Vec<u32>,
    /// The selected frame, as function ids from `<main>` (starts with `zoom`).
    selected: Vec<u32>,
    /// The table's sort column.
    pub sort: SortKey,
    table: Scroll,
}

const GRAPH_COMMANDS: &[Command] =
    &[("Enter", "zoom"), ("⌫", "out"), ("←→↑↓", "select"), ("v", "table"), ("d", "source"), ("L", "loop")];
const TABLE_COMMANDS: &[Command] = &[("a", "sort"), ("Enter", "source"), ("L", "loop"), ("v", "graph")];

impl Default for FlameOverlay {
    fn default() -> Self {
        FlameOverlay::new()
    }
}

impl FlameOverlay {
    /// The graph of the whole run, `<main>` selected.
    pub fn new() -> FlameOverlay {
        FlameOverlay {
            snap: None,
            mode: FlameMode::Graph,
            zoom: Vec::new(),
            selected: Vec::new(),
            sort: SortKey::Total,
            table: Scroll::default(),
        }
    }

    fn view(&self) -> Option<&FlameView> {
        self.snap.as_ref()?.flame.as_ref()
    }

    /// The node at `path` (function ids from `<main>`), or the deepest one on it that exists.
    fn resolve(view: &FlameView, path: &[u32]) -> Option<usize> {
        let root = view.nodes.first()?;
        let mut at = 0usize;
        if path.first().is_some_and(|&f| f != root.func) {
            return Some(0);
        }
        for &func in path.iter().skip(1) {
            let next = view.nodes[at].children.iter().map(|&c| c as usize).find(|&c| view.nodes[c].func == func);
            match next {
                Some(c) => at = c,
                None => break,
            }
        }
        Some(at)
    }

    fn path_of(view: &FlameView, idx: usize) -> Vec<u32> {
        let mut out = Vec::new();
        let mut at = Some(idx);
        while let Some(i) = at {
            let Some(n) = view.nodes.get(i) else { break };
            out.push(n.func);
            at = n.parent.map(|p| p as usize);
        }
        out.reverse();
        out
    }

    /// The zoomed and the selected node.
    fn focus(&self) -> Option<(usize, usize)> {
        let view = self.view()?;
        let zoom = Self::resolve(view, &self.zoom)?;
        let selected = if self.selected.len() >= self.zoom.len() { Self::resolve(view, &self.selected)? } else { zoom };
        Some((zoom, selected))
    }

    fn select(&mut self, idx: usize) {
        if let Some(view) = self.view() {
            self.selected = Self::path_of(view, idx);
        }
    }

    fn graph_key(&mut self, key: KeyEvent) -> Option<Option<Action>> {
        let (zoom, selected) = self.focus().unwrap_or((0, 0));
        let view = self.view()?.clone();
        let node = view.nodes.get(selected)?;
        let siblings: Vec<usize> = match node.parent {
            Some(p) if selected != zoom => view.nodes[p as usize].children.iter().map(|&c| c as usize).collect(),
            _ => vec![selected],
        };
        let at = siblings.iter().position(|&s| s == selected).unwrap_or(0);
        let nav = keys::nav(&key);
        match key.code {
            KeyCode::Enter => {
                self.zoom = Self::path_of(&view, selected);
                self.selected = self.zoom.clone();
            }
            KeyCode::Backspace | KeyCode::Esc => {
                if self.zoom.len() <= 1 {
                    // Nothing to zoom out of: Esc closes the view, Backspace does nothing.
                    return if key.code == KeyCode::Esc { None } else { Some(None) };
                }
                self.zoom.pop();
            }
            KeyCode::Left | KeyCode::Char('h') => self.select(siblings[at.saturating_sub(1)]),
            KeyCode::Right | KeyCode::Char('l') => self.select(siblings[(at + 1).min(siblings.len() - 1)]),
            _ if nav == Some(keys::Nav::Up) => {
                if selected != zoom
                    && let Some(p) = node.parent
                {
                    self.select(p as usize);
                }
            }
            _ if nav == Some(keys::Nav::Down) => {
                if let Some(&c) = node.children.first() {
                    self.select(c as usize);
                }
            }
            _ if nav == Some(keys::Nav::Top) => self.selected = self.zoom.clone(),
            KeyCode::Char('d') => return Some(self.show_source(node.func)),
            KeyCode::Char('L') => return Some(Some(self.loop_view(node.func, &node.name))),
            _ => return None,
        }
        Some(None)
    }

    fn table_rows(&self) -> Vec<FunctionRow> {
        self.view().map(|v| v.sorted_functions(self.sort)).unwrap_or_default()
    }

    fn table_key(&mut self, key: KeyEvent) -> Option<Option<Action>> {
        let rows = self.table_rows();
        if let Some(nav) = keys::nav(&key) {
            self.table.nav(nav, rows.len());
            return Some(None);
        }
        let row = rows.get(self.table.cursor.min(rows.len().saturating_sub(1)));
        match key.code {
            KeyCode::Char('a') => {
                self.sort = self.sort.next();
                Some(Some(Action::Status(format!("function table sorted by {}", self.sort.name()))))
            }
            KeyCode::Enter | KeyCode::Char('d') => Some(row.and_then(|r| self.show_source(r.func))),
            KeyCode::Char('L') => Some(row.map(|r| self.loop_view(r.func, &r.name))),
            _ => None,
        }
    }

    /// Shows function `func`'s first line in the source pane.
    fn show_source(&self, func: u32) -> Option<Action> {
        let info = self.snap.as_ref()?.program.functions.get(func as usize)?;
        let line = info.optimized.iter().map(|r| r.line).filter(|&l| l > 0).min().unwrap_or(0);
        Some(Action::ShowFile { file: info.file, line })
    }

    /// The four-way view of the busiest loop of `func`, or why not.
    fn loop_view(&self, func: u32, name: &str) -> Action {
        let busiest =
            self.snap.as_ref().and_then(|s| s.loops.iter().filter(|l| l.function == func).max_by_key(|l| l.iterations));
        match busiest {
            Some(l) => Action::OpenLoopView { function: l.function, loop_id: l.loop_id },
            None => Action::Status(format!("{name} has no loops")),
        }
    }

    fn render_graph(&self, inner: Rect, buf: &mut Buffer, theme: &Theme, view: &FlameView) {
        let Some((zoom, selected)) = self.focus() else { return };
        let Some(sel) = view.nodes.get(selected) else { return };
        // The detail lines: the selected frame's figures, then its stack (cut from the left so
        // the innermost frames stay in view).
        // Figures that do not fit are left out from the end (the table has them all), never cut.
        let mut parts = vec![
            sel.name.clone(),
            format!("{} calls", thousands(sel.calls)),
            format!(
                "{} instr ({})",
                thousands(sel.total_instructions),
                percent(sel.total_instructions, view.total_instructions)
            ),
            format!("self {}", thousands(sel.self_instructions)),
            format!("native {}", percent(sel.native_instructions, sel.total_instructions)),
            duration(sel.total_ns),
        ];
        let fits = |parts: &[String]| parts.join(" · ").chars().count() <= inner.width as usize;
        while parts.len() > 2 && !fits(&parts) {
            parts.pop();
        }
        let detail = parts.join(" · ");
        put(buf, inner.x, inner.y, &detail, inner.width, theme.text());
        let path = view.path(selected).join(" › ");
        let room = inner.width.saturating_sub(7) as usize;
        let count = path.chars().count();
        let path = if count > room {
            format!("…{}", path.chars().skip(count - room.saturating_sub(1)).collect::<String>())
        } else {
            path
        };
        let x = put_raw(buf, inner.x, inner.y + 1, "stack ", inner.width, theme.dimmed());
        put(buf, x, inner.y + 1, &path, inner.right().saturating_sub(x), theme.dimmed());
        let legend_y = inner.bottom().saturating_sub(1);
        let mut x = inner.x;
        x = put_raw(buf, x, legend_y, "  ", 2, Style::new().bg(theme.sparkline));
        x = put_raw(buf, x, legend_y, " interpreted  ", inner.right().saturating_sub(x), theme.dimmed());
        x = put_raw(buf, x, legend_y, "  ", inner.right().saturating_sub(x), Style::new().bg(theme.compiled));
        x = put_raw(buf, x, legend_y, " native (JIT)  ", inner.right().saturating_sub(x), theme.dimmed());
        let stacks = if view.stacks > view.nodes.len() {
            format!("{} of {} stacks shown", view.nodes.len(), view.stacks)
        } else {
            format!("{} stacks", view.stacks)
        };
        put_raw(buf, x, legend_y, &stacks, inner.right().saturating_sub(x), theme.dimmed());
        let top = inner.y + 3;
        let rows = legend_y.saturating_sub(top) as usize;
        if rows == 0 || inner.width == 0 {
            return;
        }
        let mut level = vec![(zoom, inner.x, inner.width)];
        let mut deeper = 0usize;
        for depth in 0.. {
            if level.is_empty() {
                break;
            }
            if depth >= rows {
                deeper = level.len();
                break;
            }
            let y = top + depth as u16;
            let mut next = Vec::new();
            for &(idx, x0, width) in &level {
                let node = &view.nodes[idx];
                self.draw_bar(buf, theme, (x0, y, width), node, idx == selected);
                // Children share the bar's width by instructions, widest first, left to right.
                let whole = node.total_instructions.max(1);
                let mut cx = x0;
                for &c in &node.children {
                    let child = &view.nodes[c as usize];
                    let w = (u128::from(child.total_instructions) * u128::from(width) / u128::from(whole)) as u16;
                    // A frame too narrow for a column still gets one while there is room (a
                    // callee just entered has run nothing yet, but it is on the stack).
                    let room = (x0 + width).saturating_sub(cx);
                    let w = w.max(1).min(room);
                    if w == 0 {
                        break;
                    }
                    next.push((c as usize, cx, w));
                    cx += w;
                }
            }
            level = next;
        }
        if deeper > 0 {
            let y = top + rows as u16 - 1;
            fill_row(buf, Rect { x: inner.x, y, width: inner.width, height: 1 }, y, theme.text());
            let text = format!("… deeper frames below (select one and Enter zooms in; {} at this depth)", deeper);
            put_raw(buf, inner.x, y, &text, inner.width, theme.dimmed());
        }
    }

    fn draw_bar(&self, buf: &mut Buffer, theme: &Theme, (x, y, width): (u16, u16, u16), node: &FlameNode, sel: bool) {
        // One column of space at the right end separates neighbours.
        let drawn = if width >= 3 { width - 1 } else { width };
        let native = (u128::from(node.native_instructions) * u128::from(drawn)
            / u128::from(node.total_instructions.max(1))) as u16;
        let base = if sel { theme.current_bg } else { theme.sparkline };
        let fg = Style::new().fg(theme.current_fg);
        for i in 0..drawn {
            let bg = if i >= drawn - native { theme.compiled } else { base };
            if let Some(cell) = buf.cell_mut((x + i, y)) {
                cell.set_symbol(" ");
                cell.set_style(fg.bg(bg));
            }
        }
        let label = if drawn >= 12 {
            format!("{} {}", node.name, thousands(node.total_instructions))
        } else {
            node.name.clone()
        };
        let style = if sel { fg.add_modifier(Modifier::BOLD) } else { fg };
        // Only the label's characters take the text style; each cell keeps its colour.
        let clean = crate::sanitize::clean(&label);
        for (i, ch) in clean.chars().take(drawn as usize).enumerate() {
            if let Some(cell) = buf.cell_mut((x + i as u16, y)) {
                cell.set_char(ch);
                cell.set_style(style);
            }
        }
    }

    fn render_table(&self, inner: Rect, buf: &mut Buffer, theme: &Theme, view: &FlameView) {
        let rows = self.table_rows();
        let columns: [(&str, SortKey, usize); 6] = [
            ("calls", SortKey::Calls, 11),
            ("self", SortKey::SelfInstructions, 14),
            ("total", SortKey::Total, 14),
            ("native", SortKey::Native, 7),
            ("self time", SortKey::SelfTime, 10),
            ("function", SortKey::Name, 0),
        ];
        let mut x = inner.x;
        for (name, key, width) in columns {
            let mark = if key == self.sort { "▼" } else { " " };
            let text = if width == 0 { format!(" {mark}{name}") } else { format!("{:>width$}{mark}", name) };
            let style = if key == self.sort { theme.heading().add_modifier(Modifier::BOLD) } else { theme.heading() };
            x = put_raw(buf, x, inner.y, &text, inner.right().saturating_sub(x), style);
        }
        let body = Rect { y: inner.y + 1, height: inner.height.saturating_sub(2), ..inner };
        let window = self.table.window(rows.len(), body.height as usize);
        for (row_y, i) in window.clone().enumerate() {
            let r = &rows[i];
            let y = body.y + row_y as u16;
            let style = if i == self.table.cursor { theme.cursor() } else { theme.text() };
            fill_row(buf, body, y, style);
            let share = (r.native_instructions * 1000).checked_div(r.self_instructions).unwrap_or(0);
            let text = format!(
                "{:>11} {:>14} {:>14} {:>7} {:>10}   ",
                thousands(r.calls),
                thousands(r.self_instructions),
                thousands(r.total_instructions),
                format!("{}.{}%", share / 10, share % 10),
                duration(r.self_ns),
            );
            let x = put_raw(buf, body.x, y, &text, body.width, style);
            let name_style = if r.native_instructions > 0 { style.fg(theme.compiled) } else { style };
            put(buf, x, y, &r.name, body.right().saturating_sub(x), name_style);
        }
        if rows.is_empty() {
            put_raw(buf, body.x, body.y, "no function has run yet", body.width, theme.placeholder());
        }
        let foot_y = inner.bottom().saturating_sub(1);
        let foot = format!(
            "{} functions · {} instr · {} native · a: sort by {} next",
            rows.len(),
            thousands(view.total_instructions),
            percent(view.native_instructions, view.total_instructions),
            self.sort.next().name()
        );
        put_raw(buf, inner.x, foot_y, &foot, inner.width, theme.dimmed());
    }
}

fn percent(part: u64, whole: u64) -> String {
    match (part * 1000).checked_div(whole) {
        Some(pm) => format!("{}.{}%", pm / 10, pm % 10),
        None => "0.0%".to_string(),
    }
}

/// Nanoseconds as `830 ns`, `12.4 µs`, `3.21 ms`, `1.50 s`.
fn duration(ns: u64) -> String {
    let x = ns as f64;
    if x >= 1e9 {
        format!("{:.2} s", x / 1e9)
    } else if x >= 1e6 {
        format!("{:.2} ms", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.1} µs", x / 1e3)
    } else {
        format!("{ns} ns")
    }
}

impl Overlay for FlameOverlay {
    fn update(&mut self, snap: &Arc<SessionSnapshot>) {
        self.snap = Some(snap.clone());
        if self.zoom.is_empty()
            && let Some(root) = self.view().and_then(|v| v.nodes.first())
        {
            self.zoom = vec![root.func];
        }
        if self.selected.len() < self.zoom.len() {
            self.selected = self.zoom.clone();
        }
    }

    fn render(&self, area: Rect, buf: &mut Buffer, theme: &Theme, focused: bool) {
        let (name, detail) = match (self.mode, self.view()) {
            (FlameMode::Graph, Some(v)) => (
                "Flame graph",
                format!(
                    "{} instr · {} native",
                    thousands(v.total_instructions),
                    percent(v.native_instructions, v.total_instructions)
                ),
            ),
            (FlameMode::Table, Some(_)) => ("Functions", format!("sorted by {}", self.sort.name())),
            (FlameMode::Graph, None) => ("Flame graph", String::new()),
            (FlameMode::Table, None) => ("Functions", String::new()),
        };
        let inner = frame(area, buf, title(name, detail, theme, focused), theme, focused);
        match self.view() {
            Some(view) if !view.nodes.is_empty() => match self.mode {
                FlameMode::Graph => self.render_graph(inner, buf, theme, view),
                FlameMode::Table => self.render_table(inner, buf, theme, view),
            },
            _ => super::placeholder(buf, inner, &["nothing has run yet", "space runs the program"], theme),
        }
    }

    fn handle(&mut self, key: KeyEvent) -> Option<Option<Action>> {
        if key.code == KeyCode::Char('v') {
            self.mode = match self.mode {
                FlameMode::Graph => FlameMode::Table,
                FlameMode::Table => FlameMode::Graph,
            };
            return Some(None);
        }
        match self.mode {
            FlameMode::Graph => self.graph_key(key),
            FlameMode::Table => self.table_key(key),
        }
    }

    fn commands(&self) -> &'static [Command] {
        match self.mode {
            FlameMode::Graph => GRAPH_COMMANDS,
            FlameMode::Table => TABLE_COMMANDS,
        }
    }

    fn scroll(&mut self, lines: i32) {
        if self.mode == FlameMode::Table {
            let len = self.table_rows().len();
            self.table.move_by(lines, len);
        }
    }
}
