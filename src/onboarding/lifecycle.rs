//! The contributor state machine of SPEC §2. Every status change goes through [`next`],
//! so an impossible transition is an error in one place.

use crate::auth::model::UserStatus::{self, *};
use crate::error::{AppError, ProblemCode};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    VerifyEmail,
    SubmitAuthorization,
    VerifyAuthorization,
    Activate,
    Reject,
    Suspend,
    Reinstate,
    Remove,
    /// The contributor closes their own account (issue 16 item 19).
    Close,
}

/// Since when a status that bars new work has held, after moving from `from` to `to`
/// at `now`: unchanged while one such status follows another, `None` once work is
/// allowed again.
pub fn work_blocked_since(
    from: UserStatus,
    to: UserStatus,
    since: Option<chrono::NaiveDateTime>,
    now: chrono::NaiveDateTime,
) -> Option<chrono::NaiveDateTime> {
    match (from.blocks_work(), to.blocks_work()) {
        (_, false) => None,
        (true, true) => since.or(Some(now)),
        (false, true) => Some(now),
    }
}

pub fn next(from: UserStatus, t: Transition) -> Result<UserStatus, AppError> {
    use Transition as T;
    let to = match (from, t) {
        (Registered, T::VerifyEmail) => EmailVerified,
        (EmailVerified | AuthorizationPending, T::SubmitAuthorization) => AuthorizationPending,
        (AuthorizationPending, T::VerifyAuthorization) => AuthorizationVerified,
        // Reverification with a List A or C document lifts an expiry suspension.
        (Suspended, T::VerifyAuthorization) => AuthorizationVerified,
        (AuthorizationVerified, T::Activate) => Active,
        (EmailVerified | AuthorizationPending, T::Reject) => Rejected,
        (AuthorizationVerified | Active, T::Suspend) => Suspended,
        (Suspended, T::Reinstate) => AuthorizationVerified,
        (s, T::Remove) if s != Removed && s != Staff && s != Disabled => Removed,
        (Registered | EmailVerified | AuthorizationPending | AuthorizationVerified | Active | Suspended, T::Close) => {
            Closed
        }
        (from, t) => {
            return Err(AppError::conflict(
                ProblemCode::InvalidTransition,
                format!("an account in status {} cannot {t:?}", from.as_str()),
            ))
        }
    };
    Ok(to)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_stays_blocked_from_the_first_blocking_status() {
        let t = |h: i64| chrono::DateTime::from_timestamp(1_800_000_000 + h * 3600, 0).unwrap().naive_utc();
        assert_eq!(work_blocked_since(Active, Suspended, None, t(1)), Some(t(1)));
        assert_eq!(work_blocked_since(Suspended, Removed, Some(t(1)), t(2)), Some(t(1)));
        assert_eq!(work_blocked_since(Suspended, AuthorizationVerified, Some(t(1)), t(3)), None);
        assert_eq!(work_blocked_since(Registered, EmailVerified, None, t(3)), None);
    }

    #[test]
    fn happy_path_and_refusals() {
        let s = next(Registered, Transition::VerifyEmail).unwrap();
        let s = next(s, Transition::SubmitAuthorization).unwrap();
        let s = next(s, Transition::VerifyAuthorization).unwrap();
        assert_eq!(next(s, Transition::Activate).unwrap(), Active);
        assert_eq!(next(Active, Transition::Suspend).unwrap(), Suspended);
        assert_eq!(next(Suspended, Transition::VerifyAuthorization).unwrap(), AuthorizationVerified);
        assert!(next(Registered, Transition::SubmitAuthorization).is_err());
        assert!(next(Rejected, Transition::VerifyAuthorization).is_err());
        assert!(next(Removed, Transition::Remove).is_err());
        assert!(next(Active, Transition::Reject).is_err());
        assert!(next(Staff, Transition::Remove).is_err());
        assert_eq!(next(Suspended, Transition::Close).unwrap(), Closed);
        assert_eq!(next(Closed, Transition::Remove).unwrap(), Removed);
        assert!(next(Closed, Transition::Close).is_err());
        assert!(next(Removed, Transition::Close).is_err());
        assert!(next(Staff, Transition::Close).is_err());
        assert!(next(Closed, Transition::VerifyAuthorization).is_err());
        assert!(next(Rejected, Transition::Close).is_err(), "rejected accounts are read-only already");
    }
}
