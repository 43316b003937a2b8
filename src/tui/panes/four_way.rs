//! The four-way view of one loop: its source lines, its unoptimized bytecode, its optimized
//! bytecode and the x86-64 code the JIT made of it, side by side (2x2 on narrow screens).
//!
//! One selection links the columns: the cursor's row in the focused column picks a set of
//! optimized instructions (a source line picks every instruction of that line, an unoptimized
//! instruction the one it became, a machine instruction the bytecode it implements), and every
//! column highlights its rows for that set and scrolls to them. When the debugger stops inside
//! the loop, the selection jumps to the current pc, so stepping keeps all four in sync.

use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};

use super::{Command, Overlay, Scroll, StopTracker, count_cell, fill_row, frame, put, put_raw, thousands, title};
use crate::engine::snapshot::{FunctionInfo, LoopState, LoopView, NativeListing, RunStatus, SessionSnapshot};
use crate::tui::keys;
use crate::tui::keys::Action;
use crate::tui::theme::Theme;

/// The columns, in focus order.
const COLUMNS: [&str; 4] = ["Source", "Unoptimized", "Optimized", "x86-64"];

/// One row of the native column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NativeLine {
    /// A heading before the code of a section (the pc of an instruction, or none).
    Heading(Option<u32>, bool),
    /// A machine instruction: index into the listing's rows.
    Code(usize),
}

/// The four-way view.
pub struct FourWay {
    /// Function of the loop.
    pub function: u32,
    /// Loop index within the function.
    pub loop_id: u16,
    snap: Option<Arc<SessionSnapshot>>,
    column: usize,
    cursors: [Scroll; 4],
    lines: Vec<u32>,
    unoptimized: Vec<u32>,
    optimized: Vec<u32>,
    native: Vec<NativeLine>,
    stops: StopTracker,
}

impl FourWay {
    /// A view of loop `loop_id` of `function`, with the optimized column focused.
    pub fn new(function: u32, loop_id: u16) -> FourWay {
        FourWay {
            function,
            loop_id,
            snap: None,
            column: 2,
            cursors: Default::default(),
            lines: Vec::new(),
            unoptimized: Vec::new(),
            optimized: Vec::new(),
            native: Vec::new(),
            stops: StopTracker::default(),
        }
    }

    fn loop_view<'a>(&self, snap: &'a SessionSnapshot) -> Option<&'a LoopView> {
        snap.loops.iter().find(|l| l.function == self.function && l.loop_id == self.loop_id)
    }

    fn info<'a>(&self, snap: &'a SessionSnapshot) -> Option<&'a FunctionInfo> {
        snap.function(self.function)
    }

    /// The file the loop is written in.
    fn file(&self) -> u32 {
        self.snap.as_ref().and_then(|s| self.info(s)).map_or(0, |f| f.file)
    }

    fn listing<'a>(&self, snap: &'a SessionSnapshot) -> Option<&'a NativeListing> {
        snap.jit_code.as_ref()?.native_of(self.function, self.loop_id)
    }

    /// Takes a new snapshot: rebuilds the rows, and follows the pc to a new stop in the loop.
    fn take(&mut self, snap: &Arc<SessionSnapshot>) {
        let fresh = self.stops.new_stop(snap);
        self.snap = Some(snap.clone());
        self.rebuild();
        let at = snap.location.filter(|l| l.function == self.function && self.optimized.contains(&l.pc));
        if let Some(loc) = at
            && (fresh || snap.status == RunStatus::Running)
        {
            self.select_pc(loc.pc);
        } else if fresh && self.cursors[2].cursor == 0 {
            self.sync_from(2);
        }
    }

    fn rebuild(&mut self) {
        let Some(snap) = self.snap.clone() else { return };
        let (Some(lv), Some(info)) = (self.loop_view(&snap), self.info(&snap)) else {
            self.lines.clear();
            self.unoptimized.clear();
            self.optimized.clear();
            self.native.clear();
            return;
        };
        self.optimized = (lv.header_pc..=lv.back_edge_pc).filter(|pc| (*pc as usize) < info.optimized.len()).collect();
        let in_loop = |pc: u32| pc >= lv.header_pc && pc <= lv.back_edge_pc;
        let mapped: Vec<u32> = info
            .unoptimized_map
            .iter()
            .enumerate()
            .filter(|(_, m)| m.is_some_and(in_loop))
            .map(|(u, _)| u as u32)
            .collect();
        self.unoptimized = match (mapped.first(), mapped.last()) {
            (Some(&a), Some(&b)) => (a..=b).collect(),
            _ => Vec::new(),
        };
        let line_of = |pc: &u32| info.optimized.get(*pc as usize).map(|r| r.line);
        let mut lines: Vec<u32> = self.optimized.iter().filter_map(line_of).filter(|l| *l > 0).collect();
        lines.sort_unstable();
        self.lines = match (lines.first(), lines.last()) {
            (Some(&a), Some(&b)) => (a..=b).collect(),
            _ => Vec::new(),
        };
        self.native.clear();
        if let Some(listing) = self.listing(&snap) {
            let mut section: Option<(Option<u32>, bool)> = None;
            for (i, row) in listing.rows.iter().enumerate() {
                if section != Some((row.pc, row.cold)) {
                    section = Some((row.pc, row.cold));
                    self.native.push(NativeLine::Heading(row.pc, row.cold));
                }
                self.native.push(NativeLine::Code(i));
            }
        }
    }

    fn column_len(&self, column: usize) -> usize {
        match column {
            0 => self.lines.len(),
            1 => self.unoptimized.len(),
            2 => self.optimized.len(),
            _ => self.native.len(),
        }
    }

    /// The optimized pcs the focused column's cursor selects, and the source line if the
    /// source column is focused.
    fn selection(&self) -> (Vec<u32>, Option<u32>) {
        let Some(snap) = &self.snap else { return (Vec::new(), None) };
        let Some(info) = self.info(snap) else { return (Vec::new(), None) };
        let cursor = self.cursors[self.column].cursor;
        match self.column {
            0 => {
                let Some(&line) = self.lines.get(cursor) else { return (Vec::new(), None) };
                let pcs = self
                    .optimized
                    .iter()
                    .copied()
                    .filter(|pc| info.optimized.get(*pc as usize).is_some_and(|r| r.line == line))
                    .collect();
                (pcs, Some(line))
            }
            1 => {
                let pc =
                    self.unoptimized.get(cursor).and_then(|u| info.unoptimized_map.get(*u as usize).copied().flatten());
                (pc.into_iter().collect(), None)
            }
            2 => (self.optimized.get(cursor).copied().into_iter().collect(), None),
            _ => {
                let pc = match self.native.get(cursor) {
                    Some(NativeLine::Heading(pc, _)) => *pc,
                    Some(NativeLine::Code(i)) => self.listing(snap).and_then(|l| l.rows.get(*i)).and_then(|r| r.pc),
                    None => None,
                };
                (pc.into_iter().collect(), None)
            }
        }
    }

    /// Points every column at its counterparts of the selection made in column `from`.
    fn sync_from(&mut self, from: usize) {
        let (pcs, line) = {
            let saved = self.column;
            self.column = from;
            let sel = self.selection();
            self.column = saved;
            sel
        };
        let Some(snap) = self.snap.clone() else { return };
        let Some(info) = self.info(&snap) else { return };
        let first = pcs.first().copied();
        let line = line.or_else(|| first.and_then(|pc| info.optimized.get(pc as usize)).map(|r| r.line));
        if from != 0
            && let Some(i) = line.and_then(|l| self.lines.iter().position(|x| *x == l))
        {
            self.cursors[0].jump(i);
        }
        if from != 1
            && let Some(i) = self.unoptimized.iter().position(|u| {
                info.unoptimized_map.get(*u as usize).copied().flatten().is_some_and(|m| pcs.contains(&m))
            })
        {
            self.cursors[1].jump(i);
        }
        if from != 2
            && let Some(i) = first.and_then(|pc| self.optimized.iter().position(|p| *p == pc))
        {
            self.cursors[2].jump(i);
        }
        let native = self.native_pcs(&pcs);
        if from != 3
            && let Some(i) =
                self.native.iter().position(|n| matches!(n, NativeLine::Heading(Some(pc), _) if native.contains(pc)))
        {
            self.cursors[3].jump(i);
        }
    }

    /// The pcs whose machine code stands for `pcs`: each pc's own code, or, for instructions
    /// that emit none (constants and variable reads are folded into the instruction that
    /// consumes them), the next instruction that does.
    fn native_pcs(&self, pcs: &[u32]) -> Vec<u32> {
        let headings: Vec<u32> = self
            .native
            .iter()
            .filter_map(|n| match n {
                NativeLine::Heading(Some(pc), _) => Some(*pc),
                _ => None,
            })
            .collect();
        pcs.iter()
            .filter_map(|&pc| {
                if headings.contains(&pc) { Some(pc) } else { headings.iter().copied().filter(|h| *h > pc).min() }
            })
            .collect()
    }

    /// Selects optimized instruction `pc` in every column.
    pub fn select_pc(&mut self, pc: u32) {
        if let Some(i) = self.optimized.iter().position(|p| *p == pc) {
            self.cursors[2].jump(i);
            self.sync_from(2);
            // Keep the focused column's own cursor on the pc's counterpart too.
        }
    }

    /// Handles a key the view owns (columns, cursor, breakpoints at the selection); `None`
    /// leaves it to the app's global keys.
    fn handle_key(&mut self, key: KeyEvent) -> Option<Option<Action>> {
        if let Some(nav) = keys::nav(&key) {
            let len = self.column_len(self.column);
            self.cursors[self.column].nav(nav, len);
            self.sync_from(self.column);
            return Some(None);
        }
        match key.code {
            KeyCode::Tab | KeyCode::Right | KeyCode::Char('l') => {
                self.column = (self.column + 1) % COLUMNS.len();
                Some(None)
            }
            KeyCode::BackTab | KeyCode::Left | KeyCode::Char('h') => {
                self.column = (self.column + COLUMNS.len() - 1) % COLUMNS.len();
                Some(None)
            }
            KeyCode::Char('b') | KeyCode::F(9) => {
                let (pcs, line) = self.selection();
                let bp = match (line, pcs.first()) {
                    (Some(line), _) => crate::engine::snapshot::Breakpoint::Line { file: self.file(), line },
                    (None, Some(&pc)) => {
                        crate::engine::snapshot::Breakpoint::Instruction { function: self.function, pc }
                    }
                    _ => return Some(None),
                };
                Some(Some(Action::ToggleBreakpoint(bp)))
            }
            KeyCode::Char('u') | KeyCode::F(4) => {
                let (pcs, line) = self.selection();
                let goal = match (line, pcs.first()) {
                    (Some(line), _) => crate::engine::debug::Goal::RunToLine { file: self.file(), line },
                    (None, Some(&pc)) => crate::engine::debug::Goal::RunToInstruction { function: self.function, pc },
                    _ => return Some(None),
                };
                Some(Some(Action::Run(goal)))
            }
            _ => None,
        }
    }

    /// Draws the view into `area`.
    fn draw(&self, area: Rect, buf: &mut Buffer, theme: &Theme) {
        let Some(snap) = &self.snap else { return };
        let areas: Vec<Rect> = if area.width >= 140 {
            Layout::horizontal([
                Constraint::Percentage(22),
                Constraint::Percentage(24),
                Constraint::Percentage(24),
                Constraint::Percentage(30),
            ])
            .split(area)
            .to_vec()
        } else {
            let [top, bottom] = Layout::vertical([Constraint::Fill(1), Constraint::Fill(1)]).areas(area);
            let [a, b] = Layout::horizontal([Constraint::Fill(1), Constraint::Fill(1)]).areas(top);
            let [c, d] = Layout::horizontal([Constraint::Fill(1), Constraint::Fill(1)]).areas(bottom);
            vec![a, b, c, d]
        };
        let (pcs, line) = self.selection();
        let Some(info) = self.info(snap) else { return };
        let line = line.or_else(|| pcs.first().and_then(|pc| info.optimized.get(*pc as usize)).map(|r| r.line));
        let place = self.loop_view(snap).map(|l| format!("{}:{}", l.function_name, l.header_line)).unwrap_or_default();
        for (i, rect) in areas.iter().enumerate() {
            let focused = i == self.column;
            let detail = match i {
                0 => format!("· loop at {place}"),
                1 => format!("· {} instr", self.unoptimized.len()),
                2 => format!("· {} instr", self.optimized.len()),
                _ => self.native_detail(snap),
            };
            let inner = frame(*rect, buf, title(COLUMNS[i], detail, theme, focused), theme, focused);
            let ctx = Ctx { snap, info, pcs: &pcs, line, theme, focused };
            match i {
                0 => self.render_source(&ctx, inner, buf),
                1 => self.render_bytecode(&ctx, inner, buf, false),
                2 => self.render_bytecode(&ctx, inner, buf, true),
                _ => self.render_native(&ctx, inner, buf),
            }
        }
    }

    fn native_detail(&self, snap: &SessionSnapshot) -> String {
        match self.listing(snap) {
            Some(l) => format!("· {} bytes", thousands(l.bytes as u64)),
            None => String::new(),
        }
    }

    fn row_style(&self, ctx: &Ctx<'_>, column: usize, idx: usize, selected: bool, current: bool) -> Style {
        let theme = ctx.theme;
        if current {
            theme.current()
        } else if ctx.focused && self.cursors[column].cursor == idx {
            theme.cursor()
        } else if selected {
            theme.mapping()
        } else {
            theme.text()
        }
    }

    fn current_pc(&self, ctx: &Ctx<'_>) -> Option<u32> {
        if ctx.snap.status == RunStatus::Finished {
            return None;
        }
        ctx.snap.location.filter(|l| l.function == self.function).map(|l| l.pc)
    }

    fn render_source(&self, ctx: &Ctx<'_>, inner: Rect, buf: &mut Buffer) {
        let theme = ctx.theme;
        let current_line = self.current_pc(ctx).and_then(|pc| ctx.info.optimized.get(pc as usize)).map(|r| r.line);
        let file = ctx.info.file;
        let text = ctx.snap.program.files.get(file as usize).map_or(ctx.snap.program.source.as_str(), |f| &f.source);
        let source: Vec<&str> = text.lines().collect();
        let profile = ctx.snap.profile.as_ref();
        for (row, idx) in self.cursors[0].window(self.lines.len(), inner.height as usize).enumerate() {
            let Some(&line) = self.lines.get(idx) else { break };
            let y = inner.y + row as u16;
            let current = current_line == Some(line);
            let style = self.row_style(ctx, 0, idx, ctx.line == Some(line), current);
            fill_row(buf, inner, y, style);
            let mut x = put_raw(buf, inner.x, y, if current { "▶" } else { " " }, inner.width, style);
            if let Some(p) = profile {
                let n = p.line_hits_in(file, line);
                let s = if current { style } else { style.fg(theme.heat(n, p.max_line_hits)) };
                let width = super::count_width(p.max_line_hits, inner.width);
                x = put_raw(buf, x, y, &count_cell(n, width), inner.right().saturating_sub(x), s);
            }
            let number_style = if current { style } else { style.fg(theme.line_number) };
            x = put_raw(buf, x, y, &format!("{line:>4} │ "), inner.right().saturating_sub(x), number_style);
            let text = source.get(line.saturating_sub(1) as usize).copied().unwrap_or("");
            put(buf, x, y, text, inner.right().saturating_sub(x), style);
        }
    }

    fn render_bytecode(&self, ctx: &Ctx<'_>, inner: Rect, buf: &mut Buffer, optimized: bool) {
        let theme = ctx.theme;
        let (column, pcs) = if optimized { (2, &self.optimized) } else { (1, &self.unoptimized) };
        if pcs.is_empty() {
            put_raw(
                buf,
                inner.x + 1,
                inner.y,
                "no pc map for this function",
                inner.width.saturating_sub(1),
                theme.placeholder(),
            );
            return;
        }
        let current = self.current_pc(ctx);
        let jit = ctx.snap.jit_code.as_ref().and_then(|j| j.compiled.get(self.function as usize));
        for (row, idx) in self.cursors[column].window(pcs.len(), inner.height as usize).enumerate() {
            let Some(&pc) = pcs.get(idx) else { break };
            let y = inner.y + row as u16;
            let rows = if optimized { &ctx.info.optimized } else { &ctx.info.unoptimized };
            let Some(lr) = rows.get(pc as usize) else { continue };
            let became =
                if optimized { Some(pc) } else { ctx.info.unoptimized_map.get(pc as usize).copied().flatten() };
            let is_current = optimized && current == Some(pc);
            let selected =
                became.is_some_and(|b| ctx.pcs.contains(&b)) || (ctx.pcs.is_empty() && ctx.line == Some(lr.line));
            let style = self.row_style(ctx, column, idx, selected, is_current);
            fill_row(buf, inner, y, style);
            let mut x = put_raw(buf, inner.x, y, if is_current { "▶" } else { " " }, inner.width, style);
            if optimized {
                let jitted = jit.and_then(|j| j.get(pc as usize)).copied().unwrap_or(false);
                let s = style.fg(theme.compiled).add_modifier(Modifier::BOLD);
                x = put_raw(buf, x, y, if jitted { "J" } else { " " }, inner.right().saturating_sub(x), s);
            }
            if let Some(p) = &ctx.snap.profile {
                let width = super::count_width(p.max_instruction, inner.width);
                let (text, n) = match became {
                    Some(b) => (count_cell(p.count(self.function, b), width), p.count(self.function, b)),
                    None => (super::no_count_cell(width), 0),
                };
                let s = if is_current { style } else { style.fg(theme.heat(n, p.max_instruction)) };
                x = put_raw(buf, x, y, &text, inner.right().saturating_sub(x), s);
            }
            let number_style = if is_current { style } else { style.fg(theme.line_number) };
            x = put_raw(buf, x, y, &format!("{:>4} ", lr.pc), inner.right().saturating_sub(x), number_style);
            let opcode_style = if is_current { style } else { style.fg(theme.opcode) };
            x = put_raw(buf, x, y, &format!("{:<16} ", lr.opcode), inner.right().saturating_sub(x), opcode_style);
            put(buf, x, y, &lr.operand, inner.right().saturating_sub(x), style);
        }
    }

    fn render_native(&self, ctx: &Ctx<'_>, inner: Rect, buf: &mut Buffer) {
        let theme = ctx.theme;
        let Some(listing) = self.listing(ctx.snap) else {
            let lv = self.loop_view(ctx.snap);
            let why = match lv {
                Some(l) if l.state == LoopState::Cold => match &l.reason {
                    Some(r) => format!("will not compile: {r}"),
                    None => format!("not compiled yet: compiles in {}", thousands(l.remaining())),
                },
                Some(l) => match &l.reason {
                    Some(r) => format!("not compiled: {r}"),
                    None => "not compiled".to_string(),
                },
                None => "no such loop".to_string(),
            };
            put(buf, inner.x + 1, inner.y, &why, inner.width.saturating_sub(1), theme.placeholder());
            return;
        };
        let current = self.native_pcs(&self.current_pc(ctx).into_iter().collect::<Vec<_>>());
        let targets = self.native_pcs(ctx.pcs);
        for (row, idx) in self.cursors[3].window(self.native.len(), inner.height as usize).enumerate() {
            let Some(line) = self.native.get(idx) else { break };
            let y = inner.y + row as u16;
            let (pc, text, heading) = match *line {
                NativeLine::Heading(Some(pc), _) => {
                    let op = ctx.info.optimized.get(pc as usize).map(|r| r.opcode).unwrap_or("?");
                    (Some(pc), format!("── pc {pc} {op} "), true)
                }
                NativeLine::Heading(None, false) => (None, "── entry: guards, registers ".to_string(), true),
                NativeLine::Heading(None, true) => (None, "── exits and epilogue (cold) ".to_string(), true),
                NativeLine::Code(i) => {
                    let Some(r) = listing.rows.get(i) else { continue };
                    (r.pc, format!("  {:05x}  {}", r.offset, r.text), false)
                }
            };
            let selected = pc.is_some_and(|p| targets.contains(&p));
            let is_current = heading && pc.is_some_and(|p| current.contains(&p));
            let style = self.row_style(ctx, 3, idx, selected, is_current);
            fill_row(buf, inner, y, style);
            if heading {
                let x =
                    put_raw(buf, inner.x, y, &text, inner.width, style.fg(theme.heading).add_modifier(Modifier::BOLD));
                let rest = "─".repeat(inner.right().saturating_sub(x) as usize);
                put_raw(buf, x, y, &rest, inner.right().saturating_sub(x), style.fg(theme.border));
            } else {
                put_raw(
                    buf,
                    inner.x,
                    y,
                    &text,
                    inner.width,
                    if selected || idx == self.cursors[3].cursor { style } else { style.fg(theme.opcode) },
                );
            }
        }
    }
}

/// What every column needs to draw.
struct Ctx<'a> {
    snap: &'a SessionSnapshot,
    info: &'a FunctionInfo,
    pcs: &'a [u32],
    line: Option<u32>,
    theme: &'a Theme,
    focused: bool,
}

impl Overlay for FourWay {
    fn update(&mut self, snap: &Arc<SessionSnapshot>) {
        self.take(snap);
    }

    fn render(&self, area: Rect, buf: &mut Buffer, theme: &Theme, _focused: bool) {
        self.draw(area, buf, theme);
    }

    fn handle(&mut self, key: KeyEvent) -> Option<Option<Action>> {
        self.handle_key(key)
    }

    fn commands(&self) -> &'static [Command] {
        &[("Tab h l", "column"), ("j k", "move"), ("Esc", "close")]
    }

    fn scroll(&mut self, lines: i32) {
        let len = self.column_len(self.column);
        self.cursors[self.column].move_by(lines, len);
        self.sync_from(self.column);
    }
}
