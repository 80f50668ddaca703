//! The library on one real node: import/export, validation, signatures,
//! durability across kill -9, search, and the CLI's exit codes.

use std::time::Duration;

use r2com_tests::{gen_dataset, sorted_dataset, wait_for, TestNode};
use serde_json::{json, Value};

fn read_json(path: &std::path::Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn import_then_export_round_trips_through_the_running_node() {
    let data = gen_dataset(200, 80, 1);
    let mut node = TestNode::init();
    node.start();
    let report = node.json(&["import", data.to_str().unwrap()]);
    assert_eq!(report["created"], 280);
    let out = node.data_dir().join("export.json");
    node.ok(&["export", "--out", out.to_str().unwrap()]);
    assert_eq!(
        sorted_dataset(&read_json(&out)),
        sorted_dataset(&read_json(&data))
    );

    // Re-importing the same file changes nothing: no new change is made.
    let before = node.json(&["status"])["counts"].clone();
    let again = node.json(&["import", data.to_str().unwrap()]);
    assert_eq!(again["unchanged"], 280);
    assert_eq!(again["created"], 0);
    assert_eq!(node.json(&["status"])["counts"], before);

    let v = node.json(&["verify"]);
    assert_eq!(
        (v["changes"].as_u64(), v["invalid"].as_u64()),
        (Some(280), Some(0))
    );

    // The same round trip with the node stopped (the CLI opens the store).
    node.stop();
    let out2 = node.data_dir().join("export2.json");
    node.ok(&["export", "--out", out2.to_str().unwrap()]);
    assert_eq!(read_json(&out2), read_json(&out));
}

#[test]
fn an_invalid_record_is_named_and_nothing_is_imported() {
    let data = read_json(&gen_dataset(200, 80, 1));
    let mut node = TestNode::init();
    node.start();
    for (field, value, expect) in [
        (
            "timezone",
            json!("Europe/Atlantis"),
            "event e-000079: field `timezone`",
        ),
        (
            "ends_at",
            json!("2020-01-01T00:00:00"),
            "event e-000079: field `ends_at`: must be after starts_at",
        ),
        (
            "recurrence",
            json!("FREQ=FORTNIGHTLY"),
            "event e-000079: field `recurrence`",
        ),
        ("status", json!("maybe"), "event e-000079: field `status`"),
    ] {
        let mut bad = data.clone();
        bad["events"][79][field] = value;
        let path = node.data_dir().join("bad.json");
        std::fs::write(&path, serde_json::to_vec(&bad).unwrap()).unwrap();
        let err = node.fails(&["import", path.to_str().unwrap()], 3);
        assert!(err.contains(expect), "{err}");
        assert_eq!(err.trim().lines().count(), 1, "one-line reason: {err}");
        let counts = node.json(&["status"])["counts"].clone();
        assert_eq!(
            counts,
            json!({"practices": 0, "events": 0, "documents": 0, "changes": 0})
        );
    }
    let mut bad = data.clone();
    bad["practices"][3]["contact"] = json!("nobody");
    let path = node.data_dir().join("bad.json");
    std::fs::write(&path, serde_json::to_vec(&bad).unwrap()).unwrap();
    let err = node.fails(&["import", path.to_str().unwrap()], 3);
    assert!(err.contains("practice p-000003: field `contact`"), "{err}");

    std::fs::write(&path, b"{not json").unwrap();
    node.fails(&["import", path.to_str().unwrap()], 1);
    assert_eq!(node.json(&["practice", "list"]), json!([]));
}

/// Flip one byte of the first stored value under `table`.
fn tamper(store: &std::path::Path, table: u8, at: impl Fn(usize) -> usize) -> String {
    let db = r2com_node::store::sled_config(store).open().unwrap();
    let (k, v) = db.scan_prefix([table, 0]).next().unwrap().unwrap();
    let mut v = v.to_vec();
    let i = at(v.len());
    v[i] ^= 0x01;
    db.insert(&k, v).unwrap();
    db.flush().unwrap();
    let doc = k[2..].split(|b| *b == 0).next().unwrap();
    String::from_utf8(doc.to_vec()).unwrap()
}

#[test]
fn verify_catches_a_tampered_change_and_a_tampered_signature() {
    let data = gen_dataset(200, 80, 1);
    for (what, offset) in [
        (
            "change body",
            Box::new(|len: usize| len - 20) as Box<dyn Fn(usize) -> usize>,
        ),
        ("signature", Box::new(|_| 2 + "event/e-000000".len() + 10)),
    ] {
        let node = TestNode::init();
        node.ok(&["import", data.to_str().unwrap()]);
        assert!(node.ok(&["verify"]).contains("280 valid, 0 invalid"));
        let doc = tamper(&node.store_dir(), b'c', offset);
        let err = node.fails(&["verify"], 6);
        assert!(
            err.contains("1 of 280 changes and 0 of 0 files failed verification"),
            "{what}: {err}"
        );
        assert!(
            err.contains(&format!("{doc} ")),
            "{what}: names the document: {err}"
        );
    }
}

#[test]
fn an_acknowledged_edit_survives_kill_9() {
    let data = gen_dataset(200, 80, 1);
    let mut node = TestNode::init();
    node.start();
    node.ok(&["import", data.to_str().unwrap()]);
    let mut body = node.json(&["practice", "show", "p-000042"])["body"]
        .as_str()
        .unwrap()
        .to_owned();
    for round in 0..5 {
        let title = format!("Edited in round {round}");
        node.ok(&[
            "practice",
            "edit",
            "p-000042",
            "--set",
            &format!("title={title}"),
            "--splice",
            &format!("0:0:R{round} "),
        ]);
        node.ok(&[
            "event",
            "edit",
            "e-000007",
            "--set",
            &format!("capacity={}", 10 + round),
        ]);
        let added = node.json(&[
            "practice",
            "add",
            "--title",
            &title,
            "--organisation",
            "ips",
            "--contact",
            "a@example.org",
        ]);
        node.kill9();
        node.start();
        // Every round's splice is there, newest first.
        body.insert_str(0, &format!("R{round} "));
        let p = node.json(&["practice", "show", "p-000042"]);
        assert_eq!(p["title"], title.as_str());
        assert_eq!(p["body"], body.as_str(), "round {round}");
        assert_eq!(
            node.json(&["event", "show", "e-000007"])["capacity"],
            10 + round
        );
        node.ok(&["practice", "show", added["id"].as_str().unwrap()]);
    }
    let v = node.json(&["verify"]);
    assert_eq!(v["invalid"], 0);
    assert_eq!(v["changes"], 280 + 5 * 3);
}

#[test]
fn search_ignores_case_and_diacritics_and_ranks_titles_first() {
    let mut node = TestNode::init();
    node.start();
    node.ok(&["import", gen_dataset(200, 80, 1).to_str().unwrap()]);
    node.ok(&[
        "practice",
        "add",
        "--id",
        "p-special",
        "--title",
        "Reinserção após a prisão",
        "--organisation",
        "ips",
        "--contact",
        "x@example.org",
        "--body",
        "Nothing else.",
    ]);
    let hits = node.json(&["search", "REINSERCAO", "prisao"]);
    let hits = hits.as_array().unwrap();
    assert!(!hits.is_empty());
    // Records with both words in the title come first, this one among them.
    let title_first: Vec<&Value> = hits
        .iter()
        .take_while(|h| {
            let t = h["title"].as_str().unwrap().to_lowercase();
            t.contains("reinserção") && t.contains("prisão")
        })
        .collect();
    assert!(
        title_first.iter().any(|h| h["id"] == "p-special"),
        "title matches rank first: {hits:?}"
    );
    for h in hits {
        let shown = node.json(&[
            h["kind"].as_str().unwrap(),
            "show",
            h["id"].as_str().unwrap(),
        ]);
        let all = format!(
            "{} {} {} {}",
            shown["title"], shown["summary"], shown["body"], shown["description"]
        )
        .to_lowercase();
        assert!(all.contains("reinserção") && all.contains("prisão"), "{h}");
    }
    let scores: Vec<u64> = hits.iter().map(|h| h["score"].as_u64().unwrap()).collect();
    assert!(
        scores.windows(2).all(|w| w[0] >= w[1]),
        "ranked: {scores:?}"
    );
    // Cyrillic, in another case.
    let bg = node.json(&["search", "ЗАТВОР"]);
    assert!(!bg.as_array().unwrap().is_empty());
}

#[test]
fn the_cli_gives_clear_errors_and_exit_codes() {
    let mut node = TestNode::init();
    node.start();
    node.ok(&["import", gen_dataset(20, 5, 1).to_str().unwrap()]);
    node.fails(&["practice", "show", "p-999999"], 4);
    node.fails(&["practice", "frobnicate"], 2);
    let e = node.fails(
        &["practice", "edit", "p-000001", "--set", "evidence=rumour"],
        3,
    );
    assert!(e.contains("practice p-000001: field `evidence`"), "{e}");
    let e = node.fails(&["practice", "edit", "p-000001", "--set", "colour=red"], 3);
    assert!(e.contains("no such field"), "{e}");
    let e = node.fails(
        &[
            "practice",
            "add",
            "--id",
            "p-000001",
            "--title",
            "x",
            "--organisation",
            "ips",
            "--contact",
            "a@example.org",
        ],
        5,
    );
    assert!(e.contains("exists already"), "{e}");
    let e = node.fails(
        &[
            "event",
            "add",
            "--title",
            "Night",
            "--starts",
            "2026-03-29 02:30",
            "--duration",
            "1h",
            "--tz",
            "Europe/Paris",
            "--organiser",
            "lmds",
        ],
        3,
    );
    assert!(e.contains("does not exist in Europe/Paris"), "{e}");
    let e = node.fails(
        &[
            "event",
            "add",
            "--title",
            "x",
            "--starts",
            "2026-03-10 10:00",
            "--duration",
            "1h",
            "--tz",
            "Mars/Olympus",
            "--organiser",
            "lmds",
        ],
        3,
    );
    assert!(e.contains("field `timezone`"), "{e}");
    let added = node.json(&[
        "event",
        "add",
        "--title",
        "Weekly 10:00 Lisbon",
        "--starts",
        "2026-03-10 10:00",
        "--duration",
        "2h",
        "--tz",
        "Europe/Lisbon",
        "--organiser",
        "ips",
        "--rrule",
        "FREQ=WEEKLY;COUNT=6",
        "--online-url",
        "https://meet.example.org/x",
    ]);
    assert_eq!(added["ends_at"], "2026-03-10T12:00:00");
    node.ok(&["event", "rm", added["id"].as_str().unwrap()]);
    node.fails(&["event", "show", added["id"].as_str().unwrap()], 4);
    node.fails(&["event", "rm", added["id"].as_str().unwrap()], 4);
    // Nothing changed by any refused command.
    assert!(node.json(&["practice", "show", "p-000001"])["evidence"].is_string());
    assert_eq!(node.json(&["verify"])["invalid"], 0);
}

#[test]
fn filters_and_concurrent_clients() {
    let mut node = TestNode::init();
    node.start();
    let data = gen_dataset(200, 80, 1);
    node.ok(&["import", data.to_str().unwrap()]);
    let all = read_json(&data);
    let want = all["practices"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["organisation"] == "lmds" && p["status"] == "published")
        .count();
    let got = node.json(&["practice", "list", "--org", "lmds", "--status", "published"]);
    assert_eq!(got.as_array().unwrap().len(), want);
    let in_2025 = all["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["starts_at"].as_str().unwrap() < "2026-01-01")
        .count();
    let got = node.json(&["event", "list", "--to", "2025-12-31"]);
    assert_eq!(got.as_array().unwrap().len(), in_2025);

    // Eight clients editing different practices at once: every edit lands.
    std::thread::scope(|s| {
        for i in 0..8 {
            let node = &node;
            s.spawn(move || {
                for j in 0..5 {
                    node.ok(&[
                        "practice",
                        "edit",
                        &format!("p-{:06}", i * 10 + j),
                        "--set",
                        "status=archived",
                    ]);
                }
            });
        }
    });
    let archived = node.json(&["practice", "list", "--status", "archived"]);
    for i in 0..8 {
        for j in 0..5 {
            let id = format!("p-{:06}", i * 10 + j);
            assert!(
                archived
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|p| p["id"] == id.as_str()),
                "{id}"
            );
        }
    }
    assert!(wait_for(Duration::from_secs(1), || true));
}
