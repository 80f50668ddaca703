//! Applying verified changes to one document: the writes for the changes,
//! their indexes and the state the document reaches.

use std::panic::{catch_unwind, AssertUnwindSafe};

use automerge::AutoCommit;

use r2com_protocol::envelope::{SignedChange, VerifiedChange};
use r2com_protocol::ids::DocId;
use r2com_protocol::rights;

use super::cores::map_on_cores;
use super::Verified;
use crate::library::{author_index, change_write, hash_index, Batch, Library, LibraryError};

/// What applying one document's changes produced.
pub(super) struct DocOutcome {
    /// The writes, and the changes to relay once they are committed.
    pub(super) batch: Batch,
    pub(super) applied: u64,
    pub(super) missing_deps: bool,
    /// Set when the changes were refused (nothing of them is written).
    pub(super) refused: Option<String>,
    /// Changes skipped because their author may not do what they do to
    /// this record (see `r2com_protocol::rights`): not the sender's fault.
    pub(super) not_allowed: Vec<String>,
}

impl DocOutcome {
    /// Nothing written: the changes were refused for `why`.
    pub(super) fn refused(why: String) -> DocOutcome {
        DocOutcome {
            batch: Batch::default(),
            applied: 0,
            missing_deps: false,
            refused: Some(why),
            not_allowed: Vec::new(),
        }
    }
}

impl Library {
    /// Apply verified changes to one document and compute the writes: the
    /// changes, their indexes, the record, the document state and a
    /// snapshot.
    ///
    /// Only changes automerge could apply enter the hash index (what the
    /// summary, inventories and fetches see); one waiting for a missing
    /// dependency is stored but unannounced until that dependency arrives.
    pub(super) fn apply_doc(
        &self,
        doc_id: &DocId,
        items: &[Verified],
    ) -> Result<DocOutcome, LibraryError> {
        let key = doc_id.to_key();
        let refused = DocOutcome::refused;
        let mut d = self.load_doc(doc_id)?.unwrap_or_else(AutoCommit::new);
        let (items, not_allowed) = self.judge_rights(doc_id, &mut d, items);
        if items.is_empty() {
            return Ok(DocOutcome {
                batch: Batch::default(),
                applied: 0,
                missing_deps: false,
                refused: None,
                not_allowed,
            });
        }
        let had_waiting = !d.get_missing_deps(&[]).is_empty();
        let changes: Vec<automerge::Change> = items.iter().map(|(_, v)| v.change.clone()).collect();
        match catch_unwind(AssertUnwindSafe(|| d.apply_changes(changes))) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                return Ok(refused(format!(
                    "{key}: automerge refused the changes: {e}"
                )))
            }
            Err(_) => return Ok(refused(format!("{key}: automerge panicked on the changes"))),
        }
        // Always with a snapshot: it loads faster than the changes, and
        // travels whole to a node that clones.
        let mut batch = match self.doc_writes(doc_id, &mut d, true)? {
            Ok(w) => Batch::of(w),
            Err(why) => return Ok(refused(why)),
        };
        // Nothing waits (the usual case): all of them applied, no need to ask
        // automerge change by change (costly: it rebuilds each change). Then
        // the batch writes a snapshot holding them: they are stored detached.
        let all_applied = d.get_missing_deps(&[]).is_empty();
        for &(sc, v) in &items {
            batch.write(change_write(&key, sc, &v.change, all_applied));
            batch.write(author_index(
                &v.author.to_hex(),
                &key,
                v.change.seq(),
                &v.hash.0,
            ));
            if all_applied || d.get_change_meta_by_hash(&v.hash).is_some() {
                batch.write(hash_index(&key, &v.hash.0));
            }
            batch.change(sc.encode());
        }
        if had_waiting {
            // Stored changes that waited for one of these now apply.
            batch.extend(self.index_applied(&key, &mut d, &[])?);
        }
        if had_waiting || !all_applied {
            // The snapshot goes (a change now waits: what it held is stored
            // whole), or comes back holding changes that waited (stored
            // detached now).
            batch.extend(self.reform_stored(doc_id, &mut d)?);
        }
        Ok(DocOutcome {
            batch,
            applied: items.len() as u64,
            missing_deps: !all_applied,
            refused: None,
            not_allowed,
        })
    }

    /// Split received changes of one document into those their authors may
    /// make and the reasons for the rest (`r2com_protocol::rights`, judged
    /// against the state each change's author saw: `d` with the batch).
    pub(super) fn judge_rights<'a>(
        &self,
        doc_id: &DocId,
        d: &mut AutoCommit,
        items: &'a [Verified],
    ) -> (Vec<(&'a SignedChange, &'a VerifiedChange)>, Vec<String>) {
        let all = || items.iter().map(|(sc, v)| (sc, v)).collect();
        let Some(roster) = self.roster() else {
            return (all(), Vec::new());
        };
        let kind = doc_id.kind();
        // An admin may do all of it (and most changes are not privileged):
        // only then is the document needed.
        if !items.iter().any(|(_, v)| {
            !roster.was_admin(&v.author.to_hex()) && rights::privileged(kind, &v.change).any()
        }) {
            return (all(), Vec::new());
        }
        // The document with the whole batch: every change's dependencies
        // that arrived with it are there to judge it by.
        let mut probe = d.fork();
        let batch: Vec<automerge::Change> = items.iter().map(|(_, v)| v.change.clone()).collect();
        let _ = catch_unwind(AssertUnwindSafe(|| probe.apply_changes(batch)));
        let mut ok = Vec::new();
        let mut refused = Vec::new();
        for (sc, v) in items {
            match rights::check(&roster, &probe, kind, &v.change) {
                Ok(()) => ok.push((sc, v)),
                Err(e) => refused.push(format!("{doc_id} {}: {e}", v.hash)),
            }
        }
        (ok, refused)
    }

    /// Apply each document's changes (documents are independent: on all
    /// cores when there are many).
    pub(super) fn apply_docs(
        &self,
        docs: &[(DocId, Vec<Verified>)],
    ) -> Vec<Result<DocOutcome, LibraryError>> {
        map_on_cores(docs.iter().collect(), |(d, items)| self.apply_doc(d, items))
    }
}
