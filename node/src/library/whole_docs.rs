//! Serving whole documents to a peer that clones (`GetDocs`): each
//! document's snapshot with its stored changes, as a [`DocChunk`]: their
//! signatures only (version 1, what an asker of sync revision 4 or 2
//! asks for: read from the stored entries, with the stored snapshot
//! nothing is loaded), or with their envelopes (version 2, an asker of
//! revision 3; a detached change's bytes are rebuilt from the snapshot).
//! Either way only a document whose stored changes are exactly its
//! snapshot's travels whole.

use automerge::ChangeHash;

use r2com_protocol::envelope::{
    change_header, check_document, graph_heads, DocChanges, DocChunk, SignedChange,
    MAX_DOC_CHANGES, MAX_DOC_ENVELOPE_BYTES,
};
use r2com_protocol::ids::DocId;
use r2com_protocol::wire::doc_bucket;

use super::changes::Stored;
use super::{Library, LibraryError};
use crate::store::keys;

impl Library {
    /// Encoded document chunks of the documents in `buckets`, until about
    /// `max_bytes` are collected; with every change's envelope when
    /// `envelopes`. A document that cannot travel whole (a change waits
    /// for a dependency, or it is over the chunk's bounds) is left out:
    /// the asker's next round fetches its changes.
    pub fn get_docs(
        &self,
        buckets: &[u8],
        max_bytes: usize,
        envelopes: bool,
    ) -> Result<Vec<Vec<u8>>, LibraryError> {
        self.settle()?;
        let mut wanted = [false; 256];
        for b in buckets {
            wanted[*b as usize] = true;
        }
        let mut out = Vec::new();
        let mut size = 0;
        for k in self.store.scan_keys(&[keys::DOC, 0]) {
            let k = k?;
            let key = String::from_utf8_lossy(keys::rest(&k)).into_owned();
            if !wanted[doc_bucket(&key) as usize] {
                continue;
            }
            let Some(chunk) = self.doc_chunk(&key, envelopes)? else {
                continue;
            };
            size += chunk.len();
            out.push(chunk);
            if size > max_bytes {
                break;
            }
        }
        Ok(out)
    }

    /// One document whole: its snapshot if that is current and
    /// uncompressed, else saved anew from the document.
    fn doc_chunk(&self, key: &str, envelopes: bool) -> Result<Option<Vec<u8>>, LibraryError> {
        let Ok(doc) = DocId::parse(key) else {
            return Ok(None);
        };
        let Some(state) = self.doc_state(&doc)? else {
            return Ok(None);
        };
        let stored = self.store.get(&keys::doc(keys::SNAPSHOT, key))?;
        let current = stored.as_deref().and_then(|s| {
            let mut heads: Vec<String> = check_document(s).ok()?.iter().map(hex::encode).collect();
            heads.sort();
            (heads == state.heads).then_some(())
        });
        let document = match (current, stored) {
            (Some(()), Some(s)) => s,
            _ => {
                // Snapshots written before they were kept uncompressed, or
                // none (a document of one change from an older version).
                let Some(mut d) = self.load_doc(&doc)? else {
                    return Ok(None);
                };
                if !d.get_missing_deps(&[]).is_empty() {
                    return Ok(None);
                }
                let saved = d.save_nocompress();
                if check_document(&saved).is_err() {
                    return Ok(None);
                }
                saved
            }
        };
        let changes = if envelopes {
            // Whole: a detached change's bytes rebuilt from the snapshot.
            let all: Vec<Vec<u8>> = self
                .changes_of(&doc)?
                .into_iter()
                .map(|c| c.signed.encode())
                .collect();
            let bytes: usize = all.iter().map(Vec::len).sum();
            let mut graph = Vec::with_capacity(all.len());
            for e in &all {
                let corrupt = |e| LibraryError::Corrupt(format!("change of {key}: {e}"));
                let sc = SignedChange::decode(e).map_err(corrupt)?;
                let h = change_header(&sc.change).map_err(corrupt)?;
                graph.push((h.hash, h.deps));
            }
            if bytes > MAX_DOC_ENVELOPE_BYTES || !exactly(&graph, &state.heads) {
                return Ok(None);
            }
            DocChanges::Envelopes(all)
        } else {
            // The entries as stored: a detached one names its dependencies,
            // a whole one's are read from its header (no automerge).
            let stored = self.stored_of(key)?;
            let mut graph = Vec::with_capacity(stored.len());
            let mut signatures = Vec::with_capacity(stored.len());
            for (hash, s) in stored {
                let deps = match &s {
                    Stored::Detached { meta, .. } => {
                        meta.deps.iter().map(|d| ChangeHash(*d)).collect()
                    }
                    Stored::Whole(sc) => match change_header(&sc.change) {
                        Ok(h) if h.hash.0 == hash => h.deps,
                        _ => {
                            let why = format!("change {} of {key}", hex::encode(hash));
                            return Err(LibraryError::Corrupt(why));
                        }
                    },
                };
                graph.push((ChangeHash(hash), deps));
                signatures.push((hash, *s.signature()));
            }
            if !exactly(&graph, &state.heads) {
                return Ok(None);
            }
            DocChanges::Signatures(signatures)
        };
        Ok(Some(
            DocChunk {
                doc,
                document,
                changes,
            }
            .encode(),
        ))
    }
}

/// Whether a document's stored changes (hash, dependencies) are exactly
/// the changes of its state's `heads` (what the asker checks: none waits
/// for a dependency, none is listed twice), and within a chunk's bounds.
fn exactly(graph: &[(ChangeHash, Vec<ChangeHash>)], heads: &[String]) -> bool {
    if graph.len() > MAX_DOC_CHANGES {
        return false;
    }
    let Some(graph_heads) = graph_heads(graph.iter().map(|(h, d)| (h, d.as_slice()))) else {
        return false;
    };
    let mut graph_heads: Vec<String> = graph_heads.iter().map(|h| hex::encode(h.0)).collect();
    graph_heads.sort();
    graph_heads == heads
}
