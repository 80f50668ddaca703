#![no_main]
//! Control API frames (`node/src/frame.rs`): read frames until the input
//! ends or a frame is refused; a 4 GB length prefix must not allocate.

#[path = "../../node/src/frame.rs"]
#[allow(dead_code)]
mod frame;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    // The node's real limit is 256 MiB; a small one exercises the refusal.
    for max in [r2com_protocol::control::MAX_REQUEST_LEN, 64] {
        let mut r = data;
        while let Ok(Some(_)) = frame::read_sync(&mut r, max) {}
    }
});
