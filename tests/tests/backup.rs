//! `backup`, `restore` and `verify --backup`: a node rebuilt on a new
//! machine from its backup and its key is the same node.

use std::path::{Path, PathBuf};

use r2com_tests::{gen_dataset, sorted_dataset, TestNode};

/// A fresh data directory holding only `key` (as on a new machine where
/// the operator put the node's key back).
fn new_machine_with_key(key: &Path) -> TestNode {
    let n = TestNode::init();
    // `init` made a key of its own (0600): replace its bytes.
    std::fs::write(n.data_dir().join("node.key"), std::fs::read(key).unwrap()).unwrap();
    n
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// The backup with one byte flipped in its middle.
fn flipped(file: &Path) -> PathBuf {
    let mut bytes = std::fs::read(file).unwrap();
    let i = bytes.len() / 2;
    bytes[i] ^= 0x20;
    let out = file.with_extension("flipped");
    std::fs::write(&out, bytes).unwrap();
    out
}

#[test]
fn a_backup_restores_the_same_node_and_a_damaged_one_is_refused() {
    let mut a = TestNode::init();
    a.create_consortium("RAN", "lmds", "LMDS", "FR");
    a.start();
    a.ok(&["import", gen_dataset(60, 20, 2).to_str().unwrap()]);
    for i in 0..5 {
        let id = format!("p-{i:06}");
        a.ok(&["practice", "edit", &id, "--splice", "0:0:Revised. "]);
    }
    a.ok(&["peer", "add", "/ip4/192.0.2.7/tcp/7820"]);
    let scratch = tempfile::tempdir().unwrap();
    let file = scratch.path().join("a.r2b");

    // While it runs.
    let report = a.json(&["backup", "--out", file.to_str().unwrap()]);
    let changes = a.json(&["status"])["counts"]["changes"].as_u64().unwrap();
    assert_eq!(report["changes"], changes, "{report}");
    assert!(report["entries"].as_u64().unwrap() >= 1, "{report}");
    assert_eq!(report["addrs"], 1, "{report}");
    assert_eq!(report["peer_id"], a.peer_id());
    let checked = a.json(&["verify", "--backup", file.to_str().unwrap()]);
    assert_eq!(checked["changes"], report["changes"]);
    assert_eq!(checked["sha256"], report["sha256"]);
    // Compressed: smaller than the records it holds.
    let export = a.export();
    assert!(
        report["bytes"].as_u64().unwrap() < serde_json::to_vec(&export).unwrap().len() as u64,
        "{report}"
    );
    a.stop();

    // Restored on a new machine with the old key: the same node.
    let key = a.data_dir().join("node.key");
    let mut b = new_machine_with_key(&key);
    let restored = b.json(&["restore", file.to_str().unwrap()]);
    assert_eq!(restored["changes"], report["changes"]);
    assert_eq!(b.peer_id(), a.peer_id());
    assert_eq!(sorted_dataset(&b.export()), sorted_dataset(&export));
    let v = b.json(&["verify"]);
    assert_eq!(
        (v["changes"].as_u64(), v["invalid"].as_u64()),
        (Some(changes), Some(0))
    );
    assert_eq!(b.json(&["members"]), a.json(&["members"]));
    b.start();
    let st = b.json(&["status"]);
    assert_eq!(st["consortium"]["this_node"], "admin");
    assert_eq!(st["counts"]["changes"], changes);
    b.stop();
    // A second restore onto it is refused: it holds a store now.
    b.fails(&["restore", file.to_str().unwrap()], 3);

    // A stopped node backs up too (its store opened by the CLI).
    let again = scratch.path().join("stopped.r2b");
    let r = a.json(&["backup", "--out", again.to_str().unwrap()]);
    assert_eq!(r["changes"], report["changes"]);

    // One flipped byte: verify says so (exit 6), restore stores nothing.
    let bad = flipped(&file);
    let err = a.json_error(&["verify", "--backup", bad.to_str().unwrap()], 6);
    assert_eq!(err["code"], "verify_failed");
    let c = new_machine_with_key(&key);
    let before = names(c.data_dir());
    c.fails(&["restore", bad.to_str().unwrap()], 6);
    assert_eq!(names(c.data_dir()), before, "nothing stored");
    assert!(!c.store_dir().exists());
    // Positive control: the same directory takes the good backup.
    c.ok(&["restore", file.to_str().unwrap()]);
    assert!(c.store_dir().exists());

    // Another node's key: refused before anything is stored.
    let d = TestNode::init();
    let before = names(d.data_dir());
    let stderr = d.fails(&["restore", file.to_str().unwrap()], 3);
    assert!(stderr.contains("own key"), "{stderr}");
    assert_eq!(names(d.data_dir()), before);
}
