//! Discovery by mDNS, run safely: two nodes in two network namespaces the
//! test creates (`ip netns` and a veth pair between them), never on the
//! machine's own interfaces. The new partner's invite carries no address:
//! it finds the founder's node by mDNS, hands in its admission and clones.
//! Without the rights to create namespaces (root / CAP_NET_ADMIN) the test
//! says why and passes without running.

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use r2com_tests::{gen_dataset, wait_for, TestNode};

const CONVERGE: Duration = Duration::from_secs(90);

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Two namespaces joined by a veth pair: `a` at 10.213.0.1, `b` at .2.
struct Namespaces {
    a: String,
    b: String,
}

impl Namespaces {
    fn create() -> Result<Namespaces, String> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let tag = format!(
            "{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        );
        let ns = Namespaces {
            a: format!("r2com-a-{tag}"),
            b: format!("r2com-b-{tag}"),
        };
        ip(&["netns", "add", &ns.a])?;
        ip(&["netns", "add", &ns.b])?;
        ip(&[
            "link", "add", "veth-r2a", "netns", &ns.a, "type", "veth", "peer", "name", "veth-r2b",
            "netns", &ns.b,
        ])?;
        for (name, dev, addr) in [
            (&ns.a, "veth-r2a", "10.213.0.1/24"),
            (&ns.b, "veth-r2b", "10.213.0.2/24"),
        ] {
            ip(&["-n", name, "addr", "add", addr, "dev", dev])?;
            ip(&["-n", name, "link", "set", dev, "multicast", "on", "up"])?;
            ip(&["-n", name, "link", "set", "lo", "up"])?;
            // No default route in the namespace: multicast needs its own.
            ip(&["-n", name, "route", "add", "224.0.0.0/4", "dev", dev])?;
        }
        Ok(ns)
    }

    fn exec(name: &str) -> [&str; 4] {
        ["ip", "netns", "exec", name]
    }
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        // Deleting a namespace removes its end of the veth, and the pair.
        let _ = ip(&["netns", "del", &self.a]);
        let _ = ip(&["netns", "del", &self.b]);
    }
}

#[test]
fn a_partner_finds_a_member_by_mdns_in_its_own_network() {
    let ns = match Namespaces::create() {
        Ok(ns) => ns,
        Err(e) => {
            println!("SKIPPED: cannot create network namespaces here ({e}); mDNS not tested");
            return;
        }
    };
    let mut a = TestNode::init();
    a.create_consortium("RAN", "lmds", "LMDS", "FR");
    a.ok(&["import", gen_dataset(30, 10, 8).to_str().unwrap()]);
    // mDNS on (no --no-mdns), on the namespace's veth only.
    a.start_wrapped(
        &Namespaces::exec(&ns.a),
        &["--listen", "/ip4/10.213.0.1/tcp/0", "--feed-listen", "off"],
        &[],
    );
    let mut b = TestNode::init();
    b.start_wrapped(
        &Namespaces::exec(&ns.b),
        &["--listen", "/ip4/10.213.0.2/tcp/0", "--feed-listen", "off"],
        &[],
    );
    // An invite without an address: only mDNS can bring them together.
    let token = a.invite("ips", &b, &[]);
    b.ok(&["join", &token]);
    let logs = || format!("A:\n{}\nB:\n{}", a.log(), b.log());
    assert!(
        wait_for(CONVERGE, || a.export() == b.export()),
        "no convergence through mDNS\n{}",
        logs()
    );
    assert_eq!(b.json(&["status"])["consortium"]["this_node"], "member");
    assert!(
        b.log()
            .contains("mDNS found the member that invited this node"),
        "{}",
        logs()
    );
}
