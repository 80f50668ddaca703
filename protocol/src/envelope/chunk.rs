//! Change chunks from untrusted bytes: the size, the chunk type and the
//! lengths of the strings inside are checked before automerge's parser
//! sees the bytes, and a panic in that parser is contained.

use std::panic::{catch_unwind, AssertUnwindSafe};

use automerge::Change;

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
    let walk = || -> Option<bool> {
        // magic, checksum, chunk type; then the chunk length and its data.
        let mut r = &chunk[9..];
        let len = uleb(&mut r)?;
        let r = &mut take(&mut r, len)?;
        // Every loop below takes at least one byte per round or stops.
        for _ in 0..uleb(r)? {
            take(r, 32)?; // dependency hashes
        }
        let actor = uleb(r)?;
        take(r, actor)?;
        uleb(r)?; // seq
        uleb(r)?; // start op
        leb128::read::signed(r).ok()?; // time
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
        // The columns' data follow one another in their listed order.
        for (spec, len) in columns {
            let data = take(r, len)?;
            if spec & 0b111 == 5 && !column_fits(data) {
                return Some(false);
            }
        }
        Some(true)
    };
    walk().unwrap_or(false)
}
