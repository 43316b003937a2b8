//! The hot-loops pane: every loop with its live iteration counter against the JIT threshold
//! ("compiles in N" counting down), and its state: cold, hot (interpreted) or compiled.

use std::sync::Arc;

use crossterm::event::KeyEvent;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;

use super::{Command, Pane, PaneId, Scroll, fill_row, frame, put, put_raw, thousands, title};
use crate::engine::snapshot::{LoopState, LoopView, SessionSnapshot};
use crate::tui::app::Action;
use crate::tui::keys;
use crate::tui::theme::Theme;

/// The hot-loops pane.
#[derive(Default)]
pub struct HotLoopsPane {
    snap: Option<Arc<SessionSnapshot>>,
    loops: Vec<LoopView>,
    scroll: Scroll,
}

impl Pane for HotLoopsPane {
    fn id(&self) -> PaneId {
        PaneId::HotLoops
    }

    fn update(&mut self, snap: &Arc<SessionSnapshot>) {
        let mut loops = snap.loops.clone();
        // Busiest first; ties in program order.
        loops.sort_by(|a, b| {
            b.iterations.cmp(&a.iterations).then(a.function.cmp(&b.function)).then(a.loop_id.cmp(&b.loop_id))
        });
        self.loops = loops;
        self.snap = Some(snap.clone());
    }

    fn render(&self, area: Rect, buf: &mut Buffer, theme: &Theme, focused: bool) {
        let Some(snap) = &self.snap else {
            frame(area, buf, title("Hot loops", String::new(), theme, focused), theme, focused);
            return;
        };
        let jit = &snap.jit;
        let wide = area.width >= 62;
        let detail = if jit.available {
            format!(
                "· threshold {} · {} compiled, {} entries, {} bailouts",
                jit.threshold, jit.loops_compiled, jit.entries, jit.bailouts
            )
        } else if wide {
            format!("· threshold {} · JIT: not available in this build yet", jit.threshold)
        } else {
            format!("· threshold {}", jit.threshold)
        };
        let mut inner = frame(area, buf, title("Hot loops", detail, theme, focused), theme, focused);
        if !jit.available && !wide && inner.height > 0 {
            // Too narrow for the note in the title: it takes the first row.
            put_raw(
                buf,
                inner.x + 1,
                inner.y,
                "JIT: not in this build yet",
                inner.width.saturating_sub(1),
                theme.placeholder(),
            );
            inner.y += 1;
            inner.height -= 1;
        }
        if self.loops.is_empty() {
            put_raw(
                buf,
                inner.x + 1,
                inner.y,
                "no loops in this program",
                inner.width.saturating_sub(1),
                theme.dimmed(),
            );
            return;
        }
        for (row, idx) in self.scroll.window(self.loops.len(), inner.height as usize).enumerate() {
            let Some(lv) = self.loops.get(idx) else { break };
            let y = inner.y + row as u16;
            let style = if focused && idx == self.scroll.cursor { theme.cursor() } else { theme.text() };
            fill_row(buf, inner, y, style);
            let right = inner.right();
            let narrow = inner.width < 56;
            let place = format!("{}:{}", lv.function_name, lv.header_line);
            let place = if narrow { format!(" {place} ") } else { format!(" {place:<16} ") };
            let mut x = put(buf, inner.x, y, &place, right - inner.x, style);
            let iterations =
                if lv.iterations < 10_000_000 { thousands(lv.iterations) } else { super::compact(lv.iterations) };
            let counter = if narrow {
                format!("{iterations}/{} ", lv.threshold)
            } else {
                format!("{iterations:>10} / {:<6} ", lv.threshold)
            };
            x = put_raw(buf, x, y, &counter, right.saturating_sub(x), style.fg(theme.line_number));
            let (text, state_style) = match lv.state {
                LoopState::Cold => (format!("compiles in {}", thousands(lv.remaining())), style.fg(theme.dim)),
                LoopState::Hot if jit.available => {
                    ("hot · interpreted".to_string(), style.fg(theme.hot).add_modifier(Modifier::BOLD))
                }
                LoopState::Hot if narrow => ("hot".to_string(), style.fg(theme.hot).add_modifier(Modifier::BOLD)),
                LoopState::Hot => ("hot (no JIT yet)".to_string(), style.fg(theme.hot).add_modifier(Modifier::BOLD)),
                LoopState::Compiled => ("compiled".to_string(), style.fg(theme.compiled).add_modifier(Modifier::BOLD)),
            };
            put_raw(buf, x, y, &text, right.saturating_sub(x), state_style);
        }
    }

    fn handle(&mut self, key: KeyEvent) -> Option<Action> {
        let nav = keys::nav(&key)?;
        self.scroll.nav(nav, self.loops.len());
        None
    }

    fn commands(&self) -> &'static [Command] {
        &[("j/k", "scroll")]
    }

    fn scroll(&mut self, lines: i32) {
        self.scroll.move_by(lines, self.loops.len());
    }

    fn click(&mut self, row: u16) {
        self.scroll.click(row, self.loops.len());
    }
}
