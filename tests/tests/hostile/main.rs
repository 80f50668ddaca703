//! Hostile peers against a real node, one test per case. The hostile side
//! (`swarm.rs`) is a libp2p swarm in the test process, speaking
//! `/r2com/sync/1` with the node's own cbor codec (well-formed requests) or
//! with a raw codec (arbitrary bytes). It uses either a stranger's key or
//! the key of an admitted member whose node is never started (its seed is
//! read from its `node.key`).
//!
//! Cases: a stranger is refused at the handshake and nothing it sends is
//! read (issue 13, point 7); garbage, an oversized frame, a
//! forged signature, and a sustained flood of requests are disconnected and
//! logged; a revoked key's change is not applied (relayed by a member: the
//! member stays; pushed by the revoked node: it is disconnected). In each,
//! nothing is applied and the store verifies; after the flood the node's
//! memory stayed bounded and an honest member still syncs. Files
//! (`/r2com/files/1`) are served to members only. A member's change that
//! moves another organisation's practice to itself or deletes it is not
//! applied, relayed or by file (the relay stays).

mod swarm;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use libp2p::request_response;
use libp2p::swarm::SwarmEvent;
use r2com_protocol::wire::{self, SyncRequest, SyncResponse};
use r2com_tests::{gen_dataset, hand_over, wait_for, TestNode};
use serde_bytes::ByteBuf;
use serde_json::Value;

use swarm::{HbEvent, Hostile, Outcome};

const MIB: usize = 1024 * 1024;
/// How long the node may take to drop a misbehaving peer.
const DROPPED: Duration = Duration::from_secs(10);

/// A node directory admitted as `org` by the running admin `a` (by file),
/// never started.
fn admitted(a: &TestNode, org: &str) -> TestNode {
    let n = TestNode::init();
    let token = a.invite(org, &n, &[]);
    n.ok(&["join", &token]);
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

/// The node under attack: A, admin of a consortium, with a library of 40
/// practices and 10 events. H is an admitted member whose key the hostile
/// swarm uses (its store holds one change of its own); R was admitted, then
/// revoked, and wrote one change after that without having heard. Neither
/// H nor R runs.
struct Target {
    a: TestNode,
    addr: String,
    h: TestNode,
    h_envs: Vec<Vec<u8>>,
    r: TestNode,
    r_envs: Vec<Vec<u8>>,
    /// A's library before the attack.
    before: Value,
}

fn target() -> Target {
    let mut a = TestNode::init();
    a.create_consortium("RAN", "lmds", "LMDS", "FR");
    a.start();
    a.ok(&["import", gen_dataset(40, 10, 5).to_str().unwrap()]);
    let addr = a.listen_addr();
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
    let before = a.export();
    Target {
        a,
        addr,
        h,
        h_envs,
        r,
        r_envs,
        before,
    }
}

impl Target {
    /// A logged `what` at least once, applied nothing, and verifies clean.
    fn unharmed(&self, what: &str) {
        let log = self.a.log();
        assert!(count(&log, what) >= 1, "A did not log {what:?}:\n{log}");
        assert_eq!(self.a.export(), self.before, "something was applied");
        assert_eq!(self.a.json(&["verify"])["invalid"], 0);
    }
}

fn run<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Runtime::new().unwrap().block_on(f)
}

/// A's log lines about `peer` that contain `what`.
fn lines_about(log: &str, peer: &str, what: &str) -> usize {
    log.lines()
        .filter(|l| l.contains(peer) && l.contains(what))
        .count()
}

/// A stranger (a fresh key in no roster) is refused as soon as noise has
/// authenticated it (issue 13, point 7): A never counts it connected, and
/// nothing it sends at once, a well-formed sync request, garbage or a file
/// request, is read: none is answered, not even refused, and none is
/// blamed as invalid (it was never decoded). Refused again on a second
/// connection, logged once. A member's key is answered (the positive
/// control).
#[test]
fn a_stranger_is_refused_at_the_handshake_and_nothing_it_sends_is_decoded() {
    use r2com_protocol::files::FileRequest;
    let t = target();
    let seed = [9; 32];
    let stranger_id = libp2p_identity::Keypair::ed25519_from_bytes(seed)
        .unwrap()
        .public()
        .to_peer_id()
        .to_base58();
    run(async {
        for _ in 0..2 {
            let mut stranger = Hostile::new(seed);
            let node = stranger.connect(&t.addr).await;
            let b = stranger.swarm.behaviour_mut();
            let asked = [
                b.sync.send_request(&node, SyncRequest::Buckets),
                b.sync.send_request(
                    &node,
                    SyncRequest::GetChanges {
                        hashes: vec![ByteBuf::from(vec![0u8; 32])],
                    },
                ),
                b.raw.send_request(&node, b"\xff\xfe not cbor".repeat(50)),
                b.files.send_request(
                    &node,
                    FileRequest::Holds {
                        hashes: vec![[0; 32]],
                    },
                ),
            ];
            for id in asked {
                let o = stranger.outcome(id).await;
                assert!(matches!(o, Outcome::Failed(_)), "stranger got {o:?}");
            }
            assert!(stranger.closed(node, DROPPED).await, "not disconnected");
        }
        let mut member = Hostile::new(seed_of(&t.h));
        let node = member.connect(&t.addr).await;
        let o = member.ask(node, SyncRequest::Buckets).await;
        assert!(
            matches!(o, Outcome::Response(SyncResponse::Buckets { .. })),
            "member got {o:?}"
        );
    });
    t.unharmed("connection refused: not a member of the consortium");
    let log = t.a.log();
    assert_eq!(
        lines_about(&log, &stranger_id, "connection refused"),
        1,
        "{log}"
    );
    let connected = log
        .lines()
        .filter(|l| l.contains(&stranger_id) && l.contains(" connected peer="));
    assert_eq!(
        connected.count(),
        0,
        "A took the stranger's connection:\n{log}"
    );
    for never in [
        "request from a non-member",
        "peer sent invalid data",
        "invalid file request",
    ] {
        assert_eq!(count(&log, never), 0, "{never:?} in A's log:\n{log}");
    }
}

/// A member sending garbage on the sync protocol: the node's codec hands the
/// undecodable bytes to the sync machine, which drops the peer.
#[test]
fn garbage_from_a_member_disconnects_it() {
    let t = target();
    run(async {
        let mut hostile = Hostile::new(seed_of(&t.h));
        let node = hostile.connect(&t.addr).await;
        let o = hostile
            .raw(node, b"\xff\xfe not cbor at all \x00\x01".repeat(50))
            .await;
        assert!(!matches!(o, Outcome::Response(_)), "{o:?}");
        assert!(hostile.closed(node, DROPPED).await, "not disconnected");
    });
    t.unharmed("peer sent invalid data");
}

/// An oversized frame (over the 8 MiB request limit) is read up to the
/// limit, never further, and the peer is dropped.
#[test]
fn an_oversized_frame_disconnects_the_sender() {
    let t = target();
    run(async {
        let mut hostile = Hostile::new(seed_of(&t.h));
        let node = hostile.connect(&t.addr).await;
        let o = hostile
            .raw(node, vec![0x5a; wire::MAX_REQUEST_BYTES as usize + MIB])
            .await;
        assert!(!matches!(o, Outcome::Response(_)), "{o:?}");
        assert!(hostile.closed(node, DROPPED).await, "not disconnected");
    });
    t.unharmed("peer sent invalid data");
}

#[test]
fn a_push_with_a_forged_signature_is_refused_and_disconnects_the_sender() {
    let t = target();
    run(async {
        let mut hostile = Hostile::new(seed_of(&t.h));
        let node = hostile.connect(&t.addr).await;
        let mut forged = t.h_envs[0].clone();
        let sig_at = 2 + forged[1] as usize + 5;
        forged[sig_at] ^= 0x01;
        let o = hostile.ask(node, push(&[forged])).await;
        assert!(refused_or_failed(&o), "forged: {o:?}");
        assert!(hostile.closed(node, DROPPED).await, "not disconnected");
    });
    t.unharmed("peer sent invalid data");
}

/// A member relays a change by a revoked key (an honest member with an
/// older roster could): not applied, and the relaying member stays.
#[test]
fn a_revoked_authors_change_relayed_by_a_member_is_not_applied() {
    let t = target();
    run(async {
        let mut hostile = Hostile::new(seed_of(&t.h));
        let node = hostile.connect(&t.addr).await;
        let o = hostile.ask(node, push(&t.r_envs)).await;
        assert!(
            matches!(o, Outcome::Response(SyncResponse::Ack { applied: 0, .. })),
            "relayed revoked change: {o:?}\n{}",
            t.a.log()
        );
        assert!(
            !hostile.closed(node, Duration::from_secs(2)).await,
            "the relaying member was disconnected"
        );
    });
    t.unharmed("changes not applied");
}

/// The revoked node's key is refused at the handshake like a stranger's:
/// its push is never read.
#[test]
fn the_revoked_node_pushing_its_change_is_refused_and_disconnected() {
    let t = target();
    run(async {
        let mut revoked = Hostile::new(seed_of(&t.r));
        let node = revoked.connect(&t.addr).await;
        let o = revoked.ask(node, push(&t.r_envs)).await;
        assert!(matches!(o, Outcome::Failed(_)), "revoked: {o:?}");
        assert!(revoked.closed(node, DROPPED).await, "not disconnected");
    });
    t.unharmed("connection refused: not a member of the consortium");
    let (log, r_id) = (t.a.log(), t.r.peer_id());
    assert_eq!(lines_about(&log, &r_id, "connection refused"), 1, "{log}");
    assert_eq!(lines_about(&log, &r_id, " connected peer="), 0, "{log}");
}

/// A sustained flood on many streams: the flooder is disconnected, the
/// node's memory stays bounded meanwhile, and an honest member still syncs.
#[test]
fn a_request_flood_is_disconnected_with_memory_bounded_and_members_keep_syncing() {
    let t = target();
    let pid = t.a.pid().unwrap();
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
    let (sent, closed, flood_secs) = run(async {
        let mut hostile = Hostile::new(seed_of(&t.h));
        let node = hostile.connect(&t.addr).await;
        // 30 cheap requests in flight (the node takes 8 streams per
        // connection at a time and drops the rest unread, which costs it
        // nothing), a new one as each ends, until the node disconnects or
        // 60 s pass.
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
            hostile
                .swarm
                .behaviour_mut()
                .sync
                .send_request(&node, flood(sent));
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
                    hostile
                        .swarm
                        .behaviour_mut()
                        .sync
                        .send_request(&node, flood(sent));
                    sent += 1;
                }
                _ => {}
            }
        }
        (sent, closed, started.elapsed().as_secs_f64())
    });
    stop.store(true, Ordering::SeqCst);
    sampler.join().unwrap();
    let peak_kb = peak.load(Ordering::SeqCst);
    eprintln!(
        "hostile flood: {sent} requests in {flood_secs:.1} s; node RSS {base_kb} kB before, \
         peak {peak_kb} kB during, VmHWM {} kB; disconnected: {closed}",
        status_kb(pid, "VmHWM:")
    );
    assert!(
        closed,
        "the flooder was not disconnected within 60 s ({sent} requests)"
    );
    assert!(
        peak_kb < base_kb + 256 * 1024,
        "RSS grew from {base_kb} to {peak_kb} kB"
    );
    t.unharmed("request flood");

    // An honest member still syncs.
    let mut b = TestNode::init();
    b.join(&t.a, "honest", &t.addr);
    b.start();
    t.a.ok(&[
        "practice",
        "edit",
        "p-000003",
        "--set",
        "title=After the storm",
    ]);
    assert!(
        wait_for(Duration::from_secs(90), || t.a.export() == b.export()),
        "the honest member did not converge\nA log:\n{}\nB log:\n{}",
        t.a.log(),
        b.log()
    );
}

/// Files are served to members only, with the same gating as sync: a
/// stranger asking whether the node holds an attached file, for its
/// outline or for a piece receives nothing and is disconnected; an
/// admitted member's key (the positive control) is told the size and gets
/// the piece's bytes.
#[test]
fn a_stranger_asking_for_a_file_receives_nothing_and_a_member_gets_it() {
    use r2com_protocol::files::{FileRequest, FileResponse};
    let t = target();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("handout.pdf");
    let mut data = b"%PDF-1.7\n".to_vec();
    data.extend((0..3 * MIB).map(|i| (i * 31 % 251) as u8));
    std::fs::write(&path, &data).unwrap();
    let attached = t.a.json(&["attach", "p-000000", path.to_str().unwrap()]);
    let hex_hash = attached["attachment"]["hash"].as_str().unwrap().to_owned();
    let mut hash = [0u8; 32];
    hex::decode_to_slice(&hex_hash, &mut hash).unwrap();
    run(async {
        let mut stranger = Hostile::new([9; 32]);
        let node = stranger.connect(&t.addr).await;
        for req in [
            FileRequest::Holds { hashes: vec![hash] },
            FileRequest::Outline { hash },
            FileRequest::Piece { hash, index: 0 },
        ] {
            let o = stranger.ask_files(node, req).await;
            assert!(matches!(o, Outcome::Failed(_)), "stranger got {o:?}");
        }
        assert!(stranger.closed(node, DROPPED).await, "not disconnected");

        let mut member = Hostile::new(seed_of(&t.h));
        let node = member.connect(&t.addr).await;
        let o = member
            .ask_files(node, FileRequest::Holds { hashes: vec![hash] })
            .await;
        let Outcome::FileResponse(FileResponse::Holds { sizes }) = o else {
            panic!("member got {o:?}");
        };
        assert_eq!(sizes, vec![Some(data.len() as u64)]);
        let o = member
            .ask_files(node, FileRequest::Piece { hash, index: 1 })
            .await;
        let Outcome::FileResponse(FileResponse::Piece { bytes }) = o else {
            panic!("member got {o:?}");
        };
        assert_eq!(&bytes[..], &data[MIB..2 * MIB]);
    });
    assert!(count(&t.a.log(), "not a member") >= 1);
}

/// `x`'s signed changes to A's practice `id` as x's node would make them
/// if it did not check: one moving the practice to `x_org`, one deleting
/// it (each on the practice as A holds it).
fn forge(a: &TestNode, x: &TestNode, x_org: &str, id: &str) -> Vec<Vec<u8>> {
    use r2com_protocol::envelope::{parse_change, Scope, SignedChange};
    use r2com_protocol::record::Record;
    use r2com_protocol::{doc, identity::NodeKey, ids::DocId};
    let doc_id = DocId::parse(&format!("practice/{id}")).unwrap();
    let changes: Vec<automerge::Change> = envelopes(a)
        .iter()
        .filter_map(|e| {
            let sc = SignedChange::decode(e).unwrap();
            (sc.doc == doc_id).then(|| parse_change(&sc.change).unwrap())
        })
        .collect();
    assert!(!changes.is_empty(), "A holds {id}");
    let key = NodeKey::from_seed(seed_of(x));
    let cid = a.json(&["status"])["consortium"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let scope = Scope(hex::decode(cid).unwrap().try_into().unwrap());
    let time = 1_800_000_000_000;
    let mut d = automerge::AutoCommit::new();
    d.apply_changes(changes.clone()).unwrap();
    let old = doc::read(&mut d).unwrap();
    let Record::Practice(mut p) = old.clone() else {
        panic!("not a practice")
    };
    assert_ne!(p.organisation, x_org);
    p.organisation = x_org.into();
    let moved = doc::update(&mut d, &key, &old, &p.into(), time)
        .unwrap()
        .unwrap();
    let mut d = automerge::AutoCommit::new();
    d.apply_changes(changes).unwrap();
    let deleted = doc::set_deleted(&mut d, &key, true, time).unwrap().unwrap();
    [moved, deleted]
        .into_iter()
        .map(|c| SignedChange::sign(&key, &scope, &doc_id, c).encode())
        .collect()
}

/// A member's change that moves another organisation's practice to its own
/// organisation, or deletes it, is refused like a non-member's change:
/// relayed by a third member it is not applied and the relay stays
/// connected; handed to another member's node by file it is refused there.
#[test]
fn a_members_change_to_another_organisations_practice_is_refused_also_relayed() {
    let t = target();
    let x = admitted(&t.a, "zzx");
    let forged = forge(&t.a, &x, "zzx", "p-000001");
    run(async {
        let mut hostile = Hostile::new(seed_of(&t.h));
        let node = hostile.connect(&t.addr).await;
        for env in &forged {
            let o = hostile.ask(node, push(std::slice::from_ref(env))).await;
            assert!(
                matches!(o, Outcome::Response(SyncResponse::Ack { applied: 0, .. })),
                "relayed forbidden change: {o:?}\n{}",
                t.a.log()
            );
        }
        assert!(
            !hostile.closed(node, Duration::from_secs(2)).await,
            "the relaying member was disconnected"
        );
    });
    t.unharmed("or an admin may");
    // H's node (stopped), by file, with A's roster (X a member there too):
    // A's changes apply, the forged ones not.
    hand_over("roster", &t.a, &t.h);
    hand_over("changes", &t.a, &t.h);
    let cid = t.a.json(&["status"])["consortium"]["id"].clone();
    let file = t.h.data_dir().join("forged.json");
    let hexes: Vec<String> = forged.iter().map(hex::encode).collect();
    std::fs::write(
        &file,
        serde_json::to_vec(&serde_json::json!({"consortium": cid, "changes": hexes})).unwrap(),
    )
    .unwrap();
    let e =
        t.h.json_error(&["changes", "import", file.to_str().unwrap()], 3);
    let msg = e["message"].as_str().unwrap();
    assert!(msg.contains("2 of 2 changes refused"), "{msg}");
    assert!(msg.contains("change the organisation"), "{msg}");
    assert!(msg.contains("delete or restore"), "{msg}");
    let p = t.h.json(&["practice", "show", "p-000001"]);
    assert_eq!(p, t.a.json(&["practice", "show", "p-000001"]));
    assert_ne!(p["organisation"], "zzx");
}
