//! Credential requirements for the readiness checker.

use chrono::NaiveDateTime;

use super::model::CredentialStatus;
use super::service::list_mine;
use crate::auth::model::User;
use crate::db::DbConn;
use crate::error::AppResult;
use crate::readiness::{Requirement, RequirementStatus as S};

/// One line per credential that needs attention: awaiting review, more information
/// requested, expiring within 30 days, or lapsed. These are informational: a missing
/// credential only closes the project types and tests that need it.
pub fn requirements(conn: &mut DbConn, now: NaiveDateTime, user: &User) -> AppResult<Vec<Requirement>> {
    let today = now.date();
    let mut out = Vec::new();
    for c in list_mine(conn, user.id)? {
        let code = format!("credential:{}", c.id);
        let what = c.describe();
        let r = match c.status() {
            CredentialStatus::PendingReview => {
                Requirement::new(code, S::PendingReview, format!("A reviewer is checking your {what}."))
            }
            CredentialStatus::MoreInfoRequested => Requirement::new(
                code,
                S::CurrentlyDue,
                format!("Upload your {what} again with replaces={} (see GET /me/decisions for why).", c.id),
            ),
            CredentialStatus::Lapsed => Requirement::new(
                code,
                S::PastDue,
                format!("Your {what} expired; upload the renewed document to restore what it gave you."),
            )
            .due_by(c.expires_on),
            CredentialStatus::Verified if c.expires_on.is_some_and(|e| (e - today).num_days() <= 30) => {
                Requirement::new(
                    code,
                    S::CurrentlyDue,
                    format!("Your {what} expires soon; upload the renewed document before it does."),
                )
                .due_by(c.expires_on)
            }
            _ => continue,
        };
        out.push(r.blocking_nothing());
    }
    Ok(out)
}
