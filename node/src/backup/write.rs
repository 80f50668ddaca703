//! Writing a backup from a store, streamed.

use std::collections::BTreeSet;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Arc;

use base64::Engine;
use sha2::{Digest, Sha256};

use r2com_protocol::files::Hash32;

use super::{BackupError, BackupReport, End, Line, Manifest, FORMAT, LEVEL};
use crate::files::{parse_hash, FileStore};
use crate::library::{corrupt, for_each_change, Library};
use crate::store::{keys, Store};

/// What a backup is made of: the store, the files (unless left out) and
/// whose it is. Taken on the library thread, written from another (the
/// store reads concurrently).
pub struct Source {
    store: Arc<dyn Store>,
    /// The file store and the files the records refer to.
    files: Option<(FileStore, BTreeSet<Hash32>)>,
    node_key: String,
    peer_id: String,
    consortium: String,
}

impl Source {
    /// The library's history, and the files it holds if `with_files`.
    pub fn of(library: &Library, with_files: bool) -> Result<Source, BackupError> {
        let cid = library.consortium_id()?.ok_or_else(|| {
            BackupError::Refused(
                "this node is in no consortium yet: its records have no shared history to back \
                 up (`r2com export` saves them)"
                    .into(),
            )
        })?;
        Ok(Source {
            store: library.store().clone(),
            files: match library.files.get() {
                Some(store) if with_files => Some((store.clone(), referenced(library)?)),
                _ => None,
            },
            node_key: library.key().public().to_hex(),
            peer_id: crate::identity::peer_id(library.key()),
            consortium: cid.to_hex(),
        })
    }
}

/// The files the library's records refer to.
fn referenced(library: &Library) -> Result<BTreeSet<Hash32>, BackupError> {
    Ok(library
        .attachment_rows(&|_| false)?
        .iter()
        .filter_map(|row| parse_hash(&row.attachment.hash))
        .collect())
}

/// Write a backup of `src` to `out`: a new file of its own (mode 0600)
/// beside it, fsynced, renamed over `out`. Safe while the node runs
/// (changes and entries are only ever added; see the module docs).
pub fn write(src: &Source, out: &Path) -> Result<BackupReport, BackupError> {
    let io = |e: std::io::Error| BackupError::Io(out.display().to_string(), e);
    let dir = match out.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let tmp = tempfile::Builder::new()
        .prefix(".r2com-backup-")
        .tempfile_in(dir)
        .map_err(io)?;
    let file = tmp.as_file().try_clone().map_err(io)?;
    let mut z = zstd::stream::Encoder::new(BufWriter::new(file), LEVEL).map_err(io)?;
    z.include_checksum(true).map_err(io)?;
    let mut w = Lines {
        out: z,
        sha: Sha256::new(),
    };
    let manifest = Manifest {
        format: FORMAT.into(),
        created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        node_key: src.node_key.clone(),
        peer_id: src.peer_id.clone(),
        consortium: src.consortium.clone(),
        software: env!("CARGO_PKG_VERSION").into(),
    };
    w.line(&Line::Manifest(manifest.clone())).map_err(io)?;
    let b64 = base64::engine::general_purpose::STANDARD;
    let store = &src.store;
    let mut end = End {
        changes: 0,
        entries: 0,
        addrs: 0,
        files: 0,
        file_bytes: 0,
        sha256: String::new(),
    };
    // Changes first (whole: a detached change's bytes come from its
    // document's snapshot), then the entries: see the module docs.
    for_each_change(&**store, |k, read| {
        let c = read.map_err(|e| corrupt(k, &e))?;
        w.line(&Line::Change(b64.encode(c.signed.encode())))
            .map_err(io)?;
        end.changes += 1;
        Ok::<(), BackupError>(())
    })?;
    for e in store.scan_prefix(&[keys::ROSTER, 0]) {
        let (_, v) = e?;
        w.line(&Line::Entry(b64.encode(v))).map_err(io)?;
        end.entries += 1;
    }
    for e in store.scan_prefix(&[keys::PEER_ADDR, 0]) {
        let (k, _) = e?;
        let addr = String::from_utf8_lossy(keys::rest(&k)).into_owned();
        w.line(&Line::Addr(addr)).map_err(io)?;
        end.addrs += 1;
    }
    if let Some((files, referenced)) = &src.files {
        (end.files, end.file_bytes) =
            super::files::write_all(files, referenced, |l| w.line(l)).map_err(io)?;
    }
    end.sha256 = hex::encode(w.sha.finalize_reset());
    let report = BackupReport {
        file: out.display().to_string(),
        created_at: manifest.created_at,
        node_key: manifest.node_key,
        peer_id: manifest.peer_id,
        consortium: manifest.consortium,
        changes: end.changes,
        entries: end.entries,
        addrs: end.addrs,
        files: end.files,
        file_bytes: end.file_bytes,
        sha256: end.sha256.clone(),
        bytes: 0,
    };
    w.line(&Line::End(end)).map_err(io)?;
    let mut buf = w.out.finish().map_err(io)?;
    buf.flush().map_err(io)?;
    drop(buf);
    tmp.as_file().sync_all().map_err(io)?;
    let bytes = tmp.as_file().metadata().map_err(io)?.len();
    tmp.persist(out).map_err(|e| io(e.error))?;
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io)?;
    Ok(BackupReport { bytes, ..report })
}

/// JSON lines into the compressor, hashed as written.
struct Lines<W: Write> {
    out: W,
    sha: Sha256,
}

impl<W: Write> Lines<W> {
    fn line(&mut self, line: &Line) -> std::io::Result<()> {
        let mut bytes = serde_json::to_vec(line)?;
        bytes.push(b'\n');
        if !matches!(line, Line::End(_)) {
            self.sha.update(&bytes);
        }
        self.out.write_all(&bytes)
    }
}
