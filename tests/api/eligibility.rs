//! The eligibility rule (issue 15) and paying people who left (issue 16 items 4 and 19)
//! through the HTTP API: ingest refuses work its contributor could not do when it was
//! done, per record; the readiness checker, the payout preview and the batch build agree
//! on who may be paid and why not; a removed contributor's earned money is paid after a
//! two-person finance release; a closed account's final payout ignores the minimum.

use chrono::Duration;
use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};

use crate::both_backends;
use crate::payouts::{ach, add_method, fund, sign_w9};
use crate::support::{Backend, TestApp, Tokens, PASSWORD, PDF};
use crate::work::{ingest, record, run_jobs, world, World};

both_backends!(
    a_registered_only_person_is_refused_at_ingest_and_left_out_of_preview_and_build,
    work_counts_between_verification_and_expiry_and_before_a_suspension,
    a_removed_contributors_earned_money_is_paid_after_a_two_person_release,
    a_closed_accounts_final_payout_ignores_the_minimum,
);

fn at(t: chrono::NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

fn record_at(contributor: i64, project: i64, task: &str, completed_at: chrono::NaiveDateTime) -> Value {
    let mut r = record(contributor, project, task, "units", "4", "2.5");
    r["completed_at"] = json!(at(completed_at));
    r
}

fn requirement<'a>(readiness: &'a Value, code: &str) -> &'a Value {
    readiness["requirements"].as_array().unwrap().iter().find(|r| r["code"] == code).unwrap_or(&Value::Null)
}

async fn readiness(app: &TestApp, t: &Tokens) -> Value {
    let (status, body) = app.get("/me/readiness", Some(&t.access)).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Who the preview lists, by contributor id: their reasons.
async fn preview(app: &TestApp, finance: &Tokens) -> std::collections::HashMap<i64, Vec<String>> {
    let (status, body) = app.get("/payout-batches/preview", Some(&finance.access)).await;
    assert_eq!(status, 200, "{body}");
    let all = body["eligible"].as_array().unwrap().iter().chain(body["ineligible"].as_array().unwrap());
    all.map(|c| {
        let reasons = c["reasons"].as_array().unwrap().iter().map(|r| r.as_str().unwrap().to_string()).collect();
        (c["contributor_id"].as_i64().unwrap(), reasons)
    })
    .collect()
}

async fn build(app: &TestApp, finance: &Tokens, key: &str) -> (u16, Value) {
    app.post_with_key("/payout-batches", &finance.access, key, json!({})).await
}

/// The payout items of a batch: contributor id → gross cents.
fn items(batch: &Value) -> std::collections::HashMap<i64, i64> {
    batch["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["contributor_id"].as_i64().unwrap(), i["gross_cents"].as_i64().unwrap()))
        .collect()
}

/// W-9, profile and a payout method; the method's change hold is waited out later.
async fn payable(app: &TestApp, t: &Tokens) {
    sign_w9(app, t, false).await;
    add_method(app, t, ach("000987654321")).await;
}

/// Moves past the payout method change hold and signs everyone in again.
async fn after_method_hold(app: &TestApp, w: &mut World, checker: &mut Tokens) {
    app.clock.advance(Duration::hours(73));
    w.finance = app.login("fin@gatehouse.test", PASSWORD).await;
    w.admin = app.login("admin@gatehouse.test", PASSWORD).await;
    w.reviewer_a = app.login("rev-a@gatehouse.test", PASSWORD).await;
    *checker = app.login("fin-b@gatehouse.test", PASSWORD).await;
    for (i, (_, t)) in w.contributors.iter_mut().enumerate() {
        *t = app.login(&format!("worker{i}@example.com"), PASSWORD).await;
    }
}

async fn a_registered_only_person_is_refused_at_ingest_and_left_out_of_preview_and_build(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut w = world(&app, 1).await;
    let mut checker = app.staff(&w.admin, "fin-b@gatehouse.test", &["finance"]).await;
    let (worker, worker_t) = w.contributors[0].clone();
    payable(&app, &worker_t).await;

    // Registered only: no verified email, no authorization. A W-9 and a payout method
    // do not make them payable.
    let (status, body) = app
        .post(
            "/auth/register",
            None,
            json!({"email": "reg@example.com", "password": PASSWORD, "full_name": "Reg Only"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let reg_id = body["id"].as_i64().unwrap();
    let reg = app.login("reg@example.com", PASSWORD).await;
    payable(&app, &reg).await;
    // Email verified, never authorized.
    let ver = app.applicant("ver@example.com").await;
    let ver_id = app.user_id(&ver).await;
    payable(&app, &ver).await;

    let body = ingest(
        &app,
        &w.finance,
        vec![
            record(reg_id, w.open_project, "t-reg", "units", "4", "2.5"),
            record(ver_id, w.open_project, "t-ver", "units", "4", "2.5"),
            record(worker, w.open_project, "t-ok", "units", "4", "2.5"),
        ],
    )
    .await;
    assert_eq!(body["created"], 1, "{body}");
    let codes: Vec<&str> = body["items"].as_array().unwrap().iter().map(|i| i["code"].as_str().unwrap_or("")).collect();
    assert_eq!(codes, ["email_not_verified", "work_authorization_not_verified", ""], "{body}");
    assert_eq!(body["items"][0]["status"], "refused");

    // Money credited to them anyway (a bonus) stays unpaid, and readiness says why.
    for id in [reg_id, ver_id, worker] {
        fund(&app, &w.finance, id, 2_000).await;
    }
    after_method_hold(&app, &mut w, &mut checker).await;
    let reg = app.login("reg@example.com", PASSWORD).await;
    let ver = app.login("ver@example.com", PASSWORD).await;
    let r = readiness(&app, &reg).await;
    assert_eq!((r["can_work"].as_bool(), r["can_be_paid"].as_bool()), (Some(false), Some(false)), "{r}");
    assert_eq!(requirement(&r, "email_verified")["blocks"], json!(["work", "payouts"]), "{r}");
    assert_eq!(requirement(&r, "work_authorization")["blocks"], json!(["work", "payouts"]), "{r}");
    let r = readiness(&app, &ver).await;
    assert_eq!(r["can_be_paid"], false, "{r}");
    assert_eq!(requirement(&r, "email_verified")["status"], "satisfied");
    assert!(requirement(&r, "work_authorization")["how_to_fix"]
        .as_str()
        .unwrap()
        .contains("PUT /me/work-authorization"));
    let r = readiness(&app, &w.contributors[0].1).await;
    assert_eq!((r["can_work"].as_bool(), r["can_be_paid"].as_bool()), (Some(true), Some(true)), "{r}");

    let candidates = preview(&app, &w.finance).await;
    assert_eq!(candidates[&reg_id], ["email_verified", "work_authorization"]);
    assert_eq!(candidates[&ver_id], ["work_authorization"]);
    assert!(candidates[&worker].is_empty(), "{candidates:?}");
    let (status, batch) = build(&app, &w.finance, "b-1").await;
    assert_eq!(status, 201, "{batch}");
    assert_eq!(items(&batch), [(worker, 2_000)].into_iter().collect());
    let skipped: Vec<i64> =
        batch["skipped"].as_array().unwrap().iter().map(|c| c["contributor_id"].as_i64().unwrap()).collect();
    assert!(skipped.contains(&reg_id) && skipped.contains(&ver_id), "{batch}");
}

async fn work_counts_between_verification_and_expiry_and_before_a_suspension(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut w = world(&app, 1).await;
    let mut checker = app.staff(&w.admin, "fin-b@gatehouse.test", &["finance"]).await;
    // An authorization that expires in ten days (an EAD).
    let expires = app.state.clock.now().date() + Duration::days(10);
    let ead = app.applicant("ead@example.com").await;
    let ead_id = app.user_id(&ead).await;
    // An hour passes between verifying the email and the authorization.
    app.clock.advance(Duration::hours(1));
    let ead = app.login("ead@example.com", PASSWORD).await;
    w.reviewer_b = app.login("rev-b@gatehouse.test", PASSWORD).await;
    w.finance = app.login("fin@gatehouse.test", PASSWORD).await;
    let (status, body) = app
        .put(
            "/me/work-authorization",
            Some(&ead.access),
            json!({"category": "noncitizen_authorized", "residence_country": "US", "expiration_date": expires.to_string()}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let form = Form::new()
        .text("list_a_type", "employment_authorization_document")
        .text("list_a_expires_on", expires.to_string())
        .part("list_a_file", Part::bytes(PDF.to_vec()).file_name("ead.pdf").mime_str("application/pdf").unwrap());
    let (status, wa) = app.upload("/me/work-authorization/documents", &ead.access, form).await;
    assert_eq!(status, 201, "{wa}");
    let wa_id = wa["id"].as_i64().unwrap();
    app.post(&format!("/review/work-authorizations/{wa_id}/claim"), Some(&w.reviewer_b.access), json!({})).await;
    let (status, body) = app
        .post(
            &format!("/review/work-authorizations/{wa_id}/decision"),
            Some(&w.reviewer_b.access),
            json!({"outcome": "verify", "reason_code": "documents_verified"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let ead_verified = app.state.clock.now();
    // Done before the authorization was verified: it does not count.
    let early = record_at(ead_id, w.open_project, "early", ead_verified - Duration::minutes(30));
    let body = ingest(&app, &w.finance, vec![early]).await;
    assert_eq!(body["items"][0]["code"], "work_authorization_not_verified", "{body}");
    payable(&app, &ead).await;
    fund(&app, &w.finance, ead_id, 2_000).await;

    // Twelve days on: expired two days ago, not yet suspended by the job.
    after_method_hold(&app, &mut w, &mut checker).await;
    app.clock.advance(Duration::days(9));
    let finance = app.login("fin@gatehouse.test", PASSWORD).await;
    let now = app.state.clock.now();
    let body = ingest(
        &app,
        &finance,
        vec![
            record_at(ead_id, w.open_project, "after-expiry", now - Duration::days(1)),
            record_at(ead_id, w.open_project, "reported-late", ead_verified + Duration::hours(1)),
        ],
    )
    .await;
    assert_eq!(body["items"][0]["code"], "work_authorization_expired", "{body}");
    assert_eq!(body["items"][1]["status"], "created", "work done while authorized counts: {body}");

    // The job suspends them: new work is refused as of the suspension, work from
    // before still counts, and the money already earned is still paid.
    run_jobs(&app).await;
    let ead = app.login("ead@example.com", PASSWORD).await;
    let (_, me) = app.get("/me", Some(&ead.access)).await;
    assert_eq!(me["status"], "suspended");
    let body = ingest(
        &app,
        &finance,
        vec![
            record_at(ead_id, w.open_project, "while-suspended", app.state.clock.now()),
            record_at(ead_id, w.open_project, "before-suspension", ead_verified + Duration::hours(2)),
        ],
    )
    .await;
    assert_eq!(body["items"][0]["code"], "contributor_inactive", "{body}");
    assert_eq!(body["items"][1]["status"], "created", "{body}");
    let r = readiness(&app, &ead).await;
    assert_eq!((r["can_work"].as_bool(), r["can_be_paid"].as_bool()), (Some(false), Some(true)), "{r}");
    assert_eq!(requirement(&r, "work_authorization_current")["status"], "past_due");
    assert_eq!(requirement(&r, "work_authorization_current")["blocks"], json!(["work"]));
    assert!(preview(&app, &finance).await[&ead_id].is_empty(), "earned money is paid after expiry");
}

async fn a_removed_contributors_earned_money_is_paid_after_a_two_person_release(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut w = world(&app, 2).await;
    let mut checker = app.staff(&w.admin, "fin-b@gatehouse.test", &["finance"]).await;
    let r2 = app.staff(&w.admin, "r2@gatehouse.test", &["reviewer"]).await;
    let (gone, gone_t) = w.contributors[0].clone();
    let (stays, stays_t) = w.contributors[1].clone();
    payable(&app, &gone_t).await;
    payable(&app, &stays_t).await;
    fund(&app, &w.finance, gone, 500).await; // below the $10 minimum
    fund(&app, &w.finance, stays, 2_000).await;

    let (status, proposal) = app
        .post("/review/removals", Some(&w.reviewer_a.access), json!({"user_id": gone, "note": "False degree."}))
        .await;
    assert_eq!(status, 201, "{proposal}");
    let (status, _) =
        app.post(&format!("/review/removals/{}/confirm", proposal["id"]), Some(&r2.access), json!({})).await;
    assert_eq!(status, 200);
    after_method_hold(&app, &mut w, &mut checker).await;

    // Held: readiness says so, the preview and the build leave the money alone.
    let gone_t = app.login("worker0@example.com", PASSWORD).await;
    let r = readiness(&app, &gone_t).await;
    assert_eq!(requirement(&r, "payment_hold")["status"], "pending_review", "{r}");
    assert!(requirement(&r, "payment_hold")["how_to_fix"].as_str().unwrap().contains("finance releases"));
    assert_eq!(preview(&app, &w.finance).await[&gone], ["payout_minimum_balance", "payment_hold"]);

    // Maker-checker: one finance user requests, another approves.
    let path = format!("/contributors/{gone}/payout-release");
    let (status, problem) =
        app.post(&format!("/contributors/{stays}/payout-release"), Some(&w.finance.access), json!({"note": "x"})).await;
    assert_eq!((status, problem["code"].as_str()), (409, Some("not_removed")), "{problem}");
    let (status, problem) = app.post(&path, Some(&w.finance.access), json!({"note": ""})).await;
    assert_eq!(status, 422, "{problem}");
    let (status, release) =
        app.post(&path, Some(&w.finance.access), json!({"note": "Approved work stays theirs (SPEC §4)."})).await;
    assert_eq!((status, release["status"].as_str()), (201, Some("pending_approval")), "{release}");
    let (status, _) = app.post(&path, Some(&checker.access), json!({"note": "again"})).await;
    assert_eq!(status, 409, "one release per contributor");
    let approve = format!("{path}/approve");
    let (status, _) = app.post(&approve, Some(&w.finance.access), json!({})).await;
    assert_eq!(status, 403, "the requester cannot approve");
    let (status, _) = app.post(&approve, Some(&w.reviewer_a.access), json!({})).await;
    assert_eq!(status, 403, "reviewers are not finance");
    let (status, release) = app.post(&approve, Some(&checker.access), json!({})).await;
    assert_eq!((status, release["status"].as_str()), (200, Some("approved")), "{release}");
    let (status, _) = app.post(&approve, Some(&checker.access), json!({})).await;
    assert_eq!(status, 409);
    let (status, shown) = app.get(&path, Some(&checker.access)).await;
    assert_eq!((status, shown["approved_by"].clone()), (200, json!(app.user_id(&checker).await)));

    app.smtp.inbox.wait_for_subject("worker0@example.com", "Your earned money will be paid").await;
    let (_, decisions) = app.get("/me/decisions", Some(&gone_t.access)).await;
    assert_eq!(decisions["items"][0]["outcome"], "earnings_released", "{decisions}");
    let r = readiness(&app, &gone_t).await;
    assert_eq!((r["can_work"].as_bool(), r["can_be_paid"].as_bool()), (Some(false), Some(true)), "{r}");

    // Released: the final payout goes out below the minimum, with the others.
    assert!(preview(&app, &w.finance).await[&gone].is_empty());
    let (status, batch) = build(&app, &w.finance, "after-release").await;
    assert_eq!(status, 201, "{batch}");
    assert_eq!(items(&batch), [(gone, 500), (stays, 2_000)].into_iter().collect());
}

async fn a_closed_accounts_final_payout_ignores_the_minimum(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut w = world(&app, 2).await;
    let mut checker = app.staff(&w.admin, "fin-b@gatehouse.test", &["finance"]).await;
    let (leaving, leaving_t) = w.contributors[0].clone();
    let stuck = w.contributors[1].0;
    payable(&app, &leaving_t).await;
    fund(&app, &w.finance, leaving, 300).await;
    fund(&app, &w.finance, stuck, 300).await;
    after_method_hold(&app, &mut w, &mut checker).await;
    assert_eq!(preview(&app, &w.finance).await[&leaving], ["payout_minimum_balance"]);

    // Owed money and no W-9 or payout method: closing would strand it, so it is refused
    // with what to fix first.
    let stuck_t = w.contributors[1].1.clone();
    let (status, problem) = app.post("/me/close", Some(&stuck_t.access), json!({"password": PASSWORD})).await;
    assert_eq!((status, problem["code"].as_str()), (409, Some("final_payout_blocked")), "{problem}");
    let blockers: Vec<&str> = problem["requirements"].as_array().unwrap().iter().map(|r| r.as_str().unwrap()).collect();
    assert!(blockers.contains(&"w9_on_file") && blockers.contains(&"payout_method"), "{problem}");

    // Closed: no new work, and the $3 final payout goes out whatever the minimum.
    let leaving_t = w.contributors[0].1.clone();
    let (status, me) = app.post("/me/close", Some(&leaving_t.access), json!({"password": PASSWORD})).await;
    assert_eq!((status, me["status"].as_str()), (200, Some("closed")), "{me}");
    let after_close = record_at(leaving, w.open_project, "after-close", app.state.clock.now());
    let body = ingest(&app, &w.finance, vec![after_close]).await;
    assert_eq!(body["items"][0]["code"], "contributor_inactive", "{body}");
    let r = readiness(&app, &leaving_t).await;
    assert_eq!((r["can_work"].as_bool(), r["can_be_paid"].as_bool()), (Some(false), Some(true)), "{r}");
    assert!(preview(&app, &w.finance).await[&leaving].is_empty());
    let (status, batch) = build(&app, &w.finance, "final").await;
    assert_eq!(status, 201, "{batch}");
    assert_eq!(items(&batch), [(leaving, 300)].into_iter().collect());
    let (_, d) = app.get("/me/decisions", Some(&leaving_t.access)).await;
    assert_eq!(d["items"][0]["outcome"], "closed", "{d}");
}
