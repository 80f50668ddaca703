//! Tests of [`super`]: escaping, folding, the feed's text.

use super::*;
use crate::record::tests::sample_event;
use chrono::TimeZone;

#[test]
fn escaping_round_trips() {
    let s = "a, b; c\\d\nЗдравейте, ação; ü\r\nend";
    let e = escape_text(s);
    assert_eq!(e, "a\\, b\\; c\\\\d\\nЗдравейте\\, ação\\; ü\\nend");
    assert_eq!(unescape_text(&e), s.replace("\r\n", "\n"));
}

#[test]
fn folding_keeps_utf8_characters_whole_and_lines_short() {
    let text = format!("DESCRIPTION:{}", "Здравейте, ação ü ".repeat(20).trim_end());
    let mut out = String::new();
    push_folded(&mut out, &text);
    assert!(out.ends_with("\r\n"));
    let lines: Vec<&str> = out.trim_end_matches("\r\n").split("\r\n").collect();
    assert!(lines.len() > 5);
    for (i, l) in lines.iter().enumerate() {
        assert!(
            l.len() <= MAX_LINE_OCTETS,
            "line {i} has {} octets",
            l.len()
        );
        assert_eq!(i > 0, l.starts_with(' '));
        assert!(!l.ends_with(' '));
    }
    let unfolded: String = lines
        .iter()
        .enumerate()
        .map(|(i, l)| if i == 0 { *l } else { &l[1..] })
        .collect();
    assert_eq!(unfolded, text);
    let mut short = String::new();
    push_folded(&mut short, "VERSION:2.0");
    assert_eq!(short, "VERSION:2.0\r\n");
}

#[test]
fn a_calendar_has_timezones_uids_and_sequences() {
    let e = sample_event("e-1");
    let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let rev = Revision {
        sequence: 3,
        last_modified: Utc.with_ymd_and_hms(2026, 2, 3, 4, 5, 6).unwrap(),
    };
    let ics = render(&[(e, Some(rev))], now).ics;
    for want in [
        "BEGIN:VCALENDAR\r\n",
        "TZID:Europe/Lisbon\r\n",
        "UID:e-1@r2com\r\n",
        "SEQUENCE:3\r\n",
        "DTSTAMP:20260203T040506Z\r\n",
        "DTSTART;TZID=Europe/Lisbon:20260310T100000\r\n",
        "RRULE:FREQ=WEEKLY;BYDAY=TU;COUNT=10\r\n",
        "STATUS:CONFIRMED\r\n",
        "DESCRIPTION;LANGUAGE=pt:Bring\\, your\\; notes.\\nЗдравейте\r\n",
        "END:VCALENDAR\r\n",
    ] {
        assert!(ics.contains(want), "missing {want:?} in\n{ics}");
    }
}

/// Events as a crafted change can leave them (never validated): text
/// that would start lines of its own, a zone that does not exist, an end
/// before the start. Each is left out and named with its field; the
/// valid event is rendered and no injected line appears.
#[test]
fn a_merged_event_that_does_not_validate_is_left_out_and_named() {
    let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let crafted = |id: &str, field: &str, value: &str| {
        let mut e = sample_event(id);
        let mut v = serde_json::to_value(&e).unwrap();
        v[field] = serde_json::Value::String(value.into());
        e = serde_json::from_value(v).unwrap();
        (e, None)
    };
    let events = vec![
        crafted(
            "e-rule",
            "recurrence",
            "FREQ=WEEKLY;COUNT=2\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\nEND:VALARM",
        ),
        crafted("e-lang", "language", "pt:x\r\nBEGIN:VEVENT\r\nUID:evil"),
        crafted(
            "e-url",
            "online_url",
            "https://example.org/\r\nATTACH:https://evil.example/",
        ),
        crafted("e-zone", "timezone", "Mars/Olympus"),
        crafted("e-ends", "ends_at", "2026-03-10T09:00:00"),
        (sample_event("e-good"), None),
    ];
    let out = render(&events, now);
    let fields: Vec<String> = out
        .skipped
        .iter()
        .map(|e| match e {
            CalendarError::Invalid(v) => format!("{} {}", v.id, v.field),
            other => panic!("not a validation error: {other}"),
        })
        .collect();
    assert_eq!(
        fields,
        [
            "e-rule recurrence",
            "e-lang language",
            "e-url online_url",
            "e-zone timezone",
            "e-ends ends_at"
        ]
    );
    assert!(out.ics.contains("UID:e-good@r2com\r\n"), "{}", out.ics);
    assert_eq!(out.ics.matches("BEGIN:VEVENT").count(), 1);
    for line in out.ics.split("\r\n") {
        assert!(
            !line.starts_with("BEGIN:VALARM")
                && !line.starts_with("ATTACH")
                && !line.starts_with("UID:evil"),
            "injected line {line:?}"
        );
    }
}

#[test]
fn values_and_parameters_cannot_break_a_line() {
    assert_eq!(plain_value("a\r\nB:c\u{7}"), "aB:c");
    assert_eq!(param_value("fr"), "fr");
    assert_eq!(param_value("x\"y:z\r\n"), "\"xy:z\"");
    assert_eq!(escape_text("a\u{1b}[2Jb\tc"), "a[2Jb\tc");
}
