//! Per-page send pacing shared by every instance on one store: a token bucket per page and kind
//! of send ([`SendPacing`]), kept in the store so that all gateways sharing a database together
//! stay under a page's rate.
//!
//! The bucket is kept as one number, its *theoretical arrival time* (the generic cell rate
//! algorithm): sends are spaced one `interval` apart ([`Pace::interval_micros`]), and up to
//! `burst` may go at once after a quiet spell. A caller *reserves* its sends: it is given the
//! time each may go (now, or a little later) and sleeps until then, so sends leave evenly spaced
//! instead of in bursts followed by refusals. A reservation further away than the caller's
//! horizon is refused ([`Reservation::Busy`]), with the time to ask again; nothing is taken then.
//! Every backend applies the same arithmetic ([`reserve_slots`]), so they agree to the microsecond.

use std::time::Duration;

use async_trait::async_trait;
use messenger_model::Timestamp;

use crate::StoreError;

/// A page's send rate for one kind of send: one send every `interval`, up to `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pace {
    /// The spacing of sends in microseconds (at least 1).
    interval_micros: i64,
    burst: u32,
}

impl Pace {
    /// A pace of `per_second` sends a second, up to `burst` at once; both at least 1
    /// ([`StoreError::Invalid`] otherwise).
    ///
    /// ```
    /// use messenger_store::Pace;
    /// let pace = Pace::new(250, 5).unwrap();
    /// assert_eq!(pace.interval_micros(), 4_000);
    /// assert!(Pace::new(0, 1).is_err());
    /// ```
    pub fn new(per_second: u32, burst: u32) -> Result<Self, StoreError> {
        if per_second == 0 {
            return Err(StoreError::invalid("a send rate of 0 per second"));
        }
        if burst == 0 {
            return Err(StoreError::invalid("a send burst of 0"));
        }
        Ok(Self {
            interval_micros: spacing(1_000_000, per_second),
            burst,
        })
    }

    /// A pace of `per_second` (at least 1) with the burst the product uses: a fiftieth of a
    /// second's sends (20 ms worth), at least 1. So in any one second a page sends at most 2 %
    /// above its rate, leaving room for the jitter of the sends' way to Graph.
    pub fn per_second(per_second: u32) -> Self {
        let per_second = per_second.max(1);
        Self {
            interval_micros: spacing(1_000_000, per_second),
            burst: (per_second / 50).max(1),
        }
    }

    /// A pace of `per_hour` sends an hour (at least 1), one at a time: for limits Meta states
    /// per hour (Instagram's private replies), spread evenly so the hour's figure is never
    /// exceeded in any hour.
    ///
    /// ```
    /// use messenger_store::Pace;
    /// let pace = Pace::per_hour(750);
    /// assert_eq!(pace.interval_micros(), 4_800_000);
    /// assert_eq!(pace.rate(), 0);
    /// ```
    pub fn per_hour(per_hour: u32) -> Self {
        Self {
            interval_micros: spacing(3_600_000_000, per_hour.max(1)),
            burst: 1,
        }
    }

    /// Whole sends a second (0 for a pace slower than one a second).
    pub const fn rate(self) -> u32 {
        let per_second = 1_000_000 / self.interval_micros;
        if per_second > u32::MAX as i64 {
            u32::MAX
        } else {
            per_second as u32
        }
    }

    /// Sends that may go at once after a quiet spell.
    pub const fn burst(self) -> u32 {
        self.burst
    }

    /// The spacing of sends in microseconds (rounded up, so the rate is never exceeded).
    pub const fn interval_micros(self) -> i64 {
        self.interval_micros
    }

    /// How far ahead of the spacing a burst may run, in microseconds.
    pub const fn tolerance_micros(self) -> i64 {
        (self.burst as i64 - 1) * self.interval_micros()
    }
}

/// `per` microseconds shared among `count` sends, rounded up (so the rate is never exceeded).
const fn spacing(per: i64, count: u32) -> i64 {
    let count = if count == 0 { 1 } else { count as i64 };
    (per + count - 1) / count
}

/// What a reservation of sends got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reservation {
    /// Reserved: the time each send may go, in order (the first within the horizon).
    Granted(Vec<Timestamp>),
    /// Not reserved (nothing taken): the bucket is booked beyond the horizon; a reservation
    /// made at this time would be granted.
    Busy(Timestamp),
}

/// Shared send buckets, one per page and kind of send.
#[async_trait]
pub trait SendPacing: Send + Sync {
    /// Reserves `sends` (at least 1) sends from `bucket` at `pace`, at `now`, when the first
    /// could go within `horizon`; otherwise takes nothing and says when to ask again. Atomic
    /// across every caller of the store: however many instances reserve from one bucket, the
    /// times granted keep to its pace.
    async fn reserve_sends(
        &self,
        bucket: &str,
        pace: Pace,
        sends: u32,
        now: Timestamp,
        horizon: Duration,
    ) -> Result<Reservation, StoreError>;
}

/// Microseconds since the epoch of a timestamp.
pub fn micros(t: Timestamp) -> i64 {
    t.millis().saturating_mul(1_000)
}

/// The bucket arithmetic shared by every backend. `tat` is the bucket's stored theoretical
/// arrival time in microseconds (`None` or anything in the past: an idle bucket). Returns the new
/// value to store (`None`: leave it unchanged) and the reservation.
///
/// ```
/// use messenger_model::Timestamp;
/// use messenger_store::{Pace, Reservation};
/// use messenger_store::implementors::reserve_slots;
/// let now = Timestamp::from_millis(1_000);
/// let (tat, r) = reserve_slots(None, Pace::new(100, 1).unwrap(), 2, now, 1_000_000);
/// assert_eq!(tat, Some(1_000_000 + 20_000));
/// assert_eq!(r, Reservation::Granted(vec![now, now.add_millis(10)]));
/// ```
pub fn reserve_slots(
    tat: Option<i64>,
    pace: Pace,
    sends: u32,
    now: Timestamp,
    horizon_micros: i64,
) -> (Option<i64>, Reservation) {
    let now_us = micros(now);
    let sends = i64::from(sends.max(1));
    let base = tat.unwrap_or(now_us).max(now_us);
    let interval = pace.interval_micros();
    let first = base - pace.tolerance_micros();
    if first - now_us > horizon_micros {
        let again = (first - horizon_micros).max(now_us + 1_000);
        return (None, Reservation::Busy(from_micros_up(again)));
    }
    let slots = (0..sends)
        .map(|i| from_micros_up((first + i * interval).max(now_us)))
        .collect();
    (Some(base + sends * interval), Reservation::Granted(slots))
}

/// The inputs of the one-statement SQL reservation: given the stored `tat`, the statement sets
/// `tat = max(tat, now) + sends * interval` where `max(tat, now) - tolerance <= now + horizon`.
/// Returns `(now, sends * interval, tolerance, now + horizon)` in microseconds.
pub fn reservation_bounds(
    pace: Pace,
    sends: u32,
    now: Timestamp,
    horizon_micros: i64,
) -> (i64, i64, i64, i64) {
    let now_us = micros(now);
    (
        now_us,
        i64::from(sends.max(1)) * pace.interval_micros(),
        pace.tolerance_micros(),
        now_us.saturating_add(horizon_micros),
    )
}

/// A horizon in microseconds (saturating).
pub fn horizon_micros(horizon: Duration) -> i64 {
    i64::try_from(horizon.as_micros()).unwrap_or(i64::MAX / 2)
}

/// The first millisecond at or after `us` microseconds.
fn from_micros_up(us: i64) -> Timestamp {
    Timestamp::from_millis(us.saturating_add(999).div_euclid(1_000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_goes_at_once_then_sends_are_spaced() {
        let now = Timestamp::from_millis(5_000);
        let pace = Pace::new(100, 3).expect("pace");
        let (tat, r) = reserve_slots(None, pace, 5, now, 1_000_000);
        let Reservation::Granted(at) = r else {
            panic!("granted")
        };
        let offsets: Vec<i64> = at.iter().map(|t| t.millis() - now.millis()).collect();
        assert_eq!(offsets, [0, 0, 0, 10, 20]);
        // The next one goes 30 ms later; beyond a horizon of 20 ms it is refused.
        let (none, busy) = reserve_slots(tat, pace, 1, now, 20_000);
        assert_eq!(none, None);
        assert_eq!(busy, Reservation::Busy(now.add_millis(10)));
        let (_, r) = reserve_slots(tat, pace, 1, now.add_millis(10), 20_000);
        assert_eq!(r, Reservation::Granted(vec![now.add_millis(30)]));
        // After a quiet spell the burst is back, no more.
        let later = now.add_millis(10_000);
        let (_, r) = reserve_slots(tat, pace, 4, later, 1_000_000);
        let Reservation::Granted(at) = r else {
            panic!("granted")
        };
        assert_eq!(at.last().map(|t| t.millis() - later.millis()), Some(10));
    }

    #[test]
    fn default_burst_is_a_fiftieth_of_the_rate() {
        assert_eq!(Pace::per_second(250).burst(), 5);
        assert_eq!(Pace::per_second(8).burst(), 1);
        assert_eq!(Pace::per_second(0).rate(), 1);
        assert_eq!(
            Pace::new(3, 1).map(Pace::interval_micros).ok(),
            Some(333_334)
        );
    }
}
