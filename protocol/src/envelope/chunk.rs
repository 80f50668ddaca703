//! Change chunks from untrusted bytes: the size, the chunk type and the
//! lengths of the strings inside are checked before automerge's parser
//! sees the bytes, and a panic in that parser is contained.

use std::panic::{catch_unwind, AssertUnwindSafe};

use automerge::{Change, ChangeHash};
use sha2::{Digest, Sha256};

use super::{EnvelopeError, MAX_CHANGE_LEN};

/// automerge's chunk magic bytes and the type of an uncompressed change.
pub(super) const AUTOMERGE_MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
pub(super) const CHUNK_TYPE_CHANGE: u8 = 1;

/// Parse an automerge change chunk from untrusted bytes: size and chunk type
/// first, then automerge's parser with any panic contained.
pub fn parse_change(bytes: &[u8]) -> Result<Change, EnvelopeError> {
    if bytes.len() > MAX_CHANGE_LEN {
        return Err(EnvelopeError::Malformed("change chunk too large"));
    }
    if bytes.len() < 10 || bytes[..4] != AUTOMERGE_MAGIC || bytes[8] != CHUNK_TYPE_CHANGE {
        return Err(EnvelopeError::NotAChange);
    }
    if !strings_fit_their_columns(bytes) {
        return Err(EnvelopeError::Parse(
            "a string runs past the end of its column".into(),
        ));
    }
    match catch_unwind(AssertUnwindSafe(|| Change::try_from(bytes))) {
        // automerge does not check the header checksum (the first four bytes
        // of the change hash); a chunk whose header lies is refused.
        Ok(Ok(change)) if change.hash().0[..4] == bytes[4..8] => Ok(change),
        Ok(Ok(_)) => Err(EnvelopeError::Parse("chunk checksum does not match".into())),
        Ok(Err(e)) => Err(EnvelopeError::Parse(e.to_string())),
        Err(_) => Err(EnvelopeError::Parse("automerge panicked".into())),
    }
}

/// What a change chunk's header says, with the chunk's hash: what the
/// roster judges a change by, read without automerge's parser.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeHeader {
    /// SHA-256 of the chunk type, length and data, as automerge computes it.
    pub hash: ChangeHash,
    /// The actor id (an author's public key, if well-formed).
    pub actor: Vec<u8>,
    pub seq: u64,
    /// Milliseconds since the epoch, as the author's node gave it.
    pub time: i64,
    pub deps: Vec<ChangeHash>,
}

/// Read an uncompressed change chunk's header and compute its hash,
/// without automerge: the checks [`parse_change`] makes before automerge
/// sees the bytes (size, chunk type, every string fits its column), plus
/// those automerge's parser would make of the frame: exactly one chunk
/// (its length as automerge writes it, nothing after it) whose checksum
/// is the start of its hash. A clone uses this for changes a loaded
/// document already proved well-formed ([`super::DocChunk::verify`]).
pub fn change_header(bytes: &[u8]) -> Result<ChangeHeader, EnvelopeError> {
    if bytes.len() > MAX_CHANGE_LEN {
        return Err(EnvelopeError::Malformed("change chunk too large"));
    }
    if bytes.len() < 10 || bytes[..4] != AUTOMERGE_MAGIC || bytes[8] != CHUNK_TYPE_CHANGE {
        return Err(EnvelopeError::NotAChange);
    }
    let bad = |why: &str| EnvelopeError::Parse(why.into());
    let mut r = &bytes[9..];
    let len = leb128::read::unsigned(&mut r).map_err(|_| bad("no chunk length"))?;
    if len != r.len() as u64 {
        return Err(bad("the chunk length is not the chunk's"));
    }
    // automerge hashes the length as it writes it: a padded length would
    // give these bytes a hash of other bytes.
    let mut framed = vec![CHUNK_TYPE_CHANGE];
    leb128::write::unsigned(&mut framed, len).expect("writing to a Vec");
    if framed[1..] != bytes[9..bytes.len() - r.len()] {
        return Err(bad(
            "the chunk length is not written as automerge writes it",
        ));
    }
    let hash: [u8; 32] = Sha256::new()
        .chain_update(&framed)
        .chain_update(r)
        .finalize()
        .into();
    if hash[..4] != bytes[4..8] {
        return Err(bad("chunk checksum does not match"));
    }
    match walk_change(bytes) {
        Some((header, true)) => Ok(ChangeHeader {
            hash: ChangeHash(hash),
            ..header
        }),
        Some((_, false)) => Err(bad("a string runs past the end of its column")),
        None => Err(bad("the change header does not parse")),
    }
}

/// automerge 0.12 reads a string of a change's op columns (keys, mark
/// names) by allocating the length its prefix claims, up to 1e9 bytes,
/// *before* it checks that the column holds that many bytes: a 200-byte
/// change made it allocate 934 MiB (fuzz target `signed_change`, regression
/// input `protocol/tests/fuzz-corpus/signed_change/oom-string-length`).
/// So walk the chunk as automerge will (header, then every string column,
/// type 5, the way its `RleDecoder<SmolStr>` reads it, with the same LEB128
/// decoding) and refuse a string whose length runs past its column. A chunk
/// whose header this walk cannot follow is refused as well: automerge would
/// refuse it too, or it uses encodings automerge's writer never produces.
pub(super) fn strings_fit_their_columns(chunk: &[u8]) -> bool {
    matches!(walk_change(chunk), Some((_, true)))
}

/// Walk a change chunk's header and columns: the header (hash left zero)
/// and whether every string fits its column; `None` if the walk cannot
/// follow it.
fn walk_change(chunk: &[u8]) -> Option<(ChangeHeader, bool)> {
    fn uleb(r: &mut &[u8]) -> Option<u64> {
        leb128::read::unsigned(r).ok()
    }
    fn take<'a>(r: &mut &'a [u8], n: u64) -> Option<&'a [u8]> {
        let n = usize::try_from(n).ok().filter(|n| *n <= r.len())?;
        let (head, rest) = r.split_at(n);
        *r = rest;
        Some(head)
    }
    /// One string column: runs of a signed count, then one string
    /// (count > 0), -count strings (count < 0) or a null count (0). Where
    /// automerge's read would fail the walk stops: nothing was allocated.
    fn column_fits(mut col: &[u8]) -> bool {
        let r = &mut col;
        while !r.is_empty() {
            let Ok(count) = leb128::read::signed(r) else {
                return true;
            };
            let strings = match count {
                1.. => 1,
                ..0 => count.unsigned_abs(),
                0 => match uleb(r) {
                    Some(_) => 0,
                    None => return true,
                },
            };
            // Each string takes at least one byte: bounded by the column.
            for _ in 0..strings {
                let Some(len) = uleb(r) else {
                    return true;
                };
                if take(r, len).is_none() {
                    return false;
                }
            }
        }
        true
    }
    // magic, checksum, chunk type; then the chunk length and its data.
    let mut r = chunk.get(9..)?;
    let len = uleb(&mut r)?;
    let r = &mut take(&mut r, len)?;
    // Every loop below takes at least one byte per round or stops.
    let mut deps = Vec::new();
    for _ in 0..uleb(r)? {
        deps.push(ChangeHash(take(r, 32)?.try_into().ok()?));
    }
    let actor_len = uleb(r)?;
    let actor = take(r, actor_len)?.to_vec();
    let seq = uleb(r)?;
    uleb(r)?; // start op
    let time = leb128::read::signed(r).ok()?;
    let message = uleb(r)?;
    take(r, message)?;
    for _ in 0..uleb(r)? {
        let actor = uleb(r)?; // other actors
        take(r, actor)?;
    }
    let mut columns = Vec::new();
    for _ in 0..uleb(r)? {
        columns.push((uleb(r)?, uleb(r)?)); // (spec, length)
    }
    let header = ChangeHeader {
        hash: ChangeHash([0; 32]),
        actor,
        seq,
        time,
        deps,
    };
    // The columns' data follow one another in their listed order.
    for (spec, len) in columns {
        let data = take(r, len)?;
        if spec & 0b111 == 5 && !column_fits(data) {
            return Some((header, false));
        }
    }
    Some((header, true))
}
