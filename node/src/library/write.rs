//! Local writes: add, edit and remove a record. Each makes one signed
//! automerge change per touched record, builds the [`Batch`] that stores
//! it, and commits it (write, flush, then announce) before returning.

use automerge::{AutoCommit, Change};
use chrono::{DateTime, Utc};
use serde_json::Value;

use r2com_protocol::control::{apply_edits, Edit};
use r2com_protocol::doc;
use r2com_protocol::envelope::SignedChange;
use r2com_protocol::ids::{DocId, RecordKind};
use r2com_protocol::record::Record;

use super::doc::writes_snapshot;
use super::{
    author_index, change_write, doc_id, hash_index, state_writes, time_ms, timestamp, Batch,
    Library, LibraryError,
};
use crate::store::Write;

impl Library {
    /// The batch that stores one signed change and the state it leads to,
    /// and announces the change once committed. The change is stored
    /// detached when the batch writes a snapshot (which holds it).
    pub(crate) fn change_batch(
        &self,
        doc_id: &DocId,
        d: &mut AutoCommit,
        change: Change,
        record: Option<&Record>,
        snapshot: bool,
    ) -> Result<Batch, LibraryError> {
        let key = doc_id.to_key();
        let hash = change.hash();
        let seq = change.seq();
        let in_snapshot = writes_snapshot(d, snapshot);
        let signed = SignedChange::sign(&self.key, &self.scope(), doc_id, change.clone());
        let mut w: Vec<Write> = Vec::new();
        if !in_snapshot {
            // The stored snapshot goes: what it held is stored whole.
            w.extend(self.reform_stored(doc_id, d)?);
        }
        w.extend([
            change_write(&key, &signed, &change, in_snapshot),
            author_index(&self.key.public().to_hex(), &key, seq, &hash.0),
            hash_index(&key, &hash.0),
        ]);
        w.extend(state_writes(&key, d, record, snapshot));
        let mut batch = Batch::of(w);
        batch.change(signed.encode());
        Ok(batch)
    }

    /// Bring a record's document to `record`: create it, or write the
    /// fields that differ. `None` if the stored record is the same already;
    /// else the batch and whether the record is new.
    pub(crate) fn upsert_batch(
        &self,
        record: &Record,
        now: DateTime<Utc>,
    ) -> Result<Option<(Batch, bool)>, LibraryError> {
        let doc_id = record.doc_id();
        self.check_not_erased_id(&doc_id)?;
        let existing = self.record(&doc_id)?;
        if existing.as_ref() == Some(record) {
            return Ok(None);
        }
        match self.load_doc_for_write(&doc_id)? {
            None => {
                let (mut d, change) = doc::create(&self.key, record, time_ms(now))?;
                self.check_rights(&doc_id, &d, &change)?;
                // With its snapshot: it loads faster than from its change,
                // and travels whole to a node that clones.
                let mut batch = self.change_batch(&doc_id, &mut d, change, Some(record), true)?;
                batch.extend(self.revision_write(&doc_id, now)?);
                Ok(Some((batch, true)))
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
                        self.check_rights(&doc_id, &d, &c)?;
                        let mut batch =
                            self.change_batch(&doc_id, &mut d, c, Some(record), true)?;
                        batch.extend(self.revision_write(&doc_id, now)?);
                        Ok(Some((batch, existing.is_none())))
                    }
                }
            }
        }
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
        if let Some((batch, _)) = self.upsert_batch(&record, now)? {
            self.commit(batch)?;
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
        let mut d = self.load_doc_for_write(&doc_id)?.ok_or_else(|| {
            LibraryError::Corrupt(format!("{doc_id} has a record but no document"))
        })?;
        let in_doc = doc::read(&mut d)?;
        if let Some(change) = doc::update(&mut d, &self.key, &in_doc, &new, time_ms(now))? {
            self.check_rights(&doc_id, &d, &change)?;
            let mut batch = self.change_batch(&doc_id, &mut d, change, Some(&new), true)?;
            batch.extend(self.revision_write(&doc_id, now)?);
            self.commit(batch)?;
        }
        // Durable (or unchanged): kept loaded for the next edit.
        self.loaded.put(doc_id.to_key(), d);
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
        let mut d = self.load_doc_for_write(&doc_id)?.ok_or_else(not_found)?;
        if let Some(change) = doc::set_deleted(&mut d, &self.key, true, time_ms(now))? {
            self.check_rights(&doc_id, &d, &change)?;
            let batch = self.change_batch(&doc_id, &mut d, change, None, true)?;
            self.commit(batch)?;
        }
        self.loaded.put(doc_id.to_key(), d);
        Ok(())
    }
}
