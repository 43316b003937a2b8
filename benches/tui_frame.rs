//! Frame time of the TUI on a 10 000-instruction listing: the whole screen (every pane) drawn
//! into a `TestBackend` while the bytecode cursor pages through the listing. A frame must stay
//! well under 16 ms; only the visible rows are formatted, so the listing's length does not
//! matter.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use zexus_tui::engine::Options;
use zexus_tui::engine::debug::Debugger;
use zexus_tui::tui::app::{App, AppConfig};
use zexus_tui::tui::theme::Theme;

fn main() {
    divan::main();
}

/// A program whose optimized listing has more than 10 000 instructions.
fn big_program() -> String {
    let mut src = String::from("let acc = 1\n");
    for k in 0..2_500 {
        src.push_str(&format!("print(acc * 3 + {k})\n"));
    }
    src
}

fn setup(view_presses: usize, (w, h): (u16, u16)) -> (App, Terminal<TestBackend>) {
    let debugger = Debugger::new("big.zx", &big_program(), &Options::default()).expect("builds");
    let snap = debugger.snapshot();
    assert!(snap.program.optimized_len >= 10_000, "listing has {} instructions", snap.program.optimized_len);
    let mut app = App::new(AppConfig {
        themes: vec![Theme::default()],
        mouse: false,
        export_path: std::env::temp_dir().join("x"),
    });
    app.update(std::sync::Arc::new(snap));
    app.on_key(KeyEvent::new(KeyCode::Char('2'), KeyModifiers::NONE));
    for _ in 0..view_presses {
        app.on_key(KeyEvent::new(KeyCode::Char('v'), KeyModifiers::NONE));
    }
    (app, Terminal::new(TestBackend::new(w, h)).expect("terminal"))
}

fn bench_frames(bencher: divan::Bencher, view_presses: usize, size: (u16, u16)) {
    let (mut app, mut terminal) = setup(view_presses, size);
    let page_down = KeyEvent::new(KeyCode::PageDown, KeyModifiers::NONE);
    let top = KeyEvent::new(KeyCode::Char('g'), KeyModifiers::NONE);
    let mut frames = 0u32;
    bencher.bench_local(|| {
        frames += 1;
        // Page through the listing, back to the top every 200 pages.
        app.on_key(if frames.is_multiple_of(200) { top } else { page_down });
        terminal.draw(|f| app.render(f.area(), f.buffer_mut())).expect("draws");
    });
}

/// The whole screen at 160x48, optimized listing.
#[divan::bench]
fn listing_10k_160x48(bencher: divan::Bencher) {
    bench_frames(bencher, 0, (160, 48));
}

/// The whole screen at 160x48, unoptimized and optimized side by side.
#[divan::bench]
fn listing_10k_side_by_side_160x48(bencher: divan::Bencher) {
    bench_frames(bencher, 2, (160, 48));
}

/// The whole screen at 160x48, the optimizer's first pass before and after.
#[divan::bench]
fn listing_10k_passes_160x48(bencher: divan::Bencher) {
    bench_frames(bencher, 3, (160, 48));
}

/// The whole screen at 80x24.
#[divan::bench]
fn listing_10k_80x24(bencher: divan::Bencher) {
    bench_frames(bencher, 0, (80, 24));
}

/// Time from a pause request to the paused snapshot while an endless loop runs on the VM
/// thread (must stay under 100 ms).
#[divan::bench(sample_count = 20, sample_size = 1)]
fn pause_latency_endless_loop(bencher: divan::Bencher) {
    use zexus_tui::engine::snapshot::RunStatus;
    use zexus_tui::tui::worker::{Request, Worker};
    let src = "let i = 0\nwhile (true) {\n  i = i + 1\n}\n";
    let worker = Worker::spawn("spin.zx", src, &Options::default(), true).expect("builds");
    let wait = |status: RunStatus| loop {
        if worker.take_snapshot().is_some_and(|s| s.status == status) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_micros(100));
    };
    bencher
        .with_inputs(|| {
            // Let it run for a while before each pause.
            wait(RunStatus::Running);
            std::thread::sleep(std::time::Duration::from_millis(50));
        })
        .bench_local_values(|()| {
            worker.send(Request::TogglePause);
            wait(RunStatus::Paused);
            worker.send(Request::TogglePause);
        });
    worker.shutdown(std::time::Duration::from_secs(1));
}
