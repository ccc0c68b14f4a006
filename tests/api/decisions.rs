//! No silent decision (issue 19): every kind of decision the service takes about a
//! person (`DecisionKind::ALL`, from the code: a kind added there without a scenario
//! here fails this test) is produced through the API, and each decision is recorded and
//! emailed in the same transaction. Auto-approvals are one digest per person per run.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use gatehouse::decisions::model::{DecisionKind, DecisionOutcome, DecisionSubject};
use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};

use crate::both_backends;
use crate::onboarding::submitted;
use crate::payouts::fund;
use crate::support::{Backend, TestApp, Tokens, PASSWORD, PDF};
use crate::work::{ingest, record, run_jobs, world};

both_backends!(every_decision_kind_is_recorded_and_emailed);

async fn ok(app: &TestApp, path: &str, t: &Tokens, body: Value) -> Value {
    let (status, body) = app.post(path, Some(&t.access), body).await;
    assert!(status == 200 || status == 201, "{path}: {status} {body}");
    body
}

async fn decide_wa(app: &TestApp, reviewer: &Tokens, id: i64, decision: Value) {
    ok(app, &format!("/review/work-authorizations/{id}/claim"), reviewer, json!({})).await;
    ok(app, &format!("/review/work-authorizations/{id}/decision"), reviewer, decision).await;
}

async fn credential(app: &TestApp, t: &Tokens, kind: &str, expires_on: Option<String>) -> i64 {
    let mut f = Form::new()
        .text("kind", kind.to_string())
        .text("domain", "law")
        .text("title", "Credential")
        .text("issuer", "State University")
        .text("issued_on", "2015-06-01")
        .part("file", Part::bytes(PDF.to_vec()).file_name("c.pdf").mime_str("application/pdf").unwrap());
    if kind == "degree" {
        f = f.text("level", "bachelor");
    }
    if let Some(d) = expires_on {
        f = f.text("expires_on", d);
    }
    let (status, c) = app.upload("/me/credentials", &t.access, f).await;
    assert_eq!(status, 201, "{c}");
    c["id"].as_i64().unwrap()
}

async fn decide_credential(app: &TestApp, reviewer: &Tokens, id: i64, decision: Value) {
    ok(app, &format!("/review/credentials/{id}/claim"), reviewer, json!({})).await;
    ok(app, &format!("/review/credentials/{id}/decision"), reviewer, decision).await;
}

async fn review_work(app: &TestApp, reviewer: &Tokens, id: i64, approve: bool) {
    ok(app, &format!("/review/work-records/{id}/claim"), reviewer, json!({})).await;
    let decision = if approve {
        json!({"decision": "approve", "reason_code": "meets_guidelines", "note": "", "snapshot_ref": "s"})
    } else {
        json!({"decision": "reject", "reason_code": "low_quality", "note": "answers contradict the rubric", "snapshot_ref": "s"})
    };
    ok(app, &format!("/review/work-records/{id}/decision"), reviewer, decision).await;
}

fn profile() -> Value {
    json!({
        "legal_name": "Eda Example", "date_of_birth": "1990-05-17", "phone": "+1 518 555 0100",
        "address": {"line1": "12 Main St", "city": "Albany", "region": "ny", "postal_code": "12207"}
    })
}

async fn every_decision_kind_is_recorded_and_emailed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let w = world(&app, 4).await;
    let (rev_a, rev_b) = (&w.reviewer_a, &w.reviewer_b);
    let checker = app.staff(&w.admin, "fin-b@gatehouse.test", &["finance"]).await;
    // A short quality ladder, so a few reviews climb it (a runtime setting).
    let (status, body) = app
        .put(
            "/admin/settings",
            Some(&w.admin.access),
            json!({"settings": {"quality_min_decided": 1, "quality_warning_percent": 30,
                "quality_retraining_percent": 50, "quality_suspension_percent": 60}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    // Work authorization: rejected at once (residence abroad), verified, rejected, more info.
    let abroad = app.applicant("abroad@example.com").await;
    let (status, body) = app
        .put(
            "/me/work-authorization",
            Some(&abroad.access),
            json!({"category": "us_citizen", "residence_country": "CA"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let verified = app.applicant("verified@example.com").await;
    app.authorize(&verified, rev_a).await;
    let (_, wa) = submitted(&app, "rejected@example.com").await;
    decide_wa(
        &app,
        rev_a,
        wa["id"].as_i64().unwrap(),
        json!({"outcome": "reject", "reason_code": "document_not_acceptable", "note": "Expired licence."}),
    )
    .await;
    let (_, wa) = submitted(&app, "moreinfo@example.com").await;
    decide_wa(&app, rev_a, wa["id"].as_i64().unwrap(), json!({"outcome": "request_more_info", "reason_code": "document_unreadable", "note": "The card photo is blurred."})).await;

    // Credentials: verified, rejected, more info; a license that will lapse.
    for (decision, reason) in
        [("verify", "credential_verified"), ("reject", "issuer_not_recognized"), ("request_more_info", "missing_pages")]
    {
        let id = credential(&app, &verified, "degree", None).await;
        decide_credential(
            &app,
            rev_a,
            id,
            json!({"outcome": decision, "reason_code": reason, "note": "See the file."}),
        )
        .await;
    }
    let today = app.state.clock.now().date();
    let license =
        credential(&app, &verified, "professional_license", Some((today + Duration::days(20)).to_string())).await;
    decide_credential(&app, rev_b, license, json!({"outcome": "verify", "reason_code": "credential_verified"})).await;

    // Accounts: closed by its owner; removed (two sign-offs) and its earnings released
    // (maker-checker).
    let closer = app.applicant("closer@example.com").await;
    ok(&app, "/me/close", &closer, json!({"password": PASSWORD})).await;
    let gone = w.contributors[3].0;
    fund(&app, &w.finance, gone, 500).await;
    let proposal = ok(&app, "/review/removals", rev_a, json!({"user_id": gone, "note": "False degree."})).await;
    ok(&app, &format!("/review/removals/{}/confirm", proposal["id"]), rev_b, json!({})).await;
    let release = format!("/contributors/{gone}/payout-release");
    ok(&app, &release, &w.finance, json!({"note": "Approved work stays theirs."})).await;
    ok(&app, &format!("{release}/approve"), &checker, json!({})).await;

    // An authorization that expires: suspended by the job.
    let ead = app.applicant("ead@example.com").await;
    let (status, body) = app.patch("/me", Some(&ead.access), profile()).await;
    assert_eq!(status, 200, "{body}");
    let expires = (today + Duration::days(10)).to_string();
    let (status, body) = app
        .put(
            "/me/work-authorization",
            Some(&ead.access),
            json!({"category": "noncitizen_authorized", "residence_country": "US", "expiration_date": expires}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let form = Form::new()
        .text("list_a_type", "employment_authorization_document")
        .text("list_a_expires_on", expires.clone())
        .part("list_a_file", Part::bytes(PDF.to_vec()).file_name("ead.pdf").mime_str("application/pdf").unwrap());
    let (status, wa) = app.upload("/me/work-authorization/documents", &ead.access, form).await;
    assert_eq!(status, 201, "{wa}");
    decide_wa(
        &app,
        rev_b,
        wa["id"].as_i64().unwrap(),
        json!({"outcome": "verify", "reason_code": "documents_verified"}),
    )
    .await;

    // Work: worker0 climbs the quality ladder (2 approved, then 3 rejected: 33 %, 50 %,
    // 60 %); worker1 appeals two rejections (one upheld, one overturned); worker2's two
    // records are approved by the job, in one digest.
    let (w0, w1, w2) = (w.contributors[0].0, w.contributors[1].0, w.contributors[2].0);
    let ids = |body: Value| -> Vec<i64> {
        body["items"].as_array().unwrap().iter().map(|i| i["id"].as_i64().unwrap()).collect()
    };
    let p = w.open_project;
    let ladder =
        ids(ingest(&app, &w.finance, (0..5).map(|i| record(w0, p, &format!("q-{i}"), "units", "1", "1")).collect())
            .await);
    for (n, id) in ladder.iter().enumerate() {
        review_work(&app, rev_a, *id, n < 2).await;
    }
    let appealed =
        ids(ingest(&app, &w.finance, (0..2).map(|i| record(w1, p, &format!("a-{i}"), "units", "1", "1")).collect())
            .await);
    let worker1 = w.contributors[1].1.clone();
    for (id, verdict) in appealed.iter().zip(["uphold", "overturn"]) {
        review_work(&app, rev_a, *id, false).await;
        let appeal =
            ok(&app, &format!("/me/work-records/{id}/appeal"), &worker1, json!({"message": "I followed the rubric"}))
                .await;
        let appeal_id = appeal["id"].as_i64().unwrap();
        ok(&app, &format!("/review/appeals/{appeal_id}/claim"), rev_b, json!({})).await;
        ok(
            &app,
            &format!("/review/appeals/{appeal_id}/decision"),
            rev_b,
            json!({"decision": verdict, "reason_code": "second_look", "note": "Looked again."}),
        )
        .await;
    }
    ingest(&app, &w.finance, (0..2).map(|i| record(w2, p, &format!("auto-{i}"), "units", "1", "1")).collect()).await;

    // Three weeks later the jobs run: auto-approvals, the lapsed license, the expired
    // authorization.
    app.clock.advance(Duration::days(21));
    run_jobs(&app).await;
    run_jobs(&app).await; // a second run decides nothing new and emails nothing twice

    // Every decision recorded has its kind and its email, queued in its transaction.
    use gatehouse::db::schema::{decisions, outbox, users};
    let state = app.state.clone();
    type Row = (i64, DecisionSubject, DecisionOutcome, Option<i64>, NaiveDateTime, String);
    let (rows, mail): (Vec<Row>, Vec<(String, String, NaiveDateTime)>) = actix_web::web::block(move || {
        state.db.read_sync(|conn| {
            let rows = decisions::table
                .inner_join(users::table.on(users::id.eq(decisions::user_id)))
                .select((
                    decisions::user_id,
                    decisions::subject_type,
                    decisions::outcome,
                    decisions::decided_by,
                    decisions::decided_at,
                    users::email,
                ))
                .load::<Row>(conn)?;
            let mail = outbox::table.select((outbox::recipient, outbox::template, outbox::created_at)).load(conn)?;
            Ok((rows, mail))
        })
    })
    .await
    .unwrap()
    .unwrap();
    let mut seen = BTreeSet::new();
    for (user, subject, outcome, by, at, email) in &rows {
        let kind = DecisionKind::of(*subject, *outcome, by.is_none())
            .unwrap_or_else(|| panic!("decision {subject}/{outcome} of {user} is not a DecisionKind"));
        seen.insert(kind);
        assert!(
            mail.iter().any(|(to, _, queued)| to == email && queued == at),
            "{kind:?} for {email} at {at} has no email queued with it: {:?}",
            mail.iter().filter(|(to, _, _)| to == email).collect::<Vec<_>>()
        );
    }
    let missing: Vec<DecisionKind> = DecisionKind::ALL
        .into_iter()
        .filter(|k| !seen.contains(k) && !DecisionKind::COVERED_BY_QUALITY_TESTS.contains(k))
        .collect();
    assert!(missing.is_empty(), "decision kinds no scenario produced: {missing:?}");

    // Auto-approvals: one digest per person per run, listing both records.
    let digests: Vec<&(String, String, NaiveDateTime)> = mail
        .iter()
        .filter(|(to, template, _)| to == "worker2@example.com" && template == "work_auto_approved")
        .collect();
    assert_eq!(digests.len(), 1, "{digests:?}");
    let autos: BTreeMap<&str, usize> =
        rows.iter().filter(|r| r.5 == "worker2@example.com" && r.3.is_none()).fold(BTreeMap::new(), |mut m, r| {
            *m.entry(r.2.as_str()).or_default() += 1;
            m
        });
    assert_eq!(autos.get("approved"), Some(&2), "{autos:?}");
    let mail = app.smtp.inbox.wait_for_subject("worker2@example.com", "approved automatically").await;
    assert!(mail.text.contains("auto-0") && mail.text.contains("auto-1"), "{}", mail.text);
}
