//! What the CLI (or the web app) asks of the node.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Edit, Resolution};
use crate::ids::RecordKind;
use crate::roster::{OrgInfo, Role};
use crate::staff::{StaffRole, UserName};

/// Most records one [`Request::ExportPage`] answers with.
pub const MAX_EXPORT_PAGE: u32 = 2000;

/// Most rows (or records) one paged [`Request::List`] answers with (see
/// [`ListFilter::limit`]).
pub const MAX_LIST_PAGE: u32 = 2000;

/// What the CLI asks of the node.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// This node's identity and counts.
    Status,
    /// Import a dataset (`{"practices": [...], "events": [...]}`), all or nothing.
    Import { data: Value },
    /// One page of every record, in document key order (`practice/...`
    /// then `event/...`): the records whose key sorts after `after`, at
    /// most `limit` of them (the node caps it at [`MAX_EXPORT_PAGE`]). An
    /// export asks page after page, so that no side holds the whole library
    /// in one message.
    ExportPage {
        #[serde(default)]
        after: Option<String>,
        limit: u32,
    },
    /// Records of a kind, filtered.
    List {
        kind: RecordKind,
        #[serde(default)]
        filter: ListFilter,
    },
    /// One record.
    Show { kind: RecordKind, id: String },
    /// The other languages of a practice (linked by `translation_of`).
    Translations { id: String },
    /// Add a new record (an error if the id exists).
    Add {
        kind: RecordKind,
        record: Value,
        /// Accept an event time that happens twice (the repeated autumn
        /// hour) as its earlier occurrence instead of refusing it.
        #[serde(default)]
        accept_ambiguous: bool,
        /// Use the id of an erased record again (admins only).
        #[serde(default)]
        reuse: bool,
    },
    /// Change fields of a record.
    Edit {
        kind: RecordKind,
        id: String,
        edits: Vec<Edit>,
        /// As for `Add`.
        #[serde(default)]
        accept_ambiguous: bool,
    },
    /// Delete a record.
    Remove { kind: RecordKind, id: String },
    /// Full-text search.
    Search { query: String, limit: usize },
    /// Re-check every stored signature.
    Verify,
    /// Write a backup of the node's history to `out` (a path the node can
    /// write; absolute), with the attachment files it holds unless
    /// `without_files`.
    Backup {
        out: String,
        #[serde(default)]
        without_files: bool,
    },
    /// Every change of one record (`ID` or `practice/ID`), oldest first.
    History {
        record: String,
        /// Text fields with a unified diff.
        #[serde(default)]
        diff: bool,
    },
    /// The consortium's changes across all records, newest first.
    Log {
        /// Changes made on or after this day (`YYYY-MM-DD`, UTC) or time
        /// (RFC 3339).
        #[serde(default)]
        since: Option<String>,
        /// Only changes signed by this organisation's keys.
        #[serde(default)]
        org: Option<String>,
        /// At most this many (the newest).
        #[serde(default)]
        limit: Option<usize>,
    },
    /// Fields with concurrent values, and merged records that fail validation.
    Conflicts,
    /// Erase a record (`ID` or `practice/ID`) on every node: its
    /// organisation or an admin.
    Erase { record: String, reason: String },
    /// Settle a field of a record (`ID` or `practice/ID`) with one value.
    Resolve {
        record: String,
        field: String,
        resolution: Resolution,
    },
    /// Found a consortium; this node's organisation is its first admin.
    ConsortiumCreate { name: String, org: OrgInfo },
    /// Issue an invite token (admins only).
    Invite {
        org: OrgInfo,
        /// Invitee node key: 64 hex digits or a PeerId.
        key: String,
        admin: bool,
        expires_secs: i64,
        addrs: Vec<String>,
    },
    /// Take up an invite.
    Join { token: String },
    /// The roster.
    Members,
    /// Revoke an organisation (short key) or a node key (admins only).
    Revoke { target: String, reason: String },
    /// Withdraw an invite nobody has used yet, by its id (admins only).
    InviteWithdraw { invite: String },
    /// Promote or demote an organisation (admins only).
    SetRole { org: String, role: Role },
    /// Rotate this node's key (running node only): a new key is admitted
    /// into this node's organisation, confirmed by a connected member, and
    /// the node restarts under it; the old key then revokes itself. A node
    /// whose organisation is not an admin first gets the new key's public
    /// key and hands it to an admin, then asks again with the admin's
    /// invite `token`.
    KeyRotate {
        #[serde(default)]
        token: Option<String>,
    },
    /// Every roster entry, for hand-over.
    RosterExport,
    /// Store the valid entries of a roster file.
    RosterImport { data: Value },
    /// Attach a file to the practice or event `id`: the node copies the
    /// file at `path` (absolute; the node reads it) into its file store.
    Attach {
        id: String,
        path: String,
        /// Default: the file name of `path`.
        #[serde(default)]
        title: Option<String>,
        #[serde(default)]
        language: Option<String>,
    },
    /// Remove a file's reference from a record.
    Detach { id: String, hash: String },
    /// Every file reference of every record, with whether it is held here.
    Attachments {
        /// Only files not held here.
        #[serde(default)]
        missing: bool,
    },
    /// Write a file to `out` (absolute; the node writes it), fetching it
    /// from members first if it is not held here.
    AttachmentGet { hash: String, out: String },
    /// Every signed change, for hand-over.
    ChangesExport,
    /// Accept signed changes from another member.
    ChangesImport { data: Value },
    /// Every member node: connected or not, addresses, last sync, lacks, bytes.
    Peers,
    /// Run a sync round now with one peer (PeerId or key) or all, and wait.
    Sync { peer: Option<String> },
    /// Remember a peer address and dial it.
    PeerAdd { addr: String },
    /// Every session of the filtered events between two dates (inclusive,
    /// `YYYY-MM-DD` in `zone`), recurrences expanded, shown in `zone`.
    CalendarAgenda {
        from: String,
        to: String,
        /// The reader's IANA zone.
        zone: String,
        #[serde(default)]
        filter: ListFilter,
    },
    /// The filtered events as an RFC 5545 iCalendar text.
    CalendarIcs {
        #[serde(default)]
        filter: ListFilter,
    },
    /// Make a staff account of the web app (local to this node); answers
    /// the one-time link that sets its password.
    UserAdd { name: UserName, role: StaffRole },
    /// The staff accounts.
    UserList,
    /// Change a staff account's role.
    UserRole { name: UserName, role: StaffRole },
    /// A new one-time link for a staff account to set its password.
    UserLink { name: UserName },
    /// Delete a staff account (its sessions and feed address end).
    UserRemove { name: UserName },
    /// A one-time URL that logs into the web app, as `user` or as the
    /// operator account.
    WebLoginUrl { user: Option<UserName> },
}

impl Request {
    /// A short name of the request, for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Request::Status => "status",
            Request::Import { .. } => "import",
            Request::ExportPage { .. } => "export_page",
            Request::List { .. } => "list",
            Request::Show { .. } => "show",
            Request::Translations { .. } => "translations",
            Request::Add { .. } => "add",
            Request::Edit { .. } => "edit",
            Request::Remove { .. } => "remove",
            Request::Search { .. } => "search",
            Request::Verify => "verify",
            Request::Backup { .. } => "backup",
            Request::History { .. } => "history",
            Request::Log { .. } => "log",
            Request::Conflicts => "conflicts",
            Request::Erase { .. } => "erase",
            Request::Resolve { .. } => "resolve",
            Request::ConsortiumCreate { .. } => "consortium_create",
            Request::Invite { .. } => "invite",
            Request::Join { .. } => "join",
            Request::Members => "members",
            Request::Revoke { .. } => "revoke",
            Request::InviteWithdraw { .. } => "invite_withdraw",
            Request::SetRole { .. } => "set_role",
            Request::KeyRotate { .. } => "key_rotate",
            Request::RosterExport => "roster_export",
            Request::RosterImport { .. } => "roster_import",
            Request::ChangesExport => "changes_export",
            Request::ChangesImport { .. } => "changes_import",
            Request::Peers => "peers",
            Request::Sync { .. } => "sync",
            Request::PeerAdd { .. } => "peer_add",
            Request::CalendarAgenda { .. } => "calendar_agenda",
            Request::CalendarIcs { .. } => "calendar_ics",
            Request::Attach { .. } => "attach",
            Request::Detach { .. } => "detach",
            Request::Attachments { .. } => "attachments",
            Request::AttachmentGet { .. } => "attachment_get",
            Request::UserAdd { .. } => "user_add",
            Request::UserList => "user_list",
            Request::UserRole { .. } => "user_role",
            Request::UserLink { .. } => "user_link",
            Request::UserRemove { .. } => "user_remove",
            Request::WebLoginUrl { .. } => "web_login_url",
        }
    }
}

/// Filters of `practice list` / `event list`. Absent fields do not filter.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ListFilter {
    /// Owning organisation (practices) or organiser (events).
    pub organisation: Option<String>,
    pub theme: Option<String>,
    pub target_group: Option<String>,
    pub status: Option<String>,
    pub language: Option<String>,
    pub country: Option<String>,
    pub evidence: Option<String>,
    pub format: Option<String>,
    /// Events starting on or after this date (`YYYY-MM-DD`, organiser's zone).
    pub from: Option<String>,
    /// Events starting on or before this date.
    pub to: Option<String>,
    /// Whole records rather than summary rows.
    pub full: bool,
    /// Only what comes after the record with this id (in id order): the
    /// next page of a list asked page after page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// At most this many rows (the node caps it at [`MAX_LIST_PAGE`]);
    /// all of them when absent. The CLI asks page after page, so that the
    /// node never holds a whole list of a big library in one answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

impl ListFilter {
    /// How many rows one answer holds at most.
    pub fn page_size(&self) -> usize {
        self.limit
            .map_or(usize::MAX, |l| l.clamp(1, MAX_LIST_PAGE) as usize)
    }
}
