//! Whole documents (a clone) are judged like changes: a document whose
//! author the roster does not let write is not applied whole, and nothing
//! of it is accepted.

use super::*;
use crate::doc;
use crate::envelope::{DocChanges, DocChunk, Scope, SignedChange};
use crate::record::tests::sample_practice;

struct Nothing;

impl ChangeGraph for Nothing {
    fn change(&self, _doc: &str, _hash: &[u8; 32]) -> Option<ChangeNode> {
        None
    }
}

fn chunk(by: u8, id: &str, scope: &Scope) -> DocChunk {
    let p = sample_practice(id);
    let (mut d, change) = doc::create(&key(by), &p.clone().into(), 1000).unwrap();
    let signed = SignedChange::sign(&key(by), scope, &p.doc_id(), change);
    DocChunk {
        doc: p.doc_id(),
        document: d.save_nocompress(),
        changes: DocChanges::Envelopes(vec![signed.encode()]),
    }
}

#[test]
fn documents_by_members_apply_whole_and_by_strangers_not_at_all() {
    let w = World::new();
    let roster = w.roster();
    let scope = Scope(w.cid.0);
    let chunks = vec![chunk(0, "p-1", &scope), chunk(5, "p-2", &scope)];
    let v = verify_doc_batch(&scope, Some(&roster), chunks, &Nothing, 1);
    assert_eq!(v.whole.len(), 1);
    assert_eq!(v.whole[0].doc.to_key(), "practice/p-1");
    assert_eq!(v.whole[0].changes.len(), 1);
    assert!(v.changes.accepted.is_empty());
    assert!(v.changes.invalid.is_empty());
    assert_eq!(
        v.changes.not_allowed.len(),
        1,
        "{:?}",
        v.changes.not_allowed
    );
    assert!(v.changes.not_allowed[0].contains("practice/p-2"));

    // Outside a consortium nobody may write.
    let v = verify_doc_batch(&scope, None, vec![chunk(0, "p-1", &scope)], &Nothing, 1);
    assert!(v.whole.is_empty() && v.changes.accepted.is_empty());
    assert_eq!(v.changes.not_allowed.len(), 1);

    // A chunk signed for another consortium is invalid, not skipped.
    let other = chunk(0, "p-3", &Scope([3; 32]));
    let v = verify_doc_batch(&scope, Some(&roster), vec![other], &Nothing, 1);
    assert!(v.whole.is_empty());
    assert_eq!(v.changes.invalid.len(), 1);
}
