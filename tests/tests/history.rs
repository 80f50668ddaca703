//! Who changed what (`history`, `log`) and conflicts people settle
//! (`conflicts`, `resolve`), between real nodes on loopback.

use std::time::Duration;

use r2com_tests::{assert_converges, gen_dataset, wait_for, TestNode};
use serde_json::Value;

const CONVERGE: Duration = Duration::from_secs(90);

/// A running admin node (lmds) with a small library, and a member (ips)
/// that cloned it.
fn pair(seed: u32) -> (TestNode, TestNode) {
    let mut a = TestNode::init();
    a.create_consortium("RAN", "lmds", "LMDS", "FR");
    a.start();
    a.ok(&["import", gen_dataset(10, 4, seed).to_str().unwrap()]);
    let mut b = TestNode::init();
    b.join(&a, "ips", &a.listen_addr());
    b.start();
    assert_converges(&a, &b, "clone");
    (a, b)
}

fn key_of(n: &TestNode) -> String {
    n.json(&["id"])["public_key"].as_str().unwrap().to_owned()
}

/// The conflicts listing without what differs per node (nothing should).
fn conflicts(n: &TestNode) -> Value {
    n.json(&["conflicts"])
}

#[test]
fn history_shows_each_organisations_changes_with_verified_signatures() {
    let (a, b) = pair(11);
    let id = "p-000003";
    b.ok(&["practice", "edit", id, "--splice", "0:0:Tirana adds this. "]);
    b.ok(&["practice", "edit", id, "--set", "status=archived"]);
    assert_converges(&a, &b, "B's edits");
    a.ok(&["practice", "edit", id, "--set", "themes=zz one,zz two"]);
    assert_converges(&a, &b, "A's edit");

    for n in [&a, &b] {
        let h = n.json(&["history", id]);
        assert_eq!(h["record"], "practice/p-000003", "{h}");
        let changes = h["changes"].as_array().unwrap();
        assert_eq!(changes.len(), 4, "{h}");
        for c in changes {
            assert_eq!(c["signature"]["status"], "valid", "{c}");
            assert_eq!(c["author"]["standing"], "member", "{c}");
        }
        // Oldest first: A's import created it.
        assert_eq!(changes[0]["action"], "created");
        assert_eq!(changes[0]["author"]["organisation"], "lmds");
        assert_eq!(changes[0]["author"]["key"], key_of(&a).as_str());
        // B's splice: body text (18 characters in), and updated_at.
        let c1 = &changes[1];
        assert_eq!(c1["author"]["organisation"], "ips", "{c1}");
        assert_eq!(c1["author"]["key"], key_of(&b).as_str());
        let fields: Vec<&str> = c1["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["field"].as_str().unwrap())
            .collect();
        assert_eq!(fields, ["body", "updated_at"], "{c1}");
        assert_eq!(c1["fields"][0]["change"], "text");
        assert_eq!(c1["fields"][0]["inserted"], 18);
        assert_eq!(c1["fields"][0]["deleted"], 0);
        // B's status change: the new value.
        let c2 = &changes[2];
        assert_eq!(c2["author"]["organisation"], "ips");
        assert_eq!(c2["fields"][0]["field"], "status");
        assert_eq!(c2["fields"][0]["value"], "archived");
        // A's themes: items added and removed.
        let c3 = &changes[3];
        assert_eq!(c3["author"]["organisation"], "lmds");
        assert_eq!(c3["fields"][0]["field"], "themes");
        assert_eq!(c3["fields"][0]["change"], "items");
        assert!(c3["fields"][0]["added"]
            .as_array()
            .unwrap()
            .contains(&Value::from("zz one")));
    }
    // --diff shows the text change itself.
    let human = a.ok(&["history", id, "--diff"]);
    assert!(human.contains("+Tirana adds this. "), "{human}");
    assert!(human.contains("ips"), "{human}");
    assert!(human.contains("verified"), "{human}");

    // The log: newest first, across records, filtered by organisation.
    let log = a.json(&["log", "--org", "ips"]);
    let rows = log.as_array().unwrap();
    assert_eq!(rows.len(), 2, "{log}");
    assert!(rows.iter().all(|r| r["author"]["organisation"] == "ips"));
    assert_eq!(
        rows[0]["fields"][0]["field"], "status",
        "newest first: {log}"
    );
    let all = a.json(&["log", "--since", "2000-01-01"]);
    assert_eq!(all.as_array().unwrap().len(), 14 + 3, "{all}");
    assert_eq!(
        a.json(&["log", "--limit", "1"]).as_array().unwrap().len(),
        1
    );
    assert!(a
        .json(&["log", "--since", "2999-01-01"])
        .as_array()
        .unwrap()
        .is_empty());
    a.json_error(&["log", "--since", "yesterday"], 3);
    a.json_error(&["log", "--org", "nobody"], 3);
    a.json_error(&["history", "p-nonexistent"], 4);
}

#[test]
fn concurrent_values_are_listed_on_both_nodes_and_settled_by_resolve() {
    let (a, mut b) = pair(12);
    let (p, e) = ("p-000002", "e-000001");
    b.stop();
    // Apart: each sets the same practice's title and event's capacity.
    a.ok(&["practice", "edit", p, "--set", "title=Paris title"]);
    a.ok(&["event", "edit", e, "--set", "capacity=11"]);
    b.ok(&["practice", "edit", p, "--set", "title=Tirana title"]);
    b.ok(&["event", "edit", e, "--set", "capacity=22"]);
    b.start();
    b.ok(&["peer", "add", &a.listen_addr()]);
    assert_converges(&a, &b, "reconnect");
    assert!(
        wait_for(CONVERGE, || conflicts(&a) == conflicts(&b)),
        "A {}\nB {}",
        conflicts(&a),
        conflicts(&b)
    );
    let c = conflicts(&a);
    let list = c["conflicts"].as_array().unwrap();
    assert_eq!(list.len(), 2, "{c}");
    let (keys_a, keys_b) = (key_of(&a), key_of(&b));
    for (record, field, values) in [
        (
            "practice/p-000002",
            "title",
            ["Paris title", "Tirana title"].map(Value::from),
        ),
        ("event/e-000001", "capacity", [11, 22].map(Value::from)),
    ] {
        let item = list
            .iter()
            .find(|x| x["record"] == record && x["field"] == field)
            .unwrap_or_else(|| panic!("{record} {field} missing: {c}"));
        let vals = item["values"].as_array().unwrap();
        assert_eq!(vals.len(), 2, "{item}");
        let by = |key: &str| vals.iter().find(|v| v["author"] == key).cloned();
        let (va, vb) = (
            by(&keys_a).expect("A's value"),
            by(&keys_b).expect("B's value"),
        );
        assert_eq!(
            (&va["value"], &vb["value"]),
            (&values[0], &values[1]),
            "{item}"
        );
        assert_eq!(va["organisation"], "lmds");
        assert_eq!(vb["organisation"], "ips");
        assert!(va["at"].is_string() && vb["at"].is_string());
        assert_eq!(
            vals.iter().filter(|v| v["current"] == true).count(),
            1,
            "{item}"
        );
    }
    // Keep B's title and A's capacity, on A; both nodes settle.
    let n_of = |record: &str, key: &str| -> String {
        let item = list.iter().find(|x| x["record"] == record).unwrap();
        let v = item["values"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["author"] == key)
            .unwrap();
        v["n"].to_string()
    };
    let r = a.json(&[
        "resolve",
        p,
        "title",
        "--keep",
        &n_of("practice/p-000002", &keys_b),
    ]);
    assert_eq!(r["value"], "Tirana title", "{r}");
    a.ok(&[
        "resolve",
        e,
        "capacity",
        "--keep",
        &n_of("event/e-000001", &keys_a),
    ]);
    assert_converges(&a, &b, "resolution");
    for n in [&a, &b] {
        assert!(
            wait_for(CONVERGE, || conflicts(n)["conflicts"]
                .as_array()
                .unwrap()
                .is_empty()),
            "{}",
            conflicts(n)
        );
        assert_eq!(n.json(&["practice", "show", p])["title"], "Tirana title");
        assert_eq!(n.json(&["event", "show", e])["capacity"], 11);
    }
    // Bad resolutions change nothing.
    a.json_error(&["resolve", p, "title", "--keep", "1"], 3);
    a.json_error(&["resolve", p, "body", "--value", "x"], 3);
    a.json_error(&["resolve", e, "capacity", "--value", "many"], 3);
    a.fails(&["resolve", p, "title"], 2);
}
