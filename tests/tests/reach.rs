//! Partners reach each other as an operator sets them up: `join` on a
//! running node (README's order), an invite with a host name, and members
//! that learn each other's addresses from members, so the consortium keeps
//! syncing when the node they joined through is down. A configured address
//! that cannot be dialed is shown in `peers` with the reason.

use std::time::Duration;

use r2com_tests::{gen_dataset, logs, wait_for, TestNode};
use serde_json::Value;

const CONVERGE: Duration = Duration::from_secs(90);

fn digest(n: &TestNode) -> Value {
    n.json(&["status"])["sync_digest"].clone()
}

fn assert_converge(nodes: &[&TestNode], what: &str) {
    let ok = wait_for(CONVERGE, || {
        let d = digest(nodes[0]);
        nodes[1..].iter().all(|n| digest(n) == d)
    });
    assert!(ok, "{what}: no convergence\n{}", logs(nodes));
    let first = nodes[0].export();
    for n in &nodes[1..] {
        assert_eq!(n.export(), first, "{what}");
    }
}

#[test]
fn a_new_partner_starts_its_node_then_joins_and_converges() {
    let mut a = TestNode::init();
    a.create_consortium("RAN", "lmds", "LMDS", "FR");
    a.start();
    a.ok(&["import", gen_dataset(60, 20, 3).to_str().unwrap()]);

    // README's order on the new partner's side: init, run, then join.
    let mut b = TestNode::init();
    b.start();
    let token = a.invite("ips", &b, &["--addr", &a.full_addr()]);
    let joined = b.json(&["join", &token]);
    assert_eq!(joined["admitted"], true, "{joined}\n{}", logs(&[&a, &b]));
    assert_eq!(joined["admitted_by"], a.peer_id().as_str());
    assert_eq!(
        b.json(&["status"])["consortium"]["this_node"],
        "member",
        "status after join"
    );
    assert_converge(&[&a, &b], "start, then join");
    b.ok(&["practice", "edit", "p-000001", "--set", "title=From B"]);
    assert!(wait_for(CONVERGE, || {
        a.json(&["practice", "show", "p-000001"])["title"] == "From B"
    }));

    // And the other order still works: join a stopped node, then start it.
    let mut c = TestNode::init();
    let token = a.invite("act", &c, &["--addr", &a.full_addr()]);
    c.ok(&["join", &token]);
    c.start();
    assert_converge(&[&a, &b, &c], "join, then start");
}

#[test]
fn an_invite_with_a_host_name_is_dialed_and_a_bad_one_is_reported() {
    let mut a = TestNode::init();
    a.create_consortium("RAN", "lmds", "LMDS", "FR");
    a.start();
    a.ok(&["import", gen_dataset(20, 5, 4).to_str().unwrap()]);
    let port = a.listen_addr().rsplit('/').next().unwrap().to_owned();
    let by_name = format!("/dns4/localhost/tcp/{port}/p2p/{}", a.peer_id());

    let mut b = TestNode::init();
    b.start();
    let joined = b.json(&["join", &a.invite("ips", &b, &["--addr", &by_name])]);
    assert_eq!(joined["admitted"], true, "{joined}\n{}", logs(&[&a, &b]));
    assert_converge(&[&a, &b], "through /dns4/localhost");
    assert!(b.peer_entry(&a.peer_id())["addrs"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x.as_str().unwrap().contains("127.0.0.1")));

    // A name that does not resolve: the reason is in `peers` and the log.
    let bad = "/dns4/no-such-partner.invalid/tcp/7820";
    b.ok(&["peer", "add", bad]);
    let shown = wait_for(Duration::from_secs(20), || {
        b.json(&["peers"])["addresses"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["addr"] == bad && p["dial_error"].is_string())
    });
    assert!(shown, "{}\n{}", b.json(&["peers"]), b.log());
    assert!(
        b.log()
            .lines()
            .any(|l| l.contains("WARN") && l.contains("no-such-partner.invalid")),
        "{}",
        b.log()
    );
    let text = b.ok(&["peers"]);
    assert!(text.contains("unreachable"), "{text}");
}

#[test]
fn members_reach_each_other_when_the_node_they_joined_through_is_down() {
    let mut a = TestNode::init();
    a.create_consortium("RAN", "lmds", "LMDS", "FR");
    a.start();
    a.ok(&["import", gen_dataset(30, 10, 5).to_str().unwrap()]);
    let (mut b, mut c) = (TestNode::init(), TestNode::init());
    for (n, org) in [(&mut b, "ips"), (&mut c, "act")] {
        n.start();
        let token = a.invite(org, n, &["--addr", &a.full_addr()]);
        assert_eq!(n.json(&["join", &token])["admitted"], true, "{}", n.log());
    }
    assert_converge(&[&a, &b, &c], "three nodes");

    // B and C were only given A's address; they learn each other's from
    // A's copies of their signed records and connect directly.
    let (pb, pc) = (b.peer_id(), c.peer_id());
    let meshed = wait_for(CONVERGE, || {
        b.peer_entry(&pc)["connection"] == "direct" && c.peer_entry(&pb)["connection"] == "direct"
    });
    assert!(meshed, "B and C did not connect\n{}", logs(&[&a, &b, &c]));

    a.stop();
    b.ok(&[
        "practice",
        "edit",
        "p-000002",
        "--set",
        "title=While A is down",
    ]);
    let reached = wait_for(CONVERGE, || {
        c.json(&["practice", "show", "p-000002"])["title"] == "While A is down"
    });
    assert!(reached, "the edit did not reach C\n{}", logs(&[&b, &c]));

    // C restarts (on a new port) while A is still down: it dials B at the
    // address B's record gave, and B learns C's new one.
    c.stop();
    c.start();
    c.ok(&[
        "practice",
        "edit",
        "p-000003",
        "--set",
        "title=After C restarted",
    ]);
    let reached = wait_for(CONVERGE, || {
        b.json(&["practice", "show", "p-000003"])["title"] == "After C restarted"
    });
    assert!(reached, "B and C did not meet again\n{}", logs(&[&b, &c]));
    assert_eq!(b.peer_entry(&pc)["connection"], "direct");
}
