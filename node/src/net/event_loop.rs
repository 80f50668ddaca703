//! The one event loop: swarm events, control commands, local writes and a
//! one-second tick become inputs of the sync machine, which runs on the
//! library thread; its outputs become requests, responses, disconnections
//! and store writes.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use futures::StreamExt;
use libp2p::request_response::{self, OutboundRequestId, ResponseChannel};
use libp2p::swarm::{ConnectionId, SwarmEvent};
use libp2p::{identify, mdns, Multiaddr, PeerId, Swarm};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info, warn};

use r2com_protocol::sync::{Event, InboundId, Input, Output, RequestId, RoundOutcome, SyncMachine};
use r2com_protocol::wire::SyncResponse;

use super::behaviour::{Behaviour, BehaviourEvent, SyncEvent};
use super::codec;
use super::dial::{Dial, REDIAL_MIN};
use super::files::FilesState;
use super::handle::Command;
use crate::library_thread::LibraryHandle;
use crate::replica::NodeReplica;
use crate::store::keys;

pub(super) type Waiter = oneshot::Sender<Result<RoundOutcome, String>>;

pub(super) struct Loop {
    pub(super) swarm: Swarm<Behaviour>,
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
    /// Where each peer was seen (shown in `peers`, never dialed).
    pub(super) addrs: HashMap<PeerId, BTreeSet<Multiaddr>>,
    pub(super) dials: BTreeMap<Multiaddr, Dial>,
    pub(super) listen: Vec<Multiaddr>,
    /// Open connections of each peer, and whether each goes through a relay.
    pub(super) conns: HashMap<PeerId, HashMap<ConnectionId, bool>>,
    /// `/r2com/files/1`.
    pub(super) files: FilesState,
}

impl Loop {
    pub(super) async fn run(mut self) {
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
                _ = tick.tick() => {
                    self.redial();
                    self.drive(Input::Tick).await;
                }
            }
        }
    }

    /// Run the machine on one input (and on the inputs its outputs lead
    /// to), carry out the outputs; the events the caller asked about
    /// (`RoundQueued`, `NotSyncable`) are returned.
    pub(super) async fn drive(&mut self, input: Input<PeerId>) -> Vec<Event<PeerId>> {
        let mut inputs = VecDeque::from([input]);
        let mut answers = Vec::new();
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
            let outputs = self
                .library
                .with(move |l| {
                    machine.lock().unwrap_or_else(|e| e.into_inner()).handle(
                        now,
                        input,
                        &mut NodeReplica(l),
                    )
                })
                .await
                .unwrap_or_default();
            tracing::trace!(input = %what, ms = started.elapsed().as_millis() as u64, outputs = outputs.len(), "sync machine step");
            let mut persist = Vec::new();
            for output in outputs {
                match output {
                    Output::Send { peer, id, request } => {
                        // Only over an existing connection: request-response
                        // would otherwise dial whatever addresses the swarm
                        // learned; a node dials only what its operator gave
                        // it (peer add, invites) or mDNS found.
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
                        } else {
                            warn!(%peer, %reason, "not a member of the consortium: disconnecting");
                        }
                        let _ = self.swarm.disconnect_peer_id(peer);
                    }
                    Output::Persist { peer, state } => persist.push((peer, state)),
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
                            info!(%peer, "admission handed in; roster received")
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
        answers
    }

    pub(super) async fn on_swarm(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::NewListenAddr { address, .. } => {
                info!(%address, "listening");
                self.listen.push(address);
            }
            SwarmEvent::ConnectionEstablished {
                peer_id,
                connection_id,
                endpoint,
                num_established,
                ..
            } => {
                let addr = endpoint.get_remote_address().clone();
                let relayed = addr
                    .iter()
                    .any(|p| matches!(p, libp2p::multiaddr::Protocol::P2pCircuit));
                self.conns
                    .entry(peer_id)
                    .or_default()
                    .insert(connection_id, relayed);
                if endpoint.is_dialer() {
                    if let Some(d) = self.dials.get_mut(&addr) {
                        d.delay = REDIAL_MIN;
                    }
                }
                info!(peer = %peer_id, %addr, "connected");
                self.addrs.entry(peer_id).or_default().insert(addr);
                if num_established.get() == 1 {
                    self.drive(Input::Connected {
                        peer: peer_id,
                        dialer: endpoint.is_dialer(),
                    })
                    .await;
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                connection_id,
                num_established,
                ..
            } => {
                if let Some(c) = self.conns.get_mut(&peer_id) {
                    c.remove(&connection_id);
                    if c.is_empty() {
                        self.conns.remove(&peer_id);
                    }
                }
                if num_established > 0 {
                    return;
                }
                debug!(peer = %peer_id, "disconnected");
                self.drive(Input::Disconnected { peer: peer_id }).await;
            }
            SwarmEvent::OutgoingConnectionError { error, .. } => debug!(%error, "dial failed"),
            SwarmEvent::Behaviour(BehaviourEvent::Mdns(mdns::Event::Discovered(list))) => {
                for (peer, addr) in list {
                    if !self.swarm.is_connected(&peer) {
                        debug!(%peer, %addr, "mDNS discovered");
                        let _ = self.swarm.dial(addr);
                    }
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received {
                peer_id,
                info,
                ..
            })) => {
                let addrs = self.addrs.entry(peer_id).or_default();
                for a in info.listen_addrs.into_iter().take(8) {
                    let unspecified = a.iter().any(|x| {
                        matches!(x, libp2p::multiaddr::Protocol::Ip4(ip) if ip.is_unspecified())
                    });
                    if !unspecified && addrs.len() < 16 {
                        addrs.insert(a);
                    }
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Sync(ev)) => self.on_sync(ev).await,
            SwarmEvent::Behaviour(BehaviourEvent::Files(ev)) => self.on_files(ev),
            _ => {}
        }
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
