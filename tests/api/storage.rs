//! The S3-compatible file store against a real S3 server (moto): files round-trip
//! encrypted, and a missing object, an outage or a store too slow to answer are clean
//! problems, never a partial download.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::multipart::{Form, Part};
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

use crate::both_backends;
use crate::support::{s3, Backend, Options, S3Server, TestApp, Tokens};

both_backends!(
    files_round_trip_encrypted_through_the_bucket,
    a_missing_object_is_a_problem_not_a_partial_download,
    an_outage_or_a_slow_store_is_a_503_problem,
);

const PDF: &[u8] = b"%PDF-1.5\n% diploma of Ana Example, passport 123456789\n%%EOF\n";

pub fn diploma() -> Form {
    Form::new()
        .text("kind", "degree")
        .text("level", "doctorate")
        .text("domain", "law")
        .text("title", "Juris Doctor")
        .text("issuer", "State University")
        .text("issued_on", "2015-06-01")
        .part("file", Part::bytes(PDF.to_vec()).file_name("jd.pdf").mime_str("application/pdf").unwrap())
}

/// Uploads a diploma; returns the credential's file id.
pub async fn upload(app: &TestApp, t: &Tokens) -> i64 {
    let (status, c) = app.upload("/me/credentials", &t.access, diploma()).await;
    assert_eq!(status, 201, "{c}");
    c["file_id"].as_i64().unwrap()
}

async fn download(app: &TestApp, t: &Tokens, file_id: i64) -> (u16, Option<String>, Vec<u8>) {
    let resp = app.client.get(app.url(&format!("/files/{file_id}"))).bearer_auth(&t.access).send().await.unwrap();
    let content_type = resp.headers().get("content-type").map(|v| v.to_str().unwrap().to_string());
    (resp.status().as_u16(), content_type, resp.bytes().await.unwrap().to_vec())
}

fn storage_key(app: &TestApp, file_id: i64) -> String {
    use diesel::prelude::*;
    use gatehouse::db::schema::files;
    app.state.db.read_sync(|c| Ok(files::table.find(file_id).select(files::storage_key).first::<String>(c)?)).unwrap()
}

/// The sealed bytes of an object, read from the bucket around the encryption layer.
async fn raw_object(app: &TestApp, key: &str) -> Option<Vec<u8>> {
    use gatehouse::storage::{s3::S3Blobs, Blobs, StoreConfig};
    let StoreConfig::S3(config) = app.state.config.file_store.clone() else { panic!("not an S3 store") };
    let key = key.to_string();
    actix_web::web::block(move || S3Blobs::new(&config).unwrap().get(&key).ok()).await.unwrap()
}

async fn s3_app(
    backend: Backend,
    endpoint: Option<&str>,
    extra: Vec<(&'static str, String)>,
) -> Option<(TestApp, String)> {
    let server = s3::server()?;
    let bucket = server.bucket().await;
    let mut vars = S3Server::vars(endpoint.unwrap_or(&server.endpoint), &bucket);
    // Keys from the environment on both backends: a later start may use another data
    // directory.
    vars.extend(crate::support::key_vars());
    vars.extend(extra);
    Some((TestApp::spawn_with(backend, Options { vars, ..Options::default() }).await, bucket))
}

async fn files_round_trip_encrypted_through_the_bucket(backend: Backend) {
    let Some((mut app, _)) = s3_app(backend, None, Vec::new()).await else { return };
    let t = app.applicant("ana@example.com").await;
    let file_id = upload(&app, &t).await;
    let (status, content_type, bytes) = download(&app, &t, file_id).await;
    assert_eq!((status, content_type.as_deref()), (200, Some("application/pdf")));
    assert_eq!(bytes, PDF);

    // In the bucket, sealed: nothing of the content is readable.
    let key = storage_key(&app, file_id);
    let sealed = raw_object(&app, &key).await.expect("the object is in the bucket");
    assert!(!sealed.windows(8).any(|w| w == b"passport"), "stored in the clear");
    assert_ne!(sealed.len(), PDF.len());
    // Nothing was written to the local directory.
    let local = app.state.config.data_dir.join("files");
    assert!(!local.exists() || std::fs::read_dir(&local).unwrap().next().is_none());

    // Another start with an empty data directory of its own still reads it.
    app.restart_with(vec![("GATEHOUSE_DATA_DIR", tempfile::tempdir().unwrap().keep().display().to_string())]).await;
    let t = app.login("ana@example.com", crate::support::PASSWORD).await;
    assert_eq!(download(&app, &t, file_id).await.2, PDF);
}

async fn a_missing_object_is_a_problem_not_a_partial_download(backend: Backend) {
    let Some((app, _)) = s3_app(backend, None, Vec::new()).await else { return };
    let t = app.applicant("ana@example.com").await;
    let file_id = upload(&app, &t).await;
    app.state.files.delete(&storage_key(&app, file_id)).unwrap();
    let (status, content_type, body) = download(&app, &t, file_id).await;
    assert_eq!((status, content_type.as_deref()), (404, Some("application/problem+json")));
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["code"], "not_found");
}

/// A TCP proxy in front of the S3 server that can pass traffic, refuse connections, or
/// accept them and never answer.
struct Proxy {
    endpoint: String,
    mode: Arc<AtomicU8>,
}

const PASS: u8 = 0;
const REFUSE: u8 = 1;
const STALL: u8 = 2;

impl Proxy {
    async fn start(upstream: &str) -> Self {
        let upstream = upstream.trim_start_matches("http://").to_string();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let mode = Arc::new(AtomicU8::new(PASS));
        let m = mode.clone();
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let (mode, upstream) = (m.load(Ordering::SeqCst), upstream.clone());
                tokio::spawn(async move {
                    match mode {
                        PASS => {
                            if let Ok(mut server) = TcpStream::connect(&upstream).await {
                                let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                            }
                        }
                        REFUSE => {
                            let _ = client.shutdown().await;
                        }
                        _ => {
                            // Hold the connection open, answer nothing, for longer than any test.
                            tokio::time::sleep(Duration::from_secs(120)).await;
                            drop(client);
                        }
                    }
                });
            }
        });
        Self { endpoint, mode }
    }

    fn set(&self, mode: u8) {
        self.mode.store(mode, Ordering::SeqCst);
    }
}

async fn an_outage_or_a_slow_store_is_a_503_problem(backend: Backend) {
    let Some(server) = s3::server() else { return };
    let proxy = Proxy::start(&server.endpoint).await;
    let Some((app, _)) = s3_app(backend, Some(&proxy.endpoint), vec![("GATEHOUSE_S3_TIMEOUT_SECS", "2".into())]).await
    else {
        return;
    };
    let t = app.applicant("ana@example.com").await;
    let file_id = upload(&app, &t).await;
    assert_eq!(download(&app, &t, file_id).await.0, 200);

    for (mode, what) in [(REFUSE, "refused"), (STALL, "stalled")] {
        proxy.set(mode);
        let started = Instant::now();
        let resp = app.client.get(app.url(&format!("/files/{file_id}"))).bearer_auth(&t.access).send().await.unwrap();
        let elapsed = started.elapsed();
        assert_eq!(resp.status().as_u16(), 503, "{what}");
        assert_eq!(resp.headers()["content-type"], "application/problem+json", "{what}");
        assert!(resp.headers().contains_key("retry-after"), "{what}");
        assert!(elapsed < Duration::from_secs(10), "{what}: answered after {elapsed:?}, past the 2 s deadline");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["status"], 503, "{what}: {body}");

        // An upload while the store is down is refused as a whole and records nothing.
        let (status, body) = app.upload("/me/credentials", &t.access, diploma()).await;
        assert_eq!(status, 503, "{what}: {body}");
        let (_, mine) = app.get("/me/credentials", Some(&t.access)).await;
        assert_eq!(mine["items"].as_array().map(Vec::len), Some(1), "{what}: {mine}");
    }
    proxy.set(PASS);
    assert_eq!(download(&app, &t, file_id).await.2, PDF);
}
