//! Bounded reads of input files: the program, a theme, a `--state` file and a cache entry.
//!
//! Every reader goes through [`read_limited`]: the file is opened without blocking (a FIFO
//! with no writer does not hang the open), anything but a regular file is refused before a
//! byte is read (`/dev/zero`, a FIFO, a socket, a directory), and a file larger than the
//! reader's documented limit is refused by its size and never read past the limit.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// Largest program source read: 64 MiB.
pub const MAX_PROGRAM_BYTES: u64 = 64 << 20;
/// Largest theme file read: 1 MiB.
pub const MAX_THEME_BYTES: u64 = 1 << 20;
/// Largest `--state` file read: 256 MiB.
pub const MAX_STATE_BYTES: u64 = 256 << 20;
/// Largest bytecode cache entry read: 64 MiB (a larger entry is a cache miss).
pub const MAX_CACHE_ENTRY_BYTES: u64 = 64 << 20;

/// Why an input could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// The file does not exist.
    NotFound,
    /// The path names something that is not a regular file.
    NotRegular(&'static str),
    /// The file is larger than the limit.
    TooLarge {
        /// Its size in bytes.
        size: u64,
        /// The limit in bytes.
        limit: u64,
    },
    /// Any other I/O failure.
    Io(std::io::Error),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::NotFound => write!(f, "no such file"),
            ReadError::NotRegular(kind) => write!(f, "it is {kind}, not a regular file"),
            ReadError::TooLarge { size, limit } => {
                write!(f, "it is {} bytes, larger than the limit of {} bytes ({})", size, limit, mib(*limit))
            }
            ReadError::Io(e) if e.kind() == std::io::ErrorKind::PermissionDenied => write!(f, "permission denied"),
            ReadError::Io(e) => write!(f, "{e}"),
        }
    }
}

fn mib(bytes: u64) -> String {
    if bytes >= 1 << 20 { format!("{} MiB", bytes >> 20) } else { format!("{} KiB", bytes >> 10) }
}

impl From<std::io::Error> for ReadError {
    fn from(e: std::io::Error) -> ReadError {
        if e.kind() == std::io::ErrorKind::NotFound { ReadError::NotFound } else { ReadError::Io(e) }
    }
}

/// What a non-regular file is, in words.
fn kind_of(ft: std::fs::FileType) -> &'static str {
    if ft.is_dir() {
        "a directory"
    } else if ft.is_fifo() {
        "a FIFO"
    } else if ft.is_char_device() {
        "a character device"
    } else if ft.is_block_device() {
        "a block device"
    } else if ft.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

/// Opens `path` for reading without blocking on a FIFO, and checks that it is a regular file.
pub fn open_regular(path: &Path) -> Result<File, ReadError> {
    let file = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY).open(path)?;
    let ft = file.metadata()?.file_type();
    if !ft.is_file() {
        return Err(ReadError::NotRegular(kind_of(ft)));
    }
    Ok(file)
}

/// Reads the regular file `path` whole, refusing it if it is larger than `limit` bytes.
pub fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let file = open_regular(path)?;
    let size = file.metadata()?.len();
    if size > limit {
        return Err(ReadError::TooLarge { size, limit });
    }
    let mut bytes = Vec::with_capacity(size as usize);
    // The file may grow between the check and the read: never read past the limit.
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge { size: bytes.len() as u64, limit });
    }
    Ok(bytes)
}

/// Reads a program's source: a missing, unreadable, non-UTF-8 file, a directory, anything but
/// a regular file (a FIFO, `/dev/zero`) or a file over [`MAX_PROGRAM_BYTES`] is a
/// one-line error. A UTF-8 byte-order mark at the start is skipped.
pub fn read_source(path: &std::path::Path) -> Result<String, String> {
    let shown = path.display();
    let bytes = read_limited(path, MAX_PROGRAM_BYTES).map_err(|e| match e {
        ReadError::NotRegular("a directory") => format!("error: {shown} is a directory, not a Zexus program"),
        e => format!("error: cannot read {shown}: {e}"),
    })?;
    let mut text = String::from_utf8(bytes).map_err(|e| {
        format!("error: {shown} is not valid UTF-8 (invalid byte at offset {})", e.utf8_error().valid_up_to())
    })?;
    if text.starts_with('\u{feff}') {
        text.replace_range(..'\u{feff}'.len_utf8(), "");
    }
    Ok(text)
}
