//! Backups: one file holding a node's history as signed, to rebuild the
//! node from (`r2com backup`, `r2com restore`, `r2com verify --backup`).
//!
//! The file is a zstd stream (with zstd's own checksum) of JSON lines:
//!
//! 1. `{"manifest": {...}}`: format, when, whose node, which consortium;
//! 2. `{"change": BASE64}` for every signed change (its envelope, whole);
//! 3. `{"entry": BASE64}` for every signed roster entry (after the changes:
//!    a backup taken while the node runs holds the entries of every change
//!    in it, since an author is admitted before its changes are stored);
//! 4. `{"addr": MULTIADDR}` for every peer address the node keeps;
//! 5. for every attachment file the node holds whole (unless the backup
//!    is made `--without-files`), `{"file": {"hash", "size"}}` and its
//!    bytes in `{"piece": BASE64}` lines of at most 1 MiB ([`files`]);
//! 6. `{"end": {...}}`: the counts and the SHA-256 of every line before it.
//!
//! Written and read as a stream: a large library never sits in memory
//! whole. Reading checks the checksum and counts, every entry's and every
//! change's signature, every change's author against the roster the
//! backup's entries make, and every file's BLAKE3 hash ([`read`]);
//! restoring stores nothing until all of that passed, and builds the store
//! beside the final one ([`restore`]). Backups of format 1 (before files)
//! are read and restored too.
//!
//! The node key is never in a backup: it is the one secret, kept apart.

mod files;
mod read;
mod restore;
mod write;

use serde::{Deserialize, Serialize};

pub use r2com_protocol::control::BackupReport;
pub use read::verify;
pub use restore::restore;
pub use write::{write, Source};

/// The format name in the manifest.
pub const FORMAT: &str = "r2com-backup/2";
/// The formats read: 1 has no files.
const READS: [&str; 2] = ["r2com-backup/1", FORMAT];
/// Longest line read (a change envelope is far smaller).
const MAX_LINE: u64 = 64 * 1024 * 1024;
/// zstd level: fast, and most of a backup is text.
const LEVEL: i32 = 3;

/// Why a backup could not be made, read or restored. Nothing was stored.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The file is damaged, truncated, forged or not a backup.
    #[error("{path}: not a valid backup: {reason}")]
    Bad { path: String, reason: String },
    /// The backup is fine but cannot go where it was asked to.
    #[error("{0}")]
    Refused(String),
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    #[error(transparent)]
    Library(#[from] crate::library::LibraryError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

impl From<BackupError> for r2com_protocol::control::ApiError {
    fn from(e: BackupError) -> Self {
        use r2com_protocol::control::{ApiError, ErrorCode};
        let code = match &e {
            BackupError::Bad { .. } => ErrorCode::VerifyFailed,
            BackupError::Refused(_) => ErrorCode::Invalid,
            _ => ErrorCode::Internal,
        };
        ApiError::new(code, e.to_string())
    }
}

/// The first line.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    format: String,
    /// RFC 3339.
    created_at: String,
    /// The node's public key (hex) and PeerId.
    node_key: String,
    peer_id: String,
    /// The consortium id (hex).
    consortium: String,
    /// The r2com version that wrote it.
    software: String,
}

/// The last line.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct End {
    changes: u64,
    entries: u64,
    addrs: u64,
    /// Files and their bytes (absent in format 1).
    #[serde(default)]
    files: u64,
    #[serde(default)]
    file_bytes: u64,
    /// SHA-256 (hex) of every line before this one, newlines included.
    sha256: String,
}

/// One line.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum Line {
    Manifest(Manifest),
    Change(String),
    Entry(String),
    Addr(String),
    File(files::FileHead),
    /// Up to 1 MiB of the file the last `File` line opened (base64).
    Piece(String),
    End(End),
}
