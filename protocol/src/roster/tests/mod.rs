//! Roster rule tests. `World` builds entry DAGs by hand: key `i` belongs to
//! organisation `o{i}`; key 0 founds the consortium.

mod admission;
mod bounds;
mod erase;
mod frontier;
mod ids;
mod invites;
mod order;
mod revocation;
mod rights;
mod self_revocation;
mod whole_docs;

use std::collections::HashMap;

use super::*;
use crate::identity::NodeKey;

pub fn key(i: u8) -> NodeKey {
    NodeKey::from_seed([i + 1; 32])
}

pub fn hex_key(i: u8) -> String {
    key(i).public().to_hex()
}

pub fn org(k: &str) -> OrgInfo {
    OrgInfo {
        key: k.into(),
        name: format!("Org {k}"),
        country: "FR".into(),
    }
}

pub struct World {
    pub cid: ConsortiumId,
    pub entries: Vec<SignedEntry>,
    pub by_id: HashMap<EntryId, usize>,
}

pub const T0: &str = "2026-01-01T00:00:00Z";
pub const EXPIRES: &str = "2026-02-01T00:00:00Z";

impl World {
    pub fn new() -> World {
        Self::founded_by(0, "RAN", "o0")
    }

    pub fn founded_by(k: u8, name: &str, o: &str) -> World {
        let g = Entry {
            consortium: String::new(),
            author: hex_key(k),
            deps: vec![],
            issued_at: T0.into(),
            action: Action::Genesis {
                name: name.into(),
                org: org(o),
            },
        }
        .sign(&key(k));
        World {
            cid: g.id(),
            by_id: HashMap::from([(g.id(), 0)]),
            entries: vec![g],
        }
    }

    pub fn g(&self) -> EntryId {
        self.cid
    }

    pub fn signed(&self, author: u8, deps: &[EntryId], at: &str, action: Action) -> SignedEntry {
        let mut deps: Vec<EntryId> = deps.to_vec();
        deps.sort();
        deps.dedup();
        Entry {
            consortium: self.cid.to_hex(),
            author: hex_key(author),
            deps: deps.iter().map(EntryId::to_hex).collect(),
            issued_at: at.into(),
            action,
        }
        .sign(&key(author))
    }

    pub fn push(&mut self, e: SignedEntry) -> EntryId {
        let id = e.id();
        self.by_id.insert(id, self.entries.len());
        self.entries.push(e);
        id
    }

    pub fn add(&mut self, author: u8, deps: &[EntryId], at: &str, action: Action) -> EntryId {
        let e = self.signed(author, deps, at, action);
        self.push(e)
    }

    pub fn invite_to(
        &mut self,
        by: u8,
        deps: &[EntryId],
        who: u8,
        o: &str,
        role: Role,
        expires: &str,
    ) -> EntryId {
        self.add(
            by,
            deps,
            "2026-01-02T00:00:00Z",
            Action::Invite(Invite {
                org: org(o),
                key: hex_key(who),
                role,
                expires_at: expires.into(),
                addrs: vec!["/ip4/127.0.0.1/tcp/4001".into()],
            }),
        )
    }

    pub fn invite(&mut self, by: u8, deps: &[EntryId], who: u8, role: Role) -> EntryId {
        self.invite_to(by, deps, who, &format!("o{who}"), role, EXPIRES)
    }

    pub fn admit(&mut self, who: u8, invite: EntryId, at: &str) -> EntryId {
        self.add(
            who,
            &[invite],
            at,
            Action::Admit {
                invite: invite.to_hex(),
            },
        )
    }

    pub fn witness(&mut self, by: u8, deps: &[EntryId], admit: EntryId, at: &str) -> EntryId {
        let mut deps = deps.to_vec();
        deps.push(admit);
        self.add(
            by,
            &deps,
            at,
            Action::Witness {
                admit: admit.to_hex(),
            },
        )
    }

    /// Invite, admit and the inviter's witness; returns the witness.
    pub fn join(&mut self, by: u8, deps: &[EntryId], who: u8, role: Role) -> EntryId {
        let i = self.invite(by, deps, who, role);
        let a = self.admit(who, i, "2026-01-03T00:00:00Z");
        self.witness(by, &[i], a, "2026-01-03T00:00:00Z")
    }

    /// The ids of every entry by `who`'s key.
    pub fn by(&self, who: u8) -> Vec<String> {
        let k = hex_key(who);
        let mut ids: Vec<String> = self
            .entries
            .iter()
            .filter(|e| e.entry.author == k)
            .map(|e| e.id().to_hex())
            .collect();
        ids.sort();
        ids.dedup();
        ids
    }

    pub fn revoke_with(
        &mut self,
        by: u8,
        deps: &[EntryId],
        target: Target,
        seen: Vec<String>,
    ) -> EntryId {
        self.add(
            by,
            deps,
            "2026-01-04T00:00:00Z",
            Action::Revoke {
                target,
                reason: "test".into(),
                seen,
                frontier: vec![],
            },
        )
    }

    /// Revoke organisation `o{who}`, listing every entry by `who` so far.
    pub fn revoke(&mut self, by: u8, deps: &[EntryId], who: u8) -> EntryId {
        let seen = self.by(who);
        self.revoke_with(
            by,
            deps,
            Target::Org {
                org: format!("o{who}"),
            },
            seen,
        )
    }

    pub fn verified(&self) -> Vec<VerifiedEntry> {
        self.entries
            .iter()
            .map(|e| e.verify(Some(&self.cid)).unwrap())
            .collect()
    }

    pub fn roster(&self) -> Roster {
        Roster::evaluate(&self.cid, &self.verified())
    }
}

pub fn rejected_reason(r: &Roster, id: EntryId) -> String {
    r.rejected
        .iter()
        .find(|x| x.id == id.to_hex())
        .map(|x| x.reason.clone())
        .unwrap_or_else(|| panic!("{id:?} was not rejected: {:#?}", r.rejected))
}

pub fn is_rejected(r: &Roster, id: EntryId) -> bool {
    r.rejected.iter().any(|x| x.id == id.to_hex())
}

#[test]
fn invite_admit_and_witness_make_a_member() {
    let mut w = World::new();
    let g = w.g();
    let i = w.invite(0, &[g], 1, Role::Member);
    let a = w.admit(1, i, "2026-01-03T00:00:00Z");
    let r = w.roster();
    assert!(
        !r.is_live_member(&hex_key(1)),
        "not before a member witnessed"
    );
    assert!(r.unwitnessed.contains(&a));
    assert_eq!(r.standing(&hex_key(1)), Standing::Invitee);
    assert!(r.awaiting_admission(&hex_key(1)));
    let wit = w.witness(0, &[i], a, "2026-01-03T00:00:00Z");
    let r = w.roster();
    assert!(r.is_live_member(&hex_key(1)));
    assert!(!r.is_admin(&hex_key(1)));
    assert_eq!(r.standing(&hex_key(1)), Standing::Member);
    assert_eq!(r.standing(&hex_key(5)), Standing::Stranger);
    assert!(r.rejected.is_empty(), "{:?}", r.rejected);
    assert_eq!(r.heads, vec![wit]);
    assert_eq!(r.orgs.len(), 2);
    assert_eq!(r.accepted.len(), 4);
    assert!(r.invites.is_empty(), "the invite is used");
}

#[test]
fn forged_and_replayed_entries_are_refused() {
    let mut w = World::new();
    let g = w.g();
    w.invite(0, &[g], 1, Role::Member);
    let mut forged = w.entries[1].clone();
    forged.entry.action = Action::SetRole {
        org: "o0".into(),
        role: Role::Member,
    };
    assert_eq!(
        forged.verify(Some(&w.cid)).unwrap_err(),
        RosterError::BadSignature
    );
    let other = World::founded_by(9, "Other", "x");
    assert!(matches!(
        w.entries[1].verify(Some(&other.cid)),
        Err(RosterError::OtherConsortium(_))
    ));
    assert!(w.entries[1].verify(None).is_err());
}

#[test]
fn only_admins_invite_and_only_members_witness() {
    let mut w = World::new();
    let g = w.g();
    let j1 = w.join(0, &[g], 1, Role::Member);
    let by_member = w.invite(1, &[j1], 2, Role::Member);
    let i3 = w.invite(0, &[j1], 3, Role::Member);
    let a3 = w.admit(3, i3, "2026-01-05T00:00:00Z");
    // A stranger's witness, and the invitee's own.
    let by_stranger = w.witness(6, &[i3], a3, "2026-01-05T00:00:00Z");
    let by_self = w.witness(3, &[i3], a3, "2026-01-05T00:00:00Z");
    let i4 = w.invite(0, &[j1], 4, Role::Member);
    let by_wrong_key = w.admit(5, i4, "2026-01-05T00:00:00Z");
    let r = w.roster();
    assert_eq!(rejected_reason(&r, by_member), "its author is not an admin");
    assert_eq!(
        rejected_reason(&r, by_stranger),
        "its author is not a member"
    );
    assert_eq!(rejected_reason(&r, by_self), "its author is not a member");
    assert!(is_rejected(&r, by_wrong_key));
    assert!(!r.is_live_member(&hex_key(3)));
    // A plain member may witness.
    let by_member_witness = w.witness(1, &[j1, i3], a3, "2026-01-05T00:00:00Z");
    let r = w.roster();
    assert!(r.accepted.contains(&by_member_witness));
    assert!(r.is_live_member(&hex_key(3)));
}
