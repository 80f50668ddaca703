//! The typed answer to every request. [`Response`] has one variant per
//! answer type; each type converts back out of it with `TryFrom`, so a
//! caller that knows what it asked for writes
//! `let status: Status = response.try_into()?`.

use serde::{Deserialize, Serialize};

use super::files::{Attached, AttachmentRow, Detached, FileWritten};
use super::history::{ChangeInfo, Conflicts, Erased, History, Resolved};
use super::library::{
    BackupReport, EventRow, Ics, ImportReport, PracticeRow, RecordPage, Removed, SearchHit, Status,
    Translation, VerifyReport,
};
use super::membership::{
    ChangesFile, ChangesImported, Founded, InviteIssued, InviteWithdrawn, Joined, KeyRotated,
    Members, Revoked, RoleSet, RosterFile, RosterImported,
};
use super::network::{PeerAdded, Peers, SyncResult};
use super::staff::{OneTimeLink, StaffAccount, StaffAdded, StaffRemoved};
use crate::calendar::agenda::AgendaRow;
use crate::record::Record;

macro_rules! responses {
    ($( $(#[$doc:meta])* $variant:ident($ty:ty), )*) => {
        /// What the node answers. On the socket it is tagged with the
        /// variant (`{"status": {...}}`); `--json` prints only the inner
        /// value.
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum Response {
            $( $(#[$doc])* $variant($ty), )*
        }

        $(
            impl From<$ty> for Response {
                fn from(v: $ty) -> Response {
                    Response::$variant(v)
                }
            }

            impl TryFrom<Response> for $ty {
                /// The answer was of another type.
                type Error = Response;
                fn try_from(r: Response) -> Result<$ty, Response> {
                    match r {
                        Response::$variant(v) => Ok(v),
                        other => Err(other),
                    }
                }
            }
        )*

        impl Response {
            /// The variant's name, for errors about unexpected answers.
            pub fn name(&self) -> &'static str {
                match self {
                    $( Response::$variant(_) => stringify!($variant), )*
                }
            }
        }
    };
}

responses! {
    /// `Status`.
    Status(Status),
    /// `Import`.
    Imported(ImportReport),
    /// `ExportPage`: one page of every record.
    RecordPage(RecordPage),
    /// `List` of practices as rows.
    Practices(Vec<PracticeRow>),
    /// `List` of events as rows.
    Events(Vec<EventRow>),
    /// `List` with `full`: whole records.
    Records(Vec<Record>),
    /// `Show`, `Add`, `Edit`: the record as stored.
    Record(Record),
    /// `Translations`: the practice in other languages, by id.
    Translations(Vec<Translation>),
    /// `Remove`.
    Removed(Removed),
    /// `Search`.
    Hits(Vec<SearchHit>),
    /// `Verify` (when every change verified).
    Verified(VerifyReport),
    /// `Backup`.
    BackedUp(BackupReport),
    /// `History`.
    History(History),
    /// `Log`: newest first.
    Log(Vec<ChangeInfo>),
    /// `Conflicts`.
    Conflicts(Conflicts),
    /// `Resolve`.
    Resolved(Resolved),
    /// `Erase`.
    Erased(Erased),
    /// `ConsortiumCreate`.
    Founded(Founded),
    /// `Invite`.
    Invite(InviteIssued),
    /// `Join`.
    Joined(Joined),
    /// `Members`.
    Members(Members),
    /// `Revoke`.
    Revoked(Revoked),
    /// `KeyRotate`.
    KeyRotated(KeyRotated),
    /// `InviteWithdraw`.
    InviteWithdrawn(InviteWithdrawn),
    /// `SetRole`.
    RoleSet(RoleSet),
    /// `RosterExport`.
    RosterFile(RosterFile),
    /// `RosterImport`.
    RosterImported(RosterImported),
    /// `ChangesExport`.
    ChangesFile(ChangesFile),
    /// `ChangesImport` (when no change was refused).
    ChangesImported(ChangesImported),
    /// `Peers`.
    Peers(Peers),
    /// `Sync`: one result per peer.
    Synced(Vec<SyncResult>),
    /// `PeerAdd`.
    PeerAdded(PeerAdded),
    /// `CalendarAgenda`: sessions in order.
    Agenda(Vec<AgendaRow>),
    /// `CalendarIcs`.
    Ics(Ics),
    /// `Attach`.
    Attached(Attached),
    /// `Detach`.
    Detached(Detached),
    /// `Attachments`.
    Attachments(Vec<AttachmentRow>),
    /// `AttachmentGet`.
    FileWritten(FileWritten),
    /// `UserAdd`.
    StaffAdded(StaffAdded),
    /// `UserList`.
    Staff(Vec<StaffAccount>),
    /// `UserRole`: the account as changed.
    StaffAccount(StaffAccount),
    /// `UserLink`, `WebLoginUrl`.
    OneTimeLink(OneTimeLink),
    /// `UserRemove`.
    StaffRemoved(StaffRemoved),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::Frame;

    #[test]
    fn responses_round_trip_tagged_and_convert_back() {
        let r = Response::from(Removed {
            removed: "practice/p-1".into(),
        });
        let wire = serde_json::to_value(Frame::Ok(r.clone())).unwrap();
        assert_eq!(
            wire,
            serde_json::json!({"ok": {"removed": {"removed": "practice/p-1"}}})
        );
        let Frame::Ok(back) = serde_json::from_value(wire).unwrap() else {
            panic!("not ok")
        };
        assert_eq!(back, r);
        let removed: Removed = back.try_into().unwrap();
        assert_eq!(removed.removed, "practice/p-1");
        let not: Result<Status, Response> = Response::Hits(vec![]).try_into();
        assert_eq!(not.unwrap_err().name(), "Hits");
    }
}
