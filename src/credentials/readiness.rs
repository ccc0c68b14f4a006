//! Credential requirements for the readiness checker.

use chrono::NaiveDateTime;

use super::model::CredentialStatus;
use crate::readiness::{Facts, Requirement, RequirementStatus as S};

/// One line per credential that needs attention: awaiting review, more information
/// requested, expiring within 30 days, or lapsed. These are informational: a missing
/// credential only closes the project types and tests that need it.
pub fn requirements(now: NaiveDateTime, facts: &Facts) -> Vec<Requirement> {
    let today = now.date();
    let mut out = Vec::new();
    for c in &facts.credentials {
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
    out
}
