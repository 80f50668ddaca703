//! Version 2 document chunks (every change's envelope): the changes are
//! checked from their bytes, without automerge, and the document must
//! hold exactly them. Each way a member could lie is refused.

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ReadDoc, ROOT};

use super::*;
use crate::doc::{self, actor_for};
use crate::record::tests::sample_practice;

const SCOPE: Scope = Scope([7; 32]);

/// A history with two authors and two heads: `a` creates the practice
/// (c0) and edits it (c1); then `b` (from c1) and `a` edit concurrently
/// (c2, c3), merged. Returns the merged document, the signed changes in
/// order, and the id.
pub(super) fn history() -> (AutoCommit, Vec<SignedChange>, DocId) {
    let (a, b) = (NodeKey::from_seed([1; 32]), NodeKey::from_seed([2; 32]));
    let p = sample_practice("p-1");
    let id = p.doc_id();
    let (mut d, c0) = doc::create(&a, &p.into(), 1000).unwrap();
    let mut signed = vec![SignedChange::sign(&a, &SCOPE, &id, c0)];
    d.put(ROOT, "title", "Mentoring in the community").unwrap();
    d.commit();
    let c1 = d.get_last_local_change().unwrap();
    signed.push(SignedChange::sign(&a, &SCOPE, &id, c1));
    let mut other = d.fork().with_actor(actor_for(&b));
    other.put(ROOT, "summary", "Weekly talks").unwrap();
    other.commit();
    let c2 = other.get_last_local_change().unwrap();
    signed.push(SignedChange::sign(&b, &SCOPE, &id, c2));
    d.put(ROOT, "title", "Mentoring after prison").unwrap();
    d.commit();
    let c3 = d.get_last_local_change().unwrap();
    signed.push(SignedChange::sign(&a, &SCOPE, &id, c3));
    d.merge(&mut other).unwrap();
    let hashes: std::collections::HashSet<_> = signed
        .iter()
        .map(|s| change_header(&s.change).unwrap().hash)
        .collect();
    assert_eq!(hashes.len(), 4, "four distinct changes");
    (d, signed, id)
}

/// A document whose history has an unsigned change between its two
/// signed ones (a created record, then an unsigned title, then a signed
/// one), with those two signed changes.
pub(super) fn unsigned_inside() -> (AutoCommit, Vec<SignedChange>, DocId) {
    let a = NodeKey::from_seed([1; 32]);
    let p = sample_practice("p-2");
    let id = p.doc_id();
    let (mut d, c0) = doc::create(&a, &p.into(), 1000).unwrap();
    let first = SignedChange::sign(&a, &SCOPE, &id, c0);
    d.put(ROOT, "title", "Unsigned").unwrap();
    d.commit();
    d.put(ROOT, "title", "Signed again").unwrap();
    d.commit();
    let last = SignedChange::sign(&a, &SCOPE, &id, d.get_last_local_change().unwrap());
    (d, vec![first, last], id)
}

fn chunk(id: &DocId, document: Vec<u8>, changes: &[SignedChange]) -> DocChunk {
    DocChunk {
        doc: id.clone(),
        document,
        changes: DocChanges::Envelopes(changes.iter().map(SignedChange::encode).collect()),
    }
}

fn refused(c: DocChunk) -> EnvelopeError {
    c.verify(&SCOPE).expect_err("refused")
}

#[test]
fn a_version_2_chunk_round_trips_and_keeps_the_envelopes_as_sent() {
    let (mut d, signed, id) = history();
    assert_eq!(d.get_heads().len(), 2);
    let c = chunk(&id, d.save_nocompress(), &signed);
    let decoded = DocChunk::decode(&c.encode()).unwrap();
    assert_eq!(decoded, c);
    let mut v = decoded.verify(&SCOPE).unwrap();
    assert_eq!(v.changes.len(), 4);
    let parsed = DocChange::all_parsed(&v.changes, &id, &mut v.document).unwrap();
    for ((got, sent), p) in v.changes.iter().zip(&signed).zip(parsed) {
        // Byte for byte what was sent, and what automerge reads from it.
        assert_eq!(got.envelope(), Some(sent.encode().as_slice()));
        assert_eq!(got.signature, sent.signature);
        let parsed = parse_change(&sent.change).unwrap();
        assert_eq!(got.hash, parsed.hash());
        assert_eq!(got.seq, parsed.seq());
        assert_eq!(got.deps, parsed.deps());
        assert_eq!(got.author.to_bytes(), parsed.actor_id().to_bytes());
        assert_eq!(p.0, *sent);
    }
    let mut loaded = v.document;
    assert_eq!(loaded.get_heads(), d.get_heads());
    assert_eq!(
        loaded.get(ROOT, "summary").unwrap().unwrap().0.to_string(),
        d.get(ROOT, "summary").unwrap().unwrap().0.to_string()
    );
}

#[test]
fn a_header_read_without_automerge_is_automerges() {
    let (_, signed, _) = history();
    for s in &signed {
        let h = change_header(&s.change).unwrap();
        let c = parse_change(&s.change).unwrap();
        assert_eq!(h.hash, c.hash());
        assert_eq!((h.seq, h.deps.as_slice()), (c.seq(), c.deps()));
        assert_eq!(h.actor, c.actor_id().to_bytes());
    }
    let bytes = &signed[1].change;
    // A byte after the chunk.
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert!(matches!(
        change_header(&trailing),
        Err(EnvelopeError::Parse(_))
    ));
    // The length written with a padding byte: automerge would hash the
    // change as if it were written without.
    let mut r = &bytes[9..];
    let len = leb128::read::unsigned(&mut r).unwrap();
    let mut padded = bytes[..9].to_vec();
    padded.extend_from_slice(&[(len as u8 & 0x7f) | 0x80, (len >> 7) as u8 | 0x80, 0]);
    assert!(len < 1 << 14);
    padded.extend_from_slice(r);
    assert!(matches!(
        change_header(&padded),
        Err(EnvelopeError::Parse(_))
    ));
    // A byte of the data changed: the checksum no longer matches.
    let mut flipped = bytes.clone();
    *flipped.last_mut().unwrap() ^= 1;
    assert!(matches!(
        change_header(&flipped),
        Err(EnvelopeError::Parse(_))
    ));
    // Not a change chunk.
    let mut compressed = bytes.clone();
    compressed[8] = 2;
    assert_eq!(change_header(&compressed), Err(EnvelopeError::NotAChange));
}

#[test]
fn a_snapshot_with_an_extra_unsigned_change_is_refused() {
    let (mut d, signed, id) = history();
    // An extra change at the head, not shipped.
    d.put(ROOT, "title", "Unsigned").unwrap();
    d.commit();
    assert_eq!(
        refused(chunk(&id, d.save_nocompress(), &signed)),
        EnvelopeError::ChangesMismatch
    );
    // An extra change inside the history: a shipped change depends on it.
    let (mut d, signed, id) = unsigned_inside();
    assert_eq!(
        refused(chunk(&id, d.save_nocompress(), &signed)),
        EnvelopeError::ChangesMismatch
    );
}

#[test]
fn a_missing_or_duplicated_change_is_refused() {
    let (mut d, signed, id) = history();
    let document = d.save_nocompress();
    // A change of the snapshot not shipped: a head, and one a head needs.
    for left_out in [3, 1] {
        let mut fewer = signed.clone();
        fewer.remove(left_out);
        assert_eq!(
            refused(chunk(&id, document.clone(), &fewer)),
            EnvelopeError::ChangesMismatch,
            "without change {left_out}"
        );
    }
    // A shipped change the snapshot does not hold.
    let mut older = AutoCommit::load(&document).unwrap();
    let head = parse_change(&signed[2].change).unwrap().hash();
    let before: Vec<_> = older
        .get_changes(&[])
        .into_iter()
        .filter(|c| c.hash() != head)
        .collect();
    let mut partial = AutoCommit::new();
    partial.apply_changes(before).unwrap();
    assert_eq!(
        refused(chunk(&id, partial.save_nocompress(), &signed)),
        EnvelopeError::ChangesMismatch
    );
    // A change listed twice.
    let mut twice = signed.clone();
    twice.push(signed[0].clone());
    assert_eq!(
        refused(chunk(&id, document.clone(), &twice)),
        EnvelopeError::ChangesMismatch
    );
    // None at all.
    assert_eq!(
        refused(chunk(&id, document, &[])),
        EnvelopeError::ChangesMismatch
    );
}

#[test]
fn changes_of_another_document_are_refused() {
    let (mut d, signed, id) = history();
    let document = d.save_nocompress();
    // An envelope for another document id.
    let mut elsewhere = signed.clone();
    elsewhere[1].doc = DocId::parse("practice/p-9").unwrap();
    assert_eq!(
        refused(chunk(&id, document.clone(), &elsewhere)),
        EnvelopeError::ChangesMismatch
    );
    // A change of another document, signed by its author for this one:
    // its signature verifies, but the document does not hold it.
    let a = NodeKey::from_seed([1; 32]);
    let (_, foreign) = doc::create(&a, &sample_practice("p-9").into(), 5).unwrap();
    let mut with_foreign = signed.clone();
    with_foreign.push(SignedChange::sign(&a, &SCOPE, &id, foreign));
    assert_eq!(
        refused(chunk(&id, document.clone(), &with_foreign)),
        EnvelopeError::ChangesMismatch
    );
    // This document's changes with another document's snapshot.
    let (mut other, _) = doc::create(&a, &sample_practice("p-9").into(), 5).unwrap();
    assert_eq!(
        refused(chunk(&id, other.save_nocompress(), &signed)),
        EnvelopeError::ChangesMismatch
    );
}

#[test]
fn a_change_whose_bytes_are_not_the_signed_ones_is_refused() {
    let (mut d, signed, id) = history();
    let document = d.save_nocompress();
    // One byte changed: its checksum (the start of its hash) tells.
    let mut flipped = signed.clone();
    *flipped[0].change.last_mut().unwrap() ^= 1;
    assert!(matches!(
        refused(chunk(&id, document.clone(), &flipped)),
        EnvelopeError::Parse(_)
    ));
    // Another valid change's bytes under this change's signature: the
    // signature covers the hash of other bytes.
    let mut swapped = signed.clone();
    swapped[1].change = signed[3].change.clone();
    assert_eq!(
        refused(chunk(&id, document.clone(), &swapped)),
        EnvelopeError::BadSignature
    );
    // A signature by someone else, or for another consortium.
    let mut forged = signed.clone();
    forged[2].signature = NodeKey::from_seed([3; 32]).sign(b"something else");
    assert_eq!(
        refused(chunk(&id, document.clone(), &forged)),
        EnvelopeError::BadSignature
    );
    let c = chunk(&id, document, &signed);
    assert_eq!(
        c.verify(&Scope([8; 32])).unwrap_err(),
        EnvelopeError::BadSignature
    );
}

#[test]
fn version_2_bounds_are_checked_before_anything_is_copied() {
    let (mut d, signed, id) = history();
    let c = chunk(&id, d.save_nocompress(), &signed);
    let enc = c.encode();
    for cut in [1, 10, 40, enc.len() - 1] {
        assert!(DocChunk::decode(&enc[..cut]).is_err(), "cut at {cut}");
    }
    // An envelope claiming more than an envelope may hold.
    let key = id.to_key();
    let mut lying = vec![2, key.len() as u8];
    lying.extend_from_slice(key.as_bytes());
    lying.extend_from_slice(&1u32.to_be_bytes());
    lying.extend_from_slice(&u32::MAX.to_be_bytes());
    assert_eq!(
        DocChunk::decode(&lying),
        Err(EnvelopeError::Malformed("envelopes too large"))
    );
    // An unknown version.
    let mut v3 = enc.clone();
    v3[0] = 3;
    assert_eq!(DocChunk::decode(&v3), Err(EnvelopeError::Version(3)));
}
