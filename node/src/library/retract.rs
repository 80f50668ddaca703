//! What a revocation retracts: changes of a revoked key that its
//! revocation does not list.

use automerge::AutoCommit;

use r2com_protocol::envelope::SignedChange;
use r2com_protocol::identity::PublicKey;
use r2com_protocol::ids::DocId;
use r2com_protocol::roster::Roster;

use super::{Batch, Library, LibraryError};
use crate::store::keys;

impl Library {
    /// Remove the changes the roster no longer allows (a revoked key's
    /// changes that its revocation does not list: made after it, or before
    /// it but never seen by the revoking admin, or backdated forks) and
    /// rebuild their documents from the rest. Changes that depended on a
    /// removed one wait, unapplied and unannounced, like any change whose
    /// dependency is missing. Every node applies the same rule to the same
    /// roster, so they converge. Returns how many changes were removed.
    pub(crate) fn retract_disallowed(&self, roster: &Roster) -> Result<u64, LibraryError> {
        let mut removed_total = 0;
        let mut writes = Vec::new();
        let revoked = roster.orgs.iter().flat_map(|o| {
            o.keys
                .iter()
                .filter(move |k| o.revoked.is_some() || k.revoked.is_some())
        });
        for k in revoked {
            let Ok(author) = PublicKey::from_hex(&k.key) else {
                continue;
            };
            let mut prefix = keys::key(keys::AUTHOR, k.key.as_bytes());
            prefix.push(0);
            let mut docs = Vec::new();
            for e in self.store.scan_prefix(&prefix) {
                let (key, _) = e?;
                docs.push(String::from_utf8_lossy(&key[prefix.len()..]).into_owned());
            }
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
                    let change = r2com_protocol::envelope::parse_change(&sc.change)
                        .map_err(|e| LibraryError::Corrupt(format!("{key}: {e}")))?;
                    let hash = change.hash().0;
                    let by_author = change.actor_id().to_bytes() == author.to_bytes();
                    if by_author
                        && roster
                            .check_change_author(&author, &key, change.seq(), &hash)
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
                    author = %k.key,
                    count = remove.len(),
                    "retracting changes of a revoked key that its revocation does not list"
                );
                removed_total += remove.len() as u64;
                for h in &remove {
                    writes.push((keys::change(&key, h), None));
                    writes.push((keys::key(keys::HASH, h), None));
                }
                let mut d = AutoCommit::new();
                d.apply_changes(keep)
                    .map_err(|e| LibraryError::Corrupt(format!("changes of {key}: {e}")))?;
                writes.extend(self.index_applied(&key, &mut d, &remove)?);
                match self.doc_writes(&doc_id, &mut d, true)? {
                    Ok(w) => writes.extend(w),
                    Err(why) => return Err(LibraryError::Corrupt(why)),
                }
            }
        }
        if !writes.is_empty() {
            self.commit(Batch::of(writes))?;
        }
        Ok(removed_total)
    }
}
