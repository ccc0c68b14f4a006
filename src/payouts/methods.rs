//! Payout methods: validation, encryption at rest, masking, the change hold and the
//! alert to the account's email address.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;
use validator::ValidateEmail;

use super::model::*;
use super::routing;
use crate::audit::{self, AuditEvent};
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
    pub usable_from: NaiveDateTime,
    pub on_hold: bool,
    /// True for the method payouts use (the newest, not replaced).
    pub current: bool,
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
pub fn current_methods_of(conn: &mut DbConn, user_ids: &[i64]) -> AppResult<HashMap<i64, MethodRow>> {
    Ok(payout_methods::table
        .filter(payout_methods::user_id.eq_any(user_ids))
        .filter(payout_methods::status.ne(MethodStatus::Replaced.as_str()))
        .select(MethodRow::as_select())
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
    let plain = st
        .cipher
        .decrypt_str(&m.details_enc)
        .map_err(|_| AppError::Internal(anyhow::anyhow!("payout method {} does not decrypt", m.id)))?;
    serde_json::from_str(&plain).map_err(|e| AppError::Internal(anyhow::anyhow!("payout method {}: {e}", m.id)))
}

/// Adds a method, replacing the current one. A change (not the first method) waits out
/// the change hold and alerts the account's email address.
pub fn add_method(st: &AppState, ctx: &RequestCtx, user_id: i64, input: MethodInput) -> AppResult<MethodView> {
    let dest = validate(&input).map_err(AppError::Validation)?;
    let rail = input.rail;
    let masked = dest.masked(rail);
    let details_enc = st.cipher.encrypt_str(&serde_json::to_string(&dest).map_err(anyhow::Error::from)?);
    let hold = st.config.payouts.method_change_hold;
    st.db.tx_sync(|conn| {
        let now = st.clock.now();
        let user = find_user(conn, user_id)?;
        let previous = current_method(conn, user_id)?;
        if let Some(p) = &previous {
            diesel::update(payout_methods::table.find(p.id))
                .set((payout_methods::status.eq(MethodStatus::Replaced.as_str()), payout_methods::replaced_at.eq(now)))
                .execute(conn)?;
        }
        let usable_from = if previous.is_some() { now + hold } else { now };
        let id: i64 = diesel::insert_into(payout_methods::table)
            .values(NewMethodRow {
                user_id,
                rail: rail.as_str(),
                status: MethodStatus::Active.as_str(),
                details_enc: &details_enc,
                masked: &masked,
                usable_from,
                created_at: now,
                destination_kind: dest.kind().as_str(),
            })
            .returning(payout_methods::id)
            .get_result(conn)?;
        audit::record(
            conn,
            now,
            ctx,
            AuditEvent {
                actor_id: Some(user_id),
                action: "payout_method.added",
                subject_type: "payout_method",
                subject_id: Some(id.to_string()),
                summary: json!({"before": previous.as_ref().map(|p| json!({"id": p.id, "destination": p.masked})),
                    "after": {"rail": rail.as_str(), "destination": masked, "usable_from": usable_from}}),
            },
        )?;
        if let Some(p) = &previous {
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
                },
            )?;
        }
        Ok(MethodView::new(method(conn, id)?, now))
    })
}

/// The contributor's methods, newest first.
pub fn list_methods(st: &AppState, user_id: i64) -> AppResult<Vec<MethodView>> {
    let now = st.clock.now();
    st.db.read_sync(|conn| {
        let rows: Vec<MethodRow> = payout_methods::table
            .filter(payout_methods::user_id.eq(user_id))
            .order(payout_methods::id.desc())
            .limit(50)
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
