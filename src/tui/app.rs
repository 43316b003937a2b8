//! The application state: the panes, focus/zoom/hidden layout, the current mode (normal, help
//! overlay, search input), the theme, and the requests queued for the VM thread. `App` never
//! talks to the VM or the terminal itself: keys become [`Action`]s, actions become
//! [`Request`]s in an outbox that the run loop drains, so the whole UI is testable with
//! `TestBackend`.

use std::cell::RefCell;
use std::path::PathBuf;
use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::widgets::{Block, BorderType, Clear, Widget};

use super::keys;
pub use super::keys::Action;
use super::pace::Speed;
use super::panes::files::FileList;
use super::panes::flame::FlameOverlay;
use super::panes::four_way::FourWay;
use super::panes::{self, Overlay, Pane, PaneId, SearchDir};
use super::theme::Theme;
use super::worker::Request;
use crate::engine::recorder::EventBreak;
use crate::engine::snapshot::{BreakRow, RunStatus, SessionSnapshot};

/// The smallest terminal the layout supports.
pub const MIN_WIDTH: u16 = 80;
/// The smallest terminal the layout supports.
pub const MIN_HEIGHT: u16 = 24;

/// What the keyboard is doing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Keys control the debugger and the panes.
    Normal,
    /// The help overlay is open, scrolled down this many rows.
    Help(usize),
    /// Typing a search query.
    Search(String),
    /// The menu of VM events to break on is open.
    EventMenu,
    /// Typing at the `:` prompt: a breakpoint `[FILE:]LINE [ignore N] [if COND]`, `watch
    /// NAME|STATE["key"]`, `back N` or `at K`.
    BreakPrompt(String),
    /// `q` was pressed while the program runs: `y` or `q` quits, any other key stays.
    ConfirmQuit,
    /// The export menu is open, with the directory it will write to (editable).
    ExportMenu(String),
}

/// A change the run loop must make to the terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TerminalRequest {
    /// Enable or disable mouse capture.
    Mouse(bool),
    /// Suspend the process (Ctrl-Z): restore the terminal, stop, and take it back on `fg`.
    Suspend,
}

/// Settings the app starts with.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// Themes to cycle through with `t` (the first is used).
    pub themes: Vec<Theme>,
    /// Start with mouse capture on.
    pub mouse: bool,
    /// The directory the export menu (`e`) proposes.
    pub export_path: PathBuf,
}

/// The application.
pub struct App {
    panes: Vec<Box<dyn Pane>>,
    focus: PaneId,
    zoom: bool,
    hidden: Vec<PaneId>,
    /// What the keyboard is doing.
    pub mode: Mode,
    themes: Vec<Theme>,
    theme_index: usize,
    mouse: bool,
    export_path: PathBuf,
    snapshot: Option<Arc<SessionSnapshot>>,
    message: Option<String>,
    last_search: String,
    /// The speed runs go at (sent to the VM thread on each change).
    speed: Speed,
    /// The area of the last frame drawn (how far the help can scroll).
    last_area: std::cell::Cell<Option<Rect>>,
    /// The event menu's filter for the contract breaks, and whether it is being typed.
    menu_filter: (String, bool),
    /// The selected entry of the breakpoint list in the `B` menu.
    break_cursor: usize,
    /// Requests for the VM thread, drained by the run loop.
    pub outbox: Vec<Request>,
    /// Requests for the terminal, drained by the run loop.
    pub terminal_requests: Vec<TerminalRequest>,
    /// True once the user asked to quit.
    pub quit: bool,
    rects: RefCell<Vec<(PaneId, Rect)>>,
    four_way: Option<FourWay>,
    flame: Option<FlameOverlay>,
    files: Option<FileList>,
}

impl App {
    /// A new app with every pane, focused on the source.
    pub fn new(config: AppConfig) -> App {
        let themes = if config.themes.is_empty() { vec![Theme::default()] } else { config.themes };
        App {
            panes: vec![
                Box::new(panes::source::SourcePane::default()),
                Box::new(panes::bytecode::BytecodePane::default()),
                Box::new(panes::vm_state::VmPane::default()),
                Box::new(panes::hot_loops::HotLoopsPane::default()),
                Box::new(panes::output::OutputPane::default()),
                Box::new(panes::cache::CachePane::default()),
                Box::new(panes::sparkline::SparklinePane::default()),
                Box::new(panes::contracts::ContractsPane::default()),
            ],
            focus: PaneId::Source,
            zoom: false,
            hidden: Vec::new(),
            mode: Mode::Normal,
            themes,
            theme_index: 0,
            mouse: config.mouse,
            export_path: config.export_path,
            snapshot: None,
            message: None,
            last_search: String::new(),
            speed: Speed::Full,
            last_area: std::cell::Cell::new(None),
            menu_filter: (String::new(), false),
            break_cursor: 0,
            outbox: Vec::new(),
            terminal_requests: Vec::new(),
            quit: false,
            rects: RefCell::new(Vec::new()),
            four_way: None,
            flame: None,
            files: None,
        }
    }

    /// The open four-way view's loop (function, loop index), if one is open.
    pub fn four_way(&self) -> Option<(u32, u16)> {
        self.four_way.as_ref().map(|f| (f.function, f.loop_id))
    }

    /// Whether mouse capture is on.
    pub fn mouse(&self) -> bool {
        self.mouse
    }

    /// The theme in use.
    pub fn theme(&self) -> &Theme {
        self.themes.get(self.theme_index).unwrap_or(&self.themes[0])
    }

    /// The focused pane.
    pub fn focus(&self) -> PaneId {
        self.focus
    }

    /// The latest snapshot.
    pub fn snapshot(&self) -> Option<&Arc<SessionSnapshot>> {
        self.snapshot.as_ref()
    }

    /// The status-line message, if any.
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }

    /// Takes a new snapshot from the VM thread.
    pub fn update(&mut self, snap: Arc<SessionSnapshot>) {
        for pane in &mut self.panes {
            pane.update(&snap);
        }
        if let Some(view) = self.four_way.as_mut() {
            view.update(&snap);
        }
        if let Some(view) = self.flame.as_mut() {
            view.update(&snap);
        }
        if let Some(list) = self.files.as_mut() {
            list.update(&snap);
        }
        self.snapshot = Some(snap);
    }

    fn pane_mut(&mut self, id: PaneId) -> &mut dyn Pane {
        let i = id.index().min(self.panes.len() - 1);
        self.panes[i].as_mut()
    }

    fn pane(&self, id: PaneId) -> &dyn Pane {
        let i = id.index().min(self.panes.len() - 1);
        self.panes[i].as_ref()
    }

    /// Handles one key.
    pub fn on_key(&mut self, key: KeyEvent) {
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            self.quit_now();
            return;
        }
        match self.mode.clone() {
            Mode::ConfirmQuit => {
                self.mode = Mode::Normal;
                if matches!(key.code, KeyCode::Char('y' | 'q')) {
                    self.quit_now();
                } else {
                    self.message = Some("still running".to_string());
                }
            }
            Mode::Help(scroll) => {
                // j/k and the arrows scroll a help taller than the screen; any other key closes
                // it, and `q` still quits.
                let limit = self.last_area.get().map_or(0, help_scroll_limit);
                match keys::nav(&key) {
                    Some(keys::Nav::Down) if scroll < limit => self.mode = Mode::Help(scroll + 1),
                    Some(keys::Nav::PageDown) if scroll < limit => self.mode = Mode::Help((scroll + 10).min(limit)),
                    Some(keys::Nav::Up) if limit > 0 => self.mode = Mode::Help(scroll.saturating_sub(1)),
                    Some(keys::Nav::PageUp) if limit > 0 => self.mode = Mode::Help(scroll.saturating_sub(10)),
                    _ => {
                        self.mode = Mode::Normal;
                        if key.code == KeyCode::Char('q') {
                            self.apply(Action::Quit);
                        }
                    }
                }
            }
            Mode::EventMenu if self.menu_filter.1 => match key.code {
                KeyCode::Char(c) if !c.is_control() => self.menu_filter.0.push(c),
                KeyCode::Backspace => drop(self.menu_filter.0.pop()),
                _ => self.menu_filter.1 = false,
            },
            Mode::EventMenu => match key.code {
                KeyCode::Char(c @ '1'..='9') => {
                    if let Some(&event) = EventBreak::ALL.get(c as usize - '1' as usize) {
                        let on = self.snapshot.as_ref().is_some_and(|s| s.event_breaks.contains(&event));
                        let filter = self.menu_filter.0.trim().to_string();
                        if event.takes_filter() && !on && !filter.is_empty() {
                            self.outbox.push(Request::SetEventBreak(event, Some(filter)));
                        } else {
                            self.apply(Action::ToggleEventBreak(event));
                        }
                    }
                }
                KeyCode::Char('/') => self.menu_filter = (String::new(), true),
                // The breakpoint list above the events: select, switch on/off, delete.
                KeyCode::Char('j') | KeyCode::Down => self.break_cursor += 1,
                KeyCode::Char('k') | KeyCode::Up => self.break_cursor = self.break_cursor.saturating_sub(1),
                KeyCode::Char(' ') | KeyCode::Enter | KeyCode::Char('d') | KeyCode::Delete => {
                    let rows = self.snapshot.as_ref().map(|s| s.break_list.clone()).unwrap_or_default();
                    self.break_cursor = self.break_cursor.min(rows.len().saturating_sub(1));
                    if let Some(row) = rows.get(self.break_cursor).cloned() {
                        let delete = matches!(key.code, KeyCode::Char('d') | KeyCode::Delete);
                        let enabled = row.enabled;
                        self.outbox.push(if delete {
                            Request::DeleteBreak(row)
                        } else {
                            Request::EnableBreak(row, !enabled)
                        });
                    }
                }
                _ => self.mode = Mode::Normal,
            },
            Mode::ExportMenu(mut dir) => match key.code {
                KeyCode::Esc => {
                    self.mode = Mode::Normal;
                    self.message = Some("export cancelled".to_string());
                }
                KeyCode::Enter => {
                    self.mode = Mode::Normal;
                    let dir = dir.trim().to_string();
                    if dir.is_empty() {
                        self.message = Some("export cancelled: no directory".to_string());
                    } else {
                        self.message = Some(format!("exporting to {dir}…"));
                        self.outbox.push(Request::ExportAll(PathBuf::from(dir)));
                    }
                }
                code => {
                    edit_line(&mut dir, code);
                    self.mode = Mode::ExportMenu(dir);
                }
            },
            Mode::BreakPrompt(mut text) => match key.code {
                KeyCode::Esc => self.mode = Mode::Normal,
                KeyCode::Enter => {
                    self.mode = Mode::Normal;
                    if let Some(request) = self.prompt_request(&text) {
                        self.outbox.push(request);
                    }
                }
                code => {
                    edit_line(&mut text, code);
                    self.mode = Mode::BreakPrompt(text);
                }
            },
            Mode::Search(mut query) => match key.code {
                KeyCode::Esc => self.mode = Mode::Normal,
                KeyCode::Enter => {
                    if query.is_empty() {
                        query = self.last_search.clone();
                    }
                    self.mode = Mode::Normal;
                    self.run_search(&query, SearchDir::Forward);
                }
                code => {
                    if edit_line(&mut query, code) {
                        self.mode = Mode::Search(query);
                    }
                }
            },
            Mode::Normal if self.files.is_some() => {
                if matches!(key.code, KeyCode::Esc | KeyCode::Char('F')) {
                    self.files = None;
                    return;
                }
                match self.files.as_mut().and_then(|v| v.handle(key)) {
                    Some(Some(action)) => self.apply(action),
                    Some(None) => {}
                    None => {
                        if let Some(action) = keys::global(&key) {
                            self.apply(action);
                        }
                    }
                }
            }
            Mode::Normal if self.four_way.is_some() => {
                if key.code == KeyCode::Esc {
                    self.four_way = None;
                    self.message = None;
                    return;
                }
                if let Some(handled) = self.four_way.as_mut().and_then(|v| v.handle(key)) {
                    if let Some(action) = handled {
                        self.apply(action);
                    }
                    return;
                }
                if let Some(action) = keys::global(&key) {
                    self.apply(action);
                }
            }
            Mode::Normal if self.flame.is_some() => {
                if key.code == KeyCode::Char('P') {
                    self.flame = None;
                    return;
                }
                match self.flame.as_mut().and_then(|v| v.handle(key)) {
                    Some(Some(action)) => self.apply(action),
                    Some(None) => {}
                    None if key.code == KeyCode::Esc => self.flame = None,
                    None => {
                        if let Some(action) = keys::global(&key) {
                            self.apply(action);
                        }
                    }
                }
            }
            Mode::Normal => {
                if let Some(action) = keys::global(&key) {
                    self.apply(action);
                    return;
                }
                let focus = self.focus;
                if let Some(action) = self.pane_mut(focus).handle(key) {
                    self.apply(action);
                    return;
                }
                // Breakpoint and run-to-cursor keys work from any pane, on the source cursor.
                let source_key = matches!(key.code, KeyCode::Char('b' | 'u') | KeyCode::F(4) | KeyCode::F(9));
                if source_key
                    && focus != PaneId::Source
                    && let Some(action) = self.pane_mut(PaneId::Source).handle(key)
                {
                    self.apply(action);
                }
            }
        }
    }

    /// What a line typed at the `:` prompt asks for: `watch NAME|STATE[KEY]`, `print EXPR` (or
    /// `p EXPR`) in the selected frame, `display EXPR` / `undisplay EXPR`, `back N` and `at K`
    /// (time travel), else a breakpoint `[FILE:]LINE [ignore N] [if COND]`. A malformed travel
    /// count is answered in the status line instead.
    fn prompt_request(&mut self, text: &str) -> Option<Request> {
        let text = text.trim();
        let (word, rest) = text.split_once(' ').map_or((text, ""), |(w, r)| (w, r.trim()));
        let count = rest.replace([',', '_'], "").parse::<u64>();
        let rest = rest.to_string();
        match word {
            "" => None,
            "watch" => Some(Request::SetWatch(rest)),
            "print" | "p" => Some(Request::Evaluate(rest, self.pane(PaneId::Vm).selected_frame())),
            "display" => Some(Request::Display(rest)),
            "undisplay" => Some(Request::Undisplay(rest)),
            "back" | "at" => match count {
                Ok(n) if word == "back" => Some(Request::Back(n)),
                Ok(k) => Some(Request::TravelTo(k)),
                Err(_) => {
                    let what = if word == "back" { "a count N" } else { "an instruction count K" };
                    self.message = Some(format!("expected `{word} N` with {what}, got '{text}'"));
                    None
                }
            },
            _ => Some(Request::SetBreakpoint(text.to_string())),
        }
    }

    fn run_search(&mut self, query: &str, dir: SearchDir) {
        if query.is_empty() {
            self.message = Some("no search yet: / starts one".to_string());
            return;
        }
        self.last_search = query.to_string();
        let target = if self.focus == PaneId::Source { PaneId::Source } else { PaneId::Bytecode };
        if self.hidden.contains(&target) {
            self.hidden.retain(|&p| p != target);
        }
        self.focus = target;
        let message = self.pane_mut(target).search(query, dir);
        self.message = message;
    }

    /// Applies an action.
    pub fn apply(&mut self, action: Action) {
        match action {
            Action::Run(goal) => {
                self.message = None;
                self.outbox.push(Request::Start(goal));
            }
            Action::TogglePause => {
                self.message = None;
                self.outbox.push(Request::TogglePause);
            }
            Action::Speed(faster) => {
                self.speed = self.speed.step(faster);
                self.message = Some(format!("speed: {}", self.speed.describe()));
                self.outbox.push(Request::SetSpeed(self.speed));
            }
            Action::RunToEvent => {
                self.message = Some("running to the next VM event".to_string());
                self.outbox.push(Request::RunToEvent);
            }
            Action::Restart => {
                self.message = Some("restarted".to_string());
                self.outbox.push(Request::Restart);
            }
            Action::ToggleBreakpoint(bp) => self.outbox.push(Request::ToggleBreakpoint(bp)),
            Action::EventMenu => self.mode = Mode::EventMenu,
            Action::OpenLoopView { function, loop_id } => self.open_loop_view(function, loop_id),
            Action::OpenLoopAtPc => match self.loop_at_pc() {
                Some((function, loop_id)) => self.open_loop_view(function, loop_id),
                None => self.message = Some("no loops in this program".to_string()),
            },
            Action::ToggleEventBreak(event) => self.outbox.push(Request::ToggleEventBreak(event)),
            Action::FileList => self.toggle_files(),
            Action::FlameView => {
                if self.flame.take().is_none() {
                    let mut view = FlameOverlay::new();
                    if let Some(snap) = &self.snapshot {
                        view.update(snap);
                    }
                    self.flame = Some(view);
                    self.message = None;
                }
            }
            Action::ShowFile { file, line } => {
                self.files = None;
                self.four_way = None;
                self.flame = None;
                self.hidden.retain(|&p| p != PaneId::Source);
                self.focus = PaneId::Source;
                self.pane_mut(PaneId::Source).show_file(file, line);
            }
            Action::ShowFrame(i) => {
                self.pane_mut(PaneId::Source).show_frame(i);
                self.pane_mut(PaneId::Bytecode).show_frame(i);
            }
            Action::FocusNext => self.cycle_focus(1),
            Action::FocusPrev => self.cycle_focus(-1),
            Action::FocusIndex(i) => {
                if let Some(&id) = PaneId::ALL.get(i) {
                    self.hidden.retain(|&p| p != id);
                    self.focus = id;
                }
            }
            Action::ToggleZoom => self.zoom = !self.zoom,
            Action::HideFocused => {
                if self.visible().len() > 1 {
                    self.hidden.push(self.focus);
                    self.zoom = false;
                    self.cycle_focus(1);
                    self.message = Some("pane hidden (X shows all)".to_string());
                }
            }
            Action::ShowAll => self.hidden.clear(),
            Action::Help => self.mode = Mode::Help(0),
            Action::StartSearch => self.mode = Mode::Search(String::new()),
            Action::SearchAgain(forward) => {
                let query = self.last_search.clone();
                self.run_search(&query, if forward { SearchDir::Forward } else { SearchDir::Backward });
            }
            Action::BreakPrompt => self.mode = Mode::BreakPrompt(String::new()),
            Action::Reverse(goal) => {
                self.message = None;
                self.outbox.push(Request::Reverse(goal));
            }
            Action::TravelTo(k) => {
                self.message = None;
                self.outbox.push(Request::TravelTo(k));
            }
            Action::Export => self.export(),
            Action::NextTheme => {
                self.theme_index = (self.theme_index + 1) % self.themes.len();
                self.message = Some(format!("theme: {}", self.theme().name));
            }
            Action::ToggleMouse => {
                self.mouse = !self.mouse;
                self.terminal_requests.push(TerminalRequest::Mouse(self.mouse));
                self.message = Some(format!("mouse capture {}", if self.mouse { "on" } else { "off" }));
            }
            Action::Escape => {
                self.mode = Mode::Normal;
                self.zoom = false;
                self.message = None;
            }
            Action::Status(message) => self.message = Some(message),
            Action::Suspend => self.terminal_requests.push(TerminalRequest::Suspend),
            Action::Quit => {
                if self.snapshot.as_ref().is_some_and(|s| s.status == RunStatus::Running) {
                    self.mode = Mode::ConfirmQuit;
                    self.message =
                        Some("the program is running: quit? (y or q quits, any other key stays)".to_string());
                } else {
                    self.quit_now();
                }
            }
        }
    }

    /// Leaves at once (Ctrl-C, or a confirmed `q`).
    fn quit_now(&mut self) {
        self.quit = true;
        self.outbox.push(Request::Quit);
    }

    fn toggle_files(&mut self) {
        if self.files.take().is_some() {
            return;
        }
        self.four_way = None;
        let shown = self.pane(PaneId::Source).shown_file().unwrap_or(0);
        let mut list = FileList::new(shown, &self.last_search);
        if let Some(snap) = &self.snapshot {
            list.update(snap);
        }
        self.files = Some(list);
    }

    fn open_loop_view(&mut self, function: u32, loop_id: u16) {
        let mut view = FourWay::new(function, loop_id);
        if let Some(snap) = &self.snapshot {
            view.update(snap);
        }
        self.four_way = Some(view);
        self.message = None;
    }

    /// The innermost loop containing the pc, else the busiest compiled loop, else the busiest.
    fn loop_at_pc(&self) -> Option<(u32, u16)> {
        let snap = self.snapshot.as_ref()?;
        let at = snap.location.and_then(|loc| {
            snap.loops
                .iter()
                .filter(|l| l.function == loc.function && l.header_pc <= loc.pc && loc.pc <= l.back_edge_pc)
                .min_by_key(|l| l.back_edge_pc - l.header_pc)
        });
        let busiest = |compiled: bool| {
            snap.loops.iter().filter(|l| !compiled || l.state.was_compiled()).max_by_key(|l| l.iterations)
        };
        at.or_else(|| busiest(true)).or_else(|| busiest(false)).map(|l| (l.function, l.loop_id))
    }

    fn visible(&self) -> Vec<PaneId> {
        let contracts = self.snapshot.as_ref().is_some_and(|s| panes::contracts::has_contracts(s));
        PaneId::ALL
            .iter()
            .copied()
            .filter(|p| !self.hidden.contains(p) && (*p != PaneId::Contracts || contracts))
            .collect()
    }

    fn cycle_focus(&mut self, step: i32) {
        let visible = self.visible();
        if visible.is_empty() {
            return;
        }
        let at = visible.iter().position(|&p| p == self.focus).unwrap_or(0) as i32;
        let n = visible.len() as i32;
        self.focus = visible[((at + step).rem_euclid(n)) as usize];
    }

    /// Opens the export menu on the configured directory; Enter there asks the VM thread to
    /// write every format, and its answer (the files written, or why not) replaces the message
    /// when it arrives.
    fn export(&mut self) {
        self.mode = Mode::ExportMenu(self.export_path.display().to_string());
    }

    /// Handles a mouse event.
    pub fn on_mouse(&mut self, event: MouseEvent) {
        // An open overlay covers the panes: the wheel scrolls it, clicks do nothing.
        if let Some(list) = self.files.as_mut() {
            match event.kind {
                MouseEventKind::ScrollDown => list.scroll(3),
                MouseEventKind::ScrollUp => list.scroll(-3),
                _ => {}
            }
            return;
        }
        if let Some(view) = self.four_way.as_mut() {
            match event.kind {
                MouseEventKind::ScrollDown => view.scroll(3),
                MouseEventKind::ScrollUp => view.scroll(-3),
                _ => {}
            }
            return;
        }
        if let Some(view) = self.flame.as_mut() {
            match event.kind {
                MouseEventKind::ScrollDown => view.scroll(3),
                MouseEventKind::ScrollUp => view.scroll(-3),
                _ => {}
            }
            return;
        }
        let at = Position { x: event.column, y: event.row };
        let hit = self.rects.borrow().iter().find(|(_, r)| r.contains(at)).copied();
        let Some((id, rect)) = hit else { return };
        match event.kind {
            MouseEventKind::Down(MouseButton::Left) => {
                self.focus = id;
                // Rows inside the border start one below the pane's top.
                if event.row > rect.y && event.row + 1 < rect.bottom() {
                    self.pane_mut(id).click(event.row - rect.y - 1);
                }
            }
            MouseEventKind::ScrollDown => self.pane_mut(id).scroll(3),
            MouseEventKind::ScrollUp => self.pane_mut(id).scroll(-3),
            _ => {}
        }
    }

    /// Draws everything into `buf`.
    pub fn render(&self, area: Rect, buf: &mut Buffer) {
        self.last_area.set(Some(area));
        let theme = self.theme();
        buf.set_style(area, theme.text());
        if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
            self.rects.borrow_mut().clear();
            render_too_small(area, buf, theme);
            return;
        }
        let [status, body, bar] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(1), Constraint::Length(1)]).areas(area);
        self.render_status(status, buf, theme);
        let overlay: Option<&dyn Overlay> = match (&self.four_way, &self.flame) {
            (Some(view), _) => Some(view),
            (None, Some(view)) => Some(view),
            (None, None) => None,
        };
        if let Some(view) = overlay {
            self.rects.borrow_mut().clear();
            view.render(body, buf, theme, true);
            self.render_bar(bar, buf, theme);
            if let Mode::Help(scroll) = self.mode {
                render_help(area, buf, theme, scroll);
            }
            if let Mode::ExportMenu(dir) = &self.mode {
                render_export_menu(area, buf, theme, dir);
            }
            return;
        }
        let rects = self.layout(body);
        for &(id, rect) in &rects {
            self.pane(id).render(rect, buf, theme, id == self.focus);
        }
        *self.rects.borrow_mut() = rects;
        self.render_bar(bar, buf, theme);
        if let Some(list) = &self.files {
            list.render(body, buf, theme, true);
        }
        if let Mode::Help(scroll) = self.mode {
            render_help(area, buf, theme, scroll);
        }
        if self.mode == Mode::EventMenu {
            let on: Vec<EventBreak> = self.snapshot.as_ref().map(|s| s.event_breaks.clone()).unwrap_or_default();
            let filters = self.snapshot.as_ref().map(|s| s.event_filters.clone()).unwrap_or_default();
            let rows = self.snapshot.as_ref().map(|s| s.break_list.clone()).unwrap_or_default();
            let cursor = self.break_cursor.min(rows.len().saturating_sub(1));
            render_event_menu(area, buf, theme, (&on, &filters), &self.menu_filter, (&rows, cursor));
        }
        if let Mode::ExportMenu(dir) = &self.mode {
            render_export_menu(area, buf, theme, dir);
        }
    }

    /// Where each visible pane goes.
    fn layout(&self, body: Rect) -> Vec<(PaneId, Rect)> {
        let visible = self.visible();
        if self.zoom && visible.contains(&self.focus) {
            return vec![(self.focus, body)];
        }
        let left: Vec<PaneId> =
            [PaneId::Source, PaneId::Bytecode].into_iter().filter(|p| visible.contains(p)).collect();
        let right: Vec<PaneId> =
            [PaneId::Vm, PaneId::Contracts, PaneId::HotLoops, PaneId::Output, PaneId::Cache, PaneId::Sparkline]
                .into_iter()
                .filter(|p| visible.contains(p))
                .collect();
        let (left_area, right_area) = match (left.is_empty(), right.is_empty()) {
            (true, _) => (Rect::default(), body),
            (_, true) => (body, Rect::default()),
            _ => {
                let [l, r] = Layout::horizontal([Constraint::Percentage(57), Constraint::Percentage(43)]).areas(body);
                (l, r)
            }
        };
        let mut out = Vec::new();
        let left_rects =
            Layout::vertical(left.iter().map(|_| Constraint::Fill(1)).collect::<Vec<_>>()).split(left_area);
        out.extend(left.iter().copied().zip(left_rects.iter().copied()));
        let tall = body.height >= 40;
        // Tall screens put the cache and speed panes side by side under the output.
        let bottom: Vec<PaneId> = if tall {
            [PaneId::Cache, PaneId::Sparkline].into_iter().filter(|p| right.contains(p)).collect()
        } else {
            Vec::new()
        };
        let stacked: Vec<PaneId> = right.iter().copied().filter(|p| !bottom.contains(p)).collect();
        let mut constraints: Vec<Constraint> = stacked
            .iter()
            .map(|p| match p {
                PaneId::Vm | PaneId::Contracts => Constraint::Fill(3),
                PaneId::Output => Constraint::Fill(2),
                PaneId::HotLoops => Constraint::Length(if tall { 8 } else { 5 }),
                PaneId::Cache => Constraint::Length(4),
                _ => Constraint::Length(3),
            })
            .collect();
        if !bottom.is_empty() {
            constraints.push(Constraint::Length(8));
        }
        let right_rects = Layout::vertical(constraints).split(right_area);
        out.extend(stacked.iter().copied().zip(right_rects.iter().copied()));
        if let Some(&row) = right_rects.get(stacked.len()) {
            let cells = Layout::horizontal(bottom.iter().map(|_| Constraint::Fill(1)).collect::<Vec<_>>()).split(row);
            out.extend(bottom.iter().copied().zip(cells.iter().copied()));
        }
        out
    }

    fn render_status(&self, area: Rect, buf: &mut Buffer, theme: &Theme) {
        buf.set_style(area, theme.bar());
        let mut x = area.x;
        let right = area.right();
        let Some(snap) = &self.snapshot else {
            panes::put_raw(buf, x, area.y, " zexus-tui · starting…", area.width, theme.bar());
            return;
        };
        let color = match snap.status {
            RunStatus::Running => theme.running,
            RunStatus::Paused => theme.paused,
            RunStatus::Finished => theme.finished,
            RunStatus::Failed => theme.failed,
        };
        let does_not_build = snap.error.as_ref().is_some_and(|e| e.kind == crate::vm::error::ErrorKind::Compile);
        let label = match (&snap.stop_reason, snap.status) {
            (Some(reason), RunStatus::Paused) => {
                // The stop reason whole if the bar can hold it (the parts after it give way
                // first), else cut by words with `…`.
                let room = (area.width as usize).saturating_sub(snap.status.label().len() + 5).max(12);
                format!(" {} ({}) ", snap.status.label(), panes::fit_words(reason, room))
            }
            (Some(reason), RunStatus::Failed) if does_not_build => format!(" {} ({reason}) ", snap.status.label()),
            _ => format!(" {} ", snap.status.label()),
        };
        let label_style = Style::new().fg(theme.current_fg).bg(color).add_modifier(Modifier::BOLD);
        x = panes::put(buf, x, area.y, &label, right.saturating_sub(x), label_style);
        // Each part with the rank at which it gives way when the bar is too narrow (the
        // highest first): the rate, gas, the instruction count, the selected row's exact
        // figures (which a narrow column may show rounded), the armed event breaks; the
        // location last.
        let mut ranked: Vec<(u8, String)> = Vec::new();
        if let Some(loc) = snap.location {
            let name = snap.function(loc.function).map(|f| f.name.as_str()).unwrap_or("?");
            ranked.push((0, format!("{name} line {} pc {}", loc.line, loc.pc)));
        }
        if !snap.event_breaks.is_empty() {
            let names: Vec<&str> = snap.event_breaks.iter().map(|e| e.name()).collect();
            ranked.push((1, format!("⚑ {}", names.join(","))));
        }
        if self.speed != Speed::Full {
            ranked.push((2, self.speed.describe()));
        }
        if self.four_way.is_none()
            && self.files.is_none()
            && let Some(detail) = self.pane(self.focus).selected_detail()
        {
            ranked.push((2, detail));
        }
        if snap.timeline.travelled_back() {
            let (k, total) = (snap.timeline.position, snap.timeline.horizon);
            // Where on the run the debugger is matters most after travelling back.
            ranked.push((0, format!("{} / {} instr", panes::thousands(k), panes::thousands(total))));
        } else {
            ranked.push((3, format!("{} instr", panes::thousands(snap.counters.instructions))));
        }
        ranked.push((4, format!("gas {}", panes::thousands(snap.counters.gas))));
        if let Some(ips) = snap.ips_history.last() {
            ranked.push((5, format!("{}/s", panes::compact(*ips))));
        }
        let mut parts: Vec<String> = ranked.iter().map(|(_, t)| t.clone()).collect();
        // The message (export paths, errors, search results) wins over the program name and then
        // over the counters: a long path must never push it off the right edge.
        let room = right.saturating_sub(x) as usize;
        let fits = |t: &String| t.chars().count() <= room;
        let name = snap.program.name.clone();
        let text = match &self.message {
            Some(message) => {
                let with = |parts: &[String], tail: &str| {
                    parts
                        .iter()
                        .map(String::as_str)
                        .chain([message.as_str()])
                        .chain(Some(tail).filter(|t| !t.is_empty()))
                        .collect::<Vec<_>>()
                        .join(" │ ")
                };
                let mut text = format!(" {} ", with(&parts, &name));
                if !fits(&text) {
                    text = format!(" {} ", with(&parts, ""));
                }
                while !fits(&text) && !parts.is_empty() {
                    parts.pop();
                    text = format!(" {} ", with(&parts, ""));
                }
                text
            }
            None => {
                // Whole parts or none, the program name first.
                ranked.push((6, name));
                let join = |ranked: &[(u8, String)]| {
                    format!(" {} ", ranked.iter().map(|(_, t)| t.as_str()).collect::<Vec<_>>().join(" │ "))
                };
                let mut text = join(&ranked);
                while !fits(&text) && ranked.len() > 1 {
                    let Some(drop) = ranked.iter().enumerate().max_by_key(|(i, (rank, _))| (*rank, *i)).map(|(i, _)| i)
                    else {
                        break;
                    };
                    ranked.remove(drop);
                    text = join(&ranked);
                }
                // Then the location in short (`f:44 pc 10`), then nothing.
                if !fits(&text)
                    && let Some(loc) = snap.location
                    && let Some(first) = ranked.first_mut()
                    && first.0 == 0
                {
                    let name = snap.function(loc.function).map(|f| f.name.as_str()).unwrap_or("?");
                    first.1 = format!("{name}:{} pc {}", loc.line, loc.pc);
                    text = join(&ranked);
                }
                while !fits(&text) && !ranked.is_empty() {
                    let Some(drop) = ranked.iter().enumerate().max_by_key(|(i, (rank, _))| (*rank, *i)).map(|(i, _)| i)
                    else {
                        break;
                    };
                    ranked.remove(drop);
                    text = if ranked.is_empty() { String::new() } else { join(&ranked) };
                }
                text
            }
        };
        panes::put(buf, x, area.y, &text, right.saturating_sub(x), theme.bar());
    }

    fn render_bar(&self, area: Rect, buf: &mut Buffer, theme: &Theme) {
        buf.set_style(area, theme.bar());
        let key_style = theme.bar().fg(theme.key).add_modifier(Modifier::BOLD);
        let mut x = area.x + 1;
        let right = area.right();
        if let Mode::Search(query) = &self.mode {
            let text = format!("/{query}▏  (Enter: find next, Esc: cancel)");
            panes::put(buf, x, area.y, &text, right.saturating_sub(x), theme.bar());
            return;
        }
        if let Mode::BreakPrompt(spec) = &self.mode {
            let text = format!(
                ":{spec}▏  ([FILE:]LINE [ignore N] [if COND] · watch NAME|STATE[KEY] · print/display EXPR · back N · at K; Esc)"
            );
            panes::put(buf, x, area.y, &text, right.saturating_sub(x), theme.bar());
            return;
        }
        let (pane_label, commands) = if let Some(list) = &self.files {
            ("[files] ".to_string(), list.commands())
        } else if self.four_way.is_some() {
            ("[four-way] ".to_string(), self.four_way.as_ref().map_or(&[][..], |v| v.commands()))
        } else if let Some(view) = &self.flame {
            ("[flame] ".to_string(), view.commands())
        } else {
            (format!("[{}] ", self.focus.name()), self.pane(self.focus).commands())
        };
        let global = keys::bar();
        let global: Vec<(&str, &str)> = global.iter().map(|(key, what)| (key.as_str(), *what)).collect();
        // Whole hints only, and `? help` and `q quit` always: they are kept at the end and the
        // others give way (the pane's own first) when the bar is too narrow.
        let kept: Vec<(&str, &str)> =
            global.iter().copied().filter(|(_, what)| matches!(*what, "help" | "quit")).collect();
        let width = |(key, what): &(&str, &str)| (key.chars().count() + what.chars().count() + 3) as u16;
        let kept_width: u16 = kept.iter().map(width).sum();
        let mut shown: Vec<(&str, &str)> = Vec::new();
        let mut room = right.saturating_sub(x).saturating_sub(kept_width);
        let label_width = pane_label.chars().count() as u16;
        let with_label = room >= label_width;
        if with_label {
            room -= label_width;
        }
        for hint in commands.iter().copied().chain(global.iter().copied().filter(|h| !kept.contains(h))) {
            if width(&hint) > room {
                continue;
            }
            room -= width(&hint);
            shown.push(hint);
        }
        if with_label {
            x = panes::put_raw(buf, x, area.y, &pane_label, right.saturating_sub(x), theme.bar());
        }
        for (key, what) in shown.into_iter().chain(kept) {
            if x >= right {
                break;
            }
            x = panes::put_raw(buf, x, area.y, key, right.saturating_sub(x), key_style);
            x = panes::put_raw(buf, x, area.y, &format!(" {what}  "), right.saturating_sub(x), theme.bar());
        }
    }
}

fn render_too_small(area: Rect, buf: &mut Buffer, theme: &Theme) {
    let lines = [
        "terminal too small".to_string(),
        format!("{}x{}, needs at least {MIN_WIDTH}x{MIN_HEIGHT}", area.width, area.height),
        "enlarge the window, or press q to quit".to_string(),
    ];
    let lines = lines.iter().map(String::as_str).collect::<Vec<_>>();
    panes::centred(buf, area, &lines, |i| {
        if i == 0 { theme.error_text().add_modifier(Modifier::BOLD) } else { theme.text() }
    });
}

/// Clears a centred `(width, height)` box over `area`, frames it with `title` and returns the
/// inside.
fn render_popup(area: Rect, buf: &mut Buffer, theme: &Theme, (width, height): (u16, u16), title: &str) -> Rect {
    let popup = Rect {
        x: area.x + area.width.saturating_sub(width) / 2,
        y: area.y + area.height.saturating_sub(height) / 2,
        width,
        height,
    };
    Clear.render(popup, buf);
    let block = Block::bordered()
        .border_type(BorderType::Double)
        .border_style(theme.border_style(true))
        .style(theme.text())
        .title(title.to_string());
    let inner = block.inner(popup);
    block.render(popup, buf);
    inner
}

/// The menu of VM events to break on, with the ones that are on checked.
fn render_event_menu(
    area: Rect,
    buf: &mut Buffer,
    theme: &Theme,
    (on, filters): (&[EventBreak], &[(EventBreak, String)]),
    typed: &(String, bool),
    (rows, cursor): (&[BreakRow], usize),
) {
    // The breakpoint list first (at most a screen's worth around the cursor), then the events.
    let room = (area.height as usize).saturating_sub(EventBreak::ALL.len() + 8).max(1);
    let shown = rows.len().clamp(1, room);
    let height = (EventBreak::ALL.len() + 5 + shown + 2) as u16;
    let size = (area.width.saturating_sub(4).min(76), height.min(area.height));
    let inner = render_popup(area, buf, theme, size, " Breakpoints and VM events — other keys close ");
    let heading = "Breakpoints (j/k select, space on/off, d delete)";
    panes::put_raw(buf, inner.x + 1, inner.y, heading, inner.width.saturating_sub(1), theme.heading());
    if rows.is_empty() {
        let text = "  none: b sets one at the cursor, : types one (or a watch)";
        panes::put_raw(buf, inner.x + 1, inner.y + 1, text, inner.width.saturating_sub(1), theme.dimmed());
    }
    let first = cursor.saturating_sub(shown.saturating_sub(1));
    for (i, row) in rows.iter().enumerate().skip(first).take(shown) {
        let y = inner.y + 1 + (i - first) as u16;
        let style = if i == cursor { theme.cursor() } else { theme.text() };
        let mark = if row.enabled { "●" } else { "○" };
        let hits = match row.hits {
            0 => String::new(),
            1 => " · 1 hit".to_string(),
            n => format!(" · {} hits", panes::thousands(n)),
        };
        let text =
            crate::sanitize::clean(&format!("{} {mark} {}{hits}", if i == cursor { "›" } else { " " }, row.what));
        panes::put_raw(buf, inner.x + 1, y, &text, inner.width.saturating_sub(1), style);
    }
    let inner = Rect { y: inner.y + shown as u16 + 1, height: inner.height.saturating_sub(shown as u16 + 1), ..inner };
    panes::put_raw(
        buf,
        inner.x + 1,
        inner.y,
        "VM events (1-9 toggle, / filter)",
        inner.width.saturating_sub(1),
        theme.heading(),
    );
    let key_style = theme.fg(theme.key).add_modifier(Modifier::BOLD);
    let wide = inner.width >= 70;
    for (i, event) in EventBreak::ALL.iter().enumerate() {
        let y = inner.y + 1 + i as u16;
        if y >= inner.bottom() {
            break;
        }
        let checked = on.contains(event);
        let mut x =
            panes::put_raw(buf, inner.x + 1, y, &format!("{} ", i + 1), inner.width.saturating_sub(1), key_style);
        let mark_style = if checked { theme.fg(theme.breakpoint).add_modifier(Modifier::BOLD) } else { theme.dimmed() };
        x = panes::put_raw(
            buf,
            x,
            y,
            if checked { "[●] " } else { "[ ] " },
            inner.right().saturating_sub(x),
            mark_style,
        );
        x = panes::put_raw(
            buf,
            x,
            y,
            &format!("{:<27}", event.describe()),
            inner.right().saturating_sub(x),
            theme.text(),
        );
        let filter = filters.iter().find(|(e, _)| e == event).map(|(_, f)| f.as_str());
        match filter {
            Some(f) => {
                let text = crate::sanitize::clean(&format!("only {f}"));
                panes::put_raw(buf, x, y, &text, inner.right().saturating_sub(x), theme.fg(theme.breakpoint));
            }
            // The detail only where it fits whole.
            None if wide && x as usize + event.detail().chars().count() <= inner.right() as usize => {
                panes::put_raw(buf, x, y, event.detail(), inner.right().saturating_sub(x), theme.dimmed());
            }
            None => {}
        }
    }
    let y = inner.y + 2 + EventBreak::ALL.len() as u16;
    if y < inner.bottom() {
        let text = match typed {
            (f, true) => format!("filter for 7-9: {f}▏ (Enter ends)"),
            (f, false) if !f.trim().is_empty() => format!("filter for 7-9: {f} (a contract, action or event name)"),
            _ => "/ sets a filter for 7-9: a contract, action or event name".to_string(),
        };
        let text = crate::sanitize::clean(&text);
        panes::put_raw(buf, inner.x + 1, y, &text, inner.width.saturating_sub(1), theme.dimmed());
    }
}

/// The export menu: the directory it will write to (being edited) and every format.
fn render_export_menu(area: Rect, buf: &mut Buffer, theme: &Theme, dir: &str) {
    let formats = crate::engine::flame::EXPORT_FORMATS;
    let size = (area.width.saturating_sub(4).min(76), (formats.len() as u16 + 7).min(area.height));
    let inner = render_popup(area, buf, theme, size, " Export the session — Enter writes, Esc cancels ");
    let width = inner.width.saturating_sub(2);
    let x = inner.x + 1;
    panes::put_raw(buf, x, inner.y, "Directory (type to edit; made if missing):", width, theme.heading());
    // The directory's end is what the user edits: keep it in view.
    let shown: String = {
        let chars: Vec<char> = dir.chars().collect();
        let room = width.saturating_sub(3) as usize;
        let start = chars.len().saturating_sub(room);
        let cut: String = chars[start..].iter().collect();
        if start > 0 { format!("…{cut}▏") } else { format!("{cut}▏") }
    };
    panes::put(buf, x + 1, inner.y + 1, &shown, width.saturating_sub(1), theme.fg(theme.key));
    for (i, (name, what)) in formats.iter().enumerate() {
        let y = inner.y + 3 + i as u16;
        if y >= inner.bottom() {
            break;
        }
        let nx = panes::put_raw(buf, x + 1, y, &format!("{name:<24}"), width.saturating_sub(1), theme.text());
        panes::put_raw(buf, nx, y, what, inner.right().saturating_sub(nx), theme.dimmed());
    }
    let y = inner.y + 4 + formats.len() as u16;
    if y < inner.bottom() {
        let text = format!("Enter writes all {} (each atomically); Esc cancels", formats.len());
        panes::put_raw(buf, x, y, &text, width, theme.dimmed());
    }
}

/// A one-line prompt's editing keys (the search and breakpoint prompts): Backspace and typed
/// characters change `text`; false for any other key.
fn edit_line(text: &mut String, code: KeyCode) -> bool {
    match code {
        KeyCode::Backspace => {
            text.pop();
        }
        KeyCode::Char(c) => text.push(c),
        _ => return false,
    }
    true
}

/// The help overlay's rows: per column, its lines (a section heading, or key and meaning).
type HelpColumn = Vec<(Option<String>, &'static str)>;

/// Lays the key table's sections out in `columns` columns, in order, each column as short as
/// the split allows.
fn help_columns(columns: usize) -> Vec<HelpColumn> {
    let sections = keys::help_sections();
    let total: usize = sections.iter().map(|(_, e)| e.len() + 1).sum();
    let target = total.div_ceil(columns.max(1));
    let mut out: Vec<HelpColumn> = vec![Vec::new()];
    for section in &sections {
        let last = out.last().map_or(0, Vec::len);
        if last > 0 && last + section.1.len() + 1 > target && out.len() < columns {
            out.push(Vec::new());
        }
        if let Some(col) = out.last_mut() {
            col.push((None, section.0));
            col.extend(section.1.iter().map(|(k, what)| (Some(k.clone()), *what)));
        }
    }
    out
}

/// The help overlay: the marker legend, then the key table in two or three columns, scrolled
/// down `scroll` rows (and told so in its title) when it is taller than the screen.
fn render_help(area: Rect, buf: &mut Buffer, theme: &Theme, scroll: usize) {
    let (columns, layout) = help_layout(area);
    let rows = layout.iter().map(Vec::len).max().unwrap_or(0);
    let width = area.width.saturating_sub(4).min(42 * columns as u16);
    let wanted = rows + MARKERS.len() + 1 + 2;
    let height = wanted.min(area.height as usize) as u16;
    let scrolls = wanted > area.height as usize;
    let title = if scrolls { " Keys — j/k scroll · any other key closes " } else { " Keys — any key closes " };
    let inner = render_popup(area, buf, theme, (width, height), title);
    // The legend of every marker the panes draw first, full width (README has it per pane).
    let mut y = inner.y;
    for line in MARKERS {
        if y < inner.bottom() {
            panes::put_raw(buf, inner.x + 1, y, line, inner.width.saturating_sub(1), theme.text());
            y += 1;
        }
    }
    let top = y + 1;
    let shown = inner.bottom().saturating_sub(top) as usize;
    let scroll = scroll.min(rows.saturating_sub(shown));
    let key_style = theme.fg(theme.key).add_modifier(Modifier::BOLD);
    let column_width = inner.width / columns as u16;
    for (c, column) in layout.iter().enumerate() {
        let x0 = inner.x + c as u16 * column_width;
        for (row, (key, what)) in column.iter().skip(scroll).take(shown).enumerate() {
            let y = top + row as u16;
            match key {
                None => panes::put_raw(buf, x0 + 1, y, what, column_width.saturating_sub(1), theme.heading()),
                Some(key) => {
                    panes::put_raw(buf, x0 + 2, y, key, 12, key_style);
                    panes::put_raw(buf, x0 + 14, y, what, column_width.saturating_sub(15), theme.text())
                }
            };
        }
    }
}

/// The help's columns at `area`: three from 132 columns, else two.
fn help_layout(area: Rect) -> (usize, Vec<HelpColumn>) {
    let columns = if area.width >= 132 { 3 } else { 2 };
    (columns, help_columns(columns))
}

/// How many rows the help can scroll at `area` (0 when it fits).
fn help_scroll_limit(area: Rect) -> usize {
    let rows = help_layout(area).1.iter().map(Vec::len).max().unwrap_or(0);
    let shown = (area.height as usize).saturating_sub(2 + MARKERS.len() + 1);
    rows.saturating_sub(shown)
}

/// The help overlay's marker legend, two lines that fit its 72 columns at 80x24.
const MARKERS: [&str; 3] = [
    "Markers: ▶ stopped here  ✗ error  › cursor, shown file  ● breakpoint",
    "○ line bp  J native code  * hot loop, interpreted / changed  [●] stops on",
    "timeline: ● here  J compile  B bail-out  M cache miss  R rollback  E error",
];
