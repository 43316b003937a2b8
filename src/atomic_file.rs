//! Atomic replacement of a file: every file the program writes for the user (the `--state`
//! file, traces, profiles, exported traces) goes through [`write`].
//!
//! The new contents go to a temporary file beside the target, are synced to disk, take the
//! old file's mode (and owner, where the process may set it), and are renamed over the target;
//! then the directory is synced so the rename itself survives a crash. A crash, a kill or a
//! full disk at any moment leaves either the old file or the new one, never a torn one, and a
//! failure leaves the old file untouched. A symlink is followed: the real file is replaced and
//! the link keeps pointing at it. (A file with several hard links is replaced under this name
//! only; the other names keep the old contents.)

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// The prefix of the temporary files for `target` (in its directory): `.NAME.tmp-`.
pub fn temp_prefix(target: &Path) -> String {
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    format!(".{name}.tmp-")
}

/// The file a write to `path` replaces: `path` itself, or the end of its chain of symlinks.
pub fn resolve(path: &Path) -> io::Result<PathBuf> {
    let mut current = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let link = std::fs::read_link(&current)?;
                current = match current.parent() {
                    Some(dir) if link.is_relative() => dir.join(link),
                    _ => link,
                };
            }
            Ok(_) => return Ok(current),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(current),
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other("too many levels of symbolic links"))
}

/// The directory holding `path` (`.` for a bare file name).
pub fn dir_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Replaces `path` atomically with what `fill` writes. The error says which step failed.
pub fn write(path: &Path, fill: impl FnOnce(&mut File) -> io::Result<()>) -> Result<(), String> {
    let mut pending = Pending::create(path)?;
    fill(pending.file()).map_err(|e| format!("write failed: {e}"))?;
    pending.commit()
}

/// A replacement of a file being written (for output streamed during a run): nothing is
/// visible at the target until [`Pending::commit`]; dropping it uncommitted deletes the
/// temporary file and leaves the old one.
pub struct Pending {
    tmp: tempfile::NamedTempFile,
    target: PathBuf,
    old: Option<std::fs::Metadata>,
}

impl Pending {
    /// Starts replacing `path` (symlinks followed): a temporary file beside the real target.
    pub fn create(path: &Path) -> Result<Pending, String> {
        let target = resolve(path).map_err(|e| format!("cannot resolve the path: {e}"))?;
        let old = std::fs::metadata(&target).ok();
        // A new file gets the mode `File::create` would give it (0666 less the umask), not
        // tempfile's private 0600; an existing file's mode is copied at commit.
        let tmp = tempfile::Builder::new()
            .prefix(&temp_prefix(&target))
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666))
            .tempfile_in(dir_of(&target))
            .map_err(|e| format!("cannot create a temporary file beside it: {e}"))?;
        Ok(Pending { tmp, target, old })
    }

    /// The temporary file to write to.
    pub fn file(&mut self) -> &mut File {
        self.tmp.as_file_mut()
    }

    /// Syncs the new contents, gives them the old file's mode and owner, renames them over
    /// the target and syncs the directory.
    pub fn commit(mut self) -> Result<(), String> {
        self.tmp.as_file_mut().flush().map_err(|e| format!("write failed: {e}"))?;
        if let Some(old) = &self.old {
            keep_metadata(self.tmp.as_file(), old).map_err(|e| format!("cannot keep the file's mode: {e}"))?;
        }
        self.tmp.as_file().sync_all().map_err(|e| format!("sync failed: {e}"))?;
        // Dropping `tmp` on any error above deletes the temporary file; `persist` renames it.
        self.tmp.persist(&self.target).map_err(|e| format!("rename failed: {}", e.error))?;
        sync_dir(dir_of(&self.target)).map_err(|e| format!("sync of the directory failed: {e}"))?;
        Ok(())
    }
}

/// Gives `file` the mode of `old`, and its owner and group where the process may.
fn keep_metadata(file: &File, old: &std::fs::Metadata) -> io::Result<()> {
    file.set_permissions(old.permissions())?;
    // Only root may give a file away; anyone may keep their own uid and a group they are in.
    // A refusal leaves the new file owned by this process, which is the best it can do.
    let _ = std::os::unix::fs::fchown(file, Some(old.uid()), Some(old.gid()));
    Ok(())
}

/// Writes each `(name, bytes)` as a file of directory `dir` (made, with its parents, if
/// missing), each through [`write`]; returns the paths written. Stops at the first failure,
/// naming the file.
pub fn write_files(dir: &Path, files: &[(&str, &[u8])]) -> Result<Vec<PathBuf>, String> {
    if dir.exists() && !dir.is_dir() {
        return Err(format!("{} exists and is not a directory", dir.display()));
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut written = Vec::new();
    for (name, bytes) in files {
        let path = dir.join(name);
        write(&path, |f| f.write_all(bytes)).map_err(|e| format!("{}: {e}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

/// Syncs a directory, so a rename in it is on disk.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Deletes files in `dir` whose names start with `prefix` and that were last modified more
/// than `min_age` ago (temporary files left by a killed process); returns how many.
pub fn remove_stale(dir: &Path, prefix: &str, min_age: std::time::Duration) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    let now = std::time::SystemTime::now();
    let mut removed = 0;
    for entry in entries.flatten() {
        if !entry.file_name().to_string_lossy().starts_with(prefix) {
            continue;
        }
        let Ok(meta) = entry.metadata() else { continue };
        let old_enough =
            meta.modified().ok().and_then(|t| now.duration_since(t).ok()).is_some_and(|age| age >= min_age);
        if meta.is_file() && old_enough && std::fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// Whether `a` and `b` name the same existing file (after symlinks).
pub fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}
