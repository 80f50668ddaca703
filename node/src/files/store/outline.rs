//! A file's outline (`HASH.outline`): the chaining value of each 1 MiB
//! piece, kept beside the file or its part so that every piece can be
//! checked on its own as it is fetched or served.

use std::fs;
use std::io::{self, Write};
use std::path::PathBuf;

use blake3::hazmat::ChainingValue;
use r2com_protocol::files::{piece_count, piece_cv, Hash32, Verifier};

use super::{hex32, FileStore};
use crate::files::FileError;

impl FileStore {
    pub(super) fn outline_path(&self, hash: &Hash32) -> PathBuf {
        self.dir.join(format!("{}.outline", hex32(hash)))
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
}
