//! Point 1 of issue 13: nobody can change an entry's id, and no id decides
//! who wins.

use super::*;

fn recase(s: &str) -> String {
    s.chars()
        .enumerate()
        .map(|(i, c)| {
            if i % 3 == 0 {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .collect()
}

/// The attack: after admin `o1` revoked `o2`, 64 copies of `o1`'s
/// admission with the signature's hex re-cased were handed in; they used
/// to get ids of their own and one sorted before the original, so `o1`'s
/// revocation lost its authority and `o2` was back.
#[test]
fn recased_copies_of_an_admission_are_refused_and_change_nothing() {
    let mut w = World::new();
    let g = w.g();
    let j1 = w.join(0, &[g], 1, Role::Admin);
    let j2 = w.join(0, &[j1], 2, Role::Member);
    let rev = w.revoke(1, &[j2], 2);
    let before = w.roster();
    assert!(!before.is_live_member(&hex_key(2)));
    assert!(before.accepted.contains(&rev));
    let admit = w
        .entries
        .iter()
        .find(|e| e.entry.author == hex_key(1) && matches!(e.entry.action, Action::Admit { .. }))
        .unwrap()
        .clone();
    let stored = w.verified();
    let mut copies = Vec::new();
    for n in 0..64u32 {
        let mut c = admit.clone();
        let mut sig: Vec<char> = c.signature.chars().collect();
        // A different casing pattern for each copy.
        for (i, ch) in sig.iter_mut().enumerate() {
            if (n >> (i % 6)) & 1 == 1 {
                *ch = ch.to_ascii_uppercase();
            }
        }
        c.signature = sig.into_iter().collect();
        assert_eq!(c.id(), admit.id(), "the signature is not part of the id");
        if c.signature != admit.signature {
            assert!(matches!(
                c.verify(Some(&w.cid)),
                Err(RosterError::Malformed(_))
            ));
        }
        copies.push(c);
    }
    let m = merge_entries(&w.cid, &stored, copies);
    assert!(m.store.is_empty());
    assert!(m.drop.is_empty());
    assert_eq!(m.invalid.len(), 63, "every re-cased copy is invalid data");
    assert_eq!(m.roster, before);
    assert!(!m.roster.is_live_member(&hex_key(2)));
}

#[test]
fn every_hex_field_must_be_lower_case_and_id_lists_sorted() {
    let mut w = World::new();
    let g = w.g();
    let j1 = w.join(0, &[g], 1, Role::Admin);
    let i = w.invite(0, &[j1], 2, Role::Member);
    let original = w.entries[w.by_id[&i]].entry.clone();
    let mut variants = Vec::new();
    let mut e = original.clone();
    e.author = e.author.to_uppercase();
    variants.push(e);
    let mut e = original.clone();
    e.deps = e.deps.iter().map(|d| recase(d)).collect();
    variants.push(e);
    let mut e = original.clone();
    e.consortium = recase(&e.consortium);
    variants.push(e);
    let mut e = original.clone();
    if let Action::Invite(inv) = &mut e.action {
        inv.key = recase(&inv.key);
    }
    variants.push(e);
    for v in variants {
        // Signed by the author itself, so only the encoding is at fault.
        let s = v.sign_unchecked(&key(0));
        assert!(
            s.verify(Some(&w.cid)).is_err(),
            "a non-canonical entry verified: {:?}",
            s.entry
        );
    }
    let mut e = original;
    e.deps = vec![j1.to_hex(), g.to_hex()];
    e.deps.sort_by(|a, b| b.cmp(a));
    let s = e.sign(&key(0));
    assert!(matches!(
        s.verify(Some(&w.cid)),
        Err(RosterError::Malformed(_))
    ));
    assert!(EntryId::from_hex(&recase(&g.to_hex())).is_err());
}

/// An invitee's two admissions of one invite (different times, so
/// different ids): whichever id sorts first, both count, and entries that
/// rely on either keep their authority.
#[test]
fn which_of_two_admissions_sorts_first_decides_nothing() {
    for grind in 0..8u32 {
        let mut w = World::new();
        let g = w.g();
        let i = w.invite(0, &[g], 1, Role::Admin);
        let a1 = w.admit(1, i, "2026-01-03T00:00:00Z");
        let a2 = w.admit(1, i, &format!("2026-01-03T00:00:{:02}Z", 10 + grind));
        let w1 = w.witness(0, &[i], a1, "2026-01-03T01:00:00Z");
        let w2 = w.witness(0, &[i], a2, "2026-01-03T01:00:00Z");
        let j2 = w.join(0, &[w1, w2], 2, Role::Member);
        // o1 acts on the second admission only.
        let rev = w.revoke(1, &[w2, j2], 2);
        let r = w.roster();
        assert!(r.accepted.contains(&rev), "grind {grind}: {:?}", r.rejected);
        assert!(!r.is_live_member(&hex_key(2)), "grind {grind}");
        assert!(r.is_admin(&hex_key(1)));
    }
}
