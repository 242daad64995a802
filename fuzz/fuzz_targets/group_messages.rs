//! Fuzz target `group_messages`: see `group_checks::group_messages`.
#![no_main]

#[path = "../group_checks.rs"]
mod group_checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| group_checks::group_messages(data));
