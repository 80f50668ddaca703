//! Records, lists, search hits, imports and verification.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::Value;

use r2com_protocol::control::{
    Dataset, EventRow, ImportReport, PracticeRow, Record, Removed, SearchHit, VerifyReport,
};

use crate::output::{print_json, table, Human};

/// Widest cell of a list table.
const LIST_CELL: u16 = 70;

/// A record just added or updated: `--json` prints the record as stored.
#[derive(Serialize)]
#[serde(transparent)]
pub struct Saved {
    pub record: Record,
    /// `added` or `updated`.
    #[serde(skip)]
    pub verb: &'static str,
}

/// A list of records of one kind, as rows or whole records (`--full`).
#[derive(Serialize)]
#[serde(untagged)]
pub enum Listed {
    Practices(Vec<PracticeRow>),
    Events(Vec<EventRow>),
    Records(Vec<Record>),
}

impl Human for Saved {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "{} {}", self.verb, self.record.id())
    }
}

impl Human for Removed {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "removed {}", self.removed)
    }
}

impl Human for ImportReport {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "imported {} records: {} created, {} updated, {} unchanged",
            self.records, self.created, self.updated, self.unchanged
        )
    }
}

/// The dataset is itself the file format: people get the same JSON.
impl Human for Dataset {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        print_json(out, self)
    }
}

/// Short fields one per line, then the long texts.
impl Human for Record {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        let Value::Object(fields) = self.to_value() else {
            return print_json(out, self);
        };
        let long = ["summary", "body", "description"];
        for (k, v) in &fields {
            if !long.contains(&k.as_str()) && k != "attachments" {
                writeln!(out, "{k:<14}{}", cell(v))?;
            }
        }
        for k in long {
            if let Some(Value::String(text)) = fields.get(k) {
                writeln!(out, "\n{k}:\n{text}")?;
            }
        }
        Ok(())
    }
}

impl Human for Listed {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        match self {
            Listed::Practices(rows) => {
                let cells = rows
                    .iter()
                    .map(|p| {
                        vec![
                            p.id.clone(),
                            p.organisation.clone(),
                            name(&p.status),
                            name(&p.evidence),
                            p.updated_at.clone(),
                            languages(p),
                            p.title.clone(),
                        ]
                    })
                    .collect();
                let headers = [
                    "ID", "ORG", "STATUS", "EVIDENCE", "UPDATED", "LANG", "TITLE",
                ];
                table(out, &headers, cells, LIST_CELL)?;
                eprintln!("{} practices", rows.len());
            }
            Listed::Events(rows) => {
                let cells = rows
                    .iter()
                    .map(|e| {
                        vec![
                            e.id.clone(),
                            e.starts_at.clone(),
                            e.timezone.clone(),
                            e.organiser.clone(),
                            name(&e.format),
                            name(&e.status),
                            e.title.clone(),
                        ]
                    })
                    .collect();
                let headers = ["ID", "STARTS", "ZONE", "ORG", "FORMAT", "STATUS", "TITLE"];
                table(out, &headers, cells, LIST_CELL)?;
                eprintln!("{} events", rows.len());
            }
            // Whole records are for programs: JSON either way.
            Listed::Records(records) => print_json(out, records)?,
        }
        Ok(())
    }
}

/// A practice's language, then its translations' (`fr +pt:p-000123`).
fn languages(p: &PracticeRow) -> String {
    let mut s = p.language.clone().unwrap_or_default();
    for t in &p.translations {
        if !s.is_empty() {
            s.push(' ');
        }
        s.push_str(&format!(
            "+{}:{}",
            t.language.as_deref().unwrap_or("?"),
            t.id
        ));
    }
    s
}

impl Human for Vec<SearchHit> {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        if self.is_empty() {
            eprintln!("no matches");
            return Ok(());
        }
        let rows = self
            .iter()
            .map(|h| {
                vec![
                    h.kind.to_string(),
                    h.id.clone(),
                    h.score.to_string(),
                    h.title.clone(),
                    match &h.via {
                        Some(via) => format!("(through its translation {via}) {}", h.snippet),
                        None => h.snippet.clone(),
                    },
                ]
            })
            .collect();
        table(out, &["KIND", "ID", "SCORE", "TITLE", "MATCH"], rows, 60)
    }
}

impl Human for VerifyReport {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "verified {} signed changes in {} documents: {} valid, {} invalid; {} files \
             held, {} damaged",
            self.changes, self.documents, self.valid, self.invalid, self.files, self.files_invalid
        )
    }
}

/// A unit enum's serialized name (`published`, `peer exchange`).
pub(super) fn name<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

/// A field's value in a one-line cell: lists comma-separated, null as `-`.
fn cell(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(cell).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

impl Human for r2com_protocol::control::BackupReport {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "{}: {} signed changes, {} roster entries, {} peer addresses, {} files \
             ({} bytes) of node {} ({} bytes, made {}, sha256 {})",
            self.file,
            self.changes,
            self.entries,
            self.addrs,
            self.files,
            self.file_bytes,
            self.peer_id,
            self.bytes,
            self.created_at,
            self.sha256
        )
    }
}
