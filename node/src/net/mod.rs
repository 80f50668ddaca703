//! The network: a libp2p swarm (TCP and QUIC, noise, yamux, identify, ping,
//! optional mDNS, the `/r2com/sync/1` and `/r2com/files/1` request-response
//! protocols) and
//! the one event loop that drives the sans-IO sync machine
//! ([`r2com_protocol::sync::SyncMachine`]) with what the swarm reports.
//!
//! The machine decides (gating by the roster, rounds, pushes, what counts
//! as misbehaviour; see its module docs); this loop does the IO: it turns
//! swarm events into machine inputs, runs the machine on the library thread
//! (its [`Replica`] is the store), and turns the outputs into requests,
//! responses, disconnections and store writes. Dialing (configured
//! addresses with backoff, mDNS) stays here: it is about sockets.
//!
//! The files: `behaviour` (the libp2p behaviours and the swarm), `handle`
//! (commands from the control API), `event_loop` (the loop and the sync
//! machine's outputs), `commands` (answering those commands), `dial`
//! (redialing known addresses), `codec` (the wire codec).

mod behaviour;
mod codec;
mod commands;
mod dial;
mod event_loop;
mod files;
mod handle;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use libp2p::{Multiaddr, PeerId};
use tokio::sync::mpsc;
use tracing::Instrument;

pub use r2com_protocol::sync::PeerState;
use r2com_protocol::sync::SyncMachine;

use crate::library_thread::LibraryHandle;
use crate::store::keys;
use dial::{Dial, REDIAL_MIN};
use event_loop::Loop;
pub use handle::NetHandle;
use handle::COMMAND_CAPACITY;

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
}

/// A connected member a file may be fetched from.
#[derive(Clone, Debug)]
pub struct FileSource {
    pub peer: PeerId,
    /// Every connection to it goes through a relay (whose circuit a file
    /// cannot pass).
    pub relayed: bool,
}

/// Start the swarm and its loop. Returns a handle for the control API.
pub async fn start(cfg: NetConfig, library: LibraryHandle) -> Result<NetHandle, String> {
    let seed = library
        .with(|l| l.key().seed())
        .await
        .map_err(|e| e.to_string())?;
    let keypair = libp2p_identity::Keypair::ed25519_from_bytes(seed).map_err(|e| e.to_string())?;
    let mut swarm = behaviour::build(keypair, cfg.mdns)?;
    for addr in &cfg.listen {
        swarm
            .listen_on(addr.clone())
            .map_err(|e| format!("listen on {addr}: {e}"))?;
    }
    let (tx, rx) = mpsc::channel(COMMAND_CAPACITY);
    let handle = NetHandle {
        tx,
        fetching: Default::default(),
    };
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
        machine: Arc::new(Mutex::new(
            SyncMachine::new(states).check_every(cfg.sync_interval),
        )),
        inbound: HashMap::new(),
        next_inbound: 0,
        outbound: HashMap::new(),
        waiters: HashMap::new(),
        addrs: HashMap::new(),
        dials,
        listen: Vec::new(),
        conns: HashMap::new(),
        files: files::FilesState::new(cfg.files.clone()),
    };
    tokio::spawn(lp.run().instrument(tracing::info_span!("net")));
    Ok(handle)
}
