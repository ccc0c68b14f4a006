use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::Value;

use super::model::{AuditAction, AuditRow, AuditSubject, NewAuditRow};
use crate::auth::RequestCtx;
use crate::db::schema::audit_log;
use crate::db::DbConn;
use crate::error::AppResult;

/// One audit record: who did what to which subject, with a before/after summary.
/// Written inside the transaction of the change it describes.
pub struct AuditEvent {
    pub actor_id: Option<i64>,
    pub action: AuditAction,
    pub subject_type: AuditSubject,
    pub subject_id: Option<String>,
    /// Before/after summary. Never put sensitive values (TINs, bank numbers, dates of
    /// birth, tokens) here: the log is readable by admins.
    pub summary: Value,
}

pub fn record(conn: &mut DbConn, now: NaiveDateTime, ctx: &RequestCtx, event: AuditEvent) -> AppResult<()> {
    diesel::insert_into(audit_log::table)
        .values(NewAuditRow {
            at: now,
            actor_id: event.actor_id,
            action: event.action,
            subject_type: event.subject_type,
            subject_id: event.subject_id,
            summary: event.summary.to_string(),
            request_id: ctx.request_id.as_deref(),
            ip: ctx.ip.as_deref(),
        })
        .execute(conn)?;
    Ok(())
}

#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
pub struct AuditFilter {
    pub actor_id: Option<i64>,
    pub action: Option<AuditAction>,
    pub subject_type: Option<AuditSubject>,
    pub subject_id: Option<String>,
    /// First day included (UTC, `YYYY-MM-DD`).
    #[param(value_type = Option<String>, format = Date)]
    pub from: Option<chrono::NaiveDate>,
    /// Last day included (UTC, `YYYY-MM-DD`).
    #[param(value_type = Option<String>, format = Date)]
    pub to: Option<chrono::NaiveDate>,
    /// The `next_cursor` of the previous page (opaque).
    #[serde(default, deserialize_with = "crate::db::page::cursor")]
    #[param(value_type = Option<String>, pattern = r"^c[0-9]{1,18}$")]
    pub cursor: Option<i64>,
    /// Page size, 50 by default, at most 200.
    #[serde(default, deserialize_with = "crate::db::page::limit")]
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

/// Newest first, keyset-paginated on the id.
pub fn list(conn: &mut DbConn, filter: &AuditFilter) -> AppResult<Vec<AuditRow>> {
    let mut query = audit_log::table.select(AuditRow::as_select()).into_boxed();
    if let Some(actor) = filter.actor_id {
        query = query.filter(audit_log::actor_id.eq(actor));
    }
    if let Some(action) = &filter.action {
        query = query.filter(audit_log::action.eq(*action));
    }
    if let Some(t) = &filter.subject_type {
        query = query.filter(audit_log::subject_type.eq(*t));
    }
    if let Some(s) = &filter.subject_id {
        query = query.filter(audit_log::subject_id.eq(s.clone()));
    }
    if let Some(from) = filter.from.and_then(|d| d.and_hms_opt(0, 0, 0)) {
        query = query.filter(audit_log::at.ge(from));
    }
    if let Some(to) = filter.to.and_then(|d| d.succ_opt()).and_then(|d| d.and_hms_opt(0, 0, 0)) {
        query = query.filter(audit_log::at.lt(to));
    }
    if let Some(before) = filter.cursor {
        query = query.filter(audit_log::id.lt(before));
    }
    Ok(query.order(audit_log::id.desc()).limit(crate::db::page_limit(filter.limit)).load(conn)?)
}
