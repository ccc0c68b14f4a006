//! The documented backup and restore procedure, run as an operator would: `scripts/backup.sh`
//! (pg_dump, then the bucket's objects) and `scripts/restore.sh` into an empty database and
//! a new bucket (pg_restore, the objects, then `gatehouse files verify`); a server started
//! on the restored pair serves the same data.

use std::process::Command;

use diesel::prelude::*;

use crate::scale::Instance;
use crate::support::{postgres_available, s3, Backend, Options, S3Server, TestApp, PASSWORD};

fn script(name: &str, app_env: &[(&'static str, String)], changes: &[(&'static str, String)], dir: &std::path::Path) {
    let out = Command::new(format!("{}/scripts/{name}", env!("CARGO_MANIFEST_DIR")))
        .arg(dir)
        .envs(app_env.iter().cloned())
        .envs(changes.iter().cloned())
        .env("GATEHOUSE_BIN", env!("CARGO_BIN_EXE_gatehouse"))
        .env("GATEHOUSE_DATA_DIR", dir.join("cli-data"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{name}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// An empty database beside the test's, dropped at the end.
struct Scratch {
    admin_url: String,
    name: String,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Ok(mut admin) = PgConnection::establish(&self.admin_url) {
            let _ =
                diesel::sql_query(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)).execute(&mut admin);
        }
    }
}

#[actix_web::test]
async fn backup_then_restore_into_a_new_database_and_bucket() {
    if !postgres_available() {
        return;
    }
    let Some(server) = s3::server() else { return };
    let bucket = server.bucket().await;
    let app = TestApp::spawn_with(
        Backend::Postgres,
        Options { vars: S3Server::vars(&server.endpoint, &bucket), ..Options::default() },
    )
    .await;
    let t = app.applicant("ana@example.com").await;
    crate::payouts::sign_w9(&app, &t, false).await;
    let file_id = crate::storage::upload(&app, &t).await;

    let dir = tempfile::tempdir().unwrap();
    let env = app.env();
    script("backup.sh", &env, &[], dir.path());
    assert!(dir.path().join("database.dump").exists());

    // Disaster: restore into an empty database and a new bucket.
    let url = env.iter().rev().find(|(k, _)| *k == "DATABASE_URL").unwrap().1.clone();
    let current = url.rsplit('/').next().unwrap().to_string();
    let scratch = Scratch { admin_url: url.replace(&current, "postgres"), name: format!("{current}_restored") };
    let mut admin = PgConnection::establish(&scratch.admin_url).unwrap();
    diesel::sql_query(format!("CREATE DATABASE {}", scratch.name)).execute(&mut admin).unwrap();
    let new_bucket = server.bucket().await;
    let restored =
        vec![("DATABASE_URL", url.replace(&current, &scratch.name)), ("GATEHOUSE_S3_BUCKET", new_bucket.clone())];
    script("restore.sh", &env, &restored, dir.path());

    let instance = Instance::start_with(&app, "restored", restored).await;
    let client = reqwest::Client::new();
    let login: serde_json::Value = client
        .post(format!("{}/api/v1/auth/login", instance.base))
        .json(&serde_json::json!({"email": "ana@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["access_token"].as_str().expect("the restored database knows Ana").to_string();
    let file =
        client.get(format!("{}/api/v1/files/{file_id}", instance.base)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(file.status(), 200);
    assert!(file.bytes().await.unwrap().starts_with(b"%PDF-1.5"));
    let tax = client.get(format!("{}/api/v1/me/tax-profile", instance.base)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(tax.status(), 200);

    // A restore whose objects are missing fails its verification instead of passing.
    let emptied =
        vec![("DATABASE_URL", url.replace(&current, &scratch.name)), ("GATEHOUSE_S3_BUCKET", server.bucket().await)];
    let out = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .envs(env.iter().cloned())
        .envs(emptied)
        .env("GATEHOUSE_DATA_DIR", dir.path().join("cli-data"))
        .args(["files", "verify"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 file(s) unreadable"), "{out:?}");
}
