//! The zstd 0.9 API that sled 0.34 compiles against with its `compression`
//! feature (`block::compress` for every page fragment it logs,
//! `stream::decode_all` for every one it reads back, `block::compress` and
//! `block::decompress` for its snapshot file), built on zstd 0.13, with
//! one compression and one decompression context per thread.
//!
//! zstd 0.9 creates a context for each of those calls, and creating one
//! runs CPUID (zstd's BMI2 detection), which traps to the hypervisor on a
//! virtual machine: about 27 µs per call there, more than compressing a
//! page of 2 KB takes (12 µs). sled compresses every fragment it writes
//! (each key of a batch) and decompresses every page it reads from disk,
//! so the contexts alone cost a node about a sixth of its CPU while it
//! applied a stream of edits, and 1.5 s of a clone of the demo data.
//!
//! The bytes are zstd frames either way: stores written through zstd 0.9
//! read back unchanged. The workspace's `[patch.crates-io]` puts this crate
//! in zstd 0.9's place; everything else in the workspace uses zstd 0.13
//! directly (one zstd C library per binary: both are zstd-sys 2).

use std::cell::RefCell;
use std::io;

use upstream::bulk::{Compressor, Decompressor};

/// Frames larger than this are decompressed by streaming rather than into
/// one buffer of their declared size (a page never is; a damaged frame
/// could declare anything).
const MAX_ONE_SHOT: u64 = 64 * 1024 * 1024;

thread_local! {
    /// This thread's compression context and the level it is set to.
    static COMPRESSOR: RefCell<Option<(Compressor<'static>, i32)>> = const { RefCell::new(None) };
    static DECOMPRESSOR: RefCell<Option<Decompressor<'static>>> = const { RefCell::new(None) };
}

/// Compress with this thread's context, set to `level`.
fn with_compressor<T>(
    level: i32,
    f: impl FnOnce(&mut Compressor<'static>) -> io::Result<T>,
) -> io::Result<T> {
    COMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        match slot.as_mut() {
            Some((c, l)) if *l == level => f(c),
            Some((c, l)) => {
                c.set_compression_level(level)?;
                *l = level;
                f(c)
            }
            None => {
                let (c, _) = slot.insert((Compressor::new(level)?, level));
                f(c)
            }
        }
    })
}

/// Decompress with this thread's context.
fn with_decompressor<T>(
    f: impl FnOnce(&mut Decompressor<'static>) -> io::Result<T>,
) -> io::Result<T> {
    DECOMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        match slot.as_mut() {
            Some(d) => f(d),
            None => f(slot.insert(Decompressor::new()?)),
        }
    })
}

/// One-shot compression and decompression (zstd 0.9's `zstd::block`).
pub mod block {
    use super::*;

    /// Compress `data` into one frame (its size recorded in the frame).
    pub fn compress(data: &[u8], level: i32) -> io::Result<Vec<u8>> {
        with_compressor(level, |c| c.compress(data))
    }

    /// Decompress `data`, which must come to at most `capacity` bytes.
    pub fn decompress(data: &[u8], capacity: usize) -> io::Result<Vec<u8>> {
        with_decompressor(|d| d.decompress(data, capacity))
    }
}

/// Whole-input decompression (zstd 0.9's `zstd::stream`).
pub mod stream {
    use super::*;

    /// Decompress every frame `source` holds. One frame that records its
    /// size (all that [`block::compress`] makes) is decompressed with
    /// this thread's context; anything else by zstd's streaming decoder.
    pub fn decode_all<R: io::Read>(mut source: R) -> io::Result<Vec<u8>> {
        let mut input = Vec::new();
        source.read_to_end(&mut input)?;
        let one_frame =
            upstream::zstd_safe::find_frame_compressed_size(&input).is_ok_and(|n| n == input.len());
        let size = upstream::zstd_safe::get_frame_content_size(&input);
        match size {
            Ok(Some(n)) if one_frame && n <= MAX_ONE_SHOT => {
                with_decompressor(|d| d.decompress(&input, n as usize))
            }
            _ => upstream::stream::decode_all(&input[..]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(seed: u8) -> Vec<u8> {
        (0..3000u32)
            .map(|i| (i % 97) as u8 ^ seed)
            .chain(b"practice p-000042 mentoring after release".iter().copied())
            .collect()
    }

    #[test]
    fn pages_round_trip_through_both_paths_and_levels() {
        for level in [1, 3, 3, 9, 1] {
            for seed in 0..4 {
                let p = page(seed);
                let z = block::compress(&p, level).unwrap();
                assert!(z.len() < p.len() / 4, "compresses");
                assert_eq!(block::decompress(&z, p.len()).unwrap(), p);
                assert_eq!(stream::decode_all(&z[..]).unwrap(), p);
            }
        }
        assert_eq!(
            stream::decode_all(&block::compress(b"", 3).unwrap()[..]).unwrap(),
            b""
        );
    }

    #[test]
    fn frames_zstd_made_otherwise_still_decode() {
        // Two frames back to back, and a streamed frame that records no
        // size: the streaming decoder takes them.
        let (a, b) = (page(1), page(2));
        let mut two = upstream::bulk::compress(&a, 3).unwrap();
        two.extend(upstream::bulk::compress(&b, 3).unwrap());
        assert_eq!(
            stream::decode_all(&two[..]).unwrap(),
            [a.clone(), b].concat()
        );
        let mut streamed = Vec::new();
        {
            let mut e = upstream::stream::Encoder::new(&mut streamed, 3).unwrap();
            io::Write::write_all(&mut e, &a).unwrap();
            e.finish().unwrap();
        }
        assert_eq!(
            upstream::zstd_safe::get_frame_content_size(&streamed).unwrap(),
            None
        );
        assert_eq!(stream::decode_all(&streamed[..]).unwrap(), a);
    }

    #[test]
    fn bad_input_is_an_error_and_the_context_serves_on() {
        let p = page(3);
        let z = block::compress(&p, 3).unwrap();
        assert!(block::decompress(&z, p.len() - 1).is_err(), "over capacity");
        assert!(stream::decode_all(&z[..z.len() - 5]).is_err(), "cut short");
        let mut flipped = z.clone();
        let mid = flipped.len() / 2;
        flipped[mid] ^= 0xff;
        let _ = stream::decode_all(&flipped[..]); // an error or other bytes, never a panic
        assert!(stream::decode_all(&b"not zstd at all"[..]).is_err());
        // The thread's contexts still work after the errors.
        assert_eq!(stream::decode_all(&z[..]).unwrap(), p);
        assert_eq!(block::decompress(&z, p.len()).unwrap(), p);
    }

    #[test]
    fn each_thread_has_its_own_contexts() {
        let handles: Vec<_> = (0..4u8)
            .map(|s| {
                std::thread::spawn(move || {
                    for level in [3, 1, 3] {
                        let p = page(s);
                        let z = block::compress(&p, level).unwrap();
                        assert_eq!(stream::decode_all(&z[..]).unwrap(), p);
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    }
}
