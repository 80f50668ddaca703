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

/// A list asked page after page (as the CLI asks it) is the list asked
/// at once: same rows in the same order, for every kind of list, with and
/// without filters, whatever the page size (one row, pages that end on
/// the last row, pages larger than the list).
#[test]
fn a_list_asked_page_after_page_is_the_list_asked_at_once() {
    let clock = TestClock::at("2026-01-10T09:00:00Z");
    let lib = library(1, &clock);
    for i in 0..12 {
        let mut p = practice(&format!("p-{i:02}"), "A practice");
        if i % 3 == 0 {
            p["status"] = json!("draft");
        }
        lib.add(P, p, false, clock.now()).unwrap();
        let day = format!("2026-03-{:02}", 10 + i);
        let mut e = event(
            &format!("e-{i:02}"),
            "An event",
            &format!("{day}T10:00:00"),
            &format!("{day}T12:00:00"),
        );
        if i % 4 == 1 {
            e["format"] = json!("webinar");
            e["location"] = json!(null);
            e["online_url"] = json!("https://example.org/meet");
        }
        lib.add(E, e, false, clock.now()).unwrap();
    }
    fn paged<T>(
        f: &ListFilter,
        limit: u32,
        list: impl Fn(&ListFilter) -> Vec<T>,
        id: impl Fn(&T) -> String,
    ) -> Vec<T> {
        let mut all = Vec::new();
        let mut after = None;
        loop {
            let page = list(&ListFilter {
                after: after.take(),
                limit: Some(limit),
                ..f.clone()
            });
            assert!(page.len() <= limit as usize);
            let full = page.len() == limit as usize;
            after = page.last().map(&id);
            all.extend(page);
            if !full {
                return all;
            }
        }
    }
    let filters = [
        ListFilter::default(),
        ListFilter {
            status: Some("draft".into()),
            ..Default::default()
        },
        ListFilter {
            format: Some("webinar".into()),
            from: Some("2026-03-12".into()),
            ..Default::default()
        },
        ListFilter {
            status: Some("no-such-status".into()),
            ..Default::default()
        },
    ];
    for f in &filters {
        let full = ListFilter {
            full: true,
            ..f.clone()
        };
        let practices = lib.practice_rows(f).unwrap();
        let events = lib.event_rows(f).unwrap();
        let records_p = lib.list(P, &full).unwrap();
        let records_e = lib.list(E, &full).unwrap();
        for limit in [1, 2, 3, 4, 5, 12, 100] {
            assert_eq!(
                serde_json::to_value(paged(
                    f,
                    limit,
                    |f| lib.practice_rows(f).unwrap(),
                    |r| r.id.clone()
                ))
                .unwrap(),
                serde_json::to_value(&practices).unwrap(),
                "practices, {f:?}, pages of {limit}"
            );
            assert_eq!(
                serde_json::to_value(paged(
                    f,
                    limit,
                    |f| lib.event_rows(f).unwrap(),
                    |r| r.id.clone()
                ))
                .unwrap(),
                serde_json::to_value(&events).unwrap(),
                "events, {f:?}, pages of {limit}"
            );
            for (kind, all) in [(P, &records_p), (E, &records_e)] {
                let got = paged(
                    &full,
                    limit,
                    |f| lib.list(kind, f).unwrap(),
                    |r| r.id().to_owned(),
                );
                assert_eq!(
                    ids(&got),
                    ids(all),
                    "{kind} records, {f:?}, pages of {limit}"
                );
            }
        }
    }
    // The filters do filter (the comparison above is not of empty lists).
    assert_eq!(lib.practice_rows(&filters[0]).unwrap().len(), 12);
    assert_eq!(lib.practice_rows(&filters[1]).unwrap().len(), 4);
    assert_eq!(lib.event_rows(&filters[2]).unwrap().len(), 2);
    // The node caps a page.
    let capped = ListFilter {
        limit: Some(u32::MAX),
        ..Default::default()
    };
    assert_eq!(
        capped.page_size(),
        r2com_protocol::control::MAX_LIST_PAGE as usize
    );
}
