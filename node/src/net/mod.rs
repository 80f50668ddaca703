//! The network: a libp2p swarm (TCP and QUIC over IP or host names, noise,
//! yamux, identify, ping, optional mDNS, relay and hole punching, the
//! `/r2com/sync/1`, `/r2com/files/1` and `/r2com/addrs/1` request-response
//! protocols) and the one event loop that drives the
//! sans-IO sync machine ([`r2com_protocol::sync::SyncMachine`]) with what
//! the swarm reports.
//!
//! The machine decides (gating by the roster, rounds, pushes, what counts
//! as misbehaviour; see its module docs); this loop does the IO: it turns
//! swarm events into machine inputs, runs the machine on the library thread
//! (its [`Replica`] is the store), and turns the outputs into requests,
//! responses, disconnections and store writes. Reaching peers stays here:
//! it is about sockets.
//!
//! How members reach each other: the addresses the operator gave
//! (`peer add`, invites; IPs or host names) are dialed with backoff; every
//! member signs its own addresses and the members pass these records on,
//! so each member dials every other one (a full mesh) and the consortium
//! keeps syncing while any one node is down; addresses from strangers are
//! never dialed. A member behind NAT reserves a slot on a member relay and
//! is reached through it, upgraded to a direct connection by hole punching
//! where possible; AutoNAT tells whether this node is reachable.
//!
//! The files: `behaviour` (the libp2p behaviours and the swarm), `handle`
//! (commands from the control API), `codec` (the wire codec), `gate` (who
//! may connect at all: members, invitees, our relays), and the state
//! the loop keeps, each with its limits: `dial` (backoff), `members` (the
//! live member set), `book` (members' signed address records), `relay`
//! (relaying for members, reservations), `reach` (reachability), `files`
//! (serving files). `event_loop/` is the loop itself: `mod.rs` (the loop
//! and the sync machine's outputs), `events` (what the swarm reports),
//! `commands` (answering the control API), `dialing`, `member_set`,
//! `share` (passing address records on), `relaying`, `file_requests` and
//! `metrics` (the loop's hooks into the metrics). Files outside
//! `event_loop/` never use the loop.

mod behaviour;
mod book;
mod codec;
mod dial;
mod event_loop;
mod files;
mod gate;
mod handle;
mod members;
mod reach;
mod relay;
pub mod relay_mode;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use libp2p::{Multiaddr, PeerId};
use tokio::sync::mpsc;
use tracing::Instrument;

pub use r2com_protocol::sync::PeerState;
use r2com_protocol::sync::SyncMachine;

use crate::library_thread::LibraryHandle;
use crate::store::keys;
use book::Book;
use dial::Dialer;
use event_loop::Loop;
use gate::{Admission, Gate};
use handle::COMMAND_CAPACITY;
pub use handle::{JoinOutcome, NetHandle, NetStatus};
use members::Members;
pub use relay_mode::RelayMode;

/// Network settings.
#[derive(Clone, Debug)]
pub struct NetConfig {
    pub listen: Vec<Multiaddr>,
    pub mdns: bool,
    pub data_dir: PathBuf,
    /// Check a link idle this long (see [`SyncMachine::check_every`]).
    pub sync_interval: std::time::Duration,
    /// The file store served to members and fetched into.
    pub files: crate::files::FileStore,
    /// Addresses to give members instead of the ones found (`None`: the
    /// listen addresses and the confirmed external ones).
    pub announce: Option<Vec<Multiaddr>>,
    /// When to relay for members.
    pub relay: RelayMode,
    /// Reserve a slot on member relays while not publicly reachable.
    pub use_relays: bool,
    /// Map the listen ports on the router by UPnP.
    pub upnp: bool,
    /// The per-member series and the peers disconnected.
    pub metrics: crate::metrics::NetMetrics,
}

/// A connected member a file may be fetched from.
#[derive(Clone, Debug)]
pub struct FileSource {
    pub peer: PeerId,
    /// Every connection to it goes through a relay (files are not fetched
    /// through a relay).
    pub relayed: bool,
}

/// What the store remembers for the network.
#[derive(Default)]
struct Stored {
    addrs: Vec<Multiaddr>,
    states: Vec<(PeerId, PeerState)>,
    records: Vec<Vec<u8>>,
}

fn load(l: &crate::library::Library) -> Stored {
    let mut out = Stored::default();
    let store = l.store();
    for (k, _) in store.scan_prefix(&[keys::PEER_ADDR, 0]).flatten() {
        if let Ok(a) = String::from_utf8_lossy(keys::rest(&k)).parse() {
            out.addrs.push(a);
        }
    }
    for (k, v) in store.scan_prefix(&[keys::PEER_STATE, 0]).flatten() {
        let peer = String::from_utf8_lossy(keys::rest(&k)).parse::<PeerId>();
        if let (Ok(p), Ok(st)) = (peer, serde_json::from_slice(&v)) {
            out.states.push((p, st));
        }
    }
    for (_, v) in store.scan_prefix(&[keys::PEER_RECORD, 0]).flatten() {
        out.records.push(v);
    }
    out
}

/// Start the swarm and its loop, with libp2p's metrics in `registry`.
/// Returns a handle for the control API.
pub async fn start(
    cfg: NetConfig,
    library: LibraryHandle,
    registry: &mut prometheus_client::registry::Registry,
) -> Result<NetHandle, String> {
    let seed = library
        .with(|l| l.key().seed())
        .await
        .map_err(|e| e.to_string())?;
    let keypair = libp2p_identity::Keypair::ed25519_from_bytes(seed).map_err(|e| e.to_string())?;
    let me = keypair.public().to_peer_id();
    let members = Members::default();
    // Relays we listen through may carry our circuits, members or not.
    let admission = Admission::default();
    admission.update(|p| p.relays = cfg.listen.iter().filter_map(relay::relay_of).collect());
    let gate = Gate::new(members.clone(), admission.clone(), cfg.metrics.clone());
    let mut swarm = behaviour::build(
        keypair.clone(),
        behaviour::Options {
            mdns: cfg.mdns,
            upnp: cfg.upnp,
            autonat: cfg.announce.is_none(),
            members: members.clone(),
            gate,
        },
        registry,
    )?;
    let p2p = libp2p::metrics::Metrics::new(registry);
    let stored = library.with(load).await.map_err(|e| e.to_string())?;
    let mut relays = relay::Relays::default();
    for addr in &cfg.listen {
        let id = swarm
            .listen_on(addr.clone())
            .map_err(|e| format!("listen on {addr}: {e}"))?;
        if relay::is_relayed(addr) {
            relays.configured(addr.clone(), Some(id));
        }
    }
    let mut dials = Dialer::default();
    for a in stored.addrs {
        dials.add(a);
    }
    let (tx, rx) = mpsc::channel(COMMAND_CAPACITY);
    let handle = NetHandle {
        tx,
        fetching: Default::default(),
    };
    let lp = Loop {
        swarm,
        keypair,
        library,
        rx,
        machine: Arc::new(Mutex::new(
            SyncMachine::new(stored.states).check_every(cfg.sync_interval),
        )),
        inbound: HashMap::new(),
        next_inbound: 0,
        outbound: HashMap::new(),
        waiters: HashMap::new(),
        joins: Vec::new(),
        conns: HashMap::new(),
        seen: HashMap::new(),
        discovered: HashMap::new(),
        dials,
        listen: Vec::new(),
        files: files::FilesState::new(cfg.files.clone()),
        roster: None,
        members,
        admission,
        inviters: Default::default(),
        book: Book::new(me, stored.records),
        announce: cfg.announce,
        reach: reach::Reach::default(),
        relays,
        relay_mode: cfg.relay,
        serving_relay: false,
        use_relays: cfg.use_relays,
        metrics: event_loop::metrics::LoopMetrics::new(cfg.metrics.clone(), p2p),
    };
    tokio::spawn(lp.run().instrument(tracing::info_span!("net")));
    Ok(handle)
}
