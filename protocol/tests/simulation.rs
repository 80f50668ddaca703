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

use r2com_protocol::roster::{EntryId, Role, SignedEntry};
use r2com_protocol::sync::{Input, SyncMachine};
use r2com_protocol::wire::SyncRequest;

use sim::adversary::{push, revoked_member_attacks, rogue_admin_attacks};
use sim::net::{link, Sim};
use sim::roster_moves::{admit, consortium, invite, revoke};
use sim::store::{sim_time, Store};
use sim::verdict::converged;
use sim::*;

/// Simulated milliseconds.
const CHAOS_MS: u64 = 40_000;
const HEAL_MS: u64 = 40_000;
const JOIN_AT: u64 = 5_000;
const ROGUE_REVOKE_AT: u64 = 9_000;
const REVOKE_AT: u64 = 15_000;
const LATE_AT: u64 = 20_000;

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
