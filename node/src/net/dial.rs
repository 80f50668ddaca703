//! Dialing known addresses (configured, from invites, `peer add`) whose
//! peer is not connected, with exponential backoff.

use std::time::{Duration, Instant};

use libp2p::Multiaddr;
use tracing::debug;

use super::event_loop::Loop;

/// Redial backoff bounds.
pub(super) const REDIAL_MIN: Duration = Duration::from_secs(1);
const REDIAL_MAX: Duration = Duration::from_secs(60);

pub(super) struct Dial {
    pub(super) next: Instant,
    pub(super) delay: Duration,
}

impl Loop {
    /// Dial known addresses whose peer is not connected, with backoff.
    pub(super) fn redial(&mut self) {
        let now = Instant::now();
        let connected: Vec<Multiaddr> = self
            .addrs
            .iter()
            .filter(|(p, _)| self.swarm.is_connected(p))
            .flat_map(|(_, a)| a.iter().cloned())
            .collect();
        for (addr, d) in self.dials.iter_mut() {
            let peer = addr.iter().find_map(|p| match p {
                libp2p::multiaddr::Protocol::P2p(id) => Some(id),
                _ => None,
            });
            let is_up = match peer {
                Some(id) => self.swarm.is_connected(&id),
                None => connected.contains(addr),
            };
            if is_up || d.next > now {
                continue;
            }
            debug!(%addr, "dialing");
            let _ = self.swarm.dial(addr.clone());
            d.next = now + d.delay;
            d.delay = (d.delay * 2).min(REDIAL_MAX);
        }
    }
}
