//! The exact rules: each kept entry's status, given which revocations,
//! withdrawals and demotions stand (see the module docs for the rules in
//! words). One pass in topological order; every "in its causal past" is a
//! bit test in the ancestry index.

use std::collections::{BTreeSet, HashMap};

use chrono::DateTime;

use super::entry::{Action, Role, Target};
use super::facts::Facts;

/// An entry's standing under the rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Status {
    Valid,
    /// Valid where it was made, but a concurrent revocation, demotion or
    /// withdrawal takes it away (kept and relayed: others depend on it).
    Void(String),
    /// Invalid where it was made (not stored, not relayed).
    Rejected(String),
    /// An admission no member has witnessed (yet).
    Unwitnessed,
}

impl Status {
    pub fn is_valid(&self) -> bool {
        *self == Status::Valid
    }
}

/// The revocations, withdrawals and demotions in effect.
#[derive(Default)]
pub(super) struct InEffect<'a> {
    pub all: BTreeSet<usize>,
    pub revocations: Vec<usize>,
    pub withdrawn: HashMap<usize, Vec<usize>>,
    pub demotions: HashMap<&'a str, Vec<usize>>,
}

impl<'a> InEffect<'a> {
    pub fn new(f: &Facts<'_, 'a>, all: BTreeSet<usize>) -> InEffect<'a> {
        let mut s = InEffect::default();
        for &i in &all {
            match f.action(i) {
                Action::Revoke { .. } => s.revocations.push(i),
                Action::Withdraw { .. } => {
                    if let Some((j, _)) = f.invite(i) {
                        s.withdrawn.entry(j).or_default().push(i);
                    }
                }
                Action::SetRole {
                    org,
                    role: Role::Member,
                } => s.demotions.entry(org.as_str()).or_default().push(i),
                _ => {}
            }
        }
        s.all = all;
        s
    }

    /// Standing revocations that strike `key` (or its organisation).
    pub fn striking<'s>(
        &'s self,
        f: &'s Facts<'_, 'a>,
        key: &'s str,
    ) -> impl Iterator<Item = usize> + 's {
        self.revocations
            .iter()
            .copied()
            .filter(move |r| f.strikes(*r, key))
    }
}

type Verdict = Result<(), Status>;

fn rejected(why: &str) -> Verdict {
    Err(Status::Rejected(why.to_owned()))
}

/// Why an admission is void when only void witnesses attest it.
const VOID_WITNESSES: &str = "every witness of it is void";

/// Every kept entry's status given `st`.
pub(super) fn statuses(f: &Facts, st: &InEffect) -> Vec<Status> {
    let mut out = vec![Status::Valid; f.len()];
    for i in 1..f.len() {
        out[i] = match status(f, st, &out, i) {
            Ok(()) => match f.action(i) {
                Action::Admit { .. } => Status::Unwitnessed,
                _ => Status::Valid,
            },
            Err(s) => s,
        };
        // An admission is as good as its best witness.
        if let (Action::Witness { .. }, Some((a, _, _))) = (f.action(i), f.admission(i)) {
            let witnessed = match (&out[a], &out[i]) {
                (Status::Unwitnessed, Status::Valid) => Some(Status::Valid),
                (Status::Void(why), Status::Valid) if why == VOID_WITNESSES => Some(Status::Valid),
                (Status::Unwitnessed, Status::Void(_)) => Some(Status::Void(VOID_WITNESSES.into())),
                _ => None,
            };
            if let Some(s) = witnessed {
                out[a] = s;
            }
        }
    }
    out
}

fn status(f: &Facts, st: &InEffect, out: &[Status], i: usize) -> Verdict {
    let witness_of = match f.action(i) {
        Action::Witness { .. } => f.target[i],
        _ => None,
    };
    for &d in &f.dag.deps[i] {
        match &out[d] {
            Status::Rejected(_) => return rejected("depends on a refused entry"),
            Status::Unwitnessed if Some(d) != witness_of => {
                return rejected("depends on an admission no member witnessed")
            }
            _ => {}
        }
    }
    let key = f.author(i);
    // Revocation wins: an entry of a revoked key that the revocation does
    // not list is void (or, made after it, refused).
    let mut void = None;
    for r in st.striking(f, key).filter(|r| *r != i) {
        if f.seen[&r].contains(&f.id(i)) {
            if let Action::Invite(_) = f.action(i) {
                let used = f
                    .witnesses_of_invite
                    .get(&i)
                    .is_some_and(|ws| ws.iter().any(|w| f.le(*w, r)));
                if !used {
                    void = Some("an invite of a revoked admin, unused at its revocation");
                }
            }
            continue;
        }
        if f.le(r, i) {
            return rejected("its author was revoked in its causal past");
        }
        void = Some("its author was revoked by a concurrent revocation that does not list it");
    }
    action_status(f, st, out, i)?;
    match void {
        Some(why) => Err(Status::Void(why.to_owned())),
        None => Ok(()),
    }
}

fn action_status(f: &Facts, st: &InEffect, out: &[Status], i: usize) -> Verdict {
    let key = f.author(i);
    match f.action(i) {
        Action::Genesis { .. } => rejected("a second genesis entry"),
        Action::Invite(inv) => {
            authority(f, st, out, i)?;
            for r in st.revocations.iter().copied() {
                let hits = match f.action(r) {
                    Action::Revoke {
                        target: Target::Node { key },
                        ..
                    } => *key == inv.key,
                    Action::Revoke {
                        target: Target::Org { org },
                        ..
                    } => *org == inv.org.key || f.strikes(r, &inv.key),
                    _ => false,
                };
                if !hits || f.le(i, r) {
                    continue;
                }
                if f.le(r, i) {
                    return rejected("the invited key or its organisation was revoked");
                }
                {
                    return Err(Status::Void(
                        "the invited key or its organisation was revoked concurrently".into(),
                    ));
                }
            }
            if st.withdrawn.contains_key(&i) {
                return Err(Status::Void("withdrawn".into()));
            }
            Ok(())
        }
        Action::Admit { .. } => {
            let Some((j, inv)) = f.invite(i).filter(|(j, _)| f.le(*j, i)) else {
                return rejected("the invite is not in its causal past");
            };
            if inv.key != key {
                return rejected("the admission is not signed by the invited key");
            }
            match &out[j] {
                Status::Void(_) => Err(Status::Void("its invite is void".into())),
                _ => Ok(()),
            }
        }
        Action::Witness { .. } => {
            let Some((a, _, inv)) = f.admission(i).filter(|(a, _, _)| f.le(*a, i)) else {
                return rejected("the admission is not in its causal past");
            };
            if f.author(a) == key {
                return rejected("an invitee cannot witness its own admission");
            }
            if !member_at(f, out, key, i) {
                return rejected("its author is not a member in its causal past");
            }
            let at = DateTime::parse_from_rfc3339(&f.dag.order[i].entry().issued_at);
            let until = DateTime::parse_from_rfc3339(&inv.expires_at);
            match (at, until) {
                (Ok(at), Ok(until)) if at <= until => {}
                _ => return rejected("the invite had expired when a member witnessed it"),
            }
            match &out[a] {
                Status::Void(why) if why != VOID_WITNESSES => {
                    Err(Status::Void("its admission is void".into()))
                }
                _ => Ok(()),
            }
        }
        Action::Withdraw { .. } => {
            authority(f, st, out, i)?;
            let Some((j, _)) = f.invite(i).filter(|(j, _)| f.le(*j, i)) else {
                return rejected("the invite is not in its causal past");
            };
            let used = f
                .witnesses_of_invite
                .get(&j)
                .is_some_and(|ws| ws.iter().any(|w| out[*w].is_valid() && f.le(*w, i)));
            if used {
                return rejected("the invite was used");
            }
            Ok(())
        }
        Action::Revoke { target, .. } => {
            // Rule 5a: any member may revoke its own key (it only gives up
            // its own power); anything else needs an admin.
            let own = matches!(target, Target::Node { key: k } if k == key);
            if !own {
                authority(f, st, out, i)?;
            }
            let exists = match target {
                Target::Node { key } => member_at(f, out, key, i),
                Target::Org { org } => org_exists_at(f, out, org, i),
            };
            if !exists {
                return rejected("no such member in its causal past");
            }
            let again = st.revocations.iter().any(|r| {
                *r != i
                    && f.le(*r, i)
                    && match (target, f.action(*r)) {
                        (Target::Node { key }, _) => f.strikes(*r, key),
                        (
                            Target::Org { org },
                            Action::Revoke {
                                target: Target::Org { org: o },
                                ..
                            },
                        ) => o == org,
                        _ => false,
                    }
            });
            if again {
                return rejected("revoked already");
            }
            Ok(())
        }
        Action::Erase { organisation, .. } => {
            if !member_at(f, out, key, i) {
                return rejected("its author is not a member in its causal past");
            }
            if f.org_of(key) == Some(organisation.as_str()) {
                return Ok(());
            }
            match authority(f, st, out, i) {
                Err(Status::Rejected(_)) => Err(Status::Rejected(format!(
                    "only {organisation} or an admin may erase its records"
                ))),
                other => other,
            }
        }
        Action::Reuse { .. } => authority(f, st, out, i),
        Action::SetRole { org, .. } => {
            authority(f, st, out, i)?;
            if !org_exists_at(f, out, org, i) {
                return rejected("no such member organisation in its causal past");
            }
            let struck = st.revocations.iter().any(|r| {
                f.le(*r, i)
                    && matches!(f.action(*r), Action::Revoke { target: Target::Org { org: o }, .. } if o == org)
            });
            if struck {
                return rejected("the organisation was revoked");
            }
            Ok(())
        }
    }
}

/// Whether `key` was admitted in `i`'s causal past (the founder always).
pub(super) fn member_at(f: &Facts, out: &[Status], key: &str, i: usize) -> bool {
    key == f.founder
        || f.witnesses_of_key
            .get(key)
            .is_some_and(|ws| ws.iter().any(|w| f.le(*w, i) && out[*w].is_valid()))
}

fn org_exists_at(f: &Facts, out: &[Status], org: &str, i: usize) -> bool {
    org == f.founder_org
        || f.witnesses_of_org
            .get(org)
            .is_some_and(|ws| ws.iter().any(|w| f.le(*w, i) && out[*w].is_valid()))
}

/// Whether a role grant `g` holds at `i` (`None`: in the end): valid, in
/// `i`'s past, and for an invite, once a member witnessed its use there.
pub(super) fn grant_holds(f: &Facts, out: &[Status], g: usize, i: Option<usize>) -> bool {
    let past = |x: usize| i.is_none_or(|i| f.le(x, i));
    if g == 0 {
        return true;
    }
    if !out[g].is_valid() || !past(g) {
        return false;
    }
    !matches!(f.action(g), Action::Invite(_))
        || f.witnesses_of_invite
            .get(&g)
            .is_some_and(|ws| ws.iter().any(|w| past(*w) && out[*w].is_valid()))
}

/// May the author of `i` sign it: admitted in its causal past, and its
/// organisation an admin there, by a grant that every standing demotion
/// of it is before (a demotion concurrent with the entry wins).
fn authority(f: &Facts, st: &InEffect, out: &[Status], i: usize) -> Verdict {
    let key = f.author(i);
    if !member_at(f, out, key, i) {
        return rejected("its author is not a member in its causal past");
    }
    let Some(org) = f.org_of(key) else {
        return rejected("its author is not a member in its causal past");
    };
    let demotions: &[usize] = st.demotions.get(org).map_or(&[], Vec::as_slice);
    let admin_grants =
        f.grants.get(org).into_iter().flatten().filter(|(g, role)| {
            *role == Role::Admin && *g != i && grant_holds(f, out, *g, Some(i))
        });
    let mut any = false;
    for (g, _) in admin_grants {
        any = true;
        if demotions
            .iter()
            .all(|d| *d == i || f.le(*d, *g) || f.le(i, *d))
        {
            return Ok(());
        }
    }
    if !any {
        return rejected("its author is not an admin in its causal past");
    }
    if demotions.iter().any(|d| *d != i && f.anc.concurrent(*d, i)) {
        return Err(Status::Void(
            "its organisation was demoted by a concurrent entry (demotion wins)".into(),
        ));
    }
    rejected("its organisation was demoted in its causal past")
}
