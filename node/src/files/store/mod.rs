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
//!
//! Taking a local file in is `ingest.rs`; the outlines are `outline.rs`.

mod ingest;
mod outline;

use std::fs::{self, File};
use std::io;
use std::os::unix::fs::{FileExt, PermissionsExt};
use std::path::{Path, PathBuf};

use r2com_protocol::files::{piece_len, Hash32, PIECE};

use super::FileError;
use crate::data_dir::FILES_DIR;

pub use ingest::{sniff, Ingested};

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

    fn sync_dir(&self) -> Result<(), FileError> {
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| FileError::io(&self.dir, e))
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

#[cfg(test)]
mod tests;
