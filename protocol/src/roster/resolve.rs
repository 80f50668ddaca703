//! Which revocations, withdrawals and demotions take effect: decided in
//! order of their authors' seniority, most senior first, each given only
//! the decisions already taken. A junior's entry never undoes a senior's,
//! and no id, timestamp or text decides anything.

use std::collections::{BTreeSet, HashMap};

use super::entry::{Action, Role, Target};
use super::facts::Facts;
use super::rules::{grant_holds, statuses, InEffect, Status};

/// Why an entry that would leave no admin does not take effect.
pub(super) const LAST_ADMIN: &str = "cannot remove the last admin";

fn is_candidate(a: &Action) -> bool {
    matches!(
        a,
        Action::Revoke { .. }
            | Action::Withdraw { .. }
            | Action::SetRole {
                role: Role::Member,
                ..
            }
    )
}

/// A key's seniority given `out`: the founder 0, any other key the depth of
/// the invite of its first valid admission (an admin's invites are deeper
/// than its own admission: nobody makes a key more senior than itself).
fn seniority(f: &Facts, out: &[Status], key: &str) -> u32 {
    if key == f.founder {
        return 0;
    }
    f.witnesses_of_key
        .get(key)
        .into_iter()
        .flatten()
        .filter(|w| out[**w].is_valid())
        .filter_map(|w| f.admission(*w).map(|(_, j, _)| f.dag.depth[j]))
        .min()
        .unwrap_or(u32::MAX)
}

/// What resolution decided.
pub(super) struct Resolution<'a> {
    pub status: Vec<Status>,
    pub effect: InEffect<'a>,
    /// The entries in effect, in the order they were decided.
    pub decided: Vec<usize>,
}

/// Every kept entry's final status and what is in effect.
pub(super) fn resolve<'a>(f: &Facts<'_, 'a>) -> Resolution<'a> {
    let mut in_effect: BTreeSet<usize> = BTreeSet::new();
    let mut order = Vec::new();
    let mut current = statuses(f, &InEffect::new(f, in_effect.clone()));
    // Statuses only shrink as more takes effect, and seniority only
    // falls: every entry that will take effect is a candidate now.
    let mut left: Vec<usize> = (1..f.len())
        .filter(|i| current[*i].is_valid() && is_candidate(f.action(*i)))
        .collect();
    let mut overrides: Vec<(usize, Status)> = Vec::new();
    let mut stale = false;
    // Causal order first: an entry is decided only once every candidate in
    // its causal past is decided (or out); concurrent ones by seniority.
    let mut blocked: HashMap<usize, usize> = left
        .iter()
        .map(|&i| (i, left.iter().filter(|&&j| j != i && f.le(j, i)).count()))
        .collect();
    let release = |gone: &[usize], left: &[usize], blocked: &mut HashMap<usize, usize>| {
        for &g in gone {
            for k in left.iter().filter(|&&k| k != g && f.le(g, k)) {
                if let Some(n) = blocked.get_mut(k) {
                    *n = n.saturating_sub(1);
                }
            }
        }
    };
    while !left.is_empty() {
        if stale {
            current = statuses(f, &InEffect::new(f, in_effect.clone()));
            stale = false;
        }
        let (still, out): (Vec<usize>, Vec<usize>) =
            left.iter().partition(|i| current[**i].is_valid());
        left = still;
        release(&out, &left, &mut blocked);
        let ready: Vec<usize> = left
            .iter()
            .copied()
            .filter(|i| blocked.get(i).copied().unwrap_or(0) == 0)
            .collect();
        let Some(rank) = ready
            .iter()
            .map(|i| seniority(f, &current, f.author(*i)))
            .min()
        else {
            break;
        };
        // Entries of equally senior authors are decided together: none
        // voids another.
        let mut group: Vec<usize> = ready
            .into_iter()
            .filter(|i| seniority(f, &current, f.author(*i)) == rank)
            .collect();
        left.retain(|i| !group.contains(i));
        release(&group, &left, &mut blocked);
        let mut with = in_effect.clone();
        with.extend(&group);
        if live_admins(f, &current, &InEffect::new(f, with)).is_empty() {
            let admins = live_admins(f, &current, &InEffect::new(f, in_effect.clone()));
            group.retain(|c| {
                let removes = removed_org(f, *c).is_some_and(|o| admins.contains(o));
                if removes {
                    overrides.push((*c, Status::Void(LAST_ADMIN.into())));
                }
                !removes
            });
        }
        for c in &group {
            overrides.push((*c, Status::Valid));
        }
        order.extend(&group);
        in_effect.extend(group);
        stale = true;
    }
    let mut effect = InEffect::new(f, in_effect.clone());
    let mut status = if stale { statuses(f, &effect) } else { current };
    // Founder last: if what took effect leaves no admin in the end (later
    // decisions voided an admission the check relied on), the revocations
    // and demotions of the founder's organisation and key do not.
    if live_admins(f, &status, &effect).is_empty() {
        let founder = |c: &usize| removed_org(f, *c) == Some(f.founder_org);
        for c in in_effect.iter().filter(|c| founder(c)) {
            overrides.push((*c, Status::Void(LAST_ADMIN.into())));
        }
        in_effect.retain(|c| !founder(c));
        order.retain(|c| in_effect.contains(c));
        effect = InEffect::new(f, in_effect);
        status = statuses(f, &effect);
    }
    for (i, s) in overrides {
        status[i] = s;
    }
    Resolution {
        status,
        effect,
        decided: order,
    }
}

/// The organisation a revocation or demotion takes an admin role from.
fn removed_org<'a>(f: &Facts<'_, 'a>, i: usize) -> Option<&'a str> {
    match f.action(i) {
        Action::Revoke {
            target: Target::Org { org },
            ..
        } => Some(org),
        Action::Revoke {
            target: Target::Node { key },
            ..
        } => f.org_of(key),
        Action::SetRole { org, .. } => Some(org),
        _ => None,
    }
}

/// Organisations that end admin (a grant every demotion in effect is
/// before) with a key that is admitted and not revoked.
fn live_admins<'a>(f: &Facts<'_, 'a>, out: &[Status], st: &InEffect<'a>) -> BTreeSet<&'a str> {
    let mut admins = BTreeSet::new();
    for (org, grants) in &f.grants {
        let demotions: &[usize] = st.demotions.get(org).map_or(&[], Vec::as_slice);
        let admin = grants.iter().any(|(g, role)| {
            *role == Role::Admin
                && grant_holds(f, out, *g, None)
                && demotions.iter().all(|d| f.le(*d, *g))
        });
        if !admin {
            continue;
        }
        let live = |key: &str| st.striking(f, key).next().is_none();
        let has_key = (*org == f.founder_org && live(f.founder))
            || f.witnesses_of_org.get(org).is_some_and(|ws| {
                ws.iter().any(|w| {
                    out[*w].is_valid() && f.admission(*w).is_some_and(|(_, _, inv)| live(&inv.key))
                })
            });
        if has_key {
            admins.insert(*org);
        }
    }
    admins
}
