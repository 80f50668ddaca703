#![no_main]
//! See `r2com_protocol::fuzzing::control_request`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    r2com_protocol::fuzzing::control_request(data);
});
