//! The bytecode cache through the library API: reloading a program in one session recompiles
//! only the units whose AST changed, cached code gets exact spans after code moves, every
//! conformance program survives the cache unchanged, and the verifier accepts real code.

mod common;

use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;

use zexus_tui::bytecode::verify::verify;
use zexus_tui::engine::cache::{CacheConfig, CompileCache};
use zexus_tui::engine::pipeline::{UnitSource, build_with_cache};
use zexus_tui::engine::{self, Options, Session};
use zexus_tui::syntax::span::SourceMap;
use zexus_tui::vm::interp::Halt;

#[derive(Clone, Default)]
struct Sink(Rc<RefCell<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Sink {
    fn take(&self) -> String {
        String::from_utf8(std::mem::take(&mut *self.0.borrow_mut())).expect("UTF-8 output")
    }
}

const TWO_FUNCTIONS: &str = "\
action area(w, h) {
    return w * h
}
action label(name) {
    return \"<\" + name + \">\"
}
print(area(3, 4), label(\"box\"))
";

fn session(src: &str) -> (Session, Sink) {
    let sink = Sink::default();
    let s = Session::builder(src).options(&Options::default()).output(Box::new(sink.clone())).build().expect("builds");
    (s, sink)
}

fn sources(s: &Session) -> Vec<(String, UnitSource)> {
    s.last_build().units.iter().map(|u| (u.name.clone(), u.source)).collect()
}

#[test]
fn editing_one_function_recompiles_only_that_unit() {
    let (mut s, out) = session(TWO_FUNCTIONS);
    assert_eq!(s.last_build().compiled(), 3);
    s.run_to_end();
    assert_eq!(out.take(), "12 <box>\n");

    let edited = TWO_FUNCTIONS.replace("w * h", "w * h + 1");
    let report = s.reload(&edited).expect("reloads").clone();
    assert_eq!(report.compiled(), 1, "{report:?}");
    assert_eq!(report.memory_hits(), 2, "{report:?}");
    assert_eq!(
        sources(&s),
        [
            ("<main>".to_string(), UnitSource::Memory),
            ("area".to_string(), UnitSource::Compiled),
            ("label".to_string(), UnitSource::Memory)
        ]
    );
    assert!(matches!(s.run_to_end(), Halt::Finished));
    assert_eq!(out.take(), "13 <box>\n");

    let stats = s.cache_stats();
    assert_eq!((stats.hits, stats.misses), (2, 4));
    assert_eq!(s.builds(), 2);
}

#[test]
fn moving_code_is_a_hit_for_every_unit_with_exact_spans() {
    let (mut s, _) = session(TWO_FUNCTIONS);
    // Push everything down and reformat: no unit's AST changed.
    let moved = "// moved\n\n\naction area(w, h) { return w * h }\n\n\
                 action label(name) {\n\n  return \"<\" + name + \">\"\n}\nprint( area(3, 4), label(\"box\") )\n";
    let report = s.reload(moved).expect("reloads").clone();
    assert_eq!(report.compiled(), 0, "{report:?}");
    assert_eq!(report.memory_hits(), 3);
    let fresh = engine::build(moved, &Options::default()).expect("builds");
    assert_eq!(s.build.chunk, fresh.chunk, "cached code must carry the new spans");
    assert_eq!(s.build.unoptimized, fresh.unoptimized);
}

#[test]
fn reordering_functions_recompiles_only_the_top_level() {
    let (mut s, out) = session(TWO_FUNCTIONS);
    let swapped = "action label(name) {\n  return \"<\" + name + \">\"\n}\n\
                   action area(w, h) { return w * h }\nprint(area(3, 4), label(\"box\"))\n";
    s.reload(swapped).expect("reloads");
    assert_eq!(
        sources(&s),
        [
            ("<main>".to_string(), UnitSource::Compiled),
            ("label".to_string(), UnitSource::Memory),
            ("area".to_string(), UnitSource::Memory)
        ]
    );
    let fresh = engine::build(swapped, &Options::default()).expect("builds");
    assert_eq!(s.build.chunk, fresh.chunk);
    s.run_to_end();
    assert_eq!(out.take(), "12 <box>\n");
}

#[test]
fn runtime_errors_point_into_moved_functions() {
    let src = "action boom(x) {\n    return x / 0 + missing\n}\nprint(boom(1))\n";
    let (mut s, _) = session(src);
    let moved = format!("\n\n\n\n{src}");
    s.reload(&moved).expect("reloads");
    assert_eq!(s.last_build().compiled(), 0);
    let Halt::Error(err) = s.run_to_end() else { panic!("the program must fail") };
    let map = SourceMap::new(&moved);
    let at = map.line_col(&moved, err.span.start);
    assert_eq!(at.line, 6, "{err:?}");
    let text = &moved[err.span.start as usize..err.span.end as usize];
    assert!(text == "/" || text == "missing", "error points at {text:?}");
}

#[test]
fn a_failed_reload_keeps_the_running_program() {
    let (mut s, out) = session(TWO_FUNCTIONS);
    assert!(s.reload("action broken( {").is_err());
    s.run_to_end();
    assert_eq!(out.take(), "12 <box>\n");
}

#[test]
fn the_memory_tier_respects_its_entry_limit() {
    let cache = CompileCache::new(CacheConfig { enabled: true, max_entries: 2, max_bytes: 1 << 20 });
    let s = Session::builder(TWO_FUNCTIONS)
        .options(&Options::default())
        .output(Box::new(Sink::default()))
        .cache(cache)
        .build()
        .expect("ok");
    let stats = s.cache_stats();
    assert_eq!(stats.entries, 2);
    assert_eq!(stats.evictions, 1);
    assert!(stats.memory_bytes > 0);
}

#[test]
fn different_optimization_settings_do_not_share_entries() {
    let mut cache = CompileCache::default();
    let o2 = Options::default();
    let o0 = Options { passes: Vec::new(), ..Options::default() };
    let (_, r1) = build_with_cache(TWO_FUNCTIONS, &o2, &mut cache).expect("builds");
    let (b0, r2) = build_with_cache(TWO_FUNCTIONS, &o0, &mut cache).expect("builds");
    assert_eq!(r1.compiled(), 3);
    assert_eq!(r2.compiled(), 3);
    assert_eq!(b0.chunk, b0.unoptimized);
    let (_, r3) = build_with_cache(TWO_FUNCTIONS, &o2, &mut cache).expect("builds");
    assert_eq!(r3.memory_hits(), 3);
}

/// Every conformance program: cached builds equal fresh builds (also after the whole program
/// moves down), and the verifier accepts every unit before and after optimization.
#[test]
fn conformance_programs_survive_the_cache_unchanged() {
    let Some(dir) = common::conformance_dir() else {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("../shared/conformance is missing, and CI=true requires it");
        }
        eprintln!("../shared/conformance not found; nothing checked");
        return;
    };
    let pending = common::pending_ranges();
    let mut tally = common::PendingTally::default();
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("readable")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "zx"))
        .collect();
    paths.sort();
    let mut checked = 0;
    for path in paths {
        let src = std::fs::read_to_string(&path).expect("UTF-8 program");
        let name = path.file_stem().unwrap_or_default().to_string_lossy().into_owned();
        let fresh = match engine::build(&src, &Options::default()) {
            Ok(fresh) => fresh,
            Err(_) => {
                // Core programs that fail to build are the compile-error tests; a program of a
                // pending range may fail because its family is not implemented yet.
                if let Some(range) = common::pending_for(&name, &pending) {
                    tally.note(&name, range);
                }
                continue;
            }
        };
        let mut cache = CompileCache::default();
        let (first, report) = build_with_cache(&src, &Options::default(), &mut cache).expect("builds");
        assert_eq!(first.chunk, fresh.chunk, "{}", path.display());
        // Identical units (two equal lambdas at the top level) compile once and hit after.
        assert_eq!(report.compiled() + report.memory_hits(), report.units.len(), "{}", path.display());
        let shifted = format!("// shifted\n\n{src}");
        let (second, report) = build_with_cache(&shifted, &Options::default(), &mut cache).expect("builds");
        assert_eq!(report.compiled(), 0, "{}: {report:?}", path.display());
        let fresh_shifted = engine::build(&shifted, &Options::default()).expect("builds");
        assert_eq!(second.chunk, fresh_shifted.chunk, "{}", path.display());
        assert_eq!(second.unoptimized, fresh_shifted.unoptimized, "{}", path.display());
        for chunk in [&fresh.chunk, &fresh.unoptimized] {
            verify(chunk, None).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
        checked += 1;
    }
    tally.report("cache_reload");
    assert!(checked > 50, "only {checked} programs checked");
}
