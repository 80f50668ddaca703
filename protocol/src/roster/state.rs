//! Evaluating a set of roster entries into a roster (see the module docs
//! for the rules).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::DateTime;
use serde::Serialize;

use super::entry::{
    Action, ConsortiumId, EntryId, FrontierItem, Invite, OrgInfo, Role, Target, VerifiedEntry,
};
use crate::identity::PublicKey;

/// Rounds of "revocation wins" re-evaluation before the result is taken as
/// it is (the result is a pure function of the entry set either way).
const MAX_ROUNDS: usize = 8;

/// A revocation as the roster records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Revocation {
    pub by: String,
    pub at: String,
    pub reason: String,
    pub entry: String,
}

/// One node key of a member organisation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KeyState {
    pub key: String,
    pub added_by: String,
    pub added_at: String,
    /// The entry that added this key.
    #[serde(skip)]
    pub via: EntryId,
    pub revoked: Option<Revocation>,
}

/// A member organisation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OrgState {
    #[serde(flatten)]
    pub info: OrgInfo,
    pub role: Role,
    /// The entry that granted the current role.
    #[serde(skip)]
    pub role_grant: EntryId,
    pub added_by: String,
    pub added_at: String,
    pub keys: Vec<KeyState>,
    pub revoked: Option<Revocation>,
}

impl OrgState {
    fn live_keys(&self) -> usize {
        if self.revoked.is_some() {
            return 0;
        }
        self.keys.iter().filter(|k| k.revoked.is_none()).count()
    }
}

/// An entry the rules refused, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Rejected {
    pub id: String,
    pub reason: String,
}

/// Why a library change's author may not write.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum MembershipError {
    #[error("author {0} is not a member of the consortium")]
    NotMember(String),
    #[error("author {0} was revoked, and this change is not among those it made before")]
    Revoked(String),
}

/// The roster a set of entries evaluates to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Roster {
    pub consortium: String,
    pub name: String,
    pub orgs: Vec<OrgState>,
    /// Entries with no successor: what a new entry depends on.
    #[serde(skip)]
    pub heads: Vec<EntryId>,
    /// Entries waiting for a dependency.
    pub pending: Vec<String>,
    pub rejected: Vec<Rejected>,
    /// Valid invites by id.
    #[serde(skip)]
    pub invites: BTreeMap<EntryId, Invite>,
    #[serde(skip)]
    frontier: BTreeMap<(String, String), Vec<String>>,
}

struct Eval<'a> {
    genesis: &'a VerifiedEntry,
    order: Vec<&'a VerifiedEntry>,
    ancestors: HashMap<EntryId, BTreeSet<EntryId>>,
}

impl Roster {
    /// Evaluate `entries` (verified for `consortium`) into a roster. Same set
    /// of entries, same roster, in any order.
    pub fn evaluate(consortium: &ConsortiumId, entries: &[VerifiedEntry]) -> Roster {
        let by_id: BTreeMap<EntryId, &VerifiedEntry> = entries.iter().map(|e| (e.id, e)).collect();
        let Some(genesis) = by_id.get(consortium).copied() else {
            return Roster::empty(consortium, by_id.keys().map(EntryId::to_hex).collect());
        };
        // Kahn's algorithm, ready entries taken in id order.
        let mut waiting: BTreeMap<EntryId, usize> = BTreeMap::new();
        let mut children: HashMap<EntryId, Vec<EntryId>> = HashMap::new();
        let mut ready: BTreeSet<EntryId> = BTreeSet::new();
        for (id, e) in &by_id {
            let mut deps: Vec<EntryId> = e.deps.clone();
            deps.sort();
            deps.dedup();
            waiting.insert(*id, deps.len());
            for d in deps {
                children.entry(d).or_default().push(*id);
            }
            if e.deps.is_empty() && *id == *consortium {
                ready.insert(*id);
            }
        }
        let mut order = Vec::new();
        let mut ancestors: HashMap<EntryId, BTreeSet<EntryId>> = HashMap::new();
        while let Some(id) = ready.pop_first() {
            let e = by_id[&id];
            let mut anc = BTreeSet::new();
            for d in &e.deps {
                anc.insert(*d);
                anc.extend(ancestors[d].iter().copied());
            }
            ancestors.insert(id, anc);
            order.push(e);
            for c in children.get(&id).into_iter().flatten() {
                let n = waiting.get_mut(c).expect("child is known");
                *n -= 1;
                if *n == 0 && by_id[c].deps.iter().all(|d| by_id.contains_key(d)) {
                    ready.insert(*c);
                }
            }
        }
        let applied: BTreeSet<EntryId> = order.iter().map(|e| e.id).collect();
        let pending: Vec<String> = by_id
            .keys()
            .filter(|id| !applied.contains(id))
            .map(EntryId::to_hex)
            .collect();
        let eval = Eval {
            genesis,
            order,
            ancestors,
        };
        let mut void: BTreeSet<EntryId> = BTreeSet::new();
        let mut roster = eval.apply(&void);
        for _ in 0..MAX_ROUNDS {
            let next = eval.void_entries(&roster.1);
            if next == void {
                break;
            }
            void = next;
            roster = eval.apply(&void);
        }
        let (mut r, _) = roster;
        r.pending = pending;
        let has_child: BTreeSet<EntryId> = eval
            .order
            .iter()
            .flat_map(|e| e.deps.iter().copied())
            .collect();
        r.heads = eval
            .order
            .iter()
            .map(|e| e.id)
            .filter(|id| !has_child.contains(id))
            .collect();
        r
    }

    fn empty(consortium: &ConsortiumId, pending: Vec<String>) -> Roster {
        Roster {
            consortium: consortium.to_hex(),
            name: String::new(),
            orgs: Vec::new(),
            heads: Vec::new(),
            pending,
            rejected: Vec::new(),
            invites: BTreeMap::new(),
            frontier: BTreeMap::new(),
        }
    }

    /// Whether the genesis entry is known.
    pub fn is_founded(&self) -> bool {
        !self.orgs.is_empty()
    }

    /// The organisation and key state of a node key.
    pub fn find_key(&self, key: &str) -> Option<(&OrgState, &KeyState)> {
        self.orgs
            .iter()
            .find_map(|o| o.keys.iter().find(|k| k.key == key).map(|k| (o, k)))
    }

    /// Whether `key` belongs to a member that is not revoked.
    pub fn is_live_member(&self, key: &str) -> bool {
        matches!(self.find_key(key), Some((o, k)) if o.revoked.is_none() && k.revoked.is_none())
    }

    /// Whether `key` may sign roster entries (invite, revoke, set roles).
    pub fn is_admin(&self, key: &str) -> bool {
        matches!(self.find_key(key), Some((o, k)) if o.revoked.is_none() && k.revoked.is_none() && o.role == Role::Admin)
    }

    /// May a library change by `author` (its `seq`-th change to `doc`, with
    /// `hash`) be accepted? Members yes; revoked keys only up to the
    /// revocation's frontier.
    pub fn check_change_author(
        &self,
        author: &PublicKey,
        doc: &str,
        seq: u64,
        hash: &[u8; 32],
    ) -> Result<(), MembershipError> {
        let key = author.to_hex();
        match self.find_key(&key) {
            None => Err(MembershipError::NotMember(key)),
            Some((o, k)) if o.revoked.is_none() && k.revoked.is_none() => Ok(()),
            Some(_) => match self.frontier.get(&(key.clone(), doc.to_owned())) {
                Some(hashes)
                    if seq >= 1
                        && usize::try_from(seq - 1)
                            .ok()
                            .and_then(|i| hashes.get(i))
                            .is_some_and(|h| *h == hex::encode(hash)) =>
                {
                    Ok(())
                }
                _ => Err(MembershipError::Revoked(key)),
            },
        }
    }
}

impl<'a> Eval<'a> {
    fn is_ancestor(&self, a: &EntryId, of: &EntryId) -> bool {
        self.ancestors.get(of).is_some_and(|s| s.contains(a))
    }

    /// Entries that need authority and are concurrent with a valid
    /// revocation or demotion of their author: void (revocation wins).
    fn void_entries(&self, valid: &[(EntryId, Vec<String>)]) -> BTreeSet<EntryId> {
        let mut void = BTreeSet::new();
        for (x, keys) in valid {
            for e in &self.order {
                if e.id == *x || !needs_authority(&e.entry().action) {
                    continue;
                }
                if keys.contains(&e.entry().author)
                    && !self.is_ancestor(&e.id, x)
                    && !self.is_ancestor(x, &e.id)
                {
                    void.insert(e.id);
                }
            }
        }
        void
    }

    /// Apply the entries in order, skipping `void`. Returns the roster and
    /// the valid revocations/demotions with the keys they strike.
    fn apply(&self, void: &BTreeSet<EntryId>) -> (Roster, Vec<(EntryId, Vec<String>)>) {
        let g = self.genesis.entry();
        let Action::Genesis { name, org } = &g.action else {
            unreachable!("the consortium id names a genesis entry")
        };
        let gid = self.genesis.id;
        let mut orgs: BTreeMap<String, OrgState> = BTreeMap::new();
        orgs.insert(
            org.key.clone(),
            OrgState {
                info: org.clone(),
                role: Role::Admin,
                role_grant: gid,
                added_by: g.author.clone(),
                added_at: g.issued_at.clone(),
                keys: vec![KeyState {
                    key: g.author.clone(),
                    added_by: g.author.clone(),
                    added_at: g.issued_at.clone(),
                    via: gid,
                    revoked: None,
                }],
                revoked: None,
            },
        );
        let mut rejected = Vec::new();
        let mut invites: BTreeMap<EntryId, Invite> = BTreeMap::new();
        let mut used: BTreeSet<EntryId> = BTreeSet::new();
        let mut frontier = BTreeMap::new();
        let mut strikes = Vec::new();
        for e in self.order.iter().skip(1) {
            let entry = e.entry();
            let result = if void.contains(&e.id) {
                Err("void: its author was revoked or demoted by a concurrent entry (revocation wins)".to_owned())
            } else if needs_authority(&entry.action) {
                self.authority(&orgs, e).and_then(|_| match &entry.action {
                    Action::Invite(inv) => {
                        if key_org(&orgs, &inv.key).is_some_and(|o| {
                            orgs[&o].revoked.is_some()
                                || orgs[&o]
                                    .keys
                                    .iter()
                                    .any(|k| k.key == inv.key && k.revoked.is_some())
                        }) {
                            return Err("the invited key was revoked".into());
                        }
                        invites.insert(e.id, inv.clone());
                        Ok(())
                    }
                    Action::Revoke {
                        target,
                        reason,
                        frontier: items,
                    } => {
                        let rev = Revocation {
                            by: entry.author.clone(),
                            at: entry.issued_at.clone(),
                            reason: reason.clone(),
                            entry: e.id.to_hex(),
                        };
                        let struck = revoke(&mut orgs, target, rev)?;
                        for FrontierItem { key, doc, hashes } in items {
                            // The first valid revocation of a key (in the
                            // evaluation order) sets its frontier.
                            if struck.contains(key) {
                                frontier
                                    .entry((key.clone(), doc.clone()))
                                    .or_insert_with(|| hashes.clone());
                            }
                        }
                        strikes.push((e.id, struck));
                        Ok(())
                    }
                    Action::SetRole { org, role } => {
                        let o = orgs
                            .get(org)
                            .ok_or_else(|| format!("no member organisation {org:?}"))?;
                        if o.revoked.is_some() {
                            return Err(format!("organisation {org:?} is revoked"));
                        }
                        if o.role == *role {
                            return Ok(());
                        }
                        if *role == Role::Member && live_admins(&orgs) <= 1 {
                            return Err("cannot demote the last admin".into());
                        }
                        let keys: Vec<String> = o.keys.iter().map(|k| k.key.clone()).collect();
                        let o = orgs.get_mut(org).expect("checked");
                        o.role = *role;
                        o.role_grant = e.id;
                        if *role == Role::Member {
                            strikes.push((e.id, keys));
                        }
                        Ok(())
                    }
                    _ => unreachable!("needs_authority"),
                })
            } else {
                match &entry.action {
                    Action::Admit { invite } => {
                        self.admit(&mut orgs, &invites, &mut used, e, invite)
                    }
                    Action::Genesis { .. } => Err("a second genesis entry".into()),
                    _ => unreachable!("needs_authority"),
                }
            };
            if let Err(reason) = result {
                rejected.push(super::state::Rejected {
                    id: e.id.to_hex(),
                    reason,
                });
            }
        }
        let roster = Roster {
            consortium: gid.to_hex(),
            name: name.clone(),
            orgs: orgs.into_values().collect(),
            heads: Vec::new(),
            pending: Vec::new(),
            rejected,
            invites,
            frontier,
        };
        (roster, strikes)
    }

    fn authority(
        &self,
        orgs: &BTreeMap<String, OrgState>,
        e: &VerifiedEntry,
    ) -> Result<(), String> {
        let author = &e.entry().author;
        let org = key_org(orgs, author).ok_or_else(|| "its author is not a member".to_owned())?;
        let o = &orgs[&org];
        let k = o.keys.iter().find(|k| &k.key == author).expect("key_org");
        if o.revoked.is_some() || k.revoked.is_some() {
            return Err("its author was revoked".into());
        }
        if o.role != Role::Admin {
            return Err("its author is not an admin".into());
        }
        let known = |grant: &EntryId| *grant == self.genesis.id || self.is_ancestor(grant, &e.id);
        if !known(&o.role_grant) || !known(&k.via) {
            return Err("its author was not an admin in the entry's causal past".into());
        }
        Ok(())
    }

    fn admit(
        &self,
        orgs: &mut BTreeMap<String, OrgState>,
        invites: &BTreeMap<EntryId, Invite>,
        used: &mut BTreeSet<EntryId>,
        e: &VerifiedEntry,
        invite: &str,
    ) -> Result<(), String> {
        let entry = e.entry();
        let inv_id = EntryId::from_hex(invite).map_err(|e| e.to_string())?;
        if !self.is_ancestor(&inv_id, &e.id) {
            return Err("the invite is not in the admission's causal past".into());
        }
        let inv = invites
            .get(&inv_id)
            .ok_or_else(|| "the invite is not valid".to_owned())?;
        if inv.key != entry.author {
            return Err("the admission is not signed by the invited key".into());
        }
        let at = DateTime::parse_from_rfc3339(&entry.issued_at).map_err(|e| e.to_string())?;
        let until = DateTime::parse_from_rfc3339(&inv.expires_at).map_err(|e| e.to_string())?;
        if at > until {
            return Err(format!("the invite expired at {}", inv.expires_at));
        }
        if !used.insert(inv_id) {
            return Err("the invite was used already".into());
        }
        let inviter = self
            .order
            .iter()
            .find(|x| x.id == inv_id)
            .map(|x| x.entry().author.clone())
            .unwrap_or_default();
        if let Some(org) = key_org(orgs, &entry.author) {
            let o = &orgs[&org];
            if o.revoked.is_some()
                || o.keys
                    .iter()
                    .any(|k| k.key == entry.author && k.revoked.is_some())
            {
                return Err("the invited key was revoked".into());
            }
            return Ok(());
        }
        let key = KeyState {
            key: entry.author.clone(),
            added_by: inviter.clone(),
            added_at: entry.issued_at.clone(),
            via: e.id,
            revoked: None,
        };
        match orgs.get_mut(&inv.org.key) {
            Some(o) if o.revoked.is_some() => {
                Err(format!("organisation {:?} is revoked", inv.org.key))
            }
            Some(o) => {
                o.keys.push(key);
                Ok(())
            }
            None => {
                orgs.insert(
                    inv.org.key.clone(),
                    OrgState {
                        info: inv.org.clone(),
                        role: inv.role,
                        role_grant: inv_id,
                        added_by: inviter,
                        added_at: entry.issued_at.clone(),
                        keys: vec![key],
                        revoked: None,
                    },
                );
                Ok(())
            }
        }
    }
}

fn needs_authority(a: &Action) -> bool {
    matches!(
        a,
        Action::Invite(_) | Action::Revoke { .. } | Action::SetRole { .. }
    )
}

fn key_org(orgs: &BTreeMap<String, OrgState>, key: &str) -> Option<String> {
    orgs.values()
        .find(|o| o.keys.iter().any(|k| k.key == key))
        .map(|o| o.info.key.clone())
}

fn live_admins(orgs: &BTreeMap<String, OrgState>) -> usize {
    orgs.values()
        .filter(|o| o.role == Role::Admin && o.live_keys() > 0)
        .count()
}

/// Revoke `target`; the keys it strikes.
fn revoke(
    orgs: &mut BTreeMap<String, OrgState>,
    target: &Target,
    rev: Revocation,
) -> Result<Vec<String>, String> {
    match target {
        Target::Org { org } => {
            let o = orgs
                .get(org)
                .ok_or_else(|| format!("no member organisation {org:?}"))?;
            if o.revoked.is_some() {
                return Err(format!("organisation {org:?} is revoked already"));
            }
            if o.role == Role::Admin && o.live_keys() > 0 && live_admins(orgs) <= 1 {
                return Err("cannot remove the last admin".into());
            }
            let o = orgs.get_mut(org).expect("checked");
            o.revoked = Some(rev);
            Ok(o.keys.iter().map(|k| k.key.clone()).collect())
        }
        Target::Node { key } => {
            let org = key_org(orgs, key).ok_or_else(|| "no member has this key".to_owned())?;
            let o = &orgs[&org];
            if o.keys.iter().any(|k| &k.key == key && k.revoked.is_some()) || o.revoked.is_some() {
                return Err("this key is revoked already".into());
            }
            if o.role == Role::Admin && o.live_keys() == 1 && live_admins(orgs) <= 1 {
                return Err("cannot remove the last admin".into());
            }
            let o = orgs.get_mut(&org).expect("checked");
            let k = o.keys.iter_mut().find(|k| &k.key == key).expect("found");
            k.revoked = Some(rev);
            Ok(vec![key.clone()])
        }
    }
}
