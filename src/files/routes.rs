use actix_web::{get, web, HttpResponse};

use super::service;
use crate::auth::AuthUser;
use crate::error::{AppResult, Problem};
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
    let (file, bytes) = crate::blocking(move || service::open(&st, &user, id)).await?;
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
