//! Keeping the live member set current as the roster changes, and dialing
//! the inviters mDNS finds (the set is [`crate::net::members`]).

use super::Loop;
use crate::net::members::{inviters, live_members};
use crate::store::keys;
use libp2p::{Multiaddr, PeerId};
use std::sync::Arc;
use tracing::info;

impl Loop {
    /// Look at the roster; if it changed, re-evaluate the member set and
    /// act on the change (records of former members dropped, new members
    /// told our addresses and dialed).
    pub(in crate::net) async fn refresh_members(&mut self) {
        let known = self.roster.clone();
        let Ok(Some((roster, me, inviters))) = self
            .library
            .with(move |l| {
                let roster = l.roster();
                let same = match (&roster, &known) {
                    (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                    (None, None) => true,
                    _ => false,
                };
                (!same).then(|| (roster, l.key().public().to_hex(), inviters(l)))
            })
            .await
        else {
            return;
        };
        self.inviters = inviters;
        let set = roster
            .as_deref()
            .map(|r| live_members(r, &me))
            .unwrap_or_default();
        self.roster = roster;
        let added = self.members.set(set);
        let gone = self.book.retain_members(&self.members);
        if !gone.is_empty() {
            let _ = self
                .library
                .with(move |l| {
                    let writes = gone
                        .iter()
                        .map(|p| (keys::key(keys::PEER_RECORD, p.to_base58().as_bytes()), None))
                        .collect();
                    l.store().write(writes)
                })
                .await;
        }
        for peer in added {
            if self.swarm.is_connected(&peer) {
                self.send_book(peer);
            }
        }
        self.dial_members();
        self.dial_discovered_inviters();
    }

    /// Dial the inviters mDNS found (the invite may carry no address).
    pub(in crate::net) fn dial_discovered_inviters(&mut self) {
        let found: Vec<(PeerId, Multiaddr)> = self
            .inviters
            .iter()
            .filter(|p| !self.swarm.is_connected(p))
            .filter_map(|p| Some((*p, self.discovered.get(p)?.first()?.clone())))
            .collect();
        for (peer, addr) in found {
            info!(%peer, %addr, "mDNS found the member that invited this node");
            self.dial_discovered(peer, addr);
        }
    }
}
