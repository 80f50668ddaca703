//! Signed change envelopes.
//!
//! Every change to a record's document is an automerge change whose actor id
//! is its author's 32-byte public key, carried in a [`SignedChange`]: the
//! document id, the raw (uncompressed) change chunk, and an ed25519
//! signature over a domain-separated message that binds the change hash to
//! its document and to the consortium ([`Scope`]). A signature therefore
//! cannot be replayed onto another document or into another consortium.
//!
//! [`SignedChange::verify`] is the only way to get at a change from the
//! outside: it checks sizes and the chunk type *before* automerge parses
//! anything (compressed chunks are refused, so no deflate bomb reaches
//! automerge), contains a panic in automerge's parser, and hands out a
//! [`VerifiedChange`] only once the signature verifies strictly.
//!
//! [`chunk`] checks the change bytes themselves before automerge's parser
//! sees them; [`document`] does the same for whole documents, which travel
//! in a clone as [`DocChunk`]s (`doc_chunk`).

mod chunk;
mod doc_change;
mod doc_chunk;
#[cfg(test)]
mod doc_tests;
#[cfg(test)]
mod doc_v1_tests;
#[cfg(test)]
mod doc_v2_tests;
mod document;
#[cfg(test)]
mod tests;

use automerge::{Change, ChangeHash};

use crate::identity::{KeyError, NodeKey, PublicKey, Signature, SIGNATURE_LEN};
use crate::ids::{DocId, DocIdError};

pub use chunk::{change_header, parse_change, ChangeHeader};
pub use doc_change::{graph_heads, ChangeBytes, DocChange};
pub use doc_chunk::{
    DocChanges, DocChunk, VerifiedDoc, MAX_DOC_CHANGES, MAX_DOC_CHUNK_LEN, MAX_DOC_ENVELOPE_BYTES,
};
pub use document::{check_document, MAX_DOC_LEN, MAX_DOC_ROWS};

/// Domain-separation prefix of every change signature.
pub const CHANGE_DOMAIN: &[u8] = b"r2com/change/v1\0";
/// Largest change chunk accepted (a record's document changes are small; a
/// big import of one practice's body is a few tens of KB).
pub const MAX_CHANGE_LEN: usize = 4 * 1024 * 1024;
/// Largest encoded envelope.
pub const MAX_ENVELOPE_LEN: usize = MAX_CHANGE_LEN + 512;
/// Envelope encoding version.
const ENVELOPE_VERSION: u8 = 1;

/// The consortium a change belongs to: the consortium id, or all zeros for a
/// node that has not founded or joined one yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Scope(pub [u8; 32]);

impl Scope {
    /// The scope of a node outside any consortium.
    pub const UNAFFILIATED: Scope = Scope([0; 32]);
}

/// A change with its document id and its author's signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedChange {
    /// The document the change belongs to.
    pub doc: DocId,
    /// The raw, uncompressed automerge change chunk.
    pub change: Vec<u8>,
    /// The author's signature over [`signing_message`].
    pub signature: Signature,
}

/// A change whose envelope, chunk and signature have all been checked.
#[derive(Debug)]
pub struct VerifiedChange {
    pub doc: DocId,
    pub author: PublicKey,
    pub hash: ChangeHash,
    pub change: Change,
}

/// Why an envelope was refused. Every variant means: apply nothing, and if
/// it came from a peer, that peer sent invalid data.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EnvelopeError {
    /// Shorter than its fields say, or longer than a field allows.
    #[error("malformed envelope: {0}")]
    Malformed(&'static str),
    #[error("envelope version {0} is not supported")]
    Version(u8),
    #[error("document id: {0}")]
    DocId(#[from] DocIdError),
    /// Compressed chunks, documents and bundles are refused before automerge
    /// sees them.
    #[error("not an uncompressed automerge change chunk")]
    NotAChange,
    /// Not one uncompressed document chunk, or a column over its bounds.
    #[error("not an uncompressed, bounded automerge document chunk")]
    NotADocument,
    /// A document's changes are not exactly the signed ones.
    #[error("the document's changes are not exactly the signed changes")]
    ChangesMismatch,
    /// automerge could not parse the chunk (or its checksum is wrong).
    #[error("automerge change does not parse: {0}")]
    Parse(String),
    /// The change's actor id is not a 32-byte, valid, non-weak public key.
    #[error("change author: {0}")]
    Author(KeyError),
    /// The signature does not verify for this change, document and scope.
    #[error("signature does not verify for this change, document and consortium")]
    BadSignature,
}

/// The bytes a change signature covers.
pub fn signing_message(scope: &Scope, doc: &DocId, hash: &ChangeHash) -> Vec<u8> {
    let key = doc.to_key();
    let mut m = Vec::with_capacity(CHANGE_DOMAIN.len() + 32 + 1 + key.len() + 32);
    m.extend_from_slice(CHANGE_DOMAIN);
    m.extend_from_slice(&scope.0);
    m.push(key.len() as u8);
    m.extend_from_slice(key.as_bytes());
    m.extend_from_slice(&hash.0);
    m
}

impl SignedChange {
    /// Sign a change made by `key` (its actor id must be `key`'s public key).
    pub fn sign(key: &NodeKey, scope: &Scope, doc: &DocId, change: Change) -> SignedChange {
        debug_assert_eq!(change.actor_id().to_bytes(), key.public().to_bytes());
        let signature = key.sign(&signing_message(scope, doc, &change.hash()));
        SignedChange {
            doc: doc.clone(),
            change: change.raw_bytes().to_vec(),
            signature,
        }
    }

    /// Check everything and hand out the change.
    pub fn verify(&self, scope: &Scope) -> Result<VerifiedChange, EnvelopeError> {
        let change = parse_change(&self.change)?;
        let author =
            PublicKey::from_bytes(change.actor_id().to_bytes()).map_err(EnvelopeError::Author)?;
        let hash = change.hash();
        author
            .verify(&signing_message(scope, &self.doc, &hash), &self.signature)
            .map_err(|_| EnvelopeError::BadSignature)?;
        Ok(VerifiedChange {
            doc: self.doc.clone(),
            author,
            hash,
            change,
        })
    }

    /// Binary encoding, used in the store and on the wire:
    /// `version u8 | doc-key len u8 | doc key | signature 64 | change len u32 BE | change`.
    pub fn encode(&self) -> Vec<u8> {
        let key = self.doc.to_key();
        let mut out = Vec::with_capacity(2 + key.len() + SIGNATURE_LEN + 4 + self.change.len());
        out.push(ENVELOPE_VERSION);
        out.push(key.len() as u8);
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(&self.signature.0);
        out.extend_from_slice(&(self.change.len() as u32).to_be_bytes());
        out.extend_from_slice(&self.change);
        out
    }

    /// Decode without trusting any length field: every length is checked
    /// against the bytes present and the limits before anything is copied.
    pub fn decode(bytes: &[u8]) -> Result<SignedChange, EnvelopeError> {
        if bytes.len() > MAX_ENVELOPE_LEN {
            return Err(EnvelopeError::Malformed("envelope too large"));
        }
        let mut r = Reader(bytes);
        let version = r.u8()?;
        if version != ENVELOPE_VERSION {
            return Err(EnvelopeError::Version(version));
        }
        let key_len = r.u8()? as usize;
        let key = std::str::from_utf8(r.take(key_len)?)
            .map_err(|_| EnvelopeError::Malformed("document id is not UTF-8"))?;
        let doc = DocId::parse(key)?;
        let signature = Signature(r.take(SIGNATURE_LEN)?.try_into().expect("64 bytes"));
        let change_len = u32::from_be_bytes(r.take(4)?.try_into().expect("4 bytes")) as usize;
        if change_len > MAX_CHANGE_LEN {
            return Err(EnvelopeError::Malformed("change chunk too large"));
        }
        let change = r.take(change_len)?.to_vec();
        if !r.0.is_empty() {
            return Err(EnvelopeError::Malformed("trailing bytes"));
        }
        Ok(SignedChange {
            doc,
            change,
            signature,
        })
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], EnvelopeError> {
        if self.0.len() < n {
            return Err(EnvelopeError::Malformed("truncated"));
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, EnvelopeError> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<u32, EnvelopeError> {
        Ok(u32::from_be_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }
}
