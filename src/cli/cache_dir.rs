//! The disk tier of the bytecode cache: one file per unit in a directory, written atomically
//! (a temporary file `.zexus-entry-*` in the same directory, then a rename). Opening the
//! directory deletes temporary files older than [`STALE_TEMP_AGE`], which only a killed run
//! leaves behind.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::compile::cache::UnitKey;
use crate::engine::cache::CacheStore;

/// File extension of cache entries.
pub const ENTRY_EXTENSION: &str = "zxc";

/// Age after which a temporary file in the cache directory is surely abandoned (a write of
/// one entry takes milliseconds).
pub const STALE_TEMP_AGE: std::time::Duration = std::time::Duration::from_secs(600);

/// Prefix of the temporary files entries are written through.
const TEMP_PREFIX: &str = ".zexus-entry-";

/// A cache directory.
pub struct DirStore {
    dir: PathBuf,
}

impl DirStore {
    /// Opens (creating if needed) the cache directory `dir`, checking that entries can be
    /// written there. The error is a one-line reason.
    pub fn open(dir: &Path) -> Result<DirStore, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {}", dir.display(), reason(&e)))?;
        if !dir.is_dir() {
            return Err(format!("{} is not a directory", dir.display()));
        }
        tempfile::NamedTempFile::new_in(dir)
            .map_err(|e| format!("cannot write in {}: {}", dir.display(), reason(&e)))?;
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {}", dir.display(), reason(&e)))?;
        crate::atomic_file::remove_stale(dir, TEMP_PREFIX, STALE_TEMP_AGE);
        // Earlier versions wrote through tempfile's default `.tmp*` names.
        crate::atomic_file::remove_stale(dir, ".tmp", STALE_TEMP_AGE);
        Ok(DirStore { dir: dir.to_path_buf() })
    }

    /// Path of the entry for `key`.
    pub fn entry_path(&self, key: UnitKey) -> PathBuf {
        self.dir.join(format!("{key}.{ENTRY_EXTENSION}"))
    }
}

fn reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => e.to_string(),
    }
}

impl CacheStore for DirStore {
    fn load(&mut self, key: UnitKey) -> Result<Option<Vec<u8>>, String> {
        match crate::input::read_limited(&self.entry_path(key), crate::input::MAX_CACHE_ENTRY_BYTES) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(crate::input::ReadError::NotFound) => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }

    fn save(&mut self, key: UnitKey, bytes: &[u8]) -> Result<(), String> {
        let mut tmp = tempfile::Builder::new().prefix(TEMP_PREFIX).tempfile_in(&self.dir).map_err(|e| reason(&e))?;
        tmp.write_all(bytes).and_then(|_| tmp.flush()).map_err(|e| reason(&e))?;
        tmp.persist(self.entry_path(key)).map_err(|e| reason(&e.error))?;
        Ok(())
    }

    fn describe(&self) -> String {
        self.dir.display().to_string()
    }
}
