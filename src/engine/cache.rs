//! The session's bytecode cache: an in-memory LRU of compiled units in front of an optional
//! disk tier. The engine decides what to look up and store; the bytes on disk come and go
//! through the [`CacheStore`] trait, which the CLI implements with files (the engine itself
//! performs no file I/O). Everything read back from a store is decoded defensively and checked
//! by the bytecode verifier before it can run.

use std::rc::Rc;

use crate::bytecode::verify;
use crate::compile::cache::format;
use crate::compile::cache::lru::Lru;
use crate::compile::cache::{CachedUnit, UnitKey, UnitKind};
use crate::syntax::span::Span;

/// Where cached units persist between runs (a directory, in the CLI).
pub trait CacheStore {
    /// The bytes stored under `key`; `Ok(None)` if there are none. An `Err` is a store that
    /// could not be read (counted as a disk error).
    fn load(&mut self, key: UnitKey) -> Result<Option<Vec<u8>>, String>;
    /// Stores `bytes` under `key`, replacing what was there (atomically, for file stores).
    fn save(&mut self, key: UnitKey, bytes: &[u8]) -> Result<(), String>;
    /// A short description for reports (the directory, say).
    fn describe(&self) -> String;
}

/// Limits of the in-memory tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheConfig {
    /// False turns the cache off entirely (every unit is compiled, nothing is stored).
    pub enabled: bool,
    /// Most units kept in memory.
    pub max_entries: usize,
    /// Most bytes (approximate heap size of the units) kept in memory.
    pub max_bytes: usize,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig { enabled: true, max_entries: 4096, max_bytes: 64 << 20 }
    }
}

/// Which tier answered a lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    /// The in-memory LRU.
    Memory,
    /// The disk store (the unit is now also in memory).
    Disk,
}

/// The cache's figures (cumulative over the session, across reloads).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct CacheStats {
    /// False when the cache is off (`--no-cache`).
    pub enabled: bool,
    /// The disk tier, if any (its description).
    pub disk: Option<String>,
    /// Units looked up.
    pub lookups: u64,
    /// Lookups answered by either tier.
    pub hits: u64,
    /// Lookups that had to compile.
    pub misses: u64,
    /// `hits / lookups` (0 when there were none).
    pub hit_rate: f64,
    /// Hits answered from memory.
    pub memory_hits: u64,
    /// Hits answered from disk.
    pub disk_hits: u64,
    /// Disk entries rejected: unreadable, foreign, wrong version, truncated, corrupt, or
    /// failing the verifier.
    pub disk_errors: u64,
    /// Entries written to disk.
    pub disk_writes: u64,
    /// Entries that could not be written to disk.
    pub disk_write_errors: u64,
    /// Units in memory now.
    pub entries: u64,
    /// Approximate bytes of the units in memory now.
    pub memory_bytes: u64,
    /// Units evicted from memory to respect the limits.
    pub evictions: u64,
    /// Compiled units whose code could not be put in position-independent form (never cached).
    pub uncacheable: u64,
    /// Compile time the hits saved: the recorded compile time of each unit hit, in microseconds.
    pub compile_time_saved_us: u64,
}

/// The bytecode cache of one session.
pub struct CompileCache {
    enabled: bool,
    memory: Lru<UnitKey, Rc<CachedUnit>>,
    store: Option<Box<dyn CacheStore>>,
    stats: CacheStats,
    /// The most recent disk problem, for a one-line warning.
    last_disk_error: Option<String>,
}

impl Default for CompileCache {
    fn default() -> Self {
        CompileCache::new(CacheConfig::default())
    }
}

impl CompileCache {
    /// A memory-only cache with the given limits.
    pub fn new(config: CacheConfig) -> CompileCache {
        CompileCache {
            enabled: config.enabled,
            memory: Lru::new(config.max_entries, config.max_bytes),
            store: None,
            stats: CacheStats::default(),
            last_disk_error: None,
        }
    }

    /// A cache that is switched off: every unit is compiled.
    pub fn disabled() -> CompileCache {
        CompileCache::new(CacheConfig { enabled: false, max_entries: 0, max_bytes: 0 })
    }

    /// Adds a disk tier.
    pub fn with_store(mut self, store: Box<dyn CacheStore>) -> CompileCache {
        self.store = Some(store);
        self
    }

    /// True unless the cache is switched off.
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// The most recent disk problem (reading or writing), if any.
    pub fn last_disk_error(&self) -> Option<&str> {
        self.last_disk_error.as_deref()
    }

    /// The figures so far.
    pub fn stats(&self) -> CacheStats {
        let mut s = self.stats.clone();
        s.enabled = self.enabled;
        s.disk = self.store.as_ref().map(|st| st.describe());
        s.entries = self.memory.len() as u64;
        s.memory_bytes = self.memory.bytes() as u64;
        s.evictions = self.memory.evictions();
        s.hit_rate = if s.lookups == 0 { 0.0 } else { s.hits as f64 / s.lookups as f64 };
        s
    }

    /// Looks up the unit `key` whose current span list is `spans`. A top-level unit names
    /// `n_functions` function units. Counts a hit or a miss.
    pub fn lookup(
        &mut self,
        key: UnitKey,
        kind: UnitKind,
        spans: &[Span],
        n_functions: usize,
    ) -> Option<(Rc<CachedUnit>, Tier)> {
        if !self.enabled {
            return None;
        }
        self.stats.lookups += 1;
        let found = match self.memory.get(&key) {
            Some(unit) if unit.kind == kind && unit.applies_to(spans) => Some((unit.clone(), Tier::Memory)),
            Some(_) => None,
            None => self.load_from_disk(key, kind, spans, n_functions).map(|u| (u, Tier::Disk)),
        };
        match &found {
            Some((unit, tier)) => {
                self.stats.hits += 1;
                match tier {
                    Tier::Memory => self.stats.memory_hits += 1,
                    Tier::Disk => self.stats.disk_hits += 1,
                }
                self.stats.compile_time_saved_us = self.stats.compile_time_saved_us.saturating_add(unit.compile_micros);
            }
            None => self.stats.misses += 1,
        }
        found
    }

    fn load_from_disk(
        &mut self,
        key: UnitKey,
        kind: UnitKind,
        spans: &[Span],
        n_functions: usize,
    ) -> Option<Rc<CachedUnit>> {
        let store = self.store.as_mut()?;
        let bytes = match store.load(key) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => return None,
            Err(why) => {
                self.disk_error(format!("cannot read cache entry {key}: {why}"));
                return None;
            }
        };
        let unit = match format::decode(key, &bytes) {
            Ok(unit) => unit,
            Err(why) => {
                self.disk_error(format!("ignored cache entry {key}: {why}"));
                return None;
            }
        };
        let external = (kind == UnitKind::Top).then_some(n_functions);
        let checked = if unit.kind != kind {
            Err("entry of another kind of unit".to_string())
        } else {
            verify::verify(&unit.optimized, external)
                .and_then(|_| verify::verify(&unit.unoptimized, external))
                .map_err(|e| e.to_string())
        };
        if let Err(why) = checked {
            self.disk_error(format!("ignored cache entry {key}: {why}"));
            return None;
        }
        if !unit.applies_to(spans) || unit.resolve(spans).is_none() {
            // A valid entry for an AST with the same shape whose merged spans now differ: a miss.
            return None;
        }
        let unit = Rc::new(unit);
        let bytes = unit.approx_bytes();
        self.memory.insert(key, unit.clone(), bytes);
        Some(unit)
    }

    fn disk_error(&mut self, message: String) {
        self.stats.disk_errors += 1;
        self.last_disk_error = Some(message);
    }

    /// Stores a freshly compiled unit in memory and, if there is a disk tier, on disk.
    pub fn insert(&mut self, key: UnitKey, unit: CachedUnit) {
        if !self.enabled {
            return;
        }
        if let Some(store) = self.store.as_mut() {
            match store.save(key, &format::encode(key, &unit)) {
                Ok(()) => self.stats.disk_writes += 1,
                Err(why) => {
                    self.stats.disk_write_errors += 1;
                    self.last_disk_error = Some(format!("cannot write cache entry {key}: {why}"));
                }
            }
        }
        let bytes = unit.approx_bytes();
        self.memory.insert(key, Rc::new(unit), bytes);
    }

    /// Counts a compiled unit that could not be cached.
    pub fn note_uncacheable(&mut self) {
        self.stats.uncacheable += 1;
    }
}
