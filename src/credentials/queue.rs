//! The credential review queue ([`ReviewQueue`]).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{Credential, CredentialOutcome, CredentialStatus};
use super::service;
use crate::audit::{AuditAction, AuditSubject};
use crate::auth::RequestCtx;
use crate::clock::when;
use crate::db::schema::{credentials, users};
use crate::db::DbConn;
use crate::error::{AppError, AppResult, ProblemCode};
use crate::review::{self, fact, Decision, Form, Item, ListFilter, ReasonGroup, ReviewQueue, Taken, Waiting};
use crate::AppState;

/// Credentials awaiting review (`/review/credentials`).
pub struct Credentials;

/// Credentials awaiting review with their owner, selecting `$select`, boxed.
macro_rules! pending {
    ($select:expr) => {
        credentials::table
            .inner_join(users::table.on(users::id.eq(credentials::user_id)))
            .filter(credentials::status.eq(CredentialStatus::PendingReview.as_str()))
            .select($select)
            .into_boxed()
    };
}

/// The queue filters on credentials: title and issuer are searched too; the kind and
/// the duplicate-file flag filter.
macro_rules! filter_credentials {
    ($q:ident, $filter:expr, $now:expr) => {{
        let f: &ListFilter = $filter;
        review::filter_queue!(
            $q,
            f,
            $now,
            credentials,
            credentials::user_id,
            credentials::submitted_at,
            [credentials::title, credentials::issuer]
        );
        if let Some(kind) = f.kind {
            $q = $q.filter(credentials::kind.eq(kind));
        }
        if let Some(flagged) = f.flagged {
            $q = $q.filter(credentials::flagged.eq(flagged));
        }
    }};
}

impl ReviewQueue for Credentials {
    fn slug(&self) -> &'static str {
        "credentials"
    }

    fn title(&self) -> &'static str {
        "Credentials"
    }

    fn subject_type(&self) -> AuditSubject {
        AuditSubject::Credential
    }

    fn claimed_action(&self) -> AuditAction {
        AuditAction::CredentialClaimed
    }

    fn waiting(&self, conn: &mut DbConn) -> AppResult<(i64, Option<NaiveDateTime>)> {
        review::waiting!(conn, credentials, CredentialStatus::PendingReview.as_str(), submitted_at)
    }

    fn list(&self, st: &AppState, filter: &ListFilter) -> AppResult<Vec<Waiting>> {
        let now = st.clock.now();
        let rows: Vec<Credential> = st.db.read_sync(|conn| {
            let mut q = pending!(Credential::as_select());
            filter_credentials!(q, filter, now);
            let source = credentials::table.inner_join(users::table.on(users::id.eq(credentials::user_id)));
            review::order_queue!(q, conn, filter, source, credentials::id, credentials::submitted_at, credentials::id);
            Ok(q.load(conn)?)
        })?;
        Ok(rows
            .into_iter()
            .map(|c| Waiting {
                id: c.id,
                person_id: c.user_id,
                summary: format!("{} · {} · {}", c.kind, c.title, c.issuer),
                since: c.submitted_at,
                claimed_by: c.claimed_by,
                claim_expires_at: c.claim_expires_at,
                flagged: c.flagged,
                cents: 0,
            })
            .collect())
    }

    fn count(&self, st: &AppState, filter: &ListFilter) -> AppResult<i64> {
        let now = st.clock.now();
        st.db.read_sync(|conn| {
            let mut q = pending!(diesel::dsl::count_star());
            filter_credentials!(q, filter, now);
            Ok(q.first(conn)?)
        })
    }

    fn load(&self, conn: &mut DbConn, id: i64) -> AppResult<Item> {
        let c = service::find(conn, id)?;
        let mut facts = vec![
            fact("Kind", c.kind.as_str()),
            fact("Title", c.title.clone()),
            fact("Issuer", c.issuer.clone()),
            fact("Domain", c.domain.clone()),
            fact("Level", c.level.map_or("—", |l| l.as_str())),
            fact("Issued", c.issued_on.map(|d| d.to_string()).unwrap_or_else(|| "—".into())),
            fact("Expires", c.expires_on.map(|d| d.to_string()).unwrap_or_else(|| "—".into())),
            fact("Submitted", when(&c.submitted_at)),
            fact("Status", c.status.as_str().replace('_', " ")),
        ];
        if c.flagged {
            facts.push(fact("Flagged", c.flag_reason.clone().unwrap_or_else(|| "yes".into())));
        }
        Ok(Item {
            person_id: c.user_id,
            heading: format!("Credential #{id}: {}", c.title),
            facts,
            file_ids: vec![(c.file_id, "Uploaded credential".into())],
            pending: c.status() == CredentialStatus::PendingReview,
            claimed_by: c.claimed_by,
            claim_expires_at: c.claim_expires_at,
            form: Form::Reasons(vec![
                ReasonGroup {
                    outcome: CredentialOutcome::Verify.as_str(),
                    label: "Verify",
                    codes: CredentialOutcome::Verify.reason_names(),
                },
                ReasonGroup {
                    outcome: CredentialOutcome::Reject.as_str(),
                    label: "Reject",
                    codes: CredentialOutcome::Reject.reason_names(),
                },
                ReasonGroup {
                    outcome: CredentialOutcome::RequestMoreInfo.as_str(),
                    label: "Ask for more information",
                    codes: CredentialOutcome::RequestMoreInfo.reason_names(),
                },
            ]),
        })
    }

    fn take_claim(
        &self,
        conn: &mut DbConn,
        id: i64,
        reviewer: i64,
        now: NaiveDateTime,
        until: NaiveDateTime,
    ) -> AppResult<Taken> {
        let c = service::find(conn, id)?;
        if c.user_id == reviewer {
            return Err(AppError::Forbidden("nobody reviews their own credentials".into()));
        }
        if c.status() != CredentialStatus::PendingReview {
            return Err(AppError::conflict(ProblemCode::NotPendingReview, "this credential is not awaiting review"));
        }
        let rows = review::claim_row!(conn, credentials, id, CredentialStatus::PendingReview, reviewer, now, until)?;
        Ok(Taken { claimed_by: c.claimed_by, rows })
    }

    fn decide(&self, st: &AppState, ctx: &RequestCtx, reviewer: i64, id: i64, d: Decision) -> AppResult<()> {
        let (outcome, reason) = d.parts();
        let outcome: CredentialOutcome = review::choice("decision", outcome)?;
        service::decide(st, ctx, reviewer, id, outcome, reason, &d.note).map(drop)
    }
}
