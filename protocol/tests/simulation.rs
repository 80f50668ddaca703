//! A seeded simulation of the sans-IO sync machine: eight honest nodes, a
//! member that is revoked and keeps writing (later changes and backdated
//! forks), and a non-member with validly signed changes of its own. The
//! network drops, duplicates, delays and reorders messages and cuts and
//! heals links; a node joins by invite and a member is revoked mid-run.
//!
//! Checked after every delivered message: no honest node ever stores a
//! change by the non-member, a forged one, or one the revoked member made
//! that its revocation does not list. Checked at the end (after a phase
//! where links heal and nothing is lost): every honest node holds the same
//! roster, the same changes and the same documents, and no honest change
//! was lost.
//!
//! `SIM_SEEDS=N` runs N seeds (default 6); `SIM_SEED=S` runs only seed S.
//! A failure names its seed, so it can be replayed.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{AutoCommit, ChangeHash, ObjType, ReadDoc, ROOT};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sha2::{Digest, Sha256};

use r2com_protocol::doc::actor_for;
use r2com_protocol::envelope::{Scope, SignedChange};
use r2com_protocol::identity::NodeKey;
use r2com_protocol::ids::{DocId, RecordKind};
use r2com_protocol::roster::{
    Action, ConsortiumId, Entry, EntryId, FrontierItem, Invite, OrgInfo, Role, Roster, SignedEntry,
    Target, VerifiedEntry,
};
use r2com_protocol::sync::{
    check_change, Applied, ChangeRefusal, InboundId, Input, Outbox, Output, Replica, RequestId,
    Standing, Summary, SyncMachine,
};
use r2com_protocol::wire::{self, SyncRequest, SyncResponse, BUCKETS};

/// Honest nodes 0..HONEST (0 founds the consortium; JOINER joins mid-run).
const HONEST: usize = 8;
const JOINER: usize = 7;
/// A member revoked mid-run that keeps writing.
const REVOKED: usize = 8;
/// Never admitted; signs changes of its own.
const STRANGER: usize = 9;
const NODES: usize = 10;

/// Simulated milliseconds.
const CHAOS_MS: u64 = 40_000;
const HEAL_MS: u64 = 40_000;
const JOIN_AT: u64 = 5_000;
const REVOKE_AT: u64 = 15_000;
const REQUEST_TIMEOUT: u64 = 3_000;

fn key(i: usize) -> NodeKey {
    NodeKey::from_seed([i as u8 + 11; 32])
}

fn hex_key(i: usize) -> String {
    key(i).public().to_hex()
}

fn org(i: usize) -> OrgInfo {
    OrgInfo {
        key: format!("org{i}"),
        name: format!("Organisation {i}"),
        country: "FR".into(),
    }
}

/// A node's store: roster entries, signed changes, documents.
struct Store {
    me: usize,
    key: NodeKey,
    cid: ConsortiumId,
    /// Ignores its own revocation when writing (the revoked member).
    rogue: bool,
    entries: BTreeMap<EntryId, SignedEntry>,
    roster: Roster,
    /// hash -> (document, envelope): every stored change, including those
    /// waiting for a dependency.
    changes: BTreeMap<[u8; 32], (String, Vec<u8>)>,
    /// The stored changes their documents have applied: what the summary,
    /// inventories and fetches see.
    applied: BTreeSet<[u8; 32]>,
    /// Author and sequence number of each stored change (checked once).
    meta: BTreeMap<[u8; 32], (r2com_protocol::identity::PublicKey, u64)>,
    docs: BTreeMap<String, AutoCommit>,
    outbox: Outbox<usize>,
    written: u64,
}

fn evaluate(cid: &ConsortiumId, entries: &BTreeMap<EntryId, SignedEntry>) -> Roster {
    let verified: Vec<VerifiedEntry> = entries
        .values()
        .map(|e| e.verify(Some(cid)).expect("stored entries verify"))
        .collect();
    Roster::evaluate(cid, &verified)
}

impl Store {
    fn new(me: usize, cid: ConsortiumId, entries: &[SignedEntry]) -> Store {
        let entries: BTreeMap<EntryId, SignedEntry> =
            entries.iter().map(|e| (e.id(), e.clone())).collect();
        Store {
            me,
            key: key(me),
            cid,
            rogue: me == REVOKED,
            roster: evaluate(&cid, &entries),
            entries,
            changes: BTreeMap::new(),
            applied: BTreeSet::new(),
            meta: BTreeMap::new(),
            docs: BTreeMap::new(),
            outbox: Outbox::default(),
            written: 0,
        }
    }

    fn scope(&self) -> Scope {
        Scope(self.cid.0)
    }

    fn add_entry(&mut self, e: SignedEntry) {
        self.outbox.roster.push(e.encode());
        self.entries.insert(e.id(), e);
        self.reevaluate();
    }

    /// Re-evaluate the roster and retract what it no longer allows, as the
    /// node does (`Library::retract_disallowed`).
    fn reevaluate(&mut self) {
        self.roster = evaluate(&self.cid, &self.entries);
        let scope = self.scope();
        let mut docs = BTreeSet::new();
        let remove: Vec<[u8; 32]> = self
            .changes
            .iter()
            .filter(|(h, (doc, _))| {
                let (author, seq) = &self.meta[*h];
                let revoked = self
                    .roster
                    .find_key(&author.to_hex())
                    .is_some_and(|(o, k)| o.revoked.is_some() || k.revoked.is_some());
                let out = revoked
                    && self
                        .roster
                        .check_change_author(author, doc, *seq, h)
                        .is_err();
                if out {
                    docs.insert(doc.clone());
                }
                out
            })
            .map(|(h, _)| *h)
            .collect();
        for h in &remove {
            self.changes.remove(h);
            self.applied.remove(h);
            self.meta.remove(h);
        }
        for doc in docs {
            let mut d = AutoCommit::new();
            let keep: Vec<automerge::Change> = self
                .changes
                .values()
                .filter(|(dd, _)| *dd == doc)
                .map(|(_, env)| {
                    SignedChange::decode(env)
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
    fn index(&mut self, doc: &str) {
        let d = self.docs.get(doc).unwrap();
        for (h, (dd, _)) in &self.changes {
            if dd == doc {
                if d.get_change_by_hash(&ChangeHash(*h)).is_some() {
                    self.applied.insert(*h);
                } else {
                    self.applied.remove(h);
                }
            }
        }
    }

    /// Sign and store a new entry by this node.
    fn author_entry(&mut self, at_ms: u64, action: Action) -> SignedEntry {
        let mut deps: Vec<String> = self.roster.heads.iter().map(EntryId::to_hex).collect();
        deps.sort();
        let e = Entry {
            consortium: self.cid.to_hex(),
            author: self.key.public().to_hex(),
            deps,
            issued_at: chrono::DateTime::<chrono::Utc>::from(
                UNIX_EPOCH + Duration::from_millis(1_790_000_000_000 + at_ms),
            )
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            action,
        }
        .sign(&self.key);
        self.add_entry(e.clone());
        e
    }

    /// This node's change to `doc`: a new field value, and a few
    /// characters spliced into a shared text.
    fn make_change(&mut self, doc: &str, rng: &mut StdRng, t: u64) -> SignedChange {
        let d = self.docs.entry(doc.to_owned()).or_insert_with(|| {
            let mut d = AutoCommit::new();
            d.set_actor(actor_for(&key(self.me)));
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

    /// Write locally: store and queue for pushing.
    fn write(&mut self, doc: &str, rng: &mut StdRng, t: u64) -> Option<[u8; 32]> {
        let me = self.key.public().to_hex();
        if !self.rogue && !self.roster.is_live_member(&me) {
            return None; // a node refuses writes once it is not a member
        }
        let sc = self.make_change(doc, rng, t);
        let env = sc.encode();
        let hash = sc.verify(&self.scope()).unwrap().hash.0;
        self.changes.insert(hash, (doc.to_owned(), env.clone()));
        self.meta.insert(
            hash,
            (
                self.key.public(),
                sc.verify(&self.scope()).unwrap().change.seq(),
            ),
        );
        self.applied.insert(hash);
        self.outbox.changes.push((None, env));
        self.written += 1;
        Some(hash)
    }

    fn heads(&mut self) -> BTreeMap<String, Vec<ChangeHash>> {
        self.docs
            .iter_mut()
            .map(|(k, d)| {
                let mut h = d.get_heads();
                h.sort();
                (k.clone(), h)
            })
            .collect()
    }
}

fn doc_id(doc: &str) -> DocId {
    DocId::new(RecordKind::Practice, doc.strip_prefix("practice/").unwrap()).unwrap()
}

impl Replica<usize> for Store {
    type Error = String;

    fn standing(&mut self, peer: &usize) -> Standing {
        let k = hex_key(*peer);
        if self.roster.is_live_member(&k) {
            Standing::Member
        } else if self.roster.invites.values().any(|i| i.key == k)
            && self.roster.find_key(&k).is_none()
        {
            Standing::Invitee
        } else {
            Standing::Stranger
        }
    }

    fn awaiting_admission(&mut self) -> bool {
        let me = self.key.public().to_hex();
        !self.roster.is_live_member(&me) && self.roster.find_key(&me).is_none()
    }

    fn summary(&mut self) -> Result<Summary, String> {
        let mut h = Sha256::new();
        for hash in &self.applied {
            h.update(hash);
        }
        Ok(Summary {
            roster: self.entries.keys().map(|e| e.0).collect(),
            digest: h.finalize().into(),
        })
    }

    fn bucket_digests(&mut self) -> Result<Vec<[u8; 32]>, String> {
        let mut hs: Vec<Sha256> = (0..BUCKETS).map(|_| Sha256::new()).collect();
        for hash in &self.applied {
            hs[hash[0] as usize].update(hash);
        }
        Ok(hs.into_iter().map(|h| h.finalize().into()).collect())
    }

    fn inventory(&mut self, buckets: &[u8]) -> Result<Vec<[u8; 32]>, String> {
        let b: BTreeSet<u8> = buckets.iter().copied().collect();
        Ok(self
            .applied
            .iter()
            .filter(|h| b.contains(&h[0]))
            .copied()
            .collect())
    }

    fn has_change(&mut self, hash: &[u8; 32]) -> Result<bool, String> {
        Ok(self.applied.contains(hash))
    }

    fn get_changes(&mut self, hashes: &[[u8; 32]]) -> Result<Vec<Vec<u8>>, String> {
        Ok(hashes
            .iter()
            .filter(|h| self.applied.contains(*h))
            .filter_map(|h| self.changes.get(h).map(|(_, e)| e.clone()))
            .collect())
    }

    fn get_roster(&mut self, ids: &[[u8; 32]]) -> Result<Vec<Vec<u8>>, String> {
        Ok(ids
            .iter()
            .filter_map(|id| self.entries.get(&EntryId(*id)).map(SignedEntry::encode))
            .collect())
    }

    fn apply(
        &mut self,
        peer: &usize,
        entries: Vec<Vec<u8>>,
        envelopes: Vec<Vec<u8>>,
    ) -> Result<Applied, String> {
        let mut a = Applied::default();
        let mut new_entries = false;
        for e in entries {
            match SignedEntry::decode(&e).and_then(|se| se.verify(Some(&self.cid)).map(|_| se)) {
                Ok(se) => {
                    if !self.entries.contains_key(&se.id()) {
                        self.outbox.roster.push(e);
                        self.entries.insert(se.id(), se);
                        new_entries = true;
                    }
                }
                Err(err) => a.invalid.push(err.to_string()),
            }
        }
        if new_entries {
            self.reevaluate();
        }
        let scope = self.scope();
        let mut by_doc: BTreeMap<String, Vec<Received>> = BTreeMap::new();
        let mut seen = BTreeSet::new();
        for env in envelopes {
            let sc = match SignedChange::decode(&env) {
                Ok(sc) => sc,
                Err(e) => {
                    a.invalid.push(e.to_string());
                    continue;
                }
            };
            match check_change(&scope, Some(&self.roster), &sc) {
                Ok(v) => {
                    if !self.changes.contains_key(&v.hash.0) && seen.insert(v.hash.0) {
                        self.meta.insert(v.hash.0, (v.author, v.change.seq()));
                        by_doc
                            .entry(sc.doc.to_key())
                            .or_default()
                            .push((v.change, v.hash.0, env));
                    }
                }
                Err(ChangeRefusal::Invalid(w)) => a.invalid.push(w),
                Err(ChangeRefusal::NotAllowed(w)) => a.not_allowed.push(w),
            }
        }
        if !a.invalid.is_empty() {
            return Ok(a);
        }
        for (doc, items) in by_doc {
            let d = self.docs.entry(doc.clone()).or_default();
            d.apply_changes(items.iter().map(|(c, _, _)| c.clone()))
                .map_err(|e| format!("automerge: {e}"))?;
            a.missing_deps |= !d.get_missing_deps(&[]).is_empty();
            for (_, hash, env) in items {
                self.changes.insert(hash, (doc.clone(), env.clone()));
                self.outbox.changes.push((Some(*peer), env));
                a.applied += 1;
            }
            self.index(&doc);
        }
        Ok(a)
    }

    fn admit(
        &mut self,
        peer: &usize,
        entries: Vec<Vec<u8>>,
    ) -> Result<Option<Vec<Vec<u8>>>, String> {
        let k = hex_key(*peer);
        for e in entries {
            let se = SignedEntry::decode(&e).map_err(|e| e.to_string())?;
            match &se.entry.action {
                Action::Invite(inv) if inv.key == k => {}
                Action::Admit { .. } if se.entry.author == k => {}
                _ => return Err("not an admission".into()),
            }
            se.verify(Some(&self.cid)).map_err(|e| e.to_string())?;
            if !self.entries.contains_key(&se.id()) {
                self.add_entry(se);
            }
        }
        if !self.roster.is_live_member(&k) {
            return Ok(None);
        }
        Ok(Some(
            self.entries.values().map(SignedEntry::encode).collect(),
        ))
    }

    fn own_admission(&mut self) -> Result<Vec<Vec<u8>>, String> {
        let me = self.key.public().to_hex();
        Ok(self
            .entries
            .values()
            .filter(|e| match &e.entry.action {
                Action::Invite(inv) => inv.key == me,
                Action::Admit { .. } => e.entry.author == me,
                _ => false,
            })
            .map(SignedEntry::encode)
            .collect())
    }

    fn take_outbox(&mut self) -> Outbox<usize> {
        std::mem::take(&mut self.outbox)
    }
}

/// A checked change waiting to be applied: the change, its hash, its
/// envelope.
type Received = (automerge::Change, [u8; 32], Vec<u8>);

enum Msg {
    Request {
        from: usize,
        to: usize,
        id: RequestId,
        request: SyncRequest,
        /// Sent outside any connection (an attacker's injection).
        injected: bool,
    },
    Response {
        from: usize,
        to: usize,
        id: RequestId,
        response: SyncResponse,
    },
    Timeout {
        node: usize,
        peer: usize,
        id: RequestId,
    },
}

struct Sim {
    seed: u64,
    rng: StdRng,
    now: u64,
    seq: u64,
    queue: BinaryHeap<Reverse<(u64, u64)>>,
    msgs: BTreeMap<u64, Msg>,
    machines: Vec<SyncMachine<usize>>,
    stores: Vec<Store>,
    /// Whether each node runs yet.
    up: Vec<bool>,
    links: BTreeSet<(usize, usize)>,
    topology: Vec<(usize, usize)>,
    answered: BTreeSet<(usize, RequestId)>,
    inbound: Vec<BTreeMap<InboundId, (usize, RequestId)>>,
    next_inbound: u64,
    lossy: bool,
    /// Changes no honest node may ever apply (the stranger's, forged).
    never: BTreeSet<[u8; 32]>,
    /// Changes no honest node may hold at the end (also the revoked
    /// member's changes that its revocation does not list).
    bad: BTreeSet<[u8; 32]>,
    /// Changes honest nodes wrote.
    honest_writes: BTreeSet<[u8; 32]>,
    stats: BTreeMap<&'static str, u64>,
}

fn link(a: usize, b: usize) -> (usize, usize) {
    (a.min(b), a.max(b))
}

impl Sim {
    fn time(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(1_790_000_000_000 + self.now)
    }

    fn schedule(&mut self, delay: u64, msg: Msg) {
        self.seq += 1;
        self.queue.push(Reverse((self.now + delay, self.seq)));
        self.msgs.insert(self.seq, msg);
    }

    fn stat(&mut self, what: &'static str) {
        *self.stats.entry(what).or_default() += 1;
    }

    /// Send over the lossy network: maybe dropped, maybe twice, delayed.
    fn transmit(&mut self, make: impl Fn() -> Msg) {
        if self.lossy && self.rng.gen_bool(0.05) {
            self.stat("dropped");
            return;
        }
        let d = self.rng.gen_range(1..60);
        self.schedule(d, make());
        if self.rng.gen_bool(0.05) {
            self.stat("duplicated");
            let d = self.rng.gen_range(1..200);
            self.schedule(d, make());
        }
    }

    fn input(&mut self, node: usize, input: Input<usize>) {
        let mut work = vec![(node, input)];
        while let Some((node, input)) = work.pop() {
            let now = self.time();
            let trace = std::env::var("SIM_TRACE")
                .ok()
                .and_then(|s| s.parse::<usize>().ok());
            let traced = trace == Some(node);
            if traced {
                eprintln!("{} ms: node {node} <- {input:?}", self.now);
            }
            let outputs = self.machines[node].handle(now, input, &mut self.stores[node]);
            if traced {
                for o in &outputs {
                    eprintln!("{} ms: node {node} -> {o:?}", self.now);
                }
            }
            for out in outputs {
                match out {
                    Output::Send { peer, id, request } => {
                        if self.links.contains(&link(node, peer)) {
                            self.transmit(|| Msg::Request {
                                from: node,
                                to: peer,
                                id,
                                request: request.clone(),
                                injected: false,
                            });
                            self.schedule(REQUEST_TIMEOUT, Msg::Timeout { node, peer, id });
                        } else {
                            work.push((
                                node,
                                Input::Failed {
                                    peer,
                                    id,
                                    error: "not connected".into(),
                                },
                            ));
                        }
                    }
                    Output::Respond { id, response, .. } => {
                        if let Some((to, rid)) = self.inbound[node].remove(&id) {
                            self.transmit(|| Msg::Response {
                                from: node,
                                to,
                                id: rid,
                                response: response.clone(),
                            });
                        }
                    }
                    Output::Disconnect {
                        peer, misbehaved, ..
                    } => {
                        self.stat(if misbehaved {
                            "disconnected (misbehaved)"
                        } else {
                            "disconnected (not a member)"
                        });
                        if self.links.remove(&link(node, peer)) {
                            work.push((node, Input::Disconnected { peer }));
                            work.push((peer, Input::Disconnected { peer: node }));
                        }
                    }
                    Output::Persist { .. } => {}
                    Output::Event(e) => {
                        if let r2com_protocol::sync::Event::NotAllowed { .. } = e {
                            self.stat("batches with not-allowed changes skipped");
                        }
                    }
                }
            }
        }
    }

    fn connect(&mut self, a: usize, b: usize) {
        if !self.up[a] || !self.up[b] || !self.links.insert(link(a, b)) {
            return;
        }
        self.input(
            a,
            Input::Connected {
                peer: b,
                dialer: true,
            },
        );
        if self.links.contains(&link(a, b)) {
            self.input(
                b,
                Input::Connected {
                    peer: a,
                    dialer: false,
                },
            );
        }
    }

    fn cut(&mut self, a: usize, b: usize) {
        if self.links.remove(&link(a, b)) {
            self.input(a, Input::Disconnected { peer: b });
            self.input(b, Input::Disconnected { peer: a });
        }
    }

    fn deliver(&mut self, msg: Msg) {
        match msg {
            Msg::Request {
                from,
                to,
                id,
                request,
                injected,
            } => {
                if !injected && !self.links.contains(&link(from, to)) {
                    return;
                }
                self.next_inbound += 1;
                let iid = InboundId(self.next_inbound);
                self.inbound[to].insert(iid, (from, id));
                self.input(
                    to,
                    Input::Request {
                        peer: from,
                        id: iid,
                        request: Ok(request),
                    },
                );
                self.inbound[to].remove(&iid);
            }
            Msg::Response {
                from,
                to,
                id,
                response,
            } => {
                if !self.links.contains(&link(from, to)) {
                    return;
                }
                self.answered.insert((to, id));
                self.input(
                    to,
                    Input::Response {
                        peer: from,
                        id,
                        response: Ok(response),
                    },
                );
            }
            Msg::Timeout { node, peer, id } => {
                if !self.answered.contains(&(node, id)) {
                    self.input(
                        node,
                        Input::Failed {
                            peer,
                            id,
                            error: "timeout".into(),
                        },
                    );
                }
            }
        }
    }

    /// No honest node has applied a change it must never have (the
    /// stranger's, forged ones), nor one its own roster does not allow.
    fn check_safety(&self, nodes: impl Iterator<Item = usize>) {
        for i in nodes.filter(|i| *i < HONEST) {
            let s = &self.stores[i];
            for h in &s.applied {
                assert!(
                    !self.never.contains(h),
                    "seed {}: honest node {i} applied forbidden change {} at {} ms",
                    self.seed,
                    hex::encode(h),
                    self.now
                );
                let (doc, _) = &s.changes[h];
                let (author, seq) = &s.meta[h];
                assert!(
                    s.roster.check_change_author(author, doc, *seq, h).is_ok(),
                    "seed {}: honest node {i} holds {} which its roster does not allow, at {} ms",
                    self.seed,
                    hex::encode(h),
                    self.now
                );
            }
        }
    }

    /// Run the event queue until `until`, with the per-millisecond world
    /// (`world`) acting between events.
    fn run_until(&mut self, until: u64, world: &mut dyn FnMut(&mut Sim)) {
        while self.now < until {
            let next = self.queue.peek().map(|Reverse((t, _))| *t).unwrap_or(until);
            if next > self.now {
                // Advance to the next event or 10 ms mark; the world acts
                // on the marks.
                self.now = ((self.now / 10 + 1) * 10).min(next).min(until);
                if self.now.is_multiple_of(10) {
                    world(self);
                }
                continue;
            }
            let Reverse((_, seq)) = self.queue.pop().unwrap();
            let msg = self.msgs.remove(&seq).unwrap();
            // Only the receiver applies anything.
            let receiver = match &msg {
                Msg::Request { to, .. } | Msg::Response { to, .. } => *to,
                Msg::Timeout { node, .. } => *node,
            };
            self.deliver(msg);
            self.check_safety(std::iter::once(receiver));
        }
    }
}

fn run(seed: u64) -> BTreeMap<&'static str, u64> {
    let mut rng = StdRng::seed_from_u64(seed);
    // The consortium: 0 founds it; 1..=6 and the later-revoked member are
    // admitted up front (their roster handed over); 7 joins mid-run.
    let genesis = Entry {
        consortium: String::new(),
        author: hex_key(0),
        deps: vec![],
        issued_at: "2026-11-01T00:00:00Z".into(),
        action: Action::Genesis {
            name: "RAN".into(),
            org: org(0),
        },
    }
    .sign(&key(0));
    let cid = genesis.id();
    let mut founder = Store::new(0, cid, std::slice::from_ref(&genesis));
    for i in (1..HONEST).filter(|i| *i != JOINER).chain([REVOKED]) {
        let inv = founder.author_entry(
            0,
            Action::Invite(Invite {
                org: org(i),
                key: hex_key(i),
                role: if i == 1 { Role::Admin } else { Role::Member },
                expires_at: "2099-01-01T00:00:00Z".into(),
                addrs: vec![],
            }),
        );
        let admit = Entry {
            consortium: cid.to_hex(),
            author: hex_key(i),
            deps: vec![inv.id().to_hex()],
            issued_at: "2026-11-02T00:00:00Z".into(),
            action: Action::Admit {
                invite: inv.id().to_hex(),
            },
        }
        .sign(&key(i));
        founder.add_entry(admit);
    }
    founder.outbox = Outbox::default();
    let start_entries: Vec<SignedEntry> = founder.entries.values().cloned().collect();
    let mut stores: Vec<Store> = (0..NODES)
        .map(|i| {
            // The stranger and the joiner know the genesis only (the joiner
            // gets its invite from the token later).
            let only_genesis = [genesis.clone()];
            Store::new(
                i,
                cid,
                if i == STRANGER || i == JOINER {
                    &only_genesis
                } else {
                    &start_entries
                },
            )
        })
        .collect();
    stores[0] = founder;
    // The topology: a ring of the honest nodes plus chords; the revoked
    // member hangs off three of them, the stranger tries two.
    let mut topology: Vec<(usize, usize)> =
        (0..HONEST).map(|i| link(i, (i + 1) % HONEST)).collect();
    for _ in 0..4 {
        let a = rng.gen_range(0..HONEST);
        let b = rng.gen_range(0..HONEST);
        if a != b {
            topology.push(link(a, b));
        }
    }
    topology.extend([
        (1, REVOKED),
        (3, REVOKED),
        (5, REVOKED),
        (2, STRANGER),
        (6, STRANGER),
    ]);
    topology.push(link(0, JOINER));
    topology.sort();
    topology.dedup();
    let mut sim = Sim {
        seed,
        rng,
        now: 0,
        seq: 0,
        queue: BinaryHeap::new(),
        msgs: BTreeMap::new(),
        machines: (0..NODES).map(|_| SyncMachine::default()).collect(),
        stores,
        up: (0..NODES).map(|i| i != JOINER).collect(),
        links: BTreeSet::new(),
        topology,
        answered: BTreeSet::new(),
        inbound: (0..NODES).map(|_| BTreeMap::new()).collect(),
        next_inbound: 0,
        lossy: true,
        never: BTreeSet::new(),
        bad: BTreeSet::new(),
        honest_writes: BTreeSet::new(),
        stats: BTreeMap::new(),
    };
    for (a, b) in sim.topology.clone() {
        sim.connect(a, b);
    }

    // The stranger's own, validly signed changes.
    let stranger_pushes: Vec<SyncRequest> = (0..3)
        .map(|n| {
            let sc = sim.stores[STRANGER].make_change(&format!("practice/x-{n}"), &mut sim.rng, 1);
            let h = sc.verify(&sim.stores[STRANGER].scope()).unwrap().hash.0;
            sim.bad.insert(h);
            sim.never.insert(h);
            push(&[sc.encode()])
        })
        .collect();

    let mut revoked_at: Option<u64> = None;
    let mut attack_from: Option<u64> = None;
    let mut world = |sim: &mut Sim| {
        let t = sim.now;
        // Honest writes: to own documents and to shared ones.
        if t.is_multiple_of(50) && sim.rng.gen_bool(0.5) {
            let i = sim.rng.gen_range(0..HONEST);
            if sim.up[i] {
                let doc = if sim.rng.gen_bool(0.5) {
                    format!("practice/shared-{}", sim.rng.gen_range(0..6))
                } else {
                    format!("practice/n{i}-{}", sim.rng.gen_range(0..20))
                };
                // Shared documents are written only once held (or by 0,
                // which creates them), so they have one root.
                let held =
                    !doc.contains("shared") || i == 0 || sim.stores[i].docs.contains_key(&doc);
                if held {
                    if let Some(h) = sim.stores[i].write(&doc, &mut sim.rng, t) {
                        sim.honest_writes.insert(h);
                        sim.input(i, Input::LocalWrites);
                    }
                }
            }
        }
        // The member to be revoked writes to its own documents, before and
        // after its revocation (it keeps writing while the revocation
        // spreads, and honest nodes that have not heard yet accept it).
        if t.is_multiple_of(100) && t < REVOKE_AT + 3_000 {
            let doc = format!("practice/r-{}", sim.rng.gen_range(0..5));
            if let Some(h) = sim.stores[REVOKED].write(&doc, &mut sim.rng, t) {
                if revoked_at.is_some() {
                    sim.bad.insert(h);
                }
            }
            sim.input(REVOKED, Input::LocalWrites);
        }
        // Before its revocation it forges a signature once.
        if t == 10_000 {
            let mut sc = sim.stores[REVOKED].make_change("practice/r-forged", &mut sim.rng, t);
            let h = sc.verify(&sim.stores[REVOKED].scope()).unwrap().hash.0;
            sim.bad.insert(h);
            sim.never.insert(h);
            sc.signature.0[5] ^= 1;
            inject(sim, REVOKED, 1, push(&[sc.encode()]));
        }
        // Node 7 joins by invite: 0 invites it, it hands in its admission.
        if t == JOIN_AT {
            let inv = sim.stores[0].author_entry(
                t,
                Action::Invite(Invite {
                    org: org(JOINER),
                    key: hex_key(JOINER),
                    role: Role::Member,
                    expires_at: "2099-01-01T00:00:00Z".into(),
                    addrs: vec![],
                }),
            );
            let admit = Entry {
                consortium: cid.to_hex(),
                author: hex_key(JOINER),
                deps: vec![inv.id().to_hex()],
                issued_at: "2026-11-03T00:00:00Z".into(),
                action: Action::Admit {
                    invite: inv.id().to_hex(),
                },
            }
            .sign(&key(JOINER));
            let j = &mut sim.stores[JOINER];
            j.entries.insert(inv.id(), inv);
            j.entries.insert(admit.id(), admit);
            j.reevaluate();
            sim.input(0, Input::LocalWrites);
            sim.up[JOINER] = true;
            sim.connect(JOINER, 0);
        }
        // 0 revokes the member: its frontier is what 0 holds of it. The
        // revoked node is cut off until every honest node knows.
        if t == REVOKE_AT {
            let k = hex_key(REVOKED);
            let mut per_doc: BTreeMap<String, Vec<(u64, String)>> = BTreeMap::new();
            for (doc, env) in sim.stores[0].changes.values() {
                let sc = SignedChange::decode(env).unwrap();
                let v = sc.verify(&sim.stores[0].scope()).unwrap();
                if v.author.to_hex() == k {
                    per_doc
                        .entry(doc.clone())
                        .or_default()
                        .push((v.change.seq(), hex::encode(v.hash.0)));
                }
            }
            let frontier = per_doc
                .into_iter()
                .map(|(doc, mut v)| {
                    v.sort();
                    FrontierItem {
                        key: k.clone(),
                        doc,
                        hashes: v.into_iter().map(|(_, h)| h).collect(),
                    }
                })
                .collect();
            let allowed: BTreeSet<[u8; 32]> = sim.stores[0]
                .changes
                .iter()
                .filter(|(_, (_, env))| {
                    SignedChange::decode(env)
                        .unwrap()
                        .verify(&sim.stores[0].scope())
                        .unwrap()
                        .author
                        .to_hex()
                        == k
                })
                .map(|(h, _)| *h)
                .collect();
            sim.stores[0].author_entry(
                t,
                Action::Revoke {
                    target: Target::Org {
                        org: org(REVOKED).key,
                    },
                    reason: "compromised".into(),
                    frontier,
                },
            );
            sim.input(0, Input::LocalWrites);
            // Whatever it wrote that 0 had not seen is now forbidden.
            for (h, (_, env)) in &sim.stores[REVOKED].changes {
                let sc = SignedChange::decode(env).unwrap();
                if sc
                    .verify(&sim.stores[REVOKED].scope())
                    .unwrap()
                    .author
                    .to_hex()
                    == k
                    && !allowed.contains(h)
                {
                    sim.bad.insert(*h);
                }
            }
            revoked_at = Some(t);
        }
        // Once every honest node knows, the revoked member attacks: later
        // writes, a backdated fork of an early change, and relays of both
        // through its own connections; the stranger pushes too.
        let all_know = revoked_at.is_some()
            && (0..HONEST).all(|i| !sim.stores[i].roster.is_live_member(&hex_key(REVOKED)));
        if all_know && attack_from.is_none() {
            attack_from = Some(t);
        }
        if let Some(from) = attack_from {
            if t.is_multiple_of(500) && t < from + 10_000 {
                let target = [1, 3, 5][sim.rng.gen_range(0..3)];
                let doc = format!("practice/r-{}", sim.rng.gen_range(0..5));
                if let Some(h) = sim.stores[REVOKED].write(&doc, &mut sim.rng, t) {
                    sim.bad.insert(h);
                }
                sim.input(REVOKED, Input::LocalWrites);
                // A fork of the document as it was at its first change:
                // an earlier sequence number with a new hash.
                if let Some(d) = sim.stores[REVOKED].docs.get_mut(&doc) {
                    let first = d.get_changes(&[]).first().map(|c| c.hash());
                    if let Some(first) = first {
                        let mut fork = d.fork_at(&[first]).unwrap();
                        fork.set_actor(actor_for(&key(REVOKED)));
                        fork.put(ROOT, "backdated", true).unwrap();
                        fork.commit_with(CommitOptions::default().with_time(1));
                        let change = fork.get_last_local_change().unwrap().clone();
                        let scope = sim.stores[REVOKED].scope();
                        let sc = SignedChange::sign(&key(REVOKED), &scope, &doc_id(&doc), change);
                        sim.bad.insert(sc.verify(&scope).unwrap().hash.0);
                        inject(sim, REVOKED, target, push(&[sc.encode()]));
                    }
                }
                let later: Vec<Vec<u8>> = sim.stores[REVOKED]
                    .changes
                    .iter()
                    .filter(|(h, _)| sim.bad.contains(*h))
                    .map(|(_, (_, e))| e.clone())
                    .collect();
                inject(sim, REVOKED, target, push(&later));
                sim.connect(REVOKED, target);
                let s = stranger_pushes[sim.rng.gen_range(0..stranger_pushes.len())].clone();
                let to = [2, 6][sim.rng.gen_range(0..2)];
                inject(sim, STRANGER, to, s);
                sim.connect(STRANGER, 2);
            }
        }
        // Links fail and come back.
        if t.is_multiple_of(200) && sim.lossy {
            let (a, b) = sim.topology[sim.rng.gen_range(0..sim.topology.len())];
            if sim.links.contains(&(a, b)) {
                if sim.rng.gen_bool(0.5) {
                    sim.cut(a, b);
                }
            } else {
                sim.connect(a, b);
            }
        }
        if t.is_multiple_of(1000) {
            for i in 0..NODES {
                if sim.up[i] {
                    sim.input(i, Input::Tick);
                }
            }
        }
    };
    sim.run_until(CHAOS_MS, &mut world);
    assert!(
        attack_from.is_some(),
        "seed {seed}: the revocation never reached every honest node: {:?} {:?} {:?}",
        (0..HONEST)
            .map(|i| sim.stores[i].roster.is_live_member(&hex_key(REVOKED)))
            .collect::<Vec<_>>(),
        sim.stats,
        sim.stores[0].roster.rejected
    );

    // Heal: nothing is lost any more, every honest link comes back, and
    // operators ask for rounds.
    sim.lossy = false;
    let honest_links: Vec<(usize, usize)> = sim
        .topology
        .iter()
        .copied()
        .filter(|(a, b)| *a < HONEST && *b < HONEST)
        .collect();
    let mut heal = |sim: &mut Sim| {
        if sim.now.is_multiple_of(1000) {
            for (a, b) in honest_links.clone() {
                sim.connect(a, b);
            }
            for i in 0..NODES {
                sim.input(i, Input::Tick);
            }
        }
        if sim.now.is_multiple_of(5000) {
            for (a, b) in honest_links.clone() {
                sim.input(a, Input::Sync { peer: b });
            }
        }
    };
    sim.run_until(CHAOS_MS + HEAL_MS, &mut heal);
    sim.check_safety(0..HONEST);

    // Every honest node: the same roster, changes and documents.
    let reference = &sim.stores[0];
    let ref_entries: BTreeSet<EntryId> = reference.entries.keys().copied().collect();
    let ref_changes: BTreeSet<[u8; 32]> = reference.applied.clone();
    let mut ref_heads = sim.stores[0].heads();
    for i in 1..HONEST {
        let s = &sim.stores[i];
        assert_eq!(
            s.entries.keys().copied().collect::<BTreeSet<_>>(),
            ref_entries,
            "seed {seed}: node {i}'s roster differs from node 0's"
        );
        let changes: BTreeSet<[u8; 32]> = s.applied.clone();
        assert_eq!(
            changes.len(),
            ref_changes.len(),
            "seed {seed}: node {i} holds {} changes, node 0 {}",
            changes.len(),
            ref_changes.len()
        );
        assert_eq!(
            changes, ref_changes,
            "seed {seed}: node {i}'s changes differ"
        );
        assert_eq!(
            sim.stores[i].heads(),
            ref_heads,
            "seed {seed}: node {i}'s documents differ"
        );
    }
    for h in &sim.honest_writes {
        assert!(
            ref_changes.contains(h),
            "seed {seed}: an honest change was lost"
        );
    }
    for h in &sim.bad {
        assert!(
            !ref_changes.contains(h),
            "seed {seed}: forbidden change {} survived",
            hex::encode(h)
        );
    }
    assert!(!sim.stores[0].roster.is_live_member(&hex_key(REVOKED)));
    assert!(sim.stores[0].roster.is_live_member(&hex_key(JOINER)));
    // The revoked member's changes from before its revocation stay.
    let kept = ref_changes
        .iter()
        .filter(|h| !sim.honest_writes.contains(*h))
        .count();
    assert!(
        kept > 0,
        "seed {seed}: the revoked member's earlier changes were lost"
    );
    let mut stats = std::mem::take(&mut sim.stats);
    stats.insert("honest writes", sim.honest_writes.len() as u64);
    stats.insert("forbidden changes tried", sim.bad.len() as u64);
    stats.insert("changes held at the end", ref_changes.len() as u64);
    ref_heads.clear();
    stats
}

fn push(envs: &[Vec<u8>]) -> SyncRequest {
    SyncRequest::Push {
        batch: serde_bytes::ByteBuf::from(if envs.is_empty() {
            Vec::new()
        } else {
            wire::encode_batch(envs)
        }),
        roster: vec![],
    }
}

/// An attacker's request, delivered whether or not a connection exists.
fn inject(sim: &mut Sim, from: usize, to: usize, request: SyncRequest) {
    sim.stat("hostile requests injected");
    let id = RequestId(u64::MAX - sim.seq);
    let d = sim.rng.gen_range(1..30);
    sim.schedule(
        d,
        Msg::Request {
            from,
            to,
            id,
            request,
            injected: true,
        },
    );
}

#[test]
fn eight_nodes_converge_and_never_apply_forbidden_changes() {
    let seeds: Vec<u64> = match std::env::var("SIM_SEED") {
        Ok(s) => vec![s.parse().expect("SIM_SEED is a number")],
        Err(_) => {
            let n: u64 = std::env::var("SIM_SEEDS")
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(6);
            (1..=n).collect()
        }
    };
    for seed in seeds {
        let stats = run(seed);
        eprintln!("seed {seed}: {stats:?}");
    }
}
