//! Pacing of outgoing lines: a token bucket over lines and one over bytes.
//!
//! A line may go when both buckets hold enough: one line token and its length in byte
//! tokens. The buckets refill continuously up to their burst size. Lines wait in the
//! transport's queue, not in the server's buffer, so a PONG is never stuck behind a burst
//! and, when the connection drops, the transport knows exactly which lines never left.

use std::time::{Duration, Instant};

/// How fast the transport may send lines (a token bucket; see [`Pacing::ngircd_default`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Pacing {
    /// Lines that may go at once after a quiet period.
    pub burst_lines: f64,
    /// Lines per second in the long run.
    pub lines_per_sec: f64,
    /// Bytes that may go at once after a quiet period (at least one full line, 512).
    pub burst_bytes: f64,
    /// Bytes per second in the long run.
    pub bytes_per_sec: f64,
}

impl Pacing {
    /// Safe under ngircd's default flood control, which handles about 3 commands or 256
    /// bytes of a client per second and pauses the client for the rest (measured with
    /// ngircd 26.1: a burst of 460-byte lines is processed at about 2 lines, 1 KB, a second).
    /// This stays under that: bursts of 4 lines or 1,024 bytes, then 2 lines and 800 bytes a
    /// second.
    pub fn ngircd_default() -> Pacing {
        Pacing {
            burst_lines: 4.0,
            lines_per_sec: 2.0,
            burst_bytes: 1024.0,
            bytes_per_sec: 800.0,
        }
    }

    /// For networks stricter than ngircd (Libera, OFTC: a few lines at once, then about one
    /// line every two seconds).
    pub fn conservative() -> Pacing {
        Pacing {
            burst_lines: 4.0,
            lines_per_sec: 0.5,
            burst_bytes: 1024.0,
            bytes_per_sec: 256.0,
        }
    }

    /// No pacing at all (tests, servers with flood control off for this client).
    pub fn none() -> Pacing {
        Pacing {
            burst_lines: f64::INFINITY,
            lines_per_sec: f64::INFINITY,
            burst_bytes: f64::INFINITY,
            bytes_per_sec: f64::INFINITY,
        }
    }
}

impl Default for Pacing {
    fn default() -> Self {
        Pacing::ngircd_default()
    }
}

/// The state of the two buckets.
#[derive(Debug, Clone)]
pub(crate) struct Bucket {
    pacing: Pacing,
    lines: f64,
    bytes: f64,
    last: Instant,
}

impl Bucket {
    /// Full buckets at `now`.
    pub(crate) fn new(pacing: Pacing, now: Instant) -> Bucket {
        let burst_bytes = pacing.burst_bytes.max(512.0);
        let burst_lines = pacing.burst_lines.max(1.0);
        Bucket {
            pacing: Pacing {
                burst_lines,
                burst_bytes,
                ..pacing
            },
            lines: burst_lines,
            bytes: burst_bytes,
            last: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let dt = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        let p = &self.pacing;
        self.lines = (self.lines + dt * p.lines_per_sec).min(p.burst_lines);
        self.bytes = (self.bytes + dt * p.bytes_per_sec).min(p.burst_bytes);
    }

    /// How long until a line of `len` bytes may go (zero: now).
    pub(crate) fn wait(&mut self, now: Instant, len: usize) -> Duration {
        self.refill(now);
        let p = &self.pacing;
        let cost = (len as f64).min(p.burst_bytes);
        let need_lines = (1.0 - self.lines).max(0.0) / p.lines_per_sec;
        let need_bytes = (cost - self.bytes).max(0.0) / p.bytes_per_sec;
        let secs = need_lines.max(need_bytes);
        if secs.is_finite() && secs > 0.0 {
            Duration::from_secs_f64(secs)
        } else {
            Duration::ZERO
        }
    }

    /// Takes the tokens for a line of `len` bytes sent at `now`.
    pub(crate) fn take(&mut self, now: Instant, len: usize) {
        self.refill(now);
        let cost = (len as f64).min(self.pacing.burst_bytes);
        self.lines -= 1.0;
        self.bytes -= cost;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_rate() {
        let t0 = Instant::now();
        let mut b = Bucket::new(Pacing::ngircd_default(), t0);
        for _ in 0..2 {
            assert_eq!(b.wait(t0, 500), Duration::ZERO);
            b.take(t0, 500);
        }
        // bytes exhausted: 500 more bytes need 476/800 s
        let w = b.wait(t0, 500);
        assert!(
            w > Duration::from_millis(500) && w < Duration::from_millis(700),
            "{w:?}"
        );
        let t1 = t0 + w;
        assert_eq!(b.wait(t1, 500), Duration::ZERO);
        let mut n = Bucket::new(Pacing::none(), t0);
        for _ in 0..1000 {
            assert_eq!(n.wait(t0, 512), Duration::ZERO);
            n.take(t0, 512);
        }
    }

    #[test]
    fn lines_limit_short_lines() {
        let t0 = Instant::now();
        let mut b = Bucket::new(Pacing::ngircd_default(), t0);
        for _ in 0..4 {
            assert_eq!(b.wait(t0, 10), Duration::ZERO);
            b.take(t0, 10);
        }
        let w = b.wait(t0, 10);
        assert!(
            w >= Duration::from_millis(499) && w <= Duration::from_millis(501),
            "{w:?}"
        );
    }
}
