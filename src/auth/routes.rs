//! HTTP handlers for accounts and sessions: extract, validate, call the service, answer.

use actix_web::{post, put, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::model::{User, UserStatus};
use super::roles::Role;
use super::service::{self, NewStaff, Registration, TokenPair};
use super::{Admin, AuthUser, RequestCtx, Staff};
use crate::error::{AppResult, Problem};
use crate::{blocking, AppState};

#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    #[validate(email(message = "not a valid email address"), length(max = 254))]
    #[schema(max_length = 254, format = Email)]
    pub email: String,
    /// At least 12 characters.
    #[validate(length(min = 12, max = 256, message = "the password needs 12 to 256 characters"))]
    #[schema(min_length = 12, max_length = 256)]
    pub password: String,
    #[validate(length(min = 1, max = 200, message = "give your full name (at most 200 characters)"))]
    #[schema(min_length = 1, max_length = 200, pattern = "formula_safe")]
    pub full_name: String,
}

#[derive(Serialize, ToSchema)]
pub struct UserView {
    pub id: i64,
    pub email: String,
    pub full_name: String,
    pub roles: Vec<Role>,
    pub status: UserStatus,
    pub email_verified: bool,
    #[serde(with = "crate::clock::utc")]
    pub created_at: chrono::NaiveDateTime,
}

impl UserView {
    pub fn new(user: User, roles: Vec<Role>) -> Self {
        Self {
            id: user.id,
            status: user.status(),
            email_verified: user.email_verified_at.is_some(),
            email: user.email,
            full_name: user.full_name,
            roles,
            created_at: user.created_at,
        }
    }
}

pub async fn view(state: &web::Data<AppState>, user: User) -> AppResult<UserView> {
    let id = user.id;
    let roles = state.db.read(move |c| service::roles_of(c, id)).await?;
    Ok(UserView::new(user, roles))
}

/// Register as an applicant; a verification link is emailed.
#[utoipa::path(
    tag = "auth",
    request_body = RegisterRequest,
    responses(
        (status = 201, body = UserView),
        (status = 400, body = Problem), (status = 409, body = Problem, description = "email_taken"),
        (status = 413, body = Problem), (status = 422, body = Problem)
    )
)]
#[post("/auth/register")]
pub async fn register(
    state: web::Data<AppState>,
    ctx: RequestCtx,
    body: web::Json<RegisterRequest>,
) -> AppResult<HttpResponse> {
    body.validate()?;
    let b = body.into_inner();
    let input = Registration { email: b.email, password: b.password, full_name: b.full_name };
    let st = state.clone();
    let user = blocking(move || service::register(&st, &ctx, input)).await?;
    Ok(HttpResponse::Created().json(view(&state, user).await?))
}

#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// The token from the emailed link.
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub token: String,
}

/// Confirm an email address with the token from the emailed link.
#[utoipa::path(
    tag = "auth",
    request_body = TokenRequest,
    responses((status = 200, body = UserView), (status = 400, body = Problem, description = "invalid_token"), (status = 422, body = Problem))
)]
#[post("/auth/verify-email")]
pub async fn verify_email(
    state: web::Data<AppState>,
    ctx: RequestCtx,
    body: web::Json<TokenRequest>,
) -> AppResult<HttpResponse> {
    body.validate()?;
    let st = state.clone();
    let user = blocking(move || service::verify_email(&st, &ctx, &body.token)).await?;
    Ok(HttpResponse::Ok().json(view(&state, user).await?))
}

/// Send a new verification link to the signed-in user.
#[utoipa::path(
    tag = "auth",
    responses((status = 202), (status = 401, body = Problem), (status = 409, body = Problem, description = "already_verified")),
    security(("bearer" = []))
)]
#[post("/auth/verify-email/resend")]
pub async fn resend_verification(state: web::Data<AppState>, user: AuthUser) -> AppResult<HttpResponse> {
    let st = state.clone();
    blocking(move || service::resend_verification(&st, &user.ctx, user.id)).await?;
    Ok(HttpResponse::Accepted().finish())
}

#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    #[validate(length(min = 1, max = 254))]
    #[schema(min_length = 1, max_length = 254)]
    pub email: String,
    #[validate(length(min = 1, max = 256))]
    #[schema(min_length = 1, max_length = 256)]
    pub password: String,
}

/// Sign in. Attempts are rate limited per account and per client address.
#[utoipa::path(
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, body = TokenPair),
        (status = 401, body = Problem), (status = 422, body = Problem),
        (status = 429, body = Problem, description = "rate_limited; see Retry-After")
    )
)]
#[post("/auth/login")]
pub async fn login(
    state: web::Data<AppState>,
    ctx: RequestCtx,
    body: web::Json<LoginRequest>,
) -> AppResult<HttpResponse> {
    body.validate()?;
    let st = state.clone();
    let pair = blocking(move || service::login(&st, &ctx, &body.email, &body.password)).await?;
    Ok(HttpResponse::Ok().json(pair))
}

#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub refresh_token: String,
}

/// Exchange a refresh token for a new pair. Each refresh token works once; reusing one
/// revokes the whole session.
#[utoipa::path(
    tag = "auth",
    request_body = RefreshRequest,
    responses((status = 200, body = TokenPair), (status = 401, body = Problem), (status = 422, body = Problem))
)]
#[post("/auth/refresh")]
pub async fn refresh(
    state: web::Data<AppState>,
    ctx: RequestCtx,
    body: web::Json<RefreshRequest>,
) -> AppResult<HttpResponse> {
    body.validate()?;
    let st = state.clone();
    let pair = blocking(move || service::refresh(&st, &ctx, &body.refresh_token)).await?;
    Ok(HttpResponse::Ok().json(pair))
}

/// Sign out: the refresh token and every token of its session stop working.
#[utoipa::path(
    tag = "auth",
    request_body = RefreshRequest,
    responses((status = 204), (status = 422, body = Problem))
)]
#[post("/auth/logout")]
pub async fn logout(
    state: web::Data<AppState>,
    ctx: RequestCtx,
    body: web::Json<RefreshRequest>,
) -> AppResult<HttpResponse> {
    body.validate()?;
    let st = state.clone();
    blocking(move || service::logout(&st, &ctx, &body.refresh_token)).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetRequest {
    #[validate(length(min = 1, max = 254))]
    #[schema(min_length = 1, max_length = 254)]
    pub email: String,
}

/// Ask for a password reset link. Always 202, whether or not the account exists.
#[utoipa::path(
    tag = "auth",
    request_body = PasswordResetRequest,
    responses((status = 202), (status = 422, body = Problem))
)]
#[post("/auth/password-reset")]
pub async fn password_reset(
    state: web::Data<AppState>,
    ctx: RequestCtx,
    body: web::Json<PasswordResetRequest>,
) -> AppResult<HttpResponse> {
    body.validate()?;
    let st = state.clone();
    blocking(move || service::request_password_reset(&st, &ctx, &body.email)).await?;
    Ok(HttpResponse::Accepted().finish())
}

#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetConfirm {
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub token: String,
    #[validate(length(min = 12, max = 256, message = "the password needs 12 to 256 characters"))]
    #[schema(min_length = 12, max_length = 256)]
    pub password: String,
}

/// Choose a new password with a reset or staff-invitation token. Signs out everywhere.
#[utoipa::path(
    tag = "auth",
    request_body = PasswordResetConfirm,
    responses((status = 204), (status = 400, body = Problem, description = "invalid_token"), (status = 422, body = Problem))
)]
#[post("/auth/password-reset/confirm")]
pub async fn password_reset_confirm(
    state: web::Data<AppState>,
    ctx: RequestCtx,
    body: web::Json<PasswordResetConfirm>,
) -> AppResult<HttpResponse> {
    body.validate()?;
    let st = state.clone();
    blocking(move || service::confirm_password_reset(&st, &ctx, &body.token, &body.password)).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    #[validate(length(min = 1, max = 256))]
    #[schema(min_length = 1, max_length = 256)]
    pub current_password: String,
    #[validate(length(min = 12, max = 256, message = "the password needs 12 to 256 characters"))]
    #[schema(min_length = 12, max_length = 256)]
    pub new_password: String,
}

/// Change the password; every session (refresh token) is revoked.
#[utoipa::path(
    tag = "me",
    request_body = ChangePassword,
    responses((status = 204), (status = 401, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = []))
)]
#[put("/me/password")]
pub async fn change_password(
    state: web::Data<AppState>,
    user: AuthUser,
    body: web::Json<ChangePassword>,
) -> AppResult<HttpResponse> {
    body.validate()?;
    let st = state.clone();
    blocking(move || service::change_password(&st, &user.ctx, user.id, &body.current_password, &body.new_password))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateStaffRequest {
    #[validate(email(message = "not a valid email address"), length(max = 254))]
    #[schema(max_length = 254, format = Email)]
    pub email: String,
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub full_name: String,
    /// One or more of `reviewer`, `finance`, `admin`.
    #[validate(length(min = 1, max = 3))]
    #[schema(min_items = 1, max_items = 3, value_type = Vec<super::roles::GrantableRole>)]
    pub roles: Vec<Role>,
}

/// Create a staff account (admins). The person sets a password through the emailed link.
#[utoipa::path(
    tag = "admin",
    request_body = CreateStaffRequest,
    responses(
        (status = 201, body = UserView),
        (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 409, body = Problem, description = "email_taken"), (status = 422, body = Problem)
    ),
    security(("bearer" = []))
)]
#[post("/admin/staff")]
pub async fn create_staff(
    state: web::Data<AppState>,
    admin: Staff<Admin>,
    body: web::Json<CreateStaffRequest>,
) -> AppResult<HttpResponse> {
    body.validate()?;
    let b = body.into_inner();
    let st = state.clone();
    let input = NewStaff { email: b.email, full_name: b.full_name, roles: b.roles };
    let user = blocking(move || service::create_staff(&st, &admin.ctx, admin.id, input)).await?;
    Ok(HttpResponse::Created().json(view(&state, user).await?))
}

#[derive(Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetRolesRequest {
    /// The staff roles the account should hold: any of `reviewer`, `finance`, `admin`
    /// (empty removes them all). An applicant keeps the applicant role.
    #[validate(length(max = 3))]
    #[schema(max_items = 3, value_type = Vec<super::roles::GrantableRole>)]
    pub roles: Vec<Role>,
}

/// Set the staff roles of an account (admins). Takes effect at the holder's next request.
#[utoipa::path(
    tag = "admin",
    params(("id" = i64, Path, description = "User id")),
    request_body = SetRolesRequest,
    responses(
        (status = 200, body = UserView),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)
    ),
    security(("bearer" = []))
)]
#[put("/admin/users/{id}/roles")]
pub async fn set_roles(
    state: web::Data<AppState>,
    admin: Staff<Admin>,
    id: web::Path<i64>,
    body: web::Json<SetRolesRequest>,
) -> AppResult<HttpResponse> {
    body.validate()?;
    let (st, id) = (state.clone(), id.into_inner());
    let user =
        blocking(move || service::set_staff_roles(&st, &admin.ctx, admin.id, id, body.into_inner().roles)).await?;
    Ok(HttpResponse::Ok().json(view(&state, user).await?))
}

/// Disable a staff account (admins): it is signed out everywhere and refused from its
/// next request.
#[utoipa::path(
    tag = "admin",
    params(("id" = i64, Path, description = "User id")),
    responses(
        (status = 200, body = UserView),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "own_account or not_staff")
    ),
    security(("bearer" = []))
)]
#[post("/admin/staff/{id}/disable")]
pub async fn disable_staff(
    state: web::Data<AppState>,
    admin: Staff<Admin>,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let (st, id) = (state.clone(), id.into_inner());
    let user = blocking(move || service::set_staff_enabled(&st, &admin.ctx, admin.id, id, false)).await?;
    Ok(HttpResponse::Ok().json(view(&state, user).await?))
}

/// Enable a disabled staff account again (admins).
#[utoipa::path(
    tag = "admin",
    params(("id" = i64, Path, description = "User id")),
    responses(
        (status = 200, body = UserView),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "not_staff")
    ),
    security(("bearer" = []))
)]
#[post("/admin/staff/{id}/enable")]
pub async fn enable_staff(
    state: web::Data<AppState>,
    admin: Staff<Admin>,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let (st, id) = (state.clone(), id.into_inner());
    let user = blocking(move || service::set_staff_enabled(&st, &admin.ctx, admin.id, id, true)).await?;
    Ok(HttpResponse::Ok().json(view(&state, user).await?))
}

/// Send a staff member a new invitation email (admins): a fresh set-password link, the
/// earlier ones void. Only while they have not chosen a password.
#[utoipa::path(
    tag = "admin",
    params(("id" = i64, Path, description = "User id")),
    responses(
        (status = 200, body = UserView),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "not_staff or invitation_accepted")
    ),
    security(("bearer" = []))
)]
#[post("/admin/staff/{id}/invitation")]
pub async fn resend_invitation(
    state: web::Data<AppState>,
    admin: Staff<Admin>,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let (st, id) = (state.clone(), id.into_inner());
    let user = blocking(move || service::resend_invitation(&st, &admin.ctx, admin.id, id)).await?;
    Ok(HttpResponse::Ok().json(view(&state, user).await?))
}

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(register)
        .service(verify_email)
        .service(resend_verification)
        .service(login)
        .service(refresh)
        .service(logout)
        .service(password_reset)
        .service(password_reset_confirm)
        .service(change_password)
        .service(create_staff)
        .service(set_roles)
        .service(disable_staff)
        .service(enable_staff)
        .service(resend_invitation);
}
