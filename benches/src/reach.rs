//! The reach benchmark of issue 14: a consortium of 8 real nodes on
//! loopback (one seed holding the dataset, seven partners), set up as
//! README says: each partner starts its node, then joins with an invite
//! that carries only the seed's address. Two layouts:
//!
//! * **direct**: every node listens on loopback TCP; the partners learn
//!   each other's addresses from the members' signed records and connect
//!   to each other (a full mesh);
//! * **relay**: the seed relays for members (`relay = "on"`) and the
//!   partners listen on nothing but a circuit through it, so every
//!   partner-to-partner connection goes through the seed's relay.
//!
//! Figures per layout: from the first `join` until all seven are admitted,
//! until all eight hold the same changes (converge), until every partner
//! is connected to all seven others (and how many of those links are
//! relayed); then one edit on a partner until all eight hold it.

use std::time::{Duration, Instant};

use anyhow::bail;
use r2com_protocol::control::{Connection, Edit, Joined, Peers, Request};
use r2com_protocol::ids::RecordKind;
use r2com_tests::{gen_dataset, TestNode};

use crate::sync::{control, digest};
use crate::Figures;

const PARTNERS: usize = 7;
const ORGS: [&str; PARTNERS] = ["ips", "act", "pkc", "ahc", "transform", "iga", "united"];
const WAIT: Duration = Duration::from_secs(600);
/// Between two looks at the eight nodes (each look asks every node).
const POLL: Duration = Duration::from_millis(50);

fn wait_for(timeout: Duration, mut pred: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if pred() {
            return true;
        }
        std::thread::sleep(POLL);
    }
    pred()
}

#[derive(Clone, Copy, PartialEq)]
enum Layout {
    Direct,
    Relay,
}

impl Layout {
    fn name(self) -> &'static str {
        match self {
            Layout::Direct => "direct",
            Layout::Relay => "relay",
        }
    }
}

fn peer_id(n: &TestNode) -> String {
    n.json(&["id"])["peer_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Connected members of `n`: (direct, relayed).
fn links(n: &TestNode) -> (usize, usize) {
    let peers: Vec<_> = control(n.data_dir(), &Request::Peers)
        .ok()
        .and_then(|r| Peers::try_from(r).ok())
        .map(|p| p.members)
        .unwrap_or_default();
    let count = |kind| peers.iter().filter(|p| p.connection == Some(kind)).count();
    (count(Connection::Direct), count(Connection::Relayed))
}

pub fn run_once(practices: u32, events: u32, figs: &mut Figures) -> anyhow::Result<()> {
    for layout in [Layout::Direct, Layout::Relay] {
        layout_once(layout, practices, events, figs)?;
    }
    Ok(())
}

fn layout_once(
    layout: Layout,
    practices: u32,
    events: u32,
    figs: &mut Figures,
) -> anyhow::Result<()> {
    let mut put = |k: &str, v: f64| {
        figs.entry(format!("reach_{}_{k}", layout.name()))
            .or_default()
            .push(v)
    };
    let data = gen_dataset(practices, events, 1);
    let tcp_only = [
        "--listen",
        "/ip4/127.0.0.1/tcp/0",
        "--no-mdns",
        "--feed-listen",
        "off",
    ];
    let mut seed = TestNode::init();
    seed.create_consortium("Bench", "lmds", "LMDS", "FR");
    if layout == Layout::Relay {
        std::fs::write(
            seed.data_dir().join("config.toml"),
            "[net]\nrelay = \"on\"\n",
        )?;
    }
    seed.start_with(&tcp_only);
    seed.ok(&["import", data.to_str().unwrap()]);
    let seed_addr = format!("{}/p2p/{}", seed.listen_addr(), peer_id(&seed));
    let circuit = format!("{seed_addr}/p2p-circuit");

    let mut partners: Vec<TestNode> = (0..PARTNERS).map(|_| TestNode::init()).collect();
    let mut tokens = Vec::new();
    for (p, org) in partners.iter_mut().zip(ORGS) {
        match layout {
            Layout::Direct => p.start_with(&tcp_only),
            Layout::Relay => {
                p.start_with(&["--listen", &circuit, "--no-mdns", "--feed-listen", "off"])
            }
        }
        let token = seed.ok(&[
            "invite",
            "--org",
            org,
            "--org-name",
            org,
            "--country",
            "PT",
            "--key",
            &peer_id(p),
            "--addr",
            &seed_addr,
        ]);
        tokens.push(token.trim().to_owned());
    }
    let target = digest(&seed);

    // Joins, back to back, each on the partner's running node.
    let t0 = Instant::now();
    for (p, token) in partners.iter().zip(&tokens) {
        let answer = control(
            p.data_dir(),
            &Request::Join {
                token: token.clone(),
            },
        )?;
        let joined = Joined::try_from(answer).map_err(|r| anyhow::anyhow!("join: {r:?}"))?;
        if !joined.admitted {
            bail!(
                "{}: join not admitted: {joined:?}\n{}",
                layout.name(),
                p.log()
            );
        }
    }
    put("all_admitted_s", t0.elapsed().as_secs_f64());
    let all = |d: &str| partners.iter().all(|p| digest(p) == d);
    if !wait_for(WAIT, || all(&target)) {
        bail!(
            "{}: no convergence; a partner's log:\n{}",
            layout.name(),
            partners[0].log()
        );
    }
    put("converge_s", t0.elapsed().as_secs_f64());
    let meshed = wait_for(WAIT, || {
        partners.iter().all(|p| {
            let (d, r) = links(p);
            d + r == PARTNERS
        })
    });
    if !meshed {
        bail!(
            "{}: no full mesh: {:?}",
            layout.name(),
            partners.iter().map(links).collect::<Vec<_>>()
        );
    }
    put("full_mesh_s", t0.elapsed().as_secs_f64());
    let relayed: usize = partners.iter().map(|p| links(p).1).sum();
    // Each partner-to-partner link is counted at both ends.
    put("partner_links_relayed", (relayed / 2) as f64);
    put(
        "partner_links_total",
        (PARTNERS * (PARTNERS - 1) / 2) as f64,
    );

    // One edit on a partner, until all eight hold it.
    std::thread::sleep(Duration::from_secs(1));
    let editor = &partners[3];
    let t1 = Instant::now();
    control(
        editor.data_dir(),
        &Request::Edit {
            kind: RecordKind::Practice,
            id: "p-000042".into(),
            edits: vec![Edit::Set {
                field: "title".into(),
                value: format!("Edited through the {} layout", layout.name()),
            }],
            accept_ambiguous: false,
        },
    )?;
    let after = digest(editor);
    let reached = wait_for(WAIT, || digest(&seed) == after && all(&after));
    if !reached {
        bail!("{}: the edit did not reach all", layout.name());
    }
    put("one_edit_to_all_s", t1.elapsed().as_secs_f64());
    for p in &mut partners {
        p.stop();
    }
    seed.stop();
    Ok(())
}
