//! The output pane: what the program printed (sanitized: no escape sequences reach the
//! terminal), following the end unless scrolled back, with the runtime error and warnings last.

use std::borrow::Cow;
use std::sync::Arc;

use crossterm::event::KeyEvent;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;

use super::{Command, Pane, PaneId, frame, put, thousands, title};
use crate::engine::snapshot::SessionSnapshot;
use crate::tui::keys::Action;
use crate::tui::keys::{self, Nav};
use crate::tui::theme::Theme;

/// The output pane.
#[derive(Default)]
pub struct OutputPane {
    snap: Option<Arc<SessionSnapshot>>,
    /// Rows scrolled back from the end (0 follows the end).
    back: usize,
    height: std::cell::Cell<usize>,
}

/// The rows of the pane: text and whether it is an error. The error is summarised (message,
/// position, traceback); the source pane shows the failing line itself.
fn rows(snap: &SessionSnapshot) -> Vec<(Cow<'_, str>, bool)> {
    let mut rows: Vec<(Cow<'_, str>, bool)> = snap.output.iter().map(|l| (Cow::from(l.as_str()), false)).collect();
    rows.extend(snap.warnings.iter().map(|w| (Cow::from(w.as_str()), true)));
    // A program that does not compile has its diagnostics in full among the warnings above.
    if let Some(err) = snap.error.as_ref().filter(|e| e.kind != crate::vm::error::ErrorKind::Compile) {
        rows.push((Cow::from(format!("error: {} (line {}:{})", err.message, err.line, err.col)), true));
        for (function, line) in &err.traceback {
            rows.push((Cow::from(format!("  in {function}, called at line {line}")), true));
        }
    }
    rows
}

impl Pane for OutputPane {
    fn id(&self) -> PaneId {
        PaneId::Output
    }

    fn update(&mut self, snap: &Arc<SessionSnapshot>) {
        self.snap = Some(snap.clone());
    }

    fn render(&self, area: Rect, buf: &mut Buffer, theme: &Theme, focused: bool) {
        let Some(snap) = &self.snap else {
            frame(area, buf, title("Output", String::new(), theme, focused), theme, focused);
            return;
        };
        let shown = snap.output.len() as u64;
        let detail = if snap.output_total > shown {
            format!("· {} lines (last {shown} kept)", thousands(snap.output_total))
        } else {
            format!("· {} lines", thousands(snap.output_total))
        };
        let inner = frame(area, buf, title("Output", detail, theme, focused), theme, focused);
        let rows = rows(snap);
        let height = inner.height as usize;
        self.height.set(height);
        let back = self.back.min(rows.len().saturating_sub(height));
        let end = rows.len() - back;
        let start = end.saturating_sub(height);
        for (i, (text, is_error)) in rows[start..end].iter().enumerate() {
            let style: Style = if *is_error { theme.error_text() } else { theme.text() };
            put(buf, inner.x + 1, inner.y + i as u16, text, inner.width.saturating_sub(1), style);
        }
    }

    fn handle(&mut self, key: KeyEvent) -> Option<Action> {
        let nav = keys::nav(&key)?;
        let page = self.height.get().max(2) - 1;
        let len = self.snap.as_ref().map(|s| rows(s).len()).unwrap_or(0);
        self.back = match nav {
            Nav::Up => self.back + 1,
            Nav::Down => self.back.saturating_sub(1),
            Nav::PageUp => self.back + page,
            Nav::PageDown => self.back.saturating_sub(page),
            Nav::Top => len,
            Nav::Bottom => 0,
        }
        .min(len.saturating_sub(self.height.get()));
        None
    }

    fn commands(&self) -> &'static [Command] {
        &[("j/k", "scroll"), ("G", "follow end")]
    }

    fn scroll(&mut self, lines: i32) {
        let len = self.snap.as_ref().map(|s| rows(s).len()).unwrap_or(0);
        let back = self.back as i64 - lines as i64;
        self.back = back.clamp(0, len.saturating_sub(self.height.get()) as i64) as usize;
    }
}
