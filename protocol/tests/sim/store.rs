//! A simulated node's store. Only the storage is the simulation's own (maps
//! instead of sled): every rule — who may connect, which roster entries
//! to keep, whether an admission is valid, whether a change's author may
//! write, what to retract — is the protocol's function the node calls too.
//! What the sync machine asks of it is in `replica.rs`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, UNIX_EPOCH};

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{AutoCommit, ChangeHash, ObjType, ReadDoc, ROOT};
use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::Rng;

use r2com_protocol::doc::{actor_for, check_own_chain};
use r2com_protocol::envelope::{Scope, SignedChange};
use r2com_protocol::identity::NodeKey;
use r2com_protocol::ids::{DocId, RecordKind};
use r2com_protocol::roster::{
    self, Action, ChangeGraph, ChangeNode, ConsortiumId, EntryId, FrontierCache, Roster,
    SignedEntry, VerifiedEntry,
};
use r2com_protocol::sync::Outbox;

use super::key;

/// A held change: its document, envelope, author, sequence number, deps.
pub struct Held {
    pub doc: String,
    pub env: Vec<u8>,
    pub author: [u8; 32],
    pub seq: u64,
    pub deps: Vec<[u8; 32]>,
}

/// A node's store: roster entries, signed changes, documents.
pub struct Store {
    pub me: usize,
    pub key: NodeKey,
    pub cid: ConsortiumId,
    /// Ignores its own revocation when writing (the revoked member).
    pub rogue: bool,
    /// The roster entries this node keeps (only what the rules keep).
    pub entries: BTreeMap<EntryId, SignedEntry>,
    pub roster: Roster,
    /// This node's own invite and admission while it waits.
    pub own_admission: Vec<SignedEntry>,
    /// Every stored change, including those waiting for a dependency.
    pub changes: BTreeMap<[u8; 32], Held>,
    /// The stored changes their documents have applied: what the summary,
    /// inventories and fetches see.
    pub applied: BTreeSet<[u8; 32]>,
    pub docs: BTreeMap<String, AutoCommit>,
    pub outbox: Outbox<usize>,
    /// Simulated time (set by the simulation before each input).
    pub now: DateTime<Utc>,
}

pub fn sim_time(ms: u64) -> DateTime<Utc> {
    DateTime::<Utc>::from(UNIX_EPOCH + Duration::from_millis(1_790_000_000_000 + ms))
}

pub fn verified(cid: &ConsortiumId, e: &BTreeMap<EntryId, SignedEntry>) -> Vec<VerifiedEntry> {
    e.values()
        .map(|e| e.verify(Some(cid)).expect("stored entries verify"))
        .collect()
}

impl ChangeGraph for Store {
    fn change(&self, doc: &str, hash: &[u8; 32]) -> Option<ChangeNode> {
        self.changes
            .get(hash)
            .filter(|h| h.doc == doc)
            .map(|h| ChangeNode {
                author: h.author,
                deps: h.deps.clone(),
            })
    }
}

pub fn doc_id(doc: &str) -> DocId {
    DocId::new(RecordKind::Practice, doc.strip_prefix("practice/").unwrap()).unwrap()
}

impl Store {
    pub fn new(me: usize, cid: ConsortiumId, entries: &[SignedEntry]) -> Store {
        let entries: BTreeMap<EntryId, SignedEntry> =
            entries.iter().map(|e| (e.id(), e.clone())).collect();
        Store {
            me,
            key: key(me),
            cid,
            rogue: false,
            roster: Roster::evaluate(&cid, &verified(&cid, &entries)),
            entries,
            own_admission: Vec::new(),
            changes: BTreeMap::new(),
            applied: BTreeSet::new(),
            docs: BTreeMap::new(),
            outbox: Outbox::default(),
            now: sim_time(0),
        }
    }

    pub fn scope(&self) -> Scope {
        Scope(self.cid.0)
    }

    pub fn stored(&self) -> Vec<VerifiedEntry> {
        verified(&self.cid, &self.entries)
    }

    /// Merge entries as the node does: keep what the rules keep, drop what
    /// they no longer keep, queue the new ones for relaying, retract.
    /// Returns the merge's invalid and pending findings.
    pub fn merge(&mut self, entries: Vec<SignedEntry>) -> (Vec<String>, bool) {
        let m = roster::merge_entries(&self.cid, &self.stored(), entries);
        if !m.invalid.is_empty() {
            // Invalid data: nothing of the batch is applied.
            return (m.invalid, false);
        }
        for id in &m.drop {
            self.entries.remove(id);
        }
        for e in m.store {
            self.outbox.roster.push(e.encode());
            self.entries.insert(e.id(), e);
        }
        self.roster = m.roster;
        self.retract();
        (m.invalid, m.pending)
    }

    /// Remove the changes the roster no longer allows and rebuild their
    /// documents from the rest (the node's `retract_disallowed`).
    pub fn retract(&mut self) {
        let mut cache = FrontierCache::default();
        let remove: Vec<[u8; 32]> = self
            .changes
            .iter()
            .filter(|(h, c)| {
                let author = r2com_protocol::identity::PublicKey::from_bytes(&c.author).unwrap();
                self.roster
                    .check_change_author_cached(&author, &c.doc, c.seq, h, self, &mut cache)
                    .is_err()
            })
            .map(|(h, _)| *h)
            .collect();
        let mut docs = BTreeSet::new();
        for h in &remove {
            if let Some(c) = self.changes.remove(h) {
                docs.insert(c.doc);
            }
            self.applied.remove(h);
        }
        let scope = self.scope();
        for doc in docs {
            let mut d = AutoCommit::new();
            let keep: Vec<automerge::Change> = self
                .changes
                .values()
                .filter(|c| c.doc == doc)
                .map(|c| {
                    SignedChange::decode(&c.env)
                        .unwrap()
                        .verify(&scope)
                        .unwrap()
                        .change
                })
                .collect();
            d.apply_changes(keep).unwrap();
            self.docs.insert(doc.clone(), d);
            self.index(&doc);
        }
    }

    /// Recompute which stored changes of `doc` are applied.
    pub fn index(&mut self, doc: &str) {
        let d = self.docs.get(doc).unwrap();
        for (h, c) in &self.changes {
            if c.doc == doc {
                if d.get_change_by_hash(&ChangeHash(*h)).is_some() {
                    self.applied.insert(*h);
                } else {
                    self.applied.remove(h);
                }
            }
        }
    }

    /// Sign and keep a new entry by this node (refused ones are dropped,
    /// as the node refuses them).
    pub fn author_entry(&mut self, action: Action) -> Option<SignedEntry> {
        let e = roster::author_entry(&self.key, &self.cid, &self.roster, action, self.now);
        self.merge(vec![e.clone()]);
        self.entries.contains_key(&e.id()).then_some(e)
    }

    /// This node's change to `doc`: a new field value, and a few
    /// characters spliced into a shared text.
    pub fn make_change(&mut self, doc: &str, rng: &mut StdRng, t: u64) -> SignedChange {
        let me = self.me;
        let d = self.docs.entry(doc.to_owned()).or_insert_with(|| {
            let mut d = AutoCommit::new();
            d.set_actor(actor_for(&key(me)));
            d
        });
        d.set_actor(actor_for(&self.key));
        if d.get(ROOT, "text").unwrap().is_none() {
            d.put_object(ROOT, "text", ObjType::Text).unwrap();
        }
        let text = d.get(ROOT, "text").unwrap().unwrap().1;
        let len = d.length(&text);
        let at = rng.gen_range(0..=len);
        d.splice_text(&text, at, 0, &format!("{}.", self.me))
            .unwrap();
        d.put(
            ROOT,
            format!("f{}", rng.gen_range(0..4)),
            rng.gen::<u32>() as i64,
        )
        .unwrap();
        d.commit_with(CommitOptions::default().with_time(t as i64));
        let change = d.get_last_local_change().unwrap().clone();
        SignedChange::sign(&self.key, &self.scope(), &doc_id(doc), change)
    }

    pub fn hold(&mut self, doc: &str, sc: &SignedChange) -> [u8; 32] {
        let v = sc.verify(&self.scope()).unwrap();
        self.changes.insert(
            v.hash.0,
            Held {
                doc: doc.to_owned(),
                env: sc.encode(),
                author: v.author.to_bytes(),
                seq: v.change.seq(),
                deps: v.change.deps().iter().map(|h| h.0).collect(),
            },
        );
        v.hash.0
    }

    /// Write locally: store and queue for pushing.
    pub fn write(&mut self, doc: &str, rng: &mut StdRng, t: u64) -> Option<[u8; 32]> {
        let me = self.key.public().to_hex();
        if !self.rogue && !self.roster.is_live_member(&me) {
            return None; // a node refuses writes once it is not a member
        }
        // Nor while one of its own changes to the document waits (a
        // retraction took away what it builds on): the node's rule.
        let mine = self.key.public().to_bytes();
        let own: Vec<ChangeHash> = self
            .changes
            .iter()
            .filter(|(_, c)| c.doc == doc && c.author == mine)
            .map(|(h, _)| ChangeHash(*h))
            .collect();
        if let Some(d) = self.docs.get_mut(doc) {
            if check_own_chain(d, &own).is_err() {
                return None;
            }
        }
        let sc = self.make_change(doc, rng, t);
        let hash = self.hold(doc, &sc);
        self.applied.insert(hash);
        self.outbox.changes.push((None, sc.encode()));
        Some(hash)
    }

    /// Each document's heads; a document a retraction emptied is no
    /// document (a node that never held its changes has none).
    pub fn heads(&mut self) -> BTreeMap<String, Vec<ChangeHash>> {
        self.docs
            .iter_mut()
            .filter_map(|(k, d)| {
                let mut h = d.get_heads();
                h.sort();
                (!h.is_empty()).then(|| (k.clone(), h))
            })
            .collect()
    }
}
