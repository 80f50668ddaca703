//! Sharing signed address records with members over `/r2com/addrs/1`
//! (see [`crate::net::book`]): our whole book to a member when it connects (or
//! becomes a member), our own record to every connected member when our
//! addresses change, and each record new to us to the members that did
//! not send it.

use std::time::SystemTime;

use libp2p::request_response::{self, Message};
use libp2p::{Multiaddr, PeerId};
use serde_bytes::ByteBuf;
use tracing::{debug, info, warn};

use super::Loop;
use crate::net::behaviour::AddrsEvent;
use crate::net::book::{
    self, AddrsRequest, AddrsResponse, Refusal, MAX_ADDRS, MAX_RECORDS_PER_MESSAGE,
};
use crate::net::reach::{is_loopback, is_unspecified};
use crate::net::relay::is_relayed;
use crate::store::keys;

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Loop {
    /// Send `records` to `peer`, in messages of at most
    /// [`MAX_RECORDS_PER_MESSAGE`].
    fn send_records(&mut self, peer: PeerId, records: Vec<ByteBuf>) {
        for chunk in records.chunks(MAX_RECORDS_PER_MESSAGE) {
            let req = AddrsRequest {
                records: chunk.to_vec(),
            };
            self.swarm.behaviour_mut().addrs.send_request(&peer, req);
        }
    }

    /// Our whole book to a member.
    pub(in crate::net) fn send_book(&mut self, peer: PeerId) {
        let records = self.book.encoded_for(&peer);
        if !records.is_empty() {
            self.send_records(peer, records);
        }
    }

    /// `records` (by subject) to every connected member but `from` (who
    /// sent them), each without its own.
    fn broadcast(&mut self, records: &[(PeerId, Vec<u8>)], from: Option<PeerId>) {
        let targets: Vec<PeerId> = self
            .members
            .all()
            .into_iter()
            .filter(|p| Some(*p) != from && self.swarm.is_connected(p))
            .collect();
        for peer in targets {
            let theirs: Vec<ByteBuf> = records
                .iter()
                .filter(|(about, _)| *about != peer)
                .map(|(_, b)| ByteBuf::from(b.clone()))
                .collect();
            if !theirs.is_empty() {
                self.send_records(peer, theirs);
            }
        }
    }

    /// The addresses we tell members: `[net] announce` if set, else where
    /// we listen (loopback only if there is nothing else) and the external
    /// addresses confirmed; circuit addresses through relays in any case.
    pub(in crate::net) fn own_addrs(&self) -> Vec<Multiaddr> {
        let circuits = self.listen.iter().filter(|a| is_relayed(a)).cloned();
        let mut addrs: Vec<Multiaddr> = match &self.announce {
            Some(list) => list.clone(),
            None => {
                let direct: Vec<&Multiaddr> = self
                    .listen
                    .iter()
                    .filter(|a| !is_relayed(a) && !is_unspecified(a))
                    .collect();
                let all_loopback = direct.iter().all(|a| is_loopback(a));
                direct
                    .into_iter()
                    .filter(|a| all_loopback || !is_loopback(a))
                    .cloned()
                    .chain(self.reach.confirmed.iter().cloned())
                    .collect()
            }
        };
        addrs.extend(circuits);
        let mut unique = Vec::with_capacity(addrs.len());
        for a in addrs {
            if !unique.contains(&a) && unique.len() < MAX_ADDRS {
                unique.push(a);
            }
        }
        unique
    }

    /// Sign a new record of ours if our addresses changed; keep it and
    /// tell the connected members.
    pub(in crate::net) async fn refresh_own_record(&mut self) {
        let addrs = self.own_addrs();
        let Some(rec) = self.book.sign_own(&self.keypair, addrs, now_secs()) else {
            return;
        };
        info!(addrs = ?rec.addresses().iter().map(|a| a.to_string()).collect::<Vec<_>>(), "addresses given to members");
        let records = vec![(rec.peer_id(), book::encode(&rec))];
        self.broadcast(&records, None);
        self.persist_records(records).await;
    }

    async fn persist_records(&mut self, records: Vec<(PeerId, Vec<u8>)>) {
        let _ = self
            .library
            .with(move |l| {
                let writes = records
                    .into_iter()
                    .map(|(p, b)| {
                        (
                            keys::key(keys::PEER_RECORD, p.to_base58().as_bytes()),
                            Some(b),
                        )
                    })
                    .collect();
                if let Err(e) = l.store().write(writes) {
                    warn!(error = %e, "cannot store address records");
                }
            })
            .await;
    }

    pub(in crate::net) async fn on_addrs(&mut self, ev: AddrsEvent) {
        match ev {
            request_response::Event::Message {
                peer,
                message:
                    Message::Request {
                        request, channel, ..
                    },
                ..
            } => {
                if !self.members.contains(&peer) {
                    // The peer may have been admitted a moment ago.
                    self.refresh_members().await;
                }
                if !self.members.contains(&peer) {
                    // Not from a stranger (or an invitee): no answer.
                    debug!(%peer, "address records from a non-member ignored");
                    return;
                }
                let mut fresh = Vec::new();
                for bytes in request.records.iter().take(MAX_RECORDS_PER_MESSAGE) {
                    match self.book.accept(bytes, &self.members, now_secs()) {
                        Ok(Some(rec)) => {
                            debug!(from = %peer, about = %rec.peer_id(), seq = rec.seq(), "address record");
                            fresh.push((rec.peer_id(), bytes.to_vec()));
                        }
                        Ok(None) => {}
                        Err(Refusal::NotMember(p)) => {
                            debug!(from = %peer, about = %p, "address record of a non-member ignored")
                        }
                        Err(Refusal::Invalid(e)) => {
                            warn!(from = %peer, error = %e, "invalid address record ignored")
                        }
                    }
                }
                let new = fresh.len() as u32;
                let _ = self
                    .swarm
                    .behaviour_mut()
                    .addrs
                    .send_response(channel, AddrsResponse { new });
                if fresh.is_empty() {
                    return;
                }
                self.broadcast(&fresh, Some(peer));
                self.persist_records(fresh).await;
                self.dial_members();
            }
            request_response::Event::Message {
                message: Message::Response { .. },
                ..
            }
            | request_response::Event::ResponseSent { .. } => {}
            request_response::Event::OutboundFailure { peer, error, .. } => {
                debug!(%peer, %error, "address records not delivered")
            }
            request_response::Event::InboundFailure { peer, error, .. } => {
                debug!(%peer, %error, "address records not received")
            }
        }
    }
}
