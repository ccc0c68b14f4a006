//! Year-end 1099-NEC: totals from settled payouts (cash basis), the report for finance,
//! issued forms with corrections as new versions, and the filing exports.

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::iris;
use super::model::TaxProfile;
use super::service::{current_profile, thresholds};
use super::tin::{self};
use super::year_end::{dollars, form_due, part_count, part_range, threshold_in_force, YearTotals};
use crate::audit::{self, AuditAction, AuditEvent, AuditSubject};
use crate::auth::service::find_user;
use crate::auth::RequestCtx;
use crate::db::schema::{b_notices, payout_items, payout_rails, tax_forms, tax_profiles};
use crate::db::DbConn;
use crate::error::{AppError, AppResult, ProblemCode};
use crate::notifications::{self, templates};
use crate::payouts::model::Rail;
use crate::AppState;

#[derive(Debug, Clone, Queryable, Selectable, Serialize, ToSchema)]
#[diesel(table_name = tax_forms)]
pub struct TaxForm {
    pub id: i64,
    pub user_id: i64,
    pub tax_year: i64,
    pub version: i32,
    pub corrected: bool,
    pub reportable_cents: i64,
    pub excluded_cents: i64,
    pub federal_withheld_cents: i64,
    pub state: Option<String>,
    pub tax_profile_id: Option<i64>,
    #[serde(with = "crate::clock::utc")]
    pub issued_at: NaiveDateTime,
    pub issued_by: Option<i64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RailRule {
    pub rail: Rail,
    /// Reported by the rail on Form 1099-K, so excluded from the payer's 1099-NEC.
    pub reported_by_rail: bool,
    pub note: String,
}

fn rails(conn: &mut DbConn) -> AppResult<Vec<RailRule>> {
    let rows: Vec<(Rail, bool, String)> = payout_rails::table
        .order(payout_rails::rail)
        .select((payout_rails::rail, payout_rails::reported_by_rail, payout_rails::reporting_note))
        .load(conn)?;
    Ok(rows.into_iter().map(|(rail, reported_by_rail, note)| RailRule { rail, reported_by_rail, note }).collect())
}

/// January 1 of `year` and of the next year.
fn year_bounds(year: i64) -> AppResult<(NaiveDate, NaiveDate)> {
    let start = |y: i64| {
        NaiveDate::from_ymd_opt(y as i32, 1, 1).ok_or_else(|| AppError::field("year", "range", "a calendar year"))
    };
    if !(2000..=2100).contains(&year) {
        return Err(AppError::field("year", "range", "a calendar year between 2000 and 2100"));
    }
    Ok((start(year)?, start(year + 1)?))
}

/// The UTC instants at which `year` starts and ends in the payer's time zone.
fn year_instants(year: i64, tz: chrono_tz::Tz) -> AppResult<(NaiveDateTime, NaiveDateTime)> {
    let (from, to) = year_bounds(year)?;
    Ok((crate::calendar::local_midnight_utc(from, tz), crate::calendar::local_midnight_utc(to, tz)))
}

/// Cash basis: what was paid in the calendar year, per payee, split by rail rule. The
/// year is that of the rail's payment date (`paid_on`, a date in the payer's time zone:
/// docs/tax.md), never of the import of the settlement.
pub fn year_totals(conn: &mut DbConn, year: i64) -> AppResult<BTreeMap<i64, YearTotals>> {
    let (from, to) = year_bounds(year)?;
    let reported_by_rail: HashMap<Rail, bool> =
        rails(conn)?.into_iter().map(|r| (r.rail, r.reported_by_rail)).collect();
    let rows: Vec<(i64, Rail, i64, i64)> = payout_items::table
        .filter(payout_items::status.eq(crate::payouts::model::ItemStatus::Paid))
        .filter(payout_items::paid_on.ge(from))
        .filter(payout_items::paid_on.lt(to))
        .select((
            payout_items::contributor_id,
            payout_items::rail,
            payout_items::gross_cents,
            payout_items::withheld_cents,
        ))
        .load(conn)?;
    let mut totals: BTreeMap<i64, YearTotals> = BTreeMap::new();
    for (user, rail, gross, withheld) in rows {
        let t = totals.entry(user).or_default();
        // Every item's rail has its row (a foreign key): a missing one is a broken
        // database, never a reportable default.
        let by_rail = reported_by_rail
            .get(&rail)
            .copied()
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("payout rail {rail} has no reporting rule")))?;
        if by_rail {
            t.excluded_cents += gross;
        } else {
            t.reportable_cents += gross;
            t.federal_withheld_cents += withheld;
        }
    }
    super::service::apply_exemptions(conn, &mut totals)?;
    Ok(totals)
}

fn latest_forms(conn: &mut DbConn, year: i64) -> AppResult<HashMap<i64, TaxForm>> {
    let forms: Vec<TaxForm> = tax_forms::table
        .filter(tax_forms::tax_year.eq(year))
        .order((tax_forms::user_id, tax_forms::version))
        .select(TaxForm::as_select())
        .load(conn)?;
    Ok(forms.into_iter().map(|f| (f.user_id, f)).collect())
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PayeeLine {
    pub user_id: i64,
    /// Legal name from the W-9 on file, or the account name when there is none.
    pub name: String,
    /// Masked TIN, or null when no W-9 is on file.
    pub tin: Option<String>,
    pub state: Option<String>,
    #[serde(flatten)]
    pub totals: YearTotals,
    /// Why some money is excluded, when it is.
    pub excluded_reason: Option<String>,
    pub form_due: bool,
    /// Latest issued version, if any.
    pub issued_version: Option<i32>,
    pub corrected: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct YearEndReport {
    pub year: i64,
    pub threshold_cents: i64,
    /// Set when the year's (inflation-indexed) threshold is not on file yet: the year
    /// whose figure is applied instead, a floor of the true one.
    pub threshold_assumed_from: Option<i64>,
    pub rails: Vec<RailRule>,
    pub totals: YearTotals,
    pub payees_count: usize,
    pub forms_due: usize,
    pub payees: Vec<PayeeLine>,
    /// Items sent (their batch first exported) in the year, in the payer's time zone,
    /// with no settlement yet: money that may belong to this year's forms once the rail
    /// reports its payment date.
    pub sent_not_settled: Vec<UnsettledItem>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UnsettledItem {
    pub item_id: i64,
    pub batch_id: i64,
    pub contributor_id: i64,
    pub rail: Rail,
    pub gross_cents: i64,
    pub withheld_cents: i64,
    #[serde(with = "crate::clock::utc")]
    pub sent_at: NaiveDateTime,
}

/// Items of batches first exported within the year (payer's time zone) still pending.
fn sent_not_settled(conn: &mut DbConn, year: i64, tz: chrono_tz::Tz) -> AppResult<Vec<UnsettledItem>> {
    use crate::db::schema::payout_batches;
    let (from, to) = year_instants(year, tz)?;
    type Row = (i64, i64, i64, Rail, i64, i64, Option<NaiveDateTime>);
    let rows: Vec<Row> = payout_items::table
        .inner_join(payout_batches::table)
        .filter(payout_items::status.eq(crate::payouts::model::ItemStatus::Pending))
        .filter(payout_batches::exported_at.ge(from))
        .filter(payout_batches::exported_at.lt(to))
        .order(payout_items::id)
        .select((
            payout_items::id,
            payout_items::batch_id,
            payout_items::contributor_id,
            payout_items::rail,
            payout_items::gross_cents,
            payout_items::withheld_cents,
            payout_batches::exported_at,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(item_id, batch_id, contributor_id, rail, gross_cents, withheld_cents, sent)| {
            Some(UnsettledItem { item_id, batch_id, contributor_id, rail, gross_cents, withheld_cents, sent_at: sent? })
        })
        .collect())
}

fn line(
    conn: &mut DbConn,
    user_id: i64,
    totals: YearTotals,
    threshold: i64,
    excluded_note: &str,
    issued: Option<&TaxForm>,
) -> AppResult<PayeeLine> {
    let profile = current_profile(conn, user_id)?;
    let name = match &profile {
        Some(p) => p.legal_name.clone(),
        None => find_user(conn, user_id)?.full_name,
    };
    Ok(PayeeLine {
        user_id,
        name,
        tin: profile.as_ref().map(masked_tin),
        state: profile.as_ref().map(|p| p.region.clone()),
        excluded_reason: (totals.excluded_cents > 0).then(|| {
            profile.as_ref().and_then(TaxProfile::reporting_exemption).unwrap_or_else(|| excluded_note.to_string())
        }),
        form_due: form_due(&totals, threshold),
        issued_version: issued.map(|f| f.version),
        corrected: issued.is_some_and(|f| f.corrected),
        totals,
    })
}

fn masked_tin(p: &TaxProfile) -> String {
    tin::mask(p.tin_type, &p.tin_last4)
}

pub fn threshold(conn: &mut DbConn, year: i64) -> AppResult<i64> {
    applicable_threshold(conn, year).map(|(cents, _)| cents)
}

/// The year's threshold, or for an indexed year not on file yet the latest earlier one
/// (`year_end::threshold_in_force`), with the year it was taken from.
pub fn applicable_threshold(conn: &mut DbConn, year: i64) -> AppResult<(i64, Option<i64>)> {
    let rows: Vec<(i64, i64)> = thresholds(conn)?.into_iter().map(|t| (t.payment_year, t.threshold_cents)).collect();
    threshold_in_force(&rows, year).ok_or_else(|| {
        AppError::conflict(
            ProblemCode::ThresholdMissing,
            format!(
                "no 1099-NEC threshold is recorded for {year}; an admin sets it with PUT /admin/tax-thresholds/{year}"
            ),
        )
    })
}

pub fn report(conn: &mut DbConn, year: i64, tz: chrono_tz::Tz) -> AppResult<YearEndReport> {
    let (threshold, threshold_assumed_from) = applicable_threshold(conn, year)?;
    let rails = rails(conn)?;
    let excluded_note =
        rails.iter().filter(|r| r.reported_by_rail).map(|r| r.note.clone()).collect::<Vec<_>>().join(" ");
    let issued = latest_forms(conn, year)?;
    let mut payees = Vec::new();
    let mut all = YearTotals::default();
    for (user, totals) in year_totals(conn, year)? {
        all.reportable_cents += totals.reportable_cents;
        all.excluded_cents += totals.excluded_cents;
        all.federal_withheld_cents += totals.federal_withheld_cents;
        payees.push(line(conn, user, totals, threshold, &excluded_note, issued.get(&user))?);
    }
    let forms_due = payees.iter().filter(|p| p.form_due).count();
    Ok(YearEndReport {
        year,
        threshold_cents: threshold,
        threshold_assumed_from,
        rails,
        totals: all,
        payees_count: payees.len(),
        forms_due,
        payees,
        sent_not_settled: sent_not_settled(conn, year, tz)?,
    })
}

#[derive(Debug, Default, Serialize, ToSchema)]
pub struct IssueReport {
    pub issued: usize,
    pub corrected: usize,
    pub unchanged: usize,
}

/// Issues the year's forms: version 1 for new payees, a corrected version when the
/// amounts or the W-9 changed since the last issue, nothing when unchanged. Each issued
/// version is emailed. Idempotent.
pub fn issue(state: &AppState, ctx: &RequestCtx, actor: Option<i64>, year: i64) -> AppResult<IssueReport> {
    state.db.tx_sync(|conn| {
        let now = state.clock.now();
        let (threshold, assumed_from) = applicable_threshold(conn, year)?;
        if let Some(from) = assumed_from {
            super::service::alert_threshold_assumed(conn, now, ctx, year, from, threshold)?;
        }
        let totals = year_totals(conn, year)?;
        let issued = latest_forms(conn, year)?;
        let mut report = IssueReport::default();
        let mut payees: Vec<i64> = totals.keys().copied().collect();
        payees.extend(issued.keys().filter(|u| !totals.contains_key(u)));
        for user_id in payees {
            let t = totals.get(&user_id).cloned().unwrap_or_default();
            let previous = issued.get(&user_id);
            if previous.is_none() && !form_due(&t, threshold) {
                continue;
            }
            let profile = current_profile(conn, user_id)?;
            let unchanged = previous.is_some_and(|f| {
                f.reportable_cents == t.reportable_cents
                    && f.excluded_cents == t.excluded_cents
                    && f.federal_withheld_cents == t.federal_withheld_cents
                    && f.tax_profile_id == profile.as_ref().map(|p| p.id)
            });
            if unchanged {
                report.unchanged += 1;
                continue;
            }
            let version = previous.map(|f| f.version + 1).unwrap_or(1);
            let id: i64 = diesel::insert_into(tax_forms::table)
                .values((
                    tax_forms::user_id.eq(user_id),
                    tax_forms::tax_year.eq(year),
                    tax_forms::version.eq(version),
                    tax_forms::corrected.eq(version > 1),
                    tax_forms::reportable_cents.eq(t.reportable_cents),
                    tax_forms::excluded_cents.eq(t.excluded_cents),
                    tax_forms::federal_withheld_cents.eq(t.federal_withheld_cents),
                    tax_forms::state.eq(profile.as_ref().map(|p| p.region.clone())),
                    tax_forms::tax_profile_id.eq(profile.as_ref().map(|p| p.id)),
                    tax_forms::issued_at.eq(now),
                    tax_forms::issued_by.eq(actor),
                ))
                .returning(tax_forms::id)
                .get_result(conn)?;
            let user = find_user(conn, user_id)?;
            notifications::enqueue(
                conn,
                now,
                &user.email,
                &format!("tax_form:{id}"),
                &templates::TaxFormAvailable {
                    full_name: user.full_name.clone(),
                    year,
                    corrected: version > 1,
                    amount: dollars(t.reportable_cents),
                    withheld: dollars(t.federal_withheld_cents),
                    tin: profile.as_ref().map(masked_tin).unwrap_or_else(|| "none on file".into()),
                },
            )?;
            audit::record(
                conn,
                now,
                ctx,
                AuditEvent {
                    actor_id: actor,
                    action: if version > 1 { AuditAction::TaxFormCorrected } else { AuditAction::TaxFormIssued },
                    subject_type: AuditSubject::TaxForm,
                    subject_id: Some(id.to_string()),
                    summary: json!({"user_id": user_id, "year": year, "version": version, "reportable_cents": t.reportable_cents}),
                },
            )?;
            if version > 1 {
                report.corrected += 1;
            } else {
                report.issued += 1;
            }
        }
        Ok(report)
    })
}

/// The January job: issue last year's forms during January (idempotent), by January 31
/// even when the year's indexed threshold is not on file yet (the latest earlier one
/// applies and the admins are told, see [`applicable_threshold`]).
pub fn run_year_end(state: &AppState) -> AppResult<Option<IssueReport>> {
    let today = state.clock.now().date();
    if today.month() != 1 {
        return Ok(None);
    }
    let year = i64::from(today.year() - 1);
    if state.db.read_sync(|c| applicable_threshold(c, year)).is_err() {
        tracing::error!(year, "no 1099-NEC threshold applies to {year}: no forms issued");
        return Ok(None);
    }
    issue(state, &RequestCtx::system("job:year_end"), None, year).map(Some)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TaxDocument {
    pub year: i64,
    pub form: &'static str,
    pub version: i32,
    pub corrected: bool,
    /// Box 1.
    pub nonemployee_compensation_cents: i64,
    /// Box 4.
    pub federal_income_tax_withheld_cents: i64,
    /// Paid through rails that report it on Form 1099-K instead.
    pub excluded_cents: i64,
    pub state: Option<String>,
    pub recipient_name: Option<String>,
    /// Masked.
    pub recipient_tin: Option<String>,
    pub payer_name: String,
    #[serde(with = "crate::clock::utc")]
    pub issued_at: NaiveDateTime,
}

pub fn my_document(state: &AppState, user_id: i64, year: i64) -> AppResult<TaxDocument> {
    state.db.read_sync(|conn| {
        let form = latest_forms(conn, year)?.remove(&user_id).ok_or(AppError::NotFound)?;
        let profile = match form.tax_profile_id {
            Some(id) => {
                Some(crate::db::schema::tax_profiles::table.find(id).select(TaxProfile::as_select()).first(conn)?)
            }
            None => None,
        };
        Ok(TaxDocument {
            year,
            form: "1099-NEC",
            version: form.version,
            corrected: form.corrected,
            nonemployee_compensation_cents: form.reportable_cents,
            federal_income_tax_withheld_cents: form.federal_withheld_cents,
            excluded_cents: form.excluded_cents,
            state: form.state,
            recipient_name: profile.as_ref().map(|p| p.legal_name.clone()),
            recipient_tin: profile.as_ref().map(masked_tin),
            payer_name: state.config.tax.payer_name.clone(),
            issued_at: form.issued_at,
        })
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    /// One plain CSV for a filing service (and for people): the latest version of every
    /// issued form, cells neutralized against formula injection.
    Csv,
    /// The IRS IRIS portal's 1099-NEC bulk-upload CSV, in numbered parts.
    IrisCsv,
}

/// Which returns an IRIS file carries. IRIS takes original returns and corrections in
/// separate submissions, so each file holds one kind and uploading one never files the
/// other twice.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Returns {
    /// Every payee's original return (version 1, as first issued).
    #[default]
    Original,
    /// Only the corrected returns: each payee's latest version when it is a correction.
    Corrected,
}

/// Which issued versions an export reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Selection {
    Latest,
    Originals,
    Corrections,
}

fn selected_forms(conn: &mut DbConn, year: i64, selection: Selection) -> AppResult<Vec<TaxForm>> {
    let mut forms: Vec<TaxForm> = match selection {
        Selection::Originals => tax_forms::table
            .filter(tax_forms::tax_year.eq(year))
            .filter(tax_forms::version.eq(1))
            .select(TaxForm::as_select())
            .load(conn)?,
        Selection::Latest | Selection::Corrections => latest_forms(conn, year)?
            .into_values()
            .filter(|f| selection == Selection::Latest || f.version > 1)
            .collect(),
    };
    forms.sort_by_key(|f| f.user_id);
    Ok(forms)
}

/// The selected returns with everything a filing needs, the full TIN included.
fn filing_rows(state: &AppState, conn: &mut DbConn, year: i64, selection: Selection) -> AppResult<Vec<iris::Return>> {
    let forms = selected_forms(conn, year, selection)?;
    let users: Vec<i64> = forms.iter().map(|f| f.user_id).collect();
    // The "2nd TIN not." box: a second B-notice within the three calendar years ending
    // with the tax year (IRS instructions for Form 1099-NEC, Pub 1281).
    let from = NaiveDate::from_ymd_opt(year as i32 - 2, 1, 1).unwrap_or(NaiveDate::MIN);
    let to = NaiveDate::from_ymd_opt(year as i32 + 1, 1, 1).unwrap_or(NaiveDate::MAX);
    let second_notices: std::collections::HashSet<i64> = b_notices::table
        .filter(b_notices::user_id.eq_any(&users))
        .filter(b_notices::notice.eq(super::model::NoticeKind::Second))
        .filter(b_notices::received_on.ge(from))
        .filter(b_notices::received_on.lt(to))
        .select(b_notices::user_id)
        .load::<i64>(conn)?
        .into_iter()
        .collect();
    let mut out = Vec::with_capacity(forms.len());
    for form in forms {
        let profile: Option<TaxProfile> = match form.tax_profile_id {
            Some(id) => Some(tax_profiles::table.find(id).select(TaxProfile::as_select()).first(conn)?),
            None => None,
        };
        let tin_digits = match &profile {
            Some(p) => state
                .cipher
                .decrypt_str(&p.tin_enc)
                .map_err(|e| AppError::Internal(anyhow::anyhow!("TIN of profile {}: {e}", p.id)))?,
            None => String::new(),
        };
        out.push(iris::Return {
            tax_year: year,
            user_id: form.user_id,
            version: form.version,
            corrected: form.corrected,
            reportable_cents: form.reportable_cents,
            excluded_cents: form.excluded_cents,
            federal_withheld_cents: form.federal_withheld_cents,
            second_tin_notice: second_notices.contains(&form.user_id),
            profile,
            tin_digits,
        });
    }
    Ok(out)
}

/// The plain CSV for a filing service and for people.
const PLAIN_COLUMNS: &[(&str, &str)] = &[
    ("tax_year", "tax_year"),
    ("payee_id", "payee_id"),
    ("version", "version"),
    ("corrected", "corrected"),
    ("recipient_name", "recipient_name"),
    ("business_name", "recipient_name_line2"),
    ("tin_type", "recipient_tin_type"),
    ("tin", "recipient_tin_formatted"),
    ("address", "recipient_address"),
    ("city", "recipient_city"),
    ("state", "recipient_state"),
    ("zip", "recipient_zip"),
    ("box1_nonemployee_compensation", "box1_nonemployee_compensation"),
    ("box4_federal_income_tax_withheld", "federal_tax_withheld"),
    ("box6_payer_state_number", "box6_payer_state_number"),
    ("box7_state_income", "box7_state_income"),
    ("excluded_reported_on_1099k", "excluded_1099k"),
];

fn columns_of(pairs: &[(&str, &str)]) -> AppResult<Vec<iris::Column>> {
    pairs
        .iter()
        .map(|(h, k)| {
            iris::Field::parse(k)
                .map(|f| (h.to_string(), f))
                .ok_or_else(|| AppError::Internal(anyhow::anyhow!("unknown filing field {k}")))
        })
        .collect()
}

/// The IRIS header row and field mapping: the data file when present, else the copy
/// built into the binary. An unknown field key is an error, never a blank column.
fn iris_columns(state: &AppState) -> AppResult<Vec<iris::Column>> {
    let text = std::fs::read_to_string(&state.config.tax.iris_template)
        .unwrap_or_else(|_| include_str!("../../templates/tax/iris_1099nec.csv").to_string());
    iris::parse_mapping(&text).map_err(|e| {
        AppError::Internal(anyhow::anyhow!("IRIS template {}: {e}", state.config.tax.iris_template.display()))
    })
}

pub struct Export {
    pub body: Vec<u8>,
    pub parts: usize,
    pub rows: usize,
}

/// Builds an export of the issued forms. The only place a full TIN leaves the service;
/// every export is audited. Every cell is neutralized against formula injection
/// ([`crate::text::neutralize`]): values validated at input pass unchanged.
pub fn export(
    state: &AppState,
    ctx: &RequestCtx,
    actor: i64,
    year: i64,
    format: ExportFormat,
    returns: Returns,
    part: usize,
) -> AppResult<Export> {
    let selection = match (format, returns) {
        (ExportFormat::Csv, _) => Selection::Latest,
        (ExportFormat::IrisCsv, Returns::Original) => Selection::Originals,
        (ExportFormat::IrisCsv, Returns::Corrected) => Selection::Corrections,
    };
    let rows = state.db.read_sync(|conn| filing_rows(state, conn, year, selection))?;
    let (columns, per_part) = match format {
        ExportFormat::Csv => (columns_of(PLAIN_COLUMNS)?, rows.len().max(1)),
        ExportFormat::IrisCsv => (iris_columns(state)?, state.config.tax.iris_returns_per_file),
    };
    let parts = part_count(rows.len(), per_part);
    let (start, end) = part_range(rows.len(), per_part, part)
        .ok_or_else(|| AppError::field("part", "range", format!("parts run from 1 to {parts}")))?;
    let mut writer = csv::Writer::from_writer(Vec::new());
    let csv_err = |e: csv::Error| AppError::Internal(e.into());
    writer.write_record(columns.iter().map(|(h, _)| crate::text::neutralize(h).into_owned())).map_err(csv_err)?;
    for r in &rows[start..end] {
        let cells = columns.iter().map(|(_, f)| iris::value(&state.config.tax, r, *f));
        writer.write_record(cells.map(|c| crate::text::neutralize(&c).into_owned())).map_err(csv_err)?;
    }
    let body = writer.into_inner().map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))?;
    state.db.tx_sync(|conn| {
        audit::record(
            conn,
            state.clock.now(),
            ctx,
            AuditEvent {
                actor_id: Some(actor),
                action: AuditAction::TaxFilingExported,
                subject_type: AuditSubject::TaxYear,
                subject_id: Some(year.to_string()),
                summary: json!({"format": format!("{format:?}"), "returns": format!("{returns:?}"), "part": part,
                    "rows": end - start, "sha256": crate::crypto::sha256_hex(&body)}),
            },
        )
    })?;
    Ok(Export { body, parts, rows: end - start })
}
