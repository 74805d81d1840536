//! [`Timestamp`]: an instant in UTC, kept as milliseconds since the Unix epoch and written as
//! RFC 3339 (`2026-11-25T14:47:28.123Z`) in JSON.
//!
//! The model crate has no date library (it depends on serde and thiserror only), so the small
//! civil-calendar conversion lives here. It is exercised by property tests both ways.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::ModelError;

/// An instant in UTC with millisecond precision.
///
/// ```
/// use messenger_model::Timestamp;
/// let t: Timestamp = "2026-11-25T14:47:28.123Z".parse().unwrap();
/// assert_eq!(t.to_string(), "2026-11-25T14:47:28.123Z");
/// assert_eq!(Timestamp::from_millis(t.millis()), t);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(i64);

/// Earliest instant accepted when parsing (year 0001).
const MIN_MILLIS: i64 = -62_135_596_800_000;
/// Latest instant accepted when parsing (end of year 9999).
const MAX_MILLIS: i64 = 253_402_300_799_999;

impl Timestamp {
    /// The instant `millis` milliseconds after 1970-01-01T00:00:00Z.
    pub const fn from_millis(millis: i64) -> Self {
        Self(millis)
    }

    /// Milliseconds since the Unix epoch.
    pub const fn millis(self) -> i64 {
        self.0
    }

    /// The current time from the system clock.
    pub fn now() -> Self {
        let since = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Self(i64::try_from(since.as_millis()).unwrap_or(i64::MAX))
    }

    /// This instant moved by `millis` (saturating).
    #[must_use = "returns a new timestamp; `self` is unchanged"]
    pub const fn add_millis(self, millis: i64) -> Self {
        Self(self.0.saturating_add(millis))
    }

    /// This instant moved forward by `duration`, to the millisecond (saturating).
    ///
    /// ```
    /// use messenger_model::Timestamp;
    /// let t = Timestamp::from_millis(1_000);
    /// assert_eq!(t.add_duration(std::time::Duration::from_millis(1_500)).millis(), 2_500);
    /// ```
    #[must_use = "returns a new timestamp; `self` is unchanged"]
    pub fn add_duration(self, duration: std::time::Duration) -> Self {
        self.add_millis(i64::try_from(duration.as_millis()).unwrap_or(i64::MAX))
    }
}

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date (year, month, day) of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.0.div_euclid(86_400_000);
        let ms_of_day = self.0.rem_euclid(86_400_000);
        let (y, m, d) = civil_from_days(days);
        let secs = ms_of_day / 1000;
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
            secs / 3600,
            secs / 60 % 60,
            secs % 60,
            ms_of_day % 1000
        )
    }
}

impl std::str::FromStr for Timestamp {
    type Err = ModelError;

    /// Parses RFC 3339: `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`; `t` and a space are accepted
    /// for `T`, and fractions beyond milliseconds are truncated.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ModelError::InvalidTimestamp {
            value: s.chars().take(64).collect(),
        };
        let b = s.as_bytes();
        if b.len() < 20 || !b.is_ascii() {
            return Err(bad());
        }
        let num = |range: std::ops::Range<usize>| -> Result<i64, ModelError> {
            let part = &s[range];
            if part.bytes().all(|c| c.is_ascii_digit()) {
                part.parse().map_err(|_| bad())
            } else {
                Err(bad())
            }
        };
        if b[4] != b'-'
            || b[7] != b'-'
            || !matches!(b[10], b'T' | b't' | b' ')
            || b[13] != b':'
            || b[16] != b':'
        {
            return Err(bad());
        }
        let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if !(1..=12).contains(&mo)
            || d < 1
            || d > days_in_month(y, mo)
            || h > 23
            || mi > 59
            || sec > 60
        {
            return Err(bad());
        }
        let mut i = 19;
        let mut millis = 0;
        if b[i] == b'.' {
            let start = i + 1;
            i = start;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if i == start {
                return Err(bad());
            }
            let frac = &s[start..i.min(start + 3)];
            millis = frac.parse::<i64>().map_err(|_| bad())? * 10_i64.pow(3 - frac.len() as u32);
        }
        let offset_min = match &s[i..] {
            "Z" | "z" => 0,
            tz if tz.len() == 6
                && (tz.starts_with('+') || tz.starts_with('-'))
                && &tz[3..4] == ":" =>
            {
                let oh = num(i + 1..i + 3)?;
                let om = num(i + 4..i + 6)?;
                if oh > 23 || om > 59 {
                    return Err(bad());
                }
                let sign = if tz.starts_with('-') { -1 } else { 1 };
                sign * (oh * 60 + om)
            }
            _ => return Err(bad()),
        };
        let secs =
            days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec.min(59) - offset_min * 60;
        let t = secs * 1000 + millis;
        if !(MIN_MILLIS..=MAX_MILLIS).contains(&t) {
            return Err(bad());
        }
        Ok(Self(t))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_instants() {
        assert_eq!(
            Timestamp::from_millis(0).to_string(),
            "1970-01-01T00:00:00.000Z"
        );
        let t: Timestamp = "2024-02-29T23:59:59.5+01:00".parse().unwrap();
        assert_eq!(t.to_string(), "2024-02-29T22:59:59.500Z");
        assert!("2023-02-29T00:00:00Z".parse::<Timestamp>().is_err());
        assert!("2023-13-01T00:00:00Z".parse::<Timestamp>().is_err());
        assert!("yesterday".parse::<Timestamp>().is_err());
        assert!("2023-01-01T00:00:00".parse::<Timestamp>().is_err());
    }

    proptest! {
        #[test]
        fn display_then_parse_is_identity(ms in MIN_MILLIS..=MAX_MILLIS) {
            let t = Timestamp::from_millis(ms);
            prop_assert_eq!(t.to_string().parse::<Timestamp>().unwrap(), t);
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,40}") {
            let _ = s.parse::<Timestamp>();
        }

        #[test]
        fn parse_never_panics_near_valid(s in "[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{0,9})?(Z|[+-][0-9]{2}:[0-9]{2}|)") {
            let _ = s.parse::<Timestamp>();
        }
    }
}
