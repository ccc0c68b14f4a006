//! Account rules and transactions. No HTTP here: handlers call these on the blocking pool.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::json;

use super::model::*;
use super::password;
use super::roles::Role;
use super::throttle::{self, LoginCounts, Scope};
use super::{session, RequestCtx};
use crate::audit::{self, AuditAction, AuditEvent, AuditSubject};
use crate::crypto::{hash_token, random_token};
use crate::db::schema::{console_sessions, email_tokens, refresh_tokens, user_roles, users};
use crate::db::DbConn;
use crate::error::{AppError, AppResult, ProblemCode};
use crate::notifications::{self, templates};
use crate::AppState;

pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Tokens handed out at login and refresh.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct TokenPair {
    /// JWT for `Authorization: Bearer`.
    pub access_token: String,
    /// Opaque, single-use: exchange it at `/auth/refresh` for a new pair.
    pub refresh_token: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    pub token_type: &'static str,
}

pub fn find_user(conn: &mut DbConn, id: i64) -> AppResult<User> {
    Ok(users::table.find(id).select(User::as_select()).first(conn)?)
}

/// Many users by id, ordered by id (missing ids are skipped).
pub fn find_users(conn: &mut DbConn, ids: &[i64]) -> AppResult<Vec<User>> {
    Ok(users::table.filter(users::id.eq_any(ids)).order(users::id.asc()).select(User::as_select()).load(conn)?)
}

pub fn find_user_by_email(conn: &mut DbConn, email: &str) -> AppResult<Option<User>> {
    Ok(users::table.filter(users::email.eq(normalize_email(email))).select(User::as_select()).first(conn).optional()?)
}

pub fn roles_of(conn: &mut DbConn, user_id: i64) -> AppResult<Vec<Role>> {
    let names: Vec<String> =
        user_roles::table.filter(user_roles::user_id.eq(user_id)).select(user_roles::role).load(conn)?;
    let mut roles: Vec<Role> = names.iter().filter_map(|r| Role::parse(r)).collect();
    roles.sort();
    Ok(roles)
}

fn insert_user(conn: &mut DbConn, now: NaiveDateTime, new: NewUser<'_>, roles: &[Role]) -> AppResult<User> {
    if find_user_by_email(conn, new.email)?.is_some() {
        return Err(AppError::conflict(ProblemCode::EmailTaken, "an account with this email already exists"));
    }
    let id: i64 = diesel::insert_into(users::table)
        .values(NewUser { created_at: now, updated_at: now, ..new })
        .returning(users::id)
        .get_result(conn)?;
    let user = find_user(conn, id)?;
    for role in roles {
        diesel::insert_into(user_roles::table).values(NewUserRole { user_id: user.id, role: *role }).execute(conn)?;
    }
    Ok(user)
}

/// Revokes the unused links of `user_id` in the family of `purpose`.
fn revoke_links(conn: &mut DbConn, now: NaiveDateTime, user_id: i64, purpose: TokenPurpose) -> AppResult<usize> {
    let family: Vec<&str> = purpose.family().iter().map(|p| p.as_str()).collect();
    Ok(diesel::update(
        email_tokens::table
            .filter(email_tokens::user_id.eq(user_id))
            .filter(email_tokens::purpose.eq_any(family))
            .filter(email_tokens::used_at.is_null())
            .filter(email_tokens::revoked_at.is_null()),
    )
    .set(email_tokens::revoked_at.eq(now))
    .execute(conn)?)
}

/// Creates a single-use link token and returns it in clear (only its hash is stored).
/// Earlier unused links of the same family stop working: only the newest link does.
fn issue_email_token(
    conn: &mut DbConn,
    now: NaiveDateTime,
    user_id: i64,
    purpose: TokenPurpose,
    ttl: std::time::Duration,
) -> AppResult<(i64, String)> {
    revoke_links(conn, now, user_id, purpose)?;
    let token = random_token();
    let id = diesel::insert_into(email_tokens::table)
        .values(NewEmailToken {
            user_id,
            purpose,
            token_hash: &hash_token(&token),
            expires_at: now + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::hours(1)),
            created_at: now,
        })
        .returning(email_tokens::id)
        .get_result(conn)?;
    Ok((id, token))
}

/// Marks a link token used and returns it, if it is unused, unexpired and of one of
/// `purposes`. The conditional update makes a token single-use even under races.
fn consume_email_token(
    conn: &mut DbConn,
    now: NaiveDateTime,
    token: &str,
    purposes: &[TokenPurpose],
) -> AppResult<EmailToken> {
    let invalid = || AppError::invalid(ProblemCode::InvalidToken, "the link is invalid, expired or already used");
    let purposes: Vec<&str> = purposes.iter().map(|p| p.as_str()).collect();
    let row: EmailToken = email_tokens::table
        .filter(email_tokens::token_hash.eq(hash_token(token.trim())))
        .filter(email_tokens::purpose.eq_any(purposes))
        .select(EmailToken::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(invalid)?;
    if row.expires_at <= now {
        return Err(invalid());
    }
    let changed = diesel::update(
        email_tokens::table
            .find(row.id)
            .filter(email_tokens::used_at.is_null())
            .filter(email_tokens::revoked_at.is_null()),
    )
    .set(email_tokens::used_at.eq(now))
    .execute(conn)?;
    if changed != 1 {
        return Err(invalid());
    }
    // A completed link ends every other link of its family.
    revoke_links(conn, now, row.user_id, row.purpose)?;
    Ok(row)
}

/// Counts one emailed link against the per-address and per-client-address budgets of
/// its kind, or refuses it (429) when either is spent. The address is counted whether
/// or not it has an account, so the answer reveals nothing.
fn spend_link_budget(
    conn: &mut DbConn,
    st: &AppState,
    now: NaiveDateTime,
    ctx: &RequestCtx,
    email: Option<&str>,
    (address_scope, ip_scope): (Scope, Scope),
) -> AppResult<()> {
    let cfg = &crate::settings::current(conn, st)?.throttles(&st.config.auth);
    let address = email.map(throttle::address);
    let mut pairs: Vec<(Scope, &str)> = Vec::new();
    if let Some(a) = &address {
        pairs.push((address_scope, a));
    }
    if let Some(ip) = ctx.ip.as_deref() {
        pairs.push((ip_scope, ip));
    }
    let counts = throttle::counts(conn, cfg, now, &pairs)?;
    let count = |scope| counts.get(&scope).copied().unwrap_or_default();
    let window = cfg.email_link_window;
    let wait = [
        throttle::budget_wait(now, window, cfg.email_links_per_address, &count(address_scope)),
        throttle::budget_wait(now, window, cfg.email_links_per_ip, &count(ip_scope)),
    ]
    .into_iter()
    .flatten()
    .max();
    if let Some(secs) = wait {
        return Err(throttle::limited(secs));
    }
    throttle::record(conn, now, &pairs)?;
    Ok(())
}

const RESET_LINKS: (Scope, Scope) = (Scope::PasswordResetAddress, Scope::PasswordResetIp);
const VERIFY_LINKS: (Scope, Scope) = (Scope::VerifyEmailAddress, Scope::VerifyEmailIp);

/// Whether `token` is a live link of one of `purposes` (unused, unrevoked, unexpired),
/// without using it: the emailed-link pages show their form only for a live link.
pub fn link_is_live(st: &AppState, token: &str, purposes: &[TokenPurpose]) -> AppResult<bool> {
    let now = st.clock.now();
    let purposes: Vec<&str> = purposes.iter().map(|p| p.as_str()).collect();
    st.db.read_sync(|conn| {
        let n: i64 = email_tokens::table
            .filter(email_tokens::token_hash.eq(hash_token(token.trim())))
            .filter(email_tokens::purpose.eq_any(purposes))
            .filter(email_tokens::used_at.is_null())
            .filter(email_tokens::revoked_at.is_null())
            .filter(email_tokens::expires_at.gt(now))
            .count()
            .get_result(conn)?;
        Ok(n > 0)
    })
}

fn link(st: &AppState, path: &str, token: &str) -> String {
    format!("{}/{path}?token={token}", st.config.public_url)
}

pub struct Registration {
    pub email: String,
    pub password: String,
    pub full_name: String,
}

/// Self-registration of an applicant; queues the verification email (counted against
/// the verification-email throttles).
pub fn register(st: &AppState, ctx: &RequestCtx, input: Registration) -> AppResult<User> {
    if let Some(e) = crate::text::check("full_name", &input.full_name) {
        return Err(AppError::Validation(vec![e]));
    }
    let hash = password::hash(&input.password)?;
    let email = normalize_email(&input.email);
    let full_name = input.full_name.trim().to_string();
    st.db.tx_sync(|conn| {
        let now = st.clock.now();
        spend_link_budget(conn, st, now, ctx, Some(&email), VERIFY_LINKS)?;
        let user = insert_user(
            conn,
            now,
            NewUser {
                email: &email,
                password_hash: Some(&hash),
                full_name: &full_name,
                status: UserStatus::Registered,
                email_verified_at: None,
                created_at: now,
                updated_at: now,
            },
            &[Role::Applicant],
        )?;
        send_verification(conn, st, now, &user)?;
        audit::record(
            conn,
            now,
            ctx,
            AuditEvent {
                actor_id: Some(user.id),
                action: AuditAction::AuthRegistered,
                subject_type: AuditSubject::User,
                subject_id: Some(user.id.to_string()),
                summary: json!({"after": {"status": user.status}}),
            },
        )?;
        Ok(user)
    })
}

fn send_verification(conn: &mut DbConn, st: &AppState, now: NaiveDateTime, user: &User) -> AppResult<()> {
    let ttl = st.config.auth.verify_email_ttl;
    let (token_id, token) = issue_email_token(conn, now, user.id, TokenPurpose::VerifyEmail, ttl)?;
    notifications::enqueue(
        conn,
        now,
        &user.email,
        &format!("verify_email:{token_id}"),
        &templates::VerifyEmail {
            full_name: user.full_name.clone(),
            link: link(st, "verify-email", &token),
            expires_hours: ttl.as_secs() / 3600,
        },
    )
}

/// Sends a fresh verification link to an account whose email is not verified yet; the
/// earlier links stop working.
pub fn resend_verification(st: &AppState, ctx: &RequestCtx, user_id: i64) -> AppResult<()> {
    st.db.tx_sync(|conn| {
        let now = st.clock.now();
        let user = find_user(conn, user_id)?;
        if user.email_verified_at.is_some() {
            return Err(AppError::conflict(ProblemCode::AlreadyVerified, "the email address is already verified"));
        }
        spend_link_budget(conn, st, now, ctx, Some(&user.email), VERIFY_LINKS)?;
        send_verification(conn, st, now, &user)
    })
}

pub fn verify_email(st: &AppState, ctx: &RequestCtx, token: &str) -> AppResult<User> {
    st.db.tx_sync(|conn| {
        let now = st.clock.now();
        let row = consume_email_token(conn, now, token, &[TokenPurpose::VerifyEmail])?;
        let user = find_user(conn, row.user_id)?;
        let status = match user.status() {
            UserStatus::Registered => crate::onboarding::lifecycle::next(
                UserStatus::Registered,
                crate::onboarding::lifecycle::Transition::VerifyEmail,
            )?,
            other => other,
        };
        diesel::update(users::table.find(user.id))
            .set((
                users::email_verified_at.eq(user.email_verified_at.unwrap_or(now)),
                users::status.eq(status),
                users::updated_at.eq(now),
            ))
            .execute(conn)?;
        audit::record(
            conn,
            now,
            ctx,
            AuditEvent {
                actor_id: Some(user.id),
                action: AuditAction::AuthEmailVerified,
                subject_type: AuditSubject::User,
                subject_id: Some(user.id.to_string()),
                summary: json!({"before": {"status": user.status}, "after": {"status": status.as_str()}}),
            },
        )?;
        find_user(conn, user.id)
    })
}

/// Issues a token pair: a new sign-in opens a session (`family` None), a refresh
/// continues the session of its family.
fn new_session(
    conn: &mut DbConn,
    st: &AppState,
    now: NaiveDateTime,
    user_id: i64,
    family: Option<&str>,
) -> AppResult<TokenPair> {
    let roles = roles_of(conn, user_id)?;
    let refresh = random_token();
    let (family, session_id) = match family {
        Some(f) => (f.to_string(), session::refreshed(conn, now, f)?.ok_or_else(session::ended)?),
        None => {
            let f = uuid::Uuid::new_v4().to_string();
            let id = session::open(conn, now, user_id, &f)?;
            (f, id)
        }
    };
    diesel::insert_into(refresh_tokens::table)
        .values(NewRefreshToken {
            user_id,
            family: &family,
            token_hash: &hash_token(&refresh),
            expires_at: now
                + chrono::Duration::from_std(st.config.auth.refresh_token_ttl).unwrap_or(chrono::Duration::days(30)),
            created_at: now,
        })
        .execute(conn)?;
    let ttl = st.config.auth.access_token_ttl.as_secs() as i64;
    let access = st.jwt.issue(user_id, session_id, &roles, now.and_utc().timestamp(), ttl)?;
    Ok(TokenPair { access_token: access, refresh_token: refresh, expires_in: ttl, token_type: "Bearer" })
}

fn security_event(
    conn: &mut DbConn,
    now: NaiveDateTime,
    ctx: &RequestCtx,
    action: AuditAction,
    user_id: Option<i64>,
    summary: serde_json::Value,
) -> AppResult<()> {
    audit::record(
        conn,
        now,
        ctx,
        AuditEvent {
            actor_id: user_id,
            action,
            subject_type: AuditSubject::User,
            subject_id: user_id.map(|id| id.to_string()),
            summary,
        },
    )
}

pub fn login(st: &AppState, ctx: &RequestCtx, email: &str, password_attempt: &str) -> AppResult<TokenPair> {
    let user = authenticate(st, ctx, email, password_attempt)?;
    st.db.tx_sync(|conn| new_session(conn, st, st.clock.now(), user.id, None))
}

/// Checks an email and password under the sign-in limits (auth::throttle) and records
/// the attempt in the audit log. The API login and the console sign-in both start here.
///
/// The attempt is counted as a failure before the password is checked and un-counted
/// when it succeeds, so parallel guesses see each other: only failures remain counted.
pub fn authenticate(st: &AppState, ctx: &RequestCtx, email: &str, password_attempt: &str) -> AppResult<User> {
    let now = st.clock.now();
    let ip = ctx.ip.clone().unwrap_or_else(|| "unknown".into());
    let (account, pair) = (throttle::address(email), throttle::account_ip(email, &ip));
    let failure_scopes = [
        (Scope::LoginFailureAccountIp, pair.as_str()),
        (Scope::LoginFailureIp, ip.as_str()),
        (Scope::LoginFailureAccount, account.as_str()),
    ];
    let (user, counted) = st.db.tx_sync(|conn| {
        let cfg = &crate::settings::current(conn, st)?.throttles(&st.config.auth);
        let mut scopes = failure_scopes.to_vec();
        scopes.push((Scope::LoginSuccessAccountIp, pair.as_str()));
        let counts = throttle::counts(conn, cfg, now, &scopes)?;
        let count = |scope| counts.get(&scope).copied().unwrap_or_default();
        let login = LoginCounts {
            account_ip: count(Scope::LoginFailureAccountIp),
            ip: count(Scope::LoginFailureIp),
            account: count(Scope::LoginFailureAccount),
            known_address: count(Scope::LoginSuccessAccountIp).events > 0,
        };
        if let Some(secs) = throttle::login_wait(cfg, now, &login) {
            return Err(throttle::limited(secs));
        }
        let counted = throttle::record(conn, now, &failure_scopes)?;
        Ok((find_user_by_email(conn, email)?, counted))
    })?;
    let ok = password::verify(password_attempt, user.as_ref().and_then(|u| u.password_hash.as_deref()));
    match user {
        Some(user) if ok && !user.status().blocks_login() => {
            st.db.tx_sync(|conn| {
                throttle::forget(conn, &counted)?;
                throttle::clear(conn, Scope::LoginFailureAccountIp, &pair)?;
                throttle::clear(conn, Scope::LoginSuccessAccountIp, &pair)?;
                throttle::record(conn, now, &[(Scope::LoginSuccessAccountIp, pair.as_str())])?;
                security_event(conn, now, ctx, AuditAction::AuthLogin, Some(user.id), json!({}))
            })?;
            Ok(user)
        }
        user => {
            let reason = match &user {
                Some(u) if ok => format!("account {}", u.status),
                _ => "bad credentials".to_string(),
            };
            st.db.tx_sync(|conn| {
                security_event(
                    conn,
                    now,
                    ctx,
                    AuditAction::AuthLoginFailed,
                    user.as_ref().map(|u| u.id),
                    json!({"reason": reason}),
                )
            })?;
            Err(AppError::Unauthorized("the email or password is wrong"))
        }
    }
}

enum RefreshOutcome {
    Rotated(TokenPair),
    Reused,
    Invalid,
}

/// Rotates a refresh token. Presenting a token that was already rotated or revoked
/// means it leaked: the whole family (every token descended from that login) is revoked.
pub fn refresh(st: &AppState, ctx: &RequestCtx, presented: &str) -> AppResult<TokenPair> {
    let outcome = st.db.tx_sync(|conn| {
        let now = st.clock.now();
        let Some(row) = refresh_tokens::table
            .filter(refresh_tokens::token_hash.eq(hash_token(presented.trim())))
            .select(RefreshToken::as_select())
            .first(conn)
            .optional()?
        else {
            return Ok(RefreshOutcome::Invalid);
        };
        let rotated_now = row.used_at.is_none()
            && row.revoked_at.is_none()
            && diesel::update(refresh_tokens::table.find(row.id).filter(refresh_tokens::used_at.is_null()))
                .set(refresh_tokens::used_at.eq(now))
                .execute(conn)?
                == 1;
        if !rotated_now {
            revoke_family(conn, now, &row.family)?;
            security_event(
                conn,
                now,
                ctx,
                AuditAction::AuthRefreshTokenReuse,
                Some(row.user_id),
                json!({"family": row.family}),
            )?;
            return Ok(RefreshOutcome::Reused);
        }
        let user = find_user(conn, row.user_id)?;
        if row.expires_at <= now || user.status().blocks_login() {
            return Ok(RefreshOutcome::Invalid);
        }
        match new_session(conn, st, now, user.id, Some(&row.family)) {
            Err(AppError::Unauthorized(_)) => Ok(RefreshOutcome::Invalid),
            other => Ok(RefreshOutcome::Rotated(other?)),
        }
    })?;
    match outcome {
        RefreshOutcome::Rotated(pair) => Ok(pair),
        RefreshOutcome::Reused => Err(AppError::Unauthorized("the refresh token was already used; sign in again")),
        RefreshOutcome::Invalid => Err(AppError::Unauthorized("the refresh token is invalid or expired")),
    }
}

fn revoke_family(conn: &mut DbConn, now: NaiveDateTime, family: &str) -> AppResult<usize> {
    session::end_family(conn, now, family)?;
    Ok(diesel::update(
        refresh_tokens::table.filter(refresh_tokens::family.eq(family)).filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(now))
    .execute(conn)?)
}

/// Ends every session of a user (password change or reset, removal, a disabled or
/// closed account): API sessions (their access tokens stop at the next request),
/// refresh tokens and console browser sessions.
pub fn revoke_all_sessions(conn: &mut DbConn, now: NaiveDateTime, user_id: i64) -> AppResult<usize> {
    session::end_all(conn, now, user_id)?;
    let api = diesel::update(
        refresh_tokens::table.filter(refresh_tokens::user_id.eq(user_id)).filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(now))
    .execute(conn)?;
    let console = diesel::update(
        console_sessions::table
            .filter(console_sessions::user_id.eq(user_id))
            .filter(console_sessions::revoked_at.is_null()),
    )
    .set(console_sessions::revoked_at.eq(now))
    .execute(conn)?;
    Ok(api + console)
}

/// Ends the session the refresh token belongs to. Unknown tokens are ignored: logging
/// out twice is not an error.
pub fn logout(st: &AppState, ctx: &RequestCtx, presented: &str) -> AppResult<()> {
    st.db.tx_sync(|conn| {
        let now = st.clock.now();
        let row = refresh_tokens::table
            .filter(refresh_tokens::token_hash.eq(hash_token(presented.trim())))
            .select(RefreshToken::as_select())
            .first(conn)
            .optional()?;
        if let Some(row) = row {
            revoke_family(conn, now, &row.family)?;
            security_event(conn, now, ctx, AuditAction::AuthLogout, Some(row.user_id), json!({}))?;
        }
        Ok(())
    })
}

/// Emails a reset link when the account exists; answers the same either way so the
/// endpoint does not reveal which emails have accounts. Requests are throttled per
/// address and per client address (counted for unknown addresses too); a new link
/// revokes the earlier ones.
pub fn request_password_reset(st: &AppState, ctx: &RequestCtx, email: &str) -> AppResult<()> {
    st.db.tx_sync(|conn| {
        let now = st.clock.now();
        spend_link_budget(conn, st, now, ctx, Some(email), RESET_LINKS)?;
        let Some(user) = find_user_by_email(conn, email)? else {
            return Ok(());
        };
        if user.status().blocks_login() {
            return Ok(());
        }
        let ttl = st.config.auth.password_reset_ttl;
        let (token_id, token) = issue_email_token(conn, now, user.id, TokenPurpose::PasswordReset, ttl)?;
        notifications::enqueue(
            conn,
            now,
            &user.email,
            &format!("password_reset:{token_id}"),
            &templates::PasswordReset {
                full_name: user.full_name.clone(),
                link: link(st, "reset-password", &token),
                expires_minutes: ttl.as_secs() / 60,
            },
        )?;
        security_event(conn, now, ctx, AuditAction::AuthPasswordResetRequested, Some(user.id), json!({}))
    })
}

/// Sets a new password from a reset or staff-invitation link and signs out everywhere.
pub fn confirm_password_reset(st: &AppState, ctx: &RequestCtx, token: &str, new_password: &str) -> AppResult<()> {
    password::check_length(new_password, "password")?;
    let hash = password::hash(new_password)?;
    st.db.tx_sync(|conn| {
        let now = st.clock.now();
        let row = consume_email_token(conn, now, token, &[TokenPurpose::PasswordReset, TokenPurpose::StaffInvite])?;
        let user = find_user(conn, row.user_id)?;
        if user.status().blocks_login() {
            return Err(AppError::invalid(ProblemCode::InvalidToken, "the link is invalid, expired or already used"));
        }
        // Following an emailed link proves control of the address.
        diesel::update(users::table.find(user.id))
            .set((
                users::password_hash.eq(&hash),
                users::email_verified_at.eq(user.email_verified_at.unwrap_or(now)),
                users::updated_at.eq(now),
            ))
            .execute(conn)?;
        revoke_all_sessions(conn, now, user.id)?;
        security_event(conn, now, ctx, AuditAction::AuthPasswordSet, Some(user.id), json!({"via": row.purpose}))
    })
}

pub fn change_password(
    st: &AppState,
    ctx: &RequestCtx,
    user_id: i64,
    current: &str,
    new_password: &str,
) -> AppResult<()> {
    let user = st.db.read_sync(|c| find_user(c, user_id))?;
    if !password::verify(current, user.password_hash.as_deref()) {
        return Err(AppError::field("current_password", "mismatch", "the current password is wrong"));
    }
    password::check_length(new_password, "new_password")?;
    let hash = password::hash(new_password)?;
    st.db.tx_sync(|conn| {
        let now = st.clock.now();
        diesel::update(users::table.find(user_id))
            .set((users::password_hash.eq(&hash), users::updated_at.eq(now)))
            .execute(conn)?;
        revoke_all_sessions(conn, now, user_id)?;
        security_event(conn, now, ctx, AuditAction::AuthPasswordChanged, Some(user_id), json!({}))
    })
}

/// Sets the user's full name in the caller's transaction (one column, so a concurrent
/// change of another column is kept); false when the name is already that one.
pub fn rename(conn: &mut DbConn, now: NaiveDateTime, user_id: i64, full_name: &str) -> AppResult<bool> {
    let changed = diesel::update(users::table.find(user_id).filter(users::full_name.ne(full_name)))
        .set((users::full_name.eq(full_name), users::updated_at.eq(now)))
        .execute(conn)?;
    Ok(changed > 0)
}

pub struct NewStaff {
    pub email: String,
    pub full_name: String,
    pub roles: Vec<Role>,
}

/// Issues a staff invitation link (revoking unused earlier ones) and queues its email,
/// naming `roles`, in the caller's transaction.
fn invite_staff(
    st: &AppState,
    conn: &mut DbConn,
    now: NaiveDateTime,
    user: &User,
    roles: impl Iterator<Item = Role>,
) -> AppResult<()> {
    let ttl = st.config.auth.staff_invite_ttl;
    let (token_id, token) = issue_email_token(conn, now, user.id, TokenPurpose::StaffInvite, ttl)?;
    let role_names: Vec<&str> = roles.map(Role::as_str).collect();
    notifications::enqueue(
        conn,
        now,
        &user.email,
        &format!("staff_invite:{token_id}"),
        &templates::StaffInvite {
            full_name: user.full_name.clone(),
            link: link(st, "set-password", &token),
            roles: role_names.join(", "),
            expires_hours: ttl.as_secs() / 3600,
        },
    )
}

/// An admin creates a staff account; the person chooses a password through the emailed link.
pub fn create_staff(st: &AppState, ctx: &RequestCtx, admin_id: i64, input: NewStaff) -> AppResult<User> {
    let mut roles = input.roles;
    roles.sort();
    roles.dedup();
    if roles.is_empty() || roles.iter().any(|r| !r.is_staff()) {
        return Err(AppError::field("roles", "staff_roles", "give one or more of reviewer, finance, admin"));
    }
    let email = normalize_email(&input.email);
    // Checked here, not only in the API's DTO, so the console's form refuses the same.
    if !validator::ValidateEmail::validate_email(&email) || email.len() > 254 {
        return Err(AppError::field("email", "email", "not a valid email address"));
    }
    let name_length = input.full_name.trim().chars().count();
    if !(1..=200).contains(&name_length) {
        return Err(AppError::field("full_name", "length", "give a name of 1 to 200 characters"));
    }
    st.db.tx_sync(|conn| {
        let now = st.clock.now();
        let user = insert_user(
            conn,
            now,
            NewUser {
                email: &email,
                password_hash: None,
                full_name: input.full_name.trim(),
                status: UserStatus::Staff,
                email_verified_at: None,
                created_at: now,
                updated_at: now,
            },
            &roles,
        )?;
        invite_staff(st, conn, now, &user, roles.iter().copied())?;
        audit::record(
            conn,
            now,
            ctx,
            AuditEvent {
                actor_id: Some(admin_id),
                action: AuditAction::StaffCreated,
                subject_type: AuditSubject::User,
                subject_id: Some(user.id.to_string()),
                summary: json!({"after": {"email": user.email, "roles": roles.iter().map(|r| r.as_str()).collect::<Vec<_>>()}}),
            },
        )?;
        Ok(user)
    })
}

/// An admin sends a staff member a new invitation (a fresh set-password link; the
/// earlier links stop working), while they have not chosen a password yet.
pub fn resend_invitation(st: &AppState, ctx: &RequestCtx, admin_id: i64, user_id: i64) -> AppResult<User> {
    st.db.tx_sync(|conn| {
        let now = st.clock.now();
        let user = find_user(conn, user_id)?;
        if user.status() != UserStatus::Staff {
            return Err(AppError::conflict(
                ProblemCode::NotStaff,
                format!("invitations go to active staff accounts; this account is {}", user.status),
            ));
        }
        if user.password_hash.is_some() {
            return Err(AppError::conflict(
                ProblemCode::InvitationAccepted,
                "this staff member has already chosen a password; they can reset it from the sign-in page",
            ));
        }
        // Issuing the new link revokes the unused earlier ones.
        let roles = roles_of(conn, user_id)?;
        invite_staff(st, conn, now, &user, roles.into_iter().filter(|r| r.is_staff()))?;
        audit::record(
            conn,
            now,
            ctx,
            AuditEvent {
                actor_id: Some(admin_id),
                action: AuditAction::StaffInvitationResent,
                subject_type: AuditSubject::User,
                subject_id: Some(user_id.to_string()),
                summary: json!({"after": {"email": user.email, "invitation_expires_hours": st.config.auth.staff_invite_ttl.as_secs() / 3600}}),
            },
        )?;
        Ok(user)
    })
}

/// The bootstrap step: the first admin, created from the CLI with a known password.
pub fn create_admin(st: &AppState, email: &str, full_name: &str, password_clear: &str) -> AppResult<User> {
    if password_clear.chars().count() < password::MIN_LENGTH {
        return Err(AppError::field("password", "length", format!("at least {} characters", password::MIN_LENGTH)));
    }
    let hash = password::hash(password_clear)?;
    let email = normalize_email(email);
    st.db.tx_sync(|conn| {
        let now = st.clock.now();
        let user = insert_user(
            conn,
            now,
            NewUser {
                email: &email,
                password_hash: Some(&hash),
                full_name,
                status: UserStatus::Staff,
                email_verified_at: Some(now),
                created_at: now,
                updated_at: now,
            },
            &[Role::Admin],
        )?;
        audit::record(
            conn,
            now,
            &RequestCtx::system("cli"),
            AuditEvent {
                actor_id: None,
                action: AuditAction::StaffAdminBootstrapped,
                subject_type: AuditSubject::User,
                subject_id: Some(user.id.to_string()),
                summary: json!({"after": {"email": user.email, "roles": ["admin"]}}),
            },
        )?;
        Ok(user)
    })
}

/// Sets the staff roles of an account (an applicant keeps the applicant role). Admins
/// cannot take the admin role from themselves, so the last admin cannot lock everyone out.
pub fn set_staff_roles(
    st: &AppState,
    ctx: &RequestCtx,
    admin_id: i64,
    user_id: i64,
    roles: Vec<Role>,
) -> AppResult<User> {
    if roles.iter().any(|r| !r.is_staff()) {
        return Err(AppError::field("roles", "staff_roles", "give reviewer, finance and/or admin"));
    }
    if user_id == admin_id && !roles.contains(&Role::Admin) {
        return Err(AppError::conflict(ProblemCode::OwnAdminRole, "you cannot remove your own admin role"));
    }
    st.db.tx_sync(|conn| {
        let now = st.clock.now();
        let user = find_user(conn, user_id)?;
        let before = roles_of(conn, user_id)?;
        diesel::delete(
            user_roles::table
                .filter(user_roles::user_id.eq(user_id))
                .filter(user_roles::role.ne(Role::Applicant.as_str())),
        )
        .execute(conn)?;
        let mut wanted = roles.clone();
        wanted.sort();
        wanted.dedup();
        for role in &wanted {
            diesel::insert_into(user_roles::table).values(NewUserRole { user_id, role: *role }).execute(conn)?;
        }
        let after = roles_of(conn, user_id)?;
        audit::record(
            conn,
            now,
            ctx,
            AuditEvent {
                actor_id: Some(admin_id),
                action: AuditAction::StaffRolesChanged,
                subject_type: AuditSubject::User,
                subject_id: Some(user_id.to_string()),
                summary: json!({"before": before, "after": after}),
            },
        )?;
        Ok(user)
    })
}

/// An admin disables a staff account (signed out everywhere at once, refused from the
/// next request) or enables it again. Admins cannot disable themselves.
pub fn set_staff_enabled(
    st: &AppState,
    ctx: &RequestCtx,
    admin_id: i64,
    user_id: i64,
    enabled: bool,
) -> AppResult<User> {
    if user_id == admin_id && !enabled {
        return Err(AppError::conflict(ProblemCode::OwnAccount, "you cannot disable your own account"));
    }
    st.db.tx_sync(|conn| {
        let now = st.clock.now();
        let user = find_user(conn, user_id)?;
        let (from, to) = match (user.status(), enabled) {
            (UserStatus::Staff, false) => (UserStatus::Staff, UserStatus::Disabled),
            (UserStatus::Disabled, true) => (UserStatus::Disabled, UserStatus::Staff),
            (UserStatus::Staff, true) | (UserStatus::Disabled, false) => return Ok(user),
            (other, _) => {
                return Err(AppError::conflict(
                    ProblemCode::NotStaff,
                    format!("only staff accounts are disabled or enabled; this account is {}", other.as_str()),
                ))
            }
        };
        let blocked_since = crate::onboarding::lifecycle::work_blocked_since(from, to, user.work_blocked_since, now);
        diesel::update(users::table.find(user_id))
            .set((users::status.eq(to), users::work_blocked_since.eq(blocked_since), users::updated_at.eq(now)))
            .execute(conn)?;
        if !enabled {
            revoke_all_sessions(conn, now, user_id)?;
        }
        audit::record(
            conn,
            now,
            ctx,
            AuditEvent {
                actor_id: Some(admin_id),
                action: if enabled { AuditAction::StaffEnabled } else { AuditAction::StaffDisabled },
                subject_type: AuditSubject::User,
                subject_id: Some(user_id.to_string()),
                summary: json!({"before": {"status": from.as_str()}, "after": {"status": to.as_str()}}),
            },
        )?;
        find_user(conn, user_id)
    })
}

/// The job: deletes API sessions that ended more than a day ago (with their refresh
/// tokens) and throttle events that no longer count.
pub fn purge_ended(st: &AppState) -> AppResult<usize> {
    st.db.tx_sync(|conn| {
        let now = st.clock.now();
        let idle = chrono::Duration::from_std(st.config.auth.refresh_token_ttl).unwrap_or(chrono::Duration::days(30));
        let throttles = crate::settings::current(conn, st)?.throttles(&st.config.auth);
        Ok(session::purge_ended(conn, now, idle)? + throttle::purge(conn, &throttles, now)?)
    })
}

/// Full names of the given users, for lists that show people.
pub fn names_of(conn: &mut DbConn, ids: &[i64]) -> AppResult<std::collections::HashMap<i64, String>> {
    Ok(users::table
        .filter(users::id.eq_any(ids))
        .select((users::id, users::full_name))
        .load(conn)?
        .into_iter()
        .collect())
}

/// Every account holding a staff role, with its roles, by name.
pub fn list_staff(conn: &mut DbConn) -> AppResult<Vec<(User, Vec<Role>)>> {
    let rows: Vec<(User, String)> = users::table
        .inner_join(user_roles::table.on(user_roles::user_id.eq(users::id)))
        .filter(user_roles::role.ne(Role::Applicant.as_str()))
        .order((users::full_name.asc(), users::id.asc()))
        .select((User::as_select(), user_roles::role))
        .load(conn)?;
    let mut out: Vec<(User, Vec<Role>)> = Vec::new();
    for (user, role) in rows {
        let role = Role::parse(&role);
        match out.last_mut() {
            Some((last, roles)) if last.id == user.id => roles.extend(role),
            _ => out.push((user, role.into_iter().collect())),
        }
    }
    Ok(out)
}
