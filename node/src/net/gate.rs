//! Connection gating: a connection is refused as soon as noise has
//! authenticated the remote key, unless that key may talk to this node.
//! A refused connection gets no handler of any protocol, so nothing its
//! peer sends (sync, files, address records, identify) is ever read or
//! decoded, and no per-peer state is made for it, here or in libp2p.
//!
//! Let through, in both directions:
//! * live members;
//! * invitees (keys named by an open invite, never admitted), so that
//!   they can hand in their admission (the sync machine serves them that
//!   alone);
//! * relays this node listens through (`--listen .../p2p/RELAY/p2p-circuit`),
//!   whether members or not;
//! * while this node waits for its own admission: every node it dials (the
//!   invite's addresses, its inviters found by mDNS), so that it can hand
//!   in its admission (the sync machine does so only on connections it
//!   dialed, or to a member it knows).
//!
//! Everyone else is refused in both directions: a stranger dialing us, and
//! a stranger found at an address we dial (a configured address, a
//! member's old address), so that nothing a non-member sends is read
//! either way.
//!
//! Each refusal is counted (`r2com_non_member_refused_total`) and logged,
//! once per key (a bounded set of keys already logged, so fresh keys
//! cannot make it grow).

use std::collections::HashSet;
use std::convert::Infallible;
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};

use libp2p::core::transport::PortUse;
use libp2p::core::Endpoint;
use libp2p::swarm::{
    dummy, ConnectionDenied, ConnectionId, FromSwarm, NetworkBehaviour, THandler, THandlerInEvent,
    THandlerOutEvent, ToSwarm,
};
use libp2p::{Multiaddr, PeerId};
use tracing::info;

use super::members::Members;
use crate::metrics::NetMetrics;

/// Keys whose refusal was logged, at most (then the set starts over).
const MAX_LOGGED: usize = 1024;

/// Who besides the live members may connect, as the loop last evaluated
/// it from the roster (shared with the gate inside the swarm).
#[derive(Clone, Default)]
pub(super) struct Admission(Arc<RwLock<Policy>>);

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Policy {
    /// Holders of an open invite, not admitted yet.
    pub(super) invitees: HashSet<PeerId>,
    /// The relays of the circuit addresses this node listens on.
    pub(super) relays: HashSet<PeerId>,
    /// This node waits for its own admission.
    pub(super) awaiting: bool,
}

impl Admission {
    pub(super) fn update(&self, f: impl FnOnce(&mut Policy)) {
        f(&mut self.0.write().unwrap_or_else(|e| e.into_inner()));
    }

    /// Whether `peer` may hold a connection (`dialer`: we dialed it).
    fn allows(&self, members: &Members, peer: &PeerId, dialer: bool) -> bool {
        if members.contains(peer) {
            return true;
        }
        let p = self.0.read().unwrap_or_else(|e| e.into_inner());
        p.invitees.contains(peer) || p.relays.contains(peer) || (p.awaiting && dialer)
    }
}

/// Why a connection was refused.
#[derive(Debug, thiserror::Error)]
#[error("not a member of the consortium")]
pub(super) struct NotAMember;

/// The gate, a behaviour of the swarm (the first, so that no other one
/// sees a refused connection).
pub(super) struct Gate {
    members: Members,
    admission: Admission,
    metrics: NetMetrics,
    logged: HashSet<PeerId>,
}

impl Gate {
    pub(super) fn new(members: Members, admission: Admission, metrics: NetMetrics) -> Gate {
        Gate {
            members,
            admission,
            metrics,
            logged: HashSet::new(),
        }
    }

    fn check(
        &mut self,
        peer: PeerId,
        dialer: bool,
        addr: &Multiaddr,
    ) -> Result<dummy::ConnectionHandler, ConnectionDenied> {
        if self.admission.allows(&self.members, &peer, dialer) {
            return Ok(dummy::ConnectionHandler);
        }
        self.metrics.non_member_refused();
        if self.logged.len() >= MAX_LOGGED {
            self.logged.clear();
        }
        if self.logged.insert(peer) {
            let direction = if dialer { "outbound" } else { "inbound" };
            info!(%peer, %addr, direction, "connection refused: not a member of the consortium");
        }
        Err(ConnectionDenied::new(NotAMember))
    }
}

impl NetworkBehaviour for Gate {
    type ConnectionHandler = dummy::ConnectionHandler;
    type ToSwarm = Infallible;

    fn handle_established_inbound_connection(
        &mut self,
        _: ConnectionId,
        peer: PeerId,
        _local: &Multiaddr,
        remote: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.check(peer, false, remote)
    }

    fn handle_established_outbound_connection(
        &mut self,
        _: ConnectionId,
        peer: PeerId,
        addr: &Multiaddr,
        _: Endpoint,
        _: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.check(peer, true, addr)
    }

    fn on_swarm_event(&mut self, _: FromSwarm) {}

    fn on_connection_handler_event(
        &mut self,
        _: PeerId,
        _: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        match event {}
    }

    fn poll(&mut self, _: &mut Context<'_>) -> Poll<ToSwarm<Self::ToSwarm, THandlerInEvent<Self>>> {
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer() -> PeerId {
        PeerId::random()
    }

    fn refused(g: &Gate) -> u64 {
        g.metrics.non_member_refused_count()
    }

    #[test]
    fn members_invitees_and_relays_pass_strangers_are_refused_and_counted() {
        let (member, invitee, relay, stranger) = (peer(), peer(), peer(), peer());
        let members = Members::default();
        members.set_for_test([member]);
        let admission = Admission::default();
        admission.update(|p| {
            p.invitees.insert(invitee);
            p.relays.insert(relay);
        });
        let mut g = Gate::new(members, admission, NetMetrics::default());
        let addr: Multiaddr = "/ip4/127.0.0.1/tcp/1".parse().unwrap();
        for dialer in [false, true] {
            for ok in [member, invitee, relay] {
                assert!(g.check(ok, dialer, &addr).is_ok());
            }
            let Err(denied) = g.check(stranger, dialer, &addr) else {
                panic!("a stranger passed the gate")
            };
            assert!(denied.downcast_ref::<NotAMember>().is_some());
        }
        assert_eq!(refused(&g), 2);
        // Once a member no longer (revoked), refused.
        g.members.set_for_test([]);
        assert!(g.check(member, false, &addr).is_err());
        assert_eq!(refused(&g), 3);
    }

    #[test]
    fn a_node_awaiting_admission_dials_anyone_and_takes_only_members() {
        let (member, other) = (peer(), peer());
        let members = Members::default();
        members.set_for_test([member]);
        let admission = Admission::default();
        admission.update(|p| p.awaiting = true);
        let mut g = Gate::new(members, admission.clone(), NetMetrics::default());
        let addr: Multiaddr = "/ip4/127.0.0.1/tcp/1".parse().unwrap();
        assert!(g.check(other, true, &addr).is_ok());
        assert!(g.check(member, false, &addr).is_ok());
        assert!(g.check(other, false, &addr).is_err());
        // Admitted: members only, both ways.
        admission.update(|p| p.awaiting = false);
        assert!(g.check(other, true, &addr).is_err());
        assert!(g.check(member, true, &addr).is_ok());
    }

    #[test]
    fn refusals_of_fresh_keys_keep_the_logged_set_bounded() {
        let mut g = Gate::new(
            Members::default(),
            Admission::default(),
            NetMetrics::default(),
        );
        let addr: Multiaddr = "/ip4/127.0.0.1/tcp/1".parse().unwrap();
        for _ in 0..3 * MAX_LOGGED {
            assert!(g.check(peer(), false, &addr).is_err());
        }
        assert!(g.logged.len() <= MAX_LOGGED, "{}", g.logged.len());
        assert_eq!(refused(&g), 3 * MAX_LOGGED as u64);
    }
}
