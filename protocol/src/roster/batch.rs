//! Checking a batch of received changes against the roster: the one
//! function the node and the simulation both call before applying what a
//! peer sent (or a file held).

use std::collections::{HashMap, HashSet};

use super::frontier::{ChangeGraph, ChangeNode, FrontierCache};
use super::state::Roster;
use crate::envelope::{DocChange, DocChunk, Scope, SignedChange, VerifiedChange, VerifiedDoc};
use crate::identity::PublicKey;

/// What a batch of changes holds.
#[derive(Debug)]
pub struct BatchVerdict<T = (SignedChange, VerifiedChange)> {
    /// Changes to apply: new, verified, by an author who may write; in
    /// the batch's order.
    pub accepted: Vec<T>,
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

impl<T> Default for BatchVerdict<T> {
    fn default() -> Self {
        BatchVerdict {
            accepted: Vec::new(),
            invalid: Vec::new(),
            not_allowed: Vec::new(),
            duplicates: 0,
        }
    }
}

/// What the roster judges a change by (from its header).
struct Facts<'a> {
    key: String,
    author: &'a PublicKey,
    hash: [u8; 32],
    seq: u64,
    deps: Vec<[u8; 32]>,
}

/// A change the roster can judge.
trait Judged {
    fn facts(&self) -> Facts<'_>;
}

impl Judged for (SignedChange, VerifiedChange) {
    fn facts(&self) -> Facts<'_> {
        let v = &self.1;
        Facts {
            key: self.0.doc.to_key(),
            author: &v.author,
            hash: v.hash.0,
            seq: v.change.seq(),
            deps: v.change.deps().iter().map(|h| h.0).collect(),
        }
    }
}

impl Judged for (String, DocChange) {
    fn facts(&self) -> Facts<'_> {
        let c = &self.1;
        Facts {
            key: self.0.clone(),
            author: &c.author,
            hash: c.hash.0,
            seq: c.seq,
            deps: c.deps.iter().map(|h| h.0).collect(),
        }
    }
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
        match sc.verify(scope) {
            Ok(v) => Ok((sc, v)),
            Err(e) => Err(format!("{}: {e}", sc.doc.to_key())),
        }
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
/// judge every change in them as [`verify_batch`] does, from the changes'
/// headers. A chunk that does not verify is invalid as a whole.
pub fn verify_doc_batch(
    scope: &Scope,
    roster: Option<&Roster>,
    chunks: Vec<DocChunk>,
    held: &dyn ChangeGraph,
    threads: usize,
) -> DocBatchVerdict {
    judge_doc_batch(roster, verify_doc_chunks(scope, chunks, threads), held)
}

/// The first half of [`verify_doc_batch`]: every chunk's bytes, its
/// document (loaded) and its signatures, checked for `scope` on up to
/// `threads` threads. It depends on nothing but the bytes and the scope,
/// so it may run ahead of the judgment (while an earlier part of the
/// answer is being stored); an `Err` is why that chunk is invalid.
pub fn verify_doc_chunks(
    scope: &Scope,
    chunks: Vec<DocChunk>,
    threads: usize,
) -> Vec<Result<VerifiedDoc, String>> {
    par_map(chunks, threads, |c: DocChunk| {
        let key = c.doc.to_key();
        c.verify(scope).map_err(|e| format!("{key}: {e}"))
    })
}

/// The second half of [`verify_doc_batch`]: judge the changes of verified
/// chunks by `roster` and what is `held` at the time of the call (both may
/// have changed since the chunks were verified: the judgment is made when
/// the batch is applied).
pub fn judge_doc_batch(
    roster: Option<&Roster>,
    verified: Vec<Result<VerifiedDoc, String>>,
    held: &dyn ChangeGraph,
) -> DocBatchVerdict {
    let mut invalid = Vec::new();
    let mut docs = Vec::new();
    let mut checked = Vec::new();
    for v in verified {
        match v {
            Err(e) => invalid.push(e),
            Ok(mut d) => {
                let key = d.doc.to_key();
                let mine = std::mem::take(&mut d.changes);
                docs.push((d, mine.len()));
                checked.extend(mine.into_iter().map(|c| Ok((key.clone(), c))));
            }
        }
    }
    let judged = judge(roster, checked, held);
    let mut changes = BatchVerdict {
        accepted: Vec::new(),
        invalid: judged.invalid,
        not_allowed: judged.not_allowed,
        duplicates: judged.duplicates,
    };
    changes.invalid.extend(invalid);
    // A document is applied whole when all of its changes were accepted.
    let mut accepted: HashMap<String, Vec<DocChange>> = HashMap::new();
    for (key, c) in judged.accepted {
        accepted.entry(key).or_default().push(c);
    }
    let mut whole = Vec::new();
    for (mut d, all) in docs {
        let Some(mine) = accepted.remove(&d.doc.to_key()) else {
            continue;
        };
        if mine.len() == all {
            d.changes = mine;
            whole.push(d);
            continue;
        }
        // The rest of the document's changes go change by change: parsed
        // by automerge now.
        match DocChange::all_parsed(&mine, &d.doc, &mut d.document) {
            Ok(parsed) => changes.accepted.extend(parsed),
            Err(e) => changes.invalid.push(format!("{}: {e}", d.doc)),
        }
    }
    DocBatchVerdict { whole, changes }
}

/// Judge verified changes: invalid ones, duplicates, and the roster's
/// verdict on each author.
fn judge<T: Judged>(
    roster: Option<&Roster>,
    checked: Vec<Result<T, String>>,
    held: &dyn ChangeGraph,
) -> BatchVerdict<T> {
    let mut out = BatchVerdict::default();
    let mut fresh = Vec::with_capacity(checked.len());
    let mut in_batch = HashSet::new();
    for c in checked {
        match c {
            Err(e) => out.invalid.push(e),
            Ok(c) => {
                let f = c.facts();
                if !in_batch.insert(f.hash) || held.change(&f.key, &f.hash).is_some() {
                    out.duplicates += 1;
                } else {
                    fresh.push(c);
                }
            }
        }
    }
    let Some(roster) = roster else {
        for c in fresh {
            out.not_allowed.push(format!(
                "{}: this node is not in a consortium",
                c.facts().key
            ));
        }
        return out;
    };
    let overlay = Overlay {
        held,
        batch: fresh
            .iter()
            .map(|c| {
                let f = c.facts();
                let node = ChangeNode {
                    author: f.author.to_bytes(),
                    deps: f.deps,
                };
                ((f.key, f.hash), node)
            })
            .collect(),
    };
    let mut cache = FrontierCache::default();
    for c in fresh {
        let f = c.facts();
        let hash = hex::encode(f.hash);
        if let Err(e) = roster.check_not_erased(&f.key, &f.hash, &f.deps) {
            out.not_allowed.push(format!("{} {hash}: {e}", f.key));
            continue;
        }
        match roster
            .check_change_author_cached(f.author, &f.key, f.seq, &f.hash, &overlay, &mut cache)
        {
            Ok(()) => out.accepted.push(c),
            Err(e) => out.not_allowed.push(format!("{} {hash}: {e}", f.key)),
        }
    }
    out
}

/// Checks are independent: spread them over `threads` (in order), when
/// there are enough of them to pay for the threads.
fn par_map<T: Send, U: Send>(items: Vec<T>, threads: usize, f: impl Fn(T) -> U + Sync) -> Vec<U> {
    let threads = if items.len() < 64 { 1 } else { threads };
    crate::par::map_on_threads(items, threads, f)
}
