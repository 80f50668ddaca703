//! The bodies of the fuzz targets (`fuzz/fuzz_targets/*.rs`), here so that
//! the regression tests (`protocol/tests/fuzz_regressions.rs`, run by the
//! normal `cargo test`) feed saved inputs through exactly the same code.
//!
//! Each body takes arbitrary bytes, runs one decoder that peer or
//! local-socket bytes reach, and must return without panicking or
//! allocating more than the decoder's limits allow. Errors are fine.

mod roster;

pub use roster::{member_change, roster_eval};

use crate::control::Request;
use crate::envelope::{DocChunk, Scope, SignedChange};
use crate::roster::{ConsortiumId, EntryId, Roster, SignedEntry};
use crate::wire::{self, SyncRequest, SyncResponse};

/// The names of the targets, as in `fuzz/Cargo.toml` and the corpus dirs.
pub const TARGETS: &[&str] = &[
    "signed_change",
    "roster_entry",
    "sync_request",
    "sync_response",
    "batch",
    "control_request",
    "roster_eval",
    "member_change",
    "doc_chunk",
];

/// Run the target `name` on `data`. Panics on an unknown name.
pub fn run(name: &str, data: &[u8]) {
    match name {
        "signed_change" => signed_change(data),
        "roster_entry" => roster_entry(data),
        "sync_request" => sync_request(data),
        "sync_response" => sync_response(data),
        "batch" => batch(data),
        "control_request" => control_request(data),
        "roster_eval" => roster_eval(data),
        "member_change" => member_change(data),
        "doc_chunk" => doc_chunk(data),
        other => panic!("no fuzz target {other}"),
    }
}

/// A signed change envelope from a peer: decode, then verify (chunk type,
/// automerge parse with panics contained, strict signature).
pub fn signed_change(data: &[u8]) {
    if let Ok(sc) = SignedChange::decode(data) {
        let _ = sc.verify(&Scope::UNAFFILIATED);
        let _ = sc.verify(&Scope([7; 32]));
        // A decoded envelope encodes back to the same bytes.
        assert_eq!(SignedChange::decode(&sc.encode()).as_ref(), Ok(&sc));
    }
}

/// A whole document from a peer in a clone: decode, then verify (bounded
/// walk of the document before automerge loads it, the changes exactly
/// the signed ones, strict signatures).
pub fn doc_chunk(data: &[u8]) {
    if let Ok(c) = DocChunk::decode(data) {
        assert_eq!(DocChunk::decode(&c.encode()).as_ref(), Ok(&c));
        let _ = c.clone().verify(&Scope::UNAFFILIATED);
        let _ = c.verify(&Scope([7; 32]));
    }
}

/// Roster entries (and invite tokens, which carry one): decode, verify,
/// and evaluate a roster over whatever verified (each entry also tried as
/// the genesis). The input may hold several entries separated by newlines.
pub fn roster_entry(data: &[u8]) {
    let mut verified = Vec::new();
    for part in data.split(|b| *b == b'\n').take(8) {
        let Ok(se) = SignedEntry::decode(part) else {
            continue;
        };
        let _ = se.id();
        if let Ok(v) = se.verify(None) {
            verified.push(v);
        }
        let some: ConsortiumId = EntryId([1; 32]);
        if let Ok(v) = se.verify(Some(&some)) {
            verified.push(v);
        }
    }
    let candidates: Vec<EntryId> = verified.iter().map(|v| v.id).collect();
    for c in candidates.iter().take(2) {
        let _ = Roster::evaluate(c, &verified);
    }
}

/// A sync request as the `/r2com/sync/1` cbor codec decodes it, then its
/// limits.
pub fn sync_request(data: &[u8]) {
    if let Ok(r) = cbor4ii::serde::from_slice::<SyncRequest>(data) {
        let _ = r.check();
    }
}

/// A sync response as the codec decodes it, then its limits.
pub fn sync_response(data: &[u8]) {
    if let Ok(r) = cbor4ii::serde::from_slice::<SyncResponse>(data) {
        let _ = r.check();
    }
}

/// A compressed batch of envelopes: bounded inflate, split, and each
/// envelope decoded and verified.
pub fn batch(data: &[u8]) {
    if let Ok(envs) = wire::decode_batch(data) {
        for e in envs.iter().take(16) {
            signed_change(e);
        }
    }
}

/// A control API request (JSON from the local socket).
pub fn control_request(data: &[u8]) {
    let _ = serde_json::from_slice::<Request>(data);
}
