//! The libp2p side: the behaviours a node runs and the swarm built from
//! them, with every limit named.
//!
//! Transports: TCP and QUIC, host names (`/dns`, `/dns4`, `/dns6`, with the
//! system resolver) and circuits through a member relay (`/p2p-circuit`).
//! Behaviours: the gate (non-members refused once noise authenticated
//! them, see [`super::gate`]), connection limits, identify, ping, mDNS (optional), the
//! relay server (for members only, see [`super::relay`]) and client, hole
//! punching (dcutr), AutoNAT v2 (client and server: is this node
//! reachable?), UPnP port mapping (optional), the `/r2com/sync/1` protocol
//! and the `/r2com/addrs/1` protocol (members' signed address records,
//! see [`super::book`]).

use std::time::Duration;

use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::behaviour::toggle::Toggle;
use libp2p::swarm::NetworkBehaviour;
use libp2p::{
    autonat, connection_limits, dcutr, identify, mdns, noise, ping, relay, tcp, upnp, yamux,
    StreamProtocol, Swarm,
};

use r2com_protocol::files::{self, FileRequest, FileResponse};
use r2com_protocol::wire::{self, SyncRequest, SyncResponse};

use super::book::{self, AddrsRequest, AddrsResponse};
use super::codec;
use super::gate::Gate;
use super::members::Members;

/// Connection caps (libp2p gates only after the noise handshake).
const MAX_PENDING_INCOMING: u32 = 32;
/// A full mesh of 50 members takes about 100 (a direct and a relayed
/// connection to some); the rest is room for relayed circuits' relay hops.
const MAX_ESTABLISHED: u32 = 256;
/// A direct connection, a relayed one while hole punching upgrades it, and
/// one more when both sides dial at the same moment.
const MAX_PER_PEER: u32 = 3;
/// Concurrent inbound streams per connection. An honest peer has at most
/// about five requests out to us (two pipelined fetches, a push, a round's
/// request, an admission); each stream buffers at most one message of
/// `wire::MAX_REQUEST_BYTES` (8 MiB), so a connection can hold at most
/// 64 MiB of unread requests.
const MAX_STREAMS: usize = 8;
/// Keepalive pings (each side pings every this often; idle traffic is these).
const PING_INTERVAL: Duration = Duration::from_secs(30);
/// Identify re-sends our info this often (and at once when it changes).
const IDENTIFY_INTERVAL: Duration = Duration::from_secs(300);

/// The identify protocol version of r2com nodes.
pub(super) const IDENTIFY_PROTOCOL: &str = "/r2com/1.0.0";

type SyncBehaviour = request_response::Behaviour<codec::Codec<SyncRequest, SyncResponse>>;
pub(super) type SyncEvent =
    request_response::Event<codec::Wire<SyncRequest>, codec::Wire<SyncResponse>>;
type AddrsBehaviour = request_response::cbor::Behaviour<AddrsRequest, AddrsResponse>;
pub(super) type AddrsEvent = request_response::Event<AddrsRequest, AddrsResponse>;

type FilesBehaviour = request_response::Behaviour<codec::Codec<FileRequest, FileResponse>>;
pub(super) type FilesEvent =
    request_response::Event<codec::Wire<FileRequest>, codec::Wire<FileResponse>>;
/// Concurrent inbound file requests per connection (each answer is at most
/// one 1 MiB piece; a fetcher asks at most `files::fetch::PER_PEER` at once).
const MAX_FILE_STREAMS: usize = 8;

#[derive(NetworkBehaviour)]
pub(super) struct Behaviour {
    /// First: a refused connection reaches no other behaviour.
    pub(super) gate: Gate,
    pub(super) limits: connection_limits::Behaviour,
    pub(super) identify: identify::Behaviour,
    pub(super) ping: ping::Behaviour,
    pub(super) mdns: Toggle<mdns::tokio::Behaviour>,
    pub(super) relay_client: relay::client::Behaviour,
    pub(super) relay: relay::Behaviour,
    pub(super) dcutr: dcutr::Behaviour,
    pub(super) autonat: Toggle<autonat::v2::client::Behaviour>,
    pub(super) autonat_server: autonat::v2::server::Behaviour,
    pub(super) upnp: Toggle<upnp::tokio::Behaviour>,
    pub(super) sync: SyncBehaviour,
    pub(super) files: FilesBehaviour,
    pub(super) addrs: AddrsBehaviour,
}

/// What to switch on.
pub(super) struct Options {
    /// Discover members on the local network.
    pub(super) mdns: bool,
    /// Map the listen ports on the router (UPnP IGD).
    pub(super) upnp: bool,
    /// Find out by AutoNAT which of our addresses others can dial (not
    /// when the operator said which addresses to announce).
    pub(super) autonat: bool,
    /// Who may use this node as a relay (the live members).
    pub(super) members: Members,
    /// Who may connect at all.
    pub(super) gate: Gate,
}

/// The swarm of a node with this key, the bytes each transport moves
/// counted in `registry`.
pub(super) fn build(
    keypair: libp2p_identity::Keypair,
    opts: Options,
    registry: &mut prometheus_client::registry::Registry,
) -> Result<Swarm<Behaviour>, String> {
    let swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|e| e.to_string())?
        .with_quic()
        .with_dns()
        .map_err(|e| format!("reading the system's DNS configuration: {e}"))?
        .with_relay_client(noise::Config::new, yamux::Config::default)
        .map_err(|e| e.to_string())?
        .with_bandwidth_metrics(registry)
        .with_behaviour(|key, relay_client| {
            let me = key.public().to_peer_id();
            let mdns = if opts.mdns {
                Some(mdns::tokio::Behaviour::new(mdns::Config::default(), me)?)
            } else {
                None
            };
            let upnp = opts.upnp.then(upnp::tokio::Behaviour::default);
            let sync_codec = codec::Codec::<SyncRequest, SyncResponse>::default();
            let addrs_codec = request_response::cbor::codec::Codec::default()
                .set_request_size_maximum(book::MAX_MESSAGE_BYTES)
                .set_response_size_maximum(book::MAX_MESSAGE_BYTES);
            let mut relay = relay::Behaviour::new(me, super::relay::server_config(opts.members));
            // Off until the node decides (see `relay::RelayMode`).
            relay.set_status(Some(relay::Status::Disable));
            Ok(Behaviour {
                gate: opts.gate,
                limits: connection_limits::Behaviour::new(
                    connection_limits::ConnectionLimits::default()
                        .with_max_pending_incoming(Some(MAX_PENDING_INCOMING))
                        .with_max_established(Some(MAX_ESTABLISHED))
                        .with_max_established_per_peer(Some(MAX_PER_PEER)),
                ),
                // No address cache: addresses a peer tells about itself are
                // shown in `peers`, never dialed (members' addresses come
                // from their signed records).
                identify: identify::Behaviour::new(
                    identify::Config::new(IDENTIFY_PROTOCOL.into(), key.public())
                        .with_cache_size(0)
                        .with_interval(IDENTIFY_INTERVAL)
                        .with_push_listen_addr_updates(true),
                ),
                ping: ping::Behaviour::new(ping::Config::new().with_interval(PING_INTERVAL)),
                mdns: Toggle::from(mdns),
                relay_client,
                relay,
                dcutr: dcutr::Behaviour::new(me),
                // Probes an untested address of ours every 5 s.
                autonat: Toggle::from(opts.autonat.then(autonat::v2::client::Behaviour::default)),
                autonat_server: autonat::v2::server::Behaviour::default(),
                upnp: Toggle::from(upnp),
                sync: request_response::Behaviour::with_codec(
                    sync_codec,
                    [(StreamProtocol::new(wire::PROTOCOL), ProtocolSupport::Full)],
                    request_response::Config::default()
                        .with_request_timeout(Duration::from_secs(120))
                        .with_max_concurrent_streams(MAX_STREAMS),
                ),
                files: request_response::Behaviour::with_codec(
                    codec::Codec::with_limits(files::MAX_REQUEST_BYTES, files::MAX_RESPONSE_BYTES),
                    [(StreamProtocol::new(files::PROTOCOL), ProtocolSupport::Full)],
                    request_response::Config::default()
                        .with_request_timeout(Duration::from_secs(60))
                        .with_max_concurrent_streams(MAX_FILE_STREAMS),
                ),
                addrs: request_response::Behaviour::with_codec(
                    addrs_codec,
                    [(StreamProtocol::new(book::PROTOCOL), ProtocolSupport::Full)],
                    request_response::Config::default()
                        .with_request_timeout(Duration::from_secs(30))
                        .with_max_concurrent_streams(book::MAX_STREAMS),
                ),
            })
        })
        .map_err(|e| e.to_string())?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(3600)))
        .build();
    Ok(swarm)
}
