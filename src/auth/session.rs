//! API sessions: one `auth_sessions` row per sign-in (a refresh-token family). Access
//! tokens name their session (`sid`); every API request reads that row with the
//! account's current status and roles in one indexed query, so logout, a password
//! change, a removal, a disabled account or a role change take effect on the next
//! request instead of when the 15-minute token expires.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::UserStatus;
use super::roles::Role;
use crate::db::schema::{auth_sessions, user_roles, users};
use crate::db::DbConn;
use crate::error::{AppError, AppResult};

/// Who is behind a request, as the database says now.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user_id: i64,
    pub session_id: i64,
    pub status: UserStatus,
    /// Sorted.
    pub roles: Vec<Role>,
}

/// The answer for a token whose session ended or whose account may no longer sign in.
pub fn ended() -> AppError {
    AppError::Unauthorized("the session has ended; sign in again")
}

/// Whether a session row still admits requests for `user_id`: open, the token's own
/// user, an account that may sign in. The API check and the console's share it.
pub fn admits(token_user: i64, session_user: i64, revoked_at: Option<NaiveDateTime>, status: UserStatus) -> bool {
    token_user == session_user && revoked_at.is_none() && !status.blocks_login()
}

/// Sorted roles from the role column of a join that yields one row per role (or one row
/// with no role).
pub fn roles_from<'a>(names: impl Iterator<Item = Option<&'a str>>) -> Vec<Role> {
    let mut roles: Vec<Role> = names.flatten().filter_map(Role::parse).collect();
    roles.sort();
    roles.dedup();
    roles
}

/// The per-request check: the session `session_id` of the token's `user_id`, joined to
/// the user and their roles (one query, a primary-key lookup; a row per role).
pub fn principal(conn: &mut DbConn, session_id: i64, user_id: i64) -> AppResult<Principal> {
    let rows: Vec<(i64, Option<NaiveDateTime>, String, Option<String>)> = auth_sessions::table
        .inner_join(users::table)
        .left_join(user_roles::table.on(user_roles::user_id.eq(users::id)))
        .filter(auth_sessions::id.eq(session_id))
        .select((auth_sessions::user_id, auth_sessions::revoked_at, users::status, user_roles::role.nullable()))
        .load(conn)?;
    let (session_user, revoked_at, status) = match rows.first() {
        Some((u, r, s, _)) => (*u, *r, UserStatus::parse(s).ok_or_else(ended)?),
        None => return Err(ended()),
    };
    if !admits(user_id, session_user, revoked_at, status) {
        return Err(ended());
    }
    Ok(Principal { user_id, session_id, status, roles: roles_from(rows.iter().map(|r| r.3.as_deref())) })
}

#[derive(Insertable)]
#[diesel(table_name = auth_sessions)]
struct NewSession<'a> {
    user_id: i64,
    family: &'a str,
    created_at: NaiveDateTime,
    refreshed_at: NaiveDateTime,
}

/// Opens the session of a new sign-in; returns its id.
pub fn open(conn: &mut DbConn, now: NaiveDateTime, user_id: i64, family: &str) -> AppResult<i64> {
    Ok(diesel::insert_into(auth_sessions::table)
        .values(NewSession { user_id, family, created_at: now, refreshed_at: now })
        .returning(auth_sessions::id)
        .get_result(conn)?)
}

/// The open session of a refresh-token family, marked refreshed now; `None` when it ended.
pub fn refreshed(conn: &mut DbConn, now: NaiveDateTime, family: &str) -> AppResult<Option<i64>> {
    let id: Option<i64> = auth_sessions::table
        .filter(auth_sessions::family.eq(family))
        .filter(auth_sessions::revoked_at.is_null())
        .select(auth_sessions::id)
        .first(conn)
        .optional()?;
    if let Some(id) = id {
        diesel::update(auth_sessions::table.find(id)).set(auth_sessions::refreshed_at.eq(now)).execute(conn)?;
    }
    Ok(id)
}

/// Ends the session of one refresh-token family.
pub fn end_family(conn: &mut DbConn, now: NaiveDateTime, family: &str) -> AppResult<usize> {
    Ok(diesel::update(
        auth_sessions::table.filter(auth_sessions::family.eq(family)).filter(auth_sessions::revoked_at.is_null()),
    )
    .set(auth_sessions::revoked_at.eq(now))
    .execute(conn)?)
}

/// Ends every session of a user.
pub fn end_all(conn: &mut DbConn, now: NaiveDateTime, user_id: i64) -> AppResult<usize> {
    Ok(diesel::update(
        auth_sessions::table.filter(auth_sessions::user_id.eq(user_id)).filter(auth_sessions::revoked_at.is_null()),
    )
    .set(auth_sessions::revoked_at.eq(now))
    .execute(conn)?)
}

/// Deletes sessions that ended (revoked, or not refreshed within `idle`) more than a
/// day ago, with their refresh tokens; sign-ins stay in the audit log.
pub fn purge_ended(conn: &mut DbConn, now: NaiveDateTime, idle: chrono::Duration) -> AppResult<usize> {
    use crate::db::schema::refresh_tokens;
    let cutoff = now - chrono::Duration::days(1);
    let ended = auth_sessions::table
        .filter(auth_sessions::revoked_at.lt(cutoff).or(auth_sessions::refreshed_at.lt(cutoff - idle)))
        .select(auth_sessions::family);
    diesel::delete(refresh_tokens::table.filter(refresh_tokens::family.eq_any(ended))).execute(conn)?;
    Ok(diesel::delete(
        auth_sessions::table
            .filter(auth_sessions::revoked_at.lt(cutoff).or(auth_sessions::refreshed_at.lt(cutoff - idle))),
    )
    .execute(conn)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_admits_only_its_own_open_sign_in() {
        let now = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap().naive_utc();
        assert!(admits(7, 7, None, UserStatus::Active));
        assert!(admits(7, 7, None, UserStatus::Removed), "removed contributors read their records");
        assert!(!admits(7, 8, None, UserStatus::Active), "another user's session");
        assert!(!admits(7, 7, Some(now), UserStatus::Active), "revoked");
        assert!(!admits(7, 7, None, UserStatus::Disabled));
    }

    #[test]
    fn roles_are_sorted_and_unique() {
        let roles = roles_from([Some("finance"), None, Some("admin"), Some("finance")].into_iter());
        assert_eq!(roles, vec![Role::Finance, Role::Admin]);
    }
}
