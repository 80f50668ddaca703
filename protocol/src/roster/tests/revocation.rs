//! Point 2 of issue 13: a revoked admin cannot undo its revocation;
//! concurrent revocations are settled by seniority, never by ids.

use super::*;

/// Founder o0, admin o1 (invited by o0), member o2.
fn three() -> (World, EntryId, EntryId) {
    let mut w = World::new();
    let g = w.g();
    let j1 = w.join(0, &[g], 1, Role::Admin);
    let j2 = w.join(0, &[j1], 2, Role::Member);
    (w, j1, j2)
}

#[test]
fn a_revoked_admin_cannot_revoke_its_revoker_with_old_dependencies() {
    let (mut w, j1, j2) = three();
    let rev = w.revoke(0, &[j2], 1);
    // o1 saw its revocation, and answers with entries that pretend not to
    // have: old dependencies, times before, many variants (ground ids).
    let mut counters = Vec::new();
    for n in 0..16 {
        let seen = w.by(0);
        counters.push(w.add(
            1,
            &[j1],
            &format!("2026-01-01T00:00:{n:02}Z"),
            Action::Revoke {
                target: Target::Org { org: "o0".into() },
                reason: format!("grind {n}"),
                seen,
                frontier: vec![],
            },
        ));
    }
    // And one that admits it saw the revocation.
    let after = w.revoke(1, &[rev], 0);
    let r = w.roster();
    assert!(r.accepted.contains(&rev));
    assert!(!r.is_live_member(&hex_key(1)));
    assert!(r.is_admin(&hex_key(0)));
    for c in counters {
        assert!(
            rejected_reason(&r, c).starts_with("void: its author was revoked"),
            "{}",
            rejected_reason(&r, c)
        );
        assert!(r.accepted.contains(&c), "void entries are kept");
    }
    assert_eq!(
        rejected_reason(&r, after),
        "its author was revoked in its causal past"
    );
    assert!(!r.accepted.contains(&after), "refused entries are not kept");
}

#[test]
fn of_two_admins_revoking_each_other_the_senior_holds() {
    // o1 is invited by the founder at depth 1; o3 by o1, later: junior.
    let (mut w, j1, j2) = three();
    let j3 = w.join(1, &[j2], 3, Role::Admin);
    // Each revokes the other concurrently (neither saw the other's).
    let seen_3 = w.by(3);
    let by_junior = w.revoke(3, &[j3], 1);
    let by_senior = w.revoke_with(1, &[j3], Target::Org { org: "o3".into() }, seen_3);
    let r = w.roster();
    assert!(r.accepted.contains(&by_senior));
    assert!(rejected_reason(&r, by_junior).starts_with("void"));
    assert!(r.is_admin(&hex_key(1)));
    assert!(!r.is_live_member(&hex_key(3)));
    let _ = j1;
}

#[test]
fn equally_senior_admins_revoking_each_other_both_go() {
    let mut w = World::new();
    let g = w.g();
    // o1 and o2 invited by the founder at the same depth.
    let i1 = w.invite(0, &[g], 1, Role::Admin);
    let i2 = w.invite(0, &[g], 2, Role::Admin);
    let a1 = w.admit(1, i1, T0);
    let a2 = w.admit(2, i2, T0);
    let w1 = w.witness(0, &[i1, i2], a1, T0);
    let w2 = w.witness(0, &[i1, i2], a2, T0);
    let r12 = w.revoke(1, &[w1, w2], 2);
    let r21 = w.revoke(2, &[w1, w2], 1);
    let r = w.roster();
    assert!(!r.is_live_member(&hex_key(1)));
    assert!(!r.is_live_member(&hex_key(2)));
    assert!(r.is_admin(&hex_key(0)));
    assert!(r.accepted.contains(&r12) && r.accepted.contains(&r21));
}

#[test]
fn the_last_admin_cannot_be_removed_even_by_mutual_revocation() {
    let mut w = World::new();
    let g = w.g();
    let self_rev = w.revoke(0, &[g], 0);
    let r = w.roster();
    assert_eq!(
        rejected_reason(&r, self_rev),
        "void: cannot remove the last admin"
    );
    let mut w = World::new();
    let g = w.g();
    let j1 = w.join(0, &[g], 1, Role::Admin);
    w.revoke(0, &[j1], 1);
    w.revoke(1, &[j1], 0);
    let r = w.roster();
    let admins: Vec<_> = r
        .orgs
        .iter()
        .filter(|o| o.role == Role::Admin && o.revoked.is_none())
        .collect();
    assert_eq!(admins.len(), 1, "{:#?}", r.orgs);
    assert!(r.is_admin(&hex_key(0)), "the founder is the senior one");
}

#[test]
fn unlisted_and_unused_invites_of_a_revoked_admin_are_void() {
    let (mut w, _j1, j2) = three();
    // Before its revocation o1 invites 4 (used in the revocation's past)
    // and 5 (never used); concurrently with it, 6.
    let j4 = w.join(1, &[j2], 4, Role::Member);
    let i5 = w.invite(1, &[j4], 5, Role::Member);
    let i6 = w.invite(1, &[i5], 6, Role::Member);
    let seen: Vec<String> = {
        let mut s = w.by(1);
        s.retain(|id| *id != i6.to_hex());
        s
    };
    let rev = w.revoke_with(0, &[i5], Target::Org { org: "o1".into() }, seen);
    // 5 and 6 hand in their admissions afterwards; o0 witnesses them.
    let a5 = w.admit(5, i5, "2026-01-06T00:00:00Z");
    let w5 = w.witness(0, &[rev], a5, "2026-01-06T00:00:00Z");
    let a6 = w.admit(6, i6, "2026-01-06T00:00:00Z");
    let w6 = w.witness(0, &[rev, i6], a6, "2026-01-06T00:00:00Z");
    let r = w.roster();
    assert!(r.is_live_member(&hex_key(4)), "used before the revocation");
    assert!(!r.is_live_member(&hex_key(5)));
    assert!(!r.is_live_member(&hex_key(6)));
    assert!(rejected_reason(&r, i5).contains("unused at its revocation"));
    assert!(rejected_reason(&r, i6).starts_with("void"));
    assert!(rejected_reason(&r, w5).starts_with("void"));
    assert!(rejected_reason(&r, w6).starts_with("void"));
    assert!(r.invites.is_empty());
}

#[test]
fn demotion_wins_over_concurrent_admin_acts_of_the_demoted() {
    let (mut w, j1, j2) = three();
    let demote = w.add(
        0,
        &[j2],
        "2026-01-05T00:00:00Z",
        Action::SetRole {
            org: "o1".into(),
            role: Role::Member,
        },
    );
    let concurrent = w.invite(1, &[j2], 5, Role::Member);
    let after = w.invite(1, &[demote], 6, Role::Member);
    let promote = w.add(
        0,
        &[demote],
        "2026-01-06T00:00:00Z",
        Action::SetRole {
            org: "o1".into(),
            role: Role::Admin,
        },
    );
    let after_promotion = w.invite(1, &[promote], 7, Role::Member);
    let r = w.roster();
    assert!(rejected_reason(&r, concurrent).starts_with("void: its organisation was demoted"));
    assert_eq!(
        rejected_reason(&r, after),
        "its organisation was demoted in its causal past"
    );
    assert!(r.accepted.contains(&after_promotion), "{:?}", r.rejected);
    assert!(r.is_admin(&hex_key(1)));
    let _ = j1;
}

#[test]
fn revocation_wins_over_a_concurrent_promotion() {
    let (mut w, j1, j2) = three();
    let promote = w.add(
        0,
        &[j2],
        "2026-01-05T00:00:00Z",
        Action::SetRole {
            org: "o2".into(),
            role: Role::Admin,
        },
    );
    let rev = w.revoke(1, &[j2], 2);
    let r = w.roster();
    assert!(!r.is_live_member(&hex_key(2)));
    assert!(r.accepted.contains(&promote) && r.accepted.contains(&rev));
    let _ = j1;
}

/// An entry is judged after the ones in its causal past, whatever its
/// author's seniority: admin o1 demotes itself; the founder, having seen
/// that, revokes its own organisation. The founder is senior, but its
/// revocation came after the demotion and would leave no admin.
#[test]
fn a_revocation_is_judged_after_the_demotion_it_saw() {
    let (mut w, j1, _j2) = three();
    let demote = w.add(
        1,
        &[j1],
        "2026-01-04T00:00:00Z",
        Action::SetRole {
            org: "o1".into(),
            role: Role::Member,
        },
    );
    let rev = w.revoke(0, &[demote], 0);
    let r = w.roster();
    assert!(!is_rejected(&r, demote), "{}", rejected_reason(&r, demote));
    assert_eq!(
        rejected_reason(&r, rev),
        "void: cannot remove the last admin"
    );
    assert!(r.is_admin(&hex_key(0)));
    assert!(!r.is_admin(&hex_key(1)));
}
