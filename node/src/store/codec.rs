//! How values are kept on disk: a tag byte, then the value as given or
//! zstd-compressed. Records, search text and automerge changes are text
//! that shrinks to a third; a value is compressed only when that pays.

use super::StoreError;

/// The value follows as given.
const RAW: u8 = 0;
/// A zstd frame follows.
const ZSTD: u8 = 1;
/// Values shorter than this stay as they are (headers cost more than they
/// save).
const MIN_COMPRESS: usize = 96;
/// zstd level: fast to write, and most of what a higher level would save.
const LEVEL: i32 = 3;

/// Largest value a stored frame may claim to hold (a damaged frame must
/// not make the node allocate without bound).
const MAX_VALUE: u64 = 256 * 1024 * 1024;

thread_local! {
    // One context per thread and direction: making one per value cost more
    // than the (de)compression itself when a search reads every value.
    static COMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Compressor<'static>>> =
        const { std::cell::RefCell::new(None) };
    static DECOMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> =
        const { std::cell::RefCell::new(None) };
}

fn decompress(frame: &[u8]) -> Result<Vec<u8>, StoreError> {
    let bad = |why: String| StoreError::Value(why);
    let size = match zstd::zstd_safe::get_frame_content_size(frame) {
        Ok(Some(n)) if n <= MAX_VALUE => n as usize,
        Ok(Some(n)) => return Err(bad(format!("a value claims {n} bytes"))),
        Ok(None) | Err(_) => return Err(bad("a value's frame has no size".into())),
    };
    DECOMPRESSOR.with(|d| {
        let mut d = d.borrow_mut();
        if d.is_none() {
            *d = Some(zstd::bulk::Decompressor::new().map_err(|e| bad(e.to_string()))?);
        }
        let d = d.as_mut().expect("just made");
        let out = d.decompress(frame, size).map_err(|e| bad(e.to_string()))?;
        if out.len() != size {
            return Err(bad(format!(
                "a value holds {} bytes, not {size}",
                out.len()
            )));
        }
        Ok(out)
    })
}

/// The bytes to store for `value`.
pub fn encode(value: &[u8]) -> Vec<u8> {
    if value.len() >= MIN_COMPRESS {
        let packed = COMPRESSOR.with(|c| {
            let mut c = c.borrow_mut();
            if c.is_none() {
                *c = zstd::bulk::Compressor::new(LEVEL).ok();
            }
            c.as_mut().and_then(|c| c.compress(value).ok())
        });
        if let Some(p) = packed.filter(|p| p.len() + 1 < value.len()) {
            let mut out = Vec::with_capacity(1 + p.len());
            out.push(ZSTD);
            out.extend_from_slice(&p);
            return out;
        }
    }
    let mut out = Vec::with_capacity(1 + value.len());
    out.push(RAW);
    out.extend_from_slice(value);
    out
}

/// The value stored as `stored`.
pub fn decode(stored: &[u8]) -> Result<Vec<u8>, StoreError> {
    match stored.split_first() {
        Some((&RAW, v)) => Ok(v.to_vec()),
        Some((&ZSTD, v)) => decompress(v),
        Some((tag, _)) => Err(StoreError::Value(format!("unknown value tag {tag}"))),
        None => Err(StoreError::Value("empty value".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_compressed_when_it_pays() {
        let text = "famille communauté confiance réinsertion ".repeat(40);
        for v in [&b""[..], b"short", text.as_bytes(), &[0xff; 300]] {
            assert_eq!(decode(&encode(v)).unwrap(), v);
        }
        assert!(encode(text.as_bytes()).len() < text.len() / 4);
        assert_eq!(encode(b"short")[0], RAW);
    }

    #[test]
    fn undecodable_values_are_errors() {
        assert!(decode(&[]).is_err());
        assert!(decode(&[7, 1, 2]).is_err());
        assert!(decode(&[ZSTD, 1, 2, 3]).is_err());
    }
}
