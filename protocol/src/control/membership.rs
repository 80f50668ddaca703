//! Answers about the consortium: founding, invites, joining, the member
//! list, revocations, roles, and roster and change hand-over by file.

use serde::{Deserialize, Serialize};

use crate::roster::{OrgState, Role, Roster, SignedEntry};

/// `consortium create`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Founded {
    /// The consortium id (hex of its genesis entry).
    pub consortium: String,
    pub name: String,
}

/// `invite`: the token to hand to the invited node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteIssued {
    /// `r2com-invite:...`, for `r2com join`.
    pub token: String,
    /// The invite entry's id (hex).
    pub invite: String,
    /// RFC 3339 UTC.
    pub expires_at: String,
    /// The invited node key (hex).
    pub key: String,
}

/// `join`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Joined {
    pub consortium: String,
    /// The organisation this node joins as.
    pub org: String,
    pub role: Role,
    /// Where the inviting consortium's members can be reached.
    pub addrs: Vec<String>,
    /// Whether the roster already admits this node (else admission
    /// completes when a member receives it).
    pub admitted: bool,
    /// The member that admitted this node (PeerId), when a running node
    /// handed in its admission during `join`.
    #[serde(default)]
    pub admitted_by: Option<String>,
    /// The invite's addresses that a running node could not dial.
    #[serde(default)]
    pub dial_errors: Vec<DialFailure>,
}

/// An address that could not be dialed, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DialFailure {
    pub addr: String,
    pub error: String,
}

/// `members`: the roster as a member list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Members {
    pub consortium: String,
    pub name: String,
    pub orgs: Vec<Member>,
    /// Entries (ids) waiting for an entry they depend on.
    pub pending: Vec<String>,
    /// Entries the roster rules refused.
    pub rejected: Vec<RejectedEntry>,
}

/// A member organisation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// Short key (`lmds`).
    pub key: String,
    pub name: String,
    /// ISO 3166 alpha-2.
    pub country: String,
    pub role: Role,
    /// Node key (hex) of the admin who added it.
    pub added_by: String,
    pub added_at: String,
    pub keys: Vec<MemberKey>,
    pub revoked: Option<RevocationInfo>,
}

/// One node key of a member organisation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberKey {
    /// Node key (hex).
    pub key: String,
    pub added_by: String,
    pub added_at: String,
    pub revoked: Option<RevocationInfo>,
}

/// A revocation of an organisation or a key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevocationInfo {
    /// The revoking admin's node key.
    pub by: String,
    pub at: String,
    pub reason: String,
    /// The revoke entry's id.
    pub entry: String,
}

/// A roster entry the rules refused, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectedEntry {
    pub id: String,
    pub reason: String,
}

/// The roster's revocation record (its type is private to the roster).
macro_rules! revocation {
    ($r:expr) => {
        $r.as_ref().map(|r| RevocationInfo {
            by: r.by.clone(),
            at: r.at.clone(),
            reason: r.reason.clone(),
            entry: r.entry.clone(),
        })
    };
}

impl From<&OrgState> for Member {
    fn from(o: &OrgState) -> Self {
        Member {
            key: o.info.key.clone(),
            name: o.info.name.clone(),
            country: o.info.country.clone(),
            role: o.role,
            added_by: o.added_by.clone(),
            added_at: o.added_at.clone(),
            keys: o
                .keys
                .iter()
                .map(|k| MemberKey {
                    key: k.key.clone(),
                    added_by: k.added_by.clone(),
                    added_at: k.added_at.clone(),
                    revoked: revocation!(k.revoked),
                })
                .collect(),
            revoked: revocation!(o.revoked),
        }
    }
}

impl From<&Roster> for Members {
    fn from(r: &Roster) -> Self {
        Members {
            consortium: r.consortium.clone(),
            name: r.name.clone(),
            orgs: r.orgs.iter().map(Into::into).collect(),
            pending: r.pending.clone(),
            rejected: r
                .rejected
                .iter()
                .map(|x| RejectedEntry {
                    id: x.id.clone(),
                    reason: x.reason.clone(),
                })
                .collect(),
        }
    }
}

/// `revoke`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revoked {
    /// The node keys (hex) the revocation strikes.
    pub revoked: Vec<String>,
    /// The revoke entry's id.
    pub entry: String,
}

/// Where a `key rotate` stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RotationState {
    /// This node's organisation is not an admin: an admin must invite the
    /// new key (`invite_command`), then `key rotate --token TOKEN`.
    NeedsInvite,
    /// A member holds the new key's admission; the node restarts under
    /// the new key now, and the old key revokes itself.
    Switched,
}

/// `key rotate`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRotated {
    pub state: RotationState,
    /// The key this node signed with so far (hex).
    pub old_key: String,
    /// The new key (hex) and its PeerId.
    pub new_key: String,
    pub new_peer_id: String,
    /// `needs_invite`: the command an admin of the consortium runs.
    pub invite_command: Option<String>,
    /// `switched`: the member (PeerId) that confirmed holding the new
    /// key's admission.
    pub confirmed_by: Option<String>,
}

/// `invite withdraw`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteWithdrawn {
    /// The withdrawn invite's id.
    pub invite: String,
    /// The node key it invited (hex).
    pub key: String,
    /// The withdraw entry's id.
    pub entry: String,
}

/// `promote` / `demote`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleSet {
    pub org: String,
    pub role: Role,
    /// The entry's id.
    pub entry: String,
}

/// `roster export`: every roster entry, the file `roster import` reads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RosterFile {
    pub consortium: String,
    pub entries: Vec<SignedEntry>,
}

/// `roster import`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RosterImported {
    /// New entries stored (the rules keep only valid entries and
    /// admissions a member witnessed).
    pub added: u64,
    /// Admissions (of invites not expired yet) this node witnessed, so
    /// that they took effect.
    pub witnessed: u64,
    /// Entries that did not verify, or that the rules refuse and this
    /// node did not store (`id: reason`).
    pub refused: Vec<String>,
    /// Entries the roster rules refuse after the import.
    pub rejected_by_rules: Vec<RejectedEntry>,
    /// Entries waiting for an entry they depend on.
    pub pending: Vec<String>,
    /// Whether the roster now admits this node.
    pub admitted: bool,
}

/// `changes export`: every signed change, the file `changes import` reads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangesFile {
    /// `null` on a node outside any consortium.
    pub consortium: Option<String>,
    /// Signed change envelopes, hex.
    pub changes: Vec<String>,
}

/// `changes import`: what happened to each received change.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangesImported {
    pub received: u64,
    pub applied: u64,
    /// Changes this node held already.
    pub duplicates: u64,
    pub refused: u64,
    /// Why changes were refused (the first ones).
    pub refusals: Vec<String>,
    /// Well-formed changes whose author may not write per this node's
    /// roster (skipped). The CLI reports them as refused.
    pub not_allowed: Vec<String>,
}
