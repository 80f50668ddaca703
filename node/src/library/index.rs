//! Indexes beside the changes: by change hash (what peers compare and
//! fetch by) and by author (the frontier a revocation records).

use super::{Batch, Library, LibraryError};
use crate::store::{keys, Write};

const META_HASH_INDEX: &str = "hash-index-v1";

/// `a\0{author}\0{doc}` -> `{seq} {hash}`: an author's last change per
/// document, the frontier a revocation records.
pub(crate) fn author_index(author: &str, doc: &str, seq: u64, hash: &[u8; 32]) -> Write {
    let mut k = keys::key(keys::AUTHOR, author.as_bytes());
    k.push(0);
    k.extend_from_slice(doc.as_bytes());
    (k, Some(format!("{seq} {}", hex::encode(hash)).into_bytes()))
}

/// `h\0{hash}` -> document key: find a change by its hash alone.
pub(crate) fn hash_index(doc: &str, hash: &[u8; 32]) -> Write {
    (keys::key(keys::HASH, hash), Some(doc.as_bytes().to_vec()))
}

impl Library {
    /// Build the hash index for a store written before it existed.
    pub(crate) fn ensure_hash_index(&self) -> Result<(), LibraryError> {
        let meta = keys::key(keys::META, META_HASH_INDEX.as_bytes());
        if self.store.get(&meta)?.is_some() {
            return Ok(());
        }
        let mut writes: Vec<Write> = Vec::new();
        for k in self.store.scan_keys(&[keys::CHANGE, 0]) {
            let k = k?;
            let rest = keys::rest(&k);
            if rest.len() > 33 {
                let (doc, hash) = rest.split_at(rest.len() - 33);
                let hash: [u8; 32] = hash[1..].try_into().expect("32 bytes");
                writes.push(hash_index(&String::from_utf8_lossy(doc), &hash));
            }
        }
        writes.push((meta, Some(b"1".to_vec())));
        self.commit(Batch::of(writes))?;
        Ok(())
    }
}
