//! The content-addressed file store in `DATA_DIR/files/`:
//!
//! | file | what |
//! |---|---|
//! | `HASH` | a whole file whose BLAKE3 is `HASH` (read-only, 0400) |
//! | `HASH.outline` | the chaining value of each 1 MiB piece (32 bytes each; absent for one-piece files) |
//! | `HASH.part` | a fetch under way: pieces land at their offsets, each verified |
//! | `.r2com-*.tmp` | a file being attached or completed |
//!
//! A file becomes visible under its hash only after it was written to a
//! temporary file, fsynced, and renamed (and the directory fsynced), so a
//! crash leaves it whole or absent. Files are streamed in pieces: none is
//! ever held in memory whole.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::unix::fs::{FileExt, PermissionsExt};
use std::path::{Path, PathBuf};

use blake3::hazmat::ChainingValue;
use r2com_protocol::files::{piece_count, piece_cv, piece_len, Hash32, Verifier, PIECE};

use super::FileError;
use crate::data_dir::FILES_DIR;

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

/// The content-addressed store of one node.
#[derive(Clone, Debug)]
pub struct FileStore {
    dir: PathBuf,
    max_size: u64,
    /// Pieces fetched and served (exported when metrics are on).
    pub metrics: crate::metrics::FileMetrics,
}

/// A file's hash as hex.
pub fn hex32(h: &Hash32) -> String {
    hex::encode(h)
}

/// A hex hash as bytes (`None` unless 64 lowercase hex digits).
pub fn parse_hash(s: &str) -> Option<Hash32> {
    r2com_protocol::record::attachment::hash(s).ok()?;
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).ok()?;
    Some(out)
}

impl FileStore {
    pub fn new(data_dir: &Path, max_size: u64) -> FileStore {
        FileStore {
            dir: data_dir.join(FILES_DIR),
            max_size,
            metrics: Default::default(),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn max_size(&self) -> u64 {
        self.max_size
    }

    pub fn path(&self, hash: &Hash32) -> PathBuf {
        self.dir.join(hex32(hash))
    }

    pub fn part_path(&self, hash: &Hash32) -> PathBuf {
        self.dir.join(format!("{}.part", hex32(hash)))
    }

    fn outline_path(&self, hash: &Hash32) -> PathBuf {
        self.dir.join(format!("{}.outline", hex32(hash)))
    }

    fn ensure_dir(&self) -> Result<(), FileError> {
        fs::create_dir_all(&self.dir).map_err(|e| FileError::io(&self.dir, e))?;
        let _ = fs::set_permissions(&self.dir, fs::Permissions::from_mode(0o700));
        Ok(())
    }

    /// The size of the file, if held whole.
    pub fn holds(&self, hash: &Hash32) -> Option<u64> {
        fs::metadata(self.path(hash))
            .ok()
            .filter(|m| m.is_file())
            .map(|m| m.len())
    }

    /// Every file held whole: hash and size.
    pub fn held(&self) -> Result<Vec<(Hash32, u64)>, FileError> {
        let rd = match fs::read_dir(&self.dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(FileError::io(&self.dir, e)),
        };
        let mut out = Vec::new();
        for entry in rd {
            let entry = entry.map_err(|e| FileError::io(&self.dir, e))?;
            let name = entry.file_name();
            if let Some(h) = name.to_str().and_then(parse_hash) {
                if let Ok(m) = entry.metadata() {
                    out.push((h, m.len()));
                }
            }
        }
        out.sort();
        Ok(out)
    }

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

    fn sync_dir(&self) -> Result<(), FileError> {
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| FileError::io(&self.dir, e))
    }

    /// Keep a verified outline beside the file (or its part).
    pub fn write_outline(&self, hash: &Hash32, cvs: &[ChainingValue]) -> Result<(), FileError> {
        self.ensure_dir()?;
        let path = self.outline_path(hash);
        let mut tmp = tempfile::Builder::new()
            .prefix(".r2com-")
            .suffix(".tmp")
            .tempfile_in(&self.dir)
            .map_err(|e| FileError::io(&self.dir, e))?;
        for cv in cvs {
            tmp.write_all(cv).map_err(|e| FileError::io(&path, e))?;
        }
        tmp.as_file()
            .sync_all()
            .map_err(|e| FileError::io(&path, e))?;
        tmp.persist(&path)
            .map_err(|e| FileError::io(&path, e.error))?;
        Ok(())
    }

    /// The outline of a file held whole or in part (recomputed from a whole
    /// file whose outline is missing), as a verifier. `None` if neither the
    /// file nor a verified outline is here.
    pub fn verifier(&self, hash: &Hash32, size: u64) -> Result<Option<Verifier>, FileError> {
        if piece_count(size) == 1 {
            return Ok(Some(
                Verifier::new(*hash, size, size, &[] as &[&[u8]]).expect("one piece"),
            ));
        }
        let path = self.outline_path(hash);
        let cvs: Vec<ChainingValue> = match fs::read(&path) {
            Ok(bytes) => bytes
                .chunks(32)
                .filter_map(|c| <ChainingValue>::try_from(c).ok())
                .collect(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if self.holds(hash) != Some(size) {
                    return Ok(None);
                }
                let cvs = self.compute_outline(hash, size)?;
                self.write_outline(hash, &cvs)?;
                cvs
            }
            Err(e) => return Err(FileError::io(&path, e)),
        };
        // A damaged outline file is dropped, not trusted.
        Ok(Verifier::new(*hash, size, size, &cvs).ok())
    }

    fn compute_outline(&self, hash: &Hash32, size: u64) -> Result<Vec<ChainingValue>, FileError> {
        let mut cvs = Vec::new();
        for i in 0..piece_count(size) {
            let bytes = self.read_piece(hash, size, i)?.ok_or(FileError::Vanished)?;
            cvs.push(piece_cv(i, &bytes));
        }
        Ok(cvs)
    }

    /// Piece `index` of a file held whole (`None` if not held).
    pub fn read_piece(
        &self,
        hash: &Hash32,
        size: u64,
        index: u64,
    ) -> Result<Option<Vec<u8>>, FileError> {
        let path = self.path(hash);
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(FileError::io(&path, e)),
        };
        read_at(&file, size, index)
            .map(Some)
            .map_err(|e| FileError::io(&path, e))
    }

    /// Re-hash a file held whole; whether it still has its hash.
    pub fn check(&self, hash: &Hash32) -> Result<bool, FileError> {
        let path = self.path(hash);
        let mut f = File::open(&path).map_err(|e| FileError::io(&path, e))?;
        let mut hasher = blake3::Hasher::new();
        io::copy(&mut f, &mut hasher).map_err(|e| FileError::io(&path, e))?;
        Ok(hasher.finalize().as_bytes() == hash)
    }

    /// Make a complete part visible: check the whole file's hash, fsync,
    /// rename, fsync the directory.
    pub fn complete(&self, hash: &Hash32) -> Result<(), FileError> {
        let part = self.part_path(hash);
        let mut f = File::open(&part).map_err(|e| FileError::io(&part, e))?;
        let mut hasher = blake3::Hasher::new();
        io::copy(&mut f, &mut hasher).map_err(|e| FileError::io(&part, e))?;
        if hasher.finalize().as_bytes() != hash {
            let _ = fs::remove_file(&part);
            return Err(FileError::Corrupt);
        }
        f.sync_all().map_err(|e| FileError::io(&part, e))?;
        fs::set_permissions(&part, fs::Permissions::from_mode(0o400))
            .map_err(|e| FileError::io(&part, e))?;
        fs::rename(&part, self.path(hash)).map_err(|e| FileError::io(&part, e))?;
        self.sync_dir()
    }

    /// Remove a file and its outline and part (absent ones are fine).
    pub fn remove(&self, hash: &Hash32) -> Result<bool, FileError> {
        let mut removed = false;
        for p in [
            self.path(hash),
            self.part_path(hash),
            self.outline_path(hash),
        ] {
            match fs::remove_file(&p) {
                Ok(()) => removed = true,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(FileError::io(&p, e)),
            }
        }
        Ok(removed)
    }

    /// Copy a held file to `out` (a temporary file beside it, fsynced,
    /// renamed; readable by its owner only).
    pub fn export(&self, hash: &Hash32, out: &Path) -> Result<u64, FileError> {
        let src = self.path(hash);
        let mut input = File::open(&src).map_err(|e| FileError::io(&src, e))?;
        let dir = match out.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let mut tmp = tempfile::Builder::new()
            .prefix(".r2com-")
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(|e| FileError::io(out, e))?;
        let n = io::copy(&mut input, &mut tmp).map_err(|e| FileError::io(out, e))?;
        tmp.as_file()
            .sync_all()
            .map_err(|e| FileError::io(out, e))?;
        tmp.persist(out).map_err(|e| FileError::io(out, e.error))?;
        Ok(n)
    }
}

/// Piece `index` of a file of `size` bytes.
pub(super) fn read_at(file: &File, size: u64, index: u64) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; piece_len(size, index) as usize];
    file.read_exact_at(&mut buf, index * PIECE)?;
    Ok(buf)
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

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
