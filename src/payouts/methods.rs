//! Payout methods: validation, encryption at rest, masking, the change hold and the
//! alert to the account's email address.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;
use validator::ValidateEmail;

use super::ach_codes::Correction;
use super::model::*;
use super::routing;
use crate::audit::{self, AuditAction, AuditEvent, AuditSubject};
use crate::auth::service::find_user;
use crate::auth::RequestCtx;
use crate::db::schema::payout_methods;
use crate::db::DbConn;
use crate::error::{AppError, AppResult, FieldError};
use crate::notifications::{self, templates::PayoutMethodChanged};
use crate::AppState;

/// What a contributor sends; which fields apply depends on the rail.
#[derive(Debug, Clone)]
pub struct MethodInput {
    pub rail: Rail,
    pub email: Option<String>,
    pub holder_name: Option<String>,
    pub routing_number: Option<String>,
    pub account_number: Option<String>,
    pub account_type: Option<BankAccountType>,
}

fn digits_only(s: &str) -> String {
    s.chars().filter(|c| !matches!(c, ' ' | '-')).collect()
}

fn bank(input: &MethodInput, errors: &mut Vec<FieldError>) -> Option<BankAccount> {
    let holder = input.holder_name.as_deref().map(str::trim).unwrap_or("");
    if holder.is_empty() || holder.chars().count() > 100 {
        errors.push(FieldError::new("holder_name", "length", "the account holder's name, 1 to 100 characters"));
    }
    errors.extend(crate::text::check("holder_name", holder));
    let routing = digits_only(input.routing_number.as_deref().unwrap_or(""));
    if !routing::is_valid(&routing) {
        errors.push(FieldError::new(
            "routing_number",
            "aba_check_digit",
            "a nine-digit ABA routing number with a valid check digit",
        ));
    }
    let account = digits_only(input.account_number.as_deref().unwrap_or(""));
    if !(4..=17).contains(&account.len()) || !account.bytes().all(|b| b.is_ascii_digit()) {
        errors.push(FieldError::new("account_number", "account_number", "an account number of 4 to 17 digits"));
    }
    if input.account_type.is_none() {
        errors.push(FieldError::new("account_type", "required", "checking or savings"));
    }
    Some(BankAccount {
        holder_name: holder.to_string(),
        routing_number: routing,
        account_number: account,
        account_type: input.account_type?,
    })
}

fn email(input: &MethodInput, errors: &mut Vec<FieldError>) -> Option<String> {
    let e = input.email.as_deref().map(str::trim).unwrap_or("");
    if !e.validate_email() {
        errors.push(FieldError::new("email", "email", "the email address of the receiving account"));
        return None;
    }
    if let Some(error) = crate::text::check("email", e) {
        errors.push(error);
        return None;
    }
    Some(e.to_ascii_lowercase())
}

/// The destination a request describes, or every invalid field. Pure.
pub fn validate(input: &MethodInput) -> Result<Destination, Vec<FieldError>> {
    let mut errors = Vec::new();
    let has_bank = input.account_number.is_some() || input.routing_number.is_some();
    let dest = match input.rail {
        Rail::Paypal => email(input, &mut errors).map(|email| Destination::Email { email }),
        Rail::Ach => bank(input, &mut errors).map(Destination::Bank),
        Rail::Wise if has_bank && input.email.is_some() => {
            errors.push(FieldError::new("email", "exclusive", "either an email or bank details, not both"));
            None
        }
        Rail::Wise if has_bank => bank(input, &mut errors).map(Destination::Bank),
        Rail::Wise => email(input, &mut errors).map(|email| Destination::Email { email }),
    };
    match dest {
        Some(d) if errors.is_empty() => Ok(d),
        _ => Err(errors),
    }
}

/// A method as every response shows it: masked.
#[derive(Debug, Serialize, ToSchema)]
pub struct MethodView {
    pub id: i64,
    pub rail: Rail,
    pub status: MethodStatus,
    /// Why a method needs an update (the failed or returned payment's reason).
    pub status_reason: Option<String>,
    /// E.g. `ACH checking ****6789` or `PayPal a***@example.com`.
    pub destination: String,
    /// The change hold: payouts use the method from then on.
    #[serde(with = "crate::clock::utc")]
    pub usable_from: NaiveDateTime,
    pub on_hold: bool,
    /// True for the method payouts use (the newest, not replaced).
    pub current: bool,
    #[serde(with = "crate::clock::utc")]
    pub created_at: NaiveDateTime,
}

impl MethodView {
    pub fn new(m: MethodRow, now: NaiveDateTime) -> Self {
        Self {
            id: m.id,
            rail: m.rail(),
            status: m.status(),
            current: m.status() != MethodStatus::Replaced,
            on_hold: m.usable_from > now,
            status_reason: m.status_reason,
            destination: m.masked,
            usable_from: m.usable_from,
            created_at: m.created_at,
        }
    }
}

/// The contributor's current (not replaced) method.
pub fn current_method(conn: &mut DbConn, user_id: i64) -> AppResult<Option<MethodRow>> {
    Ok(payout_methods::table
        .filter(payout_methods::user_id.eq(user_id))
        .filter(payout_methods::status.ne(MethodStatus::Replaced.as_str()))
        .select(MethodRow::as_select())
        .first(conn)
        .optional()?)
}

/// [`current_method`] for many users at once (readiness in bulk), by user id.
pub fn current_methods_of(conn: &mut DbConn, among: crate::db::among::Among<'_>) -> AppResult<HashMap<i64, MethodRow>> {
    Ok(crate::among!(
        payout_methods::table
            .filter(payout_methods::status.ne(MethodStatus::Replaced.as_str()))
            .select(MethodRow::as_select()),
        payout_methods::user_id,
        among
    )
    .load::<MethodRow>(conn)?
    .into_iter()
    .map(|m| (m.user_id, m))
    .collect())
}

pub fn method(conn: &mut DbConn, id: i64) -> AppResult<MethodRow> {
    Ok(payout_methods::table.find(id).select(MethodRow::as_select()).first(conn)?)
}

/// Decrypts a method's destination (exports only).
pub fn destination(st: &AppState, m: &MethodRow) -> AppResult<Destination> {
    decrypt_destination(st, m.id, &m.details_enc)
}

/// [`destination`] from the two columns it reads (export pages select only these).
pub fn decrypt_destination(st: &AppState, method_id: i64, details_enc: &str) -> AppResult<Destination> {
    let plain = st
        .cipher
        .decrypt_str(details_enc)
        .map_err(|_| AppError::Internal(anyhow::anyhow!("payout method {method_id} does not decrypt")))?;
    serde_json::from_str(&plain).map_err(|e| AppError::Internal(anyhow::anyhow!("payout method {method_id}: {e}")))
}

/// Adds a method, replacing the current one. A change (not the first method) waits out
/// the change hold and alerts the account's email address.
pub fn add_method(st: &AppState, ctx: &RequestCtx, user_id: i64, input: MethodInput) -> AppResult<MethodView> {
    let dest = validate(&input).map_err(AppError::Validation)?;
    st.db.tx_sync(|conn| {
        let now = st.clock.now();
        let hold = crate::settings::current(conn, st)?.method_change_hold();
        let user = find_user(conn, user_id)?;
        let previous = current_method(conn, user_id)?;
        let usable_from = if previous.is_some() { now + hold } else { now };
        let id = replace_current(
            st,
            conn,
            now,
            ctx,
            Some(user_id),
            &user,
            previous.as_ref(),
            input.rail,
            &dest,
            usable_from,
            "",
        )?;
        Ok(MethodView::new(method(conn, id)?, now))
    })
}

/// Makes `dest` the user's current method in place of `previous`: the old row is kept
/// (items and re-exports still read it), marked replaced; the new one is usable from
/// `usable_from`; a change is emailed to the account's address (`bank_notice` names
/// the bank's notification of change when the bank made it) and audited.
#[allow(clippy::too_many_arguments)]
fn replace_current(
    st: &AppState,
    conn: &mut DbConn,
    now: NaiveDateTime,
    ctx: &RequestCtx,
    actor_id: Option<i64>,
    user: &crate::auth::model::User,
    previous: Option<&MethodRow>,
    rail: Rail,
    dest: &Destination,
    usable_from: NaiveDateTime,
    bank_notice: &str,
) -> AppResult<i64> {
    let masked = dest.masked(rail);
    let details_enc = st.cipher.encrypt_str(&serde_json::to_string(dest).map_err(anyhow::Error::from)?);
    if let Some(p) = previous {
        diesel::update(payout_methods::table.find(p.id))
            .set((payout_methods::status.eq(MethodStatus::Replaced.as_str()), payout_methods::replaced_at.eq(now)))
            .execute(conn)?;
    }
    let id: i64 = diesel::insert_into(payout_methods::table)
        .values(NewMethodRow {
            user_id: user.id,
            rail,
            status: MethodStatus::Active,
            details_enc: &details_enc,
            masked: &masked,
            usable_from,
            created_at: now,
            destination_kind: dest.kind(),
        })
        .returning(payout_methods::id)
        .get_result(conn)?;
    audit::record(
        conn,
        now,
        ctx,
        AuditEvent {
            actor_id,
            action: if bank_notice.is_empty() {
                AuditAction::PayoutMethodAdded
            } else {
                AuditAction::PayoutMethodCorrected
            },
            subject_type: AuditSubject::PayoutMethod,
            subject_id: Some(id.to_string()),
            summary: json!({"before": previous.map(|p| json!({"id": p.id, "destination": p.masked})),
                "after": {"rail": rail.as_str(), "destination": masked, "usable_from": crate::clock::rfc3339(usable_from)},
                "notification_of_change": (!bank_notice.is_empty()).then_some(bank_notice)}),
        },
    )?;
    if let Some(p) = previous {
        notifications::enqueue(
            conn,
            now,
            &user.email,
            &format!("payout_method_changed:{id}"),
            &PayoutMethodChanged {
                full_name: user.full_name.clone(),
                old_destination: p.masked.clone(),
                new_destination: masked.clone(),
                usable_from: usable_from.format("%Y-%m-%d %H:%M UTC").to_string(),
                bank_notice: bank_notice.to_string(),
            },
        )?;
    }
    Ok(id)
}

crate::text_enum! {
    /// What applying a notification of change did to the contributor's method.
    pub enum CorrectionOutcome {
        /// A corrected method replaced the one the item was paid to.
        Applied = "applied",
        /// Nothing in the method to correct (or it already reads so): recorded only.
        Recorded = "recorded",
        /// The contributor replaced that method since: their own choice stands.
        MethodReplaced = "method_replaced",
    }
}

/// Applies an ACH notification of change to the method `paid_to` (the method a payout
/// item was sent to). Banks correct their own data, so the corrected method takes the
/// old one's place without a new change hold (what is left of the old hold stays) and
/// keeps its status; the account's email address gets the change alert. The corrected
/// details must pass the checks of any new bank account (ABA check digit, 4 to 17
/// digits). Returns the outcome and the new method's id when applied.
/// What [`apply_correction`] did, or why the corrected details are refused.
pub enum CorrectionResult {
    Done { outcome: CorrectionOutcome, new_method: Option<i64> },
    Refused(Vec<FieldError>),
}

pub fn apply_correction(
    st: &AppState,
    conn: &mut DbConn,
    ctx: &RequestCtx,
    finance_id: i64,
    paid_to: &MethodRow,
    correction: &Correction,
    bank_notice: &str,
) -> AppResult<CorrectionResult> {
    let now = st.clock.now();
    if correction.is_empty() {
        return Ok(CorrectionResult::Done { outcome: CorrectionOutcome::Recorded, new_method: None });
    }
    let current = current_method(conn, paid_to.user_id)?;
    if current.as_ref().map(|m| m.id) != Some(paid_to.id) {
        return Ok(CorrectionResult::Done { outcome: CorrectionOutcome::MethodReplaced, new_method: None });
    }
    let Destination::Bank(bank) = destination(st, paid_to)? else {
        return Ok(CorrectionResult::Refused(vec![FieldError::new(
            "item_id",
            "not_a_bank_account",
            "the item was not paid to a bank account",
        )]));
    };
    let corrected = BankAccount {
        holder_name: correction.holder_name.clone().unwrap_or(bank.holder_name.clone()),
        routing_number: correction.routing_number.clone().unwrap_or(bank.routing_number.clone()),
        account_number: correction.account_number.clone().unwrap_or(bank.account_number.clone()),
        account_type: correction.account_type.unwrap_or(bank.account_type),
    };
    if corrected == bank {
        return Ok(CorrectionResult::Done { outcome: CorrectionOutcome::Recorded, new_method: None });
    }
    let input = MethodInput {
        rail: paid_to.rail(),
        email: None,
        holder_name: Some(corrected.holder_name.clone()),
        routing_number: Some(corrected.routing_number.clone()),
        account_number: Some(corrected.account_number.clone()),
        account_type: Some(corrected.account_type),
    };
    let dest = match validate(&input) {
        Ok(d) => d,
        Err(errors) => return Ok(CorrectionResult::Refused(errors)),
    };
    let user = find_user(conn, paid_to.user_id)?;
    let usable_from = paid_to.usable_from.max(now);
    let id = replace_current(
        st,
        conn,
        now,
        ctx,
        Some(finance_id),
        &user,
        Some(paid_to),
        paid_to.rail(),
        &dest,
        usable_from,
        bank_notice,
    )?;
    if paid_to.status() == MethodStatus::NeedsUpdate {
        mark_needs_update(conn, id, paid_to.status_reason.as_deref().unwrap_or(bank_notice))?;
    }
    Ok(CorrectionResult::Done { outcome: CorrectionOutcome::Applied, new_method: Some(id) })
}

/// The contributor's methods, newest first.
pub fn list_methods(
    st: &AppState,
    user_id: i64,
    before: Option<i64>,
    limit: Option<i64>,
) -> AppResult<Vec<MethodView>> {
    let now = st.clock.now();
    st.db.read_sync(|conn| {
        let rows: Vec<MethodRow> = payout_methods::table
            .filter(payout_methods::user_id.eq(user_id))
            .filter(payout_methods::id.lt(before.unwrap_or(i64::MAX)))
            .order(payout_methods::id.desc())
            .limit(crate::db::page_limit(limit))
            .select(MethodRow::as_select())
            .load(conn)?;
        Ok(rows.into_iter().map(|m| MethodView::new(m, now)).collect())
    })
}

/// After a failed or returned payment: the method needs an update, with the reason.
pub fn mark_needs_update(conn: &mut DbConn, method_id: i64, reason: &str) -> AppResult<()> {
    diesel::update(
        payout_methods::table
            .filter(payout_methods::id.eq(method_id))
            .filter(payout_methods::status.eq(MethodStatus::Active.as_str())),
    )
    .set((payout_methods::status.eq(MethodStatus::NeedsUpdate.as_str()), payout_methods::status_reason.eq(reason)))
    .execute(conn)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ach(routing: &str, account: &str) -> MethodInput {
        MethodInput {
            rail: Rail::Ach,
            email: None,
            holder_name: Some("Dee Doe".into()),
            routing_number: Some(routing.into()),
            account_number: Some(account.into()),
            account_type: Some(BankAccountType::Checking),
        }
    }

    #[test]
    fn ach_needs_a_valid_routing_number_and_account() {
        assert!(validate(&ach("021000021", "123456789")).is_ok());
        let errors = validate(&ach("021000022", "123")).unwrap_err();
        let codes: Vec<&str> = errors.iter().map(|e| e.code.as_str()).collect();
        assert_eq!(codes, ["aba_check_digit", "account_number"]);
        assert!(validate(&ach("021000021", "123456789012345678")).is_err(), "18 digits");
        assert!(validate(&ach("021000021", "1234")).is_ok(), "4 digits");
    }

    #[test]
    fn masks_never_show_the_account_number() {
        let Ok(d) = validate(&ach("021000021", "0001236789")) else { panic!() };
        assert_eq!(d.masked(Rail::Ach), "ACH checking ****6789");
        let paypal = Destination::Email { email: "ana@example.com".into() };
        assert_eq!(paypal.masked(Rail::Paypal), "PayPal a***@example.com");
    }

    #[test]
    fn wise_takes_an_email_or_bank_details() {
        let mut w = ach("021000021", "123456789");
        w.rail = Rail::Wise;
        assert!(matches!(validate(&w), Ok(Destination::Bank(_))));
        w.email = Some("a@example.com".into());
        assert!(validate(&w).is_err());
        let e = MethodInput { rail: Rail::Wise, email: Some("a@example.com".into()), ..ach("", "") };
        let e = MethodInput { holder_name: None, routing_number: None, account_number: None, account_type: None, ..e };
        assert!(matches!(validate(&e), Ok(Destination::Email { .. })));
    }
}
