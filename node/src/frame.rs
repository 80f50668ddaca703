//! Length-prefixed frames of the control API: a 4-byte big-endian length,
//! then that many bytes of JSON. The length is checked against the limit
//! before anything is allocated.
//!
//! The node's async side uses tokio-util's [`LengthDelimitedCodec`] (see
//! [`codec`]); the CLI's blocking side reads and writes the same format
//! with [`read_sync`] and [`write_sync`].

use std::io::{self, Read, Write};

use tokio_util::codec::LengthDelimitedCodec;

/// The codec of control frames, refusing frames over `max` bytes (on
/// decode before the body is read, and on encode).
pub fn codec(max: usize) -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder()
        .length_field_type::<u32>()
        .big_endian()
        .max_frame_length(max)
        .new_codec()
}

fn too_large(len: usize, max: usize) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("frame of {len} bytes exceeds the limit of {max}"),
    )
}

/// Read one frame; `Ok(None)` on a clean end of stream.
pub fn read_sync<R: Read>(r: &mut R, max: usize) -> io::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len) {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = u32::from_be_bytes(len) as usize;
    if len > max {
        return Err(too_large(len, max));
    }
    let mut buf = Vec::new();
    r.take(len as u64).read_to_end(&mut buf)?;
    if buf.len() != len {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(Some(buf))
}

/// Write one frame and flush.
pub fn write_sync<W: Write>(w: &mut W, payload: &[u8]) -> io::Result<()> {
    let len =
        u32::try_from(payload.len()).map_err(|_| too_large(payload.len(), u32::MAX as usize))?;
    w.write_all(&len.to_be_bytes())?;
    w.write_all(payload)?;
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;
    use tokio_util::codec::{Decoder, Encoder};

    #[test]
    fn the_codec_reads_what_write_sync_writes_and_back() {
        let mut wire = Vec::new();
        write_sync(&mut wire, b"{\"op\":\"status\"}").unwrap();
        let mut buf = BytesMut::from(&wire[..]);
        let frame = codec(64).decode(&mut buf).unwrap().unwrap();
        assert_eq!(&frame[..], b"{\"op\":\"status\"}");

        let mut out = BytesMut::new();
        codec(64)
            .encode(bytes::Bytes::from_static(b"hello"), &mut out)
            .unwrap();
        assert_eq!(read_sync(&mut &out[..], 64).unwrap().unwrap(), b"hello");
    }

    #[test]
    fn oversized_frames_are_refused_before_reading_the_body() {
        let mut buf = BytesMut::from(&u32::MAX.to_be_bytes()[..]);
        assert!(codec(1024).decode(&mut buf).is_err());
        let mut r = &u32::MAX.to_be_bytes()[..];
        assert!(read_sync(&mut r, 1024).is_err());
        let mut out = BytesMut::new();
        assert!(codec(4)
            .encode(bytes::Bytes::from_static(b"hello"), &mut out)
            .is_err());
    }
}
