//! The ledger through the HTTP API: maker-checker adjustments, bonuses, clawbacks, the
//! finance view, and the append-only, zero-sum invariants.

use actix_web::web;
use serde_json::json;

use crate::both_backends;
use crate::support::{Backend, TestApp};
use crate::work::{assert_ledger_balanced, world};

both_backends!(
    large_adjustments_need_a_second_finance_user,
    ledger_entries_are_append_only,
    a_retried_adjustment_posts_once,
    split_bonuses_past_the_threshold_wait_for_a_second_finance_user,
);

/// Issue 15: one finance user posted ten $500 bonuses to one contributor, each posted
/// with no second approver. Now one maker's postings for one contributor add up over
/// the rolling window (24 h): past the $500 threshold each further one waits.
async fn split_bonuses_past_the_threshold_wait_for_a_second_finance_user(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let w = world(&app, 2).await;
    let (dee, dee_tokens) = (w.contributors[0].0, &w.contributors[0].1);
    let checker = app.staff(&w.admin, "fin-b@gatehouse.test", &["finance"]).await;
    let bonus =
        |to: i64| json!({"contributor_id": to, "kind": "bonus", "amount_cents": 50_000, "reason": "weekly bonus"});
    let mut statuses = Vec::new();
    let mut pending = Vec::new();
    for _ in 0..10 {
        let (status, adj) = app.adjust(&w.finance.access, bonus(dee)).await;
        assert_eq!(status, 201, "{adj}");
        statuses.push(adj["status"].as_str().unwrap().to_string());
        if adj["status"] == "pending_approval" {
            pending.push(adj["id"].as_i64().unwrap());
        }
    }
    assert_eq!(statuses[0], "posted");
    assert!(statuses[1..].iter().all(|s| s == "pending_approval"), "{statuses:?}");
    let (_, earnings) = app.get("/me/earnings", Some(&dee_tokens.access)).await;
    assert_eq!(earnings["balances"]["available"], 50_000, "only the first is posted: {earnings}");
    // Small amounts do not slip through either once the window holds $500.
    let (_, small) = app
        .adjust(
            &w.finance.access,
            json!({"contributor_id": dee, "kind": "adjustment", "amount_cents": -1, "reason": "rounding"}),
        )
        .await;
    assert_eq!(small["status"], "pending_approval", "{small}");
    // Another contributor, or another maker, starts from zero.
    let other = w.contributors[1].0;
    assert_eq!(app.adjust(&w.finance.access, bonus(other)).await.1["status"], "posted");
    assert_eq!(app.adjust(&checker.access, bonus(dee)).await.1["status"], "posted");
    // A second finance user approves a waiting one; the maker cannot.
    let id = pending[0];
    let (status, _) = app.post(&format!("/ledger/adjustments/{id}/approve"), Some(&w.finance.access), json!({})).await;
    assert_eq!(status, 403);
    let (status, body) = app.post(&format!("/ledger/adjustments/{id}/approve"), Some(&checker.access), json!({})).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("posted")), "{body}");
    // After the window, the maker's next posting stands alone again.
    app.clock.advance(chrono::Duration::hours(25));
    let finance = app.login("fin@gatehouse.test", crate::support::PASSWORD).await;
    assert_eq!(app.adjust(&finance.access, bonus(dee)).await.1["status"], "posted");
    assert_ledger_balanced(&app).await;
}

async fn a_retried_adjustment_posts_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let w = world(&app, 1).await;
    let (dee, dee_tokens) = (w.contributors[0].0, &w.contributors[0].1);
    let other = app.staff(&w.admin, "fin-b@gatehouse.test", &["finance"]).await;
    let bonus = json!({"contributor_id": dee, "kind": "bonus", "amount_cents": 4_000, "reason": "referral"});

    let (status, body) = app.post("/ledger/adjustments", Some(&w.finance.access), bonus.clone()).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("idempotency_key_required")), "{body}");
    let (status, first) = app.post_with_key("/ledger/adjustments", &w.finance.access, "bonus-7", bonus.clone()).await;
    assert_eq!(status, 201, "{first}");
    // The client timed out and sends the same request again: same adjustment, paid once.
    let (status, again) = app.post_with_key("/ledger/adjustments", &w.finance.access, "bonus-7", bonus.clone()).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["id"], first["id"]);
    assert_eq!(again["transaction_id"], first["transaction_id"]);
    let mut changed = bonus.clone();
    changed["amount_cents"] = json!(40_000);
    let (status, body) = app.post_with_key("/ledger/adjustments", &w.finance.access, "bonus-7", changed).await;
    assert_eq!((status, body["errors"][0]["code"].as_str()), (422, Some("idempotency_key_reused")), "{body}");
    // Keys belong to the finance user who sends them.
    let (status, theirs) = app.post_with_key("/ledger/adjustments", &other.access, "bonus-7", bonus).await;
    assert_eq!(status, 201, "{theirs}");
    assert_ne!(theirs["id"], first["id"]);

    let (_, earnings) = app.get("/me/earnings", Some(&dee_tokens.access)).await;
    assert_eq!(earnings["balances"]["available"], 8_000, "two bonuses, not three: {earnings}");
    assert_ledger_balanced(&app).await;
}

async fn large_adjustments_need_a_second_finance_user(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let w = world(&app, 1).await;
    let (dee, dee_tokens) = (w.contributors[0].0, &w.contributors[0].1);
    let checker = app.staff(&w.admin, "fin-b@gatehouse.test", &["finance"]).await;

    let (status, adj) = app
        .adjust(&w.finance.access, json!({"contributor_id": dee, "kind": "adjustment", "amount_cents": 60_000, "reason": "missed payments for March"}),
        )
        .await;
    assert_eq!(status, 201, "{adj}");
    assert_eq!(adj["status"], "pending_approval");
    let id = adj["id"].as_i64().unwrap();
    let (_, earnings) = app.get("/me/earnings", Some(&dee_tokens.access)).await;
    assert_eq!(earnings["balances"]["available"], 0, "nothing is posted before approval");

    let (_, pending) = app.get("/ledger/adjustments?status=pending_approval", Some(&checker.access)).await;
    assert_eq!(pending["items"][0]["id"], id);
    let (status, _) = app.post(&format!("/ledger/adjustments/{id}/approve"), Some(&w.finance.access), json!({})).await;
    assert_eq!(status, 403, "the maker cannot approve");
    let (status, _) =
        app.post(&format!("/ledger/adjustments/{id}/approve"), Some(&w.reviewer_a.access), json!({})).await;
    assert_eq!(status, 403, "reviewers are not finance");
    let (status, posted) =
        app.post(&format!("/ledger/adjustments/{id}/approve"), Some(&checker.access), json!({})).await;
    assert_eq!(status, 200, "{posted}");
    assert_eq!(posted["status"], "posted");
    assert!(posted["transaction_id"].is_i64());
    let (status, body) = app.post(&format!("/ledger/adjustments/{id}/approve"), Some(&checker.access), json!({})).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("already_posted")));

    // At or below the threshold: posted at once (by a maker with nothing else posted
    // for this contributor in the window).
    let (status, bonus) = app
        .adjust(
            &checker.access,
            json!({"contributor_id": dee, "kind": "bonus", "amount_cents": 50_000, "reason": "quarterly bonus"}),
        )
        .await;
    assert_eq!(status, 201, "{bonus}");
    assert_eq!(bonus["status"], "posted");
    app.clock.advance(chrono::Duration::hours(25));
    let mut maker = w.finance.clone();
    app.renew(&mut maker, "fin@gatehouse.test").await;
    let (status, claw) = app
        .adjust(&maker.access, json!({"contributor_id": dee, "kind": "clawback", "amount_cents": 2_500, "reason": "duplicate task paid twice"}),
        )
        .await;
    assert_eq!((status, claw["status"].as_str()), (201, Some("posted")), "the window has passed: {claw}");
    let checker = app.login("fin-b@gatehouse.test", crate::support::PASSWORD).await;
    let (status, _) = app
        .adjust(
            &maker.access,
            json!({"contributor_id": dee, "kind": "bonus", "amount_cents": -5, "reason": "negative bonus"}),
        )
        .await;
    assert_eq!(status, 422);

    let (status, ledger) = app.get(&format!("/contributors/{dee}/ledger"), Some(&checker.access)).await;
    assert_eq!(status, 200, "{ledger}");
    assert_eq!(ledger["balances"]["available"], 60_000 + 50_000 - 2_500);
    let kinds: Vec<&str> =
        ledger["entries"].as_array().unwrap().iter().map(|e| e["transaction"]["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["clawback", "bonus", "adjustment"]);
    assert_eq!(ledger["entries"][0]["amount_cents"], -2_500);
    assert_eq!(ledger["entries"][0]["transaction"]["memo"], "duplicate task paid twice");
    let mut dee_tokens = dee_tokens.clone();
    app.renew(&mut dee_tokens, "worker0@example.com").await;
    let (status, _) = app.get(&format!("/contributors/{dee}/ledger"), Some(&dee_tokens.access)).await;
    assert_eq!(status, 403);
    let admin = app.login("admin@gatehouse.test", crate::support::PASSWORD).await;
    let (_, audit) = app.get("/admin/audit?action=ledger.posted", Some(&admin.access)).await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 3);
    assert_ledger_balanced(&app).await;
}

async fn ledger_entries_are_append_only(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let w = world(&app, 1).await;
    let (status, _) = app
        .adjust(
            &w.finance.access,
            json!({"contributor_id": w.contributors[0].0, "kind": "bonus", "amount_cents": 100, "reason": "welcome"}),
        )
        .await;
    assert_eq!(status, 201);
    let state = app.state.clone();
    let (update, delete, delete_tx) = web::block(move || {
        let mut conn = state.db.get().unwrap();
        let run = |c: &mut gatehouse::db::DbConn, sql: &str| diesel::RunQueryDsl::execute(diesel::sql_query(sql), c);
        (
            run(&mut conn, "UPDATE ledger_entries SET amount_cents = 1"),
            run(&mut conn, "DELETE FROM ledger_entries"),
            run(&mut conn, "DELETE FROM ledger_transactions"),
        )
    })
    .await
    .unwrap();
    assert!(update.is_err() && delete.is_err() && delete_tx.is_err());
    assert_ledger_balanced(&app).await;
}
