//! HTTP handlers for the profile, work authorization and its review queue.

use actix_multipart::Multipart;
use actix_web::{get, patch, post, put, web, HttpResponse};
use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::documents::DocumentType;
use super::model::*;
use super::service::{self, AddressInput, AttestOutcome, Attestation, Expiry, ProfilePatch, ReviewDecision};
use crate::auth::extract::BearerClaims;
use crate::auth::routes::UserView;
use crate::auth::{Applicant, AuthUser, Reviewer, Staff};
use crate::db::DbConn;
use crate::error::{AppResult, Problem};
use crate::files::multipart::read_form;
use crate::{blocking, AppState};

#[derive(Serialize, ToSchema)]
pub struct AddressView {
    pub line1: Option<String>,
    pub line2: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ProfileView {
    pub legal_name: Option<String>,
    /// Masked: only whether a date of birth is on file (`****-**-**`), never the date.
    pub date_of_birth: Option<String>,
    pub address: AddressView,
    pub phone: Option<String>,
    /// Fields still missing for a complete profile.
    pub missing: Vec<&'static str>,
}

impl From<Profile> for ProfileView {
    fn from(p: Profile) -> Self {
        let missing = p.missing();
        Self {
            legal_name: p.legal_name,
            date_of_birth: p.date_of_birth_enc.map(|_| "****-**-**".to_string()),
            address: AddressView {
                line1: p.address_line1,
                line2: p.address_line2,
                city: p.city,
                region: p.region,
                postal_code: p.postal_code,
                country: p.country,
            },
            phone: p.phone,
            missing,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct MeView {
    #[serde(flatten)]
    pub account: UserView,
    /// Reason of the current status (rejected, suspended, removed).
    pub status_reason: Option<String>,
    /// Applicants only.
    pub profile: Option<ProfileView>,
}

/// Account, roles and profile in one trip to the blocking pool.
async fn me_view(state: &web::Data<AppState>, user_id: i64) -> AppResult<MeView> {
    let account = state.db.read(move |c| service::account_of(c, user_id)).await?;
    Ok(me_view_of(account))
}

fn me_view_of((user, roles, profile): (crate::auth::model::User, Vec<crate::auth::Role>, Option<Profile>)) -> MeView {
    let user_id = user.id;
    let applicant = user.status() != crate::auth::model::UserStatus::Staff;
    let status_reason = user.status_reason.clone();
    let account = UserView::new(user, roles);
    let profile = if applicant || profile.is_some() {
        Some(
            profile
                .map(ProfileView::from)
                .unwrap_or_else(|| ProfileView::from(Profile::empty(user_id, chrono::NaiveDateTime::default()))),
        )
    } else {
        None
    };
    MeView { account, status_reason, profile }
}

/// The signed-in user's account and profile (sensitive fields masked).
#[utoipa::path(
    tag = "me",
    responses((status = 200, body = MeView), (status = 401, body = Problem)),
    security(("bearer" = []))
)]
#[get("/me")]
pub async fn get_me(state: web::Data<AppState>, claims: BearerClaims) -> AppResult<HttpResponse> {
    // The hot read of the API: the session check is part of the account query, a
    // point read run on this worker when a connection is idle (`Db::read_now`).
    let account = state.db.read_now(move |c| service::account_of_session(c, claims)).await?;
    Ok(HttpResponse::Ok().json(me_view_of(account)))
}

#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressInputDto {
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200, pattern = "formula_safe")]
    pub line1: String,
    #[validate(length(max = 200))]
    #[schema(max_length = 200, pattern = "formula_safe")]
    pub line2: Option<String>,
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100, pattern = "formula_safe")]
    pub city: String,
    /// State code for US addresses, e.g. `NY`.
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100, pattern = "formula_safe")]
    pub region: String,
    #[validate(length(min = 1, max = 20))]
    #[schema(min_length = 1, max_length = 20, pattern = "formula_safe")]
    pub postal_code: String,
    /// ISO 3166 two-letter code; `US` by default.
    #[validate(length(equal = 2))]
    #[schema(min_length = 2, max_length = 2, pattern = "^[A-Z]{2}$")]
    pub country: Option<String>,
}

#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMe {
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200, pattern = "formula_safe")]
    pub full_name: Option<String>,
    /// Legal name as on your identity documents.
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200, pattern = "formula_safe")]
    pub legal_name: Option<String>,
    /// ISO date; stored encrypted, never shown back.
    pub date_of_birth: Option<NaiveDate>,
    #[validate(nested)]
    pub address: Option<AddressInputDto>,
    #[validate(length(min = 7, max = 32))]
    /// 10 to 15 digits; spaces, `+`, `-`, `(`, `)` and `.` may separate them.
    #[schema(min_length = 10, max_length = 32, pattern = r"^[ +\-().]*(?:[0-9][ +\-().]*){10,15}$")]
    pub phone: Option<String>,
}

/// Update my account and profile (legal name, date of birth, US residence address, phone).
#[utoipa::path(
    tag = "me",
    request_body = UpdateMe,
    responses(
        (status = 200, body = MeView),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 422, body = Problem)
    ),
    security(("bearer" = []))
)]
#[patch("/me")]
pub async fn update_me(
    state: web::Data<AppState>,
    user: AuthUser,
    body: web::Json<UpdateMe>,
) -> AppResult<HttpResponse> {
    body.validate()?;
    let b = body.into_inner();
    let patch = ProfilePatch {
        full_name: b.full_name,
        legal_name: b.legal_name,
        date_of_birth: b.date_of_birth,
        address: b.address.map(|a| AddressInput {
            line1: a.line1,
            line2: a.line2,
            city: a.city,
            region: a.region.trim().to_uppercase(),
            postal_code: a.postal_code,
            country: a.country.unwrap_or_else(|| "US".into()).to_uppercase(),
        }),
        phone: b.phone,
    };
    let (st, id) = (state.clone(), user.id);
    blocking(move || service::update_profile(&st, &user.ctx, id, patch)).await?;
    Ok(HttpResponse::Ok().json(me_view(&state, id).await?))
}

/// The "exp. date, if any" of Form I-9 Section 1: an ISO date, or `N/A` for an
/// authorization that does not expire (refugees, asylees, some FSM/RMI citizens).
#[derive(Debug, Clone, Copy, ToSchema)]
#[schema(value_type = String, example = "2027-05-31")]
pub struct ExpirationInput(pub Expiry);

impl<'de> Deserialize<'de> for ExpirationInput {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        let raw = raw.trim();
        if raw.eq_ignore_ascii_case("N/A") || raw.eq_ignore_ascii_case("NA") {
            return Ok(Self(Expiry::NotApplicable));
        }
        raw.parse::<NaiveDate>()
            .map(|date| Self(Expiry::On(date)))
            .map_err(|_| serde::de::Error::custom("expiration_date is a date like 2027-05-31, or N/A"))
    }
}

#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseAccountRequest {
    /// The current password, to confirm.
    #[validate(length(min = 1, max = 256))]
    #[schema(min_length = 1, max_length = 256)]
    pub password: String,
}

/// Close my account: no new work from now on; what I earned is paid out in full with
/// the next batches, whatever the amount; I keep read-only access to my records.
#[utoipa::path(
    tag = "me",
    request_body = CloseAccountRequest,
    responses(
        (status = 200, body = MeView),
        (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem, description = "not an applicant, or account_read_only"),
        (status = 409, body = Problem, description = "final_payout_blocked (with `requirements`) or invalid_transition"),
        (status = 422, body = Problem, description = "wrong password")
    ),
    security(("bearer" = []))
)]
#[post("/me/close")]
pub async fn close_account(
    state: web::Data<AppState>,
    me: Applicant,
    body: web::Json<CloseAccountRequest>,
) -> AppResult<HttpResponse> {
    body.validate()?;
    let (st, id) = (state.clone(), me.id);
    blocking(move || service::close_account(&st, &me.ctx, id, &body.password)).await?;
    Ok(HttpResponse::Ok().json(me_view(&state, id).await?))
}

#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttestationRequest {
    /// One of the four Form I-9 categories, or `none`.
    pub category: AuthorizationCategory,
    /// Required for `noncitizen_authorized`: the date the authorization expires, or `N/A`
    /// when it has none (refugees, asylees). A date is refused for the other categories.
    #[serde(default)]
    #[schema(
        value_type = Option<String>,
        pattern = r"^(?:[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|[0-9]{4}-(?:0[13-9]|1[0-2])-(?:29|30)|[0-9]{4}-(?:0[13578]|1[02])-31|N/A)$",
        example = "2027-05-31"
    )]
    pub expiration_date: Option<ExpirationInput>,
    /// ISO 3166 two-letter code of the country you live in.
    #[validate(length(equal = 2))]
    #[schema(min_length = 2, max_length = 2, pattern = "^[A-Za-z]{2}$")]
    pub residence_country: String,
}

#[derive(Serialize, ToSchema)]
pub struct DocumentView {
    pub id: i64,
    pub list: crate::onboarding::documents::DocList,
    pub document_type: crate::onboarding::documents::DocumentType,
    /// Masked: last four characters only; null once deleted by the retention job.
    pub number: Option<String>,
    pub expires_on: Option<NaiveDate>,
    /// Open with `GET /files/{file_id}` (404 once deleted).
    pub file_id: i64,
    /// When the I-9 retention job deleted the file and the number (the fact stays).
    #[serde(with = "crate::clock::utc_opt")]
    pub purged_at: Option<NaiveDateTime>,
}

#[derive(Serialize, ToSchema)]
pub struct WorkAuthorizationView {
    pub id: i64,
    pub category: AuthorizationCategory,
    pub expires_on: Option<NaiveDate>,
    /// When reverification is due (the attested date or a document's expiry); null: never.
    pub reverify_on: Option<NaiveDate>,
    pub reverification: bool,
    pub status: AuthorizationStatus,
    #[serde(with = "crate::clock::utc")]
    pub attested_at: NaiveDateTime,
    #[serde(with = "crate::clock::utc_opt")]
    pub submitted_at: Option<NaiveDateTime>,
    #[serde(with = "crate::clock::utc_opt")]
    pub decided_at: Option<NaiveDateTime>,
    pub documents: Vec<DocumentView>,
}

fn document_views(state: &AppState, docs: Vec<AuthorizationDocument>) -> Vec<DocumentView> {
    docs.into_iter()
        .map(|d| DocumentView {
            id: d.id,
            list: d.list,
            document_type: d.document_type,
            number: d.number_enc.and_then(|n| state.cipher.decrypt_str(&n).ok()).map(|n| service::last4(&n)),
            expires_on: d.expires_on,
            file_id: d.file_id,
            purged_at: d.purged_at,
        })
        .collect()
}

fn wa_view(conn: &mut DbConn, state: &AppState, wa: WorkAuthorization) -> AppResult<WorkAuthorizationView> {
    let docs = service::documents_of(conn, wa.id)?;
    Ok(WorkAuthorizationView {
        id: wa.id,
        status: wa.status(),
        category: wa.category,
        expires_on: wa.expires_on,
        reverify_on: wa.reverify_on,
        reverification: wa.reverification,
        attested_at: wa.attested_at,
        submitted_at: wa.submitted_at,
        decided_at: wa.decided_at,
        documents: document_views(state, docs),
    })
}

/// What an attestation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AttestationResult {
    Recorded,
    /// The answer rules the application out.
    Rejected,
}

#[derive(Serialize, ToSchema)]
pub struct AttestationResponse {
    pub outcome: AttestationResult,
    pub reason_code: Option<service::AttestationRejection>,
    pub work_authorization: Option<WorkAuthorizationView>,
}

/// Attest my US work authorization (Form I-9 category). No authorization, or residence
/// outside the US, rejects the application at once with a reason and an email.
#[utoipa::path(
    tag = "work-authorization",
    request_body = AttestationRequest,
    responses(
        (status = 200, body = AttestationResponse),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)
    ),
    security(("bearer" = []))
)]
#[put("/me/work-authorization")]
pub async fn attest(
    state: web::Data<AppState>,
    me: Applicant,
    body: web::Json<AttestationRequest>,
) -> AppResult<HttpResponse> {
    body.validate()?;
    let b = body.into_inner();
    let st = state.clone();
    let response = blocking(move || {
        let a = Attestation {
            category: b.category,
            expiration: b.expiration_date.map(|e| e.0),
            residence_country: b.residence_country.to_uppercase(),
        };
        match service::attest(&st, &me.ctx, me.id, a)? {
            AttestOutcome::Rejected { reason_code } => Ok(AttestationResponse {
                outcome: AttestationResult::Rejected,
                reason_code: Some(reason_code),
                work_authorization: None,
            }),
            AttestOutcome::Recorded(wa) => {
                let view = st.db.read_sync(|c| wa_view(c, &st, wa))?;
                Ok(AttestationResponse {
                    outcome: AttestationResult::Recorded,
                    reason_code: None,
                    work_authorization: Some(view),
                })
            }
        }
    })
    .await?;
    Ok(HttpResponse::Ok().json(response))
}

/// My current work authorization and its documents (numbers masked).
#[utoipa::path(
    tag = "work-authorization",
    responses(
        (status = 200, body = WorkAuthorizationView),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)
    ),
    security(("bearer" = []))
)]
#[get("/me/work-authorization")]
pub async fn my_authorization(state: web::Data<AppState>, me: Applicant) -> AppResult<HttpResponse> {
    let st = state.clone();
    let view = blocking(move || {
        st.db.read_sync(|c| {
            let wa = service::current_authorization(c, me.id)?.ok_or(crate::error::AppError::NotFound)?;
            wa_view(c, &st, wa)
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Multipart form of `POST /me/work-authorization/documents`. Present one List A
/// document, or one List B and one List C document, of your choice.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct DocumentsForm {
    /// A List A document type, e.g. `us_passport` (`onboarding::documents::LIST_A`);
    /// a type of another list is refused with a field error naming this field.
    #[schema(value_type = Option<DocumentType>)]
    list_a_type: Option<String>,
    list_a_number: Option<String>,
    list_a_expires_on: Option<NaiveDate>,
    /// PDF, PNG or JPEG, at most 10 MiB.
    #[schema(value_type = Option<String>, format = Binary)]
    list_a_file: Option<Vec<u8>>,
    /// A List B document type, e.g. `drivers_license`.
    #[schema(value_type = Option<DocumentType>)]
    list_b_type: Option<String>,
    list_b_number: Option<String>,
    list_b_expires_on: Option<NaiveDate>,
    #[schema(value_type = Option<String>, format = Binary)]
    list_b_file: Option<Vec<u8>>,
    /// A List C document type, e.g. `social_security_card`.
    #[schema(value_type = Option<DocumentType>)]
    list_c_type: Option<String>,
    list_c_number: Option<String>,
    list_c_expires_on: Option<NaiveDate>,
    #[schema(value_type = Option<String>, format = Binary)]
    list_c_file: Option<Vec<u8>>,
}

/// Upload the Form I-9 documents I chose. The file type is detected from the content.
#[utoipa::path(
    tag = "work-authorization",
    request_body(content = DocumentsForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, body = WorkAuthorizationView),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 409, body = Problem), (status = 413, body = Problem), (status = 422, body = Problem)
    ),
    security(("bearer" = []))
)]
#[post("/me/work-authorization/documents")]
pub async fn upload_documents(
    state: web::Data<AppState>,
    me: Applicant,
    payload: Multipart,
) -> AppResult<HttpResponse> {
    let form = read_form(payload, state.config.operations.max_upload_bytes).await?;
    let st = state.clone();
    let view = blocking(move || {
        let id = service::submit_documents(&st, &me.ctx, me.id, form)?;
        st.db.read_sync(|c| {
            let wa = service::find_authorization(c, id)?;
            wa_view(c, &st, wa)
        })
    })
    .await?;
    Ok(HttpResponse::Created().json(view))
}

#[derive(Deserialize, IntoParams)]
pub struct QueueQuery {
    /// Page size, 50 by default, at most 200.
    #[serde(default, deserialize_with = "crate::db::page::limit")]
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page (opaque).
    #[serde(default, deserialize_with = "crate::db::page::cursor")]
    #[param(value_type = Option<String>, pattern = r"^c[0-9]{1,18}$")]
    pub cursor: Option<i64>,
}

crate::db::page::page_of!(QueuePage, QueueItem);

#[derive(Serialize, ToSchema)]
pub struct QueueItem {
    pub id: i64,
    pub user_id: i64,
    pub applicant_name: String,
    pub category: AuthorizationCategory,
    pub expires_on: Option<NaiveDate>,
    pub reverify_on: Option<NaiveDate>,
    pub reverification: bool,
    #[serde(with = "crate::clock::utc_opt")]
    pub submitted_at: Option<NaiveDateTime>,
    /// Seconds since submission: the SLA clock.
    pub age_seconds: i64,
    pub claimed_by: Option<i64>,
    #[serde(with = "crate::clock::utc_opt")]
    pub claim_expires_at: Option<NaiveDateTime>,
    pub documents: Vec<DocumentView>,
}

/// Work authorizations awaiting review, oldest first (reviewers).
#[utoipa::path(
    operation_id = "work_authorization_queue",
    tag = "review",
    params(QueueQuery),
    responses((status = 200, body = QueuePage), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = []))
)]
#[get("/review/work-authorizations")]
pub async fn review_queue(
    state: web::Data<AppState>,
    _reviewer: Staff<Reviewer>,
    q: web::Query<QueueQuery>,
) -> AppResult<HttpResponse> {
    let st = state.clone();
    let (limit, cursor) = (q.limit, q.cursor);
    let items = blocking(move || {
        let now = st.clock.now();
        let rows = st.db.read_sync(|c| service::queue(c, limit, cursor))?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let wa = r.authorization;
                QueueItem {
                    id: wa.id,
                    user_id: wa.user_id,
                    applicant_name: r.applicant_name,
                    category: wa.category,
                    expires_on: wa.expires_on,
                    reverify_on: wa.reverify_on,
                    reverification: wa.reverification,
                    age_seconds: wa.submitted_at.map(|s| (now - s).num_seconds()).unwrap_or(0),
                    submitted_at: wa.submitted_at,
                    claimed_by: wa.claimed_by.filter(|_| wa.claim_expires_at.is_some_and(|t| t > now)),
                    claim_expires_at: wa.claim_expires_at.filter(|t| *t > now),
                    documents: document_views(&st, r.documents),
                }
            })
            .collect::<Vec<_>>())
    })
    .await?;
    let next_cursor = crate::db::next_cursor(&items, limit, |i| i.id);
    Ok(HttpResponse::Ok().json(QueuePage { items, has_more: next_cursor.is_some(), next_cursor }))
}

#[derive(Serialize, ToSchema)]
pub struct ClaimView {
    pub id: i64,
    pub claimed_by: Option<i64>,
    #[serde(with = "crate::clock::utc_opt")]
    pub claim_expires_at: Option<NaiveDateTime>,
}

/// Claim an item so no other reviewer decides it; the claim expires after a while.
#[utoipa::path(
    operation_id = "claim_work_authorization",
    tag = "review",
    params(("id" = i64, Path, description = "Work authorization id")),
    responses(
        (status = 200, body = ClaimView),
        (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)
    ),
    security(("bearer" = []))
)]
#[post("/review/work-authorizations/{id}/claim")]
pub async fn claim(
    state: web::Data<AppState>,
    reviewer: Staff<Reviewer>,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let (st, id) = (state.clone(), id.into_inner());
    let wa = blocking(move || service::claim(&st, &reviewer.ctx, reviewer.id, id)).await?;
    Ok(HttpResponse::Ok().json(ClaimView {
        id: wa.id,
        claimed_by: wa.claimed_by,
        claim_expires_at: wa.claim_expires_at,
    }))
}

#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthorizationDecisionRequest {
    pub outcome: ReviewOutcome,
    /// verify: `documents_verified`; reject: `document_not_acceptable`, `document_expired`,
    /// `information_mismatch`, `document_unreadable`, `suspected_fraud`, `other`;
    /// request_more_info: `document_unreadable`, `document_incomplete`, `information_mismatch`, `other`.
    /// Another code, or one that does not fit the outcome, is a 422 naming this field.
    #[schema(value_type = AuthorizationReason)]
    pub reason_code: String,
    /// Shown and emailed to the applicant; required unless verifying; at most 2000 characters.
    #[serde(default)]
    pub note: String,
}

/// Decide a claimed item: verify, reject or request more information (reviewers).
#[utoipa::path(
    operation_id = "decide_work_authorization",
    tag = "review",
    params(("id" = i64, Path, description = "Work authorization id")),
    request_body = AuthorizationDecisionRequest,
    responses(
        (status = 200, body = WorkAuthorizationView),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)
    ),
    security(("bearer" = []))
)]
#[post("/review/work-authorizations/{id}/decision")]
pub async fn decide(
    state: web::Data<AppState>,
    reviewer: Staff<Reviewer>,
    id: web::Path<i64>,
    body: web::Json<AuthorizationDecisionRequest>,
) -> AppResult<HttpResponse> {
    body.validate()?;
    let b = body.into_inner();
    let (st, id) = (state.clone(), id.into_inner());
    let view = blocking(move || {
        let d = ReviewDecision { outcome: b.outcome, reason_code: b.reason_code, note: b.note };
        let wa = service::decide(&st, &reviewer.ctx, reviewer.id, id, d)?;
        st.db.read_sync(|c| wa_view(c, &st, wa))
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(get_me)
        .service(close_account)
        .service(update_me)
        .service(attest)
        .service(my_authorization)
        .service(upload_documents)
        .service(review_queue)
        .service(claim)
        .service(decide);
}
