//! Benchmarks of the group relay (filled in below).
fn main() {}
