//! What the roster no longer allows is retracted: the changes of every
//! author that is not a live member (revoked keys beyond their frontier,
//! and keys that dropped out altogether, say because a concurrent
//! revocation voided their invite), judged by the protocol's own check on
//! the history this node holds.

use std::collections::BTreeMap;

use automerge::AutoCommit;

use r2com_protocol::identity::PublicKey;
use r2com_protocol::ids::DocId;
use r2com_protocol::roster::{ChangeGraph, ChangeNode, FrontierCache, Roster};

use super::doc::writes_snapshot;
use super::{reform_writes, Batch, Library, LibraryError, ReadChange, Stored};
use crate::store::{keys, Write};

/// The changes this node holds (waiting ones included), as the frontier
/// check walks them.
pub(crate) struct StoredHistory<'a>(pub(crate) &'a Library);

impl ChangeGraph for StoredHistory<'_> {
    fn change(&self, doc: &str, hash: &[u8; 32]) -> Option<ChangeNode> {
        let v = self.0.store.get(&keys::change(doc, hash)).ok()??;
        let meta = Stored::decode(&v).and_then(|s| s.meta()).ok()?;
        Some(ChangeNode {
            author: meta.author,
            deps: meta.deps,
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
        let history = StoredHistory(self);
        let mut cache = FrontierCache::default();
        // What goes, per document (one document may hold the changes of
        // several such authors: it is rebuilt once).
        let mut removals: BTreeMap<String, Vec<[u8; 32]>> = BTreeMap::new();
        for (author_hex, docs) in self.authors()? {
            if roster.is_live_member(&author_hex) {
                continue;
            }
            let Ok(author) = PublicKey::from_hex(&author_hex) else {
                continue;
            };
            for key in docs {
                // Judged on what the entries say; read whole only where
                // something goes.
                for (hash, stored) in self.stored_of(&key)? {
                    let meta = stored
                        .meta()
                        .map_err(|e| LibraryError::Corrupt(format!("{key}: {e}")))?;
                    if meta.author == author.to_bytes()
                        && roster
                            .check_change_author_cached(
                                &author, &key, meta.seq, &hash, &history, &mut cache,
                            )
                            .is_err()
                    {
                        tracing::warn!(doc = %key, author = %author_hex, change = %hex::encode(hash),
                            "retracting a change whose author the roster no longer lets write");
                        removals.entry(key.clone()).or_default().push(hash);
                    }
                }
            }
        }
        let mut removed_total = 0;
        let mut batch = Batch::default();
        for (key, remove) in removals {
            let Ok(doc_id) = DocId::parse(&key) else {
                continue;
            };
            removed_total += remove.len() as u64;
            batch.extend(self.retract_writes(&doc_id, &remove)?);
        }
        if removed_total > 0 {
            self.commit(batch)?;
        }
        Ok(removed_total)
    }

    /// The writes that remove the changes `remove` of a document and
    /// rebuild it from the rest.
    fn retract_writes(
        &self,
        doc_id: &DocId,
        remove: &[[u8; 32]],
    ) -> Result<Vec<Write>, LibraryError> {
        let key = doc_id.to_key();
        // Every change read whole before the snapshot that holds the
        // detached ones is replaced.
        let keep: Vec<ReadChange> = self
            .changes_of(doc_id)?
            .into_iter()
            .filter(|c| !remove.contains(&c.hash))
            .collect();
        let mut writes = Vec::new();
        for h in remove {
            writes.push((keys::change(&key, h), None));
            writes.push((keys::key(keys::HASH, h), None));
        }
        let mut d = AutoCommit::new();
        d.apply_changes(keep.iter().map(|c| c.change.clone()).collect::<Vec<_>>())
            .map_err(|e| LibraryError::Corrupt(format!("changes of {key}: {e}")))?;
        writes.extend(self.index_applied(&key, &mut d, remove)?);
        // The rest in the form the new snapshot calls for: one that now
        // waits (it built on a retracted change) is stored whole.
        let written = writes_snapshot(&mut d, true);
        writes.extend(reform_writes(&key, &keep, &mut d, written));
        match self.doc_writes(doc_id, &mut d, true)? {
            Ok(w) => writes.extend(w),
            Err(why) => {
                tracing::warn!(doc = %key, %why, "after the retraction the document holds no record of its own");
                writes.extend(self.no_record_writes(doc_id, &mut d)?);
            }
        }
        Ok(writes)
    }
}
