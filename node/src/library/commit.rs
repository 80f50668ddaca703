//! The one way a write becomes durable, and only then announced.
//!
//! Every writer builds a [`Batch`]: the store writes, plus the signed
//! changes and roster entries among them that peers should hear about.
//! [`Library::commit`] writes the batch and flushes the store; only after
//! the flush does it hand those changes and entries to the outbox (with the
//! peer a relayed change came from, so it is not pushed back) and wake the
//! network. A batch whose write or flush fails announces nothing, and
//! until a later flush succeeds nothing is served to peers either (see
//! [`Library::settle`]): nothing reaches a peer that is not durable here.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use libp2p::PeerId;
use tokio::sync::Notify;

use r2com_protocol::sync::Outbox;

use super::{Library, LibraryError};
use crate::store::Write;

/// Most changes (and, separately, roster entries) the outbox or one batch
/// holds; beyond that they are dropped and every peer gets a round instead.
pub const OUTBOX_CAPACITY: usize = 10_000;

/// Writes that become durable together, and what peers are told once they
/// are.
#[derive(Default)]
pub struct Batch {
    writes: Vec<Write>,
    /// Encoded signed changes the writes store.
    changes: Vec<Vec<u8>>,
    /// Encoded roster entries the writes store.
    entries: Vec<Vec<u8>>,
    /// Changes were dropped past [`OUTBOX_CAPACITY`], or not at hand
    /// ([`Batch::change_held`]): every peer gets a round.
    overflowed: bool,
    /// The peer the changes came from (`None`: made here, or from a file).
    origin: Option<PeerId>,
}

impl Batch {
    /// A batch of plain writes (nothing to announce).
    pub fn of(writes: Vec<Write>) -> Batch {
        Batch {
            writes,
            ..Batch::default()
        }
    }

    /// A batch of changes received from `origin`: relayed to every peer but
    /// that one.
    pub fn relayed_from(origin: Option<PeerId>) -> Batch {
        Batch {
            origin,
            ..Batch::default()
        }
    }

    pub fn write(&mut self, w: Write) {
        self.writes.push(w);
    }

    pub fn extend(&mut self, writes: impl IntoIterator<Item = Write>) {
        self.writes.extend(writes);
    }

    /// Announce this signed change once the batch is durable.
    pub fn change(&mut self, envelope: Vec<u8>) {
        if self.changes.len() >= OUTBOX_CAPACITY {
            self.changes.clear();
            self.overflowed = true;
        }
        if !self.overflowed {
            self.changes.push(envelope);
        }
    }

    /// The batch stores a change received without its envelope (a clone's
    /// document, whose snapshot holds its bytes): not rebuilt to be
    /// pushed, every peer gets a round instead once the batch is durable,
    /// as when the outbox overflows.
    pub fn change_held(&mut self) {
        self.changes.clear();
        self.overflowed = true;
    }

    /// Announce this roster entry once the batch is durable.
    pub fn entry(&mut self, entry: Vec<u8>) {
        self.entries.push(entry);
    }

    /// Take over another batch's writes and announcements.
    pub fn append(&mut self, other: Batch) {
        self.writes.extend(other.writes);
        for c in other.changes {
            self.change(c);
        }
        self.overflowed |= other.overflowed;
        self.entries.extend(other.entries);
    }

    /// Store writes waiting in the batch.
    pub fn pending_writes(&self) -> usize {
        self.writes.len()
    }
}

/// What a commit made durable. Only [`Library::commit`] makes one, after
/// the flush, and only it goes to the outbox.
struct Committed {
    changes: Vec<Vec<u8>>,
    entries: Vec<Vec<u8>>,
    overflowed: bool,
    origin: Option<PeerId>,
}

/// What was committed since the network last looked, how the network is
/// woken, and whether a failed commit left writes that are not durable.
#[derive(Default)]
pub(crate) struct CommitState {
    outbox: std::sync::Mutex<Outbox<PeerId>>,
    /// Signalled after each commit that announced something.
    notify: Arc<Notify>,
    /// Set while writes may be in the store that no flush has made durable
    /// (a commit is under way, or failed after writing).
    unflushed: AtomicBool,
    /// An open group commit (see [`Library::grouped`]): the thread that
    /// opened it, and the commits that wait for its flush.
    group: std::sync::Mutex<Option<(std::thread::ThreadId, Vec<Committed>)>>,
}

impl Library {
    /// Write a batch, flush, then announce its changes and entries. Returns
    /// only once everything in it is durable.
    ///
    /// Inside [`Library::grouped`] (on the thread that opened the group) the
    /// flush and the announcement wait for the group's end, and so must the
    /// caller's acknowledgement.
    pub(crate) fn commit(&self, mut batch: Batch) -> Result<(), LibraryError> {
        self.write_part(&mut batch)?;
        let committed = Committed {
            changes: batch.changes,
            entries: batch.entries,
            overflowed: batch.overflowed,
            origin: batch.origin,
        };
        {
            let mut group = self.commits.group.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((owner, waiting)) = group.as_mut() {
                if *owner == std::thread::current().id() {
                    waiting.push(committed);
                    return Ok(());
                }
            }
        }
        self.store.flush()?;
        self.commits.unflushed.store(false, Ordering::SeqCst);
        self.announce(committed);
        Ok(())
    }

    /// Group commit: run `f` (several requests' writes) with every commit
    /// in it written but not flushed, then make all of them durable with
    /// one flush and only then announce them. Nothing `f` wrote may be
    /// acknowledged before this returns `Ok`; on `Err` none of it is
    /// durable for sure (and none is announced or served, see
    /// [`Library::settle`]).
    pub fn grouped<R>(&self, f: impl FnOnce() -> R) -> Result<R, LibraryError> {
        /// Closes the group however `f` ends (a panic too).
        struct Open<'a>(&'a CommitState);
        impl Open<'_> {
            fn close(&self) -> Vec<Committed> {
                let mut g = self.0.group.lock().unwrap_or_else(|e| e.into_inner());
                g.take().map(|(_, w)| w).unwrap_or_default()
            }
        }
        impl Drop for Open<'_> {
            fn drop(&mut self) {
                self.close();
            }
        }
        *self.commits.group.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((std::thread::current().id(), Vec::new()));
        let open = Open(&self.commits);
        let r = f();
        let waiting = open.close();
        self.settle()?;
        for c in waiting {
            self.announce(c);
        }
        Ok(r)
    }

    /// Write what the batch holds so far, not yet durable (a large batch
    /// written in pieces); its announcements wait for [`Library::commit`].
    /// Every store write of the library passes here, and the catalog and
    /// the tally follow it here.
    pub(crate) fn write_part(&self, batch: &mut Batch) -> Result<(), LibraryError> {
        if !batch.writes.is_empty() {
            self.commits.unflushed.store(true, Ordering::SeqCst);
            self.loaded.forget_written(&batch.writes);
            self.tally.write(
                &*self.store,
                &self.catalog,
                std::mem::take(&mut batch.writes),
            )?;
        }
        Ok(())
    }

    /// Make sure everything in the store is durable before any of it is
    /// served to a peer: a commit that failed after writing left writes no
    /// flush has covered yet.
    pub(crate) fn settle(&self) -> Result<(), LibraryError> {
        if self.commits.unflushed.load(Ordering::SeqCst) {
            self.store.flush()?;
            self.commits.unflushed.store(false, Ordering::SeqCst);
        }
        Ok(())
    }

    fn announce(&self, c: Committed) {
        if c.changes.is_empty() && c.entries.is_empty() && !c.overflowed {
            return;
        }
        let a = &self.commits;
        {
            let mut o = a.outbox.lock().unwrap_or_else(|e| e.into_inner());
            if c.overflowed || o.changes.len() + c.changes.len() > OUTBOX_CAPACITY {
                o.changes.clear();
                o.overflowed = true;
            } else {
                o.changes
                    .extend(c.changes.into_iter().map(|env| (c.origin, env)));
            }
            if o.roster.len() + c.entries.len() > OUTBOX_CAPACITY {
                o.roster.clear();
                o.overflowed = true;
            } else {
                o.roster.extend(c.entries);
            }
        }
        a.notify.notify_one();
    }

    /// Take what was committed since the last call (for the sync machine).
    pub fn take_outbox(&self) -> Outbox<PeerId> {
        std::mem::take(
            &mut *self
                .commits
                .outbox
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        )
    }

    /// Signalled after every commit that left something in the outbox.
    pub fn committed(&self) -> Arc<Notify> {
        self.commits.notify.clone()
    }
}
