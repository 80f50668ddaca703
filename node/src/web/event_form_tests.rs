use super::*;
use r2com_protocol::ids::RecordKind;
use r2com_protocol::record::Record;

fn msg(key: &str) -> String {
    key.to_owned()
}

fn form() -> EventForm {
    EventForm {
        title: "Peer exchange".into(),
        date: "2026-03-10".into(),
        time: "10:00".into(),
        hours: "2".into(),
        minutes: "0".into(),
        timezone: "Europe/Lisbon".into(),
        format: "workshop".into(),
        organiser: "ips".into(),
        language: "PT".into(),
        status: "scheduled".into(),
        ends: "never".into(),
        ..Default::default()
    }
}

fn record(f: &EventForm) -> Event {
    let mut v = f.to_record(&msg).unwrap();
    v["id"] = json!("e-1");
    match Record::from_value(RecordKind::Event, v).unwrap() {
        Record::Event(e) => e,
        Record::Practice(_) => unreachable!(),
    }
}

#[test]
fn builds_a_valid_event_from_choices() {
    let e = record(&form());
    assert_eq!(e.starts_at, "2026-03-10T10:00:00");
    assert_eq!(e.ends_at, "2026-03-10T12:00:00");
    assert_eq!(e.language, "pt");
    assert_eq!((e.capacity, e.location, e.recurrence), (None, None, None));
}

#[test]
fn repetition_from_choices_round_trips() {
    let mut f = form();
    f.freq = "WEEKLY".into();
    f.interval = "2".into();
    f.tu = Some("on".into());
    f.th = Some("on".into());
    f.ends = "count".into();
    f.count = "6".into();
    let e = record(&f);
    assert_eq!(
        e.recurrence.as_deref(),
        Some("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH;COUNT=6")
    );
    let back = EventForm::from_event(&e);
    assert_eq!(
        (back.freq.as_str(), back.interval.as_str()),
        ("WEEKLY", "2")
    );
    assert!(back.day(1) && back.day(3) && !back.day(0));
    assert_eq!((back.ends.as_str(), back.count.as_str()), ("count", "6"));

    let mut f = form();
    f.freq = "MONTHLY".into();
    f.ends = "until".into();
    f.until = "2026-12-31".into();
    let e = record(&f);
    // The end of 31 December in Lisbon (UTC+0 in winter).
    assert_eq!(
        e.recurrence.as_deref(),
        Some("FREQ=MONTHLY;UNTIL=20261231T235959Z")
    );
    let back = EventForm::from_event(&e);
    assert_eq!(
        (back.ends.as_str(), back.until.as_str()),
        ("until", "2026-12-31")
    );
}

#[test]
fn rules_the_choices_cannot_express_are_kept() {
    let mut e = record(&form());
    e.recurrence = Some("FREQ=MONTHLY;BYDAY=2TU".into());
    let f = EventForm::from_event(&e);
    assert_eq!(f.freq, "KEEP");
    assert_eq!(f.rule, "FREQ=MONTHLY;BYDAY=2TU");
    assert_eq!(f.edits(&e, &msg).unwrap(), vec![]);
}

#[test]
fn bad_choices_name_their_field() {
    let mut f = form();
    f.hours = "0".into();
    f.minutes = "0".into();
    f.capacity = "many".into();
    f.freq = "WEEKLY".into();
    f.ends = "count".into();
    f.count = "0".into();
    let errors = f.to_record(&msg).unwrap_err();
    for field in ["duration", "capacity", "count"] {
        assert!(errors.contains_key(field), "{field}: {errors:?}");
    }
    let mut f = form();
    f.date = "10/03/2026".into();
    assert!(f.to_record(&msg).unwrap_err().contains_key("starts_at"));
}

#[test]
fn edits_name_only_changed_fields() {
    let e = record(&form());
    let mut f = EventForm::from_event(&e);
    assert_eq!(f.edits(&e, &msg).unwrap(), vec![]);
    f.time = "11:30".into();
    f.capacity = "20".into();
    f.description = "Bring a laptop.".into();
    let edits = f.edits(&e, &msg).unwrap();
    let fields: Vec<&str> = edits
        .iter()
        .map(|e| match e {
            Edit::Set { field, .. } | Edit::Splice { field, .. } => field.as_str(),
        })
        .collect();
    assert_eq!(fields, ["starts_at", "ends_at", "capacity", "description"]);
}
