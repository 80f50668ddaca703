//! A node's own changes to a document form one chain: sequence numbers
//! 1, 2, 3... of its actor, each depending on the one before. Automerge
//! numbers a local change after the node's last *applied* change, so while
//! one of its own changes waits for a dependency (a retraction took away a
//! change it builds on, until a round fetches that back), a local write
//! would take the waiting change's number: automerge drops the waiting
//! ones, the node's peers that applied them refuse the new change as a
//! duplicate sequence number, and the document never converges again. So a
//! node does not write to a document while one of its own changes to it
//! waits.

use automerge::{AutoCommit, ChangeHash};

use super::DocError;

/// Refuse a local write to `doc` while one of the node's own changes to it
/// (`own_held`: the hashes of every change by the node's key that the
/// store holds for the document) is not applied in `doc`.
pub fn check_own_chain(doc: &mut AutoCommit, own_held: &[ChangeHash]) -> Result<(), DocError> {
    let waiting = own_held
        .iter()
        .filter(|h| doc.get_change_meta_by_hash(h).is_none())
        .count();
    if waiting == 0 {
        Ok(())
    } else {
        Err(DocError::OwnChangesWaiting(waiting))
    }
}
