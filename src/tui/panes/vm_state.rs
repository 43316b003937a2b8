//! The VM pane: the call stack (outermost first, a deep one folded; a frame can be selected and
//! the source and bytecode panes then show where it is; the latest reverted contract call under
//! it), the selected frame's locals, the
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
    /// Every frame listed (`+`), not only the ends of a deep stack.
    unfolded: bool,
    /// Locals, globals and STATE values in the previous snapshot (keys from [`value_keys`]), to
    /// mark what the last step or run changed.
    previous_values: std::collections::HashMap<String, String>,
}

/// Every local (of each frame), global and committed STATE value of `snap` under a key naming
/// it, plus one `f:` key per frame, so a frame that is new is not marked as changed throughout.
fn value_keys(snap: &SessionSnapshot) -> std::collections::HashMap<String, String> {
    let mut out = std::collections::HashMap::new();
    for (i, f) in snap.frames.iter().enumerate() {
        out.insert(format!("f:{i}:{}", f.name), String::new());
        for b in &f.locals {
            out.insert(format!("l:{i}:{}:{}", f.name, b.name), b.value.clone());
        }
    }
    out.extend(snap.globals.iter().map(|b| (format!("g:{}", b.name), b.value.clone())));
    out.extend(snap.state.iter().map(|b| (format!("s:{}", b.name), b.value.clone())));
    out.extend(snap.displays.iter().map(|b| (format!("w:{}", b.name), b.value.clone())));
    out
}

/// A call stack deeper than this is folded: the outermost [`FOLD_KEEP_OUTER`] frames, a
/// `⋯ N frames` row, and the innermost [`FOLD_KEEP_INNER`] (plus the selected frame and its
/// neighbours), so a deep recursion does not push the locals off the pane.
const FOLD_ABOVE: usize = 8;
const FOLD_KEEP_OUTER: usize = 2;
const FOLD_KEEP_INNER: usize = 4;

/// Which frames of `n` the call stack lists (in order), `selected` always among them.
fn shown_frames(n: usize, selected: Option<usize>, unfolded: bool) -> Vec<usize> {
    if unfolded || n <= FOLD_ABOVE {
        return (0..n).collect();
    }
    let near = |i: usize| selected.is_some_and(|s| i + 1 >= s && i <= s + 1);
    (0..n).filter(|&i| i < FOLD_KEEP_OUTER || i + FOLD_KEEP_INNER >= n || near(i)).collect()
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

    /// Whether the value under `key` changed (or appeared) since the previous snapshot; `scope`
    /// is the key that must have existed before (the frame), if any.
    fn changed(&self, key: &str, value: &str, scope: Option<&str>) -> bool {
        if self.previous_values.is_empty() || scope.is_some_and(|s| !self.previous_values.contains_key(s)) {
            return false;
        }
        self.previous_values.get(key).is_none_or(|old| old != value)
    }

    /// A `name = value` row, marked `*` and highlighted if the value changed.
    fn binding(&self, key: &str, name: &str, value: &str, scope: Option<&str>) -> (Kind, String) {
        if self.changed(key, value, scope) {
            (Kind::Selected, format!(" *{name} = {value}"))
        } else {
            (Kind::Binding, format!("  {name} = {value}"))
        }
    }

    fn lines(&self, snap: &SessionSnapshot) -> Vec<(Kind, String)> {
        let mut out = Vec::new();
        let selected = self.selected_frame(snap);
        out.push((Kind::Heading, format!("Call stack ({})", snap.frames.len())));
        if snap.frames.is_empty() {
            out.push((Kind::Dim, "  (no frames: the program has ended)".to_string()));
        }
        // Outermost first and innermost last, the order `run` prints a traceback in.
        let shown = shown_frames(snap.frames.len(), selected, self.unfolded);
        let mut next = 0;
        for &i in &shown {
            if i > next {
                let folded = i - next;
                out.push((Kind::Dim, format!("  ⋯ {folded} frame{} (+ unfolds)", if folded == 1 { "" } else { "s" })));
            }
            next = i + 1;
            let f = &snap.frames[i];
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
            let scope = format!("f:{i}:{}", f.name);
            for b in f.locals.iter().filter(|_| i > 0) {
                out.push(self.binding(&format!("l:{i}:{}:{}", f.name, b.name), &b.name, &b.value, Some(&scope)));
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
        if !snap.displays.is_empty() {
            out.push((Kind::Heading, format!("Watch ({}, in the innermost frame)", snap.displays.len())));
            for d in &snap.displays {
                out.push(self.binding(&format!("w:{}", d.name), &d.name, &d.value, None));
            }
        }
        out.push((Kind::Heading, format!("Globals ({}, * changed)", snap.globals.len())));
        for b in &snap.globals {
            out.push(self.binding(&format!("g:{}", b.name), &b.name, &b.value, None));
        }
        out.push((Kind::Heading, format!("STATE ({} committed)", thousands(snap.state_len as u64))));
        for b in &snap.state {
            out.push(self.binding(&format!("s:{}", b.name), &format!("{:?}", b.name), &b.value, None));
        }
        if snap.state_len > snap.state.len() {
            out.push((Kind::Dim, format!("  … {} more", snap.state_len - snap.state.len())));
        }
        out.push((Kind::Heading, format!("Transactions ({} open)", snap.transactions.len())));
        for tx in &snap.transactions {
            // Each pending write as old → new, STATE keys first, then contract members.
            out.push((
                Kind::Binding,
                format!("  #{}{}", tx.depth, crate::engine::snapshot::pending(tx.writes.len() + tx.members.len())),
            ));
            for w in &tx.writes {
                out.push((Kind::Binding, format!("     {w}")));
            }
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
            // A new build starts over: nothing is marked against another program's values.
            self.previous_values =
                if Arc::ptr_eq(&old.program, &snap.program) { value_keys(old) } else { Default::default() };
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
            // `[` goes up the listed stack to the caller, `]` down to the callee; the source
            // and bytecode panes follow the selected frame.
            KeyCode::Char('[') if n > 0 => {
                let cur = self.selected.unwrap_or(n - 1);
                self.selected = Some(cur.saturating_sub(1));
                return Some(Action::ShowFrame(cur.saturating_sub(1)));
            }
            KeyCode::Char(']') if n > 0 => {
                let cur = self.selected.unwrap_or(n - 1);
                self.selected = if cur + 1 >= n { None } else { Some(cur + 1) };
                return Some(Action::ShowFrame((cur + 1).min(n - 1)));
            }
            KeyCode::Char('+') => {
                self.unfolded = !self.unfolded;
                self.clamp_top();
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

    fn selected_frame(&self) -> Option<usize> {
        self.selected
    }

    fn commands(&self) -> &'static [Command] {
        &[("[ ]", "frame"), ("+", "fold"), ("j/k", "scroll")]
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
