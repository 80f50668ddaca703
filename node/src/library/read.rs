//! Reading records: show, list with filters, and the calendar (events with
//! their revisions, the agenda, the iCalendar feed).

use chrono::{DateTime, Utc};

use r2com_protocol::calendar::{self, agenda::AgendaRow, ics::Revision};
use r2com_protocol::control::{EventRow, ListFilter, PracticeRow};
use r2com_protocol::ids::RecordKind;
use r2com_protocol::record::{Event, Practice, Record};

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

    /// Records of a kind that pass the filter, in id order (`f.full` is
    /// the caller's; `f.after` and `f.limit` page them).
    pub fn list(&self, kind: RecordKind, f: &ListFilter) -> Result<Vec<Record>, LibraryError> {
        let prefix = keys::doc(keys::RECORD, &format!("{kind}/"));
        let after = f.after.as_ref().map_or_else(Vec::new, |id| {
            keys::doc(keys::RECORD, &format!("{kind}/{id}"))
        });
        let mut out = Vec::new();
        for entry in self.store.scan_after(&prefix, &after) {
            if out.len() == f.page_size() {
                break;
            }
            let (_, v) = entry?;
            let record = decode_record(kind, &v)?;
            if !matches_filter(&record, f) {
                continue;
            }
            out.push(record);
        }
        Ok(out)
    }

    /// The summary rows of the practices passing the filter (what `list`
    /// shows without `--full`), in id order, from the catalog (`f.after`
    /// and `f.limit` page them).
    pub fn practice_rows(&self, f: &ListFilter) -> Result<Vec<PracticeRow>, LibraryError> {
        self.catalog.read(&*self.store, |c| {
            let groups = c.groups();
            c.practices(f.after.as_deref())
                .filter(|p| matches_practice(p, f))
                .take(f.page_size())
                .map(|p| PracticeRow {
                    translations: groups.others(&p.id),
                    ..PracticeRow::from(&p)
                })
                .collect()
        })
    }

    /// The summary rows of the events passing the filter, in id order,
    /// from the catalog (`f.after` and `f.limit` page them).
    pub fn event_rows(&self, f: &ListFilter) -> Result<Vec<EventRow>, LibraryError> {
        self.catalog.read(&*self.store, |c| {
            c.events(f.after.as_deref())
                .filter(|e| matches_event(e, f))
                .take(f.page_size())
                .map(|e| EventRow::from(&e))
                .collect()
        })
    }

    /// Run `f` over every practice held, without its summary and body
    /// (what the library's filter choices are made of), in id order.
    pub fn with_practice_outlines<T>(
        &self,
        f: impl FnOnce(&mut dyn Iterator<Item = Practice>) -> T,
    ) -> Result<T, LibraryError> {
        self.catalog
            .read(&*self.store, |c| f(&mut c.practices(None)))
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

pub(super) fn matches_filter(record: &Record, f: &ListFilter) -> bool {
    match record {
        Record::Practice(p) => matches_practice(p, f),
        Record::Event(e) => matches_event(e, f),
    }
}

/// `want` is not set, or is `have` (ASCII case ignored).
fn eq(want: &Option<String>, have: &str) -> bool {
    want.as_deref().is_none_or(|w| w.eq_ignore_ascii_case(have))
}

/// `want` is not set, or is one of `set` (ASCII case ignored).
fn has(want: &Option<String>, set: &[String]) -> bool {
    want.as_deref()
        .is_none_or(|w| set.iter().any(|s| s.eq_ignore_ascii_case(w)))
}

/// `want` is not set, or is the name `v` serializes to (ASCII case
/// ignored); `v` is serialized only when `want` is set.
fn eq_name(want: &Option<String>, v: impl serde::Serialize) -> bool {
    want.is_none() || {
        let name = serde_json::to_value(v).unwrap_or_default();
        eq(want, name.as_str().unwrap_or_default())
    }
}

fn matches_practice(p: &Practice, f: &ListFilter) -> bool {
    eq(&f.organisation, &p.organisation)
        && has(&f.theme, &p.themes)
        && has(&f.target_group, &p.target_groups)
        && eq_name(&f.status, p.status)
        && has(&f.language, &p.languages)
        && has(&f.country, &p.countries)
        && eq_name(&f.evidence, p.evidence)
}

fn matches_event(e: &Event, f: &ListFilter) -> bool {
    let day = &e.starts_at[..10.min(e.starts_at.len())];
    eq(&f.organisation, &e.organiser)
        && eq_name(&f.status, e.status)
        && eq(&f.language, &e.language)
        && eq_name(&f.format, e.format)
        && f.from.as_deref().is_none_or(|from| day >= from)
        && f.to.as_deref().is_none_or(|to| day <= to)
}
