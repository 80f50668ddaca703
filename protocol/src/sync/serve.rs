//! Serving a member's requests, and applying what a peer sent.

use std::collections::BTreeSet;
use std::fmt;
use std::time::SystemTime;

use serde_bytes::ByteBuf;

use crate::wire::{self, SyncRequest, SyncResponse};

use super::{arrays, bufs, Applied, Blame, Event, Replica, Step, SyncMachine};

/// Each item once, in its first position: a request listing one hash many
/// times is answered with it once.
fn unique<T: Ord + Copy>(items: Vec<T>) -> Vec<T> {
    let mut seen = BTreeSet::new();
    items.into_iter().filter(|i| seen.insert(*i)).collect()
}

/// The stored envelopes of `hashes`, read a few at a time and stopped once
/// [`wire::MAX_BUCKET_BATCH`] raw bytes are collected (a request for 2,048
/// changes of 4 MiB each reads about 48 MiB, not 8 GiB).
fn collect<P, R: Replica<P>>(replica: &mut R, hashes: &[[u8; 32]]) -> Result<Vec<Vec<u8>>, Blame> {
    let mut envs = Vec::new();
    let mut size = 0;
    for chunk in hashes.chunks(READ_CHUNK) {
        for env in replica
            .get_changes(chunk)
            .map_err(|e| Blame::Local(e.to_string()))?
        {
            size += env.len();
            if size > wire::MAX_BUCKET_BATCH && !envs.is_empty() {
                return Ok(envs);
            }
            envs.push(env);
        }
    }
    Ok(envs)
}

/// The hashes of `buckets`, whole buckets in the order asked while they
/// fit [`wire::MAX_HASHES`] (the first one always, cut to the limit if it
/// alone is larger), and the buckets covered. A library of more than
/// 65,536 changes is compared over several inventories, never answered
/// with a list the asker must refuse.
fn inventory_part<P, R: Replica<P>>(
    replica: &mut R,
    buckets: &[u8],
) -> Result<(Vec<[u8; 32]>, Vec<u8>), Blame> {
    let mut hashes = Vec::new();
    let mut covered = Vec::new();
    for &b in buckets {
        let mut part = replica
            .inventory(&[b])
            .map_err(|e| Blame::Local(e.to_string()))?;
        if !covered.is_empty() && hashes.len() + part.len() > wire::MAX_HASHES {
            break;
        }
        part.truncate(wire::MAX_HASHES);
        hashes.extend(part);
        covered.push(b);
    }
    Ok((hashes, covered))
}

/// Changes read from the replica at once while answering.
const READ_CHUNK: usize = 8;

impl<P: Ord + Clone + fmt::Debug> SyncMachine<P> {
    /// Answer one request from a peer allowed to make it.
    pub(super) fn serve<R: Replica<P>>(
        &mut self,
        now: SystemTime,
        peer: &P,
        request: SyncRequest,
        replica: &mut R,
        step: &mut Step<P>,
    ) -> Result<SyncResponse, Blame> {
        let local = |e: R::Error| Blame::Local(e.to_string());
        Ok(match request {
            SyncRequest::Summary { roster, digest } => {
                let ours = replica.summary().map_err(local)?;
                let theirs: BTreeSet<[u8; 32]> = arrays(&roster).into_iter().collect();
                let same = digest.as_slice() == ours.digest
                    && theirs == ours.roster.iter().copied().collect::<BTreeSet<_>>();
                if same {
                    let p = self.peers.entry(peer.clone()).or_default();
                    if p.round.is_none() {
                        p.state.we_lack = 0;
                        p.state.they_lack = 0;
                        p.state.last_digest = Some(hex::encode(ours.digest));
                        self.exchanged(peer, now);
                    }
                } else {
                    // The peer has something we lack (or lacks something,
                    // and will pull it): pull from it.
                    self.want_round(peer.clone(), replica, step);
                }
                SyncResponse::Summary {
                    roster: bufs(&ours.roster),
                    digest: ByteBuf::from(ours.digest.to_vec()),
                    revision: if replica.whole_docs() {
                        wire::REVISION
                    } else {
                        1
                    },
                }
            }
            SyncRequest::Buckets => SyncResponse::Buckets {
                digests: bufs(&replica.bucket_digests().map_err(local)?),
            },
            SyncRequest::Inventory { buckets } => {
                let (hashes, covered) = inventory_part(replica, &unique(buckets.to_vec()))?;
                SyncResponse::Inventory {
                    hashes: bufs(&hashes),
                    buckets: ByteBuf::from(covered),
                }
            }
            SyncRequest::GetChanges { hashes } => {
                let hashes = unique(arrays(&hashes));
                SyncResponse::Changes {
                    batch: ByteBuf::from(wire::fit_batch(&collect(replica, &hashes)?)),
                }
            }
            SyncRequest::GetBuckets { buckets } => {
                let hashes = replica
                    .inventory(&unique(buckets.to_vec()))
                    .map_err(local)?;
                SyncResponse::Changes {
                    batch: ByteBuf::from(wire::fit_batch(&collect(replica, &hashes)?)),
                }
            }
            SyncRequest::GetDocs { buckets, envelopes } => {
                let chunks = replica
                    .get_docs(&unique(buckets.to_vec()), wire::MAX_BUCKET_BATCH, envelopes)
                    .map_err(local)?;
                SyncResponse::Docs {
                    batch: ByteBuf::from(wire::fit_batch(&chunks)),
                }
            }
            SyncRequest::GetRoster { ids } => {
                // Entries up to what a response holds; the rest come in the
                // next round (the summary still lists them).
                let limit = wire::MAX_RESPONSE_BYTES as usize - wire::RESPONSE_MARGIN;
                let mut size = 0;
                let mut entries = Vec::new();
                for e in replica.get_roster(&unique(arrays(&ids))).map_err(local)? {
                    size += e.len() + 8;
                    if size > limit && !entries.is_empty() {
                        break;
                    }
                    entries.push(ByteBuf::from(e));
                }
                SyncResponse::Roster { entries }
            }
            SyncRequest::Push { batch, roster } => {
                let envs = wire::decode_batch(&batch).map_err(|e| Blame::Peer(e.to_string()))?;
                let entries = roster.into_iter().map(ByteBuf::into_vec).collect();
                let applied = self.apply(peer, entries, envs, replica, step)?;
                if applied.missing_deps {
                    self.want_round(peer.clone(), replica, step);
                } else {
                    if let Some(p) = self.peers.get_mut(peer) {
                        p.state.we_lack = p.state.we_lack.saturating_sub(applied.applied);
                    }
                    self.exchanged(peer, now);
                }
                SyncResponse::Ack {
                    applied: applied.applied,
                    missing_deps: applied.missing_deps,
                }
            }
            SyncRequest::Admit { entries } => {
                let entries = entries.into_iter().map(ByteBuf::into_vec).collect();
                match replica.admit(peer, entries).map_err(Blame::Peer)? {
                    Some(all) => {
                        self.peers.entry(peer.clone()).or_default().connected = true;
                        self.want_round(peer.clone(), replica, step);
                        SyncResponse::Roster {
                            entries: all.into_iter().map(ByteBuf::from).collect(),
                        }
                    }
                    None => SyncResponse::Refused {
                        reason: "the admission is not valid (expired, used, or revoked invite)"
                            .into(),
                    },
                }
            }
        })
    }

    /// Apply what `peer` sent; invalid data is the peer's fault.
    pub(super) fn apply<R: Replica<P>>(
        &mut self,
        peer: &P,
        entries: Vec<Vec<u8>>,
        envelopes: Vec<Vec<u8>>,
        replica: &mut R,
        step: &mut Step<P>,
    ) -> Result<Applied, Blame> {
        let applied = replica
            .apply(peer, entries, envelopes)
            .map_err(|e| Blame::Local(e.to_string()))?;
        self.judged(peer, applied, step)
    }

    /// Apply the whole documents `peer` sent, as [`Self::apply`].
    pub(super) fn apply_docs<R: Replica<P>>(
        &mut self,
        peer: &P,
        chunks: Vec<Vec<u8>>,
        replica: &mut R,
        step: &mut Step<P>,
    ) -> Result<Applied, Blame> {
        let applied = replica
            .apply_docs(peer, chunks)
            .map_err(|e| Blame::Local(e.to_string()))?;
        self.judged(peer, applied, step)
    }

    fn judged(&mut self, peer: &P, applied: Applied, step: &mut Step<P>) -> Result<Applied, Blame> {
        if !applied.invalid.is_empty() {
            return Err(Blame::Peer(format!(
                "{} invalid: {}",
                applied.invalid.len(),
                applied.invalid.join("; ")
            )));
        }
        if !applied.not_allowed.is_empty() {
            step.event(Event::NotAllowed {
                peer: peer.clone(),
                reasons: applied.not_allowed.clone(),
            });
        }
        Ok(applied)
    }
}

#[cfg(test)]
#[path = "serve_tests.rs"]
mod tests;
