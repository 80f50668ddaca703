//! A seeded simulation of the sans-IO sync machine over the protocol's own
//! roster and admission functions: eight honest nodes, a member that is
//! revoked and keeps writing (later changes and backdated forks), an admin
//! that is revoked and fights back (backdated and re-cased entries, ground
//! ids, revoking its revoker, sock puppets), an invitee that comes too late,
//! and a non-member with validly signed changes. The network drops,
//! duplicates, delays and reorders messages and cuts and heals links; a
//! node joins by invite mid-run.
//!
//! Checked after every delivered message: no honest node ever holds a
//! change by the non-member, a forged one, or one its own roster does not
//! allow. Checked at the end (after a phase where links heal and nothing is
//! lost): every honest node holds the same roster entries, changes and
//! documents; no honest change was lost; and the roster is what the rules
//! state: both revocations hold, the rogue admin's counter-moves are void,
//! every honest node is a member, the sock puppets and the late invitee
//! are not.
//!
//! `SIM_SEEDS=N` runs N seeds (default 6); `SIM_SEED=S` runs only seed S.
//! A failure names its seed, so it can be replayed.

mod sim;

use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use r2com_protocol::roster::{
    self, Action, DocFrontier, Entry, EntryId, Invite, KeyFrontier, Role, SignedEntry, Target,
};
use r2com_protocol::sync::{Input, SyncMachine};
use r2com_protocol::wire::SyncRequest;

use sim::adversary::{push, revoked_member_attacks, rogue_admin_attacks};
use sim::net::{link, Sim};
use sim::store::{sim_time, Store};
use sim::*;

/// Simulated milliseconds.
const CHAOS_MS: u64 = 40_000;
const HEAL_MS: u64 = 40_000;
const JOIN_AT: u64 = 5_000;
const ROGUE_REVOKE_AT: u64 = 9_000;
const REVOKE_AT: u64 = 15_000;
const LATE_AT: u64 = 20_000;

/// An invitee's admit of `invite`.
fn admit(cid: EntryId, who: usize, invite: &SignedEntry) -> SignedEntry {
    Entry {
        consortium: cid.to_hex(),
        author: hex_key(who),
        deps: vec![invite.id().to_hex()],
        issued_at: "2026-11-02T00:00:00Z".into(),
        action: Action::Admit {
            invite: invite.id().to_hex(),
        },
    }
    .sign(&key(who))
}

fn invite(store: &mut Store, who: usize, role: Role, expires_at: String) -> SignedEntry {
    store
        .author_entry(Action::Invite(Invite {
            org: org(who),
            key: hex_key(who),
            role,
            expires_at,
            addrs: vec![],
        }))
        .expect("the founder invites")
}

/// The founder's consortium with everyone admitted up front but the
/// joiner, the late invitee and the stranger.
fn consortium() -> (EntryId, Store, SignedEntry) {
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
    for i in (1..HONEST)
        .filter(|i| *i != JOINER)
        .chain([REVOKED, ROGUE_ADMIN])
    {
        let role = if i == 1 || i == ROGUE_ADMIN {
            Role::Admin
        } else {
            Role::Member
        };
        let inv = invite(&mut founder, i, role, "2099-01-01T00:00:00Z".into());
        let a = admit(cid, i, &inv);
        let w = roster::witness(
            &founder.key,
            &cid,
            &{
                let mut v = founder.stored();
                v.push(a.verify(Some(&cid)).unwrap());
                v
            },
            a.id(),
            founder.now,
        )
        .expect("witnessed");
        founder.merge(vec![a, w]);
        assert!(
            founder.roster.is_live_member(&hex_key(i)),
            "{:?}",
            founder.roster.rejected
        );
    }
    founder.outbox = Default::default();
    (cid, founder, genesis)
}

/// What the revoking admin saw of `k`'s changes: per document, the
/// highest applied sequence number and its hash.
fn frontier_of(s: &Store, k: usize) -> Vec<KeyFrontier> {
    let author = key(k).public().to_bytes();
    let mut per_doc: BTreeMap<String, (u64, [u8; 32])> = BTreeMap::new();
    for (h, c) in &s.changes {
        if c.author == author && s.applied.contains(h) {
            let e = per_doc.entry(c.doc.clone()).or_insert((c.seq, *h));
            if c.seq > e.0 {
                *e = (c.seq, *h);
            }
        }
    }
    let docs: Vec<DocFrontier> = per_doc
        .into_iter()
        .map(|(doc, (count, last))| DocFrontier {
            doc,
            count,
            last: hex::encode(last),
        })
        .collect();
    if docs.is_empty() {
        return vec![];
    }
    vec![KeyFrontier {
        key: hex_key(k),
        docs,
    }]
}

fn seen_by(s: &Store, k: usize) -> Vec<String> {
    let mut ids: Vec<String> = s
        .entries
        .values()
        .filter(|e| e.entry.author == hex_key(k))
        .map(|e| e.id().to_hex())
        .collect();
    ids.sort();
    ids
}

fn revoke(s: &mut Store, k: usize, reason: &str) -> SignedEntry {
    let action = Action::Revoke {
        target: Target::Org { org: org(k).key },
        reason: reason.into(),
        seen: seen_by(s, k),
        frontier: frontier_of(s, k),
    };
    s.author_entry(action).expect("the revocation is accepted")
}

fn run(seed: u64) -> BTreeMap<&'static str, u64> {
    let mut rng = StdRng::seed_from_u64(seed);
    let (cid, founder, genesis) = consortium();
    let start: Vec<SignedEntry> = founder.entries.values().cloned().collect();
    let mut stores: Vec<Store> = (0..NODES)
        .map(|i| {
            // The stranger, the joiner and the late invitee know the
            // genesis only (invitees get their invite from the token).
            let only_genesis = [genesis.clone()];
            let known: &[SignedEntry] = if matches!(i, STRANGER | JOINER | LATE) {
                &only_genesis
            } else {
                &start
            };
            Store::new(i, cid, known)
        })
        .collect();
    stores[0] = founder;
    stores[REVOKED].rogue = true;
    // A ring of the honest nodes plus chords; the revoked member and the
    // rogue admin hang off three, the stranger tries two.
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
    topology.extend([(1, ROGUE_ADMIN), (3, ROGUE_ADMIN), (6, ROGUE_ADMIN)]);
    topology.extend([link(0, JOINER), (2, LATE), (0, LATE)]);
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
        up: (0..NODES).map(|i| i != JOINER && i != LATE).collect(),
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
            push(&[sc.encode()], vec![])
        })
        .collect();

    let mut revoked_at: Option<u64> = None;
    // The revoked member's changes its revoker had applied: they stay.
    let mut revoker_saw: BTreeSet<[u8; 32]> = BTreeSet::new();
    let mut attack_from: Option<u64> = None;
    let mut rogue_heads: Option<Vec<EntryId>> = None;
    let mut rogue_rounds = 0;
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
        // after its revocation.
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
            sim.inject(REVOKED, 1, push(&[sc.encode()], vec![]));
        }
        // Node 7 joins by invite: 0 invites it, it hands in its admission.
        // The late invitee's invite expires a second after.
        if t == JOIN_AT {
            sim.stores[0].now = sim_time(t);
            let inv = invite(
                &mut sim.stores[0],
                JOINER,
                Role::Member,
                "2099-01-01T00:00:00Z".into(),
            );
            let late = invite(
                &mut sim.stores[0],
                LATE,
                Role::Member,
                sim_time(t + 1_000).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            );
            sim.stores[JOINER].own_admission = vec![admit(cid, JOINER, &inv), inv];
            sim.stores[LATE].own_admission = vec![admit(cid, LATE, &late), late];
            sim.input(0, Input::LocalWrites);
            sim.up[JOINER] = true;
            sim.connect(JOINER, 0);
        }
        if t == LATE_AT {
            sim.up[LATE] = true;
            sim.connect(LATE, 2);
            sim.connect(LATE, 0);
        }
        // Admin 1 revokes the rogue admin; the rogue remembers the roster
        // it had, to build its counter-moves on.
        if t == ROGUE_REVOKE_AT {
            rogue_heads = Some(sim.stores[ROGUE_ADMIN].roster.heads.clone());
            sim.stores[1].now = sim_time(t);
            let r1 = revoke(&mut sim.stores[1], ROGUE_ADMIN, "rogue");
            sim.input(1, Input::LocalWrites);
            // Honest nodes disconnect it at once; it learns of its
            // revocation anyway (a friend shows it, with the entries it
            // depends on).
            let shown: Vec<SignedEntry> = sim.stores[1].entries.values().cloned().collect();
            sim.stores[ROGUE_ADMIN].merge(shown);
            assert!(sim.stores[ROGUE_ADMIN].entries.contains_key(&r1.id()));
        }
        // Once the rogue knows, it fights back, a few times.
        if let Some(heads) = &rogue_heads {
            let knows = !sim.stores[ROGUE_ADMIN]
                .roster
                .is_live_member(&hex_key(ROGUE_ADMIN));
            if knows && t.is_multiple_of(700) && rogue_rounds < 4 {
                let heads = heads.clone();
                let tried = rogue_admin_attacks(sim, &heads, rogue_rounds);
                sim.add_stat("rogue admin entries tried", tried as u64);
                rogue_rounds += 1;
            }
        }
        // 0 revokes the member: its frontier is what 0 holds of it.
        if t == REVOKE_AT {
            sim.stores[0].now = sim_time(t);
            let allowed: BTreeSet<[u8; 32]> = {
                let s = &sim.stores[0];
                let a = key(REVOKED).public().to_bytes();
                s.changes
                    .iter()
                    .filter(|(h, c)| c.author == a && s.applied.contains(*h))
                    .map(|(h, _)| *h)
                    .collect()
            };
            revoker_saw.clone_from(&allowed);
            revoke(&mut sim.stores[0], REVOKED, "compromised");
            sim.input(0, Input::LocalWrites);
            // Whatever it wrote that 0 had not applied is now forbidden.
            let k = key(REVOKED).public().to_bytes();
            for (h, c) in &sim.stores[REVOKED].changes {
                if c.author == k && !allowed.contains(h) {
                    sim.bad.insert(*h);
                }
            }
            revoked_at = Some(t);
        }
        // Once every honest node knows, the revoked member attacks.
        let all_know = revoked_at.is_some()
            && (0..HONEST).all(|i| !sim.stores[i].roster.is_live_member(&hex_key(REVOKED)));
        if all_know && attack_from.is_none() {
            attack_from = Some(t);
        }
        if let Some(from) = attack_from {
            if t.is_multiple_of(500) && t < from + 10_000 {
                revoked_member_attacks(sim, &stranger_pushes);
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
        "seed {seed}: the revocation never reached every honest node: {:?} {:?}",
        (0..HONEST)
            .map(|i| sim.stores[i].roster.is_live_member(&hex_key(REVOKED)))
            .collect::<Vec<_>>(),
        sim.stats,
    );
    assert!(
        rogue_rounds > 0,
        "seed {seed}: the rogue admin never learnt of its revocation"
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
    converged(&mut sim, seed, &revoker_saw)
}

/// Every honest node holds the same roster, changes and documents, and
/// the roster is what the rules state.
fn converged(
    sim: &mut Sim,
    seed: u64,
    revoker_saw: &BTreeSet<[u8; 32]>,
) -> BTreeMap<&'static str, u64> {
    let ref_entries: BTreeSet<EntryId> = sim.stores[0].entries.keys().copied().collect();
    let ref_changes: BTreeSet<[u8; 32]> = sim.stores[0].applied.clone();
    let ref_heads = sim.stores[0].heads();
    for i in 1..HONEST {
        let s = &sim.stores[i];
        assert_eq!(
            s.entries.keys().copied().collect::<BTreeSet<_>>(),
            ref_entries,
            "seed {seed}: node {i}'s roster differs from node 0's"
        );
        assert_eq!(
            s.roster, sim.stores[0].roster,
            "seed {seed}: node {i} evaluates differently"
        );
        assert_eq!(
            s.applied, ref_changes,
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
    let r = &sim.stores[0].roster;
    assert!(!r.is_live_member(&hex_key(REVOKED)));
    assert!(
        !r.is_live_member(&hex_key(ROGUE_ADMIN)),
        "seed {seed}: the rogue admin undid its revocation"
    );
    for i in 0..HONEST {
        assert!(
            r.is_live_member(&hex_key(i)),
            "seed {seed}: honest node {i} is not a member: {:#?}",
            r.orgs
        );
    }
    assert!(
        r.is_admin(&hex_key(0)) && r.is_admin(&hex_key(1)),
        "seed {seed}: {:#?}",
        r.orgs
    );
    for s in SOCKS {
        assert!(
            r.find_key(&hex_key(s)).is_none(),
            "seed {seed}: sock puppet {s} got in"
        );
    }
    assert!(
        r.find_key(&hex_key(LATE)).is_none(),
        "seed {seed}: the late invitee got in"
    );
    assert!(
        !sim.stores[0]
            .entries
            .values()
            .any(|e| e.entry.author == hex_key(LATE)),
        "seed {seed}: an honest node keeps the late invitee's admission"
    );
    let rogue = hex_key(ROGUE_ADMIN);
    let void = r
        .rejected
        .iter()
        .filter(|x| x.reason.starts_with("void"))
        .filter(|x| {
            sim.stores[0]
                .entries
                .values()
                .any(|e| e.id().to_hex() == x.id && e.entry.author == rogue)
        })
        .count();
    // The revoked member's changes its revoker had applied stay (none if
    // it had applied none: its frontier is then empty).
    assert!(
        revoker_saw.is_subset(&ref_changes),
        "seed {seed}: the revoked member's earlier changes were lost"
    );
    let mut stats = std::mem::take(&mut sim.stats);
    stats.insert("honest writes", sim.honest_writes.len() as u64);
    stats.insert(
        "revoked member's changes kept (its revoker's frontier)",
        revoker_saw.len() as u64,
    );
    stats.insert("forbidden changes tried", sim.bad.len() as u64);
    stats.insert(
        "forbidden changes applied at the end",
        sim.bad.iter().filter(|h| ref_changes.contains(*h)).count() as u64,
    );
    stats.insert("changes held at the end", ref_changes.len() as u64);
    stats.insert("rogue admin entries void at the end", void as u64);
    stats.insert("roster entries at the end", ref_entries.len() as u64);
    stats
}

#[test]
fn honest_nodes_converge_and_never_apply_forbidden_changes() {
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
    let started = std::time::Instant::now();
    for seed in seeds {
        let stats = run(seed);
        eprintln!("seed {seed}: {stats:?}");
    }
    eprintln!("all seeds in {:?}", started.elapsed());
}
