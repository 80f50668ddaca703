//! Applying whole documents received in a clone (`GetDocs`): each chunk is
//! checked by the protocol's [`verify_doc_batch`] (bounded bytes, the
//! document's changes exactly the signed ones, every signature, every
//! author judged by the roster), then a document this node does not hold
//! is stored as loaded, with its changes' envelopes and indexes as if they
//! had come one by one. Anything else (a document held already, a change
//! the roster or the record's rights refuse) takes the change-by-change
//! path with the accepted changes.

use libp2p::PeerId;

use r2com_protocol::envelope::{DocChunk, VerifiedDoc};
use r2com_protocol::ids::DocId;
use r2com_protocol::roster::verify_doc_batch;

use super::check::by_doc;
use super::cores::{map_on_cores, worker_threads};
use super::doc::DocOutcome;
use super::{ApplyReport, Verified};
use crate::library::{author_index, hash_index, Batch, Library, LibraryError, StoredHistory};
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
        for d in verdict.whole {
            if self.doc_state(&d.doc)?.is_some() {
                grouped.entry(d.doc.clone()).or_default().extend(d.changes);
            } else {
                whole.push(d);
            }
        }
        report.received = report.duplicates
            + report.not_allowed.len() as u64
            + grouped.values().map(|v| v.len() as u64).sum::<u64>()
            + whole.iter().map(|d| d.changes.len() as u64).sum::<u64>();
        let docs: Vec<(DocId, Vec<Verified>)> = grouped.into_iter().collect();
        let n_whole = whole.len();
        let mut batch = Batch::relayed_from(origin);
        let mut missing_deps = self.gather(self.apply_whole(whole), &mut report, &mut batch)?;
        missing_deps |= self.gather(self.apply_docs(&docs), &mut report, &mut batch)?;
        self.commit(batch)?;
        tracing::info!(
            documents = n_whole,
            changes = report.applied,
            change_by_change = docs.len(),
            "applied whole documents (a clone)"
        );
        Ok((report, missing_deps))
    }

    /// Store each loaded document (on all cores when there are many).
    fn apply_whole(&self, docs: Vec<VerifiedDoc>) -> Vec<Result<DocOutcome, LibraryError>> {
        map_on_cores(docs, |d| self.apply_one_whole(d))
    }

    /// The writes for one document new to this node: its state, record,
    /// snapshot (the bytes received: exactly these changes), and every
    /// change with its indexes. A change the record's rights refuse sends
    /// the document down the change-by-change path instead.
    fn apply_one_whole(&self, vd: VerifiedDoc) -> Result<DocOutcome, LibraryError> {
        let VerifiedDoc {
            doc,
            mut document,
            bytes,
            changes,
        } = vd;
        let (ok, _) = self.judge_rights(&doc, &mut document, &changes);
        if ok.len() != changes.len() {
            return self.apply_doc(&doc, &changes);
        }
        let key = doc.to_key();
        let mut batch = match self.doc_writes(&doc, &mut document, false)? {
            Ok(w) => Batch::of(w),
            Err(why) => {
                return Ok(DocOutcome {
                    batch: Batch::default(),
                    applied: 0,
                    missing_deps: false,
                    refused: Some(why),
                    not_allowed: Vec::new(),
                })
            }
        };
        batch.write((keys::doc(keys::SNAPSHOT, &key), Some(bytes)));
        for (sc, v) in &changes {
            let env = sc.encode();
            batch.write((keys::change(&key, &v.hash.0), Some(env.clone())));
            batch.write(author_index(
                &v.author.to_hex(),
                &key,
                v.change.seq(),
                &v.hash.0,
            ));
            batch.write(hash_index(&key, &v.hash.0));
            batch.change(env);
        }
        Ok(DocOutcome {
            batch,
            applied: changes.len() as u64,
            missing_deps: false,
            refused: None,
            not_allowed: Vec::new(),
        })
    }
}
