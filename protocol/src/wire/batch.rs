//! Batches of change envelopes as they travel: length-prefixed and
//! zstd-compressed, inflated by the receiver with a hard bound.

use super::{WireError, MAX_BATCH_INFLATED, MAX_RESPONSE_BYTES, RESPONSE_MARGIN};

/// Length-prefix the envelopes and compress them (zstd).
pub fn encode_batch(envelopes: &[Vec<u8>]) -> Vec<u8> {
    let mut raw = Vec::with_capacity(envelopes.iter().map(|e| e.len() + 4).sum());
    for e in envelopes {
        raw.extend_from_slice(&(e.len() as u32).to_be_bytes());
        raw.extend_from_slice(e);
    }
    // Level 9: a clone's 17 MB of changes travel as about 3.7 MB, and
    // compressing costs the sender ~25 MB/s-per-core, off the receiver's
    // critical path (the receiver applies one batch while the next comes).
    // Small pushes (one edit) are not worth level 9's setup cost.
    let level = if raw.len() < 64 * 1024 { 1 } else { 9 };
    COMPRESSOR.with(|c| {
        let mut c = c.borrow_mut();
        let c = c.get_or_insert_with(|| {
            zstd::bulk::Compressor::new(level).expect("a zstd context for a valid level")
        });
        c.set_compression_level(level)
            .and_then(|()| c.compress(&raw))
            .expect("zstd compresses in memory")
    })
}

thread_local! {
    // One context per thread: making one (which runs CPUID, a trap on a
    // virtual machine) costs more than compressing a push of one edit.
    static COMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Compressor<'static>>> =
        const { std::cell::RefCell::new(None) };
}

/// The largest prefix of `envelopes` whose encoded batch fits a response
/// ([`MAX_RESPONSE_BYTES`] less [`RESPONSE_MARGIN`]), encoded; at least
/// one envelope (one always fits: [`crate::envelope::MAX_ENVELOPE_LEN`] is
/// far below the limit). Halves the prefix until it fits, so incompressible
/// envelopes cost a few encodings, never an oversized answer.
pub fn fit_batch(envelopes: &[Vec<u8>]) -> Vec<u8> {
    let limit = MAX_RESPONSE_BYTES as usize - RESPONSE_MARGIN;
    let mut n = envelopes.len();
    loop {
        let batch = encode_batch(&envelopes[..n]);
        if batch.len() <= limit || n <= 1 {
            return batch;
        }
        n /= 2;
    }
}

/// Inflate a batch with a hard bound and split it into envelopes.
pub fn decode_batch(batch: &[u8]) -> Result<Vec<Vec<u8>>, WireError> {
    decode_items(batch, crate::envelope::MAX_ENVELOPE_LEN)
}

/// Inflate a batch of document chunks with a hard bound and split it.
pub fn decode_doc_batch(batch: &[u8]) -> Result<Vec<Vec<u8>>, WireError> {
    decode_items(batch, crate::envelope::MAX_DOC_CHUNK_LEN)
}

fn decode_items(batch: &[u8], max_item: usize) -> Result<Vec<Vec<u8>>, WireError> {
    use std::io::Read;
    if batch.is_empty() {
        return Ok(Vec::new());
    }
    let mut decoder =
        zstd::stream::read::Decoder::new(batch).map_err(|e| WireError::Batch(e.to_string()))?;
    // The frame's window (allocated up front, up to the declared content
    // size) may not exceed the inflated bound either.
    decoder
        .window_log_max(MAX_BATCH_INFLATED.ilog2())
        .map_err(|e| WireError::Batch(e.to_string()))?;
    // Inflate chunk by chunk and refuse before the buffer would pass the
    // bound (`read_to_end` would double its capacity to twice the bound).
    let mut raw = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = decoder
            .read(&mut chunk)
            .map_err(|e| WireError::Batch(e.to_string()))?;
        if n == 0 {
            break;
        }
        if (raw.len() + n) as u64 > MAX_BATCH_INFLATED {
            return Err(WireError::Limit("batch inflates beyond its limit"));
        }
        raw.extend_from_slice(&chunk[..n]);
    }
    let mut out = Vec::new();
    let mut rest = &raw[..];
    while !rest.is_empty() {
        if rest.len() < 4 {
            return Err(WireError::Batch("truncated length".into()));
        }
        let n = u32::from_be_bytes(rest[..4].try_into().expect("4 bytes")) as usize;
        rest = &rest[4..];
        if n > max_item || n > rest.len() {
            return Err(WireError::Batch("item length out of bounds".into()));
        }
        out.push(rest[..n].to_vec());
        rest = &rest[n..];
    }
    Ok(out)
}
