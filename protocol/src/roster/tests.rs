use proptest::prelude::*;

use super::*;
use crate::identity::NodeKey;

fn key(i: u8) -> NodeKey {
    NodeKey::from_seed([i + 1; 32])
}

fn org(k: &str) -> OrgInfo {
    OrgInfo {
        key: k.into(),
        name: format!("Org {k}"),
        country: "FR".into(),
    }
}

struct World {
    cid: ConsortiumId,
    entries: Vec<SignedEntry>,
}

impl World {
    fn new() -> World {
        let g = Entry {
            consortium: String::new(),
            author: key(0).public().to_hex(),
            deps: vec![],
            issued_at: "2026-01-01T00:00:00Z".into(),
            action: Action::Genesis {
                name: "RAN".into(),
                org: org("o0"),
            },
        }
        .sign(&key(0));
        World {
            cid: g.id(),
            entries: vec![g],
        }
    }

    fn add(&mut self, author: u8, deps: &[EntryId], at: &str, action: Action) -> EntryId {
        let mut deps: Vec<String> = deps.iter().map(EntryId::to_hex).collect();
        deps.sort();
        let e = Entry {
            consortium: self.cid.to_hex(),
            author: key(author).public().to_hex(),
            deps,
            issued_at: at.into(),
            action,
        }
        .sign(&key(author));
        let id = e.id();
        self.entries.push(e);
        id
    }

    fn invite(&mut self, by: u8, deps: &[EntryId], who: u8, role: Role) -> EntryId {
        self.add(
            by,
            deps,
            "2026-01-02T00:00:00Z",
            Action::Invite(Invite {
                org: org(&format!("o{who}")),
                key: key(who).public().to_hex(),
                role,
                expires_at: "2026-02-01T00:00:00Z".into(),
                addrs: vec!["/ip4/127.0.0.1/tcp/4001".into()],
            }),
        )
    }

    fn admit(&mut self, who: u8, invite: EntryId, at: &str) -> EntryId {
        self.add(
            who,
            &[invite],
            at,
            Action::Admit {
                invite: invite.to_hex(),
            },
        )
    }

    fn join(&mut self, by: u8, deps: &[EntryId], who: u8, role: Role) -> EntryId {
        let i = self.invite(by, deps, who, role);
        self.admit(who, i, "2026-01-03T00:00:00Z")
    }

    fn revoke(&mut self, by: u8, deps: &[EntryId], org_key: &str) -> EntryId {
        self.add(
            by,
            deps,
            "2026-01-04T00:00:00Z",
            Action::Revoke {
                target: Target::Org {
                    org: org_key.into(),
                },
                reason: "test".into(),
                frontier: vec![],
            },
        )
    }

    fn roster(&self) -> Roster {
        let verified: Vec<VerifiedEntry> = self
            .entries
            .iter()
            .map(|e| e.verify(Some(&self.cid)).unwrap())
            .collect();
        Roster::evaluate(&self.cid, &verified)
    }
}

fn rejected_reason(r: &Roster, id: EntryId) -> String {
    r.rejected
        .iter()
        .find(|x| x.id == id.to_hex())
        .map(|x| x.reason.clone())
        .unwrap_or_else(|| panic!("{id:?} was not rejected: {:#?}", r.rejected))
}

#[test]
fn invite_and_admit_make_a_member() {
    let mut w = World::new();
    let g = w.cid;
    let a = w.join(0, &[g], 1, Role::Member);
    let r = w.roster();
    assert!(r.is_live_member(&key(1).public().to_hex()));
    assert!(!r.is_admin(&key(1).public().to_hex()));
    assert!(r.rejected.is_empty(), "{:?}", r.rejected);
    assert_eq!(r.heads, vec![a]);
    assert_eq!(r.orgs.len(), 2);
}

#[test]
fn forged_and_replayed_entries_are_refused() {
    let mut w = World::new();
    let g = w.cid;
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
    let other = World::new_other();
    assert!(matches!(
        w.entries[1].verify(Some(&other.cid)),
        Err(RosterError::OtherConsortium(_))
    ));
    assert!(w.entries[1].verify(None).is_err());
}

impl World {
    fn new_other() -> World {
        let g = Entry {
            consortium: String::new(),
            author: key(9).public().to_hex(),
            deps: vec![],
            issued_at: "2026-01-01T00:00:00Z".into(),
            action: Action::Genesis {
                name: "Other".into(),
                org: org("x"),
            },
        }
        .sign(&key(9));
        World {
            cid: g.id(),
            entries: vec![g],
        }
    }
}

#[test]
fn non_admins_expired_invites_and_reused_invites_are_rejected() {
    let mut w = World::new();
    let g = w.cid;
    let a1 = w.join(0, &[g], 1, Role::Member);
    let by_member = w.invite(1, &[a1], 2, Role::Member);
    let inv = w.invite(0, &[a1], 3, Role::Member);
    let late = w.admit(3, inv, "2026-03-01T00:00:00Z");
    let inv4 = w.invite(0, &[a1], 4, Role::Member);
    let by_wrong_key = w.admit(5, inv4, "2026-01-05T00:00:00Z");
    let r = w.roster();
    assert_eq!(rejected_reason(&r, by_member), "its author is not an admin");
    assert!(rejected_reason(&r, late).starts_with("the invite expired"));
    assert_eq!(
        rejected_reason(&r, by_wrong_key),
        "the admission is not signed by the invited key"
    );
    assert!(!r.is_live_member(&key(3).public().to_hex()));
}

#[test]
fn revocation_wins_over_a_concurrent_invite_by_the_revoked_admin() {
    let mut w = World::new();
    let g = w.cid;
    let a1 = w.join(0, &[g], 1, Role::Admin);
    // o1 invites key 2 while, concurrently, o0 revokes o1.
    let inv = w.invite(1, &[a1], 2, Role::Member);
    let adm = w.admit(2, inv, "2026-01-03T00:00:00Z");
    let rev = w.revoke(0, &[a1], "o1");
    let r = w.roster();
    assert!(rejected_reason(&r, inv).starts_with("void"));
    assert!(!rejected_reason(&r, adm).is_empty());
    assert!(!r.is_live_member(&key(1).public().to_hex()));
    assert!(!r.is_live_member(&key(2).public().to_hex()));
    assert!(!r.rejected.iter().any(|x| x.id == rev.to_hex()));
}

#[test]
fn revocation_wins_over_a_concurrent_promotion() {
    let mut w = World::new();
    let g = w.cid;
    let a1 = w.join(0, &[g], 1, Role::Admin);
    let a2 = w.join(0, &[a1], 2, Role::Member);
    let promote = w.add(
        0,
        &[a2],
        "2026-01-05T00:00:00Z",
        Action::SetRole {
            org: "o2".into(),
            role: Role::Admin,
        },
    );
    let _rev = w.revoke(1, &[a2], "o2");
    let _ = promote;
    let r = w.roster();
    assert!(!r.is_live_member(&key(2).public().to_hex()));
}

#[test]
fn the_last_admin_cannot_be_removed_even_by_mutual_revocation() {
    let mut w = World::new();
    let g = w.cid;
    let self_rev = w.revoke(0, &[g], "o0");
    let r = w.roster();
    assert_eq!(
        rejected_reason(&r, self_rev),
        "cannot remove the last admin"
    );
    let a1 = w.join(0, &[g], 1, Role::Admin);
    w.revoke(0, &[a1], "o1");
    w.revoke(1, &[a1], "o0");
    let r = w.roster();
    let admins: Vec<_> = r
        .orgs
        .iter()
        .filter(|o| o.role == Role::Admin && o.revoked.is_none())
        .collect();
    assert_eq!(admins.len(), 1, "{:#?}", r.orgs);
}

#[test]
fn revoked_keys_keep_their_earlier_changes_only() {
    let mut w = World::new();
    let g = w.cid;
    let a1 = w.join(0, &[g], 1, Role::Member);
    let k1 = key(1).public().to_hex();
    w.add(
        0,
        &[a1],
        "2026-01-06T00:00:00Z",
        Action::Revoke {
            target: Target::Node { key: k1.clone() },
            reason: "left".into(),
            frontier: vec![FrontierItem {
                key: k1.clone(),
                doc: "practice/p-1".into(),
                hashes: vec![
                    hex::encode([5; 32]),
                    hex::encode([6; 32]),
                    hex::encode([7; 32]),
                ],
            }],
        },
    );
    let r = w.roster();
    let pk = key(1).public();
    assert!(r
        .check_change_author(&pk, "practice/p-1", 1, &[5; 32])
        .is_ok());
    assert!(r
        .check_change_author(&pk, "practice/p-1", 2, &[6; 32])
        .is_ok());
    assert!(r
        .check_change_author(&pk, "practice/p-1", 3, &[7; 32])
        .is_ok());
    // A backdated fork: an earlier sequence number with another hash.
    assert!(r
        .check_change_author(&pk, "practice/p-1", 2, &[0; 32])
        .is_err());
    assert!(r
        .check_change_author(&pk, "practice/p-1", 0, &[5; 32])
        .is_err());
    assert!(r
        .check_change_author(&pk, "practice/p-1", 3, &[8; 32])
        .is_err());
    assert!(r
        .check_change_author(&pk, "practice/p-1", 4, &[0; 32])
        .is_err());
    assert!(r
        .check_change_author(&pk, "practice/p-2", 1, &[0; 32])
        .is_err());
    assert!(matches!(
        r.check_change_author(&key(7).public(), "practice/p-1", 1, &[0; 32]),
        Err(MembershipError::NotMember(_))
    ));
    assert!(r
        .check_change_author(&key(0).public(), "practice/p-1", 1, &[0; 32])
        .is_ok());
}

/// One random roster operation: (author, kind, target, deps bitmask).
fn op() -> impl Strategy<Value = (u8, u8, u8, u16)> {
    (0u8..5, 0u8..5, 1u8..5, any::<u16>())
}

fn build(ops: &[(u8, u8, u8, u16)]) -> World {
    let mut w = World::new();
    let mut ids = vec![w.cid];
    let mut invites: Vec<(u8, EntryId)> = Vec::new();
    for (author, kind, target, mask) in ops {
        let mut deps: Vec<EntryId> = ids
            .iter()
            .enumerate()
            .filter(|(i, _)| mask & (1 << (i % 16)) != 0)
            .map(|(_, id)| *id)
            .collect();
        if deps.is_empty() {
            deps.push(*ids.last().unwrap());
        }
        let role = if mask % 3 == 0 {
            Role::Admin
        } else {
            Role::Member
        };
        let id = match kind {
            0 | 1 => {
                let inv = w.invite(*author, &deps, *target, role);
                invites.push((*target, inv));
                inv
            }
            2 => match invites.iter().find(|(t, _)| t == target) {
                Some((t, inv)) => {
                    let inv = *inv;
                    w.add(
                        *t,
                        &[inv],
                        "2026-01-03T00:00:00Z",
                        Action::Admit {
                            invite: inv.to_hex(),
                        },
                    )
                }
                None => continue,
            },
            3 => w.revoke(*author, &deps, &format!("o{target}")),
            _ => w.add(
                *author,
                &deps,
                "2026-01-05T00:00:00Z",
                Action::SetRole {
                    org: format!("o{target}"),
                    role,
                },
            ),
        };
        ids.push(id);
    }
    w
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn any_arrival_order_gives_the_same_roster(ops in proptest::collection::vec(op(), 1..24), seed in any::<u64>()) {
        let w = build(&ops);
        let verified: Vec<VerifiedEntry> = w.entries.iter().map(|e| e.verify(Some(&w.cid)).unwrap()).collect();
        let reference = Roster::evaluate(&w.cid, &verified);
        let mut shuffled = verified.clone();
        let mut s = seed;
        for i in (1..shuffled.len()).rev() {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            shuffled.swap(i, (s >> 33) as usize % (i + 1));
        }
        let other = Roster::evaluate(&w.cid, &shuffled);
        prop_assert_eq!(&reference, &other);
        prop_assert_eq!(&reference.heads, &other.heads);
        // There is always a live admin.
        prop_assert!(reference.orgs.iter().any(|o| o.role == Role::Admin && o.revoked.is_none() && o.keys.iter().any(|k| k.revoked.is_none())));
        // A partial set (some entries missing) never applies an entry whose
        // dependencies are missing.
        let half: Vec<VerifiedEntry> = shuffled.iter().take(shuffled.len() / 2).cloned().collect();
        let partial = Roster::evaluate(&w.cid, &half);
        for p in &partial.pending {
            prop_assert!(!partial.rejected.iter().any(|r| &r.id == p));
        }
    }
}
