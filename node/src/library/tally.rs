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
//!
//! Building it walks both tables (0.3-0.5 s at ten times the demo data).
//! So that a node answers its first `status` at once after a restart, a
//! clean stop stores the figures `status` and a round's summary show (the
//! counts and the summary digest, [`Saved`]), and the next start answers
//! from them until the tally is built. They hold only while nothing was
//! written since they were stored: the first write after them removes
//! them from the store in the same atomic batch (and from memory before
//! it), so a write made after them, and then a crash, never leaves them
//! standing.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock, RwLock};
use std::time::Instant;

use serde::{Deserialize, Serialize};

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

/// One write to a mirrored table, as the tally takes it.
enum Update {
    /// A change hash is indexed (`true`) or no longer (`false`).
    Hash([u8; 32], bool),
    /// A document's state is written (`Some(deleted)`) or removed.
    Doc(Box<[u8]>, Option<bool>),
}

/// The change hashes and document standings the store holds.
#[derive(Default)]
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
#[derive(Default)]
struct Digests {
    summary: OnceLock<[u8; 32]>,
    buckets: OnceLock<Vec<[u8; 32]>>,
}

/// Where a clean stop stores the figures of the tally.
const SAVED_KEY: &[u8] = b"tally";

/// What a clean stop stores of the tally: what `status` and a round's
/// summary read.
#[derive(Serialize, Deserialize)]
struct Saved {
    counts: Counts,
    /// The summary digest, hex.
    digest: String,
}

impl Saved {
    /// The counts and the digest, if the digest decodes.
    fn figures(self) -> Option<(Counts, [u8; 32])> {
        let digest = hex::decode(&self.digest).ok()?.try_into().ok()?;
        Some((self.counts, digest))
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
        let count = if doc.starts_with(b"practice/") {
            Some(&mut self.practices)
        } else if doc.starts_with(b"event/") {
            Some(&mut self.events)
        } else {
            None
        };
        let was = match deleted {
            Some(d) => self.docs.insert(doc, d),
            None => self.docs.remove(&doc),
        };
        let counted = |d: Option<bool>| u64::from(d == Some(false));
        if let Some(count) = count {
            *count = *count + counted(deleted) - counted(was);
        }
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
/// not follow); and the figures a clean stop stored, while they hold.
#[derive(Default)]
pub(crate) struct TallyCell {
    held: RwLock<Option<Tally>>,
    /// The counts and summary digest stored at the last clean stop, until
    /// the first write.
    saved: Mutex<Option<(Counts, [u8; 32])>>,
    /// Whether the store may hold saved figures, which the next write
    /// removes.
    stored: AtomicBool,
}

impl TallyCell {
    /// Take the figures a clean stop stored, if any (as the library opens).
    pub fn load_saved(&self, store: &dyn Store) -> Result<(), LibraryError> {
        let Some(bytes) = store.get(&keys::key(keys::META, SAVED_KEY))? else {
            return Ok(());
        };
        self.stored.store(true, Ordering::SeqCst);
        match serde_json::from_slice::<Saved>(&bytes)
            .ok()
            .and_then(Saved::figures)
        {
            Some(f) => *self.saved.lock().unwrap_or_else(|e| e.into_inner()) = Some(f),
            // Not used; the next write removes them.
            None => tracing::warn!("the tally stored at the last stop does not decode"),
        }
        Ok(())
    }

    /// Store the tally's figures for the next start (a clean stop, once
    /// everything else is written; the caller flushes). Nothing if the
    /// tally was not built.
    pub fn save(&self, store: &dyn Store) -> Result<(), StoreError> {
        // Held for writing: no write comes between the figures and the
        // flag that makes the next write remove them.
        let held = self.held.write().unwrap_or_else(|e| e.into_inner());
        let Some(t) = held.as_ref() else {
            return Ok(());
        };
        let saved = Saved {
            counts: t.counts(),
            digest: hex::encode(t.summary_digest()),
        };
        self.stored.store(true, Ordering::SeqCst);
        store.write(vec![(
            keys::key(keys::META, SAVED_KEY),
            Some(serde_json::to_vec(&saved).expect("figures serialize")),
        )])
    }

    /// Run `f` on the tally, building it from `store` first if there is
    /// none.
    pub fn read<T>(
        &self,
        store: &dyn Store,
        f: impl FnOnce(&Tally) -> T,
    ) -> Result<T, LibraryError> {
        {
            let held = self.held.read().unwrap_or_else(|e| e.into_inner());
            if let Some(t) = held.as_ref() {
                return Ok(f(t));
            }
        }
        let mut held = self.held.write().unwrap_or_else(|e| e.into_inner());
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

    /// The counts and the summary digest: from the tally if it is built,
    /// else from the figures a clean stop stored if nothing was written
    /// since, else from the tally built now.
    pub fn figures(&self, store: &dyn Store) -> Result<(Counts, [u8; 32]), LibraryError> {
        if let Ok(held) = self.held.try_read() {
            if let Some(t) = held.as_ref() {
                return Ok((t.counts(), t.summary_digest()));
            }
        }
        if let Some(saved) = self.saved.lock().unwrap_or_else(|e| e.into_inner()).clone() {
            return Ok(saved);
        }
        self.read(store, |t| (t.counts(), t.summary_digest()))
    }

    /// Write `writes` to `store` through the catalog (atomically, see
    /// [`CatalogCell::write`]) and make the tally, if there is one, follow
    /// them. The tally is locked throughout (taken before the catalog), so
    /// no read or build sees the store and the tally apart. The first write
    /// after figures were stored removes them, in the same batch.
    pub fn write(
        &self,
        store: &dyn Store,
        catalog: &CatalogCell,
        mut writes: Vec<Write>,
    ) -> Result<(), StoreError> {
        let mut held = self.held.write().unwrap_or_else(|e| e.into_inner());
        *self.saved.lock().unwrap_or_else(|e| e.into_inner()) = None;
        let unsave = self.stored.load(Ordering::SeqCst);
        if unsave {
            writes.push((keys::key(keys::META, SAVED_KEY), None));
        }
        // Out of the cell while it changes: a failure or a panic half-way
        // leaves none, to be built again.
        let Some(mut tally) = held.take() else {
            catalog.write(store, writes)?;
            self.stored.store(false, Ordering::SeqCst);
            return Ok(());
        };
        let updates = Tally::updates(&writes);
        catalog.write(store, writes)?;
        self.stored.store(false, Ordering::SeqCst);
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
        let held = self.held.read().unwrap_or_else(|e| e.into_inner());
        let Some(t) = held.as_ref() else {
            return false;
        };
        let fresh = Tally::build(store).expect("the store's document states decode");
        t.hashes == fresh.hashes
            && t.docs == fresh.docs
            && t.counts() == fresh.counts()
            && t.summary_digest() == fresh.summary_digest()
            && t.bucket_digests() == fresh.bucket_digests()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::store::MemoryStore;
    use crate::testing::{library_on, practice, TestClock};

    #[test]
    fn a_restart_answers_from_the_figures_stored_until_a_write() {
        let clock = TestClock::at("2026-01-10T09:00:00Z");
        let store: Arc<dyn Store> = Arc::new(MemoryStore::default());
        let saved = keys::key(keys::META, SAVED_KEY);
        let p = r2com_protocol::ids::RecordKind::Practice;
        let before = {
            let lib = library_on(store.clone(), 1, &clock);
            for i in 0..3 {
                lib.add(
                    p,
                    practice(&format!("p-{i}"), "Mentoring"),
                    false,
                    clock.now(),
                )
                .unwrap();
            }
            // Never counted: nothing stored.
            lib.save_tally().unwrap();
            assert!(store.get(&saved).unwrap().is_none());
            lib.remove(p, "p-2", clock.now()).unwrap();
            let figures = (lib.counts().unwrap(), lib.summary().unwrap().digest);
            lib.save_tally().unwrap();
            assert!(store.get(&saved).unwrap().is_some());
            figures
        };
        assert_eq!((before.0.practices, before.0.documents), (2, 3));

        // The next start: the figures stored, the tally not built.
        let lib = library_on(store.clone(), 1, &clock);
        assert!(!lib.tally.agrees_with(&*store), "not built yet");
        assert_eq!(lib.counts().unwrap(), before.0);
        assert_eq!(lib.summary().unwrap().digest, before.1);
        assert!(!lib.tally.agrees_with(&*store), "answered from the figures");

        // The first write removes them, in its own batch; the counts then
        // come from a tally built from the store.
        lib.add(p, practice("p-9", "Family support"), false, clock.now())
            .unwrap();
        assert!(store.get(&saved).unwrap().is_none());
        let after = lib.counts().unwrap();
        assert_eq!((after.practices, after.documents), (3, 4));
        assert!(lib.tally.agrees_with(&*store));
        assert_ne!(lib.summary().unwrap().digest, before.1);
        // A start after that write (a crash: no clean stop) finds none.
        let again = library_on(store.clone(), 1, &clock);
        assert!(again.tally.saved.lock().unwrap().is_none());
        assert_eq!(again.counts().unwrap(), after);
    }

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
