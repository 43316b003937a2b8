//! Key bindings: the global keys (debugger control, panes, overlays) with their vim-style and
//! arrow/function-key equivalents, the navigation keys every list pane shares, and the help
//! text generated from the same table.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::app::Action;
use crate::engine::debug::Goal;

/// Cursor movement inside a list pane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    /// One row up.
    Up,
    /// One row down.
    Down,
    /// One page up.
    PageUp,
    /// One page down.
    PageDown,
    /// First row.
    Top,
    /// Last row.
    Bottom,
}

/// The navigation meaning of a key, if any.
pub fn nav(key: &KeyEvent) -> Option<Nav> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    Some(match key.code {
        KeyCode::Up | KeyCode::Char('k') if !ctrl => Nav::Up,
        KeyCode::Down | KeyCode::Char('j') if !ctrl => Nav::Down,
        KeyCode::PageUp => Nav::PageUp,
        KeyCode::PageDown => Nav::PageDown,
        KeyCode::Char('u') if ctrl => Nav::PageUp,
        KeyCode::Char('d') if ctrl => Nav::PageDown,
        KeyCode::Home | KeyCode::Char('g') if !ctrl => Nav::Top,
        KeyCode::End | KeyCode::Char('G') if !ctrl => Nav::Bottom,
        _ => return None,
    })
}

/// The global meaning of a key (before the focused pane sees it), if any.
pub fn global(key: &KeyEvent) -> Option<Action> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let shift = key.modifiers.contains(KeyModifiers::SHIFT);
    if ctrl {
        return match key.code {
            KeyCode::Char('c') => Some(Action::Quit),
            _ => None,
        };
    }
    Some(match key.code {
        KeyCode::Char(' ') | KeyCode::Char('c') | KeyCode::F(5) => Action::TogglePause,
        KeyCode::Char('s') | KeyCode::F(11) if !shift => Action::Run(Goal::StepInstruction),
        KeyCode::Char('n') | KeyCode::F(10) => Action::Run(Goal::StepLine),
        KeyCode::Char('o') | KeyCode::F(12) => Action::Run(Goal::StepOut),
        KeyCode::F(11) => Action::Run(Goal::StepOut),
        KeyCode::Char('r') | KeyCode::F(2) => Action::Restart,
        KeyCode::Char('B') => Action::EventMenu,
        KeyCode::Char('L') => Action::OpenLoopAtPc,
        KeyCode::Tab => Action::FocusNext,
        KeyCode::BackTab => Action::FocusPrev,
        KeyCode::Char(c @ '1'..='7') => Action::FocusIndex(c as usize - '1' as usize),
        KeyCode::Char('z') => Action::ToggleZoom,
        KeyCode::Char('x') => Action::HideFocused,
        KeyCode::Char('X') => Action::ShowAll,
        KeyCode::Char('/') => Action::StartSearch,
        KeyCode::Char('e') => Action::Export,
        KeyCode::Char('t') => Action::NextTheme,
        KeyCode::Char('m') => Action::ToggleMouse,
        KeyCode::Char('?') | KeyCode::F(1) => Action::Help,
        KeyCode::Char('q') => Action::Quit,
        KeyCode::Esc => Action::Escape,
        _ => return None,
    })
}

/// The help overlay: keys and what they do, in sections (two columns of two sections).
pub const HELP: &[(&str, &[(&str, &str)])] = &[
    (
        "Run",
        &[
            ("space c F5", "continue / pause"),
            ("s F11", "step instruction"),
            ("n F10", "step source line"),
            ("o F12", "step out of function"),
            ("u F4", "run to cursor"),
            ("b F9", "breakpoint at cursor"),
            ("B", "break on VM events…"),
            ("r F2", "restart"),
        ],
    ),
    (
        "Panes",
        &[
            ("Tab S-Tab", "next / previous pane"),
            ("1-7", "focus pane by number"),
            ("z", "zoom focused pane"),
            ("x X", "hide pane / show all"),
            ("L Enter", "four-way loop view"),
            ("click wheel", "focus, select / scroll"),
        ],
    ),
    (
        "Move",
        &[
            ("j k ↑ ↓", "cursor down / up"),
            ("PgDn PgUp", "page (also ^d ^u)"),
            ("g G", "first / last row"),
            ("f", "follow current line"),
            ("v", "opt/raw/both/passes"),
            ("[ ]", "vm frame / pass"),
        ],
    ),
    (
        "Other",
        &[
            ("/", "search (Enter: next)"),
            ("e", "export Chrome trace"),
            ("t", "switch theme"),
            ("m", "mouse capture on/off"),
            ("? F1", "this help"),
            ("q ^C", "quit"),
        ],
    ),
];

/// The global keys shown in the help bar.
pub const BAR: &[(&str, &str)] = &[
    ("space", "run/pause"),
    ("s", "step"),
    ("n", "line"),
    ("o", "out"),
    ("b", "break"),
    ("B", "on event"),
    ("u", "run to"),
    ("Tab", "pane"),
    ("?", "help"),
    ("q", "quit"),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn vim_and_function_keys_agree() {
        let pairs = [
            (KeyCode::Char(' '), KeyCode::F(5)),
            (KeyCode::Char('s'), KeyCode::F(11)),
            (KeyCode::Char('n'), KeyCode::F(10)),
            (KeyCode::Char('o'), KeyCode::F(12)),
            (KeyCode::Char('?'), KeyCode::F(1)),
        ];
        for (a, b) in pairs {
            assert_eq!(global(&key(a)), global(&key(b)), "{a:?} vs {b:?}");
            assert!(global(&key(a)).is_some());
        }
        assert_eq!(nav(&key(KeyCode::Char('j'))), nav(&key(KeyCode::Down)));
        assert_eq!(global(&KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)), Some(Action::Quit));
    }
}
