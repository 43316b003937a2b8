//! The bytecode cache across the files of a program (MODULES.md §14): a ten-module program is
//! built cold, rebuilt after a restart (a new session on the same `--cache-dir`), then rebuilt
//! after one function of one module was edited. Exactly the edited unit is recompiled, and the
//! program's output is that of a cold build. The figures are printed (`--nocapture`).

use std::cell::RefCell;
use std::io::Write;
use std::path::Path;
use std::rc::Rc;

use zexus_tui::cli::cache_dir::DirStore;
use zexus_tui::cli::module_fs::RealFs;
use zexus_tui::engine::cache::CompileCache;
use zexus_tui::engine::loader;
use zexus_tui::engine::pipeline::{BuildReport, UnitSource};
use zexus_tui::engine::{Options, Session};

#[derive(Clone, Default)]
struct Buf(Rc<RefCell<Vec<u8>>>);

impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn module_source(k: usize, edited: bool) -> String {
    let twist = if edited { " + 1000" } else { "" };
    format!(
        "export let BASE = {k}\n\
         export action scale(x) {{ return x * {m}{twist} }}\n\
         export action shift(x) {{ return x + BASE }}\n\
         export action both(x) {{ return shift(scale(x)) }}\n",
        m = k + 2
    )
}

fn write_program(dir: &Path) {
    std::fs::create_dir_all(dir.join("modules")).unwrap();
    let mut main = String::new();
    for k in 0..10 {
        std::fs::write(dir.join(format!("modules/m{k}.zx")), module_source(k, false)).unwrap();
        main.push_str(&format!("use \"./modules/m{k}.zx\" as m{k}\n"));
    }
    for k in 0..10 {
        main.push_str(&format!("print(m{k}.both({k}))\n"));
    }
    std::fs::write(dir.join("main.zx"), main).unwrap();
}

/// Builds and runs the program on the disk cache in `cache_dir` (a fresh session: a restart).
fn run(dir: &Path, cache_dir: Option<&Path>) -> (BuildReport, String) {
    let main = dir.join("main.zx");
    let src = std::fs::read_to_string(&main).unwrap();
    let program = loader::load(&RealFs, &main, src.clone()).map_err(|(d, _)| d).expect("loads");
    let cache = match cache_dir {
        Some(c) => CompileCache::default().with_store(Box::new(DirStore::open(c).unwrap())),
        None => CompileCache::disabled(),
    };
    let out = Buf::default();
    let mut session = Session::builder(&src)
        .program(Rc::new(program))
        .options(&Options::default())
        .output(Box::new(out.clone()))
        .cache(cache)
        .build()
        .expect("builds");
    session.run_to_end();
    session.vm.flush();
    let text = String::from_utf8(out.0.borrow().clone()).unwrap();
    (session.last_build().clone(), text)
}

fn compiled(report: &BuildReport) -> Vec<String> {
    report.units.iter().filter(|u| u.source == UnitSource::Compiled).map(|u| u.name.clone()).collect()
}

#[test]
fn editing_one_function_of_one_module_recompiles_only_that_unit() {
    let root = std::env::temp_dir().join(format!("zexus-module-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let (dir, cache) = (root.join("prog"), root.join("cache"));
    write_program(&dir);

    let (cold, out_cold) = run(&dir, Some(&cache));
    let total = cold.units.len();
    assert_eq!(total, 1 + 10 * 4, "main, and per module its top level and three functions");
    assert_eq!(compiled(&cold).len(), total);

    let (warm, out_warm) = run(&dir, Some(&cache));
    assert_eq!(compiled(&warm), Vec::<String>::new());
    assert_eq!(warm.disk_hits(), total);
    assert_eq!(out_warm, out_cold);

    std::fs::write(dir.join("modules/m4.zx"), module_source(4, true)).unwrap();
    let (edited, out_edited) = run(&dir, Some(&cache));
    let recompiled = compiled(&edited);
    assert_eq!(recompiled.len(), 1, "{recompiled:?}");
    assert!(recompiled[0].starts_with("scale@") && recompiled[0].ends_with("/modules/m4.zx"), "{recompiled:?}");
    let (_, out_fresh) = run(&dir, None);
    assert_eq!(out_edited, out_fresh, "a warm build after the edit behaves as a cold one");
    assert_ne!(out_edited, out_cold);

    println!(
        "module cache: {total} units; cold build compiled {}; restart compiled {} ({} disk hits); \
         after editing scale() in modules/m4.zx compiled {} ({:?}), {} disk hits",
        compiled(&cold).len(),
        compiled(&warm).len(),
        warm.disk_hits(),
        compiled(&edited).len(),
        compiled(&edited),
        edited.disk_hits()
    );
    let _ = std::fs::remove_dir_all(&root);
}
