//! Reliability (issue 13): committed STATE is never lost, no input is read without bound, the
//! terminal and the user's files are never left worse off. Each test runs the binary as a user
//! does and is named after the defect it covers (H1, H2, M1, ...).

mod common;

use std::path::Path;
use std::time::Duration;

use common::{Outcome, run_bin};

const LIMIT: Duration = Duration::from_secs(30);

/// Writes `files` (name, text) into a fresh directory.
fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).expect("write file");
    }
    dir
}

fn run_in(dir: &Path, args: &[&str]) -> Outcome {
    run_bin(args, dir, LIMIT)
}

/// Runs a shell command line (for `ulimit`) with the same capture as `run_bin`.
fn run_bin_sh(command: &str, cwd: &Path, timeout: Duration) -> Outcome {
    let child = std::process::Command::new("sh")
        .args(["-c", command])
        .current_dir(cwd)
        .stdin(std::process::Stdio::null())
        .output();
    let _ = timeout; // The commands given here bound themselves (ulimit).
    let out = child.expect("sh runs");
    Outcome {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code(),
        timed_out: false,
    }
}

fn assert_no_panic(out: &Outcome) {
    assert!(!out.timed_out, "timed out: {out:?}");
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
}

/// A program that stores a list nested `levels` deep under STATE["d"] after STATE["keep"].
fn nested_state_program(levels: usize) -> String {
    format!(
        "let x = []\nlet i = 1\nwhile (i < {levels}) {{ x = [x]; i = i + 1; }}\nSTATE[\"keep\"] = 1\nSTATE[\"d\"] = x\n"
    )
}

#[test]
fn h1_a_state_value_too_deep_to_reload_is_refused_at_the_write() {
    let dir = dir_with(&[("d.zx", &nested_state_program(127)), ("keep.zx", "print(STATE[\"keep\"])\n")]);
    let first = run_in(dir.path(), &["run", "--state", "s.json", "d.zx"]);
    assert_no_panic(&first);
    assert_eq!(first.code, Some(1), "a STATE value nested 127 levels must be refused: {first:?}");
    assert!(first.stderr.contains("nested too deeply"), "{}", first.stderr);
    assert!(first.stderr.contains("d.zx:5:"), "located at the write: {}", first.stderr);
    // Nothing unreadable was saved: the next run loads the file (or starts empty).
    let second = run_in(dir.path(), &["run", "--state", "s.json", "keep.zx"]);
    assert_eq!(second.code, Some(0), "{second:?}");
}

#[test]
fn h1_a_state_value_at_the_limit_saves_and_loads_again() {
    // 100 levels of lists: the documented limit (chain::MAX_STATE_DEPTH).
    let dir = dir_with(&[
        ("d.zx", &nested_state_program(100)),
        (
            "read.zx",
            "let d = STATE[\"d\"]\nlet n = 0\nwhile (len(d) > 0) { n = n + 1; d = d[0]; }\nprint(n + 1)\nprint(STATE[\"keep\"])\n",
        ),
    ]);
    let first = run_in(dir.path(), &["run", "--state", "s.json", "d.zx"]);
    assert_eq!(first.code, Some(0), "{first:?}");
    let second = run_in(dir.path(), &["run", "--state", "s.json", "read.zx"]);
    assert_eq!(second.code, Some(0), "{second:?}");
    assert_eq!(second.stdout, "100\n1\n");
}

#[test]
fn h1_a_state_file_nested_past_the_limit_is_a_clear_error() {
    let deep = format!("{{\"d\": {}1{}}}\n", "[".repeat(101), "]".repeat(101));
    let dir = dir_with(&[("s.json", &deep), ("p.zx", "print(1)\n")]);
    let out = run_in(dir.path(), &["run", "--state", "s.json", "p.zx"]);
    assert_no_panic(&out);
    assert_eq!(out.code, Some(1));
    assert!(out.stderr.contains("nested more than 100 levels"), "{}", out.stderr);
}

#[test]
fn l7_a_deep_acyclic_value_is_not_called_cyclic() {
    let src = "let x = []\nlet i = 0\nwhile (i < 2100) { x = [x]; i = i + 1; }\nprint(HASH(x))\n";
    let dir = dir_with(&[("p.zx", src)]);
    let out = run_in(dir.path(), &["run", "p.zx"]);
    assert_no_panic(&out);
    assert_eq!(out.code, Some(1));
    assert!(out.stderr.contains("nested too deeply"), "{}", out.stderr);
    assert!(!out.stderr.contains("cyclic"), "{}", out.stderr);
}

fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo").arg(path).status().expect("mkfifo runs");
    assert!(status.success(), "mkfifo {}", path.display());
}

#[test]
fn h2_a_device_as_the_program_is_refused_before_reading() {
    let dir = dir_with(&[]);
    for args in
        [&["run", "/dev/zero"][..], &["dis", "/dev/urandom"], &["stats", "/dev/zero"], &["profile", "/dev/zero"]]
    {
        let out = run_bin(args, dir.path(), Duration::from_secs(10));
        assert_no_panic(&out);
        assert_eq!(out.code, Some(1), "{args:?}: {out:?}");
        assert!(out.stderr.contains("is a character device, not a regular file"), "{args:?}: {}", out.stderr);
    }
}

#[test]
fn h2_a_device_as_the_theme_is_refused() {
    let dir = dir_with(&[("p.zx", "print(1)\n")]);
    let out = run_bin(&["--theme", "/dev/zero", "p.zx"], dir.path(), Duration::from_secs(10));
    assert_no_panic(&out);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.contains("not a regular file"), "{}", out.stderr);
}

#[test]
fn h2_a_program_over_the_size_limit_is_refused_by_its_size() {
    let dir = dir_with(&[]);
    // A sparse file: 65 MiB of zero bytes that cost no disk space (the limit is 64 MiB).
    let big = std::fs::File::create(dir.path().join("big.zx")).expect("create");
    big.set_len(65 << 20).expect("set_len");
    let out = run_in(dir.path(), &["run", "big.zx"]);
    assert_no_panic(&out);
    assert_eq!(out.code, Some(1));
    assert!(out.stderr.contains("larger than the limit of 67108864 bytes (64 MiB)"), "{}", out.stderr);
}

#[test]
fn h2_a_state_file_over_the_size_limit_is_refused_by_its_size() {
    let dir = dir_with(&[("p.zx", "print(1)\n")]);
    let big = std::fs::File::create(dir.path().join("s.json")).expect("create");
    big.set_len(257 << 20).expect("set_len");
    let out = run_in(dir.path(), &["run", "--state", "s.json", "p.zx"]);
    assert_no_panic(&out);
    assert_eq!(out.code, Some(1));
    assert!(out.stderr.contains("larger than the limit"), "{}", out.stderr);
}

#[test]
fn m6_a_fifo_as_the_program_or_the_state_file_does_not_block() {
    let dir = dir_with(&[("p.zx", "print(1)\n")]);
    mkfifo(&dir.path().join("f.zx"));
    mkfifo(&dir.path().join("s.json"));
    for args in [&["run", "f.zx"][..], &["run", "--state", "s.json", "p.zx"]] {
        let out = run_bin(args, dir.path(), Duration::from_secs(10));
        assert!(!out.timed_out, "{args:?} blocked on a FIFO");
        assert_eq!(out.code, Some(1), "{args:?}: {out:?}");
        assert!(out.stderr.contains("is a FIFO, not a regular file"), "{args:?}: {}", out.stderr);
    }
}

/// Runs `p.zx` once with a cache directory and returns the entry files it wrote.
fn cache_entries(dir: &Path) -> Vec<std::path::PathBuf> {
    let out = run_in(dir, &["run", "--cache-dir", "cache", "p.zx"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let mut entries: Vec<_> = std::fs::read_dir(dir.join("cache"))
        .expect("cache dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "zxc"))
        .collect();
    entries.sort();
    assert!(!entries.is_empty(), "the first run writes cache entries");
    entries
}

const CACHE_PROGRAM: &str = "action f(n) { return n * 2 }\nprint(f(21))\n";

#[test]
fn m6_a_fifo_as_a_cache_entry_is_a_miss_not_a_hang() {
    let dir = dir_with(&[("p.zx", CACHE_PROGRAM)]);
    for entry in cache_entries(dir.path()) {
        std::fs::remove_file(&entry).expect("remove");
        mkfifo(&entry);
    }
    let out = run_bin(&["run", "--cache-dir", "cache", "p.zx"], dir.path(), Duration::from_secs(10));
    assert!(!out.timed_out, "a FIFO cache entry blocked the run");
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(out.stdout, "42\n");
}

#[test]
fn m7_a_huge_or_device_cache_entry_is_refused_before_reading() {
    let dir = dir_with(&[("p.zx", CACHE_PROGRAM)]);
    let entries = cache_entries(dir.path());
    for (i, entry) in entries.iter().enumerate() {
        std::fs::remove_file(entry).expect("remove");
        if i % 2 == 0 {
            std::os::unix::fs::symlink("/dev/zero", entry).expect("symlink");
        } else {
            std::fs::File::create(entry).expect("create").set_len(800 << 20).expect("sparse");
        }
    }
    // Under a 3 GB address-space limit the run cannot take the machine down; python's
    // RUSAGE_CHILDREN reports its peak memory, which must stay far below the 800 MB entry.
    let command = format!(
        "ulimit -v 3000000; python3 -c 'import resource,subprocess,sys; subprocess.run(sys.argv[1:]); \
         print(\"maxrss_kb\", resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)' \
         {} stats --json --cache-dir cache p.zx",
        common::bin().display()
    );
    let mut out = run_bin_sh(&command, dir.path(), Duration::from_secs(20));
    let (rest, rss) = out.stderr.rsplit_once("maxrss_kb ").expect("python reports the peak memory");
    let rss_kb: u64 = rss.trim().parse().expect("a number");
    out.stderr = rest.to_string();
    assert!(rss_kb < 200_000, "peak memory {rss_kb} KB: the cache entries were read before their checks");
    assert!(!out.timed_out, "a device cache entry was read");
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(out.stderr, "42\n", "the program output goes to stderr with --json");
    assert!(out.stdout.contains(&format!("\"disk_errors\": {}", entries.len())), "{}", out.stdout);
    assert!(out.stdout.contains("\"disk_hits\": 0"), "{}", out.stdout);
}

#[test]
fn l8_a_byte_order_mark_at_the_start_is_skipped() {
    let dir = dir_with(&[("p.zx", "\u{feff}print(1)\n")]);
    let out = run_in(dir.path(), &["run", "p.zx"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(out.stdout, "1\n");
}

/// A detached 120x40 tmux session running an interactive bash (job control on) with the
/// prompt `READY$ `, for the job-control tests.
struct Tmux {
    socket: std::path::PathBuf,
}

impl Tmux {
    fn start(dir: &Path) -> Option<Tmux> {
        if std::process::Command::new("tmux").arg("-V").output().is_err() {
            assert!(std::env::var_os("CI").is_none(), "tmux is required in CI");
            eprintln!("skipping: tmux is not installed");
            return None;
        }
        let tmux = Tmux { socket: dir.join("tmux.sock") };
        let cwd = dir.to_string_lossy().into_owned();
        let shell = "env PS1='READY$ ' bash --norc --noprofile -i";
        let out = tmux.run(&["new-session", "-d", "-s", "zx", "-x", "120", "-y", "40", "-c", &cwd, shell]);
        assert!(out.status.success(), "tmux new-session: {}", String::from_utf8_lossy(&out.stderr));
        tmux.wait_for("the shell prompt", |s| s.contains("READY$"));
        Some(tmux)
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        std::process::Command::new("tmux").arg("-S").arg(&self.socket).args(args).output().expect("tmux runs")
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "zx"];
        args.extend_from_slice(keys);
        assert!(self.run(&args).status.success());
    }

    fn line(&self, text: &str) {
        self.keys(&["-l", text]);
        self.keys(&["Enter"]);
    }

    fn wait_for(&self, what: &str, mut pred: impl FnMut(&str) -> bool) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(90);
        loop {
            let screen = String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-t", "zx"]).stdout).into_owned();
            if pred(&screen) {
                return screen;
            }
            assert!(std::time::Instant::now() < deadline, "timed out waiting for {what}; screen:\n{screen}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The pid of the shell's foreground child (the TUI).
    fn child_pid(&self) -> u32 {
        let out = self.run(&["list-panes", "-t", "zx", "-F", "#{pane_pid}"]);
        let shell: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().expect("pane pid");
        let children = std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children")).expect("children");
        children.split_whitespace().next().expect("a child").parse().expect("pid")
    }

    /// Runs `stty -a` in the shell and checks cooked mode with echo, and no mouse reporting
    /// left on (the screen shows no escape garbage after a click-free wait).
    fn assert_sane(&self, dir: &Path, tag: &str) {
        let stty = dir.join(format!("stty-{tag}.txt"));
        self.line(&format!("stty -a > {0} && echo done >> {0}", stty.display()));
        let deadline = std::time::Instant::now() + Duration::from_secs(90);
        let modes = loop {
            if let Ok(text) = std::fs::read_to_string(&stty)
                && text.contains("done")
            {
                break text;
            }
            assert!(std::time::Instant::now() < deadline, "stty did not run ({tag})");
            std::thread::sleep(Duration::from_millis(100));
        };
        let words: Vec<&str> = modes.split_whitespace().collect();
        for mode in ["icanon", "echo", "isig"] {
            assert!(words.contains(&mode), "{tag}: stty lacks {mode}:\n{modes}");
        }
        let mouse = self.run(&["display", "-p", "-t", "zx", "#{mouse_any_flag}#{alternate_on}"]);
        assert_eq!(
            String::from_utf8_lossy(&mouse.stdout).trim(),
            "00",
            "{tag}: mouse reporting or alternate screen left on"
        );
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

/// The pc in the TUI's status line.
fn status_pc(screen: &str) -> Option<u64> {
    let status = screen.lines().next()?;
    let at = status.find(" pc ")? + 4;
    status[at..].chars().take_while(|c| c.is_ascii_digit()).collect::<String>().parse().ok()
}

fn tui_is_up(screen: &str) -> bool {
    screen.contains("Hot loops") && screen.starts_with(" PAUSED")
}

#[test]
fn h3_ctrl_z_and_sigtstp_suspend_and_fg_resumes_the_tui() {
    let dir = tempfile::tempdir().expect("temp dir");
    let Some(tmux) = Tmux::start(dir.path()) else { return };
    let spin = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/spin.zx");
    tmux.line(&format!("{} {}", env!("CARGO_BIN_EXE_zexus-tui"), spin.display()));
    tmux.wait_for("the debugger", tui_is_up);
    for how in ["ctrl-z", "sigtstp"] {
        if how == "ctrl-z" {
            tmux.keys(&["C-z"]);
        } else {
            let pid = tmux.child_pid();
            let status = std::process::Command::new("kill").args(["-TSTP", &pid.to_string()]).status().expect("kill");
            assert!(status.success());
        }
        tmux.wait_for("the shell after suspending", |s| s.contains("Stopped") && !s.contains("Hot loops"));
        tmux.assert_sane(dir.path(), how);
        tmux.line("fg");
        let screen = tmux.wait_for("the debugger again after fg", |s| tui_is_up(s) && status_pc(s).is_some());
        let pc = status_pc(&screen).expect("pc");
        // Raw mode is back: one key acts at once, without Enter (`i`: one instruction).
        tmux.keys(&["i"]);
        tmux.wait_for("a step after fg", |s| status_pc(s) == Some(pc + 1));
        let _ = std::fs::remove_file(dir.path().join(format!("stty-{how}.txt")));
    }
    tmux.keys(&["q"]);
    tmux.wait_for("the prompt after q", |s| !s.contains("Hot loops") && s.trim_end().ends_with("READY$"));
}

const INCREMENT: &str = "let n = STATE[\"n\"] ?? 0\nSTATE[\"n\"] = n + 1\nprint(n + 1)\n";

#[test]
fn m1_a_second_run_on_a_locked_state_file_fails_clearly_or_waits() {
    let dir = dir_with(&[("inc.zx", INCREMENT), ("s.json", "{\"n\": 1}\n")]);
    // Another run holds the state file (the test takes the lock that run would hold).
    let holder = std::fs::File::create(dir.path().join("s.json.lock")).expect("lock file");
    holder.lock().expect("lock");
    let out = run_in(dir.path(), &["run", "--state", "s.json", "inc.zx"]);
    assert_no_panic(&out);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.contains("is in use by another run"), "{}", out.stderr);
    assert!(out.stderr.contains("--state-wait"), "{}", out.stderr);
    assert_eq!(out.stdout, "", "the program must not run");

    let mut waiting = std::process::Command::new(common::bin())
        .args(["run", "--state", "s.json", "--state-wait", "inc.zx"])
        .current_dir(dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    std::thread::sleep(Duration::from_millis(700));
    assert!(waiting.try_wait().expect("try_wait").is_none(), "--state-wait must wait for the lock");
    holder.unlock().expect("unlock");
    let done = waiting.wait_with_output().expect("wait");
    assert!(done.status.success(), "{done:?}");
    assert!(String::from_utf8_lossy(&done.stderr).contains("waiting for state file s.json"));
    assert_eq!(String::from_utf8_lossy(&done.stdout), "2\n");
}

#[test]
fn m1_concurrent_increments_lose_no_update() {
    let dir = dir_with(&[("inc.zx", INCREMENT)]);
    let pairs = 10;
    for _ in 0..pairs {
        let spawn = || {
            std::process::Command::new(common::bin())
                .args(["run", "--state", "s.json", "--state-wait", "inc.zx"])
                .current_dir(dir.path())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("spawn")
        };
        let (mut a, mut b) = (spawn(), spawn());
        assert!(a.wait().expect("wait").success());
        assert!(b.wait().expect("wait").success());
    }
    let text = std::fs::read_to_string(dir.path().join("s.json")).expect("state");
    assert!(text.contains(&format!("\"n\": {}", 2 * pairs)), "lost updates: {text}");
}

#[test]
fn m2_a_symlinked_state_file_is_written_through_and_keeps_its_mode() {
    use std::os::unix::fs::PermissionsExt;
    let dir = dir_with(&[("inc.zx", INCREMENT), ("real.json", "{\"n\": 5}\n")]);
    let real = dir.path().join("real.json");
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    std::os::unix::fs::symlink("real.json", dir.path().join("s.json")).expect("symlink");
    let out = run_in(dir.path(), &["run", "--state", "s.json", "inc.zx"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let link = std::fs::symlink_metadata(dir.path().join("s.json")).expect("link");
    assert!(link.file_type().is_symlink(), "the symlink was replaced by a regular file");
    assert!(std::fs::read_to_string(&real).expect("real").contains("\"n\": 6"), "the target was not updated");
    let mode = std::fs::metadata(&real).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode, 0o640, "the mode was reset");
}

#[test]
fn m2_a_new_state_file_gets_the_usual_mode_not_a_private_one() {
    use std::os::unix::fs::PermissionsExt;
    let dir = dir_with(&[("inc.zx", INCREMENT)]);
    let out = run_bin_sh(
        &format!("umask 022; exec {} run --state s.json inc.zx", common::bin().display()),
        dir.path(),
        LIMIT,
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    let mode = std::fs::metadata(dir.path().join("s.json")).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode, 0o644);
}

#[test]
fn m3_every_command_that_runs_a_program_honours_state_or_refuses_it() {
    let dir = dir_with(&[("inc.zx", INCREMENT), ("s.json", "{\"n\": 41}\n")]);
    let runs: [&[&str]; 3] = [
        &["stats", "--state", "s.json", "inc.zx"],
        &["profile", "--state", "s.json", "inc.zx"],
        &["trace", "--state", "s.json", "-o", "t.json", "inc.zx"],
    ];
    for (i, args) in runs.iter().enumerate() {
        let out = run_in(dir.path(), args);
        assert_eq!(out.code, Some(0), "{args:?}: {out:?}");
        let n = 42 + i;
        assert_eq!(out.stdout, format!("{n}\n"), "{args:?} did not load the state");
        let text = std::fs::read_to_string(dir.path().join("s.json")).expect("state");
        assert!(text.contains(&format!("\"n\": {n}")), "{args:?} did not save the state: {text}");
    }
    for args in [
        &["snapshot", "--state", "s.json", "inc.zx"][..],
        &["--state", "s.json", "inc.zx"],
        &["dis", "--state", "s.json", "inc.zx"],
    ] {
        let out = run_in(dir.path(), args);
        assert_eq!(out.code, Some(2), "{args:?}: {out:?}");
        assert!(out.stderr.contains("--state is not supported by"), "{args:?}: {}", out.stderr);
    }
}

#[test]
fn m10_trace_and_profile_refuse_to_overwrite_the_program() {
    let dir = dir_with(&[("p.zx", "print(1)\n")]);
    let refusals: [&[&str]; 4] = [
        &["trace", "-o", "p.zx", "p.zx"],
        &["profile", "-o", "./p.zx", "p.zx"],
        &["snapshot", "--trace", "p.zx", "p.zx"],
        &["--export", "p.zx", "p.zx"],
    ];
    for args in refusals {
        let out = run_in(dir.path(), args);
        assert_eq!(out.code, Some(2), "{args:?}: {out:?}");
        assert!(out.stderr.contains("is the program itself"), "{}", out.stderr);
        assert_eq!(std::fs::read_to_string(dir.path().join("p.zx")).expect("source"), "print(1)\n");
    }
}

#[test]
fn m10_a_trace_that_dies_half_written_leaves_the_old_trace() {
    let program = "action f(x) { return x + 1 }\nlet i = 0\nwhile (i < 5000) { i = f(i) }\nprint(i)\n";
    let dir = dir_with(&[("p.zx", program), ("t.json", "[\"old trace\"]\n")]);
    // A 64 KiB file-size limit: the trace (about 1 MB) outgrows it and the kernel kills the
    // writer (SIGXFSZ) in the middle of a write, as a full disk would stop it.
    let command = format!("ulimit -f 64; exec {} trace --format events -o t.json p.zx", common::bin().display());
    let out = run_bin_sh(&command, dir.path(), LIMIT);
    assert_ne!(out.code, Some(0), "the trace should have outgrown the limit: {out:?}");
    assert_eq!(std::fs::read_to_string(dir.path().join("t.json")).expect("old"), "[\"old trace\"]\n");
}

#[test]
fn l1_stale_temporary_files_are_cleaned_on_start() {
    let dir = dir_with(&[("inc.zx", INCREMENT), (".s.json.tmp-AbC123", "{\"torn")]);
    std::fs::create_dir(dir.path().join("cache")).expect("cache dir");
    std::fs::write(dir.path().join("cache/.zexus-entry-Xy12"), "torn").expect("temp");
    std::fs::write(dir.path().join("cache/.tmpQw34"), "torn").expect("temp");
    let old = std::process::Command::new("touch")
        .args(["-d", "1 hour ago", "cache/.zexus-entry-Xy12", "cache/.tmpQw34"])
        .current_dir(dir.path())
        .status()
        .expect("touch");
    assert!(old.success());
    let out = run_in(dir.path(), &["run", "--state", "s.json", "--cache-dir", "cache", "inc.zx"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let left: Vec<String> = std::fs::read_dir(dir.path())
        .expect("dir")
        .chain(std::fs::read_dir(dir.path().join("cache")).expect("cache"))
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(left.is_empty(), "stale temporary files left: {left:?}");
}

#[test]
fn l2_a_missing_state_directory_is_found_before_the_program_runs() {
    let dir = dir_with(&[("inc.zx", INCREMENT)]);
    let out = run_in(dir.path(), &["run", "--state", "missing/s.json", "inc.zx"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert_eq!(out.stdout, "", "the program ran before the state file was checked");
    assert!(out.stderr.contains("does not exist"), "{}", out.stderr);
}

#[test]
fn l2_a_nan_stored_in_state_fails_at_the_write() {
    let src = "let x = 1e308 * 10.0\nlet y = x - x\nSTATE[\"y\"] = y\nprint(\"after\")\n";
    let dir = dir_with(&[("p.zx", src)]);
    let out = run_in(dir.path(), &["run", "--state", "s.json", "p.zx"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert_eq!(out.stdout, "", "the run went on past the write");
    assert!(out.stderr.contains("p.zx:3:"), "{}", out.stderr);
    assert!(out.stderr.contains("which JSON cannot represent"), "{}", out.stderr);
    // Without a state file STATE may hold NaN (only saving it would fail).
    let out = run_in(dir.path(), &["run", "p.zx"]);
    assert_eq!(out.code, Some(0), "{out:?}");
}

#[test]
fn l9_the_state_save_syncs_the_directory_after_the_rename() {
    if std::process::Command::new("strace").arg("-V").output().is_err() {
        assert!(std::env::var_os("CI").is_none(), "strace is required in CI");
        eprintln!("skipping: strace is not installed");
        return;
    }
    let dir = dir_with(&[("inc.zx", INCREMENT)]);
    let out = std::process::Command::new("strace")
        .args(["-f", "-e", "trace=rename,renameat,renameat2,fsync,fdatasync", "-o", "strace.txt"])
        .arg(common::bin())
        .args(["run", "--state", "s.json", "inc.zx"])
        .current_dir(dir.path())
        .output()
        .expect("strace runs");
    assert!(out.status.success(), "{out:?}");
    let log = std::fs::read_to_string(dir.path().join("strace.txt")).expect("log");
    let lines: Vec<&str> = log.lines().collect();
    let rename = lines.iter().position(|l| l.contains("rename") && l.contains("s.json\"")).expect("a rename to s.json");
    assert!(lines[rename + 1..].iter().any(|l| l.contains("fsync(")), "no fsync after the rename:\n{log}");
}

#[test]
fn m4_a_closed_stdout_ends_the_run_quietly_with_success() {
    use std::io::BufRead;
    let dir = dir_with(&[("p.zx", "while (true) { print(1); }\n")]);
    for command in ["run", "profile", "stats"] {
        let mut child = std::process::Command::new(common::bin())
            .args([command, "p.zx"])
            .current_dir(dir.path())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn");
        let mut first = String::new();
        std::io::BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut first).expect("a line");
        assert_eq!(first, "1\n");
        // The reader is gone (as `| head -1` leaves it): the run must end by itself.
        let status = wait_timeout::ChildExt::wait_timeout(&mut child, Duration::from_secs(10)).expect("wait");
        let Some(status) = status else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{command}: still running 10 s after its stdout closed");
        };
        assert_eq!(status.code(), Some(0), "{command}");
        let mut err = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut err).expect("stderr");
        assert_eq!(err, "", "{command}: not quiet");
    }
}

/// A program whose source and output carry a title change and an OSC 52 clipboard write.
const ESCAPES: &str = "let t = \"\"\nlet i = 0\nwhile (i < 3) { i = i + 1; t = \"\u{1b}]0;pwned\u{7}\u{1b}]52;c;ZXZpbA==\u{7}\" }\nprint(t)\n";

fn assert_no_escape(what: &str, text: &str) {
    assert!(!text.contains('\u{1b}') && !text.contains('\u{7}'), "{what} lets an escape sequence through: {text:?}");
}

#[test]
fn m5_headless_reports_never_print_escape_sequences() {
    let dir = dir_with(&[("p.zx", ESCAPES)]);
    let profile = run_in(dir.path(), &["profile", "p.zx"]);
    assert_eq!(profile.code, Some(0), "{profile:?}");
    // The program's own output (stdout) is the program's business; the report is ours.
    assert!(profile.stderr.contains("while (i < 3)"), "the hottest lines quote the source: {}", profile.stderr);
    assert_no_escape("profile", &profile.stderr);
    let counts = run_in(dir.path(), &["dis", "--counts", "p.zx"]);
    assert_eq!(counts.code, Some(0), "{counts:?}");
    assert_no_escape("dis --counts", &counts.stdout);
    let snapshot = run_in(dir.path(), &["snapshot", "p.zx"]);
    assert_eq!(snapshot.code, Some(0), "{snapshot:?}");
    assert!(snapshot.stdout.contains("output       1 lines"), "{}", snapshot.stdout);
    assert_no_escape("snapshot", &snapshot.stdout);
}

#[test]
fn l4_file_names_and_source_lines_in_diagnostics_are_sanitized() {
    let name = "evil\u{1b}]0;pwned\u{7}.zx";
    let dir = dir_with(&[(name, "let s = \"\u{1b}[2J\"\nprint(s + nope)\n")]);
    let out = run_in(dir.path(), &["run", name]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.contains("evil"), "{}", out.stderr);
    assert_no_escape("a diagnostic", &out.stderr);
    let missing = run_in(dir.path(), &["run", "gone\u{1b}[2J.zx"]);
    assert_eq!(missing.code, Some(1));
    assert_no_escape("a read error", &missing.stderr);
}

#[test]
fn l8_a_state_file_with_a_duplicate_key_is_an_error() {
    for text in ["{\"n\": 1, \"n\": 2}\n", "{\"m\": {\"a\": 1, \"a\": 2}}\n"] {
        let dir = dir_with(&[("s.json", text), ("p.zx", "print(STATE[\"n\"])\n")]);
        let out = run_in(dir.path(), &["run", "--state", "s.json", "p.zx"]);
        assert_eq!(out.code, Some(1), "{text}: {out:?}");
        assert!(out.stderr.contains("duplicate"), "{}", out.stderr);
        assert_eq!(std::fs::read_to_string(dir.path().join("s.json")).expect("state"), text, "the file was rewritten");
    }
}

#[test]
fn l10_halt_does_not_count_toward_max_steps() {
    let dir = dir_with(&[("p.zx", "print(1)\nprint(2)\n")]);
    let stats = run_in(dir.path(), &["stats", "--json", "--no-jit", "p.zx"]);
    let at = stats.stdout.find("\"instructions\": ").expect("instructions") + "\"instructions\": ".len();
    let total: u64 =
        stats.stdout[at..].chars().take_while(char::is_ascii_digit).collect::<String>().parse().expect("n");
    // `total` counts HALT; the program's own instructions are one fewer.
    let own = (total - 1).to_string();
    let out = run_in(dir.path(), &["run", "--max-steps", &own, "p.zx"]);
    assert_eq!(out.code, Some(0), "a run that printed everything must not fail the limit: {out:?}");
    assert_eq!(out.stdout, "1\n2\n");
    let fewer = (total - 2).to_string();
    let out = run_in(dir.path(), &["run", "--max-steps", &fewer, "p.zx"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.contains("step limit exceeded"), "{}", out.stderr);
}

/// `events_kept` and `events_dropped` from a Chrome trace's `otherData`.
fn trace_counts(path: &Path) -> (u64, u64) {
    let text = std::fs::read_to_string(path).expect("trace");
    let json: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    let other = &json["otherData"];
    (other["events_kept"].as_u64().expect("kept"), other["events_dropped"].as_u64().expect("dropped"))
}

#[test]
fn l5_chrome_traces_count_every_dropped_event() {
    let program = "action f(x) { return x + 1 }\nlet i = 0\nwhile (i < 300) { i = f(i) }\nprint(i)\nprint(1 / 0)\n";
    let dir = dir_with(&[("p.zx", program)]);
    let full = run_in(dir.path(), &["trace", "--no-jit", "-o", "full.json", "p.zx"]);
    assert_eq!(full.code, Some(1), "{full:?}");
    let (total, none) = trace_counts(&dir.path().join("full.json"));
    assert_eq!(none, 0);
    for limit in ["10", "50", "333"] {
        let cut = run_in(dir.path(), &["trace", "--no-jit", "--trace-limit", limit, "-o", "cut.json", "p.zx"]);
        assert_eq!(cut.code, Some(1), "{cut:?}");
        let (kept, dropped) = trace_counts(&dir.path().join("cut.json"));
        assert_eq!(kept + dropped, total, "limit {limit}: kept {kept} + dropped {dropped} != {total} events");
    }
}

#[test]
fn l6_stats_runs_hot_loops_in_native_code_as_run_does() {
    let program = "let i = 0\nlet s = 0\nwhile (i < 100000) { s = s + i; i = i + 1 }\nprint(s)\n";
    let dir = dir_with(&[("p.zx", program)]);
    let out = run_in(dir.path(), &["stats", "--json", "p.zx"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let json: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
    let vm = &json["vm"];
    let native = vm["jit_instructions"].as_u64().expect("jit_instructions");
    assert!(native > 90_000, "stats must run the hot loop natively, as run does: {native} native instructions");
    let total = vm["instructions"].as_u64().expect("instructions");
    let per_op: u64 =
        vm["per_opcode"].as_array().expect("per_opcode").iter().map(|o| o["count"].as_u64().unwrap_or(0)).sum();
    assert_eq!(per_op, total, "the per-opcode counts still cover every instruction");
}

#[test]
fn m9_runs_under_an_address_space_limit_and_drops_deep_values_safely() {
    let dir = dir_with(&[(
        "deep.zx",
        "let x = []\nlet i = 0\nwhile (i < 1000000) { x = [x]; i = i + 1 }\nx = null\nprint(i)\n",
    )]);
    // 600 MB of address space: the old 1 GiB run-thread stack could not even be reserved.
    let command = format!("ulimit -v 600000; exec {} run deep.zx", common::bin().display());
    let out = run_bin_sh(&command, dir.path(), LIMIT);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(out.stdout, "1000000\n");
    assert_eq!(out.stderr, "", "no warning: the default stack fits");
}

#[test]
fn m2_a_hard_linked_state_file_is_named_in_a_warning() {
    let dir = dir_with(&[("inc.zx", INCREMENT), ("s.json", "{\"n\": 1}\n")]);
    std::fs::hard_link(dir.path().join("s.json"), dir.path().join("other.json")).expect("hard link");
    let out = run_in(dir.path(), &["run", "--state", "s.json", "inc.zx"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stderr.contains("has 2 hard links"), "{}", out.stderr);
}
