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
