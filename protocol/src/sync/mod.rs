//! The sans-IO sync machine: what a node says to its peers and when.
//!
//! [`SyncMachine::handle`] takes the time and one [`Input`] (a peer
//! connected, a request or response arrived, local writes are waiting, the
//! operator asked for a round) and returns [`Output`]s: messages to send,
//! peers to disconnect, per-peer state to persist, and events to report. It
//! never touches a socket or reads the clock; the node's event loop does the
//! IO (libp2p), and the simulation in `protocol/tests/simulation.rs` drives
//! eight machines through a lossy, reordering scheduler instead.
//!
//! The local store is reached through the [`Replica`] trait: reads of the
//! change-hash reconciliation data (summary, bucket digests, inventories),
//! reads of changes and roster entries to serve, and `apply`, which
//! verifies and stores what a peer sent (all of it checked, see
//! [`check_change`]). On the node it is the sled-backed library; in the
//! simulation, a map.
//!
//! The protocol (messages in [`crate::wire`]):
//!
//! * **Rounds** pull what this node lacks from one member: `Summary`
//!   (roster entry ids and one digest over all change hashes); the missing
//!   roster entries (`GetRoster`) first, so changes are judged by the
//!   newest roster; if the digests differ, the 256 bucket digests; whole
//!   buckets this node has nothing of (`GetBuckets`), then the hash lists of
//!   the other differing buckets (`Inventory`) and exactly the missing
//!   changes (`GetChanges`). Change fetches are pipelined, [`FETCH_WINDOW`]
//!   in flight. One round per peer at a time; a round asked for while one
//!   runs is queued, and a round that fetched something is followed by a
//!   confirming one.
//! * **Pushes** send new local and relayed changes (never back to the peer
//!   they came from) with any new roster entries, one push in flight per
//!   peer; what is written meanwhile waits in a bounded per-peer queue and
//!   goes in the next push. A push the peer could not fully apply (missing
//!   dependencies) or that was lost makes this node run a round with it.
//! * **Gating**: a live member may make every request; the holder of a
//!   valid invite may only hand in its admission (`Admit`); anyone else is
//!   refused and disconnected (unless this node itself waits for its
//!   admission and cannot judge yet). Every roster change re-checks the
//!   connected peers.
//! * **Misbehaviour** (a malformed message, a list over its limit, an
//!   envelope that does not verify, a request flood) disconnects the peer.
//!   A well-formed change whose author may not write per this node's roster
//!   (unknown, or revoked past its frontier) is not applied but is not
//!   misbehaviour: an honest peer with an older roster may relay it.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

use crate::envelope::{Scope, SignedChange, VerifiedChange};
use crate::roster::Roster;
use crate::wire::{self, SyncRequest, SyncResponse};

/// Change fetches in flight per round.
pub const FETCH_WINDOW: usize = 2;
/// Requests a peer may make per [`FLOOD_WINDOW`]; more is a flood and the
/// peer is disconnected. An honest peer makes one round at a time (a
/// handful of requests, a clone about a dozen) and one push at a time.
pub const MAX_REQUESTS_PER_WINDOW: u32 = 2000;
pub const FLOOD_WINDOW: Duration = Duration::from_secs(10);
/// Raw envelope bytes waiting to be pushed to one peer; beyond it the queue
/// is dropped and a round with the peer catches up instead.
pub const MAX_PUSH_QUEUE_BYTES: usize = 16 * 1024 * 1024;
/// Wait before retrying a round that failed (timeout, reset stream).
pub const ROUND_RETRY: Duration = Duration::from_secs(5);
/// Raw envelope bytes in one push.
pub const MAX_PUSH_BYTES: usize = 4 * 1024 * 1024;

/// What a peer may do, per this node's roster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    Member,
    /// Holds a valid invite: may only hand in its admission.
    Invitee,
    Stranger,
}

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

/// The local store as the machine sees it. Calls are synchronous; errors
/// are local failures (a disk error), reported and never blamed on a peer.
pub trait Replica<P> {
    type Error: fmt::Display;
    /// What `peer` may do.
    fn standing(&mut self, peer: &P) -> Standing;
    /// Whether this node waits for its own admission (joined by invite, not
    /// yet a member in its own roster).
    fn awaiting_admission(&mut self) -> bool;
    fn summary(&mut self) -> Result<Summary, Self::Error>;
    fn bucket_digests(&mut self) -> Result<Vec<[u8; 32]>, Self::Error>;
    /// Every change hash in these buckets.
    fn inventory(&mut self, buckets: &[u8]) -> Result<Vec<[u8; 32]>, Self::Error>;
    fn has_change(&mut self, hash: &[u8; 32]) -> Result<bool, Self::Error>;
    /// Stored envelopes of these changes (unknown ones skipped).
    fn get_changes(&mut self, hashes: &[[u8; 32]]) -> Result<Vec<Vec<u8>>, Self::Error>;
    /// Stored roster entries with these ids (unknown ones skipped).
    fn get_roster(&mut self, ids: &[[u8; 32]]) -> Result<Vec<Vec<u8>>, Self::Error>;
    /// Check and store roster entries, then check and apply changes, all
    /// received from `peer` (see [`Applied`]); durable before it returns.
    fn apply(
        &mut self,
        peer: &P,
        entries: Vec<Vec<u8>>,
        envelopes: Vec<Vec<u8>>,
    ) -> Result<Applied, Self::Error>;
    /// An invitee's admission (its invite and admit entries). `Some(all
    /// roster entries)` if `peer` is now a member, `None` if the admission
    /// is not valid; `Err` for entries that are not an admission at all.
    fn admit(&mut self, peer: &P, entries: Vec<Vec<u8>>) -> Result<Option<Vec<Vec<u8>>>, String>;
    /// This node's own invite and admit entries, while it waits.
    fn own_admission(&mut self) -> Result<Vec<Vec<u8>>, Self::Error>;
    /// Take what was written since the last call.
    fn take_outbox(&mut self) -> Outbox<P>;
}

/// The check every received change passes before it is applied: a
/// well-formed envelope whose signature verifies for this consortium
/// (`Err(Invalid)`: the sender misbehaved), by an author who may write per
/// `roster` (`Err(NotAllowed)` otherwise).
pub fn check_change(
    scope: &Scope,
    roster: Option<&Roster>,
    envelope: &SignedChange,
) -> Result<VerifiedChange, ChangeRefusal> {
    let key = envelope.doc.to_key();
    let verified = envelope
        .verify(scope)
        .map_err(|e| ChangeRefusal::Invalid(format!("{key}: {e}")))?;
    let Some(roster) = roster else {
        return Err(ChangeRefusal::NotAllowed(format!(
            "{key}: this node is not in a consortium"
        )));
    };
    roster
        .check_change_author(
            &verified.author,
            &key,
            verified.change.seq(),
            &verified.hash.0,
        )
        .map_err(|e| ChangeRefusal::NotAllowed(format!("{key} {}: {e}", verified.hash)))?;
    Ok(verified)
}

/// Why a received change is not applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeRefusal {
    /// Malformed, forged, or for another consortium.
    Invalid(String),
    /// Its author may not write (unknown to, or revoked in, our roster).
    NotAllowed(String),
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

/// What a round waits for.
#[derive(Debug)]
enum Stage {
    Summary(RequestId),
    Roster {
        req: RequestId,
        digest: [u8; 32],
    },
    Buckets(RequestId),
    Fetch {
        queue: VecDeque<SyncRequest>,
        in_flight: BTreeSet<RequestId>,
        then: Then,
    },
    Inventory {
        req: RequestId,
        buckets: Vec<u8>,
    },
}

/// What follows a fetch.
#[derive(Debug)]
enum Then {
    /// Compare the hash lists of these (non-empty) buckets.
    Inventory(Vec<u8>),
    /// Count what is still missing of these; the round ends.
    Finish(Vec<[u8; 32]>),
}

#[derive(Debug)]
struct Round {
    id: u64,
    stage: Stage,
    outcome: RoundOutcome,
}

#[derive(Debug, Default)]
struct PeerSync {
    connected: bool,
    state: PeerState,
    round: Option<Round>,
    /// The id of the round to run when the current one ends.
    queued: Option<u64>,
    push_in_flight: Option<RequestId>,
    push_changes: VecDeque<Vec<u8>>,
    push_roster: Vec<Vec<u8>>,
    push_bytes: usize,
    admission: Option<RequestId>,
    /// Our admission to this peer was lost: hand it in again at `retry_at`.
    readmit: bool,
    /// When to retry a failed round (or admission).
    retry_at: Option<SystemTime>,
    /// Start of the request-counting window and the requests in it.
    window: Option<(SystemTime, u32)>,
}

/// The sync machine of one node, for all its peers. `P` is the peer's id
/// (a libp2p `PeerId` on the node, an index in the simulation).
#[derive(Debug)]
pub struct SyncMachine<P> {
    peers: BTreeMap<P, PeerSync>,
    next_request: u64,
    next_round: u64,
}

impl<P: Ord + Clone + fmt::Debug> Default for SyncMachine<P> {
    fn default() -> Self {
        Self::new(Vec::new())
    }
}

fn bufs(v: &[[u8; 32]]) -> Vec<ByteBuf> {
    v.iter().map(|h| ByteBuf::from(h.to_vec())).collect()
}

fn arrays(v: &[ByteBuf]) -> Vec<[u8; 32]> {
    v.iter()
        .filter_map(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
        .collect()
}

fn rfc3339(t: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(t).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Outputs of one step, with the machine's helpers.
struct Step<P> {
    out: Vec<Output<P>>,
}

impl<P> Step<P> {
    fn event(&mut self, e: Event<P>) {
        self.out.push(Output::Event(e));
    }
}

impl<P: Ord + Clone + fmt::Debug> SyncMachine<P> {
    /// A machine that remembers these peers' persisted states.
    pub fn new(states: impl IntoIterator<Item = (P, PeerState)>) -> Self {
        SyncMachine {
            peers: states
                .into_iter()
                .map(|(p, state)| {
                    (
                        p,
                        PeerSync {
                            state,
                            ..PeerSync::default()
                        },
                    )
                })
                .collect(),
            next_request: 0,
            next_round: 0,
        }
    }

    /// The persisted state of every peer known.
    pub fn states(&self) -> impl Iterator<Item = (&P, &PeerState)> {
        self.peers.iter().map(|(p, s)| (p, &s.state))
    }

    /// Whether a round with `peer` is running or queued.
    pub fn is_syncing(&self, peer: &P) -> bool {
        self.peers
            .get(peer)
            .is_some_and(|p| p.round.is_some() || p.queued.is_some())
    }

    /// Connected peers.
    pub fn connected(&self) -> impl Iterator<Item = &P> {
        self.peers
            .iter()
            .filter(|(_, s)| s.connected)
            .map(|(p, _)| p)
    }

    /// Handle one input at time `now`.
    pub fn handle<R: Replica<P>>(
        &mut self,
        now: SystemTime,
        input: Input<P>,
        replica: &mut R,
    ) -> Vec<Output<P>> {
        let mut step = Step { out: Vec::new() };
        match input {
            Input::Connected { peer, dialer } => {
                self.on_connected(peer, dialer, replica, &mut step)
            }
            Input::Disconnected { peer } => self.on_disconnected(peer, &mut step),
            Input::Request { peer, id, request } => {
                self.on_request(now, peer, id, request, replica, &mut step)
            }
            Input::Response { peer, id, response } => match response {
                Ok(r) => match r.check() {
                    Ok(()) => self.on_response(now, peer, id, r, replica, &mut step),
                    Err(e) => self.misbehaved(peer, e.to_string(), &mut step),
                },
                Err(e) => self.misbehaved(peer, format!("undecodable response: {e}"), &mut step),
            },
            Input::Failed { peer, id, error } => {
                self.on_failed(now, peer, id, error, replica, &mut step)
            }
            Input::LocalWrites => self.on_local_writes(replica, &mut step),
            Input::Tick => {
                let due: Vec<P> = self
                    .peers
                    .iter_mut()
                    .filter(|(_, p)| p.retry_at.is_some_and(|t| t <= now))
                    .map(|(peer, p)| {
                        p.retry_at = None;
                        peer.clone()
                    })
                    .collect();
                for peer in due {
                    let p = &self.peers[&peer];
                    if !p.connected {
                        continue;
                    }
                    if p.readmit && replica.awaiting_admission() {
                        self.hand_in_admission(peer, replica, &mut step);
                    } else if replica.standing(&peer) == Standing::Member {
                        self.want_round(peer, replica, &mut step);
                    }
                }
            }
            Input::Sync { peer } => {
                let connected = self.peers.get(&peer).is_some_and(|p| p.connected);
                if !connected || replica.standing(&peer) != Standing::Member {
                    step.event(Event::NotSyncable {
                        peer,
                        reason: "not a connected member".into(),
                    });
                } else {
                    let round = self.want_round(peer.clone(), replica, &mut step);
                    step.event(Event::RoundQueued { peer, round });
                }
            }
        }
        step.out
    }

    fn request_id(&mut self) -> RequestId {
        self.next_request += 1;
        RequestId(self.next_request)
    }

    fn send(&mut self, peer: &P, request: SyncRequest, step: &mut Step<P>) -> RequestId {
        let id = self.request_id();
        let p = self.peers.entry(peer.clone()).or_default();
        p.state.bytes_sent += request.approx_len();
        step.out.push(Output::Send {
            peer: peer.clone(),
            id,
            request,
        });
        id
    }

    fn misbehaved(&mut self, peer: P, reason: String, step: &mut Step<P>) {
        self.drop_peer(&peer, &format!("misbehaved: {reason}"), step);
        step.out.push(Output::Disconnect {
            peer,
            reason,
            misbehaved: true,
        });
    }

    /// Forget a peer's running work (it is gone or being disconnected).
    fn drop_peer(&mut self, peer: &P, why: &str, step: &mut Step<P>) {
        let Some(p) = self.peers.get_mut(peer) else {
            return;
        };
        p.connected = false;
        p.push_in_flight = None;
        p.push_changes.clear();
        p.push_roster.clear();
        p.push_bytes = 0;
        p.admission = None;
        p.readmit = false;
        let ended: Vec<u64> = p
            .round
            .take()
            .map(|r| r.id)
            .into_iter()
            .chain(p.queued.take())
            .collect();
        for round in ended {
            step.event(Event::RoundDone {
                peer: peer.clone(),
                round,
                result: Err(why.to_owned()),
            });
        }
    }

    fn on_connected<R: Replica<P>>(
        &mut self,
        peer: P,
        dialer: bool,
        replica: &mut R,
        step: &mut Step<P>,
    ) {
        let standing = replica.standing(&peer);
        // Waiting for our own admission: hand it in to the member we
        // reached (nobody serves us before that).
        if replica.awaiting_admission() && (dialer || standing == Standing::Member) {
            self.peers.entry(peer.clone()).or_default().connected = true;
            self.hand_in_admission(peer, replica, step);
            return;
        }
        match standing {
            Standing::Member => {
                self.peers.entry(peer.clone()).or_default().connected = true;
                self.want_round(peer, replica, step);
            }
            Standing::Invitee => {
                self.peers.entry(peer).or_default().connected = true;
            }
            Standing::Stranger => {
                self.drop_peer(&peer, "not a member", step);
                step.out.push(Output::Disconnect {
                    peer,
                    reason: "not a member of the consortium".into(),
                    misbehaved: false,
                });
            }
        }
    }

    /// Send our invite and admission to `peer` (we dialed it, as the invite
    /// said).
    fn hand_in_admission<R: Replica<P>>(&mut self, peer: P, replica: &mut R, step: &mut Step<P>) {
        match replica.own_admission() {
            Ok(entries) => {
                let entries = entries.into_iter().map(ByteBuf::from).collect();
                let id = self.send(&peer, SyncRequest::Admit { entries }, step);
                let p = self.peers.entry(peer).or_default();
                p.admission = Some(id);
                p.readmit = false;
            }
            Err(e) => step.event(Event::LocalError {
                peer,
                error: e.to_string(),
            }),
        }
    }

    fn on_disconnected(&mut self, peer: P, step: &mut Step<P>) {
        self.drop_peer(&peer, "disconnected", step);
    }

    /// Ask for a round with `peer`: start it now, or queue it behind the
    /// running one. Returns the id of the round that will run.
    fn want_round<R: Replica<P>>(&mut self, peer: P, replica: &mut R, step: &mut Step<P>) -> u64 {
        let busy = {
            let p = self.peers.entry(peer.clone()).or_default();
            if let Some(q) = p.queued {
                return q;
            }
            p.round.is_some()
        };
        self.next_round += 1;
        let id = self.next_round;
        if busy {
            self.peers.entry(peer).or_default().queued = Some(id);
        } else {
            self.start_round(peer, id, replica, step);
        }
        id
    }

    fn start_round<R: Replica<P>>(
        &mut self,
        peer: P,
        id: u64,
        replica: &mut R,
        step: &mut Step<P>,
    ) {
        let ours = match replica.summary() {
            Ok(s) => s,
            Err(e) => {
                step.event(Event::RoundDone {
                    peer,
                    round: id,
                    result: Err(format!("local store: {e}")),
                });
                return;
            }
        };
        let req = self.send(
            &peer,
            SyncRequest::Summary {
                roster: bufs(&ours.roster),
                digest: ByteBuf::from(ours.digest.to_vec()),
            },
            step,
        );
        self.peers.entry(peer).or_default().round = Some(Round {
            id,
            stage: Stage::Summary(req),
            outcome: RoundOutcome {
                fetched: 0,
                we_lack: 0,
                they_lack: 0,
                digest: String::new(),
            },
        });
    }

    /// End the running round with `peer`; start the queued one.
    fn finish_round<R: Replica<P>>(
        &mut self,
        now: SystemTime,
        peer: P,
        result: Result<RoundOutcome, String>,
        replica: &mut R,
        step: &mut Step<P>,
    ) {
        let Some(p) = self.peers.get_mut(&peer) else {
            return;
        };
        let Some(round) = p.round.take() else {
            return;
        };
        if result.is_err() && p.connected {
            p.retry_at = Some(now + ROUND_RETRY);
        }
        if let Ok(o) = &result {
            p.state.last_sync = Some(rfc3339(now));
            p.state.we_lack = o.we_lack;
            p.state.they_lack = o.they_lack;
            p.state.last_digest = Some(o.digest.clone());
        }
        step.out.push(Output::Persist {
            peer: peer.clone(),
            state: p.state.clone(),
        });
        // Something was fetched: confirm with another (cheap) round.
        let confirm = matches!(&result, Ok(o) if o.fetched > 0);
        let queued = p.queued.take();
        let connected = p.connected;
        step.event(Event::RoundDone {
            peer: peer.clone(),
            round: round.id,
            result,
        });
        let next = match queued {
            Some(q) => Some(q),
            None if confirm => {
                self.next_round += 1;
                Some(self.next_round)
            }
            None => None,
        };
        if let Some(id) = next {
            if connected && replica.standing(&peer) == Standing::Member {
                self.start_round(peer, id, replica, step);
            } else {
                step.event(Event::RoundDone {
                    peer,
                    round: id,
                    result: Err("not a connected member".into()),
                });
            }
        }
    }

    /// Count a request from `peer`; whether it is over its budget.
    fn flooding(&mut self, now: SystemTime, peer: &P) -> bool {
        let p = self.peers.entry(peer.clone()).or_default();
        match &mut p.window {
            Some((start, n)) if now.duration_since(*start).is_ok_and(|d| d < FLOOD_WINDOW) => {
                *n += 1;
                *n > MAX_REQUESTS_PER_WINDOW
            }
            slot => {
                *slot = Some((now, 1));
                false
            }
        }
    }

    fn respond(&mut self, peer: &P, id: InboundId, response: SyncResponse, step: &mut Step<P>) {
        if let Some(p) = self.peers.get_mut(peer) {
            p.state.bytes_sent += response.approx_len();
        }
        step.out.push(Output::Respond {
            peer: peer.clone(),
            id,
            response,
        });
    }

    fn on_request<R: Replica<P>>(
        &mut self,
        now: SystemTime,
        peer: P,
        id: InboundId,
        request: Result<SyncRequest, String>,
        replica: &mut R,
        step: &mut Step<P>,
    ) {
        let request = match request {
            Ok(r) => r,
            Err(e) => return self.misbehaved(peer, format!("undecodable request: {e}"), step),
        };
        if let Err(e) = request.check() {
            return self.misbehaved(peer, e.to_string(), step);
        }
        if self.flooding(now, &peer) {
            return self.misbehaved(peer, "request flood".into(), step);
        }
        let standing = replica.standing(&peer);
        let allowed = matches!(
            (&request, standing),
            (_, Standing::Member) | (SyncRequest::Admit { .. }, Standing::Invitee)
        );
        if !allowed {
            let refused = SyncResponse::Refused {
                reason: "not a member".into(),
            };
            self.respond(&peer, id, refused, step);
            // A node waiting for its own admission cannot tell members yet:
            // it keeps the connection, its roster is on its way.
            if !replica.awaiting_admission() {
                self.drop_peer(&peer, "not a member", step);
                step.out.push(Output::Disconnect {
                    peer,
                    reason: format!("request from a non-member ({standing:?})"),
                    misbehaved: false,
                });
            }
            return;
        }
        self.peers
            .entry(peer.clone())
            .or_default()
            .state
            .bytes_received += request.approx_len();
        let response = match self.serve(now, &peer, request, replica, step) {
            Ok(r) => r,
            Err(Blame::Local(e)) => {
                step.event(Event::LocalError {
                    peer: peer.clone(),
                    error: e.clone(),
                });
                SyncResponse::Refused { reason: e }
            }
            Err(Blame::Peer(e)) => {
                let r = SyncResponse::Refused { reason: e.clone() };
                self.respond(&peer, id, r, step);
                return self.misbehaved(peer, e, step);
            }
        };
        self.respond(&peer, id, response, step);
    }

    /// Answer one request from a peer allowed to make it.
    fn serve<R: Replica<P>>(
        &mut self,
        now: SystemTime,
        peer: &P,
        request: SyncRequest,
        replica: &mut R,
        step: &mut Step<P>,
    ) -> Result<SyncResponse, Blame> {
        let local = |e: R::Error| Blame::Local(e.to_string());
        Ok(match request {
            SyncRequest::Summary { roster, digest } => {
                let ours = replica.summary().map_err(local)?;
                let theirs: BTreeSet<[u8; 32]> = arrays(&roster).into_iter().collect();
                let same = digest.as_slice() == ours.digest
                    && theirs == ours.roster.iter().copied().collect::<BTreeSet<_>>();
                if same {
                    let p = self.peers.entry(peer.clone()).or_default();
                    if p.round.is_none() {
                        p.state.we_lack = 0;
                        p.state.they_lack = 0;
                        p.state.last_sync = Some(rfc3339(now));
                        p.state.last_digest = Some(hex::encode(ours.digest));
                    }
                } else {
                    // The peer has something we lack (or lacks something,
                    // and will pull it): pull from it.
                    self.want_round(peer.clone(), replica, step);
                }
                SyncResponse::Summary {
                    roster: bufs(&ours.roster),
                    digest: ByteBuf::from(ours.digest.to_vec()),
                }
            }
            SyncRequest::Buckets => SyncResponse::Buckets {
                digests: bufs(&replica.bucket_digests().map_err(local)?),
            },
            SyncRequest::Inventory { buckets } => SyncResponse::Inventory {
                hashes: bufs(&replica.inventory(&buckets).map_err(local)?),
            },
            SyncRequest::GetChanges { hashes } => SyncResponse::Changes {
                batch: ByteBuf::from(wire::encode_batch(
                    &replica.get_changes(&arrays(&hashes)).map_err(local)?,
                )),
            },
            SyncRequest::GetBuckets { buckets } => {
                let hashes = replica.inventory(&buckets).map_err(local)?;
                let mut envs = Vec::new();
                let mut size = 0;
                'fill: for chunk in hashes.chunks(256) {
                    for env in replica.get_changes(chunk).map_err(local)? {
                        size += env.len();
                        // A bucket that does not fit is left for the next
                        // round's hash-by-hash path.
                        if size > wire::MAX_BUCKET_BATCH {
                            break 'fill;
                        }
                        envs.push(env);
                    }
                }
                SyncResponse::Changes {
                    batch: ByteBuf::from(wire::encode_batch(&envs)),
                }
            }
            SyncRequest::GetRoster { ids } => SyncResponse::Roster {
                entries: replica
                    .get_roster(&arrays(&ids))
                    .map_err(local)?
                    .into_iter()
                    .map(ByteBuf::from)
                    .collect(),
            },
            SyncRequest::Push { batch, roster } => {
                let envs = wire::decode_batch(&batch).map_err(|e| Blame::Peer(e.to_string()))?;
                let entries = roster.into_iter().map(ByteBuf::into_vec).collect();
                let applied = self.apply(peer, entries, envs, replica, step)?;
                if applied.missing_deps {
                    self.want_round(peer.clone(), replica, step);
                }
                SyncResponse::Ack {
                    applied: applied.applied,
                    missing_deps: applied.missing_deps,
                }
            }
            SyncRequest::Admit { entries } => {
                let entries = entries.into_iter().map(ByteBuf::into_vec).collect();
                match replica.admit(peer, entries).map_err(Blame::Peer)? {
                    Some(all) => {
                        self.peers.entry(peer.clone()).or_default().connected = true;
                        self.want_round(peer.clone(), replica, step);
                        SyncResponse::Roster {
                            entries: all.into_iter().map(ByteBuf::from).collect(),
                        }
                    }
                    None => SyncResponse::Refused {
                        reason: "the admission is not valid (expired, used, or revoked invite)"
                            .into(),
                    },
                }
            }
        })
    }

    /// Apply what `peer` sent; invalid data is the peer's fault.
    fn apply<R: Replica<P>>(
        &mut self,
        peer: &P,
        entries: Vec<Vec<u8>>,
        envelopes: Vec<Vec<u8>>,
        replica: &mut R,
        step: &mut Step<P>,
    ) -> Result<Applied, Blame> {
        let applied = replica
            .apply(peer, entries, envelopes)
            .map_err(|e| Blame::Local(e.to_string()))?;
        if !applied.invalid.is_empty() {
            return Err(Blame::Peer(format!(
                "{} invalid: {}",
                applied.invalid.len(),
                applied.invalid.join("; ")
            )));
        }
        if !applied.not_allowed.is_empty() {
            step.event(Event::NotAllowed {
                peer: peer.clone(),
                reasons: applied.not_allowed.clone(),
            });
        }
        Ok(applied)
    }

    fn on_failed<R: Replica<P>>(
        &mut self,
        now: SystemTime,
        peer: P,
        id: RequestId,
        error: String,
        replica: &mut R,
        step: &mut Step<P>,
    ) {
        let Some(p) = self.peers.get_mut(&peer) else {
            return;
        };
        if p.push_in_flight == Some(id) {
            // The push was lost: a round makes up for it (the peer's summary
            // differs, so it pulls too).
            p.push_in_flight = None;
            if p.connected {
                self.want_round(peer.clone(), replica, step);
                self.push_next(&peer, step);
            }
            return;
        }
        if p.admission == Some(id) {
            // Lost on the way: hand it in again shortly.
            p.admission = None;
            p.readmit = true;
            p.retry_at = Some(now + ROUND_RETRY);
            step.event(Event::Refused {
                peer,
                reason: format!("admission failed: {error}"),
            });
            return;
        }
        if p.round.as_ref().is_some_and(|r| r.waits_for(id)) {
            self.finish_round(now, peer, Err(error), replica, step);
        }
    }

    fn on_response<R: Replica<P>>(
        &mut self,
        now: SystemTime,
        peer: P,
        id: RequestId,
        response: SyncResponse,
        replica: &mut R,
        step: &mut Step<P>,
    ) {
        let Some(p) = self.peers.get_mut(&peer) else {
            return;
        };
        p.state.bytes_received += response.approx_len();
        if p.push_in_flight == Some(id) {
            p.push_in_flight = None;
            match response {
                SyncResponse::Ack { missing_deps, .. } => {
                    if missing_deps {
                        self.want_round(peer.clone(), replica, step);
                    }
                }
                SyncResponse::Refused { reason } => step.event(Event::Refused {
                    peer: peer.clone(),
                    reason: format!("push refused: {reason}"),
                }),
                other => {
                    return self.misbehaved(
                        peer,
                        format!("unexpected answer to a push: {other:?}"),
                        step,
                    )
                }
            }
            self.push_next(&peer, step);
            return;
        }
        if p.admission == Some(id) {
            p.admission = None;
            match response {
                SyncResponse::Roster { entries } => {
                    let entries = entries.into_iter().map(ByteBuf::into_vec).collect();
                    match self.apply(&peer, entries, Vec::new(), replica, step) {
                        Ok(_) => {
                            step.event(Event::Admitted { peer: peer.clone() });
                            if replica.standing(&peer) == Standing::Member {
                                self.want_round(peer, replica, step);
                            }
                        }
                        Err(Blame::Peer(e)) => self.misbehaved(peer, e, step),
                        Err(Blame::Local(e)) => step.event(Event::LocalError { peer, error: e }),
                    }
                }
                SyncResponse::Refused { reason } => step.event(Event::Refused {
                    peer,
                    reason: format!("admission refused: {reason}"),
                }),
                other => self.misbehaved(
                    peer,
                    format!("unexpected answer to an admission: {other:?}"),
                    step,
                ),
            }
            return;
        }
        if !p.round.as_ref().is_some_and(|r| r.waits_for(id)) {
            return; // a round that ended meanwhile
        }
        if let SyncResponse::Refused { reason } = &response {
            let reason = format!("refused: {reason}");
            return self.finish_round(now, peer, Err(reason), replica, step);
        }
        match self.advance(&peer, id, response, replica, step) {
            Ok(Some(outcome)) => self.finish_round(now, peer, Ok(outcome), replica, step),
            Ok(None) => {}
            Err(Blame::Peer(e)) => self.misbehaved(peer, e, step),
            Err(Blame::Local(e)) => {
                self.finish_round(now, peer, Err(format!("local store: {e}")), replica, step)
            }
        }
    }

    /// Move the round with `peer` on with the answer to `id`. `Some` when
    /// the round is complete.
    fn advance<R: Replica<P>>(
        &mut self,
        peer: &P,
        id: RequestId,
        response: SyncResponse,
        replica: &mut R,
        step: &mut Step<P>,
    ) -> Result<Option<RoundOutcome>, Blame> {
        let local = |e: R::Error| Blame::Local(e.to_string());
        let unexpected = |what: &str, r: &SyncResponse| {
            Blame::Peer(format!("unexpected answer to {what}: {r:?}"))
        };
        let mut round = self
            .peers
            .get_mut(peer)
            .and_then(|p| p.round.take())
            .expect("the round waits for this response");
        let stage = std::mem::replace(&mut round.stage, Stage::Summary(RequestId(0)));
        let result = (|| -> Result<Option<Stage>, Blame> {
            match stage {
                Stage::Summary(_) => {
                    let SyncResponse::Summary { roster, digest } = response else {
                        return Err(unexpected("a summary", &response));
                    };
                    let digest: [u8; 32] = digest.as_slice().try_into().expect("checked");
                    round.outcome.digest = hex::encode(digest);
                    let ours: BTreeSet<[u8; 32]> = replica
                        .summary()
                        .map_err(local)?
                        .roster
                        .into_iter()
                        .collect();
                    let lacking: Vec<[u8; 32]> = arrays(&roster)
                        .into_iter()
                        .filter(|id| !ours.contains(id))
                        .collect();
                    if lacking.is_empty() {
                        return self.compare_digests(peer, digest, replica, step);
                    }
                    let req = self.send(
                        peer,
                        SyncRequest::GetRoster {
                            ids: bufs(&lacking),
                        },
                        step,
                    );
                    Ok(Some(Stage::Roster { req, digest }))
                }
                Stage::Roster { digest, .. } => {
                    let SyncResponse::Roster { entries } = response else {
                        return Err(unexpected("a roster request", &response));
                    };
                    let entries = entries.into_iter().map(ByteBuf::into_vec).collect();
                    self.apply(peer, entries, Vec::new(), replica, step)?;
                    if replica.standing(peer) != Standing::Member {
                        // The roster we just got says the peer is out.
                        return Err(Blame::Peer("not a member per its own roster".into()));
                    }
                    self.compare_digests(peer, digest, replica, step)
                }
                Stage::Buckets(_) => {
                    let SyncResponse::Buckets { digests } = response else {
                        return Err(unexpected("buckets", &response));
                    };
                    let ours = replica.bucket_digests().map_err(local)?;
                    let differing: Vec<u8> = (0..wire::BUCKETS)
                        .filter(|i| digests[*i].as_slice() != ours[*i])
                        .map(|i| i as u8)
                        .collect();
                    if differing.is_empty() {
                        return Ok(None);
                    }
                    // Buckets we have nothing of: fetch them whole, no hash
                    // lists either way.
                    let (empty, other): (Vec<u8>, Vec<u8>) = differing
                        .into_iter()
                        .partition(|b| ours[*b as usize] == wire::EMPTY_BUCKET);
                    let queue = empty
                        .chunks(wire::BUCKETS_PER_REQUEST)
                        .map(|c| SyncRequest::GetBuckets {
                            buckets: ByteBuf::from(c.to_vec()),
                        })
                        .collect();
                    Ok(self.fetch(peer, queue, BTreeSet::new(), Then::Inventory(other), step))
                }
                Stage::Inventory { buckets, .. } => {
                    let SyncResponse::Inventory { hashes } = response else {
                        return Err(unexpected("an inventory", &response));
                    };
                    let theirs: BTreeSet<[u8; 32]> = arrays(&hashes).into_iter().collect();
                    let ours: BTreeSet<[u8; 32]> = replica
                        .inventory(&buckets)
                        .map_err(local)?
                        .into_iter()
                        .collect();
                    let want: Vec<[u8; 32]> = theirs.difference(&ours).copied().collect();
                    round.outcome.we_lack = want.len() as u64;
                    round.outcome.they_lack = ours.difference(&theirs).count() as u64;
                    let queue = want
                        .chunks(wire::MAX_CHANGES_PER_REQUEST)
                        .map(|c| SyncRequest::GetChanges { hashes: bufs(c) })
                        .collect();
                    Ok(self.fetch(peer, queue, BTreeSet::new(), Then::Finish(want), step))
                }
                Stage::Fetch {
                    queue,
                    mut in_flight,
                    then,
                } => {
                    let SyncResponse::Changes { batch } = response else {
                        return Err(unexpected("a change fetch", &response));
                    };
                    in_flight.remove(&id);
                    let envs =
                        wire::decode_batch(&batch).map_err(|e| Blame::Peer(e.to_string()))?;
                    let applied = self.apply(peer, Vec::new(), envs, replica, step)?;
                    round.outcome.fetched += applied.applied;
                    if let (true, true, Then::Finish(want)) =
                        (queue.is_empty(), in_flight.is_empty(), &then)
                    {
                        // What is still missing after the fetch (a peer that
                        // listed a change it then did not send).
                        let mut still = 0;
                        for h in want {
                            if !replica.has_change(h).map_err(local)? {
                                still += 1;
                            }
                        }
                        round.outcome.we_lack = still;
                        return Ok(None);
                    }
                    Ok(self.fetch(peer, queue, in_flight, then, step))
                }
            }
        })();
        let p = self.peers.entry(peer.clone()).or_default();
        match result {
            Ok(Some(stage)) => {
                round.stage = stage;
                p.round = Some(round);
                Ok(None)
            }
            Ok(None) => {
                // Done: put the round back for `finish_round` to end.
                let outcome = round.outcome.clone();
                p.round = Some(round);
                Ok(Some(outcome))
            }
            Err(e) => {
                p.round = Some(round);
                Err(e)
            }
        }
    }

    /// After the roster: equal digests end the round, else ask for buckets.
    fn compare_digests<R: Replica<P>>(
        &mut self,
        peer: &P,
        digest: [u8; 32],
        replica: &mut R,
        step: &mut Step<P>,
    ) -> Result<Option<Stage>, Blame> {
        let ours = replica.summary().map_err(|e| Blame::Local(e.to_string()))?;
        if ours.digest == digest {
            return Ok(None);
        }
        Ok(Some(Stage::Buckets(self.send(
            peer,
            SyncRequest::Buckets,
            step,
        ))))
    }

    /// Keep [`FETCH_WINDOW`] fetches in flight; when all are answered, go
    /// on with `then`. `None` when the round is complete.
    fn fetch(
        &mut self,
        peer: &P,
        mut queue: VecDeque<SyncRequest>,
        mut in_flight: BTreeSet<RequestId>,
        then: Then,
        step: &mut Step<P>,
    ) -> Option<Stage> {
        while in_flight.len() < FETCH_WINDOW {
            let Some(r) = queue.pop_front() else { break };
            in_flight.insert(self.send(peer, r, step));
        }
        if !in_flight.is_empty() {
            return Some(Stage::Fetch {
                queue,
                in_flight,
                then,
            });
        }
        match then {
            Then::Inventory(buckets) if buckets.is_empty() => None,
            Then::Inventory(buckets) => {
                let req = self.send(
                    peer,
                    SyncRequest::Inventory {
                        buckets: ByteBuf::from(buckets.clone()),
                    },
                    step,
                );
                Some(Stage::Inventory { req, buckets })
            }
            Then::Finish(_) => None,
        }
    }

    fn on_local_writes<R: Replica<P>>(&mut self, replica: &mut R, step: &mut Step<P>) {
        let outbox = replica.take_outbox();
        // The roster may have changed: drop peers that are no longer members.
        let connected: Vec<P> = self.connected().cloned().collect();
        let mut members = Vec::new();
        for peer in connected {
            match replica.standing(&peer) {
                Standing::Member => members.push(peer),
                Standing::Invitee => {}
                Standing::Stranger if replica.awaiting_admission() => {}
                Standing::Stranger => {
                    self.drop_peer(&peer, "no longer a member", step);
                    step.out.push(Output::Disconnect {
                        peer,
                        reason: "no longer a member (revoked)".into(),
                        misbehaved: false,
                    });
                }
            }
        }
        for peer in members {
            if outbox.overflowed {
                self.want_round(peer, replica, step);
                continue;
            }
            let p = self.peers.entry(peer.clone()).or_default();
            for (origin, env) in &outbox.changes {
                if origin.as_ref() == Some(&peer) {
                    continue;
                }
                p.push_bytes += env.len();
                p.push_changes.push_back(env.clone());
            }
            p.push_roster.extend(outbox.roster.iter().cloned());
            if p.push_bytes > MAX_PUSH_QUEUE_BYTES || p.push_roster.len() > wire::MAX_ENTRIES {
                p.push_changes.clear();
                p.push_roster.clear();
                p.push_bytes = 0;
                self.want_round(peer, replica, step);
                continue;
            }
            if p.push_in_flight.is_none() {
                self.push_next(&peer, step);
            }
        }
    }

    /// Send the next push to `peer` from its queue, if any.
    fn push_next(&mut self, peer: &P, step: &mut Step<P>) {
        let Some(p) = self.peers.get_mut(peer) else {
            return;
        };
        if p.push_in_flight.is_some() || (p.push_changes.is_empty() && p.push_roster.is_empty()) {
            return;
        }
        let mut envs = Vec::new();
        let mut size = 0;
        while let Some(env) = p.push_changes.front() {
            if !envs.is_empty()
                && (size + env.len() > MAX_PUSH_BYTES
                    || envs.len() >= wire::MAX_CHANGES_PER_REQUEST)
            {
                break;
            }
            size += env.len();
            envs.push(p.push_changes.pop_front().expect("front"));
        }
        p.push_bytes -= size;
        let roster: Vec<ByteBuf> = p.push_roster.drain(..).map(ByteBuf::from).collect();
        let batch = if envs.is_empty() {
            ByteBuf::new()
        } else {
            ByteBuf::from(wire::encode_batch(&envs))
        };
        let id = self.send(peer, SyncRequest::Push { batch, roster }, step);
        if let Some(p) = self.peers.get_mut(peer) {
            p.push_in_flight = Some(id);
        }
    }
}

impl Round {
    fn waits_for(&self, id: RequestId) -> bool {
        match &self.stage {
            Stage::Summary(r) | Stage::Buckets(r) => *r == id,
            Stage::Roster { req, .. } | Stage::Inventory { req, .. } => *req == id,
            Stage::Fetch { in_flight, .. } => in_flight.contains(&id),
        }
    }
}

/// Whose fault a failure is.
enum Blame {
    /// The peer sent something invalid: disconnect it.
    Peer(String),
    /// A local store error.
    Local(String),
}
