//! What peers compare and fetch: the summary (roster entry ids and one
//! digest over all change hashes), the 256 bucket digests, inventories,
//! and stored changes and roster entries by id.

use std::collections::BTreeMap;

use r2com_protocol::roster::EntryId;
use r2com_protocol::sync::Summary;

use super::{Library, LibraryError};
use crate::store::keys;

impl Library {
    pub fn roster_ids(&self) -> Result<Vec<[u8; 32]>, LibraryError> {
        let mut out = Vec::new();
        for k in self.store.scan_keys(&[keys::ROSTER, 0]) {
            let k = k?;
            let id = EntryId::from_hex(&String::from_utf8_lossy(keys::rest(&k)))
                .map_err(|e| LibraryError::Corrupt(e.to_string()))?;
            out.push(id.0);
        }
        Ok(out)
    }

    /// Roster entry ids and one digest over every change hash.
    pub fn summary(&self) -> Result<Summary, LibraryError> {
        Ok(Summary {
            roster: self.roster_ids()?,
            digest: self.tally.figures(&*self.store)?.1,
        })
    }

    /// The digest of each of the 256 buckets of change hashes.
    pub fn bucket_digests(&self) -> Result<Vec<[u8; 32]>, LibraryError> {
        self.tally.read(&*self.store, |t| t.bucket_digests())
    }

    /// Every change hash in these buckets.
    pub fn inventory(&self, buckets: &[u8]) -> Result<Vec<[u8; 32]>, LibraryError> {
        self.tally.read(&*self.store, |t| {
            buckets.iter().flat_map(|b| t.bucket(*b).copied()).collect()
        })
    }

    /// Whether a change is stored.
    pub fn has_change(&self, hash: &[u8; 32]) -> Result<bool, LibraryError> {
        Ok(self.store.get(&keys::key(keys::HASH, hash))?.is_some())
    }

    /// The stored envelopes of these changes, whole (unknown ones are
    /// skipped), document by document: a snapshot holding detached ones
    /// is loaded once.
    pub fn get_changes(&self, hashes: &[[u8; 32]]) -> Result<Vec<Vec<u8>>, LibraryError> {
        self.settle()?;
        let mut by_doc: BTreeMap<String, Vec<[u8; 32]>> = BTreeMap::new();
        for h in hashes {
            if let Some(doc) = self.store.get(&keys::key(keys::HASH, h))? {
                let doc = String::from_utf8_lossy(&doc).into_owned();
                by_doc.entry(doc).or_default().push(*h);
            }
        }
        let mut out = Vec::with_capacity(hashes.len());
        for (doc, hashes) in by_doc {
            for c in self.changes_by_hash(&doc, &hashes)? {
                out.push(c.signed.encode());
            }
        }
        Ok(out)
    }

    /// The stored roster entries with these ids.
    pub fn get_roster(&self, ids: &[[u8; 32]]) -> Result<Vec<Vec<u8>>, LibraryError> {
        self.settle()?;
        let mut out = Vec::new();
        for id in ids {
            if let Some(e) = self
                .store
                .get(&keys::key(keys::ROSTER, hex::encode(id).as_bytes()))?
            {
                out.push(e);
            }
        }
        Ok(out)
    }
}
