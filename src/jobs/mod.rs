//! Scheduled jobs: run in-process on an interval, by `gatehouse jobs run-due`, and by
//! admins through `POST /admin/jobs/run-due`. Every job is idempotent, and each runs under
//! a lease ([`lease`]) so that several instances run it once per period.

pub mod lease;
pub mod routes;

use std::sync::Arc;

use serde::Serialize;
use utoipa::ToSchema;

use crate::credentials::service::CredentialExpiryReport;
use crate::error::{AppError, AppResult};
use crate::onboarding::service::ReverificationReport;
use crate::AppState;
use lease::Mode;

#[derive(Debug, Default, Serialize, ToSchema)]
pub struct JobReport {
    pub reverification: ReverificationReport,
    pub credential_expiry: CredentialExpiryReport,
    /// Test attempts left open past their deadline, closed and graded.
    pub attempts_closed: usize,
    pub work: crate::work::service::WorkJobReport,
    /// Last year's 1099-NEC forms, issued during January.
    pub year_end: Option<crate::tax::filing::IssueReport>,
    /// Console sessions that ended more than a day ago, deleted.
    pub console_sessions_purged: usize,
    /// Jobs not run by this pass: not due yet, or run by another instance.
    pub skipped: Vec<String>,
    /// Form I-9 documents whose retention ended: files and numbers deleted.
    pub i9_documents_purged: usize,
    /// API sessions that ended more than a day ago and throttle events that no longer
    /// count, deleted.
    pub auth_records_purged: usize,
    /// The standing run: figures per contributor and domain, and the moves they call for.
    pub standing: crate::quality::service::StandingRunReport,
}

/// One pass over the jobs, each under its lease.
struct Pass<'a> {
    state: &'a AppState,
    mode: Mode,
    skipped: Vec<String>,
    first_error: Option<AppError>,
}

impl Pass<'_> {
    /// Runs one job; a failure is recorded and the pass goes on with the next job.
    fn job<T>(&mut self, name: &str, f: impl FnOnce(&AppState) -> AppResult<T>) -> Option<T> {
        match lease::run(self.state, name, self.mode, f) {
            Ok(Some(report)) => Some(report),
            Ok(None) => {
                self.skipped.push(name.to_string());
                None
            }
            Err(e) => {
                tracing::warn!(job = name, error = %e, "job failed");
                self.first_error.get_or_insert(e);
                None
            }
        }
    }
}

/// Runs every job now (after any run in progress elsewhere); the first failure is
/// returned once the other jobs have run.
pub fn run_due(state: &AppState) -> AppResult<JobReport> {
    let (report, error) = run_pass(state, Mode::Now);
    error.map_or(Ok(report), Err)
}

/// The timer's pass: the jobs that are due and that no other instance is running.
pub fn run_scheduled(state: &AppState) -> (JobReport, Option<AppError>) {
    run_pass(state, Mode::Scheduled)
}

fn run_pass(state: &AppState, mode: Mode) -> (JobReport, Option<AppError>) {
    let mut pass = Pass { state, mode, skipped: Vec::new(), first_error: None };
    let mut report = JobReport::default();
    if let Some(r) = pass.job("reverification", crate::onboarding::service::run_reverification) {
        report.reverification = r;
    }
    if let Some(r) = pass.job("credential_expiry", crate::credentials::service::run_expiry) {
        report.credential_expiry = r;
    }
    if let Some(r) = pass.job("test_attempts", crate::qualifications::service::close_expired_attempts) {
        report.attempts_closed = r;
    }
    if let Some(r) = pass.job("work", crate::work::service::run_jobs) {
        report.work = r;
    }
    // After the work job, so records approved automatically count in the figures.
    if let Some(r) = pass.job("standing", crate::quality::service::run_standing) {
        report.standing = r;
    }
    if let Some(r) = pass.job("year_end", crate::tax::filing::run_year_end) {
        report.year_end = r;
    }
    if let Some(r) = pass.job("console_sessions", crate::console::session::purge_ended) {
        report.console_sessions_purged = r;
    }
    if let Some(r) = pass.job("i9_retention", crate::onboarding::retention::run_retention) {
        report.i9_documents_purged = r;
    }
    if let Some(r) = pass.job("auth_records", crate::auth::service::purge_ended) {
        report.auth_records_purged = r;
    }
    report.skipped = pass.skipped;
    (report, pass.first_error)
}

/// Runs the due jobs on the blocking pool every `job_interval` until the server stops;
/// `/readyz` reports the loop's passes and whether it still runs.
pub fn spawn(state: Arc<AppState>) {
    let interval = state.config.operations.job_interval;
    actix_web::rt::spawn(async move {
        let beat = state.workers.jobs.running();
        let mut ticker = actix_web::rt::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let s = state.clone();
            match actix_web::web::block(move || run_scheduled(&s)).await {
                Ok((report, None)) => tracing::info!(?report, "jobs ran"),
                Ok((report, Some(e))) => tracing::warn!(?report, error = %e, "jobs failed"),
                Err(e) => tracing::error!(error = %e, "jobs panicked"),
            }
            beat.pass(state.clock.now());
        }
    });
}
