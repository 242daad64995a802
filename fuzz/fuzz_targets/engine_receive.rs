//! Fuzz target `engine_receive`: see `checks::engine_receive`.
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::engine_receive(data));
