//! Fuzz target `group_adversary`: see `group_adversary::group_adversary`.
#![no_main]

#[path = "../../crates/group/tests/support/mod.rs"]
mod support;

#[path = "../group_adversary.rs"]
mod group_adversary;

libfuzzer_sys::fuzz_target!(|data: &[u8]| group_adversary::group_adversary(data));
