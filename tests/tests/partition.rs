//! A partition between real nodes: three nodes reach each other only
//! through TCP proxies the test runs on loopback (one per link, the
//! harness's [`Proxy`]), which can delay, drop (close a connection at
//! random), cut and heal. Edits happen on every side while one node is cut
//! off; after healing every node holds the same library.

use std::time::Duration;

use r2com_tests::{gen_dataset, logs, socket_addr, wait_for, Proxy, TestNode};
use serde_json::Value;

const CONVERGE: Duration = Duration::from_secs(120);

/// Invite `who` as `org`, pointing it at `addr` (a proxy), join, start.
fn join_at(admin: &TestNode, addr: &str, who: &mut TestNode, org: &str) {
    who.join(admin, org, addr);
    no_shared_addresses(who);
    who.start();
}

/// The nodes reach each other only through the proxies: they tell the
/// members no addresses of theirs (else they would dial each other
/// directly, around the cut).
fn no_shared_addresses(n: &TestNode) {
    std::fs::write(n.data_dir().join("config.toml"), "[net]\nannounce = []\n").unwrap();
}

fn all_equal(nodes: &[&TestNode]) -> bool {
    let first = nodes[0].export();
    nodes[1..].iter().all(|n| n.export() == first)
}

#[test]
fn nodes_behind_cut_and_lossy_links_converge_after_healing() {
    let mut a = TestNode::init();
    a.create_consortium("RAN", "lmds", "LMDS", "FR");
    no_shared_addresses(&a);
    a.start();
    a.ok(&["import", gen_dataset(30, 10, 9).to_str().unwrap()]);
    let a_addr = socket_addr(&a.listen_addr());

    // B reaches A through ab; C reaches A through ac and B through bc.
    let ab = Proxy::to(a_addr, 1);
    let ac = Proxy::to(a_addr, 2);
    let mut b = TestNode::init();
    join_at(&a, &ab.addr(), &mut b, "ips");
    let bc = Proxy::to(socket_addr(&b.listen_addr()), 3);
    let mut c = TestNode::init();
    join_at(&a, &ac.addr(), &mut c, "act");
    c.ok(&["peer", "add", &bc.addr()]);
    let nodes = [&a, &b, &c];
    assert!(
        wait_for(CONVERGE, || all_equal(&nodes)),
        "initial clone\n{}",
        logs(&nodes)
    );

    // Cut C off; A-B is slow and lossy. Edits on every side.
    ac.cut();
    bc.cut();
    ab.degrade(20, 20);
    for i in 0..5 {
        a.ok(&[
            "practice",
            "edit",
            &format!("p-00000{i}"),
            "--set",
            &format!("title=A{i}"),
        ]);
        b.ok(&[
            "event",
            "edit",
            &format!("e-00000{i}"),
            "--set",
            &format!("capacity={}", 40 + i),
        ]);
        c.ok(&[
            "practice",
            "edit",
            &format!("p-00001{i}"),
            "--set",
            &format!("title=C{i}"),
        ]);
    }
    // Concurrent edits of one record on both sides of the cut.
    a.ok(&["practice", "edit", "p-000020", "--set", "title=From A"]);
    c.ok(&["practice", "edit", "p-000020", "--splice", "0:0:From C. "]);
    c.ok(&[
        "practice",
        "add",
        "--title",
        "Written while cut off",
        "--organisation",
        "act",
        "--contact",
        "c@example.org",
    ]);
    assert!(
        wait_for(CONVERGE, || a.export() == b.export()),
        "A and B over the lossy link\n{}",
        logs(&nodes)
    );
    // The cut holds: C is connected to nobody, and what A and B wrote
    // meanwhile (and exchanged over their lossy link) did not reach it.
    let (a_id, b_id) = (a.peer_id(), b.peer_id());
    assert!(
        wait_for(CONVERGE, || {
            let peers = c.json(&["peers"]);
            let peers = peers["members"].as_array().unwrap();
            [&a_id, &b_id].iter().all(|id| {
                peers
                    .iter()
                    .any(|p| p["peer_id"] == id.as_str() && p["connected"] == false)
            })
        }),
        "C still connected across the cut\n{}",
        logs(&nodes)
    );
    assert_eq!(b.json(&["practice", "show", "p-000000"])["title"], "A0");
    assert_ne!(c.json(&["practice", "show", "p-000000"])["title"], "A0");
    assert_ne!(c.json(&["event", "show", "e-000000"])["capacity"], 40);

    // Heal: everyone converges, C's edits included.
    ab.heal();
    ac.heal();
    bc.heal();
    assert!(
        wait_for(CONVERGE, || all_equal(&nodes)),
        "after healing\n{}",
        logs(&nodes)
    );
    let p = a.json(&["practice", "show", "p-000012"]);
    assert_eq!(p["title"], "C2");
    let titles: Vec<Value> = a.export()["practices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["title"].clone())
        .collect();
    assert!(titles.contains(&Value::from("Written while cut off")));
    for n in nodes {
        assert_eq!(n.json(&["verify"])["invalid"], 0);
    }
}
