//! Credential rules and transactions.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde_json::json;

use super::model::*;
use crate::audit::{self, AuditAction, AuditEvent, AuditSubject};
use crate::auth::model::UserStatus;
use crate::auth::service::find_user;
use crate::auth::RequestCtx;
use crate::db::schema::{credential_rules, credentials, files, qualifications, removal_proposals, users};
use crate::db::DbConn;
use crate::decisions::{self, DecisionOutcome, DecisionSubject, NewDecision};
use crate::error::{AppError, AppResult, FieldError, ProblemCode};
use crate::files::multipart::Form;
use crate::files::service as file_store;
use crate::notifications::{self, templates};
use crate::review;
use crate::AppState;

pub fn find(conn: &mut DbConn, id: i64) -> AppResult<Credential> {
    Ok(credentials::table.find(id).select(Credential::as_select()).first(conn)?)
}

/// One page of a user's credentials, newest first, before the cursor.
pub fn list_mine(
    conn: &mut DbConn,
    user_id: i64,
    before: Option<i64>,
    limit: Option<i64>,
) -> AppResult<Vec<Credential>> {
    Ok(credentials::table
        .filter(credentials::user_id.eq(user_id))
        .filter(credentials::id.lt(before.unwrap_or(i64::MAX)))
        .order(credentials::id.desc())
        .limit(crate::db::page_limit(limit))
        .select(Credential::as_select())
        .load(conn)?)
}

/// [`list_mine`] for many users at once (readiness in bulk), by user id.
pub fn lists_of(conn: &mut DbConn, among: crate::db::among::Among<'_>) -> AppResult<HashMap<i64, Vec<Credential>>> {
    let rows: Vec<Credential> = crate::among!(
        credentials::table.order((credentials::user_id.asc(), credentials::id.desc())).select(Credential::as_select()),
        credentials::user_id,
        among
    )
    .load(conn)?;
    let mut out: HashMap<i64, Vec<Credential>> = HashMap::new();
    for c in rows {
        let list = out.entry(c.user_id).or_default();
        if list.len() < 200 {
            list.push(c);
        }
    }
    Ok(out)
}

/// The credential fields of an upload, already parsed.
pub struct CredentialInput {
    pub kind: CredentialKind,
    pub level: Option<DegreeLevel>,
    pub domain: String,
    pub title: String,
    pub issuer: String,
    pub issued_on: Option<NaiveDate>,
    pub expires_on: Option<NaiveDate>,
    pub replaces: Option<i64>,
}

fn date_field(form: &Form, name: &str, errors: &mut Vec<FieldError>) -> Option<NaiveDate> {
    let raw = form.text(name)?;
    match raw.parse() {
        Ok(d) => Some(d),
        Err(_) => {
            errors.push(FieldError::new(name, "date", "a date like 2024-06-30"));
            None
        }
    }
}

fn text_field(form: &Form, name: &str, max: usize, errors: &mut Vec<FieldError>) -> String {
    match form.text(name) {
        None => {
            errors.push(FieldError::new(name, "required", format!("{name} is required")));
            String::new()
        }
        Some(v) if v.chars().count() > max => {
            errors.push(FieldError::new(name, "length", format!("at most {max} characters")));
            String::new()
        }
        Some(v) => v.to_string(),
    }
}

/// Reads and checks the text fields of `POST /me/credentials`.
pub fn parse_input(form: &Form, today: NaiveDate) -> Result<CredentialInput, Vec<FieldError>> {
    let mut errors = Vec::new();
    let kind = match form.text("kind").map(CredentialKind::parse) {
        Some(Some(k)) => Some(k),
        _ => {
            errors.push(FieldError::new(
                "kind",
                "one_of",
                "one of degree, transcript, certification, professional_license",
            ));
            None
        }
    };
    let level = match (kind, form.text("level")) {
        (Some(CredentialKind::Degree), Some(l)) => match DegreeLevel::parse(l) {
            Some(l) => Some(l),
            None => {
                errors.push(FieldError::new("level", "one_of", "one of bachelor, master, doctorate, professional"));
                None
            }
        },
        (Some(CredentialKind::Degree), None) => {
            errors.push(FieldError::new("level", "required", "a degree needs its level"));
            None
        }
        (_, Some(_)) => {
            errors.push(FieldError::new("level", "not_allowed", "only degrees have a level"));
            None
        }
        _ => None,
    };
    let domain = text_field(form, "domain", 100, &mut errors).to_lowercase();
    let title = text_field(form, "title", 200, &mut errors);
    let issuer = text_field(form, "issuer", 200, &mut errors);
    let issued_on = date_field(form, "issued_on", &mut errors);
    let expires_on = date_field(form, "expires_on", &mut errors);
    if issued_on.is_some_and(|d| d > today) {
        errors.push(FieldError::new("issued_on", "in_future", "the issue date is in the future"));
    }
    if let (Some(i), Some(e)) = (issued_on, expires_on) {
        if e <= i {
            errors.push(FieldError::new("expires_on", "before_issue", "the expiry is before the issue date"));
        }
    }
    let replaces = match form.text("replaces") {
        None => None,
        Some(v) => match v.parse() {
            Ok(id) => Some(id),
            Err(_) => {
                errors.push(FieldError::new("replaces", "integer", "the id of the credential this one replaces"));
                None
            }
        },
    };
    match kind {
        Some(kind) if errors.is_empty() => {
            Ok(CredentialInput { kind, level, domain, title, issuer, issued_on, expires_on, replaces })
        }
        _ => Err(errors),
    }
}

/// Stores an uploaded credential and queues it for review. The file is written first
/// and removed again if the transaction fails.
pub fn upload(state: &AppState, ctx: &RequestCtx, user_id: i64, mut form: Form) -> AppResult<Credential> {
    let today = state.clock.now().date();
    let input = parse_input(&form, today).map_err(AppError::Validation)?;
    let upload = form.files.remove("file").ok_or_else(|| AppError::field("file", "required", "attach the document"))?;
    let user = state.db.read_sync(|c| find_user(c, user_id))?;
    if user.email_verified_at.is_none() {
        return Err(AppError::conflict(ProblemCode::EmailNotVerified, "verify your email address first"));
    }
    if matches!(user.status(), UserStatus::Rejected | UserStatus::Removed) {
        return Err(AppError::conflict(ProblemCode::InvalidState, format!("your account is {}", user.status)));
    }
    let stored = file_store::store(state, "file", &upload.bytes)?;
    let result = state.db.tx_sync(|conn| {
        let now = state.clock.now();
        if let Some(old_id) = input.replaces {
            let old = find(conn, old_id)?;
            if old.user_id != user_id {
                return Err(AppError::NotFound);
            }
            if old.status() != CredentialStatus::MoreInfoRequested {
                return Err(AppError::conflict(
                    ProblemCode::NotReplaceable,
                    "only a credential for which more information was requested can be replaced",
                ));
            }
            diesel::update(credentials::table.find(old_id))
                .set(credentials::status.eq(CredentialStatus::Superseded.as_str()))
                .execute(conn)?;
        }
        let file_id = file_store::record(conn, now, user_id, crate::files::model::FilePurpose::Credential, &stored)?;
        // Fraud signal: the same bytes uploaded by someone else flags both review items.
        let same_file_elsewhere: Vec<i64> = files::table
            .filter(files::sha256.eq(&stored.sha256))
            .filter(files::owner_id.ne(user_id))
            .select(files::id)
            .load(conn)?;
        let flagged = !same_file_elsewhere.is_empty();
        let reason = "the same file was uploaded by another applicant";
        if flagged {
            diesel::update(credentials::table.filter(credentials::file_id.eq_any(&same_file_elsewhere)))
                .set((credentials::flagged.eq(true), credentials::flag_reason.eq(reason)))
                .execute(conn)?;
        }
        let id: i64 = diesel::insert_into(credentials::table)
            .values(NewCredential {
                user_id,
                kind: input.kind,
                level: input.level,
                domain: &input.domain,
                title: &input.title,
                issuer: &input.issuer,
                issued_on: input.issued_on,
                expires_on: input.expires_on,
                file_id,
                status: CredentialStatus::PendingReview,
                flagged,
                flag_reason: flagged.then_some(reason),
                replaces_id: input.replaces,
                submitted_at: now,
            })
            .returning(credentials::id)
            .get_result(conn)?;
        audit::record(
            conn,
            now,
            ctx,
            AuditEvent {
                actor_id: Some(user_id),
                action: AuditAction::CredentialUploaded,
                subject_type: AuditSubject::Credential,
                subject_id: Some(id.to_string()),
                summary: json!({"kind": input.kind.as_str(), "domain": input.domain, "sha256": stored.sha256, "flagged": flagged}),
            },
        )?;
        find(conn, id)
    });
    if result.is_err() {
        file_store::discard(state, std::slice::from_ref(&stored));
    }
    result
}

#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
pub struct QueueFilter {
    pub kind: Option<CredentialKind>,
    pub domain: Option<String>,
    /// Only items waiting at least this many hours.
    #[param(minimum = 0, maximum = 87600)]
    #[serde(default, deserialize_with = "crate::wire::bounded::<_, 0, 87600>")]
    pub min_age_hours: Option<i64>,
    pub flagged: Option<bool>,
    /// Page size, 50 by default, at most 200.
    #[serde(default, deserialize_with = "crate::db::page::limit")]
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page (opaque).
    #[serde(default, deserialize_with = "crate::db::page::cursor")]
    #[param(value_type = Option<String>, pattern = r"^c[0-9]{1,18}$")]
    pub cursor: Option<i64>,
}

/// Credentials awaiting review, oldest first, with the applicant's name.
pub fn queue(conn: &mut DbConn, now: NaiveDateTime, f: &QueueFilter) -> AppResult<Vec<(Credential, String)>> {
    let mut q = credentials::table
        .inner_join(users::table.on(users::id.eq(credentials::user_id)))
        .filter(credentials::status.eq(CredentialStatus::PendingReview.as_str()))
        .select((Credential::as_select(), users::full_name))
        .into_boxed();
    if let Some(kind) = f.kind {
        q = q.filter(credentials::kind.eq(kind));
    }
    if let Some(domain) = &f.domain {
        q = q.filter(credentials::domain.eq(domain.to_lowercase()));
    }
    if let Some(hours) = f.min_age_hours {
        q = q.filter(credentials::submitted_at.le(now - chrono::Duration::hours(hours)));
    }
    if let Some(flagged) = f.flagged {
        q = q.filter(credentials::flagged.eq(flagged));
    }
    // Keyset on (submitted_at, id): the page after the cursor's item, oldest first.
    if let Some(after) = f.cursor {
        let at: Option<NaiveDateTime> =
            credentials::table.find(after).select(credentials::submitted_at).first(conn).optional()?;
        // Not a cursor this list wrote: nothing follows it.
        let Some(at) = at else { return Ok(Vec::new()) };
        q = q.filter(
            credentials::submitted_at.gt(at).or(credentials::submitted_at.eq(at).and(credentials::id.gt(after))),
        );
    }
    Ok(q.order((credentials::submitted_at.asc(), credentials::id.asc()))
        .limit(crate::db::page_limit(f.limit))
        .load(conn)?)
}

/// Claims a credential for review ([`review::claim`] on [`super::queue::Credentials`]).
pub fn claim(state: &AppState, ctx: &RequestCtx, reviewer_id: i64, id: i64) -> AppResult<Credential> {
    review::claim(state, ctx, &super::queue::Credentials, reviewer_id, id)?;
    state.db.read_sync(|conn| find(conn, id))
}

pub fn decide(
    state: &AppState,
    ctx: &RequestCtx,
    reviewer_id: i64,
    id: i64,
    outcome: CredentialOutcome,
    reason_code: &str,
    note: &str,
) -> AppResult<Credential> {
    let reason_code = outcome.reason(reason_code)?;
    let note = &review::note(note, outcome != CredentialOutcome::Verify)?;
    state.db.tx_sync(|conn| {
        let now = state.clock.now();
        let c = find(conn, id)?;
        if c.user_id == reviewer_id {
            return Err(AppError::Forbidden("nobody reviews their own credentials".into()));
        }
        if c.status() != CredentialStatus::PendingReview {
            return Err(AppError::conflict(ProblemCode::NotPendingReview, "this credential is not awaiting review"));
        }
        if !review::holds_claim(c.claimed_by, c.claim_expires_at, reviewer_id, now) {
            return Err(review::claim_required());
        }
        let status = outcome.status();
        diesel::update(credentials::table.find(id))
            .set((
                credentials::status.eq(status),
                credentials::decided_by.eq(reviewer_id),
                credentials::decided_at.eq(now),
                credentials::reason_code.eq(reason_code),
                credentials::note.eq(note),
                credentials::claimed_by.eq(None::<i64>),
                credentials::claim_expires_at.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?;
        let granted =
            if outcome == CredentialOutcome::Verify { apply_rules(conn, now, ctx, reviewer_id, &c)? } else { Vec::new() };
        decisions::record(
            conn,
            now,
            NewDecision {
                user_id: c.user_id,
                subject_type: DecisionSubject::Credential,
                subject_id: id.to_string(),
                outcome: outcome.decision_outcome(),
                reason_code: reason_code.as_str(),
                note,
                decided_by: Some(reviewer_id),
            },
        )?;
        let user = find_user(conn, c.user_id)?;
        let (headline, next_steps) = decision_message(outcome, &c.describe(), id, &granted);
        notifications::enqueue(
            conn,
            now,
            &user.email,
            &format!("credential_decision:{id}:{}", status.as_str()),
            &templates::CredentialDecision {
                full_name: user.full_name.clone(),
                subject: "Update on your credential".into(),
                headline,
                reason: reason_code.as_str().replace('_', " "),
                note: note.to_string(),
                next_steps,
            },
        )?;
        audit::record(
            conn,
            now,
            ctx,
            AuditEvent {
                actor_id: Some(reviewer_id),
                action: AuditAction::CredentialDecided,
                subject_type: AuditSubject::Credential,
                subject_id: Some(id.to_string()),
                summary: json!({"before": c.status, "after": status.as_str(), "reason_code": reason_code, "granted": granted}),
            },
        )?;
        find(conn, id)
    })
}

/// The email's headline and next steps for a decision on credential `id` (`what` it is,
/// e.g. "master degree in law"), naming the qualifications a verification `granted`.
fn decision_message(outcome: CredentialOutcome, what: &str, id: i64, granted: &[String]) -> (String, String) {
    match outcome {
        CredentialOutcome::Verify => (
            format!("Your {what} is verified."),
            if granted.is_empty() {
                "It is now on file and counts toward tests that require it.".to_string()
            } else {
                format!("It gives you the qualification(s): {}.", granted.join(", "))
            },
        ),
        CredentialOutcome::Reject => (
            format!("We could not verify your {what}."),
            "If you believe this is a mistake, reply to this email.".to_string(),
        ),
        CredentialOutcome::RequestMoreInfo => (
            format!("We need more information about your {what}."),
            format!("Upload the document again with replaces={id} (POST /me/credentials)."),
        ),
    }
}

fn rule_matches(rule: &CredentialRule, c: &Credential) -> bool {
    rule.kind == c.kind && rule.domain == c.domain && (rule.level.is_none() || rule.level == c.level)
}

/// Grants the qualifications the admin's rules attach to a verified credential. A
/// license's qualification expires with it.
fn apply_rules(
    conn: &mut DbConn,
    now: NaiveDateTime,
    ctx: &RequestCtx,
    reviewer_id: i64,
    c: &Credential,
) -> AppResult<Vec<String>> {
    let rules: Vec<CredentialRule> = credential_rules::table
        .filter(credential_rules::kind.eq(&c.kind))
        .filter(credential_rules::domain.eq(&c.domain))
        .select(CredentialRule::as_select())
        .load(conn)?;
    let mut granted = Vec::new();
    for rule in rules.iter().filter(|r| rule_matches(r, c)) {
        let source = format!("credential:{}:rule:{}", c.id, rule.id);
        crate::qualifications::service::grant_qualification(
            conn,
            now,
            ctx,
            Some(reviewer_id),
            crate::qualifications::service::Grant {
                user_id: c.user_id,
                domain: &rule.grants_domain,
                tier: rule.grants_tier,
                source: &source,
                expires_at: c.expires_on.and_then(|d| d.succ_opt()).and_then(|d| d.and_hms_opt(0, 0, 0)),
            },
        )?;
        granted.push(format!("{} {}", rule.grants_domain, rule.grants_tier));
    }
    Ok(granted)
}

/// Whether the user holds a verified, unexpired credential of this kind, level and domain.
pub fn holds_verified(
    conn: &mut DbConn,
    user_id: i64,
    kind: CredentialKind,
    level: Option<DegreeLevel>,
    domain: &str,
) -> AppResult<bool> {
    let mut q = credentials::table
        .filter(credentials::user_id.eq(user_id))
        .filter(credentials::status.eq(CredentialStatus::Verified))
        .filter(credentials::kind.eq(kind))
        .filter(credentials::domain.eq(domain.to_lowercase()))
        .into_boxed();
    if let Some(level) = level {
        q = q.filter(credentials::level.eq(level));
    }
    Ok(q.count().get_result::<i64>(conn)? > 0)
}

/// Whether `reviewer_id` holds the claim on the credential `file_id` belongs to.
pub fn reviewer_holds_file(conn: &mut DbConn, now: NaiveDateTime, reviewer_id: i64, file_id: i64) -> AppResult<bool> {
    Ok(credentials::table
        .filter(credentials::file_id.eq(file_id))
        .filter(credentials::claimed_by.eq(reviewer_id))
        .filter(credentials::claim_expires_at.gt(now))
        .count()
        .get_result::<i64>(conn)?
        > 0)
}

pub struct RuleInput {
    pub kind: CredentialKind,
    pub level: Option<DegreeLevel>,
    pub domain: String,
    pub grants_domain: String,
    pub grants_tier: String,
}

pub fn create_rule(state: &AppState, ctx: &RequestCtx, admin_id: i64, r: RuleInput) -> AppResult<CredentialRule> {
    if r.level.is_some() && r.kind != CredentialKind::Degree {
        return Err(AppError::field("level", "not_allowed", "only degree rules have a level"));
    }
    let Some(grants_tier) = crate::qualifications::model::Tier::parse(&r.grants_tier) else {
        return Err(AppError::field("grants_tier", "one_of", "generalist or expert"));
    };
    state.db.tx_sync(|conn| {
        let now = state.clock.now();
        let id: i64 = diesel::insert_into(credential_rules::table)
            .values(NewCredentialRule {
                kind: r.kind,
                level: r.level,
                domain: &r.domain.to_lowercase(),
                grants_domain: &r.grants_domain.to_lowercase(),
                grants_tier,
                created_by: admin_id,
                created_at: now,
            })
            .returning(credential_rules::id)
            .get_result(conn)?;
        audit::record(
            conn,
            now,
            ctx,
            AuditEvent {
                actor_id: Some(admin_id),
                action: AuditAction::CredentialRuleCreated,
                subject_type: AuditSubject::CredentialRule,
                subject_id: Some(id.to_string()),
                summary: json!({"kind": r.kind.as_str(), "domain": r.domain, "grants": [r.grants_domain, r.grants_tier]}),
            },
        )?;
        Ok(credential_rules::table.find(id).select(CredentialRule::as_select()).first(conn)?)
    })
}

/// One page of the credential rules, oldest first, after the cursor.
pub fn list_rules(conn: &mut DbConn, after: Option<i64>, limit: Option<i64>) -> AppResult<Vec<CredentialRule>> {
    Ok(credential_rules::table
        .filter(credential_rules::id.gt(after.unwrap_or(0)))
        .order(credential_rules::id)
        .limit(crate::db::page_limit(limit))
        .select(CredentialRule::as_select())
        .load(conn)?)
}

// ---------------------------------------------------------------- expiry

#[derive(Debug, Default, serde::Serialize, utoipa::ToSchema)]
pub struct CredentialExpiryReport {
    pub reminders_queued: usize,
    pub lapsed: usize,
}

/// Days before a credential's expiry when the holder is reminded.
const EXPIRY_NOTICE_DAYS: i64 = 30;

fn granted_by(conn: &mut DbConn, c: &Credential) -> AppResult<Vec<(i64, String)>> {
    let rows: Vec<(i64, String, String)> = qualifications::table
        .filter(qualifications::user_id.eq(c.user_id))
        .filter(qualifications::source.like(format!("credential:{}:%", c.id)))
        .filter(qualifications::revoked_at.is_null())
        .select((qualifications::id, qualifications::domain, qualifications::tier))
        .load(conn)?;
    Ok(rows.into_iter().map(|(id, d, t)| (id, format!("{d} {t}"))).collect())
}

/// Emails holders of verified credentials expiring within 30 days, and lapses expired
/// ones with what they granted. Idempotent (outbox event keys; status change once).
pub fn run_expiry(state: &AppState) -> AppResult<CredentialExpiryReport> {
    let today = state.clock.now().date();
    let expiring: Vec<Credential> = state.db.read_sync(|conn| {
        Ok(credentials::table
            .filter(credentials::status.eq(CredentialStatus::Verified.as_str()))
            .filter(credentials::expires_on.le(today + chrono::Duration::days(EXPIRY_NOTICE_DAYS)))
            .select(Credential::as_select())
            .load(conn)?)
    })?;
    let mut report = CredentialExpiryReport::default();
    let ctx = RequestCtx::system("job:credential_expiry");
    for c in expiring {
        let Some(expires_on) = c.expires_on else { continue };
        let expired = today > expires_on;
        state.db.tx_sync(|conn| {
            let now = state.clock.now();
            let user = find_user(conn, c.user_id)?;
            let granted = granted_by(conn, &c)?;
            let key = format!("credential_expiry:{}:{}", c.id, if expired { "expired" } else { "soon" });
            let names: Vec<String> = granted.iter().map(|(_, n)| n.clone()).collect();
            let queued = notifications::enqueue_once(
                conn,
                now,
                &user.email,
                &key,
                &templates::CredentialExpiry {
                    full_name: user.full_name.clone(),
                    credential: c.describe(),
                    expires_on: expires_on.to_string(),
                    expired,
                    lapsed: names.join(", "),
                },
            )?;
            if !expired {
                report.reminders_queued += usize::from(queued);
                return Ok(());
            }
            diesel::update(credentials::table.find(c.id))
                .set(credentials::status.eq(CredentialStatus::Lapsed.as_str()))
                .execute(conn)?;
            let ids: Vec<i64> = granted.iter().map(|(id, _)| *id).collect();
            diesel::update(qualifications::table.filter(qualifications::id.eq_any(&ids)))
                .set((qualifications::revoked_at.eq(now), qualifications::revoke_reason.eq("credential_expired")))
                .execute(conn)?;
            decisions::record(
                conn,
                now,
                NewDecision {
                    user_id: c.user_id,
                    subject_type: DecisionSubject::Credential,
                    subject_id: c.id.to_string(),
                    outcome: DecisionOutcome::Lapsed,
                    reason_code: "credential_expired",
                    note: "The credential expired; the qualifications it granted have lapsed.",
                    decided_by: None,
                },
            )?;
            audit::record(
                conn,
                now,
                &ctx,
                AuditEvent {
                    actor_id: None,
                    action: AuditAction::CredentialLapsed,
                    subject_type: AuditSubject::Credential,
                    subject_id: Some(c.id.to_string()),
                    summary: json!({"revoked_qualifications": ids}),
                },
            )?;
            report.lapsed += 1;
            Ok(())
        })?;
    }
    Ok(report)
}

// ---------------------------------------------------------------- removal

/// One page of removal proposals, newest first, before the cursor.
pub fn list_removals(conn: &mut DbConn, before: Option<i64>, limit: Option<i64>) -> AppResult<Vec<RemovalProposal>> {
    Ok(removal_proposals::table
        .filter(removal_proposals::id.lt(before.unwrap_or(i64::MAX)))
        .order(removal_proposals::id.desc())
        .limit(crate::db::page_limit(limit))
        .select(RemovalProposal::as_select())
        .load(conn)?)
}

/// First sign-off: a staff member proposes removing a contributor for a confirmed false
/// credential. Nothing happens to the account until someone else confirms.
pub fn propose_removal(
    state: &AppState,
    ctx: &RequestCtx,
    staff_id: i64,
    user_id: i64,
    credential_id: Option<i64>,
    note: &str,
) -> AppResult<RemovalProposal> {
    state.db.tx_sync(|conn| {
        let now = state.clock.now();
        let user = find_user(conn, user_id)?;
        if user.id == staff_id {
            return Err(AppError::Forbidden("nobody decides about their own account".into()));
        }
        if user.status() == UserStatus::Removed {
            return Err(AppError::conflict(ProblemCode::AlreadyRemoved, "this contributor is already removed"));
        }
        if let Some(cid) = credential_id {
            if find(conn, cid)?.user_id != user_id {
                return Err(AppError::field("credential_id", "not_owned", "the credential belongs to someone else"));
            }
        }
        let open: i64 = removal_proposals::table
            .filter(removal_proposals::user_id.eq(user_id))
            .filter(removal_proposals::status.eq(crate::credentials::model::RemovalStatus::Proposed))
            .count()
            .get_result(conn)?;
        if open > 0 {
            return Err(AppError::conflict(
                ProblemCode::ProposalOpen,
                "a removal is already proposed for this contributor",
            ));
        }
        let id: i64 = diesel::insert_into(removal_proposals::table)
            .values(NewRemovalProposal {
                user_id,
                credential_id,
                reason_code: RemovalReason::FalseCredential,
                note,
                status: RemovalStatus::Proposed,
                proposed_by: staff_id,
                proposed_at: now,
            })
            .returning(removal_proposals::id)
            .get_result(conn)?;
        audit::record(
            conn,
            now,
            ctx,
            AuditEvent {
                actor_id: Some(staff_id),
                action: AuditAction::RemovalProposed,
                subject_type: AuditSubject::User,
                subject_id: Some(user_id.to_string()),
                summary: json!({"proposal_id": id, "credential_id": credential_id}),
            },
        )?;
        Ok(removal_proposals::table.find(id).select(RemovalProposal::as_select()).first(conn)?)
    })
}

/// Whether `staff_id` may give proposal `p` its second sign-off: still open, not the
/// proposer, not about their own account.
fn may_confirm(p: &RemovalProposal, staff_id: i64) -> AppResult<()> {
    if p.status != crate::credentials::model::RemovalStatus::Proposed {
        return Err(AppError::conflict(ProblemCode::NotOpen, "this proposal is already decided"));
    }
    if p.proposed_by == staff_id {
        return Err(AppError::Forbidden("the second sign-off must come from another staff member".into()));
    }
    if p.user_id == staff_id {
        return Err(AppError::Forbidden("nobody decides about their own account".into()));
    }
    Ok(())
}

/// A confirmed removal's effects on the account: removed (the lifecycle transition),
/// signed out, its qualifications revoked, and the false credential rejected.
fn remove_account(
    conn: &mut DbConn,
    now: NaiveDateTime,
    ctx: &RequestCtx,
    staff_id: i64,
    p: &RemovalProposal,
    user: &crate::auth::model::User,
) -> AppResult<()> {
    crate::onboarding::service::transition(
        conn,
        now,
        ctx,
        Some(staff_id),
        user,
        crate::onboarding::lifecycle::Transition::Remove,
        Some(p.reason_code.as_str()),
        None,
    )?;
    crate::auth::service::revoke_all_sessions(conn, now, user.id)?;
    diesel::update(
        qualifications::table.filter(qualifications::user_id.eq(user.id)).filter(qualifications::revoked_at.is_null()),
    )
    .set((qualifications::revoked_at.eq(now), qualifications::revoke_reason.eq("account_removed")))
    .execute(conn)?;
    if let Some(cid) = p.credential_id {
        diesel::update(credentials::table.find(cid))
            .set((
                credentials::status.eq(CredentialStatus::Rejected),
                credentials::reason_code.eq(CredentialReason::ConfirmedFalse),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// The email telling a removed contributor what happens to their money.
fn removal_email(full_name: &str, note: &str) -> templates::AccountRemoved {
    templates::AccountRemoved {
        full_name: full_name.to_string(),
        subject: "Your Gatehouse account has been removed".into(),
        headline: "Your account has been removed from Gatehouse.".into(),
        reason: "a credential you submitted was confirmed to be false".into(),
        note: note.to_string(),
        next_steps: "Money you had already earned and that was approved stays yours: it is paid out once finance \
                     releases it (a decision by two finance staff), and you are emailed then. You can still sign in \
                     to read your earnings, payouts and tax forms. If you believe this is a mistake, reply to this \
                     email."
            .into(),
    }
}

/// Second sign-off by a different staff member: the contributor is removed, signed out
/// and loses their qualifications. Earnings already approved are not touched: any
/// clawback is a separate, explicit ledger entry with its own reason.
pub fn confirm_removal(
    state: &AppState,
    ctx: &RequestCtx,
    staff_id: i64,
    proposal_id: i64,
) -> AppResult<RemovalProposal> {
    state.db.tx_sync(|conn| {
        let now = state.clock.now();
        let p: RemovalProposal =
            removal_proposals::table.find(proposal_id).select(RemovalProposal::as_select()).first(conn)?;
        may_confirm(&p, staff_id)?;
        diesel::update(removal_proposals::table.find(proposal_id))
            .set((
                removal_proposals::status.eq(crate::credentials::model::RemovalStatus::Confirmed),
                removal_proposals::confirmed_by.eq(staff_id),
                removal_proposals::confirmed_at.eq(now),
            ))
            .execute(conn)?;
        let user = find_user(conn, p.user_id)?;
        remove_account(conn, now, ctx, staff_id, &p, &user)?;
        decisions::record(
            conn,
            now,
            NewDecision {
                user_id: user.id,
                subject_type: DecisionSubject::Account,
                subject_id: user.id.to_string(),
                outcome: DecisionOutcome::Removed,
                reason_code: p.reason_code.as_str(),
                note: &p.note,
                decided_by: Some(staff_id),
            },
        )?;
        notifications::enqueue(
            conn,
            now,
            &user.email,
            &format!("account_removed:{proposal_id}"),
            &removal_email(&user.full_name, &p.note),
        )?;
        audit::record(
            conn,
            now,
            ctx,
            AuditEvent {
                actor_id: Some(staff_id),
                action: AuditAction::RemovalConfirmed,
                subject_type: AuditSubject::User,
                subject_id: Some(user.id.to_string()),
                summary: json!({"proposal_id": proposal_id, "proposed_by": p.proposed_by, "before": user.status, "after": "removed"}),
            },
        )?;
        Ok(removal_proposals::table.find(proposal_id).select(RemovalProposal::as_select()).first(conn)?)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_removal_is_confirmed_by_another_staff_member_while_open() {
        let p = RemovalProposal {
            id: 1,
            user_id: 7,
            credential_id: Some(3),
            reason_code: RemovalReason::FalseCredential,
            note: "forged".into(),
            status: RemovalStatus::Proposed,
            proposed_by: 2,
            proposed_at: NaiveDateTime::default(),
            confirmed_by: None,
            confirmed_at: None,
        };
        assert!(may_confirm(&p, 5).is_ok());
        assert!(matches!(may_confirm(&p, 2), Err(AppError::Forbidden(_))), "not the proposer");
        assert!(matches!(may_confirm(&p, 7), Err(AppError::Forbidden(_))), "not about one's own account");
        for status in [RemovalStatus::Confirmed, RemovalStatus::Withdrawn] {
            let decided = RemovalProposal { status, ..p.clone() };
            assert!(may_confirm(&decided, 5).is_err(), "{status} is decided");
        }
    }

    #[test]
    fn a_decision_email_says_what_comes_next() {
        let what = "master degree in law";
        let (headline, next) = decision_message(CredentialOutcome::Verify, what, 4, &[]);
        assert_eq!(headline, "Your master degree in law is verified.");
        assert!(next.contains("counts toward tests"), "{next}");
        let granted = ["law (expert)".to_string()];
        let (_, next) = decision_message(CredentialOutcome::Verify, what, 4, &granted);
        assert_eq!(next, "It gives you the qualification(s): law (expert).");
        let (headline, _) = decision_message(CredentialOutcome::Reject, what, 4, &[]);
        assert_eq!(headline, "We could not verify your master degree in law.");
        let (_, next) = decision_message(CredentialOutcome::RequestMoreInfo, what, 4, &[]);
        assert_eq!(next, "Upload the document again with replaces=4 (POST /me/credentials).");
    }
}
