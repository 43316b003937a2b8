//! The hot-loops pane: every loop with its live iteration counter against the JIT threshold
//! ("compiles in N" counting down), then its state: interpreted (and why: the JIT declined it,
//! or is off), compiled (with its bail-outs and the commonest reason), or blacklisted (and
//! why). The selected loop's native-code figures sit on the last row when there is room.

use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};

use super::{Command, Pane, PaneId, Scroll, fill_row, fit_words, frame, put, put_raw, thousands, title};
use crate::engine::snapshot::{LoopState, LoopView, SessionSnapshot};
use crate::tui::keys;
use crate::tui::keys::Action;
use crate::tui::theme::Theme;

/// The hot-loops pane.
#[derive(Default)]
pub struct HotLoopsPane {
    snap: Option<Arc<SessionSnapshot>>,
    loops: Vec<LoopView>,
    scroll: Scroll,
}

impl HotLoopsPane {
    /// The selected loop, if any.
    pub fn selected(&self) -> Option<&LoopView> {
        self.loops.get(self.scroll.cursor)
    }
}

/// The state text of a loop and its colour; the reason is appended when `with_reason`.
fn state_text(lv: &LoopView, jit_on: bool, with_reason: bool, style: Style, theme: &Theme) -> (String, Style) {
    let hot = style.fg(theme.hot).add_modifier(Modifier::BOLD);
    let compiled = style.fg(theme.compiled).add_modifier(Modifier::BOLD);
    let why = |prefix: &str| match (&lv.reason, with_reason) {
        (Some(r), true) => format!("{prefix}: {r}"),
        _ => prefix.to_string(),
    };
    match lv.state {
        // The code alone says the JIT will refuse it: say so before it turns hot.
        LoopState::Cold if jit_on && lv.reason.is_some() => (why("will not compile"), hot),
        LoopState::Cold if jit_on => (format!("compiles in {}", thousands(lv.remaining())), style.fg(theme.dim)),
        LoopState::Cold => (format!("hot in {}", thousands(lv.remaining())), style.fg(theme.dim)),
        LoopState::Hot => (why("interpreted"), hot),
        LoopState::Refused => (why("interpreted, not compiled"), hot),
        LoopState::Compiled if lv.bailouts > 0 => {
            let n = lv.bailouts;
            (why(&format!("compiled · {n} bail-out{}", if n == 1 { "" } else { "s" })), compiled)
        }
        LoopState::Compiled => ("compiled".to_string(), compiled),
        LoopState::Blacklisted => (why("blacklisted"), style.fg(theme.failed).add_modifier(Modifier::BOLD)),
    }
}

/// The shortest form of a loop's state, for a row with no room for the usual one.
fn state_short(lv: &LoopView, jit_on: bool) -> String {
    match lv.state {
        LoopState::Cold if jit_on && lv.reason.is_some() => "no JIT".to_string(),
        LoopState::Cold => format!("in {}", thousands(lv.remaining())),
        LoopState::Hot => "interpreted".to_string(),
        LoopState::Refused => "refused".to_string(),
        LoopState::Compiled => "compiled".to_string(),
        LoopState::Blacklisted => "blacklisted".to_string(),
    }
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
        let detail = if jit.available && jit.enabled {
            format!(
                "· threshold {} · {} compiled, {} entries, {} bail-outs",
                jit.threshold,
                jit.loops_compiled,
                thousands(jit.entries),
                thousands(jit.bailouts)
            )
        } else if jit.available {
            format!("· threshold {} · JIT off", jit.threshold)
        } else if wide {
            format!("· threshold {} · JIT: not available in this build", jit.threshold)
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
                "JIT: not in this build",
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
        // With room to spare, the last row details the selected loop, and reasons too long for
        // their loop's row get a row of their own.
        let footer = inner.height as usize > self.loops.len() + 1 && inner.height >= 4;
        let rows = if footer { inner.height - 1 } else { inner.height };
        let two_rows = rows as usize >= 2 * self.loops.len();
        let jit_on = jit.available && jit.enabled;
        // Iterations exact with digit grouping in a column as wide as the largest needs
        // (rounded only past 13 columns, or in a narrow pane).
        let max_iterations = self.loops.iter().map(|l| l.iterations).max().unwrap_or(0);
        let iter_width = thousands(max_iterations).len().clamp(10, 13);
        let mut y = inner.y;
        for idx in self.scroll.window(self.loops.len(), rows as usize) {
            let Some(lv) = self.loops.get(idx) else { break };
            if y >= inner.y + rows {
                break;
            }
            let style = if focused && idx == self.scroll.cursor { theme.cursor() } else { theme.text() };
            fill_row(buf, inner, y, style);
            let right = inner.right();
            let narrow = inner.width < 56;
            let place = format!("{}:{}", lv.function_name, lv.header_line);
            let place = if narrow { format!(" {place} ") } else { format!(" {place:<16} ") };
            let mut x = put(buf, inner.x, y, &place, right - inner.x, style);
            let counter = if narrow {
                format!("{}/{} ", super::fit_count(lv.iterations, 7), lv.threshold)
            } else {
                let iterations = super::fit_count(lv.iterations, iter_width);
                format!("{iterations:>iter_width$} / {:<6} ", lv.threshold)
            };
            x = put_raw(buf, x, y, &counter, right.saturating_sub(x), style.fg(theme.line_number));
            let (full, state_style) = state_text(lv, jit_on, true, style, theme);
            let room = right.saturating_sub(x) as usize;
            let fits = |t: &str| t.chars().count() <= room;
            if fits(&full) || !two_rows || lv.reason.is_none() {
                // Never a reason cut mid-word: the whole state, else without its reason (which
                // the footer and the zoomed pane give in full), else its shortest form.
                let (without, _) = state_text(lv, jit_on, false, style, theme);
                // The reason as far as it goes by whole words, when a useful part of it fits.
                let partial = (room >= without.chars().count() + 14).then(|| fit_words(&full, room));
                let text = [full, partial.unwrap_or_default(), without]
                    .into_iter()
                    .find(|t| !t.is_empty() && fits(t))
                    .unwrap_or_else(|| state_short(lv, jit_on));
                put(buf, x, y, &text, right.saturating_sub(x), state_style);
                y += 1;
                continue;
            }
            let (text, _) = state_text(lv, jit_on, false, style, theme);
            let text = if fits(&text) { text } else { state_short(lv, jit_on) };
            put(buf, x, y, &text, right.saturating_sub(x), state_style);
            y += 1;
            if let Some(reason) = &lv.reason {
                fill_row(buf, inner, y, style);
                let room = inner.width.saturating_sub(5) as usize;
                put(
                    buf,
                    inner.x + 3,
                    y,
                    &format!("↳ {}", fit_words(reason, room)),
                    inner.width.saturating_sub(3),
                    style.fg(theme.dim),
                );
                y += 1;
            }
        }
        if footer && let Some(lv) = self.selected() {
            let y = inner.bottom() - 1;
            // Whole parts only, each with the rank at which it gives way (highest first).
            let mut parts: Vec<(u8, String)> = vec![(0, format!("{}:{}", lv.function_name, lv.header_line))];
            if lv.state.was_compiled() {
                let s = |n: u64| if n == 1 { "" } else { "s" };
                parts.push((1, format!("{} entr{}", thousands(lv.entries), if lv.entries == 1 { "y" } else { "ies" })));
                parts.push((1, format!("{} bail-out{}", thousands(lv.bailouts), s(lv.bailouts))));
                parts.push((2, format!("{} instructions native", thousands(lv.native_instructions))));
                parts.push((4, format!("{} bytes of x86-64", thousands(lv.native_bytes))));
            } else {
                parts.push((4, format!("pc {}..={}", lv.header_pc, lv.back_edge_pc)));
            }
            if let Some(reason) = &lv.reason {
                parts.push((3, reason.clone()));
            }
            parts.push((5, "Enter: four-way view".to_string()));
            let room = inner.width.saturating_sub(1) as usize;
            let join = |parts: &[(u8, String)]| parts.iter().map(|(_, t)| t.as_str()).collect::<Vec<_>>().join(" · ");
            let mut text = join(&parts);
            while text.chars().count() > room && parts.len() > 1 {
                let Some(drop) = parts.iter().enumerate().max_by_key(|(i, (rank, _))| (*rank, *i)).map(|(i, _)| i)
                else {
                    break;
                };
                parts.remove(drop);
                text = join(&parts);
            }
            put(buf, inner.x + 1, y, &fit_words(&text, room), inner.width.saturating_sub(1), theme.dimmed());
        }
    }

    fn handle(&mut self, key: KeyEvent) -> Option<Action> {
        if key.code == KeyCode::Enter {
            let lv = self.selected()?;
            return Some(Action::OpenLoopView { function: lv.function, loop_id: lv.loop_id });
        }
        let nav = keys::nav(&key)?;
        self.scroll.nav(nav, self.loops.len());
        None
    }

    fn selected_detail(&self) -> Option<String> {
        let lv = self.selected()?;
        // The iterations column is the one that may round; the footer has the rest exactly.
        Some(format!("{}:{}: {} iterations", lv.function_name, lv.header_line, thousands(lv.iterations)))
    }

    fn commands(&self) -> &'static [Command] {
        &[("j/k", "select"), ("Enter", "four-way view")]
    }

    fn scroll(&mut self, lines: i32) {
        self.scroll.move_by(lines, self.loops.len());
    }

    fn click(&mut self, row: u16) {
        self.scroll.click(row, self.loops.len());
    }
}
