//! Any arrival order gives the same roster, and there is always an admin.

use proptest::prelude::*;

use super::*;

/// One random roster operation: (author, kind, target, deps bitmask).
fn op() -> impl Strategy<Value = (u8, u8, u8, u16)> {
    (0u8..5, 0u8..8, 0u8..5, any::<u16>())
}

fn build(ops: &[(u8, u8, u8, u16)]) -> World {
    let mut w = World::new();
    let mut ids = vec![w.cid];
    let mut invites: Vec<(u8, EntryId)> = Vec::new();
    let mut admits: Vec<(u8, EntryId)> = Vec::new();
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
            2 => match invites.iter().rev().find(|(t, _)| t == target) {
                Some((t, inv)) => {
                    let a = w.admit(*t, *inv, T0);
                    admits.push((*t, a));
                    a
                }
                None => continue,
            },
            3 => match admits.iter().rev().find(|(t, _)| t == target) {
                Some((_, a)) => {
                    let a = *a;
                    w.witness(*author, &deps, a, T0)
                }
                None => continue,
            },
            4 => w.revoke(*author, &deps, *target),
            5 => match invites.iter().find(|(t, _)| t == target) {
                Some((_, inv)) => {
                    let inv = *inv;
                    let mut d = deps.clone();
                    d.push(inv);
                    w.add(
                        *author,
                        &d,
                        T0,
                        Action::Withdraw {
                            invite: inv.to_hex(),
                        },
                    )
                }
                None => continue,
            },
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

fn shuffle<T>(v: &mut [T], mut s: u64) {
    for i in (1..v.len()).rev() {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        v.swap(i, (s >> 33) as usize % (i + 1));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn any_arrival_order_gives_the_same_roster(ops in proptest::collection::vec(op(), 1..32), seed in any::<u64>()) {
        let w = build(&ops);
        let verified = w.verified();
        let reference = Roster::evaluate(&w.cid, &verified);
        let mut shuffled = verified.clone();
        shuffle(&mut shuffled, seed);
        let other = Roster::evaluate(&w.cid, &shuffled);
        prop_assert_eq!(&reference, &other);
        prop_assert_eq!(&reference.heads, &other.heads);
        // There is always a live admin.
        prop_assert!(reference.orgs.iter().any(|o| o.role == Role::Admin && o.revoked.is_none() && o.keys.iter().any(|k| k.revoked.is_none())));
        // What is kept is closed under dependencies.
        for e in &verified {
            if reference.accepted.contains(&e.id) {
                for d in &e.deps {
                    prop_assert!(reference.accepted.contains(d));
                }
            }
        }
        // Keeping only the kept entries changes nothing (nodes store only
        // those).
        let kept: Vec<VerifiedEntry> = verified.iter().filter(|e| reference.accepted.contains(&e.id)).cloned().collect();
        let again = Roster::evaluate(&w.cid, &kept);
        prop_assert_eq!(&again.orgs, &reference.orgs);
        prop_assert_eq!(&again.accepted, &reference.accepted);
        // A partial set never applies an entry whose dependencies are
        // missing.
        let half: Vec<VerifiedEntry> = shuffled.iter().take(shuffled.len() / 2).cloned().collect();
        let partial = Roster::evaluate(&w.cid, &half);
        for p in &partial.pending {
            prop_assert!(!partial.rejected.iter().any(|r| &r.id == p));
        }
    }
}
