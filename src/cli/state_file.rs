//! `--state FILE`: committed STATE loaded at start and saved at the end, with the file locked
//! for the whole run.
//!
//! [`StateFile::open`] takes an advisory lock (`flock`, through std's `File::lock`) on the
//! sidecar `FILE.lock` beside the real file (symlinks followed), so two runs on one state file
//! never both load the old STATE and overwrite each other's commits: the second run fails with
//! a clear error, or with `--state-wait` says it is waiting and waits. The lock file is never
//! renamed or deleted (the state file itself is replaced on every save, so it cannot carry the
//! lock). Holding the lock, `open` also deletes temporary files a killed run left beside the
//! state file, and a missing or unwritable directory is found here, before the program runs.
//!
//! The save goes through [`crate::atomic_file::write`]: a crash, a kill or a full disk at any
//! moment leaves either the old or the new file, never a torn one, and keeps the file's mode.

use std::collections::BTreeMap;
use std::fs::{File, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::atomic_file;
use crate::input;
use crate::vm::chain::{self, Data};

/// A `--state` file, locked for as long as this value lives.
pub struct StateFile {
    /// The path as the user gave it (for messages).
    shown: String,
    /// The file a save replaces (the end of the symlink chain).
    target: PathBuf,
    /// The locked `FILE.lock`; dropping it releases the lock.
    _lock: File,
}

impl StateFile {
    /// Locks the state file at `path` (waiting for another run to finish if `wait`), cleans up
    /// stale temporary files beside it and loads its committed STATE (a missing file is an
    /// empty STATE, created on save).
    pub fn open(path: &Path, wait: bool) -> Result<(StateFile, BTreeMap<String, Data>), String> {
        let shown = path.display().to_string();
        let target = atomic_file::resolve(path).map_err(|e| format!("error: state file {shown}: {e}"))?;
        if target.is_dir() {
            return Err(format!("error: state file {shown} is a directory"));
        }
        let dir = atomic_file::dir_of(&target);
        if !dir.is_dir() {
            return Err(format!(
                "error: cannot use state file {shown}: its directory {} does not exist",
                dir.display()
            ));
        }
        let lock = lock(&target, &shown, wait)?;
        // Holding the lock, no other run is writing this state file: its temporaries are stale.
        atomic_file::remove_stale(dir, &atomic_file::temp_prefix(&target), std::time::Duration::ZERO);
        // Temporaries of earlier versions (a shared name, so only old ones are surely stale).
        atomic_file::remove_stale(dir, ".zexus-state-", std::time::Duration::from_secs(600));
        let committed = load(&target, &shown)?;
        if let Ok(meta) = std::fs::metadata(&target)
            && std::os::unix::fs::MetadataExt::nlink(&meta) > 1
        {
            // An atomic save is a rename, which can only replace one name of the file.
            eprintln!(
                "warning: state file {shown} has {} hard links; saving replaces this name only, the others keep the old STATE",
                std::os::unix::fs::MetadataExt::nlink(&meta)
            );
        }
        Ok((StateFile { shown, target, _lock: lock }, committed))
    }

    /// Saves committed STATE atomically (the lock is still held).
    pub fn save(&self, state: &BTreeMap<String, Data>) -> Result<(), String> {
        save_to(&self.target, &self.shown, state, |file, bytes| file.write_all(bytes))
    }
}

/// The sidecar lock file of `target`: `NAME.lock` in the same directory.
pub fn lock_path(target: &Path) -> PathBuf {
    let mut name = target.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".lock");
    target.with_file_name(name)
}

fn lock(target: &Path, shown: &str, wait: bool) -> Result<File, String> {
    let path = lock_path(target);
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| format!("error: cannot lock state file {shown}: cannot open {}: {e}", path.display()))?;
    match file.try_lock() {
        Ok(()) => return Ok(file),
        Err(TryLockError::Error(e)) => {
            return Err(format!("error: cannot lock state file {shown}: {e}"));
        }
        Err(TryLockError::WouldBlock) if !wait => {
            return Err(format!(
                "error: state file {shown} is in use by another run (it holds {}); \
                 pass --state-wait to wait for it",
                path.display()
            ));
        }
        Err(TryLockError::WouldBlock) => {}
    }
    eprintln!("waiting for state file {shown}: another run holds {}", path.display());
    file.lock().map_err(|e| format!("error: cannot lock state file {shown}: {e}"))?;
    Ok(file)
}

/// Reads committed STATE from `path`; a missing file is an empty STATE (created on save).
pub fn load(path: &Path, shown: &str) -> Result<BTreeMap<String, Data>, String> {
    let bytes = match input::read_limited(path, input::MAX_STATE_BYTES) {
        Ok(bytes) => bytes,
        Err(input::ReadError::NotFound) => return Ok(BTreeMap::new()),
        Err(input::ReadError::NotRegular("a directory")) => {
            return Err(format!("error: state file {shown} is a directory"));
        }
        Err(e) => return Err(format!("error: cannot read state file {shown}: {e}")),
    };
    let meta = std::fs::metadata(path).map_err(|e| format!("error: cannot read state file {shown}: {e}"))?;
    if meta.permissions().readonly() {
        return Err(format!("error: state file {shown} is read-only, so STATE could not be saved to it"));
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        format!(
            "error: state file {shown} is corrupt: not valid UTF-8 (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        )
    })?;
    chain::state_from_json_text(&text).map_err(|e| format!("error: state file {shown} is corrupt: {e}"))
}

/// Saves committed STATE to `path` atomically, without the lock (for tools and tests).
pub fn save(path: &Path, state: &BTreeMap<String, Data>) -> Result<(), String> {
    save_with(path, state, |file, bytes| file.write_all(bytes))
}

/// [`save`] with the byte-writing step supplied by the caller (tests use a writer that fails
/// half-way to show the old file survives).
pub fn save_with(
    path: &Path,
    state: &BTreeMap<String, Data>,
    write: impl FnOnce(&mut std::fs::File, &[u8]) -> std::io::Result<()>,
) -> Result<(), String> {
    save_to(path, &path.display().to_string(), state, write)
}

fn save_to(
    path: &Path,
    shown: &str,
    state: &BTreeMap<String, Data>,
    write: impl FnOnce(&mut std::fs::File, &[u8]) -> std::io::Result<()>,
) -> Result<(), String> {
    let text = chain::state_to_json_text(state).map_err(|e| format!("error: cannot save STATE to {shown}: {e}"))?;
    atomic_file::write(path, |file| write(file, text.as_bytes()))
        .map_err(|why| format!("error: cannot save STATE to {shown}: {why}"))
}
