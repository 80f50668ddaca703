//! What the exact rules need to know about the kept entries that does not
//! depend on which revocations stand: who invited, admitted and witnessed
//! whom, each key's organisation and seniority, each organisation's role
//! grants. Computed once per evaluation.

use std::collections::{BTreeSet, HashMap};

use super::entry::{Action, EntryId, Invite, Role, Target};
use super::graph::{Ancestry, Dag};

/// Static facts over the kept entries (indices into their [`Dag`]).
pub(super) struct Facts<'d, 'a> {
    pub dag: &'d Dag<'a>,
    pub anc: Ancestry,
    pub founder: &'a str,
    pub founder_org: &'a str,
    /// For an `admit`, `witness` or `withdraw` entry: the entry it names,
    /// if present.
    pub target: Vec<Option<usize>>,
    /// Witnesses of each key's admissions.
    pub witnesses_of_key: HashMap<&'a str, Vec<usize>>,
    /// Witnesses of each invite's admissions.
    pub witnesses_of_invite: HashMap<usize, Vec<usize>>,
    /// Witnesses of admissions into each organisation.
    pub witnesses_of_org: HashMap<&'a str, Vec<usize>>,
    /// Each key's organisation: the founder's, or that of the invite of
    /// its first admission (or first invite).
    pub key_org: HashMap<&'a str, &'a str>,
    /// Role grants per organisation: the genesis, invites (their role,
    /// once a member witnessed their use), `set_role`.
    pub grants: HashMap<&'a str, Vec<(usize, Role)>>,
    /// For `revoke` entries: the ids they list as seen.
    pub seen: HashMap<usize, BTreeSet<EntryId>>,
}

impl<'d, 'a> Facts<'d, 'a> {
    pub fn new(dag: &'d Dag<'a>) -> Facts<'d, 'a> {
        let anc = Ancestry::build(dag);
        let g = dag.order[0].entry();
        let Action::Genesis { org, .. } = &g.action else {
            unreachable!("the root is a genesis entry")
        };
        let mut f = Facts {
            dag,
            anc,
            founder: &g.author,
            founder_org: &org.key,
            target: vec![None; dag.len()],
            witnesses_of_key: HashMap::new(),
            witnesses_of_invite: HashMap::new(),
            witnesses_of_org: HashMap::new(),
            key_org: HashMap::from([(g.author.as_str(), org.key.as_str())]),
            grants: HashMap::from([(org.key.as_str(), vec![(0, Role::Admin)])]),
            seen: HashMap::new(),
        };
        for i in 1..dag.len() {
            let e = dag.order[i].entry();
            match &e.action {
                Action::Admit { invite } | Action::Withdraw { invite } => {
                    f.target[i] = dag.index_of(invite);
                }
                Action::Witness { admit } => {
                    f.target[i] = dag.index_of(admit);
                    if let Some((_, j, inv)) = f.admission(i) {
                        // A key belongs to one organisation: that of its
                        // first witnessed admission.
                        let org = *f.key_org.entry(&inv.key).or_insert(&inv.org.key);
                        if org != inv.org.key {
                            continue;
                        }
                        f.witnesses_of_key.entry(&inv.key).or_default().push(i);
                        f.witnesses_of_invite.entry(j).or_default().push(i);
                        f.witnesses_of_org.entry(&inv.org.key).or_default().push(i);
                    }
                }
                Action::Revoke { seen, .. } => {
                    let ids = seen.iter().filter_map(|s| EntryId::from_hex(s).ok());
                    f.seen.insert(i, ids.collect());
                }
                Action::SetRole { org, role } => {
                    f.grants.entry(org).or_default().push((i, *role));
                }
                Action::Genesis { .. }
                | Action::Invite(_)
                | Action::Erase { .. }
                | Action::Reuse { .. } => {}
            }
        }
        // Invites: their role grants, and the organisation of keys never
        // admitted.
        for i in 1..dag.len() {
            if let Action::Invite(inv) = dag.order[i].action() {
                f.key_org.entry(&inv.key).or_insert(&inv.org.key);
                f.grants
                    .entry(&inv.org.key)
                    .or_default()
                    .push((i, inv.role));
            }
        }
        f
    }

    pub fn len(&self) -> usize {
        self.dag.len()
    }

    pub fn author(&self, i: usize) -> &'a str {
        &self.dag.order[i].entry().author
    }

    pub fn action(&self, i: usize) -> &'a Action {
        self.dag.order[i].action()
    }

    pub fn id(&self, i: usize) -> EntryId {
        self.dag.order[i].id
    }

    pub fn le(&self, a: usize, b: usize) -> bool {
        self.anc.le(a, b)
    }

    /// For a witness entry: the admit it names, that admit's invite, and
    /// the invite (if both are present and of the right kinds).
    pub fn admission(&self, witness: usize) -> Option<(usize, usize, &'a Invite)> {
        let a = self.target[witness]?;
        let Action::Admit { .. } = self.action(a) else {
            return None;
        };
        let j = self.target[a]?;
        match self.action(j) {
            Action::Invite(inv) => Some((a, j, inv)),
            _ => None,
        }
    }

    /// The invite an admit or withdraw entry names, if present.
    pub fn invite(&self, i: usize) -> Option<(usize, &'a Invite)> {
        let j = self.target[i]?;
        match self.action(j) {
            Action::Invite(inv) => Some((j, inv)),
            _ => None,
        }
    }

    pub fn org_of(&self, key: &str) -> Option<&'a str> {
        self.key_org.get(key).copied()
    }

    /// Whether revocation `r` strikes `key`.
    pub fn strikes(&self, r: usize, key: &str) -> bool {
        match self.action(r) {
            Action::Revoke {
                target: Target::Node { key: k },
                ..
            } => k == key,
            Action::Revoke {
                target: Target::Org { org },
                ..
            } => self.org_of(key) == Some(org.as_str()),
            _ => false,
        }
    }
}
