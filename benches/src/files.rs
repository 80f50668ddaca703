//! The attachments benchmark of issue 18, on real processes on loopback:
//!
//! * one member: B fetches a 50 MB file that only A holds;
//! * two members: C, connected to A and B (both holding it), fetches it;
//! * memory: the fetching node's peak RSS during the fetch above its RSS
//!   before (the peak is reset first through /proc/PID/clear_refs);
//! * sync under load: the time for 1,000 edits on A to reach B, alone and
//!   while B fetches another 50 MB file from A.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use r2com_protocol::control::{Attached, Edit, FileWritten, Request};
use r2com_protocol::ids::RecordKind;
use r2com_tests::{gen_dataset, wait_for, TestNode};

use crate::sync::{control, digest};
use crate::{rss_kib, Figures};

const SIZE: usize = 50 * 1000 * 1000;

fn material(dir: &Path, name: &str, seed: u64) -> anyhow::Result<String> {
    let mut data = Vec::with_capacity(SIZE);
    let mut x = seed | 1;
    while data.len() < SIZE {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        data.extend_from_slice(&x.to_le_bytes());
    }
    data.truncate(SIZE);
    let path = dir.join(name);
    std::fs::write(&path, &data)?;
    Ok(path.to_str().context("utf-8 path")?.to_owned())
}

fn attach(n: &TestNode, id: &str, path: String) -> anyhow::Result<String> {
    let a: Attached = control(
        n.data_dir(),
        &Request::Attach {
            id: id.into(),
            path,
            title: None,
            language: None,
        },
    )?
    .try_into()
    .map_err(|r| anyhow::anyhow!("attach answered {r:?}"))?;
    Ok(a.attachment.hash)
}

/// Fetch `hash` on `n`; seconds, the answer, and RSS growth (MiB).
fn fetch(n: &TestNode, hash: &str, out: &Path) -> anyhow::Result<(f64, FileWritten, f64)> {
    let pid = n.pid().context("not running")?;
    let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
    let before = rss_kib(pid, "VmRSS:");
    let t = Instant::now();
    let got: FileWritten = control(
        n.data_dir(),
        &Request::AttachmentGet {
            hash: hash.into(),
            out: out.to_str().context("utf-8 path")?.into(),
        },
    )?
    .try_into()
    .map_err(|r| anyhow::anyhow!("get answered {r:?}"))?;
    let secs = t.elapsed().as_secs_f64();
    let growth = (rss_kib(pid, "VmHWM:") - before) / 1024.0;
    if got.fetched != SIZE as u64 {
        bail!("fetched {} bytes, not {SIZE}", got.fetched);
    }
    Ok((secs, got, growth))
}

/// 1,000 edits on `a` back to back; seconds until `b` has them all.
fn edits_reach(a: &TestNode, b: &TestNode, edits: usize, round: usize) -> anyhow::Result<f64> {
    let t = Instant::now();
    for i in 0..edits {
        let ts = format!(
            "2031-{:02}-01T{:02}:{:02}:{:02}Z",
            round % 12 + 1,
            (i / 3600) % 24,
            (i / 60) % 60,
            i % 60
        );
        control(
            a.data_dir(),
            &Request::Edit {
                kind: RecordKind::Practice,
                id: format!("p-{:06}", i % 50),
                edits: vec![Edit::Set {
                    field: "updated_at".into(),
                    value: ts,
                }],
                accept_ambiguous: false,
            },
        )?;
    }
    let target = digest(a);
    if !wait_for(Duration::from_secs(300), || digest(b) == target) {
        bail!("edits did not reach B");
    }
    Ok(t.elapsed().as_secs_f64())
}

pub fn run_once(edits: usize, figs: &mut Figures) -> anyhow::Result<()> {
    let tmp = tempfile::tempdir()?;
    let opts = [
        "--listen",
        "/ip4/127.0.0.1/tcp/0",
        "--no-mdns",
        "--feed-listen",
        "off",
    ];
    let mut a = TestNode::init();
    a.create_consortium("Bench", "lmds", "LMDS", "FR");
    a.start_with(&opts);
    a.ok(&["import", gen_dataset(50, 10, 1).to_str().unwrap()]);
    let first = attach(&a, "p-000000", material(tmp.path(), "one.bin", 3)?)?;
    let second = attach(&a, "p-000001", material(tmp.path(), "two.bin", 4)?)?;

    let mut b = TestNode::init();
    b.join(&a, "ips", &a.listen_addr());
    b.start_with(&opts);
    let target = digest(&a);
    if !wait_for(Duration::from_secs(120), || digest(&b) == target) {
        bail!("B did not clone");
    }
    let (one_s, _, one_mib) = fetch(&b, &first, &tmp.path().join("b1"))?;

    let mut c = TestNode::init();
    c.join(&a, "act", &a.listen_addr());
    c.start_with(&opts);
    c.ok(&["peer", "add", &b.listen_addr()]);
    if !wait_for(Duration::from_secs(120), || {
        digest(&c) == digest(&a)
            && c.json(&["peers"])["members"]
                .as_array()
                .is_some_and(|p| p.iter().filter(|p| p["connected"] == true).count() == 2)
    }) {
        bail!("C did not connect to A and B");
    }
    let (two_s, two, two_mib) = fetch(&c, &first, &tmp.path().join("c1"))?;
    if two.from.len() != 2 {
        bail!("C fetched from {:?}, not two members", two.from);
    }

    // Sync alone, then sync while B fetches the second file.
    let alone = edits_reach(&a, &b, edits, 1)?;
    let (tx, rx) = std::sync::mpsc::channel();
    let (b_dir, hash, out) = (
        b.data_dir().to_owned(),
        second.clone(),
        tmp.path().join("b2"),
    );
    let fetcher = std::thread::spawn(move || {
        let _ = tx.send(());
        control(
            &b_dir,
            &Request::AttachmentGet {
                hash,
                out: out.to_str().unwrap().into(),
            },
        )
    });
    rx.recv()?;
    std::thread::sleep(Duration::from_millis(50));
    let loaded = edits_reach(&a, &b, edits, 2)?;
    fetcher
        .join()
        .map_err(|_| anyhow::anyhow!("fetch thread"))??;

    for (k, v) in [
        ("files_50mb_from_one_member_s", one_s),
        ("files_50mb_from_two_members_s", two_s),
        ("files_rss_growth_one_member_mib", one_mib),
        ("files_rss_growth_two_members_mib", two_mib),
        ("files_sync_1000_edits_alone_s", alone),
        ("files_sync_1000_edits_during_fetch_s", loaded),
        ("files_sync_slowdown_pct", (loaded / alone - 1.0) * 100.0),
    ] {
        figs.entry(k.into()).or_default().push(v);
    }
    a.stop();
    b.stop();
    c.stop();
    Ok(())
}
