//! A record's whole document as it travels in a clone ([`DocChunk`]): the
//! saved, uncompressed document and its changes' signatures. Loading a
//! saved document costs automerge a fraction of applying its changes one
//! by one, and the signatures still cover every change.
//!
//! Two versions. Version 2 (sync revision 3) carries every change's
//! signed envelope as the sender stores it: [`DocChunk::verify`] checks
//! each change's bytes and reads its header without automerge (hash from
//! the bytes, [`change_header`]), verifies each signature, proves that the
//! document holds exactly these changes from the change graph
//! ([`graph_heads`]), and only then loads the document (bounded by
//! [`check_document`] first). The envelopes are kept as received. Version
//! 1 carries (hash, signature) pairs: the loaded document's changes (from
//! automerge's change graph, whose hashes `load` computed from the
//! content; no change is rebuilt) must be exactly the signed ones. A
//! clone asks for version 1 (sync revision 4): the snapshot is the one
//! copy of the changes' bytes both nodes keep, so they need not travel.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};

use automerge::AutoCommit;

use super::chunk::change_header;
use super::doc_change::{graph_heads, ChangeBytes, DocChange};
use super::document::{check_document, MAX_DOC_LEN};
use super::{signing_message, EnvelopeError, Reader, Scope, SignedChange, MAX_ENVELOPE_LEN};
use crate::identity::{PublicKey, Signature, SIGNATURE_LEN};
use crate::ids::DocId;

/// Most changes (signatures) one document chunk may carry.
pub const MAX_DOC_CHANGES: usize = 65_536;
/// Most bytes of envelopes one document chunk may carry (version 2); a
/// document with more travels change by change.
pub const MAX_DOC_ENVELOPE_BYTES: usize = 16 * 1024 * 1024;
/// Largest encoded document chunk.
pub const MAX_DOC_CHUNK_LEN: usize =
    MAX_DOC_LEN + MAX_DOC_ENVELOPE_BYTES + MAX_DOC_CHANGES * (32 + SIGNATURE_LEN) + 512;

/// A document with its changes' signatures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocChunk {
    pub doc: DocId,
    /// The saved document (`save_nocompress`).
    pub document: Vec<u8>,
    pub changes: DocChanges,
}

/// How a document chunk carries its changes' signatures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DocChanges {
    /// Version 1: (change hash, its author's signature), one per change.
    Signatures(Vec<([u8; 32], Signature)>),
    /// Version 2: every change's encoded [`SignedChange`].
    Envelopes(Vec<Vec<u8>>),
}

/// A document chunk whose bytes, changes and signatures were all checked.
#[derive(Debug)]
pub struct VerifiedDoc {
    pub doc: DocId,
    /// The loaded document.
    pub document: AutoCommit,
    /// Its bytes (a snapshot of exactly these changes).
    pub bytes: Vec<u8>,
    /// Every change in it.
    pub changes: Vec<DocChange>,
}

impl DocChunk {
    /// `version u8 | doc-key len u8 | doc key | count u32 BE | count x item
    /// | document len u32 BE | document`, where an item is `hash 32 |
    /// signature 64` (version 1) or `envelope len u32 BE | envelope`
    /// (version 2).
    pub fn encode(&self) -> Vec<u8> {
        let key = self.doc.to_key();
        let (version, count, items) = match &self.changes {
            DocChanges::Signatures(s) => (1, s.len(), s.len() * (32 + SIGNATURE_LEN)),
            DocChanges::Envelopes(e) => (2, e.len(), e.iter().map(|e| 4 + e.len()).sum()),
        };
        let mut out = Vec::with_capacity(10 + key.len() + items + self.document.len());
        out.push(version);
        out.push(key.len() as u8);
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(&(count as u32).to_be_bytes());
        match &self.changes {
            DocChanges::Signatures(sigs) => {
                for (hash, sig) in sigs {
                    out.extend_from_slice(hash);
                    out.extend_from_slice(&sig.0);
                }
            }
            DocChanges::Envelopes(envelopes) => {
                for e in envelopes {
                    out.extend_from_slice(&(e.len() as u32).to_be_bytes());
                    out.extend_from_slice(e);
                }
            }
        }
        out.extend_from_slice(&(self.document.len() as u32).to_be_bytes());
        out.extend_from_slice(&self.document);
        out
    }

    /// Decode without trusting any length field.
    pub fn decode(bytes: &[u8]) -> Result<DocChunk, EnvelopeError> {
        if bytes.len() > MAX_DOC_CHUNK_LEN {
            return Err(EnvelopeError::Malformed("document chunk too large"));
        }
        let mut r = Reader(bytes);
        let version = r.u8()?;
        if version != 1 && version != 2 {
            return Err(EnvelopeError::Version(version));
        }
        let key_len = r.u8()? as usize;
        let key = std::str::from_utf8(r.take(key_len)?)
            .map_err(|_| EnvelopeError::Malformed("document id is not UTF-8"))?;
        let doc = DocId::parse(key)?;
        let count = r.u32()? as usize;
        if count > MAX_DOC_CHANGES {
            return Err(EnvelopeError::Malformed("too many signatures"));
        }
        let changes = if version == 1 {
            let mut sigs = Vec::with_capacity(count.min(r.0.len() / (32 + SIGNATURE_LEN)));
            for _ in 0..count {
                let hash: [u8; 32] = r.take(32)?.try_into().expect("32 bytes");
                let sig = Signature(r.take(SIGNATURE_LEN)?.try_into().expect("64 bytes"));
                sigs.push((hash, sig));
            }
            DocChanges::Signatures(sigs)
        } else {
            let mut envelopes = Vec::with_capacity(count.min(r.0.len() / 4));
            let mut total = 0;
            for _ in 0..count {
                let len = r.u32()? as usize;
                total += len;
                if len > MAX_ENVELOPE_LEN || total > MAX_DOC_ENVELOPE_BYTES {
                    return Err(EnvelopeError::Malformed("envelopes too large"));
                }
                envelopes.push(r.take(len)?.to_vec());
            }
            DocChanges::Envelopes(envelopes)
        };
        let len = r.u32()? as usize;
        if len > MAX_DOC_LEN {
            return Err(EnvelopeError::Malformed("document too large"));
        }
        let document = r.take(len)?.to_vec();
        if !r.0.is_empty() {
            return Err(EnvelopeError::Malformed("trailing bytes"));
        }
        Ok(DocChunk {
            doc,
            document,
            changes,
        })
    }

    /// Check everything: the bytes (before automerge sees them), that the
    /// document's changes are exactly the signed ones, and every signature
    /// (by the change's author, for this document and scope).
    pub fn verify(self, scope: &Scope) -> Result<VerifiedDoc, EnvelopeError> {
        check_document(&self.document)?;
        match self.changes {
            DocChanges::Envelopes(envelopes) => {
                verify_envelopes(self.doc, self.document, envelopes, scope)
            }
            DocChanges::Signatures(sigs) => verify_signatures(self.doc, self.document, sigs, scope),
        }
    }
}

/// Load a checked document, a panic in automerge contained.
fn load(document: &[u8]) -> Result<AutoCommit, EnvelopeError> {
    match catch_unwind(AssertUnwindSafe(|| AutoCommit::load(document))) {
        Ok(Ok(d)) => Ok(d),
        Ok(Err(e)) => Err(EnvelopeError::Parse(e.to_string())),
        Err(_) => Err(EnvelopeError::Parse(
            "automerge panicked loading the document".into(),
        )),
    }
}

/// Version 2: every envelope of this document, its change's bytes checked
/// and its signature verified; the change graph whole and its heads the
/// document's (see [`graph_heads`]); then the document loaded (automerge
/// recomputes its change hashes and checks its heads).
fn verify_envelopes(
    doc: DocId,
    document: Vec<u8>,
    envelopes: Vec<Vec<u8>>,
    scope: &Scope,
) -> Result<VerifiedDoc, EnvelopeError> {
    if envelopes.is_empty() {
        return Err(EnvelopeError::ChangesMismatch);
    }
    let mut changes = Vec::with_capacity(envelopes.len());
    for envelope in envelopes {
        let signed = SignedChange::decode(&envelope)?;
        if signed.doc != doc {
            return Err(EnvelopeError::ChangesMismatch);
        }
        let header = change_header(&signed.change)?;
        let author = PublicKey::from_bytes(&header.actor).map_err(EnvelopeError::Author)?;
        author
            .verify(
                &signing_message(scope, &doc, &header.hash),
                &signed.signature,
            )
            .map_err(|_| EnvelopeError::BadSignature)?;
        changes.push(DocChange {
            signature: signed.signature,
            bytes: ChangeBytes::Envelope(envelope),
            author,
            hash: header.hash,
            seq: header.seq,
            time: header.time,
            deps: header.deps,
        });
    }
    let heads = graph_heads(changes.iter().map(|c| (&c.hash, c.deps.as_slice())))
        .ok_or(EnvelopeError::ChangesMismatch)?;
    let mut d = load(&document)?;
    if d.get_heads() != heads {
        return Err(EnvelopeError::ChangesMismatch);
    }
    Ok(VerifiedDoc {
        doc,
        document: d,
        bytes: document,
        changes,
    })
}

/// Version 1: the changes of the loaded document must be exactly the
/// signed ones, each signed by its author. Their hashes, authors and
/// dependencies come from automerge's change graph (`get_changes_meta`):
/// `load` computed every hash from the document's content (it rebuilds
/// each change to hash it, then checks the document's heads against the
/// hashes it computed), so no change's bytes are rebuilt again here.
fn verify_signatures(
    doc: DocId,
    document: Vec<u8>,
    signatures: Vec<([u8; 32], Signature)>,
    scope: &Scope,
) -> Result<VerifiedDoc, EnvelopeError> {
    let mut d = load(&document)?;
    let metas = catch_unwind(AssertUnwindSafe(|| {
        d.get_changes_meta(&[])
            .into_iter()
            .map(|m| {
                let actor = m.actor.to_bytes().to_vec();
                (m.hash, actor, m.seq, m.timestamp, m.deps)
            })
            .collect::<Vec<_>>()
    }))
    .map_err(|_| EnvelopeError::Parse("automerge panicked listing the changes".into()))?;
    if metas.is_empty() || metas.len() != signatures.len() {
        return Err(EnvelopeError::ChangesMismatch);
    }
    let mut sigs: HashMap<[u8; 32], Signature> = signatures.into_iter().collect();
    let mut out = Vec::with_capacity(metas.len());
    for (hash, actor, seq, time, deps) in metas {
        // A change not signed, or a hash listed twice (then another change
        // lacks its signature): not exactly the signed changes.
        let signature = sigs.remove(&hash.0).ok_or(EnvelopeError::ChangesMismatch)?;
        let author = PublicKey::from_bytes(&actor).map_err(EnvelopeError::Author)?;
        author
            .verify(&signing_message(scope, &doc, &hash), &signature)
            .map_err(|_| EnvelopeError::BadSignature)?;
        out.push(DocChange {
            signature,
            bytes: ChangeBytes::InDocument,
            author,
            hash,
            seq,
            time,
            deps,
        });
    }
    Ok(VerifiedDoc {
        doc,
        document: d,
        bytes: document,
        changes: out,
    })
}
