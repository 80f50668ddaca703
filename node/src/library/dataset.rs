//! The dataset file (DATA-MODEL.md): import, all or nothing, and export.

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use serde_json::Value;

use r2com_protocol::control::{ImportReport, RecordPage, MAX_EXPORT_PAGE};
use r2com_protocol::ids::DocId;
use r2com_protocol::record::Dataset;

use super::{decode_record, Batch, Library, LibraryError};
use crate::store::keys;

/// Records per atomic batch during an import.
const IMPORT_BATCH: usize = 500;

impl Library {
    /// Import a dataset, all or nothing: every record is validated before
    /// anything is written. Records equal to the stored ones are skipped, so
    /// importing the same file twice changes nothing.
    pub fn import(
        &self,
        data: Value,
        now: DateTime<Utc>,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> Result<ImportReport, LibraryError> {
        let dataset = Dataset::from_value(data)?;
        self.check_may_write()?;
        let _w = self.write_lock.lock().unwrap_or_else(|e| e.into_inner());
        let total = dataset.len() as u64;
        let mut report = ImportReport {
            records: total,
            ..Default::default()
        };
        let done = AtomicU64::new(0);
        progress(0, total);
        let threads = std::thread::available_parallelism()
            .map(|n| n.get().min(4))
            .unwrap_or(1);
        let records = &dataset;
        // Workers build and sign documents; this thread writes batches. The
        // channel is bounded, so a slow store slows the workers down.
        // One batch for the whole import, written in pieces of
        // `IMPORT_BATCH` records and committed (flushed, then announced) once.
        let mut batch = Batch::default();
        std::thread::scope(|s| -> Result<(), LibraryError> {
            type Item = Result<Option<(Batch, bool)>, LibraryError>;
            let (tx, rx) = std::sync::mpsc::sync_channel::<Item>(IMPORT_BATCH);
            for t in 0..threads {
                let tx = tx.clone();
                let done = &done;
                s.spawn(move || {
                    for r in records.iter().skip(t).step_by(threads) {
                        let item = self.upsert_batch(r, now);
                        let failed = item.is_err();
                        let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                        if n.is_multiple_of(100) {
                            progress(n, total);
                        }
                        if tx.send(item).is_err() || failed {
                            return;
                        }
                    }
                });
            }
            drop(tx);
            let mut in_batch = 0;
            for item in rx {
                match item? {
                    None => report.unchanged += 1,
                    Some((b, created)) => {
                        if created {
                            report.created += 1;
                        } else {
                            report.updated += 1;
                        }
                        batch.append(b);
                        in_batch += 1;
                    }
                }
                if in_batch == IMPORT_BATCH {
                    self.write_part(&mut batch)?;
                    in_batch = 0;
                }
            }
            Ok(())
        })?;
        self.commit(batch)?;
        drop(_w);
        // The records are stored: free them before the compaction below
        // (at ten times the demo data, 70,000 parsed records held while the
        // store was copied made up much of the import's peak memory).
        drop(dataset);
        // A big import leaves the store several times its data (sled keeps
        // old versions of pages): compact it now, while the operator waits
        // for the import anyway, rather than in the background after the
        // node's next start. The node serves meanwhile; the records are
        // stored whatever becomes of this.
        if let Err(e) = self.store.compact_if_grown() {
            tracing::warn!(error = %e, "compacting the store after the import failed; it is left as it was");
        }
        progress(total, total);
        Ok(report)
    }

    /// Every record, sorted by id (page after page, as the CLI asks).
    pub fn export(&self) -> Result<Dataset, LibraryError> {
        let mut records = Vec::new();
        let mut after = None;
        loop {
            let page = self.export_page(after.as_deref(), MAX_EXPORT_PAGE)?;
            records.extend(page.records);
            match page.next {
                Some(next) => after = Some(next),
                None => return Ok(Dataset::from_records(records)),
            }
        }
    }

    /// At most `limit` records (capped at [`MAX_EXPORT_PAGE`]) whose
    /// document key sorts after `after`, in key order. A page holds records
    /// as they are when it is read: an export that runs while records
    /// change shows each one as of its page.
    pub fn export_page(&self, after: Option<&str>, limit: u32) -> Result<RecordPage, LibraryError> {
        let limit = limit.clamp(1, MAX_EXPORT_PAGE) as usize;
        let prefix = [keys::RECORD, 0];
        let after = keys::doc(keys::RECORD, after.unwrap_or(""));
        let mut page = RecordPage::default();
        for entry in self.store.scan_after(&prefix, &after) {
            let (k, v) = entry?;
            let key = std::str::from_utf8(keys::rest(&k))
                .map_err(|_| LibraryError::Corrupt("a record key is not UTF-8".into()))?;
            let doc = DocId::parse(key).map_err(|e| LibraryError::Corrupt(e.to_string()))?;
            page.records.push(decode_record(doc.kind(), &v)?);
            if page.records.len() == limit {
                page.next = Some(key.to_owned());
                break;
            }
        }
        Ok(page)
    }
}
