//! Tests of signed envelopes and of the change chunk checks.

use super::chunk::{strings_fit_their_columns, AUTOMERGE_MAGIC, CHUNK_TYPE_CHANGE};
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
