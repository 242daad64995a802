//! Helpers shared by the benchmarks' summary tables.

use std::time::{Duration, Instant};

/// Operations per second of `f`, run for about `budget` (after one warm-up call).
pub fn rate(budget: Duration, mut f: impl FnMut()) -> f64 {
    f();
    let start = Instant::now();
    let mut n = 0u32;
    while start.elapsed() < budget {
        f();
        n += 1;
    }
    f64::from(n) / start.elapsed().as_secs_f64()
}
