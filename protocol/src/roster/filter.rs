//! The cheap first pass over all entries, whatever their number: one walk
//! in topological order that refuses entries no member could have made
//! (their author never was a member, or never of an admin organisation, by
//! any entry before them, except a member's revocation of its own key), entries that depend on a refused one, and
//! entries over the roster's bounds. It ignores revocations and causality
//! (it only over-approximates who may act), so it is monotone: more entries
//! never make it refuse one it kept. What it keeps (at most
//! [`MAX_ROSTER_ENTRIES`]) goes on to the exact rules.

use std::collections::{HashMap, HashSet};

use super::entry::{Action, Invite, Role, Target};
use super::graph::Dag;
use super::{MAX_ENTRIES_PER_AUTHOR, MAX_ROSTER_ENTRIES};

/// What a kept entry adds to the over-approximated state.
enum Effect<'a> {
    Nothing,
    Invite(&'a Invite),
    Admit(usize),
    /// A witnessed admission: the invited key is a member.
    Member(&'a Invite),
    AdminOrg(&'a str),
}

/// Per entry of `dag`: `None` if kept, else why it is refused.
pub(super) fn prefilter(dag: &Dag) -> Vec<Option<String>> {
    let mut out: Vec<Option<String>> = vec![None; dag.len()];
    if dag.len() == 0 {
        return out;
    }
    let genesis = dag.order[0].entry();
    let Action::Genesis { org, .. } = &genesis.action else {
        unreachable!("the root is a genesis entry")
    };
    let mut members: HashMap<&str, &str> = HashMap::from([(genesis.author.as_str(), &*org.key)]);
    let mut admin_orgs: HashSet<&str> = HashSet::from([org.key.as_str()]);
    let mut invites: HashMap<usize, &Invite> = HashMap::new();
    let mut admits: HashMap<usize, usize> = HashMap::new();
    let mut per_author: HashMap<&str, usize> = HashMap::new();
    let mut total = 1;
    for i in 1..dag.len() {
        if dag.deps[i].iter().any(|d| out[*d].is_some()) {
            out[i] = Some("depends on a refused entry".into());
            continue;
        }
        let e = dag.order[i].entry();
        let author = e.author.as_str();
        let is_admin = |members: &HashMap<&str, &str>, admin_orgs: &HashSet<&str>| {
            members.get(author).is_some_and(|o| admin_orgs.contains(o))
        };
        let verdict: Result<Effect, &str> = match &e.action {
            Action::Genesis { .. } => Err("a second genesis entry"),
            Action::Invite(inv) if is_admin(&members, &admin_orgs) => Ok(Effect::Invite(inv)),
            Action::Admit { invite } => match dag.index_of(invite) {
                Some(j) if invites.get(&j).is_some_and(|inv| inv.key == author) => {
                    Ok(Effect::Admit(j))
                }
                _ => Err("no invite for its author"),
            },
            Action::Witness { .. } if !members.contains_key(author) => {
                Err("its author is not a member")
            }
            Action::Witness { admit } => match dag.index_of(admit).and_then(|a| admits.get(&a)) {
                Some(j) if invites[j].key != author => Ok(Effect::Member(invites[j])),
                _ => Err("it does not witness another key's admission"),
            },
            Action::SetRole { org, role } if is_admin(&members, &admin_orgs) => Ok(match role {
                Role::Admin => Effect::AdminOrg(org),
                Role::Member => Effect::Nothing,
            }),
            Action::Withdraw { .. } | Action::Revoke { .. } if is_admin(&members, &admin_orgs) => {
                Ok(Effect::Nothing)
            }
            // Rule 5a: a member may revoke its own key.
            Action::Revoke {
                target: Target::Node { key },
                ..
            } if key == author && members.contains_key(author) => Ok(Effect::Nothing),
            // Whose record it is, the exact rules judge.
            Action::Erase { .. } if members.contains_key(author) => Ok(Effect::Nothing),
            Action::Erase { .. } => Err("its author is not a member"),
            Action::Reuse { .. } if is_admin(&members, &admin_orgs) => Ok(Effect::Nothing),
            _ => Err("its author is not an admin"),
        };
        let effect = match verdict {
            Ok(effect) => effect,
            Err(why) => {
                out[i] = Some(why.to_owned());
                continue;
            }
        };
        let n = per_author.entry(author).or_default();
        *n += 1;
        if *n > MAX_ENTRIES_PER_AUTHOR {
            out[i] = Some(format!(
                "its author has {MAX_ENTRIES_PER_AUTHOR} entries already (the bound per key)"
            ));
            continue;
        }
        total += 1;
        if total > MAX_ROSTER_ENTRIES {
            out[i] = Some(format!("the roster is full ({MAX_ROSTER_ENTRIES} entries)"));
            continue;
        }
        match effect {
            Effect::Nothing => {}
            Effect::Invite(inv) => {
                invites.insert(i, inv);
            }
            Effect::Admit(j) => {
                admits.insert(i, j);
            }
            Effect::Member(inv) => {
                members.entry(inv.key.as_str()).or_insert(&inv.org.key);
                if inv.role == Role::Admin {
                    admin_orgs.insert(&inv.org.key);
                }
            }
            Effect::AdminOrg(org) => {
                admin_orgs.insert(org);
            }
        }
    }
    out
}

impl Dag<'_> {
    /// The index of the entry with this hex id, if present.
    pub fn index_of(&self, id_hex: &str) -> Option<usize> {
        super::entry::EntryId::from_hex(id_hex)
            .ok()
            .and_then(|id| self.index.get(&id).copied())
    }
}
