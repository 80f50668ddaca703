use serde::{Deserialize, Serialize};

use super::attachment::{self, Attachment};
use super::validate::{self as v, ValidationError};
use crate::ids::{DocId, RecordKind};

/// What kind of training an event is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventFormat {
    #[serde(rename = "workshop")]
    Workshop,
    #[serde(rename = "webinar")]
    Webinar,
    #[serde(rename = "course")]
    Course,
    #[serde(rename = "study visit")]
    StudyVisit,
    #[serde(rename = "conference")]
    Conference,
    #[serde(rename = "peer exchange")]
    PeerExchange,
}

/// Whether an event takes place.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventStatus {
    Scheduled,
    Cancelled,
    Postponed,
}

/// An event of the training calendar (DATA-MODEL.md, "Event"). Times are the
/// organiser's wall clock in `timezone`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    pub id: String,
    pub title: String,
    /// Collaborative text.
    pub description: String,
    /// Local wall-clock time `YYYY-MM-DDTHH:MM:SS` in `timezone`.
    pub starts_at: String,
    pub ends_at: String,
    /// IANA zone name.
    pub timezone: String,
    pub format: EventFormat,
    pub organiser: String,
    pub language: String,
    /// `None` means unlimited.
    pub capacity: Option<u32>,
    /// `None` for online events.
    pub location: Option<String>,
    /// `None` for in-person events.
    pub online_url: Option<String>,
    pub status: EventStatus,
    /// An RFC 5545 RRULE.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurrence: Option<String>,
    /// Files attached (references; the bytes live in each node's file store).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
}

impl Event {
    pub fn doc_id(&self) -> DocId {
        DocId::new(RecordKind::Event, &self.id)
            .unwrap_or_else(|_| panic!("validated event id {:?}", self.id))
    }

    /// Refuse a `starts_at` or `ends_at` that happens twice in `timezone`
    /// (the repeated hour in autumn): the stored wall clock cannot say which
    /// one is meant, and the calendar would take the earlier. People adding
    /// or editing an event are asked to choose; imports keep working.
    /// `fields` limits the check to the fields named (for edits).
    pub fn check_unambiguous(&self, fields: &[&str]) -> Result<(), ValidationError> {
        let Ok(tz) = v::timezone(&self.timezone) else {
            return Ok(());
        };
        for (field, value) in [("starts_at", &self.starts_at), ("ends_at", &self.ends_at)] {
            if !fields.contains(&field) {
                continue;
            }
            if let Some((earlier, later)) = v::ambiguous_offsets(value, tz) {
                return Err(ValidationError::new(
                    RecordKind::Event,
                    &self.id,
                    field,
                    format!(
                        "{value} happens twice in {tz} (clocks go back): at UTC{earlier} and \
                         again at UTC{later}; r2com reads it as the earlier one (UTC{earlier}): \
                         pass --fold earlier to accept that, or choose another time"
                    ),
                ));
            }
        }
        Ok(())
    }

    pub fn validate(&self) -> Result<(), ValidationError> {
        let e = |field, reason: String| {
            ValidationError::new(RecordKind::Event, &self.id, field, reason)
        };
        v::record_id(&self.id).map_err(|r| e("id", r))?;
        v::title(&self.title).map_err(|r| e("title", r))?;
        v::text(&self.description, v::MAX_LONG_TEXT).map_err(|r| e("description", r))?;
        let tz = v::timezone(&self.timezone).map_err(|r| e("timezone", r))?;
        let starts = v::local_time(&self.starts_at, tz).map_err(|r| e("starts_at", r))?;
        let ends = v::local_time(&self.ends_at, tz).map_err(|r| e("ends_at", r))?;
        if ends <= starts {
            return Err(e("ends_at", "must be after starts_at".into()));
        }
        v::member_key(&self.organiser).map_err(|r| e("organiser", r))?;
        v::language(&self.language).map_err(|r| e("language", r))?;
        if self.capacity == Some(0) {
            return Err(e(
                "capacity",
                "must be at least 1 (null means unlimited)".into(),
            ));
        }
        if let Some(loc) = &self.location {
            v::title(loc).map_err(|r| e("location", r))?;
        }
        if let Some(url) = &self.online_url {
            v::https_url(url).map_err(|r| e("online_url", r))?;
        }
        if let Some(rule) = &self.recurrence {
            v::rrule(rule, &self.starts_at, &self.timezone).map_err(|r| e("recurrence", r))?;
        }
        attachment::check_all(&self.attachments).map_err(|r| e("attachments", r))?;
        Ok(())
    }
}
