//! Onboarding's requirements for the readiness checker.

use chrono::NaiveDateTime;

use super::model::AuthorizationStatus;
use crate::auth::model::UserStatus;
use crate::readiness::{Blocks, Facts, Requirement, RequirementStatus as S};

pub fn requirements(now: NaiveDateTime, facts: &Facts) -> Vec<Requirement> {
    let user = &facts.user;
    let mut out = Vec::new();
    let status = user.status();

    out.push(match status {
        UserStatus::Rejected | UserStatus::Removed => Requirement::new(
            "account_in_good_standing",
            S::PastDue,
            format!(
                "Your account was {}: {}. See GET /me/decisions for the full reason.",
                user.status,
                user.status_reason.as_deref().unwrap_or("no reason recorded").replace('_', " ")
            ),
        ),
        UserStatus::Suspended => Requirement::new(
            "account_in_good_standing",
            S::PastDue,
            format!(
                "New work is paused: {}. Earned money is still paid.",
                user.status_reason.as_deref().unwrap_or("suspended").replace('_', " ")
            ),
        ),
        _ => Requirement::satisfied("account_in_good_standing"),
    });

    out.push(if user.email_verified_at.is_some() {
        Requirement::satisfied("email_verified")
    } else {
        Requirement::new(
            "email_verified",
            S::CurrentlyDue,
            "Open the link we emailed you. Ask for a new one with POST /auth/verify-email/resend.",
        )
    });

    let missing = facts.profile.as_ref().map(|p| p.missing()).unwrap_or_else(|| {
        vec![
            "legal_name",
            "date_of_birth",
            "address.line1",
            "address.city",
            "address.region",
            "address.postal_code",
            "phone",
        ]
    });
    out.push(if missing.is_empty() {
        Requirement::satisfied("profile_complete")
    } else {
        let mut r = Requirement::new(
            "profile_complete",
            S::CurrentlyDue,
            format!("Complete your profile with PATCH /me: {}.", missing.join(", ")),
        );
        r.blocks = vec![Blocks::Work, Blocks::Payouts];
        r
    });

    let (current, verified) = (&facts.current_authorization, &facts.verified_authorization);
    let documents = match current.as_ref().map(|w| w.status()) {
        _ if verified.is_some() && status != UserStatus::Suspended => Requirement::satisfied("work_authorization"),
        None => Requirement::new(
            "work_authorization",
            S::CurrentlyDue,
            "Attest your US work authorization with PUT /me/work-authorization.",
        ),
        Some(AuthorizationStatus::Attested) => Requirement::new(
            "work_authorization",
            S::CurrentlyDue,
            "Upload one List A document, or one List B and one List C document of your choice \
             (POST /me/work-authorization/documents).",
        ),
        Some(AuthorizationStatus::PendingReview) => {
            Requirement::new("work_authorization", S::PendingReview, "A reviewer is checking your documents.")
        }
        Some(AuthorizationStatus::MoreInfoRequested) => Requirement::new(
            "work_authorization",
            S::CurrentlyDue,
            "A reviewer asked for more information (see GET /me/decisions); upload your documents again.",
        ),
        Some(AuthorizationStatus::Verified) => Requirement::satisfied("work_authorization"),
        Some(AuthorizationStatus::Rejected | AuthorizationStatus::Superseded) => Requirement::new(
            "work_authorization",
            S::PastDue,
            "Your work authorization could not be verified; see GET /me/decisions.",
        ),
    };
    out.push(documents);

    // Reverification follows the attested date and the document presented (M-274 6.1).
    if let Some(expires_on) = verified.as_ref().and_then(|w| w.reverify_on) {
        let days_left = (expires_on - now.date()).num_days();
        let pending =
            current.as_ref().is_some_and(|w| w.reverification && w.status() == AuthorizationStatus::PendingReview);
        let (st, fix) = if days_left < 0 {
            (
                S::PastDue,
                "Your work authorization expired: attest the renewed one and upload one List A or List C document.",
            )
        } else if pending {
            (S::PendingReview, "A reviewer is checking your reverification documents.")
        } else if days_left <= 90 {
            (S::CurrentlyDue, "Your work authorization expires soon: attest the renewed one and upload one List A or List C document.")
        } else {
            (S::Satisfied, "")
        };
        let r = if st == S::Satisfied {
            Requirement::satisfied("work_authorization_current")
        } else {
            Requirement::new("work_authorization_current", st, fix)
        };
        out.push(r.due_by(Some(expires_on)));
    }
    out
}
