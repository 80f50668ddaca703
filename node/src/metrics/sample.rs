//! The gauges read from the store rather than counted: its size on disk,
//! its documents, changes and roster entries, the attachment files held.
//! Sampled every [`EVERY`] (a scrape never walks the store).

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::StoreMetrics;
use crate::files::FileStore;
use crate::library_thread::LibraryHandle;

/// How often the store is sampled.
pub const EVERY: Duration = Duration::from_secs(15);

/// Sample into `metrics` every [`EVERY`], from now until aborted.
pub async fn run(
    metrics: StoreMetrics,
    library: LibraryHandle,
    files: FileStore,
    store_dir: PathBuf,
) {
    let mut tick = tokio::time::interval(EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let counted = library
            .with(|l| {
                let counts = l.counts().ok()?;
                let roster = l.roster_ids().ok()?.len();
                Some((counts, roster))
            })
            .await;
        if let Ok(Some((counts, roster))) = counted {
            metrics.documents.set(clamp(counts.documents));
            metrics.changes.set(clamp(counts.changes));
            metrics.roster_entries.set(clamp(roster as u64));
        }
        let (dir, files) = (store_dir.clone(), files.clone());
        let sizes = tokio::task::spawn_blocking(move || {
            let held = files.held().unwrap_or_default();
            let bytes: u64 = held.iter().map(|(_, size)| size).sum();
            (dir_size(&dir), held.len() as u64, bytes)
        })
        .await;
        if let Ok((store, held, bytes)) = sizes {
            metrics.size_bytes.set(clamp(store));
            metrics.attachments.set(clamp(held));
            metrics.attachment_bytes.set(clamp(bytes));
        }
    }
}

/// Bytes of the files under `dir` (0 for what cannot be read).
fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_size(&e.path()),
            Ok(_) => e.metadata().map(|m| m.len()).unwrap_or(0),
            Err(_) => 0,
        })
        .sum()
}

fn clamp(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}
