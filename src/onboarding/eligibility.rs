//! The eligibility rule (issue 15, docs/onboarding.md "Who may work and be paid"):
//! "may work at time t" and the standing part of "may be paid", as pure functions of a
//! person's account and the authorizations ever verified for them. Ingest applies it per
//! record at `completed_at`; the readiness checker builds its requirements from the same
//! predicates, and the payout preview and batch build read the readiness checker, so
//! every door gives the same answer.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::auth::model::{User, UserStatus};
use crate::db::schema::work_authorizations;
use crate::db::DbConn;
use crate::error::AppResult;

/// An authorization as verified: from when, and until which day it is in force (`None`:
/// it does not expire). The last day is the authorization's `reverify_on`: the earliest of
/// the attested expiration date and the expiry of the List A or List C document presented
/// (M-274 6.1, docs/onboarding.md), so a temporary I-551 stamp ends the span too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifiedSpan {
    pub verified_at: NaiveDateTime,
    pub expires_on: Option<NaiveDate>,
}

impl VerifiedSpan {
    /// In force at `t`: verified by then and not expired on that day (the expiry date
    /// is the last day it covers).
    pub fn in_force_at(&self, t: NaiveDateTime) -> bool {
        self.verified_at <= t && self.expires_on.is_none_or(|last| t.date() <= last)
    }
}

/// Why someone may not work at a given time. The codes are stable: ingest reports them
/// per record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkBlock {
    /// Staff and disabled accounts are not contributors.
    NotAContributor,
    /// The account was in a status that bars new work (rejected, suspended, removed,
    /// closed) at that time and still is.
    AccountInactive(UserStatus),
    EmailNotVerified,
    AuthorizationNotVerified,
    AuthorizationExpired,
}

impl WorkBlock {
    pub fn code(self) -> &'static str {
        match self {
            Self::NotAContributor | Self::AccountInactive(_) => "contributor_inactive",
            Self::EmailNotVerified => "email_not_verified",
            Self::AuthorizationNotVerified => "work_authorization_not_verified",
            Self::AuthorizationExpired => "work_authorization_expired",
        }
    }

    pub fn explain(self) -> String {
        match self {
            Self::NotAContributor => "the account is not a contributor account".into(),
            Self::AccountInactive(status) => {
                format!("the contributor's account is {} and cannot be credited new work", status.as_str())
            }
            Self::EmailNotVerified => "the contributor's email address was not verified by then".into(),
            Self::AuthorizationNotVerified => "the contributor had no verified US work authorization by then".into(),
            Self::AuthorizationExpired => "the contributor's US work authorization had expired by then".into(),
        }
    }
}

/// Whether the account's status allowed work at `t`: not a status that bars work, or
/// one that began after `t` (work done before a suspension or removal still counts).
pub fn status_allows_work_at(user: &User, t: NaiveDateTime) -> Result<(), WorkBlock> {
    let status = user.status();
    if matches!(status, UserStatus::Staff | UserStatus::Disabled) {
        return Err(WorkBlock::NotAContributor);
    }
    match user.work_blocked_since {
        Some(since) if status.blocks_work() && since <= t => Err(WorkBlock::AccountInactive(status)),
        // The column is written with every status change; a blocking status without it
        // (written by hand) counts as blocking all along.
        None if status.blocks_work() => Err(WorkBlock::AccountInactive(status)),
        _ => Ok(()),
    }
}

/// Whether the email address was verified by `t` (SPEC §1: nothing counts before).
pub fn email_verified_by(user: &User, t: NaiveDateTime) -> bool {
    user.email_verified_at.is_some_and(|at| at <= t)
}

/// Whether a verified authorization was in force at `t`; which block applies if not.
pub fn authorization_at(verified: &[VerifiedSpan], t: NaiveDateTime) -> Result<(), WorkBlock> {
    if verified.iter().any(|s| s.in_force_at(t)) {
        Ok(())
    } else if verified.iter().any(|s| s.verified_at <= t) {
        Err(WorkBlock::AuthorizationExpired)
    } else {
        Err(WorkBlock::AuthorizationNotVerified)
    }
}

/// Every reason someone may not work at `t`, in the order they are reported (empty: they
/// may). Each reason stands on its own, so the readiness checker can say all of them.
pub fn work_blocks_at(user: &User, verified: &[VerifiedSpan], t: NaiveDateTime) -> Vec<WorkBlock> {
    let mut out = Vec::new();
    if let Err(b) = status_allows_work_at(user, t) {
        out.push(b);
    }
    if !email_verified_by(user, t) {
        out.push(WorkBlock::EmailNotVerified);
    }
    if let Err(b) = authorization_at(verified, t) {
        out.push(b);
    }
    out
}

/// "May work at time t": a contributor whose status allowed work then, whose email was
/// verified and who held a verified, unexpired US work authorization.
pub fn may_work_at(user: &User, verified: &[VerifiedSpan], t: NaiveDateTime) -> Result<(), WorkBlock> {
    work_blocks_at(user, verified, t).into_iter().next().map_or(Ok(()), Err)
}

/// Why someone's earned money may not be paid (the standing part of "may be paid"; the
/// payout method, W-9 and balance are the payout requirements beside it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayBlock {
    EmailNotVerified,
    /// Never verified as authorized to work in the US: never paid (SPEC §3).
    NeverAuthorized,
    Rejected,
    /// Removed, until finance releases the earned money (issue 16 item 4), or a staff
    /// account.
    PaymentHold,
}

/// Every reason someone's earned money may not be paid now (the standing part of "may be
/// paid"). An expired authorization and a suspension do not stop paying money already
/// earned (SPEC §3, §4); a removal does until finance releases it (SPEC §8, issue 16
/// item 4); a closed account is paid.
pub fn pay_blocks(user: &User, verified: &[VerifiedSpan], released: bool) -> Vec<PayBlock> {
    let mut out = Vec::new();
    match user.status() {
        UserStatus::Rejected => out.push(PayBlock::Rejected),
        UserStatus::Staff | UserStatus::Disabled => out.push(PayBlock::PaymentHold),
        UserStatus::Removed if !released => out.push(PayBlock::PaymentHold),
        _ => {}
    }
    if user.email_verified_at.is_none() {
        out.push(PayBlock::EmailNotVerified);
    }
    if verified.is_empty() {
        out.push(PayBlock::NeverAuthorized);
    }
    out
}

/// The first of [`pay_blocks`], if any.
pub fn pay_standing(user: &User, verified: &[VerifiedSpan], released: bool) -> Result<(), PayBlock> {
    pay_blocks(user, verified, released).into_iter().next().map_or(Ok(()), Err)
}

/// Whether the payout minimum is waived: the final payout of someone who left (a closed
/// account, or a removed one whose money finance released) is paid whatever its size
/// (issue 16 item 19).
pub fn final_payout(user: &User, released: bool) -> bool {
    match user.status() {
        UserStatus::Closed => true,
        UserStatus::Removed => released,
        _ => false,
    }
}

/// The authorizations ever verified for each of `user_ids` (superseded renewals
/// included), oldest first.
pub fn verified_spans_of(
    conn: &mut DbConn,
    among: crate::db::among::Among<'_>,
) -> AppResult<HashMap<i64, Vec<VerifiedSpan>>> {
    let rows: Vec<(i64, NaiveDateTime, Option<NaiveDate>)> = crate::among!(
        work_authorizations::table
            .filter(work_authorizations::verified_at.is_not_null())
            .order((work_authorizations::user_id.asc(), work_authorizations::verified_at.asc()))
            .select((
                work_authorizations::user_id,
                work_authorizations::verified_at.assume_not_null(),
                work_authorizations::reverify_on,
            )),
        work_authorizations::user_id,
        among
    )
    .load(conn)?;
    let mut out: HashMap<i64, Vec<VerifiedSpan>> = HashMap::new();
    for (user, verified_at, reverify_on) in rows {
        out.entry(user).or_default().push(VerifiedSpan { verified_at, expires_on: reverify_on });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(day: u32, hour: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 6, day).unwrap().and_hms_opt(hour, 0, 0).unwrap()
    }

    fn user(status: UserStatus, verified_email: Option<NaiveDateTime>, blocked: Option<NaiveDateTime>) -> User {
        User {
            id: 1,
            email: "a@example.com".into(),
            password_hash: None,
            full_name: "A".into(),
            status,
            email_verified_at: verified_email,
            created_at: at(1, 0),
            updated_at: at(1, 0),
            status_reason: None,
            status_until: None,
            work_blocked_since: blocked,
        }
    }

    fn span(day: u32, expires: Option<u32>) -> VerifiedSpan {
        VerifiedSpan {
            verified_at: at(day, 12),
            expires_on: expires.map(|d| NaiveDate::from_ymd_opt(2026, 6, d).unwrap()),
        }
    }

    #[test]
    fn the_registered_only_person_may_not_work() {
        let registered = user(UserStatus::Registered, None, None);
        assert_eq!(may_work_at(&registered, &[], at(10, 0)), Err(WorkBlock::EmailNotVerified));
        let verified_email = user(UserStatus::EmailVerified, Some(at(2, 0)), None);
        assert_eq!(may_work_at(&verified_email, &[], at(10, 0)), Err(WorkBlock::AuthorizationNotVerified));
        assert_eq!(WorkBlock::AuthorizationNotVerified.code(), "work_authorization_not_verified");
    }

    #[test]
    fn work_counts_only_between_verification_and_expiry() {
        let u = user(UserStatus::Active, Some(at(2, 0)), None);
        let spans = [span(3, Some(20))];
        assert_eq!(may_work_at(&u, &spans, at(3, 11)), Err(WorkBlock::AuthorizationNotVerified));
        assert_eq!(may_work_at(&u, &spans, at(3, 12)), Ok(()));
        assert_eq!(may_work_at(&u, &spans, at(20, 23)), Ok(()), "the expiry date is the last day covered");
        assert_eq!(may_work_at(&u, &spans, at(21, 0)), Err(WorkBlock::AuthorizationExpired));
        // A renewal verified later covers later work; the superseded span still covers
        // the work done under it.
        let renewed = [span(3, Some(20)), span(25, None)];
        assert_eq!(may_work_at(&u, &renewed, at(10, 0)), Ok(()));
        assert_eq!(may_work_at(&u, &renewed, at(22, 0)), Err(WorkBlock::AuthorizationExpired));
        assert_eq!(may_work_at(&u, &renewed, at(26, 0)), Ok(()));
        // Email verified after the work: it did not count.
        let late_email = user(UserStatus::Active, Some(at(11, 0)), None);
        assert_eq!(may_work_at(&late_email, &spans, at(10, 0)), Err(WorkBlock::EmailNotVerified));
    }

    #[test]
    fn a_blocking_status_counts_from_when_it_began() {
        let spans = [span(3, None)];
        let suspended = user(UserStatus::Suspended, Some(at(2, 0)), Some(at(15, 0)));
        assert_eq!(may_work_at(&suspended, &spans, at(14, 0)), Ok(()), "done before the suspension");
        assert_eq!(may_work_at(&suspended, &spans, at(15, 0)), Err(WorkBlock::AccountInactive(UserStatus::Suspended)));
        for status in [UserStatus::Removed, UserStatus::Closed, UserStatus::Rejected] {
            let u = user(status, Some(at(2, 0)), Some(at(15, 0)));
            assert_eq!(may_work_at(&u, &spans, at(16, 0)).unwrap_err().code(), "contributor_inactive");
        }
        let staff = user(UserStatus::Staff, Some(at(2, 0)), None);
        assert_eq!(may_work_at(&staff, &spans, at(16, 0)), Err(WorkBlock::NotAContributor));
    }

    #[test]
    fn earned_money_is_paid_through_expiry_and_suspension_but_not_removal_until_released() {
        let spans = [span(3, Some(5))];
        let suspended = user(UserStatus::Suspended, Some(at(2, 0)), Some(at(6, 0)));
        assert_eq!(pay_standing(&suspended, &spans, false), Ok(()));
        let removed = user(UserStatus::Removed, Some(at(2, 0)), Some(at(6, 0)));
        assert_eq!(pay_standing(&removed, &spans, false), Err(PayBlock::PaymentHold));
        assert_eq!(pay_standing(&removed, &spans, true), Ok(()));
        assert!(final_payout(&removed, true) && !final_payout(&removed, false));
        let closed = user(UserStatus::Closed, Some(at(2, 0)), Some(at(6, 0)));
        assert_eq!(pay_standing(&closed, &spans, false), Ok(()));
        assert!(final_payout(&closed, false));
        let never = user(UserStatus::EmailVerified, Some(at(2, 0)), None);
        assert_eq!(pay_standing(&never, &[], false), Err(PayBlock::NeverAuthorized));
        let unverified = user(UserStatus::Registered, None, None);
        assert_eq!(pay_standing(&unverified, &spans, false), Err(PayBlock::EmailNotVerified));
        let rejected = user(UserStatus::Rejected, Some(at(2, 0)), Some(at(4, 0)));
        assert_eq!(pay_standing(&rejected, &spans, false), Err(PayBlock::Rejected));
        assert!(!final_payout(&user(UserStatus::Active, Some(at(2, 0)), None), false));
    }
}
