//! A real S3-protocol server for the tests: moto's server mode (`pip install
//! 'moto[server]'`), started once per test process on a loopback port as a separate
//! process, which stops when the test process does. Each test gets a bucket of its own.
//! Without `moto_server` the S3 tests print `SKIPPED` and pass, except under `CI=true`.

use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub struct S3Server {
    pub endpoint: String,
}

fn moto_binary() -> String {
    std::env::var("GATEHOUSE_TEST_MOTO").unwrap_or_else(|_| "moto_server".into())
}

/// The shared server, started on first use; `None` (with `SKIPPED` printed) when moto is
/// not installed, a failure under `CI=true`.
pub fn server() -> Option<&'static S3Server> {
    static SERVER: OnceLock<Option<S3Server>> = OnceLock::new();
    SERVER
        .get_or_init(|| match start() {
            Ok(server) => Some(server),
            Err(e) if std::env::var("CI").as_deref() == Ok("true") => {
                panic!("an S3 server is required under CI=true: {e} (pip install 'moto[server]')")
            }
            Err(e) => {
                eprintln!("SKIPPED: S3 tests ({e}); pip install 'moto[server]' to run them");
                None
            }
        })
        .as_ref()
}

fn start() -> Result<S3Server, String> {
    let found = Command::new(moto_binary()).arg("--help").stdout(Stdio::null()).stderr(Stdio::null()).status();
    if !found.is_ok_and(|s| s.success()) {
        return Err(format!("{} not found", moto_binary()));
    }
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    // A watchdog shell ends moto when this test process ends, however it ends.
    let script = format!(
        "{moto} -H 127.0.0.1 -p {port} >/dev/null 2>&1 & child=$!; \
         while kill -0 {parent} 2>/dev/null && kill -0 $child 2>/dev/null; do sleep 1; done; kill $child 2>/dev/null",
        moto = moto_binary(),
        parent = std::process::id()
    );
    Command::new("bash")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", moto_binary()))?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            return Err(format!("{} did not listen on port {port} within 60 s", moto_binary()));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(S3Server { endpoint: format!("http://127.0.0.1:{port}") })
}

impl S3Server {
    /// A new empty bucket.
    pub async fn bucket(&self) -> String {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let name = format!("gh-test-{}-{}", std::process::id(), SEQ.fetch_add(1, Ordering::Relaxed));
        let resp = reqwest::Client::new().put(format!("{}/{name}", self.endpoint)).send().await.unwrap();
        assert!(resp.status().is_success(), "cannot create bucket {name}: {}", resp.status());
        name
    }

    /// The configuration of a file store in `bucket` at `endpoint` (this server, or a
    /// proxy in front of it).
    pub fn vars(endpoint: &str, bucket: &str) -> Vec<(&'static str, String)> {
        vec![
            ("GATEHOUSE_FILE_STORE", "s3".into()),
            ("GATEHOUSE_S3_ENDPOINT", endpoint.into()),
            ("GATEHOUSE_S3_BUCKET", bucket.into()),
            ("GATEHOUSE_S3_REGION", "us-east-1".into()),
            ("GATEHOUSE_S3_ACCESS_KEY_ID", "testing".into()),
            ("GATEHOUSE_S3_SECRET_ACCESS_KEY", "testing".into()),
            ("GATEHOUSE_S3_PATH_STYLE", "true".into()),
        ]
    }
}
