//! Taking a local file into the store: streamed a piece at a time, hashed,
//! its media type sniffed from its first bytes, and made visible under its
//! hash only once it is on disk.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use blake3::hazmat::ChainingValue;
use r2com_protocol::files::{piece_count, piece_cv, PIECE};

use super::{hex32, FileStore};
use crate::files::FileError;

/// Bytes read to sniff a file's media type.
const SNIFF_LEN: usize = 8192;

/// A file ingested into the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ingested {
    pub hash: String,
    pub size: u64,
    pub media_type: String,
}

impl Ingested {
    /// The record's reference to this file, ingested from `path`: the file
    /// name is `path`'s, and the title defaults to it.
    pub fn attachment(
        self,
        path: &std::path::Path,
        title: Option<String>,
        language: Option<String>,
    ) -> r2com_protocol::record::Attachment {
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        r2com_protocol::record::Attachment {
            hash: self.hash,
            size: self.size,
            media_type: self.media_type,
            title: title.unwrap_or_else(|| file_name.clone()),
            file_name,
            language,
        }
    }
}

impl FileStore {
    /// Copy `src` into the store (streamed: hashed and written a piece at
    /// a time), refusing files above the configured maximum.
    pub fn ingest(&self, src: &Path) -> Result<Ingested, FileError> {
        let mut input = File::open(src).map_err(|e| FileError::io(src, e))?;
        let meta = input.metadata().map_err(|e| FileError::io(src, e))?;
        if !meta.is_file() {
            return Err(FileError::NotAFile(src.to_owned()));
        }
        if meta.len() > self.max_size {
            return Err(FileError::TooLarge {
                size: meta.len(),
                max: self.max_size,
            });
        }
        self.ensure_dir()?;
        let mut tmp = tempfile::Builder::new()
            .prefix(".r2com-")
            .suffix(".tmp")
            .tempfile_in(&self.dir)
            .map_err(|e| FileError::io(&self.dir, e))?;
        let mut hasher = blake3::Hasher::new();
        let mut cvs: Vec<ChainingValue> = Vec::new();
        let mut buf = vec![0u8; PIECE as usize];
        let mut size = 0u64;
        let mut head = Vec::new();
        loop {
            let n = read_full(&mut input, &mut buf).map_err(|e| FileError::io(src, e))?;
            if n == 0 {
                break;
            }
            if head.is_empty() {
                head = buf[..n.min(SNIFF_LEN)].to_vec();
            }
            cvs.push(piece_cv(size / PIECE, &buf[..n]));
            hasher.update(&buf[..n]);
            tmp.write_all(&buf[..n])
                .map_err(|e| FileError::io(tmp.path(), e))?;
            size += n as u64;
            if size > self.max_size {
                return Err(FileError::TooLarge {
                    size,
                    max: self.max_size,
                });
            }
            if (n as u64) < PIECE {
                break;
            }
        }
        let hash = *hasher.finalize().as_bytes();
        let media_type = sniff(&head);
        if self.holds(&hash).is_none() {
            tmp.as_file()
                .set_permissions(fs::Permissions::from_mode(0o400))
                .map_err(|e| FileError::io(tmp.path(), e))?;
            tmp.as_file()
                .sync_all()
                .map_err(|e| FileError::io(tmp.path(), e))?;
            if piece_count(size) > 1 {
                self.write_outline(&hash, &cvs)?;
            }
            tmp.persist(self.path(&hash))
                .map_err(|e| FileError::io(&self.path(&hash), e.error))?;
            self.sync_dir()?;
        }
        Ok(Ingested {
            hash: hex32(&hash),
            size,
            media_type,
        })
    }
}

/// Fill `buf` unless the input ends first; the bytes read.
fn read_full(input: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match input.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// The media type of a file from its first bytes: known signatures
/// (`infer`), else UTF-8 text, else opaque bytes.
pub fn sniff(head: &[u8]) -> String {
    if let Some(t) = infer::get(head) {
        return t.mime_type().to_owned();
    }
    let text = match std::str::from_utf8(head) {
        Ok(_) => true,
        // A multi-byte character cut at the end of the sniffed bytes.
        Err(e) => e.error_len().is_none() && head.len() == SNIFF_LEN,
    };
    if text && !head.contains(&0) {
        "text/plain".into()
    } else {
        "application/octet-stream".into()
    }
}
