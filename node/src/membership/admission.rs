//! Admission over the network: a member witnessing an invitee's invite and
//! admit entries (the protocol's [`r2com_protocol::roster::admit`]), and
//! the invitee's own entries, kept apart until a member witnessed them.

use r2com_protocol::roster::{admit, decode_entries, Admission, SignedEntry};

use crate::library::{Batch, Library, LibraryError};
use crate::store::{keys, Write};

/// `m\0own-admission` -> this node's invite and admit (JSON list) while it
/// waits for a member to witness them.
const META_OWN_ADMISSION: &str = "own-admission";

impl Library {
    pub(crate) fn own_admission_write(entries: &[SignedEntry]) -> Write {
        (
            keys::key(keys::META, META_OWN_ADMISSION.as_bytes()),
            Some(serde_json::to_vec(entries).expect("entries serialize")),
        )
    }

    /// This node's own invite and admit, if it joined by invite.
    pub(crate) fn own_admission_entries(&self) -> Result<Option<Vec<SignedEntry>>, LibraryError> {
        match self
            .store
            .get(&keys::key(keys::META, META_OWN_ADMISSION.as_bytes()))?
        {
            None => Ok(None),
            Some(b) => serde_json::from_slice(&b)
                .map(Some)
                .map_err(|e| LibraryError::Corrupt(format!("own admission: {e}"))),
        }
    }

    /// An invitee (`peer_key`) hands in its invite and admission: witness
    /// them if the rules let this node (a live member, before the invite's
    /// expiry by this node's clock), store and relay the three entries.
    /// Returns whether the invitee is a member now; `BadRequest` if the
    /// entries are not an admission by that peer at all.
    pub fn admit_from_peer(
        &self,
        peer_key: &str,
        entries: Vec<Vec<u8>>,
    ) -> Result<bool, LibraryError> {
        let _w = self.write_lock.lock().unwrap_or_else(|e| e.into_inner());
        let cid = self
            .consortium_id()?
            .ok_or_else(|| LibraryError::BadRequest("not in a consortium".into()))?;
        let (decoded, bad) = decode_entries(&entries);
        if let Some(b) = bad.into_iter().next() {
            return Err(LibraryError::BadRequest(b));
        }
        let stored = self.stored_entries(&cid)?;
        match admit(&self.key, &cid, &stored, peer_key, decoded, (self.clock)())
            .map_err(LibraryError::BadRequest)?
        {
            Admission::Admitted { store, .. } => {
                if !store.is_empty() {
                    let mut batch = Batch::default();
                    for e in &store {
                        batch.write(Self::entry_write(e));
                        batch.entry(e.encode());
                    }
                    self.commit(batch)?;
                    self.reload_roster()?;
                }
                tracing::info!(peer = %peer_key, "witnessed an invitee's admission");
                Ok(true)
            }
            Admission::Refused(why) => {
                tracing::info!(peer = %peer_key, %why, "admission refused");
                Ok(false)
            }
        }
    }

    /// This node's own invite and admission entries while it waits to be
    /// admitted, to hand to the first member it reaches.
    pub fn own_admission(&self) -> Result<Vec<Vec<u8>>, LibraryError> {
        let waiting = self
            .roster()
            .is_some_and(|r| r.awaiting_admission(&self.key.public().to_hex()));
        if !waiting {
            return Ok(Vec::new());
        }
        Ok(self
            .own_admission_entries()?
            .unwrap_or_default()
            .iter()
            .map(SignedEntry::encode)
            .collect())
    }
}
