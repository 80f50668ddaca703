//! Applying received changes, on in-memory libraries.

use r2com_protocol::control::Edit;
use r2com_protocol::doc;
use r2com_protocol::envelope::SignedChange;
use r2com_protocol::ids::RecordKind;
use r2com_protocol::record::Record;

use crate::testing::{consortium, envelopes_of, hand_over, key, library, practice, TestClock};

const P: RecordKind = RecordKind::Practice;

#[test]
fn received_changes_are_applied_relayed_but_not_back_and_counted_once() {
    let clock = TestClock::at("2026-01-10T09:00:00Z");
    let (a, b) = consortium(&clock);
    a.add(P, practice("p-1", "From A"), false, clock.now())
        .unwrap();
    a.edit(
        P,
        "p-1",
        &[Edit::Set {
            field: "status".into(),
            value: "archived".into(),
        }],
        false,
        clock.now(),
    )
    .unwrap();
    let from = libp2p::PeerId::random();
    let (report, missing) = b.apply(Some(from), Vec::new(), envelopes_of(&a)).unwrap();
    assert_eq!((report.received, report.applied, report.refused), (2, 2, 0));
    assert!(!missing);
    assert_eq!(b.show(P, "p-1").unwrap(), a.show(P, "p-1").unwrap());
    assert_eq!(b.summary().unwrap(), a.summary().unwrap());
    // Relayed to every peer but the one they came from.
    let out = b.take_outbox();
    assert_eq!(out.changes.len(), 2);
    assert!(out.changes.iter().all(|(origin, _)| *origin == Some(from)));
    // Again: duplicates, nothing new to relay.
    let (report, _) = b.apply(Some(from), Vec::new(), envelopes_of(&a)).unwrap();
    assert_eq!((report.applied, report.duplicates), (0, 2));
    assert!(b.take_outbox().changes.is_empty());
}

#[test]
fn a_change_waiting_for_its_dependency_is_applied_when_it_arrives() {
    let clock = TestClock::at("2026-01-10T09:00:00Z");
    let (a, b) = consortium(&clock);
    a.add(P, practice("p-1", "First"), false, clock.now())
        .unwrap();
    let first = envelopes_of(&a);
    a.edit(
        P,
        "p-1",
        &[Edit::Set {
            field: "title".into(),
            value: "Second".into(),
        }],
        false,
        clock.now(),
    )
    .unwrap();
    let second: Vec<Vec<u8>> = envelopes_of(&a)
        .into_iter()
        .filter(|e| !first.contains(e))
        .collect();
    let (report, missing) = b.apply(None, Vec::new(), second).unwrap();
    assert_eq!(report.applied, 1);
    assert!(
        missing,
        "the edit waits for the change that created the record"
    );
    assert!(b.show(P, "p-1").is_err());
    let (_, missing) = b.apply(None, Vec::new(), first).unwrap();
    assert!(!missing);
    assert_eq!(b.show(P, "p-1").unwrap().title(), "Second");
    assert_eq!(b.summary().unwrap(), a.summary().unwrap());
}

#[test]
fn a_forged_change_is_refused_and_nothing_of_its_batch_is_applied() {
    let clock = TestClock::at("2026-01-10T09:00:00Z");
    let (a, b) = consortium(&clock);
    a.add(P, practice("p-1", "Honest"), false, clock.now())
        .unwrap();
    a.add(P, practice("p-2", "Forged"), false, clock.now())
        .unwrap();
    let mut envs = envelopes_of(&a);
    // Swap the signature of one envelope for the other's: well-formed,
    // but it does not verify.
    let mut forged = SignedChange::decode(&envs[1]).unwrap();
    forged.signature = SignedChange::decode(&envs[0]).unwrap().signature;
    envs[1] = forged.encode();
    let (report, _) = b.apply(None, Vec::new(), envs).unwrap();
    assert_eq!((report.refused, report.applied), (1, 0), "{report:?}");
    assert!(
        b.show(P, "p-1").is_err(),
        "the honest change of the batch is not applied"
    );
    assert_eq!(b.counts().unwrap().changes, 0);
    assert!(b.take_outbox().changes.is_empty());
    // Bytes that are no envelope at all.
    let (report, _) = b.apply(None, Vec::new(), vec![b"junk".to_vec()]).unwrap();
    assert_eq!(report.refused, 1);
    assert!(
        report.refusals[0].starts_with("change #0"),
        "{:?}",
        report.refusals
    );
}

#[test]
fn a_change_by_a_key_outside_the_roster_is_not_allowed_and_not_blamed() {
    let clock = TestClock::at("2026-01-10T09:00:00Z");
    let (a, _) = consortium(&clock);
    // Well-formed and signed for this consortium, by a key it never admitted.
    let stranger = key(9);
    let record = Record::from_value(P, practice("p-9", "Not a member")).unwrap();
    let (_, change) = doc::create(&stranger, &record, clock.now().timestamp_millis()).unwrap();
    let env = SignedChange::sign(&stranger, &a.scope(), &record.doc_id(), change).encode();
    let (report, _) = a.apply(None, Vec::new(), vec![env]).unwrap();
    assert_eq!((report.applied, report.refused), (0, 0), "{report:?}");
    assert_eq!(report.not_allowed.len(), 1, "{report:?}");
    assert!(a.show(P, "p-9").is_err());
    // Signed for no consortium (a node outside any): that does not verify.
    let outsider = library(8, &clock);
    outsider
        .add(P, practice("p-8", "Elsewhere"), false, clock.now())
        .unwrap();
    let report = hand_over(&outsider, &a);
    assert_eq!((report.applied, report.refused), (0, 1), "{report:?}");
}
