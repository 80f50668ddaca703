//! Files attached to practices and events, between real `r2com run`
//! processes on loopback: the reference syncs without the file, a member
//! fetches the file when asked (from whichever member holds it), a member
//! serving corrupted bytes is disconnected and the fetch completes from
//! another, and a fetch killed half-way resumes from its part file.

use std::path::{Path, PathBuf};
use std::time::Duration;

use r2com_tests::{assert_converges, gen_dataset, material, wait_for, TestNode};
use serde_json::Value;

const CONVERGE: Duration = Duration::from_secs(90);
const MIB: usize = 1 << 20;

fn founder() -> TestNode {
    let mut a = TestNode::init();
    a.create_consortium("RAN", "lmds", "LMDS", "FR");
    a.start();
    a.ok(&["import", gen_dataset(5, 2, 1).to_str().unwrap()]);
    a
}

/// `attachment get` into `dir`; the answer and the bytes written.
fn get(n: &TestNode, hash: &str, dir: &Path, name: &str) -> (Value, Vec<u8>) {
    let out = dir.join(name);
    let v = n.json(&["attachment", "get", hash, "--out", out.to_str().unwrap()]);
    (v, std::fs::read(&out).unwrap())
}

fn held_file(n: &TestNode, hash: &str) -> PathBuf {
    n.data_dir().join("files").join(hash)
}

/// Wait until `n` is connected to every node of `others`.
fn connected_to(n: &TestNode, others: &[&TestNode]) -> bool {
    let ids: Vec<String> = others.iter().map(|o| o.peer_id()).collect();
    wait_for(CONVERGE, || {
        let peers = n.json(&["peers"]);
        ids.iter().all(|id| {
            peers["members"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["peer_id"] == id.as_str() && p["connected"] == true)
        })
    })
}

#[test]
fn a_reference_syncs_without_the_file_and_any_holder_serves_it() {
    let tmp = tempfile::tempdir().unwrap();
    let a = founder();
    let (path, data) = material(tmp.path(), "screening-guide.pdf", 20 * 1000 * 1000, 7);
    let attached = a.json(&[
        "attach",
        "p-000001",
        path.to_str().unwrap(),
        "--title",
        "Screening guide",
        "--language",
        "fr",
    ]);
    let hash = attached["attachment"]["hash"].as_str().unwrap().to_owned();
    assert_eq!(attached["record"], "practice/p-000001");
    assert_eq!(attached["attachment"]["size"], data.len() as u64);
    assert_eq!(attached["attachment"]["media_type"], "application/pdf");
    assert_eq!(attached["attachment"]["file_name"], "screening-guide.pdf");
    assert_eq!(std::fs::read(held_file(&a, &hash)).unwrap(), data);

    let mut b = TestNode::init();
    b.join_via(&a, &a, "ips");
    assert_converges(&a, &b, "reference");
    let shown = b.json(&["practice", "show", "p-000001"]);
    assert_eq!(shown["attachments"][0]["hash"], hash.as_str(), "{shown}");
    assert_eq!(shown["attachments"][0]["title"], "Screening guide");
    // Seen, not downloaded.
    let missing = b.json(&["attachment", "list", "--missing"]);
    assert_eq!(missing.as_array().unwrap().len(), 1, "{missing}");
    assert_eq!(missing[0]["held"], false);
    assert!(!held_file(&b, &hash).exists());

    let (got, bytes) = get(&b, &hash, tmp.path(), "b.pdf");
    assert!(bytes == data, "B's copy differs");
    assert_eq!(got["fetched"], data.len() as u64, "{got}");
    assert_eq!(got["from"], serde_json::json!([a.peer_id()]));
    assert_eq!(
        b.json(&["attachment", "list", "--missing"]),
        serde_json::json!([])
    );
    let listed = b.json(&["attachment", "list"]);
    assert_eq!(listed[0]["held"], true, "{listed}");

    // C joins through B only; A stops: C gets the file from B.
    let mut c = TestNode::init();
    c.join_via(&a, &b, "act");
    assert_converges(&b, &c, "reference to C");
    let mut a = a;
    a.stop();
    let (got, bytes) = get(&c, &hash, tmp.path(), "c.pdf");
    assert!(bytes == data, "C's copy differs");
    assert_eq!(got["from"], serde_json::json!([b.peer_id()]), "{got}");

    // Held already: no fetch.
    let (again, _) = get(&c, &hash, tmp.path(), "c2.pdf");
    assert_eq!(again["fetched"], 0);
}

#[test]
fn a_member_serving_corrupted_bytes_is_disconnected_and_the_fetch_completes_elsewhere() {
    let tmp = tempfile::tempdir().unwrap();
    let a = founder();
    let (path, data) = material(tmp.path(), "slides.pdf", 6 * MIB + 123, 11);
    let hash = a.json(&["attach", "e-000001", path.to_str().unwrap()])["attachment"]["hash"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut b = TestNode::init();
    b.join_via(&a, &a, "ips");
    assert_converges(&a, &b, "reference");
    get(&b, &hash, tmp.path(), "b.pdf");
    // B's copy goes bad: one byte in every piece.
    let file = held_file(&b, &hash);
    let mut bad = std::fs::read(&file).unwrap();
    for i in (100..bad.len()).step_by(MIB) {
        bad[i] ^= 0x55;
    }
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::write(&file, &bad).unwrap();

    let mut c = TestNode::init();
    c.join_via(&a, &a, "act");
    c.ok(&["peer", "add", &b.listen_addr()]);
    assert!(connected_to(&c, &[&a, &b]), "C log:\n{}", c.log());
    assert_converges(&a, &c, "reference to C");

    let (got, bytes) = get(&c, &hash, tmp.path(), "c.pdf");
    assert!(bytes == data, "C's copy differs");
    assert_eq!(got["from"], serde_json::json!([a.peer_id()]), "{got}");
    let log = c.log();
    assert!(
        log.contains("does not verify") && log.contains(&b.peer_id()),
        "C did not disconnect B:\n{log}"
    );
}

#[test]
fn a_fetch_killed_half_way_resumes_from_its_part_file() {
    let tmp = tempfile::tempdir().unwrap();
    let a = founder();
    let (path, data) = material(tmp.path(), "report.pdf", 12 * MIB, 5);
    let hash = a.json(&["attach", "p-000002", path.to_str().unwrap()])["attachment"]["hash"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut b = TestNode::init();
    b.join(&a, "ips", &a.listen_addr());
    // B dies (as by kill -9) right after writing its 5th piece.
    b.start_env(&[], &[("R2COM_FAILPOINT", "piece:5")]);
    assert_converges(&a, &b, "reference");
    let out = tmp.path().join("b.pdf");
    let failed = b.cli(&["attachment", "get", &hash, "--out", out.to_str().unwrap()]);
    assert!(!failed.status.success());
    assert!(b.wait_exit(Duration::from_secs(20)), "B did not die");
    let part = b.data_dir().join("files").join(format!("{hash}.part"));
    assert!(part.exists(), "no part file");
    assert!(!held_file(&b, &hash).exists());

    b.start();
    assert!(connected_to(&b, &[&a]), "B log:\n{}", b.log());
    let (got, bytes) = get(&b, &hash, tmp.path(), "b.pdf");
    assert!(bytes == data, "B's copy differs");
    let resumed = got["resumed"].as_u64().unwrap();
    let fetched = got["fetched"].as_u64().unwrap();
    assert!(resumed >= 5 * MIB as u64, "{got}");
    assert_eq!(resumed + fetched, data.len() as u64, "{got}");
    assert!(!part.exists());
}

#[test]
fn a_node_with_prefetch_all_fetches_every_file_unasked() {
    let tmp = tempfile::tempdir().unwrap();
    let a = founder();
    let (path, data) = material(tmp.path(), "handout.pdf", 3 * MIB + 17, 13);
    let hash = a.json(&["attach", "e-000001", path.to_str().unwrap()])["attachment"]["hash"]
        .as_str()
        .unwrap()
        .to_owned();
    // B is a backup node: it keeps every file. Nobody asks it for one.
    let mut b = TestNode::init();
    b.join(&a, "ips", &a.listen_addr());
    std::fs::write(
        b.data_dir().join("config.toml"),
        "[attachments]\nprefetch = \"all\"\n",
    )
    .unwrap();
    b.start();
    assert_converges(&a, &b, "reference");
    // The policy looks every 30 s.
    assert!(
        wait_for(Duration::from_secs(120), || held_file(&b, &hash).exists()),
        "B did not prefetch the file:\n{}",
        b.log()
    );
    assert!(std::fs::read(held_file(&b, &hash)).unwrap() == data);
    assert_eq!(
        b.json(&["attachment", "list", "--missing"]),
        serde_json::json!([])
    );
    assert!(b.log().contains("prefetched"), "{}", b.log());
}
