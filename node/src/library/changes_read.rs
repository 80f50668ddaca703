//! Reading stored changes back: the one way every reader of `c` takes
//! (see `changes` for the two forms). Whole envelopes are read as stored;
//! a detached change is rebuilt from its document's snapshot, loaded once
//! per document, and must be exactly the change its key and entry name
//! (the hash, the author, sequence number, time and dependencies), else
//! the store is corrupt and the reader says so.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};

use automerge::{AutoCommit, Change, ChangeHash};

use r2com_protocol::envelope::{parse_change, SignedChange};
use r2com_protocol::ids::DocId;

use super::changes::{Meta, ReadChange, Stored};
use super::{Library, LibraryError};
use crate::store::{keys, Entry, Store, StoreError};

/// A change entry's key as (document key, change hash).
pub(crate) fn split_key(k: &[u8]) -> Option<(&[u8], [u8; 32])> {
    let rest = keys::rest(k);
    let i = rest.len().checked_sub(33)?;
    (rest[i] == 0).then(|| (&rest[..i], rest[i + 1..].try_into().expect("32 bytes")))
}

/// Where the bytes of one document's detached changes come from: a
/// document the caller loaded already (if any), then the stored snapshot,
/// loaded on first need.
struct Bytes<'a> {
    store: &'a dyn Store,
    key: String,
    given: Option<&'a mut AutoCommit>,
    snapshot: Option<Result<HashMap<[u8; 32], Change>, String>>,
}

impl<'a> Bytes<'a> {
    fn new(store: &'a dyn Store, key: &str, given: Option<&'a mut AutoCommit>) -> Bytes<'a> {
        Bytes {
            store,
            key: key.to_owned(),
            given,
            snapshot: None,
        }
    }

    /// The change `hash`, rebuilt from the document.
    fn change(&mut self, hash: &[u8; 32]) -> Result<Result<Change, String>, StoreError> {
        if let Some(d) = self.given.as_deref_mut() {
            let found = catch_unwind(AssertUnwindSafe(|| {
                d.get_change_by_hash(&ChangeHash(*hash))
            }));
            if let Ok(Some(c)) = found {
                if c.hash().0 == *hash {
                    return Ok(Ok(c));
                }
            }
        }
        if self.snapshot.is_none() {
            self.snapshot = Some(self.load()?);
        }
        Ok(match self.snapshot.as_ref().expect("loaded") {
            Err(e) => Err(e.clone()),
            Ok(changes) => changes
                .get(hash)
                .cloned()
                .ok_or_else(|| "stored detached but not in its document's snapshot".to_owned()),
        })
    }

    /// Every change of the stored snapshot, rebuilt, by hash.
    fn load(&self) -> Result<Result<HashMap<[u8; 32], Change>, String>, StoreError> {
        let Some(bytes) = self.store.get(&keys::doc(keys::SNAPSHOT, &self.key))? else {
            return Ok(Err(
                "stored detached but its document has no snapshot".into()
            ));
        };
        let rebuilt = catch_unwind(AssertUnwindSafe(|| {
            AutoCommit::load(&bytes).map(|mut d| d.get_changes(&[]))
        }));
        Ok(match rebuilt {
            Ok(Ok(changes)) => Ok(changes.into_iter().map(|c| (c.hash().0, c)).collect()),
            Ok(Err(e)) => Err(format!("its document's snapshot does not load: {e}")),
            Err(_) => Err("its document's snapshot does not load: automerge panicked".into()),
        })
    }

    /// One entry read whole.
    fn read(
        &mut self,
        doc: Option<&DocId>,
        hash: &[u8; 32],
        value: &[u8],
    ) -> Result<Result<ReadChange, String>, StoreError> {
        let stored = match Stored::decode(value) {
            Ok(s) => s,
            Err(e) => return Ok(Err(e)),
        };
        Ok(match stored {
            Stored::Whole(signed) => parse_change(&signed.change)
                .map_err(|e| e.to_string())
                .and_then(|change| {
                    if change.hash().0 != *hash {
                        return Err("stored under another change hash".to_owned());
                    }
                    Ok(ReadChange {
                        hash: *hash,
                        signed,
                        change,
                        detached: false,
                    })
                }),
            Stored::Detached { signature, meta } => {
                let Some(doc) = doc else {
                    return Ok(Err("stored under a key that is no document id".into()));
                };
                match self.change(hash)? {
                    Err(e) => Err(e),
                    Ok(change) if Meta::of(&change).as_ref() != Some(&meta) => {
                        Err("its entry does not match the change in its document's snapshot".into())
                    }
                    Ok(change) => Ok(ReadChange {
                        hash: *hash,
                        signed: SignedChange {
                            doc: doc.clone(),
                            change: change.raw_bytes().to_vec(),
                            signature,
                        },
                        change,
                        detached: true,
                    }),
                }
            }
        })
    }
}

/// An entry read whole, or why it does not read.
type Read = Result<ReadChange, String>;

/// One document's entries (`key`, value) read whole, each with its key:
/// the change, or why it does not read.
fn read_entries(
    store: &dyn Store,
    doc_key: &str,
    entries: Vec<Entry>,
    given: Option<&mut AutoCommit>,
) -> Result<Vec<(Vec<u8>, Read)>, StoreError> {
    let doc = DocId::parse(doc_key).ok();
    let mut bytes = Bytes::new(store, doc_key, given);
    let mut out = Vec::with_capacity(entries.len());
    for (k, v) in entries {
        let read = match split_key(&k) {
            Some((_, hash)) => bytes.read(doc.as_ref(), &hash, &v)?,
            None => Err("stored under a malformed key".into()),
        };
        out.push((k, read));
    }
    Ok(out)
}

/// Every stored change, document by document (its snapshot loaded once),
/// handed to `f` with its key. A document whose changes do not all read is
/// read once more (a backup reads while the node writes: a retraction may
/// have replaced the snapshot in between) before `f` hears why.
pub(crate) fn for_each_change<E: From<StoreError>>(
    store: &dyn Store,
    mut f: impl FnMut(&[u8], Result<ReadChange, String>) -> Result<(), E>,
) -> Result<(), E> {
    let mut group: Vec<Entry> = Vec::new();
    let mut group_doc: Vec<u8> = Vec::new();
    let mut flush = |doc: &[u8], group: Vec<Entry>| -> Result<(), E> {
        if group.is_empty() {
            return Ok(());
        }
        let key = String::from_utf8_lossy(doc).into_owned();
        let mut read = read_entries(store, &key, group, None)?;
        if read.iter().any(|(_, r)| r.is_err()) {
            let again: Vec<Entry> = store
                .scan_prefix(&keys::changes_of(&key))
                .collect::<Result<_, _>>()?;
            read = read_entries(store, &key, again, None)?;
        }
        for (k, r) in read {
            f(&k, r)?;
        }
        Ok(())
    };
    for e in store.scan_prefix(&[keys::CHANGE, 0]) {
        let (k, v) = e?;
        let doc = split_key(&k).map(|(d, _)| d.to_vec()).unwrap_or_default();
        if doc != group_doc {
            flush(&group_doc, std::mem::take(&mut group))?;
            group_doc = doc;
        }
        group.push((k, v));
    }
    flush(&group_doc, group)
}

impl Library {
    /// Every stored change of `doc`, whole (waiting ones included).
    pub(crate) fn changes_of(&self, doc: &DocId) -> Result<Vec<ReadChange>, LibraryError> {
        self.read_doc(doc, None)
    }

    /// The same, taking detached changes from `d` (a loaded document
    /// holding them) rather than loading the snapshot again.
    pub(crate) fn changes_in(
        &self,
        doc: &DocId,
        d: &mut AutoCommit,
    ) -> Result<Vec<ReadChange>, LibraryError> {
        self.read_doc(doc, Some(d))
    }

    fn read_doc(
        &self,
        doc: &DocId,
        given: Option<&mut AutoCommit>,
    ) -> Result<Vec<ReadChange>, LibraryError> {
        let key = doc.to_key();
        let entries: Vec<Entry> = self
            .store
            .scan_prefix(&keys::changes_of(&key))
            .collect::<Result<_, _>>()?;
        read_entries(&*self.store, &key, entries, given)?
            .into_iter()
            .map(|(k, r)| r.map_err(|e| corrupt(&k, &e)))
            .collect()
    }

    /// The stored changes of document `key` with these hashes, whole
    /// (unknown ones are skipped).
    pub(crate) fn changes_by_hash(
        &self,
        key: &str,
        hashes: &[[u8; 32]],
    ) -> Result<Vec<ReadChange>, LibraryError> {
        let mut entries = Vec::with_capacity(hashes.len());
        for h in hashes {
            let k = keys::change(key, h);
            if let Some(v) = self.store.get(&k)? {
                entries.push((k, v));
            }
        }
        read_entries(&*self.store, key, entries, None)?
            .into_iter()
            .map(|(k, r)| r.map_err(|e| corrupt(&k, &e)))
            .collect()
    }

    /// The entries of document `key` as stored, with their hashes: what
    /// an entry says without the document (signature, author, sequence
    /// number, time, dependencies; see [`Stored::meta`]).
    pub(crate) fn stored_of(&self, key: &str) -> Result<Vec<([u8; 32], Stored)>, LibraryError> {
        let mut out = Vec::new();
        for e in self.store.scan_prefix(&keys::changes_of(key)) {
            let (k, v) = e?;
            let Some((_, hash)) = split_key(&k) else {
                return Err(corrupt(&k, "stored under a malformed key"));
            };
            out.push((hash, Stored::decode(&v).map_err(|e| corrupt(&k, &e))?));
        }
        Ok(out)
    }
}

/// The store is corrupt: name the entry.
pub(crate) fn corrupt(k: &[u8], why: &str) -> LibraryError {
    match split_key(k) {
        Some((doc, hash)) => LibraryError::Corrupt(format!(
            "change {} of {}: {why}",
            hex::encode(hash),
            String::from_utf8_lossy(doc)
        )),
        None => LibraryError::Corrupt(format!("change entry {k:?}: {why}")),
    }
}
