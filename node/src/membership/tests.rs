//! Membership on in-memory libraries, with a test clock.

use chrono::Duration;

use r2com_protocol::ids::RecordKind;
use r2com_protocol::roster::Role;

use crate::library::LibraryError;
use crate::testing::{
    consortium, envelopes_of, hand_over, invite, library, org, practice, roster_of, TestClock,
};

#[test]
fn an_invite_is_taken_up_only_before_it_expires() {
    let clock = TestClock::at("2026-01-10T09:00:00Z");
    let a = library(1, &clock);
    a.consortium_create("RAN", org("lmds"), clock.now())
        .unwrap();
    let b = library(2, &clock);
    let token = invite(&a, &b, "ips", Duration::hours(1), &clock);
    clock.advance(Duration::minutes(61));
    let e = b.join(&token, clock.now()).unwrap_err();
    assert!(e.to_string().contains("expired"), "{e}");
    assert!(b.roster().is_none(), "an expired invite joins nothing");
    // A fresh one, taken up in time.
    let token = invite(&a, &b, "ips", Duration::hours(1), &clock);
    clock.advance(Duration::minutes(59));
    let joined = b.join(&token, clock.now()).unwrap();
    assert_eq!(joined.org, "ips");
    assert!(a
        .admit_from_peer(&b.key().public().to_hex(), b.own_admission().unwrap())
        .unwrap());
}

#[test]
fn an_invite_is_for_one_key_and_only_admins_invite() {
    let clock = TestClock::at("2026-01-10T09:00:00Z");
    let (a, b) = consortium(&clock);
    let c = library(3, &clock);
    let d = library(4, &clock);
    let for_c = invite(&a, &c, "act", Duration::days(1), &clock);
    let e = d.join(&for_c, clock.now()).unwrap_err();
    assert!(e.to_string().contains("this invite is for node key"), "{e}");
    let e = b
        .invite(
            org("x"),
            &d.key().public().to_hex(),
            Role::Member,
            Duration::days(1),
            Vec::new(),
            clock.now(),
        )
        .unwrap_err();
    assert!(matches!(e, LibraryError::BadRequest(_)), "{e:?}");
    assert!(e.to_string().contains("only an admin"), "{e}");
}

/// `invite --expires` with a huge value is refused with the limit, never
/// an overflow panic on the library thread (issue 13, point 10).
#[test]
fn an_invite_that_would_expire_past_any_date_is_refused_not_a_panic() {
    let clock = TestClock::at("2026-01-10T09:00:00Z");
    let a = library(1, &clock);
    a.consortium_create("RAN", org("lmds"), clock.now())
        .unwrap();
    let b = library(2, &clock);
    let key = b.key().public().to_hex();
    for expires in [
        Duration::MAX,
        Duration::days(400_000_000),
        Duration::days(367),
    ] {
        let e = a
            .invite(
                org("ips"),
                &key,
                Role::Member,
                expires,
                Vec::new(),
                clock.now(),
            )
            .unwrap_err();
        assert!(matches!(e, LibraryError::BadRequest(_)), "{e:?}");
        assert!(e.to_string().contains("366 days"), "{e}");
    }
    let ok = a.invite(
        org("ips"),
        &key,
        Role::Member,
        Duration::days(366),
        Vec::new(),
        clock.now(),
    );
    assert!(ok.is_ok(), "{ok:?}");
}

#[test]
fn a_revoked_key_can_no_longer_write() {
    let clock = TestClock::at("2026-01-10T09:00:00Z");
    let (a, b) = consortium(&clock);
    a.revoke("ips", "left", clock.now()).unwrap();
    let (report, _) = b
        .apply(None, crate::testing::roster_of(&a), Vec::new())
        .unwrap();
    assert_eq!(report.refused, 0, "{report:?}");
    let e = b
        .add(
            r2com_protocol::ids::RecordKind::Practice,
            crate::testing::practice("p-1", "After"),
            false,
            clock.now(),
        )
        .unwrap_err();
    assert!(e.to_string().contains("revoked"), "{e}");
}

/// A store founded or joined by an r2com before roster format 2 (a
/// consortium, no format mark) is refused at open, saying what to do.
#[test]
fn a_store_with_a_roster_of_the_old_format_is_refused_with_what_to_do() {
    use crate::store::{keys, MemoryStore, Store};
    let clock = TestClock::at("2026-01-10T09:00:00Z");
    let store = std::sync::Arc::new(MemoryStore::default());
    store
        .write(vec![(
            keys::key(keys::META, b"consortium"),
            Some(hex::encode([7u8; 32]).into_bytes()),
        )])
        .unwrap();
    let e = crate::library::Library::with_clock(store, crate::testing::key(1), clock.clock())
        .err()
        .expect("an old store is refused");
    assert!(matches!(e, LibraryError::OldFormat(_)), "{e:?}");
    let text = e.to_string();
    assert!(
        text.contains("older r2com") && text.contains("r2com export"),
        "{text}"
    );
}

#[test]
fn an_admin_withdraws_an_unused_invite_and_it_admits_nobody() {
    let clock = TestClock::at("2026-01-10T09:00:00Z");
    let a = library(1, &clock);
    a.consortium_create("RAN", org("lmds"), clock.now())
        .unwrap();
    let b = library(2, &clock);
    let issued = a
        .invite(
            org("ips"),
            &b.key().public().to_hex(),
            Role::Member,
            Duration::days(1),
            Vec::new(),
            clock.now(),
        )
        .unwrap();
    let w = a.withdraw_invite(&issued.invite, clock.now()).unwrap();
    assert_eq!(w.key, b.key().public().to_hex());
    let e = a.withdraw_invite(&issued.invite, clock.now()).unwrap_err();
    assert!(e.to_string().contains("not an open invite"), "{e}");
    // The invitee, not knowing, joins and hands its admission in.
    b.join(&issued.token, clock.now()).unwrap();
    assert!(!a
        .admit_from_peer(&b.key().public().to_hex(), b.own_admission().unwrap())
        .unwrap());
    assert!(!a
        .roster()
        .unwrap()
        .is_live_member(&b.key().public().to_hex()));
}

/// Issue 13 point 9: a key that drops out of the roster without being
/// revoked (its invite was made by an admin whose concurrent revocation
/// did not see it) loses its changes on a node that had accepted them.
#[test]
fn changes_of_a_key_that_drops_out_are_retracted() {
    let clock = TestClock::at("2026-01-10T09:00:00Z");
    let a = library(1, &clock);
    a.consortium_create("RAN", org("lmds"), clock.now())
        .unwrap();
    let b = library(2, &clock);
    let c = library(3, &clock);
    let for_b = a
        .invite(
            org("ips"),
            &b.key().public().to_hex(),
            Role::Admin,
            Duration::days(1),
            Vec::new(),
            clock.now(),
        )
        .unwrap();
    b.join(&for_b.token, clock.now()).unwrap();
    assert!(a
        .admit_from_peer(&b.key().public().to_hex(), b.own_admission().unwrap())
        .unwrap());
    b.apply(None, roster_of(&a), Vec::new()).unwrap();
    // Admin B admits C; C writes; B holds it.
    let for_c = invite(&b, &c, "act", Duration::days(1), &clock);
    c.join(&for_c, clock.now()).unwrap();
    assert!(b
        .admit_from_peer(&c.key().public().to_hex(), c.own_admission().unwrap())
        .unwrap());
    c.apply(None, roster_of(&b), Vec::new()).unwrap();
    let mut by_c = practice("p-1", "By C");
    by_c["organisation"] = "act".into();
    c.add(RecordKind::Practice, by_c, false, clock.now())
        .unwrap();
    let report = hand_over(&c, &b);
    assert_eq!(report.applied, 1, "{report:?}");
    assert_eq!(b.show(RecordKind::Practice, "p-1").unwrap().id(), "p-1");
    // Meanwhile A revokes B, not having seen B's invite of C: that invite
    // is void, and C was never a member.
    a.revoke("ips", "compromised", clock.now()).unwrap();
    let (report, _) = b.apply(None, roster_of(&a), Vec::new()).unwrap();
    assert_eq!(report.refused, 0, "{report:?}");
    let roster = b.roster().unwrap();
    assert_eq!(
        roster.standing(&c.key().public().to_hex()),
        r2com_protocol::roster::Standing::Stranger
    );
    assert!(matches!(
        b.show(RecordKind::Practice, "p-1"),
        Err(LibraryError::NotFound { .. })
    ));
    assert!(envelopes_of(&b).is_empty(), "C's change is gone from B");
}

/// Issue 13 point 9: a retraction that leaves a document holding a record
/// of another id (a revoked key's change set the id back) shows no record
/// there; the node keeps running and opens again.
#[test]
fn a_retraction_that_changes_a_documents_id_does_not_wedge_the_node() {
    use automerge::{transaction::CommitOptions, transaction::Transactable, ROOT};
    use r2com_protocol::doc::{actor_for, create};
    use r2com_protocol::envelope::SignedChange;
    use r2com_protocol::ids::DocId;
    use r2com_protocol::record::Record;

    let clock = TestClock::at("2026-01-10T09:00:00Z");
    let (a, b) = consortium(&clock);
    let c = library(3, &clock);
    let for_c = invite(&a, &c, "act", Duration::days(1), &clock);
    c.join(&for_c, clock.now()).unwrap();
    assert!(a
        .admit_from_peer(&c.key().public().to_hex(), c.own_admission().unwrap())
        .unwrap());
    // The same admin key on a second node, which never gets C's change.
    let a2 = second_node_of(&a, 1, &clock);

    // B creates document practice/p-1 holding a record "p-2"; C's change
    // sets its id to "p-1": together, a valid record.
    let mut two = practice("p-2", "Two");
    two["organisation"] = "ips".into();
    let two = Record::from_value(RecordKind::Practice, two).unwrap();
    let (mut d, first) = create(b.key(), &two, 1_000).unwrap();
    d.set_actor(actor_for(c.key()));
    d.put(ROOT, "id", "p-1").unwrap();
    d.commit_with(CommitOptions::default().with_time(2_000));
    let second = d.get_last_local_change().unwrap().clone();
    let doc = DocId::new(RecordKind::Practice, "p-1").unwrap();
    let scope = a.scope();
    let envs = vec![
        SignedChange::sign(b.key(), &scope, &doc, first).encode(),
        SignedChange::sign(c.key(), &scope, &doc, second).encode(),
    ];
    let (report, _) = a.apply(None, Vec::new(), envs).unwrap();
    assert_eq!(report.applied, 2, "{report:?}");
    assert_eq!(a.show(RecordKind::Practice, "p-1").unwrap().id(), "p-1");

    // C is revoked by the admin's other node, which saw none of its
    // changes: C's change is retracted, and p-1 would hold "p-2".
    a2.revoke(&c.key().public().to_hex(), "left", clock.now())
        .unwrap();
    let (report, _) = a.apply(None, roster_of(&a2), Vec::new()).unwrap();
    assert_eq!(report.refused, 0, "{report:?}");
    assert!(matches!(
        a.show(RecordKind::Practice, "p-1"),
        Err(LibraryError::NotFound { .. })
    ));
    // It opens again (the old code failed here at every start).
    let reopened = crate::testing::library_on(a.store.clone(), 1, &clock);
    assert!(reopened
        .roster()
        .unwrap()
        .is_live_member(&b.key().public().to_hex()));
}

/// A second node with `lib`'s key (number `n`) and a copy of its store.
fn second_node_of(
    lib: &crate::library::Library,
    n: u8,
    clock: &TestClock,
) -> crate::library::Library {
    use crate::store::{MemoryStore, Store};
    let copy = std::sync::Arc::new(MemoryStore::default());
    let all: Vec<_> = lib
        .store
        .scan_prefix(&[])
        .map(|e| e.map(|(k, v)| (k, Some(v))))
        .collect::<Result<_, _>>()
        .unwrap();
    copy.write(all).unwrap();
    crate::testing::library_on(copy, n, clock)
}

/// Issue 13 point 9 (simulation seed 9): a retraction strands this node's
/// own edit (it builds on the revoked member's change). A new edit then
/// would take the stranded edit's sequence number, which the peers that
/// applied it refuse for ever: the edit is refused instead, with a reason,
/// and nothing is stored.
#[test]
fn no_edit_while_an_own_edit_waits_for_a_retracted_change() {
    use r2com_protocol::control::Edit;
    let set = |v: &str| {
        [Edit::Set {
            field: "title".into(),
            value: v.into(),
        }]
    };
    let clock = TestClock::at("2026-01-10T09:00:00Z");
    let (a, b) = consortium(&clock);
    let c = library(3, &clock);
    let for_c = invite(&a, &c, "act", Duration::days(1), &clock);
    c.join(&for_c, clock.now()).unwrap();
    assert!(a
        .admit_from_peer(&c.key().public().to_hex(), c.own_admission().unwrap())
        .unwrap());
    c.apply(None, roster_of(&a), Vec::new()).unwrap();
    b.apply(None, roster_of(&a), Vec::new()).unwrap();
    // The admin's other node, which never gets C's change.
    let a2 = second_node_of(&a, 1, &clock);

    let mut p = practice("p-1", "By B");
    p["organisation"] = "ips".into();
    b.add(RecordKind::Practice, p, false, clock.now()).unwrap();
    hand_over(&b, &c);
    c.edit(
        RecordKind::Practice,
        "p-1",
        &set("By C"),
        false,
        clock.now(),
    )
    .unwrap();
    assert_eq!(hand_over(&c, &b).applied, 1);
    b.edit(
        RecordKind::Practice,
        "p-1",
        &set("B on C"),
        false,
        clock.now(),
    )
    .unwrap();
    let before = envelopes_of(&b).len();

    a2.revoke(&c.key().public().to_hex(), "left", clock.now())
        .unwrap();
    let (report, _) = b.apply(None, roster_of(&a2), Vec::new()).unwrap();
    assert_eq!(report.refused, 0, "{report:?}");
    assert_eq!(b.show(RecordKind::Practice, "p-1").unwrap().title(), "By B");
    let e = b
        .edit(
            RecordKind::Practice,
            "p-1",
            &set("Again"),
            false,
            clock.now(),
        )
        .unwrap_err();
    assert!(matches!(e, LibraryError::BadRequest(_)), "{e:?}");
    assert!(e.to_string().contains("own changes"), "{e}");
    // Nothing was stored: B's own changes keep one sequence each.
    assert_eq!(
        envelopes_of(&b).len(),
        before - 2,
        "C's change and B's waiting one are not served"
    );
    let reopened = crate::testing::library_on(b.store.clone(), 2, &clock);
    assert_eq!(
        reopened.show(RecordKind::Practice, "p-1").unwrap().title(),
        "By B"
    );
}
