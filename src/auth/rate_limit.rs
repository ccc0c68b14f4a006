//! Login rate limits per account and per client IP (governor, in memory per instance).

use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::error::AppError;

pub struct LoginLimiter {
    per_account: DefaultKeyedRateLimiter<String>,
    per_ip: DefaultKeyedRateLimiter<String>,
}

impl LoginLimiter {
    pub fn new(per_account_per_minute: u32, per_ip_per_minute: u32) -> Self {
        let quota = |n: u32| Quota::per_minute(NonZeroU32::new(n.max(1)).expect("non-zero"));
        Self {
            per_account: DefaultKeyedRateLimiter::keyed(quota(per_account_per_minute)),
            per_ip: DefaultKeyedRateLimiter::keyed(quota(per_ip_per_minute)),
        }
    }

    /// Counts one login attempt; `RateLimited` with the wait when either budget is spent.
    pub fn check(&self, email: &str, ip: Option<&str>) -> Result<(), AppError> {
        let now = DefaultClock::default().now();
        let wait = |limiter: &DefaultKeyedRateLimiter<String>, key: String| {
            limiter.check_key(&key).err().map(|not_until| not_until.wait_time_from(now))
        };
        let waits =
            [ip.and_then(|ip| wait(&self.per_ip, ip.to_string())), wait(&self.per_account, email.to_lowercase())];
        if self.per_account.len() > 100_000 {
            self.per_account.retain_recent();
            self.per_ip.retain_recent();
        }
        match waits.into_iter().flatten().max() {
            Some(d) => Err(AppError::RateLimited { retry_after_secs: d.as_secs().max(1) }),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_budget_is_separate_from_ip_budget() {
        let l = LoginLimiter::new(2, 100);
        assert!(l.check("a@x.com", Some("1.1.1.1")).is_ok());
        assert!(l.check("A@x.com", Some("1.1.1.2")).is_ok());
        assert!(matches!(l.check("a@x.com", Some("1.1.1.3")), Err(AppError::RateLimited { .. })));
        assert!(l.check("b@x.com", Some("1.1.1.1")).is_ok());
    }
}
