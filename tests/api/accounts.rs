use serde_json::json;

use crate::both_backends;
use crate::support::{Backend, TestApp, Tokens, PASSWORD};

both_backends!(
    registration_verification_login_refresh_logout,
    verification_token_is_single_use_and_expires,
    roles_are_enforced,
    expired_access_token_is_refused,
    refresh_token_reuse_revokes_the_session,
    password_reset_and_change_revoke_sessions,
    staff_are_created_by_admins_only,
    restart_keeps_keys_and_tokens_valid,
    profile_update_is_audited,
);

async fn registration_verification_login_refresh_logout(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (status, body) = app
        .post(
            "/auth/register",
            None,
            json!({"email": "Mia@Example.com", "password": PASSWORD, "full_name": "Mia Chen"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["email"], "mia@example.com");
    assert_eq!(body["status"], "registered");
    assert_eq!(body["email_verified"], false);
    assert_eq!(body["roles"], json!(["applicant"]));

    // The same address again is a conflict, whatever its case.
    let (status, body) = app
        .post("/auth/register", None, json!({"email": "MIA@example.com", "password": PASSWORD, "full_name": "Mia"}))
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "email_taken");

    // The verification email arrives over SMTP with HTML and text parts.
    let mail = app.smtp.inbox.wait_for("mia@example.com").await;
    assert_eq!(mail.subject, "Confirm your email address for Gatehouse");
    assert!(mail.text.contains("Hello Mia Chen"), "{}", mail.text);
    assert!(mail.html.contains("<a href="), "{}", mail.html);

    // Signing in works before verification; /me says the email is not verified yet.
    let early = app.login("mia@example.com", PASSWORD).await;
    let (_, me) = app.get("/me", Some(&early.access)).await;
    assert_eq!(me["email_verified"], false);

    let (status, body) = app.post("/auth/verify-email", None, json!({"token": mail.link_token()})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "email_verified");
    assert_eq!(body["email_verified"], true);

    let (status, tokens) =
        app.post("/auth/login", None, json!({"email": "mia@example.com", "password": PASSWORD})).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["expires_in"], 900);
    assert_eq!(tokens["token_type"], "Bearer");
    let t = Tokens::from(&tokens);

    let (status, me) = app.get("/me", Some(&t.access)).await;
    assert_eq!(status, 200);
    assert_eq!(me["full_name"], "Mia Chen");
    assert_eq!(me["status"], "email_verified");

    // Refresh rotates: the new pair works, the old refresh token does not.
    let (status, body) = app.post("/auth/refresh", None, json!({"refresh_token": t.refresh})).await;
    assert_eq!(status, 200, "{body}");
    let rotated = Tokens::from(&body);
    assert_ne!(rotated.refresh, t.refresh);
    let (status, _) = app.get("/me", Some(&rotated.access)).await;
    assert_eq!(status, 200);
    let (status, body) = app.post("/auth/refresh", None, json!({"refresh_token": t.refresh})).await;
    assert_eq!(status, 401, "{body}");

    // Logout ends the session the refresh token belongs to.
    let login2 = app.login("mia@example.com", PASSWORD).await;
    let (status, _) = app.post("/auth/logout", None, json!({"refresh_token": login2.refresh})).await;
    assert_eq!(status, 204);
    let (status, _) = app.post("/auth/refresh", None, json!({"refresh_token": login2.refresh})).await;
    assert_eq!(status, 401);
    // Logging out twice is harmless.
    let (status, _) = app.post("/auth/logout", None, json!({"refresh_token": login2.refresh})).await;
    assert_eq!(status, 204);
}

async fn verification_token_is_single_use_and_expires(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.post("/auth/register", None, json!({"email": "a@example.com", "password": PASSWORD, "full_name": "A"})).await;
    app.post("/auth/register", None, json!({"email": "b@example.com", "password": PASSWORD, "full_name": "B"})).await;
    let a = app.smtp.inbox.wait_for("a@example.com").await.link_token();
    let b = app.smtp.inbox.wait_for("b@example.com").await.link_token();

    let (status, _) = app.post("/auth/verify-email", None, json!({"token": a})).await;
    assert_eq!(status, 200);
    let (status, body) = app.post("/auth/verify-email", None, json!({"token": a})).await;
    assert_eq!(status, 400);
    assert_eq!(body["code"], "invalid_token");

    app.clock.advance(chrono::Duration::hours(25));
    let (status, body) = app.post("/auth/verify-email", None, json!({"token": b})).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["code"], "invalid_token");

    // A new link can be requested by the signed-in user.
    let t = app.login("b@example.com", PASSWORD).await;
    let (status, _) = app.post("/auth/verify-email/resend", Some(&t.access), json!({})).await;
    assert_eq!(status, 202);
    let fresh = app.smtp.inbox.wait_for_nth("b@example.com", 2).await.link_token();
    let (status, _) = app.post("/auth/verify-email", None, json!({"token": fresh})).await;
    assert_eq!(status, 200);
}

async fn roles_are_enforced(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let applicant = app.applicant("app@example.com").await;
    let (status, body) = app.get("/admin/audit", Some(&applicant.access)).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["code"], "forbidden");
    assert_eq!(body["type"], "/problems/forbidden");

    let (status, body) = app.get("/admin/audit", None).await;
    assert_eq!(status, 401);
    assert_eq!(body["code"], "unauthorized");
    let (status, _) = app.get("/me", Some("not-a-jwt")).await;
    assert_eq!(status, 401);

    let admin = app.admin().await;
    let (status, body) = app.get("/admin/audit", Some(&admin.access)).await;
    assert_eq!(status, 200, "{body}");
    let finance = app.staff(&admin, "fin@gatehouse.test", &["finance"]).await;
    let (status, _) = app.get("/admin/outbox", Some(&finance.access)).await;
    assert_eq!(status, 403);
}

async fn expired_access_token_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = app.applicant("exp@example.com").await;
    app.clock.advance(chrono::Duration::minutes(14));
    let (status, _) = app.get("/me", Some(&t.access)).await;
    assert_eq!(status, 200);
    app.clock.advance(chrono::Duration::minutes(2));
    let (status, body) = app.get("/me", Some(&t.access)).await;
    assert_eq!(status, 401, "{body}");
    // The refresh token still gets a new access token.
    let (status, body) = app.post("/auth/refresh", None, json!({"refresh_token": t.refresh})).await;
    assert_eq!(status, 200, "{body}");
}

async fn refresh_token_reuse_revokes_the_session(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let first = app.applicant("reuse@example.com").await;
    let (_, body) = app.post("/auth/refresh", None, json!({"refresh_token": first.refresh})).await;
    let second = Tokens::from(&body);
    // An attacker replays the first (already rotated) token...
    let (status, _) = app.post("/auth/refresh", None, json!({"refresh_token": first.refresh})).await;
    assert_eq!(status, 401);
    // ...which revokes the whole family, including the legitimate newer token.
    let (status, _) = app.post("/auth/refresh", None, json!({"refresh_token": second.refresh})).await;
    assert_eq!(status, 401);
    // Another session of the same user is untouched.
    let other = app.login("reuse@example.com", PASSWORD).await;
    let (status, _) = app.post("/auth/refresh", None, json!({"refresh_token": other.refresh})).await;
    assert_eq!(status, 200);

    let admin = app.admin().await;
    // Both replays (the stolen token, then the revoked newer one) are security events.
    let (_, audit) = app.get("/admin/audit?action=auth.refresh_token_reuse", Some(&admin.access)).await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 2, "{audit}");
}

async fn password_reset_and_change_revoke_sessions(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = app.applicant("pw@example.com").await;
    // Unknown addresses get the same answer and no email.
    let (status, _) = app.post("/auth/password-reset", None, json!({"email": "nobody@example.com"})).await;
    assert_eq!(status, 202);
    let (status, _) = app.post("/auth/password-reset", None, json!({"email": "pw@example.com"})).await;
    assert_eq!(status, 202);
    let mail = app.smtp.inbox.wait_for_nth("pw@example.com", 2).await;
    assert_eq!(mail.subject, "Reset your Gatehouse password");

    let (status, body) =
        app.post("/auth/password-reset/confirm", None, json!({"token": mail.link_token(), "password": "short"})).await;
    assert_eq!(status, 422);
    assert_eq!(body["errors"][0]["field"], "password");
    let new_password = "a brand new passphrase";
    let (status, _) = app
        .post("/auth/password-reset/confirm", None, json!({"token": mail.link_token(), "password": new_password}))
        .await;
    assert_eq!(status, 204);
    let (status, _) = app.post("/auth/refresh", None, json!({"refresh_token": t.refresh})).await;
    assert_eq!(status, 401, "a password reset signs out everywhere");
    let (status, _) = app.post("/auth/login", None, json!({"email": "pw@example.com", "password": PASSWORD})).await;
    assert_eq!(status, 401);
    let t2 = app.login("pw@example.com", new_password).await;

    // Changing the password needs the current one and revokes sessions too.
    let resp = app
        .client
        .put(app.url("/me/password"))
        .bearer_auth(&t2.access)
        .json(&json!({"current_password": "not it at all", "new_password": "another new passphrase"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    let resp = app
        .client
        .put(app.url("/me/password"))
        .bearer_auth(&t2.access)
        .json(&json!({"current_password": new_password, "new_password": "another new passphrase"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let (status, _) = app.post("/auth/refresh", None, json!({"refresh_token": t2.refresh})).await;
    assert_eq!(status, 401);
    app.login("pw@example.com", "another new passphrase").await;
}

async fn staff_are_created_by_admins_only(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let applicant = app.applicant("sneaky@example.com").await;
    let body = json!({"email": "rev@gatehouse.test", "full_name": "Rita Reviewer", "roles": ["reviewer"]});
    let (status, _) = app.post("/admin/staff", Some(&applicant.access), body.clone()).await;
    assert_eq!(status, 403);
    let (status, _) = app.post("/admin/staff", None, body.clone()).await;
    assert_eq!(status, 401);

    let admin = app.admin().await;
    let (status, problem) = app
        .post(
            "/admin/staff",
            Some(&admin.access),
            json!({"email": "x@gatehouse.test", "full_name": "X", "roles": ["applicant"]}),
        )
        .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "roles");

    let reviewer = app.staff(&admin, "rev@gatehouse.test", &["reviewer", "finance"]).await;
    let (status, me) = app.get("/me", Some(&reviewer.access)).await;
    assert_eq!(status, 200);
    assert_eq!(me["roles"], json!(["reviewer", "finance"]));
    assert_eq!(me["status"], "staff");
    assert_eq!(me["email_verified"], true);
    let invite = app.smtp.inbox.wait_for("rev@gatehouse.test").await;
    assert!(invite.text.contains("reviewer, finance"), "{}", invite.text);

    let (status, _) = app.post("/admin/staff", Some(&admin.access), body).await;
    assert_eq!(status, 409);

    let (_, audit) = app.get("/admin/audit?action=staff.created", Some(&admin.access)).await;
    let items = audit["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{audit}");
    // Actions and subject types are closed sets: a filter outside them is refused, not
    // answered with an empty page.
    for query in ["action=staff.teleported", "subject_type=planet"] {
        let (status, body) = app.get(&format!("/admin/audit?{query}"), Some(&admin.access)).await;
        assert_eq!((status, body["code"].as_str()), (400, Some("invalid_query")), "{query}: {body}");
    }
    assert_eq!(items[0]["subject_id"], me["id"].to_string());
    assert!(items[0]["request_id"].as_str().is_some_and(|r| !r.is_empty()));
}

async fn restart_keeps_keys_and_tokens_valid(backend: Backend) {
    let mut app = TestApp::spawn(backend).await;
    let t = app.applicant("restart@example.com").await;
    let old_base = app.base.clone();
    app.restart().await;
    assert_ne!(app.base, old_base);
    let (status, me) = app.get("/me", Some(&t.access)).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["email"], "restart@example.com");
    let (status, _) = app.post("/auth/refresh", None, json!({"refresh_token": t.refresh})).await;
    assert_eq!(status, 200);
}

async fn profile_update_is_audited(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = app.applicant("prof@example.com").await;
    let (status, body) = app.patch("/me", Some(&t.access), json!({"full_name": "Prof New Name"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["full_name"], "Prof New Name");
    let (status, body) = app.patch("/me", Some(&t.access), json!({"email": "other@example.com"})).await;
    assert_eq!(status, 400, "unknown fields are refused: {body}");
    let admin = app.admin().await;
    let (_, audit) = app.get("/admin/audit?action=profile.updated", Some(&admin.access)).await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 1);
}
