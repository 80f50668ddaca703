//! The `frame` fuzz target's body (`fuzz/fuzz_targets/frame.rs`) over every
//! saved input in `tests/frame-corpus/`, plus hostile length prefixes: a
//! 4 GB prefix is refused before anything is allocated.

use std::path::PathBuf;

use r2com_node::frame::read_sync;
use r2com_protocol::control::MAX_REQUEST_LEN;

fn target(data: &[u8]) {
    for max in [MAX_REQUEST_LEN, 64] {
        let mut r = data;
        while let Ok(Some(_)) = read_sync(&mut r, max) {}
    }
}

#[test]
fn saved_frame_inputs_run_through_the_target() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/frame-corpus");
    let mut ran = 0;
    for f in std::fs::read_dir(dir).unwrap() {
        target(&std::fs::read(f.unwrap().path()).unwrap());
        ran += 1;
    }
    assert!(ran >= 3);
}

#[test]
fn a_4gb_length_prefix_is_refused() {
    let mut bytes = u32::MAX.to_be_bytes().to_vec();
    bytes.extend_from_slice(b"{}");
    let err = read_sync(&mut &bytes[..], MAX_REQUEST_LEN).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    // A prefix under the limit but larger than the bytes sent: a short read.
    let mut short = 1000u32.to_be_bytes().to_vec();
    short.extend_from_slice(b"{}");
    assert!(read_sync(&mut &short[..], MAX_REQUEST_LEN).is_err());
    target(&bytes);
}
