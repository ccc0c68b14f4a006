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

/// A staff role known at compile time, so `Staff<Finance>` in a handler signature says
/// who may call it.
pub trait StaffRole {
    const ROLE: Role;
}

pub struct Reviewer;
pub struct Finance;
pub struct Admin;

impl StaffRole for Reviewer {
    const ROLE: Role = Role::Reviewer;
}
impl StaffRole for Finance {
    const ROLE: Role = Role::Finance;
}
impl StaffRole for Admin {
    const ROLE: Role = Role::Admin;
}
