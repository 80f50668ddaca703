//! Reservations on member relays and the relay server's events, as the
//! loop handles them (limits and addresses are [`crate::net::relay`]).

use super::Loop;
use crate::net::relay::{is_relayed, Reservation, MAX_RESERVATIONS, RETRY_MAX, RETRY_MIN};
use crate::net::relay_mode::RelayMode;
use libp2p::core::transport::ListenerId;
use libp2p::multiaddr::Protocol;
use libp2p::{relay, Multiaddr, PeerId};
use std::time::Instant;
use tracing::{info, warn};

impl Loop {
    /// Set the relay server's status per the mode and our reachability.
    pub(in crate::net) fn apply_relay_mode(&mut self) {
        let serve = match self.relay_mode {
            RelayMode::On => true,
            RelayMode::Off => false,
            RelayMode::Auto => self.reach.is_public(),
        };
        if serve != self.serving_relay {
            self.serving_relay = serve;
            info!(serve, "relay for members");
            let status = if serve {
                relay::Status::Enable
            } else {
                relay::Status::Disable
            };
            self.swarm.behaviour_mut().relay.set_status(Some(status));
        }
        if serve && self.relay_mode == RelayMode::On {
            // A reservation names the relay's external addresses; with
            // `relay = "on"` the operator vouches for the ones we announce
            // (AutoNAT confirms them in `auto`).
            let known: Vec<Multiaddr> = self.swarm.external_addresses().cloned().collect();
            for a in self.own_addrs() {
                if !is_relayed(&a) && !known.contains(&a) {
                    info!(addr = %a, "relay: offering this address in reservations");
                    self.swarm.add_external_address(a);
                }
            }
        }
    }

    /// Reserve on member relays while this node is not publicly reachable
    /// (and keep configured circuit listeners up).
    pub(in crate::net) fn keep_reservations(&mut self) {
        let now = Instant::now();
        let want_auto = self.use_relays && !self.reach.is_public();
        // Drop automatic reservations we no longer want.
        let unwanted: Vec<PeerId> = self
            .relays
            .reservations
            .iter()
            .filter(|(relay, r)| {
                !r.configured && (!want_auto || !self.relays.available.contains_key(relay))
            })
            .map(|(relay, _)| *relay)
            .collect();
        for relay in unwanted {
            if let Some(r) = self.relays.reservations.remove(&relay) {
                if let Some(l) = r.listener {
                    self.swarm.remove_listener(l);
                }
            }
        }
        if want_auto {
            let mut candidates: Vec<(PeerId, Multiaddr)> = self
                .relays
                .available
                .iter()
                .filter(|(relay, _)| !self.relays.reservations.contains_key(relay))
                .map(|(p, a)| (*p, a.clone()))
                .collect();
            candidates.sort();
            let room = MAX_RESERVATIONS.saturating_sub(self.relays.reservations.len());
            for (relay, addr) in candidates.into_iter().take(room) {
                let addr = addr.with(Protocol::P2p(relay)).with(Protocol::P2pCircuit);
                self.relays.reservations.insert(
                    relay,
                    Reservation {
                        addr,
                        listener: None,
                        accepted: false,
                        retry_at: now,
                        delay: RETRY_MIN,
                        configured: false,
                    },
                );
            }
        }
        for r in self.relays.reservations.values_mut() {
            if r.listener.is_none() && r.retry_at <= now {
                match self.swarm.listen_on(r.addr.clone()) {
                    Ok(id) => r.listener = Some(id),
                    Err(e) => warn!(addr = %r.addr, error = %e, "cannot listen through the relay"),
                }
                r.retry_at = now + r.delay;
                r.delay = (r.delay * 2).min(RETRY_MAX);
            }
        }
    }

    /// A circuit listener closed: try again later.
    pub(in crate::net) fn reservation_closed(&mut self, listener: ListenerId, reason: &str) {
        for (relay, r) in self.relays.reservations.iter_mut() {
            if r.listener == Some(listener) {
                warn!(%relay, addr = %r.addr, %reason, retry_in = ?r.delay, "relay reservation ended");
                r.listener = None;
                r.accepted = false;
                r.retry_at = Instant::now() + r.delay;
            }
        }
    }

    pub(in crate::net) fn on_relay_client(&mut self, ev: relay::client::Event) {
        match ev {
            relay::client::Event::ReservationReqAccepted {
                relay_peer_id,
                renewal,
                ..
            } => {
                if let Some(r) = self.relays.reservations.get_mut(&relay_peer_id) {
                    r.accepted = true;
                    r.delay = RETRY_MIN;
                }
                if !renewal {
                    info!(relay = %relay_peer_id, "reachable through a member relay");
                }
            }
            relay::client::Event::OutboundCircuitEstablished { relay_peer_id, .. } => {
                tracing::debug!(relay = %relay_peer_id, "circuit out through a relay")
            }
            relay::client::Event::InboundCircuitEstablished { src_peer_id, .. } => {
                tracing::debug!(peer = %src_peer_id, "circuit in through a relay")
            }
        }
    }

    pub(in crate::net) fn on_relay_server(&mut self, ev: relay::Event) {
        use relay::Event as E;
        match ev {
            E::ReservationReqAccepted { src_peer_id, .. } => {
                info!(peer = %src_peer_id, "relay: reservation granted to a member")
            }
            E::ReservationReqDenied { src_peer_id, .. } => {
                let who = if self.members.contains(&src_peer_id) {
                    "a member over its limits"
                } else {
                    "a non-member"
                };
                warn!(peer = %src_peer_id, who, "relay: reservation refused")
            }
            E::CircuitReqDenied {
                src_peer_id,
                dst_peer_id,
                ..
            } => {
                let who = if self.members.contains(&src_peer_id) {
                    "a member over its limits or to a peer without reservation"
                } else {
                    "a non-member"
                };
                warn!(src = %src_peer_id, dst = %dst_peer_id, who, "relay: circuit refused")
            }
            E::CircuitReqAccepted {
                src_peer_id,
                dst_peer_id,
            } => {
                tracing::debug!(src = %src_peer_id, dst = %dst_peer_id, "relay: circuit opened")
            }
            E::CircuitClosed {
                src_peer_id,
                dst_peer_id,
                error,
            } => {
                tracing::debug!(src = %src_peer_id, dst = %dst_peer_id, ?error, "relay: circuit closed")
            }
            other => tracing::debug!(?other, "relay"),
        }
    }
}
