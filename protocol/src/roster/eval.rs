//! [`Roster::evaluate`]: from a set of entries to the roster, in four
//! steps: order (O(n log n)), the cheap filter over everything
//! ([`super::filter`]), the causal index over what it kept (bounded), and
//! the exact rules with revocations decided by seniority
//! ([`super::resolve`]).

use std::collections::{BTreeMap, BTreeSet, HashSet};

use super::entry::{Action, ConsortiumId, EntryId, Role, Target, VerifiedEntry};
use super::facts::Facts;
use super::resolve::resolve;
use super::rules::{grant_holds, InEffect, Status};
use super::state::{Erasure, Frontiers, KeyState, OrgState, Rejected, Revocation, Roster};
use super::{filter, graph};

/// Rounds of dropping refused entries and evaluating again.
const MAX_PRUNES: usize = 8;

impl Roster {
    /// Evaluate `entries` (verified for `consortium`) into a roster. Same set
    /// of entries, same roster, in any order. Refused entries are dropped
    /// and the rest evaluated again until none is refused (as a node that
    /// stores only what the rules keep would), so evaluating the kept
    /// entries alone gives the same roster.
    pub fn evaluate(consortium: &ConsortiumId, entries: &[VerifiedEntry]) -> Roster {
        let mut seen = HashSet::new();
        let mut set: Vec<&VerifiedEntry> = entries.iter().filter(|e| seen.insert(e.id)).collect();
        let mut refused: Vec<Rejected> = Vec::new();
        for _ in 0..MAX_PRUNES {
            let mut r = Self::evaluate_once(consortium, &set);
            let out: HashSet<String> = r
                .rejected
                .iter()
                .filter(|x| !x.reason.starts_with("void"))
                .map(|x| x.id.clone())
                .collect();
            if out.is_empty() {
                r.rejected.extend(refused);
                r.rejected.sort_by(|a, b| a.id.cmp(&b.id));
                return r;
            }
            set.retain(|e| !out.contains(&e.id.to_hex()));
            refused.extend(r.rejected.into_iter().filter(|x| out.contains(&x.id)));
        }
        let mut r = Self::evaluate_once(consortium, &set);
        r.rejected.extend(refused);
        r.rejected.sort_by(|a, b| a.id.cmp(&b.id));
        r
    }

    fn evaluate_once(consortium: &ConsortiumId, unique: &[&VerifiedEntry]) -> Roster {
        let (all, pending) = graph::build(consortium, unique);
        let pending: Vec<String> = pending.iter().map(EntryId::to_hex).collect();
        if all.len() == 0 {
            return Roster::empty(consortium, pending);
        }
        let refused = filter::prefilter(&all);
        let keep: Vec<bool> = refused.iter().map(Option::is_none).collect();
        let mut rejected: Vec<Rejected> = refused
            .iter()
            .enumerate()
            .filter_map(|(i, why)| {
                why.as_ref().map(|why| Rejected {
                    id: all.order[i].id.to_hex(),
                    reason: why.clone(),
                })
            })
            .collect();
        let dag = all.keep(&keep);
        let f = Facts::new(&dag);
        let res = resolve(&f);
        let (status, effect) = (&res.status, &res.effect);
        let mut r = Roster::empty(consortium, pending);
        let Action::Genesis { name, .. } = f.action(0) else {
            unreachable!("the root is a genesis entry")
        };
        r.name = name.clone();
        for (i, s) in status.iter().enumerate() {
            let id = f.id(i);
            match s {
                Status::Valid => {
                    r.accepted.insert(id);
                }
                Status::Void(why) => {
                    r.accepted.insert(id);
                    rejected.push(Rejected {
                        id: id.to_hex(),
                        reason: format!("void: {why}"),
                    });
                }
                Status::Rejected(why) => rejected.push(Rejected {
                    id: id.to_hex(),
                    reason: why.clone(),
                }),
                Status::Unwitnessed => {
                    r.unwitnessed.insert(id);
                }
            }
        }
        rejected.sort_by(|a, b| a.id.cmp(&b.id));
        r.rejected = rejected;
        r.heads = heads(&f, status);
        r.orgs = orgs(&f, status, effect, &res.decided);
        r.invites = open_invites(&f, status);
        r.frontiers = frontiers(&f, effect);
        r.ever_admin = ever_admin(&f, status);
        r.erasures = erasures(&f, status);
        r
    }
}

fn heads(f: &Facts, status: &[Status]) -> Vec<EntryId> {
    let kept = |i: usize| matches!(status[i], Status::Valid | Status::Void(_));
    let mut has_child = vec![false; f.len()];
    for i in (0..f.len()).filter(|i| kept(*i)) {
        for d in &f.dag.deps[i] {
            has_child[*d] = true;
        }
    }
    let mut heads: Vec<EntryId> = (0..f.len())
        .filter(|i| kept(*i) && !has_child[*i])
        .map(|i| f.id(i))
        .collect();
    heads.sort();
    heads
}

fn revocation(f: &Facts, r: usize) -> Revocation {
    let e = f.dag.order[r].entry();
    let Action::Revoke { reason, .. } = &e.action else {
        unreachable!("a revocation")
    };
    Revocation {
        by: e.author.clone(),
        at: e.issued_at.clone(),
        reason: reason.clone(),
        entry: f.id(r).to_hex(),
    }
}

fn orgs(f: &Facts, status: &[Status], effect: &InEffect, decided: &[usize]) -> Vec<OrgState> {
    // Revocations shown: the first decided (the most senior author's).
    let revs: Vec<usize> = decided
        .iter()
        .copied()
        .filter(|r| effect.revocations.contains(r))
        .collect();
    let g = f.dag.order[0].entry();
    let Action::Genesis { org, .. } = &g.action else {
        unreachable!("the root is a genesis entry")
    };
    let mut orgs: BTreeMap<String, OrgState> = BTreeMap::new();
    let mut keys: BTreeSet<String> = BTreeSet::new();
    let mut add = |orgs: &mut BTreeMap<String, OrgState>, info, key: &str, by: &str, at: &str| {
        let org = f.org_of(key).unwrap_or(f.founder_org).to_owned();
        let o = orgs.entry(org).or_insert(OrgState {
            info,
            role: Role::Member,
            added_by: by.to_owned(),
            added_at: at.to_owned(),
            keys: Vec::new(),
            revoked: None,
        });
        if keys.insert(key.to_owned()) {
            o.keys.push(KeyState {
                key: key.to_owned(),
                added_by: by.to_owned(),
                added_at: at.to_owned(),
                revoked: None,
            });
        }
    };
    add(&mut orgs, org.clone(), f.founder, f.founder, &g.issued_at);
    for w in (1..f.len()).filter(|w| status[*w].is_valid()) {
        if let Some((_, j, inv)) = f.admission(w) {
            if f.org_of(&inv.key) == Some(inv.org.key.as_str()) {
                let at = &f.dag.order[w].entry().issued_at;
                add(&mut orgs, inv.org.clone(), &inv.key, f.author(j), at);
            }
        }
    }
    for (name, o) in orgs.iter_mut() {
        o.role = final_role(f, status, effect, name);
        o.revoked = revs
            .iter()
            .find(|r| matches!(f.action(**r), Action::Revoke { target: Target::Org { org }, .. } if org == name))
            .map(|r| revocation(f, *r));
        for k in &mut o.keys {
            k.revoked = revs
                .iter()
                .find(|r| matches!(f.action(**r), Action::Revoke { target: Target::Node { key }, .. } if *key == k.key))
                .map(|r| revocation(f, *r));
        }
    }
    orgs.into_values().collect()
}

/// Admin if some admin grant of the organisation holds and every demotion
/// in effect is before it.
fn final_role(f: &Facts, status: &[Status], effect: &InEffect, org: &str) -> Role {
    let demotions: &[usize] = effect.demotions.get(org).map_or(&[], Vec::as_slice);
    let admin = f.grants.get(org).into_iter().flatten().any(|(g, role)| {
        *role == Role::Admin
            && grant_holds(f, status, *g, None)
            && demotions.iter().all(|d| f.le(*d, *g))
    });
    if admin {
        Role::Admin
    } else {
        Role::Member
    }
}

/// Organisations an admin grant of which holds in the end, demoted since
/// or not.
fn ever_admin(f: &Facts, status: &[Status]) -> BTreeSet<String> {
    f.grants
        .iter()
        .filter(|(_, grants)| {
            grants
                .iter()
                .any(|(g, role)| *role == Role::Admin && grant_holds(f, status, *g, None))
        })
        .map(|(org, _)| (*org).to_owned())
        .collect()
}

/// The valid erasures, per record; one stays in force unless a valid
/// `reuse` of the record has it in its causal past.
fn erasures(f: &Facts, status: &[Status]) -> BTreeMap<String, Erasure> {
    let valid = |i: &usize| status[*i].is_valid();
    let reuses: Vec<usize> = (1..f.len())
        .filter(valid)
        .filter(|i| matches!(f.action(*i), Action::Reuse { .. }))
        .collect();
    let mut out: BTreeMap<String, Erasure> = BTreeMap::new();
    for i in (1..f.len()).filter(valid) {
        let Action::Erase {
            doc,
            organisation,
            reason,
            hashes,
        } = f.action(i)
        else {
            continue;
        };
        let reused = reuses
            .iter()
            .any(|r| matches!(f.action(*r), Action::Reuse { doc: d } if d == doc) && f.le(i, *r));
        let e = out.entry(doc.clone()).or_insert_with(|| Erasure {
            doc: doc.clone(),
            organisation: organisation.clone(),
            by: f.author(i).to_owned(),
            at: f.dag.order[i].entry().issued_at.clone(),
            reason: reason.clone(),
            entry: f.id(i).to_hex(),
            hashes: BTreeSet::new(),
            reusable: true,
        });
        e.hashes.extend(hashes.iter().cloned());
        e.reusable &= reused;
    }
    out
}

/// Valid invites nobody used (no valid witness) and nobody withdrew.
fn open_invites(f: &Facts, status: &[Status]) -> BTreeMap<EntryId, super::entry::Invite> {
    (1..f.len())
        .filter(|i| status[*i].is_valid())
        .filter_map(|i| match f.action(i) {
            Action::Invite(inv) => {
                let used = f
                    .witnesses_of_invite
                    .get(&i)
                    .is_some_and(|ws| ws.iter().any(|w| status[*w].is_valid()));
                (!used).then(|| (f.id(i), inv.clone()))
            }
            _ => None,
        })
        .collect()
}

fn frontiers(f: &Facts, effect: &InEffect) -> Frontiers {
    let mut out: Frontiers = BTreeMap::new();
    let struck: BTreeSet<&str> = f
        .key_org
        .keys()
        .copied()
        .filter(|k| effect.striking(f, k).next().is_some())
        .collect();
    for key in struck {
        for r in effect.striking(f, key) {
            let Action::Revoke { frontier, .. } = f.action(r) else {
                continue;
            };
            let docs = frontier
                .iter()
                .filter(|kf| kf.key == key)
                .flat_map(|kf| &kf.docs)
                .filter_map(|d| {
                    super::entry::canonical_hex::<32>(&d.last)
                        .map(|h| (d.doc.clone(), (d.count, h)))
                })
                .collect();
            out.entry(key.to_owned()).or_default().push(docs);
        }
    }
    out
}
