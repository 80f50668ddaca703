//! Consortium membership, the operator's side: founding, invites, joining
//! (`join`), roles, revocation, withdrawal and roster hand-over (`admin`),
//! and an invitee's admission over the network (`admission`). The rules
//! are the protocol's (`r2com_protocol::roster`); the roster as stored is
//! the library's (`library::roster`).

mod admin;
mod admission;
mod join;
mod rotate;

pub use rotate::NextKey;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};

use r2com_protocol::identity::PublicKey;
use r2com_protocol::roster::{
    author_entry, merge_entries, Action, ConsortiumId, Roster, SignedEntry,
};

use crate::library::{Library, LibraryError};

/// Prefix of invite tokens.
pub const TOKEN_PREFIX: &str = "r2com-invite:";

fn ts(now: DateTime<Utc>) -> String {
    now.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn bad(msg: impl Into<String>) -> LibraryError {
    LibraryError::BadRequest(msg.into())
}

/// A public key given as 64 hex digits or as a libp2p PeerId.
pub fn parse_node_key(s: &str) -> Result<PublicKey, LibraryError> {
    if let Ok(k) = PublicKey::from_hex(s) {
        return Ok(k);
    }
    let peer: libp2p_identity::PeerId = s.parse().map_err(|_| {
        bad(format!(
            "{s:?} is neither a 64-hex-digit public key nor a PeerId"
        ))
    })?;
    let mh = peer.as_ref();
    let pk = libp2p_identity::PublicKey::try_decode_protobuf(mh.digest())
        .map_err(|_| bad(format!("PeerId {s} does not embed its public key")))?;
    let ed = pk
        .try_into_ed25519()
        .map_err(|_| bad(format!("PeerId {s} is not an ed25519 key")))?;
    PublicKey::from_bytes(&ed.to_bytes()).map_err(|e| bad(format!("PeerId {s}: {e}")))
}

impl Library {
    /// Sign an entry depending on the current roster heads and store it
    /// only if the rules accept it (valid, not void).
    pub(crate) fn add_entry(
        &self,
        cid: &ConsortiumId,
        action: Action,
        now: DateTime<Utc>,
    ) -> Result<(SignedEntry, Arc<Roster>), LibraryError> {
        let roster = self
            .roster()
            .ok_or_else(|| bad("this node is not in a consortium"))?;
        let signed = author_entry(&self.key, cid, &roster, action, now);
        let id = signed.id();
        let m = merge_entries(cid, &self.stored_entries(cid)?, vec![signed.clone()]);
        if let Some(r) = m.roster.rejected.iter().find(|r| r.id == id.to_hex()) {
            return Err(bad(format!("refused by the roster rules: {}", r.reason)));
        }
        if !m.roster.accepted.contains(&id) {
            return Err(bad("refused by the roster rules"));
        }
        self.merge_roster_entries(cid, vec![signed.clone()])?;
        let roster = self.roster().expect("consortium known");
        Ok((signed, roster))
    }

    pub(crate) fn require_admin(&self) -> Result<ConsortiumId, LibraryError> {
        let cid = self.consortium_id()?.ok_or_else(|| {
            bad("this node is not in a consortium (r2com consortium create, or r2com join)")
        })?;
        let roster = self.roster().ok_or_else(|| bad("no roster"))?;
        if !roster.is_admin(&self.key.public().to_hex()) {
            return Err(bad("only an admin of the consortium can do this"));
        }
        Ok(cid)
    }
}
