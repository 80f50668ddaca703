//! Whether this node can be reached, and at which addresses it tells the
//! members to reach it.
//!
//! AutoNAT v2 asks connected peers to dial back the addresses others saw
//! us at; an address that was dialed back is confirmed as external. UPnP
//! (optional) maps our listen ports on the router and confirms the mapped
//! address. A confirmed address with a global IP makes this node publicly
//! reachable (it then relays for members in `relay = "auto"` mode, and
//! reserves no relay slot for itself).

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use libp2p::multiaddr::Protocol;
use libp2p::Multiaddr;
use r2com_protocol::control::{AddrTest, Reachability};

use super::relay::is_relayed;

/// AutoNAT results kept.
const MAX_TESTED: usize = 16;

/// What AutoNAT and UPnP told us.
#[derive(Default)]
pub(super) struct Reach {
    /// External addresses confirmed (dialed back, or mapped by UPnP),
    /// circuit addresses left out.
    pub(super) confirmed: BTreeSet<Multiaddr>,
    /// The last AutoNAT result per tested address: `Err(reason)` if the
    /// dial back failed.
    pub(super) tested: BTreeMap<Multiaddr, Result<(), String>>,
    /// UPnP: the gateway's answer, if any.
    pub(super) upnp: Option<String>,
}

/// Whether an IP is routable on the internet.
fn is_global(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || (a == 100 && (64..128).contains(&b)))
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80)
        }
    }
}

fn ip_of(addr: &Multiaddr) -> Option<IpAddr> {
    addr.iter().find_map(|p| match p {
        Protocol::Ip4(ip) => Some(IpAddr::V4(ip)),
        Protocol::Ip6(ip) => Some(IpAddr::V6(ip)),
        _ => None,
    })
}

/// Whether `addr` can only be reached from this machine.
pub(super) fn is_loopback(addr: &Multiaddr) -> bool {
    ip_of(addr).is_some_and(|ip| ip.is_loopback())
}

/// Whether `addr` is an unspecified (`0.0.0.0`, `::`) address.
pub(super) fn is_unspecified(addr: &Multiaddr) -> bool {
    ip_of(addr).is_some_and(|ip| ip.is_unspecified())
}

impl Reach {
    pub(super) fn confirm(&mut self, addr: Multiaddr) {
        if !is_relayed(&addr) {
            self.confirmed.insert(addr);
        }
    }

    /// An AutoNAT result (the last [`MAX_TESTED`] addresses are kept).
    pub(super) fn tested(&mut self, addr: Multiaddr, result: Result<(), String>) {
        if self.tested.len() >= MAX_TESTED && !self.tested.contains_key(&addr) {
            self.tested.pop_first();
        }
        self.tested.insert(addr, result);
    }

    pub(super) fn expire(&mut self, addr: &Multiaddr) {
        self.confirmed.remove(addr);
    }

    /// A confirmed external address with a global IP.
    pub(super) fn is_public(&self) -> bool {
        self.confirmed
            .iter()
            .any(|a| ip_of(a).is_some_and(is_global))
    }

    /// For `status`.
    pub(super) fn verdict(&self) -> Reachability {
        if self.is_public() {
            Reachability::Public
        } else if !self.confirmed.is_empty() {
            Reachability::LocalNetworkOnly
        } else if !self.tested.is_empty() && self.tested.values().all(|r| r.is_err()) {
            Reachability::NotReachable
        } else {
            Reachability::Unknown
        }
    }

    /// The AutoNAT results kept, for `status`.
    pub(super) fn tests(&self) -> Vec<AddrTest> {
        self.tested
            .iter()
            .map(|(a, r)| AddrTest {
                addr: a.to_string(),
                reachable: r.is_ok(),
                error: r.as_ref().err().cloned(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_confirmed_global_address_is_public() {
        let mut r = Reach::default();
        assert_eq!(r.verdict(), Reachability::Unknown);
        r.tested.insert(
            "/ip4/10.0.0.2/tcp/1".parse().unwrap(),
            Err("no dial back".into()),
        );
        assert_eq!(r.verdict(), Reachability::NotReachable);
        r.confirm("/ip4/127.0.0.1/tcp/1".parse().unwrap());
        r.confirm("/ip4/192.168.1.2/tcp/1".parse().unwrap());
        r.confirm("/ip4/100.64.1.2/tcp/1".parse().unwrap());
        r.confirm(
            "/ip4/203.0.114.1/tcp/1/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN/p2p-circuit"
                .parse()
                .unwrap(),
        );
        assert_eq!(r.verdict(), Reachability::LocalNetworkOnly);
        assert!(!r.is_public());
        r.confirm("/ip4/203.0.114.1/udp/7820/quic-v1".parse().unwrap());
        assert!(r.is_public());
        assert_eq!(r.verdict(), Reachability::Public);
        r.expire(&"/ip4/203.0.114.1/udp/7820/quic-v1".parse().unwrap());
        assert!(!r.is_public());
    }
}
