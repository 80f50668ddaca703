#![no_main]
//! See `r2com_protocol::fuzzing::roster_eval`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    r2com_protocol::fuzzing::roster_eval(data);
});
