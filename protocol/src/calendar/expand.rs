//! Occurrences of an event: its one session, or its RRULE expanded with the
//! rrule crate in the organiser's zone, so a weekly 10:00 session stays at
//! 10:00 local time across daylight-saving changes. Expansion is bounded:
//! only within a window, at most [`MAX_OCCURRENCES`] per event and
//! [`MAX_SCANNED`] rule steps.

use chrono::{DateTime, Duration, LocalResult, TimeZone, Utc};
use chrono_tz::Tz;

use super::{parse_zone, CalendarError};
use crate::record::parse_local_time;
use crate::record::Event;

/// Most occurrences returned for one event in one window.
pub const MAX_OCCURRENCES: usize = 1000;
/// Most rule steps taken for one event (occurrences before the window count).
pub const MAX_SCANNED: usize = 50_000;

/// A time range `[start, end)`: occurrences that overlap it are returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// First instant of the window.
    pub start: DateTime<Utc>,
    /// First instant after the window.
    pub end: DateTime<Utc>,
}

impl Window {
    /// The window `[start, end)`.
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>) -> Window {
        Window { start, end }
    }
}

/// One session of an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Occurrence {
    /// When it starts.
    pub start: DateTime<Utc>,
    /// When it ends.
    pub end: DateTime<Utc>,
}

/// A wall-clock time of `event` in its zone, as an instant (an ambiguous
/// time is its earlier occurrence, as validation reads it).
pub fn local_instant(event: &Event, tz: Tz, local: &str) -> Result<DateTime<Utc>, CalendarError> {
    let err = |reason: String| CalendarError::Time {
        id: event.id.clone(),
        reason,
    };
    let naive = parse_local_time(local).map_err(err)?;
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => Ok(t.with_timezone(&Utc)),
        LocalResult::None => Err(err(format!("{local} does not exist in {tz}"))),
    }
}

/// The event's first session and its length.
pub fn first_session(event: &Event) -> Result<(DateTime<Utc>, Duration), CalendarError> {
    let tz = parse_zone(&event.timezone)?;
    let start = local_instant(event, tz, &event.starts_at)?;
    let end = local_instant(event, tz, &event.ends_at)?;
    Ok((start, end - start))
}

/// The sessions of `event` that overlap `window`, in order. Every session
/// lasts as long as the first one.
pub fn occurrences(event: &Event, window: &Window) -> Result<Vec<Occurrence>, CalendarError> {
    let (first, length) = first_session(event)?;
    let overlaps = |o: &Occurrence| o.end > window.start && o.start < window.end;
    let Some(rule) = &event.recurrence else {
        let o = Occurrence {
            start: first,
            end: first + length,
        };
        return Ok(if overlaps(&o) { vec![o] } else { Vec::new() });
    };
    let set = rule_set(event, rule)?;
    let mut out = Vec::new();
    for start in set.into_iter().take(MAX_SCANNED) {
        let start = start.with_timezone(&Utc);
        if start >= window.end {
            break;
        }
        let o = Occurrence {
            start,
            end: start + length,
        };
        if overlaps(&o) {
            out.push(o);
            if out.len() == MAX_OCCURRENCES {
                break;
            }
        }
    }
    Ok(out)
}

/// The last start of a bounded rule (COUNT or UNTIL), `None` for an
/// unbounded one or one longer than [`MAX_SCANNED`] steps.
pub fn last_start(event: &Event) -> Result<Option<DateTime<Utc>>, CalendarError> {
    let Some(rule) = &event.recurrence else {
        return Ok(Some(first_session(event)?.0));
    };
    let upper = rule.to_ascii_uppercase();
    if !upper.contains("COUNT=") && !upper.contains("UNTIL=") {
        return Ok(None);
    }
    let set = rule_set(event, rule)?;
    let mut last = None;
    for (i, start) in set.into_iter().enumerate() {
        if i == MAX_SCANNED {
            return Ok(None);
        }
        last = Some(start.with_timezone(&Utc));
    }
    Ok(last)
}

fn rule_set(event: &Event, rule: &str) -> Result<rrule::RRuleSet, CalendarError> {
    let err = |reason: String| CalendarError::Rule {
        id: event.id.clone(),
        rule: rule.to_owned(),
        reason,
    };
    let start = parse_local_time(&event.starts_at)
        .map_err(err)?
        .format("%Y%m%dT%H%M%S");
    let text = format!("DTSTART;TZID={}:{start}\nRRULE:{rule}", event.timezone);
    text.parse::<rrule::RRuleSet>()
        .map_err(|e| err(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::tests::sample_event;

    fn utc(y: i32, m: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, mi, 0).unwrap()
    }

    fn weekly(tz: &str, starts: &str, ends: &str, rule: &str) -> Event {
        let mut e = sample_event("e-1");
        e.timezone = tz.into();
        e.starts_at = starts.into();
        e.ends_at = ends.into();
        e.recurrence = Some(rule.into());
        e
    }

    #[test]
    fn weekly_lisbon_session_stays_at_ten_local_across_the_march_change() {
        let e = weekly(
            "Europe/Lisbon",
            "2026-03-17T10:00:00",
            "2026-03-17T12:00:00",
            "FREQ=WEEKLY;COUNT=4",
        );
        let all = Window::new(utc(2026, 1, 1, 0, 0), utc(2027, 1, 1, 0, 0));
        let occ = occurrences(&e, &all).unwrap();
        let lisbon: Tz = "Europe/Lisbon".parse().unwrap();
        let paris: Tz = "Europe/Paris".parse().unwrap();
        let local = |t: DateTime<Utc>, z: Tz| t.with_timezone(&z).format("%H:%M").to_string();
        // The change is on Sunday 29 March 2026.
        let starts: Vec<_> = occ.iter().map(|o| o.start).collect();
        assert_eq!(
            starts,
            vec![
                utc(2026, 3, 17, 10, 0),
                utc(2026, 3, 24, 10, 0),
                utc(2026, 3, 31, 9, 0),
                utc(2026, 4, 7, 9, 0),
            ]
        );
        for o in &occ {
            assert_eq!(local(o.start, lisbon), "10:00");
            assert_eq!(local(o.start, paris), "11:00");
            assert_eq!(o.end - o.start, Duration::hours(2));
        }
    }

    #[test]
    fn sofia_weekly_across_the_october_change() {
        let e = weekly(
            "Europe/Sofia",
            "2026-10-20T09:00:00",
            "2026-10-20T10:00:00",
            "FREQ=WEEKLY;COUNT=3",
        );
        let all = Window::new(utc(2026, 1, 1, 0, 0), utc(2027, 1, 1, 0, 0));
        let starts: Vec<_> = occurrences(&e, &all)
            .unwrap()
            .iter()
            .map(|o| o.start)
            .collect();
        // EEST (+03) until 25 October, then EET (+02).
        assert_eq!(
            starts,
            vec![
                utc(2026, 10, 20, 6, 0),
                utc(2026, 10, 27, 7, 0),
                utc(2026, 11, 3, 7, 0)
            ]
        );
    }

    #[test]
    fn unbounded_rules_expand_only_within_the_window() {
        let e = weekly(
            "Europe/Paris",
            "2020-01-06T14:00:00",
            "2020-01-06T15:00:00",
            "FREQ=DAILY",
        );
        let w = Window::new(utc(2026, 5, 1, 0, 0), utc(2026, 5, 8, 0, 0));
        let occ = occurrences(&e, &w).unwrap();
        assert_eq!(occ.len(), 7);
        assert_eq!(occ[0].start, utc(2026, 5, 1, 12, 0));
        assert_eq!(last_start(&e).unwrap(), None);
        let year = Window::new(utc(2020, 1, 1, 0, 0), utc(2030, 1, 1, 0, 0));
        assert_eq!(occurrences(&e, &year).unwrap().len(), MAX_OCCURRENCES);
    }

    #[test]
    fn a_single_event_overlapping_the_window_is_returned() {
        let mut e = sample_event("e-1");
        e.recurrence = None;
        let (start, _) = first_session(&e).unwrap();
        let hit = Window::new(start - Duration::days(1), start + Duration::minutes(1));
        let miss = Window::new(start - Duration::days(2), start - Duration::days(1));
        assert_eq!(occurrences(&e, &hit).unwrap().len(), 1);
        assert!(occurrences(&e, &miss).unwrap().is_empty());
    }
}
