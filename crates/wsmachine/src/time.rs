//! The caller's clock. The core never reads a clock: every deadline is a [`Timestamp`] the
//! caller compares with its own monotonic time.

use core::ops::Add;
use core::time::Duration;

/// A point on the caller's monotonic clock, as the time elapsed since an origin the caller
/// chooses once per connection (e.g. `Timestamp::from(start.elapsed())` with a
/// `std::time::Instant` taken at startup). Only differences matter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(Duration);

impl Timestamp {
    /// The origin.
    pub const ZERO: Timestamp = Timestamp(Duration::ZERO);

    /// The time `since_origin` after the origin.
    pub const fn from_duration(since_origin: Duration) -> Self {
        Timestamp(since_origin)
    }

    /// The time `ms` milliseconds after the origin.
    pub const fn from_millis(ms: u64) -> Self {
        Timestamp(Duration::from_millis(ms))
    }

    /// The time elapsed since the origin.
    pub const fn as_duration(self) -> Duration {
        self.0
    }

    /// The time from `earlier` to `self`, or zero if `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Timestamp) -> Duration {
        self.0.saturating_sub(earlier.0)
    }
}

impl From<Duration> for Timestamp {
    fn from(d: Duration) -> Self {
        Timestamp(d)
    }
}

impl Add<Duration> for Timestamp {
    type Output = Timestamp;
    /// Saturates instead of overflowing.
    fn add(self, rhs: Duration) -> Timestamp {
        Timestamp(self.0.saturating_add(rhs))
    }
}
