use actix_web::{get, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::model::Decision;
use super::service;
use crate::auth::Applicant;
use crate::error::{AppResult, Problem};
use crate::AppState;

#[derive(Deserialize, IntoParams)]
pub struct PageQuery {
    /// The `next_cursor` of the previous page (opaque).
    #[serde(default, deserialize_with = "crate::db::page::cursor")]
    #[param(value_type = Option<String>, pattern = r"^c[0-9]{1,18}$")]
    pub cursor: Option<i64>,
    /// Page size, 50 by default, at most 200.
    #[serde(default, deserialize_with = "crate::db::page::limit")]
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct DecisionPage {
    pub items: Vec<Decision>,
    /// Whether another page follows.
    pub has_more: bool,
    /// Send it back as `cursor` for the next page; null on the last one.
    #[serde(serialize_with = "crate::db::page::next")]
    #[schema(value_type = Option<String>)]
    pub next_cursor: Option<i64>,
}

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
