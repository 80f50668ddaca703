//! `/metrics`: two synced nodes serve Prometheus/OpenMetrics on a listener
//! of their own (`run --metrics-listen`), with one series per member
//! (connected, last sync, what each side lacks), the changes applied, and
//! the connections refused to a node that is not a member (each counted).

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use prometheus_parse::{Sample, Scrape, Value};
use r2com_tests::{gen_dataset, wait_for, TestNode};

const CONVERGE: Duration = Duration::from_secs(90);

/// Start `n` with metrics on a port of the OS's choosing; the address the
/// node bound, as it wrote it in its data directory.
fn start_with_metrics(n: &mut TestNode) -> String {
    n.start_with(&["--metrics-listen", "127.0.0.1:0"]);
    let file = n.data_dir().join("metrics.addr");
    assert!(
        wait_for(Duration::from_secs(10), || file.exists()),
        "no metrics.addr; log:\n{}",
        n.log()
    );
    std::fs::read_to_string(file).unwrap().trim().to_owned()
}

/// GET http://addr/metrics: the content type and the body.
fn get(addr: &str) -> (String, String) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = Client::builder(TokioExecutor::new()).build_http::<Empty<bytes::Bytes>>();
        let uri: http::Uri = format!("http://{addr}/metrics").parse().unwrap();
        let res = client.get(uri).await.expect("GET /metrics");
        assert_eq!(res.status(), 200);
        let ct = res.headers()["content-type"].to_str().unwrap().to_owned();
        let body = res.into_body().collect().await.unwrap().to_bytes();
        (
            ct,
            String::from_utf8(body.to_vec()).expect("UTF-8 exposition"),
        )
    })
}

/// The exposition of `addr`, parsed.
fn scrape(addr: &str) -> Scrape {
    let text = exposition(addr);
    Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).expect("parses")
}

/// The exposition of `addr`, checked strictly (OpenMetrics: every sample
/// belongs to a family with a TYPE line, the text ends with `# EOF`).
fn exposition(addr: &str) -> String {
    let (ct, text) = get(addr);
    assert!(ct.starts_with("application/openmetrics-text"), "{ct}");
    assert!(text.ends_with("# EOF\n"), "no EOF marker:\n{text}");
    let mut families = BTreeSet::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split(' ');
            let (name, kind) = (parts.next().unwrap(), parts.next().unwrap());
            assert!(
                ["counter", "gauge", "info", "histogram", "unknown"].contains(&kind),
                "{line}"
            );
            families.insert(name.to_owned());
        } else if !line.starts_with('#') {
            let name = line.split(['{', ' ']).next().unwrap();
            let family = ["_total", "_info", "_bucket", "_count", "_sum", "_created"]
                .iter()
                .find_map(|s| name.strip_suffix(s).filter(|f| families.contains(*f)))
                .unwrap_or(name);
            assert!(families.contains(family), "sample without a TYPE: {line}");
            let value = line.rsplit(' ').next().unwrap();
            assert!(value.parse::<f64>().is_ok(), "not a number: {line}");
        }
    }
    text
}

/// The family names (TYPE lines) of an exposition.
fn families(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .map(|l| l.split(' ').next().unwrap().to_owned())
        .collect()
}

fn number(v: &Value) -> f64 {
    match v {
        Value::Counter(x) | Value::Gauge(x) | Value::Untyped(x) => *x,
        other => panic!("not a single number: {other:?}"),
    }
}

fn samples<'a>(s: &'a Scrape, metric: &'a str) -> impl Iterator<Item = &'a Sample> {
    s.samples.iter().filter(move |x| x.metric == metric)
}

/// The value of `metric` for the member node `peer` (its organisation
/// `org`), if the series exists.
fn member(s: &Scrape, metric: &str, org: &str, peer: &str) -> Option<f64> {
    let mut found = samples(s, metric).filter(|x| x.labels.get("peer") == Some(peer));
    let x = found.next()?;
    assert_eq!(x.labels.get("member"), Some(org), "{metric}: {x:?}");
    assert!(found.next().is_none(), "two {metric} series for {peer}");
    Some(number(&x.value))
}

fn total(s: &Scrape, metric: &str) -> f64 {
    samples(s, metric).map(|x| number(&x.value)).sum()
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// `x`'s series for the member `y` say: connected, synced within the
/// last minutes, nothing lacking on either side.
fn in_sync(s: &Scrape, org: &str, peer: &str) -> bool {
    let last = member(s, "r2com_member_last_sync_timestamp_seconds", org, peer);
    member(s, "r2com_member_connected", org, peer) == Some(1.0)
        && member(s, "r2com_member_relayed", org, peer) == Some(0.0)
        && last.is_some_and(|t| (now() - t).abs() < 300.0)
        && member(s, "r2com_member_we_lack_changes", org, peer) == Some(0.0)
        && member(s, "r2com_member_they_lack_changes", org, peer) == Some(0.0)
}

#[test]
fn two_synced_nodes_export_their_members_and_refused_strangers() {
    let mut a = TestNode::init();
    a.create_consortium("RAN", "lmds", "LMDS", "FR");
    let a_metrics = start_with_metrics(&mut a);
    a.ok(&["import", gen_dataset(20, 5, 7).to_str().unwrap()]);
    let mut b = TestNode::init();
    b.join(&a, "ips", &a.listen_addr());
    let b_metrics = start_with_metrics(&mut b);
    let (a_id, b_id) = (a.peer_id(), b.peer_id());

    let mut last = (None, None);
    let synced = wait_for(CONVERGE, || {
        // `sync` streams progress; under --json stdout is the answer alone.
        let out = b.cli(&["sync", "--json"]);
        assert!(out.status.success(), "{out:?}");
        let answer: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON only");
        assert!(answer.is_array(), "{answer}");
        assert!(
            out.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let (sa, sb) = (scrape(&a_metrics), scrape(&b_metrics));
        let ok = in_sync(&sa, "ips", &b_id) && in_sync(&sb, "lmds", &a_id);
        last = (Some(sa), Some(sb));
        ok
    });
    let (sa, sb) = (last.0.unwrap(), last.1.unwrap());
    assert!(
        synced,
        "A's members: {:?}\nB's members: {:?}\nB log:\n{}",
        samples(&sa, "r2com_member_connected").collect::<Vec<_>>(),
        samples(&sb, "r2com_member_connected").collect::<Vec<_>>(),
        b.log()
    );
    // B applied what A imported (25 records, a change each at least).
    assert!(total(&sb, "r2com_changes_applied_total") >= 25.0);
    assert_eq!(total(&sb, "r2com_changes_refused_total"), 0.0);
    // Nothing but the two members has per-member series (not this node).
    for (s, me) in [(&sa, &a_id), (&sb, &b_id)] {
        assert!(samples(s, "r2com_member_connected").all(|x| x.labels.get("peer") != Some(me)));
        assert_eq!(samples(s, "r2com_member_connected").count(), 1);
        let build = samples(s, "r2com_build_info").next().expect("build info");
        assert_eq!(build.labels.get("version"), Some(env!("CARGO_PKG_VERSION")));
        // libp2p's own series are in the same registry.
        assert!(total(s, "libp2p_bandwidth_bytes_total") > 0.0);
    }
    assert_eq!(total(&sa, "r2com_non_member_refused_total"), 0.0);

    // The shipped dashboard and alerts only use series a node exports.
    let exported = families(&exposition(&a_metrics));
    for file in [
        "contrib/grafana/r2com-dashboard.json",
        "contrib/prometheus/r2com-alerts.yml",
    ] {
        let text = std::fs::read_to_string(r2com_tests::workspace().join(file)).unwrap();
        let mut used = 0;
        for word in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
            if !(word.starts_with("r2com_") || word.starts_with("libp2p_")) {
                continue;
            }
            used += 1;
            let family = ["_total", "_info"]
                .iter()
                .find_map(|s| word.strip_suffix(s))
                .unwrap_or(word);
            assert!(
                exported.contains(family),
                "{file} uses {word}, not exported"
            );
        }
        assert!(used > 3, "{file} uses no series");
    }

    // A stranger (a fresh key in no roster) dials A twice: each connection
    // refused at the handshake and counted, never a label, never blamed
    // as misbehaving (nothing it sent was read).
    let seed = [0x5e; 32];
    let x_id = stranger_id(seed);
    // libp2p's own count says where: connections denied at the handshake
    // (on a node that took them and closed them later, they would count
    // as established instead).
    let denied = |s: &Scrape| -> f64 {
        samples(s, "libp2p_swarm_connections_incoming_error_total")
            .filter(|x| x.labels.get("error") == Some("Denied"))
            .map(|x| number(&x.value))
            .sum()
    };
    let sa = scrape(&a_metrics);
    let before = (total(&sa, "r2com_non_member_refused_total"), denied(&sa));
    for _ in 0..2 {
        assert!(
            stranger_refused(seed, &a.full_addr()),
            "A log:\n{}",
            a.log()
        );
    }
    let mut sa = scrape(&a_metrics);
    let refused = wait_for(Duration::from_secs(10), || {
        sa = scrape(&a_metrics);
        total(&sa, "r2com_non_member_refused_total") >= before.0 + 2.0
            && denied(&sa) >= before.1 + 2.0
    });
    assert!(refused, "A log:\n{}", a.log());
    assert!(sa
        .samples
        .iter()
        .all(|s| s.labels.values().all(|v| v != x_id.as_str())));
    assert_eq!(total(&sa, "r2com_peers_misbehaved_total"), 0.0);
}

/// A libp2p swarm with a fresh key and only ping (which opens a stream at
/// once).
#[derive(libp2p::swarm::NetworkBehaviour)]
struct Stranger {
    ping: libp2p::ping::Behaviour,
}

fn stranger_id(seed: [u8; 32]) -> String {
    libp2p_identity::Keypair::ed25519_from_bytes(seed)
        .unwrap()
        .public()
        .to_peer_id()
        .to_base58()
}

/// The stranger of `seed` dials `addr`: whether its connection, once
/// established, was closed by the node within 10 s without a ping answered.
fn stranger_refused(seed: [u8; 32], addr: &str) -> bool {
    use futures::StreamExt;
    use libp2p::swarm::SwarmEvent;
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let kp = libp2p_identity::Keypair::ed25519_from_bytes(seed).unwrap();
        let mut swarm = libp2p::SwarmBuilder::with_existing_identity(kp)
            .with_tokio()
            .with_tcp(
                libp2p::tcp::Config::default(),
                libp2p::noise::Config::new,
                libp2p::yamux::Config::default,
            )
            .unwrap()
            .with_behaviour(|_| Stranger {
                ping: libp2p::ping::Behaviour::default(),
            })
            .unwrap()
            .build();
        swarm
            .dial(addr.parse::<libp2p::Multiaddr>().unwrap())
            .unwrap();
        let ended = tokio::time::timeout(Duration::from_secs(10), async {
            let mut established = false;
            loop {
                match swarm.select_next_some().await {
                    SwarmEvent::ConnectionEstablished { .. } => established = true,
                    SwarmEvent::Behaviour(StrangerEvent::Ping(libp2p::ping::Event {
                        result: Ok(_),
                        ..
                    })) => return false,
                    SwarmEvent::ConnectionClosed { .. } => return established,
                    SwarmEvent::OutgoingConnectionError { .. } => return false,
                    _ => {}
                }
            }
        });
        ended.await.unwrap_or(false)
    })
}

#[test]
fn metrics_are_off_by_default_and_loopback_unless_allowed() {
    let mut a = TestNode::init();
    a.start();
    assert!(!a.data_dir().join("metrics.addr").exists());
    a.stop();
    let out = a.cli(&["run", "--metrics-listen", "0.0.0.0:0", "--no-mdns"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("allow_remote"), "{err}");
}
