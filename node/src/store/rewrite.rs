//! Rewriting a sled store into fresh files: to move a store of an older
//! format to the current one, and to compact (sled keeps old versions of
//! pages on disk until it reuses their segment; a copy holds live data
//! only).
//!
//! The copy is built next to the store, flushed, then swapped in; each
//! step leaves a state [`recover`] resolves after a crash: the new store
//! is complete before the old one is moved aside, and the old one is
//! removed only once the new one is in place.

use std::path::{Path, PathBuf};

use super::StoreError;

/// Entries copied per batch; the copy is flushed after each. sled builds
/// compressed pages from what a flush writes: batches of 2000 unflushed
/// made a copy 28% larger and twice as slow to write (measured on the
/// demo data's 44,000 entries).
const BATCH: usize = 500;

/// Held while a store is checked for, or goes through, a rewrite: a second
/// process opening the store meanwhile gets [`StoreError::Locked`] instead
/// of seeing a half-built copy.
pub(super) struct RewriteLock(#[allow(dead_code)] std::fs::File);

impl RewriteLock {
    pub(super) fn take(dir: &Path) -> Result<RewriteLock, StoreError> {
        use std::os::fd::AsRawFd;
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(sibling(dir, ".lock"))?;
        // SAFETY: flock on a descriptor this function owns.
        if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            return Err(StoreError::Locked);
        }
        Ok(RewriteLock(f))
    }
}

/// `dir` with `suffix` added to its name.
fn sibling(dir: &Path, suffix: &str) -> PathBuf {
    let mut name = dir.file_name().map(|n| n.to_owned()).unwrap_or_default();
    name.push(suffix);
    dir.with_file_name(name)
}

/// Where a rewrite of the store in `dir` builds its copy, and where it
/// moves the store aside during the swap.
pub(super) fn paths(dir: &Path) -> (PathBuf, PathBuf) {
    (sibling(dir, ".rewrite"), sibling(dir, ".before-rewrite"))
}

/// Copy the data tree of `from` into a new store made by `open_new` next
/// to `dir`, each entry passed through `entry` (its key and value; the
/// value to write, `None` to leave the entry out), then `finish` it (mark
/// its format), flush, and swap it in for the store in `dir`. `from` must
/// be the store in `dir`; it is closed before the swap.
pub(super) fn rewrite(
    dir: &Path,
    from: sled::Db,
    open_new: impl Fn(&Path) -> Result<sled::Db, StoreError>,
    entry: impl Fn(&[u8], &[u8]) -> Result<Option<Vec<u8>>, StoreError>,
    finish: impl Fn(&sled::Db) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let (new_dir, _) = paths(dir);
    if new_dir.exists() {
        std::fs::remove_dir_all(&new_dir)?;
    }
    {
        let to = open_new(&new_dir)?;
        copy(&from, &to, entry, || false)?;
        finish(&to)?;
        to.flush()?;
    }
    drop(from);
    swap(dir, &|_| {})
}

/// Copy the data tree of `from` into `to`, each entry passed through
/// `entry` (see [`rewrite`]), flushing `to` every [`BATCH`] entries, last
/// key first.
///
/// Why backwards: the copy's size on disk is the end of sled's log, and
/// sled rewrites a page whole at each split and every 10 entries, so the
/// copy leaves old versions behind as it goes, freed only as it goes on.
/// The large values (records `r`, snapshots `s`) sort after the small
/// ones: copied in key order they come last, and the copy of the demo
/// data's store after a clone came out as large as the store (24.1-26.2
/// MB from 26.7 MB); copied last key first, they come first, the small
/// tables written after them reuse the room their old versions freed, and
/// the copy is a fifth smaller (19.4-21.5 MB), in the same time (1.5-2.2
/// s). Alone, each table copies to within 5% either way.
pub(super) fn copy(
    from: &sled::Db,
    to: &sled::Db,
    entry: impl Fn(&[u8], &[u8]) -> Result<Option<Vec<u8>>, StoreError>,
    stop: impl Fn() -> bool,
) -> Result<bool, StoreError> {
    let mut batch = sled::Batch::default();
    let mut n = 0;
    for kv in from.iter().rev() {
        let (k, v) = kv?;
        let Some(v) = entry(&k, &v)? else {
            continue;
        };
        batch.insert(k, v);
        n += 1;
        if n == BATCH {
            to.apply_batch(std::mem::take(&mut batch))?;
            to.flush()?;
            n = 0;
            if stop() {
                return Ok(false);
            }
        }
    }
    to.apply_batch(batch)?;
    Ok(true)
}

/// A point in [`swap`] (tests stop there to take a crash image).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum SwapStep {
    /// The store was moved aside; the copy is not in place yet.
    MovedAside,
    /// The copy is in place; the store before is still next to it.
    MovedIn,
}

/// Put the complete, flushed, closed copy next to `dir` in its place: the
/// store in `dir` must be closed. Each step leaves a state [`recover`]
/// resolves; `step` is told of each.
pub(super) fn swap(dir: &Path, step: &dyn Fn(SwapStep)) -> Result<(), StoreError> {
    let (new_dir, old_dir) = paths(dir);
    sync_dir(&new_dir)?;
    std::fs::rename(dir, &old_dir)?;
    step(SwapStep::MovedAside);
    std::fs::rename(&new_dir, dir)?;
    sync_parent(dir)?;
    step(SwapStep::MovedIn);
    std::fs::remove_dir_all(&old_dir)?;
    Ok(())
}

/// Finish or undo a rewrite a crash interrupted: if the store was moved
/// aside, the new one is complete (put it in place); if not, the new one
/// may be partial (remove it).
pub(super) fn recover(dir: &Path) -> Result<(), StoreError> {
    let (new_dir, old_dir) = paths(dir);
    if old_dir.exists() {
        if !dir.exists() {
            std::fs::rename(&new_dir, dir)?;
            sync_parent(dir)?;
        }
        std::fs::remove_dir_all(&old_dir)?;
    } else if new_dir.exists() {
        std::fs::remove_dir_all(&new_dir)?;
    }
    Ok(())
}

fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}

fn sync_parent(dir: &Path) -> Result<(), StoreError> {
    match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => sync_dir(p),
        _ => Ok(()),
    }
}
