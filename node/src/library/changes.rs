//! How a document's signed changes are stored, and the rule that keeps
//! them readable.
//!
//! `c\0{doc}\0{hash}` holds each change of a document in one of two forms:
//!
//! - **whole**: the signed envelope ([`SignedChange::encode`]);
//! - **detached**: the signature and what readers need without the
//!   document (author, sequence number, time, dependencies). The change's
//!   bytes are those of the document's snapshot (`s\0{doc}`), the source
//!   of truth for them: a change is not kept twice.
//!
//! The rule every writer keeps: **a detached change is in its document's
//! stored snapshot.** A change is stored detached when the batch that
//! stores it also writes a snapshot holding it ([`change_write`]); a change
//! waiting for a dependency, a document without snapshot and stores
//! written before stay whole. A batch that drops a document's snapshot, or
//! replaces it with one lacking some of its changes (a retraction), writes
//! those changes whole again ([`reform_writes`], with their bytes read
//! before the old snapshot goes); one whose new snapshot holds changes that
//! waited until now detaches them.
//!
//! Reading goes through `changes_read` (whole envelopes, detached changes
//! rebuilt from the snapshot) or [`Stored::decode`] for what an entry
//! itself says.

use automerge::{AutoCommit, Change};

use r2com_protocol::envelope::{parse_change, DocChange, SignedChange};
use r2com_protocol::identity::{Signature, SIGNATURE_LEN};

use crate::store::{keys, Write};

/// First byte of a detached entry (a whole envelope starts with its
/// version, 1).
const DETACHED: u8 = 0xDE;
/// Most dependencies a detached entry may list (a change has one or two).
const MAX_DEPS: usize = 65_536;

/// What a detached entry keeps of its change besides the signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Meta {
    pub(crate) author: [u8; 32],
    pub(crate) seq: u64,
    /// Milliseconds since the epoch, as its author's node gave it.
    pub(crate) time: i64,
    pub(crate) deps: Vec<[u8; 32]>,
}

impl Meta {
    /// `None` if the change's actor is not a 32-byte key (never so for a
    /// verified change).
    pub(crate) fn of(change: &Change) -> Option<Meta> {
        Some(Meta {
            author: change.actor_id().to_bytes().try_into().ok()?,
            seq: change.seq(),
            time: change.timestamp(),
            deps: change.deps().iter().map(|h| h.0).collect(),
        })
    }
}

/// A stored change as its entry holds it.
#[derive(Clone, Debug)]
pub(crate) enum Stored {
    Whole(SignedChange),
    Detached { signature: Signature, meta: Meta },
}

impl Stored {
    /// Decode an entry's value (never trusting a length field).
    pub(crate) fn decode(bytes: &[u8]) -> Result<Stored, String> {
        if bytes.first() != Some(&DETACHED) {
            return SignedChange::decode(bytes)
                .map(Stored::Whole)
                .map_err(|e| e.to_string());
        }
        let mut r = &bytes[1..];
        let mut take = |n: usize| -> Result<&[u8], String> {
            if r.len() < n {
                return Err("detached change entry is truncated".into());
            }
            let (head, tail) = r.split_at(n);
            r = tail;
            Ok(head)
        };
        let signature = Signature(take(SIGNATURE_LEN)?.try_into().expect("64 bytes"));
        let author = take(32)?.try_into().expect("32 bytes");
        let seq = u64::from_be_bytes(take(8)?.try_into().expect("8 bytes"));
        let time = i64::from_be_bytes(take(8)?.try_into().expect("8 bytes"));
        let n = u32::from_be_bytes(take(4)?.try_into().expect("4 bytes")) as usize;
        if n > MAX_DEPS {
            return Err("detached change entry lists too many dependencies".into());
        }
        let mut deps = Vec::with_capacity(n.min(64));
        for _ in 0..n {
            deps.push(take(32)?.try_into().expect("32 bytes"));
        }
        if !r.is_empty() {
            return Err("detached change entry has trailing bytes".into());
        }
        Ok(Stored::Detached {
            signature,
            meta: Meta {
                author,
                seq,
                time,
                deps,
            },
        })
    }

    pub(crate) fn signature(&self) -> &Signature {
        match self {
            Stored::Whole(sc) => &sc.signature,
            Stored::Detached { signature, .. } => signature,
        }
    }

    /// The change's author, sequence number, time and dependencies (a
    /// whole envelope's change is parsed for them).
    pub(crate) fn meta(&self) -> Result<Meta, String> {
        match self {
            Stored::Whole(sc) => {
                let change = parse_change(&sc.change).map_err(|e| e.to_string())?;
                Meta::of(&change).ok_or_else(|| "change author is not a key".to_owned())
            }
            Stored::Detached { meta, .. } => Ok(meta.clone()),
        }
    }
}

/// The value of a detached entry.
fn detached_value(signature: &Signature, meta: &Meta) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + SIGNATURE_LEN + 32 + 8 + 8 + 4 + 32 * meta.deps.len());
    out.push(DETACHED);
    out.extend_from_slice(&signature.0);
    out.extend_from_slice(&meta.author);
    out.extend_from_slice(&meta.seq.to_be_bytes());
    out.extend_from_slice(&meta.time.to_be_bytes());
    out.extend_from_slice(&(meta.deps.len() as u32).to_be_bytes());
    for d in &meta.deps {
        out.extend_from_slice(d);
    }
    out
}

/// The write storing a signed change of document `key`: detached if
/// `in_snapshot` (the snapshot the same batch writes holds it), else the
/// envelope whole. The one place the form is decided.
pub(crate) fn change_write(
    key: &str,
    signed: &SignedChange,
    change: &Change,
    in_snapshot: bool,
) -> Write {
    let value = match Meta::of(change).filter(|_| in_snapshot) {
        Some(meta) => detached_value(&signed.signature, &meta),
        None => signed.encode(),
    };
    (keys::change(key, &change.hash().0), Some(value))
}

/// The write storing, detached, a change of a whole document received in
/// a clone (the snapshot the same batch writes holds it): its signature as
/// received, the rest as verified (from its header or the document).
pub(crate) fn detached_write(key: &str, c: &DocChange) -> Write {
    let meta = Meta {
        author: c.author.to_bytes(),
        seq: c.seq,
        time: c.time,
        deps: c.deps.iter().map(|h| h.0).collect(),
    };
    (
        keys::change(key, &c.hash.0),
        Some(detached_value(&c.signature, &meta)),
    )
}

/// A change read back whole (see `changes_read`).
pub(crate) struct ReadChange {
    pub(crate) hash: [u8; 32],
    pub(crate) signed: SignedChange,
    pub(crate) change: Change,
    /// Stored detached: its bytes are the snapshot's.
    pub(crate) detached: bool,
}

/// The writes that put the stored changes `entries` of document `key` (read
/// whole before this batch) into the form the batch's snapshot calls for:
/// `d` is the document whose snapshot the batch writes if
/// `snapshot_written`. A change the snapshot holds becomes detached, any
/// other whole; entries already in their form are not written.
pub(crate) fn reform_writes(
    key: &str,
    entries: &[ReadChange],
    d: &mut AutoCommit,
    snapshot_written: bool,
) -> Vec<Write> {
    let mut writes = Vec::new();
    for e in entries {
        let held = snapshot_written
            && d.get_change_meta_by_hash(&automerge::ChangeHash(e.hash))
                .is_some();
        if held != e.detached {
            writes.push(change_write(key, &e.signed, &e.change, held));
        }
    }
    writes
}
