//! Several instances on one PostgreSQL and one S3 bucket (SPEC §13): two `gatehouse`
//! processes beside the test's own server. The whole flow alternates instances; one is
//! killed with SIGKILL in the middle of a batch build and the build is retried on the
//! other with the same Idempotency-Key; every email is sent once and every scheduled job
//! runs once per period across the instances.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use serde_json::json;

use crate::support::{postgres_available, s3, Backend, Options, S3Server, TestApp, PASSWORD};

/// A `gatehouse` server process on the test's database, SMTP server and bucket.
pub struct Instance {
    name: &'static str,
    child: Child,
    pub base: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Instance {
    async fn start(app: &TestApp, name: &'static str) -> Self {
        Self::start_with(app, name, Vec::new()).await
    }

    /// An instance with some of the app's variables changed (another database, bucket).
    pub async fn start_with(app: &TestApp, name: &'static str, changes: Vec<(&'static str, String)>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let log = dir.path().join("server.log");
        let child = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(app.env())
            .envs(changes)
            .env("GATEHOUSE_DATA_DIR", dir.path().join("data"))
            .env("GATEHOUSE_BIND", format!("127.0.0.1:{port}"))
            .env("GATEHOUSE_MAIL_POLL_MS", "50")
            .env("RUST_LOG", "warn")
            // libpq names the instance's connections in pg_stat_activity.
            .env("PGAPPNAME", format!("gatehouse-{name}"))
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::options().append(true).open(&log).unwrap())
            .spawn()
            .unwrap();
        let instance = Self { name, child, base: format!("http://127.0.0.1:{port}"), log, _dir: dir };
        instance.wait_ready(&app.client).await;
        instance
    }

    async fn wait_ready(&self, client: &reqwest::Client) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(resp) = client.get(format!("{}/readyz", self.base)).send().await {
                if resp.status() == 200 {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "instance {} not ready: {}", self.name, self.log());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL: no shutdown, no cleanup, connections cut.
    fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Mail {
    #[diesel(sql_type = Text)]
    recipient: String,
    #[diesel(sql_type = Text)]
    template: String,
    /// Rendered when queued (rows from before emails were rendered at send time).
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    subject: Option<String>,
    /// The template's parameters (rows queued since).
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    params: Option<String>,
    /// Claims of the row: more than one when a worker's lease ran out (the instance
    /// killed mid-send) and another claimed it again.
    #[diesel(sql_type = diesel::sql_types::Integer)]
    attempts: i32,
}

impl Mail {
    /// The subject the worker sends: the stored one, or rendered from the parameters.
    fn sent_subject(&self) -> String {
        match (&self.subject, &self.params) {
            (Some(subject), _) => subject.clone(),
            (None, Some(params)) => gatehouse::notifications::templates::EmailTemplate::parse(&self.template)
                .unwrap_or_else(|| panic!("unknown template {}", self.template))
                .subject(params)
                .unwrap(),
            (None, None) => panic!("an outbox row with neither a rendering nor parameters"),
        }
    }
}

fn pg(app: &TestApp) -> PgConnection {
    let url = app.env().into_iter().find(|(k, _)| *k == "DATABASE_URL").unwrap().1;
    PgConnection::establish(&url).unwrap()
}

fn count(conn: &mut PgConnection, sql: &str) -> i64 {
    diesel::sql_query(sql).get_result::<Count>(conn).unwrap().n
}

/// Waits until `instance` has a build transaction open on the database (the batch
/// build's advisory lock, or its statements on the payout tables), so the kill lands
/// inside it.
fn wait_for_build_in_progress(mut conn: PgConnection, instance: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let sql = format!(
        "SELECT COUNT(*) AS n FROM pg_stat_activity WHERE datname = current_database() \
         AND application_name = 'gatehouse-{instance}' AND xact_start IS NOT NULL \
         AND (query ILIKE '%pg_advisory_xact_lock%' OR query ILIKE '%payout_%')"
    );
    while count(&mut conn, &sql) == 0 {
        assert!(Instant::now() < deadline, "no batch build started");
        std::thread::sleep(Duration::from_millis(2));
    }
}

const JOB_INTERVAL_SECS: u64 = 2;

#[actix_web::test]
async fn two_instances_share_files_jobs_and_emails_and_a_killed_build_is_retried() {
    if !postgres_available() {
        return;
    }
    let Some(server) = s3::server() else { return };
    let started = Instant::now();
    let bucket = server.bucket().await;
    let mut vars = S3Server::vars(&server.endpoint, &bucket);
    vars.push(("GATEHOUSE_PAYOUT_METHOD_HOLD_HOURS", "0".into()));
    vars.push(("GATEHOUSE_JOB_INTERVAL_SECS", JOB_INTERVAL_SECS.to_string()));
    let mut app = TestApp::spawn_with(Backend::Postgres, Options { vars, ..Options::default() }).await;

    // Contributors ready to be paid, and two finance users, written by the operator's
    // seed command (so the build has enough to do to be caught in the middle).
    let seed = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .envs(app.env())
        .env("GATEHOUSE_DATA_DIR", tempfile::tempdir().unwrap().path())
        .args(["seed", "--contributors", "400", "--records", "800", "--rail", "ach", "--finance-password", PASSWORD])
        .output()
        .unwrap();
    assert!(seed.status.success(), "{}", String::from_utf8_lossy(&seed.stderr));

    let mut a = Instance::start(&app, "A").await;
    let b = Instance::start(&app, "B").await;
    let admin = app.admin().await;
    let reviewer = app.staff(&admin, "rev@gatehouse.test", &["reviewer"]).await;
    let other_reviewer = app.staff(&admin, "rev2@gatehouse.test", &["reviewer"]).await;

    // Upload on A, review on B: the file is in the bucket, not on A's disk.
    app.base = a.base.clone();
    let ana = app.applicant("ana@example.com").await;
    let (status, credential) = app.upload("/me/credentials", &ana.access, crate::storage::diploma()).await;
    assert_eq!(status, 201, "{credential}");
    let (id, file_id) = (credential["id"].as_i64().unwrap(), credential["file_id"].as_i64().unwrap());
    app.base = b.base.clone();
    let (status, body) = app.post(&format!("/review/credentials/{id}/claim"), Some(&reviewer.access), json!({})).await;
    assert_eq!(status, 200, "{body}");
    let file =
        app.client.get(app.url(&format!("/files/{file_id}"))).bearer_auth(&reviewer.access).send().await.unwrap();
    assert_eq!(file.status(), 200);
    assert!(file.bytes().await.unwrap().starts_with(b"%PDF-1.5"));
    // The claim taken on B holds on A: another reviewer can neither claim nor read there.
    app.base = a.base.clone();
    let (status, body) =
        app.post(&format!("/review/credentials/{id}/claim"), Some(&other_reviewer.access), json!({})).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("claimed_by_other")), "{body}");
    let (status, _) = app.get(&format!("/files/{file_id}"), Some(&other_reviewer.access)).await;
    assert_eq!(status, 404, "the file is the claimer's to read");
    app.base = b.base.clone();
    let (status, body) = app
        .post(
            &format!("/review/credentials/{id}/decision"),
            Some(&reviewer.access),
            json!({"outcome": "verify", "reason_code": "credential_verified"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    // Build on A, killed with SIGKILL while the build transaction is open.
    app.base = a.base.clone();
    let maker = app.login("finance1@bench.test", PASSWORD).await;
    let request = app
        .client
        .post(app.url("/payout-batches"))
        .bearer_auth(&maker.access)
        .header("Idempotency-Key", "weekly-2026-48")
        .json(&json!({"note": "weekly"}))
        .send();
    let watcher = tokio::task::spawn_blocking({
        let conn = pg(&app);
        move || wait_for_build_in_progress(conn, "A")
    });
    let (answer, watched) = tokio::join!(request, async {
        watcher.await.unwrap();
        a.kill();
    });
    let () = watched;
    assert!(answer.is_err(), "instance A answered before it was killed: {:?}", answer.map(|r| r.status()));
    let mut conn = pg(&app);
    assert_eq!(count(&mut conn, "SELECT COUNT(*) AS n FROM payout_batches"), 0, "the killed build left nothing behind");

    // Retried on B with the same key: built once; a second retry replays it.
    app.base = b.base.clone();
    let build = |app: &TestApp| {
        app.client
            .post(app.url("/payout-batches"))
            .bearer_auth(&maker.access)
            .header("Idempotency-Key", "weekly-2026-48")
            .json(&json!({"note": "weekly"}))
            .send()
    };
    let (status, batch) = crate::support::read(build(&app).await.unwrap()).await;
    assert_eq!(status, 201, "{batch}");
    let batch_id = batch["id"].as_i64().unwrap();
    let paid = batch["item_count"].as_i64().unwrap();
    // Every seeded contributor is paid or skipped (a balance under the minimum).
    assert_eq!(paid + batch["skipped"].as_array().unwrap().len() as i64, 400);
    let (status, replay) = crate::support::read(build(&app).await.unwrap()).await;
    assert_eq!((status, replay["id"].as_i64()), (200, Some(batch_id)), "{replay}");
    assert_eq!(count(&mut conn, "SELECT COUNT(*) AS n FROM payout_batches"), 1);
    assert_eq!(
        count(&mut conn, "SELECT COUNT(DISTINCT contributor_id) AS n FROM payout_items"),
        count(&mut conn, "SELECT COUNT(*) AS n FROM payout_items")
    );

    // Approve and export on B.
    let checker = app.login("finance2@bench.test", PASSWORD).await;
    let (status, body) =
        app.post(&format!("/payout-batches/{batch_id}/approve"), Some(&checker.access), json!({})).await;
    assert_eq!(status, 200, "{body}");
    let export = app
        .client
        .get(app.url(&format!("/payout-batches/{batch_id}/export?format=nacha")))
        .bearer_auth(&maker.access)
        .send()
        .await
        .unwrap();
    assert_eq!(export.status(), 200);
    let nacha = export.text().await.unwrap();
    assert_eq!(nacha.lines().filter(|l| l.starts_with('6')).count() as i64, paid);

    // Settle on A, started again after the kill.
    let a2 = Instance::start(&app, "A2").await;
    app.base = a2.base.clone();
    let items: Vec<i64> = gatehouse::db::schema::payout_items::table
        .filter(gatehouse::db::schema::payout_items::batch_id.eq(batch_id))
        .select(gatehouse::db::schema::payout_items::id)
        .load(&mut conn)
        .unwrap();
    let mut csv = String::from("item_id,status,rail_reference,reason\n");
    for item in &items {
        csv.push_str(&format!("{item},paid,TRACE-{item},\n"));
    }
    let resp = app
        .client
        .post(app.url(&format!("/payout-batches/{batch_id}/settlement")))
        .bearer_auth(&maker.access)
        .header("Content-Type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    let (status, report) = crate::support::read(resp).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!((report["applied"].as_i64(), report["batch_status"].as_str()), (Some(paid), Some("settled")));

    // Every email of the outbox delivered, each exactly once, by whichever instance.
    let deadline = Instant::now() + Duration::from_secs(120);
    while count(&mut conn, "SELECT COUNT(*) AS n FROM outbox WHERE status <> 'sent'") > 0 {
        assert!(Instant::now() < deadline, "the outbox did not drain");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Delivery is at least once (docs/design.md, Email outbox): an email the killed
    // instance had handed to SMTP but not yet marked sent is sent again by another
    // instance once its lease ends, under the same Message-ID. So each email arrives
    // once, and twice at most where its row was claimed again.
    let mut expected: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut reclaimed: BTreeMap<(String, String), usize> = BTreeMap::new();
    for m in diesel::sql_query("SELECT recipient, template, subject, params, attempts FROM outbox")
        .load::<Mail>(&mut conn)
        .unwrap()
    {
        let key = (m.recipient.clone(), m.sent_subject());
        *expected.entry(key.clone()).or_default() += 1;
        if m.attempts > 1 {
            *reclaimed.entry(key).or_default() += 1;
        }
    }
    let mut delivered: BTreeMap<(String, String), usize> = BTreeMap::new();
    for m in app.smtp.inbox.all() {
        for to in m.to {
            *delivered.entry((to, m.subject.clone())).or_default() += 1;
        }
    }
    assert!(expected.len() as i64 > paid, "the flow queued the payout emails: {}", expected.len());
    assert_eq!(delivered.keys().collect::<Vec<_>>(), expected.keys().collect::<Vec<_>>(), "every email, no other");
    for (key, n) in &expected {
        let got = delivered[key];
        let extra = reclaimed.get(key).copied().unwrap_or(0);
        assert!((*n..=n + extra).contains(&got), "{key:?}: delivered {got} times, queued {n}, claimed again {extra}");
    }
    assert!(reclaimed.len() <= 5, "only the emails in flight at the kill are claimed again: {reclaimed:?}");

    // Each job ran, and at most once per period across the three instances (without the
    // lease each instance would run each job every period).
    let elapsed = started.elapsed().as_secs();
    let bound = (elapsed / JOB_INTERVAL_SECS + 2) as i64;
    let (status, ready) = app.get_root("/readyz").await;
    assert_eq!(status, 200, "{ready}");
    let jobs = ready["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 9, "every job of the pass ran: {ready}");
    for job in jobs {
        let runs = job["runs"].as_i64().unwrap();
        assert!((1..=bound).contains(&runs), "{} ran {runs} times in {elapsed} s: {job}", job["name"]);
        assert_eq!(job["last_outcome"], "succeeded", "{job}");
    }
    let total: i64 = jobs.iter().map(|j| j["runs"].as_i64().unwrap()).sum();
    assert!(total <= jobs.len() as i64 * bound, "{ready}");
    assert!(matches!(ready["workers"]["jobs"]["status"].as_str(), Some("running")), "{ready}");
    drop(b);
}

crate::both_backends!(readiness_reports_jobs_and_workers, readiness_fails_when_a_worker_stops);

async fn readiness_reports_jobs_and_workers(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // The job loop's first pass runs at start.
    let deadline = Instant::now() + Duration::from_secs(30);
    let ready = loop {
        let (status, ready) = app.get_root("/readyz").await;
        assert_eq!(status, 200, "{ready}");
        if ready["workers"]["jobs"]["last_pass_at"].is_string() {
            break ready;
        }
        assert!(Instant::now() < deadline, "no job pass reported: {ready}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["workers"]["jobs"]["status"], "running", "{ready}");
    assert!(ready["workers"]["jobs"]["last_pass_at"].as_str().unwrap().ends_with('Z'), "{ready}");
    let names: Vec<&str> = ready["jobs"].as_array().unwrap().iter().map(|j| j["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "auth_records",
            "console_sessions",
            "credential_expiry",
            "i9_retention",
            "reverification",
            "standing",
            "test_attempts",
            "work",
            "year_end"
        ]
    );
    for job in ready["jobs"].as_array().unwrap() {
        assert_eq!((job["runs"].as_i64(), job["last_outcome"].as_str()), (Some(1), Some("succeeded")), "{job}");
        assert!(job["next_due_at"].as_str().unwrap().ends_with('Z'));
    }
    assert_eq!(ready["outbox"]["dead"], 0, "{ready}");
    assert!(ready["workers"]["outbox"]["status"] == "running" || ready["workers"]["outbox"]["status"] == "starting");

    // A manual run is recorded in the same rows.
    let admin = app.admin().await;
    let (status, report) = app.post("/admin/jobs/run-due", Some(&admin.access), json!({})).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["skipped"], json!([]), "a manual run runs every job");
    let (_, ready) = app.get_root("/readyz").await;
    assert!(ready["jobs"].as_array().unwrap().iter().all(|j| j["runs"] == 2), "{ready}");
}

/// A zero interval makes a loop's timer panic, as any panic outside a pass would.
fn stop_the_job_loop(config: &mut gatehouse::config::Config) {
    config.operations.job_interval = Duration::ZERO;
}

fn stop_the_outbox_loop(config: &mut gatehouse::config::Config) {
    config.mail.poll_interval = Duration::ZERO;
}

async fn readiness_fails_when_a_worker_stops(backend: Backend) {
    for (tweak, worker) in [(stop_the_job_loop as fn(&mut _), "jobs"), (stop_the_outbox_loop, "outbox")] {
        let app = TestApp::spawn_with(backend, Options { tweak: Some(tweak), ..Options::default() }).await;
        let deadline = Instant::now() + Duration::from_secs(10);
        let (status, ready) = loop {
            let (status, ready) = app.get_root("/readyz").await;
            if status != 200 || Instant::now() > deadline {
                break (status, ready);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        assert_eq!(status, 503, "{worker}: {ready}");
        assert_eq!(ready["status"], "worker_stopped", "{ready}");
        assert_eq!(ready["workers"][worker]["status"], "stopped", "{ready}");
        // The API itself still answers: only the load balancer is told to move on.
        assert_eq!(app.get_root("/healthz").await.0, 200);
    }
}

/// The database refusing connections makes `/readyz` answer 503 promptly, and ready again
/// once it is back.
#[actix_web::test]
async fn readiness_follows_the_database() {
    if !postgres_available() {
        return;
    }
    let app = TestApp::spawn(Backend::Postgres).await;
    assert_eq!(app.get_root("/readyz").await.0, 200);
    let url = app.env().into_iter().find(|(k, _)| *k == "DATABASE_URL").unwrap().1;
    let name = url.rsplit('/').next().unwrap().to_string();
    let admin_url = url.replace(&format!("/{name}"), "/postgres");
    let mut admin = PgConnection::establish(&admin_url).unwrap();
    let set = |admin: &mut PgConnection, allow: bool| {
        diesel::sql_query(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS {allow}")).execute(admin).unwrap();
        if !allow {
            diesel::sql_query(format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
            ))
            .execute(admin)
            .unwrap();
        }
    };
    set(&mut admin, false);
    let started = Instant::now();
    let resp = app.client.get(format!("{}/readyz", app.base)).send().await.unwrap();
    assert_eq!(resp.status(), 503);
    assert!(started.elapsed() < Duration::from_secs(5), "answered after {:?}", started.elapsed());
    assert!(resp.headers().contains_key("retry-after"));
    let ready: serde_json::Value = crate::support::json(resp).await;
    assert_eq!(ready["status"], "database_unreachable", "{ready}");
    assert!(ready["jobs"].is_null());
    set(&mut admin, true);
    let deadline = Instant::now() + Duration::from_secs(30);
    while app.get_root("/readyz").await.0 != 200 {
        assert!(Instant::now() < deadline, "not ready again after the database came back");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A setting changed through the API of one instance is in force at once on another
/// instance on the same PostgreSQL, with no restart (issue 19).
#[actix_web::test]
async fn a_setting_changed_on_one_instance_is_in_force_at_once_on_another() {
    if !postgres_available() {
        return;
    }
    let app = TestApp::spawn(Backend::Postgres).await;
    let admin = app.admin().await;
    let finance = app.staff(&admin, "fin@gatehouse.test", &["finance"]).await;
    app.applicant("someone@example.com").await;
    let other = Instance::start(&app, "b").await;

    // Before: the environment's seed, on both instances.
    let (_, preview) = app.get("/payout-batches/preview", Some(&finance.access)).await;
    assert_eq!(preview["minimum_cents"], 1_000, "{preview}");
    let wrong = json!({"email": "someone@example.com", "password": "not the password"});
    let (status, _) = app.post("/auth/login", None, wrong.clone()).await;
    assert_eq!(status, 401, "one failure is within the default budget of five");

    // Changed through the other instance's API.
    let resp = app
        .client
        .put(format!("{}/api/v1/admin/settings", other.base))
        .bearer_auth(&admin.access)
        .json(&json!({"settings": {"payout_minimum_cents": 25_000, "login_failures_per_account_ip": 1}}))
        .send()
        .await
        .unwrap();
    let (status, body) = crate::support::read(resp).await;
    assert_eq!(status, 200, "{body}");

    // In force here at the next request: the preview's minimum and the sign-in budget.
    let (_, preview) = app.get("/payout-batches/preview", Some(&finance.access)).await;
    assert_eq!(preview["minimum_cents"], 25_000, "{preview}");
    let (status, body) =
        app.post("/auth/login", None, json!({"email": "someone@example.com", "password": PASSWORD})).await;
    assert_eq!(status, 429, "the one failure already used the new budget of one: {body}");
    let (_, settings) = app.get("/admin/settings", Some(&admin.access)).await;
    let minimum = settings["settings"].as_array().unwrap().iter().find(|s| s["key"] == "payout_minimum_cents").unwrap();
    assert_eq!((minimum["value"].as_i64(), minimum["seed"].as_i64()), (Some(25_000), Some(1_000)), "{minimum}");
    drop(other);
}
