//! Payout requirements for the readiness checker: the method, its change hold, a method
//! that needs an update, the minimum balance and a payment hold. (The W-9 is the tax
//! provider's `w9_on_file`.)

use chrono::NaiveDateTime;

use super::model::MethodStatus;
use super::service::{amount, payment_hold};
use crate::auth::model::UserStatus;
use crate::readiness::{Blocks, Facts, Requirement, RequirementStatus as S};

pub fn requirements(now: NaiveDateTime, facts: &Facts, minimum_cents: i64) -> Vec<Requirement> {
    let user = &facts.user;
    if user.status() == UserStatus::Staff {
        return Vec::new();
    }
    let payouts = |mut r: Requirement| {
        r.blocks = vec![Blocks::Payouts];
        r
    };
    let mut out = Vec::new();
    let method = &facts.method;
    out.push(payouts(match method {
        None => Requirement::new(
            "payout_method",
            S::CurrentlyDue,
            "Add a payout method (PayPal, Wise or a US bank account) with POST /me/payout-methods.",
        ),
        Some(_) => Requirement::satisfied("payout_method"),
    }));
    if let Some(m) = method {
        out.push(payouts(if m.status() == MethodStatus::NeedsUpdate {
            Requirement::new(
                "payout_method_needs_update",
                S::PastDue,
                format!(
                    "A payment to {} did not go through ({}). Add a new payout method; the money is back in your available balance.",
                    m.masked,
                    m.status_reason.as_deref().unwrap_or("no reason given")
                ),
            )
        } else {
            Requirement::satisfied("payout_method_needs_update")
        }));
        out.push(payouts(if m.usable_from > now {
            Requirement::new(
                "payout_method_change_hold",
                S::PendingReview,
                format!(
                    "Your new payout method is usable from {} (a security hold after every change); nothing to do.",
                    m.usable_from.format("%Y-%m-%d %H:%M UTC")
                ),
            )
            .due_by(Some(m.usable_from.date()))
        } else {
            Requirement::satisfied("payout_method_change_hold")
        }));
    }
    let available = facts.available_cents;
    out.push(payouts(if available < minimum_cents {
        Requirement::new(
            "payout_minimum_balance",
            S::CurrentlyDue,
            format!(
                "Payouts start at {} USD available; you have {} USD. Keep working: it pays out once the minimum is reached.",
                amount(minimum_cents),
                amount(available)
            ),
        )
    } else {
        Requirement::satisfied("payout_minimum_balance")
    }));
    out.push(payouts(if payment_hold(&user.status()) {
        Requirement::new("payment_hold", S::CurrentlyDue, "Payouts are on hold for your account; contact support.")
    } else {
        Requirement::satisfied("payment_hold")
    }));
    out
}
