//! `/r2com/files/1` in the event loop: inbound requests are checked (members
//! only, as for sync) and answered from the file store off the loop's
//! thread; outbound requests are sent for a fetch (`files::fetch`) and
//! their answers handed back to it.

use std::sync::Arc;

use libp2p::request_response::{self, ResponseChannel};
use libp2p::PeerId;
use tokio::sync::{mpsc, oneshot, Semaphore};
use tracing::{debug, warn};

use r2com_protocol::files::{FileRequest, FileResponse};

use super::behaviour::FilesEvent;
use super::codec::Wire;
use super::event_loop::Loop;
use super::FileSource;
use crate::files::{serve, FileStore};
use crate::identity::key_of;
use crate::library_thread::LibraryHandle;

/// Inbound file requests answered at once (disk reads of 1 MiB); more wait.
pub(super) const MAX_SERVING: usize = 4;
/// Answers waiting for the loop to send them.
pub(super) const SERVED_CAPACITY: usize = 32;

/// An inbound request, checked and answered off the loop.
pub(super) struct Served {
    pub(super) peer: PeerId,
    pub(super) channel: ResponseChannel<Wire<FileResponse>>,
    pub(super) answer: Result<FileResponse, Refusal>,
}

pub(super) enum Refusal {
    /// Not a live member: nothing is answered, the connection is closed.
    NotMember,
    /// A request no honest member sends.
    Misbehaved(String),
}

pub(super) type FileReply = oneshot::Sender<Result<FileResponse, String>>;

/// What the file side of the loop owns.
pub(super) struct FilesState {
    pub(super) store: FileStore,
    pub(super) served_tx: mpsc::Sender<Served>,
    pub(super) served_rx: mpsc::Receiver<Served>,
    pub(super) permits: Arc<Semaphore>,
    pub(super) asks: std::collections::HashMap<request_response::OutboundRequestId, FileReply>,
}

impl FilesState {
    pub(super) fn new(store: FileStore) -> FilesState {
        let (served_tx, served_rx) = mpsc::channel(SERVED_CAPACITY);
        FilesState {
            store,
            served_tx,
            served_rx,
            permits: Arc::new(Semaphore::new(MAX_SERVING)),
            asks: Default::default(),
        }
    }
}

/// Check who asks and answer from the store.
async fn answer(
    library: LibraryHandle,
    store: FileStore,
    permits: Arc<Semaphore>,
    peer: PeerId,
    request: Wire<FileRequest>,
) -> Result<FileResponse, Refusal> {
    let member = match key_of(&peer) {
        Some(key) => library
            .with(move |l| l.roster().is_some_and(|r| r.is_live_member(&key)))
            .await
            .unwrap_or(false),
        None => false,
    };
    if !member {
        return Err(Refusal::NotMember);
    }
    let request = request.map_err(Refusal::Misbehaved)?;
    let _permit = permits.acquire_owned().await;
    tokio::task::spawn_blocking(move || serve::answer(&store, request))
        .await
        .map_err(|e| Refusal::Misbehaved(format!("serving failed: {e}")))?
        .map_err(Refusal::Misbehaved)
}

impl Loop {
    pub(super) fn on_files(&mut self, ev: FilesEvent) {
        match ev {
            request_response::Event::Message { peer, message, .. } => match message {
                request_response::Message::Request {
                    request, channel, ..
                } => {
                    let (library, store, permits, tx) = (
                        self.library.clone(),
                        self.files.store.clone(),
                        self.files.permits.clone(),
                        self.files.served_tx.clone(),
                    );
                    tokio::spawn(async move {
                        let answer = answer(library, store, permits, peer, request).await;
                        let _ = tx
                            .send(Served {
                                peer,
                                channel,
                                answer,
                            })
                            .await;
                    });
                }
                request_response::Message::Response {
                    request_id,
                    response,
                } => {
                    if let Some(reply) = self.files.asks.remove(&request_id) {
                        let _ = reply.send(response);
                    }
                }
            },
            request_response::Event::OutboundFailure {
                request_id, error, ..
            } => {
                if let Some(reply) = self.files.asks.remove(&request_id) {
                    let _ = reply.send(Err(error.to_string()));
                }
            }
            request_response::Event::InboundFailure { peer, error, .. } => {
                debug!(%peer, %error, "inbound file request failed");
            }
            request_response::Event::ResponseSent { .. } => {}
        }
    }

    pub(super) fn on_served(&mut self, served: Served) {
        let Served {
            peer,
            channel,
            answer,
        } = served;
        match answer {
            Ok(response) => {
                let _ = self
                    .swarm
                    .behaviour_mut()
                    .files
                    .send_response(channel, Ok(response));
            }
            Err(Refusal::NotMember) => {
                warn!(%peer, "file request from a non-member: disconnecting");
                self.metrics.net.non_member_refused();
                drop(channel);
                let _ = self.swarm.disconnect_peer_id(peer);
            }
            Err(Refusal::Misbehaved(reason)) => {
                warn!(%peer, %reason, "peer sent an invalid file request: disconnecting");
                self.metrics.net.misbehaved(&reason);
                drop(channel);
                let _ = self.swarm.disconnect_peer_id(peer);
            }
        }
    }

    /// Send a file request over an existing connection.
    pub(super) fn file_ask(&mut self, peer: PeerId, request: FileRequest, reply: FileReply) {
        if !self.swarm.is_connected(&peer) {
            let _ = reply.send(Err("not connected".into()));
            return;
        }
        let id = self
            .swarm
            .behaviour_mut()
            .files
            .send_request(&peer, Ok(request));
        self.files.asks.insert(id, reply);
    }

    /// The connected members a file may come from.
    pub(super) async fn file_sources(&mut self) -> Vec<FileSource> {
        let connected: Vec<PeerId> = self.swarm.connected_peers().copied().collect();
        let keys: Vec<(PeerId, Option<String>)> =
            connected.into_iter().map(|p| (p, key_of(&p))).collect();
        let members = self
            .library
            .with(move |l| {
                let roster = l.roster();
                keys.into_iter()
                    .filter(
                        |(_, k)| matches!((&roster, k), (Some(r), Some(k)) if r.is_live_member(k)),
                    )
                    .map(|(p, _)| p)
                    .collect::<Vec<_>>()
            })
            .await
            .unwrap_or_default();
        members
            .into_iter()
            .map(|peer| FileSource {
                peer,
                relayed: self.relayed_only(&peer),
            })
            .collect()
    }

    /// Whether every connection to `peer` goes through a relay.
    pub(super) fn relayed_only(&self, peer: &PeerId) -> bool {
        self.conns
            .get(peer)
            .is_some_and(|c| !c.is_empty() && c.values().all(|c| c.relayed))
    }

    /// Disconnect a member that sent file data that does not verify.
    pub(super) fn punish(&mut self, peer: PeerId, reason: String) {
        warn!(%peer, %reason, "peer sent invalid file data: disconnecting");
        self.metrics.net.misbehaved(&reason);
        let _ = self.swarm.disconnect_peer_id(peer);
    }
}
