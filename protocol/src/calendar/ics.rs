//! RFC 5545 rendering: one VCALENDAR with a VTIMEZONE per zone used and one
//! VEVENT per event. Hand-written (the format is small) so that escaping,
//! folding and VTIMEZONE generation are under our control:
//!
//! * TEXT values escape backslash, semicolon, comma and newline (3.3.11);
//!   other values and parameters lose any control character and a
//!   parameter value is quoted when it holds `:`, `;` or `,` (3.2), so no
//!   value can start a line of its own;
//! * an event that does not validate (a merge of peers' changes can
//!   produce one) is left out and reported, never failing the calendar;
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
/// become `\n`), tab kept, any other control character dropped.
pub fn escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push('\t'),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// A value that is not TEXT (URI, RECUR, an identifier): it has no escapes
/// (3.3), so control characters, which cannot appear in a content line, are
/// dropped.
pub fn plain_value(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).collect()
}

/// A parameter value (3.2): no control characters and no `"`; quoted when
/// it holds `:`, `;` or `,`.
pub fn param_value(s: &str) -> String {
    let v: String = s.chars().filter(|&c| !c.is_control() && c != '"').collect();
    if v.contains([':', ';', ',']) {
        format!("\"{v}\"")
    } else {
        v
    }
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

/// The years one event's zone must cover: `(zone, first, last)`.
fn event_years(e: &Event, now: DateTime<Utc>) -> Result<(Tz, i32, i32), CalendarError> {
    let tz = parse_zone(&e.timezone)?;
    let (start, length) = first_session(e)?;
    let first = year_in(tz, start);
    let last = match last_start(e)? {
        Some(t) => year_in(tz, t + length),
        None => year_in(tz, now).max(first) + OPEN_RULE_YEARS,
    };
    Ok((tz, first, last.min(first + MAX_YEARS - 1)))
}

/// The VEVENT content lines of one event; `Err` (nothing rendered) if the
/// event does not validate.
pub fn vevent_lines(
    e: &Event,
    rev: Option<&Revision>,
    now: DateTime<Utc>,
) -> Result<Vec<String>, CalendarError> {
    e.validate()?;
    let modified = rev.map_or(now, |r| r.last_modified);
    let tzid = param_value(&e.timezone);
    let language = param_value(&e.language);
    let mut l = vec![
        "BEGIN:VEVENT".to_owned(),
        format!("UID:{}@r2com", plain_value(&e.id)),
        format!("DTSTAMP:{}", utc_stamp(modified)),
        format!("LAST-MODIFIED:{}", utc_stamp(modified)),
        format!("SEQUENCE:{}", rev.map_or(0, |r| r.sequence)),
        format!("DTSTART;TZID={tzid}:{}", local_stamp(e, &e.starts_at)?),
        format!("DTEND;TZID={tzid}:{}", local_stamp(e, &e.ends_at)?),
    ];
    if let Some(rule) = &e.recurrence {
        l.push(format!("RRULE:{}", plain_value(rule)));
    }
    l.push(format!(
        "SUMMARY;LANGUAGE={language}:{}",
        escape_text(&e.title)
    ));
    if !e.description.is_empty() {
        l.push(format!(
            "DESCRIPTION;LANGUAGE={language}:{}",
            escape_text(&e.description)
        ));
    }
    if let Some(loc) = &e.location {
        l.push(format!("LOCATION:{}", escape_text(loc)));
    }
    if let Some(url) = &e.online_url {
        l.push(format!("URL:{}", plain_value(url)));
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

/// A rendered calendar and the events left out of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    /// The iCalendar text.
    pub ics: String,
    /// Events in it.
    pub events: u64,
    /// Events left out because they do not validate (a merge of peers'
    /// changes), each naming the event and the field.
    pub skipped: Vec<CalendarError>,
}

/// The whole calendar: VTIMEZONEs for the zones used (sorted by name),
/// then the events in the order given. `now` stands in for events without
/// a revision and bounds the VTIMEZONE years of rules without an end. An
/// event that does not validate is left out and listed in
/// [`Rendered::skipped`]; one bad event never takes the calendar down.
pub fn render(events: &[(Event, Option<Revision>)], now: DateTime<Utc>) -> Rendered {
    let mut skipped = Vec::new();
    let mut zones: BTreeMap<String, (Tz, i32, i32)> = BTreeMap::new();
    let mut bodies = Vec::with_capacity(events.len());
    for (e, rev) in events {
        let lines = vevent_lines(e, rev.as_ref(), now)
            .and_then(|lines| event_years(e, now).map(|years| (lines, years)));
        match lines {
            Ok((lines, (tz, first, last))) => {
                let z = zones.entry(e.timezone.clone()).or_insert((tz, first, last));
                z.1 = z.1.min(first);
                z.2 = z.2.max(last);
                bodies.push(lines);
            }
            Err(err) => skipped.push(err),
        }
    }
    for z in zones.values_mut() {
        z.2 = z.2.min(z.1 + MAX_YEARS - 1);
    }
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
    for (tz, first, last) in zones.into_values() {
        for line in vtimezone_lines(tz, first, last) {
            push_folded(&mut out, &line);
        }
    }
    for line in bodies.iter().flatten() {
        push_folded(&mut out, line);
    }
    push_folded(&mut out, "END:VCALENDAR");
    Rendered {
        ics: out,
        events: bodies.len() as u64,
        skipped,
    }
}

#[cfg(test)]
#[path = "ics_tests.rs"]
mod tests;
