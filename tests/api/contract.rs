//! The API contract as integrators meet it (issue 18): a valid OpenAPI document, its
//! reference page, problem types that resolve, 405 with `Allow`, request ids, unknown
//! members refused, metrics and access logs.

use std::time::Duration;

use serde_json::{json, Value};

use crate::both_backends;
use crate::support::browser::Browser;
use crate::support::{logs, Backend, TestApp};

both_backends!(
    openapi_document_validates,
    reference_page_renders,
    problem_types_resolve_to_pages,
    wrong_method_is_405_with_allow,
    request_ids_are_honoured_or_replaced,
    unknown_json_members_are_refused_by_name,
    every_json_request_object_is_closed,
    metrics_count_this_tests_requests,
    every_request_writes_one_access_line,
    unique_violations_map_to_their_code,
    every_list_pages_the_same_way,
    a_list_pages_with_its_cursor,
    what_the_document_calls_valid_is_accepted,
    a_nul_character_in_text_is_never_a_server_error,
);

/// `openapi-spec-validator` (PyPI; `.ci/run` installs it) accepts the served document;
/// operationIds are unique; every error response of the API is problem+json.
async fn openapi_document_validates(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let resp = app.client.get(app.url("/openapi.json")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();

    let mut ids = std::collections::HashSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"].as_str().unwrap_or_else(|| panic!("{method} {path} has no operationId"));
            assert!(ids.insert(id.to_string()), "operationId {id} used twice ({method} {path})");
            if !path.starts_with("/api/v1/") {
                continue;
            }
            for (status, response) in op["responses"].as_object().unwrap() {
                if status.as_str() >= "400" {
                    assert!(
                        response["content"].get("application/problem+json").is_some(),
                        "{method} {path} {status} is not documented as application/problem+json"
                    );
                }
            }
            if op.get("security").is_some() {
                assert!(op["responses"].get("401").is_some(), "{method} {path} documents no 401");
            }
        }
    }
    let codes = doc["components"]["schemas"]["ProblemCode"]["enum"].as_array().expect("ProblemCode is an enum");
    assert!(codes.contains(&json!("unknown_field")) && codes.contains(&json!("email_taken")));

    let file = tempfile::NamedTempFile::with_suffix(".json").unwrap();
    std::fs::write(file.path(), &text).unwrap();
    let out = match std::process::Command::new("openapi-spec-validator").arg(file.path()).output() {
        Ok(out) => out,
        Err(e) if std::env::var("CI").as_deref() != Ok("true") => {
            eprintln!("SKIPPED: openapi-spec-validator is not installed ({e}); pip install openapi-spec-validator");
            return;
        }
        Err(e) => panic!("openapi-spec-validator is required under CI=true (.ci/run installs it): {e}"),
    };
    assert!(
        out.status.success(),
        "the OpenAPI document is invalid: {}{}",
        String::from_utf8_lossy(&out.stdout).chars().take(800).collect::<String>(),
        String::from_utf8_lossy(&out.stderr).chars().take(800).collect::<String>()
    );
}

/// `/` links the reference; `/api/v1/docs` renders it in headless Chromium from the
/// bundle the binary serves.
async fn reference_page_renders(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let home = app.client.get(format!("{}/", app.base)).send().await.unwrap().text().await.unwrap();
    assert!(home.contains("href=\"/api/v1/docs\""), "{home}");
    let resp = app.client.get(format!("{}/api/v1", app.base)).send().await.unwrap();
    assert_eq!(resp.url().path(), "/api/v1/docs", "/api/v1 leads to the reference");
    let Some(browser) = Browser::start().await else { return };
    browser.goto(&format!("{}/api/v1/docs", app.base)).await;
    let mut rendered = false;
    for _ in 0..120 {
        let seen = browser
            .client
            .execute("return document.body.innerText.includes('Search the audit log');", vec![])
            .await
            .unwrap();
        if seen == json!(true) {
            rendered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    if !rendered {
        browser.screenshot("api-reference").await;
    }
    assert!(rendered, "the reference did not render: {}", browser.body().await.chars().take(2000).collect::<String>());
    browser.close().await;
}

/// A problem's `type` is a page explaining its code; unknown codes are 404.
async fn problem_types_resolve_to_pages(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (status, problem) = app.get("/me", None).await;
    assert_eq!(status, 401);
    assert_eq!(problem["type"], "/problems/unauthorized");
    let resp = app.client.get(format!("{}{}", app.base, problem["type"].as_str().unwrap())).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let page = resp.text().await.unwrap();
    assert!(page.contains("<code>unauthorized</code>") && page.contains("Sign in again"), "{page}");

    let (status, doc) = app.get("/openapi.json", None).await;
    assert_eq!(status, 200);
    let index = app.client.get(format!("{}/problems", app.base)).send().await.unwrap().text().await.unwrap();
    for code in doc["components"]["schemas"]["ProblemCode"]["enum"].as_array().unwrap() {
        let code = code.as_str().unwrap();
        assert!(index.contains(&format!("href=\"/problems/{code}\"")), "{code} missing from /problems");
    }
    let (status, body) = app.get_root("/problems/no_such_code").await;
    assert_eq!(status, 404, "{body}");
    let resp = app.client.get(format!("{}/favicon.ico", app.base)).send().await.unwrap();
    assert_eq!(resp.status(), 204);
}

async fn wrong_method_is_405_with_allow(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let resp = app.client.delete(app.url("/me")).send().await.unwrap();
    assert_eq!(resp.status(), 405);
    assert_eq!(resp.headers()["allow"], "GET, PATCH");
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    let body: Value = crate::support::json(resp).await;
    assert_eq!(body["code"], "method_not_allowed");
    let resp = app.client.put(app.url("/payout-batches/12/approve")).send().await.unwrap();
    assert_eq!(resp.status(), 405);
    assert_eq!(resp.headers()["allow"], "POST");
    let resp = app.client.delete(app.url("/no/such/path")).send().await.unwrap();
    assert_eq!(resp.status(), 404);
}

async fn request_ids_are_honoured_or_replaced(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let resp = app.client.get(app.url("/me")).header("X-Request-Id", "trace-4711.a").send().await.unwrap();
    assert_eq!(resp.headers()["x-request-id"], "trace-4711.a");
    let resp = app.client.get(app.url("/me")).header("X-Request-Id", "<bad id>").send().await.unwrap();
    let id = resp.headers()["x-request-id"].to_str().unwrap().to_string();
    assert_ne!(id, "<bad id>");
    assert_eq!(id.len(), 36, "a fresh UUID: {id}");
}

async fn unknown_json_members_are_refused_by_name(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (status, body) = app
        .post(
            "/auth/register",
            None,
            json!({"email": "new@example.com", "password": crate::support::PASSWORD, "full_name": "N", "emial": "x"}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["code"], "unknown_field");
    assert_eq!(body["errors"][0]["field"], "emial");
    // Nothing was registered: the same body without the stray member is accepted.
    let (status, body) = app
        .post(
            "/auth/register",
            None,
            json!({"email": "new@example.com", "password": crate::support::PASSWORD, "full_name": "N"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");

    // Inside a body too: in a test's questions (each kind flattens into the question),
    // in a prerequisite, in an ingested record (a route that reads its body itself).
    let admin = app.admin().await;
    let finance = app.staff(&admin, "unknown-finance@example.com", &["finance"]).await;
    let questions = [
        json!({"id": "q1", "type": "single_choice", "prompt": "?", "options": [{"id": "a", "text": "A"}, {"id": "b", "text": "B"}], "correct": "a"}),
        json!({"id": "q2", "type": "multiple_choice", "prompt": "?", "options": [{"id": "a", "text": "A"}, {"id": "b", "text": "B"}], "correct": ["a"]}),
        json!({"id": "q3", "type": "numeric", "prompt": "?", "answer": 2.0, "tolerance": 0.0}),
        json!({"id": "q4", "type": "free_text", "prompt": "?", "rubric": "r"}),
    ];
    let definition = |questions: Vec<Value>, prerequisite: Value| {
        json!({"domain": "law", "tier": "generalist", "title": "T", "time_limit_minutes": 30,
               "pass_mark_percent": 50, "attempt_limit": 2, "cooldown_hours": 24,
               "prerequisites": [prerequisite], "sections": [{"title": "S", "questions": questions}]})
    };
    let prerequisite = json!({"type": "qualification", "domain": "medicine", "tier": "generalist"});
    for (i, question) in questions.iter().enumerate() {
        let mut stray = question.clone();
        stray["hint"] = json!("x");
        let mut all = questions.to_vec();
        all[i] = stray;
        let (status, body) = app.post("/admin/tests", Some(&admin.access), definition(all, prerequisite.clone())).await;
        assert_eq!((status, body["code"].as_str()), (400, Some("unknown_field")), "{question}: {body}");
        assert_eq!(body["errors"][0]["field"], "hint", "{body}");
    }
    let mut stray = prerequisite.clone();
    stray["level"] = json!("master");
    let (status, body) = app.post("/admin/tests", Some(&admin.access), definition(questions.to_vec(), stray)).await;
    assert_eq!((status, body["errors"][0]["field"].as_str()), (400, Some("level")), "{body}");
    let (status, body) =
        app.post("/admin/tests", Some(&admin.access), definition(questions.to_vec(), prerequisite)).await;
    assert_eq!(status, 201, "without the stray members: {body}");

    let (status, body) = app
        .post("/work-records", Some(&finance.access), json!({"records": [{"task_ref": "t-1", "colour": "red"}]}))
        .await;
    assert_eq!((status, body["code"].as_str()), (400, Some("unknown_field")), "{body}");
    assert_eq!(body["errors"][0]["field"], "colour");
}

/// Every object a JSON request body may hold is closed in the document
/// (`additionalProperties: false`, or a schema for a map's values), since the service
/// refuses a member it does not name: a document that left one open would call valid a
/// body the service refuses (the fuzzer put a member named with U+0000 inside an extra
/// member of a question). No part of a body is free-form JSON.
async fn every_json_request_object_is_closed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let doc: Value = app.client.get(app.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
    fn walk(doc: &Value, schema: &Value, at: &str, seen: &mut Vec<String>, open: &mut Vec<String>) {
        if let Some(name) = schema["$ref"].as_str().and_then(|r| r.strip_prefix("#/components/schemas/")) {
            if !seen.contains(&name.to_string()) {
                seen.push(name.to_string());
                walk(doc, &doc["components"]["schemas"][name], &format!("{at}>{name}"), seen, open);
            }
            return;
        }
        let Some(map) = schema.as_object() else { return };
        let meaningful =
            map.keys().any(|k| !["description", "title", "example", "examples", "default"].contains(&k.as_str()));
        if !meaningful {
            open.push(format!("{at}: any value"));
        }
        if map.contains_key("allOf") {
            open.push(format!("{at}: allOf (closed parts would refuse every instance)"));
        }
        if map.contains_key("properties") {
            match map.get("additionalProperties") {
                Some(Value::Bool(false)) => {}
                Some(v @ Value::Object(_)) => walk(doc, v, &format!("{at}{{*}}"), seen, open),
                _ => open.push(format!("{at}: open object")),
            }
            for (name, member) in map["properties"].as_object().unwrap() {
                walk(doc, member, &format!("{at}.{name}"), seen, open);
            }
        } else if let Some(values) = map.get("additionalProperties").filter(|v| v.is_object()) {
            walk(doc, values, &format!("{at}{{*}}"), seen, open);
        }
        if let Some(items) = map.get("items") {
            walk(doc, items, &format!("{at}[]"), seen, open);
        }
        for key in ["oneOf", "anyOf"] {
            for part in map.get(key).and_then(Value::as_array).into_iter().flatten() {
                walk(doc, part, &format!("{at}|"), seen, open);
            }
        }
    }
    let (mut bodies, mut open) = (0, Vec::new());
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let schema = &op["requestBody"]["content"]["application/json"]["schema"];
            if !schema.is_null() {
                bodies += 1;
                walk(&doc, schema, &format!("{method} {path}"), &mut Vec::new(), &mut open);
            }
        }
    }
    assert!(bodies > 30, "the walk reached the JSON bodies ({bodies})");
    assert!(open.is_empty(), "open objects in JSON request bodies:\n{}", open.join("\n"));
}

/// The value of one sample of the Prometheus text.
fn sample(metrics: &str, prefix: &str) -> Option<f64> {
    metrics.lines().find(|l| l.starts_with(prefix)).and_then(|l| l.rsplit(' ').next()).and_then(|v| v.parse().ok())
}

async fn metrics_count_this_tests_requests(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for _ in 0..3 {
        assert_eq!(app.get("/me", None).await.0, 401);
    }
    let resp = app.client.get(format!("{}/metrics", app.base)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    let text = resp.text().await.unwrap();
    assert_eq!(
        sample(&text, r#"gatehouse_http_requests_total{method="GET",route="/api/v1/me",status="401"}"#),
        Some(3.0),
        "{text}"
    );
    for present in [
        r#"gatehouse_outbox_emails{status="pending"}"#,
        r#"gatehouse_outbox_emails{status="dead"}"#,
        "gatehouse_db_pool_connections_in_use",
        "gatehouse_db_pool_waiting",
    ] {
        assert!(sample(&text, present).is_some(), "{present} missing: {text}");
    }
    // The registration queued its verification email: the outbox gauge sees it.
    let (status, _) = app
        .post(
            "/auth/register",
            None,
            json!({"email": "m@example.com", "password": crate::support::PASSWORD, "full_name": "M"}),
        )
        .await;
    assert_eq!(status, 201);
    app.smtp.inbox.wait_for("m@example.com").await;
    let mut sent = 0.0;
    for _ in 0..50 {
        let text = app.client.get(format!("{}/metrics", app.base)).send().await.unwrap().text().await.unwrap();
        sent = sample(&text, r#"gatehouse_outbox_emails{status="sent"}"#).unwrap_or(0.0);
        if sent >= 1.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(sent, 1.0);
}

/// One line per request at info with method, route pattern, status, duration, request id
/// and actor; never the token.
async fn every_request_writes_one_access_line(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tokens = app.applicant("log@example.com").await;
    let user_id = app.user_id(&tokens).await;
    let request_id = format!("access-{}", uuid_like());
    let resp = app
        .client
        .get(app.url("/me/readiness"))
        .bearer_auth(&tokens.access)
        .header("X-Request-Id", &request_id)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut lines = Vec::new();
    for _ in 0..20 {
        lines = logs::captured().lines().filter(|l| l.contains(&request_id)).map(str::to_string).collect();
        if lines.iter().any(|l| l.contains("status=200")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let access: Vec<&String> = lines.iter().filter(|l| l.contains("gatehouse::access")).collect();
    assert_eq!(access.len(), 1, "{lines:#?}");
    let line = access[0];
    for part in [
        " INFO ".to_string(),
        "method=\"GET\"".to_string(),
        "route=\"/api/v1/me/readiness\"".to_string(),
        "status=200".to_string(),
        "duration_ms=".to_string(),
        format!("actor_id={user_id}"),
    ] {
        assert!(line.contains(&part), "{part} missing from {line}");
    }
    assert!(!logs::captured().contains(&tokens.access), "a token reached the logs");
}

fn uuid_like() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    format!("{:x}", SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos())
}

/// The database's own refusal of a duplicate maps by constraint (PostgreSQL) or columns
/// (SQLite) to the specific code.
async fn unique_violations_map_to_their_code(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.applicant("one@example.com").await;
    let two = app.applicant("two@example.com").await;
    let two_id = app.user_id(&two).await;
    let err = app
        .state
        .db
        .tx_sync(|conn| {
            use diesel::RunQueryDsl;
            diesel::sql_query(format!("UPDATE users SET email = 'one@example.com' WHERE id = {two_id}"))
                .execute(conn)?;
            Ok(())
        })
        .unwrap_err();
    assert_eq!(err.code(), gatehouse::error::ProblemCode::EmailTaken, "{err:?}");
}

/// The schema a `$ref` (or an inline schema) stands for in the served document.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str().and_then(|r| r.strip_prefix("#/components/schemas/")) {
        Some(name) => &doc["components"]["schemas"][name],
        None => schema,
    }
}

/// Every JSON list of the API (SPEC §12) is a page: `items`, `has_more`, `next_cursor`,
/// with `cursor` and `limit` parameters. No operation answers a bare array.
async fn every_list_pages_the_same_way(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let doc: Value = app.client.get(app.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
    let mut pages = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let Some(op) = item.get("get") else { continue };
        let Some(schema) = op["responses"]["200"]["content"]["application/json"].get("schema") else { continue };
        let schema = resolve(&doc, schema);
        assert_ne!(schema["type"], "array", "GET {path} answers a bare array, not a page");
        let Some(props) = schema["properties"].as_object() else { continue };
        if props.get("items").map(|i| resolve(&doc, i)["type"] == "array") != Some(true) {
            continue;
        }
        pages += 1;
        for field in ["has_more", "next_cursor"] {
            assert!(props.contains_key(field), "GET {path} lists items without {field}");
        }
        let params: Vec<&str> = op["parameters"]
            .as_array()
            .map(|ps| ps.iter().filter_map(|p| p["name"].as_str()).collect())
            .unwrap_or_default();
        for param in ["cursor", "limit"] {
            assert!(params.contains(&param), "GET {path} lists items without a {param} parameter: {params:?}");
        }
    }
    assert!(pages >= 20, "only {pages} paged lists found: the walk above is broken");
}

/// One of the lists that used to be a bare array, paged through to its end; a cursor
/// this list did not write and an out-of-range limit are refused with 400.
async fn a_list_pages_with_its_cursor(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    for domain in ["law", "medicine", "finance"] {
        let (status, rule) = app
            .post(
                "/admin/credential-rules",
                Some(&admin.access),
                json!({"kind": "degree", "level": "doctorate", "domain": domain, "grants_domain": domain, "grants_tier": "expert"}),
            )
            .await;
        assert_eq!(status, 201, "{rule}");
    }
    let (status, first) = app.get("/admin/credential-rules?limit=2", Some(&admin.access)).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["items"].as_array().unwrap().len(), 2, "{first}");
    assert_eq!(first["has_more"], true);
    let cursor = first["next_cursor"].as_str().unwrap().to_string();
    let (status, second) =
        app.get(&format!("/admin/credential-rules?limit=2&cursor={cursor}"), Some(&admin.access)).await;
    assert_eq!(status, 200, "{second}");
    let domains: Vec<&Value> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["items"].as_array().unwrap())
        .map(|r| &r["domain"])
        .collect();
    assert_eq!(domains, [&json!("law"), &json!("medicine"), &json!("finance")]);
    assert_eq!(second["has_more"], false);
    assert_eq!(second["next_cursor"], Value::Null);
    for bad in ["cursor=42", "cursor=c", "limit=0", "limit=201", "limit=x"] {
        let (status, body) = app.get(&format!("/admin/credential-rules?{bad}"), Some(&admin.access)).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
}

/// Requests the served document calls valid are read as it says (the class of findings
/// the API fuzzer reported): a whole number written `205000.0` is the integer 205000 (a
/// fraction is refused), a query integer outside its stated range is refused, two
/// operations never share a request schema they do not both accept, and the settings
/// schema lists each setting with its range.
async fn what_the_document_calls_valid_is_accepted(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    let reviewer = app.staff(&admin, "rev@gatehouse.test", &["reviewer"]).await;

    let (status, body) = app
        .put("/admin/tax-thresholds/2031", Some(&admin.access), json!({"threshold_cents": 205000.0, "source": "test"}))
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, list) = app.get("/tax/thresholds", Some(&admin.access)).await;
    let stored = list["items"].as_array().unwrap().iter().find(|t| t["payment_year"] == 2031).cloned();
    assert_eq!(stored.map(|t| t["threshold_cents"].clone()), Some(json!(205000)));
    for bad in [json!(205000.5), json!(1e300), json!("205000")] {
        let (status, body) = app
            .put("/admin/tax-thresholds/2032", Some(&admin.access), json!({"threshold_cents": bad, "source": "t"}))
            .await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
    let (status, body) = app.put("/admin/settings", Some(&admin.access), json!({"settings": {"hold_days": 3.0}})).await;
    assert_eq!(status, 200, "{body}");
    let (_, all) = app.get("/admin/settings", Some(&admin.access)).await;
    let hold = all["settings"].as_array().unwrap().iter().find(|s| s["key"] == "hold_days").cloned().unwrap();
    assert_eq!(hold["value"], 3);

    for query in ["min_age_hours=-1", "min_age_hours=87601", "min_age_hours=x"] {
        let (status, body) = app.get(&format!("/review/credentials?{query}"), Some(&reviewer.access)).await;
        assert_eq!(status, 400, "{query}: {body}");
    }
    let (status, _) = app.get("/review/credentials?min_age_hours=0", Some(&reviewer.access)).await;
    assert_eq!(status, 200);

    let doc: Value = app.client.get(app.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
    let body_of = |path: &str| {
        let schema = &doc["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"];
        let props = resolve(&doc, schema)["properties"].as_object().cloned().unwrap_or_default();
        let mut keys: Vec<String> = props.keys().cloned().collect();
        keys.sort();
        keys
    };
    assert_eq!(body_of("/api/v1/review/work-authorizations/{id}/decision"), ["note", "outcome", "reason_code"]);
    assert_eq!(body_of("/api/v1/review/test-answers/{id}/decision"), ["note", "points_awarded"]);
    let settings = &doc["components"]["schemas"]["SettingsChange"]["properties"]["settings"];
    assert_eq!(settings["additionalProperties"], false, "{settings}");
    assert_eq!(settings["minProperties"], 1);
    assert_eq!(settings["properties"]["hold_days"]["type"], "integer");
    assert!(settings["properties"]["hold_days"]["maximum"].is_number(), "{settings}");
    // Closed sets declared with `text_enum!` are documented with the text the API
    // writes and reads, not the Rust variant names.
    assert_eq!(doc["components"]["schemas"]["Role"]["enum"], json!(["applicant", "reviewer", "finance", "admin"]));
    assert_eq!(doc["components"]["schemas"]["Rail"]["enum"], json!(["paypal", "wise", "ach"]));
    let answers = &doc["components"]["schemas"]["SaveAnswers"]["properties"]["answers"];
    assert_eq!(answers["additionalProperties"]["$ref"], "#/components/schemas/Answer");
}

/// U+0000 is refused at the edge on both backends, wherever text comes in (PostgreSQL
/// cannot store it; SQLite would): a JSON body (400, nothing stored), a query string
/// (400), a path (404), a console form (400), a multipart text field (422 naming the
/// field). A backslash followed by the text `u0000` is ordinary text and is stored.
async fn a_nul_character_in_text_is_never_a_server_error(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin().await;
    let project = |name: &str| json!({"name": name, "required_qualifications": []});
    let (status, body) = app.post("/admin/projects", Some(&admin.access), project("a\u{0}b")).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("malformed_json")), "{body}");
    let (status, body) = app.post("/admin/projects", Some(&admin.access), project("ab")).await;
    assert_eq!(status, 201, "the same name without the NUL is stored: {body}");
    let (status, body) = app.post("/admin/projects", Some(&admin.access), project("a\\u0000b")).await;
    assert_eq!((status, body["name"].as_str()), (201, Some("a\\u0000b")), "the text \\u0000 is no NUL: {body}");
    #[derive(diesel::QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    let names: Vec<String> = app
        .state
        .db
        .read_sync(|conn| {
            use diesel::RunQueryDsl;
            Ok(diesel::sql_query("SELECT name FROM project_types ORDER BY id").load::<Name>(conn)?)
        })
        .unwrap()
        .into_iter()
        .map(|n| n.name)
        .collect();
    assert_eq!(names, ["ab", "a\\u0000b"], "nothing else stored");

    // A body read in several chunks: the NUL after the first kilobytes.
    let long = format!("{}\u{0}", "x".repeat(30_000));
    let (status, body) = app.post("/admin/projects", Some(&admin.access), project(&long)).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("malformed_json")), "not the name's length: {body}");

    let finance = app.staff(&admin, "nul-finance@example.com", &["finance"]).await;
    // Routes that read the body themselves answer problems too, never plain text.
    let resp = app
        .client
        .post(app.url("/payout-batches"))
        .bearer_auth(&finance.access)
        .header("Idempotency-Key", "nul-key")
        .json(&json!({"note": "a\u{0}b"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    let (status, body) = app
        .post(
            "/payout-batches/1/settlement",
            Some(&finance.access),
            json!({"items": [{"item_id": 1, "status": "paid", "x": 1}]}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("unknown_field")),
        "a settlement line's unknown member: {body}"
    );
    let resp = app
        .client
        .post(app.url("/payout-batches/1/settlement"))
        .bearer_auth(&finance.access)
        .header("content-type", "text/csv")
        .body("item_id,status\n1,paid\u{0}\n")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 422);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], "nul_character", "{body}");
    let (status, body) = app.get("/payouts/trace?task_ref=a%00b", Some(&finance.access)).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("invalid_query")), "{body}");
    let (status, body) = app.get("/payouts/trace?task_ref=a%2500b", Some(&finance.access)).await;
    assert_ne!(status, 400, "%25 is a percent sign, not a NUL: {body}");
    let (status, _) = app.get("/payout-batches/1%00", Some(&finance.access)).await;
    assert_eq!(status, 404);

    let form = app
        .client
        .post(format!("{}/console/login", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("_csrf=x&email=a%00b%40example.com&password=x")
        .send()
        .await
        .unwrap();
    assert_eq!(form.status().as_u16(), 400, "a console form holding %00");

    let applicant = app.applicant("nul-applicant@example.com").await;
    let upload = reqwest::multipart::Form::new()
        .text("kind", "degree")
        .text("level", "bachelor")
        .text("domain", "law")
        .text("title", "Juris\0Doctor")
        .text("issuer", "State University")
        .text("issued_on", "2015-06-01")
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec())
                .file_name("d.pdf")
                .mime_str("application/pdf")
                .unwrap(),
        );
    let (status, body) = app.upload("/me/credentials", &applicant.access, upload).await;
    assert_eq!((status, body["errors"][0]["code"].as_str()), (422, Some("nul_character")), "{body}");
    assert_eq!(body["errors"][0]["field"], "title", "{body}");
}
