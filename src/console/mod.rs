//! The operations and finance console: server-rendered pages for staff, served by the
//! same process under `/console`, calling the same service functions as the REST API
//! (no business rule lives here). Sessions are cookies (`session`), every form carries
//! a CSRF token checked in one place (`guard`), roles are in the handler signatures
//! (`Console<Finance>`), and every action is audited by the service it calls.

pub mod admin;
pub mod charts;
pub mod contributors;
pub mod finance;
pub mod guard;
pub mod layout;
pub mod links;
pub mod list;
pub mod review;
pub mod session;
pub mod sign_in;

use actix_web::middleware::from_fn;
use actix_web::{web, HttpResponse};

use crate::error::AppError;

/// Largest url-encoded form the console accepts.
const FORM_LIMIT: usize = 1024 * 1024;

const STYLESHEET: &str = include_str!("../../templates/console/console.css");

async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(STYLESHEET)
}

/// Malformed forms, paths and query strings get the console's HTML error page (400)
/// instead of the API's problem JSON.
fn bad_input(detail: String) -> actix_web::Error {
    guard::ConsoleError::App(AppError::BadRequest(detail)).into()
}

/// Registers the console under `/console`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/console")
            .wrap(from_fn(guard::guard))
            // The test authoring form carries its questions as JSON: more than the default 16 KiB.
            .app_data(
                web::FormConfig::default()
                    .limit(FORM_LIMIT)
                    .error_handler(|e, _| bad_input(format!("the form could not be read: {e}"))),
            )
            .app_data(web::PathConfig::default().error_handler(|e, _| bad_input(format!("no such page: {e}"))))
            .app_data(
                web::QueryConfig::default()
                    .error_handler(|e, _| bad_input(format!("the query string is invalid: {e}"))),
            )
            .route("/static/console.css", web::get().to(stylesheet))
            .route("/login", web::get().to(sign_in::form))
            .route("/login", web::post().to(sign_in::submit))
            .route("/logout", web::post().to(sign_in::sign_out))
            .route("", web::get().to(review::dashboard))
            .route("/", web::get().to(review::dashboard))
            .route("/files/{id}", web::get().to(review::file))
            .route("/contributors", web::get().to(contributors::list))
            .route("/contributors/{id}", web::get().to(contributors::page))
            .route("/review/{queue}", web::get().to(review::queue))
            .route("/review/work-records/bulk-approve", web::post().to(review::bulk_approve))
            .route("/review/{queue}/claim-next", web::post().to(review::claim_next))
            .route("/review/{queue}/{id}", web::get().to(review::item))
            .route("/review/{queue}/{id}/claim", web::post().to(review::claim))
            .route("/review/{queue}/{id}/decision", web::post().to(review::decide))
            .route("/finance/earnings", web::get().to(finance::earnings))
            .route("/finance/left-out", web::get().to(finance::left_out))
            .route("/finance/batches", web::get().to(finance::batches))
            .route("/finance/batches", web::post().to(finance::build))
            .route("/finance/batches/{id}", web::get().to(finance::batch))
            .route("/finance/batches/{id}/approve", web::post().to(finance::approve))
            .route("/finance/batches/{id}/cancel", web::post().to(finance::cancel))
            .route("/finance/batches/{id}/export", web::get().to(finance::export))
            .route("/finance/batches/{id}/settlement", web::post().to(finance::settle))
            .route("/finance/tax", web::get().to(finance::tax))
            .route("/finance/tax/{year}/issue", web::post().to(finance::issue))
            .route("/finance/tax/{year}/export", web::get().to(finance::tax_export))
            .route("/admin/staff", web::get().to(admin::staff))
            .route("/admin/staff", web::post().to(admin::create_staff))
            .route("/admin/staff/{id}/roles", web::post().to(admin::set_roles))
            .route("/admin/staff/{id}/deactivate", web::post().to(admin::deactivate))
            .route("/admin/staff/{id}/reactivate", web::post().to(admin::reactivate))
            .route("/admin/staff/{id}/invitation", web::post().to(admin::resend_invitation))
            .route("/admin/projects", web::get().to(admin::projects))
            .route("/admin/projects", web::post().to(admin::create_project))
            .route("/admin/tests", web::get().to(admin::tests))
            .route("/admin/tests", web::post().to(admin::create_test))
            .route("/admin/outbox", web::get().to(admin::outbox))
            .route("/admin/outbox/{id}/retry", web::post().to(admin::retry))
            .route("/admin/audit", web::get().to(admin::audit))
            .route("/admin/settings", web::get().to(admin::settings))
            .route("/admin/settings", web::post().to(admin::save_settings))
            .route("/finance/trace", web::get().to(finance::trace)),
    );
}
