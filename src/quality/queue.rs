//! The standing-move review queue ([`ReviewQueue`]): moves awaiting a reviewer's
//! confirmation and appeals of moves.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::model::{MoveRow, MoveStatus};
use super::service::{self, MoveVerdict};
use crate::audit::{AuditAction, AuditSubject};
use crate::auth::RequestCtx;
use crate::clock::when;
use crate::db::like::coalesce;
use crate::db::schema::{standing_moves, users};
use crate::db::DbConn;
use crate::error::AppResult;
use crate::review::{self, fact, Decision, Form, Item, ListFilter, ReviewQueue, Taken, Waiting};
use crate::AppState;

/// Standing moves to confirm and appeals of moves (`/review/standing-moves`).
pub struct StandingMoves;

/// When a move started waiting: appealed, else proposed.
fn since() -> coalesce<standing_moves::appealed_at, standing_moves::proposed_at> {
    coalesce(standing_moves::appealed_at, standing_moves::proposed_at)
}

/// Moves to confirm and appealed moves with their person, selecting `$select`, boxed.
macro_rules! pending {
    ($select:expr) => {
        standing_moves::table
            .inner_join(users::table.on(users::id.eq(standing_moves::user_id)))
            .filter(standing_moves::status.eq_any([MoveStatus::Proposed.as_str(), MoveStatus::Appealed.as_str()]))
            .select($select)
            .into_boxed()
    };
}

/// The queue filters on moves: the domain is searched too.
macro_rules! filter_moves {
    ($q:ident, $filter:expr, $now:expr) => {
        review::filter_queue!(
            $q,
            $filter,
            $now,
            standing_moves,
            standing_moves::user_id,
            since(),
            [standing_moves::domain]
        )
    };
}

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
        let now = st.clock.now();
        let rows: Vec<MoveRow> = st.db.read_sync(|conn| {
            let mut q = pending!(MoveRow::as_select());
            filter_moves!(q, filter, now);
            let source = standing_moves::table.inner_join(users::table.on(users::id.eq(standing_moves::user_id)));
            review::order_queue!(q, conn, filter, source, standing_moves::id, since(), standing_moves::id);
            Ok(q.load(conn)?)
        })?;
        Ok(rows
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

    fn count(&self, st: &AppState, filter: &ListFilter) -> AppResult<i64> {
        let now = st.clock.now();
        st.db.read_sync(|conn| {
            let mut q = pending!(diesel::dsl::count_star());
            filter_moves!(q, filter, now);
            Ok(q.first(conn)?)
        })
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
                Form::Verdicts(vec![
                    (MoveVerdict::Uphold.as_str(), "Uphold the move"),
                    (MoveVerdict::Overturn.as_str(), "Overturn: restore the previous tier"),
                ])
            } else {
                Form::Verdicts(vec![
                    (MoveVerdict::Confirm.as_str(), "Confirm: the move takes effect"),
                    (MoveVerdict::Dismiss.as_str(), "Dismiss"),
                ])
            },
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
        let m = service::move_row(conn, id)?;
        let status = service::may_review(&m, reviewer)?;
        let rows = review::claim_row!(conn, standing_moves, id, status, reviewer, now, until)?;
        Ok(Taken { claimed_by: m.claimed_by, rows })
    }

    fn decide(&self, st: &AppState, ctx: &RequestCtx, reviewer: i64, id: i64, d: Decision) -> AppResult<()> {
        let (verdict, reason_code) = d.parts();
        let verdict: MoveVerdict = review::choice("decision", verdict)?;
        service::decide(st, ctx, reviewer, id, verdict, reason_code, &d.note).map(drop)
    }
}
