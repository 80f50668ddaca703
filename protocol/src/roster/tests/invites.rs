//! Point 3 of issue 13: invite expiry judged by when a member learnt of the
//! admission; withdrawal of unused invites.

use chrono::{DateTime, Utc};

use super::*;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().into()
}

#[test]
fn a_backdated_admission_after_expiry_is_not_admitted() {
    let mut w = World::new();
    let g = w.g();
    let i = w.invite(0, &[g], 1, Role::Member);
    // The invitee claims a time before the expiry; it hands the admission
    // in only in March.
    let a = w.admit(1, i, "2026-01-03T00:00:00Z");
    let entries = w.verified();
    let e = witness(&key(0), &w.cid, &entries, a, at("2026-03-01T00:00:00Z")).unwrap_err();
    assert!(e.contains("expired"), "{e}");
    // A witness dated after the expiry does not count either.
    let late = w.witness(0, &[i], a, "2026-03-01T00:00:00Z");
    let r = w.roster();
    assert!(rejected_reason(&r, late).contains("expired"));
    assert!(!r.is_live_member(&hex_key(1)));
    assert!(
        !r.accepted.contains(&a),
        "an unwitnessed admission is not kept"
    );
    // Before the expiry it works.
    let ok = witness(&key(0), &w.cid, &entries, a, at("2026-01-20T00:00:00Z")).unwrap();
    w.push(ok);
    assert!(w.roster().is_live_member(&hex_key(1)));
}

#[test]
fn an_admin_withdraws_an_unused_invite_and_a_concurrent_admission_dies_with_it() {
    let mut w = World::new();
    let g = w.g();
    let j1 = w.join(0, &[g], 1, Role::Admin);
    let i2 = w.invite(0, &[j1], 2, Role::Member);
    assert_eq!(w.roster().standing(&hex_key(2)), Standing::Invitee);
    let withdraw = w.add(
        1,
        &[i2],
        "2026-01-05T00:00:00Z",
        Action::Withdraw {
            invite: i2.to_hex(),
        },
    );
    let r = w.roster();
    assert!(r.accepted.contains(&withdraw));
    assert!(r.invites.is_empty());
    assert_eq!(r.standing(&hex_key(2)), Standing::Stranger);
    // Meanwhile the invitee was admitted by o0, which had not seen the
    // withdrawal: withdrawal wins.
    let a2 = w.admit(2, i2, "2026-01-05T00:00:00Z");
    let w2 = w.witness(0, &[i2], a2, "2026-01-05T00:00:00Z");
    let r = w.roster();
    assert!(!r.is_live_member(&hex_key(2)));
    assert!(rejected_reason(&r, w2).starts_with("void"));
    assert!(rejected_reason(&r, i2).starts_with("void: withdrawn"));
}

#[test]
fn a_used_invite_cannot_be_withdrawn() {
    let mut w = World::new();
    let g = w.g();
    let j1 = w.join(0, &[g], 1, Role::Member);
    let i1 = w.entries[1].id();
    let withdraw = w.add(
        0,
        &[j1],
        "2026-01-05T00:00:00Z",
        Action::Withdraw {
            invite: i1.to_hex(),
        },
    );
    let r = w.roster();
    assert_eq!(rejected_reason(&r, withdraw), "the invite was used");
    assert!(r.is_live_member(&hex_key(1)));
    // And a member's witness does not make an admission of an invite a
    // non-admin made.
    let _ = j1;
}

#[test]
fn only_an_admin_withdraws() {
    let mut w = World::new();
    let g = w.g();
    let j1 = w.join(0, &[g], 1, Role::Member);
    let i2 = w.invite(0, &[j1], 2, Role::Member);
    let withdraw = w.add(
        1,
        &[i2],
        "2026-01-05T00:00:00Z",
        Action::Withdraw {
            invite: i2.to_hex(),
        },
    );
    let r = w.roster();
    assert!(is_rejected(&r, withdraw));
    assert_eq!(r.standing(&hex_key(2)), Standing::Invitee);
}
