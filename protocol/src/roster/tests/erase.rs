//! Erasure entries: who may erase, what stands erased, reuse, and
//! "revocation wins" for an erasure concurrent with its author's
//! revocation.

use super::*;

const AT: &str = "2026-01-05T00:00:00Z";

fn h(n: u8) -> [u8; 32] {
    [n; 32]
}

fn erase(w: &mut World, by: u8, deps: &[EntryId], org: &str, hashes: &[u8]) -> EntryId {
    let mut hashes: Vec<String> = hashes.iter().map(|n| hex::encode(h(*n))).collect();
    hashes.sort();
    w.add(
        by,
        deps,
        AT,
        Action::Erase {
            doc: "practice/p-1".into(),
            organisation: org.into(),
            reason: "GDPR request".into(),
            hashes,
        },
    )
}

fn reuse(w: &mut World, by: u8, deps: &[EntryId]) -> EntryId {
    w.add(
        by,
        deps,
        AT,
        Action::Reuse {
            doc: "practice/p-1".into(),
        },
    )
}

#[test]
fn a_member_erases_its_own_organisations_record_and_it_stays_erased() {
    let mut w = World::new();
    let g = w.g();
    let j1 = w.join(0, &[g], 1, Role::Member);
    let j2 = w.join(0, &[j1], 2, Role::Member);
    let e = erase(&mut w, 1, &[j2], "o1", &[1, 2]);
    let r = w.roster();
    assert!(!is_rejected(&r, e), "{}", rejected_reason(&r, e));
    let er = &r.erasures["practice/p-1"];
    assert_eq!((er.by.as_str(), er.reusable), (hex_key(1).as_str(), false));
    // The erased changes, and any other change of the record, are refused;
    // other records are not concerned.
    assert!(r
        .check_not_erased("practice/p-1", &h(1), &[])
        .unwrap_err()
        .contains("this change with it"));
    assert!(r.check_not_erased("practice/p-1", &h(9), &[]).is_err());
    assert_eq!(r.check_not_erased("practice/p-2", &h(1), &[]), Ok(()));

    // A member may not erase another organisation's record; an admin may.
    let other = erase(&mut w, 2, &[e], "o1", &[3]);
    let admin = erase(&mut w, 0, &[e], "o1", &[4]);
    let r = w.roster();
    assert_eq!(
        rejected_reason(&r, other),
        "only o1 or an admin may erase its records"
    );
    assert!(!is_rejected(&r, admin));
    let hashes = &r.erasures["practice/p-1"].hashes;
    assert!(hashes.contains(&hex::encode(h(4))) && !hashes.contains(&hex::encode(h(3))));
}

#[test]
fn reuse_is_for_admins_and_keeps_the_erased_changes_refused() {
    let mut w = World::new();
    let g = w.g();
    let j1 = w.join(0, &[g], 1, Role::Member);
    let e = erase(&mut w, 1, &[j1], "o1", &[1]);
    let by_member = reuse(&mut w, 1, &[e]);
    let r = w.roster();
    assert!(is_rejected(&r, by_member));
    assert!(!r.erasures["practice/p-1"].reusable);
    let ok = reuse(&mut w, 0, &[e]);
    let r = w.roster();
    assert!(!is_rejected(&r, ok));
    assert!(r.erasures["practice/p-1"].reusable);
    assert_eq!(r.check_not_erased("practice/p-1", &h(9), &[]), Ok(()));
    assert!(r.check_not_erased("practice/p-1", &h(1), &[]).is_err());
    assert!(r.check_not_erased("practice/p-1", &h(9), &[h(1)]).is_err());
    // A second erasure the reuse did not see: erased again.
    let again = erase(&mut w, 1, &[j1], "o1", &[2]);
    let r = w.roster();
    assert!(!is_rejected(&r, again));
    assert!(!r.erasures["practice/p-1"].reusable);
}

#[test]
fn an_erasure_concurrent_with_its_authors_revocation_is_void() {
    let mut w = World::new();
    let g = w.g();
    let j1 = w.join(0, &[g], 1, Role::Member);
    let rev = w.revoke(0, &[j1], 1);
    let e = erase(&mut w, 1, &[j1], "o1", &[1]);
    let r = w.roster();
    assert!(
        rejected_reason(&r, e).starts_with("void"),
        "{}",
        rejected_reason(&r, e)
    );
    assert!(r.erasures.is_empty());
    assert_eq!(r.check_not_erased("practice/p-1", &h(1), &[]), Ok(()));
    let _ = rev;
}

#[test]
fn erasure_entries_are_canonical() {
    let w = World::new();
    let mut unsorted = vec![hex::encode(h(2)), hex::encode(h(1))];
    let entry = |hashes: Vec<String>| {
        w.signed(
            0,
            &[w.g()],
            AT,
            Action::Erase {
                doc: "practice/p-1".into(),
                organisation: "o0".into(),
                reason: "x".into(),
                hashes,
            },
        )
    };
    assert!(entry(unsorted.clone()).verify(Some(&w.cid)).is_err());
    unsorted.sort();
    assert!(entry(unsorted).verify(Some(&w.cid)).is_ok());
    assert!(entry(vec!["AB".repeat(32)]).verify(Some(&w.cid)).is_err());
}
