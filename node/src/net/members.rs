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

use libp2p::PeerId;

use r2com_protocol::roster::{Action, Roster, SignedEntry, Standing};

use crate::identity::peer_id_of;

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
    pub(super) fn set(&self, new: HashSet<PeerId>) -> Vec<PeerId> {
        let mut set = self.0.write().unwrap_or_else(|e| e.into_inner());
        let added = new.difference(&set).copied().collect();
        *set = new;
        added
    }
}

/// The live members of `roster`, this node (`me`, hex key) left out.
pub(super) fn live_members(roster: &Roster, me: &str) -> HashSet<PeerId> {
    roster
        .orgs
        .iter()
        .flat_map(|o| o.keys.iter())
        .filter(|k| k.key != me && roster.is_live_member(&k.key))
        .filter_map(|k| peer_id_of(&k.key))
        .collect()
}

/// The holders of open invites not admitted yet (who may connect to hand
/// in their admission), as [`Roster::standing`] tells them.
pub(super) fn invitees(roster: &Roster) -> HashSet<PeerId> {
    roster
        .invites
        .values()
        .filter(|i| roster.standing(&i.key) == Standing::Invitee)
        .filter_map(|i| peer_id_of(&i.key))
        .collect()
}

/// While this node waits for its admission: the nodes that invited it
/// (the authors of its invites), which it may dial when mDNS finds them so
/// as to hand in the admission. Empty once admitted.
pub(super) fn inviters(l: &crate::library::Library) -> HashSet<PeerId> {
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
