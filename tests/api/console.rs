//! The staff console: sessions, CSRF and roles over plain HTTP, then reviewers and
//! finance staff working through it in headless Chromium.

use std::collections::HashMap;

use reqwest::multipart::{Form, Part};
use reqwest::redirect::Policy;
use serde_json::{json, Value};

use crate::both_backends;
use crate::onboarding::submitted;
use crate::payouts::{ach, add_method, fund, sign_w9};
use crate::support::browser::Browser;
use crate::support::{Backend, TestApp, Tokens, PASSWORD};
use crate::work::{ingest, record, world};

both_backends!(
    sessions_are_strict_cookies_with_csrf_and_expiry,
    applicants_cannot_enter_the_console,
    reviewer_claims_and_verifies_a_credential_with_the_document_visible,
    finance_builds_a_batch_another_approves_and_downloads_nacha,
    forms_without_a_csrf_token_and_applicants_are_refused_in_the_browser,
    admin_manages_staff_and_projects_and_reads_the_audit_log,
    every_review_queue_is_decided_through_the_console,
    decision_forms_refuse_what_the_api_refuses,
    disabled_and_de_roled_staff_lose_the_console_at_once,
    settings_and_trace_pages,
);

const DIPLOMA_PNG: &[u8] = include_bytes!("../fixtures/diploma.png");

/// A browser-like HTTP client: keeps cookies, does not follow redirects.
pub(crate) struct Session<'a> {
    app: &'a TestApp,
    http: reqwest::Client,
    cookies: HashMap<String, String>,
}

pub(crate) struct Page {
    pub(crate) status: u16,
    pub(crate) location: Option<String>,
    set_cookies: Vec<String>,
    pub(crate) body: String,
}

impl Page {
    /// The CSRF token the page put in its forms.
    pub(crate) fn csrf(&self) -> String {
        let at = self.body.find("name=\"_csrf\" value=\"").expect("a form with a CSRF token") + 20;
        self.body[at..].split('"').next().unwrap().to_string()
    }

    fn cookie(&self, name: &str) -> Option<&String> {
        self.set_cookies.iter().find(|c| c.starts_with(&format!("{name}=")))
    }
}

impl<'a> Session<'a> {
    pub(crate) fn new(app: &'a TestApp) -> Self {
        Self {
            app,
            http: reqwest::Client::builder().redirect(Policy::none()).build().unwrap(),
            cookies: HashMap::new(),
        }
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> Page {
        let cookie = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
        let resp = req.header("Cookie", cookie).send().await.unwrap();
        let set_cookies: Vec<String> =
            resp.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_string()).collect();
        for c in &set_cookies {
            let pair = c.split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            if v.is_empty() {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_string(), v.to_string());
            }
        }
        let status = resp.status().as_u16();
        let location = resp.headers().get("location").map(|v| v.to_str().unwrap().to_string());
        Page { status, location, set_cookies, body: resp.text().await.unwrap() }
    }

    pub(crate) async fn get(&mut self, path: &str) -> Page {
        let req = self.http.get(format!("{}{path}", self.app.base));
        self.send(req).await
    }

    pub(crate) async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let req = self.http.post(format!("{}{path}", self.app.base)).form(form);
        self.send(req).await
    }

    pub(crate) async fn sign_in(&mut self, email: &str) -> Page {
        let csrf = self.get("/console/login").await.csrf();
        self.post("/console/login", &[("_csrf", &csrf), ("email", email), ("password", PASSWORD)]).await
    }
}

async fn audit_actions(app: &TestApp, admin: &Tokens, action: &str) -> Vec<Value> {
    let (status, body) = app.get(&format!("/admin/audit?action={action}"), Some(&admin.access)).await;
    assert_eq!(status, 200, "{body}");
    body["items"].as_array().unwrap().clone()
}

pub(crate) async fn upload_diploma(app: &TestApp, applicant: &Tokens) -> i64 {
    let form = Form::new()
        .text("kind", "degree")
        .text("level", "doctorate")
        .text("domain", "law")
        .text("title", "Juris Doctor")
        .text("issuer", "State University")
        .text("issued_on", "2015-06-01")
        .part("file", Part::bytes(DIPLOMA_PNG.to_vec()).file_name("diploma.png").mime_str("image/png").unwrap());
    let (status, body) = app.upload("/me/credentials", &applicant.access, form).await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_i64().unwrap()
}

async fn sessions_are_strict_cookies_with_csrf_and_expiry(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    app.staff(&admin, "rev@gatehouse.test", &["reviewer"]).await;
    let applicant = app.applicant("ana@example.com").await;
    let credential = upload_diploma(&app, &applicant).await;
    let mut s = Session::new(&app);

    let page = s.get("/console").await;
    assert_eq!((page.status, page.location.as_deref()), (303, Some("/console/login")));
    let form = s.get("/console/login").await;
    let pre = form.cookie("gatehouse_console_csrf").expect("a pre-session CSRF cookie");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/console"] {
        assert!(pre.contains(attribute), "{pre}");
    }
    assert!(!pre.contains("Secure"), "plain HTTP here: {pre}");

    // Sign-in without the form's token: refused, no session.
    let page = s.post("/console/login", &[("email", "rev@gatehouse.test"), ("password", PASSWORD)]).await;
    assert_eq!(page.status, 403, "{}", page.body);
    assert!(page.body.contains("CSRF"), "{}", page.body);
    assert!(page.cookie("gatehouse_console").is_none());
    let csrf = s.get("/console/login").await.csrf();
    let page =
        s.post("/console/login", &[("_csrf", &csrf), ("email", "rev@gatehouse.test"), ("password", "wrong")]).await;
    assert_eq!(page.status, 401);
    assert!(page.body.contains("the email or password is wrong"), "{}", page.body);

    let page = s.sign_in("rev@gatehouse.test").await;
    assert_eq!((page.status, page.location.as_deref()), (303, Some("/console")), "{}", page.body);
    let cookie = page.cookie("gatehouse_console").expect("a session cookie");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/console"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    let dashboard = s.get("/console").await;
    assert_eq!(dashboard.status, 200);
    assert!(dashboard.body.contains("Staff Member"), "the signed-in name is shown");
    let row = dashboard.body.split("id=\"queue-credentials\"").nth(1).unwrap();
    assert!(row.split("</tr>").next().unwrap().contains("<td class=\"num size\">1</td>"), "{row}");
    for header in ["cache-control", "content-security-policy", "x-frame-options"] {
        let resp = s.http.get(format!("{}/console", app.base)).send().await.unwrap();
        assert!(resp.headers().contains_key(header), "{header}");
    }

    // A form post without the session's token changes nothing.
    let claim = format!("/console/review/credentials/{credential}/claim");
    let refused = s.post(&claim, &[]).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    let wrong = s.post(&claim, &[("_csrf", "not-the-token")]).await;
    assert_eq!(wrong.status, 403);
    let (_, queue) =
        app.get("/review/credentials", Some(&app.login("rev@gatehouse.test", PASSWORD).await.access)).await;
    assert!(queue["items"][0]["claimed_by"].is_null(), "{queue}");
    let token = dashboard.csrf();
    let claimed = s.post(&claim, &[("_csrf", &token)]).await;
    assert_eq!(claimed.status, 303, "{}", claimed.body);
    let item = s.get(claimed.location.as_deref().unwrap()).await;
    assert!(item.body.contains("Claimed: the item is yours"), "{}", item.body);
    assert!(item.body.contains("id=\"claim\">you until"), "{}", item.body);

    // Bad addresses get the console's error page, not JSON and not a 500.
    let bad = s.get("/console/review/credentials/abc").await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("<h1>Bad Request</h1>"), "{}", bad.body);
    let unknown = s.get("/console/review/passports").await;
    assert_eq!(unknown.status, 404);
    assert!(unknown.body.contains("<h1>Not Found</h1>"), "{}", unknown.body);

    // Roles are checked page by page.
    assert_eq!(s.get("/console/finance/batches").await.status, 403);
    assert_eq!(s.get("/console/admin/audit").await.status, 403);

    // Idle for 30 minutes: signed out.
    app.clock.advance(chrono::Duration::minutes(31));
    let page = s.get("/console").await;
    assert_eq!((page.status, page.location.as_deref()), (303, Some("/console/login")));

    // Sign out ends the session for good.
    s.sign_in("rev@gatehouse.test").await;
    let token = s.get("/console").await.csrf();
    let out = s.post("/console/logout", &[("_csrf", &token)]).await;
    assert_eq!((out.status, out.location.as_deref()), (303, Some("/console/login")));
    assert_eq!(s.get("/console").await.status, 303);

    // A day later the job deletes both ended sessions; the audit log keeps the story.
    app.clock.advance(chrono::Duration::days(1) + chrono::Duration::minutes(1));
    let state = app.state.clone();
    let report = actix_web::web::block(move || gatehouse::jobs::run_due(&state)).await.unwrap().unwrap();
    assert_eq!(report.console_sessions_purged, 2);
    let mut admin = admin;
    app.renew(&mut admin, "admin@gatehouse.test").await;
    assert_eq!(audit_actions(&app, &admin, "console.sign_in").await.len(), 2);
    assert_eq!(audit_actions(&app, &admin, "console.sign_out").await.len(), 1);
    let claims = audit_actions(&app, &admin, "credential.claimed").await;
    assert_eq!(claims.len(), 1, "only the claim with the token happened");
}

async fn applicants_cannot_enter_the_console(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    app.applicant("ana@example.com").await;
    let mut s = Session::new(&app);
    let page = s.sign_in("ana@example.com").await;
    assert_eq!(page.status, 403, "{}", page.body);
    assert!(page.body.contains("the console is for staff"), "{}", page.body);
    assert!(page.cookie("gatehouse_console").is_none());
    assert_eq!(s.get("/console").await.status, 303);
    let refused = audit_actions(&app, &admin, "console.sign_in_refused").await;
    assert_eq!(refused.len(), 1);
}

async fn reviewer_claims_and_verifies_a_credential_with_the_document_visible(backend: Backend) {
    let Some(browser) = Browser::start().await else { return };
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    app.staff(&admin, "rev@gatehouse.test", &["reviewer"]).await;
    let applicant = app.applicant("ana@example.com").await;
    let credential = upload_diploma(&app, &applicant).await;

    browser.sign_in(&app.base, "rev@gatehouse.test", PASSWORD).await;
    assert_eq!(browser.path().await, "/console");
    assert_eq!(browser.text("#queue-credentials .size").await, "1");
    browser.screenshot("dashboard").await;

    browser.navigate("a[href='/console/review/credentials']").await;
    assert!(browser.text(&format!("#item-{credential}")).await.contains("Juris Doctor"));
    browser.screenshot("credentials-queue").await;
    browser.navigate(&format!("#item-{credential} button")).await;
    assert_eq!(browser.path().await, format!("/console/review/credentials/{credential}"));
    assert!(browser.body().await.contains("Claimed: the item is yours"));

    // The document is on the page, decoded by the browser, next to the form.
    let shown = browser
        .client
        .execute(
            "const img = document.querySelector('img.doc'); return img && img.complete ? [img.naturalWidth, img.naturalHeight] : null;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(shown, json!([240, 160]), "the uploaded diploma is displayed");
    browser.screenshot("credential-review").await;

    let select = browser.client.find(fantoccini::Locator::Css("#decision")).await.unwrap();
    select.select_by_value("verify:credential_verified").await.unwrap();
    browser.fill("#note", "Checked with the registrar.").await;
    browser.navigate("#decide-button").await;
    assert_eq!(browser.path().await, "/console/review/credentials");
    assert!(browser.body().await.contains("Decision recorded"));
    assert_eq!(browser.text("#empty").await, "Nothing waiting here.");

    // The same outcome as through the API: status, email, decision history, audit.
    let (_, mine) = app.get("/me/credentials", Some(&applicant.access)).await;
    assert_eq!(mine["items"][0]["status"], "verified", "{mine}");
    let mail = app.smtp.inbox.wait_for_nth("ana@example.com", 2).await;
    assert!(mail.text.contains("Reason: credential verified"), "{}", mail.text);
    browser.goto(&format!("{}/console/review/credentials/{credential}", app.base)).await;
    assert!(browser.text("#history").await.contains("credential verified"));
    let decided = audit_actions(&app, &admin, "credential.decided").await;
    assert_eq!(decided.len(), 1, "{decided:?}");
    assert!(decided[0]["request_id"].is_string(), "{decided:?}");
    let viewed = audit_actions(&app, &admin, "file.downloaded").await;
    assert!(!viewed.is_empty(), "the reviewer's view of the document is audited");
    browser.close().await;
}

async fn finance_builds_a_batch_another_approves_and_downloads_nacha(backend: Backend) {
    let Some(browser) = Browser::start().await else { return };
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    let maker = app.staff(&admin, "fin-a@gatehouse.test", &["finance"]).await;
    app.staff(&admin, "fin-b@gatehouse.test", &["finance"]).await;
    let reviewer = app.staff(&admin, "rev@gatehouse.test", &["reviewer"]).await;
    let ana = app.applicant("ana@example.com").await;
    app.authorize(&ana, &reviewer).await;
    let ana_id = app.user_id(&ana).await;
    let bob = app.applicant("bob@example.com").await;
    app.authorize(&bob, &reviewer).await;
    let bob_id = app.user_id(&bob).await;
    fund(&app, &maker, ana_id, 2500).await;
    fund(&app, &maker, bob_id, 1200).await;
    sign_w9(&app, &ana, false).await;
    add_method(&app, &ana, ach("000987654321")).await;

    browser.sign_in(&app.base, "fin-a@gatehouse.test", PASSWORD).await;
    browser.goto(&format!("{}/console/finance/earnings", app.base)).await;
    assert_eq!(browser.text("#eligible-total").await, "$25.00");
    assert!(browser.text("#preview-excluded").await.starts_with("1 contributor(s)"));
    browser.screenshot("earnings").await;
    browser.navigate("#preview-excluded a").await;
    let excluded = browser.text("#left-out").await;
    assert!(excluded.contains(&bob_id.to_string()) && excluded.contains("w9 on file"), "{excluded}");
    browser.assert_accessible("left out of a batch").await;
    browser.goto(&format!("{}/console/finance/earnings", app.base)).await;

    browser.navigate("a[href='/console/finance/batches']").await;
    let rails = browser.text("#preview-rails").await;
    assert!(rails.contains("ach 1 $25.00"), "{rails}");
    browser.fill("#note", "weekly run").await;
    browser.screenshot("batches").await;
    browser.navigate("#build-button").await;
    let path = browser.path().await;
    let batch_id: i64 = path.rsplit('/').next().unwrap().parse().unwrap();
    assert_eq!(browser.text("#batch-status").await, "draft");
    assert_eq!(browser.text("#batch-net").await, "$25.00");
    // The maker cannot approve their own batch.
    browser.navigate("#approve-button").await;
    assert!(browser.text("#problem").await.contains("cannot approve it"), "maker-checker");
    browser.goto(&format!("{}/console", app.base)).await;
    browser.navigate(".signout button").await;
    assert_eq!(browser.path().await, "/console/login");

    browser.sign_in(&app.base, "fin-b@gatehouse.test", PASSWORD).await;
    browser.goto(&format!("{}/console/finance/batches/{batch_id}", app.base)).await;
    browser.navigate("#approve-button").await;
    assert_eq!(browser.text("#batch-status").await, "approved");
    browser.screenshot("batch").await;
    browser.click("#export-nacha").await;
    let (name, file) = browser.downloaded().await;
    assert_eq!(name, format!("payout-batch-{batch_id}-nacha.ach"));
    let text = String::from_utf8(file).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("101"), "a NACHA file header: {}", lines[0]);
    let entries: Vec<&&str> = lines.iter().filter(|l| l.starts_with('6')).collect();
    assert_eq!(entries.len(), 1, "{text}");
    assert_eq!(&entries[0][29..39], "0000002500", "the amount field of the entry");

    browser.goto(&format!("{}/console/finance/batches/{batch_id}", app.base)).await;
    assert_eq!(browser.text("#batch-status").await, "exported");
    assert!(browser.text("#exports").await.contains("nacha"));
    let mut checker = app.login("fin-b@gatehouse.test", PASSWORD).await;
    app.renew(&mut checker, "fin-b@gatehouse.test").await;
    let (status, batch) = app.get(&format!("/payout-batches/{batch_id}"), Some(&checker.access)).await;
    assert_eq!(status, 200, "{batch}");
    assert_eq!(batch["status"], "exported");
    assert_ne!(batch["approved_by"], batch["created_by"]);
    assert_eq!(audit_actions(&app, &admin, "payout_batch.approved").await.len(), 1);

    browser.goto(&format!("{}/console/finance/tax", app.base)).await;
    browser.screenshot("tax").await;
    assert!(browser.body().await.contains("1099-NEC year end"));
    browser.close().await;
}

async fn forms_without_a_csrf_token_and_applicants_are_refused_in_the_browser(backend: Backend) {
    let Some(browser) = Browser::start().await else { return };
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    app.staff(&admin, "rev@gatehouse.test", &["reviewer"]).await;
    let applicant = app.applicant("ana@example.com").await;
    let credential = upload_diploma(&app, &applicant).await;

    browser.sign_in(&app.base, "ana@example.com", PASSWORD).await;
    assert_eq!(browser.path().await, "/console/login");
    assert!(browser.text("#sign-in-error").await.contains("the console is for staff"));
    browser.screenshot("sign-in-refused").await;

    browser.sign_in(&app.base, "rev@gatehouse.test", PASSWORD).await;
    assert_eq!(browser.path().await, "/console");
    // A page script (standing in for another site's form) posts without the token.
    browser
        .run_and_wait(
            "const f = document.createElement('form'); f.method = 'post'; f.action = arguments[0]; document.body.appendChild(f); f.submit();",
            vec![json!(format!("/console/review/credentials/{credential}/claim"))],
        )
        .await;
    assert!(browser.text("#problem").await.contains("did not come from your console session"));
    let (_, mine) = app.get("/me/credentials", Some(&applicant.access)).await;
    assert_eq!(mine["items"][0]["status"], "pending_review");
    let claims = audit_actions(&app, &admin, "credential.claimed").await;
    assert!(claims.is_empty(), "{claims:?}");
    browser.close().await;
}

async fn admin_manages_staff_and_projects_and_reads_the_audit_log(backend: Backend) {
    let Some(browser) = Browser::start().await else { return };
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    browser.sign_in(&app.base, "admin@gatehouse.test", PASSWORD).await;

    browser.goto(&format!("{}/console/admin/staff", app.base)).await;
    browser.fill("#full_name", "Rita Reviewer").await;
    browser.fill("#staff-email", "rita@gatehouse.test").await;
    browser.click("#new-staff input[name=reviewer]").await;
    browser.navigate("#new-staff button[type=submit]").await;
    assert!(browser.body().await.contains("Staff account created"));
    assert!(browser.text("#staff").await.contains("rita@gatehouse.test"));
    let invite = app.smtp.inbox.wait_for("rita@gatehouse.test").await;
    assert!(!invite.link_token().is_empty());
    browser.screenshot("staff").await;

    browser.goto(&format!("{}/console/admin/projects", app.base)).await;
    browser.fill("#name", "Contract law review").await;
    browser.fill("#requirements", "law:expert").await;
    browser.navigate("#new-project button[type=submit]").await;
    assert!(browser.text("#projects").await.contains("Contract law review"));

    browser.goto(&format!("{}/console/admin/tests", app.base)).await;
    browser.fill("#title", "Contract law basics").await;
    browser.fill("#domain", "law").await;
    browser.navigate("#new-test button[type=submit]").await;
    assert!(browser.body().await.contains("Qualification test created"), "{}", browser.body().await);
    assert!(browser.text("#tests").await.contains("Contract law basics"));
    browser.screenshot("tests").await;

    browser.goto(&format!("{}/console/admin/outbox", app.base)).await;
    assert!(browser.text("#outbox").await.contains("rita@gatehouse.test"));
    browser.goto(&format!("{}/console/admin/audit?action=staff.created", app.base)).await;
    let audit = browser.text("#audit").await;
    assert!(audit.contains("staff.created"), "{audit}");
    browser.screenshot("audit").await;

    // The same records as the API's.
    let (_, projects) = app.get("/admin/audit?action=project_type.created", Some(&admin.access)).await;
    assert_eq!(projects["items"].as_array().unwrap().len(), 1, "{projects}");
    browser.close().await;
}

/// Claims the item through its queue page's form and decides it through the item
/// page's form, as a reviewer's browser would.
pub(crate) async fn claim_and_decide(s: &mut Session<'_>, queue: &str, id: i64, decision: &[(&str, &str)]) -> Page {
    let list = s.get(&format!("/console/review/{queue}")).await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert!(list.body.contains(&format!("id=\"item-{id}\"")), "{queue} lists {id}: {}", list.body);
    let claimed = s.post(&format!("/console/review/{queue}/{id}/claim"), &[("_csrf", &list.csrf())]).await;
    assert_eq!(claimed.status, 303, "{}", claimed.body);
    let item = s.get(&format!("/console/review/{queue}/{id}")).await;
    assert!(item.body.contains("id=\"decision-form\""), "{}", item.body);
    let csrf = item.csrf();
    let mut form = vec![("_csrf", csrf.as_str())];
    form.extend_from_slice(decision);
    s.post(&format!("/console/review/{queue}/{id}/decision"), &form).await
}

async fn every_review_queue_is_decided_through_the_console(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let w = world(&app, 1).await;
    let (ana_id, ana) = w.contributors[0].clone();
    let mut a = Session::new(&app);
    a.sign_in("rev-a@gatehouse.test").await;
    let mut b = Session::new(&app);
    b.sign_in("rev-b@gatehouse.test").await;

    // Work authorization: both documents shown once claimed, then verified.
    let (maria, wa) = submitted(&app, "maria@example.com").await;
    let wa_id = wa["id"].as_i64().unwrap();
    let item = a.get(&format!("/console/review/work-authorizations/{wa_id}")).await;
    assert!(item.body.contains("Claim the item to see its documents"), "{}", item.body);
    let done =
        claim_and_decide(&mut a, "work-authorizations", wa_id, &[("decision", "verify:documents_verified")]).await;
    assert_eq!(
        (done.status, done.location.as_deref()),
        (303, Some("/console/review/work-authorizations?notice=decided"))
    );
    let (_, decisions) = app.get("/me/decisions", Some(&maria.access)).await;
    assert_eq!(decisions["items"][0]["outcome"], "verified", "{decisions}");
    let item = a.get(&format!("/console/review/work-authorizations/{wa_id}")).await;
    assert!(item.body.contains("This item is decided"), "{}", item.body);

    // A reason code from another outcome is refused with the API's field error.
    let (_, second) = submitted(&app, "omar@example.com").await;
    let second_id = second["id"].as_i64().unwrap();
    let refused =
        claim_and_decide(&mut a, "work-authorizations", second_id, &[("decision", "verify:suspected_fraud")]).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused.body.contains("reason_code"), "{}", refused.body);

    // Work record rejected by A; the appeal is overturned by B (never by A).
    let body = ingest(&app, &w.finance, vec![record(ana_id, w.open_project, "t-1", "units", "4", "2.5")]).await;
    let record_id = body["items"][0]["id"].as_i64().unwrap();
    let rejected = claim_and_decide(
        &mut a,
        "work-records",
        record_id,
        &[("decision", "reject"), ("reason_code", "low_quality"), ("note", "answers contradict the rubric")],
    )
    .await;
    assert_eq!(rejected.status, 303, "{}", rejected.body);
    let (status, appeal) = app
        .post(&format!("/me/work-records/{record_id}/appeal"), Some(&ana.access), json!({"message": "I followed it"}))
        .await;
    assert_eq!(status, 201, "{appeal}");
    let appeal_id = appeal["id"].as_i64().unwrap();
    let list = a.get("/console/review/appeals").await;
    let own = a.post(&format!("/console/review/appeals/{appeal_id}/claim"), &[("_csrf", &list.csrf())]).await;
    assert_eq!(own.status, 403, "the rejecting reviewer cannot take the appeal: {}", own.body);
    let overturned = claim_and_decide(
        &mut b,
        "appeals",
        appeal_id,
        &[("decision", "overturn"), ("reason_code", "rubric_followed"), ("note", "the answers match the rubric")],
    )
    .await;
    assert_eq!(overturned.status, 303, "{}", overturned.body);
    let (_, records) = app.get("/me/work-records", Some(&ana.access)).await;
    assert_eq!(records["items"][0]["status"], "approved", "{records}");

    // A free-text answer graded with points.
    let attempt_id = free_text_answer(&app, &w.admin, &ana, "idempotency").await;
    let list = a.get("/console/review/test-answers").await;
    let answer_id: i64 = list.body.split("id=\"item-").nth(1).unwrap().split('"').next().unwrap().parse().unwrap();
    let over = claim_and_decide(&mut a, "test-answers", answer_id, &[("points", "3"), ("note", "too many")]).await;
    assert_eq!(over.status, 422, "more points than the question has: {}", over.body);
    let graded = a
        .post(
            &format!("/console/review/test-answers/{answer_id}/decision"),
            &[("_csrf", &list.csrf()), ("points", "2"), ("note", "names idempotency")],
        )
        .await;
    assert_eq!(graded.status, 303, "{}", graded.body);
    let (_, attempt) = app.get(&format!("/attempts/{attempt_id}"), Some(&ana.access)).await;
    assert_eq!(attempt["status"], "passed", "{attempt}");

    // The dashboard counts what is left: one authorization still claimed, nothing else.
    let dashboard = a.get("/console").await;
    let size = |queue: &str| {
        let row = dashboard.body.split(&format!("id=\"queue-{queue}\"")).nth(1).unwrap().split("</tr>").next().unwrap();
        row.split("num size\">").nth(1).unwrap().split('<').next().unwrap().to_string()
    };
    assert_eq!(size("work-authorizations"), "1");
    for queue in ["credentials", "test-answers", "work-records", "appeals"] {
        assert_eq!(size(queue), "0", "{queue}");
    }
}

/// A one-question free-text test (2 points, graded against `rubric`) taken and submitted
/// by `applicant` ("Use an idempotency key."): the answer waits in the test-answers
/// queue. The attempt's id.
pub(crate) async fn free_text_answer(app: &TestApp, admin: &Tokens, applicant: &Tokens, rubric: &str) -> i64 {
    let def = json!({
        "domain": "cs", "tier": "generalist", "title": "Writing", "time_limit_minutes": 30,
        "pass_mark_percent": 50, "attempt_limit": 1, "cooldown_hours": 0,
        "sections": [{"title": "Essay", "questions": [
            {"id": "e1", "type": "free_text", "prompt": "Why retry safely?", "points": 2, "rubric": rubric}
        ]}]
    });
    let (status, test) = app.post("/admin/tests", Some(&admin.access), def).await;
    assert_eq!(status, 201, "{test}");
    let (status, attempt) =
        app.post(&format!("/tests/{}/attempts", test["id"]), Some(&applicant.access), json!({})).await;
    assert_eq!(status, 201, "{attempt}");
    let attempt_id = attempt["id"].as_i64().unwrap();
    let answers = json!({"answers": {"e1": "Use an idempotency key."}});
    let resp = app
        .client
        .put(app.url(&format!("/attempts/{attempt_id}/answers")))
        .bearer_auth(&applicant.access)
        .json(&answers);
    assert_eq!(resp.send().await.unwrap().status(), 200);
    let (status, body) = app.post(&format!("/attempts/{attempt_id}/submit"), Some(&applicant.access), json!({})).await;
    assert_eq!(status, 200, "{body}");
    attempt_id
}

/// Issue 15: a work-record rejection with an empty note was accepted through the console
/// while the API refused it (the rule lived in the API handler). Every decision form now
/// gets the refusal the API gives for the same input, from the service both call.
async fn decision_forms_refuse_what_the_api_refuses(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let w = world(&app, 1).await;
    let (ana_id, ana) = w.contributors[0].clone();
    let mut a = Session::new(&app);
    a.sign_in("rev-a@gatehouse.test").await;
    let mut b = Session::new(&app);
    b.sign_in("rev-b@gatehouse.test").await;

    // What the API says to `token` for `body` on the item's decision endpoint.
    let api = |queue: &'static str, id: i64, token: String, body: Value| {
        let app = &app;
        async move { app.post(&format!("/review/{queue}/{id}/decision"), Some(&token), body).await }
    };
    let long_note = "n".repeat(2001);

    // Work records: an empty note on a rejection, a malformed reason code, a long note.
    let body = ingest(&app, &w.finance, vec![record(ana_id, w.open_project, "t-1", "units", "4", "2.5")]).await;
    let record_id = body["items"][0]["id"].as_i64().unwrap();
    let page = claim_and_decide(
        &mut a,
        "work-records",
        record_id,
        &[("decision", "reject"), ("reason_code", "low_quality"), ("note", "")],
    )
    .await;
    assert_eq!(page.status, 422, "{}", page.body);
    assert!(page.body.contains("note"), "{}", page.body);
    let (status, problem) = api(
        "work-records",
        record_id,
        w.reviewer_a.access.clone(),
        json!({"decision": "reject", "reason_code": "low_quality", "note": ""}),
    )
    .await;
    assert_eq!((status, problem["errors"][0]["field"].as_str()), (422, Some("note")), "{problem}");
    for (field, form, json_body) in [
        (
            "reason_code",
            [("decision", "approve"), ("reason_code", "Looks Fine!"), ("note", "")],
            json!({"decision": "approve", "reason_code": "Looks Fine!"}),
        ),
        (
            "note",
            [("decision", "approve"), ("reason_code", "meets_guidelines"), ("note", long_note.as_str())],
            json!({"decision": "approve", "reason_code": "meets_guidelines", "note": long_note}),
        ),
    ] {
        let item = a.get(&format!("/console/review/work-records/{record_id}")).await;
        let mut fields = vec![("_csrf", item.csrf())];
        fields.extend(form.iter().map(|(k, v)| (*k, v.to_string())));
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let page = a.post(&format!("/console/review/work-records/{record_id}/decision"), &fields).await;
        assert_eq!(page.status, 422, "{field}: {}", page.body);
        assert!(page.body.contains(field), "{}", page.body);
        let (status, problem) = api("work-records", record_id, w.reviewer_a.access.clone(), json_body).await;
        assert_eq!((status, problem["errors"][0]["field"].as_str()), (422, Some(field)), "{problem}");
    }
    let (_, queue) = app.get("/review/work-records", Some(&w.reviewer_a.access)).await;
    assert_eq!(queue["items"][0]["id"], record_id, "still undecided: {queue}");

    // Appeals: the outcome must be explained.
    let rejected = claim_and_decide(
        &mut a,
        "work-records",
        record_id,
        &[("decision", "reject"), ("reason_code", "low_quality"), ("note", "answers contradict the rubric")],
    )
    .await;
    assert_eq!(rejected.status, 303, "{}", rejected.body);
    let (_, appeal) = app
        .post(&format!("/me/work-records/{record_id}/appeal"), Some(&ana.access), json!({"message": "I followed it"}))
        .await;
    let appeal_id = appeal["id"].as_i64().unwrap();
    let page = claim_and_decide(
        &mut b,
        "appeals",
        appeal_id,
        &[("decision", "uphold"), ("reason_code", "rubric_not_followed"), ("note", " ")],
    )
    .await;
    assert_eq!(page.status, 422, "{}", page.body);
    let (status, problem) = api(
        "appeals",
        appeal_id,
        w.reviewer_b.access.clone(),
        json!({"decision": "uphold", "reason_code": "rubric_not_followed", "note": " "}),
    )
    .await;
    assert_eq!((status, problem["errors"][0]["field"].as_str()), (422, Some("note")), "{problem}");

    // Work authorizations and credentials: a rejection needs a note.
    let (_, wa) = submitted(&app, "maria@example.com").await;
    let wa_id = wa["id"].as_i64().unwrap();
    let page = claim_and_decide(
        &mut a,
        "work-authorizations",
        wa_id,
        &[("decision", "reject:document_unreadable"), ("note", "")],
    )
    .await;
    assert_eq!(page.status, 422, "{}", page.body);
    let (status, problem) = api(
        "work-authorizations",
        wa_id,
        w.reviewer_a.access.clone(),
        json!({"outcome": "reject", "reason_code": "document_unreadable"}),
    )
    .await;
    assert_eq!((status, problem["errors"][0]["field"].as_str()), (422, Some("note")), "{problem}");
    let credential = upload_diploma(&app, &ana).await;
    let page =
        claim_and_decide(&mut a, "credentials", credential, &[("decision", "reject:not_verifiable"), ("note", "")])
            .await;
    assert_eq!(page.status, 422, "{}", page.body);
    let (status, problem) = api(
        "credentials",
        credential,
        w.reviewer_a.access.clone(),
        json!({"outcome": "reject", "reason_code": "not_verifiable"}),
    )
    .await;
    assert_eq!((status, problem["errors"][0]["field"].as_str()), (422, Some("note")), "{problem}");
}

/// The console checks the account's status and roles on every page, as the API does.
async fn disabled_and_de_roled_staff_lose_the_console_at_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    let fin = app.staff(&admin, "fin@gatehouse.test", &["finance", "reviewer"]).await;
    let fin_id = app.user_id(&fin).await;
    let mut s = Session::new(&app);
    s.sign_in("fin@gatehouse.test").await;
    assert_eq!(s.get("/console/finance/batches").await.status, 200);
    let (status, _) =
        app.put(&format!("/admin/users/{fin_id}/roles"), Some(&admin.access), json!({"roles": ["reviewer"]})).await;
    assert_eq!(status, 200);
    assert_eq!(s.get("/console/finance/batches").await.status, 403, "de-roled at once");
    assert_eq!(s.get("/console/review/work-records").await.status, 200);
    let (status, _) = app.post(&format!("/admin/staff/{fin_id}/disable"), Some(&admin.access), json!({})).await;
    assert_eq!(status, 200);
    let page = s.get("/console/review/work-records").await;
    assert_eq!((page.status, page.location.as_deref()), (303, Some("/console/login")), "disabled: signed out");
    let again = s.sign_in("fin@gatehouse.test").await;
    assert_eq!(again.status, 401, "{}", again.body);
}

/// The Settings page (admins) saves through the API's service, and the Trace page
/// (finance) follows a task to its payout item and back (issue 19).
async fn settings_and_trace_pages(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    app.staff(&admin, "fin@gatehouse.test", &["finance"]).await;
    let mut s = Session::new(&app);
    s.sign_in("admin@gatehouse.test").await;
    let page = s.get("/console/admin/settings").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("payout_method_hold_hours") && page.body.contains("America/New_York"), "{}", page.body);
    let csrf = page.csrf();
    let saved = s.post("/console/admin/settings", &[("_csrf", &csrf), ("hold_days", "3")]).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let (_, all) = app.get("/admin/settings", Some(&admin.access)).await;
    let hold = all["settings"].as_array().unwrap().iter().find(|x| x["key"] == "hold_days").unwrap();
    assert_eq!(hold["value"], 3, "{hold}");
    let refused = s.post("/console/admin/settings", &[("_csrf", &csrf), ("hold_days", "365")]).await;
    assert_eq!(refused.status, 422, "the API's range: {}", refused.body);

    let mut f = Session::new(&app);
    f.sign_in("fin@gatehouse.test").await;
    let page = f.get("/console/finance/trace").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let page = f.get("/console/finance/trace?task_ref=no-such-task").await;
    assert_eq!(page.status, 404, "{}", page.body);
    let denied = s.get("/console/finance/trace").await;
    assert_eq!(denied.status, 403, "admins without finance");
}
