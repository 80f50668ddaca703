use serde_json::{json, Value};

use r2com_protocol::control::RecordPage;
use r2com_protocol::ids::RecordKind;
use r2com_protocol::record::Dataset;

use crate::library::{Library, LibraryError};
use crate::testing::{event, library, practice, TestClock};

fn dataset() -> Value {
    json!({
        "practices": [practice("p-1", "Mentoring"), practice("p-2", "Family support")],
        "events": [event("e-1", "Workshop", "2026-03-10T10:00:00", "2026-03-10T12:00:00")],
    })
}

fn import(
    lib: &Library,
    data: Value,
    clock: &TestClock,
) -> Result<r2com_protocol::control::ImportReport, LibraryError> {
    lib.import(data, clock.now(), &|_, _| {})
}

#[test]
fn importing_the_same_file_twice_changes_nothing() {
    let clock = TestClock::at("2026-01-10T09:00:00Z");
    let lib = library(1, &clock);
    let r = import(&lib, dataset(), &clock).unwrap();
    assert_eq!((r.records, r.created, r.updated, r.unchanged), (3, 3, 0, 0));
    assert_eq!(lib.counts().unwrap().changes, 3);
    assert_eq!(lib.take_outbox().changes.len(), 3);
    let r = import(&lib, dataset(), &clock).unwrap();
    assert_eq!((r.records, r.created, r.updated, r.unchanged), (3, 0, 0, 3));
    assert_eq!(lib.counts().unwrap().changes, 3, "no new change");
    assert!(lib.take_outbox().changes.is_empty(), "nothing to announce");
    // One record changed in the file: one change.
    let mut data = dataset();
    data["practices"][1]["title"] = json!("Family support, revised");
    let r = import(&lib, data, &clock).unwrap();
    assert_eq!((r.created, r.updated, r.unchanged), (0, 1, 2));
    assert_eq!(lib.counts().unwrap().changes, 4);
    assert_eq!(
        lib.show(RecordKind::Practice, "p-2").unwrap().title(),
        "Family support, revised"
    );
}

#[test]
fn an_import_with_one_invalid_record_writes_nothing() {
    let clock = TestClock::at("2026-01-10T09:00:00Z");
    let lib = library(1, &clock);
    let mut data = dataset();
    data["events"][0]["timezone"] = json!("Europe/Atlantis");
    let e = import(&lib, data, &clock).unwrap_err();
    assert!(e.to_string().contains("timezone"), "{e}");
    let c = lib.counts().unwrap();
    assert_eq!((c.practices, c.events, c.changes), (0, 0, 0));
    assert!(lib.take_outbox().changes.is_empty());
}

#[test]
fn an_export_reads_page_after_page_in_key_order() {
    let clock = TestClock::at("2026-01-10T09:00:00Z");
    let lib = library(1, &clock);
    import(&lib, dataset(), &clock).unwrap();
    let ids = |page: &RecordPage| -> Vec<String> {
        page.records.iter().map(|r| r.doc_id().to_key()).collect()
    };
    let first = lib.export_page(None, 2).unwrap();
    assert_eq!(ids(&first), ["event/e-1", "practice/p-1"]);
    assert_eq!(first.next.as_deref(), Some("practice/p-1"));
    let second = lib.export_page(first.next.as_deref(), 2).unwrap();
    assert_eq!(ids(&second), ["practice/p-2"]);
    assert_eq!(second.next, None, "a short page is the last");
    // A full last page is followed by an empty one.
    let last = lib.export_page(Some("event/e-1"), 2).unwrap();
    assert_eq!(last.next.as_deref(), Some("practice/p-2"));
    let empty = lib.export_page(last.next.as_deref(), 2).unwrap();
    assert!(empty.records.is_empty() && empty.next.is_none());
    // A limit of 0 still makes progress; a huge one is capped.
    assert_eq!(lib.export_page(None, 0).unwrap().records.len(), 1);
    assert_eq!(lib.export_page(None, u32::MAX).unwrap().records.len(), 3);
    // The pages together are the export.
    let mut all = first.records;
    all.extend(second.records);
    assert_eq!(Dataset::from_records(all), lib.export().unwrap());
}

#[test]
fn an_export_gives_back_the_imported_records() {
    let clock = TestClock::at("2026-01-10T09:00:00Z");
    let lib = library(1, &clock);
    import(&lib, dataset(), &clock).unwrap();
    let exported = serde_json::to_value(lib.export().unwrap()).unwrap();
    assert_eq!(exported["practices"], dataset()["practices"]);
    assert_eq!(exported["events"], dataset()["events"]);
    // And imports into another node unchanged.
    let other = library(2, &clock);
    let r = import(&other, exported, &clock).unwrap();
    assert_eq!(r.created, 3);
    assert_eq!(
        serde_json::to_value(other.export().unwrap()).unwrap(),
        serde_json::to_value(lib.export().unwrap()).unwrap()
    );
}
