//! The key vocabulary of the TUI, as a leaf module: [`Action`] (what the user asked for),
//! [`Nav`] (cursor movement), and the one key table [`KEYS`] from which the global key
//! handling ([`global`]), the list panes' navigation ([`nav`]), the help overlay
//! ([`help_sections`]) and the status bar ([`bar`]) are all generated (gitui's `KeysList`).
//!
//! Keys that only the focused pane understands (`b`, `u`, `f`, `v`, `[`, `]`, Enter, the
//! mouse) are listed here too, as [`Meaning::Pane`], so that help shows them; the pane that
//! owns them handles them.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::engine::debug::Goal;
use crate::engine::recorder::EventBreak;
use crate::engine::snapshot::Breakpoint;

/// Something the user asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Run toward a debugger goal (step, continue, run to cursor).
    Run(Goal),
    /// Continue if paused, pause if running.
    TogglePause,
    /// One rung faster (true) or slower on the speed ladder (`tui::pace`).
    Speed(bool),
    /// Continue to the next VM event of any kind.
    RunToEvent,
    /// Rebuild the session from the same source.
    Restart,
    /// Set or clear a breakpoint.
    ToggleBreakpoint(Breakpoint),
    /// Open the menu of VM events to break on.
    EventMenu,
    /// Type a breakpoint with options: `[FILE:]LINE [ignore N] [if COND]`.
    BreakPrompt,
    /// Open the four-way view of loop `loop_id` of `function`.
    OpenLoopView {
        /// Function index.
        function: u32,
        /// Loop index.
        loop_id: u16,
    },
    /// Open the four-way view of the loop at the pc (else the busiest compiled loop).
    OpenLoopAtPc,
    /// Open (or close) the flame view: the live flame graph and the function table.
    FlameView,
    /// Open (or close) the list of the program's files.
    FileList,
    /// Show file `file` in the source pane at 1-based `line` (0: at the pc if it is in that
    /// file, else at the top).
    ShowFile {
        /// Index in the snapshot's `program.files`.
        file: u32,
        /// The line, or 0.
        line: u32,
    },
    /// Show call frame `i` (index in the snapshot's frames, outermost 0) in the source and
    /// bytecode panes: the line and instruction that frame is at.
    ShowFrame(usize),
    /// Turn the break on a VM event on or off.
    ToggleEventBreak(EventBreak),
    /// Focus the next pane.
    FocusNext,
    /// Focus the previous pane.
    FocusPrev,
    /// Focus pane number `n` (0-based, in [`PaneId::ALL`] order).
    FocusIndex(usize),
    /// Zoom the focused pane to the whole screen, or back.
    ToggleZoom,
    /// Hide the focused pane.
    HideFocused,
    /// Show every pane.
    ShowAll,
    /// Open the help overlay.
    Help,
    /// Start typing a search.
    StartSearch,
    /// Search again for the last query: forward (true) or backward.
    SearchAgain(bool),
    /// Open the export menu: every format of the session, written to a directory it names
    /// first (answered by the VM thread).
    Export,
    /// Switch to the next theme.
    NextTheme,
    /// Turn mouse capture on or off.
    ToggleMouse,
    /// Close an overlay, leave zoom.
    Escape,
    /// Show a message in the status line.
    Status(String),
    /// Suspend to the shell (Ctrl-Z; `fg` comes back).
    Suspend,
    /// Leave the program.
    Quit,
}

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

impl Nav {
    /// The first shown row of a scrolled list after this move, `page` rows to a page (`Bottom`
    /// overshoots; the pane clamps it to its length).
    pub fn scrolled(self, top: usize, page: usize) -> usize {
        match self {
            Nav::Up => top.saturating_sub(1),
            Nav::Down => top + 1,
            Nav::PageUp => top.saturating_sub(page),
            Nav::PageDown => top + page,
            Nav::Top => 0,
            Nav::Bottom => usize::MAX / 2,
        }
    }
}

/// A key (or mouse gesture) as the table names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// A character without Ctrl (Shift is part of the character: `B`, `?`).
    Char(char),
    /// A character with Ctrl.
    Ctrl(char),
    /// A function key without Shift.
    F(u8),
    /// A function key with Shift.
    ShiftF(u8),
    /// The digits `1` to `n`.
    Digits(char),
    /// A named key.
    Code(KeyCode),
    /// A mouse click (help only).
    Click,
    /// The mouse wheel (help only).
    Wheel,
}

impl Key {
    /// Whether `event` is this key.
    fn matches(self, event: &KeyEvent) -> bool {
        let ctrl = event.modifiers.contains(KeyModifiers::CONTROL);
        let shift = event.modifiers.contains(KeyModifiers::SHIFT);
        match (self, event.code) {
            (Key::Char(c), KeyCode::Char(k)) => !ctrl && c == k,
            (Key::Ctrl(c), KeyCode::Char(k)) => ctrl && c == k,
            (Key::F(n), KeyCode::F(k)) => !ctrl && !shift && n == k,
            (Key::ShiftF(n), KeyCode::F(k)) => !ctrl && shift && n == k,
            (Key::Digits(last), KeyCode::Char(k)) => !ctrl && ('1'..=last).contains(&k),
            (Key::Code(code), k) => !ctrl && code == k,
            _ => false,
        }
    }

    /// How help and the status bar write the key.
    pub fn label(self) -> String {
        match self {
            Key::Char(' ') => "space".to_string(),
            Key::Char(c) => c.to_string(),
            Key::Ctrl(c) => format!("^{}", c.to_ascii_uppercase()),
            Key::F(n) => format!("F{n}"),
            Key::ShiftF(n) => format!("S-F{n}"),
            Key::Digits(last) => format!("1-{last}"),
            Key::Code(KeyCode::Tab) => "Tab".to_string(),
            Key::Code(KeyCode::BackTab) => "S-Tab".to_string(),
            Key::Code(KeyCode::Up) => "↑".to_string(),
            Key::Code(KeyCode::Down) => "↓".to_string(),
            Key::Code(KeyCode::PageUp) => "PgUp".to_string(),
            Key::Code(KeyCode::PageDown) => "PgDn".to_string(),
            Key::Code(KeyCode::Home) => "Home".to_string(),
            Key::Code(KeyCode::End) => "End".to_string(),
            Key::Code(KeyCode::Enter) => "Enter".to_string(),
            Key::Code(KeyCode::Esc) => "Esc".to_string(),
            Key::Code(other) => format!("{other:?}"),
            Key::Click => "click".to_string(),
            Key::Wheel => "wheel".to_string(),
        }
    }
}

/// What a key means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Meaning {
    /// A global action, taken before the focused pane sees the key.
    Global(Action),
    /// Focus pane number (digit - 1).
    FocusDigit,
    /// Cursor movement in any list pane.
    Nav(Nav),
    /// Handled by the focused pane (listed for help only).
    Pane,
}

/// A section of the help overlay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// Running and stepping.
    Run,
    /// Pane layout.
    Panes,
    /// Moving inside a pane.
    Move,
    /// Everything else.
    Other,
}

impl Section {
    /// Sections in the order help shows them (two columns of two).
    pub const ALL: [Section; 4] = [Section::Run, Section::Panes, Section::Move, Section::Other];

    /// The heading help shows.
    pub fn name(self) -> &'static str {
        match self {
            Section::Run => "Run",
            Section::Panes => "Panes",
            Section::Move => "Move",
            Section::Other => "Other",
        }
    }
}

/// One row of the key table: keys with their meanings, one line of help, and (for the most
/// used keys) a short label in the status bar, shown after the first key's name.
#[derive(Debug)]
pub struct KeyRow {
    /// The help section (`None`: not in help).
    pub section: Option<Section>,
    /// The keys, in the order help lists them, each with its meaning.
    pub keys: &'static [(Key, Meaning)],
    /// How many of the keys help names (the rest are aliases that it leaves out for room).
    pub shown: usize,
    /// What help says the keys do.
    pub help: &'static str,
    /// The status bar's label, if the row is in the bar.
    pub bar: Option<&'static str>,
}

const fn row(
    section: Section,
    keys: &'static [(Key, Meaning)],
    help: &'static str,
    bar: Option<&'static str>,
) -> KeyRow {
    KeyRow { section: Some(section), keys, shown: keys.len(), help, bar }
}

/// A row whose help names only its first `shown` keys.
const fn some_shown(row: KeyRow, shown: usize) -> KeyRow {
    KeyRow { shown, ..row }
}

use Key::{Char, Code, Ctrl, F, ShiftF};
use Meaning::{Global as G, Nav as N, Pane as P};

/// The one key table. The first entry whose key matches decides.
pub const KEYS: &[KeyRow] = &[
    row(Section::Run, &[(Char(' '), G(Action::TogglePause))], "continue / pause", Some("run/pause")),
    row(
        Section::Run,
        &[(Char('c'), G(Action::Run(Goal::Continue))), (F(5), G(Action::Run(Goal::Continue)))],
        "continue",
        None,
    ),
    row(
        Section::Run,
        &[(Char('s'), G(Action::Run(Goal::StepInto))), (F(11), G(Action::Run(Goal::StepInto)))],
        "step into (line)",
        Some("step"),
    ),
    row(
        Section::Run,
        &[(Char('n'), G(Action::Run(Goal::StepLine))), (F(10), G(Action::Run(Goal::StepLine)))],
        "next line (over calls)",
        Some("next"),
    ),
    row(
        Section::Run,
        &[(Char('i'), G(Action::Run(Goal::StepInstruction))), (Char('I'), G(Action::Run(Goal::NextInstruction)))],
        "instr. step / next",
        None,
    ),
    some_shown(
        row(
            Section::Run,
            &[
                (Char('o'), G(Action::Run(Goal::StepOut))),
                (F(12), G(Action::Run(Goal::StepOut))),
                (ShiftF(11), G(Action::Run(Goal::StepOut))),
            ],
            "step out of function",
            Some("out"),
        ),
        2,
    ),
    row(Section::Run, &[(Char('u'), P), (F(4), P)], "run to cursor", Some("run to")),
    row(Section::Run, &[(Char('b'), P), (F(9), P)], "breakpoint at cursor", Some("break")),
    row(Section::Run, &[(Char('B'), G(Action::EventMenu))], "break on VM events…", Some("on event")),
    row(Section::Run, &[(Char('E'), G(Action::RunToEvent))], "run to next VM event", None),
    row(
        Section::Run,
        &[(Char('<'), G(Action::Speed(false))), (Char('>'), G(Action::Speed(true)))],
        "slower / faster run",
        None,
    ),
    row(Section::Run, &[(Char('C'), G(Action::BreakPrompt))], "break with condition…", None),
    row(Section::Run, &[(Char('r'), G(Action::Restart)), (F(2), G(Action::Restart))], "restart", None),
    row(
        Section::Panes,
        &[(Code(KeyCode::Tab), G(Action::FocusNext)), (Code(KeyCode::BackTab), G(Action::FocusPrev))],
        "next / previous pane",
        Some("pane"),
    ),
    row(Section::Panes, &[(Key::Digits('8'), Meaning::FocusDigit)], "focus pane by number", None),
    row(Section::Panes, &[(Char('z'), G(Action::ToggleZoom))], "zoom focused pane", None),
    row(
        Section::Panes,
        &[(Char('x'), G(Action::HideFocused)), (Char('X'), G(Action::ShowAll))],
        "hide pane / show all",
        None,
    ),
    row(Section::Panes, &[(Char('L'), G(Action::OpenLoopAtPc)), (Code(KeyCode::Enter), P)], "four-way loop view", None),
    row(
        Section::Panes,
        &[(Char('F'), G(Action::FileList)), (Char('P'), G(Action::FlameView))],
        "files… / flame graph",
        None,
    ),
    row(Section::Panes, &[(Key::Click, P), (Key::Wheel, P)], "focus, select / scroll", None),
    row(
        Section::Move,
        &[
            (Char('j'), N(Nav::Down)),
            (Char('k'), N(Nav::Up)),
            (Code(KeyCode::Up), N(Nav::Up)),
            (Code(KeyCode::Down), N(Nav::Down)),
        ],
        "cursor down / up",
        None,
    ),
    some_shown(
        row(
            Section::Move,
            &[
                (Code(KeyCode::PageDown), N(Nav::PageDown)),
                (Code(KeyCode::PageUp), N(Nav::PageUp)),
                (Ctrl('d'), N(Nav::PageDown)),
                (Ctrl('u'), N(Nav::PageUp)),
            ],
            "page (also ^D ^U)",
            None,
        ),
        2,
    ),
    some_shown(
        row(
            Section::Move,
            &[
                (Char('g'), N(Nav::Top)),
                (Char('G'), N(Nav::Bottom)),
                (Code(KeyCode::Home), N(Nav::Top)),
                (Code(KeyCode::End), N(Nav::Bottom)),
            ],
            "first / last row",
            None,
        ),
        2,
    ),
    row(Section::Move, &[(Char('f'), P)], "follow current line", None),
    row(Section::Move, &[(Char('v'), P)], "opt/raw/both/passes", None),
    row(Section::Move, &[(Char('['), P), (Char(']'), P)], "caller/callee; pass", None),
    row(Section::Move, &[(Char('+'), P)], "fold / unfold stack", None),
    row(Section::Move, &[(Char('a'), P), (Char('d'), P)], "flame: sort / source", None),
    row(Section::Other, &[(Char('/'), G(Action::StartSearch))], "search", None),
    row(
        Section::Other,
        &[(Char(','), G(Action::SearchAgain(true))), (Char('.'), G(Action::SearchAgain(false)))],
        "search next / previous",
        None,
    ),
    row(Section::Other, &[(Char('e'), G(Action::Export))], "export all formats…", None),
    row(Section::Other, &[(Char('t'), G(Action::NextTheme))], "switch theme", None),
    row(Section::Other, &[(Char('m'), G(Action::ToggleMouse))], "mouse capture on/off", None),
    row(Section::Other, &[(Code(KeyCode::Esc), G(Action::Escape))], "close overlay / unzoom", None),
    row(Section::Other, &[(Char('?'), G(Action::Help)), (F(1), G(Action::Help))], "this help", Some("help")),
    row(Section::Other, &[(Ctrl('z'), G(Action::Suspend))], "suspend (fg resumes)", None),
    row(
        Section::Other,
        &[(Char('q'), G(Action::Quit)), (Ctrl('c'), G(Action::Quit))],
        "quit (asks if running)",
        Some("quit"),
    ),
];

/// The first meaning the table gives `key`, if any.
fn meaning(key: &KeyEvent) -> Option<(Key, &'static Meaning)> {
    KEYS.iter().flat_map(|row| row.keys.iter()).find(|(k, _)| k.matches(key)).map(|(k, m)| (*k, m))
}

/// The navigation meaning of a key, if any.
pub fn nav(key: &KeyEvent) -> Option<Nav> {
    match meaning(key)? {
        (_, Meaning::Nav(nav)) => Some(*nav),
        _ => None,
    }
}

/// The global meaning of a key (before the focused pane sees it), if any.
pub fn global(key: &KeyEvent) -> Option<Action> {
    match meaning(key)? {
        (_, Meaning::Global(action)) => Some(action.clone()),
        (_, Meaning::FocusDigit) => match key.code {
            KeyCode::Char(c) => Some(Action::FocusIndex(c as usize - '1' as usize)),
            _ => None,
        },
        _ => None,
    }
}

/// The help overlay: for each section, its heading and its rows (keys, what they do).
pub fn help_sections() -> Vec<(&'static str, Vec<(String, &'static str)>)> {
    Section::ALL
        .iter()
        .map(|&section| {
            let rows = KEYS
                .iter()
                .filter(|row| row.section == Some(section))
                .map(|row| {
                    let shown = row.keys.iter().take(row.shown).map(|(k, _)| k.label());
                    (shown.collect::<Vec<_>>().join(" "), row.help)
                })
                .collect();
            (section.name(), rows)
        })
        .collect()
}

/// The global keys shown in the status bar: the first key of each bar row and its label.
pub fn bar() -> Vec<(String, &'static str)> {
    KEYS.iter().filter_map(|row| Some((row.keys.first()?.0.label(), row.bar?))).collect()
}

/// The widest help text that the help overlay shows whole at 80 columns (two columns of 37,
/// the key names taking 15).
pub const HELP_TEXT_MAX: usize = 22;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_help_text_fits_the_80_column_help() {
        for row in KEYS {
            assert!(row.help.chars().count() <= HELP_TEXT_MAX, "{:?} is cut at 80 columns", row.help);
            let keys: Vec<String> = row.keys.iter().take(row.shown).map(|(k, _)| k.label()).collect();
            assert!(keys.join(" ").chars().count() <= 11, "{keys:?} is cut at 80 columns");
        }
    }

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn vim_and_function_keys_agree() {
        let pairs = [
            (KeyCode::Char('c'), KeyCode::F(5)),
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

    #[test]
    fn no_table_entry_is_shadowed_by_an_earlier_one() {
        for (k, m) in KEYS.iter().flat_map(|row| row.keys.iter()) {
            let event = match *k {
                Key::Char(c) | Key::Digits(c) => KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE),
                Key::Ctrl(c) => KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL),
                Key::F(n) => KeyEvent::new(KeyCode::F(n), KeyModifiers::NONE),
                Key::ShiftF(n) => KeyEvent::new(KeyCode::F(n), KeyModifiers::SHIFT),
                Key::Code(code) => KeyEvent::new(code, KeyModifiers::NONE),
                Key::Click | Key::Wheel => continue,
            };
            let (first, meaning) = super::meaning(&event).expect("a table key has a meaning");
            assert_eq!((first, meaning), (*k, m), "{k:?} is shadowed");
        }
        assert_eq!(global(&KeyEvent::new(KeyCode::F(11), KeyModifiers::SHIFT)), Some(Action::Run(Goal::StepOut)));
        assert_eq!(global(&key(KeyCode::Char('3'))), Some(Action::FocusIndex(2)));
        assert_eq!(global(&key(KeyCode::Char('8'))), Some(Action::FocusIndex(7)), "the contracts pane");
        assert_eq!(global(&key(KeyCode::Char('9'))), None);
        assert_eq!(nav(&KeyEvent::new(KeyCode::Char('d'), KeyModifiers::CONTROL)), Some(Nav::PageDown));
    }

    #[test]
    fn help_and_bar_come_from_the_table() {
        let help = help_sections();
        assert_eq!(help.iter().map(|(h, _)| *h).collect::<Vec<_>>(), ["Run", "Panes", "Move", "Other"]);
        let rows: usize = help.iter().map(|(_, r)| r.len()).sum();
        assert_eq!(rows, KEYS.iter().filter(|r| r.section.is_some()).count());
        assert!(help[0].1.contains(&("space".to_string(), "continue / pause")));
        assert!(help[0].1.contains(&("c F5".to_string(), "continue")));
        assert!(help[0].1.contains(&("i I".to_string(), "instr. step / next")));
        assert_eq!(global(&key(KeyCode::Char('c'))), Some(Action::Run(Goal::Continue)));
        assert_eq!(global(&key(KeyCode::Char('s'))), Some(Action::Run(Goal::StepInto)));
        assert_eq!(global(&key(KeyCode::Char('I'))), Some(Action::Run(Goal::NextInstruction)));
        let bar = bar();
        assert_eq!(bar.first(), Some(&("space".to_string(), "run/pause")));
        assert_eq!(bar.last(), Some(&("q".to_string(), "quit")));
    }
}
