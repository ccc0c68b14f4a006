//! The ledger through the HTTP API: maker-checker adjustments, bonuses, clawbacks, the
//! finance view, and the append-only, zero-sum invariants.

use actix_web::web;
use serde_json::json;

use crate::both_backends;
use crate::support::{logs, Backend, TestApp};
use crate::work::{assert_ledger_balanced, world};

both_backends!(
    large_adjustments_need_a_second_finance_user,
    ledger_entries_are_append_only,
    a_retried_adjustment_posts_once,
    split_bonuses_past_the_threshold_wait_for_a_second_finance_user,
    the_database_refuses_an_unbalanced_transaction,
    the_database_refuses_payout_totals_that_do_not_add_up,
    amounts_formatted_in_sql_read_as_the_service_formats_them,
    an_unknown_stored_account_kind_is_an_error_never_a_default,
);

/// Runs `statements` in one database transaction that is then rolled back: `Ok` when the
/// database accepted every statement, otherwise the first refusal's message.
fn attempt(conn: &mut gatehouse::db::DbConn, statements: &[String]) -> Result<(), String> {
    use diesel::connection::Connection;
    let outcome = conn.transaction::<(), diesel::result::Error, _>(|c| {
        for sql in statements {
            diesel::RunQueryDsl::execute(diesel::sql_query(sql), c)?;
        }
        Err(diesel::result::Error::RollbackTransaction)
    });
    match outcome {
        Err(diesel::result::Error::RollbackTransaction) => Ok(()),
        Err(e) => Err(e.to_string()),
        Ok(()) => unreachable!(),
    }
}

/// Like [`attempt`], but commits.
fn commit(conn: &mut gatehouse::db::DbConn, statements: &[String]) -> Result<(), String> {
    use diesel::connection::Connection;
    conn.transaction::<(), diesel::result::Error, _>(|c| {
        for sql in statements {
            diesel::RunQueryDsl::execute(diesel::sql_query(sql), c)?;
        }
        Ok(())
    })
    .map_err(|e| e.to_string())
}

fn scalar(conn: &mut gatehouse::db::DbConn, sql: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct V {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        v: i64,
    }
    let rows: Vec<V> = diesel::RunQueryDsl::load(diesel::sql_query(sql), conn).unwrap();
    rows[0].v
}

/// Issue 17: the zero-sum rule is the database's, not only the code's. Raw SQL, past
/// every check in the service, cannot seal a transaction whose entries do not sum to
/// zero or that has fewer than two, cannot write one already sealed, add to one sealed
/// or unseal one; on PostgreSQL it cannot commit one left open either (docs/ledger.md,
/// "What the database guarantees").
async fn the_database_refuses_an_unbalanced_transaction(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let w = world(&app, 1).await;
    let dee = w.contributors[0].0;
    let (status, _) = app
        .adjust(
            &w.finance.access,
            json!({"contributor_id": dee, "kind": "bonus", "amount_cents": 100, "reason": "welcome"}),
        )
        .await;
    assert_eq!(status, 201);
    let state = app.state.clone();
    let (refusals, accepted, left_open, postgres) = web::block(move || {
        let mut conn = state.db.get().unwrap();
        let postgres = matches!(&*conn, gatehouse::db::DbConn::Postgresql(_));
        let account = |c: &mut gatehouse::db::DbConn, code: &str| {
            scalar(c, &format!("SELECT id AS v FROM ledger_accounts WHERE code = '{code}'"))
        };
        let (expense, cash, available) = (
            account(&mut conn, "platform:expense"),
            account(&mut conn, "platform:cash"),
            account(&mut conn, &format!("user:{dee}:available")),
        );
        let open = |reference: &str| {
            format!(
                "INSERT INTO ledger_transactions (kind, reference, memo, contributor_id, created_at) \
                 VALUES ('bonus', '{reference}', 'raw SQL', {dee}, '2026-11-30 12:00:00')"
            )
        };
        let tx = |reference: &str| format!("(SELECT id FROM ledger_transactions WHERE reference = '{reference}')");
        let entry = |reference: &str, account: i64, cents: i64| {
            format!(
                "INSERT INTO ledger_entries (transaction_id, account_id, amount_cents) VALUES ({}, {account}, {cents})",
                tx(reference)
            )
        };
        let seal =
            |reference: &str| format!("UPDATE ledger_transactions SET sealed = TRUE WHERE reference = '{reference}'");
        let refusals = vec![
            // Entries summing to one cent.
            (
                "two or more",
                attempt(
                    &mut conn,
                    &[open("raw:1"), entry("raw:1", available, 100), entry("raw:1", expense, -99), seal("raw:1")],
                ),
            ),
            // One entry.
            ("two or more", attempt(&mut conn, &[open("raw:2"), entry("raw:2", available, 100), seal("raw:2")])),
            // No entry.
            ("two or more", attempt(&mut conn, &[open("raw:3"), seal("raw:3")])),
            // Written sealed, so never checked.
            (
                "written open",
                attempt(
                    &mut conn,
                    &["INSERT INTO ledger_transactions (kind, reference, memo, created_at, sealed) \
                       VALUES ('bonus', 'raw:4', 'raw SQL', '2026-11-30 12:00:00', TRUE)"
                        .to_string()],
                ),
            ),
            // A third leg added after the seal.
            (
                "no new entries",
                attempt(
                    &mut conn,
                    &[
                        open("raw:5"),
                        entry("raw:5", cash, 100),
                        entry("raw:5", expense, -100),
                        seal("raw:5"),
                        entry("raw:5", available, 1),
                    ],
                ),
            ),
            // Unsealed to take one.
            (
                "append-only",
                attempt(
                    &mut conn,
                    &[
                        open("raw:6"),
                        entry("raw:6", cash, 100),
                        entry("raw:6", expense, -100),
                        seal("raw:6"),
                        "UPDATE ledger_transactions SET sealed = FALSE WHERE reference = 'raw:6'".to_string(),
                    ],
                ),
            ),
        ];
        // The same statements, balanced, are accepted: what is refused above is the imbalance.
        let accepted = attempt(
            &mut conn,
            &[open("raw:7"), entry("raw:7", cash, 100), entry("raw:7", expense, -100), seal("raw:7")],
        );
        // Never sealed: PostgreSQL's deferred trigger refuses the commit. SQLite has no
        // deferred triggers: the open transaction commits, and the invariant check lists it.
        let left_open = commit(&mut conn, &[open("raw:8"), entry("raw:8", available, 100)]);
        (refusals, accepted, left_open, postgres)
    })
    .await
    .unwrap();
    for (i, (expected, outcome)) in refusals.iter().enumerate() {
        let message = outcome.as_ref().expect_err(&format!("case {i} accepted"));
        assert!(message.contains(expected), "case {i}: {message}");
    }
    assert_eq!(accepted, Ok(()));
    let state = app.state.clone();
    let unbalanced = web::block(move || state.db.read_sync(gatehouse::ledger::service::unbalanced_transactions))
        .await
        .unwrap()
        .unwrap();
    if postgres {
        let message = left_open.expect_err("an open transaction committed");
        assert!(message.contains("still open at commit"), "{message}");
        assert!(unbalanced.is_empty(), "{unbalanced:?}");
    } else {
        assert_eq!(left_open, Ok(()));
        assert_eq!(unbalanced.len(), 1, "the open transaction is listed: {unbalanced:?}");
    }
    // Nothing refused reached the contributor's balance.
    let (_, ledger) = app.get(&format!("/contributors/{dee}/ledger"), Some(&w.finance.access)).await;
    let expected = if postgres { 100 } else { 200 };
    assert_eq!(ledger["balances"]["available"], expected, "{ledger}");
}

/// Issue 17: a payout batch's totals are non-negative, net + withheld = gross, and the
/// sums of its items; an item's amounts add up and never change once its batch is
/// totalled. Raw SQL past the service meets each rule on both backends.
async fn the_database_refuses_payout_totals_that_do_not_add_up(backend: Backend) {
    use crate::payouts::{ach, add_method, build, fund, sign_w9};
    let app = TestApp::spawn(backend).await;
    let w = world(&app, 2).await;
    let (dee, t) = (w.contributors[0].0, &w.contributors[0].1);
    let other = w.contributors[1].0;
    sign_w9(&app, t, false).await;
    add_method(&app, t, ach("555010")).await;
    fund(&app, &w.finance, dee, 4_000).await;
    let (status, batch) = build(&app, &w.finance, "totals-1", json!({})).await;
    assert_eq!(status, 201, "{batch}");
    assert_eq!((batch["item_count"].as_i64(), batch["gross_cents"].as_i64()), (Some(1), Some(4_000)), "{batch}");
    let id = batch["id"].as_i64().unwrap();
    let finance = batch["created_by"].as_i64().unwrap();
    let state = app.state.clone();
    let (refusals, accepted) = web::block(move || {
        let mut conn = state.db.get().unwrap();
        let batch = |set: &str| format!("UPDATE payout_batches SET {set} WHERE id = {id}");
        let new_batch = |totals: &str| {
            format!(
                "INSERT INTO payout_batches (status, idempotency_key, request_hash, note, created_by, created_at, \
                 sender_batch_id{}) VALUES ('draft', 'raw-1', 'x', 'raw SQL', {finance}, '2026-11-30 12:00:00', \
                 'raw-1'{})",
                if totals.is_empty() { "" } else { ", item_count, gross_cents, withheld_cents, net_cents" },
                totals
            )
        };
        let item_of_kind = |into: &str, gross: i64, withheld: i64, net: i64, kind: &str| {
            format!(
                "INSERT INTO payout_items (batch_id, contributor_id, method_id, rail, gross_cents, withheld_cents, \
                 net_cents, status, created_at, rail_position, destination_kind, kind_position) SELECT {into}, \
                 {other}, i.method_id, i.rail, {gross}, {withheld}, {net}, 'pending', i.created_at, 2, {kind}, 2 \
                 FROM payout_items i WHERE i.batch_id = {id}"
            )
        };
        let item = |into: &str, gross: i64, withheld: i64, net: i64| {
            item_of_kind(into, gross, withheld, net, "i.destination_kind")
        };
        let raw = "(SELECT id FROM payout_batches WHERE idempotency_key = 'raw-1')";
        let raw_totals =
            |n: i64, gross: i64, withheld: i64, net: i64| format!("UPDATE payout_batches SET item_count = {n}, \
                gross_cents = {gross}, withheld_cents = {withheld}, net_cents = {net} WHERE idempotency_key = 'raw-1'");
        let refusals = vec![
            ("totals", attempt(&mut conn, &[batch("gross_cents = gross_cents + 1, net_cents = net_cents + 1")])),
            ("totals", attempt(&mut conn, &[batch("net_cents = net_cents - 1")])),
            ("totals", attempt(&mut conn, &[batch("item_count = item_count + 1")])),
            ("totals", attempt(&mut conn, &[batch("gross_cents = -1, withheld_cents = -1, net_cents = 0")])),
            ("before its totals", attempt(&mut conn, &[item(&id.to_string(), 100, 0, 100)])),
            ("never change", attempt(&mut conn, &[format!(
                "UPDATE payout_items SET gross_cents = gross_cents + 1, net_cents = net_cents + 1 WHERE batch_id = {id}")])),
            ("never deleted", attempt(&mut conn, &[format!("DELETE FROM payout_items WHERE batch_id = {id}")])),
            ("zero totals", attempt(&mut conn, &[new_batch(", 1, 100, 0, 100")])),
            // The items' own CHECKs: net + withheld = gross, nothing negative.
            ("", attempt(&mut conn, &[new_batch(""), item(raw, 100, 0, 99)])),
            ("", attempt(&mut conn, &[new_batch(""), item(raw, 100, -1, 101)])),
            ("totals", attempt(&mut conn, &[new_batch(""), item(raw, 100, 10, 90), raw_totals(1, 101, 10, 91)])),
            // An item carries its method's destination kind (Wise parts are read by it):
            // a bank-account method's item cannot say `email`, at insert or later.
            ("method_kind", attempt(&mut conn, &[new_batch(""), item_of_kind(raw, 100, 0, 100, "'email'")])),
            ("method_kind", attempt(&mut conn, &[format!(
                "UPDATE payout_items SET destination_kind = 'email' WHERE batch_id = {id}")])),
        ];
        // A batch written the way the build writes it (zero, items, then their sums) is accepted.
        let accepted = vec![
            attempt(&mut conn, &[new_batch(""), item(raw, 100, 10, 90), raw_totals(1, 100, 10, 90)]),
            attempt(&mut conn, &[batch("item_count = 1, gross_cents = 4000, withheld_cents = 0, net_cents = 4000")]),
        ];
        (refusals, accepted)
    })
    .await
    .unwrap();
    for (i, (expected, outcome)) in refusals.iter().enumerate() {
        let message = outcome.as_ref().expect_err(&format!("case {i} accepted"));
        assert!(message.contains(expected), "case {i}: {message}");
    }
    assert_eq!(accepted, vec![Ok(()), Ok(())]);
    let (_, after) = app.get(&format!("/payout-batches/{id}"), Some(&w.finance.access)).await;
    assert_eq!(
        (after["item_count"].as_i64(), after["gross_cents"].as_i64(), after["net_cents"].as_i64()),
        (Some(1), Some(4_000), Some(4_000)),
        "{after}"
    );
    assert_ledger_balanced(&app).await;
}

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

/// The payout emails' parameters are written set-based, their amounts formatted by the
/// database (`ledger::money::amount_sql`): each backend's rendering is the service's
/// `amount` for every shape of amount (no cents, one digit of cents, negative, large).
async fn amounts_formatted_in_sql_read_as_the_service_formats_them(backend: Backend) {
    use gatehouse::ledger::money::{amount, amount_sql};
    let app = TestApp::spawn(backend).await;
    let values: Vec<i64> = vec![
        0,
        1,
        5,
        9,
        10,
        99,
        100,
        101,
        110,
        1_000,
        123_456,
        999_999_999,
        i64::MAX,
        -1,
        -5,
        -100,
        -123_456,
        -i64::MAX,
    ];
    let state = app.state.clone();
    let rendered = web::block(move || {
        #[derive(diesel::QueryableByName)]
        struct R {
            #[diesel(sql_type = diesel::sql_types::Text)]
            a: String,
        }
        let mut conn = state.db.get().unwrap();
        let backend = conn.backend();
        values
            .iter()
            .map(|v| {
                let sql =
                    format!("SELECT {} AS a FROM (SELECT CAST({v} AS BIGINT) AS x) t", amount_sql(backend, "t.x"));
                let rows: Vec<R> = diesel::RunQueryDsl::load(diesel::sql_query(sql), &mut *conn).unwrap();
                (*v, rows.into_iter().next().unwrap().a)
            })
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    for (v, a) in rendered {
        assert_eq!(a, amount(v), "{v} cents on {backend:?}");
    }
}

/// A contributor's ledger reads each entry's account kind typed (`AccountKind`): a kind
/// no enum knows is refused by the CHECK when written by hand, and where the CHECK is
/// bypassed, the ledger is a logged 500, never an entry shown as `available`. The
/// adjustments' status filter is a closed set too: another value is a 400.
async fn an_unknown_stored_account_kind_is_an_error_never_a_default(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let w = world(&app, 1).await;
    let dee = w.contributors[0].0;
    let (status, bonus) = app
        .adjust(
            &w.finance.access,
            json!({"contributor_id": dee, "kind": "bonus", "amount_cents": 500, "reason": "thanks"}),
        )
        .await;
    assert_eq!((status, bonus["status"].as_str()), (201, Some("posted")), "{bonus}");
    let (status, posted) = app.get("/ledger/adjustments?status=posted", Some(&w.finance.access)).await;
    assert_eq!((status, posted["items"][0]["id"].clone()), (200, bonus["id"].clone()), "{posted}");
    let (status, body) = app.get("/ledger/adjustments?status=cancelled", Some(&w.finance.access)).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("invalid_query")), "{body}");
    let (status, ledger) = app.get(&format!("/contributors/{dee}/ledger"), Some(&w.finance.access)).await;
    assert_eq!((status, ledger["entries"][0]["account"].as_str()), (200, Some("available")), "{ledger}");

    let savings = format!("UPDATE ledger_accounts SET kind = 'savings' WHERE code = 'user:{dee}:available'");
    let refused = crate::payouts::raw_sql(&app, vec![savings.clone()]).await;
    assert!(refused.is_err(), "the database accepted {savings}");
    let bypass =
        crate::payouts::past_checks(backend, &[("ledger_accounts", "ledger_accounts_kind_check")], vec![savings]);
    crate::payouts::raw_sql(&app, bypass).await.unwrap();
    let (status, body) = app.get(&format!("/contributors/{dee}/ledger"), Some(&w.finance.access)).await;
    assert_eq!((status, body["code"].as_str()), (500, Some("internal_error")), "{body}");
    assert!(logs::captured().contains("unknown AccountKind \"savings\""), "the cause is logged");
}
