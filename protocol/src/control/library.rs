//! Answers about the library of records: status, lists, search, imports,
//! verification, the calendar.

use serde::{Deserialize, Serialize};

use crate::ids::RecordKind;
use crate::record::{Event, EventFormat, EventStatus, Evidence, Practice, PracticeStatus, Record};

/// `status`: this node's identity, consortium and counts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// The node key (64 hex digits).
    pub public_key: String,
    /// The same key as a libp2p PeerId.
    pub peer_id: String,
    pub data_dir: String,
    /// `None` before `consortium create` or `join`.
    pub consortium: Option<ConsortiumStatus>,
    /// Whether the answer comes from the running node (`r2com run`) or
    /// from the CLI opening a stopped node's store.
    pub running: bool,
    pub counts: Counts,
    /// Equal on two nodes exactly when they hold the same changes (hex).
    pub sync_digest: String,
    /// Multiaddrs the running node listens on for peers (only when running).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listen: Option<Vec<String>>,
    /// Every member node but this one, as `peers` shows them (only when
    /// running).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peers: Option<Vec<super::PeerRow>>,
    /// Reachability and relays (only when running).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<super::NetworkStatus>,
}

/// The consortium a node belongs to, as `status` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsortiumStatus {
    /// The consortium id (hex of its genesis entry).
    pub id: String,
    pub name: String,
    /// Organisations not revoked.
    pub members: u64,
    pub this_node: Standing,
}

/// Where this node stands in its consortium.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Standing {
    /// Joined by invite; a member has not received the admission yet.
    #[serde(rename = "not admitted yet")]
    NotAdmitted,
    #[serde(rename = "revoked")]
    Revoked,
    #[serde(rename = "admin")]
    Admin,
    #[serde(rename = "member")]
    Member,
}

impl std::fmt::Display for Standing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Standing::NotAdmitted => "not admitted yet",
            Standing::Revoked => "revoked",
            Standing::Admin => "admin",
            Standing::Member => "member",
        })
    }
}

/// What the store holds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub practices: u64,
    pub events: u64,
    /// Documents (one per record, deleted ones included).
    pub documents: u64,
    /// Signed changes.
    pub changes: u64,
}

/// `import`: what a dataset import did (all or nothing).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportReport {
    /// Records in the file.
    pub records: u64,
    pub created: u64,
    pub updated: u64,
    /// Records identical to the stored ones (no change written).
    pub unchanged: u64,
}

/// One row of `practice list`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PracticeRow {
    pub id: String,
    pub title: String,
    pub organisation: String,
    pub status: PracticeStatus,
    pub evidence: Evidence,
    pub themes: Vec<String>,
    pub languages: Vec<String>,
    pub countries: Vec<String>,
    pub updated_at: String,
    /// The language the practice is written in, if it says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// The same practice in other languages (linked by `translation_of`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub translations: Vec<Translation>,
}

/// A practice in another language.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Translation {
    pub id: String,
    /// `None` if the practice does not say (an original written before
    /// languages were recorded).
    pub language: Option<String>,
}

impl From<&Practice> for PracticeRow {
    fn from(p: &Practice) -> Self {
        PracticeRow {
            id: p.id.clone(),
            title: p.title.clone(),
            organisation: p.organisation.clone(),
            status: p.status,
            evidence: p.evidence,
            themes: p.themes.clone(),
            languages: p.languages.clone(),
            countries: p.countries.clone(),
            updated_at: p.updated_at.clone(),
            language: p.language.clone(),
            translations: Vec::new(),
        }
    }
}

/// One row of `event list`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventRow {
    pub id: String,
    pub title: String,
    /// Organiser's wall clock, in `timezone`.
    pub starts_at: String,
    pub ends_at: String,
    pub timezone: String,
    pub organiser: String,
    pub format: EventFormat,
    pub language: String,
    pub status: EventStatus,
    /// RFC 5545 RRULE, `null` for a single session.
    pub recurrence: Option<String>,
}

impl From<&Event> for EventRow {
    fn from(e: &Event) -> Self {
        EventRow {
            id: e.id.clone(),
            title: e.title.clone(),
            starts_at: e.starts_at.clone(),
            ends_at: e.ends_at.clone(),
            timezone: e.timezone.clone(),
            organiser: e.organiser.clone(),
            format: e.format,
            language: e.language.clone(),
            status: e.status,
            recurrence: e.recurrence.clone(),
        }
    }
}

/// `practice rm` / `event rm`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Removed {
    /// `kind/id`, e.g. `practice/p-000042`.
    pub removed: String,
}

/// One hit of `search`, best first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchHit {
    pub kind: RecordKind,
    pub id: String,
    pub title: String,
    /// Higher is better (title matches weigh most).
    pub score: u32,
    /// The matching passage of the summary, body or description.
    pub snippet: String,
    /// Found through this translation of it (the practice id whose text
    /// matched), not through its own text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
}

/// One page of an export ([`super::Request::ExportPage`]).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RecordPage {
    /// The records, in document key order.
    pub records: Vec<Record>,
    /// The last record's document key, to ask for the next page with;
    /// `None` once there is no record after this page.
    pub next: Option<String>,
}

/// `verify`: every stored change re-checked, every file held re-hashed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyReport {
    pub changes: u64,
    pub documents: u64,
    pub valid: u64,
    pub invalid: u64,
    /// Attachment files held whole, and those whose bytes do not have
    /// their BLAKE3 hash (or could not be read).
    #[serde(default)]
    pub files: u64,
    #[serde(default)]
    pub files_invalid: u64,
    /// The first failures, one line each.
    pub failures: Vec<String>,
}

/// `calendar export`: the filtered events as iCalendar.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ics {
    /// Events in the calendar (each with its recurrence, not expanded).
    pub events: u64,
    /// RFC 5545 text (CRLF line ends, folded lines, VTIMEZONEs).
    pub ics: String,
    /// Events left out because their merged state does not validate: the
    /// event, the field and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<String>,
}

/// `backup`, `restore`, `verify --backup`: what a backup file holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupReport {
    /// The backup file.
    pub file: String,
    /// When it was made (RFC 3339).
    pub created_at: String,
    /// The node it is of: public key (hex) and PeerId.
    pub node_key: String,
    pub peer_id: String,
    /// The consortium id (hex).
    pub consortium: String,
    /// Signed changes, roster entries and peer addresses in it.
    pub changes: u64,
    pub entries: u64,
    pub addrs: u64,
    /// Attachment files in it, and their bytes (each checked against its
    /// BLAKE3 hash when the backup is read).
    #[serde(default)]
    pub files: u64,
    #[serde(default)]
    pub file_bytes: u64,
    /// SHA-256 (hex) of its content, as its last line records.
    pub sha256: String,
    /// Size of the file.
    pub bytes: u64,
}
