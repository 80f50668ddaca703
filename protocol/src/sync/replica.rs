//! The local store as the machine sees it, and the check every received
//! change passes.

use std::fmt;

use crate::envelope::{Scope, SignedChange, VerifiedChange};
use crate::roster::Roster;

use super::{Applied, Outbox, Standing, Summary};

/// The local store as the machine sees it. Calls are synchronous; errors
/// are local failures (a disk error), reported and never blamed on a peer.
pub trait Replica<P> {
    type Error: fmt::Display;
    /// What `peer` may do.
    fn standing(&mut self, peer: &P) -> Standing;
    /// Whether this node waits for its own admission (joined by invite, not
    /// yet a member in its own roster).
    fn awaiting_admission(&mut self) -> bool;
    fn summary(&mut self) -> Result<Summary, Self::Error>;
    fn bucket_digests(&mut self) -> Result<Vec<[u8; 32]>, Self::Error>;
    /// Every change hash in these buckets.
    fn inventory(&mut self, buckets: &[u8]) -> Result<Vec<[u8; 32]>, Self::Error>;
    fn has_change(&mut self, hash: &[u8; 32]) -> Result<bool, Self::Error>;
    /// Stored envelopes of these changes (unknown ones skipped).
    fn get_changes(&mut self, hashes: &[[u8; 32]]) -> Result<Vec<Vec<u8>>, Self::Error>;
    /// Stored roster entries with these ids (unknown ones skipped).
    fn get_roster(&mut self, ids: &[[u8; 32]]) -> Result<Vec<Vec<u8>>, Self::Error>;
    /// Check and store roster entries, then check and apply changes, all
    /// received from `peer` (see [`Applied`]); durable before it returns.
    fn apply(
        &mut self,
        peer: &P,
        entries: Vec<Vec<u8>>,
        envelopes: Vec<Vec<u8>>,
    ) -> Result<Applied, Self::Error>;
    /// An invitee's admission (its invite and admit entries). `Some(all
    /// roster entries)` if `peer` is now a member, `None` if the admission
    /// is not valid; `Err` for entries that are not an admission at all.
    fn admit(&mut self, peer: &P, entries: Vec<Vec<u8>>) -> Result<Option<Vec<Vec<u8>>>, String>;
    /// This node's own invite and admit entries, while it waits.
    fn own_admission(&mut self) -> Result<Vec<Vec<u8>>, Self::Error>;
    /// Take what was written since the last call.
    fn take_outbox(&mut self) -> Outbox<P>;
}

/// The check every received change passes before it is applied: a
/// well-formed envelope whose signature verifies for this consortium
/// (`Err(Invalid)`: the sender misbehaved), by an author who may write per
/// `roster` (`Err(NotAllowed)` otherwise).
pub fn check_change(
    scope: &Scope,
    roster: Option<&Roster>,
    envelope: &SignedChange,
) -> Result<VerifiedChange, ChangeRefusal> {
    let key = envelope.doc.to_key();
    let verified = envelope
        .verify(scope)
        .map_err(|e| ChangeRefusal::Invalid(format!("{key}: {e}")))?;
    let Some(roster) = roster else {
        return Err(ChangeRefusal::NotAllowed(format!(
            "{key}: this node is not in a consortium"
        )));
    };
    roster
        .check_change_author(
            &verified.author,
            &key,
            verified.change.seq(),
            &verified.hash.0,
        )
        .map_err(|e| ChangeRefusal::NotAllowed(format!("{key} {}: {e}", verified.hash)))?;
    Ok(verified)
}

/// Why a received change is not applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeRefusal {
    /// Malformed, forged, or for another consortium.
    Invalid(String),
    /// Its author may not write (unknown to, or revoked in, our roster).
    NotAllowed(String),
}
