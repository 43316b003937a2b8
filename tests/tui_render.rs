//! TestBackend snapshots of every pane, the full layout, the help overlay and the
//! too-small message, at 80x24 and 160x48. The app is driven by real debugger snapshots with
//! the clock and speed samples fixed, so every screen is deterministic.

use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use zexus_tui::engine::Options;
use zexus_tui::engine::debug::{Debugger, Goal};
use zexus_tui::engine::recorder::EventBreak;
use zexus_tui::engine::snapshot::{Breakpoint, CacheView, JitView, ProfileView, RunStatus, SessionSnapshot};
use zexus_tui::tui::app::{App, AppConfig, Mode};
use zexus_tui::tui::panes::PaneId;
use zexus_tui::tui::theme::Theme;
use zexus_tui::tui::worker::Request;

/// A small version of the demo: a hot loop, a call chain, a transaction, a runtime error.
const PROGRAM: &str = "\
// A hot loop, a call chain, a transaction and an error.
action checksum(n) {
  let acc = 0;
  let i = 0;
  while (i < n) {
    acc = (acc * 31 + i) % 1000003;
    i = i + 1;
  }
  return acc;
}
action pipeline(x) {
  return checksum(x) % 97;
}
action transfer(from, to, amount) {
  TX_BEGIN();
  STATE[from] = STATE[from] - amount;
  STATE[to] = STATE[to] + amount;
  TX_COMMIT();
  return STATE[from];
}
STATE[\"alice\"] = 100;
STATE[\"bob\"] = 0;
let round = 1;
while (round <= 3) {
  print(\"round\", round, \"pipeline\", pipeline(round * 60));
  print(\"alice has\", transfer(\"alice\", \"bob\", 5));
  round = round + 1;
}
let per_round = STATE[\"bob\"] / (round - 4);
print(\"never printed\", per_round);
";

const SIZES: [(u16, u16); 2] = [(80, 24), (160, 48)];

fn fixed(mut snap: SessionSnapshot) -> Arc<SessionSnapshot> {
    snap.clock_us = 0;
    snap.ips_history = (0..60).map(|i| 1_000_000 + (i % 7) * 250_000).collect();
    Arc::new(snap)
}

/// Stopped inside `transfer` on round 2 (transaction open, loops hot, output so far).
fn paused_in_transaction() -> Arc<SessionSnapshot> {
    let mut d = Debugger::new("demo.zx", PROGRAM, &Options::default()).expect("builds");
    d.toggle_breakpoint(Breakpoint::main_line(17));
    assert!(d.run_to_stop(Goal::Continue, 1_000_000));
    assert!(d.run_to_stop(Goal::Continue, 1_000_000));
    fixed(d.snapshot())
}

/// Run to the runtime error.
fn failed() -> Arc<SessionSnapshot> {
    let mut d = Debugger::new("demo.zx", PROGRAM, &Options::default()).expect("builds");
    assert!(d.run_to_stop(Goal::Continue, 1_000_000));
    fixed(d.snapshot())
}

/// The paused snapshot with the figures of features not yet landed filled in, as they will be.
fn with_future_data() -> Arc<SessionSnapshot> {
    let mut snap = (*paused_in_transaction()).clone();
    snap.cache = Some(CacheView {
        enabled: true,
        builds: 3,
        last_units: 8,
        last_hits: 7,
        hits: 42,
        misses: 8,
        entries: 8,
        memory_bytes: 64 * 1024,
        evictions: 1,
        files: Vec::new(),
    });
    let counts: Vec<Vec<u64>> =
        snap.program.functions.iter().map(|f| (0..f.optimized.len() as u64).map(|pc| pc * 10).collect()).collect();
    let mut lines = vec![0u64; snap.program.line_count + 2];
    for (i, n) in lines.iter_mut().enumerate() {
        *n = (i as u64 * 137) % 1000;
    }
    let max_instruction = counts.iter().flatten().copied().max().unwrap_or(0);
    let max_line_hits = lines.iter().copied().max().unwrap_or(0);
    snap.profile = Some(ProfileView {
        instructions: counts,
        line_hits: lines.clone(),
        lines,
        max_instruction,
        max_line_hits,
        modules: Vec::new(),
    });
    snap.jit.available = true;
    snap.jit.loops_compiled = 1;
    snap.jit_code = Some(JitView {
        native: Vec::new(),
        compiled: snap
            .program
            .functions
            .iter()
            .map(|f| (0..f.optimized.len()).map(|pc| pc % 3 == 0).collect())
            .collect(),
    });
    Arc::new(snap)
}

fn app(snap: Arc<SessionSnapshot>) -> App {
    let mut app = App::new(AppConfig {
        themes: vec![Theme::default()],
        mouse: true,
        export_path: std::env::temp_dir().join("zexus-tui-render-test.json"),
    });
    app.update(snap);
    app
}

fn draw(app: &App, (w, h): (u16, u16)) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("test terminal");
    terminal.draw(|f| app.render(f.area(), f.buffer_mut())).expect("draws");
    terminal
}

fn key(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
}

#[test]
fn full_layout() {
    for size in SIZES {
        let app = app(paused_in_transaction());
        insta::assert_snapshot!(format!("layout_{}x{}", size.0, size.1), draw(&app, size).backend());
    }
}

#[test]
fn every_pane_zoomed() {
    for (i, pane) in PaneId::ALL.iter().enumerate() {
        for size in SIZES {
            let mut app = app(paused_in_transaction());
            app.on_key(key(char::from(b'1' + i as u8)));
            assert_eq!(app.focus(), *pane);
            app.on_key(key('z'));
            let name = format!("pane_{}_{}x{}", pane.name().replace(' ', "_"), size.0, size.1);
            insta::assert_snapshot!(name, draw(&app, size).backend());
        }
    }
}

#[test]
fn bytecode_views() {
    for (presses, view) in [(1, "unoptimized"), (2, "side_by_side")] {
        for size in SIZES {
            let mut app = app(paused_in_transaction());
            app.on_key(key('2'));
            app.on_key(key('z'));
            for _ in 0..presses {
                app.on_key(key('v'));
            }
            insta::assert_snapshot!(format!("bytecode_{view}_{}x{}", size.0, size.1), draw(&app, size).backend());
        }
    }
}

#[test]
fn optimizer_pass_by_pass() {
    for size in SIZES {
        let mut app = app(paused_in_transaction());
        app.on_key(key('2'));
        app.on_key(key('z'));
        for _ in 0..3 {
            app.on_key(key('v'));
        }
        assert_eq!(app.message(), Some("bytecode: pass by pass"));
        let screen = format!("{}", draw(&app, size).backend());
        assert!(screen.contains("pass 1/3 fold"), "{screen}");
        // The peephole pass: fused instructions are `+`, their parts `-`.
        app.on_key(key(']'));
        app.on_key(key(']'));
        assert_eq!(app.message(), Some("pass 3 of 3: peephole"));
        let terminal = draw(&app, size);
        let screen = format!("{}", terminal.backend());
        assert!(screen.contains("pass 3/3 peephole: 16 removed, 8 fused"), "{screen}");
        assert!(screen.lines().any(|l| l.contains("+") && l.contains("LOAD_LOCAL2")), "{screen}");
        assert!(screen.lines().any(|l| l.contains("-") && l.contains("JUMP_IF_FALSE")), "{screen}");
        insta::assert_snapshot!(format!("bytecode_passes_peephole_{}x{}", size.0, size.1), terminal.backend());
        app.on_key(key(']'));
        assert_eq!(app.message(), Some("pass 1 of 3: fold"), "wraps around");
    }
}

#[test]
fn failed_program_shows_the_error_in_place() {
    for size in SIZES {
        let app = app(failed());
        let terminal = draw(&app, size);
        let screen = format!("{}", terminal.backend());
        assert!(screen.contains("FAILED"), "{screen}");
        assert!(screen.contains("division by zero"), "{screen}");
        insta::assert_snapshot!(format!("failed_{}x{}", size.0, size.1), terminal.backend());
    }
}

#[test]
fn future_data_is_shown_when_present() {
    for size in SIZES {
        let app = app(with_future_data());
        let terminal = draw(&app, size);
        let screen = format!("{}", terminal.backend());
        assert!(!screen.contains("not available"), "{screen}");
        insta::assert_snapshot!(format!("future_data_{}x{}", size.0, size.1), terminal.backend());
    }
}

#[test]
fn cache_pane_after_a_restart() {
    let mut d = Debugger::new("demo.zx", PROGRAM, &Options::default()).expect("builds");
    d.restart().expect("restarts");
    let snap = fixed(d.snapshot());
    let cache = snap.cache.clone().expect("cache figures");
    assert_eq!((cache.builds, cache.last_hits, cache.last_units), (2, 4, 4));
    for size in SIZES {
        let mut app = app(snap.clone());
        app.on_key(key('6'));
        app.on_key(key('z'));
        let terminal = draw(&app, size);
        let screen = format!("{}", terminal.backend());
        assert!(screen.contains("hit rate 50.0% (4 of 8)"), "{screen}");
        insta::assert_snapshot!(format!("cache_restarted_{}x{}", size.0, size.1), terminal.backend());
    }
}

/// Stopped by the break on JIT compilation (with the break on a rollback also on).
fn stopped_on_jit_compile() -> Arc<SessionSnapshot> {
    let mut d = Debugger::new("demo.zx", PROGRAM, &Options::default()).expect("builds");
    d.toggle_event_break(EventBreak::JitCompiled);
    d.toggle_event_break(EventBreak::TxRollback);
    assert!(d.run_to_stop(Goal::Continue, 1_000_000));
    fixed(d.snapshot())
}

#[test]
fn event_break_menu_and_stop() {
    let snap = stopped_on_jit_compile();
    if zexus_tui::jit::AVAILABLE {
        assert_eq!(snap.stop_reason.as_deref(), Some("JIT compiled loop at line 5"));
    }
    for size in SIZES {
        let mut app = app(snap.clone());
        let screen = format!("{}", draw(&app, size).backend());
        let status = screen.lines().next().unwrap_or_default().to_string();
        assert!(status.contains("⚑ jit,rollback"), "{status}");
        app.on_key(KeyEvent::new(KeyCode::Char('B'), KeyModifiers::SHIFT));
        assert_eq!(app.mode, Mode::EventMenu);
        insta::assert_snapshot!(format!("event_menu_{}x{}", size.0, size.1), draw(&app, size).backend());
        app.on_key(key('2'));
        app.on_key(key('4'));
        assert_eq!(
            app.outbox,
            vec![Request::ToggleEventBreak(EventBreak::Bailout), Request::ToggleEventBreak(EventBreak::RuntimeError)]
        );
        assert_eq!(app.mode, Mode::EventMenu, "the menu stays open while toggling");
        app.on_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
        assert_eq!(app.mode, Mode::Normal);
    }
}

/// `samples/jit_states.zx` run to its end: a loop of each JIT fate.
fn jit_states() -> Arc<SessionSnapshot> {
    let src = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/samples/jit_states.zx")).expect("sample");
    let mut d = Debugger::new("jit_states.zx", &src, &Options::default()).expect("builds");
    assert!(d.run_to_stop(Goal::Continue, 10_000_000));
    fixed(d.snapshot())
}

#[test]
fn hot_loops_show_each_fate_and_why() {
    let snap = jit_states();
    for size in SIZES {
        let mut app = app(snap.clone());
        app.on_key(key('4'));
        app.on_key(key('z'));
        let terminal = draw(&app, size);
        let screen = format!("{}", terminal.backend());
        if zexus_tui::jit::AVAILABLE {
            for expected in [
                "unsupported instruction CALL at pc 8",
                "9 bail-outs",
                "type guard: 'x' holds a float (x9)",
                "blacklisted",
                "type guard: 'x' holds a string at pc 4",
            ] {
                assert!(screen.contains(expected), "{expected}\n{screen}");
            }
        }
        insta::assert_snapshot!(format!("hot_loops_states_{}x{}", size.0, size.1), terminal.backend());
    }
}

/// Stopped in the compiled checksum loop a few instructions after its native code ran.
fn inside_compiled_loop() -> Arc<SessionSnapshot> {
    let mut d = Debugger::new("demo.zx", PROGRAM, &Options::default()).expect("builds");
    d.toggle_event_break(EventBreak::JitCompiled);
    assert!(d.run_to_stop(Goal::Continue, 1_000_000));
    d.toggle_event_break(EventBreak::JitCompiled);
    // Into the second call's loop (native code ran for the first), then four instructions on.
    d.toggle_breakpoint(Breakpoint::main_line(6));
    assert!(d.run_to_stop(Goal::Continue, 1_000_000));
    assert!(d.run_to_stop(Goal::Continue, 1_000_000));
    d.toggle_breakpoint(Breakpoint::main_line(6));
    for _ in 0..4 {
        assert!(d.run_to_stop(Goal::StepInstruction, 10));
    }
    fixed(d.snapshot())
}

#[test]
fn four_way_view_links_source_bytecode_and_native_code() {
    let snap = inside_compiled_loop();
    let loc = snap.location.expect("stopped");
    for size in SIZES {
        let mut app = app(snap.clone());
        app.on_key(KeyEvent::new(KeyCode::Char('L'), KeyModifiers::SHIFT));
        assert_eq!(app.four_way(), Some((loc.function, 0)), "L opens the loop at the pc");
        let terminal = draw(&app, size);
        let screen = format!("{}", terminal.backend());
        for column in ["Source", "Unoptimized", "Optimized", "x86-64"] {
            assert!(screen.contains(column), "{column}: {screen}");
        }
        if zexus_tui::jit::AVAILABLE {
            assert!(screen.contains(&format!("── pc {} ", loc.pc)), "the pc's machine code: {screen}");
        }
        insta::assert_snapshot!(format!("four_way_{}x{}", size.0, size.1), terminal.backend());
        // Moving in the unoptimized column moves the selection in the others.
        app.on_key(key('h'));
        app.on_key(key('j'));
        app.on_key(key('j'));
        let terminal = draw(&app, size);
        insta::assert_snapshot!(format!("four_way_moved_{}x{}", size.0, size.1), terminal.backend());
        // The unoptimized MOD's counterparts are highlighted: the optimized MOD, its machine
        // code's heading, and the source line.
        let buffer = terminal.backend().buffer();
        let mapping = Theme::default().mapping_bg;
        let highlighted = |needle: &str| {
            (0..buffer.area.height).any(|y| {
                let row: String = (0..buffer.area.width).map(|x| buffer[(x, y)].symbol().to_string()).collect();
                row.find(needle).is_some_and(|at| {
                    let x = row[..at].chars().count() as u16;
                    buffer[(x, y)].bg == mapping
                })
            })
        };
        assert!(highlighted("11 MOD "), "the optimized MOD is highlighted");
        if zexus_tui::jit::AVAILABLE {
            assert!(highlighted("── pc 11 MOD"), "its machine code is highlighted");
        }
        app.on_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
        assert_eq!(app.four_way(), None);
    }
    // Enter on the hot-loops pane opens its selected loop.
    let mut app = app(snap.clone());
    app.on_key(key('4'));
    app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    assert!(app.four_way().is_some());
}

#[test]
fn help_overlay() {
    for size in SIZES {
        let mut app = app(paused_in_transaction());
        app.on_key(key('?'));
        insta::assert_snapshot!(format!("help_{}x{}", size.0, size.1), draw(&app, size).backend());
        let screen = format!("{}", draw(&app, size).backend());
        for marker in ["▶ stopped here", "○ line bp", "J native code", "* hot loop, interpreted", "[●] stops on"]
        {
            assert!(screen.contains(marker), "the help legend shows {marker:?} at {size:?}");
        }
        // Every key row can be reached: the help scrolls with j where it does not fit.
        for _ in 0..40 {
            if format!("{}", draw(&app, size).backend()).contains("quit (asks if running)") {
                break;
            }
            app.on_key(key('j'));
        }
        let screen = format!("{}", draw(&app, size).backend());
        assert!(screen.contains("quit (asks if running)"), "the last key row at {size:?}:\n{screen}");
        app.on_key(key('x'));
        let screen = format!("{}", draw(&app, size).backend());
        assert!(!screen.contains("any key closes") && !screen.contains("any other key closes"), "help closes");
    }
}

#[test]
fn too_small_terminal() {
    let app = app(paused_in_transaction());
    let screen = format!("{}", draw(&app, (60, 20)).backend());
    assert!(screen.contains("terminal too small"), "{screen}");
    assert!(screen.contains("60x20"), "{screen}");
}

#[test]
fn keys_become_requests() {
    let mut app = app(paused_in_transaction());
    for c in [' ', 'c', 's', 'n', 'o', 'i', 'I', 'r'] {
        app.on_key(key(c));
    }
    assert_eq!(
        app.outbox,
        vec![
            Request::TogglePause,
            Request::Start(Goal::Continue),
            Request::Start(Goal::StepInto),
            Request::Start(Goal::StepLine),
            Request::Start(Goal::StepOut),
            Request::Start(Goal::StepInstruction),
            Request::Start(Goal::NextInstruction),
            Request::Restart,
        ]
    );
    app.outbox.clear();
    // The source cursor follows the stop (line 17); `b` sets a breakpoint there, `u` runs to it.
    app.on_key(key('b'));
    app.on_key(key('j'));
    app.on_key(key('u'));
    assert_eq!(
        app.outbox,
        vec![
            Request::ToggleBreakpoint(Breakpoint::main_line(17)),
            Request::Start(Goal::RunToLine { file: 0, line: 18 })
        ]
    );
    app.outbox.clear();
    app.on_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
    assert!(app.quit);
}

#[test]
fn search_finds_instructions() {
    let mut app = app(paused_in_transaction());
    app.on_key(key('2'));
    app.on_key(key('/'));
    for c in "tx_commit".chars() {
        app.on_key(key(c));
    }
    app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    assert_eq!(app.focus(), PaneId::Bytecode);
    let message = app.message().unwrap_or_default().to_string();
    assert!(message.starts_with("found"), "{message}");
    // With the source focused, `/` searches the source.
    app.on_key(key('1'));
    app.on_key(key('/'));
    for c in "TX_BEGIN".chars() {
        app.on_key(key(c));
    }
    app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    assert_eq!(app.message(), Some("found \"TX_BEGIN\" at line 15"));
    // `,` and `.` search again for the last query, forward and backward (pudb's keys).
    app.on_key(key('/'));
    for c in "state".chars() {
        app.on_key(key(c));
    }
    app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    assert_eq!(app.message(), Some("found \"state\" at line 16"));
    app.on_key(key(','));
    assert_eq!(app.message(), Some("found \"state\" at line 17"));
    app.on_key(key('.'));
    assert_eq!(app.message(), Some("found \"state\" at line 16 (backward)"));
    app.on_key(key('.'));
    assert_eq!(app.message(), Some("found \"state\" at line 29 (backward)"), "wraps to the last match");
}

#[test]
fn export_menu_names_the_directory_then_asks_the_vm_thread() {
    let dir = std::env::temp_dir().join("zexus-export-demo-test");
    let mut app = App::new(AppConfig { themes: vec![Theme::default()], mouse: false, export_path: dir.clone() });
    app.update(paused_in_transaction());
    app.on_key(key('e'));
    assert_eq!(app.mode, Mode::ExportMenu(dir.display().to_string()));
    assert!(app.outbox.is_empty(), "nothing is written before Enter");
    for size in [(80, 24), (120, 40)] {
        let screen = format!("{}", draw(&app, size).backend());
        let formats = ["trace.json", "profile.speedscope.json", "stacks.collapsed", "stats.json", "profile.json"];
        for text in formats.iter().chain(&["Export the session", "zexus-export-demo-test▏", "Enter writes all 5"]) {
            assert!(screen.contains(text), "{text:?} at {size:?}:\n{screen}");
        }
    }
    insta::assert_snapshot!("export_menu_80x24", draw(&app, (80, 24)).backend());
    // The directory is edited in place: Backspace twice and "xy".
    for code in [KeyCode::Backspace, KeyCode::Backspace, KeyCode::Char('x'), KeyCode::Char('y')] {
        app.on_key(KeyEvent::new(code, KeyModifiers::NONE));
    }
    app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    let edited = format!("{}xy", dir.display().to_string().trim_end_matches("st"));
    assert_eq!(app.outbox, vec![Request::ExportAll(std::path::PathBuf::from(&edited))]);
    assert_eq!(app.message().map(String::from), Some(format!("exporting to {edited}…")));
    // The VM thread's answer replaces the message.
    app.apply(zexus_tui::tui::app::Action::Status("exported 5 files to x".to_string()));
    assert_eq!(app.message(), Some("exported 5 files to x"));
    // Esc cancels without a request.
    app.outbox.clear();
    app.on_key(key('e'));
    app.on_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
    assert!(app.outbox.is_empty() && app.mode == Mode::Normal);
}

#[test]
fn output_is_sanitized() {
    let src = "print(\"\u{1b}[2J\u{1b}]0;pwned\u{7}hello\")\n";
    let mut d = Debugger::new("esc.zx", src, &Options::default()).expect("builds");
    assert!(d.run_to_stop(Goal::Continue, 1000));
    let snap = d.snapshot();
    assert!(snap.output.first().is_some_and(|l| l.contains('\u{1b}')), "the program really printed an escape");
    let app = app(fixed(snap));
    let terminal = draw(&app, (80, 24));
    let buffer = terminal.backend().buffer();
    for cell in buffer.content() {
        assert!(!cell.symbol().chars().any(|c| c.is_control()), "control character reached the screen");
    }
    let screen = format!("{}", terminal.backend());
    assert!(screen.contains("hello"), "{screen}");
    assert!(!screen.contains("pwned"), "{screen}");
}

#[test]
fn mouse_focuses_selects_and_scrolls() {
    use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
    let mut app = app(paused_in_transaction());
    draw(&app, (160, 48));
    let at = |kind, column, row| MouseEvent { kind, column, row, modifiers: KeyModifiers::NONE };
    // The bytecode pane is in the lower left at 160x48.
    app.on_mouse(at(MouseEventKind::Down(MouseButton::Left), 10, 30));
    assert_eq!(app.focus(), PaneId::Bytecode);
    // A click on the source pane's third row selects line offset + 3; `b` then sets it.
    app.on_mouse(at(MouseEventKind::Down(MouseButton::Left), 10, 4));
    assert_eq!(app.focus(), PaneId::Source);
    app.on_key(key('b'));
    let Some(Request::ToggleBreakpoint(Breakpoint::Line { line, .. })) = app.outbox.pop() else {
        panic!("b after a click sets a line breakpoint")
    };
    let screen = format!("{}", draw(&app, (160, 48)).backend());
    let row = screen.lines().nth(4).unwrap_or_default().to_string();
    assert!(row.contains(&format!(" {line} │")), "clicked row {row:?} is line {line}");
    // The wheel moves the cursor three rows.
    app.on_mouse(at(MouseEventKind::ScrollDown, 10, 4));
    app.on_key(key('b'));
    assert_eq!(app.outbox.pop(), Some(Request::ToggleBreakpoint(Breakpoint::main_line(line + 3))));
}

/// A long program path gives way to the status message instead of pushing it off the edge (CI
/// once lost the export message this way at 120 columns).
#[test]
fn status_message_wins_over_a_long_program_path() {
    let mut snap = (*paused_in_transaction()).clone();
    let mut program = (*snap.program).clone();
    program.name = format!("/{}/demo.zx", "a-rather-long-directory-name".repeat(6));
    snap.program = Arc::new(program);
    let mut app = App::new(AppConfig {
        themes: vec![Theme::default(), Theme::default()],
        mouse: false,
        export_path: std::env::temp_dir().join("zexus-tui-render-test.json"),
    });
    app.update(Arc::new(snap));
    app.on_key(key('t'));
    for size in [(80, 24), (120, 40), (160, 48)] {
        let terminal = draw(&app, size);
        let buf = terminal.backend().buffer();
        let status: String = (0..size.0).map(|x| buf[(x, 0)].symbol().to_string()).collect();
        assert!(status.contains("theme: "), "{size:?}: {status}");
    }
}

const TOKEN: &str = "\
contract Token {
    state balances = {\"alice\": 10}
    action transfer(from, to, n) {
        balances[from] = balances[from] - n
        balances[to] = n
        emit Transfer(from, to, n)
        require(balances[from] >= 0, \"insufficient balance\")
    }
}
let t = Token()
t.transfer(\"alice\", \"bob\", 4)
try { t.transfer(\"alice\", \"carol\", 50) } catch (e) { print(e) }
print(t.balances)
";

#[test]
fn vm_pane_shows_contract_storage_with_the_changed_members_and_the_events() {
    let mut d = Debugger::new("token.zx", TOKEN, &Options::default()).expect("builds");
    d.toggle_breakpoint(Breakpoint::main_line(7));
    // First stop: the successful transfer's require; second: the failing one, with its
    // pending writes in storage.
    assert!(d.run_to_stop(Goal::Continue, 1_000_000));
    let first = fixed(d.snapshot());
    assert!(d.run_to_stop(Goal::Continue, 1_000_000));
    let second = fixed(d.snapshot());
    let mut app = app(first);
    app.update(second);
    let vm = PaneId::ALL.iter().position(|p| *p == PaneId::Vm).expect("a VM pane");
    app.on_key(key(char::from(b'1' + vm as u8)));
    app.on_key(key('z'));
    let screen = format!("{}", draw(&app, (160, 48)).backend());
    assert!(screen.contains("Contracts (1 instances, * changed)"), "{screen}");
    assert!(screen.contains("Token#1"), "{screen}");
    assert!(screen.contains("* balances = {\"alice\": -44, \"bob\": 4, \"carol\": 50}"), "{screen}");
    assert!(screen.contains("Transfer(\"alice\", \"carol\", 50) from Token#1"), "{screen}");
    // The open transaction of the failing call, with its pending write as old -> new.
    assert!(
        screen.contains("Token#1.balances: {\"alice\": 6, \"bob\": 4} → {\"alice\": -44, \"bob\": 4, \"carol\": 50}"),
        "{screen}"
    );
    // After the failed call is caught, the rollback is visible: storage and log as before.
    assert!(d.run_to_stop(Goal::Continue, 1_000_000) || d.snapshot().status != RunStatus::Paused);
    let end = d.snapshot();
    let members: Vec<String> = end.contracts.iter().flat_map(|c| c.members.iter().map(|m| m.value.clone())).collect();
    assert_eq!(members, vec!["{\"alice\": 6, \"bob\": 4}".to_string()]);
    assert_eq!(end.events_len, 1);
}

/// `samples/token.zx` stopped at its failing `require` (the "require failed" break, filtered
/// to `Token.transfer`): the pending write is on screen.
fn token_at_failed_require() -> Arc<SessionSnapshot> {
    let src = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/samples/token.zx")).expect("sample");
    let mut d = Debugger::new("token.zx", &src, &Options::default()).expect("builds");
    d.set_event_break(EventBreak::RequireFailed, true, Some("Token.transfer".to_string()));
    assert!(d.run_to_stop(Goal::Continue, 10_000_000));
    fixed(d.snapshot())
}

/// samples/modules.zx (three files) loaded as the CLI loads it, paused at a breakpoint in the
/// module `samples/modules/shapes.zx`.
fn multi_file_at_module_breakpoint() -> Arc<SessionSnapshot> {
    use zexus_tui::cli::module_fs::RealFs;
    use zexus_tui::engine::cache::CompileCache;
    use zexus_tui::engine::loader;
    // Relative to the crate root (the test's working directory), so display paths are stable.
    let path = std::path::Path::new("samples/modules.zx");
    let src = std::fs::read_to_string(path).expect("sample");
    let program = loader::load(&RealFs, path, src.clone()).map_err(|(d, _)| d).expect("loads");
    assert_eq!(program.files.len(), 3);
    let name = "samples/modules.zx";
    let program = Some(std::rc::Rc::new(program));
    let mut d =
        Debugger::with_program(name, &src, program, &Options::default(), CompileCache::default()).expect("builds");
    d.toggle_breakpoint(Breakpoint::Line { file: 1, line: 3 });
    assert!(d.run_to_stop(Goal::Continue, 1_000_000));
    assert_eq!(d.stop_reason(), Some("breakpoint at samples/modules/shapes.zx:3"));
    fixed(d.snapshot())
}

#[test]
fn contract_breaks_take_a_filter_in_the_event_menu() {
    let snap = token_at_failed_require();
    assert_eq!(
        snap.stop_reason.as_deref(),
        Some("require failed: Requirement failed: insufficient balance in Token.transfer (line 15)")
    );
    for size in [(80, 24), (120, 40), (160, 48)] {
        let mut app = app(snap.clone());
        app.on_key(KeyEvent::new(KeyCode::Char('B'), KeyModifiers::SHIFT));
        app.on_key(key('/'));
        for c in "Transfer".chars() {
            app.on_key(key(c));
        }
        insta::assert_snapshot!(format!("contract_event_menu_{}x{}", size.0, size.1), draw(&app, size).backend());
        app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
        assert_eq!(app.mode, Mode::EventMenu, "Enter ends the filter, the menu stays");
        app.on_key(key('9'));
        app.on_key(key('7'));
        assert_eq!(
            app.outbox,
            vec![
                Request::SetEventBreak(EventBreak::EventEmitted, Some("Transfer".to_string())),
                Request::ToggleEventBreak(EventBreak::RequireFailed),
            ],
            "a break that is on toggles off; an off one takes the filter"
        );
    }
}

#[test]
fn contracts_pane_shows_the_pending_write_then_the_rollback() {
    let src = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/samples/token.zx")).expect("sample");
    let mut d = Debugger::new("token.zx", &src, &Options::default()).expect("builds");
    d.set_event_break(EventBreak::RequireFailed, true, None);
    assert!(d.run_to_stop(Goal::Continue, 10_000_000));
    let at_require = fixed(d.snapshot());
    assert!(d.run_to_stop(Goal::StepInstruction, 10));
    let rolled_back = fixed(d.snapshot());
    assert_eq!(
        rolled_back.last_rollback.as_deref(),
        Some(r#"Token#1.balances: {"alice": 70, "bob": 30} → {"alice": 70, "bob": -470, "carol": 500}"#)
    );
    assert_eq!(rolled_back.reverted_calls, vec!["Token.transfer (190 gas, 30 instructions)"]);
    for size in [(80, 24), (120, 40), (160, 48)] {
        let mut app = app(at_require.clone());
        let screen = format!("{}", draw(&app, size).backend());
        assert!(screen.contains("Contracts"), "the pane shows itself for a contract program:\n{screen}");
        if size.0 >= 120 {
            assert!(screen.contains("#1 Token.transfer  line 15  pc 29  tx 1"), "{screen}");
        }
        insta::assert_snapshot!(format!("contracts_at_require_{}x{}", size.0, size.1), draw(&app, size).backend());
        app.on_key(key('8'));
        app.on_key(key('z'));
        let zoomed = format!("{}", draw(&app, size).backend());
        assert!(
            zoomed.contains(r#"Token#1.balances: {"alice": 70, "bob": 30} → {"alice": 70, "bob": -470"#),
            "{zoomed}"
        );
        insta::assert_snapshot!(
            format!("contracts_zoomed_at_require_{}x{}", size.0, size.1),
            draw(&app, size).backend()
        );
        app.update(rolled_back.clone());
        let zoomed = format!("{}", draw(&app, size).backend());
        assert!(zoomed.contains("Open transactions (0)") && zoomed.contains("✗ Token.transfer (190 gas"), "{zoomed}");
        insta::assert_snapshot!(
            format!("contracts_zoomed_rolled_back_{}x{}", size.0, size.1),
            draw(&app, size).backend()
        );
        // The call stack (VM pane, zoomed) names the call the step reverted.
        app.on_key(key('3'));
        let vm = format!("{}", draw(&app, size).backend());
        assert!(vm.contains("Call stack (1)") && vm.contains("✗ reverted Token.transfer (190 gas"), "{vm}");
    }
}

#[test]
fn multi_file_source_follows_the_pc_and_the_file_list() {
    for size in [(80, 24), (120, 40)] {
        let mut app = app(multi_file_at_module_breakpoint());
        let screen = format!("{}", draw(&app, size).backend());
        assert!(screen.contains("Source samples/modules/shapes.zx"), "{screen}");
        if size.0 >= 120 {
            assert!(screen.contains("#1 area@samples/modules/shapes.zx:3"), "the call stack names files: {screen}");
            assert!(screen.contains("#0 <main> samples/modules.zx:9"), "{screen}");
        }
        // The file list, after a search that matches in every file.
        app.on_key(key('/'));
        for c in "side".chars() {
            app.on_key(key(c));
        }
        app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
        let message = app.message().unwrap_or_default().to_string();
        assert!(message.starts_with("found \"side\" at samples/modules/shapes.zx:"), "{message}");
        app.on_key(key('F'));
        let terminal = draw(&app, size);
        let screen = format!("{}", terminal.backend());
        assert!(screen.contains("samples/modules/stats.zx (module)"), "{screen}");
        insta::assert_snapshot!(format!("file_list_{}x{}", size.0, size.1), terminal.backend());
        // Enter on the main file's first match shows it in the source pane.
        app.on_key(key('g'));
        app.on_key(key('j'));
        app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
        let screen = format!("{}", draw(&app, size).backend());
        assert!(screen.contains("Source samples/modules.zx "), "{screen}");
        assert!(!screen.contains("(module)"), "the list closed: {screen}");
        // A breakpoint set there names the main file.
        app.outbox.clear();
        app.on_key(key('b'));
        assert_eq!(app.outbox.pop(), Some(Request::ToggleBreakpoint(Breakpoint::Line { file: 0, line: 5 })));
    }
}

/// A runtime error in a module: the source pane shows the module at the failing line, and the
/// four-way view of a loop in a module shows that module's source.
#[test]
fn multi_file_error_and_loop_view_in_a_module() {
    use zexus_tui::cli::module_fs::RealFs;
    use zexus_tui::engine::cache::CompileCache;
    use zexus_tui::engine::loader;
    let dir = tempfile::tempdir().expect("temp dir");
    let main = "use { total, ratio } from \"./lib/m.zx\"\nprint(total(300))\nprint(ratio(1, 0))\n";
    let module = "export action total(n) {\n  let t = 0\n  let i = 0\n  while (i < n) {\n    t = t + i\n    i = i + 1\n  }\n  return t\n}\nexport action ratio(a, b) {\n  return a / b\n}\n";
    std::fs::create_dir_all(dir.path().join("lib")).expect("mkdir");
    std::fs::write(dir.path().join("p.zx"), main).expect("write");
    std::fs::write(dir.path().join("lib/m.zx"), module).expect("write");
    let path = dir.path().join("p.zx");
    let program = loader::load(&RealFs, &path, main.to_string()).map_err(|(d, _)| d).expect("loads");
    let options = Options::default();
    let mut d =
        Debugger::with_program("p.zx", main, Some(std::rc::Rc::new(program)), &options, CompileCache::default())
            .expect("builds");
    assert!(d.run_to_stop(Goal::Continue, 10_000_000));
    let snap = fixed(d.snapshot());
    let err = snap.error.as_ref().expect("a runtime error");
    assert_eq!((snap.file_name(err.file), err.line), (snap.program.files[1].display.as_str(), 11));
    assert!(err.rendered.contains("lib/m.zx:11:"), "{}", err.rendered);
    let mut app = app(snap.clone());
    let screen = format!("{}", draw(&app, (120, 40)).backend());
    assert!(screen.contains("Source ") && screen.contains("lib/m.zx ·"), "{screen}");
    assert!(screen.contains("lib/m.zx:11:12: division by zero"), "{screen}");
    assert!(screen.contains("11 │   return a / b"), "{screen}");
    // The loop of `total`, four ways: its source column reads the module.
    app.on_key(key('L'));
    let screen = format!("{}", draw(&app, (120, 40)).backend());
    assert!(screen.contains("while (i < n) {"), "{screen}");
    assert!(screen.contains("t = t + i"), "{screen}");
}

#[test]
fn q_while_running_asks_first_and_a_breakpoint_prompt_becomes_a_request() {
    let mut snap = (*paused_in_transaction()).clone();
    snap.status = RunStatus::Running;
    let mut app = app(Arc::new(snap));
    app.on_key(key('q'));
    assert!(!app.quit && app.mode == Mode::ConfirmQuit);
    let screen = format!("{}", draw(&app, (120, 40)).backend());
    assert!(screen.contains("the program is running: quit?"), "{screen}");
    app.on_key(key('x'));
    assert!(!app.quit && app.mode == Mode::Normal);
    app.on_key(key('q'));
    app.on_key(key('y'));
    assert!(app.quit);
    assert_eq!(app.outbox.last(), Some(&Request::Quit));
    // Paused: `q` quits at once.
    let mut app = app_paused();
    app.on_key(key('q'));
    assert!(app.quit);
    // `C` types a breakpoint, `watch …` a watchpoint.
    let mut app = app_paused();
    for c in "C2 if n == 0".chars() {
        app.on_key(key(c));
    }
    app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    for c in "Cwatch STATE[\"alice\"]".chars() {
        app.on_key(key(c));
    }
    app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    assert_eq!(
        app.outbox,
        vec![Request::SetBreakpoint("2 if n == 0".to_string()), Request::SetWatch("STATE[\"alice\"]".to_string())]
    );
    // `print EXPR` evaluates in the frame selected in the VM pane (the caller after `[`),
    // `display` / `undisplay` keep a watch expression.
    let mut app = app_paused();
    let vm = PaneId::ALL.iter().position(|p| *p == PaneId::Vm).expect("a VM pane");
    app.on_key(key(char::from(b'1' + vm as u8)));
    app.on_key(key('['));
    for line in ["print from", "display amount * 2", "undisplay amount * 2"] {
        app.on_key(key('C'));
        for c in line.chars() {
            app.on_key(key(c));
        }
        app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    }
    assert_eq!(
        app.outbox,
        vec![
            Request::Evaluate("from".to_string(), Some(0)),
            Request::Display("amount * 2".to_string()),
            Request::Undisplay("amount * 2".to_string()),
        ]
    );
}

fn app_paused() -> App {
    app(paused_in_transaction())
}

/// The flame view's figures without their timings (the clock differs from run to run).
fn untimed(mut snap: SessionSnapshot) -> Arc<SessionSnapshot> {
    if let Some(flame) = snap.flame.as_mut() {
        flame.total_ns = 0;
        for n in &mut flame.nodes {
            (n.self_ns, n.total_ns, n.native_ns) = (0, 0, 0);
        }
        for r in &mut flame.functions {
            (r.self_ns, r.total_ns, r.native_ns) = (0, 0, 0);
        }
    }
    fixed(snap)
}

/// samples/fib.zx stopped where fib(10) is entered the second time.
fn fib_at_second_fib_10() -> Arc<SessionSnapshot> {
    let src = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/samples/fib.zx")).expect("sample");
    let mut d = Debugger::new("fib.zx", &src, &Options::default()).expect("builds");
    let spec = zexus_tui::engine::debug::parse_break("3 if n == 10").expect("a breakpoint");
    d.set_breakpoint(Breakpoint::main_line(spec.line), spec.options);
    assert!(d.run_to_stop(Goal::Continue, 10_000_000));
    assert!(d.run_to_stop(Goal::Continue, 10_000_000));
    untimed(d.snapshot())
}

fn enter() -> KeyEvent {
    KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)
}

#[test]
fn flame_graph_and_function_table_on_fib() {
    let snap = fib_at_second_fib_10();
    let view = snap.flame.clone().expect("the debugger's snapshot has the flame view");
    let fib = view.functions.iter().find(|r| r.name == "fib").cloned().unwrap_or_default();
    assert_eq!(fib.calls, 11 + 176 + 109 + 1, "fib(20) down to fib(10), fib(10), fib(9), fib(10) again");
    assert_eq!(view.total_instructions, snap.counters.instructions, "every instruction is in the tree");
    for size in [(80, 24), (120, 40), (160, 48)] {
        let mut app = app(snap.clone());
        app.on_key(key('P'));
        let screen = format!("{}", draw(&app, size).backend());
        for text in ["Flame graph", "<main> · 1 calls", "stack <main>", "interpreted", "native (JIT)", "Enter zoom"] {
            assert!(screen.contains(text), "{text:?} at {size:?}:\n{screen}");
        }
        insta::assert_snapshot!(format!("flame_graph_{}x{}", size.0, size.1), draw(&app, size).backend());
        // Down twice, then Enter: zoomed into fib(19), whose figures head the view.
        app.on_key(key('j'));
        app.on_key(key('j'));
        app.on_key(enter());
        let screen = format!("{}", draw(&app, size).backend());
        assert!(screen.contains("stack …") || screen.contains("stack <main> › fib › fib"), "{screen}");
        insta::assert_snapshot!(format!("flame_zoomed_{}x{}", size.0, size.1), draw(&app, size).backend());
        // Backspace and Esc zoom out a level each; Esc at the top closes the view.
        app.on_key(KeyEvent::new(KeyCode::Backspace, KeyModifiers::NONE));
        app.on_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
        assert!(format!("{}", draw(&app, size).backend()).contains("Flame graph"), "still open at the top");
        app.on_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
        let screen = format!("{}", draw(&app, size).backend());
        assert!(!screen.contains("Flame graph") && screen.contains("Source"), "closed:\n{screen}");
        // `v`: the function table, fib's exact calls in it; `a` sorts by the next column.
        app.on_key(key('P'));
        app.on_key(key('v'));
        let screen = format!("{}", draw(&app, size).backend());
        assert!(screen.contains(&format!("{:>11}", "297")) && screen.contains("total▼"), "{screen}");
        insta::assert_snapshot!(format!("flame_table_{}x{}", size.0, size.1), draw(&app, size).backend());
        app.on_key(key('a'));
        assert_eq!(app.message(), Some("function table sorted by self"));
        // Enter on a row shows the function in the source pane.
        app.on_key(enter());
        assert_eq!(app.focus(), PaneId::Source);
        let screen = format!("{}", draw(&app, size).backend());
        assert!(!screen.contains("Functions"), "the view closed for the source:\n{screen}");
    }
}

#[test]
fn flame_table_tells_native_from_interpreted_work() {
    let snap = untimed((*jit_states()).clone());
    let view = snap.flame.clone().expect("flame view");
    let compiled = view.functions.iter().find(|r| r.name == "compiled").cloned().unwrap_or_default();
    if zexus_tui::jit::AVAILABLE {
        assert!(compiled.native_permille() > 900, "the compiled loop runs natively: {compiled:?}");
        assert_eq!(view.native_instructions, snap.counters.jit_instructions, "the JIT's own count");
    } else {
        assert_eq!(compiled.native_instructions, 0);
    }
    for size in [(80, 24), (120, 40), (160, 48)] {
        let mut app = app(snap.clone());
        app.on_key(key('P'));
        app.on_key(key('v'));
        app.on_key(key('a'));
        app.on_key(key('a'));
        app.on_key(key('a'));
        let screen = format!("{}", draw(&app, size).backend());
        assert!(screen.contains("native▼"), "sorted by the native share:\n{screen}");
        if zexus_tui::jit::AVAILABLE {
            insta::assert_snapshot!(format!("flame_table_native_{}x{}", size.0, size.1), draw(&app, size).backend());
        }
        // `v` back to the graph: the root bar is in the interpreted colour on the left and the
        // JIT colour at the right end, for the native part of the run.
        app.on_key(key('v'));
        let terminal = draw(&app, size);
        let buf = terminal.backend().buffer();
        let theme = Theme::default();
        let row = (0..size.1).find(|&y| {
            let line: String = (0..size.0).map(|x| buf[(x, y)].symbol().to_string()).collect();
            line.starts_with("┃<main> ") && !line.contains('·')
        });
        let y = row.expect("the root's bar");
        assert_eq!(buf[(1, y)].bg, theme.current_bg, "interpreted on the left, in the selection's colour");
        assert_eq!(buf[(1, y + 1)].bg, theme.sparkline, "an interpreted callee below");
        if zexus_tui::jit::AVAILABLE {
            assert_eq!(buf[(size.0 - 4, y)].bg, theme.compiled, "native at the right end");
        }
        // `L` on <main> opens its busiest loop: <main> has none here.
        app.on_key(key('L'));
        assert_eq!(app.message(), Some("<main> has no loops"));
    }
}

/// A 20-deep recursion stopped at its base case: the call stack lists the outermost frame first
/// and the innermost last (the order `run` prints a traceback in), folds the middle so the
/// locals stay on screen, unfolds on `+`, and `[` / `]` move the source and bytecode cursors
/// to the selected frame's line and instruction.
#[test]
fn a_deep_call_stack_is_folded_and_the_selected_frame_drives_the_source() {
    const DEEP: &str =
        "action down(n) {\n  if (n == 0) {\n    return 0;\n  }\n  return down(n - 1) + 1;\n}\nprint(down(20));\n";
    let mut d = Debugger::new("deep.zx", DEEP, &Options::default()).expect("builds");
    d.toggle_breakpoint(Breakpoint::main_line(3));
    assert!(d.run_to_stop(Goal::Continue, 1_000_000));
    let mut app = app(fixed(d.snapshot()));
    let vm = PaneId::ALL.iter().position(|p| *p == PaneId::Vm).expect("a VM pane");
    app.on_key(key(char::from(b'1' + vm as u8)));
    let screen = format!("{}", draw(&app, (120, 40)).backend());
    let row = |s: &str, needle: &str| s.lines().position(|l| l.contains(needle));
    let (outer, fold, inner) = (row(&screen, "#0 <main>"), row(&screen, "⋯ 16 frames"), row(&screen, "▶ #21 down"));
    assert!(outer.is_some() && fold.is_some() && inner.is_some(), "{screen}");
    assert!(outer < fold && fold < inner, "outermost first, innermost last:\n{screen}");
    assert!(screen.contains("n = 0"), "the base case's locals are on screen:\n{screen}");
    // `[` selects the caller: the source cursor moves to the recursive call's line.
    app.on_key(key('['));
    let screen = format!("{}", draw(&app, (120, 40)).backend());
    assert!(screen.contains("▶ #20 down"), "{screen}");
    assert!(screen.contains("n = 1"), "{screen}");
    // `b` works on the source cursor from any pane: it is on the caller's line, then back on
    // the base case's after `]`.
    app.on_key(key('b'));
    assert_eq!(app.outbox.pop(), Some(Request::ToggleBreakpoint(Breakpoint::main_line(5))));
    app.on_key(key(']'));
    app.on_key(key('b'));
    assert_eq!(app.outbox.pop(), Some(Request::ToggleBreakpoint(Breakpoint::main_line(3))));
    app.on_key(key('+'));
    let unfolded = format!("{}", draw(&app, (120, 40)).backend());
    assert!(!unfolded.contains("⋯"), "+ unfolds:\n{unfolded}");
    assert!(unfolded.contains("#10 down"), "{unfolded}");
}

/// After a continue, the VM pane marks what changed since the last stop (`*`): the global
/// `round`, the committed STATE the first transfer moved, and the open transaction's pending
/// writes as old → new; the unchanged arguments of the new `transfer` frame stay unmarked.
#[test]
fn vm_pane_marks_changed_values_and_shows_pending_writes_old_to_new() {
    let mut d = Debugger::new("demo.zx", PROGRAM, &Options::default()).expect("builds");
    d.toggle_breakpoint(Breakpoint::main_line(17));
    assert!(d.run_to_stop(Goal::Continue, 1_000_000));
    let mut app = app(fixed(d.snapshot()));
    assert!(d.run_to_stop(Goal::Continue, 1_000_000));
    app.update(fixed(d.snapshot()));
    let vm = PaneId::ALL.iter().position(|p| *p == PaneId::Vm).expect("a VM pane");
    app.on_key(key(char::from(b'1' + vm as u8)));
    app.on_key(key('z'));
    let screen = format!("{}", draw(&app, (120, 48)).backend());
    assert!(screen.contains(" *round = 2"), "{screen}");
    assert!(screen.contains(" *\"alice\" = 95"), "{screen}");
    assert!(screen.contains("  from = \"alice\""), "unchanged: not marked\n{screen}");
    assert!(screen.contains("\"alice\": 95 → 90"), "the pending write, old → new\n{screen}");
}

/// The source pane colours keywords, literals, strings and comments in the theme's colours
/// (and leaves the line about to run in its own uniform colours).
#[test]
fn source_pane_highlights_syntax() {
    let app = app(paused_in_transaction());
    let theme = Theme::default();
    let terminal = draw(&app, (120, 40));
    let buf = terminal.backend().buffer();
    let find = |needle: &str| -> Option<(u16, u16)> {
        (0..buf.area.height).find_map(|y| {
            let row: String = (0..buf.area.width).map(|x| buf[(x, y)].symbol().to_string()).collect();
            row.find(needle).map(|col| (row[..col].chars().count() as u16, y))
        })
    };
    let fg_at = |needle: &str| find(needle).map(|(x, y)| buf[(x, y)].fg);
    assert_eq!(fg_at("action transfer"), Some(theme.syntax_keyword));
    assert_eq!(fg_at("TX_BEGIN();"), Some(theme.syntax_keyword), "a blockchain primitive");
    assert_eq!(fg_at("100;"), Some(theme.syntax_literal));
    assert_eq!(fg_at("\"alice\"] = 100"), Some(theme.syntax_string));
    // `STATE[to] = ...` on line 17 is about to run: drawn in the current-line colours.
    assert_eq!(fg_at("STATE[to] = STATE[to]"), Some(theme.current_fg));
}

#[test]
fn a_loop_the_jit_will_refuse_says_why_before_it_turns_hot() {
    let src = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/samples/jit_states.zx")).expect("sample");
    let d = Debugger::new("jit_states.zx", &src, &Options::default()).expect("builds");
    // Paused before the first instruction: every loop is cold.
    let snap = fixed(d.snapshot());
    assert!(snap.loops.iter().all(|l| l.iterations == 0));
    let mut app = app(snap);
    app.on_key(key('4'));
    app.on_key(key('z'));
    let screen = format!("{}", draw(&app, (120, 40)).backend());
    if zexus_tui::jit::AVAILABLE {
        let row = |name: &str| screen.lines().skip(2).find(|l| l.contains(name)).map(str::to_string);
        let refused = row("refused:19").expect("the refused loop's row");
        assert!(refused.contains("will not compile"), "{refused}");
        assert!(screen.contains("unsupported instruction CALL at pc 8"), "{screen}");
        let compiled = row("compiled:7").expect("the compiled loop's row");
        assert!(compiled.contains("compiles in 100"), "{compiled}");
    }
}

#[test]
fn counts_are_exact_with_digit_grouping_and_the_status_bar_has_the_selected_rows() {
    let mut snap = (*with_future_data()).clone();
    let profile = snap.profile.as_mut().expect("a profile");
    profile.line_hits[16] = 4_991;
    profile.line_hits[18] = 1_234_567_890;
    profile.max_line_hits = 1_234_567_890;
    let snap = Arc::new(snap);
    // Zoomed, the source pane has room for every count exactly, digits grouped.
    let mut app = app(snap.clone());
    app.on_key(key('1'));
    app.on_key(key('z'));
    let screen = format!("{}", draw(&app, (160, 48)).backend());
    assert!(screen.contains(" 4,991 "), "{screen}");
    assert!(screen.contains("1,234,567,890"), "{screen}");
    assert!(!screen.contains("5.0k"), "{screen}");
    // In the layout at 120x40 the gutter is narrow: the large count is rounded in its column and
    // exact in the status bar once its line is selected.
    let mut app = app_at(snap, '1');
    let before = format!("{}", draw(&app, (120, 40)).backend());
    assert!(before.contains(" 4,991 "), "{before}");
    assert!(before.contains("1.23G"), "{before}");
    let gutter_of = |screen: &str, line: &str| {
        screen.lines().find(|l| l.contains(line)).and_then(|l| l.find(line)).expect("the line is shown")
    };
    // Every row's gutter has one width: the source text starts in the same column.
    assert_eq!(gutter_of(&before, "STATE[from] = STATE[from] - amount;"), gutter_of(&before, "TX_BEGIN();"));
    while !format!("{}", draw(&app, (120, 40)).backend()).lines().next().unwrap_or("").contains("line 18:") {
        app.on_key(key('j'));
        assert!(app.outbox.is_empty());
    }
    let status = format!("{}", draw(&app, (120, 40)).backend()).lines().next().unwrap_or("").to_string();
    assert!(status.contains("line 18: 1,234,567,890 instr"), "{status}");
}

fn app_at(snap: Arc<SessionSnapshot>, pane: char) -> App {
    let mut app = app(snap);
    app.on_key(key(pane));
    app
}

/// `samples/jit_states.zx` stopped by the bail-out break in its blacklisted loop: hot loops of
/// every fate (one refused for a CALL, one with nine bail-outs), output so far.
fn jit_states_paused() -> Arc<SessionSnapshot> {
    let src = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/samples/jit_states.zx")).expect("sample");
    let mut d = Debugger::new("jit_states.zx", &src, &Options::default()).expect("builds");
    d.toggle_event_break(EventBreak::Bailout);
    for _ in 0..30 {
        assert!(d.run_to_stop(Goal::Continue, 10_000_000));
        let snap = d.snapshot();
        if snap.location.and_then(|l| snap.function(l.function)).is_some_and(|f| f.name == "blacklisted") {
            break;
        }
    }
    fixed(d.snapshot())
}

const ALL_SIZES: [(u16, u16); 3] = [(80, 24), (120, 40), (160, 48)];

/// The rows of a rendered screen.
fn rows(terminal: &Terminal<TestBackend>) -> Vec<String> {
    let buf = terminal.backend().buffer();
    (0..buf.area.height).map(|y| (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect::<String>()).collect()
}

/// What is clipped on a screen: a pane title cut before its end (a title runs into the
/// corner, or ends on a dangling ` · `), a loop's reason cut mid-word (a proper prefix of it
/// that is not closed by `…`), a frame row whose pc is cut, a hint bar without `? help` and
/// `q quit`, or a hint cut short.
fn clipped(screen: &[String], snap: &SessionSnapshot) -> Vec<String> {
    let mut found = Vec::new();
    for (y, row) in screen.iter().enumerate() {
        let chars: Vec<char> = row.chars().collect();
        for (i, &c) in chars.iter().enumerate() {
            if matches!(c, '┐' | '┓') && i > 0 && !matches!(chars[i - 1], '─' | '━' | ' ' | '┌' | '┏') {
                found.push(format!("row {y}: a title runs into the corner: {row}"));
            }
        }
        if row.contains("· ┐") || row.contains("· ┓") || row.contains("· ─") || row.contains("· ━") {
            found.push(format!("row {y}: a title ends on a separator: {row}"));
        }
        for reason in snap.loops.iter().filter_map(|l| l.reason.as_deref()) {
            // The longest proper prefix of the reason (of 4 characters or more) shown as a
            // reason on this row (after `: `, `↳ ` or `· `; source text may quote its words).
            let shown = |p: &str| [": ", "↳ ", "· "].iter().any(|lead| row.contains(&format!("{lead}{p}")));
            let cut = (4..reason.len())
                .rev()
                .filter(|&k| reason.is_char_boundary(k))
                .map(|k| &reason[..k])
                .find(|p| shown(p) && !row.contains(reason));
            if let Some(prefix) = cut {
                let after = row.split(prefix).nth(1).and_then(|r| r.chars().next());
                if after != Some('…') && !prefix.ends_with(' ') {
                    found.push(format!("row {y}: reason cut mid-word ({prefix:?} of {reason:?}): {row}"));
                }
            }
        }
        for f in &snap.frames {
            let at = format!("#{} ", snap.frames.iter().position(|g| std::ptr::eq(g, f)).unwrap_or(0));
            if row.contains(&at) && row.contains(&format!(" {}", f.name)) && !row.contains(&format!("pc {}", f.pc)) {
                found.push(format!("row {y}: frame row without its pc {}: {row}", f.pc));
            }
        }
    }
    let bar = screen.last().cloned().unwrap_or_default();
    for hint in ["? help", "q quit"] {
        if !bar.contains(hint) {
            found.push(format!("the hint bar lacks {hint:?}: {bar}"));
        }
    }
    if !bar.trim_end().ends_with("q quit") {
        found.push(format!("the hint bar ends mid-hint: {bar}"));
    }
    found
}

#[test]
fn main_screen_with_hot_loops_and_bail_outs() {
    let snap = jit_states_paused();
    if zexus_tui::jit::AVAILABLE {
        assert!(snap.loops.iter().any(|l| l.bailouts > 0), "bail-outs on screen");
        assert!(snap.loops.iter().any(|l| l.state == zexus_tui::engine::snapshot::LoopState::Refused));
    }
    for size in ALL_SIZES {
        let app = app(snap.clone());
        let terminal = draw(&app, size);
        let problems = clipped(&rows(&terminal), &snap);
        assert!(problems.is_empty(), "{}x{}:\n{}", size.0, size.1, problems.join("\n"));
        insta::assert_snapshot!(format!("main_jit_states_{}x{}", size.0, size.1), terminal.backend());
    }
}

#[test]
fn no_pane_clips_a_title_reason_or_hint_at_80x24_and_above() {
    // Every pane zoomed and the layout with each pane focused, on the bail-out stop, the demo's
    // transaction and its error.
    for snap in [jit_states_paused(), paused_in_transaction(), failed(), jit_states()] {
        for size in ALL_SIZES {
            for pane in ['1', '2', '3', '4', '5', '6', '7'] {
                for zoom in [false, true] {
                    let mut app = app(snap.clone());
                    app.on_key(key(pane));
                    if zoom {
                        app.on_key(key('z'));
                    }
                    let problems = clipped(&rows(&draw(&app, size)), &snap);
                    assert!(
                        problems.is_empty(),
                        "pane {pane}{} at {}x{}:\n{}",
                        if zoom { " zoomed" } else { "" },
                        size.0,
                        size.1,
                        problems.join("\n")
                    );
                }
            }
        }
    }
}

/// The `B` menu lists the breakpoints (options and hits) and watchpoints above the VM events;
/// j/k select, space switches one off (or on), d deletes it.
#[test]
fn the_break_menu_lists_breakpoints_to_switch_off_and_delete() {
    let mut d = Debugger::new("demo.zx", PROGRAM, &Options::default()).expect("builds");
    let spec = zexus_tui::engine::debug::parse_break("17 if amount == 5").expect("parses");
    d.set_breakpoint(Breakpoint::main_line(spec.line), spec.options);
    d.toggle_breakpoint(Breakpoint::main_line(6));
    assert!(d.run_to_stop(Goal::Continue, 1_000_000));
    let mut app = app(fixed(d.snapshot()));
    app.on_key(key('B'));
    for size in [(80, 24), (120, 40)] {
        let screen = format!("{}", draw(&app, size).backend());
        assert!(screen.contains("Breakpoints (j/k select, space on/off, d delete)"), "{screen}");
        assert!(screen.contains("› ● line 6 · 1 hit"), "{screen}");
        assert!(screen.contains("● line 17 if amount == 5"), "{screen}");
        assert!(screen.contains("VM events (1-9 toggle, / filter)"), "{screen}");
    }
    app.on_key(key('j'));
    app.on_key(key(' '));
    app.on_key(key('d'));
    let rows = app.snapshot().map(|s| s.break_list.clone()).unwrap_or_default();
    assert_eq!(app.outbox, vec![Request::EnableBreak(rows[1].clone(), false), Request::DeleteBreak(rows[1].clone())]);
}

/// The unoptimized listing shows the pc too (on the instructions that became the one about to
/// run, through the optimizer's pc map), and `b` there sets an instruction breakpoint on the
/// optimized instruction the row became.
#[test]
fn the_unoptimized_listing_shows_the_pc_and_takes_instruction_breakpoints() {
    let snap = paused_in_transaction();
    let loc = snap.location.expect("paused");
    let mut app = app(snap.clone());
    app.on_key(key('2'));
    app.on_key(key('z'));
    app.on_key(key('v'));
    let screen = format!("{}", draw(&app, (120, 40)).backend());
    assert!(screen.contains("unoptimized"), "{screen}");
    let f = snap.function(loc.function).expect("function");
    let sources: Vec<u32> =
        (0..f.unoptimized.len() as u32).filter(|&u| f.unoptimized_map[u as usize] == Some(loc.pc)).collect();
    assert!(!sources.is_empty(), "the pc's instruction has an unoptimized origin");
    let marked = screen.lines().filter(|l| l.contains("┃▶")).count();
    assert_eq!(marked, sources.len(), "one ▶ per unoptimized instruction of the pc:\n{screen}");
    app.on_key(key('b'));
    match app.outbox.pop() {
        Some(Request::ToggleBreakpoint(Breakpoint::Instruction { function, pc })) => {
            assert_eq!(function, loc.function);
            assert!(f.unoptimized_map.contains(&Some(pc)));
        }
        other => panic!("an instruction breakpoint, not {other:?}"),
    }
}
