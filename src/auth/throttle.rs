//! Throttles of sign-ins and emailed links, kept in the database (`auth_throttle`) so
//! they hold across every instance on one PostgreSQL. One row per counted event; the
//! decisions are pure functions of the counts over a sliding window.
//!
//! Sign-in (docs/design.md, "Sign-in limits"): only failures count. Failures per
//! (account, address) and per address are limited; failures on an account from many
//! addresses only *slow* it (one password check per configured delay), and an address
//! the owner signed in from before is exempt, so nobody can keep a person out for
//! longer than that delay.

use std::collections::HashMap;

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::config::AuthConfig;
use crate::db::schema::auth_throttle;
use crate::db::DbConn;
use crate::error::{AppError, AppResult};

/// How long a successful sign-in keeps its address exempt from the account slowdown.
pub const KNOWN_ADDRESS_DAYS: i64 = 60;

/// What is counted. Stored as text under a CHECK constraint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    LoginFailureAccountIp,
    LoginFailureIp,
    LoginFailureAccount,
    LoginSuccessAccountIp,
    PasswordResetAddress,
    PasswordResetIp,
    VerifyEmailAddress,
    VerifyEmailIp,
}

impl Scope {
    pub const ALL: [Scope; 8] = [
        Self::LoginFailureAccountIp,
        Self::LoginFailureIp,
        Self::LoginFailureAccount,
        Self::LoginSuccessAccountIp,
        Self::PasswordResetAddress,
        Self::PasswordResetIp,
        Self::VerifyEmailAddress,
        Self::VerifyEmailIp,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::LoginFailureAccountIp => "login_failure_account_ip",
            Self::LoginFailureIp => "login_failure_ip",
            Self::LoginFailureAccount => "login_failure_account",
            Self::LoginSuccessAccountIp => "login_success_account_ip",
            Self::PasswordResetAddress => "password_reset_address",
            Self::PasswordResetIp => "password_reset_ip",
            Self::VerifyEmailAddress => "verify_email_address",
            Self::VerifyEmailIp => "verify_email_ip",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|scope| scope.as_str() == s)
    }

    /// How long an event of this scope counts.
    pub fn window(self, config: &AuthConfig) -> Duration {
        match self {
            Self::LoginFailureAccountIp | Self::LoginFailureIp | Self::LoginFailureAccount => config.login_window,
            Self::LoginSuccessAccountIp => Duration::days(KNOWN_ADDRESS_DAYS),
            Self::PasswordResetAddress | Self::PasswordResetIp | Self::VerifyEmailAddress | Self::VerifyEmailIp => {
                config.email_link_window
            }
        }
    }
}

/// The subject of an email address: its SHA-256, so the table holds no addresses
/// (unknown ones included: a reset for an address without an account counts the same).
pub fn address(email: &str) -> String {
    crate::crypto::sha256_hex(super::service::normalize_email(email).as_bytes())
}

/// The subject of an (account, client address) pair.
pub fn account_ip(email: &str, ip: &str) -> String {
    format!("{}|{ip}", address(email))
}

/// The events of one (scope, subject) inside its window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Count {
    pub events: i64,
    pub oldest: Option<NaiveDateTime>,
    pub newest: Option<NaiveDateTime>,
}

/// Counts the events of several (scope, subject) pairs, each over its own window, in one
/// query (the index on scope, subject, occurred_at serves each branch).
pub fn counts(
    conn: &mut DbConn,
    config: &AuthConfig,
    now: NaiveDateTime,
    pairs: &[(Scope, &str)],
) -> AppResult<HashMap<Scope, Count>> {
    let mut query = auth_throttle::table
        .group_by(auth_throttle::scope)
        .select((
            auth_throttle::scope,
            diesel::dsl::count_star(),
            diesel::dsl::min(auth_throttle::occurred_at),
            diesel::dsl::max(auth_throttle::occurred_at),
        ))
        .into_boxed();
    for (i, (scope, subject)) in pairs.iter().enumerate() {
        let matches = auth_throttle::scope
            .eq(scope.as_str())
            .and(auth_throttle::subject.eq(subject.to_string()))
            .and(auth_throttle::occurred_at.gt(now - scope.window(config)));
        query = if i == 0 { query.filter(matches) } else { query.or_filter(matches) };
    }
    if pairs.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(String, i64, Option<NaiveDateTime>, Option<NaiveDateTime>)> = query.load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(scope, events, oldest, newest)| Some((Scope::parse(&scope)?, Count { events, oldest, newest })))
        .collect())
}

#[derive(Insertable)]
#[diesel(table_name = auth_throttle)]
struct NewEvent<'a> {
    scope: &'a str,
    subject: &'a str,
    occurred_at: NaiveDateTime,
}

/// Records one event per (scope, subject); returns their ids.
pub fn record(conn: &mut DbConn, now: NaiveDateTime, events: &[(Scope, &str)]) -> AppResult<Vec<i64>> {
    let mut ids = Vec::with_capacity(events.len());
    for (scope, subject) in events {
        ids.push(
            diesel::insert_into(auth_throttle::table)
                .values(NewEvent { scope: scope.as_str(), subject, occurred_at: now })
                .returning(auth_throttle::id)
                .get_result(conn)?,
        );
    }
    Ok(ids)
}

/// Deletes events by id (an attempt counted in advance that succeeded).
pub fn forget(conn: &mut DbConn, ids: &[i64]) -> AppResult<()> {
    diesel::delete(auth_throttle::table.filter(auth_throttle::id.eq_any(ids))).execute(conn)?;
    Ok(())
}

/// Forgets the events of one (scope, subject): a successful sign-in clears the failures
/// of its (account, address).
pub fn clear(conn: &mut DbConn, scope: Scope, subject: &str) -> AppResult<()> {
    diesel::delete(
        auth_throttle::table.filter(auth_throttle::scope.eq(scope.as_str())).filter(auth_throttle::subject.eq(subject)),
    )
    .execute(conn)?;
    Ok(())
}

/// Deletes events that no longer count (the job).
pub fn purge(conn: &mut DbConn, config: &AuthConfig, now: NaiveDateTime) -> AppResult<usize> {
    let mut n = 0;
    for scope in Scope::ALL {
        n += diesel::delete(
            auth_throttle::table
                .filter(auth_throttle::scope.eq(scope.as_str()))
                .filter(auth_throttle::occurred_at.le(now - scope.window(config))),
        )
        .execute(conn)?;
    }
    Ok(n)
}

fn seconds_until(now: NaiveDateTime, at: NaiveDateTime) -> u64 {
    (at - now).num_seconds().max(1) as u64
}

/// The wait before a budget of `limit` events per `window` allows one more: none while
/// fewer than `limit` events are in the window, else until the oldest leaves it.
pub fn budget_wait(now: NaiveDateTime, window: Duration, limit: i64, count: &Count) -> Option<u64> {
    if count.events < limit {
        return None;
    }
    count.oldest.map(|oldest| seconds_until(now, oldest + window)).or(Some(window.num_seconds().max(1) as u64))
}

/// Counts that decide whether a password may be checked now.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoginCounts {
    pub account_ip: Count,
    pub ip: Count,
    pub account: Count,
    /// The owner signed in from this address recently.
    pub known_address: bool,
}

/// The wait (seconds) before this sign-in attempt is looked at, or `None` to check the
/// password now. The account slowdown waits at most `login_account_delay` after the
/// last failure on the account, and never applies to an address already known good.
pub fn login_wait(config: &AuthConfig, now: NaiveDateTime, c: &LoginCounts) -> Option<u64> {
    let window = config.login_window;
    let pair = budget_wait(now, window, config.login_failures_per_account_ip, &c.account_ip);
    let ip = budget_wait(now, window, config.login_failures_per_ip, &c.ip);
    let slowed = (!c.known_address && c.account.events >= config.login_account_slowdown_after)
        .then(|| c.account.newest.map(|last| last + config.login_account_delay).filter(|until| *until > now))
        .flatten()
        .map(|until| seconds_until(now, until));
    [pair, ip, slowed].into_iter().flatten().max()
}

/// The refusal of a throttled request.
pub fn limited(retry_after_secs: u64) -> AppError {
    AppError::RateLimited { retry_after_secs }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap().naive_utc()
    }

    fn count(events: i64, oldest: i64, newest: i64) -> Count {
        Count { events, oldest: Some(at(oldest)), newest: Some(at(newest)) }
    }

    fn config() -> AuthConfig {
        AuthConfig {
            login_window: Duration::minutes(15),
            login_failures_per_account_ip: 5,
            login_failures_per_ip: 50,
            login_account_slowdown_after: 10,
            login_account_delay: Duration::seconds(60),
            ..AuthConfig::default()
        }
    }

    #[test]
    fn scopes_round_trip() {
        for s in Scope::ALL {
            assert_eq!(Scope::parse(s.as_str()), Some(s));
        }
        assert_eq!(Scope::parse("login"), None);
    }

    #[test]
    fn a_budget_frees_when_its_oldest_event_leaves_the_window() {
        let w = Duration::seconds(900);
        assert_eq!(budget_wait(at(100), w, 5, &count(4, 0, 90)), None);
        assert_eq!(budget_wait(at(100), w, 5, &count(5, 0, 90)), Some(800));
        assert_eq!(budget_wait(at(899), w, 5, &count(5, 0, 90)), Some(1));
    }

    #[test]
    fn failures_from_one_address_do_not_stop_the_owner_elsewhere() {
        let c = config();
        let attacker = LoginCounts {
            account_ip: count(5, 0, 40),
            ip: count(5, 0, 40),
            account: count(5, 0, 40),
            known_address: false,
        };
        assert_eq!(login_wait(&c, at(50), &attacker), Some(850));
        let owner = LoginCounts { account: count(5, 0, 40), ..Default::default() };
        assert_eq!(login_wait(&c, at(50), &owner), None);
    }

    #[test]
    fn many_addresses_only_slow_the_account_and_never_a_known_one() {
        let c = config();
        let spread = LoginCounts { account: count(40, 0, 100), ..Default::default() };
        assert_eq!(login_wait(&c, at(110), &spread), Some(50), "one check per delay after the last failure");
        assert_eq!(login_wait(&c, at(160), &spread), None, "the delay is the most anyone waits");
        let known = LoginCounts { known_address: true, ..spread };
        assert_eq!(login_wait(&c, at(110), &known), None);
        let few = LoginCounts { account: count(9, 0, 100), ..Default::default() };
        assert_eq!(login_wait(&c, at(110), &few), None);
    }
}
