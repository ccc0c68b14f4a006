//! Tax and payout corrections through the HTTP API (issue 16): ITINs, W-9 entity and
//! exempt payee rules, backup withholding only on rails the payer reports, the first
//! B-notice sent to the payee, ACH return codes and returns after payment, notifications
//! of change, unclaimed money, and the January job without an indexed threshold.

use chrono::{Datelike, Duration, NaiveDate};
use serde_json::{json, Value};

use crate::both_backends;
use crate::support::{Backend, TestApp, Tokens};
use crate::work::assert_ledger_balanced;

both_backends!(
    itin_holders_sign_a_w9_and_are_paid,
    entities_give_an_ein_and_exempt_payees_are_neither_withheld_nor_reported,
    backup_withholding_only_on_rails_the_payer_reports,
    a_first_b_notice_reaches_the_payee_with_a_w9_request,
    ach_returns_carry_their_code_and_a_return_after_payment_is_reversed,
    notifications_of_change_correct_the_method_without_a_new_hold,
    undeliverable_money_is_tracked_as_unclaimed_property,
    the_january_job_issues_forms_without_an_indexed_threshold,
);

struct Staff {
    admin: Tokens,
    maker: Tokens,
    checker: Tokens,
    reviewer: Tokens,
}

async fn staff(app: &TestApp) -> Staff {
    let admin = app.admin().await;
    let maker = app.staff(&admin, "fin-a@gatehouse.test", &["finance"]).await;
    let checker = app.staff(&admin, "fin-b@gatehouse.test", &["finance"]).await;
    let reviewer = app.staff(&admin, "rev@gatehouse.test", &["reviewer"]).await;
    Staff { admin, maker, checker, reviewer }
}

impl Staff {
    /// Keeps every token usable after the test clock moved.
    async fn renew(&mut self, app: &TestApp) {
        app.renew(&mut self.admin, "admin@gatehouse.test").await;
        app.renew(&mut self.maker, "fin-a@gatehouse.test").await;
        app.renew(&mut self.checker, "fin-b@gatehouse.test").await;
        app.renew(&mut self.reviewer, "rev@gatehouse.test").await;
    }
}

fn w9(tin_type: &str, tin: &str, withholding: bool) -> Value {
    json!({
        "legal_name": "Lena Ortiz", "tax_classification": "individual",
        "address_line1": "1 Elm St", "city": "Austin", "region": "tx", "postal_code": "78701",
        "tin_type": tin_type, "tin": tin, "signature_name": "Lena Ortiz", "certify": true,
        "subject_to_backup_withholding": withholding
    })
}

const ROUTING: &str = "121000248";

fn ach() -> Value {
    json!({"rail": "ach", "holder_name": "Lena Ortiz", "routing_number": ROUTING, "account_number": "000123456789",
           "account_type": "checking"})
}

fn paypal(email: &str) -> Value {
    json!({"rail": "paypal", "email": email})
}

/// A payee ready to be paid: work authorization verified (nobody else is ever paid),
/// complete profile, the W-9 `w9`, the payout method `method`.
async fn payee(app: &TestApp, s: &Staff, email: &str, w9: Value, method: Value) -> (i64, Tokens) {
    let t = app.applicant(email).await;
    app.authorize(&t, &s.reviewer).await;
    let profile = json!({
        "legal_name": "Lena Ortiz", "date_of_birth": "1988-02-03", "phone": "+1 512 555 0100",
        "address": {"line1": "1 Elm St", "city": "Austin", "region": "tx", "postal_code": "78701"}
    });
    assert_eq!(app.patch("/me", Some(&t.access), profile).await.0, 200);
    let (status, body) = app.put("/me/tax-profile", Some(&t.access), w9).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app.post("/me/payout-methods", Some(&t.access), method).await;
    assert_eq!(status, 201, "{body}");
    (app.user_id(&t).await, t)
}

/// Bonuses of at most $500 each by the maker; those past the maker-checker threshold
/// (one maker's postings for one contributor add up over the window) are approved by the
/// checker.
async fn fund(app: &TestApp, s: &Staff, user: i64, cents: i64) {
    let mut left = cents;
    while left > 0 {
        let chunk = left.min(50_000);
        let body = json!({"contributor_id": user, "kind": "bonus", "amount_cents": chunk, "reason": "compliance test"});
        let (status, body) = app.adjust(&s.maker.access, body).await;
        assert_eq!(status, 201, "{body}");
        if body["status"] == "pending_approval" {
            let path = format!("/ledger/adjustments/{}/approve", body["id"]);
            let (status, body) = app.post(&path, Some(&s.checker.access), json!({})).await;
            assert_eq!((status, body["status"].as_str()), (200, Some("posted")), "{body}");
        } else {
            assert_eq!(body["status"], "posted", "{body}");
        }
        left -= chunk;
    }
}

/// Builds, approves and exports (every rail's format) a batch; returns it.
async fn paid_out(app: &TestApp, s: &Staff, key: &str) -> Value {
    let (status, batch) = app.post_with_key("/payout-batches", &s.maker.access, key, json!({})).await;
    assert_eq!(status, 201, "{batch}");
    let id = batch["id"].as_i64().unwrap();
    let (status, body) = app.post(&format!("/payout-batches/{id}/approve"), Some(&s.checker.access), json!({})).await;
    assert_eq!(status, 200, "{body}");
    for format in ["nacha", "paypal_csv", "wise_csv"] {
        let resp = app
            .client
            .get(app.url(&format!("/payout-batches/{id}/export?format={format}")))
            .bearer_auth(&s.maker.access)
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success() || resp.status() == 409, "{format}: {}", resp.status());
    }
    batch
}

fn item_of(batch: &Value, user: i64) -> Value {
    batch["items"].as_array().unwrap().iter().find(|i| i["contributor_id"] == user).cloned().unwrap_or(Value::Null)
}

async fn settle(app: &TestApp, s: &Staff, batch: i64, items: Value) -> Value {
    let (status, report) =
        app.post(&format!("/payout-batches/{batch}/settlement"), Some(&s.maker.access), json!({"items": items})).await;
    assert_eq!(status, 200, "{report}");
    report
}

async fn mail_with_subject(app: &TestApp, to: &str, needle: &str) -> crate::support::smtp::ReceivedMail {
    for _ in 0..200 {
        if let Some(m) = app.smtp.inbox.to(to).into_iter().find(|m| m.subject.contains(needle)) {
            return m;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no email {needle:?} for {to}: {:?}", app.smtp.inbox.to(to).iter().map(|m| &m.subject).collect::<Vec<_>>());
}

fn requirement<'a>(readiness: &'a Value, code: &str) -> &'a Value {
    readiness["requirements"].as_array().unwrap().iter().find(|r| r["code"] == code).unwrap_or(&Value::Null)
}

async fn year_end(app: &TestApp, s: &Staff, year: i32) -> Value {
    let (status, report) = app.get(&format!("/tax/1099-nec/{year}"), Some(&s.maker.access)).await;
    assert_eq!(status, 200, "{report}");
    report
}

fn payee_line(report: &Value, user: i64) -> Value {
    report["payees"].as_array().unwrap().iter().find(|p| p["user_id"] == user).cloned().unwrap_or(Value::Null)
}

async fn itin_holders_sign_a_w9_and_are_paid(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = staff(&app).await;
    let t = app.applicant("itin@example.com").await;
    for (tin_type, tin, code) in [
        ("itin", "912-93-1234", "itin_group"), // 93: an ATIN
        ("itin", "912-49-1234", "itin_group"),
        ("itin", "912-66-1234", "itin_group"),
        ("itin", "812-78-1234", "itin_area"),
        ("ssn", "912-45-1234", "ssn_area"), // neither an SSN nor an ITIN
        ("ssn", "666-78-1234", "ssn_area"),
    ] {
        let (status, body) = app.put("/me/tax-profile", Some(&t.access), w9(tin_type, tin, false)).await;
        assert_eq!((status, body["errors"][0]["code"].as_str()), (422, Some(code)), "{tin}: {body}");
        assert!(!body.to_string().contains(&tin.replace('-', "")), "never echoed");
    }
    // An ITIN typed in the W-9's SSN box (where the W-9 puts it) is recorded as an ITIN.
    let (status, v1) = app.put("/me/tax-profile", Some(&t.access), w9("ssn", "912-78-1234", false)).await;
    assert_eq!(status, 200, "the IRS's example 9NN-7N-NNNN: {v1}");
    assert_eq!((v1["tin_type"].as_str(), v1["tin"].as_str()), (Some("itin"), Some("***-**-1234")));
    for edge in [
        "900-50-0001",
        "999-65-0001",
        "900-70-0001",
        "900-88-0001",
        "900-90-0001",
        "900-92-0001",
        "900-94-0001",
        "900-99-0001",
    ] {
        let (status, body) = app.put("/me/tax-profile", Some(&t.access), w9("itin", edge, false)).await;
        assert_eq!(status, 200, "{edge}: {body}");
    }

    // And, the W-9 being on file, they are paid.
    let (id, _) = payee(&app, &s, "itin-payee@example.com", w9("itin", "912-78-1234", false), ach()).await;
    fund(&app, &s, id, 2500).await;
    let (status, batch) = app.post_with_key("/payout-batches", &s.maker.access, "itin-1", json!({})).await;
    assert_eq!(status, 201, "{batch}");
    assert_eq!(item_of(&batch, id)["gross_cents"], 2500);
}

async fn entities_give_an_ein_and_exempt_payees_are_neither_withheld_nor_reported(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut s = staff(&app).await;
    let t = app.applicant("corp@example.com").await;
    for classification in ["c_corporation", "s_corporation", "partnership", "llc_c", "llc_s", "llc_p"] {
        let mut body = w9("ssn", "123-45-6789", false);
        body["tax_classification"] = json!(classification);
        body["business_name"] = json!("Ortiz Labeling");
        let (status, body) = app.put("/me/tax-profile", Some(&t.access), body).await;
        assert_eq!(status, 422, "{classification}: {body}");
        assert_eq!(
            (body["errors"][0]["field"].as_str(), body["errors"][0]["code"].as_str()),
            (Some("tin_type"), Some("ein_required"))
        );
    }
    let mut individual = w9("ssn", "123-45-6789", false);
    individual["exempt_payee_code"] = json!("5");
    let (status, body) = app.put("/me/tax-profile", Some(&t.access), individual).await;
    assert_eq!((status, body["errors"][0]["code"].as_str()), (422, Some("individual_not_exempt")), "{body}");
    let mut unknown = w9("ein", "12-3456789", false);
    unknown["tax_classification"] = json!("other");
    unknown["exempt_payee_code"] = json!(14);
    assert_eq!(app.put("/me/tax-profile", Some(&t.access), unknown).await.0, 400);

    // A corporation: even with item 2 crossed out, nothing is withheld or reported.
    let mut corp = w9("ein", "12-3456789", true);
    corp["tax_classification"] = json!("c_corporation");
    corp["business_name"] = json!("Ortiz Labeling Inc.");
    corp["exempt_payee_code"] = json!(5);
    let (corp_id, corp_t) = payee(&app, &s, "inc@example.com", corp, ach()).await;
    let (_, profile) = app.get("/me/tax-profile", Some(&corp_t.access)).await;
    assert_eq!(profile["exempt_payee_code"], "5");
    assert!(profile["reporting_exemption"].is_string(), "{profile}");
    let (person_id, _) = payee(&app, &s, "person@example.com", w9("ssn", "123-45-6789", true), ach()).await;
    fund(&app, &s, corp_id, 300_000).await;
    fund(&app, &s, person_id, 10_000).await;
    let (_, status_view) = app.get(&format!("/contributors/{corp_id}/tax-status"), Some(&s.maker.access)).await;
    assert_eq!(status_view["backup_withholding"]["required"], false, "{status_view}");
    let batch = paid_out(&app, &s, "corp-1").await;
    assert_eq!(item_of(&batch, corp_id)["withheld_cents"], 0);
    assert_eq!(item_of(&batch, person_id)["withheld_cents"], 2400);
    let id = batch["id"].as_i64().unwrap();
    let lines: Vec<Value> = [corp_id, person_id]
        .iter()
        .map(|u| json!({"item_id": item_of(&batch, *u)["id"], "status": "paid", "rail_reference": "T"}))
        .collect();
    settle(&app, &s, id, json!(lines)).await;
    s.renew(&app).await;
    let report = year_end(&app, &s, app.state.clock.now().year()).await;
    let corp_line = payee_line(&report, corp_id);
    assert_eq!(
        (corp_line["reportable_cents"].as_i64(), corp_line["excluded_cents"].as_i64()),
        (Some(0), Some(300_000)),
        "{corp_line}"
    );
    assert_eq!(corp_line["form_due"], false);
    assert!(corp_line["excluded_reason"].as_str().unwrap().contains("exempt payee code 5"), "{corp_line}");
    assert_eq!(payee_line(&report, person_id)["federal_withheld_cents"], 2400);
}

async fn backup_withholding_only_on_rails_the_payer_reports(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut s = staff(&app).await;
    let (on_paypal, _) =
        payee(&app, &s, "pp@example.com", w9("ssn", "123-45-6789", true), paypal("pp@example.com")).await;
    let (on_ach, _) = payee(&app, &s, "bank@example.com", w9("ssn", "123-45-6781", true), ach()).await;
    for user in [on_paypal, on_ach] {
        fund(&app, &s, user, 3365).await;
    }
    let batch = paid_out(&app, &s, "bw-1").await;
    let pp = item_of(&batch, on_paypal);
    assert_eq!(
        (pp["gross_cents"].as_i64(), pp["withheld_cents"].as_i64(), pp["net_cents"].as_i64()),
        (Some(3365), Some(0), Some(3365)),
        "PayPal reports on Form 1099-K: {pp}"
    );
    let bank = item_of(&batch, on_ach);
    assert_eq!(
        (bank["withheld_cents"].as_i64(), bank["net_cents"].as_i64()),
        (Some(808), Some(2557)),
        "24% of 33.65: {bank}"
    );
    assert_eq!(batch["withheld_cents"], 808);
    let id = batch["id"].as_i64().unwrap();
    let lines: Vec<Value> = [on_paypal, on_ach]
        .iter()
        .map(|u| json!({"item_id": item_of(&batch, *u)["id"], "status": "paid", "rail_reference": "T"}))
        .collect();
    settle(&app, &s, id, json!(lines)).await;
    s.renew(&app).await;
    // Every cent withheld is credited in a box 4.
    let report = year_end(&app, &s, app.state.clock.now().year()).await;
    assert_eq!(report["totals"]["federal_withheld_cents"], 808, "{report}");
    assert_eq!(payee_line(&report, on_paypal)["federal_withheld_cents"], 0);
    assert_eq!(payee_line(&report, on_ach)["federal_withheld_cents"], 808);
    assert_ledger_balanced(&app).await;
}

async fn a_first_b_notice_reaches_the_payee_with_a_w9_request(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = staff(&app).await;
    let (id, t) = payee(&app, &s, "notice@example.com", w9("ssn", "123-45-6789", false), ach()).await;
    let received = app.state.clock.now().date();
    let (status, notice) = app
        .post(
            &format!("/contributors/{id}/b-notice"),
            Some(&s.maker.access),
            json!({"notice": "first", "received_on": received.to_string(), "note": "CP2100A, October"}),
        )
        .await;
    assert_eq!(status, 201, "{notice}");
    // Pub 1281: the notice within 15 business days, withholding after 30.
    let send_by = gatehouse::calendar::add_business_days(received, 15);
    let starts = gatehouse::calendar::add_business_days(received, 30);
    assert_eq!(notice["send_by"], send_by.to_string());
    assert_eq!(notice["withholding_starts_on"], starts.to_string());
    assert_eq!(notice["payee_notice_late"], false);
    let mail = mail_with_subject(&app, "notice@example.com", "Important tax notice").await;
    assert!(mail.subject.contains("corrected Form W-9"), "{}", mail.subject);
    assert!(mail.text.contains(&starts.to_string()) && mail.text.contains("***-**-6789"), "{}", mail.text);
    assert!(!mail.text.contains("123-45-6789") && !mail.text.contains("123456789"), "the TIN is masked");

    // Readiness says so at once, before any withholding.
    let (_, r) = app.get("/me/readiness", Some(&t.access)).await;
    let line = requirement(&r, "b_notice_w9");
    assert_eq!(
        (line["status"].as_str(), line["due_by"].as_str()),
        (Some("currently_due"), Some(starts.to_string().as_str())),
        "{r}"
    );
    assert_eq!(line["blocks"], json!([]));
    assert!(requirement(&r, "backup_withholding").is_null(), "not withheld yet: {r}");

    // A corrected, certified W-9 answers it.
    let (status, _) = app.put("/me/tax-profile", Some(&t.access), w9("ssn", "123-45-6781", false)).await;
    assert_eq!(status, 200);
    let (_, r) = app.get("/me/readiness", Some(&t.access)).await;
    assert!(requirement(&r, "b_notice_w9").is_null(), "{r}");

    // A notice recorded after its 15 business days says it was late.
    let (other, _) = payee(&app, &s, "late@example.com", w9("ssn", "123-45-6782", false), ach()).await;
    let old = received - Duration::days(40);
    let (status, late) = app
        .post(
            &format!("/contributors/{other}/b-notice"),
            Some(&s.maker.access),
            json!({"notice": "first", "received_on": old.to_string(), "note": "found in the mail"}),
        )
        .await;
    assert_eq!(status, 201, "{late}");
    assert_eq!(late["payee_notice_late"], true);

    // The second notice: withholding until the SSA or IRS validates the TIN.
    let (status, second) = app
        .post(
            &format!("/contributors/{id}/b-notice"),
            Some(&s.maker.access),
            json!({"notice": "second", "received_on": received.to_string(), "note": "second CP2100A"}),
        )
        .await;
    assert_eq!(status, 201, "{second}");
    assert_eq!(second["withholding_starts_on"], Value::Null);
    let mail = mail_with_subject(&app, "notice@example.com", "backup withholding").await;
    assert!(mail.text.contains("SSA-7028"), "{}", mail.text);
    let (_, r) = app.get("/me/readiness", Some(&t.access)).await;
    assert_eq!(requirement(&r, "b_notice_tin_validation")["status"], "past_due", "{r}");
    assert_eq!(requirement(&r, "backup_withholding")["status"], "currently_due");
}

async fn ach_returns_carry_their_code_and_a_return_after_payment_is_reversed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut s = staff(&app).await;
    let (closed, closed_t) = payee(&app, &s, "closed@example.com", w9("ssn", "123-45-6789", true), ach()).await;
    let (brief, brief_t) = payee(&app, &s, "brief@example.com", w9("ssn", "123-45-6781", false), ach()).await;
    let (on_paypal, _) =
        payee(&app, &s, "pp@example.com", w9("ssn", "123-45-6782", false), paypal("pp@example.com")).await;
    for user in [closed, brief, on_paypal] {
        fund(&app, &s, user, 2500).await;
    }
    let batch = paid_out(&app, &s, "ret-1").await;
    let id = batch["id"].as_i64().unwrap();
    let (closed_item, brief_item, pp_item) = (
        item_of(&batch, closed)["id"].clone(),
        item_of(&batch, brief)["id"].clone(),
        item_of(&batch, on_paypal)["id"].clone(),
    );
    assert_eq!(item_of(&batch, closed)["withheld_cents"], 600);

    // Return codes are NACHA's, for ACH items; a failure says why.
    let report = settle(
        &app,
        &s,
        id,
        json!([
            {"item_id": closed_item, "status": "returned"},
            {"item_id": closed_item, "status": "failed", "return_code": "R99"},
            {"item_id": pp_item, "status": "returned", "return_code": "R02"},
            {"item_id": closed_item, "status": "paid", "return_code": "R02"},
        ]),
    )
    .await;
    let outcomes: Vec<&str> =
        report["results"].as_array().unwrap().iter().map(|r| r["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["invalid", "invalid", "invalid", "invalid"], "{report}");

    // R01 is transient: the money is paid again to the same account.
    let report = settle(
        &app,
        &s,
        id,
        json!([
            {"item_id": closed_item, "status": "paid", "rail_reference": "TRACE-1"},
            {"item_id": brief_item, "status": "returned", "reason": "R01", "rail_reference": "TRACE-2"},
            {"item_id": pp_item, "status": "paid", "rail_reference": "PP-1"},
        ]),
    )
    .await;
    assert_eq!(report["applied"], 3, "{report}");
    assert_eq!(report["results"][1]["method_action"], "retry");
    let (_, methods) = app.get("/me/payout-methods", Some(&brief_t.access)).await;
    assert_eq!(methods["items"][0]["status"], "active", "{methods}");
    let mail = mail_with_subject(&app, "brief@example.com", "was returned").await;
    assert!(mail.text.contains("R01 Insufficient funds") && mail.text.contains("same account"), "{}", mail.text);

    s.renew(&app).await;
    let year = app.state.clock.now().year();
    let before = payee_line(&year_end(&app, &s, year).await, closed);
    assert_eq!(
        (before["reportable_cents"].as_i64(), before["federal_withheld_cents"].as_i64()),
        (Some(2500), Some(600))
    );

    // R02 days after the item was paid: reversed, not refused.
    let report = settle(
        &app,
        &s,
        id,
        json!([{"item_id": closed_item, "status": "returned", "return_code": "R02", "rail_reference": "RET-1"}]),
    )
    .await;
    assert_eq!(
        (report["results"][0]["outcome"].as_str(), report["results"][0]["status"].as_str()),
        (Some("applied"), Some("returned")),
        "{report}"
    );
    assert_eq!(report["results"][0]["method_action"], "update_method");
    let replay =
        settle(&app, &s, id, json!([{"item_id": closed_item, "status": "returned", "return_code": "R02"}])).await;
    assert_eq!(replay["results"][0]["outcome"], "unchanged", "booked once: {replay}");
    let again = settle(&app, &s, id, json!([{"item_id": closed_item, "status": "paid"}])).await;
    assert_eq!(again["results"][0]["outcome"], "conflict");

    let (_, earnings) = app.get("/me/earnings", Some(&closed_t.access)).await;
    assert_eq!(earnings["balances"]["available"], 2500, "net and withholding back: {earnings}");
    let (_, methods) = app.get("/me/payout-methods", Some(&closed_t.access)).await;
    assert_eq!(methods["items"][0]["status"], "needs_update");
    assert_eq!(methods["items"][0]["status_reason"], "R02 Account closed");
    let (_, mine) = app.get("/me/payouts", Some(&closed_t.access)).await;
    assert_eq!(
        (mine["items"][0]["status"].as_str(), mine["items"][0]["return_code"].as_str()),
        (Some("returned"), Some("R02")),
        "{mine}"
    );
    let after = payee_line(&year_end(&app, &s, year).await, closed);
    assert_eq!(after["reportable_cents"].as_i64().unwrap_or(0), 0, "box 1 no longer counts it: {after}");
    assert_eq!(after["federal_withheld_cents"].as_i64().unwrap_or(0), 0, "nor box 4");
    assert_ledger_balanced(&app).await;
    let clearing = ledger_balance(&app, "platform:payouts_clearing").await;
    assert_eq!(clearing, 2500, "the PayPal payment only: the ACH payment came back out");

    // The next batch pays the transient return again, the closed account not.
    let (status, next) = app.post_with_key("/payout-batches", &s.maker.access, "ret-2", json!({})).await;
    assert_eq!(status, 201, "{next}");
    assert_eq!(item_of(&next, brief)["gross_cents"], 2500);
    assert!(item_of(&next, closed).is_null());
    assert_eq!(next["skipped"][0]["reasons"], json!(["payout_method_needs_update"]));
}

/// The balance of a ledger account by its code, from the entries.
async fn ledger_balance(app: &TestApp, code: &'static str) -> i64 {
    use diesel::prelude::*;
    use gatehouse::db::schema::{ledger_accounts, ledger_entries};
    let state = app.state.clone();
    actix_web::web::block(move || {
        state.db.read_sync(|c| {
            let amounts: Vec<i64> = ledger_entries::table
                .inner_join(ledger_accounts::table)
                .filter(ledger_accounts::code.eq(code))
                .select(ledger_entries::amount_cents)
                .load(c)?;
            Ok(amounts.iter().sum())
        })
    })
    .await
    .unwrap()
    .unwrap()
}

async fn notifications_of_change_correct_the_method_without_a_new_hold(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let s = staff(&app).await;
    let (id, t) = payee(&app, &s, "noc@example.com", w9("ssn", "123-45-6789", false), ach()).await;
    let (pp, _) = payee(&app, &s, "pp@example.com", w9("ssn", "123-45-6781", false), paypal("pp@example.com")).await;
    fund(&app, &s, id, 2500).await;
    fund(&app, &s, pp, 2500).await;
    let (status, draft) = app.post_with_key("/payout-batches", &s.maker.access, "noc-0", json!({})).await;
    assert_eq!(status, 201, "{draft}");
    let draft_id = draft["id"].as_i64().unwrap();
    let (status, body) = app
        .post(
            &format!("/payout-batches/{draft_id}/notifications-of-change"),
            Some(&s.maker.access),
            json!({"items": [{"item_id": item_of(&draft, id)["id"], "change_code": "C02", "corrected_data": "021000021"}]}),
        )
        .await;
    assert_eq!((status, body["code"].as_str()), (409, Some("batch_not_exported")), "nothing was sent yet: {body}");
    let (status, _) =
        app.post(&format!("/payout-batches/{draft_id}/approve"), Some(&s.checker.access), json!({})).await;
    assert_eq!(status, 200);
    for format in ["nacha", "paypal_csv"] {
        let resp = app
            .client
            .get(app.url(&format!("/payout-batches/{draft_id}/export?format={format}")))
            .bearer_auth(&s.maker.access)
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success());
    }
    let item = item_of(&draft, id)["id"].clone();
    settle(&app, &s, draft_id, json!([{"item_id": item, "status": "paid", "rail_reference": "T-1"}])).await;

    let noc = |lines: Value| {
        let app = &app;
        let token = s.maker.access.clone();
        async move {
            let (status, body) = app
                .post(
                    &format!("/payout-batches/{draft_id}/notifications-of-change"),
                    Some(&token),
                    json!({"items": lines}),
                )
                .await;
            assert_eq!(status, 200, "{body}");
            body
        }
    };
    let report = noc(json!([
        {"item_id": item, "change_code": "C10", "corrected_data": "X"},
        {"item_id": item, "change_code": "C02", "corrected_data": "021000022"},
        {"item_id": item, "change_code": "C01", "corrected_data": "12"},
        {"item_id": item_of(&draft, pp)["id"], "change_code": "C01", "corrected_data": "5550001234"},
        {"item_id": 999999, "change_code": "C01", "corrected_data": "5550001234"},
    ]))
    .await;
    let outcomes: Vec<&str> =
        report["results"].as_array().unwrap().iter().map(|r| r["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["invalid", "invalid", "invalid", "invalid", "not_found"], "{report}");
    assert!(!report.to_string().contains("5550001234"), "corrected data is never echoed");

    // C07: routing in 1-9, account in 10-26, transaction code (32: savings) in 27-28.
    let report = noc(json!([
        {"item_id": item, "change_code": "C07", "corrected_data": "0210000215550001234       32"},
        {"item_id": item, "change_code": "C09", "corrected_data": "GH-1"},
    ]))
    .await;
    assert_eq!(report["applied"], 1, "{report}");
    assert_eq!(report["results"][0]["destination"], "ACH savings ****1234");
    assert_eq!(report["results"][1]["outcome"], "recorded");
    let replay =
        noc(json!([{"item_id": item, "change_code": "C07", "corrected_data": "0210000215550001234       32"}])).await;
    assert_eq!(replay["results"][0]["outcome"], "unchanged");

    let (_, methods) = app.get("/me/payout-methods", Some(&t.access)).await;
    let current = &methods["items"][0];
    assert_eq!(
        (current["destination"].as_str(), current["on_hold"].as_bool()),
        (Some("ACH savings ****1234"), Some(false)),
        "banks correct their own data: no new hold: {methods}"
    );
    assert_eq!(methods["items"][1]["status"], "replaced");
    let mail = mail_with_subject(&app, "noc@example.com", "payout method was changed").await;
    assert!(mail.text.contains("C07") && mail.text.contains("ACH savings ****1234"), "{}", mail.text);

    // The next batch pays the corrected account at once.
    fund(&app, &s, id, 1500).await;
    let next = paid_out(&app, &s, "noc-1").await;
    assert_eq!(item_of(&next, id)["destination"], "ACH savings ****1234");
    let next_id = next["id"].as_i64().unwrap();
    let file = app
        .client
        .get(app.url(&format!("/payout-batches/{next_id}/export?format=nacha")))
        .bearer_auth(&s.maker.access)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let entry = file.lines().find(|l| l.starts_with('6')).unwrap();
    assert_eq!(&entry[1..3], "32", "savings credit: {entry}");
    assert_eq!(&entry[3..12], "021000021");
    assert_eq!(entry[12..29].trim(), "5550001234");
    let (_, audit) = app.get("/admin/audit?action=payout_item.change_notice", Some(&s.admin.access)).await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 2, "{audit}");
}

async fn undeliverable_money_is_tracked_as_unclaimed_property(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut s = staff(&app).await;
    let (failing, _) = payee(&app, &s, "failing@example.com", w9("ssn", "123-45-6789", false), ach()).await;
    let (fine, _) = payee(&app, &s, "fine@example.com", w9("ssn", "123-45-6781", false), ach()).await;
    let nobody = app.applicant("nomethod@example.com").await;
    let nobody_id = app.user_id(&nobody).await;
    fund(&app, &s, failing, 2500).await;
    fund(&app, &s, fine, 2500).await;
    let batch = paid_out(&app, &s, "uc-1").await;
    let id = batch["id"].as_i64().unwrap();
    settle(
        &app,
        &s,
        id,
        json!([
            {"item_id": item_of(&batch, failing)["id"], "status": "returned", "reason": "account closed per bank"},
            {"item_id": item_of(&batch, fine)["id"], "status": "paid"},
        ]),
    )
    .await;
    fund(&app, &s, nobody_id, 400).await;
    fund(&app, &s, fine, 500).await;

    let (status, list) = app.get("/payouts/unclaimed", Some(&s.maker.access)).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["dormancy_days"], 365);
    let line = |list: &Value, user: i64| {
        list["items"].as_array().unwrap().iter().find(|l| l["contributor_id"] == user).cloned().unwrap_or(Value::Null)
    };
    let f = line(&list, failing);
    assert_eq!(
        (f["reasons"].clone(), f["available_cents"].as_i64(), f["state"].as_str()),
        (json!(["payment_failed"]), Some(2500), Some("TX")),
        "{list}"
    );
    assert_eq!(f["status"], "dormant");
    assert_eq!(line(&list, nobody_id)["reasons"], json!(["no_payout_method", "below_minimum"]));
    assert_eq!(line(&list, fine)["reasons"], json!(["below_minimum"]));
    let today = app.state.clock.now().date();
    assert_eq!(f["reportable_on"], (today + Duration::days(365)).to_string(), "a year after the last sign of interest");

    app.clock.advance(Duration::days(200));
    s.renew(&app).await;
    let (_, list) = app.get("/payouts/unclaimed", Some(&s.maker.access)).await;
    assert_eq!(line(&list, failing)["status"], "due_diligence", "notify the owner 180 to 60 days before");
    app.clock.advance(Duration::days(170));
    s.renew(&app).await;
    let (_, list) = app.get("/payouts/unclaimed", Some(&s.maker.access)).await;
    assert_eq!(line(&list, failing)["status"], "reportable");
    let (status, _) = app.get("/payouts/unclaimed", Some(&nobody.access)).await;
    assert!(status == 401 || status == 403, "{status}");
}

async fn the_january_job_issues_forms_without_an_indexed_threshold(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut s = staff(&app).await;
    let (id, _) = payee(&app, &s, "jan@example.com", w9("ssn", "123-45-6789", false), ach()).await;
    let today = app.state.clock.now().date();
    let in_2027 = NaiveDate::from_ymd_opt(2027, 3, 1).unwrap();
    if today < in_2027 {
        app.clock.advance(in_2027 - today);
    }
    s.renew(&app).await;
    let paid_year = app.state.clock.now().year();
    fund(&app, &s, id, 210_000).await;
    let batch = paid_out(&app, &s, "jan-1").await;
    settle(&app, &s, batch["id"].as_i64().unwrap(), json!([{"item_id": item_of(&batch, id)["id"], "status": "paid"}]))
        .await;

    let january = NaiveDate::from_ymd_opt(paid_year + 1, 1, 5).unwrap();
    app.clock.advance(january - app.state.clock.now().date());
    s.renew(&app).await;
    let (status, report) = app.post("/admin/jobs/run-due", Some(&s.admin.access), json!({})).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["year_end"]["issued"], 1, "not silently skipped: {report}");
    let mail = mail_with_subject(&app, "admin@gatehouse.test", "No 1099-NEC threshold").await;
    assert!(mail.text.contains("PUT /api/v1/admin/tax-thresholds"), "{}", mail.text);
    let (_, again) = app.post("/admin/jobs/run-due", Some(&s.admin.access), json!({})).await;
    assert_eq!(again["year_end"]["unchanged"], 1);
    assert_eq!(
        app.smtp.inbox.to("admin@gatehouse.test").iter().filter(|m| m.subject.contains("No 1099-NEC")).count(),
        1,
        "told once"
    );
    let report = year_end(&app, &s, paid_year).await;
    assert_eq!(
        (report["threshold_cents"].as_i64(), report["threshold_assumed_from"].as_i64()),
        (Some(200_000), Some(2026)),
        "{report}"
    );
}
