use actix_web::{get, web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::model::{AuditAction, AuditRow, AuditSubject};
use super::service::{self, AuditFilter};
use crate::auth::{Admin, Staff};
use crate::error::{AppResult, Problem};
use crate::AppState;

#[derive(Serialize, ToSchema)]
pub struct AuditRecord {
    pub id: i64,
    #[serde(with = "crate::clock::utc")]
    pub at: chrono::NaiveDateTime,
    pub actor_id: Option<i64>,
    pub action: AuditAction,
    pub subject_type: AuditSubject,
    pub subject_id: Option<String>,
    /// Before/after summary of the change.
    #[schema(value_type = Object)]
    pub summary: serde_json::Value,
    pub request_id: Option<String>,
    pub ip: Option<String>,
}

impl From<AuditRow> for AuditRecord {
    fn from(r: AuditRow) -> Self {
        Self {
            id: r.id,
            at: r.at,
            actor_id: r.actor_id,
            action: r.action,
            subject_type: r.subject_type,
            subject_id: r.subject_id,
            summary: serde_json::from_str(&r.summary).unwrap_or(serde_json::Value::Null),
            request_id: r.request_id,
            ip: r.ip,
        }
    }
}

crate::db::page::page_of!(AuditPage, AuditRecord);

/// Search the audit log (admins).
#[utoipa::path(
    tag = "admin",
    params(AuditFilter),
    responses(
        (status = 200, body = AuditPage),
        (status = 401, body = Problem), (status = 403, body = Problem)
    ),
    security(("bearer" = []))
)]
#[get("/admin/audit")]
pub async fn list_audit(
    _admin: Staff<Admin>,
    state: web::Data<AppState>,
    filter: web::Query<AuditFilter>,
) -> AppResult<HttpResponse> {
    let filter = filter.into_inner();
    let limit = filter.limit;
    let rows = state.db.read(move |c| service::list(c, &filter)).await?;
    let next_cursor = crate::db::next_cursor(&rows, limit, |r| r.id);
    Ok(HttpResponse::Ok().json(AuditPage {
        items: rows.into_iter().map(Into::into).collect(),
        has_more: next_cursor.is_some(),
        next_cursor,
    }))
}

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_audit);
}
