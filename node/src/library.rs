//! The library: records, their documents and signed changes in the store.
//!
//! Every write makes one automerge change per touched record, signs it with
//! the node key, and writes the change, the materialized record, its search
//! text and the document state in one atomic batch, then flushes before
//! returning: nothing is acknowledged before it is durable.
//!
//! Documents are never all loaded: list, show, search and export read the
//! materialized records; a record's document is loaded only to edit it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use automerge::{AutoCommit, Change};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use r2com_protocol::calendar::{self, agenda::AgendaRow, ics::Revision, CalendarError};
use r2com_protocol::control::{apply_edits, ApiError, Edit, ErrorCode, ListFilter};
use r2com_protocol::doc::{self, DocError};
use r2com_protocol::envelope::{Scope, SignedChange};
use r2com_protocol::identity::NodeKey;
use r2com_protocol::ids::{DocId, RecordKind};
use r2com_protocol::record::{Dataset, DatasetError, Record, ValidationError};
use r2com_protocol::roster::Roster;
use r2com_protocol::search::Query;

use crate::store::{keys, Store, StoreError, Write};

/// Records per atomic batch during an import.
const IMPORT_BATCH: usize = 500;
/// Most search results returned.
pub const MAX_SEARCH_RESULTS: usize = 1000;

/// Why a library operation failed. Nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum LibraryError {
    /// The input is invalid (names the record and field).
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error(transparent)]
    Dataset(#[from] DatasetError),
    #[error("{0}")]
    BadRequest(String),
    #[error("{kind} {id} not found")]
    NotFound { kind: RecordKind, id: String },
    #[error("{kind} {id} exists already (use edit to change it)")]
    Exists { kind: RecordKind, id: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The store holds something that does not decode: report, do not guess.
    #[error("store is inconsistent: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Doc(#[from] DocError),
    /// The calendar could not be computed (a bad zone or date in the request).
    #[error(transparent)]
    Calendar(#[from] CalendarError),
}

impl From<LibraryError> for ApiError {
    fn from(e: LibraryError) -> Self {
        let code = match &e {
            LibraryError::Invalid(_)
            | LibraryError::Dataset(_)
            | LibraryError::BadRequest(_)
            | LibraryError::Calendar(_) => ErrorCode::Invalid,
            LibraryError::NotFound { .. } => ErrorCode::NotFound,
            LibraryError::Exists { .. } => ErrorCode::Exists,
            _ => ErrorCode::Internal,
        };
        ApiError::new(code, e.to_string())
    }
}

/// What the store keeps about each document besides its changes.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct DocState {
    /// Current heads (hex change hashes): what a peer compares against.
    pub heads: Vec<String>,
    pub deleted: bool,
}

#[derive(Debug, Default, Serialize)]
pub struct ImportReport {
    /// Records in the file.
    pub records: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
}

#[derive(Debug, Serialize)]
pub struct SearchHit {
    pub kind: RecordKind,
    pub id: String,
    pub title: String,
    pub score: u32,
    pub snippet: String,
}

#[derive(Debug, Default, Serialize)]
pub struct VerifyReport {
    pub changes: u64,
    pub documents: u64,
    pub valid: u64,
    pub invalid: u64,
    /// The first failures, one line each.
    pub failures: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Counts {
    pub practices: u64,
    pub events: u64,
    pub documents: u64,
    pub changes: u64,
}

/// The records of this node and the key that signs its changes.
pub struct Library {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) key: NodeKey,
    /// The consortium (or none yet) every change is signed for.
    pub(crate) scope: std::sync::RwLock<Scope>,
    /// The roster as the stored entries evaluate, if in a consortium.
    pub(crate) roster: std::sync::RwLock<Option<Arc<Roster>>>,
    /// Serializes writers: an edit reads a document, changes it and writes
    /// it back.
    pub(crate) write_lock: std::sync::Mutex<()>,
    /// Envelopes written since the network last looked, to push to peers.
    pub(crate) outbox: std::sync::Mutex<crate::sync_store::Outbox>,
    /// The peer whose data is being applied (outbox items are not pushed
    /// back to it).
    pub(crate) current_origin: std::sync::Mutex<Option<String>>,
}

fn time_ms(now: DateTime<Utc>) -> i64 {
    now.timestamp_millis()
}

fn timestamp(now: DateTime<Utc>) -> String {
    now.to_rfc3339_opts(SecondsFormat::Secs, true)
}

impl Library {
    /// Open the library on a store: loads the consortium and its roster.
    pub fn new(store: Arc<dyn Store>, key: NodeKey) -> Result<Library, LibraryError> {
        let lib = Library {
            store,
            key,
            scope: std::sync::RwLock::new(Scope::UNAFFILIATED),
            roster: std::sync::RwLock::new(None),
            write_lock: std::sync::Mutex::new(()),
            outbox: Default::default(),
            current_origin: Default::default(),
        };
        lib.reload_roster()?;
        lib.ensure_hash_index()?;
        Ok(lib)
    }

    pub fn scope(&self) -> Scope {
        *self.scope.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The current roster (`None` outside a consortium).
    pub fn roster(&self) -> Option<Arc<Roster>> {
        self.roster
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Refuse local writes by a node whose key was revoked.
    fn check_may_write(&self) -> Result<(), LibraryError> {
        if let Some(r) = self.roster() {
            let me = self.key.public().to_hex();
            if r.find_key(&me).is_some() && !r.is_live_member(&me) {
                return Err(LibraryError::BadRequest(
                    "this node's key was revoked from the consortium; it can no longer make changes".into(),
                ));
            }
        }
        Ok(())
    }

    pub fn key(&self) -> &NodeKey {
        &self.key
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The materialized record of a document, if it exists and is not deleted.
    pub fn record(&self, doc: &DocId) -> Result<Option<Record>, LibraryError> {
        match self.store.get(&keys::doc(keys::RECORD, &doc.to_key()))? {
            None => Ok(None),
            Some(bytes) => decode_record(doc.kind(), &bytes).map(Some),
        }
    }

    fn doc_state(&self, doc: &DocId) -> Result<Option<DocState>, LibraryError> {
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
            let mut d = AutoCommit::load(&snapshot)
                .map_err(|e| LibraryError::Corrupt(format!("snapshot of {doc}: {e}")))?;
            if heads_hex(&mut d) == state.heads {
                return Ok(Some(d));
            }
        }
        // Apply the stored changes one by one rather than `load` them: a
        // change whose dependency has not arrived yet (a clone fetches by
        // hash bucket, in any order) waits in the document's queue.
        let mut changes = Vec::new();
        for entry in self.store.scan_prefix(&keys::changes_of(&key)) {
            let (_, v) = entry?;
            let sc = SignedChange::decode(&v)
                .map_err(|e| LibraryError::Corrupt(format!("change of {doc}: {e}")))?;
            changes.push(
                r2com_protocol::envelope::parse_change(&sc.change)
                    .map_err(|e| LibraryError::Corrupt(format!("change of {doc}: {e}")))?,
            );
        }
        let mut d = AutoCommit::new();
        d.apply_changes(changes)
            .map_err(|e| LibraryError::Corrupt(format!("changes of {doc}: {e}")))?;
        Ok(Some(d))
    }

    /// The writes that store one signed change and the state it leads to.
    fn change_writes(
        &self,
        doc_id: &DocId,
        d: &mut AutoCommit,
        change: Change,
        record: Option<&Record>,
        snapshot: bool,
    ) -> Vec<Write> {
        let key = doc_id.to_key();
        let hash = change.hash();
        let seq = change.seq();
        let signed = SignedChange::sign(&self.key, &self.scope(), doc_id, change);
        self.to_outbox(signed.encode());
        let state = DocState {
            heads: heads_hex(d),
            deleted: record.is_none(),
        };
        let mut w: Vec<Write> = vec![
            (keys::change(&key, &hash.0), Some(signed.encode())),
            author_index(&self.key.public().to_hex(), &key, seq, &hash.0),
            hash_index(&key, &hash.0),
            (
                keys::doc(keys::DOC, &key),
                Some(serde_json::to_vec(&state).expect("state serializes")),
            ),
        ];
        match record {
            Some(r) => {
                w.push((
                    keys::doc(keys::RECORD, &key),
                    Some(serde_json::to_vec(r).expect("records serialize")),
                ));
                w.push((
                    keys::doc(keys::SEARCH, &key),
                    Some(r.search_text().into_bytes()),
                ));
            }
            None => {
                w.push((keys::doc(keys::RECORD, &key), None));
                w.push((keys::doc(keys::SEARCH, &key), None));
            }
        }
        if snapshot {
            if d.get_missing_deps(&[]).is_empty() {
                w.push((keys::doc(keys::SNAPSHOT, &key), Some(d.save())));
            } else {
                // A snapshot leaves out changes waiting for a dependency:
                // load from the changes instead.
                w.push((keys::doc(keys::SNAPSHOT, &key), None));
            }
        }
        w
    }

    /// Bring a record's document to `record`: create it, or write the
    /// fields that differ. `None` if the stored record is the same already.
    fn upsert_writes(
        &self,
        record: &Record,
        now: DateTime<Utc>,
    ) -> Result<Option<(Vec<Write>, bool)>, LibraryError> {
        let doc_id = record.doc_id();
        let existing = self.record(&doc_id)?;
        if existing.as_ref() == Some(record) {
            return Ok(None);
        }
        match self.load_doc(&doc_id)? {
            None => {
                let (mut d, change) = doc::create(&self.key, record, time_ms(now))?;
                let mut writes = self.change_writes(&doc_id, &mut d, change, Some(record), false);
                writes.extend(self.revision_write(&doc_id, now)?);
                Ok(Some((writes, true)))
            }
            Some(mut d) => {
                // Diff against what the document holds (also when deleted).
                let current = doc::read(&mut d)?;
                let mut change = doc::update(&mut d, &self.key, &current, record, time_ms(now))?;
                if change.is_none() && doc::is_deleted(&d) {
                    change = doc::set_deleted(&mut d, &self.key, false, time_ms(now))?;
                }
                match change {
                    None => Ok(None),
                    Some(c) => {
                        let mut writes = self.change_writes(&doc_id, &mut d, c, Some(record), true);
                        writes.extend(self.revision_write(&doc_id, now)?);
                        Ok(Some((writes, existing.is_none())))
                    }
                }
            }
        }
    }

    fn commit(&self, writes: Vec<Write>) -> Result<(), LibraryError> {
        self.store.write(writes)?;
        self.store.flush()?;
        Ok(())
    }

    /// Import a dataset, all or nothing: every record is validated before
    /// anything is written. Records equal to the stored ones are skipped, so
    /// importing the same file twice changes nothing.
    pub fn import(
        &self,
        data: Value,
        now: DateTime<Utc>,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> Result<ImportReport, LibraryError> {
        let records = Dataset::from_value(data)?;
        self.check_may_write()?;
        let _w = self.write_lock.lock().unwrap_or_else(|e| e.into_inner());
        let total = records.len() as u64;
        let mut report = ImportReport {
            records: total,
            ..Default::default()
        };
        let done = AtomicU64::new(0);
        progress(0, total);
        let threads = std::thread::available_parallelism()
            .map(|n| n.get().min(4))
            .unwrap_or(1);
        let records = &records;
        // Workers build and sign documents; this thread writes batches. The
        // channel is bounded, so a slow store slows the workers down.
        std::thread::scope(|s| -> Result<(), LibraryError> {
            type Item = Result<Option<(Vec<Write>, bool)>, LibraryError>;
            let (tx, rx) = std::sync::mpsc::sync_channel::<Item>(IMPORT_BATCH);
            for t in 0..threads {
                let tx = tx.clone();
                let done = &done;
                s.spawn(move || {
                    for r in records.iter().skip(t).step_by(threads) {
                        let item = self.upsert_writes(r, now);
                        let failed = item.is_err();
                        let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                        if n.is_multiple_of(100) {
                            progress(n, total);
                        }
                        if tx.send(item).is_err() || failed {
                            return;
                        }
                    }
                });
            }
            drop(tx);
            let mut writes = Vec::new();
            let mut in_batch = 0;
            for item in rx {
                match item? {
                    None => report.unchanged += 1,
                    Some((w, created)) => {
                        if created {
                            report.created += 1;
                        } else {
                            report.updated += 1;
                        }
                        writes.extend(w);
                        in_batch += 1;
                    }
                }
                if in_batch == IMPORT_BATCH {
                    self.store.write(std::mem::take(&mut writes))?;
                    in_batch = 0;
                }
            }
            if !writes.is_empty() {
                self.store.write(writes)?;
            }
            Ok(())
        })?;
        self.store.flush()?;
        progress(total, total);
        Ok(report)
    }

    /// Every record, sorted by id.
    pub fn export(&self) -> Result<Dataset, LibraryError> {
        let mut records = Vec::new();
        for kind in RecordKind::ALL {
            for entry in self
                .store
                .scan_prefix(&keys::doc(keys::RECORD, &format!("{kind}/")))
            {
                let (_, v) = entry?;
                records.push(decode_record(kind, &v)?);
            }
        }
        Ok(Dataset::from_records(records))
    }

    pub fn show(&self, kind: RecordKind, id: &str) -> Result<Record, LibraryError> {
        let doc_id = doc_id(kind, id)?;
        self.record(&doc_id)?.ok_or_else(|| LibraryError::NotFound {
            kind,
            id: id.to_owned(),
        })
    }

    /// Add a new record. Missing `created_at`/`updated_at` of a practice are
    /// set to now. An event time that happens twice (the repeated autumn
    /// hour) is refused unless `accept_ambiguous`.
    pub fn add(
        &self,
        kind: RecordKind,
        mut value: Value,
        accept_ambiguous: bool,
        now: DateTime<Utc>,
    ) -> Result<Record, LibraryError> {
        if let Some(obj) = value.as_object_mut() {
            // A new id: kind letter, this node's key prefix, the time. Unique
            // across nodes without coordination.
            obj.entry("id").or_insert_with(|| {
                let letter = &kind.as_str()[..1];
                let node = &self.key.public().to_hex()[..8];
                Value::String(format!("{letter}-{node}-{}", now.format("%Y%m%d%H%M%S%3f")))
            });
        }
        if kind == RecordKind::Practice {
            if let Some(obj) = value.as_object_mut() {
                for f in ["created_at", "updated_at"] {
                    obj.entry(f)
                        .or_insert_with(|| Value::String(timestamp(now)));
                }
            }
        }
        let record = Record::from_value(kind, value)?;
        self.check_may_write()?;
        if let (Record::Event(e), false) = (&record, accept_ambiguous) {
            e.check_unambiguous(&["starts_at", "ends_at"])?;
        }
        let _w = self.write_lock.lock().unwrap_or_else(|e| e.into_inner());
        if self.record(&record.doc_id())?.is_some() {
            return Err(LibraryError::Exists {
                kind,
                id: record.id().to_owned(),
            });
        }
        if let Some((writes, _)) = self.upsert_writes(&record, now)? {
            self.commit(writes)?;
        }
        Ok(record)
    }

    /// Change fields of a record. A practice's `updated_at` is set to now
    /// unless the edits set it. An edit that makes an event's start or end
    /// happen twice is refused unless `accept_ambiguous`.
    pub fn edit(
        &self,
        kind: RecordKind,
        id: &str,
        edits: &[Edit],
        accept_ambiguous: bool,
        now: DateTime<Utc>,
    ) -> Result<Record, LibraryError> {
        if edits.is_empty() {
            return Err(LibraryError::BadRequest(
                "nothing to change: give at least one edit".into(),
            ));
        }
        let doc_id = doc_id(kind, id)?;
        self.check_may_write()?;
        let _w = self.write_lock.lock().unwrap_or_else(|e| e.into_inner());
        let current = self
            .record(&doc_id)?
            .ok_or_else(|| LibraryError::NotFound {
                kind,
                id: id.to_owned(),
            })?;
        let mut edits = edits.to_vec();
        let sets_updated = edits
            .iter()
            .any(|e| matches!(e, Edit::Set { field, .. } if field == "updated_at"));
        if let (Record::Practice(p), false) = (&current, sets_updated) {
            // Never before created_at, even when this node's clock is behind
            // the clock of the node that created the record.
            let created = chrono::DateTime::parse_from_rfc3339(&p.created_at)
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or(now);
            edits.push(Edit::Set {
                field: "updated_at".into(),
                value: timestamp(now.max(created)),
            });
        }
        let new = apply_edits(&current, &edits)?;
        if let (Record::Event(e), false) = (&new, accept_ambiguous) {
            let touched = |f: &str| {
                edits.iter().any(|e| match e {
                    Edit::Set { field, .. } | Edit::Splice { field, .. } => {
                        field == f || field == "timezone"
                    }
                })
            };
            let fields: Vec<&str> = ["starts_at", "ends_at"]
                .into_iter()
                .filter(|f| touched(f))
                .collect();
            e.check_unambiguous(&fields)?;
        }
        let mut d = self.load_doc(&doc_id)?.ok_or_else(|| {
            LibraryError::Corrupt(format!("{doc_id} has a record but no document"))
        })?;
        let in_doc = doc::read(&mut d)?;
        if let Some(change) = doc::update(&mut d, &self.key, &in_doc, &new, time_ms(now))? {
            let mut writes = self.change_writes(&doc_id, &mut d, change, Some(&new), true);
            writes.extend(self.revision_write(&doc_id, now)?);
            self.commit(writes)?;
        }
        Ok(new)
    }

    /// Delete a record (a signed tombstone change; its history stays).
    pub fn remove(
        &self,
        kind: RecordKind,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), LibraryError> {
        let doc_id = doc_id(kind, id)?;
        self.check_may_write()?;
        let _w = self.write_lock.lock().unwrap_or_else(|e| e.into_inner());
        let not_found = || LibraryError::NotFound {
            kind,
            id: id.to_owned(),
        };
        if self.record(&doc_id)?.is_none() {
            return Err(not_found());
        }
        let mut d = self.load_doc(&doc_id)?.ok_or_else(not_found)?;
        if let Some(change) = doc::set_deleted(&mut d, &self.key, true, time_ms(now))? {
            let writes = self.change_writes(&doc_id, &mut d, change, None, true);
            self.commit(writes)?;
        }
        Ok(())
    }

    /// Records of a kind that pass the filter: summary rows, or whole records.
    pub fn list(&self, kind: RecordKind, f: &ListFilter) -> Result<Vec<Value>, LibraryError> {
        let mut out = Vec::new();
        for entry in self
            .store
            .scan_prefix(&keys::doc(keys::RECORD, &format!("{kind}/")))
        {
            let (_, v) = entry?;
            let record = decode_record(kind, &v)?;
            if !matches_filter(&record, f) {
                continue;
            }
            out.push(if f.full {
                record.to_value()
            } else {
                summary(&record)
            });
        }
        Ok(out)
    }

    /// Events passing the filter, sorted by id, with their revisions.
    pub fn calendar_events(
        &self,
        f: &ListFilter,
    ) -> Result<Vec<(r2com_protocol::record::Event, Option<Revision>)>, LibraryError> {
        let mut out = Vec::new();
        let kind = RecordKind::Event;
        for entry in self
            .store
            .scan_prefix(&keys::doc(keys::RECORD, &format!("{kind}/")))
        {
            let (_, v) = entry?;
            let record = decode_record(kind, &v)?;
            if !matches_filter(&record, f) {
                continue;
            }
            if let Record::Event(e) = record {
                let rev = self.revision(&e.doc_id())?;
                out.push((e, rev));
            }
        }
        Ok(out)
    }

    /// The sessions of the filtered events between the dates `from` and
    /// `to` (inclusive, in `zone`), shown in `zone`. The filter's own
    /// `from`/`to` are ignored: the window replaces them.
    pub fn agenda(
        &self,
        from: &str,
        to: &str,
        zone: &str,
        filter: &ListFilter,
    ) -> Result<Vec<AgendaRow>, LibraryError> {
        let date = |s: &str| {
            chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
                LibraryError::BadRequest(format!("{s:?} is not a date like 2026-03-10"))
            })
        };
        let (from, to) = (date(from)?, date(to)?);
        if to < from {
            return Err(LibraryError::BadRequest(format!(
                "the agenda ends ({to}) before it starts ({from})"
            )));
        }
        let tz = calendar::parse_zone(zone)?;
        let window = calendar::agenda::day_window(from, to, tz);
        let filter = ListFilter {
            from: None,
            to: None,
            ..filter.clone()
        };
        let events = self.calendar_events(&filter)?;
        Ok(calendar::agenda::agenda(
            events.iter().map(|(e, _)| e),
            &window,
            zone,
        )?)
    }

    /// The filtered events as an iCalendar (RFC 5545) text.
    pub fn calendar_ics(
        &self,
        filter: &ListFilter,
        now: DateTime<Utc>,
    ) -> Result<String, LibraryError> {
        let events = self.calendar_events(filter)?;
        Ok(calendar::ics::render(&events, now)?)
    }

    /// Ranked full-text search over titles, summaries and bodies.
    pub fn search(&self, query: &str, limit: usize) -> Result<Vec<SearchHit>, LibraryError> {
        let q = Query::parse(query)
            .ok_or_else(|| LibraryError::BadRequest("the search has no words".into()))?;
        let limit = limit.clamp(1, MAX_SEARCH_RESULTS);
        let mut scored: Vec<(u32, Vec<u8>)> = Vec::new();
        for entry in self.store.scan_prefix(&[keys::SEARCH, 0]) {
            let (k, v) = entry?;
            let text =
                std::str::from_utf8(&v).map_err(|_| LibraryError::Corrupt("search text".into()))?;
            if let Some(score) = q.score(text) {
                scored.push((score, keys::rest(&k).to_vec()));
            }
        }
        scored.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        scored.truncate(limit);
        let mut hits = Vec::with_capacity(scored.len());
        for (score, key) in scored {
            let key =
                String::from_utf8(key).map_err(|_| LibraryError::Corrupt("search key".into()))?;
            let doc_id = DocId::parse(&key).map_err(|e| LibraryError::Corrupt(e.to_string()))?;
            let Some(record) = self.record(&doc_id)? else {
                continue;
            };
            let snippet = match &record {
                Record::Practice(p) => {
                    let s = q.snippet(&p.summary, 160);
                    if s.is_empty() {
                        q.snippet(&p.body, 160)
                    } else {
                        s
                    }
                }
                Record::Event(e) => q.snippet(&e.description, 160),
            };
            hits.push(SearchHit {
                kind: doc_id.kind(),
                id: doc_id.record_id().to_owned(),
                title: record.title().to_owned(),
                score,
                snippet,
            });
        }
        Ok(hits)
    }

    /// Re-check every stored change: it decodes, sits under its own
    /// document and hash, and its signature verifies strictly.
    pub fn verify(&self) -> Result<VerifyReport, LibraryError> {
        let mut r = VerifyReport::default();
        let mut last_doc: Option<Vec<u8>> = None;
        for entry in self.store.scan_prefix(&[keys::CHANGE, 0]) {
            let (k, v) = entry?;
            r.changes += 1;
            let rest = keys::rest(&k);
            let (doc_part, hash_part) = match rest.len().checked_sub(33) {
                Some(i) if rest[i] == 0 => (&rest[..i], &rest[i + 1..]),
                _ => (&rest[..0], &rest[..0]),
            };
            if last_doc.as_deref() != Some(doc_part) {
                r.documents += 1;
                last_doc = Some(doc_part.to_vec());
            }
            let doc_name = String::from_utf8_lossy(doc_part).into_owned();
            let outcome = SignedChange::decode(&v)
                .map_err(|e| e.to_string())
                .and_then(|sc| sc.verify(&self.scope()).map_err(|e| e.to_string()))
                .and_then(|vc| {
                    if vc.doc.to_key().as_bytes() != doc_part {
                        Err(format!("stored under {doc_name} but signed for {}", vc.doc))
                    } else if vc.hash.0[..] != *hash_part {
                        Err("stored under another change hash".to_owned())
                    } else {
                        Ok(())
                    }
                });
            match outcome {
                Ok(()) => r.valid += 1,
                Err(e) => {
                    r.invalid += 1;
                    if r.failures.len() < 50 {
                        r.failures
                            .push(format!("{doc_name} {}: {e}", hex::encode(hash_part)));
                    }
                }
            }
        }
        Ok(r)
    }

    pub fn counts(&self) -> Result<Counts, LibraryError> {
        let count = |prefix: Vec<u8>| -> Result<u64, LibraryError> {
            let mut n = 0;
            for e in self.store.scan_prefix(&prefix) {
                e?;
                n += 1;
            }
            Ok(n)
        };
        Ok(Counts {
            practices: count(keys::doc(keys::RECORD, "practice/"))?,
            events: count(keys::doc(keys::RECORD, "event/"))?,
            documents: count(vec![keys::DOC, 0])?,
            changes: count(vec![keys::CHANGE, 0])?,
        })
    }
}

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

pub(crate) fn heads_hex(d: &mut AutoCommit) -> Vec<String> {
    let mut h: Vec<String> = d.get_heads().iter().map(|h| hex::encode(h.0)).collect();
    h.sort();
    h
}

fn doc_id(kind: RecordKind, id: &str) -> Result<DocId, LibraryError> {
    DocId::new(kind, id).map_err(|e| LibraryError::BadRequest(e.to_string()))
}

fn decode_record(kind: RecordKind, bytes: &[u8]) -> Result<Record, LibraryError> {
    let r = match kind {
        RecordKind::Practice => serde_json::from_slice(bytes).map(Record::Practice),
        RecordKind::Event => serde_json::from_slice(bytes).map(Record::Event),
    };
    r.map_err(|e| LibraryError::Corrupt(format!("stored {kind}: {e}")))
}

fn matches_filter(record: &Record, f: &ListFilter) -> bool {
    let eq = |want: &Option<String>, have: &str| {
        want.as_deref().is_none_or(|w| w.eq_ignore_ascii_case(have))
    };
    let has = |want: &Option<String>, set: &[String]| {
        want.as_deref()
            .is_none_or(|w| set.iter().any(|s| s.eq_ignore_ascii_case(w)))
    };
    let as_str = |v: Value| v.as_str().unwrap_or_default().to_owned();
    match record {
        Record::Practice(p) => {
            eq(&f.organisation, &p.organisation)
                && has(&f.theme, &p.themes)
                && has(&f.target_group, &p.target_groups)
                && eq(
                    &f.status,
                    &as_str(serde_json::to_value(p.status).unwrap_or_default()),
                )
                && has(&f.language, &p.languages)
                && has(&f.country, &p.countries)
                && eq(
                    &f.evidence,
                    &as_str(serde_json::to_value(p.evidence).unwrap_or_default()),
                )
        }
        Record::Event(e) => {
            let day = &e.starts_at[..10.min(e.starts_at.len())];
            eq(&f.organisation, &e.organiser)
                && eq(
                    &f.status,
                    &as_str(serde_json::to_value(e.status).unwrap_or_default()),
                )
                && eq(&f.language, &e.language)
                && eq(
                    &f.format,
                    &as_str(serde_json::to_value(e.format).unwrap_or_default()),
                )
                && f.from.as_deref().is_none_or(|from| day >= from)
                && f.to.as_deref().is_none_or(|to| day <= to)
        }
    }
}

/// The row `list` shows for a record.
fn summary(record: &Record) -> Value {
    match record {
        Record::Practice(p) => serde_json::json!({
            "id": p.id, "title": p.title, "organisation": p.organisation,
            "status": p.status, "evidence": p.evidence, "themes": p.themes,
            "languages": p.languages, "countries": p.countries, "updated_at": p.updated_at,
        }),
        Record::Event(e) => serde_json::json!({
            "id": e.id, "title": e.title, "starts_at": e.starts_at, "ends_at": e.ends_at,
            "timezone": e.timezone, "organiser": e.organiser, "format": e.format,
            "language": e.language, "status": e.status, "recurrence": e.recurrence,
        }),
    }
}
