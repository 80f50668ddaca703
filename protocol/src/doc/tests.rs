//! Tests of records as documents: round trips, field updates, concurrent edits, deletion.

use super::*;
use crate::record::tests::{sample_event, sample_practice};

#[test]
fn create_then_read_gives_the_record_back() {
    let key = NodeKey::from_seed([1; 32]);
    for r in [
        Record::from(sample_practice("p-1")),
        sample_event("e-1").into(),
    ] {
        let (mut doc, change) = create(&key, &r, 5).unwrap();
        assert_eq!(change.actor_id(), &actor_for(&key));
        assert_eq!(read(&mut doc).unwrap(), r);
    }
}

#[test]
fn update_writes_only_what_changed() {
    let key = NodeKey::from_seed([1; 32]);
    let old: Record = sample_practice("p-1").into();
    let (mut doc, _) = create(&key, &old, 5).unwrap();
    assert!(update(&mut doc, &key, &old, &old, 6).unwrap().is_none());
    let Record::Practice(mut p) = old.clone() else {
        unreachable!()
    };
    p.updated_at = "2025-05-01T00:00:00Z".into();
    let change = update(&mut doc, &key, &old, &p.clone().into(), 6)
        .unwrap()
        .unwrap();
    assert_eq!(change.len(), 1, "one op: the updated_at scalar");
    assert_eq!(read(&mut doc).unwrap(), p.into());
}

#[test]
fn concurrent_body_edits_both_survive_and_scalars_converge() {
    let a = NodeKey::from_seed([1; 32]);
    let b = NodeKey::from_seed([2; 32]);
    let base: Record = sample_practice("p-1").into();
    let (mut doc_a, _) = create(&a, &base, 5).unwrap();
    let mut doc_b = doc_a.fork().with_actor(actor_for(&b));
    let Record::Practice(p) = base.clone() else {
        unreachable!()
    };

    let mut pa = p.clone();
    pa.body = format!("Paris intro. {}", p.body);
    pa.status = crate::record::PracticeStatus::Archived;
    update(&mut doc_a, &a, &base, &pa.into(), 6)
        .unwrap()
        .unwrap();
    let mut pb = p.clone();
    pb.body = format!("{} Tirana outro.", p.body);
    pb.status = crate::record::PracticeStatus::Draft;
    update(&mut doc_b, &b, &base, &pb.into(), 7)
        .unwrap()
        .unwrap();

    doc_a.merge(&mut doc_b).unwrap();
    doc_b.merge(&mut doc_a).unwrap();
    let ra = read(&mut doc_a).unwrap();
    let rb = read(&mut doc_b).unwrap();
    assert_eq!(ra, rb);
    let Record::Practice(merged) = ra else {
        unreachable!()
    };
    assert!(merged.body.starts_with("Paris intro. "));
    assert!(merged.body.ends_with(" Tirana outro."));
}

#[test]
fn deletion_is_a_change() {
    let key = NodeKey::from_seed([1; 32]);
    let r: Record = sample_event("e-1").into();
    let (mut doc, _) = create(&key, &r, 5).unwrap();
    assert!(set_deleted(&mut doc, &key, true, 6).unwrap().is_some());
    assert!(is_deleted(&doc));
    assert!(set_deleted(&mut doc, &key, true, 7).unwrap().is_none());
}

/// Issue 13 point 9, found by simulation seed 9: a retraction strands one
/// of this node's own changes (it builds on a revoked author's change);
/// writing then would reuse its sequence number, and a peer that still
/// applies it could never take the new change. The write is refused until
/// the taken-away change is back; then the next change continues the chain.
#[test]
fn no_local_write_while_an_own_change_waits() {
    let (a, r, me) = (
        NodeKey::from_seed([1; 32]),
        NodeKey::from_seed([2; 32]),
        NodeKey::from_seed([3; 32]),
    );
    let base: Record = sample_practice("p-1").into();
    let (mut peer, first) = create(&a, &base, 5).unwrap();
    let edit = |doc: &mut AutoCommit, key: &NodeKey, title: &str, t: i64| {
        let old = read(doc).unwrap();
        let Record::Practice(mut p) = old.clone() else {
            unreachable!()
        };
        p.title = title.into();
        update(doc, key, &old, &p.into(), t).unwrap().unwrap()
    };
    let by_r = edit(&mut peer, &r, "By R", 6);
    let mine = edit(&mut peer, &me, "Mine", 7);
    // This node retracts R's change and rebuilds the document: its own
    // change waits for it.
    let mut here = AutoCommit::new();
    here.apply_changes([first.clone(), mine.clone()]).unwrap();
    assert!(!here.get_missing_deps(&[]).is_empty());
    let e = check_own_chain(&mut here, &[mine.hash()]).unwrap_err();
    assert!(matches!(e, DocError::OwnChangesWaiting(1)), "{e}");
    // Without the check, the write takes the waiting change's number, and
    // the peer refuses it.
    let mut forked = here.clone();
    let fork = edit(&mut forked, &me, "Again", 8);
    assert_eq!(fork.seq(), mine.seq());
    assert!(peer.apply_changes([fork]).is_err());
    // Once R's change is back (the revocation that took it away was void),
    // the own change applies and the next write continues the chain.
    here.apply_changes([by_r]).unwrap();
    check_own_chain(&mut here, &[mine.hash()]).unwrap();
    let next = edit(&mut here, &me, "Again", 8);
    assert_eq!(next.seq(), mine.seq() + 1);
    peer.apply_changes([next]).unwrap();
    assert_eq!(read(&mut peer).unwrap(), read(&mut here).unwrap());
}
