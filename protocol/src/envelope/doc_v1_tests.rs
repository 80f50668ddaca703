//! Version 1 document chunks (signatures only) checked against the change
//! graph automerge computed when it loaded the document: no change is
//! rebuilt, and each way a member could lie is still refused.

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ROOT};
use sha2::{Digest, Sha256};

use super::doc_v2_tests::{history, unsigned_inside};
use super::*;
use crate::doc;
use crate::record::tests::sample_practice;

const SCOPE: Scope = Scope([7; 32]);

/// (hash, signature) of each signed change, in order.
fn signatures(signed: &[SignedChange]) -> Vec<([u8; 32], Signature)> {
    signed
        .iter()
        .map(|s| (change_header(&s.change).unwrap().hash.0, s.signature))
        .collect()
}

fn chunk(id: &DocId, document: Vec<u8>, sigs: Vec<([u8; 32], Signature)>) -> DocChunk {
    DocChunk {
        doc: id.clone(),
        document,
        changes: DocChanges::Signatures(sigs),
    }
}

fn refused(c: DocChunk) -> EnvelopeError {
    c.verify(&SCOPE).expect_err("refused")
}

#[test]
fn the_change_graph_of_a_loaded_document_is_what_its_changes_say() {
    let (mut d, signed, id) = history();
    let c = chunk(&id, d.save_nocompress(), signatures(&signed));
    let mut v = DocChunk::decode(&c.encode())
        .unwrap()
        .verify(&SCOPE)
        .unwrap();
    assert_eq!(v.changes.len(), 4);
    // Each change as its own bytes say, in the graph's order; no bytes.
    for got in &v.changes {
        let sent = signed
            .iter()
            .find(|s| change_header(&s.change).unwrap().hash == got.hash)
            .expect("a signed change");
        let parsed = parse_change(&sent.change).unwrap();
        assert_eq!(got.bytes, ChangeBytes::InDocument);
        assert_eq!(got.signature, sent.signature);
        assert_eq!(got.author.to_bytes(), parsed.actor_id().to_bytes());
        assert_eq!((got.seq, got.time), (parsed.seq(), parsed.timestamp()));
        assert_eq!(got.deps, parsed.deps());
    }
    // The same facts as version 2 reads from the envelopes' headers.
    let v2 = DocChunk {
        doc: id.clone(),
        document: c.document.clone(),
        changes: DocChanges::Envelopes(signed.iter().map(SignedChange::encode).collect()),
    }
    .verify(&SCOPE)
    .unwrap();
    let facts = |c: &DocChange| (c.hash, c.author, c.seq, c.time, c.deps.clone(), c.signature);
    let mut one: Vec<_> = v.changes.iter().map(facts).collect();
    let mut two: Vec<_> = v2.changes.iter().map(facts).collect();
    one.sort_by_key(|f| f.0);
    two.sort_by_key(|f| f.0);
    assert_eq!(one, two);
    // Rebuilt when needed, the envelopes are byte for byte the signed ones.
    let parsed = DocChange::all_parsed(&v.changes, &id, &mut v.document).unwrap();
    let mut rebuilt: Vec<Vec<u8>> = parsed.iter().map(|p| p.0.encode()).collect();
    let mut sent: Vec<Vec<u8>> = signed.iter().map(SignedChange::encode).collect();
    rebuilt.sort();
    sent.sort();
    assert_eq!(rebuilt, sent);
    // A change the document does not hold has no bytes to give.
    let mut stranger = v.changes[0].clone();
    stranger.hash = automerge::ChangeHash([9; 32]);
    assert_eq!(
        DocChange::all_parsed(&[stranger], &id, &mut v.document).unwrap_err(),
        EnvelopeError::ChangesMismatch
    );
}

#[test]
fn an_extra_unsigned_change_is_refused() {
    let (mut d, signed, id) = history();
    d.put(ROOT, "title", "Unsigned").unwrap();
    d.commit();
    assert_eq!(
        refused(chunk(&id, d.save_nocompress(), signatures(&signed))),
        EnvelopeError::ChangesMismatch
    );
    // Inside the history, the count made up by a signature of nothing.
    let (mut d, signed, id) = unsigned_inside();
    let mut sigs = signatures(&signed);
    sigs.push(([9; 32], sigs[0].1));
    assert_eq!(
        refused(chunk(&id, d.save_nocompress(), sigs)),
        EnvelopeError::ChangesMismatch
    );
}

#[test]
fn a_missing_or_repeated_signature_is_refused() {
    let (mut d, signed, id) = history();
    let document = d.save_nocompress();
    let all = signatures(&signed);
    for left_out in 0..4 {
        let mut fewer = all.clone();
        fewer.remove(left_out);
        assert_eq!(
            refused(chunk(&id, document.clone(), fewer.clone())),
            EnvelopeError::ChangesMismatch,
            "without signature {left_out}"
        );
        // The count made up by repeating another signature.
        fewer.push(fewer[0]);
        assert_eq!(
            refused(chunk(&id, document.clone(), fewer)),
            EnvelopeError::ChangesMismatch,
            "signature {left_out} replaced by a repeat"
        );
    }
    let mut twice = all.clone();
    twice.push(all[2]);
    assert_eq!(
        refused(chunk(&id, document.clone(), twice)),
        EnvelopeError::ChangesMismatch
    );
    assert_eq!(
        refused(chunk(&id, document, Vec::new())),
        EnvelopeError::ChangesMismatch
    );
}

#[test]
fn signatures_of_another_document_are_refused() {
    let (mut d, signed, id) = history();
    let document = d.save_nocompress();
    let a = NodeKey::from_seed([1; 32]);
    let other_id = sample_practice("p-9").doc_id();
    // A change of this document signed by its author for another
    // document: the signature binds the document id.
    let mut sigs = signatures(&signed);
    sigs[1].1 = a.sign(&signing_message(
        &SCOPE,
        &other_id,
        &change_header(&signed[1].change).unwrap().hash,
    ));
    assert_eq!(
        refused(chunk(&id, document.clone(), sigs)),
        EnvelopeError::BadSignature
    );
    // Another document's changes and signatures with this snapshot.
    let (mut other, c) = doc::create(&a, &sample_practice("p-9").into(), 5).unwrap();
    let theirs = signatures(&[SignedChange::sign(&a, &SCOPE, &other_id, c)]);
    let mut mixed = signatures(&signed);
    mixed[0] = theirs[0];
    assert_eq!(
        refused(chunk(&id, document, mixed)),
        EnvelopeError::ChangesMismatch
    );
    // This document's signatures with another document's snapshot.
    assert_eq!(
        refused(chunk(&id, other.save_nocompress(), signatures(&signed))),
        EnvelopeError::ChangesMismatch
    );
}

#[test]
fn a_forged_or_foreign_signature_is_refused() {
    let (mut d, signed, id) = history();
    let document = d.save_nocompress();
    let hash = change_header(&signed[2].change).unwrap().hash;
    // Change 2 is b's: a valid signature by a over its hash is not b's.
    let a = NodeKey::from_seed([1; 32]);
    let mut by_a = signatures(&signed);
    by_a[2].1 = a.sign(&signing_message(&SCOPE, &id, &hash));
    assert_eq!(
        refused(chunk(&id, document.clone(), by_a)),
        EnvelopeError::BadSignature
    );
    // b's signature for another consortium.
    let b = NodeKey::from_seed([2; 32]);
    let mut other_scope = signatures(&signed);
    other_scope[2].1 = b.sign(&signing_message(&Scope([8; 32]), &id, &hash));
    assert_eq!(
        refused(chunk(&id, document.clone(), other_scope)),
        EnvelopeError::BadSignature
    );
    // Garbage, and the whole chunk checked for another consortium.
    let mut forged = signatures(&signed);
    forged[0].1 = Signature([0x5a; 64]);
    assert_eq!(
        refused(chunk(&id, document.clone(), forged)),
        EnvelopeError::BadSignature
    );
    let c = chunk(&id, document, signatures(&signed));
    assert_eq!(
        c.verify(&Scope([8; 32])).unwrap_err(),
        EnvelopeError::BadSignature
    );
}

#[test]
fn a_changed_snapshot_is_refused() {
    let (mut d, signed, id) = history();
    let document = d.save_nocompress();
    let sigs = signatures(&signed);
    // Every single-byte corruption is refused; none panics or passes.
    for i in (0..document.len()).step_by(3) {
        let mut bad = document.clone();
        bad[i] ^= 0x5a;
        assert!(
            chunk(&id, bad, sigs.clone()).verify(&SCOPE).is_err(),
            "byte {i}"
        );
    }
    // A document whose stated heads are not those of its content, its
    // checksum made right: automerge checks the heads it computed when it
    // loads (verification on), so the signed hashes are the content's.
    let head = d.get_heads()[0].0;
    let at = document
        .windows(32)
        .position(|w| w == head)
        .expect("the heads are in the document chunk's header");
    let mut lying = document.clone();
    lying[at] ^= 1;
    let body = 8..; // chunk type, length, data: what the checksum covers
    let checksum = Sha256::digest(&lying[body]);
    lying[4..8].copy_from_slice(&checksum[..4]);
    let why = refused(chunk(&id, lying, sigs));
    assert!(
        matches!(&why, EnvelopeError::Parse(e) if e.contains("heads")),
        "{why:?}"
    );
    // And the honest document passes.
    let mut ok = AutoCommit::load(&document).unwrap();
    assert_eq!(ok.get_heads(), d.get_heads());
}
