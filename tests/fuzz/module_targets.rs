//! The multi-file target (MODULES.md): generated programs of a main file and a few modules
//! (`common::module_programs`) behave identically at -O0, -O1 and -O2, with the JIT off and
//! compiling every loop at once, and when every unit comes from a warm disk cache.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use zexus_tui::engine::cache::CompileCache;
use zexus_tui::engine::jit_policy::JitPolicy;
use zexus_tui::engine::loader::{self, LoadedProgram, ModuleFs, PathKind};
use zexus_tui::engine::{Options, Session};
use zexus_tui::vm::interp::Halt;

use crate::common::inproc::{Behaviour, SharedBuf};
use crate::common::module_programs;
use crate::harness::count;
use crate::seeds::{MemStore, options};

/// The program's files, held in memory under a root that exists nowhere.
struct MemFs(HashMap<PathBuf, String>);

const ROOT: &str = "/zexus-fuzz-modules";

impl MemFs {
    fn key(path: &Path) -> PathBuf {
        // Lexical only: the generated paths are `./mN.zx` in one folder.
        PathBuf::from(loader::normalize(&path.to_string_lossy()))
    }
}

impl ModuleFs for MemFs {
    fn kind(&self, path: &Path) -> PathKind {
        let key = MemFs::key(path);
        if self.0.contains_key(&key) {
            PathKind::File
        } else if key == Path::new(ROOT) {
            PathKind::Dir
        } else {
            PathKind::Missing
        }
    }
    fn canonical(&self, path: &Path) -> Option<PathBuf> {
        let key = MemFs::key(path);
        self.0.contains_key(&key).then_some(key)
    }
    fn read(&self, path: &Path) -> Result<String, String> {
        self.0.get(&MemFs::key(path)).cloned().ok_or_else(|| "no such file".to_string())
    }
}

fn load(input: &str) -> Result<LoadedProgram, String> {
    let files = module_programs::split(input);
    let fs = MemFs(files.iter().map(|(n, t)| (PathBuf::from(format!("{ROOT}/{n}")), t.clone())).collect());
    let main = PathBuf::from(format!("{ROOT}/main.zx"));
    let text = files[0].1.clone();
    loader::load(&fs, &main, text).map_err(|(d, _)| d.first().map_or(String::new(), |d| d.message.clone()))
}

fn behaviour(program: &Rc<LoadedProgram>, options: &Options, cache: CompileCache) -> Behaviour {
    let buf = SharedBuf::default();
    let src = program.files[0].text.clone();
    let built = Session::builder(&src)
        .program(program.clone())
        .options(options)
        .output(Box::new(buf.clone()))
        .cache(cache)
        .build();
    let mut session = match built {
        Ok(s) => s,
        Err(diags) => {
            return Behaviour {
                output: String::new(),
                end: format!("syntax: {}", diags.first().map_or("", |d| d.message.as_str())),
            };
        }
    };
    let end = match session.run_to_end() {
        Halt::Error(e) => format!("error at {}: {}", e.span.start, e.message),
        _ => "ok".to_string(),
    };
    session.vm.flush();
    Behaviour { output: String::from_utf8_lossy(&buf.0.borrow()).into_owned(), end }
}

/// `multi_file`: every tier agrees on a generated multi-file program.
pub fn check_multi_file(input: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(input);
    let program = match load(&text) {
        Ok(p) => Rc::new(p),
        Err(msg) => {
            if msg.contains("internal") {
                return Err(format!("loader: {msg}"));
            }
            count("load error");
            return Ok(());
        }
    };
    let base = options(0, 200_000);
    let reference = behaviour(&program, &base, CompileCache::disabled());
    if reference.end.contains("internal") {
        return Err(format!("internal error: {reference:?}"));
    }
    if reference.end.contains("step limit") {
        count("step limit");
        return Ok(());
    }
    count(match reference.end.as_str() {
        "ok" => "compared ok",
        e if e.contains("division by zero") || e.contains("modulo by zero") => "compared division by zero",
        e if e.starts_with("syntax") => "compared syntax error",
        _ => "compared other error",
    });
    if std::env::var("ZEXUS_FUZZ_SHOW").is_ok() && reference.end != "ok" && !reference.end.contains("by zero") {
        eprintln!("{text}\n=> {}", reference.end);
    }
    let store = MemStore::default();
    let disk = || CompileCache::default().with_store(Box::new(store.clone()));
    let mut jit_now = options(2, 200_000);
    jit_now.vm.hot_threshold = 1;
    let mut no_jit = options(2, 200_000);
    no_jit.jit = JitPolicy { enabled: false };
    let tiers: Vec<(&str, Options, CompileCache)> = vec![
        ("-O1", options(1, 200_000), CompileCache::disabled()),
        ("-O2 cold cache", options(2, 200_000), disk()),
        ("-O2 warm cache", options(2, 200_000), disk()),
        ("--no-jit", no_jit, CompileCache::disabled()),
        ("--jit-threshold 1", jit_now, CompileCache::disabled()),
    ];
    for (name, opts, cache) in tiers {
        let other = behaviour(&program, &opts, cache);
        if other.end.contains("step limit") {
            continue;
        }
        if other != reference {
            return Err(format!("-O0 and {name} differ:\n{reference:?}\n{other:?}"));
        }
    }
    Ok(())
}
