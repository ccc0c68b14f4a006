//! Scheduled jobs: run in-process on an interval, by `gatehouse jobs run-due`, and by
//! admins through `POST /admin/jobs/run-due`. Every job is idempotent.

pub mod routes;

use std::sync::Arc;

use serde::Serialize;
use utoipa::ToSchema;

use crate::credentials::service::CredentialExpiryReport;
use crate::error::AppResult;
use crate::onboarding::service::ReverificationReport;
use crate::AppState;

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
    /// API sessions that ended more than a day ago and throttle events that no longer
    /// count, deleted.
    pub auth_records_purged: usize,
}

/// Runs every job that is due now.
pub fn run_due(state: &AppState) -> AppResult<JobReport> {
    Ok(JobReport {
        reverification: crate::onboarding::service::run_reverification(state)?,
        credential_expiry: crate::credentials::service::run_expiry(state)?,
        attempts_closed: crate::qualifications::service::close_expired_attempts(state)?,
        work: crate::work::service::run_jobs(state)?,
        year_end: crate::tax::filing::run_year_end(state)?,
        console_sessions_purged: crate::console::session::purge_ended(state)?,
        auth_records_purged: crate::auth::service::purge_ended(state)?,
    })
}

pub fn spawn(state: Arc<AppState>) {
    let interval = state.config.operations.job_interval;
    actix_web::rt::spawn(async move {
        let mut ticker = actix_web::rt::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let s = state.clone();
            match actix_web::web::block(move || run_due(&s)).await {
                Ok(Ok(report)) => tracing::info!(?report, "jobs ran"),
                Ok(Err(e)) => tracing::warn!(error = %e, "jobs failed"),
                Err(e) => tracing::error!(error = %e, "jobs panicked"),
            }
        }
    });
}
