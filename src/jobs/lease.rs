//! Leases that make a job run once per period across every instance on one database.
//!
//! Each job has a row in `job_runs`. To run it, an instance takes the lease with one
//! conditional UPDATE (the job is due, or the run is manual, and nobody holds a live
//! lease), checked by its affected-row count: the same on SQLite and PostgreSQL, like the
//! outbox's claims. A holder that dies leaves a lease that expires after [`lease_length`];
//! another instance then runs the job (jobs are idempotent, so a run cut short is simply
//! done again). Any function `&AppState -> AppResult<T>` runs under [`run`].

use std::sync::OnceLock;
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::schema::job_runs;
use crate::db::DbConn;
use crate::error::{AppError, AppResult};
use crate::AppState;

/// How long a manual run waits for a run of the same job in progress elsewhere.
const MANUAL_WAIT: Duration = Duration::from_secs(60);

/// How a run was asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// By the timer: only when the job is due (once per period across instances).
    Scheduled,
    /// By an operator (`jobs run-due`, the admin endpoint): now, unless another
    /// instance is running it.
    Now,
}

/// How a job's last run ended (`job_runs.last_outcome`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Succeeded,
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "succeeded" => Some(Self::Succeeded),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }
}

/// This process, as named in `job_runs.locked_by`.
pub fn instance_id() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| format!("pid{}-{}", std::process::id(), &uuid::Uuid::new_v4().simple().to_string()[..8]))
}

/// A lease outlives a normal run by far: two periods, at least five minutes (and at most
/// ten years, whatever the period).
pub fn lease_length(period: Duration) -> chrono::Duration {
    const TEN_YEARS: u64 = 10 * 365 * 24 * 3600;
    chrono::Duration::seconds(period.as_secs().saturating_mul(2).clamp(300, TEN_YEARS) as i64)
}

fn period(state: &AppState) -> chrono::Duration {
    chrono::Duration::from_std(state.config.operations.job_interval).unwrap_or(chrono::Duration::days(1))
}

/// Takes `name`'s lease; true when this instance now holds it.
fn take(conn: &mut DbConn, name: &str, mode: Mode, now: NaiveDateTime, lease: chrono::Duration) -> AppResult<bool> {
    // The row exists from a job's first run on. Diesel's MultiConnection has no upsert;
    // this statement is the same on both backends (SQLite ≥ 3.24), and job names are
    // code constants (checked, then inlined).
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
        return Err(AppError::Internal(anyhow::anyhow!("job name {name:?}: lower-case letters, digits and _ only")));
    }
    diesel::sql_query(format!(
        "INSERT INTO job_runs (name, next_due_at, runs) VALUES ('{name}', '1970-01-01 00:00:00', 0) \
         ON CONFLICT (name) DO NOTHING"
    ))
    .execute(conn)?;
    let free = job_runs::locked_until.is_null().or(job_runs::locked_until.lt(now));
    let target = job_runs::table.filter(job_runs::name.eq(name)).filter(free);
    let set = (
        job_runs::locked_by.eq(instance_id()),
        job_runs::locked_until.eq(now + lease),
        job_runs::last_started_at.eq(now),
        job_runs::runs.eq(job_runs::runs + 1),
    );
    let taken = match mode {
        Mode::Scheduled => diesel::update(target.filter(job_runs::next_due_at.le(now))).set(set).execute(conn)?,
        Mode::Now => diesel::update(target).set(set).execute(conn)?,
    };
    Ok(taken == 1)
}

/// Records the outcome and frees the lease; the next run is due one period after this
/// one started (a failed run stays due, so the next tick retries it).
fn release(
    conn: &mut DbConn,
    name: &str,
    started: NaiveDateTime,
    now: NaiveDateTime,
    period: chrono::Duration,
    error: Option<&str>,
) -> AppResult<()> {
    let outcome = if error.is_some() { Outcome::Failed } else { Outcome::Succeeded };
    let mine = job_runs::table.filter(job_runs::name.eq(name)).filter(job_runs::locked_by.eq(instance_id()));
    diesel::update(mine)
        .set((
            job_runs::locked_by.eq(None::<String>),
            job_runs::locked_until.eq(None::<NaiveDateTime>),
            job_runs::last_finished_at.eq(now),
            job_runs::last_outcome.eq(outcome.as_str()),
            job_runs::last_error.eq(error),
        ))
        .execute(conn)?;
    if error.is_none() {
        diesel::update(job_runs::table.filter(job_runs::name.eq(name)))
            .set(job_runs::next_due_at.eq(started + period))
            .execute(conn)?;
    }
    Ok(())
}

/// Runs `job` if this instance gets its lease: `Ok(None)` when it is not due or another
/// instance holds it.
pub fn run<T>(
    state: &AppState,
    name: &str,
    mode: Mode,
    job: impl FnOnce(&AppState) -> AppResult<T>,
) -> AppResult<Option<T>> {
    let period = period(state);
    let lease = lease_length(state.config.operations.job_interval);
    let mut started = state.clock.now();
    let patience = std::time::Instant::now() + MANUAL_WAIT;
    while !state.db.tx_sync(|c| take(c, name, mode, started, lease))? {
        // A manual run waits for a run in progress elsewhere, then runs.
        if mode == Mode::Scheduled || std::time::Instant::now() > patience {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(50));
        started = state.clock.now();
    }
    let result = job(state);
    let error = result.as_ref().err().map(|e: &AppError| format!("{e}: {e:?}").chars().take(2000).collect::<String>());
    let now = state.clock.now();
    state.metrics.job_finished(name, error.is_none(), now.and_utc().timestamp() as f64);
    if let Err(e) = state.db.tx_sync(|c| release(c, name, started, now, period, error.as_deref())) {
        // The lease then expires on its own.
        tracing::warn!(job = name, error = %e, "could not record the end of a job run");
    }
    result.map(Some)
}

/// A job's row as `/readyz` reports it.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobStatus {
    pub name: String,
    pub runs: i64,
    pub last_started_at: Option<DateTime<Utc>>,
    pub last_finished_at: Option<DateTime<Utc>>,
    pub last_outcome: Option<Outcome>,
    pub next_due_at: DateTime<Utc>,
    /// The instance running it now, if any.
    pub running_on: Option<String>,
}

type StatusRow = (
    String,
    i64,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
    Option<String>,
    NaiveDateTime,
    Option<String>,
    Option<NaiveDateTime>,
);

pub fn statuses(conn: &mut DbConn, now: NaiveDateTime) -> AppResult<Vec<JobStatus>> {
    let rows: Vec<StatusRow> = job_runs::table
        .order(job_runs::name)
        .select((
            job_runs::name,
            job_runs::runs,
            job_runs::last_started_at,
            job_runs::last_finished_at,
            job_runs::last_outcome,
            job_runs::next_due_at,
            job_runs::locked_by,
            job_runs::locked_until,
        ))
        .load(conn)?;
    rows.into_iter()
        .map(|(name, runs, started, finished, outcome, due, by, until)| {
            let last_outcome = match outcome {
                None => None,
                Some(o) => Some(Outcome::parse(&o).ok_or_else(|| {
                    AppError::Internal(anyhow::anyhow!("job_runs.last_outcome {o:?} of {name} is not an outcome"))
                })?),
            };
            Ok(JobStatus {
                runs,
                last_started_at: started.map(|t| t.and_utc()),
                last_finished_at: finished.map(|t| t.and_utc()),
                last_outcome,
                next_due_at: due.and_utc(),
                running_on: by.filter(|_| until.is_some_and(|u| u >= now)),
                name,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leases_outlast_a_period_and_never_fall_under_five_minutes() {
        assert_eq!(lease_length(Duration::from_secs(1)), chrono::Duration::seconds(300));
        assert_eq!(lease_length(Duration::from_secs(900)), chrono::Duration::seconds(1800));
        assert_eq!(lease_length(Duration::from_secs(u64::MAX)), chrono::Duration::days(3650));
    }

    #[test]
    fn outcomes_parse_strictly() {
        for o in [Outcome::Succeeded, Outcome::Failed] {
            assert_eq!(Outcome::parse(o.as_str()), Some(o));
        }
        assert_eq!(Outcome::parse("ok"), None);
    }
}
