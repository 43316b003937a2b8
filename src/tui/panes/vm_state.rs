//! The VM pane: the call stack (a frame can be selected; the latest reverted contract call
//! under it), the selected frame's locals, the
//! operand stack, globals, committed STATE with the open transactions, contract instances with
//! their storage (members a step changed marked) and the event log, and gas.

use std::cell::Cell;
use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;

use super::{Command, Pane, PaneId, StopTracker, frame, put, thousands, title};
use crate::engine::snapshot::{RunStatus, SessionSnapshot};
use crate::tui::keys;
use crate::tui::keys::Action;
use crate::tui::theme::Theme;

/// The VM pane.
#[derive(Default)]
pub struct VmPane {
    snap: Option<Arc<SessionSnapshot>>,
    /// Selected frame (index into `frames`); `None` follows the innermost.
    selected: Option<usize>,
    top: usize,
    height: Cell<usize>,
    stops: StopTracker,
    /// Contract members (`C#k.name`) and their values in the previous snapshot, to highlight
    /// the members a step changed.
    previous_members: std::collections::HashMap<String, String>,
}

#[derive(Clone, Copy)]
enum Kind {
    Heading,
    Text,
    Selected,
    Binding,
    Dim,
}

impl VmPane {
    fn selected_frame(&self, snap: &SessionSnapshot) -> Option<usize> {
        let n = snap.frames.len();
        if n == 0 {
            return None;
        }
        Some(self.selected.unwrap_or(n - 1).min(n - 1))
    }

    fn lines(&self, snap: &SessionSnapshot) -> Vec<(Kind, String)> {
        let mut out = Vec::new();
        let selected = self.selected_frame(snap);
        out.push((Kind::Heading, format!("Call stack ({})", snap.frames.len())));
        if snap.frames.is_empty() {
            out.push((Kind::Dim, "  (no frames: the program has ended)".to_string()));
        }
        for (i, f) in snap.frames.iter().enumerate().rev() {
            let mark = if Some(i) == selected { "▶" } else { " " };
            let kind = if Some(i) == selected { Kind::Selected } else { Kind::Text };
            let tx = match f.transaction {
                Some(_) if snap.status == RunStatus::Failed => "  reverted".to_string(),
                Some(depth) => format!("  tx {depth}"),
                None => String::new(),
            };
            let at = if snap.is_multi_file() {
                // `f@D:LINE` for a function of module D, else `name D:LINE`.
                let file = snap.file_name(f.file);
                let qualified = f.name.strip_suffix(file).is_some_and(|n| n.ends_with('@'))
                    || f.name.strip_suffix('>').is_some_and(|n| n.ends_with(file));
                if qualified { format!("{}:{}", f.name, f.line) } else { format!("{} {file}:{}", f.name, f.line) }
            } else {
                format!("{}  line {}", f.name, f.line)
            };
            out.push((kind, format!("{mark} #{i} {at}  pc {}{tx}", f.pc)));
        }
        // Calls an error unwound: the latest reverted external call (CONTRACTS.md §6.2).
        if let Some(r) = snap.reverted_calls.last() {
            out.push((Kind::Dim, format!("  ✗ reverted {r}")));
        }
        if let Some(i) = selected
            && let Some(f) = snap.frames.get(i)
        {
            out.push((Kind::Heading, format!("Locals · {}", f.name)));
            if i == 0 {
                // The top level's slots are the globals, listed below.
                out.push((Kind::Dim, "  (top level: see Globals)".to_string()));
            } else if f.locals.is_empty() {
                out.push((Kind::Dim, "  (none)".to_string()));
            }
            for b in f.locals.iter().filter(|_| i > 0) {
                out.push((Kind::Binding, format!("  {} = {}", b.name, b.value)));
            }
            if i + 1 == snap.frames.len() {
                out.push((Kind::Heading, format!("Operands ({}, top first)", snap.operand_count)));
                if snap.operands.is_empty() {
                    out.push((Kind::Dim, "  (empty)".to_string()));
                }
                for v in &snap.operands {
                    out.push((Kind::Binding, format!("  {v}")));
                }
            } else {
                out.push((Kind::Heading, format!("Operands ({})", f.operand_count)));
            }
        }
        out.push((Kind::Heading, format!("Globals ({})", snap.globals.len())));
        for b in &snap.globals {
            out.push((Kind::Binding, format!("  {} = {}", b.name, b.value)));
        }
        out.push((Kind::Heading, format!("STATE ({} committed)", thousands(snap.state_len as u64))));
        for b in &snap.state {
            out.push((Kind::Binding, format!("  {:?} = {}", b.name, b.value)));
        }
        if snap.state_len > snap.state.len() {
            out.push((Kind::Dim, format!("  … {} more", snap.state_len - snap.state.len())));
        }
        out.push((Kind::Heading, format!("Transactions ({} open)", snap.transactions.len())));
        for tx in &snap.transactions {
            let keys = if tx.keys.is_empty() { "(no writes yet)".to_string() } else { tx.keys.join(", ") };
            let keys = if tx.keys.is_empty() && !tx.members.is_empty() { String::new() } else { keys };
            out.push((Kind::Binding, format!("  #{} {keys}", tx.depth)));
            for m in &tx.members {
                out.push((Kind::Binding, format!("     {m}")));
            }
        }
        if !snap.contracts.is_empty() || snap.events_len > 0 {
            out.push((Kind::Heading, format!("Contracts ({} instances, * changed)", snap.contracts.len())));
            for c in &snap.contracts {
                out.push((Kind::Text, format!("  {}", c.id)));
                for m in &c.members {
                    let key = format!("{}.{}", c.id, m.name);
                    let changed = self.previous_members.get(&key).is_some_and(|old| *old != m.value);
                    let line = format!("  {} {} = {}", if changed { "*" } else { " " }, m.name, m.value);
                    out.push((if changed { Kind::Selected } else { Kind::Binding }, line));
                }
            }
            out.push((Kind::Heading, format!("Events ({})", thousands(snap.events_len as u64))));
            for e in &snap.events {
                out.push((Kind::Binding, format!("  {e}")));
            }
        }
        let limit = snap.gas_limit.map(thousands).unwrap_or_else(|| "no limit".to_string());
        out.push((Kind::Heading, "Gas and counters".to_string()));
        out.push((Kind::Text, format!("  gas {} / {limit}", thousands(snap.counters.gas))));
        out.push((
            Kind::Text,
            format!(
                "  instr {} · calls {} · max depth {}",
                thousands(snap.counters.instructions),
                thousands(snap.counters.calls),
                snap.counters.max_depth + 1
            ),
        ));
        out
    }
}

impl Pane for VmPane {
    fn id(&self) -> PaneId {
        PaneId::Vm
    }

    fn update(&mut self, snap: &Arc<SessionSnapshot>) {
        if self.stops.new_stop(snap) {
            self.selected = None;
        }
        // Roll the previous values only when the program moved, so a republished snapshot keeps
        // the highlights of the last step.
        if let Some(old) = self.snap.as_ref().filter(|old| old.counters.instructions != snap.counters.instructions) {
            self.previous_members = old
                .contracts
                .iter()
                .flat_map(|c| c.members.iter().map(move |m| (format!("{}.{}", c.id, m.name), m.value.clone())))
                .collect();
        }
        self.snap = Some(snap.clone());
    }

    fn render(&self, area: Rect, buf: &mut Buffer, theme: &Theme, focused: bool) {
        let Some(snap) = &self.snap else {
            frame(area, buf, title("VM", String::new(), theme, focused), theme, focused);
            return;
        };
        let depth = snap.location.map(|l| l.depth).unwrap_or(0);
        let detail = format!("· depth {depth} · gas {}", thousands(snap.counters.gas));
        let inner = frame(area, buf, title("VM", detail, theme, focused), theme, focused);
        let lines = self.lines(snap);
        let height = inner.height as usize;
        self.height.set(height);
        let top = self.top.min(lines.len().saturating_sub(height));
        for (row, (kind, text)) in lines.iter().skip(top).take(height).enumerate() {
            let style: Style = match kind {
                Kind::Heading => theme.heading(),
                Kind::Text => theme.text(),
                Kind::Selected => theme.current(),
                Kind::Binding => theme.fg(theme.value),
                Kind::Dim => theme.dimmed(),
            };
            let room = inner.width.saturating_sub(1) as usize;
            let text = match kind {
                // A frame row too wide keeps its pc: `#1 f  line 45  pc 15` becomes
                // `#1 f line 45 pc 15`, then `#1 f:45 pc 15`.
                Kind::Text | Kind::Selected if text.chars().count() > room && text.contains("  pc ") => {
                    let squeezed = text.replace("  ", " ");
                    let shorter = squeezed.replacen(" line ", ":", 1);
                    let fits = |t: &String| t.chars().count() <= room;
                    // Then the frame's transaction depth goes (the Transactions view has it).
                    let bare = shorter
                        .split(" tx ")
                        .next()
                        .unwrap_or(&shorter)
                        .split(" reverted")
                        .next()
                        .unwrap_or(&shorter)
                        .to_string();
                    [squeezed, shorter].into_iter().find(fits).unwrap_or(bare)
                }
                _ => text.clone(),
            };
            put(buf, inner.x + 1, inner.y + row as u16, &text, inner.width.saturating_sub(1), style);
        }
    }

    fn handle(&mut self, key: KeyEvent) -> Option<Action> {
        let n = self.snap.as_ref().map(|s| s.frames.len()).unwrap_or(0);
        match key.code {
            KeyCode::Char('[') => {
                let cur = self.selected.unwrap_or(n.saturating_sub(1));
                self.selected = Some(cur.saturating_sub(1));
                return None;
            }
            KeyCode::Char(']') => {
                let cur = self.selected.unwrap_or(n.saturating_sub(1));
                self.selected = if cur + 1 >= n { None } else { Some(cur + 1) };
                return None;
            }
            _ => {}
        }
        let nav = keys::nav(&key)?;
        let page = self.height.get().max(2) - 1;
        self.top = nav.scrolled(self.top, page);
        self.clamp_top();
        None
    }

    fn commands(&self) -> &'static [Command] {
        &[("[ ]", "frame"), ("j/k", "scroll")]
    }

    fn scroll(&mut self, lines: i32) {
        self.top = (self.top as i64 + lines as i64).max(0) as usize;
        self.clamp_top();
    }
}

impl VmPane {
    fn clamp_top(&mut self) {
        let len = self.snap.as_ref().map(|s| self.lines(s).len()).unwrap_or(0);
        self.top = self.top.min(len.saturating_sub(self.height.get()));
    }
}
