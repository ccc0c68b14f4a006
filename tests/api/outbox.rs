use std::time::Duration;

use gatehouse::notifications::model::OutboxRow;
use gatehouse::notifications::{self, templates};
use serde_json::json;

use crate::both_backends;
use crate::support::{Backend, Options, TestApp, TestSmtp, PASSWORD};

both_backends!(
    outbox_retries_while_smtp_is_down_and_delivers_once,
    same_event_is_queued_once,
    outbox_listing_and_dead_letter_retry
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
