#![no_main]
//! See `r2com_protocol::fuzzing::member_change`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    r2com_protocol::fuzzing::member_change(data);
});
