//! Arguments of `calendar agenda` and `calendar export`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::records::parse_date;

#[derive(Subcommand, Debug)]
pub enum CalendarCmd {
    /// Upcoming sessions, recurrences expanded, in your time zone;
    /// cancelled and postponed ones are marked.
    Agenda(AgendaArgs),
    /// Write the calendar as an iCalendar (.ics, RFC 5545) file.
    Export(CalendarExportArgs),
}

/// Which events the calendar shows (filters combine).
#[derive(Args, Debug)]
pub struct CalendarFilter {
    /// Organiser (short key).
    #[arg(long, alias = "organiser")]
    pub org: Option<String>,
    /// workshop, webinar, course, study visit, conference, peer exchange.
    #[arg(long)]
    pub format: Option<String>,
    /// scheduled, cancelled or postponed.
    #[arg(long)]
    pub status: Option<String>,
    /// ISO 639-1 code.
    #[arg(long)]
    pub language: Option<String>,
}

#[derive(Args, Debug)]
pub struct AgendaArgs {
    /// First day (YYYY-MM-DD, in --tz); default today.
    #[arg(long, value_parser = parse_date)]
    pub from: Option<String>,
    /// Last day (inclusive); default 90 days after --from.
    #[arg(long, value_parser = parse_date)]
    pub to: Option<String>,
    /// Show times in this IANA zone; default the system zone (TZ, then
    /// /etc/localtime), else UTC.
    #[arg(long, value_name = "ZONE")]
    pub tz: Option<String>,
    #[command(flatten)]
    pub filter: CalendarFilter,
}

#[derive(Args, Debug)]
pub struct CalendarExportArgs {
    /// Write to this file instead of standard output.
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub filter: CalendarFilter,
}
