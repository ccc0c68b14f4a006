use crate::db::page::PageQuery;
use actix_web::{get, web, HttpResponse};

use super::model::Decision;
use super::service;
use crate::auth::Applicant;
use crate::error::{AppResult, Problem};
use crate::AppState;

crate::db::page::page_of!(DecisionPage, Decision);

/// Every decision taken about me, newest first, each with its reason.
#[utoipa::path(
    tag = "me",
    params(PageQuery),
    responses((status = 200, body = DecisionPage), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = []))
)]
#[get("/me/decisions")]
pub async fn my_decisions(
    state: web::Data<AppState>,
    me: Applicant,
    page: web::Query<PageQuery>,
) -> AppResult<HttpResponse> {
    let (id, before, limit) = (me.id, page.cursor, page.limit);
    let items = state.db.read(move |c| service::list_for(c, id, before, limit)).await?;
    let next_cursor = crate::db::next_cursor(&items, limit, |d| d.id);
    Ok(HttpResponse::Ok().json(DecisionPage { items, has_more: next_cursor.is_some(), next_cursor }))
}

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(my_decisions);
}
