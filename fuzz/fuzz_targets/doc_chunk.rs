#![no_main]
//! See `r2com_protocol::fuzzing::doc_chunk`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    r2com_protocol::fuzzing::doc_chunk(data);
});
