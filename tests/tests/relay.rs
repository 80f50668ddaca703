//! Members behind NAT reach each other through a member relay. B and C
//! listen on nothing but a circuit through A (relay v2 on loopback), so
//! the only way between them is a relayed connection; they learn each
//! other's circuit addresses from the members' signed records, connect
//! through A and sync. A refuses a reservation and a circuit to anyone who
//! is not a member: a stranger and a holder of an invite that was not
//! handed in yet, both played by a libp2p swarm in the test process.

use std::time::Duration;

use futures::StreamExt;
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{noise, relay, tcp, yamux, Multiaddr, Swarm};
use r2com_tests::{gen_dataset, logs, wait_for, TestNode};

const CONVERGE: Duration = Duration::from_secs(90);

#[derive(NetworkBehaviour)]
struct Outsider {
    relay: relay::client::Behaviour,
}

fn outsider(seed: [u8; 32]) -> Swarm<Outsider> {
    let kp = libp2p_identity::Keypair::ed25519_from_bytes(seed).unwrap();
    libp2p::SwarmBuilder::with_existing_identity(kp)
        .with_tokio()
        .with_tcp(
            tcp::Config::default(),
            noise::Config::new,
            yamux::Config::default,
        )
        .unwrap()
        .with_relay_client(noise::Config::new, yamux::Config::default)
        .unwrap()
        .with_behaviour(|_, relay| Outsider { relay })
        .unwrap()
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
        .build()
}

/// Ask the relay for a reservation, then for a circuit to `target`; what
/// happened to each (`Ok` would be a failure of the relay's gate).
async fn try_relay(
    swarm: &mut Swarm<Outsider>,
    relay_addr: &Multiaddr,
    target: &str,
) -> (Result<(), String>, Result<(), String>) {
    let circuit = relay_addr
        .clone()
        .with(libp2p::multiaddr::Protocol::P2pCircuit);
    let listener = swarm.listen_on(circuit.clone()).unwrap();
    let reservation = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match swarm.select_next_some().await {
                SwarmEvent::Behaviour(OutsiderEvent::Relay(
                    relay::client::Event::ReservationReqAccepted { .. },
                )) => return Ok(()),
                SwarmEvent::ListenerClosed {
                    listener_id,
                    reason,
                    ..
                } if listener_id == listener => return Err(format!("listener closed: {reason:?}")),
                _ => {}
            }
        }
    })
    .await
    .unwrap_or_else(|_| Err("no reservation within 30 s".into()));
    let to: Multiaddr = format!("{circuit}/p2p/{target}").parse().unwrap();
    swarm.dial(to).unwrap();
    let circuit = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match swarm.select_next_some().await {
                SwarmEvent::ConnectionEstablished { endpoint, .. }
                    if endpoint
                        .get_remote_address()
                        .to_string()
                        .contains("p2p-circuit") =>
                {
                    return Ok(())
                }
                SwarmEvent::OutgoingConnectionError { error, .. } => return Err(error.to_string()),
                _ => {}
            }
        }
    })
    .await
    .unwrap_or_else(|_| Err("no circuit within 30 s".into()));
    (reservation, circuit)
}

#[test]
fn members_without_reachable_addresses_connect_through_a_member_relay() {
    let mut a = TestNode::init();
    a.create_consortium("RAN", "lmds", "LMDS", "FR");
    std::fs::write(a.data_dir().join("config.toml"), "[net]\nrelay = \"on\"\n").unwrap();
    a.start();
    a.ok(&["import", gen_dataset(40, 10, 6).to_str().unwrap()]);
    let a_id = a.peer_id();
    let a_addr = format!("{}/p2p/{a_id}", a.listen_addr());
    let circuit = format!("{a_addr}/p2p-circuit");

    let (mut b, mut c) = (TestNode::init(), TestNode::init());
    for (n, org) in [(&mut b, "ips"), (&mut c, "act")] {
        n.ok(&[
            "join",
            &a.invite_key(org, &n.peer_id(), &["--addr", &a_addr]),
        ]);
        n.start_with(&["--listen", &circuit, "--no-mdns"]);
    }
    let (pb, pc) = (b.peer_id(), c.peer_id());
    let relayed = wait_for(CONVERGE, || {
        let e = c.peer_entry(&pb);
        e["connection"] == "relayed" && e["via"] == a_id.as_str()
    });
    assert!(
        relayed,
        "C did not reach B through A: {}\n{}",
        c.peer_entry(&pb),
        logs(&[&a, &b, &c])
    );
    assert_eq!(b.peer_entry(&pc)["connection"], "relayed");
    assert_eq!(b.peer_entry(&a_id)["connection"], "direct");

    // They sync over the relayed connection: a round, and B's edit comes
    // to C over the circuit (C counts the bytes it received from B; A
    // passes the change on too, so convergence alone would prove nothing).
    let round = c.json(&["sync", &pb]);
    assert!(round[0]["result"]["error"].is_null(), "{round}");
    let from_b = || c.peer_entry(&pb)["bytes_received"].as_u64().unwrap();
    let before = from_b();
    b.ok(&[
        "practice",
        "edit",
        "p-000004",
        "--set",
        "title=Through the relay",
    ]);
    assert!(
        wait_for(CONVERGE, || {
            c.json(&["practice", "show", "p-000004"])["title"] == "Through the relay"
        }),
        "{}",
        logs(&[&a, &b, &c])
    );
    assert!(
        wait_for(CONVERGE, || from_b() > before + 100),
        "nothing came from B over the circuit: {}",
        c.peer_entry(&pb)
    );
    assert_eq!(c.peer_entry(&pb)["connection"], "relayed");

    // Files do not come through a relay: B holds one, C sees the reference
    // but cannot fetch it, and both `peers` and the fetch's error say why.
    let scratch = tempfile::tempdir().unwrap();
    let file = scratch.path().join("handout.pdf");
    let mut data = b"%PDF-1.7\n".to_vec();
    data.extend((0..300_000u32).map(|i| (i % 251) as u8));
    std::fs::write(&file, &data).unwrap();
    let attached = b.json(&["attach", "p-000006", file.to_str().unwrap()]);
    let hash = attached["attachment"]["hash"].as_str().unwrap().to_owned();
    assert!(
        wait_for(CONVERGE, || {
            c.json(&["practice", "show", "p-000006"])["attachments"][0]["hash"] == hash.as_str()
        }),
        "{}",
        logs(&[&a, &b, &c])
    );
    let peers = c.ok(&["peers"]);
    assert!(
        peers
            .lines()
            .any(|l| l.contains(&pb) && l.contains("relayed (no files) via")),
        "{peers}"
    );
    let out = scratch.path().join("got.pdf");
    let fetch = c.cli(&["attachment", "get", &hash, "--out", out.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&fetch.stderr);
    assert!(!fetch.status.success(), "fetched through a relay");
    assert!(
        stderr.contains("reached only through a relay")
            && stderr.contains("connect to one of them directly"),
        "{stderr}"
    );
    assert!(!out.exists());
    // A reservation is renewed while it lives: wait until the status shows
    // one accepted, not a snapshot taken during a renewal.
    let accepted = |st: &serde_json::Value| {
        st["network"]["relay"]["reservations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["relay"] == a_id.as_str() && r["accepted"] == true)
    };
    assert!(
        wait_for(CONVERGE, || accepted(&b.json(&["status"]))),
        "{}",
        b.json(&["status"])
    );
    let st = b.json(&["status"]);
    assert_ne!(st["network"]["reachability"], "public");
    assert_eq!(a.json(&["status"])["network"]["relay"]["serving"], true);

    // Outsiders get neither a reservation nor a circuit.
    let relay_addr: Multiaddr = a_addr.parse().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let stranger = rt.block_on(async {
        let mut s = outsider([7; 32]);
        try_relay(&mut s, &relay_addr, &pb).await
    });
    // An invitee may connect (to hand in its admission) but not relay.
    let invitee_seed = [9u8; 32];
    let invitee_id = libp2p_identity::Keypair::ed25519_from_bytes(invitee_seed)
        .unwrap()
        .public()
        .to_peer_id()
        .to_base58();
    a.invite_key("pkc", &invitee_id, &["--addr", &a_addr]);
    let invitee = rt.block_on(async {
        let mut s = outsider(invitee_seed);
        try_relay(&mut s, &relay_addr, &pb).await
    });
    for (who, (reservation, circuit)) in [("stranger", &stranger), ("invitee", &invitee)] {
        assert!(reservation.is_err(), "{who} got a reservation");
        assert!(circuit.is_err(), "{who} got a circuit to B");
        println!("{who}: reservation {reservation:?}; circuit {circuit:?}");
    }
    // The relay logs a refusal once it has answered it: the outsider may
    // hold the answer before the line is written.
    let logged = |what: &str, also: &str| {
        wait_for(Duration::from_secs(10), || {
            a.log()
                .lines()
                .any(|l| l.contains(what) && l.contains(&invitee_id) && l.contains(also))
        })
    };
    assert!(
        logged("relay: reservation refused", "a non-member"),
        "{}",
        a.log()
    );
    assert!(logged("relay: circuit refused", ""), "{}", a.log());
    // B and C are still connected and syncing.
    c.ok(&[
        "practice",
        "edit",
        "p-000005",
        "--set",
        "title=Still relayed",
    ]);
    assert!(wait_for(CONVERGE, || {
        b.json(&["practice", "show", "p-000005"])["title"] == "Still relayed"
    }));
}
