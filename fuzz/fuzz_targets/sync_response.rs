#![no_main]
//! See `r2com_protocol::fuzzing::sync_response`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    r2com_protocol::fuzzing::sync_response(data);
});
