//! Records merged from peers' changes are validated again where they are
//! shown: an event that does not validate after a merge is left out of the
//! calendar feed, export and agenda, named with its field, and the other
//! events are still there (issue 13, point 8).

use automerge::transaction::{CommitOptions, Transactable};
use automerge::ROOT;

use r2com_protocol::control::{Edit, ListFilter};
use r2com_protocol::doc;
use r2com_protocol::envelope::SignedChange;
use r2com_protocol::ids::{DocId, RecordKind};

use crate::library::Library;
use crate::testing::{consortium, event, hand_over, TestClock};

const E: RecordKind = RecordKind::Event;

fn set(field: &str, value: &str) -> Edit {
    Edit::Set {
        field: field.into(),
        value: value.into(),
    }
}

fn skipped(lib: &Library, clock: &TestClock) -> (u64, Vec<String>, String) {
    let out = lib
        .calendar_ics(&ListFilter::default(), clock.now())
        .expect("the calendar renders");
    let why = out.skipped.iter().map(|e| e.to_string()).collect();
    (out.events, why, out.ics)
}

fn agenda_ids(lib: &Library) -> Vec<String> {
    let rows = lib
        .agenda(
            "2026-03-01",
            "2026-03-31",
            "Europe/Paris",
            &ListFilter::default(),
        )
        .expect("the agenda is computed");
    rows.into_iter().map(|r| r.id).collect()
}

/// Two valid concurrent edits (a later start, an earlier end) merge into an
/// event that ends before it starts. Rule: neither edit wins; the merged
/// event is invalid on every node (field `ends_at`), left out of calendars
/// until someone edits the time, and the rest of the calendar is served.
#[test]
fn concurrent_time_edits_that_end_before_the_start_leave_only_that_event_out() {
    let clock = TestClock::at("2026-01-10T09:00:00Z");
    let (a, b) = consortium(&clock);
    for (id, day) in [("e-1", "10"), ("e-2", "12")] {
        let ev = event(
            id,
            "Workshop",
            &format!("2026-03-{day}T10:00:00"),
            &format!("2026-03-{day}T12:00:00"),
        );
        a.add(E, ev, false, clock.now()).unwrap();
    }
    hand_over(&a, &b);
    a.edit(
        E,
        "e-1",
        &[set("starts_at", "2026-03-10T11:30:00")],
        false,
        clock.now(),
    )
    .unwrap();
    b.edit(
        E,
        "e-1",
        &[set("ends_at", "2026-03-10T11:00:00")],
        false,
        clock.now(),
    )
    .unwrap();
    hand_over(&a, &b);
    hand_over(&b, &a);
    for lib in [&a, &b] {
        let merged = lib.show(E, "e-1").unwrap();
        let err = merged.validate().unwrap_err();
        assert_eq!((err.id.as_str(), err.field.as_str()), ("e-1", "ends_at"));
        let (events, why, ics) = skipped(lib, &clock);
        assert_eq!(events, 1);
        assert_eq!(why.len(), 1, "{why:?}");
        assert!(
            why[0].contains("e-1") && why[0].contains("ends_at"),
            "{why:?}"
        );
        assert!(ics.contains("UID:e-2@r2com") && !ics.contains("UID:e-1@r2com"));
        assert_eq!(agenda_ids(lib), ["e-2"]);
    }
    // An edit of the time makes it valid again, and it is back.
    a.edit(
        E,
        "e-1",
        &[set("ends_at", "2026-03-10T13:00:00")],
        false,
        clock.now(),
    )
    .unwrap();
    assert_eq!(skipped(&a, &clock).0, 2);
}

/// A member signs changes no honest node would make: an RRULE carrying a
/// VALARM, a language carrying a VEVENT, a zone that does not exist. The
/// receiving node applies them (they are validly signed) but its calendar
/// carries none of those lines and still serves the valid event.
#[test]
fn a_crafted_change_cannot_inject_lines_or_take_the_calendar_down() {
    let clock = TestClock::at("2026-01-10T09:00:00Z");
    let (a, b) = consortium(&clock);
    for (id, day) in [("e-1", "10"), ("e-2", "12"), ("e-3", "14")] {
        let ev = event(
            id,
            "Workshop",
            &format!("2026-03-{day}T10:00:00"),
            &format!("2026-03-{day}T12:00:00"),
        );
        a.add(E, ev, false, clock.now()).unwrap();
    }
    hand_over(&a, &b);
    let craft = |id: &str, field: &str, value: &str| {
        let doc_id = DocId::new(E, id).unwrap();
        let mut d = a.load_doc(&doc_id).unwrap().unwrap();
        d.set_actor(doc::actor_for(a.key()));
        d.put(ROOT, field, value).unwrap();
        d.commit_with(CommitOptions::default().with_time(clock.now().timestamp_millis()));
        let change = d.get_last_local_change().unwrap();
        SignedChange::sign(a.key(), &a.scope(), &doc_id, change).encode()
    };
    let crafted = vec![
        craft(
            "e-1",
            "recurrence",
            "FREQ=DAILY;COUNT=2\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\nEND:VALARM",
        ),
        craft("e-2", "language", "fr:x\r\nBEGIN:VEVENT\r\nUID:evil"),
        craft("e-3", "timezone", "Mars/Olympus"),
    ];
    let (report, _) = b.apply(None, Vec::new(), crafted).unwrap();
    assert_eq!(report.applied, 3, "{report:?}");
    let (events, why, ics) = skipped(&b, &clock);
    assert_eq!(events, 0, "{ics}");
    let fields = ["recurrence", "language", "timezone"];
    assert_eq!(why.len(), 3, "{why:?}");
    for (w, f) in why.iter().zip(fields) {
        assert!(w.contains(&format!("`{f}`")), "{w}");
    }
    for line in ics.split("\r\n") {
        assert!(
            !line.starts_with("BEGIN:VALARM")
                && !line.starts_with("UID:evil")
                && !line.starts_with("BEGIN:VEVENT"),
            "injected line {line:?}"
        );
    }
    assert!(agenda_ids(&b).is_empty());
    // A valid event added afterwards is served beside them.
    a.add(
        E,
        event("e-4", "Valid", "2026-03-20T10:00:00", "2026-03-20T12:00:00"),
        false,
        clock.now(),
    )
    .unwrap();
    hand_over(&a, &b);
    assert_eq!(skipped(&b, &clock).0, 1);
    assert_eq!(agenda_ids(&b), ["e-4"]);
}
