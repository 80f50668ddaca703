//! Roster entries: what they say, how they are signed, and their ids.
//!
//! An entry's canonical bytes are its JSON encoding (fields in declaration
//! order, no maps), and every hex string in it must be lower case (checked
//! by [`SignedEntry::verify`]), so one entry has exactly one encoding. Its
//! id hashes those bytes only, not the signature: nobody, its author
//! included, can give the same entry a second id.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::identity::{NodeKey, PublicKey};

/// Domain-separation prefix of roster signatures (v2: witnesses,
/// withdrawals, revocations that list what they saw, compact frontiers,
/// ids over the entry alone).
pub const ROSTER_DOMAIN: &[u8] = b"r2com/roster/v2\0";
const ENTRY_ID_DOMAIN: &[u8] = b"r2com/roster-entry-id/v2\0";

/// The id of a roster entry: a hash over its canonical bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntryId(pub [u8; 32]);

impl EntryId {
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parse 64 lower-case hex digits (the only form an id is written in).
    pub fn from_hex(s: &str) -> Result<Self, RosterError> {
        canonical_hex::<32>(s)
            .map(EntryId)
            .ok_or_else(|| RosterError::Malformed(format!("{s:?} is not an entry id")))
    }
}

impl fmt::Debug for EntryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", &self.to_hex()[..12])
    }
}

impl fmt::Display for EntryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// `N` bytes written as exactly `2N` lower-case hex digits, else `None`.
pub fn canonical_hex<const N: usize>(s: &str) -> Option<[u8; N]> {
    if s.len() != 2 * N || !s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    hex::decode(s).ok()?.try_into().ok()
}

/// A consortium's id: the id of its genesis entry.
pub type ConsortiumId = EntryId;

/// An organisation as the roster names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrgInfo {
    /// Short key (`lmds`), the `organisation` of records.
    pub key: String,
    /// Display name.
    pub name: String,
    /// ISO 3166 alpha-2 (XK for Kosovo).
    pub country: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Member,
}

/// What a revocation removes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Target {
    /// A whole organisation, every key it has or will get.
    Org { org: String },
    /// One node key.
    Node { key: String },
}

/// One document's part of a revoked key's frontier: how many of the key's
/// changes to `doc` the revoking admin had seen, and the hash of the last
/// of them (its `count`-th). The key's changes to `doc` that stay valid are
/// exactly that change and the key's changes in its causal history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocFrontier {
    pub doc: String,
    pub count: u64,
    /// Hex change hash.
    pub last: String,
}

/// The changes of one revoked key that stay valid, per document it wrote
/// to (documents not listed: none).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyFrontier {
    pub key: String,
    pub docs: Vec<DocFrontier>,
}

/// An invitation, as carried in an `invite` entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Invite {
    pub org: OrgInfo,
    /// The invitee's node key (hex).
    pub key: String,
    /// The organisation's role, if the invite creates it (ignored for a
    /// further key of an existing organisation).
    pub role: Role,
    /// RFC 3339; a member must witness the admission by then.
    pub expires_at: String,
    /// Multiaddrs where members can be reached.
    pub addrs: Vec<String>,
}

/// What an entry does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Founds the consortium; the author's organisation is its first admin.
    Genesis { name: String, org: OrgInfo },
    /// An admin invites a node key (a new organisation, or another node of
    /// an existing one).
    Invite(Invite),
    /// The invitee takes up an invite (signed by the invitee's key).
    Admit { invite: String },
    /// A member attests that it received this admission (an `admit` entry's
    /// id) before the invite expired: the admission takes effect.
    Witness { admit: String },
    /// An admin withdraws an invite nobody has used.
    Withdraw { invite: String },
    /// An admin revokes an organisation or a node key.
    Revoke {
        target: Target,
        reason: String,
        /// Ids (sorted) of every roster entry by a revoked key its author
        /// had seen; any other entry by those keys is void.
        seen: Vec<String>,
        /// Per revoked key, the library changes that stay valid.
        frontier: Vec<KeyFrontier>,
    },
    /// An admin promotes or demotes an organisation.
    SetRole { org: String, role: Role },
    /// A record erased (right to erasure, or a mistake), by a member of its
    /// organisation or an admin: every node deletes the record's document,
    /// changes, signatures, search text and snapshots, and refuses the
    /// listed changes (and, while the record stays erased, any change of
    /// it) if offered again.
    Erase {
        /// The record's document (`practice/p-000001`).
        doc: String,
        /// The record's organisation when it was erased.
        organisation: String,
        reason: String,
        /// Hashes (lower-case hex, strictly ascending) of the record's
        /// changes the author held.
        hashes: Vec<String>,
    },
    /// An admin lets an erased record's id be used again: changes that do
    /// not build on erased ones are accepted once more.
    Reuse { doc: String },
}

impl Action {
    /// The action's name, as in its JSON `type`.
    pub fn kind(&self) -> &'static str {
        match self {
            Action::Genesis { .. } => "genesis",
            Action::Invite(_) => "invite",
            Action::Admit { .. } => "admit",
            Action::Witness { .. } => "witness",
            Action::Withdraw { .. } => "withdraw",
            Action::Revoke { .. } => "revoke",
            Action::SetRole { .. } => "set_role",
            Action::Erase { .. } => "erase",
            Action::Reuse { .. } => "reuse",
        }
    }
}

/// A roster entry before signing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Consortium id (hex); empty in the genesis entry, which defines it.
    pub consortium: String,
    /// The author's node key (hex).
    pub author: String,
    /// Ids (hex, strictly ascending) of the entries the author had seen.
    pub deps: Vec<String>,
    /// RFC 3339, as claimed by the author (never decides who wins; a
    /// witness's time is what invite expiry is checked against).
    pub issued_at: String,
    pub action: Action,
}

/// An entry with its author's signature (hex), as stored and exchanged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedEntry {
    pub entry: Entry,
    pub signature: String,
}

/// An entry whose signature, encoding, shape and consortium were checked.
#[derive(Clone, Debug)]
pub struct VerifiedEntry {
    pub id: EntryId,
    pub author: PublicKey,
    pub deps: Vec<EntryId>,
    pub signed: SignedEntry,
}

impl VerifiedEntry {
    pub fn entry(&self) -> &Entry {
        &self.signed.entry
    }

    pub fn action(&self) -> &Action {
        &self.signed.entry.action
    }
}

/// Why an entry was refused on its own (before the roster rules). Any of
/// these from a peer means the peer sent invalid data.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum RosterError {
    /// Not JSON of an entry, too large, or a hex field not in lower case.
    #[error("malformed roster entry: {0}")]
    Malformed(String),
    #[error("roster entry author: {0}")]
    Author(crate::identity::KeyError),
    #[error("roster entry signature does not verify")]
    BadSignature,
    #[error("roster entry belongs to another consortium ({0})")]
    OtherConsortium(String),
    /// Well-formed, but a field breaks a rule of its own (sizes, keys,
    /// timestamps, a genesis with dependencies, ...).
    #[error("invalid roster entry: {0}")]
    Invalid(String),
}

impl Entry {
    pub fn canonical_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("entries serialize")
    }

    /// The id this entry has (signed or not).
    pub fn id(&self) -> EntryId {
        let mut h = Sha256::new();
        h.update(ENTRY_ID_DOMAIN);
        h.update(self.canonical_bytes());
        EntryId(h.finalize().into())
    }

    /// Sign this entry with `key` (its `author` must be `key`'s public key).
    pub fn sign(self, key: &NodeKey) -> SignedEntry {
        debug_assert_eq!(self.author, key.public().to_hex());
        let mut m = ROSTER_DOMAIN.to_vec();
        m.extend_from_slice(&self.canonical_bytes());
        let sig = key.sign(&m);
        SignedEntry {
            entry: self,
            signature: hex::encode(sig.0),
        }
    }
}

impl SignedEntry {
    /// The entry's id (the signature plays no part).
    pub fn id(&self) -> EntryId {
        self.entry.id()
    }

    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("entries serialize")
    }
}

#[cfg(test)]
impl Entry {
    /// Sign whatever the fields hold (tests of non-canonical entries).
    pub fn sign_unchecked(self, key: &NodeKey) -> SignedEntry {
        let mut m = ROSTER_DOMAIN.to_vec();
        m.extend_from_slice(&self.canonical_bytes());
        let sig = key.sign(&m);
        SignedEntry {
            entry: self,
            signature: hex::encode(sig.0),
        }
    }
}
