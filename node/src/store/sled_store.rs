use std::path::Path;

use super::{Entry, Store, StoreError, Write};

/// Page cache of the store; bounds the node's memory.
const CACHE_BYTES: u64 = 1024 * 1024;

/// The node's store: one sled tree, so that a batch spanning a change, its
/// record and its search text is atomic.
pub struct SledStore {
    db: sled::Db,
}

impl SledStore {
    /// Open (or create) the store in `dir`. Fails with [`StoreError::Locked`]
    /// if another process holds it.
    pub fn open(dir: &Path) -> Result<SledStore, StoreError> {
        let db = sled::Config::new()
            .path(dir)
            .cache_capacity(CACHE_BYTES)
            .open()
            .map_err(|e| match e {
                sled::Error::Io(io) if io.kind() == std::io::ErrorKind::WouldBlock => {
                    StoreError::Locked
                }
                sled::Error::Io(io) if io.raw_os_error() == Some(11) => StoreError::Locked,
                other => StoreError::Sled(other),
            })?;
        Ok(SledStore { db })
    }

    /// Bytes the store takes on disk.
    pub fn size_on_disk(&self) -> u64 {
        self.db.size_on_disk().unwrap_or(0)
    }
}

impl Store for SledStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.db.get(key)?.map(|v| v.to_vec()))
    }

    fn scan_prefix<'a>(
        &'a self,
        prefix: &[u8],
    ) -> Box<dyn Iterator<Item = Result<Entry, StoreError>> + 'a> {
        Box::new(self.db.scan_prefix(prefix).map(|r| {
            r.map(|(k, v)| (k.to_vec(), v.to_vec()))
                .map_err(StoreError::from)
        }))
    }

    fn write(&self, batch: Vec<Write>) -> Result<(), StoreError> {
        let mut b = sled::Batch::default();
        for (k, v) in batch {
            match v {
                Some(v) => b.insert(k, v),
                None => b.remove(k),
            }
        }
        self.db.apply_batch(b)?;
        Ok(())
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }
}
