//! The bytecode pane: the listing of every function, optimized, unoptimized, or both side by
//! side with the rows of the cursor's source line highlighted on both sides. Shows the current
//! pc, breakpoints, hot loops, JIT-compiled code and exact execution counts, heat-coloured (the
//! unoptimized listing shows the count of the instruction each became).
//! Only visible rows are formatted, so listings of any length scroll at the same cost.

use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};

use super::passes::PassesView;
use super::{
    Command, Overlay, Pane, PaneId, Scroll, SearchDir, StopTracker, fill_row, frame, put, put_raw, thousands, title,
};
use crate::bytecode::disasm::ListingRow;
use crate::engine::debug::Goal;
use crate::engine::snapshot::{Breakpoint, LoopState, ProgramInfo, RunStatus, SessionSnapshot};
use crate::tui::keys;
use crate::tui::keys::Action;
use crate::tui::theme::Theme;

/// Which listing the pane shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum View {
    /// The code that runs.
    #[default]
    Optimized,
    /// The code as compiled.
    Unoptimized,
    /// Both, unoptimized on the left.
    SideBySide,
    /// The optimizer pass by pass: a pass's input on the left, its output on the right.
    Passes,
}

impl View {
    fn name(self) -> &'static str {
        match self {
            View::Optimized => "optimized",
            View::Unoptimized => "unoptimized",
            View::SideBySide => "unoptimized │ optimized",
            View::Passes => "pass by pass",
        }
    }
}

/// One row of a flattened listing: a function header or an instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Row {
    Header(u32),
    Instr(u32, u32),
}

/// A listing of every function, flattened into rows, with each function's first row.
#[derive(Debug, Default)]
struct Flat {
    rows: Vec<Row>,
    starts: Vec<usize>,
}

impl Flat {
    fn build(program: &ProgramInfo, optimized: bool) -> Flat {
        let mut flat = Flat::default();
        for f in &program.functions {
            flat.starts.push(flat.rows.len());
            flat.rows.push(Row::Header(f.id));
            let n = if optimized { f.optimized.len() } else { f.unoptimized.len() };
            flat.rows.extend((0..n as u32).map(|pc| Row::Instr(f.id, pc)));
        }
        flat
    }

    fn row_of(&self, function: u32, pc: u32) -> Option<usize> {
        let start = *self.starts.get(function as usize)?;
        let at = start + 1 + pc as usize;
        (at < self.rows.len()).then_some(at)
    }
}

/// The bytecode pane.
#[derive(Default)]
pub struct BytecodePane {
    snap: Option<Arc<SessionSnapshot>>,
    view: View,
    optimized: Flat,
    unoptimized: Flat,
    scroll: Scroll,
    follow: bool,
    stops: StopTracker,
    passes: PassesView,
}

/// The optimized pc unoptimized instruction `pc` of `function` became, through the optimizer's
/// pc map.
fn optimized_pc(snap: &SessionSnapshot, function: u32, pc: u32) -> Option<u32> {
    snap.function(function)?.unoptimized_map.get(pc as usize).copied().flatten()
}

fn listing_row(program: &ProgramInfo, optimized: bool, function: u32, pc: u32) -> Option<&ListingRow> {
    let f = program.functions.get(function as usize)?;
    if optimized { f.optimized.get(pc as usize) } else { f.unoptimized.get(pc as usize) }
}

impl BytecodePane {
    fn primary(&self) -> &Flat {
        if self.view == View::Unoptimized { &self.unoptimized } else { &self.optimized }
    }

    fn primary_is_optimized(&self) -> bool {
        self.view != View::Unoptimized
    }

    /// The function, pc and line under the cursor (pc `None` on a header).
    fn cursor_target(&self) -> Option<(u32, Option<u32>, u32)> {
        let snap = self.snap.as_ref()?;
        match self.primary().rows.get(self.scroll.cursor)? {
            Row::Header(f) => Some((*f, None, 0)),
            Row::Instr(f, pc) => {
                let row = listing_row(&snap.program, self.primary_is_optimized(), *f, *pc)?;
                Some((*f, Some(*pc), row.line))
            }
        }
    }

    /// The optimized pc that unoptimized instruction `pc` of `function` became (`None` if the
    /// optimizer removed it or its map was not traced).
    fn optimized_of(&self, function: u32, pc: u32) -> Option<u32> {
        optimized_pc(self.snap.as_ref()?, function, pc)
    }

    /// The first row of `function` in `flat` whose line is `line`.
    fn first_row_with_line(&self, flat: &Flat, optimized: bool, function: u32, line: u32) -> Option<usize> {
        let snap = self.snap.as_ref()?;
        let f = snap.program.functions.get(function as usize)?;
        let rows = if optimized { &f.optimized } else { &f.unoptimized };
        let pc = rows.iter().position(|r| r.line == line)?;
        flat.row_of(function, pc as u32)
    }

    fn jump_to_current(&mut self) {
        let Some(snap) = self.snap.clone() else { return };
        let Some(loc) = snap.location else { return };
        self.jump_to(loc.function, loc.pc, loc.line);
    }

    /// Puts the cursor on instruction `pc` of `function` (its first instruction of `line` in the
    /// unoptimized listing).
    fn jump_to(&mut self, function: u32, pc: u32, line: u32) {
        let row = if self.primary_is_optimized() {
            self.optimized.row_of(function, pc)
        } else {
            self.first_row_with_line(&self.unoptimized, false, function, line)
        };
        if let Some(row) = row {
            self.scroll.jump(row);
        }
    }

    fn set_view(&mut self, view: View) {
        let target = self.cursor_target();
        let was_optimized = self.primary_is_optimized();
        self.view = view;
        if was_optimized == self.primary_is_optimized() {
            return;
        }
        if let Some((function, _, line)) = target {
            let flat = if self.primary_is_optimized() { &self.optimized } else { &self.unoptimized };
            let row = self
                .first_row_with_line(flat, self.primary_is_optimized(), function, line)
                .or_else(|| flat.starts.get(function as usize).copied());
            if let Some(row) = row {
                self.scroll.jump(row);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn render_listing(
        &self,
        snap: &SessionSnapshot,
        flat: &Flat,
        optimized: bool,
        window: std::ops::Range<usize>,
        area: Rect,
        buf: &mut Buffer,
        theme: &Theme,
        cursor: Option<usize>,
        mapped: Mapped,
    ) {
        let current = if snap.status == RunStatus::Finished { None } else { snap.location };
        let profile = snap.profile.as_ref();
        let jit = snap.jit_code.as_ref().map(|j| &j.compiled);
        for (row_index, idx) in window.enumerate() {
            let y = area.y + row_index as u16;
            if y >= area.bottom() {
                break;
            }
            let Some(row) = flat.rows.get(idx) else { break };
            let right = area.right();
            match *row {
                Row::Header(f) => {
                    let info = snap.program.functions.get(f as usize);
                    let text = match info {
                        Some(info) => {
                            let n = if optimized { info.optimized.len() } else { info.unoptimized.len() };
                            format!("── {} (params {}, slots {}, {} instr) ", info.name, info.arity, info.slots, n)
                        }
                        None => "──".to_string(),
                    };
                    let style = if cursor == Some(idx) { theme.cursor() } else { theme.text() };
                    fill_row(buf, area, y, style);
                    let x = put(buf, area.x, y, &text, area.width, style.patch(theme.heading()));
                    let rest = "─".repeat(right.saturating_sub(x) as usize);
                    put_raw(buf, x, y, &rest, right.saturating_sub(x), style.fg(theme.border));
                }
                Row::Instr(f, pc) => {
                    let Some(lr) = listing_row(&snap.program, optimized, f, pc) else { continue };
                    // The optimized instruction this row runs as (itself in the optimized listing;
                    // through the optimizer's pc map in the unoptimized one).
                    let runs_as = if optimized { Some(pc) } else { optimized_pc(snap, f, pc) };
                    let is_current = current.is_some_and(|l| l.function == f && Some(l.pc) == runs_as);
                    let failed_here = is_current && snap.status == RunStatus::Failed;
                    let is_cursor = cursor == Some(idx);
                    let is_mapped = match mapped {
                        // Side by side on an instruction: its exact counterparts through the pc map.
                        Mapped::Pc { function: mf, pc: mp } if mf == f => {
                            if optimized {
                                pc == mp
                            } else {
                                snap.function(f).and_then(|i| i.unoptimized_map.get(pc as usize).copied().flatten())
                                    == Some(mp)
                            }
                        }
                        Mapped::Line { function: mf, line } => mf == f && line == lr.line,
                        _ => false,
                    };
                    let style = if failed_here {
                        theme.error()
                    } else if is_current {
                        theme.current()
                    } else if is_cursor {
                        theme.cursor()
                    } else if is_mapped {
                        theme.mapping()
                    } else {
                        theme.text()
                    };
                    fill_row(buf, area, y, style);
                    let mut x = area.x;
                    let marker = if failed_here {
                        "✗"
                    } else if is_current {
                        "▶"
                    } else {
                        " "
                    };
                    x = put_raw(buf, x, y, marker, right.saturating_sub(x), style);
                    let at_instruction = runs_as.map(|pc| Breakpoint::Instruction { function: f, pc });
                    let bp = if at_instruction.is_some_and(|b| snap.breakpoints.contains(&b)) {
                        "●"
                    } else if snap
                        .breakpoints
                        .contains(&Breakpoint::Line { file: function_file(snap, f), line: lr.line })
                    {
                        "○"
                    } else {
                        " "
                    };
                    x = put_raw(buf, x, y, bp, right.saturating_sub(x), style.fg(theme.breakpoint));
                    let loop_state = if optimized { loop_state(snap, f, pc) } else { None };
                    let (hot, hot_style) = match loop_state {
                        Some(LoopState::Compiled) => ("J", style.fg(theme.compiled).add_modifier(Modifier::BOLD)),
                        Some(_) => ("*", style.fg(theme.hot).add_modifier(Modifier::BOLD)),
                        _ => (" ", style),
                    };
                    let jitted = jit.and_then(|j| j.get(f as usize)?.get(pc as usize).copied()).unwrap_or(false);
                    let (hot, hot_style) = if jitted {
                        ("J", style.fg(theme.compiled).add_modifier(Modifier::BOLD))
                    } else {
                        (hot, hot_style)
                    };
                    x = put_raw(buf, x, y, hot, right.saturating_sub(x), hot_style);
                    if let Some(p) = profile {
                        // Unoptimized instructions show the count of the instruction they became.
                        let target = if optimized {
                            Some(pc)
                        } else {
                            snap.function(f).and_then(|info| info.unoptimized_map.get(pc as usize).copied().flatten())
                        };
                        let width = super::count_width(p.max_instruction, area.width);
                        let (text, n) = match target {
                            Some(at) => {
                                let n = p.count(f, at);
                                (super::count_cell(n, width), n)
                            }
                            None => (super::no_count_cell(width), 0),
                        };
                        let count_style =
                            if is_current || failed_here { style } else { style.fg(theme.heat(n, p.max_instruction)) };
                        x = put_raw(buf, x, y, &text, right.saturating_sub(x), count_style);
                    }
                    let number_style = if is_current || failed_here { style } else { style.fg(theme.line_number) };
                    let head = format!("{}{:>4} {:>4}  ", if lr.is_target { ">" } else { " " }, lr.pc, lr.line);
                    x = put_raw(buf, x, y, &head, right.saturating_sub(x), number_style);
                    let opcode_style = if is_current || failed_here { style } else { style.fg(theme.opcode) };
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

/// Which rows relate to the cursor.
#[derive(Debug, Clone, Copy)]
enum Mapped {
    /// Nothing (the cursor is on a function header).
    Nothing,
    /// The rows of this source line.
    Line { function: u32, line: u32 },
    /// This optimized instruction and the unoptimized instructions that became it.
    Pc { function: u32, pc: u32 },
}

/// The state of the innermost hot loop containing `pc`, if any.
fn loop_state(snap: &SessionSnapshot, function: u32, pc: u32) -> Option<LoopState> {
    snap.loops
        .iter()
        .filter(|l| l.function == function && l.state != LoopState::Cold)
        .filter(|l| l.header_pc <= pc && pc <= l.back_edge_pc)
        .map(|l| l.state)
        .max_by_key(|s| matches!(s, LoopState::Compiled))
}

impl Pane for BytecodePane {
    fn id(&self) -> PaneId {
        PaneId::Bytecode
    }

    fn update(&mut self, snap: &Arc<SessionSnapshot>) {
        let same_program = self.snap.as_ref().is_some_and(|old| Arc::ptr_eq(&old.program, &snap.program));
        if !same_program {
            self.optimized = Flat::build(&snap.program, true);
            self.unoptimized = Flat::build(&snap.program, false);
        }
        self.snap = Some(snap.clone());
        if self.view == View::Passes {
            self.passes.update(snap);
        }
        if self.stops.new_stop(snap) || (self.follow && snap.status == RunStatus::Running) {
            self.jump_to_current();
        }
    }

    fn render(&self, area: Rect, buf: &mut Buffer, theme: &Theme, focused: bool) {
        let Some(snap) = &self.snap else {
            frame(area, buf, title("Bytecode", String::new(), theme, focused), theme, focused);
            return;
        };
        let program = &snap.program;
        if self.view == View::Passes {
            let inner = frame(area, buf, title("Bytecode", self.passes.detail(snap), theme, focused), theme, focused);
            Overlay::render(&self.passes, inner, buf, theme, focused);
            return;
        }
        // The count of the listing shown comes first; the other listing's is named.
        let (optimized, unoptimized) =
            (thousands(program.optimized_len as u64), thousands(program.unoptimized_len as u64));
        let counts = match self.view {
            View::Unoptimized => format!("{unoptimized} instr (optimized {optimized})"),
            View::SideBySide => format!("{unoptimized} │ {optimized} instr"),
            _ => format!("{optimized} instr (unoptimized {unoptimized})"),
        };
        let detail = format!("· {} · {counts}", self.view.name());
        let mut inner = frame(area, buf, title("Bytecode", detail, theme, focused), theme, focused);
        let note = if !snap.jit.available {
            Some(("JIT: not available in this build (x86-64 only)", "JIT: not in this build"))
        } else if snap.profile.is_some() && self.view != View::Optimized {
            Some((
                "unoptimized counts are those of the instruction each became · = removed or folded away",
                "raw counts via the optimizer's pc map (· = removed)",
            ))
        } else {
            None
        };
        if let Some((long, short)) = note
            && inner.height > 2
        {
            // The last row explains the listing's markers.
            inner.height -= 1;
            let text = if long.chars().count() < inner.width as usize { long } else { short };
            put_raw(buf, inner.x + 1, inner.bottom(), text, inner.width.saturating_sub(1), theme.placeholder());
        }
        let flat = self.primary();
        let window = self.scroll.window(flat.rows.len(), inner.height as usize);
        let cursor = Some(self.scroll.cursor);
        match self.view {
            View::Optimized | View::Unoptimized => {
                let optimized = self.view == View::Optimized;
                let mapped = match self.cursor_target() {
                    Some((function, _, line)) => Mapped::Line { function, line },
                    None => Mapped::Nothing,
                };
                self.render_listing(snap, flat, optimized, window, inner, buf, theme, cursor, mapped);
            }
            View::SideBySide | View::Passes => {
                let half = inner.width / 2;
                let left = Rect { width: half.saturating_sub(1), ..inner };
                let right = Rect { x: inner.x + half, width: inner.width - half, ..inner };
                for y in inner.top()..inner.bottom() {
                    put_raw(buf, inner.x + half - 1, y, "│", 1, Style::new().fg(theme.border).bg(theme.bg));
                }
                let target = self.cursor_target();
                let mapped = match target {
                    Some((function, Some(pc), _)) => Mapped::Pc { function, pc },
                    _ => Mapped::Nothing,
                };
                // Align the left side so the first counterpart of the cursor's instruction (or
                // its line's first row) sits beside the cursor.
                let screen_row = self.scroll.cursor.saturating_sub(window.start);
                let anchor = target
                    .and_then(|(f, pc, line)| match pc {
                        Some(pc) => snap
                            .function(f)
                            .and_then(|i| i.unoptimized_of(pc).next())
                            .and_then(|u| self.unoptimized.row_of(f, u))
                            .or_else(|| self.first_row_with_line(&self.unoptimized, false, f, line)),
                        None => self.unoptimized.starts.get(f as usize).copied(),
                    })
                    .unwrap_or(0);
                let left_start = anchor.saturating_sub(screen_row);
                let left_window = left_start..(left_start + inner.height as usize).min(self.unoptimized.rows.len());
                self.render_listing(snap, &self.unoptimized, false, left_window, left, buf, theme, None, mapped);
                self.render_listing(snap, &self.optimized, true, window, right, buf, theme, cursor, mapped);
            }
        }
    }

    fn handle(&mut self, key: KeyEvent) -> Option<Action> {
        if self.view == View::Passes
            && let Some(action) = self.passes.handle(key)
        {
            return action;
        }
        if let Some(nav) = keys::nav(&key) {
            let len = self.primary().rows.len();
            self.scroll.nav(nav, len);
            return None;
        }
        match key.code {
            KeyCode::Char('v') => {
                let next = match self.view {
                    View::Optimized => View::Unoptimized,
                    View::Unoptimized => View::SideBySide,
                    View::SideBySide => View::Passes,
                    View::Passes => View::Optimized,
                };
                self.set_view(next);
                if let (View::Passes, Some(snap)) = (self.view, self.snap.clone()) {
                    self.passes.update(&snap);
                }
                Some(Action::Status(format!("bytecode: {}", self.view.name())))
            }
            KeyCode::Char('f') => {
                self.follow = !self.follow;
                Some(Action::Status(format!("follow {}", if self.follow { "on" } else { "off" })))
            }
            KeyCode::Char('b') | KeyCode::F(9) => match self.cursor_target()? {
                (function, Some(pc), _) if self.primary_is_optimized() => {
                    Some(Action::ToggleBreakpoint(Breakpoint::Instruction { function, pc }))
                }
                // In the unoptimized listing: on the instruction it became, if it was kept.
                (function, Some(pc), _) if let Some(opc) = self.optimized_of(function, pc) => {
                    Some(Action::ToggleBreakpoint(Breakpoint::Instruction { function, pc: opc }))
                }
                (function, Some(_), line) => {
                    let file = self.snap.as_ref().map_or(0, |s| function_file(s, function));
                    Some(Action::ToggleBreakpoint(Breakpoint::Line { file, line }))
                }
                _ => None,
            },
            KeyCode::Char('u') | KeyCode::F(4) => match self.cursor_target()? {
                (function, Some(pc), _) if self.primary_is_optimized() => {
                    Some(Action::Run(Goal::RunToInstruction { function, pc }))
                }
                (function, Some(pc), _) if let Some(opc) = self.optimized_of(function, pc) => {
                    Some(Action::Run(Goal::RunToInstruction { function, pc: opc }))
                }
                (function, Some(_), line) => {
                    let file = self.snap.as_ref().map_or(0, |s| function_file(s, function));
                    Some(Action::Run(Goal::RunToLine { file, line }))
                }
                _ => None,
            },
            _ => None,
        }
    }

    fn selected_detail(&self) -> Option<String> {
        let snap = self.snap.as_ref()?;
        let p = snap.profile.as_ref()?;
        let (f, pc, _) = self.cursor_target()?;
        let pc = pc?;
        let at = if self.primary_is_optimized() {
            Some(pc)
        } else {
            snap.function(f).and_then(|info| info.unoptimized_map.get(pc as usize).copied().flatten())
        }?;
        let n = p.count(f, at);
        Some(format!("pc {pc}: {} execution{}", super::thousands(n), if n == 1 { "" } else { "s" }))
    }

    fn commands(&self) -> &'static [Command] {
        if self.view == View::Passes {
            return self.passes.commands();
        }
        &[("v", "view"), ("f", "follow"), ("/", "search")]
    }

    fn scroll(&mut self, lines: i32) {
        if self.view == View::Passes {
            self.passes.scroll(lines);
            return;
        }
        let len = self.primary().rows.len();
        self.scroll.move_by(lines, len);
    }

    fn click(&mut self, row: u16) {
        if self.view == View::Passes {
            self.passes.click(row);
            return;
        }
        let len = self.primary().rows.len();
        self.scroll.click(row, len);
    }

    fn show_frame(&mut self, frame: usize) {
        let Some(f) = self.snap.as_ref().and_then(|s| s.frames.get(frame)).map(|f| (f.function, f.pc, f.line)) else {
            return;
        };
        self.jump_to(f.0, f.1, f.2);
    }

    fn search(&mut self, query: &str, dir: SearchDir) -> Option<String> {
        if self.view == View::Passes {
            return Some("search works in the listings (v to switch views)".to_string());
        }
        let snap = self.snap.clone()?;
        let needle = query.to_lowercase();
        let optimized = self.primary_is_optimized();
        let flat = self.primary();
        let n = flat.rows.len();
        let matches = |row: &Row| match *row {
            Row::Header(f) => {
                snap.program.functions.get(f as usize).is_some_and(|i| i.name.to_lowercase().contains(&needle))
            }
            Row::Instr(f, pc) => listing_row(&snap.program, optimized, f, pc).is_some_and(|r| {
                r.opcode.to_lowercase().contains(&needle)
                    || r.operand.to_lowercase().contains(&needle)
                    || r.comment.to_lowercase().contains(&needle)
            }),
        };
        let n = n.max(1);
        let at = |k: usize| match dir {
            SearchDir::Forward => (self.scroll.cursor + k) % n,
            SearchDir::Backward => (self.scroll.cursor + n - k % n) % n,
        };
        let found = (1..=n).map(at).find(|&i| flat.rows.get(i).is_some_and(matches));
        match found {
            Some(i) => {
                self.scroll.jump(i);
                Some(format!("found {query:?} at row {}", i + 1))
            }
            None => Some(format!("no match for {query:?}")),
        }
    }
}

/// The file function `function` is written in (0, the main file, when unknown).
fn function_file(snap: &SessionSnapshot, function: u32) -> u32 {
    snap.function(function).map_or(0, |f| f.file)
}
