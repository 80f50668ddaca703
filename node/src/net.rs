//! The network: a libp2p swarm (TCP and QUIC, noise, yamux, identify, ping,
//! optional mDNS, and the `/r2com/sync/1` request-response protocol) and
//! the event loop that gates peers by the roster and runs sync rounds.
//!
//! Gating: noise authenticates the peer's key (its PeerId). Right after a
//! connection is established the loop checks that key against the roster:
//! a live member may sync; the holder of a valid invite may only hand in
//! its admission; anyone else is disconnected before any data flows, and
//! every request is checked again when it arrives. A revocation disconnects
//! the revoked peer at once.
//!
//! Sync: each side pulls what it lacks (see `r2com_protocol::wire`), on
//! connect, when a peer's summary differs from ours, and on `r2com sync`.
//! Local writes and relayed changes are pushed to connected members as they
//! happen (never back to the peer they came from).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;

use std::time::{Duration, Instant};

use futures::StreamExt;
use libp2p::request_response::{self, cbor, OutboundRequestId, ProtocolSupport, ResponseChannel};
use libp2p::swarm::behaviour::toggle::Toggle;
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{
    connection_limits, identify, mdns, noise, ping, tcp, yamux, Multiaddr, PeerId, StreamProtocol,
    Swarm,
};
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info, warn, Instrument};

use r2com_protocol::wire::{self, SyncRequest, SyncResponse};

use crate::actor::LibraryHandle;
use crate::store::keys;

/// Commands waiting for the network loop.
const COMMAND_CAPACITY: usize = 256;
/// Connection caps (libp2p gates only after the noise handshake).
const MAX_PENDING_INCOMING: u32 = 32;
const MAX_ESTABLISHED: u32 = 256;
const MAX_PER_PEER: u32 = 2;
/// Concurrent inbound streams per connection.
const MAX_STREAMS: usize = 32;
/// Inbound requests a peer may send per window; more is a flood and the
/// peer is disconnected. An honest round is a handful of requests, and
/// pushes are batched.
const MAX_REQUESTS_PER_WINDOW: u32 = 600;
const REQUEST_WINDOW: Duration = Duration::from_secs(10);
/// Changes per fetch request.
const FETCH_CHUNK: usize = wire::MAX_CHANGES_PER_REQUEST;
/// Keepalive pings (each side pings every this often; idle traffic is these).
const PING_INTERVAL: Duration = Duration::from_secs(30);
/// Redial backoff bounds.
const REDIAL_MIN: Duration = Duration::from_secs(1);
const REDIAL_MAX: Duration = Duration::from_secs(60);

#[derive(NetworkBehaviour)]
struct Behaviour {
    limits: connection_limits::Behaviour,
    identify: identify::Behaviour,
    ping: ping::Behaviour,
    mdns: Toggle<mdns::tokio::Behaviour>,
    sync: cbor::Behaviour<SyncRequest, SyncResponse>,
}

/// Network settings.
#[derive(Clone, Debug)]
pub struct NetConfig {
    pub listen: Vec<Multiaddr>,
    pub mdns: bool,
    pub data_dir: PathBuf,
}

/// Per-peer sync state, kept in the store so a restart remembers it.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct PeerState {
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

enum Command {
    Request {
        peer: PeerId,
        request: SyncRequest,
        reply: oneshot::Sender<Result<SyncResponse, String>>,
    },
    Respond {
        peer: PeerId,
        channel: ResponseChannel<SyncResponse>,
        response: SyncResponse,
    },
    RoundDone {
        peer: PeerId,
        result: Result<RoundOutcome, String>,
    },
    Misbehaved {
        peer: PeerId,
        why: String,
    },
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

    async fn request(&self, peer: PeerId, request: SyncRequest) -> Result<SyncResponse, String> {
        self.ask(|reply| Command::Request {
            peer,
            request,
            reply,
        })
        .await?
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

#[derive(Debug, Clone, Serialize)]
struct RoundOutcome {
    fetched: u64,
    we_lack: u64,
    they_lack: u64,
    digest: String,
    bytes_sent: u64,
    bytes_received: u64,
}

struct Dial {
    next: Instant,
    delay: Duration,
}

#[derive(Default)]
struct Peer {
    connected: bool,
    addrs: BTreeSet<Multiaddr>,
    state: PeerState,
    /// A round is running; `again` asks for another when it ends.
    syncing: bool,
    again: bool,
    waiters: Vec<oneshot::Sender<Result<RoundOutcome, String>>>,
    /// Start of the current request-counting window and the requests the
    /// peer sent in it (flood guard).
    requests: Option<(Instant, u32)>,
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

fn bufs(v: Vec<[u8; 32]>) -> Vec<ByteBuf> {
    v.into_iter().map(|h| ByteBuf::from(h.to_vec())).collect()
}

fn arrays(v: &[ByteBuf]) -> Vec<[u8; 32]> {
    v.iter()
        .filter_map(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
        .collect()
}

fn req_size(r: &SyncRequest) -> u64 {
    16 + match r {
        SyncRequest::Summary { roster, .. } => 32 + 32 * roster.len() as u64,
        SyncRequest::Buckets => 0,
        SyncRequest::Inventory { buckets } => buckets.len() as u64,
        SyncRequest::GetChanges { hashes } => 33 * hashes.len() as u64,
        SyncRequest::GetBuckets { buckets } => buckets.len() as u64,
        SyncRequest::GetRoster { ids } => 33 * ids.len() as u64,
        SyncRequest::Push { batch, roster } => {
            batch.len() as u64 + roster.iter().map(|e| e.len() as u64).sum::<u64>()
        }
        SyncRequest::Admit { entries } => entries.iter().map(|e| e.len() as u64).sum(),
    }
}

fn resp_size(r: &SyncResponse) -> u64 {
    16 + match r {
        SyncResponse::Summary { roster, .. } => 32 + 33 * roster.len() as u64,
        SyncResponse::Buckets { digests } => 33 * digests.len() as u64,
        SyncResponse::Inventory { hashes } => 33 * hashes.len() as u64,
        SyncResponse::Changes { batch } => batch.len() as u64,
        SyncResponse::Roster { entries } => entries.iter().map(|e| e.len() as u64).sum(),
        SyncResponse::Ack { .. } => 8,
        SyncResponse::Refused { reason } => reason.len() as u64,
    }
}

/// What a peer may do, per the current roster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Standing {
    Member,
    /// Holds a valid invite: may only hand in its admission.
    Invitee,
    Stranger,
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
            let codec = cbor::codec::Codec::<SyncRequest, SyncResponse>::default()
                .set_request_size_maximum(wire::MAX_REQUEST_BYTES)
                .set_response_size_maximum(wire::MAX_RESPONSE_BYTES);
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
    let handle = NetHandle { tx: tx.clone() };
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
    let mut lp = Loop {
        swarm,
        library,
        handle: handle.clone(),
        rx,
        peers: HashMap::new(),
        pending: HashMap::new(),
        dials: BTreeMap::new(),
        listen: Vec::new(),
    };
    for (k, st) in known {
        if let Some(id) = k.strip_prefix("state:") {
            if let (Ok(p), Some(st)) = (id.parse::<PeerId>(), st) {
                lp.peers.entry(p).or_default().state = st;
            }
        } else if let Ok(a) = k.parse::<Multiaddr>() {
            lp.dials.insert(
                a,
                Dial {
                    next: Instant::now(),
                    delay: REDIAL_MIN,
                },
            );
        }
    }
    tokio::spawn(lp.run().instrument(tracing::info_span!("net")));
    Ok(handle)
}

/// An outbound request: its peer, its size, and who waits for the answer.
type PendingRequest = (PeerId, u64, oneshot::Sender<Result<SyncResponse, String>>);

struct Loop {
    swarm: Swarm<Behaviour>,
    library: LibraryHandle,
    handle: NetHandle,
    rx: mpsc::Receiver<Command>,
    peers: HashMap<PeerId, Peer>,
    pending: HashMap<OutboundRequestId, PendingRequest>,
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
                _ = outbox.notified() => self.push_outbox().await,
                _ = tick.tick() => self.redial(),
            }
        }
    }

    async fn standing(&mut self, peer: &PeerId) -> Standing {
        let Some(key) = key_of(peer) else {
            return Standing::Stranger;
        };
        self.library
            .with(move |l| match l.roster() {
                Some(r) if r.is_live_member(&key) => Standing::Member,
                Some(r)
                    if r.invites.values().any(|i| i.key == key) && r.find_key(&key).is_none() =>
                {
                    Standing::Invitee
                }
                _ => Standing::Stranger,
            })
            .await
            .unwrap_or(Standing::Stranger)
    }

    async fn am_pending(&mut self) -> bool {
        self.library
            .with(|l| {
                let me = l.key().public().to_hex();
                match l.roster() {
                    None => false,
                    Some(r) => !r.is_live_member(&me) && r.find_key(&me).is_none(),
                }
            })
            .await
            .unwrap_or(false)
    }

    fn send(
        &mut self,
        peer: PeerId,
        request: SyncRequest,
        reply: oneshot::Sender<Result<SyncResponse, String>>,
    ) {
        // Only over an existing connection: request-response would otherwise
        // dial the peer at whatever addresses the swarm learned, and a node
        // dials only the addresses its operator gave it (peer add, invites)
        // or found by mDNS.
        if !self.swarm.is_connected(&peer) {
            let _ = reply.send(Err(format!("peer {peer} is not connected")));
            return;
        }
        let size = req_size(&request);
        let id = self.swarm.behaviour_mut().sync.send_request(&peer, request);
        self.pending.insert(id, (peer, size, reply));
    }

    async fn on_swarm(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::NewListenAddr { address, .. } => {
                info!(%address, "listening");
                self.listen.push(address);
            }
            SwarmEvent::ConnectionEstablished {
                peer_id, endpoint, ..
            } => {
                let standing = self.standing(&peer_id).await;
                let pending_me = self.am_pending().await;
                let addr = endpoint.get_remote_address().clone();
                if endpoint.is_dialer() {
                    if let Some(d) = self.dials.get_mut(&addr) {
                        d.delay = REDIAL_MIN;
                    }
                }
                match standing {
                    Standing::Member => {
                        info!(peer = %peer_id, %addr, "member connected");
                        let p = self.peers.entry(peer_id).or_default();
                        p.connected = true;
                        p.addrs.insert(addr);
                        self.start_round(peer_id);
                    }
                    Standing::Invitee => {
                        info!(peer = %peer_id, "invitee connected: waiting for its admission");
                        self.peers.entry(peer_id).or_default().connected = true;
                    }
                    Standing::Stranger if pending_me && endpoint.is_dialer() => {
                        info!(peer = %peer_id, "handing in our admission");
                        self.peers.entry(peer_id).or_default().connected = true;
                        self.hand_in_admission(peer_id);
                    }
                    Standing::Stranger => {
                        warn!(peer = %peer_id, %addr, "not a member of the consortium: disconnecting");
                        let _ = self.swarm.disconnect_peer_id(peer_id);
                    }
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established: 0,
                ..
            } => {
                if let Some(p) = self.peers.get_mut(&peer_id) {
                    p.connected = false;
                }
                debug!(peer = %peer_id, "disconnected");
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
                if let Some(p) = self.peers.get_mut(&peer_id) {
                    for a in info.listen_addrs.into_iter().take(8) {
                        if !a.iter().any(|x| matches!(x, libp2p::multiaddr::Protocol::Ip4(ip) if ip.is_unspecified())) {
                            p.addrs.insert(a);
                        }
                    }
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Sync(ev)) => self.on_sync(ev).await,
            _ => {}
        }
    }

    async fn on_sync(&mut self, ev: request_response::Event<SyncRequest, SyncResponse>) {
        match ev {
            request_response::Event::Message { peer, message, .. } => match message {
                request_response::Message::Request {
                    request, channel, ..
                } => self.on_request(peer, request, channel).await,
                request_response::Message::Response {
                    request_id,
                    response,
                } => {
                    if let Some((p, sent, reply)) = self.pending.remove(&request_id) {
                        let st = &mut self.peers.entry(p).or_default().state;
                        st.bytes_sent += sent;
                        st.bytes_received += resp_size(&response);
                        let checked = response
                            .check()
                            .map(|_| response)
                            .map_err(|e| e.to_string());
                        if let Err(e) = &checked {
                            self.misbehaved(p, e.clone());
                        }
                        let _ = reply.send(checked);
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
                if let Some((_, _, reply)) = self.pending.remove(&request_id) {
                    let _ = reply.send(Err(error.to_string()));
                }
            }
            // Bytes that do not decode as a request never get here:
            // libp2p-request-response 0.30 drops the stream and only logs
            // at debug (see tests/tests/hostile.rs).
            request_response::Event::InboundFailure { peer, error, .. } => {
                debug!(%peer, %error, "inbound request failed");
            }
            request_response::Event::ResponseSent { .. } => {}
        }
    }

    /// Count an inbound request of `peer`; whether it is over its budget
    /// ([`MAX_REQUESTS_PER_WINDOW`] per [`REQUEST_WINDOW`]).
    fn flooding(&mut self, peer: PeerId) -> bool {
        let now = Instant::now();
        let p = self.peers.entry(peer).or_default();
        match &mut p.requests {
            Some((start, n)) if now.duration_since(*start) < REQUEST_WINDOW => {
                *n += 1;
                *n > MAX_REQUESTS_PER_WINDOW
            }
            slot => {
                *slot = Some((now, 1));
                false
            }
        }
    }

    fn misbehaved(&mut self, peer: PeerId, why: String) {
        warn!(%peer, reason = %why, "peer sent invalid data: disconnecting");
        let _ = self.swarm.disconnect_peer_id(peer);
    }

    async fn on_request(
        &mut self,
        peer: PeerId,
        request: SyncRequest,
        channel: ResponseChannel<SyncResponse>,
    ) {
        if let Err(e) = request.check() {
            self.misbehaved(peer, e.to_string());
            return;
        }
        if self.flooding(peer) {
            self.misbehaved(peer, "request flood".into());
            return;
        }
        let standing = self.standing(&peer).await;
        let allowed = matches!(
            (&request, standing),
            (_, Standing::Member) | (SyncRequest::Admit { .. }, Standing::Invitee)
        );
        if !allowed {
            let pending_me = self.am_pending().await;
            let _ = self.swarm.behaviour_mut().sync.send_response(
                channel,
                SyncResponse::Refused {
                    reason: "not a member".into(),
                },
            );
            if pending_me {
                // We wait for our own admission and cannot tell members yet;
                // keep the connection, our roster is on its way.
                debug!(%peer, "request refused while our admission is pending");
            } else {
                warn!(%peer, ?standing, "request from a non-member refused: disconnecting");
                let _ = self.swarm.disconnect_peer_id(peer);
            }
            return;
        }
        {
            let st = &mut self.peers.entry(peer).or_default().state;
            st.bytes_received += req_size(&request);
        }
        // A summary that differs from ours means the peer has something:
        // pull it.
        if let SyncRequest::Summary { digest, roster } = &request {
            let theirs = (hex::encode(digest), roster.len());
            let lib = self.library.clone();
            let ours = lib
                .with(|l| l.summary().map(|s| (hex::encode(s.digest), s.roster.len())))
                .await;
            if let Ok(Ok(ours)) = ours {
                if ours != theirs {
                    self.start_round(peer);
                } else {
                    // Same changes and roster on both sides: in sync.
                    let st = &mut self.peers.entry(peer).or_default().state;
                    st.we_lack = 0;
                    st.they_lack = 0;
                    st.last_sync =
                        Some(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
                }
            }
        }
        let lib = self.library.clone();
        let tx = self.handle.tx.clone();
        let origin = peer.to_base58();
        let peer_key = key_of(&peer).unwrap_or_default();
        tokio::spawn(async move {
            let (response, follow_up) = serve(&lib, request, origin, peer_key).await;
            match follow_up {
                FollowUp::None => {}
                FollowUp::Round => {
                    let _ = tx
                        .send(Command::RoundDone {
                            peer,
                            result: Err("pull requested".into()),
                        })
                        .await;
                }
                FollowUp::Misbehaved(why) => {
                    let _ = tx.send(Command::Misbehaved { peer, why }).await;
                }
            }
            let _ = tx
                .send(Command::Respond {
                    peer,
                    channel,
                    response,
                })
                .await;
        });
    }

    fn hand_in_admission(&mut self, peer: PeerId) {
        let lib = self.library.clone();
        let net = self.handle.clone();
        tokio::spawn(async move {
            let Ok(Ok(entries)) = lib.with(|l| l.own_admission()).await else {
                return;
            };
            let entries = entries.into_iter().map(ByteBuf::from).collect();
            match net.request(peer, SyncRequest::Admit { entries }).await {
                Ok(SyncResponse::Roster { entries }) => {
                    let entries: Vec<Vec<u8>> = entries.into_iter().map(|e| e.into_vec()).collect();
                    let origin = peer.to_base58();
                    let _ = lib
                        .with(move |l| l.apply_from_peer(&origin, entries, Vec::new()))
                        .await;
                    info!(%peer, "admission handed in; roster received");
                    let _ = net
                        .tx
                        .send(Command::RoundDone {
                            peer,
                            result: Err("admitted".into()),
                        })
                        .await;
                }
                Ok(other) => warn!(%peer, ?other, "admission not accepted"),
                Err(e) => warn!(%peer, error = %e, "admission failed"),
            }
        });
    }

    fn start_round(&mut self, peer: PeerId) {
        let p = self.peers.entry(peer).or_default();
        if p.syncing {
            p.again = true;
            return;
        }
        p.syncing = true;
        let net = self.handle.clone();
        let lib = self.library.clone();
        tokio::spawn(
            async move {
                let result = round(&net, &lib, peer).await;
                let _ = net.tx.send(Command::RoundDone { peer, result }).await;
            }
            .instrument(tracing::info_span!("sync", %peer)),
        );
    }

    async fn on_command(&mut self, cmd: Command) {
        match cmd {
            Command::Request {
                peer,
                request,
                reply,
            } => self.send(peer, request, reply),
            Command::Respond {
                peer,
                channel,
                response,
            } => {
                self.peers.entry(peer).or_default().state.bytes_sent += resp_size(&response);
                let _ = self
                    .swarm
                    .behaviour_mut()
                    .sync
                    .send_response(channel, response);
            }
            Command::Misbehaved { peer, why } => self.misbehaved(peer, why),
            Command::RoundDone { peer, result } => {
                let (finished, again) = {
                    let p = self.peers.entry(peer).or_default();
                    match &result {
                        // Not a round: a request to pull from this peer.
                        Err(e) if e == "pull requested" || e == "admitted" => (false, true),
                        _ => {
                            p.syncing = false;
                            (true, std::mem::take(&mut p.again))
                        }
                    }
                };
                if finished {
                    let p = self.peers.entry(peer).or_default();
                    match &result {
                        Ok(o) => {
                            if o.fetched > 0 {
                                // Confirm with another (cheap) round.
                                p.again = true;
                            }
                            p.state.last_sync = Some(
                                chrono::Utc::now()
                                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                            );
                            p.state.we_lack = o.we_lack;
                            p.state.they_lack = o.they_lack;
                            p.state.last_digest = Some(o.digest.clone());
                            debug!(%peer, fetched = o.fetched, they_lack = o.they_lack, "sync round done");
                        }
                        Err(e) => debug!(%peer, error = %e, "sync round failed"),
                    }
                    for w in p.waiters.drain(..) {
                        let _ = w.send(result.clone());
                    }
                    let st = p.state.clone();
                    let id = peer.to_base58();
                    let _ = self
                        .library
                        .with(move |l| {
                            let _ = l.store().write(vec![(
                                keys::key(keys::PEER_STATE, id.as_bytes()),
                                Some(serde_json::to_vec(&st).expect("state")),
                            )]);
                        })
                        .await;
                    if matches!(&result, Err(e) if e.starts_with("misbehaved")) {
                        self.misbehaved(peer, format!("{result:?}"));
                    }
                }
                if again
                    && self.swarm.is_connected(&peer)
                    && self.standing(&peer).await == Standing::Member
                {
                    self.start_round(peer);
                }
            }
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
                    None => self
                        .peers
                        .iter()
                        .filter(|(_, p)| p.connected)
                        .map(|(id, _)| *id)
                        .collect(),
                };
                let mut waits = Vec::new();
                for t in targets {
                    if !self.swarm.is_connected(&t) || self.standing(&t).await != Standing::Member {
                        let _ = reply.send(Err(format!("peer {t} is not a connected member")));
                        return;
                    }
                    let (tx, rx) = oneshot::channel();
                    let p = self.peers.entry(t).or_default();
                    p.waiters.push(tx);
                    if p.syncing {
                        p.again = true;
                    } else {
                        self.start_round(t);
                    }
                    waits.push((t, rx));
                }
                tokio::spawn(async move {
                    let mut out = Vec::new();
                    for (t, rx) in waits {
                        // A round already running ends first; wait for the next.
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
            .peers
            .values()
            .filter(|p| p.connected)
            .flat_map(|p| p.addrs.iter().cloned())
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

    /// Push what was written since the last look to connected members.
    async fn push_outbox(&mut self) {
        let Ok(outbox) = self.library.with(|l| l.take_outbox()).await else {
            return;
        };
        // The roster may have changed: drop peers that are no longer members.
        let connected: Vec<PeerId> = self
            .peers
            .iter()
            .filter(|(_, p)| p.connected)
            .map(|(id, _)| *id)
            .collect();
        let mut members = Vec::new();
        for peer in connected {
            match self.standing(&peer).await {
                Standing::Member => members.push(peer),
                Standing::Invitee => {}
                Standing::Stranger => {
                    warn!(%peer, "no longer a member (revoked): disconnecting");
                    let _ = self.swarm.disconnect_peer_id(peer);
                    if let Some(p) = self.peers.get_mut(&peer) {
                        p.connected = false;
                    }
                }
            }
        }
        if outbox.overflowed {
            for peer in members {
                self.start_round(peer);
            }
            return;
        }
        let roster: Vec<ByteBuf> = outbox.roster.into_iter().map(ByteBuf::from).collect();
        for peer in members {
            let origin = peer.to_base58();
            let envs: Vec<Vec<u8>> = outbox
                .changes
                .iter()
                .filter(|(o, _)| o.as_deref() != Some(origin.as_str()))
                .map(|(_, e)| e.clone())
                .collect();
            if envs.is_empty() && roster.is_empty() {
                continue;
            }
            for chunk in envs
                .chunks(FETCH_CHUNK)
                .map(|c| c.to_vec())
                .chain(std::iter::once(Vec::new()).take(usize::from(envs.is_empty())))
            {
                let batch = ByteBuf::from(if chunk.is_empty() {
                    Vec::new()
                } else {
                    wire::encode_batch(&chunk)
                });
                let request = SyncRequest::Push {
                    batch,
                    roster: roster.clone(),
                };
                let (tx, rx) = oneshot::channel();
                self.send(peer, request, tx);
                let net = self.handle.clone();
                tokio::spawn(async move {
                    match rx.await {
                        Ok(Ok(SyncResponse::Ack {
                            missing_deps: true, ..
                        })) => {
                            let _ = net
                                .tx
                                .send(Command::RoundDone {
                                    peer,
                                    result: Err("pull requested".into()),
                                })
                                .await;
                        }
                        Ok(Ok(SyncResponse::Refused { reason })) => {
                            warn!(%peer, %reason, "push refused")
                        }
                        Ok(Ok(SyncResponse::Ack { .. })) => {}
                        _ => {
                            // The push was lost (stream refused, timeout):
                            // a summary round makes the peer notice and pull.
                            let _ = net
                                .tx
                                .send(Command::RoundDone {
                                    peer,
                                    result: Err("pull requested".into()),
                                })
                                .await;
                        }
                    }
                });
            }
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
        let mut out = Vec::new();
        for org in &roster.orgs {
            for k in &org.keys {
                if k.key == me {
                    continue;
                }
                let Some(pid) = peer_id_of(&k.key) else {
                    continue;
                };
                let p = self.peers.get(&pid);
                let st = p.map(|p| p.state.clone()).unwrap_or_default();
                out.push(json!({
                    "org": org.info.key,
                    "key": k.key,
                    "peer_id": pid.to_base58(),
                    "revoked": org.revoked.is_some() || k.revoked.is_some(),
                    "connected": self.swarm.is_connected(&pid),
                    "addrs": p.map(|p| p.addrs.iter().map(|a| a.to_string()).collect::<Vec<_>>()).unwrap_or_default(),
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

enum FollowUp {
    None,
    Round,
    Misbehaved(String),
}

/// Answer one request from a peer allowed to make it.
async fn serve(
    lib: &LibraryHandle,
    request: SyncRequest,
    origin: String,
    peer_key: String,
) -> (SyncResponse, FollowUp) {
    let refused = |e: String| (SyncResponse::Refused { reason: e }, FollowUp::None);
    let result = match request {
        SyncRequest::Summary { .. } => {
            lib.with(|l| {
                l.summary().map(|s| SyncResponse::Summary {
                    roster: bufs(s.roster),
                    digest: ByteBuf::from(s.digest.to_vec()),
                })
            })
            .await
        }
        SyncRequest::Buckets => {
            lib.with(|l| {
                l.bucket_digests()
                    .map(|d| SyncResponse::Buckets { digests: bufs(d) })
            })
            .await
        }
        SyncRequest::Inventory { buckets } => {
            lib.with(move |l| {
                l.inventory(&buckets)
                    .map(|h| SyncResponse::Inventory { hashes: bufs(h) })
            })
            .await
        }
        SyncRequest::GetChanges { hashes } => {
            let hashes = arrays(&hashes);
            lib.with(move |l| {
                l.get_changes(&hashes).map(|envs| SyncResponse::Changes {
                    batch: ByteBuf::from(wire::encode_batch(&envs)),
                })
            })
            .await
        }
        SyncRequest::GetBuckets { buckets } => {
            lib.with(move |l| {
                let hashes = l.inventory(&buckets)?;
                let mut envs = Vec::new();
                let mut size = 0;
                for env in l.get_changes(&hashes)? {
                    size += env.len();
                    if size > wire::MAX_BUCKET_BATCH {
                        break;
                    }
                    envs.push(env);
                }
                Ok::<_, crate::library::LibraryError>(SyncResponse::Changes {
                    batch: ByteBuf::from(wire::encode_batch(&envs)),
                })
            })
            .await
        }
        SyncRequest::GetRoster { ids } => {
            let ids = arrays(&ids);
            lib.with(move |l| {
                l.get_roster(&ids).map(|e| SyncResponse::Roster {
                    entries: e.into_iter().map(ByteBuf::from).collect(),
                })
            })
            .await
        }
        SyncRequest::Push { batch, roster } => {
            let envs = match wire::decode_batch(&batch) {
                Ok(e) => e,
                Err(e) => {
                    return (
                        SyncResponse::Refused {
                            reason: e.to_string(),
                        },
                        FollowUp::Misbehaved(e.to_string()),
                    )
                }
            };
            let entries: Vec<Vec<u8>> = roster.into_iter().map(|e| e.into_vec()).collect();
            let r = lib
                .with(move |l| l.apply_from_peer(&origin, entries, envs))
                .await;
            return match r {
                Ok(Ok((report, _))) if report.refused > 0 => {
                    let why = format!(
                        "{} invalid changes: {}",
                        report.refused,
                        report.refusals.join("; ")
                    );
                    (
                        SyncResponse::Refused {
                            reason: why.clone(),
                        },
                        FollowUp::Misbehaved(why),
                    )
                }
                Ok(Ok((report, missing))) => (
                    SyncResponse::Ack {
                        applied: report.applied,
                        missing_deps: missing,
                    },
                    if missing {
                        FollowUp::Round
                    } else {
                        FollowUp::None
                    },
                ),
                Ok(Err(e)) => refused(e.to_string()),
                Err(e) => refused(e.to_string()),
            };
        }
        SyncRequest::Admit { entries } => {
            let entries: Vec<Vec<u8>> = entries.into_iter().map(|e| e.into_vec()).collect();
            let r = lib
                .with(move |l| {
                    let admitted = l.admit_from_peer(&peer_key, entries)?;
                    let ids = l.roster_ids()?;
                    Ok::<_, crate::library::LibraryError>((admitted, l.get_roster(&ids)?))
                })
                .await;
            return match r {
                Ok(Ok((true, all))) => (
                    SyncResponse::Roster {
                        entries: all.into_iter().map(ByteBuf::from).collect(),
                    },
                    FollowUp::Round,
                ),
                Ok(Ok((false, _))) => {
                    refused("the admission is not valid (expired, used, or revoked invite)".into())
                }
                Ok(Err(e)) => (
                    SyncResponse::Refused {
                        reason: e.to_string(),
                    },
                    FollowUp::Misbehaved(e.to_string()),
                ),
                Err(e) => refused(e.to_string()),
            };
        }
    };
    match result {
        Ok(Ok(r)) => (r, FollowUp::None),
        Ok(Err(e)) => refused(e.to_string()),
        Err(e) => refused(e.to_string()),
    }
}

/// Send requests answered by change batches and apply each answer, the
/// next request already in flight while one batch is applied. Returns how
/// many changes were applied; a batch with an invalid change is an error
/// marked `misbehaved`.
async fn fetch_and_apply(
    net: &NetHandle,
    lib: &LibraryHandle,
    peer: PeerId,
    origin: &str,
    requests: Vec<SyncRequest>,
) -> Result<u64, String> {
    let fetch = |request: SyncRequest| {
        let net = net.clone();
        tokio::spawn(async move { net.request(peer, request).await })
    };
    let mut applied = 0;
    let mut requests = requests.into_iter();
    let mut next = requests.next().map(fetch);
    while let Some(in_flight) = next.take() {
        let response = in_flight.await.map_err(|e| e.to_string())??;
        next = requests.next().map(fetch);
        let SyncResponse::Changes { batch } = response else {
            return Err(format!("unexpected answer to a change fetch: {response:?}"));
        };
        let envs = wire::decode_batch(&batch).map_err(|e| format!("misbehaved: {e}"))?;
        let o = origin.to_owned();
        let (report, _) = lib
            .with(move |l| l.apply_from_peer(&o, Vec::new(), envs))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        if report.refused > 0 {
            return Err(format!(
                "misbehaved: {} invalid changes: {}",
                report.refused,
                report.refusals.join("; ")
            ));
        }
        applied += report.applied;
    }
    Ok(applied)
}

/// One pull round with a member: learn what it has that we lack, fetch it.
async fn round(net: &NetHandle, lib: &LibraryHandle, peer: PeerId) -> Result<RoundOutcome, String> {
    let origin = peer.to_base58();
    let mine = lib
        .with(|l| l.summary())
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    let resp = net
        .request(
            peer,
            SyncRequest::Summary {
                roster: bufs(mine.roster.clone()),
                digest: ByteBuf::from(mine.digest.to_vec()),
            },
        )
        .await?;
    let SyncResponse::Summary { roster, digest } = resp else {
        return Err(format!("unexpected answer to a summary: {resp:?}"));
    };
    let ours: BTreeSet<[u8; 32]> = mine.roster.iter().copied().collect();
    let lacking: Vec<ByteBuf> = arrays(&roster)
        .into_iter()
        .filter(|id| !ours.contains(id))
        .map(|h| ByteBuf::from(h.to_vec()))
        .collect();
    if !lacking.is_empty() {
        if let SyncResponse::Roster { entries } = net
            .request(peer, SyncRequest::GetRoster { ids: lacking })
            .await?
        {
            let entries: Vec<Vec<u8>> = entries.into_iter().map(|e| e.into_vec()).collect();
            let o = origin.clone();
            lib.with(move |l| l.apply_from_peer(&o, entries, Vec::new()))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())?;
        }
    }
    let mut outcome = RoundOutcome {
        fetched: 0,
        we_lack: 0,
        they_lack: 0,
        digest: hex::encode(&digest),
        bytes_sent: 0,
        bytes_received: 0,
    };
    if digest.as_slice() == mine.digest {
        return Ok(outcome);
    }
    let SyncResponse::Buckets { digests } = net.request(peer, SyncRequest::Buckets).await? else {
        return Err("unexpected answer to buckets".into());
    };
    let our_buckets = lib
        .with(|l| l.bucket_digests())
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    let differing: Vec<u8> = (0..wire::BUCKETS)
        .filter(|i| digests[*i].as_slice() != our_buckets[*i])
        .map(|i| i as u8)
        .collect();
    if differing.is_empty() {
        return Ok(outcome);
    }
    // Buckets we have nothing of: fetch them whole, no hash lists.
    let (empty, differing): (Vec<u8>, Vec<u8>) = differing
        .into_iter()
        .partition(|b| our_buckets[*b as usize] == wire::EMPTY_BUCKET);
    let requests = empty
        .chunks(wire::BUCKETS_PER_REQUEST)
        .map(|c| SyncRequest::GetBuckets {
            buckets: ByteBuf::from(c.to_vec()),
        })
        .collect();
    outcome.fetched += fetch_and_apply(net, lib, peer, &origin, requests).await?;
    if differing.is_empty() {
        return Ok(outcome);
    }
    let d2 = differing.clone();
    let SyncResponse::Inventory { hashes } = net
        .request(
            peer,
            SyncRequest::Inventory {
                buckets: ByteBuf::from(differing),
            },
        )
        .await?
    else {
        return Err("unexpected answer to inventory".into());
    };
    let theirs: BTreeSet<[u8; 32]> = arrays(&hashes).into_iter().collect();
    let ours: BTreeSet<[u8; 32]> = lib
        .with(move |l| l.inventory(&d2))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?
        .into_iter()
        .collect();
    let want: Vec<[u8; 32]> = theirs.difference(&ours).copied().collect();
    outcome.we_lack = want.len() as u64;
    outcome.they_lack = ours.difference(&theirs).count() as u64;
    let requests = want
        .chunks(FETCH_CHUNK)
        .map(|c| SyncRequest::GetChanges {
            hashes: bufs(c.to_vec()),
        })
        .collect();
    outcome.fetched += fetch_and_apply(net, lib, peer, &origin, requests).await?;
    // What is still missing after the fetch (should be nothing).
    let still: u64 = {
        let want = want.clone();
        lib.with(move |l| {
            want.iter()
                .filter(|h| !l.has_change(h).unwrap_or(false))
                .count() as u64
        })
        .await
        .unwrap_or(0)
    };
    outcome.we_lack = still;
    Ok(outcome)
}
