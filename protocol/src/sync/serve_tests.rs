//! Answers stay bounded whatever a member asks: ids listed many times are
//! served once, and no answer is larger than a response may be, so an
//! honest peer holding a large library is never blamed (issue 13, point 6).

use std::collections::{BTreeMap, VecDeque};
use std::time::SystemTime;

use serde_bytes::ByteBuf;

use crate::sync::{
    bucket_digests, summary_digest, Applied, Event, InboundId, Input, Outbox, Output, Replica,
    Standing, Summary, SyncMachine,
};
use crate::wire::{self, SyncRequest, SyncResponse};

/// A replica holding opaque envelopes and entries by hash, counting the
/// bytes it was asked to read.
#[derive(Default)]
struct Fake {
    items: BTreeMap<[u8; 32], Vec<u8>>,
    read: usize,
    /// Every peer is a stranger (else a member).
    strangers: bool,
}

impl Fake {
    /// `n` incompressible items of `len` bytes, all in bucket 0.
    fn with(n: u8, len: usize) -> Fake {
        let mut f = Fake::default();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for i in 0..n {
            let mut hash = [0u8; 32];
            hash[1] = i;
            let item = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect();
            f.items.insert(hash, item);
        }
        f
    }

    fn get(&mut self, ids: &[[u8; 32]]) -> Vec<Vec<u8>> {
        let out: Vec<Vec<u8>> = ids
            .iter()
            .filter_map(|h| self.items.get(h).cloned())
            .collect();
        self.read += out.iter().map(Vec::len).sum::<usize>();
        out
    }
}

impl Replica<u8> for Fake {
    type Error = String;
    fn standing(&mut self, _: &u8) -> Standing {
        if self.strangers {
            Standing::Stranger
        } else {
            Standing::Member
        }
    }
    fn awaiting_admission(&mut self) -> bool {
        false
    }
    fn summary(&mut self) -> Result<Summary, String> {
        Ok(Summary {
            roster: Vec::new(),
            digest: summary_digest(self.items.keys()),
        })
    }
    fn bucket_digests(&mut self) -> Result<Vec<[u8; 32]>, String> {
        Ok(bucket_digests(self.items.keys()))
    }
    fn inventory(&mut self, buckets: &[u8]) -> Result<Vec<[u8; 32]>, String> {
        Ok(self
            .items
            .keys()
            .filter(|h| buckets.contains(&h[0]))
            .copied()
            .collect())
    }
    fn has_change(&mut self, hash: &[u8; 32]) -> Result<bool, String> {
        Ok(self.items.contains_key(hash))
    }
    fn get_changes(&mut self, hashes: &[[u8; 32]]) -> Result<Vec<Vec<u8>>, String> {
        Ok(self.get(hashes))
    }
    fn get_roster(&mut self, ids: &[[u8; 32]]) -> Result<Vec<Vec<u8>>, String> {
        Ok(self.get(ids))
    }
    fn apply(&mut self, _: &u8, _: Vec<Vec<u8>>, _: Vec<Vec<u8>>) -> Result<Applied, String> {
        Ok(Applied::default())
    }
    fn admit(&mut self, _: &u8, _: Vec<Vec<u8>>) -> Result<Option<Vec<Vec<u8>>>, String> {
        Ok(None)
    }
    fn own_admission(&mut self) -> Result<Vec<Vec<u8>>, String> {
        Ok(Vec::new())
    }
    fn take_outbox(&mut self) -> Outbox<u8> {
        Outbox {
            changes: Vec::new(),
            roster: Vec::new(),
            overflowed: false,
        }
    }
}

/// A replica holding `per` empty changes in each of `buckets`, their
/// hashes marked with `mark`.
fn in_buckets(buckets: &[u8], per: u32, mark: u8) -> Fake {
    let mut f = Fake::default();
    for &b in buckets {
        for i in 0..per {
            let mut hash = [mark; 32];
            hash[0] = b;
            hash[1..5].copy_from_slice(&i.to_be_bytes());
            f.items.insert(hash, Vec::new());
        }
    }
    f
}

/// The answer to `request` from member 1, checked as the asking peer
/// checks it.
fn answer(replica: &mut Fake, request: SyncRequest) -> SyncResponse {
    let mut m = SyncMachine::new([]);
    let now = SystemTime::UNIX_EPOCH;
    m.handle(
        now,
        Input::Connected {
            peer: 1,
            dialer: false,
        },
        replica,
    );
    let out = m.handle(
        now,
        Input::Request {
            peer: 1,
            id: InboundId(7),
            request: Ok(request),
        },
        replica,
    );
    let response = out
        .into_iter()
        .find_map(|o| match o {
            Output::Respond { response, .. } => Some(response),
            _ => None,
        })
        .expect("an answer");
    response
        .check()
        .expect("the answer passes the asking peer's checks");
    response
}

fn batch_of(r: &SyncResponse) -> (usize, Vec<Vec<u8>>) {
    let SyncResponse::Changes { batch } = r else {
        panic!("not changes: {r:?}")
    };
    (batch.len(), wire::decode_batch(batch).unwrap())
}

#[test]
fn a_hash_listed_many_times_is_read_and_sent_once() {
    let mut r = Fake::with(1, 256 * 1024);
    let h = *r.items.keys().next().unwrap();
    let hashes = vec![ByteBuf::from(h.to_vec()); wire::MAX_CHANGES_PER_REQUEST];
    let (_, envs) = batch_of(&answer(&mut r, SyncRequest::GetChanges { hashes }));
    assert_eq!(envs.len(), 1);
    assert_eq!(r.read, 256 * 1024);
    let ids = vec![ByteBuf::from(h.to_vec()); wire::MAX_ENTRIES];
    let SyncResponse::Roster { entries } = answer(&mut r, SyncRequest::GetRoster { ids }) else {
        panic!("not a roster answer")
    };
    assert_eq!(entries.len(), 1);
}

#[test]
fn large_answers_are_cut_to_what_a_response_may_hold() {
    let limit = wire::MAX_RESPONSE_BYTES as usize;
    // 40 MiB of incompressible changes in one bucket.
    let mut r = Fake::with(40, 1024 * 1024);
    let (bytes, envs) = batch_of(&answer(
        &mut r,
        SyncRequest::GetBuckets {
            buckets: ByteBuf::from(vec![0]),
        },
    ));
    assert!(bytes <= limit, "{bytes} bytes");
    assert!(!envs.is_empty() && envs.len() < 40, "{}", envs.len());
    let hashes = r.items.keys().map(|h| ByteBuf::from(h.to_vec())).collect();
    let (bytes, envs) = batch_of(&answer(&mut r, SyncRequest::GetChanges { hashes }));
    assert!(bytes <= limit && !envs.is_empty(), "{bytes} bytes");
    let ids = r.items.keys().map(|h| ByteBuf::from(h.to_vec())).collect();
    let SyncResponse::Roster { entries } = answer(&mut r, SyncRequest::GetRoster { ids }) else {
        panic!("not a roster answer")
    };
    let size: usize = entries.iter().map(|e| e.len()).sum();
    assert!(size <= limit && !entries.is_empty(), "{size} bytes");
}

/// Requests from 256 fresh stranger keys are refused and leave no state
/// behind (issue 13, point 7: per-key state before gating).
#[test]
fn strangers_requests_leave_no_per_key_state() {
    let mut r = Fake {
        strangers: true,
        ..Fake::default()
    };
    let mut m: SyncMachine<u8> = SyncMachine::new([]);
    let now = SystemTime::UNIX_EPOCH;
    for peer in 0..=255u8 {
        let out = m.handle(
            now,
            Input::Request {
                peer,
                id: InboundId(u64::from(peer)),
                request: Ok(SyncRequest::Buckets),
            },
            &mut r,
        );
        assert!(out.iter().any(|o| matches!(
            o,
            Output::Disconnect {
                misbehaved: false,
                ..
            }
        )));
    }
    assert!(m.peers.is_empty(), "{} peers remembered", m.peers.len());
}

/// A library of more than 65,536 changes: the inventory is answered in
/// whole buckets up to the limit, naming the buckets it covers, and the
/// asker asks again for the rest, so no honest answer is refused
/// (issue 13, point 6).
#[test]
fn an_inventory_over_65536_hashes_is_split_into_whole_buckets() {
    let mut server = in_buckets(&[0, 1, 2], 30_000, 0xaa);
    let SyncResponse::Inventory { hashes, buckets } = answer(
        &mut server,
        SyncRequest::Inventory {
            buckets: ByteBuf::from(vec![0, 1, 2]),
        },
    ) else {
        panic!("not an inventory")
    };
    assert_eq!((hashes.len(), buckets.to_vec()), (60_000, vec![0, 1]));

    // A whole round: member 1 (one change in each bucket) pulls from 2.
    let mut asker = in_buckets(&[0, 1, 2], 1, 0x55);
    let now = SystemTime::UNIX_EPOCH;
    let mut a: SyncMachine<u8> = SyncMachine::new([]);
    let mut b: SyncMachine<u8> = SyncMachine::new([]);
    let mut outputs: VecDeque<Output<u8>> = a
        .handle(
            now,
            Input::Connected {
                peer: 2,
                dialer: true,
            },
            &mut asker,
        )
        .into();
    let (mut inventories, mut fetched, mut done) = (Vec::new(), 0, None);
    let mut next = 0;
    while let Some(o) = outputs.pop_front() {
        match o {
            Output::Send { id, request, .. } => {
                match &request {
                    SyncRequest::Inventory { buckets } => inventories.push(buckets.to_vec()),
                    SyncRequest::GetChanges { hashes } => fetched += hashes.len(),
                    _ => {}
                }
                next += 1;
                let request = Input::Request {
                    peer: 1,
                    id: InboundId(next),
                    request: Ok(request),
                };
                for r in b.handle(now, request, &mut server) {
                    match r {
                        Output::Respond { response, .. } => {
                            let response = Input::Response {
                                peer: 2,
                                id,
                                response: Ok(response),
                            };
                            outputs.extend(a.handle(now, response, &mut asker));
                        }
                        Output::Disconnect { reason, .. } => panic!("2 disconnected 1: {reason}"),
                        _ => {}
                    }
                }
            }
            Output::Disconnect { reason, .. } => panic!("1 disconnected 2: {reason}"),
            Output::Event(Event::RoundDone { result, .. }) => done = Some(result),
            _ => {}
        }
    }
    assert_eq!(inventories, vec![vec![0, 1, 2], vec![2]]);
    assert_eq!(fetched, 90_000);
    let outcome = done.expect("the round ended").expect("the round succeeded");
    // The fake asker stores nothing it fetches: all of it still lacks.
    assert_eq!((outcome.we_lack, outcome.they_lack), (90_000, 3));
}
