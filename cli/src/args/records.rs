//! Arguments of the `practice` and `event` commands.

use std::path::PathBuf;

use clap::{Args, Subcommand};

#[derive(Subcommand, Debug)]
pub enum PracticeCmd {
    /// List practices (filters combine).
    List(PracticeFilter),
    /// Show one practice.
    Show { id: String },
    /// Add a practice.
    Add(Box<PracticeAdd>),
    /// Change fields of a practice.
    Edit(EditArgs),
    /// Delete a practice.
    Rm { id: String },
}

#[derive(Subcommand, Debug)]
pub enum EventCmd {
    /// List events (filters combine).
    List(EventFilter),
    /// Show one event.
    Show { id: String },
    /// Add an event.
    Add(Box<EventAdd>),
    /// Change fields of an event.
    Edit(EditArgs),
    /// Delete an event.
    Rm { id: String },
}

/// Which of the two moments a repeated local time (the autumn hour when
/// clocks go back) means.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fold {
    /// The first time the clock shows it (summer time): how r2com stores it.
    Earlier,
    /// The second time (winter time): cannot be stored; refused.
    Later,
}

#[derive(Args, Debug)]
pub struct PracticeFilter {
    /// Owning organisation (short key, e.g. lmds).
    #[arg(long, alias = "organisation")]
    pub org: Option<String>,
    #[arg(long)]
    pub theme: Option<String>,
    #[arg(long)]
    pub target_group: Option<String>,
    /// draft, published or archived.
    #[arg(long)]
    pub status: Option<String>,
    /// ISO 639-1 code.
    #[arg(long)]
    pub language: Option<String>,
    /// ISO 3166 alpha-2 code.
    #[arg(long)]
    pub country: Option<String>,
    #[arg(long)]
    pub evidence: Option<String>,
    /// Whole records (with --json) rather than summary rows.
    #[arg(long)]
    pub full: bool,
}

#[derive(Args, Debug)]
pub struct EventFilter {
    /// Organiser (short key).
    #[arg(long, alias = "organiser")]
    pub org: Option<String>,
    /// scheduled, cancelled or postponed.
    #[arg(long)]
    pub status: Option<String>,
    #[arg(long)]
    pub language: Option<String>,
    #[arg(long)]
    pub format: Option<String>,
    /// Starting on or after this date (YYYY-MM-DD).
    #[arg(long, value_parser = parse_date)]
    pub from: Option<String>,
    /// Starting on or before this date (YYYY-MM-DD).
    #[arg(long, value_parser = parse_date)]
    pub to: Option<String>,
    /// Whole records (with --json) rather than summary rows.
    #[arg(long)]
    pub full: bool,
}

pub(super) fn parse_date(s: &str) -> Result<String, String> {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map(|d| d.format("%Y-%m-%d").to_string())
        .map_err(|_| format!("{s:?} is not a date like 2026-03-10"))
}

#[derive(Args, Debug)]
pub struct PracticeAdd {
    /// Read the whole record from a JSON file (- for standard input).
    #[arg(long, conflicts_with_all = ["title", "organisation", "contact"])]
    pub from_json: Option<PathBuf>,
    /// Record id; default: generated.
    #[arg(long)]
    pub id: Option<String>,
    #[arg(long, required_unless_present = "from_json")]
    pub title: Option<String>,
    #[arg(long, default_value = "")]
    pub summary: String,
    #[arg(long, default_value = "", conflicts_with = "body_file")]
    pub body: String,
    /// Read the body from a file.
    #[arg(long)]
    pub body_file: Option<PathBuf>,
    /// A theme (repeat for several).
    #[arg(long = "theme")]
    pub themes: Vec<String>,
    /// A target group (repeat for several).
    #[arg(long = "target-group")]
    pub target_groups: Vec<String>,
    /// ISO 3166 alpha-2 country (repeat for several).
    #[arg(long = "country")]
    pub countries: Vec<String>,
    /// ISO 639-1 language (repeat for several).
    #[arg(long = "language")]
    pub languages: Vec<String>,
    /// Owning member's short key.
    #[arg(long, alias = "org", required_unless_present = "from_json")]
    pub organisation: Option<String>,
    #[arg(long, default_value = "not yet evaluated")]
    pub evidence: String,
    /// Contact e-mail address.
    #[arg(long, required_unless_present = "from_json")]
    pub contact: Option<String>,
    #[arg(long, default_value = "draft")]
    pub status: String,
    /// This practice translates that one (its id): list, show and search
    /// link them. Needs --written-in.
    #[arg(long, value_name = "ID", requires = "written_in")]
    pub translation_of: Option<String>,
    /// The language this practice is written in (ISO 639-1: fr, pt, sq, ...).
    #[arg(long, value_name = "LANG")]
    pub written_in: Option<String>,
    /// Use the id of an erased record again (admins only).
    #[arg(long)]
    pub reuse: bool,
}

#[derive(Args, Debug)]
pub struct EventAdd {
    /// Read the whole record from a JSON file (- for standard input).
    #[arg(long, conflicts_with_all = ["title", "starts", "tz", "organiser"])]
    pub from_json: Option<PathBuf>,
    #[arg(long)]
    pub id: Option<String>,
    #[arg(long, required_unless_present = "from_json")]
    pub title: Option<String>,
    #[arg(long, default_value = "")]
    pub description: String,
    /// Local start, as the organiser writes it: "2026-03-10 10:00".
    #[arg(long, required_unless_present = "from_json")]
    pub starts: Option<String>,
    /// Local end; or give --duration.
    #[arg(long, conflicts_with = "duration")]
    pub ends: Option<String>,
    /// Length: 90m, 2h, 1h30m, 2d.
    #[arg(long, value_parser = super::parse_duration)]
    pub duration: Option<std::time::Duration>,
    /// IANA time zone of the organiser (Europe/Lisbon).
    #[arg(long, required_unless_present = "from_json")]
    pub tz: Option<String>,
    #[arg(long, default_value = "workshop")]
    pub format: String,
    /// Organiser's short key.
    #[arg(long, alias = "org", required_unless_present = "from_json")]
    pub organiser: Option<String>,
    #[arg(long, default_value = "en")]
    pub language: String,
    /// Places; omit for unlimited.
    #[arg(long)]
    pub capacity: Option<u32>,
    #[arg(long)]
    pub location: Option<String>,
    #[arg(long)]
    pub online_url: Option<String>,
    #[arg(long, default_value = "scheduled")]
    pub status: String,
    /// RFC 5545 RRULE, e.g. FREQ=WEEKLY;BYDAY=TU;COUNT=10.
    #[arg(long)]
    pub rrule: Option<String>,
    /// For a start or end in the repeated autumn hour: which one you mean.
    #[arg(long, value_enum)]
    pub fold: Option<Fold>,
    /// Use the id of an erased record again (admins only).
    #[arg(long)]
    pub reuse: bool,
}

#[derive(Args, Debug)]
pub struct EditArgs {
    pub id: String,
    /// Set a field: --set status=published, --set themes="mentoring,youth work",
    /// --set capacity=null (repeatable).
    #[arg(long = "set", value_name = "FIELD=VALUE")]
    pub sets: Vec<String>,
    /// Replace the long text (body / description) with this file's content.
    #[arg(long, value_name = "FILE")]
    pub text_file: Option<PathBuf>,
    /// Splice the long text: POS:DELETE:TEXT (character offsets), repeatable.
    #[arg(long, value_name = "POS:DELETE:TEXT")]
    pub splice: Vec<String>,
    /// Which text field --text-file and --splice change (default: body for
    /// practices, description for events).
    #[arg(long)]
    pub field: Option<String>,
    /// For an event start or end set in the repeated autumn hour: which one
    /// you mean.
    #[arg(long, value_enum)]
    pub fold: Option<Fold>,
}
