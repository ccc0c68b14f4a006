//! Form I-9 corrections through the HTTP API (issue 16): "N/A" expiration dates,
//! expired and minors' documents refused, reverification driven by the document
//! presented, only the expiry suspension lifted by a reverification, and the retention
//! job that deletes files and numbers but keeps the fact and the decision.

use chrono::{Duration, NaiveDate};
use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};

use crate::both_backends;
use crate::support::{Backend, TestApp, Tokens};

both_backends!(
    refugees_attest_na_and_are_never_reverified,
    expired_and_minors_documents_are_refused,
    reverification_follows_the_temporary_i551_stamp,
    a_document_that_expired_in_review_is_not_verified,
    reverification_lifts_only_the_expiry_suspension,
    retention_deletes_files_and_numbers_of_rejected_applicants,
);

const PDF: &[u8] = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";

fn pdf(name: &str) -> Part {
    Part::bytes(PDF.to_vec()).file_name(name.to_string()).mime_str("application/pdf").unwrap()
}

fn requirement<'a>(readiness: &'a Value, code: &str) -> &'a Value {
    readiness["requirements"].as_array().unwrap().iter().find(|r| r["code"] == code).unwrap_or(&Value::Null)
}

async fn readiness(app: &TestApp, t: &Tokens) -> Value {
    let (status, body) = app.get("/me/readiness", Some(&t.access)).await;
    assert_eq!(status, 200, "{body}");
    body
}

fn today(app: &TestApp) -> NaiveDate {
    app.state.clock.now().date()
}

/// An applicant with a complete profile and the attestation `body`.
async fn attested(app: &TestApp, email: &str, body: Value) -> Tokens {
    let t = app.applicant(email).await;
    let profile = json!({
        "legal_name": "Amina Haddad", "date_of_birth": "1991-07-09", "phone": "+1 518 555 0100",
        "address": {"line1": "12 Main St", "city": "Albany", "region": "ny", "postal_code": "12207"}
    });
    assert_eq!(app.patch("/me", Some(&t.access), profile).await.0, 200);
    let (status, wa) = app.put("/me/work-authorization", Some(&t.access), body).await;
    assert_eq!(status, 200, "{wa}");
    t
}

fn b_and_c() -> Form {
    Form::new()
        .text("list_b_type", "drivers_license")
        .text("list_b_number", "D1234567")
        .text("list_b_expires_on", "2031-01-31")
        .part("list_b_file", pdf("license.pdf"))
        .text("list_c_type", "social_security_card")
        .text("list_c_number", "SS99887766")
        .part("list_c_file", pdf("ssn.pdf"))
}

fn list_a(doc_type: &str, expires_on: Option<NaiveDate>) -> Form {
    let form = Form::new().text("list_a_type", doc_type.to_string()).text("list_a_number", "A99887766");
    let form = match expires_on {
        Some(d) => form.text("list_a_expires_on", d.to_string()),
        None => form,
    };
    form.part("list_a_file", pdf("a.pdf"))
}

async fn upload(app: &TestApp, t: &Tokens, form: Form) -> (u16, Value) {
    app.upload("/me/work-authorization/documents", &t.access, form).await
}

async fn decide(app: &TestApp, reviewer: &Tokens, id: i64, decision: Value) -> (u16, Value) {
    let (status, body) =
        app.post(&format!("/review/work-authorizations/{id}/claim"), Some(&reviewer.access), json!({})).await;
    assert_eq!(status, 200, "{body}");
    app.post(&format!("/review/work-authorizations/{id}/decision"), Some(&reviewer.access), decision).await
}

async fn verify(app: &TestApp, reviewer: &Tokens, id: i64) {
    let (status, body) =
        decide(app, reviewer, id, json!({"outcome": "verify", "reason_code": "documents_verified"})).await;
    assert_eq!(status, 200, "{body}");
}

async fn run_jobs(app: &TestApp, admin: &mut Tokens) -> Value {
    app.renew(admin, "admin@gatehouse.test").await;
    let (status, report) = app.post("/admin/jobs/run-due", Some(&admin.access), json!({})).await;
    assert_eq!(status, 200, "{report}");
    report
}

async fn refugees_attest_na_and_are_never_reverified(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    let reviewer = app.staff(&admin, "rev@gatehouse.test", &["reviewer"]).await;
    let t = app.applicant("refugee@example.com").await;

    // The I-9 field is "exp. date, if any": a date or N/A. Left out, it is asked for.
    let no_answer = json!({"category": "noncitizen_authorized", "residence_country": "US"});
    let (status, body) = app.put("/me/work-authorization", Some(&t.access), no_answer).await;
    assert_eq!((status, body["errors"][0]["code"].as_str()), (422, Some("required")), "{body}");
    let nonsense = json!({"category": "noncitizen_authorized", "residence_country": "US", "expiration_date": "soon"});
    let (status, body) = app.put("/me/work-authorization", Some(&t.access), nonsense).await;
    assert_eq!(status, 400, "{body}");

    let na = json!({"category": "noncitizen_authorized", "residence_country": "US", "expiration_date": "N/A"});
    let (status, body) = app.put("/me/work-authorization", Some(&t.access), na.clone()).await;
    assert_eq!(status, 200, "N/A must not be refused: {body}");
    assert_eq!(body["outcome"], "recorded");
    assert_eq!(body["work_authorization"]["expires_on"], Value::Null);
    assert_eq!(body["work_authorization"]["reverify_on"], Value::Null);

    let (status, wa) = upload(&app, &t, b_and_c()).await;
    assert_eq!(status, 201, "{wa}");
    assert_eq!(wa["reverify_on"], Value::Null, "a driver's license and a Social Security card are never reverified");
    verify(&app, &reviewer, wa["id"].as_i64().unwrap()).await;
    let r = readiness(&app, &t).await;
    assert_eq!(r["status"], "authorization_verified");
    assert_eq!(requirement(&r, "work_authorization")["status"], "satisfied");
    assert!(requirement(&r, "work_authorization_current").is_null(), "{r}");
    let (status, body) = app.put("/me/work-authorization", Some(&t.access), na).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("reverification_not_needed")), "{body}");

    // "n/a" in any case, and an asylee's List A EAD still drives reverification.
    let asylee = app.applicant("asylee@example.com").await;
    let lower = json!({"category": "noncitizen_authorized", "residence_country": "US", "expiration_date": "n/a"});
    let (status, body) = app.put("/me/work-authorization", Some(&asylee.access), lower).await;
    assert_eq!(status, 200, "{body}");
    let ead_until = today(&app) + Duration::days(200);
    let (status, wa) = upload(&app, &asylee, list_a("employment_authorization_document", Some(ead_until))).await;
    assert_eq!(status, 201, "{wa}");
    assert_eq!(wa["reverify_on"], ead_until.to_string());
}

async fn expired_and_minors_documents_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let until = today(&app) + Duration::days(400);
    let t = attested(
        &app,
        "ead@example.com",
        json!({"category": "noncitizen_authorized", "residence_country": "US", "expiration_date": until.to_string()}),
    )
    .await;

    let expired_2020 = NaiveDate::from_ymd_opt(2020, 6, 30).unwrap();
    let (status, body) = upload(&app, &t, list_a("employment_authorization_document", Some(expired_2020))).await;
    assert_eq!(status, 422, "an EAD that expired in 2020 is not acceptable: {body}");
    assert_eq!(
        (body["errors"][0]["field"].as_str(), body["errors"][0]["code"].as_str()),
        (Some("list_a_expires_on"), Some("document_expired"))
    );
    let yesterday = today(&app) - Duration::days(1);
    let (status, _) = upload(&app, &t, list_a("employment_authorization_document", Some(yesterday))).await;
    assert_eq!(status, 422, "expired yesterday");
    let (status, body) = upload(&app, &t, list_a("employment_authorization_document", None)).await;
    assert_eq!(
        (status, body["errors"][0]["code"].as_str()),
        (422, Some("required")),
        "an EAD shows its expiry: {body}"
    );
    let expired_license = Form::new()
        .text("list_b_type", "drivers_license")
        .text("list_b_expires_on", "2024-01-31")
        .part("list_b_file", pdf("license.pdf"))
        .text("list_c_type", "social_security_card")
        .part("list_c_file", pdf("ssn.pdf"));
    let (status, body) = upload(&app, &t, expired_license).await;
    assert_eq!((status, body["errors"][0]["field"].as_str()), (422, Some("list_b_expires_on")), "{body}");

    // School, clinic and day-care records are List B documents for minors only.
    for minor in ["school_record_minor", "medical_record_minor", "day_care_record_minor"] {
        let form = Form::new()
            .text("list_b_type", minor)
            .part("list_b_file", pdf("record.pdf"))
            .text("list_c_type", "social_security_card")
            .part("list_c_file", pdf("ssn.pdf"));
        let (status, body) = upload(&app, &t, form).await;
        assert_eq!(status, 422, "{minor}: {body}");
        assert_eq!(body["errors"][0]["code"], "minor_document", "{minor}: {body}");
    }
    let (_, wa) = app.get("/me/work-authorization", Some(&t.access)).await;
    assert_eq!(wa["status"], "attested", "nothing was submitted");

    // Valid through today is acceptable today; the EAD's expiry, earlier than the
    // attested date, is when reverification is due.
    let ead_until = today(&app) + Duration::days(100);
    let (status, wa) = upload(&app, &t, list_a("employment_authorization_document", Some(ead_until))).await;
    assert_eq!(status, 201, "{wa}");
    assert_eq!(wa["reverify_on"], ead_until.to_string());
    assert_eq!(wa["expires_on"], until.to_string());
}

async fn reverification_follows_the_temporary_i551_stamp(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut admin = app.admin().await;
    let reviewer = app.staff(&admin, "rev@gatehouse.test", &["reviewer"]).await;
    let lpr = json!({"category": "lawful_permanent_resident", "residence_country": "US"});

    // A permanent resident who presented a foreign passport with a temporary I-551 stamp.
    let stamp_until = today(&app) + Duration::days(60);
    let t = attested(&app, "stamp@example.com", lpr.clone()).await;
    let (status, wa) = upload(&app, &t, list_a("foreign_passport_with_temporary_i551", Some(stamp_until))).await;
    assert_eq!(status, 201, "{wa}");
    assert_eq!(wa["expires_on"], Value::Null);
    assert_eq!(wa["reverify_on"], stamp_until.to_string());
    verify(&app, &reviewer, wa["id"].as_i64().unwrap()).await;
    let r = readiness(&app, &t).await;
    let current = requirement(&r, "work_authorization_current");
    assert_eq!(
        (current["status"].as_str(), current["due_by"].as_str()),
        (Some("currently_due"), Some(stamp_until.to_string().as_str())),
        "{r}"
    );

    // One who presented a Permanent Resident Card is never reverified.
    let card = attested(&app, "card@example.com", lpr.clone()).await;
    let (status, wa) =
        upload(&app, &card, list_a("permanent_resident_card", Some(today(&app) + Duration::days(30)))).await;
    assert_eq!(status, 201, "{wa}");
    assert_eq!(wa["reverify_on"], Value::Null);
    verify(&app, &reviewer, wa["id"].as_i64().unwrap()).await;

    app.clock.advance(Duration::days(61));
    let report = run_jobs(&app, &mut admin).await;
    assert_eq!(report["reverification"]["suspended"], 1, "{report}");
    let t = app.login("stamp@example.com", crate::support::PASSWORD).await;
    let card = app.login("card@example.com", crate::support::PASSWORD).await;
    assert_eq!(readiness(&app, &t).await["status"], "suspended");
    assert_eq!(readiness(&app, &card).await["status"], "authorization_verified");

    // The stamp holder reverifies with the card they received.
    let (status, body) = app.put("/me/work-authorization", Some(&t.access), lpr).await;
    assert_eq!(status, 200, "{body}");
    let (status, wa) =
        upload(&app, &t, list_a("permanent_resident_card", Some(today(&app) + Duration::days(3650)))).await;
    assert_eq!(status, 201, "{wa}");
    let reviewer = app.login("rev@gatehouse.test", crate::support::PASSWORD).await;
    verify(&app, &reviewer, wa["id"].as_i64().unwrap()).await;
    let r = readiness(&app, &t).await;
    assert_eq!(r["status"], "authorization_verified");
    assert!(requirement(&r, "work_authorization_current").is_null(), "{r}");
}

async fn a_document_that_expired_in_review_is_not_verified(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.admin().await;
    let until = today(&app) + Duration::days(1);
    let t = attested(
        &app,
        "late@example.com",
        json!({"category": "noncitizen_authorized", "residence_country": "US", "expiration_date": "N/A"}),
    )
    .await;
    let (status, wa) = upload(&app, &t, list_a("employment_authorization_document", Some(until))).await;
    assert_eq!(status, 201, "{wa}");
    app.clock.advance(Duration::days(2));
    let admin = app.login("admin@gatehouse.test", crate::support::PASSWORD).await;
    let reviewer = app.staff(&admin, "rev@gatehouse.test", &["reviewer"]).await;
    let id = wa["id"].as_i64().unwrap();
    let (status, body) =
        decide(&app, &reviewer, id, json!({"outcome": "verify", "reason_code": "documents_verified"})).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("document_expired")), "{body}");
    let (status, body) = app
        .post(
            &format!("/review/work-authorizations/{id}/decision"),
            Some(&reviewer.access),
            json!({"outcome": "request_more_info", "reason_code": "other", "note": "Your EAD expired; upload a current one."}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

async fn reverification_lifts_only_the_expiry_suspension(backend: Backend) {
    use diesel::prelude::*;
    use gatehouse::db::schema::users;

    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    let reviewer = app.staff(&admin, "rev@gatehouse.test", &["reviewer"]).await;
    let until = today(&app) + Duration::days(20);
    let dated =
        json!({"category": "noncitizen_authorized", "residence_country": "US", "expiration_date": until.to_string()});
    let mut people = Vec::new();
    for (email, reason) in [
        ("quality@example.com", "quality: rejection share above the suspension threshold"),
        ("expired@example.com", "work_authorization_expired"),
    ] {
        let t = attested(&app, email, dated.clone()).await;
        let (status, wa) = upload(&app, &t, list_a("employment_authorization_document", Some(until))).await;
        assert_eq!(status, 201, "{wa}");
        verify(&app, &reviewer, wa["id"].as_i64().unwrap()).await;
        let id = app.user_id(&t).await;
        // The suspension, as the quality ladder and the expiry job leave it.
        let state = app.state.clone();
        let reason = reason.to_string();
        actix_web::web::block(move || {
            state.db.tx_sync(|c| {
                diesel::update(users::table.find(id))
                    .set((users::status.eq("suspended"), users::status_reason.eq(reason)))
                    .execute(c)
                    .map_err(Into::into)
            })
        })
        .await
        .unwrap()
        .unwrap();
        people.push(t);
    }
    let renewed = today(&app) + Duration::days(500);
    for t in &people {
        let body = json!({"category": "noncitizen_authorized", "residence_country": "US", "expiration_date": renewed.to_string()});
        let (status, wa) = app.put("/me/work-authorization", Some(&t.access), body).await;
        assert_eq!(status, 200, "{wa}");
        let (status, wa) = upload(&app, t, list_a("employment_authorization_document", Some(renewed))).await;
        assert_eq!(status, 201, "{wa}");
        verify(&app, &reviewer, wa["id"].as_i64().unwrap()).await;
    }
    let quality = readiness(&app, &people[0]).await;
    assert_eq!(quality["status"], "suspended", "a quality suspension stays: {quality}");
    assert_eq!(readiness(&app, &people[1]).await["status"], "authorization_verified");
}

fn files_on_disk(app: &TestApp) -> usize {
    fn count(dir: &std::path::Path) -> usize {
        std::fs::read_dir(dir)
            .map(|rd| rd.map(|e| e.unwrap().path()).map(|p| if p.is_dir() { count(&p) } else { 1 }).sum())
            .unwrap_or(0)
    }
    count(&app.state.config.data_dir.join("files"))
}

async fn retention_deletes_files_and_numbers_of_rejected_applicants(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut admin = app.admin().await;
    let reviewer = app.staff(&admin, "rev@gatehouse.test", &["reviewer"]).await;
    let lpr = json!({"category": "lawful_permanent_resident", "residence_country": "US"});
    let rejected = attested(&app, "rejected@example.com", lpr.clone()).await;
    let (status, wa) = upload(&app, &rejected, b_and_c()).await;
    assert_eq!(status, 201, "{wa}");
    let decision =
        json!({"outcome": "reject", "reason_code": "document_not_acceptable", "note": "The card is not legible."});
    let (status, body) = decide(&app, &reviewer, wa["id"].as_i64().unwrap(), decision).await;
    assert_eq!(status, 200, "{body}");
    let working = attested(&app, "working@example.com", lpr).await;
    let (status, kept) = upload(&app, &working, b_and_c()).await;
    assert_eq!(status, 201, "{kept}");
    verify(&app, &reviewer, kept["id"].as_i64().unwrap()).await;
    assert_eq!(files_on_disk(&app), 4);

    // Kept for a year after the decision, deleted the day after.
    app.clock.advance(Duration::days(365));
    assert_eq!(run_jobs(&app, &mut admin).await["i9_documents_purged"], 0);
    app.clock.advance(Duration::days(2));
    assert_eq!(run_jobs(&app, &mut admin).await["i9_documents_purged"], 2);
    assert_eq!(run_jobs(&app, &mut admin).await["i9_documents_purged"], 0, "idempotent");
    assert_eq!(files_on_disk(&app), 2, "only the working contributor's files remain");

    let rejected = app.login("rejected@example.com", crate::support::PASSWORD).await;
    let (status, wa) = app.get("/me/work-authorization", Some(&rejected.access)).await;
    assert_eq!(status, 200, "{wa}");
    assert_eq!(wa["status"], "rejected", "the fact stays");
    for doc in wa["documents"].as_array().unwrap() {
        assert_eq!(doc["number"], Value::Null, "{doc}");
        assert!(doc["purged_at"].is_string(), "{doc}");
        assert!(doc["document_type"].is_string(), "{doc}");
        let resp = app
            .client
            .get(app.url(&format!("/files/{}", doc["file_id"])))
            .bearer_auth(&rejected.access)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 404);
    }
    let (_, decisions) = app.get("/me/decisions", Some(&rejected.access)).await;
    assert_eq!(decisions["items"][0]["reason_code"], "document_not_acceptable", "the decision stays");
    let working = app.login("working@example.com", crate::support::PASSWORD).await;
    let (_, wa) = app.get("/me/work-authorization", Some(&working.access)).await;
    assert_eq!(wa["documents"][0]["number"], "****4567", "a working contributor's documents are kept");
    let (_, audit) = app.get("/admin/audit?action=work_authorization.documents_purged", Some(&admin.access)).await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 1, "{audit}");
}
