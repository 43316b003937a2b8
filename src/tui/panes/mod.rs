//! The panes: one `Pane` trait and one module per view. Each pane keeps the latest snapshot
//! (an `Arc`), its own cursor and scroll position, and draws only the rows that are visible.

pub mod bytecode;
pub mod cache;
pub mod contracts;
pub mod files;
pub mod flame;
pub mod four_way;
pub mod hot_loops;
pub mod output;
pub mod passes;
pub mod source;
pub mod sparkline;
pub mod vm_state;

use std::cell::Cell;
use std::ops::Range;
use std::sync::Arc;

use crossterm::event::KeyEvent;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Widget};

use super::keys::Action;
use super::keys::Nav;
use super::sanitize;
use super::theme::Theme;
use crate::engine::snapshot::SessionSnapshot;

/// Which pane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PaneId {
    /// The source text.
    Source,
    /// The bytecode listings.
    Bytecode,
    /// Stacks, locals, globals, STATE, gas.
    Vm,
    /// Loops and their counters.
    HotLoops,
    /// The program's output.
    Output,
    /// Bytecode cache and optimizer figures.
    Cache,
    /// Instructions per second.
    Sparkline,
    /// Contract instances, open transactions and the event log (shown when there are any).
    Contracts,
}

impl PaneId {
    /// Every pane, in focus order.
    pub const ALL: [PaneId; 8] = [
        PaneId::Source,
        PaneId::Bytecode,
        PaneId::Vm,
        PaneId::HotLoops,
        PaneId::Output,
        PaneId::Cache,
        PaneId::Sparkline,
        PaneId::Contracts,
    ];

    /// Short name for the help and status lines.
    pub fn name(self) -> &'static str {
        match self {
            PaneId::Source => "source",
            PaneId::Bytecode => "bytecode",
            PaneId::Vm => "vm",
            PaneId::HotLoops => "hot loops",
            PaneId::Output => "output",
            PaneId::Cache => "cache",
            PaneId::Sparkline => "speed",
            PaneId::Contracts => "contracts",
        }
    }

    /// Position in [`PaneId::ALL`].
    pub fn index(self) -> usize {
        PaneId::ALL.iter().position(|&p| p == self).unwrap_or(0)
    }
}

/// A key and what it does, for the help bar.
pub type Command = (&'static str, &'static str);

/// One view of the session.
pub trait Pane {
    /// Which pane this is.
    fn id(&self) -> PaneId;
    /// Takes a new snapshot.
    fn update(&mut self, snap: &Arc<SessionSnapshot>);
    /// Draws the pane (border included) into `area`.
    fn render(&self, area: Rect, buf: &mut Buffer, theme: &Theme, focused: bool);
    /// Handles a key the app did not; may ask the app to do something.
    fn handle(&mut self, _key: KeyEvent) -> Option<Action> {
        None
    }
    /// The pane's own keys, for the help bar.
    fn commands(&self) -> &'static [Command] {
        &[]
    }
    /// Scrolls by `lines` (mouse wheel); positive is down.
    fn scroll(&mut self, _lines: i32) {}
    /// A click on row `row` of the pane's inner area.
    fn click(&mut self, _row: u16) {}
    /// Searches for `query` from the cursor on; returns a status message.
    fn search(&mut self, _query: &str, _dir: SearchDir) -> Option<String> {
        None
    }
    /// The file of the program the pane shows (the source pane), if it shows one.
    fn shown_file(&self) -> Option<u32> {
        None
    }
    /// Shows file `file` at 1-based `line` (see `Action::ShowFile`); panes that show no file
    /// ignore it.
    fn show_file(&mut self, _file: u32, _line: u32) {}
    /// Shows where call frame `frame` (index in the snapshot's frames) is (see
    /// `Action::ShowFrame`); panes without a position ignore it.
    fn show_frame(&mut self, _frame: usize) {}
    /// The call frame the user selected in this pane (the VM pane), if any.
    fn selected_frame(&self) -> Option<usize> {
        None
    }
    /// The exact figures of the selected row (a count a column may show rounded), for the
    /// status bar: `line 8: 35,000 instructions`.
    fn selected_detail(&self) -> Option<String> {
        None
    }
}

/// A view laid over the layout that sees keys before what lies under it: the four-way loop view
/// (over the whole screen, `four_way.rs`) and the pass-by-pass view (over the bytecode pane's
/// inside, `passes.rs`). Unlike a [`Pane`] it has no place in the layout: it cannot be focused,
/// hidden or zoomed, and it closes back to what it covers.
/// Which way a search moves from the cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchDir {
    /// To the next match after the cursor (`/` then Enter, `,`).
    Forward,
    /// To the previous match before the cursor (`.`).
    Backward,
}

pub trait Overlay {
    /// Takes a new snapshot (the overlay keeps it for drawing and keys).
    fn update(&mut self, snap: &Arc<SessionSnapshot>);
    /// Draws the overlay into `area`.
    fn render(&self, area: Rect, buf: &mut Buffer, theme: &Theme, focused: bool);
    /// Handles a key the overlay owns: `None` leaves the key to what lies under it; `Some`
    /// consumes it and may ask the app to do something.
    fn handle(&mut self, key: KeyEvent) -> Option<Option<Action>>;
    /// The overlay's own keys, for the status bar.
    fn commands(&self) -> &'static [Command];
    /// Scrolls by `lines` (mouse wheel); positive is down.
    fn scroll(&mut self, lines: i32);
}

/// Draws a pane's border and title; returns the inner area.
pub fn frame(area: Rect, buf: &mut Buffer, title: Line<'_>, theme: &Theme, focused: bool) -> Rect {
    let title = fit_title(title, area.width.saturating_sub(2) as usize);
    let block = Block::bordered()
        .border_type(if focused { BorderType::Thick } else { BorderType::Plain })
        .border_style(theme.border_style(focused))
        .style(theme.text())
        .title(title.style(theme.title_style(focused)));
    let inner = block.inner(area);
    block.render(area, buf);
    inner
}

/// `title` cut to `room` columns at a boundary, never inside a word: the detail loses its last
/// ` · ` or `, ` part until it fits (`· threshold 100 · 3 compiled, 19 entries` becomes
/// `· threshold 100 · 3 compiled`, then `· threshold 100`), then goes; a name too long for
/// the room ends in `…`. What a title drops the pane shows inside, zoomed or in its rows.
pub fn fit_title(title: Line<'_>, room: usize) -> Line<'_> {
    if title.width() <= room {
        return title;
    }
    let mut spans: Vec<Span<'_>> = title.spans;
    let width = |spans: &[Span<'_>]| spans.iter().map(Span::width).sum::<usize>();
    while spans.len() > 1 && width(&spans) > room {
        let Some(last) = spans.pop() else { break };
        let text = last.content.trim_end();
        let cut = [" · ", ", "].iter().filter_map(|sep| text.rfind(sep)).max();
        if let Some(at) = cut {
            let kept = format!("{} ", &text[..at]);
            spans.push(Span::styled(kept, last.style));
        }
    }
    if width(&spans) > room
        && let Some(first) = spans.first_mut()
    {
        let keep: String = first.content.chars().take(room.saturating_sub(2)).collect();
        *first = Span::styled(format!("{}… ", keep.trim_end()), first.style);
        if room < 3 {
            return Line::default();
        }
    }
    Line::from(spans)
}

/// `text` in at most `room` columns, cut at a word boundary and ending in `…` if it is cut.
pub fn fit_words(text: &str, room: usize) -> String {
    if text.chars().count() <= room {
        return text.to_string();
    }
    let limit: String = text.chars().take(room.saturating_sub(1)).collect();
    let cut = limit.rfind([' ', ',', ':', '·']).map_or(limit.as_str(), |at| &limit[..at]);
    format!("{}…", cut.trim_end_matches([' ', ',', ':', '·']))
}

/// A title made of a name and optional dimmed detail.
pub fn title<'a>(name: &'a str, detail: String, theme: &Theme, focused: bool) -> Line<'a> {
    let mut spans = vec![Span::styled(format!(" {name} "), theme.title_style(focused))];
    if !detail.is_empty() {
        spans.push(Span::styled(format!("{detail} "), theme.dimmed()));
    }
    Line::from(spans)
}

/// Writes `text` (sanitized) at `(x, y)`, cut to `width` columns; returns the next column.
pub fn put(buf: &mut Buffer, x: u16, y: u16, text: &str, width: u16, style: Style) -> u16 {
    if width == 0 {
        return x;
    }
    let clean = sanitize::clean(text);
    buf.set_stringn(x, y, clean, width as usize, style).0
}

/// Writes already-clean text (generated by us, not the program).
pub fn put_raw(buf: &mut Buffer, x: u16, y: u16, text: &str, width: u16, style: Style) -> u16 {
    if width == 0 {
        return x;
    }
    buf.set_stringn(x, y, text, width as usize, style).0
}

/// Fills row `y` of `area` with `style`.
pub fn fill_row(buf: &mut Buffer, area: Rect, y: u16, style: Style) {
    buf.set_style(Rect { x: area.x, y, width: area.width, height: 1 }, style);
}

/// Writes lines of placeholder text centred vertically in `area`.
pub fn placeholder(buf: &mut Buffer, area: Rect, lines: &[&str], theme: &Theme) {
    centred(buf, area, lines, |_| theme.placeholder());
}

/// Writes `lines` centred in `area`, line `i` in `style(i)`.
pub fn centred(buf: &mut Buffer, area: Rect, lines: &[&str], style: impl Fn(usize) -> Style) {
    let top = area.y + area.height.saturating_sub(lines.len() as u16) / 2;
    for (i, line) in lines.iter().enumerate() {
        let y = top + i as u16;
        if y >= area.bottom() {
            break;
        }
        let width = line.chars().count() as u16;
        let x = area.x + area.width.saturating_sub(width) / 2;
        put_raw(buf, x, y, line, area.right().saturating_sub(x), style(i));
    }
}

/// A cursor over a list of rows and the scroll offset that keeps it visible.
#[derive(Debug, Default)]
pub struct Scroll {
    /// The selected row.
    pub cursor: usize,
    offset: Cell<usize>,
    height: Cell<usize>,
    /// Set by [`Scroll::jump`]: bring the cursor into view with context below it.
    recenter: Cell<bool>,
}

impl Scroll {
    /// The rows to draw in a viewport of `height` rows over `len` rows, scrolling so the
    /// cursor is visible (with a little context above and below when possible).
    pub fn window(&self, len: usize, height: usize) -> Range<usize> {
        self.height.set(height);
        if height == 0 || len == 0 {
            return 0..0;
        }
        let cursor = self.cursor.min(len - 1);
        let margin = if height > 8 { 2 } else { 0 };
        let mut offset = self.offset.get().min(len.saturating_sub(1));
        if self.recenter.replace(false) && (cursor < offset + margin || cursor + margin >= offset + height) {
            offset = cursor.saturating_sub(height / 3);
        }
        if cursor < offset + margin {
            offset = cursor.saturating_sub(margin);
        } else if cursor + margin >= offset + height {
            offset = (cursor + margin + 1).saturating_sub(height);
        }
        offset = offset.min(len.saturating_sub(height));
        self.offset.set(offset);
        offset..(offset + height).min(len)
    }

    /// Moves the cursor to `idx` (a stop, a search hit); if that is off screen, the next
    /// window shows it a third of the way down rather than at the edge.
    pub fn jump(&mut self, idx: usize) {
        self.cursor = idx;
        self.recenter.set(true);
    }

    /// The first row drawn last time.
    pub fn offset(&self) -> usize {
        self.offset.get()
    }

    /// Applies a navigation key to a list of `len` rows.
    pub fn nav(&mut self, nav: Nav, len: usize) {
        let page = self.height.get().max(2) - 1;
        let last = len.saturating_sub(1);
        self.cursor = match nav {
            Nav::Up => self.cursor.saturating_sub(1),
            Nav::Down => (self.cursor + 1).min(last),
            Nav::PageUp => self.cursor.saturating_sub(page),
            Nav::PageDown => (self.cursor + page).min(last),
            Nav::Top => 0,
            Nav::Bottom => last,
        };
    }

    /// Moves the cursor by `delta` rows.
    pub fn move_by(&mut self, delta: i32, len: usize) {
        let last = len.saturating_sub(1) as i64;
        self.cursor = (self.cursor as i64 + delta as i64).clamp(0, last.max(0)) as usize;
    }

    /// Selects the row drawn at viewport row `row`.
    pub fn click(&mut self, row: u16, len: usize) {
        let at = self.offset.get() + row as usize;
        if at < len {
            self.cursor = at;
        }
    }
}

/// Formats a count with thousands separators.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The width of a count column whose largest count is `max`, in a pane `pane_width` wide:
/// wide enough for `max` exactly with digit grouping (at least 6), but at most 7 in a narrow
/// pane and 13 in any, where the counts that do not fit are rounded (`fit_count`). The width
/// follows the largest count, so every row's gutter is the same width.
pub fn count_width(max: u64, pane_width: u16) -> usize {
    let cap = if pane_width >= 72 { 13 } else { 7 };
    thousands(max).len().clamp(6, cap)
}

/// `n` in at most `width` columns: exact with digit grouping (`4,991`) when it fits, else
/// rounded (`12.35M`, `12.3M`, `12M`).
pub fn fit_count(n: u64, width: usize) -> String {
    let exact = thousands(n);
    if exact.len() <= width {
        return exact;
    }
    let x = n as f64;
    let (value, unit) = [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")]
        .into_iter()
        .find(|(scale, _)| x >= *scale)
        .map_or((x, ""), |(scale, unit)| (x / scale, unit));
    for decimals in [2, 1, 0] {
        let text = format!("{value:.decimals$}{unit}");
        if text.len() <= width {
            return text;
        }
    }
    format!("{value:.0}{unit}")
}

/// An execution count for a gutter `width` columns wide (see [`count_width`]) between spaces,
/// blank for zero.
pub fn count_cell(n: u64, width: usize) -> String {
    if n == 0 { " ".repeat(width + 2) } else { format!(" {:>width$} ", fit_count(n, width)) }
}

/// The gutter cell of an instruction without a count of its own.
pub fn no_count_cell(width: usize) -> String {
    format!(" {:>width$} ", "·")
}

/// Formats a rate compactly: `950`, `12.3k`, `4.56M`, `1.20G`.
pub fn compact(n: u64) -> String {
    let x = n as f64;
    if x >= 1e9 {
        format!("{:.2}G", x / 1e9)
    } else if x >= 1e6 {
        format!("{:.2}M", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.1}k", x / 1e3)
    } else {
        n.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scroll_keeps_the_cursor_visible() {
        let mut s = Scroll::default();
        assert_eq!(s.window(100, 10), 0..10);
        s.cursor = 50;
        let w = s.window(100, 10);
        assert!(w.contains(&50), "{w:?}");
        s.cursor = 99;
        assert_eq!(s.window(100, 10), 90..100);
        s.nav(Nav::Top, 100);
        assert_eq!(s.window(100, 10), 0..10);
        assert_eq!(s.window(3, 10), 0..3);
    }

    #[test]
    fn numbers_format() {
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(thousands(12), "12");
        assert_eq!(compact(12_345_678), "12.35M");
        assert_eq!(compact(999), "999");
        assert_eq!(fit_count(4_991, 6), "4,991");
        assert_eq!(fit_count(343_198_791, 11), "343,198,791");
        assert_eq!(fit_count(343_198_791, 7), "343.20M");
        assert_eq!(fit_count(12_345_678, 6), "12.35M");
        assert_eq!(fit_count(1_234_567_890_123, 6), "1.23T");
        assert_eq!(count_cell(4_991, 6), "  4,991 ");
        assert_eq!(count_cell(0, 6).len(), 8);
        assert_eq!(count_width(150, 120), 6);
        assert_eq!(count_width(25_999_998_703, 120), 14.min(13));
        assert_eq!(count_width(25_999_998_703, 40), 7);
    }
}

/// Notices when the debugger has stopped somewhere new, so cursors can jump there.
#[derive(Debug, Default)]
pub struct StopTracker {
    last: Option<(crate::engine::snapshot::RunStatus, u64, Option<crate::engine::snapshot::Location>)>,
}

impl StopTracker {
    /// True if `snap` shows a stop (or a restart) not seen before, or the first snapshot.
    pub fn new_stop(&mut self, snap: &SessionSnapshot) -> bool {
        use crate::engine::snapshot::RunStatus;
        let key = (snap.status, snap.counters.instructions, snap.location);
        let fresh = match &self.last {
            None => true,
            Some(last) => snap.status != RunStatus::Running && *last != key,
        };
        self.last = Some(key);
        fresh
    }
}
