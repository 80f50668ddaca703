//! Whole documents (a clone) on in-memory libraries: both chunk versions
//! give the same store as the change path, and a non-admin's documents
//! still have their rights judged; a seed serves whole only a document
//! whose stored changes are exactly its snapshot's.

use automerge::transaction::Transactable;
use automerge::ROOT;
use chrono::Duration;
use serde_json::json;

use r2com_protocol::control::Edit;
use r2com_protocol::doc;
use r2com_protocol::envelope::{DocChanges, DocChunk, SignedChange};
use r2com_protocol::ids::RecordKind;
use r2com_protocol::record::Record;

use crate::library::Library;
use crate::store::keys;
use crate::testing::{
    envelopes_of, hand_over, invite, library, org, practice, roster_of, TestClock,
};

const P: RecordKind = RecordKind::Practice;

/// A fresh member `n` (organisation `org`) of `a`'s consortium, holding
/// the roster only.
/// The founder's library (org lmds, an admin) holding these practices.
fn founder(clock: &TestClock, practices: &[(&str, &str)]) -> Library {
    let a = library(1, clock);
    a.consortium_create("RAN", org("lmds"), clock.now())
        .unwrap();
    for (id, title) in practices {
        a.add(P, practice(id, title), false, clock.now()).unwrap();
    }
    a
}

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
    let a = founder(&clock, &[]);
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
    let mut stored = Vec::new();
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
        stored.push(tables(&fresh));
        // Again: all held, nothing applied twice.
        let (report, _) = fresh
            .apply_whole_docs(None, all_docs(&a, envelopes))
            .unwrap();
        assert_eq!((report.applied, report.duplicates), (0, 42), "{report:?}");
    }
    // Entry for entry the same store: changes (detached), snapshots,
    // records, states and indexes.
    assert_eq!(stored[0].len(), stored[1].len());
    for (x, y) in stored[0].iter().zip(&stored[1]) {
        let key = String::from_utf8_lossy(&x.0);
        assert_eq!(x.0, y.0, "{key}");
        assert!(x.1 == y.1, "{key}: {} / {}", x.1.len(), y.1.len());
    }
    let changes = stored[0].iter().filter(|(k, _)| k[0] == keys::CHANGE);
    assert_eq!(changes.count(), 42);
}

/// The entries of the tables a clone writes for its documents.
fn tables(lib: &Library) -> Vec<(Vec<u8>, Vec<u8>)> {
    let t = [
        keys::CHANGE,
        keys::SNAPSHOT,
        keys::RECORD,
        keys::DOC,
        keys::REVISION,
        keys::AUTHOR,
        keys::HASH,
    ];
    t.iter()
        .flat_map(|t| lib.store().scan_prefix(&[*t, 0]))
        .map(|e| e.unwrap())
        .collect()
}

#[test]
fn a_document_held_in_part_takes_the_rest_change_by_change_from_either_version() {
    let clock = TestClock::at("2026-01-10T09:00:00Z");
    let a = founder(&clock, &[("p-1", "One")]);
    let first = envelopes_of(&a);
    let edit = Edit::Set {
        field: "title".into(),
        value: "Two".into(),
    };
    a.edit(P, "p-1", &[edit], false, clock.now()).unwrap();
    for (n, envelopes) in [(3, true), (4, false)] {
        let fresh = member(&a, n, &format!("org{n}"), &clock);
        fresh.apply(None, Vec::new(), first.clone()).unwrap();
        let (report, _) = fresh
            .apply_whole_docs(None, all_docs(&a, envelopes))
            .unwrap();
        assert_eq!(
            (report.refused, report.applied, report.duplicates),
            (0, 1, 1),
            "{report:?}"
        );
        assert_eq!(fresh.show(P, "p-1").unwrap().title(), "Two");
        assert_eq!(envelopes_of(&fresh), envelopes_of(&a));
    }
}

#[test]
fn a_document_whose_stored_changes_are_not_its_snapshots_is_not_served_whole() {
    let clock = TestClock::at("2026-01-10T09:00:00Z");
    let a = founder(&clock, &[("p-1", "One"), ("p-2", "Two")]);
    // A change of p-1 that waits for a dependency, stored whole beside a
    // snapshot without it (as a store of an older version may hold).
    let other = library(9, &clock);
    let record = Record::from_value(P, practice("p-1", "One")).unwrap();
    let id = record.doc_id();
    let (mut d, _) = doc::create(other.key(), &record, 1).unwrap();
    for title in ["x", "y"] {
        d.put(ROOT, "title", title).unwrap();
        d.commit();
    }
    let waiting = d.get_last_local_change().unwrap();
    let env = SignedChange::sign(other.key(), &a.scope(), &id, waiting.clone());
    let entry = (
        keys::change(&id.to_key(), &waiting.hash().0),
        Some(env.encode()),
    );
    crate::store::Store::write(&**a.store(), vec![entry]).unwrap();
    for envelopes in [true, false] {
        let chunks = all_docs(&a, envelopes);
        assert_eq!(chunks.len(), 1, "p-2 only");
        let fresh = member(&a, 3, "org3", &clock);
        let (report, _) = fresh.apply_whole_docs(None, chunks).unwrap();
        assert_eq!((report.refused, report.applied), (0, 1), "{report:?}");
    }
}

#[test]
fn a_document_a_member_may_not_create_is_not_applied_whole() {
    let clock = TestClock::at("2026-01-10T09:00:00Z");
    let a = founder(&clock, &[]);
    let b = member(&a, 2, "ips", &clock);
    // b names another organisation's record as its own creation: b's
    // node refuses that, so forge it as b would: a document signed by b.
    let record = Record::from_value(P, practice("p-x", "Not theirs")).unwrap();
    let (mut d, change) = doc::create(b.key(), &record, clock.now().timestamp_millis()).unwrap();
    let env = SignedChange::sign(b.key(), &b.scope(), &record.doc_id(), change);
    let hash = r2com_protocol::envelope::change_header(&env.change)
        .unwrap()
        .hash
        .0;
    let versions = [
        DocChanges::Envelopes(vec![env.encode()]),
        DocChanges::Signatures(vec![(hash, env.signature)]),
    ];
    for (n, changes) in (3..).zip(versions) {
        let chunk = DocChunk {
            doc: record.doc_id(),
            document: d.save_nocompress(),
            changes,
        }
        .encode();
        let fresh = member(&a, n, &format!("org{n}"), &clock);
        let (report, _) = fresh.apply_whole_docs(None, vec![chunk]).unwrap();
        assert_eq!((report.applied, report.refused), (0, 0), "{report:?}");
        assert_eq!(report.not_allowed.len(), 1, "{report:?}");
        assert!(fresh.show(P, "p-x").is_err());
        assert!(envelopes_of(&fresh).is_empty());
    }
}

/// Whether a table entry is one of `doc`'s (its key names the document,
/// or it is a hash index entry pointing at it).
fn belongs(entry: &(Vec<u8>, Vec<u8>), doc: &str) -> bool {
    let doc = doc.as_bytes();
    entry.1 == doc || entry.0.windows(doc.len()).any(|w| w == doc)
}

/// The document each chunk carries, in order.
/// A founder holding `n` practices (`p-00`, `p-01`, ...) and its whole
/// documents, for the tests of an answer in slices.
fn founder_of(n: usize, clock: &TestClock) -> (Library, Vec<Vec<u8>>) {
    let ids: Vec<String> = (0..n).map(|i| format!("p-{i:02}")).collect();
    let titles: Vec<(&str, &str)> = ids.iter().map(|id| (id.as_str(), "From A")).collect();
    let a = founder(clock, &titles);
    let chunks = all_docs(&a, false);
    (a, chunks)
}

fn doc_keys(chunks: &[Vec<u8>]) -> Vec<String> {
    chunks
        .iter()
        .map(|c| DocChunk::decode(c).unwrap().doc.to_key())
        .collect()
}

/// An answer applied in slices stops at the first slice with a document
/// that does not verify: the slices before it are stored, every document
/// of them whole (entry for entry what a clone in one piece stores), and
/// nothing of that slice or any after it. The rest comes with the next
/// answer, judged by the store as the slices before left it (a document
/// held already is a duplicate, also within one answer).
#[test]
fn an_answer_in_slices_stops_whole_at_the_first_slice_refused() {
    let clock = TestClock::at("2026-01-10T09:00:00Z");
    let (a, chunks) = founder_of(11, &clock);
    assert_eq!(chunks.len(), 11);
    let keys = doc_keys(&chunks);
    // The store of a clone in one piece.
    let whole = member(&a, 3, "org3", &clock);
    let (report, _) = whole.apply_whole_docs(None, chunks.clone()).unwrap();
    assert_eq!((report.refused, report.applied), (0, 11), "{report:?}");
    let expected = tables(&whole);
    for e in &expected {
        assert_eq!(keys.iter().filter(|k| belongs(e, k)).count(), 1);
    }
    // Document #7 (the third slice of three) forged: its first signature.
    let mut forged = chunks.clone();
    let at = 2 + forged[7][1] as usize + 4 + 32;
    forged[7][at] ^= 1;
    let fresh = member(&a, 4, "org4", &clock);
    let (report, _) = fresh
        .apply_whole_sliced(None, forged, 3, usize::MAX)
        .unwrap();
    assert_eq!((report.refused, report.applied), (1, 6), "{report:?}");
    let kept: Vec<_> = expected
        .iter()
        .filter(|e| keys[..6].iter().any(|k| belongs(e, k)))
        .cloned()
        .collect();
    assert_eq!(tables(&fresh), kept);
    // The slices stored were made durable and announced: a round with
    // every peer (the clone's changes are not rebuilt to be pushed).
    assert!(fresh.take_outbox().overflowed);
    // The genuine answer, with document #0 again in its last slice.
    let mut again = chunks.clone();
    again.push(chunks[0].clone());
    let (report, _) = fresh
        .apply_whole_sliced(None, again, 3, usize::MAX)
        .unwrap();
    assert_eq!(
        (report.refused, report.applied, report.duplicates),
        (0, 5, 7),
        "{report:?}"
    );
    assert_eq!(tables(&fresh), expected);
    assert_eq!(fresh.summary().unwrap(), a.summary().unwrap());
    // A slice per document (by bytes) stores the same.
    let by_bytes = member(&a, 5, "org5", &clock);
    let (report, _) = by_bytes
        .apply_whole_sliced(None, chunks.clone(), usize::MAX, 1)
        .unwrap();
    assert_eq!((report.refused, report.applied), (0, 11), "{report:?}");
    assert_eq!(tables(&by_bytes), expected);
}

/// A chunk that does not decode, in whatever slice, refuses the whole
/// answer before anything is written.
#[test]
fn a_chunk_that_does_not_decode_refuses_the_answer_in_slices() {
    let clock = TestClock::at("2026-01-10T09:00:00Z");
    let (a, mut chunks) = founder_of(7, &clock);
    let n = chunks[6].len();
    chunks[6].truncate(n - 1);
    let fresh = member(&a, 3, "org3", &clock);
    let (report, _) = fresh
        .apply_whole_sliced(None, chunks, 2, usize::MAX)
        .unwrap();
    assert_eq!((report.refused, report.applied), (1, 0), "{report:?}");
    assert!(tables(&fresh).is_empty());
    assert!(!fresh.take_outbox().overflowed);
}
