use chrono::Duration;
use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};

use crate::both_backends;
use crate::support::{logs, Backend, TestApp, Tokens, PASSWORD};

both_backends!(
    applicant_goes_from_registration_to_verified_authorization,
    no_authorization_or_residence_abroad_is_rejected_at_once,
    invalid_combinations_and_disguised_files_are_refused,
    claims_decide_between_reviewers,
    reviewers_cannot_decide_their_own_application,
    files_are_readable_by_owner_and_claiming_reviewer_only,
    reverification_reminders_and_suspension_follow_the_clock,
    sensitive_data_is_encrypted_and_never_logged,
    concurrent_profile_patches_all_succeed_and_none_is_lost,
);

const PDF: &[u8] = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0\x90wS\xde";
const ELF: &[u8] = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0>\0\x01\0\0\0";

fn part(bytes: &[u8], name: &str) -> Part {
    Part::bytes(bytes.to_vec()).file_name(name.to_string()).mime_str("application/pdf").unwrap()
}

fn profile() -> Value {
    json!({
        "legal_name": "Maria Lopez",
        "date_of_birth": "1990-05-17",
        "address": {"line1": "12 Main St", "city": "Albany", "region": "ny", "postal_code": "12207"},
        "phone": "+1 518 555 0100"
    })
}

fn requirement<'a>(readiness: &'a Value, code: &str) -> &'a Value {
    readiness["requirements"].as_array().unwrap().iter().find(|r| r["code"] == code).unwrap_or(&Value::Null)
}

async fn readiness(app: &TestApp, t: &Tokens) -> Value {
    let (status, body) = app.get("/me/readiness", Some(&t.access)).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// An applicant with a complete profile and an attestation, ready to upload.
async fn attested(app: &TestApp, email: &str, category: &str, expires: Option<String>) -> Tokens {
    let t = app.applicant(email).await;
    let (status, body) = app.patch("/me", Some(&t.access), profile()).await;
    assert_eq!(status, 200, "{body}");
    let mut req = json!({"category": category, "residence_country": "US"});
    if let Some(d) = expires {
        req["expiration_date"] = json!(d);
    }
    let (status, body) = app.put("/me/work-authorization", Some(&t.access), req).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["outcome"], "recorded");
    t
}

fn b_and_c() -> Form {
    Form::new()
        .text("list_b_type", "drivers_license")
        .text("list_b_number", "D1234567")
        .text("list_b_expires_on", "2030-01-31")
        .part("list_b_file", part(PNG, "license.png"))
        .text("list_c_type", "social_security_card")
        .part("list_c_file", part(PDF, "ssn.pdf"))
}

pub(crate) async fn submitted(app: &TestApp, email: &str) -> (Tokens, Value) {
    let t = attested(app, email, "lawful_permanent_resident", None).await;
    let (status, wa) = app.upload("/me/work-authorization/documents", &t.access, b_and_c()).await;
    assert_eq!(status, 201, "{wa}");
    (t, wa)
}

/// Runs the due jobs as the admin (signing in again: the test clock may have moved past
/// any earlier access token).
async fn run_jobs(app: &TestApp, admin: &mut Tokens) -> Value {
    app.renew(admin, "admin@gatehouse.test").await;
    let (status, report) = app.post("/admin/jobs/run-due", Some(&admin.access), json!({})).await;
    assert_eq!(status, 200, "{report}");
    report
}

async fn applicant_goes_from_registration_to_verified_authorization(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = app.applicant("maria@example.com").await;

    let r = readiness(&app, &t).await;
    assert_eq!(r["status"], "email_verified");
    assert_eq!(r["can_work"], false);
    assert_eq!(requirement(&r, "email_verified")["status"], "satisfied");
    assert_eq!(requirement(&r, "profile_complete")["status"], "currently_due");
    assert_eq!(requirement(&r, "work_authorization")["status"], "currently_due");

    let (status, me) = app.patch("/me", Some(&t.access), profile()).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["profile"]["date_of_birth"], "****-**-**");
    assert_eq!(me["profile"]["address"]["region"], "NY");
    assert_eq!(me["profile"]["missing"], json!([]));
    let r = readiness(&app, &t).await;
    assert_eq!(requirement(&r, "profile_complete")["status"], "satisfied");

    let (status, body) = app
        .put(
            "/me/work-authorization",
            Some(&t.access),
            json!({"category": "lawful_permanent_resident", "residence_country": "US"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["work_authorization"]["status"], "attested");
    let r = readiness(&app, &t).await;
    let wa = requirement(&r, "work_authorization");
    assert_eq!(wa["status"], "currently_due");
    assert!(wa["how_to_fix"].as_str().unwrap().contains("List A"), "{wa}");

    let (status, wa) = app.upload("/me/work-authorization/documents", &t.access, b_and_c()).await;
    assert_eq!(status, 201, "{wa}");
    assert_eq!(wa["status"], "pending_review");
    assert_eq!(wa["documents"][0]["number"], "****4567");
    let r = readiness(&app, &t).await;
    assert_eq!(r["status"], "authorization_pending");
    assert_eq!(requirement(&r, "work_authorization")["status"], "pending_review");

    let admin = app.admin().await;
    let reviewer = app.staff(&admin, "rita@gatehouse.test", &["reviewer"]).await;
    let (status, queue) = app.get("/review/work-authorizations", Some(&reviewer.access)).await;
    assert_eq!(status, 200, "{queue}");
    let item = &queue["items"][0];
    assert_eq!(item["applicant_name"], "Test Applicant");
    assert!(item["age_seconds"].as_i64().unwrap() >= 0);
    let id = item["id"].as_i64().unwrap();

    let (status, claim) =
        app.post(&format!("/review/work-authorizations/{id}/claim"), Some(&reviewer.access), json!({})).await;
    assert_eq!(status, 200, "{claim}");
    let file_id = item["documents"][1]["file_id"].as_i64().unwrap();
    let resp =
        app.client.get(app.url(&format!("/files/{file_id}"))).bearer_auth(&reviewer.access).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/pdf");
    assert_eq!(resp.bytes().await.unwrap().as_ref(), PDF);

    let (status, decided) = app
        .post(
            &format!("/review/work-authorizations/{id}/decision"),
            Some(&reviewer.access),
            json!({"outcome": "verify", "reason_code": "documents_verified"}),
        )
        .await;
    assert_eq!(status, 200, "{decided}");
    assert_eq!(decided["status"], "verified");

    let mail = app.smtp.inbox.wait_for_nth("maria@example.com", 2).await;
    assert_eq!(mail.subject, "Update on your US work authorization");
    assert!(mail.text.contains("is verified"), "{}", mail.text);

    let r = readiness(&app, &t).await;
    assert_eq!(r["status"], "authorization_verified");
    assert_eq!(requirement(&r, "work_authorization")["status"], "satisfied");
    assert!(requirement(&r, "work_authorization_current").is_null(), "permanent residents are never reverified");
    assert_eq!(r["can_work"], true);

    let (_, decisions) = app.get("/me/decisions", Some(&t.access)).await;
    let items = decisions["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["outcome"], "verified");
    assert_eq!(items[0]["reason_code"], "documents_verified");

    // Staff read the same readiness view; applicants cannot read others'.
    let uid = app.user_id(&t).await;
    let (status, staff_view) = app.get(&format!("/contributors/{uid}/readiness"), Some(&reviewer.access)).await;
    assert_eq!(status, 200);
    assert_eq!(staff_view["requirements"], r["requirements"]);
    let (status, _) = app.get(&format!("/contributors/{uid}/readiness"), Some(&t.access)).await;
    assert_eq!(status, 403);

    // Nothing left in the queue.
    let (_, queue) = app.get("/review/work-authorizations", Some(&reviewer.access)).await;
    assert_eq!(queue["items"].as_array().unwrap().len(), 0);
}

async fn no_authorization_or_residence_abroad_is_rejected_at_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let none = app.applicant("none@example.com").await;
    let (status, body) = app
        .put("/me/work-authorization", Some(&none.access), json!({"category": "none", "residence_country": "US"}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["outcome"], "rejected");
    assert_eq!(body["reason_code"], "no_work_authorization");
    let mail = app.smtp.inbox.wait_for_nth("none@example.com", 2).await;
    assert_eq!(mail.subject, "Your Gatehouse application");
    assert!(mail.text.contains("authorized to work in the United States"), "{}", mail.text);
    let (_, me) = app.get("/me", Some(&none.access)).await;
    assert_eq!(me["status"], "rejected");
    assert_eq!(me["status_reason"], "no_work_authorization");
    let (_, d) = app.get("/me/decisions", Some(&none.access)).await;
    assert_eq!(d["items"][0]["reason_code"], "no_work_authorization");
    assert_eq!(d["items"][0]["decided_by"], Value::Null);
    let r = readiness(&app, &none).await;
    assert_eq!(requirement(&r, "account_in_good_standing")["status"], "past_due");
    let (status, body) = app
        .put("/me/work-authorization", Some(&none.access), json!({"category": "us_citizen", "residence_country": "US"}))
        .await;
    assert_eq!(status, 403, "a rejected application stays rejected: {body}");
    assert_eq!(body["code"], "account_read_only");

    let abroad = app.applicant("abroad@example.com").await;
    let (status, body) = app
        .put(
            "/me/work-authorization",
            Some(&abroad.access),
            json!({"category": "us_citizen", "residence_country": "CA"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["reason_code"], "residence_outside_us");
    let mail = app.smtp.inbox.wait_for_nth("abroad@example.com", 2).await;
    assert!(mail.text.contains("live in the United States"), "{}", mail.text);

    // Nobody is rejected for a missing expiration date: that is a field error to fix.
    let t = app.applicant("nc@example.com").await;
    let (status, body) = app
        .put(
            "/me/work-authorization",
            Some(&t.access),
            json!({"category": "noncitizen_authorized", "residence_country": "US"}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errors"][0]["field"], "expiration_date");
    let (status, body) = app
        .put(
            "/me/work-authorization",
            Some(&t.access),
            json!({"category": "us_citizen", "residence_country": "US", "expiration_date": "2030-01-01"}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errors"][0]["code"], "not_allowed");
}

fn files_on_disk(app: &TestApp) -> usize {
    fn count(dir: &std::path::Path) -> usize {
        std::fs::read_dir(dir)
            .map(|rd| rd.map(|e| e.unwrap().path()).map(|p| if p.is_dir() { count(&p) } else { 1 }).sum())
            .unwrap_or(0)
    }
    count(&app.state.config.data_dir.join("files"))
}

async fn invalid_combinations_and_disguised_files_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = attested(&app, "docs@example.com", "us_citizen", None).await;

    let only_b = Form::new().text("list_b_type", "drivers_license").part("list_b_file", part(PNG, "dl.png"));
    let (status, body) = app.upload("/me/work-authorization/documents", &t.access, only_b).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errors"][0]["field"], "documents");
    assert_eq!(body["errors"][0]["code"], "invalid_combination");

    let a_and_c = Form::new()
        .text("list_a_type", "us_passport")
        .part("list_a_file", part(PDF, "passport.pdf"))
        .text("list_c_type", "birth_certificate")
        .part("list_c_file", part(PDF, "birth.pdf"));
    let (status, body) = app.upload("/me/work-authorization/documents", &t.access, a_and_c).await;
    assert_eq!(status, 422, "{body}");

    let wrong_list = Form::new().text("list_a_type", "drivers_license").part("list_a_file", part(PDF, "x.pdf"));
    let (status, body) = app.upload("/me/work-authorization/documents", &t.access, wrong_list).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errors"][0]["field"], "list_a_type");
    assert_eq!(body["errors"][0]["code"], "unknown_document");

    // A type on no list at all is refused the same way, naming the field (a closed set:
    // `DocumentType`), not stored and not a 500.
    let unknown = Form::new()
        .text("list_b_type", "library_card")
        .part("list_b_file", part(PNG, "card.png"))
        .text("list_c_type", "social_security_card")
        .part("list_c_file", part(PDF, "ssn.pdf"));
    let (status, body) = app.upload("/me/work-authorization/documents", &t.access, unknown).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errors"][0]["field"], "list_b_type", "{body}");
    assert_eq!(body["errors"][0]["code"], "unknown_document", "{body}");

    // An executable named passport.pdf and sent as application/pdf is still an executable.
    let disguised = Form::new().text("list_a_type", "us_passport").part("list_a_file", part(ELF, "passport.pdf"));
    let (status, body) = app.upload("/me/work-authorization/documents", &t.access, disguised).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errors"][0]["field"], "list_a_file");
    assert_eq!(body["errors"][0]["code"], "file_type");

    let mut big = PDF.to_vec();
    big.resize(app.state.config.operations.max_upload_bytes + 1, b' ');
    let oversize = Form::new().text("list_a_type", "us_passport").part("list_a_file", part(&big, "big.pdf"));
    let (status, body) = app.upload("/me/work-authorization/documents", &t.access, oversize).await;
    assert_eq!(status, 413, "{body}");

    // Nothing was stored by any refused upload.
    assert_eq!(files_on_disk(&app), 0);
    let (_, wa) = app.get("/me/work-authorization", Some(&t.access)).await;
    assert_eq!(wa["status"], "attested");
    assert_eq!(wa["documents"], json!([]));

    let good = Form::new().text("list_a_type", "us_passport").part("list_a_file", part(PDF, "passport.pdf"));
    let (status, body) = app.upload("/me/work-authorization/documents", &t.access, good).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(files_on_disk(&app), 1);
}

async fn claims_decide_between_reviewers(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, wa) = submitted(&app, "claims@example.com").await;
    let id = wa["id"].as_i64().unwrap();
    let admin = app.admin().await;
    let r1 = app.staff(&admin, "r1@gatehouse.test", &["reviewer"]).await;
    let r2 = app.staff(&admin, "r2@gatehouse.test", &["reviewer"]).await;
    let path = format!("/review/work-authorizations/{id}/claim");
    let (a, b) =
        futures_util::join!(app.post(&path, Some(&r1.access), json!({})), app.post(&path, Some(&r2.access), json!({})));
    let mut statuses = [a.0, b.0];
    statuses.sort();
    assert_eq!(statuses, [200, 409], "{a:?} {b:?}");
    let (winner, loser) = if a.0 == 200 { (&r1, &r2) } else { (&r2, &r1) };
    let loser_problem = if a.0 == 200 { &b.1 } else { &a.1 };
    assert_eq!(loser_problem["code"], "claimed_by_other");

    let decision = format!("/review/work-authorizations/{id}/decision");
    let more_info = json!({"outcome": "request_more_info", "reason_code": "document_unreadable", "note": "The card photo is blurred."});
    let (status, body) = app.post(&decision, Some(&loser.access), more_info.clone()).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "claim_required");

    // A decision needs a known reason code and, unless verifying, a note.
    let (status, body) = app
        .post(&decision, Some(&winner.access), json!({"outcome": "reject", "reason_code": "vibes", "note": "x"}))
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        (body["errors"][0]["field"].as_str(), body["errors"][0]["code"].as_str()),
        (Some("reason_code"), Some("unknown_reason"))
    );
    // A known reason of another outcome does not fit this one.
    let (status, body) =
        app.post(&decision, Some(&winner.access), json!({"outcome": "verify", "reason_code": "suspected_fraud"})).await;
    assert_eq!((status, body["errors"][0]["code"].as_str()), (422, Some("unknown_reason")), "{body}");
    let (status, _) =
        app.post(&decision, Some(&winner.access), json!({"outcome": "reject", "reason_code": "other"})).await;
    assert_eq!(status, 422);

    // The claim expires: after it, the other reviewer may take the item.
    app.clock.advance(Duration::minutes(31));
    let email_of = |t: &Tokens| if std::ptr::eq(t, &r1) { "r1@gatehouse.test" } else { "r2@gatehouse.test" };
    let (winner, loser) = (app.login(email_of(winner), PASSWORD).await, app.login(email_of(loser), PASSWORD).await);
    let t = app.login("claims@example.com", PASSWORD).await;
    let (status, _) = app.post(&decision, Some(&winner.access), more_info.clone()).await;
    assert_eq!(status, 409);
    let (status, _) = app.post(&path, Some(&loser.access), json!({})).await;
    assert_eq!(status, 200);
    let (status, body) = app.post(&decision, Some(&loser.access), more_info).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "more_info_requested");

    let mail = app.smtp.inbox.wait_for_nth("claims@example.com", 2).await;
    assert!(mail.text.contains("The card photo is blurred."), "{}", mail.text);
    let r = readiness(&app, &t).await;
    assert_eq!(requirement(&r, "work_authorization")["status"], "currently_due");
    // Re-upload puts the item back in the queue.
    let (status, body) = app.upload("/me/work-authorization/documents", &t.access, b_and_c()).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["status"], "pending_review");
    assert_eq!(body["documents"].as_array().unwrap().len(), 4);
}

async fn reviewers_cannot_decide_their_own_application(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (t, wa) = submitted(&app, "insider@example.com").await;
    let id = wa["id"].as_i64().unwrap();
    let admin = app.admin().await;
    let uid = app.user_id(&t).await;
    let (status, body) =
        app.put(&format!("/admin/users/{uid}/roles"), Some(&admin.access), json!({"roles": ["reviewer"]})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["roles"], json!(["applicant", "reviewer"]));
    let insider = app.login("insider@example.com", crate::support::PASSWORD).await;
    let (status, body) =
        app.post(&format!("/review/work-authorizations/{id}/claim"), Some(&insider.access), json!({})).await;
    assert_eq!(status, 403, "{body}");
    let (status, _) = app
        .post(
            &format!("/review/work-authorizations/{id}/decision"),
            Some(&insider.access),
            json!({"outcome": "verify", "reason_code": "documents_verified"}),
        )
        .await;
    assert_eq!(status, 403);
    let (_, audit) = app.get("/admin/audit?action=staff.roles_changed", Some(&admin.access)).await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 1);
}

async fn files_are_readable_by_owner_and_claiming_reviewer_only(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (owner, wa) = submitted(&app, "owner@example.com").await;
    let file_id = wa["documents"][0]["file_id"].as_i64().unwrap();
    let other = app.applicant("other@example.com").await;
    let admin = app.admin().await;
    let reviewer = app.staff(&admin, "rev@gatehouse.test", &["reviewer"]).await;
    let path = format!("/files/{file_id}");

    let (status, _) = app.get(&path, Some(&owner.access)).await;
    assert_eq!(status, 200);
    let (status, body) = app.get(&path, Some(&other.access)).await;
    assert_eq!(status, 404, "{body}");
    let (status, _) = app.get(&path, Some(&reviewer.access)).await;
    assert_eq!(status, 404, "no claim, no access");
    let (status, _) = app.get(&path, None).await;
    assert_eq!(status, 401);
    let (status, _) = app.get("/files/999999", Some(&owner.access)).await;
    assert_eq!(status, 404);

    let id = wa["id"].as_i64().unwrap();
    app.post(&format!("/review/work-authorizations/{id}/claim"), Some(&reviewer.access), json!({})).await;
    let (status, _) = app.get(&path, Some(&reviewer.access)).await;
    assert_eq!(status, 200);
    app.clock.advance(Duration::minutes(31));
    let reviewer = app.login("rev@gatehouse.test", PASSWORD).await;
    let admin = app.login("admin@gatehouse.test", PASSWORD).await;
    let (status, _) = app.get(&path, Some(&reviewer.access)).await;
    assert_eq!(status, 404, "the claim expired");
    let (_, audit) = app.get("/admin/audit?action=file.downloaded", Some(&admin.access)).await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 1);
}

async fn verify(app: &TestApp, reviewer: &Tokens, id: i64) {
    let (status, body) =
        app.post(&format!("/review/work-authorizations/{id}/claim"), Some(&reviewer.access), json!({})).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app
        .post(
            &format!("/review/work-authorizations/{id}/decision"),
            Some(&reviewer.access),
            json!({"outcome": "verify", "reason_code": "documents_verified"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

async fn reverification_reminders_and_suspension_follow_the_clock(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut admin = app.admin().await;
    let reviewer = app.staff(&admin, "rev@gatehouse.test", &["reviewer"]).await;
    let today = app.state.clock.now().date();
    let expires = today + Duration::days(100);

    let t = attested(&app, "ead@example.com", "noncitizen_authorized", Some(expires.to_string())).await;
    let form = Form::new()
        .text("list_a_type", "employment_authorization_document")
        .text("list_a_expires_on", expires.to_string())
        .part("list_a_file", part(PDF, "ead.pdf"));
    let (status, wa) = app.upload("/me/work-authorization/documents", &t.access, form).await;
    assert_eq!(status, 201, "{wa}");
    verify(&app, &reviewer, wa["id"].as_i64().unwrap()).await;

    // A citizen, verified too, is never asked to reverify.
    let (_, cwa) = submitted(&app, "citizen@example.com").await;
    verify(&app, &reviewer, cwa["id"].as_i64().unwrap()).await;

    let report = run_jobs(&app, &mut admin).await;
    assert_eq!(report["reverification"], json!({"reminders_queued": 0, "suspended": 0}));
    let r = readiness(&app, &t).await;
    assert_eq!(requirement(&r, "work_authorization_current")["status"], "satisfied");
    assert_eq!(requirement(&r, "work_authorization_current")["due_by"], expires.to_string());

    app.clock.advance(Duration::days(15)); // 85 days left
    let t = app.login("ead@example.com", PASSWORD).await;
    assert_eq!(run_jobs(&app, &mut admin).await["reverification"]["reminders_queued"], 1);
    assert_eq!(run_jobs(&app, &mut admin).await["reverification"]["reminders_queued"], 0, "idempotent");
    let mail = app.smtp.inbox.wait_for_nth("ead@example.com", 3).await;
    assert_eq!(mail.subject, "Your US work authorization expires in 85 days");
    let r = readiness(&app, &t).await;
    assert_eq!(requirement(&r, "work_authorization_current")["status"], "currently_due");

    app.clock.advance(Duration::days(60)); // 25 days left
    assert_eq!(run_jobs(&app, &mut admin).await["reverification"]["reminders_queued"], 1);
    app.smtp.inbox.wait_for_nth("ead@example.com", 4).await;

    app.clock.advance(Duration::days(26)); // expired yesterday
    let t = app.login("ead@example.com", PASSWORD).await;
    let citizen = app.login("citizen@example.com", PASSWORD).await;
    let reviewer = app.login("rev@gatehouse.test", PASSWORD).await;
    let report = run_jobs(&app, &mut admin).await;
    assert_eq!(report["reverification"]["suspended"], 1);
    assert_eq!(run_jobs(&app, &mut admin).await["reverification"]["suspended"], 0, "idempotent");
    let mail = app.smtp.inbox.wait_for_nth("ead@example.com", 5).await;
    assert!(mail.subject.contains("expired"), "{}", mail.subject);
    let r = readiness(&app, &t).await;
    assert_eq!(r["status"], "suspended");
    assert_eq!(r["can_work"], false);
    assert_eq!(requirement(&r, "work_authorization_current")["status"], "past_due");
    let (_, d) = app.get("/me/decisions", Some(&t.access)).await;
    assert_eq!(d["items"][0]["outcome"], "suspended");
    assert_eq!(d["items"][0]["reason_code"], "work_authorization_expired");

    // The citizen was never reminded nor suspended.
    assert_eq!(app.smtp.inbox.to("citizen@example.com").len(), 2, "verification link and decision only");
    let (_, me) = app.get("/me", Some(&citizen.access)).await;
    assert_eq!(me["status"], "authorization_verified");
    let (status, body) = app
        .put(
            "/me/work-authorization",
            Some(&citizen.access),
            json!({"category": "us_citizen", "residence_country": "US"}),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "reverification_not_needed");

    // Reverification with a single List C document lifts the suspension.
    let renewed = app.state.clock.now().date() + Duration::days(400);
    let (status, body) = app
        .put(
            "/me/work-authorization",
            Some(&t.access),
            json!({"category": "noncitizen_authorized", "residence_country": "US", "expiration_date": renewed.to_string()}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["work_authorization"]["reverification"], true);
    let only_c = Form::new()
        .text("list_c_type", "dhs_employment_authorization_document")
        .part("list_c_file", part(PDF, "ead2.pdf"));
    let (status, wa2) = app.upload("/me/work-authorization/documents", &t.access, only_c).await;
    assert_eq!(status, 201, "{wa2}");
    verify(&app, &reviewer, wa2["id"].as_i64().unwrap()).await;
    let r = readiness(&app, &t).await;
    assert_eq!(r["status"], "authorization_verified");
    assert_eq!(requirement(&r, "work_authorization_current")["status"], "satisfied");
    assert_eq!(requirement(&r, "work_authorization_current")["due_by"], renewed.to_string());
}

async fn sensitive_data_is_encrypted_and_never_logged(backend: Backend) {
    use diesel::prelude::*;
    use gatehouse::db::schema::{contributor_profiles, work_authorization_documents};

    let app = TestApp::spawn(backend).await;
    let t = app.applicant("secret@example.com").await;
    // A malformed date is refused without echoing it back or logging it.
    let (status, body) = app.patch("/me", Some(&t.access), json!({"date_of_birth": "1987-02-31"})).await;
    assert_eq!(status, 400, "{body}");
    assert!(!body.to_string().contains("1987-02-31"), "{body}");
    let (status, _) = app.patch("/me", Some(&t.access), json!({"date_of_birth": "1987-03-14"})).await;
    assert_eq!(status, 200);
    let (status, _) = app
        .put("/me/work-authorization", Some(&t.access), json!({"category": "us_citizen", "residence_country": "US"}))
        .await;
    assert_eq!(status, 200);
    let form = Form::new()
        .text("list_a_type", "us_passport")
        .text("list_a_number", "P98765432")
        .part("list_a_file", part(PDF, "passport.pdf"));
    let (status, wa) = app.upload("/me/work-authorization/documents", &t.access, form).await;
    assert_eq!(status, 201, "{wa}");
    assert_eq!(wa["documents"][0]["number"], "****5432");
    let (_, me) = app.get("/me", Some(&t.access)).await;
    assert!(!me.to_string().contains("1987"), "{me}");

    let state = app.state.clone();
    let (dob, number) = actix_web::web::block(move || {
        let mut conn = state.db.get().unwrap();
        let dob: Option<String> =
            contributor_profiles::table.select(contributor_profiles::date_of_birth_enc).first(&mut *conn).unwrap();
        let number: Option<String> = work_authorization_documents::table
            .select(work_authorization_documents::number_enc)
            .first(&mut *conn)
            .unwrap();
        (dob.unwrap(), number.unwrap())
    })
    .await
    .unwrap();
    assert!(dob.starts_with("v1:") && !dob.contains("1987"), "{dob}");
    assert!(number.starts_with("v1:") && !number.contains("98765432"), "{number}");
    assert_eq!(app.state.cipher.decrypt_str(&dob).unwrap(), "1987-03-14");

    // The stored file is ciphertext.
    let mut stored = Vec::new();
    for entry in walk(&app.state.config.data_dir.join("files")) {
        stored.extend(std::fs::read(entry).unwrap());
    }
    assert!(!stored.is_empty());
    assert!(!stored.windows(5).any(|w| w == b"%PDF-"));

    let logs = logs::captured();
    assert!(logs.contains("secret@example.com") || logs.contains("/me/work-authorization"), "logs are captured");
    for secret in ["1987-03-14", "1987-02-31", "P98765432", "98765432"] {
        assert!(!logs.contains(secret), "{secret} appears in the logs");
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// The patch of request `i` of [`concurrent_profile_patches_all_succeed_and_none_is_lost`]:
/// one of the five fields, by `i % 5`, with a value of its own.
fn one_field_patch(i: usize) -> (&'static str, Value) {
    match i % 5 {
        0 => ("legal_name", json!({"legal_name": format!("Legal Name {i}")})),
        1 => ("date_of_birth", json!({"date_of_birth": format!("1980-01-{:02}", 1 + i % 28)})),
        2 => (
            "address",
            json!({"address": {"line1": format!("{i} Main St"), "city": "Albany", "region": "NY", "postal_code": "12207"}}),
        ),
        3 => ("phone", json!({"phone": format!("+1 518 555 {:04}", i)})),
        _ => ("full_name", json!({"full_name": format!("Full Name {i}")})),
    }
}

/// PATCH /me for one fresh user (no profile row yet) from many connections at once: the
/// first requests race to create the row, and each request changes one field. Every
/// request succeeds, and the row keeps a value some request set for every field: a
/// request writes only the fields it patches, never a stale copy of the others.
async fn concurrent_profile_patches_all_succeed_and_none_is_lost(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = app.applicant("racer@example.com").await;
    let patches: Vec<(&str, Value)> = (0..40).map(one_field_patch).collect();
    let results =
        futures_util::future::join_all(patches.iter().map(|(_, body)| app.patch("/me", Some(&t.access), body.clone())))
            .await;
    let failures: Vec<_> = results.iter().filter(|(status, _)| !(200..300).contains(status)).collect();
    assert!(failures.is_empty(), "{} of {} failed: {failures:?}", failures.len(), results.len());

    let (status, me) = app.get("/me", Some(&t.access)).await;
    assert_eq!(status, 200, "{me}");
    let sent = |field: &str, pick: &dyn Fn(&Value) -> Value| -> Vec<Value> {
        patches.iter().filter(|(f, _)| *f == field).map(|(_, body)| pick(body)).collect()
    };
    let profile = &me["profile"];
    assert!(sent("legal_name", &|b| b["legal_name"].clone()).contains(&profile["legal_name"]), "{me}");
    assert!(sent("phone", &|b| b["phone"].clone()).contains(&profile["phone"]), "{me}");
    assert!(sent("address", &|b| b["address"]["line1"].clone()).contains(&profile["address"]["line1"]), "{me}");
    assert!(sent("full_name", &|b| b["full_name"].clone()).contains(&me["full_name"]), "{me}");
    assert_eq!(profile["date_of_birth"], "****-**-**", "{me}");
    assert_eq!(profile["missing"], json!([]), "{me}");
}
