//! The training calendar, computed from events as organisers wrote them
//! (wall clock + IANA zone): recurrence expansion across daylight-saving
//! changes ([`expand`]), agenda rows in a reader's zone, and the RFC 5545
//! iCalendar rendering with generated VTIMEZONE components ([`ics`],
//! [`vtimezone`]).
//!
//! Pure: no IO and no clock; `now` is passed in where it matters.
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use r2com_protocol::calendar::expand::{occurrences, Window};
//! # let event: r2com_protocol::record::Event = serde_json::from_value(serde_json::json!({
//! #   "id": "e-1", "title": "Weekly", "description": "", "starts_at": "2026-03-17T10:00:00",
//! #   "ends_at": "2026-03-17T12:00:00", "timezone": "Europe/Lisbon", "format": "webinar",
//! #   "organiser": "ips", "language": "pt", "capacity": null, "location": null,
//! #   "online_url": "https://example.org/w", "status": "scheduled",
//! #   "recurrence": "FREQ=WEEKLY;COUNT=4"})).unwrap();
//! let window = Window::new(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
//!                          Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap());
//! let occ = occurrences(&event, &window).unwrap();
//! assert_eq!(occ.len(), 4);
//! // 10:00 in Lisbon is 10:00 UTC before the March change and 09:00 UTC after.
//! assert_eq!(occ[1].start, Utc.with_ymd_and_hms(2026, 3, 24, 10, 0, 0).unwrap());
//! assert_eq!(occ[2].start, Utc.with_ymd_and_hms(2026, 3, 31, 9, 0, 0).unwrap());
//! ```

pub mod agenda;
pub mod expand;
pub mod ics;
pub mod vtimezone;

/// Why a calendar could not be computed for an event. An event merged from
/// peers' changes can fail validation (two valid concurrent edits, or a
/// crafted change): the calendar leaves such an event out and reports it
/// ([`CalendarError::Invalid`]) rather than failing; the other variants mean
/// a request with a bad parameter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// The event does not validate (it names the record and the field).
    #[error("{0}")]
    Invalid(#[from] crate::record::ValidationError),
    /// The zone name is not an IANA zone.
    #[error("{0:?} is not an IANA time zone (Europe/Paris, ...)")]
    Zone(String),
    /// A wall-clock time does not parse or does not exist in its zone.
    #[error("event {id}: {reason}")]
    Time {
        /// The event id.
        id: String,
        /// What is wrong with the time.
        reason: String,
    },
    /// The recurrence rule does not parse.
    #[error("event {id}: recurrence {rule:?}: {reason}")]
    Rule {
        /// The event id.
        id: String,
        /// The stored RRULE.
        rule: String,
        /// What the rrule crate said.
        reason: String,
    },
}

/// Parse an IANA zone name.
pub fn parse_zone(name: &str) -> Result<chrono_tz::Tz, CalendarError> {
    name.parse()
        .map_err(|_| CalendarError::Zone(name.to_owned()))
}
