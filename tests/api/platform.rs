use serde_json::{json, Value};

use crate::both_backends;
use crate::support::{Backend, TestApp, PASSWORD};

both_backends!(health_and_readiness, malformed_and_oversized_bodies_get_problems, openapi_documents_every_endpoint);

async fn health_and_readiness(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let resp = app.client.get(format!("{}/healthz", app.base)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let resp = app.client.get(format!("{}/readyz", app.base)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().contains_key("x-request-id"));
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["status"], "ready");
}

/// Rows in `users` and `outbox`: what a registration writes.
async fn stored(app: &TestApp) -> (i64, i64) {
    use diesel::prelude::*;
    use gatehouse::db::schema::{outbox, users};
    let state = app.state.clone();
    actix_web::web::block(move || {
        state.db.read_sync(|c| {
            Ok((users::table.count().get_result::<i64>(c)?, outbox::table.count().get_result::<i64>(c)?))
        })
    })
    .await
    .unwrap()
    .unwrap()
}

async fn malformed_and_oversized_bodies_get_problems(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let before = stored(&app).await;
    let resp = app
        .client
        .post(app.url("/auth/register"))
        .header("content-type", "application/json")
        .body("{\"email\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["code"], "malformed_json");
    assert_eq!(body["status"], 400);

    let huge = "x".repeat(app.state.config.max_json_bytes + 10);
    let resp = app
        .client
        .post(app.url("/auth/register"))
        .json(&json!({"email": "big@example.com", "password": huge, "full_name": "Big"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["code"], "payload_too_large");

    let (status, body) =
        app.post("/auth/register", None, json!({"email": "not-an-email", "password": "short", "full_name": ""})).await;
    assert_eq!(status, 422);
    let fields: Vec<&str> = body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["email", "full_name", "password"]);

    let (status, body) = app.get("/no/such/endpoint", None).await;
    assert_eq!(status, 404);
    assert_eq!(body["code"], "not_found");

    // Nothing was stored by the refused requests: no account, no email queued, and the
    // address of the oversized one registers now (409 `email_taken` had it been stored).
    assert_eq!(stored(&app).await, before);
    let (status, body) = app
        .post("/auth/register", None, json!({"email": "big@example.com", "password": PASSWORD, "full_name": "Big"}))
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(stored(&app).await.0, before.0 + 1, "the count above would see a stored account");
}

/// The contract paths of SPEC §12 built so far, each with its documented errors.
async fn openapi_documents_every_endpoint(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (status, doc) = app.get("/openapi.json", None).await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    let expected = [
        ("post", "/api/v1/auth/register"),
        ("post", "/api/v1/auth/verify-email"),
        ("post", "/api/v1/auth/verify-email/resend"),
        ("post", "/api/v1/auth/login"),
        ("post", "/api/v1/auth/refresh"),
        ("post", "/api/v1/auth/logout"),
        ("post", "/api/v1/auth/password-reset"),
        ("post", "/api/v1/auth/password-reset/confirm"),
        ("get", "/api/v1/me"),
        ("patch", "/api/v1/me"),
        ("put", "/api/v1/me/password"),
        ("post", "/api/v1/admin/staff"),
        ("put", "/api/v1/admin/users/{id}/roles"),
        ("post", "/api/v1/admin/staff/{id}/disable"),
        ("post", "/api/v1/admin/staff/{id}/enable"),
        ("post", "/api/v1/admin/staff/{id}/invitation"),
        ("post", "/api/v1/me/close"),
        ("post", "/api/v1/contributors/{id}/payout-release"),
        ("post", "/api/v1/contributors/{id}/payout-release/approve"),
        ("get", "/api/v1/contributors/{id}/payout-release"),
        ("get", "/api/v1/me/readiness"),
        ("get", "/api/v1/contributors/{id}/readiness"),
        ("get", "/api/v1/me/decisions"),
        ("put", "/api/v1/me/work-authorization"),
        ("get", "/api/v1/me/work-authorization"),
        ("post", "/api/v1/me/work-authorization/documents"),
        ("get", "/api/v1/review/work-authorizations"),
        ("post", "/api/v1/review/work-authorizations/{id}/claim"),
        ("post", "/api/v1/review/work-authorizations/{id}/decision"),
        ("get", "/api/v1/files/{id}"),
        ("put", "/api/v1/me/tax-profile"),
        ("get", "/api/v1/tax/1099-nec/{year}"),
        ("post", "/api/v1/tax/1099-nec/{year}/issue"),
        ("get", "/api/v1/tax/1099-nec/{year}/export"),
        ("get", "/api/v1/me/tax-documents/{year}"),
        ("get", "/api/v1/me/tax-profile"),
        ("post", "/api/v1/contributors/{id}/b-notice"),
        ("post", "/api/v1/contributors/{id}/b-notice/{notice_id}/clear"),
        ("get", "/api/v1/contributors/{id}/tax-status"),
        ("get", "/api/v1/tax/thresholds"),
        ("put", "/api/v1/admin/tax-thresholds/{year}"),
        ("post", "/api/v1/me/credentials"),
        ("get", "/api/v1/me/credentials"),
        ("get", "/api/v1/review/credentials"),
        ("post", "/api/v1/review/credentials/{id}/claim"),
        ("post", "/api/v1/review/credentials/{id}/decision"),
        ("post", "/api/v1/admin/credential-rules"),
        ("get", "/api/v1/admin/credential-rules"),
        ("post", "/api/v1/review/removals"),
        ("get", "/api/v1/review/removals"),
        ("post", "/api/v1/review/removals/{id}/confirm"),
        ("post", "/api/v1/admin/jobs/run-due"),
        ("get", "/api/v1/admin/audit"),
        ("get", "/api/v1/admin/outbox"),
        ("post", "/api/v1/admin/outbox/{id}/retry"),
        ("post", "/api/v1/admin/tests"),
        ("put", "/api/v1/admin/tests/{id}"),
        ("post", "/api/v1/admin/tests/{id}/retire"),
        ("post", "/api/v1/admin/projects"),
        ("post", "/api/v1/admin/qualifications/{id}/revoke"),
        ("get", "/api/v1/tests"),
        ("post", "/api/v1/tests/{id}/attempts"),
        ("put", "/api/v1/attempts/{id}/answers"),
        ("post", "/api/v1/attempts/{id}/submit"),
        ("get", "/api/v1/attempts/{id}"),
        ("get", "/api/v1/review/test-answers"),
        ("post", "/api/v1/review/test-answers/{id}/claim"),
        ("post", "/api/v1/review/test-answers/{id}/decision"),
        ("get", "/api/v1/me/qualifications"),
        ("post", "/api/v1/work-records"),
        ("get", "/api/v1/review/work-records"),
        ("post", "/api/v1/review/work-records/{id}/claim"),
        ("post", "/api/v1/review/work-records/{id}/decision"),
        ("post", "/api/v1/me/work-records/{id}/appeal"),
        ("get", "/api/v1/review/appeals"),
        ("post", "/api/v1/review/appeals/{id}/claim"),
        ("post", "/api/v1/review/appeals/{id}/decision"),
        ("get", "/api/v1/me/work-records"),
        ("get", "/api/v1/me/earnings"),
        ("get", "/api/v1/me/standing"),
        ("get", "/api/v1/contributors/{id}/standing"),
        ("post", "/api/v1/me/standing/moves/{id}/appeal"),
        ("get", "/api/v1/review/standing-moves"),
        ("post", "/api/v1/review/standing-moves/{id}/claim"),
        ("post", "/api/v1/review/standing-moves/{id}/decision"),
        ("get", "/api/v1/admin/reviewer-accuracy"),
        ("get", "/api/v1/contributors/{id}/ledger"),
        ("post", "/api/v1/ledger/adjustments"),
        ("post", "/api/v1/ledger/adjustments/{id}/approve"),
        ("get", "/api/v1/ledger/adjustments"),
        ("post", "/api/v1/me/payout-methods"),
        ("get", "/api/v1/me/payout-methods"),
        ("get", "/api/v1/me/payouts"),
        ("post", "/api/v1/payout-batches"),
        ("get", "/api/v1/payout-batches"),
        ("get", "/api/v1/payout-batches/preview"),
        ("get", "/api/v1/payout-batches/{id}"),
        ("post", "/api/v1/payout-batches/{id}/approve"),
        ("post", "/api/v1/payout-batches/{id}/cancel"),
        ("get", "/api/v1/payout-batches/{id}/export"),
        ("post", "/api/v1/payout-batches/{id}/settlement"),
        ("post", "/api/v1/payout-batches/{id}/notifications-of-change"),
        ("get", "/api/v1/payouts/late"),
        ("get", "/api/v1/payouts/trace"),
        ("get", "/api/v1/payout-items/{id}/tasks"),
        ("get", "/api/v1/admin/settings"),
        ("put", "/api/v1/admin/settings"),
        ("get", "/api/v1/payouts/unclaimed"),
        ("get", "/healthz"),
        ("get", "/readyz"),
        ("get", "/api/v1/openapi.json"),
        ("get", "/api/v1/docs"),
    ];
    for (method, path) in expected {
        assert!(paths.get(path).and_then(|p| p.get(method)).is_some(), "{method} {path} missing from OpenAPI");
    }
    let mut operations = 0;
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            operations += 1;
            let responses = op["responses"].as_object().unwrap();
            if path.starts_with("/api/v1/") && path != "/api/v1/openapi.json" && path != "/api/v1/docs" {
                assert!(
                    responses.iter().any(
                        |(code, r)| code.starts_with('4') && r.to_string().contains("#/components/schemas/Problem")
                    ),
                    "{method} {path} documents no problem response"
                );
            }
            if op.get("security").is_some() {
                assert!(responses.contains_key("401"), "{method} {path} is secured but documents no 401");
            }
        }
    }
    assert_eq!(
        operations,
        expected.len(),
        "an undocumented or unlisted operation: {:?}",
        paths.keys().collect::<Vec<_>>()
    );
    assert!(doc["components"]["schemas"]["Problem"].is_object());
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}
