//! Console browser sessions: a random token in an HttpOnly, SameSite=Strict cookie,
//! stored hashed, with an idle timeout and an absolute lifetime, revoked on sign-out
//! and by everything that revokes a user's API sessions (password change, removal).

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde_json::json;

use crate::audit::{self, AuditAction, AuditEvent, AuditSubject};
use crate::auth::extract::{AuthUser, RequestCtx};
use crate::auth::model::{User, UserStatus};
use crate::auth::roles::Role;
use crate::auth::service::roles_of;
use crate::crypto::{hash_token, random_token};
use crate::db::schema::{console_sessions, user_roles, users};
use crate::error::{AppError, AppResult};
use crate::AppState;

/// Name of the session cookie.
pub const COOKIE: &str = "gatehouse_console";
/// A session ends after this long without a request.
pub const IDLE: Duration = Duration::minutes(30);
/// A session ends this long after sign-in, however active.
pub const LIFETIME: Duration = Duration::hours(8);
/// `last_seen_at` is written at most this often, so browsing is not a write per page.
const TOUCH_EVERY: Duration = Duration::minutes(1);

/// The signed-in staff member behind a console request.
#[derive(Debug, Clone)]
pub struct ConsoleUser {
    pub id: i64,
    pub email: String,
    pub full_name: String,
    pub status: UserStatus,
    pub roles: Vec<Role>,
    /// The session's CSRF token, put in every form the console renders.
    pub csrf: String,
    pub session_id: i64,
    pub ctx: RequestCtx,
}

impl ConsoleUser {
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// The same identity as an API caller, for services written against [`AuthUser`].
    pub fn auth_user(&self) -> AuthUser {
        AuthUser { id: self.id, roles: self.roles.clone(), status: self.status, ctx: self.ctx.clone() }
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = console_sessions)]
struct SessionRow {
    id: i64,
    user_id: i64,
    csrf_token: String,
    last_seen_at: NaiveDateTime,
    expires_at: NaiveDateTime,
    revoked_at: Option<NaiveDateTime>,
}

#[derive(Insertable)]
#[diesel(table_name = console_sessions)]
struct NewSession<'a> {
    user_id: i64,
    token_hash: &'a str,
    csrf_token: &'a str,
    created_at: NaiveDateTime,
    last_seen_at: NaiveDateTime,
    expires_at: NaiveDateTime,
}

/// Whether a session last seen at `last_seen` and ending at `expires_at` is still open.
pub fn is_open(now: NaiveDateTime, last_seen: NaiveDateTime, expires_at: NaiveDateTime) -> bool {
    now < expires_at && now < last_seen + IDLE
}

/// Opens a session for an authenticated user; only staff may enter the console.
/// Returns the cookie value.
pub fn start(st: &AppState, ctx: &RequestCtx, user: &User) -> AppResult<String> {
    let token = random_token();
    let roles = st.db.read_sync(|conn| roles_of(conn, user.id))?;
    if !roles.iter().any(|r| r.is_staff()) {
        // Recorded in its own transaction: the refusal is the point of the record.
        st.db.tx_sync(|conn| {
            audit::record(
                conn,
                st.clock.now(),
                ctx,
                AuditEvent {
                    actor_id: Some(user.id),
                    action: AuditAction::ConsoleSignInRefused,
                    subject_type: AuditSubject::User,
                    subject_id: Some(user.id.to_string()),
                    summary: json!({"reason": "not staff"}),
                },
            )
        })?;
        return Err(AppError::Forbidden("the console is for staff; applicants use the Gatehouse API".into()));
    }
    st.db.tx_sync(|conn| {
        let now = st.clock.now();
        diesel::insert_into(console_sessions::table)
            .values(NewSession {
                user_id: user.id,
                token_hash: &hash_token(&token),
                csrf_token: &random_token(),
                created_at: now,
                last_seen_at: now,
                expires_at: now + LIFETIME,
            })
            .execute(conn)?;
        audit::record(
            conn,
            now,
            ctx,
            AuditEvent {
                actor_id: Some(user.id),
                action: AuditAction::ConsoleSignIn,
                subject_type: AuditSubject::User,
                subject_id: Some(user.id.to_string()),
                summary: json!({}),
            },
        )
    })?;
    Ok(token)
}

/// The user of an open session, with status and roles read now in one query (a role
/// removed a minute ago is gone from the console at once), judged by the same rule as
/// an API session (`auth::session::admits`). `None` for unknown, revoked or expired
/// sessions and for accounts that may not sign in or hold no staff role.
pub fn load(st: &AppState, ctx: &RequestCtx, token: &str) -> AppResult<Option<ConsoleUser>> {
    let now = st.clock.now();
    let rows: Vec<(SessionRow, User, Option<String>)> = st.db.read_sync(|conn| {
        Ok(console_sessions::table
            .inner_join(users::table)
            .left_join(user_roles::table.on(user_roles::user_id.eq(users::id)))
            .filter(console_sessions::token_hash.eq(hash_token(token)))
            .select((SessionRow::as_select(), User::as_select(), user_roles::role.nullable()))
            .load(conn)?)
    })?;
    let roles = crate::auth::session::roles_from(rows.iter().map(|r| r.2.as_deref()));
    let Some((session, user, _)) = rows.into_iter().next() else { return Ok(None) };
    let open = is_open(now, session.last_seen_at, session.expires_at)
        && crate::auth::session::admits(user.id, session.user_id, session.revoked_at, user.status());
    if !open || !roles.iter().any(|r| r.is_staff()) {
        return Ok(None);
    }
    if now - session.last_seen_at >= TOUCH_EVERY {
        st.db.tx_sync(|conn| {
            diesel::update(console_sessions::table.find(session.id))
                .set(console_sessions::last_seen_at.eq(now))
                .execute(conn)?;
            Ok(())
        })?;
    }
    Ok(Some(ConsoleUser {
        id: session.user_id,
        status: user.status(),
        email: user.email,
        full_name: user.full_name,
        roles,
        csrf: session.csrf_token,
        session_id: session.id,
        ctx: ctx.clone(),
    }))
}

/// Ends a session (sign-out).
pub fn end(st: &AppState, user: &ConsoleUser) -> AppResult<()> {
    st.db.tx_sync(|conn| {
        let now = st.clock.now();
        diesel::update(console_sessions::table.find(user.session_id))
            .set(console_sessions::revoked_at.eq(now))
            .execute(conn)?;
        audit::record(
            conn,
            now,
            &user.ctx,
            AuditEvent {
                actor_id: Some(user.id),
                action: AuditAction::ConsoleSignOut,
                subject_type: AuditSubject::User,
                subject_id: Some(user.id.to_string()),
                summary: json!({}),
            },
        )
    })
}

/// Deletes sessions that ended (signed out, idle or past their lifetime) more than a day
/// ago; sign-ins and sign-outs stay in the audit log.
pub fn purge_ended(st: &AppState) -> AppResult<usize> {
    st.db.tx_sync(|conn| {
        let cutoff = st.clock.now() - Duration::days(1);
        Ok(diesel::delete(
            console_sessions::table.filter(
                console_sessions::expires_at
                    .lt(cutoff)
                    .or(console_sessions::revoked_at.lt(cutoff))
                    .or(console_sessions::last_seen_at.lt(cutoff - IDLE)),
            ),
        )
        .execute(conn)?)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minutes: i64) -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_800_000_000 + minutes * 60, 0).unwrap().naive_utc()
    }

    #[test]
    fn sessions_end_when_idle_or_old() {
        let start = at(0);
        let end = start + LIFETIME;
        assert!(is_open(at(29), start, end));
        assert!(!is_open(at(30), start, end), "30 idle minutes end it");
        assert!(is_open(at(8 * 60 - 1), at(8 * 60 - 10), end));
        assert!(!is_open(at(8 * 60), at(8 * 60 - 1), end), "8 hours end it however active");
    }
}
