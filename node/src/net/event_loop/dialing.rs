//! Dialing members and configured addresses with backoff, and what the
//! loop does when a dial succeeds or fails (the backoff state is
//! [`crate::net::dial`]).

use super::Loop;
use crate::net::dial::{describe, peer_in, Dial, Target};
use crate::net::relay::is_relayed;
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::{ConnectionId, DialError};
use libp2p::{Multiaddr, PeerId};
use std::time::Instant;
use tracing::{debug, warn};

impl Loop {
    /// Whether `peer` has a connection that is not relayed.
    pub(in crate::net) fn directly_connected(&self, peer: &PeerId) -> bool {
        self.conns
            .get(peer)
            .is_some_and(|c| c.values().any(|c| !c.relayed))
    }

    /// Dial configured addresses whose peer has no direct connection, and
    /// members (see [`Loop::dial_members`]), as their backoff allows.
    pub(in crate::net) fn redial(&mut self) {
        let now = Instant::now();
        let mut due = Vec::new();
        for (addr, d) in &self.dials.configured {
            let peer = peer_in(addr).or(d.peer);
            let up = match peer {
                Some(p) => self.directly_connected(&p),
                None => self
                    .conns
                    .values()
                    .flat_map(|c| c.values())
                    .any(|c| &c.addr == addr),
            };
            if !up && d.due(now) {
                due.push(addr.clone());
            }
        }
        for addr in due {
            self.dial_configured(addr);
        }
        self.dial_members();
    }

    /// Dial a configured address now.
    pub(in crate::net) fn dial_configured(&mut self, addr: Multiaddr) {
        let now = Instant::now();
        let opts = DialOpts::unknown_peer_id().address(addr.clone()).build();
        let id = opts.connection_id();
        debug!(%addr, "dialing");
        let d = self
            .dials
            .configured
            .entry(addr.clone())
            .or_insert_with(Dial::now);
        d.attempted(now);
        match self.swarm.dial(opts) {
            Ok(()) => {
                self.dials.pending.insert(id, Target::Configured(addr));
            }
            Err(e) => {
                let reason = describe(&e);
                if d.last_error.as_deref() != Some(reason.as_str()) {
                    warn!(%addr, error = %reason, "cannot dial a configured address");
                }
                d.last_error = Some(reason);
            }
        }
    }

    /// Dial every live member without a direct connection at the addresses
    /// of its signed record and those mDNS found (direct ones only if a
    /// relayed connection is up already).
    pub(in crate::net) fn dial_members(&mut self) {
        let now = Instant::now();
        for peer in self.members.all() {
            let relayed_up = self.swarm.is_connected(&peer);
            if self.directly_connected(&peer) {
                continue;
            }
            let addrs: Vec<Multiaddr> = self
                .book
                .addrs(&peer)
                .iter()
                .chain(self.discovered.get(&peer).into_iter().flatten())
                .filter(|a| !relayed_up || !is_relayed(a))
                .cloned()
                .collect();
            if addrs.is_empty() {
                continue;
            }
            let d = self.dials.members.entry(peer).or_insert_with(Dial::now);
            if !d.due(now) {
                continue;
            }
            d.attempted(now);
            let opts = DialOpts::peer_id(peer)
                .addresses(addrs)
                .condition(PeerCondition::NotDialing)
                .build();
            let id = opts.connection_id();
            match self.swarm.dial(opts) {
                Ok(()) => {
                    debug!(%peer, "dialing a member");
                    self.dials.pending.insert(id, Target::Member(peer));
                }
                Err(DialError::DialPeerConditionFalse(_)) => {}
                Err(e) => d.last_error = Some(describe(&e)),
            }
        }
    }

    /// Dial a member that mDNS found on the local network.
    pub(in crate::net) fn dial_discovered(&mut self, peer: PeerId, addr: Multiaddr) {
        let opts = DialOpts::peer_id(peer)
            .addresses(vec![addr])
            .condition(PeerCondition::DisconnectedAndNotDialing)
            .build();
        let id = opts.connection_id();
        if self.swarm.dial(opts).is_ok() {
            self.dials.pending.insert(id, Target::Discovered);
        }
    }

    /// A dial of ours connected.
    pub(in crate::net) fn dial_succeeded(&mut self, id: ConnectionId, peer: PeerId) {
        match self.dials.pending.remove(&id) {
            Some(Target::Configured(addr)) => {
                if let Some(d) = self.dials.configured.get_mut(&addr) {
                    d.succeeded();
                    d.peer = Some(peer);
                }
            }
            Some(Target::Member(p)) => {
                if let Some(d) = self.dials.members.get_mut(&p) {
                    d.succeeded();
                }
            }
            Some(Target::Discovered) | None => {}
        }
    }

    /// A dial of ours failed: remember why (and say it, for configured
    /// addresses).
    pub(in crate::net) fn dial_failed(&mut self, id: ConnectionId, error: &DialError) {
        let reason = describe(error);
        match self.dials.pending.remove(&id) {
            Some(Target::Configured(addr)) => {
                if let Some(d) = self.dials.configured.get_mut(&addr) {
                    if d.last_error.as_deref() != Some(reason.as_str()) {
                        warn!(%addr, error = %reason, "dial of a configured address failed");
                    } else {
                        debug!(%addr, error = %reason, "dial failed again");
                    }
                    d.last_error = Some(reason);
                }
            }
            Some(Target::Member(peer)) => {
                debug!(%peer, error = %reason, "dial of a member failed");
                if let Some(d) = self.dials.members.get_mut(&peer) {
                    d.last_error = Some(reason);
                }
            }
            Some(Target::Discovered) | None => debug!(error = %reason, "dial failed"),
        }
    }

    /// The last dial error towards `peer` (its record's addresses, or a
    /// configured address that reached it).
    pub(in crate::net) fn dial_error(&self, peer: &PeerId) -> Option<String> {
        if let Some(e) = self
            .dials
            .members
            .get(peer)
            .and_then(|d| d.last_error.clone())
        {
            return Some(e);
        }
        self.dials
            .configured
            .iter()
            .filter(|(a, d)| peer_in(a).or(d.peer) == Some(*peer))
            .find_map(|(a, d)| d.last_error.as_ref().map(|e| format!("{a}: {e}")))
    }
}
