//! What was written since the network last looked, to push to peers.

use std::collections::VecDeque;

use super::Library;

/// Most items the outbox holds; beyond that the network falls back to a
/// full summary round with each peer.
const OUTBOX_CAPACITY: usize = 10_000;

/// What was written since the network last looked.
#[derive(Default)]
pub struct Outbox {
    /// Encoded change envelopes, with the peer they came from (not pushed
    /// back to it).
    pub changes: VecDeque<(Option<String>, Vec<u8>)>,
    /// Encoded roster entries.
    pub roster: VecDeque<Vec<u8>>,
    /// Items were dropped: peers need a summary round.
    pub overflowed: bool,
}

impl Outbox {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.roster.is_empty() && !self.overflowed
    }
}

impl Library {
    pub(crate) fn to_outbox(&self, envelope: Vec<u8>) {
        let origin = self
            .current_origin
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mut o = self.outbox.lock().unwrap_or_else(|e| e.into_inner());
        if o.changes.len() >= OUTBOX_CAPACITY {
            o.changes.clear();
            o.overflowed = true;
        }
        o.changes.push_back((origin, envelope));
    }

    pub(crate) fn to_outbox_entry(&self, entry: Vec<u8>) {
        let mut o = self.outbox.lock().unwrap_or_else(|e| e.into_inner());
        if o.roster.len() >= OUTBOX_CAPACITY {
            o.roster.clear();
            o.overflowed = true;
        }
        o.roster.push_back(entry);
    }

    /// Take what was written since the last call.
    pub fn take_outbox(&self) -> Outbox {
        std::mem::take(&mut *self.outbox.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Drop the outbox (nobody to push to).
    pub fn outbox_is_empty(&self) -> bool {
        self.outbox
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }
}
