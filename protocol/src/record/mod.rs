//! The records of DATA-MODEL.md: [`Practice`] (the library) and [`Event`]
//! (the training calendar), their JSON shape, and validation whose errors
//! name the record and the field at fault.

pub mod attachment;
mod event;
mod practice;
mod validate;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use attachment::Attachment;
pub use event::{Event, EventFormat, EventStatus};
pub use practice::{Evidence, Practice, PracticeStatus};
pub use validate::{ambiguous_offsets, parse_local_time, ValidationError};

/// Field checks shared with the roster.
pub mod validate_member_fields {
    pub use super::validate::{country, member_key};

    pub fn display_name(s: &str) -> Result<(), String> {
        super::validate::title(s)
    }

    pub fn timestamp(s: &str) -> Result<(), String> {
        super::validate::utc_timestamp(s).map(|_| ())
    }
}

use crate::ids::{DocId, RecordKind};

/// Either kind of record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Record {
    Practice(Practice),
    Event(Event),
}

impl From<Practice> for Record {
    fn from(p: Practice) -> Self {
        Record::Practice(p)
    }
}

impl From<Event> for Record {
    fn from(e: Event) -> Self {
        Record::Event(e)
    }
}

impl Record {
    pub fn kind(&self) -> RecordKind {
        match self {
            Record::Practice(_) => RecordKind::Practice,
            Record::Event(_) => RecordKind::Event,
        }
    }

    pub fn id(&self) -> &str {
        match self {
            Record::Practice(p) => &p.id,
            Record::Event(e) => &e.id,
        }
    }

    pub fn doc_id(&self) -> DocId {
        match self {
            Record::Practice(p) => p.doc_id(),
            Record::Event(e) => e.doc_id(),
        }
    }

    pub fn validate(&self) -> Result<(), ValidationError> {
        match self {
            Record::Practice(p) => p.validate(),
            Record::Event(e) => e.validate(),
        }
    }

    /// Sort and de-duplicate the set-valued fields.
    pub fn normalize(&mut self) {
        match self {
            Record::Practice(p) => p.normalize(),
            Record::Event(e) => attachment::normalize(&mut e.attachments),
        }
    }

    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).expect("records serialize")
    }

    /// Parse a record of `kind` from JSON, naming the record and the field at
    /// fault, then normalize and validate it.
    pub fn from_value(kind: RecordKind, value: Value) -> Result<Record, ValidationError> {
        let id = value
            .get("id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_default();
        let mut record = match kind {
            RecordKind::Practice => Record::Practice(
                serde_path_to_error::deserialize(value)
                    .map_err(|e| ValidationError::from_serde(kind, &id, e))?,
            ),
            RecordKind::Event => Record::Event(
                serde_path_to_error::deserialize(value)
                    .map_err(|e| ValidationError::from_serde(kind, &id, e))?,
            ),
        };
        record.normalize();
        record.validate()?;
        Ok(record)
    }

    /// The folded text that full-text search looks at, fields separated by
    /// [`crate::search::FIELD_SEP`]: title, summary, body (description for
    /// events, with an empty summary).
    pub fn search_text(&self) -> String {
        match self {
            Record::Practice(p) => crate::search::index_text(&p.title, &p.summary, &p.body),
            Record::Event(e) => crate::search::index_text(&e.title, "", &e.description),
        }
    }

    pub fn attachments(&self) -> &[Attachment] {
        match self {
            Record::Practice(p) => &p.attachments,
            Record::Event(e) => &e.attachments,
        }
    }

    pub fn attachments_mut(&mut self) -> &mut Vec<Attachment> {
        match self {
            Record::Practice(p) => &mut p.attachments,
            Record::Event(e) => &mut e.attachments,
        }
    }

    /// The organisation the record belongs to: a practice's
    /// `organisation`, an event's `organiser`.
    pub fn organisation(&self) -> &str {
        match self {
            Record::Practice(p) => &p.organisation,
            Record::Event(e) => &e.organiser,
        }
    }

    pub fn title(&self) -> &str {
        match self {
            Record::Practice(p) => &p.title,
            Record::Event(e) => &e.title,
        }
    }
}

/// The import/export file: `{"practices": [...], "events": [...]}`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dataset {
    #[serde(default)]
    pub practices: Vec<Practice>,
    #[serde(default)]
    pub events: Vec<Event>,
}

/// Why a dataset file was refused as a whole.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error("{0}")]
    Shape(String),
    #[error("{0}")]
    Record(#[from] ValidationError),
    #[error("{kind} {id}: appears more than once in the file")]
    Duplicate { kind: RecordKind, id: String },
}

impl Dataset {
    /// Parse and validate every record of a dataset given as JSON. Nothing is
    /// partially accepted: the first invalid record is the error.
    pub fn from_value(value: Value) -> Result<Vec<Record>, DatasetError> {
        let Value::Object(mut map) = value else {
            return Err(DatasetError::Shape(
                "the file must be a JSON object {\"practices\": [...], \"events\": [...]}".into(),
            ));
        };
        if let Some(k) = map
            .keys()
            .find(|k| k.as_str() != "practices" && k.as_str() != "events")
        {
            return Err(DatasetError::Shape(format!(
                "unexpected top-level key {k:?} (expected \"practices\" and \"events\")"
            )));
        }
        let mut out = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (key, kind) in [
            ("practices", RecordKind::Practice),
            ("events", RecordKind::Event),
        ] {
            let items = match map.remove(key) {
                None | Some(Value::Null) => continue,
                Some(Value::Array(items)) => items,
                Some(_) => return Err(DatasetError::Shape(format!("\"{key}\" must be a list"))),
            };
            for (i, item) in items.into_iter().enumerate() {
                if !item.is_object() {
                    return Err(DatasetError::Shape(format!(
                        "{key}[{i}] is not a JSON object"
                    )));
                }
                let record = Record::from_value(kind, item).map_err(|mut e| {
                    if e.id.is_empty() {
                        e.id = format!("#{i}");
                    }
                    e
                })?;
                if !seen.insert(record.doc_id()) {
                    return Err(DatasetError::Duplicate {
                        kind,
                        id: record.id().to_owned(),
                    });
                }
                out.push(record);
            }
        }
        Ok(out)
    }

    /// Split records into a dataset sorted by id.
    pub fn from_records(records: impl IntoIterator<Item = Record>) -> Dataset {
        let mut d = Dataset::default();
        for r in records {
            match r {
                Record::Practice(p) => d.practices.push(p),
                Record::Event(e) => d.events.push(e),
            }
        }
        d.practices.sort_by(|a, b| a.id.cmp(&b.id));
        d.events.sort_by(|a, b| a.id.cmp(&b.id));
        d
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    pub(crate) fn practice_json(id: &str) -> Value {
        json!({
            "id": id, "title": "Mentoring after release", "summary": "Short summary.",
            "body": "Réinserção body text.\n\nSecond paragraph.",
            "themes": ["mentoring", "exit work"], "target_groups": ["released offenders"],
            "countries": ["FR", "XK"], "languages": ["fr", "en"], "organisation": "lmds",
            "evidence": "not yet evaluated", "contact": "team@example.org", "status": "published",
            "created_at": "2025-03-01T10:00:00Z", "updated_at": "2025-04-01T10:00:00Z"
        })
    }

    pub(crate) fn event_json(id: &str) -> Value {
        json!({
            "id": id, "title": "Workshop: screening", "description": "Bring, your; notes.\nЗдравейте",
            "starts_at": "2026-03-10T10:00:00", "ends_at": "2026-03-10T12:00:00",
            "timezone": "Europe/Lisbon", "format": "study visit", "organiser": "ips",
            "language": "pt", "capacity": 20, "location": null,
            "online_url": "https://meet.example.org/ips-1", "status": "scheduled",
            "recurrence": "FREQ=WEEKLY;BYDAY=TU;COUNT=10"
        })
    }

    pub(crate) fn sample_practice(id: &str) -> Practice {
        match Record::from_value(RecordKind::Practice, practice_json(id)).unwrap() {
            Record::Practice(p) => p,
            _ => unreachable!(),
        }
    }

    pub(crate) fn sample_event(id: &str) -> Event {
        match Record::from_value(RecordKind::Event, event_json(id)).unwrap() {
            Record::Event(e) => e,
            _ => unreachable!(),
        }
    }

    fn err(kind: RecordKind, v: Value) -> String {
        Record::from_value(kind, v).unwrap_err().to_string()
    }

    #[test]
    fn samples_are_valid_and_sets_are_normalized() {
        let p = sample_practice("p-1");
        assert_eq!(p.themes, vec!["exit work", "mentoring"]);
        assert_eq!(p.languages, vec!["en", "fr"]);
        sample_event("e-1");
    }

    #[test]
    fn errors_name_record_and_field() {
        let mut v = practice_json("p-7");
        v["contact"] = json!("not-an-address");
        assert_eq!(
            err(RecordKind::Practice, v),
            "practice p-7: field `contact`: \"not-an-address\" is not an e-mail address"
        );
        let mut v = practice_json("p-7");
        v["evidence"] = json!("rumour");
        let e = err(RecordKind::Practice, v);
        assert!(
            e.starts_with("practice p-7: field `evidence`: unknown variant"),
            "{e}"
        );
        let mut v = practice_json("p-7");
        v["title"] = json!("");
        assert!(err(RecordKind::Practice, v).contains("field `title`"));
        let mut v = practice_json("p-7");
        v["created_at"] = json!("2025-03-01 10:00");
        assert!(err(RecordKind::Practice, v).contains("field `created_at`"));
        let mut v = practice_json("p-7");
        v["countries"] = json!(["FR", "ZZ"]);
        assert!(err(RecordKind::Practice, v).contains("field `countries`: \"ZZ\""));
        let mut v = practice_json("p-7");
        v["languages"] = json!(["xx"]);
        assert!(err(RecordKind::Practice, v).contains("field `languages`"));
        let mut v = practice_json("p-7");
        v["color"] = json!("red");
        assert!(err(RecordKind::Practice, v).contains("unknown field `color`"));
        let mut v = practice_json("p 7");
        v["status"] = json!("published");
        assert!(err(RecordKind::Practice, v).contains("field `id`"));

        let mut v = event_json("e-3");
        v["timezone"] = json!("Europe/Atlantis");
        assert!(err(RecordKind::Event, v).starts_with("event e-3: field `timezone`"));
        let mut v = event_json("e-3");
        v["ends_at"] = json!("2026-03-10T09:00:00");
        assert!(err(RecordKind::Event, v).contains("field `ends_at`: must be after starts_at"));
        let mut v = event_json("e-3");
        v["recurrence"] = json!("FREQ=SOMETIMES");
        assert!(err(RecordKind::Event, v).contains("field `recurrence`"));
        let mut v = event_json("e-3");
        v["online_url"] = json!("http://meet.example.org/x");
        assert!(err(RecordKind::Event, v).contains("field `online_url`"));
        let mut v = event_json("e-3");
        v["format"] = json!("party");
        assert!(err(RecordKind::Event, v).contains("field `format`"));
        let mut v = event_json("e-3");
        v["starts_at"] = json!("2026-03-29T02:30:00");
        v["ends_at"] = json!("2026-03-29T04:00:00");
        v["timezone"] = json!("Europe/Paris");
        v["recurrence"] = Value::Null;
        let e = err(RecordKind::Event, v);
        assert!(
            e.contains("field `starts_at`: 2026-03-29T02:30:00 does not exist in Europe/Paris"),
            "{e}"
        );
    }

    #[test]
    fn dataset_rejects_duplicates_and_bad_shape() {
        let d = json!({"practices": [practice_json("p-1"), practice_json("p-1")]});
        assert!(matches!(
            Dataset::from_value(d),
            Err(DatasetError::Duplicate { .. })
        ));
        assert!(Dataset::from_value(json!([1])).is_err());
        assert!(Dataset::from_value(json!({"practice": []})).is_err());
        let d = json!({"practices": [practice_json("p-1")], "events": [event_json("e-1")]});
        assert_eq!(Dataset::from_value(d).unwrap().len(), 2);
    }
}
