//! The `Idempotency-Key` header that every POST moving money or creating a batch
//! requires (SPEC §12): the same key and body return the first result; the same key with
//! another body is refused.

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};

use crate::error::{AppError, ProblemCode};

/// A client's idempotency key, 1 to 200 characters.
#[derive(Debug, Clone)]
pub struct IdempotencyKey(pub String);

impl IdempotencyKey {
    pub fn parse(req: &HttpRequest) -> Result<Self, AppError> {
        req.headers()
            .get("Idempotency-Key")
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|k| !k.is_empty() && k.len() <= 200)
            .map(|k| Self(k.to_string()))
            .ok_or_else(|| {
                AppError::invalid(
                    ProblemCode::IdempotencyKeyRequired,
                    "send an Idempotency-Key header (1 to 200 characters)",
                )
            })
    }
}

impl FromRequest for IdempotencyKey {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Self::parse(req))
    }
}

/// The refusal of a key reused for a different request.
pub fn reused() -> AppError {
    AppError::field(
        "Idempotency-Key",
        "idempotency_key_reused",
        "this Idempotency-Key was used for a different request body",
    )
}
