//! The catalog: every record's outline (the record without the long texts
//! only a search reads: a practice's summary and body, an event's
//! description) and its folded search text, held in memory so that a list,
//! a search and the library's filter choices read no stored record.
//!
//! Outlines are held as JSON, decoded when read: as records, each field a
//! String of its own, they took about 1.4 KB per practice (70 MB at ten
//! times the demo data); as JSON about a third of that. A list decodes
//! the rows it answers with, a page at a time.
//!
//! It mirrors one table of the store, `RECORD`, and nothing else: the
//! search text is derived from the record (the store does not keep it).
//! It is built from the table on first use (a node that never lists or
//! searches never holds it), then follows every write to it: all of the
//! library's store writes go through [`CatalogCell::write`] (from
//! `Library::write_part`: local edits, received changes, erasure,
//! retraction, import and restore alike), which applies the same writes to
//! the catalog once the store took them. A write the store refuses, or one
//! the catalog cannot follow, drops the catalog: the next read builds it
//! again from the store, so it never answers from a state the store is not
//! in.

use std::collections::BTreeMap;
use std::ops::Bound::{Excluded, Included, Unbounded};
use std::sync::{OnceLock, RwLock};
use std::time::Instant;

use r2com_protocol::ids::{DocId, RecordKind};
use r2com_protocol::record::{Event, Practice, Record};

use super::texts::Texts;
use super::translations::{Groups, Link};
use super::{decode_record, LibraryError};
use crate::store::{keys, Store, StoreError, Write};

/// The records held, in outline, and their search texts.
pub(crate) struct Catalog {
    /// Document key (`practice/p-1`) -> the record without its long texts
    /// (see [`outline`]), as JSON; key order, as the store lists them.
    outlines: BTreeMap<String, Box<[u8]>>,
    /// Document key -> the folded search text ([`Record::search_text`]),
    /// packed.
    texts: Texts,
    /// The practices' translation groups, computed on first use after a
    /// practice changed.
    groups: OnceLock<Groups>,
}

/// The record without the texts only a search reads (and the search text
/// holds, folded): lists, filters and hits need none of them. As JSON of
/// the practice or event (the key says which).
fn outline(record: Record) -> Box<[u8]> {
    let json = match record {
        Record::Practice(p) => serde_json::to_vec(&Practice {
            summary: String::new(),
            body: String::new(),
            ..p
        }),
        Record::Event(e) => serde_json::to_vec(&Event {
            description: String::new(),
            ..e
        }),
    };
    json.expect("records serialize").into_boxed_slice()
}

/// The outline of the document `doc` held as `json`.
fn unpack(doc: &str, json: &[u8]) -> Record {
    let kind = if doc.starts_with("practice/") {
        RecordKind::Practice
    } else {
        RecordKind::Event
    };
    decode_record(kind, json).expect("an outline the catalog encoded decodes")
}

fn practice_of(doc: &str, json: &[u8]) -> Option<Practice> {
    match unpack(doc, json) {
        Record::Practice(p) => Some(p),
        Record::Event(_) => None,
    }
}

fn event_of(doc: &str, json: &[u8]) -> Option<Event> {
    match unpack(doc, json) {
        Record::Event(e) => Some(e),
        Record::Practice(_) => None,
    }
}

/// One write of the store's `RECORD` table, as the catalog takes it: the
/// document key, and the record's outline and search text (`None`: the
/// record is gone).
struct Update(String, Option<(Box<[u8]>, Box<str>)>);

/// The document key a `RECORD` key names.
fn doc_key(key: &[u8]) -> Result<String, LibraryError> {
    String::from_utf8(keys::rest(key).to_vec())
        .map_err(|_| LibraryError::Corrupt("a record key is not UTF-8".into()))
}

/// The outline and the search text of the record stored as `bytes`.
fn record_of(doc: &str, bytes: &[u8]) -> Result<(Box<[u8]>, Box<str>), LibraryError> {
    let id = DocId::parse(doc).map_err(|e| LibraryError::Corrupt(e.to_string()))?;
    let record = decode_record(id.kind(), bytes)?;
    let text = record.search_text().into_boxed_str();
    Ok((outline(record), text))
}

impl Catalog {
    /// Read the records from the store.
    fn build(store: &dyn Store) -> Result<Catalog, LibraryError> {
        let mut outlines = BTreeMap::new();
        // One pass over the records, in key order: each one's outline is
        // kept, and its search text folded and packed block by block (the
        // texts are never all held unpacked).
        let mut failed = None;
        let texts = Texts::from_sorted(store.scan_prefix(&[keys::RECORD, 0]).map_while(|entry| {
            let held = entry.map_err(LibraryError::from).and_then(|(k, v)| {
                let doc = doc_key(&k)?;
                let (record, text) = record_of(&doc, &v)?;
                Ok((doc, record, text))
            });
            match held {
                Ok((doc, record, text)) => {
                    outlines.insert(doc.clone(), record);
                    Some((doc, text))
                }
                Err(e) => {
                    failed = Some(e);
                    None
                }
            }
        }));
        if let Some(e) = failed {
            return Err(e);
        }
        Ok(Catalog {
            outlines,
            texts,
            groups: OnceLock::new(),
        })
    }

    /// What `writes` change in the catalog (decoded before the store takes
    /// them, applied after).
    fn updates(writes: &[Write]) -> Result<Vec<Update>, LibraryError> {
        let mut out = Vec::new();
        for (k, v) in writes {
            if k.starts_with(&[keys::RECORD, 0]) {
                let doc = doc_key(k)?;
                let held = v.as_deref().map(|v| record_of(&doc, v)).transpose()?;
                out.push(Update(doc, held));
            }
        }
        Ok(out)
    }

    fn apply(&mut self, updates: Vec<Update>) {
        for Update(doc, held) in updates {
            if doc.starts_with("practice/") {
                self.groups = OnceLock::new();
            }
            match held {
                Some((record, text)) => {
                    self.texts.insert(doc.clone(), text);
                    self.outlines.insert(doc, record);
                }
                None => {
                    self.texts.remove(&doc);
                    self.outlines.remove(&doc);
                }
            }
        }
    }

    /// The outline of a document (`kind/id`), if it holds a record.
    pub fn outline(&self, doc: &str) -> Option<Record> {
        self.outlines.get(doc).map(|json| unpack(doc, json))
    }

    /// The held outlines of a kind (`practice/` or `event/`), in id order,
    /// those after the id `after` if given; each one decoded as it is
    /// reached.
    fn of_kind<'s>(
        &'s self,
        prefix: &'static str,
        after: Option<&str>,
    ) -> impl Iterator<Item = (&'s str, &'s [u8])> + 's {
        let start = match after {
            Some(id) => Excluded(format!("{prefix}{id}")),
            None => Included(prefix.to_owned()),
        };
        self.outlines
            .range::<String, _>((start, Unbounded))
            .take_while(move |(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.as_str(), &v[..]))
    }

    /// Every practice in outline, in id order (after the id `after`, if
    /// given).
    pub fn practices(&self, after: Option<&str>) -> impl Iterator<Item = Practice> + '_ {
        self.of_kind("practice/", after)
            .filter_map(|(k, v)| practice_of(k, v))
    }

    /// Every event in outline, in id order (after the id `after`, if
    /// given).
    pub fn events(&self, after: Option<&str>) -> impl Iterator<Item = Event> + '_ {
        self.of_kind("event/", after)
            .filter_map(|(k, v)| event_of(k, v))
    }

    /// Every search text with its document key, in key order (each text
    /// is unpacked for the call only).
    pub fn texts(&self) -> &Texts {
        &self.texts
    }

    /// The practices' translation groups.
    pub fn groups(&self) -> &Groups {
        self.groups
            .get_or_init(|| Groups::of(self.practices(None).map(Link::of).collect()))
    }
}

/// The catalog, or none until a read needs it (or after a write it could
/// not follow).
#[derive(Default)]
pub(crate) struct CatalogCell(RwLock<Option<Catalog>>);

impl CatalogCell {
    /// Run `f` on the catalog, building it from `store` first if there is
    /// none.
    pub fn read<T>(
        &self,
        store: &dyn Store,
        f: impl FnOnce(&Catalog) -> T,
    ) -> Result<T, LibraryError> {
        {
            let held = self.0.read().unwrap_or_else(|e| e.into_inner());
            if let Some(c) = held.as_ref() {
                return Ok(f(c));
            }
        }
        let mut held = self.0.write().unwrap_or_else(|e| e.into_inner());
        if held.is_none() {
            let started = Instant::now();
            let c = Catalog::build(store)?;
            tracing::debug!(
                records = c.outlines.len(),
                ms = started.elapsed().as_millis() as u64,
                "the catalog of records is built"
            );
            *held = Some(c);
        }
        Ok(f(held.as_ref().expect("built above")))
    }

    /// Write `writes` to `store` (atomically, as [`Store::write`]) and make
    /// the catalog, if there is one, follow them. The catalog is locked
    /// throughout, so no read or build sees the store and the catalog
    /// apart.
    pub fn write(&self, store: &dyn Store, writes: Vec<Write>) -> Result<(), StoreError> {
        let mut held = self.0.write().unwrap_or_else(|e| e.into_inner());
        // Out of the cell while it changes: a failure or a panic half-way
        // leaves none, to be built again.
        let Some(mut catalog) = held.take() else {
            return store.write(writes);
        };
        let updates = Catalog::updates(&writes);
        store.write(writes)?;
        match updates {
            Ok(u) => {
                catalog.apply(u);
                *held = Some(catalog);
            }
            Err(e) => {
                tracing::warn!(error = %e, "the catalog of records cannot follow a write; it is built again on the next read");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
impl CatalogCell {
    /// Whether the catalog is held and holds what one built from `store`
    /// now would (tests).
    pub fn agrees_with(&self, store: &dyn Store) -> bool {
        let held = self.0.read().unwrap_or_else(|e| e.into_inner());
        let Some(c) = held.as_ref() else {
            return false;
        };
        let fresh = Catalog::build(store).expect("the store's records decode");
        c.outlines == fresh.outlines && c.texts.to_vec() == fresh.texts.to_vec()
    }
}
