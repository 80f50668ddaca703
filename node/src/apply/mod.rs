//! Applying received changes, the one step for everything that arrives
//! from elsewhere: a peer's push or fetched batch (through the sync
//! machine's [`r2com_protocol::sync::Replica::apply`]) and a changes file
//! (`changes import`). Roster entries are stored first, so changes are
//! judged by the newest roster (only what the rules keep is stored); then
//! every change is checked (`check`, the protocol's `verify_batch`), and
//! only if the whole batch is valid are the documents built (`doc`),
//! written and flushed. Whole documents (a clone, `whole`) take the same
//! checks, and are loaded instead of built change by change.

mod check;
mod cores;
mod doc;
mod handover;
mod whole;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod whole_tests;

use libp2p::PeerId;

use r2com_protocol::envelope::SignedChange;
use r2com_protocol::ids::DocId;
use r2com_protocol::roster::decode_entries;
use serde::Serialize;

use crate::library::{Batch, Library, LibraryError};

use doc::DocOutcome;

pub use handover::MAX_IMPORT_CHANGES;

/// Store writes of a large batch written before the rest is built (the
/// batch is still committed, and announced, as one).
const WRITE_PART: usize = 4000;

/// What `changes import` did.
#[derive(Debug, Default, Serialize)]
pub struct ApplyReport {
    pub received: u64,
    pub applied: u64,
    pub duplicates: u64,
    pub refused: u64,
    /// Why changes were refused (first ones).
    pub refusals: Vec<String>,
    /// Well-formed changes whose author may not write per our roster
    /// (unknown, or revoked past its frontier): skipped, not applied. Not
    /// the sender's fault (an honest peer with an older roster relays
    /// them), unlike `refused`.
    pub not_allowed: Vec<String>,
}

/// A change whose envelope verified, with what the verification found.
type Verified = (SignedChange, r2com_protocol::envelope::VerifiedChange);

impl Library {
    /// Apply roster entries, then change envelopes, received from `origin`
    /// (the peer they came from: relayed to every peer but that one; `None`
    /// for a file). Committed (durable, then announced) before it returns.
    /// Returns the report and whether some document now waits for changes
    /// it lacks.
    pub fn apply(
        &self,
        origin: Option<PeerId>,
        entries: Vec<Vec<u8>>,
        envelopes: Vec<Vec<u8>>,
    ) -> Result<(ApplyReport, bool), LibraryError> {
        let applied = self.apply_received(origin, entries, envelopes);
        if let Ok((r, _)) = &applied {
            let skipped = r.not_allowed.len() as u64;
            self.metrics.applied(r.applied, r.refused, skipped);
        }
        applied
    }

    fn apply_received(
        &self,
        origin: Option<PeerId>,
        entries: Vec<Vec<u8>>,
        envelopes: Vec<Vec<u8>>,
    ) -> Result<(ApplyReport, bool), LibraryError> {
        let _w = self.write_lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut report = ApplyReport::default();
        // Entries waiting for a dependency: a round with the sender brings
        // them together.
        let mut roster_pending = false;
        if !entries.is_empty() {
            let cid = self
                .consortium_id()?
                .ok_or_else(|| LibraryError::BadRequest("not in a consortium".into()))?;
            let (parsed, bad) = decode_entries(&entries);
            for b in bad {
                report.refuse(b);
            }
            if report.refused > 0 {
                return Ok((report, false));
            }
            let merged = self.merge_roster_entries(&cid, parsed)?;
            for r in merged.invalid {
                report.refuse(format!("roster entry {r}"));
            }
            if report.refused > 0 {
                return Ok((report, false));
            }
            // Entries the rules refuse are not the sender's fault (its view
            // of the roster may be older): skipped, like changes whose
            // author may not write.
            report.not_allowed.extend(
                merged
                    .refused
                    .into_iter()
                    .map(|r| format!("roster entry {r}")),
            );
            roster_pending = merged.pending;
        }
        let mut changes = Vec::with_capacity(envelopes.len());
        for (i, env) in envelopes.into_iter().enumerate() {
            report.received += 1;
            match SignedChange::decode(&env) {
                Ok(sc) => changes.push(sc),
                Err(e) => report.refuse(format!("change #{i}: {e}")),
            }
        }
        if changes.is_empty() {
            return Ok((report, roster_pending));
        }
        let by_doc = self.check(changes, &mut report)?;
        // All or nothing: one change that does not verify, and nothing from
        // this batch is applied. Changes whose author may not write are
        // skipped (see `ApplyReport::not_allowed`).
        if report.refused > 0 {
            return Ok((report, false));
        }
        let docs: Vec<(DocId, Vec<Verified>)> = by_doc.into_iter().collect();
        let mut batch = Batch::relayed_from(origin);
        let missing_deps = self.gather(self.apply_docs(&docs), &mut report, &mut batch)?;
        self.commit(batch)?;
        Ok((report, missing_deps || roster_pending))
    }

    /// Put each document's outcome into `batch` (writing large batches in
    /// parts) and its counts into `report`. Whether some document waits
    /// for a change it lacks.
    fn gather(
        &self,
        outcomes: Vec<Result<DocOutcome, LibraryError>>,
        report: &mut ApplyReport,
        batch: &mut Batch,
    ) -> Result<bool, LibraryError> {
        let mut missing_deps = false;
        for outcome in outcomes {
            let mut o = outcome?;
            report.not_allowed.append(&mut o.not_allowed);
            if let Some(why) = o.refused {
                report.refuse(why);
                continue;
            }
            missing_deps |= o.missing_deps;
            report.applied += o.applied;
            batch.append(o.batch);
            if batch.pending_writes() > WRITE_PART {
                self.write_part(batch)?;
            }
        }
        Ok(missing_deps)
    }
}

impl ApplyReport {
    pub(crate) fn refuse(&mut self, why: String) {
        self.refused += 1;
        if self.refusals.len() < 50 {
            self.refusals.push(why);
        }
    }
}
