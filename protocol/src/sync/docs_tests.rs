//! A clone takes whole documents (`GetDocs`) when both sides speak sync
//! revision 2 or more (signatures only, but with the changes' envelopes
//! from a peer of revision 3), and the change path otherwise; what the
//! documents leave out is fetched change by change.

use std::collections::{BTreeMap, VecDeque};
use std::time::SystemTime;

use crate::sync::{
    bucket_digests, summary_digest, Applied, Event, InboundId, Input, Outbox, Output, Replica,
    RoundOutcome, Standing, Summary, SyncMachine,
};
use crate::wire::{SyncRequest, SyncResponse, EMPTY_BUCKET};

/// A replica of opaque items (each item is its own 32-byte hash; a
/// "document" is one item, in document bucket `hash[31]`).
#[derive(Default)]
struct Fake {
    items: BTreeMap<[u8; 32], Vec<u8>>,
    /// Speaks revision 2 (whole documents).
    whole: bool,
    /// Serves only documents whose hash has an even second byte.
    half: bool,
    docs_applied: u64,
}

impl Fake {
    fn with(n: u32, whole: bool) -> Fake {
        let mut f = Fake {
            whole,
            ..Fake::default()
        };
        for i in 0..n {
            let mut h = [0u8; 32];
            h[..4].copy_from_slice(&i.wrapping_mul(2_654_435_761).to_be_bytes());
            h[31] = i as u8;
            f.items.insert(h, h.to_vec());
        }
        f
    }

    fn insert(&mut self, items: Vec<Vec<u8>>) -> u64 {
        let mut n = 0;
        for i in items {
            let h: [u8; 32] = i.as_slice().try_into().expect("32-byte items");
            n += u64::from(self.items.insert(h, i).is_none());
        }
        n
    }
}

impl Replica<u8> for Fake {
    type Error = String;
    fn standing(&mut self, _: &u8) -> Standing {
        Standing::Member
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
        Ok(hashes
            .iter()
            .filter_map(|h| self.items.get(h).cloned())
            .collect())
    }
    fn get_roster(&mut self, _: &[[u8; 32]]) -> Result<Vec<Vec<u8>>, String> {
        Ok(Vec::new())
    }
    fn apply(&mut self, _: &u8, _: Vec<Vec<u8>>, envs: Vec<Vec<u8>>) -> Result<Applied, String> {
        Ok(Applied {
            applied: self.insert(envs),
            ..Applied::default()
        })
    }
    fn whole_docs(&self) -> bool {
        self.whole
    }
    fn get_docs(&mut self, buckets: &[u8], _: usize, _: bool) -> Result<Vec<Vec<u8>>, String> {
        Ok(self
            .items
            .iter()
            .filter(|(h, _)| buckets.contains(&h[31]) && (!self.half || h[1] % 2 == 0))
            .map(|(_, v)| v.clone())
            .collect())
    }
    fn apply_docs(&mut self, _: &u8, chunks: Vec<Vec<u8>>) -> Result<Applied, String> {
        let applied = self.insert(chunks);
        self.docs_applied += applied;
        Ok(Applied {
            applied,
            ..Applied::default()
        })
    }
    fn admit(&mut self, _: &u8, _: Vec<Vec<u8>>) -> Result<Option<Vec<Vec<u8>>>, String> {
        Ok(None)
    }
    fn own_admission(&mut self) -> Result<Vec<Vec<u8>>, String> {
        Ok(Vec::new())
    }
    fn take_outbox(&mut self) -> Outbox<u8> {
        Outbox::default()
    }
}

/// Member 1 (`asker`) connects to member 2 (`server`) and pulls: the
/// kinds of the requests it sent, and how its first round ended.
fn clone(asker: &mut Fake, server: &mut Fake) -> (Vec<&'static str>, RoundOutcome) {
    let (kinds, outcome, _) = clone_from(asker, server, None);
    (kinds, outcome)
}

/// [`clone`] from a server whose summary says `revision` instead of its
/// own (an older node); also whether each `GetDocs` asked for envelopes.
fn clone_from(
    asker: &mut Fake,
    server: &mut Fake,
    revision: Option<u32>,
) -> (Vec<&'static str>, RoundOutcome, Vec<bool>) {
    let mut envelopes_asked = Vec::new();
    let now = SystemTime::UNIX_EPOCH;
    let mut a: SyncMachine<u8> = SyncMachine::new([]);
    let mut b: SyncMachine<u8> = SyncMachine::new([]);
    let connected = Input::Connected {
        peer: 2,
        dialer: true,
    };
    let mut outputs: VecDeque<Output<u8>> = a.handle(now, connected, asker).into();
    let (mut kinds, mut first, mut next) = (Vec::new(), None, 0);
    while let Some(o) = outputs.pop_front() {
        match o {
            Output::Send { id, request, .. } => {
                kinds.push(request.kind());
                if let SyncRequest::GetDocs { envelopes, .. } = &request {
                    envelopes_asked.push(*envelopes);
                }
                next += 1;
                let request = Input::Request {
                    peer: 1,
                    id: InboundId(next),
                    request: Ok(request),
                };
                for r in b.handle(now, request, server) {
                    match r {
                        Output::Respond { mut response, .. } => {
                            response.check().expect("a valid answer");
                            if let (SyncResponse::Summary { revision: r, .. }, Some(old)) =
                                (&mut response, revision)
                            {
                                *r = old;
                            }
                            let response = Input::Response {
                                peer: 2,
                                id,
                                response: Ok(response),
                            };
                            outputs.extend(a.handle(now, response, asker));
                        }
                        Output::Disconnect { reason, .. } => panic!("2 disconnected 1: {reason}"),
                        _ => {}
                    }
                }
            }
            Output::Disconnect { reason, .. } => panic!("1 disconnected 2: {reason}"),
            Output::Event(Event::RoundDone { result, .. }) if first.is_none() => {
                first = Some(result.expect("the round succeeded"));
            }
            _ => {}
        }
    }
    (kinds, first.expect("a round ended"), envelopes_asked)
}

#[test]
fn a_fresh_node_clones_whole_documents_from_a_revision_2_peer() {
    let mut server = Fake::with(3000, true);
    let mut asker = Fake::with(0, true);
    let (kinds, outcome) = clone(&mut asker, &mut server);
    assert_eq!(kinds.iter().filter(|k| **k == "get-docs").count(), 8);
    assert!(!kinds.contains(&"get-buckets") && !kinds.contains(&"get-changes"));
    assert_eq!(asker.docs_applied, 3000);
    assert_eq!(outcome.fetched, 3000);
    assert_eq!(asker.items, server.items);
}

#[test]
fn only_a_revision_3_peer_is_asked_for_envelopes() {
    // This revision (4) and revision 2 answer signatures only (version 1);
    // revision 3 is asked for envelopes, as it asked itself.
    for (revision, envelopes) in [(None, false), (Some(3), true), (Some(2), false)] {
        let mut server = Fake::with(300, true);
        let mut asker = Fake::with(0, true);
        let (kinds, _, asked) = clone_from(&mut asker, &mut server, revision);
        assert_eq!(kinds.iter().filter(|k| **k == "get-docs").count(), 8);
        assert_eq!(asked, vec![envelopes; 8], "revision {revision:?}");
        assert_eq!(asker.items, server.items);
    }
}

#[test]
fn an_older_peer_on_either_side_keeps_the_change_path() {
    for (asker_whole, server_whole) in [(true, false), (false, true)] {
        let mut server = Fake::with(3000, server_whole);
        let mut asker = Fake::with(0, asker_whole);
        let (kinds, _) = clone(&mut asker, &mut server);
        assert!(!kinds.contains(&"get-docs"), "{kinds:?}");
        assert!(kinds.contains(&"get-buckets"));
        assert_eq!(asker.docs_applied, 0);
        assert_eq!(asker.items, server.items);
    }
}

#[test]
fn what_whole_documents_leave_out_comes_change_by_change() {
    let mut server = Fake {
        half: true,
        ..Fake::with(3000, true)
    };
    let mut asker = Fake::with(0, true);
    let (kinds, _) = clone(&mut asker, &mut server);
    let docs = kinds
        .iter()
        .position(|k| *k == "get-docs")
        .expect("docs asked");
    let rest = &kinds[docs..];
    assert!(
        rest.contains(&"inventory") || rest.contains(&"get-buckets"),
        "{kinds:?}"
    );
    assert!(asker.docs_applied > 1000 && asker.docs_applied < 2000);
    assert_eq!(asker.items, server.items);
    // Asked once per round: a peer that serves none does not loop.
    let mut server = Fake {
        half: true,
        ..Fake::with(1, true)
    };
    server.items = server
        .items
        .into_keys()
        .map(|mut h| {
            h[1] = 1;
            (h, h.to_vec())
        })
        .collect();
    let mut asker = Fake::with(0, true);
    let (kinds, _) = clone(&mut asker, &mut server);
    assert_eq!(kinds.iter().filter(|k| **k == "get-docs").count(), 8);
    assert_eq!(asker.items, server.items);
}

#[test]
fn a_node_holding_changes_already_keeps_the_change_path() {
    let mut server = Fake::with(3000, true);
    let mut asker = Fake::with(10, true);
    assert!(asker
        .bucket_digests()
        .unwrap()
        .iter()
        .any(|d| *d != EMPTY_BUCKET));
    let (kinds, _) = clone(&mut asker, &mut server);
    assert!(!kinds.contains(&"get-docs"), "{kinds:?}");
    assert_eq!(asker.items, server.items);
}
