//! Many nodes on one machine: one seed holding the dataset, `partners`
//! nodes that join it at once (each with an invite naming the seed's
//! address), every process a real `r2com run` on loopback with mDNS off.
//!
//! Figures: time from starting the partners until every one holds the
//! seed's change set, store bytes per node, the nodes' total RSS, and the
//! time for one edit on the seed to reach every partner.

use std::time::{Duration, Instant};

use anyhow::bail;
use r2com_protocol::control::{Edit, Request};
use r2com_protocol::ids::RecordKind;
use r2com_tests::TestNode;

use crate::sync::{control, digest};
use crate::{dir_bytes, rss_kib, Figures};

const TCP_ONLY: [&str; 5] = [
    "--listen",
    "/ip4/127.0.0.1/tcp/0",
    "--no-mdns",
    "--feed-listen",
    "off",
];

/// Poll until every node's digest is `target`; the time that took, or why
/// not within `limit`.
fn until_all(nodes: &[TestNode], target: &str, limit: Duration) -> anyhow::Result<f64> {
    let t = Instant::now();
    let mut done = vec![false; nodes.len()];
    while t.elapsed() < limit {
        for (i, n) in nodes.iter().enumerate() {
            if !done[i] && digest(n) == target {
                done[i] = true;
            }
        }
        if done.iter().all(|d| *d) {
            return Ok(t.elapsed().as_secs_f64());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let behind = done.iter().filter(|d| !**d).count();
    bail!(
        "{behind} of {} nodes did not converge within {limit:?}",
        nodes.len()
    )
}

pub fn run_once(
    practices: u32,
    events: u32,
    partners: usize,
    figs: &mut Figures,
) -> anyhow::Result<()> {
    let prefix = format!("n{partners}_");
    let data = crate::dataset(practices, events);
    let mut seed = TestNode::init();
    seed.create_consortium("Bench", "lmds", "LMDS", "FR");
    seed.start_with(&TCP_ONLY);
    seed.ok(&["import", data.to_str().unwrap()]);
    let addr = seed.listen_addr();
    let mut nodes: Vec<TestNode> = (0..partners)
        .map(|i| {
            let n = TestNode::init();
            n.join(&seed, &format!("org{i:02}"), &addr);
            n
        })
        .collect();
    // Admitting the partners changed the roster: wait for that to settle
    // in the target.
    let target = digest(&seed);

    let t0 = Instant::now();
    std::thread::scope(|s| {
        for n in nodes.iter_mut() {
            s.spawn(move || n.start_with(&TCP_ONLY));
        }
    });
    let started = t0.elapsed().as_secs_f64();
    let converge = started + until_all(&nodes, &target, Duration::from_secs(900))?;

    let seed_disk = dir_bytes(&seed.store_dir()) as f64 / 1048576.0;
    let disks: Vec<f64> = nodes
        .iter()
        .map(|n| dir_bytes(&n.store_dir()) as f64 / 1048576.0)
        .collect();
    let rss = |n: &TestNode| rss_kib(n.pid().unwrap(), "VmRSS:") / 1024.0;
    let total_rss = rss(&seed) + nodes.iter().map(rss).sum::<f64>();
    let max_peak = nodes
        .iter()
        .map(|n| rss_kib(n.pid().unwrap(), "VmHWM:") / 1024.0)
        .fold(0.0, f64::max);

    // One edit on the seed, until every partner has it.
    let t = Instant::now();
    control(
        seed.data_dir(),
        &Request::Edit {
            kind: RecordKind::Practice,
            id: "p-000001".into(),
            edits: vec![Edit::Set {
                field: "updated_at".into(),
                value: "2031-01-01T00:00:00Z".into(),
            }],
            accept_ambiguous: false,
        },
    )?;
    let target = digest(&seed);
    let one_edit =
        t.elapsed().as_secs_f64() + until_all(&nodes, &target, Duration::from_secs(120))?;

    for (k, v) in [
        ("start_all_s", started),
        ("converge_all_s", converge),
        ("one_edit_to_all_s", one_edit),
        ("disk_seed_mib", seed_disk),
        (
            "disk_partner_mean_mib",
            disks.iter().sum::<f64>() / disks.len() as f64,
        ),
        ("rss_total_mib", total_rss),
        ("peak_rss_partner_max_mib", max_peak),
    ] {
        figs.entry(format!("{prefix}{k}")).or_default().push(v);
    }
    for n in nodes.iter_mut() {
        n.stop();
    }
    seed.stop();
    Ok(())
}
