//! Serving members' file requests and asking members for files, paced by
//! the loop (the serving state is [`crate::net::files`]).

use super::Loop;
use crate::identity::key_of;
use crate::net::behaviour::FilesEvent;
use crate::net::files::{answer, FileReply, Refusal, Served};
use crate::net::FileSource;
use libp2p::request_response::{self};
use libp2p::PeerId;
use r2com_protocol::files::FileRequest;
use tracing::{debug, warn};

impl Loop {
    pub(in crate::net) fn on_files(&mut self, ev: FilesEvent) {
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

    pub(in crate::net) fn on_served(&mut self, served: Served) {
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
    pub(in crate::net) fn file_ask(
        &mut self,
        peer: PeerId,
        request: FileRequest,
        reply: FileReply,
    ) {
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
    pub(in crate::net) async fn file_sources(&mut self) -> Vec<FileSource> {
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
    pub(in crate::net) fn relayed_only(&self, peer: &PeerId) -> bool {
        self.conns
            .get(peer)
            .is_some_and(|c| !c.is_empty() && c.values().all(|c| c.relayed))
    }

    /// Disconnect a member that sent file data that does not verify.
    pub(in crate::net) fn punish(&mut self, peer: PeerId, reason: String) {
        warn!(%peer, %reason, "peer sent invalid file data: disconnecting");
        self.metrics.net.misbehaved(&reason);
        let _ = self.swarm.disconnect_peer_id(peer);
    }
}
