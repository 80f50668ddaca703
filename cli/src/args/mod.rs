//! Command-line arguments (clap derive; doc comments are the help text).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

mod calendar;
mod records;
mod staff;

pub use calendar::{CalendarCmd, CalendarFilter};
pub use records::{EditArgs, EventAdd, EventCmd, Fold, PracticeAdd, PracticeCmd};
pub use staff::{UserCmd, WebCmd};

/// r2com: the consortium's shared library of practices and training
/// calendar, synced peer to peer between member NGOs.
#[derive(Parser, Debug)]
#[command(name = "r2com", version, about, propagate_version = true)]
pub struct Cli {
    /// Data directory of the node (key, store, control socket).
    /// Default: $XDG_DATA_HOME/r2com (~/.local/share/r2com).
    #[arg(long, global = true, env = "R2COM_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Print machine-readable JSON instead of tables: one JSON document on
    /// standard output, the answer or {"error": {"code", "message"}}.
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
    /// This node's key.
    #[command(subcommand)]
    Key(KeyCmd),
    /// Run the node in the foreground (logs to stderr; RUST_LOG sets the level).
    /// Also serves the web app for the organisation's staff (default
    /// http://127.0.0.1:8734) and the calendar read-only at
    /// http://ADDR/calendar.ics.
    Run {
        /// Where the web app listens (e.g. 127.0.0.1:8734, port 0 for any,
        /// or off); overrides [web] listen in DATA_DIR/config.toml. The
        /// bound address is written to DATA_DIR/web.addr.
        #[arg(long, value_name = "ADDR")]
        web_listen: Option<String>,
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
        /// Serve Prometheus/OpenMetrics at http://ADDR/metrics (e.g.
        /// 127.0.0.1:9464, port 0 for any, or off); overrides [metrics]
        /// listen. Loopback only unless [metrics] allow_remote = true.
        /// The bound address is written to DATA_DIR/metrics.addr.
        #[arg(long, value_name = "ADDR")]
        metrics_listen: Option<String>,
    },
    /// Peer addresses.
    #[command(subcommand)]
    Peer(PeerCmd),
    /// Staff accounts of the web app (kept on this node, never replicated).
    #[command(subcommand)]
    User(UserCmd),
    /// The web app.
    #[command(subcommand)]
    Web(WebCmd),
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
    /// Print a demo dataset for `import`: practices and events of the eight
    /// partner organisations, in their languages. The same seed gives the
    /// same bytes.
    DemoData {
        #[arg(long, default_value_t = 500)]
        practices: u32,
        #[arg(long, default_value_t = 200)]
        events: u32,
        #[arg(long, default_value_t = 1)]
        seed: u64,
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
    /// With --backup, check a backup file instead (offline).
    Verify {
        /// A backup file to check: its checksum, every signature, every
        /// author against its roster, every file's BLAKE3 hash. Exits 6 if
        /// it is damaged.
        #[arg(long, value_name = "FILE")]
        backup: Option<PathBuf>,
    },
    /// Write a backup of this node's history (roster entries and every
    /// signed change, compressed, with checksums) and of the attachment
    /// files it holds to FILE; the node may run. The node key is not in
    /// it: keep node.key elsewhere.
    Backup {
        /// The backup file (replaced atomically).
        #[arg(long, short, value_name = "FILE")]
        out: PathBuf,
        /// Leave the attachment files out (the history only; members hold
        /// the files and a restored node fetches them when asked).
        #[arg(long)]
        without_files: bool,
    },
    /// Rebuild this node from a backup, into a data directory holding its
    /// node.key and no store (the node stopped), with the files the backup
    /// holds. Checks the whole backup first; stores nothing unless all of
    /// it is valid.
    Restore {
        /// The backup file.
        file: PathBuf,
    },
    /// Every change of one record, oldest first: when, the author's
    /// organisation and node key, whether its signature verifies, and the
    /// fields it changed.
    History {
        /// The record's id (or practice/ID, event/ID when both kinds have it).
        id: String,
        /// Show each text change as a unified diff.
        #[arg(long)]
        diff: bool,
    },
    /// The consortium's changes across all records, newest first.
    Log {
        /// Only changes made on or after this day (2026-03-01, UTC) or time (RFC 3339).
        #[arg(long, value_name = "DATE")]
        since: Option<String>,
        /// Only changes signed by this organisation's node keys.
        #[arg(long)]
        org: Option<String>,
        /// At most this many changes (the newest).
        #[arg(long, value_name = "N")]
        limit: Option<usize>,
    },
    /// Record fields that concurrent changes set to different values, with
    /// each value's author and time, and merged records that fail validation.
    Conflicts,
    /// Erase a record on every node (its organisation or an admin): its
    /// document, every change and signature, search text and snapshots; a
    /// signed tombstone stays, and the erased changes are refused if offered
    /// again.
    Erase {
        /// The record's id (or practice/ID, event/ID).
        id: String,
        /// Why (kept in the tombstone every node holds).
        #[arg(long)]
        reason: String,
    },
    /// Settle a field of a record with one value, on every node.
    Resolve {
        /// The record's id (or practice/ID, event/ID).
        id: String,
        /// The field (title, status, capacity, ...).
        field: String,
        /// Keep the N-th value `r2com conflicts` lists.
        #[arg(
            long,
            value_name = "N",
            conflicts_with = "value",
            required_unless_present = "value"
        )]
        keep: Option<u32>,
        /// Set this value instead (as `edit --set FIELD=VALUE` takes it).
        #[arg(long, value_name = "VALUE")]
        value: Option<String>,
    },
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
    /// Withdraw an invite nobody has used yet (admins only): the invited
    /// node can no longer join with it.
    Withdraw {
        /// The invite's id (`invite` prints it; 64 hex digits).
        invite: String,
    },
    /// Make an organisation an admin (admins only).
    Promote { org: String },
    /// Make an admin organisation a plain member (admins only; never the last admin).
    Demote { org: String },
    /// Attach a file (slides, guideline, handout) to a practice or event:
    /// stored by content in the data directory, referenced by the record,
    /// fetched by other members when they ask for it.
    Attach {
        /// The practice or event id.
        id: String,
        /// The file (at most [attachments] max_size_mb, default 100 MB).
        file: PathBuf,
        /// Title shown with the file (default: its file name).
        #[arg(long)]
        title: Option<String>,
        /// ISO 639-1 language of the material (fr, pt, sq, ...).
        #[arg(long)]
        language: Option<String>,
    },
    /// Remove a file from a practice or event (this node's copy is deleted
    /// when no other record refers to it).
    Detach {
        id: String,
        /// The file's hash (`attachment list`).
        hash: String,
    },
    /// Files attached to records: list them, get one.
    #[command(subcommand)]
    Attachment(AttachmentCmd),
    /// Hand the roster to another node by file (until nodes sync by themselves).
    #[command(subcommand)]
    Roster(HandoverCmd),
    /// Hand signed changes to another node by file; the receiver verifies each
    /// signature and its author's membership.
    #[command(subcommand)]
    Changes(HandoverCmd),
}

#[derive(Subcommand, Debug)]
pub enum AttachmentCmd {
    /// Every file attached to a record, with whether this node holds it.
    List {
        /// Only files this node does not hold.
        #[arg(long)]
        missing: bool,
    },
    /// Write a file to OUT, fetching it from the members that hold it first
    /// if this node does not (needs the node running).
    Get {
        /// The file's hash (`attachment list`).
        hash: String,
        #[arg(long, short)]
        out: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
pub enum KeyCmd {
    /// Replace this node's key with a new one in the same organisation
    /// (running node, connected to a member): the new key is admitted, a
    /// member confirms it, the node restarts under it and the old key is
    /// revoked, keeping every change it signed. A node whose organisation
    /// is not an admin prints the `r2com invite` line for an admin first.
    Rotate {
        /// The invite of the new key an admin made (non-admin organisations).
        #[arg(long)]
        token: Option<String>,
    },
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
    #[arg(long, default_value = "7d", value_parser = parse_duration)]
    pub expires: std::time::Duration,
    /// A multiaddr where members can be reached (repeatable).
    #[arg(long = "addr")]
    pub addrs: Vec<String>,
}

/// "90m", "2h", "1h30m", "2d", "30s" (humantime): a positive duration.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    match humantime::parse_duration(s) {
        Ok(d) if !d.is_zero() => Ok(d),
        _ => Err(format!("{s:?}: write 90m, 2h, 1h30m, 2d or 30s")),
    }
}
