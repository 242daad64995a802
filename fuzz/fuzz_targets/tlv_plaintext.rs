//! Fuzz target `tlv_plaintext`: see `checks::tlv_plaintext`.
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::tlv_plaintext(data));
