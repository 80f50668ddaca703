//! Changes stored detached from the bytes their document's snapshot holds
//! (`library::changes`): every writer keeps a detached change in its
//! document's snapshot, and every reader gets the change back whole.

use chrono::Duration;

use r2com_protocol::control::Edit;
use r2com_protocol::envelope::SignedChange;
use r2com_protocol::ids::{DocId, RecordKind};

use crate::library::{Library, LibraryError};
use crate::store::keys;
use crate::testing::{consortium, envelopes_of, invite, library, practice, TestClock};

const P: RecordKind = RecordKind::Practice;

fn set(field: &str, value: &str) -> Edit {
    Edit::Set {
        field: field.into(),
        value: value.into(),
    }
}

fn doc(id: &str) -> DocId {
    DocId::new(P, id).unwrap()
}

/// Per stored change of `id` (key order): whether it is stored detached.
fn forms(lib: &Library, id: &str) -> Vec<bool> {
    lib.store()
        .scan_prefix(&keys::changes_of(&doc(id).to_key()))
        .map(|e| e.unwrap().1[0] == 0xDE)
        .collect()
}

fn has_snapshot(lib: &Library, id: &str) -> bool {
    lib.store()
        .get(&keys::doc(keys::SNAPSHOT, &doc(id).to_key()))
        .unwrap()
        .is_some()
}

/// Every stored change reads back whole, verifies, and `verify` finds all
/// of them valid.
fn all_readable(lib: &Library, changes: u64) {
    let v = lib.verify().unwrap();
    assert_eq!(
        (v.changes, v.valid, v.invalid),
        (changes, changes, 0),
        "{v:?}"
    );
    let exported = lib.changes_export().unwrap().changes;
    assert_eq!(exported.len() as u64, changes);
    for h in exported {
        let sc = SignedChange::decode(&hex::decode(h).unwrap()).unwrap();
        sc.verify(&lib.scope()).unwrap();
    }
}

/// The envelope of `id`'s change that `lib` holds and `exclude` lacks.
fn new_envelopes(lib: &Library, since: &[Vec<u8>]) -> Vec<Vec<u8>> {
    envelopes_of(lib)
        .into_iter()
        .filter(|e| !since.contains(e))
        .collect()
}

#[test]
fn an_edit_is_stored_detached_and_every_reader_gets_it_whole() {
    let clock = TestClock::at("2026-01-10T09:00:00Z");
    let (a, b) = consortium(&clock);
    a.add(P, practice("p-1", "One"), false, clock.now())
        .unwrap();
    a.edit(P, "p-1", &[set("title", "Uno")], false, clock.now())
        .unwrap();
    a.edit(P, "p-1", &[set("title", "Eins")], false, clock.now())
        .unwrap();
    assert_eq!(forms(&a, "p-1"), [true, true, true]);
    // Small: the signature and what readers need without the document.
    for e in a.store().scan_prefix(&keys::changes_of("practice/p-1")) {
        assert!(e.unwrap().1.len() < 200);
    }
    all_readable(&a, 3);
    let history = a.history("p-1", true).unwrap();
    assert_eq!(history.changes.len(), 3);
    assert!(history.waiting.is_empty());
    assert_eq!(a.log(None, None, Some(2)).unwrap().len(), 2);
    // The node opens again and reads its document from the snapshot.
    let again = crate::testing::library_on(a.store().clone(), 1, &clock);
    assert_eq!(again.show(P, "p-1").unwrap().title(), "Eins");
    // Served whole to a peer syncing change by change, which stores them
    // detached in turn.
    let report = crate::testing::hand_over(&a, &b);
    assert_eq!((report.applied, report.refused), (3, 0), "{report:?}");
    assert_eq!(b.show(P, "p-1").unwrap().title(), "Eins");
    assert_eq!(forms(&b, "p-1"), [true, true, true]);
    all_readable(&b, 3);
}

#[test]
fn a_change_waiting_for_a_dependency_stays_whole_until_it_applies() {
    let clock = TestClock::at("2026-01-10T09:00:00Z");
    let (a, b) = consortium(&clock);
    a.add(P, practice("p-1", "One"), false, clock.now())
        .unwrap();
    let first = envelopes_of(&a);
    a.edit(P, "p-1", &[set("title", "Two")], false, clock.now())
        .unwrap();
    let second = new_envelopes(&a, &first);
    let seen: Vec<Vec<u8>> = first.iter().chain(&second).cloned().collect();
    a.edit(P, "p-1", &[set("title", "Three")], false, clock.now())
        .unwrap();
    let third = new_envelopes(&a, &seen);

    // B gets the first change: stored detached beside its snapshot.
    b.apply(None, Vec::new(), first).unwrap();
    assert_eq!(forms(&b, "p-1"), [true]);
    // Then the third, whose dependency (the second) has not arrived: the
    // snapshot goes, and with it the first change's bytes are stored whole.
    let (report, waiting) = b.apply(None, Vec::new(), third).unwrap();
    assert_eq!(report.applied, 1, "{report:?}");
    assert!(waiting);
    assert!(!has_snapshot(&b, "p-1"));
    assert_eq!(forms(&b, "p-1"), [false, false]);
    all_readable(&b, 2);
    assert_eq!(b.show(P, "p-1").unwrap().title(), "One");
    assert_eq!(b.history("p-1", false).unwrap().waiting.len(), 1);
    // The second arrives: all apply, the snapshot is back and holds all
    // three, which are stored detached again.
    let (report, waiting) = b.apply(None, Vec::new(), second).unwrap();
    assert_eq!(report.applied, 1, "{report:?}");
    assert!(!waiting);
    assert!(has_snapshot(&b, "p-1"));
    assert_eq!(forms(&b, "p-1"), [true, true, true]);
    all_readable(&b, 3);
    assert_eq!(b.show(P, "p-1").unwrap().title(), "Three");
}

/// A member's changes are retracted when the roster drops it: the
/// document is rebuilt from the rest, read whole before its snapshot is
/// replaced; a change that built on a retracted one waits, stored whole.
#[test]
fn retracting_a_detached_change_leaves_the_rest_readable() {
    let clock = TestClock::at("2026-01-10T09:00:00Z");
    let (a, b) = consortium(&clock);
    let c = library(3, &clock);
    let token = invite(&a, &c, "act", Duration::days(1), &clock);
    c.join(&token, clock.now()).unwrap();
    assert!(a
        .admit_from_peer(&c.key().public().to_hex(), c.own_admission().unwrap())
        .unwrap());
    for n in [&b, &c] {
        n.apply(None, crate::testing::roster_of(&a), Vec::new())
            .unwrap();
    }
    // The same admin key on a second node, which never sees C's change.
    let copy = std::sync::Arc::new(crate::store::MemoryStore::default());
    for e in a.store().scan_prefix(&[]) {
        let (k, v) = e.unwrap();
        crate::store::Store::write(&*copy, vec![(k, Some(v))]).unwrap();
    }
    let a2 = crate::testing::library_on(copy, 1, &clock);

    // A writes p-1 and p-2; C edits p-1; A edits p-1 on top of C's edit.
    a.add(P, practice("p-1", "One"), false, clock.now())
        .unwrap();
    a.add(P, practice("p-2", "Two"), false, clock.now())
        .unwrap();
    crate::testing::hand_over(&a, &c);
    c.edit(P, "p-1", &[set("summary", "By C.")], false, clock.now())
        .unwrap();
    crate::testing::hand_over(&c, &a);
    a.edit(P, "p-1", &[set("title", "On top of C")], false, clock.now())
        .unwrap();
    assert_eq!(forms(&a, "p-1"), [true, true, true]);
    all_readable(&a, 4);

    // C is revoked by the admin's other node, which saw none of its changes.
    a2.revoke(&c.key().public().to_hex(), "left", clock.now())
        .unwrap();
    let (report, _) = a
        .apply(None, crate::testing::roster_of(&a2), Vec::new())
        .unwrap();
    assert_eq!(report.refused, 0, "{report:?}");
    // C's change is gone; A's first stays detached in the new snapshot, and
    // A's edit on top of C's waits, stored whole.
    let history = a.history("p-1", false).unwrap();
    assert_eq!(history.changes.len(), 1);
    assert_eq!(history.waiting.len(), 1);
    assert!(!has_snapshot(&a, "p-1"));
    let mut f = forms(&a, "p-1");
    f.sort();
    assert_eq!(f, [false, false]);
    assert_eq!(a.show(P, "p-1").unwrap().title(), "One");
    assert_eq!(forms(&a, "p-2"), [true]);
    all_readable(&a, 3);
    let again = crate::testing::library_on(a.store().clone(), 1, &clock);
    assert_eq!(again.show(P, "p-1").unwrap().title(), "One");
}

#[test]
fn an_erased_record_leaves_nothing_and_the_rest_reads() {
    let clock = TestClock::at("2026-01-10T09:00:00Z");
    let (a, _b) = consortium(&clock);
    for (id, title) in [("p-1", "One"), ("p-2", "Two")] {
        a.add(P, practice(id, title), false, clock.now()).unwrap();
        a.edit(P, id, &[set("title", "Edited")], false, clock.now())
            .unwrap();
    }
    a.erase("practice/p-1", "personal data", clock.now())
        .unwrap();
    assert!(forms(&a, "p-1").is_empty());
    assert!(!has_snapshot(&a, "p-1"));
    assert_eq!(forms(&a, "p-2"), [true, true]);
    all_readable(&a, 2);
}

#[test]
fn verify_reports_a_damaged_snapshot_and_readers_call_the_store_corrupt() {
    let clock = TestClock::at("2026-01-10T09:00:00Z");
    let lib = library(1, &clock);
    lib.add(P, practice("p-1", "One"), false, clock.now())
        .unwrap();
    lib.add(P, practice("p-2", "Two"), false, clock.now())
        .unwrap();
    lib.edit(P, "p-2", &[set("title", "Deux")], false, clock.now())
        .unwrap();
    let key = keys::doc(keys::SNAPSHOT, "practice/p-2");
    let mut snapshot = lib.store().get(&key).unwrap().unwrap();
    let mid = snapshot.len() / 2;
    snapshot[mid] ^= 0x40;
    lib.store()
        .write(vec![(key.clone(), Some(snapshot))])
        .unwrap();
    let v = lib.verify().unwrap();
    assert_eq!((v.changes, v.valid, v.invalid), (3, 1, 2), "{v:?}");
    assert!(
        v.failures
            .iter()
            .all(|f| f.starts_with("practice/p-2 ") && f.contains("snapshot")),
        "{:?}",
        v.failures
    );
    assert!(matches!(
        lib.changes_export(),
        Err(LibraryError::Corrupt(why)) if why.contains("practice/p-2")
    ));
    // A snapshot gone altogether: the same.
    lib.store().write(vec![(key, None)]).unwrap();
    let v = lib.verify().unwrap();
    assert_eq!((v.valid, v.invalid), (1, 2), "{v:?}");
    assert!(v.failures[0].contains("no snapshot"), "{:?}", v.failures);
    // An entry that says something other than its change: caught too.
    let (k, mut entry) = lib
        .store()
        .scan_prefix(&keys::changes_of("practice/p-1"))
        .next()
        .unwrap()
        .unwrap();
    let last = entry.len() - 1;
    entry[last] ^= 1;
    lib.store().write(vec![(k, Some(entry))]).unwrap();
    let v = lib.verify().unwrap();
    assert_eq!((v.valid, v.invalid), (0, 3), "{v:?}");
}

#[test]
fn a_backup_of_a_detached_store_carries_whole_changes_and_restores() {
    let clock = TestClock::at("2026-01-10T09:00:00Z");
    let dir = tempfile::tempdir().unwrap();
    let (key, _) = crate::identity::init(dir.path()).unwrap();
    let store: std::sync::Arc<dyn crate::store::Store> =
        std::sync::Arc::new(crate::store::MemoryStore::default());
    let lib = Library::with_clock(
        store,
        r2com_protocol::identity::NodeKey::from_seed(key.seed()),
        clock.clock(),
    )
    .unwrap();
    lib.consortium_create("RAN", crate::testing::org("lmds"), clock.now())
        .unwrap();
    for (id, title) in [("p-1", "One"), ("p-2", "Two")] {
        lib.add(P, practice(id, title), false, clock.now()).unwrap();
        lib.edit(
            P,
            id,
            &[set("title", &format!("{title}!"))],
            false,
            clock.now(),
        )
        .unwrap();
    }
    assert_eq!(forms(&lib, "p-1"), [true, true]);
    let file = dir.path().join("node.r2b");
    let report =
        crate::backup::write(&crate::backup::Source::of(&lib, false).unwrap(), &file).unwrap();
    assert_eq!(report.changes, 4);
    crate::backup::restore(dir.path(), &file).unwrap();
    let restored: std::sync::Arc<dyn crate::store::Store> = std::sync::Arc::new(
        crate::store::SledStore::open(&dir.path().join(crate::data_dir::STORE_DIR)).unwrap(),
    );
    let back = Library::with_clock(restored, key, clock.clock()).unwrap();
    assert_eq!(back.show(P, "p-2").unwrap().title(), "Two!");
    assert_eq!(forms(&back, "p-1"), [true, true]);
    all_readable(&back, 4);
}

/// A clone: the seed serves whole documents (with their envelopes, the
/// detached ones rebuilt from its snapshots, or their signatures only), and
/// the new node stores the changes detached beside the snapshots received.
#[test]
fn a_clone_serves_detached_changes_and_stores_them_detached() {
    let clock = TestClock::at("2026-01-10T09:00:00Z");
    let (a, b) = consortium(&clock);
    for (id, title) in [("p-1", "One"), ("p-2", "Two")] {
        a.add(P, practice(id, title), false, clock.now()).unwrap();
        a.edit(
            P,
            id,
            &[set("title", &format!("{title}!"))],
            false,
            clock.now(),
        )
        .unwrap();
    }
    let all: Vec<u8> = (0..=255).collect();
    for envelopes in [true, false] {
        // A copy of B, which holds the roster and no record yet.
        let copy = std::sync::Arc::new(crate::store::MemoryStore::default());
        for e in b.store().scan_prefix(&[]) {
            let (k, v) = e.unwrap();
            crate::store::Store::write(&*copy, vec![(k, Some(v))]).unwrap();
        }
        let fresh = crate::testing::library_on(copy, 2, &clock);
        let chunks = a.get_docs(&all, usize::MAX, envelopes).unwrap();
        assert_eq!(chunks.len(), 2);
        let (report, waiting) = fresh.apply_whole_docs(None, chunks).unwrap();
        assert_eq!((report.applied, report.refused), (4, 0), "{report:?}");
        assert!(!waiting);
        assert_eq!(fresh.show(P, "p-2").unwrap().title(), "Two!");
        assert_eq!(forms(&fresh, "p-1"), [true, true]);
        all_readable(&fresh, 4);
    }
}
