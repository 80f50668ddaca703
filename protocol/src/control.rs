//! The node's local control API: requests from the CLI and the frames the
//! node answers with. JSON, one length-prefixed frame each way (the node
//! may send progress frames before the final one).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ids::RecordKind;
use crate::record::{Record, ValidationError};
use crate::roster::{OrgInfo, Role};

/// Largest request frame (an import of the full dataset is about 15 MB).
pub const MAX_REQUEST_LEN: usize = 256 * 1024 * 1024;
/// Largest response frame.
pub const MAX_RESPONSE_LEN: usize = 1024 * 1024 * 1024;

/// What the CLI asks of the node.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// This node's identity and counts.
    Status,
    /// Import a dataset (`{"practices": [...], "events": [...]}`), all or nothing.
    Import { data: Value },
    /// Every record, as a dataset.
    Export,
    /// Records of a kind, filtered.
    List {
        kind: RecordKind,
        #[serde(default)]
        filter: ListFilter,
    },
    /// One record.
    Show { kind: RecordKind, id: String },
    /// Add a new record (an error if the id exists).
    Add {
        kind: RecordKind,
        record: Value,
        /// Accept an event time that happens twice (the repeated autumn
        /// hour) as its earlier occurrence instead of refusing it.
        #[serde(default)]
        accept_ambiguous: bool,
    },
    /// Change fields of a record.
    Edit {
        kind: RecordKind,
        id: String,
        edits: Vec<Edit>,
        /// As for `Add`.
        #[serde(default)]
        accept_ambiguous: bool,
    },
    /// Delete a record.
    Remove { kind: RecordKind, id: String },
    /// Full-text search.
    Search { query: String, limit: usize },
    /// Re-check every stored signature.
    Verify,
    /// Found a consortium; this node's organisation is its first admin.
    ConsortiumCreate { name: String, org: OrgInfo },
    /// Issue an invite token (admins only).
    Invite {
        org: OrgInfo,
        /// Invitee node key: 64 hex digits or a PeerId.
        key: String,
        admin: bool,
        expires_secs: i64,
        addrs: Vec<String>,
    },
    /// Take up an invite.
    Join { token: String },
    /// The roster.
    Members,
    /// Revoke an organisation (short key) or a node key (admins only).
    Revoke { target: String, reason: String },
    /// Promote or demote an organisation (admins only).
    SetRole { org: String, role: Role },
    /// Every roster entry, for hand-over.
    RosterExport,
    /// Store the valid entries of a roster file.
    RosterImport { data: Value },
    /// Every signed change, for hand-over.
    ChangesExport,
    /// Accept signed changes from another member.
    ChangesImport { data: Value },
    /// Every member node: connected or not, addresses, last sync, lacks, bytes.
    Peers,
    /// Run a sync round now with one peer (PeerId or key) or all, and wait.
    Sync { peer: Option<String> },
    /// Remember a peer address and dial it.
    PeerAdd { addr: String },
    /// Every session of the filtered events between two dates (inclusive,
    /// `YYYY-MM-DD` in `zone`), recurrences expanded, shown in `zone`.
    CalendarAgenda {
        from: String,
        to: String,
        /// The reader's IANA zone.
        zone: String,
        #[serde(default)]
        filter: ListFilter,
    },
    /// The filtered events as an RFC 5545 iCalendar text (a JSON string).
    CalendarIcs {
        #[serde(default)]
        filter: ListFilter,
    },
}

/// Filters of `practice list` / `event list`. Absent fields do not filter.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ListFilter {
    /// Owning organisation (practices) or organiser (events).
    pub organisation: Option<String>,
    pub theme: Option<String>,
    pub target_group: Option<String>,
    pub status: Option<String>,
    pub language: Option<String>,
    pub country: Option<String>,
    pub evidence: Option<String>,
    pub format: Option<String>,
    /// Events starting on or after this date (`YYYY-MM-DD`, organiser's zone).
    pub from: Option<String>,
    /// Events starting on or before this date.
    pub to: Option<String>,
    /// Whole records rather than summary rows.
    pub full: bool,
}

/// One change to a record's fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "edit", rename_all = "snake_case", deny_unknown_fields)]
pub enum Edit {
    /// Set a field from its text form: sets as comma-separated lists,
    /// `null` (or empty) to clear an optional field.
    Set { field: String, value: String },
    /// Splice a text field: delete `delete` characters at character
    /// position `pos`, insert `insert`.
    Splice {
        field: String,
        pos: usize,
        delete: usize,
        insert: String,
    },
}

/// A frame the node sends.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Frame {
    Progress { done: u64, total: u64 },
    Ok(Value),
    Error(ApiError),
}

/// What went wrong, with a code a script (and the CLI's exit code) can use.
#[derive(Clone, Debug, Serialize, Deserialize, thiserror::Error, PartialEq, Eq)]
#[error("{message}")]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Bad input: an invalid record, field or request. Nothing changed.
    Invalid,
    /// No such record.
    NotFound,
    /// The record exists already.
    Exists,
    /// `verify` found bad signatures or changes.
    VerifyFailed,
    /// Storage or other internal failure.
    Internal,
    /// The node is not running, or its network is down.
    Unavailable,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
        }
    }
}

impl From<ValidationError> for ApiError {
    fn from(e: ValidationError) -> Self {
        ApiError::new(ErrorCode::Invalid, e.to_string())
    }
}

/// Apply edits to a record, giving the new, validated record.
pub fn apply_edits(record: &Record, edits: &[Edit]) -> Result<Record, ValidationError> {
    let kind = record.kind();
    let id = record.id().to_owned();
    let err = |field: &str, reason: String| ValidationError::new(kind, &id, field, reason);
    let mut value = record.to_value();
    let obj = value.as_object_mut().expect("records are objects");
    for edit in edits {
        let field = match edit {
            Edit::Set { field, .. } | Edit::Splice { field, .. } => field.as_str(),
        };
        let how = crate::doc::fields(kind)
            .iter()
            .find(|(name, _)| *name == field)
            .map(|(_, how)| *how)
            .ok_or_else(|| err(field, "no such field".into()))?;
        if field == "id" {
            return Err(err(field, "the id of a record cannot change".into()));
        }
        match edit {
            Edit::Set { value: text, .. } => {
                let new = match (how, field) {
                    (crate::doc::FieldKind::Set, _) => Value::Array(
                        text.split(',')
                            .map(str::trim)
                            .filter(|s| !s.is_empty())
                            .map(|s| Value::String(s.to_owned()))
                            .collect(),
                    ),
                    (_, "capacity") => match text.trim() {
                        "" | "null" | "unlimited" => Value::Null,
                        n => Value::from(n.parse::<u32>().map_err(|_| {
                            err(
                                field,
                                format!("{n:?} is not a number (or null for unlimited)"),
                            )
                        })?),
                    },
                    (_, "location" | "online_url") if text.is_empty() || text == "null" => {
                        Value::Null
                    }
                    (_, "recurrence") if text.is_empty() || text == "null" => {
                        obj.remove(field);
                        continue;
                    }
                    _ => Value::String(text.clone()),
                };
                obj.insert(field.to_owned(), new);
            }
            Edit::Splice {
                pos,
                delete,
                insert,
                ..
            } => {
                if how != crate::doc::FieldKind::Text {
                    return Err(err(field, "only text fields can be spliced".into()));
                }
                let current = obj.get(field).and_then(Value::as_str).unwrap_or_default();
                let chars: Vec<char> = current.chars().collect();
                if *pos > chars.len() || pos.saturating_add(*delete) > chars.len() {
                    return Err(err(
                        field,
                        format!(
                            "splice {pos}+{delete} is outside the text ({} characters)",
                            chars.len()
                        ),
                    ));
                }
                let mut s: String = chars[..*pos].iter().collect();
                s.push_str(insert);
                s.extend(&chars[pos + delete..]);
                obj.insert(field.to_owned(), Value::String(s));
            }
        }
    }
    Record::from_value(kind, value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::tests::{sample_event, sample_practice};

    #[test]
    fn edits_set_fields_and_splice_text() {
        let p: Record = sample_practice("p-1").into();
        let edits = vec![
            Edit::Set {
                field: "status".into(),
                value: "archived".into(),
            },
            Edit::Set {
                field: "themes".into(),
                value: "youth work, mentoring".into(),
            },
            Edit::Splice {
                field: "body".into(),
                pos: 0,
                delete: 0,
                insert: "NEW ".into(),
            },
        ];
        let Record::Practice(n) = apply_edits(&p, &edits).unwrap() else {
            unreachable!()
        };
        assert_eq!(n.themes, vec!["mentoring", "youth work"]);
        assert!(n.body.starts_with("NEW Réinserção"));
        assert_eq!(n.status, crate::record::PracticeStatus::Archived);
    }

    #[test]
    fn bad_edits_name_the_field() {
        let e: Record = sample_event("e-1").into();
        let bad = |edit: Edit| apply_edits(&e, &[edit]).unwrap_err().to_string();
        assert!(bad(Edit::Set {
            field: "colour".into(),
            value: "x".into()
        })
        .contains("`colour`: no such field"));
        assert!(bad(Edit::Set {
            field: "capacity".into(),
            value: "many".into()
        })
        .contains("`capacity`"));
        assert!(bad(Edit::Set {
            field: "status".into(),
            value: "maybe".into()
        })
        .contains("`status`"));
        assert!(bad(Edit::Splice {
            field: "description".into(),
            pos: 9999,
            delete: 0,
            insert: "x".into()
        })
        .contains("outside"));
        let cleared = apply_edits(
            &e,
            &[
                Edit::Set {
                    field: "recurrence".into(),
                    value: "".into(),
                },
                Edit::Set {
                    field: "capacity".into(),
                    value: "null".into(),
                },
            ],
        )
        .unwrap();
        let Record::Event(c) = cleared else {
            unreachable!()
        };
        assert_eq!((c.recurrence, c.capacity), (None, None));
    }
}
