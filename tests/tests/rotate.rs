//! `r2com key rotate` between real nodes on loopback: an admin node and a
//! member node each rotate while connected to their partner, keep syncing
//! under the new key, and lose nothing; a node killed inside the switch
//! finishes the rotation at its next start.

use std::process::{Command, Stdio};
use std::time::Duration;

use r2com_tests::{assert_converges, gen_dataset, r2com_bin, wait_for, TestNode};
use serde_json::Value;

const CONVERGE: Duration = Duration::from_secs(90);

fn public_key(n: &TestNode) -> String {
    n.json(&["id"])["public_key"].as_str().unwrap().to_owned()
}

/// Wait until the node answers `status` again, running under `key`.
fn wait_restarted(n: &TestNode, key: &str) {
    let up = wait_for(Duration::from_secs(60), || {
        let out = n.cli(&["status", "--json"]);
        out.status.success()
            && serde_json::from_slice::<Value>(&out.stdout)
                .is_ok_and(|s| s["running"] == true && s["public_key"] == key)
    });
    assert!(
        up,
        "the node did not come back under {key}; log:\n{}",
        n.log()
    );
}

/// The key's row in `members` (organisation, key state), if listed.
fn key_row(members: &Value, key: &str) -> Option<(String, Value)> {
    members["orgs"].as_array()?.iter().find_map(|o| {
        o["keys"].as_array()?.iter().find_map(|k| {
            (k["key"] == key).then(|| (o["key"].as_str().unwrap().to_owned(), k.clone()))
        })
    })
}

/// `n` lists `old` revoked and `new` live, both in `org`.
fn rotated_in(n: &TestNode, org: &str, old: &str, new: &str) -> bool {
    let m = n.json(&["members"]);
    match (key_row(&m, old), key_row(&m, new)) {
        (Some((o1, k1)), Some((o2, k2))) => {
            o1 == org && o2 == org && !k1["revoked"].is_null() && k2["revoked"].is_null()
        }
        _ => false,
    }
}

fn practice_title(n: &TestNode, id: &str) -> String {
    n.json(&["practice", "show", id])["title"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn assert_verify_clean(n: &TestNode) {
    let v = n.json(&["verify"]);
    assert_eq!(v["invalid"], 0, "{v}");
    assert!(v["valid"].as_u64().unwrap() > 0, "{v}");
}

/// Founder `lmds` (admin) with data, and member `ips` joined through it;
/// both running and in sync.
fn pair() -> (TestNode, TestNode) {
    let mut a = TestNode::init();
    a.create_consortium("RAN", "lmds", "LMDS", "FR");
    a.start();
    a.ok(&["import", gen_dataset(20, 5, 4).to_str().unwrap()]);
    let mut b = TestNode::init();
    b.join(&a, "ips", &a.listen_addr());
    b.start();
    assert_converges(&a, &b, "clone");
    (a, b)
}

/// Run the `r2com invite ...` line `key rotate` printed, on `admin`; the
/// token.
fn run_printed_invite(admin: &TestNode, line: &str) -> String {
    let rest = line.strip_prefix("r2com ").expect("an r2com command");
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("exec \"$R2COM\" --data-dir \"$DIR\" --json {rest}"))
        .env("R2COM", r2com_bin())
        .env("DIR", admin.data_dir())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{line}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["token"].as_str().unwrap().to_owned()
}

#[test]
fn an_admin_and_a_member_rotate_their_keys_and_keep_syncing() {
    let (a, b) = pair();
    let pid_a = a.pid();
    // Edits before any rotation, one by each.
    a.ok(&["practice", "edit", "p-000001", "--set", "title=Before by A"]);
    b.ok(&["practice", "edit", "p-000002", "--set", "title=Before by B"]);
    assert_converges(&a, &b, "edits before");

    // The admin node rotates: it invites its next key itself.
    let a_old = public_key(&a);
    let r = a.json(&["key", "rotate"]);
    assert_eq!(r["state"], "switched", "{r}");
    let mut keys: Vec<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "confirmed_by",
            "invite_command",
            "new_key",
            "new_peer_id",
            "old_key",
            "state"
        ],
        "README's shape"
    );
    assert_eq!(r["old_key"], a_old.as_str());
    let a_new = r["new_key"].as_str().unwrap().to_owned();
    assert_ne!(a_new, a_old);
    assert_eq!(r["confirmed_by"], b.peer_id().as_str());
    wait_restarted(&a, &a_new);
    assert_eq!(public_key(&a), a_new, "`id` shows the new key");
    assert_eq!(a.pid(), pid_a, "the same process carries on");
    assert!(!a.data_dir().join("node.key.next").exists());
    assert!(
        wait_for(Duration::from_secs(30), || !a
            .data_dir()
            .join("node.key.old")
            .exists()),
        "the old key file goes once revoked"
    );
    for n in [&a, &b] {
        assert!(
            wait_for(CONVERGE, || rotated_in(n, "lmds", &a_old, &a_new)),
            "old key revoked, new key live in lmds: {}",
            n.json(&["members"])
        );
    }
    assert_eq!(
        a.json(&["status"])["consortium"]["this_node"],
        "admin",
        "still the admin organisation"
    );
    a.ok(&["practice", "edit", "p-000003", "--set", "title=After by A"]);
    assert!(
        wait_for(CONVERGE, || practice_title(&b, "p-000003") == "After by A"),
        "an edit after the admin's rotation reaches the member; B log:\n{}",
        b.log()
    );

    // The member node rotates: an admin must invite its next key.
    let b_old = public_key(&b);
    let r = b.json(&["key", "rotate"]);
    assert_eq!(r["state"], "needs_invite", "{r}");
    let b_new = r["new_key"].as_str().unwrap().to_owned();
    let line = r["invite_command"].as_str().unwrap();
    assert!(line.contains(&b_new), "{line}");
    let token = run_printed_invite(&a, line);
    let r = b.json(&["key", "rotate", "--token", &token]);
    assert_eq!(r["state"], "switched", "{r}");
    assert_eq!(r["new_key"], b_new.as_str(), "the same next key");
    wait_restarted(&b, &b_new);
    for n in [&a, &b] {
        assert!(
            wait_for(CONVERGE, || rotated_in(n, "ips", &b_old, &b_new)),
            "old key revoked, new key live in ips: {}",
            n.json(&["members"])
        );
    }
    b.ok(&["practice", "edit", "p-000004", "--set", "title=After by B"]);
    assert!(
        wait_for(CONVERGE, || practice_title(&a, "p-000004") == "After by B"),
        "an edit after the member's rotation reaches the admin; A log:\n{}",
        a.log()
    );
    assert_converges(&a, &b, "after both rotations");
    for n in [&a, &b] {
        assert_eq!(practice_title(n, "p-000001"), "Before by A");
        assert_eq!(practice_title(n, "p-000002"), "Before by B");
        assert_verify_clean(n);
    }
}

#[test]
fn a_rotation_refuses_without_a_connected_member_and_changes_nothing() {
    let mut a = TestNode::init();
    a.create_consortium("RAN", "lmds", "LMDS", "FR");
    a.start();
    let before = a.json(&["members"]);
    let e = a.json_error(&["key", "rotate"], 7);
    let msg = e["message"].as_str().unwrap();
    assert!(msg.contains("no member is connected"), "{msg}");
    assert_eq!(a.json(&["members"]), before, "no entry was made");
    assert!(!a.data_dir().join("node.key.next").exists());
    // With the node stopped it says the node must run.
    a.stop();
    let e = a.json_error(&["key", "rotate"], 7);
    assert!(
        e["message"].as_str().unwrap().contains("running node"),
        "{e}"
    );
}

/// Killed inside the switch (after linking the old key, before renaming
/// the next one in; then once the switch is done, before the revocation),
/// the node finishes the rotation at its next start.
#[test]
fn a_node_killed_inside_the_switch_finishes_the_rotation_at_its_next_start() {
    for point in ["key-switch:1", "key-switch:1:after"] {
        let (mut a, b) = pair();
        a.ok(&[
            "practice",
            "edit",
            "p-000005",
            "--set",
            "title=Before the crash",
        ]);
        assert_converges(&a, &b, "before");
        let a_old = public_key(&a);
        let addr = a.listen_addr();
        a.stop();
        a.start_env(
            &["--listen", &addr, "--no-mdns"],
            &[("R2COM_FAILPOINT", point)],
        );
        // B redials A's address and connects again.
        let b_id = b.peer_id();
        assert!(
            wait_for(CONVERGE, || a.json(&["peers"])["members"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["peer_id"] == b_id.as_str() && p["connected"] == true)),
            "{point}: B reconnects; A log:\n{}",
            a.log()
        );
        let out = a.cli(&["key", "rotate", "--json"]);
        assert!(!out.status.success(), "{point}: the node died mid-switch");
        assert!(a.wait_exit(Duration::from_secs(20)), "{point}: aborted");
        a.start_with(&["--listen", &addr, "--no-mdns"]);
        let a_new = public_key(&a);
        assert_ne!(a_new, a_old, "{point}: the switch was finished");
        assert!(!a.data_dir().join("node.key.old").exists(), "{point}");
        assert!(!a.data_dir().join("node.key.next").exists(), "{point}");
        for n in [&a, &b] {
            assert!(
                wait_for(CONVERGE, || rotated_in(n, "lmds", &a_old, &a_new)),
                "{point}: {}",
                n.json(&["members"])
            );
        }
        a.ok(&[
            "practice",
            "edit",
            "p-000006",
            "--set",
            "title=After the crash",
        ]);
        assert!(
            wait_for(CONVERGE, || practice_title(&b, "p-000006")
                == "After the crash"),
            "{point}: B log:\n{}",
            b.log()
        );
        for n in [&a, &b] {
            assert_eq!(practice_title(n, "p-000005"), "Before the crash");
            assert_verify_clean(n);
        }
    }
}
