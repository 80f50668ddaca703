//! Dialing, with exponential backoff: the addresses the operator gave
//! (`peer add`, invites, host names included) and every live member at the
//! addresses of its signed record (a full mesh), until a direct connection
//! is up. A failed dial of a configured address is logged at warn with its
//! reason; the last error of each is shown in `peers`.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use libp2p::swarm::{ConnectionId, DialError};
use libp2p::{Multiaddr, PeerId};

/// Redial backoff bounds.
pub(super) const REDIAL_MIN: Duration = Duration::from_secs(1);
const REDIAL_MAX: Duration = Duration::from_secs(60);

/// One thing to keep dialing.
pub(super) struct Dial {
    next: Instant,
    delay: Duration,
    /// Why the last attempt failed (cleared when one succeeds).
    pub(super) last_error: Option<String>,
    /// Who answered at a configured address (learned on success).
    pub(super) peer: Option<PeerId>,
}

impl Dial {
    pub(super) fn now() -> Dial {
        Dial {
            next: Instant::now(),
            delay: REDIAL_MIN,
            last_error: None,
            peer: None,
        }
    }

    pub(super) fn due(&self, now: Instant) -> bool {
        self.next <= now
    }

    pub(super) fn attempted(&mut self, now: Instant) {
        self.next = now + self.delay;
        self.delay = (self.delay * 2).min(REDIAL_MAX);
    }

    pub(super) fn succeeded(&mut self) {
        self.delay = REDIAL_MIN;
        self.last_error = None;
    }
}

/// What a dial in flight was for.
#[derive(Clone, Debug)]
pub(super) enum Target {
    Configured(Multiaddr),
    Member(PeerId),
    /// A member found by mDNS.
    Discovered,
}

/// The dialer's state.
#[derive(Default)]
pub(super) struct Dialer {
    pub(super) configured: BTreeMap<Multiaddr, Dial>,
    pub(super) members: HashMap<PeerId, Dial>,
    pub(super) pending: HashMap<ConnectionId, Target>,
}

impl Dialer {
    pub(super) fn add(&mut self, addr: Multiaddr) {
        self.configured.entry(addr).or_insert_with(Dial::now);
    }
}

/// A dial error in one line, with its causes.
pub(super) fn describe(e: &DialError) -> String {
    fn chain(e: &dyn std::error::Error) -> String {
        let mut s = e.to_string();
        let mut src = e.source();
        while let Some(c) = src {
            let more = c.to_string();
            if !s.contains(&more) {
                s.push_str(": ");
                s.push_str(&more);
            }
            src = c.source();
        }
        s
    }
    match e {
        DialError::Transport(errs) => errs
            .iter()
            .map(|(a, e)| format!("{a}: {}", chain(e)))
            .collect::<Vec<_>>()
            .join("; "),
        other => chain(other),
    }
}

/// The `/p2p/` peer at the end of an address, if any.
pub(super) fn peer_in(addr: &Multiaddr) -> Option<PeerId> {
    addr.iter().find_map(|p| match p {
        libp2p::multiaddr::Protocol::P2p(id) => Some(id),
        _ => None,
    })
}
