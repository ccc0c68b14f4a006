//! HTTP handlers for work records, the quality review queue and appeals.

use crate::db::page::PageQuery;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use chrono::NaiveDateTime;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::model::*;
use super::service::{self, AppealVerdict, IngestItem, ItemResult, ItemStatus, QualityView, ReviewDecision, Verdict};
use crate::auth::{Applicant, Finance, Reviewer, Staff};
use crate::error::{AppError, AppResult, Problem, ProblemCode};
use crate::ledger::money::UnitKind;
use crate::ledger::service::Balances;
use crate::{blocking, AppState};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct MyRecordsQuery {
    #[param(value_type = Option<crate::work::model::WorkStatus>)]
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

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IngestRequest {
    #[schema(min_items = 1, max_items = 20000)]
    pub records: Vec<IngestItem>,
}

#[derive(Serialize, ToSchema)]
pub struct IngestResponse {
    pub created: usize,
    pub duplicates: usize,
    pub refused: usize,
    /// One result per record, in request order.
    pub items: Vec<ItemResult>,
}

/// Most records accepted in one request.
const MAX_RECORDS: usize = 20_000;

/// Reads the body up to the ingest limit (larger than the service-wide JSON limit, so
/// this route reads its own payload), then parses it with the same problem errors.
async fn read_json<T: serde::de::DeserializeOwned>(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> AppResult<T> {
    let json = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json {
        return Err(AppError::invalid(ProblemCode::UnsupportedMediaType, "expected Content-Type: application/json"));
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk
            .map_err(|e| AppError::invalid(ProblemCode::MalformedJson, format!("the body could not be read: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(AppError::PayloadTooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&body).map_err(|e| crate::error::json_body_error(&e))
}

/// Bulk ingest of completed work (finance). Idempotent on `task_ref`; invalid items are
/// refused one by one while the valid ones are stored.
#[utoipa::path(
    tag = "work",
    request_body = IngestRequest,
    responses(
        (status = 200, body = IngestResponse),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 409, body = Problem, description = "a concurrent ingest stored the same task_ref; replay"),
        (status = 413, body = Problem), (status = 422, body = Problem)
    ),
    security(("bearer" = []))
)]
#[post("/work-records")]
pub async fn ingest(
    state: web::Data<AppState>,
    finance: Staff<Finance>,
    req: HttpRequest,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    let body: IngestRequest = read_json(&req, payload, state.config.work.ingest_max_bytes).await?;
    if body.records.is_empty() || body.records.len() > MAX_RECORDS {
        return Err(AppError::field("records", "length", format!("send 1 to {MAX_RECORDS} records")));
    }
    let items = blocking(move || service::ingest(&state, &finance.ctx, finance.id, body.records)).await?;
    let count = |s: ItemStatus| items.iter().filter(|i| i.status == s).count();
    Ok(HttpResponse::Ok().json(IngestResponse {
        created: count(ItemStatus::Created),
        duplicates: count(ItemStatus::Duplicate),
        refused: count(ItemStatus::Refused),
        items,
    }))
}

/// A work record as reviewers see it.
#[derive(Serialize, ToSchema)]
pub struct WorkRecordView {
    pub id: i64,
    pub contributor_id: i64,
    pub project_type_id: i64,
    pub task_ref: String,
    pub unit_kind: UnitKind,
    pub quantity: String,
    /// The rate applied, locked on the record.
    pub rate: String,
    pub pay_cents: i64,
    pub status: WorkStatus,
    #[serde(with = "crate::clock::utc")]
    pub completed_at: NaiveDateTime,
    #[serde(with = "crate::clock::utc")]
    pub submitted_at: NaiveDateTime,
    #[serde(with = "crate::clock::utc")]
    pub review_due_by: NaiveDateTime,
    /// Seconds since the record arrived.
    pub age_seconds: i64,
    pub claimed_by: Option<i64>,
    #[serde(with = "crate::clock::utc_opt")]
    pub claim_expires_at: Option<NaiveDateTime>,
    pub decided_by: Option<i64>,
    #[serde(with = "crate::clock::utc_opt")]
    pub decided_at: Option<NaiveDateTime>,
    pub decision_source: Option<DecisionSource>,
    pub reason_code: Option<String>,
    pub note: Option<String>,
    pub snapshot_ref: Option<String>,
    /// Agreement with the other annotators' consensus, in percent, as the task platform
    /// reported it.
    pub consensus_agreement_percent: Option<i32>,
    /// Score on a gold (known-answer) item, in percent, as the task platform reported it.
    pub gold_score_percent: Option<i32>,
}

impl WorkRecordView {
    fn new(r: WorkRecordRow, now: NaiveDateTime) -> Self {
        Self {
            id: r.id,
            status: r.status(),
            unit_kind: r.unit_kind,
            contributor_id: r.contributor_id,
            project_type_id: r.project_type_id,
            task_ref: r.task_ref,
            quantity: r.quantity,
            rate: r.rate,
            pay_cents: r.pay_cents,
            completed_at: r.completed_at,
            submitted_at: r.ingested_at,
            review_due_by: r.review_due_at,
            age_seconds: (now - r.ingested_at).num_seconds(),
            claimed_by: r.claimed_by,
            claim_expires_at: r.claim_expires_at,
            decided_by: r.decided_by,
            decided_at: r.decided_at,
            decision_source: r.decision_source,
            reason_code: r.reason_code,
            note: r.note,
            snapshot_ref: r.snapshot_ref,
            consensus_agreement_percent: r.consensus_agreement_percent,
            gold_score_percent: r.gold_score_percent,
        }
    }
}

crate::db::page::page_of!(WorkQueuePage, WorkRecordView);

/// Work records awaiting quality review, oldest first, with their age.
#[utoipa::path(
    operation_id = "work_record_queue",
    tag = "review",
    params(PageQuery),
    responses((status = 200, body = WorkQueuePage), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = []))
)]
#[get("/review/work-records")]
pub async fn review_queue(
    state: web::Data<AppState>,
    _reviewer: Staff<Reviewer>,
    query: web::Query<PageQuery>,
) -> AppResult<HttpResponse> {
    let PageQuery { cursor: after, limit } = query.into_inner();
    let st = state.clone();
    let rows = blocking(move || service::review_queue(&st, after, limit)).await?;
    let next_cursor = crate::db::next_cursor(&rows, limit, |r| r.id);
    let now = state.clock.now();
    Ok(HttpResponse::Ok().json(WorkQueuePage {
        items: rows.into_iter().map(|r| WorkRecordView::new(r, now)).collect(),
        has_more: next_cursor.is_some(),
        next_cursor,
    }))
}

/// Claim a work record for review.
#[utoipa::path(
    operation_id = "claim_work_record",
    tag = "review",
    params(("id" = i64, Path, description = "work record id")),
    responses(
        (status = 200, body = WorkRecordView),
        (status = 401, body = Problem), (status = 403, body = Problem, description = "own work"),
        (status = 404, body = Problem), (status = 409, body = Problem, description = "claimed_by_other or already_decided")
    ),
    security(("bearer" = []))
)]
#[post("/review/work-records/{id}/claim")]
pub async fn claim(
    state: web::Data<AppState>,
    reviewer: Staff<Reviewer>,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let id = path.into_inner();
    let st = state.clone();
    let row = blocking(move || service::claim(&st, &reviewer.ctx, reviewer.id, id)).await?;
    Ok(HttpResponse::Ok().json(WorkRecordView::new(row, state.clock.now())))
}

#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewRequest {
    pub decision: Verdict,
    /// Lower-case letters, digits and underscores, such as `guidelines_not_followed`.
    #[schema(pattern = r"^[a-z0-9_]{1,100}$")]
    pub reason_code: String,
    /// Required for a rejection (the contributor reads it and may appeal); at most 2000
    /// characters.
    #[serde(default)]
    pub note: String,
    /// Reference of the task snapshot the reviewer looked at (at most 500 characters).
    pub snapshot_ref: Option<String>,
}

/// Approve or reject a claimed work record, with reason code and note.
#[utoipa::path(
    operation_id = "decide_work_record",
    tag = "review",
    params(("id" = i64, Path, description = "work record id")),
    request_body = ReviewRequest,
    responses(
        (status = 200, body = WorkRecordView),
        (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem, description = "own work"), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "claim_required or already_decided"), (status = 422, body = Problem)
    ),
    security(("bearer" = []))
)]
#[post("/review/work-records/{id}/decision")]
pub async fn decide(
    state: web::Data<AppState>,
    reviewer: Staff<Reviewer>,
    path: web::Path<i64>,
    body: web::Json<ReviewRequest>,
) -> AppResult<HttpResponse> {
    body.validate()?;
    let id = path.into_inner();
    let b = body.into_inner();
    let d =
        ReviewDecision { verdict: b.decision, reason_code: b.reason_code, note: b.note, snapshot_ref: b.snapshot_ref };
    let st = state.clone();
    let row = blocking(move || service::decide(&st, &reviewer.ctx, reviewer.id, id, d)).await?;
    Ok(HttpResponse::Ok().json(WorkRecordView::new(row, state.clock.now())))
}

#[derive(Serialize, ToSchema)]
pub struct AppealView {
    pub id: i64,
    pub work_record_id: i64,
    pub message: String,
    pub status: AppealStatus,
    #[serde(with = "crate::clock::utc")]
    pub created_at: NaiveDateTime,
    pub claimed_by: Option<i64>,
    #[serde(with = "crate::clock::utc_opt")]
    pub decided_at: Option<NaiveDateTime>,
    pub reason_code: Option<String>,
    /// The second reviewer's note.
    pub note: Option<String>,
}

impl AppealView {
    fn new(a: AppealRow) -> Self {
        Self {
            id: a.id,
            work_record_id: a.work_record_id,
            status: a.status,
            message: a.message,
            created_at: a.created_at,
            claimed_by: a.claimed_by,
            decided_at: a.decided_at,
            reason_code: a.reason_code,
            note: a.note,
        }
    }
}

#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppealRequest {
    #[validate(length(min = 1, max = 4000, message = "explain the appeal (1 to 4000 characters)"))]
    #[schema(min_length = 1, max_length = 4000)]
    pub message: String,
}

/// Appeal a rejection (once, within the appeal window); a different reviewer decides.
#[utoipa::path(
    tag = "me",
    params(("id" = i64, Path, description = "work record id")),
    request_body = AppealRequest,
    responses(
        (status = 201, body = AppealView),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem),
        (status = 409, body = Problem, description = "not_rejected, already_appealed or appeal_window_closed"),
        (status = 422, body = Problem)
    ),
    security(("bearer" = []))
)]
#[post("/me/work-records/{id}/appeal")]
pub async fn appeal(
    state: web::Data<AppState>,
    user: Applicant,
    path: web::Path<i64>,
    body: web::Json<AppealRequest>,
) -> AppResult<HttpResponse> {
    body.validate()?;
    let id = path.into_inner();
    let row = blocking(move || service::create_appeal(&state, &user.ctx, user.id, id, body.message.trim())).await?;
    Ok(HttpResponse::Created().json(AppealView::new(row)))
}

#[derive(Serialize, ToSchema)]
pub struct AppealQueueItem {
    pub appeal: AppealView,
    pub work_record: WorkRecordView,
}

crate::db::page::page_of!(AppealQueuePage, AppealQueueItem);

/// Appeals awaiting a decision, oldest first.
#[utoipa::path(
    tag = "review",
    params(PageQuery),
    responses((status = 200, body = AppealQueuePage), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = []))
)]
#[get("/review/appeals")]
pub async fn appeal_queue(
    state: web::Data<AppState>,
    _reviewer: Staff<Reviewer>,
    query: web::Query<PageQuery>,
) -> AppResult<HttpResponse> {
    let PageQuery { cursor: after, limit } = query.into_inner();
    let st = state.clone();
    let rows = blocking(move || service::appeal_queue(&st, after, limit)).await?;
    let next_cursor = crate::db::next_cursor(&rows, limit, |(a, _)| a.id);
    let now = state.clock.now();
    let items = rows
        .into_iter()
        .map(|(a, r)| AppealQueueItem { appeal: AppealView::new(a), work_record: WorkRecordView::new(r, now) })
        .collect();
    Ok(HttpResponse::Ok().json(AppealQueuePage { items, has_more: next_cursor.is_some(), next_cursor }))
}

/// Claim an appeal. The reviewer who rejected the work cannot.
#[utoipa::path(
    tag = "review",
    params(("id" = i64, Path, description = "appeal id")),
    responses(
        (status = 200, body = AppealQueueItem),
        (status = 401, body = Problem), (status = 403, body = Problem, description = "the rejecting reviewer or own work"),
        (status = 404, body = Problem), (status = 409, body = Problem, description = "claimed_by_other or already_decided")
    ),
    security(("bearer" = []))
)]
#[post("/review/appeals/{id}/claim")]
pub async fn claim_appeal(
    state: web::Data<AppState>,
    reviewer: Staff<Reviewer>,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let id = path.into_inner();
    let st = state.clone();
    let (a, r) = blocking(move || service::claim_appeal(&st, &reviewer.ctx, reviewer.id, id)).await?;
    Ok(HttpResponse::Ok()
        .json(AppealQueueItem { appeal: AppealView::new(a), work_record: WorkRecordView::new(r, state.clock.now()) }))
}

#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppealDecisionRequest {
    pub decision: AppealVerdict,
    /// Lower-case letters, digits and underscores, such as `rubric_followed`.
    #[schema(pattern = r"^[a-z0-9_]{1,100}$")]
    pub reason_code: String,
    /// Explains the outcome to the contributor: 1 to 2000 characters.
    #[schema(min_length = 1, max_length = 2000, pattern = r"\S")]
    pub note: String,
}

/// Uphold or overturn a claimed appeal. Overturning approves and books the work.
#[utoipa::path(
    tag = "review",
    params(("id" = i64, Path, description = "appeal id")),
    request_body = AppealDecisionRequest,
    responses(
        (status = 200, body = AppealQueueItem),
        (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem, description = "the rejecting reviewer or own work"), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "claim_required or already_decided"), (status = 422, body = Problem)
    ),
    security(("bearer" = []))
)]
#[post("/review/appeals/{id}/decision")]
pub async fn decide_appeal(
    state: web::Data<AppState>,
    reviewer: Staff<Reviewer>,
    path: web::Path<i64>,
    body: web::Json<AppealDecisionRequest>,
) -> AppResult<HttpResponse> {
    body.validate()?;
    let id = path.into_inner();
    let st = state.clone();
    let (a, r) = blocking(move || {
        service::decide_appeal(&st, &reviewer.ctx, reviewer.id, id, body.decision, &body.reason_code, &body.note)
    })
    .await?;
    Ok(HttpResponse::Ok()
        .json(AppealQueueItem { appeal: AppealView::new(a), work_record: WorkRecordView::new(r, state.clock.now()) }))
}

/// A record as its contributor sees it: status, both reviewers' notes.
#[derive(Serialize, ToSchema)]
pub struct MyWorkRecord {
    #[serde(flatten)]
    pub record: WorkRecordView,
    #[serde(with = "crate::clock::utc_opt")]
    pub appeal_deadline: Option<NaiveDateTime>,
    pub appeal: Option<AppealView>,
}

crate::db::page::page_of!(MyWorkRecordsPage, MyWorkRecord);

/// The signed-in contributor's work records with status, reasons and appeals.
#[utoipa::path(
    tag = "me",
    params(MyRecordsQuery),
    responses((status = 200, body = MyWorkRecordsPage), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = []))
)]
#[get("/me/work-records")]
pub async fn my_work_records(
    state: web::Data<AppState>,
    user: Applicant,
    query: web::Query<MyRecordsQuery>,
) -> AppResult<HttpResponse> {
    let MyRecordsQuery { status, cursor: before, limit } = query.into_inner();
    let status = match status.as_deref() {
        None => None,
        Some("pending") => Some(WorkStatus::Pending),
        Some("approved") => Some(WorkStatus::Approved),
        Some("rejected") => Some(WorkStatus::Rejected),
        Some(_) => return Err(AppError::invalid(ProblemCode::InvalidQuery, "status is pending, approved or rejected")),
    };
    let st = state.clone();
    let rows = blocking(move || service::my_work_records(&st, user.id, status, before, limit)).await?;
    let next_cursor = crate::db::next_cursor(&rows, limit, |(r, _)| r.id);
    let now = state.clock.now();
    let items = rows
        .into_iter()
        .map(|(r, a)| MyWorkRecord {
            appeal_deadline: r.appeal_deadline,
            record: WorkRecordView::new(r, now),
            appeal: a.map(AppealView::new),
        })
        .collect();
    Ok(HttpResponse::Ok().json(MyWorkRecordsPage { items, has_more: next_cursor.is_some(), next_cursor }))
}

/// One task's way to payment (SPEC §7), to the bank line that paid it. Payout items
/// cover the oldest credits first (docs/ledger.md, "Which tasks a payout paid"): a task
/// can be paid in part by one item and in part by the next (`partially_paid`).
#[derive(Serialize, ToSchema)]
pub struct TimelineEntry {
    pub work_record_id: i64,
    pub task_ref: String,
    pub pay_cents: i64,
    pub status: WorkStatus,
    #[serde(with = "crate::clock::utc")]
    pub submitted_at: NaiveDateTime,
    #[serde(with = "crate::clock::utc")]
    pub review_due_by: NaiveDateTime,
    #[serde(with = "crate::clock::utc_opt")]
    pub approved_at: Option<NaiveDateTime>,
    /// When the hold ends (or ended): the money is payable from then.
    #[serde(with = "crate::clock::utc_opt")]
    pub available_on: Option<NaiveDateTime>,
    /// When the payout item paying it was built (its batch).
    #[serde(with = "crate::clock::utc_opt")]
    pub in_batch_at: Option<NaiveDateTime>,
    /// When the batch was first exported (the money sent).
    #[serde(with = "crate::clock::utc_opt")]
    pub sent_at: Option<NaiveDateTime>,
    /// The rail's reference of the payment.
    pub rail_reference: Option<String>,
    /// When the settlement was recorded.
    #[serde(with = "crate::clock::utc_opt")]
    pub settled_at: Option<NaiveDateTime>,
    /// The date the rail paid (payer's time zone).
    pub paid_on: Option<chrono::NaiveDate>,
    pub payout_item_id: Option<i64>,
    pub batch_id: Option<i64>,
    pub payment_status: crate::payouts::trace::PaymentStatus,
    pub paid_cents: i64,
    /// Payout items that carried this task and failed, were returned or cancelled: the
    /// task was re-opened and is paid by the next batch.
    pub reopened_by: Vec<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct EarningsView {
    pub currency: crate::ledger::Currency,
    /// `pending` is the pay of records awaiting review; the others are ledger balances.
    pub balances: Balances,
    pub quality: QualityView,
    /// Payout stages at the balance level.
    pub payouts: crate::payouts::service::PayoutStages,
    pub timeline: Vec<TimelineEntry>,
    /// Whether another page follows.
    pub has_more: bool,
    /// Send it back as `cursor` for the next page; null on the last one.
    #[serde(serialize_with = "crate::db::page::next")]
    #[schema(value_type = Option<String>)]
    pub next_cursor: Option<i64>,
}

/// The signed-in contributor's balances, quality standing and per-task timeline.
#[utoipa::path(
    tag = "me",
    params(PageQuery),
    responses((status = 200, body = EarningsView), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = []))
)]
#[get("/me/earnings")]
pub async fn my_earnings(
    state: web::Data<AppState>,
    user: Applicant,
    query: web::Query<PageQuery>,
) -> AppResult<HttpResponse> {
    let PageQuery { cursor: before, limit } = query.into_inner();
    let (st, uid) = (state.clone(), user.id);
    let e = blocking(move || service::earnings(&st, uid, before, limit)).await?;
    let payouts = state.db.read(move |conn| crate::payouts::service::payout_stages(conn, uid)).await?;
    let next_cursor = crate::db::next_cursor(&e.timeline, limit, |r| r.id);
    let mut payments = e.payments;
    let timeline = e
        .timeline
        .into_iter()
        .map(|r| (payments.remove(&r.id).unwrap_or_default(), r))
        .map(|(p, r)| TimelineEntry {
            work_record_id: r.id,
            status: r.status(),
            task_ref: r.task_ref,
            pay_cents: r.pay_cents,
            submitted_at: r.ingested_at,
            review_due_by: r.review_due_at,
            approved_at: r.approved_at,
            available_on: r.hold_until,
            in_batch_at: p.in_batch_at,
            sent_at: p.sent_at,
            rail_reference: p.rail_reference,
            settled_at: p.settled_at,
            paid_on: p.paid_on,
            payout_item_id: p.payout_item_id,
            batch_id: p.batch_id,
            payment_status: p.payment_status,
            paid_cents: p.paid_cents,
            reopened_by: p.reopened_by,
        })
        .collect();
    Ok(HttpResponse::Ok().json(EarningsView {
        currency: crate::ledger::Currency::Usd,
        balances: e.balances,
        quality: e.quality,
        payouts,
        timeline,
        has_more: next_cursor.is_some(),
        next_cursor,
    }))
}

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(ingest)
        .service(review_queue)
        .service(claim)
        .service(decide)
        .service(appeal)
        .service(appeal_queue)
        .service(claim_appeal)
        .service(decide_appeal)
        .service(my_work_records)
        .service(my_earnings);
}
