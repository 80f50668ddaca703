//! A record's document in the store: its state, materialized record and
//! revision; loading it (from a snapshot or its changes); and the writes
//! that store the state a document reached.

use automerge::AutoCommit;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use r2com_protocol::calendar::ics::Revision;
use r2com_protocol::doc;
use r2com_protocol::ids::{DocId, RecordKind};
use r2com_protocol::record::Record;

use super::{decode_record, hash_index, reform_writes, Library, LibraryError};
use crate::store::{keys, Write};

/// What the store keeps about each document besides its changes.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct DocState {
    /// Current heads (hex change hashes): what a peer compares against.
    pub heads: Vec<String>,
    pub deleted: bool,
    /// Fields holding concurrent values (`conflicts` looks only at these
    /// documents); `None` in states written before this was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conflicts: Option<Vec<String>>,
}

impl Library {
    /// The materialized record of a document, if it exists and is not deleted.
    pub fn record(&self, doc: &DocId) -> Result<Option<Record>, LibraryError> {
        match self.store.get(&keys::doc(keys::RECORD, &doc.to_key()))? {
            None => Ok(None),
            Some(bytes) => decode_record(doc.kind(), &bytes).map(Some),
        }
    }

    pub(crate) fn doc_state(&self, doc: &DocId) -> Result<Option<DocState>, LibraryError> {
        match self.store.get(&keys::doc(keys::DOC, &doc.to_key()))? {
            None => Ok(None),
            Some(b) => serde_json::from_slice(&b)
                .map(Some)
                .map_err(|e| LibraryError::Corrupt(format!("state of {doc}: {e}"))),
        }
    }

    /// The revision of an event (how often it changed, and when last).
    pub fn revision(&self, doc: &DocId) -> Result<Option<Revision>, LibraryError> {
        match self.store.get(&keys::doc(keys::REVISION, &doc.to_key()))? {
            None => Ok(None),
            Some(b) => serde_json::from_slice(&b)
                .map(Some)
                .map_err(|e| LibraryError::Corrupt(format!("revision of {doc}: {e}"))),
        }
    }

    /// The write that bumps an event's revision (its content changed at
    /// `now`): sequence 0 when new, then +1. Nothing for practices. Part of
    /// the same atomic batch as the record.
    pub(crate) fn revision_write(
        &self,
        doc: &DocId,
        now: DateTime<Utc>,
    ) -> Result<Option<Write>, LibraryError> {
        if doc.kind() != RecordKind::Event {
            return Ok(None);
        }
        let rev = match self.revision(doc)? {
            None => Revision {
                sequence: 0,
                last_modified: now,
            },
            Some(r) => Revision {
                sequence: r.sequence.saturating_add(1),
                last_modified: now.max(r.last_modified),
            },
        };
        Ok(Some((
            keys::doc(keys::REVISION, &doc.to_key()),
            Some(serde_json::to_vec(&rev).expect("revisions serialize")),
        )))
    }

    /// Load a record's document: from its snapshot, or from its changes.
    pub fn load_doc(&self, doc: &DocId) -> Result<Option<AutoCommit>, LibraryError> {
        let Some(state) = self.doc_state(doc)? else {
            return Ok(None);
        };
        let key = doc.to_key();
        if let Some(snapshot) = self.store.get(&keys::doc(keys::SNAPSHOT, &key))? {
            let mut d = contained(|| AutoCommit::load(&snapshot))
                .map_err(|e| LibraryError::Corrupt(format!("snapshot of {doc}: {e}")))?;
            if heads_hex(&mut d) == state.heads {
                return Ok(Some(d));
            }
        }
        // Apply the stored changes one by one rather than `load` them: a
        // change whose dependency has not arrived yet (a clone fetches by
        // hash bucket, in any order) waits in the document's queue.
        let changes: Vec<_> = self
            .changes_of(doc)?
            .into_iter()
            .map(|c| c.change)
            .collect();
        let mut d = AutoCommit::new();
        contained(|| d.apply_changes(changes))
            .map_err(|e| LibraryError::Corrupt(format!("changes of {doc}: {e}")))?;
        Ok(Some(d))
    }

    /// Load a document to write a local change to it: refused while one of
    /// this node's own changes to it waits for a dependency (see
    /// `r2com_protocol::doc::check_own_chain`). Only a document with a
    /// waiting change is looked at more closely. A document this node
    /// wrote last is taken as it was kept loaded (see `loaded`), if it is
    /// still the one stored.
    pub(crate) fn load_doc_for_write(
        &self,
        doc: &DocId,
    ) -> Result<Option<AutoCommit>, LibraryError> {
        if let Some((heads, d)) = self.loaded.take(&doc.to_key()) {
            if self.doc_state(doc)?.is_some_and(|s| s.heads == heads) {
                return Ok(Some(d));
            }
        }
        let Some(mut d) = self.load_doc(doc)? else {
            return Ok(None);
        };
        if d.get_missing_deps(&[]).is_empty() {
            return Ok(Some(d));
        }
        let me = self.key.public().to_bytes();
        let mut own = Vec::new();
        for (hash, stored) in self.stored_of(&doc.to_key())? {
            let meta = stored
                .meta()
                .map_err(|e| LibraryError::Corrupt(format!("change of {doc}: {e}")))?;
            if meta.author == me {
                own.push(automerge::ChangeHash(hash));
            }
        }
        doc::check_own_chain(&mut d, &own)
            .map_err(|e| LibraryError::BadRequest(format!("{doc}: {e}")))?;
        Ok(Some(d))
    }

    /// The writes for a document's state after changes: its heads, the
    /// record (or its removal), the event revision, and a
    /// snapshot if `snapshot` (none while a change waits for a dependency:
    /// it would leave that change out). `Err` if the document no longer
    /// holds a record of its own kind and id.
    pub(crate) fn doc_writes(
        &self,
        doc_id: &DocId,
        d: &mut AutoCommit,
        snapshot: bool,
    ) -> Result<Result<Vec<Write>, String>, LibraryError> {
        let key = doc_id.to_key();
        let record = match doc::read(d) {
            Ok(r) if r.doc_id() == *doc_id => Some(r),
            Ok(r) => return Ok(Err(format!("{key}: changes turn it into {}", r.doc_id()))),
            Err(_) => None,
        };
        self.record_writes(doc_id, d, snapshot, record).map(Ok)
    }

    /// The writes for a document that holds no record of its own id (what
    /// a retraction can leave): shown as no record, never an error.
    pub(crate) fn no_record_writes(
        &self,
        doc_id: &DocId,
        d: &mut AutoCommit,
    ) -> Result<Vec<Write>, LibraryError> {
        self.record_writes(doc_id, d, true, None)
    }

    fn record_writes(
        &self,
        doc_id: &DocId,
        d: &mut AutoCommit,
        snapshot: bool,
        record: Option<Record>,
    ) -> Result<Vec<Write>, LibraryError> {
        let key = doc_id.to_key();
        let deleted = doc::is_deleted(d) || record.is_none();
        let visible = record.as_ref().filter(|_| !deleted);
        let mut writes = Vec::new();
        if self.record(doc_id)?.as_ref() != visible {
            writes.extend(self.revision_write(doc_id, (self.clock)())?);
        }
        writes.extend(state_writes(&key, d, visible, snapshot));
        Ok(writes)
    }

    /// Hash-index writes for the stored changes of `key` (but `skip`):
    /// indexed if `d` has applied them, unindexed if they wait.
    pub(crate) fn index_applied(
        &self,
        key: &str,
        d: &mut AutoCommit,
        skip: &[[u8; 32]],
    ) -> Result<Vec<Write>, LibraryError> {
        let prefix = keys::changes_of(key);
        let mut writes = Vec::new();
        for k in self.store.scan_keys(&prefix) {
            let k = k?;
            let Ok(hash) = <[u8; 32]>::try_from(&k[prefix.len()..]) else {
                continue;
            };
            if skip.contains(&hash) {
                continue;
            }
            if d.get_change_meta_by_hash(&automerge::ChangeHash(hash))
                .is_some()
            {
                writes.push(hash_index(key, &hash));
            } else {
                writes.push((keys::key(keys::HASH, &hash), None));
            }
        }
        Ok(writes)
    }

    /// The writes that keep the stored changes of `doc` in the form the
    /// snapshot of `d` this batch writes (or drops: a change now waits)
    /// calls for: see `changes`. Read before the batch, with the bytes of
    /// detached changes from `d`, which holds them.
    pub(crate) fn reform_stored(
        &self,
        doc: &DocId,
        d: &mut AutoCommit,
    ) -> Result<Vec<Write>, LibraryError> {
        let entries = self.changes_in(doc, d)?;
        let written = writes_snapshot(d, true);
        Ok(reform_writes(&doc.to_key(), &entries, d, written))
    }
}

/// Whether the state writes for `d` store its snapshot when asked to
/// (`snapshot`): not while a change waits for a dependency (it would leave
/// that change out).
pub(crate) fn writes_snapshot(d: &mut AutoCommit, snapshot: bool) -> bool {
    snapshot && d.get_missing_deps(&[]).is_empty()
}

/// The writes for the state a document reached: its heads, the record
/// (removed when `visible` is `None`: deleted), and a
/// snapshot if `snapshot` (none while a change waits for a dependency: it
/// would leave that change out, so the document loads from its changes;
/// the changes it held are then stored whole, see `changes`).
pub(crate) fn state_writes(
    key: &str,
    d: &mut AutoCommit,
    visible: Option<&Record>,
    snapshot: bool,
) -> Vec<Write> {
    let state = DocState {
        heads: heads_hex(d),
        deleted: visible.is_none(),
        conflicts: Some(r2com_protocol::history::conflicted_fields(d)),
    };
    let mut writes = vec![(
        keys::doc(keys::DOC, key),
        Some(serde_json::to_vec(&state).expect("state serializes")),
    )];
    match visible {
        Some(r) => {
            writes.push((
                keys::doc(keys::RECORD, key),
                Some(serde_json::to_vec(r).expect("records serialize")),
            ));
        }
        None => writes.push((keys::doc(keys::RECORD, key), None)),
    }
    if !d.get_missing_deps(&[]).is_empty() {
        writes.push((keys::doc(keys::SNAPSHOT, key), None));
    } else if snapshot {
        // Uncompressed: the store compresses it, and it travels as is to a
        // node that clones (which refuses deflated columns).
        writes.push((keys::doc(keys::SNAPSHOT, key), Some(d.save_nocompress())));
    }
    writes
}

/// An automerge call with its panic turned into an error: stored bytes
/// came from peers, and automerge 0.12 panics on some it cannot handle.
fn contained<T>(f: impl FnOnce() -> Result<T, automerge::AutomergeError>) -> Result<T, String> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(_) => Err("automerge panicked".into()),
    }
}

pub(crate) fn heads_hex(d: &mut AutoCommit) -> Vec<String> {
    let mut h: Vec<String> = d.get_heads().iter().map(|h| hex::encode(h.0)).collect();
    h.sort();
    h
}
