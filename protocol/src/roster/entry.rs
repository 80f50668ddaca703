use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::identity::{NodeKey, PublicKey, Signature};
use crate::record::validate_member_fields as vf;

/// Domain-separation prefix of roster signatures.
pub const ROSTER_DOMAIN: &[u8] = b"r2com/roster/v1\0";
const ENTRY_ID_DOMAIN: &[u8] = b"r2com/roster-entry-id/v1\0";
/// Largest encoded entry (a revocation carries its frontier).
pub const MAX_ENTRY_BYTES: usize = 4 * 1024 * 1024;
/// Most dependencies an entry may name.
pub const MAX_DEPS: usize = 64;
/// Most addresses an invite may carry.
pub const MAX_ADDRS: usize = 16;

/// The id of a roster entry: a hash over its canonical bytes and signature.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntryId(pub [u8; 32]);

impl EntryId {
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    pub fn from_hex(s: &str) -> Result<Self, RosterError> {
        let b = hex::decode(s)
            .map_err(|_| RosterError::Malformed(format!("{s:?} is not an entry id")))?;
        Ok(EntryId(b.try_into().map_err(|_| {
            RosterError::Malformed(format!("{s:?} is not an entry id"))
        })?))
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

/// The changes of a revoked key the revoker had seen in one document: their
/// hashes (hex) in sequence order, so `hashes[n - 1]` is the key's `n`-th
/// change to `doc`. Exactly these stay valid; any other change by the key
/// (a later one, or a backdated fork of an earlier sequence number) is
/// refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrontierItem {
    pub key: String,
    pub doc: String,
    pub hashes: Vec<String>,
}

/// An invitation, as carried in an `invite` entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Invite {
    pub org: OrgInfo,
    /// The invitee's node key (hex).
    pub key: String,
    pub role: Role,
    /// RFC 3339; an admission after this time is void.
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
    /// An admin revokes an organisation or a node key.
    Revoke {
        target: Target,
        reason: String,
        frontier: Vec<FrontierItem>,
    },
    /// An admin promotes or demotes an organisation.
    SetRole { org: String, role: Role },
}

/// A roster entry before signing. Its canonical bytes are its JSON
/// encoding (fields in declaration order, no maps).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Consortium id (hex); empty in the genesis entry, which defines it.
    pub consortium: String,
    /// The author's node key (hex).
    pub author: String,
    /// Ids (hex, sorted) of the entries the author had seen.
    pub deps: Vec<String>,
    /// RFC 3339, as claimed by the author.
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

/// An entry whose signature, shape and consortium were checked.
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
}

/// Why an entry was refused on its own (before the roster rules).
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum RosterError {
    #[error("malformed roster entry: {0}")]
    Malformed(String),
    #[error("roster entry author: {0}")]
    Author(crate::identity::KeyError),
    #[error("roster entry signature does not verify")]
    BadSignature,
    #[error("roster entry belongs to another consortium ({0})")]
    OtherConsortium(String),
    #[error("invalid roster entry: {0}")]
    Invalid(String),
}

impl Entry {
    pub fn canonical_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("entries serialize")
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
    /// The entry's id.
    pub fn id(&self) -> EntryId {
        let mut h = Sha256::new();
        h.update(ENTRY_ID_DOMAIN);
        h.update(self.entry.canonical_bytes());
        h.update(self.signature.as_bytes());
        EntryId(h.finalize().into())
    }

    /// Decode from JSON bytes, bounded.
    pub fn decode(bytes: &[u8]) -> Result<SignedEntry, RosterError> {
        if bytes.len() > MAX_ENTRY_BYTES {
            return Err(RosterError::Malformed("entry too large".into()));
        }
        serde_json::from_slice(bytes).map_err(|e| RosterError::Malformed(e.to_string()))
    }

    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("entries serialize")
    }

    /// Check signature, shape, and that the entry belongs to `consortium`
    /// (`None`: only a genesis entry is acceptable, and defines it).
    pub fn verify(&self, consortium: Option<&ConsortiumId>) -> Result<VerifiedEntry, RosterError> {
        let e = &self.entry;
        let bytes = e.canonical_bytes();
        if bytes.len() > MAX_ENTRY_BYTES {
            return Err(RosterError::Malformed("entry too large".into()));
        }
        let author = PublicKey::from_hex(&e.author).map_err(RosterError::Author)?;
        let sig_bytes: [u8; 64] = hex::decode(&self.signature)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| RosterError::Malformed("signature is not 64 hex bytes".into()))?;
        let mut m = ROSTER_DOMAIN.to_vec();
        m.extend_from_slice(&bytes);
        author
            .verify(&m, &Signature(sig_bytes))
            .map_err(|_| RosterError::BadSignature)?;
        let id = self.id();
        let is_genesis = matches!(e.action, Action::Genesis { .. });
        match (is_genesis, consortium) {
            (true, Some(c)) if *c != id => {
                return Err(RosterError::OtherConsortium(format!(
                    "a second genesis {id}"
                )))
            }
            (true, _) => {
                if !e.consortium.is_empty() || !e.deps.is_empty() {
                    return Err(RosterError::Invalid(
                        "a genesis entry has no consortium and no deps".into(),
                    ));
                }
            }
            (false, None) => {
                return Err(RosterError::Invalid(
                    "not a genesis entry, and no consortium is known".into(),
                ))
            }
            (false, Some(c)) => {
                if e.consortium != c.to_hex() {
                    return Err(RosterError::OtherConsortium(e.consortium.clone()));
                }
            }
        }
        if e.deps.len() > MAX_DEPS {
            return Err(RosterError::Invalid(format!("more than {MAX_DEPS} deps")));
        }
        let deps = e
            .deps
            .iter()
            .map(|d| EntryId::from_hex(d))
            .collect::<Result<Vec<_>, _>>()?;
        if !is_genesis && deps.is_empty() {
            return Err(RosterError::Invalid(
                "an entry must depend on at least the genesis".into(),
            ));
        }
        vf::timestamp(&e.issued_at).map_err(RosterError::Invalid)?;
        match &e.action {
            Action::Genesis { name, org } => {
                vf::display_name(name).map_err(RosterError::Invalid)?;
                check_org(org)?;
            }
            Action::Invite(inv) => {
                check_org(&inv.org)?;
                PublicKey::from_hex(&inv.key)
                    .map_err(|k| RosterError::Invalid(format!("invitee key: {k}")))?;
                vf::timestamp(&inv.expires_at).map_err(RosterError::Invalid)?;
                if inv.addrs.len() > MAX_ADDRS
                    || inv
                        .addrs
                        .iter()
                        .any(|a| a.len() > 256 || !a.starts_with('/'))
                {
                    return Err(RosterError::Invalid(format!(
                        "at most {MAX_ADDRS} multiaddrs, each starting with /"
                    )));
                }
            }
            Action::Admit { invite } => {
                EntryId::from_hex(invite)?;
            }
            Action::Revoke {
                target,
                reason,
                frontier,
            } => {
                if reason.len() > 1000 {
                    return Err(RosterError::Invalid("reason too long".into()));
                }
                match target {
                    Target::Org { org } => vf::member_key(org).map_err(RosterError::Invalid)?,
                    Target::Node { key } => {
                        PublicKey::from_hex(key)
                            .map_err(|k| RosterError::Invalid(format!("revoked key: {k}")))?;
                    }
                }
                for f in frontier {
                    if f.key.len() != 64
                        || f.doc.len() > 200
                        || f.hashes
                            .iter()
                            .any(|h| h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()))
                    {
                        return Err(RosterError::Invalid("malformed frontier".into()));
                    }
                }
            }
            Action::SetRole { org, .. } => vf::member_key(org).map_err(RosterError::Invalid)?,
        }
        Ok(VerifiedEntry {
            id,
            author,
            deps,
            signed: self.clone(),
        })
    }
}

fn check_org(org: &OrgInfo) -> Result<(), RosterError> {
    vf::member_key(&org.key).map_err(RosterError::Invalid)?;
    vf::display_name(&org.name).map_err(RosterError::Invalid)?;
    vf::country(&org.country).map_err(RosterError::Invalid)?;
    Ok(())
}
