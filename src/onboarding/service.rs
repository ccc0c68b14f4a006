//! Onboarding rules and transactions: profile, lifecycle transitions, attestation,
//! documents, the work-authorization review queue and reverification.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde_json::json;

use super::documents::{self, DocList, DocumentType};
use super::lifecycle::{self, Transition};
use super::model::*;
use crate::audit::{self, AuditAction, AuditEvent, AuditSubject};
use crate::auth::model::{User, UserStatus};
use crate::auth::roles::Role;
use crate::auth::service::find_user;
use crate::auth::RequestCtx;
use crate::db::schema::{contributor_profiles, user_roles, users, work_authorization_documents, work_authorizations};
use crate::db::DbConn;
use crate::decisions::{self, DecisionOutcome, DecisionSubject, NewDecision};
use crate::error::{AppError, AppResult, FieldError, ProblemCode};
use crate::files::multipart::Form;
use crate::files::service as files;
use crate::notifications::{self, templates};
use crate::readiness::RequirementCode;
use crate::review;
use crate::AppState;

// ---------------------------------------------------------------- lifecycle

/// Moves a contributor through the state machine, recording the reason and auditing.
#[allow(clippy::too_many_arguments)]
pub fn transition(
    conn: &mut DbConn,
    now: NaiveDateTime,
    ctx: &RequestCtx,
    actor_id: Option<i64>,
    user: &User,
    t: Transition,
    reason: Option<&str>,
    until: Option<NaiveDateTime>,
) -> AppResult<UserStatus> {
    let to = lifecycle::next(user.status(), t)?;
    let blocked_since = lifecycle::work_blocked_since(user.status(), to, user.work_blocked_since, now);
    diesel::update(users::table.find(user.id))
        .set((
            users::status.eq(to),
            users::work_blocked_since.eq(blocked_since),
            users::status_reason.eq(reason),
            users::status_until.eq(until),
            users::updated_at.eq(now),
        ))
        .execute(conn)?;
    audit::record(
        conn,
        now,
        ctx,
        AuditEvent {
            actor_id,
            action: AuditAction::ContributorStatusChanged,
            subject_type: AuditSubject::User,
            subject_id: Some(user.id.to_string()),
            summary: json!({"before": user.status, "after": to.as_str(), "reason": reason}),
        },
    )?;
    Ok(to)
}

/// Payout requirements that do not stand in the way of a final payout: time settles
/// them, or they do not apply once the account is closed.
const SETTLES_ITSELF: [RequirementCode; 2] =
    [RequirementCode::PayoutMinimumBalance, RequirementCode::PayoutMethodChangeHold];

/// The contributor closes their own account (issue 16 item 19): no new work from now
/// on, read-only access to their records, and what they earned is paid out in full with
/// the next batches, below the payout minimum too. Refused while money is owed and the
/// final payout would be stuck on something only they can fix (a payout method, a W-9,
/// their profile): a closed account can no longer fix it.
pub fn close_account(state: &AppState, ctx: &RequestCtx, user_id: i64, password_attempt: &str) -> AppResult<User> {
    let user = state.db.read_sync(|c| find_user(c, user_id))?;
    if !crate::auth::password::verify(password_attempt, user.password_hash.as_deref()) {
        return Err(AppError::field("password", "mismatch", "the password is wrong"));
    }
    state.db.tx_sync(|conn| {
        let now = state.clock.now();
        let user = find_user(conn, user_id)?;
        lifecycle::next(user.status(), Transition::Close)?;
        let balances = crate::ledger::service::balances_of(conn, user_id)?;
        let pending: i64 = crate::db::schema::work_records::table
            .filter(crate::db::schema::work_records::contributor_id.eq(user_id))
            .filter(crate::db::schema::work_records::status.eq(crate::work::model::WorkStatus::Pending))
            .count()
            .get_result(conn)?;
        let owed = balances.held.0 + balances.available.0 + balances.in_payout.0 > 0 || pending > 0;
        let minimum = crate::settings::current(conn, state)?.payout_minimum_cents();
        let readiness = crate::readiness::collect(conn, now, &user, minimum)?;
        let stuck: Vec<String> = crate::readiness::payout_blockers(readiness)
            .into_iter()
            .filter(|code| !SETTLES_ITSELF.contains(code))
            .map(|code| code.to_string())
            .collect();
        if owed && !stuck.is_empty() {
            return Err(AppError::conflict_with(
                ProblemCode::FinalPayoutBlocked,
                format!(
                    "you are owed money that could not be paid out after closing: fix {} first (GET /me/readiness)",
                    stuck.join(", ")
                ),
                json!({"requirements": stuck}),
            ));
        }
        transition(conn, now, ctx, Some(user_id), &user, Transition::Close, Some("closed_by_contributor"), None)?;
        decisions::record(
            conn,
            now,
            NewDecision {
                user_id,
                subject_type: DecisionSubject::Account,
                subject_id: user_id.to_string(),
                outcome: DecisionOutcome::Closed,
                reason_code: "closed_by_contributor",
                note: "You closed your account.",
                decided_by: Some(user_id),
            },
        )?;
        notifications::enqueue(
            conn,
            now,
            &user.email,
            &format!("account_closed:{user_id}"),
            &templates::AccountDecision {
                full_name: user.full_name.clone(),
                subject: "Your Gatehouse account is closed".into(),
                headline: "You closed your Gatehouse account.".into(),
                reason: "closed by you".into(),
                note: "No new work is credited from now on.".into(),
                next_steps: "Money you earned is paid out in full with the next payout batches, whatever the \
                             amount. You can still sign in to read your earnings, payouts, decisions and tax forms."
                    .into(),
            },
        )?;
        find_user(conn, user_id)
    })
}

// ---------------------------------------------------------------- profile

pub fn find_profile(conn: &mut DbConn, user_id: i64) -> AppResult<Option<Profile>> {
    Ok(contributor_profiles::table.find(user_id).select(Profile::as_select()).first(conn).optional()?)
}

/// The user, their roles (sorted) and their profile in one query (`GET /me`): a row
/// per role.
pub fn account_of(conn: &mut DbConn, user_id: i64) -> AppResult<(User, Vec<Role>, Option<Profile>)> {
    let rows: Vec<(User, Option<Profile>, Option<String>)> = users::table
        .left_join(contributor_profiles::table)
        .left_join(user_roles::table)
        .filter(users::id.eq(user_id))
        .select((User::as_select(), Option::<Profile>::as_select(), user_roles::role.nullable()))
        .load(conn)?;
    let mut roles: Vec<Role> = rows.iter().filter_map(|(_, _, r)| r.as_deref().and_then(Role::parse)).collect();
    roles.sort();
    let (user, profile, _) = rows.into_iter().next().ok_or(AppError::NotFound)?;
    Ok((user, roles, profile))
}

/// [`account_of`] for `GET /me`, with the per-request session check folded into the
/// same query (the hot read of the API keeps one round trip): the session row of the
/// token, joined to the user, profile and roles; refused as `auth::session` would.
pub fn account_of_session(
    conn: &mut DbConn,
    claims: crate::auth::extract::BearerClaims,
) -> AppResult<(User, Vec<Role>, Option<Profile>)> {
    use crate::auth::session;
    use crate::db::schema::auth_sessions;
    /// The session's user and revocation, the account, its profile, one role per row.
    type Row = (i64, Option<NaiveDateTime>, User, Option<Profile>, Option<String>);
    let rows: Vec<Row> = auth_sessions::table
        .inner_join(users::table)
        .left_join(contributor_profiles::table.on(contributor_profiles::user_id.eq(users::id)))
        .left_join(user_roles::table.on(user_roles::user_id.eq(users::id)))
        .filter(auth_sessions::id.eq(claims.session_id))
        .select((
            auth_sessions::user_id,
            auth_sessions::revoked_at,
            User::as_select(),
            Option::<Profile>::as_select(),
            user_roles::role.nullable(),
        ))
        .load(conn)?;
    let roles = session::roles_from(rows.iter().map(|r| r.4.as_deref()));
    let (session_user, revoked_at, user, profile, _) = rows.into_iter().next().ok_or_else(session::ended)?;
    if !session::admits(claims.user_id, session_user, revoked_at, user.status()) {
        return Err(session::ended());
    }
    Ok((user, roles, profile))
}

pub struct AddressInput {
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub region: String,
    pub postal_code: String,
    pub country: String,
}

#[derive(Default)]
pub struct ProfilePatch {
    pub full_name: Option<String>,
    pub legal_name: Option<String>,
    pub date_of_birth: Option<NaiveDate>,
    pub address: Option<AddressInput>,
    pub phone: Option<String>,
}

/// Checks the profile fields that need more than a length rule.
pub fn validate_profile(patch: &ProfilePatch, today: NaiveDate) -> Result<(), Vec<FieldError>> {
    let address = patch.address.as_ref();
    let mut errors = crate::text::check_all([
        ("full_name", patch.full_name.as_deref()),
        ("legal_name", patch.legal_name.as_deref()),
        ("address.line1", address.map(|a| a.line1.as_str())),
        ("address.line2", address.and_then(|a| a.line2.as_deref())),
        ("address.city", address.map(|a| a.city.as_str())),
        ("address.region", address.map(|a| a.region.as_str())),
        ("address.postal_code", address.map(|a| a.postal_code.as_str())),
    ]);
    if let Some(dob) = patch.date_of_birth {
        let adult = today.checked_sub_months(chrono::Months::new(18 * 12)).is_some_and(|limit| dob <= limit);
        if dob >= today || dob < NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(dob) {
            errors.push(FieldError::new("date_of_birth", "range", "give a real date of birth"));
        } else if !adult {
            errors.push(FieldError::new("date_of_birth", "minimum_age", "contributors must be at least 18"));
        }
    }
    if let Some(a) = &patch.address {
        if a.country.len() != 2 || !a.country.chars().all(|c| c.is_ascii_uppercase()) {
            errors.push(FieldError::new("address.country", "country_code", "an ISO 3166 two-letter code, e.g. US"));
        }
        if a.country == "US" {
            if a.region.len() != 2 || !a.region.chars().all(|c| c.is_ascii_uppercase()) {
                errors.push(FieldError::new("address.region", "us_state", "the two-letter state code, e.g. NY"));
            }
            let digits: String = a.postal_code.chars().filter(|c| c.is_ascii_digit()).collect();
            if !(digits.len() == 5 || digits.len() == 9) {
                errors.push(FieldError::new("address.postal_code", "zip_code", "a 5 or 9 digit ZIP code"));
            }
        }
    }
    if let Some(phone) = &patch.phone {
        let digits = phone.chars().filter(|c| c.is_ascii_digit()).count();
        if !(10..=15).contains(&digits) || !phone.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c)) {
            errors.push(FieldError::new("phone", "phone", "a phone number with 10 to 15 digits"));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// The columns `patch` sets (the date of birth encrypted) and the names of the fields it
/// patches, for the audit record (names only, never values).
fn profile_changes(state: &AppState, patch: &ProfilePatch, now: NaiveDateTime) -> (ProfileChanges, Vec<&'static str>) {
    let mut c = ProfileChanges { updated_at: Some(now), ..ProfileChanges::default() };
    let mut fields = Vec::new();
    if let Some(v) = &patch.legal_name {
        c.legal_name = Some(v.trim().to_string());
        fields.push("legal_name");
    }
    if let Some(dob) = patch.date_of_birth {
        c.date_of_birth_enc = Some(state.cipher.encrypt_str(&dob.to_string()));
        fields.push("date_of_birth");
    }
    if let Some(a) = &patch.address {
        c.address_line1 = Some(a.line1.trim().to_string());
        c.address_line2 = Some(a.line2.as_ref().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()));
        c.city = Some(a.city.trim().to_string());
        c.region = Some(a.region.clone());
        c.postal_code = Some(a.postal_code.trim().to_string());
        c.country = Some(a.country.clone());
        fields.push("address");
    }
    if let Some(v) = &patch.phone {
        c.phone = Some(v.trim().to_string());
        fields.push("phone");
    }
    (c, fields)
}

/// Creates the user's empty profile row unless it exists: two first patches racing both
/// try, and the loser's insert does nothing (no unique violation, no 409).
fn ensure_profile_row(conn: &mut DbConn, now: NaiveDateTime, user_id: i64) -> AppResult<()> {
    let row = Profile::empty(user_id, now);
    // Runs on the concrete connection: MultiConnection offers neither ON CONFLICT nor
    // INSERT OR IGNORE. The one constraint an empty row can break is the primary key.
    match conn {
        DbConn::Postgresql(c) => diesel::insert_into(contributor_profiles::table)
            .values(&row)
            .on_conflict(contributor_profiles::user_id)
            .do_nothing()
            .execute(c)?,
        DbConn::Sqlite(c) => diesel::insert_or_ignore_into(contributor_profiles::table).values(&row).execute(c)?,
    };
    Ok(())
}

/// `PATCH /me`: in one transaction, the full name (on the account), the profile row
/// created if missing, then an UPDATE of only the patched columns, and one audit record
/// naming the fields changed. Concurrent patches of different fields all keep their
/// value (no read-modify-write of the whole row).
pub fn update_profile(state: &AppState, ctx: &RequestCtx, user_id: i64, patch: ProfilePatch) -> AppResult<()> {
    validate_profile(&patch, state.clock.now().date()).map_err(AppError::Validation)?;
    state.db.tx_sync(|conn| {
        let now = state.clock.now();
        let (changes, mut fields) = profile_changes(state, &patch, now);
        if !fields.is_empty() {
            ensure_profile_row(conn, now, user_id)?;
            diesel::update(contributor_profiles::table.find(user_id)).set(&changes).execute(conn)?;
        }
        if let Some(name) = &patch.full_name {
            if crate::auth::service::rename(conn, now, user_id, name.trim())? {
                fields.insert(0, "full_name");
            }
        }
        if fields.is_empty() {
            return Ok(());
        }
        // Which fields changed, never their values: dates of birth stay out of the log.
        audit::record(
            conn,
            now,
            ctx,
            AuditEvent {
                actor_id: Some(user_id),
                action: AuditAction::ProfileUpdated,
                subject_type: AuditSubject::User,
                subject_id: Some(user_id.to_string()),
                summary: json!({"fields": fields}),
            },
        )
    })
}

// ---------------------------------------------------------------- attestation

pub fn current_authorization(conn: &mut DbConn, user_id: i64) -> AppResult<Option<WorkAuthorization>> {
    Ok(work_authorizations::table
        .filter(work_authorizations::user_id.eq(user_id))
        .filter(work_authorizations::status.ne(AuthorizationStatus::Superseded.as_str()))
        .order(work_authorizations::id.desc())
        .select(WorkAuthorization::as_select())
        .first(conn)
        .optional()?)
}

/// The last verified authorization, which stays in force while a reverification is reviewed.
pub fn verified_authorization(conn: &mut DbConn, user_id: i64) -> AppResult<Option<WorkAuthorization>> {
    Ok(work_authorizations::table
        .filter(work_authorizations::user_id.eq(user_id))
        .filter(work_authorizations::status.eq(AuthorizationStatus::Verified.as_str()))
        .order(work_authorizations::id.desc())
        .select(WorkAuthorization::as_select())
        .first(conn)
        .optional()?)
}

/// The "exp. date, if any" of Form I-9 Section 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    On(NaiveDate),
    /// "N/A": the authorization has no expiration date (refugees, asylees, some
    /// citizens of the FSM and RMI).
    NotApplicable,
}

impl Expiry {
    pub fn date(self) -> Option<NaiveDate> {
        match self {
            Self::On(d) => Some(d),
            Self::NotApplicable => None,
        }
    }
}

pub struct Attestation {
    pub category: AuthorizationCategory,
    /// `None`: the field was left out.
    pub expiration: Option<Expiry>,
    pub residence_country: String,
}

impl Attestation {
    pub fn expiration_date(&self) -> Option<NaiveDate> {
        self.expiration.and_then(Expiry::date)
    }
}

pub enum AttestOutcome {
    Recorded(WorkAuthorization),
    Rejected { reason_code: AttestationRejection },
}

crate::text_enum! {
    /// Why an attestation rejects the application at once (the reason code of the
    /// rejection, in the decision and the account's status reason).
    pub enum AttestationRejection {
        NoWorkAuthorization = "no_work_authorization",
        ResidenceOutsideUs = "residence_outside_us",
    }
}

impl AttestationRejection {
    /// The sentence the applicant reads.
    pub fn explain(self) -> &'static str {
        match self {
            Self::ResidenceOutsideUs => "Gatehouse can only engage people who live in the United States.",
            Self::NoWorkAuthorization => {
                "Gatehouse can only engage people who are authorized to work in the United States."
            }
        }
    }
}

fn validate_attestation(a: &Attestation, today: NaiveDate) -> Result<(), Vec<FieldError>> {
    let mut errors = Vec::new();
    // "Noncitizen authorized to work" states a date or N/A (Form I-9: "exp. date, if
    // any"). N/A is an authorization without an expiration date (refugees, asylees):
    // refusing it would be discrimination under the I-9 rules (8 USC 1324b), and
    // reverification then follows the document presented. A left-out field is asked for.
    match (a.category.may_expire(), a.expiration) {
        (true, None) => errors.push(FieldError::new(
            "expiration_date",
            "required",
            "give the date your work authorization expires, or N/A if it has none (refugees, asylees)",
        )),
        (true, Some(Expiry::On(d))) if d <= today => {
            errors.push(FieldError::new("expiration_date", "in_past", "the expiration date has already passed"))
        }
        (false, Some(Expiry::On(_))) => errors.push(FieldError::new(
            "expiration_date",
            "not_allowed",
            "only noncitizens authorized to work have an expiration date",
        )),
        _ => {}
    }
    if a.residence_country.len() != 2 {
        errors.push(FieldError::new("residence_country", "country_code", "an ISO 3166 two-letter code, e.g. US"));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

pub fn attest(state: &AppState, ctx: &RequestCtx, user_id: i64, a: Attestation) -> AppResult<AttestOutcome> {
    let today = state.clock.now().date();
    state.db.tx_sync(|conn| {
        let now = state.clock.now();
        let user = find_user(conn, user_id)?;
        let status = user.status();
        let reverification =
            matches!(status, UserStatus::AuthorizationVerified | UserStatus::Active | UserStatus::Suspended);
        match status {
            UserStatus::Registered => {
                return Err(AppError::conflict(ProblemCode::EmailNotVerified, "verify your email address first"))
            }
            UserStatus::EmailVerified | UserStatus::AuthorizationPending => {}
            _ if reverification => {
                let expiring = verified_authorization(conn, user_id)?.is_some_and(|wa| wa.reverify_on.is_some());
                if !expiring {
                    return Err(AppError::conflict(
                        ProblemCode::ReverificationNotNeeded,
                        "your work authorization does not expire and is never reverified",
                    ));
                }
            }
            other => {
                return Err(AppError::conflict(
                    ProblemCode::InvalidState,
                    format!("work authorization cannot be attested in status {}", other.as_str()),
                ))
            }
        }
        let us = a.residence_country.eq_ignore_ascii_case("US");
        if a.category == AuthorizationCategory::None || !us {
            if reverification {
                return Err(AppError::field(
                    "category",
                    "reverification",
                    "reverification needs a current US work authorization",
                ));
            }
            let reason_code =
                if us { AttestationRejection::NoWorkAuthorization } else { AttestationRejection::ResidenceOutsideUs };
            reject_automatically(conn, now, ctx, &user, reason_code)?;
            return Ok(AttestOutcome::Rejected { reason_code });
        }
        validate_attestation(&a, today).map_err(AppError::Validation)?;
        // Earlier unfinished attestations give way to this one.
        diesel::update(work_authorizations::table.filter(work_authorizations::user_id.eq(user_id)).filter(
            work_authorizations::status.eq_any([
                AuthorizationStatus::Attested.as_str(),
                AuthorizationStatus::PendingReview.as_str(),
                AuthorizationStatus::MoreInfoRequested.as_str(),
            ]),
        ))
        .set(work_authorizations::status.eq(AuthorizationStatus::Superseded.as_str()))
        .execute(conn)?;
        let id: i64 = diesel::insert_into(work_authorizations::table)
            .values(NewWorkAuthorization {
                user_id,
                category: a.category,
                expires_on: a.expiration_date(),
                residence_country: "US",
                reverification,
                status: AuthorizationStatus::Attested,
                attested_at: now,
                reverify_on: a.expiration_date(),
            })
            .returning(work_authorizations::id)
            .get_result(conn)?;
        audit::record(
            conn,
            now,
            ctx,
            AuditEvent {
                actor_id: Some(user_id),
                action: AuditAction::WorkAuthorizationAttested,
                subject_type: AuditSubject::WorkAuthorization,
                subject_id: Some(id.to_string()),
                summary: json!({"category": a.category.as_str(), "reverification": reverification,
                "expiration": match a.expiration {
                    Some(Expiry::On(d)) => d.to_string(),
                    Some(Expiry::NotApplicable) => "N/A".to_string(),
                    None => String::new(),
                }}),
            },
        )?;
        Ok(AttestOutcome::Recorded(find_authorization(conn, id)?))
    })
}

fn reject_automatically(
    conn: &mut DbConn,
    now: NaiveDateTime,
    ctx: &RequestCtx,
    user: &User,
    rejection: AttestationRejection,
) -> AppResult<()> {
    let (reason_code, reason) = (rejection.as_str(), rejection.explain());
    transition(conn, now, ctx, None, user, Transition::Reject, Some(reason_code), None)?;
    decisions::record(
        conn,
        now,
        NewDecision {
            user_id: user.id,
            subject_type: DecisionSubject::WorkAuthorization,
            subject_id: "attestation".into(),
            outcome: DecisionOutcome::Rejected,
            reason_code,
            note: reason,
            decided_by: None,
        },
    )?;
    notifications::enqueue(
        conn,
        now,
        &user.email,
        &format!("application_rejected:{}", user.id),
        &templates::AuthorizationDecision {
            full_name: user.full_name.clone(),
            subject: "Your Gatehouse application".into(),
            headline: "We cannot accept your application.".into(),
            reason: reason.into(),
            note: String::new(),
            next_steps: "If your situation changes, or you believe this is a mistake, reply to this email.".into(),
        },
    )
}

pub fn find_authorization(conn: &mut DbConn, id: i64) -> AppResult<WorkAuthorization> {
    Ok(work_authorizations::table.find(id).select(WorkAuthorization::as_select()).first(conn)?)
}

pub fn documents_of(conn: &mut DbConn, wa_id: i64) -> AppResult<Vec<AuthorizationDocument>> {
    Ok(work_authorization_documents::table
        .filter(work_authorization_documents::work_authorization_id.eq(wa_id))
        .order(work_authorization_documents::id)
        .select(AuthorizationDocument::as_select())
        .load(conn)?)
}

// ---------------------------------------------------------------- documents

struct PresentedDocument {
    list: DocList,
    document_type: DocumentType,
    number: Option<String>,
    expires_on: Option<NaiveDate>,
    bytes: Vec<u8>,
}

/// Reads the chosen documents from the form: `list_a_type`, `list_a_number`,
/// `list_a_expires_on`, `list_a_file`, and the same for `list_b_*` and `list_c_*`.
fn presented(form: &mut Form) -> Result<Vec<PresentedDocument>, Vec<FieldError>> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for list in [DocList::A, DocList::B, DocList::C] {
        let f = list.field();
        let doc_type = form.text(&format!("{f}_type")).map(str::to_string);
        let file = form.files.remove(&format!("{f}_file"));
        match (doc_type.map(|t| DocumentType::parse(&t).ok_or(t)), file) {
            (None, None) => continue,
            (None, Some(_)) => {
                errors.push(FieldError::new(&format!("{f}_type"), "required", "say which document this file is"))
            }
            (Some(_), None) => {
                errors.push(FieldError::new(&format!("{f}_file"), "required", "attach the document's scan or photo"))
            }
            (Some(Err(unknown)), _) => errors.push(FieldError::new(
                &format!("{f}_type"),
                "unknown_document",
                format!("{unknown:?} is not a Form I-9 document type"),
            )),
            (Some(Ok(document_type)), Some(upload)) => {
                let expires_on = match form.text(&format!("{f}_expires_on")) {
                    None => None,
                    Some(s) => match s.parse::<NaiveDate>() {
                        Ok(d) => Some(d),
                        Err(_) => {
                            errors.push(FieldError::new(&format!("{f}_expires_on"), "date", "a date like 2027-05-31"));
                            None
                        }
                    },
                };
                let number = form.text(&format!("{f}_number")).map(str::to_string);
                if number.as_ref().is_some_and(|n| n.len() > 64) {
                    errors.push(FieldError::new(&format!("{f}_number"), "length", "at most 64 characters"));
                }
                out.push(PresentedDocument { list, document_type, number, expires_on, bytes: upload.bytes });
            }
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Mask of a document number for display: its last four characters.
pub fn last4(number: &str) -> String {
    let chars: Vec<char> = number.chars().collect();
    let tail: String = chars[chars.len().saturating_sub(4)..].iter().collect();
    format!("****{tail}")
}

pub fn submit_documents(state: &AppState, ctx: &RequestCtx, user_id: i64, mut form: Form) -> AppResult<i64> {
    let wa = state.db.read_sync(|c| current_authorization(c, user_id))?.ok_or_else(|| {
        AppError::conflict(
            ProblemCode::AttestationRequired,
            "attest your work authorization first (PUT /me/work-authorization)",
        )
    })?;
    if !matches!(wa.status(), AuthorizationStatus::Attested | AuthorizationStatus::MoreInfoRequested) {
        return Err(AppError::conflict(
            ProblemCode::DocumentsNotExpected,
            format!("your work authorization is {}; no documents are expected now", wa.status),
        ));
    }
    let docs = presented(&mut form).map_err(AppError::Validation)?;
    let combination: Vec<(DocList, DocumentType)> = docs.iter().map(|d| (d.list, d.document_type)).collect();
    documents::validate(&combination, wa.reverification).map_err(AppError::Validation)?;
    let facts: Vec<documents::Presented> = docs
        .iter()
        .map(|d| documents::Presented { list: d.list, doc_type: d.document_type, expires_on: d.expires_on })
        .collect();
    let refused = documents::check_presented(&facts, state.clock.now().date());
    if !refused.is_empty() {
        return Err(AppError::Validation(refused));
    }
    let category = wa.category;
    let reverify_on = documents::reverify_on(category, wa.expires_on, &facts);

    // Files are checked and written first; if the transaction then fails they are removed.
    let mut stored = Vec::new();
    for d in &docs {
        match files::store(state, &format!("{}_file", d.list.field()), &d.bytes) {
            Ok(s) => stored.push(s),
            Err(e) => {
                files::discard(state, &stored);
                return Err(e);
            }
        }
    }
    let result = state.db.tx_sync(|conn| {
        let now = state.clock.now();
        let wa = find_authorization(conn, wa.id)?;
        if !matches!(wa.status(), AuthorizationStatus::Attested | AuthorizationStatus::MoreInfoRequested) {
            return Err(AppError::conflict(
                ProblemCode::DocumentsNotExpected,
                "the work authorization changed meanwhile",
            ));
        }
        for (d, s) in docs.iter().zip(&stored) {
            let file_id = files::record(conn, now, user_id, crate::files::model::FilePurpose::WorkAuthorization, s)?;
            diesel::insert_into(work_authorization_documents::table)
                .values(NewAuthorizationDocument {
                    work_authorization_id: wa.id,
                    list: d.list,
                    document_type: d.document_type,
                    number_enc: d.number.as_ref().map(|n| state.cipher.encrypt_str(n)),
                    expires_on: d.expires_on,
                    file_id,
                    created_at: now,
                })
                .execute(conn)?;
        }
        diesel::update(work_authorizations::table.find(wa.id))
            .set((
                work_authorizations::status.eq(AuthorizationStatus::PendingReview.as_str()),
                work_authorizations::reverify_on.eq(reverify_on),
                work_authorizations::submitted_at.eq(now),
                work_authorizations::claimed_by.eq(None::<i64>),
                work_authorizations::claim_expires_at.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?;
        let user = find_user(conn, user_id)?;
        if user.status() == UserStatus::EmailVerified {
            transition(conn, now, ctx, Some(user_id), &user, Transition::SubmitAuthorization, None, None)?;
        }
        let types: Vec<String> = docs.iter().map(|d| format!("{}:{}", d.list.as_str(), d.document_type)).collect();
        audit::record(
            conn,
            now,
            ctx,
            AuditEvent {
                actor_id: Some(user_id),
                action: AuditAction::WorkAuthorizationDocumentsSubmitted,
                subject_type: AuditSubject::WorkAuthorization,
                subject_id: Some(wa.id.to_string()),
                summary: json!({"documents": types}),
            },
        )?;
        Ok(wa.id)
    });
    if result.is_err() {
        files::discard(state, &stored);
    }
    result
}

// ---------------------------------------------------------------- review queue

pub struct QueueRow {
    pub authorization: WorkAuthorization,
    pub applicant_name: String,
    pub documents: Vec<AuthorizationDocument>,
}

/// Items awaiting review, oldest submission first.
/// Work authorizations awaiting review, oldest first, after the `cursor` item (keyset on
/// submission time and id).
pub fn queue(conn: &mut DbConn, limit: Option<i64>, cursor: Option<i64>) -> AppResult<Vec<QueueRow>> {
    let mut q = work_authorizations::table
        .inner_join(users::table.on(users::id.eq(work_authorizations::user_id)))
        .filter(work_authorizations::status.eq(AuthorizationStatus::PendingReview.as_str()))
        .into_boxed();
    if let Some(after) = cursor {
        let at: Option<Option<NaiveDateTime>> =
            work_authorizations::table.find(after).select(work_authorizations::submitted_at).first(conn).optional()?;
        // Not a cursor this list wrote: nothing follows it.
        let Some(at) = at.flatten() else { return Ok(Vec::new()) };
        q = q.filter(
            work_authorizations::submitted_at
                .gt(at)
                .or(work_authorizations::submitted_at.eq(at).and(work_authorizations::id.gt(after))),
        );
    }
    let rows: Vec<(WorkAuthorization, String)> = q
        .order((work_authorizations::submitted_at.asc(), work_authorizations::id.asc()))
        .limit(crate::db::page_limit(limit))
        .select((WorkAuthorization::as_select(), users::full_name))
        .load(conn)?;
    let mut out = Vec::with_capacity(rows.len());
    for (authorization, applicant_name) in rows {
        let documents = documents_of(conn, authorization.id)?;
        out.push(QueueRow { authorization, applicant_name, documents });
    }
    Ok(out)
}

/// Claims an item for review ([`review::claim`] on [`super::queue::WorkAuthorizations`]).
pub fn claim(state: &AppState, ctx: &RequestCtx, reviewer_id: i64, wa_id: i64) -> AppResult<WorkAuthorization> {
    review::claim(state, ctx, &super::queue::WorkAuthorizations, reviewer_id, wa_id)?;
    state.db.read_sync(|conn| find_authorization(conn, wa_id))
}

pub struct ReviewDecision {
    pub outcome: ReviewOutcome,
    pub reason_code: String,
    pub note: String,
}

/// Whether `reviewer_id` may decide `wa` now: not their own, awaiting review, claimed by
/// them, and not verified once a document presented has expired while it waited.
fn decidable(wa: &WorkAuthorization, reviewer_id: i64, outcome: ReviewOutcome, now: NaiveDateTime) -> AppResult<()> {
    if wa.user_id == reviewer_id {
        return Err(AppError::Forbidden("nobody reviews their own application".into()));
    }
    if wa.status() != AuthorizationStatus::PendingReview {
        return Err(AppError::conflict(ProblemCode::NotPendingReview, "this item is not awaiting review"));
    }
    if !review::holds_claim(wa.claimed_by, wa.claim_expires_at, reviewer_id, now) {
        return Err(review::claim_required());
    }
    // Documents may have expired while waiting for review: never verify an expired one.
    if outcome == ReviewOutcome::Verify && wa.reverify_on.is_some_and(|on| on < now.date()) {
        return Err(AppError::conflict(
            ProblemCode::DocumentExpired,
            "the authorization or a document presented has expired since it was uploaded; \
             request more information or reject with document_expired",
        ));
    }
    Ok(())
}

/// The lifecycle step a decision takes the person through, if any: a verification
/// activates an applicant and lifts only the suspension an expiry caused; a rejection
/// ends an application still in onboarding.
fn decision_transition(outcome: ReviewOutcome, user: &User) -> Option<Transition> {
    match (outcome, user.status()) {
        (ReviewOutcome::Verify, UserStatus::AuthorizationPending) => Some(Transition::VerifyAuthorization),
        (ReviewOutcome::Verify, UserStatus::Suspended) if verification_lifts(user.status_reason.as_deref()) => {
            Some(Transition::VerifyAuthorization)
        }
        (ReviewOutcome::Reject, UserStatus::EmailVerified | UserStatus::AuthorizationPending) => {
            Some(Transition::Reject)
        }
        _ => None,
    }
}

/// The decision email's headline and next steps.
fn decision_words(outcome: ReviewOutcome) -> (&'static str, &'static str) {
    match outcome {
        ReviewOutcome::Verify => {
            ("Your US work authorization is verified.", "You can now take qualification tests for paid projects.")
        }
        ReviewOutcome::Reject => (
            "We could not verify your US work authorization.",
            "If you believe this is a mistake, reply to this email.",
        ),
        ReviewOutcome::RequestMoreInfo => (
            "We need more information to verify your US work authorization.",
            "Upload your documents again (one List A document, or one List B and one List C document of your choice).",
        ),
    }
}

pub fn decide(
    state: &AppState,
    ctx: &RequestCtx,
    reviewer_id: i64,
    wa_id: i64,
    d: ReviewDecision,
) -> AppResult<WorkAuthorization> {
    let reason = d.outcome.reason(&d.reason_code)?.as_str();
    let note = review::note(&d.note, d.outcome != ReviewOutcome::Verify)?;
    let d = ReviewDecision { note, ..d };
    state.db.tx_sync(|conn| {
        let now = state.clock.now();
        let wa = find_authorization(conn, wa_id)?;
        decidable(&wa, reviewer_id, d.outcome, now)?;
        let new_status = match d.outcome {
            ReviewOutcome::Verify => AuthorizationStatus::Verified,
            ReviewOutcome::Reject => AuthorizationStatus::Rejected,
            ReviewOutcome::RequestMoreInfo => AuthorizationStatus::MoreInfoRequested,
        };
        if new_status == AuthorizationStatus::Verified {
            // The new verification replaces the one it renews.
            diesel::update(
                work_authorizations::table
                    .filter(work_authorizations::user_id.eq(wa.user_id))
                    .filter(work_authorizations::status.eq(AuthorizationStatus::Verified.as_str())),
            )
            .set(work_authorizations::status.eq(AuthorizationStatus::Superseded.as_str()))
            .execute(conn)?;
        }
        diesel::update(work_authorizations::table.find(wa_id))
            .set((
                work_authorizations::status.eq(new_status),
                work_authorizations::decided_by.eq(reviewer_id),
                work_authorizations::decided_at.eq(now),
                work_authorizations::verified_at.eq((new_status == AuthorizationStatus::Verified).then_some(now)),
                work_authorizations::claimed_by.eq(None::<i64>),
                work_authorizations::claim_expires_at.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?;
        let user = find_user(conn, wa.user_id)?;
        if let Some(t) = decision_transition(d.outcome, &user) {
            transition(conn, now, ctx, Some(reviewer_id), &user, t, Some(reason), None)?;
        }
        let outcome = d.outcome.decision_outcome();
        decisions::record(
            conn,
            now,
            NewDecision {
                user_id: user.id,
                subject_type: DecisionSubject::WorkAuthorization,
                subject_id: wa_id.to_string(),
                outcome,
                reason_code: reason,
                note: &d.note,
                decided_by: Some(reviewer_id),
            },
        )?;
        let (headline, next_steps) = decision_words(d.outcome);
        notifications::enqueue(
            conn,
            now,
            &user.email,
            &format!("work_authorization_decision:{wa_id}:{outcome}"),
            &templates::AuthorizationDecision {
                full_name: user.full_name.clone(),
                subject: "Update on your US work authorization".into(),
                headline: headline.into(),
                reason: reason.replace('_', " "),
                note: d.note.clone(),
                next_steps: next_steps.into(),
            },
        )?;
        audit::record(
            conn,
            now,
            ctx,
            AuditEvent {
                actor_id: Some(reviewer_id),
                action: AuditAction::WorkAuthorizationDecided,
                subject_type: AuditSubject::WorkAuthorization,
                subject_id: Some(wa_id.to_string()),
                summary: json!({"before": wa.status, "after": new_status.as_str(), "reason_code": reason}),
            },
        )?;
        find_authorization(conn, wa_id)
    })
}

/// Whether `reviewer_id` currently holds the claim on the review item `file_id` belongs to.
pub fn reviewer_holds_file(conn: &mut DbConn, now: NaiveDateTime, reviewer_id: i64, file_id: i64) -> AppResult<bool> {
    let n: i64 = work_authorization_documents::table
        .inner_join(work_authorizations::table)
        .filter(work_authorization_documents::file_id.eq(file_id))
        .filter(work_authorizations::claimed_by.eq(reviewer_id))
        .filter(work_authorizations::claim_expires_at.gt(now))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

// ---------------------------------------------------------------- reverification

/// Reason of the suspension at the expiry of a work authorization.
pub const AUTHORIZATION_EXPIRED: &str = "work_authorization_expired";

/// Whether verifying a reverification lifts a suspension with this reason: only the
/// expiry suspension it answers; a suspension for quality or anything else stays.
pub fn verification_lifts(suspension_reason: Option<&str>) -> bool {
    suspension_reason == Some(AUTHORIZATION_EXPIRED)
}

#[derive(Debug, Default, serde::Serialize, utoipa::ToSchema)]
pub struct ReverificationReport {
    pub reminders_queued: usize,
    pub suspended: usize,
}

/// The reminder due `days_left` days before expiry: the smallest configured threshold
/// the date has crossed (a late run sends the most urgent reminder, not stale ones).
pub fn reminder_due(days_left: i64, thresholds: &[i64]) -> Option<i64> {
    thresholds.iter().copied().filter(|t| days_left <= *t).min()
}

/// Reminds holders of expiring authorizations and suspends those whose authorization
/// has expired. Idempotent: reminders are keyed per authorization and threshold, and a
/// suspended account is not suspended again.
pub fn run_reverification(state: &AppState) -> AppResult<ReverificationReport> {
    let today = state.clock.now().date();
    let due: Vec<(WorkAuthorization, User)> = state.db.read_sync(|conn| {
        Ok(work_authorizations::table
            .inner_join(users::table.on(users::id.eq(work_authorizations::user_id)))
            .filter(work_authorizations::status.eq(AuthorizationStatus::Verified.as_str()))
            .filter(work_authorizations::reverify_on.is_not_null())
            .select((WorkAuthorization::as_select(), User::as_select()))
            .load(conn)?)
    })?;
    let mut report = ReverificationReport::default();
    let ctx = RequestCtx::system("job:reverification");
    for (wa, user) in due {
        let Some(expires_on) = wa.reverify_on else { continue };
        let days_left = (expires_on - today).num_days();
        if days_left < 0 {
            if matches!(user.status(), UserStatus::AuthorizationVerified | UserStatus::Active) {
                state.db.tx_sync(|conn| {
                    let now = state.clock.now();
                    let user = find_user(conn, user.id)?;
                    transition(
                        conn,
                        now,
                        &ctx,
                        None,
                        &user,
                        Transition::Suspend,
                        Some(AUTHORIZATION_EXPIRED),
                        None,
                    )?;
                    decisions::record(
                        conn,
                        now,
                        NewDecision {
                            user_id: user.id,
                            subject_type: DecisionSubject::Account,
                            subject_id: user.id.to_string(),
                            outcome: DecisionOutcome::Suspended,
                            reason_code: AUTHORIZATION_EXPIRED,
                            note: "New work is paused until your work authorization is reverified. Earned money is still paid.",
                            decided_by: None,
                        },
                    )?;
                    notifications::enqueue(
                        conn,
                        now,
                        &user.email,
                        &format!("authorization_expired:{}", wa.id),
                        &templates::AuthorizationExpired {
                            full_name: user.full_name.clone(),
                            expires_on: expires_on.to_string(),
                        },
                    )
                })?;
                report.suspended += 1;
            }
        } else if let Some(threshold) = reminder_due(days_left, &state.config.operations.reverify_reminder_days) {
            let key = format!("reverification_reminder:{}:{threshold}", wa.id);
            let queued = state.db.tx_sync(|conn| {
                notifications::enqueue_once(
                    conn,
                    state.clock.now(),
                    &user.email,
                    &key,
                    &templates::ReverificationReminder {
                        full_name: user.full_name.clone(),
                        days_left,
                        expires_on: expires_on.to_string(),
                    },
                )
            })?;
            report.reminders_queued += usize::from(queued);
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_decision_moves_the_person_only_where_the_lifecycle_says() {
        use crate::readiness::testing::user;
        use ReviewOutcome::{Reject, RequestMoreInfo, Verify};
        let pending = user(UserStatus::AuthorizationPending);
        assert_eq!(decision_transition(Verify, &pending), Some(Transition::VerifyAuthorization));
        assert_eq!(decision_transition(Reject, &pending), Some(Transition::Reject));
        assert_eq!(decision_transition(RequestMoreInfo, &pending), None);
        assert_eq!(decision_transition(Reject, &user(UserStatus::EmailVerified)), Some(Transition::Reject));
        let mut expired = user(UserStatus::Suspended);
        expired.status_reason = Some(AUTHORIZATION_EXPIRED.into());
        assert_eq!(decision_transition(Verify, &expired), Some(Transition::VerifyAuthorization));
        let mut suspended = user(UserStatus::Suspended);
        suspended.status_reason = Some("quality".into());
        assert_eq!(decision_transition(Verify, &suspended), None, "only the expiry's suspension is lifted");
        assert_eq!(
            decision_transition(Reject, &user(UserStatus::Active)),
            None,
            "a reverification is not a rejection of the person"
        );
    }

    #[test]
    fn reminder_thresholds() {
        let t = [90, 30, 7];
        assert_eq!(reminder_due(120, &t), None);
        assert_eq!(reminder_due(90, &t), Some(90));
        assert_eq!(reminder_due(45, &t), Some(90));
        assert_eq!(reminder_due(20, &t), Some(30));
        assert_eq!(reminder_due(0, &t), Some(7));
    }

    #[test]
    fn refugees_and_asylees_attest_without_an_expiration_date() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        let attest = |category, expiration| Attestation { category, expiration, residence_country: "US".into() };
        let na = attest(AuthorizationCategory::NoncitizenAuthorized, Some(Expiry::NotApplicable));
        assert!(validate_attestation(&na, today).is_ok(), "N/A is an answer, not a missing one");
        let dated = attest(AuthorizationCategory::NoncitizenAuthorized, Some(Expiry::On(today.succ_opt().unwrap())));
        assert!(validate_attestation(&dated, today).is_ok());
        let past = attest(AuthorizationCategory::NoncitizenAuthorized, Some(Expiry::On(today)));
        assert_eq!(validate_attestation(&past, today).unwrap_err()[0].code, "in_past");
        let left_out = attest(AuthorizationCategory::NoncitizenAuthorized, None);
        assert_eq!(validate_attestation(&left_out, today).unwrap_err()[0].code, "required");
        let citizen = attest(AuthorizationCategory::UsCitizen, Some(Expiry::On(today.succ_opt().unwrap())));
        assert_eq!(validate_attestation(&citizen, today).unwrap_err()[0].code, "not_allowed");
        assert!(
            validate_attestation(&attest(AuthorizationCategory::UsCitizen, Some(Expiry::NotApplicable)), today).is_ok()
        );
    }

    #[test]
    fn only_the_expiry_suspension_is_lifted_by_reverification() {
        assert!(verification_lifts(Some("work_authorization_expired")));
        assert!(!verification_lifts(Some("quality: rejection share above the suspension threshold")));
        assert!(!verification_lifts(None));
    }

    #[test]
    fn masks_keep_four_characters() {
        assert_eq!(last4("A12345678"), "****5678");
        assert_eq!(last4("12"), "****12");
    }

    #[test]
    fn profile_rules() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
        let minor = ProfilePatch { date_of_birth: NaiveDate::from_ymd_opt(2010, 1, 1), ..Default::default() };
        assert_eq!(validate_profile(&minor, today).unwrap_err()[0].code, "minimum_age");
        let adult = ProfilePatch {
            date_of_birth: NaiveDate::from_ymd_opt(1990, 5, 17),
            phone: Some("+1 (212) 555-0100".into()),
            ..Default::default()
        };
        assert!(validate_profile(&adult, today).is_ok());
    }
}
