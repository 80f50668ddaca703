//! Command-line arguments (clap derive; doc comments are the help text).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// r2com: the consortium's shared library of practices and training
/// calendar, synced peer to peer between member NGOs.
#[derive(Parser, Debug)]
#[command(name = "r2com", version, about, propagate_version = true)]
pub struct Cli {
    /// Data directory of the node (key, store, control socket).
    /// Default: $XDG_DATA_HOME/r2com (~/.local/share/r2com).
    #[arg(long, global = true, env = "R2COM_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Print machine-readable JSON instead of tables.
    #[arg(long, global = true)]
    pub json: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create this node's key (once) and print its public key and PeerId.
    Init,
    /// Print this node's public key and PeerId.
    Id,
    /// Run the node in the foreground (logs to stderr; RUST_LOG sets the level).
    /// Also serves the calendar read-only at http://ADDR/calendar.ics.
    Run {
        /// Where the calendar feed listens (e.g. 127.0.0.1:8733, port 0 for
        /// any, or off); overrides [feed] listen in DATA_DIR/config.toml.
        /// The bound address is written to DATA_DIR/feed.addr.
        #[arg(long, value_name = "ADDR")]
        feed_listen: Option<String>,
        /// A multiaddr to listen on for peers (repeatable; replaces [net]
        /// listen of config.toml; default /ip4/0.0.0.0/tcp/7820 and
        /// /ip4/0.0.0.0/udp/7820/quic-v1).
        #[arg(long, value_name = "MULTIADDR")]
        listen: Vec<String>,
        /// Do not discover members on the local network (mDNS).
        #[arg(long)]
        no_mdns: bool,
    },
    /// Peer addresses.
    #[command(subcommand)]
    Peer(PeerCmd),
    /// Every member node: connected or not, addresses, last sync, what each side lacks, bytes.
    Peers,
    /// Sync now with one peer (PeerId or key) or with every connected member, and wait.
    Sync { peer: Option<String> },
    /// This node's identity and record counts.
    Status,
    /// Import a dataset file ({"practices": [...], "events": [...]}); all or nothing.
    Import {
        /// The JSON file, or - for standard input.
        file: PathBuf,
    },
    /// Export every record as a dataset file.
    Export {
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        out: Option<PathBuf>,
    },
    /// The library of practices.
    #[command(subcommand)]
    Practice(PracticeCmd),
    /// The training calendar.
    #[command(subcommand)]
    Event(EventCmd),
    /// The calendar: agenda of upcoming sessions, iCalendar export.
    #[command(subcommand)]
    Calendar(CalendarCmd),
    /// Full-text search over titles, summaries and bodies (case and accents ignored).
    Search {
        /// Words to look for; all must occur.
        #[arg(required = true)]
        text: Vec<String>,
        /// Most results to show.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Re-check every stored change and signature; exits 6 if any fails.
    Verify,
    /// The consortium this node belongs to.
    #[command(subcommand)]
    Consortium(ConsortiumCmd),
    /// Invite a node to the consortium (admins only); prints a token to give it.
    Invite(InviteArgs),
    /// Take up an invite token (run on the invited node).
    Join {
        /// The token `r2com invite` printed.
        token: String,
    },
    /// The consortium's member organisations, their node keys and roles.
    Members,
    /// Revoke an organisation (short key) or one node key (hex or PeerId); admins only.
    Revoke {
        /// Organisation short key, node public key (hex) or PeerId.
        target: String,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Make an organisation an admin (admins only).
    Promote { org: String },
    /// Make an admin organisation a plain member (admins only; never the last admin).
    Demote { org: String },
    /// Hand the roster to another node by file (until nodes sync by themselves).
    #[command(subcommand)]
    Roster(HandoverCmd),
    /// Hand signed changes to another node by file; the receiver verifies each
    /// signature and its author's membership.
    #[command(subcommand)]
    Changes(HandoverCmd),
}

#[derive(Subcommand, Debug)]
pub enum PeerCmd {
    /// Remember a partner's address and dial it (redialed with backoff).
    Add {
        /// e.g. /ip4/203.0.113.5/tcp/7820 or /dns4/node.example.org/udp/7820/quic-v1
        addr: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum ConsortiumCmd {
    /// Found a consortium; this node's organisation becomes its first admin.
    Create {
        /// The consortium's name.
        #[arg(long)]
        name: String,
        /// This node's organisation short key (e.g. lmds).
        #[arg(long)]
        org: String,
        /// The organisation's display name.
        #[arg(long)]
        org_name: String,
        /// ISO 3166 alpha-2 country (XK for Kosovo).
        #[arg(long)]
        country: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum HandoverCmd {
    /// Write to a file (or standard output).
    Export {
        #[arg(long, short)]
        out: Option<PathBuf>,
    },
    /// Read a file written by export on another node.
    Import { file: PathBuf },
}

#[derive(Args, Debug)]
pub struct InviteArgs {
    /// The invited organisation's short key (new, or existing for another node).
    #[arg(long)]
    pub org: String,
    #[arg(long)]
    pub org_name: String,
    /// ISO 3166 alpha-2 country (XK for Kosovo).
    #[arg(long)]
    pub country: String,
    /// The invited node's public key (hex) or PeerId (`r2com id` on that node).
    #[arg(long)]
    pub key: String,
    /// Make the organisation an admin.
    #[arg(long)]
    pub admin: bool,
    /// How long the invite stays valid: 7d, 12h, 30m.
    #[arg(long, default_value = "7d")]
    pub expires: String,
    /// A multiaddr where members can be reached (repeatable).
    #[arg(long = "addr")]
    pub addrs: Vec<String>,
}

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

fn parse_date(s: &str) -> Result<String, String> {
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
    #[arg(long)]
    pub duration: Option<String>,
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
