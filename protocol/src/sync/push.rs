//! Pushes: new local and relayed changes (never back to where they came
//! from) and roster entries, one push in flight per peer, the rest queued
//! up to a bound.

use std::fmt;

use serde_bytes::ByteBuf;

use crate::wire::{self, SyncRequest};

use super::{Output, Replica, Standing, Step, SyncMachine, MAX_PUSH_BYTES, MAX_PUSH_QUEUE_BYTES};

impl<P: Ord + Clone + fmt::Debug> SyncMachine<P> {
    pub(super) fn on_local_writes<R: Replica<P>>(&mut self, replica: &mut R, step: &mut Step<P>) {
        let outbox = replica.take_outbox();
        // The roster may have changed: drop peers that are no longer members.
        let connected: Vec<P> = self.connected().cloned().collect();
        let mut members = Vec::new();
        for peer in connected {
            match replica.standing(&peer) {
                Standing::Member => members.push(peer),
                Standing::Invitee => {}
                Standing::Stranger if replica.awaiting_admission() => {}
                Standing::Stranger => {
                    self.drop_peer(&peer, "no longer a member", step);
                    step.out.push(Output::Disconnect {
                        peer,
                        reason: "no longer a member (revoked)".into(),
                        misbehaved: false,
                    });
                }
            }
        }
        for peer in members {
            if outbox.overflowed {
                self.want_round(peer, replica, step);
                continue;
            }
            let p = self.peers.entry(peer.clone()).or_default();
            for (origin, env) in &outbox.changes {
                if origin.as_ref() == Some(&peer) {
                    continue;
                }
                p.push_bytes += env.len();
                p.push_changes.push_back(env.clone());
            }
            p.push_roster.extend(outbox.roster.iter().cloned());
            if p.push_bytes > MAX_PUSH_QUEUE_BYTES || p.push_roster.len() > wire::MAX_ENTRIES {
                p.push_changes.clear();
                p.push_roster.clear();
                p.push_bytes = 0;
                self.want_round(peer, replica, step);
                continue;
            }
            if p.push_in_flight.is_none() {
                self.push_next(&peer, step);
            }
        }
    }

    /// Send the next push to `peer` from its queue, if any.
    pub(super) fn push_next(&mut self, peer: &P, step: &mut Step<P>) {
        let Some(p) = self.peers.get_mut(peer) else {
            return;
        };
        if p.push_in_flight.is_some() || (p.push_changes.is_empty() && p.push_roster.is_empty()) {
            return;
        }
        let mut envs = Vec::new();
        let mut size = 0;
        while let Some(env) = p.push_changes.front() {
            if !envs.is_empty()
                && (size + env.len() > MAX_PUSH_BYTES
                    || envs.len() >= wire::MAX_CHANGES_PER_REQUEST)
            {
                break;
            }
            size += env.len();
            envs.push(p.push_changes.pop_front().expect("front"));
        }
        p.push_bytes -= size;
        let roster: Vec<ByteBuf> = p.push_roster.drain(..).map(ByteBuf::from).collect();
        let batch = if envs.is_empty() {
            ByteBuf::new()
        } else {
            ByteBuf::from(wire::encode_batch(&envs))
        };
        let id = self.send(peer, SyncRequest::Push { batch, roster }, step);
        if let Some(p) = self.peers.get_mut(peer) {
            p.push_in_flight = Some(id);
        }
    }
}
