use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::compact::{Compaction, Live};
use super::rewrite::{self, RewriteLock};
use super::{codec, keys, Entry, Store, StoreError, Write};

/// Page cache of the store; bounds the node's memory.
const CACHE_BYTES: u64 = 1024 * 1024;

/// zstd level of sled's page compression. Every page sled writes (each
/// flushed batch) is compressed at this level; 3 is cheap enough for the
/// edit loop and saves most of what higher levels would (README,
/// Performance).
const COMPRESSION_LEVEL: i32 = 3;

/// Where the store's format is kept: a tree of its own, so that the data
/// tree holds only the key layout of [`super::keys`].
const FORMAT_TREE: &[u8] = b"r2com-format";
const FORMAT_KEY: &[u8] = b"values";
/// Values are stored as given, and sled compresses its pages (zstd), which
/// sees many values at once. Search texts are not stored (the catalog
/// derives them from the records).
const FORMAT: &[u8] = b"sled-zstd-1";
/// The format before: each value zstd-compressed on its own behind a tag
/// byte (see [`codec`]), sled's pages as they are, search texts stored.
const FORMAT_TAGGED: &[u8] = b"tagged-zstd-1";
/// The store's size on disk right after it was last rewritten.
const COMPACTED_KEY: &[u8] = b"compacted-bytes";
/// A store is compacted when it is more than twice its size after the
/// last rewrite, and more than this (sled leaves old versions of pages on
/// disk; a big import or clone leaves a store several times its data),
/// unless the node's configuration says otherwise (`[store]`). The demo
/// data's store after a clone (5,000 practices and 2,000 events, 24-26
/// MiB) is past it: its copy, written last key first (see `copy` in
/// `rewrite.rs`), is a fifth smaller (26.7 -> 19.4-21.5 MB). Much
/// smaller stores are not worth a rewrite.
pub const COMPACT_ABOVE: u64 = if cfg!(test) { 1 } else { 16 } * 1024 * 1024;

/// The node's store: one sled tree, so that a batch spanning a change, its
/// record and its document state is atomic.
pub struct SledStore {
    live: Arc<Live>,
    /// The size a store must pass to be compacted (see [`COMPACT_ABOVE`]).
    compact_above: u64,
    /// The background compaction, if one was started.
    compactor: Mutex<Option<JoinHandle<()>>>,
}

/// sled's settings for a store (also for tests that open one directly).
pub fn sled_config(dir: &Path) -> sled::Config {
    plain_config(dir)
        .use_compression(true)
        .compression_factor(COMPRESSION_LEVEL)
}

/// sled's settings of stores written before sled compressed their pages
/// (sled opens a database only with the compression it was made with).
pub(super) fn plain_config(dir: &Path) -> sled::Config {
    sled::Config::new().path(dir).cache_capacity(CACHE_BYTES)
}

/// How long opening a sled database waits while its lock is held by a
/// handle on its way out: one this process dropped (sled 0.34 releases the
/// lock only when its flusher thread ends, a moment after the drop; a key
/// rotation reopens the store in the same process, and so do tests), or a
/// process in its last moments after it let go of `node.lock` (see
/// [`crate::dir_lock`], which keeps live processes apart before sled is
/// reached).
const LOCK_RELEASE_WAIT: Duration = Duration::from_secs(5);

/// Whether sled refused to open a database because a handle holds its lock.
/// sled 0.34 reports that as an `ErrorKind::Other` I/O error whose message
/// starts with "could not acquire lock".
pub fn is_lock_error(e: &sled::Error) -> bool {
    match e {
        sled::Error::Io(io) => {
            io.kind() == std::io::ErrorKind::WouldBlock
                || io.raw_os_error() == Some(11)
                || io.to_string().starts_with("could not acquire lock")
        }
        _ => false,
    }
}

/// Open a sled database, waiting up to [`LOCK_RELEASE_WAIT`] while its lock
/// is held; the last error if it still is.
pub fn open_waiting(config: &sled::Config) -> sled::Result<sled::Db> {
    let started = Instant::now();
    loop {
        match config.open() {
            Err(e) if is_lock_error(&e) && started.elapsed() < LOCK_RELEASE_WAIT => {
                std::thread::sleep(Duration::from_millis(20))
            }
            other => return other,
        }
    }
}

fn open_with(config: &sled::Config) -> Result<sled::Db, StoreError> {
    open_waiting(config).map_err(|e| {
        if is_lock_error(&e) {
            StoreError::Locked
        } else {
            StoreError::Sled(e)
        }
    })
}

fn open_db(dir: &Path) -> Result<sled::Db, StoreError> {
    open_with(&sled_config(dir))
}

/// Whether sled refused to open a database because it was made with other
/// compression settings (sled 0.34 says so in an `Unsupported` error).
fn is_compression_mismatch(e: &StoreError) -> bool {
    matches!(e, StoreError::Sled(sled::Error::Unsupported(m)) if m.contains("use_compression"))
}

fn mark_format(db: &sled::Db) -> Result<(), StoreError> {
    db.open_tree(FORMAT_TREE)?.insert(FORMAT_KEY, FORMAT)?;
    Ok(())
}

/// The store's format entry, if it has one.
fn format_of(db: &sled::Db) -> Result<Option<sled::IVec>, StoreError> {
    Ok(db.open_tree(FORMAT_TREE)?.get(FORMAT_KEY)?)
}

fn unknown(format: Option<&[u8]>) -> StoreError {
    StoreError::Format(format.map_or("none".into(), |f| String::from_utf8_lossy(f).into_owned()))
}

/// The store's size after its last rewrite (0 if never rewritten).
fn compacted_size(db: &sled::Db) -> Result<u64, StoreError> {
    Ok(db
        .open_tree(FORMAT_TREE)?
        .get(COMPACTED_KEY)?
        .and_then(|v| <[u8; 8]>::try_from(v.as_ref()).ok())
        .map_or(0, u64::from_be_bytes))
}

/// The store's size if it grew past twice its size after it was last
/// rewritten, and past `above` bytes.
fn grown(db: &sled::Db, above: u64) -> Result<Option<u64>, StoreError> {
    let size = db.size_on_disk()?;
    let compacted = compacted_size(db)?;
    tracing::debug!(
        mib = size >> 20,
        after_last_compaction_mib = compacted >> 20,
        "store size"
    );
    Ok((size > above && size > compacted.saturating_mul(2)).then_some(size))
}

/// Whether the compaction thread in `slot` still runs.
fn running(slot: &Option<JoinHandle<()>>) -> bool {
    slot.as_ref().is_some_and(|t| !t.is_finished())
}

/// A value of the current format, copied as it is.
fn as_is(_: &[u8], v: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(Some(v.to_vec()))
}

/// What becomes of an entry of a store written before sled compressed its
/// pages: its value as given (`tagged`: decoded), search texts dropped.
fn upgraded(tagged: bool) -> impl Fn(&[u8], &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
    move |k, v| {
        if k.starts_with(&[keys::SEARCH_BEFORE, 0]) {
            Ok(None)
        } else if tagged {
            codec::decode(v).map(Some)
        } else {
            Ok(Some(v.to_vec()))
        }
    }
}

/// Rewrite the store in `dir`, written before sled compressed its pages
/// (open with [`plain_config`]), into the current format.
fn upgrade(dir: &Path) -> Result<(), StoreError> {
    let db = open_with(&plain_config(dir))?;
    let tagged = match format_of(&db)? {
        None => false,
        Some(f) if f == FORMAT_TAGGED => true,
        Some(f) => return Err(unknown(Some(&f))),
    };
    tracing::info!(store = %dir.display(), "rewriting the store in its new format (once, after an upgrade)");
    rewrite::rewrite(dir, db, open_db, upgraded(tagged), mark_format)
}

impl SledStore {
    /// Open (or create) the store in `dir`. Fails with [`StoreError::Locked`]
    /// if another process holds it. A store of a format before (sled's
    /// pages uncompressed) is rewritten in the current one first; a
    /// rewrite a crash interrupted is finished or started over.
    ///
    /// A store that grew past twice its size after it was last rewritten
    /// (and past [`COMPACT_ABOVE`]) is not compacted here, which would hold
    /// up the node's start (24 s at ten times the demo data): the running
    /// node compacts it in the background
    /// ([`SledStore::compact_in_background`]).
    pub fn open(dir: &Path) -> Result<SledStore, StoreError> {
        let _rewriting = RewriteLock::take(dir)?;
        rewrite::recover(dir)?;
        let db = match open_db(dir) {
            Err(e) if is_compression_mismatch(&e) => {
                upgrade(dir)?;
                open_db(dir)?
            }
            Err(e) => return Err(e),
            Ok(db) => match format_of(&db)? {
                Some(f) if f == FORMAT => return Ok(SledStore::new(dir, db)),
                None if db.is_empty() => {
                    mark_format(&db)?;
                    db
                }
                f => return Err(unknown(f.as_deref())),
            },
        };
        record_compacted(&db)?;
        Ok(SledStore::new(dir, db))
    }

    fn new(dir: &Path, db: sled::Db) -> SledStore {
        SledStore {
            live: Arc::new(Live::new(dir, db)),
            compact_above: COMPACT_ABOVE,
            compactor: Mutex::new(None),
        }
    }

    /// Compact the store only past `bytes` (instead of [`COMPACT_ABOVE`]),
    /// and twice its size after it was last rewritten.
    pub fn set_compact_above(&mut self, bytes: u64) {
        self.compact_above = bytes;
    }

    /// Whether a compaction runs now (in the background).
    fn compacting(&self) -> bool {
        running(&self.compactor.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// If the store grew past twice its size after it was last rewritten
    /// (and past [`COMPACT_ABOVE`], or what [`SledStore::set_compact_above`]
    /// set), start compacting it on a thread of its own while it serves
    /// (see [`super::compact`]); whether one started. Nothing if one runs.
    ///
    /// Writes may go on meanwhile, also while it starts: a write noted
    /// before the compaction notes writes was applied before its scan
    /// begins (see [`Compaction::start`]).
    pub fn compact_in_background(&self) -> Result<bool, StoreError> {
        let mut compactor = self.compactor.lock().unwrap_or_else(|e| e.into_inner());
        if running(&compactor) {
            return Ok(false);
        }
        let Some(size) = grown(&*self.live.read()?, self.compact_above)? else {
            return Ok(false);
        };
        tracing::info!(
            store = %self.live.dir.display(),
            mib = size >> 20,
            "the store grew; it is compacted in the background while the node runs"
        );
        let compaction = Compaction::start(&self.live, open_db)?;
        let live = self.live.clone();
        let thread = std::thread::Builder::new()
            .name("store-compact".into())
            .spawn(move || {
                lower_priority();
                if let Err(e) = compaction.run(&live, mark_format, open_db, record_compacted) {
                    tracing::error!(store = %live.dir.display(), error = %e, "compacting the store failed; it is left as it was");
                }
            })?;
        *compactor = Some(thread);
        Ok(true)
    }

    /// Wait until a background compaction (if one runs) is over.
    pub fn wait_for_compaction(&self) {
        let thread = self
            .compactor
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }

    #[cfg(test)]
    pub(super) fn live(&self) -> &Live {
        &self.live
    }

    /// Rewrite the store in `dir` into fresh files that hold live data
    /// only. The store must not be open.
    pub fn compact(dir: &Path) -> Result<(), StoreError> {
        {
            let _rewriting = RewriteLock::take(dir)?;
            rewrite::recover(dir)?;
            match open_db(dir) {
                Ok(db) if format_of(&db)?.is_some_and(|f| f == FORMAT) => {
                    rewrite::rewrite(dir, db, open_db, as_is, mark_format)?
                }
                Ok(_) => {}
                Err(e) if is_compression_mismatch(&e) => {}
                Err(e) => return Err(e),
            }
        }
        // Opening moves a store of a format before to the current one
        // (compacted too), and records the size.
        SledStore::open(dir).map(drop)
    }

    /// Bytes the store takes on disk.
    pub fn size_on_disk(&self) -> u64 {
        self.live
            .read()
            .and_then(|db| Ok(db.size_on_disk()?))
            .unwrap_or(0)
    }
}

impl Drop for SledStore {
    /// A compaction under way stops (its copy is removed) before the store
    /// closes, so that the store can be opened again at once.
    fn drop(&mut self) {
        self.live.stop.store(true, Ordering::Relaxed);
        self.wait_for_compaction();
    }
}

/// Note the store's size as its size after a rewrite.
fn record_compacted(db: &sled::Db) -> Result<(), StoreError> {
    db.open_tree(FORMAT_TREE)?
        .insert(COMPACTED_KEY, db.size_on_disk()?.to_be_bytes().to_vec())?;
    db.flush()?;
    Ok(())
}

/// Let the node's serving threads go first (the compaction is not urgent).
fn lower_priority() {
    // SAFETY: plain system calls on this thread's own id.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, 10);
    }
}

/// An open database kept open while a scan of it runs.
struct Scan<'a, I> {
    _open: super::compact::Open<'a>,
    iter: I,
}

impl<I: Iterator> Iterator for Scan<'_, I> {
    type Item = I::Item;
    fn next(&mut self) -> Option<I::Item> {
        self.iter.next()
    }
}

impl Store for SledStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.live.read()?.get(key)?.map(|v| v.to_vec()))
    }

    fn scan_prefix<'a>(
        &'a self,
        prefix: &[u8],
    ) -> Box<dyn Iterator<Item = Result<Entry, StoreError>> + 'a> {
        let open = match self.live.read() {
            Ok(open) => open,
            Err(e) => return Box::new(std::iter::once(Err(e))),
        };
        let iter = open.scan_prefix(prefix).map(|r| {
            let (k, v) = r?;
            Ok((k.to_vec(), v.to_vec()))
        });
        Box::new(Scan { _open: open, iter })
    }

    fn scan_keys<'a>(
        &'a self,
        prefix: &[u8],
    ) -> Box<dyn Iterator<Item = Result<Vec<u8>, StoreError>> + 'a> {
        let open = match self.live.read() {
            Ok(open) => open,
            Err(e) => return Box::new(std::iter::once(Err(e))),
        };
        let iter = open.scan_prefix(prefix).keys().map(|k| Ok(k?.to_vec()));
        Box::new(Scan { _open: open, iter })
    }

    fn scan_after<'a>(
        &'a self,
        prefix: &[u8],
        after: &[u8],
    ) -> Box<dyn Iterator<Item = Result<Entry, StoreError>> + 'a> {
        use std::ops::Bound::{Excluded, Included, Unbounded};
        let prefix = prefix.to_vec();
        let start = if after < prefix.as_slice() {
            Included(prefix.clone())
        } else {
            Excluded(after.to_vec())
        };
        let open = match self.live.read() {
            Ok(open) => open,
            Err(e) => return Box::new(std::iter::once(Err(e))),
        };
        let iter = open
            .range::<Vec<u8>, _>((start, Unbounded))
            .take_while(move |r| r.as_ref().map_or(true, |(k, _)| k.starts_with(&prefix)))
            .map(|r| {
                let (k, v) = r?;
                Ok((k.to_vec(), v.to_vec()))
            });
        Box::new(Scan { _open: open, iter })
    }

    fn write(&self, batch: Vec<Write>) -> Result<(), StoreError> {
        let mut b = sled::Batch::default();
        for (k, v) in &batch {
            match v {
                Some(v) => b.insert(k.as_slice(), v.as_slice()),
                None => b.remove(k.as_slice()),
            }
        }
        let open = self.live.read()?;
        open.apply_batch(b)?;
        // Still holding the store: a compaction's swap sees these keys.
        self.live.written(batch.into_iter().map(|(k, _)| k));
        Ok(())
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.live.read()?.flush()?;
        Ok(())
    }

    fn compact_if_grown_in_background(&self) -> Result<bool, StoreError> {
        self.compact_in_background()
    }

    /// On the calling thread; not while a background compaction runs.
    fn compact_if_grown(&self) -> Result<bool, StoreError> {
        if self.compacting() || grown(&*self.live.read()?, self.compact_above)?.is_none() {
            return Ok(false);
        }
        tracing::info!(store = %self.live.dir.display(), "the store grew; compacting it");
        Compaction::start(&self.live, open_db)?.run(
            &self.live,
            mark_format,
            open_db,
            record_compacted,
        )
    }
}
