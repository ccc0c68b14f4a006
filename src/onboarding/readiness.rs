//! Onboarding's requirements for the readiness checker. The account, email and work
//! authorization requirements carry the reasons of the eligibility rule
//! (`super::eligibility`): each blocks work exactly when the rule names its reason for
//! now, and payouts exactly when the rule's standing part does.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::eligibility::{self, PayBlock, VerifiedSpan, WorkBlock};
use super::model::{AuthorizationStatus, Profile, WorkAuthorization};
use crate::auth::model::{User, UserStatus};
use crate::db::among::Among;
use crate::db::schema::{contributor_profiles, work_authorizations};
use crate::db::DbConn;
use crate::error::AppResult;
use crate::readiness::{Blocks, Person, Provider, ProviderFacts, Requirement, RequirementCode, RequirementStatus as S};

/// Onboarding's readiness provider: the account, email, profile and work authorization.
pub struct Onboarding;

/// What onboarding reads about one person.
pub struct OnboardingFacts {
    pub profile: Option<Profile>,
    /// The latest authorization that is not superseded.
    pub current_authorization: Option<WorkAuthorization>,
    /// The latest verified authorization (in force while a reverification is reviewed).
    pub verified_authorization: Option<WorkAuthorization>,
    /// Every authorization ever verified, renewals included: what the eligibility rule
    /// reads.
    pub verified: Vec<VerifiedSpan>,
    /// Finance released a removed contributor's earned money (`payouts::releases`).
    pub released: bool,
}

impl Provider for Onboarding {
    fn name(&self) -> &'static str {
        "onboarding"
    }

    fn load(
        &self,
        conn: &mut DbConn,
        _now: NaiveDateTime,
        people: &[Person],
        among: Among<'_>,
    ) -> AppResult<Vec<Box<dyn ProviderFacts>>> {
        let mut profiles = profiles_of(conn, among)?;
        let mut authorizations = authorizations_of(conn, among)?;
        let mut spans = eligibility::verified_spans_of(conn, among)?;
        let released = crate::payouts::releases::released_of(conn, among)?;
        Ok(people
            .iter()
            .map(|p| {
                let id = p.user.id;
                let (current_authorization, verified_authorization) = authorizations.remove(&id).unwrap_or_default();
                Box::new(OnboardingFacts {
                    profile: profiles.remove(&id),
                    current_authorization,
                    verified_authorization,
                    verified: spans.remove(&id).unwrap_or_default(),
                    released: released.contains(&id),
                }) as Box<dyn ProviderFacts>
            })
            .collect())
    }
}

impl ProviderFacts for OnboardingFacts {
    fn requirements(&self, now: NaiveDateTime, person: &Person, _payout_minimum_cents: i64) -> Vec<Requirement> {
        requirements(now, &person.user, self)
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// [`super::service::find_profile`] for many users at once (readiness in bulk), by user id.
pub fn profiles_of(conn: &mut DbConn, among: Among<'_>) -> AppResult<HashMap<i64, Profile>> {
    Ok(crate::among!(contributor_profiles::table.select(Profile::as_select()), contributor_profiles::user_id, among)
        .load::<Profile>(conn)?
        .into_iter()
        .map(|p| (p.user_id, p))
        .collect())
}

/// A user's current authorization and their last verified one.
pub type CurrentAndVerified = (Option<WorkAuthorization>, Option<WorkAuthorization>);

/// [`super::service::current_authorization`] and [`super::service::verified_authorization`] for many users at once
/// (readiness in bulk), by user id. A verified authorization is never superseded, so
/// both come from the one list of authorizations that are not.
pub fn authorizations_of(conn: &mut DbConn, among: Among<'_>) -> AppResult<HashMap<i64, CurrentAndVerified>> {
    let rows: Vec<WorkAuthorization> = crate::among!(
        work_authorizations::table
            .filter(work_authorizations::status.ne(AuthorizationStatus::Superseded.as_str()))
            .order((work_authorizations::user_id.asc(), work_authorizations::id.desc()))
            .select(WorkAuthorization::as_select()),
        work_authorizations::user_id,
        among
    )
    .load(conn)?;
    let mut out: HashMap<i64, CurrentAndVerified> = HashMap::new();
    for w in rows {
        let (current, verified) = out.entry(w.user_id).or_default();
        if verified.is_none() && w.status() == AuthorizationStatus::Verified {
            *verified = Some(w.clone());
        }
        current.get_or_insert(w);
    }
    Ok(out)
}

/// Sets what a requirement holds back: `work` and `payouts` from the rule; a requirement
/// that holds nothing back is satisfied unless `informational` keeps it on the list.
fn blocking(mut r: Requirement, work: bool, payouts: bool) -> Requirement {
    r.blocks =
        [(work, Blocks::Work), (payouts, Blocks::Payouts)].into_iter().filter(|(b, _)| *b).map(|(_, b)| b).collect();
    r
}

/// The onboarding lines of readiness, in order: account standing, email, profile, work
/// authorization, and (once an authorization with an end date is verified) its renewal.
pub fn requirements(now: NaiveDateTime, user: &User, facts: &OnboardingFacts) -> Vec<Requirement> {
    let work = eligibility::work_blocks_at(user, &facts.verified, now);
    let pay = eligibility::pay_blocks(user, &facts.verified, facts.released);
    let mut out = vec![
        account_standing(user, &work, &pay),
        email_verified(&work, &pay),
        profile_complete(facts),
        work_authorization(facts, &work, &pay),
    ];
    out.extend(work_authorization_current(now, facts, &work));
    out
}

/// `account_in_good_standing`: past due while the account is inactive (holds work back)
/// or rejected (holds payouts back too), with what its status means.
fn account_standing(user: &User, work: &[WorkBlock], pay: &[PayBlock]) -> Requirement {
    let reason = || user.status_reason.as_deref().unwrap_or("no reason recorded").replace('_', " ");
    let inactive = work.iter().any(|b| matches!(b, WorkBlock::AccountInactive(_) | WorkBlock::NotAContributor));
    let rejected = pay.contains(&PayBlock::Rejected);
    if !inactive && !rejected {
        return Requirement::satisfied(RequirementCode::AccountInGoodStanding);
    }
    let fix = match user.status() {
        UserStatus::Suspended => format!("New work is paused: {}. Earned money is still paid.", reason()),
        UserStatus::Closed => "You closed your account: no new work. Money you earned is paid out in full, \
                               whatever the amount; nothing to do."
            .to_string(),
        UserStatus::Removed => format!(
            "Your account was removed: {}. See GET /me/decisions for the full reason; the payment_hold \
             line says when earned money is paid.",
            reason()
        ),
        _ => format!("Your account was {}: {}. See GET /me/decisions for the full reason.", user.status, reason()),
    };
    blocking(Requirement::new(RequirementCode::AccountInGoodStanding, S::PastDue, fix), inactive, rejected)
}

/// `email_verified`, holding back what the eligibility rule says an unverified email does.
fn email_verified(work: &[WorkBlock], pay: &[PayBlock]) -> Requirement {
    let (work_email, pay_email) =
        (work.contains(&WorkBlock::EmailNotVerified), pay.contains(&PayBlock::EmailNotVerified));
    if !work_email && !pay_email {
        return Requirement::satisfied(RequirementCode::EmailVerified);
    }
    blocking(
        Requirement::new(
            RequirementCode::EmailVerified,
            S::CurrentlyDue,
            "Open the link we emailed you. Ask for a new one with POST /auth/verify-email/resend.",
        ),
        work_email,
        pay_email,
    )
}

/// `profile_complete`: the fields still missing (all of them without a profile).
fn profile_complete(facts: &OnboardingFacts) -> Requirement {
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
    if missing.is_empty() {
        return Requirement::satisfied(RequirementCode::ProfileComplete);
    }
    let mut r = Requirement::new(
        RequirementCode::ProfileComplete,
        S::CurrentlyDue,
        format!("Complete your profile with PATCH /me: {}.", missing.join(", ")),
    );
    r.blocks = vec![Blocks::Work, Blocks::Payouts];
    r
}

/// `work_authorization`: the next step of the current authorization while none was ever
/// verified.
fn work_authorization(facts: &OnboardingFacts, work: &[WorkBlock], pay: &[PayBlock]) -> Requirement {
    let (work_auth, pay_auth) =
        (work.contains(&WorkBlock::AuthorizationNotVerified), pay.contains(&PayBlock::NeverAuthorized));
    let documents = match facts.current_authorization.as_ref().map(|w| w.status()) {
        _ if !work_auth && !pay_auth => Requirement::satisfied(RequirementCode::WorkAuthorization),
        None | Some(AuthorizationStatus::Verified) => Requirement::new(
            RequirementCode::WorkAuthorization,
            S::CurrentlyDue,
            "Attest your US work authorization with PUT /me/work-authorization. Work done and money earned \
             count only once it is verified.",
        ),
        Some(AuthorizationStatus::Attested) => Requirement::new(
            RequirementCode::WorkAuthorization,
            S::CurrentlyDue,
            "Upload one List A document, or one List B and one List C document of your choice \
             (POST /me/work-authorization/documents).",
        ),
        Some(AuthorizationStatus::PendingReview) => Requirement::new(
            RequirementCode::WorkAuthorization,
            S::PendingReview,
            "A reviewer is checking your documents.",
        ),
        Some(AuthorizationStatus::MoreInfoRequested) => Requirement::new(
            RequirementCode::WorkAuthorization,
            S::CurrentlyDue,
            "A reviewer asked for more information (see GET /me/decisions); upload your documents again.",
        ),
        Some(AuthorizationStatus::Rejected | AuthorizationStatus::Superseded) => Requirement::new(
            RequirementCode::WorkAuthorization,
            S::PastDue,
            "Your work authorization could not be verified; see GET /me/decisions.",
        ),
    };
    blocking(documents, work_auth, pay_auth)
}

/// `work_authorization_current`, once an authorization with an end date is verified.
/// Reverification follows the attested date and the document presented (M-274 6.1): the
/// spans end on `reverify_on`; the latest one verified decides.
fn work_authorization_current(now: NaiveDateTime, facts: &OnboardingFacts, work: &[WorkBlock]) -> Option<Requirement> {
    let expires_on = facts.verified.last().and_then(|span| span.expires_on)?;
    let days_left = (expires_on - now.date()).num_days();
    let expired = work.contains(&WorkBlock::AuthorizationExpired);
    let renewal = facts.current_authorization.as_ref().filter(|w| w.reverification).map(|w| w.status());
    let r = match (expired, renewal) {
        (_, Some(AuthorizationStatus::PendingReview)) => Requirement::new(
            RequirementCode::WorkAuthorizationCurrent,
            S::PendingReview,
            "A reviewer is checking your reverification documents.",
        ),
        (true, Some(AuthorizationStatus::Attested | AuthorizationStatus::MoreInfoRequested)) => Requirement::new(
            RequirementCode::WorkAuthorizationCurrent,
            S::CurrentlyDue,
            "Upload one List A or List C document for your renewed authorization \
             (POST /me/work-authorization/documents).",
        ),
        (true, _) => Requirement::new(
            RequirementCode::WorkAuthorizationCurrent,
            S::PastDue,
            "Your work authorization expired: attest the renewed one and upload one List A or List C document. \
             Money you already earned is still paid.",
        ),
        (false, _) if days_left <= 90 => Requirement::new(
            RequirementCode::WorkAuthorizationCurrent,
            S::CurrentlyDue,
            "Your work authorization expires soon: attest the renewed one and upload one List A or List C document.",
        ),
        (false, _) => Requirement::satisfied(RequirementCode::WorkAuthorizationCurrent),
    };
    Some(blocking(r, expired, false).due_by(Some(expires_on)))
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, NaiveDateTime};

    use super::*;

    fn at(day: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 6, day).unwrap().and_hms_opt(12, 0, 0).unwrap()
    }

    fn user(status: UserStatus, email: bool) -> User {
        User { email_verified_at: email.then(|| at(1)), ..crate::readiness::testing::user(status) }
    }

    fn facts(spans: Vec<VerifiedSpan>, released: bool) -> OnboardingFacts {
        OnboardingFacts {
            profile: None,
            current_authorization: None,
            verified_authorization: None,
            verified: spans,
            released,
        }
    }

    /// The readiness requirements that carry the rule's reasons block work and payouts
    /// exactly when the rule says so, for every status and combination of facts.
    #[test]
    fn readiness_blocks_exactly_what_the_eligibility_rule_says() {
        let now = at(20);
        let span = |expires: Option<u32>| VerifiedSpan {
            verified_at: at(2),
            expires_on: expires.map(|d| NaiveDate::from_ymd_opt(2026, 6, d).unwrap()),
        };
        let statuses = [
            UserStatus::Registered,
            UserStatus::EmailVerified,
            UserStatus::AuthorizationPending,
            UserStatus::AuthorizationVerified,
            UserStatus::Active,
            UserStatus::Rejected,
            UserStatus::Suspended,
            UserStatus::Removed,
            UserStatus::Closed,
        ];
        let mut checked = 0;
        for status in statuses {
            for email in [false, true] {
                for spans in [vec![], vec![span(None)], vec![span(Some(10))], vec![span(Some(10)), span(Some(30))]] {
                    for released in [false, true] {
                        let (u, f) = (user(status, email), facts(spans.clone(), released));
                        let mut reqs: Vec<Requirement> = requirements(now, &u, &f)
                            .into_iter()
                            .filter(|r| r.code != RequirementCode::ProfileComplete)
                            .collect();
                        let payout_facts =
                            crate::payouts::readiness::PayoutFacts { method: None, verified: spans.clone(), released };
                        reqs.extend(
                            crate::payouts::readiness::requirements(now, &u, 0, &payout_facts, 1_000)
                                .into_iter()
                                .filter(|r| r.code == RequirementCode::PaymentHold),
                        );
                        // As `readiness::evaluate` counts them: unsatisfied requirements only.
                        let blocks = |b: Blocks| reqs.iter().any(|r| r.status != S::Satisfied && r.blocks.contains(&b));
                        let work = eligibility::work_blocks_at(&u, &f.verified, now);
                        let pay = eligibility::pay_blocks(&u, &f.verified, released);
                        let case = format!("{status:?} email={email} spans={spans:?} released={released}");
                        assert_eq!(blocks(Blocks::Work), !work.is_empty(), "work: {case}: {work:?}");
                        assert_eq!(blocks(Blocks::Payouts), !pay.is_empty(), "payouts: {case}: {pay:?}");
                        // Only the expiry reminder is shown without holding anything back.
                        for r in reqs.iter().filter(|r| r.status != S::Satisfied && r.blocks.is_empty()) {
                            assert_eq!(r.code, RequirementCode::WorkAuthorizationCurrent, "{case}: {r:?}");
                        }
                        checked += 1;
                    }
                }
            }
        }
        assert_eq!(checked, 9 * 2 * 4 * 2);
    }
}
