use actix_web::{get, web, HttpResponse};

use super::{collect, Readiness};
use crate::auth::service::find_user;
use crate::auth::{AnyStaff, Applicant, Staff};
use crate::error::{AppResult, Problem};
use crate::AppState;

async fn readiness_of(state: &web::Data<AppState>, user_id: i64) -> AppResult<Readiness> {
    let st = state.clone();
    state
        .db
        .read(move |conn| {
            let user = find_user(conn, user_id)?;
            let minimum = crate::settings::current(conn, &st)?.payout_minimum_cents();
            collect(conn, st.clock.now(), &user, minimum)
        })
        .await
}

/// What stops me from working or from being paid, and how to fix it.
#[utoipa::path(
    tag = "me",
    responses((status = 200, body = Readiness), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = []))
)]
#[get("/me/readiness")]
pub async fn my_readiness(state: web::Data<AppState>, me: Applicant) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(readiness_of(&state, me.id).await?))
}

/// The same view for any contributor (staff).
#[utoipa::path(
    tag = "contributors",
    params(("id" = i64, Path, description = "Contributor (user) id")),
    responses(
        (status = 200, body = Readiness),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)
    ),
    security(("bearer" = []))
)]
#[get("/contributors/{id}/readiness")]
pub async fn contributor_readiness(
    state: web::Data<AppState>,
    _staff: Staff<AnyStaff>,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(readiness_of(&state, id.into_inner()).await?))
}

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(my_readiness).service(contributor_readiness);
}
