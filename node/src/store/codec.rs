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

thread_local! {
    static COMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Compressor<'static>>> =
        const { std::cell::RefCell::new(None) };
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
        Some((&ZSTD, v)) => {
            zstd::stream::decode_all(v).map_err(|e| StoreError::Value(e.to_string()))
        }
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
