//! One error type for the whole service, rendered as RFC 9457 problem details.
//!
//! Every variant has a stable snake_case `code`; the `type` member is
//! `/problems/{code}`. Internal causes are logged with tracing and never sent.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

mod codes;
pub use codes::{unique_rules, unique_violation, ProblemCode};

/// One invalid field of a request.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct FieldError {
    /// JSON name of the field.
    pub field: String,
    /// Stable code such as `length`, `email`, `required`.
    pub code: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, code: &str, message: impl Into<String>) -> Self {
        Self { field: field.into(), code: code.into(), message: message.into() }
    }
}

/// RFC 9457 problem details, as sent with `Content-Type: application/problem+json`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// `/problems/{code}`.
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable machine-readable code (the last segment of `type`).
    pub code: ProblemCode,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{detail}")]
    Invalid { code: ProblemCode, detail: String },
    /// A JSON member the operation does not know (serde `deny_unknown_fields`).
    #[error("unknown field `{0}`")]
    UnknownField(String),
    #[error("the request has invalid fields")]
    Validation(Vec<FieldError>),
    #[error("{0}")]
    Unauthorized(&'static str),
    #[error("{0}")]
    Forbidden(String),
    /// A 403 with its own stable code, e.g. `account_read_only`.
    #[error("{detail}")]
    Refused { code: ProblemCode, detail: String },
    #[error("not found")]
    NotFound,
    /// A known path asked with a method it does not answer; carries the `Allow` value.
    #[error("this path does not answer that method")]
    MethodNotAllowed(String),
    #[error("{detail}")]
    Conflict { code: ProblemCode, detail: String },
    /// A conflict whose problem document carries extension members (RFC 9457 §3.2),
    /// e.g. the date of the next allowed attempt.
    #[error("{detail}")]
    ConflictWith { code: ProblemCode, detail: String, extensions: serde_json::Map<String, serde_json::Value> },
    #[error("the request body is too large")]
    PayloadTooLarge,
    #[error("too many attempts; try again in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error("a dependency is unavailable")]
    Unavailable(String),
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    pub fn conflict(code: ProblemCode, detail: impl Into<String>) -> Self {
        Self::Conflict { code, detail: detail.into() }
    }
    /// A 409 with extension members; `extensions` should be a JSON object.
    pub fn conflict_with(code: ProblemCode, detail: impl Into<String>, extensions: serde_json::Value) -> Self {
        let extensions = match extensions {
            serde_json::Value::Object(map) => map,
            _ => serde_json::Map::new(),
        };
        Self::ConflictWith { code, detail: detail.into(), extensions }
    }
    pub fn refused(code: ProblemCode, detail: impl Into<String>) -> Self {
        Self::Refused { code, detail: detail.into() }
    }
    pub fn invalid(code: ProblemCode, detail: impl Into<String>) -> Self {
        Self::Invalid { code, detail: detail.into() }
    }
    pub fn field(field: &str, code: &str, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, code, message)])
    }

    pub fn code(&self) -> ProblemCode {
        match self {
            Self::BadRequest(_) => ProblemCode::BadRequest,
            Self::Invalid { code, .. }
            | Self::Conflict { code, .. }
            | Self::ConflictWith { code, .. }
            | Self::Refused { code, .. } => *code,
            Self::UnknownField(_) => ProblemCode::UnknownField,
            Self::Validation(_) => ProblemCode::ValidationFailed,
            Self::Unauthorized(_) => ProblemCode::Unauthorized,
            Self::Forbidden(_) => ProblemCode::Forbidden,
            Self::NotFound => ProblemCode::NotFound,
            Self::MethodNotAllowed(_) => ProblemCode::MethodNotAllowed,
            Self::PayloadTooLarge => ProblemCode::PayloadTooLarge,
            Self::RateLimited { .. } => ProblemCode::RateLimited,
            Self::Unavailable(_) => ProblemCode::Unavailable,
            Self::Internal(_) => ProblemCode::InternalError,
        }
    }

    /// What the client is told. Internal causes are logged here and never sent.
    pub fn public_detail(&self) -> String {
        match self {
            Self::Internal(cause) => {
                tracing::error!(error = ?cause, "internal error");
                "An internal error occurred; it has been logged.".to_string()
            }
            Self::Unavailable(cause) => {
                tracing::warn!(cause = %cause, "dependency unavailable");
                "A dependency of the service is unavailable; try again shortly.".to_string()
            }
            other => other.to_string(),
        }
    }

    pub fn title(&self) -> &'static str {
        self.status_code().canonical_reason().unwrap_or("Error")
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) | Self::Invalid { .. } | Self::UnknownField(_) => StatusCode::BAD_REQUEST,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) | Self::Refused { .. } => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict { .. } | Self::ConflictWith { .. } => StatusCode::CONFLICT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let detail = self.public_detail();
        let code = self.code();
        let problem = Problem {
            type_: code.type_uri(),
            title: self.title().to_string(),
            status: self.status_code().as_u16(),
            detail,
            code,
            errors: match self {
                Self::Validation(errors) => errors.clone(),
                Self::UnknownField(field) => {
                    vec![FieldError::new(field, "unknown_field", format!("`{field}` is not a member of this request"))]
                }
                _ => Vec::new(),
            },
        };
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CONTENT_TYPE, "application/problem+json"));
        if let Self::RateLimited { retry_after_secs } = self {
            response.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
        }
        if matches!(self, Self::Unavailable(_)) {
            response.insert_header((header::RETRY_AFTER, UNAVAILABLE_RETRY_AFTER_SECS.to_string()));
        }
        if let Self::MethodNotAllowed(allow) = self {
            response.insert_header((header::ALLOW, allow.as_str()));
        }
        if matches!(self, Self::Unauthorized(_)) {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        match self {
            Self::ConflictWith { extensions, .. } => {
                let mut body = serde_json::to_value(&problem).unwrap_or_default();
                if let Some(members) = body.as_object_mut() {
                    for (k, v) in extensions {
                        members.entry(k.clone()).or_insert_with(|| v.clone());
                    }
                }
                response.json(body)
            }
            _ => response.json(problem),
        }
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match e {
            Error::NotFound => Self::NotFound,
            // A unique constraint is the database's word that the thing already exists
            // (earned once, paid once, one email per event): a conflict, not a crash.
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                let (code, detail) = unique_violation(info.constraint_name(), info.message());
                tracing::info!(constraint = ?info.constraint_name(), %code, "unique violation");
                Self::conflict(code, detail)
            }
            // The server closed the connection (PostgreSQL restarted or went away), or
            // another process held SQLite's write lock past the busy timeout: the
            // database is unavailable, which a client may retry, not a bug.
            Error::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                info,
            ) => Self::Unavailable(info.message().to_string()),
            Error::DatabaseError(DatabaseErrorKind::Unknown, info)
                if SQLITE_LOCKED.iter().any(|m| info.message().contains(m)) =>
            {
                Self::Unavailable(info.message().to_string())
            }
            Error::BrokenTransactionManager => Self::Unavailable("the connection's transaction state is lost".into()),
            other => Self::Internal(other.into()),
        }
    }
}

/// SQLite's messages for SQLITE_BUSY and SQLITE_LOCKED (diesel maps both to `Unknown`).
const SQLITE_LOCKED: [&str; 2] = ["database is locked", "database table is locked"];

impl From<diesel::r2d2::PoolError> for AppError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        Self::Unavailable(e.to_string())
    }
}

impl From<validator::ValidationErrors> for AppError {
    fn from(errors: validator::ValidationErrors) -> Self {
        let mut out: Vec<FieldError> = errors
            .field_errors()
            .into_iter()
            .flat_map(|(field, errs)| {
                errs.iter().map(move |e| {
                    let message = e
                        .message
                        .as_ref()
                        .map(|m| m.to_string())
                        .unwrap_or_else(|| format!("{field} is invalid ({})", e.code));
                    FieldError::new(field.as_ref(), &e.code, message)
                })
            })
            .collect();
        out.sort_by(|a, b| a.field.cmp(&b.field));
        Self::Validation(out)
    }
}

impl From<actix_web::error::BlockingError> for AppError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        Self::Internal(anyhow::anyhow!("blocking pool: {e}"))
    }
}

pub type AppResult<T> = Result<T, AppError>;

/// `Retry-After` of a 503: a lost database connection is replaced on the next request,
/// a restarting PostgreSQL is usually back within seconds.
pub const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 5;

/// Maps actix's own extractor failures (malformed JSON, oversized body, bad path or
/// query) to problem responses instead of actix's plain-text errors.
pub fn json_error(err: actix_web::error::JsonPayloadError, _req: &actix_web::HttpRequest) -> actix_web::Error {
    use actix_web::error::JsonPayloadError as J;
    match err {
        J::Overflow { .. } | J::OverflowKnownLength { .. } => AppError::PayloadTooLarge.into(),
        J::ContentType => {
            AppError::invalid(ProblemCode::UnsupportedMediaType, "expected Content-Type: application/json").into()
        }
        J::Deserialize(e) => json_body_error(&e).into(),
        other => {
            AppError::invalid(ProblemCode::MalformedJson, format!("the JSON body could not be read: {other}")).into()
        }
    }
}

/// A JSON body that did not deserialize: a 400 `unknown_field` naming the member serde's
/// `deny_unknown_fields` refused, otherwise a 400 `malformed_json` with the quoted values
/// cut. For the JSON extractor and the handlers that read their body themselves.
pub fn json_body_error(e: &serde_json::Error) -> AppError {
    match unknown_field(&e.to_string()) {
        Some(field) => AppError::UnknownField(field),
        None => AppError::invalid(
            ProblemCode::MalformedJson,
            format!("the JSON body is invalid: {}", redact_quoted(&e.to_string())),
        ),
    }
}

/// The member named by serde's `deny_unknown_fields` error ("unknown field `x`,
/// expected one of …"), which is the client's own key, not a value, so it is safe to echo.
pub fn unknown_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    let end = rest.find('`')?;
    Some(rest[..end].to_string())
}

/// serde quotes the offending value in its messages ("invalid type: string \"…\""); that
/// value may be a date of birth or a tax number, so it is cut before the message is sent
/// or logged.
pub fn redact_quoted(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut inside = false;
    for c in message.chars() {
        if c == '"' {
            if !inside {
                out.push_str("\"…");
            }
            inside = !inside;
            if !inside {
                out.push('"');
            }
        } else if !inside {
            out.push(c);
        }
    }
    out
}

pub fn query_error(err: actix_web::error::QueryPayloadError, _req: &actix_web::HttpRequest) -> actix_web::Error {
    AppError::invalid(ProblemCode::InvalidQuery, format!("invalid query string: {err}")).into()
}

pub fn path_error(err: actix_web::error::PathError, _req: &actix_web::HttpRequest) -> actix_web::Error {
    tracing::debug!(%err, "path did not parse");
    AppError::NotFound.into()
}

#[cfg(test)]
mod tests {
    #[test]
    fn quoted_values_are_redacted() {
        assert_eq!(
            super::redact_quoted("invalid value: string \"123-45-6789\", expected a date at line 1"),
            "invalid value: string \"…\", expected a date at line 1"
        );
        assert_eq!(super::redact_quoted("unknown field `email`"), "unknown field `email`");
    }

    #[test]
    fn unknown_fields_are_named() {
        assert_eq!(
            super::unknown_field("unknown field `emial`, expected one of `email`, `password` at line 1 column 9"),
            Some("emial".to_string())
        );
        assert_eq!(super::unknown_field("missing field `email` at line 1 column 2"), None);
    }
}
