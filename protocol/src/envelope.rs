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

use std::panic::{catch_unwind, AssertUnwindSafe};

use automerge::{Change, ChangeHash};

use crate::identity::{KeyError, NodeKey, PublicKey, Signature, SIGNATURE_LEN};
use crate::ids::{DocId, DocIdError};

/// Domain-separation prefix of every change signature.
pub const CHANGE_DOMAIN: &[u8] = b"r2com/change/v1\0";
/// Largest change chunk accepted (a record's document changes are small; a
/// big import of one practice's body is a few tens of KB).
pub const MAX_CHANGE_LEN: usize = 4 * 1024 * 1024;
/// Largest encoded envelope.
pub const MAX_ENVELOPE_LEN: usize = MAX_CHANGE_LEN + 512;
/// Envelope encoding version.
const ENVELOPE_VERSION: u8 = 1;
/// automerge's chunk magic bytes and the type of an uncompressed change.
const AUTOMERGE_MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
const CHUNK_TYPE_CHANGE: u8 = 1;

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

/// Parse an automerge change chunk from untrusted bytes: size and chunk type
/// first, then automerge's parser with any panic contained.
pub fn parse_change(bytes: &[u8]) -> Result<Change, EnvelopeError> {
    if bytes.len() > MAX_CHANGE_LEN {
        return Err(EnvelopeError::Malformed("change chunk too large"));
    }
    if bytes.len() < 10 || bytes[..4] != AUTOMERGE_MAGIC || bytes[8] != CHUNK_TYPE_CHANGE {
        return Err(EnvelopeError::NotAChange);
    }
    if !strings_fit_their_columns(bytes) {
        return Err(EnvelopeError::Parse(
            "a string runs past the end of its column".into(),
        ));
    }
    match catch_unwind(AssertUnwindSafe(|| Change::try_from(bytes))) {
        // automerge does not check the header checksum (the first four bytes
        // of the change hash); a chunk whose header lies is refused.
        Ok(Ok(change)) if change.hash().0[..4] == bytes[4..8] => Ok(change),
        Ok(Ok(_)) => Err(EnvelopeError::Parse("chunk checksum does not match".into())),
        Ok(Err(e)) => Err(EnvelopeError::Parse(e.to_string())),
        Err(_) => Err(EnvelopeError::Parse("automerge panicked".into())),
    }
}

/// automerge 0.12 reads a string of a change's op columns (keys, mark
/// names) by allocating the length its prefix claims, up to 1e9 bytes,
/// *before* it checks that the column holds that many bytes: a 200-byte
/// change made it allocate 934 MiB (fuzz target `signed_change`, regression
/// input `protocol/tests/fuzz-corpus/signed_change/oom-string-length`).
/// So walk the chunk as automerge will (header, then every string column,
/// type 5, the way its `RleDecoder<SmolStr>` reads it, with the same LEB128
/// decoding) and refuse a string whose length runs past its column. A chunk
/// whose header this walk cannot follow is refused as well: automerge would
/// refuse it too, or it uses encodings automerge's writer never produces.
fn strings_fit_their_columns(chunk: &[u8]) -> bool {
    fn uleb(r: &mut &[u8]) -> Option<u64> {
        leb128::read::unsigned(r).ok()
    }
    fn take<'a>(r: &mut &'a [u8], n: u64) -> Option<&'a [u8]> {
        let n = usize::try_from(n).ok().filter(|n| *n <= r.len())?;
        let (head, rest) = r.split_at(n);
        *r = rest;
        Some(head)
    }
    /// One string column: runs of a signed count, then one string
    /// (count > 0), -count strings (count < 0) or a null count (0). Where
    /// automerge's read would fail the walk stops: nothing was allocated.
    fn column_fits(mut col: &[u8]) -> bool {
        let r = &mut col;
        while !r.is_empty() {
            let Ok(count) = leb128::read::signed(r) else {
                return true;
            };
            let strings = match count {
                1.. => 1,
                ..0 => count.unsigned_abs(),
                0 => match uleb(r) {
                    Some(_) => 0,
                    None => return true,
                },
            };
            // Each string takes at least one byte: bounded by the column.
            for _ in 0..strings {
                let Some(len) = uleb(r) else {
                    return true;
                };
                if take(r, len).is_none() {
                    return false;
                }
            }
        }
        true
    }
    let walk = || -> Option<bool> {
        // magic, checksum, chunk type; then the chunk length and its data.
        let mut r = &chunk[9..];
        let len = uleb(&mut r)?;
        let r = &mut take(&mut r, len)?;
        // Every loop below takes at least one byte per round or stops.
        for _ in 0..uleb(r)? {
            take(r, 32)?; // dependency hashes
        }
        let actor = uleb(r)?;
        take(r, actor)?;
        uleb(r)?; // seq
        uleb(r)?; // start op
        leb128::read::signed(r).ok()?; // time
        let message = uleb(r)?;
        take(r, message)?;
        for _ in 0..uleb(r)? {
            let actor = uleb(r)?; // other actors
            take(r, actor)?;
        }
        let mut columns = Vec::new();
        for _ in 0..uleb(r)? {
            columns.push((uleb(r)?, uleb(r)?)); // (spec, length)
        }
        // The columns' data follow one another in their listed order.
        for (spec, len) in columns {
            let data = take(r, len)?;
            if spec & 0b111 == 5 && !column_fits(data) {
                return Some(false);
            }
        }
        Some(true)
    };
    walk().unwrap_or(false)
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc;
    use crate::record::tests::sample_practice;

    fn signed() -> (NodeKey, SignedChange) {
        let key = NodeKey::from_seed([1; 32]);
        let p = sample_practice("p-1");
        let (_, change) = doc::create(&key, &p.clone().into(), 1000).unwrap();
        let s = SignedChange::sign(&key, &Scope::UNAFFILIATED, &p.doc_id(), change);
        (key, s)
    }

    #[test]
    fn string_column_walk_accepts_real_changes_and_refuses_overlong_strings() {
        use automerge::marks::{ExpandMark, Mark};
        use automerge::transaction::Transactable;
        use automerge::{AutoCommit, ObjType, ROOT};
        // Keys of every LEB128 length class, repeated and literal runs,
        // list elements (null keys), text and a mark (mark-name column).
        let mut d = AutoCommit::new();
        for i in 0..40 {
            d.put(ROOT, format!("k{i}"), i as i64).unwrap();
        }
        d.put(ROOT, "x".repeat(200), "long key").unwrap();
        d.put(ROOT, "é".repeat(9000), "key over 16 KiB").unwrap();
        let list = d.put_object(ROOT, "list", ObjType::List).unwrap();
        for i in 0..5 {
            d.insert(&list, i, "item").unwrap();
        }
        let text = d.put_object(ROOT, "text", ObjType::Text).unwrap();
        d.splice_text(&text, 0, 0, "hello world").unwrap();
        d.mark(
            &text,
            Mark::new("bold".into(), true, 0, 5),
            ExpandMark::After,
        )
        .unwrap();
        d.commit();
        let change = d.get_last_local_change().unwrap().raw_bytes().to_vec();
        assert!(strings_fit_their_columns(&change));
        assert!(parse_change(&change).is_ok());
        assert!(strings_fit_their_columns(&signed().1.change));

        // A one-key change whose key claims 127 bytes where its column has
        // one left (the fuzzer's input claimed 934 MiB): refused by the walk,
        // before automerge allocates. Same size, so only the string is off.
        let mut d = AutoCommit::new().with_actor(automerge::ActorId::from([0u8; 16]));
        d.put(ROOT, "k", 1).unwrap();
        d.commit();
        let mut bad = d.get_last_local_change().unwrap().raw_bytes().to_vec();
        assert!(strings_fit_their_columns(&bad));
        let pos = bad.windows(2).position(|w| w == b"\x01k").unwrap();
        bad[pos] = 0x7f;
        assert!(!strings_fit_their_columns(&bad));
        assert!(matches!(parse_change(&bad), Err(EnvelopeError::Parse(_))));
    }

    #[test]
    fn round_trip_and_verify() {
        let (key, s) = signed();
        let decoded = SignedChange::decode(&s.encode()).unwrap();
        assert_eq!(decoded, s);
        let v = decoded.verify(&Scope::UNAFFILIATED).unwrap();
        assert_eq!(v.author, key.public());
    }

    #[test]
    fn signature_is_bound_to_document_and_scope() {
        let (_, s) = signed();
        assert_eq!(
            s.verify(&Scope([7; 32])).unwrap_err(),
            EnvelopeError::BadSignature
        );
        let mut moved = s.clone();
        moved.doc = DocId::parse("practice/p-2").unwrap();
        assert_eq!(
            moved.verify(&Scope::UNAFFILIATED).unwrap_err(),
            EnvelopeError::BadSignature
        );
    }

    #[test]
    fn tampering_is_detected() {
        let (_, s) = signed();
        for i in 0..s.change.len() {
            let mut t = s.clone();
            t.change[i] ^= 0x40;
            assert!(t.verify(&Scope::UNAFFILIATED).is_err(), "byte {i} flipped");
        }
        let mut t = s.clone();
        t.signature.0[5] ^= 1;
        assert!(t.verify(&Scope::UNAFFILIATED).is_err());
    }

    #[test]
    fn hostile_lengths_do_not_allocate() {
        let mut bytes = vec![ENVELOPE_VERSION, 9];
        bytes.extend_from_slice(b"event/e-1");
        bytes.extend_from_slice(&[0; 64]);
        bytes.extend_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(
            SignedChange::decode(&bytes),
            Err(EnvelopeError::Malformed(_))
        ));
        for n in 0..bytes.len() {
            assert!(SignedChange::decode(&bytes[..n]).is_err());
        }
    }

    #[test]
    fn compressed_and_garbage_chunks_are_refused() {
        let mut chunk = AUTOMERGE_MAGIC.to_vec();
        chunk.extend_from_slice(&[0, 0, 0, 0, 2, 5, 1, 2, 3, 4, 5]);
        assert_eq!(parse_change(&chunk).unwrap_err(), EnvelopeError::NotAChange);
        chunk[8] = CHUNK_TYPE_CHANGE;
        assert!(matches!(parse_change(&chunk), Err(EnvelopeError::Parse(_))));
    }
}
