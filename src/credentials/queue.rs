//! The credential review queue ([`ReviewQueue`]).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{CredentialKind, CredentialOutcome, CredentialStatus};
use super::service;
use crate::audit::{AuditAction, AuditSubject};
use crate::auth::RequestCtx;
use crate::clock::when;
use crate::db::DbConn;
use crate::error::{AppError, AppResult, ProblemCode};
use crate::review::{self, fact, Claimable, Decision, Form, Item, ListFilter, ReasonGroup, ReviewQueue, Waiting};
use crate::AppState;

/// Credentials awaiting review (`/review/credentials`).
pub struct Credentials;

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
        let filter = service::QueueFilter {
            kind: filter.kind.as_deref().and_then(CredentialKind::parse),
            flagged: filter.flagged,
            limit: filter.limit,
            cursor: filter.after,
            ..Default::default()
        };
        let now = st.clock.now();
        Ok(st
            .db
            .read_sync(|c| service::queue(c, now, &filter))?
            .into_iter()
            .map(|(c, _)| Waiting {
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
                ReasonGroup { outcome: "verify", label: "Verify", codes: CredentialOutcome::Verify.reason_codes() },
                ReasonGroup { outcome: "reject", label: "Reject", codes: CredentialOutcome::Reject.reason_codes() },
                ReasonGroup {
                    outcome: "request_more_info",
                    label: "Ask for more information",
                    codes: CredentialOutcome::RequestMoreInfo.reason_codes(),
                },
            ]),
        })
    }

    fn claimable(&self, conn: &mut DbConn, id: i64, reviewer: i64) -> AppResult<Claimable> {
        let c = service::find(conn, id)?;
        if c.user_id == reviewer {
            return Err(AppError::Forbidden("nobody reviews their own credentials".into()));
        }
        if c.status() != CredentialStatus::PendingReview {
            return Err(AppError::conflict(ProblemCode::NotPendingReview, "this credential is not awaiting review"));
        }
        Ok(Claimable { status: CredentialStatus::PendingReview.as_str(), claimed_by: c.claimed_by })
    }

    fn take_claim(
        &self,
        conn: &mut DbConn,
        id: i64,
        status: &'static str,
        reviewer: i64,
        now: NaiveDateTime,
        until: NaiveDateTime,
    ) -> AppResult<usize> {
        Ok(review::claim_row!(conn, credentials, id, status, reviewer, now, until)?)
    }

    fn decide(&self, st: &AppState, ctx: &RequestCtx, reviewer: i64, id: i64, d: Decision) -> AppResult<()> {
        let (outcome, reason) = d.parts();
        let outcome: CredentialOutcome = review::choice("decision", outcome)?;
        service::decide(st, ctx, reviewer, id, outcome, reason, &d.note).map(drop)
    }
}
