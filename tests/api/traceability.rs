//! Issue 19: every cent traceable from a task to the bank line that paid it (and back),
//! taxed in the year the rail paid it, and settings changed at run time.

use serde_json::{json, Value};

use crate::both_backends;
use crate::payouts::{ach, add_method, build, download, fund, released_work, sign_w9};
use crate::support::PASSWORD;
use crate::support::{Backend, TestApp, Tokens};
use crate::work::{assert_ledger_balanced, run_jobs, world, World};

both_backends!(
    a_task_is_followed_to_its_bank_line_and_a_return_reopens_exactly_its_tasks,
    a_payment_is_taxed_in_the_year_the_rail_paid_it,
    settings_are_validated_audited_and_reach_pending_holds,
);

fn entry<'a>(earnings: &'a Value, task: &str) -> &'a Value {
    earnings["timeline"].as_array().unwrap().iter().find(|e| e["task_ref"] == task).unwrap()
}

async fn approve_and_export(app: &TestApp, finance: &Tokens, checker: &Tokens, key: &str) -> (i64, Value, String) {
    let (status, batch) = build(app, finance, key, json!({})).await;
    assert_eq!(status, 201, "{batch}");
    let batch_id = batch["id"].as_i64().unwrap();
    let (status, body) =
        app.post(&format!("/payout-batches/{batch_id}/approve"), Some(&checker.access), json!({})).await;
    assert_eq!(status, 200, "{body}");
    let d = download(app, finance, &format!("/payout-batches/{batch_id}/export?format=nacha")).await;
    assert_eq!(d.status, 200, "{}", d.body);
    (batch_id, batch, d.sha.unwrap())
}

async fn settle(app: &TestApp, finance: &Tokens, batch_id: i64, lines: Value) -> (u16, Value) {
    app.post(&format!("/payout-batches/{batch_id}/settlement"), Some(&finance.access), json!({ "items": lines })).await
}

async fn a_task_is_followed_to_its_bank_line_and_a_return_reopens_exactly_its_tasks(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut w: World = world(&app, 1).await;
    let checker = app.staff(&w.admin, "fin-b@gatehouse.test", &["finance"]).await;
    released_work(&app, &w, 0, "task-a").await; // $25.00 each
    released_work(&app, &w, 0, "task-b").await;
    app.clock.advance(chrono::Duration::days(7) + chrono::Duration::minutes(1));
    run_jobs(&app).await;
    app.renew(&mut w.contributors[0].1, "worker0@example.com").await;
    app.renew(&mut w.finance, "fin@gatehouse.test").await;
    let mut checker = checker;
    app.renew(&mut checker, "fin-b@gatehouse.test").await;
    let me = w.contributors[0].1.clone();
    sign_w9(&app, &me, false).await;
    add_method(&app, &me, ach("000111222333")).await;

    // Before any batch: approved and available, nothing of the payout stages yet.
    let (_, earnings) = app.get("/me/earnings", Some(&me.access)).await;
    let a = entry(&earnings, "task-a");
    assert!(a["approved_at"].is_string() && a["available_on"].is_string(), "{a}");
    assert_eq!((a["payment_status"].as_str(), a["in_batch_at"].as_str()), (Some("not_paid"), None), "{a}");

    let (batch_id, batch, sha) = approve_and_export(&app, &w.finance, &checker, "t-1").await;
    let item = batch["items"][0]["id"].as_i64().unwrap();
    let (status, report) =
        settle(&app, &w.finance, batch_id, json!([{"item_id": item, "status": "paid", "rail_reference": "TRACE-77"}]))
            .await;
    assert_eq!((status, report["applied"].as_i64()), (200, Some(1)), "{report}");

    // Every stage of the timeline is filled, per task.
    let (_, earnings) = app.get("/me/earnings", Some(&me.access)).await;
    for task in ["task-a", "task-b"] {
        let e = entry(&earnings, task);
        for field in [
            "submitted_at",
            "review_due_by",
            "approved_at",
            "available_on",
            "in_batch_at",
            "sent_at",
            "settled_at",
            "paid_on",
        ] {
            assert!(e[field].is_string(), "{task}: {field} missing in {e}");
        }
        assert_eq!(e["rail_reference"], "TRACE-77", "{e}");
        assert_eq!((e["payout_item_id"].as_i64(), e["batch_id"].as_i64()), (Some(item), Some(batch_id)));
        assert_eq!((e["payment_status"].as_str(), e["paid_cents"].as_i64()), (Some("paid"), Some(2500)));
    }

    // Finance, from the task reference: item, batch, export file (format, part, hash), settlement.
    let (status, trace) = app.get("/payouts/trace?task_ref=task-a", Some(&w.finance.access)).await;
    assert_eq!(status, 200, "{trace}");
    let portion = &trace["portions"][0];
    assert_eq!(portion["cents"], 2500, "{trace}");
    let link = &portion["item"];
    assert_eq!((link["item_id"].as_i64(), link["batch_id"].as_i64()), (Some(item), Some(batch_id)));
    assert_eq!((link["status"].as_str(), link["rail_reference"].as_str()), (Some("paid"), Some("TRACE-77")));
    assert_eq!(link["files"][0]["format"], "nacha");
    assert_eq!(link["files"][0]["part"], 1);
    assert_eq!(link["files"][0]["sha256"].as_str(), Some(sha.as_str()));
    assert!(link["paid_on"].is_string() && link["sent_at"].is_string(), "{link}");
    let (status, _) = app.get("/payouts/trace?task_ref=task-a", Some(&me.access)).await;
    assert_eq!(status, 403, "finance only");
    let (status, _) = app.get("/payouts/trace?task_ref=nope", Some(&w.finance.access)).await;
    assert_eq!(status, 404);

    // From the bank line (the item) to its tasks, a page at a time.
    let (_, page) = app.get(&format!("/payout-items/{item}/tasks?limit=1"), Some(&w.finance.access)).await;
    assert_eq!(page["lines"][0]["task_ref"], "task-a", "{page}");
    assert_eq!((page["lines"][0]["cents"].as_i64(), page["lines"][0]["partial"].as_bool()), (Some(2500), Some(false)));
    let cursor = page["next_cursor"].as_i64().expect("a second page");
    let (_, page) =
        app.get(&format!("/payout-items/{item}/tasks?limit=1&cursor={cursor}"), Some(&w.finance.access)).await;
    assert_eq!(page["lines"][0]["task_ref"], "task-b", "{page}");
    assert!(page["next_cursor"].is_null(), "{page}");

    // A third task, then the bank returns the first payment (R01: paid again as is).
    app.renew(&mut w.reviewer_a, "rev-a@gatehouse.test").await;
    released_work(&app, &w, 0, "task-c").await;
    app.clock.advance(chrono::Duration::days(7) + chrono::Duration::minutes(1));
    run_jobs(&app).await;
    app.renew(&mut w.finance, "fin@gatehouse.test").await;
    app.renew(&mut checker, "fin-b@gatehouse.test").await;
    let me = {
        app.renew(&mut w.contributors[0].1, "worker0@example.com").await;
        w.contributors[0].1.clone()
    };
    let (status, report) = settle(
        &app,
        &w.finance,
        batch_id,
        json!([{"item_id": item, "status": "returned", "return_code": "R01", "reason": "insufficient funds"}]),
    )
    .await;
    assert_eq!((status, report["applied"].as_i64()), (200, Some(1)), "{report}");
    let (_, earnings) = app.get("/me/earnings", Some(&me.access)).await;
    for task in ["task-a", "task-b"] {
        let e = entry(&earnings, task);
        assert_eq!(e["payment_status"], "not_paid", "{task} is re-opened: {e}");
        assert_eq!(e["reopened_by"], json!([item]), "{e}");
        assert!(e["rail_reference"].is_null() && e["settled_at"].is_null(), "{e}");
    }
    let c = entry(&earnings, "task-c");
    assert_eq!((c["payment_status"].as_str(), c["reopened_by"].clone()), (Some("not_paid"), json!([])), "{c}");

    // The next batch pays the re-opened tasks and the new one; the chain reads from both ends.
    let (batch2, batch, _) = approve_and_export(&app, &w.finance, &checker, "t-2").await;
    let item2 = batch["items"][0]["id"].as_i64().unwrap();
    assert_eq!(batch["items"][0]["gross_cents"], 7500);
    settle(&app, &w.finance, batch2, json!([{"item_id": item2, "status": "paid", "rail_reference": "TRACE-78"}])).await;
    let (_, earnings) = app.get("/me/earnings", Some(&me.access)).await;
    for task in ["task-a", "task-b", "task-c"] {
        let e = entry(&earnings, task);
        assert_eq!((e["payout_item_id"].as_i64(), e["rail_reference"].as_str()), (Some(item2), Some("TRACE-78")));
        assert_eq!(e["payment_status"], "paid");
    }
    assert_eq!(entry(&earnings, "task-a")["reopened_by"], json!([item]));
    let (_, trace) = app.get("/payouts/trace?task_ref=task-b", Some(&w.finance.access)).await;
    assert_eq!(trace["portions"][0]["item"]["item_id"], item2, "{trace}");
    assert_eq!(trace["portions"][0]["reopened_by"], json!([item]));
    let (_, page) = app.get(&format!("/payout-items/{item2}/tasks"), Some(&w.finance.access)).await;
    let tasks: Vec<&str> = page["lines"].as_array().unwrap().iter().map(|l| l["task_ref"].as_str().unwrap()).collect();
    assert_eq!(tasks, ["task-c", "task-a", "task-b"], "{page}");
    // The returned item still lists the tasks it carried.
    let (_, page) = app.get(&format!("/payout-items/{item}/tasks"), Some(&w.finance.access)).await;
    assert_eq!(page["item"]["status"], "returned");
    assert_eq!(page["lines"].as_array().unwrap().len(), 2, "{page}");
    assert_ledger_balanced(&app).await;
}

/// Moves the test clock to `target` (UTC).
fn set_clock(app: &TestApp, target: chrono::NaiveDateTime) {
    let now = gatehouse::clock::Clock::now(&*app.clock);
    app.clock.advance(target - now);
}

fn utc(s: &str) -> chrono::NaiveDateTime {
    chrono::DateTime::parse_from_rfc3339(s).unwrap().naive_utc()
}

async fn a_payment_is_taxed_in_the_year_the_rail_paid_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut w = world(&app, 3).await;
    app.staff(&w.admin, "fin-b@gatehouse.test", &["finance"]).await;
    let ids: Vec<i64> = w.contributors.iter().map(|(id, _)| *id).collect();
    // Funded by bonuses above the default maker-checker threshold: raised first.
    let (status, body) = app
        .put(
            "/admin/settings",
            Some(&w.admin.access),
            json!({"settings": {"adjustment_approval_threshold_cents": 10_000_000}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    for (i, (_, t)) in w.contributors.iter().enumerate() {
        sign_w9(&app, t, false).await;
        add_method(&app, t, ach(&format!("00044455566{i}"))).await;
    }
    for id in &ids {
        fund(&app, &w.finance, *id, 300_000).await; // $3,000: above the 2026 threshold
    }
    // Built, approved and exported on Wednesday December 30, 2026.
    set_clock(&app, utc("2026-12-30T15:00:00Z"));
    w.finance = app.login("fin@gatehouse.test", PASSWORD).await;
    let checker = app.login("fin-b@gatehouse.test", PASSWORD).await;
    w.admin = app.login("admin@gatehouse.test", PASSWORD).await;
    let (batch_id, batch, _) = approve_and_export(&app, &w.finance, &checker, "y-1").await;
    let item_of = |id: i64| {
        batch["items"].as_array().unwrap().iter().find(|i| i["contributor_id"] == id).unwrap()["id"].as_i64().unwrap()
    };
    let (a, b, c) = (item_of(ids[0]), item_of(ids[1]), item_of(ids[2]));

    // Sent in 2026, not settled: the year-end report lists them.
    let (status, report) = app.get("/tax/1099-nec/2026", Some(&w.finance.access)).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["sent_not_settled"].as_array().unwrap().len(), 3, "{report}");

    // Finance imports the results on Monday January 4, 2027.
    set_clock(&app, utc("2027-01-04T14:00:00Z"));
    w.finance = app.login("fin@gatehouse.test", PASSWORD).await;
    w.admin = app.login("admin@gatehouse.test", PASSWORD).await;
    // A payment date before the export or in the future is refused, field by field.
    let (status, refused) = settle(
        &app,
        &w.finance,
        batch_id,
        json!([
            {"item_id": a, "status": "paid", "paid_on": "2026-12-29"},
            {"item_id": b, "status": "paid", "paid_on": "2027-01-05T00:00:00Z"},
            {"item_id": c, "status": "paid", "paid_on": "yesterday"}
        ]),
    )
    .await;
    assert_eq!(status, 422, "{refused}");
    let fields: Vec<&str> =
        refused["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["items[0].paid_on", "items[1].paid_on", "items[2].paid_on"], "{refused}");

    let (status, report) = settle(
        &app,
        &w.finance,
        batch_id,
        json!([
            // No date: the ACH file's effective entry date, Thursday December 31, 2026.
            {"item_id": a, "status": "paid", "rail_reference": "T-A"},
            // 23:30 on December 31 in New York (the payer's time zone) is 2027 in UTC.
            {"item_id": b, "status": "paid", "rail_reference": "T-B", "paid_on": "2027-01-01T04:30:00Z"},
            // 00:30 on January 1 in New York.
            {"item_id": c, "status": "paid", "rail_reference": "T-C", "paid_on": "2027-01-01T05:30:00Z"}
        ]),
    )
    .await;
    assert_eq!((status, report["applied"].as_i64()), (200, Some(3)), "{report}");

    let (_, y2026) = app.get("/tax/1099-nec/2026", Some(&w.finance.access)).await;
    let payees: Vec<i64> = y2026["payees"].as_array().unwrap().iter().map(|p| p["user_id"].as_i64().unwrap()).collect();
    assert_eq!(payees, [ids[0], ids[1]], "{y2026}");
    assert_eq!(y2026["totals"]["reportable_cents"], 600_000);
    assert!(y2026["sent_not_settled"].as_array().unwrap().is_empty(), "{y2026}");
    let (_, y2027) = app.get("/tax/1099-nec/2027", Some(&w.finance.access)).await;
    let payees: Vec<i64> = y2027["payees"].as_array().unwrap().iter().map(|p| p["user_id"].as_i64().unwrap()).collect();
    assert_eq!(payees, [ids[2]], "{y2027}");

    // The contributor's payout history shows the payment date, not the import's.
    let worker = app.login("worker1@example.com", PASSWORD).await;
    let (_, mine) = app.get("/me/payouts", Some(&worker.access)).await;
    assert_eq!(mine["items"][0]["paid_on"], "2026-12-31", "{mine}");
    let worker = app.login("worker0@example.com", PASSWORD).await;
    let (_, mine) = app.get("/me/payouts", Some(&worker.access)).await;
    assert_eq!(mine["items"][0]["paid_on"], "2026-12-31", "the effective entry date: {mine}");
}

async fn settings_are_validated_audited_and_reach_pending_holds(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut w = world(&app, 1).await;
    let (status, all) = app.get("/admin/settings", Some(&w.admin.access)).await;
    assert_eq!(status, 200, "{all}");
    let hold = all["settings"].as_array().unwrap().iter().find(|s| s["key"] == "payout_method_hold_hours").unwrap();
    assert_eq!((hold["value"].as_i64(), hold["min"].as_i64(), hold["max"].as_i64()), (Some(72), Some(0), Some(720)));
    assert_eq!(hold["applies_to_pending"], "always");
    let (status, _) = app.get("/admin/settings", Some(&w.finance.access)).await;
    assert_eq!(status, 403, "admins only");

    // The ranges of start-up, one error per key; nothing is saved when one is wrong.
    let (status, refused) = app
        .put(
            "/admin/settings",
            Some(&w.admin.access),
            json!({"settings": {"hold_days": 91, "payer_time_zone": "Mars/Olympus", "no_such": 1, "review_window_days": 3}}),
        )
        .await;
    assert_eq!(status, 422, "{refused}");
    let mut fields: Vec<&str> =
        refused["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    fields.sort();
    assert_eq!(fields, ["hold_days", "no_such", "payer_time_zone"], "{refused}");
    let (status, refused) =
        app.put("/admin/settings", Some(&w.admin.access), json!({"settings": {"quality_warning_percent": 35}})).await;
    assert_eq!((status, refused["errors"][0]["field"].as_str()), (422, Some("quality_suspension_percent")));

    // A contributor changes payout method: 72 hours of hold.
    let me = &w.contributors[0].1.clone();
    sign_w9(&app, me, false).await;
    add_method(&app, me, ach("000111222333")).await;
    add_method(&app, me, ach("000111222444")).await;
    let hold_of = |readiness: &Value| {
        let all = readiness["requirements"].as_array().unwrap_or_else(|| panic!("{readiness}"));
        all.iter().find(|r| r["code"] == "payout_method_change_hold").cloned().unwrap_or_else(|| panic!("{readiness}"))
    };
    let (_, readiness) = app.get("/me/readiness", Some(&me.access)).await;
    let before = hold_of(&readiness);
    assert_eq!(before["status"], "pending_review", "{readiness}");

    // Shortened to 2 hours: applies to the hold not ended yet.
    let (status, saved) =
        app.put("/admin/settings", Some(&w.admin.access), json!({"settings": {"payout_method_hold_hours": 2}})).await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["redated"]["method_holds"], 1, "{saved}");
    let (_, readiness) = app.get("/me/readiness", Some(&me.access)).await;
    let after = hold_of(&readiness);
    assert_ne!(after["due_by"], before["due_by"], "{readiness}");
    app.clock.advance(chrono::Duration::hours(2) + chrono::Duration::minutes(1));
    app.renew(&mut w.contributors[0].1, "worker0@example.com").await;
    app.renew(&mut w.admin, "admin@gatehouse.test").await;
    let (_, readiness) = app.get("/me/readiness", Some(&w.contributors[0].1.access)).await;
    assert_eq!(hold_of(&readiness)["status"], "satisfied", "{readiness}");

    // Audited with before and after.
    let (_, audit) = app.get("/admin/audit?action=settings.updated", Some(&w.admin.access)).await;
    let record = &audit["items"][0];
    assert_eq!(record["summary"]["before"]["payout_method_hold_hours"], 72, "{audit}");
    assert_eq!(record["summary"]["after"]["payout_method_hold_hours"], 2);
    let (_, all) = app.get("/admin/settings", Some(&w.admin.access)).await;
    let hold = all["settings"].as_array().unwrap().iter().find(|s| s["key"] == "payout_method_hold_hours").unwrap();
    assert_eq!((hold["value"].as_i64(), hold["seed"].as_i64()), (Some(2), Some(72)), "{hold}");
}
