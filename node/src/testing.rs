//! Fixtures for the node's unit tests: libraries on in-memory stores, with
//! fixed keys and a clock the test moves.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

use r2com_protocol::identity::NodeKey;
use r2com_protocol::roster::{OrgInfo, Role};

use crate::apply::ApplyReport;
use crate::library::{Clock, Library};
use crate::store::{MemoryStore, Store};

/// A clock that stands still until the test moves it.
#[derive(Clone)]
pub struct TestClock(Arc<Mutex<DateTime<Utc>>>);

impl TestClock {
    /// A clock at an RFC 3339 time.
    pub fn at(t: &str) -> TestClock {
        let t = DateTime::parse_from_rfc3339(t)
            .expect("an RFC 3339 time")
            .with_timezone(&Utc);
        TestClock(Arc::new(Mutex::new(t)))
    }

    pub fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }

    pub fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }

    /// The library's view of this clock.
    pub fn clock(&self) -> Clock {
        let me = self.clone();
        Arc::new(move || me.now())
    }
}

/// The node key numbered `n` (a fixed seed, so tests replay).
pub fn key(n: u8) -> NodeKey {
    NodeKey::from_seed([n; 32])
}

/// A library with key `n` on a fresh in-memory store.
pub fn library(n: u8, clock: &TestClock) -> Library {
    library_on(Arc::new(MemoryStore::default()), n, clock)
}

pub fn library_on(store: Arc<dyn Store>, n: u8, clock: &TestClock) -> Library {
    Library::with_clock(store, key(n), clock.clock()).expect("library opens")
}

pub fn org(key: &str) -> OrgInfo {
    OrgInfo {
        key: key.into(),
        name: key.to_uppercase(),
        country: "FR".into(),
    }
}

/// An invite token from admin `a` for `b` as organisation `org`.
pub fn invite(
    a: &Library,
    b: &Library,
    org_key: &str,
    expires: Duration,
    clock: &TestClock,
) -> String {
    a.invite(
        org(org_key),
        &b.key().public().to_hex(),
        Role::Member,
        expires,
        Vec::new(),
        clock.now(),
    )
    .expect("invite")
    .token
}

/// `a` (lmds) founds a consortium; `b` (ips) joins with an invite, hands
/// in its admission to `a`, and gets `a`'s roster back: both are members
/// in both rosters, as after an admission over the network.
pub fn consortium(clock: &TestClock) -> (Library, Library) {
    let a = library(1, clock);
    let b = library(2, clock);
    a.consortium_create("RAN", org("lmds"), clock.now())
        .expect("create");
    let token = invite(&a, &b, "ips", Duration::days(7), clock);
    b.join(&token, clock.now()).expect("join");
    let admitted = a
        .admit_from_peer(&b.key().public().to_hex(), b.own_admission().unwrap())
        .expect("admission");
    assert!(admitted, "b is a member per a's roster");
    let (report, _) = b.apply(None, roster_of(&a), Vec::new()).expect("roster");
    assert_eq!(report.refused, 0, "{report:?}");
    assert!(b
        .roster()
        .unwrap()
        .is_live_member(&b.key().public().to_hex()));
    // What the admission put in the outboxes is not what tests look at.
    a.take_outbox();
    b.take_outbox();
    (a, b)
}

/// Every stored roster entry of a library.
pub fn roster_of(lib: &Library) -> Vec<Vec<u8>> {
    lib.get_roster(&lib.roster_ids().unwrap()).unwrap()
}

/// Every stored change envelope of a library.
pub fn envelopes_of(lib: &Library) -> Vec<Vec<u8>> {
    let all: Vec<u8> = (0..=255).collect();
    lib.get_changes(&lib.inventory(&all).unwrap()).unwrap()
}

/// Hand all of `from`'s changes to `to`, as a file would.
pub fn hand_over(from: &Library, to: &Library) -> ApplyReport {
    to.apply(None, Vec::new(), envelopes_of(from)).unwrap().0
}

/// A valid practice (JSON, as the CLI sends it).
pub fn practice(id: &str, title: &str) -> Value {
    json!({
        "id": id,
        "title": title,
        "summary": "A short summary.",
        "body": "The body of the practice.",
        "themes": ["mentoring"],
        "target_groups": ["families"],
        "countries": ["FR"],
        "languages": ["fr"],
        "organisation": "lmds",
        "evidence": "promising",
        "contact": "team@example.org",
        "status": "published",
        "created_at": "2025-03-01T10:00:00Z",
        "updated_at": "2025-03-01T10:00:00Z",
    })
}

/// A valid event (JSON, as the CLI sends it).
pub fn event(id: &str, title: &str, starts_at: &str, ends_at: &str) -> Value {
    json!({
        "id": id,
        "title": title,
        "description": "An event.",
        "starts_at": starts_at,
        "ends_at": ends_at,
        "timezone": "Europe/Paris",
        "format": "workshop",
        "organiser": "lmds",
        "language": "fr",
        "capacity": 20,
        "location": "Paris",
        "online_url": null,
        "status": "scheduled",
    })
}
