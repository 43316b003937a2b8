//! The speed pane: a live sparkline of instructions per second, with the latest figure and
//! the run's totals.

use std::sync::Arc;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::widgets::{Sparkline, Widget};

use super::{Pane, PaneId, compact, frame, put_raw, title};
use crate::engine::snapshot::SessionSnapshot;
use crate::tui::theme::Theme;

/// The speed pane.
#[derive(Default)]
pub struct SparklinePane {
    snap: Option<Arc<SessionSnapshot>>,
}

impl Pane for SparklinePane {
    fn id(&self) -> PaneId {
        PaneId::Sparkline
    }

    fn update(&mut self, snap: &Arc<SessionSnapshot>) {
        self.snap = Some(snap.clone());
    }

    fn render(&self, area: Rect, buf: &mut Buffer, theme: &Theme, focused: bool) {
        let Some(snap) = &self.snap else {
            frame(area, buf, title("Instructions/s", String::new(), theme, focused), theme, focused);
            return;
        };
        let history = &snap.ips_history;
        let now = history.last().copied().unwrap_or(0);
        let peak = history.iter().copied().max().unwrap_or(0);
        let detail = format!("· now {}/s · peak {}/s", compact(now), compact(peak));
        let inner = frame(area, buf, title("Instructions/s", detail, theme, focused), theme, focused);
        if inner.height == 0 || inner.width == 0 {
            return;
        }
        if history.is_empty() {
            put_raw(buf, inner.x + 1, inner.y, "no samples yet", inner.width.saturating_sub(1), theme.dimmed());
            return;
        }
        let shown = &history[history.len().saturating_sub(inner.width as usize)..];
        Sparkline::default().data(shown).max(peak.max(1)).style(theme.fg(theme.sparkline)).render(inner, buf);
    }
}
