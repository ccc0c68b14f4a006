//! Key rotation: the encryption key ring (new writes on the new key, a resumable
//! re-encryption of fields and files, the old key retired only when nothing uses it,
//! everything read back without it), the CLI on file-kept keys, the JWT secret's grace
//! period, and PostgreSQL refusing to run on generated keys.

use std::collections::BTreeMap;
use std::process::Command;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use gatehouse::clock::Clock;
use gatehouse::keys::rotation;
use serde_json::json;

use crate::both_backends;
use crate::support::{Backend, Options, TestApp, Tokens, PASSWORD};

both_backends!(
    rotation_reencrypts_fields_and_files_and_the_old_key_retires,
    jwt_rotation_keeps_old_tokens_for_the_grace
);

fn new_key(len: usize) -> String {
    STANDARD.encode((0..len).map(|_| rand::random::<u8>()).collect::<Vec<u8>>())
}

#[derive(QueryableByName)]
struct Sealed {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    value: String,
}

/// Every encrypted field, as stored: (`table.column`, id) → ciphertext.
fn sealed_fields(app: &TestApp) -> BTreeMap<(String, i64), String> {
    let mut out = BTreeMap::new();
    for (table, pk, column) in rotation::ENCRYPTED_FIELDS {
        let sql = format!("SELECT {pk} AS id, {column} AS value FROM {table} WHERE {column} IS NOT NULL");
        let rows: Vec<Sealed> = app.state.db.read_sync(|c| Ok(diesel::sql_query(&sql).load(c)?)).unwrap();
        for r in rows {
            out.insert((format!("{table}.{column}"), r.id), r.value);
        }
    }
    out
}

/// The same, decrypted with the app's current key ring.
fn plain_fields(app: &TestApp) -> BTreeMap<(String, i64), String> {
    sealed_fields(app)
        .into_iter()
        .map(|(k, v)| {
            let plain = app.state.cipher.decrypt_str(&v).unwrap_or_else(|_| panic!("{k:?} does not decrypt"));
            (k, plain)
        })
        .collect()
}

fn storage_keys(app: &TestApp) -> BTreeMap<i64, String> {
    use gatehouse::db::schema::files;
    app.state
        .db
        .read_sync(|c| Ok(files::table.select((files::id, files::storage_key)).load::<(i64, String)>(c)?))
        .unwrap()
        .into_iter()
        .collect()
}

/// Every file, downloaded through the API by its owner.
async fn downloads(app: &TestApp, owner: &Tokens) -> BTreeMap<i64, Vec<u8>> {
    let mut out = BTreeMap::new();
    for id in storage_keys(app).keys() {
        let resp = app.client.get(app.url(&format!("/files/{id}"))).bearer_auth(&owner.access).send().await.unwrap();
        assert_eq!(resp.status(), 200, "file {id}");
        out.insert(*id, resp.bytes().await.unwrap().to_vec());
    }
    out
}

async fn usage(app: &TestApp, version: u32) -> rotation::Usage {
    let state = app.state.clone();
    actix_web::web::block(move || rotation::usage(&state, version)).await.unwrap().unwrap()
}

async fn reencrypt(app: &TestApp, batch: i64, max_batches: Option<u64>) -> rotation::ReencryptReport {
    let state = app.state.clone();
    actix_web::web::block(move || rotation::reencrypt(&state, batch, max_batches)).await.unwrap().unwrap()
}

/// A contributor with every kind of encrypted data: date of birth, work-authorization
/// document number and files, TIN, bank account, a credential file.
async fn sensitive_data(app: &TestApp) -> Tokens {
    let (t, _) = crate::onboarding::submitted(app, "maria@example.com").await;
    crate::payouts::sign_w9(app, &t, false).await;
    crate::payouts::add_method(app, &t, crate::payouts::ach("000987654321")).await;
    crate::storage::upload(app, &t).await;
    t
}

async fn rotation_reencrypts_fields_and_files_and_the_old_key_retires(backend: Backend) {
    let k1 = new_key(32);
    let vars = vec![("GATEHOUSE_ENCRYPTION_KEY", k1.clone())];
    let mut app = TestApp::spawn_with(backend, Options { vars, ..Options::default() }).await;
    let t = sensitive_data(&app).await;
    let fields = plain_fields(&app);
    assert_eq!(fields.len(), 4, "{fields:?}");
    let files = downloads(&app, &t).await;
    assert_eq!(files.len(), 3);
    assert!(sealed_fields(&app).values().all(|v| v.starts_with("v1:")));

    // Step 1 and 2 of a rotation: the new key in the ring, then current.
    let k2 = new_key(32);
    app.restart_with(vec![("GATEHOUSE_ENCRYPTION_KEY", format!("2:{k2},1:{k1}"))]).await;
    let t = app.login("maria@example.com", PASSWORD).await;
    let (status, body) = app.patch("/me", Some(&t.access), json!({"date_of_birth": "1990-05-18"})).await;
    assert_eq!(status, 200, "{body}");
    let new_file = crate::storage::upload(&app, &t).await;
    let sealed = sealed_fields(&app);
    assert!(sealed[&("contributor_profiles.date_of_birth_enc".to_string(), app.user_id(&t).await)].starts_with("v2:"));
    assert!(storage_keys(&app)[&new_file].ends_with(".k2"));
    let mut fields = fields;
    for ((column, _), plain) in fields.iter_mut() {
        if column == "contributor_profiles.date_of_birth_enc" {
            *plain = "1990-05-18".to_string();
        }
    }
    let mut files = files;
    files.insert(new_file, downloads(&app, &t).await[&new_file].clone());

    // The old key is still in use: 3 fields and 3 files.
    let before = usage(&app, 1).await;
    assert_eq!((before.fields.values().sum::<i64>(), before.files), (3, 3), "{before:?}");

    // Stopped after two batches of one, then resumed to the end; a third run finds nothing.
    let partial = reencrypt(&app, 1, Some(2)).await;
    assert!(!partial.done);
    let moved = (partial.fields + partial.files) as i64;
    assert!(moved >= 1, "{partial:?}");
    assert_eq!(usage(&app, 1).await.total(), 6 - moved, "what was done stays done");
    let rest = reencrypt(&app, 1, None).await;
    assert!(rest.done && rest.failed.is_empty(), "{rest:?}");
    assert_eq!((partial.fields + rest.fields, partial.files + rest.files), (3, 3));
    assert_eq!(usage(&app, 1).await.total(), 0);
    let again = reencrypt(&app, 100, None).await;
    assert_eq!((again.fields, again.files, again.done), (0, 0, true));
    assert!(sealed_fields(&app).values().all(|v| v.starts_with("v2:")));
    assert!(storage_keys(&app).values().all(|k| k.ends_with(".k2")));

    // Retired: only the new key is left, and everything reads back.
    app.restart_with(vec![("GATEHOUSE_ENCRYPTION_KEY", format!("2:{k2}"))]).await;
    assert_eq!(app.state.cipher.versions(), vec![2]);
    let t = app.login("maria@example.com", PASSWORD).await;
    assert_eq!(plain_fields(&app), fields);
    assert_eq!(downloads(&app, &t).await, files);
    let (status, tax) = app.get("/me/tax-profile", Some(&t.access)).await;
    assert_eq!(status, 200, "{tax}");

    // And the old key alone reads none of it.
    app.restart_with(vec![("GATEHOUSE_ENCRYPTION_KEY", k1)]).await;
    assert!(sealed_fields(&app).values().all(|v| app.state.cipher.decrypt_str(v).is_err()));
    let t = app.login("maria@example.com", PASSWORD).await;
    let resp = app.client.get(app.url(&format!("/files/{new_file}"))).bearer_auth(&t.access).send().await.unwrap();
    assert_eq!(resp.status(), 500, "a file sealed with an unknown key is never served");
}

async fn jwt_rotation_keeps_old_tokens_for_the_grace(backend: Backend) {
    let mut app = TestApp::spawn(backend).await;
    let old = app.applicant("ana@example.com").await;
    let previous = STANDARD.encode(&app.state.config.keys.jwt_secret);
    let until = (app.clock.now().and_utc() + chrono::Duration::minutes(5)).to_rfc3339();
    app.restart_with(vec![
        ("GATEHOUSE_JWT_SECRET", new_key(64)),
        ("GATEHOUSE_JWT_PREVIOUS_SECRET", previous),
        ("GATEHOUSE_JWT_PREVIOUS_UNTIL", until),
    ])
    .await;
    assert_eq!(app.get("/me", Some(&old.access)).await.0, 200, "a token of the previous secret, in the grace");
    let new = app.login("ana@example.com", PASSWORD).await;
    app.clock.advance(chrono::Duration::minutes(6));
    assert_eq!(app.get("/me", Some(&old.access)).await.0, 401, "the grace is over");
    assert_eq!(app.get("/me", Some(&new.access)).await.0, 200);
    // The refresh token (a database row, not signed) still renews the session.
    let (status, body) = app.post("/auth/refresh", None, json!({"refresh_token": old.refresh})).await;
    assert_eq!(status, 200, "{body}");
}

fn gatehouse(app: &TestApp, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_gatehouse")).envs(app.env()).args(args).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

/// The embedded default keeps its keys in files: the CLI rotates, re-encrypts and retires
/// them there, and the server reads the ring back at its next start.
#[actix_web::test]
async fn cli_rotates_reencrypts_and_retires_a_file_kept_key() {
    let mut app = TestApp::spawn(Backend::Sqlite).await;
    let t = app.applicant("ana@example.com").await;
    crate::payouts::sign_w9(&app, &t, false).await;
    crate::storage::upload(&app, &t).await;
    let key_file = app.state.config.data_dir.join("keys/encryption.key");

    let (ok, out) = gatehouse(&app, &["keys", "rotate"]);
    assert!(ok, "{out}");
    let ring = std::fs::read_to_string(&key_file).unwrap();
    assert!(ring.starts_with("2:") && ring.contains(",1:"), "the new key first, the old one kept");
    let (ok, out) = gatehouse(&app, &["keys", "retire", "--version", "1"]);
    assert!(!ok && out.contains("still seals"), "{out}");
    let (ok, out) = gatehouse(&app, &["keys", "retire", "--version", "2"]);
    assert!(!ok && out.contains("current key"), "{out}");

    app.restart().await;
    assert_eq!(app.state.cipher.current_version(), 2);
    let (ok, out) = gatehouse(&app, &["keys", "reencrypt", "--batch-size", "1"]);
    assert!(ok && out.contains("\"done\": true"), "{out}");
    let (ok, out) = gatehouse(&app, &["keys", "status"]);
    assert!(ok && out.contains("current key: v2"), "{out}");
    let (ok, out) = gatehouse(&app, &["keys", "retire", "--version", "1"]);
    assert!(ok, "{out}");
    assert!(!std::fs::read_to_string(&key_file).unwrap().contains(",1:"));

    app.restart().await;
    assert_eq!(app.state.cipher.versions(), vec![2]);
    assert!(plain_fields(&app).values().any(|v| v == "123456789"), "the TIN reads back");
    let t = app.login("ana@example.com", PASSWORD).await;
    assert_eq!(downloads(&app, &t).await.len(), 1);
}

/// On PostgreSQL, generated keys would differ per instance: start-up refuses (exit 2),
/// naming the variable, before touching the database.
#[test]
fn postgres_refuses_to_start_without_explicit_keys() {
    let dir = tempfile::tempdir().unwrap();
    let key = |n| new_key(n);
    for (missing, present) in [
        ("GATEHOUSE_JWT_SECRET", ("GATEHOUSE_ENCRYPTION_KEY", key(32))),
        ("GATEHOUSE_ENCRYPTION_KEY", ("GATEHOUSE_JWT_SECRET", key(64))),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
            .env_clear()
            .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
            .env("GATEHOUSE_DATA_DIR", dir.path())
            .env(present.0, present.1)
            .arg("serve")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(&format!("{missing}: required with PostgreSQL")), "{stderr}");
        assert!(!dir.path().join("keys").exists(), "no key was generated");
    }
}
