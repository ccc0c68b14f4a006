//! Prometheus metrics (the `prometheus` crate), one registry per running service so
//! two apps in one process (the tests) count apart. `GET /metrics` renders them in the
//! text exposition format; gauges that describe the database (outbox rows) are read at
//! scrape time, the rest are counted as things happen.

use std::time::Duration;

use actix_web::{get, web, HttpResponse};
use prometheus::{
    Encoder, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder,
};

use crate::db::schema::outbox;
use crate::error::AppResult;
use crate::AppState;

pub struct Metrics {
    registry: Registry,
    /// Requests answered, by method, route pattern and status.
    pub http_requests: IntCounterVec,
    pub http_duration: HistogramVec,
    pub pool_in_use: IntGauge,
    pub pool_idle: IntGauge,
    /// Requests waiting for a database admission permit (`Db::read` / `Db::tx`).
    pub pool_waiting: IntGauge,
    pub outbox: IntGaugeVec,
    pub job_last_success: GaugeVec,
    pub job_last_failure: GaugeVec,
    pub batch_build: HistogramVec,
    pub export: HistogramVec,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new_custom(Some("gatehouse".into()), None).expect("a valid registry prefix");
        let http_requests = IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests answered, by method, route pattern and status"),
            &["method", "route", "status"],
        )
        .expect("valid metric");
        let http_duration = HistogramVec::new(
            HistogramOpts::new("http_request_duration_seconds", "Time to answer an HTTP request, by route pattern"),
            &["method", "route"],
        )
        .expect("valid metric");
        let pool_in_use =
            IntGauge::new("db_pool_connections_in_use", "Database connections checked out").expect("valid metric");
        let pool_idle = IntGauge::new("db_pool_connections_idle", "Idle database connections").expect("valid metric");
        let pool_waiting = IntGauge::new("db_pool_waiting", "Requests waiting for a database connection permit")
            .expect("valid metric");
        let outbox = IntGaugeVec::new(Opts::new("outbox_emails", "Emails in the outbox, by status"), &["status"])
            .expect("valid metric");
        let job_last_success = GaugeVec::new(
            Opts::new("job_last_success_timestamp_seconds", "When a scheduled job last succeeded on this instance"),
            &["job"],
        )
        .expect("valid metric");
        let job_last_failure = GaugeVec::new(
            Opts::new("job_last_failure_timestamp_seconds", "When a scheduled job last failed on this instance"),
            &["job"],
        )
        .expect("valid metric");
        let seconds = vec![0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0];
        let batch_build = HistogramVec::new(
            HistogramOpts::new("payout_batch_build_seconds", "Time to build a payout batch").buckets(seconds.clone()),
            &["outcome"],
        )
        .expect("valid metric");
        let export = HistogramVec::new(
            HistogramOpts::new("payout_export_seconds", "Time to prepare a payout export, by format").buckets(seconds),
            &["format"],
        )
        .expect("valid metric");
        for metric in [
            Box::new(http_requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(http_duration.clone()),
            Box::new(pool_in_use.clone()),
            Box::new(pool_idle.clone()),
            Box::new(pool_waiting.clone()),
            Box::new(outbox.clone()),
            Box::new(job_last_success.clone()),
            Box::new(job_last_failure.clone()),
            Box::new(batch_build.clone()),
            Box::new(export.clone()),
        ] {
            registry.register(metric).expect("each metric is registered once");
        }
        Self {
            registry,
            http_requests,
            http_duration,
            pool_in_use,
            pool_idle,
            pool_waiting,
            outbox,
            job_last_success,
            job_last_failure,
            batch_build,
            export,
        }
    }

    pub fn observe_request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        self.http_requests.with_label_values(&[method, route, &status.to_string()]).inc();
        self.http_duration.with_label_values(&[method, route]).observe(elapsed.as_secs_f64());
    }

    /// Records the end of a job run at `at` (Unix seconds).
    pub fn job_finished(&self, job: &str, succeeded: bool, at: f64) {
        let gauge = if succeeded { &self.job_last_success } else { &self.job_last_failure };
        gauge.with_label_values(&[job]).set(at);
    }

    fn render(&self) -> String {
        let mut out = Vec::new();
        // Encoding text into a Vec cannot fail.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// The outbox's rows by status, counted at scrape time.
fn outbox_counts(conn: &mut crate::db::DbConn) -> AppResult<Vec<(String, i64)>> {
    use diesel::prelude::*;
    Ok(outbox::table.group_by(outbox::status).select((outbox::status, diesel::dsl::count_star())).load(conn)?)
}

/// Metrics in the Prometheus text format.
#[get("/metrics")]
pub async fn metrics(state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let st = state.clone();
    let counts = st.db.read(outbox_counts).await?;
    let m = &state.metrics;
    for status in ["pending", "sent", "dead"] {
        let n = counts.iter().find(|(s, _)| s == status).map_or(0, |(_, n)| *n);
        m.outbox.with_label_values(&[status]).set(n);
    }
    let pool = state.db.pool_state();
    m.pool_in_use.set(i64::from(pool.connections - pool.idle_connections));
    m.pool_idle.set(i64::from(pool.idle_connections));
    m.pool_waiting.set(pool.waiting);
    Ok(HttpResponse::Ok().content_type("text/plain; version=0.0.4; charset=utf-8").body(m.render()))
}
