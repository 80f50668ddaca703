//! The store side of peer sync: summaries, bucket digests, inventories,
//! serving changes and roster entries, and an outbox of what was written
//! since the network last looked (to push to connected peers).

use std::collections::VecDeque;

use sha2::{Digest, Sha256};

use r2com_protocol::envelope::SignedChange;
use r2com_protocol::roster::{Action, EntryId, SignedEntry};
use r2com_protocol::sync::Summary;
use r2com_protocol::wire::BUCKETS;

use crate::library::{hash_index, Library, LibraryError};
use crate::membership::ApplyReport;
use crate::store::{keys, Write};

/// Most items the outbox holds; beyond that the network falls back to a
/// full summary round with each peer.
const OUTBOX_CAPACITY: usize = 10_000;
const META_HASH_INDEX: &str = "hash-index-v1";

/// What was written since the network last looked.
#[derive(Default)]
pub struct Outbox {
    /// Encoded change envelopes, with the peer they came from (not pushed
    /// back to it).
    pub changes: VecDeque<(Option<String>, Vec<u8>)>,
    /// Encoded roster entries.
    pub roster: VecDeque<Vec<u8>>,
    /// Items were dropped: peers need a summary round.
    pub overflowed: bool,
}

impl Outbox {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.roster.is_empty() && !self.overflowed
    }
}

impl Library {
    pub(crate) fn to_outbox(&self, envelope: Vec<u8>) {
        let origin = self
            .current_origin
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mut o = self.outbox.lock().unwrap_or_else(|e| e.into_inner());
        if o.changes.len() >= OUTBOX_CAPACITY {
            o.changes.clear();
            o.overflowed = true;
        }
        o.changes.push_back((origin, envelope));
    }

    pub(crate) fn to_outbox_entry(&self, entry: Vec<u8>) {
        let mut o = self.outbox.lock().unwrap_or_else(|e| e.into_inner());
        if o.roster.len() >= OUTBOX_CAPACITY {
            o.roster.clear();
            o.overflowed = true;
        }
        o.roster.push_back(entry);
    }

    /// Take what was written since the last call.
    pub fn take_outbox(&self) -> Outbox {
        std::mem::take(&mut *self.outbox.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Drop the outbox (nobody to push to).
    pub fn outbox_is_empty(&self) -> bool {
        self.outbox
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }

    /// Build the hash index for a store written before it existed.
    pub(crate) fn ensure_hash_index(&self) -> Result<(), LibraryError> {
        let meta = keys::key(keys::META, META_HASH_INDEX.as_bytes());
        if self.store.get(&meta)?.is_some() {
            return Ok(());
        }
        let mut writes: Vec<Write> = Vec::new();
        for e in self.store.scan_prefix(&[keys::CHANGE, 0]) {
            let (k, _) = e?;
            let rest = keys::rest(&k);
            if rest.len() > 33 {
                let (doc, hash) = rest.split_at(rest.len() - 33);
                let hash: [u8; 32] = hash[1..].try_into().expect("32 bytes");
                writes.push(hash_index(&String::from_utf8_lossy(doc), &hash));
            }
        }
        writes.push((meta, Some(b"1".to_vec())));
        self.store.write(writes)?;
        self.store.flush()?;
        Ok(())
    }

    fn change_hashes(&self, prefix: &[u8]) -> Result<Vec<[u8; 32]>, LibraryError> {
        let mut out = Vec::new();
        for e in self.store.scan_prefix(prefix) {
            let (k, _) = e?;
            if let Ok(h) = <[u8; 32]>::try_from(keys::rest(&k)) {
                out.push(h);
            }
        }
        Ok(out)
    }

    pub fn roster_ids(&self) -> Result<Vec<[u8; 32]>, LibraryError> {
        let mut out = Vec::new();
        for e in self.store.scan_prefix(&[keys::ROSTER, 0]) {
            let (k, _) = e?;
            let id = EntryId::from_hex(&String::from_utf8_lossy(keys::rest(&k)))
                .map_err(|e| LibraryError::Corrupt(e.to_string()))?;
            out.push(id.0);
        }
        Ok(out)
    }

    /// Roster entry ids and one digest over every change hash.
    pub fn summary(&self) -> Result<Summary, LibraryError> {
        let mut h = Sha256::new();
        for hash in self.change_hashes(&[keys::HASH, 0])? {
            h.update(hash);
        }
        Ok(Summary {
            roster: self.roster_ids()?,
            digest: h.finalize().into(),
        })
    }

    /// The digest of each of the 256 buckets of change hashes.
    pub fn bucket_digests(&self) -> Result<Vec<[u8; 32]>, LibraryError> {
        let mut hashers: Vec<Sha256> = (0..BUCKETS).map(|_| Sha256::new()).collect();
        for hash in self.change_hashes(&[keys::HASH, 0])? {
            hashers[hash[0] as usize].update(hash);
        }
        Ok(hashers.into_iter().map(|h| h.finalize().into()).collect())
    }

    /// Every change hash in these buckets.
    pub fn inventory(&self, buckets: &[u8]) -> Result<Vec<[u8; 32]>, LibraryError> {
        let mut out = Vec::new();
        for b in buckets {
            out.extend(self.change_hashes(&[keys::HASH, 0, *b])?);
        }
        Ok(out)
    }

    /// Whether a change is stored.
    pub fn has_change(&self, hash: &[u8; 32]) -> Result<bool, LibraryError> {
        Ok(self.store.get(&keys::key(keys::HASH, hash))?.is_some())
    }

    /// The stored envelopes of these changes (unknown ones are skipped).
    pub fn get_changes(&self, hashes: &[[u8; 32]]) -> Result<Vec<Vec<u8>>, LibraryError> {
        let mut out = Vec::with_capacity(hashes.len());
        for h in hashes {
            let Some(doc) = self.store.get(&keys::key(keys::HASH, h))? else {
                continue;
            };
            let doc = String::from_utf8_lossy(&doc).into_owned();
            if let Some(env) = self.store.get(&keys::change(&doc, h))? {
                out.push(env);
            }
        }
        Ok(out)
    }

    /// The stored roster entries with these ids.
    pub fn get_roster(&self, ids: &[[u8; 32]]) -> Result<Vec<Vec<u8>>, LibraryError> {
        let mut out = Vec::new();
        for id in ids {
            if let Some(e) = self
                .store
                .get(&keys::key(keys::ROSTER, hex::encode(id).as_bytes()))?
            {
                out.push(e);
            }
        }
        Ok(out)
    }

    /// Apply roster entries then changes received from a peer.
    pub fn apply_from_peer(
        &self,
        origin: &str,
        entries: Vec<Vec<u8>>,
        envelopes: Vec<Vec<u8>>,
    ) -> Result<(ApplyReport, bool), LibraryError> {
        let _w = self.write_lock.lock().unwrap_or_else(|e| e.into_inner());
        *self
            .current_origin
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(origin.to_owned());
        let result = self.apply_from_peer_inner(entries, envelopes);
        *self
            .current_origin
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = None;
        result
    }

    fn apply_from_peer_inner(
        &self,
        entries: Vec<Vec<u8>>,
        envelopes: Vec<Vec<u8>>,
    ) -> Result<(ApplyReport, bool), LibraryError> {
        let mut report = ApplyReport::default();
        if !entries.is_empty() {
            let cid = self
                .consortium_id()?
                .ok_or_else(|| LibraryError::BadRequest("not in a consortium".into()))?;
            let mut parsed = Vec::new();
            for e in entries {
                match SignedEntry::decode(&e) {
                    Ok(se) => parsed.push(se),
                    Err(err) => report.refuse(format!("roster entry: {err}")),
                }
            }
            let (_, refused) = self.store_roster_entries(&cid, parsed)?;
            for r in refused {
                report.refuse(format!("roster entry {r}"));
            }
        }
        let mut changes = Vec::with_capacity(envelopes.len());
        for env in envelopes {
            report.received += 1;
            match SignedChange::decode(&env) {
                Ok(sc) => changes.push(sc),
                Err(e) => report.refuse(format!("envelope: {e}")),
            }
        }
        let missing = if changes.is_empty() {
            false
        } else {
            self.apply_remote(changes, &mut report)?
        };
        Ok((report, missing))
    }

    /// An invitee's invite and admission: accepted only if they are exactly
    /// that (an invite in our roster's consortium, and the admission signed
    /// by the invited key). Returns whether the invitee is now a member.
    pub fn admit_from_peer(
        &self,
        peer_key: &str,
        entries: Vec<Vec<u8>>,
    ) -> Result<bool, LibraryError> {
        let _w = self.write_lock.lock().unwrap_or_else(|e| e.into_inner());
        let cid = self
            .consortium_id()?
            .ok_or_else(|| LibraryError::BadRequest("not in a consortium".into()))?;
        let mut parsed = Vec::new();
        for e in entries {
            let se =
                SignedEntry::decode(&e).map_err(|e| LibraryError::BadRequest(e.to_string()))?;
            match &se.entry.action {
                Action::Invite(inv) if inv.key == peer_key => {}
                Action::Admit { .. } if se.entry.author == peer_key => {}
                _ => {
                    return Err(LibraryError::BadRequest(
                        "an admission carries only the peer's invite and admit entries".into(),
                    ))
                }
            }
            parsed.push(se);
        }
        self.store_roster_entries(&cid, parsed)?;
        Ok(self.roster().is_some_and(|r| r.is_live_member(peer_key)))
    }

    /// This node's own invite and admission entries (while it waits to be
    /// admitted), to hand to the first member it reaches.
    pub fn own_admission(&self) -> Result<Vec<Vec<u8>>, LibraryError> {
        let me = self.key.public().to_hex();
        let mut out = Vec::new();
        for e in self.store.scan_prefix(&[keys::ROSTER, 0]) {
            let (_, v) = e?;
            let se = SignedEntry::decode(&v).map_err(|e| LibraryError::Corrupt(e.to_string()))?;
            let mine = match &se.entry.action {
                Action::Invite(inv) => inv.key == me,
                Action::Admit { .. } => se.entry.author == me,
                _ => false,
            };
            if mine {
                out.push(v);
            }
        }
        Ok(out)
    }
}
