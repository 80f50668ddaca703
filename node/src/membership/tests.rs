//! Membership on in-memory libraries, with a test clock.

use chrono::Duration;

use r2com_protocol::roster::Role;

use crate::library::LibraryError;
use crate::testing::{consortium, invite, library, org, TestClock};

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
