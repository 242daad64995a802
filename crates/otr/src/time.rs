//! Time as the engine knows it: only what the caller tells it through [`crate::Engine::tick`].

use core::cmp::Ordering;
use core::time::Duration;

/// A point in time on the caller's clock, in seconds: since the Unix epoch, or since any
/// origin the caller keeps (the engine only ever compares two times and subtracts them).
/// Always finite. The engine reads no clock: it learns the time from
/// [`crate::Engine::tick`], and ignores a tick that goes back in time.
///
/// ```
/// use core::time::Duration;
/// use otr::Time;
/// let t = Time::from_secs_f64(1_700_000_000.5).unwrap();
/// assert_eq!(t.as_secs_f64(), 1_700_000_000.5);
/// assert_eq!(Time::from(Duration::from_millis(1500)), Time::from_secs_f64(1.5).unwrap());
/// assert_eq!(Time::from_secs(90), Time::from_secs_f64(90.0).unwrap());
/// assert!(Time::from_secs_f64(f64::NAN).is_none());
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Time(f64);

impl Time {
    /// The time `secs` seconds after the caller's origin; `None` unless `secs` is finite.
    pub fn from_secs_f64(secs: f64) -> Option<Self> {
        // -0.0 and 0.0 are one time: normalised so that equality and order agree.
        secs.is_finite().then_some(Self(secs + 0.0))
    }

    /// The time `secs` whole seconds after the caller's origin.
    pub fn from_secs(secs: u64) -> Self {
        Self(secs as f64)
    }

    /// Seconds since the caller's origin.
    pub fn as_secs_f64(self) -> f64 {
        self.0
    }

    /// Seconds from `earlier` to `self` (negative if `earlier` is later).
    pub(crate) fn secs_since(self, earlier: Time) -> f64 {
        self.0 - earlier.0
    }
}

impl From<Duration> for Time {
    /// The time `since_origin` after the caller's origin (for example
    /// `SystemTime::now().duration_since(UNIX_EPOCH)`).
    fn from(since_origin: Duration) -> Self {
        Self(since_origin.as_secs_f64())
    }
}

impl PartialEq for Time {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Time {}

impl PartialOrd for Time {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Time {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn only_finite_times_exist_and_they_order_as_numbers() {
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert!(Time::from_secs_f64(bad).is_none());
        }
        let zero = Time::from_secs_f64(0.0).unwrap();
        assert_eq!(Time::from_secs_f64(-0.0).unwrap(), zero);
        assert_eq!(Time::default(), zero);
        let later = Time::from_secs_f64(61.5).unwrap();
        assert!(zero < later);
        assert_eq!(later.secs_since(zero), 61.5);
        assert_eq!(
            Time::from(Duration::from_secs(61) + Duration::from_millis(500)),
            later
        );
    }
}
