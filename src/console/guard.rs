//! What every console request passes: the session cookie is resolved to a
//! [`ConsoleUser`], every form post must carry the session's CSRF token (the sign-in
//! form a pre-session token, double-submitted in a cookie), and every page gets
//! headers that keep it out of caches and other sites' frames.

use std::future::{ready, Ready};
use std::marker::PhantomData;
use std::ops::Deref;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use askama::Template;
use futures_util::StreamExt;
use subtle::ConstantTimeEq;

use super::session::{self, ConsoleUser};
use crate::auth::extract::RequestCtx;
use crate::auth::roles::StaffRole;
use crate::error::{AppError, FieldError};
use crate::AppState;

/// Cookie holding the sign-in form's CSRF token before there is a session.
pub const PRE_SESSION_COOKIE: &str = "gatehouse_console_csrf";
/// Name of the hidden form field carrying the CSRF token.
pub const CSRF_FIELD: &str = "_csrf";

/// A console failure: either "sign in first" (a redirect) or an error shown as a page.
#[derive(Debug)]
pub enum ConsoleError {
    SignIn,
    App(AppError),
}

impl From<AppError> for ConsoleError {
    fn from(e: AppError) -> Self {
        Self::App(e)
    }
}

impl std::fmt::Display for ConsoleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::SignIn => f.write_str("sign in first"),
            Self::App(e) => e.fmt(f),
        }
    }
}

#[derive(Template)]
#[template(path = "console/error.html")]
struct ErrorPage<'a> {
    status: u16,
    title: &'a str,
    detail: &'a str,
    errors: &'a [FieldError],
}

impl ResponseError for ConsoleError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::SignIn => StatusCode::SEE_OTHER,
            Self::App(e) => e.status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        let e = match self {
            Self::SignIn => {
                return HttpResponse::SeeOther().insert_header((header::LOCATION, "/console/login")).finish();
            }
            Self::App(e) => e,
        };
        let detail = e.public_detail();
        let errors = match e {
            AppError::Validation(errors) => errors.as_slice(),
            _ => &[],
        };
        let page = ErrorPage { status: e.status_code().as_u16(), title: e.title(), detail: &detail, errors };
        let mut res = HttpResponse::build(e.status_code());
        if let AppError::RateLimited { retry_after_secs } = e {
            res.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
        }
        match page.render() {
            Ok(html) => res.content_type("text/html; charset=utf-8").body(html),
            Err(err) => {
                tracing::error!(error = %err, "console error page failed to render");
                res.content_type("text/plain; charset=utf-8").body(detail)
            }
        }
    }
}

pub type PageResult = Result<HttpResponse, ConsoleError>;

/// A signed-in staff member holding role `R`, in the console. Without a session the
/// browser is sent to the sign-in page; without the role it gets a 403 page.
pub struct Console<R: StaffRole> {
    pub user: ConsoleUser,
    role: PhantomData<R>,
}

impl<R: StaffRole> Deref for Console<R> {
    type Target = ConsoleUser;
    fn deref(&self) -> &ConsoleUser {
        &self.user
    }
}

impl<R: StaffRole> FromRequest for Console<R> {
    type Error = ConsoleError;
    type Future = Ready<Result<Self, ConsoleError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let user = req.extensions().get::<ConsoleUser>().cloned();
        ready(match user {
            None => Err(ConsoleError::SignIn),
            Some(user) if R::permits(&user.roles) => Ok(Self { user, role: PhantomData }),
            Some(_) => Err(AppError::Forbidden(format!("this page needs {}", R::NAME)).into()),
        })
    }
}

/// The signed-in user, if any (the sign-in page uses it to skip the form).
pub fn current_user(req: &HttpRequest) -> Option<ConsoleUser> {
    req.extensions().get::<ConsoleUser>().cloned()
}

/// Builds a console cookie: HttpOnly, SameSite=Strict, scoped to `/console`, and
/// Secure when the service is published over TLS.
pub fn cookie<'a>(st: &AppState, name: &'a str, value: String) -> Cookie<'a> {
    cookie_at(st, name, value, "/console")
}

/// [`cookie`] scoped to `path`.
pub fn cookie_at<'a>(st: &AppState, name: &'a str, value: String, path: &'a str) -> Cookie<'a> {
    Cookie::build(name, value)
        .path(path)
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(st.config.public_url.starts_with("https://"))
        .finish()
}

pub fn unsafe_method(m: &Method) -> bool {
    !matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// A cross-site request carries an `Origin` naming another host; a same-origin one
/// names ours or none at all (older browsers).
fn cross_origin(req: &ServiceRequest) -> bool {
    let Some(origin) = req.headers().get(header::ORIGIN).and_then(|v| v.to_str().ok()) else { return false };
    let host = req.headers().get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let origin_host = origin.split_once("://").map(|(_, h)| h).unwrap_or(origin);
    origin_host != host
}

async fn read_body(req: &mut ServiceRequest, limit: usize) -> Result<web::Bytes, AppError> {
    let mut payload = req.take_payload();
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| AppError::BadRequest(format!("the request body could not be read: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(AppError::PayloadTooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// The `_csrf` field of a url-encoded or multipart form body.
async fn csrf_of(req: &ServiceRequest, body: &web::Bytes) -> Option<String> {
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if content_type.starts_with("application/x-www-form-urlencoded") {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).ok()?;
        return pairs.into_iter().find(|(k, _)| k == CSRF_FIELD).map(|(_, v)| v);
    }
    if content_type.starts_with("multipart/form-data") {
        let stream = futures_util::stream::once(ready(Ok::<_, actix_web::error::PayloadError>(body.clone())));
        let mut form = actix_multipart::Multipart::new(req.headers(), stream);
        while let Some(Ok(mut field)) = form.next().await {
            if field.name() != Some(CSRF_FIELD) {
                continue;
            }
            let mut value = Vec::new();
            while let Some(Ok(chunk)) = field.next().await {
                value.extend_from_slice(&chunk);
                if value.len() > 256 {
                    return None;
                }
            }
            return String::from_utf8(value).ok();
        }
    }
    None
}

fn same_token(expected: &str, presented: &str) -> bool {
    !expected.is_empty() && expected.as_bytes().ct_eq(presented.as_bytes()).into()
}

/// Checks a form post: its `_csrf` field must equal `expected` and its `Origin` (when
/// sent) must be ours. The body is read (up to `limit`) and put back for the handler.
pub async fn check_form(req: &mut ServiceRequest, expected: &str, limit: usize) -> Result<(), AppError> {
    let body = read_body(req, limit).await?;
    let presented = csrf_of(req, &body).await.unwrap_or_default();
    req.set_payload(Payload::from(body));
    if cross_origin(req) || !same_token(expected, &presented) {
        tracing::warn!(path = %req.path(), "form refused: missing or wrong CSRF token");
        return Err(AppError::Forbidden(
            "this form did not come from your console session (missing or expired CSRF token); reload the page and try again"
                .into(),
        ));
    }
    Ok(())
}

/// Headers of every server-rendered page: no caching, no framing by other sites, no
/// type guessing, a strict content policy.
pub fn page_headers(headers: &mut header::HeaderMap) {
    for (name, value) in [
        (header::CACHE_CONTROL, "no-store"),
        (header::X_FRAME_OPTIONS, "SAMEORIGIN"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; img-src 'self' data:; object-src 'self'; frame-ancestors 'self'; form-action 'self'; base-uri 'none'",
        ),
    ] {
        headers.insert(name, header::HeaderValue::from_static(value));
    }
}

/// The console middleware: session, CSRF, headers.
pub async fn guard(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Err(AppError::Internal(anyhow::anyhow!("AppState missing")).into());
    };
    if let Some(token) = req.cookie(session::COOKIE).map(|c| c.value().to_string()) {
        let (st, ctx) = (state.clone(), RequestCtx::of(req.request()));
        if let Some(user) = crate::blocking(move || session::load(&st, &ctx, &token)).await? {
            req.extensions_mut().insert(user);
        }
    }
    if unsafe_method(req.method()) {
        let expected = match req.extensions().get::<ConsoleUser>() {
            Some(user) => user.csrf.clone(),
            None => req.cookie(PRE_SESSION_COOKIE).map(|c| c.value().to_string()).unwrap_or_default(),
        };
        let limit = state.config.operations.max_upload_bytes + 64 * 1024;
        if let Err(e) = check_form(&mut req, &expected, limit).await {
            return Ok(req.into_response(ConsoleError::App(e).error_response()));
        }
    }
    let mut res = next.call(req).await?.map_into_boxed_body();
    page_headers(res.headers_mut());
    Ok(res)
}
