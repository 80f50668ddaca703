//! The local store as the machine sees it. What a replica applies passes
//! the protocol's own checks: [`crate::roster::merge_entries`] for roster
//! entries, [`crate::roster::admit`] for admissions and
//! [`crate::roster::verify_batch`] for changes.

use std::fmt;

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
    /// Whether this node serves and applies whole documents (`GetDocs`,
    /// sync revision 2). A replica that does not keeps the change path.
    fn whole_docs(&self) -> bool {
        false
    }
    /// Encoded document chunks ([`crate::envelope::DocChunk`]) of the
    /// documents in these document buckets ([`crate::wire::doc_bucket`]),
    /// stopping once about `max_bytes` are collected. Documents it cannot
    /// give whole are left out (a round fetches their changes). With
    /// `envelopes`, version 2 chunks (every change's envelope), else
    /// version 1 (signatures only; an asker of revision 2).
    fn get_docs(
        &mut self,
        _buckets: &[u8],
        _max_bytes: usize,
        _envelopes: bool,
    ) -> Result<Vec<Vec<u8>>, Self::Error> {
        Ok(Vec::new())
    }
    /// Check and apply document chunks received from `peer`, as
    /// [`Replica::apply`] does changes; durable before it returns.
    fn apply_docs(&mut self, _peer: &P, chunks: Vec<Vec<u8>>) -> Result<Applied, Self::Error> {
        Ok(Applied {
            invalid: vec![format!("{} whole documents, not asked for", chunks.len())],
            ..Applied::default()
        })
    }
    /// An invitee's admission (its invite and admit entries). `Some(all
    /// roster entries)` if `peer` is now a member, `None` if the admission
    /// is not valid; `Err` for entries that are not an admission at all.
    fn admit(&mut self, peer: &P, entries: Vec<Vec<u8>>) -> Result<Option<Vec<Vec<u8>>>, String>;
    /// This node's own invite and admit entries, while it waits.
    fn own_admission(&mut self) -> Result<Vec<Vec<u8>>, Self::Error>;
    /// Take what was written since the last call.
    fn take_outbox(&mut self) -> Outbox<P>;
}
