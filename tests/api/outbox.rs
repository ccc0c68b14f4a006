use std::time::Duration;

use gatehouse::notifications::model::OutboxRow;
use gatehouse::notifications::templates::{Email, EmailTemplate, Rendered};
use gatehouse::notifications::{self, templates};
use serde_json::json;

use crate::both_backends;
use crate::payouts::raw_sql;
use crate::support::smtp::ReceivedMail;
use crate::support::{Backend, Options, TestApp, TestSmtp, PASSWORD};

both_backends!(
    outbox_retries_while_smtp_is_down_and_delivers_once,
    same_event_is_queued_once,
    outbox_listing_and_dead_letter_retry,
    an_email_rendered_when_sent_reads_as_one_rendered_when_queued,
    an_email_that_cannot_be_rendered_is_a_recorded_failure,
    the_outbox_accepts_only_known_templates_and_one_kind_of_content,
    an_email_claimed_by_a_killed_worker_is_sent_once_its_lease_ends
);

async fn outbox_rows(app: &TestApp) -> Vec<OutboxRow> {
    let state = app.state.clone();
    actix_web::web::block(move || state.db.read_sync(|c| notifications::service::list(c, &Default::default())))
        .await
        .unwrap()
        .unwrap()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn outbox_retries_while_smtp_is_down_and_delivers_once(backend: Backend) {
    // The service points at a port where no SMTP server listens yet.
    let port = free_port();
    let app = TestApp::spawn_with(backend, Options { smtp_port: Some(port), ..Default::default() }).await;
    let (status, _) = app
        .post("/auth/register", None, json!({"email": "down@example.com", "password": PASSWORD, "full_name": "Down"}))
        .await;
    assert_eq!(status, 201, "registration succeeds while SMTP is down");

    // Wait until the worker has failed at least twice.
    let mut row = None;
    for _ in 0..100 {
        let rows = outbox_rows(&app).await;
        if rows[0].attempts >= 2 {
            row = Some(rows[0].clone());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let row = row.expect("the worker retried");
    assert_eq!(row.status.as_str(), "pending");
    assert!(row.last_error.is_some());

    // SMTP comes back: the email is delivered, once.
    let smtp = TestSmtp::start_on(port, Default::default()).await;
    let mail = smtp.inbox.wait_for("down@example.com").await;
    assert!(mail.text.contains("token="));
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(smtp.inbox.to("down@example.com").len(), 1);
    let rows = outbox_rows(&app).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].status.as_str(), "sent");
    assert!(rows[0].sent_at.is_some());
}

async fn same_event_is_queued_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let state = app.state.clone();
    actix_web::web::block(move || {
        let email =
            templates::PasswordReset { full_name: "X".into(), link: "http://x/?token=t".into(), expires_minutes: 60 };
        for _ in 0..3 {
            state.db.tx_sync(|c| {
                notifications::enqueue(c, state.clock.now(), "once@example.com", "test:event:1", &email)
            })?;
        }
        Ok::<_, gatehouse::error::AppError>(())
    })
    .await
    .unwrap()
    .unwrap();
    app.smtp.inbox.wait_for("once@example.com").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(app.smtp.inbox.to("once@example.com").len(), 1);
    assert_eq!(outbox_rows(&app).await.len(), 1);
}

async fn outbox_listing_and_dead_letter_retry(backend: Backend) {
    let port = free_port();
    let app = TestApp::spawn_with(backend, Options { smtp_port: Some(port), ..Default::default() }).await;
    let state = app.state.clone();
    // Admin made before any email is attempted, so only the test email is in flight.
    let admin = {
        let s = state.clone();
        actix_web::web::block(move || {
            gatehouse::auth::service::create_admin(&s, "root@gatehouse.test", "Root", PASSWORD)
        })
        .await
        .unwrap()
        .unwrap();
        app.login("root@gatehouse.test", PASSWORD).await
    };
    let s = state.clone();
    actix_web::web::block(move || {
        let email =
            templates::PasswordReset { full_name: "D".into(), link: "http://x/?token=t".into(), expires_minutes: 60 };
        s.db.tx_sync(|c| notifications::enqueue(c, s.clock.now(), "dead@example.com", "test:dead:1", &email))
    })
    .await
    .unwrap()
    .unwrap();

    // With SMTP down the email exhausts its attempts and lands in the dead-letter state.
    let mut dead = None;
    for _ in 0..400 {
        let (status, page) = app.get("/admin/outbox?status=dead", Some(&admin.access)).await;
        assert_eq!(status, 200, "{page}");
        if let Some(item) = page["items"].as_array().unwrap().first() {
            dead = Some(item.clone());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let dead = dead.expect("email dead-lettered");
    assert_eq!(dead["attempts"], state.config.mail.max_attempts);
    assert!(dead.get("body_text").is_none(), "bodies carry single-use links and stay hidden");
    assert!(dead.get("params").is_none(), "so do the template's parameters");
    assert_eq!(dead["template"], "password_reset");
    assert_eq!(dead["subject"], "Reset your Gatehouse password", "rendered from the parameters for the list");

    let smtp = TestSmtp::start_on(port, Default::default()).await;
    let id = dead["id"].as_i64().unwrap();
    let (status, body) = app.post(&format!("/admin/outbox/{id}/retry"), Some(&admin.access), json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "pending");
    smtp.inbox.wait_for("dead@example.com").await;
    let (status, _) = app.post(&format!("/admin/outbox/{id}/retry"), Some(&admin.access), json!({})).await;
    assert_eq!(status, 409, "only dead letters can be retried");
    let (_, audit) = app.get("/admin/audit?action=outbox.retry", Some(&admin.access)).await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 1);
}

fn payout_sent(full_name: &str) -> templates::PayoutSent {
    templates::PayoutSent {
        full_name: full_name.into(),
        item_id: 41,
        gross: "125.00".into(),
        withheld: "30.00".into(),
        net: "95.00".into(),
        destination: "PayPal j***@example.com".into(),
    }
}

/// Queues `email` as the service did before emails were rendered at send time: the
/// subject and both parts, rendered when queued (a row written before 2026-11-30-001201).
async fn queue_rendered<E: Email + Send + 'static>(app: &TestApp, to: &'static str, event_key: &'static str, email: E) {
    use diesel::prelude::*;
    use gatehouse::db::schema::outbox;
    let state = app.state.clone();
    actix_web::web::block(move || {
        let r = Rendered::of(&email).unwrap();
        let now = state.clock.now();
        state.db.tx_sync(|c| {
            diesel::insert_into(outbox::table)
                .values((
                    outbox::event_key.eq(event_key),
                    outbox::recipient.eq(to),
                    outbox::template.eq(E::TEMPLATE),
                    outbox::subject.eq(&r.subject),
                    outbox::body_text.eq(&r.text),
                    outbox::body_html.eq(&r.html),
                    outbox::status.eq("pending"),
                    outbox::next_attempt_at.eq(now),
                    outbox::created_at.eq(now),
                ))
                .execute(c)?;
            Ok(())
        })
    })
    .await
    .unwrap()
    .unwrap();
}

async fn queue<E: Email + Send + 'static>(app: &TestApp, to: &'static str, event_key: &'static str, email: E) {
    let state = app.state.clone();
    actix_web::web::block(move || {
        state.db.tx_sync(|c| notifications::enqueue(c, state.clock.now(), to, event_key, &email))
    })
    .await
    .unwrap()
    .unwrap();
}

fn same_content(a: &ReceivedMail, b: &ReceivedMail) {
    assert_eq!(a.subject, b.subject);
    assert_eq!(a.text, b.text);
    assert_eq!(a.html, b.html);
}

/// Issue 23: the outbox stores a template and its parameters, and the worker renders
/// them when it sends; what arrives is what the rendering at queue time sent, and a row
/// queued rendered (before the change) is still sent as it was stored.
async fn an_email_rendered_when_sent_reads_as_one_rendered_when_queued(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    queue_rendered(&app, "before@example.com", "test:rendered:1", payout_sent("Ana <O'Neil>")).await;
    queue(&app, "after@example.com", "test:params:1", payout_sent("Ana <O'Neil>")).await;
    let digest = || templates::WorkAutoApproved {
        full_name: "Bo".into(),
        count: 2,
        total: "12.50".into(),
        available_on: "2026-12-07".into(),
        lines: vec![
            templates::DigestLine { task_ref: "t-1".into(), pay: "5.00".into() },
            templates::DigestLine { task_ref: "t-2".into(), pay: "7.50".into() },
        ],
    };
    queue_rendered(&app, "before@example.com", "test:rendered:2", digest()).await;
    queue(&app, "after@example.com", "test:params:2", digest()).await;

    let rows = outbox_rows(&app).await;
    let new: Vec<&OutboxRow> = rows.iter().filter(|r| r.recipient == "after@example.com").collect();
    assert_eq!(new.len(), 2);
    for row in new {
        let params: serde_json::Value = serde_json::from_str(row.params.as_deref().unwrap()).unwrap();
        assert!(params.get("full_name").is_some(), "{params}");
        assert_eq!(row.subject, None, "nothing rendered is stored");
    }

    let before = (app.smtp.inbox.wait_for_nth("before@example.com", 2).await, app.smtp.inbox.to("before@example.com"));
    let after = (app.smtp.inbox.wait_for_nth("after@example.com", 2).await, app.smtp.inbox.to("after@example.com"));
    let by_subject =
        |mails: &[ReceivedMail], needle: &str| mails.iter().find(|m| m.subject.contains(needle)).unwrap().clone();
    for needle in ["Your payout of 95.00 USD is on its way", "2 work records approved automatically"] {
        same_content(&by_subject(&before.1, needle), &by_subject(&after.1, needle));
    }
    let payout = by_subject(&after.1, "payout");
    assert!(payout.text.contains("Ana <O'Neil>") && payout.text.contains("95.00"), "{}", payout.text);
    assert!(!payout.html.contains("<O'Neil>"), "the HTML part escapes: {}", payout.html);
    assert!(by_subject(&after.1, "approved").text.contains("t-2"));
    let rows = outbox_rows(&app).await;
    assert!(rows.iter().all(|r| r.status.as_str() == "sent"), "{rows:?}");
}

/// Parameters that do not fit their template, or a template this version does not know,
/// are a failed attempt with the reason in `last_error` (retried, dead-lettered in the
/// end), never a panic, and the emails queued beside them are still sent.
async fn an_email_that_cannot_be_rendered_is_a_recorded_failure(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    let reset = || templates::PasswordReset {
        full_name: "Cy".into(),
        link: "http://x/reset?token=secret-token".into(),
        expires_minutes: 60,
    };
    // Broken in the transaction that queues them, so the worker never sees them whole.
    let state = app.state.clone();
    actix_web::web::block(move || {
        use diesel::RunQueryDsl;
        state.db.tx_sync(|c| {
            let now = state.clock.now();
            notifications::enqueue(c, now, "unfit@example.com", "test:unfit:1", &reset())?;
            diesel::sql_query(
                "UPDATE outbox SET params = '{\"full_name\": \"Cy\", \"link\": \"http://x/reset?token=secret-token\", \
                 \"expires_minutes\": \"secret-token\"}' WHERE event_key = 'test:unfit:1'",
            )
            .execute(c)?;
            notifications::enqueue(c, now, "missing@example.com", "test:missing:1", &reset())?;
            diesel::sql_query(
                "UPDATE outbox SET params = '{\"full_name\": \"Cy\"}' WHERE event_key = 'test:missing:1'",
            )
            .execute(c)?;
            notifications::enqueue(c, now, "retired@example.com", "test:retired:1", &reset())?;
            notifications::enqueue(c, now, "fine@example.com", "test:fine:1", &reset())?;
            Ok(())
        })
    })
    .await
    .unwrap()
    .unwrap();
    // A template name from a newer version (past the CHECK, as in a rolling upgrade).
    let retire = "UPDATE outbox SET template = 'retired_notice' WHERE event_key = 'test:retired:1'".to_string();
    let bypass = match backend {
        Backend::Sqlite => vec![
            "PRAGMA ignore_check_constraints = ON".to_string(),
            retire,
            "PRAGMA ignore_check_constraints = OFF".to_string(),
        ],
        Backend::Postgres => vec!["ALTER TABLE outbox DROP CONSTRAINT outbox_template_check".to_string(), retire],
    };
    raw_sql(&app, bypass).await.unwrap();

    app.smtp.inbox.wait_for("fine@example.com").await;
    let state = app.state.clone();
    let failed = |key: &'static str| {
        let state = state.clone();
        async move {
            for _ in 0..200 {
                let s = state.clone();
                let (attempts, error): (i32, Option<String>) = actix_web::web::block(move || {
                    use diesel::prelude::*;
                    use gatehouse::db::schema::outbox;
                    s.db.read_sync(|c| {
                        Ok(outbox::table
                            .filter(outbox::event_key.eq(key))
                            .select((outbox::attempts, outbox::last_error))
                            .first(c)?)
                    })
                })
                .await
                .unwrap()
                .unwrap();
                if attempts >= 2 {
                    return error.unwrap();
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            panic!("{key} was not retried");
        }
    };
    let unfit = failed("test:unfit:1").await;
    assert!(
        unfit.starts_with("cannot render: the stored parameters of password_reset do not fit it: Data error"),
        "{unfit}"
    );
    assert!(!unfit.contains("secret"), "{unfit}");
    let missing = failed("test:missing:1").await;
    assert!(missing.contains("missing field `link`"), "{missing}");
    let retired = failed("test:retired:1").await;
    assert_eq!(retired, "cannot render: unknown email template \"retired_notice\": this version cannot render it");
    for to in ["unfit@example.com", "missing@example.com", "retired@example.com"] {
        assert!(app.smtp.inbox.to(to).is_empty(), "{to}");
    }

    // Admins see the failure; the subject cannot be rendered either.
    let (status, page) = app.get("/admin/outbox?recipient=missing@example.com", Some(&admin.access)).await;
    assert_eq!(status, 200, "{page}");
    let item = &page["items"][0];
    assert_eq!((item["status"].as_str(), item["subject"].as_str()), (Some("pending"), Some("")), "{item}");
    assert!(item["last_error"].as_str().unwrap().contains("missing field `link`"), "{item}");
}

/// The `template` column holds the names the code renders (issue 17's closed sets), and a
/// row holds either its parameters or, queued before issue 23, its rendering: not both,
/// not neither.
async fn the_outbox_accepts_only_known_templates_and_one_kind_of_content(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let insert = |key: String, template: &str, content: &str| {
        format!(
            "INSERT INTO outbox (event_key, recipient, template, {content}, status, attempts, next_attempt_at, \
             created_at) VALUES ('{key}', 'x@example.com', '{template}', {}, 'pending', 0, '2099-01-01 00:00:00', \
             '2026-01-01 00:00:00')",
            content.split(", ").map(|_| "'{}'").collect::<Vec<_>>().join(", ")
        )
    };
    for t in EmailTemplate::ALL {
        let sql = insert(format!("known:{t}"), t.as_str(), "params");
        raw_sql(&app, vec![sql.clone()]).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    raw_sql(&app, vec![insert("legacy".into(), "verify_email", "subject, body_text, body_html")]).await.unwrap();
    for (template, content) in [
        ("retired_notice", "params"),
        ("verify_email", "subject"),
        ("verify_email", "params, subject, body_text, body_html"),
        ("verify_email", "params, body_html"),
    ] {
        let sql = insert(format!("refused:{content}"), template, content);
        assert!(raw_sql(&app, vec![sql.clone()]).await.is_err(), "the database accepted {sql}");
    }
    let sql = "INSERT INTO outbox (event_key, recipient, template, status, attempts, next_attempt_at, created_at) \
               VALUES ('bare', 'x@example.com', 'verify_email', 'pending', 0, '2099-01-01 00:00:00', '2026-01-01 00:00:00')";
    assert!(raw_sql(&app, vec![sql.to_string()]).await.is_err(), "the database accepted {sql}");
}

/// An instance killed in the middle of a pass leaves the emails it claimed leased: they
/// are sent by another worker once the lease ends (not five minutes later, as when the
/// lease covered a whole claimed batch), exactly once, and the killed claim can no longer
/// renew its lease (the attempt count fences it). CI saw the multi-instance test wait
/// for an email an instance claimed just before it was killed.
async fn an_email_claimed_by_a_killed_worker_is_sent_once_its_lease_ends(backend: Backend) {
    use gatehouse::notifications::{service, worker};
    let app = TestApp::spawn(backend).await;
    let state = app.state.clone();
    // Queued and claimed in one transaction, as by another instance that then died: the
    // app's own worker never sees the row unclaimed.
    let claimed = actix_web::web::block(move || {
        state.db.tx_sync(|c| {
            let now = state.clock.now();
            notifications::enqueue(c, now, "orphan@example.com", "test:orphan:1", &payout_sent("Orphan"))?;
            service::claim_due(c, now, worker::LEASE, 50)
        })
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(claimed.len(), 1);
    let claim = claimed[0].clone();
    assert_eq!(claim.attempts, 1);

    // While the lease runs, nobody else sends it.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(app.smtp.inbox.to("orphan@example.com").is_empty(), "sent while another worker held it");

    // Once the lease ends, the app's worker claims and sends it, once.
    app.clock.advance(chrono::Duration::from_std(worker::LEASE).unwrap() + chrono::Duration::seconds(1));
    app.smtp.inbox.wait_for("orphan@example.com").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(app.smtp.inbox.to("orphan@example.com").len(), 1);
    let row = outbox_rows(&app).await.into_iter().find(|r| r.recipient == "orphan@example.com").unwrap();
    assert_eq!((row.status.as_str(), row.attempts), ("sent", 2), "{row:?}");

    // The killed worker's claim, were it to wake, cannot renew and so does not send.
    let state = app.state.clone();
    let renewed = actix_web::web::block(move || {
        state.db.tx_sync(|c| service::renew_lease(c, &claim, state.clock.now(), worker::LEASE))
    })
    .await
    .unwrap()
    .unwrap();
    assert!(!renewed, "a stale claim renewed its lease");
}
