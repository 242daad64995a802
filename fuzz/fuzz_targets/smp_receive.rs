//! Fuzz target `smp_receive`: see `checks::smp_receive`.
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::smp_receive(data));
