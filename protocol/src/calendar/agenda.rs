//! Agenda rows: every session of the events in a window, shown in the
//! reader's zone, with the organiser's wall clock beside it.

use chrono::{DateTime, Duration, LocalResult, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::expand::{occurrences, Window};
use super::{parse_zone, CalendarError};
use crate::record::{Event, EventFormat, EventStatus};

/// Most rows one agenda returns.
pub const MAX_ROWS: usize = 100_000;

/// One session in an agenda (serialized as the `--json` output).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct AgendaRow {
    /// The event id.
    pub id: String,
    pub title: String,
    /// Start in the reader's zone, RFC 3339 with its offset.
    pub starts: String,
    /// End in the reader's zone.
    pub ends: String,
    /// Start as an instant, RFC 3339 UTC.
    pub starts_utc: String,
    /// End as an instant.
    pub ends_utc: String,
    /// The reader's zone the times are shown in.
    pub zone: String,
    /// Start as the organiser wrote it, in `organiser_zone`.
    pub organiser_starts: String,
    /// The event's own zone.
    pub organiser_zone: String,
    pub organiser: String,
    pub format: EventFormat,
    /// `scheduled`, `cancelled` or `postponed`.
    pub status: EventStatus,
    /// Whether the event repeats (this is one of its sessions).
    pub recurring: bool,
    pub location: Option<String>,
    pub online_url: Option<String>,
}

/// The first instant of a day in `tz` (midnight, or the first time after a
/// gap when midnight does not exist).
pub fn start_of_day(day: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let midnight = day.and_hms_opt(0, 0, 0).expect("midnight");
    for h in 0..3 {
        match tz.from_local_datetime(&(midnight + Duration::hours(h))) {
            LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => return t.with_timezone(&Utc),
            LocalResult::None => continue,
        }
    }
    Utc.from_utc_datetime(&midnight)
}

/// The window from the start of `from` to the end of `to` (inclusive days)
/// in `tz`.
pub fn day_window(from: NaiveDate, to: NaiveDate, tz: Tz) -> Window {
    let end = to.succ_opt().unwrap_or(to);
    Window::new(start_of_day(from, tz), start_of_day(end, tz))
}

/// An agenda and the events left out of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Agenda {
    /// Sessions sorted by start then id.
    pub rows: Vec<AgendaRow>,
    /// Events left out because they do not validate (a merge of peers'
    /// changes), each naming the event and the field.
    pub skipped: Vec<CalendarError>,
}

/// Every session of `events` within `window`, sorted by start then id, in
/// the reader's zone `zone`. At most [`MAX_ROWS`] rows. An event that does
/// not validate is left out and listed in [`Agenda::skipped`]; `Err` only
/// for a bad `zone`.
pub fn agenda<'a>(
    events: impl IntoIterator<Item = &'a Event>,
    window: &Window,
    zone: &str,
) -> Result<Agenda, CalendarError> {
    let tz = parse_zone(zone)?;
    let mut rows = Vec::new();
    let mut skipped = Vec::new();
    for e in events {
        let sessions = e
            .validate()
            .map_err(CalendarError::from)
            .and_then(|()| Ok((parse_zone(&e.timezone)?, occurrences(e, window)?)));
        let (etz, sessions) = match sessions {
            Ok(s) => s,
            Err(err) => {
                skipped.push(err);
                continue;
            }
        };
        for o in sessions {
            let rfc = |t: DateTime<Utc>| t.with_timezone(&tz).to_rfc3339();
            rows.push(AgendaRow {
                id: e.id.clone(),
                title: e.title.clone(),
                starts: rfc(o.start),
                ends: rfc(o.end),
                starts_utc: o.start.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                ends_utc: o.end.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                zone: zone.to_owned(),
                organiser_starts: o
                    .start
                    .with_timezone(&etz)
                    .format("%Y-%m-%dT%H:%M:%S")
                    .to_string(),
                organiser_zone: e.timezone.clone(),
                organiser: e.organiser.clone(),
                format: e.format,
                status: e.status,
                recurring: e.recurrence.is_some(),
                location: e.location.clone(),
                online_url: e.online_url.clone(),
            });
        }
        if rows.len() >= MAX_ROWS {
            break;
        }
    }
    rows.sort_by(|a, b| {
        a.starts_utc
            .cmp(&b.starts_utc)
            .then_with(|| a.id.cmp(&b.id))
    });
    rows.truncate(MAX_ROWS);
    Ok(Agenda { rows, skipped })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::tests::sample_event;

    #[test]
    fn agenda_shows_lisbon_sessions_an_hour_later_in_paris() {
        let e = sample_event("e-1"); // Tuesdays 10:00 Lisbon from 10 March 2026
        let paris: Tz = "Europe/Paris".parse().unwrap();
        let w = day_window(
            NaiveDate::from_ymd_opt(2026, 3, 20).unwrap(),
            NaiveDate::from_ymd_opt(2026, 4, 5).unwrap(),
            paris,
        );
        let rows = agenda([&e], &w, "Europe/Paris").unwrap().rows;
        let starts: Vec<&str> = rows.iter().map(|r| r.starts.as_str()).collect();
        assert_eq!(
            starts,
            vec!["2026-03-24T11:00:00+01:00", "2026-03-31T11:00:00+02:00"]
        );
        assert!(rows
            .iter()
            .all(|r| r.organiser_starts.ends_with("T10:00:00")));
    }
}
