//! Qualification tests through the HTTP API: authoring, timed attempts, grading,
//! the review queue, qualifications and project access. Every applicant-facing body is
//! collected and checked for answer keys.

use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use crate::both_backends;
use crate::support::{logs, read, Backend, TestApp, Tokens, PASSWORD};

both_backends!(
    full_pass_and_full_fail_are_emailed_and_grant_access,
    late_answers_are_refused_and_the_attempt_is_closed_at_the_deadline,
    a_second_attempt_in_progress_is_refused,
    cooldown_and_attempt_limit_give_the_next_allowed_date,
    free_text_waits_for_a_claimed_review_then_passes,
    an_applicant_cannot_read_anothers_attempt,
    a_prerequisite_qualification_gates_a_test,
    a_credential_prerequisite_names_a_known_kind_and_an_unreadable_one_opens_nothing,
    unreadable_required_qualifications_open_no_project_type,
    unreadable_questions_or_answers_are_an_error_never_empty,
);

const RUBRIC: &str = "Full marks only when the answer names idempotency keys";
const NUMERIC_KEY: &str = "2718.28";

/// An applicant whose every response body is kept for the answer-key check.
struct Person<'a> {
    app: &'a TestApp,
    email: String,
    token: String,
    seen: Arc<Mutex<Vec<String>>>,
}

impl<'a> Person<'a> {
    async fn new(app: &'a TestApp, email: &str, seen: &Arc<Mutex<Vec<String>>>) -> Person<'a> {
        let tokens = app.applicant(email).await;
        Person { app, email: email.to_string(), token: tokens.access, seen: seen.clone() }
    }

    /// Signs in again: access tokens live 15 minutes and tests move the clock.
    async fn relogin(&mut self) {
        self.token = self.app.login(&self.email, PASSWORD).await.access;
    }

    fn keep(&self, r: (u16, Value)) -> (u16, Value) {
        self.seen.lock().unwrap().push(r.1.to_string());
        r
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let r = self.app.get(path, Some(&self.token)).await;
        self.keep(r)
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let r = self.app.post(path, Some(&self.token), body).await;
        self.keep(r)
    }

    async fn put(&self, path: &str, body: Value) -> (u16, Value) {
        let r = put(self.app, path, &self.token, body).await;
        self.keep(r)
    }

    async fn start(&self, test_id: i64) -> (u16, Value) {
        self.post(&format!("/tests/{test_id}/attempts"), json!({})).await
    }

    /// Starts, answers and submits; returns the submitted attempt.
    async fn take(&self, test_id: i64, answers: Value) -> Value {
        let (status, attempt) = self.start(test_id).await;
        assert_eq!(status, 201, "{attempt}");
        let id = attempt["id"].as_i64().unwrap();
        let (status, body) = self.put(&format!("/attempts/{id}/answers"), json!({"answers": answers})).await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = self.post(&format!("/attempts/{id}/submit"), json!({})).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    async fn test_entry(&self, test_id: i64) -> Value {
        let (status, body) = self.get("/tests").await;
        assert_eq!(status, 200, "{body}");
        body["items"].as_array().unwrap().iter().find(|t| t["id"] == test_id).cloned().expect("test listed")
    }
}

async fn put(app: &TestApp, path: &str, token: &str, body: Value) -> (u16, Value) {
    read(app.client.put(app.url(path)).bearer_auth(token).json(&body).send().await.unwrap()).await
}

/// No applicant-facing body carries a key, a tolerance, a rubric or a numeric answer.
fn assert_no_answer_keys(seen: &Arc<Mutex<Vec<String>>>) {
    let seen = seen.lock().unwrap();
    assert!(seen.len() > 3, "bodies collected: {}", seen.len());
    for body in seen.iter() {
        for secret in ["\"correct\"", "\"tolerance\"", "\"rubric\"", "\"answer\":", RUBRIC, NUMERIC_KEY] {
            assert!(!body.contains(secret), "{secret} leaked to an applicant: {body}");
        }
    }
}

/// A 5-point objective test: single choice (2), multiple choice (2), numeric (1).
fn objective_test(domain: &str, tier: &str, attempt_limit: i64, cooldown_hours: i64, prerequisites: Value) -> Value {
    json!({
        "domain": domain, "tier": tier, "title": format!("{domain} {tier} test"),
        "time_limit_minutes": 30, "pass_mark_percent": 70, "attempt_limit": attempt_limit,
        "cooldown_hours": cooldown_hours, "stipend_cents": 500, "prerequisites": prerequisites,
        "sections": [
            {"title": "Basics", "questions": [
                {"id": "q1", "type": "single_choice", "prompt": "Which is prime?", "points": 2,
                 "options": [{"id": "opt-nine", "text": "9"}, {"id": "opt-seven", "text": "7"}], "correct": "opt-seven"},
                {"id": "q2", "type": "multiple_choice", "prompt": "Which are even?", "points": 2,
                 "options": [{"id": "m-two", "text": "2"}, {"id": "m-three", "text": "3"}, {"id": "m-four", "text": "4"}],
                 "correct": ["m-two", "m-four"]}
            ]},
            {"title": "Numbers", "questions": [
                {"id": "q3", "type": "numeric", "prompt": "1000 times e, to two decimals", "points": 1,
                 "answer": 2718.28, "tolerance": 0.5}
            ]}
        ]
    })
}

fn right_answers() -> Value {
    json!({"q1": "opt-seven", "q2": ["m-two", "m-four"], "q3": 2718.4})
}

fn wrong_answers() -> Value {
    json!({"q1": "opt-nine", "q2": ["m-two"], "q3": 100})
}

async fn create_test(app: &TestApp, admin: &Tokens, def: Value) -> i64 {
    let (status, body) = app.post("/admin/tests", Some(&admin.access), def).await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_i64().unwrap()
}

async fn full_pass_and_full_fail_are_emailed_and_grant_access(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let test_id = create_test(&app, &admin, objective_test("math", "generalist", 3, 24, json!([]))).await;
    let (status, project) = app
        .post(
            "/admin/projects",
            Some(&admin.access),
            json!({"name": "Math ranking", "required_qualifications": [{"domain": "math", "tier": "generalist"}]}),
        )
        .await;
    assert_eq!(status, 201, "{project}");

    let ana = Person::new(&app, "ana@example.com", &seen).await;
    let (status, attempt) = ana.start(test_id).await;
    assert_eq!(status, 201, "{attempt}");
    assert_eq!(attempt["questions"].as_array().unwrap().len(), 3);
    assert_eq!(attempt["questions"][0]["options"][1]["id"], "opt-seven");
    assert_eq!(attempt["stipend_cents"], 500);
    let id = attempt["id"].as_i64().unwrap();

    // An edit while Ana is working makes version 2; her attempt stays on version 1.
    let mut v2 = objective_test("math", "generalist", 3, 24, json!([]));
    v2["title"] = json!("Math generalist test, revised");
    let (status, body) = put(&app, &format!("/admin/tests/{test_id}"), &admin.access, v2).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["version"], 2);

    let (status, _) = ana.put(&format!("/attempts/{id}/answers"), json!({"answers": {"q1": "opt-seven"}})).await;
    assert_eq!(status, 200);
    let (status, body) = ana.put(&format!("/attempts/{id}/answers"), json!({"answers": {"q9": "x"}})).await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = ana
        .put(&format!("/attempts/{id}/answers"), json!({"answers": {"q2": ["m-two", "m-four"], "q3": 2718.4}}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["answers"]["q1"], "opt-seven");
    let (status, done) = ana.post(&format!("/attempts/{id}/submit"), json!({})).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["status"], "passed");
    assert_eq!(done["test_version"], 1);
    assert_eq!(done["result"]["score_percent"], 100);
    assert_eq!(done["result"]["sections"][0]["title"], "Basics");
    let mail = app.smtp.inbox.wait_for_nth("ana@example.com", 2).await;
    assert!(mail.subject.contains("passed"), "{}", mail.subject);
    assert!(mail.text.contains("Score: 100%") && mail.text.contains("Basics: 100%"), "{}", mail.text);
    assert!(!mail.text.contains("opt-seven") && !mail.text.contains(NUMERIC_KEY));

    let (status, mine) = ana.get("/me/qualifications").await;
    assert_eq!(status, 200, "{mine}");
    assert_eq!(mine["items"][0]["domain"], "math");
    assert_eq!(mine["items"][0]["tier"], "generalist");
    assert_eq!(mine["items"][0]["active"], true);
    assert_eq!(mine["project_types"][0]["name"], "Math ranking");
    assert_eq!(mine["project_types"][0]["eligible"], true);
    let entry = ana.test_entry(test_id).await;
    assert_eq!(entry["blocked_by"][0]["code"], "already_qualified");

    let ben = Person::new(&app, "ben@example.com", &seen).await;
    let done = ben.take(test_id, wrong_answers()).await;
    assert_eq!(done["status"], "failed");
    assert_eq!(done["test_version"], 2);
    // q2 earns half its 2 points (one of two correct options): 1 of 5 points.
    assert_eq!(done["result"]["score_percent"], 20);
    assert_eq!(done["result"]["passed"], false);
    let mail = app.smtp.inbox.wait_for_nth("ben@example.com", 2).await;
    assert!(mail.subject.contains("not passed"), "{}", mail.subject);
    assert!(mail.text.contains("Score: 20%"), "{}", mail.text);
    let (_, mine) = ben.get("/me/qualifications").await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 0);
    assert_eq!(mine["project_types"][0]["eligible"], false);
    assert_eq!(mine["project_types"][0]["missing"][0]["domain"], "math");

    // Authoring is audited.
    let (_, audit) = app.get("/admin/audit?subject_type=qualification_test", Some(&admin.access)).await;
    let actions: Vec<&str> = audit["items"].as_array().unwrap().iter().map(|r| r["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["test.versioned", "test.created"]);
    assert_no_answer_keys(&seen);
}

async fn late_answers_are_refused_and_the_attempt_is_closed_at_the_deadline(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let test_id = create_test(&app, &admin, objective_test("math", "generalist", 3, 0, json!([]))).await;
    let mut cy = Person::new(&app, "cy@example.com", &seen).await;
    let (_, attempt) = cy.start(test_id).await;
    let id = attempt["id"].as_i64().unwrap();
    let (status, _) = cy.put(&format!("/attempts/{id}/answers"), json!({"answers": {"q1": "opt-seven"}})).await;
    assert_eq!(status, 200);

    // Inside the grace period answers still count.
    app.clock.advance(chrono::Duration::minutes(30) + chrono::Duration::seconds(10));
    cy.relogin().await;
    let (status, body) = cy.put(&format!("/attempts/{id}/answers"), json!({"answers": {"q3": 1}})).await;
    assert_eq!(status, 200, "{body}");

    app.clock.advance(chrono::Duration::seconds(25));
    let (status, body) = cy.put(&format!("/attempts/{id}/answers"), json!({"answers": {"q3": 2718.3}})).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "deadline_passed");
    assert_eq!(body["deadline_at"], attempt["deadline_at"]);
    let (status, body) = cy.post(&format!("/attempts/{id}/submit"), json!({})).await;
    assert_eq!(status, 409, "{body}");

    // Reading closes it, graded on what was saved in time: 2 of 5 points.
    let (status, closed) = cy.get(&format!("/attempts/{id}")).await;
    assert_eq!(status, 200, "{closed}");
    assert_eq!(closed["status"], "failed");
    assert_eq!(closed["submitted_at"], attempt["deadline_at"]);
    assert_eq!(closed["result"]["score_percent"], 40);
    let mail = app.smtp.inbox.wait_for_nth("cy@example.com", 2).await;
    assert!(mail.subject.contains("not passed"));

    // The job closes attempts nobody looks at.
    let mut dee = Person::new(&app, "dee@example.com", &seen).await;
    let (status, attempt) = dee.start(test_id).await;
    assert_eq!(status, 201);
    app.clock.advance(chrono::Duration::hours(1));
    let state = app.state.clone();
    let closed = actix_web::web::block(move || gatehouse::qualifications::close_expired_attempts(&state))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(closed, 1);
    dee.relogin().await;
    let (_, body) = dee.get(&format!("/attempts/{}", attempt["id"])).await;
    assert_eq!(body["status"], "failed");
    assert_no_answer_keys(&seen);
}

async fn a_second_attempt_in_progress_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let first = create_test(&app, &admin, objective_test("math", "generalist", 3, 0, json!([]))).await;
    let second = create_test(&app, &admin, objective_test("law", "generalist", 3, 0, json!([]))).await;
    let eve = Person::new(&app, "eve@example.com", &seen).await;
    let (status, attempt) = eve.start(first).await;
    assert_eq!(status, 201);
    for test_id in [first, second] {
        let (status, body) = eve.start(test_id).await;
        assert_eq!(status, 409, "{body}");
        assert_eq!(body["code"], "attempt_in_progress");
        assert_eq!(body["attempt_id"], attempt["id"]);
    }
    let entry = eve.test_entry(second).await;
    assert_eq!(entry["available"], false);
    assert_eq!(entry["blocked_by"][0]["code"], "attempt_in_progress");
    eve.post(&format!("/attempts/{}/submit", attempt["id"]), json!({})).await;
    let (status, body) = eve.start(second).await;
    assert_eq!(status, 201, "{body}");
    assert_no_answer_keys(&seen);
}

async fn cooldown_and_attempt_limit_give_the_next_allowed_date(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let test_id = create_test(&app, &admin, objective_test("math", "generalist", 2, 24, json!([]))).await;
    let mut fay = Person::new(&app, "fay@example.com", &seen).await;
    let done = fay.take(test_id, wrong_answers()).await;
    assert_eq!(done["status"], "failed");
    let submitted =
        serde_json::from_value::<chrono::DateTime<chrono::Utc>>(done["submitted_at"].clone()).unwrap().naive_utc();
    let next = submitted + chrono::Duration::hours(24);

    let (status, body) = fay.start(test_id).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "cooldown");
    let next_at =
        serde_json::from_value::<chrono::DateTime<chrono::Utc>>(body["next_attempt_at"].clone()).unwrap().naive_utc();
    assert_eq!(next_at, next);
    assert!(body["detail"].as_str().unwrap().contains(&next.format("%Y-%m-%d %H:%M:%S").to_string()), "{body}");
    let entry = fay.test_entry(test_id).await;
    assert_eq!(entry["blocked_by"][0]["code"], "cooldown");
    assert_eq!(entry["blocked_by"][0]["next_attempt_at"], body["next_attempt_at"]);
    assert_eq!(entry["attempts_used"], 1);

    app.clock.advance(chrono::Duration::hours(25));
    fay.relogin().await;
    let done = fay.take(test_id, wrong_answers()).await;
    assert_eq!(done["status"], "failed");
    app.clock.advance(chrono::Duration::hours(25));
    fay.relogin().await;
    let (status, body) = fay.start(test_id).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "attempts_exhausted");
    assert_eq!(body["next_attempt_at"], Value::Null);
    assert_eq!(body["attempts_used"], 2);
    assert_eq!(body["attempt_limit"], 2);
    let entry = fay.test_entry(test_id).await;
    assert_eq!(entry["blocked_by"][0]["code"], "attempts_exhausted");
    assert_no_answer_keys(&seen);
}

async fn free_text_waits_for_a_claimed_review_then_passes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let def = json!({
        "domain": "cs", "tier": "expert", "title": "Distributed systems",
        "time_limit_minutes": 60, "pass_mark_percent": 80, "attempt_limit": 1, "cooldown_hours": 0,
        "sections": [
            {"title": "Choice", "questions": [
                {"id": "c1", "type": "single_choice", "prompt": "Which is a consensus protocol?", "points": 2,
                 "options": [{"id": "raft", "text": "Raft"}, {"id": "http", "text": "HTTP"}], "correct": "raft"}
            ]},
            {"title": "Essay", "questions": [
                {"id": "e1", "type": "free_text", "prompt": "How do you make payments safe to retry?",
                 "points": 3, "rubric": RUBRIC}
            ]}
        ]
    });
    let test_id = create_test(&app, &admin, def).await;
    let mut gus = Person::new(&app, "gus@example.com", &seen).await;
    let done = gus.take(test_id, json!({"c1": "raft", "e1": "Send an Idempotency-Key with every request."})).await;
    assert_eq!(done["status"], "grading");
    assert_eq!(done["answers_awaiting_review"], 1);
    assert_eq!(done["result"], Value::Null);

    let r1 = app.staff(&admin, "rita@gatehouse.test", &["reviewer"]).await;
    let r2 = app.staff(&admin, "rob@gatehouse.test", &["reviewer"]).await;
    let (status, queue) = app.get("/review/test-answers", Some(&r1.access)).await;
    assert_eq!(status, 200, "{queue}");
    let item = &queue["items"][0];
    assert_eq!(item["rubric"], RUBRIC);
    assert_eq!(item["max_points"], 3.0);
    assert!(item["age_seconds"].as_i64().unwrap() >= 0);
    let answer_id = item["id"].as_i64().unwrap();
    let claim = format!("/review/test-answers/{answer_id}/claim");
    let decision = format!("/review/test-answers/{answer_id}/decision");
    let (status, _) = app.get("/review/test-answers", Some(&gus.token)).await;
    assert_eq!(status, 403);

    let (status, body) = app.post(&decision, Some(&r2.access), json!({"points_awarded": 3, "note": "good"})).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "claim_required");
    let (status, body) = app.post(&claim, Some(&r1.access), json!({})).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app.post(&claim, Some(&r2.access), json!({})).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "claimed_by_other");
    let (status, _) = app.post(&decision, Some(&r2.access), json!({"points_awarded": 0, "note": "no"})).await;
    assert_eq!(status, 409);

    // Rita's claim lapses after 30 minutes; Rob takes over and Rita can no longer decide.
    app.clock.advance(chrono::Duration::minutes(31));
    let r1 = app.login("rita@gatehouse.test", PASSWORD).await;
    let r2 = app.login("rob@gatehouse.test", PASSWORD).await;
    gus.relogin().await;
    let (status, body) = app.post(&claim, Some(&r2.access), json!({})).await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = app.post(&decision, Some(&r1.access), json!({"points_awarded": 3, "note": "late"})).await;
    assert_eq!(status, 409);
    let (status, body) = app.post(&decision, Some(&r2.access), json!({"points_awarded": 4, "note": "too many"})).await;
    assert_eq!(status, 422, "{body}");
    let (status, body) =
        app.post(&decision, Some(&r2.access), json!({"points_awarded": 3, "note": "Names idempotency keys."})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["attempt_status"], "passed");
    let (status, _) = app.post(&decision, Some(&r2.access), json!({"points_awarded": 1, "note": "again"})).await;
    assert_eq!(status, 409);

    let (_, attempt) = gus.get(&format!("/attempts/{}", done["id"])).await;
    assert_eq!(attempt["status"], "passed");
    assert_eq!(attempt["result"]["score_percent"], 100);
    assert_eq!(attempt["result"]["sections"][1]["title"], "Essay");
    let mail = app.smtp.inbox.wait_for_nth("gus@example.com", 2).await;
    assert!(mail.subject.contains("passed") && !mail.subject.contains("not passed"), "{}", mail.subject);
    let (_, mine) = gus.get("/me/qualifications").await;
    assert_eq!(mine["items"][0]["tier"], "expert");
    let (_, queue) = app.get("/review/test-answers", Some(&r1.access)).await;
    assert_eq!(queue["items"].as_array().unwrap().len(), 0);

    let admin = app.login("admin@gatehouse.test", PASSWORD).await;
    let (_, audit) = app.get("/admin/audit?subject_type=test_answer", Some(&admin.access)).await;
    let actions: Vec<&str> = audit["items"].as_array().unwrap().iter().map(|r| r["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["test_answer.graded", "test_answer.claimed", "test_answer.claimed"]);
    assert_no_answer_keys(&seen);
}

async fn an_applicant_cannot_read_anothers_attempt(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let test_id = create_test(&app, &admin, objective_test("math", "generalist", 3, 0, json!([]))).await;
    let hal = Person::new(&app, "hal@example.com", &seen).await;
    let ivy = Person::new(&app, "ivy@example.com", &seen).await;
    let (_, attempt) = hal.start(test_id).await;
    let id = attempt["id"].as_i64().unwrap();
    let (status, body) = ivy.get(&format!("/attempts/{id}")).await;
    assert_eq!(status, 404, "{body}");
    let (status, _) = ivy.put(&format!("/attempts/{id}/answers"), json!({"answers": {"q1": "opt-nine"}})).await;
    assert_eq!(status, 404);
    let (status, _) = ivy.post(&format!("/attempts/{id}/submit"), json!({})).await;
    assert_eq!(status, 404);
    let (status, body) = hal.get(&format!("/attempts/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(body["answers"], json!({}));
    // Staff do not take tests.
    let (status, _) = app.get("/tests", Some(&admin.access)).await;
    assert_eq!(status, 403);
    assert_no_answer_keys(&seen);
}

async fn a_prerequisite_qualification_gates_a_test(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let base = create_test(&app, &admin, objective_test("math", "generalist", 3, 0, json!([]))).await;
    let advanced = create_test(
        &app,
        &admin,
        objective_test(
            "math",
            "expert",
            3,
            0,
            json!([{"type": "qualification", "domain": "math", "tier": "generalist"}]),
        ),
    )
    .await;
    let law = create_test(
        &app,
        &admin,
        objective_test(
            "law",
            "expert",
            3,
            0,
            json!([{"type": "credential", "kind": "degree", "level": "doctorate", "domain": "law"}]),
        ),
    )
    .await;
    let jo = Person::new(&app, "jo@example.com", &seen).await;
    let entry = jo.test_entry(advanced).await;
    assert_eq!(entry["available"], false);
    assert_eq!(entry["blocked_by"][0]["code"], "prerequisite_missing");
    assert!(entry["blocked_by"][0]["detail"].as_str().unwrap().contains("math generalist"));
    let (status, body) = jo.start(advanced).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "prerequisite_missing");

    let done = jo.take(base, right_answers()).await;
    assert_eq!(done["status"], "passed");
    let entry = jo.test_entry(advanced).await;
    assert_eq!(entry["available"], true, "{entry}");
    // Credentials are not built yet: a credential prerequisite stays unmet.
    let entry = jo.test_entry(law).await;
    assert_eq!(entry["blocked_by"][0]["code"], "prerequisite_missing");
    let (status, body) = jo.start(advanced).await;
    assert_eq!(status, 201, "{body}");
    assert_no_answer_keys(&seen);
}

/// A credential prerequisite names a kind and level of the closed sets (`CredentialKind`,
/// `DegreeLevel`): another one is refused when the test is written. A stored list that
/// no longer reads (written past the API) is an error, a logged 500, never "no
/// prerequisite": the test does not open to everyone.
async fn a_credential_prerequisite_names_a_known_kind_and_an_unreadable_one_opens_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    for bad in [
        json!({"type": "credential", "kind": "passport", "domain": "law"}),
        json!({"type": "credential", "kind": "degree", "level": "phd", "domain": "law"}),
    ] {
        let def = objective_test("law", "expert", 3, 0, json!([bad]));
        let (status, body) = app.post("/admin/tests", Some(&admin.access), def).await;
        assert_eq!(status, 400, "{bad} is refused: {body}");
    }
    let license = json!([{"type": "credential", "kind": "professional_license", "domain": "law"}]);
    let law = create_test(&app, &admin, objective_test("law", "expert", 3, 0, license)).await;
    let jo = Person::new(&app, "jo@example.com", &seen).await;
    let entry = jo.test_entry(law).await;
    assert_eq!(entry["prerequisites"][0]["kind"], "professional_license", "{entry}");
    assert_eq!(entry["blocked_by"][0]["code"], "prerequisite_missing", "{entry}");

    let unreadable = format!(
        "UPDATE test_versions SET prerequisites = \
         '[{{\"type\": \"credential\", \"kind\": \"library_card\", \"domain\": \"law\"}}]' \
         WHERE test_id = {law}"
    );
    crate::payouts::raw_sql(&app, vec![unreadable]).await.unwrap();
    let (status, body) = jo.start(law).await;
    assert_eq!((status, body["code"].as_str()), (500, Some("internal_error")), "{body}");
    let (status, body) = jo.get("/tests").await;
    assert_eq!((status, body["code"].as_str()), (500, Some("internal_error")), "{body}");
    assert!(logs::captured().contains("unreadable prerequisites"), "the cause is logged");
}

/// A project type's required qualifications are stored as JSON (no CHECK holds them): a
/// list that no longer reads (a tier the enum does not know, written past the API) is a
/// logged 500, never "nothing required".
async fn unreadable_required_qualifications_open_no_project_type(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let required = json!([{"domain": "law", "tier": "expert"}]);
    let (status, project) = app
        .post("/admin/projects", Some(&admin.access), json!({"name": "Contracts", "required_qualifications": required}))
        .await;
    assert_eq!(status, 201, "{project}");
    let jo = Person::new(&app, "jo@example.com", &seen).await;
    let (status, body) = jo.get("/me/qualifications").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.to_string().contains("Contracts"), "{body}");

    let unreadable = format!(
        "UPDATE project_types SET required_qualifications = '[{{\"domain\": \"law\", \"tier\": \"wizard\"}}]' \
         WHERE id = {}",
        project["id"]
    );
    crate::payouts::raw_sql(&app, vec![unreadable]).await.unwrap();
    let (status, body) = jo.get("/me/qualifications").await;
    assert_eq!((status, body["code"].as_str()), (500, Some("internal_error")), "{body}");
    assert!(logs::captured().contains("unreadable required qualifications"), "the cause is logged");
}

/// A test version's sections and an attempt's answers are stored as JSON (no CHECK holds
/// them): ones that no longer read (a question type the enum does not know, a truncated
/// answer list, written past the API) are a logged 500, never a test without questions
/// or an attempt without answers.
async fn unreadable_questions_or_answers_are_an_error_never_empty(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let test_id = create_test(&app, &admin, objective_test("math", "generalist", 3, 24, json!([]))).await;
    let ana = Person::new(&app, "ana@example.com", &seen).await;
    let (status, attempt) = ana.start(test_id).await;
    assert_eq!(status, 201, "{attempt}");
    let id = attempt["id"].as_i64().unwrap();
    let (status, _) = ana.put(&format!("/attempts/{id}/answers"), json!({"answers": {"q1": "opt-seven"}})).await;
    assert_eq!(status, 200);

    let truncated = format!("UPDATE test_attempts SET answers = '{{\"q1\": ' WHERE id = {id}");
    crate::payouts::raw_sql(&app, vec![truncated]).await.unwrap();
    let (status, body) = ana.get(&format!("/attempts/{id}")).await;
    assert_eq!((status, body["code"].as_str()), (500, Some("internal_error")), "{body}");
    assert!(logs::captured().contains(&format!("unreadable answers of attempt {id}")), "the cause is logged");

    let slider = format!(
        "UPDATE test_versions SET sections = REPLACE(sections, '\"numeric\"', '\"slider\"') WHERE test_id = {test_id}"
    );
    crate::payouts::raw_sql(&app, vec![slider]).await.unwrap();
    let (status, body) = ana.get("/tests").await;
    assert_eq!((status, body["code"].as_str()), (500, Some("internal_error")), "{body}");
    assert!(logs::captured().contains("unreadable sections of test version"), "the cause is logged");
}
