//! The roster as a graph: entries in a topological order, their depths, and
//! (for the entries that pass the cheap checks) which entries are in whose
//! causal past.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use super::entry::{EntryId, VerifiedEntry};

/// Entries whose dependencies are all present, in a topological order
/// (ready entries by depth, then id: the order only decides which of an
/// author's own concurrent entries count first against its bound).
pub(super) struct Dag<'a> {
    pub order: Vec<&'a VerifiedEntry>,
    /// Dependencies of each entry, as indices into `order` (all smaller).
    pub deps: Vec<Vec<usize>>,
    /// Length of the longest dependency chain from the genesis (which is 0).
    pub depth: Vec<u32>,
    pub index: HashMap<EntryId, usize>,
}

/// Order `entries` from the genesis `root`. Returns the graph and the ids
/// of entries waiting for a dependency (or not reachable from the root).
/// O(n log n).
pub(super) fn build<'a>(root: &EntryId, entries: &[&'a VerifiedEntry]) -> (Dag<'a>, Vec<EntryId>) {
    let by_id: HashMap<EntryId, &VerifiedEntry> = entries.iter().map(|e| (e.id, *e)).collect();
    let mut waiting: HashMap<EntryId, usize> = HashMap::with_capacity(by_id.len());
    let mut children: HashMap<EntryId, Vec<EntryId>> = HashMap::new();
    for (id, e) in &by_id {
        waiting.insert(*id, e.deps.len());
        for d in &e.deps {
            children.entry(*d).or_default().push(*id);
        }
    }
    let mut dag = Dag {
        order: Vec::with_capacity(by_id.len()),
        deps: Vec::with_capacity(by_id.len()),
        depth: Vec::with_capacity(by_id.len()),
        index: HashMap::with_capacity(by_id.len()),
    };
    let mut ready = BinaryHeap::new();
    if by_id.get(root).is_some_and(|g| g.deps.is_empty()) {
        ready.push(Reverse((0u32, *root)));
    }
    while let Some(Reverse((depth, id))) = ready.pop() {
        let e = by_id[&id];
        let i = dag.order.len();
        dag.deps.push(e.deps.iter().map(|d| dag.index[d]).collect());
        dag.order.push(e);
        dag.depth.push(depth);
        dag.index.insert(id, i);
        for c in children.get(&id).into_iter().flatten() {
            let n = waiting.get_mut(c).expect("child is known");
            *n -= 1;
            if *n == 0 {
                let d = by_id[c]
                    .deps
                    .iter()
                    .map(|d| dag.depth[dag.index[d]])
                    .max()
                    .unwrap_or(0);
                ready.push(Reverse((d + 1, *c)));
            }
        }
    }
    let mut pending: Vec<EntryId> = by_id
        .keys()
        .filter(|id| !dag.index.contains_key(id))
        .copied()
        .collect();
    pending.sort();
    (dag, pending)
}

impl<'a> Dag<'a> {
    /// The sub-graph of the entries `keep` marks (every kept entry's
    /// dependencies must be kept), in the same order.
    pub fn keep(&self, keep: &[bool]) -> Dag<'a> {
        let mut new_index = vec![usize::MAX; self.order.len()];
        let mut dag = Dag {
            order: Vec::new(),
            deps: Vec::new(),
            depth: Vec::new(),
            index: HashMap::new(),
        };
        for (i, e) in self.order.iter().enumerate() {
            if !keep[i] {
                continue;
            }
            let j = dag.order.len();
            new_index[i] = j;
            dag.order.push(e);
            dag.deps.push(
                self.deps[i]
                    .iter()
                    .map(|d| {
                        debug_assert!(keep[*d], "a kept entry depends on a dropped one");
                        new_index[*d]
                    })
                    .collect(),
            );
            dag.depth.push(self.depth[i]);
            dag.index.insert(e.id, j);
        }
        dag
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }
}

/// Which entries are in whose causal past: one bit row per entry. Built
/// only over the entries that passed the cheap checks (at most the
/// roster's bound, [`super::MAX_ROSTER_ENTRIES`]: 2 MiB), so its square
/// size is bounded whatever a peer sends.
pub(super) struct Ancestry {
    words: usize,
    bits: Vec<u64>,
}

impl Ancestry {
    pub fn build(dag: &Dag) -> Ancestry {
        let n = dag.len();
        let words = n.div_ceil(64);
        let mut bits = vec![0u64; n * words];
        for i in 0..n {
            let (done, row) = bits.split_at_mut(i * words);
            let row = &mut row[..words];
            for &d in &dag.deps[i] {
                row[d / 64] |= 1 << (d % 64);
                let drow = &done[d * words..(d + 1) * words];
                // Ancestors of `d` come before it: only its first words
                // can be set.
                for w in 0..=(d / 64) {
                    row[w] |= drow[w];
                }
            }
        }
        Ancestry { words, bits }
    }

    /// Whether `a` is `b` or in `b`'s causal past.
    pub fn le(&self, a: usize, b: usize) -> bool {
        a == b || (a < b && self.bits[b * self.words + a / 64] & (1 << (a % 64)) != 0)
    }

    /// Neither in the other's past.
    pub fn concurrent(&self, a: usize, b: usize) -> bool {
        !self.le(a, b) && !self.le(b, a)
    }
}
