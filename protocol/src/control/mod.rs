//! The node's local control API: the requests the CLI (and the web app)
//! send, and a typed answer for each.
//!
//! On the control socket each side sends length-prefixed JSON frames: one
//! [`Request`], then zero or more [`Frame::Progress`] and one final
//! [`Frame::Ok`] with a [`Response`] or [`Frame::Error`] with an
//! [`ApiError`]. Every answer type here serializes to the JSON that the
//! CLI's `--json` prints (README, "JSON output").
//!
//! ```
//! use r2com_protocol::control::{Frame, Removed, Response};
//! let frame: Frame = serde_json::from_str(
//!     r#"{"ok": {"removed": {"removed": "practice/p-1"}}}"#).unwrap();
//! let Frame::Ok(answer) = frame else { panic!() };
//! let removed: Removed = answer.try_into().unwrap();
//! assert_eq!(removed.removed, "practice/p-1");
//! ```

mod edit;
mod error;
mod files;
mod history;
mod library;
mod membership;
mod network;
mod request;
mod response;
mod staff;

use serde::{Deserialize, Serialize};

pub use edit::{apply_edits, Edit};
pub use error::{ApiError, ErrorCode};
pub use files::{Attached, AttachmentRow, Detached, FileWritten};
pub use history::{
    Author, AuthorStanding, ChangeAction, ChangeInfo, ConflictValue, Conflicts, Erased,
    FieldChange, FieldConflict, History, InvalidRecord, Resolution, Resolved, SignatureCheck,
};
pub use library::{
    BackupReport, ConsortiumStatus, Counts, EventRow, Ics, ImportReport, PracticeRow, RecordPage,
    Removed, SearchHit, Standing, Status, Translation, VerifyReport,
};
pub use membership::{
    ChangesFile, ChangesImported, DialFailure, Founded, InviteIssued, InviteWithdrawn, Joined,
    KeyRotated, Member, MemberKey, Members, RejectedEntry, RevocationInfo, Revoked, RoleSet,
    RosterFile, RosterImported, RotationState,
};
pub use network::{
    AddrTest, AddressRow, Connection, NetworkStatus, PeerAdded, PeerRow, Peers, Reachability,
    RelayReservation, RelayStatus, SyncOutcome, SyncResult, SyncRound,
};
pub use request::{ListFilter, Request, MAX_EXPORT_PAGE, MAX_LIST_PAGE};
pub use response::Response;
pub use staff::{OneTimeLink, StaffAccount, StaffAdded, StaffRemoved};

pub use crate::calendar::agenda::AgendaRow;
pub use crate::record::{Dataset, Record};

/// Largest request frame (an import of the full dataset is about 15 MB).
pub const MAX_REQUEST_LEN: usize = 256 * 1024 * 1024;
/// Largest response frame.
pub const MAX_RESPONSE_LEN: usize = 1024 * 1024 * 1024;

/// A frame the node sends. (One per message on a socket, moved once: its
/// size does not matter.)
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Frame {
    /// Work done so far (an import's records).
    Progress { done: u64, total: u64 },
    /// The answer.
    Ok(Response),
    /// The request failed; nothing changed.
    Error(ApiError),
}
