//! The stages of a round: summary, missing roster entries, bucket
//! digests, whole buckets, inventories, and pipelined change fetches.

use std::collections::{BTreeSet, VecDeque};
use std::fmt;

use serde_bytes::ByteBuf;

use crate::wire::{self, SyncRequest, SyncResponse};

use super::{
    arrays, bufs, Blame, Replica, RequestId, RoundOutcome, Standing, Step, SyncMachine,
    FETCH_WINDOW,
};

/// What a round waits for.
#[derive(Debug)]
pub(super) enum Stage {
    Summary(RequestId),
    Roster {
        req: RequestId,
        digest: [u8; 32],
    },
    Buckets(RequestId),
    Fetch {
        queue: VecDeque<SyncRequest>,
        in_flight: BTreeSet<RequestId>,
        then: Then,
    },
    Inventory {
        req: RequestId,
        buckets: Vec<u8>,
    },
}

/// What follows a fetch.
#[derive(Debug)]
pub(super) enum Then {
    /// Compare the bucket digests again (after whole documents).
    Buckets,
    /// Compare the hash lists of these (non-empty) buckets.
    Inventory(Vec<u8>),
    /// Count what is still missing of `want`; then compare the inventories
    /// of the `rest` of the buckets (those a split inventory left out), or
    /// end the round.
    Finish { want: Vec<[u8; 32]>, rest: Vec<u8> },
}

impl<P: Ord + Clone + fmt::Debug> SyncMachine<P> {
    /// Move the round with `peer` on with the answer to `id`. `Some` when
    /// the round is complete.
    pub(super) fn advance<R: Replica<P>>(
        &mut self,
        peer: &P,
        id: RequestId,
        response: SyncResponse,
        replica: &mut R,
        step: &mut Step<P>,
    ) -> Result<Option<RoundOutcome>, Blame> {
        let local = |e: R::Error| Blame::Local(e.to_string());
        let unexpected = |what: &str, r: &SyncResponse| {
            Blame::Peer(format!("unexpected answer to {what}: {r:?}"))
        };
        let mut round = self
            .peers
            .get_mut(peer)
            .and_then(|p| p.round.take())
            .expect("the round waits for this response");
        let stage = std::mem::replace(&mut round.stage, Stage::Summary(RequestId(0)));
        let result = (|| -> Result<Option<Stage>, Blame> {
            match stage {
                Stage::Summary(_) => {
                    let SyncResponse::Summary {
                        roster,
                        digest,
                        revision,
                    } = response
                    else {
                        return Err(unexpected("a summary", &response));
                    };
                    round.whole_docs =
                        revision >= wire::REVISION_WHOLE_DOCS && replica.whole_docs();
                    round.doc_envelopes = (wire::REVISION_DOC_ENVELOPES
                        ..wire::REVISION_EXACT_SIGNATURES)
                        .contains(&revision);
                    let digest: [u8; 32] = digest.as_slice().try_into().expect("checked");
                    round.outcome.digest = hex::encode(digest);
                    let ours: BTreeSet<[u8; 32]> = replica
                        .summary()
                        .map_err(local)?
                        .roster
                        .into_iter()
                        .collect();
                    let theirs: Vec<[u8; 32]> = arrays(&roster);
                    let held: BTreeSet<&[u8; 32]> = theirs.iter().collect();
                    round.outcome.they_lack_entries =
                        ours.iter().filter(|id| !held.contains(id)).count() as u64;
                    let lacking: Vec<[u8; 32]> = theirs
                        .iter()
                        .filter(|id| !ours.contains(*id))
                        .copied()
                        .collect();
                    if lacking.is_empty() {
                        return self.compare_digests(peer, digest, replica, step);
                    }
                    let req = self.send(
                        peer,
                        SyncRequest::GetRoster {
                            ids: bufs(&lacking),
                        },
                        step,
                    );
                    Ok(Some(Stage::Roster { req, digest }))
                }
                Stage::Roster { digest, .. } => {
                    let SyncResponse::Roster { entries } = response else {
                        return Err(unexpected("a roster request", &response));
                    };
                    let entries = entries.into_iter().map(ByteBuf::into_vec).collect();
                    self.apply(peer, entries, Vec::new(), replica, step)?;
                    if replica.standing(peer) != Standing::Member {
                        // The roster we just got says the peer is out.
                        return Err(Blame::Peer("not a member per its own roster".into()));
                    }
                    self.compare_digests(peer, digest, replica, step)
                }
                Stage::Buckets(_) => {
                    let SyncResponse::Buckets { digests } = response else {
                        return Err(unexpected("buckets", &response));
                    };
                    let ours = replica.bucket_digests().map_err(local)?;
                    let differing: Vec<u8> = (0..wire::BUCKETS)
                        .filter(|i| digests[*i].as_slice() != ours[*i])
                        .map(|i| i as u8)
                        .collect();
                    if differing.is_empty() {
                        return Ok(None);
                    }
                    // A clone (nothing held at all): whole documents first,
                    // then the change path for whatever they left out.
                    if round.whole_docs
                        && !round.docs_asked
                        && ours.iter().all(|b| *b == wire::EMPTY_BUCKET)
                    {
                        round.docs_asked = true;
                        let all: Vec<u8> = (0..=u8::MAX).collect();
                        let queue = all
                            .chunks(wire::BUCKETS_PER_REQUEST)
                            .map(|c| SyncRequest::GetDocs {
                                buckets: ByteBuf::from(c.to_vec()),
                                envelopes: round.doc_envelopes,
                            })
                            .collect();
                        return Ok(self.fetch(peer, queue, BTreeSet::new(), Then::Buckets, step));
                    }
                    // Buckets we have nothing of: fetch them whole, no hash
                    // lists either way.
                    let (empty, other): (Vec<u8>, Vec<u8>) = differing
                        .into_iter()
                        .partition(|b| ours[*b as usize] == wire::EMPTY_BUCKET);
                    let queue = empty
                        .chunks(wire::BUCKETS_PER_REQUEST)
                        .map(|c| SyncRequest::GetBuckets {
                            buckets: ByteBuf::from(c.to_vec()),
                        })
                        .collect();
                    Ok(self.fetch(peer, queue, BTreeSet::new(), Then::Inventory(other), step))
                }
                Stage::Inventory { buckets, .. } => {
                    let SyncResponse::Inventory {
                        hashes,
                        buckets: covered,
                    } = response
                    else {
                        return Err(unexpected("an inventory", &response));
                    };
                    // The buckets answered: a prefix of those asked (all
                    // of them from a node that does not split).
                    let n = if covered.is_empty() {
                        buckets.len()
                    } else {
                        covered.len()
                    };
                    if !buckets.starts_with(&covered) {
                        return Err(Blame::Peer("an inventory of buckets not asked for".into()));
                    }
                    let (covered, rest) = buckets.split_at(n);
                    let theirs: BTreeSet<[u8; 32]> = arrays(&hashes).into_iter().collect();
                    if theirs.iter().any(|h| !covered.contains(&h[0])) {
                        return Err(Blame::Peer(
                            "an inventory lists hashes of other buckets".into(),
                        ));
                    }
                    let ours: BTreeSet<[u8; 32]> = replica
                        .inventory(covered)
                        .map_err(local)?
                        .into_iter()
                        .collect();
                    let want: Vec<[u8; 32]> = theirs.difference(&ours).copied().collect();
                    round.outcome.we_lack += want.len() as u64;
                    round.outcome.they_lack += ours.difference(&theirs).count() as u64;
                    let queue = want
                        .chunks(wire::MAX_CHANGES_PER_REQUEST)
                        .map(|c| SyncRequest::GetChanges { hashes: bufs(c) })
                        .collect();
                    let then = Then::Finish {
                        want,
                        rest: rest.to_vec(),
                    };
                    Ok(self.fetch(peer, queue, BTreeSet::new(), then, step))
                }
                Stage::Fetch {
                    queue,
                    mut in_flight,
                    then,
                } => {
                    let peer_fault = |e: wire::WireError| Blame::Peer(e.to_string());
                    let applied = match response {
                        SyncResponse::Changes { batch } => {
                            let envs = wire::decode_batch(&batch).map_err(peer_fault)?;
                            self.apply(peer, Vec::new(), envs, replica, step)?
                        }
                        SyncResponse::Docs { batch } if round.docs_asked => {
                            let chunks = wire::decode_doc_batch(&batch).map_err(peer_fault)?;
                            self.apply_docs(peer, chunks, replica, step)?
                        }
                        r => return Err(unexpected("a change fetch", &r)),
                    };
                    in_flight.remove(&id);
                    round.outcome.fetched += applied.applied;
                    if let (true, true, Then::Finish { want, rest }) =
                        (queue.is_empty(), in_flight.is_empty(), &then)
                    {
                        // What is still missing after the fetch (a peer that
                        // listed a change it then did not send, or an
                        // answer cut to fit a response).
                        let mut still = 0;
                        for h in want {
                            if !replica.has_change(h).map_err(local)? {
                                still += 1;
                            }
                        }
                        round.outcome.we_lack -= want.len() as u64 - still;
                        let then = Then::Inventory(rest.clone());
                        return Ok(self.fetch(peer, queue, in_flight, then, step));
                    }
                    Ok(self.fetch(peer, queue, in_flight, then, step))
                }
            }
        })();
        let p = self.peers.entry(peer.clone()).or_default();
        match result {
            Ok(Some(stage)) => {
                round.stage = stage;
                p.round = Some(round);
                Ok(None)
            }
            Ok(None) => {
                // Done: put the round back for `finish_round` to end.
                let outcome = round.outcome.clone();
                p.round = Some(round);
                Ok(Some(outcome))
            }
            Err(e) => {
                p.round = Some(round);
                Err(e)
            }
        }
    }

    /// After the roster: equal digests end the round, else ask for buckets.
    pub(super) fn compare_digests<R: Replica<P>>(
        &mut self,
        peer: &P,
        digest: [u8; 32],
        replica: &mut R,
        step: &mut Step<P>,
    ) -> Result<Option<Stage>, Blame> {
        let ours = replica.summary().map_err(|e| Blame::Local(e.to_string()))?;
        if ours.digest == digest {
            return Ok(None);
        }
        Ok(Some(Stage::Buckets(self.send(
            peer,
            SyncRequest::Buckets,
            step,
        ))))
    }

    /// Keep [`FETCH_WINDOW`] fetches in flight; when all are answered, go
    /// on with `then`. `None` when the round is complete.
    pub(super) fn fetch(
        &mut self,
        peer: &P,
        mut queue: VecDeque<SyncRequest>,
        mut in_flight: BTreeSet<RequestId>,
        then: Then,
        step: &mut Step<P>,
    ) -> Option<Stage> {
        while in_flight.len() < FETCH_WINDOW {
            let Some(r) = queue.pop_front() else { break };
            in_flight.insert(self.send(peer, r, step));
        }
        if !in_flight.is_empty() {
            return Some(Stage::Fetch {
                queue,
                in_flight,
                then,
            });
        }
        match then {
            Then::Buckets => Some(Stage::Buckets(self.send(peer, SyncRequest::Buckets, step))),
            Then::Inventory(buckets) if buckets.is_empty() => None,
            Then::Inventory(buckets) => {
                let req = self.send(
                    peer,
                    SyncRequest::Inventory {
                        buckets: ByteBuf::from(buckets.clone()),
                    },
                    step,
                );
                Some(Stage::Inventory { req, buckets })
            }
            Then::Finish { rest, .. } => self.fetch(
                peer,
                VecDeque::new(),
                BTreeSet::new(),
                Then::Inventory(rest),
                step,
            ),
        }
    }
}
