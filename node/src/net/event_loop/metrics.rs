//! The network loop's metrics hooks: libp2p's own recorder for swarm,
//! identify and ping events, and the per-member series set where the sync
//! machine's outputs and the connections change (see [`crate::metrics`]).

use std::sync::Arc;

use libp2p::metrics::Recorder;
use libp2p::swarm::SwarmEvent;
use libp2p::PeerId;

use r2com_protocol::roster::Roster;

use super::Loop;
use crate::identity::{key_of, peer_id_of};
use crate::metrics::{MemberView, NetMetrics};
use crate::net::behaviour::BehaviourEvent;

/// The loop's metrics: ours and libp2p's.
pub(in crate::net) struct LoopMetrics {
    pub(in crate::net) net: NetMetrics,
    p2p: libp2p::metrics::Metrics,
    /// The roster the per-member series were last set from.
    roster: Option<Arc<Roster>>,
}

impl LoopMetrics {
    pub(in crate::net) fn new(net: NetMetrics, p2p: libp2p::metrics::Metrics) -> LoopMetrics {
        LoopMetrics {
            net,
            p2p,
            roster: None,
        }
    }
}

impl Loop {
    /// Record a swarm event in libp2p's metrics.
    pub(in crate::net) fn record(&self, event: &SwarmEvent<BehaviourEvent>) {
        let p2p = &self.metrics.p2p;
        p2p.record(event);
        match event {
            SwarmEvent::Behaviour(BehaviourEvent::Identify(e)) => p2p.record(e),
            SwarmEvent::Behaviour(BehaviourEvent::Ping(e)) => p2p.record(e),
            _ => {}
        }
    }

    /// The roster changed (or is seen for the first time): set the series
    /// of every member, drop those of nodes no longer members.
    pub(in crate::net) fn roster_seen(&mut self, roster: Option<Arc<Roster>>) {
        if super::same_roster(&roster, &self.metrics.roster) {
            return;
        }
        let old = std::mem::replace(&mut self.metrics.roster, roster);
        let keys = |r: &Option<Arc<Roster>>| -> Vec<String> {
            r.iter()
                .flat_map(|r| r.orgs.iter())
                .flat_map(|o| o.keys.iter().map(|k| k.key.clone()))
                .collect()
        };
        for key in keys(&old).into_iter().chain(keys(&self.metrics.roster)) {
            if let Some(peer) = peer_id_of(&key) {
                self.member_changed(peer);
            }
        }
    }

    /// Set `peer`'s series from the connections and the sync machine.
    pub(in crate::net) fn member_changed(&self, peer: PeerId) {
        if peer == *self.swarm.local_peer_id() {
            return;
        }
        let Some(key) = key_of(&peer) else {
            return;
        };
        let state = {
            let m = self.machine.lock().unwrap_or_else(|e| e.into_inner());
            let found = m.states().find(|(p, _)| **p == peer);
            found.map(|(_, s)| s.clone())
        };
        self.metrics.net.member(
            self.metrics.roster.as_deref(),
            &key,
            &peer.to_base58(),
            MemberView {
                connected: self.swarm.is_connected(&peer),
                relayed: self.relayed_only(&peer),
                state: state.as_ref(),
            },
        );
    }
}
