//! Fuzz target `encoded_message`: see `checks::encoded_message`.
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::encoded_message(data));
