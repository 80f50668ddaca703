//! Rounds: one at a time per peer, queued behind the running one,
//! confirmed by another when they fetched something, retried after a
//! transport failure.

use std::fmt;
use std::time::SystemTime;

use serde_bytes::ByteBuf;

use crate::wire::SyncRequest;

use super::stages::Stage;
use super::{
    bufs, rfc3339, Event, Output, Replica, RequestId, RoundOutcome, Standing, Step, SyncMachine,
    ROUND_RETRY,
};

/// The round running with one peer.
#[derive(Debug)]
pub(super) struct Round {
    pub(super) id: u64,
    pub(super) stage: Stage,
    pub(super) outcome: RoundOutcome,
    /// Both sides take whole documents (the peer's summary said so).
    pub(super) whole_docs: bool,
    /// Ask the peer's `GetDocs` for envelopes (its revision is 3; see
    /// [`crate::wire::REVISION_EXACT_SIGNATURES`]).
    pub(super) doc_envelopes: bool,
    /// Whole documents were asked for in this round (once per round).
    pub(super) docs_asked: bool,
}

impl Round {
    pub(super) fn waits_for(&self, id: RequestId) -> bool {
        match &self.stage {
            Stage::Summary(r) | Stage::Buckets(r) => *r == id,
            Stage::Roster { req, .. } | Stage::Inventory { req, .. } => *req == id,
            Stage::Fetch { in_flight, .. } => in_flight.contains(&id),
        }
    }
}

impl<P: Ord + Clone + fmt::Debug> SyncMachine<P> {
    /// Ask for a round with `peer`: start it now, or queue it behind the
    /// running one. Returns the id of the round that will run.
    pub(super) fn want_round<R: Replica<P>>(
        &mut self,
        peer: P,
        replica: &mut R,
        step: &mut Step<P>,
    ) -> u64 {
        let busy = {
            let p = self.peers.entry(peer.clone()).or_default();
            if let Some(q) = p.queued {
                return q;
            }
            p.round.is_some()
        };
        self.next_round += 1;
        let id = self.next_round;
        if busy {
            self.peers.entry(peer).or_default().queued = Some(id);
        } else {
            self.start_round(peer, id, replica, step);
        }
        id
    }

    pub(super) fn start_round<R: Replica<P>>(
        &mut self,
        peer: P,
        id: u64,
        replica: &mut R,
        step: &mut Step<P>,
    ) {
        let ours = match replica.summary() {
            Ok(s) => s,
            Err(e) => {
                step.event(Event::RoundDone {
                    peer,
                    round: id,
                    result: Err(format!("local store: {e}")),
                });
                return;
            }
        };
        let req = self.send(
            &peer,
            SyncRequest::Summary {
                roster: bufs(&ours.roster),
                digest: ByteBuf::from(ours.digest.to_vec()),
            },
            step,
        );
        self.peers.entry(peer).or_default().round = Some(Round {
            id,
            stage: Stage::Summary(req),
            outcome: RoundOutcome {
                fetched: 0,
                we_lack: 0,
                they_lack: 0,
                digest: String::new(),
                they_lack_entries: 0,
            },
            whole_docs: false,
            doc_envelopes: false,
            docs_asked: false,
        });
    }

    /// End the running round with `peer`; start the queued one.
    pub(super) fn finish_round<R: Replica<P>>(
        &mut self,
        now: SystemTime,
        peer: P,
        result: Result<RoundOutcome, String>,
        replica: &mut R,
        step: &mut Step<P>,
    ) {
        let Some(p) = self.peers.get_mut(&peer) else {
            return;
        };
        let Some(round) = p.round.take() else {
            return;
        };
        if result.is_err() && p.connected {
            p.retry_at = Some(now + ROUND_RETRY);
        }
        if let Ok(o) = &result {
            p.state.last_sync = Some(rfc3339(now));
            p.last_exchange = Some(now);
            p.state.we_lack = o.we_lack;
            p.state.they_lack = o.they_lack;
            p.state.last_digest = Some(o.digest.clone());
        }
        step.out.push(Output::Persist {
            peer: peer.clone(),
            state: p.state.clone(),
        });
        // Something was fetched: confirm with another (cheap) round.
        let confirm = matches!(&result, Ok(o) if o.fetched > 0);
        let queued = p.queued.take();
        let connected = p.connected;
        step.event(Event::RoundDone {
            peer: peer.clone(),
            round: round.id,
            result,
        });
        let next = match queued {
            Some(q) => Some(q),
            None if confirm => {
                self.next_round += 1;
                Some(self.next_round)
            }
            None => None,
        };
        if let Some(id) = next {
            if connected && replica.standing(&peer) == Standing::Member {
                self.start_round(peer, id, replica, step);
            } else {
                step.event(Event::RoundDone {
                    peer,
                    round: id,
                    result: Err("not a connected member".into()),
                });
            }
        }
    }
}
