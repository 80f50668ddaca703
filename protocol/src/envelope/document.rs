//! Whole-document chunks (what `save_nocompress` writes) from untrusted
//! bytes: walked and bounded before automerge's loader sees them.
//!
//! automerge 0.12 inflates a deflated column without a bound, allocates a
//! string's claimed length before checking that its column holds it, and
//! walks every row a run-length count claims. So a document chunk is
//! accepted only if: it is one uncompressed document chunk and nothing
//! after it; no column is deflated; every string of a string column fits
//! its column; and no column claims more than [`MAX_DOC_ROWS`] rows (one
//! op per row; a practice is a few thousand).

use super::chunk::AUTOMERGE_MAGIC;
use super::EnvelopeError;

/// automerge's chunk type of a document.
const CHUNK_TYPE_DOCUMENT: u8 = 0;
/// Largest document chunk accepted (a practice with a long history is a
/// few hundred KB uncompressed).
pub const MAX_DOC_LEN: usize = 8 * 1024 * 1024;
/// Most rows (ops, or changes) one column may claim.
pub const MAX_DOC_ROWS: u64 = 1 << 21;
/// Most actors and heads a document may list.
const MAX_LIST: u64 = 65_536;

/// The column spec's deflate bit and type bits (automerge's `ColumnSpec`).
const DEFLATE_BIT: u64 = 0b1000;
const TYPE_BITS: u64 = 0b111;
/// The type of a string column.
const STRING_COLUMN: u64 = 5;

fn uleb(r: &mut &[u8]) -> Option<u64> {
    leb128::read::unsigned(r).ok()
}

fn sleb(r: &mut &[u8]) -> Option<i64> {
    leb128::read::signed(r).ok()
}

fn take<'a>(r: &mut &'a [u8], n: u64) -> Option<&'a [u8]> {
    let n = usize::try_from(n).ok().filter(|n| *n <= r.len())?;
    let (head, rest) = r.split_at(n);
    *r = rest;
    Some(head)
}

/// The rows a column holds, walking it as automerge's decoders do; `None`
/// if it is malformed, a string runs past its column, or it claims more
/// than [`MAX_DOC_ROWS`].
pub(super) fn column_rows(col_type: u64, mut data: &[u8]) -> Option<u64> {
    let r = &mut data;
    let mut rows: u64 = 0;
    fn add(n: u64, rows: &mut u64) -> Option<()> {
        *rows = rows.checked_add(n).filter(|t| *t <= MAX_DOC_ROWS)?;
        Some(())
    }
    match col_type {
        // Raw values: their lengths are in the value-metadata column.
        7 => return Some(0),
        // Booleans: alternating run lengths.
        4 => {
            while !r.is_empty() {
                let n = uleb(r)?;
                add(n, &mut rows)?;
            }
        }
        // Run-length encoded: a signed count, then one value (count > 0),
        // -count values (count < 0), or a count of nulls (0).
        0..=3 | 5 | 6 => {
            let value = |r: &mut &[u8]| -> Option<()> {
                match col_type {
                    3 => sleb(r).map(|_| ()),
                    STRING_COLUMN => {
                        let len = uleb(r)?;
                        take(r, len).map(|_| ())
                    }
                    _ => uleb(r).map(|_| ()),
                }
            };
            while !r.is_empty() {
                let count = sleb(r)?;
                match count {
                    1.. => {
                        value(r)?;
                        add(count as u64, &mut rows)?;
                    }
                    0 => {
                        let nulls = uleb(r)?;
                        add(nulls, &mut rows)?;
                    }
                    ..0 => {
                        let n = count.unsigned_abs();
                        // Each value takes at least one byte.
                        if n > r.len() as u64 {
                            return None;
                        }
                        add(n, &mut rows)?;
                        for _ in 0..n {
                            value(r)?;
                        }
                    }
                }
            }
        }
        _ => return None,
    }
    Some(rows)
}

/// Check a document chunk from a peer before automerge loads it (see the
/// module). Returns its heads.
pub fn check_document(bytes: &[u8]) -> Result<Vec<[u8; 32]>, EnvelopeError> {
    if bytes.len() > MAX_DOC_LEN {
        return Err(EnvelopeError::Malformed("document too large"));
    }
    if bytes.len() < 10 || bytes[..4] != AUTOMERGE_MAGIC || bytes[8] != CHUNK_TYPE_DOCUMENT {
        return Err(EnvelopeError::NotADocument);
    }
    walk(bytes).ok_or(EnvelopeError::NotADocument)
}

fn walk(bytes: &[u8]) -> Option<Vec<[u8; 32]>> {
    let mut rest = &bytes[9..];
    let len = uleb(&mut rest)?;
    let mut body = take(&mut rest, len)?;
    // Nothing after the chunk: `load` would apply trailing change chunks.
    if !rest.is_empty() {
        return None;
    }
    let r = &mut body;
    let actors = uleb(r)?;
    if actors > MAX_LIST {
        return None;
    }
    for _ in 0..actors {
        let n = uleb(r)?;
        take(r, n)?;
    }
    let n_heads = uleb(r)?;
    if n_heads > MAX_LIST {
        return None;
    }
    let mut heads = Vec::new();
    for _ in 0..n_heads {
        heads.push(<[u8; 32]>::try_from(take(r, 32)?).ok()?);
    }
    let mut columns = Vec::new();
    for _ in 0..2 {
        let n = uleb(r)?;
        if n > 256 {
            return None;
        }
        for _ in 0..n {
            let spec = uleb(r)?;
            let len = uleb(r)?;
            if spec & DEFLATE_BIT != 0 {
                return None;
            }
            columns.push((spec & TYPE_BITS, len));
        }
    }
    // The change columns' data, then the op columns', in listed order.
    for (col_type, len) in columns {
        column_rows(col_type, take(r, len)?)?;
    }
    // The suffix: one index per head (or nothing, from old writers).
    if !r.is_empty() {
        for _ in 0..n_heads {
            uleb(r)?;
        }
    }
    r.is_empty().then_some(heads)
}
