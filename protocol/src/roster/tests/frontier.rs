//! Point 4 of issue 13: a compact frontier (count and last hash per
//! document), so a member with 60,000 changes can still be revoked.

use std::collections::HashMap;

use super::*;

/// A document's change graph: `hash -> (author, deps)`.
#[derive(Default)]
struct Graph(HashMap<[u8; 32], ChangeNode>);

impl ChangeGraph for Graph {
    fn change(&self, _doc: &str, hash: &[u8; 32]) -> Option<ChangeNode> {
        self.0.get(hash).cloned()
    }
}

fn h(n: u32, salt: u8) -> [u8; 32] {
    let mut x = [salt; 32];
    x[..4].copy_from_slice(&n.to_be_bytes());
    x
}

/// `n` changes by key 1 interleaved with changes by key 0, one chain.
fn history(n: u32) -> (Graph, Vec<[u8; 32]>) {
    let mut g = Graph::default();
    let mut prev: Option<[u8; 32]> = None;
    let mut mine = Vec::new();
    for i in 0..n {
        let author = if i % 3 == 2 { 0 } else { 1 };
        let hash = h(i, 7);
        g.0.insert(
            hash,
            ChangeNode {
                author: key(author).public().to_bytes(),
                deps: prev.into_iter().collect(),
            },
        );
        if author == 1 {
            mine.push(hash);
        }
        prev = Some(hash);
    }
    (g, mine)
}

#[test]
fn a_member_with_60000_changes_can_be_revoked_and_its_frontier_checked() {
    let mut w = World::new();
    let g = w.g();
    let j1 = w.join(0, &[g], 1, Role::Member);
    let (graph, mine) = history(90_000);
    assert_eq!(mine.len(), 60_000);
    let last = *mine.last().unwrap();
    let rev = w.add(
        0,
        &[j1],
        "2026-01-06T00:00:00Z",
        Action::Revoke {
            target: Target::Node { key: hex_key(1) },
            reason: "left".into(),
            seen: w.by(1),
            frontier: vec![KeyFrontier {
                key: hex_key(1),
                docs: vec![DocFrontier {
                    doc: "practice/p-1".into(),
                    count: mine.len() as u64,
                    last: hex::encode(last),
                }],
            }],
        },
    );
    let size = w.entries[w.by_id[&rev]].encode().len();
    assert!(size < 2_000, "the revocation is {size} bytes");
    let r = w.roster();
    assert!(r.accepted.contains(&rev));
    let pk = key(1).public();
    let doc = "practice/p-1";
    let mut cache = FrontierCache::default();
    for (seq, hash) in mine.iter().enumerate().step_by(997) {
        assert!(r
            .check_change_author_cached(&pk, doc, seq as u64 + 1, hash, &graph, &mut cache)
            .is_ok());
    }
    assert!(r
        .check_change_author(&pk, doc, 60_000, &last, &graph)
        .is_ok());
    // Later: refused.
    assert!(matches!(
        r.check_change_author(&pk, doc, 60_001, &h(1, 1), &graph),
        Err(MembershipError::Revoked(_))
    ));
    // A backdated fork of an earlier sequence number: not in the history.
    assert!(matches!(
        r.check_change_author_cached(&pk, doc, 2, &h(1, 9), &graph, &mut cache),
        Err(MembershipError::Revoked(_))
    ));
    // The same number as the last, another hash.
    assert!(r
        .check_change_author(&pk, doc, 60_000, &h(5, 5), &graph)
        .is_err());
    // Another document: nothing of it is kept.
    assert!(r
        .check_change_author(&pk, "practice/p-2", 1, &mine[0], &graph)
        .is_err());
    // A live member: anything.
    assert!(r
        .check_change_author(&key(0).public(), doc, 1, &h(0, 3), &graph)
        .is_ok());
    assert!(matches!(
        r.check_change_author(&key(7).public(), doc, 1, &h(0, 3), &graph),
        Err(MembershipError::NotMember(_))
    ));
}

#[test]
fn without_the_frontier_s_history_an_earlier_change_waits() {
    let mut w = World::new();
    let g = w.g();
    let j1 = w.join(0, &[g], 1, Role::Member);
    let (mut graph, mine) = history(30);
    w.add(
        0,
        &[j1],
        "2026-01-06T00:00:00Z",
        Action::Revoke {
            target: Target::Node { key: hex_key(1) },
            reason: "left".into(),
            seen: w.by(1),
            frontier: vec![KeyFrontier {
                key: hex_key(1),
                docs: vec![DocFrontier {
                    doc: "practice/p-1".into(),
                    count: mine.len() as u64,
                    last: hex::encode(mine.last().unwrap()),
                }],
            }],
        },
    );
    let r = w.roster();
    let pk = key(1).public();
    graph.0.remove(&mine[10]);
    assert!(matches!(
        r.check_change_author(&pk, "practice/p-1", 3, &mine[2], &graph),
        Err(MembershipError::FrontierUnknown(_))
    ));
    assert!(r
        .check_change_author(&pk, "practice/p-1", 15, &mine[14], &graph)
        .is_ok());
}

#[test]
fn a_frontier_over_many_documents_fits_one_entry() {
    // 10,000 documents touched: the revocation stays under the bound.
    let docs: Vec<DocFrontier> = (0..10_000)
        .map(|i| DocFrontier {
            doc: format!("practice/p-{i:06}"),
            count: 1_000,
            last: hex::encode(h(i, 3)),
        })
        .collect();
    let mut w = World::new();
    let g = w.g();
    let j1 = w.join(0, &[g], 1, Role::Member);
    let rev = w.add(
        0,
        &[j1],
        "2026-01-06T00:00:00Z",
        Action::Revoke {
            target: Target::Node { key: hex_key(1) },
            reason: "left".into(),
            seen: w.by(1),
            frontier: vec![KeyFrontier {
                key: hex_key(1),
                docs,
            }],
        },
    );
    let bytes = w.entries[w.by_id[&rev]].encode();
    assert!(bytes.len() < MAX_ENTRY_BYTES, "{}", bytes.len());
    assert!(SignedEntry::decode(&bytes)
        .unwrap()
        .verify(Some(&w.cid))
        .is_ok());
}
