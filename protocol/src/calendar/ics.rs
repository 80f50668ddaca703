//! RFC 5545 rendering: one VCALENDAR with a VTIMEZONE per zone used and one
//! VEVENT per event. Hand-written (the format is small) so that escaping,
//! folding and VTIMEZONE generation are under our control:
//!
//! * TEXT values escape backslash, semicolon, comma and newline (3.3.11);
//! * lines end with CRLF and are folded at 75 octets, never inside a UTF-8
//!   character and never right after a space (some parsers trim line ends);
//! * UID is `<event id>@r2com`, stable across exports, so re-importing a
//!   feed updates events rather than duplicating them; SEQUENCE, DTSTAMP and
//!   LAST-MODIFIED come from the node's per-event [`Revision`].

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::expand::{first_session, last_start};
use super::vtimezone::{vtimezone_lines, year_in, MAX_YEARS};
use super::{parse_zone, CalendarError};
use crate::record::{parse_local_time, Event, EventStatus};

/// Longest content line, in octets, before folding (RFC 5545 3.1).
pub const MAX_LINE_OCTETS: usize = 75;
/// Years past `now` that VTIMEZONEs cover for rules without an end.
pub const OPEN_RULE_YEARS: i32 = 5;
/// Product identifier of the calendars r2com writes.
pub const PRODID: &str = "-//r2com//training calendar//EN";

/// How often an event has changed on this node, for SEQUENCE and
/// LAST-MODIFIED. Stored by the node beside each event record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revision {
    /// 0 when created, +1 on every change of the record's content.
    pub sequence: u32,
    /// When the record last changed, RFC 3339 UTC.
    pub last_modified: DateTime<Utc>,
}

/// Escape a TEXT value (RFC 5545 3.3.11). CR is dropped (CRLF and LF both
/// become `\n`).
pub fn escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Undo [`escape_text`] (`\N` also means newline).
pub fn unescape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n' | 'N') => out.push('\n'),
            Some(o) => out.push(o),
            None => out.push('\\'),
        }
    }
    out
}

/// Append one content line to `out`, folded at [`MAX_LINE_OCTETS`] octets
/// (continuations start with a space), each physical line ending in CRLF.
pub fn push_folded(out: &mut String, line: &str) {
    let mut rest = line;
    let mut limit = MAX_LINE_OCTETS;
    loop {
        if rest.len() <= limit {
            out.push_str(rest);
            out.push_str("\r\n");
            return;
        }
        let mut cut = limit;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        // Do not end a physical line with white space: some readers trim it.
        while cut > 1 && rest[..cut].ends_with([' ', '\t']) {
            cut -= 1;
        }
        out.push_str(&rest[..cut]);
        out.push_str("\r\n ");
        rest = &rest[cut..];
        limit = MAX_LINE_OCTETS - 1;
    }
}

fn utc_stamp(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

fn local_stamp(event: &Event, local: &str) -> Result<String, CalendarError> {
    parse_local_time(local)
        .map(|t| t.format("%Y%m%dT%H%M%S").to_string())
        .map_err(|reason| CalendarError::Time {
            id: event.id.clone(),
            reason,
        })
}

/// The years each zone must cover for `events`.
fn zone_years(
    events: &[(Event, Option<Revision>)],
    now: DateTime<Utc>,
) -> Result<BTreeMap<String, (Tz, i32, i32)>, CalendarError> {
    let mut zones: BTreeMap<String, (Tz, i32, i32)> = BTreeMap::new();
    for (e, _) in events {
        let tz = parse_zone(&e.timezone)?;
        let (start, length) = first_session(e)?;
        let first = year_in(tz, start);
        let last = match last_start(e)? {
            Some(t) => year_in(tz, t + length),
            None => year_in(tz, now).max(first) + OPEN_RULE_YEARS,
        };
        let last = last.min(first + MAX_YEARS - 1);
        let entry = zones.entry(e.timezone.clone()).or_insert((tz, first, last));
        entry.1 = entry.1.min(first);
        entry.2 = entry.2.max(last);
    }
    for z in zones.values_mut() {
        z.2 = z.2.min(z.1 + MAX_YEARS - 1);
    }
    Ok(zones)
}

/// The VEVENT content lines of one event.
pub fn vevent_lines(
    e: &Event,
    rev: Option<&Revision>,
    now: DateTime<Utc>,
) -> Result<Vec<String>, CalendarError> {
    let modified = rev.map_or(now, |r| r.last_modified);
    let mut l = vec![
        "BEGIN:VEVENT".to_owned(),
        format!("UID:{}@r2com", e.id),
        format!("DTSTAMP:{}", utc_stamp(modified)),
        format!("LAST-MODIFIED:{}", utc_stamp(modified)),
        format!("SEQUENCE:{}", rev.map_or(0, |r| r.sequence)),
        format!(
            "DTSTART;TZID={}:{}",
            e.timezone,
            local_stamp(e, &e.starts_at)?
        ),
        format!("DTEND;TZID={}:{}", e.timezone, local_stamp(e, &e.ends_at)?),
    ];
    if let Some(rule) = &e.recurrence {
        l.push(format!("RRULE:{rule}"));
    }
    l.push(format!(
        "SUMMARY;LANGUAGE={}:{}",
        e.language,
        escape_text(&e.title)
    ));
    if !e.description.is_empty() {
        l.push(format!(
            "DESCRIPTION;LANGUAGE={}:{}",
            e.language,
            escape_text(&e.description)
        ));
    }
    if let Some(loc) = &e.location {
        l.push(format!("LOCATION:{}", escape_text(loc)));
    }
    if let Some(url) = &e.online_url {
        l.push(format!("URL:{url}"));
    }
    l.push(format!(
        "STATUS:{}",
        match e.status {
            EventStatus::Scheduled => "CONFIRMED",
            EventStatus::Cancelled => "CANCELLED",
            EventStatus::Postponed => "TENTATIVE",
        }
    ));
    let format = serde_json::to_value(e.format)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    l.push(format!("CATEGORIES:{}", escape_text(&format)));
    // No e-mail address is known for an organiser, and ORGANIZER needs one.
    l.push(format!("X-R2COM-ORGANISER:{}", escape_text(&e.organiser)));
    if let Some(c) = e.capacity {
        l.push(format!("X-R2COM-CAPACITY:{c}"));
    }
    l.push("END:VEVENT".to_owned());
    Ok(l)
}

/// The whole calendar: VTIMEZONEs for the zones used (sorted by name),
/// then the events in the order given. `now` stands in for events without
/// a revision and bounds the VTIMEZONE years of rules without an end.
pub fn render(
    events: &[(Event, Option<Revision>)],
    now: DateTime<Utc>,
) -> Result<String, CalendarError> {
    let mut out = String::with_capacity(events.len() * 600 + 1024);
    for line in [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        &format!("PRODID:{PRODID}"),
        "CALSCALE:GREGORIAN",
        "X-WR-CALNAME:r2com training calendar",
    ] {
        push_folded(&mut out, line);
    }
    for (tz, first, last) in zone_years(events, now)?.into_values() {
        for line in vtimezone_lines(tz, first, last) {
            push_folded(&mut out, &line);
        }
    }
    for (e, rev) in events {
        for line in vevent_lines(e, rev.as_ref(), now)? {
            push_folded(&mut out, &line);
        }
    }
    push_folded(&mut out, "END:VCALENDAR");
    Ok(out)
}

#[cfg(test)]
mod tests {
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
        let ics = render(&[(e, Some(rev))], now).unwrap();
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
}
