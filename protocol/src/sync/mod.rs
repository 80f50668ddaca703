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
//! verifies and stores what a peer sent (all of it checked by the roster's
//! functions: [`crate::roster::merge_entries`],
//! [`crate::roster::verify_batch`], [`crate::roster::admit`]). On the node it is the sled-backed library; in the
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
//!   changes (`GetChanges`). A node that holds no change at all (a clone)
//!   asks a peer whose summary says it serves them for whole documents
//!   (`GetDocs`, once per round) and then compares the buckets again.
//!   Change fetches are pipelined, [`FETCH_WINDOW`]
//!   in flight. One round per peer at a time; a round asked for while one
//!   runs is queued, and a round that fetched something is followed by a
//!   confirming one.
//! * **Pushes** send new local and relayed changes (never back to the peer
//!   they came from) with any new roster entries, one push in flight per
//!   peer; what is written meanwhile waits in a bounded per-peer queue and
//!   goes in the next push. A push the peer could not fully apply (missing
//!   dependencies) or that was lost makes this node run a round with it.
//! * **Checks**: with [`SyncMachine::check_every`], a connected member
//!   that exchanged nothing with this node for that long gets a round (the
//!   summary alone when both hold the same), so an idle link shows a fresh
//!   last sync and a link that silently lost something catches up. Every
//!   successful exchange counts: a round either way, a push either way.
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
//!
//! Where each part lives: the input, output and event types in `io.rs`; the [`Replica`]
//! trait in `replica.rs`; the digests replicas compare in `digest.rs`; connecting, gating and
//! floods in `gate.rs`; rounds in `round.rs` and their stages in
//! `stages.rs`; answers to this node's requests in `answer.rs`; serving a
//! peer's requests and applying what it sent in `serve.rs`; pushes in
//! `push.rs`. This file holds the machine, its per-peer state and
//! [`SyncMachine::handle`], which routes each input.

mod answer;
mod digest;
#[cfg(test)]
mod docs_tests;
mod gate;
mod io;
mod push;
mod replica;
mod round;
mod serve;
mod stages;

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::time::{Duration, SystemTime};

use serde_bytes::ByteBuf;

use crate::wire::{SyncRequest, SyncResponse};

pub use digest::{bucket_digests, summary_digest};
pub use io::{
    Applied, Event, InboundId, Input, Outbox, Output, PeerState, RequestId, RoundOutcome, Standing,
    Summary,
};
pub use replica::Replica;
use round::Round;

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

/// What the machine knows about one peer.
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
    /// The last successful exchange (or check started) with this peer.
    last_exchange: Option<SystemTime>,
}

/// The sync machine of one node, for all its peers. `P` is the peer's id
/// (a libp2p `PeerId` on the node, an index in the simulation).
#[derive(Debug)]
pub struct SyncMachine<P> {
    peers: BTreeMap<P, PeerSync>,
    next_request: u64,
    next_round: u64,
    /// Check an idle link this often (`None`: never).
    check_every: Option<Duration>,
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
            check_every: None,
        }
    }

    /// Run a round with every connected member that exchanged nothing with
    /// this node for `every` (checked on [`Input::Tick`]).
    pub fn check_every(mut self, every: Duration) -> Self {
        self.check_every = Some(every);
        self
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

    /// How far the running round with `peer` is: changes fetched, and
    /// changes known missing (`None` without a running round).
    pub fn round_progress(&self, peer: &P) -> Option<(u64, u64)> {
        let r = self.peers.get(peer)?.round.as_ref()?;
        Some((r.outcome.fetched, r.outcome.we_lack.max(r.outcome.fetched)))
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
                self.check_idle(now, replica, &mut step);
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

    /// A round with each connected member idle for [`Self::check_every`].
    fn check_idle<R: Replica<P>>(&mut self, now: SystemTime, replica: &mut R, step: &mut Step<P>) {
        let Some(every) = self.check_every else {
            return;
        };
        let idle: Vec<P> = self
            .peers
            .iter_mut()
            .filter(|(_, p)| {
                p.connected
                    && p.round.is_none()
                    && p.queued.is_none()
                    && p.retry_at.is_none()
                    && p.last_exchange.is_none_or(|t| t + every <= now)
            })
            .map(|(peer, p)| {
                // Not again before `every`, whatever this round does.
                p.last_exchange = Some(now);
                peer.clone()
            })
            .collect();
        for peer in idle {
            if replica.standing(&peer) == Standing::Member {
                self.want_round(peer, replica, step);
            }
        }
    }

    /// A successful exchange with `peer` at `now`: its last sync.
    fn exchanged(&mut self, peer: &P, now: SystemTime) {
        if let Some(p) = self.peers.get_mut(peer) {
            p.state.last_sync = Some(rfc3339(now));
            p.last_exchange = Some(now);
        }
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
}

/// Whose fault a failure is.
enum Blame {
    /// The peer sent something invalid: disconnect it.
    Peer(String),
    /// A local store error.
    Local(String),
}
