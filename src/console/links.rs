//! The pages the links in emails open (SPEC §12): `/verify-email`, `/reset-password`
//! and `/set-password`, each `?token=…`. Server-rendered with the console's templates
//! and its CSRF check (a pre-session token, double-submitted in a cookie): the GET shows
//! a form and uses nothing, so a mail scanner that follows the link does not spend it;
//! the POST completes the action through the same service call as the API.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::{from_fn, Next};
use actix_web::{web, HttpResponse, ResponseError};
use askama::Template;
use serde::Deserialize;

use super::guard;
use crate::auth::model::TokenPurpose;
use crate::auth::service;
use crate::auth::RequestCtx;
use crate::crypto::random_token;
use crate::error::AppError;
use crate::AppState;

/// Cookie holding the CSRF token of a link page's form.
pub const CSRF_COOKIE: &str = "gatehouse_link_csrf";

/// One kind of emailed link and its page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    VerifyEmail,
    ResetPassword,
    SetPassword,
}

struct Spec {
    path: &'static str,
    title: &'static str,
    intro: &'static str,
    button: &'static str,
    asks_password: bool,
    purposes: &'static [TokenPurpose],
    done: &'static str,
    next: Option<(&'static str, &'static str)>,
}

impl Link {
    const ALL: [Link; 3] = [Link::VerifyEmail, Link::ResetPassword, Link::SetPassword];

    fn spec(self) -> Spec {
        match self {
            Self::VerifyEmail => Spec {
                path: "/verify-email",
                title: "Confirm your email address",
                intro: "Confirm that this email address is yours to finish setting up your Gatehouse account.",
                button: "Confirm my email address",
                asks_password: false,
                purposes: &[TokenPurpose::VerifyEmail],
                done: "Your email address is confirmed. Continue in the Gatehouse app.",
                next: None,
            },
            Self::ResetPassword => Spec {
                path: "/reset-password",
                title: "Choose a new password",
                intro: "Choose a new password for your Gatehouse account. You will be signed out everywhere.",
                button: "Set my new password",
                asks_password: true,
                purposes: &[TokenPurpose::PasswordReset],
                done: "Your password is changed and every session was signed out. Sign in again with the new one.",
                next: None,
            },
            Self::SetPassword => Spec {
                path: "/set-password",
                title: "Set your password",
                intro: "Choose the password of your Gatehouse staff account.",
                button: "Set my password",
                asks_password: true,
                purposes: &[TokenPurpose::StaffInvite],
                done: "Your password is set.",
                next: Some(("/console/login", "Sign in to the console")),
            },
        }
    }
}

struct PageSpec {
    title: &'static str,
    intro: &'static str,
    action: &'static str,
    button: &'static str,
    asks_password: bool,
}

#[derive(Template)]
#[template(path = "console/link.html")]
struct LinkPage<'a> {
    page: PageSpec,
    csrf: &'a str,
    /// The form is shown while the link is live.
    token: Option<&'a str>,
    error: Option<String>,
    done: Option<&'static str>,
    next: Option<(&'static str, &'static str)>,
}

/// Renders a page; a form gets a fresh CSRF token in a cookie scoped to the page.
fn page(
    st: &AppState,
    link: Link,
    status: StatusCode,
    token: Option<&str>,
    error: Option<String>,
    done: bool,
) -> HttpResponse {
    let spec = link.spec();
    let csrf = random_token();
    let html = LinkPage {
        page: PageSpec {
            title: spec.title,
            intro: spec.intro,
            action: spec.path,
            button: spec.button,
            asks_password: spec.asks_password,
        },
        csrf: &csrf,
        token,
        error,
        done: done.then_some(spec.done),
        next: if done { spec.next } else { None },
    }
    .render();
    let mut res = HttpResponse::build(status);
    if token.is_some() {
        res.cookie(guard::cookie_at(st, CSRF_COOKIE, csrf, spec.path));
    }
    match html {
        Ok(html) => res.content_type("text/html; charset=utf-8").body(html),
        Err(e) => {
            tracing::error!(error = %e, "link page failed to render");
            HttpResponse::InternalServerError().finish()
        }
    }
}

const SPENT: &str = "This link is invalid, expired or already used (only the newest link works). Ask for a new one.";

#[derive(Deserialize)]
pub struct LinkQuery {
    token: Option<String>,
}

async fn show(st: web::Data<AppState>, link: Link, query: web::Query<LinkQuery>) -> HttpResponse {
    let token = query.into_inner().token.unwrap_or_default();
    let (state, t) = (st.clone(), token.clone());
    let live = !token.trim().is_empty()
        && crate::blocking(move || service::link_is_live(&state, &t, link.spec().purposes)).await.unwrap_or(false);
    if live {
        page(&st, link, StatusCode::OK, Some(&token), None, false)
    } else {
        page(&st, link, StatusCode::BAD_REQUEST, None, Some(SPENT.into()), false)
    }
}

#[derive(Deserialize)]
pub struct LinkForm {
    token: String,
    password: Option<String>,
    confirm: Option<String>,
}

async fn submit(st: web::Data<AppState>, link: Link, ctx: RequestCtx, form: web::Form<LinkForm>) -> HttpResponse {
    let LinkForm { token, password, confirm } = form.into_inner();
    let (state, t) = (st.clone(), token.clone());
    let done = crate::blocking(move || match link {
        Link::VerifyEmail => service::verify_email(&state, &ctx, &t).map(drop),
        Link::ResetPassword | Link::SetPassword => {
            let password = password.unwrap_or_default();
            if confirm.as_deref() != Some(password.as_str()) {
                return Err(AppError::field("confirm", "mismatch", "the two passwords differ"));
            }
            service::confirm_password_reset(&state, &ctx, &t, &password)
        }
    })
    .await;
    match done {
        Ok(()) => page(&st, link, StatusCode::OK, None, None, true),
        // A bad password leaves the link live: the form comes back with the reason.
        Err(AppError::Validation(errors)) => {
            let why = errors.iter().map(|e| e.message.clone()).collect::<Vec<_>>().join("; ");
            page(&st, link, StatusCode::UNPROCESSABLE_ENTITY, Some(&token), Some(why), false)
        }
        Err(e @ AppError::Invalid { .. }) => page(&st, link, e.status_code(), None, Some(SPENT.into()), false),
        Err(e) => page(&st, link, e.status_code(), None, Some(e.public_detail()), false),
    }
}

/// CSRF on every form post (the cookie set with the form) and the console's page headers.
async fn links_guard(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if guard::unsafe_method(req.method()) {
        let expected = req.cookie(CSRF_COOKIE).map(|c| c.value().to_string()).unwrap_or_default();
        if let Err(e) = guard::check_form(&mut req, &expected, 64 * 1024).await {
            return Ok(req.into_response(guard::ConsoleError::App(e).error_response()));
        }
    }
    let mut res = next.call(req).await?.map_into_boxed_body();
    guard::page_headers(res.headers_mut());
    Ok(res)
}

/// Registers the three link pages (outside `/api/v1` and `/console`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    for link in Link::ALL {
        cfg.service(
            web::resource(link.spec().path)
                .wrap(from_fn(links_guard))
                .app_data(web::FormConfig::default().limit(64 * 1024).error_handler(|e, _| {
                    guard::ConsoleError::App(AppError::BadRequest(format!("the form could not be read: {e}"))).into()
                }))
                .app_data(web::QueryConfig::default().error_handler(|e, _| {
                    guard::ConsoleError::App(AppError::BadRequest(format!("the link is malformed: {e}"))).into()
                }))
                .route(web::get().to(move |st, q| show(st, link, q)))
                .route(web::post().to(move |st, ctx, form| submit(st, link, ctx, form))),
        );
    }
}
