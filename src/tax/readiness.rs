//! Tax requirements for the readiness checker.

use chrono::NaiveDateTime;

use super::service::{current_profile, withholding_status};
use crate::auth::model::User;
use crate::db::DbConn;
use crate::error::AppResult;
use crate::readiness::{Blocks, Requirement, RequirementStatus as S};

pub fn requirements(conn: &mut DbConn, now: NaiveDateTime, user: &User) -> AppResult<Vec<Requirement>> {
    let mut out = Vec::new();
    let mut w9 = if current_profile(conn, user.id)?.is_some() {
        Requirement::satisfied("w9_on_file")
    } else {
        Requirement::new(
            "w9_on_file",
            S::CurrentlyDue,
            "Give your tax details (Form W-9) with PUT /me/tax-profile; payouts wait for it.",
        )
    };
    w9.blocks = vec![Blocks::Payouts];
    out.push(w9);
    let status = withholding_status(conn, user.id, now.date())?;
    if status.required {
        let why = status.reasons.join(", ").replace('_', " ");
        out.push(
            Requirement::new(
                "backup_withholding",
                S::CurrentlyDue,
                format!(
                    "{}% of payouts is withheld for the IRS ({why}). A correct, certified W-9 ends it unless the IRS sent a second notice.",
                    (status.rate * rust_decimal::Decimal::ONE_HUNDRED).normalize()
                ),
            )
            .blocking_nothing(),
        );
    }
    Ok(out)
}
