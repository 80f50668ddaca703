//! Records as automerge documents: one document per record.
//!
//! Layout of a record's document root:
//!
//! | key | automerge type | why |
//! |---|---|---|
//! | `type` | string | `practice` or `event`, so a document cannot change kind |
//! | `deleted` | bool | tombstone: removal is itself a (signed) change |
//! | `summary`, `body`, `description` | Text | edited together: concurrent edits merge |
//! | `themes`, `target_groups`, `countries`, `languages` | Map item -> true | sets: concurrent adds and removals merge |
//! | `attachments` | Map hash -> Map of the reference's fields | a set keyed by file: concurrent attaches all kept |
//! | every other field | scalar (string, int, null; absent if optional) | last writer wins, deterministically by op id |
//!
//! Only the long fields are collaborative text: loading a document with Text
//! costs about ten times one with scalars, and nobody edits a title or a time
//! zone together. Updates write only the fields that changed, and text
//! fields are updated with a diff, so a change is about the size of the edit.
//!
//! Every change's actor id is its author's public key.

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{
    ActorId, AutoCommit, Change, ObjType, ReadDoc, ScalarValue, Value as AmValue, ROOT,
};
use serde_json::{Map, Value};

mod chain;
mod refs;
#[cfg(test)]
mod tests;

use crate::identity::NodeKey;
use crate::ids::RecordKind;
use crate::record::Record;

pub use chain::check_own_chain;

/// How a record field is held in its document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldKind {
    /// A scalar: string, integer or null; absent when the record omits it.
    Scalar,
    /// Collaborative text.
    Text,
    /// A set of strings, as a map from item to `true`.
    Set,
    /// File references, as a map from hash to a map of the other fields.
    Refs,
}

use FieldKind::*;

const PRACTICE_FIELDS: &[(&str, FieldKind)] = &[
    ("id", Scalar),
    ("title", Scalar),
    ("summary", Text),
    ("body", Text),
    ("themes", Set),
    ("target_groups", Set),
    ("countries", Set),
    ("languages", Set),
    ("organisation", Scalar),
    ("evidence", Scalar),
    ("contact", Scalar),
    ("status", Scalar),
    ("created_at", Scalar),
    ("updated_at", Scalar),
    ("attachments", Refs),
    ("translation_of", Scalar),
    ("language", Scalar),
];

const EVENT_FIELDS: &[(&str, FieldKind)] = &[
    ("id", Scalar),
    ("title", Scalar),
    ("description", Text),
    ("starts_at", Scalar),
    ("ends_at", Scalar),
    ("timezone", Scalar),
    ("format", Scalar),
    ("organiser", Scalar),
    ("language", Scalar),
    ("capacity", Scalar),
    ("location", Scalar),
    ("online_url", Scalar),
    ("status", Scalar),
    ("recurrence", Scalar),
    ("attachments", Refs),
];

/// The fields of a kind of record and how each is held.
pub fn fields(kind: RecordKind) -> &'static [(&'static str, FieldKind)] {
    match kind {
        RecordKind::Practice => PRACTICE_FIELDS,
        RecordKind::Event => EVENT_FIELDS,
    }
}

/// Why a document could not be written or read as a record.
#[derive(Debug, thiserror::Error)]
pub enum DocError {
    #[error("automerge: {0}")]
    Automerge(#[from] automerge::AutomergeError),
    /// The document does not hold a record of the expected shape (a peer
    /// wrote something else, or it is empty).
    #[error("document does not hold a valid record: {0}")]
    Shape(String),
    /// This node's own changes to the document wait for changes it no
    /// longer holds (see [`check_own_chain`]).
    #[error("{0} of this node's own changes to it wait for changes of other members that this node no longer holds (a revocation took them away); it can be edited again once a sync brings them back")]
    OwnChangesWaiting(usize),
}

/// The actor id of every change `key` makes.
pub fn actor_for(key: &NodeKey) -> ActorId {
    ActorId::from(&key.public().to_bytes()[..])
}

/// A new document holding `record`, and the one change that created it.
/// `time_ms` is the change timestamp (milliseconds since the epoch).
pub fn create(
    key: &NodeKey,
    record: &Record,
    time_ms: i64,
) -> Result<(AutoCommit, Change), DocError> {
    let mut doc = AutoCommit::new().with_actor(actor_for(key));
    doc.put(ROOT, "type", record.kind().as_str())?;
    doc.put(ROOT, "deleted", false)?;
    write_fields(&mut doc, record.kind(), None, &record.to_value())?;
    let change = commit(&mut doc, time_ms).expect("a new document has ops");
    Ok((doc, change))
}

/// Write the fields that differ between `old` and `new` (`old` being what
/// the document holds now) as one change. `None` when nothing differs.
pub fn update(
    doc: &mut AutoCommit,
    key: &NodeKey,
    old: &Record,
    new: &Record,
    time_ms: i64,
) -> Result<Option<Change>, DocError> {
    if old.kind() != new.kind() || old.id() != new.id() {
        return Err(DocError::Shape(
            "a record cannot change its kind or id".into(),
        ));
    }
    doc.set_actor(actor_for(key));
    if is_deleted(doc) {
        doc.put(ROOT, "deleted", false)?;
    }
    write_fields(doc, new.kind(), Some(&old.to_value()), &new.to_value())?;
    Ok(commit(doc, time_ms))
}

/// Mark the record deleted (or restore it). `None` if already so.
pub fn set_deleted(
    doc: &mut AutoCommit,
    key: &NodeKey,
    deleted: bool,
    time_ms: i64,
) -> Result<Option<Change>, DocError> {
    if is_deleted(doc) == deleted {
        return Ok(None);
    }
    doc.set_actor(actor_for(key));
    doc.put(ROOT, "deleted", deleted)?;
    Ok(commit(doc, time_ms))
}

/// Write single-value fields (or `deleted`) whether or not the document
/// shows these values already: each put supersedes every concurrent value
/// of its field, so the change settles a conflict on every node that
/// applies it. `None` (or JSON null for a field that is absent when
/// empty) removes the field.
pub fn settle(
    doc: &mut AutoCommit,
    key: &NodeKey,
    values: &[(&str, Option<&Value>)],
    time_ms: i64,
) -> Result<Change, DocError> {
    let kind = kind_of(doc)?;
    doc.set_actor(actor_for(key));
    for &(name, value) in values {
        let scalar = name == "deleted"
            || fields(kind)
                .iter()
                .any(|&(n, how)| n == name && how == Scalar);
        if !scalar || name == "id" {
            return Err(DocError::Shape(format!(
                "`{name}` is not a single-value field of a {kind}"
            )));
        }
        match value {
            None => {
                if doc.get(ROOT, name)?.is_some() {
                    doc.delete(ROOT, name)?;
                }
            }
            Some(v) => doc.put(ROOT, name, json_to_scalar(name, v)?)?,
        }
    }
    commit(doc, time_ms).ok_or_else(|| DocError::Shape("nothing to settle".into()))
}

fn commit(doc: &mut AutoCommit, time_ms: i64) -> Option<Change> {
    doc.commit_with(CommitOptions::default().with_time(time_ms))?;
    doc.get_last_local_change()
}

pub fn is_deleted(doc: &AutoCommit) -> bool {
    matches!(doc.get(ROOT, "deleted"), Ok(Some((AmValue::Scalar(s), _))) if matches!(s.as_ref(), ScalarValue::Boolean(true)))
}

/// The kind of record a document holds.
pub fn kind_of(doc: &AutoCommit) -> Result<RecordKind, DocError> {
    match doc.get(ROOT, "type")? {
        Some((AmValue::Scalar(s), _)) => match s.as_ref() {
            ScalarValue::Str(t) if t.as_str() == "practice" => Ok(RecordKind::Practice),
            ScalarValue::Str(t) if t.as_str() == "event" => Ok(RecordKind::Event),
            _ => Err(DocError::Shape("unknown `type`".into())),
        },
        _ => Err(DocError::Shape("no `type`".into())),
    }
}

fn write_fields(
    doc: &mut AutoCommit,
    kind: RecordKind,
    old: Option<&Value>,
    new: &Value,
) -> Result<(), DocError> {
    for &(name, how) in fields(kind) {
        let new_v = new.get(name);
        let old_v = old.and_then(|o| o.get(name));
        if old.is_some() && new_v == old_v {
            continue;
        }
        match how {
            Scalar => match new_v {
                None => {
                    if doc.get(ROOT, name)?.is_some() {
                        doc.delete(ROOT, name)?;
                    }
                }
                Some(v) => doc.put(ROOT, name, json_to_scalar(name, v)?)?,
            },
            Text => {
                let text = new_v.and_then(Value::as_str).unwrap_or_default();
                match doc.get(ROOT, name)? {
                    Some((AmValue::Object(ObjType::Text), id)) => doc.update_text(&id, text)?,
                    _ => {
                        let id = doc.put_object(ROOT, name, ObjType::Text)?;
                        doc.splice_text(&id, 0, 0, text)?;
                    }
                }
            }
            Refs => refs::write(doc, name, new_v)?,
            Set => {
                let items: Vec<&str> = new_v
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                let id = match doc.get(ROOT, name)? {
                    Some((AmValue::Object(ObjType::Map), id)) => id,
                    _ => doc.put_object(ROOT, name, ObjType::Map)?,
                };
                let present: Vec<String> = doc.keys(&id).collect();
                for k in &present {
                    if !items.contains(&k.as_str()) {
                        doc.delete(&id, k.as_str())?;
                    }
                }
                for item in items {
                    if !present.iter().any(|p| p == item) {
                        doc.put(&id, item, true)?;
                    }
                }
            }
        }
    }
    Ok(())
}

pub(crate) fn json_to_scalar(name: &str, v: &Value) -> Result<ScalarValue, DocError> {
    Ok(match v {
        Value::Null => ScalarValue::Null,
        Value::String(s) => ScalarValue::Str(s.as_str().into()),
        Value::Number(n) if n.is_i64() => ScalarValue::Int(n.as_i64().expect("i64")),
        Value::Bool(b) => ScalarValue::Boolean(*b),
        _ => return Err(DocError::Shape(format!("field `{name}` is not a scalar"))),
    })
}

/// The record a document holds, deserialized and normalized, not
/// validated: a merge of valid edits (or a crafted change) can give a
/// record that breaks a rule, e.g. an event whose end, moved by one
/// member, falls before its start, moved by another. No edit wins over the
/// other: the merged record is kept as it is (so it can be listed and an edit
/// can fix it), and every reader that shows records to people
/// or other programs (calendar feed and export, agenda) validates it with
/// [`Record::validate`] and leaves it out, naming it and the field.
pub fn read(doc: &mut AutoCommit) -> Result<Record, DocError> {
    let kind = kind_of(doc)?;
    let mut map = Map::new();
    for &(name, how) in fields(kind) {
        if how == Refs {
            if let Some(list) = refs::read(doc, name)? {
                map.insert(name.to_owned(), list);
            }
            continue;
        }
        let Some((value, id)) = doc.get(ROOT, name)? else {
            continue;
        };
        let json = match (how, value) {
            (_, AmValue::Object(ObjType::Text)) => Value::String(doc.text(&id)?),
            (Set, AmValue::Object(ObjType::Map)) => {
                Value::Array(doc.keys(&id).map(Value::String).collect())
            }
            (_, AmValue::Scalar(s)) => match s.as_ref() {
                ScalarValue::Null => Value::Null,
                ScalarValue::Str(t) => Value::String(t.to_string()),
                ScalarValue::Int(i) => Value::from(*i),
                ScalarValue::Uint(u) => Value::from(*u),
                ScalarValue::Boolean(b) => Value::Bool(*b),
                _ => {
                    return Err(DocError::Shape(format!(
                        "field `{name}` has an unexpected type"
                    )))
                }
            },
            _ => {
                return Err(DocError::Shape(format!(
                    "field `{name}` has an unexpected type"
                )))
            }
        };
        map.insert(name.to_owned(), json);
    }
    let value = Value::Object(map);
    let mut record = match kind {
        RecordKind::Practice => Record::Practice(
            serde_json::from_value(value).map_err(|e| DocError::Shape(e.to_string()))?,
        ),
        RecordKind::Event => Record::Event(
            serde_json::from_value(value).map_err(|e| DocError::Shape(e.to_string()))?,
        ),
    };
    record.normalize();
    Ok(record)
}
