//! Tax rules and transactions: W-9 versions, B-notices, backup withholding status.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::model::*;
use super::tin::{self, TinType};
use crate::audit::{self, AuditAction, AuditEvent, AuditSubject};
use crate::auth::service::find_user;
use crate::auth::RequestCtx;
use crate::db::schema::{b_notices, tax_parameters, tax_profiles, tax_thresholds};
use crate::db::DbConn;
use crate::error::{AppError, AppResult, FieldError, ProblemCode};
use crate::AppState;

pub fn current_profile(conn: &mut DbConn, user_id: i64) -> AppResult<Option<TaxProfile>> {
    Ok(tax_profiles::table
        .filter(tax_profiles::user_id.eq(user_id))
        .order(tax_profiles::version.desc())
        .select(TaxProfile::as_select())
        .first(conn)
        .optional()?)
}

/// [`current_profile`] for many users at once (readiness in bulk), by user id.
pub fn current_profiles_of(conn: &mut DbConn, user_ids: &[i64]) -> AppResult<HashMap<i64, TaxProfile>> {
    let rows: Vec<TaxProfile> = tax_profiles::table
        .filter(tax_profiles::user_id.eq_any(user_ids))
        .order((tax_profiles::user_id.asc(), tax_profiles::version.desc()))
        .select(TaxProfile::as_select())
        .load(conn)?;
    Ok(newest_per_user(rows))
}

/// What export files name of the W-9s in force at `at` (the newest version signed by
/// then, as [`profile_in_force`] reads it), for many users at once, by user id.
pub fn profiles_in_force_of(
    conn: &mut DbConn,
    user_ids: &[i64],
    at: NaiveDateTime,
) -> AppResult<HashMap<i64, W9Payee>> {
    let rows: Vec<W9Payee> = tax_profiles::table
        .filter(tax_profiles::user_id.eq_any(user_ids))
        .filter(tax_profiles::signed_at.le(at))
        .order((tax_profiles::user_id.asc(), tax_profiles::version.desc()))
        .select(W9Payee::as_select())
        .load(conn)?;
    let mut out = HashMap::with_capacity(rows.len());
    for p in rows {
        out.entry(p.user_id).or_insert(p);
    }
    Ok(out)
}

/// The first row of each user in rows ordered by user, newest version first.
fn newest_per_user(rows: Vec<TaxProfile>) -> HashMap<i64, TaxProfile> {
    let mut out = HashMap::new();
    for p in rows {
        out.entry(p.user_id).or_insert(p);
    }
    out
}

/// The version in force on `at` (the last one signed by then): what a 1099 for a
/// payment made then uses.
pub fn profile_in_force(conn: &mut DbConn, user_id: i64, at: NaiveDateTime) -> AppResult<Option<TaxProfile>> {
    Ok(tax_profiles::table
        .filter(tax_profiles::user_id.eq(user_id))
        .filter(tax_profiles::signed_at.le(at))
        .order(tax_profiles::version.desc())
        .select(TaxProfile::as_select())
        .first(conn)
        .optional()?)
}

pub struct W9Input {
    pub legal_name: String,
    pub business_name: Option<String>,
    pub tax_classification: TaxClassification,
    pub address_line1: String,
    pub address_line2: Option<String>,
    pub city: String,
    pub region: String,
    pub postal_code: String,
    pub tin_type: TinType,
    pub tin: String,
    pub exempt_payee_code: Option<ExemptPayeeCode>,
    pub subject_to_backup_withholding: bool,
    pub signature_name: String,
    pub certify: bool,
}

/// The W-9 rules between fields (Instructions for Form W-9): entities other than
/// individuals, sole proprietors and single-member LLCs give an EIN; an ITIN belongs
/// to an individual; individuals are never exempt payees; a sole proprietor's EIN comes
/// with the business name. Pure.
pub fn w9_rules(w: &W9Input, tin_type: TinType) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let c = w.tax_classification;
    if c.needs_ein() && tin_type != TinType::Ein {
        errors.push(FieldError::new(
            "tin_type",
            "ein_required",
            "corporations, partnerships and LLCs taxed as one give their EIN, not an SSN or ITIN",
        ));
    }
    if c == TaxClassification::Individual && w.exempt_payee_code.is_some() {
        errors.push(FieldError::new(
            "exempt_payee_code",
            "individual_not_exempt",
            "individuals and sole proprietors are not exempt payees; leave line 4 empty",
        ));
    }
    if c == TaxClassification::Individual && tin_type == TinType::Ein && w.business_name.is_none() {
        errors.push(FieldError::new(
            "business_name",
            "required",
            "an EIN for a sole proprietorship needs the business name",
        ));
    }
    errors
}

/// Records a new W-9 version. The TIN is checked, encrypted and never stored in clear;
/// the signature is the typed name with the server's time and the client's address.
pub fn submit_w9(state: &AppState, ctx: &RequestCtx, user_id: i64, w: W9Input) -> AppResult<TaxProfile> {
    let mut errors = crate::text::check_all([
        ("legal_name", Some(w.legal_name.as_str())),
        ("business_name", w.business_name.as_deref()),
        ("address_line1", Some(w.address_line1.as_str())),
        ("address_line2", w.address_line2.as_deref()),
        ("city", Some(w.city.as_str())),
        ("region", Some(w.region.as_str())),
        ("postal_code", Some(w.postal_code.as_str())),
        ("signature_name", Some(w.signature_name.as_str())),
    ]);
    // A valid ITIN typed in the SSN box is recorded as an ITIN (Form W-9, Part I).
    let (tin_type, digits) = match tin::classify(w.tin_type, &w.tin) {
        Ok((kind, d)) => (kind, Some(d)),
        Err(e) => {
            errors.push(FieldError::new("tin", e.code(), e.message()));
            (w.tin_type, None)
        }
    };
    if !w.certify {
        errors.push(FieldError::new("certify", "required", "confirm the W-9 certification under penalties of perjury"));
    }
    if !w.signature_name.trim().eq_ignore_ascii_case(w.legal_name.trim()) {
        errors.push(FieldError::new("signature_name", "mismatch", "type your legal name exactly as above to sign"));
    }
    errors.extend(w9_rules(&w, tin_type));
    let digits = match digits {
        Some(d) if errors.is_empty() => d,
        _ => return Err(AppError::Validation(errors)),
    };
    let tin_enc = state.cipher.encrypt_str(&digits);
    let last4 = digits[5..].to_string();
    state.db.tx_sync(|conn| {
        let now = state.clock.now();
        find_user(conn, user_id)?;
        let version = current_profile(conn, user_id)?.map(|p| p.version + 1).unwrap_or(1);
        let id: i64 = diesel::insert_into(tax_profiles::table)
            .values(NewTaxProfile {
                user_id,
                version,
                legal_name: w.legal_name.trim(),
                business_name: w.business_name.as_deref().map(str::trim),
                tax_classification: w.tax_classification,
                address_line1: w.address_line1.trim(),
                address_line2: w.address_line2.as_deref().map(str::trim),
                city: w.city.trim(),
                region: &w.region,
                postal_code: w.postal_code.trim(),
                tin_type,
                tin_enc: &tin_enc,
                tin_last4: &last4,
                subject_to_backup_withholding: w.subject_to_backup_withholding,
                signature_name: w.signature_name.trim(),
                signed_at: now,
                signed_ip: ctx.ip.as_deref(),
                created_at: now,
                exempt_payee_code: w.exempt_payee_code,
            })
            .returning(tax_profiles::id)
            .get_result(conn)?;
        // The summary names the version and the masked TIN only.
        audit::record(
            conn,
            now,
            ctx,
            AuditEvent {
                actor_id: Some(user_id),
                action: AuditAction::TaxProfileSigned,
                subject_type: AuditSubject::TaxProfile,
                subject_id: Some(id.to_string()),
                summary: json!({"version": version, "tin": tin::mask(tin_type, &last4)}),
            },
        )?;
        Ok(tax_profiles::table.find(id).select(TaxProfile::as_select()).first(conn)?)
    })
}

/// Business days after a date: weekends and Federal Reserve holidays skipped.
pub fn add_business_days(date: NaiveDate, days: u32) -> NaiveDate {
    crate::calendar::add_business_days(date, days)
}

/// Days the payee has after a first B-notice to certify a corrected TIN before
/// withholding starts (26 CFR 31.3406(d)-5; IRS Pub 1281: "no later than 30 business
/// days after the date of the CP2100 or CP2100A notice or the date you received it,
/// whichever is later").
pub const FIRST_NOTICE_BUSINESS_DAYS: u32 = 30;

/// Days the payer has to send the payee the "B" notice (with a Form W-9 for a first
/// notice): IRS Pub 1281, "within 15 business days after the date of the CP2100 or
/// CP2100A notice or the date you received it, whichever is later".
pub const B_NOTICE_SEND_BUSINESS_DAYS: u32 = 15;

crate::text_enum! {
    /// Why a payee's payments are withheld on (IRC §3406(a)(1)).
    pub enum WithholdingReason {
        /// No W-9 on file (no TIN furnished).
        TinMissing = "tin_missing",
        /// The payee certified on the W-9 that they are subject to backup withholding.
        PayeeCertifiedSubject = "payee_certified_subject",
        /// A first B-notice unanswered past its 30 business days.
        FirstBNotice = "first_b_notice",
        /// A second B-notice, until the TIN is validated.
        SecondBNotice = "second_b_notice",
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WithholdingStatus {
    pub required: bool,
    pub reasons: Vec<WithholdingReason>,
    /// Rate applied when required, e.g. "0.24".
    #[schema(value_type = String)]
    pub rate: Decimal,
    /// An open first B-notice not yet answered by a certified W-9: the day withholding
    /// starts unless one arrives before (30 business days after the notice).
    pub w9_due_by: Option<NaiveDate>,
    /// An open second B-notice: the payee must have the SSA (SSN) or the IRS (ITIN, EIN)
    /// validate the name and TIN; a new W-9 does not end it.
    pub tin_validation_due: bool,
    /// Why payments to this payee are not reported on Form 1099-NEC (and so never
    /// withheld on), from the W-9; null when they are reportable.
    pub exempt_payee: Option<String>,
}

/// Backup withholding applies only to payments the payer reports (IRC §3406(b)(3)):
/// never to a rail whose payments are reported by the rail itself on Form 1099-K (a
/// third-party settlement organization such as PayPal, IRC §6050W). Which rails those
/// are is data (`payout_rails.reported_by_rail`), so the rule follows the same row as
/// the year-end exclusion and the two cannot disagree. Returns, per rail name, whether
/// the payer withholds on it.
pub fn payer_withholds_by_rail(conn: &mut DbConn) -> AppResult<HashMap<crate::payouts::model::Rail, bool>> {
    use crate::db::schema::payout_rails;
    let rows: Vec<(crate::payouts::model::Rail, bool)> =
        payout_rails::table.select((payout_rails::rail, payout_rails::reported_by_rail)).load(conn)?;
    Ok(rows.into_iter().map(|(rail, by_rail)| (rail, !by_rail)).collect())
}

pub fn withholding_rate(conn: &mut DbConn) -> AppResult<Decimal> {
    let raw: String = tax_parameters::table
        .filter(tax_parameters::name.eq("backup_withholding_rate"))
        .select(tax_parameters::value)
        .first(conn)?;
    raw.parse().map_err(|e| AppError::Internal(anyhow::anyhow!("backup_withholding_rate {raw:?}: {e}")))
}

/// Whether payments to `user_id` on `today` are subject to backup withholding, and why.
pub fn withholding_status(conn: &mut DbConn, user_id: i64, today: NaiveDate) -> AppResult<WithholdingStatus> {
    let profiles: HashMap<i64, TaxProfile> =
        current_profile(conn, user_id)?.map(|p| (user_id, p)).into_iter().collect();
    let mut all = withholding_statuses(conn, &[user_id], &profiles, today)?;
    all.remove(&user_id).ok_or(AppError::NotFound)
}

/// [`withholding_status`] for many users at once, given their current W-9s (from
/// [`current_profiles_of`]): one query for the open B-notices, one for the rate.
pub fn withholding_statuses(
    conn: &mut DbConn,
    user_ids: &[i64],
    profiles: &HashMap<i64, TaxProfile>,
    today: NaiveDate,
) -> AppResult<HashMap<i64, WithholdingStatus>> {
    let mut notices: HashMap<i64, Vec<BNotice>> = HashMap::new();
    let open: Vec<BNotice> = b_notices::table
        .filter(b_notices::user_id.eq_any(user_ids))
        .filter(b_notices::cleared_at.is_null())
        .order(b_notices::id.asc())
        .select(BNotice::as_select())
        .load(conn)?;
    for n in open {
        notices.entry(n.user_id).or_default().push(n);
    }
    let rate = withholding_rate(conn)?;
    Ok(user_ids
        .iter()
        .map(|id| {
            let status =
                withholding_of(profiles.get(id), notices.get(id).map(Vec::as_slice).unwrap_or_default(), rate, today);
            (*id, status)
        })
        .collect())
}

/// The backup withholding rule (IRC §3406) on one payee's current W-9 and open B-notices.
fn withholding_of(
    profile: Option<&TaxProfile>,
    notices: &[BNotice],
    rate: Decimal,
    today: NaiveDate,
) -> WithholdingStatus {
    let exempt_payee = profile.and_then(TaxProfile::reporting_exemption);
    let mut status = WithholdingStatus {
        required: false,
        reasons: Vec::new(),
        rate,
        w9_due_by: None,
        tin_validation_due: false,
        exempt_payee,
    };
    // Only reportable payments are withheld on (IRC §3406(b)(3)).
    if status.exempt_payee.is_some() {
        return status;
    }
    let reasons = &mut status.reasons;
    match &profile {
        None => reasons.push(WithholdingReason::TinMissing),
        Some(p) if p.subject_to_backup_withholding => reasons.push(WithholdingReason::PayeeCertifiedSubject),
        _ => {}
    }
    for n in notices {
        match n.notice {
            // A W-9 certified after a first notice cures it.
            NoticeKind::First => {
                let cured = profile.as_ref().is_some_and(|p| p.signed_at > n.recorded_at);
                let starts_on = add_business_days(n.received_on, FIRST_NOTICE_BUSINESS_DAYS);
                if cured {
                    continue;
                }
                if today >= starts_on {
                    reasons.push(WithholdingReason::FirstBNotice);
                } else {
                    status.w9_due_by = Some(status.w9_due_by.map_or(starts_on, |d| d.min(starts_on)));
                }
            }
            // A second notice stands until the IRS or SSA validates the TIN.
            NoticeKind::Second => {
                reasons.push(WithholdingReason::SecondBNotice);
                status.tin_validation_due = true;
            }
        }
    }
    reasons.dedup();
    status.required = !status.reasons.is_empty();
    status
}

impl WithholdingStatus {
    /// The reasons as a memo or a sentence names them: `first_b_notice, second_b_notice`.
    pub fn reasons_text(&self) -> String {
        self.reasons.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ")
    }
}

pub use super::model::NoticeKind;

/// A B-notice with its Pub 1281 dates.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BNoticeView {
    #[serde(flatten)]
    pub notice: BNotice,
    /// The last day to send the payee the "B" notice: 15 business days after it was
    /// received (Pub 1281).
    pub send_by: NaiveDate,
    /// When Gatehouse queued the notice (with the W-9 request of a first notice) to the
    /// payee: in the transaction that recorded it.
    #[serde(with = "crate::clock::utc")]
    pub payee_notice_queued_at: NaiveDateTime,
    /// Whether that was after `send_by` (the notice was recorded late).
    pub payee_notice_late: bool,
    /// First notices: the day backup withholding starts unless a certified W-9 arrives
    /// (30 business days after the notice).
    pub withholding_starts_on: Option<NaiveDate>,
}

impl From<BNotice> for BNoticeView {
    fn from(n: BNotice) -> Self {
        let send_by = add_business_days(n.received_on, B_NOTICE_SEND_BUSINESS_DAYS);
        Self {
            send_by,
            payee_notice_queued_at: n.recorded_at,
            payee_notice_late: n.recorded_at.date() > send_by,
            withholding_starts_on: (n.notice == NoticeKind::First)
                .then(|| add_business_days(n.received_on, FIRST_NOTICE_BUSINESS_DAYS)),
            notice: n,
        }
    }
}

/// Records a B-notice from the IRS and, in the same transaction, queues the payee's
/// copy: a first notice asks for a corrected, certified W-9 before withholding starts;
/// a second one says withholding has started until the SSA or IRS validates the TIN
/// (Pub 1281). A second notice is one received within three calendar years of a first
/// notice for the same payee.
pub fn record_b_notice(
    state: &AppState,
    ctx: &RequestCtx,
    finance_id: i64,
    user_id: i64,
    kind: NoticeKind,
    received_on: NaiveDate,
    note: &str,
) -> AppResult<BNoticeView> {
    state.db.tx_sync(|conn| {
        let now = state.clock.now();
        let user = find_user(conn, user_id)?;
        if received_on > now.date() {
            return Err(AppError::field("received_on", "in_future", "the notice date is in the future"));
        }
        if kind == NoticeKind::Second {
            let window_start = received_on.with_year(received_on.year() - 3).unwrap_or(received_on);
            let firsts: i64 = b_notices::table
                .filter(b_notices::user_id.eq(user_id))
                .filter(b_notices::notice.eq(NoticeKind::First))
                .filter(b_notices::received_on.ge(window_start))
                .filter(b_notices::received_on.le(received_on))
                .count()
                .get_result(conn)?;
            if firsts == 0 {
                return Err(AppError::field(
                    "notice",
                    "no_first_notice",
                    "a second B-notice follows a first one received within three calendar years",
                ));
            }
        }
        let id: i64 = diesel::insert_into(b_notices::table)
            .values(NewBNotice { user_id, notice: kind, received_on, note, recorded_by: finance_id, recorded_at: now })
            .returning(b_notices::id)
            .get_result(conn)?;
        let profile = current_profile(conn, user_id)?;
        let rate = withholding_rate(conn)? * Decimal::ONE_HUNDRED;
        crate::notifications::enqueue(
            conn,
            now,
            &user.email,
            &format!("b_notice:{id}"),
            &crate::notifications::templates::BNoticeSent {
                full_name: profile.as_ref().map(|p| p.legal_name.clone()).unwrap_or_else(|| user.full_name.clone()),
                first: kind == NoticeKind::First,
                tin: profile.as_ref().map(TaxProfile::masked_tin).unwrap_or_else(|| "none on file".into()),
                notice_date: received_on.to_string(),
                deadline: add_business_days(received_on, FIRST_NOTICE_BUSINESS_DAYS).to_string(),
                rate: rate.normalize().to_string(),
            },
        )?;
        audit::record(
            conn,
            now,
            ctx,
            AuditEvent {
                actor_id: Some(finance_id),
                action: AuditAction::TaxBNoticeRecorded,
                subject_type: AuditSubject::User,
                subject_id: Some(user_id.to_string()),
                summary: json!({"notice_id": id, "kind": kind.as_str(), "received_on": received_on, "payee_notified": true}),
            },
        )?;
        Ok(b_notices::table.find(id).select(BNotice::as_select()).first::<BNotice>(conn)?.into())
    })
}

/// Clears a B-notice (e.g. the IRS or SSA validated the TIN after a second notice).
pub fn clear_b_notice(
    state: &AppState,
    ctx: &RequestCtx,
    finance_id: i64,
    user_id: i64,
    notice_id: i64,
    reason: &str,
) -> AppResult<BNotice> {
    state.db.tx_sync(|conn| {
        let now = state.clock.now();
        let n: BNotice = b_notices::table.find(notice_id).select(BNotice::as_select()).first(conn)?;
        if n.user_id != user_id {
            return Err(AppError::NotFound);
        }
        if n.cleared_at.is_some() {
            return Err(AppError::conflict(ProblemCode::AlreadyCleared, "this notice is already cleared"));
        }
        diesel::update(b_notices::table.find(notice_id))
            .set((
                b_notices::cleared_at.eq(now),
                b_notices::cleared_by.eq(finance_id),
                b_notices::cleared_reason.eq(reason),
            ))
            .execute(conn)?;
        audit::record(
            conn,
            now,
            ctx,
            AuditEvent {
                actor_id: Some(finance_id),
                action: AuditAction::TaxBNoticeCleared,
                subject_type: AuditSubject::User,
                subject_id: Some(user_id.to_string()),
                summary: json!({"notice_id": notice_id, "reason": reason}),
            },
        )?;
        Ok(b_notices::table.find(notice_id).select(BNotice::as_select()).first(conn)?)
    })
}

pub fn notices_of(conn: &mut DbConn, user_id: i64) -> AppResult<Vec<BNotice>> {
    Ok(b_notices::table
        .filter(b_notices::user_id.eq(user_id))
        .order(b_notices::id.desc())
        .select(BNotice::as_select())
        .load(conn)?)
}

#[derive(Debug, Clone, Serialize, ToSchema, Queryable)]
pub struct Threshold {
    pub payment_year: i64,
    pub threshold_cents: i64,
    pub source: String,
}

/// Every 1099-NEC threshold, by payment year.
pub fn thresholds(conn: &mut DbConn) -> AppResult<Vec<Threshold>> {
    Ok(tax_thresholds::table
        .order(tax_thresholds::payment_year)
        .select((tax_thresholds::payment_year, tax_thresholds::threshold_cents, tax_thresholds::source))
        .load(conn)?)
}

/// One page of the 1099-NEC thresholds, by payment year, after the cursor (a year).
pub fn threshold_page(conn: &mut DbConn, after: Option<i64>, limit: Option<i64>) -> AppResult<Vec<Threshold>> {
    Ok(tax_thresholds::table
        .filter(tax_thresholds::payment_year.gt(after.unwrap_or(i64::MIN)))
        .order(tax_thresholds::payment_year)
        .limit(crate::db::page_limit(limit))
        .select((tax_thresholds::payment_year, tax_thresholds::threshold_cents, tax_thresholds::source))
        .load(conn)?)
}

/// The 1099-NEC threshold for payments made in `year`, from the data table.
pub fn threshold_for(conn: &mut DbConn, year: i64) -> AppResult<Option<i64>> {
    Ok(tax_thresholds::table.find(year).select(tax_thresholds::threshold_cents).first(conn).optional()?)
}

/// Moves the payments of exempt payees (a corporation, or exempt payee code 1 to 5 on
/// the current W-9) from box 1 to the excluded total: no Form 1099-NEC reports them.
/// Payments withheld on before the payee proved the exemption stay reported, so box 4
/// credits the tax withheld (a form is due whenever tax was withheld).
pub fn apply_exemptions(
    conn: &mut DbConn,
    totals: &mut std::collections::BTreeMap<i64, super::year_end::YearTotals>,
) -> AppResult<()> {
    let ids: Vec<i64> = totals.keys().copied().collect();
    let mut profiles = HashMap::new();
    for chunk in ids.chunks(crate::db::LOOKUP_CHUNK) {
        profiles.extend(current_profiles_of(conn, chunk)?);
    }
    for (user, t) in totals.iter_mut() {
        let exempt = profiles.get(user).and_then(TaxProfile::reporting_exemption).is_some();
        if exempt && t.federal_withheld_cents == 0 {
            t.excluded_cents += t.reportable_cents;
            t.reportable_cents = 0;
        }
    }
    Ok(())
}

/// Tells every admin, once per year, that forms of `year` were issued with the
/// threshold of `from` because the year's inflation-indexed figure is not on file, and
/// audits it.
pub fn alert_threshold_assumed(
    conn: &mut DbConn,
    now: NaiveDateTime,
    ctx: &RequestCtx,
    year: i64,
    from: i64,
    cents: i64,
) -> AppResult<()> {
    use crate::db::schema::{user_roles, users};
    let admins: Vec<(i64, String, String)> = users::table
        .inner_join(user_roles::table)
        .filter(user_roles::role.eq(crate::auth::roles::Role::Admin.as_str()))
        .select((users::id, users::email, users::full_name))
        .load(conn)?;
    let mut told = 0;
    for (id, email, name) in admins {
        let queued = crate::notifications::enqueue_once(
            conn,
            now,
            &email,
            &format!("threshold_assumed:{year}:{id}"),
            &crate::notifications::templates::AdminAlert {
                full_name: name,
                subject: format!("No 1099-NEC threshold on file for {year}"),
                headline: format!(
                    "The {year} forms are issued with the {from} threshold ({} USD), a floor of the inflation-indexed figure.",
                    super::year_end::dollars(cents)
                ),
                reason: "26 USC 6041(a): from 2027 the threshold is indexed for inflation".into(),
                note: String::new(),
                next_steps: format!(
                    "Record the published figure with PUT /api/v1/admin/tax-thresholds/{year}; forms already issued stay valid."
                ),
            },
        )?;
        told += usize::from(queued);
    }
    if told > 0 {
        audit::record(
            conn,
            now,
            ctx,
            AuditEvent {
                actor_id: None,
                action: AuditAction::TaxThresholdAssumed,
                subject_type: AuditSubject::TaxThreshold,
                subject_id: Some(year.to_string()),
                summary: json!({"year": year, "from_year": from, "threshold_cents": cents, "admins_told": told}),
            },
        )?;
    }
    Ok(())
}

/// Adds or changes the threshold of a payment year (inflation indexing after 2026).
pub fn set_threshold(
    state: &AppState,
    ctx: &RequestCtx,
    admin_id: i64,
    year: i64,
    cents: i64,
    source: &str,
) -> AppResult<Threshold> {
    if !(2000..=2100).contains(&year) {
        return Err(AppError::field("year", "range", "a payment year between 2000 and 2100"));
    }
    if cents <= 0 {
        return Err(AppError::field("threshold_cents", "positive", "a positive amount in cents"));
    }
    state.db.tx_sync(|conn| {
        let now = state.clock.now();
        let before = threshold_for(conn, year)?;
        if before.is_some() {
            diesel::update(tax_thresholds::table.find(year))
                .set((tax_thresholds::threshold_cents.eq(cents), tax_thresholds::source.eq(source)))
                .execute(conn)?;
        } else {
            diesel::insert_into(tax_thresholds::table)
                .values((
                    tax_thresholds::payment_year.eq(year),
                    tax_thresholds::threshold_cents.eq(cents),
                    tax_thresholds::source.eq(source),
                ))
                .execute(conn)?;
        }
        audit::record(
            conn,
            now,
            ctx,
            AuditEvent {
                actor_id: Some(admin_id),
                action: AuditAction::TaxThresholdSet,
                subject_type: AuditSubject::TaxThreshold,
                subject_id: Some(year.to_string()),
                summary: json!({"before": before, "after": cents, "source": source}),
            },
        )?;
        Ok(Threshold { payment_year: year, threshold_cents: cents, source: source.to_string() })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn business_days_skip_weekends() {
        let friday = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
        assert_eq!(add_business_days(friday, 1), NaiveDate::from_ymd_opt(2026, 11, 23).unwrap());
        // Thanksgiving, Christmas and New Year's Day are not business days.
        assert_eq!(add_business_days(friday, 5), NaiveDate::from_ymd_opt(2026, 11, 30).unwrap());
        assert_eq!(add_business_days(friday, 30), NaiveDate::from_ymd_opt(2027, 1, 6).unwrap());
    }

    fn at(y: i32, m: u32, d: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d).unwrap().and_hms_opt(12, 0, 0).unwrap()
    }

    fn notice(kind: NoticeKind, received: NaiveDate, recorded: NaiveDateTime) -> BNotice {
        BNotice {
            id: 1,
            user_id: 7,
            notice: kind,
            received_on: received,
            note: String::new(),
            recorded_by: 2,
            recorded_at: recorded,
            cleared_at: None,
            cleared_by: None,
            cleared_reason: None,
        }
    }

    fn w9(signed: NaiveDateTime, classification: &str, code: Option<&str>) -> TaxProfile {
        TaxProfile {
            id: 1,
            user_id: 7,
            version: 1,
            legal_name: "Lena Ortiz".into(),
            business_name: None,
            tax_classification: crate::tax::model::TaxClassification::parse(classification).unwrap(),
            address_line1: "1 Elm St".into(),
            address_line2: None,
            city: "Austin".into(),
            region: "TX".into(),
            postal_code: "78701".into(),
            tin_type: super::tin::TinType::Ssn,
            tin_enc: String::new(),
            tin_last4: "6789".into(),
            subject_to_backup_withholding: false,
            signature_name: "Lena Ortiz".into(),
            signed_at: signed,
            signed_ip: None,
            created_at: signed,
            exempt_payee_code: code.and_then(ExemptPayeeCode::parse),
        }
    }

    /// Pub 1281: the "B" notice within 15 business days of receipt, withholding after 30
    /// unless a certified W-9 comes back. A notice received on Friday, November 20, 2026:
    /// Thanksgiving (Nov 26), Christmas and New Year's Day are not business days.
    #[test]
    fn pub_1281_dates_of_a_first_b_notice() {
        let received = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
        let view = BNoticeView::from(notice(NoticeKind::First, received, at(2026, 11, 23)));
        assert_eq!(view.send_by, NaiveDate::from_ymd_opt(2026, 12, 14).unwrap());
        assert_eq!(view.withholding_starts_on, NaiveDate::from_ymd_opt(2027, 1, 6));
        assert!(!view.payee_notice_late);
        assert!(
            !BNoticeView::from(notice(NoticeKind::First, received, at(2026, 12, 14))).payee_notice_late,
            "the 15th day is in time"
        );
        assert!(BNoticeView::from(notice(NoticeKind::First, received, at(2026, 12, 15))).payee_notice_late);
        assert_eq!(
            BNoticeView::from(notice(NoticeKind::Second, received, at(2026, 11, 23))).withholding_starts_on,
            None
        );
    }

    #[test]
    fn first_notice_withholding_starts_after_30_business_days_unless_cured() {
        let rate = Decimal::new(24, 2);
        let received = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
        let first = [notice(NoticeKind::First, received, at(2026, 11, 23))];
        let signed_before = w9(at(2026, 1, 5), "individual", None);
        let waiting = withholding_of(Some(&signed_before), &first, rate, NaiveDate::from_ymd_opt(2027, 1, 5).unwrap());
        assert!(!waiting.required);
        assert_eq!(waiting.w9_due_by, NaiveDate::from_ymd_opt(2027, 1, 6));
        let started = withholding_of(Some(&signed_before), &first, rate, NaiveDate::from_ymd_opt(2027, 1, 6).unwrap());
        assert_eq!(
            (started.required, started.reasons.as_slice()),
            (true, [WithholdingReason::FirstBNotice].as_slice())
        );
        let cured = w9(at(2026, 12, 1), "individual", None);
        let after = withholding_of(Some(&cured), &first, rate, NaiveDate::from_ymd_opt(2027, 2, 1).unwrap());
        assert!(!after.required && after.w9_due_by.is_none());
        let second = [
            notice(NoticeKind::First, received, at(2026, 11, 23)),
            notice(NoticeKind::Second, received, at(2026, 11, 23)),
        ];
        let validated = withholding_of(Some(&cured), &second, rate, NaiveDate::from_ymd_opt(2026, 12, 2).unwrap());
        assert!(validated.required && validated.tin_validation_due, "a new W-9 does not end a second notice");
        // An exempt payee is never withheld on.
        let corporation = w9(at(2026, 1, 5), "c_corporation", None);
        let exempt = withholding_of(Some(&corporation), &second, rate, NaiveDate::from_ymd_opt(2027, 2, 1).unwrap());
        assert!(!exempt.required && exempt.exempt_payee.is_some());
        assert!(withholding_of(None, &[], rate, received).required, "no W-9: tin_missing");
    }
}
