//! Checking a batch of received changes against the roster: the one
//! function the node and the simulation both call before applying what a
//! peer sent (or a file held).

use std::collections::{HashMap, HashSet};

use super::frontier::{ChangeGraph, ChangeNode, FrontierCache};
use super::state::Roster;
use crate::envelope::{Scope, SignedChange, VerifiedChange};

/// What a batch of changes holds.
#[derive(Debug, Default)]
pub struct BatchVerdict {
    /// Changes to apply: new, verified, by an author who may write; in
    /// the batch's order.
    pub accepted: Vec<(SignedChange, VerifiedChange)>,
    /// Malformed or forged envelopes, or for another consortium: the
    /// sender sent invalid data.
    pub invalid: Vec<String>,
    /// Well-formed changes whose author may not write per the roster (not
    /// the sender's fault: an honest peer with an older roster relays
    /// them).
    pub not_allowed: Vec<String>,
    /// Changes held already, or repeated in the batch.
    pub duplicates: u64,
}

/// The held changes plus the batch's own.
struct Overlay<'a> {
    held: &'a dyn ChangeGraph,
    batch: HashMap<(String, [u8; 32]), ChangeNode>,
}

impl ChangeGraph for Overlay<'_> {
    fn change(&self, doc: &str, hash: &[u8; 32]) -> Option<ChangeNode> {
        self.batch
            .get(&(doc.to_owned(), *hash))
            .cloned()
            .or_else(|| self.held.change(doc, hash))
    }
}

/// Verify `envelopes` for `scope` (signatures on up to `threads` threads)
/// and judge each change's author by `roster` (`None`: not in a
/// consortium, nobody may write); `held` is what this node already holds.
pub fn verify_batch(
    scope: &Scope,
    roster: Option<&Roster>,
    envelopes: Vec<SignedChange>,
    held: &dyn ChangeGraph,
    threads: usize,
) -> BatchVerdict {
    let mut out = BatchVerdict::default();
    let checked = verify_all(scope, envelopes, threads);
    let mut fresh = Vec::with_capacity(checked.len());
    let mut in_batch = HashSet::new();
    for (sc, v) in checked {
        let key = sc.doc.to_key();
        match v {
            Err(e) => out.invalid.push(format!("{key}: {e}")),
            Ok(v) => {
                if !in_batch.insert(v.hash.0) || held.change(&key, &v.hash.0).is_some() {
                    out.duplicates += 1;
                } else {
                    fresh.push((sc, v));
                }
            }
        }
    }
    let Some(roster) = roster else {
        for (sc, _) in fresh {
            out.not_allowed
                .push(format!("{}: this node is not in a consortium", sc.doc));
        }
        return out;
    };
    let overlay = Overlay {
        held,
        batch: fresh
            .iter()
            .map(|(sc, v)| {
                let node = ChangeNode {
                    author: v.author.to_bytes(),
                    deps: v.change.deps().iter().map(|h| h.0).collect(),
                };
                ((sc.doc.to_key(), v.hash.0), node)
            })
            .collect(),
    };
    let mut cache = FrontierCache::default();
    for (sc, v) in fresh {
        let key = sc.doc.to_key();
        let deps: Vec<[u8; 32]> = v.change.deps().iter().map(|h| h.0).collect();
        if let Err(e) = roster.check_not_erased(&key, &v.hash.0, &deps) {
            out.not_allowed.push(format!("{key} {}: {e}", v.hash));
            continue;
        }
        match roster.check_change_author_cached(
            &v.author,
            &key,
            v.change.seq(),
            &v.hash.0,
            &overlay,
            &mut cache,
        ) {
            Ok(()) => out.accepted.push((sc, v)),
            Err(e) => out.not_allowed.push(format!("{key} {}: {e}", v.hash)),
        }
    }
    out
}

type Checked = (
    SignedChange,
    Result<VerifiedChange, crate::envelope::EnvelopeError>,
);

/// Signature checks are independent: spread them over `threads`.
fn verify_all(scope: &Scope, envelopes: Vec<SignedChange>, threads: usize) -> Vec<Checked> {
    let check = |sc: SignedChange| {
        let v = sc.verify(scope);
        (sc, v)
    };
    if threads <= 1 || envelopes.len() < 64 {
        return envelopes.into_iter().map(check).collect();
    }
    let per = envelopes.len().div_ceil(threads);
    let mut parts: Vec<Vec<SignedChange>> = Vec::new();
    let mut it = envelopes.into_iter().peekable();
    while it.peek().is_some() {
        parts.push(it.by_ref().take(per).collect());
    }
    std::thread::scope(|s| {
        let handles: Vec<_> = parts
            .into_iter()
            .map(|part| s.spawn(move || part.into_iter().map(check).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("verify worker panicked"))
            .collect()
    })
}
