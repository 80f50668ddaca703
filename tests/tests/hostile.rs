//! Hostile peers against a real node. The hostile side is a libp2p swarm in
//! the test process, speaking `/r2com/sync/1` with the node's own cbor codec
//! (well-formed requests) or with a raw codec (arbitrary bytes). It uses
//! either a stranger's key or the key of an admitted member whose node is
//! never started (its seed is read from its `node.key`).
//!
//! Cases: a stranger gets no document bytes; garbage, an oversized frame, a
//! forged signature, and a sustained flood of requests are disconnected and
//! logged; a revoked key's change is not applied (relayed by a member: the
//! member stays; pushed by the revoked node: it is disconnected); none of
//! it is applied; the node's memory stays bounded; an honest member still
//! syncs afterwards.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, Future, StreamExt};
use libp2p::request_response::{self, cbor, OutboundRequestId, ProtocolSupport};
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{noise, tcp, yamux, Multiaddr, PeerId, StreamProtocol, Swarm};
use r2com_protocol::wire::{self, SyncRequest, SyncResponse};
use r2com_tests::{gen_dataset, wait_for, TestNode};
use serde_bytes::ByteBuf;
use serde_json::Value;

/// Writes the request bytes as they are; reads whatever comes back.
#[derive(Clone, Default)]
struct RawCodec;

#[allow(clippy::manual_async_fn)] // the trait spells out `+ Send`
impl request_response::Codec for RawCodec {
    type Protocol = StreamProtocol;
    type Request = Vec<u8>;
    type Response = Vec<u8>;

    fn read_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> impl Future<Output = io::Result<Vec<u8>>> + Send
    where
        T: AsyncRead + Unpin + Send,
    {
        async move {
            let mut v = Vec::new();
            io.take(1 << 20).read_to_end(&mut v).await?;
            Ok(v)
        }
    }

    fn read_response<T>(
        &mut self,
        p: &StreamProtocol,
        io: &mut T,
    ) -> impl Future<Output = io::Result<Vec<u8>>> + Send
    where
        T: AsyncRead + Unpin + Send,
    {
        self.read_request(p, io)
    }

    fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: Vec<u8>,
    ) -> impl Future<Output = io::Result<()>> + Send
    where
        T: AsyncWrite + Unpin + Send,
    {
        async move {
            io.write_all(&req).await?;
            io.close().await
        }
    }

    fn write_response<T>(
        &mut self,
        p: &StreamProtocol,
        io: &mut T,
        res: Vec<u8>,
    ) -> impl Future<Output = io::Result<()>> + Send
    where
        T: AsyncWrite + Unpin + Send,
    {
        self.write_request(p, io, res)
    }
}

#[derive(NetworkBehaviour)]
struct Hb {
    sync: cbor::Behaviour<SyncRequest, SyncResponse>,
    raw: request_response::Behaviour<RawCodec>,
}

/// How a hostile request ended (fields are read through `Debug`).
#[derive(Debug)]
#[allow(dead_code)]
enum Outcome {
    Response(SyncResponse),
    RawResponse(Vec<u8>),
    /// The request failed (stream reset, connection closed, timeout).
    Failed(String),
}

struct Hostile {
    swarm: Swarm<Hb>,
}

impl Hostile {
    fn new(seed: [u8; 32]) -> Hostile {
        let kp = libp2p_identity::Keypair::ed25519_from_bytes(seed).expect("key");
        let proto = || [(StreamProtocol::new(wire::PROTOCOL), ProtocolSupport::Full)];
        let cfg =
            || request_response::Config::default().with_request_timeout(Duration::from_secs(30));
        let swarm = libp2p::SwarmBuilder::with_existing_identity(kp)
            .with_tokio()
            .with_tcp(
                tcp::Config::default().nodelay(true),
                noise::Config::new,
                yamux::Config::default,
            )
            .expect("tcp")
            .with_behaviour(|_| Hb {
                sync: cbor::Behaviour::new(proto(), cfg()),
                raw: request_response::Behaviour::with_codec(RawCodec, proto(), cfg()),
            })
            .expect("behaviour")
            .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
            .build();
        Hostile { swarm }
    }

    /// Dial and wait for the connection; the node's PeerId.
    async fn connect(&mut self, addr: &str) -> PeerId {
        let addr: Multiaddr = addr.parse().expect("multiaddr");
        self.swarm.dial(addr).expect("dial");
        let fut = async {
            loop {
                if let SwarmEvent::ConnectionEstablished { peer_id, .. } =
                    self.swarm.select_next_some().await
                {
                    return peer_id;
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(20), fut)
            .await
            .expect("connected")
    }

    /// Drive the swarm until request `id` ends.
    async fn outcome(&mut self, id: OutboundRequestId) -> Outcome {
        use request_response::{Event, Message};
        let fut = async {
            loop {
                match self.swarm.select_next_some().await {
                    SwarmEvent::Behaviour(HbEvent::Sync(Event::Message {
                        message:
                            Message::Response {
                                request_id,
                                response,
                            },
                        ..
                    })) if request_id == id => return Outcome::Response(response),
                    SwarmEvent::Behaviour(HbEvent::Raw(Event::Message {
                        message:
                            Message::Response {
                                request_id,
                                response,
                            },
                        ..
                    })) if request_id == id => return Outcome::RawResponse(response),
                    SwarmEvent::Behaviour(HbEvent::Sync(Event::OutboundFailure {
                        request_id,
                        error,
                        ..
                    })) if request_id == id => return Outcome::Failed(error.to_string()),
                    SwarmEvent::Behaviour(HbEvent::Raw(Event::OutboundFailure {
                        request_id,
                        error,
                        ..
                    })) if request_id == id => return Outcome::Failed(error.to_string()),
                    _ => {}
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(40), fut)
            .await
            .unwrap_or_else(|_| Outcome::Failed("timeout".into()))
    }

    async fn ask(&mut self, peer: PeerId, req: SyncRequest) -> Outcome {
        let id = self.swarm.behaviour_mut().sync.send_request(&peer, req);
        self.outcome(id).await
    }

    async fn raw(&mut self, peer: PeerId, bytes: Vec<u8>) -> Outcome {
        let id = self.swarm.behaviour_mut().raw.send_request(&peer, bytes);
        self.outcome(id).await
    }

    /// Drive the swarm until `peer` is no longer connected; whether it
    /// happened within `t`.
    async fn closed(&mut self, peer: PeerId, t: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + t;
        while self.swarm.is_connected(&peer) {
            if tokio::time::timeout_at(deadline, self.swarm.select_next_some())
                .await
                .is_err()
            {
                return false;
            }
        }
        true
    }
}

fn peer_id(n: &TestNode) -> String {
    n.json(&["id"])["peer_id"].as_str().unwrap().to_owned()
}

fn export(n: &TestNode) -> Value {
    serde_json::from_str(&n.ok(&["export"])).unwrap()
}

fn hand_over(what: &str, from: &TestNode, to: &TestNode) {
    let file = from.data_dir().join(format!("{what}-out.json"));
    from.ok(&[what, "export", "--out", file.to_str().unwrap()]);
    to.ok(&[what, "import", file.to_str().unwrap()]);
}

/// A node directory admitted as `org` by the running admin `a` (by file),
/// never started.
fn admitted(a: &TestNode, org: &str) -> TestNode {
    let n = TestNode::init();
    let token = a.ok(&[
        "invite",
        "--org",
        org,
        "--org-name",
        org,
        "--country",
        "PT",
        "--key",
        &peer_id(&n),
    ]);
    n.ok(&["join", token.trim()]);
    hand_over("roster", &n, a);
    hand_over("roster", a, &n);
    n
}

/// The node's own signed changes, as envelopes.
fn envelopes(n: &TestNode) -> Vec<Vec<u8>> {
    let file = n.data_dir().join("changes-mine.json");
    n.ok(&["changes", "export", "--out", file.to_str().unwrap()]);
    let v: Value = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
    v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| hex::decode(h.as_str().unwrap()).unwrap())
        .collect()
}

fn seed_of(n: &TestNode) -> [u8; 32] {
    std::fs::read(n.data_dir().join("node.key"))
        .expect("node.key")
        .try_into()
        .expect("32-byte seed")
}

fn status_kb(pid: u32, field: &str) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn push(envs: &[Vec<u8>]) -> SyncRequest {
    SyncRequest::Push {
        batch: ByteBuf::from(wire::encode_batch(envs)),
        roster: vec![],
    }
}

fn refused_or_failed(o: &Outcome) -> bool {
    matches!(
        o,
        Outcome::Response(SyncResponse::Refused { .. }) | Outcome::Failed(_)
    )
}

fn count(log: &str, what: &str) -> usize {
    log.matches(what).count()
}

#[test]
fn hostile_peers_are_refused_disconnected_and_logged_while_members_keep_syncing() {
    let mut a = TestNode::init();
    a.create_consortium("RAN", "lmds", "LMDS", "FR");
    a.start();
    a.ok(&["import", gen_dataset(40, 10, 5).to_str().unwrap()]);
    let addr = a.listen_addr();
    let pid = a.pid().unwrap();

    // H: an admitted member whose key the hostile swarm uses.
    let h = admitted(&a, "ips");
    h.ok(&[
        "practice",
        "add",
        "--title",
        "Forged injection",
        "--organisation",
        "ips",
        "--contact",
        "h@example.org",
    ]);
    let h_envs = envelopes(&h);
    assert_eq!(h_envs.len(), 1, "H's store holds only its own change");
    // R: admitted, then revoked; it has not heard and writes afterwards.
    let r = admitted(&a, "act");
    a.ok(&["revoke", "act", "--reason", "compromised"]);
    r.ok(&[
        "practice",
        "add",
        "--title",
        "Written after the revocation",
        "--organisation",
        "act",
        "--contact",
        "r@example.org",
    ]);
    let r_envs = envelopes(&r);
    assert_eq!(r_envs.len(), 1);

    let before = export(&a);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut outcomes = Vec::new();
    rt.block_on(async {
        // 1. A stranger: no document bytes, whatever it asks.
        let mut stranger = Hostile::new([9; 32]);
        let node = stranger.connect(&addr).await;
        let asks = [
            SyncRequest::Buckets,
            SyncRequest::GetChanges {
                hashes: vec![ByteBuf::from(vec![0u8; 32])],
            },
        ];
        for req in asks {
            let o = stranger.ask(node, req).await;
            assert!(refused_or_failed(&o), "stranger got {o:?}");
            outcomes.push(format!("stranger: {o:?}"));
        }
        assert!(stranger.closed(node, Duration::from_secs(10)).await);

        let mut hostile = Hostile::new(seed_of(&h));
        // 2. A member sending garbage on the sync protocol: the node's codec
        // hands the undecodable bytes to the sync machine, which drops the
        // peer.
        let node = hostile.connect(&addr).await;
        let o = hostile
            .raw(node, b"\xff\xfe not cbor at all \x00\x01".repeat(50))
            .await;
        assert!(!matches!(o, Outcome::Response(_)), "{o:?}");
        assert!(
            hostile.closed(node, Duration::from_secs(10)).await,
            "garbage: not disconnected"
        );
        outcomes.push(format!("garbage: {o:?}, disconnected"));

        // 3. An oversized frame (over the 8 MiB request limit): read up to
        // the limit, never further, and the peer is dropped.
        let node = hostile.connect(&addr).await;
        let o = hostile
            .raw(node, vec![0x5a; wire::MAX_REQUEST_BYTES as usize + MIB])
            .await;
        assert!(!matches!(o, Outcome::Response(_)), "{o:?}");
        assert!(
            hostile.closed(node, Duration::from_secs(10)).await,
            "oversized: not disconnected"
        );
        outcomes.push(format!("oversized: {o:?}, disconnected"));

        // 4. A push whose change carries a forged signature.
        let node = hostile.connect(&addr).await;
        let mut forged = h_envs[0].clone();
        let sig_at = 2 + forged[1] as usize + 5;
        forged[sig_at] ^= 0x01;
        let o = hostile.ask(node, push(&[forged])).await;
        assert!(refused_or_failed(&o), "forged: {o:?}");
        assert!(hostile.closed(node, Duration::from_secs(10)).await);
        outcomes.push(format!("forged signature: {o:?}, disconnected"));

        // 5. A member relays a change by a revoked key (an honest member
        // with an older roster could): not applied, the relay stays.
        let node = hostile.connect(&addr).await;
        let o = hostile.ask(node, push(&r_envs)).await;
        assert!(
            matches!(o, Outcome::Response(SyncResponse::Ack { applied: 0, .. })),
            "relayed revoked change: {o:?}\n{}",
            a.log()
                .lines()
                .filter(|l| l.contains("WARN") || l.contains("not applied"))
                .collect::<Vec<_>>()
                .join("\n")
        );
        assert!(!hostile.closed(node, Duration::from_secs(2)).await);
        outcomes.push(format!("revoked author relayed by a member: {o:?}, not applied"));

        // 5b. The revoked node itself pushes it: refused and disconnected.
        let mut revoked = Hostile::new(seed_of(&r));
        let rnode = revoked.connect(&addr).await;
        let o = revoked.ask(rnode, push(&r_envs)).await;
        assert!(refused_or_failed(&o), "revoked: {o:?}");
        assert!(revoked.closed(rnode, Duration::from_secs(10)).await);
        outcomes.push(format!("revoked node pushing: {o:?}, disconnected"));

        // 6. A flood of requests on many streams, memory sampled meanwhile.
        let base_kb = status_kb(pid, "VmRSS:");
        let peak = Arc::new(AtomicU64::new(base_kb));
        let stop = Arc::new(AtomicBool::new(false));
        let sampler = {
            let (peak, stop) = (peak.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    peak.fetch_max(status_kb(pid, "VmRSS:"), Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(20));
                }
            })
        };
        let node = hostile.connect(&addr).await;
        // A sustained flood: 30 cheap requests in flight (the node takes 8
        // streams per connection at a time and drops the rest unread, which
        // costs it nothing), a new one as each ends,
        // until the node disconnects or 60 s pass.
        let flood = |i: u64| {
            if i.is_multiple_of(2) {
                SyncRequest::Buckets
            } else {
                SyncRequest::Inventory {
                    buckets: ByteBuf::from((0..=255u8).collect::<Vec<_>>()),
                }
            }
        };
        let mut sent = 0u64;
        for _ in 0..30 {
            hostile.swarm.behaviour_mut().sync.send_request(&node, flood(sent));
            sent += 1;
        }
        let started = std::time::Instant::now();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        let mut closed = false;
        while !closed {
            let Ok(ev) = tokio::time::timeout_at(deadline, hostile.swarm.select_next_some()).await
            else {
                break;
            };
            match ev {
                SwarmEvent::ConnectionClosed { peer_id, .. } if peer_id == node => {
                    closed = !hostile.swarm.is_connected(&node);
                }
                SwarmEvent::Behaviour(HbEvent::Sync(
                    request_response::Event::Message { .. }
                    | request_response::Event::OutboundFailure { .. },
                )) if hostile.swarm.is_connected(&node) => {
                    hostile.swarm.behaviour_mut().sync.send_request(&node, flood(sent));
                    sent += 1;
                }
                _ => {}
            }
        }
        let flood_secs = started.elapsed().as_secs_f64();
        stop.store(true, Ordering::SeqCst);
        sampler.join().unwrap();
        let peak_kb = peak.load(Ordering::SeqCst);
        eprintln!(
            "hostile flood: {sent} requests in {flood_secs:.1} s; node RSS {base_kb} kB before, \
             peak {peak_kb} kB during, VmHWM {} kB; disconnected: {closed}",
            status_kb(pid, "VmHWM:")
        );
        assert!(closed, "the flooder was not disconnected within 60 s ({sent} requests)");
        assert!(
            peak_kb < base_kb + 256 * 1024,
            "RSS grew from {base_kb} to {peak_kb} kB"
        );
        outcomes.push(format!(
            "sustained flood: {sent} requests in {flood_secs:.1} s, disconnected; RSS peak {peak_kb} kB (from {base_kb} kB)"
        ));
    });
    for o in &outcomes {
        eprintln!("hostile case: {o}");
    }

    let log = a.log();
    assert!(count(&log, "not a member of the consortium") >= 1, "{log}");
    // Garbage, oversized, forged, flood.
    assert!(count(&log, "peer sent invalid data") >= 4, "{log}");
    assert!(count(&log, "request flood") >= 1, "{log}");
    assert!(count(&log, "changes not applied") >= 1, "{log}");
    // Nothing of it was applied, and the node still runs.
    assert_eq!(export(&a), before);
    assert_eq!(a.json(&["verify"])["invalid"], 0);

    // An honest member still syncs.
    let mut b = TestNode::init();
    let token = a.ok(&[
        "invite",
        "--org",
        "honest",
        "--org-name",
        "Honest",
        "--country",
        "PT",
        "--key",
        &peer_id(&b),
        "--addr",
        &addr,
    ]);
    b.ok(&["join", token.trim()]);
    b.start();
    a.ok(&[
        "practice",
        "edit",
        "p-000003",
        "--set",
        "title=After the storm",
    ]);
    assert!(
        wait_for(Duration::from_secs(90), || export(&a) == export(&b)),
        "the honest member did not converge\nA log:\n{}\nB log:\n{}",
        a.log(),
        b.log()
    );
}

const MIB: usize = 1024 * 1024;
