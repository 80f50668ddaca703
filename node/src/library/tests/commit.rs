use std::sync::Arc;

use r2com_protocol::ids::RecordKind;

use crate::store::failpoint::{Failpoint, FailpointStore};
use crate::store::MemoryStore;
use crate::testing::{library_on, practice, TestClock};

const P: RecordKind = RecordKind::Practice;

/// Nothing enters the outbox before it is durable: a write whose flush
/// fails is refused and announced neither then nor by the next commit.
#[test]
fn a_commit_whose_flush_fails_announces_nothing() {
    let clock = TestClock::at("2026-01-10T09:00:00Z");
    // Flush 1 is the hash-index marker written when the library opens;
    // flush 2 is the first add's.
    let store = FailpointStore::new(
        MemoryStore::default(),
        Failpoint::parse("flush:2:fail").unwrap(),
    );
    let lib = library_on(Arc::new(store), 1, &clock);
    let failed = lib.add(P, practice("p-1", "Not durable"), false, clock.now());
    assert!(failed.is_err(), "{failed:?}");
    let out = lib.take_outbox();
    assert!(out.changes.is_empty() && !out.overflowed, "{out:?}");
    lib.add(P, practice("p-2", "Durable"), false, clock.now())
        .unwrap();
    let out = lib.take_outbox();
    assert_eq!(out.changes.len(), 1, "only the committed change");
    let announced = r2com_protocol::envelope::SignedChange::decode(&out.changes[0].1).unwrap();
    assert_eq!(announced.doc.record_id(), "p-2");
}
