//! One honest set of numbers (issue 17): `stats --json`, `dis --jit`, `snapshot --json`,
//! `profile --json` and the TUI agree on JIT entries, bail-outs and instructions run as native
//! code, on every sample. An entry is counted once per entry into native code from the
//! interpreter, not per budget slice; the TUI is its real VM thread (`tui::worker`, whose
//! slices follow the clock) with what the hot-loops pane renders read off a TestBackend.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::Value;
use zexus_tui::cli::module_fs::reload_program;
use zexus_tui::engine::Options;
use zexus_tui::engine::snapshot::{RunStatus, SessionSnapshot};
use zexus_tui::tui::app::{App, AppConfig};
use zexus_tui::tui::theme::Theme;
use zexus_tui::tui::worker::{ProgramLoader, Worker};

/// Entries, bail-outs and native instructions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Figures {
    entries: u64,
    bailouts: u64,
    native: u64,
}

impl std::ops::AddAssign for Figures {
    fn add_assign(&mut self, o: Figures) {
        self.entries += o.entries;
        self.bailouts += o.bailouts;
        self.native += o.native;
    }
}

/// Per loop, keyed by `function:loop_id`, and the total.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Report {
    total: Figures,
    loops: BTreeMap<String, Figures>,
}

impl Report {
    fn from_loops(loops: BTreeMap<String, Figures>) -> Report {
        let mut total = Figures::default();
        for f in loops.values() {
            total += *f;
        }
        Report { total, loops }
    }
}

fn samples() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("samples/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "zx"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "the samples are there: {files:?}");
    files
}

fn run(args: &[&str]) -> (String, String) {
    let out = common::run_bin(args, Path::new(env!("CARGO_MANIFEST_DIR")), std::time::Duration::from_secs(300));
    (out.stdout, out.stderr)
}

fn json(text: &str, what: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{what} is JSON ({e}):\n{text}"))
}

fn u(v: &Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("{key} is a number in {v}"))
}

/// `stats --json`: the `jit` section and `vm.jit_instructions` (totals only).
fn stats(file: &str) -> Figures {
    let (out, _) = run(&["stats", "--json", file]);
    let v = json(&out, "stats --json");
    Figures {
        entries: u(&v["jit"], "entries"),
        bailouts: u(&v["jit"], "bailouts"),
        native: u(&v["vm"], "jit_instructions"),
    }
}

/// `dis --jit`: the figures line under each loop's heading.
fn dis_jit(file: &str) -> Report {
    let (out, err) = run(&["dis", "--jit", file]);
    let mut loops = BTreeMap::new();
    let mut name = None;
    for line in out.lines() {
        if let Some(rest) = line.strip_prefix("== loop ") {
            // `== loop 0 of compiled (pc 4..=13): ...`
            let (id, rest) = rest.split_once(" of ").expect("loop heading");
            let function = rest.split(" (pc ").next().expect("function");
            name = Some(format!("{function}:{id}"));
        } else if let Some(rest) = line.trim_start().strip_prefix("entries ") {
            let nums: Vec<u64> = rest
                .split(", ")
                .map(|part| part.rsplit(' ').next().unwrap_or("").parse().expect("a count"))
                .take(3)
                .collect();
            let key = name.take().expect("figures follow a heading");
            let f = Figures { entries: nums[0], bailouts: nums[1], native: nums[2] };
            if f != Figures::default() {
                loops.insert(key, f);
            }
        }
    }
    assert!(out.contains("== loop") || loops.is_empty(), "dis --jit on {file}:\n{out}\n{err}");
    Report::from_loops(loops)
}

fn loops_of(v: &Value, function: &str, entries: &str, bailouts: &str, native: &str) -> BTreeMap<String, Figures> {
    v.as_array()
        .expect("a loop list")
        .iter()
        .filter(|l| u(l, entries) > 0 || u(l, bailouts) > 0 || u(l, native) > 0)
        .map(|l| {
            let key = format!("{}:{}", l[function].as_str().expect("function name"), u(l, "loop_id"));
            (key, Figures { entries: u(l, entries), bailouts: u(l, bailouts), native: u(l, native) })
        })
        .collect()
}

/// `snapshot --json`: the loops, checked against the `jit` summary and the VM counters.
fn snapshot(file: &str) -> Report {
    let (out, _) = run(&["snapshot", "--json", file]);
    let v = json(&out, "snapshot --json");
    let report =
        Report::from_loops(loops_of(&v["loops"], "function_name", "entries", "bailouts", "native_instructions"));
    let summary = Figures {
        entries: u(&v["jit"], "entries"),
        bailouts: u(&v["jit"], "bailouts"),
        native: u(&v["counters"], "jit_instructions"),
    };
    assert_eq!(report.total, summary, "snapshot --json on {file}: the loops add up to the summary");
    assert_eq!(u(&v["counters"], "jit_entries"), summary.entries, "snapshot --json on {file}: the VM's count");
    report
}

/// `profile --json`: the loops and the totals.
fn profile(file: &str) -> Report {
    let (out, _) = run(&["profile", "--json", file]);
    let v = json(&out, "profile --json");
    let report = Report::from_loops(loops_of(&v["loops"], "function", "entries", "bailouts", "native_instructions"));
    let t = &v["totals"];
    let totals =
        Figures { entries: u(t, "jit_entries"), bailouts: u(t, "jit_bailouts"), native: u(t, "native_instructions") };
    assert_eq!(report.total, totals, "profile --json on {file}: the loops add up to the totals");
    report
}

/// The TUI: its VM thread runs the sample to its end (slices sized by the clock, as when a
/// person presses space); the final snapshot goes to the app, and the hot-loops pane is read
/// as rendered: the title's entries and bail-outs, each loop's footer line for its figures.
fn tui(file: &Path) -> Report {
    let name = file.file_name().expect("name").to_string_lossy().into_owned();
    let path = file.to_path_buf();
    let loader = ProgramLoader(Arc::new(move || reload_program(&path)));
    let worker = Worker::spawn_program(&name, file.to_path_buf(), loader, None, &Options::default(), true, None)
        .expect("starts");
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut last: Option<Arc<SessionSnapshot>> = None;
    loop {
        if let Some(s) = worker.take_snapshot() {
            last = Some(s);
        }
        if last.as_ref().is_some_and(|s| matches!(s.status, RunStatus::Finished | RunStatus::Failed)) {
            break;
        }
        assert!(Instant::now() < deadline, "{name} ends in the TUI");
        std::thread::sleep(Duration::from_millis(10));
    }
    worker.shutdown(Duration::from_secs(5));
    let snap = last.expect("a snapshot");
    let mut app = App::new(AppConfig {
        themes: vec![Theme::default()],
        mouse: false,
        export_path: std::env::temp_dir().join("zexus-numbers-test.json"),
    });
    app.update(snap.clone());
    let key = |c: char| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
    app.on_key(key('4'));
    app.on_key(key('z'));
    let screen = |app: &App| {
        let mut terminal = Terminal::new(TestBackend::new(160, 48)).expect("terminal");
        terminal.draw(|f| app.render(f.area(), f.buffer_mut())).expect("draws");
        let buf = terminal.backend().buffer().clone();
        (0..buf.area.height)
            .map(|y| (0..buf.area.width).map(|x| buf[(x, y)].symbol().to_string()).collect::<String>())
            .collect::<Vec<_>>()
    };
    let number_before = |line: &str, word: &str| -> Option<u64> {
        let at = line.find(word)?;
        let digits: String =
            line[..at].trim_end().chars().rev().take_while(|c| c.is_ascii_digit() || *c == ',').collect();
        digits.chars().rev().filter(char::is_ascii_digit).collect::<String>().parse().ok()
    };
    let mut loops = BTreeMap::new();
    let mut title = None;
    for _ in 0..snap.loops.len() {
        let rows = screen(&app);
        if title.is_none() {
            let t = rows.iter().find(|r| r.contains("Hot loops")).expect("the hot-loops title").clone();
            title = Some(t);
        }
        // The footer: `fn:LINE · N bytes of x86-64 · E entries · B bail-outs · I instructions native ...`.
        if let Some(footer) = rows.iter().find(|r| r.contains("bytes of x86-64")) {
            let place = footer.trim_start_matches(['┃', ' ']).split(' ').next().expect("place").to_string();
            let lv = snap
                .loops
                .iter()
                .find(|l| format!("{}:{}", l.function_name, l.header_line) == place)
                .expect("the footer names a loop");
            let f = Figures {
                entries: number_before(footer, " entr").expect("entries in the footer"),
                bailouts: number_before(footer, " bail-out").expect("bail-outs in the footer"),
                native: number_before(footer, " instructions native").expect("native instructions in the footer"),
            };
            if f != Figures::default() {
                loops.insert(format!("{}:{}", lv.function_name, lv.loop_id), f);
            }
        }
        app.on_key(key('j'));
    }
    let report = Report::from_loops(loops);
    if snap.jit.available && snap.jit.enabled && !snap.loops.is_empty() {
        let title = title.expect("a title");
        let shown = (number_before(&title, " entries"), number_before(&title, " bail-outs"));
        assert_eq!(
            shown,
            (Some(report.total.entries), Some(report.total.bailouts)),
            "{name}: the hot-loops title agrees with its rows\n{title}"
        );
    }
    report
}

#[test]
fn stats_dis_snapshot_profile_and_the_tui_agree_on_every_sample() {
    let mut jit_seen = Figures::default();
    for path in samples() {
        let rel = format!("samples/{}", path.file_name().expect("name").to_string_lossy());
        let file = rel.as_str();
        let dis = dis_jit(file);
        let stats = stats(file);
        let snapshot = snapshot(file);
        let profile = profile(file);
        let tui = tui(&path);
        assert_eq!(stats, dis.total, "{file}: stats --json against dis --jit");
        assert_eq!(snapshot, dis, "{file}: snapshot --json against dis --jit, loop by loop");
        assert_eq!(profile, dis, "{file}: profile --json against dis --jit, loop by loop");
        assert_eq!(tui, dis, "{file}: the TUI's hot-loops pane against dis --jit, loop by loop");
        jit_seen += dis.total;
    }
    if zexus_tui::jit::AVAILABLE {
        // The samples exercise all three figures (so the comparison above compares something).
        assert!(jit_seen.entries > 0 && jit_seen.bailouts > 0 && jit_seen.native > 0, "{jit_seen:?}");
    }
}
