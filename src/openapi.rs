//! The OpenAPI document. Paths are collected from the `#[utoipa::path]` annotations of
//! every handler registered through `utoipa_actix_web`, so a route cannot be served
//! without being documented.

use actix_web::{get, web, HttpResponse};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use serde_json::{json, Value};

use crate::error::{FieldError, Problem, ProblemCode};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Gatehouse API",
        description = "Onboarding, review, earnings, payouts and tax for US independent contractors.\n\n\
                       Errors are RFC 9457 problem details (`application/problem+json`); each `type` \
                       (`/problems/{code}`) is a page that explains its code, all listed at \
                       [/problems](/problems). Lists are paginated one way: `limit` (at most 200) and \
                       `cursor`, answered with `items`, `has_more` and `next_cursor` (opaque; send it \
                       back as `cursor`)."
    ),
    components(schemas(
        Problem,
        FieldError,
        ProblemCode,
        crate::payouts::exports::Format,
        crate::tax::filing::ExportFormat,
        crate::tax::filing::Returns,
        crate::notifications::model::OutboxStatus
    )),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()),
        );
    }
}

/// The rendered document, shared by the workers.
pub struct OpenApiJson(pub String);

/// This OpenAPI 3 document.
#[utoipa::path(tag = "meta", responses((status = 200, description = "OpenAPI 3.1 document", content_type = "application/json")))]
#[get("/openapi.json")]
pub async fn openapi_json(doc: web::Data<OpenApiJson>) -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(doc.0.clone())
}

/// Makes the generated document say what the service really does, for every operation
/// under `/api/v1` at once (one rule here instead of ninety annotations that drift):
/// - every error response is `application/problem+json` with the `Problem` schema;
/// - a secured operation documents 401 and 403 (a role, or a status that may not act);
/// - an operation with a body or a query documents 400 (malformed JSON, unknown member,
///   bad query) and, with a body, 413; one with path parameters documents 404;
/// - every operation but this document documents 503 (the database unavailable);
/// - the sign-in and emailed-link operations document 429;
/// - the `ProblemCode` schema lists what each code means;
/// - every integer states its range (see [`bound_integers`]).
pub fn finish(doc: utoipa::openapi::OpenApi) -> Value {
    let mut doc = serde_json::to_value(doc).expect("the OpenAPI document serializes");
    bound_integers(&mut doc);
    no_nul_in_strings(&mut doc);
    close_request_objects(&mut doc);
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for (path, item) in paths.iter_mut() {
            if !path.starts_with("/api/v1/") || path == "/api/v1/openapi.json" {
                continue;
            }
            for (_, op) in item.as_object_mut().into_iter().flatten() {
                complete_operation(path, op);
            }
        }
    }
    let codes: Vec<String> =
        ProblemCode::ALL.iter().map(|c| format!("- `{}`: {}", c.as_str(), c.explanation().trim())).collect();
    if let Some(schema) = doc.pointer_mut("/components/schemas/ProblemCode").and_then(Value::as_object_mut) {
        schema.insert(
            "description".into(),
            Value::String(format!(
                "A stable problem code; `/problems/{{code}}` explains each.\n\n{}",
                codes.join("\n")
            )),
        );
    }
    doc
}

/// Gives every integer schema without a stated range the range the service reads:
/// `int32` is `i32`, `int64` (and an integer without a format) is `i64`, `uint*` from 0.
/// A schema that leaves a range open promises that any integer is read, and 10^27 is
/// not (JSON parsers read it as a float); a range the type already states
/// (`minimum: 0`) is kept. Query and path integers are `i64` too, so the document and
/// the parser refuse the same values.
pub fn bound_integers(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let integer = match map.get("type") {
                Some(Value::String(t)) => t == "integer",
                Some(Value::Array(types)) => types.iter().any(|t| t == "integer"),
                _ => false,
            };
            if integer {
                let (min, max) = match map.get("format").and_then(Value::as_str) {
                    Some("int32") => (i64::from(i32::MIN), i64::from(i32::MAX)),
                    Some("uint32") => (0, i64::from(u32::MAX)),
                    Some("uint64") => (0, i64::MAX),
                    _ => (i64::MIN, i64::MAX),
                };
                if !map.contains_key("exclusiveMinimum") {
                    map.entry("minimum").or_insert(json!(min));
                }
                if !map.contains_key("exclusiveMaximum") {
                    map.entry("maximum").or_insert(json!(max));
                }
            }
            for child in map.values_mut() {
                bound_integers(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(bound_integers),
        _ => {}
    }
}

/// The pattern every free string gets: no U+0000, which no text field accepts
/// ([`crate::wire::refuse_nul`]; PostgreSQL cannot store it).
pub const NO_NUL: &str = "^[^\\u0000]*$";

/// What `\S` (some character other than white space) becomes: the same, and no U+0000.
pub const NON_BLANK: &str = "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$";

/// Gives every object schema `propertyNames` with the [`NO_NUL`] pattern, and every
/// string schema without an enum or a const the [`NO_NUL`] pattern (a
/// pattern it states already keeps its rule, `\S` becoming [`NON_BLANK`] and
/// `text::FORMULA_SAFE_MARK` becoming `text::FORMULA_SAFE`; every other
/// pattern in the document admits no NUL), so the document refuses what the service
/// refuses.
pub fn no_nul_in_strings(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let string = match map.get("type") {
                Some(Value::String(t)) => t == "string",
                Some(Value::Array(types)) => types.iter().any(|t| t == "string"),
                _ => false,
            };
            // An object's member names are text too: no NUL in a key either.
            let object = match map.get("type") {
                Some(Value::String(t)) => t == "object",
                Some(Value::Array(types)) => types.iter().any(|t| t == "object"),
                _ => false,
            };
            if object && !map.contains_key("propertyNames") {
                map.insert("propertyNames".into(), json!({"pattern": NO_NUL}));
            }
            if string && !map.contains_key("enum") && !map.contains_key("const") {
                match map.get("pattern").and_then(Value::as_str) {
                    None => {
                        map.insert("pattern".into(), json!(NO_NUL));
                    }
                    Some("\\S") => {
                        map.insert("pattern".into(), json!(NON_BLANK));
                    }
                    Some(crate::text::FORMULA_SAFE_MARK) => {
                        map.insert("pattern".into(), json!(crate::text::FORMULA_SAFE));
                    }
                    Some(_) => {}
                }
            }
            for child in map.values_mut() {
                no_nul_in_strings(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(no_nul_in_strings),
        _ => {}
    }
}

/// Every JSON request body refuses a member it does not name (a 400 `unknown_field`:
/// each request type is `deny_unknown_fields`), so every object schema a JSON body
/// reaches says `additionalProperties: false`, wherever else it is used. A struct that
/// flattens a tagged enum (`Question`) is written by utoipa as an `allOf` of the enum's
/// `oneOf` and the struct's own members; closing both parts would refuse every instance,
/// so it becomes a `oneOf` of whole objects first, each closed.
pub fn close_request_objects(doc: &mut Value) {
    let names = request_schemas(doc);
    let Some(schemas) = doc.pointer_mut("/components/schemas").and_then(Value::as_object_mut) else { return };
    let before = schemas.clone();
    for name in &names {
        if let Some(schema) = schemas.get_mut(name) {
            merge_flattened_enum(schema, &before);
            close_objects(schema);
        }
    }
    for (_, item) in doc.get_mut("paths").and_then(Value::as_object_mut).into_iter().flatten() {
        for (_, op) in item.as_object_mut().into_iter().flatten() {
            if let Some(schema) = op.pointer_mut("/requestBody/content/application~1json/schema") {
                close_objects(schema);
            }
        }
    }
}

/// The component schemas a JSON request body reaches, through `$ref`s at any depth.
fn request_schemas(doc: &Value) -> std::collections::BTreeSet<String> {
    fn refs(value: &Value, doc: &Value, found: &mut std::collections::BTreeSet<String>) {
        match value {
            Value::Object(map) => {
                if let Some(name) = map.get("$ref").and_then(Value::as_str).and_then(|r| r.rsplit('/').next()) {
                    if found.insert(name.to_string()) {
                        if let Some(target) = doc.pointer(&format!("/components/schemas/{name}")) {
                            refs(target, doc, found);
                        }
                    }
                }
                map.values().for_each(|v| refs(v, doc, found));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, doc, found)),
            _ => {}
        }
    }
    let mut found = std::collections::BTreeSet::new();
    for item in doc.get("paths").and_then(Value::as_object).into_iter().flat_map(|p| p.values()) {
        for op in item.as_object().into_iter().flat_map(|o| o.values()) {
            if let Some(schema) = op.pointer("/requestBody/content/application~1json/schema") {
                refs(schema, doc, &mut found);
            }
        }
    }
    found
}

/// `allOf: [{$ref: Kind}, {own members}]` where `Kind` is a `oneOf` of objects becomes a
/// `oneOf` of each kind's object with the own members added.
fn merge_flattened_enum(schema: &mut Value, schemas: &serde_json::Map<String, Value>) {
    let Some([first, own]) = schema.get("allOf").and_then(Value::as_array).map(Vec::as_slice) else { return };
    let Some(kind) = first.get("$ref").and_then(Value::as_str).and_then(|r| r.rsplit('/').next()) else { return };
    let (Some(variants), Some(own_members)) =
        (schemas.get(kind).and_then(|k| k.get("oneOf")).and_then(Value::as_array), own.get("properties"))
    else {
        return;
    };
    let own_required = own.get("required").and_then(Value::as_array).cloned().unwrap_or_default();
    let mut merged = Vec::with_capacity(variants.len());
    for variant in variants {
        let mut variant = variant.clone();
        let (Some(members), Some(own_members)) =
            (variant.get_mut("properties").and_then(Value::as_object_mut), own_members.as_object())
        else {
            return;
        };
        members.extend(own_members.clone());
        let required = variant.as_object_mut().map(|v| v.entry("required").or_insert_with(|| json!([])));
        if let Some(Value::Array(required)) = required {
            required.extend(own_required.iter().cloned());
        }
        merged.push(variant);
    }
    if let Some(map) = schema.as_object_mut() {
        map.remove("allOf");
        map.insert("oneOf".into(), Value::Array(merged));
    }
}

/// Gives every object schema with named members, in this schema and the schemas inside
/// it (members, items, compositions), `additionalProperties: false` unless it states
/// what other members may be (a map).
fn close_objects(schema: &mut Value) {
    let Some(map) = schema.as_object_mut() else { return };
    if map.contains_key("properties") && !map.contains_key("additionalProperties") {
        map.insert("additionalProperties".into(), Value::Bool(false));
    }
    for (key, child) in map.iter_mut() {
        match key.as_str() {
            "properties" => child.as_object_mut().into_iter().flatten().for_each(|(_, v)| close_objects(v)),
            "items" | "additionalProperties" => close_objects(child),
            "oneOf" | "anyOf" | "allOf" => child.as_array_mut().into_iter().flatten().for_each(close_objects),
            _ => {}
        }
    }
}

/// Paths whose operations are throttled (429 with `Retry-After`).
const THROTTLED: [&str; 4] =
    ["/api/v1/auth/login", "/api/v1/auth/register", "/api/v1/auth/password-reset", "/api/v1/auth/verify-email/resend"];

fn complete_operation(path: &str, op: &mut Value) {
    let secured = op.get("security").is_some();
    let has_body = op.get("requestBody").is_some();
    let params = op.get("parameters").and_then(Value::as_array).cloned().unwrap_or_default();
    let has_query = params.iter().any(|p| p["in"] == "query");
    let has_path = params.iter().any(|p| p["in"] == "path");
    // What `IdempotencyKey::parse` accepts: 1 to 200 visible ASCII characters, no space
    // at either end.
    for param in op.get_mut("parameters").and_then(Value::as_array_mut).into_iter().flatten() {
        if param["in"] == "header" && param["name"] == "Idempotency-Key" {
            param["required"] = Value::Bool(true);
            param["schema"] =
                json!({"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[!-~]([ -~]*[!-~])?$"});
        }
    }
    let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else { return };
    let mut wanted: Vec<u16> = vec![503];
    if secured {
        wanted.extend([401, 403]);
    }
    if has_body || has_query {
        wanted.push(400);
    }
    if has_body {
        wanted.push(413);
    }
    if has_path {
        wanted.push(404);
    }
    if THROTTLED.contains(&path) {
        wanted.push(429);
    }
    for status in wanted {
        responses.entry(status.to_string()).or_insert_with(|| json!({"description": ""}));
    }
    for (status, response) in responses.iter_mut() {
        let Ok(code) = status.parse::<u16>() else { continue };
        if code < 400 {
            continue;
        }
        let description = response["description"].as_str().unwrap_or_default();
        let reason = actix_web::http::StatusCode::from_u16(code).ok().and_then(|s| s.canonical_reason());
        let description = match (description.is_empty(), reason) {
            (true, Some(reason)) => reason.to_string(),
            (_, Some(reason)) => format!("{reason}: {description}"),
            _ => description.to_string(),
        };
        *response = json!({
            "description": description,
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
        });
    }
}

/// The methods each documented path answers, for the `Allow` header of a 405.
pub struct Routes(Vec<(Vec<String>, Vec<String>)>);

impl Routes {
    pub fn of(doc: &Value) -> Self {
        let mut routes = Vec::new();
        for (path, item) in doc["paths"].as_object().into_iter().flatten() {
            let segments = path.split('/').map(str::to_string).collect();
            let mut methods: Vec<String> =
                item.as_object().into_iter().flatten().map(|(m, _)| m.to_ascii_uppercase()).collect();
            methods.sort();
            routes.push((segments, methods));
        }
        Self(routes)
    }

    /// The methods a request path answers when it matches a documented template
    /// (`{id}` matches any one segment); `None` for an unknown path.
    pub fn allowed(&self, path: &str) -> Option<String> {
        let asked: Vec<&str> = path.split('/').collect();
        let mut methods: Vec<&str> = Vec::new();
        for (template, allowed) in &self.0 {
            let matches = template.len() == asked.len()
                && template.iter().zip(&asked).all(|(t, a)| (t.starts_with('{') && !a.is_empty()) || t == a);
            if matches {
                methods.extend(allowed.iter().map(String::as_str));
            }
        }
        methods.sort_unstable();
        methods.dedup();
        (!methods.is_empty()).then(|| methods.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn every_integer_gets_the_range_of_its_format_and_keeps_its_own() {
        let mut doc = json!({"properties": {
            "points": {"type": "integer", "format": "int32", "minimum": 1},
            "cents": {"type": "integer", "format": "int64"},
            "maybe": {"type": ["integer", "null"], "format": "int32"},
            "name": {"type": "string"}
        }});
        super::bound_integers(&mut doc);
        let p = &doc["properties"];
        assert_eq!(p["points"]["minimum"], 1);
        assert_eq!(p["points"]["maximum"], i32::MAX);
        assert_eq!(p["cents"]["maximum"], i64::MAX);
        assert_eq!(p["cents"]["minimum"], i64::MIN);
        assert_eq!(p["maybe"]["minimum"], i32::MIN);
        assert!(p["name"].get("maximum").is_none());
    }

    #[test]
    fn free_strings_refuse_nul_and_constrained_ones_keep_their_rule() {
        let mut doc = json!({"properties": {
            "name": {"type": "string", "maxLength": 200},
            "note": {"type": ["string", "null"]},
            "code": {"type": "string", "pattern": "^[a-z]+$"},
            "title": {"type": "string", "pattern": "\\S"},
            "at": {"type": "string", "format": "date-time"},
            "tier": {"type": "string", "enum": ["expert"]},
            "n": {"type": "integer"},
            "map": {"type": "object", "additionalProperties": {"type": "integer"}}
        }});
        super::no_nul_in_strings(&mut doc);
        let p = &doc["properties"];
        assert_eq!(p["name"]["pattern"], super::NO_NUL);
        assert_eq!(p["note"]["pattern"], super::NO_NUL);
        assert_eq!(p["at"]["pattern"], super::NO_NUL);
        assert_eq!(p["code"]["pattern"], "^[a-z]+$");
        assert_eq!(p["title"]["pattern"], super::NON_BLANK);
        assert!(p["tier"].get("pattern").is_none() && p["n"].get("pattern").is_none());
        assert_eq!(p["map"]["propertyNames"]["pattern"], super::NO_NUL, "member names are text too");
        assert_eq!(super::NO_NUL, r"^[^\u0000]*$", "the regex escape, not a NUL character");
    }

    #[test]
    fn allow_lists_the_methods_of_a_matching_template() {
        let doc = json!({"paths": {
            "/api/v1/me": {"get": {}, "patch": {}},
            "/api/v1/payout-batches/{id}": {"get": {}},
            "/api/v1/payout-batches/preview": {"get": {}}
        }});
        let routes = super::Routes::of(&doc);
        assert_eq!(routes.allowed("/api/v1/me").as_deref(), Some("GET, PATCH"));
        assert_eq!(routes.allowed("/api/v1/payout-batches/7").as_deref(), Some("GET"));
        assert_eq!(routes.allowed("/api/v1/payout-batches/"), None);
        assert_eq!(routes.allowed("/api/v1/nothing"), None);
    }

    #[test]
    fn request_objects_are_closed_and_a_flattened_enum_becomes_whole_objects() {
        let mut doc = json!({
            "paths": {"/api/v1/tests": {"post": {"requestBody": {"content": {"application/json": {"schema": {
                "type": "object",
                "properties": {"questions": {"type": "array", "items": {"$ref": "#/components/schemas/Question"}}}
            }}}}}}},
            "components": {"schemas": {
                "Question": {"allOf": [
                    {"$ref": "#/components/schemas/Kind"},
                    {"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]}
                ]},
                "Kind": {"oneOf": [
                    {"type": "object", "properties": {"type": {"enum": ["numeric"]}, "answer": {"type": "number"}},
                     "required": ["type", "answer"]},
                    {"type": "object", "properties": {"type": {"enum": ["free_text"]}}}
                ]},
                "Reply": {"type": "object", "properties": {"id": {"type": "string"}}},
                "Scores": {"type": "object", "additionalProperties": {"type": "integer"}}
            }}
        });
        super::close_request_objects(&mut doc);
        let body = &doc["paths"]["/api/v1/tests"]["post"]["requestBody"]["content"]["application/json"]["schema"];
        assert_eq!(body["additionalProperties"], false);
        let question = &doc["components"]["schemas"]["Question"];
        assert!(question.get("allOf").is_none(), "{question}");
        let kinds = question["oneOf"].as_array().unwrap();
        assert_eq!(kinds.len(), 2);
        assert_eq!(kinds[0]["additionalProperties"], false);
        assert_eq!(kinds[0]["required"], json!(["type", "answer", "id"]));
        assert_eq!(kinds[1]["required"], json!(["id"]));
        assert!(kinds[1]["properties"]["id"].is_object());
        let schemas = &doc["components"]["schemas"];
        assert!(schemas["Reply"].get("additionalProperties").is_none(), "a schema no request reaches is left");
        assert!(schemas["Scores"]["additionalProperties"].is_object());
    }

    /// Every field the service checks with `text::check` states `text::FORMULA_SAFE` in
    /// the document (marked per field, expanded by `no_nul_in_strings`), so a
    /// schema-valid name is never refused as formula-leading.
    #[test]
    fn formula_checked_fields_state_the_rule() {
        use utoipa::PartialSchema;
        let cases: [(serde_json::Value, &[&str]); 5] = [
            (json!(crate::auth::routes::RegisterRequest::schema()), &["full_name"]),
            (json!(crate::onboarding::routes::UpdateMe::schema()), &["full_name", "legal_name"]),
            (
                json!(crate::onboarding::routes::AddressInputDto::schema()),
                &["line1", "line2", "city", "region", "postal_code"],
            ),
            (
                json!(crate::tax::routes::TaxProfileRequest::schema()),
                &[
                    "legal_name",
                    "business_name",
                    "address_line1",
                    "address_line2",
                    "city",
                    "region",
                    "postal_code",
                    "signature_name",
                ],
            ),
            (json!(crate::payouts::routes::MethodRequest::schema()), &["email", "holder_name"]),
        ];
        for (mut schema, fields) in cases {
            super::no_nul_in_strings(&mut schema);
            for field in fields {
                assert_eq!(
                    schema["properties"][field]["pattern"].as_str(),
                    Some(crate::text::FORMULA_SAFE),
                    "{field}: {schema}"
                );
            }
        }
    }
}
