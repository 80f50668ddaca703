//! `conflicts` and `resolve`: fields that concurrent changes left with
//! more than one value (automerge keeps them all and shows one), merged
//! records that fail validation, and the signed change that settles a field.

use chrono::{DateTime, Utc};
use serde_json::Value;

use r2com_protocol::control::{
    apply_edits, Conflicts, Edit, FieldConflict, InvalidRecord, Resolution, Resolved,
};
use r2com_protocol::doc;
use r2com_protocol::history;
use r2com_protocol::ids::{DocId, RecordKind};
use r2com_protocol::record::Record;

use super::{decode_record, time_ms, timestamp, DocState, Library, LibraryError};
use crate::store::keys;

impl Library {
    /// Every field with concurrent values (with each value's author and
    /// time), and every record whose merged state does not validate.
    pub fn conflicts(&self) -> Result<Conflicts, LibraryError> {
        let roster = self.roster();
        let mut out = Conflicts::default();
        let prefix = [keys::DOC, 0];
        for entry in self.store.scan_prefix(&prefix) {
            let (k, v) = entry?;
            let name = String::from_utf8_lossy(keys::rest(&k)).into_owned();
            let state: DocState = serde_json::from_slice(&v)
                .map_err(|e| LibraryError::Corrupt(format!("state of {name}: {e}")))?;
            // Documents whose state says they have none are skipped; states
            // written before this was kept are looked at.
            if state.conflicts.as_ref().is_some_and(Vec::is_empty) {
                continue;
            }
            let doc_id = DocId::parse(&name)
                .map_err(|e| LibraryError::Corrupt(format!("document key {name}: {e}")))?;
            let Some(mut d) = self.load_doc(&doc_id)? else {
                continue;
            };
            let title = match self.record(&doc_id)? {
                Some(r) => r.title().to_owned(),
                None => doc::read(&mut d)
                    .map(|r| r.title().to_owned())
                    .unwrap_or_default(),
            };
            for c in history::conflicts(&mut d) {
                let mut values = c.values;
                for v in &mut values {
                    v.organisation = roster
                        .as_deref()
                        .and_then(|r| r.find_key(&v.author))
                        .map(|(o, _)| o.info.key.clone());
                }
                out.conflicts.push(FieldConflict {
                    record: name.clone(),
                    title: title.clone(),
                    field: c.field,
                    values,
                });
            }
        }
        for kind in RecordKind::ALL {
            let prefix = keys::doc(keys::RECORD, &format!("{kind}/"));
            for entry in self.store.scan_prefix(&prefix) {
                let (k, v) = entry?;
                let record = decode_record(kind, &v)?;
                if let Err(e) = record.validate() {
                    out.invalid.push(InvalidRecord {
                        record: String::from_utf8_lossy(keys::rest(&k)).into_owned(),
                        title: record.title().to_owned(),
                        field: e.field.clone(),
                        reason: e.reason.clone(),
                    });
                }
            }
        }
        Ok(out)
    }

    /// Settle `field` of a record: keep one of its concurrent values, or
    /// write a new one (in the text form `edit --set` takes). One signed
    /// change that supersedes every concurrent value (and, for a practice,
    /// sets `updated_at`); refused if the field would not validate.
    pub fn resolve(
        &self,
        reference: &str,
        field: &str,
        resolution: &Resolution,
        now: DateTime<Utc>,
    ) -> Result<Resolved, LibraryError> {
        let doc_id = self.resolve_reference(reference)?;
        self.check_may_write()?;
        let _w = self.write_lock.lock().unwrap_or_else(|e| e.into_inner());
        let key = doc_id.to_key();
        let mut d = self
            .load_doc_for_write(&doc_id)?
            .ok_or_else(|| LibraryError::Corrupt(format!("{key} has no document")))?;
        let current = doc::read(&mut d)?;
        let value: Option<Value> = match resolution {
            Resolution::Keep(n) => {
                let conflict = history::conflicts(&mut d)
                    .into_iter()
                    .find(|c| c.field == field)
                    .ok_or_else(|| {
                        LibraryError::BadRequest(format!(
                            "{key}: `{field}` has no concurrent values (see `r2com conflicts`); give --value to set it"
                        ))
                    })?;
                let count = conflict.values.len();
                let v = conflict
                    .values
                    .into_iter()
                    .find(|v| v.n == *n)
                    .ok_or_else(|| {
                        LibraryError::BadRequest(format!(
                            "{key}: `{field}` has {count} values; --keep takes 1 to {count}"
                        ))
                    })?;
                Some(v.value)
            }
            Resolution::Value(text) => {
                if field == "deleted" {
                    return Err(LibraryError::BadRequest(
                        "settle `deleted` with --keep N (or use rm)".into(),
                    ));
                }
                let new = apply_edits(
                    &current,
                    &[Edit::Set {
                        field: field.to_owned(),
                        value: text.clone(),
                    }],
                )?;
                new.to_value().get(field).cloned()
            }
        };
        let mut values: Vec<(&str, Option<&Value>)> = vec![(field, value.as_ref())];
        let updated;
        if let Record::Practice(p) = &current {
            if field != "updated_at" && field != "deleted" {
                let created = DateTime::parse_from_rfc3339(&p.created_at)
                    .map(|t| t.with_timezone(&Utc))
                    .unwrap_or(now);
                updated = Value::String(timestamp(now.max(created)));
                values.push(("updated_at", Some(&updated)));
            }
        }
        let change = doc::settle(&mut d, &self.key, &values, time_ms(now))
            .map_err(|e| LibraryError::BadRequest(format!("{key}: {e}")))?;
        self.check_rights(&doc_id, &d, &change)?;
        let record = doc::read(&mut d)?;
        if let Err(e) = record.validate() {
            if e.field == field {
                return Err(e.into());
            }
        }
        let hash = change.hash().to_string();
        let visible = (!doc::is_deleted(&d)).then_some(&record);
        let mut batch = self.change_batch(&doc_id, &mut d, change, visible, true)?;
        batch.extend(self.revision_write(&doc_id, now)?);
        self.commit(batch)?;
        Ok(Resolved {
            record: key,
            field: field.to_owned(),
            value: value.unwrap_or(Value::Null),
            change: hash,
        })
    }
}
