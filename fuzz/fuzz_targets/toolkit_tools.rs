//! Fuzz target `toolkit_tools`: see `toolkit_checks::toolkit_tools`.
#![no_main]

#[path = "../toolkit_checks.rs"]
mod toolkit_checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| toolkit_checks::toolkit_tools(data));
