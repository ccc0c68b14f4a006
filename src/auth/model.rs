use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{email_tokens, refresh_tokens, user_roles, users};

crate::text_enum! {
    /// Where an account stands. Applicants follow the contributor lifecycle of SPEC §2
    /// (plus `closed`, their own choice); staff accounts are `staff` (or `disabled`). What
    /// each status may still do is in docs/design.md ("What each status may do").
    pub enum UserStatus {
        Registered = "registered",
        EmailVerified = "email_verified",
        AuthorizationPending = "authorization_pending",
        AuthorizationVerified = "authorization_verified",
        Active = "active",
        Rejected = "rejected",
        Suspended = "suspended",
        Removed = "removed",
        Staff = "staff",
        Disabled = "disabled",
        Closed = "closed",
    }
}

impl UserStatus {
    /// Accounts that may not sign in at all: only disabled staff. Removed, rejected and
    /// closed contributors sign in to read their own records ([`Self::read_only`]).
    pub fn blocks_login(self) -> bool {
        self == Self::Disabled
    }

    /// Accounts that keep read access to their own records (decisions, earnings, 1099s)
    /// but change nothing: every state-changing API request is refused.
    pub fn read_only(self) -> bool {
        matches!(self, Self::Rejected | Self::Removed | Self::Closed)
    }

    /// Statuses that bar new work (SPEC §2, §3): the status part of the eligibility rule.
    pub fn blocks_work(self) -> bool {
        matches!(self, Self::Rejected | Self::Suspended | Self::Removed | Self::Disabled | Self::Closed)
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub password_hash: Option<String>,
    pub full_name: String,
    pub status: UserStatus,
    pub email_verified_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub status_reason: Option<String>,
    pub status_until: Option<NaiveDateTime>,
    /// Since when the account has been, without a break, in statuses that bar new work;
    /// `None` while its status allows work.
    pub work_blocked_since: Option<NaiveDateTime>,
}

impl User {
    pub fn status(&self) -> UserStatus {
        self.status
    }
}

#[derive(Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub email: &'a str,
    pub password_hash: Option<&'a str>,
    pub full_name: &'a str,
    pub status: UserStatus,
    pub email_verified_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = user_roles)]
pub struct NewUserRole {
    pub user_id: i64,
    pub role: super::roles::Role,
}

crate::text_enum! {
    pub enum TokenPurpose {
        VerifyEmail = "verify_email",
        PasswordReset = "password_reset",
        StaffInvite = "staff_invite",
    }
}

impl TokenPurpose {
    /// The purposes one link replaces: a new or completed link revokes every earlier
    /// unused link of its family (a reset and a staff invitation both set the password).
    pub fn family(self) -> &'static [TokenPurpose] {
        match self {
            Self::VerifyEmail => &[Self::VerifyEmail],
            Self::PasswordReset | Self::StaffInvite => &[Self::PasswordReset, Self::StaffInvite],
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = email_tokens)]
pub struct EmailToken {
    pub id: i64,
    pub user_id: i64,
    pub purpose: TokenPurpose,
    pub token_hash: String,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
}

#[derive(Insertable)]
#[diesel(table_name = email_tokens)]
pub struct NewEmailToken<'a> {
    pub user_id: i64,
    pub purpose: TokenPurpose,
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
