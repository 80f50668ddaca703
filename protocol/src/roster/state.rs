//! The roster a set of entries evaluates to, and what it answers: who is a
//! member, an admin, an invitee; who may connect; whose changes count.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::entry::{EntryId, Invite, OrgInfo, Role};
use crate::identity::PublicKey;

/// A revocation as the roster records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Revocation {
    pub by: String,
    pub at: String,
    pub reason: String,
    pub entry: String,
}

/// An erased record, as the roster keeps its tombstone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Erasure {
    /// `practice/p-000001`.
    pub doc: String,
    /// The organisation the record belonged to, as the erasure names it.
    pub organisation: String,
    /// The erasing node key (hex).
    pub by: String,
    /// When, as its author claims.
    pub at: String,
    pub reason: String,
    /// The (first) erasure entry's id (hex).
    pub entry: String,
    /// Hashes (hex) of the erased changes, of every erasure of the record.
    pub hashes: BTreeSet<String>,
    /// An admin let the id be used again after every erasure of it.
    pub reusable: bool,
}

/// One node key of a member organisation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KeyState {
    pub key: String,
    pub added_by: String,
    /// When a member witnessed its admission.
    pub added_at: String,
    pub revoked: Option<Revocation>,
}

/// A member organisation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OrgState {
    #[serde(flatten)]
    pub info: OrgInfo,
    pub role: Role,
    pub added_by: String,
    pub added_at: String,
    pub keys: Vec<KeyState>,
    pub revoked: Option<Revocation>,
}

/// An entry the rules refused or voided, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Rejected {
    pub id: String,
    pub reason: String,
}

/// Why a library change's author may not write.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum MembershipError {
    #[error("author {0} is not a member of the consortium")]
    NotMember(String),
    #[error("author {0} was revoked, and this change is not among those its revocation keeps")]
    Revoked(String),
    /// Among the revoked key's earlier changes only if it is in the
    /// history of the last change its revocation keeps, which this node
    /// does not hold (all of) yet.
    #[error("author {0} was revoked, and this node cannot tell yet whether its revocation keeps this change")]
    FrontierUnknown(String),
}

/// What a peer (by its node key) may do, per the roster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// A live member: may sync.
    Member,
    /// Holds an open invite: may only hand in its admission.
    Invitee,
    Stranger,
}

/// Per revoked key, the changes each revocation in effect keeps: per
/// document, the count and the hash of the last (all must keep a change).
pub(super) type Frontiers = BTreeMap<String, Vec<DocFrontiers>>;

/// One revocation's frontier of one key: per document, the count of its
/// changes kept and the hash of the last.
pub type DocFrontiers = BTreeMap<String, (u64, [u8; 32])>;

/// The roster a set of entries evaluates to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Roster {
    pub consortium: String,
    pub name: String,
    pub orgs: Vec<OrgState>,
    /// Stored entries with no stored successor: what a new entry depends
    /// on.
    #[serde(skip)]
    pub heads: Vec<EntryId>,
    /// Entries waiting for a dependency.
    pub pending: Vec<String>,
    /// Entries refused (`reason`) or voided (`void: reason`).
    pub rejected: Vec<Rejected>,
    /// Open invites (valid, unused, not withdrawn) by id.
    #[serde(skip)]
    pub invites: BTreeMap<EntryId, Invite>,
    /// The entries the rules keep (valid or void): what a node stores and
    /// relays. Everything else it drops.
    #[serde(skip)]
    pub accepted: BTreeSet<EntryId>,
    /// Admissions no member has witnessed yet (not stored by members).
    #[serde(skip)]
    pub unwitnessed: BTreeSet<EntryId>,
    #[serde(skip)]
    pub(super) frontiers: Frontiers,
    /// Erased records by document (`practice/p-000001`): their tombstones.
    #[serde(skip)]
    pub erasures: BTreeMap<String, Erasure>,
    /// Organisations an admin grant of which holds (demoted since or not):
    /// record rights are judged by it (see `crate::rights`), so a record
    /// change an admin made stays allowed after its organisation's
    /// demotion, on every node.
    #[serde(skip)]
    pub(super) ever_admin: BTreeSet<String>,
}

impl Roster {
    pub(super) fn empty(consortium: &EntryId, pending: Vec<String>) -> Roster {
        Roster {
            consortium: consortium.to_hex(),
            name: String::new(),
            orgs: Vec::new(),
            heads: Vec::new(),
            pending,
            rejected: Vec::new(),
            invites: BTreeMap::new(),
            accepted: BTreeSet::new(),
            unwitnessed: BTreeSet::new(),
            frontiers: BTreeMap::new(),
            ever_admin: BTreeSet::new(),
            erasures: BTreeMap::new(),
        }
    }

    /// Whether the genesis entry is known.
    pub fn is_founded(&self) -> bool {
        !self.orgs.is_empty()
    }

    /// The organisation and key state of an admitted node key (revoked or
    /// not).
    pub fn find_key(&self, key: &str) -> Option<(&OrgState, &KeyState)> {
        self.orgs
            .iter()
            .find_map(|o| o.keys.iter().find(|k| k.key == key).map(|k| (o, k)))
    }

    /// Whether `key` belongs to a member that is not revoked.
    pub fn is_live_member(&self, key: &str) -> bool {
        matches!(self.find_key(key), Some((o, k)) if o.revoked.is_none() && k.revoked.is_none())
    }

    /// Whether `key` may sign roster entries (invite, revoke, set roles).
    pub fn is_admin(&self, key: &str) -> bool {
        self.is_live_member(key)
            && self
                .find_key(key)
                .is_some_and(|(o, _)| o.role == Role::Admin)
    }

    /// Whether `key`'s organisation holds, or held, the admin role (record
    /// rights: see `crate::rights`).
    pub fn was_admin(&self, key: &str) -> bool {
        self.find_key(key)
            .is_some_and(|(o, _)| self.ever_admin.contains(&o.info.key))
    }

    /// May a change (`hash`, building on `deps`) of document `doc` be
    /// taken, as far as erasures go? Never an erased change; while the
    /// record stays erased, no change of it; once an admin let its id be
    /// used again, none that builds on an erased change.
    pub fn check_not_erased(
        &self,
        doc: &str,
        hash: &[u8; 32],
        deps: &[[u8; 32]],
    ) -> Result<(), String> {
        let Some(e) = self.erasures.get(doc) else {
            return Ok(());
        };
        if e.hashes.contains(&hex::encode(hash)) {
            Err(format!(
                "{doc} was erased ({}), this change with it",
                e.reason
            ))
        } else if !e.reusable {
            Err(format!("{doc} was erased ({})", e.reason))
        } else if deps.iter().any(|d| e.hashes.contains(&hex::encode(d))) {
            Err(format!("{doc}: the change builds on erased changes"))
        } else {
            Ok(())
        }
    }

    /// What the holder of `key` may do: sync (a live member), hand in its
    /// admission (an open invite for a key never admitted), or nothing.
    pub fn standing(&self, key: &str) -> Standing {
        if self.is_live_member(key) {
            Standing::Member
        } else if self.find_key(key).is_none() && self.invites.values().any(|i| i.key == key) {
            Standing::Invitee
        } else {
            Standing::Stranger
        }
    }

    /// Whether the node with key `me` waits for its own admission: it
    /// holds no admitted key in this roster (revoked keys do not wait).
    pub fn awaiting_admission(&self, me: &str) -> bool {
        self.find_key(me).is_none()
    }

    /// A revoked key's frontier in effect (see [`Self::change_authority`]).
    pub fn frontiers_of(&self, key: &str) -> Option<&[DocFrontiers]> {
        self.frontiers.get(key).map(Vec::as_slice)
    }

    /// Whether a library change by `author` (its `seq`-th to `doc`, with
    /// `hash`) counts: a live member's yes; a revoked key's only as its
    /// revocation's frontier says, which for an earlier change needs the
    /// document's history ([`super::frontier`]).
    pub fn change_authority(
        &self,
        author: &PublicKey,
        doc: &str,
        seq: u64,
        hash: &[u8; 32],
    ) -> ChangeAuthority {
        let key = author.to_hex();
        match self.find_key(&key) {
            None => ChangeAuthority::Refused(MembershipError::NotMember(key)),
            Some((o, k)) if o.revoked.is_none() && k.revoked.is_none() => ChangeAuthority::Allowed,
            Some(_) => {
                let revoked = || ChangeAuthority::Refused(MembershipError::Revoked(key.clone()));
                let Some(all) = self.frontiers.get(&key) else {
                    return revoked();
                };
                let mut heads = Vec::new();
                for f in all {
                    match f.get(doc) {
                        Some((n, last)) if seq == *n && hash == last => {}
                        Some((n, last)) if seq >= 1 && seq < *n => heads.push(*last),
                        _ => return revoked(),
                    }
                }
                if heads.is_empty() {
                    ChangeAuthority::Allowed
                } else {
                    ChangeAuthority::InHistoryOf(heads)
                }
            }
        }
    }
}

/// Whether a change's author may write it, per the roster alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeAuthority {
    Allowed,
    Refused(MembershipError),
    /// A revoked key's earlier change: it counts if it is in the history
    /// of each of these changes (the last ones its revocations keep).
    InHistoryOf(Vec<[u8; 32]>),
}
