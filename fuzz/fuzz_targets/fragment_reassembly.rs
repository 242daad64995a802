//! Fuzz target `fragment_reassembly`: see `checks::fragment_reassembly`.
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::fragment_reassembly(data));
