//! Gating: who may connect and make which requests (members everything,
//! invitees only their admission, strangers nothing), floods, and handing
//! in this node's own admission.

use std::fmt;
use std::time::SystemTime;

use serde_bytes::ByteBuf;

use crate::wire::{SyncRequest, SyncResponse};

use super::{
    Blame, Event, InboundId, Output, Replica, Standing, Step, SyncMachine, FLOOD_WINDOW,
    MAX_REQUESTS_PER_WINDOW,
};

impl<P: Ord + Clone + fmt::Debug> SyncMachine<P> {
    pub(super) fn on_connected<R: Replica<P>>(
        &mut self,
        peer: P,
        dialer: bool,
        replica: &mut R,
        step: &mut Step<P>,
    ) {
        let standing = replica.standing(&peer);
        // Waiting for our own admission: hand it in to the member we
        // reached (nobody serves us before that).
        if replica.awaiting_admission() && (dialer || standing == Standing::Member) {
            self.peers.entry(peer.clone()).or_default().connected = true;
            self.hand_in_admission(peer, replica, step);
            return;
        }
        match standing {
            Standing::Member => {
                self.peers.entry(peer.clone()).or_default().connected = true;
                self.want_round(peer, replica, step);
            }
            Standing::Invitee => {
                self.peers.entry(peer).or_default().connected = true;
            }
            Standing::Stranger => {
                self.drop_peer(&peer, "not a member", step);
                step.out.push(Output::Disconnect {
                    peer,
                    reason: "not a member of the consortium".into(),
                    misbehaved: false,
                });
            }
        }
    }

    /// Send our invite and admission to `peer` (we dialed it, as the invite
    /// said).
    pub(super) fn hand_in_admission<R: Replica<P>>(
        &mut self,
        peer: P,
        replica: &mut R,
        step: &mut Step<P>,
    ) {
        match replica.own_admission() {
            Ok(entries) => {
                let entries = entries.into_iter().map(ByteBuf::from).collect();
                let id = self.send(&peer, SyncRequest::Admit { entries }, step);
                let p = self.peers.entry(peer).or_default();
                p.admission = Some(id);
                p.readmit = false;
            }
            Err(e) => step.event(Event::LocalError {
                peer,
                error: e.to_string(),
            }),
        }
    }

    pub(super) fn on_disconnected(&mut self, peer: P, step: &mut Step<P>) {
        self.drop_peer(&peer, "disconnected", step);
    }

    /// Count a request from `peer`; whether it is over its budget.
    pub(super) fn flooding(&mut self, now: SystemTime, peer: &P) -> bool {
        let p = self.peers.entry(peer.clone()).or_default();
        match &mut p.window {
            Some((start, n)) if now.duration_since(*start).is_ok_and(|d| d < FLOOD_WINDOW) => {
                *n += 1;
                *n > MAX_REQUESTS_PER_WINDOW
            }
            slot => {
                *slot = Some((now, 1));
                false
            }
        }
    }

    pub(super) fn on_request<R: Replica<P>>(
        &mut self,
        now: SystemTime,
        peer: P,
        id: InboundId,
        request: Result<SyncRequest, String>,
        replica: &mut R,
        step: &mut Step<P>,
    ) {
        let request = match request {
            Ok(r) => r,
            Err(e) => return self.misbehaved(peer, format!("undecodable request: {e}"), step),
        };
        if let Err(e) = request.check() {
            return self.misbehaved(peer, e.to_string(), step);
        }
        // Standing first: a stranger's request creates no per-peer state
        // (its flood window), so fresh keys cannot grow the machine.
        let standing = replica.standing(&peer);
        let allowed = matches!(
            (&request, standing),
            (_, Standing::Member) | (SyncRequest::Admit { .. }, Standing::Invitee)
        );
        if !allowed {
            let refused = SyncResponse::Refused {
                reason: "not a member".into(),
            };
            self.respond(&peer, id, refused, step);
            // A node waiting for its own admission cannot tell members yet:
            // it keeps the connection, its roster is on its way.
            if !replica.awaiting_admission() {
                self.drop_peer(&peer, "not a member", step);
                step.out.push(Output::Disconnect {
                    peer,
                    reason: format!("request from a non-member ({standing:?})"),
                    misbehaved: false,
                });
            }
            return;
        }
        if self.flooding(now, &peer) {
            return self.misbehaved(peer, "request flood".into(), step);
        }
        self.peers
            .entry(peer.clone())
            .or_default()
            .state
            .bytes_received += request.approx_len();
        let response = match self.serve(now, &peer, request, replica, step) {
            Ok(r) => r,
            Err(Blame::Local(e)) => {
                step.event(Event::LocalError {
                    peer: peer.clone(),
                    error: e.clone(),
                });
                SyncResponse::Refused { reason: e }
            }
            Err(Blame::Peer(e)) => {
                let r = SyncResponse::Refused { reason: e.clone() };
                self.respond(&peer, id, r, step);
                return self.misbehaved(peer, e, step);
            }
        };
        self.respond(&peer, id, response, step);
    }
}
