//! HTTP handlers for standing: the person's view, staff's view of anyone, appeals, the
//! reviewers' queue of proposed and appealed moves, and the reviewer-accuracy view.

use actix_web::{get, post, web, HttpResponse};
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::model::{tier, MoveRow, MoveStatus};
use super::rules::{Direction, StandingTier};
use super::service::{self, DomainStanding, MoveVerdict, ReviewerAccuracy, Thresholds};
use crate::auth::{Admin, AnyStaff, Applicant, Reviewer, Staff};
use crate::db::page::PageQuery;
use crate::error::{AppError, AppResult, Problem};
use crate::work::service::QualityView;
use crate::{blocking, AppState};

/// A move of a standing tier: a decision with the numbers behind it.
#[derive(Serialize, ToSchema)]
pub struct MoveView {
    pub id: i64,
    pub user_id: i64,
    pub domain: String,
    pub direction: Direction,
    pub from_tier: StandingTier,
    pub to_tier: StandingTier,
    /// `sustained_high_quality`, `low_gold_accuracy`, `low_consensus_agreement` or
    /// `high_rejection_share`.
    pub reason_code: String,
    /// The figures the move was decided on.
    #[schema(value_type = Object)]
    pub figures: serde_json::Value,
    pub note: String,
    pub status: MoveStatus,
    pub proposed_at: NaiveDateTime,
    pub effective_at: Option<NaiveDateTime>,
    pub reviewed_by: Option<i64>,
    pub review_note: Option<String>,
    pub appeal_deadline: Option<NaiveDateTime>,
    pub appeal_message: Option<String>,
    pub appealed_at: Option<NaiveDateTime>,
    pub claimed_by: Option<i64>,
    pub claim_expires_at: Option<NaiveDateTime>,
    pub decided_by: Option<i64>,
    pub decided_at: Option<NaiveDateTime>,
    pub decision_reason_code: Option<String>,
    pub decision_note: Option<String>,
}

impl MoveView {
    pub fn new(m: MoveRow) -> AppResult<Self> {
        Ok(Self {
            direction: Direction::parse(&m.direction)
                .ok_or_else(|| AppError::Internal(anyhow::anyhow!("unknown direction {:?}", m.direction)))?,
            from_tier: tier(&m.from_tier)?,
            to_tier: tier(&m.to_tier)?,
            status: m.status()?,
            figures: serde_json::from_str(&m.figures).map_err(|e| AppError::Internal(e.into()))?,
            id: m.id,
            user_id: m.user_id,
            domain: m.domain,
            reason_code: m.reason_code,
            note: m.note,
            proposed_at: m.proposed_at,
            effective_at: m.effective_at,
            reviewed_by: m.reviewed_by,
            review_note: m.review_note,
            appeal_deadline: m.appeal_deadline,
            appeal_message: m.appeal_message,
            appealed_at: m.appealed_at,
            claimed_by: m.claimed_by,
            claim_expires_at: m.claim_expires_at,
            decided_by: m.decided_by,
            decided_at: m.decided_at,
            decision_reason_code: m.decision_reason_code,
            decision_note: m.decision_note,
        })
    }
}

fn views(rows: Vec<MoveRow>) -> AppResult<Vec<MoveView>> {
    rows.into_iter().map(MoveView::new).collect()
}

/// A person's standing: per domain, and the account-wide rejection ladder.
#[derive(Serialize, ToSchema)]
pub struct StandingResponse {
    pub user_id: i64,
    /// One entry per domain the person worked in (or is qualified in, where standing
    /// gates project types), by name.
    pub domains: Vec<DomainStanding>,
    pub thresholds: Thresholds,
    /// The account-wide ladder (warning, retraining, suspension) on the rejection share.
    pub account: QualityView,
    /// Moves, newest first (at most 200).
    pub history: Vec<MoveView>,
}

async fn standing(state: &web::Data<AppState>, user_id: i64) -> AppResult<StandingResponse> {
    let st = state.clone();
    let (standing, account) = blocking(move || {
        let s = service::standing_of(&st, user_id)?;
        let account = crate::work::service::quality_of(&st, user_id)?;
        Ok((s, account))
    })
    .await?;
    Ok(StandingResponse {
        user_id,
        domains: standing.domains,
        thresholds: Thresholds::of(&state.config.work.standing),
        account,
        history: views(standing.history)?,
    })
}

/// My standing: the figures per domain, the thresholds, what would change them, and the
/// history of moves.
#[utoipa::path(
    tag = "me",
    responses((status = 200, body = StandingResponse), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = []))
)]
#[get("/me/standing")]
pub async fn my_standing(state: web::Data<AppState>, me: Applicant) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(standing(&state, me.id).await?))
}

/// The same view for any contributor (staff).
#[utoipa::path(
    tag = "contributors",
    params(("id" = i64, Path, description = "Contributor (user) id")),
    responses(
        (status = 200, body = StandingResponse),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)
    ),
    security(("bearer" = []))
)]
#[get("/contributors/{id}/standing")]
pub async fn contributor_standing(
    state: web::Data<AppState>,
    _staff: Staff<AnyStaff>,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(standing(&state, id.into_inner()).await?))
}

#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StandingAppealRequest {
    /// Why the decision is wrong, for the reviewer: 1 to 2000 characters.
    #[validate(length(min = 1, max = 2000))]
    pub message: String,
}

/// Appeal a standing move once, within the appeal window; a reviewer decides.
#[utoipa::path(
    operation_id = "appeal_standing_move",
    tag = "me",
    params(("id" = i64, Path, description = "standing move id")),
    request_body = StandingAppealRequest,
    responses(
        (status = 201, body = MoveView),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem),
        (status = 409, body = Problem, description = "already_appealed, not_in_effect or appeal_window_closed"),
        (status = 422, body = Problem)
    ),
    security(("bearer" = []))
)]
#[post("/me/standing/moves/{id}/appeal")]
pub async fn appeal(
    state: web::Data<AppState>,
    user: Applicant,
    path: web::Path<i64>,
    body: web::Json<StandingAppealRequest>,
) -> AppResult<HttpResponse> {
    body.validate()?;
    let id = path.into_inner();
    let row = blocking(move || service::appeal(&state, &user.ctx, user.id, id, &body.message)).await?;
    Ok(HttpResponse::Created().json(MoveView::new(row)?))
}

crate::db::page::page_of!(MovePage, MoveView);

/// Standing moves waiting for a reviewer, oldest first: proposals to confirm or dismiss
/// (when the settings ask for human confirmation) and appeals to uphold or overturn.
#[utoipa::path(
    tag = "review",
    params(PageQuery),
    responses((status = 200, body = MovePage), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = []))
)]
#[get("/review/standing-moves")]
pub async fn review_queue(
    state: web::Data<AppState>,
    _reviewer: Staff<Reviewer>,
    query: web::Query<PageQuery>,
) -> AppResult<HttpResponse> {
    let PageQuery { cursor: after, limit } = query.into_inner();
    let rows = blocking(move || service::review_queue(&state, after, limit)).await?;
    let next_cursor = crate::db::next_cursor(&rows, limit, |m| m.id);
    Ok(HttpResponse::Ok().json(MovePage { items: views(rows)?, has_more: next_cursor.is_some(), next_cursor }))
}

/// Claim a standing move to decide it.
#[utoipa::path(
    tag = "review",
    params(("id" = i64, Path, description = "standing move id")),
    responses(
        (status = 200, body = MoveView),
        (status = 401, body = Problem), (status = 403, body = Problem, description = "own standing, or the confirming reviewer of an appeal"),
        (status = 404, body = Problem), (status = 409, body = Problem, description = "claimed_by_other or already_decided")
    ),
    security(("bearer" = []))
)]
#[post("/review/standing-moves/{id}/claim")]
pub async fn claim(
    state: web::Data<AppState>,
    reviewer: Staff<Reviewer>,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let id = path.into_inner();
    let row = blocking(move || service::claim(&state, &reviewer.ctx, reviewer.id, id)).await?;
    Ok(HttpResponse::Ok().json(MoveView::new(row)?))
}

#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveDecisionRequest {
    /// `confirm` or `dismiss` a proposal; `uphold` or `overturn` an appeal.
    pub decision: MoveVerdict,
    /// Lower-case letters, digits and underscores, such as `figures_confirmed`.
    #[schema(pattern = r"^[a-z0-9_]{1,100}$")]
    pub reason_code: String,
    /// Explains the outcome to the contributor (required except to confirm).
    #[serde(default)]
    pub note: String,
}

/// Decide a claimed standing move.
#[utoipa::path(
    tag = "review",
    params(("id" = i64, Path, description = "standing move id")),
    request_body = MoveDecisionRequest,
    responses(
        (status = 200, body = MoveView),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem),
        (status = 409, body = Problem, description = "claim_required, already_decided or stale_move"),
        (status = 422, body = Problem)
    ),
    security(("bearer" = []))
)]
#[post("/review/standing-moves/{id}/decision")]
pub async fn decide(
    state: web::Data<AppState>,
    reviewer: Staff<Reviewer>,
    path: web::Path<i64>,
    body: web::Json<MoveDecisionRequest>,
) -> AppResult<HttpResponse> {
    body.validate()?;
    let id = path.into_inner();
    let row = blocking(move || {
        service::decide(&state, &reviewer.ctx, reviewer.id, id, body.decision, &body.reason_code, &body.note)
    })
    .await?;
    Ok(HttpResponse::Ok().json(MoveView::new(row)?))
}

#[derive(Serialize, ToSchema)]
pub struct ReviewerAccuracyPage {
    pub items: Vec<ReviewerAccuracy>,
    /// Whether another page follows.
    pub has_more: bool,
    /// Send it back as `cursor` for the next page; null on the last one.
    #[serde(serialize_with = "crate::db::page::next")]
    #[schema(value_type = Option<String>)]
    pub next_cursor: Option<i64>,
    /// A gold item counts as answered correctly from this score on.
    pub gold_correct_percent: i32,
}

/// Each reviewer's overturn rate on appeals and agreement with gold answers (admins).
#[utoipa::path(
    tag = "admin",
    params(PageQuery),
    responses((status = 200, body = ReviewerAccuracyPage), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = []))
)]
#[get("/admin/reviewer-accuracy")]
pub async fn reviewer_accuracy(
    state: web::Data<AppState>,
    _admin: Staff<Admin>,
    query: web::Query<PageQuery>,
) -> AppResult<HttpResponse> {
    let PageQuery { cursor: after, limit } = query.into_inner();
    let items = blocking(move || service::reviewer_accuracy(&state, after, limit)).await?;
    let next_cursor = crate::db::next_cursor(&items, limit, |r| r.reviewer_id);
    Ok(HttpResponse::Ok().json(ReviewerAccuracyPage {
        items,
        has_more: next_cursor.is_some(),
        next_cursor,
        gold_correct_percent: service::GOLD_CORRECT_PERCENT,
    }))
}

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(my_standing)
        .service(contributor_standing)
        .service(appeal)
        .service(review_queue)
        .service(claim)
        .service(decide)
        .service(reviewer_accuracy);
}
