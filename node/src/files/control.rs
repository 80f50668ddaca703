//! The running node's answers to `attach` and `attachment get`: the disk
//! work (hashing, copying) and the fetch run off the library thread, which
//! only reads and writes records.

use std::path::{Path, PathBuf};

use chrono::Utc;
use tokio::sync::mpsc;

use r2com_protocol::control::{ApiError, Attached, ErrorCode, FileWritten};

use super::{parse_hash, FileError, FileStore};
use crate::library_thread::LibraryHandle;
use crate::net::NetHandle;

fn absolute(p: &str) -> Result<PathBuf, ApiError> {
    let path = PathBuf::from(p);
    if path.is_absolute() {
        Ok(path)
    } else {
        Err(ApiError::new(
            ErrorCode::Invalid,
            format!("{p} is not an absolute path"),
        ))
    }
}

fn joined(e: tokio::task::JoinError) -> ApiError {
    ApiError::new(ErrorCode::Internal, e.to_string())
}

/// `Attach`: copy the file into the store, then add the reference.
pub async fn attach(
    library: &LibraryHandle,
    store: &FileStore,
    id: String,
    path: String,
    title: Option<String>,
    language: Option<String>,
) -> Result<Attached, ApiError> {
    let path = absolute(&path)?;
    let check = id.clone();
    library
        .with(move |l| l.find_record(&check).map(|_| ()))
        .await??;
    let s = store.clone();
    let attachment = tokio::task::spawn_blocking(move || {
        s.ingest(&path)
            .map(|stored| stored.attachment(&path, title, language))
    })
    .await
    .map_err(joined)??;
    let (record, attachment) = library
        .with(move |l| l.attach(&id, attachment, Utc::now()))
        .await??;
    Ok(Attached {
        record: format!("{}/{}", record.kind(), record.id()),
        attachment,
    })
}

/// `AttachmentGet`: fetch the file from members unless held, then write it
/// to `out`. `progress` hears (bytes held, size).
pub async fn get(
    library: &LibraryHandle,
    store: &FileStore,
    net: &NetHandle,
    hash: String,
    out: String,
    progress: mpsc::Sender<(u64, u64)>,
) -> Result<FileWritten, ApiError> {
    let h = parse_hash(&hash).ok_or_else(|| {
        ApiError::new(
            ErrorCode::Invalid,
            format!("{hash:?} is not a file hash (64 lowercase hex digits)"),
        )
    })?;
    let out_path = absolute(&out)?;
    let wanted = hash.clone();
    let size = library
        .with(move |l| l.reference(&wanted))
        .await??
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::NotFound,
                format!("no practice or event refers to file {hash}"),
            )
        })?
        .size;
    let fetched = net.fetch(store, h, size, Some(progress)).await?;
    let s = store.clone();
    let bytes = tokio::task::spawn_blocking(move || s.export(&h, Path::new(&out_path)))
        .await
        .map_err(joined)?
        .map_err(|e: FileError| ApiError::from(e))?;
    Ok(FileWritten {
        hash,
        written: out,
        bytes,
        fetched: fetched.fetched,
        resumed: fetched.resumed,
        from: fetched.from,
    })
}
