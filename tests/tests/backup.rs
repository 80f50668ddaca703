//! `backup`, `restore` and `verify --backup`: a node rebuilt on a new
//! machine from its backup and its key is the same node.

use std::path::{Path, PathBuf};

use r2com_tests::{gen_dataset, material, sorted_dataset, TestNode};

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

/// The backup with one byte of its first file piece changed, and its
/// checksum and compression made whole again: only the file's BLAKE3
/// hash can tell. The forged file and the hash of the file changed.
fn forged_piece(file: &Path) -> (PathBuf, String) {
    use base64::Engine;
    use sha2::{Digest, Sha256};
    use std::io::{BufRead, Write};
    let b64 = base64::engine::general_purpose::STANDARD;
    let z = zstd::stream::Decoder::new(std::fs::File::open(file).unwrap()).unwrap();
    let mut lines: Vec<serde_json::Value> = std::io::BufReader::new(z)
        .lines()
        .map(|l| serde_json::from_str(&l.unwrap()).unwrap())
        .collect();
    let at = lines
        .iter()
        .position(|l| l.get("piece").is_some())
        .expect("a file piece");
    let hash = lines[at - 1]["file"]["hash"].as_str().unwrap().to_owned();
    let piece = &mut lines[at];
    let mut bytes = b64.decode(piece["piece"].as_str().unwrap()).unwrap();
    bytes[100] ^= 0x01;
    piece["piece"] = b64.encode(&bytes).into();
    let mut sha = Sha256::new();
    let out = file.with_extension("forged");
    let mut z = zstd::stream::Encoder::new(std::fs::File::create(&out).unwrap(), 3).unwrap();
    let last = lines.len() - 1;
    for (i, l) in lines.iter_mut().enumerate() {
        if i == last {
            l["end"]["sha256"] = hex::encode(sha.finalize_reset()).into();
        }
        let mut text = serde_json::to_vec(l).unwrap();
        text.push(b'\n');
        sha.update(&text);
        z.write_all(&text).unwrap();
    }
    z.finish().unwrap();
    (out, hash)
}

#[test]
fn a_backup_holds_the_files_held_and_restore_puts_them_back() {
    let mut a = TestNode::init();
    a.create_consortium("RAN", "lmds", "LMDS", "FR");
    a.start();
    a.ok(&["import", gen_dataset(5, 2, 3).to_str().unwrap()]);
    let scratch = tempfile::tempdir().unwrap();
    // One file of three pieces (1 MiB each at most), one small.
    let (slides, slides_data) = material(scratch.path(), "slides.pdf", 2_500_000, 5);
    let (guide, guide_data) = material(scratch.path(), "guide.pdf", 40_000, 9);
    let mut hashes = Vec::new();
    for (id, path) in [("p-000001", &slides), ("p-000002", &guide)] {
        let v = a.json(&["attach", id, path.to_str().unwrap()]);
        hashes.push(v["attachment"]["hash"].as_str().unwrap().to_owned());
    }
    let size = (slides_data.len() + guide_data.len()) as u64;

    let file = scratch.path().join("a.r2b");
    let report = a.json(&["backup", "--out", file.to_str().unwrap()]);
    assert_eq!(
        (report["files"].as_u64(), report["file_bytes"].as_u64()),
        (Some(2), Some(size)),
        "{report}"
    );
    let checked = a.json(&["verify", "--backup", file.to_str().unwrap()]);
    assert_eq!(
        (checked["files"].as_u64(), checked["file_bytes"].as_u64()),
        (Some(2), Some(size)),
        "{checked}"
    );
    // Without files: the same history, none of the bytes.
    let lean = scratch.path().join("lean.r2b");
    let r = a.json(&["backup", "--out", lean.to_str().unwrap(), "--without-files"]);
    assert_eq!(
        (r["files"].as_u64(), r["changes"].clone()),
        (Some(0), report["changes"].clone()),
        "{r}"
    );
    assert!(
        r["bytes"].as_u64().unwrap() + size <= report["bytes"].as_u64().unwrap() + 4096,
        "{r}\n{report}"
    );
    a.stop();

    // Restored: the files are back, byte-identical, held.
    let key = a.data_dir().join("node.key");
    let mut b = new_machine_with_key(&key);
    let restored = b.json(&["restore", file.to_str().unwrap()]);
    assert_eq!(restored["files"], 2, "{restored}");
    for (hash, data) in hashes.iter().zip([&slides_data, &guide_data]) {
        let held = std::fs::read(b.data_dir().join("files").join(hash)).unwrap();
        assert!(&held == data, "the restored file {hash} differs");
    }
    b.start();
    let listed = b.json(&["attachment", "list"]);
    assert_eq!(listed.as_array().unwrap().len(), 2, "{listed}");
    assert!(
        listed.as_array().unwrap().iter().all(|r| r["held"] == true),
        "{listed}"
    );
    let out = scratch.path().join("out.pdf");
    b.ok(&[
        "attachment",
        "get",
        &hashes[0],
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(std::fs::read(&out).unwrap() == slides_data);
    let v = b.json(&["verify"]);
    assert_eq!(
        (v["files"].as_u64(), v["files_invalid"].as_u64()),
        (Some(2), Some(0)),
        "{v}"
    );
    b.stop();
    // `verify` re-hashes the files held: a damaged one fails it (exit 6).
    let held = b.data_dir().join("files").join(&hashes[1]);
    let mut bytes = std::fs::read(&held).unwrap();
    bytes[20] ^= 0x01;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&held, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::write(&held, &bytes).unwrap();
    let err = b.json_error(&["verify"], 6);
    let msg = err["message"].as_str().unwrap();
    assert!(
        msg.contains("1 of 2 files") && msg.contains(&hashes[1]),
        "{msg}"
    );
    // The lean backup restores the history without the files.
    let c = new_machine_with_key(&key);
    let r = c.json(&["restore", lean.to_str().unwrap()]);
    assert_eq!(r["files"], 0);
    assert!(!c.data_dir().join("files").join(&hashes[0]).exists());

    // A file's bytes changed under a checksum made to match: verify
    // re-hashes the file and says so; restore stores nothing.
    let (forged, changed) = forged_piece(&file);
    assert!(hashes.contains(&changed));
    let err = a.json_error(&["verify", "--backup", forged.to_str().unwrap()], 6);
    let msg = err["message"].as_str().unwrap();
    assert!(msg.contains("BLAKE3") && msg.contains(&changed), "{msg}");
    let d = new_machine_with_key(&key);
    let before = names(d.data_dir());
    d.fails(&["restore", forged.to_str().unwrap()], 6);
    assert_eq!(names(d.data_dir()), before, "nothing stored");
}
