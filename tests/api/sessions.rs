//! Issue 15 through the HTTP API: access ends at the next request after a logout, a
//! password change, a removal, a disabled account or a role change; what each status
//! may still do; sign-in limits that count failures only and cannot lock the owner out;
//! reset and verification links of which only the newest works, throttled per address
//! and per client address.

use serde_json::{json, Value};

use crate::both_backends;
use crate::payouts::{ach, add_method, sign_w9};
use crate::support::{Backend, Options, TestApp, Tokens, PASSWORD};
use crate::work::world;

both_backends!(
    logout_and_password_change_end_access_at_the_next_request,
    role_changes_and_disabled_staff_take_effect_at_once,
    removed_rejected_and_closed_accounts_read_but_change_nothing,
    suspended_contributors_fix_what_suspended_them_but_do_not_earn,
    only_failures_count_and_an_attacker_elsewhere_cannot_lock_the_owner_out,
    failures_from_many_addresses_only_slow_the_account,
    only_the_newest_reset_link_works_and_requests_are_throttled,
    a_new_verification_link_revokes_the_earlier_one,
    ended_sessions_and_spent_throttle_events_are_purged,
);

async fn status_of(app: &TestApp, method: &str, path: &str, token: &str, body: Value) -> (u16, Value) {
    match method {
        "GET" => app.get(path, Some(token)).await,
        "POST" => app.post(path, Some(token), body).await,
        "PUT" => app.put(path, Some(token), body).await,
        "PATCH" => app.patch(path, Some(token), body).await,
        other => panic!("{other}"),
    }
}

/// Sends a login from the client address 127.0.0.`octet`; the status and Retry-After.
async fn login_from(app: &TestApp, octet: u8, email: &str, password: &str) -> (u16, Option<u64>) {
    let resp = app
        .client_from(octet)
        .post(app.url("/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let retry = resp.headers().get("retry-after").map(|v| v.to_str().unwrap().parse().unwrap());
    if status == 429 {
        assert_eq!(resp.headers()["content-type"], "application/problem+json");
        assert!(retry.is_some(), "every 429 carries Retry-After");
    }
    (status, retry)
}

async fn logout_and_password_change_end_access_at_the_next_request(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let phone = app.applicant("lo@example.com").await;
    let laptop = app.login("lo@example.com", PASSWORD).await;
    assert_eq!(app.get("/me", Some(&phone.access)).await.0, 200);

    // Logout ends that session's access token now, not in 15 minutes.
    let (status, _) = app.post("/auth/logout", None, json!({"refresh_token": phone.refresh})).await;
    assert_eq!(status, 204);
    for path in ["/me", "/me/readiness", "/me/earnings"] {
        let (status, body) = app.get(path, Some(&phone.access)).await;
        assert_eq!((status, body["code"].as_str()), (401, Some("unauthorized")), "{path}: {body}");
    }
    let (status, _) = app.patch("/me", Some(&phone.access), json!({"full_name": "After Logout"})).await;
    assert_eq!(status, 401);
    // The other session is untouched...
    assert_eq!(app.get("/me", Some(&laptop.access)).await.0, 200);

    // ...until the password changes: every session ends, this one included.
    let (status, _) = app
        .put(
            "/me/password",
            Some(&laptop.access),
            json!({"current_password": PASSWORD, "new_password": "a different passphrase"}),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(app.get("/me", Some(&laptop.access)).await.0, 401);
    let fresh = app.login("lo@example.com", "a different passphrase").await;
    assert_eq!(app.get("/me", Some(&fresh.access)).await.0, 200);
}

async fn role_changes_and_disabled_staff_take_effect_at_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    let fin = app.staff(&admin, "fin@gatehouse.test", &["finance"]).await;
    let fin_id = app.user_id(&fin).await;
    assert_eq!(app.get("/payout-batches/preview", Some(&fin.access)).await.0, 200);

    // De-roled: the same token is refused on the next request.
    let (status, body) =
        app.put(&format!("/admin/users/{fin_id}/roles"), Some(&admin.access), json!({"roles": ["reviewer"]})).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app.get("/payout-batches/preview", Some(&fin.access)).await;
    assert_eq!(status, 403, "{body}");
    // A role given is usable at once too.
    assert_eq!(app.get("/review/work-records", Some(&fin.access)).await.0, 200);
    let (_, me) = app.get("/me", Some(&fin.access)).await;
    assert_eq!(me["roles"], json!(["reviewer"]), "GET /me shows the roles held now");

    // Disabled: refused at once everywhere, then sign-in refused; enabled again works.
    let (status, body) = app.post(&format!("/admin/staff/{fin_id}/disable"), Some(&admin.access), json!({})).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("disabled")), "{body}");
    assert_eq!(app.get("/review/work-records", Some(&fin.access)).await.0, 401);
    assert_eq!(app.get("/me", Some(&fin.access)).await.0, 401);
    let (status, _) = app.post("/auth/refresh", None, json!({"refresh_token": fin.refresh})).await;
    assert_eq!(status, 401);
    let (status, _) = app.post("/auth/login", None, json!({"email": "fin@gatehouse.test", "password": PASSWORD})).await;
    assert_eq!(status, 401);
    let admin_id = app.user_id(&admin).await;
    let (status, body) = app.post(&format!("/admin/staff/{admin_id}/disable"), Some(&admin.access), json!({})).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("own_account")));
    let (status, _) = app.post(&format!("/admin/staff/{fin_id}/disable"), Some(&fin.access), json!({})).await;
    assert_eq!(status, 401);
    let (status, body) = app.post(&format!("/admin/staff/{fin_id}/enable"), Some(&admin.access), json!({})).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("staff")), "{body}");
    let again = app.login("fin@gatehouse.test", PASSWORD).await;
    assert_eq!(app.get("/review/work-records", Some(&again.access)).await.0, 200);
    let (_, audit) = app.get("/admin/audit?action=staff.disabled", Some(&admin.access)).await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 1, "{audit}");
}

/// Reads a removed, rejected or closed contributor may still do, and changes refused.
async fn assert_read_only(app: &TestApp, t: &Tokens) {
    for path in ["/me", "/me/readiness", "/me/decisions", "/me/earnings", "/me/payouts", "/me/work-records"] {
        let (status, body) = app.get(path, Some(&t.access)).await;
        assert_eq!(status, 200, "{path}: {body}");
    }
    let changes: [(&str, &str, Value); 5] = [
        ("PATCH", "/me", json!({"full_name": "Changed"})),
        ("POST", "/me/payout-methods", json!({"rail": "paypal", "email": "new@pp.example"})),
        ("PUT", "/me/work-authorization", json!({"category": "us_citizen", "residence_country": "US"})),
        ("POST", "/tests/1/attempts", json!({})),
        ("POST", "/me/close", json!({"password": PASSWORD})),
    ];
    for (method, path, body) in changes {
        let (status, problem) = status_of(app, method, path, &t.access, body).await;
        assert_eq!((status, problem["code"].as_str()), (403, Some("account_read_only")), "{method} {path}: {problem}");
    }
}

async fn removed_rejected_and_closed_accounts_read_but_change_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let w = world(&app, 2).await;
    let r2 = app.staff(&w.admin, "r2@gatehouse.test", &["reviewer"]).await;

    // Removed (two sign-offs): the access token in hand stops at once.
    let (removed_id, removed) = w.contributors[0].clone();
    add_method(&app, &removed, ach("000111222333")).await;
    let body = json!({"user_id": removed_id, "note": "Confirmed false degree."});
    let (status, proposal) = app.post("/review/removals", Some(&w.reviewer_a.access), body).await;
    assert_eq!(status, 201, "{proposal}");
    let (status, body) =
        app.post(&format!("/review/removals/{}/confirm", proposal["id"]), Some(&r2.access), json!({})).await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = app.patch("/me", Some(&removed.access), json!({"full_name": "Still Here"})).await;
    assert_eq!(status, 401, "the removal ended the session");
    let (status, _) = app.post("/me/payout-methods", Some(&removed.access), ach("000999888777")).await;
    assert_eq!(status, 401);
    let removed = app.login("worker0@example.com", PASSWORD).await;
    assert_read_only(&app, &removed).await;

    // Rejected at once (no US work authorization).
    let rejected = app.applicant("no-auth@example.com").await;
    let (status, body) = app
        .put("/me/work-authorization", Some(&rejected.access), json!({"category": "none", "residence_country": "US"}))
        .await;
    assert_eq!((status, body["outcome"].as_str()), (200, Some("rejected")), "{body}");
    assert_read_only(&app, &rejected).await;

    // Closed by its owner: the same.
    let (_, closing) = w.contributors[1].clone();
    let (status, problem) = app.post("/me/close", Some(&closing.access), json!({"password": "not my password"})).await;
    assert_eq!(status, 422, "{problem}");
    let (status, me) = app.post("/me/close", Some(&closing.access), json!({"password": PASSWORD})).await;
    assert_eq!((status, me["status"].as_str()), (200, Some("closed")), "{me}");
    assert_read_only(&app, &closing).await;
    app.smtp.inbox.wait_for_subject("worker1@example.com", "Your Gatehouse account is closed").await;
}

async fn suspended_contributors_fix_what_suspended_them_but_do_not_earn(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let w = world(&app, 1).await;
    let (id, t) = w.contributors[0].clone();
    {
        use diesel::prelude::*;
        use gatehouse::db::schema::users;
        let now = app.state.clock.now();
        app.state
            .db
            .tx_sync(move |c| {
                diesel::update(users::table.find(id))
                    .set((users::status.eq("suspended"), users::work_blocked_since.eq(Some(now))))
                    .execute(c)
                    .map_err(Into::into)
            })
            .unwrap();
    }
    // Nothing that earns...
    let (status, problem) = app.post("/tests/1/attempts", Some(&t.access), json!({})).await;
    assert_eq!((status, problem["code"].as_str()), (403, Some("account_cannot_work")), "{problem}");
    // ...but what a suspended contributor needs: tax profile, profile, payout method, reads.
    sign_w9(&app, &t, false).await;
    add_method(&app, &t, ach("000987654321")).await;
    let (status, readiness) = app.get("/me/readiness", Some(&t.access)).await;
    assert_eq!((status, readiness["can_work"].as_bool()), (200, Some(false)), "{readiness}");
}

async fn only_failures_count_and_an_attacker_elsewhere_cannot_lock_the_owner_out(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.applicant("rl@example.com").await;
    // Successful sign-ins do not count: the owner signing in often is never refused.
    for _ in 0..8 {
        assert_eq!(login_from(&app, 1, "rl@example.com", PASSWORD).await.0, 200);
    }
    // An attacker at another address spends its own budget...
    for _ in 0..5 {
        assert_eq!(login_from(&app, 2, "rl@example.com", "wrong password 123").await.0, 401);
    }
    let (status, retry) = login_from(&app, 2, "rl@example.com", "wrong password 123").await;
    assert_eq!(status, 429);
    assert!((1..=15 * 60).contains(&retry.unwrap()), "{retry:?}");
    // ...even the right password waits there...
    assert_eq!(login_from(&app, 2, "rl@example.com", PASSWORD).await.0, 429);
    // ...while the owner signs in from their own address.
    assert_eq!(login_from(&app, 1, "rl@example.com", PASSWORD).await.0, 200);
    // The window passes: the attacker's address may try again.
    app.clock.advance(chrono::Duration::minutes(16));
    assert_eq!(login_from(&app, 2, "rl@example.com", "wrong password 123").await.0, 401);

    // Failed sign-ins are security events in the audit log; refused ones are not checked.
    let state = app.state.clone();
    let failures = actix_web::web::block(move || {
        state.db.read_sync(|c| {
            gatehouse::audit::service::list(
                c,
                &gatehouse::audit::service::AuditFilter {
                    action: Some(gatehouse::audit::AuditAction::AuthLoginFailed),
                    ..Default::default()
                },
            )
        })
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(failures.len(), 6);
}

async fn failures_from_many_addresses_only_slow_the_account(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.applicant("slow@example.com").await; // signed in once from 127.0.0.1: a known address
                                             // Ten failures spread over addresses that each stay under their own limit.
    for (octet, n) in [(2, 4), (3, 4), (4, 2)] {
        for _ in 0..n {
            assert_eq!(login_from(&app, octet, "slow@example.com", "guess guess guess").await.0, 401);
        }
    }
    // The account is slowed for addresses it has not signed in from: one check per
    // delay, never longer than the configured 60 s.
    let (status, retry) = login_from(&app, 5, "slow@example.com", PASSWORD).await;
    assert_eq!(status, 429);
    assert!((1..=60).contains(&retry.unwrap()), "{retry:?}");
    assert_eq!(login_from(&app, 6, "slow@example.com", "guess again").await.0, 429);
    // The owner's known address is not slowed at all.
    assert_eq!(login_from(&app, 1, "slow@example.com", PASSWORD).await.0, 200);
    // After the delay, the owner gets in from a new address too.
    app.clock.advance(chrono::Duration::seconds(61));
    assert_eq!(login_from(&app, 5, "slow@example.com", PASSWORD).await.0, 200);
}

async fn reset(app: &TestApp, email: &str) -> u16 {
    app.post("/auth/password-reset", None, json!({"email": email})).await.0
}

async fn only_the_newest_reset_link_works_and_requests_are_throttled(backend: Backend) {
    let options = Options { vars: vec![("GATEHOUSE_EMAIL_LINKS_PER_IP", "7".into())], ..Default::default() };
    let app = TestApp::spawn_with(backend, options).await;
    let t = app.applicant("pw@example.com").await;
    for _ in 0..3 {
        assert_eq!(reset(&app, "pw@example.com").await, 202);
    }
    let links: Vec<String> = {
        app.smtp.inbox.wait_for_nth("pw@example.com", 4).await;
        app.smtp.inbox.to("pw@example.com").iter().skip(1).map(|m| m.link_token()).collect()
    };
    assert_eq!(links.len(), 3);
    // Twenty requests for one address do not send twenty emails: the fourth waits, and
    // an address without an account gets exactly the same answers.
    for email in ["pw@example.com", "nobody@example.com"] {
        let resp = app.client.post(app.url("/auth/password-reset")).json(&json!({"email": email})).send().await;
        let resp = resp.unwrap();
        if email == "nobody@example.com" {
            assert_eq!(resp.status(), 202);
            assert_eq!(reset(&app, email).await, 202);
            assert_eq!(reset(&app, email).await, 202);
            assert_eq!(reset(&app, email).await, 429);
        } else {
            assert_eq!(resp.status(), 429);
            let retry: u64 = resp.headers()["retry-after"].to_str().unwrap().parse().unwrap();
            assert!((1..=3600).contains(&retry));
        }
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(app.smtp.inbox.to("pw@example.com").len(), 4, "one verification email and three reset links");
    // The per-address budget is per address; the client address has its own (7 here).
    assert_eq!(reset(&app, "other@example.com").await, 202);
    assert_eq!(reset(&app, "third@example.com").await, 429, "the eighth request from one client address");

    // Only the newest link works; using it ends every other.
    let confirm = |token: &String, password: &str| {
        app.post("/auth/password-reset/confirm", None, json!({"token": token, "password": password}))
    };
    for stale in &links[..2] {
        let (status, body) = confirm(stale, "an earlier link's password").await;
        assert_eq!((status, body["code"].as_str()), (400, Some("invalid_token")), "{body}");
    }
    assert_eq!(confirm(&links[2], "the newest link's password").await.0, 204);
    assert_eq!(confirm(&links[2], "and once more please").await.0, 400);
    assert_eq!(app.get("/me", Some(&t.access)).await.0, 401, "a reset signs out everywhere");
    app.login("pw@example.com", "the newest link's password").await;

    // The window passes: a new link may be asked for.
    app.clock.advance(chrono::Duration::minutes(61));
    assert_eq!(reset(&app, "pw@example.com").await, 202);
}

async fn a_new_verification_link_revokes_the_earlier_one(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (status, _) = app
        .post("/auth/register", None, json!({"email": "v@example.com", "password": PASSWORD, "full_name": "V"}))
        .await;
    assert_eq!(status, 201);
    let first = app.smtp.inbox.wait_for("v@example.com").await.link_token();
    let t = app.login("v@example.com", PASSWORD).await;
    assert_eq!(app.post("/auth/verify-email/resend", Some(&t.access), json!({})).await.0, 202);
    assert_eq!(app.post("/auth/verify-email/resend", Some(&t.access), json!({})).await.0, 202);
    let (status, problem) = app.post("/auth/verify-email/resend", Some(&t.access), json!({})).await;
    assert_eq!((status, problem["code"].as_str()), (429, Some("rate_limited")), "three links per address per hour");
    let newest = app.smtp.inbox.wait_for_nth("v@example.com", 3).await.link_token();
    let (status, body) = app.post("/auth/verify-email", None, json!({"token": first})).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("invalid_token")), "{body}");
    let (status, body) = app.post("/auth/verify-email", None, json!({"token": newest})).await;
    assert_eq!((status, body["email_verified"].as_bool()), (200, Some(true)), "{body}");
}

async fn ended_sessions_and_spent_throttle_events_are_purged(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = app.applicant("purge@example.com").await; // two verification-email events
    let (status, _) = app.post("/auth/logout", None, json!({"refresh_token": t.refresh})).await;
    assert_eq!(status, 204);
    assert_eq!(login_from(&app, 2, "purge@example.com", "wrong password 123").await.0, 401); // three events
    let run = || {
        let state = app.state.clone();
        async move { actix_web::web::block(move || gatehouse::jobs::run_due(&state)).await.unwrap().unwrap() }
    };
    assert_eq!(run().await.auth_records_purged, 0, "nothing has ended long enough ago");
    app.clock.advance(chrono::Duration::days(2));
    assert_eq!(run().await.auth_records_purged, 1 + 3 + 2, "the ended session, the failure, the link budget");
    assert_eq!(run().await.auth_records_purged, 0);
    // The sign-in from the known address still counts as known.
    assert_eq!(login_from(&app, 1, "purge@example.com", PASSWORD).await.0, 200);
}
