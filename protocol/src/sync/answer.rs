//! Answers to this node's requests (and their failures), routed to the
//! push, the admission or the round that waits for them.

use std::fmt;
use std::time::SystemTime;

use serde_bytes::ByteBuf;

use crate::wire::SyncResponse;

use super::{Blame, Event, Replica, RequestId, Standing, Step, SyncMachine, ROUND_RETRY};

impl<P: Ord + Clone + fmt::Debug> SyncMachine<P> {
    pub(super) fn on_failed<R: Replica<P>>(
        &mut self,
        now: SystemTime,
        peer: P,
        id: RequestId,
        error: String,
        replica: &mut R,
        step: &mut Step<P>,
    ) {
        let Some(p) = self.peers.get_mut(&peer) else {
            return;
        };
        if p.push_in_flight == Some(id) {
            // The push was lost: a round makes up for it (the peer's summary
            // differs, so it pulls too).
            p.push_in_flight = None;
            if p.connected {
                self.want_round(peer.clone(), replica, step);
                self.push_next(&peer, step);
            }
            return;
        }
        if p.admission == Some(id) {
            // Lost on the way: hand it in again shortly.
            p.admission = None;
            p.readmit = true;
            p.retry_at = Some(now + ROUND_RETRY);
            step.event(Event::Refused {
                peer,
                reason: format!("admission failed: {error}"),
            });
            return;
        }
        if p.round.as_ref().is_some_and(|r| r.waits_for(id)) {
            self.finish_round(now, peer, Err(error), replica, step);
        }
    }

    pub(super) fn on_response<R: Replica<P>>(
        &mut self,
        now: SystemTime,
        peer: P,
        id: RequestId,
        response: SyncResponse,
        replica: &mut R,
        step: &mut Step<P>,
    ) {
        let Some(p) = self.peers.get_mut(&peer) else {
            return;
        };
        p.state.bytes_received += response.approx_len();
        if p.push_in_flight == Some(id) {
            p.push_in_flight = None;
            match response {
                SyncResponse::Ack {
                    missing_deps,
                    applied,
                } => {
                    if missing_deps {
                        self.want_round(peer.clone(), replica, step);
                    } else {
                        p.state.they_lack = p.state.they_lack.saturating_sub(applied);
                        self.exchanged(&peer, now);
                    }
                }
                SyncResponse::Refused { reason } => step.event(Event::Refused {
                    peer: peer.clone(),
                    reason: format!("push refused: {reason}"),
                }),
                other => {
                    return self.misbehaved(
                        peer,
                        format!("unexpected answer to a push: {other:?}"),
                        step,
                    )
                }
            }
            self.push_next(&peer, step);
            return;
        }
        if p.admission == Some(id) {
            p.admission = None;
            match response {
                SyncResponse::Roster { entries } => {
                    let entries = entries.into_iter().map(ByteBuf::into_vec).collect();
                    match self.apply(&peer, entries, Vec::new(), replica, step) {
                        Ok(_) => {
                            step.event(Event::Admitted { peer: peer.clone() });
                            if replica.standing(&peer) == Standing::Member {
                                self.want_round(peer, replica, step);
                            }
                        }
                        Err(Blame::Peer(e)) => self.misbehaved(peer, e, step),
                        Err(Blame::Local(e)) => step.event(Event::LocalError { peer, error: e }),
                    }
                }
                SyncResponse::Refused { reason } => step.event(Event::Refused {
                    peer,
                    reason: format!("admission refused: {reason}"),
                }),
                other => self.misbehaved(
                    peer,
                    format!("unexpected answer to an admission: {other:?}"),
                    step,
                ),
            }
            return;
        }
        if !p.round.as_ref().is_some_and(|r| r.waits_for(id)) {
            return; // a round that ended meanwhile
        }
        if let SyncResponse::Refused { reason } = &response {
            let reason = format!("refused: {reason}");
            return self.finish_round(now, peer, Err(reason), replica, step);
        }
        match self.advance(&peer, id, response, replica, step) {
            Ok(Some(outcome)) => self.finish_round(now, peer, Ok(outcome), replica, step),
            Ok(None) => {}
            Err(Blame::Peer(e)) => self.misbehaved(peer, e, step),
            Err(Blame::Local(e)) => {
                self.finish_round(now, peer, Err(format!("local store: {e}")), replica, step)
            }
        }
    }
}
