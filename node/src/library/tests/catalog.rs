//! The catalog (what list and search read, in memory) stays what the store
//! holds after every kind of write: local add, edit and removal, an
//! import, a change received from a member, an erasure and a roster
//! retraction. Each test builds the catalog first (a list or a search),
//! writes, then checks the answers and that the catalog (and the tally of
//! documents and changes, which the counts build) equals one built from
//! the store afresh.

use chrono::Duration;
use serde_json::json;

use r2com_protocol::control::{Edit, ListFilter};
use r2com_protocol::ids::RecordKind;
use r2com_protocol::roster::Role;

use crate::library::Library;
use crate::testing::{
    consortium, event, hand_over, invite, library, practice, roster_of, TestClock,
};

const P: RecordKind = RecordKind::Practice;
const E: RecordKind = RecordKind::Event;

fn set(field: &str, value: &str) -> Edit {
    Edit::Set {
        field: field.into(),
        value: value.into(),
    }
}

/// The ids `list` shows (summary rows, from the catalog). Like `found`,
/// it builds the tally too (the counts), so that the writes after it are
/// followed by both.
fn listed(lib: &Library, f: &ListFilter) -> Vec<String> {
    lib.counts().unwrap();
    lib.practice_rows(f)
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect()
}

fn found(lib: &Library, q: &str) -> Vec<String> {
    lib.counts().unwrap();
    lib.search(q, 100)
        .unwrap()
        .into_iter()
        .map(|h| h.id)
        .collect()
}

#[track_caller]
fn assert_agrees(lib: &Library) {
    let counts = lib.counts().unwrap();
    assert!(
        lib.catalog.agrees_with(&**lib.store()),
        "the catalog is not what the store holds"
    );
    assert!(
        lib.tally.agrees_with(&**lib.store()),
        "the tally is not what the store holds"
    );
    // The counts (read from the documents' states and the hash index) are
    // what counting the records and the changes themselves gives.
    let count = |prefix: &[u8]| lib.store().scan_keys(prefix).count() as u64;
    let counted = r2com_protocol::control::Counts {
        practices: count(b"r\0practice/"),
        events: count(b"r\0event/"),
        documents: count(b"d\0"),
        changes: count(b"c\0"),
    };
    assert_eq!(counts, counted);
}

#[test]
fn follows_local_adds_edits_and_removals() {
    let clock = TestClock::at("2026-01-10T09:00:00Z");
    let lib = library(1, &clock);
    lib.add(P, practice("p-1", "Mentoring"), false, clock.now())
        .unwrap();
    assert_eq!(found(&lib, "mentoring"), ["p-1"]);
    assert_agrees(&lib);

    let mut p2 = practice("p-2", "Family support");
    p2["status"] = json!("draft");
    lib.add(P, p2, false, clock.now()).unwrap();
    lib.add(
        E,
        event(
            "e-1",
            "Mentoring day",
            "2026-03-10T10:00:00",
            "2026-03-10T12:00:00",
        ),
        false,
        clock.now(),
    )
    .unwrap();
    assert_agrees(&lib);
    assert_eq!(listed(&lib, &ListFilter::default()), ["p-1", "p-2"]);
    let drafts = ListFilter {
        status: Some("draft".into()),
        ..Default::default()
    };
    assert_eq!(listed(&lib, &drafts), ["p-2"]);
    // Equal scores rank in key order: events first.
    assert_eq!(found(&lib, "mentoring"), ["e-1", "p-1"]);

    // An edit of the title, the status and the body.
    lib.edit(
        P,
        "p-1",
        &[
            set("title", "Peer coaching"),
            set("status", "draft"),
            set("body", "Réinsertion by peers."),
        ],
        false,
        clock.now(),
    )
    .unwrap();
    assert_agrees(&lib);
    assert_eq!(listed(&lib, &drafts), ["p-1", "p-2"]);
    assert_eq!(found(&lib, "mentoring"), ["e-1"]);
    let hits = lib.search("REINSERTION", 10).unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].title, "Peer coaching");
    assert_eq!(hits[0].snippet, "Réinsertion by peers.");

    lib.remove(P, "p-1", clock.now()).unwrap();
    lib.remove(E, "e-1", clock.now()).unwrap();
    assert_agrees(&lib);
    assert_eq!(listed(&lib, &ListFilter::default()), ["p-2"]);
    assert!(found(&lib, "REINSERTION").is_empty());
    assert!(lib.event_rows(&ListFilter::default()).unwrap().is_empty());
}

#[test]
fn follows_an_import() {
    let clock = TestClock::at("2026-01-10T09:00:00Z");
    let lib = library(1, &clock);
    lib.add(P, practice("p-1", "Mentoring"), false, clock.now())
        .unwrap();
    assert_eq!(listed(&lib, &ListFilter::default()), ["p-1"]);
    let mut renamed = practice("p-1", "Mentoring, revised");
    renamed["themes"] = json!(["screening"]);
    let data = json!({
        "practices": [renamed, practice("p-2", "Family support")],
        "events": [event("e-1", "Workshop", "2026-03-10T10:00:00", "2026-03-10T12:00:00")],
    });
    lib.import(data, clock.now(), &|_, _| {}).unwrap();
    assert_agrees(&lib);
    let screening = ListFilter {
        theme: Some("Screening".into()),
        ..Default::default()
    };
    assert_eq!(listed(&lib, &screening), ["p-1"]);
    assert_eq!(found(&lib, "revised"), ["p-1"]);
    assert_eq!(lib.event_rows(&ListFilter::default()).unwrap().len(), 1);
}

#[test]
fn follows_changes_from_a_member_and_an_erasure() {
    let clock = TestClock::at("2026-01-10T09:00:00Z");
    let (a, b) = consortium(&clock);
    a.add(P, practice("p-1", "Mentoring"), false, clock.now())
        .unwrap();
    // B has built its catalog before the change arrives.
    assert!(found(&b, "mentoring").is_empty());
    hand_over(&a, &b);
    assert_agrees(&b);
    assert_eq!(found(&b, "mentoring"), ["p-1"]);
    a.edit(P, "p-1", &[set("title", "Coaching")], false, clock.now())
        .unwrap();
    hand_over(&a, &b);
    assert_agrees(&b);
    assert!(found(&b, "mentoring").is_empty());
    assert_eq!(found(&b, "coaching"), ["p-1"]);

    // A (its organisation's member) erases it: gone from both catalogs.
    assert_eq!(found(&a, "coaching"), ["p-1"]);
    a.erase("practice/p-1", "personal data", clock.now())
        .unwrap();
    assert_agrees(&a);
    assert!(found(&a, "coaching").is_empty());
    assert!(listed(&a, &ListFilter::default()).is_empty());
}

/// A change by a key the roster turns out never to have admitted is
/// retracted when that roster arrives: its record leaves the catalog.
#[test]
fn follows_a_retraction() {
    let clock = TestClock::at("2026-01-10T09:00:00Z");
    let a = library(1, &clock);
    let b = library(2, &clock);
    let c = library(3, &clock);
    a.consortium_create("RAN", crate::testing::org("lmds"), clock.now())
        .unwrap();
    // A admits B as an admin; B admits C; C writes; B holds it.
    let for_b = a
        .invite(
            crate::testing::org("ips"),
            &b.key().public().to_hex(),
            Role::Admin,
            Duration::days(1),
            Vec::new(),
            clock.now(),
        )
        .unwrap()
        .token;
    b.join(&for_b, clock.now()).unwrap();
    assert!(a
        .admit_from_peer(&b.key().public().to_hex(), b.own_admission().unwrap())
        .unwrap());
    b.apply(None, roster_of(&a), Vec::new()).unwrap();
    let for_c = invite(&b, &c, "act", Duration::days(1), &clock);
    c.join(&for_c, clock.now()).unwrap();
    assert!(b
        .admit_from_peer(&c.key().public().to_hex(), c.own_admission().unwrap())
        .unwrap());
    c.apply(None, roster_of(&b), Vec::new()).unwrap();
    let mut by_c = practice("p-1", "By C");
    by_c["organisation"] = "act".into();
    c.add(P, by_c, false, clock.now()).unwrap();
    hand_over(&c, &b);
    assert_eq!(listed(&b, &ListFilter::default()), ["p-1"]);
    assert_eq!(found(&b, "by c"), ["p-1"]);
    // A revokes B before it saw B's invite of C: C was never a member.
    a.revoke("ips", "compromised", clock.now()).unwrap();
    b.apply(None, roster_of(&a), Vec::new()).unwrap();
    assert_agrees(&b);
    assert!(listed(&b, &ListFilter::default()).is_empty());
    assert!(found(&b, "by c").is_empty());
}

/// The web app's search page ranks as `search` does, keeps the practices
/// passing the filter, and gives snippets to the page's hits only.
#[test]
fn a_page_of_practice_hits_ranks_as_search_does() {
    let clock = TestClock::at("2026-01-10T09:00:00Z");
    let lib = library(1, &clock);
    for i in 0..7 {
        let title = vec!["Mentoring"; i % 3 + 1].join(" and ");
        let mut p = practice(&format!("p-{i}"), &title);
        p["summary"] = json!(format!("Mentoring number {i}."));
        p["status"] = json!(if i % 2 == 0 { "draft" } else { "published" });
        lib.add(P, p, false, clock.now()).unwrap();
    }
    lib.add(
        E,
        event(
            "e-1",
            "Mentoring",
            "2026-03-10T10:00:00",
            "2026-03-10T12:00:00",
        ),
        false,
        clock.now(),
    )
    .unwrap();
    let all: Vec<String> = lib
        .search("mentoring", 1000)
        .unwrap()
        .into_iter()
        .filter(|h| h.kind == P)
        .map(|h| h.id)
        .collect();
    let page = lib
        .search_practices("mentoring", &ListFilter::default(), 1000, 2, 3)
        .unwrap();
    assert_eq!(page.total, 7);
    let ids: Vec<&str> = page.hits.iter().map(|(h, _)| h.id.as_str()).collect();
    assert_eq!(ids, all[2..5]);
    for (h, row) in &page.hits {
        assert_eq!(h.id, row.id);
        assert_eq!(h.snippet, format!("Mentoring number {}.", &h.id[2..]));
    }
    let drafts = ListFilter {
        status: Some("draft".into()),
        ..Default::default()
    };
    let page = lib
        .search_practices("mentoring", &drafts, 1000, 0, 50)
        .unwrap();
    assert_eq!(page.total, 4);
    assert!(page
        .hits
        .iter()
        .all(|(h, _)| h.id[2..].parse::<u32>().unwrap() % 2 == 0));
}

/// The store keeps no search text: the catalog folds each record's title,
/// summary and body itself, into what the store used to keep
/// ([`Record::search_text`] of the record as written).
#[test]
fn search_texts_are_derived_from_the_records_not_stored() {
    use crate::store::keys;
    use r2com_protocol::ids::DocId;

    let clock = TestClock::at("2026-01-10T09:00:00Z");
    let lib = library(1, &clock);
    let mut p = practice("p-1", "Médiation FAMILIALE");
    p["body"] = json!("Réinsertion, confiance; Доверие.");
    lib.add(P, p, false, clock.now()).unwrap();
    lib.add(
        E,
        event(
            "e-1",
            "Atelier été",
            "2026-03-10T10:00:00",
            "2026-03-10T12:00:00",
        ),
        false,
        clock.now(),
    )
    .unwrap();
    assert_eq!(found(&lib, "familiale reinsertion"), ["p-1"]);
    assert_eq!(found(&lib, "доверие"), ["p-1"]);
    assert_eq!(found(&lib, "ETE"), ["e-1"]);
    let texts: Vec<(String, String)> = lib
        .catalog
        .read(&**lib.store(), |c| c.texts().to_vec())
        .unwrap();
    assert_eq!(texts.len(), 2);
    for (doc, text) in texts {
        let record = lib.record(&DocId::parse(&doc).unwrap()).unwrap().unwrap();
        assert_eq!(text, record.search_text(), "{doc}");
    }
    assert!(lib
        .store()
        .scan_keys(&[keys::SEARCH_BEFORE, 0])
        .next()
        .is_none());
}
