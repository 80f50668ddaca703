//! What a signed change did to its record, and the fields where concurrent
//! changes left more than one value: read from the document itself, so
//! `history`, `log` and `conflicts` show what the signed changes say and
//! nothing a separate log could disagree with.
//!
//! A change is described by automerge's diff between the state its author
//! had seen (its dependencies) and the state right after it, so a change
//! shows exactly its own effect, whatever happened concurrently.

use automerge::{
    AutoCommit, Change, ChangeHash, ObjType, Patch, PatchAction, Prop, ReadDoc, ScalarValue,
    Value as AmValue, ROOT,
};
use serde_json::Value;

use crate::control::{ChangeAction, ConflictValue, FieldChange};
use crate::doc::{self, FieldKind};
use crate::ids::RecordKind;

/// Fields whose concurrent values are bookkeeping, not a disagreement:
/// every practice edit sets `updated_at`, so two concurrent edits always
/// leave two of them (the later `resolve` or edit settles it anyway).
const NOT_CONFLICTS: &[&str] = &["updated_at"];

/// What `change` (one of `doc`'s changes) did: created, edited, deleted or
/// restored the record, and the fields it changed, in document order. With
/// `diff`, text fields carry a unified diff of the text before and after.
pub fn describe(
    doc: &mut AutoCommit,
    kind: RecordKind,
    change: &Change,
    diff: bool,
) -> (ChangeAction, Vec<FieldChange>) {
    let before: Vec<ChangeHash> = change.deps().to_vec();
    let after = [change.hash()];
    let patches = doc.diff(&before, &after);
    let mut action = ChangeAction::Edited;
    let mut fields: Vec<FieldChange> = Vec::new();
    for p in &patches {
        note(&mut action, &mut fields, p);
    }
    if diff {
        for f in &mut fields {
            if let FieldChange::Text {
                field, diff: out, ..
            } = f
            {
                let text_at = |doc: &AutoCommit, heads: &[ChangeHash]| -> String {
                    match doc.get_at(ROOT, field.as_str(), heads) {
                        Ok(Some((AmValue::Object(ObjType::Text), id))) => {
                            doc.text_at(&id, heads).unwrap_or_default()
                        }
                        _ => String::new(),
                    }
                };
                let old = text_at(doc, &before);
                let new = text_at(doc, &after);
                *out = Some(diffy::create_patch(&old, &new).to_string());
            }
        }
    }
    // Document order of the fields, whatever order the patches came in.
    let order = |f: &FieldChange| {
        doc::fields(kind)
            .iter()
            .position(|(n, _)| *n == f.field())
            .unwrap_or(usize::MAX)
    };
    fields.sort_by_key(order);
    (action, fields)
}

/// Fold one patch into the change's action and fields.
fn note(action: &mut ChangeAction, fields: &mut Vec<FieldChange>, p: &Patch) {
    match (p.path.as_slice(), &p.action) {
        // A root key: a scalar field, the kind, the deleted flag, or a
        // text or set object being (re)created.
        ([], PatchAction::PutMap { key, value, .. }) => match key.as_str() {
            "type" => *action = ChangeAction::Created,
            "deleted" => {
                let deleted = matches!(&value.0, AmValue::Scalar(s) if matches!(s.as_ref(), ScalarValue::Boolean(true)));
                if deleted {
                    *action = ChangeAction::Deleted;
                } else if *action != ChangeAction::Created {
                    *action = ChangeAction::Restored;
                }
            }
            _ => match &value.0 {
                AmValue::Object(ObjType::Text) => {
                    text_entry(fields, key);
                }
                AmValue::Object(_) => {
                    items_entry(fields, key);
                }
                AmValue::Scalar(s) => {
                    fields.retain(|f| f.field() != key);
                    fields.push(FieldChange::Set {
                        field: key.clone(),
                        value: scalar_json(s.as_ref()),
                    });
                }
            },
        },
        ([], PatchAction::DeleteMap { key }) => {
            fields.retain(|f| f.field() != key);
            fields.push(FieldChange::Unset { field: key.clone() });
        }
        ([(_, Prop::Map(field)), ..], action) => match action {
            PatchAction::SpliceText { value, .. } => {
                if let FieldChange::Text { inserted, .. } = text_entry(fields, field) {
                    *inserted += value.make_string().chars().count() as u64;
                }
            }
            PatchAction::DeleteSeq { length, .. } => {
                if let FieldChange::Text { deleted, .. } = text_entry(fields, field) {
                    *deleted += *length as u64;
                }
            }
            PatchAction::PutMap { key, .. } => {
                if let FieldChange::Items { added, .. } = items_entry(fields, field) {
                    added.push(key.clone());
                }
            }
            PatchAction::DeleteMap { key } => {
                if let FieldChange::Items { removed, .. } = items_entry(fields, field) {
                    removed.push(key.clone());
                }
            }
            _ => {}
        },
        _ => {}
    }
}

fn text_entry<'a>(fields: &'a mut Vec<FieldChange>, field: &str) -> &'a mut FieldChange {
    entry(fields, field, || FieldChange::Text {
        field: field.to_owned(),
        inserted: 0,
        deleted: 0,
        diff: None,
    })
}

fn items_entry<'a>(fields: &'a mut Vec<FieldChange>, field: &str) -> &'a mut FieldChange {
    entry(fields, field, || FieldChange::Items {
        field: field.to_owned(),
        added: Vec::new(),
        removed: Vec::new(),
    })
}

fn entry<'a>(
    fields: &'a mut Vec<FieldChange>,
    field: &str,
    new: impl FnOnce() -> FieldChange,
) -> &'a mut FieldChange {
    let i = match fields.iter().position(|f| f.field() == field) {
        Some(i) => i,
        None => {
            fields.push(new());
            fields.len() - 1
        }
    };
    &mut fields[i]
}

fn scalar_json(s: &ScalarValue) -> Value {
    match s {
        ScalarValue::Str(t) => Value::String(t.to_string()),
        ScalarValue::Int(i) => Value::from(*i),
        ScalarValue::Uint(u) => Value::from(*u),
        ScalarValue::Boolean(b) => Value::Bool(*b),
        ScalarValue::F64(f) => Value::from(*f),
        _ => Value::Null,
    }
}

/// A change's timestamp (milliseconds since the epoch) as RFC 3339 UTC.
pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A field of the record (or its deleted flag) that holds more than one
/// concurrent value.
#[derive(Clone, Debug, PartialEq)]
pub struct Conflict {
    pub field: String,
    /// Oldest op first; exactly one is `current` (what the record shows).
    pub values: Vec<ConflictValue>,
}

/// Names of the record fields (and `deleted`) with concurrent values:
/// cheap (a lookup per field), kept with each document's state.
pub fn conflicted_fields(doc: &AutoCommit) -> Vec<String> {
    let Ok(kind) = doc::kind_of(doc) else {
        return Vec::new();
    };
    candidate_fields(kind)
        .filter(|f| doc.get_all(ROOT, *f).is_ok_and(|v| v.len() > 1))
        .map(str::to_owned)
        .collect()
}

fn candidate_fields(kind: RecordKind) -> impl Iterator<Item = &'static str> {
    doc::fields(kind)
        .iter()
        .filter(|(n, how)| *how == FieldKind::Scalar && !NOT_CONFLICTS.contains(n) && *n != "id")
        .map(|(n, _)| *n)
        .chain(["deleted"])
}

/// Every conflicted field with its values, each with the change that wrote
/// it (author key as hex, time in milliseconds, change hash).
pub fn conflicts(doc: &mut AutoCommit) -> Vec<Conflict> {
    let Ok(kind) = doc::kind_of(doc) else {
        return Vec::new();
    };
    let fields: Vec<&str> = candidate_fields(kind).collect();
    let mut out = Vec::new();
    let changes = doc.get_changes(&[]);
    for field in fields {
        let Ok(all) = doc.get_all(ROOT, field) else {
            continue;
        };
        if all.len() < 2 {
            continue;
        }
        let current = doc.get(ROOT, field).ok().flatten().map(|(_, id)| id);
        let mut values = Vec::new();
        for (n, (value, id)) in all.iter().enumerate() {
            let automerge::ObjId::Id(counter, actor, _) = id else {
                continue;
            };
            let made_by = changes.iter().find(|c| {
                c.actor_id() == actor && c.start_op().get() <= *counter && *counter <= c.max_op()
            });
            let json = match value {
                AmValue::Scalar(s) => scalar_json(s.as_ref()),
                AmValue::Object(ObjType::Text) => Value::String(doc.text(id).unwrap_or_default()),
                AmValue::Object(_) => Value::Null,
            };
            values.push(ConflictValue {
                n: n as u32 + 1,
                value: json,
                author: hex::encode(actor.to_bytes()),
                organisation: None,
                at: made_by.map(|c| rfc3339(c.timestamp())).unwrap_or_default(),
                change: made_by.map(|c| c.hash().to_string()).unwrap_or_default(),
                current: current.as_ref() == Some(id),
            });
        }
        out.push(Conflict {
            field: field.to_owned(),
            values,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::NodeKey;
    use crate::record::tests::{sample_event, sample_practice};
    use crate::record::Record;

    #[test]
    fn a_change_is_described_by_its_own_effect() {
        let a = NodeKey::from_seed([1; 32]);
        let base: Record = sample_practice("p-1").into();
        let (mut d, created) = doc::create(&a, &base, 1000).unwrap();
        let (action, fields) = describe(&mut d, RecordKind::Practice, &created, false);
        assert_eq!(action, ChangeAction::Created);
        assert!(fields.iter().any(|f| f.field() == "title"));

        let Record::Practice(mut p) = base.clone() else {
            unreachable!()
        };
        p.body = format!("New words. {}", p.body);
        p.status = crate::record::PracticeStatus::Archived;
        p.themes.push("zzz".into());
        let edit = doc::update(&mut d, &a, &base, &p.clone().into(), 2000)
            .unwrap()
            .unwrap();
        let (action, fields) = describe(&mut d, RecordKind::Practice, &edit, true);
        assert_eq!(action, ChangeAction::Edited);
        let names: Vec<&str> = fields.iter().map(FieldChange::field).collect();
        assert_eq!(names, ["body", "themes", "status"]);
        match &fields[0] {
            FieldChange::Text {
                inserted,
                deleted,
                diff,
                ..
            } => {
                assert_eq!((*inserted, *deleted), (11, 0));
                assert!(diff.as_deref().unwrap().contains("+New words. "));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            fields[1],
            FieldChange::Items {
                field: "themes".into(),
                added: vec!["zzz".into()],
                removed: vec![]
            }
        );
        assert_eq!(
            fields[2],
            FieldChange::Set {
                field: "status".into(),
                value: Value::from("archived")
            }
        );
        let del = doc::set_deleted(&mut d, &a, true, 3000).unwrap().unwrap();
        assert_eq!(
            describe(&mut d, RecordKind::Practice, &del, false).0,
            ChangeAction::Deleted
        );
    }

    #[test]
    fn concurrent_values_are_conflicts_until_settled() {
        let a = NodeKey::from_seed([1; 32]);
        let b = NodeKey::from_seed([2; 32]);
        let base: Record = sample_event("e-1").into();
        let (mut da, _) = doc::create(&a, &base, 1000).unwrap();
        let mut db = da.fork().with_actor(doc::actor_for(&b));
        let Record::Event(e) = base.clone() else {
            unreachable!()
        };
        let mut ea = e.clone();
        ea.capacity = Some(11);
        doc::update(&mut da, &a, &base, &ea.into(), 2000).unwrap();
        let mut eb = e.clone();
        eb.capacity = Some(22);
        doc::update(&mut db, &b, &base, &eb.into(), 2001).unwrap();
        da.merge(&mut db).unwrap();
        assert_eq!(conflicted_fields(&da), ["capacity"]);
        let c = conflicts(&mut da);
        assert_eq!(c.len(), 1);
        let values = &c[0].values;
        assert_eq!(values.len(), 2);
        assert_eq!(values.iter().filter(|v| v.current).count(), 1);
        let mut by: Vec<(String, Value)> = values
            .iter()
            .map(|v| (v.author.clone(), v.value.clone()))
            .collect();
        by.sort_by(|x, y| x.0.cmp(&y.0));
        let mut want = vec![
            (a.public().to_hex(), Value::from(11)),
            (b.public().to_hex(), Value::from(22)),
        ];
        want.sort_by(|x, y| x.0.cmp(&y.0));
        assert_eq!(by, want);
        assert!(values
            .iter()
            .all(|v| v.at.starts_with("1970-01-01T00:00:02")));
        doc::settle(&mut da, &a, &[("capacity", Some(&Value::from(22)))], 3000).unwrap();
        assert!(conflicted_fields(&da).is_empty());
        assert!(conflicts(&mut da).is_empty());
        assert!(doc::settle(&mut da, &a, &[("description", None)], 3000).is_err());
    }
}
