//! The adversaries' moves: the revoked member's later writes and
//! backdated forks, the stranger's pushes, and the rogue admin's fight
//! against its revocation.

use automerge::transaction::{CommitOptions, Transactable};
use automerge::ROOT;
use rand::Rng;
use serde_bytes::ByteBuf;

use r2com_protocol::doc::actor_for;
use r2com_protocol::envelope::SignedChange;
use r2com_protocol::roster::{Action, Entry, EntryId, Invite, Role, SignedEntry, Target};
use r2com_protocol::sync::Input;
use r2com_protocol::wire::{self, SyncRequest};

use super::net::Sim;
use super::store::doc_id;
use super::{hex_key, key, org, REVOKED, ROGUE_ADMIN, SOCKS, STRANGER};

pub fn push(envs: &[Vec<u8>], roster: Vec<Vec<u8>>) -> SyncRequest {
    SyncRequest::Push {
        batch: ByteBuf::from(if envs.is_empty() {
            Vec::new()
        } else {
            wire::encode_batch(envs)
        }),
        roster: roster.into_iter().map(ByteBuf::from).collect(),
    }
}

/// The revoked member: a later write, a backdated fork of an early change,
/// and relays of both; the stranger pushes its own changes.
pub fn revoked_member_attacks(sim: &mut Sim, stranger_pushes: &[SyncRequest]) {
    let target = [1, 3, 5][sim.rng.gen_range(0..3)];
    let doc = format!("practice/r-{}", sim.rng.gen_range(0..5));
    let t = sim.now;
    if let Some(h) = sim.stores[REVOKED].write(&doc, &mut sim.rng, t) {
        sim.bad.insert(h);
    }
    sim.input(REVOKED, Input::LocalWrites);
    // A fork of the document as it was at its first change: an earlier
    // sequence number with a new hash.
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
            sim.inject(REVOKED, target, push(&[sc.encode()], vec![]));
        }
    }
    let later: Vec<Vec<u8>> = sim.stores[REVOKED]
        .changes
        .iter()
        .filter(|(h, _)| sim.bad.contains(*h))
        .map(|(_, c)| c.env.clone())
        .collect();
    sim.inject(REVOKED, target, push(&later, vec![]));
    sim.connect(REVOKED, target);
    let s = stranger_pushes[sim.rng.gen_range(0..stranger_pushes.len())].clone();
    let to = [2, 6][sim.rng.gen_range(0..2)];
    sim.inject(STRANGER, to, s);
    sim.connect(STRANGER, 2);
}

fn backdated(deps: &[EntryId], author: usize, cid: EntryId, n: u64, action: Action) -> SignedEntry {
    let mut deps: Vec<EntryId> = deps.to_vec();
    deps.sort();
    deps.dedup();
    Entry {
        consortium: cid.to_hex(),
        author: hex_key(author),
        deps: deps.iter().map(EntryId::to_hex).collect(),
        issued_at: format!("2026-11-01T00:{:02}:{:02}Z", n / 60 % 60, n % 60),
        action,
    }
    .sign(&key(author))
}

/// The rogue admin, revoked by admin 1 (its senior), fights back with
/// entries built on the roster it had before (`old_heads`): revocations
/// of its revoker and of the founder in ground variants, a demotion,
/// sock-puppet admissions it witnesses itself; plus re-cased copies of
/// entries, and a revocation that admits it saw its own. Returns the
/// entries it tried.
pub fn rogue_admin_attacks(sim: &mut Sim, old_heads: &[EntryId], round: u64) -> usize {
    let cid = sim.stores[ROGUE_ADMIN].cid;
    let seen_of = |sim: &Sim, k: usize| -> Vec<String> {
        let mut ids: Vec<String> = sim.stores[ROGUE_ADMIN]
            .entries
            .values()
            .filter(|e| e.entry.author == hex_key(k))
            .map(|e| e.id().to_hex())
            .collect();
        ids.sort();
        ids
    };
    let mut valid_sig: Vec<SignedEntry> = Vec::new();
    for n in 0..4 {
        for (victim, o) in [(1, org(1).key), (0, org(0).key)] {
            valid_sig.push(backdated(
                old_heads,
                ROGUE_ADMIN,
                cid,
                round * 100 + n,
                Action::Revoke {
                    target: Target::Org { org: o },
                    reason: format!("ground {round}/{n}"),
                    seen: seen_of(sim, victim),
                    frontier: vec![],
                },
            ));
        }
    }
    valid_sig.push(backdated(
        old_heads,
        ROGUE_ADMIN,
        cid,
        round,
        Action::SetRole {
            org: org(1).key,
            role: Role::Member,
        },
    ));
    for s in SOCKS {
        let inv = backdated(
            old_heads,
            ROGUE_ADMIN,
            cid,
            round * 10 + s as u64,
            Action::Invite(Invite {
                org: org(s),
                key: hex_key(s),
                role: Role::Admin,
                expires_at: "2099-01-01T00:00:00Z".into(),
                addrs: vec![],
            }),
        );
        let admit = backdated(
            &[inv.id()],
            s,
            cid,
            round,
            Action::Admit {
                invite: inv.id().to_hex(),
            },
        );
        let mut deps = old_heads.to_vec();
        deps.push(admit.id());
        let witness = backdated(
            &deps,
            ROGUE_ADMIN,
            cid,
            round,
            Action::Witness {
                admit: admit.id().to_hex(),
            },
        );
        valid_sig.extend([inv, admit, witness]);
    }
    // One honest about what it saw: built on its current roster.
    let now_heads = sim.stores[ROGUE_ADMIN].roster.heads.clone();
    valid_sig.push(backdated(
        &now_heads,
        ROGUE_ADMIN,
        cid,
        round,
        Action::Revoke {
            target: Target::Org { org: org(1).key },
            reason: "after".into(),
            seen: seen_of(sim, 1),
            frontier: vec![],
        },
    ));
    // Re-cased copies of its own entries and of its revocation: invalid.
    let mut recased: Vec<SignedEntry> = sim.stores[ROGUE_ADMIN]
        .entries
        .values()
        .filter(|e| {
            matches!(
                e.entry.action,
                Action::Revoke { .. } | Action::Witness { .. }
            )
        })
        .take(4)
        .cloned()
        .collect();
    for e in &mut recased {
        e.signature = e.signature.to_uppercase();
    }
    let tried = valid_sig.len() + recased.len();
    let entries: Vec<Vec<u8>> = valid_sig.iter().map(SignedEntry::encode).collect();
    for to in [2, 4, 6] {
        sim.inject(ROGUE_ADMIN, to, push(&[], entries.clone()));
    }
    sim.inject(
        ROGUE_ADMIN,
        3,
        push(&[], recased.iter().map(SignedEntry::encode).collect()),
    );
    sim.connect(ROGUE_ADMIN, 5);
    tried
}
