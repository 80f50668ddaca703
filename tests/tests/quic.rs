//! Sync over QUIC only: both nodes listen on nothing but a QUIC address
//! on loopback; a new partner joins through it, clones and edits.

use std::time::Duration;

use r2com_tests::{gen_dataset, wait_for, TestNode};

const CONVERGE: Duration = Duration::from_secs(90);
const QUIC_ONLY: [&str; 3] = ["--listen", "/ip4/127.0.0.1/udp/0/quic-v1", "--no-mdns"];

#[test]
fn a_partner_joins_clones_and_edits_over_quic_only() {
    let mut a = TestNode::init();
    a.create_consortium("RAN", "lmds", "LMDS", "FR");
    a.start_with(&QUIC_ONLY);
    a.ok(&["import", gen_dataset(80, 30, 7).to_str().unwrap()]);
    let addr = a.full_addr();
    assert!(
        addr.contains("/udp/") && addr.contains("/quic-v1"),
        "{addr}"
    );

    let mut b = TestNode::init();
    b.start_with(&QUIC_ONLY);
    let token = a.invite("ips", &b, &["--addr", &addr]);
    let joined = b.json(&["join", &token]);
    assert_eq!(joined["admitted"], true, "{joined}\n{}", b.log());
    let logs = || format!("A:\n{}\nB:\n{}", a.log(), b.log());
    assert!(
        wait_for(CONVERGE, || a.export() == b.export()),
        "clone over QUIC\n{}",
        logs()
    );
    b.ok(&["practice", "edit", "p-000010", "--set", "title=Over QUIC"]);
    assert!(
        wait_for(CONVERGE, || {
            a.json(&["practice", "show", "p-000010"])["title"] == "Over QUIC"
        }),
        "{}",
        logs()
    );
    let peers = a.json(&["peers"]);
    let entry = peers["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["peer_id"] == b.peer_id().as_str())
        .unwrap();
    assert_eq!(entry["connection"], "direct", "{entry}");
    assert!(
        entry["addrs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x.as_str().unwrap().contains("quic-v1")),
        "{entry}"
    );
}
