//! The contracts pane, as a chain debugger shows a transaction: every contract instance with
//! its storage (members the last step changed marked `*`), the open transaction stack with
//! each pending write as old → new, what the last rollback discarded, the action calls that
//! reverted, and the event log as it grows (its newest records). Shown when the program has
//! contract instances, events or open transactions. Its headless twin is the `transactions`,
//! `contracts`, `events`, `last rollback` and `reverted` sections of `snapshot`.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::Arc;

use crossterm::event::KeyEvent;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use super::{Command, Pane, PaneId, frame, put, thousands, title};
use crate::engine::snapshot::SessionSnapshot;
use crate::tui::keys::{self, Action};
use crate::tui::theme::Theme;

/// The contracts pane.
#[derive(Default)]
pub struct ContractsPane {
    snap: Option<Arc<SessionSnapshot>>,
    /// `C#k.member` and its value in the previous snapshot of a different program point.
    previous: HashMap<String, String>,
    top: usize,
    height: Cell<usize>,
}

#[derive(Clone, Copy)]
enum Kind {
    Heading,
    Text,
    Changed,
    Value,
    Dim,
    Reverted,
}

/// True when a snapshot has anything for the pane to show.
pub fn has_contracts(snap: &SessionSnapshot) -> bool {
    !snap.contracts.is_empty()
        || snap.events_len > 0
        || snap.transactions.iter().any(|t| !t.members.is_empty())
        || snap.last_rollback.is_some()
}

impl ContractsPane {
    fn lines(&self, snap: &SessionSnapshot) -> Vec<(Kind, String)> {
        let mut out = Vec::new();
        out.push((Kind::Heading, format!("Instances ({}, * changed by the last step)", snap.contracts.len())));
        if snap.contracts.is_empty() {
            out.push((Kind::Dim, "  (none yet)".to_string()));
        }
        for c in &snap.contracts {
            out.push((Kind::Text, format!("  {}", c.id)));
            for m in &c.members {
                let changed = self.previous.get(&format!("{}.{}", c.id, m.name)).is_some_and(|old| *old != m.value);
                let line = format!("  {} {} = {}", if changed { "*" } else { " " }, m.name, m.value);
                out.push((if changed { Kind::Changed } else { Kind::Value }, line));
            }
        }
        out.push((Kind::Heading, format!("Open transactions ({})", snap.transactions.len())));
        if snap.transactions.is_empty() {
            out.push((Kind::Dim, "  (none: storage is committed)".to_string()));
        }
        for tx in &snap.transactions {
            let keys = if tx.keys.is_empty() { String::new() } else { format!("  STATE {}", tx.keys.join(", ")) };
            out.push((Kind::Text, format!("  tx {}{keys}", tx.depth)));
            if tx.members.is_empty() {
                out.push((Kind::Dim, "     (no member written)".to_string()));
            }
            for m in &tx.members {
                out.push((Kind::Changed, format!("     {m}")));
            }
        }
        if let Some(rollback) = &snap.last_rollback {
            out.push((Kind::Heading, "Last rollback discarded".to_string()));
            for part in rollback.split("; ") {
                out.push((Kind::Reverted, format!("  ✗ {part}")));
            }
        }
        if !snap.reverted_calls.is_empty() {
            out.push((Kind::Heading, format!("Reverted calls ({})", snap.reverted_calls.len())));
            for r in &snap.reverted_calls {
                out.push((Kind::Reverted, format!("  ✗ {r}")));
            }
        }
        out.push((Kind::Heading, format!("Event log ({})", thousands(snap.events_len as u64))));
        if snap.events_len > snap.events.len() {
            out.push((Kind::Dim, format!("  … {} older", snap.events_len - snap.events.len())));
        }
        for (i, e) in snap.events.iter().enumerate() {
            out.push((Kind::Value, format!("  {:>3} {e}", snap.events_len - snap.events.len() + i + 1)));
        }
        out
    }

    fn clamp_top(&mut self) {
        let len = self.snap.as_ref().map(|s| self.lines(s).len()).unwrap_or(0);
        self.top = self.top.min(len.saturating_sub(self.height.get()));
    }
}

impl Pane for ContractsPane {
    fn id(&self) -> PaneId {
        PaneId::Contracts
    }

    fn update(&mut self, snap: &Arc<SessionSnapshot>) {
        if let Some(old) = self.snap.as_ref().filter(|old| old.counters.instructions != snap.counters.instructions) {
            self.previous = old
                .contracts
                .iter()
                .flat_map(|c| c.members.iter().map(move |m| (format!("{}.{}", c.id, m.name), m.value.clone())))
                .collect();
        }
        self.snap = Some(snap.clone());
    }

    fn render(&self, area: Rect, buf: &mut Buffer, theme: &Theme, focused: bool) {
        let Some(snap) = &self.snap else {
            frame(area, buf, title("Contracts", String::new(), theme, focused), theme, focused);
            return;
        };
        let detail = format!("· {} instances · {} open tx", snap.contracts.len(), snap.transactions.len());
        let inner = frame(area, buf, title("Contracts", detail, theme, focused), theme, focused);
        let lines = self.lines(snap);
        let height = inner.height as usize;
        self.height.set(height);
        let top = self.top.min(lines.len().saturating_sub(height));
        for (row, (kind, text)) in lines.iter().skip(top).take(height).enumerate() {
            let style = match kind {
                Kind::Heading => theme.heading(),
                Kind::Text => theme.text(),
                Kind::Changed => theme.current(),
                Kind::Value => theme.fg(theme.value),
                Kind::Dim => theme.dimmed(),
                Kind::Reverted => theme.fg(theme.breakpoint),
            };
            put(buf, inner.x + 1, inner.y + row as u16, text, inner.width.saturating_sub(1), style);
        }
    }

    fn handle(&mut self, key: KeyEvent) -> Option<Action> {
        let nav = keys::nav(&key)?;
        let page = self.height.get().max(2) - 1;
        self.top = nav.scrolled(self.top, page);
        self.clamp_top();
        None
    }

    fn commands(&self) -> &'static [Command] {
        &[("j/k", "scroll")]
    }

    fn scroll(&mut self, lines: i32) {
        self.top = (self.top as i64 + lines as i64).max(0) as usize;
        self.clamp_top();
    }
}
