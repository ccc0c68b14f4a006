//! Extractors that hand a handler the signed-in user, with the role it needs.

use std::future::{ready, Ready};
use std::marker::PhantomData;
use std::ops::Deref;

use actix_web::dev::Payload;
use actix_web::http::{header, Method};
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use futures_util::future::LocalBoxFuture;

use super::model::UserStatus;
use super::roles::{Role, StaffRole};
use super::session;
use crate::error::{AppError, ProblemCode};
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
            request_id: req.extensions().get::<crate::telemetry::RequestId>().map(|id| id.0.clone()),
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

/// The verified claims of a request's bearer token: who and which session, before the
/// session is looked up. [`AuthUser`] looks it up; `GET /me` folds the lookup into its
/// own query (`onboarding::service::account_of_session`).
#[derive(Debug, Clone, Copy)]
pub struct BearerClaims {
    pub user_id: i64,
    pub session_id: i64,
}

impl BearerClaims {
    pub fn of(req: &HttpRequest) -> Result<Self, AppError> {
        let state = state_of(req)?;
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
        let user_id = claims.sub.parse().map_err(|_| AppError::Unauthorized("the access token is invalid"))?;
        req.extensions_mut().insert(crate::telemetry::Actor(user_id));
        Ok(Self { user_id, session_id: claims.sid })
    }
}

impl FromRequest for BearerClaims {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Self::of(req))
    }
}

fn state_of(req: &HttpRequest) -> Result<web::Data<AppState>, AppError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("AppState missing")))
}

/// Requests that change something (anything but GET, HEAD, OPTIONS).
fn changes_state(req: &HttpRequest) -> bool {
    !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Refuses a state-changing request from an account that is read-only now (rejected,
/// removed, closed): they keep reading their own records, nothing more. Applied to
/// every signed-in request, so a new endpoint is safe by default.
pub fn refuse_read_only(status: UserStatus, changes_state: bool) -> Result<(), AppError> {
    if changes_state && status.read_only() {
        return Err(AppError::refused(
            ProblemCode::AccountReadOnly,
            format!(
                "your account is {}: you can read your records (GET /me, /me/decisions, /me/earnings, \
                 /me/payouts, /me/tax-documents) but not change anything",
                status.as_str()
            ),
        ));
    }
    Ok(())
}

/// Any signed-in user: a valid `Authorization: Bearer` access token whose session is
/// still open, with the account's status and roles as the database holds them now.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub id: i64,
    pub roles: Vec<Role>,
    pub status: UserStatus,
    pub ctx: RequestCtx,
}

impl AuthUser {
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    async fn extract(req: HttpRequest) -> Result<Self, AppError> {
        let claims = BearerClaims::of(&req)?;
        let state = state_of(&req)?;
        let p = state.db.read(move |c| session::principal(c, claims.session_id, claims.user_id)).await?;
        refuse_read_only(p.status, changes_state(&req))?;
        Ok(Self { id: p.user_id, roles: p.roles, status: p.status, ctx: RequestCtx::of(&req) })
    }
}

impl FromRequest for AuthUser {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(Self::extract(req.clone()))
    }
}

/// A signed-in staff member holding role `R` now; anyone else gets 403.
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
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let user = AuthUser::extract(req).await?;
            if R::permits(&user.roles) {
                Ok(Self { user, role: PhantomData })
            } else {
                Err(AppError::Forbidden(format!("this action needs {}", R::NAME)))
            }
        })
    }
}

/// A signed-in applicant (contributor), whatever their status; read-only accounts are
/// refused any change (see [`refuse_read_only`]).
#[derive(Debug)]
pub struct Applicant(pub AuthUser);

impl Deref for Applicant {
    type Target = AuthUser;
    fn deref(&self) -> &AuthUser {
        &self.0
    }
}

fn applicant(user: AuthUser) -> Result<Applicant, AppError> {
    if user.has(Role::Applicant) {
        Ok(Applicant(user))
    } else {
        Err(AppError::Forbidden("this action is for applicants".into()))
    }
}

impl FromRequest for Applicant {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { applicant(AuthUser::extract(req).await?) })
    }
}

/// An applicant whose status allows new work now: the actions that earn (starting a
/// qualification test, answering, submitting). Suspended contributors keep every other
/// applicant action, above all what lifts the suspension (reverification, tax profile).
#[derive(Debug)]
pub struct Worker(pub AuthUser);

impl Deref for Worker {
    type Target = AuthUser;
    fn deref(&self) -> &AuthUser {
        &self.0
    }
}

impl FromRequest for Worker {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let Applicant(user) = applicant(AuthUser::extract(req).await?)?;
            if user.status.blocks_work() {
                return Err(AppError::refused(
                    ProblemCode::AccountCannotWork,
                    format!(
                        "your account is {}: new work is paused (GET /me/readiness says why and how to fix it)",
                        user.status.as_str()
                    ),
                ));
            }
            Ok(Worker(user))
        })
    }
}
