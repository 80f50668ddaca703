//! The changes of a whole document received in a clone ([`DocChange`]),
//! and the proof that a document holds exactly them ([`graph_heads`]).

use std::collections::{HashMap, HashSet};
use std::panic::{catch_unwind, AssertUnwindSafe};

use automerge::{AutoCommit, Change, ChangeHash};

use super::{parse_change, EnvelopeError, SignedChange, VerifiedChange};
use crate::identity::{PublicKey, Signature, SIGNATURE_LEN};
use crate::ids::DocId;

/// One change of a verified whole document: its author's signature, where
/// its bytes are, and what the roster judges it by (from its header, or
/// from the loaded document's change graph).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocChange {
    pub signature: Signature,
    pub bytes: ChangeBytes,
    pub author: PublicKey,
    pub hash: ChangeHash,
    pub seq: u64,
    /// Milliseconds since the epoch, as the author's node gave it.
    pub time: i64,
    pub deps: Vec<ChangeHash>,
}

/// Where a [`DocChange`]'s bytes are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChangeBytes {
    /// The encoded [`SignedChange`] as received (a version 2 chunk).
    Envelope(Vec<u8>),
    /// Only in the document (a version 1 chunk): automerge rebuilds them
    /// from the loaded document when they are needed (the change-by-change
    /// path, a record's rights), which costs about as much as loading it.
    InDocument,
}

impl DocChange {
    /// The signed envelope as received, if it was.
    pub fn envelope(&self) -> Option<&[u8]> {
        match &self.bytes {
            ChangeBytes::Envelope(e) => Some(e),
            ChangeBytes::InDocument => None,
        }
    }

    /// The raw change chunk inside the envelope, if one was received.
    pub fn change_bytes(&self) -> Option<&[u8]> {
        // version, key length, key, signature, change length, change: the
        // envelope decoded when this was made.
        let envelope = self.envelope()?;
        let key_len = envelope[1] as usize;
        Some(&envelope[2 + key_len + SIGNATURE_LEN + 4..])
    }

    /// The change parsed by automerge, as the change-by-change path needs
    /// it: from the envelope (with [`parse_change`]'s checks), or taken
    /// from `in_document` (the changes of the loaded document, by hash).
    /// Its signature was verified when this was made.
    fn parsed(
        &self,
        doc: &DocId,
        in_document: &mut HashMap<ChangeHash, Change>,
    ) -> Result<(SignedChange, VerifiedChange), EnvelopeError> {
        let (signed, change) = match &self.bytes {
            ChangeBytes::Envelope(e) => {
                let signed = SignedChange::decode(e)?;
                let change = parse_change(&signed.change)?;
                (signed, change)
            }
            ChangeBytes::InDocument => {
                let change = in_document
                    .remove(&self.hash)
                    .ok_or(EnvelopeError::ChangesMismatch)?;
                let signed = SignedChange {
                    doc: doc.clone(),
                    change: change.raw_bytes().to_vec(),
                    signature: self.signature,
                };
                (signed, change)
            }
        };
        if &signed.doc != doc || change.hash() != self.hash {
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

    /// The changes of `doc` parsed: their envelopes, or the changes of
    /// `document` (the loaded, verified document holding them; automerge
    /// rebuilds its changes once, only if some change came without bytes).
    pub fn all_parsed(
        changes: &[DocChange],
        doc: &DocId,
        document: &mut AutoCommit,
    ) -> Result<Vec<(SignedChange, VerifiedChange)>, EnvelopeError> {
        let mut in_document = HashMap::new();
        if changes.iter().any(|c| c.envelope().is_none()) {
            let all =
                catch_unwind(AssertUnwindSafe(|| document.get_changes(&[]))).map_err(|_| {
                    EnvelopeError::Parse("automerge panicked listing the changes".into())
                })?;
            in_document = all.into_iter().map(|c| (c.hash(), c)).collect();
        }
        changes
            .iter()
            .map(|c| c.parsed(doc, &mut in_document))
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
