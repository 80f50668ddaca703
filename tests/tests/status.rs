//! `status` and `peers` stay current on an idle link: a periodic check
//! round (`[sync] interval_secs`) and every push refresh the last sync, and
//! `status` shows one line per member.

use std::time::Duration;

use r2com_tests::{wait_for, TestNode};
use serde_json::Value;

const CONVERGE: Duration = Duration::from_secs(90);

/// A node that checks idle links every `secs` seconds.
fn with_interval(secs: u64) -> TestNode {
    let n = TestNode::init();
    std::fs::write(
        n.data_dir().join("config.toml"),
        format!("[sync]\ninterval_secs = {secs}\n"),
    )
    .unwrap();
    n
}

/// `n`'s row for `other` in `status` (the same as in `peers`).
fn member(n: &TestNode, other: &TestNode) -> Value {
    let id = other.peer_id();
    let status = n.json(&["status"]);
    let row = status["peers"]
        .as_array()
        .unwrap_or_else(|| panic!("status has no peers: {status}"))
        .iter()
        .find(|p| p["peer_id"] == id.as_str())
        .cloned()
        .unwrap_or(Value::Null);
    let peers = n.json(&["peers"]);
    let same = peers["members"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["peer_id"] == id.as_str() && p["org"] == row["org"]);
    assert!(same, "peers and status list the same member: {peers} {row}");
    row
}

fn last_sync(n: &TestNode, other: &TestNode) -> Option<String> {
    member(n, other)["last_sync"].as_str().map(str::to_owned)
}

/// A (founder, lmds) checking every `a_secs`, B (ips) every `b_secs`,
/// connected and synced once.
fn pair(a_secs: u64, b_secs: u64) -> (TestNode, TestNode) {
    let mut a = with_interval(a_secs);
    a.create_consortium("RAN", "lmds", "LMDS", "FR");
    a.start();
    let mut b = with_interval(b_secs);
    b.join(&a, "ips", &a.listen_addr());
    b.start();
    let connected = |x: &TestNode, y: &TestNode| {
        let m = member(x, y);
        m["connected"] == true && m["last_sync"].is_string()
    };
    assert!(
        wait_for(CONVERGE, || connected(&a, &b) && connected(&b, &a)),
        "A log:\n{}\nB log:\n{}",
        a.log(),
        b.log()
    );
    (a, b)
}

#[test]
fn an_idle_link_is_checked_and_status_shows_each_member() {
    // B never checks by itself (an hour): what it shows comes from A's
    // checks.
    let (a, mut b) = pair(2, 3600);

    // Idle: A's checks move both sides' last sync on, with no `sync` asked.
    for (x, y, who) in [(&a, &b, "A"), (&b, &a, "B")] {
        let first = last_sync(x, y);
        assert!(
            wait_for(Duration::from_secs(20), || last_sync(x, y) != first),
            "{who}'s last sync of an idle link stayed {first:?}\nA log:\n{}\nB log:\n{}",
            a.log(),
            b.log()
        );
        let m = member(x, y);
        assert_eq!(
            (m["we_lack"].as_u64(), m["they_lack"].as_u64()),
            (Some(0), Some(0))
        );
    }

    // The human `status`: one line per member, connected and in sync.
    let text = a.ok(&["status"]);
    let line = text
        .lines()
        .find(|l| l.contains(&b.peer_id()))
        .unwrap_or_else(|| panic!("no line for B in:\n{text}"));
    assert!(line.trim_start().starts_with("members"), "{text}");
    assert!(line.contains("ips"), "{line}");
    assert!(line.contains("connected, in sync, last sync"), "{line}");

    // Positive control: a stopped member shows as not connected.
    b.stop();
    assert!(wait_for(Duration::from_secs(20), || {
        member(&a, &b)["connected"] == false
    }));
    let text = a.ok(&["status"]);
    assert!(
        text.lines()
            .any(|l| l.contains(&b.peer_id()) && l.contains("not connected")),
        "{text}"
    );
}

#[test]
fn a_push_refreshes_the_last_sync_on_both_sides() {
    // Neither checks by itself: only the push can move the last sync on.
    let (a, b) = pair(3600, 3600);
    // Once the joining rounds and pushes are over, nothing moves the last
    // syncs (to the second) while the link is idle: the control for what
    // follows.
    let settled = || {
        let before = (last_sync(&a, &b), last_sync(&b, &a));
        std::thread::sleep(Duration::from_millis(1100));
        (before == (last_sync(&a, &b), last_sync(&b, &a))).then_some(before)
    };
    let (a_before, b_before) = (0..20)
        .find_map(|_| settled())
        .expect("the last syncs of an idle link kept moving");
    // B adds a practice; it is pushed to A, which acknowledges it.
    std::fs::write(b.data_dir().join("body.md"), "## Context\n\nPushed.\n").unwrap();
    b.ok(&[
        "practice",
        "add",
        "--title",
        "Pushed",
        "--organisation",
        "ips",
        "--contact",
        "x@example.org",
        "--theme",
        "mentoring",
        "--language",
        "pt",
        "--country",
        "PT",
        "--body-file",
        b.data_dir().join("body.md").to_str().unwrap(),
    ]);
    assert!(wait_for(CONVERGE, || a.export() == b.export()));
    assert!(
        wait_for(Duration::from_secs(10), || last_sync(&a, &b) != a_before),
        "receiving the push did not refresh A's last sync"
    );
    assert!(
        wait_for(Duration::from_secs(10), || last_sync(&b, &a) != b_before),
        "the acknowledged push did not refresh B's last sync"
    );
}
