//! The tally: every stored change hash and every document's standing
//! (deleted or not), held in memory so that `status` (its counts and sync
//! digest) and each sync round (the summary, the 256 bucket digests, a
//! bucket's inventory) read no table of the store. Reading them from the
//! store walked every key of two tables each time: at ten times the demo
//! data (70,000 documents, 87,000 changes) a `status` took 0.25-0.33 s,
//! and so did every round's summary.
//!
//! Like the catalog (which mirrors `RECORD`), it mirrors two tables of the
//! store and nothing else: `HASH` (a change hash for each applied change)
//! and `DOC` (each document's state). It is built from them on first use
//! (a running node starts building it in the background as it starts, see
//! [`super::Library::build_tally`]), then follows every write to them in
//! [`TallyCell::write`], which every store write of the library passes
//! through (from `Library::write_part`). A write it cannot follow (a
//! document state that does not decode) or one the store refuses drops
//! it: the next read builds it again from the store, so it never answers
//! from a state the store is not in.

use std::collections::{BTreeSet, HashMap};
use std::sync::{OnceLock, RwLock};
use std::time::Instant;

use serde::Deserialize;

use r2com_protocol::control::Counts;
use r2com_protocol::sync::{bucket_digests, summary_digest};

use super::catalog::CatalogCell;
use super::LibraryError;
use crate::store::{keys, Store, StoreError, Write};

/// What the tally keeps of a document's state (`doc::DocState`, whose
/// other fields it ignores).
#[derive(Deserialize)]
struct Standing {
    deleted: bool,
}

/// The kind a document key names, as the counts tell them apart.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Practice,
    Event,
    /// A key of neither kind (never written by this code; counted as a
    /// document only, as before the tally).
    Other,
}

impl Kind {
    fn of(doc: &[u8]) -> Kind {
        if doc.starts_with(b"practice/") {
            Kind::Practice
        } else if doc.starts_with(b"event/") {
            Kind::Event
        } else {
            Kind::Other
        }
    }
}

/// One write to a mirrored table, as the tally takes it.
enum Update {
    /// A change hash is indexed (`true`) or no longer (`false`).
    Hash([u8; 32], bool),
    /// A document's state is written (`Some(deleted)`) or removed.
    Doc(Box<[u8]>, Option<bool>),
}

/// The change hashes and document standings the store holds.
#[derive(Default, PartialEq, Debug)]
pub(crate) struct Tally {
    /// Every key of `HASH`, ascending (the order digests need).
    hashes: BTreeSet<[u8; 32]>,
    /// Every key of `DOC` -> whether that document is deleted.
    docs: HashMap<Box<[u8]>, bool>,
    /// Practices and events not deleted.
    practices: u64,
    events: u64,
    /// The summary digest and the bucket digests, computed on first use
    /// after a change.
    digests: Digests,
}

/// Digests over [`Tally::hashes`], kept until the hashes change.
#[derive(Default, Debug)]
struct Digests {
    summary: OnceLock<[u8; 32]>,
    buckets: OnceLock<Vec<[u8; 32]>>,
}

/// Memos: two tallies are equal when what they hold is.
impl PartialEq for Digests {
    fn eq(&self, _: &Digests) -> bool {
        true
    }
}

/// The change hash a `HASH` key names (`None`: a key of another length,
/// which no count or digest ever took in).
fn hash_of(key: &[u8]) -> Option<[u8; 32]> {
    <[u8; 32]>::try_from(keys::rest(key)).ok()
}

fn standing(doc: &[u8], state: &[u8]) -> Result<bool, LibraryError> {
    serde_json::from_slice::<Standing>(state)
        .map(|s| s.deleted)
        .map_err(|e| {
            LibraryError::Corrupt(format!("state of {}: {e}", String::from_utf8_lossy(doc)))
        })
}

impl Tally {
    /// Read the two tables from the store, each on a thread of its own
    /// (a walk of sled's keys is slow: about 2 us a key).
    fn build(store: &dyn Store) -> Result<Tally, LibraryError> {
        let (docs, hashes) = std::thread::scope(|s| {
            let hashes = s.spawn(|| -> Result<BTreeSet<[u8; 32]>, LibraryError> {
                let mut out = BTreeSet::new();
                for k in store.scan_keys(&[keys::HASH, 0]) {
                    if let Some(h) = hash_of(&k?) {
                        out.insert(h);
                    }
                }
                Ok(out)
            });
            let mut docs = Vec::new();
            let scanned = store.scan_prefix(&[keys::DOC, 0]).try_for_each(
                |entry| -> Result<(), LibraryError> {
                    let (k, v) = entry?;
                    let doc = keys::rest(&k);
                    docs.push((Box::from(doc), standing(doc, &v)?));
                    Ok(())
                },
            );
            let hashes = hashes.join().expect("the walk of change hashes panicked");
            (scanned.map(|()| docs), hashes)
        });
        let mut t = Tally {
            hashes: hashes?,
            ..Tally::default()
        };
        for (doc, deleted) in docs? {
            t.set_doc(doc, Some(deleted));
        }
        Ok(t)
    }

    /// What `writes` change in the tally (decoded before the store takes
    /// them, applied after).
    fn updates(writes: &[Write]) -> Result<Vec<Update>, LibraryError> {
        let mut out = Vec::new();
        for (k, v) in writes {
            if k.starts_with(&[keys::HASH, 0]) {
                if let Some(h) = hash_of(k) {
                    out.push(Update::Hash(h, v.is_some()));
                }
            } else if k.starts_with(&[keys::DOC, 0]) {
                let doc = keys::rest(k);
                let deleted = v.as_deref().map(|v| standing(doc, v)).transpose()?;
                out.push(Update::Doc(doc.into(), deleted));
            }
        }
        Ok(out)
    }

    fn apply(&mut self, updates: Vec<Update>) {
        for u in updates {
            match u {
                Update::Hash(h, true) => {
                    if self.hashes.insert(h) {
                        self.digests = Digests::default();
                    }
                }
                Update::Hash(h, false) => {
                    if self.hashes.remove(&h) {
                        self.digests = Digests::default();
                    }
                }
                Update::Doc(doc, deleted) => self.set_doc(doc, deleted),
            }
        }
    }

    /// A document's state written (`Some(deleted)`) or removed (`None`).
    fn set_doc(&mut self, doc: Box<[u8]>, deleted: Option<bool>) {
        let kind = Kind::of(&doc);
        let was = match deleted {
            Some(d) => self.docs.insert(doc, d),
            None => self.docs.remove(&doc),
        };
        let counted = |d: Option<bool>| u64::from(d == Some(false));
        let count = match kind {
            Kind::Practice => &mut self.practices,
            Kind::Event => &mut self.events,
            Kind::Other => return,
        };
        *count = *count + counted(deleted) - counted(was);
    }

    /// Records (not deleted), documents (deleted ones too) and changes.
    pub fn counts(&self) -> Counts {
        Counts {
            practices: self.practices,
            events: self.events,
            documents: self.docs.len() as u64,
            changes: self.hashes.len() as u64,
        }
    }

    /// One digest over every change hash (see [`summary_digest`]).
    pub fn summary_digest(&self) -> [u8; 32] {
        *self
            .digests
            .summary
            .get_or_init(|| summary_digest(&self.hashes))
    }

    /// The digest of each of the 256 buckets (see [`bucket_digests`]).
    pub fn bucket_digests(&self) -> Vec<[u8; 32]> {
        self.digests
            .buckets
            .get_or_init(|| bucket_digests(&self.hashes))
            .clone()
    }

    /// Every change hash in bucket `b` (its first byte), ascending.
    pub fn bucket(&self, b: u8) -> impl Iterator<Item = &[u8; 32]> {
        let mut from = [0u8; 32];
        from[0] = b;
        let mut to = [0xffu8; 32];
        to[0] = b;
        self.hashes.range(from..=to)
    }
}

/// The tally, or none until a read needs it (or after a write it could
/// not follow).
#[derive(Default)]
pub(crate) struct TallyCell(RwLock<Option<Tally>>);

impl TallyCell {
    /// Run `f` on the tally, building it from `store` first if there is
    /// none.
    pub fn read<T>(
        &self,
        store: &dyn Store,
        f: impl FnOnce(&Tally) -> T,
    ) -> Result<T, LibraryError> {
        {
            let held = self.0.read().unwrap_or_else(|e| e.into_inner());
            if let Some(t) = held.as_ref() {
                return Ok(f(t));
            }
        }
        let mut held = self.0.write().unwrap_or_else(|e| e.into_inner());
        if held.is_none() {
            let started = Instant::now();
            let t = Tally::build(store)?;
            tracing::debug!(
                documents = t.docs.len(),
                changes = t.hashes.len(),
                ms = started.elapsed().as_millis() as u64,
                "the tally of documents and changes is built"
            );
            *held = Some(t);
        }
        Ok(f(held.as_ref().expect("built above")))
    }

    /// Write `writes` to `store` through the catalog (atomically, see
    /// [`CatalogCell::write`]) and make the tally, if there is one, follow
    /// them. The tally is locked throughout (taken before the catalog), so
    /// no read or build sees the store and the tally apart.
    pub fn write(
        &self,
        store: &dyn Store,
        catalog: &CatalogCell,
        writes: Vec<Write>,
    ) -> Result<(), StoreError> {
        let mut held = self.0.write().unwrap_or_else(|e| e.into_inner());
        // Out of the cell while it changes: a failure or a panic half-way
        // leaves none, to be built again.
        let Some(mut tally) = held.take() else {
            return catalog.write(store, writes);
        };
        let updates = Tally::updates(&writes);
        catalog.write(store, writes)?;
        match updates {
            Ok(u) => {
                tally.apply(u);
                *held = Some(tally);
            }
            Err(e) => {
                tracing::warn!(error = %e, "the tally of documents and changes cannot follow a write; it is built again on the next read");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
impl TallyCell {
    /// Whether the tally is held and holds what one built from `store` now
    /// would, digests included (tests).
    pub fn agrees_with(&self, store: &dyn Store) -> bool {
        let held = self.0.read().unwrap_or_else(|e| e.into_inner());
        let Some(t) = held.as_ref() else {
            return false;
        };
        let fresh = Tally::build(store).expect("the store's document states decode");
        *t == fresh
            && t.summary_digest() == fresh.summary_digest()
            && t.bucket_digests() == fresh.bucket_digests()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(deleted: bool) -> Option<Vec<u8>> {
        Some(format!(r#"{{"heads":[],"deleted":{deleted}}}"#).into_bytes())
    }

    #[test]
    fn counts_follow_documents_written_deleted_and_removed() {
        let mut t = Tally::default();
        let w = |k: &str, v| (keys::doc(keys::DOC, k), v);
        let apply = |t: &mut Tally, writes: Vec<Write>| t.apply(Tally::updates(&writes).unwrap());
        apply(
            &mut t,
            vec![
                w("practice/p-1", state(false)),
                w("practice/p-2", state(false)),
                w("event/e-1", state(true)),
            ],
        );
        let c = t.counts();
        assert_eq!((c.practices, c.events, c.documents), (2, 0, 3));
        // Written again: not counted twice; deleted; undeleted.
        apply(&mut t, vec![w("practice/p-1", state(false))]);
        apply(&mut t, vec![w("practice/p-2", state(true))]);
        apply(&mut t, vec![w("event/e-1", state(false))]);
        let c = t.counts();
        assert_eq!((c.practices, c.events, c.documents), (1, 1, 3));
        // Removed (an erasure), deleted or not.
        apply(
            &mut t,
            vec![w("practice/p-1", None), w("practice/p-2", None)],
        );
        let c = t.counts();
        assert_eq!((c.practices, c.events, c.documents), (0, 1, 1));
        // A state that does not decode is not taken.
        assert!(Tally::updates(&[w("event/e-2", Some(b"{".to_vec()))]).is_err());
    }

    #[test]
    fn digests_follow_the_hashes_and_buckets_hold_theirs() {
        let mut t = Tally::default();
        let h = |first: u8, n: u8| {
            let mut h = [n; 32];
            h[0] = first;
            h
        };
        let w = |h: [u8; 32], on: bool| (keys::key(keys::HASH, &h), on.then(|| b"doc".to_vec()));
        let empty = t.summary_digest();
        t.apply(Tally::updates(&[w(h(7, 1), true), w(h(7, 2), true), w(h(9, 1), true)]).unwrap());
        let three = t.summary_digest();
        assert_ne!(three, empty);
        assert_eq!(three, summary_digest(&[h(7, 1), h(7, 2), h(9, 1)]));
        assert_eq!(
            t.bucket_digests(),
            bucket_digests(&[h(7, 1), h(7, 2), h(9, 1)])
        );
        assert_eq!(t.bucket(7).copied().collect::<Vec<_>>(), [h(7, 1), h(7, 2)]);
        assert_eq!(t.bucket(8).count(), 0);
        assert_eq!(t.bucket(0xff).count(), 0);
        t.apply(Tally::updates(&[w(h(7, 2), false)]).unwrap());
        assert_eq!(t.summary_digest(), summary_digest(&[h(7, 1), h(9, 1)]));
        assert_eq!(t.counts().changes, 2);
    }
}
