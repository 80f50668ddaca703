//! Learning materials: files attached to practices and events.
//!
//! Records hold only references (`{hash, size, media type, file name,
//! title, language}`, see [`r2com_protocol::record::Attachment`]); the
//! bytes live in each node's content-addressed [`store::FileStore`]. A
//! node fetches a file only when asked ([`fetch`]): from the connected
//! members that hold it, a verified 1 MiB piece at a time, into
//! `HASH.part`, which survives a restart. Members serve whole files they
//! hold ([`serve`]) over `/r2com/files/1`, to members only.

pub mod control;
pub mod fetch;
pub mod prefetch;
pub mod serve;
pub mod store;

use std::path::{Path, PathBuf};

use r2com_protocol::control::{ApiError, ErrorCode};

pub use store::{hex32, parse_hash, FileStore, Ingested};

/// Default largest file (100 MB).
pub const DEFAULT_MAX_SIZE: u64 = 100 * 1000 * 1000;

/// Why a file could not be stored, read or fetched.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
    #[error("{0} is not a regular file")]
    NotAFile(PathBuf),
    #[error("the file has {size} bytes, more than the {max} allowed ([attachments] max_size_mb in config.toml)")]
    TooLarge { size: u64, max: u64 },
    #[error("the fetched file does not have its hash; it was discarded")]
    Corrupt,
    #[error("the file vanished while it was read")]
    Vanished,
    #[error("{0}")]
    NotFound(String),
    /// The fetch could not complete (no holder, lost connections); what
    /// was fetched is kept in the part file.
    #[error("{0}")]
    Unavailable(String),
}

impl FileError {
    pub(crate) fn io(path: &Path, e: std::io::Error) -> FileError {
        FileError::Io(path.to_owned(), e)
    }
}

impl From<FileError> for ApiError {
    fn from(e: FileError) -> Self {
        let code = match &e {
            FileError::NotAFile(_) | FileError::TooLarge { .. } => ErrorCode::Invalid,
            FileError::NotFound(_) => ErrorCode::NotFound,
            FileError::Unavailable(_) => ErrorCode::Unavailable,
            _ => ErrorCode::Internal,
        };
        ApiError::new(code, e.to_string())
    }
}

/// What a fetch did ([`fetch::fetch`]; the control API reports it).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fetched {
    /// Bytes received from members this time.
    pub fetched: u64,
    /// Bytes found verified in the part file from an earlier attempt.
    pub resumed: u64,
    /// The members pieces came from (base58 PeerIds).
    pub from: Vec<String>,
}

/// `[attachments] prefetch`: which files a node fetches without being asked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Prefetch {
    /// Only what is asked for (`attachment get`, the web app's link).
    #[default]
    None,
    /// Every file any record refers to (a backup node).
    All,
    /// Files of records of this node's own organisation.
    Organisation,
}
