//! Fuzz target `classify_text`: see `checks::classify_text`.
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::classify_text(data));
