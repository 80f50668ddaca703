//! Files attached to records.

use std::io::{self, Write};

use serde::Serialize;

use r2com_protocol::control::{
    Attached, AttachmentRow, Detached, FileWritten, Record, Translation,
};
use r2com_protocol::record::attachment::short;

use crate::output::{or_dash, table, Human};

/// Widest cell of the attachment table.
const CELL: u16 = 60;

/// `practice show` / `event show`: the record, then its attachments with
/// whether each is held here. `--json` prints the record as stored.
#[derive(Serialize)]
#[serde(transparent)]
pub struct Shown {
    pub record: Record,
    #[serde(skip)]
    pub files: Vec<AttachmentRow>,
    /// The practice in other languages.
    #[serde(skip)]
    pub translations: Vec<Translation>,
}

impl Human for Shown {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        self.record.human(out)?;
        if !self.files.is_empty() {
            writeln!(out, "\nattachments:")?;
            rows(out, &self.files, false)?;
        }
        if !self.translations.is_empty() {
            writeln!(out, "\nother languages:")?;
            for t in &self.translations {
                writeln!(out, "  {} {}", t.language.as_deref().unwrap_or("?"), t.id)?;
            }
        }
        Ok(())
    }
}

/// Bytes for people: 1.5 MB, 820 kB, 12 B (SI, as the size limit).
pub fn size(n: u64) -> String {
    match n {
        0..1_000 => format!("{n} B"),
        1_000..1_000_000 => format!("{:.1} kB", n as f64 / 1e3),
        1_000_000..1_000_000_000 => format!("{:.1} MB", n as f64 / 1e6),
        _ => format!("{:.2} GB", n as f64 / 1e9),
    }
}

fn rows(out: &mut dyn Write, list: &[AttachmentRow], with_record: bool) -> io::Result<()> {
    let cells = list
        .iter()
        .map(|r| {
            let a = &r.attachment;
            let mut row = vec![
                short(&a.hash).to_owned(),
                if r.held { "held" } else { "missing" }.to_owned(),
                size(a.size),
                a.media_type.clone(),
                or_dash(a.language.as_deref()),
                format!("{} ({})", a.title, a.file_name),
            ];
            if with_record {
                row.insert(0, r.record.clone());
            }
            row
        })
        .collect();
    let mut headers = vec!["HASH", "HERE", "SIZE", "TYPE", "LANG", "TITLE (FILE)"];
    if with_record {
        headers.insert(0, "RECORD");
    }
    table(out, &headers, cells, CELL)
}

impl Human for Vec<AttachmentRow> {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        rows(out, self, true)?;
        let missing = self.iter().filter(|r| !r.held).count();
        eprintln!("{} attachments, {missing} not held here", self.len());
        Ok(())
    }
}

impl Human for Attached {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        let a = &self.attachment;
        writeln!(
            out,
            "attached {} ({}, {}) to {}\nhash {}",
            a.file_name,
            a.media_type,
            size(a.size),
            self.record,
            a.hash
        )
    }
}

impl Human for Detached {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        write!(out, "detached {} from {}", short(&self.hash), self.record)?;
        if self.file_removed {
            write!(
                out,
                " (this node's copy deleted: no other record refers to it)"
            )?;
        }
        writeln!(out)
    }
}

impl Human for FileWritten {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        write!(out, "wrote {} ({})", self.written, size(self.bytes))?;
        if self.fetched > 0 {
            write!(
                out,
                ", fetched {} from {} member(s)",
                size(self.fetched),
                self.from.len()
            )?;
        }
        if self.resumed > 0 {
            write!(
                out,
                ", {} resumed from an earlier fetch",
                size(self.resumed)
            )?;
        }
        writeln!(out)
    }
}
