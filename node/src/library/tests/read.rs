use serde_json::json;

use r2com_protocol::control::ListFilter;
use r2com_protocol::ids::RecordKind;
use r2com_protocol::record::Record;

use crate::library::LibraryError;
use crate::store::keys;
use crate::testing::{event, library, practice, TestClock};

const P: RecordKind = RecordKind::Practice;
const E: RecordKind = RecordKind::Event;

fn ids(rows: &[Record]) -> Vec<&str> {
    rows.iter().map(Record::id).collect()
}

#[test]
fn list_filters_practices_and_events() {
    let clock = TestClock::at("2026-01-10T09:00:00Z");
    let lib = library(1, &clock);
    let mut p2 = practice("p-2", "Two");
    p2["organisation"] = json!("ips");
    p2["themes"] = json!(["Risk Screening"]);
    p2["languages"] = json!(["pt"]);
    p2["countries"] = json!(["PT"]);
    p2["status"] = json!("draft");
    p2["evidence"] = json!("evaluated");
    for p in [practice("p-1", "One"), p2] {
        lib.add(P, p, false, clock.now()).unwrap();
    }
    let all = lib.list(P, &ListFilter::default()).unwrap();
    assert_eq!(ids(&all), ["p-1", "p-2"]);
    // Whole records (the API makes summary rows of them unless `full`).
    let Record::Practice(first) = &all[0] else {
        panic!("a practice list holds practices")
    };
    assert_eq!(first.body, "The body of the practice.");
    let only = |f: ListFilter| ids(&lib.list(P, &f).unwrap()).join(",");
    let f = ListFilter::default;
    assert_eq!(
        only(ListFilter {
            organisation: Some("IPS".into()),
            ..f()
        }),
        "p-2"
    );
    assert_eq!(
        only(ListFilter {
            theme: Some("risk screening".into()),
            ..f()
        }),
        "p-2"
    );
    assert_eq!(
        only(ListFilter {
            theme: Some("mentoring".into()),
            ..f()
        }),
        "p-1"
    );
    assert_eq!(
        only(ListFilter {
            status: Some("draft".into()),
            ..f()
        }),
        "p-2"
    );
    assert_eq!(
        only(ListFilter {
            language: Some("fr".into()),
            ..f()
        }),
        "p-1"
    );
    assert_eq!(
        only(ListFilter {
            country: Some("pt".into()),
            ..f()
        }),
        "p-2"
    );
    assert_eq!(
        only(ListFilter {
            evidence: Some("promising".into()),
            ..f()
        }),
        "p-1"
    );
    assert_eq!(
        only(ListFilter {
            organisation: Some("ips".into()),
            status: Some("published".into()),
            ..f()
        }),
        ""
    );

    let mut e2 = event("e-2", "Later", "2026-04-01T10:00:00", "2026-04-01T11:00:00");
    e2["format"] = json!("webinar");
    e2["location"] = json!(null);
    e2["online_url"] = json!("https://example.org/meet");
    lib.add(
        E,
        event("e-1", "Soon", "2026-03-10T10:00:00", "2026-03-10T12:00:00"),
        false,
        clock.now(),
    )
    .unwrap();
    lib.add(E, e2, false, clock.now()).unwrap();
    let only = |f: ListFilter| ids(&lib.list(E, &f).unwrap()).join(",");
    assert_eq!(only(f()), "e-1,e-2");
    assert_eq!(
        only(ListFilter {
            from: Some("2026-03-11".into()),
            ..f()
        }),
        "e-2"
    );
    assert_eq!(
        only(ListFilter {
            to: Some("2026-03-10".into()),
            ..f()
        }),
        "e-1"
    );
    assert_eq!(
        only(ListFilter {
            format: Some("webinar".into()),
            ..f()
        }),
        "e-2"
    );
}

#[test]
fn search_ranks_title_matches_first_and_needs_every_word() {
    let clock = TestClock::at("2026-01-10T09:00:00Z");
    let lib = library(1, &clock);
    let mut in_body = practice("p-1", "Family support");
    in_body["body"] = json!("Work with families. Mentoring by peers helps.");
    let in_title = practice("p-2", "Mentoring for released offenders");
    let mut nowhere = practice("p-3", "Screening");
    nowhere["body"] = json!("Nothing related.");
    for p in [in_body, in_title, nowhere] {
        lib.add(P, p, false, clock.now()).unwrap();
    }
    let hits = lib.search("mentoring", 10).unwrap();
    let order: Vec<&str> = hits.iter().map(|h| h.id.as_str()).collect();
    assert_eq!(order, ["p-2", "p-1"]);
    assert!(hits[0].score > hits[1].score);
    assert_eq!(hits[1].snippet, "Mentoring by peers helps.");
    // Every word must occur.
    let hits = lib.search("mentoring families", 10).unwrap();
    assert_eq!(
        hits.iter().map(|h| h.id.as_str()).collect::<Vec<_>>(),
        ["p-1"]
    );
    assert_eq!(lib.search("mentoring", 1).unwrap().len(), 1);
    assert!(matches!(
        lib.search(" ,.; ", 10),
        Err(LibraryError::BadRequest(_))
    ));
    // A removed record is no longer found.
    lib.remove(P, "p-2", clock.now()).unwrap();
    let hits = lib.search("mentoring", 10).unwrap();
    assert_eq!(
        hits.iter().map(|h| h.id.as_str()).collect::<Vec<_>>(),
        ["p-1"]
    );
}

#[test]
fn verify_finds_a_tampered_change() {
    let clock = TestClock::at("2026-01-10T09:00:00Z");
    let lib = library(1, &clock);
    lib.add(P, practice("p-1", "One"), false, clock.now())
        .unwrap();
    lib.add(P, practice("p-2", "Two"), false, clock.now())
        .unwrap();
    let v = lib.verify().unwrap();
    assert_eq!((v.changes, v.documents, v.valid, v.invalid), (2, 2, 2, 0));
    // Flip one byte of a stored change's signed bytes.
    let (k, mut env) = lib
        .store()
        .scan_prefix(&keys::changes_of("practice/p-2"))
        .next()
        .unwrap()
        .unwrap();
    let last = env.len() - 1;
    env[last] ^= 1;
    lib.store().write(vec![(k, Some(env))]).unwrap();
    let v = lib.verify().unwrap();
    assert_eq!((v.valid, v.invalid), (1, 1));
    assert!(
        v.failures[0].starts_with("practice/p-2 "),
        "{:?}",
        v.failures
    );
}
