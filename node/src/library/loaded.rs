//! The documents this node wrote last, kept loaded: a practitioner saves
//! the same record several times in a row (the web app's form, `practice
//! edit` again and again), and loading a document is most of a local
//! write's work (automerge's `load` rebuilds every change of the document
//! to hash it: about half of the node's CPU per edit, measured with
//! `perf`). An edit takes its document from here if it is the one stored,
//! and puts it back once its change is durable.
//!
//! A document held here is the stored one exactly when no write touched
//! its state since it was put: every store write of the library passes
//! `Library::write_part`, which drops the documents whose state
//! (`DOC`) the write touches ([`Loaded::forget_written`]); and a document
//! is put back only by the writer that holds the write lock, after its own
//! commit. Taking it also checks its heads against the stored state. Only
//! documents with no change waiting for a dependency are held (the
//! stored ones with one load from their changes, queue included).

use std::collections::VecDeque;
use std::sync::Mutex;

use automerge::AutoCommit;

use super::doc::heads_hex;
use crate::store::{keys, Write};

/// Documents held at most: by hand, holding them (edits of eight
/// practices of the demo data in turn) raised the node's peak RSS by 3-4
/// MiB.
const HELD: usize = 16;

/// The documents written last, least recent first.
#[derive(Default)]
pub(crate) struct Loaded(Mutex<VecDeque<Held>>);

struct Held {
    key: String,
    /// The document's heads as `DocState` stores them.
    heads: Vec<String>,
    doc: AutoCommit,
}

impl Loaded {
    /// The document `key` if held, with its heads (to check against the
    /// stored state's); it leaves the cache.
    pub fn take(&self, key: &str) -> Option<(Vec<String>, AutoCommit)> {
        let mut held = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let i = held.iter().position(|h| h.key == key)?;
        held.remove(i).map(|h| (h.heads, h.doc))
    }

    /// Hold `doc`, the state of `key` a commit just made durable (the
    /// caller holds the write lock). Not if a change of it waits for a
    /// dependency.
    pub fn put(&self, key: String, mut doc: AutoCommit) {
        if !doc.get_missing_deps(&[]).is_empty() {
            return;
        }
        let heads = heads_hex(&mut doc);
        let mut held = self.0.lock().unwrap_or_else(|e| e.into_inner());
        held.retain(|h| h.key != key);
        if held.len() >= HELD {
            held.pop_front();
        }
        held.push_back(Held { key, heads, doc });
    }

    /// Drop the documents whose state `writes` write (before the store
    /// takes them).
    pub fn forget_written(&self, writes: &[Write]) {
        let mut held = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if held.is_empty() {
            return;
        }
        let prefix = [keys::DOC, 0];
        for (k, _) in writes {
            if let Some(doc) = k.strip_prefix(&prefix[..]) {
                held.retain(|h| h.key.as_bytes() != doc);
            }
        }
    }

    /// How many documents are held (tests).
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}
