//! Whole documents (a clone) on in-memory libraries: both chunk versions
//! give the same store as the change path, and a non-admin's documents
//! still have their rights judged.

use chrono::Duration;
use serde_json::json;

use r2com_protocol::control::Edit;
use r2com_protocol::doc;
use r2com_protocol::envelope::{DocChanges, DocChunk, SignedChange};
use r2com_protocol::ids::RecordKind;
use r2com_protocol::record::Record;

use crate::library::Library;
use crate::testing::{
    envelopes_of, hand_over, invite, library, org, practice, roster_of, TestClock,
};

const P: RecordKind = RecordKind::Practice;

/// A fresh member `n` (organisation `org`) of `a`'s consortium, holding
/// the roster only.
fn member(a: &Library, n: u8, org: &str, clock: &TestClock) -> Library {
    let m = library(n, clock);
    let token = invite(a, &m, org, Duration::days(7), clock);
    m.join(&token, clock.now()).expect("join");
    assert!(a
        .admit_from_peer(&m.key().public().to_hex(), m.own_admission().unwrap())
        .unwrap());
    let (report, _) = m.apply(None, roster_of(a), Vec::new()).unwrap();
    assert_eq!(report.refused, 0, "{report:?}");
    m.take_outbox();
    m
}

fn all_docs(from: &Library, envelopes: bool) -> Vec<Vec<u8>> {
    let all: Vec<u8> = (0..=255).collect();
    from.get_docs(&all, usize::MAX, envelopes).unwrap()
}

#[test]
fn whole_documents_of_either_version_store_what_the_change_path_stores() {
    let clock = TestClock::at("2026-01-10T09:00:00Z");
    let a = library(1, &clock);
    a.consortium_create("RAN", org("lmds"), clock.now())
        .unwrap();
    // A member (not an admin) of its own organisation creates a record:
    // its rights are judged from the document.
    let b = member(&a, 2, "ips", &clock);
    let mut theirs = practice("p-b", "By IPS");
    theirs["organisation"] = json!("ips");
    b.add(P, theirs, false, clock.now()).unwrap();
    hand_over(&b, &a);
    for i in 0..40 {
        a.add(P, practice(&format!("p-{i}"), "From A"), false, clock.now())
            .unwrap();
    }
    let edit = Edit::Set {
        field: "title".into(),
        value: "Edited".into(),
    };
    a.edit(P, "p-1", &[edit], false, clock.now()).unwrap();
    let expected = envelopes_of(&a);
    for (n, envelopes) in [(3, true), (4, false)] {
        let fresh = member(&a, n, &format!("org{n}"), &clock);
        let chunks = all_docs(&a, envelopes);
        assert_eq!(chunks.len(), 41);
        assert!(chunks.iter().all(|c| c[0] == if envelopes { 2 } else { 1 }));
        let (report, missing) = fresh.apply_whole_docs(None, chunks).unwrap();
        assert_eq!((report.refused, report.applied), (0, 42), "{report:?}");
        assert!(!missing);
        // The envelopes byte for byte, the digests, the records.
        assert_eq!(envelopes_of(&fresh), expected);
        assert_eq!(fresh.summary().unwrap(), a.summary().unwrap());
        assert_eq!(fresh.show(P, "p-1").unwrap(), a.show(P, "p-1").unwrap());
        assert_eq!(fresh.show(P, "p-b").unwrap().title(), "By IPS");
        // Again: all held, nothing applied twice.
        let (report, _) = fresh
            .apply_whole_docs(None, all_docs(&a, envelopes))
            .unwrap();
        assert_eq!((report.applied, report.duplicates), (0, 42), "{report:?}");
    }
}

#[test]
fn a_document_a_member_may_not_create_is_not_applied_whole() {
    let clock = TestClock::at("2026-01-10T09:00:00Z");
    let a = library(1, &clock);
    a.consortium_create("RAN", org("lmds"), clock.now())
        .unwrap();
    let b = member(&a, 2, "ips", &clock);
    // b names another organisation's record as its own creation: b's
    // node refuses that, so forge it as b would: a document signed by b.
    let record = Record::from_value(P, practice("p-x", "Not theirs")).unwrap();
    let (mut d, change) = doc::create(b.key(), &record, clock.now().timestamp_millis()).unwrap();
    let env = SignedChange::sign(b.key(), &b.scope(), &record.doc_id(), change);
    let chunk = DocChunk {
        doc: record.doc_id(),
        document: d.save_nocompress(),
        changes: DocChanges::Envelopes(vec![env.encode()]),
    }
    .encode();
    let fresh = member(&a, 3, "org3", &clock);
    let (report, _) = fresh.apply_whole_docs(None, vec![chunk]).unwrap();
    assert_eq!((report.applied, report.refused), (0, 0), "{report:?}");
    assert_eq!(report.not_allowed.len(), 1, "{report:?}");
    assert!(fresh.show(P, "p-x").is_err());
    assert!(envelopes_of(&fresh).is_empty());
}
