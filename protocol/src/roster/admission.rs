//! What a node does with roster entries it receives, the same on the node
//! and in the simulation: store and relay only what the rules keep
//! ([`merge_entries`]), and witness an invitee's admission when it is
//! handed in before its invite expires ([`admit`]).

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, SecondsFormat, Utc};

use super::entry::{Action, ConsortiumId, Entry, EntryId, SignedEntry, VerifiedEntry};
use super::state::Roster;
use super::MAX_DEPS;
use crate::identity::NodeKey;

/// Most entries an admission may carry (an invite and an admit, twice).
pub const MAX_ADMISSION_ENTRIES: usize = 8;

/// The outcome of merging received entries into the stored ones.
#[derive(Debug)]
pub struct Merge {
    /// The roster of what is stored after the merge.
    pub roster: Roster,
    /// New entries the rules keep: store them, then relay them.
    pub store: Vec<SignedEntry>,
    /// Stored entries the rules no longer keep: delete them.
    pub drop: Vec<EntryId>,
    /// Entries that do not decode, verify or belong to this consortium:
    /// the sender sent invalid data.
    pub invalid: Vec<String>,
    /// Well-formed entries the rules refuse (not stored, not relayed).
    pub refused: Vec<String>,
    /// Some entries wait for a dependency (not stored; a round with the
    /// sender brings them together).
    pub pending: bool,
}

/// Decode entries from peer bytes; the undecodable ones with why.
pub fn decode_entries(bytes: &[Vec<u8>]) -> (Vec<SignedEntry>, Vec<String>) {
    let mut ok = Vec::with_capacity(bytes.len());
    let mut bad = Vec::new();
    for b in bytes {
        match SignedEntry::decode(b) {
            Ok(e) => ok.push(e),
            Err(e) => bad.push(format!("roster entry: {e}")),
        }
    }
    (ok, bad)
}

/// Merge `incoming` into `stored` (the entries a node holds, verified for
/// `cid`): which to store, which to drop, which were invalid or refused.
pub fn merge_entries(
    cid: &ConsortiumId,
    stored: &[VerifiedEntry],
    incoming: Vec<SignedEntry>,
) -> Merge {
    let held: HashSet<EntryId> = stored.iter().map(|e| e.id).collect();
    let mut invalid = Vec::new();
    let mut new: Vec<VerifiedEntry> = Vec::new();
    let mut new_ids = HashSet::new();
    for e in incoming {
        match e.verify(Some(cid)) {
            Ok(v) if held.contains(&v.id) || !new_ids.insert(v.id) => {}
            Ok(v) => new.push(v),
            Err(err) => invalid.push(format!("{}: {err}", e.id())),
        }
    }
    let mut all: Vec<VerifiedEntry> = stored.to_vec();
    all.extend(new.iter().cloned());
    let roster = Roster::evaluate(cid, &all);
    let pending_ids: BTreeSet<&str> = roster.pending.iter().map(String::as_str).collect();
    let reasons: HashMap<&str, &str> = roster
        .rejected
        .iter()
        .map(|r| (r.id.as_str(), r.reason.as_str()))
        .collect();
    let mut refused = Vec::new();
    let mut store = Vec::new();
    let mut pending = false;
    for v in new {
        if roster.accepted.contains(&v.id) {
            store.push(v.signed);
        } else if pending_ids.contains(v.id.to_hex().as_str()) {
            pending = true;
        } else if roster.unwitnessed.contains(&v.id) {
            refused.push(format!("{}: an admission no member witnessed", v.id));
        } else {
            let why = reasons.get(v.id.to_hex().as_str()).copied();
            refused.push(format!("{}: {}", v.id, why.unwrap_or("refused")));
        }
    }
    let drop = stored
        .iter()
        .map(|e| e.id)
        .filter(|id| !roster.accepted.contains(id))
        .collect();
    Merge {
        roster,
        store,
        drop,
        invalid,
        refused,
        pending,
    }
}

/// What a member makes of an invitee's admission.
#[derive(Debug)]
pub enum Admission {
    /// Valid, and witnessed by this node: store these entries (the new
    /// ones of the invite, the admit and the witness); the invitee is a
    /// member of `roster`.
    Admitted {
        store: Vec<SignedEntry>,
        roster: Box<Roster>,
    },
    /// Not (or not yet) valid: why.
    Refused(String),
}

/// An invitee (`peer`, hex key) hands in its invite and admit entries;
/// this node (`me`, holding `stored`) witnesses the admission at `now` if
/// it is a live member and the rules accept it. `Err`: the entries are not
/// an admission by `peer` at all (the peer misbehaved).
pub fn admit(
    me: &NodeKey,
    cid: &ConsortiumId,
    stored: &[VerifiedEntry],
    peer: &str,
    entries: Vec<SignedEntry>,
    now: DateTime<Utc>,
) -> Result<Admission, String> {
    if entries.len() > MAX_ADMISSION_ENTRIES {
        return Err("an admission is a few entries".into());
    }
    let mut given = Vec::new();
    for e in entries {
        let v = e.verify(Some(cid)).map_err(|e| e.to_string())?;
        match v.action() {
            Action::Invite(inv) if inv.key == peer => {}
            Action::Admit { .. } if v.entry().author == peer => {}
            _ => {
                return Err("an admission carries only the peer's invite and admit entries".into())
            }
        }
        given.push(v);
    }
    let before = Roster::evaluate(cid, stored);
    if before.is_live_member(peer) {
        return Ok(Admission::Admitted {
            store: Vec::new(),
            roster: Box::new(before),
        });
    }
    if !before.is_live_member(&me.public().to_hex()) {
        return Ok(Admission::Refused("this node is not a member".into()));
    }
    let held: HashSet<EntryId> = stored.iter().map(|e| e.id).collect();
    let mut all = stored.to_vec();
    all.extend(given.iter().filter(|v| !held.contains(&v.id)).cloned());
    let mut why = "no admission among the entries".to_owned();
    for a in given
        .iter()
        .filter(|v| matches!(v.action(), Action::Admit { .. }))
    {
        match witness(me, cid, &all, a.id, now) {
            Ok(w) => {
                let mut with = all.clone();
                with.push(w.verify(Some(cid)).map_err(|e| e.to_string())?);
                let roster = Roster::evaluate(cid, &with);
                if roster.is_live_member(peer) {
                    let mut store: Vec<SignedEntry> = given
                        .iter()
                        .filter(|v| !held.contains(&v.id) && roster.accepted.contains(&v.id))
                        .map(|v| v.signed.clone())
                        .collect();
                    store.push(w);
                    return Ok(Admission::Admitted {
                        store,
                        roster: Box::new(roster),
                    });
                }
                why = "the rules do not accept the witnessed admission".into();
            }
            Err(e) => why = e,
        }
    }
    Ok(Admission::Refused(why))
}

/// This node's witness of the admission `admit` (an unwitnessed admit
/// among `entries`), if its invite has not expired at `now`.
pub fn witness(
    me: &NodeKey,
    cid: &ConsortiumId,
    entries: &[VerifiedEntry],
    admit: EntryId,
    now: DateTime<Utc>,
) -> Result<SignedEntry, String> {
    let roster = Roster::evaluate(cid, entries);
    let a = entries
        .iter()
        .find(|e| e.id == admit)
        .ok_or("the admission is not among the entries")?;
    if roster.pending.contains(&admit.to_hex()) {
        return Err("the invite's history has not reached this node yet".into());
    }
    if !roster.unwitnessed.contains(&admit) {
        let why = roster
            .rejected
            .iter()
            .find(|r| r.id == admit.to_hex())
            .map_or("witnessed already", |r| r.reason.as_str());
        return Err(format!("the admission is not valid: {why}"));
    }
    let Action::Admit { invite } = a.action() else {
        return Err("not an admission".into());
    };
    let inv = entries
        .iter()
        .find(|e| e.id.to_hex() == *invite)
        .and_then(|e| match e.action() {
            Action::Invite(inv) => Some(inv),
            _ => None,
        })
        .ok_or("the invite is unknown")?;
    let until = DateTime::parse_from_rfc3339(&inv.expires_at).map_err(|e| e.to_string())?;
    if now > until {
        return Err(format!("the invite expired at {}", inv.expires_at));
    }
    Ok(Entry {
        consortium: cid.to_hex(),
        author: me.public().to_hex(),
        deps: deps_on(&roster, Some(admit)),
        issued_at: now.to_rfc3339_opts(SecondsFormat::Secs, true),
        action: Action::Witness {
            admit: admit.to_hex(),
        },
    }
    .sign(me))
}

/// A new entry's dependencies: `roster`'s heads (the first [`MAX_DEPS`]
/// if there are more; the rest stay heads for the next one)
/// and `extra`, sorted.
fn deps_on(roster: &Roster, extra: Option<EntryId>) -> Vec<String> {
    let mut heads = roster.heads.clone();
    let room = MAX_DEPS - usize::from(extra.is_some());
    if heads.len() > room {
        // Heads are sorted by id; any subset is a valid causal past.
        heads.truncate(room);
    }
    let mut deps: BTreeSet<EntryId> = heads.into_iter().collect();
    deps.extend(extra);
    deps.iter().map(EntryId::to_hex).collect()
}

/// Sign an entry by `me` depending on `roster`'s heads.
pub fn author_entry(
    me: &NodeKey,
    cid: &ConsortiumId,
    roster: &Roster,
    action: Action,
    now: DateTime<Utc>,
) -> SignedEntry {
    let mut deps = deps_on(roster, None);
    if deps.is_empty() {
        deps.push(cid.to_hex());
    }
    Entry {
        consortium: cid.to_hex(),
        author: me.public().to_hex(),
        deps,
        issued_at: now.to_rfc3339_opts(SecondsFormat::Secs, true),
        action,
    }
    .sign(me)
}
