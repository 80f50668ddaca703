//! Storage behind a small trait: ordered keys and values, atomic batches,
//! and an explicit flush that makes everything written so far durable.
//!
//! [`SledStore`] is what a node runs on; [`MemoryStore`] is for tests;
//! [`failpoint::FailpointStore`] wraps either to crash or fail on cue.
//! Nothing is acknowledged to anyone before [`Store::flush`] returned.

mod codec;
mod compact;
pub mod failpoint;
mod memory;
mod rewrite;
mod sled_store;

pub use memory::MemoryStore;
pub use sled_store::{is_lock_error, open_waiting, sled_config, SledStore, COMPACT_ABOVE};

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

    /// Rewrite the store with its live data only, if it grew much since it
    /// was last rewritten (sled keeps old versions of pages: a big import
    /// leaves a store several times its data), while other threads go on
    /// using it; whether it did. Stores that do not grow so do nothing.
    fn compact_if_grown(&self) -> Result<bool, StoreError> {
        Ok(false)
    }

    /// [`Store::compact_if_grown`] on a thread of its own, while this one
    /// and others go on using the store; whether it started (not if one
    /// runs already).
    fn compact_if_grown_in_background(&self) -> Result<bool, StoreError> {
        Ok(false)
    }
}

/// Key layout. Every key is a one-letter table, a NUL, then the rest.
pub mod keys {
    /// `c\0{doc}\0{hash}` -> a signed change, whole (its envelope) or
    /// detached (signature and metadata; its bytes are in the document's
    /// snapshot): see `library/changes.rs`.
    pub const CHANGE: u8 = b'c';
    /// `r\0{doc}` -> the record as JSON (absent for deleted records).
    pub const RECORD: u8 = b'r';
    /// `x\0{doc}` -> folded search text, in stores of the formats before
    /// `sled-zstd-1` (rewriting such a store drops it; the catalog derives
    /// the texts from the records).
    pub const SEARCH_BEFORE: u8 = b'x';
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
mod tests;
