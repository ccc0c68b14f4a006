//! Liveness (`/healthz`) and readiness (`/readyz`): the database reachable and migrated,
//! and the background workers (outbox, jobs) still running, with their last runs.

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use actix_web::{get, web, HttpResponse};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::schema::outbox;
use crate::error::AppResult;
use crate::jobs::lease::JobStatus;
use crate::AppState;

#[derive(Serialize, ToSchema)]
pub struct Health {
    pub status: &'static str,
}

/// The process is up.
#[utoipa::path(tag = "health", responses((status = 200, body = Health)))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

/// How long `/readyz` waits for the database.
const DATABASE_CHECK_TIMEOUT: Duration = Duration::from_secs(2);

const NOT_STARTED: u8 = 0;
const RUNNING: u8 = 1;
const STOPPED: u8 = 2;

/// Milliseconds on a monotonic clock (the service clock may be moved by tests; a worker's
/// pace is real time).
fn mono_ms() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_millis() as u64
}

/// One background loop, as the readiness check sees it.
pub struct Worker {
    interval: Duration,
    state: AtomicU8,
    last_pass_ms: AtomicU64,
    last_pass_at: Mutex<Option<NaiveDateTime>>,
}

impl Worker {
    pub fn new(interval: Duration) -> Arc<Self> {
        Arc::new(Self {
            interval,
            state: AtomicU8::new(NOT_STARTED),
            last_pass_ms: AtomicU64::new(mono_ms()),
            last_pass_at: Mutex::new(None),
        })
    }

    /// Marks the loop running; the returned guard marks it stopped when the loop's task
    /// ends for any reason, a panic included.
    pub fn running(self: &Arc<Self>) -> Beat {
        self.last_pass_ms.store(mono_ms(), Ordering::Relaxed);
        self.state.store(RUNNING, Ordering::Relaxed);
        Beat(self.clone())
    }

    /// Stalled: no pass for two intervals and five minutes (a pass may wait on a slow
    /// database or SMTP server, but not for ever).
    fn stalled(&self) -> bool {
        let allowed = self.interval.saturating_mul(2) + Duration::from_secs(300);
        mono_ms().saturating_sub(self.last_pass_ms.load(Ordering::Relaxed)) > allowed.as_millis() as u64
    }

    fn report(&self) -> WorkerReport {
        let state = self.state.load(Ordering::Relaxed);
        let status = match state {
            NOT_STARTED => WorkerState::Starting,
            RUNNING if self.stalled() => WorkerState::Stalled,
            RUNNING => WorkerState::Running,
            _ => WorkerState::Stopped,
        };
        let last_pass_at = *self.last_pass_at.lock().unwrap_or_else(|p| p.into_inner());
        WorkerReport { status, last_pass_at: last_pass_at.map(|t| t.and_utc()) }
    }
}

/// Held by a running loop.
pub struct Beat(Arc<Worker>);

impl Beat {
    /// Records one completed pass (whatever its outcome) at the service time `now`.
    pub fn pass(&self, now: NaiveDateTime) {
        self.0.last_pass_ms.store(mono_ms(), Ordering::Relaxed);
        *self.0.last_pass_at.lock().unwrap_or_else(|p| p.into_inner()) = Some(now);
    }
}

impl Drop for Beat {
    fn drop(&mut self) {
        self.0.state.store(STOPPED, Ordering::Relaxed);
    }
}

/// The background loops of this instance.
pub struct Workers {
    pub outbox: Arc<Worker>,
    pub jobs: Arc<Worker>,
}

impl Workers {
    pub fn new(config: &crate::config::Config) -> Self {
        Self { outbox: Worker::new(config.mail.poll_interval), jobs: Worker::new(config.operations.job_interval) }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WorkerState {
    /// Spawned, first pass not begun.
    Starting,
    Running,
    /// Running, but no pass for far longer than its interval.
    Stalled,
    /// The loop ended (a panic): this instance needs a restart.
    Stopped,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WorkerReport {
    pub status: WorkerState,
    /// End of this instance's last pass.
    pub last_pass_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WorkersReport {
    pub outbox: WorkerReport,
    pub jobs: WorkerReport,
}

/// The outbox as every instance shares it.
#[derive(Debug, Serialize, ToSchema)]
pub struct OutboxReport {
    pub pending: i64,
    pub dead: i64,
    /// When the oldest pending email was (or is) due: far in the past means nothing sends.
    pub oldest_pending_due_at: Option<DateTime<Utc>>,
}

/// `ready`, or the first reason not to route traffic here.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReadinessStatus {
    Ready,
    DatabaseUnreachable,
    MigrationsPending,
    WorkerStopped,
}

#[derive(Serialize, ToSchema)]
#[schema(as = ServiceReadiness)]
pub struct Readiness {
    pub status: ReadinessStatus,
    pub workers: WorkersReport,
    /// Every scheduled job across instances (absent while the database is unreachable).
    pub jobs: Option<Vec<JobStatus>>,
    pub outbox: Option<OutboxReport>,
}

fn outbox_report(conn: &mut crate::db::DbConn) -> AppResult<OutboxReport> {
    use crate::notifications::model::OutboxStatus;
    let count = |conn: &mut crate::db::DbConn, status: OutboxStatus| -> AppResult<i64> {
        Ok(outbox::table.filter(outbox::status.eq(status)).count().get_result(conn)?)
    };
    let oldest: Option<NaiveDateTime> = outbox::table
        .filter(outbox::status.eq(OutboxStatus::Pending))
        .select(diesel::dsl::min(outbox::next_attempt_at))
        .first(conn)?;
    Ok(OutboxReport {
        pending: count(conn, OutboxStatus::Pending)?,
        dead: count(conn, OutboxStatus::Dead)?,
        oldest_pending_due_at: oldest.map(|t| t.and_utc()),
    })
}

/// Ready when the database is reachable and migrated and the outbox and job loops run;
/// 503 otherwise. The details say what each worker and job did last.
#[utoipa::path(tag = "health", responses((status = 200, body = Readiness), (status = 503, body = Readiness)))]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let st = state.clone();
    // A database that refuses connections would hold the check for the pool's whole
    // checkout timeout; a load balancer needs its answer sooner.
    let database = actix_web::rt::time::timeout(
        DATABASE_CHECK_TIMEOUT,
        web::block(move || -> AppResult<(bool, Vec<JobStatus>, OutboxReport)> {
            let migrated = st.db.is_ready()?;
            st.db.read_sync(|conn| {
                Ok((migrated, crate::jobs::lease::statuses(conn, st.clock.now())?, outbox_report(conn)?))
            })
        }),
    )
    .await
    .unwrap_or_else(|_| Ok(Err(crate::error::AppError::Unavailable("no answer within 2 s".into()))));
    let workers = WorkersReport { outbox: state.workers.outbox.report(), jobs: state.workers.jobs.report() };
    let worker_down = [&workers.outbox, &workers.jobs]
        .iter()
        .any(|w| matches!(w.status, WorkerState::Stopped | WorkerState::Stalled));
    let (status, jobs, outbox) = match database {
        Ok(Ok((false, jobs, outbox))) => (ReadinessStatus::MigrationsPending, Some(jobs), Some(outbox)),
        Ok(Ok((true, jobs, outbox))) => {
            let status = if worker_down { ReadinessStatus::WorkerStopped } else { ReadinessStatus::Ready };
            (status, Some(jobs), Some(outbox))
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: database unreachable");
            (ReadinessStatus::DatabaseUnreachable, None, None)
        }
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (ReadinessStatus::DatabaseUnreachable, None, None)
        }
    };
    let body = Readiness { status, workers, jobs, outbox };
    if status == ReadinessStatus::Ready {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().insert_header(("Retry-After", "5")).json(body)
    }
}
