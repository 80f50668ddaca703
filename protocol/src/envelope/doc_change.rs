//! The changes of a whole document received in a clone ([`DocChange`]),
//! and the proof that a document holds exactly them ([`graph_heads`]).

use std::collections::HashSet;

use automerge::ChangeHash;

use super::{parse_change, EnvelopeError, SignedChange, VerifiedChange};
use crate::identity::{PublicKey, SIGNATURE_LEN};
use crate::ids::DocId;

/// One change of a verified whole document: its signed envelope (as
/// received when the peer sent envelopes, so it is stored as is) and what
/// the roster judges it by, read from its header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocChange {
    /// The encoded [`SignedChange`].
    pub envelope: Vec<u8>,
    pub author: PublicKey,
    pub hash: ChangeHash,
    pub seq: u64,
    /// Milliseconds since the epoch, as the author's node gave it.
    pub time: i64,
    pub deps: Vec<ChangeHash>,
}

impl DocChange {
    /// The raw change chunk inside the envelope.
    pub fn change_bytes(&self) -> &[u8] {
        // version, key length, key, signature, change length, change: the
        // envelope decoded when this was made.
        let key_len = self.envelope[1] as usize;
        &self.envelope[2 + key_len + SIGNATURE_LEN + 4..]
    }

    /// The change parsed by automerge (with [`parse_change`]'s checks), as
    /// the change-by-change path needs it. Its signature was verified
    /// when this was made.
    pub fn parsed(&self) -> Result<(SignedChange, VerifiedChange), EnvelopeError> {
        let signed = SignedChange::decode(&self.envelope)?;
        let change = parse_change(&signed.change)?;
        if change.hash() != self.hash {
            return Err(EnvelopeError::ChangesMismatch);
        }
        let verified = VerifiedChange {
            doc: signed.doc.clone(),
            author: self.author,
            hash: self.hash,
            change,
        };
        Ok((signed, verified))
    }

    /// The changes of `doc` parsed ([`DocChange::parsed`]).
    pub fn all_parsed(
        changes: &[DocChange],
        doc: &DocId,
    ) -> Result<Vec<(SignedChange, VerifiedChange)>, EnvelopeError> {
        changes
            .iter()
            .map(|c| {
                let p = c.parsed()?;
                if &p.0.doc != doc {
                    return Err(EnvelopeError::ChangesMismatch);
                }
                Ok(p)
            })
            .collect()
    }
}

/// The heads of a change graph (sorted): the changes no other change of
/// it depends on. `None` unless the graph is whole: no change listed
/// twice, every dependency of a change one of the changes.
///
/// A change's hash covers its dependencies' hashes, and automerge's load
/// recomputes every change hash of a document from its content and checks
/// them against the document's heads. So when the changes' hashes were
/// computed from their bytes, the graph is whole, and its heads are the
/// loaded document's heads, the document holds exactly these changes:
/// each of its changes is an ancestor of a head, and an ancestor is
/// determined by its descendant's hash (short of a SHA-256 collision).
pub fn graph_heads<'a>(
    changes: impl IntoIterator<Item = (&'a ChangeHash, &'a [ChangeHash])> + Clone,
) -> Option<Vec<ChangeHash>> {
    let mut all = HashSet::new();
    for (hash, _) in changes.clone() {
        if !all.insert(*hash) {
            return None;
        }
    }
    let mut depended = HashSet::new();
    for (_, deps) in changes {
        for d in deps {
            if !all.contains(d) {
                return None;
            }
            depended.insert(*d);
        }
    }
    let mut heads: Vec<ChangeHash> = all.difference(&depended).copied().collect();
    heads.sort_unstable();
    Some(heads)
}
