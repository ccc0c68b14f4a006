//! HTTP handlers for credentials, their review queue, rules and removals.

use crate::db::page::PageQuery;
use actix_multipart::Multipart;
use actix_web::{get, post, web, HttpResponse};
use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::model::*;
use super::service::{self, QueueFilter, RuleInput};
use crate::auth::{Admin, Applicant, Reviewer, Staff};
use crate::error::{AppResult, Problem};
use crate::files::multipart::read_form;
use crate::{blocking, AppState};

/// A credential as its owner sees it (no fraud flags, no reviewer identity).
#[derive(Serialize, ToSchema)]
pub struct CredentialView {
    pub id: i64,
    pub kind: CredentialKind,
    pub level: Option<DegreeLevel>,
    pub domain: String,
    pub title: String,
    pub issuer: String,
    pub issued_on: Option<NaiveDate>,
    pub expires_on: Option<NaiveDate>,
    pub status: CredentialStatus,
    pub reason_code: Option<CredentialReason>,
    /// The reviewer's note, when decided.
    pub note: Option<String>,
    #[serde(with = "crate::clock::utc")]
    pub submitted_at: NaiveDateTime,
    #[serde(with = "crate::clock::utc_opt")]
    pub decided_at: Option<NaiveDateTime>,
    pub file_id: i64,
    pub replaces_id: Option<i64>,
}

impl From<Credential> for CredentialView {
    fn from(c: Credential) -> Self {
        Self {
            id: c.id,
            status: c.status(),
            kind: c.kind,
            level: c.level,
            domain: c.domain,
            title: c.title,
            issuer: c.issuer,
            issued_on: c.issued_on,
            expires_on: c.expires_on,
            reason_code: c.reason_code,
            note: c.note,
            submitted_at: c.submitted_at,
            decided_at: c.decided_at,
            file_id: c.file_id,
            replaces_id: c.replaces_id,
        }
    }
}

/// Multipart form of `POST /me/credentials`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct CredentialForm {
    kind: CredentialKind,
    /// Degrees only.
    level: Option<DegreeLevel>,
    /// Field or domain, e.g. `law`, `mathematics`.
    domain: String,
    /// e.g. "Juris Doctor".
    title: String,
    issuer: String,
    issued_on: Option<NaiveDate>,
    expires_on: Option<NaiveDate>,
    /// Id of a credential in `more_info_requested` this upload replaces.
    replaces: Option<i64>,
    /// PDF, PNG or JPEG, at most 10 MiB.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// Upload a credential for review. The file type is detected from its content.
#[utoipa::path(
    tag = "credentials",
    request_body(content = CredentialForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, body = CredentialView),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 413, body = Problem),
        (status = 422, body = Problem)
    ),
    security(("bearer" = []))
)]
#[post("/me/credentials")]
pub async fn upload(state: web::Data<AppState>, me: Applicant, payload: Multipart) -> AppResult<HttpResponse> {
    let form = read_form(payload, state.config.operations.max_upload_bytes).await?;
    let st = state.clone();
    let c = blocking(move || service::upload(&st, &me.ctx, me.id, form)).await?;
    Ok(HttpResponse::Created().json(CredentialView::from(c)))
}

/// My credentials with their status and decision reasons.
#[utoipa::path(
    tag = "credentials",
    params(PageQuery),
    responses((status = 200, body = MyCredentialPage), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = []))
)]
#[get("/me/credentials")]
pub async fn mine(state: web::Data<AppState>, me: Applicant, query: web::Query<PageQuery>) -> AppResult<HttpResponse> {
    let (id, PageQuery { cursor: before, limit }) = (me.id, query.into_inner());
    let rows = state.db.read(move |c| service::list_mine(c, id, before, limit)).await?;
    Ok(HttpResponse::Ok().json(MyCredentialPage::of(rows, limit, |c| c.id, CredentialView::from)))
}

crate::db::page::page_of!(
    /// My credentials, newest first.
    MyCredentialPage,
    CredentialView
);

#[derive(Serialize, ToSchema)]
pub struct CredentialQueueItem {
    #[serde(flatten)]
    pub credential: CredentialView,
    pub user_id: i64,
    pub applicant_name: String,
    /// Seconds since submission: the SLA clock.
    pub age_seconds: i64,
    /// Fraud signal: the same file was uploaded by another applicant.
    pub flagged: bool,
    pub flag_reason: Option<String>,
    pub claimed_by: Option<i64>,
    #[serde(with = "crate::clock::utc_opt")]
    pub claim_expires_at: Option<NaiveDateTime>,
}

/// Credentials awaiting review, oldest first, with filters (reviewers).
#[utoipa::path(
    tag = "review",
    params(QueueFilter),
    responses((status = 200, body = CredentialQueuePage), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = []))
)]
#[get("/review/credentials")]
pub async fn queue(
    state: web::Data<AppState>,
    _reviewer: Staff<Reviewer>,
    filter: web::Query<QueueFilter>,
) -> AppResult<HttpResponse> {
    let st = state.clone();
    let filter = filter.into_inner();
    let limit = filter.limit;
    let items = blocking(move || {
        let now = st.clock.now();
        let rows = st.db.read_sync(|c| service::queue(c, now, &filter))?;
        Ok(rows
            .into_iter()
            .map(|(c, applicant_name)| {
                let live = c.claim_expires_at.is_some_and(|t| t > now);
                CredentialQueueItem {
                    user_id: c.user_id,
                    applicant_name,
                    age_seconds: (now - c.submitted_at).num_seconds(),
                    flagged: c.flagged,
                    flag_reason: c.flag_reason.clone(),
                    claimed_by: c.claimed_by.filter(|_| live),
                    claim_expires_at: c.claim_expires_at.filter(|_| live),
                    credential: c.into(),
                }
            })
            .collect::<Vec<_>>())
    })
    .await?;
    let next_cursor = crate::db::next_cursor(&items, limit, |i| i.credential.id);
    Ok(HttpResponse::Ok().json(CredentialQueuePage { items, has_more: next_cursor.is_some(), next_cursor }))
}

crate::db::page::page_of!(CredentialQueuePage, CredentialQueueItem);

#[derive(Serialize, ToSchema)]
pub struct CredentialClaim {
    pub id: i64,
    pub claimed_by: Option<i64>,
    #[serde(with = "crate::clock::utc_opt")]
    pub claim_expires_at: Option<NaiveDateTime>,
}

/// Claim a credential for review; the claim expires after a while.
#[utoipa::path(
    operation_id = "claim_credential",
    tag = "review",
    params(("id" = i64, Path, description = "Credential id")),
    responses(
        (status = 200, body = CredentialClaim),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)
    ),
    security(("bearer" = []))
)]
#[post("/review/credentials/{id}/claim")]
pub async fn claim(
    state: web::Data<AppState>,
    reviewer: Staff<Reviewer>,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let (st, id) = (state.clone(), id.into_inner());
    let c = blocking(move || service::claim(&st, &reviewer.ctx, reviewer.id, id)).await?;
    Ok(HttpResponse::Ok().json(CredentialClaim {
        id: c.id,
        claimed_by: c.claimed_by,
        claim_expires_at: c.claim_expires_at,
    }))
}

#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CredentialDecisionRequest {
    pub outcome: CredentialOutcome,
    /// verify: `credential_verified`; reject: `not_verifiable`, `issuer_not_recognized`,
    /// `information_mismatch`, `expired`, `suspected_fraud`, `other`; request_more_info:
    /// `document_unreadable`, `document_incomplete`, `missing_pages`, `other`.
    #[schema(value_type = CredentialReasonCode)]
    pub reason_code: String,
    /// Shown and emailed to the applicant; required unless verifying; at most 2000 characters.
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub note: String,
}

/// Every reason code of a credential decision; which ones an outcome takes is listed on
/// `reason_code` (a pairing the service checks, 422 `reason_code`).
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)] // the document's enum; the service reads the code as text
pub enum CredentialReasonCode {
    CredentialVerified,
    NotVerifiable,
    IssuerNotRecognized,
    InformationMismatch,
    Expired,
    SuspectedFraud,
    DocumentUnreadable,
    DocumentIncomplete,
    MissingPages,
    Other,
}

/// Decide a claimed credential (reviewers). Verifying applies the credential rules.
#[utoipa::path(
    operation_id = "decide_credential",
    tag = "review",
    params(("id" = i64, Path, description = "Credential id")),
    request_body = CredentialDecisionRequest,
    responses(
        (status = 200, body = CredentialView),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)
    ),
    security(("bearer" = []))
)]
#[post("/review/credentials/{id}/decision")]
pub async fn decide(
    state: web::Data<AppState>,
    reviewer: Staff<Reviewer>,
    id: web::Path<i64>,
    body: web::Json<CredentialDecisionRequest>,
) -> AppResult<HttpResponse> {
    body.validate()?;
    let (st, id) = (state.clone(), id.into_inner());
    let c = blocking(move || {
        service::decide(&st, &reviewer.ctx, reviewer.id, id, body.outcome, &body.reason_code, &body.note)
    })
    .await?;
    Ok(HttpResponse::Ok().json(CredentialView::from(c)))
}

#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CredentialRuleRequest {
    pub kind: CredentialKind,
    /// Degrees only; omit to match any level.
    pub level: Option<DegreeLevel>,
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub domain: String,
    /// The qualification granted: domain and tier (`generalist` or `expert`).
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub grants_domain: String,
    #[schema(value_type = crate::qualifications::model::Tier)]
    pub grants_tier: String,
}

/// Define a rule: a verified credential of this kind, level and domain grants a
/// qualification, opening the project types that require it (admins).
#[utoipa::path(
    tag = "admin",
    request_body = CredentialRuleRequest,
    responses(
        (status = 201, body = CredentialRule),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)
    ),
    security(("bearer" = []))
)]
#[post("/admin/credential-rules")]
pub async fn create_rule(
    state: web::Data<AppState>,
    admin: Staff<Admin>,
    body: web::Json<CredentialRuleRequest>,
) -> AppResult<HttpResponse> {
    body.validate()?;
    let b = body.into_inner();
    let st = state.clone();
    let rule = blocking(move || {
        let input = RuleInput {
            kind: b.kind,
            level: b.level,
            domain: b.domain,
            grants_domain: b.grants_domain,
            grants_tier: b.grants_tier,
        };
        service::create_rule(&st, &admin.ctx, admin.id, input)
    })
    .await?;
    Ok(HttpResponse::Created().json(rule))
}

/// The credential rules (admins).
#[utoipa::path(
    tag = "admin",
    params(PageQuery),
    responses((status = 200, body = CredentialRulePage), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = []))
)]
#[get("/admin/credential-rules")]
pub async fn list_rules(
    state: web::Data<AppState>,
    _admin: Staff<Admin>,
    query: web::Query<PageQuery>,
) -> AppResult<HttpResponse> {
    let PageQuery { cursor: after, limit } = query.into_inner();
    let rows = state.db.read(move |c| service::list_rules(c, after, limit)).await?;
    Ok(HttpResponse::Ok().json(CredentialRulePage::of(rows, limit, |r| r.id, |r| r)))
}

crate::db::page::page_of!(
    /// Credential rules, oldest first.
    CredentialRulePage,
    CredentialRule
);

#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RemovalRequest {
    #[serde(deserialize_with = "crate::wire::whole")]
    pub user_id: i64,
    /// The credential confirmed to be false.
    #[serde(default, deserialize_with = "crate::wire::whole_opt")]
    pub credential_id: Option<i64>,
    /// What was found; shown to the contributor when the removal is confirmed.
    #[validate(length(min = 1, max = 2000))]
    #[schema(min_length = 1, max_length = 2000)]
    pub note: String,
}

/// Propose removing a contributor for a confirmed false credential: the first of two
/// sign-offs (reviewers).
#[utoipa::path(
    tag = "review",
    request_body = RemovalRequest,
    responses(
        (status = 201, body = RemovalProposal),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)
    ),
    security(("bearer" = []))
)]
#[post("/review/removals")]
pub async fn propose_removal(
    state: web::Data<AppState>,
    staff: Staff<Reviewer>,
    body: web::Json<RemovalRequest>,
) -> AppResult<HttpResponse> {
    body.validate()?;
    let st = state.clone();
    let p = blocking(move || {
        service::propose_removal(&st, &staff.ctx, staff.id, body.user_id, body.credential_id, &body.note)
    })
    .await?;
    Ok(HttpResponse::Created().json(p))
}

/// Removal proposals, newest first (reviewers).
#[utoipa::path(
    tag = "review",
    params(PageQuery),
    responses((status = 200, body = RemovalPage), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = []))
)]
#[get("/review/removals")]
pub async fn list_removals(
    state: web::Data<AppState>,
    _staff: Staff<Reviewer>,
    query: web::Query<PageQuery>,
) -> AppResult<HttpResponse> {
    let PageQuery { cursor: before, limit } = query.into_inner();
    let rows = state.db.read(move |c| service::list_removals(c, before, limit)).await?;
    Ok(HttpResponse::Ok().json(RemovalPage::of(rows, limit, |p| p.id, |p| p)))
}

crate::db::page::page_of!(
    /// Removal proposals, newest first.
    RemovalPage,
    RemovalProposal
);

/// Confirm a proposed removal: the second sign-off, by a different reviewer.
#[utoipa::path(
    tag = "review",
    params(("id" = i64, Path, description = "Removal proposal id")),
    responses(
        (status = 200, body = RemovalProposal),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)
    ),
    security(("bearer" = []))
)]
#[post("/review/removals/{id}/confirm")]
pub async fn confirm_removal(
    state: web::Data<AppState>,
    staff: Staff<Reviewer>,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let (st, id) = (state.clone(), id.into_inner());
    let p = blocking(move || service::confirm_removal(&st, &staff.ctx, staff.id, id)).await?;
    Ok(HttpResponse::Ok().json(p))
}

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(upload)
        .service(mine)
        .service(queue)
        .service(claim)
        .service(decide)
        .service(create_rule)
        .service(list_rules)
        .service(propose_removal)
        .service(list_removals)
        .service(confirm_removal);
}
