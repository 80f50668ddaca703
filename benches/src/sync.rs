//! The sync benchmark of issue 7, the same work as the automerge-repo
//! anchor: two `r2com run` processes on loopback (separate data
//! directories, mDNS off), the fresh node reaching the seed only through a
//! byte-counting TCP proxy, so bytes are counted at socket level (noise and
//! yamux framing, pings, everything).
//!
//! Steps: import (seed, through its running node), load (seed process start
//! until its control socket serves), W1 clone (fresh node process start
//! until its change set equals the seed's; then until its export is
//! identical), W2 (the seed makes N edits, each its own change setting
//! `updated_at` of a different practice, sent back to back over the control
//! socket; time from the first edit until the fresh node has them all),
//! W3 (bytes over 30 s idle). The stores' sizes after W1 are read once
//! the fresh node's compaction after its clone (if it ran one) is over.

use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use r2com_protocol::control::{Edit, Frame, Request, Response, Status};
use r2com_protocol::ids::RecordKind;
use r2com_tests::{socket_addr, wait_for, Proxy, TestNode};

use crate::{dir_bytes, rss_kib, Figures};

/// Clients sending edits at once in W2's concurrent variant.
const CLIENTS: usize = 4;

/// Edit `i` of a W2 run (`round` 0 or 1): set `updated_at` of practice
/// `i`, over the control socket (one request, no CLI process).
fn edit(seed: &TestNode, practices: u32, i: usize, round: usize) -> anyhow::Result<()> {
    let id = format!("p-{:06}", i % practices as usize);
    let ts = format!(
        "203{round}-01-01T{:02}:{:02}:{:02}Z",
        (i / 3600) % 24,
        (i / 60) % 60,
        i % 60
    );
    control(
        seed.data_dir(),
        &Request::Edit {
            kind: RecordKind::Practice,
            id,
            edits: vec![Edit::Set {
                field: "updated_at".into(),
                value: ts,
            }],
            accept_ambiguous: false,
        },
    )?;
    Ok(())
}

/// One control request, straight on the socket (no CLI process).
pub(crate) fn control(dir: &Path, request: &Request) -> anyhow::Result<Response> {
    let mut s = UnixStream::connect(dir.join("control.sock"))?;
    r2com_node::frame::write_sync(&mut s, &serde_json::to_vec(request)?)?;
    loop {
        let f = r2com_node::frame::read_sync(&mut s, 1 << 30)?.context("no answer")?;
        match serde_json::from_slice::<Frame>(&f)? {
            Frame::Progress { .. } => continue,
            Frame::Ok(v) => return Ok(v),
            Frame::Error(e) => bail!("{}", e.message),
        }
    }
}

/// The line a node logs when it starts compacting its store once its sync
/// rounds are over (`Library::compact_in_background`).
const SYNC_COMPACTION: &str = "the store grew with sync";

/// If `n` started compacting its store after its sync rounds, wait until
/// that is over (swapped in, failed, or left to the next start; at most
/// 15 minutes); whether one started.
fn wait_for_sync_compaction(n: &TestNode) -> bool {
    let ended = |log: String| {
        log.split_once(SYNC_COMPACTION).map(|(_, after)| {
            [
                "the store is compacted",
                "compacting the store failed",
                "left to the next start",
            ]
            .iter()
            .any(|s| after.contains(s))
        })
    };
    if ended(n.log()).is_none() {
        return false;
    }
    wait_for(Duration::from_secs(900), || ended(n.log()) == Some(true));
    true
}

pub(crate) fn digest(n: &TestNode) -> String {
    control(n.data_dir(), &Request::Status)
        .ok()
        .and_then(|r| Status::try_from(r).ok())
        .map(|s| s.sync_digest)
        .unwrap_or_default()
}

pub fn run_once(
    practices: u32,
    events: u32,
    edits: usize,
    idle_s: u64,
    figs: &mut Figures,
) -> anyhow::Result<()> {
    let data = crate::dataset(practices, events);
    let tcp_only = [
        "--listen",
        "/ip4/127.0.0.1/tcp/0",
        "--no-mdns",
        "--feed-listen",
        "off",
    ];
    let mut seed = TestNode::init();
    seed.create_consortium("Bench", "lmds", "LMDS", "FR");
    seed.start_with(&tcp_only);
    let t = Instant::now();
    seed.ok(&["import", data.to_str().unwrap()]);
    figs.entry("import_s".into())
        .or_default()
        .push(t.elapsed().as_secs_f64());
    seed.stop();
    let t = Instant::now();
    seed.start_with(&tcp_only);
    figs.entry("load_s".into())
        .or_default()
        .push(t.elapsed().as_secs_f64());
    // The seed compacts its store after the import in the background;
    // W1 is measured once that is over.
    figs.entry("seed_compaction_in_background_s".into())
        .or_default()
        .push(crate::wait_for_compaction(&seed.store_dir()));

    let proxy = Proxy::to(socket_addr(&seed.listen_addr()), 1);
    let mut fresh = TestNode::init();
    fresh.join(&seed, "ips", &proxy.addr());
    let target = digest(&seed);
    let seed_export = seed.cli(&["export"]).stdout;

    // W1: from the fresh process start.
    let t0 = Instant::now();
    fresh.start_with(&tcp_only);
    let ok = wait_for(Duration::from_secs(300), || digest(&fresh) == target);
    if !ok {
        bail!("W1 did not converge; fresh log:\n{}", fresh.log());
    }
    let heads_s = t0.elapsed().as_secs_f64();
    let (w1_down, w1_up) = proxy.counts();
    let ok = wait_for(Duration::from_secs(300), || {
        fresh.cli(&["export"]).stdout == seed_export
    });
    if !ok {
        bail!("W1 exports differ");
    }
    let export_s = t0.elapsed().as_secs_f64();
    std::thread::sleep(Duration::from_secs(2));
    let (w1_down_tail, w1_up_tail) = proxy.counts();
    let (seed_pid, fresh_pid) = (seed.pid().unwrap(), fresh.pid().unwrap());
    let mib = |kib: f64| kib / 1024.0;
    let w1_peak_rss = (
        mib(rss_kib(seed_pid, "VmHWM:")),
        mib(rss_kib(fresh_pid, "VmHWM:")),
    );
    // Once its sync rounds are over, the fresh node compacts its store if
    // the clone grew it (README, Performance): the stores' sizes after W1
    // are read once that is over, and the table says whether it ran
    // (`w1_fresh_compacted` 1) and how long it was waited for.
    let t = Instant::now();
    let compacted = wait_for_sync_compaction(&fresh);
    let compaction_wait_s = t.elapsed().as_secs_f64();
    if compacted {
        eprintln!("the fresh node compacted its store after the clone ({compaction_wait_s:.1} s after `export` identical); its size after W1 is read after that");
    }
    for (k, v) in [
        ("w1_fresh_compacted", if compacted { 1.0 } else { 0.0 }),
        ("w1_fresh_compaction_wait_s", compaction_wait_s),
        ("w1_heads_equal_s", heads_s),
        ("w1_export_identical_s", export_s),
        ("w1_bytes_seed_to_fresh_mib", w1_down as f64 / 1048576.0),
        ("w1_bytes_fresh_to_seed_kib", w1_up as f64 / 1024.0),
        (
            "w1_bytes_seed_to_fresh_incl_tail_mib",
            w1_down_tail as f64 / 1048576.0,
        ),
        (
            "w1_bytes_fresh_to_seed_incl_tail_kib",
            w1_up_tail as f64 / 1024.0,
        ),
        (
            "disk_seed_mib",
            dir_bytes(&seed.store_dir()) as f64 / 1048576.0,
        ),
        (
            "disk_fresh_mib",
            dir_bytes(&fresh.store_dir()) as f64 / 1048576.0,
        ),
        ("w1_peak_rss_seed_mib", w1_peak_rss.0),
        ("w1_peak_rss_fresh_mib", w1_peak_rss.1),
    ] {
        figs.entry(k.into()).or_default().push(v);
    }

    // W2: back-to-back edits on the seed, each its own change.
    let rss_before = (rss_kib(seed_pid, "VmRSS:"), rss_kib(fresh_pid, "VmRSS:"));
    let (d0, u0) = proxy.counts();
    let t_first = Instant::now();
    for i in 0..edits {
        edit(&seed, practices, i, 0)?;
    }
    let t_last = Instant::now();
    let target = digest(&seed);
    let ok = wait_for(Duration::from_secs(300), || digest(&fresh) == target);
    if !ok {
        bail!(
            "W2 did not converge: seed {} fresh {}\nfresh peers: {}\nseed log tail: {}",
            target,
            digest(&fresh),
            fresh.ok(&["peers", "--json"]),
            seed.log()
                .lines()
                .rev()
                .take(30)
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    let done = Instant::now();
    let (d1, u1) = proxy.counts();
    let rss_after = (rss_kib(seed_pid, "VmRSS:"), rss_kib(fresh_pid, "VmRSS:"));
    let (disk_seed, disk_fresh) = (dir_bytes(&seed.store_dir()), dir_bytes(&fresh.store_dir()));

    // W2 again with the edits coming from CLIENTS clients at once (other
    // records' second edits), until the fresh node has them all.
    let t = Instant::now();
    std::thread::scope(|s| -> anyhow::Result<()> {
        let workers: Vec<_> = (0..CLIENTS)
            .map(|c| {
                let seed = &seed;
                s.spawn(move || -> anyhow::Result<()> {
                    for i in (c..edits).step_by(CLIENTS) {
                        edit(seed, practices, i, 1)?;
                    }
                    Ok(())
                })
            })
            .collect();
        for w in workers {
            w.join().expect("client thread")?;
        }
        Ok(())
    })?;
    let concurrent_s = t.elapsed().as_secs_f64();
    let target = digest(&seed);
    if !wait_for(Duration::from_secs(300), || digest(&fresh) == target) {
        bail!("W2 (concurrent clients) did not converge");
    }
    let concurrent_all_s = t.elapsed().as_secs_f64();

    let loop_s = (t_last - t_first).as_secs_f64();
    for (k, v) in [
        ("w2_first_edit_to_all_s", (done - t_first).as_secs_f64()),
        ("w2_last_edit_to_all_s", (done - t_last).as_secs_f64()),
        ("w2_seed_edit_loop_s", loop_s),
        ("w2_seed_edit_each_ms", loop_s * 1000.0 / edits as f64),
        (
            "w2_concurrent_edit_each_ms",
            concurrent_s * 1000.0 / edits as f64,
        ),
        ("w2_concurrent_first_edit_to_all_s", concurrent_all_s),
        ("disk_seed_after_w2_mib", disk_seed as f64 / 1048576.0),
        ("disk_fresh_after_w2_mib", disk_fresh as f64 / 1048576.0),
        ("w2_bytes_seed_to_fresh_kib", (d1 - d0) as f64 / 1024.0),
        ("w2_bytes_fresh_to_seed_kib", (u1 - u0) as f64 / 1024.0),
        ("w2_rss_growth_seed_mib", mib(rss_after.0 - rss_before.0)),
        ("w2_rss_growth_fresh_mib", mib(rss_after.1 - rss_before.1)),
    ] {
        figs.entry(k.into()).or_default().push(v);
    }

    // W3: idle.
    if idle_s > 0 {
        std::thread::sleep(Duration::from_secs(2));
        let (d0, u0) = proxy.counts();
        std::thread::sleep(Duration::from_secs(idle_s));
        let (d1, u1) = proxy.counts();
        figs.entry("w3_idle_bytes_seed_to_fresh".into())
            .or_default()
            .push((d1 - d0) as f64);
        figs.entry("w3_idle_bytes_fresh_to_seed".into())
            .or_default()
            .push((u1 - u0) as f64);
    }
    figs.entry("end_peak_rss_seed_mib".into())
        .or_default()
        .push(mib(rss_kib(seed_pid, "VmHWM:")));
    figs.entry("end_peak_rss_fresh_mib".into())
        .or_default()
        .push(mib(rss_kib(fresh_pid, "VmHWM:")));
    seed.stop();
    fresh.stop();

    // A restart compacts a store that grew (sled keeps old versions of
    // pages until it reuses their space), in the background: how long
    // that start took, and the size once the compaction is over.
    for (name, node) in [("seed", &mut seed), ("fresh", &mut fresh)] {
        let t = Instant::now();
        node.start_with(&tcp_only);
        let load = t.elapsed().as_secs_f64();
        crate::wait_for_compaction(&node.store_dir());
        let disk = dir_bytes(&node.store_dir()) as f64 / 1048576.0;
        node.stop();
        figs.entry(format!("restart_load_s_{name}"))
            .or_default()
            .push(load);
        figs.entry(format!("disk_{name}_after_restart_mib"))
            .or_default()
            .push(disk);
    }
    Ok(())
}
