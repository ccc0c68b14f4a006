//! HTTP handlers for W-9 tax profiles, B-notices and tax data.

use crate::db::page::PageQuery;
use actix_web::{get, post, put, web, HttpResponse};
use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::filing::{self, ExportFormat, IssueReport, Returns, TaxDocument, YearEndReport};
use super::model::*;
use super::service::{self, BNoticeView, NoticeKind, Threshold, W9Input, WithholdingStatus};
use super::tin::TinType;
use crate::auth::{Admin, AnyStaff, Applicant, Finance, Staff};
use crate::error::{AppError, AppResult, Problem};
use crate::{blocking, AppState};

#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaxProfileRequest {
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200, pattern = "formula_safe")]
    pub legal_name: String,
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200, pattern = "formula_safe")]
    pub business_name: Option<String>,
    pub tax_classification: TaxClassification,
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200, pattern = "formula_safe")]
    pub address_line1: String,
    #[validate(length(max = 200))]
    #[schema(max_length = 200, pattern = "formula_safe")]
    pub address_line2: Option<String>,
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100, pattern = "formula_safe")]
    pub city: String,
    /// Two-letter state code.
    #[validate(length(equal = 2))]
    #[schema(min_length = 2, max_length = 2, pattern = "formula_safe")]
    pub region: String,
    #[validate(length(min = 5, max = 10))]
    #[schema(min_length = 5, max_length = 10, pattern = "formula_safe")]
    pub postal_code: String,
    /// `ssn` (the W-9's SSN box, where an ITIN goes too: a valid ITIN given as `ssn` is
    /// recorded as `itin`), `itin` or `ein`.
    pub tin_type: TinType,
    /// Nine digits; dashes and spaces are ignored. Stored encrypted, never shown again.
    #[validate(length(min = 1, max = 20))]
    #[schema(min_length = 9, max_length = 20, pattern = r"^[ -]*(?:[0-9][ -]*){9}$")]
    pub tin: String,
    /// W-9 line 4, "Exempt payee code (if any)": 1 to 13 (a number or a string).
    /// Codes 1 to 5 (and any corporation) are not reported on Form 1099-NEC nor withheld on.
    #[serde(default, deserialize_with = "exempt_code")]
    #[schema(schema_with = exempt_code_schema, example = "5")]
    pub exempt_payee_code: Option<ExemptPayeeCode>,
    /// W-9 certification item 2 crossed out: the IRS told you that you are subject to
    /// backup withholding.
    #[serde(default)]
    pub subject_to_backup_withholding: bool,
    /// Your legal name, typed, as signature.
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200, pattern = "formula_safe")]
    pub signature_name: String,
    /// Certification under penalties of perjury.
    pub certify: bool,
}

/// What [`exempt_code`] reads, as the document states it: a whole number from 1 to 13, its
/// digits as a string (or an empty string: none), or null.
fn exempt_code_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};
    Schema::OneOf(
        OneOfBuilder::new()
            .item(ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(1)).maximum(Some(13)))
            .item(ObjectBuilder::new().schema_type(Type::String).pattern(Some("^(?:[1-9]|1[0-3])?$")))
            .item(ObjectBuilder::new().schema_type(Type::Null))
            .build(),
    )
}

/// Reads an exempt payee code given as `5`, `5.0` or `"5"`; anything but 1 to 13 is
/// refused (blank text is none).
fn exempt_code<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<ExemptPayeeCode>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        #[serde(deserialize_with = "crate::wire::whole")]
        Number(u64),
        Text(String),
    }
    let raw: Option<Raw> = Option::deserialize(d)?;
    let text = match raw {
        None => return Ok(None),
        Some(Raw::Number(n)) => n.to_string(),
        Some(Raw::Text(t)) if t.trim().is_empty() => return Ok(None),
        Some(Raw::Text(t)) => t,
    };
    ExemptPayeeCode::from_input(&text)
        .map(Some)
        .ok_or_else(|| serde::de::Error::custom("exempt_payee_code is a W-9 exempt payee code from 1 to 13"))
}

#[derive(Serialize, ToSchema)]
pub struct TaxProfileView {
    pub version: i32,
    pub legal_name: String,
    pub business_name: Option<String>,
    pub tax_classification: super::model::TaxClassification,
    pub address_line1: String,
    pub address_line2: Option<String>,
    pub city: String,
    pub region: String,
    pub postal_code: String,
    pub tin_type: super::tin::TinType,
    /// Masked: `***-**-1234` (SSN, ITIN) or `**-***1234` (EIN).
    pub tin: String,
    pub exempt_payee_code: Option<String>,
    /// Why payments are not reported on Form 1099-NEC (nor withheld on); null when they are.
    pub reporting_exemption: Option<String>,
    pub subject_to_backup_withholding: bool,
    pub signature_name: String,
    #[serde(with = "crate::clock::utc")]
    pub signed_at: NaiveDateTime,
}

impl From<TaxProfile> for TaxProfileView {
    fn from(p: TaxProfile) -> Self {
        Self {
            version: p.version,
            tin: p.masked_tin(),
            reporting_exemption: p.reporting_exemption(),
            exempt_payee_code: p.exempt_payee_code.map(ExemptPayeeCode::as_string),
            legal_name: p.legal_name,
            business_name: p.business_name,
            tax_classification: p.tax_classification,
            address_line1: p.address_line1,
            address_line2: p.address_line2,
            city: p.city,
            region: p.region,
            postal_code: p.postal_code,
            tin_type: p.tin_type,
            subject_to_backup_withholding: p.subject_to_backup_withholding,
            signature_name: p.signature_name,
            signed_at: p.signed_at,
        }
    }
}

/// Give or change my tax details (Form W-9). Each change is a new version.
#[utoipa::path(
    tag = "tax",
    request_body = TaxProfileRequest,
    responses(
        (status = 200, body = TaxProfileView),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)
    ),
    security(("bearer" = []))
)]
#[put("/me/tax-profile")]
pub async fn put_profile(
    state: web::Data<AppState>,
    me: Applicant,
    body: web::Json<TaxProfileRequest>,
) -> AppResult<HttpResponse> {
    body.validate()?;
    let b = body.into_inner();
    let st = state.clone();
    let profile = blocking(move || {
        let input = W9Input {
            legal_name: b.legal_name,
            business_name: b.business_name,
            tax_classification: b.tax_classification,
            address_line1: b.address_line1,
            address_line2: b.address_line2,
            city: b.city,
            region: b.region.to_uppercase(),
            postal_code: b.postal_code,
            tin_type: b.tin_type,
            tin: b.tin,
            exempt_payee_code: b.exempt_payee_code,
            subject_to_backup_withholding: b.subject_to_backup_withholding,
            signature_name: b.signature_name,
            certify: b.certify,
        };
        service::submit_w9(&st, &me.ctx, me.id, input)
    })
    .await?;
    Ok(HttpResponse::Ok().json(TaxProfileView::from(profile)))
}

/// My tax details as on file (TIN masked).
#[utoipa::path(
    tag = "tax",
    responses(
        (status = 200, body = TaxProfileView),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)
    ),
    security(("bearer" = []))
)]
#[get("/me/tax-profile")]
pub async fn get_profile(state: web::Data<AppState>, me: Applicant) -> AppResult<HttpResponse> {
    let id = me.id;
    let p = state.db.read(move |c| service::current_profile(c, id)).await?.ok_or(AppError::NotFound)?;
    Ok(HttpResponse::Ok().json(TaxProfileView::from(p)))
}

#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BNoticeRequest {
    pub notice: NoticeKind,
    pub received_on: NaiveDate,
    #[validate(length(min = 1, max = 2000))]
    #[schema(min_length = 1, max_length = 2000)]
    pub note: String,
}

/// Record an IRS B-notice (wrong name/TIN) for a contributor (finance). The payee's
/// copy (with a W-9 request for a first notice) is queued at once (Pub 1281: within 15
/// business days).
#[utoipa::path(
    tag = "tax",
    params(("id" = i64, Path, description = "Contributor id")),
    request_body = BNoticeRequest,
    responses(
        (status = 201, body = BNoticeView),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)
    ),
    security(("bearer" = []))
)]
#[post("/contributors/{id}/b-notice")]
pub async fn record_b_notice(
    state: web::Data<AppState>,
    finance: Staff<Finance>,
    id: web::Path<i64>,
    body: web::Json<BNoticeRequest>,
) -> AppResult<HttpResponse> {
    body.validate()?;
    let (st, id) = (state.clone(), id.into_inner());
    let n = blocking(move || {
        service::record_b_notice(&st, &finance.ctx, finance.id, id, body.notice, body.received_on, &body.note)
    })
    .await?;
    Ok(HttpResponse::Created().json(n))
}

#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClearRequest {
    /// e.g. "IRS Letter 147C validated the TIN".
    #[validate(length(min = 1, max = 2000))]
    #[schema(min_length = 1, max_length = 2000)]
    pub reason: String,
}

/// Clear a B-notice, e.g. once the IRS or SSA validated the TIN (finance).
#[utoipa::path(
    tag = "tax",
    params(("id" = i64, Path, description = "Contributor id"), ("notice_id" = i64, Path, description = "B-notice id")),
    request_body = ClearRequest,
    responses(
        (status = 200, body = BNoticeView),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)
    ),
    security(("bearer" = []))
)]
#[post("/contributors/{id}/b-notice/{notice_id}/clear")]
pub async fn clear_b_notice(
    state: web::Data<AppState>,
    finance: Staff<Finance>,
    path: web::Path<(i64, i64)>,
    body: web::Json<ClearRequest>,
) -> AppResult<HttpResponse> {
    body.validate()?;
    let (user_id, notice_id) = path.into_inner();
    let st = state.clone();
    let n = blocking(move || service::clear_b_notice(&st, &finance.ctx, finance.id, user_id, notice_id, &body.reason))
        .await?;
    Ok(HttpResponse::Ok().json(BNoticeView::from(n)))
}

#[derive(Serialize, ToSchema)]
pub struct TaxStatus {
    /// The W-9 on file, TIN masked.
    pub profile: Option<TaxProfileView>,
    pub backup_withholding: WithholdingStatus,
    pub b_notices: Vec<BNoticeView>,
}

/// A contributor's W-9 (masked), backup withholding status and B-notices (finance).
#[utoipa::path(
    tag = "tax",
    params(("id" = i64, Path, description = "Contributor id")),
    responses(
        (status = 200, body = TaxStatus),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)
    ),
    security(("bearer" = []))
)]
#[get("/contributors/{id}/tax-status")]
pub async fn tax_status(state: web::Data<AppState>, _f: Staff<Finance>, id: web::Path<i64>) -> AppResult<HttpResponse> {
    let (st, id) = (state.clone(), id.into_inner());
    let status = state
        .db
        .read(move |c| {
            crate::auth::service::find_user(c, id)?;
            Ok(TaxStatus {
                profile: service::current_profile(c, id)?.map(Into::into),
                backup_withholding: service::withholding_status(c, id, st.clock.now().date())?,
                b_notices: service::notices_of(c, id)?.into_iter().map(Into::into).collect(),
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(status))
}

/// 1099-NEC thresholds by payment year (staff).
#[utoipa::path(
    tag = "tax",
    params(PageQuery),
    responses((status = 200, body = ThresholdPage), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = []))
)]
#[get("/tax/thresholds")]
pub async fn list_thresholds(
    state: web::Data<AppState>,
    _s: Staff<AnyStaff>,
    query: web::Query<PageQuery>,
) -> AppResult<HttpResponse> {
    let PageQuery { cursor: after, limit } = query.into_inner();
    let rows = state.db.read(move |c| service::threshold_page(c, after, limit)).await?;
    Ok(HttpResponse::Ok().json(ThresholdPage::of(rows, limit, |t| t.payment_year, |t| t)))
}

crate::db::page::page_of!(
    /// 1099-NEC thresholds by payment year, oldest first (the cursor is a year).
    ThresholdPage,
    Threshold
);

#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ThresholdRequest {
    #[schema(minimum = 1)]
    #[serde(deserialize_with = "crate::wire::whole")]
    pub threshold_cents: i64,
    /// Where the figure comes from, e.g. "Rev. Proc. 2026-xx".
    #[validate(length(min = 1, max = 500))]
    #[schema(min_length = 1, max_length = 500)]
    pub source: String,
}

/// Set the 1099-NEC threshold of a payment year, e.g. the inflation-indexed figure for
/// years after 2026 (admins).
#[utoipa::path(
    tag = "admin",
    params(("year" = i64, Path, description = "Payment year", minimum = 2000, maximum = 2100)),
    request_body = ThresholdRequest,
    responses(
        (status = 200, body = Threshold),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)
    ),
    security(("bearer" = []))
)]
#[put("/admin/tax-thresholds/{year}")]
pub async fn set_threshold(
    state: web::Data<AppState>,
    admin: Staff<Admin>,
    year: web::Path<i64>,
    body: web::Json<ThresholdRequest>,
) -> AppResult<HttpResponse> {
    body.validate()?;
    let (st, year) = (state.clone(), tax_year(year.into_inner())?);
    let t =
        blocking(move || service::set_threshold(&st, &admin.ctx, admin.id, year, body.threshold_cents, &body.source))
            .await?;
    Ok(HttpResponse::Ok().json(t))
}

/// Year-end 1099-NEC report: per payee the reportable total, excluded total and why,
/// federal tax withheld, state, and whether a form is due (finance).
#[utoipa::path(
    tag = "tax",
    params(("year" = i64, Path, description = "Calendar year of payment", minimum = 2000, maximum = 2100)),
    responses(
        (status = 200, body = YearEndReport),
        (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 409, body = Problem, description = "threshold_missing"), (status = 422, body = Problem)
    ),
    security(("bearer" = []))
)]
#[get("/tax/1099-nec/{year}")]
pub async fn year_end_report(
    state: web::Data<AppState>,
    _f: Staff<Finance>,
    year: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let year = tax_year(year.into_inner())?;
    let st = state.clone();
    Ok(HttpResponse::Ok().json(
        state
            .db
            .read(move |c| {
                let tz = crate::settings::current(c, &st)?.payer_time_zone();
                filing::report(c, year, tz)
            })
            .await?,
    ))
}

/// Issue the year's forms: new forms, corrected versions where amounts or W-9 changed,
/// each emailed; idempotent (finance). The January job does the same for last year.
#[utoipa::path(
    tag = "tax",
    params(("year" = i64, Path, description = "Calendar year of payment", minimum = 2000, maximum = 2100)),
    responses(
        (status = 200, body = IssueReport),
        (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)
    ),
    security(("bearer" = []))
)]
#[post("/tax/1099-nec/{year}/issue")]
pub async fn issue_forms(
    state: web::Data<AppState>,
    f: Staff<Finance>,
    year: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let (st, year) = (state.clone(), tax_year(year.into_inner())?);
    let report = blocking(move || filing::issue(&st, &f.ctx, Some(f.id), year)).await?;
    Ok(HttpResponse::Ok().json(report))
}

#[derive(Deserialize, IntoParams)]
pub struct ExportQuery {
    pub format: ExportFormat,
    /// IRIS only: `original` (default: every payee's original return) or `corrected`
    /// (only the corrected returns, for IRIS's corrections submission).
    pub returns: Option<Returns>,
    /// 1-based part of an IRIS export; see the `X-Export-Parts` response header.
    #[param(minimum = 1)]
    pub part: Option<usize>,
}

/// Filing exports of the issued forms: `csv` for a filing service, `iris_csv` for the
/// IRS IRIS bulk upload in numbered parts. The only responses with full TINs (finance).
#[utoipa::path(
    tag = "tax",
    params(("year" = i64, Path, description = "Calendar year of payment", minimum = 2000, maximum = 2100), ExportQuery),
    responses(
        (status = 200, description = "CSV file; header X-Export-Parts gives the number of parts", content_type = "text/csv"),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)
    ),
    security(("bearer" = []))
)]
#[get("/tax/1099-nec/{year}/export")]
pub async fn export_forms(
    state: web::Data<AppState>,
    f: Staff<Finance>,
    year: web::Path<i64>,
    q: web::Query<ExportQuery>,
) -> AppResult<HttpResponse> {
    let (st, year, format, part) = (state.clone(), tax_year(year.into_inner())?, q.format, q.part.unwrap_or(1));
    let returns = q.returns.unwrap_or_default();
    let export = blocking(move || filing::export(&st, &f.ctx, f.id, year, format, returns, part)).await?;
    Ok(export_response(year, format, returns, part, export))
}

/// The download of a filing export (the API's and the console's).
pub fn export_response(
    year: i64,
    format: ExportFormat,
    returns: Returns,
    part: usize,
    export: filing::Export,
) -> HttpResponse {
    let name = match (format, returns) {
        (ExportFormat::Csv, _) => format!("1099-nec-{year}.csv"),
        (ExportFormat::IrisCsv, Returns::Original) => {
            format!("1099-nec-{year}-iris-part{part}-of-{}.csv", export.parts)
        }
        (ExportFormat::IrisCsv, Returns::Corrected) => {
            format!("1099-nec-{year}-iris-corrections-part{part}-of-{}.csv", export.parts)
        }
    };
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(("X-Export-Parts", export.parts.to_string()))
        .insert_header(("X-Export-Rows", export.rows.to_string()))
        .insert_header(("Content-Disposition", format!("attachment; filename=\"{name}\"")))
        .insert_header(("Cache-Control", "private, no-store"))
        .body(export.body)
}

/// My 1099-NEC summary for a year (TIN masked); 404 until a form is issued.
#[utoipa::path(
    tag = "tax",
    params(("year" = i64, Path, description = "Calendar year of payment", minimum = 2000, maximum = 2100)),
    responses(
        (status = 200, body = TaxDocument),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)
    ),
    security(("bearer" = []))
)]
#[get("/me/tax-documents/{year}")]
pub async fn my_tax_document(
    state: web::Data<AppState>,
    me: Applicant,
    year: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let (st, year) = (state.clone(), tax_year(year.into_inner())?);
    Ok(HttpResponse::Ok().json(blocking(move || filing::my_document(&st, me.id, year)).await?))
}

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(put_profile)
        .service(get_profile)
        .service(record_b_notice)
        .service(clear_b_notice)
        .service(tax_status)
        .service(list_thresholds)
        .service(set_threshold)
        .service(year_end_report)
        .service(issue_forms)
        .service(export_forms)
        .service(my_tax_document);
}

/// A year the tax rules speak of (2000 to 2100, as the services check): any other is 404 (and outside the documented
/// range), never a date arithmetic overflow.
fn tax_year(year: i64) -> AppResult<i64> {
    if (2000..=2100).contains(&year) {
        Ok(year)
    } else {
        Err(AppError::NotFound)
    }
}
