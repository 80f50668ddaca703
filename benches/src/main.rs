//! `r2com-bench`: the figures of issue "Foundation" on real processes.
//!
//! For each scale it generates the dataset of `r2com demo-data` (seed 1),
//! then on a fresh data directory: imports it through a running node, stops
//! and restarts the node (time until the control socket accepts), times
//! `practice list --json` and `search`, makes N edits to different practices
//! and reads the node's RSS before and after, and its peak RSS (VmHWM).
//! Then, in this process, it edits one large automerge document many times
//! so that a memory regression in automerge shows up.
//!
//! Prints a table of medians and ranges; writes every figure as JSON.
//!
//!     cargo run --release -p r2com-bench -- --runs 3

mod files;
mod reach;
mod swarm;
mod sync;
mod web;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;
use r2com_tests::{gen_dataset, sorted_dataset, TestNode};

#[derive(Parser)]
struct Args {
    /// Repetitions of every step (medians are reported).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// full (5000 practices, 2000 events), fifth (1000, 400), both, or ten
    /// (50,000, 20,000).
    #[arg(long, default_value = "both")]
    scale: String,
    /// Edits in the memory-flatness step.
    #[arg(long, default_value_t = 1000)]
    edits: usize,
    /// Where to write all figures as JSON.
    #[arg(long, default_value = "target/bench.json")]
    out: String,
    /// foundation (import, list, search, memory over edits), sync (W1/W2/W3
    /// against the anchor), files (attachments: fetch from one and two
    /// members, memory, sync under a fetch), web (the web app's page
    /// timings), all (foundation, sync, files and web), or swarm (one seed
    /// with the 1/5 dataset and --partners nodes joining it at once), or
    /// reach (8 nodes, direct and through a relay).
    #[arg(long, default_value = "all")]
    suite: String,
    /// Import this dataset file instead of the demo data (e.g. the
    /// anchor's `gen-dataset --practices 5000 --events 2000 --seed 1`
    /// output, with `--scale full`; its counts must be the scale's).
    #[arg(long)]
    dataset: Option<std::path::PathBuf>,
    /// Partner counts of the swarm suite (comma-separated).
    #[arg(long, default_value = "19", value_delimiter = ',')]
    partners: Vec<usize>,
    /// Seconds of W3 idleness.
    #[arg(long, default_value_t = 30)]
    idle: u64,
}

pub(crate) type Figures = BTreeMap<String, Vec<f64>>;

/// The `--dataset` file, if one was given.
static DATASET: std::sync::OnceLock<Option<std::path::PathBuf>> = std::sync::OnceLock::new();

/// The dataset to import at a scale: the `--dataset` file, or the demo
/// data of that size.
pub(crate) fn dataset(practices: u32, events: u32) -> std::path::PathBuf {
    match DATASET.get() {
        Some(Some(file)) => file.clone(),
        _ => gen_dataset(practices, events, 1),
    }
}

pub(crate) fn rss_kib(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(f64::NAN)
}

fn own_rss_mib() -> f64 {
    rss_kib(std::process::id(), "VmRSS:") / 1024.0
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let t = Instant::now();
    let r = f();
    (r, t.elapsed().as_secs_f64())
}

pub(crate) fn dir_bytes(p: &Path) -> u64 {
    let mut total = 0;
    if let Ok(rd) = std::fs::read_dir(p) {
        for e in rd.flatten() {
            let m = e.metadata().unwrap();
            total += if m.is_dir() {
                dir_bytes(&e.path())
            } else {
                m.len()
            };
        }
    }
    total
}

/// Wait until the node's background compaction of its store (if one
/// runs) is over: the copy next to the store (`store.rewrite`, made before
/// the node answers) is gone once it was swapped in or dropped. Seconds
/// waited.
pub(crate) fn wait_for_compaction(store: &Path) -> f64 {
    let mut copy = store.as_os_str().to_owned();
    copy.push(".rewrite");
    let t = Instant::now();
    while Path::new(&copy).exists() {
        std::thread::sleep(Duration::from_millis(50));
    }
    t.elapsed().as_secs_f64()
}

fn run_once(practices: u32, events: u32, edits: usize, figs: &mut Figures) -> anyhow::Result<()> {
    let data = dataset(practices, events);
    let mut node = TestNode::init();
    node.start();
    let (_, import_s) = timed(|| node.ok(&["import", data.to_str().unwrap()]));
    let pid = node.pid().unwrap();
    let import_peak = rss_kib(pid, "VmHWM:") / 1024.0;
    node.stop();

    // Start: process spawn until the control socket accepts connections.
    // After a big import the node compacts its store in the background
    // (see README), while it serves; a restart after that is what an
    // operator sees every day.
    let (_, first_start_s) = timed(|| node.start());
    let compaction_s = wait_for_compaction(&node.store_dir());
    node.stop();
    let (_, start_s) = timed(|| node.start());
    let pid = node.pid().unwrap();

    let (list, list_s) = timed(|| node.ok(&["practice", "list", "--json"]));
    let listed: serde_json::Value = serde_json::from_str(&list)?;
    if listed.as_array().map(Vec::len) != Some(practices as usize) {
        bail!(
            "practice list returned {} rows",
            listed.as_array().map_or(0, Vec::len)
        );
    }
    let mut search_times = Vec::new();
    for q in [
        "reinsercao",
        "risk screening",
        "затвор",
        "famille communaute confiance",
    ] {
        let (_, s) = timed(|| node.ok(&["search", q]));
        search_times.push(s);
    }
    let (_, show_s) = timed(|| node.ok(&["practice", "show", "p-000123", "--json"]));

    // Warm up the edit path (code pages, store pages for changes and
    // snapshots), then measure growth over `edits` edits to other records.
    const WARMUP: usize = 50;
    for i in 0..WARMUP {
        let id = format!("p-{:06}", practices as usize - 1 - i);
        node.ok(&[
            "practice",
            "edit",
            &id,
            "--set",
            "updated_at=2028-01-01T00:00:00Z",
        ]);
    }
    let rss_before = rss_kib(pid, "VmRSS:") / 1024.0;
    let t = Instant::now();
    for i in 0..edits {
        let id = format!("p-{:06}", i % (practices as usize - WARMUP));
        let ts = format!("2028-01-01T00:{:02}:{:02}Z", (i / 60) % 60, i % 60);
        node.ok(&[
            "practice",
            "edit",
            &id,
            "--set",
            &format!("updated_at={ts}"),
        ]);
    }
    let edits_s = t.elapsed().as_secs_f64();
    let rss_after = rss_kib(pid, "VmRSS:") / 1024.0;

    let (_, verify_s) = timed(|| node.ok(&["verify"]));
    let out = node.data_dir().join("export.json");
    let (_, export_s) = timed(|| node.ok(&["export", "--out", out.to_str().unwrap()]));
    // Everything since the restart: list, search, edits, verify, export.
    let peak = rss_kib(pid, "VmHWM:") / 1024.0;
    let exported: serde_json::Value = serde_json::from_slice(&std::fs::read(&out)?)?;
    if exported["events"]
        != sorted_dataset(&serde_json::from_slice(&std::fs::read(&data)?)?)["events"]
    {
        bail!("export differs from the imported events");
    }
    let disk = dir_bytes(&node.store_dir()) as f64 / (1024.0 * 1024.0);
    node.stop();

    for (k, v) in [
        ("import_s", import_s),
        ("import_peak_rss_mib", import_peak),
        ("first_start_after_import_s", first_start_s),
        ("compaction_in_background_s", compaction_s),
        ("start_ready_s", start_s),
        ("practice_list_json_s", list_s),
        ("search_s", median(&mut search_times)),
        (
            "search_max_s",
            search_times.iter().cloned().fold(0.0, f64::max),
        ),
        ("practice_show_s", show_s),
        ("edits_total_s", edits_s),
        ("edit_each_ms", edits_s * 1000.0 / edits as f64),
        ("rss_before_edits_mib", rss_before),
        ("rss_after_edits_mib", rss_after),
        ("rss_growth_over_edits_mib", rss_after - rss_before),
        ("serving_peak_rss_mib", peak),
        ("node_peak_rss_mib", peak.max(import_peak)),
        ("verify_s", verify_s),
        ("export_s", export_s),
        ("store_on_disk_mib", disk),
    ] {
        figs.entry(k.to_owned()).or_default().push(v);
    }
    Ok(())
}

/// Many edits to one large document in this process: time per edit and
/// memory growth. automerge 0.11+ grew by megabytes per edit on big docs.
fn large_document(edits: usize, figs: &mut Figures) -> anyhow::Result<()> {
    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ObjType, ROOT};
    let mut doc = AutoCommit::new();
    let body = doc.put_object(ROOT, "body", ObjType::Text)?;
    let paragraph =
        "Mentoring after release: weekly meetings, family involvement, housing support. ";
    doc.splice_text(&body, 0, 0, &paragraph.repeat(1000))?; // ~80 KB
    doc.commit();
    let before = own_rss_mib();
    let t = Instant::now();
    let start_len = paragraph.len() * 1000;
    for i in 0..edits {
        // Each edit replaces one character by two: the text grows by one.
        let pos = (i * 7919) % (start_len + i);
        doc.splice_text(&body, pos, 1, "ab")?;
        doc.put(
            ROOT,
            "updated_at",
            format!("2026-01-01T00:00:{:02}Z", i % 60),
        )?;
        doc.commit();
        let _ = doc.get_last_local_change().context("change")?;
    }
    let each_us = t.elapsed().as_secs_f64() * 1e6 / edits as f64;
    let growth = own_rss_mib() - before;
    figs.entry("large_doc_edit_us".into())
        .or_default()
        .push(each_us);
    figs.entry("large_doc_rss_growth_mib".into())
        .or_default()
        .push(growth);
    Ok(())
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    if v.is_empty() {
        f64::NAN
    } else {
        v[v.len() / 2]
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    DATASET.set(args.dataset.clone()).expect("set once");
    let scales: Vec<(&str, u32, u32)> = match args.scale.as_str() {
        _ if args.suite == "swarm" || args.suite == "reach" => vec![("1/5", 1000, 400)],
        "full" => vec![("full", 5000, 2000)],
        "fifth" => vec![("1/5", 1000, 400)],
        "both" => vec![("full", 5000, 2000), ("1/5", 1000, 400)],
        "ten" => vec![("ten", 50_000, 20_000)],
        s => bail!("--scale {s:?}: full, fifth, both or ten"),
    };
    const SUITES: [&str; 7] = [
        "foundation",
        "sync",
        "files",
        "web",
        "all",
        "swarm",
        "reach",
    ];
    if !SUITES.contains(&args.suite.as_str()) {
        bail!("--suite {:?}: one of {}", args.suite, SUITES.join(", "));
    }
    let mut all = serde_json::Map::new();
    println!(
        "machine: {} cores, {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(
                |c| c.lines().find(|l| l.starts_with("model name")).map(|l| l
                    .split(':')
                    .nth(1)
                    .unwrap_or("")
                    .trim()
                    .to_owned())
            )
            .unwrap_or_default()
    );
    let load = || std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average at start: {}", load().trim());
    for (name, p, e) in scales {
        let mut figs = Figures::new();
        for run in 0..args.runs {
            eprintln!("[{name}] run {}/{}", run + 1, args.runs);
            if args.suite == "foundation" || args.suite == "all" {
                run_once(p, e, args.edits, &mut figs)?;
                large_document(args.edits, &mut figs)?;
            }
            if args.suite == "sync" || args.suite == "all" {
                sync::run_once(p, e, args.edits, args.idle, &mut figs)?;
            }
            if args.suite == "swarm" {
                for &n in &args.partners {
                    swarm::run_once(p, e, n, &mut figs)?;
                }
            }
            if args.suite == "files" || args.suite == "all" {
                files::run_once(args.edits, &mut figs)?;
            }
            if args.suite == "web" || args.suite == "all" {
                web::run_once(p, e, &mut figs)?;
            }
            if args.suite == "reach" {
                reach::run_once(p, e, &mut figs)?;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        println!(
            "\n## {name} scale: {p} practices, {e} events, {} edits, {} runs, suite {}",
            args.edits, args.runs, args.suite
        );
        println!("| figure | median | min | max |\n|---|---|---|---|");
        for (k, v) in &figs {
            let mut s = v.clone();
            let med = median(&mut s);
            println!("| {k} | {med:.3} | {:.3} | {:.3} |", s[0], s[s.len() - 1]);
        }
        println!("load average at the end: {}", load().trim());
        all.insert(name.to_owned(), serde_json::to_value(&figs)?);
    }
    if let Some(parent) = Path::new(&args.out).parent() {
        std::fs::create_dir_all(parent).ok();
    }
    std::fs::write(&args.out, serde_json::to_vec_pretty(&all)?)?;
    println!("\nall figures: {}", args.out);
    Ok(())
}
