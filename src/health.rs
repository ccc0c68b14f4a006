use actix_web::{get, web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;

#[derive(Serialize, ToSchema)]
pub struct Health {
    pub status: &'static str,
}

/// The process is up.
#[utoipa::path(tag = "health", responses((status = 200, body = Health)))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

/// The database is reachable and every migration is applied.
#[utoipa::path(tag = "health", responses((status = 200, body = Health), (status = 503, body = Health)))]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let db = state.db.clone();
    match actix_web::web::block(move || db.is_ready()).await {
        Ok(Ok(true)) => HttpResponse::Ok().json(Health { status: "ready" }),
        Ok(Ok(false)) => HttpResponse::ServiceUnavailable().json(Health { status: "migrations_pending" }),
        _ => HttpResponse::ServiceUnavailable().json(Health { status: "database_unreachable" }),
    }
}
