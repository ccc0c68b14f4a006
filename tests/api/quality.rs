//! Standing per domain through the HTTP API (issue 24, docs/quality.md): quality signals
//! at ingest, the nightly standing run, promotion and demotion as decisions (emailed,
//! appealable, never retroactive), `GET /me/standing`, the reviewers' queue and the
//! reviewer-accuracy view.

use serde_json::{json, Value};

use crate::both_backends;
use crate::console::{claim_and_decide, Session};
use crate::support::{Backend, Options, TestApp, Tokens};
use crate::work::{ingest, record, run_jobs, world, World};

both_backends!(
    sustained_gold_accuracy_and_agreement_promote_within_qualifications,
    low_gold_accuracy_moves_back_to_entry_level_in_one_domain_emailed_and_appealable,
    too_few_items_make_no_move,
    signals_out_of_range_or_undeclared_are_refused_at_ingest,
    my_standing_explains_the_next_threshold,
    reviewer_accuracy_shows_overturns_and_gold_agreement,
    with_human_confirmation_moves_wait_in_the_reviewers_queue,
    the_account_ladder_moves_domains_back_before_suspending,
);

/// A project type gated by standing in `domain`, reporting both signals.
async fn gated_project(app: &TestApp, admin: &Tokens, name: &str, domain: &str, needs: &str, required: Value) -> i64 {
    let (status, body) = app
        .post(
            "/admin/projects",
            Some(&admin.access),
            json!({"name": name, "required_qualifications": required, "standing_domain": domain,
                   "required_standing": needs, "reports_consensus": true, "reports_gold": true}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["required_standing"], needs);
    assert_eq!(body["standing_domain"], domain);
    body["id"].as_i64().unwrap()
}

/// A record carrying quality signals.
fn signalled(contributor: i64, project: i64, task_ref: &str, agreement: Option<i64>, gold: Option<i64>) -> Value {
    let mut r = record(contributor, project, task_ref, "units", "1", "2.50");
    if let Some(a) = agreement {
        r["consensus_agreement_percent"] = json!(a);
    }
    if let Some(g) = gold {
        r["gold_score_percent"] = json!(g);
    }
    r
}

/// The same record, done at the service's time (the test clock moved past real time).
fn done_now(app: &TestApp, mut r: Value) -> Value {
    use gatehouse::clock::Clock;
    r["completed_at"] = json!(app.clock.now().format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string());
    r
}

fn batch(contributor: i64, project: i64, prefix: &str, n: usize, agreement: i64, gold: i64) -> Vec<Value> {
    (0..n).map(|i| signalled(contributor, project, &format!("{prefix}-{i}"), Some(agreement), Some(gold))).collect()
}

/// The contributor passes a one-question law test: an active law qualification.
async fn qualify_in_law(app: &TestApp, admin: &Tokens, person: &Tokens) {
    let (status, test) = app
        .post(
            "/admin/tests",
            Some(&admin.access),
            json!({"domain": "law", "tier": "generalist", "title": "Law basics", "time_limit_minutes": 30,
                   "pass_mark_percent": 50, "attempt_limit": 3, "cooldown_hours": 1, "stipend_cents": 0,
                   "prerequisites": [], "sections": [{"title": "Basics", "questions": [
                       {"id": "q1", "type": "single_choice", "prompt": "Is a contract an agreement?", "points": 1,
                        "options": [{"id": "yes", "text": "Yes"}, {"id": "no", "text": "No"}], "correct": "yes"}]}]}),
        )
        .await;
    assert!(status == 201 || status == 409, "{test}");
    let test_id = match test["id"].as_i64() {
        Some(id) => id,
        None => {
            let (_, tests) = app.get("/tests", Some(&person.access)).await;
            tests["items"][0]["id"].as_i64().unwrap()
        }
    };
    let (status, attempt) = app.post(&format!("/tests/{test_id}/attempts"), Some(&person.access), json!({})).await;
    assert_eq!(status, 201, "{attempt}");
    let id = attempt["id"].as_i64().unwrap();
    let (status, body) =
        app.put(&format!("/attempts/{id}/answers"), Some(&person.access), json!({"answers": {"q1": "yes"}})).await;
    assert_eq!(status, 200, "{body}");
    let (status, done) = app.post(&format!("/attempts/{id}/submit"), Some(&person.access), json!({})).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["status"], "passed");
}

/// Past the review window, so the records are approved automatically; then every job,
/// the standing run included. The staff sign in again (their access tokens expired).
async fn nightly(app: &TestApp, w: &mut World) {
    app.clock.advance(chrono::Duration::days(8));
    run_jobs(app).await;
    app.renew(&mut w.admin, "admin@gatehouse.test").await;
    app.renew(&mut w.finance, "fin@gatehouse.test").await;
    app.renew(&mut w.reviewer_a, "rev-a@gatehouse.test").await;
    app.renew(&mut w.reviewer_b, "rev-b@gatehouse.test").await;
}

fn refused_codes(body: &Value) -> Vec<String> {
    body["items"].as_array().unwrap().iter().filter_map(|i| i["code"].as_str().map(str::to_string)).collect()
}

async fn sustained_gold_accuracy_and_agreement_promote_within_qualifications(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut w = world(&app, 2).await;
    let (ana, mut ana_t) = w.contributors[0].clone();
    let (ben, mut ben_t) = w.contributors[1].clone();
    let law = json!([{"domain": "law", "tier": "generalist"}]);
    let standard = gated_project(&app, &w.admin, "Law ranking", "law", "standard", law.clone()).await;
    let advanced = gated_project(&app, &w.admin, "Law red-teaming", "law", "advanced", law).await;
    qualify_in_law(&app, &w.admin, &ana_t).await;
    qualify_in_law(&app, &w.admin, &ben_t).await;

    // Before any move, standard is open and advanced is not.
    let before = signalled(ana, advanced, "early-advanced", Some(90), Some(100));
    let body = ingest(&app, &w.finance, vec![before.clone()]).await;
    assert_eq!(refused_codes(&body), ["standing_too_low"], "{body}");

    // Ana: 20 gold items all right and 90 % agreement; Ben: the same but 85 % gold.
    let mut records = batch(ana, standard, "ana", 20, 90, 100);
    records.extend(batch(ben, standard, "ben", 20, 90, 85));
    let body = ingest(&app, &w.finance, records).await;
    assert_eq!(body["created"], 40, "{body}");
    nightly(&app, &mut w).await;

    app.renew(&mut ana_t, "worker0@example.com").await;
    let (status, standing) = app.get("/me/standing", Some(&ana_t.access)).await;
    assert_eq!(status, 200, "{standing}");
    let law_standing = &standing["domains"][0];
    assert_eq!(law_standing["domain"], "law");
    assert_eq!(law_standing["tier"], "advanced", "{standing}");
    let promotion = &standing["history"][0];
    assert_eq!(promotion["direction"], "promotion");
    assert_eq!(promotion["from_tier"], "standard");
    assert_eq!(promotion["to_tier"], "advanced");
    assert_eq!(promotion["reason_code"], "sustained_high_quality");
    assert_eq!(promotion["status"], "applied");
    assert_eq!(promotion["figures"]["gold_accuracy_percent"], 100);
    assert_eq!(promotion["figures"]["consensus_agreement_percent"], 90);
    assert_eq!(promotion["figures"]["gold_items"], 20);
    let mail = app.smtp.inbox.wait_for_subject("worker0@example.com", "promoted to advanced").await;
    assert!(
        mail.text.contains("sustained_high_quality") && mail.text.contains("gold accuracy 100 % on 20 items"),
        "{}",
        mail.text
    );
    let (_, decisions) = app.get("/me/decisions", Some(&ana_t.access)).await;
    assert!(
        decisions["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["subject_type"] == "standing_move" && d["outcome"] == "promotion"),
        "{decisions}"
    );

    // Ben's 85 % gold is below the 90 % bar: no promotion, and told what is missing.
    app.renew(&mut ben_t, "worker1@example.com").await;
    let (_, standing) = app.get("/me/standing", Some(&ben_t.access)).await;
    assert_eq!(standing["domains"][0]["tier"], "standard");
    assert_eq!(standing["history"], json!([]));
    assert_eq!(standing["domains"][0]["gold_accuracy_percent"], 85);
    let steps: Vec<&str> =
        standing["domains"][0]["next_steps"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
    // 1700 + 100 n ≥ 90 (20 + n): n ≥ 10.
    assert!(steps[0].starts_with("10 more gold items answered correctly to reach 90 %"), "{steps:?}");
    assert_eq!(standing["domains"][0]["locked_project_types"][0]["name"], "Law red-teaming");
    let (_, readiness) = app.get("/me/readiness", Some(&ben_t.access)).await;
    let req = readiness["requirements"].as_array().unwrap().iter().find(|r| r["code"] == "quality_standing").cloned();
    let req = req.unwrap_or_else(|| panic!("no standing requirement: {readiness}"));
    assert_eq!(req["link"], "/api/v1/me/standing");
    assert!(req["how_to_fix"].as_str().unwrap().contains("Law red-teaming"), "{req}");
    assert_eq!(req["blocks"], json!([]), "informational: other work stays open");

    // Now Ana's advanced work is accepted; work done before the promotion still is not.
    let body =
        ingest(&app, &w.finance, vec![done_now(&app, signalled(ana, advanced, "late-advanced", Some(90), Some(100)))])
            .await;
    assert_eq!(body["created"], 1, "{body}");
    let mut replay = before;
    replay["task_ref"] = json!("early-advanced-2");
    let body = ingest(&app, &w.finance, vec![replay]).await;
    assert_eq!(refused_codes(&body), ["standing_too_low"], "not retroactive: {body}");

    // Staff read the same view.
    let (status, theirs) = app.get(&format!("/contributors/{ana}/standing"), Some(&w.reviewer_a.access)).await;
    assert_eq!(status, 200, "{theirs}");
    assert_eq!(theirs["domains"][0]["tier"], "advanced");
    let (status, _) = app.get(&format!("/contributors/{ana}/standing"), Some(&ben_t.access)).await;
    assert_eq!(status, 403);
}

async fn low_gold_accuracy_moves_back_to_entry_level_in_one_domain_emailed_and_appealable(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut w = world(&app, 1).await;
    let (cy, mut cy_t) = w.contributors[0].clone();
    let entry = gated_project(&app, &w.admin, "Law basics", "law", "entry", json!([])).await;
    let standard = gated_project(&app, &w.admin, "Law ranking", "law", "standard", json!([])).await;
    let math = gated_project(&app, &w.admin, "Math ranking", "math", "standard", json!([])).await;
    let before_move = signalled(cy, standard, "done-before", Some(90), Some(100));

    let mut records = batch(cy, standard, "law", 20, 80, 40);
    records.extend(batch(cy, math, "math", 20, 95, 100));
    ingest(&app, &w.finance, records).await;
    nightly(&app, &mut w).await;

    app.renew(&mut cy_t, "worker0@example.com").await;
    let (_, standing) = app.get("/me/standing", Some(&cy_t.access)).await;
    let domains = standing["domains"].as_array().unwrap();
    let law = domains.iter().find(|d| d["domain"] == "law").unwrap();
    let math_standing = domains.iter().find(|d| d["domain"] == "math").unwrap();
    assert_eq!(law["tier"], "entry", "{standing}");
    assert_eq!(math_standing["tier"], "standard", "another domain is untouched: {standing}");
    let demotion = &standing["history"][0];
    assert_eq!(
        (demotion["direction"].as_str(), demotion["reason_code"].as_str()),
        (Some("demotion"), Some("low_gold_accuracy"))
    );
    assert_eq!(demotion["figures"]["gold_accuracy_percent"], 40);
    assert!(demotion["note"].as_str().unwrap().contains("gold accuracy 40 % on 20 gold items, below the 70 % floor"));
    let move_id = demotion["id"].as_i64().unwrap();

    // The account is not suspended: entry-level law and math work go on.
    let (_, me) = app.get("/me", Some(&cy_t.access)).await;
    assert_eq!(me["status"], "authorization_verified", "not suspended: {me}");
    let mail = app.smtp.inbox.wait_for_subject("worker0@example.com", "moved back to entry-level work").await;
    assert!(mail.text.contains("low_gold_accuracy"), "{}", mail.text);
    assert!(mail.text.contains("\"gold_accuracy_percent\":40"), "{}", mail.text);
    assert!(mail.text.contains(&format!("/api/v1/me/standing/moves/{move_id}/appeal")), "{}", mail.text);
    let body = ingest(
        &app,
        &w.finance,
        vec![
            done_now(&app, signalled(cy, standard, "law-after", Some(90), Some(100))),
            done_now(&app, signalled(cy, entry, "law-entry", Some(90), Some(100))),
            done_now(&app, signalled(cy, math, "math-after", Some(90), Some(100))),
            before_move,
        ],
    )
    .await;
    let statuses: Vec<&str> = body["items"].as_array().unwrap().iter().map(|i| i["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["refused", "created", "created", "created"], "{body}");
    assert_eq!(body["items"][0]["code"], "standing_too_low");
    let (_, earnings) = app.get("/me/earnings", Some(&cy_t.access)).await;
    assert_eq!(earnings["balances"]["held"], 40 * 250, "pay already earned stands: {earnings}");

    // Appeal once; the reviewer overturns; the standard tier is back.
    let (status, appealed) = app
        .post(
            &format!("/me/standing/moves/{move_id}/appeal"),
            Some(&cy_t.access),
            json!({"message": "The gold key was wrong."}),
        )
        .await;
    assert_eq!(status, 201, "{appealed}");
    assert_eq!(appealed["status"], "appealed");
    let (status, again) = app
        .post(&format!("/me/standing/moves/{move_id}/appeal"), Some(&cy_t.access), json!({"message": "again"}))
        .await;
    assert_eq!((status, again["code"].as_str()), (409, Some("already_appealed")));
    let (_, queue) = app.get("/review/standing-moves", Some(&w.reviewer_a.access)).await;
    assert_eq!(queue["items"][0]["id"], move_id, "{queue}");
    let decide =
        json!({"decision": "overturn", "reason_code": "gold_key_corrected", "note": "The gold answers were wrong."});
    let (status, body) = app
        .post(&format!("/review/standing-moves/{move_id}/decision"), Some(&w.reviewer_a.access), decide.clone())
        .await;
    assert_eq!((status, body["code"].as_str()), (409, Some("claim_required")), "{body}");
    let (status, _) =
        app.post(&format!("/review/standing-moves/{move_id}/claim"), Some(&w.reviewer_a.access), json!({})).await;
    assert_eq!(status, 200);
    let (status, body) =
        app.post(&format!("/review/standing-moves/{move_id}/decision"), Some(&w.reviewer_a.access), decide).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "overturned");
    let mail = app.smtp.inbox.wait_for_subject("worker0@example.com", "appeal of the standing decision").await;
    assert!(
        mail.text.contains("gold_key_corrected") && mail.text.contains("The gold answers were wrong."),
        "{}",
        mail.text
    );
    let (_, standing) = app.get("/me/standing", Some(&cy_t.access)).await;
    let law = standing["domains"].as_array().unwrap().iter().find(|d| d["domain"] == "law").unwrap().clone();
    assert_eq!(law["tier"], "standard", "{standing}");
    assert_eq!(standing["history"][0]["decision_note"], "The gold answers were wrong.");
    let body =
        ingest(&app, &w.finance, vec![done_now(&app, signalled(cy, standard, "law-restored", Some(90), Some(100)))])
            .await;
    assert_eq!(body["created"], 1, "{body}");
    let (_, decisions) = app.get("/me/decisions", Some(&cy_t.access)).await;
    let subjects: Vec<&str> =
        decisions["items"].as_array().unwrap().iter().map(|d| d["subject_type"].as_str().unwrap()).collect();
    assert!(subjects.contains(&"standing_move") && subjects.contains(&"standing_move_appeal"), "{subjects:?}");
}

async fn too_few_items_make_no_move(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut w = world(&app, 1).await;
    let (dee, mut dee_t) = w.contributors[0].clone();
    let standard = gated_project(&app, &w.admin, "Law ranking", "law", "standard", json!([])).await;
    // 19 gold items all wrong, 19 in disagreement: one short of the confidence floor.
    ingest(&app, &w.finance, batch(dee, standard, "few", 19, 0, 0)).await;
    nightly(&app, &mut w).await;
    app.renew(&mut dee_t, "worker0@example.com").await;
    let (_, standing) = app.get("/me/standing", Some(&dee_t.access)).await;
    let law = &standing["domains"][0];
    assert_eq!(law["tier"], "standard", "{standing}");
    assert_eq!(law["figures"]["gold_count"], 19);
    assert_eq!(law["gold_accuracy_percent"], 0);
    assert_eq!(law["enough_items"], false);
    assert_eq!(standing["history"], json!([]));
    let body = ingest(&app, &w.finance, vec![signalled(dee, standard, "still-open", None, None)]).await;
    assert_eq!(body["created"], 1, "{body}");
}

async fn signals_out_of_range_or_undeclared_are_refused_at_ingest(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let w = world(&app, 1).await;
    let ed = w.contributors[0].0;
    let reporting = gated_project(&app, &w.admin, "Law ranking", "law", "standard", json!([])).await;
    let (status, body) = app
        .post(
            "/work-records",
            Some(&w.finance.access),
            json!({"records": [
                signalled(ed, reporting, "ok-1", Some(100), Some(0)),
                signalled(ed, reporting, "bad-1", Some(101), None),
                signalled(ed, reporting, "bad-2", None, Some(-1)),
            ]}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["code"], "validation_failed");
    let fields: Vec<(&str, &str)> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["field"].as_str().unwrap(), e["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        fields,
        [("records[1].consensus_agreement_percent", "range"), ("records[2].gold_score_percent", "range")]
    );

    // The open project type (World's) reports no signals.
    let (status, body) = app
        .post(
            "/work-records",
            Some(&w.finance.access),
            json!({"records": [signalled(ed, w.open_project, "x-1", None, Some(100))]}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errors"][0]["field"], "records[0].gold_score_percent");
    assert_eq!(body["errors"][0]["code"], "not_reported");
    // A fraction is not a whole percent.
    let mut fraction = signalled(ed, reporting, "f-1", None, None);
    fraction["gold_score_percent"] = json!(0.5);
    let (status, _) = app.post("/work-records", Some(&w.finance.access), json!({"records": [fraction]})).await;
    assert_eq!(status, 400);
    // Nothing was stored; the valid record goes in on its own.
    let (_, queue) = app.get("/review/work-records", Some(&w.reviewer_a.access)).await;
    assert_eq!(queue["items"], json!([]), "{queue}");
    let body = ingest(&app, &w.finance, vec![signalled(ed, reporting, "ok-1", Some(100), Some(0))]).await;
    assert_eq!(body["created"], 1);
    let (_, queue) = app.get("/review/work-records", Some(&w.reviewer_a.access)).await;
    assert_eq!(queue["items"][0]["gold_score_percent"], 0, "{queue}");
    assert_eq!(queue["items"][0]["consensus_agreement_percent"], 100, "{queue}");

    // The OpenAPI document describes the signals and the project type's declarations.
    let (_, doc) = app.get("/openapi.json", None).await;
    let item = &doc["components"]["schemas"]["IngestItem"]["properties"];
    assert_eq!(item["gold_score_percent"]["maximum"], 100, "{item}");
    assert_eq!(item["consensus_agreement_percent"]["minimum"], 0, "{item}");
    assert!(doc["components"]["schemas"]["CreateProjectType"]["properties"]["reports_gold"].is_object());
    assert!(doc["paths"]["/api/v1/me/standing"]["get"].is_object());
}

async fn my_standing_explains_the_next_threshold(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut w = world(&app, 1).await;
    let (fay, mut fay_t) = w.contributors[0].clone();
    let law = json!([{"domain": "law", "tier": "generalist"}]);
    let standard = gated_project(&app, &w.admin, "Law ranking", "law", "standard", law).await;
    qualify_in_law(&app, &w.admin, &fay_t).await;
    // 8 gold items right and 20 items at 90 % agreement: gold lacks 12 items.
    let mut records: Vec<Value> =
        (0..8).map(|i| signalled(fay, standard, &format!("g-{i}"), Some(90), Some(100))).collect();
    records.extend((0..12).map(|i| signalled(fay, standard, &format!("a-{i}"), Some(90), None)));
    ingest(&app, &w.finance, records).await;
    nightly(&app, &mut w).await;
    app.renew(&mut fay_t, "worker0@example.com").await;
    let (_, standing) = app.get("/me/standing", Some(&fay_t.access)).await;
    let law = &standing["domains"][0];
    assert_eq!(law["tier"], "standard");
    assert_eq!(law["qualified"], true);
    assert_eq!(
        (law["figures"]["gold_count"].as_i64(), law["figures"]["agreement_count"].as_i64()),
        (Some(8), Some(20))
    );
    assert_eq!(law["figures"]["decided_count"], 20);
    assert_eq!(law["next_steps"][0], "12 more gold items answered correctly to reach 90 % gold accuracy on at least 20 items, the bar for advanced work.");
    assert_eq!(standing["thresholds"]["min_items"], 20);
    assert_eq!(standing["thresholds"]["promote_gold_percent"], 90);
    assert_eq!(standing["thresholds"]["window_days"], 30);
    assert_eq!(standing["account"]["level"], "good");
    assert_eq!(standing["history"], json!([]));
}

async fn reviewer_accuracy_shows_overturns_and_gold_agreement(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let w = world(&app, 1).await;
    let (gus, gus_t) = w.contributors[0].clone();
    let project = gated_project(&app, &w.admin, "Law ranking", "law", "standard", json!([])).await;
    let body = ingest(
        &app,
        &w.finance,
        vec![
            signalled(gus, project, "r-1", None, Some(100)),
            signalled(gus, project, "r-2", None, Some(100)),
            signalled(gus, project, "r-3", None, Some(0)),
            signalled(gus, project, "r-4", None, None),
        ],
    )
    .await;
    let ids: Vec<i64> = body["items"].as_array().unwrap().iter().map(|i| i["id"].as_i64().unwrap()).collect();
    // Reviewer A: rejects a right gold item (disagrees), approves a right one (agrees),
    // rejects a wrong one (agrees), approves a non-gold item.
    for (id, verdict) in [(ids[0], "reject"), (ids[1], "approve"), (ids[2], "reject"), (ids[3], "approve")] {
        let (status, _) =
            app.post(&format!("/review/work-records/{id}/claim"), Some(&w.reviewer_a.access), json!({})).await;
        assert_eq!(status, 200);
        let (status, body) = app
            .post(
                &format!("/review/work-records/{id}/decision"),
                Some(&w.reviewer_a.access),
                json!({"decision": verdict, "reason_code": "checked", "note": "see guidelines"}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    // Gus appeals the first rejection; reviewer B overturns it.
    let (status, appeal) = app
        .post(&format!("/me/work-records/{}/appeal", ids[0]), Some(&gus_t.access), json!({"message": "It was right."}))
        .await;
    assert_eq!(status, 201, "{appeal}");
    let appeal_id = appeal["id"].as_i64().unwrap();
    let (status, _) =
        app.post(&format!("/review/appeals/{appeal_id}/claim"), Some(&w.reviewer_b.access), json!({})).await;
    assert_eq!(status, 200);
    let (status, body) = app
        .post(
            &format!("/review/appeals/{appeal_id}/decision"),
            Some(&w.reviewer_b.access),
            json!({"decision": "overturn", "reason_code": "answer_correct", "note": "Matches the gold answer."}),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    let (status, view) = app.get("/admin/reviewer-accuracy", Some(&w.admin.access)).await;
    assert_eq!(status, 200, "{view}");
    let a = view["items"].as_array().unwrap().iter().find(|r| r["email"] == "rev-a@gatehouse.test").cloned().unwrap();
    assert_eq!(a["decided"], 4, "{a}");
    assert_eq!(a["appeals_decided"], 1);
    assert_eq!(a["appeals_overturned"], 1);
    assert_eq!(a["overturn_rate_percent"], 100);
    assert_eq!(a["gold_decided"], 3);
    assert_eq!(a["gold_agreed"], 2);
    assert_eq!(a["gold_agreement_percent"], 66);
    assert!(
        view["items"].as_array().unwrap().iter().all(|r| r["email"] != "rev-b@gatehouse.test"),
        "B decided no record"
    );
    let (status, _) = app.get("/admin/reviewer-accuracy", Some(&w.reviewer_a.access)).await;
    assert_eq!(status, 403, "admins only");
}

async fn with_human_confirmation_moves_wait_in_the_reviewers_queue(backend: Backend) {
    let options =
        Options { vars: vec![("GATEHOUSE_STANDING_HUMAN_CONFIRMATION", "true".into())], ..Default::default() };
    let app = TestApp::spawn_with(backend, options).await;
    let mut w: World = world(&app, 1).await;
    let (hal, mut hal_t) = w.contributors[0].clone();
    let standard = gated_project(&app, &w.admin, "Law ranking", "law", "standard", json!([])).await;
    ingest(&app, &w.finance, batch(hal, standard, "low", 20, 30, 90)).await;
    nightly(&app, &mut w).await;

    // Proposed, not in effect: standard work is still accepted.
    let (_, queue) = app.get("/review/standing-moves", Some(&w.reviewer_a.access)).await;
    let proposal = &queue["items"][0];
    assert_eq!(proposal["status"], "proposed", "{queue}");
    assert_eq!(proposal["reason_code"], "low_consensus_agreement");
    let id = proposal["id"].as_i64().unwrap();
    let body = ingest(&app, &w.finance, vec![signalled(hal, standard, "still-standard", Some(90), Some(100))]).await;
    assert_eq!(body["created"], 1, "{body}");
    // Another run does not propose twice.
    run_jobs(&app).await;
    let (_, queue) = app.get("/review/standing-moves", Some(&w.reviewer_a.access)).await;
    assert_eq!(queue["items"].as_array().unwrap().len(), 1, "{queue}");

    let (status, _) =
        app.post(&format!("/review/standing-moves/{id}/claim"), Some(&w.reviewer_a.access), json!({})).await;
    assert_eq!(status, 200);
    let (status, body) = app
        .post(
            &format!("/review/standing-moves/{id}/decision"),
            Some(&w.reviewer_a.access),
            json!({"decision": "uphold", "reason_code": "x", "note": "n"}),
        )
        .await;
    assert_eq!(status, 422, "a proposal is confirmed or dismissed: {body}");

    // The console's queue confirms it, through the same service call.
    let mut console = Session::new(&app);
    assert_eq!(console.sign_in("rev-a@gatehouse.test").await.status, 303);
    let dashboard = console.get("/console").await;
    assert!(dashboard.body.contains("Standing moves"), "{}", dashboard.body);
    let confirmed = claim_and_decide(
        &mut console,
        "standing-moves",
        id,
        &[("decision", "confirm"), ("reason_code", "figures_checked")],
    )
    .await;
    assert_eq!(confirmed.status, 303, "{}", confirmed.body);
    let (_, moves) = app.get(&format!("/contributors/{hal}/standing"), Some(&w.reviewer_a.access)).await;
    let body = &moves["history"][0];
    assert_eq!(body["status"], "applied", "{moves}");
    assert_eq!(body["reviewed_by"], app.user_id(&w.reviewer_a).await);
    // Standing on the contributor's console page.
    let page = console.get(&format!("/console/contributors/{hal}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("id=\"standing-law\"") && page.body.contains("<td>entry</td>"), "{}", page.body);
    assert!(page.body.contains("low consensus agreement"), "{}", page.body);
    app.renew(&mut hal_t, "worker0@example.com").await;
    let (_, standing) = app.get("/me/standing", Some(&hal_t.access)).await;
    assert_eq!(standing["domains"][0]["tier"], "entry", "{standing}");
    app.smtp.inbox.wait_for_subject("worker0@example.com", "moved back to entry-level work").await;

    // The confirming reviewer may not decide the appeal; another one may.
    let (status, _) = app
        .post(&format!("/me/standing/moves/{id}/appeal"), Some(&hal_t.access), json!({"message": "Please look again."}))
        .await;
    assert_eq!(status, 201);
    let (status, _) =
        app.post(&format!("/review/standing-moves/{id}/claim"), Some(&w.reviewer_a.access), json!({})).await;
    assert_eq!(status, 403);
    let (status, _) =
        app.post(&format!("/review/standing-moves/{id}/claim"), Some(&w.reviewer_b.access), json!({})).await;
    assert_eq!(status, 200);
    let (status, body) = app
        .post(
            &format!("/review/standing-moves/{id}/decision"),
            Some(&w.reviewer_b.access),
            json!({"decision": "uphold", "reason_code": "figures_checked", "note": "The agreement figures hold."}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "upheld");
    let (_, standing) = app.get("/me/standing", Some(&hal_t.access)).await;
    assert_eq!(standing["domains"][0]["tier"], "entry");
}

async fn the_account_ladder_moves_domains_back_before_suspending(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut w = world(&app, 1).await;
    let (ivy, mut ivy_t) = w.contributors[0].clone();
    let standard = gated_project(&app, &w.admin, "Law ranking", "law", "standard", json!([])).await;
    // 20 records approved automatically: a law standing at `standard`, no move.
    ingest(&app, &w.finance, batch(ivy, standard, "ok", 20, 75, 80)).await;
    nightly(&app, &mut w).await;
    let body = ingest(
        &app,
        &w.finance,
        (0..10).map(|i| done_now(&app, signalled(ivy, standard, &format!("bad-{i}"), None, None))).collect(),
    )
    .await;
    let ids: Vec<i64> = body["items"].as_array().unwrap().iter().map(|i| i["id"].as_i64().unwrap()).collect();
    let reject = |id: i64| {
        let (app, token) = (&app, w.reviewer_a.access.clone());
        async move {
            let (status, _) = app.post(&format!("/review/work-records/{id}/claim"), Some(&token), json!({})).await;
            assert_eq!(status, 200);
            let (status, body) = app
                .post(
                    &format!("/review/work-records/{id}/decision"),
                    Some(&token),
                    json!({"decision": "reject", "reason_code": "guidelines_not_followed", "note": "see the rubric"}),
                )
                .await;
            assert_eq!(status, 200, "{body}");
        }
    };
    // 9 of 29 decided rejected (31 %): the suspension rung, but the law standing moves
    // back to entry level first and the account stays open.
    for id in &ids[..9] {
        reject(*id).await;
    }
    app.renew(&mut ivy_t, "worker0@example.com").await;
    let (_, me) = app.get("/me", Some(&ivy_t.access)).await;
    assert_eq!(me["status"], "authorization_verified", "{me}");
    let (_, standing) = app.get("/me/standing", Some(&ivy_t.access)).await;
    assert_eq!(standing["domains"][0]["tier"], "entry", "{standing}");
    assert_eq!(standing["history"][0]["reason_code"], "high_rejection_share");
    assert_eq!(standing["account"]["level"], "retraining", "{standing}");
    app.smtp.inbox.wait_for_subject("worker0@example.com", "moved back to entry-level work").await;
    // The next rejection (10 of 30): nothing is left above entry level, so the account
    // is suspended.
    reject(ids[9]).await;
    let (_, me) = app.get("/me", Some(&ivy_t.access)).await;
    assert_eq!(me["status"], "suspended", "{me}");
}
