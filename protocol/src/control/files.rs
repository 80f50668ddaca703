//! Answers about files attached to records.

use serde::{Deserialize, Serialize};

use crate::record::Attachment;

/// `Attach`: the reference added (or updated) on the record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attached {
    /// `practice/ID` or `event/ID`.
    pub record: String,
    pub attachment: Attachment,
}

/// `Detach`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Detached {
    pub record: String,
    pub hash: String,
    /// This node's copy was deleted (no other record refers to the file).
    pub file_removed: bool,
}

/// One reference in `attachment list` (and in `show`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentRow {
    /// `practice/ID` or `event/ID`.
    pub record: String,
    #[serde(flatten)]
    pub attachment: Attachment,
    /// This node holds the file whole.
    pub held: bool,
}

/// `AttachmentGet`: the file written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileWritten {
    pub hash: String,
    pub written: String,
    pub bytes: u64,
    /// Bytes fetched from members for this answer (0 when held already).
    pub fetched: u64,
    /// Bytes found in a part file from an interrupted fetch.
    pub resumed: u64,
    /// PeerIds the pieces came from.
    pub from: Vec<String>,
}
