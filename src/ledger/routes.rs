//! HTTP handlers for the ledger: a contributor's ledger for finance, manual postings
//! with maker-checker.

use crate::db::page::PageQuery;
use actix_web::{get, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::model::{AdjustmentKind, AdjustmentRow, AdjustmentStatus};
use super::money::Cents;
use super::service::{self, Balances, LedgerLine};
use crate::auth::{Finance, Staff};
use crate::error::{AppError, AppResult, Problem, ProblemCode};
use crate::idempotency::IdempotencyKey;
use crate::{blocking, AppState};

#[derive(Serialize, ToSchema)]
pub struct ContributorLedger {
    pub contributor_id: i64,
    pub currency: super::Currency,
    pub balances: Balances,
    /// Entries on the contributor's accounts, newest first, each with its transaction.
    pub entries: Vec<LedgerLine>,
    /// Whether another page follows.
    pub has_more: bool,
    /// Send it back as `cursor` for the next page; null on the last one.
    #[serde(serialize_with = "crate::db::page::next")]
    #[schema(value_type = Option<String>)]
    pub next_cursor: Option<i64>,
}

/// A contributor's ledger: balances and entries with their transactions (finance).
#[utoipa::path(
    tag = "ledger",
    params(("id" = i64, Path, description = "contributor id"), PageQuery),
    responses(
        (status = 200, body = ContributorLedger),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)
    ),
    security(("bearer" = []))
)]
#[get("/contributors/{id}/ledger")]
pub async fn contributor_ledger(
    state: web::Data<AppState>,
    _finance: Staff<Finance>,
    path: web::Path<i64>,
    query: web::Query<PageQuery>,
) -> AppResult<HttpResponse> {
    let id = path.into_inner();
    let PageQuery { cursor: before, limit } = query.into_inner();
    let (balances, entries) = blocking(move || service::contributor_ledger(&state, id, before, limit)).await?;
    let next_cursor = crate::db::next_cursor(&entries, limit, |e| e.entry_id);
    Ok(HttpResponse::Ok().json(ContributorLedger {
        contributor_id: id,
        currency: super::Currency::Usd,
        balances,
        entries,
        has_more: next_cursor.is_some(),
        next_cursor,
    }))
}

#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdjustmentRequest {
    #[serde(deserialize_with = "crate::wire::whole")]
    pub contributor_id: i64,
    pub kind: AdjustmentKind,
    /// Cents. Signed for `adjustment`; positive for `bonus` and `clawback`.
    #[validate(range(min = -100_000_000, max = 100_000_000))]
    #[schema(minimum = -100_000_000, maximum = 100_000_000)]
    #[serde(deserialize_with = "crate::wire::whole")]
    pub amount_cents: i64,
    #[validate(length(min = 1, max = 2000, message = "give the reason (1 to 2000 characters)"))]
    #[schema(min_length = 1, max_length = 2000)]
    pub reason: String,
}

/// Record an adjustment, bonus or clawback (finance). At or below the threshold it is
/// posted at once; above it waits for a second finance user's approval.
#[utoipa::path(
    tag = "ledger",
    params(("Idempotency-Key" = String, Header, description = "1 to 200 characters; a retry with the same key and body returns the first result")),
    request_body = AdjustmentRequest,
    responses(
        (status = 201, body = AdjustmentRow),
        (status = 200, body = AdjustmentRow, description = "the adjustment this key already made"),
        (status = 400, body = Problem, description = "`idempotency_key_required` or a malformed body"),
        (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem),
        (status = 422, body = Problem, description = "invalid fields, or `idempotency_key_reused` with another body")
    ),
    security(("bearer" = []))
)]
#[post("/ledger/adjustments")]
pub async fn create_adjustment(
    state: web::Data<AppState>,
    finance: Staff<Finance>,
    key: IdempotencyKey,
    body: web::Json<AdjustmentRequest>,
) -> AppResult<HttpResponse> {
    body.validate()?;
    let b = body.into_inner();
    let (row, created) = blocking(move || {
        let new = service::NewAdjustment {
            contributor_id: b.contributor_id,
            kind: b.kind,
            amount: Cents(b.amount_cents),
            reason: b.reason.trim(),
        };
        service::create_adjustment(&state, &finance.ctx, finance.id, &key.0, new)
    })
    .await?;
    Ok(if created { HttpResponse::Created().json(row) } else { HttpResponse::Ok().json(row) })
}

/// Approve and post a pending adjustment: a finance user other than its maker.
#[utoipa::path(
    tag = "ledger",
    params(("id" = i64, Path, description = "adjustment id")),
    responses(
        (status = 200, body = AdjustmentRow),
        (status = 401, body = Problem), (status = 403, body = Problem, description = "the maker cannot approve"),
        (status = 404, body = Problem), (status = 409, body = Problem, description = "already_posted")
    ),
    security(("bearer" = []))
)]
#[post("/ledger/adjustments/{id}/approve")]
pub async fn approve_adjustment(
    state: web::Data<AppState>,
    finance: Staff<Finance>,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let id = path.into_inner();
    let row = blocking(move || service::approve_adjustment(&state, &finance.ctx, finance.id, id)).await?;
    Ok(HttpResponse::Ok().json(row))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct AdjustmentQuery {
    /// `pending_approval` or `posted`; another value is a 400.
    #[param(value_type = Option<crate::ledger::model::AdjustmentStatus>)]
    pub status: Option<String>,
    /// The `next_cursor` of the previous page (opaque).
    #[serde(default, deserialize_with = "crate::db::page::cursor")]
    #[param(value_type = Option<String>, pattern = r"^c[0-9]{1,18}$")]
    pub cursor: Option<i64>,
    /// Page size, 50 by default, at most 200.
    #[serde(default, deserialize_with = "crate::db::page::limit")]
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

crate::db::page::page_of!(AdjustmentPage, AdjustmentRow);

/// Manual postings, oldest first; `status=pending_approval` is the checker's queue.
#[utoipa::path(
    tag = "ledger",
    params(AdjustmentQuery),
    responses((status = 200, body = AdjustmentPage), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = []))
)]
#[get("/ledger/adjustments")]
pub async fn list_adjustments(
    state: web::Data<AppState>,
    _finance: Staff<Finance>,
    query: web::Query<AdjustmentQuery>,
) -> AppResult<HttpResponse> {
    let AdjustmentQuery { status, cursor: after, limit } = query.into_inner();
    let status = status
        .map(|s| {
            AdjustmentStatus::parse(&s)
                .ok_or_else(|| AppError::invalid(ProblemCode::InvalidQuery, "status is pending_approval or posted"))
        })
        .transpose()?;
    let items = blocking(move || service::list_adjustments(&state, status, after, limit)).await?;
    let next_cursor = crate::db::next_cursor(&items, limit, |a| a.id);
    Ok(HttpResponse::Ok().json(AdjustmentPage { items, has_more: next_cursor.is_some(), next_cursor }))
}

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(contributor_ledger).service(create_adjustment).service(approve_adjustment).service(list_adjustments);
}
