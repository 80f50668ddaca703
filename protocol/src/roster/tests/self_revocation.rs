//! Rule 5a: a member may revoke its own key (key rotation), and nothing
//! else: not another key, not an organisation, and nothing it could not
//! already lose.

use super::*;

fn self_revoke(w: &mut World, who: u8, deps: &[EntryId]) -> EntryId {
    let seen = w.by(who);
    w.revoke_with(who, deps, Target::Node { key: hex_key(who) }, seen)
}

/// Founder o0 (key 0), member o1 (key 1), member o2 (key 2); then key 3
/// joins o1 as its successor key (invited by the founder, witnessed by 1).
fn rotated_member() -> (World, EntryId) {
    let mut w = World::new();
    let g = w.g();
    let j1 = w.join(0, &[g], 1, Role::Member);
    let j2 = w.join(0, &[j1], 2, Role::Member);
    let i3 = w.invite_to(0, &[j2], 3, "o1", Role::Member, EXPIRES);
    let a3 = w.admit(3, i3, "2026-01-03T00:00:00Z");
    let w3 = w.witness(1, &[i3], a3, "2026-01-03T00:00:00Z");
    (w, w3)
}

#[test]
fn a_member_revokes_its_own_key_and_its_successor_stays() {
    let (mut w, w3) = rotated_member();
    let rev = self_revoke(&mut w, 1, &[w3]);
    let r = w.roster();
    assert!(r.accepted.contains(&rev), "{:?}", r.rejected);
    assert!(!r.is_live_member(&hex_key(1)));
    assert!(r.is_live_member(&hex_key(3)));
    assert!(!r.is_admin(&hex_key(3)));
    let o1 = r.orgs.iter().find(|o| o.info.key == "o1").unwrap();
    assert!(o1.revoked.is_none(), "the organisation stays");
    let k1 = o1.keys.iter().find(|k| k.key == hex_key(1)).unwrap();
    assert_eq!(k1.revoked.as_ref().unwrap().by, hex_key(1));
    // The revoked key can do nothing afterwards, not even witness.
    let i4 = w.invite(0, &[rev], 4, Role::Member);
    let a4 = w.admit(4, i4, "2026-01-05T00:00:00Z");
    let late = w.witness(1, &[rev, i4], a4, "2026-01-05T00:00:00Z");
    let r = w.roster();
    assert_eq!(
        rejected_reason(&r, late),
        "its author was revoked in its causal past"
    );
    assert!(!r.is_live_member(&hex_key(4)));
}

#[test]
fn an_admin_rotates_its_key_and_the_successor_is_admin() {
    let mut w = World::new();
    let g = w.g();
    let j1 = w.join(0, &[g], 1, Role::Member);
    // The founder invites its successor key 5 into o0 and witnesses it.
    let i5 = w.invite_to(0, &[j1], 5, "o0", Role::Member, EXPIRES);
    let a5 = w.admit(5, i5, "2026-01-03T00:00:00Z");
    let w5 = w.witness(0, &[i5], a5, "2026-01-03T00:00:00Z");
    let rev = self_revoke(&mut w, 0, &[w5]);
    let r = w.roster();
    assert!(r.accepted.contains(&rev), "{:?}", r.rejected);
    assert!(!r.is_live_member(&hex_key(0)));
    assert!(r.is_admin(&hex_key(5)), "the organisation stays admin");
    // The successor acts as admin; the old key cannot.
    let by_new = w.invite(5, &[rev], 6, Role::Member);
    let by_old = w.invite(0, &[rev], 7, Role::Member);
    let r = w.roster();
    assert!(r.accepted.contains(&by_new), "{:?}", r.rejected);
    assert_eq!(
        rejected_reason(&r, by_old),
        "its author was revoked in its causal past"
    );
}

#[test]
fn a_member_cannot_revoke_another_key_or_an_organisation() {
    let (mut w, w3) = rotated_member();
    let other = w.revoke_with(1, &[w3], Target::Node { key: hex_key(2) }, w.by(2));
    let sibling = w.revoke_with(1, &[w3], Target::Node { key: hex_key(3) }, w.by(3));
    let own_org = w.revoke_with(1, &[w3], Target::Org { org: "o1".into() }, w.by(1));
    let founder = w.revoke_with(1, &[w3], Target::Node { key: hex_key(0) }, w.by(0));
    let r = w.roster();
    for e in [other, sibling, own_org, founder] {
        assert_eq!(rejected_reason(&r, e), "its author is not an admin");
    }
    assert!(r.is_live_member(&hex_key(1)));
    assert!(r.is_live_member(&hex_key(2)));
    assert!(r.is_live_member(&hex_key(3)));
    assert!(r.is_admin(&hex_key(0)));
}

#[test]
fn a_stranger_or_a_revoked_key_cannot_revoke_itself() {
    let (mut w, w3) = rotated_member();
    let stranger = self_revoke(&mut w, 9, &[w3]);
    let by_admin = w.revoke_with(0, &[w3], Target::Node { key: hex_key(2) }, w.by(2));
    let after = self_revoke(&mut w, 2, &[by_admin]);
    let r = w.roster();
    assert!(is_rejected(&r, stranger));
    assert!(!r.accepted.contains(&stranger));
    assert_eq!(
        rejected_reason(&r, after),
        "its author was revoked in its causal past"
    );
}

/// A self-revocation undoes nothing: entries its key made concurrently
/// with an admin's revocation stay void even if the self-revocation lists
/// them, and the admin's revocation (and its frontier) still holds.
#[test]
fn a_self_revocation_undoes_nothing() {
    let (mut w, w3) = rotated_member();
    let by_admin = w.revoke_with(0, &[w3], Target::Node { key: hex_key(1) }, w.by(1));
    // Key 1, not having seen that, witnesses someone and then revokes
    // itself listing that witness.
    let i4 = w.invite(0, &[w3], 4, Role::Member);
    let a4 = w.admit(4, i4, "2026-01-05T00:00:00Z");
    let wit = w.witness(1, &[w3, i4], a4, "2026-01-05T00:00:00Z");
    let own = self_revoke(&mut w, 1, &[wit]);
    let r = w.roster();
    assert!(
        rejected_reason(&r, wit).starts_with("void"),
        "{:?}",
        r.rejected
    );
    assert!(!r.is_live_member(&hex_key(4)));
    assert!(!r.is_live_member(&hex_key(1)));
    let k1 = r
        .orgs
        .iter()
        .flat_map(|o| &o.keys)
        .find(|k| k.key == hex_key(1))
        .unwrap();
    assert_eq!(k1.revoked.as_ref().unwrap().by, hex_key(0));
    assert!(r.accepted.contains(&by_admin));
    assert!(
        rejected_reason(&r, own).starts_with("void"),
        "{:?}",
        r.rejected
    );
}

#[test]
fn the_last_admin_key_cannot_revoke_itself() {
    let mut w = World::new();
    let g = w.g();
    let j1 = w.join(0, &[g], 1, Role::Member);
    let own = self_revoke(&mut w, 0, &[j1]);
    let r = w.roster();
    assert_eq!(
        rejected_reason(&r, own),
        "void: cannot remove the last admin"
    );
    assert!(r.is_admin(&hex_key(0)));
}
