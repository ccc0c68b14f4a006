//! Payouts through the HTTP API: methods, batches (idempotency, maker-checker,
//! concurrency), exports (NACHA parsed by an independent parser, PayPal parts),
//! settlement, failed payments re-batched, emails and masking.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use crate::both_backends;
use crate::support::{logs, Backend, Options, TestApp, Tokens};
use crate::work::{assert_ledger_balanced, ingest, record, run_jobs, world, World};

both_backends!(
    released_work_is_paid_exported_settled_and_a_return_is_rebatched,
    concurrent_builds_pay_every_cent_exactly_once,
    idempotency_keys_maker_checker_and_cancel,
    paypal_csv_splits_into_numbered_parts,
    payout_methods_validate_mask_and_hold_changes,
    late_payments_are_listed_for_finance,
    batch_reasons_are_the_readiness_codes,
    a_population_past_one_chunk_gets_the_readiness_codes,
    an_unknown_stored_status_is_an_error_never_a_default,
    an_unknown_stored_document_type_or_currency_is_an_error_never_a_default,
);

const ACCOUNT: &str = "000987654321";

fn w9(name: &str, subject_to_backup_withholding: bool) -> Value {
    json!({
        "legal_name": name, "tax_classification": "individual",
        "address_line1": "1 Elm St", "city": "Austin", "region": "tx", "postal_code": "78701",
        "tin_type": "ssn", "tin": "123-45-6789", "signature_name": name, "certify": true,
        "subject_to_backup_withholding": subject_to_backup_withholding
    })
}

pub(crate) fn ach(account: &str) -> Value {
    json!({"rail": "ach", "holder_name": "Ana Example", "routing_number": "121000248",
           "account_number": account, "account_type": "checking"})
}

/// A complete profile and a signed W-9: what payouts need besides a method.
pub(crate) async fn sign_w9(app: &TestApp, t: &Tokens, withholding: bool) {
    let profile = json!({
        "legal_name": "Ana Example", "date_of_birth": "1990-05-17", "phone": "+1 518 555 0100",
        "address": {"line1": "12 Main St", "city": "Albany", "region": "ny", "postal_code": "12207"}
    });
    let (status, body) = app.patch("/me", Some(&t.access), profile).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app.put("/me/tax-profile", Some(&t.access), w9("Ana Example", withholding)).await;
    assert_eq!(status, 200, "{body}");
}

pub(crate) async fn add_method(app: &TestApp, t: &Tokens, method: Value) -> Value {
    let (status, body) = app.post("/me/payout-methods", Some(&t.access), method).await;
    assert_eq!(status, 201, "{body}");
    body
}

/// A bonus (at or below the approval threshold, so posted at once) makes money available.
pub(crate) async fn fund(app: &TestApp, finance: &Tokens, contributor: i64, cents: i64) {
    let (status, body) = app
        .adjust(
            &finance.access,
            json!({"contributor_id": contributor, "kind": "bonus", "amount_cents": cents, "reason": "test funds"}),
        )
        .await;
    assert_eq!((status, body["status"].as_str()), (201, Some("posted")), "{body}");
}

pub(crate) async fn build(app: &TestApp, finance: &Tokens, key: &str, body: Value) -> (u16, Value) {
    let resp = app
        .client
        .post(app.url("/payout-batches"))
        .bearer_auth(&finance.access)
        .header("Idempotency-Key", key)
        .json(&body)
        .send()
        .await
        .unwrap();
    crate::support::read(resp).await
}

pub(crate) struct Download {
    pub status: u16,
    pub body: String,
    pub parts: Option<String>,
    pub sha: Option<String>,
}

pub(crate) async fn download(app: &TestApp, t: &Tokens, path: &str) -> Download {
    let resp = app.client.get(app.url(path)).bearer_auth(&t.access).send().await.unwrap();
    let header = |n: &str| resp.headers().get(n).map(|v| v.to_str().unwrap().to_string());
    let (parts, sha) = (header("x-export-parts"), header("x-content-sha256"));
    Download { status: resp.status().as_u16(), parts, sha, body: resp.text().await.unwrap() }
}

/// A re-export is streamed once against the recorded hash: if what it generates differs
/// (here: the record is made to differ), the response is cut off, never completed;
/// with the record restored, the same download completes again.
async fn re_export_differing_from_its_record_is_aborted(app: &TestApp, w: &World, batch_id: i64, sha: &str) {
    use diesel::prelude::*;
    use gatehouse::db::schema::payout_exports;
    let set_recorded = |value: String| {
        app.state
            .db
            .tx_sync(move |conn| {
                diesel::update(payout_exports::table.filter(payout_exports::batch_id.eq(batch_id)))
                    .set(payout_exports::sha256.eq(value))
                    .execute(conn)
                    .map_err(Into::into)
            })
            .unwrap()
    };
    assert_eq!(set_recorded("0".repeat(64)), 1);
    let path = format!("/payout-batches/{batch_id}/export?format=nacha");
    // A small file may be cut off before the client has even read the headers.
    match app.client.get(app.url(&path)).bearer_auth(&w.finance.access).send().await {
        Err(e) => assert!(e.is_request() || e.is_body(), "{e}"),
        Ok(resp) => {
            assert_eq!(resp.status().as_u16(), 200);
            assert_eq!(resp.headers()["x-content-sha256"], "0".repeat(64).as_str());
            assert!(resp.bytes().await.is_err(), "a stream that differs from its record must not complete");
        }
    }
    assert_eq!(set_recorded(sha.to_string()), 1);
    let again = download(app, &w.finance, &path).await;
    assert_eq!(again.sha.as_deref(), Some(sha));
}

pub(crate) async fn mail_with_subject(app: &TestApp, to: &str, needle: &str) -> crate::support::smtp::ReceivedMail {
    for _ in 0..200 {
        if let Some(m) = app.smtp.inbox.to(to).into_iter().find(|m| m.subject.contains(needle)) {
            return m;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no email {needle:?} for {to}: {:?}", app.smtp.inbox.to(to).iter().map(|m| &m.subject).collect::<Vec<_>>());
}

/// A contributor with work approved by a reviewer and released after the hold.
pub(crate) async fn released_work(app: &TestApp, w: &World, i: usize, task: &str) -> i64 {
    let (id, _) = &w.contributors[i];
    let body = ingest(app, &w.finance, vec![record(*id, w.open_project, task, "units", "10", "2.5")]).await;
    let record_id = body["items"][0]["id"].as_i64().unwrap();
    let (status, body) =
        app.post(&format!("/review/work-records/{record_id}/claim"), Some(&w.reviewer_a.access), json!({})).await;
    assert_eq!(status, 200, "{body}");
    let decision = json!({"decision": "approve", "reason_code": "meets_guidelines", "note": "", "snapshot_ref": "s"});
    let (status, body) =
        app.post(&format!("/review/work-records/{record_id}/decision"), Some(&w.reviewer_a.access), decision).await;
    assert_eq!(status, 200, "{body}");
    record_id
}

async fn released_work_is_paid_exported_settled_and_a_return_is_rebatched(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut w = world(&app, 3).await;
    let checker = app.staff(&w.admin, "fin-b@gatehouse.test", &["finance"]).await;
    for i in 0..3 {
        released_work(&app, &w, i, &format!("task-{i}")).await; // 10 × 2.50 = $25.00
    }
    app.clock.advance(chrono::Duration::days(7) + chrono::Duration::minutes(1));
    run_jobs(&app).await;
    for (i, email) in ["worker0@example.com", "worker1@example.com", "worker2@example.com"].iter().enumerate() {
        app.renew(&mut w.contributors[i].1, email).await;
    }
    app.renew(&mut w.finance, "fin@gatehouse.test").await;
    let mut checker = checker;
    app.renew(&mut checker, "fin-b@gatehouse.test").await;
    let (ach_id, paypal_id, wise_id) = (w.contributors[0].0, w.contributors[1].0, w.contributors[2].0);
    let (_, earnings) = app.get("/me/earnings", Some(&w.contributors[0].1.access)).await;
    assert_eq!(earnings["balances"]["available"], 2500, "{earnings}");

    // Not yet payable: no profile, no W-9, no method.
    let (_, readiness) = app.get("/me/readiness", Some(&w.contributors[0].1.access)).await;
    let due: Vec<&str> = readiness["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] != "satisfied" && r["blocks"] == json!(["payouts"]))
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert_eq!(due, ["w9_on_file", "payout_method"], "{readiness}");
    assert!(readiness["requirements"].as_array().unwrap().iter().any(|r| r["code"] == "profile_complete"));
    let (status, refused) = build(&app, &w.finance, "b-0", json!({})).await;
    assert_eq!((status, refused["code"].as_str()), (409, Some("nothing_to_pay")), "{refused}");
    assert_eq!(refused["skipped"][0]["reasons"], json!(["profile_complete", "w9_on_file", "payout_method"]));

    sign_w9(&app, &w.contributors[0].1, false).await;
    sign_w9(&app, &w.contributors[1].1, false).await;
    sign_w9(&app, &w.contributors[2].1, true).await; // backup withholding applies
    add_method(&app, &w.contributors[0].1, ach(ACCOUNT)).await;
    add_method(&app, &w.contributors[1].1, json!({"rail": "paypal", "email": "ana.paypal@example.com"})).await;
    add_method(&app, &w.contributors[2].1, json!({"rail": "wise", "email": "wise.person@example.com"})).await;
    let (_, readiness) = app.get("/me/readiness", Some(&w.contributors[0].1.access)).await;
    let blocking: Vec<&Value> = readiness["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] != "satisfied" && r["blocks"].as_array().unwrap().contains(&json!("payouts")))
        .collect();
    assert!(blocking.is_empty(), "{readiness}");

    let (status, batch) = build(&app, &w.finance, "b-1", json!({"note": "weekly"})).await;
    assert_eq!(status, 201, "{batch}");
    let batch_id = batch["id"].as_i64().unwrap();
    assert_eq!(batch["status"], "draft");
    assert_eq!(batch["item_count"], 3);
    assert_eq!(batch["gross_cents"], 7500);
    assert_eq!(batch["withheld_cents"], 600, "24% of $25.00");
    assert_eq!(batch["net_cents"], 6900);
    let rails: Vec<&str> =
        batch["totals_by_rail"].as_array().unwrap().iter().map(|r| r["rail"].as_str().unwrap()).collect();
    assert_eq!(rails, ["ach", "paypal", "wise"]);
    let items: BTreeMap<i64, Value> =
        batch["items"].as_array().unwrap().iter().map(|i| (i["contributor_id"].as_i64().unwrap(), i.clone())).collect();
    assert_eq!(items[&wise_id]["withheld_cents"], 600);
    assert_eq!(items[&wise_id]["net_cents"], 1900);
    assert_eq!(items[&ach_id]["destination"], "ACH checking ****4321");
    let (_, earnings) = app.get("/me/earnings", Some(&w.contributors[0].1.access)).await;
    assert_eq!(
        (earnings["balances"]["available"].as_i64(), earnings["balances"]["in_payout"].as_i64()),
        (Some(0), Some(2500))
    );
    assert_eq!(earnings["payouts"]["in_batch_cents"], 2500);
    // One reservation for the batch (docs/ledger.md, "The batch reservation"): sealed,
    // two legs per item summing to zero; each contributor's ledger shows their leg.
    #[derive(diesel::QueryableByName, Debug, PartialEq)]
    struct Reservation {
        #[diesel(sql_type = diesel::sql_types::Text)]
        reference: String,
        #[diesel(sql_type = diesel::sql_types::Bool)]
        sealed: bool,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        legs: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        total: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        moved: i64,
    }
    let reservations: Vec<Reservation> = app
        .state
        .db
        .read_sync(|conn| {
            use diesel::RunQueryDsl;
            Ok(diesel::sql_query(
                "SELECT t.reference, t.sealed, CAST(COUNT(e.id) AS BIGINT) AS legs, \
                 CAST(SUM(e.amount_cents) AS BIGINT) AS total, \
                 CAST(SUM(CASE WHEN e.amount_cents > 0 THEN e.amount_cents ELSE 0 END) AS BIGINT) AS moved \
                 FROM ledger_transactions t JOIN ledger_entries e ON e.transaction_id = t.id \
                 WHERE t.kind = 'payout_reserved' GROUP BY t.id, t.reference, t.sealed",
            )
            .load(conn)?)
        })
        .unwrap();
    let expected =
        Reservation { reference: format!("payout_batch:{batch_id}"), sealed: true, legs: 6, total: 0, moved: 6900 };
    assert_eq!(reservations, [expected]);
    let (_, ledger) = app.get(&format!("/contributors/{ach_id}/ledger"), Some(&w.finance.access)).await;
    let reserved: Vec<(i64, &str)> = ledger["entries"]
        .as_array()
        .unwrap_or_else(|| panic!("{ledger}"))
        .iter()
        .filter(|l| l["transaction"]["kind"] == "payout_reserved")
        .map(|l| (l["amount_cents"].as_i64().unwrap(), l["transaction"]["reference"].as_str().unwrap()))
        .collect();
    let reference = format!("payout_batch:{batch_id}");
    assert_eq!(reserved, [(2500, reference.as_str()), (-2500, reference.as_str())], "{ledger}");

    // Exports wait for approval, by another finance user.
    let d = download(&app, &w.finance, &format!("/payout-batches/{batch_id}/export?format=nacha")).await;
    assert_eq!(d.status, 409);
    let (status, _) =
        app.post(&format!("/payout-batches/{batch_id}/approve"), Some(&w.finance.access), json!({})).await;
    assert_eq!(status, 403, "the builder cannot approve");
    let (status, approved) =
        app.post(&format!("/payout-batches/{batch_id}/approve"), Some(&checker.access), json!({})).await;
    assert_eq!((status, approved["status"].as_str()), (200, Some("approved")), "{approved}");

    // NACHA, read back by the `nacha` crate.
    let d = download(&app, &w.finance, &format!("/payout-batches/{batch_id}/export?format=nacha")).await;
    assert_eq!(d.status, 200, "{}", d.body);
    let lines: Vec<&str> = d.body.lines().collect();
    assert_eq!(lines.len() % 10, 0, "blocking factor 10");
    assert!(lines.iter().all(|l| l.len() == 94 && l.is_ascii()));
    let file = nacha::NachaFile::new(d.body.clone());
    assert_eq!(file.file_header.immediate_destination, "021000021");
    assert_eq!(file.batches.len(), 1);
    let b = &file.batches[0];
    assert_eq!(b.batch_header.service_class_code, "220");
    assert_eq!(b.batch_header.standard_entry_class_code, "PPD");
    assert_eq!(b.detail_entries.len(), 1);
    let e = &b.detail_entries[0];
    assert_eq!(e.transaction_code, "22");
    assert_eq!(format!("{}{}", e.receiving_dfi_id, e.check_digit), "121000248");
    assert_eq!(e.dfi_account_number, ACCOUNT);
    assert_eq!(e.amount, 2500);
    assert_eq!(e.individual_id_number, items[&ach_id]["id"].as_i64().unwrap().to_string());
    assert_eq!(e.individual_name, "ANA EXAMPLE");
    let entry_hash: u64 = b.detail_entries.iter().map(|e| e.receiving_dfi_id.parse::<u64>().unwrap()).sum();
    let credits: u32 = b.detail_entries.iter().map(|e| e.amount).sum();
    // The crate keeps the batch control private; its JSON view shows it.
    let parsed: Value = serde_json::from_str(&file.as_json()).unwrap();
    let control = &parsed["batches"][0]["batch_control"];
    assert_eq!(control["entry_addenda_count"].as_str().unwrap().parse::<usize>().unwrap(), b.detail_entries.len());
    assert_eq!(control["entry_hash"].as_str().unwrap().parse::<u64>().unwrap(), entry_hash % 10_000_000_000);
    assert_eq!(control["total_debit"].as_u64(), Some(0));
    // nacha 1.5 reads the batch control's total credit from positions 33-43 instead of
    // 33-44 (its bug), so that one field is read here by the published layout.
    let batch_control = lines.iter().find(|l| l.starts_with('8')).unwrap();
    assert_eq!(batch_control[32..44].parse::<u32>().unwrap(), credits);
    let fc = &file.file_control;
    assert_eq!((fc.batch_count, fc.entry_and_addenda_count as usize), (1, b.detail_entries.len()));
    assert_eq!(fc.block_count as usize, lines.len() / 10);
    assert_eq!(fc.entry_hash.parse::<u64>().unwrap(), entry_hash % 10_000_000_000);
    assert_eq!((fc.total_credit, fc.total_debit), (credits, 0));
    assert_eq!(lines.iter().filter(|l| **l == "9".repeat(94)).count(), lines.len() - 5);

    // Re-export: byte-identical, same recorded hash, even later.
    app.clock.advance(chrono::Duration::minutes(10));
    let again = download(&app, &w.finance, &format!("/payout-batches/{batch_id}/export?format=nacha")).await;
    assert_eq!(again.body, d.body);
    assert_eq!(again.sha, d.sha);
    let (_, exported) = app.get(&format!("/payout-batches/{batch_id}"), Some(&w.finance.access)).await;
    assert_eq!(exported["status"], "exported");
    assert_eq!(exported["exports"][0]["sha256"].as_str(), d.sha.as_deref());
    re_export_differing_from_its_record_is_aborted(&app, &w, batch_id, d.sha.as_deref().unwrap()).await;

    let paypal = download(&app, &w.finance, &format!("/payout-batches/{batch_id}/export?format=paypal_csv")).await;
    let paypal_item = items[&paypal_id]["id"].as_i64().unwrap();
    assert_eq!(
        paypal.body,
        format!("ana.paypal@example.com,25.00,USD,{paypal_item},Gatehouse payout batch {batch_id},PAYPAL\n")
    );
    assert_eq!(paypal.parts.as_deref(), Some("1"));
    let api = download(&app, &w.finance, &format!("/payout-batches/{batch_id}/export?format=paypal_json")).await;
    let api: Value = serde_json::from_str(&api.body).unwrap();
    assert_eq!(
        api["sender_batch_header"]["sender_batch_id"],
        format!("{}-1", batch["sender_batch_id"].as_str().unwrap())
    );
    assert_eq!(api["items"][0]["sender_item_id"], paypal_item.to_string());
    assert_eq!(api["items"][0]["amount"], json!({"value": "25.00", "currency": "USD"}));
    assert_eq!(api["items"][0]["recipient_type"], "EMAIL");
    let wise = download(&app, &w.finance, &format!("/payout-batches/{batch_id}/export?format=wise_csv")).await;
    let wise_lines: Vec<&str> = wise.body.lines().collect();
    assert!(wise_lines[0].starts_with("name,recipientEmail"));
    assert!(
        wise_lines[1].contains("wise.person@example.com") && wise_lines[1].ends_with(",PERSON,target,19.00,USD,USD"),
        "{}",
        wise.body
    );

    let sent = mail_with_subject(&app, "worker2@example.com", "on its way").await;
    assert!(sent.text.contains("19.00") && sent.text.contains("6.00"), "{}", sent.text);
    mail_with_subject(&app, "worker0@example.com", "on its way").await;
    // The payout emails' parameters are written by SQL, not serialized by the service:
    // each is exactly a `PayoutSent` (no missing, extra or mistyped member) holding the
    // item's own figures and masked destination.
    let state = app.state.clone();
    let queued: Vec<(String, String)> = actix_web::web::block(move || {
        use diesel::prelude::*;
        use gatehouse::db::schema::outbox;
        state.db.read_sync(|c| {
            Ok(outbox::table
                .filter(outbox::event_key.like("payout_sent:%"))
                .select((outbox::event_key, outbox::params.assume_not_null()))
                .load(c)?)
        })
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(queued.len(), 3, "one email per item: {queued:?}");
    for (key, params) in queued {
        let value: Value = serde_json::from_str(&params).unwrap();
        let typed: gatehouse::notifications::templates::PayoutSent = serde_json::from_value(value.clone()).unwrap();
        assert_eq!(serde_json::to_value(&typed).unwrap(), value, "{key}");
        let item = items.values().find(|i| i["id"].as_i64() == Some(typed.item_id)).unwrap();
        assert_eq!(key, format!("payout_sent:{}", typed.item_id));
        let money = |field: &str| gatehouse::ledger::money::amount(item[field].as_i64().unwrap());
        assert_eq!(
            (&typed.gross, &typed.withheld, &typed.net, typed.destination.as_str()),
            (
                &money("gross_cents"),
                &money("withheld_cents"),
                &money("net_cents"),
                item["destination"].as_str().unwrap()
            ),
            "{value}"
        );
    }
    let (_, mine) = app.get("/me/payouts", Some(&w.contributors[0].1.access)).await;
    assert_eq!(mine["items"][0]["status"], "sent");

    // Settlement: JSON for two, CSV for the return; replays change nothing.
    let ach_item = items[&ach_id]["id"].as_i64().unwrap();
    let wise_item = items[&wise_id]["id"].as_i64().unwrap();
    let (status, report) = app
        .post(
            &format!("/payout-batches/{batch_id}/settlement"),
            Some(&w.finance.access),
            json!({"items": [
                {"item_id": ach_item, "status": "paid", "rail_reference": "TRACE-1"},
                {"item_id": paypal_item, "status": "paid", "rail_reference": "PP-9"}
            ]}),
        )
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["applied"], 2);
    assert_eq!(report["batch_status"], "exported");
    let csv = format!("item_id,status,rail_reference,reason\n{wise_item},returned,W-1,account closed\n");
    let resp = app
        .client
        .post(app.url(&format!("/payout-batches/{batch_id}/settlement")))
        .bearer_auth(&w.finance.access)
        .header("Content-Type", "text/csv")
        .body(csv.clone())
        .send()
        .await
        .unwrap();
    let (status, report) = crate::support::read(resp).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!((report["applied"].as_i64(), report["batch_status"].as_str()), (Some(1), Some("settled")));
    let (_, replay) = app
        .post(
            &format!("/payout-batches/{batch_id}/settlement"),
            Some(&w.finance.access),
            json!({"items": [
                {"item_id": ach_item, "status": "paid", "rail_reference": "TRACE-1"},
                {"item_id": wise_item, "status": "paid", "rail_reference": "W-1"}
            ]}),
        )
        .await;
    assert_eq!(replay["results"][0]["outcome"], "unchanged", "{replay}");
    assert_eq!(replay["results"][1]["outcome"], "conflict");
    assert_eq!(replay["results"][1]["status"], "returned");

    let (_, mine) = app.get("/me/payouts", Some(&w.contributors[0].1.access)).await;
    assert_eq!(
        (mine["items"][0]["status"].as_str(), mine["items"][0]["rail_reference"].as_str()),
        (Some("paid"), Some("TRACE-1"))
    );
    let (_, earnings) = app.get("/me/earnings", Some(&w.contributors[0].1.access)).await;
    assert_eq!(earnings["payouts"]["settled_cents"], 2500);
    assert_eq!(earnings["payouts"]["last_rail_reference"], "TRACE-1");
    assert_eq!(earnings["balances"]["in_payout"], 0);

    // The return: money and withholding back to available, method needs an update, email.
    let failed = mail_with_subject(&app, "worker2@example.com", "was returned").await;
    assert!(failed.text.contains("account closed"), "{}", failed.text);
    let wise_tokens = w.contributors[2].1.clone();
    let (_, earnings) = app.get("/me/earnings", Some(&wise_tokens.access)).await;
    assert_eq!(earnings["balances"]["available"], 2500);
    let (_, methods) = app.get("/me/payout-methods", Some(&wise_tokens.access)).await;
    assert_eq!(methods["items"][0]["status"], "needs_update");
    assert_eq!(methods["items"][0]["status_reason"], "account closed");
    let (status, refused) = build(&app, &w.finance, "b-2", json!({})).await;
    assert_eq!(status, 409);
    assert_eq!(refused["skipped"][0]["reasons"], json!(["payout_method_needs_update"]));

    // Fixed with a new method: a change, so it waits out the hold, then is paid.
    add_method(&app, &wise_tokens, ach("11223344")).await;
    mail_with_subject(&app, "worker2@example.com", "payout method was changed").await;
    let (status, refused) = build(&app, &w.finance, "b-3", json!({})).await;
    assert_eq!(status, 409);
    assert_eq!(refused["skipped"][0]["reasons"], json!(["payout_method_change_hold"]));
    app.clock.advance(chrono::Duration::hours(73));
    app.renew(&mut w.finance, "fin@gatehouse.test").await;
    app.renew(&mut w.admin, "admin@gatehouse.test").await;
    let (status, rebatch) = build(&app, &w.finance, "b-4", json!({})).await;
    assert_eq!(status, 201, "{rebatch}");
    assert_eq!(rebatch["items"][0]["contributor_id"], wise_id);
    assert_eq!(rebatch["items"][0]["gross_cents"], 2500);
    assert_eq!(rebatch["items"][0]["rail"], "ach");

    assert_ledger_balanced(&app).await;
    let (_, audit) = app.get("/admin/audit?limit=200", Some(&w.admin.access)).await;
    let actions: BTreeSet<&str> =
        audit["items"].as_array().unwrap().iter().map(|a| a["action"].as_str().unwrap()).collect();
    for a in [
        "payout_batch.built",
        "payout_batch.approved",
        "payout_batch.exported",
        "payout_item.settled",
        "payout_batch.settled",
    ] {
        assert!(actions.contains(a), "{a} missing from {actions:?}");
    }
    assert!(!audit.to_string().contains(ACCOUNT), "no account number in the audit log");
    assert!(!logs::captured().contains(ACCOUNT), "no account number in the logs");
}

async fn concurrent_builds_pay_every_cent_exactly_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let w = world(&app, 8).await;
    let mut before = 0;
    for (i, (id, t)) in w.contributors.iter().enumerate() {
        sign_w9(&app, t, i % 3 == 0).await;
        add_method(&app, t, json!({"rail": "paypal", "email": format!("p{i}@example.com")})).await;
        let cents = 1_000 + 137 * i as i64;
        fund(&app, &w.finance, *id, cents).await;
        before += cents;
    }
    let builds = (0..8).map(|k| {
        let (app, finance) = (&app, &w.finance);
        async move { build(app, finance, &format!("concurrent-{k}"), json!({})).await }
    });
    let results = futures_util::future::join_all(builds).await;
    let (mut paid, mut seen) = (0, BTreeSet::new());
    let mut created = 0;
    for (status, body) in &results {
        match status {
            201 => {
                created += 1;
                for item in body["items"].as_array().unwrap() {
                    assert!(seen.insert(item["contributor_id"].as_i64().unwrap()), "a contributor in two batches");
                    paid += item["gross_cents"].as_i64().unwrap();
                }
            }
            409 => assert_eq!(body["code"], "nothing_to_pay", "{body}"),
            other => panic!("{other}: {body}"),
        }
    }
    assert!(created >= 1);
    assert_eq!(paid, before, "every cent batched exactly once");
    assert_eq!(seen.len(), 8);
    for (id, _) in &w.contributors {
        let (_, ledger) = app.get(&format!("/contributors/{id}/ledger"), Some(&w.finance.access)).await;
        assert_eq!(ledger["balances"]["available"], 0, "{ledger}");
    }
    assert_ledger_balanced(&app).await;
}

async fn idempotency_keys_maker_checker_and_cancel(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let w = world(&app, 2).await;
    for (i, (id, t)) in w.contributors.iter().enumerate() {
        sign_w9(&app, t, false).await;
        add_method(&app, t, ach(&format!("55501{i}"))).await;
        fund(&app, &w.finance, *id, 4_000).await;
    }
    let resp = app
        .client
        .post(app.url("/payout-batches"))
        .bearer_auth(&w.finance.access)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let (status, body) = crate::support::read(resp).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("idempotency_key_required")));
    let (status, body) = build(&app, &w.reviewer_a, "k-1", json!({})).await;
    assert_eq!(status, 403, "{body}");

    let (status, first) = build(&app, &w.finance, "k-1", json!({"note": "one"})).await;
    assert_eq!(status, 201, "{first}");
    let (status, replay) = build(&app, &w.finance, "k-1", json!({"note": "one"})).await;
    assert_eq!((status, &replay["id"]), (200, &first["id"]), "{replay}");
    let (status, other) = build(&app, &w.finance, "k-1", json!({"note": "two"})).await;
    assert_eq!((status, other["errors"][0]["code"].as_str()), (422, Some("idempotency_key_reused")), "{other}");
    let id = first["id"].as_i64().unwrap();

    // The database refuses an approval by the builder even past the code.
    let state = app.state.clone();
    let builder = first["created_by"].as_i64().unwrap();
    let refused = actix_web::web::block(move || {
        use diesel::prelude::*;
        use gatehouse::db::schema::payout_batches as b;
        state.db.tx_sync(|c| {
            Ok(diesel::update(b::table.find(id))
                .set((
                    b::status.eq("approved"),
                    b::approved_by.eq(builder),
                    b::approved_at.eq(chrono::Utc::now().naive_utc()),
                ))
                .execute(c)?)
        })
    })
    .await
    .unwrap();
    assert!(refused.is_err(), "CHECK (approved_by <> created_by)");

    let (status, cancelled) =
        app.post(&format!("/payout-batches/{id}/cancel"), Some(&w.finance.access), json!({})).await;
    assert_eq!((status, cancelled["status"].as_str()), (200, Some("cancelled")), "{cancelled}");
    assert_eq!(cancelled["items"][0]["status"], "cancelled");
    let (status, _) = app.post(&format!("/payout-batches/{id}/cancel"), Some(&w.finance.access), json!({})).await;
    assert_eq!(status, 409);
    let checker = app.staff(&w.admin, "fin-b@gatehouse.test", &["finance"]).await;
    let (status, body) = app.post(&format!("/payout-batches/{id}/approve"), Some(&checker.access), json!({})).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("batch_not_draft")));
    for (cid, _) in &w.contributors {
        let (_, ledger) = app.get(&format!("/contributors/{cid}/ledger"), Some(&w.finance.access)).await;
        assert_eq!(
            (ledger["balances"]["available"].as_i64(), ledger["balances"]["in_payout"].as_i64()),
            (Some(4_000), Some(0))
        );
    }
    let (status, again) = build(&app, &w.finance, "k-2", json!({})).await;
    assert_eq!(status, 201, "released money is batched again");
    assert_eq!(again["gross_cents"], 8_000);
    let (_, preview) = app.get("/payout-batches/preview", Some(&w.finance.access)).await;
    assert_eq!(preview["eligible"], json!([]));
    assert_ledger_balanced(&app).await;
}

async fn paypal_csv_splits_into_numbered_parts(backend: Backend) {
    let options = Options { vars: vec![("GATEHOUSE_PAYPAL_CSV_MAX_ROWS", "2".into())], ..Default::default() };
    let app = TestApp::spawn_with(backend, options).await;
    let w = world(&app, 5).await;
    for (i, (id, t)) in w.contributors.iter().enumerate() {
        sign_w9(&app, t, false).await;
        add_method(&app, t, json!({"rail": "paypal", "email": format!("p{i}@example.com")})).await;
        fund(&app, &w.finance, *id, 1_500).await;
    }
    let (_, batch) = build(&app, &w.finance, "parts", json!({})).await;
    let id = batch["id"].as_i64().unwrap();
    let checker = app.staff(&w.admin, "fin-b@gatehouse.test", &["finance"]).await;
    let (status, _) = app.post(&format!("/payout-batches/{id}/approve"), Some(&checker.access), json!({})).await;
    assert_eq!(status, 200);
    let mut ids = Vec::new();
    for part in 1..=3 {
        let d = download(&app, &w.finance, &format!("/payout-batches/{id}/export?format=paypal_csv&part={part}")).await;
        assert_eq!((d.status, d.parts.as_deref()), (200, Some("3")), "{}", d.body);
        let lines: Vec<&str> = d.body.lines().collect();
        assert_eq!(lines.len(), if part == 3 { 1 } else { 2 });
        ids.extend(lines.iter().map(|l| l.split(',').nth(3).unwrap().to_string()));
    }
    let expected: Vec<String> = batch["items"].as_array().unwrap().iter().map(|i| i["id"].to_string()).collect();
    assert_eq!(ids, expected, "each item once, in order");
    let d = download(&app, &w.finance, &format!("/payout-batches/{id}/export?format=paypal_csv&part=4")).await;
    assert_eq!(d.status, 404);
    let d = download(&app, &w.finance, &format!("/payout-batches/{id}/export?format=nacha")).await;
    assert_eq!(d.status, 409, "no ACH items");
    let (_, b) = app.get(&format!("/payout-batches/{id}"), Some(&w.finance.access)).await;
    assert_eq!(b["exports"].as_array().unwrap().len(), 3);
}

async fn payout_methods_validate_mask_and_hold_changes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut t = app.applicant("mia@example.com").await;
    let mut seen = Vec::new();
    let mut bad = ach(ACCOUNT);
    bad["routing_number"] = json!("121000249");
    let (status, body) = app.post("/me/payout-methods", Some(&t.access), bad).await;
    assert_eq!(status, 422);
    assert_eq!(body["errors"][0]["field"], "routing_number");
    assert_eq!(body["errors"][0]["code"], "aba_check_digit");
    seen.push(body.to_string());
    let mut short = ach("123");
    short["account_type"] = json!(null);
    let (status, body) = app.post("/me/payout-methods", Some(&t.access), short).await;
    assert_eq!(status, 422);
    let fields: Vec<&str> = body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["account_number", "account_type"]);

    let mut numeric = ach(ACCOUNT);
    numeric["account_number"] = json!(987_654_321_123_u64);
    numeric["routing_number"] = json!(true);
    let (status, body) = app.post("/me/payout-methods", Some(&t.access), numeric).await;
    assert_eq!((status, body["errors"][0]["code"].as_str()), (422, Some("aba_check_digit")), "{body}");
    assert!(!body.to_string().contains("987654321123"));
    assert!(!logs::captured().contains("987654321123"));

    let first = add_method(&app, &t, ach(ACCOUNT)).await;
    assert_eq!(first["destination"], "ACH checking ****4321");
    assert_eq!(first["on_hold"], false, "the first method is usable at once");
    seen.push(first.to_string());
    assert!(app.smtp.inbox.to("mia@example.com").iter().all(|m| !m.subject.contains("payout method")));

    let second = add_method(&app, &t, json!({"rail": "paypal", "email": "mia.pp@example.com"})).await;
    assert_eq!(second["on_hold"], true);
    let alert = mail_with_subject(&app, "mia@example.com", "payout method was changed").await;
    assert!(alert.text.contains("****4321") && alert.text.contains("PayPal m***@example.com"), "{}", alert.text);
    seen.push(alert.text.clone());
    let (_, methods) = app.get("/me/payout-methods", Some(&t.access)).await;
    assert_eq!(methods["items"][0]["current"], true);
    assert_eq!(methods["items"][1]["status"], "replaced");
    seen.push(methods.to_string());
    let (_, readiness) = app.get("/me/readiness", Some(&t.access)).await;
    let hold = readiness["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["code"] == "payout_method_change_hold")
        .unwrap();
    assert_eq!(hold["status"], "pending_review");
    assert_eq!(hold["blocks"], json!(["payouts"]));
    seen.push(readiness.to_string());
    app.clock.advance(chrono::Duration::hours(72));
    app.renew(&mut t, "mia@example.com").await;
    let (_, readiness) = app.get("/me/readiness", Some(&t.access)).await;
    let hold = readiness["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["code"] == "payout_method_change_hold")
        .unwrap();
    assert_eq!(hold["status"], "satisfied");

    // Stored encrypted; never in a response, an email or a log line.
    let state = app.state.clone();
    let stored: Vec<String> = actix_web::web::block(move || {
        use diesel::prelude::*;
        use gatehouse::db::schema::payout_methods as m;
        state.db.read_sync(|c| Ok(m::table.select(m::details_enc).load::<String>(c)?))
    })
    .await
    .unwrap()
    .unwrap();
    assert!(stored.iter().all(|s| s.starts_with("v1:") && !s.contains(ACCOUNT)));
    for text in seen {
        assert!(!text.contains(ACCOUNT), "{text}");
    }
    for m in app.smtp.inbox.all() {
        assert!(!m.text.contains(ACCOUNT) && !m.html.contains(ACCOUNT));
    }
    assert!(!logs::captured().contains(ACCOUNT));
}

async fn late_payments_are_listed_for_finance(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut w = world(&app, 2).await;
    released_work(&app, &w, 0, "late-1").await;
    app.clock.advance(chrono::Duration::days(10));
    app.renew(&mut w.finance, "fin@gatehouse.test").await;
    app.renew(&mut w.reviewer_a, "rev-a@gatehouse.test").await;
    released_work(&app, &w, 1, "on-time-1").await;
    app.clock.advance(chrono::Duration::days(5));
    run_jobs(&app).await;
    app.renew(&mut w.finance, "fin@gatehouse.test").await;
    let (status, late) = app.get("/payouts/late", Some(&w.finance.access)).await;
    assert_eq!(status, 200, "{late}");
    assert_eq!(late["payment_promise_days"], 14);
    let items = late["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{late}");
    assert_eq!(items[0]["contributor_id"], w.contributors[0].0);
    assert_eq!(items[0]["late_cents"], 2500);
    assert_eq!(items[0]["reasons"], json!(["profile_complete", "w9_on_file", "payout_method"]));
    let mut worker = w.contributors[0].1.clone();
    app.renew(&mut worker, "worker0@example.com").await;
    let (status, _) = app.get("/payouts/late", Some(&worker.access)).await;
    assert_eq!(status, 403);
}

/// The batch's set-based eligibility and `GET /me/readiness` (one person) give the same
/// codes, for contributors in different states.
async fn batch_reasons_are_the_readiness_codes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let w = world(&app, 5).await;
    let ids: Vec<i64> = w.contributors.iter().map(|(id, _)| *id).collect();
    // 0: nothing but money; 1: profile and W-9, no method; 2: everything, method in its
    // change hold; 3: everything, subject to backup withholding, below the minimum;
    // 4: everything, W-9 and method, past the hold.
    for i in 1..5 {
        sign_w9(&app, &w.contributors[i].1, i == 3).await;
    }
    for i in 2..5 {
        add_method(&app, &w.contributors[i].1, ach(ACCOUNT)).await;
    }
    app.clock.advance(chrono::Duration::hours(73));
    let mut w = w;
    app.renew(&mut w.finance, "fin@gatehouse.test").await;
    for (i, (_, t)) in w.contributors.iter_mut().enumerate() {
        app.renew(t, &format!("worker{i}@example.com")).await;
    }
    add_method(&app, &w.contributors[2].1, json!({"rail": "paypal", "email": "new@example.com"})).await;
    for (i, id) in ids.iter().enumerate() {
        fund(&app, &w.finance, *id, if i == 3 { 500 } else { 2_500 }).await;
    }

    let (status, preview) = app.get("/payout-batches/preview", Some(&w.finance.access)).await;
    assert_eq!(status, 200, "{preview}");
    let mut from_batch: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for c in preview["eligible"].as_array().unwrap().iter().chain(preview["ineligible"].as_array().unwrap()) {
        let reasons = c["reasons"].as_array().unwrap().iter().map(|r| r.as_str().unwrap().to_string()).collect();
        from_batch.insert(c["contributor_id"].as_i64().unwrap(), reasons);
    }
    for (i, (id, t)) in w.contributors.iter().enumerate() {
        let (_, readiness) = app.get("/me/readiness", Some(&t.access)).await;
        let blocking = payout_blocking_codes(&readiness);
        assert_eq!(from_batch.get(id), Some(&blocking), "contributor {i}: {readiness} vs {preview}");
        assert_eq!(readiness["can_be_paid"], blocking.is_empty(), "{readiness}");
    }
    let expected: [&[&str]; 5] = [
        &["profile_complete", "w9_on_file", "payout_method"],
        &["payout_method"],
        &["payout_method_change_hold"],
        &["payout_minimum_balance"],
        &[],
    ];
    for (i, codes) in expected.iter().enumerate() {
        assert_eq!(from_batch[&ids[i]], codes.iter().map(|c| c.to_string()).collect::<Vec<_>>(), "contributor {i}");
    }

    // The build pays exactly the eligible one and withholds nothing from it.
    let (status, batch) = build(&app, &w.finance, "reasons-1", json!({})).await;
    assert_eq!(status, 201, "{batch}");
    assert_eq!(batch["item_count"], 1, "{batch}");
    assert_eq!(batch["items"][0]["contributor_id"], ids[4]);
    let skipped: BTreeSet<i64> =
        batch["skipped"].as_array().unwrap().iter().map(|c| c["contributor_id"].as_i64().unwrap()).collect();
    assert_eq!(skipped, ids[..4].iter().copied().collect());
    assert_ledger_balanced(&app).await;
}

/// The preview's eligible and ineligible contributors, with their reasons, by id.
async fn preview_reasons(app: &TestApp, finance: &Tokens) -> (BTreeMap<i64, Vec<String>>, BTreeMap<i64, Vec<String>>) {
    let (status, preview) = app.get("/payout-batches/preview", Some(&finance.access)).await;
    assert_eq!(status, 200, "{preview}");
    let reasons = |key: &str| -> BTreeMap<i64, Vec<String>> {
        preview[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                let codes = c["reasons"].as_array().unwrap().iter();
                (c["contributor_id"].as_i64().unwrap(), codes.map(|r| r.as_str().unwrap().to_string()).collect())
            })
            .collect()
    };
    (reasons("eligible"), reasons("ineligible"))
}

/// The codes of a `GET /me/readiness` answer that hold payouts back.
fn payout_blocking_codes(readiness: &Value) -> Vec<String> {
    readiness["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] != "satisfied" && r["blocks"].as_array().unwrap().contains(&json!("payouts")))
        .map(|r| r["code"].as_str().unwrap().to_string())
        .collect()
}

/// A population larger than one lookup chunk is read in one pass (its ids in a temporary
/// table the providers join): sampled people in different states get the codes
/// `GET /me/readiness` gives them, in the preview and in the build.
async fn a_population_past_one_chunk_gets_the_readiness_codes(backend: Backend) {
    // Any money at all is enough: only the states set below hold a payout back.
    let vars = vec![("GATEHOUSE_PAYOUT_MINIMUM_CENTS", "1".to_string())];
    let app = TestApp::spawn_with(backend, Options { vars, ..Default::default() }).await;
    let n = gatehouse::db::LOOKUP_CHUNK as u64 + 200;
    let options = gatehouse::seed::SeedOptions {
        contributors: n,
        records: 3 * n,
        finance_password: crate::support::PASSWORD.to_string(),
        rail: None,
    };
    let state = app.state.clone();
    actix_web::web::block(move || gatehouse::seed::seed(&state, &options)).await.unwrap().unwrap();
    let finance = app.login(gatehouse::seed::FINANCE_EMAILS[0], crate::support::PASSWORD).await;
    let (eligible, ineligible) = preview_reasons(&app, &finance).await;
    assert!(ineligible.is_empty(), "{ineligible:?}");
    assert!(eligible.len() > gatehouse::db::LOOKUP_CHUNK, "{} people: not past one chunk", eligible.len());
    // Four people spread over the population: an unverified email, an incomplete profile,
    // a method that needs an update, and one with nothing missing.
    let ids: Vec<i64> = eligible.keys().copied().collect();
    let sampled = [ids[0], ids[ids.len() / 2], ids[ids.len() - 2], ids[ids.len() - 1]];
    let hash = gatehouse::auth::password::hash(crate::support::PASSWORD).unwrap();
    let statements = vec![
        format!("UPDATE users SET email_verified_at = NULL WHERE id = {}", sampled[0]),
        format!("UPDATE contributor_profiles SET phone = NULL WHERE user_id = {}", sampled[1]),
        format!(
            "UPDATE payout_methods SET status = 'needs_update', status_reason = 'R03' WHERE user_id = {}",
            sampled[2]
        ),
        format!(
            "UPDATE users SET password_hash = '{hash}' WHERE id IN ({})",
            sampled.map(|id| id.to_string()).join(", ")
        ),
    ];
    raw_sql(&app, statements).await.unwrap();
    let (eligible, ineligible) = preview_reasons(&app, &finance).await;
    assert_eq!(ineligible.keys().copied().collect::<Vec<_>>(), sampled[..3]);
    let expected: [&[&str]; 4] = [&["email_verified"], &["profile_complete"], &["payout_method_needs_update"], &[]];
    for (id, codes) in sampled.iter().zip(expected) {
        let tokens = app.login(&format!("bench-{id}@example.test"), crate::support::PASSWORD).await;
        let (status, readiness) = app.get("/me/readiness", Some(&tokens.access)).await;
        assert_eq!(status, 200, "{readiness}");
        let blocking = payout_blocking_codes(&readiness);
        assert_eq!(blocking, codes, "contributor {id}: {readiness}");
        assert_eq!(ineligible.get(id).or(eligible.get(id)), Some(&blocking), "contributor {id}");
    }

    // The build (the same pass inside its transaction) skips exactly those three.
    let (status, batch) = build(&app, &finance, "population-1", json!({})).await;
    assert_eq!(status, 201, "{batch}");
    assert_eq!(batch["item_count"].as_u64(), Some(eligible.len() as u64), "{}", batch["skipped"]);
    let skipped: BTreeSet<i64> =
        batch["skipped"].as_array().unwrap().iter().map(|c| c["contributor_id"].as_i64().unwrap()).collect();
    assert_eq!(skipped, sampled[..3].iter().copied().collect());
}

/// Runs raw SQL on one connection, in a transaction.
/// `statements` as [`raw_sql`] runs them past the CHECKs: between SQLite's
/// `ignore_check_constraints` on and off, after PostgreSQL drops each `(table,
/// constraint)`.
pub(crate) fn past_checks(backend: Backend, constraints: &[(&str, &str)], statements: Vec<String>) -> Vec<String> {
    match backend {
        Backend::Sqlite => std::iter::once("PRAGMA ignore_check_constraints = ON".to_string())
            .chain(statements)
            .chain(std::iter::once("PRAGMA ignore_check_constraints = OFF".to_string()))
            .collect(),
        Backend::Postgres => constraints
            .iter()
            .map(|(table, constraint)| format!("ALTER TABLE {table} DROP CONSTRAINT {constraint}"))
            .chain(statements)
            .collect(),
    }
}

pub(crate) async fn raw_sql(app: &TestApp, statements: Vec<String>) -> Result<(), String> {
    let state = app.state.clone();
    actix_web::web::block(move || {
        use diesel::RunQueryDsl;
        state.db.tx_sync(|c| {
            for sql in &statements {
                diesel::sql_query(sql.as_str()).execute(c)?;
            }
            Ok(())
        })
    })
    .await
    .unwrap()
    .map_err(|e| format!("{e:?}"))
}

/// A closed set is an enum down to the database: a value it does not know is refused by
/// the column's CHECK (or, for a rail, its foreign key) when written by hand, and where
/// the constraint is bypassed, reading the row is an error (a logged 500), never a
/// default status or rail.
async fn an_unknown_stored_status_is_an_error_never_a_default(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let w = world(&app, 1).await;
    let (id, t) = &w.contributors[0];
    sign_w9(&app, t, false).await;
    add_method(&app, t, ach("555010")).await;
    fund(&app, &w.finance, *id, 4_000).await;
    let (status, batch) = build(&app, &w.finance, "k-unknown", json!({})).await;
    assert_eq!(status, 201, "{batch}");
    let (batch_id, item_id) = (batch["id"].as_i64().unwrap(), batch["items"][0]["id"].as_i64().unwrap());
    let path = format!("/payout-batches/{batch_id}");
    let (status, body) = app.get(&path, Some(&w.finance.access)).await;
    assert_eq!((status, body["items"][0]["status"].as_str()), (200, Some("pending")), "{body}");

    for sql in [
        format!("UPDATE payout_items SET status = 'lost' WHERE id = {item_id}"),
        format!("UPDATE payout_items SET rail = 'pigeon' WHERE id = {item_id}"),
        format!("UPDATE payout_batches SET status = 'paused' WHERE id = {batch_id}"),
        format!("UPDATE users SET status = 'dormant' WHERE id = {id}"),
        format!("UPDATE decisions SET outcome = 'maybe' WHERE user_id = {id}"),
        "UPDATE files SET purpose = 'selfie'".to_string(),
        "INSERT INTO audit_log (at, action, subject_type, summary) VALUES (CURRENT_TIMESTAMP, 'payout.teleported', 'user', '{}')"
            .to_string(),
        "INSERT INTO audit_log (at, action, subject_type, summary) VALUES (CURRENT_TIMESTAMP, 'jobs.run', 'planet', '{}')"
            .to_string(),
        format!(
            "INSERT INTO b_notices (user_id, notice, received_on, note, recorded_by, recorded_at) \
             VALUES ({id}, 'third', '2026-01-05', '', {id}, CURRENT_TIMESTAMP)"
        ),
    ] {
        let refused = raw_sql(&app, vec![sql.clone()]).await;
        assert!(refused.is_err(), "the database accepted {sql}");
    }
    let (status, body) = app.get(&path, Some(&w.finance.access)).await;
    assert_eq!(status, 200, "nothing was written: {body}");

    // Past the constraint (dropped, or ignored on SQLite's connection): the read fails.
    let bypass = match backend {
        Backend::Sqlite => vec![
            "PRAGMA ignore_check_constraints = ON".to_string(),
            format!("UPDATE payout_items SET status = 'lost' WHERE id = {item_id}"),
            "PRAGMA ignore_check_constraints = OFF".to_string(),
        ],
        Backend::Postgres => vec![
            "ALTER TABLE payout_items DROP CONSTRAINT payout_items_status_check".to_string(),
            // Settled, so the row's other CHECKs still hold.
            format!("UPDATE payout_items SET status = 'lost', settled_at = created_at WHERE id = {item_id}"),
        ],
    };
    raw_sql(&app, bypass).await.unwrap();
    let (status, body) = app.get(&path, Some(&w.finance.access)).await;
    assert_eq!((status, body["code"].as_str()), (500, Some("internal_error")), "{body}");
    assert!(!body.to_string().contains("pending"), "{body}");
    assert!(logs::captured().contains("unknown ItemStatus \"lost\""), "the cause is logged");
}

/// [`an_unknown_stored_status_is_an_error_never_a_default`] for the I-9 document type
/// (a closed set per list) and the ledger's currency: refused by the CHECKs when written
/// by hand (a type on no list, a List B type under List A, a second currency), and read
/// as an error (a logged 500) where the CHECKs are bypassed.
async fn an_unknown_stored_document_type_or_currency_is_an_error_never_a_default(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let w = world(&app, 1).await;
    let (id, t) = &w.contributors[0];
    fund(&app, &w.finance, *id, 1_000).await;
    let (status, wa) = app.get("/me/work-authorization", Some(&t.access)).await;
    assert_eq!(status, 200, "{wa}");
    let types: BTreeSet<&str> =
        wa["documents"].as_array().unwrap().iter().map(|d| d["document_type"].as_str().unwrap()).collect();
    assert_eq!(types, BTreeSet::from(["drivers_license", "social_security_card"]), "{wa}");
    let ledger = format!("/contributors/{id}/ledger");
    let (status, body) = app.get(&ledger, Some(&w.finance.access)).await;
    assert_eq!((status, body["currency"].as_str()), (200, Some("USD")), "{body}");

    for sql in [
        "UPDATE work_authorization_documents SET document_type = 'library_card' WHERE list = 'B'".to_string(),
        "UPDATE work_authorization_documents SET list = 'A' WHERE document_type = 'drivers_license'".to_string(),
        format!("UPDATE ledger_accounts SET currency = 'EUR' WHERE owner_id = {id}"),
    ] {
        let refused = raw_sql(&app, vec![sql.clone()]).await;
        assert!(refused.is_err(), "the database accepted {sql}");
    }

    let (document, currency) = (
        "UPDATE work_authorization_documents SET document_type = 'library_card' WHERE list = 'B'",
        format!("UPDATE ledger_accounts SET currency = 'EUR' WHERE owner_id = {id}"),
    );
    let bypass = match backend {
        Backend::Sqlite => vec![
            "PRAGMA ignore_check_constraints = ON".to_string(),
            document.to_string(),
            currency,
            "PRAGMA ignore_check_constraints = OFF".to_string(),
        ],
        Backend::Postgres => vec![
            "ALTER TABLE work_authorization_documents DROP CONSTRAINT work_authorization_documents_type_check"
                .to_string(),
            "ALTER TABLE ledger_accounts DROP CONSTRAINT ledger_accounts_currency_check".to_string(),
            document.to_string(),
            currency,
        ],
    };
    raw_sql(&app, bypass).await.unwrap();
    let (status, body) = app.get("/me/work-authorization", Some(&t.access)).await;
    assert_eq!((status, body["code"].as_str()), (500, Some("internal_error")), "{body}");
    assert!(logs::captured().contains("unknown DocumentType \"library_card\""), "the cause is logged");
    let (status, body) = app.get(&ledger, Some(&w.finance.access)).await;
    assert_eq!((status, body["code"].as_str()), (500, Some("internal_error")), "{body}");
    assert!(!body.to_string().contains("USD"), "{body}");
    assert!(logs::captured().contains("unknown Currency \"EUR\""), "the cause is logged");
}
