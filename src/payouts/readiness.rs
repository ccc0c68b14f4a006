//! Payout requirements for the readiness checker: the method, its change hold, a method
//! that needs an update, the minimum balance and a payment hold. (The W-9 is the tax
//! provider's `w9_on_file`; email, authorization and standing are onboarding's, from the
//! eligibility rule.) The payment hold is the rule's: a removed account until finance
//! releases its earned money. The minimum is waived for the final payout of someone who
//! left (a closed account, a released removed one).

use chrono::NaiveDateTime;

use super::model::{MethodRow, MethodStatus};
use crate::auth::model::{User, UserStatus};
use crate::db::among::Among;
use crate::db::DbConn;
use crate::error::AppResult;
use crate::ledger::money::amount;
use crate::onboarding::eligibility::{self, PayBlock, VerifiedSpan};
use crate::readiness::{Blocks, Person, Provider, ProviderFacts, Requirement, RequirementCode, RequirementStatus as S};

/// Payouts' readiness provider.
pub struct Payouts;

/// What payouts read about one person (the batch build reads the method back).
pub struct PayoutFacts {
    /// The current method.
    pub method: Option<MethodRow>,
    /// Every authorization ever verified: the eligibility rule's payment hold reads them.
    pub verified: Vec<VerifiedSpan>,
    /// Finance released a removed contributor's earned money.
    pub released: bool,
}

impl Provider for Payouts {
    fn name(&self) -> &'static str {
        "payouts"
    }

    fn load(
        &self,
        conn: &mut DbConn,
        _now: NaiveDateTime,
        people: &[Person],
        among: Among<'_>,
    ) -> AppResult<Vec<Box<dyn ProviderFacts>>> {
        let mut methods = super::methods::current_methods_of(conn, among)?;
        let mut spans = eligibility::verified_spans_of(conn, among)?;
        let released = super::releases::released_of(conn, among)?;
        Ok(people
            .iter()
            .map(|p| {
                let id = p.user.id;
                Box::new(PayoutFacts {
                    method: methods.remove(&id),
                    verified: spans.remove(&id).unwrap_or_default(),
                    released: released.contains(&id),
                }) as Box<dyn ProviderFacts>
            })
            .collect())
    }
}

impl ProviderFacts for PayoutFacts {
    fn requirements(&self, now: NaiveDateTime, person: &Person, payout_minimum_cents: i64) -> Vec<Requirement> {
        requirements(now, &person.user, person.available_cents, self, payout_minimum_cents)
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

pub fn requirements(
    now: NaiveDateTime,
    user: &User,
    available: i64,
    facts: &PayoutFacts,
    minimum_cents: i64,
) -> Vec<Requirement> {
    if user.status() == UserStatus::Staff {
        return Vec::new();
    }
    let payouts = |mut r: Requirement| {
        r.blocks = vec![Blocks::Payouts];
        r
    };
    let mut out = Vec::new();
    // Read-only accounts cannot change their method themselves.
    let fix_method = if user.status().read_only() {
        "Your account is read-only: contact support to change your payout method."
    } else {
        "Add a new payout method"
    };
    let method = &facts.method;
    out.push(payouts(match method {
        None => Requirement::new(
            RequirementCode::PayoutMethod,
            S::CurrentlyDue,
            "Add a payout method (PayPal, Wise or a US bank account) with POST /me/payout-methods.",
        ),
        Some(_) => Requirement::satisfied(RequirementCode::PayoutMethod),
    }));
    if let Some(m) = method {
        out.push(payouts(if m.status() == MethodStatus::NeedsUpdate {
            Requirement::new(
                RequirementCode::PayoutMethodNeedsUpdate,
                S::PastDue,
                format!(
                    "A payment to {} did not go through ({}). {fix_method}; the money is back in your available balance.",
                    m.masked,
                    m.status_reason.as_deref().unwrap_or("no reason given")
                ),
            )
        } else {
            Requirement::satisfied(RequirementCode::PayoutMethodNeedsUpdate)
        }));
        out.push(payouts(if m.usable_from > now {
            Requirement::new(
                RequirementCode::PayoutMethodChangeHold,
                S::PendingReview,
                format!(
                    "Your new payout method is usable from {} (a security hold after every change); nothing to do.",
                    m.usable_from.format("%Y-%m-%d %H:%M UTC")
                ),
            )
            .due_by(Some(m.usable_from.date()))
        } else {
            Requirement::satisfied(RequirementCode::PayoutMethodChangeHold)
        }));
    }
    let minimum_cents = if eligibility::final_payout(user, facts.released) { 1 } else { minimum_cents };
    out.push(payouts(if available < minimum_cents {
        Requirement::new(
            RequirementCode::PayoutMinimumBalance,
            S::CurrentlyDue,
            format!(
                "Payouts start at {} USD available; you have {} USD. Keep working: it pays out once the minimum is reached.",
                amount(minimum_cents),
                amount(available)
            ),
        )
    } else {
        Requirement::satisfied(RequirementCode::PayoutMinimumBalance)
    }));
    let held = eligibility::pay_blocks(user, &facts.verified, facts.released).contains(&PayBlock::PaymentHold);
    out.push(payouts(match (held, user.status()) {
        (false, _) => Requirement::satisfied(RequirementCode::PaymentHold),
        (true, UserStatus::Removed) => Requirement::new(
            RequirementCode::PaymentHold,
            S::PendingReview,
            "Your account was removed: the money you earned is paid once finance releases it (a decision \
             by two finance staff). Nothing to do; you are emailed when it is released.",
        ),
        (true, _) => Requirement::new(
            RequirementCode::PaymentHold,
            S::CurrentlyDue,
            "Payouts are on hold for your account; contact support.",
        ),
    }));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::readiness::testing::{at, now, ready_payouts, user};

    const MINIMUM: i64 = 1_000;

    fn unsatisfied(reqs: &[Requirement]) -> Vec<(RequirementCode, S)> {
        reqs.iter().filter(|r| r.status != S::Satisfied).map(|r| (r.code, r.status)).collect()
    }

    fn active() -> User {
        user(UserStatus::Active)
    }

    #[test]
    fn a_ready_contributor_has_every_line_satisfied_and_payout_only() {
        let reqs = requirements(now(), &active(), 5_000, &ready_payouts(), MINIMUM);
        let codes: Vec<RequirementCode> = reqs.iter().map(|r| r.code).collect();
        assert_eq!(
            codes,
            [
                RequirementCode::PayoutMethod,
                RequirementCode::PayoutMethodNeedsUpdate,
                RequirementCode::PayoutMethodChangeHold,
                RequirementCode::PayoutMinimumBalance,
                RequirementCode::PaymentHold
            ]
        );
        assert_eq!(unsatisfied(&reqs), []);
        assert!(reqs.iter().all(|r| r.blocks == [Blocks::Payouts]));
        assert!(requirements(now(), &user(UserStatus::Staff), 5_000, &ready_payouts(), MINIMUM).is_empty());
    }

    #[test]
    fn method_hold_and_minimum() {
        let mut f = ready_payouts();
        f.method = None;
        assert_eq!(
            unsatisfied(&requirements(now(), &active(), MINIMUM - 1, &f, MINIMUM)),
            [
                (RequirementCode::PayoutMethod, S::CurrentlyDue),
                (RequirementCode::PayoutMinimumBalance, S::CurrentlyDue)
            ]
        );
        let mut f = ready_payouts();
        if let Some(m) = f.method.as_mut() {
            m.status = crate::payouts::model::MethodStatus::NeedsUpdate;
            m.status_reason = Some("R03 no account".into());
            m.usable_from = at(22);
        }
        let reqs = requirements(now(), &active(), 5_000, &f, MINIMUM);
        assert_eq!(
            unsatisfied(&reqs),
            [
                (RequirementCode::PayoutMethodNeedsUpdate, S::PastDue),
                (RequirementCode::PayoutMethodChangeHold, S::PendingReview)
            ]
        );
        assert!(reqs[1].how_to_fix.contains("R03 no account"), "{}", reqs[1].how_to_fix);
        assert_eq!(reqs[2].due_by, Some(at(22).date()));
    }

    #[test]
    fn the_minimum_is_waived_for_a_final_payout_and_removal_holds_until_released() {
        let mut f = ready_payouts();
        assert_eq!(unsatisfied(&requirements(now(), &user(UserStatus::Closed), 1, &f, MINIMUM)), []);
        assert_eq!(
            unsatisfied(&requirements(now(), &user(UserStatus::Removed), 1, &f, MINIMUM)),
            [
                (RequirementCode::PayoutMinimumBalance, S::CurrentlyDue),
                (RequirementCode::PaymentHold, S::PendingReview)
            ]
        );
        f.released = true;
        assert_eq!(unsatisfied(&requirements(now(), &user(UserStatus::Removed), 1, &f, MINIMUM)), []);
    }
}
