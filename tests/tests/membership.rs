//! Consortium membership with the real binary over several data
//! directories: found, invite, join, hand the roster over by file, revoke;
//! changes by a revoked key are refused, also when relayed.

use r2com_tests::{gen_dataset, hand_over, TestNode};

fn public_key(n: &TestNode) -> String {
    n.json(&["id"])["public_key"].as_str().unwrap().to_owned()
}

/// Hand `from`'s roster or changes to `to`, whose import must fail with
/// `code`; its stderr.
fn try_hand_over(what: &str, from: &TestNode, to: &TestNode, code: i32) -> String {
    let file = from.data_dir().join(format!("{what}-out.json"));
    from.ok(&[what, "export", "--out", file.to_str().unwrap()]);
    to.fails(&[what, "import", file.to_str().unwrap()], code)
}

/// A (admin, lmds) founds; B (ips) and C (act) join; rosters handed around.
fn consortium() -> (TestNode, TestNode, TestNode) {
    let a = TestNode::init();
    let b = TestNode::init();
    let c = TestNode::init();
    a.create_consortium(
        "RAN practitioners",
        "lmds",
        "Les Militants des Savoirs",
        "FR",
    );
    let tb = a.invite("ips", &b, &["--addr", "/ip4/127.0.0.1/tcp/4001"]);
    let tc = a.invite("act", &c, &[]);
    let joined = b.json(&["join", &tb]);
    assert_eq!(
        joined["admitted"], false,
        "not admitted before reaching a member"
    );
    c.ok(&["join", &tc]);
    hand_over("roster", &a, &b);
    hand_over("roster", &a, &c);
    hand_over("roster", &b, &a);
    hand_over("roster", &c, &a);
    hand_over("roster", &a, &b);
    hand_over("roster", &a, &c);
    (a, b, c)
}

#[test]
fn create_invite_join_and_every_node_agrees_on_the_members() {
    let (a, b, c) = consortium();
    let ma = a.json(&["members"]);
    assert_eq!(ma, b.json(&["members"]));
    assert_eq!(ma, c.json(&["members"]));
    let orgs = ma["orgs"].as_array().unwrap();
    assert_eq!(orgs.len(), 3);
    let ips = orgs.iter().find(|o| o["key"] == "ips").unwrap();
    assert_eq!(ips["role"], "member");
    assert_eq!(ips["keys"][0]["key"], public_key(&b).as_str());
    assert_eq!(ips["keys"][0]["added_by"], public_key(&a).as_str());
    assert_eq!(b.json(&["status"])["consortium"]["this_node"], "member");
    assert_eq!(a.json(&["status"])["consortium"]["this_node"], "admin");

    // Only admins invite, promote, revoke.
    let d = TestNode::init();
    let e = b.fails(
        &[
            "invite",
            "--org",
            "x",
            "--org-name",
            "X",
            "--country",
            "AL",
            "--key",
            &d.peer_id(),
        ],
        3,
    );
    assert!(e.contains("only an admin"), "{e}");
    a.ok(&["promote", "ips"]);
    hand_over("roster", &a, &b);
    assert_eq!(b.json(&["status"])["consortium"]["this_node"], "admin");
    b.ok(&["demote", "ips"]);
    hand_over("roster", &b, &a);
    // The last admin cannot go.
    let e = a.fails(&["revoke", "lmds"], 3);
    assert!(e.contains("cannot remove the last admin"), "{e}");
}

#[test]
fn invites_are_checked_on_join() {
    let a = TestNode::init();
    let b = TestNode::init();
    let c = TestNode::init();
    a.create_consortium("RAN", "lmds", "LMDS", "FR");
    let for_b = a.invite("ips", &b, &[]);
    let e = c.fails(&["join", &for_b], 3);
    assert!(e.contains("this invite is for node key"), "{e}");
    let mut damaged = for_b.clone();
    damaged.replace_range(40..44, "AAAA");
    c.fails(&["join", &damaged], 3);
    // The invite carries the expiry asked for (that `join` refuses it
    // afterwards is the library's unit test, on a test clock).
    let issued = chrono::Utc::now();
    let v = a.json(&[
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
        "2h",
    ]);
    let expires = chrono::DateTime::parse_from_rfc3339(v["expires_at"].as_str().unwrap())
        .unwrap()
        .with_timezone(&chrono::Utc);
    let ahead = (expires - issued).num_seconds();
    assert!(
        (7100..=7260).contains(&ahead),
        "expires {ahead} s after issue"
    );
    b.fails(
        &[
            "invite",
            "--org",
            "x",
            "--org-name",
            "X",
            "--country",
            "AL",
            "--key",
            "nonsense",
        ],
        3,
    );
}

#[test]
fn a_revoked_member_keeps_its_past_changes_and_its_later_ones_reach_no_one() {
    let (a, b, c) = consortium();
    let data = gen_dataset(20, 5, 3);
    a.ok(&["import", data.to_str().unwrap()]);
    hand_over("changes", &a, &b);
    hand_over("changes", &a, &c);
    // B edits before its revocation; A and C get it.
    b.ok(&[
        "practice",
        "edit",
        "p-000001",
        "--set",
        "title=Before the revocation",
    ]);
    hand_over("changes", &b, &a);
    hand_over("changes", &b, &c);
    assert_eq!(
        a.json(&["practice", "show", "p-000001"])["title"],
        "Before the revocation"
    );

    a.ok(&["revoke", "ips", "--reason", "left the consortium"]);
    hand_over("roster", &a, &c);
    // B has not heard yet, edits again, and hands its changes to A directly:
    b.ok(&[
        "practice",
        "edit",
        "p-000002",
        "--set",
        "title=After the revocation",
    ]);
    let e = try_hand_over("changes", &b, &a, 3);
    assert!(e.contains("was revoked"), "{e}");
    assert_ne!(
        a.json(&["practice", "show", "p-000002"])["title"],
        "After the revocation"
    );
    // Nor through C, a member that relays what it holds.
    let e = try_hand_over("changes", &b, &c, 3);
    assert!(e.contains("was revoked"), "{e}");
    assert_ne!(
        c.json(&["practice", "show", "p-000002"])["title"],
        "After the revocation"
    );
    // The earlier change stays, and stays verifiable.
    assert_eq!(
        c.json(&["practice", "show", "p-000001"])["title"],
        "Before the revocation"
    );
    assert_eq!(a.json(&["verify"])["invalid"], 0);
    // Once B has the roster, it knows, and refuses to make changes.
    hand_over("roster", &a, &b);
    assert_eq!(b.json(&["status"])["consortium"]["this_node"], "revoked");
    let e = b.fails(&["practice", "edit", "p-000003", "--set", "title=x"], 3);
    assert!(e.contains("revoked"), "{e}");
    let members = a.json(&["members"]);
    let ips = members["orgs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["key"] == "ips")
        .unwrap()
        .clone();
    assert_eq!(ips["revoked"]["reason"], "left the consortium");
    assert_eq!(members, c.json(&["members"]));
}

#[test]
fn a_non_member_cannot_push_changes() {
    let (a, _b, _c) = consortium();
    let outsider = TestNode::init();
    outsider.create_consortium("Other", "evil", "Evil", "HU");
    outsider.ok(&[
        "practice",
        "add",
        "--title",
        "Injected",
        "--organisation",
        "evil",
        "--contact",
        "e@example.org",
    ]);
    let e = try_hand_over("changes", &outsider, &a, 3);
    assert!(e.contains("refused"), "{e}");
    assert_eq!(a.json(&["practice", "list"]).as_array().unwrap().len(), 0);
    // Another consortium's roster is refused as a whole.
    let e = try_hand_over("roster", &outsider, &a, 3);
    assert!(e.contains("consortium"), "{e}");
}

/// Issue 13's reproduction: after admin `ips` revoked `act`, 64 copies of
/// `ips`'s own admission with hex re-cased (the signature, or the invite
/// id it names) are handed to the founder's node, as any member's push
/// would. None is stored, and the revocation holds.
#[test]
fn recased_copies_of_an_admins_admission_do_not_undo_its_revocation() {
    let (a, b, c) = consortium();
    a.ok(&["promote", "ips"]);
    hand_over("roster", &a, &b);
    b.ok(&["revoke", "act", "--reason", "compromised"]);
    hand_over("roster", &b, &a);
    let before = a.json(&["members"]);
    let act = |m: &serde_json::Value| {
        m["orgs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["key"] == "act")
            .unwrap()
            .clone()
    };
    assert_eq!(act(&before)["revoked"]["reason"], "compromised");

    let file: serde_json::Value =
        serde_json::from_str(&b.ok(&["roster", "export"])).expect("roster file");
    let ips_key = public_key(&b);
    let admission = file["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| {
            e["entry"]["author"] == ips_key.as_str() && e["entry"]["action"]["type"] == "admit"
        })
        .expect("ips's admission")
        .clone();
    // Upper-case a different set of the first seven letters of `s` for
    // each `mask`.
    let recase = |s: &str, mask: u32| -> String {
        let mut seen = 0;
        s.chars()
            .map(|ch| {
                if !ch.is_ascii_alphabetic() {
                    return ch;
                }
                seen += 1;
                if seen <= 7 && mask & (1 << (seen - 1)) != 0 {
                    ch.to_ascii_uppercase()
                } else {
                    ch
                }
            })
            .collect()
    };
    let mut copies = Vec::new();
    for mask in 1..=32u32 {
        let mut e = admission.clone();
        e["signature"] = recase(admission["signature"].as_str().unwrap(), mask).into();
        copies.push(e);
        let mut e = admission.clone();
        let invite = admission["entry"]["action"]["invite"].as_str().unwrap();
        e["entry"]["action"]["invite"] = recase(invite, mask).into();
        copies.push(e);
    }
    assert_eq!(copies.len(), 64);
    let path = a.data_dir().join("recased.json");
    let forged = serde_json::json!({"consortium": file["consortium"], "entries": copies});
    std::fs::write(&path, forged.to_string()).unwrap();
    let report = a.json(&["roster", "import", path.to_str().unwrap()]);
    assert_eq!(report["added"], 0, "{report}");
    assert_eq!(report["refused"].as_array().unwrap().len(), 64, "{report}");

    let after = a.json(&["members"]);
    assert_eq!(after, before, "the import changed the roster");
    assert_eq!(act(&after)["revoked"]["reason"], "compromised");
    assert!(
        after["rejected"].as_array().unwrap().is_empty(),
        "{}",
        after["rejected"]
    );
    // And what the founder hands on revokes `act` there too.
    hand_over("roster", &a, &c);
    assert_eq!(c.json(&["status"])["consortium"]["this_node"], "revoked");
}
