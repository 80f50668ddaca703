//! Applying whole documents received in a clone (`GetDocs`): each chunk is
//! checked by the protocol's [`verify_doc_batch`] (bounded bytes, the
//! document's changes exactly the signed ones, every signature, every
//! author judged by the roster from the change's header), then a document
//! this node does not hold is stored as loaded, with its changes stored
//! detached from the snapshot that holds them (their signatures as
//! received; see `library::changes`) and their indexes, as if they had
//! come one by one. Anything else (a document held already, a change the roster or
//! the record's rights refuse) takes the change-by-change path with the
//! accepted changes, parsed by automerge then.

use libp2p::PeerId;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use automerge::AutoCommit;

use r2com_protocol::envelope::{ChangeBytes, DocChange, DocChunk, VerifiedDoc};
use r2com_protocol::ids::DocId;
use r2com_protocol::rights;
use r2com_protocol::roster::verify_doc_batch;

use super::check::by_doc;
use super::cores::{map_on_cores, worker_threads};
use super::doc::DocOutcome;
use super::{ApplyReport, Verified};
use crate::library::{
    author_index, detached_write, hash_index, Batch, Library, LibraryError, StoredHistory,
};
use crate::store::keys;

impl Library {
    /// Apply document chunks received from `origin`, all or nothing as
    /// [`Library::apply`] does envelopes. Committed (durable, then
    /// announced) before it returns.
    pub fn apply_whole_docs(
        &self,
        origin: Option<PeerId>,
        chunks: Vec<Vec<u8>>,
    ) -> Result<(ApplyReport, bool), LibraryError> {
        let applied = self.apply_whole_received(origin, chunks);
        if let Ok((r, _)) = &applied {
            let skipped = r.not_allowed.len() as u64;
            self.metrics.applied(r.applied, r.refused, skipped);
        }
        applied
    }

    fn apply_whole_received(
        &self,
        origin: Option<PeerId>,
        chunks: Vec<Vec<u8>>,
    ) -> Result<(ApplyReport, bool), LibraryError> {
        let _w = self.write_lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut report = ApplyReport::default();
        let mut parsed = Vec::with_capacity(chunks.len());
        for (i, c) in chunks.iter().enumerate() {
            match DocChunk::decode(c) {
                Ok(d) => parsed.push(d),
                Err(e) => report.refuse(format!("document #{i}: {e}")),
            }
        }
        if report.refused > 0 || parsed.is_empty() {
            return Ok((report, false));
        }
        let threads = worker_threads();
        let roster = self.roster();
        let verdict = verify_doc_batch(
            &self.scope(),
            roster.as_deref(),
            parsed,
            &StoredHistory(self),
            threads,
        );
        let v = verdict.changes;
        report.duplicates += v.duplicates;
        for why in v.invalid {
            report.refuse(why);
        }
        report.not_allowed.extend(v.not_allowed);
        // All or nothing, as for envelopes.
        if report.refused > 0 {
            return Ok((report, false));
        }
        let mut grouped = by_doc(v.accepted);
        let mut whole = Vec::new();
        for mut d in verdict.whole {
            if self.doc_state(&d.doc)?.is_none() {
                whole.push(d);
                continue;
            }
            match DocChange::all_parsed(&d.changes, &d.doc, &mut d.document) {
                Ok(parsed) => grouped.entry(d.doc.clone()).or_default().extend(parsed),
                Err(e) => report.refuse(format!("{}: {e}", d.doc)),
            }
        }
        if report.refused > 0 {
            return Ok((report, false));
        }
        report.received = report.duplicates
            + report.not_allowed.len() as u64
            + grouped.values().map(|v| v.len() as u64).sum::<u64>()
            + whole.iter().map(|d| d.changes.len() as u64).sum::<u64>();
        let docs: Vec<(DocId, Vec<Verified>)> = grouped.into_iter().collect();
        let n_whole = whole.len();
        let mut batch = Batch::relayed_from(origin);
        let judged = AtomicUsize::new(0);
        let outcomes = map_on_cores(whole, |d| self.apply_one_whole(d, &judged));
        let mut missing_deps = self.gather(outcomes, &mut report, &mut batch)?;
        missing_deps |= self.gather(self.apply_docs(&docs), &mut report, &mut batch)?;
        self.commit(batch)?;
        tracing::info!(
            documents = n_whole,
            changes = report.applied,
            change_by_change = docs.len(),
            rights_judged = judged.into_inner(),
            "applied whole documents (a clone)"
        );
        Ok((report, missing_deps))
    }

    /// The writes for one document new to this node: its state, record,
    /// snapshot (the bytes received: exactly these changes), and every
    /// change (detached: the snapshot holds it) with its indexes. A change the
    /// record's rights refuse sends the document down the change-by-change
    /// path instead. Documents whose rights were judged are counted in
    /// `judged`.
    fn apply_one_whole(
        &self,
        vd: VerifiedDoc,
        judged: &AtomicUsize,
    ) -> Result<DocOutcome, LibraryError> {
        let VerifiedDoc {
            doc,
            mut document,
            bytes,
            changes,
        } = vd;
        if self.may_need_rights(&doc, &mut document, &changes) {
            judged.fetch_add(1, Ordering::Relaxed);
            let parsed = match DocChange::all_parsed(&changes, &doc, &mut document) {
                Ok(p) => p,
                Err(e) => return Ok(DocOutcome::refused(format!("{doc}: {e}"))),
            };
            let (ok, _) = self.judge_rights(&doc, &mut document, &parsed);
            if ok.len() != parsed.len() {
                return self.apply_doc(&doc, &parsed);
            }
        }
        let key = doc.to_key();
        let mut batch = match self.doc_writes(&doc, &mut document, false)? {
            Ok(w) => Batch::of(w),
            Err(why) => return Ok(DocOutcome::refused(why)),
        };
        batch.write((keys::doc(keys::SNAPSHOT, &key), Some(bytes)));
        let applied = changes.len() as u64;
        // Each author's last change (in whatever order the chunk lists them).
        let mut last: HashMap<String, (u64, [u8; 32])> = HashMap::new();
        for c in &changes {
            let e = last.entry(c.author.to_hex()).or_insert((c.seq, c.hash.0));
            if c.seq > e.0 {
                *e = (c.seq, c.hash.0);
            }
        }
        for (author, (seq, hash)) in last {
            batch.write(author_index(&author, &key, seq, &hash));
        }
        for c in changes {
            batch.write(hash_index(&key, &c.hash.0));
            // The snapshot written holds every change: stored detached.
            batch.write(detached_write(&key, &c));
            match c.bytes {
                ChangeBytes::Envelope(envelope) => batch.change(envelope),
                // Not rebuilt to be pushed: other members sync themselves.
                ChangeBytes::InDocument => batch.change_held(),
            }
        }
        Ok(DocOutcome {
            batch,
            applied,
            missing_deps: false,
            refused: None,
            not_allowed: Vec::new(),
        })
    }

    /// Whether the record's rights must be judged change by change: some
    /// change is by an author who was never an admin and names a
    /// privileged field (see `rights::may_be_privileged`). Otherwise every
    /// change may be applied. A change that came without its bytes is
    /// taken from `document` (only for such an author).
    fn may_need_rights(
        &self,
        doc: &DocId,
        document: &mut AutoCommit,
        changes: &[DocChange],
    ) -> bool {
        let Some(roster) = self.roster() else {
            return false;
        };
        changes.iter().any(|c| {
            if roster.was_admin(&c.author.to_hex()) {
                return false;
            }
            match c.change_bytes() {
                Some(bytes) => rights::may_be_privileged(doc.kind(), bytes),
                None => match document.get_change_by_hash(&c.hash) {
                    Some(change) => rights::may_be_privileged(doc.kind(), change.raw_bytes()),
                    // Not found: judged change by change, which refuses it.
                    None => true,
                },
            }
        })
    }
}
