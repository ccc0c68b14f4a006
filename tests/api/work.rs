//! Work records through the HTTP API: bulk ingest, quality review, appeals, automatic
//! approval, hold release, and "earned once" under concurrent approvals.

use actix_web::web;
use chrono::Timelike;
use diesel::prelude::*;
use serde_json::{json, Value};

use crate::both_backends;
use crate::support::{Backend, TestApp, Tokens};

both_backends!(
    ten_thousand_records_ingest_once_and_replay_creates_nothing,
    a_mixed_batch_refuses_invalid_items_one_by_one,
    approve_reject_appeal_and_overturn_by_another_reviewer,
    unreviewed_work_is_approved_automatically_then_released_after_the_hold,
    concurrent_approvals_earn_once,
    completed_at_takes_any_offset_and_refuses_a_time_without_one,
);

/// Staff, a project type anyone may work on, one needing a law expert, contributors.
pub struct World {
    pub admin: Tokens,
    pub finance: Tokens,
    pub reviewer_a: Tokens,
    pub reviewer_b: Tokens,
    pub open_project: i64,
    pub law_project: i64,
    pub contributors: Vec<(i64, Tokens)>,
}

pub async fn world(app: &TestApp, contributors: usize) -> World {
    let admin = app.admin().await;
    let finance = app.staff(&admin, "fin@gatehouse.test", &["finance"]).await;
    let reviewer_a = app.staff(&admin, "rev-a@gatehouse.test", &["reviewer"]).await;
    let reviewer_b = app.staff(&admin, "rev-b@gatehouse.test", &["reviewer"]).await;
    let open_project = project(app, &admin, "Ranking", json!([])).await;
    let law_project = project(app, &admin, "Law review", json!([{"domain": "law", "tier": "expert"}])).await;
    let mut people = Vec::new();
    for i in 0..contributors {
        let tokens = app.applicant(&format!("worker{i}@example.com")).await;
        app.authorize(&tokens, &reviewer_b).await;
        people.push((app.user_id(&tokens).await, tokens));
    }
    World { admin, finance, reviewer_a, reviewer_b, open_project, law_project, contributors: people }
}

async fn project(app: &TestApp, admin: &Tokens, name: &str, required: Value) -> i64 {
    let (status, body) = app
        .post("/admin/projects", Some(&admin.access), json!({"name": name, "required_qualifications": required}))
        .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_i64().unwrap()
}

/// A completed task, done just now (after the contributor's authorization was verified:
/// work before it does not count).
pub fn record(contributor: i64, project: i64, task_ref: &str, kind: &str, quantity: &str, rate: &str) -> Value {
    let completed_at = chrono::Utc::now().naive_utc().format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
    json!({"contributor_id": contributor, "project_type_id": project, "task_ref": task_ref, "unit_kind": kind,
           "quantity": quantity, "rate": rate, "completed_at": completed_at})
}

pub async fn ingest(app: &TestApp, finance: &Tokens, records: Vec<Value>) -> Value {
    let (status, body) = app.post("/work-records", Some(&finance.access), json!({"records": records})).await;
    assert_eq!(status, 200, "{body}");
    body
}

pub async fn run_jobs(app: &TestApp) {
    let state = app.state.clone();
    web::block(move || gatehouse::jobs::run_due(&state)).await.unwrap().unwrap();
}

/// Every ledger transaction sums to zero, checked over the whole entries table.
pub async fn assert_ledger_balanced(app: &TestApp) {
    let state = app.state.clone();
    let bad = web::block(move || state.db.read_sync(gatehouse::ledger::service::unbalanced_transactions))
        .await
        .unwrap()
        .unwrap();
    assert!(bad.is_empty(), "unbalanced transactions: {bad:?}");
}

pub async fn count_transactions(app: &TestApp, kind: &'static str, reference: String) -> i64 {
    use gatehouse::db::schema::ledger_transactions as t;
    let state = app.state.clone();
    web::block(move || {
        state.db.read_sync(|c| {
            Ok(t::table.filter(t::kind.eq(kind)).filter(t::reference.eq(reference)).count().get_result::<i64>(c)?)
        })
    })
    .await
    .unwrap()
    .unwrap()
}

async fn ten_thousand_records_ingest_once_and_replay_creates_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let w = world(&app, 2).await;
    let records: Vec<Value> = (0..10_000)
        .map(|i| record(w.contributors[i % 2].0, w.open_project, &format!("task-{i}"), "units", "3", "0.335"))
        .collect();
    let started = std::time::Instant::now();
    let body = ingest(&app, &w.finance, records.clone()).await;
    eprintln!("{backend:?}: 10,000 records ingested in {:?}", started.elapsed());
    assert_eq!(body["created"], 10_000);
    assert_eq!(body["duplicates"], 0);
    assert_eq!(body["items"][9_999]["status"], "created");
    assert!(body["items"][9_999]["id"].as_i64().is_some());

    let replay = ingest(&app, &w.finance, records).await;
    assert_eq!(replay["created"], 0);
    assert_eq!(replay["duplicates"], 10_000);
    assert_eq!(replay["items"][0]["code"], "already_ingested");
    assert_eq!(replay["items"][0]["id"], body["items"][0]["id"]);

    // 3 × 0.335 = 100.5 cents, rounded once: 101 per record, 5,000 records each.
    let (status, earnings) = app.get("/me/earnings", Some(&w.contributors[0].1.access)).await;
    assert_eq!(status, 200, "{earnings}");
    assert_eq!(earnings["balances"]["pending"], 5_000 * 101);
    assert_eq!(earnings["timeline"].as_array().unwrap().len(), 50);
    assert!(earnings["next_cursor"].is_string() && earnings["has_more"] == true);

    let (status, _) = app.post("/work-records", Some(&w.reviewer_a.access), json!({"records": []})).await;
    assert_eq!(status, 403);
}

async fn a_mixed_batch_refuses_invalid_items_one_by_one(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let w = world(&app, 2).await;
    let (ok, suspended) = (w.contributors[0].0, w.contributors[1].0);
    {
        use gatehouse::db::schema::users;
        let state = app.state.clone();
        web::block(move || {
            state.db.tx_sync(|c| {
                diesel::update(users::table.find(suspended)).set(users::status.eq("suspended")).execute(c)?;
                Ok(())
            })
        })
        .await
        .unwrap()
        .unwrap();
    }
    let body = ingest(
        &app,
        &w.finance,
        vec![
            record(ok, w.open_project, "m-1", "minutes", "7", "20"),
            record(999_999, w.open_project, "m-2", "units", "1", "1"),
            record(ok, w.law_project, "m-3", "units", "1", "1"),
            record(suspended, w.open_project, "m-4", "units", "1", "1"),
            record(ok, w.open_project, "m-5", "units", "1", "-2"),
            record(ok, w.open_project, "m-6", "units", "0", "2"),
            record(ok, w.open_project, "m-1", "units", "1", "1"),
            record(ok, 424_242, "m-8", "units", "1", "1"),
            record(ok, w.open_project, "m-9", "units", "2", "0.125"),
        ],
    )
    .await;
    let codes: Vec<&str> =
        body["items"].as_array().unwrap().iter().map(|i| i["code"].as_str().unwrap_or("-")).collect();
    assert_eq!(
        codes,
        [
            "-",
            "unknown_contributor",
            "not_qualified",
            "contributor_inactive",
            "invalid_rate",
            "invalid_quantity",
            "repeated_in_batch",
            "unknown_project_type",
            "-"
        ]
    );
    assert_eq!(body["created"], 2);
    assert_eq!(body["duplicates"], 1);
    assert_eq!(body["refused"], 6);
    assert!(body["items"][1]["reason"].as_str().unwrap().contains("no contributor"));

    let (status, mine) = app.get("/me/work-records", Some(&w.contributors[0].1.access)).await;
    assert_eq!(status, 200, "{mine}");
    let items = mine["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    // Newest first: 2 × 0.125 = 25 cents; 7 minutes at $20/h = 233.33… → 233 cents.
    assert_eq!(items[0]["pay_cents"], 25);
    assert_eq!(items[1]["pay_cents"], 233);
    assert_eq!(items[1]["rate"], "20");
    assert_eq!(items[1]["unit_kind"], "minutes");
    assert_eq!(items[1]["status"], "pending");
}

async fn approve_reject_appeal_and_overturn_by_another_reviewer(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let w = world(&app, 1).await;
    let (ana, ana_tokens) = (w.contributors[0].0, &w.contributors[0].1);
    let body = ingest(
        &app,
        &w.finance,
        vec![
            record(ana, w.open_project, "r-1", "units", "10", "1.5"),
            record(ana, w.open_project, "r-2", "units", "4", "2"),
        ],
    )
    .await;
    let (r1, r2) = (body["items"][0]["id"].as_i64().unwrap(), body["items"][1]["id"].as_i64().unwrap());

    let (status, queue) = app.get("/review/work-records", Some(&w.reviewer_a.access)).await;
    assert_eq!(status, 200, "{queue}");
    assert_eq!(queue["items"][0]["id"], r1);
    assert!(queue["items"][0]["age_seconds"].is_i64());

    // Deciding without a claim is refused; a claimed record is not for another reviewer.
    let decision =
        json!({"decision": "approve", "reason_code": "meets_guidelines", "note": "", "snapshot_ref": "snap-1"});
    let (status, body) =
        app.post(&format!("/review/work-records/{r1}/decision"), Some(&w.reviewer_a.access), decision.clone()).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("claim_required")));
    let (status, _) =
        app.post(&format!("/review/work-records/{r1}/claim"), Some(&w.reviewer_a.access), json!({})).await;
    assert_eq!(status, 200);
    let (status, body) =
        app.post(&format!("/review/work-records/{r1}/claim"), Some(&w.reviewer_b.access), json!({})).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("claimed_by_other")));
    let (status, body) =
        app.post(&format!("/review/work-records/{r1}/decision"), Some(&w.reviewer_a.access), decision).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "approved");
    assert_eq!(body["snapshot_ref"], "snap-1");
    app.smtp.inbox.wait_for("worker0@example.com").await;

    let (_, earnings) = app.get("/me/earnings", Some(&ana_tokens.access)).await;
    assert_eq!(earnings["balances"]["held"], 1500);
    assert_eq!(earnings["balances"]["pending"], 800);

    // Reviewer A rejects r2; a rejection needs a note.
    app.post(&format!("/review/work-records/{r2}/claim"), Some(&w.reviewer_a.access), json!({})).await;
    let (status, _) = app
        .post(
            &format!("/review/work-records/{r2}/decision"),
            Some(&w.reviewer_a.access),
            json!({"decision": "reject", "reason_code": "low_quality", "note": ""}),
        )
        .await;
    assert_eq!(status, 422);
    let (status, body) = app
        .post(
            &format!("/review/work-records/{r2}/decision"),
            Some(&w.reviewer_a.access),
            json!({"decision": "reject", "reason_code": "low_quality", "note": "answers contradict the rubric"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    let (status, appeal) = app
        .post(
            &format!("/me/work-records/{r2}/appeal"),
            Some(&ana_tokens.access),
            json!({"message": "I followed the rubric"}),
        )
        .await;
    assert_eq!(status, 201, "{appeal}");
    let appeal_id = appeal["id"].as_i64().unwrap();
    let (status, body) =
        app.post(&format!("/me/work-records/{r2}/appeal"), Some(&ana_tokens.access), json!({"message": "again"})).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("already_appealed")));
    let (status, _) =
        app.post(&format!("/me/work-records/{r1}/appeal"), Some(&ana_tokens.access), json!({"message": "x"})).await;
    assert_eq!(status, 409);

    let (status, queue) = app.get("/review/appeals", Some(&w.reviewer_b.access)).await;
    assert_eq!(status, 200);
    assert_eq!(queue["items"][0]["appeal"]["id"], appeal_id);
    // The rejecting reviewer may neither claim nor decide the appeal.
    let (status, _) =
        app.post(&format!("/review/appeals/{appeal_id}/claim"), Some(&w.reviewer_a.access), json!({})).await;
    assert_eq!(status, 403);
    let overturn =
        json!({"decision": "overturn", "reason_code": "rubric_followed", "note": "the answers match the rubric"});
    let (status, _) =
        app.post(&format!("/review/appeals/{appeal_id}/decision"), Some(&w.reviewer_a.access), overturn.clone()).await;
    assert_eq!(status, 403);
    let (status, _) =
        app.post(&format!("/review/appeals/{appeal_id}/claim"), Some(&w.reviewer_b.access), json!({})).await;
    assert_eq!(status, 200);
    let (status, body) =
        app.post(&format!("/review/appeals/{appeal_id}/decision"), Some(&w.reviewer_b.access), overturn).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["appeal"]["status"], "overturned");
    assert_eq!(body["work_record"]["status"], "approved");

    // The contributor sees both notes; outcomes are decisions and emails.
    let (_, mine) = app.get("/me/work-records", Some(&ana_tokens.access)).await;
    let r2_view = mine["items"].as_array().unwrap().iter().find(|i| i["id"] == r2).unwrap().clone();
    assert_eq!(r2_view["note"], "answers contradict the rubric");
    assert_eq!(r2_view["appeal"]["note"], "the answers match the rubric");
    assert_eq!(r2_view["appeal"]["message"], "I followed the rubric");
    let (_, decisions) = app.get("/me/decisions", Some(&ana_tokens.access)).await;
    let outcomes: Vec<&str> =
        decisions["items"].as_array().unwrap().iter().map(|d| d["outcome"].as_str().unwrap()).collect();
    assert!(outcomes.contains(&"overturned") && outcomes.contains(&"rejected"), "{outcomes:?}");
    let (_, earnings) = app.get("/me/earnings", Some(&ana_tokens.access)).await;
    assert_eq!(earnings["balances"]["held"], 2300);
    assert_eq!(earnings["balances"]["pending"], 0);
    assert_eq!(earnings["quality"]["agreement_percent"], 0);
    assert_eq!(count_transactions(&app, "work_approved", format!("work_record:{r2}")).await, 1);
    assert_ledger_balanced(&app).await;
}

async fn unreviewed_work_is_approved_automatically_then_released_after_the_hold(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let w = world(&app, 1).await;
    let (bo, mut bo_tokens) = (w.contributors[0].0, w.contributors[0].1.clone());
    let body = ingest(&app, &w.finance, vec![record(bo, w.open_project, "a-1", "minutes", "30", "25")]).await;
    let id = body["items"][0]["id"].as_i64().unwrap();

    app.clock.advance(chrono::Duration::days(6));
    run_jobs(&app).await;
    app.renew(&mut bo_tokens, "worker0@example.com").await;
    let (_, earnings) = app.get("/me/earnings", Some(&bo_tokens.access)).await;
    assert_eq!(earnings["balances"]["pending"], 1250);
    assert_eq!(earnings["timeline"][0]["approved_at"], Value::Null);

    app.clock.advance(chrono::Duration::days(1) + chrono::Duration::minutes(1));
    run_jobs(&app).await;
    app.renew(&mut bo_tokens, "worker0@example.com").await;
    let (_, earnings) = app.get("/me/earnings", Some(&bo_tokens.access)).await;
    assert_eq!(earnings["balances"]["pending"], 0);
    assert_eq!(earnings["balances"]["held"], 1250);
    assert_eq!(earnings["timeline"][0]["status"], "approved");
    assert!(earnings["timeline"][0]["available_on"].is_string());
    assert_eq!(earnings["timeline"][0]["settled_at"], Value::Null);
    let (_, mine) = app.get("/me/work-records", Some(&bo_tokens.access)).await;
    assert_eq!(mine["items"][0]["decision_source"], "auto");

    app.clock.advance(chrono::Duration::days(7));
    run_jobs(&app).await;
    run_jobs(&app).await;
    app.renew(&mut bo_tokens, "worker0@example.com").await;
    let (_, earnings) = app.get("/me/earnings", Some(&bo_tokens.access)).await;
    assert_eq!(earnings["balances"]["held"], 0);
    assert_eq!(earnings["balances"]["available"], 1250);
    assert_eq!(count_transactions(&app, "hold_released", format!("work_record:{id}")).await, 1);
    assert_ledger_balanced(&app).await;
}

async fn concurrent_approvals_earn_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let w = world(&app, 1).await;
    let cy = w.contributors[0].0;
    let body = ingest(&app, &w.finance, vec![record(cy, w.open_project, "c-1", "units", "7", "1.11")]).await;
    let id = body["items"][0]["id"].as_i64().unwrap();

    // Two reviewers race for the claim: exactly one wins.
    let claim_path = format!("/review/work-records/{id}/claim");
    let claims = futures_util::future::join_all(
        [&w.reviewer_a, &w.reviewer_b].into_iter().map(|r| app.post(&claim_path, Some(&r.access), json!({}))),
    )
    .await;
    let winners: Vec<usize> = claims.iter().enumerate().filter(|(_, c)| c.0 == 200).map(|(i, _)| i).collect();
    assert_eq!(winners.len(), 1, "{claims:?}");
    let winner = if winners[0] == 0 { &w.reviewer_a } else { &w.reviewer_b };

    // The winner's approval sent eight times at once, beside the auto-approval job.
    let decision = json!({"decision": "approve", "reason_code": "ok", "note": "fine"});
    let path = format!("/review/work-records/{id}/decision");
    let requests = (0..8).map(|_| app.post(&path, Some(&winner.access), decision.clone()));
    let results = futures_util::future::join_all(requests).await;
    let ok = results.iter().filter(|r| r.0 == 200).count();
    assert_eq!(ok, 1, "{results:?}");
    assert!(results.iter().all(|r| r.0 == 200 || r.0 == 409), "{results:?}");
    app.clock.advance(chrono::Duration::days(8));
    run_jobs(&app).await;

    assert_eq!(count_transactions(&app, "work_approved", format!("work_record:{id}")).await, 1);
    let mut finance = w.finance.clone();
    app.renew(&mut finance, "fin@gatehouse.test").await;
    let (status, ledger) = app.get(&format!("/contributors/{cy}/ledger"), Some(&finance.access)).await;
    assert_eq!(status, 200, "{ledger}");
    // 7 × 1.11 = 777 cents: approved once, released once.
    assert_eq!(ledger["balances"]["available"], 777);
    assert_eq!(ledger["balances"]["held"], 0);
    assert_eq!(ledger["entries"].as_array().unwrap().len(), 3);
    assert_ledger_balanced(&app).await;
    let _ = &w.admin;
}

/// RFC 3339 in, UTC with `Z` out: `Z` and `+02:00` name the same instant and are stored
/// as it; a time without an offset refuses the whole request with a field error naming
/// the record, and nothing is stored.
async fn completed_at_takes_any_offset_and_refuses_a_time_without_one(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let w = world(&app, 1).await;
    let (id, tokens) = &w.contributors[0];
    let instant = chrono::Utc::now().naive_utc();
    let instant = instant.with_nanosecond(instant.nanosecond() / 1000 * 1000).unwrap();
    let with_offset = |r: &mut Value, t: String| r["completed_at"] = json!(t);
    let mut zulu = record(*id, w.open_project, "zulu", "units", "1", "1");
    with_offset(&mut zulu, instant.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string());
    let mut paris = record(*id, w.open_project, "plus-two", "units", "1", "1");
    with_offset(&mut paris, (instant + chrono::Duration::hours(2)).format("%Y-%m-%dT%H:%M:%S%.6f+02:00").to_string());
    let mut local = record(*id, w.open_project, "no-offset", "units", "1", "1");
    with_offset(&mut local, instant.format("%Y-%m-%dT%H:%M:%S%.6f").to_string());

    let (status, body) =
        app.post("/work-records", Some(&w.finance.access), json!({"records": [zulu.clone(), local]})).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["code"], "validation_failed", "{body}");
    assert_eq!(body["errors"].as_array().unwrap().len(), 1, "{body}");
    assert_eq!(body["errors"][0]["field"], "records[1].completed_at", "{body}");
    assert_eq!(body["errors"][0]["code"], "offset_required", "{body}");
    let (_, mine) = app.get("/me/work-records", Some(&tokens.access)).await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 0, "nothing stored: {mine}");

    let body = ingest(&app, &w.finance, vec![zulu, paris]).await;
    assert_eq!(body["created"], 2, "{body}");
    use gatehouse::db::schema::work_records as r;
    let state = app.state.clone();
    let stored: Vec<chrono::NaiveDateTime> = web::block(move || {
        state.db.read_sync(|c| Ok(r::table.order(r::task_ref.desc()).select(r::completed_at).load(c)?))
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(stored, [instant, instant], "zulu and plus-two are the same UTC instant");
    let (_, mine) = app.get("/me/work-records", Some(&tokens.access)).await;
    let written = instant.format("%Y-%m-%dT%H:%M:%S%.fZ").to_string();
    for item in mine["items"].as_array().unwrap() {
        assert_eq!(item["completed_at"], written.as_str(), "{item}");
    }
}
