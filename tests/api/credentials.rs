use chrono::Duration;
use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};

use crate::both_backends;
use crate::support::{logs, Backend, TestApp, Tokens, PASSWORD};

both_backends!(
    verified_degree_grants_a_qualification_and_unlocks_a_test,
    rejection_and_more_info_reach_the_applicant,
    bad_uploads_are_refused_and_leave_nothing,
    same_file_from_two_applicants_is_flagged,
    claims_and_file_access_protect_credentials,
    expiring_license_lapses_its_qualification,
    removal_needs_two_people,
    removal_leaves_approved_earnings_untouched,
    an_unknown_stored_reason_code_is_an_error_never_a_default,
);

const PDF: &[u8] = b"%PDF-1.5\n% diploma\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n";
const JPEG: &[u8] = b"\xff\xd8\xff\xe0\0\x10JFIF\0\x01\x01\0\0\x01\0\x01\0\0\xff\xd9";
const EXE: &[u8] = b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff\0\0\xb8\0\0\0\0\0\0\0@\0";

fn form(kind: &str, level: Option<&str>, domain: &str, bytes: &[u8], name: &str) -> Form {
    let mut f = Form::new()
        .text("kind", kind.to_string())
        .text("domain", domain.to_string())
        .text("title", "Juris Doctor")
        .text("issuer", "State University")
        .text("issued_on", "2015-06-01")
        .part("file", Part::bytes(bytes.to_vec()).file_name(name.to_string()).mime_str("application/pdf").unwrap());
    if let Some(l) = level {
        f = f.text("level", l.to_string());
    }
    f
}

async fn upload(app: &TestApp, t: &Tokens, f: Form) -> (u16, Value) {
    app.upload("/me/credentials", &t.access, f).await
}

async fn claim_and_decide(app: &TestApp, reviewer: &Tokens, id: i64, decision: Value) -> Value {
    let (status, body) = app.post(&format!("/review/credentials/{id}/claim"), Some(&reviewer.access), json!({})).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) =
        app.post(&format!("/review/credentials/{id}/decision"), Some(&reviewer.access), decision).await;
    assert_eq!(status, 200, "{body}");
    body
}

fn verify() -> Value {
    json!({"outcome": "verify", "reason_code": "credential_verified"})
}

async fn verified_degree_grants_a_qualification_and_unlocks_a_test(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    let reviewer = app.staff(&admin, "rev@gatehouse.test", &["reviewer"]).await;
    let (status, rule) = app
        .post(
            "/admin/credential-rules",
            Some(&admin.access),
            json!({"kind": "degree", "level": "doctorate", "domain": "Law", "grants_domain": "legal_review", "grants_tier": "expert"}),
        )
        .await;
    assert_eq!(status, 201, "{rule}");
    // A test that requires a verified master's degree in law.
    let (status, test) = app
        .post(
            "/admin/tests",
            Some(&admin.access),
            json!({"domain": "law", "tier": "generalist", "title": "Law basics", "time_limit_minutes": 30,
                   "pass_mark_percent": 50, "attempt_limit": 2, "cooldown_hours": 24,
                   "prerequisites": [{"type": "credential", "kind": "degree", "level": "doctorate", "domain": "law"}],
                   "sections": [{"title": "S", "questions": [{"id": "q1", "type": "single_choice", "prompt": "?",
                     "options": [{"id": "a", "text": "A"}, {"id": "b", "text": "B"}], "correct": "a"}]}]}),
        )
        .await;
    assert_eq!(status, 201, "{test}");
    let test_id = test["id"].as_i64().unwrap();

    let t = app.applicant("jd@example.com").await;
    let entry =
        |tests: &Value| tests["items"].as_array().unwrap().iter().find(|e| e["id"] == test_id).cloned().unwrap();
    let (_, tests) = app.get("/tests", Some(&t.access)).await;
    assert_eq!(entry(&tests)["available"], false);

    let (status, c) = upload(&app, &t, form("degree", Some("doctorate"), "law", PDF, "jd.pdf")).await;
    assert_eq!(status, 201, "{c}");
    assert_eq!(c["status"], "pending_review");
    assert!(c.get("flagged").is_none(), "fraud signals stay internal");
    let r = app.get("/me/readiness", Some(&t.access)).await.1;
    let line = r["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["code"] == format!("credential:{}", c["id"]))
        .unwrap()
        .clone();
    assert_eq!(line["status"], "pending_review");

    let (status, queue) = app.get("/review/credentials?kind=degree&domain=law", Some(&reviewer.access)).await;
    assert_eq!(status, 200, "{queue}");
    assert_eq!(queue["items"].as_array().unwrap().len(), 1);
    assert_eq!(queue["items"][0]["flagged"], false);
    assert!(queue["items"][0]["age_seconds"].as_i64().unwrap() >= 0);
    let (_, other_kind) = app.get("/review/credentials?kind=transcript", Some(&reviewer.access)).await;
    assert_eq!(other_kind["items"].as_array().unwrap().len(), 0);
    let (_, too_young) = app.get("/review/credentials?min_age_hours=2", Some(&reviewer.access)).await;
    assert_eq!(too_young["items"].as_array().unwrap().len(), 0);

    let id = c["id"].as_i64().unwrap();
    let decided = claim_and_decide(&app, &reviewer, id, verify()).await;
    assert_eq!(decided["status"], "verified");

    let mail = app.smtp.inbox.wait_for_nth("jd@example.com", 2).await;
    assert_eq!(mail.subject, "Update on your credential");
    assert!(mail.text.contains("legal_review expert"), "{}", mail.text);
    let (_, quals) = app.get("/me/qualifications", Some(&t.access)).await;
    assert_eq!(quals["items"][0]["domain"], "legal_review");
    assert_eq!(quals["items"][0]["tier"], "expert");
    let (_, tests) = app.get("/tests", Some(&t.access)).await;
    assert_eq!(entry(&tests)["available"], true, "{tests}");
    let (_, decisions) = app.get("/me/decisions", Some(&t.access)).await;
    assert_eq!(decisions["items"][0]["subject_type"], "credential");
    assert_eq!(decisions["items"][0]["outcome"], "verified");
}

async fn rejection_and_more_info_reach_the_applicant(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    let reviewer = app.staff(&admin, "rev@gatehouse.test", &["reviewer"]).await;
    let t = app.applicant("ms@example.com").await;
    let (_, c1) = upload(&app, &t, form("certification", None, "security", JPEG, "cert.jpg")).await;
    let (_, c2) = upload(&app, &t, form("degree", Some("master"), "mathematics", PDF, "msc.pdf")).await;

    claim_and_decide(
        &app,
        &reviewer,
        c1["id"].as_i64().unwrap(),
        json!({"outcome": "reject", "reason_code": "issuer_not_recognized", "note": "We could not find this issuer."}),
    )
    .await;
    // A reason must be one of the outcome's: unknown, or another outcome's, is a 422
    // naming the field, and the credential stays undecided.
    let decision = format!("/review/credentials/{}/decision", c2["id"]);
    let (status, body) =
        app.post(&format!("/review/credentials/{}/claim", c2["id"]), Some(&reviewer.access), json!({})).await;
    assert_eq!(status, 200, "{body}");
    for refused in [
        json!({"outcome": "verify", "reason_code": "missing_pages"}),
        json!({"outcome": "reject", "reason_code": "vibes", "note": "x"}),
    ] {
        let (status, body) = app.post(&decision, Some(&reviewer.access), refused).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(
            (body["errors"][0]["field"].as_str(), body["errors"][0]["code"].as_str()),
            (Some("reason_code"), Some("unknown_reason"))
        );
    }
    let more = json!({"outcome": "request_more_info", "reason_code": "missing_pages", "note": "Page 2 is missing."});
    let (status, body) = app.post(&decision, Some(&reviewer.access), more).await;
    assert_eq!(status, 200, "{body}");

    let (_, mine) = app.get("/me/credentials", Some(&t.access)).await;
    let by_id = |id: &Value| mine["items"].as_array().unwrap().iter().find(|c| &c["id"] == id).unwrap().clone();
    assert_eq!(by_id(&c1["id"])["status"], "rejected");
    assert_eq!(by_id(&c1["id"])["reason_code"], "issuer_not_recognized");
    assert_eq!(by_id(&c1["id"])["note"], "We could not find this issuer.");
    assert_eq!(by_id(&c2["id"])["status"], "more_info_requested");
    app.smtp.inbox.wait_for_nth("ms@example.com", 3).await;
    let notes: Vec<String> = app.smtp.inbox.to("ms@example.com").iter().map(|m| m.text.clone()).collect();
    assert!(notes.iter().any(|n| n.contains("Page 2 is missing.")));

    // Re-upload replaces the item; replacing a rejected one is refused.
    let (status, body) =
        upload(&app, &t, form("certification", None, "security", JPEG, "c.jpg").text("replaces", c1["id"].to_string()))
            .await;
    assert_eq!(status, 409, "{body}");
    let (status, again) = upload(
        &app,
        &t,
        form("degree", Some("master"), "mathematics", PDF, "msc2.pdf").text("replaces", c2["id"].to_string()),
    )
    .await;
    assert_eq!(status, 201, "{again}");
    assert_eq!(again["replaces_id"], c2["id"]);
    let (_, mine) = app.get("/me/credentials", Some(&t.access)).await;
    let statuses: Vec<&str> = mine["items"].as_array().unwrap().iter().map(|c| c["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["pending_review", "superseded", "rejected"]);
    let (_, queue) = app.get("/review/credentials", Some(&reviewer.access)).await;
    assert_eq!(queue["items"].as_array().unwrap().len(), 1);
}

async fn bad_uploads_are_refused_and_leave_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = app.applicant("bad@example.com").await;
    let (status, body) = upload(&app, &t, form("degree", Some("master"), "law", EXE, "diploma.pdf")).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errors"][0]["code"], "file_type");
    let mut big = PDF.to_vec();
    big.resize(app.state.config.operations.max_upload_bytes + 1, b'0');
    let (status, body) = upload(&app, &t, form("degree", Some("master"), "law", &big, "big.pdf")).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["code"], "payload_too_large");
    let (status, body) = upload(&app, &t, form("degree", None, "law", PDF, "x.pdf")).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errors"][0]["field"], "level");
    let (status, body) = upload(&app, &t, form("transcript", Some("master"), "law", PDF, "x.pdf")).await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = app.upload("/me/credentials", &t.access, Form::new().text("kind", "degree")).await;
    assert_eq!(status, 422, "{body}");

    let (_, mine) = app.get("/me/credentials", Some(&t.access)).await;
    assert_eq!(mine["items"], json!([]));
    let files = app.state.config.data_dir.join("files");
    let stored = std::fs::read_dir(&files).map(|d| d.count()).unwrap_or(0);
    assert_eq!(stored, 0, "no file left in {}", files.display());
}

async fn same_file_from_two_applicants_is_flagged(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    let reviewer = app.staff(&admin, "rev@gatehouse.test", &["reviewer"]).await;
    let a = app.applicant("a@example.com").await;
    let b = app.applicant("b@example.com").await;
    let c = app.applicant("c@example.com").await;
    upload(&app, &a, form("degree", Some("bachelor"), "physics", PDF, "a.pdf")).await;
    upload(&app, &c, form("degree", Some("bachelor"), "physics", JPEG, "c.jpg")).await;
    let (_, queue) = app.get("/review/credentials?flagged=true", Some(&reviewer.access)).await;
    assert_eq!(queue["items"].as_array().unwrap().len(), 0);
    upload(&app, &b, form("degree", Some("bachelor"), "physics", PDF, "copy.pdf")).await;
    let (_, queue) = app.get("/review/credentials?flagged=true", Some(&reviewer.access)).await;
    let names: Vec<&str> =
        queue["items"].as_array().unwrap().iter().map(|i| i["applicant_name"].as_str().unwrap()).collect();
    assert_eq!(names.len(), 2, "{queue}");
    assert!(queue["items"][0]["flag_reason"].as_str().unwrap().contains("another applicant"));
    let (_, clean) = app.get("/review/credentials?flagged=false", Some(&reviewer.access)).await;
    assert_eq!(clean["items"].as_array().unwrap().len(), 1);
}

async fn claims_and_file_access_protect_credentials(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    let r1 = app.staff(&admin, "r1@gatehouse.test", &["reviewer"]).await;
    let r2 = app.staff(&admin, "r2@gatehouse.test", &["reviewer"]).await;
    let owner = app.applicant("own@example.com").await;
    let stranger = app.applicant("stranger@example.com").await;
    let (_, c) = upload(&app, &owner, form("degree", Some("master"), "cs", PDF, "m.pdf")).await;
    let (id, file) = (c["id"].as_i64().unwrap(), format!("/files/{}", c["file_id"]));

    let resp = app.client.get(app.url(&file)).bearer_auth(&owner.access).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.bytes().await.unwrap().as_ref(), PDF);
    assert_eq!(app.get(&file, Some(&stranger.access)).await.0, 404);
    assert_eq!(app.get(&file, Some(&r1.access)).await.0, 404);
    assert_eq!(app.get(&file, Some(&admin.access)).await.0, 200);

    let (status, _) = app.post(&format!("/review/credentials/{id}/claim"), Some(&r1.access), json!({})).await;
    assert_eq!(status, 200);
    let (status, body) = app.post(&format!("/review/credentials/{id}/claim"), Some(&r2.access), json!({})).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "claimed_by_other");
    let (status, body) = app.post(&format!("/review/credentials/{id}/decision"), Some(&r2.access), verify()).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(app.get(&file, Some(&r1.access)).await.0, 200);
    assert_eq!(app.get(&file, Some(&r2.access)).await.0, 404);
}

async fn expiring_license_lapses_its_qualification(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut admin = app.admin().await;
    let reviewer = app.staff(&admin, "rev@gatehouse.test", &["reviewer"]).await;
    app.post(
        "/admin/credential-rules",
        Some(&admin.access),
        json!({"kind": "professional_license", "domain": "medicine", "grants_domain": "medicine", "grants_tier": "expert"}),
    )
    .await;
    let mut t = app.applicant("md@example.com").await;
    let expires = app.state.clock.now().date() + Duration::days(20);
    let (status, c) = upload(
        &app,
        &t,
        form("professional_license", None, "medicine", PDF, "license.pdf").text("expires_on", expires.to_string()),
    )
    .await;
    assert_eq!(status, 201, "{c}");
    claim_and_decide(&app, &reviewer, c["id"].as_i64().unwrap(), verify()).await;
    let (_, q) = app.get("/me/qualifications", Some(&t.access)).await;
    assert_eq!(q["items"][0]["active"], true);

    let (_, report) = app.post("/admin/jobs/run-due", Some(&admin.access), json!({})).await;
    assert_eq!(report["credential_expiry"], json!({"reminders_queued": 1, "lapsed": 0}), "{report}");
    let (_, report) = app.post("/admin/jobs/run-due", Some(&admin.access), json!({})).await;
    assert_eq!(report["credential_expiry"]["reminders_queued"], 0, "idempotent");
    let soon = app.smtp.inbox.wait_for_nth("md@example.com", 3).await;
    assert!(soon.subject.contains("expires on"), "{}", soon.subject);
    assert!(soon.text.contains("medicine expert"), "{}", soon.text);

    app.clock.advance(Duration::days(21));
    app.renew(&mut admin, "admin@gatehouse.test").await;
    app.renew(&mut t, "md@example.com").await;
    let (_, report) = app.post("/admin/jobs/run-due", Some(&admin.access), json!({})).await;
    assert_eq!(report["credential_expiry"]["lapsed"], 1, "{report}");
    let gone = app.smtp.inbox.wait_for_nth("md@example.com", 4).await;
    assert!(gone.subject.contains("has expired"), "{}", gone.subject);
    let (_, q) = app.get("/me/qualifications", Some(&t.access)).await;
    assert_eq!(q["items"][0]["active"], false, "{q}");
    let (_, mine) = app.get("/me/credentials", Some(&t.access)).await;
    assert_eq!(mine["items"][0]["status"], "lapsed");
    let (_, d) = app.get("/me/decisions", Some(&t.access)).await;
    assert_eq!(d["items"][0]["outcome"], "lapsed");
}

async fn removal_needs_two_people(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    let r1 = app.staff(&admin, "r1@gatehouse.test", &["reviewer"]).await;
    let r2 = app.staff(&admin, "r2@gatehouse.test", &["reviewer"]).await;
    let t = app.applicant("fake@example.com").await;
    let uid = app.user_id(&t).await;
    let (_, c) = upload(&app, &t, form("degree", Some("doctorate"), "law", PDF, "fake.pdf")).await;

    let body = json!({"user_id": uid, "credential_id": c["id"], "note": "The university confirmed it never issued this degree."});
    let (status, _) = app.post("/review/removals", Some(&t.access), body.clone()).await;
    assert_eq!(status, 403, "applicants cannot propose removals");
    let (status, proposal) = app.post("/review/removals", Some(&r1.access), body.clone()).await;
    assert_eq!(status, 201, "{proposal}");
    assert_eq!(proposal["status"], "proposed");
    let (status, _) = app.post("/review/removals", Some(&r2.access), body).await;
    assert_eq!(status, 409, "one open proposal at a time");

    // One sign-off is not enough: the account is untouched.
    let id = proposal["id"].as_i64().unwrap();
    let (status, problem) = app.post(&format!("/review/removals/{id}/confirm"), Some(&r1.access), json!({})).await;
    assert_eq!(status, 403, "{problem}");
    let (status, me) = app.get("/me", Some(&t.access)).await;
    assert_eq!(status, 200);
    assert_eq!(me["status"], "email_verified");

    let (status, done) = app.post(&format!("/review/removals/{id}/confirm"), Some(&r2.access), json!({})).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["status"], "confirmed");
    let (status, _) = app.post(&format!("/review/removals/{id}/confirm"), Some(&r2.access), json!({})).await;
    assert_eq!(status, 409);

    // Removed: signed out at once (the old access token too), told why by email; they
    // may sign in again to read their records, and change nothing.
    let (status, _) = app.post("/auth/refresh", None, json!({"refresh_token": t.refresh})).await;
    assert_eq!(status, 401);
    let (status, _) = app.get("/me", Some(&t.access)).await;
    assert_eq!(status, 401, "the session ended with the removal");
    let again = app.login("fake@example.com", PASSWORD).await;
    let (status, me) = app.get("/me", Some(&again.access)).await;
    assert_eq!((status, me["status"].as_str()), (200, Some("removed")), "{me}");
    let (status, problem) = app.patch("/me", Some(&again.access), json!({"full_name": "Someone Else"})).await;
    assert_eq!((status, problem["code"].as_str()), (403, Some("account_read_only")), "{problem}");
    let mail = app.smtp.inbox.wait_for_nth("fake@example.com", 2).await;
    assert!(mail.text.contains("never issued this degree"), "{}", mail.text);
    assert!(mail.text.contains("stays yours"), "{}", mail.text);
    assert!(mail.text.contains("finance"), "the release by finance is announced: {}", mail.text);
    let (_, audit) = app.get("/admin/audit?subject_type=user&action=removal.confirmed", Some(&admin.access)).await;
    assert_eq!(audit["items"][0]["summary"]["proposed_by"], app.user_id(&r1).await);
}

async fn removal_leaves_approved_earnings_untouched(backend: Backend) {
    use crate::work::{ingest, record, run_jobs, world};
    let app = TestApp::spawn(backend).await;
    let mut w = world(&app, 1).await;
    let (uid, tokens) = w.contributors[0].clone();
    let (_, c) = upload(&app, &tokens, form("degree", Some("doctorate"), "law", PDF, "fake.pdf")).await;
    ingest(&app, &w.finance, vec![record(uid, w.open_project, "t-1", "units", "4", "2.50")]).await;
    app.clock.advance(Duration::days(8));
    run_jobs(&app).await;
    app.renew(&mut w.finance, "fin@gatehouse.test").await;
    app.renew(&mut w.reviewer_a, "rev-a@gatehouse.test").await;
    app.renew(&mut w.reviewer_b, "rev-b@gatehouse.test").await;
    let ledger = format!("/contributors/{uid}/ledger");
    let (status, before) = app.get(&ledger, Some(&w.finance.access)).await;
    assert_eq!(status, 200, "{before}");
    assert_eq!(before["balances"]["held"], 1000, "{before}");

    let (_, p) = app
        .post(
            "/review/removals",
            Some(&w.reviewer_a.access),
            json!({"user_id": uid, "credential_id": c["id"], "note": "forged"}),
        )
        .await;
    let (status, _) =
        app.post(&format!("/review/removals/{}/confirm", p["id"]), Some(&w.reviewer_b.access), json!({})).await;
    assert_eq!(status, 200);
    let (_, after) = app.get(&ledger, Some(&w.finance.access)).await;
    assert_eq!(after["balances"], before["balances"], "removal moves no money");
    assert_eq!(after["entries"], before["entries"]);
}

/// A credential's and a removal proposal's reason codes are closed sets down to the
/// database (`CredentialReason`, `RemovalReason`): the system's own `confirmed_false` is
/// no reviewer's choice, a value neither enum knows is refused by the CHECKs when written
/// by hand, and where the CHECKs are bypassed, reading the row is an error (a logged
/// 500), never a default.
async fn an_unknown_stored_reason_code_is_an_error_never_a_default(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    let reviewer = app.staff(&admin, "r1@gatehouse.test", &["reviewer"]).await;
    let t = app.applicant("fake@example.com").await;
    let uid = app.user_id(&t).await;
    let (_, c) = upload(&app, &t, form("degree", Some("doctorate"), "law", PDF, "fake.pdf")).await;
    let cid = c["id"].as_i64().unwrap();
    let (status, _) = app.post(&format!("/review/credentials/{cid}/claim"), Some(&reviewer.access), json!({})).await;
    assert_eq!(status, 200);
    let (status, problem) = app
        .post(
            &format!("/review/credentials/{cid}/decision"),
            Some(&reviewer.access),
            json!({"outcome": "reject", "reason_code": "confirmed_false", "note": "forged"}),
        )
        .await;
    assert_eq!((status, problem["errors"][0]["field"].as_str()), (422, Some("reason_code")), "{problem}");
    let (status, decided) = app
        .post(
            &format!("/review/credentials/{cid}/decision"),
            Some(&reviewer.access),
            json!({"outcome": "reject", "reason_code": "not_verifiable", "note": "no such degree"}),
        )
        .await;
    assert_eq!((status, decided["reason_code"].as_str()), (200, Some("not_verifiable")), "{decided}");
    let body = json!({"user_id": uid, "credential_id": cid, "note": "The university never issued it."});
    let (status, proposal) = app.post("/review/removals", Some(&reviewer.access), body).await;
    assert_eq!((status, proposal["reason_code"].as_str()), (201, Some("false_credential")), "{proposal}");

    let (credential, removal) = (
        format!("UPDATE credentials SET reason_code = 'looked_fine' WHERE id = {cid}"),
        format!("UPDATE removal_proposals SET reason_code = 'bad_vibes' WHERE user_id = {uid}"),
    );
    for sql in [&credential, &removal] {
        let refused = crate::payouts::raw_sql(&app, vec![sql.clone()]).await;
        assert!(refused.is_err(), "the database accepted {sql}");
    }
    let (status, mine) = app.get("/me/credentials", Some(&t.access)).await;
    assert_eq!((status, mine["items"][0]["reason_code"].as_str()), (200, Some("not_verifiable")), "{mine}");

    let bypass = match backend {
        Backend::Sqlite => vec![
            "PRAGMA ignore_check_constraints = ON".to_string(),
            credential,
            removal,
            "PRAGMA ignore_check_constraints = OFF".to_string(),
        ],
        Backend::Postgres => vec![
            "ALTER TABLE credentials DROP CONSTRAINT credentials_reason_code_check".to_string(),
            "ALTER TABLE removal_proposals DROP CONSTRAINT removal_proposals_reason_code_check".to_string(),
            credential,
            removal,
        ],
    };
    crate::payouts::raw_sql(&app, bypass).await.unwrap();
    let (status, body) = app.get("/me/credentials", Some(&t.access)).await;
    assert_eq!((status, body["code"].as_str()), (500, Some("internal_error")), "{body}");
    assert!(logs::captured().contains("unknown CredentialReason \"looked_fine\""), "the cause is logged");
    let (status, body) = app.get("/review/removals", Some(&reviewer.access)).await;
    assert_eq!((status, body["code"].as_str()), (500, Some("internal_error")), "{body}");
    assert!(logs::captured().contains("unknown RemovalReason \"bad_vibes\""), "the cause is logged");
}
