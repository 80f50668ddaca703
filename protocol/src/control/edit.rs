//! Edits of a record's fields, as `practice edit` / `event edit` send them.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::record::{Record, ValidationError};

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
