//! Standing per contributor and domain: the nightly run, moves as decisions, their
//! confirmation and appeal, and the views. No HTTP here (docs/quality.md).

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::model::*;
use super::rules::{self, Direction, Figures, Move, MoveReason, StandingTier, TierEvent};
use crate::audit::{self, AuditAction, AuditEvent, AuditSubject};
use crate::auth::RequestCtx;
use crate::config::StandingConfig;
use crate::db::schema::{domain_standings, project_types, qualifications, standing_moves};
use crate::db::DbConn;
use crate::decisions::{self, DecisionOutcome, DecisionSubject, NewDecision};
use crate::error::{AppError, AppResult, ProblemCode};
use crate::notifications::{self, templates};
use crate::review;
use crate::AppState;

/// Ids per IN list, well under both backends' bind-parameter limits.
const CHUNK: usize = 5_000;

/// Where the contributor reads their standing.
pub const STANDING_LINK: &str = "/api/v1/me/standing";

fn sql_time(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%d %H:%M:%S%.6f").to_string()
}

// ---------------------------------------------------------------- tiers in force

/// The tier events of `(user, domain)` pairs: each move that took effect, and the end of
/// each overturned move's effect. Work is judged by the tier in force when it was done,
/// so a move is never retroactive.
pub fn tier_events_of(conn: &mut DbConn, user_ids: &[i64]) -> AppResult<HashMap<(i64, String), Vec<TierEvent>>> {
    let mut out: HashMap<(i64, String), Vec<TierEvent>> = HashMap::new();
    for chunk in user_ids.chunks(CHUNK) {
        let moves: Vec<MoveRow> = standing_moves::table
            .filter(standing_moves::user_id.eq_any(chunk))
            .filter(standing_moves::effective_at.is_not_null())
            .select(MoveRow::as_select())
            .load(conn)?;
        for m in moves {
            let events = out.entry((m.user_id, m.domain.clone())).or_default();
            if let Some(at) = m.effective_at {
                events.push(TierEvent { at, tier: m.to_tier });
            }
            if m.status == MoveStatus::Overturned {
                if let Some(at) = m.decided_at {
                    events.push(TierEvent { at, tier: m.from_tier });
                }
            }
        }
    }
    Ok(out)
}

/// The domain whose standing gates a project type and the tier it needs; none: not
/// gated by standing.
pub type StandingGate = Option<(String, StandingTier)>;

/// The tier a project type needs, and the domain whose standing it reads.
pub fn gate_of(p: &crate::qualifications::model::ProjectTypeRow) -> AppResult<StandingGate> {
    match &p.standing_domain {
        None => Ok(None),
        Some(d) => Ok(Some((d.clone(), p.required_standing))),
    }
}

// ---------------------------------------------------------------- the nightly run

#[derive(Debug, Default, Serialize, ToSchema)]
pub struct StandingRunReport {
    /// Contributor-domain standings whose figures were recomputed.
    pub standings: usize,
    pub promotions: usize,
    pub demotions: usize,
    /// Moves waiting for a reviewer (human confirmation on).
    pub proposed: usize,
    pub elapsed_ms: u128,
}

/// Recomputes every standing's figures in two statements: one INSERT … SELECT … GROUP BY
/// over the window (counting from the last move, so the figures that justified a move do
/// not justify the next), upserted; then the standings with no work left in the window
/// are zeroed. The same SQL on both backends (SQLite ≥ 3.24 upsert; the SELECT has a
/// WHERE, which SQLite's parser needs before ON CONFLICT).
pub fn refresh_figures(conn: &mut DbConn, now: NaiveDateTime, cfg: &StandingConfig) -> AppResult<usize> {
    let at = sql_time(now);
    let since = sql_time(now - cfg.window);
    let written = diesel::sql_query(format!(
        "INSERT INTO domain_standings (user_id, domain, tier, tier_since, agreement_count, agreement_points, \
           gold_count, gold_points, decided_count, rejected_count, computed_at) \
         SELECT w.contributor_id, p.standing_domain, 'standard', NULL, \
           CAST(COUNT(w.consensus_agreement_percent) AS INTEGER), \
           CAST(COALESCE(SUM(w.consensus_agreement_percent), 0) AS BIGINT), \
           CAST(COUNT(w.gold_score_percent) AS INTEGER), \
           CAST(COALESCE(SUM(w.gold_score_percent), 0) AS BIGINT), \
           CAST(SUM(CASE WHEN w.status <> 'pending' THEN 1 ELSE 0 END) AS INTEGER), \
           CAST(SUM(CASE WHEN w.status = 'rejected' THEN 1 ELSE 0 END) AS INTEGER), '{at}' \
         FROM work_records w \
         JOIN project_types p ON p.id = w.project_type_id \
         LEFT JOIN domain_standings s ON s.user_id = w.contributor_id AND s.domain = p.standing_domain \
         WHERE p.standing_domain IS NOT NULL AND w.completed_at >= '{since}' AND w.completed_at <= '{at}' \
           AND (s.tier_since IS NULL OR w.completed_at >= s.tier_since) \
         GROUP BY w.contributor_id, p.standing_domain \
         ON CONFLICT (user_id, domain) DO UPDATE SET \
           agreement_count = excluded.agreement_count, agreement_points = excluded.agreement_points, \
           gold_count = excluded.gold_count, gold_points = excluded.gold_points, \
           decided_count = excluded.decided_count, rejected_count = excluded.rejected_count, \
           computed_at = excluded.computed_at"
    ))
    .execute(conn)?;
    diesel::update(domain_standings::table.filter(domain_standings::computed_at.ne(now)))
        .set((
            domain_standings::agreement_count.eq(0),
            domain_standings::agreement_points.eq(0),
            domain_standings::gold_count.eq(0),
            domain_standings::gold_points.eq(0),
            domain_standings::decided_count.eq(0),
            domain_standings::rejected_count.eq(0),
            domain_standings::computed_at.eq(now),
        ))
        .execute(conn)?;
    Ok(written)
}

/// `(user, domain)` pairs in which the user holds an active qualification.
fn qualified_pairs(conn: &mut DbConn, now: NaiveDateTime, users: &[i64]) -> AppResult<HashSet<(i64, String)>> {
    let mut out = HashSet::new();
    for chunk in users.chunks(CHUNK) {
        let rows: Vec<(i64, String)> = qualifications::table
            .filter(qualifications::user_id.eq_any(chunk))
            .filter(qualifications::revoked_at.is_null())
            .filter(qualifications::expires_at.is_null().or(qualifications::expires_at.gt(now)))
            .select((qualifications::user_id, qualifications::domain))
            .load(conn)?;
        out.extend(rows);
    }
    Ok(out)
}

/// The nightly run: figures for everyone (set-based), then the rules over the rows read
/// back, then one transaction per move (a decision, an email, an audit record). A
/// standing with a proposal waiting or a move under appeal is left alone until that is
/// decided.
pub fn run_standing(st: &AppState) -> AppResult<StandingRunReport> {
    let started = std::time::Instant::now();
    let cfg = st.config.work.standing.clone();
    let now = st.clock.now();
    let ctx = RequestCtx::system("job:standing");
    let (standings, candidates) = st.db.tx_sync(|conn| {
        let written = refresh_figures(conn, now, &cfg)?;
        let rows: Vec<StandingRow> = domain_standings::table.select(StandingRow::as_select()).load(conn)?;
        let busy: HashSet<(i64, String)> = standing_moves::table
            .filter(standing_moves::status.eq_any([MoveStatus::Proposed.as_str(), MoveStatus::Appealed.as_str()]))
            .select((standing_moves::user_id, standing_moves::domain))
            .load::<(i64, String)>(conn)?
            .into_iter()
            .collect();
        // Promotions need a qualification: read for the rows the figures could promote.
        let mut moves = Vec::new();
        let mut maybe_up = Vec::new();
        for row in rows {
            if busy.contains(&(row.user_id, row.domain.clone())) {
                continue;
            }
            let t = row.tier;
            let f = row.figures();
            match rules::decide(&cfg, t, &f, true) {
                Some(m) if m.direction == Direction::Demotion => moves.push((row, m)),
                Some(_) => maybe_up.push(row),
                None => {}
            }
        }
        let users: Vec<i64> = maybe_up.iter().map(|r| r.user_id).collect::<BTreeSet<_>>().into_iter().collect();
        let qualified = qualified_pairs(conn, now, &users)?;
        for row in maybe_up {
            let ok = qualified.contains(&(row.user_id, row.domain.clone()));
            if let Some(m) = rules::decide(&cfg, row.tier, &row.figures(), ok) {
                moves.push((row, m));
            }
        }
        Ok((written, moves))
    })?;
    let mut report = StandingRunReport { standings, ..Default::default() };
    for (row, m) in candidates {
        let direction = m.direction;
        let proposed = st.db.tx_sync(|conn| record_move(conn, st, now, &ctx, &row, &m))?;
        match (proposed, direction) {
            (true, _) => report.proposed += 1,
            (false, Direction::Promotion) => report.promotions += 1,
            (false, Direction::Demotion) => report.demotions += 1,
        }
    }
    report.elapsed_ms = started.elapsed().as_millis();
    Ok(report)
}

/// Records a move the rules call for: proposed to reviewers when the settings ask for
/// human confirmation, applied at once otherwise. True when it was only proposed.
fn record_move(
    conn: &mut DbConn,
    st: &AppState,
    now: NaiveDateTime,
    ctx: &RequestCtx,
    row: &StandingRow,
    m: &Move,
) -> AppResult<bool> {
    let figures = serde_json::to_string(&figures_json(&row.figures(), &st.config.work.standing))
        .map_err(|e| AppError::Internal(e.into()))?;
    let human = st.config.work.standing.human_confirmation;
    let id = diesel::insert_into(standing_moves::table)
        .values(NewMoveRow {
            user_id: row.user_id,
            domain: &row.domain,
            direction: m.direction,
            from_tier: m.from,
            to_tier: m.to,
            reason_code: m.reason,
            figures,
            note: &m.note,
            status: MoveStatus::Proposed,
            proposed_at: now,
            effective_at: None,
            appeal_deadline: None,
        })
        .returning(standing_moves::id)
        .get_result::<i64>(conn)?;
    audit::record(
        conn,
        now,
        ctx,
        AuditEvent {
            actor_id: None,
            action: AuditAction::StandingMoveProposed,
            subject_type: AuditSubject::User,
            subject_id: Some(row.user_id.to_string()),
            summary: json!({"after": {"move_id": id, "domain": row.domain, "from": m.from.as_str(),
                "to": m.to.as_str(), "reason_code": m.reason.as_str()}}),
        },
    )?;
    if human {
        return Ok(true);
    }
    apply_move(conn, st, now, ctx, id, None)?;
    Ok(false)
}

/// The numbers behind a move, as stored with it and shown to the person.
fn figures_json(f: &Figures, cfg: &StandingConfig) -> serde_json::Value {
    json!({
        "gold_accuracy_percent": f.gold_percent(), "gold_items": f.gold_count,
        "consensus_agreement_percent": f.agreement_percent(), "agreement_items": f.agreement_count,
        "rejection_share_percent": f.rejection_percent(), "decided_records": f.decided_count,
        "rejected_records": f.rejected_count, "min_items": cfg.min_items, "window_days": cfg.window.num_days(),
    })
}

/// Puts a proposed move into effect: the tier changes from now on (work already done
/// keeps the tier it was done under), the figures restart, and the person gets the
/// decision, its numbers and how to appeal.
fn apply_move(
    conn: &mut DbConn,
    st: &AppState,
    now: NaiveDateTime,
    ctx: &RequestCtx,
    id: i64,
    confirmed_by: Option<i64>,
) -> AppResult<MoveRow> {
    let m = move_row(conn, id)?;
    let current = current_tier(conn, m.user_id, &m.domain)?;
    if current != m.from_tier {
        return Err(AppError::conflict(
            ProblemCode::StaleMove,
            "the contributor's tier changed since this move was proposed",
        ));
    }
    let deadline = now + crate::settings::current(conn, st)?.appeal_window();
    mark_applied(conn, id, now, deadline)?;
    set_tier(conn, now, m.user_id, &m.domain, m.to_tier)?;
    let direction = m.direction;
    decisions::record(
        conn,
        now,
        NewDecision {
            user_id: m.user_id,
            subject_type: DecisionSubject::StandingMove,
            subject_id: id.to_string(),
            outcome: match direction {
                Direction::Promotion => DecisionOutcome::Promotion,
                Direction::Demotion => DecisionOutcome::Demotion,
            },
            reason_code: m.reason_code.as_str(),
            note: &m.note,
            decided_by: confirmed_by,
        },
    )?;
    audit::record(
        conn,
        now,
        ctx,
        AuditEvent {
            actor_id: confirmed_by,
            action: AuditAction::StandingMoveApplied,
            subject_type: AuditSubject::User,
            subject_id: Some(m.user_id.to_string()),
            summary: json!({"before": {"domain": m.domain, "tier": m.from_tier},
                "after": {"move_id": id, "tier": m.to_tier, "reason_code": m.reason_code}}),
        },
    )?;
    let user = crate::auth::service::find_user(conn, m.user_id)?;
    let (subject, headline) = move_email_text(direction, &m.domain, m.to_tier);
    notifications::enqueue(
        conn,
        now,
        &user.email,
        &format!("standing_move:{id}"),
        &templates::StandingMove {
            full_name: user.full_name,
            subject,
            headline,
            reason: m.reason_code.to_string(),
            note: format!("{} Figures: {}", m.note, m.figures),
            next_steps: format!(
                "Your figures and what would change them are in GET {STANDING_LINK}. You may appeal this decision once \
                 until {} with POST /api/v1/me/standing/moves/{id}/appeal; a reviewer will decide.",
                deadline.date()
            ),
        },
    )?;
    move_row(conn, id)
}

/// A proposed move becomes applied, with its appeal deadline: a 409 `already_decided`
/// when another decision got there first (the conditional UPDATE decides).
fn mark_applied(conn: &mut DbConn, id: i64, now: NaiveDateTime, deadline: NaiveDateTime) -> AppResult<()> {
    let changed = diesel::update(
        standing_moves::table.filter(standing_moves::id.eq(id)).filter(standing_moves::status.eq(MoveStatus::Proposed)),
    )
    .set((
        standing_moves::status.eq(MoveStatus::Applied),
        standing_moves::effective_at.eq(now),
        standing_moves::appeal_deadline.eq(deadline),
    ))
    .execute(conn)?;
    if changed != 1 {
        return Err(AppError::conflict(ProblemCode::AlreadyDecided, "this move is already decided"));
    }
    Ok(())
}

/// The subject and headline of the email announcing an applied move.
fn move_email_text(direction: Direction, domain: &str, to: StandingTier) -> (String, String) {
    match direction {
        Direction::Promotion => (
            format!("Your standing in {domain}: promoted to {to} work"),
            format!("Your sustained quality in {domain} opens {to} project types to you."),
        ),
        Direction::Demotion => (
            format!("Your standing in {domain}: moved back to entry-level work"),
            format!(
                "From now on you work on entry-level {domain} project types only; the rest of your account is \
                 unchanged and work you already did is paid as agreed."
            ),
        ),
    }
}

/// Sets the tier of a standing (created if the run has not seen it yet); the figures
/// restart from now.
fn set_tier(conn: &mut DbConn, now: NaiveDateTime, user_id: i64, domain: &str, to: StandingTier) -> AppResult<()> {
    let exists: i64 = domain_standings::table
        .filter(domain_standings::user_id.eq(user_id))
        .filter(domain_standings::domain.eq(domain))
        .count()
        .get_result(conn)?;
    if exists == 0 {
        diesel::insert_into(domain_standings::table)
            .values((
                domain_standings::user_id.eq(user_id),
                domain_standings::domain.eq(domain),
                domain_standings::tier.eq(to),
                domain_standings::tier_since.eq(now),
                domain_standings::computed_at.eq(now),
            ))
            .execute(conn)?;
        return Ok(());
    }
    diesel::update(
        domain_standings::table
            .filter(domain_standings::user_id.eq(user_id))
            .filter(domain_standings::domain.eq(domain)),
    )
    .set((
        domain_standings::tier.eq(to),
        domain_standings::tier_since.eq(now),
        domain_standings::agreement_count.eq(0),
        domain_standings::agreement_points.eq(0),
        domain_standings::gold_count.eq(0),
        domain_standings::gold_points.eq(0),
        domain_standings::decided_count.eq(0),
        domain_standings::rejected_count.eq(0),
    ))
    .execute(conn)?;
    Ok(())
}

pub fn move_row(conn: &mut DbConn, id: i64) -> AppResult<MoveRow> {
    Ok(standing_moves::table.find(id).select(MoveRow::as_select()).first(conn)?)
}

fn current_tier(conn: &mut DbConn, user_id: i64, domain: &str) -> AppResult<StandingTier> {
    let t: Option<StandingTier> = domain_standings::table
        .filter(domain_standings::user_id.eq(user_id))
        .filter(domain_standings::domain.eq(domain))
        .select(domain_standings::tier)
        .first(conn)
        .optional()?;
    Ok(t.unwrap_or(StandingTier::Standard))
}

// ---------------------------------------------------------------- before an account-wide step

/// The account-wide ladder calls this before it would suspend a contributor for their
/// rejection share: every domain standing above entry level moves back to entry level
/// first (applied at once, as the suspension it stands in for would be). True when
/// something moved, in which case the suspension waits for the next rung.
pub fn demote_before_account_step(
    conn: &mut DbConn,
    st: &AppState,
    now: NaiveDateTime,
    ctx: &RequestCtx,
    user_id: i64,
    why: &str,
) -> AppResult<bool> {
    let rows: Vec<StandingRow> = domain_standings::table
        .filter(domain_standings::user_id.eq(user_id))
        .filter(domain_standings::tier.ne(StandingTier::Entry.as_str()))
        .select(StandingRow::as_select())
        .load(conn)?;
    let mut moved = false;
    for row in rows {
        let busy: i64 = standing_moves::table
            .filter(standing_moves::user_id.eq(user_id))
            .filter(standing_moves::domain.eq(&row.domain))
            .filter(standing_moves::status.eq(MoveStatus::Proposed.as_str()))
            .count()
            .get_result(conn)?;
        if busy > 0 {
            // A waiting proposal would block the insert (one per standing): it is superseded.
            diesel::update(
                standing_moves::table
                    .filter(standing_moves::user_id.eq(user_id))
                    .filter(standing_moves::domain.eq(&row.domain))
                    .filter(standing_moves::status.eq(MoveStatus::Proposed.as_str())),
            )
            .set((
                standing_moves::status.eq(MoveStatus::Dismissed.as_str()),
                standing_moves::reviewed_at.eq(now),
                standing_moves::review_note.eq("superseded by a move back to entry-level work"),
            ))
            .execute(conn)?;
        }
        let m = Move {
            direction: Direction::Demotion,
            from: row.tier,
            to: StandingTier::Entry,
            reason: MoveReason::HighRejectionShare,
            note: format!("Moved back to entry-level work before any step on your whole account: {why}"),
        };
        let figures = serde_json::to_string(&figures_json(&row.figures(), &st.config.work.standing))
            .map_err(|e| AppError::Internal(e.into()))?;
        let id = diesel::insert_into(standing_moves::table)
            .values(NewMoveRow {
                user_id,
                domain: &row.domain,
                direction: m.direction,
                from_tier: m.from,
                to_tier: m.to,
                reason_code: m.reason,
                figures,
                note: &m.note,
                status: MoveStatus::Proposed,
                proposed_at: now,
                effective_at: None,
                appeal_deadline: None,
            })
            .returning(standing_moves::id)
            .get_result::<i64>(conn)?;
        apply_move(conn, st, now, ctx, id, None)?;
        moved = true;
    }
    Ok(moved)
}

// ---------------------------------------------------------------- reviewers

/// Moves waiting for a reviewer, oldest first: proposals to confirm and appeals.
pub fn review_queue(st: &AppState, after: Option<i64>, limit: Option<i64>) -> AppResult<Vec<MoveRow>> {
    st.db.read_sync(|conn| {
        Ok(standing_moves::table
            .filter(standing_moves::status.eq_any([MoveStatus::Proposed.as_str(), MoveStatus::Appealed.as_str()]))
            .filter(standing_moves::id.gt(after.unwrap_or(0)))
            .order(standing_moves::id.asc())
            .limit(crate::db::page_limit(limit))
            .select(MoveRow::as_select())
            .load(conn)?)
    })
}

/// Moves waiting for a reviewer and the earliest one's time: the dashboard's line.
pub fn waiting(conn: &mut DbConn) -> AppResult<(i64, Option<NaiveDateTime>)> {
    use diesel::dsl::{count_star, min};
    Ok(standing_moves::table
        .filter(standing_moves::status.eq_any([MoveStatus::Proposed.as_str(), MoveStatus::Appealed.as_str()]))
        .select((count_star(), min(standing_moves::proposed_at)))
        .first::<(i64, Option<NaiveDateTime>)>(conn)?)
}

pub(super) fn may_review(m: &MoveRow, reviewer_id: i64) -> AppResult<MoveStatus> {
    if m.user_id == reviewer_id {
        return Err(AppError::Forbidden("nobody reviews their own standing".into()));
    }
    let status = m.status;
    if status == MoveStatus::Appealed && m.reviewed_by == Some(reviewer_id) {
        return Err(AppError::Forbidden(
            "an appeal is decided by a different reviewer than the one who confirmed the move".into(),
        ));
    }
    if !matches!(status, MoveStatus::Proposed | MoveStatus::Appealed) {
        return Err(AppError::conflict(ProblemCode::AlreadyDecided, "this move is already decided"));
    }
    Ok(status)
}

/// Claims a move or an appeal ([`review::claim`] on [`super::queue::StandingMoves`]).
pub fn claim(st: &AppState, ctx: &RequestCtx, reviewer_id: i64, id: i64) -> AppResult<MoveRow> {
    review::claim(st, ctx, &super::queue::StandingMoves, reviewer_id, id)?;
    st.db.read_sync(|conn| move_row(conn, id))
}

crate::text_enum! {
    /// The decision on a proposed or appealed standing move.
    pub enum MoveVerdict {
        /// A proposed move takes effect.
        Confirm = "confirm",
        /// A proposed move is declined and never takes effect.
        Dismiss = "dismiss",
        /// An appealed move stands.
        Uphold = "uphold",
        /// An appealed move is reversed: the previous tier is back from now on.
        Overturn = "overturn",
    }
}

/// The claimant decides a proposal (confirm or dismiss) or an appeal (uphold or
/// overturn), with a reason code and a note the contributor reads.
pub fn decide(
    st: &AppState,
    ctx: &RequestCtx,
    reviewer_id: i64,
    id: i64,
    verdict: MoveVerdict,
    reason_code: &str,
    note: &str,
) -> AppResult<MoveRow> {
    let reason_code = review::free_reason_code(reason_code)?;
    let note =
        review::note(note, matches!(verdict, MoveVerdict::Uphold | MoveVerdict::Overturn | MoveVerdict::Dismiss))?;
    st.db.tx_sync(|conn| {
        let now = st.clock.now();
        let m = move_row(conn, id)?;
        let status = may_review(&m, reviewer_id)?;
        if !review::holds_claim(m.claimed_by, m.claim_expires_at, reviewer_id, now) {
            return Err(review::claim_required());
        }
        match (status, verdict) {
            (MoveStatus::Proposed, MoveVerdict::Confirm) => {
                mark_reviewed(conn, now, id, reviewer_id, &note, None)?;
                apply_move(conn, st, now, ctx, id, Some(reviewer_id))?;
            }
            (MoveStatus::Proposed, MoveVerdict::Dismiss) => {
                mark_reviewed(conn, now, id, reviewer_id, &note, Some(MoveStatus::Dismissed))?;
            }
            (MoveStatus::Appealed, MoveVerdict::Uphold | MoveVerdict::Overturn) => {
                decide_move_appeal(conn, now, &m, reviewer_id, verdict == MoveVerdict::Uphold, &reason_code, &note)?;
            }
            _ => {
                return Err(AppError::field(
                    "verdict",
                    "one_of",
                    "a proposed move is confirmed or dismissed; an appealed move is upheld or overturned",
                ))
            }
        }
        audit::record(
            conn,
            now,
            ctx,
            AuditEvent {
                actor_id: Some(reviewer_id),
                action: AuditAction::StandingMoveDecided,
                subject_type: AuditSubject::StandingMove,
                subject_id: Some(id.to_string()),
                summary: json!({"before": {"status": status.as_str()}, "after": {"verdict": format!("{verdict:?}").to_lowercase(),
                    "reason_code": reason_code, "note": note}}),
            },
        )?;
        move_row(conn, id)
    })
}

/// A reviewer's answer to a proposed move: reviewed by them, with their note; `status`
/// `dismissed` declines it (a confirmation leaves the status to [`apply_move`]).
fn mark_reviewed(
    conn: &mut DbConn,
    now: NaiveDateTime,
    id: i64,
    reviewer_id: i64,
    note: &str,
    status: Option<MoveStatus>,
) -> AppResult<()> {
    let reviewed = (
        standing_moves::reviewed_by.eq(reviewer_id),
        standing_moves::reviewed_at.eq(now),
        standing_moves::review_note.eq(note),
    );
    let target = diesel::update(standing_moves::table.find(id));
    match status {
        Some(status) => target.set((standing_moves::status.eq(status), reviewed)).execute(conn)?,
        None => target
            .set((
                reviewed,
                standing_moves::claimed_by.eq(None::<i64>),
                standing_moves::claim_expires_at.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?,
    };
    Ok(())
}

/// Decides an appealed move: it stands (`upheld`) or is reversed (`overturned`, the
/// previous tier back from now on); recorded as a decision and emailed.
fn decide_move_appeal(
    conn: &mut DbConn,
    now: NaiveDateTime,
    m: &MoveRow,
    reviewer_id: i64,
    uphold: bool,
    reason_code: &str,
    note: &str,
) -> AppResult<()> {
    let id = m.id;
    let outcome = if uphold { MoveStatus::Upheld } else { MoveStatus::Overturned };
    diesel::update(standing_moves::table.find(id))
        .set((
            standing_moves::status.eq(outcome),
            standing_moves::decided_by.eq(reviewer_id),
            standing_moves::decided_at.eq(now),
            standing_moves::decision_reason_code.eq(reason_code),
            standing_moves::decision_note.eq(note),
        ))
        .execute(conn)?;
    if !uphold {
        set_tier(conn, now, m.user_id, &m.domain, m.from_tier)?;
    }
    decisions::record(
        conn,
        now,
        NewDecision {
            user_id: m.user_id,
            subject_type: DecisionSubject::StandingMoveAppeal,
            subject_id: id.to_string(),
            outcome: if uphold { DecisionOutcome::Upheld } else { DecisionOutcome::Overturned },
            reason_code,
            note,
            decided_by: Some(reviewer_id),
        },
    )?;
    let user = crate::auth::service::find_user(conn, m.user_id)?;
    notifications::enqueue(
        conn,
        now,
        &user.email,
        &format!("standing_appeal:{id}"),
        &templates::AppealOutcome {
            full_name: user.full_name,
            subject: format!("Your appeal of the standing decision in {}: {}", m.domain, outcome.as_str()),
            headline: appeal_headline(uphold, &m.domain, m.from_tier, m.to_tier),
            reason: reason_code.to_string(),
            note: note.to_string(),
            next_steps: format!("Your standing and its history are in GET {STANDING_LINK}."),
        },
    )
}

/// The headline of an appeal's email: the tier the contributor has from now on.
fn appeal_headline(uphold: bool, domain: &str, from: StandingTier, to: StandingTier) -> String {
    if uphold {
        format!("Your appeal was reviewed: your standing in {domain} stays {to}.")
    } else {
        format!("Your appeal succeeded: your standing in {domain} is {from} again from now on.")
    }
}

/// The contributor appeals a move that took effect, once, within the appeal window.
pub fn appeal(st: &AppState, ctx: &RequestCtx, user_id: i64, id: i64, message: &str) -> AppResult<MoveRow> {
    let message = message.trim();
    if message.is_empty() || message.chars().count() > review::NOTE_MAX_CHARS {
        return Err(AppError::field("message", "length", "tell the reviewer why, in 1 to 2000 characters"));
    }
    st.db.tx_sync(|conn| {
        let now = st.clock.now();
        let m = move_row(conn, id)?;
        if m.user_id != user_id {
            return Err(AppError::NotFound);
        }
        match m.status {
            MoveStatus::Applied => {}
            MoveStatus::Appealed | MoveStatus::Upheld | MoveStatus::Overturned => {
                return Err(AppError::conflict(ProblemCode::AlreadyAppealed, "this decision has already been appealed"))
            }
            MoveStatus::Proposed | MoveStatus::Dismissed => {
                return Err(AppError::conflict(
                    ProblemCode::NotInEffect,
                    "only a move that took effect can be appealed",
                ))
            }
        }
        if m.appeal_deadline.is_none_or(|d| now > d) {
            return Err(AppError::conflict_with(
                ProblemCode::AppealWindowClosed,
                "the appeal window of this decision has closed",
                json!({"appeal_deadline": m.appeal_deadline}),
            ));
        }
        diesel::update(
            standing_moves::table
                .filter(standing_moves::id.eq(id))
                .filter(standing_moves::status.eq(MoveStatus::Applied.as_str())),
        )
        .set((
            standing_moves::status.eq(MoveStatus::Appealed.as_str()),
            standing_moves::appealed_at.eq(now),
            standing_moves::appeal_message.eq(message),
        ))
        .execute(conn)?;
        audit::record(
            conn,
            now,
            ctx,
            AuditEvent {
                actor_id: Some(user_id),
                action: AuditAction::StandingMoveAppealed,
                subject_type: AuditSubject::StandingMove,
                subject_id: Some(id.to_string()),
                summary: json!({"before": {"status": "applied"}, "after": {"status": "appealed"}}),
            },
        )?;
        move_row(conn, id)
    })
}

// ---------------------------------------------------------------- the person's view

/// One domain's standing, as the person reads it.
#[derive(Debug, Serialize, ToSchema)]
pub struct DomainStanding {
    pub domain: String,
    pub tier: StandingTier,
    /// When the current tier took effect (figures count from then); null: never moved.
    #[serde(with = "crate::clock::utc_opt")]
    pub tier_since: Option<NaiveDateTime>,
    #[serde(with = "crate::clock::utc_opt")]
    pub computed_at: Option<NaiveDateTime>,
    pub figures: Figures,
    pub gold_accuracy_percent: Option<i32>,
    pub consensus_agreement_percent: Option<i32>,
    pub rejection_share_percent: Option<i32>,
    /// Every figure rests on at least the confidence floor of items.
    pub enough_items: bool,
    /// Holds an active qualification in the domain (promotion stays within them).
    pub qualified: bool,
    /// What would change the standing, in plain words.
    pub next_steps: Vec<String>,
    /// Project types of the domain the current tier does not open.
    pub locked_project_types: Vec<LockedProjectType>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LockedProjectType {
    pub id: i64,
    pub name: String,
    pub required_standing: StandingTier,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Thresholds {
    pub window_days: i64,
    /// The confidence floor: no figure decides anything on fewer items.
    pub min_items: i64,
    pub promote_gold_percent: i32,
    pub promote_agreement_percent: i32,
    pub promote_max_rejection_percent: i32,
    pub demote_gold_percent: i32,
    pub demote_agreement_percent: i32,
    pub demote_rejection_percent: i32,
    /// Moves wait for a reviewer before they take effect.
    pub human_confirmation: bool,
}

impl Thresholds {
    pub fn of(c: &StandingConfig) -> Self {
        Self {
            window_days: c.window.num_days(),
            min_items: c.min_items,
            promote_gold_percent: c.promote_gold_percent,
            promote_agreement_percent: c.promote_agreement_percent,
            promote_max_rejection_percent: c.promote_max_rejection_percent,
            demote_gold_percent: c.demote_gold_percent,
            demote_agreement_percent: c.demote_agreement_percent,
            demote_rejection_percent: c.demote_rejection_percent,
            human_confirmation: c.human_confirmation,
        }
    }
}

pub struct Standing {
    pub domains: Vec<DomainStanding>,
    pub history: Vec<MoveRow>,
}

/// A person's standing in every domain they worked in or hold a qualification in, and
/// the history of their moves (newest first).
pub fn standing_of(st: &AppState, user_id: i64) -> AppResult<Standing> {
    let cfg = st.config.work.standing.clone();
    st.db.read_sync(|conn| {
        let now = st.clock.now();
        crate::auth::service::find_user(conn, user_id)?;
        let rows: Vec<StandingRow> = domain_standings::table
            .filter(domain_standings::user_id.eq(user_id))
            .order(domain_standings::domain.asc())
            .select(StandingRow::as_select())
            .load(conn)?;
        let qualified: BTreeSet<String> = qualified_pairs(conn, now, &[user_id])?.into_iter().map(|(_, d)| d).collect();
        let projects: Vec<crate::qualifications::model::ProjectTypeRow> = project_types::table
            .filter(project_types::standing_domain.is_not_null())
            .order(project_types::id.asc())
            .select(crate::qualifications::model::ProjectTypeRow::as_select())
            .load(conn)?;
        let mut by_domain: HashMap<String, Option<StandingRow>> =
            rows.into_iter().map(|r| (r.domain.clone(), Some(r))).collect();
        for d in &qualified {
            if projects.iter().any(|p| p.standing_domain.as_deref() == Some(d.as_str())) {
                by_domain.entry(d.clone()).or_insert(None);
            }
        }
        let mut domains = Vec::new();
        let mut names: Vec<String> = by_domain.keys().cloned().collect();
        names.sort();
        for domain in names {
            let row = by_domain.remove(&domain).flatten();
            let t = row.as_ref().map_or(StandingTier::Standard, |r| r.tier);
            let f = row.as_ref().map(StandingRow::figures).unwrap_or_default();
            let is_qualified = qualified.contains(&domain);
            let mut locked = Vec::new();
            for p in &projects {
                if let Some((d, needed)) = gate_of(p)? {
                    if d == domain && needed > t {
                        locked.push(LockedProjectType { id: p.id, name: p.name.clone(), required_standing: needed });
                    }
                }
            }
            let known = |c: i64| c >= cfg.min_items;
            domains.push(DomainStanding {
                tier: t,
                tier_since: row.as_ref().and_then(|r| r.tier_since),
                computed_at: row.as_ref().map(|r| r.computed_at),
                gold_accuracy_percent: f.gold_percent(),
                consensus_agreement_percent: f.agreement_percent(),
                rejection_share_percent: f.rejection_percent(),
                enough_items: known(f.gold_count) && known(f.agreement_count) && known(f.decided_count),
                qualified: is_qualified,
                next_steps: rules::next_steps(&cfg, t, &f, is_qualified),
                locked_project_types: locked,
                figures: f,
                domain,
            });
        }
        let history: Vec<MoveRow> = standing_moves::table
            .filter(standing_moves::user_id.eq(user_id))
            .order(standing_moves::id.desc())
            .limit(200)
            .select(MoveRow::as_select())
            .load(conn)?;
        Ok(Standing { domains, history })
    })
}

/// A domain whose standing tier keeps project types locked (the readiness list's line).
#[derive(Debug, Clone)]
pub struct StandingLock {
    pub domain: String,
    pub tier: StandingTier,
    pub project_types: Vec<String>,
}

/// For the readiness list: per person, the domains whose tier locks some project type.
pub fn locks_of(conn: &mut DbConn, among: crate::db::among::Among<'_>) -> AppResult<HashMap<i64, Vec<StandingLock>>> {
    let mut out: HashMap<i64, Vec<StandingLock>> = HashMap::new();
    let projects: Vec<crate::qualifications::model::ProjectTypeRow> = project_types::table
        .filter(project_types::standing_domain.is_not_null())
        .select(crate::qualifications::model::ProjectTypeRow::as_select())
        .load(conn)?;
    if projects.is_empty() {
        return Ok(out);
    }
    for part in among.parts(CHUNK) {
        let rows: Vec<(i64, String, StandingTier)> = crate::among!(
            domain_standings::table.filter(domain_standings::tier.ne(StandingTier::Advanced.as_str())).select((
                domain_standings::user_id,
                domain_standings::domain,
                domain_standings::tier
            )),
            domain_standings::user_id,
            part
        )
        .load(conn)?;
        for (user, domain, t) in rows {
            let mut names = Vec::new();
            for p in &projects {
                if let Some((d, needed)) = gate_of(p)? {
                    if d == domain && needed > t {
                        names.push(p.name.clone());
                    }
                }
            }
            if !names.is_empty() {
                out.entry(user).or_default().push(StandingLock { domain, tier: t, project_types: names });
            }
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------- reviewer accuracy

/// How one reviewer's decisions hold up.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewerAccuracy {
    pub reviewer_id: i64,
    pub email: String,
    /// Work records this reviewer decided.
    pub decided: i64,
    /// Appeals decided against this reviewer's rejections, and how many overturned them.
    pub appeals_decided: i64,
    pub appeals_overturned: i64,
    pub overturn_rate_percent: Option<i32>,
    /// Decided records that were gold items, and how many decisions agreed with the gold
    /// answer (approved a correct item, rejected an incorrect one).
    pub gold_decided: i64,
    pub gold_agreed: i64,
    pub gold_agreement_percent: Option<i32>,
}

#[derive(QueryableByName)]
struct AccuracyRow {
    #[diesel(sql_type = BigInt)]
    reviewer_id: i64,
    #[diesel(sql_type = Text)]
    email: String,
    #[diesel(sql_type = BigInt)]
    decided: i64,
    #[diesel(sql_type = BigInt)]
    gold_decided: i64,
    #[diesel(sql_type = BigInt)]
    gold_agreed: i64,
    #[diesel(sql_type = BigInt)]
    appeals_decided: i64,
    #[diesel(sql_type = BigInt)]
    appeals_overturned: i64,
}

/// A gold item counts as answered correctly from this score on.
pub const GOLD_CORRECT_PERCENT: i32 = 50;

/// Every reviewer who decided a work record or saw an appeal decided, by id (keyset
/// `after`): two GROUP BY queries joined on the reviewer. A record approved on appeal
/// keeps its first reviewer in `decided_by`, whose verdict was the rejection.
pub fn reviewer_accuracy(st: &AppState, after: Option<i64>, limit: Option<i64>) -> AppResult<Vec<ReviewerAccuracy>> {
    let after = after.unwrap_or(0);
    let limit = crate::db::page_limit(limit);
    st.db.read_sync(|conn| {
        let rows: Vec<AccuracyRow> = diesel::sql_query(format!(
            "SELECT u.id AS reviewer_id, u.email AS email, \
               CAST(COALESCE(d.decided, 0) AS BIGINT) AS decided, \
               CAST(COALESCE(d.gold_decided, 0) AS BIGINT) AS gold_decided, \
               CAST(COALESCE(d.gold_agreed, 0) AS BIGINT) AS gold_agreed, \
               CAST(COALESCE(a.appeals_decided, 0) AS BIGINT) AS appeals_decided, \
               CAST(COALESCE(a.appeals_overturned, 0) AS BIGINT) AS appeals_overturned \
             FROM users u \
             LEFT JOIN (SELECT decided_by, COUNT(*) AS decided, COUNT(gold_score_percent) AS gold_decided, \
                 SUM(CASE WHEN gold_score_percent IS NULL THEN 0 \
                   WHEN decision_source = 'reviewer' AND status = 'approved' \
                     THEN CASE WHEN gold_score_percent >= {g} THEN 1 ELSE 0 END \
                   ELSE CASE WHEN gold_score_percent < {g} THEN 1 ELSE 0 END END) AS gold_agreed \
               FROM work_records WHERE decision_source IN ('reviewer', 'appeal') AND decided_by IS NOT NULL \
               GROUP BY decided_by) d ON d.decided_by = u.id \
             LEFT JOIN (SELECT rejected_by, COUNT(*) AS appeals_decided, \
                 SUM(CASE WHEN status = 'overturned' THEN 1 ELSE 0 END) AS appeals_overturned \
               FROM work_appeals WHERE status <> 'pending' GROUP BY rejected_by) a ON a.rejected_by = u.id \
             WHERE u.id > {after} AND (d.decided_by IS NOT NULL OR a.rejected_by IS NOT NULL) \
             ORDER BY u.id LIMIT {limit}",
            g = GOLD_CORRECT_PERCENT
        ))
        .load(conn)?;
        Ok(rows
            .into_iter()
            .map(|r| ReviewerAccuracy {
                overturn_rate_percent: (r.appeals_decided > 0)
                    .then(|| (r.appeals_overturned * 100 / r.appeals_decided) as i32),
                gold_agreement_percent: (r.gold_decided > 0).then(|| (r.gold_agreed * 100 / r.gold_decided) as i32),
                reviewer_id: r.reviewer_id,
                email: r.email,
                decided: r.decided,
                appeals_decided: r.appeals_decided,
                appeals_overturned: r.appeals_overturned,
                gold_decided: r.gold_decided,
                gold_agreed: r.gold_agreed,
            })
            .collect())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_move_email_names_the_domain_and_the_new_tier() {
        let (subject, headline) = move_email_text(Direction::Promotion, "law", StandingTier::Advanced);
        assert_eq!(subject, "Your standing in law: promoted to advanced work");
        assert_eq!(headline, "Your sustained quality in law opens advanced project types to you.");
        let (subject, headline) = move_email_text(Direction::Demotion, "law", StandingTier::Entry);
        assert_eq!(subject, "Your standing in law: moved back to entry-level work");
        assert_eq!(
            headline,
            "From now on you work on entry-level law project types only; the rest of your account is unchanged and \
             work you already did is paid as agreed."
        );
    }

    #[test]
    fn an_appeal_email_names_the_tier_from_now_on() {
        let (from, to) = (StandingTier::Standard, StandingTier::Entry);
        assert_eq!(
            appeal_headline(true, "law", from, to),
            "Your appeal was reviewed: your standing in law stays entry."
        );
        assert_eq!(
            appeal_headline(false, "law", from, to),
            "Your appeal succeeded: your standing in law is standard again from now on."
        );
    }
}
