//! File references in a record's document: a map from file hash to a map
//! of the reference's other fields. Two organisations attaching different
//! files at once add different keys, so both are kept. A document written
//! before attachments existed has no map; if two nodes then create it at
//! once, automerge keeps both as a conflict: reading takes the union, and
//! a detach deletes the hash from each.

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjId, ObjType, ReadDoc, ScalarValue, Value as AmValue, ROOT};
use serde_json::{Map, Value};

use super::{json_to_scalar, DocError};

/// The fields of a reference besides its hash (the key).
const FIELDS: &[&str] = &["size", "media_type", "file_name", "title", "language"];

/// Every map object held at `ROOT[name]` (more than one after concurrent
/// creation), the winner first.
fn maps(doc: &AutoCommit, name: &str) -> Result<Vec<ObjId>, DocError> {
    Ok(doc
        .get_all(ROOT, name)?
        .into_iter()
        .filter_map(|(v, id)| matches!(v, AmValue::Object(ObjType::Map)).then_some(id))
        .rev()
        .collect())
}

/// Bring the references to `new` (a JSON array of attachments; absent is
/// none), touching only what differs.
pub(super) fn write(doc: &mut AutoCommit, name: &str, new: Option<&Value>) -> Result<(), DocError> {
    let items: Vec<&Map<String, Value>> = new
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_object).collect())
        .unwrap_or_default();
    let mut all = maps(doc, name)?;
    if all.is_empty() {
        all.push(doc.put_object(ROOT, name, ObjType::Map)?);
    }
    let wanted = |k: &str| {
        items
            .iter()
            .any(|i| i.get("hash").and_then(Value::as_str) == Some(k))
    };
    for m in &all {
        let keys: Vec<String> = doc.keys(m).collect();
        for k in keys.iter().filter(|k| !wanted(k)) {
            doc.delete(m, k.as_str())?;
        }
    }
    let primary = all[0].clone();
    for item in items {
        let Some(hash) = item.get("hash").and_then(Value::as_str) else {
            return Err(DocError::Shape("an attachment without a hash".into()));
        };
        let (entry, old) = match find(doc, &all, hash)? {
            Some(found) => found,
            None => (doc.put_object(&primary, hash, ObjType::Map)?, Map::new()),
        };
        for &f in FIELDS {
            match item.get(f) {
                None | Some(Value::Null) => {
                    if old.contains_key(f) {
                        doc.delete(&entry, f)?;
                    }
                }
                Some(v) if old.get(f) == Some(v) => {}
                Some(v) => doc.put(&entry, f, json_to_scalar(f, v)?)?,
            }
        }
    }
    Ok(())
}

/// A reference's map object and its fields (but the hash) as JSON.
type Entry = (ObjId, Map<String, Value>);

/// The entry of `hash` in any of the maps.
fn find(doc: &AutoCommit, all: &[ObjId], hash: &str) -> Result<Option<Entry>, DocError> {
    for m in all {
        if let Some((AmValue::Object(ObjType::Map), id)) = doc.get(m, hash)? {
            let fields = entry_fields(doc, &id)?;
            return Ok(Some((id, fields)));
        }
    }
    Ok(None)
}

fn entry_fields(doc: &AutoCommit, entry: &ObjId) -> Result<Map<String, Value>, DocError> {
    let mut out = Map::new();
    for &f in FIELDS {
        if let Some((AmValue::Scalar(s), _)) = doc.get(entry, f)? {
            let v = match s.as_ref() {
                ScalarValue::Str(t) => Value::String(t.to_string()),
                ScalarValue::Int(i) => Value::from(*i),
                ScalarValue::Uint(u) => Value::from(*u),
                ScalarValue::Null => continue,
                _ => {
                    return Err(DocError::Shape(format!(
                        "attachment field `{f}` has an unexpected type"
                    )))
                }
            };
            out.insert(f.to_owned(), v);
        }
    }
    Ok(out)
}

/// The references as a JSON array (union of conflicting maps, winner's
/// entry first for a hash in several); `None` when the document has none.
pub(super) fn read(doc: &AutoCommit, name: &str) -> Result<Option<Value>, DocError> {
    let all = maps(doc, name)?;
    if all.is_empty() {
        return Ok(None);
    }
    let mut seen = std::collections::BTreeMap::new();
    for m in &all {
        for k in doc.keys(m).collect::<Vec<_>>() {
            if seen.contains_key(&k) {
                continue;
            }
            if let Some((AmValue::Object(ObjType::Map), id)) = doc.get(m, k.as_str())? {
                let mut fields = entry_fields(doc, &id)?;
                fields.insert("hash".into(), Value::String(k.clone()));
                seen.insert(k, Value::Object(fields));
            }
        }
    }
    Ok(Some(Value::Array(seen.into_values().collect())))
}

#[cfg(test)]
mod tests {
    use crate::doc::{create, read, update};
    use crate::identity::NodeKey;
    use crate::record::tests::sample_practice;
    use crate::record::{Attachment, Record};

    fn file(n: u8) -> Attachment {
        Attachment {
            hash: format!("{n:02x}").repeat(32),
            size: 1000 + n as u64,
            media_type: "application/pdf".into(),
            file_name: format!("f{n}.pdf"),
            title: format!("File {n}"),
            language: n.is_multiple_of(2).then(|| "fr".to_owned()),
        }
    }

    #[test]
    fn concurrent_attaches_are_both_kept_and_a_detach_removes_one() {
        let a = NodeKey::from_seed([1; 32]);
        let b = NodeKey::from_seed([2; 32]);
        let base: Record = sample_practice("p-1").into();
        let (mut doc_a, _) = create(&a, &base, 5).unwrap();
        let mut doc_b = doc_a.fork().with_actor(crate::doc::actor_for(&b));
        let mut with_a = base.clone();
        with_a.attachments_mut().push(file(1));
        update(&mut doc_a, &a, &base, &with_a, 6).unwrap().unwrap();
        let mut with_b = base.clone();
        with_b.attachments_mut().push(file(2));
        update(&mut doc_b, &b, &base, &with_b, 7).unwrap().unwrap();
        doc_a.merge(&mut doc_b).unwrap();
        let merged = read(&mut doc_a).unwrap();
        assert_eq!(merged.attachments(), &[file(1), file(2)]);

        let mut detached = merged.clone();
        detached
            .attachments_mut()
            .retain(|f| f.hash != file(1).hash);
        update(&mut doc_a, &a, &merged, &detached, 8)
            .unwrap()
            .unwrap();
        assert_eq!(read(&mut doc_a).unwrap().attachments(), &[file(2)]);
    }

    #[test]
    fn a_document_without_the_map_gets_both_concurrent_first_attaches() {
        let a = NodeKey::from_seed([1; 32]);
        let b = NodeKey::from_seed([2; 32]);
        let base: Record = sample_practice("p-1").into();
        let (mut doc_a, _) = create(&a, &base, 5).unwrap();
        // As a document written before attachments existed.
        {
            use automerge::transaction::Transactable;
            doc_a.delete(automerge::ROOT, "attachments").unwrap();
            doc_a.commit();
        }
        let mut doc_b = doc_a.fork().with_actor(crate::doc::actor_for(&b));
        let mut with_a = base.clone();
        with_a.attachments_mut().push(file(1));
        update(&mut doc_a, &a, &base, &with_a, 6).unwrap().unwrap();
        let mut with_b = base.clone();
        with_b.attachments_mut().push(file(2));
        update(&mut doc_b, &b, &base, &with_b, 7).unwrap().unwrap();
        doc_a.merge(&mut doc_b).unwrap();
        doc_b.merge(&mut doc_a).unwrap();
        let ra = read(&mut doc_a).unwrap();
        assert_eq!(ra.attachments(), &[file(1), file(2)]);
        assert_eq!(read(&mut doc_b).unwrap(), ra);

        // Detaching one removes it from whichever map holds it.
        let mut only_2 = ra.clone();
        only_2.attachments_mut().retain(|f| f.hash == file(2).hash);
        update(&mut doc_a, &a, &ra, &only_2, 8).unwrap().unwrap();
        assert_eq!(read(&mut doc_a).unwrap().attachments(), &[file(2)]);
    }
}
