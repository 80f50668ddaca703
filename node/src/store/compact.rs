//! Compacting a store while the node serves it.
//!
//! sled keeps old versions of pages on disk; after a big import or clone a
//! store is several times its live data (477 MiB at ten times the demo
//! data). Rewriting it (see [`super::rewrite`]) took 24 s at that size,
//! and did so in [`super::SledStore::open`], before the node answered
//! anything. sled 0.34 cannot compact a database it has open, so the node
//! copies it in the background instead, while it serves:
//!
//! 1. the copy is built next to the store (`store.rewrite`), from a scan
//!    of the live store, flushed every few hundred entries; the node reads
//!    and writes the store as usual meanwhile, and every key it writes is
//!    noted (the scan may or may not have seen that write);
//! 2. then, with every other use of the store held off (a write lock no
//!    reader waits on: the compactor only tries it, so a thread holding a
//!    scan open never deadlocks against it), each noted key is copied
//!    again from the store as it is now, the copy is marked and flushed,
//!    and both databases are closed;
//! 3. the copy is swapped in as any rewrite is, and the store reopened.
//!
//! Why this is safe under kill -9 at any point: until step 3 the store in
//! place is the one every write went to and every flush made durable; the
//! copy is a separate directory the next open removes. Step 2 runs while
//! no write can happen, so the copy holds exactly what the store holds
//! when it is closed (flushed, then closed). Step 3 is the swap every
//! rewrite uses ([`super::rewrite::recover`] finishes or undoes it). A
//! node stopped while copying leaves the copy behind, removed on the next
//! open, which starts the compaction over.
//!
//! Why not compact at the end of the import instead: the import goes to
//! a running node, which would need this same swap under a live handle;
//! and a clone or a long run grows a store too.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, RwLock, RwLockReadGuard, TryLockError};
use std::time::{Duration, Instant};

use super::rewrite::{self, RewriteLock, SwapStep};
use super::StoreError;

/// How long the compactor tries to hold the store off before it gives up
/// (and leaves the compaction to the next start). Uses of the store are
/// short; a scan kept open this long means the node is busy.
const SWAP_WAIT: Duration = Duration::from_secs(60);

/// A point in a background compaction (tests stop there).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Step {
    /// The copy is being written (after its first batch).
    Copying,
    /// Everything the scan saw is copied; the swap has not started.
    Copied,
    /// The copy holds what the store holds and is flushed; both are
    /// closed, nothing was renamed yet.
    Flushed,
    /// See [`SwapStep`].
    MovedAside,
    MovedIn,
    /// The copy is the store, open again.
    Done,
}

/// The open store, as every user of it and the compactor share it.
pub(super) struct Live {
    pub(super) dir: PathBuf,
    /// `None` only while the compactor swaps (under the write lock), or if
    /// reopening the store after a swap failed.
    db: RwLock<Option<sled::Db>>,
    /// Keys written since the compaction's scan started (`None` when no
    /// compaction runs).
    dirty: Mutex<Option<BTreeSet<Vec<u8>>>>,
    /// Set when the store is closed: a compaction under way stops.
    pub(super) stop: AtomicBool,
    /// Told of each [`Step`] (tests).
    on_step: Mutex<Option<StepHook>>,
}

type StepHook = Box<dyn Fn(Step) + Send>;

/// The open database, for as long as this is held (a compaction's swap
/// waits for it to be let go).
pub(super) struct Open<'a>(RwLockReadGuard<'a, Option<sled::Db>>);

impl std::ops::Deref for Open<'_> {
    type Target = sled::Db;
    fn deref(&self) -> &sled::Db {
        self.0.as_ref().expect("checked when taken")
    }
}

fn closed() -> StoreError {
    StoreError::Io(std::io::Error::other(
        "the store could not be reopened after its compaction (see the log)",
    ))
}

impl Live {
    pub(super) fn new(dir: &Path, db: sled::Db) -> Live {
        Live {
            dir: dir.to_owned(),
            db: RwLock::new(Some(db)),
            dirty: Mutex::new(None),
            stop: AtomicBool::new(false),
            on_step: Mutex::new(None),
        }
    }

    pub(super) fn read(&self) -> Result<Open<'_>, StoreError> {
        let guard = self.db.read().unwrap_or_else(|e| e.into_inner());
        match *guard {
            Some(_) => Ok(Open(guard)),
            None => Err(closed()),
        }
    }

    /// Note keys just written (call it while holding the [`Open`] the
    /// write went through, so the swap cannot miss them).
    pub(super) fn written(&self, keys: impl Iterator<Item = Vec<u8>>) {
        if let Some(set) = self
            .dirty
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_mut()
        {
            set.extend(keys);
        }
    }

    #[cfg(test)]
    pub(super) fn on_step(&self, hook: impl Fn(Step) + Send + 'static) {
        *self.on_step.lock().unwrap() = Some(Box::new(hook));
    }

    fn step(&self, step: Step) {
        if let Some(hook) = &*self.on_step.lock().unwrap_or_else(|e| e.into_inner()) {
            hook(step)
        }
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

/// A compaction, started (its copy created, writes noted from now on) and
/// ready to run on a thread of its own.
pub(super) struct Compaction {
    to: sled::Db,
    _lock: RewriteLock,
}

impl Compaction {
    /// Start compacting `live`; `open_new` makes the copy. Writes may go
    /// on meanwhile: each one notes its keys after it applied them (still
    /// holding the store), so one whose keys are not noted because it
    /// came before this was applied before the scan of [`Compaction::run`]
    /// begins, and the scan sees it.
    pub(super) fn start(
        live: &Live,
        open_new: impl Fn(&Path) -> Result<sled::Db, StoreError>,
    ) -> Result<Compaction, StoreError> {
        let lock = RewriteLock::take(&live.dir)?;
        let (new_dir, _) = rewrite::paths(&live.dir);
        if new_dir.exists() {
            std::fs::remove_dir_all(&new_dir)?;
        }
        let to = open_new(&new_dir)?;
        *live.dirty.lock().unwrap_or_else(|e| e.into_inner()) = Some(BTreeSet::new());
        Ok(Compaction { to, _lock: lock })
    }

    /// Copy, swap, reopen (see the module's comment). `finish` marks the
    /// copy (its format), `reopen` opens the store again, `opened` records
    /// what it needs to about the compacted store. Whatever happens, the
    /// store is open again afterwards (or, if that fails, every use of it
    /// fails with an error).
    pub(super) fn run(
        self,
        live: &Live,
        finish: impl Fn(&sled::Db) -> Result<(), StoreError>,
        reopen: impl Fn(&Path) -> Result<sled::Db, StoreError>,
        opened: impl Fn(&sled::Db) -> Result<(), StoreError>,
    ) -> Result<bool, StoreError> {
        let started = Instant::now();
        let Compaction { to, _lock } = self;
        // Closed and opened again before the swap: sled writes its
        // snapshot (where its pages are) when it opens a database, and
        // without one it reads its whole log to open it (6 s for a copy of
        // the store at ten times the demo data), which would happen under
        // the swap's lock, or on the next start.
        let copied = copy_all(live, &to).and_then(|done| {
            to.flush()?;
            Ok(done)
        });
        let new_dir = rewrite::paths(&live.dir).0;
        let (copied, to) = match copied {
            Ok(true) => {
                drop(to);
                match reopen(&new_dir) {
                    Ok(to) => (Ok(true), to),
                    Err(e) => {
                        abandon_closed(live)?;
                        return Err(e);
                    }
                }
            }
            other => (other, to),
        };
        let mut slot = match copied {
            Ok(true) => match hold_off(live) {
                Some(slot) => slot,
                None => return abandon(live, to).map(|_| false),
            },
            Ok(false) => return abandon(live, to).map(|_| false),
            Err(e) => {
                abandon(live, to)?;
                return Err(e);
            }
        };
        let old = slot.take().expect("the store is open while compacting");
        let dirty = live.dirty.lock().unwrap_or_else(|e| e.into_inner()).take();
        let swapped = swap_in(live, old, to, dirty.unwrap_or_default(), &finish);
        // Whatever the swap got to, the store in place now is complete:
        // the copy once it was moved in, the store before if not.
        let db = rewrite::recover(&live.dir).and_then(|_| reopen(&live.dir));
        let db = match db {
            Ok(db) => db,
            Err(e) => {
                tracing::error!(store = %live.dir.display(), error = %e, "the store could not be reopened after its compaction");
                return Err(e);
            }
        };
        opened(&db)?;
        *slot = Some(db);
        drop(slot);
        swapped?;
        live.step(Step::Done);
        tracing::info!(
            store = %live.dir.display(),
            secs = started.elapsed().as_secs_f64(),
            "the store is compacted"
        );
        Ok(true)
    }
}

/// Copy what a scan of the live store sees (writes go on meanwhile).
fn copy_all(live: &Live, to: &sled::Db) -> Result<bool, StoreError> {
    let from = live.read()?.clone();
    let first = AtomicBool::new(true);
    let done = rewrite::copy(
        &from,
        to,
        |_, v| Ok(Some(v.to_vec())),
        || {
            if first.swap(false, Ordering::Relaxed) {
                live.step(Step::Copying);
            }
            live.stopped()
        },
    )?;
    if done {
        live.step(Step::Copied);
    }
    Ok(done)
}

/// Take the store from every other user: the write lock, tried (never
/// waited on, so that a thread holding a scan open and reading again
/// cannot deadlock with this one) until [`SWAP_WAIT`] is over or the store
/// is closed.
fn hold_off(live: &Live) -> Option<std::sync::RwLockWriteGuard<'_, Option<sled::Db>>> {
    let started = Instant::now();
    loop {
        match live.db.try_write() {
            Ok(slot) => return Some(slot),
            Err(TryLockError::Poisoned(e)) => return Some(e.into_inner()),
            Err(TryLockError::WouldBlock) => {
                if live.stopped() || started.elapsed() > SWAP_WAIT {
                    tracing::warn!(store = %live.dir.display(), "the store stayed busy; compacting it is left to the next start");
                    return None;
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        }
    }
}

/// Bring the copy up to the store (`dirty`: keys written since the scan
/// started), flush and close both, swap.
fn swap_in(
    live: &Live,
    old: sled::Db,
    to: sled::Db,
    dirty: BTreeSet<Vec<u8>>,
    finish: &dyn Fn(&sled::Db) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let mut batch = sled::Batch::default();
    for k in dirty {
        match old.get(&k)? {
            Some(v) => batch.insert(k, v),
            None => batch.remove(k),
        }
    }
    to.apply_batch(batch)?;
    finish(&to)?;
    to.flush()?;
    old.flush()?;
    drop(to);
    drop(old);
    live.step(Step::Flushed);
    rewrite::swap(&live.dir, &|s| {
        live.step(match s {
            SwapStep::MovedAside => Step::MovedAside,
            SwapStep::MovedIn => Step::MovedIn,
        })
    })
}

/// Stop noting writes and remove the copy.
fn abandon(live: &Live, to: sled::Db) -> Result<(), StoreError> {
    drop(to);
    abandon_closed(live)
}

/// [`abandon`], the copy closed already.
fn abandon_closed(live: &Live) -> Result<(), StoreError> {
    *live.dirty.lock().unwrap_or_else(|e| e.into_inner()) = None;
    let (new_dir, _) = rewrite::paths(&live.dir);
    if new_dir.exists() {
        std::fs::remove_dir_all(&new_dir)?;
    }
    Ok(())
}
