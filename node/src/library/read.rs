//! Reading records: show, list with filters, and the calendar (events with
//! their revisions, the agenda, the iCalendar feed).

use chrono::{DateTime, Utc};
use serde_json::Value;

use r2com_protocol::calendar::{self, agenda::AgendaRow, ics::Revision};
use r2com_protocol::control::ListFilter;
use r2com_protocol::ids::RecordKind;
use r2com_protocol::record::Record;

use super::{decode_record, doc_id, Library, LibraryError};
use crate::store::keys;

impl Library {
    pub fn show(&self, kind: RecordKind, id: &str) -> Result<Record, LibraryError> {
        let doc_id = doc_id(kind, id)?;
        self.record(&doc_id)?.ok_or_else(|| LibraryError::NotFound {
            kind,
            id: id.to_owned(),
        })
    }

    /// Records of a kind that pass the filter (`f.full` is the caller's).
    pub fn list(&self, kind: RecordKind, f: &ListFilter) -> Result<Vec<Record>, LibraryError> {
        let mut out = Vec::new();
        for entry in self
            .store
            .scan_prefix(&keys::doc(keys::RECORD, &format!("{kind}/")))
        {
            let (_, v) = entry?;
            let record = decode_record(kind, &v)?;
            if !matches_filter(&record, f) {
                continue;
            }
            out.push(record);
        }
        Ok(out)
    }

    /// Events passing the filter, sorted by id, with their revisions.
    pub fn calendar_events(
        &self,
        f: &ListFilter,
    ) -> Result<Vec<(r2com_protocol::record::Event, Option<Revision>)>, LibraryError> {
        let mut out = Vec::new();
        let kind = RecordKind::Event;
        for entry in self
            .store
            .scan_prefix(&keys::doc(keys::RECORD, &format!("{kind}/")))
        {
            let (_, v) = entry?;
            let record = decode_record(kind, &v)?;
            if !matches_filter(&record, f) {
                continue;
            }
            if let Record::Event(e) = record {
                let rev = self.revision(&e.doc_id())?;
                out.push((e, rev));
            }
        }
        Ok(out)
    }

    /// The sessions of the filtered events between the dates `from` and
    /// `to` (inclusive, in `zone`), shown in `zone`. The filter's own
    /// `from`/`to` are ignored: the window replaces them.
    pub fn agenda(
        &self,
        from: &str,
        to: &str,
        zone: &str,
        filter: &ListFilter,
    ) -> Result<Vec<AgendaRow>, LibraryError> {
        let date = |s: &str| {
            chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
                LibraryError::BadRequest(format!("{s:?} is not a date like 2026-03-10"))
            })
        };
        let (from, to) = (date(from)?, date(to)?);
        if to < from {
            return Err(LibraryError::BadRequest(format!(
                "the agenda ends ({to}) before it starts ({from})"
            )));
        }
        let tz = calendar::parse_zone(zone)?;
        let window = calendar::agenda::day_window(from, to, tz);
        let filter = ListFilter {
            from: None,
            to: None,
            ..filter.clone()
        };
        let events = self.calendar_events(&filter)?;
        let agenda = calendar::agenda::agenda(events.iter().map(|(e, _)| e), &window, zone)?;
        log_skipped(&agenda.skipped);
        Ok(agenda.rows)
    }

    /// The filtered events as an iCalendar (RFC 5545) text, leaving out
    /// (and naming) events whose merged state does not validate.
    pub fn calendar_ics(
        &self,
        filter: &ListFilter,
        now: DateTime<Utc>,
    ) -> Result<calendar::ics::Rendered, LibraryError> {
        let events = self.calendar_events(filter)?;
        let rendered = calendar::ics::render(&events, now);
        log_skipped(&rendered.skipped);
        Ok(rendered)
    }
}

/// Events a merge left invalid are left out of calendars; say which.
fn log_skipped(skipped: &[calendar::CalendarError]) {
    for e in skipped {
        tracing::warn!(reason = %e, "an event left out of the calendar: it does not validate after merging");
    }
}

fn matches_filter(record: &Record, f: &ListFilter) -> bool {
    let eq = |want: &Option<String>, have: &str| {
        want.as_deref().is_none_or(|w| w.eq_ignore_ascii_case(have))
    };
    let has = |want: &Option<String>, set: &[String]| {
        want.as_deref()
            .is_none_or(|w| set.iter().any(|s| s.eq_ignore_ascii_case(w)))
    };
    let as_str = |v: Value| v.as_str().unwrap_or_default().to_owned();
    match record {
        Record::Practice(p) => {
            eq(&f.organisation, &p.organisation)
                && has(&f.theme, &p.themes)
                && has(&f.target_group, &p.target_groups)
                && eq(
                    &f.status,
                    &as_str(serde_json::to_value(p.status).unwrap_or_default()),
                )
                && has(&f.language, &p.languages)
                && has(&f.country, &p.countries)
                && eq(
                    &f.evidence,
                    &as_str(serde_json::to_value(p.evidence).unwrap_or_default()),
                )
        }
        Record::Event(e) => {
            let day = &e.starts_at[..10.min(e.starts_at.len())];
            eq(&f.organisation, &e.organiser)
                && eq(
                    &f.status,
                    &as_str(serde_json::to_value(e.status).unwrap_or_default()),
                )
                && eq(&f.language, &e.language)
                && eq(
                    &f.format,
                    &as_str(serde_json::to_value(e.format).unwrap_or_default()),
                )
                && f.from.as_deref().is_none_or(|from| day >= from)
                && f.to.as_deref().is_none_or(|to| day <= to)
        }
    }
}
