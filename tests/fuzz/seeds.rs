//! Seed inputs the mutators start from: the stored corpus, the sample programs, the shared
//! conformance programs when present, and bytecode and cache files compiled from them.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use zexus_tui::bytecode::chunk::Chunk;
use zexus_tui::compile::cache::UnitKey;
use zexus_tui::compile::optimize::passes_for_level;
use zexus_tui::engine::cache::{CacheStore, CompileCache};
use zexus_tui::engine::{Options, pipeline};

use crate::harness::files;

/// A cache store in memory: what was saved, and what loads return.
#[derive(Clone, Default)]
pub struct MemStore {
    /// Entries by key.
    pub entries: Rc<RefCell<BTreeMap<u128, Vec<u8>>>>,
    /// When set, every load returns these bytes, whatever the key.
    pub forced: Option<Vec<u8>>,
}

impl CacheStore for MemStore {
    fn load(&mut self, key: UnitKey) -> Result<Option<Vec<u8>>, String> {
        if let Some(bytes) = &self.forced {
            return Ok(Some(bytes.clone()));
        }
        Ok(self.entries.borrow().get(&key.0).cloned())
    }
    fn save(&mut self, key: UnitKey, bytes: &[u8]) -> Result<(), String> {
        self.entries.borrow_mut().insert(key.0, bytes.to_vec());
        Ok(())
    }
    fn describe(&self) -> String {
        "memory".to_string()
    }
}

/// The seed programs: `tests/fuzz/corpus/programs`, `samples/` and the shared conformance
/// programs (when the shared folder is next to the repository).
pub fn programs() -> Vec<String> {
    let mut out: Vec<String> = files("corpus", "programs")
        .into_iter()
        .map(|(_, bytes)| String::from_utf8_lossy(&bytes).into_owned())
        .collect();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for dir in [root.join("samples"), root.join("../shared/conformance")] {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        let mut paths: Vec<_> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "zx"))
            .collect();
        paths.sort();
        out.extend(paths.iter().filter_map(|p| std::fs::read_to_string(p).ok()));
    }
    out
}

/// The memory cap of fuzzed runs: the largest string or list one operation may create.
///
/// Steps and gas do not bound the work of one instruction (HASH and string `+` cost the same
/// for 1 byte and for the whole cap), so a generated loop that grows a string and hashes it at
/// every step does work quadratic in this cap: at 1 MiB one such case ran 85 s per tier
/// (`regressions/optimizer_differential/hash_growing_string.zx`), at 64 KiB 0.3 s.
pub const MAX_ALLOC: usize = 1 << 16;

/// Options for fuzzed runs: a step limit and a small memory cap, so no case runs long.
pub fn options(level: u8, max_steps: u64) -> Options {
    Options {
        vm: zexus_tui::vm::interp::VmConfig { max_steps: Some(max_steps), max_alloc: MAX_ALLOC, ..Default::default() },
        passes: passes_for_level(level),
        ..Options::default()
    }
}

/// Compiled top-level chunks (functions as children) of the seed programs that compile, at
/// -O0 and -O2, in postcard form: the verifier's seeds.
pub fn bytecode() -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = files("corpus", "verifier").into_iter().map(|(_, b)| b).collect();
    for src in programs() {
        for level in [0, 2] {
            if let Ok(build) = zexus_tui::engine::build(&src, &options(level, 1000)) {
                out.extend(postcard::to_stdvec(&build.chunk).ok());
            }
        }
    }
    out
}

/// Decodes a chunk the way the verifier's target does.
pub fn decode_chunk(bytes: &[u8]) -> Option<Chunk> {
    postcard::from_bytes(bytes).ok()
}

/// The cache loader's input for `src` and one cache file: `ZXFZ`, the source length (u32
/// little-endian), the source, then the file.
pub fn cache_input(src: &str, file: &[u8]) -> Vec<u8> {
    let mut out = b"ZXFZ".to_vec();
    out.extend_from_slice(&(src.len() as u32).to_le_bytes());
    out.extend_from_slice(src.as_bytes());
    out.extend_from_slice(file);
    out
}

/// Splits a cache loader input into its source and its file (`None`: a bare file).
pub fn split_cache_input(input: &[u8]) -> Option<(String, &[u8])> {
    let rest = input.strip_prefix(b"ZXFZ")?;
    let len = u32::from_le_bytes(rest.get(..4)?.try_into().ok()?) as usize;
    let src = rest.get(4..4 + len)?;
    Some((String::from_utf8_lossy(src).into_owned(), rest.get(4 + len..)?))
}

/// Every cache file that building `src` writes, at -O2.
pub fn cache_files(src: &str) -> Vec<Vec<u8>> {
    let store = MemStore::default();
    let mut cache = CompileCache::default().with_store(Box::new(store.clone()));
    if pipeline::build_with_cache(src, &options(2, 1000), &mut cache).is_err() {
        return Vec::new();
    }
    store.entries.borrow().values().cloned().collect()
}

/// Cache loader seeds: the stored corpus plus every unit of every seed program.
pub fn cache_inputs() -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = files("corpus", "cache_loader").into_iter().map(|(_, b)| b).collect();
    for src in programs().into_iter().take(60) {
        for file in cache_files(&src) {
            out.push(cache_input(&src, &file));
        }
    }
    out
}

/// Theme seeds: the built-in themes and the stored corpus.
pub fn themes() -> Vec<String> {
    let mut out: Vec<String> = zexus_tui::tui::theme::BUILTIN.iter().map(|(_, text)| text.to_string()).collect();
    out.extend(files("corpus", "theme_loader").into_iter().map(|(_, b)| String::from_utf8_lossy(&b).into_owned()));
    out
}

/// State seeds: the stored corpus.
pub fn states() -> Vec<String> {
    let mut out: Vec<String> =
        files("corpus", "state_loader").into_iter().map(|(_, b)| String::from_utf8_lossy(&b).into_owned()).collect();
    out.push("{}".to_string());
    out
}
