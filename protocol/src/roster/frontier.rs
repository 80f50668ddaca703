//! A revoked key's frontier is compact: per document, the count of its
//! changes the revoking admin had seen and the hash of the last one. Its
//! earlier changes count if they are in that last change's history, which
//! only the document's change graph can tell: this module walks it.

use std::collections::{HashMap, HashSet};

use super::state::{ChangeAuthority, MembershipError, Roster};
use crate::identity::PublicKey;

/// A change as the frontier walk needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeNode {
    /// The author's public key (the change's actor id).
    pub author: [u8; 32],
    pub deps: Vec<[u8; 32]>,
}

/// The changes a node holds, per document (stored ones, waiting ones
/// included).
pub trait ChangeGraph {
    fn change(&self, doc: &str, hash: &[u8; 32]) -> Option<ChangeNode>;
}

impl<G: ChangeGraph + ?Sized> ChangeGraph for &G {
    fn change(&self, doc: &str, hash: &[u8; 32]) -> Option<ChangeNode> {
        (**self).change(doc, hash)
    }
}

/// An author's changes in the history of a document's change (itself
/// included).
#[derive(Clone, Debug, Default)]
pub struct History {
    pub changes: HashSet<[u8; 32]>,
    /// Every change of that history is held (else some of the author's
    /// may be beyond a missing one).
    pub complete: bool,
}

/// Walk `head`'s history in `doc` (iteratively, each change once) and
/// collect `author`'s changes.
pub fn authored_history(
    graph: &dyn ChangeGraph,
    doc: &str,
    head: &[u8; 32],
    author: &[u8; 32],
) -> History {
    let mut h = History {
        changes: HashSet::new(),
        complete: true,
    };
    let mut seen: HashSet<[u8; 32]> = HashSet::from([*head]);
    let mut stack = vec![*head];
    while let Some(c) = stack.pop() {
        let Some(node) = graph.change(doc, &c) else {
            h.complete = false;
            continue;
        };
        if node.author == *author {
            h.changes.insert(c);
        }
        for d in node.deps {
            if seen.insert(d) {
                stack.push(d);
            }
        }
    }
    h
}

/// Histories already walked, for checking many changes against the same
/// frontier (one walk per document, head and author).
#[derive(Default)]
pub struct FrontierCache {
    walked: HashMap<(String, [u8; 32], [u8; 32]), History>,
}

impl FrontierCache {
    pub fn history(
        &mut self,
        graph: &dyn ChangeGraph,
        doc: &str,
        head: &[u8; 32],
        author: &[u8; 32],
    ) -> &History {
        self.walked
            .entry((doc.to_owned(), *head, *author))
            .or_insert_with(|| authored_history(graph, doc, head, author))
    }
}

impl Roster {
    /// May a library change by `author` (its `seq`-th to `doc`, with
    /// `hash`) be accepted? Members yes; revoked keys only within their
    /// revocation's frontier, judged on `graph` (the changes this node
    /// holds, and any it is about to apply).
    pub fn check_change_author(
        &self,
        author: &PublicKey,
        doc: &str,
        seq: u64,
        hash: &[u8; 32],
        graph: &dyn ChangeGraph,
    ) -> Result<(), MembershipError> {
        self.check_change_author_cached(
            author,
            doc,
            seq,
            hash,
            graph,
            &mut FrontierCache::default(),
        )
    }

    /// [`Self::check_change_author`] reusing walks across calls.
    pub fn check_change_author_cached(
        &self,
        author: &PublicKey,
        doc: &str,
        seq: u64,
        hash: &[u8; 32],
        graph: &dyn ChangeGraph,
        cache: &mut FrontierCache,
    ) -> Result<(), MembershipError> {
        match self.change_authority(author, doc, seq, hash) {
            ChangeAuthority::Allowed => Ok(()),
            ChangeAuthority::Refused(e) => Err(e),
            ChangeAuthority::InHistoryOf(heads) => {
                let a = author.to_bytes();
                for head in heads {
                    let h = cache.history(graph, doc, &head, &a);
                    if !h.changes.contains(hash) {
                        return Err(if h.complete {
                            MembershipError::Revoked(author.to_hex())
                        } else {
                            MembershipError::FrontierUnknown(author.to_hex())
                        });
                    }
                }
                Ok(())
            }
        }
    }
}
