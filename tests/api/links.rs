//! The pages that the links in emails open (issue 15: they answered 404): a form shown
//! by GET (which spends nothing), completed by a POST carrying the page's CSRF token,
//! through the same services as the API. The staff invitation completes in headless
//! Chromium.

use reqwest::redirect::Policy;
use serde_json::json;

use crate::both_backends;
use crate::support::browser::Browser;
use crate::support::smtp::ReceivedMail;
use crate::support::{Backend, TestApp, PASSWORD};

both_backends!(
    the_verification_link_opens_a_page_that_confirms_the_address,
    the_reset_link_opens_a_page_that_sets_a_new_password,
    the_staff_invitation_link_completes_in_the_browser,
);

/// The path and query of the emailed link (its host is the configured public URL).
fn link_path(mail: &ReceivedMail) -> String {
    let url = mail.text.split_whitespace().find(|w| w.contains("token=")).expect("a link");
    let after_scheme = url.split_once("://").map(|(_, rest)| rest).unwrap_or(url);
    after_scheme[after_scheme.find('/').unwrap()..].to_string()
}

/// A browser-like page visit: keeps the CSRF cookie the page sets and sends it back.
struct Visitor {
    http: reqwest::Client,
    cookie: Option<String>,
}

impl Visitor {
    fn new() -> Self {
        Self { http: reqwest::Client::builder().redirect(Policy::none()).build().unwrap(), cookie: None }
    }

    fn keep(&mut self, resp: &reqwest::Response) {
        if let Some(c) = resp.headers().get_all("set-cookie").iter().next() {
            self.cookie = Some(c.to_str().unwrap().split(';').next().unwrap().to_string());
        }
    }

    async fn get(&mut self, url: &str) -> reqwest::Response {
        let resp = self.http.get(url).send().await.unwrap();
        self.keep(&resp);
        resp
    }

    async fn post(&mut self, url: &str, form: &[(&str, &str)]) -> (u16, String) {
        let mut req = self.http.post(url).form(form);
        if let Some(c) = &self.cookie {
            req = req.header("Cookie", c);
        }
        let resp = req.send().await.unwrap();
        self.keep(&resp);
        (resp.status().as_u16(), resp.text().await.unwrap())
    }
}

fn pairs<'a>(form: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    form.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"_csrf\" value=\"").expect("a form with a CSRF token") + 20;
    html[at..].split('"').next().unwrap().to_string()
}

async fn the_verification_link_opens_a_page_that_confirms_the_address(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (status, _) = app
        .post("/auth/register", None, json!({"email": "page@example.com", "password": PASSWORD, "full_name": "Page"}))
        .await;
    assert_eq!(status, 201);
    let mail = app.smtp.inbox.wait_for("page@example.com").await;
    let path = link_path(&mail);
    assert!(path.starts_with("/verify-email?token="), "{path}");
    let url = format!("{}{path}", app.base);
    let mut visitor = Visitor::new();

    // Opening the page spends nothing (mail scanners follow links).
    for _ in 0..2 {
        let page = visitor.get(&url).await;
        assert_eq!(page.status(), 200);
        assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
        assert!(page.headers()["content-security-policy"].to_str().unwrap().contains("frame-ancestors"));
    }
    let html = visitor.get(&url).await.text().await.unwrap();
    assert!(html.contains("Confirm your email address"), "{html}");
    let token = mail.link_token();

    // A post without the page's CSRF token (another site's form) is refused.
    let forged = reqwest::Client::new()
        .post(format!("{}/verify-email", app.base))
        .form(&[("token", token.as_str()), ("_csrf", "guessed")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    let t = app.login("page@example.com", PASSWORD).await;
    assert_eq!(app.get("/me", Some(&t.access)).await.1["email_verified"], false);

    let (status, done) =
        visitor.post(&format!("{}/verify-email", app.base), &[("token", &token), ("_csrf", &csrf_of(&html))]).await;
    assert_eq!(status, 200, "{done}");
    assert!(done.contains("Your email address is confirmed"), "{done}");
    let (_, me) = app.get("/me", Some(&t.access)).await;
    assert_eq!((me["email_verified"].as_bool(), me["status"].as_str()), (Some(true), Some("email_verified")), "{me}");
    // Used: the page now says so instead of showing the form.
    let spent = visitor.get(&url).await;
    assert_eq!(spent.status(), 400);
    assert!(spent.text().await.unwrap().contains("invalid, expired or already used"));
}

async fn the_reset_link_opens_a_page_that_sets_a_new_password(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = app.applicant("reset@example.com").await;
    for _ in 0..2 {
        assert_eq!(app.post("/auth/password-reset", None, json!({"email": "reset@example.com"})).await.0, 202);
    }
    let first = app.smtp.inbox.wait_for_nth("reset@example.com", 2).await;
    let newest = app.smtp.inbox.wait_for_nth("reset@example.com", 3).await;
    let mut visitor = Visitor::new();
    let stale = visitor.get(&format!("{}{}", app.base, link_path(&first))).await;
    assert_eq!(stale.status(), 400, "the earlier link stopped working");

    let path = link_path(&newest);
    assert!(path.starts_with("/reset-password?token="), "{path}");
    let html = visitor.get(&format!("{}{path}", app.base)).await.text().await.unwrap();
    let (url, token) = (format!("{}/reset-password", app.base), newest.link_token());
    // The API's password rule, from the same service: the form comes back with why.
    let form = |csrf: &str, password: &str, confirm: &str| {
        [
            ("token", token.clone()),
            ("_csrf", csrf.to_string()),
            ("password", password.into()),
            ("confirm", confirm.into()),
        ]
    };
    let f = form(&csrf_of(&html), "short", "short");
    let (status, page) = visitor.post(&url, &pairs(&f)).await;
    assert_eq!(status, 422, "{page}");
    assert!(page.contains("12 to 256 characters"), "{page}");
    let f = form(&csrf_of(&page), "a long new passphrase", "a different passphrase");
    let (status, page) = visitor.post(&url, &pairs(&f)).await;
    assert_eq!(status, 422);
    assert!(page.contains("the two passwords differ"), "{page}");
    let f = form(&csrf_of(&page), "a long new passphrase", "a long new passphrase");
    let (status, page) = visitor.post(&url, &pairs(&f)).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Your password is changed"), "{page}");

    assert_eq!(app.get("/me", Some(&t.access)).await.0, 401, "a reset signs out everywhere");
    app.login("reset@example.com", "a long new passphrase").await;
    let (status, _) = app.post("/auth/login", None, json!({"email": "reset@example.com", "password": PASSWORD})).await;
    assert_eq!(status, 401);
}

async fn the_staff_invitation_link_completes_in_the_browser(backend: Backend) {
    let Some(browser) = Browser::start().await else { return };
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    let (status, body) = app
        .post(
            "/admin/staff",
            Some(&admin.access),
            json!({"email": "newhire@gatehouse.test", "full_name": "New Hire", "roles": ["reviewer"]}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let invite = app.smtp.inbox.wait_for("newhire@gatehouse.test").await;
    let path = link_path(&invite);
    assert!(path.starts_with("/set-password?token="), "{path}");

    browser.goto(&format!("{}{path}", app.base)).await;
    assert_eq!(browser.text("h1").await, "Set your password");
    browser.fill("#password", "my own staff passphrase").await;
    browser.fill("#confirm", "my own staff passphrase").await;
    browser.navigate("#link-submit").await;
    assert!(browser.text("#link-done").await.contains("Your password is set"), "{}", browser.body().await);
    browser.navigate("#link-next").await;
    assert_eq!(browser.path().await, "/console/login");
    browser.sign_in(&app.base, "newhire@gatehouse.test", "my own staff passphrase").await;
    assert_eq!(browser.path().await, "/console");
    assert!(browser.body().await.contains("New Hire"));

    // The link is spent.
    browser.goto(&format!("{}{path}", app.base)).await;
    assert!(browser.text("#link-error").await.contains("already used"));
    app.login("newhire@gatehouse.test", "my own staff passphrase").await;
    browser.close().await;
}
