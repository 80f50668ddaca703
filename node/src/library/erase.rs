//! Erasure: `erase` writes a signed roster entry naming the record and the
//! hashes of its changes; every node whose roster holds it deletes the
//! record's document, changes (with their signatures), indexes, search
//! text, snapshot and revision, and refuses those changes if offered again
//! (`Roster::check_not_erased`, in the protocol's batch check). Files only
//! the erased record referred to are deleted too.

use chrono::{DateTime, Utc};

use r2com_protocol::control::Erased;
use r2com_protocol::doc;
use r2com_protocol::ids::{DocId, RecordKind};
use r2com_protocol::record::Record;
use r2com_protocol::roster::{Action, Roster};

use super::{Batch, Library, LibraryError};
use crate::files::{parse_hash, FileStore};
use crate::store::{keys, Write};

/// `m\0erased-file/{hash}`: a file an erased record referred to, to delete
/// once no record refers to it (written with the erasure, crash-safe).
const ERASED_FILE: &str = "erased-file/";

impl Library {
    /// Erase a record: by a member of its organisation or an admin.
    pub fn erase(
        &self,
        reference: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Erased, LibraryError> {
        if reason.trim().is_empty() {
            return Err(LibraryError::BadRequest(
                "give the reason for the erasure (--reason)".into(),
            ));
        }
        let doc_id = self.resolve_reference(reference)?;
        let key = doc_id.to_key();
        let _w = self.write_lock.lock().unwrap_or_else(|e| e.into_inner());
        let cid = self.consortium_id()?.ok_or_else(|| {
            LibraryError::BadRequest(
                "erasure needs a consortium: every member carries it out".into(),
            )
        })?;
        let roster = self
            .roster()
            .ok_or_else(|| LibraryError::BadRequest("no roster".into()))?;
        let me = self.key.public().to_hex();
        let my_org = match roster.find_key(&me) {
            Some((o, _)) if roster.is_live_member(&me) => o.info.key.clone(),
            _ => {
                return Err(LibraryError::Forbidden(
                    "this node is not a current member: it cannot erase records".into(),
                ))
            }
        };
        let organisation = self
            .organisation_of(&doc_id)?
            .unwrap_or_else(|| my_org.clone());
        if organisation != my_org && !roster.is_admin(&me) {
            return Err(LibraryError::Forbidden(format!(
                "only {organisation} or an admin may erase {key} (this node is of {my_org})"
            )));
        }
        let mut hashes = Vec::new();
        let prefix = keys::changes_of(&key);
        for k in self.store.scan_keys(&prefix) {
            hashes.push(hex::encode(&k?[prefix.len()..]));
        }
        hashes.sort();
        let (signed, _) = self.add_entry(
            &cid,
            Action::Erase {
                doc: key.clone(),
                organisation,
                reason: reason.trim().to_owned(),
                hashes: hashes.clone(),
            },
            now,
        )?;
        Ok(Erased {
            record: key,
            changes: hashes.len() as u64,
            entry: signed.id().to_hex(),
        })
    }

    /// The organisation a record (deleted or not) belongs to, if it is held.
    fn organisation_of(&self, doc_id: &DocId) -> Result<Option<String>, LibraryError> {
        Ok(self
            .held_record(doc_id)?
            .map(|r| r.organisation().to_owned()))
    }

    /// A record as held, deleted or not.
    fn held_record(&self, doc_id: &DocId) -> Result<Option<Record>, LibraryError> {
        if let Some(r) = self.record(doc_id)? {
            return Ok(Some(r));
        }
        Ok(match self.load_doc(doc_id)? {
            Some(mut d) => doc::read(&mut d).ok(),
            None => None,
        })
    }

    /// Use `files` for the files of records: delete those erased records
    /// left behind, now and after every erasure.
    pub fn use_files(&self, files: FileStore) -> Result<(), LibraryError> {
        let files = self.files.get_or_init(|| files);
        self.sweep_erased_files(files)?;
        Ok(())
    }

    /// Let an erased record's id be used again (admins only): a signed
    /// `reuse` roster entry. Nothing to do if the id is not erased.
    pub fn reuse_erased(
        &self,
        kind: RecordKind,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), LibraryError> {
        let doc = super::doc_id(kind, id)?.to_key();
        let Some(roster) = self.roster() else {
            return Ok(());
        };
        if roster.erasures.get(&doc).is_none_or(|e| e.reusable) {
            return Ok(());
        }
        let _w = self.write_lock.lock().unwrap_or_else(|e| e.into_inner());
        let cid = self.require_admin()?;
        self.add_entry(&cid, Action::Reuse { doc }, now)?;
        Ok(())
    }

    /// Refuse to write a record whose id stands erased.
    pub(crate) fn check_not_erased_id(&self, doc_id: &DocId) -> Result<(), LibraryError> {
        let Some(r) = self.roster() else {
            return Ok(());
        };
        match r.erasures.get(&doc_id.to_key()) {
            Some(e) if !e.reusable => Err(LibraryError::Forbidden(format!(
                "{doc_id} was erased by {} of {} at {} ({}); an admin may use the id again with --reuse",
                e.by, e.organisation, e.at, e.reason
            ))),
            _ => Ok(()),
        }
    }

    /// Carry out the roster's erasures this store still holds data of:
    /// delete the records' documents, changes, indexes, snapshots and
    /// revisions in one batch, noting their files for
    /// deletion. Returns how many records.
    pub(crate) fn apply_erasures(&self, roster: &Roster) -> Result<u64, LibraryError> {
        let mut writes: Vec<Write> = Vec::new();
        let mut erased = 0;
        for (key, erasure) in &roster.erasures {
            let prefix = keys::changes_of(key);
            let mut found = Vec::new();
            for k in self.store.scan_keys(&prefix) {
                found.push(k?);
            }
            let state = self.store.get(&keys::doc(keys::DOC, key))?;
            let holds_erased = found
                .iter()
                .any(|k| erasure.hashes.contains(&hex::encode(&k[prefix.len()..])));
            if (found.is_empty() && state.is_none()) || (erasure.reusable && !holds_erased) {
                continue;
            }
            erased += 1;
            tracing::warn!(doc = %key, by = %erasure.by, organisation = %erasure.organisation,
                reason = %erasure.reason, changes = found.len(), "erasing a record");
            if let Ok(doc_id) = DocId::parse(key) {
                if let Some(r) = self.held_record(&doc_id)? {
                    writes.extend(erased_files(&r));
                }
            }
            for k in found {
                writes.push((keys::key(keys::HASH, &k[prefix.len()..]), None));
                writes.push((k, None));
            }
            for table in [keys::DOC, keys::RECORD, keys::SNAPSHOT, keys::REVISION] {
                writes.push((keys::doc(table, key), None));
            }
            for k in self.store.scan_keys(&[keys::AUTHOR, 0]) {
                let k = k?;
                if k.ends_with(format!("\0{key}").as_bytes()) {
                    writes.push((k, None));
                }
            }
        }
        if !writes.is_empty() {
            self.commit(Batch::of(writes))?;
        }
        if let Some(files) = self.files.get() {
            self.sweep_erased_files(files)?;
        }
        Ok(erased)
    }

    /// Delete the files erased records referred to that no record held
    /// here refers to any more. Returns how many were deleted.
    pub fn sweep_erased_files(&self, files: &FileStore) -> Result<u64, LibraryError> {
        let prefix = keys::key(keys::META, ERASED_FILE.as_bytes());
        let mut pending = Vec::new();
        for k in self.store.scan_keys(&prefix) {
            let k = k?;
            pending.push((String::from_utf8_lossy(&k[prefix.len()..]).into_owned(), k));
        }
        if pending.is_empty() {
            return Ok(0);
        }
        let mut deleted = 0;
        let mut done: Vec<Write> = Vec::new();
        for (hash, k) in pending {
            if self.reference(&hash)?.is_none() {
                if let Some(h) = parse_hash(&hash) {
                    match files.remove(&h) {
                        Ok(true) => deleted += 1,
                        Ok(false) => {}
                        Err(e) => {
                            tracing::warn!(%hash, error = %e, "could not delete an erased record's file");
                            continue;
                        }
                    }
                }
            }
            done.push((k, None));
        }
        self.commit(Batch::of(done))?;
        if deleted > 0 {
            tracing::info!(deleted, "deleted files only erased records referred to");
        }
        Ok(deleted)
    }
}

/// The notes to delete `r`'s files once nothing refers to them.
fn erased_files(r: &Record) -> Vec<Write> {
    r.attachments()
        .iter()
        .map(|a| {
            (
                keys::key(keys::META, format!("{ERASED_FILE}{}", a.hash).as_bytes()),
                Some(Vec::new()),
            )
        })
        .collect()
}
