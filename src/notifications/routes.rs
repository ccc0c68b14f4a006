use actix_web::{get, post, web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::model::OutboxRow;
use super::service::{self, OutboxFilter};
use crate::auth::{Admin, Staff};
use crate::error::{AppResult, Problem};
use crate::AppState;

/// An outbox row as admins see it. Bodies and the template's parameters are left out:
/// they carry single-use links and personal details.
#[derive(Serialize, ToSchema)]
pub struct OutboxItem {
    pub id: i64,
    pub event_key: String,
    pub recipient: String,
    pub template: super::templates::EmailTemplate,
    /// The subject as sent (emails are rendered when sent); empty when the stored
    /// parameters cannot be rendered, `last_error` then says why once the worker tried.
    pub subject: String,
    pub status: super::model::OutboxStatus,
    pub attempts: i32,
    #[serde(with = "crate::clock::utc")]
    pub next_attempt_at: chrono::NaiveDateTime,
    pub last_error: Option<String>,
    #[serde(with = "crate::clock::utc")]
    pub created_at: chrono::NaiveDateTime,
    #[serde(with = "crate::clock::utc_opt")]
    pub sent_at: Option<chrono::NaiveDateTime>,
}

impl From<OutboxRow> for OutboxItem {
    fn from(r: OutboxRow) -> Self {
        let subject = r.subject().unwrap_or_default();
        Self {
            id: r.id,
            event_key: r.event_key,
            recipient: r.recipient,
            template: r.template,
            subject,
            status: r.status,
            attempts: r.attempts,
            next_attempt_at: r.next_attempt_at,
            last_error: r.last_error,
            created_at: r.created_at,
            sent_at: r.sent_at,
        }
    }
}

crate::db::page::page_of!(OutboxPage, OutboxItem);

/// List queued, sent and dead-lettered emails (admins).
#[utoipa::path(
    tag = "admin",
    params(OutboxFilter),
    responses((status = 200, body = OutboxPage), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = []))
)]
#[get("/admin/outbox")]
pub async fn list_outbox(
    _admin: Staff<Admin>,
    state: web::Data<AppState>,
    filter: web::Query<OutboxFilter>,
) -> AppResult<HttpResponse> {
    let filter = filter.into_inner();
    let limit = filter.limit;
    let rows = state.db.read(move |c| service::list(c, &filter)).await?;
    let next_cursor = crate::db::next_cursor(&rows, limit, |r| r.id);
    Ok(HttpResponse::Ok().json(OutboxPage {
        items: rows.into_iter().map(Into::into).collect(),
        has_more: next_cursor.is_some(),
        next_cursor,
    }))
}

/// Put a dead-lettered email back in the queue (admins).
#[utoipa::path(
    tag = "admin",
    params(("id" = i64, Path, description = "Outbox id")),
    responses(
        (status = 200, body = OutboxItem),
        (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)
    ),
    security(("bearer" = []))
)]
#[post("/admin/outbox/{id}/retry")]
pub async fn retry_outbox(
    admin: Staff<Admin>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let row = crate::blocking(move || service::retry_dead(&state, &admin.ctx, admin.id, id)).await?;
    Ok(HttpResponse::Ok().json(OutboxItem::from(row)))
}

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_outbox).service(retry_outbox);
}
