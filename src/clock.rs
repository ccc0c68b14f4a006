//! The service's notion of "now". Every rule that depends on time (token expiry, email
//! retries, review windows) reads this clock, so tests can move time forward.

use std::sync::Mutex;

use chrono::{NaiveDateTime, Utc};

pub trait Clock: Send + Sync {
    /// The current time in UTC, truncated to microseconds (what both databases store).
    fn now(&self) -> NaiveDateTime;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> NaiveDateTime {
        truncate(Utc::now().naive_utc())
    }
}

/// System time plus an offset that tests advance.
#[derive(Default)]
pub struct OffsetClock {
    offset: Mutex<chrono::Duration>,
}

impl OffsetClock {
    pub fn advance(&self, by: chrono::Duration) {
        *self.offset.lock().expect("clock lock") += by;
    }
}

impl Clock for OffsetClock {
    fn now(&self) -> NaiveDateTime {
        truncate(Utc::now().naive_utc() + *self.offset.lock().expect("clock lock"))
    }
}

fn truncate(t: NaiveDateTime) -> NaiveDateTime {
    use chrono::Timelike;
    t.with_nanosecond(t.nanosecond() / 1000 * 1000).unwrap_or(t)
}

/// Dates as staff read them: UTC, to the minute.
pub fn when(at: &NaiveDateTime) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

pub fn when_opt(at: &Option<NaiveDateTime>) -> String {
    at.as_ref().map(when).unwrap_or_else(|| "—".into())
}

/// Why a timestamp from a client was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeError {
    /// A valid date and time with no offset: which zone it means is a guess, so it is refused.
    NoOffset,
    /// Not an RFC 3339 date-time at all.
    Invalid,
}

impl TimeError {
    /// The stable field-error code.
    pub fn code(self) -> &'static str {
        match self {
            Self::NoOffset => "offset_required",
            Self::Invalid => "date_time",
        }
    }

    pub fn message(self, field: &str) -> String {
        match self {
            Self::NoOffset => format!("{field} needs an offset (RFC 3339, e.g. 2026-11-30T04:05:55Z or +02:00)"),
            Self::Invalid => format!("{field} must be an RFC 3339 date-time with an offset, e.g. 2026-11-30T04:05:55Z"),
        }
    }
}

impl std::fmt::Display for TimeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message("the timestamp"))
    }
}

/// Reads an RFC 3339 date-time with any offset (`Z`, `+02:00`) as the UTC instant it
/// names, truncated to microseconds like [`Clock::now`]. One without an offset is refused.
pub fn parse_rfc3339(raw: &str) -> Result<NaiveDateTime, TimeError> {
    match chrono::DateTime::parse_from_rfc3339(raw.trim()) {
        Ok(t) => Ok(truncate(t.naive_utc())),
        Err(_) if raw.trim().parse::<NaiveDateTime>().is_ok() => Err(TimeError::NoOffset),
        Err(_) => Err(TimeError::Invalid),
    }
}

/// The JSON form of a stored instant: RFC 3339 in UTC with `Z`
/// (`2026-11-30T05:04:56.660286Z`), so no client reads it as local time.
pub fn rfc3339(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.fZ").to_string()
}

/// `#[serde(with = "crate::clock::utc")]` on a `NaiveDateTime` (a UTC instant, as every
/// stored timestamp is): written with `Z`, read from any RFC 3339 offset. The OpenAPI
/// type stays `string`, `format: date-time`.
pub mod utc {
    use chrono::NaiveDateTime;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &NaiveDateTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::rfc3339(*t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDateTime, D::Error> {
        let raw = std::borrow::Cow::<str>::deserialize(d)?;
        super::parse_rfc3339(&raw).map_err(serde::de::Error::custom)
    }
}

/// [`utc`] for an `Option<NaiveDateTime>` (add `default` where the struct is read).
pub mod utc_opt {
    use chrono::NaiveDateTime;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Option<NaiveDateTime>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&super::rfc3339(*t)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDateTime>, D::Error> {
        match Option::<std::borrow::Cow<str>>::deserialize(d)? {
            Some(raw) => super::parse_rfc3339(&raw).map(Some).map_err(serde::de::Error::custom),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        s.parse().unwrap()
    }

    #[test]
    fn any_offset_is_read_as_the_same_utc_instant() {
        assert_eq!(parse_rfc3339("2026-11-30T04:05:55Z"), Ok(at("2026-11-30T04:05:55")));
        assert_eq!(parse_rfc3339("2026-11-30T06:05:55+02:00"), Ok(at("2026-11-30T04:05:55")));
        assert_eq!(parse_rfc3339("2026-11-29T23:05:55.1234567-05:00"), Ok(at("2026-11-30T04:05:55.123456")));
    }

    #[test]
    fn a_timestamp_without_offset_is_refused() {
        assert_eq!(parse_rfc3339("2026-11-30T04:05:55"), Err(TimeError::NoOffset));
        assert_eq!(parse_rfc3339("2026-11-30T04:05:55.5"), Err(TimeError::NoOffset));
        assert_eq!(parse_rfc3339("2026-11-30"), Err(TimeError::Invalid));
        assert_eq!(parse_rfc3339("yesterday"), Err(TimeError::Invalid));
    }

    #[test]
    fn instants_are_written_in_utc_with_z() {
        assert_eq!(rfc3339(at("2026-11-30T05:04:56.660286")), "2026-11-30T05:04:56.660286Z");
        assert_eq!(rfc3339(at("2026-11-30T05:04:56")), "2026-11-30T05:04:56Z");
        assert_eq!(rfc3339(at("2026-11-30T05:04:56.5")), "2026-11-30T05:04:56.500Z");
    }
}
