//! What the roster no longer allows is retracted: the changes of every
//! author that is not a live member (revoked keys beyond their frontier,
//! and keys that dropped out altogether, say because a concurrent
//! revocation voided their invite), judged by the protocol's own check on
//! the history this node holds.

use automerge::AutoCommit;

use r2com_protocol::envelope::{parse_change, SignedChange};
use r2com_protocol::identity::PublicKey;
use r2com_protocol::ids::DocId;
use r2com_protocol::roster::{ChangeGraph, ChangeNode, FrontierCache, Roster};

use super::{Batch, Library, LibraryError};
use crate::store::keys;

/// The changes this node holds (waiting ones included), as the frontier
/// check walks them.
pub(crate) struct StoredHistory<'a>(pub(crate) &'a Library);

impl ChangeGraph for StoredHistory<'_> {
    fn change(&self, doc: &str, hash: &[u8; 32]) -> Option<ChangeNode> {
        let env = self.0.store.get(&keys::change(doc, hash)).ok()??;
        let sc = SignedChange::decode(&env).ok()?;
        let c = parse_change(&sc.change).ok()?;
        Some(ChangeNode {
            author: c.actor_id().to_bytes().try_into().ok()?,
            deps: c.deps().iter().map(|h| h.0).collect(),
        })
    }
}

impl Library {
    /// Every author of a stored change, with the documents it wrote to.
    fn authors(&self) -> Result<Vec<(String, Vec<String>)>, LibraryError> {
        let mut out: Vec<(String, Vec<String>)> = Vec::new();
        for e in self.store.scan_prefix(&[keys::AUTHOR, 0]) {
            let (k, _) = e?;
            let rest = keys::rest(&k);
            let Some(split) = rest.iter().position(|b| *b == 0) else {
                continue;
            };
            let author = String::from_utf8_lossy(&rest[..split]).into_owned();
            let doc = String::from_utf8_lossy(&rest[split + 1..]).into_owned();
            match out.last_mut() {
                Some((a, docs)) if *a == author => docs.push(doc),
                _ => out.push((author, vec![doc])),
            }
        }
        Ok(out)
    }

    /// Remove the changes the roster no longer allows and rebuild their
    /// documents from the rest. Changes that depended on a removed one
    /// wait, unapplied and unannounced, like any change whose dependency is
    /// missing. A document the rest no longer makes a record of its own id
    /// shows no record (it never stops the node). Every node applies the
    /// same rule to the same roster, so they converge. Returns how many
    /// changes were removed.
    pub(crate) fn retract_disallowed(&self, roster: &Roster) -> Result<u64, LibraryError> {
        let mut removed_total = 0;
        let mut batch = Batch::default();
        let history = StoredHistory(self);
        let mut cache = FrontierCache::default();
        for (author_hex, docs) in self.authors()? {
            if roster.is_live_member(&author_hex) {
                continue;
            }
            let Ok(author) = PublicKey::from_hex(&author_hex) else {
                continue;
            };
            for key in docs {
                let Ok(doc_id) = DocId::parse(&key) else {
                    continue;
                };
                let mut remove = Vec::new();
                let mut keep = Vec::new();
                for e in self.store.scan_prefix(&keys::changes_of(&key)) {
                    let (_, env) = e?;
                    let sc = SignedChange::decode(&env)
                        .map_err(|e| LibraryError::Corrupt(format!("{key}: {e}")))?;
                    let change = parse_change(&sc.change)
                        .map_err(|e| LibraryError::Corrupt(format!("{key}: {e}")))?;
                    let hash = change.hash().0;
                    let by_author = change.actor_id().to_bytes() == author.to_bytes();
                    if by_author
                        && roster
                            .check_change_author_cached(
                                &author,
                                &key,
                                change.seq(),
                                &hash,
                                &history,
                                &mut cache,
                            )
                            .is_err()
                    {
                        remove.push(hash);
                    } else {
                        keep.push(change);
                    }
                }
                if remove.is_empty() {
                    continue;
                }
                tracing::warn!(
                    doc = %key,
                    author = %author_hex,
                    count = remove.len(),
                    "retracting changes whose author the roster no longer lets write"
                );
                removed_total += remove.len() as u64;
                for h in &remove {
                    batch.write((keys::change(&key, h), None));
                    batch.write((keys::key(keys::HASH, h), None));
                }
                let mut d = AutoCommit::new();
                d.apply_changes(keep)
                    .map_err(|e| LibraryError::Corrupt(format!("changes of {key}: {e}")))?;
                batch.extend(self.index_applied(&key, &mut d, &remove)?);
                match self.doc_writes(&doc_id, &mut d, true)? {
                    Ok(w) => batch.extend(w),
                    Err(why) => {
                        tracing::warn!(doc = %key, %why, "after the retraction the document holds no record of its own");
                        batch.extend(self.no_record_writes(&doc_id, &mut d)?);
                    }
                }
            }
        }
        if removed_total > 0 {
            self.commit(batch)?;
        }
        Ok(removed_total)
    }
}
