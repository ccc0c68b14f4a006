use chrono::Duration;
use serde_json::{json, Value};

use crate::both_backends;
use crate::support::{logs, Backend, TestApp};

both_backends!(
    w9_validates_masks_and_versions_tins,
    b_notices_drive_backup_withholding,
    thresholds_and_rails_are_data,
    an_unknown_stored_rail_is_an_error_never_a_default,
    an_unknown_stored_exempt_payee_code_is_an_error_never_not_exempt,
);

fn w9(tin_type: &str, tin: &str) -> Value {
    json!({
        "legal_name": "Dana Whitfield", "tax_classification": "individual",
        "address_line1": "1 Elm St", "city": "Austin", "region": "tx", "postal_code": "78701",
        "tin_type": tin_type, "tin": tin, "signature_name": "Dana Whitfield", "certify": true
    })
}

async fn w9_validates_masks_and_versions_tins(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = app.applicant("dana@example.com").await;
    let mut seen = Vec::new();

    let r = app.get("/me/readiness", Some(&t.access)).await.1;
    let w9_line =
        |r: &Value| r["requirements"].as_array().unwrap().iter().find(|x| x["code"] == "w9_on_file").unwrap().clone();
    assert_eq!(w9_line(&r)["status"], "currently_due");
    assert_eq!(w9_line(&r)["blocks"], json!(["payouts"]));
    assert_eq!(r["can_be_paid"], false);

    for (bad, code) in [
        ("000-12-3456", "ssn_area"),
        ("666-12-3456", "ssn_area"),
        ("912-34-5678", "ssn_area"),
        ("123-00-4567", "ssn_group"),
        ("123-45-0000", "ssn_serial"),
        ("12345678", "nine_digits"),
    ] {
        let (status, body) = app.put("/me/tax-profile", Some(&t.access), w9("ssn", bad)).await;
        assert_eq!(status, 422, "{bad}: {body}");
        assert_eq!(body["errors"][0]["code"], code, "{bad}: {body}");
        assert!(!body.to_string().contains(&bad.replace('-', "")), "the TIN is not echoed");
        seen.push(body.to_string());
    }
    let mut unsigned = w9("ssn", "123-45-6789");
    unsigned["signature_name"] = json!("Someone Else");
    unsigned["certify"] = json!(false);
    let (status, body) = app.put("/me/tax-profile", Some(&t.access), unsigned).await;
    assert_eq!(status, 422);
    let fields: Vec<&str> = body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["certify", "signature_name"]);

    let (status, v1) = app.put("/me/tax-profile", Some(&t.access), w9("ssn", "123-45-6789")).await;
    assert_eq!(status, 200, "{v1}");
    assert_eq!(v1["tin"], "***-**-6789");
    assert_eq!(v1["version"], 1);
    assert_eq!(v1["region"], "TX");
    seen.push(v1.to_string());
    let mut ein = w9("ein", "12-3456781");
    ein["business_name"] = json!("Whitfield Labeling LLC");
    ein["tax_classification"] = json!("llc_s");
    let (status, v2) = app.put("/me/tax-profile", Some(&t.access), ein).await;
    assert_eq!(status, 200, "{v2}");
    assert_eq!(v2["tin"], "**-***6781");
    assert_eq!(v2["version"], 2);
    let (status, current) = app.get("/me/tax-profile", Some(&t.access)).await;
    assert_eq!(status, 200);
    assert_eq!(current["version"], 2);
    seen.push(current.to_string());
    let r = app.get("/me/readiness", Some(&t.access)).await.1;
    assert_eq!(w9_line(&r)["status"], "satisfied");
    seen.push(r.to_string());

    // Stored encrypted; never in a response, the audit log, an email or a log line.
    let state = app.state.clone();
    let stored: Vec<String> = actix_web::web::block(move || {
        use diesel::prelude::*;
        use gatehouse::db::schema::tax_profiles;
        let mut conn = state.db.get().unwrap();
        tax_profiles::table.select(tax_profiles::tin_enc).load::<String>(&mut *conn).unwrap()
    })
    .await
    .unwrap();
    assert_eq!(stored.len(), 2);
    assert_eq!(app.state.cipher.decrypt_str(&stored[0]).unwrap(), "123456789");
    let admin = app.admin().await;
    let finance = app.staff(&admin, "fin@gatehouse.test", &["finance"]).await;
    let uid = app.user_id(&t).await;
    let (status, status_view) = app.get(&format!("/contributors/{uid}/tax-status"), Some(&finance.access)).await;
    assert_eq!(status, 200, "{status_view}");
    assert_eq!(status_view["profile"]["tin"], "**-***6781");
    seen.push(status_view.to_string());
    let (_, audit) = app.get("/admin/audit?action=tax_profile.signed", Some(&admin.access)).await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 2);
    seen.push(audit.to_string());
    let mails: Vec<String> = app.smtp.inbox.all().iter().map(|m| format!("{} {}", m.text, m.html)).collect();
    seen.extend(mails);
    seen.push(logs::captured());
    for body in &seen {
        for tin in ["123456789", "123-45-6789", "123456781", "12-3456781"] {
            assert!(!body.contains(tin), "full TIN {tin} found in {body}");
        }
    }
}

async fn b_notices_drive_backup_withholding(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    let mut finance = app.staff(&admin, "fin@gatehouse.test", &["finance"]).await;
    let mut t = app.applicant("bn@example.com").await;
    let uid = app.user_id(&t).await;
    let status_of = |v: &Value| v["backup_withholding"].clone();

    // No TIN yet: withholding applies.
    let (_, s) = app.get(&format!("/contributors/{uid}/tax-status"), Some(&finance.access)).await;
    assert_eq!(status_of(&s)["required"], true);
    assert_eq!(status_of(&s)["reasons"], json!(["tin_missing"]));
    assert_eq!(status_of(&s)["rate"], "0.24");
    app.put("/me/tax-profile", Some(&t.access), w9("ssn", "123-45-6789")).await;
    let (_, s) = app.get(&format!("/contributors/{uid}/tax-status"), Some(&finance.access)).await;
    assert_eq!(status_of(&s)["required"], false);

    let today = app.state.clock.now().date();
    let path = format!("/contributors/{uid}/b-notice");
    let (status, _) =
        app.post(&path, Some(&t.access), json!({"notice": "first", "received_on": today, "note": "x"})).await;
    assert_eq!(status, 403);
    let (status, body) = app
        .post(&path, Some(&finance.access), json!({"notice": "second", "received_on": today, "note": "CP2100A"}))
        .await;
    assert_eq!(status, 422, "a second notice needs a first: {body}");
    let (status, first) = app
        .post(&path, Some(&finance.access), json!({"notice": "first", "received_on": today, "note": "CP2100"}))
        .await;
    assert_eq!(status, 201, "{first}");

    // 30 business days to certify a corrected TIN, then withholding starts.
    let (_, s) = app.get(&format!("/contributors/{uid}/tax-status"), Some(&finance.access)).await;
    assert_eq!(status_of(&s)["required"], false);
    app.clock.advance(Duration::days(45));
    app.renew(&mut finance, "fin@gatehouse.test").await;
    app.renew(&mut t, "bn@example.com").await;
    let (_, s) = app.get(&format!("/contributors/{uid}/tax-status"), Some(&finance.access)).await;
    assert_eq!(status_of(&s)["reasons"], json!(["first_b_notice"]));
    let r = app.get("/me/readiness", Some(&t.access)).await.1;
    let line =
        r["requirements"].as_array().unwrap().iter().find(|x| x["code"] == "backup_withholding").unwrap().clone();
    assert!(line["how_to_fix"].as_str().unwrap().contains("24%"), "{line}");

    // A newly certified W-9 cures a first notice.
    app.put("/me/tax-profile", Some(&t.access), w9("ssn", "123-45-6780")).await;
    let (_, s) = app.get(&format!("/contributors/{uid}/tax-status"), Some(&finance.access)).await;
    assert_eq!(status_of(&s)["required"], false, "{s}");

    // A second notice stands whatever the W-9 says, until finance clears it.
    let today = app.state.clock.now().date();
    let (status, second) = app
        .post(&path, Some(&finance.access), json!({"notice": "second", "received_on": today, "note": "CP2100A"}))
        .await;
    assert_eq!(status, 201, "{second}");
    app.put("/me/tax-profile", Some(&t.access), w9("ssn", "123-45-6781")).await;
    let (_, s) = app.get(&format!("/contributors/{uid}/tax-status"), Some(&finance.access)).await;
    assert_eq!(status_of(&s)["reasons"], json!(["second_b_notice"]));
    let clear = format!("/contributors/{uid}/b-notice/{}/clear", second["id"]);
    let (status, _) = app.post(&clear, Some(&finance.access), json!({"reason": "SSA validated the TIN"})).await;
    assert_eq!(status, 200);
    let (status, _) = app.post(&clear, Some(&finance.access), json!({"reason": "again"})).await;
    assert_eq!(status, 409);
    let (_, s) = app.get(&format!("/contributors/{uid}/tax-status"), Some(&finance.access)).await;
    assert_eq!(status_of(&s)["required"], false, "{s}");
    assert_eq!(s["b_notices"].as_array().unwrap().len(), 2);
}

async fn thresholds_and_rails_are_data(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    let (status, list) = app.get("/tax/thresholds", Some(&admin.access)).await;
    assert_eq!(status, 200, "{list}");
    let of = |list: &Value, year: i64| {
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["payment_year"] == year)
            .map(|t| t["threshold_cents"].clone())
    };
    assert_eq!(of(&list, 2025), Some(json!(60000)));
    assert_eq!(of(&list, 2026), Some(json!(200000)));
    assert_eq!(of(&list, 2027), None);
    let (status, body) = app
        .put(
            "/admin/tax-thresholds/2027",
            Some(&admin.access),
            json!({"threshold_cents": 205000, "source": "inflation adjustment"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, list) = app.get("/tax/thresholds", Some(&admin.access)).await;
    assert_eq!(of(&list, 2027), Some(json!(205000)));
    let applicant = app.applicant("x@example.com").await;
    let (status, _) = app.get("/tax/thresholds", Some(&applicant.access)).await;
    assert_eq!(status, 403);
    let (status, _) = app
        .put("/admin/tax-thresholds/2028", Some(&applicant.access), json!({"threshold_cents": 1, "source": "x"}))
        .await;
    assert_eq!(status, 403);
}

/// The year-end report reads the rails' reporting rules typed (`Rail`): a rail no enum
/// knows is refused by the CHECK when written by hand, and where the CHECK is bypassed,
/// the report is a logged 500, never a rail whose payments count as reportable.
async fn an_unknown_stored_rail_is_an_error_never_a_default(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    let finance = app.staff(&admin, "fin@gatehouse.test", &["finance"]).await;
    let (status, report) = app.get("/tax/1099-nec/2026", Some(&finance.access)).await;
    assert_eq!(status, 200, "{report}");
    let rails: Vec<&str> = report["rails"].as_array().unwrap().iter().map(|r| r["rail"].as_str().unwrap()).collect();
    assert_eq!(rails, ["ach", "paypal", "wise"]);

    let pigeon = "INSERT INTO payout_rails (rail, reported_by_rail, reporting_note) VALUES ('pigeon', FALSE, 'by air')"
        .to_string();
    let refused = crate::payouts::raw_sql(&app, vec![pigeon.clone()]).await;
    assert!(refused.is_err(), "the database accepted {pigeon}");
    let bypass = crate::payouts::past_checks(backend, &[("payout_rails", "payout_rails_rail_check")], vec![pigeon]);
    crate::payouts::raw_sql(&app, bypass).await.unwrap();
    let (status, body) = app.get("/tax/1099-nec/2026", Some(&finance.access)).await;
    assert_eq!((status, body["code"].as_str()), (500, Some("internal_error")), "{body}");
    assert!(logs::captured().contains("unknown Rail \"pigeon\""), "the cause is logged");
}

/// A W-9's exempt payee code is read typed (`ExemptPayeeCode`, 1 to 13): a code written
/// by hand outside the chart is refused by the CHECK, and where the CHECK is bypassed,
/// reading the W-9 is a logged 500, never a payee treated as not exempt (and so reported
/// and withheld on).
async fn an_unknown_stored_exempt_payee_code_is_an_error_never_not_exempt(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = app.applicant("exempt@example.com").await;
    let mut corp = w9("ein", "12-3456789");
    corp["tax_classification"] = json!("c_corporation");
    corp["business_name"] = json!("Whitfield Labs Inc");
    corp["exempt_payee_code"] = json!(" 05 ");
    let (status, body) = app.put("/me/tax-profile", Some(&t.access), corp).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["exempt_payee_code"], "5", "{body}");

    let ninety_nine = "UPDATE tax_profiles SET exempt_payee_code = '99'".to_string();
    let refused = crate::payouts::raw_sql(&app, vec![ninety_nine.clone()]).await;
    assert!(refused.is_err(), "the database accepted {ninety_nine}");
    let bypass = crate::payouts::past_checks(
        backend,
        &[("tax_profiles", "tax_profiles_exempt_payee_code_check")],
        vec![ninety_nine],
    );
    crate::payouts::raw_sql(&app, bypass).await.unwrap();
    let (status, body) = app.get("/me/tax-profile", Some(&t.access)).await;
    assert_eq!((status, body["code"].as_str()), (500, Some("internal_error")), "{body}");
    assert!(logs::captured().contains("unknown ExemptPayeeCode \"99\""), "the cause is logged");
}
