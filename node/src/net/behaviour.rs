//! The libp2p side: the behaviours a node runs and the swarm built from
//! them, with every limit named.

use std::time::Duration;

use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::behaviour::toggle::Toggle;
use libp2p::swarm::NetworkBehaviour;
use libp2p::{connection_limits, identify, mdns, noise, ping, tcp, yamux, StreamProtocol, Swarm};

use r2com_protocol::files::{self, FileRequest, FileResponse};
use r2com_protocol::wire::{self, SyncRequest, SyncResponse};

use super::codec;

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

type SyncBehaviour = request_response::Behaviour<codec::Codec<SyncRequest, SyncResponse>>;
pub(super) type SyncEvent =
    request_response::Event<codec::Wire<SyncRequest>, codec::Wire<SyncResponse>>;

type FilesBehaviour = request_response::Behaviour<codec::Codec<FileRequest, FileResponse>>;
pub(super) type FilesEvent =
    request_response::Event<codec::Wire<FileRequest>, codec::Wire<FileResponse>>;
/// Concurrent inbound file requests per connection (each answer is at most
/// one 1 MiB piece; a fetcher asks at most `files::fetch::PER_PEER` at once).
const MAX_FILE_STREAMS: usize = 8;

#[derive(NetworkBehaviour)]
pub(super) struct Behaviour {
    pub(super) limits: connection_limits::Behaviour,
    pub(super) identify: identify::Behaviour,
    pub(super) ping: ping::Behaviour,
    pub(super) mdns: Toggle<mdns::tokio::Behaviour>,
    pub(super) sync: SyncBehaviour,
    pub(super) files: FilesBehaviour,
}

/// The swarm of a node with this key: TCP and QUIC, noise, yamux, and the
/// behaviours above (`mdns_on`: discover peers on the local network).
pub(super) fn build(
    keypair: libp2p_identity::Keypair,
    mdns_on: bool,
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
                files: request_response::Behaviour::with_codec(
                    codec::Codec::with_limits(files::MAX_REQUEST_BYTES, files::MAX_RESPONSE_BYTES),
                    [(StreamProtocol::new(files::PROTOCOL), ProtocolSupport::Full)],
                    request_response::Config::default()
                        .with_request_timeout(Duration::from_secs(60))
                        .with_max_concurrent_streams(MAX_FILE_STREAMS),
                ),
            })
        })
        .map_err(|e| e.to_string())?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(3600)))
        .build();
    Ok(swarm)
}
