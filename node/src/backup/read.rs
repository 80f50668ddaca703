//! Reading a backup as a stream, and checking all of it.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use base64::Engine;
use sha2::{Digest, Sha256};

use r2com_protocol::envelope::{Scope, SignedChange};
use r2com_protocol::roster::{
    ChangeAuthority, ConsortiumId, EntryId, Roster, SignedEntry, VerifiedEntry,
};

use super::files::{decode_piece, Incoming};
use super::{BackupError, BackupReport, End, Line, Manifest, MAX_LINE, READS};

/// What the first pass over a backup found: its manifest, its end, and
/// its roster (entries verified, evaluated), addresses.
pub(super) struct Scanned {
    pub manifest: Manifest,
    pub end: End,
    pub cid: ConsortiumId,
    pub entries: Vec<SignedEntry>,
    pub roster: Roster,
    pub addrs: Vec<String>,
}

/// Check a backup entirely, offline: structure, checksum and counts,
/// every roster entry's signature, every change's signature and author,
/// every file's BLAKE3 hash.
pub fn verify(path: &Path) -> Result<BackupReport, BackupError> {
    let scanned = first_pass(path)?;
    for_each_change(path, &scanned, |_| Ok(()))?;
    let bytes = std::fs::metadata(path)
        .map_err(|e| BackupError::Io(path.display().to_string(), e))?
        .len();
    let (m, end) = (scanned.manifest, scanned.end);
    Ok(BackupReport {
        file: path.display().to_string(),
        created_at: m.created_at,
        node_key: m.node_key,
        peer_id: m.peer_id,
        consortium: m.consortium,
        changes: end.changes,
        entries: end.entries,
        addrs: end.addrs,
        files: end.files,
        file_bytes: end.file_bytes,
        sha256: end.sha256,
        bytes,
    })
}

/// The first pass: structure, checksum, counts, the files' hashes, the
/// roster.
pub(super) fn first_pass(path: &Path) -> Result<Scanned, BackupError> {
    let bad = bad(path);
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut entries = Vec::new();
    let mut addrs = Vec::new();
    let (manifest, end) = scan(path, |line| {
        match line {
            Line::Entry(e) => {
                let bytes = b64.decode(e).map_err(|e| format!("entry: {e}"))?;
                entries.push(SignedEntry::decode(&bytes).map_err(|e| format!("entry: {e}"))?);
            }
            Line::Addr(a) => addrs.push(a),
            _ => {}
        }
        Ok(())
    })?;
    let cid = EntryId::from_hex(&manifest.consortium)
        .map_err(|e| bad(format!("manifest consortium: {e}")))?;
    let verified: Vec<VerifiedEntry> = entries
        .iter()
        .map(|e| {
            e.verify(Some(&cid))
                .map_err(|err| bad(format!("roster entry {}: {err}", e.id().to_hex())))
        })
        .collect::<Result<_, _>>()?;
    let roster = Roster::evaluate(&cid, &verified);
    Ok(Scanned {
        manifest,
        end,
        cid,
        entries,
        roster,
        addrs,
    })
}

/// Read every change again, check it against the roster of the first pass
/// and hand it (the envelope as stored) to `f`.
pub(super) fn for_each_change(
    path: &Path,
    scanned: &Scanned,
    mut f: impl FnMut(Vec<u8>) -> Result<(), BackupError>,
) -> Result<(), BackupError> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let scope = Scope(scanned.cid.0);
    let mut failed: Option<BackupError> = None;
    scan(path, |line| {
        let Line::Change(c) = line else {
            return Ok(());
        };
        let bytes = b64.decode(c).map_err(|e| format!("change: {e}"))?;
        let sc = SignedChange::decode(&bytes).map_err(|e| format!("change: {e}"))?;
        check_change(&scope, &scanned.roster, &sc)?;
        if let Err(e) = f(bytes) {
            failed = Some(e);
            return Err("stopped".into());
        }
        Ok(())
    })
    .map_err(|e| failed.take().unwrap_or(e))?;
    Ok(())
}

/// A change's signature verifies for the consortium and its author may
/// write per the backup's roster (a revoked key's earlier change is
/// checked against its history when the restore applies it).
fn check_change(scope: &Scope, roster: &Roster, sc: &SignedChange) -> Result<(), String> {
    let key = sc.doc.to_key();
    let v = sc.verify(scope).map_err(|e| format!("change {key}: {e}"))?;
    match roster.change_authority(&v.author, &key, v.change.seq(), &v.hash.0) {
        ChangeAuthority::Refused(e) => Err(format!("change {key} {}: {e}", v.hash)),
        ChangeAuthority::Allowed | ChangeAuthority::InHistoryOf(_) => Ok(()),
    }
}

fn bad(path: &Path) -> impl Fn(String) -> BackupError + '_ {
    move |reason| BackupError::Bad {
        path: path.display().to_string(),
        reason,
    }
}

/// Read the lines of a backup, handing each but the manifest and the end
/// to `f` (whose `Err` is a reason the backup is bad); check the manifest,
/// the end's checksum and counts, and each file's pieces against its
/// BLAKE3 hash as they stream by. Returns the manifest and the end.
pub(super) fn scan(
    path: &Path,
    mut f: impl FnMut(Line) -> Result<(), String>,
) -> Result<(Manifest, End), BackupError> {
    let bad = bad(path);
    let file =
        std::fs::File::open(path).map_err(|e| BackupError::Io(path.display().to_string(), e))?;
    let z = zstd::stream::Decoder::new(file).map_err(|e| bad(format!("not zstd: {e}")))?;
    let mut reader = BufReader::new(z);
    let mut sha = Sha256::new();
    let mut buf = Vec::new();
    let mut manifest: Option<Manifest> = None;
    let mut counts = (0u64, 0u64, 0u64);
    let (mut files, mut file_bytes) = (0u64, 0u64);
    let mut file: Option<Incoming> = None;
    let mut n = 0u64;
    loop {
        buf.clear();
        let read = (&mut reader)
            .take(MAX_LINE)
            .read_until(b'\n', &mut buf)
            .map_err(|e| bad(format!("line {}: {e}", n + 1)))?;
        n += 1;
        if read == 0 {
            return Err(bad("it ends before its last line (truncated)".into()));
        }
        if buf.last() != Some(&b'\n') {
            return Err(bad(format!("line {n} is cut or too long")));
        }
        let line: Line = serde_json::from_slice(&buf).map_err(|e| bad(format!("line {n}: {e}")))?;
        match (line, &manifest) {
            (Line::Manifest(m), None) if n == 1 => {
                if !READS.contains(&m.format.as_str()) {
                    return Err(bad(format!(
                        "format {:?}, not one of {READS:?} (made by a newer r2com?)",
                        m.format
                    )));
                }
                manifest = Some(m);
            }
            (_, None) => return Err(bad("it does not start with a manifest".into())),
            (Line::Manifest(_), Some(_)) => {
                return Err(bad(format!("line {n}: a second manifest")))
            }
            (Line::End(end), Some(_)) => {
                if let Some(f) = &file {
                    return Err(bad(format!(
                        "file {} ends after {} of its {} bytes",
                        hex::encode(f.hash),
                        f.got,
                        f.size
                    )));
                }
                let sum = hex::encode(sha.finalize_reset());
                if end.sha256 != sum {
                    return Err(bad(format!(
                        "checksum {sum}, the backup says {}",
                        end.sha256
                    )));
                }
                if (end.changes, end.entries, end.addrs) != counts {
                    return Err(bad(format!(
                        "it holds {:?} changes, entries, addresses; its end says {:?}",
                        counts,
                        (end.changes, end.entries, end.addrs)
                    )));
                }
                if (end.files, end.file_bytes) != (files, file_bytes) {
                    return Err(bad(format!(
                        "it holds {files} files of {file_bytes} bytes; its end says {} of {}",
                        end.files, end.file_bytes
                    )));
                }
                let mut rest = [0u8; 1];
                if reader.read(&mut rest).map_err(|e| bad(e.to_string()))? != 0 {
                    return Err(bad("something follows its last line".into()));
                }
                return Ok((manifest.expect("read"), end));
            }
            (line, Some(_)) => {
                let at = |e: String| bad(format!("line {n}: {e}"));
                match (&line, &mut file) {
                    (Line::Piece(p), Some(f)) => {
                        f.piece(&decode_piece(p).map_err(at)?).map_err(at)?;
                        if f.complete() {
                            file = None;
                        }
                    }
                    (Line::Piece(_), None) => return Err(at("a piece outside a file".into())),
                    (_, Some(f)) => {
                        return Err(at(format!(
                            "file {} cut short: {} of its {} bytes",
                            hex::encode(f.hash),
                            f.got,
                            f.size
                        )))
                    }
                    (Line::File(head), None) => {
                        let f = Incoming::open(head).map_err(at)?;
                        f.check().map_err(at)?;
                        files += 1;
                        file_bytes += f.size;
                        file = (!f.complete()).then_some(f);
                    }
                    (Line::Change(_), None) => counts.0 += 1,
                    (Line::Entry(_), None) => counts.1 += 1,
                    (Line::Addr(_), None) => counts.2 += 1,
                    _ => {}
                }
                f(line).map_err(|e| bad(format!("line {n}: {e}")))?;
            }
        }
        sha.update(&buf);
    }
}
