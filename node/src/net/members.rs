//! Who the live members are, as PeerIds, for the parts of the network that
//! decide without the sync machine: whose address records are accepted and
//! dialed, who may reserve a slot on this node's relay or open a circuit
//! through it, which discovered peers are dialed.
//!
//! The set is evaluated from the roster whenever it changes (the loop
//! looks every second, and at once after a join or an admission) and
//! shared with the relay behaviour, which checks it inside the swarm.

use std::collections::HashSet;
use std::sync::{Arc, RwLock};

use libp2p::{Multiaddr, PeerId};
use tracing::info;

use r2com_protocol::roster::{Action, Roster, SignedEntry};

use super::event_loop::Loop;
use crate::identity::peer_id_of;
use crate::store::keys;

/// The live members other than this node, shared with the relay.
#[derive(Clone, Default)]
pub(super) struct Members(Arc<RwLock<HashSet<PeerId>>>);

impl Members {
    pub(super) fn contains(&self, peer: &PeerId) -> bool {
        self.0
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains(peer)
    }

    pub(super) fn all(&self) -> Vec<PeerId> {
        let set = self.0.read().unwrap_or_else(|e| e.into_inner());
        set.iter().copied().collect()
    }

    #[cfg(test)]
    pub(super) fn set_for_test(&self, peers: impl IntoIterator<Item = PeerId>) {
        self.set(peers.into_iter().collect());
    }

    /// Replace the set; the peers that joined it.
    fn set(&self, new: HashSet<PeerId>) -> Vec<PeerId> {
        let mut set = self.0.write().unwrap_or_else(|e| e.into_inner());
        let added = new.difference(&set).copied().collect();
        *set = new;
        added
    }
}

/// The live members of `roster`, this node (`me`, hex key) left out.
fn live_members(roster: &Roster, me: &str) -> HashSet<PeerId> {
    roster
        .orgs
        .iter()
        .flat_map(|o| o.keys.iter())
        .filter(|k| k.key != me && roster.is_live_member(&k.key))
        .filter_map(|k| peer_id_of(&k.key))
        .collect()
}

/// While this node waits for its admission: the nodes that invited it
/// (the authors of its invites), which it may dial when mDNS finds them so
/// as to hand in the admission. Empty once admitted.
fn inviters(l: &crate::library::Library) -> HashSet<PeerId> {
    let me = l.key().public().to_hex();
    if l.roster().is_some_and(|r| r.is_live_member(&me)) {
        return HashSet::new();
    }
    l.own_admission()
        .unwrap_or_default()
        .iter()
        .filter_map(|b| SignedEntry::decode(b).ok())
        .filter(|e| matches!(e.entry.action, Action::Invite(_)))
        .filter_map(|e| peer_id_of(&e.entry.author))
        .collect()
}

impl Loop {
    /// Look at the roster; if it changed, re-evaluate the member set and
    /// act on the change (records of former members dropped, new members
    /// told our addresses and dialed).
    pub(super) async fn refresh_members(&mut self) {
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
    pub(super) fn dial_discovered_inviters(&mut self) {
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
