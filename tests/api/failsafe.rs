//! Failing safe (issue 15): a lost database answers 503 problem+json with Retry-After
//! and the service recovers by itself; every numeric setting is range-checked at start
//! (exit 2 naming the variable); every response says no-store and nosniff.

use std::process::Command;

use diesel::{Connection, RunQueryDsl};
use gatehouse::config::DatabaseUrl;
use serde_json::json;

use crate::both_backends;
use crate::payouts::{ach, add_method, fund, sign_w9};
use crate::support::{Backend, Options, TestApp, PASSWORD};
use crate::work::world;

both_backends!(
    a_lost_database_answers_503_with_retry_after_then_recovers,
    out_of_range_settings_stop_start_up_naming_the_variable,
    every_response_says_no_store_and_nosniff,
    an_export_that_fails_before_its_first_byte_is_a_problem_not_an_empty_200,
);

/// Sends `n` requests one after the other; each answer's status and Retry-After.
async fn answers(app: &TestApp, token: &str, n: usize) -> Vec<(u16, Option<String>, Option<String>)> {
    let mut out = Vec::new();
    for _ in 0..n {
        let resp = app.client.patch(app.url("/me")).bearer_auth(token).json(&json!({"full_name": "Still Here"})).send();
        let resp = resp.await.unwrap();
        let header = |n: &str| resp.headers().get(n).map(|v| v.to_str().unwrap().to_string());
        let (retry, content_type) = (header("retry-after"), header("content-type"));
        let status = resp.status().as_u16();
        if status == 503 {
            let body: serde_json::Value = crate::support::json(resp).await;
            assert_eq!(body["code"], "unavailable", "{body}");
        }
        out.push((status, retry, content_type));
    }
    out
}

async fn a_lost_database_answers_503_with_retry_after_then_recovers(backend: Backend) {
    let options = Options { vars: vec![("GATEHOUSE_SQLITE_BUSY_TIMEOUT_MS", "200".into())], ..Default::default() };
    let app = TestApp::spawn_with(backend, options).await;
    let t = app.applicant("db@example.com").await;
    assert_eq!(app.get("/me", Some(&t.access)).await.0, 200);

    let lost = match app.state.config.database.clone() {
        // PostgreSQL drops every connection of the database (a restart, a failover).
        DatabaseUrl::Postgres(url) => {
            let (base, name) = url.rsplit_once('/').unwrap();
            // The service adds `?sslmode=disable` to a loopback URL (config::without_loopback_tls):
            // its connections do not negotiate TLS with this loopback server, which offers it.
            let name = name.split('?').next().unwrap();
            #[derive(diesel::QueryableByName)]
            struct Tls {
                #[diesel(sql_type = diesel::sql_types::Bool)]
                ssl: bool,
            }
            let tls: Vec<Tls> = app
                .state
                .db
                .read_sync(|conn| {
                    Ok(diesel::sql_query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").load(conn)?)
                })
                .unwrap();
            assert_eq!(tls.iter().map(|t| t.ssl).collect::<Vec<_>>(), [false], "no TLS over loopback");
            let mut admin = diesel::PgConnection::establish(&format!("{base}/postgres")).unwrap();
            let killed = diesel::sql_query(format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"
            ))
            .execute(&mut admin)
            .unwrap();
            assert!(killed >= 1);
            let seen = answers(&app, &t.access, 8).await;
            assert_eq!(seen[0].0, 503, "the first request meets a dropped connection: {seen:?}");
            seen
        }
        // SQLite: another process holds the write lock past the busy timeout.
        DatabaseUrl::Sqlite(path) => {
            let mut other = diesel::SqliteConnection::establish(&path.to_string_lossy()).unwrap();
            diesel::sql_query("BEGIN IMMEDIATE").execute(&mut other).unwrap();
            let seen = answers(&app, &t.access, 2).await;
            assert!(seen.iter().all(|s| s.0 == 503), "{seen:?}");
            diesel::sql_query("COMMIT").execute(&mut other).unwrap();
            let mut after = answers(&app, &t.access, 1).await;
            let mut all = seen;
            all.append(&mut after);
            all
        }
    };
    for (status, retry, content_type) in &lost {
        assert!(matches!(status, 200 | 503), "never a 500: {lost:?}");
        if *status == 503 {
            assert_eq!(content_type.as_deref(), Some("application/problem+json"));
            assert_eq!(retry.as_deref(), Some("5"), "{lost:?}");
        }
    }
    assert_eq!(lost.last().unwrap().0, 200, "the service recovers by itself: {lost:?}");
    let (status, me) = app.get("/me", Some(&t.access)).await;
    assert_eq!((status, me["full_name"].as_str()), (200, Some("Still Here")));
}

/// Every numeric setting, each with a value out of its range.
const OUT_OF_RANGE: &[(&str, &str)] = &[
    ("GATEHOUSE_JOB_INTERVAL_SECS", "0"),
    ("GATEHOUSE_HOLD_DAYS", "-1"),
    ("GATEHOUSE_QUALITY_SUSPENSION_PERCENT", "500"),
    ("GATEHOUSE_QUALITY_RETRAINING_PERCENT", "0"),
    ("GATEHOUSE_QUALITY_WARNING_PERCENT", "101"),
    ("GATEHOUSE_QUALITY_WINDOW", "0"),
    ("GATEHOUSE_QUALITY_MIN_DECIDED", "51"),
    ("GATEHOUSE_MAIL_RETRY_BASE_SECS", "0"),
    ("GATEHOUSE_MAIL_MAX_ATTEMPTS", "0"),
    ("GATEHOUSE_MAIL_POLL_MS", "0"),
    ("GATEHOUSE_CLAIM_TTL_MINUTES", "0"),
    ("GATEHOUSE_MAX_UPLOAD_BYTES", "0"),
    ("GATEHOUSE_REVERIFY_REMINDER_DAYS", "90,-1"),
    ("GATEHOUSE_TEST_ANSWER_GRACE_SECS", "-30"),
    ("GATEHOUSE_REVIEW_WINDOW_DAYS", "0"),
    ("GATEHOUSE_APPEAL_WINDOW_DAYS", "-14"),
    ("GATEHOUSE_ADJUSTMENT_APPROVAL_THRESHOLD_CENTS", "-1"),
    ("GATEHOUSE_ADJUSTMENT_WINDOW_HOURS", "0"),
    ("GATEHOUSE_INGEST_MAX_BYTES", "10"),
    ("GATEHOUSE_PAYOUT_MINIMUM_CENTS", "-1000"),
    ("GATEHOUSE_PAYOUT_METHOD_HOLD_HOURS", "-72"),
    ("GATEHOUSE_PAYMENT_PROMISE_DAYS", "0"),
    ("GATEHOUSE_PAYPAL_CSV_MAX_ROWS", "5001"),
    ("GATEHOUSE_IRIS_RETURNS_PER_FILE", "0"),
    ("GATEHOUSE_MAX_JSON_BYTES", "1"),
    ("GATEHOUSE_DB_POOL_SIZE", "0"),
    ("GATEHOUSE_SQLITE_BUSY_TIMEOUT_MS", "-1"),
    ("GATEHOUSE_LOGIN_WINDOW_MINUTES", "0"),
    ("GATEHOUSE_LOGIN_FAILURES_PER_ACCOUNT_IP", "0"),
    ("GATEHOUSE_LOGIN_FAILURES_PER_IP", "0"),
    ("GATEHOUSE_LOGIN_ACCOUNT_SLOWDOWN_AFTER", "0"),
    ("GATEHOUSE_LOGIN_ACCOUNT_DELAY_SECS", "0"),
    ("GATEHOUSE_EMAIL_LINK_WINDOW_MINUTES", "0"),
    ("GATEHOUSE_EMAIL_LINKS_PER_ADDRESS", "0"),
    ("GATEHOUSE_EMAIL_LINKS_PER_IP", "-5"),
];

async fn out_of_range_settings_stop_start_up_naming_the_variable(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let database_url = match &app.state.config.database {
        DatabaseUrl::Postgres(url) => url.clone(),
        DatabaseUrl::Sqlite(_) => format!("sqlite://{}", dir.path().join("cli.db").display()),
    };
    let gatehouse = |vars: &[(&str, &str)]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
        cmd.arg("migrate")
            .env_clear()
            .env("GATEHOUSE_DATA_DIR", dir.path().join("data"))
            .env("DATABASE_URL", &database_url);
        // PostgreSQL refuses to start without explicit keys (SQLite generates its own).
        if matches!(backend, Backend::Postgres) {
            for (k, v) in crate::support::key_vars() {
                cmd.env(k, v);
            }
        }
        for (k, v) in vars {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    };
    // The defaults are valid.
    let ok = gatehouse(&[]);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    for (var, value) in OUT_OF_RANGE {
        let out = gatehouse(&[(var, value)]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{var}={value} was accepted: {stderr}");
        assert!(stderr.contains(var), "{var}={value}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    }
}

async fn every_response_says_no_store_and_nosniff(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = app.applicant("h@example.com").await;
    let api = |path: &str| app.url(path);
    let requests = [
        app.client.get(api("/me/tax-profile")).bearer_auth(&t.access),
        app.client.get(api("/me")).bearer_auth(&t.access),
        app.client.get(api("/me/readiness")).bearer_auth(&t.access),
        app.client.get(api("/me")),
        app.client.get(api("/no/such/path")),
        app.client.post(api("/auth/login")).json(&json!({"email": "h@example.com", "password": "wrong password"})),
        app.client.get(api("/openapi.json")),
        app.client.get(format!("{}/healthz", app.base)),
        app.client.get(format!("{}/verify-email?token=nothing", app.base)),
        app.client.get(format!("{}/console/login", app.base)),
    ];
    for req in requests {
        let resp = req.send().await.unwrap();
        let url = resp.url().to_string();
        assert_eq!(resp.headers().get("cache-control").map(|v| v.to_str().unwrap()), Some("no-store"), "{url}");
        assert_eq!(resp.headers().get("x-content-type-options").map(|v| v.to_str().unwrap()), Some("nosniff"), "{url}");
    }
}

/// Issue 15: an instance that could not decrypt the bank details served a NACHA export
/// as HTTP 200 with an empty body. Whatever fails before the first byte is a problem.
async fn an_export_that_fails_before_its_first_byte_is_a_problem_not_an_empty_200(backend: Backend) {
    use diesel::prelude::*;
    use gatehouse::db::schema::payout_methods;
    let app = TestApp::spawn(backend).await;
    let w = world(&app, 1).await;
    app.staff(&w.admin, "fin-b@gatehouse.test", &["finance"]).await;
    let (id, t) = w.contributors[0].clone();
    sign_w9(&app, &t, false).await;
    add_method(&app, &t, ach("000987654321")).await;
    fund(&app, &w.finance, id, 2_000).await;
    app.clock.advance(chrono::Duration::hours(73));
    let (maker, checker) =
        (app.login("fin@gatehouse.test", PASSWORD).await, app.login("fin-b@gatehouse.test", PASSWORD).await);
    let (status, batch) = app.post_with_key("/payout-batches", &maker.access, "k1", json!({})).await;
    assert_eq!(status, 201, "{batch}");
    let batch_id = batch["id"].as_i64().unwrap();
    let (status, body) =
        app.post(&format!("/payout-batches/{batch_id}/approve"), Some(&checker.access), json!({})).await;
    assert_eq!(status, 200, "{body}");
    let path = app.url(&format!("/payout-batches/{batch_id}/export?format=nacha"));
    let first = app.client.get(&path).bearer_auth(&maker.access).send().await.unwrap();
    assert_eq!(first.status(), 200);
    assert!(!first.bytes().await.unwrap().is_empty());

    // The bank details can no longer be decrypted (another key, a damaged row).
    app.state
        .db
        .tx_sync(|c| {
            Ok(diesel::update(payout_methods::table).set(payout_methods::details_enc.eq("v1:AAAA")).execute(c)?)
        })
        .unwrap();
    let again = app.client.get(&path).bearer_auth(&maker.access).send().await.unwrap();
    assert_eq!(again.status(), 500);
    assert_eq!(again.headers()["content-type"], "application/problem+json");
    let problem: serde_json::Value = crate::support::json(again).await;
    assert_eq!(problem["code"], "internal_error", "{problem}");
}
