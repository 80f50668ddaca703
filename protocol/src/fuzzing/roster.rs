//! Fuzz bodies for the roster rules and for members' changes. Unlike the
//! decoder targets, the fuzzer's bytes drive *validly signed* input here:
//! a program of roster entries by six keys (any DAG shape, any action,
//! lists that omit things), and edits by a member and a revoked member.
//! The properties that keep nodes converging are asserted.

use std::collections::{BTreeSet, HashMap};

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ObjType, ReadDoc, ROOT};

use crate::doc::{self, actor_for};
use crate::envelope::{Scope, SignedChange};
use crate::identity::NodeKey;
use crate::ids::DocId;
use crate::roster::{
    verify_batch, Action, ChangeGraph, ChangeNode, DocFrontier, Entry, EntryId, Invite,
    KeyFrontier, OrgInfo, Role, Roster, SignedEntry, Target, VerifiedEntry,
};

/// Most entries one input makes (signing dominates the cost).
const MAX_OPS: usize = 48;

fn keys() -> Vec<NodeKey> {
    (0..6u8).map(|i| NodeKey::from_seed([i + 1; 32])).collect()
}

fn org(i: u8) -> OrgInfo {
    OrgInfo {
        key: format!("o{i}"),
        name: format!("Org {i}"),
        country: "FR".into(),
    }
}

fn genesis(key: &NodeKey) -> SignedEntry {
    Entry {
        consortium: String::new(),
        author: key.public().to_hex(),
        deps: vec![],
        issued_at: "2026-01-01T00:00:00Z".into(),
        action: Action::Genesis {
            name: "Fuzz".into(),
            org: org(0),
        },
    }
    .sign(key)
}

/// Roster evaluation of an adversarial entry set: every four bytes are one
/// entry (kind, author, target, dependency mask), signed by one of six
/// keys. Asserts what convergence rests on: the same roster in any order,
/// kept entries closed under dependencies, the same roster from the kept
/// entries alone, and an admin left.
pub fn roster_eval(data: &[u8]) {
    let keys = keys();
    let hex: Vec<String> = keys.iter().map(|k| k.public().to_hex()).collect();
    let g = genesis(&keys[0]);
    let cid = g.id();
    let mut entries: Vec<SignedEntry> = vec![g];
    let mut invites: HashMap<usize, EntryId> = HashMap::new();
    let mut admits: HashMap<usize, EntryId> = HashMap::new();
    for op in data.chunks_exact(4).take(MAX_OPS) {
        let (kind, author, target, mask) =
            (op[0], (op[1] % 6) as usize, (op[2] % 6) as usize, op[3]);
        let n = entries.len();
        let mut deps: BTreeSet<EntryId> = (0..8)
            .filter(|b| mask & (1 << b) != 0 && *b < n)
            .map(|b| entries[n - 1 - b].id())
            .collect();
        if deps.is_empty() {
            deps.insert(entries[n - 1].id());
        }
        let role = if mask & 0x80 != 0 {
            Role::Admin
        } else {
            Role::Member
        };
        let o = (target % 4) as u8;
        let action = match kind % 8 {
            0 | 1 => Action::Invite(Invite {
                org: org(o),
                key: hex[target].clone(),
                role,
                expires_at: if kind & 0x10 != 0 {
                    "2026-01-10T00:00:00Z"
                } else {
                    "2026-02-01T00:00:00Z"
                }
                .into(),
                addrs: vec![],
            }),
            2 => match invites.get(&author) {
                Some(i) => {
                    deps.insert(*i);
                    Action::Admit { invite: i.to_hex() }
                }
                None => continue,
            },
            3 => match admits.get(&target) {
                Some(a) => {
                    deps.insert(*a);
                    Action::Witness { admit: a.to_hex() }
                }
                None => continue,
            },
            4 | 5 => {
                // What the author lists as seen: all, or (a backdater's
                // or a forgetful author's list) only the older half.
                let struck: Vec<&str> = if kind % 8 == 4 {
                    (0..6)
                        .filter(|k| k % 4 == target % 4)
                        .map(|k| hex[k].as_str())
                        .collect()
                } else {
                    vec![hex[target].as_str()]
                };
                let mut seen: Vec<String> = entries
                    .iter()
                    .filter(|e| struck.contains(&e.entry.author.as_str()))
                    .map(|e| e.id().to_hex())
                    .collect();
                if mask & 0x40 != 0 {
                    seen.truncate(seen.len() / 2);
                }
                seen.sort();
                seen.dedup();
                Action::Revoke {
                    target: if kind % 8 == 4 {
                        Target::Org { org: org(o).key }
                    } else {
                        Target::Node {
                            key: hex[target].clone(),
                        }
                    },
                    reason: String::new(),
                    seen,
                    frontier: vec![],
                }
            }
            6 => match invites.get(&target) {
                Some(i) => Action::Withdraw { invite: i.to_hex() },
                None => continue,
            },
            _ => Action::SetRole {
                org: org(o).key,
                role,
            },
        };
        let e = Entry {
            consortium: cid.to_hex(),
            author: hex[author].clone(),
            deps: deps.iter().map(EntryId::to_hex).collect(),
            issued_at: format!("2026-01-{:02}T00:00:00Z", 1 + kind % 28),
            action,
        }
        .sign(&keys[author]);
        match &e.entry.action {
            Action::Invite(_) => {
                invites.insert(target, e.id());
            }
            Action::Admit { .. } => {
                admits.insert(author, e.id());
            }
            _ => {}
        }
        entries.push(e);
    }
    let verified: Vec<VerifiedEntry> = entries
        .iter()
        .filter_map(|e| e.verify(Some(&cid)).ok())
        .collect();
    let r = Roster::evaluate(&cid, &verified);
    let mut reversed = verified.clone();
    reversed.reverse();
    assert_eq!(
        r,
        Roster::evaluate(&cid, &reversed),
        "the arrival order changed the roster"
    );
    for e in &verified {
        if r.accepted.contains(&e.id) {
            assert!(
                e.deps.iter().all(|d| r.accepted.contains(d)),
                "a kept entry depends on a dropped one"
            );
        }
    }
    let kept: Vec<VerifiedEntry> = verified
        .iter()
        .filter(|e| r.accepted.contains(&e.id) || r.unwitnessed.contains(&e.id))
        .cloned()
        .collect();
    let again = Roster::evaluate(&cid, &kept);
    assert_eq!(
        again.orgs, r.orgs,
        "the kept entries alone evaluate differently"
    );
    assert_eq!(again.accepted, r.accepted);
    assert!(
        r.orgs.iter().any(|o| o.role == Role::Admin
            && o.revoked.is_none()
            && o.keys.iter().any(|k| k.revoked.is_none())),
        "no admin left"
    );
}

/// The changes held, as the frontier walk sees them.
struct Held(HashMap<[u8; 32], ChangeNode>);

impl ChangeGraph for Held {
    fn change(&self, _doc: &str, hash: &[u8; 32]) -> Option<ChangeNode> {
        self.0.get(hash).cloned()
    }
}

fn node(c: &automerge::Change) -> ChangeNode {
    ChangeNode {
        author: c.actor_id().to_bytes().try_into().unwrap_or([0; 32]),
        deps: c.deps().iter().map(|h| h.0).collect(),
    }
}

/// Validly signed but crafted changes by members: the bytes drive edits
/// (any field, any value, text splices, objects where scalars belong,
/// deletions, edits on a fork of an old state) by the founder, a member
/// and a revoked member whose frontier keeps only its first change. Every
/// change goes through the batch check the node and the simulation use,
/// the accepted ones into the document, and the document is read back as
/// a record. Nothing may panic, and nothing the revocation does not keep
/// may be accepted.
pub fn member_change(data: &[u8]) {
    let keys = keys();
    let hex: Vec<String> = keys.iter().map(|k| k.public().to_hex()).collect();
    let g = genesis(&keys[0]);
    let cid = g.id();
    let scope = Scope(cid.0);
    let doc_id = DocId::parse("practice/p-1").expect("a document id");
    let practice: crate::record::Practice = serde_json::from_value(serde_json::json!({
        "id": "p-1", "title": "Mentoring after release", "summary": "", "body": "Week one.",
        "themes": ["mentoring"], "target_groups": ["released offenders"],
        "countries": ["FR"], "languages": ["fr"], "organisation": "o0",
        "evidence": "promising", "contact": "team@example.org", "status": "draft",
        "created_at": "2025-03-01T10:00:00Z", "updated_at": "2025-03-01T10:00:00Z"
    }))
    .expect("a practice");
    let Ok((mut base, created)) = doc::create(&keys[0], &practice.into(), 1_700_000_000_000) else {
        return;
    };
    // The revoked member's one kept change.
    base.set_actor(actor_for(&keys[2]));
    let _ = base.put(ROOT, "title", "Kept");
    base.commit_with(CommitOptions::default().with_time(1));
    let Some(kept) = base.get_last_local_change() else {
        return;
    };
    let mut roster_entries = vec![g];
    let mut prev = cid;
    for k in [1usize, 2] {
        let inv = Entry {
            consortium: cid.to_hex(),
            author: hex[0].clone(),
            deps: vec![prev.to_hex()],
            issued_at: "2026-01-02T00:00:00Z".into(),
            action: Action::Invite(Invite {
                org: org(k as u8),
                key: hex[k].clone(),
                role: Role::Member,
                expires_at: "2026-02-01T00:00:00Z".into(),
                addrs: vec![],
            }),
        }
        .sign(&keys[0]);
        let admit = Entry {
            consortium: cid.to_hex(),
            author: hex[k].clone(),
            deps: vec![inv.id().to_hex()],
            issued_at: "2026-01-02T00:00:00Z".into(),
            action: Action::Admit {
                invite: inv.id().to_hex(),
            },
        }
        .sign(&keys[k]);
        let mut deps = [inv.id(), admit.id()];
        deps.sort();
        let witness = Entry {
            consortium: cid.to_hex(),
            author: hex[0].clone(),
            deps: deps.iter().map(EntryId::to_hex).collect(),
            issued_at: "2026-01-02T00:00:00Z".into(),
            action: Action::Witness {
                admit: admit.id().to_hex(),
            },
        }
        .sign(&keys[0]);
        prev = witness.id();
        roster_entries.extend([inv, admit, witness]);
    }
    let seen: Vec<String> = {
        let mut s: Vec<String> = roster_entries
            .iter()
            .filter(|e| e.entry.author == hex[2])
            .map(|e| e.id().to_hex())
            .collect();
        s.sort();
        s
    };
    roster_entries.push(
        Entry {
            consortium: cid.to_hex(),
            author: hex[0].clone(),
            deps: vec![prev.to_hex()],
            issued_at: "2026-01-03T00:00:00Z".into(),
            action: Action::Revoke {
                target: Target::Node {
                    key: hex[2].clone(),
                },
                reason: String::new(),
                seen,
                frontier: vec![KeyFrontier {
                    key: hex[2].clone(),
                    docs: vec![DocFrontier {
                        doc: "practice/p-1".into(),
                        count: kept.seq(),
                        last: hex::encode(kept.hash().0),
                    }],
                }],
            },
        }
        .sign(&keys[0]),
    );
    let verified: Vec<VerifiedEntry> = roster_entries
        .iter()
        .filter_map(|e| e.verify(Some(&cid)).ok())
        .collect();
    let roster = Roster::evaluate(&cid, &verified);
    let held = Held(
        [
            (created.hash().0, node(&created)),
            (kept.hash().0, node(&kept)),
        ]
        .into_iter()
        .collect(),
    );
    let heads = base.get_heads();
    // The fuzzer's edits.
    let mut envelopes = Vec::new();
    let mut d = base.clone();
    for op in data.chunks(8).take(32) {
        let who = [0usize, 1, 2][(op[0] % 3) as usize];
        if op[0] & 0x80 != 0 {
            // Backdated: on the state before anyone's edits.
            if let Ok(f) = base.fork_at(&heads) {
                d = f;
            }
        }
        d.set_actor(actor_for(&keys[who]));
        let field = doc::fields(crate::ids::RecordKind::Practice)
            .get(op.get(1).copied().unwrap_or(0) as usize % 20)
            .map(|(f, _)| (*f).to_owned())
            .unwrap_or_else(|| format!("x{}", op.get(1).copied().unwrap_or(0)));
        let text = String::from_utf8_lossy(&op[2.min(op.len())..]).into_owned();
        let _ = match op.get(1).map(|b| b % 5) {
            Some(0) => d.put(ROOT, &field, text),
            Some(1) => d.put(ROOT, &field, i64::from(op[0])),
            Some(2) => d.delete(ROOT, &field),
            Some(3) => d.put_object(ROOT, &field, ObjType::List).map(|_| ()),
            _ => match d.get(ROOT, "body") {
                Ok(Some((_, obj))) => {
                    let len = d.length(&obj);
                    d.splice_text(&obj, usize::from(op[0]) % (len + 1), 0, &text)
                }
                _ => d.put(ROOT, "body", text),
            },
        };
        d.commit_with(CommitOptions::default().with_time(i64::from(op[0])));
        if let Some(c) = d.get_last_local_change() {
            envelopes.push(SignedChange::sign(&keys[who], &scope, &doc_id, c));
        }
    }
    let v = verify_batch(&scope, Some(&roster), envelopes, &held, 1);
    assert!(
        v.invalid.is_empty(),
        "a validly signed change was called invalid"
    );
    let revoked = keys[2].public();
    for (_, c) in &v.accepted {
        assert!(
            c.author != revoked || c.hash == kept.hash(),
            "a change its revocation does not keep was accepted"
        );
    }
    let mut applied = base.clone();
    let changes: Vec<automerge::Change> = v.accepted.into_iter().map(|(_, c)| c.change).collect();
    if applied.apply_changes(changes).is_ok() {
        // Valid or not, the record reads back without a panic.
        let _ = doc::read(&mut applied);
    }
}
