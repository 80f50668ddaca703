//! A partition between real nodes: three nodes reach each other only
//! through TCP proxies the test runs on loopback (one per link), which can
//! delay, drop (close a connection at random), cut and heal. Edits happen
//! on every side while one node is cut off; after healing every node holds
//! the same library.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use r2com_tests::{gen_dataset, wait_for, TestNode};
use serde_json::Value;

const CONVERGE: Duration = Duration::from_secs(120);

#[derive(Default)]
struct LinkState {
    cut: AtomicBool,
    delay_ms: AtomicU64,
    /// Chance per forwarded chunk, in 1/1000, that the connection is
    /// dropped (closed both ways).
    drop_permille: AtomicU64,
    rng: AtomicU64,
    conns: Mutex<Vec<TcpStream>>,
}

impl LinkState {
    fn roll(&self) -> u64 {
        // xorshift over a shared seed; races only reorder the sequence.
        let mut x = self.rng.load(Ordering::Relaxed).max(1);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng.store(x, Ordering::Relaxed);
        x % 1000
    }

    fn close_all(&self) {
        for c in self.conns.lock().unwrap().drain(..) {
            let _ = c.shutdown(Shutdown::Both);
        }
    }
}

/// One link: a TCP forwarder from a local port to a node's port.
struct Proxy {
    port: u16,
    state: Arc<LinkState>,
}

impl Proxy {
    fn to(target_port: u16, seed: u64) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(LinkState::default());
        state.rng.store(seed, Ordering::Relaxed);
        let st = state.clone();
        std::thread::spawn(move || {
            for inbound in listener.incoming() {
                let Ok(inbound) = inbound else { continue };
                if st.cut.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let Ok(outbound) = TcpStream::connect(("127.0.0.1", target_port)) else {
                    continue;
                };
                let _ = inbound.set_nodelay(true);
                let _ = outbound.set_nodelay(true);
                {
                    let mut conns = st.conns.lock().unwrap();
                    conns.push(inbound.try_clone().unwrap());
                    conns.push(outbound.try_clone().unwrap());
                }
                for (from, to) in [
                    (inbound.try_clone().unwrap(), outbound.try_clone().unwrap()),
                    (outbound, inbound),
                ] {
                    let st = st.clone();
                    std::thread::spawn(move || pump(from, to, &st));
                }
            }
        });
        Proxy { port, state }
    }

    fn addr(&self) -> String {
        format!("/ip4/127.0.0.1/tcp/{}", self.port)
    }

    fn cut(&self) {
        self.state.cut.store(true, Ordering::SeqCst);
        self.state.close_all();
    }

    fn heal(&self) {
        self.state.delay_ms.store(0, Ordering::SeqCst);
        self.state.drop_permille.store(0, Ordering::SeqCst);
        self.state.cut.store(false, Ordering::SeqCst);
    }

    fn degrade(&self, delay_ms: u64, drop_permille: u64) {
        self.state.delay_ms.store(delay_ms, Ordering::SeqCst);
        self.state
            .drop_permille
            .store(drop_permille, Ordering::SeqCst);
    }
}

fn pump(mut from: TcpStream, mut to: TcpStream, st: &LinkState) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let delay = st.delay_ms.load(Ordering::SeqCst);
        if delay > 0 {
            std::thread::sleep(Duration::from_millis(delay));
        }
        if st.cut.load(Ordering::SeqCst) || st.roll() < st.drop_permille.load(Ordering::SeqCst) {
            break;
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}

fn port_of(addr: &str) -> u16 {
    addr.rsplit('/').next().unwrap().parse().unwrap()
}

fn peer_id(n: &TestNode) -> String {
    n.json(&["id"])["peer_id"].as_str().unwrap().to_owned()
}

fn export(n: &TestNode) -> Value {
    serde_json::from_str(&n.ok(&["export"])).unwrap()
}

/// Invite `who` as `org`, pointing it at `addr` (a proxy), join, start.
fn join_at(admin: &TestNode, addr: &str, who: &mut TestNode, org: &str) {
    let token = admin.ok(&[
        "invite",
        "--org",
        org,
        "--org-name",
        org,
        "--country",
        "PT",
        "--key",
        &peer_id(who),
        "--addr",
        addr,
    ]);
    who.ok(&["join", token.trim()]);
    who.start();
}

fn all_equal(nodes: &[&TestNode]) -> bool {
    let first = export(nodes[0]);
    nodes[1..].iter().all(|n| export(n) == first)
}

fn logs(nodes: &[&TestNode]) -> String {
    nodes
        .iter()
        .enumerate()
        .map(|(i, n)| format!("--- node {i} ---\n{}", n.log()))
        .collect()
}

#[test]
fn nodes_behind_cut_and_lossy_links_converge_after_healing() {
    let mut a = TestNode::init();
    a.create_consortium("RAN", "lmds", "LMDS", "FR");
    a.start();
    a.ok(&["import", gen_dataset(30, 10, 9).to_str().unwrap()]);
    let a_port = port_of(&a.listen_addr());

    // B reaches A through ab; C reaches A through ac and B through bc.
    let ab = Proxy::to(a_port, 1);
    let ac = Proxy::to(a_port, 2);
    let mut b = TestNode::init();
    join_at(&a, &ab.addr(), &mut b, "ips");
    let bc = Proxy::to(port_of(&b.listen_addr()), 3);
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
        wait_for(CONVERGE, || export(&a) == export(&b)),
        "A and B over the lossy link\n{}",
        logs(&nodes)
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_ne!(export(&a), export(&c), "C is cut off");

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
    let titles: Vec<Value> = export(&a)["practices"]
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
