//! The one event loop: swarm events, control commands, local writes and a
//! one-second tick become inputs of the sync machine, which runs on the
//! library thread; its outputs become requests, responses, disconnections
//! and store writes.

mod commands;
mod dialing;
mod events;
mod file_requests;
mod member_set;
pub(super) mod metrics;
mod relaying;
mod share;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use futures::StreamExt;
use libp2p::request_response::{self, OutboundRequestId, ResponseChannel};
use libp2p::swarm::ConnectionId;
use libp2p::{Multiaddr, PeerId, Swarm};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info, warn};

use r2com_protocol::roster::Roster;
use r2com_protocol::sync::{Event, InboundId, Input, Output, RequestId, RoundOutcome, SyncMachine};
use r2com_protocol::wire::SyncResponse;

use super::behaviour::{Behaviour, SyncEvent};
use super::book::Book;
use super::codec;
use super::dial::Dialer;
use super::files::FilesState;
use super::gate::Admission;
use super::handle::{Command, JoinOutcome};
use super::members::Members;
use super::reach::Reach;
use super::relay::Relays;
use super::relay_mode::RelayMode;
use crate::library_thread::LibraryHandle;
use crate::replica::NodeReplica;
use crate::store::keys;

/// Whether two rosters are the same evaluation.
pub(super) fn same_roster(a: &Option<Arc<Roster>>, b: &Option<Arc<Roster>>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => Arc::ptr_eq(a, b),
        (None, None) => true,
        _ => false,
    }
}

pub(super) type Waiter = oneshot::Sender<Result<RoundOutcome, String>>;

/// Whether a round ended well in `outputs` and no round runs or waits with
/// any peer now: a clone (all its rounds, with every peer) or a catch-up
/// is over, and the store holds what it brought (rounds apply what they
/// fetch before they end). Then is when a store that grew is compacted
/// ([`crate::library::Library::compact_in_background`]).
fn sync_settled(machine: &SyncMachine<PeerId>, outputs: &[Output<PeerId>]) -> bool {
    let ended = outputs
        .iter()
        .any(|o| matches!(o, Output::Event(Event::RoundDone { result: Ok(_), .. })));
    ended && !machine.states().any(|(p, _)| machine.is_syncing(p))
}

/// One open connection.
pub(super) struct Conn {
    /// The remote address (`/p2p-circuit` for a relayed connection).
    pub(super) addr: Multiaddr,
    /// We dialed it (so `addr` is where the peer listens).
    pub(super) dialer: bool,
    /// Through a relay.
    pub(super) relayed: bool,
}

/// An operator waiting for this node's admission after `r2com join`.
pub(super) struct JoinWaiter {
    pub(super) until: Instant,
    /// The invite's addresses (their dial errors are reported).
    pub(super) addrs: Vec<Multiaddr>,
    pub(super) reply: oneshot::Sender<JoinOutcome>,
}

pub(super) struct Loop {
    pub(super) swarm: Swarm<Behaviour>,
    pub(super) keypair: libp2p_identity::Keypair,
    pub(super) library: LibraryHandle,
    pub(super) rx: mpsc::Receiver<Command>,
    /// Runs on the library thread (its replica is the store).
    pub(super) machine: Arc<Mutex<SyncMachine<PeerId>>>,
    /// Reply channels of inbound requests, by the id the machine knows.
    pub(super) inbound: HashMap<InboundId, ResponseChannel<codec::Wire<SyncResponse>>>,
    pub(super) next_inbound: u64,
    /// The machine's ids of our outbound requests.
    pub(super) outbound: HashMap<OutboundRequestId, (PeerId, RequestId)>,
    /// Operators waiting for a round (`r2com sync`).
    pub(super) waiters: HashMap<(PeerId, u64), Vec<Waiter>>,
    /// Operators waiting for this node's admission (`r2com join`).
    pub(super) joins: Vec<JoinWaiter>,
    /// Open connections per peer, with each one's remote address (a
    /// `/p2p-circuit` address for a relayed one).
    pub(super) conns: HashMap<PeerId, BTreeMap<ConnectionId, Conn>>,
    /// Where each peer was seen, or says it listens (shown in `peers`;
    /// dialed only if it is in the member's signed record).
    pub(super) seen: HashMap<PeerId, BTreeSet<Multiaddr>>,
    /// Peers mDNS found on the local network, with their addresses
    /// (dialed once they are members).
    pub(super) discovered: HashMap<PeerId, BTreeSet<Multiaddr>>,
    pub(super) dials: Dialer,
    pub(super) listen: Vec<Multiaddr>,
    /// `/r2com/files/1`.
    pub(super) files: FilesState,
    /// The roster the member set was evaluated from.
    pub(super) roster: Option<Arc<Roster>>,
    pub(super) members: Members,
    /// Who else may connect (the gate's view of the roster).
    pub(super) admission: Admission,
    /// Who invited this node, while it waits for its admission.
    pub(super) inviters: HashSet<PeerId>,
    pub(super) book: Book,
    /// `[net] announce`: the addresses to give members instead of ours.
    pub(super) announce: Option<Vec<Multiaddr>>,
    pub(super) reach: Reach,
    pub(super) relays: Relays,
    pub(super) relay_mode: RelayMode,
    pub(super) serving_relay: bool,
    /// Reserve on member relays while not publicly reachable.
    pub(super) use_relays: bool,
    pub(super) metrics: metrics::LoopMetrics,
}

impl Loop {
    pub(super) async fn run(mut self) {
        self.refresh_members().await;
        self.apply_relay_mode();
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let outbox = self.library.outbox.clone();
        loop {
            tokio::select! {
                event = self.swarm.select_next_some() => self.on_swarm(event).await,
                cmd = self.rx.recv() => match cmd {
                    Some(cmd) => self.on_command(cmd).await,
                    None => return,
                },
                _ = outbox.notified() => { self.drive(Input::LocalWrites).await; }
                Some(served) = self.files.served_rx.recv() => self.on_served(served),
                _ = tick.tick() => self.on_tick().await,
            }
        }
    }

    /// Once a second: roster, our record, reservations, dials, the machine.
    async fn on_tick(&mut self) {
        self.refresh_members().await;
        self.apply_relay_mode();
        self.keep_reservations();
        self.refresh_own_record().await;
        self.redial();
        self.expire_joins();
        self.drive(Input::Tick).await;
    }

    /// Run the machine on one input (and on the inputs its outputs lead
    /// to), carry out the outputs; the events the caller asked about
    /// (`RoundQueued`, `NotSyncable`) are returned.
    pub(super) async fn drive(&mut self, input: Input<PeerId>) -> Vec<Event<PeerId>> {
        let mut inputs = VecDeque::from([input]);
        let mut answers = Vec::new();
        let mut admitted = None;
        let mut roster_changed = false;
        while let Some(input) = inputs.pop_front() {
            let machine = self.machine.clone();
            let now = SystemTime::now();
            let what = match &input {
                Input::Request { request: Ok(r), .. } => format!("request {}", r.kind()),
                Input::Response {
                    response: Ok(r), ..
                } => format!("response {}", r.kind()),
                other => format!("{:.40}", format!("{other:?}")),
            };
            let started = Instant::now();
            let mut touched = match &input {
                Input::Connected { peer, .. } | Input::Disconnected { peer } => vec![*peer],
                _ => Vec::new(),
            };
            let (outputs, roster) = self
                .library
                .with(move |l| {
                    let mut machine = machine.lock().unwrap_or_else(|e| e.into_inner());
                    let outputs = machine.handle(now, input, &mut NodeReplica(l));
                    if sync_settled(&machine, &outputs) {
                        l.compact_in_background();
                    }
                    drop(machine);
                    (outputs, l.roster())
                })
                .await
                .unwrap_or_default();
            roster_changed |= !same_roster(&roster, &self.roster);
            self.roster_seen(roster);
            tracing::trace!(input = %what, ms = started.elapsed().as_millis() as u64, outputs = outputs.len(), "sync machine step");
            let mut persist = Vec::new();
            for output in outputs {
                match output {
                    Output::Send { peer, id, request } => {
                        // Only over an existing connection: request-response
                        // would otherwise dial whatever addresses the swarm
                        // learned; dialing is `dial.rs`'s (configured
                        // addresses, members' signed records).
                        if self.swarm.is_connected(&peer) {
                            let rid = self
                                .swarm
                                .behaviour_mut()
                                .sync
                                .send_request(&peer, Ok(request));
                            self.outbound.insert(rid, (peer, id));
                        } else {
                            inputs.push_back(Input::Failed {
                                peer,
                                id,
                                error: "not connected".into(),
                            });
                        }
                    }
                    Output::Respond { id, response, .. } => {
                        if let Some(channel) = self.inbound.remove(&id) {
                            let _ = self
                                .swarm
                                .behaviour_mut()
                                .sync
                                .send_response(channel, Ok(response));
                        }
                    }
                    Output::Disconnect {
                        peer,
                        reason,
                        misbehaved,
                    } => {
                        if misbehaved {
                            warn!(%peer, %reason, "peer sent invalid data: disconnecting");
                            self.metrics.net.misbehaved(&reason);
                        } else {
                            warn!(%peer, %reason, "not a member of the consortium: disconnecting");
                            self.metrics.net.non_member_refused();
                        }
                        let _ = self.swarm.disconnect_peer_id(peer);
                    }
                    Output::Persist { peer, state } => {
                        touched.push(peer);
                        persist.push((peer, state))
                    }
                    Output::Event(e) => match e {
                        Event::RoundQueued { .. } | Event::NotSyncable { .. } => answers.push(e),
                        Event::RoundDone {
                            peer,
                            round,
                            result,
                        } => {
                            match &result {
                                Ok(o) => {
                                    debug!(%peer, fetched = o.fetched, they_lack = o.they_lack, "sync round done")
                                }
                                Err(e) => debug!(%peer, error = %e, "sync round failed"),
                            }
                            for w in self.waiters.remove(&(peer, round)).unwrap_or_default() {
                                let _ = w.send(result.clone());
                            }
                        }
                        Event::Admitted { peer } => {
                            info!(%peer, "admission handed in; roster received");
                            admitted = Some(peer);
                        }
                        Event::Refused { peer, reason } => warn!(%peer, %reason, "refused"),
                        Event::NotAllowed { peer, reasons } => info!(
                            %peer,
                            count = reasons.len(),
                            first = %reasons[0],
                            "changes not applied: their authors may not write"
                        ),
                        Event::LocalError { peer, error } => {
                            warn!(%peer, %error, "local store error while syncing")
                        }
                    },
                }
            }
            for peer in touched {
                self.member_changed(peer);
            }
            if !persist.is_empty() {
                let _ = self
                    .library
                    .with(move |l| {
                        let writes = persist
                            .into_iter()
                            .map(|(peer, st)| {
                                (
                                    keys::key(keys::PEER_STATE, peer.to_base58().as_bytes()),
                                    Some(serde_json::to_vec(&st).expect("state")),
                                )
                            })
                            .collect();
                        let _ = l.store().write(writes);
                    })
                    .await;
            }
        }
        // The member set and the gate follow the roster at once (a node
        // just admitted, or revoked, is let in or refused from now on).
        if roster_changed || admitted.is_some() {
            self.refresh_members().await;
        }
        if let Some(peer) = admitted {
            self.admitted(peer);
        }
        answers
    }

    pub(super) async fn on_sync(&mut self, ev: SyncEvent) {
        match ev {
            request_response::Event::Message { peer, message, .. } => match message {
                request_response::Message::Request {
                    request, channel, ..
                } => {
                    self.next_inbound += 1;
                    let id = InboundId(self.next_inbound);
                    self.inbound.insert(id, channel);
                    self.drive(Input::Request { peer, id, request }).await;
                    // A request the machine did not answer (its peer was
                    // disconnected) drops its channel here.
                    self.inbound.remove(&id);
                }
                request_response::Message::Response {
                    request_id,
                    response,
                } => {
                    if let Some((peer, id)) = self.outbound.remove(&request_id) {
                        self.drive(Input::Response { peer, id, response }).await;
                    }
                }
            },
            request_response::Event::OutboundFailure {
                request_id,
                error,
                peer,
                ..
            } => {
                debug!(%peer, %error, "request failed");
                if let Some((peer, id)) = self.outbound.remove(&request_id) {
                    let error = error.to_string();
                    self.drive(Input::Failed { peer, id, error }).await;
                }
            }
            request_response::Event::InboundFailure { peer, error, .. } => {
                debug!(%peer, %error, "inbound request failed");
            }
            request_response::Event::ResponseSent { .. } => {}
        }
    }
}
