//! Fuzz regressions and the known dangers of issue 8, in the normal
//! `cargo test`: every file under `tests/fuzz-corpus/<target>/` (seeds and
//! any crasher a fuzz run found) goes through the same body the fuzz target
//! runs (`r2com_protocol::fuzzing`), and the hostile inputs below are
//! refused without a panic and without a big allocation (a counting global
//! allocator measures the peak).
//!
//! `R2COM_WRITE_CORPUS=1 cargo test -p r2com-protocol --test fuzz_regressions`
//! rewrites the generated seeds into the corpus directories.

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ROOT};
use r2com_protocol::doc::actor_for;
use r2com_protocol::envelope::{DocChanges, DocChunk, EnvelopeError, Scope, SignedChange};
use r2com_protocol::fuzzing;
use r2com_protocol::identity::NodeKey;
use r2com_protocol::ids::DocId;
use r2com_protocol::wire::{self, SyncRequest, SyncResponse, WireError};
use serde_bytes::ByteBuf;

/// Counts live heap bytes and their peak.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
/// Tests measuring the peak run one at a time (held for a whole test).
static MEASURE: Mutex<()> = Mutex::new(());

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Run `f` and return the peak of heap bytes above the level at its start
/// (the caller holds `MEASURE`, so no other test allocates meanwhile).
fn peak_during(f: impl FnOnce()) -> usize {
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    f();
    PEAK.load(Ordering::Relaxed).saturating_sub(base)
}

const MIB: usize = 1024 * 1024;

fn corpus_dir(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz-corpus")
        .join(target)
}

/// A valid signed change of a small document.
fn valid_change() -> SignedChange {
    let key = NodeKey::from_seed([3; 32]);
    let mut d = AutoCommit::new().with_actor(actor_for(&key));
    d.put(ROOT, "type", "practice").unwrap();
    d.put(ROOT, "title", "Mentoring after release").unwrap();
    d.commit();
    let change = d.get_last_local_change().unwrap();
    SignedChange::sign(
        &key,
        &Scope::UNAFFILIATED,
        &DocId::parse("practice/p-000001").unwrap(),
        change,
    )
}

/// An automerge chunk header with `chunk_type`, then `body`.
fn chunk(chunk_type: u8, body: &[u8]) -> Vec<u8> {
    let mut c = vec![0x85, 0x6f, 0x4a, 0x83, 0, 0, 0, 0, chunk_type];
    let mut n = body.len() as u64;
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        c.push(if n == 0 { b } else { b | 0x80 });
        if n == 0 {
            break;
        }
    }
    c.extend_from_slice(body);
    c
}

/// Raw deflate of `n` zero bytes (a deflate bomb when `n` is large).
fn deflate_zeros(n: usize) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    let block = vec![0u8; MIB];
    for _ in 0..n / MIB {
        e.write_all(&block).unwrap();
    }
    e.finish().unwrap()
}

fn envelope_with_chunk(change: Vec<u8>) -> Vec<u8> {
    let mut s = valid_change();
    s.change = change;
    s.encode()
}

/// A document chunk of `document`, with the valid change's signature.
fn doc_chunk_of(document: Vec<u8>) -> Vec<u8> {
    let valid = valid_change();
    let hash = r2com_protocol::envelope::parse_change(&valid.change)
        .unwrap()
        .hash()
        .0;
    DocChunk {
        doc: valid.doc.clone(),
        document,
        changes: DocChanges::Signatures(vec![(hash, valid.signature)]),
    }
    .encode()
}

/// A document chunk with no actors or heads, one change column of `spec`
/// holding `data`, and no op columns.
fn document_with_column(spec: u8, data: &[u8]) -> Vec<u8> {
    let mut body = vec![0, 0, 1, spec];
    let mut n = data.len() as u64;
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        body.push(if n == 0 { b } else { b | 0x80 });
        if n == 0 {
            break;
        }
    }
    body.push(0);
    body.extend_from_slice(data);
    chunk(0, &body)
}

/// Generated seeds and danger inputs, per target.
fn generated() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    let valid = valid_change();
    let compressed = {
        // A real change chunk with its type byte turned into "compressed".
        let mut c = valid.change.clone();
        c[8] = 2;
        c
    };
    let bomb = chunk(2, &deflate_zeros(64 * MIB));
    let mut four_gb = vec![1u8, 17];
    four_gb.extend_from_slice(b"practice/p-000001");
    four_gb.extend_from_slice(&[0; 64]);
    four_gb.extend_from_slice(&u32::MAX.to_be_bytes());
    let hashes_1e6 = cbor(&SyncResponse::Inventory {
        hashes: vec![ByteBuf::from(vec![7u8; 32]); 1_000_000],
        buckets: ByteBuf::new(),
    });
    let mut lying_batch = u32::MAX.to_be_bytes().to_vec();
    lying_batch.extend_from_slice(b"abc");
    let valid_doc = {
        let key = NodeKey::from_seed([3; 32]);
        let mut d = AutoCommit::new().with_actor(actor_for(&key));
        d.put(ROOT, "type", "practice").unwrap();
        d.put(ROOT, "title", "Mentoring after release").unwrap();
        d.commit();
        let change = d.get_last_local_change().unwrap().clone();
        let hash = change.hash().0;
        let doc = DocId::parse("practice/p-000001").unwrap();
        let signed = SignedChange::sign(&key, &Scope::UNAFFILIATED, &doc, change);
        let v1 = DocChunk {
            doc: doc.clone(),
            document: d.save_nocompress(),
            changes: DocChanges::Signatures(vec![(hash, signed.signature)]),
        };
        let v2 = DocChunk {
            changes: DocChanges::Envelopes(vec![signed.encode()]),
            ..v1.clone()
        };
        (v1.encode(), v2.encode())
    };
    // A null run of 2^60 rows.
    let rows_bomb = [0u8, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10];
    vec![
        ("doc_chunk", "valid", valid_doc.0),
        ("doc_chunk", "valid-envelopes", valid_doc.1),
        (
            "doc_chunk",
            "deflate-bomb-column",
            doc_chunk_of(document_with_column(0x18 | 2, &deflate_zeros(64 * MIB))),
        ),
        (
            "doc_chunk",
            "rows-bomb-column",
            doc_chunk_of(document_with_column(0x10 | 2, &rows_bomb)),
        ),
        ("signed_change", "valid", valid.encode()),
        (
            "signed_change",
            "compressed-chunk",
            envelope_with_chunk(compressed),
        ),
        (
            "signed_change",
            "deflate-bomb-chunk",
            envelope_with_chunk(bomb.clone()),
        ),
        ("signed_change", "length-4gb", four_gb.clone()),
        (
            "batch",
            "valid",
            wire::encode_batch(&[valid.encode(), valid.encode()]),
        ),
        (
            "batch",
            "bomb-chunk",
            wire::encode_batch(&[envelope_with_chunk(bomb)]),
        ),
        (
            "batch",
            "zstd-bomb",
            zstd::bulk::compress(&vec![0u8; 100 * MIB], 19).unwrap(),
        ),
        (
            "batch",
            "length-4gb",
            zstd::bulk::compress(&lying_batch, 1).unwrap(),
        ),
        (
            "sync_request",
            "get-changes",
            cbor(&SyncRequest::GetChanges {
                hashes: vec![ByteBuf::from(vec![1u8; 32]); 3],
            }),
        ),
        (
            "sync_request",
            "push",
            cbor(&SyncRequest::Push {
                batch: ByteBuf::from(wire::encode_batch(&[valid.encode()])),
                roster: vec![],
            }),
        ),
        ("sync_request", "huge-array-header", huge_cbor_array()),
        ("sync_response", "hashes-1e6", hashes_1e6),
        ("sync_response", "huge-array-header", huge_cbor_array()),
        (
            "sync_response",
            "refused",
            cbor(&SyncResponse::Refused {
                reason: "not a member".into(),
            }),
        ),
        ("control_request", "status", br#""Status""#.to_vec()),
        ("control_request", "deep", vec![b'['; 100_000]),
        ("roster_entry", "empty-object", b"{}".to_vec()),
        (
            "roster_eval",
            "revoked-admin-fights-back",
            revoked_admin_program(),
        ),
        (
            "roster_eval",
            "every-kind",
            (0u8..48)
                .flat_map(|i| [i, i / 3, i / 2 + 1, i.wrapping_mul(37)])
                .collect(),
        ),
        (
            "member_change",
            "edits-forks-revoked",
            (0u8..96).map(|i| i.wrapping_mul(29) ^ (i >> 2)).collect(),
        ),
    ]
}

/// A `roster_eval` program: founder 0 invites 1 as admin (admitted,
/// witnessed), 1 invites 3; 0 revokes 1's organisation; 1 answers with a
/// revocation of 0 on old dependencies, listing half of what it saw.
fn revoked_admin_program() -> Vec<u8> {
    [
        [0u8, 0, 1, 0x81],
        [2, 1, 0, 0x01],
        [3, 0, 1, 0x01],
        [0, 1, 3, 0x01],
        [2, 3, 0, 0x01],
        [3, 1, 3, 0x01],
        [4, 0, 1, 0x01],
        [4, 1, 0, 0x48],
        [5, 1, 3, 0x04],
        [7, 1, 1, 0x81],
    ]
    .concat()
}

fn cbor<T: serde::Serialize>(v: &T) -> Vec<u8> {
    cbor4ii::serde::to_vec(Vec::new(), v).unwrap()
}

/// `{"Inventory": {"hashes": [<array of 2^32-1 items, none present>]}}`:
/// a length header that must not be trusted for an allocation.
fn huge_cbor_array() -> Vec<u8> {
    let mut v = vec![0xa1, 0x69];
    v.extend_from_slice(b"Inventory");
    v.extend_from_slice(&[0xa1, 0x66]);
    v.extend_from_slice(b"hashes");
    v.push(0x9a);
    v.extend_from_slice(&u32::MAX.to_be_bytes());
    v
}

#[test]
fn every_saved_input_runs_through_its_target() {
    let _g = MEASURE.lock().unwrap_or_else(|e| e.into_inner());
    if std::env::var_os("R2COM_WRITE_CORPUS").is_some() {
        // Inputs over 512 KB (the 1e6-hash response) stay generated only.
        for (target, name, bytes) in generated() {
            if bytes.len() > 512 * 1024 {
                continue;
            }
            let dir = corpus_dir(target);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join(name), bytes).unwrap();
        }
    }
    let mut ran = 0;
    for target in fuzzing::TARGETS {
        let Ok(dir) = std::fs::read_dir(corpus_dir(target)) else {
            continue;
        };
        for f in dir {
            let path = f.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            let peak = peak_during(|| fuzzing::run(target, &bytes));
            assert!(
                peak < 140 * MIB + 4 * bytes.len(),
                "{}: {peak} bytes allocated",
                path.display()
            );
            ran += 1;
        }
    }
    assert!(ran >= 10, "only {ran} corpus files");
}

#[test]
fn known_dangers_are_refused_without_panic_or_big_allocation() {
    let _g = MEASURE.lock().unwrap_or_else(|e| e.into_inner());
    for (target, name, bytes) in generated() {
        let peak = peak_during(|| fuzzing::run(target, &bytes));
        // A batch may take its 64 MiB zstd window plus 64 MiB inflated;
        // everything else stays small.
        let limit = if target == "batch" {
            140 * MIB
        } else {
            8 * MIB
        };
        eprintln!("danger {target}/{name}: peak {} KiB", peak / 1024);
        assert!(
            peak < limit + 4 * bytes.len(),
            "{target}/{name}: peak {peak} bytes"
        );
    }
    let valid = valid_change();
    assert!(valid.verify(&Scope::UNAFFILIATED).is_ok());
    let mut c = valid.change.clone();
    c[8] = 2;
    let env = SignedChange::decode(&envelope_with_chunk(c)).unwrap();
    assert_eq!(
        env.verify(&Scope::UNAFFILIATED).unwrap_err(),
        EnvelopeError::NotAChange
    );
    let bomb = chunk(2, &deflate_zeros(64 * MIB));
    let env = SignedChange::decode(&envelope_with_chunk(bomb)).unwrap();
    let peak = peak_during(|| {
        assert_eq!(
            env.verify(&Scope::UNAFFILIATED).unwrap_err(),
            EnvelopeError::NotAChange
        )
    });
    assert!(peak < MIB, "bomb chunk: peak {peak}");
    // Refused while decoding, at item 65,537 (issue 13, point 7).
    let million = cbor(&SyncResponse::Inventory {
        hashes: vec![ByteBuf::from(vec![7u8; 32]); 1_000_000],
        buckets: ByteBuf::new(),
    });
    let peak = peak_during(|| {
        let err = cbor4ii::serde::from_slice::<SyncResponse>(&million).unwrap_err();
        assert!(err.to_string().contains("longer than 65536"), "{err}");
    });
    assert!(peak < 8 * MIB, "1e6 hashes: peak {peak}");
    let too_many = SyncResponse::Inventory {
        hashes: vec![ByteBuf::from(vec![7u8; 32]); wire::MAX_HASHES + 1],
        buckets: ByteBuf::new(),
    };
    assert_eq!(too_many.check(), Err(WireError::Limit("too many hashes")));
    assert!(cbor4ii::serde::from_slice::<SyncResponse>(&huge_cbor_array()).is_err());
}

/// Issue 13, point 5: a chain of 50,000 junk roster entries (a stranger's,
/// each naming the one before) used to make evaluation keep O(n^2)
/// ancestor sets (gigabytes at 20,000). Now it takes a few MiB.
#[test]
fn a_chain_of_50000_junk_roster_entries_evaluates_in_bounded_memory() {
    use r2com_protocol::roster::{Action, Entry, OrgInfo, Role, Roster, VerifiedEntry};
    // Held for the whole test: building the entries allocates too.
    let _g = MEASURE.lock().unwrap_or_else(|e| e.into_inner());
    let founder = NodeKey::from_seed([1; 32]);
    let stranger = NodeKey::from_seed([2; 32]);
    let g = Entry {
        consortium: String::new(),
        author: founder.public().to_hex(),
        deps: vec![],
        issued_at: "2026-01-01T00:00:00Z".into(),
        action: Action::Genesis {
            name: "RAN".into(),
            org: OrgInfo {
                key: "o0".into(),
                name: "O".into(),
                country: "FR".into(),
            },
        },
    }
    .sign(&founder);
    let cid = g.id();
    let mut entries: Vec<VerifiedEntry> = vec![g.verify(None).unwrap()];
    let mut prev = cid;
    for i in 0..50_000 {
        let e = Entry {
            consortium: cid.to_hex(),
            author: stranger.public().to_hex(),
            deps: vec![prev.to_hex()],
            issued_at: "2026-01-01T00:00:00Z".into(),
            action: Action::SetRole {
                org: format!("x{i}"),
                role: Role::Admin,
            },
        }
        .sign(&stranger);
        prev = e.id();
        entries.push(e.verify(Some(&cid)).unwrap());
    }
    let started = std::time::Instant::now();
    let mut accepted = 0;
    let peak = peak_during(|| accepted = Roster::evaluate(&cid, &entries).accepted.len());
    eprintln!(
        "50,000 junk entries: evaluated in {:?}, peak {} KiB",
        started.elapsed(),
        peak / 1024
    );
    assert_eq!(accepted, 1, "only the genesis is kept");
    assert!(peak < 64 * MIB, "peak {peak} bytes");
}
