//! Erasure: a signed entry every member carries out, also a member that was
//! offline when it was made; a new member never receives the content, a
//! later backup lacks it, files only the record referred to are deleted,
//! the erased changes are refused if offered again, and the id is not used
//! again without `--reuse` by an admin.

use std::io::BufRead;
use std::path::Path;
use std::time::Duration;

use base64::Engine;
use r2com_protocol::envelope::SignedChange;
use r2com_tests::{assert_converges, gen_dataset, wait_for, TestNode};
use serde_json::Value;

const CONVERGE: Duration = Duration::from_secs(90);

fn gone(n: &TestNode, id: &str) -> bool {
    n.cli(&["practice", "show", id]).status.code() == Some(4)
}

/// The documents `changes export` holds changes of.
fn docs_with_changes(n: &TestNode) -> Vec<String> {
    let v = n.json(&["changes", "export"]);
    v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            let bytes = hex::decode(h.as_str().unwrap()).unwrap();
            SignedChange::decode(&bytes).unwrap().doc.to_key()
        })
        .collect()
}

/// The documents a backup file holds changes of.
fn docs_in_backup(file: &Path) -> Vec<String> {
    let z = zstd::stream::Decoder::new(std::fs::File::open(file).unwrap()).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut docs = Vec::new();
    for line in std::io::BufReader::new(z).lines() {
        let v: Value = serde_json::from_str(&line.unwrap()).unwrap();
        if let Some(c) = v["change"].as_str() {
            let sc = SignedChange::decode(&b64.decode(c).unwrap()).unwrap();
            docs.push(sc.doc.to_key());
        }
    }
    docs
}

/// A file to attach (a PDF by its first bytes).
fn material(dir: &Path, name: &str, seed: u8) -> String {
    let path = dir.join(name);
    let mut data = b"%PDF-1.7\n".to_vec();
    data.extend((0..50_000u32).map(|i| (i as u8).wrapping_mul(seed)));
    std::fs::write(&path, data).unwrap();
    path.to_str().unwrap().to_owned()
}

fn holds_file(n: &TestNode, hash: &str) -> bool {
    n.data_dir().join("files").join(hash).exists()
}

#[test]
fn an_erased_record_is_gone_from_every_node_and_stays_gone() {
    let mut a = TestNode::init();
    a.create_consortium("RAN", "lmds", "LMDS", "FR");
    a.start();
    a.ok(&["import", gen_dataset(10, 4, 21).to_str().unwrap()]);
    let addr = a.listen_addr();
    let mut b = TestNode::init();
    b.join(&a, "ips", &addr);
    b.start();
    let mut c = TestNode::init();
    c.join(&a, "act", &addr);
    c.start();
    let (id, doc) = ("p-000004", "practice/p-000004");
    // Two organisations' changes to the record.
    b.ok(&[
        "practice",
        "edit",
        id,
        "--splice",
        "0:0:Call erase-me-4711@example.org. ",
    ]);
    // A file only this record refers to, and one another record shares;
    // C fetches the first.
    let tmp = tempfile::tempdir().unwrap();
    let only = a.json(&["attach", id, &material(tmp.path(), "only.pdf", 7)]);
    let only = only["attachment"]["hash"].as_str().unwrap().to_owned();
    let shared = material(tmp.path(), "shared.pdf", 11);
    a.ok(&["attach", id, &shared]);
    let shared = a.json(&["attach", "p-000003", &shared]);
    let shared = shared["attachment"]["hash"].as_str().unwrap().to_owned();
    assert_converges(&a, &b, "B's edit");
    assert_converges(&a, &c, "C's clone");
    let out = tmp.path().join("got.pdf");
    c.ok(&["attachment", "get", &only, "--out", out.to_str().unwrap()]);
    assert!(holds_file(&a, &only) && holds_file(&c, &only) && holds_file(&a, &shared));
    let hits = c.json(&["search", "erase-me-4711@example.org"]);
    assert_eq!(hits[0]["id"], id, "{hits}");
    let held = a.json(&["history", id])["changes"]
        .as_array()
        .unwrap()
        .len() as u64;
    assert_eq!(held, 4, "created, B's edit, two files");
    let before = a.data_dir().join("before.json");
    a.ok(&["changes", "export", "--out", before.to_str().unwrap()]);

    // C is offline while A (an admin) erases.
    c.stop();
    let e = a.json(&["erase", id, "--reason", "GDPR request"]);
    assert_eq!(
        (e["record"].as_str(), e["changes"].as_u64()),
        (Some(doc), Some(held)),
        "{e}"
    );
    assert!(gone(&a, id));
    assert!(
        wait_for(CONVERGE, || gone(&b, id)),
        "B did not erase:\n{}",
        b.log()
    );
    c.start();
    assert!(
        wait_for(CONVERGE, || gone(&c, id)),
        "C did not catch up:\n{}",
        c.log()
    );
    assert_converges(&a, &b, "after the erasure");
    assert_converges(&a, &c, "after the erasure");
    for n in [&a, &b, &c] {
        assert!(!docs_with_changes(n).iter().any(|d| d == doc));
        assert_eq!(n.json(&["verify"])["invalid"], 0);
        n.json_error(&["history", id], 4);
        let hits = n.json(&["search", "erase-me-4711@example.org"]);
        assert!(hits.as_array().unwrap().is_empty(), "{hits}");
    }
    // The file only the erased record referred to is gone, also from C,
    // which fetched it; the shared one stays.
    assert!(!holds_file(&a, &only) && !holds_file(&c, &only));
    assert!(holds_file(&a, &shared));
    // A backup taken now lacks it (and its erasure entry is in it).
    let backup = tmp.path().join("later.r2b");
    let report = a.json(&["backup", "--out", backup.to_str().unwrap()]);
    let docs = docs_in_backup(&backup);
    assert_eq!(docs.len() as u64, report["changes"].as_u64().unwrap());
    assert!(!docs.is_empty() && !docs.iter().any(|d| d == doc));
    assert_eq!(
        a.json(&["verify", "--backup", backup.to_str().unwrap()])["changes"],
        report["changes"]
    );
    // A new member never receives it.
    let mut d = TestNode::init();
    d.join(&a, "iga", &addr);
    d.start();
    assert_converges(&a, &d, "D's clone");
    assert!(gone(&d, id));
    // Offered again: refused, nothing of it stored.
    let err = a.json_error(&["changes", "import", before.to_str().unwrap()], 3);
    let msg = err["message"].as_str().unwrap();
    assert!(
        msg.contains(&format!("{held} of")) && msg.contains("erased"),
        "{msg}"
    );
    assert!(gone(&a, id));
    // Re-adding the id: refused without --reuse, and --reuse is for admins.
    let add = |n: &TestNode, extra: &[&str], code: Option<i32>| -> Value {
        let mut args = vec![
            "practice",
            "add",
            "--id",
            id,
            "--title",
            "A new practice",
            "--organisation",
            "ips",
            "--contact",
            "new@example.org",
        ];
        args.extend_from_slice(extra);
        match code {
            Some(c) => n.json_error(&args, c),
            None => n.json(&args),
        }
    };
    let e = add(&b, &[], Some(3));
    assert!(e["message"].as_str().unwrap().contains("erased"), "{e}");
    add(&b, &["--reuse"], Some(3));
    let p = add(&a, &["--reuse"], None);
    assert_eq!(p["title"], "A new practice");
    assert!(wait_for(CONVERGE, || !gone(&b, id)), "the re-added record");
    // The stores hold nothing of the erased changes: no key names one of
    // their hashes, no value holds the erased text (the new record has the
    // same id, not the same changes).
    let erased = erased_hashes(&before, doc);
    assert_eq!(erased.len() as u64, held);
    for n in [&mut a, &mut b, &mut c, &mut d] {
        n.stop();
        let db = r2com_node::store::sled_config(&n.store_dir())
            .open()
            .expect("store opens");
        for kv in db.iter() {
            let (k, v) = kv.unwrap();
            for h in &erased {
                assert!(
                    !k.windows(32).any(|w| w == h),
                    "{} still holds an erased change under {}",
                    n.data_dir().display(),
                    String::from_utf8_lossy(&k)
                );
            }
            let v = v.to_ascii_lowercase();
            let needle = b"erase-me-4711@example.org";
            assert!(
                !v.windows(needle.len()).any(|w| w == needle),
                "store still holds the erased text under {}",
                String::from_utf8_lossy(&k)
            );
        }
    }
}

/// The hashes of `doc`'s changes in a `changes export` file.
fn erased_hashes(file: &Path, doc: &str) -> Vec<[u8; 32]> {
    let v: Value = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
    v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|h| {
            let sc = SignedChange::decode(&hex::decode(h.as_str().unwrap()).unwrap()).unwrap();
            (sc.doc.to_key() == doc).then(|| {
                r2com_protocol::envelope::parse_change(&sc.change)
                    .unwrap()
                    .hash()
                    .0
            })
        })
        .collect()
}
