//! Test harness: every test gets its own database (a SQLite file in a temporary
//! directory, or a PostgreSQL database copied from a migrated template), its own data
//! directory, a real server on a loopback port and a real SMTP server.

pub mod browser;
pub mod logs;
pub mod s3;
pub mod smtp;

use std::net::TcpListener;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::web;
use diesel::{Connection, PgConnection, RunQueryDsl};
use gatehouse::clock::OffsetClock;
use gatehouse::config::{Config, DatabaseUrl};
pub use gatehouse::db::Backend;
use gatehouse::{AppState, Application};
pub use s3::S3Server;
use serde_json::{json, Value};
use sha2::Digest;
pub use smtp::TestSmtp;

pub const PASSWORD: &str = "correct horse battery staple";

pub const PDF: &[u8] = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";
pub const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0\x90wS\xde";

/// Runs each listed test on SQLite and on PostgreSQL. On PostgreSQL the test fails
/// when the server is unreachable under `CI=true`, and is skipped with a message
/// otherwise.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[actix_web::test]
                async fn $name() {
                    super::$name($crate::support::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[actix_web::test]
                async fn $name() {
                    if $crate::support::postgres_available() {
                        super::$name($crate::support::Backend::Postgres).await
                    }
                }
            )*
        }
    };
}

fn admin_url() -> String {
    std::env::var("GATEHOUSE_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn url_for(db: &str) -> String {
    let base = admin_url();
    let cut = base.rfind('/').expect("GATEHOUSE_TEST_PG_URL has a database path");
    format!("{}/{db}", &base[..cut])
}

/// Whether PostgreSQL tests can run. Under `CI=true` an unreachable server fails.
pub fn postgres_available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| match PgConnection::establish(&admin_url()) {
        Ok(_) => true,
        Err(e) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("PostgreSQL is required under CI=true but {} is unreachable: {e}", admin_url())
        }
        Err(e) => {
            eprintln!("SKIPPED: PostgreSQL tests ({e}); set GATEHOUSE_TEST_PG_URL or start PostgreSQL");
            false
        }
    })
}

/// The migrated template database, named after a hash of the migrations so a change
/// of schema builds a new one.
fn template_db() -> String {
    static TEMPLATE: OnceLock<String> = OnceLock::new();
    TEMPLATE
        .get_or_init(|| {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/postgresql");
            let mut files: Vec<_> = walk(&dir);
            files.sort();
            let mut hasher = sha2::Sha256::new();
            for f in files {
                hasher.update(f.to_string_lossy().as_bytes());
                hasher.update(std::fs::read(&f).unwrap());
            }
            let name = format!("gatehouse_tpl_{}", &hex(&hasher.finalize())[..16]);
            let mut admin = PgConnection::establish(&admin_url()).unwrap();
            // Several test processes may start at once: one builds the template.
            diesel::sql_query("SELECT pg_advisory_lock(4242)").execute(&mut admin).unwrap();
            let exists = diesel::sql_query(format!("SELECT 1 AS one FROM pg_database WHERE datname = '{name}'"))
                .execute(&mut admin)
                .unwrap()
                > 0;
            if !exists {
                let building = format!("{name}_building");
                diesel::sql_query(format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)")).execute(&mut admin).unwrap();
                diesel::sql_query(format!("CREATE DATABASE {building}")).execute(&mut admin).unwrap();
                {
                    let db = gatehouse::db::Db::connect(&DatabaseUrl::Postgres(url_for(&building)), 1).unwrap();
                    db.migrate().unwrap();
                }
                diesel::sql_query(format!(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{building}' AND pid <> pg_backend_pid()"
                ))
                .execute(&mut admin)
                .unwrap();
                diesel::sql_query(format!("ALTER DATABASE {building} RENAME TO {name}")).execute(&mut admin).unwrap();
            }
            diesel::sql_query("SELECT pg_advisory_unlock(4242)").execute(&mut admin).unwrap();
            name
        })
        .clone()
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A PostgreSQL database of one test, dropped when the test ends.
struct PgTestDb {
    name: String,
}

impl PgTestDb {
    fn create() -> Self {
        static SEQ: Mutex<u32> = Mutex::new(0);
        let n = {
            let mut s = SEQ.lock().unwrap();
            *s += 1;
            *s
        };
        let template = template_db();
        let name = format!("gh_test_{}_{}_{}", std::process::id(), n, uuid_fragment());
        let mut admin = PgConnection::establish(&admin_url()).unwrap();
        // Copies from one template can collide briefly; retry a few times.
        let mut last = None;
        for _ in 0..20 {
            match diesel::sql_query(format!("CREATE DATABASE {name} TEMPLATE {template}")).execute(&mut admin) {
                Ok(_) => return Self { name },
                Err(e) => {
                    last = Some(e);
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
        panic!("cannot create test database: {last:?}");
    }
}

fn uuid_fragment() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    format!("{:x}", SystemTime::now().duration_since(UNIX_EPOCH).unwrap().subsec_nanos())
}

impl Drop for PgTestDb {
    fn drop(&mut self) {
        if let Ok(mut admin) = PgConnection::establish(&admin_url()) {
            let _ =
                diesel::sql_query(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)).execute(&mut admin);
        }
    }
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub smtp: TestSmtp,
    pub clock: Arc<OffsetClock>,
    pub state: web::Data<AppState>,
    handle: ServerHandle,
    config: Config,
    /// The configuration variables the app started with (see [`TestApp::env`]).
    vars: Vec<(&'static str, String)>,
    tweak: Option<fn(&mut Config)>,
    // Dropped last: the database and the data directory outlive the server.
    _pg: Option<PgTestDb>,
    _dir: tempfile::TempDir,
}

/// Options a test may set before the app starts.
#[derive(Default)]
pub struct Options {
    /// Point the service at this SMTP port instead of the test server's (e.g. a port
    /// where nothing listens yet).
    pub smtp_port: Option<u16>,
    /// Extra configuration variables, e.g. `("GATEHOUSE_PAYPAL_CSV_MAX_ROWS", "2")`.
    pub vars: Vec<(&'static str, String)>,
    /// Changes the parsed configuration before the app starts (values the variables
    /// refuse, e.g. a zero job interval that stops the job loop).
    pub tweak: Option<fn(&mut Config)>,
}

/// Fresh random keys, as an operator sets them on PostgreSQL (start-up refuses to
/// generate keys there).
pub fn key_vars() -> Vec<(&'static str, String)> {
    use base64::Engine;
    let key = |n: usize| {
        let bytes: Vec<u8> = (0..n).map(|_| rand::random::<u8>()).collect();
        base64::engine::general_purpose::STANDARD.encode(bytes)
    };
    vec![("GATEHOUSE_JWT_SECRET", key(64)), ("GATEHOUSE_ENCRYPTION_KEY", key(32))]
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, Options::default()).await
    }

    pub async fn spawn_with(backend: Backend, options: Options) -> Self {
        logs::install();
        let dir = tempfile::tempdir().unwrap();
        let smtp = TestSmtp::start().await;
        let smtp_port = options.smtp_port.unwrap_or(smtp.port);
        let pg = (backend == Backend::Postgres).then(PgTestDb::create);
        let database_url = match &pg {
            Some(db) => url_for(&db.name),
            None => format!("sqlite://{}", dir.path().join("gatehouse.db").display()),
        };
        let data_dir = dir.path().join("data");
        let mut vars = vec![
            ("GATEHOUSE_DATA_DIR", data_dir.to_string_lossy().to_string()),
            ("DATABASE_URL", database_url),
            ("SMTP_URL", format!("smtp://127.0.0.1:{smtp_port}")),
            ("GATEHOUSE_MAIL_FROM", "Gatehouse <no-reply@gatehouse.test>".to_string()),
            ("GATEHOUSE_DB_POOL_SIZE", "4".to_string()),
        ];
        if backend == Backend::Postgres {
            vars.extend(key_vars());
        }
        vars.extend(options.vars);
        let config = test_config(&vars, options.tweak);
        let clock = Arc::new(OffsetClock::default());
        let (handle, state, base) = start(config.clone(), clock.clone());
        TestApp {
            base,
            client: reqwest::Client::new(),
            smtp,
            clock,
            state,
            handle,
            config,
            vars,
            tweak: options.tweak,
            _pg: pg,
            _dir: dir,
        }
    }

    /// Stops the server and starts a new one on the same database and data directory
    /// with the same variables (keys generated on SQLite are read back from there).
    pub async fn restart(&mut self) {
        self.restart_with(Vec::new()).await
    }

    /// [`TestApp::restart`] with some variables changed or added (e.g. a rotated key).
    pub async fn restart_with(&mut self, changes: Vec<(&'static str, String)>) {
        self.handle.stop(true).await;
        for (name, value) in changes {
            self.vars.retain(|(n, _)| *n != name);
            self.vars.push((name, value));
        }
        let config = test_config(&self.vars, self.tweak);
        let (handle, state, base) = start(config.clone(), self.clock.clone());
        self.handle = handle;
        self.state = state;
        self.base = base;
        self.config = config;
    }

    /// The variables this app runs with, for another instance (a `gatehouse` process) on
    /// the same database, SMTP server and file store.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        self.vars.clone()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.base)
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
        let mut req = self.client.post(self.url(path)).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        read(req.send().await.unwrap()).await
    }

    /// A GET outside `/api/v1` (`/readyz`, `/healthz`).
    pub async fn get_root(&self, path: &str) -> (u16, Value) {
        read(self.client.get(format!("{}{path}", self.base)).send().await.unwrap()).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        let mut req = self.client.get(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        read(req.send().await.unwrap()).await
    }

    /// `POST /ledger/adjustments` under a fresh Idempotency-Key.
    pub async fn adjust(&self, token: &str, body: Value) -> (u16, Value) {
        self.post_with_key("/ledger/adjustments", token, &gatehouse::crypto::random_token(), body).await
    }

    /// A POST with an `Idempotency-Key` header.
    pub async fn post_with_key(&self, path: &str, token: &str, key: &str, body: Value) -> (u16, Value) {
        let req = self.client.post(self.url(path)).bearer_auth(token).header("Idempotency-Key", key).json(&body);
        read(req.send().await.unwrap()).await
    }

    /// Sends a multipart form.
    pub async fn upload(&self, path: &str, token: &str, form: reqwest::multipart::Form) -> (u16, Value) {
        read(self.client.post(self.url(path)).bearer_auth(token).multipart(form).send().await.unwrap()).await
    }

    pub async fn put(&self, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
        let mut req = self.client.put(self.url(path)).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        read(req.send().await.unwrap()).await
    }

    /// Keeps `tokens` usable after the test clock moved: refreshes the access token, or
    /// signs in again when the refresh token has expired too.
    pub async fn renew(&self, tokens: &mut Tokens, email: &str) {
        if self.get("/me", Some(&tokens.access)).await.0 == 200 {
            return;
        }
        let (status, body) = self.post("/auth/refresh", None, json!({"refresh_token": tokens.refresh})).await;
        *tokens = if status == 200 { Tokens::from(&body) } else { self.login(email, PASSWORD).await };
    }

    /// The id of the signed-in user.
    pub async fn user_id(&self, tokens: &Tokens) -> i64 {
        let (status, me) = self.get("/me", Some(&tokens.access)).await;
        assert_eq!(status, 200, "{me}");
        me["id"].as_i64().unwrap()
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
        let mut req = self.client.patch(self.url(path)).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        read(req.send().await.unwrap()).await
    }

    /// Registers an applicant, follows the emailed link and signs in; returns the tokens.
    pub async fn applicant(&self, email: &str) -> Tokens {
        let (status, body) = self
            .post("/auth/register", None, json!({"email": email, "password": PASSWORD, "full_name": "Test Applicant"}))
            .await;
        assert_eq!(status, 201, "{body}");
        let mail = self.smtp.inbox.wait_for(email).await;
        let (status, body) = self.post("/auth/verify-email", None, json!({"token": mail.link_token()})).await;
        assert_eq!(status, 200, "{body}");
        self.login(email, PASSWORD).await
    }

    pub async fn login(&self, email: &str, password: &str) -> Tokens {
        let (status, body) = self.post("/auth/login", None, json!({"email": email, "password": password})).await;
        assert_eq!(status, 200, "login {email}: {body}");
        Tokens::from(&body)
    }

    /// Has `applicant` attest US citizenship and upload a List B and a List C document,
    /// and `reviewer` verify them: after this the applicant may work (the eligibility
    /// rule). Returns the authorization id.
    pub async fn authorize(&self, applicant: &Tokens, reviewer: &Tokens) -> i64 {
        let (status, body) = self
            .put(
                "/me/work-authorization",
                Some(&applicant.access),
                json!({"category": "us_citizen", "residence_country": "US"}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let part = |bytes: &[u8], name: &str| {
            reqwest::multipart::Part::bytes(bytes.to_vec())
                .file_name(name.to_string())
                .mime_str("application/pdf")
                .unwrap()
        };
        let form = reqwest::multipart::Form::new()
            .text("list_b_type", "drivers_license")
            .text("list_b_number", "D7654321")
            .text("list_b_expires_on", "2034-01-31")
            .part("list_b_file", part(PNG, "license.png"))
            .text("list_c_type", "social_security_card")
            .part("list_c_file", part(PDF, "ssn.pdf"));
        let (status, wa) = self.upload("/me/work-authorization/documents", &applicant.access, form).await;
        assert_eq!(status, 201, "{wa}");
        let id = wa["id"].as_i64().unwrap();
        let (status, body) =
            self.post(&format!("/review/work-authorizations/{id}/claim"), Some(&reviewer.access), json!({})).await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = self
            .post(
                &format!("/review/work-authorizations/{id}/decision"),
                Some(&reviewer.access),
                json!({"outcome": "verify", "reason_code": "documents_verified"}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        id
    }

    /// A client whose requests come from another loopback address (`127.0.0.N`): the
    /// server keys sign-in limits on the socket peer.
    pub fn client_from(&self, last_octet: u8) -> reqwest::Client {
        reqwest::Client::builder().local_address(std::net::IpAddr::from([127, 0, 0, last_octet])).build().unwrap()
    }

    /// The first admin, made as an operator would (the CLI's service call).
    pub async fn admin(&self) -> Tokens {
        let state = self.state.clone();
        web::block(move || {
            gatehouse::auth::service::create_admin(&state, "admin@gatehouse.test", "Ada Admin", PASSWORD)
        })
        .await
        .unwrap()
        .unwrap();
        self.login("admin@gatehouse.test", PASSWORD).await
    }

    /// A staff member created by `admin` through the API, who sets a password from the
    /// invitation email.
    pub async fn staff(&self, admin: &Tokens, email: &str, roles: &[&str]) -> Tokens {
        let (status, body) = self
            .post(
                "/admin/staff",
                Some(&admin.access),
                json!({"email": email, "full_name": "Staff Member", "roles": roles}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        let invite = self.smtp.inbox.wait_for(email).await;
        let (status, body) = self
            .post("/auth/password-reset/confirm", None, json!({"token": invite.link_token(), "password": PASSWORD}))
            .await;
        assert_eq!(status, 204, "{body}");
        self.login(email, PASSWORD).await
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Stop accepting connections; the database is dropped right after.
        let handle = self.handle.clone();
        actix_web::rt::spawn(async move { handle.stop(false).await });
    }
}

/// The configuration of `vars`, with the outbox polling and retrying at test pace.
fn test_config(vars: &[(&'static str, String)], tweak: Option<fn(&mut Config)>) -> Config {
    // A later entry overrides an earlier one (a test's variables override the defaults).
    let mut config = Config::from_lookup(|k| vars.iter().rev().find(|(n, _)| *n == k).map(|(_, v)| v.clone())).unwrap();
    config.mail.poll_interval = Duration::from_millis(50);
    config.mail.retry_base = Duration::from_millis(100);
    config.mail.retry_max = Duration::from_millis(400);
    if let Some(tweak) = tweak {
        tweak(&mut config);
    }
    config
}

fn start(config: Config, clock: Arc<OffsetClock>) -> (ServerHandle, web::Data<AppState>, String) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let state = AppState::init(config, clock).unwrap();
    let app = Application::build(state, listener).unwrap();
    let state = app.state.clone();
    let handle = app.handle();
    actix_web::rt::spawn(app.run());
    (handle, state, format!("http://127.0.0.1:{port}"))
}

pub async fn read(resp: reqwest::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    let json = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    let text = resp.text().await.unwrap();
    let body = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
    if json {
        assert_utc_timestamps(&body);
    }
    (status, body)
}

/// A JSON response body, checked like every body [`read`] returns.
pub async fn json(resp: reqwest::Response) -> Value {
    let body: Value = resp.json().await.unwrap();
    assert_utc_timestamps(&body);
    body
}

/// Every string of `body` that reads as a date and time (`YYYY-MM-DDTHH:MM…`) is an
/// instant in UTC ending in `Z` (docs/design.md, time): a timestamp without an offset
/// is read as local time by JavaScript. Run on every JSON response the tests read.
pub fn assert_utc_timestamps(body: &Value) {
    fn walk(v: &Value, path: &mut String, body: &Value) {
        match v {
            Value::String(s) if looks_like_timestamp(s) => {
                assert!(
                    s.ends_with('Z') && chrono::DateTime::parse_from_rfc3339(s).is_ok(),
                    "{path} = {s:?} is not an RFC 3339 UTC timestamp ending in Z, in {body}"
                );
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let len = path.len();
                    path.push_str(&format!("[{i}]"));
                    walk(item, path, body);
                    path.truncate(len);
                }
            }
            Value::Object(members) => {
                for (k, item) in members {
                    let len = path.len();
                    path.push('.');
                    path.push_str(k);
                    walk(item, path, body);
                    path.truncate(len);
                }
            }
            _ => {}
        }
    }
    walk(body, &mut String::from("$"), body);
}

/// `YYYY-MM-DDTHH:MM` at the start of the string.
fn looks_like_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| r.into_iter().all(|i| b.get(i).is_some_and(u8::is_ascii_digit));
    digits(0..4)
        && b.get(4) == Some(&b'-')
        && digits(5..7)
        && b.get(7) == Some(&b'-')
        && digits(8..10)
        && matches!(b.get(10), Some(b'T' | b't'))
        && digits(11..13)
        && b.get(13) == Some(&b':')
        && digits(14..16)
}

#[test]
fn timestamps_without_z_are_caught() {
    assert!(looks_like_timestamp("2026-11-30T05:04:56.660286"));
    assert!(!looks_like_timestamp("2026-11-30"));
    assert!(!looks_like_timestamp("the 2026-11-30T05:04 run"));
    assert_utc_timestamps(&json!({"a": [{"at": "2026-11-30T05:04:56.660286Z"}], "on": "2026-11-30"}));
    let caught = std::panic::catch_unwind(|| assert_utc_timestamps(&json!({"a": [{"at": "2026-11-30T05:04:56"}]})));
    assert!(caught.is_err());
    let offset = std::panic::catch_unwind(|| assert_utc_timestamps(&json!({"at": "2026-11-30T05:04:56+02:00"})));
    assert!(offset.is_err());
}

#[derive(Debug, Clone)]
pub struct Tokens {
    pub access: String,
    pub refresh: String,
}

impl From<&Value> for Tokens {
    fn from(v: &Value) -> Self {
        Tokens {
            access: v["access_token"].as_str().expect("access_token").to_string(),
            refresh: v["refresh_token"].as_str().expect("refresh_token").to_string(),
        }
    }
}
