//! Tests of whole-document chunks: their bounds and checks, and version 1
//! (signatures only; `doc_v1_tests` has a history of several authors,
//! `doc_v2_tests` version 2).

use automerge::transaction::Transactable;
use automerge::AutoCommit;

use super::document::column_rows;
use super::*;
use crate::doc;
use crate::record::tests::sample_practice;

const SCOPE: Scope = Scope([7; 32]);

/// A practice's document, its one change signed by `key`, and the chunk.
fn chunk_of(key: &NodeKey) -> (AutoCommit, SignedChange, DocChunk) {
    let mut p = sample_practice("p-1");
    p.body = "A long body about screening and prevention. ".repeat(40);
    let (mut d, change) = doc::create(key, &p.clone().into(), 1000).unwrap();
    let signed = SignedChange::sign(key, &SCOPE, &p.doc_id(), change);
    let hash = parse_change(&signed.change).unwrap().hash().0;
    let chunk = DocChunk {
        doc: p.doc_id(),
        document: d.save_nocompress(),
        changes: DocChanges::Signatures(vec![(hash, signed.signature)]),
    };
    (d, signed, chunk)
}

/// A version 1 chunk's signatures.
fn sigs(c: &mut DocChunk) -> &mut Vec<([u8; 32], Signature)> {
    match &mut c.changes {
        DocChanges::Signatures(s) => s,
        DocChanges::Envelopes(_) => panic!("a version 1 chunk"),
    }
}

#[test]
fn a_document_chunk_round_trips_and_gives_back_the_signed_envelopes() {
    let key = NodeKey::from_seed([1; 32]);
    let (mut d, signed, chunk) = chunk_of(&key);
    let decoded = DocChunk::decode(&chunk.encode()).unwrap();
    assert_eq!(decoded, chunk);
    let mut v = decoded.verify(&SCOPE).unwrap();
    assert_eq!(v.changes.len(), 1);
    // No bytes: the document holds them. Rebuilt from it, the envelope is
    // byte for byte the one its author signed, and verifies on its own.
    assert_eq!(v.changes[0].bytes, ChangeBytes::InDocument);
    assert_eq!(v.changes[0].change_bytes(), None);
    let parsed = DocChange::all_parsed(&v.changes, &chunk.doc, &mut v.document).unwrap();
    assert_eq!(parsed[0].0, signed);
    assert_eq!(parsed[0].0.encode(), signed.encode());
    assert!(signed.verify(&SCOPE).is_ok());
    assert_eq!(v.changes[0].author, key.public());
    let mut loaded = v.document;
    assert_eq!(loaded.get_heads(), d.get_heads());
    assert_eq!(v.bytes, chunk.document);
}

#[test]
fn oversized_and_truncated_chunks_are_refused_before_automerge() {
    let key = NodeKey::from_seed([1; 32]);
    let (_, _, chunk) = chunk_of(&key);
    let enc = chunk.encode();
    assert!(DocChunk::decode(&vec![1u8; MAX_DOC_CHUNK_LEN + 1]).is_err());
    for cut in [0, 1, 10, enc.len() - 1] {
        assert!(DocChunk::decode(&enc[..cut]).is_err(), "cut at {cut}");
    }
    let mut trailing = enc.clone();
    trailing.push(0);
    assert!(DocChunk::decode(&trailing).is_err());
    // A signature count beyond the limit.
    let mut many = chunk.clone();
    let sig = sigs(&mut many)[0].1;
    *sigs(&mut many) = vec![([0; 32], sig); MAX_DOC_CHANGES + 1];
    assert_eq!(
        DocChunk::decode(&many.encode()),
        Err(EnvelopeError::Malformed("too many signatures"))
    );
    // A document over its bound.
    let mut big = chunk.clone();
    big.document = vec![0; MAX_DOC_LEN + 1];
    assert!(DocChunk::decode(&big.encode()).is_err());
}

#[test]
fn deflated_trailing_and_crafted_documents_are_refused() {
    let key = NodeKey::from_seed([1; 32]);
    let (mut d, signed, chunk) = chunk_of(&key);
    // `save()` deflates the long text's columns: automerge would inflate
    // them without a bound.
    let mut deflated = chunk.clone();
    deflated.document = d.save();
    assert_eq!(
        deflated.verify(&SCOPE).unwrap_err(),
        EnvelopeError::NotADocument
    );
    // A change chunk after the document: `load` would apply it too.
    let mut trailing = chunk.clone();
    trailing.document.extend_from_slice(&signed.change);
    assert_eq!(
        trailing.verify(&SCOPE).unwrap_err(),
        EnvelopeError::NotADocument
    );
    // A change chunk in place of a document.
    let mut change = chunk.clone();
    change.document = signed.change.clone();
    assert_eq!(
        change.verify(&SCOPE).unwrap_err(),
        EnvelopeError::NotADocument
    );
    // Every single-byte corruption is refused or loads a document whose
    // changes are not the signed one; none panics or is accepted.
    for i in (0..chunk.document.len()).step_by(7) {
        let mut bad = chunk.clone();
        bad.document[i] ^= 0x5a;
        assert!(bad.verify(&SCOPE).is_err(), "byte {i}");
    }
}

#[test]
fn columns_that_claim_too_many_rows_or_overlong_strings_are_refused() {
    let mut huge_nulls = vec![0u8];
    leb128::write::unsigned(&mut huge_nulls, MAX_DOC_ROWS + 1).unwrap();
    assert_eq!(column_rows(2, &huge_nulls), None);
    let mut ok_nulls = vec![0u8];
    leb128::write::unsigned(&mut ok_nulls, 5).unwrap();
    assert_eq!(column_rows(2, &ok_nulls), Some(5));
    // A repeated run of 2^40 values in three bytes.
    let mut run = Vec::new();
    leb128::write::signed(&mut run, 1 << 40).unwrap();
    run.push(1);
    assert_eq!(column_rows(3, &run), None);
    // A string claiming 127 bytes with one left; a fitting one.
    assert_eq!(column_rows(5, &[0x01, 0x7f, b'k']), None);
    assert_eq!(column_rows(5, &[0x01, 0x01, b'k']), Some(1));
    // Booleans: run lengths add up.
    let mut bools = Vec::new();
    leb128::write::unsigned(&mut bools, MAX_DOC_ROWS).unwrap();
    leb128::write::unsigned(&mut bools, 1).unwrap();
    assert_eq!(column_rows(4, &bools), None);
    // The real documents of a record pass.
    let key = NodeKey::from_seed([1; 32]);
    let (_, _, chunk) = chunk_of(&key);
    assert!(check_document(&chunk.document).is_ok());
}

#[test]
fn a_document_whose_changes_are_not_exactly_the_signed_ones_is_refused() {
    let key = NodeKey::from_seed([1; 32]);
    let (mut d, _, chunk) = chunk_of(&key);
    // No signature for the change.
    let mut none = chunk.clone();
    sigs(&mut none).clear();
    assert_eq!(
        none.verify(&SCOPE).unwrap_err(),
        EnvelopeError::ChangesMismatch
    );
    // A signature for a hash that is not in the document.
    let mut other = chunk.clone();
    sigs(&mut other)[0].0 = [9; 32];
    assert_eq!(
        other.verify(&SCOPE).unwrap_err(),
        EnvelopeError::ChangesMismatch
    );
    // One signature too many.
    let mut extra = chunk.clone();
    let sig = sigs(&mut extra)[0].1;
    sigs(&mut extra).push(([9; 32], sig));
    assert_eq!(
        extra.verify(&SCOPE).unwrap_err(),
        EnvelopeError::ChangesMismatch
    );
    // A second, unsigned change in the document.
    d.put(automerge::ROOT, "title", "Changed").unwrap();
    d.commit();
    let mut unsigned = chunk.clone();
    unsigned.document = d.save_nocompress();
    assert_eq!(
        unsigned.verify(&SCOPE).unwrap_err(),
        EnvelopeError::ChangesMismatch
    );
    // A signature by another key, or for another consortium.
    let mut forged = chunk.clone();
    sigs(&mut forged)[0].1 = NodeKey::from_seed([2; 32]).sign(b"something else");
    assert_eq!(
        forged.verify(&SCOPE).unwrap_err(),
        EnvelopeError::BadSignature
    );
    assert_eq!(
        chunk.clone().verify(&Scope([8; 32])).unwrap_err(),
        EnvelopeError::BadSignature
    );
}
