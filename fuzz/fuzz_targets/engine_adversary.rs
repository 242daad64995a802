//! Fuzz target `engine_adversary`: see `adversary::engine_adversary`.
#![no_main]

#[path = "../adversary.rs"]
mod adversary;

libfuzzer_sys::fuzz_target!(|data: &[u8]| adversary::engine_adversary(data));
