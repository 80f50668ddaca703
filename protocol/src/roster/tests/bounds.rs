//! Point 5 of issue 13: junk is refused cheaply, the roster is bounded,
//! and evaluation stays O(n log n) in what is handed in.

use super::*;

/// A chain of `n` entries by `author`, each depending on the one before.
fn chain(
    w: &World,
    author: u8,
    from: EntryId,
    n: usize,
    action: impl Fn(usize) -> Action,
) -> Vec<SignedEntry> {
    let mut out = Vec::with_capacity(n);
    let mut prev = from;
    for i in 0..n {
        let e = w.signed(author, &[prev], T0, action(i));
        prev = e.id();
        out.push(e);
    }
    out
}

#[test]
fn fifty_thousand_junk_entries_are_refused_and_the_members_keep_going() {
    let mut w = World::new();
    let g = w.g();
    let j1 = w.join(0, &[g], 1, Role::Member);
    let i2 = w.invite(0, &[j1], 2, Role::Member);
    let stored = w.verified();
    // A stranger's chain, a member's chain of invites (it is no admin),
    // and an invitee's admissions nobody witnessed.
    let mut junk = chain(&w, 6, g, 20_000, |i| Action::SetRole {
        org: format!("x{i}"),
        role: Role::Admin,
    });
    junk.extend(chain(&w, 1, j1, 20_000, |i| {
        Action::Invite(Invite {
            org: org(&format!("y{i}")),
            key: hex_key(3),
            role: Role::Admin,
            expires_at: EXPIRES.into(),
            addrs: vec![],
        })
    }));
    for n in 0..10_000 {
        junk.push(w.signed(
            2,
            &[i2],
            &format!("2026-01-{:02}T00:00:00Z", 1 + n % 28),
            Action::Admit {
                invite: i2.to_hex(),
            },
        ));
        // Different ids: different reasons to exist.
        if let Some(e) = junk.last_mut() {
            e.entry.issued_at = format!(
                "2026-01-01T{:02}:{:02}:{:02}Z",
                n / 3600,
                n / 60 % 60,
                n % 60
            );
            *e = e.entry.clone().sign(&key(2));
        }
    }
    assert_eq!(junk.len(), 50_000);
    let started = std::time::Instant::now();
    let m = merge_entries(&w.cid, &stored, junk);
    eprintln!("merged 50,000 junk entries in {:?}", started.elapsed());
    assert!(m.store.is_empty(), "{} junk entries kept", m.store.len());
    assert!(m.invalid.is_empty());
    assert_eq!(m.refused.len(), 50_000);
    assert!(m.drop.is_empty());
    // The members still act.
    let w2 = {
        let a2 = w.admit(2, i2, T0);
        w.witness(1, &[j1, i2], a2, T0)
    };
    let r = w.roster();
    assert!(r.accepted.contains(&w2));
    assert!(r.is_live_member(&hex_key(2)));
}

#[test]
fn one_key_signs_at_most_its_bound_and_the_rest_is_refused() {
    let mut w = World::new();
    let g = w.g();
    let j1 = w.join(0, &[g], 1, Role::Admin);
    let j2 = w.join(0, &[j1], 2, Role::Member);
    // A (bad) admin toggles o2's role 600 times.
    let toggles = chain(&w, 1, j2, 600, |i| Action::SetRole {
        org: "o2".into(),
        role: if i % 2 == 0 {
            Role::Admin
        } else {
            Role::Member
        },
    });
    let last = toggles.last().unwrap().id();
    for e in toggles {
        w.push(e);
    }
    // The founder still acts, after all of it.
    let rev = w.revoke(0, &[last], 1);
    let r = w.roster();
    let by_1 = r
        .accepted
        .iter()
        .filter(|id| w.entries[w.by_id[id]].entry.author == hex_key(1))
        .count();
    assert_eq!(
        by_1, MAX_ENTRIES_PER_AUTHOR,
        "its admit and 511 of its entries"
    );
    assert!(
        rejected_reason(&r, last).contains("bound per key")
            || rejected_reason(&r, last).contains("refused")
    );
    // The founder's revocation depends on refused entries: refused too,
    // so an admin's work must build on kept entries (nodes only ever hold
    // those, and build on them).
    assert!(is_rejected(&r, rev));
}

#[test]
fn a_roster_holds_at_most_its_bound() {
    let mut w = World::new();
    let g = w.g();
    let mut prev = g;
    // Nine admins, each with 500 entries.
    for k in 1..=9u8 {
        prev = w.join(0, &[prev], k, Role::Admin);
    }
    let mut all = w.verified();
    for k in 1..=9u8 {
        let mut p = prev;
        for i in 0..500u32 {
            let e = w.signed(
                k,
                &[p],
                T0,
                Action::Invite(Invite {
                    org: org(&format!("n{k}-{i}")),
                    key: hex_key(100 + (i % 100) as u8),
                    role: Role::Member,
                    expires_at: EXPIRES.into(),
                    addrs: vec![],
                }),
            );
            p = e.id();
            all.push(e.verify(Some(&w.cid)).unwrap());
        }
    }
    let r = Roster::evaluate(&w.cid, &all);
    assert_eq!(r.accepted.len(), MAX_ROSTER_ENTRIES);
    // The first beyond the bound in each chain is refused for it, the rest
    // of the chain for depending on a refused entry.
    assert!(r
        .rejected
        .iter()
        .any(|x| x.reason.contains("roster is full")));
    assert_eq!(r.rejected.len(), all.len() - MAX_ROSTER_ENTRIES);
}
