//! Restoring a backup into an empty data directory.

use std::path::Path;
use std::sync::Arc;

use super::files::Restoring;
use super::read::{first_pass, for_each_change, scan};
use super::{BackupError, BackupReport};
use crate::data_dir::STORE_DIR;
use crate::files::FileStore;
use crate::library::{Batch, Library, META_CONSORTIUM};
use crate::store::{keys, SledStore, Store};

/// Changes applied per batch while restoring.
const BATCH: usize = 1000;
/// Where the store is built before it is moved into place.
const RESTORING: &str = ".store.restoring";

/// Rebuild the node of `data_dir` from the backup `file`: the directory
/// holds this node's key (the same key the backup was made with) and no
/// store. The whole backup is checked first; the store is then built beside
/// its final place from the history as signed (every change applied as if
/// received), the backup's files are put into the file store, and the
/// store is moved into place only when all is done. On any failure nothing
/// is left (files the directory held before stay).
pub fn restore(data_dir: &Path, file: &Path) -> Result<BackupReport, BackupError> {
    let dir = data_dir.display();
    if data_dir.join(STORE_DIR).exists() {
        return Err(BackupError::Refused(format!(
            "{dir} already holds a store: restore goes into a data directory without one \
             (this node's key and config.toml may be there)"
        )));
    }
    let key = crate::identity::load(data_dir).map_err(|e| {
        BackupError::Refused(format!(
            "{e}. Put this node's key (node.key from your key backup, mode 0600) in {dir} \
             first: a restored node keeps its identity"
        ))
    })?;
    let report = super::verify(file)?;
    if report.node_key != key.public().to_hex() {
        return Err(BackupError::Refused(format!(
            "the backup is of node {} ({}), the key in {dir} is {}: restore a node under its \
             own key",
            report.peer_id,
            report.node_key,
            crate::identity::peer_id(&key)
        )));
    }
    let building = data_dir.join(RESTORING);
    if building.exists() {
        std::fs::remove_dir_all(&building).map_err(|e| io(&building, e))?;
    }
    let files = FileStore::new(data_dir, crate::files::DEFAULT_MAX_SIZE);
    let result = build(&building, key, file).and_then(|()| put_files(files, file));
    match result {
        Ok(()) => {
            let target = data_dir.join(STORE_DIR);
            std::fs::rename(&building, &target).map_err(|e| io(&target, e))?;
            std::fs::File::open(data_dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| io(data_dir, e))?;
            Ok(report)
        }
        Err(e) => {
            let _ = std::fs::remove_dir_all(&building);
            Err(e)
        }
    }
}

/// Put the backup's files into `store` (through part files, each checked
/// again); on failure remove those put in.
fn put_files(store: FileStore, file: &Path) -> Result<(), BackupError> {
    let mut restoring = Restoring::new(store.clone()).map_err(|e| io(store.dir(), e))?;
    match scan(file, |line| restoring.line(&line)) {
        Ok(_) => Ok(()),
        Err(e) => {
            restoring.undo();
            Err(e)
        }
    }
}

fn io(path: &Path, e: std::io::Error) -> BackupError {
    BackupError::Io(path.display().to_string(), e)
}

/// Build a store at `dir` from the backup (already checked).
fn build(
    dir: &Path,
    key: r2com_protocol::identity::NodeKey,
    file: &Path,
) -> Result<(), BackupError> {
    let scanned = first_pass(file)?;
    let store: Arc<dyn Store> = Arc::new(SledStore::open(dir)?);
    let library = Library::new(store.clone(), key)?;
    let mut batch = Batch::of(vec![
        (
            keys::key(keys::META, META_CONSORTIUM.as_bytes()),
            Some(scanned.cid.to_hex().into_bytes()),
        ),
        Library::roster_format_write(),
    ]);
    for addr in &scanned.addrs {
        batch.write((
            keys::key(keys::PEER_ADDR, addr.as_bytes()),
            Some(b"{}".to_vec()),
        ));
    }
    library.commit(batch)?;
    // What a node stores the rules keep: all of a backup's entries are.
    let merged = library.merge_roster_entries(&scanned.cid, scanned.entries.clone())?;
    if let Some(r) = merged.invalid.first().or(merged.refused.first()) {
        return Err(bad(file, format!("roster entry {r}")));
    }
    let mut pending = Vec::with_capacity(BATCH);
    let apply = |envelopes: Vec<Vec<u8>>| -> Result<(), BackupError> {
        let (report, _) = library.apply(None, Vec::new(), envelopes)?;
        if let Some(why) = report.refusals.first().or(report.not_allowed.first()) {
            return Err(bad(file, format!("change refused: {why}")));
        }
        Ok(())
    };
    for_each_change(file, &scanned, |env| {
        pending.push(env);
        if pending.len() >= BATCH {
            apply(std::mem::take(&mut pending))?;
        }
        Ok(())
    })?;
    apply(pending)?;
    let counts = library.counts()?;
    if counts.changes != scanned.end.changes {
        return Err(bad(
            file,
            format!(
                "{} changes stored of the {} it holds",
                counts.changes, scanned.end.changes
            ),
        ));
    }
    let verified = library.verify()?;
    if verified.invalid > 0 {
        return Err(bad(file, verified.failures.join("; ")));
    }
    store.flush()?;
    Ok(())
}

fn bad(file: &Path, reason: String) -> BackupError {
    BackupError::Bad {
        path: file.display().to_string(),
        reason,
    }
}
