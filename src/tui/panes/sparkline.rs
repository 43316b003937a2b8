//! The speed and timeline pane: a live sparkline of instructions per second over a scrubber
//! of the run (time travel). The scrubber's strip spans the run from its start to the furthest
//! point reached; `●` is where the debugger is, the marks are VM events (`J` a JIT compile, `B`
//! a bail-out, `M` a cache miss, `R` a rollback, `E` an error). Focused (`T`), ←/→ move a
//! cursor, `[`/`]` jump to the previous/next mark, Home/End to the ends, Enter travels there.
//! On a one-row pane the strip replaces the sparkline whenever the program is not running.

use std::cell::Cell;
use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::widgets::{Sparkline, Widget};

use super::{Command, Pane, PaneId, compact, frame, put_raw, thousands, title};
use crate::engine::snapshot::{RunStatus, SessionSnapshot};
use crate::engine::timeline::{MarkKind, Timeline};
use crate::tui::keys::Action;
use crate::tui::theme::Theme;

/// The speed and timeline pane.
#[derive(Default)]
pub struct SparklinePane {
    snap: Option<Arc<SessionSnapshot>>,
    /// The scrubber's cursor (an instruction count), while one is chosen.
    cursor: Option<u64>,
    /// Columns of the strip at the last draw (a cursor step is one column).
    width: Cell<u16>,
}

const COMMANDS: &[Command] = &[("←→", "move"), ("[ ]", "mark"), ("Enter", "travel")];

impl SparklinePane {
    fn timeline(&self) -> Option<&Timeline> {
        self.snap.as_ref().map(|s| &s.timeline)
    }

    /// Instructions one column of the strip stands for.
    fn step(&self) -> u64 {
        let horizon = self.timeline().map_or(0, |t| t.horizon);
        let cols = u64::from(self.width.get().saturating_sub(1).max(1));
        horizon.div_ceil(cols).max(1)
    }
}

/// The column of position `k` on a strip of `width` columns spanning `horizon` instructions.
fn column(k: u64, horizon: u64, width: u16) -> u16 {
    if horizon == 0 || width < 2 {
        return 0;
    }
    let last = u128::from(width - 1);
    u16::try_from(u128::from(k.min(horizon)) * last / u128::from(horizon)).unwrap_or(width - 1)
}

/// Which mark wins a shared column: errors, then rollbacks, bail-outs, compiles, misses.
fn rank(kind: MarkKind) -> u8 {
    match kind {
        MarkKind::Error => 5,
        MarkKind::Rollback => 4,
        MarkKind::Bailout => 3,
        MarkKind::JitCompile => 2,
        MarkKind::CacheMiss => 1,
    }
}

/// Draws the strip of `timeline` into one row.
fn render_strip(timeline: &Timeline, cursor: Option<u64>, area: Rect, buf: &mut Buffer, theme: &Theme) {
    let width = area.width;
    if width == 0 {
        return;
    }
    let y = area.y;
    for x in 0..width {
        put_raw(buf, area.x + x, y, "─", 1, theme.dimmed());
    }
    let mut best: Vec<Option<MarkKind>> = vec![None; width as usize];
    for m in &timeline.marks {
        let col = column(m.at, timeline.horizon, width) as usize;
        if let Some(slot) = best.get_mut(col)
            && slot.is_none_or(|k| rank(m.kind) > rank(k))
        {
            *slot = Some(m.kind);
        }
    }
    for (col, kind) in best.iter().enumerate() {
        let Some(kind) = kind else { continue };
        let style = match kind {
            MarkKind::Error => theme.fg(theme.failed),
            MarkKind::Rollback => theme.fg(theme.paused),
            MarkKind::Bailout => theme.fg(theme.hot),
            MarkKind::JitCompile => theme.fg(theme.compiled),
            MarkKind::CacheMiss => theme.fg(theme.key),
        };
        put_raw(buf, area.x + col as u16, y, &kind.symbol().to_string(), 1, style.add_modifier(Modifier::BOLD));
    }
    let here = column(timeline.position, timeline.horizon, width);
    put_raw(buf, area.x + here, y, "●", 1, theme.current());
    if let Some(c) = cursor {
        let col = column(c, timeline.horizon, width);
        let under = best.get(col as usize).copied().flatten().map_or('┃', MarkKind::symbol);
        let under = if col == here { '●' } else { under };
        put_raw(buf, area.x + col, y, &under.to_string(), 1, theme.cursor().add_modifier(Modifier::REVERSED));
    }
}

impl Pane for SparklinePane {
    fn id(&self) -> PaneId {
        PaneId::Sparkline
    }

    fn update(&mut self, snap: &Arc<SessionSnapshot>) {
        self.snap = Some(snap.clone());
        if let Some(c) = self.cursor {
            self.cursor = Some(c.min(snap.timeline.horizon));
        }
    }

    fn handle(&mut self, key: KeyEvent) -> Option<Action> {
        let timeline = self.timeline()?.clone();
        let from = self.cursor.unwrap_or(timeline.position);
        let step = self.step();
        let to = match key.code {
            KeyCode::Left | KeyCode::Char('h') => from.saturating_sub(step),
            KeyCode::Right | KeyCode::Char('l') => from.saturating_add(step).min(timeline.horizon),
            KeyCode::Home => 0,
            KeyCode::End => timeline.horizon,
            KeyCode::Char('[') => timeline.marks.iter().rev().find(|m| m.at < from).map_or(0, |m| m.at),
            KeyCode::Char(']') => timeline.marks.iter().find(|m| m.at > from).map_or(timeline.horizon, |m| m.at),
            KeyCode::Enter => {
                let target = self.cursor.take()?;
                return Some(Action::TravelTo(target));
            }
            KeyCode::Esc => {
                self.cursor = None;
                return None;
            }
            _ => return None,
        };
        self.cursor = Some(to);
        let mark = timeline.marks.iter().find(|m| m.at == to);
        let what =
            mark.map(|m| format!(" · {} {}: {}", m.kind.symbol(), m.kind.describe(), m.label)).unwrap_or_default();
        Some(Action::Status(format!(
            "timeline: instruction {} of {}{what} (Enter travels)",
            thousands(to),
            thousands(timeline.horizon)
        )))
    }

    fn commands(&self) -> &'static [Command] {
        COMMANDS
    }

    fn render(&self, area: Rect, buf: &mut Buffer, theme: &Theme, focused: bool) {
        let Some(snap) = &self.snap else {
            frame(area, buf, title("Timeline", String::new(), theme, focused), theme, focused);
            return;
        };
        let history = &snap.ips_history;
        let timeline = &snap.timeline;
        let now = history.last().copied().unwrap_or(0);
        let peak = history.iter().copied().max().unwrap_or(0);
        // Title details by priority, each only if it fits: the position, then the speed.
        let room = area.width.saturating_sub(13) as usize;
        let mut parts = Vec::new();
        if timeline.horizon > 0 {
            match self.cursor {
                Some(c) => parts.push(format!("at {} / {}", thousands(c), thousands(timeline.horizon))),
                None => parts.push(format!("{} / {}", thousands(timeline.position), thousands(timeline.horizon))),
            }
        }
        parts.push(format!("now {}/s", compact(now)));
        parts.push(format!("peak {}/s", compact(peak)));
        let mut detail = String::new();
        for part in parts {
            let piece = format!("· {part}");
            let piece = if detail.is_empty() { piece } else { format!(" {piece}") };
            if detail.chars().count() + piece.chars().count() <= room {
                detail.push_str(&piece);
            }
        }
        let inner = frame(area, buf, title("Timeline", detail, theme, focused), theme, focused);
        if inner.height == 0 || inner.width == 0 {
            return;
        }
        self.width.set(inner.width);
        let strip = timeline.horizon > 0
            && (inner.height >= 2 || snap.status != RunStatus::Running || focused || self.cursor.is_some());
        let spark_rows = if strip { inner.height - 1 } else { inner.height };
        if spark_rows > 0 {
            let spark = Rect { height: spark_rows, ..inner };
            if history.is_empty() {
                put_raw(buf, spark.x + 1, spark.y, "no samples yet", spark.width.saturating_sub(1), theme.dimmed());
            } else {
                let shown = &history[history.len().saturating_sub(spark.width as usize)..];
                Sparkline::default().data(shown).max(peak.max(1)).style(theme.fg(theme.sparkline)).render(spark, buf);
            }
        }
        if strip {
            let row = Rect { y: inner.bottom() - 1, height: 1, ..inner };
            render_strip(timeline, self.cursor, row, buf, theme);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_span_the_run() {
        assert_eq!(column(0, 1000, 11), 0);
        assert_eq!(column(500, 1000, 11), 5);
        assert_eq!(column(1000, 1000, 11), 10);
        assert_eq!(column(5000, 1000, 11), 10);
        assert_eq!(column(7, 0, 11), 0);
    }
}
