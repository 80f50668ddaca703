//! Storage behind a small trait: ordered keys and values, atomic batches,
//! and an explicit flush that makes everything written so far durable.
//!
//! [`SledStore`] is what a node runs on; [`MemoryStore`] is for tests;
//! [`failpoint::FailpointStore`] wraps either to crash or fail on cue.
//! Nothing is acknowledged to anyone before [`Store::flush`] returned.

pub mod codec;
pub mod failpoint;
mod memory;
mod rewrite;
mod sled_store;

pub use memory::MemoryStore;
pub use sled_store::{is_lock_error, open_waiting, sled_config, SledStore};

/// A key and its value.
pub type Entry = (Vec<u8>, Vec<u8>);

/// One write of a batch: `Some(value)` puts, `None` deletes.
pub type Write = (Vec<u8>, Option<Vec<u8>>);

/// Why the store failed. The caller cannot fix it; it reports it and
/// acknowledges nothing.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store: {0}")]
    Sled(#[from] sled::Error),
    /// The store is held by another process (a running node).
    #[error("the store is in use by another process (is `r2com run` running?)")]
    Locked,
    #[error("store: {0}")]
    Io(#[from] std::io::Error),
    /// A stored value does not decode (the files were damaged or altered).
    #[error("store: a stored value does not decode: {0}")]
    Value(String),
    /// The store was written by a newer version of r2com.
    #[error(
        "the store has format {0:?}, which this version of r2com does not know (upgrade r2com)"
    )]
    Format(String),
}

pub trait Store: Send + Sync + 'static {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;

    /// Every entry whose key starts with `prefix`, in key order.
    fn scan_prefix<'a>(
        &'a self,
        prefix: &[u8],
    ) -> Box<dyn Iterator<Item = Result<Entry, StoreError>> + 'a>;

    /// Every key that starts with `prefix`, in key order, without reading
    /// (decoding) the values.
    fn scan_keys<'a>(
        &'a self,
        prefix: &[u8],
    ) -> Box<dyn Iterator<Item = Result<Vec<u8>, StoreError>> + 'a> {
        Box::new(self.scan_prefix(prefix).map(|e| e.map(|(k, _)| k)))
    }

    /// Every entry whose key starts with `prefix` and sorts after `after`,
    /// in key order: a scan that goes on where an earlier one stopped.
    fn scan_after<'a>(
        &'a self,
        prefix: &[u8],
        after: &[u8],
    ) -> Box<dyn Iterator<Item = Result<Entry, StoreError>> + 'a> {
        let after = after.to_vec();
        Box::new(
            self.scan_prefix(prefix)
                .filter(move |e| e.as_ref().map_or(true, |(k, _)| *k > after)),
        )
    }

    /// Apply all writes atomically: after a crash either all or none are there.
    fn write(&self, batch: Vec<Write>) -> Result<(), StoreError>;

    /// Make everything written so far durable.
    fn flush(&self) -> Result<(), StoreError>;
}

/// Key layout. Every key is a one-letter table, a NUL, then the rest.
pub mod keys {
    /// `c\0{doc}\0{hash}` -> encoded signed change.
    pub const CHANGE: u8 = b'c';
    /// `r\0{doc}` -> the record as JSON (absent for deleted records).
    pub const RECORD: u8 = b'r';
    /// `x\0{doc}` -> folded search text.
    pub const SEARCH: u8 = b'x';
    /// `s\0{doc}` -> automerge snapshot (`save_nocompress()`; `save()` in
    /// older stores).
    pub const SNAPSHOT: u8 = b's';
    /// `d\0{doc}` -> document state (heads, deleted).
    pub const DOC: u8 = b'd';
    /// `v\0{doc}` -> revision of an event (sequence, last modified), JSON.
    pub const REVISION: u8 = b'v';
    /// `m\0{name}` -> node metadata.
    pub const META: u8 = b'm';
    /// `a\0{author}\0{doc}` -> `{seq} {hash}` of the author's last change.
    pub const AUTHOR: u8 = b'a';
    /// `e\0{entry id}` -> signed roster entry (JSON).
    pub const ROSTER: u8 = b'e';
    /// `h\0{change hash}` -> document key.
    pub const HASH: u8 = b'h';
    /// `p\0{multiaddr}` -> where a peer was seen or configured (JSON).
    pub const PEER_ADDR: u8 = b'p';
    /// `q\0{peer id}` -> per-peer sync state (JSON).
    pub const PEER_STATE: u8 = b'q';
    /// `k\0{peer id}` -> a member's (or this node's) signed address record
    /// (a libp2p peer record envelope, protobuf).
    pub const PEER_RECORD: u8 = b'k';

    pub fn key(table: u8, rest: &[u8]) -> Vec<u8> {
        let mut k = Vec::with_capacity(2 + rest.len());
        k.push(table);
        k.push(0);
        k.extend_from_slice(rest);
        k
    }

    pub fn doc(table: u8, doc: &str) -> Vec<u8> {
        key(table, doc.as_bytes())
    }

    /// Prefix of all changes of `doc`.
    pub fn changes_of(doc: &str) -> Vec<u8> {
        let mut k = key(CHANGE, doc.as_bytes());
        k.push(0);
        k
    }

    pub fn change(doc: &str, hash: &[u8; 32]) -> Vec<u8> {
        let mut k = changes_of(doc);
        k.extend_from_slice(hash);
        k
    }

    /// The part of a key after its table prefix.
    pub fn rest(key: &[u8]) -> &[u8] {
        &key[2.min(key.len())..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// sled 0.34 reports a held lock as an `Other` I/O error; it is told
    /// apart from other errors, a store whose lock stays held is `Locked`,
    /// and one whose handle was just dropped opens (after sled's flusher
    /// thread lets go of the lock).
    #[test]
    fn a_held_sled_lock_is_recognised_and_a_dropped_one_is_waited_for() {
        let dir = tempfile::tempdir().unwrap();
        let held = SledStore::open(dir.path()).unwrap();
        let err = sled_config(dir.path()).open().unwrap_err();
        assert!(is_lock_error(&err), "{err:?}");
        assert!(!is_lock_error(&sled::Error::Unsupported("x".into())));
        assert!(matches!(
            SledStore::open(dir.path()),
            Err(StoreError::Locked)
        ));
        drop(held);
        for _ in 0..5 {
            let s = SledStore::open(dir.path()).unwrap();
            drop(s);
        }
    }

    fn exercise(store: &dyn Store) {
        store
            .write(vec![
                (keys::doc(keys::RECORD, "practice/p-1"), Some(b"1".to_vec())),
                (keys::doc(keys::RECORD, "practice/p-2"), Some(b"2".to_vec())),
                (keys::doc(keys::RECORD, "event/e-1"), Some(b"3".to_vec())),
            ])
            .unwrap();
        store.flush().unwrap();
        let got: Vec<_> = store
            .scan_prefix(&keys::doc(keys::RECORD, "practice/"))
            .map(|e| e.unwrap().1)
            .collect();
        assert_eq!(got, vec![b"1".to_vec(), b"2".to_vec()]);
        // A scan that goes on after a key, within its prefix only.
        let after = |prefix: &[u8], after: &[u8]| -> Vec<Vec<u8>> {
            store
                .scan_after(prefix, after)
                .map(|e| e.unwrap().1)
                .collect()
        };
        let records = [keys::RECORD, 0];
        let e1 = keys::doc(keys::RECORD, "event/e-1");
        let p1 = keys::doc(keys::RECORD, "practice/p-1");
        let p2 = keys::doc(keys::RECORD, "practice/p-2");
        assert_eq!(after(&records, &e1), vec![b"1".to_vec(), b"2".to_vec()]);
        assert_eq!(after(&records, &p1), vec![b"2".to_vec()]);
        assert!(after(&records, &p2).is_empty());
        assert_eq!(
            after(&keys::doc(keys::RECORD, "practice/"), b""),
            after(&records, &e1)
        );
        assert_eq!(
            after(&records, b"a"),
            vec![b"3".to_vec(), b"1".to_vec(), b"2".to_vec()]
        );
        assert!(after(&[keys::SEARCH, 0], b"").is_empty());
        store
            .write(vec![(keys::doc(keys::RECORD, "practice/p-1"), None)])
            .unwrap();
        assert_eq!(
            store.get(&keys::doc(keys::RECORD, "practice/p-1")).unwrap(),
            None
        );
        assert_eq!(
            store.get(&keys::doc(keys::RECORD, "event/e-1")).unwrap(),
            Some(b"3".to_vec())
        );
    }

    #[test]
    fn memory_store_behaves() {
        exercise(&MemoryStore::default());
    }

    #[test]
    fn sled_store_behaves_and_persists() {
        let dir = tempfile::tempdir().unwrap();
        {
            let s = SledStore::open(dir.path()).unwrap();
            exercise(&s);
        }
        let s = SledStore::open(dir.path()).unwrap();
        assert_eq!(
            s.get(&keys::doc(keys::RECORD, "practice/p-2")).unwrap(),
            Some(b"2".to_vec())
        );
    }

    /// A store of the format before (values as given, no format entry),
    /// as an earlier r2com left it.
    fn old_format_store(dir: &std::path::Path, values: &[(Vec<u8>, Vec<u8>)]) -> u64 {
        let db = sled_config(dir).open().unwrap();
        for (k, v) in values {
            db.insert(k, v.clone()).unwrap();
        }
        db.flush().unwrap();
        db.size_on_disk().unwrap()
    }

    #[test]
    fn a_store_of_the_format_before_is_rewritten_compressed_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store");
        let text = "réinsertion famille communauté confiance ".repeat(50);
        let values: Vec<_> = (0..3000)
            .map(|i| {
                (
                    keys::doc(keys::SEARCH, &format!("practice/p-{i:06}")),
                    format!("{i} {text}").into_bytes(),
                )
            })
            .collect();
        let before = old_format_store(&path, &values);
        let s = SledStore::open(&path).unwrap();
        for (k, v) in values.iter().step_by(97) {
            assert_eq!(s.get(k).unwrap().as_ref(), Some(v));
        }
        let scanned: Vec<_> = s
            .scan_prefix(&keys::doc(keys::SEARCH, "practice/"))
            .map(|e| e.unwrap())
            .collect();
        assert_eq!(scanned, values);
        drop(s);
        // Again: nothing left to rewrite, values unchanged.
        let s = SledStore::open(&path).unwrap();
        assert_eq!(s.get(&values[5].0).unwrap(), Some(values[5].1.clone()));
        let after = s.size_on_disk();
        drop(s);
        assert!(after * 4 < before, "compressed {after} bytes, was {before}");
        assert!(!dir.path().join("store.rewrite").exists());
        assert!(!dir.path().join("store.before-rewrite").exists());
    }

    #[test]
    fn a_rewrite_cut_short_is_finished_or_undone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store");
        let key = keys::doc(keys::RECORD, "practice/p-1");
        {
            let s = SledStore::open(&path).unwrap();
            s.write(vec![(key.clone(), Some(b"kept".to_vec()))])
                .unwrap();
            s.flush().unwrap();
        }
        // Killed while building the copy: the partial copy is dropped.
        std::fs::create_dir(dir.path().join("store.rewrite")).unwrap();
        std::fs::write(dir.path().join("store.rewrite/db"), b"partial").unwrap();
        let s = SledStore::open(&path).unwrap();
        assert_eq!(s.get(&key).unwrap(), Some(b"kept".to_vec()));
        drop(s);
        assert!(!dir.path().join("store.rewrite").exists());
        // Killed between moving the store aside and moving the copy in:
        // the (complete) copy is put in place.
        SledStore::compact(&path).unwrap();
        std::fs::rename(&path, dir.path().join("store.rewrite")).unwrap();
        std::fs::create_dir(dir.path().join("store.before-rewrite")).unwrap();
        let s = SledStore::open(&path).unwrap();
        assert_eq!(s.get(&key).unwrap(), Some(b"kept".to_vec()));
        assert!(!dir.path().join("store.before-rewrite").exists());
    }

    #[test]
    fn a_store_that_grew_is_compacted_when_opened() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store");
        let value = |i: usize, round: usize| {
            // Values that compress poorly, so that the store grows.
            let mut x = (i * 7919 + round * 104_729) as u64 | 1;
            (0..2000)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect::<Vec<u8>>()
        };
        let key = |i: usize| keys::doc(keys::RECORD, &format!("practice/p-{i:06}"));
        let grown = {
            let s = SledStore::open(&path).unwrap();
            for round in 0..8 {
                for chunk in (0..1000).collect::<Vec<_>>().chunks(100) {
                    let batch = chunk.iter().map(|&i| (key(i), Some(value(i, round))));
                    s.write(batch.collect()).unwrap();
                }
            }
            s.flush().unwrap();
            s.size_on_disk()
        };
        let s = SledStore::open(&path).unwrap();
        let compacted = s.size_on_disk();
        assert!(
            compacted < grown,
            "grown {grown} bytes, compacted {compacted}"
        );
        for i in (0..1000).step_by(71) {
            assert_eq!(s.get(&key(i)).unwrap(), Some(value(i, 7)));
        }
        drop(s);
        // Not grown since: opened as it is, values intact.
        let s = SledStore::open(&path).unwrap();
        assert!(s.size_on_disk() < grown);
        assert_eq!(s.get(&key(999)).unwrap(), Some(value(999, 7)));
    }

    #[test]
    fn a_store_held_by_another_opener_is_locked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store");
        let _held = SledStore::open(&path).unwrap();
        assert!(SledStore::compact(&path).is_err());
    }
}
