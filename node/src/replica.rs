//! The library as the sync machine sees it: the adapter from
//! [`r2com_protocol::sync::Replica`] to the [`Library`] (reconciliation
//! reads, applying received data, admission, the outbox), with peers named
//! by their libp2p PeerId.

use libp2p::PeerId;

use r2com_protocol::sync::{Applied, Outbox, Replica, Standing, Summary};

use crate::identity::key_of;
use crate::library::{Library, LibraryError};

/// The store as the sync machine sees it.
pub(crate) struct NodeReplica<'a>(pub(crate) &'a Library);

impl Replica<PeerId> for NodeReplica<'_> {
    type Error = LibraryError;

    fn standing(&mut self, peer: &PeerId) -> Standing {
        match (key_of(peer), self.0.roster()) {
            (Some(key), Some(r)) => r.standing(&key),
            _ => Standing::Stranger,
        }
    }

    fn awaiting_admission(&mut self) -> bool {
        let me = self.0.key().public().to_hex();
        self.0.roster().is_some_and(|r| r.awaiting_admission(&me))
    }

    fn summary(&mut self) -> Result<Summary, LibraryError> {
        self.0.summary()
    }

    fn bucket_digests(&mut self) -> Result<Vec<[u8; 32]>, LibraryError> {
        self.0.bucket_digests()
    }

    fn inventory(&mut self, buckets: &[u8]) -> Result<Vec<[u8; 32]>, LibraryError> {
        self.0.inventory(buckets)
    }

    fn has_change(&mut self, hash: &[u8; 32]) -> Result<bool, LibraryError> {
        self.0.has_change(hash)
    }

    fn get_changes(&mut self, hashes: &[[u8; 32]]) -> Result<Vec<Vec<u8>>, LibraryError> {
        self.0.get_changes(hashes)
    }

    fn get_roster(&mut self, ids: &[[u8; 32]]) -> Result<Vec<Vec<u8>>, LibraryError> {
        self.0.get_roster(ids)
    }

    fn apply(
        &mut self,
        peer: &PeerId,
        entries: Vec<Vec<u8>>,
        envelopes: Vec<Vec<u8>>,
    ) -> Result<Applied, LibraryError> {
        let (report, missing_deps) = self.0.apply(Some(*peer), entries, envelopes)?;
        Ok(Applied {
            applied: report.applied,
            invalid: report.refusals,
            not_allowed: report.not_allowed,
            missing_deps,
        })
    }

    fn whole_docs(&self) -> bool {
        true
    }

    fn get_docs(
        &mut self,
        buckets: &[u8],
        max_bytes: usize,
        envelopes: bool,
    ) -> Result<Vec<Vec<u8>>, LibraryError> {
        self.0.get_docs(buckets, max_bytes, envelopes)
    }

    fn apply_docs(&mut self, peer: &PeerId, chunks: Vec<Vec<u8>>) -> Result<Applied, LibraryError> {
        let (report, missing_deps) = self.0.apply_whole_docs(Some(*peer), chunks)?;
        Ok(Applied {
            applied: report.applied,
            invalid: report.refusals,
            not_allowed: report.not_allowed,
            missing_deps,
        })
    }

    fn admit(
        &mut self,
        peer: &PeerId,
        entries: Vec<Vec<u8>>,
    ) -> Result<Option<Vec<Vec<u8>>>, String> {
        let key = key_of(peer).unwrap_or_default();
        if !self
            .0
            .admit_from_peer(&key, entries)
            .map_err(|e| e.to_string())?
        {
            return Ok(None);
        }
        let ids = self.0.roster_ids().map_err(|e| e.to_string())?;
        self.0.get_roster(&ids).map(Some).map_err(|e| e.to_string())
    }

    fn own_admission(&mut self) -> Result<Vec<Vec<u8>>, LibraryError> {
        self.0.own_admission()
    }

    fn take_outbox(&mut self) -> Outbox<PeerId> {
        self.0.take_outbox()
    }
}
