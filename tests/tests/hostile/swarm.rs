//! The hostile side: a libp2p swarm in the test process speaking
//! `/r2com/sync/1` with the node's own cbor codec (well-formed requests) or
//! a raw codec (arbitrary bytes), and `/r2com/files/1` (cbor).

use std::io;
use std::time::Duration;

use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, Future, StreamExt};
use libp2p::request_response::{self, cbor, OutboundRequestId, ProtocolSupport};
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{noise, tcp, yamux, Multiaddr, PeerId, StreamProtocol, Swarm};
use r2com_protocol::files::{self, FileRequest, FileResponse};
use r2com_protocol::wire::{self, SyncRequest, SyncResponse};

/// Writes the request bytes as they are; reads whatever comes back.
#[derive(Clone, Default)]
pub struct RawCodec;

#[allow(clippy::manual_async_fn)] // the trait spells out `+ Send`
impl request_response::Codec for RawCodec {
    type Protocol = StreamProtocol;
    type Request = Vec<u8>;
    type Response = Vec<u8>;

    fn read_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> impl Future<Output = io::Result<Vec<u8>>> + Send
    where
        T: AsyncRead + Unpin + Send,
    {
        async move {
            let mut v = Vec::new();
            io.take(1 << 20).read_to_end(&mut v).await?;
            Ok(v)
        }
    }

    fn read_response<T>(
        &mut self,
        p: &StreamProtocol,
        io: &mut T,
    ) -> impl Future<Output = io::Result<Vec<u8>>> + Send
    where
        T: AsyncRead + Unpin + Send,
    {
        self.read_request(p, io)
    }

    fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: Vec<u8>,
    ) -> impl Future<Output = io::Result<()>> + Send
    where
        T: AsyncWrite + Unpin + Send,
    {
        async move {
            io.write_all(&req).await?;
            io.close().await
        }
    }

    fn write_response<T>(
        &mut self,
        p: &StreamProtocol,
        io: &mut T,
        res: Vec<u8>,
    ) -> impl Future<Output = io::Result<()>> + Send
    where
        T: AsyncWrite + Unpin + Send,
    {
        self.write_request(p, io, res)
    }
}

#[derive(NetworkBehaviour)]
pub struct Hb {
    pub sync: cbor::Behaviour<SyncRequest, SyncResponse>,
    pub raw: request_response::Behaviour<RawCodec>,
    pub files: cbor::Behaviour<FileRequest, FileResponse>,
}

/// How a hostile request ended (fields are read through `Debug`).
#[derive(Debug)]
#[allow(dead_code)]
pub enum Outcome {
    Response(SyncResponse),
    RawResponse(Vec<u8>),
    FileResponse(FileResponse),
    /// The request failed (stream reset, connection closed, timeout).
    Failed(String),
}

pub struct Hostile {
    pub swarm: Swarm<Hb>,
}

impl Hostile {
    pub fn new(seed: [u8; 32]) -> Hostile {
        let kp = libp2p_identity::Keypair::ed25519_from_bytes(seed).expect("key");
        let proto = || [(StreamProtocol::new(wire::PROTOCOL), ProtocolSupport::Full)];
        let cfg =
            || request_response::Config::default().with_request_timeout(Duration::from_secs(30));
        let swarm = libp2p::SwarmBuilder::with_existing_identity(kp)
            .with_tokio()
            .with_tcp(
                tcp::Config::default().nodelay(true),
                noise::Config::new,
                yamux::Config::default,
            )
            .expect("tcp")
            .with_behaviour(|_| Hb {
                sync: cbor::Behaviour::new(proto(), cfg()),
                raw: request_response::Behaviour::with_codec(RawCodec, proto(), cfg()),
                files: cbor::Behaviour::new(
                    [(StreamProtocol::new(files::PROTOCOL), ProtocolSupport::Full)],
                    cfg(),
                ),
            })
            .expect("behaviour")
            .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
            .build();
        Hostile { swarm }
    }

    /// Dial and wait for the connection; the node's PeerId.
    pub async fn connect(&mut self, addr: &str) -> PeerId {
        let addr: Multiaddr = addr.parse().expect("multiaddr");
        self.swarm.dial(addr).expect("dial");
        let fut = async {
            loop {
                if let SwarmEvent::ConnectionEstablished { peer_id, .. } =
                    self.swarm.select_next_some().await
                {
                    return peer_id;
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(20), fut)
            .await
            .expect("connected")
    }

    /// Drive the swarm until request `id` ends.
    pub async fn outcome(&mut self, id: OutboundRequestId) -> Outcome {
        use request_response::{Event, Message};
        let fut = async {
            loop {
                match self.swarm.select_next_some().await {
                    SwarmEvent::Behaviour(HbEvent::Sync(Event::Message {
                        message:
                            Message::Response {
                                request_id,
                                response,
                            },
                        ..
                    })) if request_id == id => return Outcome::Response(response),
                    SwarmEvent::Behaviour(HbEvent::Raw(Event::Message {
                        message:
                            Message::Response {
                                request_id,
                                response,
                            },
                        ..
                    })) if request_id == id => return Outcome::RawResponse(response),
                    SwarmEvent::Behaviour(HbEvent::Files(Event::Message {
                        message:
                            Message::Response {
                                request_id,
                                response,
                            },
                        ..
                    })) if request_id == id => return Outcome::FileResponse(response),
                    SwarmEvent::Behaviour(HbEvent::Files(Event::OutboundFailure {
                        request_id,
                        error,
                        ..
                    })) if request_id == id => return Outcome::Failed(error.to_string()),
                    SwarmEvent::Behaviour(HbEvent::Sync(Event::OutboundFailure {
                        request_id,
                        error,
                        ..
                    })) if request_id == id => return Outcome::Failed(error.to_string()),
                    SwarmEvent::Behaviour(HbEvent::Raw(Event::OutboundFailure {
                        request_id,
                        error,
                        ..
                    })) if request_id == id => return Outcome::Failed(error.to_string()),
                    _ => {}
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(40), fut)
            .await
            .unwrap_or_else(|_| Outcome::Failed("timeout".into()))
    }

    pub async fn ask(&mut self, peer: PeerId, req: SyncRequest) -> Outcome {
        let id = self.swarm.behaviour_mut().sync.send_request(&peer, req);
        self.outcome(id).await
    }

    pub async fn ask_files(&mut self, peer: PeerId, req: FileRequest) -> Outcome {
        let id = self.swarm.behaviour_mut().files.send_request(&peer, req);
        self.outcome(id).await
    }

    pub async fn raw(&mut self, peer: PeerId, bytes: Vec<u8>) -> Outcome {
        let id = self.swarm.behaviour_mut().raw.send_request(&peer, bytes);
        self.outcome(id).await
    }

    /// Drive the swarm until `peer` is no longer connected; whether it
    /// happened within `t`.
    pub async fn closed(&mut self, peer: PeerId, t: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + t;
        while self.swarm.is_connected(&peer) {
            if tokio::time::timeout_at(deadline, self.swarm.select_next_some())
                .await
                .is_err()
            {
                return false;
            }
        }
        true
    }
}
