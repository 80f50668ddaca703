//! Relaying through members (libp2p circuit relay v2), for nodes behind NAT.
//!
//! * **Server**: a member with a public address relays for the other
//!   members, never for anyone else: reservations and circuits are refused
//!   unless their source is a live member (a circuit's destination holds a
//!   reservation, so it is a member too). The limits are raised far above
//!   libp2p's defaults (2 min, 128 KiB per circuit) so that a full clone
//!   and hours of syncing fit in one circuit. [`super::relay_mode::RelayMode`] says when it
//!   serves: `auto` once AutoNAT confirmed a public address of ours.
//! * **Client**: a node that is not publicly reachable reserves a slot on
//!   up to [`MAX_RESERVATIONS`] connected member relays; its circuit
//!   addresses (`/.../p2p/RELAY/p2p-circuit`) go into its signed address
//!   record, so the other members dial it through the relay, and hole
//!   punching (dcutr) upgrades such a connection to a direct one where the
//!   NATs allow. Circuit addresses given with `--listen` are kept listening
//!   (re-reserved with backoff when the relay drops them).

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use libp2p::core::transport::ListenerId;
use libp2p::multiaddr::Protocol;
use libp2p::{relay, Multiaddr, PeerId};

use super::members::Members;

/// Reservations a NATed node holds at once.
pub(super) const MAX_RESERVATIONS: usize = 2;
/// Reservations the server grants in all (members only).
const MAX_SERVED_RESERVATIONS: usize = 256;
/// A circuit per pair of members behind this relay, for 50 members.
const MAX_CIRCUITS: usize = 1024;
const MAX_CIRCUITS_PER_PEER: usize = 64;
/// Circuit limits: long enough for hours of syncing, large enough for a
/// full clone many times over. Circuits are re-made when they end.
const MAX_CIRCUIT_DURATION: Duration = Duration::from_secs(12 * 3600);
const MAX_CIRCUIT_BYTES: u64 = 1 << 30;
const RESERVATION_DURATION: Duration = Duration::from_secs(3600);
/// Even members: at most this many reservations and circuits per minute.
const MEMBER_RATE_PER_MINUTE: u32 = 60;
/// Wait before reserving again on a relay that dropped or refused us.
pub(super) const RETRY_MIN: Duration = Duration::from_secs(2);
pub(super) const RETRY_MAX: Duration = Duration::from_secs(300);

/// The relay server's configuration: members only, raised limits.
pub(super) fn server_config(members: Members) -> relay::Config {
    let only_members = |members: Members| {
        move |peer: PeerId, _: &Multiaddr, _| -> bool { members.contains(&peer) }
    };
    let mut cfg = relay::Config {
        max_reservations: MAX_SERVED_RESERVATIONS,
        max_reservations_per_peer: 4,
        reservation_duration: RESERVATION_DURATION,
        reservation_rate_limiters: Vec::new(),
        max_circuits: MAX_CIRCUITS,
        max_circuits_per_peer: MAX_CIRCUITS_PER_PEER,
        max_circuit_duration: MAX_CIRCUIT_DURATION,
        max_circuit_bytes: MAX_CIRCUIT_BYTES,
        circuit_src_rate_limiters: Vec::new(),
    };
    cfg.reservation_rate_limiters
        .push(Box::new(only_members(members.clone())));
    cfg.circuit_src_rate_limiters
        .push(Box::new(only_members(members)));
    let rate = NonZeroU32::new(MEMBER_RATE_PER_MINUTE).expect("non-zero");
    cfg.reservation_rate_per_peer(rate, Duration::from_secs(60))
        .circuit_src_per_peer(rate, Duration::from_secs(60))
}

/// Whether `addr` goes through a relay.
pub(super) fn is_relayed(addr: &Multiaddr) -> bool {
    addr.iter().any(|p| matches!(p, Protocol::P2pCircuit))
}

/// The relay of a circuit address (the peer before `/p2p-circuit`).
pub(super) fn relay_of(addr: &Multiaddr) -> Option<PeerId> {
    let mut last = None;
    for p in addr.iter() {
        match p {
            Protocol::P2p(id) => last = Some(id),
            Protocol::P2pCircuit => return last,
            _ => {}
        }
    }
    None
}

/// A circuit listener: on which relay, and when to try again if it closed.
pub(super) struct Reservation {
    pub(super) addr: Multiaddr,
    pub(super) listener: Option<ListenerId>,
    /// Reservation accepted by the relay.
    pub(super) accepted: bool,
    pub(super) retry_at: Instant,
    pub(super) delay: Duration,
    /// Given with `--listen` (kept whatever our reachability).
    pub(super) configured: bool,
}

/// The client side's state.
#[derive(Default)]
pub(super) struct Relays {
    /// By relay.
    pub(super) reservations: HashMap<PeerId, Reservation>,
    /// Connected members that offer the relay protocol.
    pub(super) available: HashMap<PeerId, Multiaddr>,
}

impl Relays {
    /// Keep listening on a configured circuit address.
    pub(super) fn configured(&mut self, addr: Multiaddr, listener: Option<ListenerId>) {
        if let Some(relay) = relay_of(&addr) {
            self.reservations.insert(
                relay,
                Reservation {
                    addr,
                    listener,
                    accepted: false,
                    retry_at: Instant::now(),
                    delay: RETRY_MIN,
                    configured: true,
                },
            );
        }
    }
}
