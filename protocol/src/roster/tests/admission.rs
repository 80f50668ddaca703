//! Handing in admissions and merging received entries: what a node
//! stores and relays (issue 13 point 5, issue 12's shared functions).

use chrono::{DateTime, Utc};

use super::*;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().into()
}

#[test]
fn a_member_witnesses_a_valid_admission_and_refuses_others() {
    let mut w = World::new();
    let g = w.g();
    let j1 = w.join(0, &[g], 1, Role::Member);
    let stored = w.verified();
    let i2 = w.signed(
        0,
        &[j1],
        T0,
        Action::Invite(Invite {
            org: org("o2"),
            key: hex_key(2),
            role: Role::Member,
            expires_at: EXPIRES.into(),
            addrs: vec![],
        }),
    );
    let a2 = w.signed(
        2,
        &[i2.id()],
        T0,
        Action::Admit {
            invite: i2.id().to_hex(),
        },
    );
    // Member 1 (not the inviter) gets the invite and admission from the
    // invitee, before the inviter's entries reached it: it still knows the
    // invite's history (j1), so it witnesses.
    let out = admit(
        &key(1),
        &w.cid,
        &stored,
        &hex_key(2),
        vec![i2.clone(), a2.clone()],
        at("2026-01-10T00:00:00Z"),
    )
    .unwrap();
    let Admission::Admitted { store, roster } = out else {
        panic!("{out:?}")
    };
    assert_eq!(store.len(), 3);
    assert!(roster.is_live_member(&hex_key(2)));
    // After the expiry: refused, nothing to store.
    let out = admit(
        &key(1),
        &w.cid,
        &stored,
        &hex_key(2),
        vec![i2.clone(), a2.clone()],
        at("2026-03-01T00:00:00Z"),
    )
    .unwrap();
    assert!(
        matches!(out, Admission::Refused(ref why) if why.contains("expired")),
        "{out:?}"
    );
    // Entries that are not this peer's admission: the peer misbehaves.
    assert!(admit(
        &key(1),
        &w.cid,
        &stored,
        &hex_key(3),
        vec![i2.clone(), a2.clone()],
        at("2026-01-10T00:00:00Z")
    )
    .is_err());
    // A stranger's own "invite" for itself.
    let fake = w.signed(
        5,
        &[j1],
        T0,
        Action::Invite(Invite {
            org: org("o5"),
            key: hex_key(5),
            role: Role::Admin,
            expires_at: EXPIRES.into(),
            addrs: vec![],
        }),
    );
    let fake_admit = w.signed(
        5,
        &[fake.id()],
        T0,
        Action::Admit {
            invite: fake.id().to_hex(),
        },
    );
    let out = admit(
        &key(1),
        &w.cid,
        &stored,
        &hex_key(5),
        vec![fake, fake_admit],
        at("2026-01-10T00:00:00Z"),
    )
    .unwrap();
    assert!(matches!(out, Admission::Refused(_)), "{out:?}");
}

#[test]
fn merging_stores_only_what_the_rules_keep() {
    let mut w = World::new();
    let g = w.g();
    let j1 = w.join(0, &[g], 1, Role::Member);
    let stored = w.verified();
    // A member's invite (refused), an entry waiting for a dependency, an
    // unwitnessed admission, a stranger's entry, an admin's valid invite,
    // and a forged one.
    let by_member = w.signed(
        1,
        &[j1],
        T0,
        Action::Invite(Invite {
            org: org("o3"),
            key: hex_key(3),
            role: Role::Member,
            expires_at: EXPIRES.into(),
            addrs: vec![],
        }),
    );
    let missing = w.signed(
        0,
        &[EntryId([9; 32])],
        T0,
        Action::SetRole {
            org: "o1".into(),
            role: Role::Admin,
        },
    );
    let valid = w.signed(
        0,
        &[j1],
        T0,
        Action::Invite(Invite {
            org: org("o4"),
            key: hex_key(4),
            role: Role::Member,
            expires_at: EXPIRES.into(),
            addrs: vec![],
        }),
    );
    let unwitnessed = w.signed(
        4,
        &[valid.id()],
        T0,
        Action::Admit {
            invite: valid.id().to_hex(),
        },
    );
    let stranger = w.signed(
        6,
        &[g],
        T0,
        Action::SetRole {
            org: "o6".into(),
            role: Role::Admin,
        },
    );
    let mut forged = valid.clone();
    forged.entry.issued_at = "2026-01-09T00:00:00Z".into();
    let m = merge_entries(
        &w.cid,
        &stored,
        vec![
            by_member,
            missing,
            valid.clone(),
            unwitnessed,
            stranger,
            forged,
        ],
    );
    assert_eq!(m.store, vec![valid]);
    assert!(m.pending);
    assert_eq!(m.invalid.len(), 1, "{:?}", m.invalid);
    assert_eq!(m.refused.len(), 3, "{:?}", m.refused);
    assert!(m.drop.is_empty());
}
