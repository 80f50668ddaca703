//! History, the change log, conflicts and resolutions.

use std::io::{self, Write};

use r2com_protocol::control::{
    AuthorStanding, ChangeAction, ChangeInfo, Conflicts, Erased, FieldChange, History, Resolved,
    SignatureCheck,
};

use super::library::name;
use crate::output::table;

use crate::output::Human;

/// A node key as people compare it: its first 16 hex digits.
fn short_key(key: &str) -> &str {
    &key[..key.len().min(16)]
}

fn who(c: &ChangeInfo) -> String {
    let org = c.author.organisation.as_deref().unwrap_or("?");
    match c.author.standing {
        AuthorStanding::Member => org.to_owned(),
        AuthorStanding::Revoked => format!("{org} (revoked)"),
        AuthorStanding::Unknown => "unknown key".to_owned(),
    }
}

fn signature(c: &ChangeInfo) -> String {
    match &c.signature {
        SignatureCheck::Valid => "verified".into(),
        SignatureCheck::Invalid(why) => format!("INVALID: {why}"),
    }
}

/// `created`, or the fields changed.
fn what(c: &ChangeInfo) -> String {
    let fields: Vec<String> = c.fields.iter().map(FieldChange::summary).collect();
    match c.action {
        ChangeAction::Created => "created".into(),
        ChangeAction::Deleted => "deleted".into(),
        ChangeAction::Restored if fields.is_empty() => "restored".into(),
        ChangeAction::Restored => format!("restored; {}", fields.join(", ")),
        ChangeAction::Edited => fields.join(", "),
    }
}

impl Human for History {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        let title = self.title.as_deref().unwrap_or("(deleted)");
        writeln!(out, "{}  {title}", self.record)?;
        for c in &self.changes {
            writeln!(
                out,
                "\n{}  {}  key {}  signature {}\n  {}",
                c.at,
                who(c),
                short_key(&c.author.key),
                signature(c),
                what(c)
            )?;
            for f in &c.fields {
                match f {
                    FieldChange::Set { field, value } if c.action != ChangeAction::Created => {
                        writeln!(out, "    {field} = {value}")?
                    }
                    FieldChange::Text {
                        diff: Some(diff), ..
                    } => {
                        for line in diff.lines() {
                            writeln!(out, "    {line}")?;
                        }
                    }
                    _ => {}
                }
            }
        }
        if !self.waiting.is_empty() {
            writeln!(
                out,
                "\n{} changes wait for a change they build on",
                self.waiting.len()
            )?;
        }
        Ok(())
    }
}

impl Human for Vec<ChangeInfo> {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        let rows = self
            .iter()
            .map(|c| {
                vec![
                    c.at.clone(),
                    who(c),
                    short_key(&c.author.key).to_owned(),
                    signature(c),
                    c.record.clone(),
                    what(c),
                    c.title.clone().unwrap_or_else(|| "(deleted)".into()),
                ]
            })
            .collect();
        table(
            out,
            &[
                "WHEN",
                "ORG",
                "KEY",
                "SIGNATURE",
                "RECORD",
                "CHANGED",
                "TITLE",
            ],
            rows,
            50,
        )?;
        eprintln!("{} changes", self.len());
        Ok(())
    }
}

impl Human for Conflicts {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        if self.conflicts.is_empty() && self.invalid.is_empty() {
            writeln!(out, "no conflicts")?;
            return Ok(());
        }
        for c in &self.conflicts {
            writeln!(out, "{} {}  ({})", c.record, c.field, c.title)?;
            for v in &c.values {
                writeln!(
                    out,
                    "  {}{} {}  by {} key {} at {}",
                    if v.current { "*" } else { " " },
                    v.n,
                    v.value,
                    v.organisation.as_deref().unwrap_or("?"),
                    short_key(&v.author),
                    v.at
                )?;
            }
        }
        if !self.conflicts.is_empty() {
            eprintln!("* the value shown now; settle with `r2com resolve ID FIELD --keep N`");
        }
        for i in &self.invalid {
            writeln!(
                out,
                "{} {}  invalid after merging: {}  ({})",
                i.record, i.field, i.reason, i.title
            )?;
        }
        Ok(())
    }
}

impl Human for Erased {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "erased {} ({} changes); every member erases it as the entry {} reaches it",
            self.record,
            self.changes,
            short_key(&self.entry)
        )
    }
}

impl Human for Resolved {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "resolved {} {} = {} (change {})",
            self.record,
            self.field,
            name(&self.value),
            short_key(&self.change)
        )
    }
}
