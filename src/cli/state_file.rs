//! `--state FILE`: loading committed STATE at start and saving it atomically at the end.
//!
//! The save writes a temporary file in the same folder, syncs it to disk and renames it over
//! the old file, so a crash or kill at any moment leaves either the old or the new file, never
//! a torn one; on any failure the old file is left untouched.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use crate::input;
use crate::vm::chain::{self, Data};

/// Reads committed STATE from `path`; a missing file is an empty STATE (created on save).
pub fn load(path: &Path) -> Result<BTreeMap<String, Data>, String> {
    let shown = path.display();
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
        format!("error: state file {shown} is corrupt: not valid UTF-8 (invalid byte at offset {})", e.utf8_error().valid_up_to())
    })?;
    chain::state_from_json_text(&text).map_err(|e| format!("error: state file {shown} is corrupt: {e}"))
}

/// Saves committed STATE to `path` atomically.
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
    let shown = path.display();
    let text = chain::state_to_json_text(state).map_err(|e| format!("error: cannot save STATE to {shown}: {e}"))?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let fail = |what: &str, e: std::io::Error| format!("error: cannot save STATE to {shown}: {what}: {e}");
    let mut tmp = tempfile::Builder::new()
        .prefix(".zexus-state-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| fail("cannot create a temporary file beside it", e))?;
    write(tmp.as_file_mut(), text.as_bytes()).map_err(|e| fail("write failed", e))?;
    tmp.as_file().sync_all().map_err(|e| fail("sync failed", e))?;
    // Dropping `tmp` on any error above deletes the temporary file; `persist` renames it.
    tmp.persist(path).map_err(|e| fail("rename failed", e.error))?;
    Ok(())
}
