//! Answers about who changed what: a record's history, the consortium's
//! change log, the fields concurrent changes left in conflict, and a
//! resolution.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `history ID`: every change of one record, oldest first (in causal
/// order: a change comes after every change it builds on).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// `practice/p-000001`.
    pub record: String,
    /// The record's title now (`None` when it is deleted).
    pub title: Option<String>,
    pub deleted: bool,
    pub changes: Vec<ChangeInfo>,
    /// Stored changes that wait for a change they build on (hashes).
    pub waiting: Vec<String>,
}

/// One signed change, as `history` and `log` show it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChangeInfo {
    /// The change hash (hex).
    pub hash: String,
    /// `practice/p-000001`.
    pub record: String,
    /// The record's title now (`log` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// When the author's node made it (RFC 3339, UTC; the author's clock).
    pub at: String,
    pub author: Author,
    /// Whether the stored signature verifies for this change, record and
    /// consortium (checked again now, not remembered).
    pub signature: SignatureCheck,
    pub action: ChangeAction,
    /// The fields it changed, in the record's field order.
    pub fields: Vec<FieldChange>,
    /// The changes it builds on (hashes).
    pub deps: Vec<String>,
}

/// Who signed a change, per the roster.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Author {
    /// The node key (64 hex digits): the change's automerge actor, which
    /// its signature verifies against.
    pub key: String,
    /// The organisation the roster gives this key (`None`: unknown key).
    pub organisation: Option<String>,
    pub standing: AuthorStanding,
}

/// The author key's standing in the roster.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthorStanding {
    /// A current member's key.
    Member,
    /// Revoked since; the change is one its revocation kept.
    Revoked,
    /// Not in the roster (a change made before this node's consortium, or
    /// outside any).
    Unknown,
}

/// The outcome of checking a stored signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status", content = "reason")]
pub enum SignatureCheck {
    Valid,
    Invalid(String),
}

/// What a change did to its record as a whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeAction {
    Created,
    Edited,
    Deleted,
    Restored,
}

/// What a change did to one field.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum FieldChange {
    /// A single-value field set to `value`.
    Set { field: String, value: Value },
    /// An optional field cleared.
    Unset { field: String },
    /// Collaborative text edited: characters inserted and deleted, and with
    /// `--diff` a unified diff of the text before and after.
    Text {
        field: String,
        inserted: u64,
        deleted: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        diff: Option<String>,
    },
    /// A set (themes, languages, ...): items added and removed.
    Items {
        field: String,
        added: Vec<String>,
        removed: Vec<String>,
    },
}

impl FieldChange {
    pub fn field(&self) -> &str {
        match self {
            FieldChange::Set { field, .. }
            | FieldChange::Unset { field }
            | FieldChange::Text { field, .. }
            | FieldChange::Items { field, .. } => field,
        }
    }

    /// One line: `title`, `body +12 -3`, `themes +mentoring -exit work`.
    pub fn summary(&self) -> String {
        match self {
            FieldChange::Set { field, .. } => field.clone(),
            FieldChange::Unset { field } => format!("{field} cleared"),
            FieldChange::Text {
                field,
                inserted,
                deleted,
                ..
            } => format!("{field} +{inserted} -{deleted}"),
            FieldChange::Items {
                field,
                added,
                removed,
            } => {
                let mut s = field.clone();
                for a in added {
                    s.push_str(&format!(" +{a}"));
                }
                for r in removed {
                    s.push_str(&format!(" -{r}"));
                }
                s
            }
        }
    }
}

/// `conflicts`: fields with concurrent values, and merged records that do
/// not validate.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Conflicts {
    pub conflicts: Vec<FieldConflict>,
    pub invalid: Vec<InvalidRecord>,
}

/// A field two or more concurrent changes set to different values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldConflict {
    /// `practice/p-000001`.
    pub record: String,
    pub title: String,
    pub field: String,
    /// Numbered from 1 (`resolve --keep N`).
    pub values: Vec<ConflictValue>,
}

/// One of a field's concurrent values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConflictValue {
    /// `resolve ID FIELD --keep N` keeps this one.
    pub n: u32,
    pub value: Value,
    /// The key that wrote it (hex) and its organisation.
    pub author: String,
    pub organisation: Option<String>,
    /// When (RFC 3339, the author's clock).
    pub at: String,
    /// The change that wrote it (hash).
    pub change: String,
    /// Whether the record shows this value now (automerge's pick).
    pub current: bool,
}

/// A record whose merged state fails validation (each side's change was
/// valid, their combination is not).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvalidRecord {
    pub record: String,
    pub title: String,
    pub field: String,
    pub reason: String,
}

/// `erase`: the signed erasure entry every node carries out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Erased {
    /// `practice/p-000001`.
    pub record: String,
    /// Signed changes of the record the entry lists (erased here now, and
    /// refused everywhere if offered again).
    pub changes: u64,
    /// The erasure entry (hex id).
    pub entry: String,
}

/// How `resolve` settles a field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// Keep the N-th value `conflicts` lists.
    Keep(u32),
    /// A new value, in the text form `edit --set` takes.
    Value(String),
}

/// `resolve`: the field now holds one value on every node that receives
/// the change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Resolved {
    pub record: String,
    pub field: String,
    pub value: Value,
    /// The signed change that settled it (hash).
    pub change: String,
}
