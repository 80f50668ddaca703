//! Checking a batch of received changes against the roster: the one
//! function the node and the simulation both call before applying what a
//! peer sent (or a file held).

use std::collections::{HashMap, HashSet};

use super::frontier::{ChangeGraph, ChangeNode, FrontierCache};
use super::state::Roster;
use crate::envelope::{DocChunk, Scope, SignedChange, VerifiedChange, VerifiedDoc};

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
    let checked = par_map(envelopes, threads, |sc: SignedChange| {
        let v = sc.verify(scope);
        (sc, v)
    });
    judge(roster, checked, held)
}

/// What a batch of document chunks holds.
#[derive(Debug, Default)]
pub struct DocBatchVerdict {
    /// Documents whose every change is new and may be written: applied
    /// whole.
    pub whole: Vec<VerifiedDoc>,
    /// The rest: invalid chunks, changes held already or not allowed, and
    /// the accepted changes of documents not applied whole (applied change
    /// by change).
    pub changes: BatchVerdict,
}

/// Verify document chunks for `scope` (on up to `threads` threads) and
/// judge every change in them as [`verify_batch`] does. A chunk that does
/// not verify is invalid as a whole.
pub fn verify_doc_batch(
    scope: &Scope,
    roster: Option<&Roster>,
    chunks: Vec<DocChunk>,
    held: &dyn ChangeGraph,
    threads: usize,
) -> DocBatchVerdict {
    let verified = par_map(chunks, threads, |c: DocChunk| {
        let key = c.doc.to_key();
        c.verify(scope).map_err(|e| format!("{key}: {e}"))
    });
    let mut invalid = Vec::new();
    let mut docs = Vec::new();
    let mut checked = Vec::new();
    for v in verified {
        match v {
            Err(e) => invalid.push(e),
            Ok(mut d) => {
                let mine = std::mem::take(&mut d.changes);
                docs.push((d, mine.len()));
                checked.extend(mine.into_iter().map(|(sc, v)| (sc, Ok(v))));
            }
        }
    }
    let mut changes = judge(roster, checked, held);
    changes.invalid.extend(invalid);
    // A document is applied whole when all of its changes were accepted.
    let mut accepted: HashMap<String, Vec<(SignedChange, VerifiedChange)>> = HashMap::new();
    for (sc, v) in std::mem::take(&mut changes.accepted) {
        accepted.entry(sc.doc.to_key()).or_default().push((sc, v));
    }
    let mut whole = Vec::new();
    for (mut d, all) in docs {
        let Some(mine) = accepted.remove(&d.doc.to_key()) else {
            continue;
        };
        if mine.len() == all {
            d.changes = mine;
            whole.push(d);
        } else {
            changes.accepted.extend(mine);
        }
    }
    DocBatchVerdict { whole, changes }
}

/// Judge verified changes: invalid ones, duplicates, and the roster's
/// verdict on each author.
fn judge(roster: Option<&Roster>, checked: Vec<Checked>, held: &dyn ChangeGraph) -> BatchVerdict {
    let mut out = BatchVerdict::default();
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

/// Checks are independent: spread them over `threads` (in order).
fn par_map<T: Send, U: Send>(items: Vec<T>, threads: usize, f: impl Fn(T) -> U + Sync) -> Vec<U> {
    if threads <= 1 || items.len() < 64 {
        return items.into_iter().map(f).collect();
    }
    let per = items.len().div_ceil(threads);
    let mut parts: Vec<Vec<T>> = Vec::new();
    let mut it = items.into_iter().peekable();
    while it.peek().is_some() {
        parts.push(it.by_ref().take(per).collect());
    }
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = parts
            .into_iter()
            .map(|part| s.spawn(move || part.into_iter().map(f).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("verify worker panicked"))
            .collect()
    })
}
