//! The file list (`F`): every file of the program, over the screen. Each row names a file by
//! its display path with its size, its functions, its breakpoints and whether the pc is in it;
//! after a search (`/`), the lines of each file that match are listed under it. Enter shows
//! the selected file (at the selected match) in the source pane, where `b` sets breakpoints in
//! it.

use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::widgets::{Block, BorderType, Clear, Widget};

use super::{Command, Overlay, Scroll, fill_row, put, put_raw};
use crate::engine::snapshot::{Breakpoint, SessionSnapshot};
use crate::tui::keys::{self, Action};
use crate::tui::theme::Theme;

/// Matches listed per file at most (the count says how many there are).
const MATCHES_PER_FILE: usize = 50;

/// One row of the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Row {
    /// A file (index in `program.files`).
    File(u32),
    /// A line of a file that matches the search.
    Match(u32, u32),
}

/// The file list overlay.
pub struct FileList {
    snap: Option<Arc<SessionSnapshot>>,
    /// The search whose matches are listed (empty: none).
    query: String,
    /// The file the source pane shows (marked).
    shown: u32,
    rows: Vec<Row>,
    scroll: Scroll,
}

impl FileList {
    /// The list with the cursor on file `shown` (the source pane's), listing the matches of
    /// `query` if it is not empty.
    pub fn new(shown: u32, query: &str) -> FileList {
        FileList { snap: None, query: query.to_string(), shown, rows: Vec::new(), scroll: Scroll::default() }
    }

    fn rebuild(&mut self, snap: &SessionSnapshot) {
        let needle = self.query.to_lowercase();
        let mut rows = Vec::new();
        for (i, f) in snap.program.files.iter().enumerate() {
            rows.push(Row::File(i as u32));
            if needle.is_empty() {
                continue;
            }
            let hits = f.source.lines().enumerate().filter(|(_, l)| l.to_lowercase().contains(&needle));
            rows.extend(hits.take(MATCHES_PER_FILE).map(|(n, _)| Row::Match(i as u32, n as u32 + 1)));
        }
        let first = self.rows.is_empty();
        self.rows = rows;
        if first {
            let at = self.rows.iter().position(|r| *r == Row::File(self.shown)).unwrap_or(0);
            self.scroll.jump(at);
        }
    }

    /// Matches of the query in file `file`.
    fn match_count(&self, snap: &SessionSnapshot, file: u32) -> usize {
        let needle = self.query.to_lowercase();
        let text = snap.program.files.get(file as usize).map_or("", |f| f.source.as_str());
        text.lines().filter(|l| l.to_lowercase().contains(&needle)).count()
    }

    fn row_text(&self, snap: &SessionSnapshot, row: Row) -> String {
        match row {
            Row::File(i) => {
                let Some(f) = snap.program.files.get(i as usize) else { return String::new() };
                let functions = snap.program.functions.iter().filter(|x| x.file == i).count();
                let breaks = snap
                    .breakpoints
                    .iter()
                    .filter(|b| matches!(b, Breakpoint::Line { file, .. } if *file == i))
                    .count();
                let mut parts = vec![
                    format!("{} lines", f.line_count),
                    format!("{functions} function{}", if functions == 1 { "" } else { "s" }),
                ];
                if breaks > 0 {
                    parts.push(format!("{breaks} breakpoint{}", if breaks == 1 { "" } else { "s" }));
                }
                if !self.query.is_empty() {
                    parts.push(format!("{} matches", self.match_count(snap, i)));
                }
                if let Some((c, f)) = snap.cache.as_ref().and_then(|c| Some((c, c.files.iter().find(|f| f.file == i)?)))
                {
                    parts.push(format!("cache {}/{}: {}", f.hits, f.units, f.why(c.builds)));
                }
                let role = if i == 0 { "main" } else { "module" };
                format!("{} ({role}) · {}", f.display, parts.join(", "))
            }
            Row::Match(i, line) => {
                let text = snap.program.files.get(i as usize).and_then(|f| f.source.lines().nth(line as usize - 1));
                format!("    {}:{line}: {}", snap.file_name(i), text.unwrap_or("").trim())
            }
        }
    }
}

impl Overlay for FileList {
    fn update(&mut self, snap: &Arc<SessionSnapshot>) {
        self.rebuild(snap);
        self.snap = Some(snap.clone());
    }

    fn render(&self, area: Rect, buf: &mut Buffer, theme: &Theme, _focused: bool) {
        let Some(snap) = &self.snap else { return };
        let width = area.width.saturating_sub(4).min(110);
        let height = (self.rows.len() as u16 + 2).clamp(5, area.height.saturating_sub(2).max(5)).min(area.height);
        let popup = Rect {
            x: area.x + area.width.saturating_sub(width) / 2,
            y: area.y + area.height.saturating_sub(height) / 2,
            width,
            height,
        };
        Clear.render(popup, buf);
        let heading = if self.query.is_empty() {
            format!(" Files ({}) — Enter: show in the source pane, Esc: close ", snap.program.files.len())
        } else {
            format!(" Files and matches of {:?} — Enter: show, Esc: close ", self.query)
        };
        let block = Block::bordered()
            .border_type(BorderType::Double)
            .border_style(theme.border_style(true))
            .style(theme.text())
            .title(crate::tui::sanitize::clean(&heading));
        let inner = block.inner(popup);
        block.render(popup, buf);
        let at_pc = snap.location.map(|l| l.file);
        for (n, idx) in self.scroll.window(self.rows.len(), inner.height as usize).enumerate() {
            let y = inner.y + n as u16;
            let row = self.rows[idx];
            let style = if idx == self.scroll.cursor { theme.cursor() } else { theme.text() };
            fill_row(buf, inner, y, style);
            let (marker, text_style) = match row {
                Row::File(i) if at_pc == Some(i) => ("▶", style.add_modifier(Modifier::BOLD)),
                Row::File(i) if i == self.shown => ("›", style),
                Row::File(_) => (" ", style),
                Row::Match(..) => (" ", style.patch(theme.dimmed())),
            };
            let x = put_raw(buf, inner.x + 1, y, marker, inner.width.saturating_sub(1), style.fg(theme.key));
            put(buf, x + 1, y, &self.row_text(snap, row), inner.right().saturating_sub(x + 1), text_style);
        }
    }

    fn handle(&mut self, key: KeyEvent) -> Option<Option<Action>> {
        if let Some(nav) = keys::nav(&key) {
            self.scroll.nav(nav, self.rows.len());
            return Some(None);
        }
        match key.code {
            KeyCode::Enter => {
                let (file, line) = match self.rows.get(self.scroll.cursor)? {
                    Row::File(i) => (*i, 0),
                    Row::Match(i, line) => (*i, *line),
                };
                Some(Some(Action::ShowFile { file, line }))
            }
            _ => None,
        }
    }

    fn commands(&self) -> &'static [Command] {
        &[("Enter", "show file"), ("Esc", "close")]
    }

    fn scroll(&mut self, lines: i32) {
        self.scroll.move_by(lines, self.rows.len());
    }
}
