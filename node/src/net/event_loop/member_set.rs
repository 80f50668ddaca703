//! Keeping the live member set and the gate's view (invitees, whether this
//! node awaits its admission) current as the roster changes, and dialing
//! the inviters mDNS finds (the set is [`crate::net::members`], the gate
//! [`crate::net::gate`]).

use super::{same_roster, Loop};
use crate::net::members::{invitees, inviters, live_members};
use crate::store::keys;
use libp2p::{Multiaddr, PeerId};
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
                (!same_roster(&roster, &known))
                    .then(|| (roster, l.key().public().to_hex(), inviters(l)))
            })
            .await
        else {
            return;
        };
        let set = roster
            .as_deref()
            .map(|r| live_members(r, &me))
            .unwrap_or_default();
        // The gate's view first: who may connect from now on.
        self.admission.update(|p| {
            p.invitees = roster.as_deref().map(invitees).unwrap_or_default();
            p.awaiting = roster.as_deref().is_some_and(|r| r.awaiting_admission(&me));
        });
        self.inviters = inviters;
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
