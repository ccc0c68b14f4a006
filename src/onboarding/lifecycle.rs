//! The contributor state machine of SPEC §2. Every status change goes through [`next`],
//! so an impossible transition is an error in one place.

use crate::auth::model::UserStatus::{self, *};
use crate::error::AppError;

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
        (from, t) => {
            return Err(AppError::conflict(
                "invalid_transition",
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
    }
}
