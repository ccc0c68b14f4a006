//! The console as an operations tool (issue 22): search, sort, pages and CSV downloads
//! of its lists, bulk approval of work records, claim next, form errors on the same
//! page, staff deactivation and invitations, the audit log with names and changes, and
//! axe-core on every page — in headless Chromium on both backends.

use diesel::RunQueryDsl;
use fantoccini::Locator;
use gatehouse::clock::Clock;
use serde_json::{json, Value};

use crate::both_backends;
use crate::console::Session;
use crate::support::browser::Browser;
use crate::support::{Backend, TestApp, Tokens, PASSWORD};
use crate::work::{ingest, record, world};

both_backends!(
    one_contributor_among_a_thousand_is_found_sorted_paged_and_downloaded,
    fifty_work_records_are_approved_in_bulk_and_two_refusals_reported,
    refused_forms_show_their_errors_beside_the_fields,
    staff_are_deactivated_and_invited_again,
    the_audit_log_names_people_shows_changes_and_downloads_a_date_range,
    every_console_page_passes_axe,
    a_queue_longer_than_one_read_is_searched_sorted_and_downloaded_whole,
    payout_batches_and_their_items_are_searched_filtered_sorted_paged_and_downloaded,
    review_queues_search_filter_and_page_in_the_query,
    the_rubric_is_shown_beside_a_free_text_answer_and_its_queue_has_a_trend,
    late_payments_and_who_is_left_out_are_searched_sorted_and_downloaded,
    staff_and_project_types_are_searched_filtered_sorted_and_downloaded,
);

/// 1,000 contributors in two statements (plus one whose name a spreadsheet would read
/// as a formula): `Person 0001` … `Person 1000`, `p0001@bulk.example` …, joined on
/// 2026-10-01 … 2026-10-28.
fn seed_contributors(app: &TestApp) {
    let mut values: Vec<String> = (1..=1000)
        .map(|i| {
            format!(
                "('p{i:04}@bulk.example', 'Person {i:04}', 'active', '2026-10-{:02} 09:00:00', '2026-10-01 09:00:00')",
                (i % 28) + 1
            )
        })
        .collect();
    values.push(
        "('formula@bulk.example', '=1+1 Formula', 'active', '2026-10-01 09:00:00', '2026-10-01 09:00:00')".into(),
    );
    let insert =
        format!("INSERT INTO users (email, full_name, status, created_at, updated_at) VALUES {}", values.join(", "));
    app.state
        .db
        .tx_sync(|conn| {
            diesel::sql_query(insert).execute(conn)?;
            diesel::sql_query(
                "INSERT INTO user_roles (user_id, role) SELECT id, 'applicant' FROM users WHERE email LIKE '%@bulk.example'",
            )
            .execute(conn)?;
            Ok(())
        })
        .unwrap();
}

async fn rows(b: &Browser, css: &str) -> Vec<String> {
    let mut out = Vec::new();
    for el in b.client.find_all(Locator::Css(css)).await.unwrap() {
        out.push(el.text().await.unwrap());
    }
    out
}

async fn one_contributor_among_a_thousand_is_found_sorted_paged_and_downloaded(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.admin().await;
    seed_contributors(&app);
    let Some(b) = Browser::start().await else { return };
    b.sign_in(&app.base, "admin@gatehouse.test", PASSWORD).await;
    b.navigate("a[href='/console/contributors']").await;
    assert_eq!(rows(&b, "#contributors tbody tr").await.len(), 50, "50 a page");
    b.assert_accessible("contributors").await;

    // Search: one among 1,001, by name, then by email, then by id.
    b.fill("#q", "Person 0537").await;
    b.navigate("form[role=search] button[type=submit]").await;
    let found = rows(&b, "#contributors tbody tr").await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("p0537@bulk.example"), "{found:?}");
    b.screenshot("contributors-search").await;
    b.fill("#q", "P0812@BULK").await;
    b.navigate("form[role=search] button[type=submit]").await;
    let found = rows(&b, "#contributors tbody tr").await;
    assert_eq!(found.len(), 1, "case-insensitive email search: {found:?}");
    let id: i64 = found[0].split_whitespace().next().unwrap().parse().unwrap();
    b.fill("#q", &id.to_string()).await;
    b.navigate("form[role=search] button[type=submit]").await;
    let found = rows(&b, "#contributors tbody tr").await;
    assert!(found.iter().any(|r| r.contains("Person 0812")), "{found:?}");
    b.fill("#q", "50%").await;
    b.navigate("form[role=search] button[type=submit]").await;
    assert!(b.body().await.contains("No contributor matches"), "a wildcard is a literal character");

    // Sort by name, descending (two clicks on the header), then the second page.
    b.fill("#q", "").await;
    b.navigate("form[role=search] button[type=submit]").await;
    b.navigate("#sort-2").await;
    assert!(rows(&b, "#contributors tbody tr").await[0].contains("=1+1 Formula"), "ascending: '=' sorts first");
    b.navigate("#sort-2").await;
    let page1 = rows(&b, "#contributors tbody tr").await;
    assert!(page1[0].contains("Person 1000"), "descending: {:?}", &page1[..2]);
    assert_eq!(b.text("th[aria-sort=descending]").await.trim(), "Name ▼");
    b.navigate("#next-page").await;
    let page2 = rows(&b, "#contributors tbody tr").await;
    assert_eq!(page2.len(), 50);
    assert!(page2[0].contains("Person 0950"), "the second page goes on where the first ended: {:?}", &page2[..2]);
    assert!(page2[49].contains("Person 0901"), "{:?}", &page2[49]);
    b.assert_accessible("contributors, second page").await;

    // The CSV of a search: every match (not only the page), in the chosen order.
    b.fill("#q", "Person 09").await;
    b.navigate("form[role=search] button[type=submit]").await;
    assert_eq!(rows(&b, "#contributors tbody tr").await.len(), 50);
    b.click("#csv").await;
    let (name, bytes) = b.downloaded().await;
    assert_eq!(name, "contributors.csv");
    let mut csv = csv::Reader::from_reader(bytes.as_slice());
    assert_eq!(csv.headers().unwrap().iter().collect::<Vec<_>>(), ["id", "name", "email", "status", "joined"]);
    let records: Vec<csv::StringRecord> = csv.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 100, "Person 0900 … Person 0999");
    assert_eq!(&records[0][1], "Person 0999", "sorted by name, descending, as on the page");
    assert_eq!(&records[99][2], "p0900@bulk.example");
    b.close().await;

    // A formula-leading cell is neutralized, as in every export; a status filter and a
    // date range select on the server too.
    let mut s = Session::new(&app);
    s.sign_in("admin@gatehouse.test").await;
    let page = s.get("/console/contributors?q=formula&format=csv").await;
    assert_eq!(page.status, 200);
    let mut csv = csv::Reader::from_reader(page.body.as_bytes());
    let record = csv.records().next().unwrap().unwrap();
    assert_eq!(&record[1], "'=1+1 Formula", "{}", page.body);
    let page = s.get("/console/contributors?from=2026-10-02&to=2026-10-02&format=csv").await;
    let count = csv::Reader::from_reader(page.body.as_bytes()).records().count();
    assert_eq!(count, 36, "i % 28 == 1 for 36 of 1..=1000: {}", page.body);
    let page = s.get("/console/contributors?format=csv").await;
    let count = csv::Reader::from_reader(page.body.as_bytes()).records().count();
    assert_eq!(count, 1001, "every contributor, past the first 500-row chunk");
    let page = s.get("/console/contributors?status=suspended").await;
    assert!(page.body.contains("No contributor matches"), "{}", page.body);
    let page = s.get("/console/contributors?status=dormant").await;
    assert_eq!(page.status, 422, "an unknown status is refused, never read as any: {}", page.body);
    let page = s.get("/console/contributors?sort=name%3B%20drop%20table%20users&cursor=zz").await;
    assert_eq!(page.status, 422, "a cursor this list did not write is refused: {}", page.body);
    for bad in ["sort=name%3B%20drop%20table%20users", "sort=name&dir=sideways", "dir=DESC"] {
        let page = s.get(&format!("/console/contributors?{bad}")).await;
        assert_eq!(page.status, 422, "{bad}: an unknown order is refused, never read as the default: {}", page.body);
    }
    let page = s.get("/console/contributors?sort=name&dir=desc").await;
    assert_eq!(page.status, 200, "{}", page.body);
}

fn user_id_by_email(app: &TestApp, email: &str) -> i64 {
    use diesel::prelude::*;
    use gatehouse::db::schema::users;
    let email = email.to_string();
    app.state
        .db
        .read_sync(|c| Ok(users::table.filter(users::email.eq(email)).select(users::id).first::<i64>(c)?))
        .unwrap()
}

async fn audit_count(app: &TestApp, admin: &Tokens, action: &str, actor: i64) -> usize {
    let (status, body) =
        app.get(&format!("/admin/audit?action={action}&actor_id={actor}&limit=200"), Some(&admin.access)).await;
    assert_eq!(status, 200, "{body}");
    body["items"].as_array().unwrap().len()
}

async fn fifty_work_records_are_approved_in_bulk_and_two_refusals_reported(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let w = world(&app, 1).await;
    let (ana_id, _) = w.contributors[0].clone();
    let records: Vec<Value> =
        (0..55).map(|i| record(ana_id, w.open_project, &format!("task-{i:02}"), "units", "2", "1.50")).collect();
    let body = ingest(&app, &w.finance, records).await;
    let ids: Vec<i64> = body["items"].as_array().unwrap().iter().map(|i| i["id"].as_i64().unwrap()).collect();
    assert_eq!(ids.len(), 55);
    // Reviewer B holds two of the oldest fifty: A's bulk approval may not take them.
    for id in [ids[3], ids[40]] {
        let (status, body) =
            app.post(&format!("/review/work-records/{id}/claim"), Some(&w.reviewer_b.access), json!({})).await;
        assert_eq!(status, 200, "{body}");
    }
    let reviewer_a = app.user_id(&w.reviewer_a).await;

    let Some(b) = Browser::start().await else { return };
    b.sign_in(&app.base, "rev-a@gatehouse.test", PASSWORD).await;
    b.goto(&format!("{}/console/review/work-records", app.base)).await;
    let page1 = rows(&b, "#queue tbody tr").await;
    assert_eq!(page1.len(), 50);
    assert!(b.text("#queue caption").await.starts_with("55 waiting"), "{}", b.text("#queue caption").await);
    assert!(page1[3].contains("Staff Member until"), "the claim holder by name: {}", page1[3]);
    assert!(page1[0].contains("worker0@example.com"), "the person's email: {}", page1[0]);
    b.assert_accessible("work-records queue").await;

    // The second page: the five newest.
    b.navigate("#next-page").await;
    let page2 = rows(&b, "#queue tbody tr").await;
    assert_eq!(page2.len(), 5, "{page2:?}");
    assert!(page2[4].contains("task-54"), "{page2:?}");
    // Search by task reference; sort by id, newest first.
    b.goto(&format!("{}/console/review/work-records?q=task-17", app.base)).await;
    let found = rows(&b, "#queue tbody tr").await;
    assert_eq!(found.len(), 1, "{found:?}");
    b.goto(&format!("{}/console/review/work-records", app.base)).await;
    b.navigate("#sort-2").await;
    b.navigate("#sort-2").await;
    assert!(rows(&b, "#queue tbody tr").await[0].contains("task-54"), "by id, descending");

    // Tick the oldest fifty and approve them.
    b.goto(&format!("{}/console/review/work-records", app.base)).await;
    b.client
        .execute("document.querySelectorAll('input[name=ids]').forEach(c => { c.checked = true; });", vec![])
        .await
        .unwrap();
    b.screenshot("bulk-approval").await;
    b.navigate("#bulk-approve").await;
    let result = b.text("#bulk-result").await;
    assert!(result.contains("48 approved"), "{result}");
    assert!(result.contains("2 refused"), "{result}");
    for id in [ids[3], ids[40]] {
        let why = b.text(&format!("#refused-{id}")).await;
        assert!(why.contains("another reviewer holds the claim"), "refused with the reason: {why}");
    }
    b.screenshot("bulk-result").await;
    b.assert_accessible("bulk approval result").await;

    // Each approval went through the single-approval rule: one decision audit record
    // each, a decision in the contributor's history, money held in the ledger.
    assert_eq!(audit_count(&app, &w.admin, "work_record.decided", reviewer_a).await, 48);
    // One audit record per record decided: the decision says it was a bulk approval;
    // the claim taken for it is not a record of its own.
    // (The ledger keeps its own record of each posting, as for any approval.)
    assert_eq!(audit_count(&app, &w.admin, "work_record.claimed", reviewer_a).await, 0);
    let (_, audit) = app
        .get(&format!("/admin/audit?actor_id={reviewer_a}&subject_type=work_record&limit=200"), Some(&w.admin.access))
        .await;
    let by_a = audit["items"].as_array().unwrap();
    assert_eq!(by_a.len(), 48, "{audit}");
    for item in by_a {
        assert_eq!(item["action"], "work_record.decided", "{item}");
        assert_eq!(item["summary"]["bulk"], true, "{item}");
        assert_ne!(item["subject_id"], ids[3].to_string(), "a refused record has no audit record");
        assert_ne!(item["subject_id"], ids[40].to_string(), "a refused record has no audit record");
    }
    let (_, queue) = app.get("/review/work-records?limit=200", Some(&w.reviewer_a.access)).await;
    let waiting: Vec<i64> = queue["items"].as_array().unwrap().iter().map(|i| i["id"].as_i64().unwrap()).collect();
    let mut expected = vec![ids[3], ids[40]];
    expected.extend(&ids[50..]);
    assert_eq!(waiting, expected, "the refused two and the five unticked wait");
    crate::work::assert_ledger_balanced(&app).await;

    // The dashboard: 48 × $3.00 held, and the queue's 30-day trend.
    let mut f = Session::new(&app);
    f.sign_in("fin@gatehouse.test").await;
    let dashboard = f.get("/console").await;
    let held = dashboard.body.split("id=\"money-held\"").nth(1).unwrap_or_default();
    assert!(held.split("</div>").next().unwrap().contains("$144.00"), "{}", dashboard.body);
    assert!(dashboard.body.contains("id=\"trend-work-records\""), "{}", dashboard.body);
    assert!(dashboard.body.contains("0 then, 7 now"), "seven wait now, none 30 days ago: {}", dashboard.body);

    // Claim next: the oldest unclaimed item the reviewer may take.
    b.navigate("#claim-next").await;
    assert_eq!(b.path().await, format!("/console/review/work-records/{}", ids[50]));
    assert!(b.text("#claim").await.starts_with("you until"));
    b.close().await;
}

async fn refused_forms_show_their_errors_beside_the_fields(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let w = world(&app, 1).await;
    let (ana_id, _) = w.contributors[0].clone();
    let body = ingest(&app, &w.finance, vec![record(ana_id, w.open_project, "t-1", "units", "4", "2.5")]).await;
    let record_id = body["items"][0]["id"].as_i64().unwrap();
    let Some(b) = Browser::start().await else { return };

    // A rejection without a note: the same item page, the error beside the note, the
    // verdict and reason code kept.
    b.sign_in(&app.base, "rev-a@gatehouse.test", PASSWORD).await;
    b.goto(&format!("{}/console/review/work-records/{record_id}", app.base)).await;
    b.navigate("#claim-button").await;
    b.client.find(Locator::Css("#decision option[value=reject]")).await.unwrap().click().await.unwrap();
    b.fill("#reason_code", "low_quality").await;
    b.navigate("#decide-button").await;
    assert_eq!(b.path().await, format!("/console/review/work-records/{record_id}/decision"));
    assert!(b.text("#note-error").await.contains("explain the decision"));
    assert_eq!(b.text("#form-errors").await.lines().next().unwrap(), "The decision was not recorded:");
    let kept = b.client.find(Locator::Css("#reason_code")).await.unwrap().prop("value").await.unwrap();
    assert_eq!(kept.as_deref(), Some("low_quality"));
    let verdict = b.client.find(Locator::Css("#decision")).await.unwrap().prop("value").await.unwrap();
    assert_eq!(verdict.as_deref(), Some("reject"));
    b.screenshot("inline-error").await;
    b.assert_accessible("decision form with errors").await;
    // Corrected on the same page, it goes through.
    b.fill("#note", "The answers contradict the rubric.").await;
    b.navigate("#decide-button").await;
    assert!(b.text(".notice").await.starts_with("Decision recorded"));
    b.close().await;

    // The bulk form too: a malformed reason code is shown beside its field.
    let mut s = Session::new(&app);
    s.sign_in("rev-b@gatehouse.test").await;
    let body = ingest(&app, &w.finance, vec![record(ana_id, w.open_project, "t-2", "units", "1", "1")]).await;
    let second = body["items"][0]["id"].as_i64().unwrap().to_string();
    let csrf = s.get("/console/review/work-records").await.csrf();
    let page = s
        .post(
            "/console/review/work-records/bulk-approve",
            &[("_csrf", &csrf), ("ids", &second), ("reason_code", "Looks Fine!"), ("note", "")],
        )
        .await;
    assert_eq!(page.status, 422, "{}", page.body);
    assert!(page.body.contains("id=\"reason_code-error\""), "{}", page.body);
    assert!(page.body.contains("value=\"Looks Fine!\""), "the input is kept: {}", page.body);
}

async fn staff_are_deactivated_and_invited_again(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    let reviewer = app.staff(&admin, "rev@gatehouse.test", &["reviewer"]).await;
    let Some(b) = Browser::start().await else { return };
    b.sign_in(&app.base, "admin@gatehouse.test", PASSWORD).await;
    b.goto(&format!("{}/console/admin/staff", app.base)).await;

    // A taken email: the form again with the error beside the email and the input kept.
    b.fill("#full_name", "Second Reviewer").await;
    b.fill("#staff-email", "rev@gatehouse.test").await;
    b.click("#new-staff input[name=finance]").await;
    b.navigate("#new-staff button[type=submit]").await;
    assert!(b.text("#email-error").await.contains("already exists"));
    let kept = b.client.find(Locator::Css("#full_name")).await.unwrap().prop("value").await.unwrap();
    assert_eq!(kept.as_deref(), Some("Second Reviewer"));
    let ticked = b.client.find(Locator::Css("#new-staff input[name=finance]")).await.unwrap().prop("checked").await;
    assert_eq!(ticked.unwrap().as_deref(), Some("true"));
    b.assert_accessible("staff form with errors").await;

    // An invited member who has not chosen a password gets the invitation again.
    b.fill("#staff-email", "invited@gatehouse.test").await;
    b.navigate("#new-staff button[type=submit]").await;
    let first = app.smtp.inbox.wait_for("invited@gatehouse.test").await;
    let invited_id = user_id_by_email(&app, "invited@gatehouse.test");
    b.navigate(&format!("#staff-{invited_id} button[aria-label^='Send the invitation']")).await;
    assert!(b.text(".notice").await.contains("invitation"));
    let second = app.smtp.inbox.wait_for_nth("invited@gatehouse.test", 2).await;
    assert_ne!(first.link_token(), second.link_token());
    let (status, body) = app
        .post("/auth/password-reset/confirm", None, json!({"token": first.link_token(), "password": PASSWORD}))
        .await;
    assert_eq!(status, 400, "the earlier link is void: {body}");

    // Deactivate: the same service call as `POST /admin/staff/{id}/disable`.
    let reviewer_id = app.user_id(&reviewer).await;
    b.navigate(&format!("#staff-{reviewer_id} button.danger")).await;
    assert!(b.text(&format!("#staff-{reviewer_id}")).await.contains("disabled"));
    let (_, audit) = app.get("/admin/audit?action=staff.disabled", Some(&admin.access)).await;
    assert_eq!(audit["items"][0]["subject_id"], reviewer_id.to_string(), "{audit}");
    b.close().await;

    // The API: admins only, audited, refused once a password is chosen.
    let other = app.staff(&admin, "fin@gatehouse.test", &["finance"]).await;
    let (status, _) = app.post(&format!("/admin/staff/{invited_id}/invitation"), Some(&other.access), json!({})).await;
    assert_eq!(status, 403);
    let (status, body) =
        app.post(&format!("/admin/staff/{invited_id}/invitation"), Some(&admin.access), json!({})).await;
    assert_eq!(status, 200, "{body}");
    let fin_id = app.user_id(&other).await;
    let (status, body) = app.post(&format!("/admin/staff/{fin_id}/invitation"), Some(&admin.access), json!({})).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("invitation_accepted")), "{body}");
    let (_, audit) = app.get("/admin/audit?action=staff.invitation_resent", Some(&admin.access)).await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 2, "{audit}");
}

async fn the_audit_log_names_people_shows_changes_and_downloads_a_date_range(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let w = world(&app, 1).await;
    let (ana_id, _) = w.contributors[0].clone();
    ingest(&app, &w.finance, vec![record(ana_id, w.open_project, "t-1", "units", "4", "2.5")]).await;
    let mut s = Session::new(&app);
    s.sign_in("admin@gatehouse.test").await;
    let page = s.get("/console/admin/audit?action=work_records.ingested").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("fin@gatehouse.test"), "the actor's email: {}", page.body);
    assert!(page.body.contains("<dt>created</dt><dd></dd><dd>→ 1</dd>"), "summaries as fields: {}", page.body);
    let page = s.get("/console/admin/audit?action=work_records.ingested&format=csv").await;
    let mut csv = csv::Reader::from_reader(page.body.as_bytes());
    assert_eq!(&csv.headers().unwrap()[4], "actor_email");
    let records: Vec<csv::StringRecord> = csv.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 1, "{}", page.body);
    assert_eq!(&records[0][4], "fin@gatehouse.test");
    // A date range: today has every record, the day before none.
    let today = app.clock.now().date();
    let yesterday = today.pred_opt().unwrap();
    let page = s.get(&format!("/console/admin/audit?from={today}&to={today}&format=csv")).await;
    assert!(csv::Reader::from_reader(page.body.as_bytes()).records().count() > 5, "{}", page.body);
    let page = s.get(&format!("/console/admin/audit?to={yesterday}&format=csv")).await;
    assert_eq!(csv::Reader::from_reader(page.body.as_bytes()).records().count(), 0, "{}", page.body);
    let (status, body) = app.get(&format!("/admin/audit?to={yesterday}"), Some(&w.admin.access)).await;
    assert_eq!((status, body["items"].as_array().map(Vec::len)), (200, Some(0)), "the API takes the range too");
    for bad in ["from=yesterday", "format=json", "action=payout.teleported"] {
        let page = s.get(&format!("/console/admin/audit?{bad}")).await;
        assert_eq!(page.status, 422, "{bad}: {}", page.body);
    }
    let page = s.get("/console/admin/outbox?status=bounced").await;
    assert_eq!(page.status, 422, "an unknown status is refused, never read as any: {}", page.body);

    // The outbox: by recipient, and its CSV the same emails as the API's list.
    let page = s.get("/console/admin/outbox?q=WORKER0@example.com").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("worker0@example.com") && !page.body.contains("rev-a@gatehouse.test"), "{}", page.body);
    let page = s.get("/console/admin/outbox?q=worker0@example.com&format=csv").await;
    let csv_ids: Vec<String> =
        csv::Reader::from_reader(page.body.as_bytes()).records().map(|r| r.unwrap()[0].to_string()).collect();
    let (_, api) = app.get("/admin/outbox?recipient=worker0@example.com", Some(&w.admin.access)).await;
    let api_ids: Vec<String> = api["items"].as_array().unwrap().iter().map(|i| i["id"].to_string()).collect();
    assert!(!csv_ids.is_empty());
    assert_eq!(csv_ids, api_ids);

    // Late payments download (none late yet: a header only).
    let mut f = Session::new(&app);
    f.sign_in("fin@gatehouse.test").await;
    let page = f.get("/console/finance/earnings?q=worker0&format=csv").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.starts_with("contributor_id,name,email,late_records"), "{}", page.body);
}

async fn every_console_page_passes_axe(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let w = world(&app, 1).await;
    let (ana_id, _) = w.contributors[0].clone();
    ingest(&app, &w.finance, vec![record(ana_id, w.open_project, "t-1", "units", "4", "2.5")]).await;
    app.staff(&w.admin, "all@gatehouse.test", &["reviewer", "finance", "admin"]).await;
    let Some(b) = Browser::start().await else { return };
    b.goto(&format!("{}/console/login", app.base)).await;
    b.assert_accessible("sign-in").await;
    b.sign_in(&app.base, "all@gatehouse.test", PASSWORD).await;
    let year = app.clock.now().date().format("%Y").to_string();
    let pages = [
        "/console".to_string(),
        "/console/contributors".into(),
        format!("/console/contributors/{ana_id}"),
        "/console/review/work-authorizations".into(),
        "/console/review/credentials".into(),
        "/console/review/test-answers".into(),
        "/console/review/work-records".into(),
        "/console/review/appeals".into(),
        "/console/review/standing-moves".into(),
        "/console/finance/earnings".into(),
        "/console/finance/left-out".into(),
        "/console/finance/batches".into(),
        format!("/console/finance/tax?year={year}"),
        "/console/finance/trace".into(),
        "/console/admin/staff".into(),
        "/console/admin/projects".into(),
        "/console/admin/tests".into(),
        "/console/admin/outbox".into(),
        "/console/admin/audit".into(),
        "/console/admin/settings".into(),
    ];
    for page in &pages {
        b.goto(&format!("{}{page}", app.base)).await;
        b.assert_accessible(page).await;
    }
    // Two applicants upload the same file: the credential shows both side by side.
    let other = app.applicant("copy@example.com").await;
    app.authorize(&other, &w.reviewer_b).await;
    let first = crate::console::upload_diploma(&app, &w.contributors[0].1).await;
    let second = crate::console::upload_diploma(&app, &other).await;
    b.goto(&format!("{}/console/review/credentials/{second}", app.base)).await;
    let twins = b.text("#twins").await;
    assert!(twins.contains(&format!("Credential #{first}")) && twins.contains("worker0@example.com"), "{twins}");
    assert!(twins.contains("copy@example.com"), "{twins}");
    b.assert_accessible("credential with a duplicate file").await;
    b.screenshot("duplicate-file").await;

    // An item page and the error page.
    b.goto(&format!("{}/console/review/work-records", app.base)).await;
    b.navigate("#claim-next").await;
    b.assert_accessible("work record item").await;
    b.goto(&format!("{}/console/review/nowhere", app.base)).await;
    b.assert_accessible("error page").await;
    b.close().await;
}

/// A review queue longer than one read of its [`ReviewQueue`] (200 items): the console
/// reads it page by page through the queue's cursor, so the count, the amount sort and
/// the CSV cover every item, each once.
async fn a_queue_longer_than_one_read_is_searched_sorted_and_downloaded_whole(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let w = world(&app, 1).await;
    let (ana_id, _) = w.contributors[0].clone();
    // 205 records of $1.50; one beyond the first 200 pays $13.50.
    let records: Vec<Value> = (0..205)
        .map(|i| {
            record(ana_id, w.open_project, &format!("long-{i:03}"), "units", if i == 203 { "9" } else { "1" }, "1.50")
        })
        .collect();
    let body = ingest(&app, &w.finance, records).await;
    let ids: Vec<i64> = body["items"].as_array().unwrap().iter().map(|i| i["id"].as_i64().unwrap()).collect();
    assert_eq!(ids.len(), 205);

    let mut s = Session::new(&app);
    s.sign_in("rev-a@gatehouse.test").await;
    let page = s.get("/console/review/work-records").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("205 waiting match;"), "every item counted once: {}", page.body);
    let page = s.get("/console/review/work-records?q=long-203").await;
    assert!(page.body.contains("1 waiting match;"), "found beyond the first read: {}", page.body);

    let page = s.get("/console/review/work-records?sort=amount&dir=desc&format=csv").await;
    assert_eq!(page.status, 200);
    let records: Vec<csv::StringRecord> =
        csv::Reader::from_reader(page.body.as_bytes()).records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 205, "the whole queue");
    assert_eq!(&records[0][0], ids[203].to_string().as_str(), "the largest amount first");
    let mut seen: Vec<&str> = records.iter().map(|r| r.get(0).unwrap()).collect();
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), 205, "no item twice");
}

/// Renames a person (every test applicant is "Test Applicant").
fn rename(app: &TestApp, email: &str, name: &str) {
    use diesel::prelude::*;
    use gatehouse::db::schema::users;
    let (email, name) = (email.to_string(), name.to_string());
    app.state
        .db
        .tx_sync(|c| {
            Ok(diesel::update(users::table.filter(users::email.eq(email))).set(users::full_name.eq(name)).execute(c)?)
        })
        .unwrap();
}

/// The ids of the rows `id="{prefix}N"` of a page, in order.
fn row_ids(body: &str, prefix: &str) -> Vec<i64> {
    body.split(&format!("id=\"{prefix}")).skip(1).filter_map(|x| x.split('"').next().unwrap().parse().ok()).collect()
}

/// The "Next page" link of a page, unescaped.
fn next_link(body: &str) -> String {
    let link = body.split("id=\"next-page\"").next().unwrap().rsplit("href=\"").next().unwrap();
    link.split('"').next().unwrap().replace("&amp;", "&").replace("&#38;", "&")
}

fn csv_records(body: &str) -> Vec<csv::StringRecord> {
    csv::Reader::from_reader(body.as_bytes()).records().map(Result::unwrap).collect()
}

/// Two batches: #1 pays Ana Alvarez by ACH and Bo Brown and Cy Chen by PayPal, and is
/// approved; #2, a draft, pays Bo Brown again. Then 55 empty cancelled batches, for pages.
async fn payout_batches_and_their_items_are_searched_filtered_sorted_paged_and_downloaded(backend: Backend) {
    use crate::payouts::{ach, add_method, build, fund, sign_w9};
    let app = TestApp::spawn(backend).await;
    let w = world(&app, 3).await;
    let names = ["Ana Alvarez", "Bo Brown", "Cy Chen"];
    for (i, (id, t)) in w.contributors.iter().enumerate() {
        sign_w9(&app, t, false).await;
        let method =
            if i == 0 { ach("000987654321") } else { json!({"rail": "paypal", "email": format!("pp{i}@example.com")}) };
        add_method(&app, t, method).await;
        fund(&app, &w.finance, *id, 1_000 * (i as i64 + 1)).await;
        rename(&app, &format!("worker{i}@example.com"), names[i]);
    }
    let (status, first) = build(&app, &w.finance, "first", json!({"note": "first"})).await;
    assert_eq!(status, 201, "{first}");
    let b1 = first["id"].as_i64().unwrap();
    let checker = app.staff(&w.admin, "fin-b@gatehouse.test", &["finance"]).await;
    let (status, body) = app.post(&format!("/payout-batches/{b1}/approve"), Some(&checker.access), json!({})).await;
    assert_eq!(status, 200, "{body}");
    fund(&app, &w.finance, w.contributors[1].0, 1_500).await;
    let (status, second) = build(&app, &w.finance, "second", json!({"note": "second"})).await;
    assert_eq!(status, 201, "{second}");
    let b2 = second["id"].as_i64().unwrap();

    let mut s = Session::new(&app);
    s.sign_in("fin@gatehouse.test").await;
    let list = |page: &crate::console::Page| row_ids(&page.body, "batch-");
    let page = s.get("/console/finance/batches").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(list(&page), [b2, b1], "newest first");
    // Search: a contributor paid (any case), a batch number.
    assert_eq!(list(&s.get("/console/finance/batches?q=cy+chen").await), [b1]);
    assert_eq!(list(&s.get("/console/finance/batches?q=BO+BROWN").await), [b2, b1]);
    assert_eq!(list(&s.get("/console/finance/batches?q=pp9%40example").await), Vec::<i64>::new());
    assert_eq!(list(&s.get(&format!("/console/finance/batches?q=%23{b2}")).await), [b2]);
    // Filters: rail, status, the day built.
    assert_eq!(list(&s.get("/console/finance/batches?rail=ach").await), [b1]);
    assert_eq!(list(&s.get("/console/finance/batches?rail=paypal").await), [b2, b1]);
    assert_eq!(list(&s.get("/console/finance/batches?status=draft").await), [b2]);
    assert_eq!(list(&s.get("/console/finance/batches?status=approved&rail=paypal").await), [b1]);
    let today = app.clock.now().date();
    let yesterday = today.pred_opt().unwrap();
    assert_eq!(list(&s.get(&format!("/console/finance/batches?from={today}&to={today}")).await), [b2, b1]);
    let none = s.get(&format!("/console/finance/batches?to={yesterday}")).await;
    assert!(none.body.contains("No batch matches"), "{}", none.body);
    for bad in ["rail=wire", "status=paid", "from=soon", "format=pdf", "sort=fee", "dir=up"] {
        let page = s.get(&format!("/console/finance/batches?{bad}")).await;
        assert_eq!(page.status, 422, "{bad} is refused, never read as any: {}", page.body);
    }
    // Sort by net, smallest first: #2 ($15.00) before #1 ($60.00).
    let page = s.get("/console/finance/batches?sort=net&dir=asc").await;
    assert_eq!(list(&page), [b2, b1]);
    assert!(page.body.contains("aria-sort=\"ascending\""), "{}", page.body);
    assert_eq!(list(&s.get("/console/finance/batches?sort=net&dir=desc").await), [b1, b2]);
    // The CSV of a filter: what it selects, every batch.
    let csv = s.get("/console/finance/batches?rail=ach&format=csv").await;
    assert_eq!(csv.status, 200, "{}", csv.body);
    assert!(csv.body.starts_with("id,status,built_at,built_by,approved_by,items,gross_cents"), "{}", csv.body);
    let records = csv_records(&csv.body);
    assert_eq!(records.len(), 1, "{}", csv.body);
    assert_eq!((&records[0][0], &records[0][1], &records[0][5]), (b1.to_string().as_str(), "approved", "3"));
    assert_eq!(&records[0][8], "6000", "{}", csv.body);
    assert!(records[0][3].contains("fin@gatehouse.test"), "built by, by name and email: {}", csv.body);

    // The items of batch #1: search, filters, sort, CSV.
    let items = |page: &crate::console::Page| row_ids(&page.body, "item-");
    let base = format!("/console/finance/batches/{b1}");
    let page = s.get(&base).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let all = items(&page);
    assert_eq!(all.len(), 3, "{}", page.body);
    let found = s.get(&format!("{base}?q=cy")).await;
    assert_eq!(items(&found), [all[2]], "{}", found.body);
    assert!(found.body.contains("worker2@example.com"));
    assert_eq!(items(&s.get(&format!("{base}?q=%23{}", all[1])).await), [all[1]]);
    assert_eq!(items(&s.get(&format!("{base}?q={}", w.contributors[0].0)).await)[0], all[0], "by contributor id");
    assert_eq!(items(&s.get(&format!("{base}?rail=paypal")).await), [all[1], all[2]]);
    assert_eq!(items(&s.get(&format!("{base}?rail=ach&status=pending")).await), [all[0]]);
    assert!(s.get(&format!("{base}?status=paid")).await.body.contains("No item matches"));
    assert_eq!(s.get(&format!("{base}?rail=bitcoin")).await.status, 422);
    assert_eq!(items(&s.get(&format!("{base}?sort=person&dir=desc")).await), [all[2], all[1], all[0]]);
    assert_eq!(items(&s.get(&format!("{base}?sort=net&dir=desc")).await), [all[2], all[1], all[0]]);
    let csv = s.get(&format!("{base}?rail=paypal&sort=person&dir=desc&format=csv")).await;
    assert_eq!(csv.status, 200, "{}", csv.body);
    assert!(csv.body.starts_with("item_id,contributor_id,name,email,rail,destination"), "{}", csv.body);
    let records = csv_records(&csv.body);
    assert_eq!(records.len(), 2);
    assert_eq!((&records[0][2], &records[0][3], &records[0][4]), ("Cy Chen", "worker2@example.com", "paypal"));
    assert_eq!(&records[1][2], "Bo Brown");
    assert_eq!(s.get("/console/finance/batches/999999?format=csv").await.status, 404);

    // Pages: 55 more batches; the second page goes on where the first ended, in any order.
    let fin = user_id_by_email(&app, "fin@gatehouse.test");
    let values: Vec<String> = (0..55)
        .map(|i| format!("('cancelled', 'filler-{i}', 'h', 'filler {i}', {fin}, '2026-01-01 00:00:00', 'S-{i}')"))
        .collect();
    let insert = format!(
        "INSERT INTO payout_batches (status, idempotency_key, request_hash, note, created_by, created_at, sender_batch_id) VALUES {}",
        values.join(", ")
    );
    app.state.db.tx_sync(|c| Ok(diesel::sql_query(insert).execute(c)?)).unwrap();
    for query in ["status=cancelled", "status=cancelled&sort=created&dir=asc", "sort=items&dir=asc"] {
        let first = s.get(&format!("/console/finance/batches?{query}")).await;
        let one = list(&first);
        assert_eq!(one.len(), 50, "{query}");
        let next = next_link(&first.body);
        let two = list(&s.get(&next).await);
        let expected = if query.starts_with("status") { 5 } else { 7 };
        assert_eq!(two.len(), expected, "{query}: {next}");
        assert!(two.iter().all(|id| !one.contains(id)), "no batch twice: {query}");
    }
    let csv = s.get("/console/finance/batches?format=csv").await;
    assert_eq!(csv_records(&csv.body).len(), 57, "the CSV is every batch, not a page");

    // In the browser: sort by a header, axe-core on both pages.
    let Some(b) = Browser::start().await else { return };
    b.sign_in(&app.base, "fin@gatehouse.test", PASSWORD).await;
    b.goto(&format!("{}/console/finance/batches?rail=paypal", app.base)).await;
    b.navigate("#sort-5").await;
    assert_eq!(b.text("th[aria-sort=ascending]").await.trim(), "Net ▲");
    assert_eq!(rows(&b, "#batches tbody tr").await.len(), 2);
    b.screenshot("batches-search").await;
    b.assert_accessible("payout batches, filtered and sorted").await;
    b.goto(&format!("{}{base}", app.base)).await;
    b.fill("#q", "bo").await;
    b.navigate("form[role=search] button[type=submit]").await;
    let found = rows(&b, "#items tbody tr").await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("Bo Brown"), "{found:?}");
    b.assert_accessible("batch items, searched").await;
    b.close().await;
}

/// The review queues search, filter and page in their query (no longer a read of the
/// whole queue filtered in memory): by name, email, id and task reference, by claim and
/// by day, sorted by person or amount, a page after another in that order.
async fn review_queues_search_filter_and_page_in_the_query(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let w = world(&app, 2).await;
    let (ana_id, _) = w.contributors[0].clone();
    let (bo_id, _) = w.contributors[1].clone();
    rename(&app, "worker0@example.com", "Ana Alvarez");
    rename(&app, "worker1@example.com", "Bo Brown");
    // 60 records of Ana ($1.50 … $90.00), 3 of Bo.
    let mut records: Vec<Value> = (1..=60)
        .map(|i| record(ana_id, w.open_project, &format!("ana-{i:02}"), "units", &i.to_string(), "1.50"))
        .collect();
    records.extend((1..=3).map(|i| record(bo_id, w.open_project, &format!("bo-{i}"), "units", "1", "1")));
    let body = ingest(&app, &w.finance, records).await;
    let ids: Vec<i64> = body["items"].as_array().unwrap().iter().map(|i| i["id"].as_i64().unwrap()).collect();
    let (status, body) =
        app.post(&format!("/review/work-records/{}/claim", ids[61]), Some(&w.reviewer_b.access), json!({})).await;
    assert_eq!(status, 200, "{body}");

    let mut s = Session::new(&app);
    s.sign_in("rev-b@gatehouse.test").await;
    let q = |page: &crate::console::Page| row_ids(&page.body, "item-");
    let caption = |page: &crate::console::Page| match page.body.split("<caption>").nth(1) {
        Some(caption) => caption.split(';').next().unwrap().to_string(),
        None if page.body.contains("Nothing waiting here") => "0 waiting match".to_string(),
        None => panic!("{}", page.body),
    };
    let base = "/console/review/work-records";
    assert_eq!(caption(&s.get(base).await), "63 waiting match");
    for (search, count) in
        [("bo+brown", "3"), ("WORKER1%40EXAMPLE", "3"), ("ana-5", "10"), ("ana-07", "1"), ("50%25", "0")]
    {
        let page = s.get(&format!("{base}?q={search}")).await;
        assert_eq!(caption(&page), format!("{count} waiting match"), "{search}");
    }
    assert_eq!(q(&s.get(&format!("{base}?q=%23{}", ids[40])).await), [ids[40]], "by item id");
    let by_person = q(&s.get(&format!("{base}?q=%23{bo_id}")).await);
    assert!(ids[60..63].iter().all(|id| by_person.contains(id)), "by person id: {by_person:?}");
    // Claims: mine, unclaimed.
    assert_eq!(q(&s.get(&format!("{base}?show=mine")).await), [ids[61]]);
    assert_eq!(caption(&s.get(&format!("{base}?show=unclaimed")).await), "62 waiting match");
    // By day: today all, before today none.
    let today = app.clock.now().date();
    assert_eq!(caption(&s.get(&format!("{base}?from={today}&to={today}")).await), "63 waiting match");
    assert_eq!(caption(&s.get(&format!("{base}?to={}", today.pred_opt().unwrap())).await), "0 waiting match");
    // Sorted by person: Ana's first; descending, Bo's first.
    let bo_desc = [ids[62], ids[61], ids[60]];
    assert_eq!(q(&s.get(&format!("{base}?sort=person&dir=desc")).await)[..3], bo_desc);
    // By amount, largest first, two pages: $90.00 … then the rest, each item once.
    let first = s.get(&format!("{base}?sort=amount&dir=desc")).await;
    let one = q(&first);
    assert_eq!(one.len(), 50);
    assert_eq!(one[0], ids[59], "$90.00 first");
    let two = q(&s.get(&next_link(&first.body)).await);
    assert_eq!(two.len(), 13);
    assert!(two.iter().all(|id| !one.contains(id)));
    assert_eq!(two[10..], bo_desc, "the $1.00 records last");
    // The CSV of a search, in its order.
    let csv = s.get(&format!("{base}?q=ana&sort=amount&dir=asc&format=csv")).await;
    let records = csv_records(&csv.body);
    assert_eq!(records.len(), 60, "{}", csv.body);
    assert_eq!(&records[0][0], ids[0].to_string().as_str());
    assert_eq!(&records[0][3], "worker0@example.com");

    // Claim next takes the oldest unclaimed item not the reviewer's own.
    let csrf = s.get(base).await.csrf();
    let claimed = s.post(&format!("{base}/claim-next"), &[("_csrf", &csrf)]).await;
    assert_eq!(claimed.location.as_deref(), Some(format!("{base}/{}?notice=claimed", ids[0]).as_str()));

    // Another queue: credentials searched by title and email, in the query.
    let other = app.applicant("copy@example.com").await;
    app.authorize(&other, &w.reviewer_b).await;
    let first = crate::console::upload_diploma(&app, &w.contributors[0].1).await;
    let second = crate::console::upload_diploma(&app, &other).await;
    let page = s.get("/console/review/credentials?q=copy%40example").await;
    assert_eq!(q(&page), [second], "{}", page.body);
    let page = s.get("/console/review/credentials?sort=id&dir=desc&flagged=true").await;
    assert_eq!(q(&page), [second, first], "both share a file: {}", page.body);
    assert_eq!(s.get("/console/review/credentials?kind=passport").await.status, 422);
    // Kind and flagged are closed sets: each kind is offered (and kept selected), a
    // value outside a filter's set is refused, never read as "any".
    let page = s.get("/console/review/credentials?kind=degree&flagged=true").await;
    assert_eq!(q(&page), [first, second], "{}", page.body);
    assert!(page.body.contains(r#"<option value="degree" selected>"#), "{}", page.body);
    assert!(page.body.contains(r#"<option value="professional_license">"#), "{}", page.body);
    let page = s.get("/console/review/credentials?kind=transcript").await;
    assert_eq!(caption(&page), "0 waiting match");
    let page = s.get("/console/review/credentials?flagged=false").await;
    assert_eq!(caption(&page), "0 waiting match", "both are flagged");
    for bad in ["flagged=yes", "show=theirs", "format=xlsx", "kind=license"] {
        let page = s.get(&format!("/console/review/credentials?{bad}")).await;
        assert_eq!(page.status, 422, "{bad} is refused, never read as any: {}", page.body);
    }
}

/// Issue 22: "the rubric is not shown beside a free-text answer".
async fn the_rubric_is_shown_beside_a_free_text_answer_and_its_queue_has_a_trend(backend: Backend) {
    const RUBRIC: &str = "Full marks when the answer names idempotency keys";
    let app = TestApp::spawn(backend).await;
    let w = world(&app, 1).await;
    let (_, ana) = w.contributors[0].clone();
    crate::console::free_text_answer(&app, &w.admin, &ana, RUBRIC).await;

    let mut s = Session::new(&app);
    s.sign_in("rev-a@gatehouse.test").await;
    let list = s.get("/console/review/test-answers?q=worker0").await;
    let ids = row_ids(&list.body, "item-");
    assert_eq!(ids.len(), 1, "found by the person's email: {}", list.body);
    let page = s.get(&format!("/console/review/test-answers/{}", ids[0])).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains(&format!("<dt>Answer</dt><dd>Use an idempotency key.</dd><dt>Rubric</dt><dd>{RUBRIC}</dd>")),
        "the rubric right after the answer: {}",
        page.body
    );
    assert!(page.body.contains("<dt>Points possible</dt><dd>2</dd>"), "points, not thousandths: {}", page.body);
    assert!(list.body.contains("question e1 · up to 2 points"), "{}", list.body);
    let dashboard = s.get("/console").await;
    let row = dashboard.body.split("id=\"queue-test-answers\"").nth(1).unwrap().split("</tr>").next().unwrap();
    assert!(row.contains("id=\"trend-test-answers\"") && row.contains("0 then, 1 now"), "{row}");
    assert!(dashboard.body.contains("id=\"trend-standing-moves\""), "{}", dashboard.body);

    let Some(b) = Browser::start().await else { return };
    b.sign_in(&app.base, "rev-a@gatehouse.test", PASSWORD).await;
    b.goto(&format!("{}/console/review/test-answers/{}", app.base, ids[0])).await;
    b.navigate("#claim-button").await;
    let facts = b.text(".facts").await;
    assert!(facts.contains(RUBRIC), "{facts}");
    b.screenshot("rubric").await;
    b.assert_accessible("test answer with its rubric").await;
    b.goto(&format!("{}/console", app.base)).await;
    b.assert_accessible("dashboard with six trends").await;
    b.close().await;
}

/// Late payments and who a batch would leave out: three contributors, $25.00 of approved
/// work each (Cy Chen $50.00), 15 days ago; Ana Alvarez can be paid now.
async fn late_payments_and_who_is_left_out_are_searched_sorted_and_downloaded(backend: Backend) {
    use crate::payouts::{ach, add_method, released_work, sign_w9};
    let app = TestApp::spawn(backend).await;
    let w = world(&app, 3).await;
    let names = ["Ana Alvarez", "Bo Brown", "Cy Chen"];
    for (i, name) in names.iter().enumerate() {
        rename(&app, &format!("worker{i}@example.com"), name);
        released_work(&app, &w, i, &format!("late-{i}")).await;
    }
    released_work(&app, &w, 2, "late-2b").await;
    app.clock.advance(chrono::Duration::days(15));
    crate::work::run_jobs(&app).await;
    let mut ana = w.contributors[0].1.clone();
    app.renew(&mut ana, "worker0@example.com").await;
    sign_w9(&app, &ana, false).await;
    add_method(&app, &ana, ach("000987654321")).await;
    let ids: Vec<i64> = w.contributors.iter().map(|(id, _)| *id).collect();

    let mut s = Session::new(&app);
    s.sign_in("fin@gatehouse.test").await;
    let late = |page: &crate::console::Page| row_ids(&page.body, "late-");
    let page = s.get("/console/finance/earnings").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("<caption>3 late;"), "{}", page.body);
    assert_eq!(late(&s.get("/console/finance/earnings?q=bo+brown").await), [ids[1]]);
    assert_eq!(late(&s.get("/console/finance/earnings?q=WORKER2").await), [ids[2]]);
    assert_eq!(late(&s.get("/console/finance/earnings?sort=late&dir=desc").await)[0], ids[2], "$50.00 first");
    assert_eq!(late(&s.get("/console/finance/earnings?sort=person&dir=desc").await), [ids[2], ids[1], ids[0]]);
    let csv = s.get("/console/finance/earnings?sort=person&dir=asc&format=csv").await;
    let records = csv_records(&csv.body);
    assert_eq!(records.len(), 3, "{}", csv.body);
    assert_eq!((&records[0][1], &records[2][1], &records[2][4]), ("Ana Alvarez", "Cy Chen", "$50.00"));
    assert!(records[0][5].ends_with('Z'), "due by, RFC 3339: {}", csv.body);

    // Left out: Bo and Cy (no W-9, no method); Ana is payable.
    let out = |page: &crate::console::Page| row_ids(&page.body, "left-out-");
    let page = s.get("/console/finance/left-out").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(out(&page), [ids[1], ids[2]], "by name: {}", page.body);
    assert!(page.body.contains("w9 on file"), "{}", page.body);
    assert_eq!(out(&s.get("/console/finance/left-out?sort=available&dir=desc").await), [ids[2], ids[1]]);
    assert_eq!(out(&s.get("/console/finance/left-out?q=cy").await), [ids[2]]);
    assert_eq!(out(&s.get("/console/finance/left-out?q=payout+method").await).len(), 2, "by reason");
    assert!(s.get("/console/finance/left-out?q=ana").await.body.contains("Nobody left out matches"));
    let csv = s.get("/console/finance/left-out?sort=available&dir=desc&format=csv").await;
    assert!(csv.body.starts_with("contributor_id,name,email,available_cents,reasons"), "{}", csv.body);
    let records = csv_records(&csv.body);
    assert_eq!((&records[0][1], &records[0][3]), ("Cy Chen", "5000"), "{}", csv.body);
    let earnings = s.get("/console/finance/earnings").await;
    assert!(earnings.body.contains("2 contributor(s) with money available would be left out"), "{}", earnings.body);
}

async fn staff_and_project_types_are_searched_filtered_sorted_and_downloaded(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    app.staff(&admin, "rita@gatehouse.test", &["reviewer"]).await;
    app.staff(&admin, "fred@gatehouse.test", &["finance"]).await;
    app.staff(&admin, "both@gatehouse.test", &["reviewer", "finance"]).await;
    app.applicant("ana@example.com").await;
    rename(&app, "rita@gatehouse.test", "Rita Reviewer");
    rename(&app, "fred@gatehouse.test", "Fred Finance");
    rename(&app, "both@gatehouse.test", "Bea Both");
    let rita = user_id_by_email(&app, "rita@gatehouse.test");
    let fred = user_id_by_email(&app, "fred@gatehouse.test");
    let bea = user_id_by_email(&app, "both@gatehouse.test");
    let (status, body) = app.post(&format!("/admin/staff/{fred}/disable"), Some(&admin.access), json!({})).await;
    assert_eq!(status, 200, "{body}");

    let mut s = Session::new(&app);
    s.sign_in("admin@gatehouse.test").await;
    let staff = |page: &crate::console::Page| row_ids(&page.body, "staff-");
    let admin_id = user_id_by_email(&app, "admin@gatehouse.test");
    let all = s.get("/console/admin/staff").await;
    assert_eq!(all.status, 200, "{}", all.body);
    assert_eq!(staff(&all), [admin_id, bea, fred, rita], "staff only, by name: {}", all.body);
    assert_eq!(staff(&s.get("/console/admin/staff?q=RITA").await), [rita]);
    assert_eq!(staff(&s.get(&format!("/console/admin/staff?q={fred}")).await), [fred]);
    assert_eq!(staff(&s.get("/console/admin/staff?role=finance").await), [bea, fred]);
    assert_eq!(staff(&s.get("/console/admin/staff?role=reviewer&status=staff").await), [bea, rita]);
    assert_eq!(staff(&s.get("/console/admin/staff?status=disabled").await), [fred]);
    assert_eq!(s.get("/console/admin/staff?role=applicant").await.status, 422, "not a staff role");
    assert_eq!(s.get("/console/admin/staff?status=active").await.status, 422, "not a staff status");
    let by_email = staff(&s.get("/console/admin/staff?sort=email&dir=desc").await);
    assert_eq!(by_email, [rita, fred, bea, admin_id], "rita@ > fred@ > both@ > admin@");
    let csv = s.get("/console/admin/staff?role=reviewer&format=csv").await;
    assert!(csv.body.starts_with("id,name,email,status,roles,invited"), "{}", csv.body);
    let records = csv_records(&csv.body);
    assert_eq!(records.len(), 2, "{}", csv.body);
    assert_eq!((&records[0][1], &records[0][4]), ("Bea Both", "reviewer finance"));

    // Project types.
    for (name, required) in [("Ranking", json!([])), ("Law review", json!([{"domain": "law", "tier": "expert"}]))] {
        let (status, body) = app
            .post("/admin/projects", Some(&admin.access), json!({"name": name, "required_qualifications": required}))
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let projects = |page: &crate::console::Page| row_ids(&page.body, "project-");
    let all = projects(&s.get("/console/admin/projects").await);
    assert_eq!(all.len(), 2);
    assert_eq!(projects(&s.get("/console/admin/projects?q=LAW").await), [all[1]], "by name or requirement");
    assert_eq!(projects(&s.get("/console/admin/projects?q=expert").await), [all[1]]);
    assert_eq!(projects(&s.get("/console/admin/projects?sort=name&dir=asc").await), [all[1], all[0]]);
    let today = app.clock.now().date();
    assert!(s
        .get(&format!("/console/admin/projects?to={}", today.pred_opt().unwrap()))
        .await
        .body
        .contains("No project type matches"));
    let csv = s.get("/console/admin/projects?sort=name&format=csv").await;
    let records = csv_records(&csv.body);
    assert_eq!((records.len(), &records[0][1]), (2, "Law review"), "{}", csv.body);

    let Some(b) = Browser::start().await else { return };
    b.sign_in(&app.base, "admin@gatehouse.test", PASSWORD).await;
    b.goto(&format!("{}/console/admin/staff?role=reviewer", app.base)).await;
    b.navigate("#sort-2").await;
    assert_eq!(rows(&b, "#staff tbody tr").await.len(), 2);
    b.screenshot("staff-search").await;
    b.assert_accessible("staff, filtered and sorted").await;
    b.goto(&format!("{}/console/admin/projects?q=law", app.base)).await;
    b.assert_accessible("project types, searched").await;
    b.close().await;
}
