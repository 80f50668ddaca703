//! Every read command's `--json` output has the shape README documents
//! ("JSON output"), and every failure under `--json` is one error object on
//! standard output with the documented exit code.

use std::time::Duration;

use r2com_tests::{gen_dataset, wait_for, TestNode};
use serde_json::Value;

/// The keys of a JSON object, sorted.
fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .cloned()
        .collect();
    k.sort();
    k
}

fn has_keys(v: &Value, want: &[&str]) {
    let mut want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(keys(v), want, "{v:#}");
}

fn array(v: &Value) -> &Vec<Value> {
    v.as_array().unwrap_or_else(|| panic!("not an array: {v}"))
}

#[test]
fn read_commands_print_their_documented_json() {
    let node = TestNode::init();
    has_keys(&node.json(&["id"]), &["public_key", "peer_id"]);
    has_keys(
        &node.json(&["init"]),
        &["public_key", "peer_id", "data_dir", "created"],
    );
    let status = node.json(&["status"]);
    has_keys(
        &status,
        &[
            "public_key",
            "peer_id",
            "data_dir",
            "consortium",
            "running",
            "counts",
            "sync_digest",
        ],
    );
    assert_eq!(status["running"], false);
    assert!(status["consortium"].is_null());
    has_keys(
        &status["counts"],
        &["practices", "events", "documents", "changes"],
    );

    let data = gen_dataset(20, 8, 1);
    let imported = node.json(&["import", data.to_str().unwrap()]);
    has_keys(&imported, &["records", "created", "updated", "unchanged"]);
    assert_eq!(imported["created"], 28);

    let practices = node.json(&["practice", "list"]);
    assert_eq!(array(&practices).len(), 20);
    has_keys(
        &practices[0],
        &[
            "id",
            "title",
            "organisation",
            "status",
            "evidence",
            "themes",
            "languages",
            "countries",
            "updated_at",
        ],
    );
    let full = node.json(&["practice", "list", "--full"]);
    let id = practices[0]["id"].as_str().unwrap();
    let shown = node.json(&["practice", "show", id]);
    assert_eq!(full[0], shown, "--full rows are whole records");
    assert!(shown["body"].is_string() && shown["contact"].is_string());

    let events = node.json(&["event", "list"]);
    assert_eq!(array(&events).len(), 8);
    for e in array(&events) {
        let mut want = vec![
            "id",
            "title",
            "starts_at",
            "ends_at",
            "timezone",
            "organiser",
            "format",
            "language",
            "status",
            "recurrence",
        ];
        want.sort();
        assert_eq!(keys(e), want, "{e:#}");
    }
    let ev = node.json(&["event", "show", events[0]["id"].as_str().unwrap()]);
    assert!(ev["description"].is_string() && ev["timezone"].is_string());

    let word = shown["title"].as_str().unwrap().split(' ').next().unwrap();
    let hits = node.json(&["search", word]);
    assert!(!array(&hits).is_empty(), "searching {word:?}");
    has_keys(&hits[0], &["kind", "id", "title", "score", "snippet"]);

    let verified = node.json(&["verify"]);
    has_keys(
        &verified,
        &[
            "changes",
            "documents",
            "valid",
            "invalid",
            "files",
            "files_invalid",
            "failures",
        ],
    );
    assert_eq!(verified["valid"], 28);

    let agenda = node.json(&[
        "calendar",
        "agenda",
        "--from",
        "2020-01-01",
        "--to",
        "2030-12-31",
        "--tz",
        "Europe/Paris",
    ]);
    assert!(!array(&agenda).is_empty());
    has_keys(
        &agenda[0],
        &[
            "id",
            "title",
            "starts",
            "ends",
            "starts_utc",
            "ends_utc",
            "zone",
            "organiser_starts",
            "organiser_zone",
            "organiser",
            "format",
            "status",
            "recurring",
            "location",
            "online_url",
        ],
    );
    assert_eq!(agenda[0]["zone"], "Europe/Paris");

    let ics = node.json(&["calendar", "export"]);
    has_keys(&ics, &["events", "ics"]);
    assert_eq!(ics["events"], 8);
    assert!(ics["ics"]
        .as_str()
        .unwrap()
        .starts_with("BEGIN:VCALENDAR\r\n"));
    let out = node.data_dir().join("cal.ics");
    let written = node.json(&["calendar", "export", "--out", out.to_str().unwrap()]);
    has_keys(&written, &["written", "bytes"]);
    assert_eq!(
        written["bytes"].as_u64(),
        Some(std::fs::metadata(&out).unwrap().len())
    );
    assert_eq!(std::fs::read_to_string(&out).unwrap(), ics["ics"]);

    let dataset = node.json(&["export"]);
    has_keys(&dataset, &["practices", "events"]);
    assert_eq!(array(&dataset["practices"]).len(), 20);

    node.create_consortium("RAN", "lmds", "LMDS", "FR");
    let status = node.json(&["status"]);
    has_keys(
        &status["consortium"],
        &["id", "name", "members", "this_node"],
    );
    assert_eq!(status["consortium"]["this_node"], "admin");
    let members = node.json(&["members"]);
    has_keys(
        &members,
        &["consortium", "name", "orgs", "pending", "rejected"],
    );
    has_keys(
        &members["orgs"][0],
        &[
            "key", "name", "country", "role", "added_by", "added_at", "keys", "revoked",
        ],
    );
    has_keys(
        &members["orgs"][0]["keys"][0],
        &["key", "added_by", "added_at", "revoked"],
    );
    let roster = node.json(&["roster", "export"]);
    has_keys(&roster, &["consortium", "entries"]);
    let changes = node.json(&["changes", "export"]);
    has_keys(&changes, &["consortium", "changes"]);
    assert_eq!(array(&changes["changes"]).len(), 28);
    // Peers and sync need the running node: see below.
}

#[test]
fn write_commands_print_what_they_did() {
    let a = TestNode::init();
    let b = TestNode::init();
    let founded = a.json(&[
        "consortium",
        "create",
        "--name",
        "RAN",
        "--org",
        "lmds",
        "--org-name",
        "LMDS",
        "--country",
        "FR",
    ]);
    has_keys(&founded, &["consortium", "name"]);
    let invite = a.json(&[
        "invite",
        "--org",
        "ips",
        "--org-name",
        "IPS",
        "--country",
        "PT",
        "--key",
        &b.peer_id(),
        "--expires",
        "1h30m",
    ]);
    has_keys(&invite, &["token", "invite", "expires_at", "key"]);
    let joined = b.json(&["join", invite["token"].as_str().unwrap()]);
    has_keys(
        &joined,
        &[
            "consortium",
            "org",
            "role",
            "addrs",
            "admitted",
            "admitted_by",
            "dial_errors",
        ],
    );
    // B's admission reaches A by file.
    let roster = b.data_dir().join("roster.json");
    let written = b.json(&["roster", "export", "--out", roster.to_str().unwrap()]);
    has_keys(&written, &["written", "bytes"]);
    let imported = a.json(&["roster", "import", roster.to_str().unwrap()]);
    has_keys(
        &imported,
        &[
            "added",
            "witnessed",
            "refused",
            "rejected_by_rules",
            "pending",
            "admitted",
        ],
    );
    // The admit, and A's witness of it (the invite A holds already).
    assert_eq!(imported["added"], 2, "{imported}");
    assert_eq!(imported["witnessed"], 1, "{imported}");
    // And A's roster (the genesis) reaches B.
    let back = a.data_dir().join("roster.json");
    a.ok(&["roster", "export", "--out", back.to_str().unwrap()]);
    b.ok(&["roster", "import", back.to_str().unwrap()]);
    let role = a.json(&["promote", "ips"]);
    has_keys(&role, &["org", "role", "entry"]);
    assert_eq!(role["role"], "admin");

    let added = a.json(&[
        "practice",
        "add",
        "--id",
        "p-json",
        "--title",
        "Mentoring after release",
        "--organisation",
        "lmds",
        "--contact",
        "team@example.org",
    ]);
    assert_eq!(added["id"], "p-json");
    let edited = a.json(&["practice", "edit", "p-json", "--set", "status=published"]);
    assert_eq!(edited["status"], "published");
    let changes = a.data_dir().join("changes.json");
    a.ok(&["changes", "export", "--out", changes.to_str().unwrap()]);
    let took = b.json(&["changes", "import", changes.to_str().unwrap()]);
    has_keys(
        &took,
        &[
            "received",
            "applied",
            "duplicates",
            "refused",
            "refusals",
            "not_allowed",
        ],
    );
    assert_eq!(took["applied"], 2);
    let removed = a.json(&["practice", "rm", "p-json"]);
    assert_eq!(removed, serde_json::json!({"removed": "practice/p-json"}));
    let revoked = a.json(&["revoke", "ips", "--reason", "left"]);
    has_keys(&revoked, &["revoked", "entry"]);
    // An invite nobody used is withdrawn by its id; a second time it is
    // not open any more.
    let c = TestNode::init();
    let unused = a.json(&[
        "invite",
        "--org",
        "act",
        "--org-name",
        "ACT",
        "--country",
        "IT",
        "--key",
        &c.peer_id(),
    ]);
    let id = unused["invite"].as_str().unwrap();
    let withdrawn = a.json(&["withdraw", id]);
    has_keys(&withdrawn, &["invite", "key", "entry"]);
    assert_eq!(withdrawn["invite"], id);
    let e = a.json_error(&["withdraw", id], 3);
    assert_eq!(e["code"], "invalid", "{e}");
    let peer = a.json(&["peer", "add", "/ip4/127.0.0.1/tcp/9"]);
    assert_eq!(
        peer,
        serde_json::json!({"added": "/ip4/127.0.0.1/tcp/9", "dialing": false})
    );
}

#[test]
fn errors_under_json_are_one_object_with_the_exit_code() {
    let node = TestNode::init();
    node.ok(&["import", gen_dataset(20, 8, 1).to_str().unwrap()]);
    let code = |args: &[&str], exit: i32, code: &str| {
        let e = node.json_error(args, exit);
        assert_eq!(e["code"], code, "{args:?}: {e}");
        has_keys(&e, &["code", "message"]);
        e["message"].as_str().unwrap().to_owned()
    };
    // 2: the command line.
    code(&["practice", "frobnicate"], 2, "usage");
    code(&["practice", "show"], 2, "usage");
    code(
        &[
            "invite",
            "--org",
            "x",
            "--org-name",
            "X",
            "--country",
            "FR",
            "--key",
            "k",
            "--expires",
            "soon",
        ],
        2,
        "usage",
    );
    let m = code(
        &["practice", "edit", "p-000001", "--set", "status"],
        2,
        "usage",
    );
    assert!(m.contains("FIELD=VALUE"), "{m}");
    // 3: invalid input, nothing changed.
    let m = code(
        &["practice", "edit", "p-000001", "--set", "evidence=rumour"],
        3,
        "invalid",
    );
    assert!(m.contains("evidence"), "{m}");
    code(&["members"], 3, "invalid");
    // 4: not found.
    let m = code(&["practice", "show", "p-999999"], 4, "not_found");
    assert!(m.contains("p-999999"), "{m}");
    code(&["event", "rm", "e-999999"], 4, "not_found");
    // 5: exists.
    let dup = [
        "practice",
        "add",
        "--id",
        "p-000001",
        "--title",
        "T",
        "--organisation",
        "lmds",
        "--contact",
        "a@example.org",
    ];
    code(&dup, 5, "exists");
    // 7: the node is not running.
    code(&["peers"], 7, "unavailable");
    code(&["sync"], 7, "unavailable");
    // 1: I/O.
    code(&["import", "/nonexistent/data.json"], 1, "internal");
    code(
        &["export", "--out", "/nonexistent/dir/out.json"],
        1,
        "internal",
    );

    // Without --json the same failure is a line on stderr, stdout empty.
    let out = node.cli(&["practice", "show", "p-999999"]);
    assert_eq!(out.status.code(), Some(4));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("r2com: "));
}

#[test]
fn the_running_node_answers_status_peers_and_sync_as_json() {
    let mut a = TestNode::init();
    a.create_consortium("RAN", "lmds", "LMDS", "FR");
    a.start();
    let status = a.json(&["status"]);
    assert_eq!(status["running"], true);
    assert!(array(&status["listen"]).iter().all(Value::is_string));

    let mut b = TestNode::init();
    let token = a.ok(&[
        "invite",
        "--org",
        "ips",
        "--org-name",
        "IPS",
        "--country",
        "PT",
        "--key",
        &b.peer_id(),
        "--addr",
        &a.listen_addr(),
    ]);
    b.ok(&["join", token.trim()]);
    b.start();
    let b_id = b.peer_id();
    let connected = wait_for(Duration::from_secs(60), || {
        array(&a.json(&["peers"])["members"])
            .iter()
            .any(|p| p["peer_id"] == b_id.as_str() && p["connected"] == true)
    });
    assert!(connected, "B never connected; A log:\n{}", a.log());
    let peers = a.json(&["peers"]);
    has_keys(
        &peers["members"][0],
        &[
            "org",
            "key",
            "peer_id",
            "revoked",
            "connected",
            "connection",
            "via",
            "addrs",
            "dial_error",
            "last_sync",
            "we_lack",
            "they_lack",
            "bytes_sent",
            "bytes_received",
        ],
    );
    let synced = a.json(&["sync", &b_id]);
    assert_eq!(array(&synced).len(), 1);
    has_keys(&synced[0], &["peer", "result"]);
    has_keys(
        &synced[0]["result"],
        &[
            "fetched",
            "we_lack",
            "they_lack",
            "digest",
            "they_lack_entries",
        ],
    );
    let e = a.json_error(&["sync", "not-a-peer"], 7);
    assert_eq!(e["code"], "unavailable");
    let added = a.json(&["peer", "add", "/ip4/127.0.0.1/tcp/9"]);
    assert_eq!(added["dialing"], true);
    let e = a.json_error(&["peer", "add", "not-a-multiaddr"], 3);
    assert_eq!(e["code"], "invalid");
}

/// The staff commands of the web app (`user ...`, `web login-url`), on a
/// stopped node (its store opened directly) and on a running one, print
/// the shapes README documents; their refusals are error objects.
#[test]
fn staff_commands_print_their_documented_json() {
    let mut node = TestNode::init();
    node.create_consortium("RAN", "lmds", "LMDS", "FR");
    let account = ["name", "role", "password_set", "feed", "created_at"];

    let added = node.json(&["user", "add", "ana", "--role", "editor"]);
    has_keys(&added, &["user", "url", "expires_at"]);
    has_keys(&added["user"], &account);
    assert_eq!(added["user"]["name"], "ana");
    assert_eq!(added["user"]["role"], "editor");
    assert_eq!(added["user"]["password_set"], false);
    assert!(
        added["url"].as_str().unwrap().contains("/welcome/"),
        "{added}"
    );
    let e = node.json_error(&["user", "add", "ana", "--role", "reader"], 5);
    assert_eq!(e["code"], "exists", "{e}");
    let e = node.json_error(&["user", "add", "Ana Maria", "--role", "reader"], 2);
    assert_eq!(e["code"], "usage", "{e}");

    node.start();
    let changed = node.json(&["user", "role", "ana", "admin"]);
    has_keys(&changed, &account);
    assert_eq!(changed["role"], "admin");
    let link = node.json(&["user", "link", "ana"]);
    has_keys(&link, &["user", "url", "expires_at"]);
    assert_eq!(link["user"], "ana");
    let addr = node.web_addr();
    let login = node.json(&["web", "login-url"]);
    has_keys(&login, &["user", "url", "expires_at"]);
    assert_eq!(login["user"], "operator");
    assert!(
        login["url"]
            .as_str()
            .unwrap()
            .starts_with(&format!("http://{addr}/login/")),
        "{login}"
    );
    let as_ana = node.json(&["web", "login-url", "--user", "ana"]);
    assert_eq!(as_ana["user"], "ana");
    let list = node.json(&["user", "list"]);
    let names: Vec<&str> = array(&list)
        .iter()
        .map(|u| {
            has_keys(u, &account);
            u["name"].as_str().unwrap()
        })
        .collect();
    assert_eq!(names, ["ana", "operator"], "{list}");
    let removed = node.json(&["user", "rm", "ana"]);
    has_keys(&removed, &["removed"]);
    assert_eq!(removed["removed"], "ana");
    let e = node.json_error(&["user", "rm", "ana"], 4);
    assert_eq!(e["code"], "not_found", "{e}");
    let e = node.json_error(&["web", "login-url", "--user", "ana"], 4);
    assert_eq!(e["code"], "not_found", "{e}");
    node.stop();
    let list = node.json(&["user", "list"]);
    assert_eq!(array(&list).len(), 1, "{list}");
}
