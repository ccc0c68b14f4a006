//! Extractors that hand a handler the signed-in user, with the role it needs.

use std::future::{ready, Ready};
use std::marker::PhantomData;
use std::ops::Deref;

use actix_web::dev::Payload;
use actix_web::{http::header, web, FromRequest, HttpMessage, HttpRequest};

use super::roles::{Role, StaffRole};
use crate::error::AppError;
use crate::AppState;

/// Request id and client address, carried into audit records.
#[derive(Debug, Clone, Default)]
pub struct RequestCtx {
    pub request_id: Option<String>,
    pub ip: Option<String>,
}

impl RequestCtx {
    /// The context of work not started by a request (CLI, scheduled jobs).
    pub fn system(label: &str) -> Self {
        Self { request_id: Some(label.to_string()), ip: None }
    }

    pub fn of(req: &HttpRequest) -> Self {
        Self {
            request_id: req.extensions().get::<tracing_actix_web::RequestId>().map(|id| id.to_string()),
            // The socket peer, not X-Forwarded-For: a client cannot choose its own
            // address to dodge the per-IP login limit.
            ip: req.peer_addr().map(|a| a.ip().to_string()),
        }
    }
}

impl FromRequest for RequestCtx {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(Self::of(req)))
    }
}

/// Any signed-in user, from a valid `Authorization: Bearer` access token.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub id: i64,
    pub roles: Vec<Role>,
    pub ctx: RequestCtx,
}

impl AuthUser {
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    fn extract(req: &HttpRequest) -> Result<Self, AppError> {
        let state = req
            .app_data::<web::Data<AppState>>()
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("AppState missing")))?;
        let token = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(AppError::Unauthorized("an access token is required (Authorization: Bearer ...)"))?;
        let claims = state
            .jwt
            .verify(token.trim(), state.clock.now().and_utc().timestamp())
            .ok_or(AppError::Unauthorized("the access token is invalid or expired"))?;
        let id = claims.sub.parse().map_err(|_| AppError::Unauthorized("the access token is invalid"))?;
        Ok(Self { id, roles: claims.roles, ctx: RequestCtx::of(req) })
    }
}

impl FromRequest for AuthUser {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Self::extract(req))
    }
}

/// A signed-in staff member holding role `R`; anyone else gets 403.
#[derive(Debug)]
pub struct Staff<R: StaffRole> {
    pub user: AuthUser,
    role: PhantomData<R>,
}

impl<R: StaffRole> Deref for Staff<R> {
    type Target = AuthUser;
    fn deref(&self) -> &AuthUser {
        &self.user
    }
}

impl<R: StaffRole> FromRequest for Staff<R> {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(AuthUser::extract(req).and_then(|user| {
            if R::permits(&user.roles) {
                Ok(Self { user, role: PhantomData })
            } else {
                Err(AppError::Forbidden(format!("this action needs {}", R::NAME)))
            }
        }))
    }
}

/// A signed-in applicant (contributor).
#[derive(Debug)]
pub struct Applicant(pub AuthUser);

impl Deref for Applicant {
    type Target = AuthUser;
    fn deref(&self) -> &AuthUser {
        &self.0
    }
}

impl FromRequest for Applicant {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(AuthUser::extract(req).and_then(|user| {
            if user.has(Role::Applicant) {
                Ok(Self(user))
            } else {
                Err(AppError::Forbidden("this action is for applicants".into()))
            }
        }))
    }
}
