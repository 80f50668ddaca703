//! A record's whole document as it travels in a clone ([`DocChunk`]): the
//! saved, uncompressed document and the signature of every change in it.
//! Loading a saved document costs automerge a fraction of applying its
//! changes one by one, and the signatures still cover every change:
//! [`DocChunk::verify`] checks the bytes before automerge loads them
//! ([`check_document`]), then that the document's changes are exactly the
//! signed ones and every signature verifies, and hands out the changes as
//! signed envelopes, as if they had come one by one.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};

use automerge::AutoCommit;

use super::document::{check_document, MAX_DOC_LEN};
use super::{signing_message, EnvelopeError, Reader, Scope, SignedChange, VerifiedChange};
use crate::identity::{PublicKey, Signature, SIGNATURE_LEN};
use crate::ids::DocId;

/// Most changes (signatures) one document chunk may carry.
pub const MAX_DOC_CHANGES: usize = 65_536;
/// Largest encoded document chunk.
pub const MAX_DOC_CHUNK_LEN: usize = MAX_DOC_LEN + MAX_DOC_CHANGES * (32 + SIGNATURE_LEN) + 512;
/// Document chunk encoding version.
const DOC_CHUNK_VERSION: u8 = 1;

/// A document with the signatures of its changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocChunk {
    pub doc: DocId,
    /// The saved document (`save_nocompress`).
    pub document: Vec<u8>,
    /// (change hash, its author's signature), one per change.
    pub signatures: Vec<([u8; 32], Signature)>,
}

/// A document chunk whose bytes, changes and signatures were all checked.
#[derive(Debug)]
pub struct VerifiedDoc {
    pub doc: DocId,
    /// The loaded document.
    pub document: AutoCommit,
    /// Its bytes (a snapshot of exactly these changes).
    pub bytes: Vec<u8>,
    /// Every change in it, as an envelope and what verifying it found.
    pub changes: Vec<(SignedChange, VerifiedChange)>,
}

impl DocChunk {
    /// `version u8 | doc-key len u8 | doc key | count u32 BE |
    /// count x (hash 32 | signature 64) | document len u32 BE | document`.
    pub fn encode(&self) -> Vec<u8> {
        let key = self.doc.to_key();
        let sigs = self.signatures.len() * (32 + SIGNATURE_LEN);
        let mut out = Vec::with_capacity(10 + key.len() + sigs + self.document.len());
        out.push(DOC_CHUNK_VERSION);
        out.push(key.len() as u8);
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(&(self.signatures.len() as u32).to_be_bytes());
        for (hash, sig) in &self.signatures {
            out.extend_from_slice(hash);
            out.extend_from_slice(&sig.0);
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
        if version != DOC_CHUNK_VERSION {
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
        let mut signatures = Vec::with_capacity(count.min(r.0.len() / (32 + SIGNATURE_LEN)));
        for _ in 0..count {
            let hash: [u8; 32] = r.take(32)?.try_into().expect("32 bytes");
            let sig = Signature(r.take(SIGNATURE_LEN)?.try_into().expect("64 bytes"));
            signatures.push((hash, sig));
        }
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
            signatures,
        })
    }

    /// Check everything: the bytes (before automerge sees them), the load,
    /// that the document's changes are exactly the signed ones, and every
    /// signature (by the change's author, for this document and scope).
    pub fn verify(self, scope: &Scope) -> Result<VerifiedDoc, EnvelopeError> {
        check_document(&self.document)?;
        let contained = |what: &str| EnvelopeError::Parse(format!("automerge panicked {what}"));
        let mut d = match catch_unwind(AssertUnwindSafe(|| AutoCommit::load(&self.document))) {
            Ok(Ok(d)) => d,
            Ok(Err(e)) => return Err(EnvelopeError::Parse(e.to_string())),
            Err(_) => return Err(contained("loading the document")),
        };
        let changes = catch_unwind(AssertUnwindSafe(|| d.get_changes(&[])))
            .map_err(|_| contained("listing the changes"))?;
        if changes.is_empty() || changes.len() != self.signatures.len() {
            return Err(EnvelopeError::ChangesMismatch);
        }
        let mut sigs: HashMap<[u8; 32], Signature> = self.signatures.into_iter().collect();
        let mut out = Vec::with_capacity(changes.len());
        for change in changes {
            let hash = change.hash();
            // A change not signed, or a hash listed twice: not exactly the
            // signed changes.
            let signature = sigs.remove(&hash.0).ok_or(EnvelopeError::ChangesMismatch)?;
            let author = PublicKey::from_bytes(change.actor_id().to_bytes())
                .map_err(EnvelopeError::Author)?;
            author
                .verify(&signing_message(scope, &self.doc, &hash), &signature)
                .map_err(|_| EnvelopeError::BadSignature)?;
            let signed = SignedChange {
                doc: self.doc.clone(),
                change: change.raw_bytes().to_vec(),
                signature,
            };
            let verified = VerifiedChange {
                doc: self.doc.clone(),
                author,
                hash,
                change,
            };
            out.push((signed, verified));
        }
        Ok(VerifiedDoc {
            doc: self.doc,
            document: d,
            bytes: self.document,
            changes: out,
        })
    }
}
