//! The agenda and the iCalendar export.

use std::io::{self, Write};

use serde::Serialize;

use r2com_protocol::calendar::agenda::AgendaRow;
use r2com_protocol::control::Ics;
use r2com_protocol::record::EventStatus;

use crate::output::{table, Human};

/// `calendar agenda`: `--json` prints the rows; people also see the window.
#[derive(Serialize)]
#[serde(transparent)]
pub struct Agenda {
    pub rows: Vec<AgendaRow>,
    #[serde(skip)]
    pub from: String,
    #[serde(skip)]
    pub to: String,
    #[serde(skip)]
    pub zone: String,
}

impl Human for Agenda {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        let when = |s: &str| {
            chrono::DateTime::parse_from_rfc3339(s)
                .map(|t| t.format("%a %Y-%m-%d %H:%M").to_string())
                .unwrap_or_default()
        };
        let rows = self
            .rows
            .iter()
            .map(|r| {
                let starts = when(&r.starts);
                let ends = when(&r.ends);
                // Same day: only the time; else the whole end.
                let ends = if starts.get(..14) == ends.get(..14) {
                    ends.get(15..).unwrap_or_default().to_owned()
                } else {
                    ends
                };
                let mark = match r.status {
                    EventStatus::Cancelled => "CANCELLED ",
                    EventStatus::Postponed => "POSTPONED ",
                    EventStatus::Scheduled => "",
                };
                vec![
                    starts,
                    ends,
                    r.id.clone(),
                    r.organiser.clone(),
                    format!("{mark}{}", r.title),
                ]
            })
            .collect();
        table(out, &["STARTS", "ENDS", "ID", "ORG", "TITLE"], rows, 70)?;
        eprintln!(
            "{} sessions from {} to {}, times in {}",
            self.rows.len(),
            self.from,
            self.to,
            self.zone
        );
        Ok(())
    }
}

/// People get the iCalendar text itself.
impl Human for Ics {
    fn human(&self, out: &mut dyn Write) -> io::Result<()> {
        out.write_all(self.ics.as_bytes())
    }
}
