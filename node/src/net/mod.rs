//! The network: a libp2p swarm (TCP and QUIC, noise, yamux, identify, ping,
//! optional mDNS, and the `/r2com/sync/1` request-response protocol) and
//! the one event loop that drives the sans-IO sync machine
//! ([`r2com_protocol::sync::SyncMachine`]) with what the swarm reports.
//!
//! The machine decides (gating by the roster, rounds, pushes, what counts
//! as misbehaviour; see its module docs); this loop does the IO: it turns
//! swarm events into machine inputs, runs the machine on the library thread
//! (its [`Replica`] is the store), and turns the outputs into requests,
//! responses, disconnections and store writes. Dialing (configured
//! addresses with backoff, mDNS) stays here: it is about sockets.

mod codec;

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use futures::StreamExt;
use libp2p::request_response::{self, OutboundRequestId, ProtocolSupport, ResponseChannel};
use libp2p::swarm::behaviour::toggle::Toggle;
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{
    connection_limits, identify, mdns, noise, ping, tcp, yamux, Multiaddr, PeerId, StreamProtocol,
    Swarm,
};
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info, warn, Instrument};

pub use r2com_protocol::sync::PeerState;
use r2com_protocol::sync::{
    Applied, Event, InboundId, Input, Outbox, Output, Replica, RequestId, RoundOutcome, Standing,
    Summary, SyncMachine,
};
use r2com_protocol::wire::{self, SyncRequest, SyncResponse};

use crate::actor::LibraryHandle;
use crate::library::{Library, LibraryError};
use crate::store::keys;

/// Commands waiting for the network loop.
const COMMAND_CAPACITY: usize = 256;
/// Connection caps (libp2p gates only after the noise handshake).
const MAX_PENDING_INCOMING: u32 = 32;
const MAX_ESTABLISHED: u32 = 256;
const MAX_PER_PEER: u32 = 2;
/// Concurrent inbound streams per connection. An honest peer has at most
/// about five requests out to us (two pipelined fetches, a push, a round's
/// request, an admission); each stream buffers at most one message of
/// `wire::MAX_REQUEST_BYTES` (8 MiB), so a connection can hold at most
/// 64 MiB of unread requests (two connections per peer).
const MAX_STREAMS: usize = 8;
/// Keepalive pings (each side pings every this often; idle traffic is these).
const PING_INTERVAL: Duration = Duration::from_secs(30);
/// Redial backoff bounds.
const REDIAL_MIN: Duration = Duration::from_secs(1);
const REDIAL_MAX: Duration = Duration::from_secs(60);

type SyncBehaviour = request_response::Behaviour<codec::Codec<SyncRequest, SyncResponse>>;
type SyncEvent = request_response::Event<codec::Wire<SyncRequest>, codec::Wire<SyncResponse>>;

#[derive(NetworkBehaviour)]
struct Behaviour {
    limits: connection_limits::Behaviour,
    identify: identify::Behaviour,
    ping: ping::Behaviour,
    mdns: Toggle<mdns::tokio::Behaviour>,
    sync: SyncBehaviour,
}

/// Network settings.
#[derive(Clone, Debug)]
pub struct NetConfig {
    pub listen: Vec<Multiaddr>,
    pub mdns: bool,
    pub data_dir: PathBuf,
}

enum Command {
    Peers {
        reply: oneshot::Sender<Value>,
    },
    Sync {
        peer: Option<String>,
        reply: oneshot::Sender<Result<Value, String>>,
    },
    AddPeer {
        addr: Multiaddr,
        reply: oneshot::Sender<Result<(), String>>,
    },
    ListenAddrs {
        reply: oneshot::Sender<Vec<String>>,
    },
}

/// A handle to the network loop, for the control API.
#[derive(Clone)]
pub struct NetHandle {
    tx: mpsc::Sender<Command>,
}

impl NetHandle {
    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Command) -> Result<T, String> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(make(tx))
            .await
            .map_err(|_| "the network has stopped".to_owned())?;
        rx.await.map_err(|_| "the network has stopped".to_owned())
    }

    pub async fn peers(&self) -> Result<Value, String> {
        self.ask(|reply| Command::Peers { reply }).await
    }

    pub async fn sync(&self, peer: Option<String>) -> Result<Value, String> {
        self.ask(|reply| Command::Sync { peer, reply }).await?
    }

    pub async fn add_peer(&self, addr: Multiaddr) -> Result<(), String> {
        self.ask(|reply| Command::AddPeer { addr, reply }).await?
    }

    pub async fn listen_addrs(&self) -> Result<Vec<String>, String> {
        self.ask(|reply| Command::ListenAddrs { reply }).await
    }
}

/// The PeerId of a node public key (hex).
pub fn peer_id_of(key_hex: &str) -> Option<PeerId> {
    let bytes = hex::decode(key_hex).ok()?;
    let pk = libp2p_identity::ed25519::PublicKey::try_from_bytes(&bytes).ok()?;
    Some(libp2p_identity::PublicKey::from(pk).to_peer_id())
}

/// The node public key (hex) of a PeerId, if it embeds an ed25519 key.
pub fn key_of(peer: &PeerId) -> Option<String> {
    let pk = libp2p_identity::PublicKey::try_decode_protobuf(peer.as_ref().digest()).ok()?;
    Some(hex::encode(pk.try_into_ed25519().ok()?.to_bytes()))
}

/// The store as the sync machine sees it.
struct NodeReplica<'a>(&'a Library);

impl Replica<PeerId> for NodeReplica<'_> {
    type Error = LibraryError;

    fn standing(&mut self, peer: &PeerId) -> Standing {
        let Some(key) = key_of(peer) else {
            return Standing::Stranger;
        };
        match self.0.roster() {
            Some(r) if r.is_live_member(&key) => Standing::Member,
            Some(r) if r.invites.values().any(|i| i.key == key) && r.find_key(&key).is_none() => {
                Standing::Invitee
            }
            _ => Standing::Stranger,
        }
    }

    fn awaiting_admission(&mut self) -> bool {
        let me = self.0.key().public().to_hex();
        match self.0.roster() {
            None => false,
            Some(r) => !r.is_live_member(&me) && r.find_key(&me).is_none(),
        }
    }

    fn summary(&mut self) -> Result<Summary, LibraryError> {
        self.0.summary()
    }

    fn bucket_digests(&mut self) -> Result<Vec<[u8; 32]>, LibraryError> {
        self.0.bucket_digests()
    }

    fn inventory(&mut self, buckets: &[u8]) -> Result<Vec<[u8; 32]>, LibraryError> {
        self.0.inventory(buckets)
    }

    fn has_change(&mut self, hash: &[u8; 32]) -> Result<bool, LibraryError> {
        self.0.has_change(hash)
    }

    fn get_changes(&mut self, hashes: &[[u8; 32]]) -> Result<Vec<Vec<u8>>, LibraryError> {
        self.0.get_changes(hashes)
    }

    fn get_roster(&mut self, ids: &[[u8; 32]]) -> Result<Vec<Vec<u8>>, LibraryError> {
        self.0.get_roster(ids)
    }

    fn apply(
        &mut self,
        peer: &PeerId,
        entries: Vec<Vec<u8>>,
        envelopes: Vec<Vec<u8>>,
    ) -> Result<Applied, LibraryError> {
        let (report, missing_deps) =
            self.0
                .apply_from_peer(&peer.to_base58(), entries, envelopes)?;
        Ok(Applied {
            applied: report.applied,
            invalid: report.refusals,
            not_allowed: report.not_allowed,
            missing_deps,
        })
    }

    fn admit(
        &mut self,
        peer: &PeerId,
        entries: Vec<Vec<u8>>,
    ) -> Result<Option<Vec<Vec<u8>>>, String> {
        let key = key_of(peer).unwrap_or_default();
        if !self
            .0
            .admit_from_peer(&key, entries)
            .map_err(|e| e.to_string())?
        {
            return Ok(None);
        }
        let ids = self.0.roster_ids().map_err(|e| e.to_string())?;
        self.0.get_roster(&ids).map(Some).map_err(|e| e.to_string())
    }

    fn own_admission(&mut self) -> Result<Vec<Vec<u8>>, LibraryError> {
        self.0.own_admission()
    }

    fn take_outbox(&mut self) -> Outbox<PeerId> {
        let o = self.0.take_outbox();
        Outbox {
            changes: o
                .changes
                .into_iter()
                .map(|(origin, env)| (origin.and_then(|s| s.parse().ok()), env))
                .collect(),
            roster: o.roster.into_iter().collect(),
            overflowed: o.overflowed,
        }
    }
}

/// Start the swarm and its loop. Returns a handle for the control API.
pub async fn start(cfg: NetConfig, library: LibraryHandle) -> Result<NetHandle, String> {
    let seed = library
        .with(|l| l.key().seed())
        .await
        .map_err(|e| e.to_string())?;
    let keypair = libp2p_identity::Keypair::ed25519_from_bytes(seed).map_err(|e| e.to_string())?;
    let mdns_on = cfg.mdns;
    let mut swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|e| e.to_string())?
        .with_quic()
        .with_behaviour(|key| {
            let mdns = if mdns_on {
                Some(mdns::tokio::Behaviour::new(
                    mdns::Config::default(),
                    key.public().to_peer_id(),
                )?)
            } else {
                None
            };
            let codec = codec::Codec::<SyncRequest, SyncResponse>::default();
            Ok(Behaviour {
                limits: connection_limits::Behaviour::new(
                    connection_limits::ConnectionLimits::default()
                        .with_max_pending_incoming(Some(MAX_PENDING_INCOMING))
                        .with_max_established(Some(MAX_ESTABLISHED))
                        .with_max_established_per_peer(Some(MAX_PER_PEER)),
                ),
                // No address cache: learned addresses are shown in `peers`,
                // never dialed behind the operator's back.
                identify: identify::Behaviour::new(
                    identify::Config::new("/r2com/1.0.0".into(), key.public()).with_cache_size(0),
                ),
                ping: ping::Behaviour::new(ping::Config::new().with_interval(PING_INTERVAL)),
                mdns: Toggle::from(mdns),
                sync: request_response::Behaviour::with_codec(
                    codec,
                    [(StreamProtocol::new(wire::PROTOCOL), ProtocolSupport::Full)],
                    request_response::Config::default()
                        .with_request_timeout(Duration::from_secs(120))
                        .with_max_concurrent_streams(MAX_STREAMS),
                ),
            })
        })
        .map_err(|e| e.to_string())?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(3600)))
        .build();
    for addr in &cfg.listen {
        swarm
            .listen_on(addr.clone())
            .map_err(|e| format!("listen on {addr}: {e}"))?;
    }
    let (tx, rx) = mpsc::channel(COMMAND_CAPACITY);
    let handle = NetHandle { tx };
    let known: Vec<(String, Option<PeerState>)> = library
        .with(|l| {
            let mut out = Vec::new();
            for e in l.store().scan_prefix(&[keys::PEER_ADDR, 0]).flatten() {
                out.push((String::from_utf8_lossy(keys::rest(&e.0)).into_owned(), None));
            }
            for e in l.store().scan_prefix(&[keys::PEER_STATE, 0]).flatten() {
                let st: Option<PeerState> = serde_json::from_slice(&e.1).ok();
                out.push((
                    format!("state:{}", String::from_utf8_lossy(keys::rest(&e.0))),
                    st,
                ));
            }
            out
        })
        .await
        .map_err(|e| e.to_string())?;
    let mut states = Vec::new();
    let mut dials = BTreeMap::new();
    for (k, st) in known {
        if let Some(id) = k.strip_prefix("state:") {
            if let (Ok(p), Some(st)) = (id.parse::<PeerId>(), st) {
                states.push((p, st));
            }
        } else if let Ok(a) = k.parse::<Multiaddr>() {
            dials.insert(
                a,
                Dial {
                    next: Instant::now(),
                    delay: REDIAL_MIN,
                },
            );
        }
    }
    let lp = Loop {
        swarm,
        library,
        rx,
        machine: Arc::new(Mutex::new(SyncMachine::new(states))),
        inbound: HashMap::new(),
        next_inbound: 0,
        outbound: HashMap::new(),
        waiters: HashMap::new(),
        addrs: HashMap::new(),
        dials,
        listen: Vec::new(),
    };
    tokio::spawn(lp.run().instrument(tracing::info_span!("net")));
    Ok(handle)
}

struct Dial {
    next: Instant,
    delay: Duration,
}

type Waiter = oneshot::Sender<Result<RoundOutcome, String>>;

struct Loop {
    swarm: Swarm<Behaviour>,
    library: LibraryHandle,
    rx: mpsc::Receiver<Command>,
    /// Runs on the library thread (its replica is the store).
    machine: Arc<Mutex<SyncMachine<PeerId>>>,
    /// Reply channels of inbound requests, by the id the machine knows.
    inbound: HashMap<InboundId, ResponseChannel<codec::Wire<SyncResponse>>>,
    next_inbound: u64,
    /// The machine's ids of our outbound requests.
    outbound: HashMap<OutboundRequestId, (PeerId, RequestId)>,
    /// Operators waiting for a round (`r2com sync`).
    waiters: HashMap<(PeerId, u64), Vec<Waiter>>,
    /// Where each peer was seen (shown in `peers`, never dialed).
    addrs: HashMap<PeerId, BTreeSet<Multiaddr>>,
    dials: BTreeMap<Multiaddr, Dial>,
    listen: Vec<Multiaddr>,
}

impl Loop {
    async fn run(mut self) {
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
    async fn drive(&mut self, input: Input<PeerId>) -> Vec<Event<PeerId>> {
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

    async fn on_swarm(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::NewListenAddr { address, .. } => {
                info!(%address, "listening");
                self.listen.push(address);
            }
            SwarmEvent::ConnectionEstablished {
                peer_id,
                endpoint,
                num_established,
                ..
            } => {
                let addr = endpoint.get_remote_address().clone();
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
                num_established: 0,
                ..
            } => {
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
            _ => {}
        }
    }

    async fn on_sync(&mut self, ev: SyncEvent) {
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

    async fn on_command(&mut self, cmd: Command) {
        match cmd {
            Command::Peers { reply } => {
                let _ = reply.send(self.peers_json().await);
            }
            Command::Sync { peer, reply } => {
                let targets: Vec<PeerId> = match &peer {
                    Some(s) => match s.parse::<PeerId>().ok().or_else(|| peer_id_of(s)) {
                        Some(p) => vec![p],
                        None => {
                            let _ = reply.send(Err(format!("{s:?} is not a PeerId or node key")));
                            return;
                        }
                    },
                    None => {
                        let m = self.machine.lock().unwrap_or_else(|e| e.into_inner());
                        m.connected().copied().collect()
                    }
                };
                let mut waits = Vec::new();
                for t in targets {
                    for answer in self.drive(Input::Sync { peer: t }).await {
                        match answer {
                            Event::RoundQueued { peer, round } => {
                                let (tx, rx) = oneshot::channel();
                                self.waiters.entry((peer, round)).or_default().push(tx);
                                waits.push((peer, rx));
                            }
                            Event::NotSyncable { peer, .. } => {
                                let _ = reply
                                    .send(Err(format!("peer {peer} is not a connected member")));
                                return;
                            }
                            _ => {}
                        }
                    }
                }
                tokio::spawn(async move {
                    let mut out = Vec::new();
                    for (t, rx) in waits {
                        let r = rx.await.unwrap_or(Err("network stopped".into()));
                        out.push(json!({"peer": t.to_base58(), "result": match r { Ok(o) => json!(o), Err(e) => json!({"error": e}) }}));
                    }
                    let _ = reply.send(Ok(Value::Array(out)));
                });
            }
            Command::AddPeer { addr, reply } => {
                let a = addr.clone();
                let stored = self
                    .library
                    .with(move |l| {
                        l.store().write(vec![(
                            keys::key(keys::PEER_ADDR, a.to_string().as_bytes()),
                            Some(b"{}".to_vec()),
                        )])?;
                        l.store().flush()
                    })
                    .await;
                if let Ok(Err(e)) = stored {
                    let _ = reply.send(Err(e.to_string()));
                    return;
                }
                self.dials.insert(
                    addr.clone(),
                    Dial {
                        next: Instant::now(),
                        delay: REDIAL_MIN,
                    },
                );
                let r = self.swarm.dial(addr).map_err(|e| e.to_string());
                let _ = reply.send(r);
            }
            Command::ListenAddrs { reply } => {
                let _ = reply.send(self.listen.iter().map(|a| a.to_string()).collect());
            }
        }
    }

    /// Dial known addresses whose peer is not connected, with backoff.
    fn redial(&mut self) {
        let now = Instant::now();
        let connected: Vec<Multiaddr> = self
            .addrs
            .iter()
            .filter(|(p, _)| self.swarm.is_connected(p))
            .flat_map(|(_, a)| a.iter().cloned())
            .collect();
        for (addr, d) in self.dials.iter_mut() {
            let peer = addr.iter().find_map(|p| match p {
                libp2p::multiaddr::Protocol::P2p(id) => Some(id),
                _ => None,
            });
            let is_up = match peer {
                Some(id) => self.swarm.is_connected(&id),
                None => connected.contains(addr),
            };
            if is_up || d.next > now {
                continue;
            }
            debug!(%addr, "dialing");
            let _ = self.swarm.dial(addr.clone());
            d.next = now + d.delay;
            d.delay = (d.delay * 2).min(REDIAL_MAX);
        }
    }

    async fn peers_json(&mut self) -> Value {
        let roster = self
            .library
            .with(|l| (l.roster(), l.key().public().to_hex()))
            .await
            .ok();
        let Some((Some(roster), me)) = roster else {
            return json!([]);
        };
        let states: HashMap<PeerId, PeerState> = {
            let m = self.machine.lock().unwrap_or_else(|e| e.into_inner());
            m.states().map(|(p, s)| (*p, s.clone())).collect()
        };
        let mut out = Vec::new();
        for org in &roster.orgs {
            for k in &org.keys {
                if k.key == me {
                    continue;
                }
                let Some(pid) = peer_id_of(&k.key) else {
                    continue;
                };
                let st = states.get(&pid).cloned().unwrap_or_default();
                out.push(json!({
                    "org": org.info.key,
                    "key": k.key,
                    "peer_id": pid.to_base58(),
                    "revoked": org.revoked.is_some() || k.revoked.is_some(),
                    "connected": self.swarm.is_connected(&pid),
                    "addrs": self.addrs.get(&pid).map(|a| a.iter().map(|a| a.to_string()).collect::<Vec<_>>()).unwrap_or_default(),
                    "last_sync": st.last_sync,
                    "we_lack": st.we_lack,
                    "they_lack": st.they_lack,
                    "bytes_sent": st.bytes_sent,
                    "bytes_received": st.bytes_received,
                }));
            }
        }
        Value::Array(out)
    }
}
