//! Serving whole documents to a peer that clones (`GetDocs`): each
//! document's snapshot with its stored changes, as a [`DocChunk`]: with
//! their envelopes as stored (version 2, an asker of sync revision 3), or
//! their signatures only (version 1, an asker of revision 2).

use r2com_protocol::envelope::{
    change_header, check_document, graph_heads, DocChanges, DocChunk, SignedChange,
    MAX_DOC_CHANGES, MAX_DOC_ENVELOPE_BYTES,
};
use r2com_protocol::ids::DocId;
use r2com_protocol::wire::doc_bucket;

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
            if !self.holds_exactly(key, &all, &state.heads)? {
                return Ok(None);
            }
            DocChanges::Envelopes(all)
        } else {
            let signatures = self
                .stored_of(key)?
                .into_iter()
                .map(|(hash, stored)| (hash, *stored.signature()))
                .collect();
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

    /// Whether a document's stored envelopes are exactly the changes of
    /// its state's `heads` (what the asker checks: none waits for a
    /// dependency), and within a chunk's bounds.
    fn holds_exactly(
        &self,
        key: &str,
        envelopes: &[Vec<u8>],
        heads: &[String],
    ) -> Result<bool, LibraryError> {
        let bytes: usize = envelopes.iter().map(Vec::len).sum();
        if envelopes.len() > MAX_DOC_CHANGES || bytes > MAX_DOC_ENVELOPE_BYTES {
            return Ok(false);
        }
        let mut graph = Vec::with_capacity(envelopes.len());
        for e in envelopes {
            let corrupt = |e| LibraryError::Corrupt(format!("change of {key}: {e}"));
            let sc = SignedChange::decode(e).map_err(corrupt)?;
            let h = change_header(&sc.change).map_err(corrupt)?;
            graph.push((h.hash, h.deps));
        }
        let Some(graph_heads) = graph_heads(graph.iter().map(|(h, d)| (h, d.as_slice()))) else {
            return Ok(false);
        };
        let mut graph_heads: Vec<String> = graph_heads.iter().map(|h| hex::encode(h.0)).collect();
        graph_heads.sort();
        Ok(graph_heads == heads)
    }
}
