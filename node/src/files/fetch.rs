//! Fetching a file from the members that hold it.
//!
//! 1. Ask every connected member which of them holds the hash (members
//!    reached only through a relay are left out: that would carry the file
//!    through a third member's uplink, in circuits of at most 1 GiB).
//! 2. Take the file's outline from a holder and check it against the hash
//!    (or reuse the outline kept from an earlier attempt).
//! 3. Open `HASH.part`; pieces already there that verify are kept (a
//!    resumed fetch), the others are asked for, a few at a time from each
//!    holder. Every piece is checked on arrival and written at its offset;
//!    a holder that sends a piece that does not verify is disconnected and
//!    its pieces go to the others.
//! 4. When every piece is in, the whole file's hash is checked and the
//!    part is renamed to `HASH` (see [`FileStore::complete`]).
//!
//! At most [`MAX_IN_FLIGHT`] pieces (1 MiB each) are in memory at once,
//! whatever the file's size.

use std::collections::{HashMap, VecDeque};
use std::fs::{File, OpenOptions};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::sync::{Arc, OnceLock};

use futures::stream::{FuturesUnordered, StreamExt};
use libp2p::PeerId;
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use r2com_protocol::files::{piece_len, FileRequest, FileResponse, Hash32, Verifier, PIECE};
use r2com_protocol::record::attachment::short;

use super::store::read_at;
use super::{hex32, Fetched, FileError, FileStore};
use crate::net::{FileSource, NetHandle};
use crate::store::failpoint::{Failpoint, Site};

/// Pieces asked of one holder at once (pacing: the sync protocol shares
/// the connection).
pub const PER_PEER: usize = 4;
/// Pieces in flight in all.
pub const MAX_IN_FLIGHT: usize = 8;
/// Failed requests after which a holder is given up for this fetch.
const MAX_FAILURES: u32 = 3;

/// Fetch file `hash` of `size` bytes into the store. `progress` hears
/// (bytes held, size) now and then.
pub async fn fetch(
    net: &NetHandle,
    store: &FileStore,
    hash: Hash32,
    size: u64,
    progress: Option<mpsc::Sender<(u64, u64)>>,
) -> Result<Fetched, FileError> {
    let name = hex32(&hash);
    let short = short(&name).to_owned();
    if store.holds(&hash) == Some(size) {
        return Ok(Fetched::default());
    }
    // A reference is a member's claim: a size above this node's limit is
    // never fetched (nor its part file created).
    if size > store.max_size() {
        return Err(FileError::TooLarge {
            size,
            max: store.max_size(),
        });
    }
    let report = |done: u64| {
        if let Some(p) = &progress {
            let _ = p.try_send((done, size));
        }
    };
    let mut holders = holders(net, hash, size, &short).await?;
    let verifier = match store.verifier(&hash, size)? {
        Some(v) => v,
        None => outline(net, store, &mut holders, hash, size, &short).await?,
    };
    let part = {
        let store = store.clone();
        tokio::task::spawn_blocking(move || open_part(&store, &hash, size))
            .await
            .map_err(|e| FileError::Unavailable(e.to_string()))??
    };
    let (missing, resumed) = {
        let (part, v) = (part.clone(), verifier.clone());
        tokio::task::spawn_blocking(move || verified_pieces(&part, &v))
            .await
            .map_err(|e| FileError::Unavailable(e.to_string()))?
    };
    if resumed > 0 {
        info!(file = %short, resumed, "resuming a fetch from its part file");
    }
    let mut done = resumed;
    report(done);
    let mut queue: VecDeque<u64> = missing.into();
    let mut in_flight = FuturesUnordered::new();
    let mut load: HashMap<PeerId, usize> = HashMap::new();
    let mut failures: HashMap<PeerId, u32> = HashMap::new();
    let mut from = Vec::new();
    let mut rediscovered = false;
    loop {
        // Hand out pieces to the least loaded holders.
        while let Some(&index) = queue.front() {
            if in_flight.len() >= MAX_IN_FLIGHT {
                break;
            }
            let Some(peer) = holders
                .iter()
                .map(|h| h.peer)
                .filter(|p| load.get(p).copied().unwrap_or(0) < PER_PEER)
                .min_by_key(|p| load.get(p).copied().unwrap_or(0))
            else {
                break;
            };
            queue.pop_front();
            *load.entry(peer).or_default() += 1;
            let net = net.clone();
            in_flight.push(async move {
                let r = net.file_ask(peer, FileRequest::Piece { hash, index }).await;
                (peer, index, r)
            });
        }
        if queue.is_empty() && in_flight.is_empty() {
            break;
        }
        let Some((peer, index, result)) = in_flight.next().await else {
            // Nothing in flight and nobody to ask: look again once (a member
            // may have connected), then give up, keeping the part.
            if !rediscovered {
                rediscovered = true;
                if let Ok(h) = holders_excluding(net, hash, size, &short, &failures).await {
                    holders = h;
                    continue;
                }
            }
            return Err(FileError::Unavailable(format!(
                "file {short}: {done} of {size} bytes fetched, and no connected member that \
                 holds it is left; the part is kept: ask again to resume"
            )));
        };
        if let Some(l) = load.get_mut(&peer) {
            *l = l.saturating_sub(1);
        }
        let still_holder = holders.iter().any(|h| h.peer == peer);
        match result {
            Ok(FileResponse::Piece { bytes }) if still_holder => {
                match verifier.check(index, &bytes) {
                    Ok(()) => {
                        let part = part.clone();
                        let len = bytes.len() as u64;
                        tokio::task::spawn_blocking(move || {
                            part.write_all_at(&bytes, index * PIECE)
                        })
                        .await
                        .map_err(|e| FileError::Unavailable(e.to_string()))?
                        .map_err(|e| FileError::io(&store.part_path(&hash), e))?;
                        done += len;
                        store.metrics.piece_fetched(len);
                        report(done);
                        piece_failpoint();
                        let p = peer.to_base58();
                        if !from.contains(&p) {
                            from.push(p);
                        }
                    }
                    Err(e) => {
                        warn!(%peer, file = %short, error = %e, "a member sent a piece that does not verify: disconnecting it");
                        net.punish(peer, format!("file {short}: {e}")).await;
                        holders.retain(|h| h.peer != peer);
                        failures.insert(peer, MAX_FAILURES);
                        queue.push_back(index);
                    }
                }
            }
            Ok(FileResponse::Piece { .. }) => queue.push_back(index),
            Ok(FileResponse::NotHeld) => {
                debug!(%peer, file = %short, "no longer holds the file");
                holders.retain(|h| h.peer != peer);
                failures.insert(peer, MAX_FAILURES);
                queue.push_back(index);
            }
            Ok(other) => {
                net.punish(peer, format!("answered a piece request with {other:?}"))
                    .await;
                holders.retain(|h| h.peer != peer);
                failures.insert(peer, MAX_FAILURES);
                queue.push_back(index);
            }
            Err(e) => {
                debug!(%peer, file = %short, error = %e, "piece request failed");
                let f = failures.entry(peer).or_default();
                *f += 1;
                if *f >= MAX_FAILURES {
                    holders.retain(|h| h.peer != peer);
                }
                queue.push_back(index);
            }
        }
    }
    let store2 = store.clone();
    tokio::task::spawn_blocking(move || {
        part.sync_all()
            .map_err(|e| FileError::io(&store2.part_path(&hash), e))?;
        drop(part);
        store2.complete(&hash)
    })
    .await
    .map_err(|e| FileError::Unavailable(e.to_string()))??;
    store.metrics.file_fetched();
    info!(file = %short, size, fetched = done - resumed, peers = from.len(), "file fetched");
    Ok(Fetched {
        fetched: done - resumed,
        resumed,
        from,
    })
}

/// The connected members (not through a relay) that hold the file whole.
async fn holders(
    net: &NetHandle,
    hash: Hash32,
    size: u64,
    short: &str,
) -> Result<Vec<FileSource>, FileError> {
    holders_excluding(net, hash, size, short, &HashMap::new()).await
}

async fn holders_excluding(
    net: &NetHandle,
    hash: Hash32,
    size: u64,
    short: &str,
    failures: &HashMap<PeerId, u32>,
) -> Result<Vec<FileSource>, FileError> {
    let sources: Vec<FileSource> = net
        .file_sources()
        .await
        .map_err(FileError::Unavailable)?
        .into_iter()
        .filter(|s| failures.get(&s.peer).copied().unwrap_or(0) < MAX_FAILURES)
        .collect();
    if sources.is_empty() {
        return Err(FileError::Unavailable(format!(
            "file {short}: no member is connected to fetch it from"
        )));
    }
    let asks = sources.iter().map(|s| {
        let net = net.clone();
        let s = s.clone();
        async move {
            let r = net
                .file_ask(s.peer, FileRequest::Holds { hashes: vec![hash] })
                .await;
            (s, r)
        }
    });
    let mut found = Vec::new();
    let mut relayed = 0;
    for (s, r) in futures::future::join_all(asks).await {
        if let Ok(FileResponse::Holds { sizes }) = r {
            if sizes.first().copied().flatten() == Some(size) {
                if s.relayed {
                    relayed += 1;
                } else {
                    found.push(s);
                }
            }
        }
    }
    if found.is_empty() {
        return Err(FileError::Unavailable(if relayed > 0 {
            format!(
                "file {short}: the {relayed} member(s) holding it are reached only through a \
                 relay, and files are not fetched through a relay (a third member's uplink, \
                 circuits of at most 1 GiB); connect to one of them directly (peer add with \
                 its public address)"
            )
        } else {
            format!(
                "file {short}: none of the {} connected member(s) holds it",
                sources.len()
            )
        }));
    }
    Ok(found)
}

/// The file's outline from the first holder whose outline verifies;
/// holders whose outline does not are disconnected and dropped.
async fn outline(
    net: &NetHandle,
    store: &FileStore,
    holders: &mut Vec<FileSource>,
    hash: Hash32,
    size: u64,
    short: &str,
) -> Result<Verifier, FileError> {
    while let Some(h) = holders.first().cloned() {
        match net.file_ask(h.peer, FileRequest::Outline { hash }).await {
            Ok(FileResponse::Outline { size: got, pieces }) => {
                match Verifier::new(hash, size, got, &pieces) {
                    Ok(v) => {
                        store.write_outline(&hash, v.outline())?;
                        return Ok(v);
                    }
                    Err(e) => {
                        warn!(peer = %h.peer, file = %short, error = %e, "a member sent an outline that does not verify: disconnecting it");
                        net.punish(h.peer, format!("file {short}: {e}")).await;
                    }
                }
            }
            Ok(FileResponse::NotHeld) | Err(_) => {}
            Ok(_) => {
                net.punish(
                    h.peer,
                    "answered an outline request with something else".into(),
                )
                .await
            }
        }
        holders.remove(0);
    }
    Err(FileError::Unavailable(format!(
        "file {short}: no holder sent an outline that verifies"
    )))
}

/// Tests kill the fetcher after its n-th piece is written
/// (`R2COM_FAILPOINT=piece:n`).
fn piece_failpoint() {
    static FP: OnceLock<Option<Failpoint>> = OnceLock::new();
    if let Some(fp) = FP.get_or_init(|| Failpoint::from_env().filter(|f| f.site() == Site::Piece)) {
        fp.hit(Site::Piece);
    }
}

/// `HASH.part`, created (0600) at the file's size if new.
fn open_part(store: &FileStore, hash: &Hash32, size: u64) -> Result<Arc<File>, FileError> {
    std::fs::create_dir_all(store.dir()).map_err(|e| FileError::io(store.dir(), e))?;
    let path = store.part_path(hash);
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .map_err(|e| FileError::io(&path, e))?;
    let len = f.metadata().map_err(|e| FileError::io(&path, e))?.len();
    if len != size {
        f.set_len(size).map_err(|e| FileError::io(&path, e))?;
    }
    Ok(Arc::new(f))
}

/// The pieces of the part that still need fetching, and the bytes of
/// those that verify already (read one at a time).
fn verified_pieces(part: &File, v: &Verifier) -> (Vec<u64>, u64) {
    let mut missing = Vec::new();
    let mut have = 0;
    for i in 0..v.pieces() {
        match read_at(part, v.size(), i) {
            Ok(bytes) if v.check(i, &bytes).is_ok() => have += piece_len(v.size(), i),
            _ => missing.push(i),
        }
    }
    (missing, have)
}
