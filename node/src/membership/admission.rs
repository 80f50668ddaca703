//! Admission over the network: a member accepting an invitee's invite and
//! admit entries, and the invitee's own entries to hand in.

use r2com_protocol::roster::{Action, SignedEntry};

use crate::library::{Library, LibraryError};
use crate::store::keys;

impl Library {
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
