//! File references on records: attach, detach, and the list of every
//! reference. The files themselves are the file store's
//! ([`crate::files`]); here only the records change, each as one signed
//! change to the record's attachment map.

use chrono::{DateTime, Utc};

use r2com_protocol::control::AttachmentRow;
use r2com_protocol::doc;
use r2com_protocol::ids::{DocId, RecordKind};
use r2com_protocol::record::{Attachment, Record};

use super::{doc_id, time_ms, timestamp, Library, LibraryError};

impl Library {
    /// The practice or event with this id (a practice first if both exist).
    pub fn find_record(&self, id: &str) -> Result<(DocId, Record), LibraryError> {
        for kind in [RecordKind::Practice, RecordKind::Event] {
            let Ok(d) = doc_id(kind, id) else { continue };
            if let Some(r) = self.record(&d)? {
                return Ok((d, r));
            }
        }
        Err(LibraryError::BadRequest(format!(
            "no practice or event has the id {id:?}"
        )))
    }

    /// Add a reference to a record (or update the title and language of
    /// one with the same hash). A practice's `updated_at` is set to now.
    pub fn attach(
        &self,
        id: &str,
        attachment: Attachment,
        now: DateTime<Utc>,
    ) -> Result<(Record, Attachment), LibraryError> {
        self.check_may_write()?;
        let _w = self.write_lock.lock().unwrap_or_else(|e| e.into_inner());
        let (doc_id, current) = self.find_record(id)?;
        let mut new = current.clone();
        let list = new.attachments_mut();
        list.retain(|a| a.hash != attachment.hash);
        list.push(attachment.clone());
        self.write_record(&doc_id, new, now)
            .map(|r| (r, attachment))
    }

    /// Remove the reference to file `hash` from a record.
    pub fn detach(&self, id: &str, hash: &str, now: DateTime<Utc>) -> Result<Record, LibraryError> {
        self.check_may_write()?;
        let _w = self.write_lock.lock().unwrap_or_else(|e| e.into_inner());
        let (doc_id, current) = self.find_record(id)?;
        if !current.attachments().iter().any(|a| a.hash == hash) {
            return Err(LibraryError::BadRequest(format!(
                "{} {id} has no attachment {hash}",
                current.kind()
            )));
        }
        let mut new = current;
        new.attachments_mut().retain(|a| a.hash != hash);
        self.write_record(&doc_id, new, now)
    }

    /// Validate `new` (stamping a practice's `updated_at`) and write the
    /// fields that differ from the document as one change. The caller
    /// holds the write lock.
    fn write_record(
        &self,
        doc_id: &DocId,
        mut new: Record,
        now: DateTime<Utc>,
    ) -> Result<Record, LibraryError> {
        if let Record::Practice(p) = &mut new {
            let created = chrono::DateTime::parse_from_rfc3339(&p.created_at)
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or(now);
            p.updated_at = timestamp(now.max(created));
        }
        new.normalize();
        new.validate()?;
        let mut d = self.load_doc_for_write(doc_id)?.ok_or_else(|| {
            LibraryError::Corrupt(format!("{doc_id} has a record but no document"))
        })?;
        let in_doc = doc::read(&mut d)?;
        if let Some(change) = doc::update(&mut d, &self.key, &in_doc, &new, time_ms(now))? {
            let mut batch = self.change_batch(doc_id, &mut d, change, Some(&new), true)?;
            batch.extend(self.revision_write(doc_id, now)?);
            self.commit(batch)?;
        }
        self.loaded.put(doc_id.to_key(), d);
        Ok(new)
    }

    /// Every reference of every record (records in id order, then by
    /// hash); `held` says whether this node holds the file.
    pub fn attachment_rows(
        &self,
        held: &dyn Fn(&Attachment) -> bool,
    ) -> Result<Vec<AttachmentRow>, LibraryError> {
        let mut out = Vec::new();
        for kind in [RecordKind::Practice, RecordKind::Event] {
            for r in self.list(kind, &Default::default())? {
                for a in r.attachments() {
                    out.push(AttachmentRow {
                        record: format!("{kind}/{}", r.id()),
                        attachment: a.clone(),
                        held: held(a),
                    });
                }
            }
        }
        Ok(out)
    }

    /// The reference to file `hash` on any record, if one refers to it.
    pub fn reference(&self, hash: &str) -> Result<Option<Attachment>, LibraryError> {
        for kind in [RecordKind::Practice, RecordKind::Event] {
            for r in self.list(kind, &Default::default())? {
                if let Some(a) = r.attachments().iter().find(|a| a.hash == hash) {
                    return Ok(Some(a.clone()));
                }
            }
        }
        Ok(None)
    }
}
