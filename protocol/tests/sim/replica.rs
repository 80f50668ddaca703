//! A simulated store as the sync machine sees it: the same
//! [`Replica`] the node implements, over the simulation's maps, with the
//! protocol's own standing, digest, batch-verification and admission
//! functions.

use std::collections::{BTreeMap, BTreeSet};

use r2com_protocol::envelope::SignedChange;
use r2com_protocol::roster::{self, Admission, EntryId, SignedEntry};
use r2com_protocol::sync::{
    bucket_digests, summary_digest, Applied, Outbox, Replica, Standing, Summary,
};

use super::hex_key;
use super::store::Store;

impl Replica<usize> for Store {
    type Error = String;

    fn standing(&mut self, peer: &usize) -> Standing {
        self.roster.standing(&hex_key(*peer))
    }

    fn awaiting_admission(&mut self) -> bool {
        self.roster.awaiting_admission(&self.key.public().to_hex())
    }

    fn summary(&mut self) -> Result<Summary, String> {
        Ok(Summary {
            roster: self.entries.keys().map(|e| e.0).collect(),
            digest: summary_digest(&self.applied),
        })
    }

    fn bucket_digests(&mut self) -> Result<Vec<[u8; 32]>, String> {
        Ok(bucket_digests(&self.applied))
    }

    fn inventory(&mut self, buckets: &[u8]) -> Result<Vec<[u8; 32]>, String> {
        let b: BTreeSet<u8> = buckets.iter().copied().collect();
        Ok(self
            .applied
            .iter()
            .filter(|h| b.contains(&h[0]))
            .copied()
            .collect())
    }

    fn has_change(&mut self, hash: &[u8; 32]) -> Result<bool, String> {
        Ok(self.applied.contains(hash))
    }

    fn get_changes(&mut self, hashes: &[[u8; 32]]) -> Result<Vec<Vec<u8>>, String> {
        Ok(hashes
            .iter()
            .filter(|h| self.applied.contains(*h))
            .filter_map(|h| self.changes.get(h).map(|c| c.env.clone()))
            .collect())
    }

    fn get_roster(&mut self, ids: &[[u8; 32]]) -> Result<Vec<Vec<u8>>, String> {
        Ok(ids
            .iter()
            .filter_map(|id| self.entries.get(&EntryId(*id)).map(SignedEntry::encode))
            .collect())
    }

    fn apply(
        &mut self,
        peer: &usize,
        entries: Vec<Vec<u8>>,
        envelopes: Vec<Vec<u8>>,
    ) -> Result<Applied, String> {
        let mut a = Applied::default();
        if !entries.is_empty() {
            let (decoded, bad) = roster::decode_entries(&entries);
            a.invalid.extend(bad);
            let (invalid, pending) = self.merge(decoded);
            a.invalid.extend(invalid);
            a.missing_deps |= pending;
        }
        let mut changes = Vec::new();
        for env in envelopes {
            match SignedChange::decode(&env) {
                Ok(sc) => changes.push(sc),
                Err(e) => a.invalid.push(e.to_string()),
            }
        }
        let v = roster::verify_batch(&self.scope(), Some(&self.roster), changes, &*self, 1);
        a.invalid.extend(v.invalid);
        a.not_allowed.extend(v.not_allowed);
        if !a.invalid.is_empty() {
            return Ok(a);
        }
        let mut by_doc: BTreeMap<String, Vec<SignedChange>> = BTreeMap::new();
        for (sc, _) in v.accepted {
            by_doc.entry(sc.doc.to_key()).or_default().push(sc);
        }
        for (doc, items) in by_doc {
            let scope = self.scope();
            let changes: Vec<automerge::Change> = items
                .iter()
                .map(|sc| sc.verify(&scope).unwrap().change)
                .collect();
            let d = self.docs.entry(doc.clone()).or_default();
            d.apply_changes(changes)
                .map_err(|e| format!("automerge: {e}"))?;
            a.missing_deps |= !d.get_missing_deps(&[]).is_empty();
            for sc in items {
                self.hold(&doc, &sc);
                self.outbox.changes.push((Some(*peer), sc.encode()));
                a.applied += 1;
            }
            self.index(&doc);
        }
        Ok(a)
    }

    fn admit(
        &mut self,
        peer: &usize,
        entries: Vec<Vec<u8>>,
    ) -> Result<Option<Vec<Vec<u8>>>, String> {
        let (decoded, bad) = roster::decode_entries(&entries);
        if let Some(b) = bad.into_iter().next() {
            return Err(b);
        }
        let stored = self.stored();
        match roster::admit(
            &self.key,
            &self.cid,
            &stored,
            &hex_key(*peer),
            decoded,
            self.now,
        )? {
            Admission::Admitted { store, roster } => {
                for e in store {
                    self.outbox.roster.push(e.encode());
                    self.entries.insert(e.id(), e);
                }
                self.roster = *roster;
                Ok(Some(
                    self.entries.values().map(SignedEntry::encode).collect(),
                ))
            }
            Admission::Refused(_) => Ok(None),
        }
    }

    fn own_admission(&mut self) -> Result<Vec<Vec<u8>>, String> {
        Ok(self.own_admission.iter().map(SignedEntry::encode).collect())
    }

    fn take_outbox(&mut self) -> Outbox<usize> {
        std::mem::take(&mut self.outbox)
    }
}
