//! Applying whole documents received in a clone (`GetDocs`): each chunk is
//! checked by the protocol's [`verify_doc_chunks`] (bounded bytes, the
//! document's changes exactly the signed ones, every signature) and
//! [`judge_doc_batch`] (every author judged by the roster from the
//! change's header), then a document
//! this node does not hold is stored as loaded, with its changes stored
//! detached from the snapshot that holds them (their signatures as
//! received; see `library::changes`) and their indexes, as if they had
//! come one by one. Anything else (a document held already, a change the roster or
//! the record's rights refuse) takes the change-by-change path with the
//! accepted changes, parsed by automerge then.
//!
//! An answer is applied in slices of a few hundred kilobytes of documents:
//! a thread of its own verifies and loads slice k+1 (on the worker
//! threads) while this thread judges and stores slice k. Loading is most
//! of a clone's work and storing is serial, so both cores work, and only
//! two slices of loaded documents are held at once (an answer at ten times
//! the demo data is about 48 MiB of documents, about 8 times that loaded).
//! What a verdict depends on, the roster and what is stored, is read when
//! the slice is stored, under the write lock held for the whole answer:
//! only the slices before it can have changed the store meanwhile.

use libp2p::PeerId;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use automerge::AutoCommit;

use r2com_protocol::envelope::{ChangeBytes, DocChange, DocChunk, VerifiedDoc};
use r2com_protocol::ids::DocId;
use r2com_protocol::rights;
use r2com_protocol::roster::{judge_doc_batch, verify_doc_chunks, Roster};

use super::check::by_doc;
use super::cores::{map_on_cores, worker_threads};
use super::doc::DocOutcome;
use super::{ApplyReport, Verified};
use crate::library::{
    author_index, detached_write, hash_index, Batch, Library, LibraryError, StoredHistory,
};
use crate::store::keys;

/// Documents in a slice at most: enough for the worker threads to share
/// (the protocol verifies fewer than 64 on one thread), few enough that a
/// full-scale answer (about 880 documents) makes 7 slices, so the first
/// slice's verification and the last one's writes, which overlap nothing,
/// are a small part of it.
pub(super) const SLICE_DOCS: usize = 128;

/// Bytes of documents in a slice at most (large documents): the loaded
/// documents of two slices are what a clone holds at once.
pub(super) const SLICE_BYTES: usize = 1 << 20;

/// One slice's documents as verified (an `Err` is why a chunk is invalid).
type VerifiedSlice = Vec<Result<VerifiedDoc, String>>;

/// What storing an answer's slices came to.
#[derive(Default)]
struct Stored {
    slices: usize,
    whole: usize,
    change_by_change: usize,
    missing_deps: bool,
    /// Time this thread waited for a verified slice.
    waited: Duration,
}

impl Library {
    /// Apply document chunks received from `origin`, slice by slice (see
    /// the module's doc). A chunk that does not decode refuses the answer
    /// before anything is written. A slice is all or nothing as
    /// [`Library::apply`] is for envelopes: a document in it that does not
    /// verify, and none of it is written (changes whose author may not
    /// write are skipped, as there); nor is any slice after it. A document
    /// refused as its writes are built is left out alone, as before
    /// slices, and also ends the answer after its slice. The slices before
    /// stay (each of their documents was verified, judged and stored
    /// whole).
    /// Committed once for the answer (durable, then announced) before it
    /// returns, so a swarm's members start one round per answer.
    pub fn apply_whole_docs(
        &self,
        origin: Option<PeerId>,
        chunks: Vec<Vec<u8>>,
    ) -> Result<(ApplyReport, bool), LibraryError> {
        let applied = self.apply_whole_sliced(origin, chunks, SLICE_DOCS, SLICE_BYTES);
        if let Ok((r, _)) = &applied {
            let skipped = r.not_allowed.len() as u64;
            self.metrics.applied(r.applied, r.refused, skipped);
        }
        applied
    }

    /// [`Library::apply_whole_docs`] with slices of at most `slice_docs`
    /// documents and about `slice_bytes` bytes of them.
    pub(super) fn apply_whole_sliced(
        &self,
        origin: Option<PeerId>,
        chunks: Vec<Vec<u8>>,
        slice_docs: usize,
        slice_bytes: usize,
    ) -> Result<(ApplyReport, bool), LibraryError> {
        let _w = self.write_lock.lock().unwrap_or_else(|e| e.into_inner());
        let started = Instant::now();
        let mut report = ApplyReport::default();
        // Decoded once, each chunk's bytes freed as it is.
        let mut parsed = Vec::with_capacity(chunks.len());
        for (i, c) in chunks.into_iter().enumerate() {
            match DocChunk::decode(&c) {
                Ok(d) => parsed.push(d),
                Err(e) => report.refuse(format!("document #{i}: {e}")),
            }
        }
        if report.refused > 0 || parsed.is_empty() {
            return Ok((report, false));
        }
        let slices = slices(parsed, slice_docs, slice_bytes);
        let (scope, roster, threads) = (self.scope(), self.roster(), worker_threads());
        let mut batch = Batch::relayed_from(origin);
        let judged = AtomicUsize::new(0);
        // A rendezvous: the next slice is verified while this one is
        // stored, and no further ahead.
        let (tx, rx) = mpsc::sync_channel::<VerifiedSlice>(0);
        let stored = std::thread::scope(|s| {
            std::thread::Builder::new()
                .name("clone-verify".into())
                .spawn_scoped(s, move || {
                    for slice in slices {
                        // Err: the apply stopped (a slice refused, or a
                        // store error).
                        if tx.send(verify_doc_chunks(&scope, slice, threads)).is_err() {
                            break;
                        }
                    }
                })
                .expect("spawning the clone's verifying thread");
            let stored =
                self.store_slices(&rx, roster.as_deref(), &mut report, &mut batch, &judged);
            // Unblocks the verifying thread if the apply stopped early.
            drop(rx);
            stored
        })?;
        if stored.slices > 0 {
            self.commit(batch)?;
        }
        tracing::info!(
            documents = stored.whole,
            changes = report.applied,
            change_by_change = stored.change_by_change,
            rights_judged = judged.into_inner(),
            slices = stored.slices,
            refused = report.refused,
            waited_ms = stored.waited.as_millis() as u64,
            ms = started.elapsed().as_millis() as u64,
            "applied whole documents (a clone)"
        );
        Ok((report, stored.missing_deps))
    }

    /// Judge and write every slice `verified` brings, in order, until one
    /// has anything refused (not written). The writes are in the store but
    /// neither flushed nor announced: the caller commits `batch`.
    fn store_slices(
        &self,
        verified: &mpsc::Receiver<VerifiedSlice>,
        roster: Option<&Roster>,
        report: &mut ApplyReport,
        batch: &mut Batch,
        judged: &AtomicUsize,
    ) -> Result<Stored, LibraryError> {
        let mut stored = Stored::default();
        loop {
            let waiting = Instant::now();
            let Ok(slice) = verified.recv() else {
                return Ok(stored);
            };
            stored.waited += waiting.elapsed();
            let verdict = judge_doc_batch(roster, slice, &StoredHistory(self));
            let v = verdict.changes;
            report.duplicates += v.duplicates;
            for why in v.invalid {
                report.refuse(why);
            }
            let not_allowed = v.not_allowed.len() as u64;
            report.not_allowed.extend(v.not_allowed);
            if report.refused > 0 {
                return Ok(stored);
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
                return Ok(stored);
            }
            report.received += v.duplicates
                + not_allowed
                + grouped.values().map(|v| v.len() as u64).sum::<u64>()
                + whole.iter().map(|d| d.changes.len() as u64).sum::<u64>();
            let docs: Vec<(DocId, Vec<Verified>)> = grouped.into_iter().collect();
            stored.whole += whole.len();
            stored.change_by_change += docs.len();
            // A document refused as its writes are built (one whose
            // changes make it another record) is left out alone, as before
            // slices; it too ends the answer after this slice.
            let outcomes = map_on_cores(whole, |d| self.apply_one_whole(d, judged));
            stored.missing_deps |= self.gather(outcomes, report, batch)?;
            stored.missing_deps |= self.gather(self.apply_docs(&docs), report, batch)?;
            self.write_part(batch)?;
            stored.slices += 1;
            if report.refused > 0 {
                return Ok(stored);
            }
        }
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

/// `chunks` in slices of at most `docs` documents and about `bytes` bytes
/// of them, in order.
fn slices(chunks: Vec<DocChunk>, docs: usize, bytes: usize) -> Vec<Vec<DocChunk>> {
    let mut out = Vec::new();
    let (mut slice, mut size) = (Vec::new(), 0);
    for c in chunks {
        if !slice.is_empty() && (slice.len() >= docs || size >= bytes) {
            out.push(std::mem::take(&mut slice));
            size = 0;
        }
        size += c.document.len();
        slice.push(c);
    }
    if !slice.is_empty() {
        out.push(slice);
    }
    out
}
