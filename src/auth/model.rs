use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{email_tokens, refresh_tokens, user_roles, users};

/// Where an account stands. Applicants follow the contributor lifecycle of SPEC §2;
/// staff accounts are `staff` (or `disabled`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UserStatus {
    Registered,
    EmailVerified,
    AuthorizationPending,
    AuthorizationVerified,
    Active,
    Rejected,
    Suspended,
    Removed,
    Staff,
    Disabled,
}

impl UserStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Registered => "registered",
            Self::EmailVerified => "email_verified",
            Self::AuthorizationPending => "authorization_pending",
            Self::AuthorizationVerified => "authorization_verified",
            Self::Active => "active",
            Self::Rejected => "rejected",
            Self::Suspended => "suspended",
            Self::Removed => "removed",
            Self::Staff => "staff",
            Self::Disabled => "disabled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "registered" => Self::Registered,
            "email_verified" => Self::EmailVerified,
            "authorization_pending" => Self::AuthorizationPending,
            "authorization_verified" => Self::AuthorizationVerified,
            "active" => Self::Active,
            "rejected" => Self::Rejected,
            "suspended" => Self::Suspended,
            "removed" => Self::Removed,
            "staff" => Self::Staff,
            "disabled" => Self::Disabled,
            _ => return None,
        })
    }

    /// Accounts that may not sign in at all.
    pub fn blocks_login(self) -> bool {
        matches!(self, Self::Removed | Self::Disabled)
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub password_hash: Option<String>,
    pub full_name: String,
    pub status: String,
    pub email_verified_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub status_reason: Option<String>,
    pub status_until: Option<NaiveDateTime>,
}

impl User {
    pub fn status(&self) -> UserStatus {
        // The CHECK constraint keeps the column to known values.
        UserStatus::parse(&self.status).unwrap_or(UserStatus::Disabled)
    }
}

#[derive(Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub email: &'a str,
    pub password_hash: Option<&'a str>,
    pub full_name: &'a str,
    pub status: &'a str,
    pub email_verified_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = user_roles)]
pub struct NewUserRole<'a> {
    pub user_id: i64,
    pub role: &'a str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPurpose {
    VerifyEmail,
    PasswordReset,
    StaffInvite,
}

impl TokenPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify_email",
            Self::PasswordReset => "password_reset",
            Self::StaffInvite => "staff_invite",
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = email_tokens)]
pub struct EmailToken {
    pub id: i64,
    pub user_id: i64,
    pub purpose: String,
    pub token_hash: String,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = email_tokens)]
pub struct NewEmailToken<'a> {
    pub user_id: i64,
    pub purpose: &'a str,
    pub token_hash: &'a str,
    pub expires_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = refresh_tokens)]
pub struct RefreshToken {
    pub id: i64,
    pub user_id: i64,
    pub family: String,
    pub token_hash: String,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = refresh_tokens)]
pub struct NewRefreshToken<'a> {
    pub user_id: i64,
    pub family: &'a str,
    pub token_hash: &'a str,
    pub expires_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
}
