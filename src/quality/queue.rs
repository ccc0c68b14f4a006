//! The standing-move review queue ([`ReviewQueue`]): moves awaiting a reviewer's
//! confirmation and appeals of moves.

use chrono::NaiveDateTime;

use super::model::MoveStatus;
use super::service::{self, MoveVerdict};
use crate::audit::{AuditAction, AuditSubject};
use crate::auth::RequestCtx;
use crate::clock::when;
use crate::db::DbConn;
use crate::error::AppResult;
use crate::review::{self, fact, Claimable, Decision, Form, Item, ListFilter, ReviewQueue, Waiting};
use crate::AppState;

/// Standing moves to confirm and appeals of moves (`/review/standing-moves`).
pub struct StandingMoves;

impl ReviewQueue for StandingMoves {
    fn slug(&self) -> &'static str {
        "standing-moves"
    }

    fn title(&self) -> &'static str {
        "Standing moves"
    }

    fn subject_type(&self) -> AuditSubject {
        AuditSubject::StandingMove
    }

    fn claimed_action(&self) -> AuditAction {
        AuditAction::StandingMoveClaimed
    }

    fn waiting(&self, conn: &mut DbConn) -> AppResult<(i64, Option<NaiveDateTime>)> {
        service::waiting(conn)
    }

    fn list(&self, st: &AppState, filter: &ListFilter) -> AppResult<Vec<Waiting>> {
        Ok(service::review_queue(st, filter.after, filter.limit)?
            .into_iter()
            .map(|m| Waiting {
                id: m.id,
                person_id: m.user_id,
                summary: format!(
                    "{} · {}: {} → {} · {}",
                    m.status,
                    m.domain,
                    m.from_tier,
                    m.to_tier,
                    m.reason_code.as_str().replace('_', " ")
                ),
                since: m.appealed_at.unwrap_or(m.proposed_at),
                claimed_by: m.claimed_by,
                claim_expires_at: m.claim_expires_at,
                flagged: false,
                cents: 0,
            })
            .collect())
    }

    fn load(&self, conn: &mut DbConn, id: i64) -> AppResult<Item> {
        let m = service::move_row(conn, id)?;
        let status = m.status();
        let mut facts = vec![
            fact("Status", m.status.as_str()),
            fact("Domain", m.domain.clone()),
            fact("Move", format!("{}: {} → {}", m.direction, m.from_tier, m.to_tier)),
            fact("Reason", m.reason_code.as_str().replace('_', " ")),
            fact("Why", m.note.clone()),
            fact("Figures", m.figures.clone()),
            fact("Proposed", when(&m.proposed_at)),
        ];
        if let Some(message) = &m.appeal_message {
            facts.push(fact("Appeal", message.clone()));
            facts
                .push(fact("Confirmed by", m.reviewed_by.map(|r| format!("staff #{r}")).unwrap_or("automatic".into())));
        }
        Ok(Item {
            person_id: m.user_id,
            heading: format!("Standing move #{id} · {}", m.domain),
            facts,
            file_ids: vec![],
            pending: matches!(status, MoveStatus::Proposed | MoveStatus::Appealed),
            claimed_by: m.claimed_by,
            claim_expires_at: m.claim_expires_at,
            form: if status == MoveStatus::Appealed {
                Form::Verdicts(vec![("uphold", "Uphold the move"), ("overturn", "Overturn: restore the previous tier")])
            } else {
                Form::Verdicts(vec![("confirm", "Confirm: the move takes effect"), ("dismiss", "Dismiss")])
            },
        })
    }

    fn claimable(&self, conn: &mut DbConn, id: i64, reviewer: i64) -> AppResult<Claimable> {
        let m = service::move_row(conn, id)?;
        let status = service::may_review(&m, reviewer)?;
        Ok(Claimable { status: status.as_str(), claimed_by: m.claimed_by })
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
        use diesel::prelude::*;
        Ok(review::claim_row!(conn, standing_moves, id, status, reviewer, now, until)?)
    }

    fn decide(&self, st: &AppState, ctx: &RequestCtx, reviewer: i64, id: i64, d: Decision) -> AppResult<()> {
        let (verdict, reason_code) = d.parts();
        let verdict: MoveVerdict = review::choice("decision", verdict)?;
        service::decide(st, ctx, reviewer, id, verdict, reason_code, &d.note).map(drop)
    }
}
