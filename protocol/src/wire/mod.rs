//! Sync wire messages between member nodes (`/r2com/sync/1`, CBOR over a
//! libp2p request-response stream), and their limits.
//!
//! Sync is pull-based set reconciliation over change hashes: a node asks a
//! peer for its summary (roster entry ids, one digest over every change
//! hash); if the digests differ it compares 256 bucket digests (changes
//! bucketed by the first byte of their hash), fetches the hash lists of the
//! differing buckets, and requests exactly the changes it lacks. New local
//! changes are pushed to connected peers as they happen, so one edit costs
//! about its own size. Changes travel as signed envelopes, zstd-compressed
//! in batches that the receiver inflates with a hard bound.
//!
//! A node with no changes at all (a clone) asks a peer that serves them
//! (its summary says `revision` 2 or more) for whole documents instead
//! (`GetDocs`, by document bucket, [`doc_bucket`]): each a saved document
//! with its changes' signatures ([`crate::envelope::DocChunk`]), loaded
//! far faster than its changes are applied; a round of the change path
//! then fetches whatever the documents left out. Older peers never see
//! `GetDocs`. A peer of revision 4 or 2 is asked for chunk version 1
//! (signatures only): the asker checks them against the changes automerge
//! hashed when loading the document, and stores them beside it, so no
//! change's bytes travel or are rebuilt on either side. A peer of revision
//! 3 is asked for the changes' envelopes (`envelopes`: chunk version 2),
//! as that revision asked itself: its version 1 answers did not leave out
//! a document whose stored changes are not exactly its snapshot's (one
//! waiting for a dependency), which the asker would refuse as invalid.
//! Every revision from 3 on still answers `envelopes` with version 2.
//!
//! Every list has a maximum length checked by [`SyncRequest::check`] /
//! [`SyncResponse::check`] after decoding (the codec bounds the bytes).

mod batch;
#[cfg(test)]
mod tests;

pub use batch::{decode_batch, decode_doc_batch, encode_batch, fit_batch};

use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

/// Protocol name.
pub const PROTOCOL: &str = "/r2com/sync/1";
/// Largest request on the wire.
pub const MAX_REQUEST_BYTES: u64 = 8 * 1024 * 1024;
/// Largest response on the wire.
pub const MAX_RESPONSE_BYTES: u64 = 16 * 1024 * 1024;
/// Largest batch of envelopes after decompression.
pub const MAX_BATCH_INFLATED: u64 = 64 * 1024 * 1024;
/// Most hashes in one inventory or change request.
pub const MAX_HASHES: usize = 65_536;
/// Most changes fetched per request.
pub const MAX_CHANGES_PER_REQUEST: usize = 2048;
/// Most roster entries in one message.
pub const MAX_ENTRIES: usize = 4096;
/// Buckets of the change-hash reconciliation.
pub const BUCKETS: usize = 256;
/// Buckets asked for in one `GetBuckets` request.
pub const BUCKETS_PER_REQUEST: usize = 32;
/// Raw bytes of envelopes a `GetBuckets` or `GetChanges` answer collects
/// at most before compressing; what does not fit is left for the next
/// round. The compressed answer is then cut to fit [`MAX_RESPONSE_BYTES`]
/// ([`fit_batch`]), so an honest peer's answer is never oversized.
pub const MAX_BUCKET_BATCH: usize = 48 * 1024 * 1024;
/// Room left in a response for everything around its batch or entries.
pub const RESPONSE_MARGIN: usize = 64 * 1024;
/// The sync revision of this node: 2 answers `GetDocs`, 3 also with the
/// changes' envelopes when asked (`envelopes`), 4 leaves out of a version
/// 1 answer any document whose stored changes are not exactly those of
/// its snapshot (as version 2 answers always did).
pub const REVISION: u32 = 4;
/// The first revision that answers `GetDocs`.
pub const REVISION_WHOLE_DOCS: u32 = 2;
/// The first revision that answers `GetDocs` with envelopes when asked.
pub const REVISION_DOC_ENVELOPES: u32 = 3;
/// The first revision whose version 1 `GetDocs` answers hold exactly
/// the documents' changes: asked for signatures only.
pub const REVISION_EXACT_SIGNATURES: u32 = 4;

/// The digest of an empty bucket (SHA-256 of nothing).
pub const EMPTY_BUCKET: [u8; 32] = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

/// What a peer asks.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum SyncRequest {
    /// Roster entry ids and the digest of all change hashes of the asker.
    Summary {
        #[serde(deserialize_with = "bounded_list")]
        roster: Vec<ByteBuf>,
        digest: ByteBuf,
    },
    /// The 256 bucket digests.
    Buckets,
    /// Every change hash in these buckets.
    Inventory { buckets: ByteBuf },
    /// These changes (signed envelopes).
    GetChanges {
        #[serde(deserialize_with = "bounded_list")]
        hashes: Vec<ByteBuf>,
    },
    /// Every change in these buckets (for buckets the asker has none of,
    /// e.g. in a clone: no hash lists travel either way).
    GetBuckets { buckets: ByteBuf },
    /// Every document in these document buckets ([`doc_bucket`]) whole,
    /// as far as a response holds (revision 2; a clone). With `envelopes`
    /// (revision 3 and up; absent, so false, from older nodes, and only
    /// sent to a peer of revision 3): with every change's envelope (chunk
    /// version 2).
    GetDocs {
        buckets: ByteBuf,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        envelopes: bool,
    },
    /// These roster entries.
    GetRoster {
        #[serde(deserialize_with = "bounded_list")]
        ids: Vec<ByteBuf>,
    },
    /// New changes and roster entries, pushed as they happen. `batch` is a
    /// compressed batch of envelopes (see [`encode_batch`]).
    Push {
        batch: ByteBuf,
        #[serde(deserialize_with = "bounded_list")]
        roster: Vec<ByteBuf>,
    },
    /// An invitee hands in its invite and admission (JSON entries).
    Admit {
        #[serde(deserialize_with = "bounded_list")]
        entries: Vec<ByteBuf>,
    },
}

/// What a peer answers.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum SyncResponse {
    Summary {
        #[serde(deserialize_with = "bounded_list")]
        roster: Vec<ByteBuf>,
        digest: ByteBuf,
        /// The responder's sync revision ([`REVISION`]); absent (0) from
        /// a node before revision 2.
        #[serde(default)]
        revision: u32,
    },
    Buckets {
        #[serde(deserialize_with = "bounded_list")]
        digests: Vec<ByteBuf>,
    },
    /// The change hashes of the asked buckets, whole buckets in the
    /// order asked, as many as [`MAX_HASHES`] allows (at least the first).
    /// `buckets` names the buckets covered, a prefix of those asked; the
    /// asker asks again for the rest. Empty (a node before this field):
    /// all of them.
    Inventory {
        #[serde(deserialize_with = "bounded_list")]
        hashes: Vec<ByteBuf>,
        #[serde(default)]
        buckets: ByteBuf,
    },
    /// A compressed batch of envelopes.
    Changes { batch: ByteBuf },
    /// A compressed batch of encoded [`crate::envelope::DocChunk`]s.
    Docs { batch: ByteBuf },
    /// Roster entries (JSON, as stored).
    Roster {
        #[serde(deserialize_with = "bounded_list")]
        entries: Vec<ByteBuf>,
    },
    /// Push accepted: how many changes were new, and whether some wait for
    /// missing dependencies (then the pusher's peer should pull).
    Ack { applied: u64, missing_deps: bool },
    /// Not served (not a member, invalid data). Says why.
    Refused { reason: String },
}

/// Why a message breaks the protocol. The peer that sent it is
/// disconnected.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WireError {
    #[error("{0}")]
    Limit(&'static str),
    #[error("malformed batch: {0}")]
    Batch(String),
}

/// Decode a list of byte strings, refusing it as soon as it holds more
/// than [`MAX_HASHES`] items, the longest list any message may carry
/// ([`SyncRequest::check`] and [`SyncResponse::check`] then apply each
/// field's own bound). Serde's `Vec` would decode every item first: an
/// 8 MiB request of empty byte strings is 8 million items, about 200 MB,
/// before a check could refuse it. With this bound a decoded message holds
/// at most its own bytes plus 1.5 MiB of list.
fn bounded_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<ByteBuf>, D::Error> {
    struct Bounded;
    impl<'de> serde::de::Visitor<'de> for Bounded {
        type Value = Vec<ByteBuf>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            write!(f, "a list of at most {MAX_HASHES} byte strings")
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Self::Value, A::Error> {
            let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
            while let Some(item) = seq.next_element::<ByteBuf>()? {
                if items.len() == MAX_HASHES {
                    return Err(serde::de::Error::custom(format!(
                        "a list longer than {MAX_HASHES} items"
                    )));
                }
                items.push(item);
            }
            Ok(items)
        }
    }
    d.deserialize_seq(Bounded)
}

/// The document bucket of a document (by its key): the first byte of the
/// key's SHA-256.
pub fn doc_bucket(doc_key: &str) -> u8 {
    use sha2::Digest;
    sha2::Sha256::digest(doc_key.as_bytes())[0]
}

fn hashes_ok(v: &[ByteBuf], max: usize) -> Result<(), WireError> {
    if v.len() > max {
        return Err(WireError::Limit("too many hashes"));
    }
    if v.iter().any(|h| h.len() != 32) {
        return Err(WireError::Limit("a hash is not 32 bytes"));
    }
    Ok(())
}

fn entries_ok(v: &[ByteBuf]) -> Result<(), WireError> {
    if v.len() > MAX_ENTRIES {
        return Err(WireError::Limit("too many roster entries"));
    }
    Ok(())
}

impl SyncRequest {
    /// The message's name, for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            SyncRequest::Summary { .. } => "summary",
            SyncRequest::Buckets => "buckets",
            SyncRequest::Inventory { .. } => "inventory",
            SyncRequest::GetChanges { .. } => "get-changes",
            SyncRequest::GetBuckets { .. } => "get-buckets",
            SyncRequest::GetDocs { .. } => "get-docs",
            SyncRequest::GetRoster { .. } => "get-roster",
            SyncRequest::Push { .. } => "push",
            SyncRequest::Admit { .. } => "admit",
        }
    }

    /// About the bytes this takes on the wire (for the per-peer counters).
    pub fn approx_len(&self) -> u64 {
        16 + match self {
            SyncRequest::Summary { roster, .. } => 32 + 33 * roster.len() as u64,
            SyncRequest::Buckets => 0,
            SyncRequest::Inventory { buckets } => buckets.len() as u64,
            SyncRequest::GetChanges { hashes } => 33 * hashes.len() as u64,
            SyncRequest::GetBuckets { buckets } | SyncRequest::GetDocs { buckets, .. } => {
                buckets.len() as u64
            }
            SyncRequest::GetRoster { ids } => 33 * ids.len() as u64,
            SyncRequest::Push { batch, roster } => {
                batch.len() as u64 + roster.iter().map(|e| e.len() as u64).sum::<u64>()
            }
            SyncRequest::Admit { entries } => entries.iter().map(|e| e.len() as u64).sum(),
        }
    }

    /// Check list lengths and field sizes.
    pub fn check(&self) -> Result<(), WireError> {
        match self {
            SyncRequest::Summary { roster, digest } => {
                hashes_ok(roster, MAX_ENTRIES)?;
                if digest.len() != 32 {
                    return Err(WireError::Limit("digest is not 32 bytes"));
                }
                Ok(())
            }
            SyncRequest::Buckets => Ok(()),
            SyncRequest::Inventory { buckets } => {
                if buckets.len() > BUCKETS {
                    return Err(WireError::Limit("too many buckets"));
                }
                Ok(())
            }
            SyncRequest::GetChanges { hashes } => hashes_ok(hashes, MAX_CHANGES_PER_REQUEST),
            SyncRequest::GetBuckets { buckets } | SyncRequest::GetDocs { buckets, .. } => {
                if buckets.len() > BUCKETS {
                    return Err(WireError::Limit("too many buckets"));
                }
                Ok(())
            }
            SyncRequest::GetRoster { ids } => hashes_ok(ids, MAX_ENTRIES),
            SyncRequest::Push { roster, .. } => entries_ok(roster),
            SyncRequest::Admit { entries } => {
                if entries.len() > 8 {
                    return Err(WireError::Limit("an admission is a few entries"));
                }
                Ok(())
            }
        }
    }
}

impl SyncResponse {
    /// The message's name, for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            SyncResponse::Summary { .. } => "summary",
            SyncResponse::Buckets { .. } => "buckets",
            SyncResponse::Inventory { .. } => "inventory",
            SyncResponse::Changes { .. } => "changes",
            SyncResponse::Docs { .. } => "docs",
            SyncResponse::Roster { .. } => "roster",
            SyncResponse::Ack { .. } => "ack",
            SyncResponse::Refused { .. } => "refused",
        }
    }

    /// About the bytes this takes on the wire (for the per-peer counters).
    pub fn approx_len(&self) -> u64 {
        16 + match self {
            SyncResponse::Summary { roster, .. } => 32 + 33 * roster.len() as u64,
            SyncResponse::Buckets { digests } => 33 * digests.len() as u64,
            SyncResponse::Inventory { hashes, buckets } => {
                33 * hashes.len() as u64 + buckets.len() as u64
            }
            SyncResponse::Changes { batch } | SyncResponse::Docs { batch } => batch.len() as u64,
            SyncResponse::Roster { entries } => entries.iter().map(|e| e.len() as u64).sum(),
            SyncResponse::Ack { .. } => 8,
            SyncResponse::Refused { reason } => reason.len() as u64,
        }
    }

    /// Check list lengths and field sizes.
    pub fn check(&self) -> Result<(), WireError> {
        match self {
            SyncResponse::Summary { roster, digest, .. } => {
                hashes_ok(roster, MAX_ENTRIES)?;
                if digest.len() != 32 {
                    return Err(WireError::Limit("digest is not 32 bytes"));
                }
                Ok(())
            }
            SyncResponse::Buckets { digests } => {
                if digests.len() != BUCKETS || digests.iter().any(|d| d.len() != 32) {
                    return Err(WireError::Limit("bucket digests"));
                }
                Ok(())
            }
            SyncResponse::Inventory { hashes, buckets } => {
                if buckets.len() > BUCKETS {
                    return Err(WireError::Limit("too many buckets"));
                }
                hashes_ok(hashes, MAX_HASHES)
            }
            SyncResponse::Roster { entries } => entries_ok(entries),
            SyncResponse::Changes { .. } | SyncResponse::Docs { .. } | SyncResponse::Ack { .. } => {
                Ok(())
            }
            SyncResponse::Refused { reason } => {
                if reason.len() > 4096 {
                    return Err(WireError::Limit("reason too long"));
                }
                Ok(())
            }
        }
    }
}
