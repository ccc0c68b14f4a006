//! Signing in and out of the console.

use actix_web::cookie::Cookie;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use askama::Template;
use serde::Deserialize;

use super::guard::{self, Console, PageResult, PRE_SESSION_COOKIE};
use super::session;
use crate::auth::extract::RequestCtx;
use crate::auth::roles::AnyStaff;
use crate::crypto::random_token;
use crate::error::AppError;
use crate::AppState;

#[derive(Template)]
#[template(path = "console/sign_in.html")]
struct SignInPage<'a> {
    csrf: &'a str,
    email: &'a str,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct SignInForm {
    email: String,
    password: String,
}

fn sign_in_page(st: &AppState, status: StatusCode, email: &str, error: Option<String>) -> PageResult {
    let csrf = random_token();
    let html = SignInPage { csrf: &csrf, email, error }.render().map_err(|e| AppError::Internal(e.into()))?;
    Ok(HttpResponse::build(status)
        .cookie(guard::cookie(st, PRE_SESSION_COOKIE, csrf.clone()))
        .content_type("text/html; charset=utf-8")
        .body(html))
}

pub async fn form(st: web::Data<AppState>, req: HttpRequest) -> PageResult {
    if guard::current_user(&req).is_some() {
        return Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, "/console")).finish());
    }
    sign_in_page(&st, StatusCode::OK, "", None)
}

pub async fn submit(st: web::Data<AppState>, ctx: RequestCtx, form: web::Form<SignInForm>) -> PageResult {
    let form = form.into_inner();
    let email = crate::auth::service::normalize_email(&form.email);
    let (state, who) = (st.clone(), email.clone());
    let started = crate::blocking(move || {
        let user = crate::auth::service::authenticate(&state, &ctx, &who, &form.password)?;
        session::start(&state, &ctx, &user)
    })
    .await;
    match started {
        Ok(token) => Ok(HttpResponse::SeeOther()
            .cookie(guard::cookie(&st, session::COOKIE, token))
            .cookie(expired(&st, PRE_SESSION_COOKIE))
            .insert_header((header::LOCATION, "/console"))
            .finish()),
        Err(e @ (AppError::Unauthorized(_) | AppError::Forbidden(_) | AppError::RateLimited { .. })) => {
            let mut res = sign_in_page(&st, e.status_code(), &email, Some(e.public_detail()))?;
            if let AppError::RateLimited { retry_after_secs } = e {
                res.headers_mut().insert(header::RETRY_AFTER, retry_after_secs.into());
            }
            Ok(res)
        }
        Err(e) => Err(e.into()),
    }
}

fn expired<'a>(st: &AppState, name: &'a str) -> Cookie<'a> {
    let mut c = guard::cookie(st, name, String::new());
    c.make_removal();
    c
}

pub async fn sign_out(st: web::Data<AppState>, user: Console<AnyStaff>) -> PageResult {
    let state = st.clone();
    crate::blocking(move || session::end(&state, &user)).await?;
    Ok(HttpResponse::SeeOther()
        .cookie(expired(&st, session::COOKIE))
        .insert_header((header::LOCATION, "/console/login"))
        .finish())
}
