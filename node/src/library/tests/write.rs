use chrono::Duration;
use serde_json::json;

use r2com_protocol::control::Edit;
use r2com_protocol::ids::{DocId, RecordKind};
use r2com_protocol::record::Record;

use crate::library::LibraryError;
use crate::testing::{consortium, event, hand_over, library, practice, TestClock};

const P: RecordKind = RecordKind::Practice;
const E: RecordKind = RecordKind::Event;

fn set(field: &str, value: &str) -> Edit {
    Edit::Set {
        field: field.into(),
        value: value.into(),
    }
}

fn body(r: &Record) -> &str {
    match r {
        Record::Practice(p) => &p.body,
        Record::Event(e) => &e.description,
    }
}

#[test]
fn add_stores_one_signed_change_and_announces_it_once_committed() {
    let clock = TestClock::at("2026-01-10T09:00:00Z");
    let lib = library(1, &clock);
    let added = lib
        .add(P, practice("p-1", "Mentoring"), false, clock.now())
        .unwrap();
    assert_eq!(lib.show(P, "p-1").unwrap(), added);
    let c = lib.counts().unwrap();
    assert_eq!((c.practices, c.documents, c.changes), (1, 1, 1));
    let v = lib.verify().unwrap();
    assert_eq!((v.valid, v.invalid), (1, 0));
    // The committed change waits in the outbox for the network, made here
    // (no origin), and is taken once.
    let out = lib.take_outbox();
    assert_eq!(out.changes.len(), 1);
    assert_eq!(out.changes[0].0, None);
    assert!(lib.take_outbox().changes.is_empty());
}

#[test]
fn add_fills_id_and_times_and_refuses_duplicates_and_invalid_records() {
    let clock = TestClock::at("2026-01-10T09:00:00Z");
    let lib = library(1, &clock);
    let mut v = practice("ignored", "No id given");
    let obj = v.as_object_mut().unwrap();
    obj.remove("id");
    obj.remove("created_at");
    obj.remove("updated_at");
    let Record::Practice(p) = lib.add(P, v, false, clock.now()).unwrap() else {
        panic!("a practice");
    };
    assert!(p.id.starts_with("p-"), "{}", p.id);
    assert_eq!(p.created_at, "2026-01-10T09:00:00Z");
    assert_eq!(p.updated_at, "2026-01-10T09:00:00Z");

    lib.add(P, practice("p-1", "First"), false, clock.now())
        .unwrap();
    let again = lib.add(P, practice("p-1", "Second"), false, clock.now());
    assert!(
        matches!(again, Err(LibraryError::Exists { .. })),
        "{again:?}"
    );
    assert_eq!(lib.show(P, "p-1").unwrap().title(), "First");

    let mut bad = practice("p-2", "Bad contact");
    bad["contact"] = json!("not an address");
    let e = lib.add(P, bad, false, clock.now()).unwrap_err();
    assert!(matches!(e, LibraryError::Invalid(_)), "{e:?}");
    assert!(e.to_string().contains("contact"), "{e}");
    assert!(matches!(
        lib.show(P, "p-2"),
        Err(LibraryError::NotFound { .. })
    ));
    assert_eq!(lib.counts().unwrap().changes, 2);
}

#[test]
fn edit_sets_fields_and_keeps_updated_at_after_created_at() {
    let clock = TestClock::at("2026-01-10T09:00:00Z");
    let lib = library(1, &clock);
    lib.add(P, practice("p-1", "Old"), false, clock.now())
        .unwrap();
    let Record::Practice(p) = lib
        .edit(
            P,
            "p-1",
            &[set("title", "New"), set("themes", "youth work, mentoring")],
            false,
            clock.now(),
        )
        .unwrap()
    else {
        panic!("a practice");
    };
    assert_eq!(p.title, "New");
    assert_eq!(p.themes, vec!["mentoring", "youth work"]);
    assert_eq!(p.updated_at, "2026-01-10T09:00:00Z");
    assert_eq!(lib.show(P, "p-1").unwrap(), Record::Practice(p));
    // A clock behind the record's creation never puts updated_at before it.
    let behind = chrono::DateTime::parse_from_rfc3339("2020-01-01T00:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let Record::Practice(p) = lib
        .edit(P, "p-1", &[set("status", "archived")], false, behind)
        .unwrap()
    else {
        panic!("a practice");
    };
    assert_eq!(p.updated_at, "2025-03-01T10:00:00Z");
    assert_eq!(lib.counts().unwrap().changes, 3);
}

#[test]
fn edit_refuses_nothing_to_do_unknown_records_and_bad_values() {
    let clock = TestClock::at("2026-01-10T09:00:00Z");
    let lib = library(1, &clock);
    lib.add(P, practice("p-1", "Old"), false, clock.now())
        .unwrap();
    assert!(matches!(
        lib.edit(P, "p-1", &[], false, clock.now()),
        Err(LibraryError::BadRequest(_))
    ));
    assert!(matches!(
        lib.edit(P, "p-9", &[set("title", "x")], false, clock.now()),
        Err(LibraryError::NotFound { .. })
    ));
    let e = lib
        .edit(
            P,
            "p-1",
            &[set("evidence", "very good")],
            false,
            clock.now(),
        )
        .unwrap_err();
    assert!(e.to_string().contains("evidence"), "{e}");
    assert_eq!(lib.show(P, "p-1").unwrap().title(), "Old");
    assert_eq!(lib.counts().unwrap().changes, 1);
}

#[test]
fn splices_edit_the_long_text_in_place() {
    let clock = TestClock::at("2026-01-10T09:00:00Z");
    let lib = library(1, &clock);
    lib.add(P, practice("p-1", "T"), false, clock.now())
        .unwrap();
    let splice = |pos, delete, insert: &str| Edit::Splice {
        field: "body".into(),
        pos,
        delete,
        insert: insert.into(),
    };
    // "The body of the practice." -> "The whole body of this practice."
    let r = lib
        .edit(
            P,
            "p-1",
            &[splice(4, 0, "whole "), splice(18, 3, "this")],
            false,
            clock.now(),
        )
        .unwrap();
    assert_eq!(body(&r), "The whole body of this practice.");
    let past_end = lib.edit(P, "p-1", &[splice(500, 0, "x")], false, clock.now());
    assert!(past_end.is_err(), "{past_end:?}");
}

/// A whole new text (`--text-file`) is stored as a diff against the
/// document's text: a concurrent edit elsewhere in the text survives.
#[test]
fn a_whole_new_text_merges_with_a_concurrent_edit() {
    let clock = TestClock::at("2026-01-10T09:00:00Z");
    let (a, b) = consortium(&clock);
    let mut p = practice("p-1", "T");
    p["body"] = json!("First paragraph.\n\nSecond paragraph.\n\nThird paragraph.");
    a.add(P, p, false, clock.now()).unwrap();
    hand_over(&a, &b);
    a.edit(
        P,
        "p-1",
        &[set(
            "body",
            "First paragraph, revised.\n\nSecond paragraph.\n\nThird paragraph.",
        )],
        false,
        clock.now(),
    )
    .unwrap();
    b.edit(
        P,
        "p-1",
        &[set(
            "body",
            "First paragraph.\n\nSecond paragraph.\n\nThird paragraph, extended.",
        )],
        false,
        clock.now(),
    )
    .unwrap();
    hand_over(&a, &b);
    hand_over(&b, &a);
    let merged = "First paragraph, revised.\n\nSecond paragraph.\n\nThird paragraph, extended.";
    assert_eq!(body(&a.show(P, "p-1").unwrap()), merged);
    assert_eq!(body(&b.show(P, "p-1").unwrap()), merged);
}

#[test]
fn remove_leaves_a_tombstone_and_the_id_can_come_back() {
    let clock = TestClock::at("2026-01-10T09:00:00Z");
    let lib = library(1, &clock);
    lib.add(P, practice("p-1", "Gone soon"), false, clock.now())
        .unwrap();
    lib.remove(P, "p-1", clock.now()).unwrap();
    assert!(matches!(
        lib.show(P, "p-1"),
        Err(LibraryError::NotFound { .. })
    ));
    assert!(lib.list(P, &Default::default()).unwrap().is_empty());
    assert!(matches!(
        lib.remove(P, "p-1", clock.now()),
        Err(LibraryError::NotFound { .. })
    ));
    let c = lib.counts().unwrap();
    assert_eq!((c.practices, c.documents, c.changes), (0, 1, 2));
    // The history stays; adding the id again revives the document.
    lib.add(P, practice("p-1", "Back"), false, clock.now())
        .unwrap();
    assert_eq!(lib.show(P, "p-1").unwrap().title(), "Back");
    assert_eq!(lib.counts().unwrap().documents, 1);
}

#[test]
fn an_event_revision_counts_its_changes_and_keeps_the_latest_time() {
    let clock = TestClock::at("2026-01-10T09:00:00Z");
    let lib = library(1, &clock);
    lib.add(
        E,
        event(
            "e-1",
            "Workshop",
            "2026-03-10T10:00:00",
            "2026-03-10T12:00:00",
        ),
        false,
        clock.now(),
    )
    .unwrap();
    let doc = DocId::new(E, "e-1").unwrap();
    let r = lib.revision(&doc).unwrap().unwrap();
    assert_eq!((r.sequence, r.last_modified), (0, clock.now()));
    clock.advance(Duration::hours(2));
    lib.edit(E, "e-1", &[set("capacity", "25")], false, clock.now())
        .unwrap();
    let r = lib.revision(&doc).unwrap().unwrap();
    assert_eq!((r.sequence, r.last_modified), (1, clock.now()));
    // An edit stamped earlier (a clock behind) counts, but time never runs
    // backwards in the revision.
    let latest = clock.now();
    lib.edit(
        E,
        "e-1",
        &[set("capacity", "30")],
        false,
        latest - Duration::days(1),
    )
    .unwrap();
    let r = lib.revision(&doc).unwrap().unwrap();
    assert_eq!((r.sequence, r.last_modified), (2, latest));
    // Practices have no revision.
    lib.add(P, practice("p-1", "T"), false, clock.now())
        .unwrap();
    assert!(lib
        .revision(&DocId::new(P, "p-1").unwrap())
        .unwrap()
        .is_none());
}

#[test]
fn an_ambiguous_event_time_is_refused_unless_accepted() {
    let clock = TestClock::at("2026-01-10T09:00:00Z");
    let lib = library(1, &clock);
    // 2026-10-25 02:30 happens twice in Paris (clocks go back at 03:00).
    let ev = event("e-1", "Night", "2026-10-25T02:30:00", "2026-10-25T04:00:00");
    let e = lib.add(E, ev.clone(), false, clock.now()).unwrap_err();
    assert!(e.to_string().contains("starts_at"), "{e}");
    assert!(lib.add(E, ev, true, clock.now()).is_ok());
}

/// An edit keeps its document loaded for the next one (see `loaded`); a
/// change received meanwhile drops it, so the next edit builds on the
/// stored document, the received change included, never on the one held.
#[test]
fn a_document_kept_loaded_is_dropped_when_a_change_to_it_arrives() {
    let clock = TestClock::at("2026-01-10T09:00:00Z");
    let (a, b) = consortium(&clock);
    a.add(P, practice("p-1", "T"), false, clock.now()).unwrap();
    hand_over(&a, &b);
    a.edit(P, "p-1", &[set("title", "One")], false, clock.now())
        .unwrap();
    assert_eq!(a.loaded.len(), 1, "kept after the edit");
    // The second edit takes it (and keeps it again).
    a.edit(P, "p-1", &[set("status", "draft")], false, clock.now())
        .unwrap();
    assert_eq!(a.loaded.len(), 1);

    // B changes another field concurrently; A receives it.
    b.edit(P, "p-1", &[set("body", "From B.")], false, clock.now())
        .unwrap();
    hand_over(&b, &a);
    assert_eq!(a.loaded.len(), 0, "dropped by the received change");
    a.edit(P, "p-1", &[set("title", "Two")], false, clock.now())
        .unwrap();
    let shown = a.show(P, "p-1").unwrap();
    assert_eq!(body(&shown), "From B.");
    match &shown {
        Record::Practice(p) => {
            assert_eq!(p.title, "Two");
            assert_eq!(p.status, r2com_protocol::record::PracticeStatus::Draft);
        }
        Record::Event(_) => unreachable!(),
    }
    // What A stored (its snapshot) holds both nodes' changes: B gets A's
    // last edit on top of its own, and every signature verifies.
    hand_over(&a, &b);
    assert_eq!(b.show(P, "p-1").unwrap(), shown);
    let report = a.verify().unwrap();
    assert_eq!(report.invalid, 0, "{report:?}");
    let id = DocId::parse("practice/p-1").unwrap();
    let mut stored = a.load_doc(&id).unwrap().unwrap();
    let state = a.doc_state(&id).unwrap().unwrap();
    assert_eq!(crate::library::doc::heads_hex(&mut stored), state.heads);

    // A removal takes it too, and a record's document is never held past
    // the bound.
    a.remove(P, "p-1", clock.now()).unwrap();
    for i in 0..40 {
        let id = format!("p-{}", i + 10);
        a.add(P, practice(&id, "T"), false, clock.now()).unwrap();
        a.edit(P, &id, &[set("title", "U")], false, clock.now())
            .unwrap();
    }
    assert!(a.loaded.len() <= 16);
}
