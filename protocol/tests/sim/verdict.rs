//! The end of a run: every honest node holds the same roster, changes and
//! documents, and the roster is what the rules state.

use std::collections::{BTreeMap, BTreeSet};

use r2com_protocol::roster::EntryId;

use super::net::Sim;
use super::*;

/// Every honest node holds the same roster, changes and documents, and
/// the roster is what the rules state.
pub fn converged(
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
