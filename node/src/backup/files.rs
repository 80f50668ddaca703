//! Attachment files in a backup. After the addresses, each file the node
//! holds whole is one `{"file": {"hash", "size"}}` line followed by its
//! bytes in `{"piece": BASE64}` lines of at most 1 MiB, so that no file is
//! ever in memory whole, neither when writing nor when reading.
//!
//! Reading checks every file against its BLAKE3 hash as its pieces stream
//! by ([`Incoming`]); restoring writes them into the data directory's file
//! store through its part files, which the store checks once more before a
//! file becomes visible ([`Restoring`]).

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use base64::Engine;
use serde::{Deserialize, Serialize};

use r2com_protocol::files::{Hash32, PIECE};

use super::Line;
use crate::files::{hex32, parse_hash, FileStore};

/// The line that opens a file.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileHead {
    /// BLAKE3 (hex).
    pub hash: String,
    pub size: u64,
}

/// Write every file of `referenced` that `store` holds whole as lines to
/// `line`; the files and their bytes. A file erased (removed) while the
/// backup is written is left out.
pub(super) fn write_all(
    store: &FileStore,
    referenced: &BTreeSet<Hash32>,
    mut line: impl FnMut(&Line) -> io::Result<()>,
) -> io::Result<(u64, u64)> {
    let held = store.held().map_err(io::Error::other)?;
    let b64 = base64::engine::general_purpose::STANDARD;
    let (mut files, mut bytes) = (0u64, 0u64);
    let mut buf = vec![0u8; PIECE as usize];
    for (hash, _) in held.into_iter().filter(|(h, _)| referenced.contains(h)) {
        let mut f = match File::open(store.path(&hash)) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        let size = f.metadata()?.len();
        line(&Line::File(FileHead {
            hash: hex32(&hash),
            size,
        }))?;
        let mut left = size;
        while left > 0 {
            let n = left.min(PIECE) as usize;
            f.read_exact(&mut buf[..n])?;
            line(&Line::Piece(b64.encode(&buf[..n])))?;
            left -= n as u64;
        }
        files += 1;
        bytes += size;
    }
    Ok((files, bytes))
}

/// A file being read from a backup: its pieces hashed as they come.
pub(super) struct Incoming {
    pub hash: Hash32,
    pub size: u64,
    pub got: u64,
    hasher: blake3::Hasher,
}

impl Incoming {
    /// The file a `file` line opens.
    pub fn open(head: &FileHead) -> Result<Incoming, String> {
        let hash =
            parse_hash(&head.hash).ok_or_else(|| format!("file {:?}: not a hash", head.hash))?;
        Ok(Incoming {
            hash,
            size: head.size,
            got: 0,
            hasher: blake3::Hasher::new(),
        })
    }

    /// Whether every byte is in.
    pub fn complete(&self) -> bool {
        self.got == self.size
    }

    /// Take one piece (decoded); an error if it is too long or, once the
    /// file is complete, if the file does not have its hash.
    pub fn piece(&mut self, bytes: &[u8]) -> Result<(), String> {
        let short = &hex32(&self.hash)[..12];
        if bytes.is_empty()
            || bytes.len() as u64 > PIECE
            || self.got + bytes.len() as u64 > self.size
        {
            return Err(format!(
                "file {short}: a piece of {} bytes after {} of {}",
                bytes.len(),
                self.got,
                self.size
            ));
        }
        self.hasher.update(bytes);
        self.got += bytes.len() as u64;
        self.check()
    }

    /// Once complete: the BLAKE3 of the bytes is the file's hash.
    pub fn check(&self) -> Result<(), String> {
        if self.complete() && self.hasher.finalize().as_bytes() != &self.hash {
            return Err(format!(
                "file {}: its bytes do not have its BLAKE3 hash",
                hex32(&self.hash)
            ));
        }
        Ok(())
    }
}

/// Decode a piece line.
pub(super) fn decode_piece(b64: &str) -> Result<Vec<u8>, String> {
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|e| format!("piece: {e}"))
}

/// Files being put back into a store from a backup (already checked):
/// each written to its part file, then made visible by the store (which
/// checks its hash again). Files the store holds already are skipped.
pub(super) struct Restoring {
    store: FileStore,
    current: Option<Current>,
    /// The files put in (removed again by [`Restoring::undo`]).
    written: Vec<Hash32>,
}

/// The file being put back: its part file, `None` if already held.
struct Current {
    hash: Hash32,
    size: u64,
    got: u64,
    part: Option<File>,
}

impl Restoring {
    pub fn new(store: FileStore) -> io::Result<Restoring> {
        fs::create_dir_all(store.dir())?;
        fs::set_permissions(store.dir(), fs::Permissions::from_mode(0o700))?;
        Ok(Restoring {
            store,
            current: None,
            written: Vec::new(),
        })
    }

    /// Take one line of the backup (lines other than files are ignored).
    pub fn line(&mut self, line: &Line) -> Result<(), String> {
        match line {
            Line::File(head) => {
                let hash = parse_hash(&head.hash).ok_or("not a hash")?;
                let part = if self.store.holds(&hash) == Some(head.size) {
                    None
                } else {
                    let path = self.store.part_path(&hash);
                    Some(File::create(&path).map_err(|e| err(&path, e))?)
                };
                self.current = Some(Current {
                    hash,
                    size: head.size,
                    got: 0,
                    part,
                });
            }
            Line::Piece(b64) => {
                let Some(c) = &mut self.current else {
                    return Err("a piece outside a file".into());
                };
                let bytes = decode_piece(b64)?;
                if let Some(f) = &mut c.part {
                    f.write_all(&bytes)
                        .map_err(|e| err(&self.store.part_path(&c.hash), e))?;
                }
                c.got += bytes.len() as u64;
            }
            _ => return Ok(()),
        }
        if self.current.as_ref().is_some_and(|c| c.got == c.size) {
            self.finish()?;
        }
        Ok(())
    }

    /// The current file is complete: make it visible.
    fn finish(&mut self) -> Result<(), String> {
        let Some(Current {
            hash,
            part: Some(f),
            ..
        }) = self.current.take()
        else {
            return Ok(());
        };
        let path = self.store.part_path(&hash);
        f.sync_all().map_err(|e| err(&path, e))?;
        drop(f);
        self.store.complete(&hash).map_err(|e| e.to_string())?;
        self.written.push(hash);
        Ok(())
    }

    /// Remove what was put in (the restore failed).
    pub fn undo(self) {
        if let Some(c) = &self.current {
            if c.part.is_some() {
                let _ = self.store.remove(&c.hash);
            }
        }
        for h in &self.written {
            let _ = self.store.remove(h);
        }
    }
}

fn err(path: &Path, e: io::Error) -> String {
    format!("{}: {e}", path.display())
}
