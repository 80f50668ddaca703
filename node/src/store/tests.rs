//! The store's tests: both stores, the format rewrite, compaction.

use std::path::Path;

use super::*;

/// sled 0.34 reports a held lock as an `Other` I/O error; it is told
/// apart from other errors, a store whose lock stays held is `Locked`,
/// and one whose handle was just dropped opens (after sled's flusher
/// thread lets go of the lock).
#[test]
fn a_held_sled_lock_is_recognised_and_a_dropped_one_is_waited_for() {
    let dir = tempfile::tempdir().unwrap();
    let held = SledStore::open(dir.path()).unwrap();
    let err = sled_config(dir.path()).open().unwrap_err();
    assert!(is_lock_error(&err), "{err:?}");
    assert!(!is_lock_error(&sled::Error::Unsupported("x".into())));
    assert!(matches!(
        SledStore::open(dir.path()),
        Err(StoreError::Locked)
    ));
    drop(held);
    for _ in 0..5 {
        let s = SledStore::open(dir.path()).unwrap();
        drop(s);
    }
}

fn exercise(store: &dyn Store) {
    store
        .write(vec![
            (keys::doc(keys::RECORD, "practice/p-1"), Some(b"1".to_vec())),
            (keys::doc(keys::RECORD, "practice/p-2"), Some(b"2".to_vec())),
            (keys::doc(keys::RECORD, "event/e-1"), Some(b"3".to_vec())),
        ])
        .unwrap();
    store.flush().unwrap();
    let got: Vec<_> = store
        .scan_prefix(&keys::doc(keys::RECORD, "practice/"))
        .map(|e| e.unwrap().1)
        .collect();
    assert_eq!(got, vec![b"1".to_vec(), b"2".to_vec()]);
    // A scan that goes on after a key, within its prefix only.
    let after = |prefix: &[u8], after: &[u8]| -> Vec<Vec<u8>> {
        store
            .scan_after(prefix, after)
            .map(|e| e.unwrap().1)
            .collect()
    };
    let records = [keys::RECORD, 0];
    let e1 = keys::doc(keys::RECORD, "event/e-1");
    let p1 = keys::doc(keys::RECORD, "practice/p-1");
    let p2 = keys::doc(keys::RECORD, "practice/p-2");
    assert_eq!(after(&records, &e1), vec![b"1".to_vec(), b"2".to_vec()]);
    assert_eq!(after(&records, &p1), vec![b"2".to_vec()]);
    assert!(after(&records, &p2).is_empty());
    assert_eq!(
        after(&keys::doc(keys::RECORD, "practice/"), b""),
        after(&records, &e1)
    );
    assert_eq!(
        after(&records, b"a"),
        vec![b"3".to_vec(), b"1".to_vec(), b"2".to_vec()]
    );
    assert!(after(&[keys::DOC, 0], b"").is_empty());
    store
        .write(vec![(keys::doc(keys::RECORD, "practice/p-1"), None)])
        .unwrap();
    assert_eq!(
        store.get(&keys::doc(keys::RECORD, "practice/p-1")).unwrap(),
        None
    );
    assert_eq!(
        store.get(&keys::doc(keys::RECORD, "event/e-1")).unwrap(),
        Some(b"3".to_vec())
    );
}

#[test]
fn memory_store_behaves() {
    exercise(&MemoryStore::default());
}

#[test]
fn sled_store_behaves_and_persists() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = SledStore::open(dir.path()).unwrap();
        exercise(&s);
    }
    let s = SledStore::open(dir.path()).unwrap();
    assert_eq!(
        s.get(&keys::doc(keys::RECORD, "practice/p-2")).unwrap(),
        Some(b"2".to_vec())
    );
}

/// The formats before `sled-zstd-1`, as earlier versions of r2com left a
/// store: sled's pages uncompressed, search texts stored.
#[derive(Clone, Copy, Debug)]
enum Before {
    /// Values as given, no format entry.
    Plain,
    /// `tagged-zstd-1`: each value compressed on its own behind a tag byte.
    Tagged,
}

/// A store of format `before` in `dir` holding `values`; its size.
fn old_store(dir: &Path, before: Before, values: &[Entry]) -> u64 {
    let db = sled_store::plain_config(dir).open().unwrap();
    for (k, v) in values {
        match before {
            Before::Plain => db.insert(k, v.clone()),
            Before::Tagged => db.insert(k, codec::encode(v)),
        }
        .unwrap();
    }
    if let Before::Tagged = before {
        db.open_tree(b"r2com-format")
            .unwrap()
            .insert(b"values", b"tagged-zstd-1")
            .unwrap();
    }
    db.flush().unwrap();
    db.size_on_disk().unwrap()
}

/// `n` records, and the search texts older stores kept for every third.
fn old_values(n: usize) -> (Vec<Entry>, Vec<Entry>) {
    let text = "réinsertion famille communauté confiance ".repeat(50);
    let records = (0..n)
        .map(|i| {
            let k = keys::doc(keys::RECORD, &format!("practice/p-{i:06}"));
            (
                k,
                format!("{{\"id\":{i},\"body\":\"{text}\"}}").into_bytes(),
            )
        })
        .collect();
    let texts = (0..n)
        .step_by(3)
        .map(|i| {
            let k = keys::doc(keys::SEARCH_BEFORE, &format!("practice/p-{i:06}"));
            (k, format!("{i} {text}").into_bytes())
        })
        .collect();
    (records, texts)
}

/// The store in `path` holds `records` and no search text, in the current
/// format (only a sled opened with page compression opens it), and no
/// rewrite is left next to it.
fn holds_in_current_format(path: &Path, records: &[Entry]) {
    let s = SledStore::open(path).unwrap();
    for (k, v) in records.iter().step_by(97) {
        assert_eq!(s.get(k).unwrap().as_ref(), Some(v));
    }
    let scanned: Vec<_> = s
        .scan_prefix(&[keys::RECORD, 0])
        .map(|e| e.unwrap())
        .collect();
    assert_eq!(scanned, records);
    assert!(s.scan_keys(&[keys::SEARCH_BEFORE, 0]).next().is_none());
    drop(s);
    let err = sled_store::plain_config(path).open().unwrap_err();
    assert!(err.to_string().contains("use_compression"), "{err}");
    for suffix in [".rewrite", ".before-rewrite"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        assert!(!Path::new(&name).exists(), "{suffix} left behind");
    }
}

#[test]
fn a_store_of_a_format_before_is_rewritten_once_without_search_texts() {
    for before in [Before::Plain, Before::Tagged] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store");
        let (records, texts) = old_values(3000);
        let old = old_store(&path, before, &[records.clone(), texts].concat());
        holds_in_current_format(&path, &records);
        // Again: nothing left to rewrite, values unchanged.
        let s = SledStore::open(&path).unwrap();
        assert_eq!(s.get(&records[5].0).unwrap(), Some(records[5].1.clone()));
        let new = s.size_on_disk();
        drop(s);
        holds_in_current_format(&path, &records);
        let smaller = match before {
            Before::Plain => new * 4 < old,
            Before::Tagged => new < old,
        };
        assert!(smaller, "{before:?}: now {new} bytes, was {old}");
    }
}

#[test]
fn a_rewrite_cut_short_is_finished_or_undone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let key = keys::doc(keys::RECORD, "practice/p-1");
    {
        let s = SledStore::open(&path).unwrap();
        s.write(vec![(key.clone(), Some(b"kept".to_vec()))])
            .unwrap();
        s.flush().unwrap();
    }
    // Killed while building the copy: the partial copy is dropped.
    std::fs::create_dir(dir.path().join("store.rewrite")).unwrap();
    std::fs::write(dir.path().join("store.rewrite/db"), b"partial").unwrap();
    let s = SledStore::open(&path).unwrap();
    assert_eq!(s.get(&key).unwrap(), Some(b"kept".to_vec()));
    drop(s);
    assert!(!dir.path().join("store.rewrite").exists());
    // Killed between moving the store aside and moving the copy in:
    // the (complete) copy is put in place.
    SledStore::compact(&path).unwrap();
    std::fs::rename(&path, dir.path().join("store.rewrite")).unwrap();
    std::fs::create_dir(dir.path().join("store.before-rewrite")).unwrap();
    let s = SledStore::open(&path).unwrap();
    assert_eq!(s.get(&key).unwrap(), Some(b"kept".to_vec()));
    assert!(!dir.path().join("store.before-rewrite").exists());
}

/// A crash at each step of the rewrite of a store of a format before into
/// the current one: the next open finishes it, or undoes it and starts
/// over.
#[test]
fn an_upgrade_cut_short_is_finished_or_undone() {
    for before in [Before::Plain, Before::Tagged] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store");
        let (new_dir, old_dir) = (
            dir.path().join("store.rewrite"),
            dir.path().join("store.before-rewrite"),
        );
        let (records, texts) = old_values(300);
        let all = [records.clone(), texts].concat();
        // Killed while building the copy: a partial copy in the current
        // format next to the old store is dropped, and the rewrite starts
        // over.
        old_store(&path, before, &all);
        {
            let partial = sled_config(&new_dir).open().unwrap();
            partial.insert(&records[0].0, b"partial".to_vec()).unwrap();
            partial.flush().unwrap();
        }
        holds_in_current_format(&path, &records);
        // Killed after the old store was moved aside, before the complete
        // copy was moved in: the copy is put in place.
        std::fs::rename(&path, &new_dir).unwrap();
        old_store(&old_dir, before, &all);
        holds_in_current_format(&path, &records);
        // Killed after the copy was moved in, before the old store was
        // removed: the old store is removed.
        old_store(&old_dir, before, &all);
        holds_in_current_format(&path, &records);
    }
}

/// A value that compresses poorly, so that a store of them grows.
fn noise(i: usize, round: usize) -> Vec<u8> {
    let mut x = (i * 7919 + round * 104_729) as u64 | 1;
    (0..2000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn practice(i: usize) -> Vec<u8> {
    keys::doc(keys::RECORD, &format!("practice/p-{i:06}"))
}

/// A store in `path` written over 8 times (sled keeps old pages), holding
/// `noise(i, 7)` for 1000 practices; its size.
fn grown_store(path: &Path) -> u64 {
    let s = SledStore::open(path).unwrap();
    for round in 0..8 {
        for chunk in (0..1000).collect::<Vec<_>>().chunks(100) {
            let batch = chunk.iter().map(|&i| (practice(i), Some(noise(i, round))));
            s.write(batch.collect()).unwrap();
        }
    }
    s.flush().unwrap();
    s.size_on_disk()
}

/// Everything under the record table of the store in `path`.
fn records_in(s: &SledStore) -> std::collections::BTreeMap<Vec<u8>, Vec<u8>> {
    s.scan_prefix(&[keys::RECORD, 0])
        .map(|e| e.unwrap())
        .collect()
}

fn no_rewrite_left(path: &Path) {
    for suffix in [".rewrite", ".before-rewrite"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        assert!(!Path::new(&name).exists(), "{suffix} left behind");
    }
}

#[test]
fn a_store_that_grew_is_compacted_in_the_background() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let grown = grown_store(&path);
    // Opening does not compact: that would hold up the node's start (sled
    // may add a little to the store when it opens it).
    let s = SledStore::open(&path).unwrap();
    assert!(
        s.size_on_disk() >= grown,
        "opened {} bytes, grown {grown}",
        s.size_on_disk()
    );
    assert!(s.compact_in_background().unwrap());
    s.wait_for_compaction();
    let compacted = s.size_on_disk();
    assert!(
        compacted < grown,
        "grown {grown} bytes, compacted {compacted}"
    );
    for i in (0..1000).step_by(71) {
        assert_eq!(s.get(&practice(i)).unwrap(), Some(noise(i, 7)));
    }
    no_rewrite_left(&path);
    drop(s);
    // Not grown since: nothing to compact, values intact.
    let s = SledStore::open(&path).unwrap();
    assert!(!s.compact_in_background().unwrap());
    assert!(s.size_on_disk() < grown);
    assert_eq!(s.get(&practice(999)).unwrap(), Some(noise(999, 7)));
}

/// Compacting on the calling thread (what an import does at its end): only
/// a store that grew, values intact.
#[test]
fn a_store_that_grew_is_compacted_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let grown = grown_store(&path);
    let s = SledStore::open(&path).unwrap();
    let store: &dyn Store = &s;
    assert!(store.compact_if_grown().unwrap());
    assert!(s.size_on_disk() < grown);
    assert!(!store.compact_if_grown().unwrap());
    assert_eq!(s.get(&practice(500)).unwrap(), Some(noise(500, 7)));
    no_rewrite_left(&path);
    drop(s);
    let s = SledStore::open(&path).unwrap();
    assert!(!s.compact_in_background().unwrap());
    assert_eq!(records_in(&s).len(), 1000);
}

/// What a node does once its sync rounds are over
/// ([`Store::compact_if_grown_in_background`]): only a store past the size
/// set and twice its size at its last compaction is compacted, one
/// compaction at a time, while writes go on; every value is kept.
#[test]
fn a_store_that_grew_is_compacted_in_the_background_past_the_size_set() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let grown = grown_store(&path);
    let mut s = SledStore::open(&path).unwrap();
    s.set_compact_above(grown * 2);
    let store: &dyn Store = &s;
    assert!(!store.compact_if_grown_in_background().unwrap());
    assert!(!store.compact_if_grown().unwrap());
    s.set_compact_above(grown / 2);
    let (tx, rx) = std::sync::mpsc::channel();
    let go = std::sync::Mutex::new(rx);
    s.live().on_step(move |step| {
        if step == compact::Step::Copying {
            go.lock().unwrap().recv().unwrap();
        }
    });
    let store: &dyn Store = &s;
    assert!(store.compact_if_grown_in_background().unwrap());
    // One at a time: neither a second one nor one on this thread starts
    // while it copies, and writes go on.
    assert!(!store.compact_if_grown_in_background().unwrap());
    assert!(!store.compact_if_grown().unwrap());
    store
        .write(vec![(practice(3), Some(b"written meanwhile".to_vec()))])
        .unwrap();
    store.flush().unwrap();
    tx.send(()).unwrap();
    s.wait_for_compaction();
    assert!(s.size_on_disk() < grown, "{} >= {grown}", s.size_on_disk());
    assert_eq!(
        s.get(&practice(3)).unwrap(),
        Some(b"written meanwhile".to_vec())
    );
    assert_eq!(s.get(&practice(4)).unwrap(), Some(noise(4, 7)));
    assert_eq!(records_in(&s).len(), 1000);
    no_rewrite_left(&path);
    // Compacted: not again until it grows.
    let store: &dyn Store = &s;
    assert!(!store.compact_if_grown_in_background().unwrap());
}

/// A store closed while its compaction copies: the copy is dropped, the
/// store is as it was, and the next start compacts it.
#[test]
fn a_compaction_stops_when_the_store_closes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    grown_store(&path);
    let s = SledStore::open(&path).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    s.live().on_step(move |step| {
        if step == compact::Step::Copying {
            let _ = tx.send(());
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    });
    s.compact_in_background().unwrap();
    rx.recv().unwrap();
    drop(s);
    no_rewrite_left(&path);
    let s = SledStore::open(&path).unwrap();
    assert_eq!(s.get(&practice(3)).unwrap(), Some(noise(3, 7)));
    assert!(s.compact_in_background().unwrap());
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// The node writes (puts, overwrites, deletes) while its store is
/// compacted; every write is in the compacted store. And a crash at each
/// step (a copy of the data directory's files taken there, as kill -9
/// leaves them) opens to a store that holds everything flushed before it.
#[test]
fn a_background_compaction_keeps_every_write_and_survives_a_crash_at_each_step() {
    use compact::Step;
    use std::collections::BTreeMap;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    grown_store(&path);
    let mut model: BTreeMap<Vec<u8>, Vec<u8>> =
        (0..1000).map(|i| (practice(i), noise(i, 7))).collect();
    let s = SledStore::open(&path).unwrap();
    let (step_tx, step_rx) = std::sync::mpsc::channel();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let go_rx = std::sync::Mutex::new(go_rx);
    s.live().on_step(move |step| {
        step_tx.send(step).unwrap();
        go_rx.lock().unwrap().recv().unwrap();
    });
    assert!(s.compact_in_background().unwrap());
    let images = tempfile::tempdir().unwrap();
    let mut expected = Vec::new();
    let mut round = 8;
    loop {
        let step = step_rx.recv().unwrap();
        if matches!(step, Step::Copying | Step::Copied) {
            // Writes while the copy is built, on both sides of the scan:
            // overwrites, deletes, new keys.
            let mut batch = Vec::new();
            for i in [0, 1, 500, 998, 999] {
                batch.push((practice(i), Some(noise(i, round))));
            }
            for i in [2, 600, 997] {
                batch.push((practice(i), None));
            }
            batch.push((practice(1000 + round), Some(noise(1000, round))));
            for (k, v) in &batch {
                match v {
                    Some(v) => model.insert(k.clone(), v.clone()),
                    None => model.remove(k),
                };
            }
            s.write(batch).unwrap();
            s.flush().unwrap();
            round += 1;
        }
        let image = images.path().join(format!("{step:?}"));
        copy_dir(dir.path(), &image);
        expected.push((step, image, model.clone()));
        go_tx.send(()).unwrap();
        if step == Step::Done {
            break;
        }
    }
    s.wait_for_compaction();
    let seen: Vec<_> = expected.iter().map(|(s, _, _)| *s).collect();
    assert_eq!(
        seen,
        [
            Step::Copying,
            Step::Copied,
            Step::Flushed,
            Step::MovedAside,
            Step::MovedIn,
            Step::Done
        ]
    );
    assert_eq!(records_in(&s), model);
    no_rewrite_left(&path);
    drop(s);
    let s = SledStore::open(&path).unwrap();
    assert_eq!(records_in(&s), model);
    drop(s);
    for (step, image, model) in expected {
        let store = image.join("store");
        let s = SledStore::open(&store).unwrap_or_else(|e| panic!("{step:?}: {e}"));
        assert!(records_in(&s) == model, "{step:?}: records differ");
        no_rewrite_left(&store);
    }
}

#[test]
fn a_store_held_by_another_opener_is_locked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let _held = SledStore::open(&path).unwrap();
    assert!(SledStore::compact(&path).is_err());
}
