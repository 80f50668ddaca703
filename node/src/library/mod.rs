//! The library: records, their documents and signed changes in the store.
//!
//! Every write makes one automerge change per touched record, signs it with
//! the node key, and writes the change, the materialized record, its search
//! text and the document state in one atomic batch, then flushes before
//! returning: nothing is acknowledged before it is durable, and nothing is
//! announced to peers before that either (see `commit`).
//!
//! Documents are never all loaded: show and export read the materialized
//! records, list and search the catalog (the records in outline and their
//! search texts, in memory); a record's document is loaded only to edit it.
//!
//! The files: `attach` (file references on records), `catalog` (what list
//! and search read, kept in memory beside the store), `changes` (how a
//! document's signed changes are stored: whole, or detached from the bytes
//! its snapshot holds) and `changes_read` (the one way to read them
//! back), `doc` (a record's
//! document in the store: loading it, the writes for its state), `write`
//! (add, edit, remove), `dataset` (import and export), `read` (show, list,
//! calendar), `search`, `verify`, `history` (who changed what, from the
//! signed changes), `conflicts` (concurrent values and their resolution),
//! `roster` (the consortium and roster as stored, and what a roster change
//! retracts, in `retract`), `index` (change-hash and author indexes),
//! `reconcile` (the digests and inventories peers compare), `tally`
//! (the change hashes and document counts those and `status` read, kept
//! in memory beside the store), `loaded` (the documents written last,
//! kept loaded for the next write), `whole_docs`
//! (whole documents served to a node that clones), and `commit`
//! (the one way a batch of writes becomes durable, then announced).

mod attach;
mod catalog;
mod changes;
mod changes_read;
mod commit;
mod conflicts;
mod dataset;
mod doc;
mod erase;
mod history;
mod index;
mod loaded;
mod read;
mod reconcile;
mod retract;
mod roster;
mod search;
mod tally;
mod texts;
mod translations;
mod verify;
mod whole_docs;
mod write;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};

use r2com_protocol::calendar::CalendarError;
use r2com_protocol::control::{ApiError, Counts, ErrorCode};
use r2com_protocol::doc::DocError;
use r2com_protocol::envelope::Scope;
use r2com_protocol::identity::NodeKey;
use r2com_protocol::ids::{DocId, RecordKind};
use r2com_protocol::record::{DatasetError, Record, ValidationError};
use r2com_protocol::roster::Roster;

use crate::store::{Store, StoreError};

pub(crate) use changes::{change_write, detached_write, reform_writes, ReadChange, Stored};
pub(crate) use changes_read::{corrupt, for_each_change};
pub(crate) use commit::Batch;
pub use commit::OUTBOX_CAPACITY;
pub(crate) use doc::state_writes;
pub use doc::DocState;
pub(crate) use index::{author_index, hash_index};
pub(crate) use retract::StoredHistory;
pub(crate) use roster::META_CONSORTIUM;
pub use search::{PracticeHits, MAX_SEARCH_RESULTS};

/// Why a library operation failed. Nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum LibraryError {
    /// The input is invalid (names the record and field).
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error(transparent)]
    Dataset(#[from] DatasetError),
    #[error("{0}")]
    BadRequest(String),
    /// A rule of who may do what to a record refused it.
    #[error("{0}")]
    Forbidden(String),
    #[error("{kind} {id} not found")]
    NotFound { kind: RecordKind, id: String },
    /// No record of either kind has this id.
    #[error("no practice or event has the id {0:?}")]
    NoRecord(String),
    #[error("{kind} {id} exists already (use edit to change it)")]
    Exists { kind: RecordKind, id: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The store holds something that does not decode: report, do not guess.
    #[error("store is inconsistent: {0}")]
    Corrupt(String),
    /// The store was written by an older r2com in a format this version
    /// cannot convert (says what to do).
    #[error("{0}")]
    OldFormat(String),
    #[error(transparent)]
    Doc(#[from] DocError),
    /// The calendar could not be computed (a bad zone or date in the request).
    #[error(transparent)]
    Calendar(#[from] CalendarError),
}

impl From<LibraryError> for ApiError {
    fn from(e: LibraryError) -> Self {
        let code = match &e {
            LibraryError::Invalid(_)
            | LibraryError::Dataset(_)
            | LibraryError::BadRequest(_)
            | LibraryError::Forbidden(_)
            | LibraryError::Calendar(_) => ErrorCode::Invalid,
            LibraryError::NotFound { .. } | LibraryError::NoRecord(_) => ErrorCode::NotFound,
            LibraryError::Exists { .. } => ErrorCode::Exists,
            _ => ErrorCode::Internal,
        };
        ApiError::new(code, e.to_string())
    }
}

/// Where the library reads the time.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The records of this node and the key that signs its changes.
pub struct Library {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) key: NodeKey,
    /// The consortium (or none yet) every change is signed for.
    pub(crate) scope: std::sync::RwLock<Scope>,
    /// The roster as the stored entries evaluate, if in a consortium.
    pub(crate) roster: std::sync::RwLock<Option<Arc<Roster>>>,
    /// Serializes writers: an edit reads a document, changes it and writes
    /// it back.
    pub(crate) write_lock: std::sync::Mutex<()>,
    /// The time, for what the library stamps itself (an event's revision
    /// when a received change alters it); callers pass `now` for their own
    /// writes. Tests set it.
    pub(crate) clock: Clock,
    /// Changes and roster entries committed since the network last looked,
    /// to push to peers (filled by `commit` only, after the flush).
    pub(crate) commits: commit::CommitState,
    /// The node's files, once the node set them (`use_files`): erasure
    /// deletes those only erased records referred to.
    pub(crate) files: std::sync::OnceLock<crate::files::FileStore>,
    /// What `apply` applied and refused (exported when metrics are on).
    pub metrics: crate::metrics::ChangeMetrics,
    /// The records in outline and their search texts, for list and search
    /// (built on first use, then following every store write).
    pub(crate) catalog: catalog::CatalogCell,
    /// The change hashes and the documents' standing, for counts, digests
    /// and inventories (built on first use, then following every store
    /// write).
    pub(crate) tally: tally::TallyCell,
    /// The documents written last, kept loaded for the next write.
    pub(crate) loaded: loaded::Loaded,
}

fn time_ms(now: DateTime<Utc>) -> i64 {
    now.timestamp_millis()
}

fn timestamp(now: DateTime<Utc>) -> String {
    now.to_rfc3339_opts(SecondsFormat::Secs, true)
}

impl Library {
    /// Open the library on a store: loads the consortium and its roster.
    pub fn new(store: Arc<dyn Store>, key: NodeKey) -> Result<Library, LibraryError> {
        Library::with_clock(store, key, Arc::new(Utc::now))
    }

    /// Open the library with a clock of the caller's (tests).
    pub fn with_clock(
        store: Arc<dyn Store>,
        key: NodeKey,
        clock: Clock,
    ) -> Result<Library, LibraryError> {
        let lib = Library {
            store,
            key,
            scope: std::sync::RwLock::new(Scope::UNAFFILIATED),
            roster: std::sync::RwLock::new(None),
            write_lock: std::sync::Mutex::new(()),
            clock,
            commits: Default::default(),
            files: std::sync::OnceLock::new(),
            metrics: Default::default(),
            catalog: Default::default(),
            tally: Default::default(),
            loaded: Default::default(),
        };
        lib.tally.load_saved(&*lib.store)?;
        lib.reload_roster()?;
        lib.ensure_hash_index()?;
        Ok(lib)
    }

    pub fn scope(&self) -> Scope {
        *self.scope.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The current roster (`None` outside a consortium).
    pub fn roster(&self) -> Option<Arc<Roster>> {
        self.roster
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Refuse local writes by a node whose key was revoked.
    fn check_may_write(&self) -> Result<(), LibraryError> {
        if let Some(r) = self.roster() {
            let me = self.key.public().to_hex();
            if r.find_key(&me).is_some() && !r.is_live_member(&me) {
                return Err(LibraryError::BadRequest(
                    "this node's key was revoked from the consortium; it can no longer make changes".into(),
                ));
            }
        }
        Ok(())
    }

    /// Refuse a local change this node's key may not make to a record (the
    /// rule every node applies to it: `r2com_protocol::rights`). `d` holds
    /// the change. Outside a consortium everything is this node's own.
    pub(crate) fn check_rights(
        &self,
        doc_id: &DocId,
        d: &automerge::AutoCommit,
        change: &automerge::Change,
    ) -> Result<(), LibraryError> {
        let Some(roster) = self.roster() else {
            return Ok(());
        };
        r2com_protocol::rights::check(&roster, d, doc_id.kind(), change)
            .map_err(|e| LibraryError::Forbidden(format!("{doc_id}: {e}")))
    }

    pub fn key(&self) -> &NodeKey {
        &self.key
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Compact the store on a thread of its own if it grew (sled keeps old
    /// versions of pages, and replays its whole log on the next open: a
    /// clone at ten times the demo data left a store that took 6 s to
    /// open); the compacted store opens from a fresh snapshot. Called when
    /// the node's sync rounds are over. The store is left as it is if that
    /// fails (logged).
    pub fn compact_in_background(&self) {
        match self.store.compact_if_grown_in_background() {
            Ok(true) => tracing::info!("the store grew with sync; compacting it in the background"),
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(error = %e, "the store grew but could not be compacted now")
            }
        }
    }

    /// What the store holds, read from its small tables only: each
    /// document's state says whether it holds a record (the state and the
    /// record are written together, see [`doc::state_writes`]), and the
    /// hash index has one key per change. Counting the records and the
    /// changes themselves read most of the store: 2 s at ten times the demo
    /// data, on every `status` (a start waits for one) and metrics sample.
    pub fn counts(&self) -> Result<Counts, LibraryError> {
        self.tally.figures(&*self.store).map(|(counts, _)| counts)
    }

    /// Build the tally of documents and changes (see [`tally`]) if it is
    /// not built yet. A running node calls this on a thread of its own as
    /// it starts, so that its first `status` or sync round finds the tally
    /// built or under way.
    pub fn build_tally(&self) -> Result<(), LibraryError> {
        self.tally.read(&*self.store, |_| ())
    }

    /// Store the tally's figures for the next start to answer from until it
    /// has built its own (a clean stop; the caller flushes after).
    pub fn save_tally(&self) -> Result<(), LibraryError> {
        Ok(self.tally.save(&*self.store)?)
    }
}

fn doc_id(kind: RecordKind, id: &str) -> Result<DocId, LibraryError> {
    DocId::new(kind, id).map_err(|e| LibraryError::BadRequest(e.to_string()))
}

fn decode_record(kind: RecordKind, bytes: &[u8]) -> Result<Record, LibraryError> {
    let r = match kind {
        RecordKind::Practice => serde_json::from_slice(bytes).map(Record::Practice),
        RecordKind::Event => serde_json::from_slice(bytes).map(Record::Event),
    };
    r.map_err(|e| LibraryError::Corrupt(format!("stored {kind}: {e}")))
}
