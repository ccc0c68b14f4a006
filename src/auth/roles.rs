use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Applicant,
    Reviewer,
    Finance,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Applicant => "applicant",
            Self::Reviewer => "reviewer",
            Self::Finance => "finance",
            Self::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "applicant" => Self::Applicant,
            "reviewer" => Self::Reviewer,
            "finance" => Self::Finance,
            "admin" => Self::Admin,
            _ => return None,
        })
    }

    pub fn is_staff(self) -> bool {
        self != Self::Applicant
    }
}

/// A role an admin grants: `applicant` comes with registering and is never granted.
/// The document's item type of `roles` in staff requests (the service reads [`Role`] and
/// refuses `applicant` with 422 `staff_roles`, so the console gets the same answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GrantableRole {
    Reviewer,
    Finance,
    Admin,
}

/// A staff role known at compile time, so `Staff<Finance>` in a handler signature says
/// who may call it.
pub trait StaffRole {
    /// Human name of the requirement, for the 403 message.
    const NAME: &'static str;
    fn permits(roles: &[Role]) -> bool;
}

pub struct Reviewer;
pub struct Finance;
pub struct Admin;
/// Any of reviewer, finance or admin.
pub struct AnyStaff;

macro_rules! single_role {
    ($marker:ident, $role:expr, $name:literal) => {
        impl StaffRole for $marker {
            const NAME: &'static str = $name;
            fn permits(roles: &[Role]) -> bool {
                roles.contains(&$role)
            }
        }
    };
}
single_role!(Reviewer, Role::Reviewer, "the reviewer role");
single_role!(Finance, Role::Finance, "the finance role");
single_role!(Admin, Role::Admin, "the admin role");

impl StaffRole for AnyStaff {
    const NAME: &'static str = "a staff role";
    fn permits(roles: &[Role]) -> bool {
        roles.iter().any(|r| r.is_staff())
    }
}
