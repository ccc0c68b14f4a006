use actix_web::{get, web, HttpResponse};
use serde_json::json;

use super::service;
use crate::audit::{self, AuditEvent};
use crate::auth::AuthUser;
use crate::error::{AppError, AppResult, Problem};
use crate::AppState;

/// Download a file: its owner, an admin, or a reviewer holding the claim on the item it
/// belongs to. Staff downloads are audited.
#[utoipa::path(
    tag = "files",
    params(("id" = i64, Path, description = "File id")),
    responses(
        (status = 200, description = "The file, with its detected content type", content_type = "application/octet-stream"),
        (status = 401, body = Problem), (status = 404, body = Problem)
    ),
    security(("bearer" = []))
)]
#[get("/files/{id}")]
pub async fn download(state: web::Data<AppState>, user: AuthUser, id: web::Path<i64>) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let st = state.clone();
    let (file, bytes) = crate::blocking(move || {
        let file = st.db.tx_sync(|conn| {
            let now = st.clock.now();
            let file = service::find(conn, id)?;
            service::authorize_read(conn, now, &user, &file)?;
            if file.owner_id != user.id {
                audit::record(
                    conn,
                    now,
                    &user.ctx,
                    AuditEvent {
                        actor_id: Some(user.id),
                        action: "file.downloaded",
                        subject_type: "file",
                        subject_id: Some(file.id.to_string()),
                        summary: json!({"owner_id": file.owner_id, "purpose": file.purpose}),
                    },
                )?;
            }
            Ok(file)
        })?;
        let bytes = st.files.get(&file.storage_key).map_err(|e| AppError::Internal(e.into()))?;
        Ok((file, bytes))
    })
    .await?;
    Ok(HttpResponse::Ok()
        .content_type(file.content_type.as_str())
        .insert_header(("Content-Disposition", format!("inline; filename=\"file-{}\"", file.id)))
        .insert_header(("Cache-Control", "private, no-store"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(bytes))
}

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(download);
}
