//! The source pane: the program text with line numbers, breakpoints, the current line, the
//! failing line, and in the gutter how many times each line ran, heat-coloured. In a
//! multi-file program it shows one file at a time (named in its title): the file of the
//! running frame's function at each stop, or the one picked in the file list or by a search.

use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;

use super::{Command, Pane, PaneId, Scroll, SearchDir, StopTracker, fill_row, frame, put, put_raw, title};
use crate::engine::debug::Goal;
use crate::engine::snapshot::{Breakpoint, RunStatus, SessionSnapshot};
use crate::syntax::highlight::{self, BlockComments, Class};
use crate::tui::keys;
use crate::tui::keys::Action;
use crate::tui::sanitize;
use crate::tui::theme::Theme;

/// The source pane.
#[derive(Default)]
pub struct SourcePane {
    snap: Option<Arc<SessionSnapshot>>,
    /// The file shown (index in the snapshot's `program.files`).
    file: u32,
    lines: Vec<String>,
    /// Which of `lines` start inside a block comment (for colouring one line alone).
    blocks: BlockComments,
    scroll: Scroll,
    follow: bool,
    stops: StopTracker,
}

impl SourcePane {
    /// The 1-based line under the cursor.
    pub fn cursor_line(&self) -> u32 {
        self.scroll.cursor as u32 + 1
    }

    /// The file shown.
    pub fn file(&self) -> u32 {
        self.file
    }

    fn jump_to_current(&mut self, snap: &SessionSnapshot) {
        let at = snap.error.as_ref().map(|e| (e.file, e.line)).or(snap.location.map(|l| (l.file, l.line)));
        if let Some((file, line)) = at {
            self.load_file(snap, file);
            self.scroll.jump((line.max(1) - 1) as usize);
        }
    }

    /// Takes `text` as the shown lines (cleaned of control sequences).
    fn set_lines(&mut self, text: &str) {
        self.lines = text.lines().map(sanitize::clean).collect();
        self.blocks = BlockComments::scan(self.lines.iter().map(String::as_str));
    }

    /// Shows file `file` of the program (the main file if it has no such file).
    fn load_file(&mut self, snap: &SessionSnapshot, file: u32) {
        let file = if (file as usize) < snap.program.files.len() { file } else { 0 };
        if file != self.file || self.lines.is_empty() {
            self.file = file;
            let text = snap.program.files.get(file as usize).map_or(snap.program.source.as_str(), |f| &f.source);
            self.set_lines(text);
            self.scroll.jump(0);
        }
    }

    /// Shows file `file` with the cursor on 1-based line `line`; line 0 is the pc's line when
    /// the pc is in that file, else the first.
    pub fn show(&mut self, file: u32, line: u32) {
        let Some(snap) = self.snap.clone() else { return };
        self.load_file(&snap, file);
        let at_pc = snap.location.filter(|l| l.file == self.file).map(|l| l.line);
        let line = if line == 0 { at_pc.unwrap_or(1) } else { line };
        self.scroll.jump((line.max(1) - 1) as usize);
    }
}

impl SourcePane {
    /// Draws line `idx` from `x` to `right` on row `y`, keywords, literals, strings and
    /// comments in their theme colours on the row's background.
    fn put_coloured(
        &self,
        buf: &mut Buffer,
        (mut x, y, right): (u16, u16, u16),
        idx: usize,
        text: &str,
        row: Style,
        theme: &Theme,
    ) {
        let mut in_comment = self.blocks.starts_inside(idx);
        let mut at = 0;
        for (range, class) in highlight::classify(text, &mut in_comment) {
            if range.start > at {
                x = put_raw(buf, x, y, &text[at..range.start], right.saturating_sub(x), row);
            }
            let colour = match class {
                Class::Keyword => theme.syntax_keyword,
                Class::Literal => theme.syntax_literal,
                Class::String => theme.syntax_string,
                Class::Comment => theme.syntax_comment,
            };
            x = put_raw(buf, x, y, &text[range.clone()], right.saturating_sub(x), row.fg(colour));
            at = range.end;
        }
        if at < text.len() {
            put_raw(buf, x, y, &text[at..], right.saturating_sub(x), row);
        }
    }
}

impl Pane for SourcePane {
    fn id(&self) -> PaneId {
        PaneId::Source
    }

    fn update(&mut self, snap: &Arc<SessionSnapshot>) {
        let same_program = self.snap.as_ref().is_some_and(|old| Arc::ptr_eq(&old.program, &snap.program));
        if !same_program {
            // A new build: the same file again (its text may have changed), if it still exists.
            let file = if (self.file as usize) < snap.program.files.len() { self.file } else { 0 };
            let text = snap.program.files.get(file as usize).map_or(snap.program.source.as_str(), |f| &f.source);
            self.file = file;
            self.set_lines(text);
        }
        if self.stops.new_stop(snap) || (self.follow && snap.status == RunStatus::Running) {
            self.jump_to_current(snap);
        }
        self.snap = Some(snap.clone());
    }

    fn render(&self, area: Rect, buf: &mut Buffer, theme: &Theme, focused: bool) {
        let Some(snap) = &self.snap else {
            frame(area, buf, title("Source", String::new(), theme, focused), theme, focused);
            return;
        };
        let detail = match (&snap.profile, self.follow) {
            (Some(_), true) => "· times each line ran · follow".to_string(),
            (Some(_), false) => "· times each line ran".to_string(),
            (None, true) => "· follow · line counts off".to_string(),
            (None, false) => "· line counts off".to_string(),
        };
        let name = if snap.is_multi_file() {
            format!("Source {}", sanitize::clean(snap.file_name(self.file)))
        } else {
            "Source".to_string()
        };
        let inner = frame(area, buf, title(&name, detail, theme, focused), theme, focused);
        let error_line = snap.error.as_ref().filter(|e| e.file == self.file).map(|e| e.line);
        let mut height = inner.height as usize;
        if let Some(err) = &snap.error {
            // The last row carries the error message.
            if height > 1 {
                height -= 1;
                let y = inner.bottom() - 1;
                fill_row(buf, inner, y, theme.error());
                let at = if snap.is_multi_file() {
                    format!("{}:{}:{}", sanitize::clean(snap.file_name(err.file)), err.line, err.col)
                } else {
                    format!("line {}:{}", err.line, err.col)
                };
                let text = format!(" ✗ {at}: {}", err.message);
                put(buf, inner.x, y, &text, inner.width, theme.error());
            }
        }
        let current = if snap.status == RunStatus::Failed {
            None
        } else {
            snap.location.filter(|l| l.file == self.file).map(|l| l.line)
        };
        let digits = (self.lines.len().max(1).ilog10() + 1).max(3) as u16;
        let profile = snap.profile.as_ref();
        let count_width = super::count_width(profile.map_or(0, |p| p.max_line_hits), inner.width);
        for (row, idx) in self.scroll.window(self.lines.len(), height).enumerate() {
            let y = inner.y + row as u16;
            let line_no = idx as u32 + 1;
            let is_current = current == Some(line_no);
            let is_error = error_line == Some(line_no);
            let is_cursor = focused && idx == self.scroll.cursor;
            let row_style = if is_error {
                theme.error()
            } else if is_current {
                theme.current()
            } else if is_cursor {
                theme.cursor()
            } else {
                theme.text()
            };
            fill_row(buf, inner, y, row_style);
            let bp = snap.breakpoints.contains(&Breakpoint::Line { file: self.file, line: line_no });
            let mut x = inner.x;
            let right = inner.right();
            x = put_raw(buf, x, y, if bp { "●" } else { " " }, right - x, row_style.fg(theme.breakpoint));
            let marker = if is_error {
                "✗"
            } else if is_current {
                "▶"
            } else if is_cursor {
                "›"
            } else {
                " "
            };
            x = put_raw(buf, x, y, marker, right.saturating_sub(x), row_style);
            let number_style = if is_current || is_error { row_style } else { row_style.fg(theme.line_number) };
            if let Some(p) = profile {
                let n = p.line_hits_in(self.file, line_no);
                let style =
                    if is_current || is_error { row_style } else { row_style.fg(theme.heat(n, p.max_line_hits)) };
                x = put_raw(buf, x, y, &super::count_cell(n, count_width), right.saturating_sub(x), style);
            }
            let number = format!("{line_no:>width$} ", width = digits as usize);
            x = put_raw(buf, x, y, &number, right.saturating_sub(x), number_style);
            x = put_raw(buf, x, y, "│ ", right.saturating_sub(x), number_style);
            if let Some(text) = self.lines.get(idx) {
                if is_current || is_error {
                    put_raw(buf, x, y, text, right.saturating_sub(x), row_style);
                } else {
                    self.put_coloured(buf, (x, y, right), idx, text, row_style, theme);
                }
            }
        }
    }

    fn handle(&mut self, key: KeyEvent) -> Option<Action> {
        if let Some(nav) = keys::nav(&key) {
            self.scroll.nav(nav, self.lines.len());
            return None;
        }
        match key.code {
            KeyCode::Char('b') | KeyCode::F(9) => {
                Some(Action::ToggleBreakpoint(Breakpoint::Line { file: self.file, line: self.cursor_line() }))
            }
            KeyCode::Char('u') | KeyCode::F(4) => {
                Some(Action::Run(Goal::RunToLine { file: self.file, line: self.cursor_line() }))
            }
            KeyCode::Char('f') => {
                self.follow = !self.follow;
                Some(Action::Status(format!("follow {}", if self.follow { "on" } else { "off" })))
            }
            _ => None,
        }
    }

    fn selected_detail(&self) -> Option<String> {
        let p = self.snap.as_ref()?.profile.as_ref()?;
        let line = self.cursor_line();
        let n = p.line_hits_in(self.file, line);
        Some(format!("line {line}: {} instr", super::thousands(n)))
    }

    fn commands(&self) -> &'static [Command] {
        &[("f", "follow"), ("/", "search")]
    }

    fn scroll(&mut self, lines: i32) {
        self.scroll.move_by(lines, self.lines.len());
    }

    fn shown_file(&self) -> Option<u32> {
        Some(self.file)
    }

    fn show_file(&mut self, file: u32, line: u32) {
        self.show(file, line);
    }

    fn show_frame(&mut self, frame: usize) {
        let Some(f) = self.snap.as_ref().and_then(|s| s.frames.get(frame)).map(|f| (f.file, f.line)) else { return };
        self.show(f.0, f.1);
    }

    fn click(&mut self, row: u16) {
        self.scroll.click(row, self.lines.len());
    }

    fn search(&mut self, query: &str, dir: SearchDir) -> Option<String> {
        let needle = query.to_lowercase();
        let hit = |l: &str| l.to_lowercase().contains(&needle);
        let n = self.lines.len();
        let here = |i: &usize| self.lines.get(*i).is_some_and(|l| hit(l));
        let after = (self.scroll.cursor + 1..n).find(here);
        let snap = self.snap.clone()?;
        let files = &snap.program.files;
        let others = files.len().saturating_sub(1);
        // Matches in the other files: (file, first matching line, count), in order after this one.
        let elsewhere: Vec<(u32, u32, usize)> = (1..=others)
            .map(|k| ((self.file as usize + k) % files.len()) as u32)
            .filter_map(|f| {
                let lines: Vec<usize> =
                    files[f as usize].source.lines().enumerate().filter(|(_, l)| hit(l)).map(|(i, _)| i).collect();
                lines.first().map(|&first| (f, first as u32 + 1, lines.len()))
            })
            .collect();
        let more = |skip: Option<u32>| {
            let rest: Vec<&(u32, u32, usize)> = elsewhere.iter().filter(|(f, _, _)| Some(*f) != skip).collect();
            let count: usize = rest.iter().map(|(_, _, c)| c).sum();
            match rest.len() {
                0 => String::new(),
                k => format!(" (and {count} in {k} other file{}: F lists them)", if k == 1 { "" } else { "s" }),
            }
        };
        let multi = snap.is_multi_file();
        let name = |file: u32, line: usize| {
            if multi { format!("{}:{line}", snap.file_name(file)) } else { format!("line {line}") }
        };
        if dir == SearchDir::Backward {
            // Backward stays in the shown file: the previous match, wrapping to its last one.
            let cursor = self.scroll.cursor.min(n);
            let before = (0..cursor).rev().find(here).or_else(|| (cursor..n).rev().find(here));
            return Some(match before {
                Some(i) => {
                    self.scroll.jump(i);
                    format!("found {query:?} at {} (backward)", name(self.file, i + 1))
                }
                None => format!("no match for {query:?}"),
            });
        }
        if let Some(i) = after {
            self.scroll.jump(i);
            return Some(format!("found {query:?} at {}{}", name(self.file, i + 1), more(None)));
        }
        // Past the last match of this file: the next file that has one, else wrap around.
        if let Some(&(file, line, _)) = elsewhere.first() {
            self.show(file, line);
            return Some(format!("found {query:?} at {}{}", name(file, line as usize), more(Some(file))));
        }
        let wrapped =
            (0..=self.scroll.cursor.min(n.saturating_sub(1))).find(|&i| self.lines.get(i).is_some_and(|l| hit(l)));
        match wrapped {
            Some(i) => {
                self.scroll.jump(i);
                Some(format!("found {query:?} at {}", name(self.file, i + 1)))
            }
            None => Some(format!("no match for {query:?}")),
        }
    }
}
