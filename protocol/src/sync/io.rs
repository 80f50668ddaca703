//! What goes in and out of the machine: inputs, outputs, events, and the
//! values the replica hands it.

use serde::{Deserialize, Serialize};

use crate::wire::{SyncRequest, SyncResponse};

/// What a peer may do, per this node's roster
/// ([`crate::roster::Roster::standing`]).
pub use crate::roster::Standing;

/// This node's summary: roster entry ids and a digest over all change
/// hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub roster: Vec<[u8; 32]>,
    pub digest: [u8; 32],
}

/// What applying a peer's roster entries and changes did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// New changes applied.
    pub applied: u64,
    /// Invalid data (malformed or forged envelopes or entries): nothing of
    /// the batch was applied, and the sender misbehaved.
    pub invalid: Vec<String>,
    /// Well-formed changes whose author may not write per this node's
    /// roster: skipped, the rest applied.
    pub not_allowed: Vec<String>,
    /// Some document waits for a change it lacks.
    pub missing_deps: bool,
}

/// What was written locally since the machine last looked.
#[derive(Debug, Clone)]
pub struct Outbox<P> {
    /// Envelopes, with the peer each came from (not pushed back to it).
    pub changes: Vec<(Option<P>, Vec<u8>)>,
    /// Encoded roster entries.
    pub roster: Vec<Vec<u8>>,
    /// Items were dropped: every peer needs a round.
    pub overflowed: bool,
}

impl<P> Default for Outbox<P> {
    fn default() -> Self {
        Outbox {
            changes: Vec::new(),
            roster: Vec::new(),
            overflowed: false,
        }
    }
}

/// Per-peer sync state, persisted so a restart remembers it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerState {
    /// RFC 3339 time of the last completed round.
    pub last_sync: Option<String>,
    /// Changes this node lacked from the peer at the last comparison.
    pub we_lack: u64,
    /// Changes the peer lacked from this node at the last comparison.
    pub they_lack: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// The peer's last summary digest (hex): equal digests mean in sync.
    pub last_digest: Option<String>,
}

/// How a round ended well.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RoundOutcome {
    pub fetched: u64,
    pub we_lack: u64,
    pub they_lack: u64,
    /// The peer's digest (hex).
    pub digest: String,
    /// Roster entries this node holds that the peer's summary lacked.
    pub they_lack_entries: u64,
}

/// An outbound request, numbered by the machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId(pub u64);

/// An inbound request, numbered by the caller (who keeps the reply channel).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct InboundId(pub u64);

/// Something happened.
#[derive(Debug)]
pub enum Input<P> {
    /// A connection to `peer` is up (`dialer`: this node dialed).
    Connected { peer: P, dialer: bool },
    /// The last connection to `peer` closed.
    Disconnected { peer: P },
    /// A request; `Err` if its bytes did not decode (the reason).
    Request {
        peer: P,
        id: InboundId,
        request: Result<SyncRequest, String>,
    },
    /// The answer to one of our requests; `Err` if it did not decode.
    Response {
        peer: P,
        id: RequestId,
        response: Result<SyncResponse, String>,
    },
    /// One of our requests failed (stream reset, timeout, connection gone).
    Failed {
        peer: P,
        id: RequestId,
        error: String,
    },
    /// Local writes wait in the outbox (new changes, roster entries).
    LocalWrites,
    /// Time passes (about once a second): rounds that failed for a
    /// transport reason are retried after [`ROUND_RETRY`].
    Tick,
    /// The operator asks for a round with `peer` (answered by
    /// [`Event::RoundQueued`] or [`Event::NotSyncable`]).
    Sync { peer: P },
}

/// Something to do.
#[derive(Debug)]
pub enum Output<P> {
    Send {
        peer: P,
        id: RequestId,
        request: SyncRequest,
    },
    Respond {
        peer: P,
        id: InboundId,
        response: SyncResponse,
    },
    /// Close every connection to `peer` and log why. `misbehaved`: it
    /// sent invalid data (else it is not, or no longer, a member).
    Disconnect {
        peer: P,
        reason: String,
        misbehaved: bool,
    },
    /// Write the peer's state to the store.
    Persist {
        peer: P,
        state: PeerState,
    },
    Event(Event<P>),
}

/// Something to report.
#[derive(Debug, PartialEq)]
pub enum Event<P> {
    /// The round that will answer a [`Input::Sync`].
    RoundQueued { peer: P, round: u64 },
    /// A [`Input::Sync`] for a peer that is not a connected member.
    NotSyncable { peer: P, reason: String },
    /// A round ended.
    RoundDone {
        peer: P,
        round: u64,
        result: Result<RoundOutcome, String>,
    },
    /// Our admission was accepted by `peer`; we have the roster.
    Admitted { peer: P },
    /// `peer` refused our admission or our push.
    Refused { peer: P, reason: String },
    /// Changes from `peer` were not applied: their authors may not write.
    NotAllowed { peer: P, reasons: Vec<String> },
    /// A local store error while serving or applying.
    LocalError { peer: P, error: String },
}
