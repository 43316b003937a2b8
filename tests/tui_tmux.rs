//! End to end in a real terminal: `zexus-tui samples/spin.zx` in a detached 120x40 tmux
//! session, driven with keys and read back with `capture-pane`. Steps one instruction and one
//! line, stops at a breakpoint and when the loop is JIT-compiled, runs and pauses, sees the hot
//! loop compiled and its four-way view, exports every format, quits, and checks the
//! terminal is sane again (`stty -a` shows `icanon` and `echo`). Skipped with a message only if
//! tmux is missing outside CI.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// How long any one expectation may take on a loaded machine.
const PATIENCE: Duration = Duration::from_secs(90);

struct Tmux {
    socket: PathBuf,
}

impl Tmux {
    fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux").arg("-S").arg(&self.socket).args(args).output().expect("tmux runs")
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "zx"];
        args.extend_from_slice(keys);
        let out = self.run(&args);
        assert!(out.status.success(), "send-keys failed: {}", String::from_utf8_lossy(&out.stderr));
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-t", "zx"]).stdout).into_owned()
    }

    /// Polls the screen until `pred` holds; panics with the last screen after [`PATIENCE`].
    fn wait_for(&self, what: &str, mut pred: impl FnMut(&str) -> bool) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let screen = self.screen();
            if pred(&screen) {
                return screen;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}; screen:\n{screen}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Like [`Tmux::wait_for`], but returns only a screen that `pred` accepts and that two
    /// captures 100 ms apart agree on, so a frame caught half-drawn is never asserted on.
    fn wait_still(&self, what: &str, mut pred: impl FnMut(&str) -> bool) -> String {
        let mut last = String::new();
        self.wait_for(what, |screen| {
            let still = pred(screen) && screen == last;
            last = screen.to_owned();
            still
        })
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

/// The number after `word ` in the status line (the first line of the screen).
fn status_number(screen: &str, word: &str) -> Option<u64> {
    let status = screen.lines().next()?;
    let at = status.find(&format!(" {word} "))? + word.len() + 2;
    let digits: String = status[at..].chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok()
}

fn wait_file(path: &Path) -> String {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Ok(text) = std::fs::read_to_string(path)
            && text.ends_with('\n')
        {
            return text;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {}", path.display());
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn tmux_missing() -> bool {
    if Command::new("tmux").arg("-V").output().is_ok_and(|o| o.status.success()) {
        return false;
    }
    assert!(std::env::var_os("CI").is_none(), "tmux is required in CI (.ci/run installs it)");
    eprintln!("skipping the tmux end-to-end test: tmux is not installed");
    true
}

/// A 120x40 tmux session running a bare shell with the prompt `READY$ `, in `dir`.
fn start_shell(dir: &Path) -> Tmux {
    let tmux = Tmux { socket: dir.join("tmux.sock") };
    let shell = "env PS1='READY$ ' bash --norc --noprofile";
    let cwd = dir.to_string_lossy().into_owned();
    let out = tmux.run(&["new-session", "-d", "-s", "zx", "-x", "120", "-y", "40", "-c", &cwd, shell]);
    assert!(out.status.success(), "tmux new-session: {}", String::from_utf8_lossy(&out.stderr));
    tmux.wait_for("the shell prompt", |s| s.contains("READY$"));
    tmux
}

/// Waits until the TUI is gone and the prompt is the last line again.
fn wait_prompt(tmux: &Tmux) {
    tmux.wait_for("the prompt after quitting", |s| {
        !s.contains("Hot loops") && s.lines().rfind(|l| !l.trim().is_empty()).is_some_and(|l| l.starts_with("READY$"))
    });
}

/// Runs `stty -a` in the shell and checks the terminal is back in cooked mode with echo.
fn assert_terminal_sane(tmux: &Tmux, dir: &Path, tag: &str) {
    let stty = dir.join(format!("stty-{tag}.txt"));
    tmux.keys(&["-l", &format!("stty -a > {} && echo done >> {}", stty.display(), stty.display())]);
    tmux.keys(&["Enter"]);
    let modes = wait_file(&stty);
    let words: Vec<&str> = modes.split_whitespace().collect();
    for mode in ["icanon", "echo", "isig", "icrnl", "opost"] {
        assert!(words.contains(&mode), "{tag}: stty lacks {mode}:\n{modes}");
        assert!(!words.contains(&format!("-{mode}").as_str()), "{tag}: stty has -{mode}:\n{modes}");
    }
}

/// The binary under test.
const BIN: &str = env!("CARGO_BIN_EXE_zexus-tui");

/// The endless hot-loop sample every test runs.
fn spin_sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/spin.zx")
}

/// A temporary directory and a shell in tmux there, or `None` (skip) if tmux is missing.
fn spin_setup() -> Option<(tempfile::TempDir, Tmux)> {
    if tmux_missing() {
        return None;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let tmux = start_shell(dir.path());
    Some((dir, tmux))
}

#[test]
fn debugger_session_in_tmux() {
    let Some((dir, tmux)) = spin_setup() else { return };
    let (bin, sample) = (BIN, spin_sample());
    let export_dir = dir.path().join("export");
    let export = export_dir.join("trace.json");
    let command = format!("{bin} {} --export {}", sample.display(), export_dir.display());
    tmux.keys(&["-l", &command]);
    tmux.keys(&["Enter"]);

    // Paused before the first instruction.
    let screen =
        tmux.wait_still("the paused debugger", |s| s.starts_with(" PAUSED") && status_number(s, "pc").is_some());
    let pc0 = status_number(&screen, "pc").expect("pc in the status line");
    assert!(screen.contains("Hot loops") && screen.contains("Bytecode"), "{screen}");

    // `i`: one instruction.
    tmux.keys(&["i"]);
    let screen = tmux.wait_for("pc to advance by one", |s| status_number(s, "pc") == Some(pc0 + 1));
    let line0 = status_number(&screen, "line").expect("line in the status line");

    // `n`: one source line.
    tmux.keys(&["n"]);
    tmux.wait_for("the line to change", |s| {
        s.contains("PAUSED (step)") && status_number(s, "line").is_some_and(|l| l != line0)
    });

    // A breakpoint on line 9 (`acc = mix(acc, i);`): cursor to the top, 8 down, `b`, then `c`.
    tmux.keys(&["g"]);
    for _ in 0..8 {
        tmux.keys(&["j"]);
    }
    tmux.keys(&["b"]);
    tmux.wait_for("the breakpoint marker", |s| s.lines().any(|l| l.contains("●") && l.contains("  9 │")));
    tmux.keys(&["c"]);
    tmux.wait_for("the breakpoint to hit", |s| {
        s.contains("breakpoint at line 9") && status_number(s, "line") == Some(9)
    });

    // Clear it (the cursor followed the stop to line 9), then run and pause.
    tmux.keys(&["b"]);
    tmux.wait_for("the breakpoint to clear", |s| !s.lines().any(|l| l.contains("●") && l.contains("  9 │")));
    // `B` `1`: break when a loop is JIT-compiled; running stops when the loop compiles.
    if cfg!(target_arch = "x86_64") {
        tmux.keys(&["B"]);
        tmux.wait_for("the event menu", |s| s.contains("Breakpoints and VM events"));
        tmux.keys(&["1"]);
        tmux.wait_for("the break on compilation", |s| s.lines().next().is_some_and(|l| l.contains("⚑ jit")));
        tmux.keys(&["Escape"]);
        tmux.wait_for("the menu closed", |s| !s.contains("Breakpoints and VM events"));
        tmux.keys(&["Space"]);
        tmux.wait_for("the stop on compilation", |s| s.starts_with(" PAUSED (JIT compiled loop at line 8)"));
        tmux.keys(&["B"]);
        tmux.wait_for("the event menu", |s| s.contains("Breakpoints and VM events"));
        tmux.keys(&["1"]);
        tmux.wait_for("the break off", |s| s.lines().next().is_some_and(|l| !l.contains("⚑")));
        tmux.keys(&["Escape"]);
        tmux.wait_for("the menu closed", |s| !s.contains("Breakpoints and VM events"));
    }
    tmux.keys(&["Space"]);
    tmux.wait_for("running", |s| s.starts_with(" RUNNING"));
    // The loop crosses the hot threshold while running, and (on x86-64) runs compiled.
    let state = if cfg!(target_arch = "x86_64") { "compiled" } else { "interpreted" };
    tmux.wait_for("the hot loop", |s| s.lines().any(|l| l.contains("<main>:8 ") && l.contains(state)));
    tmux.keys(&["Space"]);
    let screen = tmux.wait_still("paused again", |s| s.starts_with(" PAUSED (paused)"));
    if cfg!(target_arch = "x86_64") {
        // The JIT marker on the loop's instructions, next to their execution counts (one space
        // before `J`: the pc marker `▶` takes the other when the pause lands on `MOD`).
        assert!(screen.lines().any(|l| l.contains(" J ") && l.contains("MOD")), "{screen}");
    }

    // `L`: the loop four ways: source, unoptimized and optimized bytecode, machine code.
    tmux.keys(&["L"]);
    tmux.wait_for("the four-way view", |s| {
        s.contains("Unoptimized") && s.contains("x86-64") && (!cfg!(target_arch = "x86_64") || s.contains("── pc "))
    });
    tmux.keys(&["Escape"]);
    tmux.wait_for("the panes again", |s| s.contains("Hot loops") && !s.contains("x86-64"));

    // `e`: the export menu names the directory first; Enter writes every format, among them
    // the Chrome trace of the run so far, which Perfetto opens.
    tmux.keys(&["e"]);
    let menu = tmux.wait_for("the export menu", |s| s.contains("Export the session"));
    assert!(menu.contains("export▏") && menu.contains("stacks.collapsed"), "{menu}");
    assert!(!export_dir.exists(), "nothing is written before Enter");
    tmux.keys(&["Enter"]);
    tmux.wait_for("the export message", |s| s.contains("exported 5 files to"));
    let text = wait_file(&export);
    let json: serde_json::Value = serde_json::from_str(&text).expect("the export parses as JSON");
    let events = json["traceEvents"].as_array().cloned().unwrap_or_default();
    let has = |name: &str, ph: &str| events.iter().any(|e| e["name"] == name && e["ph"] == ph);
    assert!(has("parse", "B") && has("parse", "E"), "the pipeline's phases: {text:.2000}");
    assert!(has("<main>", "B") && has("<main>", "E"), "the run's slice: {text:.2000}");
    assert!(has("instructions", "C"), "instruction counter samples: {text:.2000}");
    assert!(has("loop hot", "i"), "the loop turning hot: {text:.2000}");
    if cfg!(target_arch = "x86_64") {
        assert!(has("jit compile <main> loop 0", "B"), "the JIT compilation: {text:.2000}");
    }
    assert_eq!(json["otherData"]["truncated"], false);

    // `q`: the shell prompt comes back and the terminal is sane.
    tmux.keys(&["q"]);
    wait_prompt(&tmux);
    assert_terminal_sane(&tmux, dir.path(), "quit");
}

#[test]
fn ctrl_c_sigterm_and_sighup_restore_the_terminal() {
    let Some((dir, tmux)) = spin_setup() else { return };
    let (bin, sample) = (BIN, spin_sample());
    for (how, code) in [("ctrl-c", 0), ("TERM", 143), ("HUP", 129)] {
        let pid_file = dir.path().join(format!("pid-{how}"));
        // `exec` keeps the shell's pid, so the pid file names the TUI itself.
        let command = format!(
            "sh -c 'echo $$ > {}; exec {bin} --autorun {}'; echo \"rc-{how}=$?\"",
            pid_file.display(),
            sample.display()
        );
        tmux.keys(&["-l", &command]);
        tmux.keys(&["Enter"]);
        tmux.wait_for("the running debugger", |s| s.starts_with(" RUNNING"));
        if how == "ctrl-c" {
            tmux.keys(&["C-c"]);
        } else {
            let pid = wait_file_line(&pid_file);
            let status = Command::new("kill").arg(format!("-{how}")).arg(&pid).status().expect("kill runs");
            assert!(status.success(), "kill -{how} {pid}");
        }
        let tag = format!("rc-{how}=");
        let screen = tmux.wait_for("the exit status", |s| s.lines().any(|l| l.starts_with(&tag)));
        assert!(screen.lines().any(|l| l.trim_end() == format!("{tag}{code}")), "{how}: {screen}");
        tmux.keys(&["-l", "clear"]);
        tmux.keys(&["Enter"]);
        wait_prompt(&tmux);
        assert_terminal_sane(&tmux, dir.path(), how);
    }
}

fn wait_file_line(path: &Path) -> String {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Ok(text) = std::fs::read_to_string(path)
            && text.ends_with('\n')
        {
            return text.trim().to_string();
        }
        assert!(Instant::now() < deadline, "timed out waiting for {}", path.display());
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Closing the terminal under the debugger (the tmux server killed, as when a pane or an ssh
/// link goes away) ends the process: the tty then reads EOF forever, which once left the UI
/// thread spinning inside crossterm's reader and the process running at full CPU.
#[test]
fn a_terminal_that_goes_away_ends_the_debugger() {
    let Some((dir, tmux)) = spin_setup() else { return };
    let (bin, sample) = (BIN, spin_sample());
    let pid_file = dir.path().join("pid-hangup");
    let command = format!("sh -c 'echo $$ > {}; exec {bin} {}'", pid_file.display(), sample.display());
    tmux.keys(&["-l", &command]);
    tmux.keys(&["Enter"]);
    tmux.wait_for("the paused debugger", |s| s.starts_with(" PAUSED"));
    let pid = wait_file_line(&pid_file);
    let out = tmux.run(&["kill-server"]);
    assert!(out.status.success(), "tmux kill-server: {}", String::from_utf8_lossy(&out.stderr));
    let proc_dir = PathBuf::from(format!("/proc/{pid}"));
    let deadline = Instant::now() + PATIENCE;
    // A zombie (state Z) has exited; only its parent has yet to reap it.
    let alive = || {
        std::fs::read_to_string(proc_dir.join("stat"))
            .is_ok_and(|stat| stat.rsplit(')').next().is_some_and(|rest| !rest.trim_start().starts_with('Z')))
    };
    while alive() {
        assert!(Instant::now() < deadline, "zexus-tui (pid {pid}) still runs after its terminal went away");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// ERRORS.md in the debugger: with the break on caught errors (`B` `6`), a throw three frames
/// deep stops at the throw with those frames still on the call stack, then continues into the
/// catch.
#[test]
fn a_catch_breakpoint_stops_at_the_throw_in_tmux() {
    let Some((dir, tmux)) = spin_setup() else { return };
    let program = dir.path().join("deep_throw.zx");
    let src = "action c(n) {\n  if n > 2 {\n    throw \"deep \" + str(n)\n  }\n  return c(n + 1)\n}\n\
               action b() { return c(1) }\naction a() { return b() }\nprint(\"start\")\n\
               try {\n  a()\n} catch (e) {\n  print(\"caught\", e)\n}\nprint(\"end\")\n";
    std::fs::write(&program, src).expect("write the program");
    tmux.keys(&["-l", &format!("{BIN} {}", program.display())]);
    tmux.keys(&["Enter"]);
    tmux.wait_still("the paused debugger", |s| s.starts_with(" PAUSED"));
    tmux.keys(&["B"]);
    tmux.wait_for("the event menu", |s| s.contains("Breakpoints and VM events") && s.contains("an error is caught"));
    tmux.keys(&["6"]);
    tmux.wait_for("the break on catch", |s| s.lines().next().is_some_and(|l| l.contains("⚑ catch")));
    tmux.keys(&["Escape"]);
    tmux.wait_for("the menu closed", |s| !s.contains("Breakpoints and VM events"));
    tmux.keys(&["Space"]);
    let screen = tmux.wait_still("the stop at the throw", |s| {
        s.starts_with(" PAUSED (error caught: throw \"deep 3\" (line 3, unwinding 5 frames")
    });
    assert_eq!(status_number(&screen, "line"), Some(3), "stopped on the throw's line:\n{screen}");
    // The frames the throw unwinds are still there: a, b and three of c.
    let stack_rows = |name: &str| screen.lines().filter(|l| l.contains(&format!(" {name}  line "))).count();
    assert!(stack_rows("c") >= 3 && stack_rows("b") == 1 && stack_rows("a") == 1, "{screen}");
    assert!(screen.contains("start") && !screen.contains("caught deep 3"), "{screen}");
    tmux.keys(&["Space"]);
    tmux.wait_for("the run to finish", |s| s.contains("caught deep 3") && s.contains("end"));
    tmux.keys(&["q"]);
    wait_prompt(&tmux);
    assert_terminal_sane(&tmux, dir.path(), "catch");
}

/// Issue 15: a token transfer that fails its `require`, in a real terminal. The "require
/// failed" break (chosen in the B menu with a filter) stops at the failing require with the
/// pending write on screen; one step later the contracts pane shows the rollback.
#[test]
fn a_failed_require_stops_before_its_rollback_in_tmux() {
    let Some((dir, tmux)) = spin_setup() else { return };
    let program = dir.path().join("token.zx");
    let src = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/token.zx")).expect("sample");
    std::fs::write(&program, src).expect("write the program");
    tmux.keys(&["-l", &format!("{BIN} {}", program.display())]);
    tmux.keys(&["Enter"]);
    tmux.wait_still("the paused debugger", |s| s.starts_with(" PAUSED"));
    tmux.keys(&["B"]);
    tmux.wait_for("the event menu", |s| s.contains("Breakpoints and VM events") && s.contains("a require fails"));
    tmux.keys(&["/"]);
    tmux.keys(&["-l", "Token.transfer"]);
    tmux.wait_for("the typed filter", |s| s.contains("filter for 7-9: Token.transfer"));
    tmux.keys(&["Enter"]);
    tmux.keys(&["7"]);
    tmux.wait_for("the filtered break", |s| s.contains("only Token.transfer"));
    tmux.keys(&["Escape"]);
    // Space only once the menu is closed: an Escape followed at once by a key reads as Alt+key.
    tmux.wait_for("the menu closed", |s| !s.contains("Breakpoints and VM events"));
    tmux.keys(&["Space"]);
    let screen = tmux.wait_still("the stop at the failed require", |s| {
        s.starts_with(" PAUSED (require failed: Requirement failed: insufficient balance in Token.transfer (line 15))")
    });
    assert!(screen.contains("transfer 30: true") || screen.contains("Output"), "{screen}");
    // The contracts pane, zoomed: the write the failed call is about to lose, pending.
    tmux.keys(&["8"]);
    tmux.keys(&["z"]);
    let screen = tmux.wait_still("the pending write", |s| s.contains("Open transactions (1)"));
    assert!(
        screen.contains(r#"Token#1.balances: {"alice": 70, "bob": 30} → {"alice": 70, "bob": -470, "carol": 500}"#),
        "{screen}"
    );
    tmux.keys(&["i"]);
    let screen = tmux.wait_still("the rollback after one step", |s| {
        s.contains("Open transactions (0)") && s.contains("Last rollback discarded")
    });
    assert!(screen.contains(r#"* balances = {"alice": 70, "bob": 30}"#), "storage is back:\n{screen}");
    assert!(screen.contains("✗ Token.transfer (190 gas, 30 instructions)"), "{screen}");
    assert!(
        screen.contains(r#"✗ Token#1.balances: {"alice": 70, "bob": 30} → {"alice": 70, "bob": -470, "carol": 500}"#),
        "{screen}"
    );
    tmux.keys(&["Space"]);
    tmux.wait_for("the run to finish", |s| s.starts_with(" FINISHED") || s.contains("finished"));
    tmux.keys(&["q"]);
    wait_prompt(&tmux);
    assert_terminal_sane(&tmux, dir.path(), "token");
}

/// A copy of samples/modules.zx and its two modules in `dir`.
fn copy_modules_sample(dir: &Path) {
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    std::fs::create_dir_all(dir.join("modules")).expect("mkdir");
    for name in ["modules.zx", "modules/shapes.zx", "modules/stats.zx"] {
        std::fs::copy(samples.join(name), dir.join(name)).expect("copy the sample");
    }
}

/// Issue 16: the debugger on a multi-file program. Steps from the main file into a module's
/// function (the source pane switches to the module and names it) and back out; sets a
/// breakpoint in the module through the file list, which a restart keeps and a run stops at;
/// a syntax error in the module is shown in the module with the import chain, on restart (in
/// the status line) and on start (as `run` prints it).
#[test]
fn multi_file_program_in_tmux() {
    if tmux_missing() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    copy_modules_sample(dir.path());
    let tmux = start_shell(dir.path());
    tmux.keys(&["-l", &format!("{BIN} modules.zx")]);
    tmux.keys(&["Enter"]);
    tmux.wait_still("the paused debugger on the main file", |s| {
        s.starts_with(" PAUSED") && s.contains("Source modules.zx ") && status_number(s, "pc").is_some()
    });

    // Run to line 9 (`total = total + area(sides[i])`), then step instructions into `area`.
    tmux.keys(&["g"]);
    for _ in 0..8 {
        tmux.keys(&["j"]);
    }
    tmux.keys(&["u"]);
    let mut screen = tmux.wait_for("run to line 9", |s| s.starts_with(" PAUSED (reached modules.zx:9)"));
    for _ in 0..20 {
        if screen.lines().next().is_some_and(|l| l.contains("area@modules/shapes.zx")) {
            break;
        }
        let before = (status_number(&screen, "pc"), screen.lines().next().map(str::to_owned));
        tmux.keys(&["i"]);
        screen = tmux.wait_still("one more instruction", |s| {
            s.starts_with(" PAUSED (step)") && (status_number(s, "pc"), s.lines().next().map(str::to_owned)) != before
        });
    }
    assert!(screen.lines().next().is_some_and(|l| l.contains("area@modules/shapes.zx line 3 pc 0")), "{screen}");
    assert!(screen.contains("Source modules/shapes.zx"), "the source pane shows the module: {screen}");
    assert!(screen.contains("#1 area@modules/shapes.zx:3"), "the call stack names the file: {screen}");

    // `o`: back out to the main file.
    tmux.keys(&["o"]);
    let screen = tmux.wait_still("back in the main file", |s| s.starts_with(" PAUSED (step out)"));
    assert!(screen.lines().next().is_some_and(|l| l.contains("<main> line 9")), "{screen}");
    assert!(screen.contains("Source modules.zx "), "the source pane shows the main file again: {screen}");

    // `F`: the file list; the module, then a breakpoint on its line 3.
    tmux.keys(&["F"]);
    tmux.wait_for("the file list", |s| s.contains("Files (3)") && s.contains("modules/stats.zx (module)"));
    tmux.keys(&["j"]);
    tmux.keys(&["Enter"]);
    tmux.wait_for("the module in the source pane", |s| {
        s.contains("Source modules/shapes.zx") && !s.contains("Files (3)")
    });
    tmux.keys(&["g"]);
    tmux.keys(&["j"]);
    tmux.keys(&["j"]);
    tmux.keys(&["b"]);
    tmux.wait_for("the breakpoint marker in the module", |s| {
        s.lines().any(|l| l.contains("●") && l.contains("  3 │   let a = side * side"))
    });
    // A restart keeps it (by path); running stops there.
    tmux.keys(&["r"]);
    tmux.wait_still("restarted", |s| s.starts_with(" PAUSED (restarted)"));
    tmux.keys(&["c"]);
    let screen = tmux
        .wait_still("the breakpoint in the module", |s| s.starts_with(" PAUSED (breakpoint at modules/shapes.zx:3)"));
    assert!(screen.contains("Source modules/shapes.zx"), "{screen}");

    // A syntax error in the module: a restart says where and keeps the loaded program.
    let shapes = dir.path().join("modules/shapes.zx");
    let text = std::fs::read_to_string(&shapes).expect("read");
    std::fs::write(&shapes, text.replace("side * side", "side * (side")).expect("write");
    tmux.keys(&["r"]);
    tmux.wait_for("the restart error", |s| {
        s.lines().next().is_some_and(|l| l.contains("restart: modules/shapes.zx:3:23: syntax error"))
    });
    tmux.keys(&["q"]);
    wait_prompt(&tmux);
    // On start, the debugger opens on it anyway, with the diagnostics as `run` prints them
    // (in the module, with the import chain) in the output pane.
    tmux.keys(&["-l", "clear"]);
    tmux.keys(&["Enter"]);
    tmux.keys(&["-l", &format!("{BIN} modules.zx; echo \"exit=$?\"")]);
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_still("the error report", |s| s.starts_with(" FAILED (does not compile"));
    assert!(screen.contains(" --> modules/shapes.zx:3:23"), "{screen}");
    assert!(screen.contains("3 |   let a = side * (side"), "{screen}");
    assert!(screen.contains("= note: modules/shapes.zx is imported"), "{screen}");
    tmux.keys(&["q"]);
    tmux.wait_for("the exit", |s| s.contains("exit=0"));
    assert_terminal_sane(&tmux, dir.path(), "multi-file");
}

/// Issue 17: a conditional breakpoint typed at the `:` prompt stops a 500-deep recursion at
/// its base case with one `c`.
#[test]
fn a_conditional_breakpoint_stops_a_500_deep_recursion_in_one_c_in_tmux() {
    let Some((dir, tmux)) = spin_setup() else { return };
    let program = dir.path().join("down.zx");
    let src = "action down(n) {\n  if n == 0 {\n    return 0\n  }\n  return down(n - 1) + 1\n}\nprint(\"depth\", down(500))\n";
    std::fs::write(&program, src).expect("write the program");
    tmux.keys(&["-l", &format!("{BIN} {}", program.display())]);
    tmux.keys(&["Enter"]);
    tmux.wait_still("the paused debugger", |s| s.starts_with(" PAUSED"));
    tmux.keys(&[":"]);
    tmux.wait_for("the breakpoint prompt", |s| s.contains("[FILE:]LINE [ignore N] [if COND]"));
    tmux.keys(&["-l", "2 if n == 0"]);
    tmux.keys(&["Enter"]);
    tmux.wait_for("the breakpoint set", |s| s.contains("breakpoint at line 2 if n == 0"));
    tmux.keys(&["c"]);
    let screen =
        tmux.wait_still("the stop at the base case", |s| s.starts_with(" PAUSED (breakpoint at line 2 (n == 0))"));
    assert_eq!(status_number(&screen, "line"), Some(2), "{screen}");
    assert!(screen.contains("Call stack (502)"), "{screen}");
    assert!(!screen.contains("depth 500"), "{screen}");
    tmux.keys(&["c"]);
    tmux.wait_for("the run to finish", |s| s.contains("depth 500"));
    tmux.keys(&["q"]);
    wait_prompt(&tmux);
    assert_terminal_sane(&tmux, dir.path(), "conditional");
}

/// Issue 17: a watchpoint on `STATE["alice"]`, typed at the `:` prompt, stops in the transfer
/// that changes it, with old → new.
#[test]
fn a_watchpoint_on_state_stops_at_the_transfer_that_changes_it_in_tmux() {
    let Some((dir, tmux)) = spin_setup() else { return };
    let program = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/bank.zx");
    tmux.keys(&["-l", &format!("{BIN} {}", program.display())]);
    tmux.keys(&["Enter"]);
    tmux.wait_still("the paused debugger", |s| s.starts_with(" PAUSED"));
    tmux.keys(&[":"]);
    tmux.wait_for("the breakpoint prompt", |s| s.contains("watch NAME|STATE"));
    tmux.keys(&["-l", "watch STATE[\"alice\"]"]);
    tmux.keys(&["Enter"]);
    tmux.wait_for("the watchpoint set", |s| s.contains("watching STATE[\"alice\"]"));
    tmux.keys(&["c"]);
    tmux.wait_still("the first write", |s| {
        s.starts_with(" PAUSED (watchpoint STATE[\"alice\"]: (unset) → 100 (line 13))")
    });
    tmux.keys(&["c"]);
    let screen = tmux.wait_still("the stop in transfer", |s| {
        s.starts_with(" PAUSED (watchpoint STATE[\"alice\"]: 100 → 70 (line 4))")
    });
    // Stopped after the write (as gdb does), in transfer, the frame that wrote it.
    assert_eq!(status_number(&screen, "line"), Some(5), "{screen}");
    assert!(screen.contains("▶ #1 transfer  line 5") && screen.contains("amount = 30"), "{screen}");
    tmux.keys(&["q"]);
    wait_prompt(&tmux);
    assert_terminal_sane(&tmux, dir.path(), "watch");
}

/// The number before ` instr` in the flame view's title (`Flame graph 153,240 instr`).
fn flame_total(screen: &str) -> Option<u64> {
    let line = screen.lines().find(|l| l.contains("Flame graph "))?;
    let after = &line[line.find("Flame graph ")? + "Flame graph ".len()..];
    let digits: String = after.chars().take_while(|c| c.is_ascii_digit() || *c == ',').filter(|c| *c != ',').collect();
    digits.parse().ok()
}

/// Rows of the flame graph whose bar is a `fib` frame.
fn fib_bars(screen: &str) -> usize {
    // A bar of one or two columns shows only the start of the name.
    let is_fib = |t: &str| t.starts_with("fib") || "fib".starts_with(t);
    screen.lines().filter(|l| l.trim_start_matches('┃').split_whitespace().next().is_some_and(is_fib)).count()
}

/// The calls column of the function table's `fib` row.
fn table_calls(screen: &str, name: &str) -> Option<u64> {
    let row =
        screen.lines().find(|l| l.trim_end().trim_end_matches('┃').trim_end().ends_with(&format!("   {name}")))?;
    row.trim_start_matches('┃').split_whitespace().next()?.replace(',', "").parse().ok()
}

#[test]
fn the_flame_graph_grows_live_on_fib_in_tmux() {
    let Some((_dir, tmux)) = spin_setup() else { return };
    let fib = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/fib.zx");
    tmux.keys(&["-l", &format!("{BIN} {}", fib.display())]);
    tmux.keys(&["Enter"]);
    tmux.wait_still("the paused debugger", |s| s.starts_with(" PAUSED"));

    // Stop where fib(10) is first entered: `:` `3 if n == 10`, then `c`.
    tmux.keys(&[":"]);
    tmux.keys(&["-l", "3 if n == 10"]);
    tmux.keys(&["Enter"]);
    tmux.keys(&["c"]);
    tmux.wait_for("the conditional stop", |s| s.starts_with(" PAUSED") && status_number(s, "line") == Some(3));

    // `P`: fib(20) down to fib(10) is one stack eleven fib frames deep.
    tmux.keys(&["P"]);
    let first = tmux.wait_still("the flame graph", |s| s.contains("Flame graph") && fib_bars(s) == 11);
    let total0 = flame_total(&first).expect("the run's instructions in the title");
    assert!(first.contains("interpreted") && first.contains("native (JIT)"), "the legend:\n{first}");
    // `v`: the function table; fib has been entered 11 times.
    tmux.keys(&["v"]);
    let table = tmux.wait_still("the function table", |s| s.contains("Functions") && table_calls(s, "fib").is_some());
    assert_eq!(table_calls(&table, "fib"), Some(11), "{table}");

    // `c` from inside the view: the next stop at n == 10 comes after fib(10) has made its 176
    // calls, fib(11) has called fib(9) (109 calls) and fib(12) calls fib(10) again: the table
    // and the graph grow.
    tmux.keys(&["c"]);
    let table = tmux.wait_still("more fib calls", |s| table_calls(s, "fib").is_some_and(|n| n > 11));
    let calls = table_calls(&table, "fib").unwrap_or(0);
    assert_eq!(calls, 11 + 176 + 109 + 1, "{table}");
    tmux.keys(&["v"]);
    let graph = tmux.wait_still("the graph again", |s| s.contains("Flame graph") && fib_bars(s) >= 11);
    assert!(flame_total(&graph).is_some_and(|t| t > total0), "the run grew:\n{graph}");

    // While it runs: samples/fib.zx again from the start, slowed to 10,000 instructions/s so
    // fib(20) takes a quarter of a minute, and the flame graph redrawn as it goes.
    tmux.keys(&["q"]);
    wait_prompt(&tmux);
    tmux.keys(&["-l", &format!("{BIN} {}", fib.display())]);
    tmux.keys(&["Enter"]);
    tmux.wait_still("the paused debugger", |s| s.starts_with(" PAUSED"));
    for _ in 0..4 {
        tmux.keys(&["<"]);
    }
    tmux.wait_for("the chosen speed", |s| s.contains("speed: 10,000 instructions/s"));
    tmux.keys(&["P"]);
    tmux.wait_for("the empty flame view", |s| s.contains("Flame graph"));
    tmux.keys(&["Space"]);
    let running = tmux.wait_for("a running flame graph", |s| {
        s.starts_with(" RUNNING") && fib_bars(s) >= 5 && flame_total(s).is_some_and(|t| t > 0)
    });
    let before = flame_total(&running).unwrap_or(0);
    let later = tmux.wait_for("the graph to grow while running", |s| {
        s.starts_with(" RUNNING") && flame_total(s).is_some_and(|t| t > before + 1_000)
    });
    assert!(fib_bars(&later) >= fib_bars(&running), "fib's frames stay drawn as they grow:\n{later}");
    // The function table, live: fib's calls grow between two looks.
    tmux.keys(&["v"]);
    let table = tmux.wait_for("the live table", |s| s.starts_with(" RUNNING") && table_calls(s, "fib").is_some());
    let calls = table_calls(&table, "fib").unwrap_or(0);
    tmux.wait_for("more calls while running", |s| {
        s.starts_with(" RUNNING") && table_calls(s, "fib").is_some_and(|n| n > calls)
    });
    tmux.keys(&["Space"]);
    tmux.wait_for("paused", |s| s.starts_with(" PAUSED"));
    tmux.keys(&["q"]);
    wait_prompt(&tmux);
}

/// Issue 17: a program with a syntax error opens in the debugger with the error in place
/// (`run` would only print it); fixed in the file, `r` rebuilds it and `c` runs it.
#[test]
fn a_syntax_error_opens_the_debugger_and_r_after_the_fix_runs_it_in_tmux() {
    let Some((dir, tmux)) = spin_setup() else { return };
    let program = dir.path().join("broken.zx");
    std::fs::write(&program, "let x = 20;\nlet y = (x + ;\nprint(\"sum\", x + y);\n").expect("write the program");
    tmux.keys(&["-l", &format!("{BIN} {}", program.display())]);
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_still("the debugger on the broken program", |s| s.starts_with(" FAILED (does not compile"));
    assert!(screen.contains("✗ line 2:14: syntax error"), "the error in place:\n{screen}");
    assert!(screen.contains("let y = (x + ;"), "{screen}");
    tmux.keys(&["c"]);
    tmux.wait_for("the refusal to run", |s| s.contains("the program does not compile: fix it, then r restarts"));
    std::fs::write(&program, "let x = 20;\nlet y = (x + 22);\nprint(\"sum\", x + y);\n").expect("fix the program");
    tmux.keys(&["r"]);
    tmux.wait_for("the rebuilt program", |s| s.starts_with(" PAUSED") && s.contains("the program compiles now"));
    tmux.keys(&["c"]);
    tmux.wait_for("its output", |s| s.contains("sum 62"));
    tmux.keys(&["q"]);
    wait_prompt(&tmux);
    assert_terminal_sane(&tmux, dir.path(), "broken");
}

/// Issue 17: the built-in demo opens with its JIT-compile and rollback breaks armed and says
/// what to press; a run watched at 100 instructions/s moves at about that speed, and back at
/// full speed it stops where the JIT compiles the loop.
#[test]
fn the_demo_is_watched_at_a_chosen_speed_in_tmux() {
    let Some((dir, tmux)) = spin_setup() else { return };
    tmux.keys(&["-l", BIN]);
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_still("the demo", |s| s.starts_with(" PAUSED (start)"));
    assert!(screen.contains("space runs and stops at the JIT compile"), "{screen}");
    for _ in 0..6 {
        tmux.keys(&["<"]);
    }
    tmux.wait_for("the chosen speed", |s| s.contains("speed: 100 instructions/s"));
    tmux.keys(&["Space"]);
    let first = tmux.wait_for("the slow run", |s| s.starts_with(" RUNNING") && status_position(s).is_some());
    let t0 = std::time::Instant::now();
    std::thread::sleep(std::time::Duration::from_millis(2000));
    let second = tmux.screen();
    let seconds = t0.elapsed().as_secs_f64();
    let ran = status_position(&second).map_or(0, |p| p.0).saturating_sub(status_position(&first).map_or(0, |p| p.0));
    let rate = ran as f64 / seconds;
    assert!(second.starts_with(" RUNNING") && (40.0..300.0).contains(&rate), "{rate:.0} instr/s:\n{second}");
    assert!(second.contains("100 instructions/s │"), "{second}");
    for _ in 0..6 {
        tmux.keys(&[">"]);
    }
    let stop = tmux.wait_still("the JIT stop", |s| s.starts_with(" PAUSED (JIT compiled loop at line"));
    assert!(!stop.contains("instructions/s │"), "full speed again:\n{stop}");
    tmux.keys(&["q"]);
    wait_prompt(&tmux);
    assert_terminal_sane(&tmux, dir.path(), "demo-speed");
}

/// The instruction count in the status line: `N instr` or, after travelling back, `K / N instr`
/// (returns K and N; N is K when the debugger is at the end of the run).
fn status_position(screen: &str) -> Option<(u64, u64)> {
    let status = screen.lines().next()?;
    // The last one: a selected row's own count (`line 7: 1 instr`) may come first.
    let before = &status[..status.rfind(" instr")?];
    let field = before.rsplit('│').next()?.trim();
    let number = |s: &str| s.trim().replace(',', "").parse::<u64>().ok();
    match field.split_once('/') {
        Some((k, n)) => Some((number(k)?, number(n)?)),
        None => number(field).map(|n| (n, n)),
    }
}

/// The screen without what changes from one run to the next at the same state: the status
/// line after the gas figure (the speed), the speed/timeline pane's rows in the right column
/// (its sparkline and position), and the source pane's scroll offset (which depends on where
/// the pane scrolled from; its current line is kept, as the row that has the `✗` or `▶`).
fn steady_part(screen: &str) -> Vec<String> {
    let lines: Vec<&str> = screen.lines().collect();
    let timeline_top = lines.iter().position(|l| l.contains("Timeline")).unwrap_or(lines.len());
    let source_end = lines.iter().position(|l| l.starts_with('┗')).unwrap_or(0);
    let mut steady: Vec<String> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            if i == 0 {
                return l.split(" │ gas").next().unwrap_or(l).to_string();
            }
            if i >= timeline_top && i + 1 < lines.len() {
                return l.chars().take(66).collect();
            }
            if i < source_end {
                return l.chars().skip(68).collect();
            }
            l.to_string()
        })
        .collect();
    let current = lines[..source_end].iter().find(|l| l.starts_with("┃ ✗") || l.starts_with("┃ ▶"));
    steady.push(current.map(|l| l.chars().take(68).collect()).unwrap_or_default());
    steady
}

/// Issue 17 must-show: on a program that fails after 41,000 instructions, run to the error,
/// go back 1,000 instructions (`:back 1000`) and one more (`p`), check the state there (the
/// output printed once, the position in the status bar), then forward again to the error: the
/// screen shows the same state as the first time.
#[test]
fn reverse_1000_instructions_from_a_runtime_error_and_forward_again_in_tmux() {
    let Some((dir, tmux)) = spin_setup() else { return };
    let program = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/ledger_error.zx");
    tmux.keys(&["-l", &format!("{BIN} {}", program.display())]);
    tmux.keys(&["Enter"]);
    tmux.wait_still("the paused debugger", |s| s.starts_with(" PAUSED"));
    tmux.keys(&["c"]);
    let failed = tmux.wait_still("the runtime error", |s| s.starts_with(" FAILED") && s.contains("division by zero"));
    let (end, total) = status_position(&failed).expect("a position in the status line");
    assert_eq!(end, total, "{failed}");
    assert!(end > 40_000, "{failed}");
    assert!(failed.contains("sum 24995000") && failed.contains("share 8331666.666666667"), "{failed}");
    tmux.keys(&[":"]);
    tmux.wait_for("the prompt", |s| s.contains("back N · at K"));
    tmux.keys(&["-l", "back 1000"]);
    tmux.keys(&["Enter"]);
    let back = tmux.wait_still("1,000 instructions back", |s| s.starts_with(" PAUSED (time travel)"));
    assert_eq!(status_position(&back), Some((end - 1000, end)), "{back}");
    // The output is as it was then: printed once, and not yet the sum.
    assert_eq!(back.matches("transfers 33 alice 5 bob 495").count(), 1, "{back}");
    assert!(!back.contains("sum 24995000") && !back.contains("division by zero"), "{back}");
    tmux.keys(&["p"]);
    let one_more = tmux.wait_still("one more instruction back", |s| s.starts_with(" PAUSED (reverse step)"));
    assert_eq!(status_position(&one_more), Some((end - 1001, end)), "{one_more}");
    // Forward again to the error: the same state on screen.
    tmux.keys(&["c"]);
    let again =
        tmux.wait_still("the runtime error again", |s| s.starts_with(" FAILED") && s.contains("division by zero"));
    assert_eq!(status_position(&again), Some((end, end)), "{again}");
    let (first, second) = (steady_part(&failed), steady_part(&again));
    let differing: Vec<String> =
        first.iter().zip(&second).filter(|(a, b)| a != b).map(|(a, b)| format!("{a}\n{b}")).collect();
    assert!(differing.is_empty(), "the screens differ:\n{}", differing.join("\n\n"));
    tmux.keys(&["q"]);
    wait_prompt(&tmux);
    assert_terminal_sane(&tmux, dir.path(), "time-travel");
}
